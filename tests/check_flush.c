/*
 * check_flush.c — FlushQueues end to end: MAPI's two procedures move real
 * messages into a Maildir and through a pipe, and every flag and error
 * case of SPEC §4 against a real daemon.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

#include "harness.h"

/* Both transports send only when flushed, so the tests decide when. The
 * pipe runs a script that appends each message to fax.out and exits with
 * the status in fax.exit (0 when missing), after sleeping fax.sleep. */
static const char flush_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"retry_min = 50ms\n"
	"retry_max = 200ms\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n"
	"pickup = @DIR@/dropbox\n"
	"address_types = SMTP\n"
	"send = on-demand\n"
	"[transport:fax]\n"
	"type = pipe\n"
	"command = @DIR@/fax.sh {sender} {recipients}\n"
	"address_types = FAX\n"
	"send = on-demand\n";

static const char fax_script[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"[ -f \"$d/fax.sleep\" ] && sleep \"$(cat \"$d/fax.sleep\")\"\n"
	"echo \"ARGS $*\" >> \"$d/fax.args\"\n"
	"cat >> \"$d/fax.out\"\n"
	"echo '--end--' >> \"$d/fax.out\"\n"
	"[ -f \"$d/fax.exit\" ] && exit \"$(cat \"$d/fax.exit\")\"\n"
	"exit 0\n";

static struct daemon_handle d;
static LPMAPISESSION session;

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d.dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void
remove_file(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", d.dir, name);
	ck_assert_int_eq(unlink(path), 0);
}

static char *
read_file(const char *name)
{
	char path[PATH_MAX], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", d.dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int
count_files(const char *sub)
{
	return harness_count_files(d.dir, sub);
}

/* The concatenation of every file in sub, in name order. */
static bool
some_file_contains(const char *sub, const char *needle)
{
	char path[PATH_MAX];
	struct dirent **names;
	bool found = false;
	int n;

	snprintf(path, sizeof(path), "%s/%s", d.dir, sub);
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char rel[PATH_MAX];
		char *text;

		if (names[i]->d_name[0] != '.') {
			snprintf(rel, sizeof(rel), "%s/%s", sub, names[i]->d_name);
			text = read_file(rel);
			found |= strstr(text, needle) != NULL;
			free(text);
		}
		free(names[i]);
	}
	free(names);
	return found;
}

static void
setup(void)
{
	ck_assert_int_eq(harness_start(&d, flush_config), 0);
	write_file("fax.sh", fax_script, 0755);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, MAPI_EXTENDED, &session), S_OK);
}

static void
teardown(void)
{
	IMAPISession_Logoff(session, 0, 0, 0);
	IMAPISession_Release(session);
	MAPIUninitialize();
	ck_assert_msg(harness_alive(&d), "mapispoold died");
	ck_assert_int_eq(harness_stop(&d), 0);
}

static void
submit(const char *addrtype, const char *rcpt, const char *body, HRESULT want)
{
	MAPISPOOL_RECIPIENT r = { (LPSTR)rcpt, (LPSTR)addrtype };
	char msg[1024];
	HRESULT hr;

	snprintf(msg, sizeof(msg), "From: alice@example.net\nTo: %s\nSubject: test\n\n%s\n", rcpt,
		 body);
	hr = mapispool_submit(session, "alice@example.net", 1, &r, msg, strlen(msg), NULL, NULL);
	ck_assert_msg(hr == want, "submit: 0x%08x (%s)", (unsigned)hr, mapispool_last_error());
}

static ULONG
queued(ULONG which)
{
	MAPISPOOL_QUEUE_LIST *list = NULL;
	ULONG n;

	ck_assert_int_eq(mapispool_queue_list(session, which, NULL, 1000, &list, NULL), S_OK);
	n = list->cEntries;
	MAPIFreeBuffer(list);
	return n;
}

