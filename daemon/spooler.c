/*
 * spooler.c — the spooler: status objects made from the profile, the
 * queues recovered at start, routing and submission, queue administration,
 * ValidateState, and the scheduler that starts background passes.
 *
 * Rows come in MAPI's order: the subsystem, the spooler, the default store,
 * then the transports in transport order — profile order, with transports
 * that prefer to be last (STATUS_XP_PREFER_LAST) after the others.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mapispool/mapitags.h>
#include <mapispool/mapix.h>

#include "advise.h"
#include "curl_loop.h"
#include "flush.h"
#include "hresult.h"
#include "log.h"
#include "maildir.h"
#include "propval.h"
#include "protocol.h"
#include "spooler.h"
#include "systemd.h"

/* How long a stop waits for the workers' jobs to finish. */
#define SHUTDOWN_DRAIN_MS 2000

int64_t
spooler_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
spooler_row_update(struct spooler *sp, struct status_obj *o, ULONG set, ULONG clear,
		   const char *text)
{
	ULONG code = (o->status_code | set) & ~clear;
	bool changed = code != o->status_code;

	status_obj_set_status_code(o, code);
	if (text != NULL && strcmp(text, o->status_string) != 0) {
		status_obj_set_string(o, text);
		changed = true;
	}
	if (changed)
		status_table_changed(sp->table, o);
}

/* ---- what a transport can do here ---- */

bool
xport_can_send(const struct xport *x)
{
	const struct transport_backend *be = x->ti->backend;

	if (be == NULL || be->send == NULL)
		return false;
	return x->tc->type != TRANSPORT_MAILDIR || x->tc->deliver_to != NULL;
}

bool
xport_can_fetch(const struct xport *x)
{
	const struct transport_backend *be = x->ti->backend;

	if (be == NULL || be->fetch == NULL)
		return false;
	return x->tc->type != TRANSPORT_MAILDIR || x->tc->pickup != NULL;
}

/* The domain of an address: after its last '@'; "" when it has none. */
static const char *
address_domain(const char *address)
{
	const char *at = strrchr(address, '@');

	return at ? at + 1 : "";
}

bool
xport_takes(const struct xport *x, const char *addrtype, const char *address)
{
	bool type_ok = x->tc->n_addrtypes == 0;	/* a catch-all */

	if (!xport_can_send(x))
		return false;
	for (size_t i = 0; i < x->tc->n_addrtypes && !type_ok; i++)
		type_ok = strcmp(x->tc->addrtypes[i], addrtype) == 0;
	if (!type_ok)
		return false;
	if (x->tc->n_domains == 0)
		return true;
	for (size_t i = 0; i < x->tc->n_domains; i++)
		if (strcasecmp(x->tc->domains[i], address_domain(address)) == 0)
			return true;
	return false;
}

struct xport *
spooler_xport_of(struct spooler *sp, const struct status_obj *o)
{
	for (size_t i = 0; i < sp->n_xports; i++)
		if (sp->xports[i]->row == o)
			return sp->xports[i];
	return NULL;
}

static struct xport *
xport_named(struct spooler *sp, const char *name)
{
	for (size_t i = 0; i < sp->n_xports; i++)
		if (strcmp(sp->xports[i]->tc->name, name) == 0)
			return sp->xports[i];
	return NULL;
}

/* ---- the scheduler ----
 *
 * One timer drives everything due: scheduled sends (send = scheduled,
 * every `schedule`), polls (every `poll`), retries of deferred messages
 * (when the transport sends by itself and is not backing off), expiries
 * and delay notices.  spooler_schedule works out the earliest of them and
 * arms the timer for it; when it fires, what is due starts as background
 * passes — which never take a message that is in flight or held.
 */

static bool
sends_by_itself(const struct xport *x)
{
	return x->tc->send != SEND_ON_DEMAND && !x->offline && xport_can_send(x);
}

/* When x may send by itself next: now, or when its back-off ends. */
static int64_t
xport_ready_at(const struct xport *x)
{
	return x->backoff_until;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct spooler *sp = arg;
	int64_t now = spooler_now_ms();

	(void)fd;
	(void)what;
	flush_expire(sp);
	for (size_t i = 0; i < sp->n_xports; i++) {
		struct xport *x = sp->xports[i];

		if (x->next_send != 0 && x->next_send <= now) {
			x->next_send = now + x->tc->schedule;
			flush_background(x, true, false);
		}
		if (x->next_poll != 0 && x->next_poll <= now) {
			x->next_poll = now + x->tc->poll;
			flush_background(x, false, true);
		}
		/* Deferred messages now due (a pass takes only due ones). */
		if (sends_by_itself(x))
			flush_background(x, true, false);
	}
	spooler_schedule(sp);
}

void
spooler_schedule(struct spooler *sp)
{
	int64_t next = INT64_MAX, now = spooler_now_ms();
	struct timeval tv;

	if (sp->stopping)
		return;
	for (size_t i = 0; i < sp->n_xports; i++) {
		const struct xport *x = sp->xports[i];

		if (x->next_send != 0 && x->next_send < next)
			next = x->next_send;
		if (x->next_poll != 0 && x->next_poll < next)
			next = x->next_poll;
	}
	for (struct qmsg *m = queue_first(sp->queue, SPOOL_OUTBOUND); m != NULL;
	     m = queue_next(sp->queue, m)) {
		for (size_t i = 0; i < m->n_units; i++) {
			const struct qunit *u = &m->units[i];
			struct xport *x;

			if (u->state != UNIT_DEFERRED || u->held || u->in_flight ||
			    u->next_attempt >= next)
				continue;
			if ((x = xport_named(sp, u->transport)) != NULL && sends_by_itself(x))
				next = u->next_attempt > xport_ready_at(x) ? u->next_attempt
									   : xport_ready_at(x);
		}
	}
	/* Expiries and delay notices. */
	{
		int64_t expiry = flush_expire(sp);

		if (expiry < next)
			next = expiry;
	}
	event_del(sp->timer);
	if (next == INT64_MAX)
		return;
	next = next > now ? next - now : 0;
	tv.tv_sec = next / 1000;
	tv.tv_usec = (next % 1000) * 1000;
	event_add(sp->timer, &tv);
}

/* ---- start ---- */

static int
add_fixed_rows(struct spooler *sp)
{
	struct status_obj *o;

	o = status_table_add(sp->table, EID_SUBSYSTEM, "subsystem", MAPI_SUBSYSTEM,
			     "MAPI Subsystem", "mapispool", "mapispoold");
	if (o == NULL)
		return -1;
	status_obj_set_methods(o, STATUS_VALIDATE_STATE);
	status_obj_set_status_code(o, STATUS_AVAILABLE);
	sp->subsystem_row = o;

	o = status_table_add(sp->table, EID_SPOOLER, "spooler", MAPI_SPOOLER, "MAPI Spooler",
			     "mapispool", "mapispoold");
	if (o == NULL)
		return -1;
	status_obj_set_methods(o, STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES);
	status_obj_set_status_code(o, STATUS_AVAILABLE);
	sp->spooler_row = o;

	o = status_table_add(sp->table, EID_STORE, "store", MAPI_STORE_PROVIDER, "Default store",
			     "Maildir message store", "maildir");
	if (o == NULL)
		return -1;
	status_obj_set_methods(o, STATUS_VALIDATE_STATE);
	status_obj_set_resource_flags(o, STATUS_DEFAULT_STORE);
	status_obj_set_status_code(o, STATUS_AVAILABLE);
	sp->store_row = o;
	if (status_obj_set_string(sp->subsystem_row, "Available") == -1 ||
	    status_obj_set_string(sp->spooler_row, "Available") == -1 ||
	    status_obj_set_string(sp->store_row, "Available") == -1)
		return -1;
	return 0;
}

