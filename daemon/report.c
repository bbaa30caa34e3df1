/*
 * report.c — non-delivery reports: RFC 3464 delivery status notifications
 * in an RFC 6522 multipart/report, as Postfix's bounce daemon writes them.
 *
 * Every value copied into the report (addresses, diagnostics, the host
 * name) has its line breaks and other controls folded into spaces: a
 * remote server's reply or a client's address must never start a header or
 * a MIME boundary of its own.  Lines end in LF, as the Maildir stores them.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define MAX_ORIG_HEADERS (64 * 1024)

/* What may follow "Final-Recipient:" and "Diagnostic-Code:" as the type:
 * an atom; anything else in the configured type is left out. */
static void
type_token(char *buf, size_t len, const char *type)
{
	size_t o = 0;

	for (const char *c = type != NULL ? type : ""; *c != '\0' && o + 1 < len; c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.')
			buf[o++] = *c;
	if (o == 0)
		o = (size_t)snprintf(buf, len, "unknown");
	buf[o] = '\0';
}

/* Write s with every run of controls (CR, LF...) as one space. */
static void
put_clean(FILE *f, const char *s)
{
	bool space = false;

	for (const unsigned char *c = (const unsigned char *)(s != NULL ? s : ""); *c; c++) {
		if (*c < 0x20 || *c == 0x7f) {
			space = true;
			continue;
		}
		if (space)
			fputc(' ', f);
		space = false;
		fputc(*c, f);
	}
}

static void
hostname(char *buf, size_t len)
{
	char host[256];
	size_t o = 0;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (const char *c = host; *c != '\0' && o + 1 < len; c++)
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '-')
			buf[o++] = *c;
	if (o == 0)
		o = (size_t)snprintf(buf, len, "localhost");
	buf[o] = '\0';
}

/* RFC 5322 date-time in UTC; the names by hand, since strftime's follow
 * the locale. */
static void
rfc5322_date(char *buf, size_t len, time_t t)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

/*
 * The original message's header section: up to its first empty line, at
 * most MAX_ORIG_HEADERS bytes (cut at a line's end), CRLF made LF.  NULL
 * when the file cannot be read.
 */
static char *
read_headers(const char *path, uint64_t offset, size_t *len)
{
	char *buf = malloc(MAX_ORIG_HEADERS + 1);
	size_t got = 0, o = 0;
	int fd;

	if (buf == NULL)
		return NULL;
	fd = spool_data_open(path, offset);
	if (fd == -1) {
		free(buf);
		return NULL;
	}
	while (got < MAX_ORIG_HEADERS) {
		ssize_t r = read(fd, buf + got, MAX_ORIG_HEADERS - got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);

	/* Copy line by line (in place: the output never outruns the input)
	 * until the empty line or the last whole line. */
	size_t i = 0;

	while (i < got) {
		char *nl = memchr(buf + i, '\n', got - i);
		size_t end = nl != NULL ? (size_t)(nl - buf) : got;
		size_t line = end > i && buf[end - 1] == '\r' ? end - 1 - i : end - i;

		if (line == 0)
			break;
		if (nl == NULL && got == MAX_ORIG_HEADERS)
			break;
		memmove(buf + o, buf + i, line);
		o += line;
		buf[o++] = '\n';
		i = end + 1;
	}
	*len = o;
	return buf;
}

/* A boundary no line of the original headers starts with; random, so
 * nobody can write one in advance. */
static void
make_boundary(char *buf, size_t len, const char *id, const char *hdrs, size_t hlen)
{
	unsigned char rnd[12];

	do {
		if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
			struct timeval tv;

			gettimeofday(&tv, NULL);
			memcpy(rnd, &tv, sizeof(rnd) < sizeof(tv) ? sizeof(rnd) : sizeof(tv));
		}
		int o = snprintf(buf, len, "%s.", id);

		for (size_t i = 0; i < sizeof(rnd) && o > 0 && (size_t)o + 3 < len; i++)
			o += snprintf(buf + o, len - (size_t)o, "%02x", rnd[i]);
	} while (hdrs != NULL && memmem(hdrs, hlen, buf, strlen(buf)) != NULL);
}

/* A report with a 4.x.x status says "delayed": a delay notice. */
static bool
is_delay(const struct report_rcpt *r)
{
	return r->status != NULL && r->status[0] == '4';
}

static void
human_part(FILE *f, const struct qmsg *m, const char *host, const struct report_rcpt *rcpts,
	   size_t n)
{
	fprintf(f, "Content-Description: Notification\n"
		   "Content-Type: text/plain; charset=utf-8\n"
		   "\n"
		   "This is the mail system at host %s.\n"
		   "\n"
		   "%s"
		   "\n"
		   "The message's queue ID was %s.\n"
		   "\n",
		host,
		n > 0 && is_delay(&rcpts[0])
			? "Your message could not be delivered yet to one or more of its\n"
			  "recipients, listed below with the reason. Delivery is still being\n"
			  "tried; you need not send it again.\n"
			: "Your message could not be delivered to one or more of its\n"
			  "recipients, listed below with the reason.\n",
		m->id);
	for (size_t i = 0; i < n; i++) {
		fputc('<', f);
		put_clean(f, rcpts[i].address);
		fputs(">: ", f);
		put_clean(f, rcpts[i].diagnostic != NULL ? rcpts[i].diagnostic
							 : "delivery failed");
		fputc('\n', f);
	}
}

