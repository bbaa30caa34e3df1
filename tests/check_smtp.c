/*
 * check_smtp.c — the smtp transport end to end: a real mapispoold sends
 * through libcurl to tests/smtp_sink.py (aiosmtpd) on loopback, in the
 * clear, with STARTTLS, over smtps and with AUTH; the sink answers 4xx or
 * 5xx when told to, drops connections, or shows a certificate nobody
 * trusts.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

#include "harness.h"
#include "mapi_helpers.h"
#include "servers.h"

/* The profile around the transport's own lines: sent only when flushed,
 * retried quickly. */
static const char config_head[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"socket_mode = 0600\n"
	"retry_min = 50ms\n"
	"retry_max = 200ms\n"
	"[transport:relay]\n"
	"type = smtp\n"
	"address_types = SMTP\n"
	"send = on-demand\n"
	"timeout = 20s\n";

static char ca_dir[PATH_MAX / 4];	/* made once, for every test */
static char scratch[PATH_MAX / 4];	/* per test: the sink's folder, password files */
static struct smtp_server sink;
static struct daemon_handle d;
static bool daemon_up;
static LPMAPISESSION session;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
temp_dir(char *buf, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, len, "%s/%s.XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp", name);
}

static void
setup(void)
{
	temp_dir(scratch, sizeof(scratch), "check_smtp");
	ck_assert_ptr_nonnull(mkdtemp(scratch));
	memset(&sink, 0, sizeof(sink));
	sink.pid = -1;
	daemon_up = false;
	session = NULL;
}

static void
teardown(void)
{
	if (session != NULL) {
		IMAPISession_Logoff(session, 0, 0, 0);
		IMAPISession_Release(session);
		MAPIUninitialize();
	}
	smtp_server_stop(&sink);
	rm_tree(scratch);
	if (daemon_up) {
		ck_assert_msg(harness_alive(&d), "mapispoold died");
		ck_assert_int_eq(harness_stop(&d), 0);
	}
}

/* The sink in scratch/sink; opts as smtp_server_start takes them. */
static void
start_sink(const char *opts, const char *cert)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/sink", scratch);
	ck_assert_int_eq(smtp_server_start(&sink, dir, opts, ca_dir, cert), 0);
}

/* The daemon with the relay's lines (printf-style), logged on. */
static void __attribute__((format(printf, 1, 2)))
start_daemon(const char *fmt, ...)
{
	char lines[2048], config[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lines, sizeof(lines), fmt, ap);
	va_end(ap);
	snprintf(config, sizeof(config), "%s%s", config_head, lines);
	ck_assert_int_eq(harness_start(&d, config), 0);
	daemon_up = true;
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, MAPI_EXTENDED, &session), S_OK);
}

static void
write_secret(const char *name, const char *text)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *
slurp(const char *path)
{
	char *buf;
	FILE *f;
	long n;

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

/* What the sink recorded for its n-th message: "eml" or "json". */
static char *
received(int n, const char *ext)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/received/%d.%s", sink.dir, n, ext);
	return slurp(path);
}

/* The number the sink keeps in its file name: "connections", the
 * connections accepted so far, or "peak", the most MAIL commands it held
 * at once (with mail_delay). */
static int
sink_number(const char *name)
{
	char path[PATH_MAX], *s;
	int n;

	snprintf(path, sizeof(path), "%s/%s", sink.dir, name);
	s = slurp(path);
	n = atoi(s);
	free(s);
	return n;
}

/* How many files the store holds with all three words in them. */
static int
store_count(const char *needle1, const char *needle2, const char *needle3)
{
	char path[PATH_MAX];
	struct dirent *e;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/Maildir/new", d.dir);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		char file[PATH_MAX + 256];
		char *text;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		text = slurp(file);
		n += strstr(text, needle1) != NULL && strstr(text, needle2) != NULL &&
		     strstr(text, needle3) != NULL;
		free(text);
	}
	closedir(dir);
	return n;
}