static int
open_xport(struct spooler *sp, struct xport *x, const struct transport_config *tc,
	   char *err, size_t errlen)
{
	struct transport_env env = { sp->base, sp->workers, sp->curl, sp->tmp_dir };
	struct status_obj *o;
	char text[256];

	x->sp = sp;
	x->tc = tc;
	x->ti = transport_type_info(tc->type);
	o = status_table_add(sp->table, EID_TRANSPORT, tc->name, MAPI_TRANSPORT_PROVIDER,
			     tc->display_name ? tc->display_name : tc->name, x->ti->display,
			     x->ti->name);
	if (o == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->row = o;
	status_obj_set_resource_flags(o, tc->prefer_last ? STATUS_XP_PREFER_LAST : 0);
	if (tc->username != NULL)
		status_obj_set_identity(o, tc->username);
	/* Can it work without a person?  Not when it asks for its password. */
	status_obj_set_needs_ui(o, tc->password_prompt);
	if (x->ti->backend == NULL) {
		/* Declared in the profile, but this build cannot run it: the
		 * row is listed, without STATUS_AVAILABLE, and says why. */
		status_obj_set_methods(o, STATUS_VALIDATE_STATE);
		snprintf(text, sizeof(text), "Unavailable: this build cannot run %s transports",
			 x->ti->name);
		return status_obj_set_string(o, text);
	}
	if ((x->xp = x->ti->backend->open(tc, &env, err, errlen)) == NULL)
		return -1;
	status_obj_set_methods(o, STATUS_VALIDATE_STATE |
				       (x->ti->own_flush ? STATUS_FLUSH_QUEUES : 0) |
				       (tc->password_file != NULL ? STATUS_CHANGE_PASSWORD : 0));
	status_obj_set_status_code(o, STATUS_AVAILABLE |
					      (xport_can_send(x) ? STATUS_OUTBOUND_ENABLED : 0) |
					      (xport_can_fetch(x) ? STATUS_INBOUND_ENABLED : 0));
	/* Its first scheduled send and poll (the scheduler's one timer). */
	if (xport_can_send(x) && tc->send == SEND_SCHEDULED)
		x->next_send = spooler_now_ms() + tc->schedule;
	if (xport_can_fetch(x) && tc->poll > 0)
		x->next_poll = spooler_now_ms() + tc->poll;
	return status_obj_set_string(o, "Available");
}

/* A transport instance, opened; NULL with err. */
static struct xport *
xport_new(struct spooler *sp, const struct transport_config *tc, char *err, size_t errlen)
{
	struct xport *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (open_xport(sp, x, tc, err, errlen) == -1) {
		if (x->xp != NULL)
			x->ti->backend->close(x->xp);
		free(x);
		return NULL;
	}
	return x;
}

/* Close x's backend and timers and free it (its row is the caller's). */
static void
xport_free(struct xport *x)
{
	if (x == NULL)
		return;
	if (x->xp != NULL)
		x->ti->backend->close(x->xp);
	free(x);
}

/* A message recovery found, packed.  The spool gives each queue's messages
 * in ID order, so every insert appends: recovery stays linear in the
 * queue's size. */
static void
recovered(struct spooler *sp, struct qmsg *m)
{
	if (queue_insert(sp->queue, m) == -1) {
		log_warnx("message %s: found twice in the spool (outbound and inbound); "
			  "this one left on disk, not queued", m->id);
		qmsg_free(m);
	}
}

static void
recovered_now(void *ctx, struct qmsg *m)
{
	recovered(ctx, qmsg_pack(m));
}

/*
 * A big spool is read on the workers, RECOVER_CHUNK messages a job, while
 * the loop serves (status queries answer; what needs the whole queue waits
 * in ops.c until spooler_recovering is false).  A spool of at most one
 * chunk is read at once, before serving.
 */
#define RECOVER_CHUNK 1024

struct recovering {
	struct spooler *sp;
	struct spool_recovery *r;
	struct qmsg *chunk[RECOVER_CHUNK];	/* the worker's, until done runs */
	size_t n;
	bool more;
};

/* On a worker: only rc is touched. */
static void
recover_collect(void *ctx, struct qmsg *m)
{
	struct recovering *rc = ctx;

	rc->chunk[rc->n++] = qmsg_pack(m);
}

static void
recover_work(void *arg)
{
	struct recovering *rc = arg;

	rc->more = spool_recover_step(rc->r, RECOVER_CHUNK, recover_collect, rc);
}

static void
recovering_free(struct recovering *rc)
{
	if (rc == NULL)
		return;
	for (size_t i = 0; i < rc->n; i++)
		qmsg_free(rc->chunk[i]);
	spool_recover_end(rc->r);
	free(rc);
}

static void recovery_finish(struct spooler *sp);

static void
recovery_progress(struct spooler *sp)
{
	struct spool_recovery *r = sp->recovering->r;
	char text[128];

	snprintf(text, sizeof(text), "Recovering the spool: %zu of %zu messages",
		 spool_recovery_done(r), spool_recovery_total(r));
	spooler_row_update(sp, sp->spooler_row, 0, 0, text);
	systemd_status("%s", text);
}

static void
recover_done(void *arg)
{
	struct recovering *rc = arg;
	struct spooler *sp = rc->sp;

	for (size_t i = 0; i < rc->n; i++)
		recovered(sp, rc->chunk[i]);
	rc->n = 0;
	if (rc->more && !sp->stopping) {
		recovery_progress(sp);
		if (worker_submit(sp->workers, recover_work, recover_done, rc) == 0)
			return;
		log_warnx("spool: out of memory: reading the rest of it at once");
		while (spool_recover_step(rc->r, SIZE_MAX, recovered_now, sp))
			;
	}
	recovery_finish(sp);
}

/* Messages whose transports are all done (a crash between the last
 * attempt and the removal) are removed now. */
static void
settle_recovered(struct spooler *sp)
{
	struct qmsg *m = queue_first(sp->queue, SPOOL_OUTBOUND), *next;

	for (; m != NULL; m = next) {
		bool live = false;

		next = queue_next(sp->queue, m);
		for (size_t i = 0; i < m->n_units; i++)
			live |= m->units[i].state == UNIT_QUEUED ||
				m->units[i].state == UNIT_DEFERRED;
		if (!live) {
			spool_remove(sp->spool, m, NULL, NULL);
			queue_delete(sp->queue, m);
		}
	}
}

static void offline_load(struct spooler *sp);

/* The queue is whole: start what the last run left to do. */
static void
recovery_finish(struct spooler *sp)
{
	recovering_free(sp->recovering);
	sp->recovering = NULL;
	if (sp->stopping)
		return;
	settle_recovered(sp);
	log_notice("spool %s: %zu outbound, %zu inbound messages recovered",
		   sp->cfg->spooler.spool_dir, queue_count(sp->queue, SPOOL_OUTBOUND),
		   queue_count(sp->queue, SPOOL_INBOUND));
	spooler_row_update(sp, sp->spooler_row, 0, 0, "Available");
	/* Pick up where the last run stopped. */
	for (size_t i = 0; i < sp->n_xports; i++)
		if (sp->xports[i]->tc->send == SEND_IMMEDIATE)
			flush_background(sp->xports[i], true, false);
	flush_deliver_inbound(sp);
	spooler_schedule(sp);
	if (sp->recovered_hook != NULL)
		sp->recovered_hook(sp->recovered_ctx);
}

bool
spooler_recovering(const struct spooler *sp)
{
	return sp->recovering != NULL;
}

void
spooler_set_recovered_hook(struct spooler *sp, void (*fn)(void *ctx), void *ctx)
{
	sp->recovered_hook = fn;
	sp->recovered_ctx = ctx;
}

static void offline_save_free(struct offline_save *o);

struct spooler *
spooler_new(struct event_base *base, const struct config *cfg, char *err, size_t errlen)
{
	struct spooler *sp;
	long n;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		goto nomem;
	sp->cfg = cfg;
	sp->base = base;
	snprintf(sp->tmp_dir, sizeof(sp->tmp_dir), "%s/tmp", cfg->spooler.spool_dir);
	if ((sp->workers = worker_pool_new(base, 4)) == NULL ||
	    (sp->queue = queue_new()) == NULL || (sp->table = status_table_new()) == NULL ||
	    (sp->timer = evtimer_new(base, on_timer, sp)) == NULL)
		goto nomem;
	if ((sp->curl = curl_loop_new(base, err, errlen)) == NULL)
		goto fail;
	if ((sp->spool = spool_open(cfg->spooler.spool_dir, sp->workers, err, errlen)) == NULL)
		goto fail;
	if ((sp->recovering = calloc(1, sizeof(*sp->recovering))) == NULL)
		goto nomem;
	sp->recovering->sp = sp;
	if ((sp->recovering->r = spool_recover_begin(sp->spool, err, errlen)) == NULL)
		goto fail;
	if ((sp->store = store_open(cfg->spooler.store, sp->workers, err, errlen)) == NULL)
		goto fail;
	if (add_fixed_rows(sp) == -1)
		goto nomem;
	if (cfg->n_transports > 0 &&
	    (sp->xports = calloc(cfg->n_transports, sizeof(*sp->xports))) == NULL)
		goto nomem;
	/* Transport order: profile order, prefer_last ones after the rest. */
	for (int last = 0; last <= 1; last++)
		for (size_t i = 0; i < cfg->n_transports; i++)
			if (cfg->transports[i].prefer_last == (bool)last &&
			    (sp->xports[sp->n_xports++] =
				     xport_new(sp, &cfg->transports[i], err, errlen)) == NULL)
				goto fail;
	if ((sp->advise = advise_new(sp->table)) == NULL)
		goto nomem;
	sp->starting = true;
	offline_load(sp);
	sp->starting = false;
	n = (long)spool_recovery_total(sp->recovering->r);
	if (n <= RECOVER_CHUNK) {
		while (spool_recover_step(sp->recovering->r, SIZE_MAX, recovered_now, sp))
			;
		recovery_finish(sp);
	} else if (worker_submit(sp->workers, recover_work, recover_done, sp->recovering) == 0) {
		log_notice("spool %s: recovering %ld messages while serving", cfg->spooler.spool_dir,
			   n);
		recovery_progress(sp);
	} else {
		goto nomem;
	}
	return sp;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	spooler_free(sp);
	return NULL;
}

void
spooler_free(struct spooler *sp)
{
	if (sp == NULL)
		return;
	/* Let what the workers are doing finish and report (a report being
	 * stored, a state being written): at most a moment; nothing new
	 * starts now.  What is left after that is dropped, and recovery
	 * finds it on disk. */
	sp->stopping = true;
	if (sp->workers != NULL && sp->base != NULL) {
		int64_t deadline = spooler_now_ms() + SHUTDOWN_DRAIN_MS;

		while (worker_pending(sp->workers) > 0 && spooler_now_ms() < deadline) {
			event_base_loop(sp->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
			usleep(1000);
		}
	}
	flush_shutdown(sp);
	advise_free(sp->advise);
	for (size_t i = 0; i < sp->n_xports; i++)
		xport_free(sp->xports[i]);
	for (size_t i = 0; i < sp->n_retired; i++)
		xport_free(sp->retired[i]);
	free(sp->retired);
	curl_loop_free(sp->curl);
	/* Jobs still queued on the workers are dropped; a message they were
	 * writing stays as it was on disk, and recovery finds it. */
	worker_pool_free(sp->workers);
	/* A recovery stopped halfway: the rest stays on disk for the next
	 * start, and what a dropped job read is freed. */
	recovering_free(sp->recovering);
	/* A save whose done never ran (the pool dropped it). */
	if (sp->offline_saving != NULL)
		offline_save_free(sp->offline_saving);
	spool_close(sp->spool);
	store_close(sp->store);
	if (sp->timer)
		event_free(sp->timer);
	queue_free(sp->queue);
	status_table_free(sp->table);
	free(sp->xports);
	free(sp);
}

struct status_table *
spooler_status_table(struct spooler *sp)
{
	return sp->table;
}

struct advise *
spooler_advise(struct spooler *sp)
{
	return sp->advise;
}

const char *
spooler_profile_name(const struct spooler *sp)
{
	return sp->cfg->spooler.profile_name;
}

/* ---- submission ---- */

struct submitting {
	struct spooler *sp;
	struct qmsg *m;
	size_t undeliverable;
	spooler_reply_fn reply;
	void *ctx;
};

static bool
address_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static json_object *
submit_body(const struct qmsg *m)
{
	json_object *body = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(body, "message_id", json_object_new_string(m->id));
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const struct qrcpt *r = &m->rcpts[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "address", json_object_new_string(r->address));
		json_object_object_add(o, "addrtype", json_object_new_string(r->addrtype));
		json_object_object_add(o, "transport",
				       r->unit >= 0
					       ? json_object_new_string(m->units[r->unit].transport)
					       : NULL);
		json_object_array_add(arr, o);
	}
	json_object_object_add(body, "recipients", arr);
	return body;
}

static void
submit_answer(struct submitting *st)
{
	struct spooler *sp = st->sp;
	struct qmsg *m = st->m;
	HRESULT hr = st->undeliverable ? MAPI_W_PARTIAL_COMPLETION : S_OK;

	st->reply(st->ctx, hr, submit_body(m), NULL);
	if (m->n_units == 0) {
		/* Nothing to send: only the report was due. */
		spool_remove(sp->spool, m, NULL, NULL);
		queue_delete(sp->queue, m);
	} else {
		for (size_t i = 0; i < m->n_units; i++) {
			struct xport *x = xport_named(sp, m->units[i].transport);

			x->generation++;
			if (x->tc->send == SEND_IMMEDIATE)
				flush_background(x, true, false);
		}
		/* Its lifetime, if nothing else, is now due some day. */
		spooler_schedule(sp);
	}
	free(st);
}

static void
submit_reported(void *ctx, HRESULT hr)
{
	(void)hr;	/* a report that could not be stored is in the log */
	submit_answer(ctx);
}

static void
submit_committed(void *ctx, HRESULT hr, const char *error)
{
	struct submitting *st = ctx;
	struct spooler *sp = st->sp;

	if (FAILED(hr)) {
		st->reply(st->ctx, hr, NULL, error ? error : hr_describe(hr));
		qmsg_free(st->m);
		free(st);
		return;
	}
	st->m = qmsg_pack(st->m);
	if (queue_insert(sp->queue, st->m) == -1) {
		st->reply(st->ctx, MAPI_E_NOT_ENOUGH_MEMORY, NULL, "out of memory");
		qmsg_free(st->m);
		free(st);
		return;
	}
	log_info("message %s: queued, %zu bytes from <%s> to %zu recipient%s", st->m->id,
		 (size_t)st->m->size, st->m->sender, (size_t)st->m->n_rcpts,
		 st->m->n_rcpts == 1 ? "" : "s");
	if (st->undeliverable > 0)
		flush_report(sp, st->m, -1, "5.1.1", "no transport handles this address type",
			     submit_reported, st);
	else
		submit_answer(st);
}

/* Route each recipient to the first transport that takes its address
 * type; recipients of one transport share a unit.  *undeliverable counts
 * those no transport takes.  -1 if out of memory. */
static int
route(struct spooler *sp, struct qmsg *m, size_t *undeliverable)
{
	*undeliverable = 0;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		struct qrcpt *r = &m->rcpts[i];
		struct xport *x = NULL;
		int ui;

		for (size_t k = 0; k < sp->n_xports && x == NULL; k++)
			if (xport_takes(sp->xports[k], r->addrtype, r->address))
				x = sp->xports[k];
		if (x == NULL) {
			r->unit = -1;
			(*undeliverable)++;
			continue;
		}
		if ((ui = spool_unit_find(m, x->tc->name)) < 0) {
			struct qunit *u = reallocarray(m->units, m->n_units + 1, sizeof(*u));

			if (u == NULL)
				return -1;
			m->units = u;
			ui = (int)m->n_units++;
			memset(&m->units[ui], 0, sizeof(m->units[ui]));
			if ((m->units[ui].transport = strdup(x->tc->name)) == NULL)
				return -1;
			m->units[ui].state = UNIT_QUEUED;
		}
		r->unit = ui;
	}
	return 0;
}