/* An RFC 3463 code: class "." subject "." detail, class 2, 4 or 5, the
 * others of 1 to 3 digits. */
static bool
valid_status(const char *s)
{
	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		size_t digits = strspn(s, "0123456789");

		if (digits < 1 || digits > 3 || s[digits] != (part == 0 ? '.' : '\0'))
			return false;
		s += digits + 1;
	}
	return true;
}

static void
status_part(FILE *f, const struct qmsg *m, const char *host, const struct report_rcpt *rcpts,
	    size_t n)
{
	char date[64], type[32];

	rfc5322_date(date, sizeof(date), (time_t)(m->queued / 1000));
	fprintf(f, "Content-Description: Delivery report\n"
		   "Content-Type: message/delivery-status\n"
		   "\n"
		   "Reporting-MTA: dns; %s\n"
		   "X-Mapispool-Queue-ID: %s\n"
		   "Arrival-Date: %s\n",
		host, m->id, date);
	for (size_t i = 0; i < n; i++) {
		bool smtp = rcpts[i].addrtype != NULL &&
			    strcasecmp(rcpts[i].addrtype, "SMTP") == 0;

		type_token(type, sizeof(type), smtp ? "rfc822" : rcpts[i].addrtype);
		fprintf(f, "\nFinal-Recipient: %s; ", type);
		put_clean(f, rcpts[i].address);
		/* A 4.x.x status is a delay notice: still being tried. */
		fprintf(f, "\nAction: %s\nStatus: %s\n", is_delay(&rcpts[i]) ? "delayed" : "failed",
			valid_status(rcpts[i].status) ? rcpts[i].status : "5.0.0");
		if (rcpts[i].diagnostic != NULL) {
			fprintf(f, "Diagnostic-Code: %s; ", smtp ? "smtp" : "x-mapispool");
			put_clean(f, rcpts[i].diagnostic);
			fputc('\n', f);
		}
	}
}

char *
report_build_ndr(const struct qmsg *m, const char *orig_path, const struct report_rcpt *rcpts,
		 size_t n, size_t *len)
{
	char host[256], date[64], boundary[128];
	size_t hlen = 0, size;
	char *hdrs, *out = NULL;
	struct timeval now;
	FILE *f;

	hostname(host, sizeof(host));
	gettimeofday(&now, NULL);
	rfc5322_date(date, sizeof(date), now.tv_sec);
	hdrs = orig_path != NULL ? read_headers(orig_path, m->data_offset, &hlen) : NULL;
	make_boundary(boundary, sizeof(boundary), m->id, hdrs, hlen);

	f = open_memstream(&out, &size);
	if (f == NULL) {
		free(hdrs);
		return NULL;
	}
	fprintf(f, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", host);
	if (m->sender == NULL || m->sender[0] == '\0') {
		/* The null sender has no mailbox; the report still goes to
		 * the store, for whoever reads it. */
		fputs("To: undisclosed-recipients:;\n", f);
	} else {
		fputs("To: <", f);
		put_clean(f, m->sender);
		fputs(">\n", f);
	}
	fprintf(f, "Subject: %s\n", n > 0 && is_delay(&rcpts[0])
					     ? "Delayed Mail (still being retried)"
					     : "Undelivered Mail Returned to Sender");
	fprintf(f, "Date: %s\n"
		   "Message-ID: <%lld.%06ld.%s.ndr@%s>\n"
		   "MIME-Version: 1.0\n"
		   "Content-Type: multipart/report; report-type=delivery-status;\n"
		   "\tboundary=\"%s\"\n"
		   "Auto-Submitted: auto-replied\n"
		   "\n"
		   "This is a MIME-encapsulated message.\n"
		   "\n"
		   "--%s\n",
		date, (long long)now.tv_sec, (long)now.tv_usec, m->id, host, boundary, boundary);
	human_part(f, m, host, rcpts, n);
	fprintf(f, "\n--%s\n", boundary);
	status_part(f, m, host, rcpts, n);
	if (hdrs != NULL) {
		fprintf(f, "\n--%s\n"
			   "Content-Description: Undelivered Message Headers\n"
			   "Content-Type: text/rfc822-headers\n"
			   "\n",
			boundary);
		fwrite(hdrs, 1, hlen, f);
	}
	fprintf(f, "\n--%s--\n", boundary);
	free(hdrs);

	bool failed = ferror(f) != 0;

	if (fclose(f) != 0 || failed) {
		free(out);
		return NULL;
	}
	*len = size;
	return out;
}