/* Whether the store holds a file with all three words in it. */
static bool
store_has(const char *needle1, const char *needle2, const char *needle3)
{
	return store_count(needle1, needle2, needle3) > 0;
}

static void
submit_bytes(const char *sender, const char *rcpt1, const char *rcpt2, const char *msg)
{
	MAPISPOOL_RECIPIENT r[2] = { { (LPSTR)rcpt1, (LPSTR)"SMTP" },
				     { (LPSTR)rcpt2, (LPSTR)"SMTP" } };
	HRESULT hr;

	hr = mapispool_submit(session, sender, rcpt2 != NULL ? 2 : 1, r, msg, strlen(msg), NULL,
			      NULL);
	ck_assert_msg(hr == S_OK, "submit: 0x%08x (%s)", (unsigned)hr, mapispool_last_error());
}

static void
submit(const char *sender, const char *rcpt1, const char *rcpt2, const char *body)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "From: %s\r\nTo: %s\r\nSubject: test\r\n\r\n%s\r\n", sender,
		 rcpt1, body);
	submit_bytes(sender, rcpt1, rcpt2, msg);
}

/* FlushQueues on the relay; its per-transport result in *res (if not NULL). */
static HRESULT
flush(ULONG flags, MAPISPOOL_FLUSH_RESULT *res, char *error, size_t errlen)
{
	return mapi_flush_transport(session, "relay", FLUSH_UPLOAD | flags, res, error, errlen);
}

static ULONG
queued(void)
{
	MAPISPOOL_QUEUE_LIST *list = NULL;
	ULONG n;

	ck_assert_int_eq(mapispool_queue_list(session, MAPISPOOL_QUEUE_OUTBOUND, NULL, 1000, &list,
					      NULL),
			 S_OK);
	n = list->cEntries;
	MAPIFreeBuffer(list);
	return n;
}

/* The only queued message's unit: state, attempts, last error. */
static void
assert_unit(const char *state, ULONG attempts, const char *error_part)
{
	MAPISPOOL_QUEUE_LIST *list = NULL;
	const MAPISPOOL_QUEUE_UNIT *u;

	ck_assert_int_eq(mapispool_queue_list(session, MAPISPOOL_QUEUE_OUTBOUND, NULL, 10, &list,
					      NULL),
			 S_OK);
	ck_assert_uint_eq(list->cEntries, 1);
	ck_assert_uint_eq(list->aEntries[0].cUnits, 1);
	u = &list->aEntries[0].lpUnits[0];
	ck_assert_str_eq(u->lpszState, state);
	ck_assert_uint_eq(u->cAttempts, attempts);
	if (error_part != NULL) {
		ck_assert_ptr_nonnull(u->lpszLastError);
		ck_assert_msg(strstr(u->lpszLastError, error_part) != NULL,
			      "last_error \"%s\" lacks \"%s\"", u->lpszLastError, error_part);
	}
	MAPIFreeBuffer(list);
}

static void
assert_log_clean(void)
{
	char *log = harness_log(&d);

	/* the password, and its base64 in AUTH PLAIN and AUTH LOGIN */
	ck_assert_msg(strstr(log, "secret") == NULL, "the password is in the log");
	ck_assert_ptr_null(strstr(log, "AGFsaWNlAHNlY3JldA"));
	ck_assert_ptr_null(strstr(log, "c2VjcmV0"));
	free(log);
}

/* ---- plain SMTP ---- */

