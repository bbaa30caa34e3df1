/*
 * transport_smtp.c — the smtp transport: each message goes to a relay
 * over SMTP or SMTPS, with STARTTLS and AUTH as configured, through
 * libcurl's multi interface on the daemon's loop (curl_loop).
 *
 * One libcurl transfer per message.  The connection outlives it: libcurl
 * keeps it in the multi handle's connection cache and the next transfer
 * to the same relay, with the same credentials, reuses it (no new EHLO,
 * STARTTLS or AUTH), so a flush of many messages costs one connection.
 * At most max_connections transfers of an instance run at once; the rest
 * wait in the instance, in order.  max_sends tells the spooler so: a flush
 * keeps max_connections messages out at once, and their answers come in
 * the order the relay gives them.
 *
 * libcurl answers for the transfer as a whole; what each recipient got is
 * read from the dialogue itself (the debug callback sees every command and
 * every reply line), which is also how a refusal is told from a temporary
 * failure.  Outcomes:
 *   - every recipient and the message accepted: sent;
 *   - a 4xx to MAIL, to DATA, to the end of the data or to every RCPT, or
 *     no answer (refused, reset or dropped connection, timeout, TLS
 *     failure, certificate not trusted, AUTH refused): deferred, the
 *     message stays queued and nothing was delivered (a
 *     transfer that fails before the final reply leaves the relay with an
 *     unterminated DATA, which it discards);
 *   - a 5xx to MAIL, to DATA, to the end of the data, or to every RCPT:
 *     failed, with the relay's words, for the non-delivery report.
 * Some recipients refused (5xx) or deferred (4xx) while others were taken:
 * the message goes to those taken, and the others are listed in the
 * result (xp_result.refused, each temporary or not): the spooler reports
 * the refused ones to the sender and keeps the deferred ones queued, alone,
 * for the next attempt.
 *
 * Passwords: password_file is read at open; with password = prompt there
 * is none until the flush's requester answers a prompt, and none is asked
 * for without one (XP_CANCELLED).  A prompted password the relay refuses
 * is forgotten, so the next attempt asks again.  No password reaches the
 * log, a result's text or an error: the dialogue is logged at debug level
 * with the AUTH exchange left out.
 *
 * Two waits inside libcurl 7.88 are not asynchronous (curl issue #8555, a
 * known limitation of its SMTP "done" and "disconnect" phases): the reply
 * to the end of the data, and the reply to QUIT when a connection is
 * closed (after a failed transfer, or when the cache lets one go).  Both
 * block the loop until the relay answers, so the reply timeout
 * (CURLOPT_SERVER_RESPONSE_TIMEOUT) is capped at REPLY_TIMEOUT_S.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curl_loop.h"
#include "log.h"
#include "transport.h"

/* Bounds on single waits: connecting, and each reply from the relay. */
#define CONNECT_TIMEOUT_MS 60000
#define REPLY_TIMEOUT_S 60
/* Bytes of the message read from disk at a time. */
#define READ_CHUNK 16384
/* Bytes of a reply line kept for the result's text. */
#define REPLY_MAX 200

enum stage {
	ST_SESSION,		/* greeting, EHLO, STARTTLS: libcurl's to judge */
	ST_AUTH,		/* from AUTH until its final reply */
	ST_MAIL,
	ST_RCPT,
	ST_DATA,		/* DATA sent, 354 expected */
	ST_BODY,		/* data sent, the final reply expected */
};

enum job_state {
	JOB_PROMPTING,		/* waiting for the requester's password */
	JOB_AWAITING,		/* waiting for another job's prompt to be answered */
	JOB_QUEUED,		/* waiting for a free connection */
	JOB_RUNNING,		/* a libcurl transfer */
	JOB_ANSWERING,		/* the answer is known; it goes out from the loop */
};

struct reply {
	int code;		/* 0: none yet */
	char text[REPLY_MAX];
};

struct xp_smtp;

struct job {
	struct job *next, *prev;
	struct xp_smtp *xp;
	enum job_state state;
	bool orphaned;		/* closed while prompting: freed by the answer */
	char id[SPOOL_ID_LEN + 1];
	char *sender;
	char **rcpts;
	size_t n_rcpts;
	struct reply *rcpt_replies;	/* one per recipient, in RCPT order */
	struct xp_refusal *refused;	/* sent_outcome's, for r.refused */
	struct curl_slist *rcpt_list;
	char *data_path;
	uint64_t data_offset;
	void (*done)(void *ctx, const struct xp_result *r);
	void *ctx;

