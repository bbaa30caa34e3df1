/*
 * check_badinput.c — bad input on the control socket, sent raw: every
 * case gets a clear answer (or a clean close), the connection stays usable
 * where the protocol says so, and the daemon never dies of it.
 */
#include <config.h>

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mapispool/mapicode.h>

#include "harness.h"

static struct daemon_handle d;

static const char small_limits_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"max_line_size = 64K\n"
	"max_clients = 3\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static const char idle_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"idle_timeout = 300ms\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static void
setup(void)
{
	ck_assert_int_eq(harness_start(&d, NULL), 0);
}

static void
setup_small(void)
{
	ck_assert_int_eq(harness_start(&d, small_limits_config), 0);
}

static void
setup_idle(void)
{
	ck_assert_int_eq(harness_start(&d, idle_config), 0);
}

static void
teardown(void)
{
	/* The daemon must have survived whatever the test sent. */
	ck_assert_msg(harness_alive(&d), "mapispoold died");
	ck_assert_int_eq(harness_stop(&d), 0);
}

/* Send line (newline added) and parse the next line that comes back. */
static json_object *
rpc(int fd, const char *line)
{
	char *reply;
	json_object *j;

	ck_assert_int_eq(harness_send(fd, line, strlen(line)), 0);
	ck_assert_int_eq(harness_send(fd, "\n", 1), 0);
	reply = harness_readline(fd, 5000);
	ck_assert_msg(reply != NULL, "no reply to %s", line);
	j = json_tokener_parse(reply);
	ck_assert_msg(j != NULL, "reply is not JSON: %s", reply);
	free(reply);
	return j;
}

static int
hr_of(json_object *j)
{
	json_object *hr;

	ck_assert(json_object_object_get_ex(j, "hr", &hr));
	return json_object_get_int(hr);
}

static const char *
str_of(json_object *j, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(j, key, &v) ? json_object_get_string(v) : NULL;
}

/* The connection still answers a good request. */
static void
assert_usable(int fd)
{
	json_object *j = rpc(fd, "{\"id\":999,\"op\":\"logon\"}");

	ck_assert_int_eq(hr_of(j), S_OK);
	ck_assert_str_eq(str_of(j, "profile"), "test");
	json_object_put(j);
}

/* Each bad line, the HRESULT it must get, whether the reply carries the
 * request's id, and a word its message must contain. */
