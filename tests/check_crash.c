/*
 * check_crash.c — an acknowledged message is never lost: kill -9 the
 * daemon in the middle of submissions and of a flush, start it again on
 * the same spool, and account for every message.
 */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char crash_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"[transport:fax]\n"
	"type = pipe\n"
	"command = @DIR@/fax.sh\n"
	"send = on-demand\n";

/* Appends the message to fax.out, slowly enough to be killed midway. */
static const char fax_script[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"body=$(cat)\n"
	"sleep 0.02\n"
	"printf '%s\\n' \"$body\" >> \"$d/fax.out\"\n";

#define N 60

static struct daemon_handle d;

static void
write_script(void)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fax.sh", d.dir);
	f = fopen(path, "w");
	fputs(fax_script, f);
	fclose(f);
	chmod(path, 0755);
}

/* Submit N messages pipelined on one connection; kill -9 the daemon after
 * `kill_after` acknowledgements.  acked[i] tells which were confirmed. */
static void
submit_and_kill(int kill_after, bool acked[N])
{
	int fd = harness_connect(&d);
	char line[256];
	int got = 0;

	ck_assert_int_ne(fd, -1);
	for (int i = 0; i < N; i++) {
		int n = snprintf(line, sizeof(line),
				 "{\"id\":%d,\"op\":\"message.submit\",\"sender\":\"a@x\","
				 "\"recipients\":[{\"address\":\"b@x\"}],\"data\":\"msg-%03d\"}\n",
				 i, i);

		ck_assert_int_eq(harness_send(fd, line, (size_t)n), 0);
	}
	while (got < kill_after) {
		char *reply = harness_readline(fd, 10000);
		json_object *j, *id;

		ck_assert_ptr_nonnull(reply);
		j = json_tokener_parse(reply);
		ck_assert(json_object_object_get_ex(j, "id", &id));
		ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "hr_name")),
				 "S_OK");
		acked[json_object_get_int(id)] = true;
		got++;
		json_object_put(j);
		free(reply);
	}
	harness_kill(&d, SIGKILL);
	close(fd);
}

/* Bodies present in the queue after a restart, by a flush into fax.out. */
static void
flush_all_and_read(int count[N])
{
	char *out = NULL, path[PATH_MAX], buf[64];
	FILE *f;

	memset(count, 0, sizeof(int) * N);
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "flush", "--no-ui", NULL), 0);
	free(out);
	snprintf(path, sizeof(path), "%s/fax.out", d.dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		int i;

		if (sscanf(buf, "msg-%d", &i) == 1 && i >= 0 && i < N)
			count[i]++;
	}
	fclose(f);
}

START_TEST(kill_during_submissions)
{
	static const int points[] = { 1, 7, 30, N - 1 };
	bool acked[N] = { false };
	int count[N];

	ck_assert_int_eq(harness_start(&d, crash_config), 0);
	write_script();
	submit_and_kill(points[_i], acked);
	ck_assert_int_eq(harness_restart(&d), 0);
	flush_all_and_read(count);
	for (int i = 0; i < N; i++) {
		/* acknowledged: delivered exactly once (nothing was sent
		 * before the crash); unacknowledged: at most once */
		if (acked[i])
			ck_assert_msg(count[i] == 1, "acknowledged message %d delivered %d times",
				      i, count[i]);
		else
			ck_assert_int_le(count[i], 1);
	}
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

START_TEST(kill_during_flush)
{
	bool acked[N] = { false };
	int count[N], twice = 0;
	char *out = NULL;
	pid_t pid;

	ck_assert_int_eq(harness_start(&d, crash_config), 0);
	write_script();
	submit_and_kill(N, acked);
	ck_assert_int_eq(harness_restart(&d), 0);
	/* A flush of all N at ~20 ms each, killed a third of the way. */
	if ((pid = fork()) == 0) {
		harness_ctl(&d, &out, NULL, "flush", "--no-ui", NULL);
		_exit(0);
	}
	usleep(400000 + 150000 * _i);
	harness_kill(&d, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(harness_restart(&d), 0);
	flush_all_and_read(count);
	for (int i = 0; i < N; i++) {
		ck_assert_msg(count[i] >= 1, "message %d lost", i);
		ck_assert_int_le(count[i], 2);
		twice += count[i] == 2;
	}
	/* Only the message mid-delivery at the crash may come twice. */
	ck_assert_int_le(twice, 1);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

/* A torn envelope (a crash of the disk, not of the daemon) is set aside,
 * and the rest still loads. */
START_TEST(torn_file_set_aside)
{
	bool acked[N] = { false };
	char cmd[PATH_MAX * 2], *out = NULL;
	int count[N], delivered = 0;

	ck_assert_int_eq(harness_start(&d, crash_config), 0);
	write_script();
	submit_and_kill(N, acked);
	snprintf(cmd, sizeof(cmd),
		 "f=$(ls %s/spool/outbound/*.msg | head -n 1) && head -c 40 \"$f\" > \"$f.x\" && "
		 "mv \"$f.x\" \"$f\"",
		 d.dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(harness_restart(&d), 0);
	flush_all_and_read(count);
	for (int i = 0; i < N; i++)
		delivered += count[i];
	ck_assert_int_eq(delivered, N - 1);
	snprintf(cmd, sizeof(cmd), "ls %s/spool/corrupt | grep -q msg", d.dir);
	ck_assert_int_eq(system(cmd), 0);
	out = harness_log(&d);
	ck_assert_ptr_nonnull(strstr(out, "corrupt"));
	free(out);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

static Suite *
crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("crash");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, kill_during_submissions, 0, 4);
	tcase_add_loop_test(tc, kill_during_flush, 0, 3);
	tcase_add_test(tc, torn_file_set_aside);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(crash_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
