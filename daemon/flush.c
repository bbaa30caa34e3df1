/*
 * flush.c — passes over transports, and FlushQueues requests waiting on
 * them.
 *
 * A pass (struct fjob) goes through three phases: UP sends every outbound
 * message of its transport that was queued when the pass began (all of
 * them for a flush, the due ones for a background pass), up to the
 * transport's window at once (see "phase UP"); DOWN asks the transport to
 * fetch, importing each message durably before the transport may delete
 * it at its source; DELIVER moves the inbound queue into the store.
 * Status bits and progress follow the phases.
 *
 * A request (struct freq) is a list of parts, one per transport, worked in
 * transport order, one after the other, as MAPI's spooler walks them.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <mapispool/mapix.h>

#include "entryid.h"
#include "flush.h"
#include "hresult.h"
#include "log.h"
#include "protocol.h"

enum phase { PH_UP, PH_DOWN, PH_DELIVER, PH_DONE };

struct freq;

/* One transport's share of a request, and what happened to it. */
struct fpart {
	struct freq *fr;
	struct xport *x;
	bool up, down;
	bool skipped;
	HRESULT hr;
	char msg[SPOOL_MAX_ERROR];
	unsigned sent, deferred, failed, received, delivered;
	TAILQ_ENTRY(fpart) entry;	/* in the job it waits on */
};

struct freq {
	struct spooler *sp;
	ULONG id, flags;
	struct flush_cb cb;
	struct fpart *parts;
	size_t n, next;
	LIST_ENTRY(freq) entry;
};

struct fjob {
	struct xport *x;
	bool up, down, force, background;
	bool kicked_only;		/* queue.flush: the units it marked, no others */
	unsigned gen;
	enum phase phase;
	char (*targets)[SPOOL_ID_LEN + 1];
	size_t n_targets, next;
	unsigned sent, deferred, failed, received, delivered;
	HRESULT hr;
	char msg[SPOOL_MAX_ERROR];
	struct xp_fetch fetch;		/* the backend holds it during DOWN */
	struct xp_ui ui;		/* asks a waiting requester, if one may be asked */
	/* Phase UP's window: the messages handed to the transport whose
	 * outcome is not durable yet, at most `window` of them (freed at
	 * shutdown); `at_transport` of them are still with the transport. */
	LIST_HEAD(, sending) sendings;
	unsigned in_flight, at_transport, window;
	bool filling;			/* job_send_more is on the stack */
	bool cancelled;			/* a transport needed a person and had none */
	TAILQ_HEAD(, fpart) waiters;
};

/* The inbound queue is delivered by one run at a time; passes that want
 * it delivered meanwhile wait for the next run (struct flush_state). */
struct inbound_run {
	struct spooler *sp;
	char (*ids)[SPOOL_ID_LEN + 1];
	size_t n, next;
	unsigned delivered;
	struct fjob **jobs;		/* the passes this run is for */
	size_t n_jobs;
};

static void job_run(struct fjob *j);
static void freq_next(struct freq *fr);
static void inbound_start(struct spooler *sp);

msec_t
flush_backoff(const struct spooler *sp, unsigned attempts)
{
	msec_t d = sp->cfg->spooler.retry_min;

	for (unsigned i = 1; i < attempts && d < sp->cfg->spooler.retry_max; i++)
		d *= 2;
	return d < sp->cfg->spooler.retry_max ? d : sp->cfg->spooler.retry_max;
}

/* ---- status rows ---- */

static void
job_progress(struct fjob *j, LONG pct, const char *text)
{
	struct fpart *p;

	status_obj_set_progress(j->x->row, pct, text);
	status_table_changed(j->x->sp->table, j->x->row);
	TAILQ_FOREACH(p, &j->waiters, entry) {
		struct freq *fr = p->fr;

		if (fr->cb.progress != NULL && !(fr->flags & FLUSH_NO_UI))
			fr->cb.progress(fr->cb.ctx, fr->id, j->x->tc->name, pct, text);
	}
}

static void
spooler_flush_bits(struct spooler *sp, int delta)
{
	sp->flushes_running += delta;
	if (sp->flushes_running > 0)
		spooler_row_update(sp, sp->spooler_row, STATUS_OUTBOUND_FLUSH | STATUS_INBOUND_FLUSH,
				   0, NULL);
	else
		spooler_row_update(sp, sp->spooler_row, 0,
				   STATUS_OUTBOUND_FLUSH | STATUS_INBOUND_FLUSH, NULL);
}

/* ---- reports ---- */

struct report_job {
	struct spooler *sp;
	struct qmsg *m;			/* a copy: the worker reads it */
	char path[4096];
	struct report_rcpt *rr;
	size_t n;
	char *diag;
	struct own_words {		/* per recipient, when they differ */
		char status[16];
		char *diag;
	} *own;
	char *text;
	size_t len;
	void (*then)(void *ctx, HRESULT hr);
	void *ctx;
};

static void
report_job_free(struct report_job *rj)
{
	if (rj->own != NULL)
		for (size_t i = 0; i < rj->n; i++)
			free(rj->own[i].diag);
	free(rj->own);
	qmsg_free(rj->m);
	free(rj->rr);
	free(rj->diag);
	free(rj->text);
	free(rj);
}

static void
report_work(void *arg)
{
	struct report_job *rj = arg;

	rj->text = report_build_ndr(rj->m, rj->path, rj->rr, rj->n, &rj->len);
}

static void
report_stored(void *ctx, HRESULT hr, const char *error)
{
	struct report_job *rj = ctx;

	if (FAILED(hr))
		log_warnx("message %s: non-delivery report not delivered: %s", rj->m->id,
			  error ? error : hr_describe(hr));
	else
		log_info("message %s: non-delivery report delivered to the store", rj->m->id);
	rj->then(rj->ctx, hr);
	report_job_free(rj);
}

static void
report_built(void *arg)
{
	struct report_job *rj = arg;

	if (rj->text == NULL) {
		report_stored(rj, MAPI_E_NOT_ENOUGH_MEMORY, "cannot build the report");
		return;
	}
	store_deliver_data(rj->sp->store, rj->text, rj->len, report_stored, rj);
}

/* The RFC 3463 code a reply gives ("550 5.1.1 ..."), or 5.0.0. */
static void
reply_status(char *out, size_t len, const char *reply)
{
	const char *s = reply + strspn(reply, "0123456789");
	size_t n;

	s += strspn(s, " -");
	n = strspn(s, "0123456789.");
	if (s[0] == '5' && s[1] == '.' && n < len && (s[n] == ' ' || s[n] == '\0'))
		snprintf(out, len, "%.*s", (int)n, s);
	else
		snprintf(out, len, "5.0.0");
}