	CURL *easy;
	int fd;
	char *inbuf;		/* READ_CHUNK bytes of the file */
	size_t in_pos, in_len;
	bool eof, prev_cr;

	/* the dialogue so far */
	enum stage stage;
	bool quitting;		/* QUIT sent: its reply is not the stage's */
	size_t rcpts_sent;
	struct reply auth, mail, data, body;
	char abort_text[SPOOL_MAX_ERROR];	/* why the read callback aborted */
	char errbuf[CURL_ERROR_SIZE];

	struct event *timer;	/* JOB_ANSWERING */
	struct xp_result r;
};

struct xp_smtp {
	char *name;
	char *url;		/* as configured, for prompts */
	char *curl_url;		/* with the HELO name as its path */
	char *host;		/* for messages */
	char *username;
	char *password;		/* NULL: none known */
	bool prompt;		/* password = prompt */
	bool prompted;		/* password came from a prompt */
	bool asking;		/* a job is prompting: one prompt at a time */
	char *ca_file;
	enum starttls_mode starttls;
	msec_t timeout;		/* <= 0: none */
	unsigned max_connections;
	struct event_base *base;
	struct curl_loop *curl;

	struct job *jobs;	/* every job, in arrival order */
	unsigned running;
	CURL **idle;		/* handles of finished transfers, for the next ones */
	size_t n_idle;

	/* Jobs waiting for a prompt and done functions running each hold a
	 * reference; the spooler's goes at close.  The last one frees. */
	unsigned refs;
	bool closed;
};