/* Procedure 1, steps 1-5: the spooler's status object. */
static LPMAPISTATUS
open_by_type(ULONG type, const char *name)
{
	SizedSPropTagArray(3, cols) = { 3, { PR_ENTRYID, PR_RESOURCE_TYPE, PR_DISPLAY_NAME_A } };
	LPMAPITABLE table = NULL;
	LPSRowSet rows = NULL;
	LPMAPISTATUS status = NULL;
	SPropValue spv;
	SRestriction sres;
	ULONG objtype;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	spv.ulPropTag = PR_RESOURCE_TYPE;
	spv.Value.l = (LONG)type;
	sres.rt = RES_PROPERTY;
	sres.res.resProperty.relop = RELOP_EQ;
	sres.res.resProperty.ulPropTag = PR_RESOURCE_TYPE;
	sres.res.resProperty.lpProp = &spv;
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, &sres, NULL, 0, &rows), S_OK);
	for (ULONG i = 0; i < rows->cRows; i++) {
		LPSPropValue p = rows->aRow[i].lpProps;

		if (name != NULL && strcmp(p[2].Value.lpszA, name) != 0)
			continue;
		ck_assert_int_eq(IMAPISession_OpenEntry(session, p[0].Value.bin.cb,
							(LPENTRYID)p[0].Value.bin.lpb,
							&IID_IMAPIStatus, MAPI_BEST_ACCESS, &objtype,
							(LPUNKNOWN *)&status),
				 S_OK);
		break;
	}
	FreeProws(rows);
	IMAPITable_Release(table);
	ck_assert_ptr_nonnull(status);
	return status;
}

static void
entryid_of(LPMAPISTATUS st, SBinary *out)
{
	SizedSPropTagArray(1, tags) = { 1, { PR_ENTRYID } };
	LPSPropValue pv = NULL;
	ULONG n;

	ck_assert_int_eq(IMAPIStatus_GetProps(st, (LPSPropTagArray)&tags, 0, &n, &pv), S_OK);
	out->cb = pv[0].Value.bin.cb;
	out->lpb = malloc(out->cb);
	memcpy(out->lpb, pv[0].Value.bin.lpb, out->cb);
	MAPIFreeBuffer(pv);
}

static void
queue_mail(void)
{
	submit("SMTP", "bob@example.net", "one", S_OK);
	submit("SMTP", "carol@example.net", "two", S_OK);
	submit("SMTP", "dave@example.net", "three", S_OK);
	submit("FAX", "+3312345678", "fax one", S_OK);
	submit("FAX", "+3387654321", "fax two", S_OK);
	write_file("dropbox/new/1.host", "From: x@example.org\n\nincoming one\n", 0644);
	write_file("dropbox/new/2.host", "From: y@example.org\n\nincoming two\n", 0644);
	ck_assert_uint_eq(queued(MAPISPOOL_QUEUE_OUTBOUND), 5);
}

static void
assert_everything_moved(void)
{
	char *fax;

	ck_assert_int_eq(count_files("outbox/new"), 3);
	ck_assert(some_file_contains("outbox/new", "\n\none\n"));
	ck_assert(some_file_contains("outbox/new", "\n\nthree\n"));
	fax = read_file("fax.out");
	ck_assert_ptr_nonnull(strstr(fax, "fax one"));
	ck_assert_ptr_nonnull(strstr(fax, "fax two"));
	free(fax);
	fax = read_file("fax.args");
	ck_assert_ptr_nonnull(strstr(fax, "ARGS alice@example.net +3312345678"));
	free(fax);
	ck_assert_int_eq(count_files("dropbox/new"), 0);
	ck_assert_int_eq(count_files("Maildir/new"), 2);
	ck_assert(some_file_contains("Maildir/new", "incoming two"));
	ck_assert_uint_eq(queued(MAPISPOOL_QUEUE_OUTBOUND), 0);
	ck_assert_uint_eq(queued(MAPISPOOL_QUEUE_INBOUND), 0);
}

/* The seed's first procedure: one FlushQueues on the spooler. */
START_TEST(procedure_1_flush_all)
{
	LPMAPISTATUS spooler;
	MAPISPOOL_FLUSH_RESULT *res = NULL;
	ULONG n = 0;

	queue_mail();
	spooler = open_by_type(MAPI_SPOOLER, NULL);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL,
						 FLUSH_NO_UI | FLUSH_UPLOAD | FLUSH_DOWNLOAD),
			 S_OK);
	assert_everything_moved();
	ck_assert_int_eq(mapispool_flush_results(spooler, &n, &res), S_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(res[0].lpszTransport, "local");
	ck_assert_uint_eq(res[0].cSent, 3);
	ck_assert_uint_eq(res[0].cReceived, 2);
	ck_assert_uint_eq(res[0].cDelivered, 2);
	ck_assert_str_eq(res[1].lpszTransport, "fax");
	ck_assert_uint_eq(res[1].cSent, 2);
	MAPIFreeBuffer(res);
	IMAPIStatus_Release(spooler);
}
END_TEST