/* A report on m's recipients of unit (-1: those no transport took), or
 * when only is set on those of them it names as refused for good, each
 * with its own reply. */
static void
report_start(struct spooler *sp, const struct qmsg *m, int unit, const char *status,
	     const char *diagnostic, const struct xp_refusal *only, size_t n_only,
	     void (*then)(void *ctx, HRESULT hr), void *ctx)
{
	size_t slots = m->n_rcpts ? m->n_rcpts : 1;
	struct report_job *rj;
	bool oom = false;

	/* Never a report to the null sender: reports must not loop. */
	if (m->sender == NULL || *m->sender == '\0') {
		then(ctx, S_OK);
		return;
	}
	if ((rj = calloc(1, sizeof(*rj))) == NULL || (rj->m = qmsg_dup(m)) == NULL ||
	    (rj->rr = calloc(slots, sizeof(*rj->rr))) == NULL ||
	    (only != NULL && (rj->own = calloc(slots, sizeof(*rj->own))) == NULL) ||
	    (rj->diag = strdup(diagnostic != NULL ? diagnostic : "")) == NULL) {
		if (rj)
			report_job_free(rj);
		then(ctx, MAPI_E_NOT_ENOUGH_MEMORY);
		return;
	}
	rj->sp = sp;
	rj->then = then;
	rj->ctx = ctx;
	spool_data_path(sp->spool, m, rj->path, sizeof(rj->path));
	for (size_t i = 0; i < rj->m->n_rcpts && !oom; i++) {
		struct report_rcpt *rr = &rj->rr[rj->n];
		const struct xp_refusal *rf = NULL;

		/* (the caller may have marked them RCPT_DONE already) */
		if (rj->m->rcpts[i].unit != unit &&
		    (only == NULL || rj->m->rcpts[i].unit != RCPT_DONE))
			continue;
		for (size_t k = 0; only != NULL && k < n_only && rf == NULL; k++)
			if (!only[k].temporary &&
			    strcmp(only[k].address, rj->m->rcpts[i].address) == 0)
				rf = &only[k];
		if (only != NULL && rf == NULL)
			continue;
		rr->address = rj->m->rcpts[i].address;
		rr->addrtype = rj->m->rcpts[i].addrtype;
		rr->status = status;
		rr->diagnostic = rj->diag;
		if (rf != NULL) {
			struct own_words *w = &rj->own[rj->n];

			reply_status(w->status, sizeof(w->status), rf->reply);
			oom = (w->diag = strdup(rf->reply)) == NULL;
			rr->status = w->status;
			rr->diagnostic = w->diag;
		}
		rj->n++;
	}
	if (oom || rj->n == 0 || worker_submit(sp->workers, report_work, report_built, rj) == -1) {
		HRESULT hr = rj->n == 0 ? S_OK : MAPI_E_NOT_ENOUGH_MEMORY;

		report_job_free(rj);
		then(ctx, hr);
	}
}

void
flush_report(struct spooler *sp, const struct qmsg *m, int unit, const char *status,
	     const char *diagnostic, void (*then)(void *ctx, HRESULT hr), void *ctx)
{
	report_start(sp, m, unit, status, diagnostic, NULL, 0, then, ctx);
}

/* ---- settling a message after an attempt ---- */

/* What to do once a message's new state is durable. */
struct settled {
	char id[SPOOL_ID_LEN + 1];
	void (*then)(void *arg);
	void *arg;
};

static void
settle_done(void *ctx, HRESULT hr, const char *error)
{
	struct settled *st = ctx;

	if (FAILED(hr))
		log_warnx("message %s: spool update failed: %s", st->id,
			  error ? error : hr_describe(hr));
	if (st->then)
		st->then(st->arg);
	free(st);
}

/* Write m's new state, or remove it when every transport is done; then
 * (once that is on disk) call then(arg).  Waiting matters: a pass frees a
 * message's place in its window only once its outcome is durable, so a
 * crash can repeat only the messages in the window at that instant (one,
 * for a transport that sends one at a time). */
static void
msg_settle(struct spooler *sp, struct qmsg *m, void (*then)(void *arg), void *arg)
{
	struct settled *st = calloc(1, sizeof(*st));
	bool finished = true;

	if (st == NULL) {
		log_warnx("message %s: out of memory saving its state", m->id);
		if (then)
			then(arg);
		return;
	}
	memcpy(st->id, m->id, sizeof(st->id));
	st->then = then;
	st->arg = arg;
	for (size_t i = 0; i < m->n_units; i++)
		if (m->units[i].state != UNIT_SENT && m->units[i].state != UNIT_FAILED)
			finished = false;
	if (finished) {
		log_info("message %s: done, removed from the queue", m->id);
		spool_remove(sp->spool, m, settle_done, st);
		queue_delete(sp->queue, m);
	} else {
		spool_update(sp->spool, m, settle_done, st);
	}
}

/* A unit that is busy until its report is in the store, then settles in
 * state: UNIT_FAILED; or, when the report is for the recipients a server
 * refused while it took the message for others, UNIT_SENT, or
 * UNIT_DEFERRED if it deferred some. */
struct reporting {
	struct spooler *sp;
	char id[SPOOL_ID_LEN + 1];
	int unit;
	enum unit_state state;
	void (*then)(void *arg);
	void *arg;
};

/* The unit ui of m, busy from now until its report is stored; then it
 * settles in state and then(arg) runs.  NULL when out of memory (the
 * caller settles it without a report). */
static struct reporting *
reporting_begin(struct spooler *sp, struct qmsg *m, int ui, enum unit_state state,
		void (*then)(void *arg), void *arg)
{
	struct reporting *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->sp = sp;
	memcpy(f->id, m->id, sizeof(f->id));
	f->unit = ui;
	f->state = state;
	f->then = then;
	f->arg = arg;
	m->units[ui].in_flight = true;
	return f;
}

static void
unit_reported(void *ctx, HRESULT hr)
{
	struct reporting *f = ctx;
	struct qmsg *m = queue_find(f->sp->queue, f->id);

	(void)hr;
	if (m != NULL) {
		m->units[f->unit].in_flight = false;
		m->units[f->unit].state = f->state;
		msg_settle(f->sp, m, f->then, f->arg);
	} else if (f->then) {
		f->then(f->arg);
	}
	free(f);
}

static void
set_error(struct qunit *u, const char *text)
{
	free(u->last_error);
	u->last_error = text && *text ? strndup(text, SPOOL_MAX_ERROR - 1) : NULL;
}

