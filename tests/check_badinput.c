/*
 * check_badinput.c — bad input on the control socket, sent raw: every
 * case gets a clear answer (or a clean close), the connection stays usable
 * where the protocol says so, and the daemon never dies of it.
 */
#include <config.h>

#include <check.h>
#include <grp.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mapispool/mapicode.h>
#include <mapispool/mapidefs.h>

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

/* Send line and return the raw reply line. */
static char *
rpc_text(int fd, const char *line)
{
	char *reply;

	ck_assert_int_eq(harness_send(fd, line, strlen(line)), 0);
	ck_assert_int_eq(harness_send(fd, "\n", 1), 0);
	reply = harness_readline(fd, 5000);
	ck_assert_msg(reply != NULL, "no reply to %s", line);
	return reply;
}

/* The query with no columns, restriction, sort or limit (answered from
 * serialised rows kept between changes) says byte for byte what the same
 * query with the default columns spelt out (answered by building the
 * rows) says, for any id, and follows the table's changes. */
START_TEST(default_query_as_generic)
{
	static const char *const ids[] = { "7", "-42", "\"a\\\"b/\\u00e9\"", "9223372036854775807",
					   "18446744073709551615" };
	static const char columns[] =
		"\"columns\":[\"PR_ENTRYID\",\"PR_INSTANCE_KEY\",\"PR_ROWID\",\"PR_OBJECT_TYPE\","
		"\"PR_RESOURCE_TYPE\",\"PR_RESOURCE_METHODS\",\"PR_RESOURCE_FLAGS\","
		"\"PR_STATUS_CODE\",\"PR_STATUS_STRING\",\"PR_DISPLAY_NAME\","
		"\"PR_PROVIDER_DISPLAY\",\"PR_PROVIDER_DLL_NAME\",\"PR_IDENTITY_DISPLAY\","
		"\"PR_REMOTE_PROGRESS\",\"PR_REMOTE_PROGRESS_TEXT\",\"PR_MAPISPOOL_NEEDS_UI\"]";
	int fd = harness_connect(&d);
	char line[1024], *first = NULL;

	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			char *fast, *generic;

			snprintf(line, sizeof(line), "{\"id\":%s,\"op\":\"status.query\"}", ids[i]);
			fast = rpc_text(fd, line);
			snprintf(line, sizeof(line), "{\"id\":%s,\"op\":\"status.query\",%s}", ids[i],
				 columns);
			generic = rpc_text(fd, line);
			ck_assert_str_eq(fast, generic);
			ck_assert_ptr_nonnull(strstr(fast, "\"hr_name\":\"S_OK\""));
			free(generic);
			if (round == 0 && i == 0)
				first = fast;
			else if (round == 1 && i == 0)
				/* The change below shows. */
				ck_assert_str_ne(fast, first);
			if (fast != first)
				free(fast);
		}
		/* A row changes between the rounds. */
		if (round == 0)
			ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "offline", "local", NULL), 0);
	}
	free(first);
	close(fd);
}
END_TEST

/* With max_pending = 1 the lines sent together wait in the daemon's input
 * while the one before them is answered later (a submit waits for the
 * disk): each answer must let the next line be read, although no new
 * byte arrives to say so. */
START_TEST(pipelined_past_max_pending_answered)
{
	int fd = harness_connect(&d);
	char buf[4096];
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      i % 2 ? "{\"id\":%d,\"op\":\"status.query\"}\n"
					    : "{\"id\":%d,\"op\":\"message.submit\",\"sender\":\"a@x\","
					      "\"recipients\":[{\"address\":\"b@x\"}],\"data\":\"x\"}\n",
				      i);
	ck_assert_int_eq(harness_send(fd, buf, n), 0);
	/* One in flight at a time: the answers come in order. */
	for (int i = 0; i < 8; i++) {
		char *line = harness_readline(fd, 5000);
		json_object *j, *id;

		ck_assert_msg(line != NULL, "no answer to request %d", i);
		j = json_tokener_parse(line);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(hr_of(j), S_OK);
		ck_assert(json_object_object_get_ex(j, "id", &id));
		ck_assert_int_eq(json_object_get_int(id), i);
		json_object_put(j);
		free(line);
	}
	assert_usable(fd);
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

/* ---- limits and fairness ---- */

