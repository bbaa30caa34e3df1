/*
 * spool.c — the durable queues: envelope files, group commit, recovery.
 *
 * doc/spool.md describes the files and the commit protocol for people;
 * the comments here say why the code does each step where it does it.
 *
 * Every request becomes an op on the pending list, with its envelope text
 * already formatted.  Whenever no batch is on the workers, the loop turns
 * the pending ops (up to BATCH_MAX) into the batch and hands it to one
 * worker job: write every tmp file (one per op: ID.msg for an add, ID.env
 * for an update), one syncfs() for all of them, rename each into its
 * queue, unlink the removed ones, fsync each touched folder once.  Ops
 * that arrive meanwhile wait for the next batch, so the busier the spool,
 * the more ops share each sync.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "spool.h"

#define ENV_MAGIC "mapispool-envelope 1"
/* Bounds the time a batch holds its callers and the memory it pins. */
#define BATCH_MAX 512
/* Tokens on the longest line ("unit" and its six fields). */
#define ENV_MAX_TOKENS 7

enum folder {
	F_TMP,
	F_OUTBOUND,
	F_INBOUND,
	F_CORRUPT,
	F_COUNT,
};

static const char *const folder_names[F_COUNT] = {
	[F_TMP] = "tmp",
	[F_OUTBOUND] = "outbound",
	[F_INBOUND] = "inbound",
	[F_CORRUPT] = "corrupt",
};

static const char *const state_names[] = {
	[UNIT_QUEUED] = "queued",
	[UNIT_DEFERRED] = "deferred",
	[UNIT_SENT] = "sent",
	[UNIT_FAILED] = "failed",
};

#define N_STATES (sizeof(state_names) / sizeof(state_names[0]))

enum op_kind {
	OP_ADD,
	OP_UPDATE,
	OP_REMOVE,
};

struct spool_op {
	STAILQ_ENTRY(spool_op) entry;
	enum op_kind kind;
	enum folder folder;
	char id[SPOOL_ID_LEN + 1];
	char tmp_env[SPOOL_ID_LEN + 32];	/* update: "ID.env.N" in tmp/ */
	char *env;				/* add, update: the envelope */
	size_t env_len;
	void *data;				/* add: the bytes, or */
	size_t len;
	char *src_path;				/* add: the file to copy */
	uint64_t size;				/* add: bytes the envelope says */
	spool_done_fn done;
	void *ctx;

	/* The outcome, written by the worker while the op is in a batch. */
	HRESULT hr;
	char error[SPOOL_MAX_ERROR];
	bool staged;				/* its file is in tmp/ */
};

STAILQ_HEAD(op_list, spool_op);

struct spool {
	char *dir;
	int dir_fd;			/* for syncfs */
	int fd[F_COUNT];		/* each folder, for *at() and fsync */
	struct worker_pool *workers;
	struct event *kick;		/* start a batch on the next loop turn */

	/* Loop only, except batch: the worker owns it while busy. */
	struct op_list pending;
	struct op_list batch;
	bool busy;
	unsigned long batches;
	unsigned long tmp_seq;
	unsigned id_counter;
};

/* ---- Messages in memory ---- */

struct qmsg *
qmsg_new(void)
{
	return calloc(1, sizeof(struct qmsg));
}

static bool
qmsg_owns(const struct qmsg *m, const void *p)
{
	const char *c = p, *b = (const char *)m;

	return m->packed_len > 0 && c >= b && c < b + m->packed_len;
}

void
qmsg_release(const struct qmsg *m, void *p)
{
	if (!qmsg_owns(m, p))
		free(p);
}

void
qmsg_free(struct qmsg *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		qmsg_release(m, m->rcpts[i].address);
		qmsg_release(m, m->rcpts[i].addrtype);
	}
	for (size_t i = 0; i < m->n_units; i++) {
		qmsg_release(m, m->units[i].transport);
		free(m->units[i].last_error);
	}
	qmsg_release(m, m->rcpts);
	qmsg_release(m, m->units);
	qmsg_release(m, m->sender);
	qmsg_release(m, m->source);
	free(m);
}

/* Bytes of s with its NUL, or none for NULL. */
static size_t
str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Copy s to *at, advancing it; NULL stays NULL. */
static char *
put_str(char **at, const char *s)
{
	size_t n = str_size(s);
	char *p = *at;

	if (s == NULL)
		return NULL;
	memcpy(p, s, n);
	*at += n;
	return p;
}

struct qmsg *
qmsg_pack(struct qmsg *m)
{
	size_t len = sizeof(*m), strings = str_size(m->sender) + str_size(m->source);
	struct qmsg *p;
	char *at;

	/* struct, then the arrays (pointer-aligned, as the struct's size is),
	 * then the strings. */
	len += m->n_rcpts * sizeof(*m->rcpts) + m->n_units * sizeof(*m->units);
	for (size_t i = 0; i < m->n_rcpts; i++)
		strings += str_size(m->rcpts[i].address) + str_size(m->rcpts[i].addrtype);
	for (size_t i = 0; i < m->n_units; i++)
		strings += str_size(m->units[i].transport);
	if (len + strings > UINT32_MAX || (p = malloc(len + strings)) == NULL)
		return m;
	*p = *m;
	p->packed_len = (uint32_t)(len + strings);
	p->q_prev = p->q_next = p->q_chain = NULL;
	p->rcpts = m->n_rcpts > 0 ? (struct qrcpt *)(p + 1) : NULL;
	p->units = m->n_units > 0 ? (struct qunit *)((char *)(p + 1) +
						     m->n_rcpts * sizeof(*m->rcpts)) : NULL;
	at = (char *)p + len;
	p->sender = put_str(&at, m->sender);
	p->source = put_str(&at, m->source);
	for (size_t i = 0; i < m->n_rcpts; i++) {
		p->rcpts[i] = m->rcpts[i];
		p->rcpts[i].address = put_str(&at, m->rcpts[i].address);
		p->rcpts[i].addrtype = put_str(&at, m->rcpts[i].addrtype);
	}
	for (size_t i = 0; i < m->n_units; i++) {
		p->units[i] = m->units[i];
		p->units[i].transport = put_str(&at, m->units[i].transport);
		/* The last error changes: it moves over, malloc'd as it was. */
		m->units[i].last_error = NULL;
	}
	qmsg_free(m);
	return p;
}

/* strdup that keeps NULL; false when out of memory. */
static bool
dup_str(char **dst, const char *src)
{
	*dst = src == NULL ? NULL : strdup(src);
	return src == NULL || *dst != NULL;
}