/* The seed's second procedure: each transport by itself; the pipe, which
 * has no FlushQueues, through the spooler with its entry ID as target. */
START_TEST(procedure_2_each_transport)
{
	SizedSPropTagArray(1, methods) = { 1, { PR_RESOURCE_METHODS } };
	LPMAPISTATUS spooler, t;
	const char *names[] = { "local", "fax" };
	unsigned own = 0, via_spooler = 0;

	queue_mail();
	spooler = open_by_type(MAPI_SPOOLER, NULL);
	for (int i = 0; i < 2; i++) {
		LPSPropValue pv = NULL;
		ULONG n;

		t = open_by_type(MAPI_TRANSPORT_PROVIDER, names[i]);
		ck_assert_int_eq(IMAPIStatus_GetProps(t, (LPSPropTagArray)&methods, 0, &n, &pv),
				 S_OK);
		if (pv[0].Value.l & STATUS_FLUSH_QUEUES) {
			ck_assert_int_eq(IMAPIStatus_FlushQueues(t, 0, 0, NULL, FLUSH_NO_UI), S_OK);
			own++;
		} else {
			SBinary eid;

			entryid_of(t, &eid);
			ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, eid.cb,
								 (LPENTRYID)eid.lpb,
								 FLUSH_NO_UI | FLUSH_UPLOAD),
					 S_OK);
			free(eid.lpb);
			via_spooler++;
		}
		MAPIFreeBuffer(pv);
		IMAPIStatus_Release(t);
	}
	ck_assert_uint_eq(own, 1);
	ck_assert_uint_eq(via_spooler, 1);
	assert_everything_moved();
	IMAPIStatus_Release(spooler);
}
END_TEST

/* Only the asked direction moves. */
START_TEST(upload_only_and_download_only)
{
	LPMAPISTATUS local;

	queue_mail();
	local = open_by_type(MAPI_TRANSPORT_PROVIDER, "local");
	ck_assert_int_eq(IMAPIStatus_FlushQueues(local, 0, 0, NULL, FLUSH_NO_UI | FLUSH_DOWNLOAD),
			 S_OK);
	ck_assert_int_eq(count_files("outbox/new"), 0);
	ck_assert_int_eq(count_files("Maildir/new"), 2);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(local, 0, 0, NULL, FLUSH_NO_UI | FLUSH_UPLOAD),
			 S_OK);
	ck_assert_int_eq(count_files("outbox/new"), 3);
	/* the fax messages were not the local transport's to send */
	ck_assert_uint_eq(queued(MAPISPOOL_QUEUE_OUTBOUND), 2);
	IMAPIStatus_Release(local);
}
END_TEST

START_TEST(error_cases)
{
	LPMAPISTATUS spooler = open_by_type(MAPI_SPOOLER, NULL);
	LPMAPISTATUS store = open_by_type(MAPI_STORE_PROVIDER, NULL);
	LPMAPISTATUS subsystem = open_by_type(MAPI_SUBSYSTEM, NULL);
	LPMAPISTATUS local = open_by_type(MAPI_TRANSPORT_PROVIDER, "local");
	LPMAPISTATUS fax = open_by_type(MAPI_TRANSPORT_PROVIDER, "fax");
	SBinary local_eid, store_eid;
	BYTE junk[5] = { 1, 2, 3, 4, 5 };

	entryid_of(local, &local_eid);
	entryid_of(store, &store_eid);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(store, 0, 0, NULL, FLUSH_NO_UI), MAPI_E_NO_SUPPORT);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(subsystem, 0, 0, NULL, FLUSH_NO_UI),
			 MAPI_E_NO_SUPPORT);
	/* a pipe has no FlushQueues of its own */
	ck_assert_int_eq(IMAPIStatus_FlushQueues(fax, 0, 0, NULL, FLUSH_NO_UI), MAPI_E_NO_SUPPORT);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(local, 0, local_eid.cb,
						 (LPENTRYID)local_eid.lpb, FLUSH_NO_UI),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, FLUSH_NO_UI | 0x1),
			 MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, 0x40000000),
			 MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, sizeof(junk), (LPENTRYID)junk,
						 FLUSH_NO_UI),
			 MAPI_E_INVALID_ENTRYID);
	/* a good entry ID, but not a transport's */
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, store_eid.cb,
						 (LPENTRYID)store_eid.lpb, FLUSH_NO_UI),
			 MAPI_E_NOT_FOUND);
	/* a transport's entry ID with another name */
	local_eid.lpb[local_eid.cb - 1] ^= 0x20;
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, local_eid.cb,
						 (LPENTRYID)local_eid.lpb, FLUSH_NO_UI),
			 MAPI_E_NOT_FOUND);
	free(local_eid.lpb);
	free(store_eid.lpb);
	IMAPIStatus_Release(spooler);
	IMAPIStatus_Release(store);
	IMAPIStatus_Release(subsystem);
	IMAPIStatus_Release(local);
	IMAPIStatus_Release(fax);
}
END_TEST