/* The next transport in order after x that takes the recipient, or NULL. */
static struct xport *
next_taker(struct spooler *sp, const struct xport *x, const struct qrcpt *r)
{
	bool after = false;

	for (size_t i = 0; i < sp->n_xports; i++) {
		struct xport *y = sp->xports[i];

		if (y == x)
			after = true;
		else if (after && xport_takes(y, r->addrtype, r->address))
			return y;
	}
	return NULL;
}

/* The pass's result: the latest trouble, except that a cancel stays (the
 * pass stopped sending for it; sends out at that moment only finish). */
static void
job_trouble(struct fjob *j, HRESULT hr, const char *text)
{
	if (j->cancelled)
		return;
	j->hr = hr;
	snprintf(j->msg, sizeof(j->msg), "%s", text);
}

/* Record what one attempt did; then(arg) once it is durable. */
static void
apply_outcome(struct fjob *j, struct qmsg *m, int ui, const struct xp_result *r,
	      void (*then)(void *arg), void *arg)
{
	struct spooler *sp = j->x->sp;
	struct qunit *u = &m->units[ui];
	struct xport *next;

	u->in_flight = false;
	if (r->outcome == XP_CANCELLED) {
		/* Not an attempt: nothing was tried.  The rest of this pass
		 * would need the same person, so it starts no more sends (those
		 * already out finish and are recorded). */
		if (!j->cancelled)
			log_notice("%s: %s", j->x->tc->name, r->text);
		j->cancelled = true;
		j->hr = MAPI_E_USER_CANCEL;
		snprintf(j->msg, sizeof(j->msg), "%s", r->text);
		then(arg);
		return;
	}
	u->attempts++;
	switch (r->outcome) {
	case XP_CANCELLED:
		break;
	case XP_SENT: {
		struct reporting *f;
		size_t later = 0;

		for (size_t k = 0; k < r->n_refused; k++)
			later += r->refused[k].temporary;
		f = r->n_refused == 0 ? NULL
				      : reporting_begin(sp, m, ui, later ? UNIT_DEFERRED : UNIT_SENT,
							then, arg);
		if (f == NULL && later > 0) {
			/* Out of memory: those to try later must not be lost, so
			 * the whole unit is tried again (some get it twice). */
			u->state = UNIT_DEFERRED;
			u->next_attempt = spooler_now_ms() + flush_backoff(sp, u->attempts);
			set_error(u, r->text);
			j->deferred++;
			job_trouble(j, MAPI_E_WAIT, r->text);
			log_warnx("message %s: out of memory after a partial send by %s: all of "
				  "it again later", m->id, j->x->tc->name);
			msg_settle(sp, m, then, arg);
			break;
		}
		if (f == NULL) {
			/* (without memory for f, those refused have only the log) */
			log_notice("message %s: sent by %s", m->id, j->x->tc->name);
			j->sent++;
			u->state = UNIT_SENT;
			set_error(u, NULL);
			msg_settle(sp, m, then, arg);
			break;
		}
		set_error(u, r->text);
		if (later == 0) {
			log_notice("message %s: sent by %s", m->id, j->x->tc->name);
			j->sent++;
		} else {
			/* Sent to some; those to try later stay with the unit,
			 * alone: the others are done. */
			log_notice("message %s: sent by %s to some recipients, the rest later: %s",
				   m->id, j->x->tc->name, r->text);
			j->deferred++;
			job_trouble(j, MAPI_E_WAIT, r->text);
			u->next_attempt = spooler_now_ms() + flush_backoff(sp, u->attempts);
			for (size_t i = 0; i < m->n_rcpts; i++) {
				bool keep = false;

				if (m->rcpts[i].unit != ui)
					continue;
				for (size_t k = 0; k < r->n_refused && !keep; k++)
					keep = r->refused[k].temporary &&
					       strcmp(r->refused[k].address, m->rcpts[i].address) == 0;
				if (!keep)
					m->rcpts[i].unit = RCPT_DONE;
			}
		}
		/* The report on those refused for good first (none: at once);
		 * the unit is busy until it is stored.  A crash before the
		 * unit is saved sends the message again, to all of them. */
		report_start(sp, m, ui, NULL, NULL, r->refused, r->n_refused, unit_reported, f);
		break;
	}
	case XP_DEFERRED:
		u->state = UNIT_DEFERRED;
		u->next_attempt = spooler_now_ms() + flush_backoff(sp, u->attempts);
		set_error(u, r->text);
		j->deferred++;
		job_trouble(j, MAPI_E_WAIT, r->text);
		log_notice("message %s: deferred by %s: %s", m->id, j->x->tc->name, r->text);
		msg_settle(sp, m, then, arg);
		break;
	case XP_NOT_ME:
		/* Declined: the next transport that takes the address type
		 * gets the unit, as MAPI passes a recipient on. */
		next = NULL;
		for (size_t i = 0; i < m->n_rcpts && next == NULL; i++)
			if (m->rcpts[i].unit == ui)
				next = next_taker(sp, j->x, &m->rcpts[i]);
		if (next != NULL && spool_unit_find(m, next->tc->name) < 0) {
			char *name = strdup(next->tc->name);

			if (name != NULL) {
				log_notice("message %s: declined by %s, passed to %s", m->id,
					   j->x->tc->name, name);
				qmsg_release(m, u->transport);
				u->transport = name;
				u->state = UNIT_QUEUED;
				u->attempts = 0;
				u->next_attempt = 0;
				next->generation++;
				msg_settle(sp, m, then, arg);
				flush_background(next, true, false);
				break;
			}
		}
		/* nobody else takes it: it fails */
		__attribute__((fallthrough));
	case XP_FAILED: {
		struct reporting *f;

		j->failed++;
		job_trouble(j, MAPI_E_CALL_FAILED, r->text);
		set_error(u, r->text);
		log_notice("message %s: failed on %s: %s", m->id, j->x->tc->name, r->text);
		/* Busy until the report is in the store: no resend, no remove. */
		if ((f = reporting_begin(sp, m, ui, UNIT_FAILED, then, arg)) == NULL) {
			u->state = UNIT_FAILED;
			msg_settle(sp, m, then, arg);
			break;
		}
		flush_report(sp, m, ui, "5.0.0", r->text, unit_reported, f);
		break;
	}
	}
}

/* ---- asking a person ---- */

/* The first waiting request that may be asked (no FLUSH_NO_UI, and a
 * requester that can answer). */
static struct freq *
job_asker(const struct fjob *j)
{
	struct fpart *p;

	TAILQ_FOREACH(p, &j->waiters, entry)
		if (p->fr->cb.prompt != NULL && !(p->fr->flags & FLUSH_NO_UI))
			return p->fr;
	return NULL;
}

