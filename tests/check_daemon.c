/*
 * check_daemon.c — mapispoold's life: start, stop on SIGTERM/SIGINT with
 * the socket removed, refusing a second daemon, stale sockets, bad
 * configuration files, --check-config, the embedded default profile.
 */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

#include "harness.h"

/* Run mapispoold with args (NULL-terminated) in the foreground of the test
 * with the given environment additions; returns its exit status, and its
 * stderr in *err (malloc'd).  The run is bounded: it gets SIGKILL after
 * timeout_ms if still running (then the status is -1). */
static int
run_daemon(char **err, int timeout_ms, const char *const *env, ...)
{
	const char *argv[32];
	int p[2], st = -1, argc = 0;
	va_list ap;
	pid_t pid;

	argv[argc++] = "mapispoold";
	va_start(ap, env);
	while (argc < 31 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		dup2(p[1], STDERR_FILENO);
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		for (size_t i = 0; env != NULL && env[i] != NULL; i += 2) {
			if (env[i + 1] == NULL)
				unsetenv(env[i]);
			else
				setenv(env[i], env[i + 1], 1);
		}
		execv(getenv("MAPISPOOLD"), (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(10000);
		st = -1;
	}
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	{
		size_t len = 0, cap = 4096;
		char *buf = malloc(cap);
		ssize_t n;

		fcntl(p[0], F_SETFL, O_NONBLOCK);
		while ((n = read(p[0], buf + len, cap - len - 1)) > 0) {
			len += (size_t)n;
			if (len + 1 == cap)
				buf = realloc(buf, cap *= 2);
		}
		buf[len] = '\0';
		*err = buf;
	}
	close(p[0]);
	return st == -1 ? -1 : (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

START_TEST(sigterm_stops_cleanly)
{
	struct daemon_handle d;
	struct stat st;
	char *log;

	ck_assert_int_eq(harness_start(&d, NULL), 0);
	setenv("HARNESS_KEEP", "1", 1);
	kill(d.pid, _i == 0 ? SIGTERM : SIGINT);
	{
		int status;

		ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
		d.pid = 0;
	}
	ck_assert_int_eq(stat(d.socket, &st), -1);
	log = harness_log(&d);
	ck_assert_ptr_nonnull(strstr(log, "stopped"));
	free(log);
	unsetenv("HARNESS_KEEP");
	harness_stop(&d);
}
END_TEST

START_TEST(second_daemon_refused)
{
	struct daemon_handle d;
	char *err;
	int rc;

	ck_assert_int_eq(harness_start(&d, NULL), 0);
	rc = run_daemon(&err, 5000, NULL, "--config", d.config, "--socket", d.socket, NULL);
	ck_assert_int_ne(rc, 0);
	ck_assert_int_ne(rc, -1);
	ck_assert_msg(strstr(err, "already running") != NULL, "stderr: %s", err);
	free(err);
	/* The first one is untouched. */
	ck_assert(harness_alive(&d));
	/* ... and stops cleanly with a client still connected. */
	ck_assert_int_ne(harness_connect(&d), -1);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

/* Another socket, the same spool: refused too (two daemons on one spool
 * would deliver everything twice). */
START_TEST(second_daemon_same_spool_refused)
{
	struct daemon_handle d;
	char sock[PATH_MAX + 16], *err;

	ck_assert_int_eq(harness_start(&d, NULL), 0);
	snprintf(sock, sizeof(sock), "%s/other.sock", d.dir);
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--config", d.config, "--socket", sock, NULL),
			 1);
	ck_assert_msg(strstr(err, "in use by another mapispoold") != NULL, "stderr: %s", err);
	free(err);
	ck_assert(harness_alive(&d));
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

START_TEST(stale_socket_replaced)
{
	struct daemon_handle d;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	/* A first run, killed without a chance to clean up, leaves its
	 * socket behind. */
	ck_assert_int_eq(harness_start(&d, NULL), 0);
	harness_kill(&d, SIGKILL);
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d.socket) >=
	    (int)sizeof(sun.sun_path))
		abort();
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), -1);
	close(fd);
	ck_assert_int_eq(harness_restart(&d), 0);
	fd = harness_connect(&d);
	ck_assert_int_ne(fd, -1);
	close(fd);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

START_TEST(socket_path_not_a_socket)
{
	struct daemon_handle d;
	char path[PATH_MAX + 16], *err;
	int fd;

	ck_assert_int_eq(harness_start(&d, NULL), 0);
	snprintf(path, sizeof(path), "%s/plainfile", d.dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--config", d.config, "--socket", path,
				    NULL),
			 1);
	ck_assert_msg(strstr(err, "not a socket") != NULL, "stderr: %s", err);
	free(err);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

/* Bad files: the daemon does not start, and says file, line and problem. */
static const struct {
	const char *text;
	const char *where;	/* ":LINE:" */
	const char *word;
} bad_configs[] = {
	{ "[spooler]\nspool_dir = relative/path\n", ":2:", "spool_dir" },
	{ "[spooler]\nstore = /tmp/x\n[nonsense]\n", ":3:", "nonsense" },
	{ "[transport:t]\ntype = carrier-pigeon\n", ":2:", "carrier-pigeon" },
	{ "[transport:t]\ntype = maildir\ndeliver_to = /tmp/o\nsned = now\n", ":4:", "sned" },
	{ "[spooler]\nretry_min = soon\n", ":2:", "retry_min" },
};

START_TEST(bad_config_refused)
{
	struct daemon_handle d;
	char path[PATH_MAX + 16], *err;
	FILE *f;

	ck_assert_int_eq(harness_start(&d, NULL), 0);
	snprintf(path, sizeof(path), "%s/bad.conf", d.dir);
	f = fopen(path, "w");
	fputs(bad_configs[_i].text, f);
	fclose(f);
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--config", path, "--socket", d.socket,
				    NULL),
			 EX_CONFIG);
	ck_assert_msg(strstr(err, path) != NULL, "no file name in: %s", err);
	ck_assert_msg(strstr(err, bad_configs[_i].where) != NULL, "no %s in: %s",
		      bad_configs[_i].where, err);
	ck_assert_msg(strstr(err, bad_configs[_i].word) != NULL, "no \"%s\" in: %s",
		      bad_configs[_i].word, err);
	free(err);
	/* --check-config says the same. */
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--check-config", "--config", path, NULL),
			 EX_CONFIG);
	free(err);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