void
spooler_submit(struct spooler *sp, const char *sender, const struct submit_rcpt *rcpts,
	       size_t n, char *data, size_t len, spooler_reply_fn reply, void *ctx)
{
	struct submitting *st = NULL;
	struct qmsg *m = NULL;
	char msg[256];
	HRESULT hr = MAPI_E_INVALID_PARAMETER;

	if (n == 0) {
		hr = MAPI_E_NO_RECIPIENTS;
		snprintf(msg, sizeof(msg), "a message needs at least one recipient");
		goto fail;
	}
	if (n > SPOOL_MAX_RCPTS) {
		snprintf(msg, sizeof(msg), "at most %d recipients per message", SPOOL_MAX_RCPTS);
		goto fail;
	}
	if (len > sp->cfg->spooler.max_message_size) {
		hr = MAPI_E_TOO_BIG;
		snprintf(msg, sizeof(msg), "message of %zu bytes is over max_message_size (%llu)",
			 len, (unsigned long long)sp->cfg->spooler.max_message_size);
		goto fail;
	}
	if (!address_ok(sender, SPOOL_MAX_ADDRESS)) {
		snprintf(msg, sizeof(msg), "bad sender address");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (*rcpts[i].address == '\0' || !address_ok(rcpts[i].address, SPOOL_MAX_ADDRESS) ||
		    *rcpts[i].addrtype == '\0' || !address_ok(rcpts[i].addrtype, 32) ||
		    strpbrk(rcpts[i].addrtype, " \t") != NULL) {
			snprintf(msg, sizeof(msg), "recipient %zu: empty, too long, or with "
				 "control characters", i + 1);
			goto fail;
		}
	}
	hr = MAPI_E_NOT_ENOUGH_MEMORY;
	snprintf(msg, sizeof(msg), "out of memory");
	if ((m = qmsg_new()) == NULL || (st = calloc(1, sizeof(*st))) == NULL ||
	    (m->sender = strdup(sender)) == NULL ||
	    (m->rcpts = calloc(n, sizeof(*m->rcpts))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++, m->n_rcpts++)
		if ((m->rcpts[i].address = strdup(rcpts[i].address)) == NULL ||
		    (m->rcpts[i].addrtype = strdup(rcpts[i].addrtype)) == NULL)
			goto fail;
	spool_new_id(sp->spool, m->id);
	m->queue = SPOOL_OUTBOUND;
	m->queued = spooler_now_ms();
	m->size = len;
	if (route(sp, m, &st->undeliverable) == -1)
		goto fail;
	st->sp = sp;
	st->m = m;
	st->reply = reply;
	st->ctx = ctx;
	/* The spool copies the bytes at once. */
	spool_add(sp->spool, m, data, len, NULL, submit_committed, st);
	free(data);
	return;
fail:
	qmsg_free(m);
	free(st);
	free(data);
	reply(ctx, hr, NULL, msg);
}

/* ---- the queues ---- */

static json_object *
time_json(int64_t ms)
{
	SPropValue pv = { .ulPropTag = PR_DELIVER_TIME };
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	propval_filetime_from_timespec(&pv.Value.ft, &ts);
	return propval_to_json(&pv);
}

static json_object *
entry_json(const struct qmsg *m)
{
	json_object *o = json_object_new_object(), *rc = json_object_new_array();

	json_object_object_add(o, "id", json_object_new_string(m->id));
	json_object_object_add(o, "queued", time_json(m->queued));
	json_object_object_add(o, "sender", json_object_new_string(m->sender ? m->sender : ""));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)m->size));
	if (m->source != NULL)
		json_object_object_add(o, "source", json_object_new_string(m->source));
	for (size_t i = 0; i < m->n_rcpts; i++) {
		json_object *r = json_object_new_object();
		int ui = m->rcpts[i].unit;

		json_object_object_add(r, "address", json_object_new_string(m->rcpts[i].address));
		json_object_object_add(r, "addrtype", json_object_new_string(m->rcpts[i].addrtype));
		json_object_object_add(r, "transport",
				       ui >= 0 ? json_object_new_string(m->units[ui].transport)
					       : NULL);
		if (ui == RCPT_DONE)
			json_object_object_add(r, "done", json_object_new_boolean(true));
		json_object_array_add(rc, r);
	}
	json_object_object_add(o, "recipients", rc);
	if (m->queue == SPOOL_OUTBOUND) {
		json_object *us = json_object_new_array();

		for (size_t i = 0; i < m->n_units; i++) {
			const struct qunit *u = &m->units[i];
			json_object *j = json_object_new_object();

			json_object_object_add(j, "transport", json_object_new_string(u->transport));
			json_object_object_add(j, "state",
					       json_object_new_string(unit_state_name(u->state)));
			json_object_object_add(j, "held", json_object_new_boolean(u->held));
			json_object_object_add(j, "in_flight", json_object_new_boolean(u->in_flight));
			json_object_object_add(j, "attempts", json_object_new_int64(u->attempts));
			json_object_object_add(j, "next_attempt",
					       u->next_attempt ? time_json(u->next_attempt) : NULL);
			json_object_object_add(j, "last_error",
					       u->last_error ? json_object_new_string(u->last_error)
							     : NULL);
			json_object_array_add(us, j);
		}
		json_object_object_add(o, "units", us);
	}
	return o;
}

