/*
 * check_ctl.c — mapispoolctl against a real mapispoold: the status table in
 * both output forms, usage errors, and the exit status when there is no
 * daemon, or one that speaks another protocol.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

static struct daemon_handle d;

static void
daemon_setup(void)
{
	ck_assert_int_eq(harness_start(&d, NULL), 0);
}

static void
daemon_teardown(void)
{
	harness_stop(&d);
}

/* The whole of a file descriptor's file, from the start, malloc'd. */
static char *
read_all(int fd)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	ck_assert_int_ne(lseek(fd, 0, SEEK_SET), -1);
	do {
		buf = realloc(buf, len + 4096 + 1);
		ck_assert_ptr_nonnull(buf);
		n = read(fd, buf + len, 4096);
		ck_assert_int_ge(n, 0);
		len += (size_t)n;
	} while (n > 0);
	buf[len] = '\0';
	return buf;
}

/* Run $MAPISPOOLCTL with args (NULL-terminated), with no --socket of its
 * own, capturing stdout and stderr (both malloc'd).  harness_ctl gives no
 * stderr and always adds --socket. */
static int
run_ctl(char **out, char **err, const char *const *args)
{
	const char *ctl = getenv("MAPISPOOLCTL"), *argv[32];
	FILE *fout, *ferr;
	int argc = 0, status;
	pid_t pid;

	ck_assert_msg(ctl != NULL, "MAPISPOOLCTL is not set (run through make check)");
	argv[argc++] = ctl;
	for (; *args != NULL; args++) {
		ck_assert_int_lt(argc, 31);
		argv[argc++] = *args;
	}
	argv[argc] = NULL;

	fout = tmpfile();
	ferr = tmpfile();
	ck_assert(fout != NULL && ferr != NULL);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(fileno(fout), 1);
		dup2(fileno(ferr), 2);
		execv(ctl, (char **)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*out = read_all(fileno(fout));
	*err = read_all(fileno(ferr));
	fclose(fout);
	fclose(ferr);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- status, human form ---- */

/* Split a line of the table at runs of two or more spaces (cells hold
 * single spaces: "MAPI Subsystem").  Fields and their columns go into
 * field[] and col[]; returns how many. */
static int
split_row(char *line, char **field, size_t *col, int max)
{
	char *p = line, *gap;
	int n = 0;

	while (n < max && *p != '\0') {
		field[n] = p;
		col[n] = (size_t)(p - line);
		n++;
		if ((gap = strstr(p, "  ")) == NULL)
			break;
		*gap = '\0';
		for (p = gap + 1; *p == ' '; p++)
			;
	}
	return n;
}

static const struct {
	const char *name, *type, *provider, *methods;
} expected_rows[] = {
	{ "MAPI Subsystem", "subsystem", "mapispoold", "validate" },
	{ "MAPI Spooler", "spooler", "mapispoold", "validate,flush" },
	{ "Default store", "store", "maildir", "validate" },
	{ "local", "transport", "maildir", "validate,flush" },
	/* a pipe has no FlushQueues of its own */
	{ "fax", "transport", "pipe", "validate" },
};

#define NROWS (sizeof expected_rows / sizeof expected_rows[0])

START_TEST(status_table)
{
	char *out = NULL, *line, *save, *field[8];
	size_t hcol[8], col[8];
	int n, rc, row = -1;

	rc = harness_ctl(&d, &out, NULL, "status", NULL);
	ck_assert_int_eq(rc, EX_OK);
	ck_assert_ptr_nonnull(out);

	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), row++) {
		if (row == -1) {
			n = split_row(line, field, hcol, 8);
			ck_assert_int_eq(n, 6);
			ck_assert_str_eq(field[0], "NAME");
			ck_assert_str_eq(field[1], "TYPE");
			ck_assert_str_eq(field[2], "PROVIDER");
			ck_assert_str_eq(field[3], "STATUS");
			ck_assert_str_eq(field[4], "METHODS");
			ck_assert_str_eq(field[5], "DETAIL");
			continue;
		}
		ck_assert_int_lt(row, NROWS);
		ck_assert_msg(line[strlen(line) - 1] != ' ', "trailing space: \"%s\"", line);
		n = split_row(line, field, col, 8);
		ck_assert_int_ge(n, 5);
		ck_assert_str_eq(field[0], expected_rows[row].name);
		ck_assert_str_eq(field[1], expected_rows[row].type);
		ck_assert_str_eq(field[2], expected_rows[row].provider);
		ck_assert_str_eq(field[4], expected_rows[row].methods);
		/* The subsystem, the spooler and the store are up in a fresh
		 * daemon; a transport's state depends on what it can reach. */
		if (strcmp(expected_rows[row].type, "transport") != 0)
			ck_assert_msg(strstr(field[3], "available") != NULL,
				      "row \"%s\": status \"%s\"", field[0], field[3]);
		/* Aligned: every cell starts under its title. */
		for (int i = 1; i < 5; i++)
			ck_assert_uint_eq(col[i], hcol[i]);
	}
	ck_assert_int_eq(row, NROWS);
	free(out);
}
END_TEST

