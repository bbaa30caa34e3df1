/*
 * check_queue.c — submission and the queues against a real daemon: the
 * message.submit checks, listing with a cursor, hold / release / remove,
 * the send modes and retries, through the library, mapispoolctl and the
 * raw protocol.
 */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

#include "harness.h"
#include "mapi_helpers.h"

static const char queue_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"max_message_size = 4K\n"
	"retry_min = 50ms\n"
	"retry_max = 100ms\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n"
	"address_types = SMTP\n"
	"send = on-demand\n"
	"[transport:now]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/now\n"
	"address_types = NOW\n"
	"send = immediate\n"
	"[transport:later]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/later\n"
	"address_types = LATER\n"
	"send = scheduled\n"
	"schedule = 200ms\n"
	"[transport:inbox]\n"
	"type = maildir\n"
	"pickup = @DIR@/dropbox\n"
	"poll = 200ms\n"
	"[transport:flaky]\n"
	"type = pipe\n"
	"command = @DIR@/flaky.sh\n"
	"address_types = FLAKY\n"
	"send = immediate\n";

/* Fails (75) twice, then takes the message. */
static const char flaky_script[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"n=$(cat \"$d/flaky.count\" 2>/dev/null || echo 0)\n"
	"echo $((n + 1)) > \"$d/flaky.count\"\n"
	"cat > /dev/null\n"
	"[ \"$n\" -lt 2 ] && exit 75\n"
	"touch \"$d/flaky.done\"\n"
	"exit 0\n";

static struct daemon_handle d;
static LPMAPISESSION session;

static void
setup(void)
{
	char path[PATH_MAX];
	FILE *f;

	ck_assert_int_eq(harness_start(&d, queue_config), 0);
	snprintf(path, sizeof(path), "%s/flaky.sh", d.dir);
	f = fopen(path, "w");
	fputs(flaky_script, f);
	fclose(f);
	chmod(path, 0755);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, 0, &session), S_OK);
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

static int
count_files(const char *sub)
{
	return harness_count_files(d.dir, sub);
}

/* Wait (5 s at most) until sub holds n files. */
static bool
wait_files(const char *sub, int n)
{
	for (int i = 0; i < 500; i++) {
		if (count_files(sub) == n)
			return true;
		usleep(10000);
	}
	return false;
}

static char *
submit(const char *addrtype, const char *rcpt, HRESULT want)
{
	MAPISPOOL_RECIPIENT r = { (LPSTR)rcpt, (LPSTR)addrtype };
	static const char msg[] = "Subject: q\n\nbody\n";
	LPSTR id = NULL;
	char *copy;
	HRESULT hr;

	hr = mapispool_submit(session, "alice@example.net", 1, &r, msg, sizeof(msg) - 1, &id,
			      NULL);
	ck_assert_msg(hr == want, "submit: 0x%08x (%s)", (unsigned)hr, mapispool_last_error());
	copy = id ? strdup(id) : NULL;
	MAPIFreeBuffer(id);
	return copy;
}

static json_object *
rpc(int fd, const char *line)
{
	char *reply;
	json_object *j;

	ck_assert_int_eq(harness_send(fd, line, strlen(line)), 0);
	ck_assert_int_eq(harness_send(fd, "\n", 1), 0);
	ck_assert_ptr_nonnull(reply = harness_readline(fd, 5000));
	j = json_tokener_parse(reply);
	free(reply);
	ck_assert_ptr_nonnull(j);
	return j;
}

static const char *
hr_name_of(json_object *j)
{
	return json_object_get_string(json_object_object_get(j, "hr_name"));
}