struct no_answer {
	void (*answer)(void *actx, const char *value);
	void *actx;
};

static void
no_answer_now(evutil_socket_t fd, short what, void *arg)
{
	struct no_answer *na = arg;

	(void)fd;
	(void)what;
	na->answer(na->actx, NULL);
	free(na);
}

static void
job_prompt(void *ctx, const char *transport, const char *text,
	   void (*answer)(void *actx, const char *value), void *actx)
{
	struct fjob *j = ctx;
	struct freq *fr = job_asker(j);
	struct timeval now = { 0, 0 };
	struct no_answer *na;

	if (fr != NULL) {
		fr->cb.prompt(fr->cb.ctx, fr->id, transport, text, answer, actx);
		return;
	}
	/* Nobody to ask any more: "no" — from the loop, as promised. */
	if ((na = malloc(sizeof(*na))) == NULL)
		return;
	na->answer = answer;
	na->actx = actx;
	if (event_base_once(j->x->sp->base, -1, EV_TIMEOUT, no_answer_now, na, &now) == -1)
		free(na);
}

/* What to hand a transport: a person to ask, or none. */
static const struct xp_ui *
job_ui(struct fjob *j)
{
	if (job_asker(j) == NULL)
		return NULL;
	j->ui.prompt = job_prompt;
	j->ui.ctx = j;
	return &j->ui;
}

/* ---- expiry (max_lifetime) ---- */

struct notice {
	struct spooler *sp;
	char id[SPOOL_ID_LEN + 1];
};

/* The notice is in the store: the unit's flag goes to disk, so that a
 * restart does not send another.  (A crash before that does: at least
 * once, as for every message.) */
static void
notice_sent(void *ctx, HRESULT hr)
{
	struct notice *n = ctx;
	struct qmsg *m;

	/* a notice that could not be stored is in the log */
	if (SUCCEEDED(hr) && (m = queue_find(n->sp->queue, n->id)) != NULL)
		spool_update(n->sp->spool, m, NULL, NULL);
	free(n);
}

/* notify_delay: tell the sender once that delivery is taking long. */
static void
delay_notice(struct spooler *sp, struct qmsg *m, int unit, msec_t after)
{
	char diag[SPOOL_MAX_ERROR];
	struct qunit *u = &m->units[unit];
	struct notice *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return;		/* the next look tries again */
	n->sp = sp;
	memcpy(n->id, m->id, sizeof(n->id));
	u->warned = true;
	snprintf(diag, sizeof(diag), "not delivered yet after %lld s%s%.400s; still trying",
		 (long long)(after / 1000), u->last_error ? ": " : "",
		 u->last_error ? u->last_error : "");
	log_info("message %s: delay notice for %s", m->id, u->transport);
	flush_report(sp, m, unit, "4.4.7", diag, notice_sent, n);
}

int64_t
flush_expire(struct spooler *sp)
{
	msec_t life = sp->cfg->spooler.max_lifetime, notify = sp->cfg->spooler.notify_delay;
	int64_t now = spooler_now_ms(), next = INT64_MAX;
	char diag[SPOOL_MAX_ERROR];

	snprintf(diag, sizeof(diag), "delivery time expired: still undelivered after %lld s "
		 "(max_lifetime)", (long long)(life / 1000));
	for (struct qmsg *m = queue_first(sp->queue, SPOOL_OUTBOUND); m != NULL;
	     m = queue_next(sp->queue, m)) {
		for (size_t i = 0; i < m->n_units; i++) {
			struct qunit *u = &m->units[i];
			struct reporting *f;

			if (u->in_flight || (u->state != UNIT_QUEUED && u->state != UNIT_DEFERRED))
				continue;
			if (m->queued + life > now) {
				if (m->queued + life < next)
					next = m->queued + life;
				if (notify > 0 && !u->warned) {
					if (m->queued + notify <= now)
						delay_notice(sp, m, (int)i, notify);
					else if (m->queued + notify < next)
						next = m->queued + notify;
				}
				continue;
			}
			/* Busy until the report is in the store. */
			if ((f = reporting_begin(sp, m, (int)i, UNIT_FAILED, NULL, NULL)) == NULL)
				continue;
			log_notice("message %s: expired for %s after %lld s", m->id, u->transport,
				   (long long)(life / 1000));
			set_error(u, diag);
			flush_report(sp, m, (int)i, "5.4.7", diag, unit_reported, f);
		}
	}
	return next;
}

/* ---- phase UP ----
 *
 * A window of sends.  The pass hands the transport up to j->window
 * messages at once: the backend's max_sends (an smtp transport's
 * max_connections), 1 for a backend that sends one at a time.  A message
 * holds its place in the window from the moment it is handed over until
 * its outcome is on disk (apply_outcome, then msg_settle's spool_update or
 * spool_remove); only then does the next message take the place.  So:
 *   - the transport never has more than it can run at once (nothing waits
 *     inside it), and while one message's outcome is being written the
 *     others' transfers go on; outcomes that arrive together share the
 *     spool's group commits;
 *   - a crash repeats at most the window's messages (doc/spool.md);
 *   - a cancel (a person was needed and there was none) or an allocation
 *     failure starts no more sends: those out finish and are recorded, and
 *     the pass goes on once the window is empty.  When the daemon stops,
 *     what is out is abandoned (flush_shutdown) and recovery queues it
 *     again, as it was on disk.
 * The pass leaves phase UP only when nothing is in flight: every outcome
 * of the pass is durable before it answers its requesters, and per-message
 * and per-transport back-off (apply_outcome, job_account) count each
 * outcome as before.
 */

struct sending {
	struct fjob *j;
	char id[SPOOL_ID_LEN + 1];
	int unit;
	char path[4096];
	struct xp_send req;
	LIST_ENTRY(sending) entry;	/* in j->sendings */
};

static bool
unit_eligible(const struct fjob *j, const struct qunit *u)
{
	if (u->held || u->in_flight)
		return false;
	if (u->state != UNIT_QUEUED && u->state != UNIT_DEFERRED)
		return false;
	if (j->kicked_only)
		return u->kicked;
	return !j->background || u->next_attempt <= spooler_now_ms();
}

/* How many sends the transport takes at once. */
static unsigned
job_window(const struct fjob *j)
{
	const struct transport_backend *be = j->x->ti->backend;
	unsigned n = be->max_sends != NULL ? be->max_sends(j->x->xp) : 1;

	return n > 0 ? n : 1;
}

static void job_send_more(struct fjob *j);

