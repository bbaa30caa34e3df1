/*
 * check_notify.c — status table notifications seen by a second client
 * while a flush runs, and the daemon answering others meanwhile.
 */
#include <config.h>

#include <check.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

#include "harness.h"

static const char notify_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n"
	"address_types = SMTP\n"
	"send = on-demand\n"
	"[transport:slow]\n"
	"type = pipe\n"
	"command = @DIR@/slow.sh\n"
	"address_types = SLOW\n"
	"send = on-demand\n";

static const char slow_script[] = "#!/bin/sh\ncat > /dev/null\nsleep 0.25\n";

static struct daemon_handle d;

struct seen {
	int modified, flush_bit, progress_text, other_rows, wrong_columns;
};

static LONG
on_notify(LPVOID ctx, ULONG n, LPNOTIFICATION notifs)
{
	struct seen *s = ctx;

	for (ULONG i = 0; i < n; i++) {
		TABLE_NOTIFICATION *t = &notifs[i].info.tab;
		LPSPropValue p = t->row.lpProps;

		if (notifs[i].ulEventType != fnevTableModified ||
		    t->ulTableEvent != TABLE_ROW_MODIFIED)
			continue;
		s->modified++;
		/* the advised columns, in order */
		if (t->row.cValues != 4 || p[0].ulPropTag != PR_DISPLAY_NAME_A ||
		    p[1].ulPropTag != PR_RESOURCE_TYPE || p[2].ulPropTag != PR_STATUS_CODE) {
			s->wrong_columns++;
			continue;
		}
		if (p[1].Value.l != (LONG)MAPI_TRANSPORT_PROVIDER)
			s->other_rows++;
		if (p[2].Value.l & STATUS_OUTBOUND_FLUSH)
			s->flush_bit++;
		if (PROP_TYPE(p[3].ulPropTag) == PT_STRING8 &&
		    strstr(p[3].Value.lpszA, "sending") != NULL)
			s->progress_text++;
	}
	return 0;
}

static void
submit_slow(LPMAPISESSION session, int n)
{
	MAPISPOOL_RECIPIENT r = { "+1", "SLOW" };

	for (int i = 0; i < n; i++)
		ck_assert_int_eq(mapispool_submit(session, "a@x", 1, &r, "x\n", 2, NULL, NULL), S_OK);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(second_client_sees_flush)
{
	SizedSPropTagArray(4, cols) = {
		4, { PR_DISPLAY_NAME_A, PR_RESOURCE_TYPE, PR_STATUS_CODE, PR_REMOTE_PROGRESS_TEXT_A }
	};
	SPropValue spv = { .ulPropTag = PR_RESOURCE_TYPE, .Value.l = MAPI_TRANSPORT_PROVIDER };
	SRestriction res = { .rt = RES_PROPERTY,
			     .res.resProperty = { RELOP_EQ, PR_RESOURCE_TYPE, &spv } };
	LPMAPISESSION watcher;
	LPMAPITABLE table;
	LPMAPIADVISESINK sink;
	struct seen seen = { 0 };
	char path[PATH_MAX], *out;
	ULONG conn;
	pid_t pid;
	FILE *f;

	ck_assert_int_eq(harness_start(&d, notify_config), 0);
	snprintf(path, sizeof(path), "%s/slow.sh", d.dir);
	f = fopen(path, "w");
	fputs(slow_script, f);
	fclose(f);
	chmod(path, 0755);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, 0, &watcher), S_OK);
	submit_slow(watcher, 3);
	ck_assert_int_eq(IMAPISession_GetStatusTable(watcher, 0, &table), S_OK);
	ck_assert_int_eq(IMAPITable_SetColumns(table, (LPSPropTagArray)&cols, 0), S_OK);
	ck_assert_int_eq(IMAPITable_Restrict(table, &res, 0), S_OK);
	ck_assert_int_eq(HrAllocAdviseSink(on_notify, &seen, &sink), S_OK);
	ck_assert_int_eq(IMAPITable_Advise(table, fnevObjectModified, sink, &conn),
			 MAPI_E_NO_SUPPORT);
	ck_assert_int_eq(IMAPITable_Advise(table, fnevTableModified, sink, &conn), S_OK);

	/* Another client flushes: about 0.75 s of work. */
	if ((pid = fork()) == 0) {
		harness_ctl(&d, NULL, NULL, "flush", "--no-ui", NULL);
		_exit(0);
	}
	/* Meanwhile the daemon answers: a status query well within the
	 * flush's time. */
	usleep(150000);
	{
		double t0 = now();

		ck_assert_int_eq(harness_ctl(&d, &out, NULL, "status", NULL), 0);
		ck_assert_double_lt(now() - t0, 0.5);
		ck_assert_ptr_nonnull(strstr(out, "slow"));
		free(out);
	}
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(mapispool_dispatch(watcher, 50), S_OK);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(mapispool_dispatch(watcher, 100), S_OK);
	ck_assert_int_gt(seen.modified, 3);
	ck_assert_int_gt(seen.flush_bit, 0);
	ck_assert_int_gt(seen.progress_text, 0);
	ck_assert_int_eq(seen.other_rows, 0);
	ck_assert_int_eq(seen.wrong_columns, 0);

	/* After Unadvise, silence. */
	ck_assert_int_eq(IMAPITable_Unadvise(table, conn), S_OK);
	memset(&seen, 0, sizeof(seen));
	submit_slow(watcher, 1);
	ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "flush", "--no-ui", NULL), 0);
	ck_assert_int_eq(mapispool_dispatch(watcher, 200), S_OK);
	ck_assert_int_eq(seen.modified, 0);

	IMAPIAdviseSink_Release(sink);
	IMAPITable_Release(table);
	IMAPISession_Logoff(watcher, 0, 0, 0);
	IMAPISession_Release(watcher);
	MAPIUninitialize();
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

/* Raw: a subscription ends with its connection, and a bad one is refused. */
START_TEST(advise_raw)
{
	int fd;
	char *line;

	ck_assert_int_eq(harness_start(&d, notify_config), 0);
	fd = harness_connect(&d);
	harness_send(fd, "{\"id\":1,\"op\":\"advise\",\"columns\":[\"PR_NOPE\"]}\n", 45);
	line = harness_readline(fd, 5000);
	ck_assert_ptr_nonnull(strstr(line, "MAPI_E_INVALID_PARAMETER"));
	free(line);
	harness_send(fd, "{\"id\":2,\"op\":\"advise\"}\n", 23);
	line = harness_readline(fd, 5000);
	ck_assert_ptr_nonnull(strstr(line, "\"connection\":1"));
	free(line);
	harness_send(fd, "{\"id\":3,\"op\":\"unadvise\",\"connection\":9}\n", 41);
	line = harness_readline(fd, 5000);
	ck_assert_ptr_nonnull(strstr(line, "MAPI_E_NOT_FOUND"));
	free(line);
	/* Going offline changes the row: the subscriber hears of it. */
	ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "offline", "local", NULL), 0);
	line = harness_readline(fd, 5000);
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "TABLE_ROW_MODIFIED"));
	ck_assert_ptr_nonnull(strstr(line, "Offline"));
	free(line);
	close(fd);
	ck_assert(harness_alive(&d));
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, second_client_sees_flush);
	tcase_add_test(tc, advise_raw);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