START_TEST(submit_checks)
{
	int fd = harness_connect(&d);
	json_object *j;
	char big[5000];

	static const struct {
		const char *line, *hr;
	} cases[] = {
		{ "{\"id\":1,\"op\":\"message.submit\",\"recipients\":[],\"data\":\"x\"}",
		  "MAPI_E_NO_RECIPIENTS" },
		{ "{\"id\":2,\"op\":\"message.submit\",\"data\":\"x\"}", "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":3,\"op\":\"message.submit\",\"recipients\":[{\"address\":\"b@x\"}]}",
		  "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":4,\"op\":\"message.submit\",\"recipients\":[{\"address\":\"b@x\"}],"
		  "\"data\":\"x\",\"data_base64\":\"eA==\"}", "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":5,\"op\":\"message.submit\",\"recipients\":[{\"address\":\"b@x\"}],"
		  "\"data_base64\":\"!!!\"}", "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":6,\"op\":\"message.submit\",\"recipients\":[\"b@x\"],\"data\":\"x\"}",
		  "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":7,\"op\":\"message.submit\",\"recipients\":[{\"address\":\"\"}],"
		  "\"data\":\"x\"}", "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":8,\"op\":\"message.submit\",\"recipients\":[{\"address\":\"b@x\\n\"}],"
		  "\"data\":\"x\"}", "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":9,\"op\":\"message.submit\",\"sender\":7,\"recipients\":"
		  "[{\"address\":\"b@x\"}],\"data\":\"x\"}", "MAPI_E_INVALID_PARAMETER" },
		{ "{\"id\":10,\"op\":\"message.submit\",\"recipients\":[{\"address\":\"b@x\"}],"
		  "\"data_base64\":\"SGVsbG8K\"}", "S_OK" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = rpc(fd, cases[i].line);
		ck_assert_msg(strcmp(hr_name_of(j), cases[i].hr) == 0, "%s: %s", cases[i].line,
			      json_object_to_json_string(j));
		json_object_put(j);
	}
	/* max_message_size = 4K */
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(mapispool_submit(session, "", 1,
					  &(MAPISPOOL_RECIPIENT){ "b@x", NULL }, big,
					  sizeof(big), NULL, NULL),
			 MAPI_E_TOO_BIG);
	close(fd);
}
END_TEST

START_TEST(list_pages)
{
	MAPISPOOL_QUEUE_LIST *list = NULL;
	char *ids[5];
	LPSTR next = NULL, cursor = NULL;
	size_t seen = 0;

	for (int i = 0; i < 5; i++)
		ids[i] = submit("SMTP", "bob@example.net", S_OK);
	do {
		ck_assert_int_eq(mapispool_queue_list(session, MAPISPOOL_QUEUE_OUTBOUND, cursor, 2,
						      &list, &next),
				 S_OK);
		ck_assert_uint_le(list->cEntries, 2);
		for (ULONG i = 0; i < list->cEntries; i++, seen++) {
			MAPISPOOL_QUEUE_ENTRY *e = &list->aEntries[i];

			/* queue order is submission order */
			ck_assert_str_eq(e->lpszId, ids[seen]);
			ck_assert_str_eq(e->lpszSender, "alice@example.net");
			ck_assert_uint_eq(e->cUnits, 1);
			ck_assert_str_eq(e->lpUnits[0].lpszTransport, "local");
			ck_assert_str_eq(e->lpUnits[0].lpszState, "queued");
			ck_assert_str_eq(e->lpRecipients[0].lpszAddress, "bob@example.net");
		}
		MAPIFreeBuffer(list);
		MAPIFreeBuffer(cursor);
		cursor = next;
	} while (cursor != NULL);
	ck_assert_uint_eq(seen, 5);
	for (int i = 0; i < 5; i++)
		free(ids[i]);
}
END_TEST

START_TEST(hold_release_remove)
{
	char *a = submit("SMTP", "bob@example.net", S_OK);
	char *b = submit("SMTP", "carol@example.net", S_OK);
	LPMAPITABLE table;
	LPSRowSet rows = NULL;
	LPMAPISTATUS local = NULL;
	SizedSPropTagArray(2, cols) = { 2, { PR_ENTRYID, PR_DISPLAY_NAME_A } };
	ULONG type;

	ck_assert_int_eq(mapispool_queue_hold(session, a, NULL), S_OK);
	ck_assert_int_eq(mapispool_queue_hold(session, "0123456789abcdef0123", NULL),
			 MAPI_E_NOT_FOUND);
	ck_assert_int_eq(mapispool_queue_hold(session, b, "nosuch"), MAPI_E_NOT_FOUND);
	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, NULL, NULL, 0, &rows), S_OK);
	ck_assert_int_eq(IMAPISession_OpenEntry(session, rows->aRow[3].lpProps[0].Value.bin.cb,
						(LPENTRYID)rows->aRow[3].lpProps[0].Value.bin.lpb,
						NULL, 0, &type, (LPUNKNOWN *)&local),
			 S_OK);
	ck_assert_str_eq(rows->aRow[3].lpProps[1].Value.lpszA, "local");
	/* held stays held through a flush */
	ck_assert_int_eq(IMAPIStatus_FlushQueues(local, 0, 0, NULL, FLUSH_NO_UI), S_OK);
	ck_assert_int_eq(count_files("outbox/new"), 1);
	ck_assert_int_eq(mapispool_queue_release(session, a, "local"), S_OK);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(local, 0, 0, NULL, FLUSH_NO_UI), S_OK);
	ck_assert_int_eq(count_files("outbox/new"), 2);

	free(a);
	a = submit("SMTP", "dave@example.net", S_OK);
	ck_assert_int_eq(mapispool_queue_remove(session, a), S_OK);
	ck_assert_int_eq(mapispool_queue_remove(session, a), MAPI_E_NOT_FOUND);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(local, 0, 0, NULL, FLUSH_NO_UI), S_OK);
	ck_assert_int_eq(count_files("outbox/new"), 2);
	FreeProws(rows);
	IMAPIStatus_Release(local);
	IMAPITable_Release(table);
	free(a);
	free(b);
}
END_TEST