struct qmsg *
qmsg_dup(const struct qmsg *m)
{
	struct qmsg *d;

	if ((d = qmsg_new()) == NULL)
		return NULL;
	memcpy(d->id, m->id, sizeof(d->id));
	d->queue = m->queue;
	d->queued = m->queued;
	d->size = m->size;
	d->data_offset = m->data_offset;
	if (!dup_str(&d->sender, m->sender) || !dup_str(&d->source, m->source))
		goto fail;
	if (m->n_rcpts > 0 && (d->rcpts = calloc(m->n_rcpts, sizeof(*d->rcpts))) == NULL)
		goto fail;
	for (; d->n_rcpts < m->n_rcpts; d->n_rcpts++) {
		const struct qrcpt *r = &m->rcpts[d->n_rcpts];
		struct qrcpt *c = &d->rcpts[d->n_rcpts];

		c->unit = r->unit;
		if (!dup_str(&c->address, r->address) || !dup_str(&c->addrtype, r->addrtype)) {
			d->n_rcpts++;
			goto fail;
		}
	}
	if (m->n_units > 0 && (d->units = calloc(m->n_units, sizeof(*d->units))) == NULL)
		goto fail;
	for (; d->n_units < m->n_units; d->n_units++) {
		const struct qunit *u = &m->units[d->n_units];
		struct qunit *c = &d->units[d->n_units];

		*c = *u;
		if (!dup_str(&c->transport, u->transport) ||
		    !dup_str(&c->last_error, u->last_error)) {
			c->last_error = NULL;
			d->n_units++;
			goto fail;
		}
	}
	return d;
fail:
	qmsg_free(d);
	return NULL;
}

int
spool_unit_find(const struct qmsg *m, const char *transport)
{
	for (size_t i = 0; i < m->n_units; i++)
		if (strcmp(m->units[i].transport, transport) == 0)
			return (int)i;
	return -1;
}

const char *
unit_state_name(enum unit_state s)
{
	return (size_t)s < N_STATES ? state_names[s] : "unknown";
}

static enum folder
queue_folder(enum spool_queue q)
{
	return q == SPOOL_INBOUND ? F_INBOUND : F_OUTBOUND;
}

static const char *
queue_name(enum spool_queue q)
{
	return folder_names[queue_folder(q)];
}

static bool
valid_id(const char *id, size_t len)
{
	if (len != SPOOL_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

static bool
str_fits(const char *s, size_t max)
{
	return s == NULL || strlen(s) <= max;
}

/* The two fields that become file names. */
static bool
qmsg_check_name(const struct qmsg *m, char *err, size_t errlen)
{
	if (!valid_id(m->id, strnlen(m->id, sizeof(m->id))))
		snprintf(err, errlen, "bad message id");
	else if (m->queue != SPOOL_OUTBOUND && m->queue != SPOOL_INBOUND)
		snprintf(err, errlen, "bad queue");
	else
		return true;
	return false;
}

static bool
qmsg_check_head(const struct qmsg *m, char *err, size_t errlen)
{
	if (!qmsg_check_name(m, err, errlen))
		return false;
	if (m->queued < 0)
		snprintf(err, errlen, "negative queued time");
	else if (!str_fits(m->sender, SPOOL_MAX_ADDRESS))
		snprintf(err, errlen, "sender longer than %d bytes", SPOOL_MAX_ADDRESS);
	else if (m->source != NULL && m->queue != SPOOL_INBOUND)
		snprintf(err, errlen, "source on an outbound message");
	else if (m->source != NULL &&
		 (m->source[0] == '\0' || !str_fits(m->source, SPOOL_MAX_NAME)))
		snprintf(err, errlen, "source empty or longer than %d bytes", SPOOL_MAX_NAME);
	else if (m->n_rcpts > SPOOL_MAX_RCPTS)
		snprintf(err, errlen, "more than %d recipients", SPOOL_MAX_RCPTS);
	else if (m->n_units > SPOOL_MAX_UNITS)
		snprintf(err, errlen, "more than %d transports", SPOOL_MAX_UNITS);
	else
		return true;
	return false;
}

/* Everything the envelope format can carry, checked before writing one and
 * after reading one, so that what is written can always be read back. */
static bool
qmsg_check(const struct qmsg *m, char *err, size_t errlen)
{
	if (!qmsg_check_head(m, err, errlen))
		return false;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const struct qrcpt *r = &m->rcpts[i];

		if (r->address == NULL || strlen(r->address) > SPOOL_MAX_ADDRESS) {
			snprintf(err, errlen,
				 "recipient %zu: address missing or longer than %d bytes", i,
				 SPOOL_MAX_ADDRESS);
			return false;
		}
		if (!str_fits(r->addrtype, SPOOL_MAX_NAME)) {
			snprintf(err, errlen, "recipient %zu: address type longer than %d bytes", i,
				 SPOOL_MAX_NAME);
			return false;
		}
		if (r->unit < RCPT_DONE || (r->unit >= 0 && (size_t)r->unit >= m->n_units)) {
			snprintf(err, errlen, "recipient %zu: no transport %d", i, r->unit);
			return false;
		}
	}
	for (size_t i = 0; i < m->n_units; i++) {
		const struct qunit *u = &m->units[i];

		if (u->transport == NULL || u->transport[0] == '\0' ||
		    strlen(u->transport) > SPOOL_MAX_NAME) {
			snprintf(err, errlen, "transport %zu: name empty or longer than %d bytes",
				 i, SPOOL_MAX_NAME);
			return false;
		}
		if ((size_t)u->state >= N_STATES || u->next_attempt < 0 ||
		    !str_fits(u->last_error, SPOOL_MAX_ERROR)) {
			snprintf(err, errlen, "transport %s: bad state, retry time or error",
				 u->transport);
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->units[j].transport, u->transport) == 0) {
				snprintf(err, errlen, "transport %s listed twice", u->transport);
				return false;
			}
	}
	return true;
}

/* ---- The envelope text ---- */

/* Bytes written as %XX: the escape itself, space, controls and DEL. */
static bool
needs_escape(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || c == '%';
}

/* One value as one token: "" as "-", so no token is empty, and a value
 * that is just "-" escaped. */