START_TEST(check_config_good)
{
	struct daemon_handle d;
	char *err;

	ck_assert_int_eq(harness_start(&d, NULL), 0);
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--check-config", "--config", d.config,
				    NULL),
			 0);
	ck_assert_msg(strstr(err, "valid") != NULL, "output: %s", err);
	free(err);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

START_TEST(bad_options)
{
	char *err;

	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--no-such-option", NULL), EX_USAGE);
	free(err);
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--log-level", "loud", NULL), EX_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "loud"));
	free(err);
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--version", NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, VERSION));
	free(err);
	ck_assert_int_eq(run_daemon(&err, 5000, NULL, "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, "--config"));
	free(err);
}
END_TEST

START_TEST(sighup_keeps_running)
{
	struct daemon_handle d;
	int fd;

	ck_assert_int_eq(harness_start(&d, NULL), 0);
	kill(d.pid, SIGHUP);
	usleep(100000);
	ck_assert(harness_alive(&d));
	fd = harness_connect(&d);
	ck_assert_int_ne(fd, -1);
	close(fd);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

/* No --config and no file in the default places: the embedded profile,
 * which keeps its files in the state directory it is given. */
START_TEST(embedded_default_profile)
{
	struct daemon_handle d;
	char home[PATH_MAX + 16], sock[PATH_MAX + 16], store[PATH_MAX + 32], *out;
	struct stat st;
	pid_t pid;
	LPMAPISESSION session = NULL;
	LPMAPITABLE table = NULL;
	LPSRowSet rows = NULL;
	SizedSPropTagArray(2, cols) = { 2, { PR_DISPLAY_NAME_A, PR_PROVIDER_DLL_NAME_A } };

	if (access(SYSCONFDIR "/mapispool/mapispool.conf", F_OK) == 0 && getuid() == 0)
		return; /* a system profile is installed: not the case under test */
	ck_assert_int_eq(harness_start(&d, NULL), 0);
	snprintf(home, sizeof(home), "%s/home", d.dir);
	snprintf(sock, sizeof(sock), "%s/default.sock", d.dir);
	mkdir(home, 0700);
	if ((pid = fork()) == 0) {
		int fd = open(d.log, O_WRONLY | O_APPEND);

		dup2(fd, STDERR_FILENO);
		setenv("HOME", home, 1);
		setenv("STATE_DIRECTORY", home, 1);
		unsetenv("XDG_CONFIG_HOME");
		unsetenv("XDG_STATE_HOME");
		execl(getenv("MAPISPOOLD"), "mapispoold", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(sock, &st) == -1; i++)
		usleep(10000);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(sock, NULL, 0, &session), S_OK);
	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, NULL, NULL, 0, &rows),
			 S_OK);
	/* subsystem, spooler, store, and the one maildir transport */
	ck_assert_uint_eq(rows->cRows, 4);
	ck_assert_str_eq(rows->aRow[3].lpProps[0].Value.lpszA, "local");
	ck_assert_str_eq(rows->aRow[3].lpProps[1].Value.lpszA, "maildir");
	FreeProws(rows);
	IMAPITable_Release(table);
	IMAPISession_Logoff(session, 0, 0, 0);
	IMAPISession_Release(session);
	MAPIUninitialize();
	/* Its store is a Maildir in the state directory. */
	snprintf(store, sizeof(store), "%s/Maildir/new", home);
	ck_assert_int_eq(stat(store, &st), 0);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	out = harness_log(&d);
	ck_assert_msg(strstr(out, "embedded default profile") != NULL, "log: %s", out);
	free(out);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("lifecycle");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, sigterm_stops_cleanly, 0, 2);
	tcase_add_test(tc, second_daemon_refused);
	tcase_add_test(tc, second_daemon_same_spool_refused);
	tcase_add_test(tc, stale_socket_replaced);
	tcase_add_test(tc, socket_path_not_a_socket);
	tcase_add_loop_test(tc, bad_config_refused, 0,
			    (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
	tcase_add_test(tc, check_config_good);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, sighup_keeps_running);
	tcase_add_test(tc, embedded_default_profile);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(daemon_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