static const char acl_control_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"socket_mode = 0666\n"
	"allow_users = 4000\n"
	"allow_groups = 4242\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static const char acl_read_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"socket_mode = 0666\n"
	"allow_users = 4000\n"
	"allow_read_users = 4001\n"
	"allow_read_groups = 4243\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static const char per_uid_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"socket_mode = 0666\n"
	"max_clients_per_uid = 2\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static const char request_timeout_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"request_timeout = 300ms\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static const char output_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"max_output_size = 64K\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n"
	"[transport:fax]\n"
	"type = pipe\n"
	"command = /bin/cat\n"
	"address_types = FAX\n";

/* One uid may take them all here: max_clients is the limit under test. */
static const char many_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"max_clients = 256\n"
	"max_clients_per_uid = 1000\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static void
setup_acl_control(void)
{
	ck_assert_int_eq(harness_start(&d, acl_control_config), 0);
	/* Another uid must reach the socket in the private directory. */
	ck_assert_int_eq(chmod(d.dir, 0711), 0);
}

static void
setup_acl_read(void)
{
	ck_assert_int_eq(harness_start(&d, acl_read_config), 0);
	ck_assert_int_eq(chmod(d.dir, 0711), 0);
}

static void
setup_per_uid(void)
{
	ck_assert_int_eq(harness_start(&d, per_uid_config), 0);
	ck_assert_int_eq(chmod(d.dir, 0711), 0);
}

static void
setup_request_timeout(void)
{
	ck_assert_int_eq(harness_start(&d, request_timeout_config), 0);
}

/* One request at a time per connection: the rest wait, unread. */
static const char pending_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"max_pending = 1\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n";

static void
setup_pending(void)
{
	ck_assert_int_eq(harness_start(&d, pending_config), 0);
}

static void
setup_output(void)
{
	ck_assert_int_eq(harness_start(&d, output_config), 0);
}

static void
setup_many(void)
{
	ck_assert_int_eq(harness_start(&d, many_config), 0);
}

/* 64 descriptors: the daemon's own need about 20, and it keeps 32 free. */
static void
setup_nofile(void)
{
	ck_assert_int_eq(harness_start_with_nofile(&d, many_config, 64), 0);
}

/* Acting as another user needs root; elsewhere those checks are skipped. */
static bool
can_switch_uid(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "# not root: the checks as a second uid are skipped\n");
	return false;
}

static bool
log_has(const char *s)
{
	char *log = harness_log(&d);
	bool found = log != NULL && strstr(log, s) != NULL;

	free(log);
	return found;
}

/* A connection whose first line (hello or refusal) is left unread. */
static int
connect_raw(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_lt(snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d.socket),
			 (int)sizeof(sun.sun_path));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

struct creds {
	uid_t uid;
	gid_t gid;
	size_t n_groups;
	gid_t groups[2];
};

#define NOBODY 65534

/* Send each request as the user of c (a forked child drops root) and
 * return the replies, in order, as a JSON array. */
static json_object *
run_as(const struct creds *c, const char *const *requests, size_t n)
{
	int p[2], st;
	char *text = NULL, *line, *save;
	size_t len = 0, cap = 0;
	json_object *replies = json_object_new_array();
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		int fd;

		close(p[0]);
		if (setgroups(c->n_groups, c->groups) == -1 || setgid(c->gid) == -1 ||
		    setuid(c->uid) == -1)
			_exit(2);
		if ((fd = harness_connect(&d)) == -1)
			_exit(3);
		for (size_t i = 0; i < n; i++) {
			char *reply;

			if (harness_send(fd, requests[i], strlen(requests[i])) == -1 ||
			    harness_send(fd, "\n", 1) == -1 ||
			    (reply = harness_readline(fd, 5000)) == NULL)
				_exit(4);
			/* Short lines: a pipe takes each whole. */
			if (dprintf(p[1], "%s\n", reply) < 0)
				_exit(5);
			free(reply);
		}
		_exit(0);
	}
	close(p[1]);
	for (;;) {
		ssize_t r;

		if (len + 4096 > cap)
			ck_assert_ptr_nonnull(text = realloc(text, cap += 65536));
		if ((r = read(p[0], text + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)r;
	}
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child as uid %u failed (%d)",
		      (unsigned)c->uid, st);
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		json_object_array_add(replies, json_tokener_parse(line));
	free(text);
	ck_assert_uint_eq(json_object_array_length(replies), n);
	return replies;
}

static int
hr_at(json_object *replies, size_t i)
{
	return hr_of(json_object_array_get_idx(replies, i));
}

/* Read-only operations, then control ones that fail harmlessly when
 * allowed (no such message, no entry ID). */