/* Send modes and polling, with no flush at all. */
START_TEST(send_modes)
{
	char path[PATH_MAX];
	FILE *f;

	free(submit("NOW", "x@now", S_OK));
	ck_assert(wait_files("now/new", 1));
	free(submit("LATER", "x@later", S_OK));
	ck_assert(wait_files("later/new", 1));
	/* on-demand waits for a flush */
	free(submit("SMTP", "x@local", S_OK));
	usleep(300000);
	ck_assert_int_eq(count_files("outbox/new"), 0);
	/* poll = 200ms picks up into the store */
	snprintf(path, sizeof(path), "%s/dropbox/new/m1", d.dir);
	f = fopen(path, "w");
	fputs("Subject: hello\n\nin\n", f);
	fclose(f);
	ck_assert(wait_files("Maildir/new", 1));
	ck_assert_int_eq(count_files("dropbox/new"), 0);
}
END_TEST

/* Deferred twice, then sent, by the retry timer alone. */
START_TEST(retries_with_backoff)
{
	char path[PATH_MAX];

	free(submit("FLAKY", "x@flaky", S_OK));
	snprintf(path, sizeof(path), "%s/flaky.done", d.dir);
	for (int i = 0; i < 500 && access(path, F_OK) == -1; i++)
		usleep(10000);
	ck_assert_int_eq(access(path, F_OK), 0);
	for (int i = 0; i < 100; i++) {
		MAPISPOOL_QUEUE_LIST *list = NULL;
		ULONG n;

		ck_assert_int_eq(mapispool_queue_list(session, MAPISPOOL_QUEUE_OUTBOUND, NULL, 10,
						      &list, NULL),
				 S_OK);
		n = list->cEntries;
		MAPIFreeBuffer(list);
		if (n == 0)
			return;
		usleep(10000);
	}
	ck_abort_msg("the message stayed queued after it was sent");
}
END_TEST

/* mapispoolctl submit and queue, and their JSON. */
START_TEST(ctl_submit_and_queue)
{
	char *out = NULL;
	json_object *j;

	ck_assert_int_eq(harness_ctl(&d, &out, "Subject: ctl\n\nfrom ctl\n", "--json", "submit",
				     "-f", "alice@example.net", "bob@example.net", NULL),
			 0);
	j = json_tokener_parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_nonnull(json_object_object_get(j, "message_id"));
	json_object_put(j);
	free(out);
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "--json", "queue", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "bob@example.net"));
	ck_assert_ptr_nonnull(strstr(out, "\"queued\""));
	free(out);
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "flush", "--no-ui", NULL), 0);
	free(out);
	ck_assert_int_eq(count_files("outbox/new"), 1);
}
END_TEST


/* ---- policy: domains, expiry, offline across restarts, back-off ---- */

static const char policy_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"retry_min = 50ms\n"
	"retry_max = 100ms\n"
	"max_lifetime = 1500ms\n"
	"notify_delay = 500ms\n"
	"[transport:corp]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/corp\n"
	"address_types = SMTP\n"
	"domains = example.com, Example.ORG\n"
	"send = on-demand\n"
	"[transport:other]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/other\n"
	"address_types = SMTP\n"
	"send = on-demand\n"
	"[transport:dead]\n"
	"type = pipe\n"
	"command = @DIR@/dead.sh\n"
	"address_types = DEAD\n"
	"send = on-demand\n";