static void
put_token(FILE *f, const char *v)
{
	if (v == NULL || v[0] == '\0') {
		fputc('-', f);
		return;
	}
	if (strcmp(v, "-") == 0) {
		fputs("%2D", f);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
		if (needs_escape(*p))
			fprintf(f, "%%%02X", *p);
		else
			fputc(*p, f);
}

static char *
env_format(const struct qmsg *m, size_t *len, char *err, size_t errlen)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f;

	if (!qmsg_check(m, err, errlen)) {
		errno = EINVAL;
		return NULL;
	}
	if ((f = open_memstream(&text, &n)) == NULL)
		goto nomem;
	fprintf(f, ENV_MAGIC "\nid %s\nqueue %s\nqueued %" PRId64 "\nsize %" PRIu64 "\nsender ",
		m->id, queue_name(m->queue), m->queued, m->size);
	put_token(f, m->sender);
	if (m->source != NULL) {
		fputs("\nsource ", f);
		put_token(f, m->source);
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		fputs("\nrcpt ", f);
		put_token(f, m->rcpts[i].address);
		fputc(' ', f);
		put_token(f, m->rcpts[i].addrtype);
		fprintf(f, " %d", m->rcpts[i].unit);
	}
	for (size_t i = 0; i < m->n_units; i++) {
		const struct qunit *u = &m->units[i];

		fputs("\nunit ", f);
		put_token(f, u->transport);
		fprintf(f, " %s %d %u %" PRId64 " ", state_names[u->state],
			(u->held ? UNIT_FLAG_HELD : 0) | (u->warned ? UNIT_FLAG_WARNED : 0),
			u->attempts, u->next_attempt);
		put_token(f, u->last_error);
	}
	fputs("\nend\n", f);
	if (ferror(f)) {
		fclose(f);
		goto nomem;
	}
	if (fclose(f) != 0)
		goto nomem;
	if (n > SPOOL_MAX_ENV) {
		snprintf(err, errlen, "envelope larger than %d bytes", SPOOL_MAX_ENV);
		free(text);
		errno = EINVAL;
		return NULL;
	}
	*len = n;
	return text;
nomem:
	free(text);
	snprintf(err, errlen, "out of memory");
	errno = ENOMEM;
	return NULL;
}

char *
spool_env_format(const struct qmsg *m, size_t *len)
{
	char err[128];

	return env_format(m, len, err, sizeof(err));
}

struct env_reader {
	const char *p, *end;
	unsigned lineno;
	const char *tok[ENV_MAX_TOKENS];
	size_t toklen[ENV_MAX_TOKENS];
	size_t ntok;
	char *err;
	size_t errlen;
};

/* Split the next line into tokens separated by single spaces. */
static bool
env_next_line(struct env_reader *r)
{
	const char *eol, *p;

	if (r->p == r->end || (eol = memchr(r->p, '\n', (size_t)(r->end - r->p))) == NULL) {
		snprintf(r->err, r->errlen, "truncated: no end line");
		return false;
	}
	r->lineno++;
	r->ntok = 0;
	for (p = r->p; p <= eol; p++) {
		const char *sp = p;

		while (p < eol && *p != ' ')
			p++;
		if (p == sp || r->ntok == ENV_MAX_TOKENS) {
			snprintf(r->err, r->errlen, "line %u: %s", r->lineno,
				 p == sp ? "empty field" : "too many fields");
			return false;
		}
		r->tok[r->ntok] = sp;
		r->toklen[r->ntok++] = (size_t)(p - sp);
	}
	r->p = eol + 1;
	return true;
}

static bool
tok_is(const struct env_reader *r, size_t i, const char *s)
{
	return i < r->ntok && r->toklen[i] == strlen(s) && memcmp(r->tok[i], s, r->toklen[i]) == 0;
}

/* The line must be keyword and n values. */
static bool
env_expect(struct env_reader *r, const char *keyword, size_t n)
{
	if (!tok_is(r, 0, keyword)) {
		snprintf(r->err, r->errlen, "line %u: expected %s", r->lineno, keyword);
		return false;
	}
	if (r->ntok != n + 1) {
		snprintf(r->err, r->errlen, "line %u: %s takes %zu values", r->lineno, keyword, n);
		return false;
	}
	return true;
}

static bool
env_bad(struct env_reader *r, size_t i, const char *what)
{
	snprintf(r->err, r->errlen, "line %u: bad %s \"%.*s\"", r->lineno, what,
		 (int)(r->toklen[i] > 40 ? 40 : r->toklen[i]), r->tok[i]);
	return false;
}

/* Canonical decimal: no sign, no leading zero, at most max. */
static bool
env_uint(struct env_reader *r, size_t i, uint64_t max, const char *what, uint64_t *out)
{
	const char *t = r->tok[i];
	size_t len = r->toklen[i];
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && t[0] == '0'))
		return env_bad(r, i, what);
	for (size_t k = 0; k < len; k++) {
		unsigned d = (unsigned char)t[k] - '0';

		if (d > 9 || v > (max - d) / 10)
			return env_bad(r, i, what);
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A token back to its value: only what put_token writes is accepted. */
static bool
env_str(struct env_reader *r, size_t i, size_t max, const char *what, char **out)
{
	const char *t = r->tok[i];
	size_t len = r->toklen[i], o = 0;
	char *v;

	if (len == 1 && t[0] == '-')
		return (*out = strdup("")) != NULL || env_bad(r, i, "(out of memory)");
	if ((v = malloc(len + 1)) == NULL)
		return env_bad(r, i, "(out of memory)");
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)t[k];

		if (c == '%') {
			int hi = k + 2 < len ? hex_digit(t[k + 1]) : -1;
			int lo = k + 2 < len ? hex_digit(t[k + 2]) : -1;

			if (hi < 0 || lo < 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			/* NUL cannot be in a C string; "%2D" only as the
			 * whole of "-"; anything else needs no escape. */
			if (c == '\0' || (!needs_escape(c) && !(c == '-' && len == 3)))
				goto bad;
			k += 2;
		} else if (needs_escape(c)) {
			goto bad;
		}
		v[o++] = (char)c;
	}
	v[o] = '\0';
	if (o > max)
		goto bad;
	*out = v;
	return true;
bad:
	free(v);
	return env_bad(r, i, what);
}

static bool
env_rcpt(struct env_reader *r, struct qmsg *m)
{
	struct qrcpt *c;
	uint64_t unit;

	if (m->n_rcpts == SPOOL_MAX_RCPTS) {
		snprintf(r->err, r->errlen, "line %u: more than %d recipients", r->lineno,
			 SPOOL_MAX_RCPTS);
		return false;
	}
	if (m->n_rcpts % 16 == 0) {
		struct qrcpt *n = realloc(m->rcpts, (m->n_rcpts + 16) * sizeof(*n));

		if (n == NULL)
			return env_bad(r, 0, "(out of memory)");
		m->rcpts = n;
	}
	c = &m->rcpts[m->n_rcpts++];
	memset(c, 0, sizeof(*c));
	if (!env_str(r, 1, SPOOL_MAX_ADDRESS, "address", &c->address) ||
	    !env_str(r, 2, SPOOL_MAX_NAME, "address type", &c->addrtype))
		return false;
	if (tok_is(r, 3, "-1") || tok_is(r, 3, "-2")) {
		c->unit = tok_is(r, 3, "-1") ? RCPT_UNROUTED : RCPT_DONE;
		return true;
	}
	/* Checked against the units once they are read. */
	if (!env_uint(r, 3, SPOOL_MAX_UNITS - 1, "transport index", &unit))
		return false;
	c->unit = (int)unit;
	return true;
}