static void __attribute__((format(printf, 3, 4)))
result(struct xp_result *r, enum xp_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	r->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* s, at most len bytes of it, as printable ASCII on one line: relays'
 * words go into the status table, the protocol's JSON and the log. */
static void
printable(char *out, size_t outlen, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && s[i] != '\r' && s[i] != '\n' && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
}

/* ---- the instance ---- */

static void
free_xp(struct xp_smtp *xp)
{
	for (size_t i = 0; i < xp->n_idle; i++)
		curl_easy_cleanup(xp->idle[i]);
	free(xp->idle);
	transport_free_secret(xp->password);
	free(xp->name);
	free(xp->url);
	free(xp->curl_url);
	free(xp->host);
	free(xp->username);
	free(xp->ca_file);
	free(xp);
}

static void
release(struct xp_smtp *xp)
{
	if (--xp->refs == 0)
		free_xp(xp);
}

/* The URL libcurl gets (libcurl takes the EHLO name from its path) and
 * the host for messages. */
static int
parse_url(struct xp_smtp *xp, const struct transport_config *tc, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *url = NULL, *path = NULL;
	int rc = -1;

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, tc->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "url %s: not a URL libcurl understands", tc->url);
		goto out;
	}
	if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0) {
		snprintf(err, errlen, "url %s: must be smtp:// or smtps://", tc->url);
		goto out;
	}
	if (tc->helo != NULL) {
		if (asprintf(&path, "/%s", tc->helo) == -1) {
			path = NULL;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) != CURLUE_OK) {
			snprintf(err, errlen, "helo %s: cannot be used", tc->helo);
			goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK ||
	    (xp->curl_url = strdup(url)) == NULL || (xp->host = strdup(host)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(path);
	curl_free(scheme);
	curl_free(host);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

static char *
dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

static void *
smtp_open(const struct transport_config *tc, const struct transport_env *env, char *err,
	  size_t errlen)
{
	struct xp_smtp *xp = calloc(1, sizeof(*xp));
	bool oom = false;

	if (xp == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	xp->refs = 1;		/* the spooler's, until close */
	xp->base = env->base;
	xp->curl = env->curl;
	xp->starttls = tc->starttls;
	xp->timeout = tc->timeout;
	xp->max_connections = tc->max_connections > 0 ? tc->max_connections : 1;
	xp->prompt = tc->password_prompt;
	xp->name = dup_or_null(tc->name, &oom);
	xp->url = dup_or_null(tc->url, &oom);
	xp->username = dup_or_null(tc->username, &oom);
	xp->ca_file = dup_or_null(tc->ca_file, &oom);
	xp->idle = calloc(xp->max_connections, sizeof(*xp->idle));
	if (oom || xp->idle == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (xp->curl == NULL) {
		snprintf(err, errlen, "libcurl is not available");
		goto fail;
	}
	if (xp->url == NULL) {
		snprintf(err, errlen, "no url");
		goto fail;
	}
	if (parse_url(xp, tc, err, errlen) == -1)
		goto fail;
	/* Said now rather than as a TLS error at every attempt. */
	if (xp->ca_file != NULL && access(xp->ca_file, R_OK) == -1) {
		snprintf(err, errlen, "ca_file %s: %s", xp->ca_file, strerror(errno));
		goto fail;
	}
	/* Read once, here, where blocking is allowed: ChangePassword
	 * hands the new one over through set_password. */
	if (tc->password_file != NULL &&
	    (xp->password = transport_read_password(tc->password_file, err, errlen)) == NULL)
		goto fail;
	return xp;

fail:
	free_xp(xp);
	return NULL;
}

static void job_free(struct job *j);

/* Transfers stop without a word to anyone; a job waiting for a prompt's
 * answer stays, orphaned, until the answer comes (it always does). */
static void
smtp_close(void *arg)
{
	struct xp_smtp *xp = arg;
	struct job *j, *next;

	xp->closed = true;
	for (j = xp->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->state == JOB_PROMPTING) {
			j->orphaned = true;
			j->next = j->prev = NULL;
			continue;
		}
		if (j->state == JOB_RUNNING)
			curl_loop_remove(xp->curl, j->easy);
		job_free(j);
	}
	xp->jobs = NULL;
	xp->running = 0;
	for (size_t i = 0; i < xp->n_idle; i++)
		curl_easy_cleanup(xp->idle[i]);
	xp->n_idle = 0;
	/* The secret goes now, not when the last prompt comes back. */
	transport_free_secret(xp->password);
	xp->password = NULL;
	release(xp);
}

static void
smtp_set_password(void *arg, const char *password)
{
	struct xp_smtp *xp = arg;
	char *copy = password != NULL ? strdup(password) : NULL;

	transport_free_secret(xp->password);
	xp->password = copy;
	xp->prompted = false;
}

/* ---- jobs ---- */

static void
job_unlink(struct job *j)
{
	struct xp_smtp *xp = j->xp;

	if (j->prev != NULL)
		j->prev->next = j->next;
	else if (xp->jobs == j)
		xp->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	j->next = j->prev = NULL;
}

/* Frees what the job holds; its easy handle, if any, is cleaned up. */
static void
job_free(struct job *j)
{
	if (j->easy != NULL)
		curl_easy_cleanup(j->easy);
	if (j->fd != -1)
		close(j->fd);
	if (j->timer != NULL)
		event_free(j->timer);
	curl_slist_free_all(j->rcpt_list);
	for (size_t i = 0; i < j->n_rcpts; i++)
		free(j->rcpts[i]);
	free(j->rcpts);
	free(j->rcpt_replies);
	free(j->refused);
	free(j->sender);
	free(j->data_path);
	free(j->inbuf);
	free(j);
}

/* Hand the answer over and forget the job.  The done function may close
 * the instance: the reference held around it keeps xp valid until we
 * know.  Returns false if xp was closed. */
static bool
job_finish(struct job *j)
{
	struct xp_smtp *xp = j->xp;
	void (*done)(void *, const struct xp_result *) = j->done;
	void *ctx = j->ctx;
	struct xp_result r = j->r;
	struct xp_refusal *refused = j->refused;	/* r.refused: outlives j */
	bool open;

	j->refused = NULL;
	job_unlink(j);
	job_free(j);
	xp->refs++;
	done(ctx, &r);
	free(refused);
	open = !xp->closed;
	release(xp);
	return open;
}

static void
on_answer_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job_finish(arg);
}

/* The answer is in j->r: it goes out from the loop, never from inside
 * send or a callback of the requester. */
static void
job_answer_later(struct job *j)
{
	const struct timeval now = { 0, 0 };

	j->state = JOB_ANSWERING;
	evtimer_add(j->timer, &now);
}

/* Nothing a relay could misread: SMTP has no quoting for CR, LF or the
 * brackets, and the spool is an input like any other. */
static bool
address_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '<' || *s == '>')
			return false;
	return true;
}

static char *
bracketed(const char *address)
{
	char *s;

	return asprintf(&s, "<%s>", address) == -1 ? NULL : s;
}

/* The job for req's unit; NULL if out of memory.  A problem with the
 * message itself is left in j->r with j->state JOB_ANSWERING. */