/* s's outcome is durable: its place in the window is free. */
static void
job_settled(void *arg)
{
	struct sending *s = arg;
	struct fjob *j = s->j;

	LIST_REMOVE(s, entry);
	free(s);
	j->in_flight--;
	job_send_more(j);
}

static void
job_sent(void *ctx, const struct xp_result *r)
{
	struct sending *s = ctx;
	struct fjob *j = s->j;
	struct qmsg *m = queue_find(j->x->sp->queue, s->id);

	if (--j->at_transport == 0)
		spooler_row_update(j->x->sp, j->x->row, 0, STATUS_OUTBOUND_ACTIVE, NULL);
	/* A message being sent cannot be removed (queue.remove says BUSY). */
	if (m != NULL)
		apply_outcome(j, m, s->unit, r, job_settled, s);
	else
		job_settled(s);
}

/* Fill the window; once nothing is left to start and nothing is in
 * flight, go on to phase DOWN.  A done function the backend calls at once
 * (allocation failure) or a settle that cannot wait brings us back here
 * from inside the loop: the outer call then carries on. */
static void
job_send_more(struct fjob *j)
{
	struct spooler *sp = j->x->sp;
	char text[64];

	if (j->filling)
		return;
	j->filling = true;
	while (j->in_flight < j->window && j->next < j->n_targets && !j->cancelled &&
	       !sp->stopping) {
		struct qmsg *m = queue_find(sp->queue, j->targets[j->next++]);
		struct sending *s;
		int ui;

		if (m == NULL || (ui = spool_unit_find(m, j->x->tc->name)) < 0 ||
		    !unit_eligible(j, &m->units[ui]))
			continue;
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			j->hr = MAPI_E_NOT_ENOUGH_MEMORY;
			j->next = j->n_targets;		/* no more: the pass ends */
			break;
		}
		s->j = j;
		memcpy(s->id, m->id, sizeof(s->id));
		s->unit = ui;
		spool_data_path(sp->spool, m, s->path, sizeof(s->path));
		s->req = (struct xp_send){ .msg = m, .unit = ui, .data_path = s->path,
					   .data_offset = m->data_offset,
					   .ui = job_ui(j), .done = job_sent, .ctx = s };
		m->units[ui].in_flight = true;
		m->units[ui].kicked = false;
		snprintf(text, sizeof(text), "sending %zu of %zu", j->next, j->n_targets);
		if (j->at_transport++ == 0)
			spooler_row_update(sp, j->x->row, STATUS_OUTBOUND_ACTIVE, 0, NULL);
		job_progress(j, (LONG)(100 * (j->next - 1) / j->n_targets), text);
		LIST_INSERT_HEAD(&j->sendings, s, entry);
		j->in_flight++;
		j->x->ti->backend->send(j->x->xp, &s->req);
	}
	j->filling = false;
	if (j->in_flight > 0 || sp->stopping)
		return;
	j->phase = PH_DOWN;
	job_run(j);
}

static void
job_collect_targets(struct fjob *j)
{
	struct spooler *sp = j->x->sp;
	size_t n = 0, cap = 0;

	for (struct qmsg *m = queue_first(sp->queue, SPOOL_OUTBOUND); m != NULL;
	     m = queue_next(sp->queue, m)) {
		int ui = spool_unit_find(m, j->x->tc->name);

		if (ui < 0 || !unit_eligible(j, &m->units[ui]))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *t = reallocarray(j->targets, nc, sizeof(*j->targets));

			if (t == NULL)
				break;
			j->targets = t;
			cap = nc;
		}
		memcpy(j->targets[n++], m->id, SPOOL_ID_LEN + 1);
	}
	j->n_targets = n;
	j->next = 0;
}

/* ---- phase DOWN ---- */

struct importing {
	struct fjob *j;
	struct qmsg *m;
	void (*imported)(void *xpctx, HRESULT hr);
	void *xpctx;
};

static void
job_imported(void *ctx, HRESULT hr, const char *error)
{
	struct importing *im = ctx;
	struct fjob *j = im->j;

	if (SUCCEEDED(hr))
		im->m = qmsg_pack(im->m);
	if (SUCCEEDED(hr) && queue_insert(j->x->sp->queue, im->m) == 0) {
		j->received++;
		log_info("message %s: received by %s", im->m->id, j->x->tc->name);
	} else {
		if (SUCCEEDED(hr))
			hr = MAPI_E_NOT_ENOUGH_MEMORY;
		j->hr = hr;
		snprintf(j->msg, sizeof(j->msg), "cannot queue a received message: %s",
			 error ? error : hr_describe(hr));
		log_warnx("%s: %s", j->x->tc->name, j->msg);
		qmsg_free(im->m);
	}
	/* Only now may the transport delete it at its source. */
	im->imported(im->xpctx, hr);
	free(im);
}

static void
job_import(void *ctx, const char *path, void (*imported)(void *xpctx, HRESULT hr),
	   void *xpctx)
{
	struct fjob *j = ctx;
	struct spooler *sp = j->x->sp;
	struct importing *im = calloc(1, sizeof(*im));
	struct stat st;
	char text[64];

	if (im == NULL || (im->m = qmsg_new()) == NULL || stat(path, &st) == -1 ||
	    (im->m->source = strdup(j->x->tc->name)) == NULL ||
	    (im->m->sender = strdup("")) == NULL) {
		if (im)
			qmsg_free(im->m);
		free(im);
		imported(xpctx, MAPI_E_DISK_ERROR);
		return;
	}
	im->j = j;
	im->imported = imported;
	im->xpctx = xpctx;
	spool_new_id(sp->spool, im->m->id);
	im->m->queue = SPOOL_INBOUND;
	im->m->queued = spooler_now_ms();
	im->m->size = (uint64_t)st.st_size;
	snprintf(text, sizeof(text), "receiving message %u", j->received + 1);
	job_progress(j, -1, text);
	spool_add(sp->spool, im->m, NULL, 0, path, job_imported, im);
}

static void
job_fetched(void *ctx, const struct xp_result *r, unsigned fetched)
{
	struct fjob *j = ctx;

	(void)fetched;
	spooler_row_update(j->x->sp, j->x->row, 0, STATUS_INBOUND_ACTIVE, NULL);
	if (r->outcome != XP_SENT) {
		j->hr = r->outcome == XP_CANCELLED ? MAPI_E_USER_CANCEL : MAPI_E_NETWORK_ERROR;
		snprintf(j->msg, sizeof(j->msg), "%s", r->text);
		log_notice("%s: fetch: %s", j->x->tc->name, r->text);
	}
	j->phase = PH_DELIVER;
	job_run(j);
}