HRESULT
spooler_queue_list(struct spooler *sp, enum spool_queue which, const char *after,
		   unsigned max, json_object **body, char *err, size_t errlen)
{
	json_object *arr;
	struct qmsg *m;
	unsigned n = 0;

	if (max == 0 || max > 1000) {
		snprintf(err, errlen, "\"max\" must be from 1 to 1000");
		return MAPI_E_INVALID_PARAMETER;
	}
	m = after ? queue_after(sp->queue, which, after) : queue_first(sp->queue, which);
	arr = json_object_new_array();
	for (; m != NULL && n < max; m = queue_next(sp->queue, m), n++)
		json_object_array_add(arr, entry_json(m));
	*body = json_object_new_object();
	json_object_object_add(*body, "entries", arr);
	json_object_object_add(*body, "count",
			       json_object_new_int64((int64_t)queue_count(sp->queue, which)));
	if (m != NULL && n > 0)
		json_object_object_add(*body, "next",
				       json_object_new_string(json_object_get_string(
					       json_object_object_get(
						       json_object_array_get_idx(arr, n - 1), "id"))));
	return S_OK;
}

static struct qmsg *
find_outbound(struct spooler *sp, const char *id, char *err, size_t errlen)
{
	struct qmsg *m = queue_find(sp->queue, id);

	if (m == NULL || m->queue != SPOOL_OUTBOUND) {
		snprintf(err, errlen, "no queued outbound message %.40s", id);
		return NULL;
	}
	return m;
}