static void
setup_policy(void)
{
	char path[PATH_MAX];
	FILE *f;

	ck_assert_int_eq(harness_start(&d, policy_config), 0);
	snprintf(path, sizeof(path), "%s/dead.sh", d.dir);
	f = fopen(path, "w");
	fputs("#!/bin/sh\ncat > /dev/null\nexit 75\n", f);
	fclose(f);
	chmod(path, 0755);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, 0, &session), S_OK);
}

static ULONG
status_code_of(LPMAPISTATUS st)
{
	SizedSPropTagArray(1, tags) = { 1, { PR_STATUS_CODE } };
	LPSPropValue pv = NULL;
	ULONG n, code;

	ck_assert_int_eq(IMAPIStatus_GetProps(st, (LPSPropTagArray)&tags, 0, &n, &pv), S_OK);
	code = pv[0].Value.ul;
	MAPIFreeBuffer(pv);
	return code;
}

START_TEST(domains_route)
{
	LPMAPISTATUS corp, other;

	free(submit("SMTP", "a@example.com", S_OK));
	free(submit("SMTP", "b@EXAMPLE.org", S_OK));
	free(submit("SMTP", "c@elsewhere.net", S_OK));
	corp = mapi_open_status(session, "corp");
	other = mapi_open_status(session, "other");
	ck_assert_int_eq(IMAPIStatus_FlushQueues(corp, 0, 0, NULL, FLUSH_NO_UI), S_OK);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(other, 0, 0, NULL, FLUSH_NO_UI), S_OK);
	ck_assert_int_eq(count_files("corp/new"), 2);
	ck_assert_int_eq(count_files("other/new"), 1);
	IMAPIStatus_Release(corp);
	IMAPIStatus_Release(other);
}
END_TEST

/* notify_delay: a delay notice; max_lifetime: then the report. */
START_TEST(lifetime_expires)
{
	char cmd[PATH_MAX * 2];

	free(submit("SMTP", "late@elsewhere.net", S_OK));
	ck_assert(wait_files("Maildir/new", 1));
	snprintf(cmd, sizeof(cmd), "grep -q 'Action: delayed' %s/Maildir/new/*", d.dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert(wait_files("Maildir/new", 2));
	snprintf(cmd, sizeof(cmd), "grep -l 'Status: 5.4.7' %s/Maildir/new/* | grep -q .", d.dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(count_files("other/new"), 0);
}
END_TEST

/* Offline survives a restart. */
START_TEST(offline_survives_restart)
{
	LPMAPISTATUS corp = mapi_open_status(session, "corp");

	ck_assert_int_eq(IMAPIStatus_ValidateState(corp, 0, FORCE_XP_DISCONNECT), S_OK);
	ck_assert(status_code_of(corp) & STATUS_OFFLINE);
	IMAPIStatus_Release(corp);
	IMAPISession_Logoff(session, 0, 0, 0);
	IMAPISession_Release(session);
	usleep(200000); /* the saved state is written on the worker pool */
	harness_kill(&d, SIGTERM);
	ck_assert_int_eq(harness_restart(&d), 0);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, 0, &session), S_OK);
	corp = mapi_open_status(session, "corp");
	ck_assert(status_code_of(corp) & STATUS_OFFLINE);
	ck_assert_int_eq(IMAPIStatus_ValidateState(corp, 0, FORCE_XP_CONNECT), S_OK);
	ck_assert(!(status_code_of(corp) & STATUS_OFFLINE));
	IMAPIStatus_Release(corp);
}
END_TEST

/* A transport that keeps failing backs off as a whole: STATUS_FAILURE, and
 * flushes skip it unless FLUSH_FORCE. */
