/*
 * check_report.c — non-delivery reports: the RFC 5322 header, the three
 * parts of the multipart/report, each recipient's delivery status, the
 * original headers without the body, and values that try to break out of
 * their header line.
 */
#include <config.h>

#include <check.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char orig[PATH_MAX];
static struct qmsg msg;

static void
setup(void)
{
	snprintf(orig, sizeof(orig), "/tmp/check_report.XXXXXX");
	int fd = mkstemp(orig);

	ck_assert_int_ne(fd, -1);
	close(fd);
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.id, "0123456789abcdef0123", SPOOL_ID_LEN + 1);
	msg.queued = 1700000000000LL;	/* Tue, 14 Nov 2023 22:13:20 +0000 */
	msg.sender = "alice@example.org";
}

static void
teardown(void)
{
	unlink(orig);
}

static void
write_orig(const char *text)
{
	FILE *f = fopen(orig, "wb");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* The report as a string (it holds no NUL here). */
static char *
build(const char *orig_path, const struct report_rcpt *r, size_t n)
{
	size_t len = 0;
	char *out = report_build_ndr(&msg, orig_path, r, n, &len);

	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static int
occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
assert_match(const char *text, const char *pattern)
{
	regex_t re;

	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "no match for %s in:\n%s", pattern,
		      text);
	regfree(&re);
}

/* "\n--BOUNDARY\n", from the Content-Type parameter. */
static void
boundary_of(const char *text, char *delim, size_t len)
{
	const char *b = strstr(text, "boundary=\"");
	const char *e;

	ck_assert_ptr_nonnull(b);
	b += strlen("boundary=\"");
	e = strchr(b, '"');
	ck_assert_ptr_nonnull(e);
	ck_assert_int_gt((int)(e - b), 0);
	ck_assert_int_lt((int)(e - b), 71);	/* RFC 2046 */
	snprintf(delim, len, "\n--%.*s\n", (int)(e - b), b);
}

/* Part i (0-based) of the report: from after its delimiter to the next. */
static char *
part(const char *text, const char *delim, int i)
{
	const char *p = text;
	const char *end;
	char close[128];

	for (int k = 0; k <= i; k++) {
		p = strstr(p, delim);
		ck_assert_ptr_nonnull(p);
		p += strlen(delim);
	}
	snprintf(close, sizeof(close), "%.*s--\n", (int)strlen(delim) - 1, delim);
	end = strstr(p, delim);
	if (end == NULL)
		end = strstr(p, close);
	ck_assert_ptr_nonnull(end);
	return strndup(p, (size_t)(end - p));
}

static const struct report_rcpt two[] = {
	{ "bob@example.net", "SMTP", "5.1.1", "550 5.1.1 <bob@example.net>: no such user" },
	{ "+15551234", "FAX", "5.4.7", "no answer after 3 tries" },
};

START_TEST(structure)
{
	char delim[128];
	char *r, *p;

	write_orig("Subject: the original\r\nFrom: alice@example.org\r\n"
		   "X-Long: folded\r\n\tcontinuation\r\n\r\nTHE BODY\r\nmore body\r\n");
	r = build(orig, two, 2);

	ck_assert(strncmp(r, "From: Mail Delivery System <MAILER-DAEMON@", 42) == 0);
	assert_match(r, "^To: <alice@example\\.org>$");
	assert_match(r, "^Subject: Undelivered Mail Returned to Sender$");
	assert_match(r, "^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
			"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
			"[0-9]{2}:[0-9]{2}:[0-9]{2} \\+0000$");
	assert_match(r, "^Message-ID: <[^<>@ ]+@[A-Za-z0-9.-]+>$");
	assert_match(r, "^MIME-Version: 1\\.0$");
	assert_match(r, "^Content-Type: multipart/report; report-type=delivery-status;$");
	assert_match(r, "^Auto-Submitted: auto-replied$");
	ck_assert_ptr_null(strchr(r, '\r'));

	/* the header ends before the first part */
	boundary_of(r, delim, sizeof(delim));
	ck_assert_ptr_nonnull(strstr(r, "\n\n"));
	ck_assert(strstr(r, "\n\n") < strstr(r, delim));
	ck_assert_int_eq(occurrences(r, delim), 3);
	{
		char close[128];

		snprintf(close, sizeof(close), "%.*s--\n", (int)strlen(delim) - 1, delim);
		ck_assert_int_eq(occurrences(r, close), 1);
		ck_assert(strcmp(r + strlen(r) - strlen(close), close) == 0);
	}

	p = part(r, delim, 0);
	assert_match(p, "^Content-Type: text/plain");
	ck_assert_ptr_nonnull(strstr(p, "<bob@example.net>: 550 5.1.1"));
	ck_assert_ptr_nonnull(strstr(p, "<+15551234>: no answer after 3 tries"));
	free(p);

	p = part(r, delim, 1);
	assert_match(p, "^Content-Type: message/delivery-status$");
	assert_match(p, "^Reporting-MTA: dns; [A-Za-z0-9.-]+$");
	assert_match(p, "^Arrival-Date: Tue, 14 Nov 2023 22:13:20 \\+0000$");
	ck_assert_ptr_nonnull(strstr(p, "\n\nFinal-Recipient: rfc822; bob@example.net\n"
					"Action: failed\n"
					"Status: 5.1.1\n"
					"Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: "
					"no such user\n"));
	ck_assert_ptr_nonnull(strstr(p, "\n\nFinal-Recipient: FAX; +15551234\n"
					"Action: failed\n"
					"Status: 5.4.7\n"
					"Diagnostic-Code: x-mapispool; no answer after 3 tries\n"));
	free(p);

	p = part(r, delim, 2);
	assert_match(p, "^Content-Type: text/rfc822-headers$");
	ck_assert_ptr_nonnull(strstr(p, "\n\nSubject: the original\nFrom: alice@example.org\n"
					"X-Long: folded\n\tcontinuation\n"));
	ck_assert_ptr_null(strstr(p, "BODY"));
	free(p);
	ck_assert_ptr_null(strstr(r, "BODY"));
	free(r);
}
END_TEST

START_TEST(no_original)
{
	char delim[128];
	char *r;

	r = build(NULL, two, 2);
	boundary_of(r, delim, sizeof(delim));
	ck_assert_int_eq(occurrences(r, delim), 2);
	ck_assert_ptr_null(strstr(r, "rfc822-headers"));
	free(r);

	unlink(orig);
	r = build(orig, two, 1);
	boundary_of(r, delim, sizeof(delim));
	ck_assert_int_eq(occurrences(r, delim), 2);
	ck_assert_ptr_null(strstr(r, "rfc822-headers"));
	ck_assert_ptr_null(strstr(r, "+15551234"));
	free(r);
}
END_TEST

/* Addresses, diagnostics and the sender come from clients and remote
 * servers: none may start a line of its own. */
START_TEST(injection)
{
	static const struct report_rcpt evil[] = {
		{ "bob@example.net\r\nBcc: victim@example.com", "SMTP\r\nX-Type: 1", "5.0.0\r\nX",
		  "550 no\r\nX-Injected: yes\n\n--fake-boundary\r\n" },
	};
	char *r;

	msg.sender = "alice@example.org>\r\nCc: <victim@example.com";
	write_orig("Subject: x\n\nbody\n");
	r = build(orig, evil, 1);
	ck_assert_ptr_null(strchr(r, '\r'));
	ck_assert_ptr_null(strstr(r, "\nBcc:"));
	ck_assert_ptr_null(strstr(r, "\nCc:"));
	ck_assert_ptr_null(strstr(r, "\nX-Injected:"));
	ck_assert_ptr_null(strstr(r, "\nX-Type:"));
	ck_assert_ptr_null(strstr(r, "\n--fake-boundary"));
	ck_assert_ptr_null(strstr(r, "\nX\n"));
	/* the text is kept, on one line */
	ck_assert_ptr_nonnull(strstr(r, "\nTo: <alice@example.org> Cc: <victim@example.com>\n"));
	ck_assert_ptr_nonnull(strstr(r, "Final-Recipient: SMTPX-Type1; bob@example.net Bcc: "
					"victim@example.com\n"));
	ck_assert_ptr_nonnull(strstr(r, "\nStatus: 5.0.0\n"));
	ck_assert_ptr_nonnull(strstr(r, "Diagnostic-Code: x-mapispool; 550 no X-Injected: yes "
					"--fake-boundary\n"));
	free(r);
}
END_TEST

START_TEST(bad_status_and_null_sender)
{
	static const struct report_rcpt r1[] = {
		{ "a@example.net", "smtp", "9.9.9", NULL },
		{ "b@example.net", "SMTP", "5.1", "x" },
		{ "c@example.net", "SMTP", NULL, "y" },
	};
	char *r;

	msg.sender = "";
	r = build(NULL, r1, 3);
	assert_match(r, "^To: undisclosed-recipients:;$");
	ck_assert_int_eq(occurrences(r, "\nStatus: 5.0.0\n"), 3);
	/* no diagnostic: no Diagnostic-Code field */
	ck_assert_int_eq(occurrences(r, "Diagnostic-Code:"), 2);
	ck_assert_ptr_nonnull(strstr(r, "Final-Recipient: rfc822; a@example.net\n"));
	free(r);
}
END_TEST

/* Headers longer than 64 KiB are cut at a line's end; LF-only headers
 * and a message without body are read as they are. */
START_TEST(long_headers)
{
	size_t line = 100, lines = 1000;
	char *text = malloc(line * lines + 64), *o = text, delim[128];
	char *r, *p;

	for (size_t i = 0; i < lines; i++)
		o += sprintf(o, "X-Filler-%04zu: %0*d\n", i, (int)line - 16, 0);
	strcpy(o, "\nbody\n");
	write_orig(text);
	r = build(orig, two, 1);
	boundary_of(r, delim, sizeof(delim));
	p = part(r, delim, 2);
	ck_assert_uint_le(strlen(p), 64 * 1024 + 200);
	ck_assert_uint_ge(strlen(p), 60 * 1024);
	ck_assert_ptr_nonnull(strstr(p, "X-Filler-0000: "));
	ck_assert_ptr_null(strstr(p, "X-Filler-0999: "));
	/* every kept line is whole */
	for (char *l = strstr(p, "X-Filler-"); l != NULL; l = strstr(l + 1, "X-Filler-"))
		ck_assert_msg(strchr(l, '\n') - l == (long)line - 1, "cut line %.20s", l);
	free(p);
	free(r);

	write_orig("Subject: only headers\nX-Last: no newline");
	r = build(orig, two, 1);
	ck_assert_ptr_nonnull(strstr(r, "\n\nSubject: only headers\nX-Last: no newline\n"));
	free(r);
	free(text);
}
END_TEST


/* A 4.x.x status makes a delay notice: "delayed", and a subject saying so. */
START_TEST(delay_notice)
{
	struct qmsg *m = qmsg_new();
	struct report_rcpt r = { "bob@example.net", "SMTP", "4.4.7", "still trying" };
	size_t len;
	char *text;

	m->sender = strdup("alice@example.net");
	snprintf(m->id, sizeof(m->id), "0123456789abcdef0123");
	text = report_build_ndr(m, "/nonexistent", &r, 1, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "Subject: Delayed Mail (still being retried)\n"));
	ck_assert_ptr_nonnull(strstr(text, "Action: delayed\nStatus: 4.4.7\n"));
	ck_assert_ptr_nonnull(strstr(text, "still being\ntried"));
	ck_assert_ptr_null(strstr(text, "Action: failed"));
	free(text);
	qmsg_free(m);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("ndr");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, structure);
	tcase_add_test(tc, delay_notice);
	tcase_add_test(tc, no_original);
	tcase_add_test(tc, injection);
	tcase_add_test(tc, bad_status_and_null_sender);
	tcase_add_test(tc, long_headers);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(report_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