static bool
unit_has_domain(const struct qmsg *m, size_t ui, const char *domain)
{
	for (size_t r = 0; r < m->n_rcpts; r++)
		if (m->rcpts[r].unit == (int)ui &&
		    strcasecmp(address_domain(m->rcpts[r].address), domain) == 0)
			return true;
	return false;
}

/* Apply action to unit u of m; true if that changed something. */
static bool
unit_apply(struct spooler *sp, struct qunit *u, enum queue_action action)
{
	struct xport *x = xport_named(sp, u->transport);

	if (u->state != UNIT_QUEUED && u->state != UNIT_DEFERRED)
		return false;
	switch (action) {
	case QUEUE_HOLD:
		if (u->held)
			return false;
		u->held = true;
		return true;
	case QUEUE_RELEASE:
		if (!u->held)
			return false;
		u->held = false;
		break;
	case QUEUE_FLUSH:
		u->next_attempt = 0;
		u->kicked = true;
		break;
	}
	if (x != NULL)
		x->generation++;
	return true;
}

HRESULT
spooler_queue_select(struct spooler *sp, enum queue_action action, const char *id,
		     const char *transport, const char *domain, unsigned *count, char *err,
		     size_t errlen)
{
	static const char *const verbs[] = { "held", "released", "flushed" };
	struct qmsg *m, *next;

	*count = 0;
	if (transport != NULL && xport_named(sp, transport) == NULL) {
		snprintf(err, errlen, "no transport %.64s in this profile", transport);
		return MAPI_E_NOT_FOUND;
	}
	m = id ? queue_find(sp->queue, id) : queue_first(sp->queue, SPOOL_OUTBOUND);
	for (; m != NULL; m = next) {
		bool matched = false, changed = false;

		next = id ? NULL : queue_next(sp->queue, m);
		if (m->queue != SPOOL_OUTBOUND)
			continue;
		for (size_t i = 0; i < m->n_units; i++) {
			struct qunit *u = &m->units[i];

			if ((transport && strcmp(u->transport, transport) != 0) ||
			    (domain && !unit_has_domain(m, i, domain)))
				continue;
			matched = true;
			changed |= unit_apply(sp, u, action);
		}
		if (!matched)
			continue;
		(*count)++;
		if (changed) {
			spool_update(sp->spool, m, NULL, NULL);
			log_notice("message %s: %s%s%s", m->id, verbs[action],
				   transport ? " for " : "", transport ? transport : "");
		}
	}
	if (*count == 0 && id != NULL) {
		snprintf(err, errlen, "no queued outbound message %.40s%s%.64s", id,
			 transport ? " for transport " : "", transport ? transport : "");
		return MAPI_E_NOT_FOUND;
	}
	/* Released: due for transports that send by themselves.  Flushed: a
	 * pass for just those, on-demand transports too. */
	for (size_t i = 0; i < sp->n_xports; i++) {
		if (action == QUEUE_FLUSH)
			flush_kicked(sp->xports[i]);
		else if (action == QUEUE_RELEASE && sp->xports[i]->tc->send == SEND_IMMEDIATE)
			flush_background(sp->xports[i], true, false);
	}
	spooler_schedule(sp);
	return S_OK;
}

HRESULT
spooler_queue_remove(struct spooler *sp, const char *id, char *err, size_t errlen)
{
	struct qmsg *m = find_outbound(sp, id, err, errlen);

	if (m == NULL)
		return MAPI_E_NOT_FOUND;
	for (size_t i = 0; i < m->n_units; i++) {
		if (m->units[i].in_flight) {
			snprintf(err, errlen, "message %s is being sent by %s right now", id,
				 m->units[i].transport);
			return MAPI_E_BUSY;
		}
	}
	log_notice("message %s: removed from the queue by request", id);
	spool_remove(sp->spool, m, NULL, NULL);
	queue_delete(sp->queue, m);
	spooler_schedule(sp);
	return S_OK;
}

/* ---- ValidateState ---- */

#define VALIDATE_ALL_FLAGS (SUPPRESS_UI | REFRESH_XP_HEADER_CACHE | PROCESS_XP_HEADER_CACHE | \
			    FORCE_XP_CONNECT | FORCE_XP_DISCONNECT | CONFIG_CHANGED | \
			    ABORT_XP_HEADER_OPERATION | SHOW_XP_SESSION_UI)

/* What to look at, checked on a worker: can we write where we deliver,
 * read where we pick up, run what we run? */
struct check {
	struct status_obj *row;
	char path[4096];
	int mode;			/* access() mode */
	bool search_path;		/* a program name without '/' */
	int error;			/* errno of the check */
};