START_TEST(sends_exact_bytes)
{
	static const char crlf[] = "From: alice@example.net\r\nTo: bob@example.net\r\n"
				   "Subject: exact\r\n\r\nline one\r\n.\r\n..two dots\r\n"
				   ".one dot\r\nlast\r\n";
	static const char lf[] = "From: alice@example.net\nSubject: bare LF\n\nbody\n.\n";
	MAPISPOOL_FLUSH_RESULT res;
	char *eml, *json;

	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\nhelo = client.test\n", sink.port);
	submit_bytes("alice@example.net", "bob@example.net", "carol@example.org", crlf);
	submit_bytes("", "bob@example.net", NULL, lf);
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), S_OK);
	ck_assert_uint_eq(res.cSent, 2);
	ck_assert_int_eq(smtp_server_count(&sink), 2);
	ck_assert_uint_eq(queued(), 0);

	eml = received(1, "eml");
	ck_assert_str_eq(eml, crlf);
	free(eml);
	json = received(1, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"mail_from\": \"alice@example.net\""));
	ck_assert_ptr_nonnull(
		strstr(json, "\"rcpt_tos\": [\"bob@example.net\", \"carol@example.org\"]"));
	ck_assert_ptr_nonnull(strstr(json, "\"helo\": \"client.test\""));
	ck_assert_ptr_nonnull(strstr(json, "\"tls\": false"));
	free(json);

	/* bare LF made CRLF; the null sender */
	eml = received(2, "eml");
	ck_assert_str_eq(eml, "From: alice@example.net\r\nSubject: bare LF\r\n\r\nbody\r\n.\r\n");
	free(eml);
	json = received(2, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"mail_from\": \"<>\""));
	free(json);
}
END_TEST

START_TEST(one_connection_per_flush)
{
	char *a, *b, *c;

	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\n", sink.port);
	submit("alice@example.net", "bob@example.net", NULL, "one");
	submit("alice@example.net", "carol@example.net", NULL, "two");
	submit("alice@example.net", "dave@example.net", NULL, "three");
	ck_assert_int_eq(flush(FLUSH_NO_UI, NULL, NULL, 0), S_OK);
	ck_assert_int_eq(smtp_server_count(&sink), 3);
	ck_assert_int_eq(sink_number("connections"), 1);
	a = received(1, "json");
	b = received(2, "json");
	c = received(3, "json");
	ck_assert_ptr_nonnull(strstr(a, "\"connection\": 1,"));
	ck_assert_ptr_nonnull(strstr(b, "\"connection\": 1,"));
	ck_assert_ptr_nonnull(strstr(c, "\"connection\": 1,"));
	free(a);
	free(b);
	free(c);
}
END_TEST

/* The only outbound message's envelope as the spool has it, malloc'd. */
static char *
spooled_envelope(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	char *text = NULL;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/spool/outbound", d.dir);
	ck_assert_ptr_nonnull(dir = opendir(path));
	while (text == NULL && (e = readdir(dir)) != NULL) {
		char file[PATH_MAX + 256];

		if (strstr(e->d_name, ".env") == NULL)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		text = harness_slurp(file);
	}
	closedir(dir);
	return text;
}

/* The sink now takes tempfail@: the next flush sends the message to it
 * alone, as the sink's second message, and the queue is empty. */
static void
tempfail_goes_alone(void)
{
	MAPISPOOL_FLUSH_RESULT res;
	char path[PATH_MAX], *json;

	snprintf(path, sizeof(path), "%s/accept", sink.dir);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), S_OK);
	ck_assert_uint_eq(res.cSent, 1);
	ck_assert_uint_eq(queued(), 0);
	ck_assert_int_eq(smtp_server_count(&sink), 2);
	json = received(2, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"rcpt_tos\": [\"tempfail@example.net\"]"));
	free(json);
}

/* 451 to one recipient: the others get the message at once, and it waits
 * for that one alone; once the relay takes it, it goes to it only. */
START_TEST(tempfail_defers_then_sent)
{
	MAPISPOOL_FLUSH_RESULT res;
	char *json, *out = NULL;

	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\n", sink.port);
	submit("alice@example.net", "tempfail@example.net", "bob@example.net", "later");
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(res.cDeferred, 1);
	ck_assert_int_eq(smtp_server_count(&sink), 1);
	json = received(1, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"rcpt_tos\": [\"bob@example.net\"]"));
	free(json);
	assert_unit("deferred", 1, "451");
	/* on disk, bob is done (-2) and tempfail still the relay's (0) */
	ck_assert_ptr_nonnull(out = spooled_envelope());
	ck_assert_msg(strstr(out, "\nrcpt tempfail@example.net SMTP 0\n"
				  "rcpt bob@example.net SMTP -2\n") != NULL, "%s", out);
	free(out);
	ck_assert(!store_has("multipart/report", "", ""));

	tempfail_goes_alone();
}
END_TEST