static const char *const probe[] = {
	"{\"id\":1,\"op\":\"logon\"}",
	"{\"id\":2,\"op\":\"status.query\",\"columns\":[\"PR_ROWID\"]}",
	"{\"id\":3,\"op\":\"queue.list\"}",
	"{\"id\":4,\"op\":\"advise\"}",
	"{\"id\":5,\"op\":\"queue.hold\",\"message_id\":\"abc\"}",
	"{\"id\":6,\"op\":\"status.flush_queues\"}",
	"{\"id\":7,\"op\":\"message.submit\",\"recipients\":[]}",
};
#define PROBE_READS 4
#define N_PROBE (sizeof(probe) / sizeof(probe[0]))

/* What each probe gets when it is allowed. */
static bool
probe_allowed(json_object *replies, size_t i)
{
	int hr = hr_at(replies, i);

	return hr != MAPI_E_NO_ACCESS && (i >= PROBE_READS || hr == S_OK);
}

START_TEST(acl_control_refused)
{
	static const struct creds nobody = { NOBODY, NOBODY, 0, { 0 } };
	static const struct creds listed_uid = { 4000, NOBODY, 0, { 0 } };
	static const struct creds listed_group = { NOBODY, NOBODY, 1, { 4242 } };
	json_object *r, *j;
	int fd;

	if (can_switch_uid()) {
		/* Not listed: reading yes (no allow_read_*), control no. */
		r = run_as(&nobody, probe, N_PROBE);
		for (size_t i = 0; i < N_PROBE; i++) {
			json_object *reply = json_object_array_get_idx(r, i);

			if (i < PROBE_READS) {
				ck_assert_msg(probe_allowed(r, i), "%s refused", probe[i]);
				continue;
			}
			ck_assert_msg(hr_of(reply) == MAPI_E_NO_ACCESS, "%s not refused", probe[i]);
			ck_assert_str_eq(str_of(reply, "hr_name"), "MAPI_E_NO_ACCESS");
			ck_assert_ptr_nonnull(strstr(str_of(reply, "message"), "uid 65534"));
		}
		ck_assert_ptr_nonnull(strstr(str_of(json_object_array_get_idx(r, 4), "message"),
					     "queue.hold"));
		json_object_put(r);
		ck_assert(log_has("(uid 65534): queue.hold refused"));
		ck_assert(log_has("(uid 65534): message.submit refused"));

		/* Listed by uid, or by a supplementary group: everything. */
		r = run_as(&listed_uid, probe, N_PROBE);
		for (size_t i = 0; i < N_PROBE; i++)
			ck_assert_msg(probe_allowed(r, i), "uid 4000: %s refused", probe[i]);
		json_object_put(r);
		r = run_as(&listed_group, probe, N_PROBE);
		for (size_t i = 0; i < N_PROBE; i++)
			ck_assert_msg(probe_allowed(r, i), "group 4242: %s refused", probe[i]);
		json_object_put(r);
	}

	/* Root always may. */
	fd = harness_connect(&d);
	ck_assert_int_ne(fd, -1);
	for (size_t i = 0; i < N_PROBE; i++) {
		j = rpc(fd, probe[i]);
		ck_assert_msg(hr_of(j) != MAPI_E_NO_ACCESS, "root: %s refused", probe[i]);
		json_object_put(j);
	}
	close(fd);
}
END_TEST

START_TEST(acl_read_refused)
{
	static const struct creds nobody = { NOBODY, NOBODY, 0, { 0 } };
	static const struct creds reader = { 4001, NOBODY, 0, { 0 } };
	static const struct creds reader_group = { NOBODY, 4243, 0, { 0 } };
	static const struct creds controller = { 4000, NOBODY, 0, { 0 } };
	json_object *r;

	if (!can_switch_uid())
		return;
	/* In no list: not even logon. */
	r = run_as(&nobody, probe, N_PROBE);
	for (size_t i = 0; i < N_PROBE; i++)
		ck_assert_msg(hr_at(r, i) == MAPI_E_NO_ACCESS, "%s not refused", probe[i]);
	ck_assert_ptr_nonnull(strstr(str_of(json_object_array_get_idx(r, 1), "message"),
				     "allow_read_users"));
	json_object_put(r);
	ck_assert(log_has("(uid 65534): status.query refused"));

	/* A reader, by uid or by primary group: reading only. */
	r = run_as(&reader, probe, N_PROBE);
	for (size_t i = 0; i < N_PROBE; i++)
		ck_assert_msg(i < PROBE_READS ? probe_allowed(r, i) : hr_at(r, i) == MAPI_E_NO_ACCESS,
			      "uid 4001: %s", probe[i]);
	json_object_put(r);
	r = run_as(&reader_group, probe, PROBE_READS);
	for (size_t i = 0; i < PROBE_READS; i++)
		ck_assert_msg(probe_allowed(r, i), "gid 4243: %s refused", probe[i]);
	json_object_put(r);

	/* Who may control may read. */
	r = run_as(&controller, probe, N_PROBE);
	for (size_t i = 0; i < N_PROBE; i++)
		ck_assert_msg(probe_allowed(r, i), "uid 4000: %s refused", probe[i]);
	json_object_put(r);
}
END_TEST