struct validating {
	struct spooler *sp;
	struct check *checks;
	size_t n;
	spooler_reply_fn reply;
	void *ctx;
};

static int
program_access(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (path == NULL)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name) <
			    (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return 0;
		path += len + (path[len] == ':');
	}
	return ENOENT;
}

static void
validate_work(void *arg)
{
	struct validating *v = arg;

	for (size_t i = 0; i < v->n; i++) {
		struct check *c = &v->checks[i];

		if (c->search_path)
			c->error = program_access(c->path);
		else
			c->error = access(c->path, c->mode) == 0 ? 0 : errno;
	}
}

static void
validate_done(void *arg)
{
	struct validating *v = arg;
	struct spooler *sp = v->sp;
	HRESULT hr = S_OK;
	char msg[512] = "";

	/* Each row is failing if any of its checks failed. */
	for (size_t i = 0; i < v->n; i++) {
		struct status_obj *row = v->checks[i].row;
		bool bad = false;
		char text[512];

		if (i > 0 && v->checks[i - 1].row == row)
			continue;
		for (size_t k = i; k < v->n && v->checks[k].row == row; k++) {
			if (v->checks[k].error != 0 && !bad) {
				bad = true;
				snprintf(text, sizeof(text), "Failure: %.400s: %s", v->checks[k].path,
					 strerror(v->checks[k].error));
			}
		}
		if (bad) {
			hr = MAPI_E_CALL_FAILED;
			snprintf(msg, sizeof(msg), "%s: %s", row->display_name, text + 9);
			spooler_row_update(sp, row, STATUS_FAILURE, 0, text);
		} else {
			spooler_row_update(sp, row, 0, STATUS_FAILURE,
					   row->status_code & STATUS_OFFLINE ? "Offline"
									    : "Available");
		}
	}
	v->reply(v->ctx, hr, NULL, msg[0] ? msg : NULL);
	free(v->checks);
	free(v);
}

static void
add_check(struct validating *v, struct status_obj *row, const char *path, int mode)
{
	struct check *c = &v->checks[v->n++];

	c->row = row;
	c->mode = mode;
	c->search_path = mode == X_OK && strchr(path, '/') == NULL;
	snprintf(c->path, sizeof(c->path), "%s", path);
}

static void
add_xport_checks(struct validating *v, struct xport *x)
{
	const struct transport_config *tc = x->tc;

	if (x->ti->backend == NULL)
		return;
	if (tc->deliver_to)
		add_check(v, x->row, tc->deliver_to, W_OK);
	if (tc->pickup)
		add_check(v, x->row, tc->pickup, R_OK | W_OK);
	if (tc->command) {
		char prog[4096];

		/* The program is the command's first word. */
		snprintf(prog, sizeof(prog), "%.*s", (int)strcspn(tc->command, " \t"),
			 tc->command[0] == '"' ? tc->command + 1 : tc->command);
		prog[strcspn(prog, "\"")] = '\0';
		add_check(v, x->row, prog, X_OK);
	}
}

/* The offline transports survive a restart: their names, one a line, in
 * spool_dir/state/offline, replaced by rename on the worker pool. */
struct offline_save {
	struct spooler *sp;
	char path[4096];
	char *text;
};

static void
offline_save_work(void *arg)
{
	struct offline_save *o = arg;
	char tmp[4200];
	size_t len = strlen(o->text);
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", o->path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, o->text, len) != (ssize_t)len || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, o->path) == -1) {
		/* The loop logs nothing from here: the state is only lost on a
		 * restart, and the next change writes it again. */
		if (fd != -1)
			close(fd);
		unlink(tmp);
	}
}

static void offline_save(struct spooler *sp);

static void
offline_save_free(struct offline_save *o)
{
	free(o->text);
	free(o);
}

static void
offline_save_done(void *arg)
{
	struct offline_save *o = arg;
	struct spooler *sp = o->sp;

	offline_save_free(o);
	sp->offline_saving = NULL;
	/* Changed meanwhile: write the newest state (writes never race). */
	if (sp->offline_dirty) {
		sp->offline_dirty = false;
		offline_save(sp);
	}
}

static void
offline_save(struct spooler *sp)
{
	struct offline_save *o;
	size_t len = 1;

	if (sp->offline_saving != NULL) {
		sp->offline_dirty = true;
		return;
	}
	o = calloc(1, sizeof(*o));

	for (size_t i = 0; i < sp->n_xports; i++)
		len += strlen(sp->xports[i]->tc->name) + 1;
	if (o == NULL || (o->text = calloc(1, len)) == NULL) {
		free(o);
		return;
	}
	for (size_t i = 0; i < sp->n_xports; i++) {
		if (sp->xports[i]->offline) {
			strcat(o->text, sp->xports[i]->tc->name);
			strcat(o->text, "\n");
		}
	}
	snprintf(o->path, sizeof(o->path), "%s/state/offline", sp->cfg->spooler.spool_dir);
	o->sp = sp;
	if (worker_submit(sp->workers, offline_save_work, offline_save_done, o) == -1)
		offline_save_free(o);
	else
		sp->offline_saving = o;
}

static void set_offline(struct spooler *sp, struct xport *x, bool offline);

/* At start (blocking is fine then): who was offline when we stopped. */
static void
offline_load(struct spooler *sp)
{
	char path[4096], line[CONFIG_NAME_MAX + 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state", sp->cfg->spooler.spool_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/state/offline", sp->cfg->spooler.spool_dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct xport *x;

		line[strcspn(line, "\n")] = '\0';
		if ((x = xport_named(sp, line)) != NULL)
			set_offline(sp, x, true);
	}
	fclose(f);
}

static void
set_offline(struct spooler *sp, struct xport *x, bool offline)
{
	if (x->ti->backend == NULL || x->offline == offline)
		return;
	x->offline = offline;
	log_notice("%s: %s", x->tc->name, offline ? "offline" : "online");
	if (!sp->starting)
		offline_save(sp);
	if (offline) {
		spooler_row_update(sp, x->row, STATUS_OFFLINE, 0, "Offline");
	} else {
		spooler_row_update(sp, x->row, 0, STATUS_OFFLINE, "Available");
		if (x->tc->send == SEND_IMMEDIATE)
			flush_background(x, true, false);
	}
}