/* 451, 550 and 250 in one message: sent to the one, a report for the
 * other, and the deferred one kept (across a restart) and sent alone. */
START_TEST(tempfail_permfail_and_taken)
{
	MAPISPOOL_RECIPIENT r[3] = { { (LPSTR)"tempfail@example.net", (LPSTR)"SMTP" },
				     { (LPSTR)"permfail@example.net", (LPSTR)"SMTP" },
				     { (LPSTR)"bob@example.net", (LPSTR)"SMTP" } };
	static const char msg[] = "Subject: three\r\n\r\nthree ways\r\n";
	MAPISPOOL_FLUSH_RESULT res;

	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\n", sink.port);
	ck_assert_int_eq(mapispool_submit(session, "alice@example.net", 3, r, msg,
					  sizeof(msg) - 1, NULL, NULL),
			 S_OK);
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(res.cDeferred, 1);
	ck_assert_int_eq(smtp_server_count(&sink), 1);
	ck_assert_int_eq(store_count("multipart/report", "", ""), 1);
	ck_assert(store_has("Final-Recipient: rfc822; permfail@example.net", "Status: 5.1.1", ""));
	ck_assert(!store_has("multipart/report", "Final-Recipient: rfc822; tempfail@", ""));
	assert_unit("deferred", 1, "451");

	/* the spool has it: a restart changes nothing */
	IMAPISession_Logoff(session, 0, 0, 0);
	IMAPISession_Release(session);
	harness_kill(&d, SIGTERM);
	ck_assert_int_eq(harness_restart(&d), 0);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, MAPI_EXTENDED, &session), S_OK);
	tempfail_goes_alone();
	ck_assert_int_eq(store_count("multipart/report", "", ""), 1);
}
END_TEST

/* 550 to the only recipient, or to the sender: reports in the store. */
START_TEST(permfail_makes_report)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[512];

	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\n", sink.port);
	submit("alice@example.net", "permfail@example.net", NULL, "never");
	submit("rejectmail@example.net", "bob@example.net", NULL, "nor this");
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert_msg(res.cFailed == 2, "sent %u deferred %u failed %u hr %#x: %s",
		      (unsigned)res.cSent, (unsigned)res.cDeferred, (unsigned)res.cFailed,
		      (unsigned)res.hResult, error);
	ck_assert_uint_eq(queued(), 0);
	ck_assert_int_eq(smtp_server_count(&sink), 0);
	ck_assert(store_has("multipart/report", "permfail@example.net", "550 5.1.1"));
	ck_assert(store_has("multipart/report", "bob@example.net", "550 5.7.1"));
}
END_TEST

/* Some refused, some taken: sent to those who were, and a report to the
 * sender for the refused one alone, with the relay's status and words. */
START_TEST(partial_refusal_sends_to_the_rest)
{
	MAPISPOOL_FLUSH_RESULT res;
	char *json, *log;

	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\n", sink.port);
	submit("alice@example.net", "permfail@example.net", "bob@example.net", "half");
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), S_OK);
	ck_assert_uint_eq(res.cSent, 1);
	ck_assert_uint_eq(queued(), 0);
	json = received(1, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"rcpt_tos\": [\"bob@example.net\"]"));
	free(json);
	log = harness_log(&d);
	ck_assert_ptr_nonnull(strstr(log, "took the message for 1 of 2 recipients; refused: "
					  "permfail@example.net: 550"));
	ck_assert_ptr_nonnull(strstr(log, "non-delivery report delivered to the store"));
	free(log);
	ck_assert_int_eq(store_count("multipart/report", "", ""), 1);
	ck_assert(store_has("Final-Recipient: rfc822; permfail@example.net", "Status: 5.1.1",
			    "Diagnostic-Code: smtp; 550 5.1.1"));
	ck_assert(!store_has("multipart/report", "Final-Recipient: rfc822; bob@example.net", ""));
}
END_TEST