START_TEST(failing_transport_backs_off)
{
	LPMAPISTATUS spooler_dead = mapi_open_status(session, "dead");
	LPMAPITABLE table;
	LPMAPISTATUS spooler = NULL;
	LPSRowSet rows = NULL;
	MAPISPOOL_FLUSH_RESULT *res = NULL;
	SizedSPropTagArray(1, cols) = { 1, { PR_ENTRYID } };
	SPropValue spv = { .ulPropTag = PR_RESOURCE_TYPE, .Value.l = MAPI_SPOOLER };
	SRestriction r = { .rt = RES_PROPERTY, .res.resProperty = { RELOP_EQ, PR_RESOURCE_TYPE, &spv } };
	ULONG type, n;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, &r, NULL, 0, &rows), S_OK);
	ck_assert_int_eq(IMAPISession_OpenEntry(session, rows->aRow[0].lpProps[0].Value.bin.cb,
						(LPENTRYID)rows->aRow[0].lpProps[0].Value.bin.lpb,
						NULL, 0, &type, (LPUNKNOWN *)&spooler),
			 S_OK);
	FreeProws(rows);
	IMAPITable_Release(table);
	free(submit("DEAD", "x", S_OK));
	/* three passes in a row, each deferring */
	for (int i = 0; i < 3; i++) {
		SBinary eid;
		SizedSPropTagArray(1, t) = { 1, { PR_ENTRYID } };
		LPSPropValue pv = NULL;

		ck_assert_int_eq(IMAPIStatus_GetProps(spooler_dead, (LPSPropTagArray)&t, 0, &n, &pv),
				 S_OK);
		eid = pv[0].Value.bin;
		ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, eid.cb, (LPENTRYID)eid.lpb,
							 FLUSH_NO_UI | FLUSH_FORCE),
				 MAPI_W_ERRORS_RETURNED);
		MAPIFreeBuffer(pv);
	}
	ck_assert(status_code_of(spooler_dead) & STATUS_FAILURE);
	/* a flush of everything now skips it */
	ck_assert_int_eq(IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, FLUSH_NO_UI),
			 MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(mapispool_flush_results(spooler, &n, &res), S_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert(res[2].fSkipped);
	ck_assert_ptr_nonnull(strstr(res[2].lpszError, "backing off"));
	MAPIFreeBuffer(res);
	IMAPIStatus_Release(spooler_dead);
	IMAPIStatus_Release(spooler);
}
END_TEST


/* Hold and release by domain or transport; flush one message only. */
START_TEST(select_by_domain_transport_message)
{
	char *a = submit("SMTP", "x@example.com", S_OK);
	char *b = submit("SMTP", "y@elsewhere.net", S_OK);
	char *c = submit("SMTP", "z@elsewhere.net", S_OK);
	char *out = NULL;
	ULONG n = 0;

	/* hold everything for example.com: only a */
	ck_assert_int_eq(mapispool_queue_select(session, MAPISPOOL_ACTION_HOLD, NULL, NULL,
						"EXAMPLE.com", &n),
			 S_OK);
	ck_assert_uint_eq(n, 1);
	/* flush one message: only b goes, though "other" sends on demand */
	ck_assert_int_eq(mapispool_queue_select(session, MAPISPOOL_ACTION_FLUSH, b, NULL, NULL,
						&n),
			 S_OK);
	ck_assert(wait_files("other/new", 1));
	usleep(200000);
	ck_assert_int_eq(count_files("other/new"), 1);
	ck_assert_int_eq(count_files("corp/new"), 0);
	/* flush by transport: the held one stays held */
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "queue", "flush", "--transport", "corp",
				     NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "1 message flushed"));
	free(out);
	usleep(200000);
	ck_assert_int_eq(count_files("corp/new"), 0);
	/* release by domain, then flush by domain */
	ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "queue", "release", "--domain", "example.com",
				     NULL),
			 0);
	ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "queue", "flush", "--domain",
				     "example.com", NULL),
			 0);
	ck_assert(wait_files("corp/new", 1));
	/* c is still queued, untouched */
	ck_assert_int_eq(mapispool_queue_select(session, MAPISPOOL_ACTION_HOLD, c, "other", NULL,
						&n),
			 S_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(mapispool_queue_select(session, MAPISPOOL_ACTION_HOLD, NULL, "nosuch",
						NULL, &n),
			 MAPI_E_NOT_FOUND);
	ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "queue", "hold", NULL), 64);
	free(a);
	free(b);
	free(c);
}
END_TEST

/* ---- The delay notice goes out once, restarts included ---- */

static const char notice_config[] =
	"[spooler]\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"notify_delay = 200ms\n"
	"[transport:later]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/later\n"
	"send = on-demand\n";

/* The id's .env, once the unit's flags say its notice is stored. */
static bool
wait_warned(const char *id)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/spool/outbound/%s.env", d.dir, id);
	for (int i = 0; i < 500; i++) {
		char *text = harness_slurp(path);
		bool warned = text != NULL && strstr(text, "\nunit later queued 2 ") != NULL;

		free(text);
		if (warned)
			return true;
		usleep(10000);
	}
	return false;
}