void
spooler_validate(struct spooler *sp, struct status_obj *o, ULONG flags, spooler_reply_fn reply,
		 void *ctx)
{
	struct xport *only = o->kind == EID_TRANSPORT ? spooler_xport_of(sp, o) : NULL;
	bool all = o->kind == EID_SPOOLER || o->kind == EID_SUBSYSTEM;
	struct validating *v;
	char msg[128];

	if (flags & ~VALIDATE_ALL_FLAGS) {
		snprintf(msg, sizeof(msg), "unknown flags 0x%08x",
			 (unsigned)(flags & ~VALIDATE_ALL_FLAGS));
		reply(ctx, MAPI_E_UNKNOWN_FLAGS, NULL, msg);
		return;
	}
	if ((flags & FORCE_XP_CONNECT) && (flags & FORCE_XP_DISCONNECT)) {
		reply(ctx, MAPI_E_INVALID_PARAMETER, NULL,
		      "FORCE_XP_CONNECT and FORCE_XP_DISCONNECT together");
		return;
	}
	/* "Work offline" and back: on a transport, or on all of them. */
	for (size_t i = 0; i < sp->n_xports; i++) {
		struct xport *x = sp->xports[i];

		if (!all && x != only)
			continue;
		if (flags & FORCE_XP_DISCONNECT)
			set_offline(sp, x, true);
		if (flags & FORCE_XP_CONNECT)
			set_offline(sp, x, false);
	}
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->checks = calloc(3 * (sp->n_xports + 1) + 2, sizeof(*v->checks))) == NULL) {
		free(v);
		reply(ctx, MAPI_E_NOT_ENOUGH_MEMORY, NULL, "out of memory");
		return;
	}
	v->sp = sp;
	v->reply = reply;
	v->ctx = ctx;
	if (o->kind == EID_STORE || o->kind == EID_SUBSYSTEM)
		add_check(v, sp->store_row, sp->cfg->spooler.store, W_OK);
	if (o->kind == EID_SUBSYSTEM || o->kind == EID_SPOOLER)
		add_check(v, sp->spooler_row, sp->cfg->spooler.spool_dir, W_OK);
	for (size_t i = 0; i < sp->n_xports; i++)
		if (all || sp->xports[i] == only)
			add_xport_checks(v, sp->xports[i]);
	if (worker_submit(sp->workers, validate_work, validate_done, v) == -1) {
		free(v->checks);
		free(v);
		reply(ctx, MAPI_E_NOT_ENOUGH_MEMORY, NULL, "out of memory");
	}
}

/* ---- ChangePassword ---- */

struct changing {
	struct spooler *sp;
	struct xport *x;
	char path[4096];
	char *old, *new_password;
	HRESULT hr;
	char msg[512];
	spooler_reply_fn reply;
	void *ctx;
};

/* Compare without telling, by timing, how much matched. */
static bool
secret_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = na != nb;

	for (size_t i = 0; i < na && i < nb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* On a worker: check the old password, then write the new file beside
 * the old one and rename it over (the file must never be half written). */
static void
change_work(void *arg)
{
	struct changing *c = arg;
	char tmp[4200], *cur;
	size_t len = strlen(c->new_password);
	int fd = -1, dfd = -1;
	char *slash;

	if ((cur = transport_read_password(c->path, c->msg, sizeof(c->msg))) == NULL) {
		c->hr = MAPI_E_DISK_ERROR;
		return;
	}
	if (!secret_equal(cur, c->old)) {
		transport_free_secret(cur);
		c->hr = MAPI_E_NO_ACCESS;
		snprintf(c->msg, sizeof(c->msg), "the old password is wrong");
		return;
	}
	transport_free_secret(cur);
	snprintf(tmp, sizeof(tmp), "%s.new", c->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1 ||
	    write(fd, c->new_password, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) == -1 || close(fd) == -1 || rename(tmp, c->path) == -1) {
		snprintf(c->msg, sizeof(c->msg), "cannot write %.300s: %s", c->path,
			 strerror(errno));
		c->hr = MAPI_E_DISK_ERROR;
		if (fd != -1)
			close(fd);
		unlink(tmp);
		return;
	}
	if ((slash = strrchr(tmp, '/')) != NULL) {
		*slash = '\0';
		if ((dfd = open(slash == tmp ? "/" : tmp, O_RDONLY | O_DIRECTORY)) != -1) {
			fsync(dfd);
			close(dfd);
		}
	}
	c->hr = S_OK;
}

static void
change_done(void *arg)
{
	struct changing *c = arg;

	if (c->hr == S_OK) {
		if (c->x->ti->backend->set_password != NULL)
			c->x->ti->backend->set_password(c->x->xp, c->new_password);
		log_notice("%s: password changed", c->x->tc->name);
	} else {
		log_notice("%s: password not changed: %s", c->x->tc->name, c->msg);
	}
	c->reply(c->ctx, c->hr, NULL, c->hr == S_OK ? NULL : c->msg);
	transport_free_secret(c->old);
	transport_free_secret(c->new_password);
	free(c);
}

void
spooler_change_password(struct spooler *sp, struct status_obj *o, const char *old,
			const char *new_password, spooler_reply_fn reply, void *ctx)
{
	struct xport *x = o->kind == EID_TRANSPORT ? spooler_xport_of(sp, o) : NULL;
	struct changing *c;

	if (x == NULL || !(o->methods & STATUS_CHANGE_PASSWORD) || x->tc->password_file == NULL) {
		reply(ctx, MAPI_E_NO_SUPPORT, NULL,
		      "only a transport with a password_file has ChangePassword");
		return;
	}
	if (strlen(new_password) == 0 || strlen(new_password) > 512 ||
	    strpbrk(new_password, "\r\n") != NULL) {
		reply(ctx, MAPI_E_INVALID_PARAMETER, NULL,
		      "a password is 1 to 512 bytes on one line");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->old = strdup(old)) == NULL ||
	    (c->new_password = strdup(new_password)) == NULL) {
		if (c) {
			transport_free_secret(c->old);
			free(c);
		}
		reply(ctx, MAPI_E_NOT_ENOUGH_MEMORY, NULL, "out of memory");
		return;
	}
	c->sp = sp;
	c->x = x;
	c->reply = reply;
	c->ctx = ctx;
	snprintf(c->path, sizeof(c->path), "%s", x->tc->password_file);
	if (worker_submit(sp->workers, change_work, change_done, c) == -1) {
		transport_free_secret(c->old);
		transport_free_secret(c->new_password);
		free(c);
		reply(ctx, MAPI_E_NOT_ENOUGH_MEMORY, NULL, "out of memory");
	}
}

/* ---- reload (SIGHUP) ---- */

static bool
str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
list_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_same(a[i], b[i]))
			return false;
	return true;
}

/* Same transport, same settings: the running instance can stay. */
static bool
transport_same(const struct transport_config *a, const struct transport_config *b)
{
	return strcmp(a->name, b->name) == 0 && a->type == b->type &&
	       str_same(a->display_name, b->display_name) &&
	       list_same(a->addrtypes, a->n_addrtypes, b->addrtypes, b->n_addrtypes) &&
	       list_same(a->domains, a->n_domains, b->domains, b->n_domains) &&
	       a->prefer_last == b->prefer_last && a->send == b->send &&
	       a->schedule == b->schedule && str_same(a->deliver_to, b->deliver_to) &&
	       str_same(a->pickup, b->pickup) && str_same(a->url, b->url) &&
	       str_same(a->username, b->username) && str_same(a->password_file, b->password_file) &&
	       a->password_prompt == b->password_prompt && str_same(a->ca_file, b->ca_file) &&
	       a->starttls == b->starttls && str_same(a->helo, b->helo) &&
	       a->max_connections == b->max_connections && a->keep == b->keep &&
	       str_same(a->folder, b->folder) && a->poll == b->poll &&
	       str_same(a->command, b->command) && a->timeout == b->timeout;
}