/* A temporary failure: still queued, with its attempt and error; the
 * flush says which transport failed. */
START_TEST(deferred_then_sent)
{
	LPMAPISTATUS spooler = open_by_type(MAPI_SPOOLER, NULL);
	MAPISPOOL_QUEUE_LIST *list = NULL;
	MAPISPOOL_FLUSH_RESULT *res = NULL;
	ULONG n;

	write_file("fax.exit", "75", 0644);
	submit("FAX", "+331", "try again", S_OK);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, FLUSH_NO_UI | FLUSH_UPLOAD),
			 MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(mapispool_flush_results(spooler, &n, &res), S_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(res[0].hResult, S_OK);
	ck_assert_uint_eq(res[1].cDeferred, 1);
	ck_assert(FAILED(res[1].hResult));
	ck_assert_ptr_nonnull(res[1].lpszError);
	MAPIFreeBuffer(res);
	ck_assert_int_eq(mapispool_queue_list(session, MAPISPOOL_QUEUE_OUTBOUND, NULL, 10, &list,
					      NULL),
			 S_OK);
	ck_assert_uint_eq(list->cEntries, 1);
	ck_assert_uint_eq(list->aEntries[0].cUnits, 1);
	ck_assert_str_eq(list->aEntries[0].lpUnits[0].lpszState, "deferred");
	ck_assert_uint_eq(list->aEntries[0].lpUnits[0].cAttempts, 1);
	ck_assert_ptr_nonnull(strstr(list->aEntries[0].lpUnits[0].lpszLastError, "75"));
	MAPIFreeBuffer(list);
	/* A flush means "try now", deferred or not. */
	remove_file("fax.exit");
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, FLUSH_NO_UI | FLUSH_UPLOAD),
			 S_OK);
	ck_assert_uint_eq(queued(MAPISPOOL_QUEUE_OUTBOUND), 0);
	IMAPIStatus_Release(spooler);
}
END_TEST

/* A permanent failure: a non-delivery report in the store, the message
 * out of the queue. */
START_TEST(failed_makes_report)
{
	LPMAPISTATUS spooler = open_by_type(MAPI_SPOOLER, NULL);

	write_file("fax.exit", "1", 0644);
	submit("FAX", "+332", "never", S_OK);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, FLUSH_NO_UI | FLUSH_UPLOAD),
			 MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(queued(MAPISPOOL_QUEUE_OUTBOUND), 0);
	ck_assert_int_eq(count_files("Maildir/new"), 1);
	ck_assert(some_file_contains("Maildir/new", "multipart/report"));
	ck_assert(some_file_contains("Maildir/new", "+332"));
	IMAPIStatus_Release(spooler);
}
END_TEST

/* No transport takes the address type: a report at once. */
START_TEST(unroutable_recipient)
{
	submit("X400", "c=fr;o=nowhere", "lost", MAPI_W_PARTIAL_COMPLETION);
	ck_assert_int_eq(count_files("Maildir/new"), 1);
	ck_assert(some_file_contains("Maildir/new", "c=fr;o=nowhere"));
	ck_assert_uint_eq(queued(MAPISPOOL_QUEUE_OUTBOUND), 0);
}
END_TEST