static bool
env_unit(struct env_reader *r, struct qmsg *m)
{
	struct qunit *u;
	uint64_t v;
	size_t s;

	if (m->n_units == SPOOL_MAX_UNITS) {
		snprintf(r->err, r->errlen, "line %u: more than %d transports", r->lineno,
			 SPOOL_MAX_UNITS);
		return false;
	}
	if (m->n_units % 8 == 0) {
		struct qunit *n = realloc(m->units, (m->n_units + 8) * sizeof(*n));

		if (n == NULL)
			return env_bad(r, 0, "(out of memory)");
		m->units = n;
	}
	u = &m->units[m->n_units++];
	memset(u, 0, sizeof(*u));
	if (!env_str(r, 1, SPOOL_MAX_NAME, "transport", &u->transport))
		return false;
	for (s = 0; s < N_STATES && !tok_is(r, 2, state_names[s]); s++)
		continue;
	if (s == N_STATES)
		return env_bad(r, 2, "state");
	u->state = (enum unit_state)s;
	/* one digit: "0" to "3" (UNIT_FLAG_*) */
	if (r->toklen[3] != 1 || r->tok[3][0] < '0' || r->tok[3][0] > '3')
		return env_bad(r, 3, "flags");
	u->held = (r->tok[3][0] - '0') & UNIT_FLAG_HELD;
	u->warned = (r->tok[3][0] - '0') & UNIT_FLAG_WARNED;
	if (!env_uint(r, 4, UINT_MAX, "attempts", &v))
		return false;
	u->attempts = (unsigned)v;
	if (!env_uint(r, 5, INT64_MAX, "retry time", &v))
		return false;
	u->next_attempt = (int64_t)v;
	if (!env_str(r, 6, SPOOL_MAX_ERROR, "error", &u->last_error))
		return false;
	if (u->last_error[0] == '\0') {
		free(u->last_error);
		u->last_error = NULL;
	}
	return true;
}

/* The fixed lines at the top, in order. */
static bool
env_head(struct env_reader *r, struct qmsg *m)
{
	uint64_t v;

	if (!env_next_line(r) || !tok_is(r, 0, "mapispool-envelope") || !tok_is(r, 1, "1") ||
	    r->ntok != 2) {
		snprintf(r->err, r->errlen, "not a version 1 envelope");
		return false;
	}
	if (!env_next_line(r) || !env_expect(r, "id", 1))
		return false;
	if (!valid_id(r->tok[1], r->toklen[1]))
		return env_bad(r, 1, "id");
	memcpy(m->id, r->tok[1], SPOOL_ID_LEN);
	m->id[SPOOL_ID_LEN] = '\0';
	if (!env_next_line(r) || !env_expect(r, "queue", 1))
		return false;
	if (tok_is(r, 1, "outbound"))
		m->queue = SPOOL_OUTBOUND;
	else if (tok_is(r, 1, "inbound"))
		m->queue = SPOOL_INBOUND;
	else
		return env_bad(r, 1, "queue");
	if (!env_next_line(r) || !env_expect(r, "queued", 1) ||
	    !env_uint(r, 1, INT64_MAX, "time", &v))
		return false;
	m->queued = (int64_t)v;
	if (!env_next_line(r) || !env_expect(r, "size", 1) ||
	    !env_uint(r, 1, UINT64_MAX, "size", &m->size))
		return false;
	return env_next_line(r) && env_expect(r, "sender", 1) &&
	       env_str(r, 1, SPOOL_MAX_ADDRESS, "sender", &m->sender);
}

struct qmsg *
spool_env_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct env_reader r = { .p = text, .end = text + len, .err = err, .errlen = errlen };
	struct qmsg *m;

	if (len > SPOOL_MAX_ENV) {
		snprintf(err, errlen, "larger than %d bytes", SPOOL_MAX_ENV);
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte");
		return NULL;
	}
	if ((m = qmsg_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!env_head(&r, m) || !env_next_line(&r))
		goto fail;
	if (tok_is(&r, 0, "source")) {
		if (!env_expect(&r, "source", 1) ||
		    !env_str(&r, 1, SPOOL_MAX_NAME, "source", &m->source) || !env_next_line(&r))
			goto fail;
	}
	while (tok_is(&r, 0, "rcpt"))
		if (!env_expect(&r, "rcpt", 3) || !env_rcpt(&r, m) || !env_next_line(&r))
			goto fail;
	while (tok_is(&r, 0, "unit"))
		if (!env_expect(&r, "unit", 6) || !env_unit(&r, m) || !env_next_line(&r))
			goto fail;
	if (!env_expect(&r, "end", 0))
		goto fail;
	if (r.p != r.end) {
		snprintf(err, errlen, "data after the end line");
		goto fail;
	}
	if (!qmsg_check(m, err, errlen))
		goto fail;
	return m;
fail:
	qmsg_free(m);
	return NULL;
}

/* ---- The batch, on a worker thread ---- */

/* Record why op failed, once: errno tells a full disk from the rest.  The
 * path is s->dir/folder or, with name, the file in it; strerror_r because
 * this runs on a worker. */
