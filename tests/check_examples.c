/*
 * check_examples.c — the example programs, built against the public
 * headers only, run against a real daemon: MAPI's two procedures work as
 * a MAPI programmer wrote them.
 */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Run prog with MAPISPOOL_SOCKET set; its stdout in *out. */
static int
run_example(const struct daemon_handle *d, const char *prog, char **out)
{
	int p[2], st;
	size_t len = 0, cap = 8192;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		setenv("MAPISPOOL_SOCKET", d->socket, 1);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out = malloc(cap);
	while ((n = read(p[0], *out + len, cap - len - 1)) > 0)
		len += (size_t)n;
	(*out)[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(seed_procedures)
{
	struct daemon_handle d;
	char prog[4096], *out;

	snprintf(prog, sizeof(prog), "%s/seed-procedures", getenv("EXAMPLES_DIR"));
	ck_assert_int_eq(harness_start(&d, NULL), 0);
	ck_assert_int_eq(run_example(&d, prog, &out), 0);
	ck_assert_msg(strstr(out, "procedure 1: opened the spooler's status object") != NULL,
		      "output: %s", out);
	ck_assert_msg(strstr(out, "procedure 2: 2 transport(s)") != NULL, "output: %s", out);
	/* maildir flushes itself; a pipe is flushed through the spooler */
	ck_assert_ptr_nonnull(strstr(out, "local            its own FlushQueues"));
	ck_assert_ptr_nonnull(strstr(out, "fax              the spooler's FlushQueues"));
	free(out);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

START_TEST(seed_procedures_no_daemon)
{
	struct daemon_handle d;
	char prog[4096], *out;

	/* Pointed at a socket nobody listens on, it fails cleanly. */
	memset(&d, 0, sizeof(d));
	snprintf(d.socket, sizeof(d.socket), "/nonexistent/control.sock");
	snprintf(prog, sizeof(prog), "%s/seed-procedures", getenv("EXAMPLES_DIR"));
	ck_assert_int_eq(run_example(&d, prog, &out), 1);
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("examples");
	TCase *tc = tcase_create("seed");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, seed_procedures);
	tcase_add_test(tc, seed_procedures_no_daemon);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