START_TEST(connection_refused_defers)
{
	MAPISPOOL_FLUSH_RESULT res;

	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\n", servers_free_port());
	submit("alice@example.net", "bob@example.net", NULL, "nobody home");
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(res.cDeferred, 1);
	assert_unit("deferred", 1, "cannot connect to 127.0.0.1");
}
END_TEST

/* The relay drops the connection in the middle of DATA: nothing lost. */
START_TEST(dropped_mid_data_defers)
{
	MAPISPOOL_FLUSH_RESULT res;

	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\n", sink.port);
	submit("dropmid@example.net", "bob@example.net", NULL, "cut short");
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(res.cDeferred, 1);
	ck_assert_int_eq(smtp_server_count(&sink), 0);
	assert_unit("deferred", 1, "127.0.0.1");
}
END_TEST

/* ---- several messages at once (max_connections) ---- */

#define PARALLEL_MESSAGES 12

static void
submit_many(int n)
{
	for (int i = 0; i < n; i++) {
		char rcpt[64];

		snprintf(rcpt, sizeof(rcpt), "user%d@example.net", i);
		submit("alice@example.net", rcpt, NULL, "one of many");
	}
}

/* Every queued message: state and attempts. */
static void
assert_every_unit(const char *state, ULONG attempts)
{
	MAPISPOOL_QUEUE_LIST *list = NULL;

	ck_assert_int_eq(mapispool_queue_list(session, MAPISPOOL_QUEUE_OUTBOUND, NULL, 1000, &list,
					      NULL),
			 S_OK);
	for (ULONG i = 0; i < list->cEntries; i++) {
		ck_assert_uint_eq(list->aEntries[i].cUnits, 1);
		ck_assert_str_eq(list->aEntries[i].lpUnits[0].lpszState, state);
		ck_assert_uint_eq(list->aEntries[i].lpUnits[0].cAttempts, attempts);
	}
	MAPIFreeBuffer(list);
}

/* The relay holds each reply to MAIL for 300 ms: a flush that sends one
 * message at a time never has two waiting, one that keeps max_connections
 * out has several, and never more.  It answers once every outcome is on
 * disk: nothing of the messages is left in the spool. */
START_TEST(parallel_sends_up_to_max_connections)
{
	MAPISPOOL_FLUSH_RESULT res;
	int peak;

	start_sink("mail_delay=300", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\nmax_connections = 4\n",
		     sink.port);
	submit_many(PARALLEL_MESSAGES);
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), S_OK);
	ck_assert_uint_eq(res.cSent, PARALLEL_MESSAGES);
	ck_assert_int_eq(smtp_server_count(&sink), PARALLEL_MESSAGES);
	peak = sink_number("peak");
	ck_assert_msg(peak >= 2 && peak <= 4, "%d transactions at once", peak);
	ck_assert_int_le(sink_number("connections"), 4);
	ck_assert_uint_eq(queued(), 0);
	ck_assert_int_eq(harness_count_files(d.dir, "spool/outbound"), 0);
}
END_TEST

/* The relay goes away in the middle of a pass, with transactions in
 * flight on several connections: each message is recorded for what it
 * got, sent (and gone from the spool) or deferred after one attempt
 * (queued, on disk), and none is counted sent that the relay lacks. */