static struct job *
job_new(struct xp_smtp *xp, const struct xp_send *req)
{
	const struct qmsg *m = req->msg;
	const char *sender = m->sender != NULL ? m->sender : "";
	struct job *j = calloc(1, sizeof(*j));
	size_t n = 0;

	if (j == NULL)
		return NULL;
	j->xp = xp;
	j->fd = -1;
	/* Made now, so that answering later cannot fail later. */
	if ((j->timer = evtimer_new(xp->base, on_answer_timer, j)) == NULL)
		goto oom;
	j->done = req->done;
	j->ctx = req->ctx;
	j->state = JOB_QUEUED;
	memcpy(j->id, m->id, sizeof(j->id));
	j->data_offset = req->data_offset;
	for (size_t i = 0; i < m->n_rcpts; i++)
		n += m->rcpts[i].unit == req->unit;
	if ((j->rcpts = calloc(n + 1, sizeof(*j->rcpts))) == NULL ||
	    (j->rcpt_replies = calloc(n + 1, sizeof(*j->rcpt_replies))) == NULL ||
	    (j->sender = bracketed(sender)) == NULL ||
	    (j->data_path = strdup(req->data_path)) == NULL)
		goto oom;
	if (!address_ok(sender)) {
		j->state = JOB_ANSWERING;
		result(&j->r, XP_FAILED, "the sender cannot be sent over SMTP (control "
		       "characters or angle brackets)");
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const char *a = m->rcpts[i].address;
		struct curl_slist *l;
		char *b;

		if (m->rcpts[i].unit != req->unit)
			continue;
		if ((j->rcpts[j->n_rcpts++] = strdup(a)) == NULL)
			goto oom;
		if (!address_ok(a) && j->state != JOB_ANSWERING) {
			j->state = JOB_ANSWERING;
			result(&j->r, XP_FAILED, "recipient %.200s cannot be sent over SMTP "
			       "(control characters or angle brackets)", a);
		}
		/* In brackets, as libcurl would put them, but with an address
		 * that has no '@' kept as it is. */
		if ((b = bracketed(a)) == NULL || (l = curl_slist_append(j->rcpt_list, b)) == NULL) {
			free(b);
			goto oom;
		}
		free(b);
		j->rcpt_list = l;
	}
	if (j->n_rcpts == 0 && j->state != JOB_ANSWERING) {
		j->state = JOB_ANSWERING;
		result(&j->r, XP_FAILED, "no recipient for this transport");
	}
	return j;

oom:
	job_free(j);
	return NULL;
}

/* ---- the dialogue, as libcurl's debug callback shows it ---- */

static bool
starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

static void
on_command(struct job *j, const char *s, size_t len)
{
	char line[REPLY_MAX];

	/* Inside AUTH every line we send is a credential. */
	if (j->stage == ST_AUTH) {
		log_debug("%s: > (authentication data not logged)", j->xp->name);
		return;
	}
	if (starts(s, len, "AUTH ")) {
		size_t mech = 5;

		/* "AUTH PLAIN <credentials>": the mechanism, not the rest. */
		while (mech < len && s[mech] != ' ' && s[mech] != '\r' && s[mech] != '\n')
			mech++;
		j->stage = ST_AUTH;
		printable(line, sizeof(line), s, mech);
		log_debug("%s: > %s (authentication data not logged)", j->xp->name, line);
		return;
	}
	/* libcurl closes a connection after a failure (QUIT) before it
	 * reports the failure: the stage stays the failing command's.  (It
	 * may also close an old cached connection with our handle before
	 * opening ours: the next command ends that.) */
	j->quitting = starts(s, len, "QUIT");
	if (starts(s, len, "MAIL FROM:")) {
		j->stage = ST_MAIL;
	} else if (starts(s, len, "RCPT TO:")) {
		j->stage = ST_RCPT;
		j->rcpts_sent++;
	} else if (starts(s, len, "DATA")) {
		j->stage = ST_DATA;
	} else if (!j->quitting) {
		j->stage = ST_SESSION;
	}
	if (log_enabled(LOG_LVL_DEBUG)) {
		printable(line, sizeof(line), s, len);
		log_debug("%s: > %s", j->xp->name, line);
	}
}