/* ---- status, JSON form ---- */

static const char *const json_columns[] = {
	"PR_DISPLAY_NAME", "PR_RESOURCE_TYPE", "PR_PROVIDER_DLL_NAME", "PR_STATUS_CODE",
	"PR_STATUS_STRING", "PR_RESOURCE_METHODS", "PR_RESOURCE_FLAGS", "PR_ENTRYID",
	"PR_IDENTITY_DISPLAY", "PR_REMOTE_PROGRESS", "PR_REMOTE_PROGRESS_TEXT",
	"PR_MAPISPOOL_NEEDS_UI",
};

static const int resource_types[NROWS] = { 39, 37, 33, 36, 36 };

static void
check_entryid(json_object *row, const char **seen, size_t i)
{
	json_object *v;
	const char *hex, *p;

	ck_assert(json_object_object_get_ex(row, "PR_ENTRYID", &v));
	ck_assert(json_object_is_type(v, json_type_string));
	hex = json_object_get_string(v);
	ck_assert_uint_gt(strlen(hex), 0);
	ck_assert_uint_eq(strlen(hex) % 2, 0);
	for (p = hex; *p != '\0'; p++)
		ck_assert_msg(strchr("0123456789abcdef", *p) != NULL, "not lowercase hex: %s", hex);
	for (size_t j = 0; j < i; j++)
		ck_assert_str_ne(seen[j], hex);
	seen[i] = hex;
}