START_TEST(relay_dies_mid_pass)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[512];

	/* At most 4 out at once: the 7th MAIL comes only once 3 messages
	 * were answered, and nothing from it on is taken. */
	start_sink("mail_delay=200 die_at=7", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\nmax_connections = 4\n",
		     sink.port);
	submit_many(PARALLEL_MESSAGES);
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert_msg(res.cSent >= 3 && res.cSent <= 6 && res.cFailed == 0 &&
		      res.cSent + res.cDeferred == PARALLEL_MESSAGES,
		      "sent %u deferred %u failed %u: %s", (unsigned)res.cSent,
		      (unsigned)res.cDeferred, (unsigned)res.cFailed, error);
	ck_assert_int_eq(res.hResult, MAPI_E_WAIT);
	ck_assert_int_ge(smtp_server_count(&sink), (int)res.cSent);
	ck_assert_uint_eq(queued(), res.cDeferred);
	assert_every_unit("deferred", 1);
	/* On disk as in memory: two files per message still queued. */
	ck_assert_int_eq(harness_count_files(d.dir, "spool/outbound"), 2 * (int)res.cDeferred);
}
END_TEST

/* ---- TLS ---- */

START_TEST(starttls_required)
{
	char *json;

	start_sink("tls", "server");
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = required\nca_file = %s/ca.pem\n",
		     sink.port, ca_dir);
	submit("alice@example.net", "bob@example.net", NULL, "over STARTTLS");
	ck_assert_int_eq(flush(FLUSH_NO_UI, NULL, NULL, 0), S_OK);
	ck_assert_int_eq(smtp_server_count(&sink), 1);
	json = received(1, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"tls\": true"));
	free(json);
}
END_TEST

START_TEST(starttls_required_but_not_offered)
{
	start_sink("", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = required\nca_file = %s/ca.pem\n",
		     sink.port, ca_dir);
	submit("alice@example.net", "bob@example.net", NULL, "not in the clear");
	ck_assert_int_eq(flush(FLUSH_NO_UI, NULL, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(smtp_server_count(&sink), 0);
	assert_unit("deferred", 1, "STARTTLS");
}
END_TEST

START_TEST(smtps)
{
	char *json;

	start_sink("tls", "server");
	start_daemon("url = smtps://127.0.0.1:%d\nca_file = %s/ca.pem\n", sink.tls_port, ca_dir);
	submit("alice@example.net", "bob@example.net", NULL, "implicit TLS");
	ck_assert_int_eq(flush(FLUSH_NO_UI, NULL, NULL, 0), S_OK);
	ck_assert_int_eq(smtp_server_count(&sink), 1);
	json = received(1, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"tls\": true"));
	free(json);
}
END_TEST

START_TEST(rogue_certificate_starttls)
{
	start_sink("tls", "rogue");
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = required\nca_file = %s/ca.pem\n",
		     sink.port, ca_dir);
	submit("alice@example.net", "bob@example.net", NULL, "not to an impostor");
	ck_assert_int_eq(flush(FLUSH_NO_UI, NULL, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(smtp_server_count(&sink), 0);
	assert_unit("deferred", 1, "TLS: certificate verify failed for 127.0.0.1");
	assert_unit("deferred", 1, "certificate");
}
END_TEST

START_TEST(rogue_certificate_smtps)
{
	start_sink("tls", "rogue");
	start_daemon("url = smtps://127.0.0.1:%d\nca_file = %s/ca.pem\n", sink.tls_port, ca_dir);
	submit("alice@example.net", "bob@example.net", NULL, "not to an impostor");
	ck_assert_int_eq(flush(FLUSH_NO_UI, NULL, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(smtp_server_count(&sink), 0);
	assert_unit("deferred", 1, "TLS: certificate verify failed for 127.0.0.1");
}
END_TEST

/* ---- AUTH ---- */

START_TEST(auth_with_password_file)
{
	char *json, *log;

	start_sink("auth", NULL);
	write_secret("relay.pass", "secret\n");
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\nusername = alice\n"
		     "password_file = %s/relay.pass\n", sink.port, scratch);
	submit("alice@example.net", "bob@example.net", NULL, "authenticated");
	submit("alice@example.net", "carol@example.net", NULL, "same connection");
	ck_assert_int_eq(flush(FLUSH_NO_UI, NULL, NULL, 0), S_OK);
	ck_assert_int_eq(smtp_server_count(&sink), 2);
	ck_assert_int_eq(sink_number("connections"), 1);
	json = received(1, "json");
	ck_assert_ptr_nonnull(strstr(json, "\"auth\": \"alice\""));
	free(json);
	/* The dialogue is logged, the credentials are not. */
	log = harness_log(&d);
	ck_assert_ptr_nonnull(strstr(log, "(authentication data not logged)"));
	free(log);
	assert_log_clean();
}
END_TEST

START_TEST(auth_wrong_password_defers)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[512], *log;

	start_sink("auth", NULL);
	write_secret("relay.pass", "not-the-password\n");
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\nusername = alice\n"
		     "password_file = %s/relay.pass\n", sink.port, scratch);
	submit("alice@example.net", "bob@example.net", NULL, "refused");
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(res.cDeferred, 1);
	ck_assert_ptr_null(strstr(error, "not-the-password"));
	ck_assert_int_eq(smtp_server_count(&sink), 0);
	assert_unit("deferred", 1, "authentication failed");
	log = harness_log(&d);
	ck_assert_ptr_null(strstr(log, "not-the-password"));
	free(log);
}
END_TEST

/* ---- password = prompt ---- */

static int prompts;
static const char *answers[4];	/* what the UI answers, prompt by prompt */

static void
ui_callback(LPVOID ctx, const MAPISPOOL_UI_EVENT *ev)
{
	(void)ctx;
	if (ev->ulKind != MAPISPOOL_UI_PROMPT)
		return;
	ck_assert(ev->fSecret);
	ck_assert_str_eq(ev->lpszTransport, "relay");
	ck_assert_int_lt(prompts, 4);
	ck_assert_int_eq(mapispool_ui_reply(session, ev->ulPromptId, answers[prompts++]), S_OK);
}

static void
start_prompting_with(const char *more)
{
	start_sink("auth", NULL);
	start_daemon("url = smtp://127.0.0.1:%d\nstarttls = no\nusername = alice\n"
		     "password = prompt\n%s", sink.port, more);
	prompts = 0;
}

static void
start_prompting(void)
{
	start_prompting_with("");
}

START_TEST(prompt_without_ui_cancels)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[512];

	start_prompting();
	submit("alice@example.net", "bob@example.net", NULL, "needs a person");
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(res.hResult, MAPI_E_USER_CANCEL);
	ck_assert_msg(strstr(error, "FLUSH_NO_UI") != NULL, "error: %s", error);
	ck_assert_int_eq(smtp_server_count(&sink), 0);
	/* untouched: not even an attempt */
	assert_unit("queued", 0, NULL);
}
END_TEST