static void
on_reply_line(struct job *j, const char *s, size_t len)
{
	struct reply *r;
	int code;

	if (log_enabled(LOG_LVL_DEBUG)) {
		char line[REPLY_MAX];

		printable(line, sizeof(line), s, len);
		log_debug("%s: < %s", j->xp->name, line);
	}
	/* Only the last line of a reply ("250 ..." after "250-...") ends it. */
	if (j->quitting || len < 3 || s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9' || (len > 3 && s[3] == '-'))
		return;
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	switch (j->stage) {
	case ST_SESSION:
		return;
	case ST_AUTH:
		r = &j->auth;
		if (code != 334)
			j->stage = ST_SESSION;
		break;
	case ST_MAIL:
		r = &j->mail;
		break;
	case ST_RCPT:
		if (j->rcpts_sent == 0 || j->rcpts_sent > j->n_rcpts)
			return;
		r = &j->rcpt_replies[j->rcpts_sent - 1];
		break;
	case ST_DATA:
		r = &j->data;
		if (code == 354)
			j->stage = ST_BODY;
		break;
	case ST_BODY:
	default:
		r = &j->body;
		break;
	}
	r->code = code;
	printable(r->text, sizeof(r->text), s, len);
}

static int
debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *arg)
{
	(void)easy;
	if (type == CURLINFO_HEADER_OUT)
		on_command(arg, data, size);
	else if (type == CURLINFO_HEADER_IN)
		on_reply_line(arg, data, size);
	return 0;
}

/* ---- the message's bytes ---- */

/*
 * libcurl's read callback: the file, with bare LF made CRLF as SMTP
 * requires (libcurl's own CURLOPT_CRLF would double the CR of lines that
 * have one).  libcurl does the dot-stuffing and the final ".".  A local
 * file read in small chunks: the spool's disk, not the network.
 */
static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct job *j = arg;
	size_t room = size * nitems, o = 0;

	while (o < room) {
		char c;

		if (j->in_pos == j->in_len) {
			ssize_t n;

			if (j->eof)
				break;
			n = read(j->fd, j->inbuf, READ_CHUNK);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				snprintf(j->abort_text, sizeof(j->abort_text), "cannot read %s: %s",
					 j->data_path, strerror(errno));
				return CURL_READFUNC_ABORT;
			}
			j->eof = n == 0;
			j->in_pos = 0;
			j->in_len = (size_t)n;
			continue;
		}
		c = j->inbuf[j->in_pos];
		if (c == '\n' && !j->prev_cr) {
			/* libcurl's buffer is many KiB: room for both next time. */
			if (room - o < 2)
				break;
			buf[o++] = '\r';
		}
		buf[o++] = c;
		j->prev_cr = c == '\r';
		j->in_pos++;
	}
	return o;
}

/* ---- transfers ---- */

static void on_transfer_done(void *ctx, CURL *easy, CURLcode res);
static void pump(struct xp_smtp *xp);

static CURL *
take_easy(struct xp_smtp *xp)
{
	return xp->n_idle > 0 ? xp->idle[--xp->n_idle] : curl_easy_init();
}

/* Keep the handle for the next transfer (it carries libcurl's caches:
 * DNS, TLS sessions) up to one per parallel connection.  Reset now: its
 * options point into the job, which is going. */
static void
give_back_easy(struct xp_smtp *xp, CURL *easy)
{
	curl_easy_reset(easy);
	if (xp->n_idle < xp->max_connections)
		xp->idle[xp->n_idle++] = easy;
	else
		curl_easy_cleanup(easy);
}

static long
starttls_level(enum starttls_mode m)
{
	switch (m) {
	case STARTTLS_REQUIRED:
		return CURLUSESSL_ALL;
	case STARTTLS_OPPORTUNISTIC:
		return CURLUSESSL_TRY;
	case STARTTLS_NO:
	default:
		return CURLUSESSL_NONE;
	}
}