START_TEST(clients_per_uid_refused)
{
	static const struct creds nobody = { NOBODY, NOBODY, 0, { 0 } };
	static const char *const logon[] = { "{\"id\":1,\"op\":\"logon\"}" };
	int a = harness_connect(&d), b, extra;
	char *line;

	/* A round trip: the harness's own probe has surely been closed. */
	assert_usable(a);
	b = harness_connect(&d);
	ck_assert_int_ne(b, -1);
	extra = connect_raw();
	line = harness_readline(extra, 5000);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "MAPI_E_BUSY"));
	ck_assert_ptr_nonnull(strstr(line, "max_clients_per_uid = 2"));
	free(line);
	ck_assert_ptr_null(harness_readline(extra, 5000));
	close(extra);

	/* Another uid still gets in. */
	if (can_switch_uid()) {
		json_object *r = run_as(&nobody, logon, 1);

		ck_assert_int_eq(hr_at(r, 0), S_OK);
		json_object_put(r);
	}
	assert_usable(b);
	close(a);
	for (int i = 0; i < 100; i++) {
		if ((extra = harness_connect(&d)) != -1)
			break;
		usleep(10000);
	}
	ck_assert_int_ne(extra, -1);
	assert_usable(extra);
	close(extra);
	close(b);
}
END_TEST

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(byte_a_tick_times_out)
{
	static const char req[] = "{\"id\":1,\"op\":\"logon\",\"pad\":\"................\"}\n";
	int slow = harness_connect(&d), other = harness_connect(&d);
	struct timespec t0, t1;
	char *line;

	ck_assert_int_ne(slow, -1);
	ck_assert_int_ne(other, -1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A byte every 100 ms would take 5 s; request_timeout is 300ms. */
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		struct pollfd pfd = { .fd = slow, .events = POLLIN };
		json_object *j;

		if (harness_send(slow, &req[i], 1) == -1)
			break;
		/* Meanwhile the other client is served at once. */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		j = rpc(other, "{\"id\":2,\"op\":\"logon\"}");
		ck_assert_int_eq(hr_of(j), S_OK);
		ck_assert_int_lt(ms_since(&t1), 1000);
		json_object_put(j);
		if (poll(&pfd, 1, 100) == 1)
			break;
	}
	line = harness_readline(slow, 5000);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "MAPI_E_TIMEOUT"));
	ck_assert_ptr_nonnull(strstr(line, "request_timeout"));
	/* (timers may round to the millisecond either way) */
	ck_assert_int_ge(ms_since(&t0), 290);
	ck_assert_int_lt(ms_since(&t0), 3000);
	free(line);
	ck_assert_ptr_null(harness_readline(slow, 5000));
	close(slow);
	assert_usable(other);
	close(other);
}
END_TEST

/* Each line is finished in time, though all of them take longer. */
START_TEST(lines_in_pieces_not_timed_out)
{
	int fd = harness_connect(&d);

	ck_assert_int_ne(fd, -1);
	for (int i = 0; i < 6; i++) {
		char *line;

		ck_assert_int_eq(harness_send(fd, "{\"id\":1,", 8), 0);
		usleep(100000);
		ck_assert_int_eq(harness_send(fd, "\"op\":\"logon\"}\n{\"id\":2,", 22), 0);
		usleep(100000);
		ck_assert_int_eq(harness_send(fd, "\"op\":\"logon\"}\n", 14), 0);
		for (int k = 0; k < 2; k++) {
			line = harness_readline(fd, 5000);
			ck_assert_ptr_nonnull(line);
			ck_assert_ptr_nonnull(strstr(line, "\"S_OK\""));
			free(line);
		}
	}
	assert_usable(fd);
	close(fd);
}
END_TEST