/* Loop 0: the option after the command; loop 1: before it (global). */
START_TEST(status_json)
{
	const char *seen[NROWS];
	json_object *top, *rows, *row, *v, *err;
	char *out = NULL;
	size_t i, k;
	int rc;

	if (_i == 0)
		rc = harness_ctl(&d, &out, NULL, "status", "--json", NULL);
	else
		rc = harness_ctl(&d, &out, NULL, "--json", "status", NULL);
	ck_assert_int_eq(rc, EX_OK);
	ck_assert_ptr_nonnull(out);
	top = json_tokener_parse(out);
	ck_assert_msg(top != NULL, "not JSON: %s", out);
	ck_assert(json_object_object_get_ex(top, "rows", &rows));
	ck_assert(json_object_is_type(rows, json_type_array));
	ck_assert_uint_eq(json_object_array_length(rows), NROWS);

	for (i = 0; i < NROWS; i++) {
		row = json_object_array_get_idx(rows, i);
		ck_assert(json_object_is_type(row, json_type_object));

		/* Keyed by canonical names, in column order. */
		k = 0;
		json_object_object_foreach(row, key, val) {
			(void)val;
			ck_assert_uint_lt(k, sizeof json_columns / sizeof json_columns[0]);
			ck_assert_str_eq(key, json_columns[k]);
			k++;
		}
		ck_assert_uint_eq(k, sizeof json_columns / sizeof json_columns[0]);

		ck_assert(json_object_object_get_ex(row, "PR_RESOURCE_TYPE", &v));
		ck_assert(json_object_is_type(v, json_type_int));
		ck_assert_int_eq(json_object_get_int(v), resource_types[i]);
		ck_assert(json_object_object_get_ex(row, "PR_DISPLAY_NAME", &v));
		ck_assert_str_eq(json_object_get_string(v), expected_rows[i].name);
		ck_assert(json_object_object_get_ex(row, "PR_PROVIDER_DLL_NAME", &v));
		ck_assert_str_eq(json_object_get_string(v), expected_rows[i].provider);
		ck_assert(json_object_object_get_ex(row, "PR_STATUS_CODE", &v));
		ck_assert(json_object_is_type(v, json_type_int));
		ck_assert(json_object_object_get_ex(row, "PR_RESOURCE_METHODS", &v));
		ck_assert(json_object_is_type(v, json_type_int));
		/* STATUS_FLUSH_QUEUES (8): the spooler and maildir, not the pipe */
		ck_assert_int_eq((json_object_get_int(v) & 8) != 0,
				 strstr(expected_rows[i].methods, "flush") != NULL);
		check_entryid(row, seen, i);
	}

	/* Nothing in this profile has a username: a missing property keeps
	 * its column's name and says why it is missing. */
	row = json_object_array_get_idx(rows, 3);
	ck_assert(json_object_object_get_ex(row, "PR_IDENTITY_DISPLAY", &v));
	ck_assert(json_object_is_type(v, json_type_object));
	ck_assert(json_object_object_get_ex(v, "error", &err));
	ck_assert_str_eq(json_object_get_string(err), "MAPI_E_NOT_FOUND");

	json_object_put(top);
	free(out);
}
END_TEST

/* ---- no daemon, or the wrong one ---- */

static char tmpdir[64];