/* ---- phase DELIVER: the inbound queue into the store ---- */

static void inbound_next(struct inbound_run *run);

static void
inbound_finish(struct inbound_run *run)
{
	struct spooler *sp = run->sp;

	sp->flush.inbound_running = NULL;
	for (size_t i = 0; i < run->n_jobs; i++) {
		struct fjob *j = run->jobs[i];

		j->delivered += run->delivered;
		j->phase = PH_DONE;
		job_run(j);
	}
	free(run->jobs);
	free(run->ids);
	free(run);
	if (sp->flush.n_inbound_waiting > 0 || sp->flush.inbound_wanted)
		inbound_start(sp);
}

static void
inbound_removed(void *ctx, HRESULT hr, const char *error)
{
	struct inbound_run *run = ctx;

	if (FAILED(hr))
		log_warnx("inbound queue: removal failed: %s", error ? error : hr_describe(hr));
	inbound_next(run);
}

static void
inbound_delivered(void *ctx, HRESULT hr, const char *error)
{
	struct inbound_run *run = ctx;
	struct qmsg *m = queue_find(run->sp->queue, run->ids[run->next - 1]);

	if (m == NULL) {
		inbound_next(run);
		return;
	}
	if (FAILED(hr)) {
		/* It stays queued, for the next run. */
		log_warnx("message %s: not delivered to the store: %s", m->id,
			  error ? error : hr_describe(hr));
		for (size_t i = 0; i < run->n_jobs; i++) {
			run->jobs[i]->hr = hr;
			snprintf(run->jobs[i]->msg, sizeof(run->jobs[i]->msg),
				 "store: %s", error ? error : hr_describe(hr));
		}
		inbound_finish(run);
		return;
	}
	log_info("message %s: delivered to the store", m->id);
	run->delivered++;
	/* The next one only once this removal is durable (see msg_settle). */
	spool_remove(run->sp->spool, m, inbound_removed, run);
	queue_delete(run->sp->queue, m);
}

static void
inbound_next(struct inbound_run *run)
{
	char path[4096];

	while (run->next < run->n) {
		struct qmsg *m = queue_find(run->sp->queue, run->ids[run->next++]);

		if (m == NULL)
			continue;
		spool_data_path(run->sp->spool, m, path, sizeof(path));
		store_deliver_file(run->sp->store, path, m->data_offset, inbound_delivered, run);
		return;
	}
	inbound_finish(run);
}

static void
inbound_start(struct spooler *sp)
{
	struct inbound_run *run = calloc(1, sizeof(*run));
	size_t n = queue_count(sp->queue, SPOOL_INBOUND), i = 0;

	if (run == NULL || (n > 0 && (run->ids = calloc(n, sizeof(*run->ids))) == NULL)) {
		free(run);
		return;
	}
	run->sp = sp;
	run->jobs = sp->flush.inbound_waiting;
	run->n_jobs = sp->flush.n_inbound_waiting;
	sp->flush.inbound_waiting = NULL;
	sp->flush.n_inbound_waiting = 0;
	sp->flush.inbound_wanted = false;
	for (struct qmsg *m = queue_first(sp->queue, SPOOL_INBOUND); m != NULL && i < n;
	     m = queue_next(sp->queue, m))
		memcpy(run->ids[i++], m->id, SPOOL_ID_LEN + 1);
	run->n = i;
	sp->flush.inbound_running = run;
	inbound_next(run);
}

/* j wants the inbound queue delivered; it goes on when that is done. */
static void
inbound_request(struct fjob *j)
{
	struct spooler *sp = j->x->sp;
	struct flush_state *fs = &sp->flush;
	struct fjob **w = reallocarray(fs->inbound_waiting, fs->n_inbound_waiting + 1, sizeof(*w));

	if (w == NULL) {
		j->phase = PH_DONE;
		job_run(j);
		return;
	}
	fs->inbound_waiting = w;
	fs->inbound_waiting[fs->n_inbound_waiting++] = j;
	job_progress(j, -1, "delivering to the store");
	if (sp->flush.inbound_running == NULL)
		inbound_start(sp);
}

void
flush_deliver_inbound(struct spooler *sp)
{
	if (queue_count(sp->queue, SPOOL_INBOUND) == 0)
		return;
	sp->flush.inbound_wanted = true;
	if (sp->flush.inbound_running == NULL)
		inbound_start(sp);
}

/* ---- passes ---- */

static json_object *
part_json(const struct fpart *p)
{
	json_object *o = json_object_new_object();
	const char *name = hr_name(p->hr);

	json_object_object_add(o, "name", json_object_new_string(p->x->tc->name));
	json_object_object_add(o, "entryid",
			       proto_bin_to_json(p->x->row->entryid, p->x->row->entryid_len));
	json_object_object_add(o, "hr", json_object_new_int(p->hr));
	json_object_object_add(o, "hr_name", json_object_new_string(name ? name : "UNKNOWN"));
	if (p->msg[0] != '\0')
		json_object_object_add(o, "message", json_object_new_string(p->msg));
	json_object_object_add(o, "skipped", json_object_new_boolean(p->skipped));
	json_object_object_add(o, "sent", json_object_new_int64(p->sent));
	json_object_object_add(o, "deferred", json_object_new_int64(p->deferred));
	json_object_object_add(o, "failed", json_object_new_int64(p->failed));
	json_object_object_add(o, "received", json_object_new_int64(p->received));
	json_object_object_add(o, "delivered", json_object_new_int64(p->delivered));
	return o;
}

static void
freq_finish(struct freq *fr)
{
	json_object *arr = json_object_new_array();
	HRESULT hr = S_OK;

	for (size_t i = 0; i < fr->n; i++) {
		json_object_array_add(arr, part_json(&fr->parts[i]));
		if (fr->parts[i].hr != S_OK)
			hr = MAPI_W_ERRORS_RETURNED;
	}
	LIST_REMOVE(fr, entry);
	fr->cb.done(fr->cb.ctx, fr->id, hr, arr);
	free(fr->parts);
	free(fr);
}

/* A transport that keeps failing backs off as a whole, instead of
 * hammering a dead relay: after XPORT_FAILING_PASSES passes in a row that
 * tried and sent nothing, for flush_backoff(passes beyond that), doubling. */