static CURLcode
configure(struct job *j)
{
	struct xp_smtp *xp = j->xp;
	CURL *e = j->easy;
	CURLcode rc = CURLE_OK;

#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)
	SET(CURLOPT_URL, xp->curl_url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, j->errbuf);
	SET(CURLOPT_MAIL_FROM, j->sender);
	SET(CURLOPT_MAIL_RCPT, j->rcpt_list);
	SET(CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, j);
	/* The debug callback follows the dialogue; libcurl calls it only
	 * in verbose mode, and then prints nothing itself. */
	SET(CURLOPT_VERBOSE, 1L);
	SET(CURLOPT_DEBUGFUNCTION, debug_cb);
	SET(CURLOPT_DEBUGDATA, j);
	SET(CURLOPT_USE_SSL, starttls_level(xp->starttls));
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (xp->ca_file != NULL)
		SET(CURLOPT_CAINFO, xp->ca_file);
	if (xp->username != NULL)
		SET(CURLOPT_USERNAME, xp->username);
	if (xp->password != NULL)
		SET(CURLOPT_PASSWORD, xp->password);
	if (xp->timeout > 0) {
		msec_t connect = xp->timeout < CONNECT_TIMEOUT_MS ? xp->timeout
								   : CONNECT_TIMEOUT_MS;
		long reply = (long)((xp->timeout + 999) / 1000);

		SET(CURLOPT_TIMEOUT_MS, (long)xp->timeout);
		SET(CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
		SET(CURLOPT_SERVER_RESPONSE_TIMEOUT,
		    reply < REPLY_TIMEOUT_S ? reply : (long)REPLY_TIMEOUT_S);
	} else {
		SET(CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
		SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, (long)REPLY_TIMEOUT_S);
	}
#undef SET
	return rc;
}

/* Start j's transfer; on failure its answer is on the way. */
static void
job_start(struct job *j)
{
	struct xp_smtp *xp = j->xp;

	if ((j->inbuf = malloc(READ_CHUNK)) == NULL || (j->easy = take_easy(xp)) == NULL) {
		result(&j->r, XP_DEFERRED, "out of memory");
		job_answer_later(j);
		return;
	}
	if ((j->fd = spool_data_open(j->data_path, j->data_offset)) == -1) {
		result(&j->r, XP_DEFERRED, "cannot open %s: %s", j->data_path, strerror(errno));
		job_answer_later(j);
		return;
	}
	if (configure(j) != CURLE_OK || curl_loop_add(xp->curl, j->easy, on_transfer_done, j) == -1) {
		result(&j->r, XP_DEFERRED, "libcurl refused the transfer to %s", xp->host);
		job_answer_later(j);
		return;
	}
	j->state = JOB_RUNNING;
	xp->running++;
}

/* Start queued jobs while connections are free, oldest first. */
static void
pump(struct xp_smtp *xp)
{
	for (struct job *j = xp->jobs; j != NULL && xp->running < xp->max_connections;) {
		struct job *next = j->next;

		if (j->state == JOB_QUEUED)
			job_start(j);
		j = next;
	}
}

/* ---- outcomes ---- */

static bool
auth_reply(int code)
{
	/* 530 authentication required, 534/538 mechanism or encryption
	 * needed, 535 credentials invalid: the profile's problem, not the
	 * message's. */
	return code == 530 || code == 534 || code == 535 || code == 538;
}

static void
forget_prompted_password(struct xp_smtp *xp)
{
	if (!xp->prompted)
		return;
	transport_free_secret(xp->password);
	xp->password = NULL;
	xp->prompted = false;
}

/* A reply to MAIL, DATA or the end of data decides for the message. */
static bool
reply_outcome(struct job *j, const struct reply *rp, const char *what)
{
	if (rp->code / 100 == 5 && !auth_reply(rp->code)) {
		result(&j->r, XP_FAILED, "%s refused %s: %s", j->xp->host, what, rp->text);
		return true;
	}
	if (rp->code / 100 == 4 || rp->code / 100 == 5) {
		result(&j->r, XP_DEFERRED, "%s deferred %s: %s", j->xp->host, what, rp->text);
		return true;
	}
	return false;
}

/* Every recipient refused or deferred (libcurl stopped before DATA). */
static void
rcpt_outcome(struct job *j)
{
	char text[SPOOL_MAX_ERROR];
	size_t o = 0;
	bool temporary = false;

	text[0] = '\0';
	for (size_t i = 0; i < j->n_rcpts && o < sizeof(text); i++) {
		const struct reply *rp = &j->rcpt_replies[i];

		temporary |= rp->code / 100 != 5;
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%s: %s", i ? "; " : "",
				      j->rcpts[i], rp->code ? rp->text : "no reply");
	}
	result(&j->r, temporary ? XP_DEFERRED : XP_FAILED, "%s %s: %s", j->xp->host,
	       temporary ? "took no recipient for now" : "refused every recipient", text);
}