static void
tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmpdir_teardown(void)
{
	char path[128];

	snprintf(path, sizeof path, "%s/control.sock", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

static void
check_not_running(int rc, const char *out, const char *err, const char *sock)
{
	char want[256];

	ck_assert_int_eq(rc, EX_UNAVAILABLE);
	ck_assert_str_eq(out, "");
	snprintf(want, sizeof want,
		 "mapispoolctl: mapispoold is not running (no answer on %s): start it with"
		 " `mapispoold` or `systemctl start mapispoold`, or give --socket\n", sock);
	ck_assert_str_eq(err, want);
}

START_TEST(no_daemon)
{
	char sock[128], *out, *err;
	int rc;

	snprintf(sock, sizeof sock, "%s/control.sock", tmpdir);
	rc = run_ctl(&out, &err, (const char *[]){ "--socket", sock, "status", NULL });
	check_not_running(rc, out, err, sock);
	free(out);
	free(err);
}
END_TEST

/* Every command that talks to the daemon says so the same way. */
static const char *const daemon_commands[][4] = {
	{ "flush", NULL },
	{ "flush", "--each-transport", "--upload", NULL },
	{ "flush", "--async", "--wait", NULL },
	{ "submit", "bob@example.net", NULL },
	{ "queue", NULL },
	{ "queue", "hold", "0193a5c2e4f10001a3b2", NULL },
	{ "validate", "spooler", NULL },
	{ "offline", NULL },
	{ "online", "local", NULL },
	{ "watch", NULL },
	{ "password", "relay", NULL },
};

START_TEST(no_daemon_commands)
{
	const char *argv[8] = { "--socket", NULL };
	char sock[128], *out, *err;
	int i, rc;

	snprintf(sock, sizeof sock, "%s/control.sock", tmpdir);
	argv[1] = sock;
	for (i = 0; daemon_commands[_i][i] != NULL; i++)
		argv[2 + i] = daemon_commands[_i][i];
	argv[2 + i] = NULL;
	rc = run_ctl(&out, &err, argv);
	check_not_running(rc, out, err, sock);
	free(out);
	free(err);
}
END_TEST

/* Without --socket the message names the path the library chose. */
START_TEST(no_daemon_env)
{
	char sock[128], *out, *err;
	int rc;

	snprintf(sock, sizeof sock, "%s/control.sock", tmpdir);
	ck_assert_int_eq(setenv("MAPISPOOL_SOCKET", sock, 1), 0);
	rc = run_ctl(&out, &err, (const char *[]){ "status", "--json", NULL });
	check_not_running(rc, out, err, sock);
	free(out);
	free(err);
}
END_TEST

/* A server whose hello announces protocol 99: EX_PROTOCOL. */
START_TEST(protocol_mismatch)
{
	static const char hello[] =
		"{\"event\":\"hello\",\"protocol\":99,\"server\":\"mapispoold/99.0\"}\n";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *out, *err, buf[256];
	int lfd, fd, rc;
	pid_t pid;

	snprintf(addr.sun_path, sizeof addr.sun_path, "%s/control.sock", tmpdir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(lfd, -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* Answer every connection with the hello; drain until the
		 * client goes. */
		while ((fd = accept(lfd, NULL, NULL)) != -1) {
			if (write(fd, hello, sizeof hello - 1) < 0)
				_exit(1);
			while (read(fd, buf, sizeof buf) > 0)
				;
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	rc = run_ctl(&out, &err, (const char *[]){ "--socket", addr.sun_path, "status", NULL });
	/* SIGKILL: the child inherited Check's SIGTERM handler, which
	 * would take the whole process group down with it. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(rc, EX_PROTOCOL);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strncmp(err, "mapispoolctl: ", 14) == 0, "stderr: %s", err);
	free(out);
	free(err);
}
END_TEST

/* ---- usage ---- */

static const struct {
	const char *argv[6];
	const char *says;	/* in the message on stderr */
} bad_usage[] = {
	{ { NULL }, "no command given" },
	{ { "frobnicate", NULL }, "unknown command \"frobnicate\"" },
	{ { "status", "extra", NULL }, "unexpected argument \"extra\"" },
	{ { "status", "--bogus", NULL }, "unknown option --bogus" },
	{ { "--bogus", "status", NULL }, "unknown option --bogus" },
	{ { "status", "--socket", "/x", NULL }, "unknown option --socket" },
	{ { "--socket", NULL }, "option --socket needs an argument" },
	{ { "--socket", "", "status", NULL }, "option --socket needs a path" },
	{ { "flush", "extra", NULL }, "unexpected argument \"extra\"" },
	{ { "flush", "--bogus", NULL }, "unknown option --bogus" },
	{ { "flush", "--transport", NULL }, "option --transport needs an argument" },
	{ { "flush", "--transport", "", NULL }, "option --transport needs a name" },
	{ { "flush", "--each-transport", "--transport", "local", NULL },
	  "--each-transport and --transport exclude each other" },
	{ { "flush", "--wait", NULL }, "--wait waits for an --async flush" },
	{ { "flush", "--async", "--each-transport", NULL }, "--async flushes through the spooler" },
	{ { "flush", "--async", "--transport", "fax", NULL }, "--async flushes through the spooler" },
	{ { "submit", NULL }, "no recipients" },
	{ { "submit", "-f", NULL }, "option -f needs an argument" },
	{ { "submit", "-x", "bob@example.net", NULL }, "unknown option -x" },
	{ { "submit", "--addrtype", "", "bob@example.net", NULL },
	  "--addrtype needs an address type" },
	{ { "queue", "frob", NULL }, "unknown subcommand \"frob\"" },
	{ { "queue", "list", "x", NULL }, "list takes no message ID" },
	{ { "queue", "hold", NULL }, "hold needs a message ID, --transport or --domain" },
	{ { "queue", "remove", NULL }, "remove needs one message ID" },
	{ { "queue", "hold", "a", "b", NULL }, "unexpected argument \"b\"" },
	{ { "queue", "remove", "a", "--transport", NULL }, "option --transport needs an argument" },
	{ { "queue", "remove", "a", "--transport", "t", NULL }, "--transport is for hold, release and flush" },
	{ { "queue", "release", "a", "--inbound", NULL }, "--inbound and --all are for list" },
	{ { "validate", NULL }, "too few arguments" },
	{ { "validate", "a", "b", NULL }, "unexpected argument \"b\"" },
	{ { "validate", "local", "--connect", "--disconnect", NULL },
	  "--connect and --disconnect exclude each other" },
	{ { "validate", "local", "--upload", NULL }, "unknown option --upload" },
	{ { "offline", "a", "b", NULL }, "unexpected argument \"b\"" },
	{ { "online", "--force", NULL }, "unknown option --force" },
	{ { "watch", "now", NULL }, "unexpected argument \"now\"" },
	{ { "password", NULL }, "too few arguments" },
	{ { "password", "relay", "inbox", NULL }, "unexpected argument \"inbox\"" },
	{ { "password", "relay", "--force", NULL }, "unknown option --force" },
	{ { "password", "--old", "x", "relay", NULL }, "unknown option --old" },
};

START_TEST(usage_error)
{
	char *out, *err;
	int rc;

	rc = run_ctl(&out, &err, bad_usage[_i].argv);
	ck_assert_int_eq(rc, EX_USAGE);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strncmp(err, "mapispoolctl: ", 14) == 0, "stderr: %s", err);
	ck_assert_msg(strstr(err, bad_usage[_i].says) != NULL, "stderr: %s", err);
	/* One message line, then one usage line. */
	ck_assert_msg(strstr(err, "\nusage: mapispoolctl ") != NULL, "stderr: %s", err);
	ck_assert_ptr_eq(strchr(strstr(err, "\nusage: ") + 1, '\n'), err + strlen(err) - 1);
	free(out);
	free(err);
}
END_TEST

START_TEST(help)
{
	char *out, *err;

	ck_assert_int_eq(run_ctl(&out, &err, (const char *[]){ "--help", NULL }), EX_OK);
	ck_assert_str_eq(err, "");
	ck_assert_msg(strncmp(out, "usage: mapispoolctl ", 20) == 0, "stdout: %s", out);
	ck_assert_ptr_nonnull(strstr(out, "\n  status [--json]\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n  flush [--upload] [--download] [--force] [--no-ui]"
					  " [--async [--wait]] [--each-transport | --transport NAME]"
					  " [--json]\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n  submit [-f SENDER] [-t] [--addrtype TYPE] [--json]"
					  " [RCPT...] < MESSAGE\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n  queue [list] "));
	ck_assert_ptr_nonnull(strstr(out, "\n  validate NAME "));
	ck_assert_ptr_nonnull(strstr(out, "\n  offline [NAME] [--json]\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n  online [NAME] [--json]\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n  watch [--json]\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n  password NAME [--json]\n"));
	free(out);
	free(err);
}
END_TEST

START_TEST(version)
{
	char *out, *err;

	ck_assert_int_eq(run_ctl(&out, &err, (const char *[]){ "--version", NULL }), EX_OK);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(out, "mapispoolctl " PACKAGE_VERSION "\n");
	free(out);
	free(err);
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite *s = suite_create("mapispoolctl");
	TCase *tc;

	tc = tcase_create("status");
	tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, status_table);
	tcase_add_loop_test(tc, status_json, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("unavailable");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, no_daemon);
	tcase_add_test(tc, no_daemon_env);
	tcase_add_loop_test(tc, no_daemon_commands, 0,
			    sizeof daemon_commands / sizeof daemon_commands[0]);
	tcase_add_test(tc, protocol_mismatch);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_add_loop_test(tc, usage_error, 0, sizeof bad_usage / sizeof bad_usage[0]);
	tcase_add_test(tc, help);
	tcase_add_test(tc, version);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ctl_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