static void
job_account(struct fjob *j)
{
	struct xport *x = j->x;
	struct spooler *sp = x->sp;
	char text[SPOOL_MAX_ERROR + 64];
	msec_t wait;

	if (!j->up || (j->sent == 0 && j->deferred == 0 && j->failed == 0))
		return;
	if (j->sent > 0 || j->deferred == 0) {
		if (x->failing_passes >= XPORT_FAILING_PASSES)
			spooler_row_update(sp, x->row, 0, STATUS_FAILURE,
					   x->offline ? "Offline" : "Available");
		x->failing_passes = 0;
		x->backoff_until = 0;
		return;
	}
	if (++x->failing_passes < XPORT_FAILING_PASSES)
		return;
	wait = flush_backoff(sp, x->failing_passes - XPORT_FAILING_PASSES + 1);
	x->backoff_until = spooler_now_ms() + wait;
	snprintf(text, sizeof(text), "Failure: %.400s (backing off %lld s)", j->msg,
		 (long long)((wait + 999) / 1000));
	log_warnx("%s: %u passes failed in a row; backing off for %lld ms", x->tc->name,
		  x->failing_passes, (long long)wait);
	spooler_row_update(sp, x->row, STATUS_FAILURE, 0, text);
}

static void
job_finish(struct fjob *j)
{
	struct xport *x = j->x;
	struct spooler *sp = x->sp;
	struct fpart *p;
	ULONG clear = STATUS_OUTBOUND_ACTIVE | STATUS_INBOUND_ACTIVE;

	job_account(j);

	if (!j->background) {
		clear |= STATUS_OUTBOUND_FLUSH | STATUS_INBOUND_FLUSH;
		spooler_flush_bits(sp, -1);
	}
	status_obj_set_progress(x->row, -1, "");
	spooler_row_update(sp, x->row, 0, clear, NULL);
	x->running = NULL;
	while ((p = TAILQ_FIRST(&j->waiters)) != NULL) {
		TAILQ_REMOVE(&j->waiters, p, entry);
		p->sent = j->sent;
		p->deferred = j->deferred;
		p->failed = j->failed;
		p->received = j->received;
		p->delivered = j->delivered;
		p->hr = j->hr;
		snprintf(p->msg, sizeof(p->msg), "%s", j->msg);
		if (j->hr == MAPI_E_WAIT)
			snprintf(p->msg, sizeof(p->msg), "%u deferred: %.480s", j->deferred, j->msg);
		freq_next(p->fr);
	}
	free(j->targets);
	free(j);
	if (x->pending != NULL && !sp->stopping) {
		struct fjob *next = x->pending;

		x->pending = NULL;
		x->running = next;
		job_run(next);
	}
	spooler_schedule(sp);
	/* A transport a reload removed goes once nothing counts on it. */
	if (x->retired && x->running == NULL)
		spooler_retired_idle(sp, x);
}

static void
job_run(struct fjob *j)
{
	struct xport *x = j->x;
	const struct transport_backend *be = x->ti->backend;

	switch (j->phase) {
	case PH_UP:
		if (j->up && be != NULL && be->send != NULL) {
			job_collect_targets(j);
			j->window = job_window(j);
			job_send_more(j);
			return;
		}
		j->phase = PH_DOWN;
		/* FALLTHROUGH */
	case PH_DOWN:
		if (j->down && be != NULL && be->fetch != NULL) {
			if (!j->background)
				spooler_row_update(x->sp, x->row, STATUS_INBOUND_FLUSH, 0, NULL);
			spooler_row_update(x->sp, x->row, STATUS_INBOUND_ACTIVE, 0, NULL);
			job_progress(j, -1, "receiving");
			j->fetch = (struct xp_fetch){ .import = job_import, .done = job_fetched,
						      .ui = job_ui(j), .ctx = j };
			be->fetch(x->xp, &j->fetch);
			return;
		}
		j->phase = PH_DELIVER;
		/* FALLTHROUGH */
	case PH_DELIVER:
		if (j->down) {
			j->phase = PH_DONE;
			inbound_request(j);
			return;
		}
		/* FALLTHROUGH */
	case PH_DONE:
		job_finish(j);
		return;
	}
}

static void
job_begin(struct fjob *j)
{
	struct xport *x = j->x;

	x->running = j;
	j->gen = x->generation;
	if (!j->background) {
		spooler_flush_bits(x->sp, +1);
		spooler_row_update(x->sp, x->row, j->up ? STATUS_OUTBOUND_FLUSH : 0, 0, NULL);
	}
	job_run(j);
}

/* Attach part (NULL: a background pass) to a pass over x; kicked_only: a
 * pass for the units queue.flush marked. */
static void
job_submit(struct xport *x, bool up, bool down, bool force, bool background,
	   bool kicked_only, struct fpart *part)
{
	struct fjob *r = x->running, *j;

	/* The running pass already covers it: nothing was queued for x
	 * since it began, and it goes the asked directions. */
	if (r != NULL && r->gen == x->generation && (!up || r->up) && !down &&
	    (background || !r->background) && r->phase == PH_UP) {
		if (part)
			TAILQ_INSERT_TAIL(&r->waiters, part, entry);
		return;
	}
	if ((j = x->pending) != NULL) {
		j->up |= up;
		j->down |= down;
		j->force |= force;
		j->background &= background;
		j->kicked_only &= kicked_only;
		if (part)
			TAILQ_INSERT_TAIL(&j->waiters, part, entry);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		if (part) {
			part->hr = MAPI_E_NOT_ENOUGH_MEMORY;
			freq_next(part->fr);
		}
		return;
	}
	j->x = x;
	j->up = up;
	j->down = down;
	j->force = force;
	j->background = background;
	j->kicked_only = kicked_only;
	j->hr = S_OK;
	LIST_INIT(&j->sendings);
	TAILQ_INIT(&j->waiters);
	if (part)
		TAILQ_INSERT_TAIL(&j->waiters, part, entry);
	if (r != NULL)
		x->pending = j;
	else
		job_begin(j);
}

bool
xport_backing_off(const struct xport *x)
{
	return x->backoff_until > spooler_now_ms();
}

void
flush_background(struct xport *x, bool up, bool down)
{
	if (x->offline || x->retired || xport_backing_off(x) || x->ti->backend == NULL ||
	    x->sp->stopping)
		return;
	up = up && xport_can_send(x);
	down = down && xport_can_fetch(x);
	if (up || down)
		job_submit(x, up, down, false, true, false, NULL);
}

void
flush_kicked(struct xport *x)
{
	if (x->offline || x->retired || x->ti->backend == NULL || x->sp->stopping ||
	    !xport_can_send(x))
		return;
	job_submit(x, true, false, false, true, true, NULL);
}

/* ---- requests ---- */