/* libcurl's failure, in words that name the host. */
static void
transport_error(struct job *j, CURLcode res)
{
	const char *host = j->xp->host;
	const char *why = j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(res);

	switch (res) {
	case CURLE_PEER_FAILED_VERIFICATION:
		result(&j->r, XP_DEFERRED, "TLS: certificate verify failed for %s: %s", host, why);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		result(&j->r, XP_DEFERRED, "TLS: handshake with %s failed: %s", host, why);
		break;
	case CURLE_SSL_CACERT_BADFILE:
		result(&j->r, XP_DEFERRED, "TLS: cannot use ca_file %s: %s",
		       j->xp->ca_file != NULL ? j->xp->ca_file : "(system)", why);
		break;
	case CURLE_USE_SSL_FAILED:
		result(&j->r, XP_DEFERRED, "TLS: %s: STARTTLS failed (starttls = required): %s",
		       host, why);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		result(&j->r, XP_DEFERRED, "cannot connect to %s: %s", host, why);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		result(&j->r, XP_DEFERRED, "%s: timed out: %s", host, why);
		break;
	default:
		result(&j->r, XP_DEFERRED, "%s: %s", host, why);
		break;
	}
}

/* Accepted, and which recipients were not: refused for good (5xx) or for
 * now (anything else, 4xx: they stay queued, alone). */
static void
sent_outcome(struct job *j)
{
	char refused[SPOOL_MAX_ERROR], *words;
	size_t o = 0, n = 0, temporary = 0, size;

	refused[0] = '\0';
	for (size_t i = 0; i < j->n_rcpts; i++) {
		const struct reply *rp = &j->rcpt_replies[i];

		if (rp->code / 100 == 2)
			continue;
		if (o < sizeof(refused))
			o += (size_t)snprintf(refused + o, sizeof(refused) - o, "%s%s: %s",
					      n ? "; " : "", j->rcpts[i], rp->text);
		n++;
		temporary += rp->code / 100 != 5;
	}
	if (n == 0) {
		result(&j->r, XP_SENT, "%s: %s", j->xp->host, j->body.text);
		return;
	}
	result(&j->r, XP_SENT, "%s took the message for %zu of %zu recipients; %s: %s",
	       j->xp->host, j->n_rcpts - n, j->n_rcpts,
	       temporary == n ? "the others later" : temporary ? "refused or later" : "refused",
	       refused);
	log_warnx("%s: message %s: %s", j->xp->name, j->id, j->r.text);
	/* The list, in one block with its words, since it outlives the job
	 * (job_finish).  Without memory for it a refusal is only in the log,
	 * but a recipient to try again must not be lost: then the whole
	 * message is tried again (those who got it get it twice). */
	size = n * sizeof(*j->refused);
	for (size_t i = 0; i < j->n_rcpts; i++)
		if (j->rcpt_replies[i].code / 100 != 2)
			size += strlen(j->rcpts[i]) + strlen(j->rcpt_replies[i].text) + 2;
	if ((j->refused = malloc(size)) == NULL) {
		if (temporary > 0)
			result(&j->r, XP_DEFERRED, "out of memory after %s took the message",
			       j->xp->host);
		return;
	}
	words = (char *)(j->refused + n);
	for (size_t i = 0; i < j->n_rcpts; i++) {
		struct xp_refusal *rf = &j->refused[j->r.n_refused];

		if (j->rcpt_replies[i].code / 100 == 2)
			continue;
		rf->address = strcpy(words, j->rcpts[i]);
		words += strlen(words) + 1;
		rf->reply = strcpy(words, j->rcpt_replies[i].text);
		words += strlen(words) + 1;
		rf->temporary = j->rcpt_replies[i].code / 100 != 5;
		j->r.n_refused++;
	}
	j->r.refused = j->refused;
}

/* Deferred: the credentials or the profile need a fix, not the message.
 * A password from a prompt is forgotten, to be asked for again. */
static void
auth_failed(struct job *j, const char *why)
{
	struct xp_smtp *xp = j->xp;

	result(&j->r, XP_DEFERRED, "%s: authentication failed as %s: %s", xp->host,
	       xp->username != NULL ? xp->username : "(no username)", why);
	forget_prompted_password(xp);
}