static const struct {
	const char *line;
	HRESULT hr;
	bool has_id;
	const char *word;
} bad[] = {
	{ "this is not json", MAPI_E_INVALID_PARAMETER, false, "" },
	{ "{\"id\":1,\"op\":\"logon\"", MAPI_E_INVALID_PARAMETER, false, "" },
	{ "[1,2,3]", MAPI_E_INVALID_PARAMETER, false, "object" },
	{ "{\"id\":1,\"op\":\"logon\"} trailing", MAPI_E_INVALID_PARAMETER, false, "" },
	{ "{\"id\":\"\xff\xfe\",\"op\":\"logon\"}", MAPI_E_INVALID_PARAMETER, false, "" },
	{ "{\"op\":\"logon\"}", MAPI_E_INVALID_PARAMETER, false, "id" },
	{ "{\"id\":true,\"op\":\"logon\"}", MAPI_E_INVALID_PARAMETER, false, "id" },
	{ "{\"id\":2}", MAPI_E_INVALID_PARAMETER, true, "op" },
	{ "{\"id\":3,\"op\":7}", MAPI_E_INVALID_PARAMETER, true, "op" },
	{ "{\"id\":4,\"op\":\"no.such.op\"}", MAPI_E_NO_SUPPORT, true, "no.such.op" },
	{ "{\"id\":5,\"op\":\"logon\",\"profile\":42}", MAPI_E_INVALID_PARAMETER, true,
	  "profile" },
	{ "{\"id\":6,\"op\":\"logon\",\"profile\":\"other\"}", MAPI_E_LOGON_FAILED, true,
	  "other" },
	{ "{\"id\":7,\"op\":\"status.query\",\"columns\":\"PR_ENTRYID\"}",
	  MAPI_E_INVALID_PARAMETER, true, "columns" },
	{ "{\"id\":8,\"op\":\"status.query\",\"columns\":[\"PR_NO_SUCH_THING\"]}",
	  MAPI_E_INVALID_PARAMETER, true, "PR_NO_SUCH_THING" },
	{ "{\"id\":9,\"op\":\"status.query\",\"columns\":[true]}", MAPI_E_INVALID_PARAMETER,
	  true, "" },
	{ "{\"id\":10,\"op\":\"status.query\",\"max_rows\":\"all\"}", MAPI_E_INVALID_PARAMETER,
	  true, "max_rows" },
	{ "{\"id\":11,\"op\":\"status.query\",\"max_rows\":-1}", MAPI_E_INVALID_PARAMETER,
	  true, "max_rows" },
	{ "{\"id\":12,\"op\":\"status.query\",\"restriction\":[]}", MAPI_E_INVALID_PARAMETER,
	  true, "restriction" },
	{ "{\"id\":13,\"op\":\"status.query\",\"restriction\":{\"rt\":\"fuzzy\"}}",
	  MAPI_E_TOO_COMPLEX, true, "" },
	{ "{\"id\":14,\"op\":\"status.query\",\"restriction\":{\"rt\":\"property\","
	  "\"relop\":\"eq\",\"tag\":\"PR_RESOURCE_TYPE\",\"value\":\"spooler\"}}",
	  MAPI_E_INVALID_PARAMETER, true, "" },
	{ "{\"id\":15,\"op\":\"status.query\",\"restriction\":{\"rt\":\"property\","
	  "\"relop\":\"near\",\"tag\":\"PR_RESOURCE_TYPE\",\"value\":37}}",
	  MAPI_E_INVALID_PARAMETER, true, "near" },
	{ "{\"id\":16,\"op\":\"status.query\",\"sort\":[{\"tag\":\"PR_ROWID\","
	  "\"order\":\"sideways\"}]}", MAPI_E_INVALID_PARAMETER, true, "" },
	{ "{\"id\":17,\"op\":\"status.get_props\"}", MAPI_E_INVALID_PARAMETER, true, "entryid" },
	{ "{\"id\":18,\"op\":\"status.get_props\",\"entryid\":12}", MAPI_E_INVALID_ENTRYID,
	  true, "" },
	{ "{\"id\":19,\"op\":\"status.get_props\",\"entryid\":\"abc\"}",
	  MAPI_E_INVALID_ENTRYID, true, "" },
	{ "{\"id\":20,\"op\":\"status.get_props\",\"entryid\":\"00000000\"}",
	  MAPI_E_INVALID_ENTRYID, true, "" },
	{ "{\"id\":\"s21\",\"op\":\"status.get_props\",\"entryid\":"
	  "\"000000005e0a1f6c3b2d4c8e9a716d5370696f6c01046e6f7468657265\"}",
	  MAPI_E_UNKNOWN_ENTRYID, true, "" },
};

START_TEST(bad_line_answered)
{
	int fd = harness_connect(&d);
	json_object *j, *id;

	ck_assert_int_ne(fd, -1);
	j = rpc(fd, bad[_i].line);
	ck_assert_msg(hr_of(j) == bad[_i].hr, "%s: hr 0x%08x, want 0x%08x", bad[_i].line,
		      (unsigned)hr_of(j), (unsigned)bad[_i].hr);
	ck_assert_int_eq(json_object_object_get_ex(j, "id", &id), bad[_i].has_id);
	ck_assert_ptr_nonnull(str_of(j, "hr_name"));
	ck_assert_msg(str_of(j, "message") != NULL && strstr(str_of(j, "message"), bad[_i].word),
		      "%s: message \"%s\" lacks \"%s\"", bad[_i].line, str_of(j, "message"),
		      bad[_i].word);
	json_object_put(j);
	assert_usable(fd);
	close(fd);
}
END_TEST