static void
op_fail(struct spool *s, struct spool_op *op, int errnum, const char *what, const char *folder,
	const char *name)
{
	char eb[128];
	const char *es = strerror_r(errnum, eb, sizeof(eb));
	bool full = errnum == ENOSPC || errnum == EDQUOT;

	if (op->hr != S_OK)
		return;
	op->hr = full ? MAPI_E_NOT_ENOUGH_DISK : MAPI_E_DISK_ERROR;
	snprintf(op->error, sizeof(op->error), "%s%s %s/%s%s%s: %s",
		 full ? "spool disk full: " : "", what, s->dir, folder, name != NULL ? "/" : "",
		 name != NULL ? name : "", es);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* src into fd; the bytes copied in *copied. */
static int
copy_fd(int src, int fd, uint64_t *copied)
{
	char buf[65536];
	ssize_t n;

	*copied = 0;
	while ((n = read(src, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || write_all(fd, buf, (size_t)n) == -1)
			return -1;
		*copied += (uint64_t)n;
	}
	return 0;
}

/* tmp/name with the envelope op->env, then data or, when data is NULL and
 * src is not -1, a copy of the file src; the bytes written after the
 * envelope in *written.  Nothing is left behind on failure. */
static bool
stage_file(struct spool *s, struct spool_op *op, const char *name, const char *data, size_t len,
	   int src, uint64_t *written)
{
	int fd;

	*written = len;
	fd = openat(s->fd[F_TMP], name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		op_fail(s, op, errno, "creating", folder_names[F_TMP], name);
		return false;
	}
	if (write_all(fd, op->env, op->env_len) == -1 ||
	    (data != NULL ? write_all(fd, data, len) : src != -1 ? copy_fd(src, fd, written) : 0) ==
		    -1) {
		op_fail(s, op, errno, "writing", folder_names[F_TMP], name);
		close(fd);
	} else if (close(fd) == -1) {
		op_fail(s, op, errno, "writing", folder_names[F_TMP], name);
	}
	if (op->hr != S_OK)
		unlinkat(s->fd[F_TMP], name, 0);
	return op->hr == S_OK;
}

/* tmp/ID.msg for an add: its envelope, then its bytes or its source
 * file's. */
static bool
stage_msg(struct spool *s, struct spool_op *op, const char *name)
{
	uint64_t written;
	int src = -1;
	bool ok;

	if (op->data == NULL && (src = open(op->src_path, O_RDONLY | O_CLOEXEC)) == -1) {
		op_fail(s, op, errno, "reading", op->src_path, NULL);
		return false;
	}
	ok = stage_file(s, op, name, op->data, op->len, src, &written);
	if (src != -1)
		close(src);
	/* The envelope, written at submit, promises m->size bytes: recovery
	 * would set the message aside if it were not so. */
	if (ok && written != op->size) {
		op->hr = MAPI_E_DISK_ERROR;
		snprintf(op->error, sizeof(op->error), "%s has %" PRIu64 " bytes, not %" PRIu64,
			 op->data != NULL ? "the message" : op->src_path, written, op->size);
		unlinkat(s->fd[F_TMP], name, 0);
		ok = false;
	}
	return ok;
}

/* The name of op's file in tmp/: ID.msg for an add, ID.env.N for an
 * update. */
static void
op_tmp_name(const struct spool_op *op, char *buf, size_t len)
{
	if (op->kind == OP_ADD)
		snprintf(buf, len, "%s.msg", op->id);
	else
		snprintf(buf, len, "%s", op->tmp_env);
}

/* Remove what a failed op left in tmp/. */
static void
op_clean(struct spool *s, struct spool_op *op)
{
	char name[SPOOL_ID_LEN + 32];

	op_tmp_name(op, name, sizeof(name));
	if (op->staged)
		unlinkat(s->fd[F_TMP], name, 0);
	op->staged = false;
}

/* Write op's one file into tmp/ (not yet durable). */
static void
op_stage(struct spool *s, struct spool_op *op)
{
	char name[SPOOL_ID_LEN + 32];
	uint64_t written;

	op_tmp_name(op, name, sizeof(name));
	if (op->kind == OP_ADD ? stage_msg(s, op, name)
			       : stage_file(s, op, name, NULL, 0, -1, &written))
		op->staged = true;
}

/* Move op's durable tmp file into its queue, or unlink its files.  The
 * .msg is the commit record: it is put in place first and removed first,
 * so an .env without a .msg is a leftover, never a message. */
static void
op_apply(struct spool *s, struct spool_op *op)
{
	char msg[SPOOL_ID_LEN + 5], env[SPOOL_ID_LEN + 5];
	int qfd = s->fd[op->folder];
	struct stat st;

	snprintf(msg, sizeof(msg), "%s.msg", op->id);
	snprintf(env, sizeof(env), "%s.env", op->id);
	switch (op->kind) {
	case OP_ADD:
		if (renameat(s->fd[F_TMP], msg, qfd, msg) == -1) {
			op_fail(s, op, errno, "committing", folder_names[op->folder], msg);
			op_clean(s, op);
			return;
		}
		op->staged = false;
		return;
	case OP_UPDATE:
		/* An update must not resurrect a message whose add failed
		 * or that was removed: its envelope alone is no message. */
		if (fstatat(qfd, msg, &st, AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT) {
			op->hr = MAPI_E_NOT_FOUND;
			snprintf(op->error, sizeof(op->error), "message %s is not in the %s queue",
				 op->id, folder_names[op->folder]);
		} else if (renameat(s->fd[F_TMP], op->tmp_env, qfd, env) == -1) {
			op_fail(s, op, errno, "committing", folder_names[op->folder], env);
		} else {
			op->staged = false;
			return;
		}
		op_clean(s, op);
		return;
	case OP_REMOVE:
		if (unlinkat(qfd, msg, 0) == -1 && errno != ENOENT)
			op_fail(s, op, errno, "removing", folder_names[op->folder], msg);
		else if (unlinkat(qfd, env, 0) == -1 && errno != ENOENT)
			op_fail(s, op, errno, "removing", folder_names[op->folder], env);
		return;
	}
}

/* The folder's entries are durable only once the folder is; an add whose
 * entries may not be is taken back, since its caller hears "failed". */
static void
sync_folder(struct spool *s, enum folder f)
{
	struct spool_op *op;
	char msg[SPOOL_ID_LEN + 5];
	int errnum;

	if (fsync(s->fd[f]) == 0)
		return;
	errnum = errno;
	STAILQ_FOREACH(op, &s->batch, entry) {
		if (op->folder != f || op->hr != S_OK)
			continue;
		op_fail(s, op, errnum, "syncing", folder_names[f], NULL);
		if (op->kind != OP_ADD)
			continue;
		snprintf(msg, sizeof(msg), "%s.msg", op->id);
		unlinkat(s->fd[f], msg, 0);
	}
}

static void
batch_work(void *arg)
{
	struct spool *s = arg;
	struct spool_op *op;
	bool staged = false, touched[F_COUNT] = { false };

	STAILQ_FOREACH(op, &s->batch, entry)
		if (op->hr == S_OK && op->kind != OP_REMOVE) {
			op_stage(s, op);
			staged |= op->hr == S_OK;
		}
	/* One barrier makes every staged file's data and inode durable: the
	 * renames below must not reach the disk before what they name. */
	if (staged && syncfs(s->dir_fd) == -1) {
		int errnum = errno;

		STAILQ_FOREACH(op, &s->batch, entry)
			if (op->hr == S_OK && op->kind != OP_REMOVE) {
				op_fail(s, op, errnum, "syncing", folder_names[F_TMP], NULL);
				op_clean(s, op);
			}
	}
	STAILQ_FOREACH(op, &s->batch, entry)
		if (op->hr == S_OK) {
			op_apply(s, op);
			touched[op->folder] |= op->hr == S_OK;
		}
	/* A rename or an unlink survives a crash only once its folder is
	 * synced; one fsync per folder covers the whole batch. */
	for (enum folder f = 0; f < F_COUNT; f++)
		if (touched[f])
			sync_folder(s, f);
}

/* ---- Ops and batches, on the loop ---- */

static void
op_free(struct spool_op *op)
{
	free(op->env);
	free(op->data);
	free(op->src_path);
	free(op);
}

static void
op_nomem(struct spool_op *op)
{
	op->hr = MAPI_E_NOT_ENOUGH_MEMORY;
	snprintf(op->error, sizeof(op->error), "out of memory");
}

static void
batch_done(void *arg)
{
	struct spool *s = arg;
	struct spool_op *op;

	/* Still busy: whatever the done functions submit waits for the next
	 * batch, started on the next loop turn. */
	while ((op = STAILQ_FIRST(&s->batch)) != NULL) {
		STAILQ_REMOVE_HEAD(&s->batch, entry);
		if (op->done != NULL)
			op->done(op->ctx, op->hr, op->hr == S_OK ? NULL : op->error);
		op_free(op);
	}
	s->busy = false;
	if (!STAILQ_EMPTY(&s->pending))
		event_active(s->kick, EV_TIMEOUT, 0);
}

static void
batch_start(evutil_socket_t fd, short what, void *arg)
{
	struct spool *s = arg;
	struct spool_op *op;

	(void)fd;
	(void)what;
	if (s->busy || STAILQ_EMPTY(&s->pending))
		return;
	for (size_t n = 0; n < BATCH_MAX && (op = STAILQ_FIRST(&s->pending)) != NULL; n++) {
		STAILQ_REMOVE_HEAD(&s->pending, entry);
		STAILQ_INSERT_TAIL(&s->batch, op, entry);
	}
	s->busy = true;
	s->batches++;
	if (worker_submit(s->workers, batch_work, batch_done, s) == -1) {
		STAILQ_FOREACH(op, &s->batch, entry)
			op_nomem(op);
		batch_done(s);
	}
}

/* A new op for m, its envelope formatted now: m may change as soon as we
 * return.  NULL only when out of memory, and done has been called. */
static struct spool_op *
op_new(struct spool *s, enum op_kind kind, const struct qmsg *m, spool_done_fn done, void *ctx)
{
	struct spool_op *op;

	if ((op = calloc(1, sizeof(*op))) == NULL) {
		if (done != NULL)
			done(ctx, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
		return NULL;
	}
	op->kind = kind;
	op->folder = queue_folder(m->queue);
	op->done = done;
	op->ctx = ctx;
	op->hr = S_OK;
	memcpy(op->id, m->id, SPOOL_ID_LEN);
	snprintf(op->tmp_env, sizeof(op->tmp_env), "%s.env.%lu", op->id, ++s->tmp_seq);
	if (kind == OP_REMOVE) {
		/* The id becomes a file name: nothing but an id will do. */
		if (!qmsg_check_name(m, op->error, sizeof(op->error)))
			op->hr = MAPI_E_INVALID_PARAMETER;
	} else if ((op->env = env_format(m, &op->env_len, op->error, sizeof(op->error))) == NULL) {
		op->hr = errno == ENOMEM ? MAPI_E_NOT_ENOUGH_MEMORY : MAPI_E_INVALID_PARAMETER;
	}
	return op;
}

static void
op_enqueue(struct spool *s, struct spool_op *op)
{
	STAILQ_INSERT_TAIL(&s->pending, op, entry);
	/* Not at once: everything submitted in this loop turn joins it. */
	if (!s->busy)
		event_active(s->kick, EV_TIMEOUT, 0);
}

void
spool_add(struct spool *s, struct qmsg *m, const void *data, size_t len,
	  const char *src_path, spool_done_fn done, void *ctx)
{
	struct spool_op *op;

	if ((op = op_new(s, OP_ADD, m, done, ctx)) == NULL)
		return;
	op->size = m->size;
	/* The bytes follow the envelope as it is now, for the message's life. */
	m->data_offset = op->env_len;
	if (op->hr == S_OK && data != NULL) {
		/* Copied: the caller's buffer may go as soon as we return. */
		if ((op->data = malloc(len > 0 ? len : 1)) == NULL)
			op_nomem(op);
		else
			memcpy(op->data, data, len);
		op->len = len;
	} else if (op->hr == S_OK && (op->src_path = strdup(src_path)) == NULL) {
		op_nomem(op);
	}
	op_enqueue(s, op);
}

void
spool_update(struct spool *s, const struct qmsg *m, spool_done_fn done, void *ctx)
{
	struct spool_op *op;

	if ((op = op_new(s, OP_UPDATE, m, done, ctx)) != NULL)
		op_enqueue(s, op);
}

void
spool_remove(struct spool *s, const struct qmsg *m, spool_done_fn done, void *ctx)
{
	struct spool_op *op;

	if ((op = op_new(s, OP_REMOVE, m, done, ctx)) != NULL)
		op_enqueue(s, op);
}

unsigned long
spool_batches(const struct spool *s)
{
	return s->batches;
}

/* ---- Open, close, names ---- */

struct spool *
spool_open(const char *dir, struct worker_pool *workers, char *err, size_t errlen)
{
	struct spool *s;
	bool created = false;

	if ((s = calloc(1, sizeof(*s))) == NULL || (s->dir = strdup(dir)) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->workers = workers;
	s->dir_fd = -1;
	for (int f = 0; f < F_COUNT; f++)
		s->fd[f] = -1;
	STAILQ_INIT(&s->pending);
	STAILQ_INIT(&s->batch);
	if ((mkdir(dir, 0700) == -1 && errno != EEXIST) ||
	    (s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	/* One daemon per spool: two would deliver everything twice.  The
	 * lock goes with the descriptor, also when the daemon dies. */
	if (flock(s->dir_fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(err, errlen, errno == EWOULDBLOCK
					      ? "spool %s is in use by another mapispoold"
					      : "spool %s: cannot lock: %s",
			 dir, strerror(errno));
		goto fail;
	}
	for (int f = 0; f < F_COUNT; f++) {
		if (mkdirat(s->dir_fd, folder_names[f], 0700) == 0)
			created = true;
		if ((s->fd[f] = openat(s->dir_fd, folder_names[f],
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			snprintf(err, errlen, "%s/%s: %s", dir, folder_names[f], strerror(errno));
			goto fail;
		}
	}
	/* New folders must outlive a crash before anything is committed
	 * into them. */
	if (created && fsync(s->dir_fd) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if ((s->kick = event_new(worker_pool_base(workers), -1, 0, batch_start, s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return s;
fail:
	spool_close(s);
	return NULL;
}

static void
op_list_free(struct op_list *l)
{
	struct spool_op *op;

	while ((op = STAILQ_FIRST(l)) != NULL) {
		STAILQ_REMOVE_HEAD(l, entry);
		op_free(op);
	}
}

void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;
	op_list_free(&s->batch);
	op_list_free(&s->pending);
	if (s->kick != NULL)
		event_free(s->kick);
	for (int f = 0; f < F_COUNT; f++)
		if (s->fd[f] != -1)
			close(s->fd[f]);
	if (s->dir_fd != -1)
		close(s->dir_fd);
	free(s->dir);
	free(s);
}

void
spool_new_id(struct spool *s, char id[SPOOL_ID_LEN + 1])
{
	struct timespec ts;
	uint64_t ms;
	uint16_t rnd;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Early at boot the pool may not be ready: the counter alone then
	 * keeps IDs of this process apart. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint16_t)(ts.tv_nsec ^ getpid());
	snprintf(id, SPOOL_ID_LEN + 1, "%012" PRIx64 "%04x%04x", (uint64_t)(ms & 0xffffffffffffULL),
		 s->id_counter++ & 0xffffu, (unsigned)rnd);
}

int
spool_data_path(const struct spool *s, const struct qmsg *m, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s/%s.msg", s->dir, queue_name(m->queue), m->id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
spool_data_open(const char *path, uint64_t offset)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd != -1 && offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) == -1) {
		int errnum = errno;

		close(fd);
		errno = errnum;
		return -1;
	}
	return fd;
}

/* ---- Recovery at start: list on the loop, then read in steps ---- */

typedef void (*entry_fn)(struct spool *s, enum folder f, const char *name, void *arg);

/* fn for each entry of folder f.  Entries fn moves or removes may or may
 * not be seen again (POSIX leaves it open): fn copes with either. */
static int
scan_folder(struct spool *s, enum folder f, entry_fn fn, void *arg, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int fd;

	/* A fresh open: a dup of s->fd[f] would share its position. */
	if ((fd = openat(s->fd[f], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s/%s: %s", s->dir, folder_names[f], strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			fn(s, f, de->d_name, arg);
	if (errno != 0) {
		snprintf(err, errlen, "%s/%s: %s", s->dir, folder_names[f], strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

static void
purge_tmp(struct spool *s, enum folder f, const char *name, void *arg)
{
	(void)arg;
	if (unlinkat(s->fd[f], name, 0) == -1 && errno != ENOENT)
		log_warn("spool: cannot remove %s/%s/%s", s->dir, folder_names[f], name);
}

static void
set_aside(struct spool *s, enum folder f, const char *name)
{
	if (renameat(s->fd[f], name, s->fd[F_CORRUPT], name) == -1 && errno != ENOENT)
		log_warn("spool: cannot move %s/%s/%s to corrupt/", s->dir, folder_names[f], name);
}

/* The first bytes of an open spool file, up to its envelope's "end" line,
 * read in growing steps so that a big message costs one small read: the
 * envelope's text in *text (malloc'd) and its length in *len.  false with
 * why; *damaged unless the file could just not be read now (out of
 * memory, an I/O error): such a message is better left in place for the
 * next start than set aside. */
static bool
read_envelope(int fd, const struct stat *st, char **text, size_t *len, char *why,
	      size_t whylen, bool *damaged)
{
	size_t want = 16384, have = 0;
	int rerr = 0;
	char *buf = NULL;

	*text = NULL;
	*damaged = true;
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return false;
	}
	for (;;) {
		/* Up to one byte more than an envelope may have: one too big. */
		size_t cap = (uint64_t)st->st_size < want ? (size_t)st->st_size : want;
		char *nb = realloc(buf, cap + 1);
		const char *end;

		if (nb == NULL) {
			snprintf(why, whylen, "out of memory");
			*damaged = false;
			break;
		}
		buf = nb;
		while (have < cap) {
			ssize_t n = pread(fd, buf + have, cap - have, (off_t)have);

			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				rerr = errno;
			if (n <= 0)
				break;	/* an error, or the file is shorter now */
			have += (size_t)n;
		}
		if (rerr != 0) {
			snprintf(why, whylen, "%s", strerror(rerr));
			*damaged = false;
			break;
		}
		/* A value never holds a newline: "\nend\n" ends the envelope. */
		if ((end = memmem(buf, have, "\nend\n", 5)) != NULL) {
			*len = (size_t)(end - buf) + 5;
			*text = buf;
			return true;
		}
		if (have > SPOOL_MAX_ENV) {
			snprintf(why, whylen, "no end line within %d bytes", SPOOL_MAX_ENV);
			break;
		}
		if (have < cap || (uint64_t)have >= (uint64_t)st->st_size) {
			snprintf(why, whylen, "torn: no end line");
			break;
		}
		want = want * 4 > SPOOL_MAX_ENV + 1 ? SPOOL_MAX_ENV + 1 : want * 4;
	}
	free(buf);
	return false;
}

/* Read and check folder f's file name (ID.msg or ID.env) as an envelope of
 * the message id; NULL with why and *damaged as read_envelope says.  The
 * envelope's length in *len. */
static struct qmsg *
load_envelope(struct spool *s, enum folder f, const char *name, const char *id, struct stat *st,
	      size_t *len, char *why, size_t whylen, bool *damaged)
{
	struct qmsg *m = NULL;
	char *text = NULL;
	int fd;

	*damaged = false;
	if ((fd = openat(s->fd[f], name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, st) == -1) {
		/* A symbolic link is no file of ours. */
		*damaged = errno == ELOOP;
		snprintf(why, whylen, "%s", strerror(errno));
		goto out;
	}
	if (!read_envelope(fd, st, &text, len, why, whylen, damaged))
		goto out;
	*damaged = true;
	if ((m = spool_env_parse(text, *len, why, whylen)) == NULL)
		goto out;
	if (strcmp(m->id, id) != 0 || queue_folder(m->queue) != f) {
		snprintf(why, whylen, "envelope of %s in the %s queue", m->id,
			 queue_name(m->queue));
		qmsg_free(m);
		m = NULL;
	}
out:
	if (fd != -1)
		close(fd);
	free(text);
	return m;
}

/* The message id of folder f: ID.msg (its first envelope, then exactly
 * size bytes) and, when there, ID.env (its current envelope, which must
 * name the same size).  NULL with why and *damaged as read_envelope says. */
static struct qmsg *
load_msg(struct spool *s, enum folder f, const char *id, bool has_env, char *why,
	 size_t whylen, bool *damaged)
{
	char name[SPOOL_ID_LEN + 5];
	struct qmsg *m, *cur;
	struct stat st;
	size_t head, len;

	snprintf(name, sizeof(name), "%s.msg", id);
	if ((m = load_envelope(s, f, name, id, &st, &head, why, whylen, damaged)) == NULL)
		return NULL;
	if ((uint64_t)st.st_size - head != m->size) {
		snprintf(why, whylen, "%jd bytes after its envelope, which says %" PRIu64,
			 (intmax_t)st.st_size - (intmax_t)head, m->size);
		qmsg_free(m);
		return NULL;
	}
	m->data_offset = head;
	if (!has_env)
		return m;	/* never changed since its add */
	snprintf(name, sizeof(name), "%s.env", id);
	if ((cur = load_envelope(s, f, name, id, &st, &len, why, whylen, damaged)) == NULL) {
		qmsg_free(m);
		return NULL;
	}
	if (len != (size_t)st.st_size || cur->size != m->size) {
		snprintf(why, whylen, "%s: %s", name, len != (size_t)st.st_size
						      ? "bytes after its end line"
						      : "another size than the message's");
		*damaged = true;
		qmsg_free(cur);
		qmsg_free(m);
		return NULL;
	}
	cur->data_offset = m->data_offset;
	qmsg_free(m);
	return cur;
}

/* A message's files as a folder's listing shows them. */
struct listed {
	char id[SPOOL_ID_LEN];
	bool env;		/* ID.env, else ID.msg */
};

/* A folder's listing, sorted. */
struct listing {
	struct listed *v;
	size_t n, cap;
	bool nomem;
};

struct spool_recovery {
	struct spool *s;
	struct listing folder[2];	/* outbound, inbound */
	int at_folder;			/* 0, 1; 2: done */
	size_t at;			/* next entry of folder[at_folder] */
	size_t ids;			/* messages listed */
	size_t done;			/* messages recovered or set aside */
	long loaded;
};

static const enum folder recovery_folders[2] = { F_OUTBOUND, F_INBOUND };

/* Note every name of ours; set aside the rest.  No file is opened here:
 * knowing from the listing which messages have an ID.env saves a lookup
 * per message in a folder that may hold millions. */
static void
list_entry(struct spool *s, enum folder f, const char *name, void *arg)
{
	struct listing *l = arg;
	size_t len = strlen(name);

	if (len != SPOOL_ID_LEN + 4 || !valid_id(name, SPOOL_ID_LEN) ||
	    (strcmp(name + SPOOL_ID_LEN, ".msg") != 0 &&
	     strcmp(name + SPOOL_ID_LEN, ".env") != 0)) {
		log_warnx("spool: %s/%s/%s: not a spool file; moved to corrupt/", s->dir,
			  folder_names[f], name);
		set_aside(s, f, name);
		return;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct listed *v = reallocarray(l->v, cap, sizeof(*v));

		if (v == NULL) {
			l->nomem = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n].id, name, SPOOL_ID_LEN);
	l->v[l->n++].env = name[SPOOL_ID_LEN + 2] == 'n';
}

/* By ID, then .env before .msg; the same entry twice stays twice. */
static int
listed_cmp(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	int c = memcmp(x->id, y->id, SPOOL_ID_LEN);

	return c != 0 ? c : (int)y->env - (int)x->env;
}

/* One message of folder f, from what the listing showed of it. */
static void
recover_one(struct spool *s, enum folder f, const char *id, bool has_msg, bool has_env,
	    spool_found_fn found, void *ctx, long *n)
{
	char name[SPOOL_ID_LEN + 5], why[256];
	struct qmsg *m;
	bool damaged;

	if (!has_msg) {
		/* An envelope without its message: a remove cut short. */
		snprintf(name, sizeof(name), "%s.env", id);
		if (unlinkat(s->fd[f], name, 0) == 0)
			log_notice("spool: removed %s/%s/%s, left without its message", s->dir,
				   folder_names[f], name);
		return;
	}
	snprintf(name, sizeof(name), "%s.msg", id);
	if ((m = load_msg(s, f, id, has_env, why, sizeof(why), &damaged)) == NULL && !damaged) {
		log_warnx("spool: %s/%s/%s: %s; left in place, not loaded", s->dir,
			  folder_names[f], name, why);
		return;
	}
	if (m == NULL) {
		log_warnx("spool: %s/%s/%s: %s; moved to corrupt/", s->dir, folder_names[f], name,
			  why);
		set_aside(s, f, name);
		if (has_env) {
			snprintf(name, sizeof(name), "%s.env", id);
			set_aside(s, f, name);
		}
		return;
	}
	found(ctx, m);
	(*n)++;
}

struct spool_recovery *
spool_recover_begin(struct spool *s, char *err, size_t errlen)
{
	struct spool_recovery *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->s = s;
	/* Nothing in tmp/ was ever committed: no sync is needed either,
	 * a crash now only means doing this again. */
	if (scan_folder(s, F_TMP, purge_tmp, NULL, err, errlen) == -1)
		goto fail;
	for (int i = 0; i < 2; i++) {
		struct listing *l = &r->folder[i];
		enum folder f = recovery_folders[i];

		if (scan_folder(s, f, list_entry, l, err, errlen) == -1)
			goto fail;
		if (l->nomem) {
			snprintf(err, errlen, "%s/%s: out of memory listing it", s->dir,
				 folder_names[f]);
			goto fail;
		}
		if (l->n > 1)
			qsort(l->v, l->n, sizeof(*l->v), listed_cmp);
		for (size_t k = 0; k < l->n; k++)
			r->ids += k == 0 || memcmp(l->v[k].id, l->v[k - 1].id, SPOOL_ID_LEN) != 0;
	}
	return r;
fail:
	spool_recover_end(r);
	return NULL;
}

size_t
spool_recovery_total(const struct spool_recovery *r)
{
	return r->ids;
}

size_t
spool_recovery_done(const struct spool_recovery *r)
{
	return r->done;
}

bool
spool_recover_step(struct spool_recovery *r, size_t max, spool_found_fn found, void *ctx)
{
	for (size_t k = 0; k < max && r->at_folder < 2;) {
		struct listing *l = &r->folder[r->at_folder];
		char id[SPOOL_ID_LEN + 1];
		bool has_msg = false, has_env = false;

		if (r->at == l->n) {
			r->at_folder++;
			r->at = 0;
			continue;
		}
		memcpy(id, l->v[r->at].id, SPOOL_ID_LEN);
		id[SPOOL_ID_LEN] = '\0';
		for (; r->at < l->n && memcmp(l->v[r->at].id, id, SPOOL_ID_LEN) == 0; r->at++) {
			has_env |= l->v[r->at].env;
			has_msg |= !l->v[r->at].env;
		}
		recover_one(r->s, recovery_folders[r->at_folder], id, has_msg, has_env, found, ctx,
			    &r->loaded);
		r->done++;
		k++;
	}
	return r->at_folder < 2;
}

void
spool_recover_end(struct spool_recovery *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < 2; i++)
		free(r->folder[i].v);
	free(r);
}

long
spool_recover(struct spool *s, spool_found_fn found, void *ctx, char *err, size_t errlen)
{
	struct spool_recovery *r = spool_recover_begin(s, err, errlen);
	long n;

	if (r == NULL)
		return -1;
	while (spool_recover_step(r, SIZE_MAX, found, ctx))
		;
	n = r->loaded;
	spool_recover_end(r);
	return n;
}