START_TEST(delay_notice_once)
{
	char *id;

	ck_assert_int_eq(harness_start(&d, notice_config), 0);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, 0, &session), S_OK);
	id = submit("SMTP", "slow@example.net", S_OK);
	ck_assert(wait_files("Maildir/new", 1));
	ck_assert(wait_warned(id));
	IMAPISession_Logoff(session, 0, 0, 0);
	IMAPISession_Release(session);
	session = NULL;
	harness_kill(&d, SIGTERM);
	ck_assert_int_eq(harness_restart(&d), 0);
	/* Still queued and long past notify_delay: no second notice.  (The
	 * expiry check runs at start, after recovery; give it time.) */
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, 0, &session), S_OK);
	usleep(600000);
	ck_assert_int_eq(count_files("Maildir/new"), 1);
	ck_assert_int_eq(harness_count_files(d.dir, "spool/outbound"), 2);
	free(id);
	teardown();
}
END_TEST

/* ---- A big spool is read while the daemon serves ---- */

#define BIG_SPOOL 3000		/* more than one recovery chunk (1024) */

static const char recovery_config[] =
	"[spooler]\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n"
	"send = on-demand\n";

/* n messages of the local transport, written as doc/spool.md says. */
static void
write_spool(const char *dir, int n)
{
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX], head[512];
		static const char body[] = "Subject: big spool\r\n\r\nhello\r\n";
		int len;
		FILE *f;

		len = snprintf(head, sizeof(head),
			       "mapispool-envelope 1\nid 0190a1b2c3d4%08x\nqueue outbound\n"
			       "queued %lld\nsize %zu\nsender a@example.net\n"
			       "rcpt b@example.net SMTP 0\nunit local queued 0 0 0 -\nend\n",
			       (unsigned)i, (long long)time(NULL) * 1000, sizeof(body) - 1);
		snprintf(path, sizeof(path), "%s/spool/outbound/0190a1b2c3d4%08x.msg", dir,
			 (unsigned)i);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		ck_assert_uint_eq(fwrite(head, 1, (size_t)len, f), (size_t)len);
		ck_assert_uint_eq(fwrite(body, 1, sizeof(body) - 1, f), sizeof(body) - 1);
		ck_assert_int_eq(fclose(f), 0);
	}
}

START_TEST(big_spool_read_while_serving)
{
	char *out = NULL, *log;

	ck_assert_int_eq(harness_start(&d, recovery_config), 0);
	harness_kill(&d, SIGTERM);
	write_spool(d.dir, BIG_SPOOL);

	/* Stopped in the middle of its recovery, the daemon leaves the
	 * spool as it found it. */
	ck_assert_int_eq(harness_restart(&d), 0);
	harness_kill(&d, SIGTERM);
	ck_assert_int_eq(harness_count_files(d.dir, "spool/outbound"), BIG_SPOOL);

	/* It answers before the queue is whole; a flush asked for at once
	 * waits for it and sends every message. */
	ck_assert_int_eq(harness_restart(&d), 0);
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "flush", "--no-ui", "--json", NULL), 0);
	log = harness_log(&d);
	/* (The log's end, as a Check message is bounded.) */
	ck_assert_msg(strstr(out, "\"sent\":3000") != NULL, "%s\n%s", out,
		      log + (strlen(log) > 1500 ? strlen(log) - 1500 : 0));
	free(log);
	free(out);
	ck_assert_int_eq(harness_count_files(d.dir, "outbox/new"), BIG_SPOOL);
	log = harness_log(&d);
	ck_assert_msg(strstr(log, "recovering 3000 messages while serving") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "3000 outbound, 0 inbound messages recovered") != NULL, "%s",
		      log);
	free(log);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, submit_checks);
	tcase_add_test(tc, list_pages);
	tcase_add_test(tc, hold_release_remove);
	tcase_add_test(tc, send_modes);
	tcase_add_test(tc, retries_with_backoff);
	tcase_add_test(tc, ctl_submit_and_queue);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_checked_fixture(tc, setup_policy, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, domains_route);
	tcase_add_test(tc, lifetime_expires);
	tcase_add_test(tc, offline_survives_restart);
	tcase_add_test(tc, failing_transport_backs_off);
	tcase_add_test(tc, select_by_domain_transport_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("notice");
	tcase_add_test(tc, delay_notice_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("recovery");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, big_spool_read_while_serving);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(queue_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