START_TEST(deep_restriction_too_complex)
{
	char *line = malloc(64 * 1024);
	int fd = harness_connect(&d);
	size_t n = 0;
	json_object *j;

	/* 40 nested "not": deeper than the 32 levels a restriction may have,
	 * shallower than the parser's own limit. */
	n += (size_t)sprintf(line + n, "{\"id\":1,\"op\":\"status.query\",\"restriction\":");
	for (int i = 0; i < 40; i++)
		n += (size_t)sprintf(line + n, "{\"rt\":\"not\",\"res\":");
	n += (size_t)sprintf(line + n, "{\"rt\":\"exist\",\"tag\":\"PR_ENTRYID\"}");
	for (int i = 0; i < 40; i++)
		line[n++] = '}';
	line[n++] = '}';
	line[n] = '\0';
	j = rpc(fd, line);
	ck_assert_int_eq(hr_of(j), MAPI_E_TOO_COMPLEX);
	json_object_put(j);

	/* Nesting beyond the JSON parser's limit is refused as malformed. */
	n = (size_t)sprintf(line, "{\"id\":2,\"op\":\"logon\",\"x\":");
	for (int i = 0; i < 200; i++)
		line[n++] = '[';
	for (int i = 0; i < 200; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n] = '\0';
	j = rpc(fd, line);
	ck_assert_int_eq(hr_of(j), MAPI_E_INVALID_PARAMETER);
	json_object_put(j);
	assert_usable(fd);
	free(line);
	close(fd);
}
END_TEST

START_TEST(pipelined_requests_all_answered)
{
	int fd = harness_connect(&d);
	char buf[64 * 64];
	size_t n = 0;
	bool seen[50] = { false };

	for (int i = 0; i < 50; i++)
		n += (size_t)sprintf(buf + n, "{\"id\":%d,\"op\":\"status.query\",\"columns\":"
					      "[\"PR_ROWID\"]}\n", i);
	ck_assert_int_eq(harness_send(fd, buf, n), 0);
	for (int i = 0; i < 50; i++) {
		char *line = harness_readline(fd, 5000);
		json_object *j, *id;

		ck_assert_ptr_nonnull(line);
		j = json_tokener_parse(line);
		ck_assert_int_eq(hr_of(j), S_OK);
		ck_assert(json_object_object_get_ex(j, "id", &id));
		ck_assert_int_ge(json_object_get_int(id), 0);
		ck_assert_int_lt(json_object_get_int(id), 50);
		seen[json_object_get_int(id)] = true;
		json_object_put(j);
		free(line);
	}
	for (int i = 0; i < 50; i++)
		ck_assert_msg(seen[i], "no answer to request %d", i);
	close(fd);
}
END_TEST

START_TEST(string_id_and_blank_lines)
{
	int fd = harness_connect(&d);
	json_object *j;

	ck_assert_int_eq(harness_send(fd, "\n  \n\r\n", 6), 0);
	j = rpc(fd, "{\"id\":\"abc\",\"op\":\"logon\",\"unknown_member\":[1]}");
	ck_assert_int_eq(hr_of(j), S_OK);
	ck_assert_str_eq(str_of(j, "id"), "abc");
	json_object_put(j);
	close(fd);
}
END_TEST

START_TEST(disconnect_mid_request)
{
	int fd = harness_connect(&d);

	/* Half a request, then gone. */
	ck_assert_int_eq(harness_send(fd, "{\"id\":1,\"op\":\"status.qu", 24), 0);
	close(fd);
	/* A whole request, then gone before reading the answer. */
	for (int i = 0; i < 20; i++) {
		fd = harness_connect(&d);
		ck_assert_int_eq(harness_send(fd, "{\"id\":1,\"op\":\"status.query\"}\n", 30), 0);
		close(fd);
	}
	/* Without even reading the hello. */
	fd = harness_connect(&d);
	close(fd);
	fd = harness_connect(&d);
	ck_assert_int_ne(fd, -1);
	assert_usable(fd);
	close(fd);
}
END_TEST

START_TEST(half_close_still_answered)
{
	int fd = harness_connect(&d);
	char *line;

	ck_assert_int_eq(harness_send(fd, "{\"id\":1,\"op\":\"logon\"}\n", 23), 0);
	shutdown(fd, SHUT_WR);
	line = harness_readline(fd, 5000);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "\"S_OK\""));
	free(line);
	/* Then the daemon closes its side. */
	ck_assert_ptr_null(harness_readline(fd, 5000));
	close(fd);
}
END_TEST