/* The entry ID of the spooler's status row. */
static char *
spooler_entryid(int fd)
{
	json_object *j = rpc(fd, "{\"id\":1,\"op\":\"status.query\","
				 "\"columns\":[\"PR_ENTRYID\",\"PR_RESOURCE_TYPE\"]}");
	json_object *rows;
	char *eid = NULL;

	ck_assert(json_object_object_get_ex(j, "rows", &rows));
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *row = json_object_array_get_idx(rows, i), *type;

		ck_assert(json_object_object_get_ex(row, "PR_RESOURCE_TYPE", &type));
		if (json_object_get_int(type) == MAPI_SPOOLER)
			eid = strdup(str_of(row, "PR_ENTRYID"));
	}
	json_object_put(j);
	ck_assert_ptr_nonnull(eid);
	return eid;
}

/* Until dir/name has not changed for 300 ms (5 s at most). */
static void
wait_file_settled(const char *name)
{
	struct timespec last = { 0, 0 }, t0;
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", d.dir, name);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < 5000) {
		if (stat(path, &st) == 0 && st.st_mtim.tv_sec == last.tv_sec &&
		    st.st_mtim.tv_nsec == last.tv_nsec)
			return;
		if (stat(path, &st) == 0)
			last = st.st_mtim;
		usleep(300000);
	}
	ck_abort_msg("%s is still being written", path);
}

START_TEST(non_reader_dropped)
{
	int lazy = harness_connect(&d), busy = harness_connect(&d);
	char req[512], buf[65536], *eid;
	bool dropped = false;
	json_object *j;
	ssize_t n = -1;

	/* Many subscriptions: each change is many events, so a few changes
	 * fill the buffers (each also queues a write of the offline list). */
	for (int i = 0; i < 100; i++) {
		j = rpc(lazy, "{\"id\":1,\"op\":\"advise\"}");
		ck_assert_int_eq(hr_of(j), S_OK);
		json_object_put(j);
	}
	eid = spooler_entryid(busy);
	/* Every transport offline and back: table notifications for lazy,
	 * which reads none of them. */
	for (int i = 0; i < 2000 && !dropped; i++) {
		snprintf(req, sizeof(req), "{\"id\":%d,\"op\":\"status.validate_state\","
			 "\"entryid\":\"%s\",\"flags\":[\"%s\"]}", i, eid,
			 i % 2 ? "FORCE_XP_CONNECT" : "FORCE_XP_DISCONNECT");
		j = rpc(busy, req);
		ck_assert_int_eq(hr_of(j), S_OK);
		json_object_put(j);
		dropped = log_has("not reading its replies");
	}
	ck_assert_msg(dropped, "a client that never reads was not dropped");
	/* Back online, and the offline list written: a write still queued
	 * when the daemon stops is dropped, which LeakSanitizer reports. */
	snprintf(req, sizeof(req), "{\"id\":0,\"op\":\"status.validate_state\","
		 "\"entryid\":\"%s\",\"flags\":[\"FORCE_XP_CONNECT\"]}", eid);
	j = rpc(busy, req);
	ck_assert_int_eq(hr_of(j), S_OK);
	json_object_put(j);
	free(eid);
	wait_file_settled("spool/state/offline");
	/* lazy gets what had been written, then the end. */
	for (;;) {
		struct pollfd pfd = { .fd = lazy, .events = POLLIN };

		ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
		if ((n = read(lazy, buf, sizeof(buf))) <= 0)
			break;
	}
	ck_assert_int_eq(n, 0);
	close(lazy);
	assert_usable(busy);
	close(busy);
}
END_TEST

START_TEST(hundreds_of_connections)
{
	enum { N = 300 };
	int fds[N], hello = 0, refused = 0;

	fds[0] = harness_connect(&d);
	assert_usable(fds[0]);
	hello++;
	for (int i = 1; i < N; i++)
		fds[i] = connect_raw();
	for (int i = 1; i < N; i++) {
		char *line = harness_readline(fds[i], 5000);

		ck_assert_ptr_nonnull(line);
		if (strstr(line, "\"event\":\"hello\"") != NULL) {
			hello++;
		} else {
			ck_assert_ptr_nonnull(strstr(line, "MAPI_E_BUSY"));
			ck_assert_ptr_nonnull(strstr(line, "max_clients = 256"));
			ck_assert_ptr_null(harness_readline(fds[i], 5000));
			refused++;
		}
		free(line);
	}
	ck_assert_int_eq(hello, 256);
	ck_assert_int_eq(refused, N - 256);
	/* Those let in are served. */
	assert_usable(fds[0]);
	assert_usable(fds[N - 1 - refused]);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	for (int i = 0; i < 100; i++) {
		if ((fds[0] = harness_connect(&d)) != -1)
			break;
		usleep(10000);
	}
	ck_assert_int_ne(fds[0], -1);
	assert_usable(fds[0]);
	close(fds[0]);
}
END_TEST