/* Start the request's next part; parts that need no pass end at once. */
static void
freq_next(struct freq *fr)
{
	while (fr->next < fr->n) {
		struct fpart *p = &fr->parts[fr->next++];
		struct xport *x = p->x;

		if (x->ti->backend == NULL) {
			p->hr = MAPI_E_NO_SUPPORT;
			snprintf(p->msg, sizeof(p->msg), "this build cannot run %s transports",
				 x->ti->name);
			continue;
		}
		if (x->offline && !(fr->flags & FLUSH_FORCE)) {
			p->skipped = true;
			p->hr = MAPI_E_NETWORK_ERROR;
			snprintf(p->msg, sizeof(p->msg), "offline: skipped (FLUSH_FORCE flushes it "
				 "anyway)");
			continue;
		}
		if (xport_backing_off(x) && !(fr->flags & FLUSH_FORCE)) {
			p->skipped = true;
			p->hr = MAPI_E_NETWORK_ERROR;
			snprintf(p->msg, sizeof(p->msg), "failing, backing off: skipped (FLUSH_FORCE "
				 "tries it anyway)");
			continue;
		}
		p->up = p->up && xport_can_send(x);
		p->down = p->down && xport_can_fetch(x);
		if (!p->up && !p->down)
			continue;
		job_submit(x, p->up, p->down, fr->flags & FLUSH_FORCE, false, false, p);
		return;
	}
	freq_finish(fr);
}

static struct xport *
target_xport(struct spooler *sp, const BYTE *target, size_t len, HRESULT *hr)
{
	struct status_obj *t;

	*hr = status_table_lookup(sp->table, target, len, &t);
	if (*hr == MAPI_E_UNKNOWN_ENTRYID)
		*hr = MAPI_E_NOT_FOUND;
	if (*hr != S_OK)
		return NULL;
	if (t->kind != EID_TRANSPORT) {
		*hr = MAPI_E_NOT_FOUND;
		return NULL;
	}
	return spooler_xport_of(sp, t);
}

#define FLUSH_ALL_FLAGS (FLUSH_UPLOAD | FLUSH_DOWNLOAD | FLUSH_FORCE | FLUSH_NO_UI | FLUSH_ASYNC_OK)

HRESULT
flush_start(struct spooler *sp, struct status_obj *o, bool has_target, const BYTE *target,
	    size_t target_len, ULONG flags, const struct flush_cb *cb, ULONG *flush_id,
	    char *err, size_t errlen)
{
	struct xport *only = NULL;
	struct freq *fr;
	bool up, down;
	HRESULT hr;

	if (flags & ~FLUSH_ALL_FLAGS) {
		snprintf(err, errlen, "unknown flags 0x%08x", (unsigned)(flags & ~FLUSH_ALL_FLAGS));
		return MAPI_E_UNKNOWN_FLAGS;
	}
	if (!(o->methods & STATUS_FLUSH_QUEUES)) {
		snprintf(err, errlen, "%s has no FlushQueues (STATUS_FLUSH_QUEUES is not in its "
			 "PR_RESOURCE_METHODS)", o->display_name);
		return MAPI_E_NO_SUPPORT;
	}
	if (o->kind == EID_TRANSPORT) {
		if (has_target) {
			snprintf(err, errlen, "a target transport is given to the spooler's "
				 "FlushQueues, not to a transport's");
			return MAPI_E_INVALID_PARAMETER;
		}
		only = spooler_xport_of(sp, o);
	} else if (has_target) {
		if ((only = target_xport(sp, target, target_len, &hr)) == NULL) {
			snprintf(err, errlen, hr == MAPI_E_INVALID_ENTRYID
					      ? "the target is not an entry ID of this daemon"
					      : "the target is not a transport of this profile");
			return hr;
		}
	}
	up = flags & FLUSH_UPLOAD;
	down = flags & FLUSH_DOWNLOAD;
	if (!up && !down)
		up = down = true;
	if ((fr = calloc(1, sizeof(*fr))) == NULL ||
	    (fr->parts = calloc(only ? 1 : (sp->n_xports ? sp->n_xports : 1),
				sizeof(*fr->parts))) == NULL) {
		free(fr);
		snprintf(err, errlen, "out of memory");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	fr->sp = sp;
	fr->id = ++sp->next_flush_id;
	fr->flags = flags;
	fr->cb = *cb;
	for (size_t i = 0; i < sp->n_xports; i++) {
		struct xport *x = sp->xports[i];

		if (only != NULL && x != only)
			continue;
		fr->parts[fr->n] = (struct fpart){ .fr = fr, .x = x, .up = up, .down = down,
						   .hr = S_OK };
		fr->n++;
	}
	LIST_INSERT_HEAD(&sp->flush.requests, fr, entry);
	*flush_id = fr->id;
	log_info("flush %u: %s%s%s", (unsigned)fr->id, only ? only->tc->name : "all transports",
		 up ? ", upload" : "", down ? ", download" : "");
	freq_next(fr);
	return S_OK;
}

bool
flush_uses(const struct spooler *sp, const struct xport *x)
{
	struct freq *fr;

	LIST_FOREACH(fr, &sp->flush.requests, entry) {
		/* the part running now, and those still to come */
		for (size_t i = fr->next ? fr->next - 1 : 0; i < fr->n; i++)
			if (fr->parts[i].x == x)
				return true;
	}
	return false;
}

void
flush_shutdown(struct spooler *sp)
{
	struct freq *fr;

	sp->stopping = true;
	/* Passes in flight are abandoned: their transports are closed next
	 * and never call back.  Their requests are told. */
	while ((fr = LIST_FIRST(&sp->flush.requests)) != NULL) {
		LIST_REMOVE(fr, entry);
		fr->cb.done(fr->cb.ctx, fr->id, MAPI_E_END_OF_SESSION, NULL);
		free(fr->parts);
		free(fr);
	}
	for (size_t i = 0; i < sp->n_xports; i++) {
		struct xport *x = sp->xports[i];

		if (x->running) {
			struct sending *s;

			/* Its transport is closed next and never calls back; the
			 * spool drops the settles not yet done (recovery finds
			 * those messages as they were on disk). */
			while ((s = LIST_FIRST(&x->running->sendings)) != NULL) {
				LIST_REMOVE(s, entry);
				free(s);
			}
			free(x->running->targets);
			free(x->running);
		}
		if (x->pending) {
			free(x->pending->targets);
			free(x->pending);
		}
		x->running = x->pending = NULL;
	}
	if (sp->flush.inbound_running) {
		free(sp->flush.inbound_running->jobs);
		free(sp->flush.inbound_running->ids);
		free(sp->flush.inbound_running);
		sp->flush.inbound_running = NULL;
	}
	free(sp->flush.inbound_waiting);
	sp->flush.inbound_waiting = NULL;
	sp->flush.n_inbound_waiting = 0;
}