START_TEST(prompt_with_ui)
{
	start_prompting();
	answers[0] = "secret";
	ck_assert_int_eq(mapispool_set_ui_callback(session, ui_callback, NULL), S_OK);
	submit("alice@example.net", "bob@example.net", NULL, "asked for");
	ck_assert_int_eq(flush(0, NULL, NULL, 0), S_OK);
	ck_assert_int_eq(prompts, 1);
	ck_assert_int_eq(smtp_server_count(&sink), 1);
	/* remembered: no second prompt */
	submit("alice@example.net", "carol@example.net", NULL, "not asked again");
	ck_assert_int_eq(flush(0, NULL, NULL, 0), S_OK);
	ck_assert_int_eq(prompts, 1);
	ck_assert_int_eq(smtp_server_count(&sink), 2);
	assert_log_clean();
}
END_TEST

/* A refused prompted password is forgotten: the next flush asks again;
 * a cancelled prompt leaves the message as it was. */
START_TEST(prompt_wrong_then_cancel_then_right)
{
	MAPISPOOL_FLUSH_RESULT res;

	start_prompting();
	answers[0] = "wrong";
	answers[1] = NULL;
	answers[2] = "secret";
	ck_assert_int_eq(mapispool_set_ui_callback(session, ui_callback, NULL), S_OK);
	submit("alice@example.net", "bob@example.net", NULL, "third time lucky");
	ck_assert_int_eq(flush(0, &res, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(res.cDeferred, 1);
	assert_unit("deferred", 1, "authentication failed");
	ck_assert_int_eq(flush(0, &res, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(res.hResult, MAPI_E_USER_CANCEL);
	assert_unit("deferred", 1, NULL);
	ck_assert_int_eq(flush(0, NULL, NULL, 0), S_OK);
	ck_assert_int_eq(prompts, 3);
	ck_assert_int_eq(smtp_server_count(&sink), 1);
	ck_assert_uint_eq(queued(), 0);
	assert_log_clean();
}
END_TEST

/* Several messages out at once all need the password: one prompt, and
 * without a person to ask, none is touched. */
START_TEST(prompt_once_for_parallel_sends)
{
	MAPISPOOL_FLUSH_RESULT res;

	start_prompting_with("max_connections = 4\n");
	submit_many(3);
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, NULL, 0), MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(res.hResult, MAPI_E_USER_CANCEL);
	ck_assert_uint_eq(res.cDeferred, 0);
	assert_every_unit("queued", 0);
	ck_assert_uint_eq(queued(), 3);

	answers[0] = "secret";
	ck_assert_int_eq(mapispool_set_ui_callback(session, ui_callback, NULL), S_OK);
	ck_assert_int_eq(flush(0, &res, NULL, 0), S_OK);
	ck_assert_uint_eq(res.cSent, 3);
	ck_assert_int_eq(prompts, 1);
	ck_assert_int_eq(smtp_server_count(&sink), 3);
	ck_assert_uint_eq(queued(), 0);
	assert_log_clean();
}
END_TEST

static Suite *
smtp_suite(void)
{
	Suite *s = suite_create("smtp");
	TCase *plain = tcase_create("plain"), *tls = tcase_create("tls");
	TCase *auth = tcase_create("auth");

	tcase_add_checked_fixture(plain, setup, teardown);
	tcase_set_timeout(plain, 60);
	tcase_add_test(plain, sends_exact_bytes);
	tcase_add_test(plain, one_connection_per_flush);
	tcase_add_test(plain, tempfail_defers_then_sent);
	tcase_add_test(plain, permfail_makes_report);
	tcase_add_test(plain, partial_refusal_sends_to_the_rest);
	tcase_add_test(plain, tempfail_permfail_and_taken);
	tcase_add_test(plain, connection_refused_defers);
	tcase_add_test(plain, dropped_mid_data_defers);
	tcase_add_test(plain, parallel_sends_up_to_max_connections);
	tcase_add_test(plain, relay_dies_mid_pass);
	suite_add_tcase(s, plain);

	tcase_add_checked_fixture(tls, setup, teardown);
	tcase_set_timeout(tls, 60);
	tcase_add_test(tls, starttls_required);
	tcase_add_test(tls, starttls_required_but_not_offered);
	tcase_add_test(tls, smtps);
	tcase_add_test(tls, rogue_certificate_starttls);
	tcase_add_test(tls, rogue_certificate_smtps);
	suite_add_tcase(s, tls);

	tcase_add_checked_fixture(auth, setup, teardown);
	tcase_set_timeout(auth, 60);
	tcase_add_test(auth, auth_with_password_file);
	tcase_add_test(auth, auth_wrong_password_defers);
	tcase_add_test(auth, prompt_without_ui_cancels);
	tcase_add_test(auth, prompt_with_ui);
	tcase_add_test(auth, prompt_wrong_then_cancel_then_right);
	tcase_add_test(auth, prompt_once_for_parallel_sends);
	suite_add_tcase(s, auth);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	temp_dir(ca_dir, sizeof(ca_dir), "check_smtp_ca");
	if (mkdtemp(ca_dir) == NULL || servers_make_ca(ca_dir) == -1) {
		fprintf(stderr, "check_smtp: cannot make the test CA in %s\n", ca_dir);
		return 99;
	}
	sr = srunner_create(smtp_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_tree(ca_dir);
	return failed == 0 ? 0 : 1;
}