/* The daemon's CPU time so far, in clock ticks. */
static long
cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	/* after "(comm)", fields 3..: utime and stime are the 12th and 13th */
	ck_assert_ptr_nonnull(p = strrchr(buf, ')'));
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&utime, &stime), 2);
	return (long)(utime + stime);
}

START_TEST(descriptor_limit_pauses_accepting)
{
	enum { N = 48 };
	int fds[N], hello = 0, refused = 0, waiting = 0;
	bool answered[N] = { false };
	long ticks;

	for (int i = 0; i < N; i++)
		fds[i] = connect_raw();
	/* The daemon takes what its margin allows, refuses one, and stops
	 * accepting: the rest wait in the listen queue. */
	for (int i = 0; i < N; i++) {
		struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
		char *line;

		if (poll(&pfd, 1, hello + refused == 0 ? 2000 : 100) != 1)
			continue;
		line = harness_readline(fds[i], 1000);
		ck_assert_ptr_nonnull(line);
		answered[i] = true;
		if (strstr(line, "\"event\":\"hello\"") != NULL) {
			hello++;
		} else {
			ck_assert_ptr_nonnull(strstr(line, "descriptor limit"));
			refused++;
		}
		free(line);
	}
	waiting = N - hello - refused;
	ck_assert_int_gt(hello, 0);
	ck_assert_int_gt(refused, 0);
	ck_assert_int_gt(waiting, 0);
	ck_assert(log_has("near the descriptor limit"));
	/* Paused, not spinning: at most a tenth of a second of CPU in one. */
	ticks = cpu_ticks(d.pid);
	sleep(1);
	ck_assert_int_le(cpu_ticks(d.pid) - ticks, sysconf(_SC_CLK_TCK) / 10);
	ck_assert(harness_alive(&d));

	/* Clients leave: accepting resumes and those waiting are served. */
	for (int i = 0; i < N; i++)
		if (answered[i])
			close(fds[i]);
	hello = 0;
	for (int i = 0; i < N; i++) {
		char *line;

		if (answered[i])
			continue;
		line = harness_readline(fds[i], 5000);
		ck_assert_ptr_nonnull(line);
		hello += strstr(line, "\"event\":\"hello\"") != NULL;
		free(line);
		close(fds[i]);
	}
	ck_assert_int_gt(hello, 0);
	for (int i = 0; i < 300; i++) {
		if ((fds[0] = harness_connect(&d)) != -1)
			break;
		usleep(10000);
	}
	ck_assert_int_ne(fds[0], -1);
	assert_usable(fds[0]);
	close(fds[0]);
}
END_TEST

static Suite *
badinput_suite(void)
{
	Suite *s = suite_create("badinput");
	TCase *tc = tcase_create("default limits");
	TCase *small = tcase_create("small limits");
	TCase *idle = tcase_create("idle timeout");
	const struct {
		const char *name;
		void (*setup)(void);
		const TTest *test;
	} limits[] = {
		{ "access: control", setup_acl_control, acl_control_refused },
		{ "access: read", setup_acl_read, acl_read_refused },
		{ "clients per uid", setup_per_uid, clients_per_uid_refused },
		{ "request timeout", setup_request_timeout, byte_a_tick_times_out },
		{ "request timeout", setup_request_timeout, lines_in_pieces_not_timed_out },
		{ "output cap", setup_output, non_reader_dropped },
		{ "max_pending", setup_pending, pipelined_past_max_pending_answered },
		{ "many clients", setup_many, hundreds_of_connections },
		{ "descriptor limit", setup_nofile, descriptor_limit_pauses_accepting },
	};

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, bad_line_answered, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, deep_restriction_too_complex);
	tcase_add_test(tc, pipelined_requests_all_answered);
	tcase_add_test(tc, default_query_as_generic);
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

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		TCase *lt = tcase_create(limits[i].name);

		tcase_add_checked_fixture(lt, limits[i].setup, teardown);
		tcase_set_timeout(lt, 60);
		tcase_add_test(lt, limits[i].test);
		suite_add_tcase(s, lt);
	}
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