START_TEST(oversize_line_closes)
{
	int fd = harness_connect(&d);
	size_t n = 100 * 1024;
	char *big = malloc(n + 1);
	char *line;
	json_object *j;

	memset(big, 'x', n);
	memcpy(big, "{\"id\":1,\"op\":\"logon\",\"pad\":\"", 28);
	big[n] = '\n';
	/* The daemon may close before all of it is written: ignore that. */
	harness_send(fd, big, n + 1);
	line = harness_readline(fd, 5000);
	ck_assert_ptr_nonnull(line);
	j = json_tokener_parse(line);
	ck_assert_int_eq(hr_of(j), MAPI_E_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(str_of(j, "message"), "max_line_size"));
	json_object_put(j);
	free(line);
	ck_assert_ptr_null(harness_readline(fd, 5000));
	close(fd);
	free(big);

	/* Others are unaffected. */
	fd = harness_connect(&d);
	assert_usable(fd);
	close(fd);
}
END_TEST

START_TEST(oversize_without_newline_closes)
{
	int fd = harness_connect(&d);
	size_t n = 200 * 1024;
	char *big = malloc(n);
	char *line;

	memset(big, ' ', n);
	harness_send(fd, big, n);
	line = harness_readline(fd, 5000);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "MAPI_E_TOO_BIG"));
	free(line);
	ck_assert_ptr_null(harness_readline(fd, 5000));
	close(fd);
	free(big);
}
END_TEST

START_TEST(too_many_clients_refused)
{
	int fds[3];
	int extra;
	char *line;

	for (int i = 0; i < 3; i++) {
		fds[i] = harness_connect(&d);
		ck_assert_int_ne(fds[i], -1);
	}
	/* The fourth gets a clear refusal, not a silent close. */
	extra = harness_connect(&d);
	ck_assert_int_eq(extra, -1);
	{
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d.socket) >=
		    (int)sizeof(sun.sun_path))
			abort();
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		line = harness_readline(fd, 5000);
		ck_assert_ptr_nonnull(line);
		ck_assert_ptr_nonnull(strstr(line, "MAPI_E_BUSY"));
		ck_assert_ptr_nonnull(strstr(line, "max_clients"));
		free(line);
		close(fd);
	}
	close(fds[0]);
	/* A slot frees up when one leaves. */
	for (int i = 0; i < 100; i++) {
		extra = harness_connect(&d);
		if (extra != -1)
			break;
		usleep(10000);
	}
	ck_assert_int_ne(extra, -1);
	assert_usable(extra);
	close(extra);
	close(fds[1]);
	close(fds[2]);
}
END_TEST

START_TEST(idle_connection_closed)
{
	int fd = harness_connect(&d);

	assert_usable(fd);
	/* idle_timeout = 300ms: the daemon hangs up on a silent client. */
	ck_assert_ptr_null(harness_readline(fd, 5000));
	close(fd);
}
END_TEST

static Suite *
badinput_suite(void)
{
	Suite *s = suite_create("badinput");
	TCase *tc = tcase_create("default limits");
	TCase *small = tcase_create("small limits");
	TCase *idle = tcase_create("idle timeout");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, bad_line_answered, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, deep_restriction_too_complex);
	tcase_add_test(tc, pipelined_requests_all_answered);
	tcase_add_test(tc, string_id_and_blank_lines);
	tcase_add_test(tc, disconnect_mid_request);
	tcase_add_test(tc, half_close_still_answered);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(small, setup_small, teardown);
	tcase_set_timeout(small, 30);
	tcase_add_test(small, oversize_line_closes);
	tcase_add_test(small, oversize_without_newline_closes);
	tcase_add_test(small, too_many_clients_refused);
	suite_add_tcase(s, small);

	tcase_add_checked_fixture(idle, setup_idle, teardown);
	tcase_set_timeout(idle, 30);
	tcase_add_test(idle, idle_connection_closed);
	suite_add_tcase(s, idle);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(badinput_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