static bool
xport_busy(struct spooler *sp, const struct xport *x)
{
	return x->running != NULL || x->pending != NULL || flush_uses(sp, x);
}

/* Units of transports that are gone go to the first transport that takes
 * their recipients now, or are held, saying why. */
static void
reroute_orphans(struct spooler *sp)
{
	for (struct qmsg *m = queue_first(sp->queue, SPOOL_OUTBOUND); m != NULL;
	     m = queue_next(sp->queue, m)) {
		bool changed = false;

		for (size_t i = 0; i < m->n_units; i++) {
			struct qunit *u = &m->units[i];
			struct xport *to = NULL;
			char why[SPOOL_MAX_ERROR];
			char *name;

			if (u->in_flight || xport_named(sp, u->transport) != NULL ||
			    (u->state != UNIT_QUEUED && u->state != UNIT_DEFERRED))
				continue;
			for (size_t r = 0; r < m->n_rcpts && to == NULL; r++)
				if (m->rcpts[r].unit == (int)i)
					for (size_t k = 0; k < sp->n_xports && to == NULL; k++)
						if (xport_takes(sp->xports[k], m->rcpts[r].addrtype,
								m->rcpts[r].address))
							to = sp->xports[k];
			if (to != NULL && spool_unit_find(m, to->tc->name) < 0 &&
			    (name = strdup(to->tc->name)) != NULL) {
				snprintf(why, sizeof(why), "transport %s removed by a reload; "
					 "re-routed to %s", u->transport, name);
				log_notice("message %s: %s", m->id, why);
				qmsg_release(m, u->transport);
				u->transport = name;
				u->next_attempt = 0;
				to->generation++;
			} else {
				snprintf(why, sizeof(why), "transport %s removed by a reload, and no "
					 "other takes these recipients: held", u->transport);
				log_warnx("message %s: %s", m->id, why);
				u->held = true;
			}
			free(u->last_error);
			u->last_error = strdup(why);
			changed = true;
		}
		if (changed)
			spool_update(sp->spool, m, NULL, NULL);
	}
}

/* A retired transport's last pass ended: it can go. */
void
spooler_retired_idle(struct spooler *sp, struct xport *x)
{
	if (xport_busy(sp, x))
		return;
	for (size_t i = 0; i < sp->n_retired; i++) {
		if (sp->retired[i] == x) {
			sp->retired[i] = sp->retired[--sp->n_retired];
			break;
		}
	}
	status_obj_destroy(x->row);
	xport_free(x);
	reroute_orphans(sp);
	spooler_schedule(sp);
}

static void
retire(struct spooler *sp, struct xport *x)
{
	struct xport **r;

	x->retired = true;
	x->next_send = x->next_poll = 0;
	if (!xport_busy(sp, x)) {
		status_table_remove(sp->table, x->row);
		xport_free(x);
		return;
	}
	/* Busy: its row leaves the table now, the rest when its pass ends. */
	status_table_detach(sp->table, x->row);
	r = reallocarray(sp->retired, sp->n_retired + 1, sizeof(*r));
	if (r == NULL) {
		log_warnx("%s: out of memory retiring it; it stays until the daemon stops",
			  x->tc->name);
		return;
	}
	sp->retired = r;
	sp->retired[sp->n_retired++] = x;
}

int
spooler_reload(struct spooler *sp, const struct config *cfg, char *err, size_t errlen)
{
	struct xport **next, **created;
	const struct transport_config **tcs;
	struct status_obj **order;
	size_t n = 0, n_created = 0;

	if (sp->recovering != NULL) {
		snprintf(err, errlen, "the spool is still being recovered (%zu of %zu messages "
			 "read): reload once it is", spool_recovery_done(sp->recovering->r),
			 spool_recovery_total(sp->recovering->r));
		return -1;
	}
	if (strcmp(cfg->spooler.spool_dir, sp->cfg->spooler.spool_dir) != 0 ||
	    strcmp(cfg->spooler.store, sp->cfg->spooler.store) != 0 ||
	    strcmp(cfg->spooler.profile_name, sp->cfg->spooler.profile_name) != 0) {
		snprintf(err, errlen, "profile, spool_dir and store cannot change without a "
			 "restart");
		return -1;
	}
	next = calloc(cfg->n_transports + 1, sizeof(*next));
	created = calloc(cfg->n_transports + 1, sizeof(*created));
	order = calloc(cfg->n_transports + 3, sizeof(*order));
	tcs = calloc(cfg->n_transports + 1, sizeof(*tcs));
	if (next == NULL || created == NULL || order == NULL || tcs == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* The new transport order; what did not change keeps running. */
	for (int last = 0; last <= 1; last++) {
		for (size_t i = 0; i < cfg->n_transports; i++) {
			const struct transport_config *tc = &cfg->transports[i];
			struct xport *x = xport_named(sp, tc->name);

			if (tc->prefer_last != (bool)last)
				continue;
			if (x != NULL && transport_same(x->tc, tc)) {
				/* Its settings move to the new profile only once
				 * the reload cannot fail any more. */
				tcs[n] = tc;
				next[n++] = x;
				continue;
			}
			if ((x = xport_new(sp, tc, err, errlen)) == NULL)
				goto fail;
			tcs[n] = tc;
			created[n_created++] = next[n++] = x;
		}
	}
	for (size_t i = 0; i < n; i++)
		next[i]->tc = tcs[i];
	/* Those not carried over go: now, or when their pass ends. */
	for (size_t i = 0; i < sp->n_xports; i++) {
		bool kept = false;

		for (size_t k = 0; k < n && !kept; k++)
			kept = next[k] == sp->xports[i];
		if (!kept) {
			bool replaced = false;

			for (size_t k = 0; k < n && !replaced; k++)
				replaced = strcmp(next[k]->tc->name, sp->xports[i]->tc->name) == 0;
			log_notice("%s: %s by the reload", sp->xports[i]->tc->name,
				   replaced ? "replaced" : "removed");
			retire(sp, sp->xports[i]);
		}
	}
	for (size_t i = 0; i < n_created; i++) {
		log_notice("%s: started by the reload", created[i]->tc->name);
		status_table_added(sp->table, created[i]->row);
	}
	free(sp->xports);
	sp->xports = next;
	sp->n_xports = n;
	sp->cfg = cfg;
	order[0] = sp->subsystem_row;
	order[1] = sp->spooler_row;
	order[2] = sp->store_row;
	for (size_t i = 0; i < n; i++)
		order[3 + i] = next[i]->row;
	status_table_order(sp->table, order, n + 3);
	free(order);
	free(created);
	free(tcs);
	reroute_orphans(sp);
	for (size_t i = 0; i < n; i++)
		if (sp->xports[i]->tc->send == SEND_IMMEDIATE)
			flush_background(sp->xports[i], true, false);
	spooler_schedule(sp);
	return 0;
fail:
	for (size_t i = 0; i < n_created; i++) {
		status_table_remove(sp->table, created[i]->row);
		xport_free(created[i]);
	}
	free(next);
	free(created);
	free(order);
	free(tcs);
	return -1;
}