static void
classify(struct job *j, CURLcode res)
{
	struct xp_smtp *xp = j->xp;

	if (res == CURLE_OK) {
		sent_outcome(j);
	} else if (res == CURLE_ABORTED_BY_CALLBACK && j->abort_text[0] != '\0') {
		result(&j->r, XP_DEFERRED, "%s", j->abort_text);
	} else if (res == CURLE_LOGIN_DENIED) {
		auth_failed(j, j->auth.code ? j->auth.text : j->errbuf);
	} else if (j->stage == ST_MAIL && auth_reply(j->mail.code)) {
		auth_failed(j, j->mail.text);
	} else if (j->stage == ST_MAIL && reply_outcome(j, &j->mail, "the sender")) {
		;
	} else if (j->stage == ST_RCPT && j->rcpts_sent == j->n_rcpts &&
		   j->rcpt_replies[j->n_rcpts - 1].code != 0) {
		rcpt_outcome(j);
	} else if (j->stage == ST_DATA && reply_outcome(j, &j->data, "DATA")) {
		;
	} else if (j->stage == ST_BODY && reply_outcome(j, &j->body, "the message")) {
		;
	} else if (j->stage == ST_BODY) {
		/* No final reply: the relay has no complete message (it
		 * discards an unterminated DATA), and the queue still has it. */
		result(&j->r, XP_DEFERRED, "connection to %s failed during DATA: %s", xp->host,
		       j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(res));
	} else {
		transport_error(j, res);
	}
}

static void
on_transfer_done(void *ctx, CURL *easy, CURLcode res)
{
	struct job *j = ctx;
	struct xp_smtp *xp = j->xp;

	classify(j, res);
	j->easy = NULL;
	give_back_easy(xp, easy);
	xp->running--;
	if (job_finish(j))
		pump(xp);
}

/* ---- passwords ----
 *
 * Several jobs may need the password at once (a flush sends up to
 * max_connections messages together): the first asks, the others wait
 * for its answer (JOB_AWAITING) instead of asking the person again; a
 * cancelled prompt cancels them all, as the flush stops anyway. */

static void
on_password(void *arg, const char *value)
{
	struct job *j = arg;
	struct xp_smtp *xp = j->xp;

	if (j->orphaned) {
		job_free(j);
		release(xp);
		return;
	}
	release(xp);		/* still held by the spooler: not closed */
	xp->asking = false;
	if (value != NULL) {
		/* Another job's answer may have come first: the newest wins. */
		transport_free_secret(xp->password);
		xp->password = strdup(value);
		xp->prompted = xp->password != NULL;
	}
	for (struct job *w = xp->jobs; w != NULL; w = w->next) {
		if (w != j && w->state != JOB_AWAITING)
			continue;
		if (value == NULL) {
			result(&w->r, XP_CANCELLED, "the password prompt was cancelled");
			job_answer_later(w);
		} else {
			w->state = JOB_QUEUED;
		}
	}
	if (value != NULL)
		pump(xp);
}

static bool
needs_password(const struct xp_smtp *xp)
{
	return xp->prompt && xp->username != NULL && xp->password == NULL;
}

static void
ask_password(struct job *j, const struct xp_ui *ui)
{
	struct xp_smtp *xp = j->xp;
	char text[512];

	if (ui == NULL) {
		result(&j->r, XP_CANCELLED,
		       "a password is needed and FLUSH_NO_UI forbids asking");
		job_answer_later(j);
		return;
	}
	if (xp->asking) {
		j->state = JOB_AWAITING;
		return;
	}
	snprintf(text, sizeof(text), "Password for %s on %s", xp->username, xp->url);
	j->state = JOB_PROMPTING;
	xp->asking = true;
	xp->refs++;		/* the answer always comes, even after close */
	ui->prompt(ui->ctx, xp->name, text, on_password, j);
}

static void
smtp_send(void *arg, struct xp_send *req)
{
	struct xp_smtp *xp = arg;
	struct job *j = job_new(xp, req);

	if (j == NULL) {
		struct xp_result r = { .outcome = XP_DEFERRED, .text = "out of memory" };

		req->done(req->ctx, &r);
		return;
	}
	/* Last in the list: jobs start in the order they came. */
	if (xp->jobs == NULL) {
		xp->jobs = j;
	} else {
		struct job *t = xp->jobs;

		while (t->next != NULL)
			t = t->next;
		t->next = j;
		j->prev = t;
	}
	if (j->state == JOB_ANSWERING)
		job_answer_later(j);
	else if (needs_password(xp))
		ask_password(j, req->ui);
	else
		pump(xp);
}

/* One message per connection at a time: more would only wait here. */
static unsigned
smtp_max_sends(void *arg)
{
	const struct xp_smtp *xp = arg;

	return xp->max_connections;
}

const struct transport_backend transport_smtp = {
	.name = "smtp",
	.open = smtp_open,
	.close = smtp_close,
	.send = smtp_send,
	.max_sends = smtp_max_sends,
	.fetch = NULL,
	.set_password = smtp_set_password,
};