/* Offline transports are skipped, unless FLUSH_FORCE. */
START_TEST(offline_and_force)
{
	LPMAPISTATUS spooler = open_by_type(MAPI_SPOOLER, NULL);
	LPMAPISTATUS local = open_by_type(MAPI_TRANSPORT_PROVIDER, "local");
	MAPISPOOL_FLUSH_RESULT *res = NULL;
	ULONG n;

	submit("SMTP", "bob@example.net", "offline", S_OK);
	ck_assert_int_eq(IMAPIStatus_ValidateState(local, 0, FORCE_XP_DISCONNECT), S_OK);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, FLUSH_NO_UI | FLUSH_UPLOAD),
			 MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(mapispool_flush_results(spooler, &n, &res), S_OK);
	ck_assert(res[0].fSkipped);
	MAPIFreeBuffer(res);
	ck_assert_int_eq(count_files("outbox/new"), 0);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL,
						 FLUSH_NO_UI | FLUSH_UPLOAD | FLUSH_FORCE),
			 S_OK);
	ck_assert_int_eq(count_files("outbox/new"), 1);
	ck_assert_int_eq(IMAPIStatus_ValidateState(local, 0, FORCE_XP_CONNECT), S_OK);
	ck_assert_int_eq(IMAPIStatus_ValidateState(local, 0, 0x1000), MAPI_E_UNKNOWN_FLAGS);
	IMAPIStatus_Release(spooler);
	IMAPIStatus_Release(local);
}
END_TEST

static int async_done;
static HRESULT async_hr;

static void
ui_callback(LPVOID ctx, const MAPISPOOL_UI_EVENT *ev)
{
	(void)ctx;
	if (ev->ulKind == MAPISPOOL_UI_FLUSH_DONE) {
		async_done++;
		async_hr = ev->hResult;
	}
}

START_TEST(async_flush)
{
	LPMAPISTATUS spooler = open_by_type(MAPI_SPOOLER, NULL);

	submit("SMTP", "bob@example.net", "async", S_OK);
	ck_assert_int_eq(mapispool_set_ui_callback(session, ui_callback, NULL), S_OK);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL,
						 FLUSH_UPLOAD | FLUSH_ASYNC_OK),
			 S_OK);
	for (int i = 0; i < 100 && async_done == 0; i++)
		ck_assert_int_eq(mapispool_dispatch(session, 100), S_OK);
	ck_assert_int_eq(async_done, 1);
	ck_assert_int_eq(async_hr, S_OK);
	ck_assert_int_eq(count_files("outbox/new"), 1);
	IMAPIStatus_Release(spooler);
}
END_TEST

/* Two clients press the button at once: each is answered, and nothing is
 * sent twice. */
START_TEST(concurrent_flushes_coalesce)
{
	LPMAPISESSION other;
	LPMAPISTATUS spooler = open_by_type(MAPI_SPOOLER, NULL);
	char *fax;
	pid_t pid;
	int st;

	write_file("fax.sleep", "0.2", 0644);
	for (int i = 0; i < 3; i++) {
		char body[32];

		snprintf(body, sizeof(body), "coalesce %d", i);
		submit("FAX", "+33", body, S_OK);
	}
	if ((pid = fork()) == 0) {
		LPMAPISTATUS sp2;

		MAPIInitialize(NULL);
		if (mapispool_logon(d.socket, NULL, 0, &other) != S_OK)
			_exit(2);
		session = other;
		sp2 = open_by_type(MAPI_SPOOLER, NULL);
		_exit(IMAPIStatus_FlushQueues(sp2, 0, 0, NULL, FLUSH_NO_UI | FLUSH_UPLOAD) == S_OK
			      ? 0 : 1);
	}
	usleep(50000);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, FLUSH_NO_UI | FLUSH_UPLOAD),
			 S_OK);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fax = read_file("fax.out");
	for (int i = 0; i < 3; i++) {
		char body[32], *first;

		snprintf(body, sizeof(body), "coalesce %d", i);
		first = strstr(fax, body);
		ck_assert_ptr_nonnull(first);
		ck_assert_ptr_null(strstr(first + 1, body));
	}
	free(fax);
	IMAPIStatus_Release(spooler);
}
END_TEST

static Suite *
flush_suite(void)
{
	Suite *s = suite_create("flush");
	TCase *tc = tcase_create("flush");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, procedure_1_flush_all);
	tcase_add_test(tc, procedure_2_each_transport);
	tcase_add_test(tc, upload_only_and_download_only);
	tcase_add_test(tc, error_cases);
	tcase_add_test(tc, deferred_then_sent);
	tcase_add_test(tc, failed_makes_report);
	tcase_add_test(tc, unroutable_recipient);
	tcase_add_test(tc, offline_and_force);
	tcase_add_test(tc, async_flush);
	tcase_add_test(tc, concurrent_flushes_coalesce);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flush_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
