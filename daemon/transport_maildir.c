/*
 * transport_maildir.c — the maildir transport: uploads by delivering into
 * a Maildir (deliver_to), downloads by importing what another program left
 * in a Maildir's new/ (pickup).  All file work runs on the worker pool.
 *
 * A local folder has no permanent failures: a full disk or a wrong
 * permission is fixed by a person, and the message waits (deferred) until
 * then or until it expires.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hresult.h"
#include "maildir.h"
#include "transport.h"

/* Files imported by one fetch at most; the rest waits for the next one, so
 * a flooded pickup folder cannot hold a flush for ever. */
#define FETCH_MAX 10000

struct xp_maildir {
	char *deliver_to;	/* NULL: does not send */
	char *pickup;		/* NULL: does not receive */
	struct event_base *base;
	struct worker_pool *workers;
	bool fetching;
	/* Operations still to come back from the pool or the spooler each
	 * hold a reference; close only marks the instance, and the last
	 * one frees it without calling anyone. */
	unsigned refs;
	bool closed;
};

struct send_job {
	struct xp_maildir *xp;
	char *data_path;
	uint64_t data_offset;
	void (*done)(void *ctx, const struct xp_result *r);
	void *ctx;
	struct xp_result r;
};

struct fetch_job {
	struct xp_maildir *xp;
	struct xp_fetch req;
	char **names;
	size_t n, next;
	unsigned fetched;
	bool running;		/* this one set xp->fetching */
	char path[PATH_MAX];	/* the file being imported */
	struct xp_result r;
	int rc;			/* of the last worker step */
};

static void
release(struct xp_maildir *xp)
{
	if (--xp->refs > 0 || !xp->closed)
		return;
	free(xp->deliver_to);
	free(xp->pickup);
	free(xp);
}

static void __attribute__((format(printf, 3, 4)))
result(struct xp_result *r, enum xp_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	r->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static void *
maildir_open(const struct transport_config *tc, const struct transport_env *env, char *err,
	     size_t errlen)
{
	struct xp_maildir *xp = calloc(1, sizeof(*xp));

	if (xp == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	xp->base = env->base;
	xp->workers = env->workers;
	xp->refs = 1;		/* the spooler's, until close */
	/* The folders are made here, blocking: open runs at start (or on a
	 * reload), where a few mkdir calls are an acceptable pause. */
	if ((tc->deliver_to != NULL && maildir_prepare(tc->deliver_to, err, errlen) == -1) ||
	    (tc->pickup != NULL && maildir_prepare(tc->pickup, err, errlen) == -1))
		goto fail;
	if ((tc->deliver_to != NULL && (xp->deliver_to = strdup(tc->deliver_to)) == NULL) ||
	    (tc->pickup != NULL && (xp->pickup = strdup(tc->pickup)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return xp;

fail:
	xp->closed = true;
	release(xp);
	return NULL;
}

static void
maildir_close(void *arg)
{
	struct xp_maildir *xp = arg;

	xp->closed = true;
	release(xp);
}

/* ---- send ---- */

static void
send_work(void *arg)
{
	struct send_job *j = arg;
	char name[NAME_MAX + 1], err[SPOOL_MAX_ERROR];

	if (maildir_deliver(j->xp->deliver_to, NULL, 0, j->data_path, j->data_offset, name, sizeof(name), err,
			    sizeof(err)) == 0) {
		result(&j->r, XP_SENT, "delivered to %s/new/%s", j->xp->deliver_to, name);
	} else {
		result(&j->r, XP_DEFERRED, "%s", err);
	}
}

static void
send_done(void *arg)
{
	struct send_job *j = arg;

	if (!j->xp->closed)
		j->done(j->ctx, &j->r);
	release(j->xp);
	free(j->data_path);
	free(j);
}

/* Results known at once still come back through the loop, never from
 * inside send: the caller may not expect to be called back yet. */
static void
send_done_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_done(arg);
}

static void
maildir_send(void *arg, struct xp_send *req)
{
	struct xp_maildir *xp = arg;
	struct send_job *j = calloc(1, sizeof(*j));
	const struct timeval now = { 0, 0 };

	if (j == NULL) {
		struct xp_result r = { .outcome = XP_DEFERRED, .text = "out of memory" };

		req->done(req->ctx, &r);
		return;
	}
	j->xp = xp;
	j->done = req->done;
	j->data_offset = req->data_offset;
	j->ctx = req->ctx;
	xp->refs++;
	if (xp->deliver_to == NULL) {
		result(&j->r, XP_NOT_ME, "this maildir transport has no deliver_to");
	} else if ((j->data_path = strdup(req->data_path)) != NULL &&
		   worker_submit(xp->workers, send_work, send_done, j) == 0) {
		return;
	} else {
		result(&j->r, XP_DEFERRED, "out of memory");
	}
	if (event_base_once(xp->base, -1, EV_TIMEOUT, send_done_cb, j, &now) == -1)
		send_done(j);
}

/* ---- fetch ---- */

static void fetch_next(struct fetch_job *f);

/* The end of a fetch: done once, unless the spooler closed us meanwhile. */
static void
fetch_finish(struct fetch_job *f)
{
	struct xp_maildir *xp = f->xp;

	if (f->running)
		xp->fetching = false;
	if (!xp->closed)
		f->req.done(f->req.ctx, &f->r, f->fetched);
	maildir_free_list(f->names, f->n);
	free(f);
	release(xp);
}

static void
fetch_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fetch_finish(arg);
}

static void
list_work(void *arg)
{
	struct fetch_job *f = arg;

	f->names = maildir_list_new(f->xp->pickup, FETCH_MAX, &f->n, f->r.text,
				    sizeof(f->r.text));
	f->rc = f->names == NULL ? -1 : 0;
}

static void
list_done(void *arg)
{
	struct fetch_job *f = arg;

	if (f->rc == -1) {
		f->r.outcome = XP_DEFERRED;
		fetch_finish(f);
		return;
	}
	fetch_next(f);
}

/* The source file goes only now that the spooler holds the message
 * durably (at least once: a crash before this imports it again). */
static void
unlink_work(void *arg)
{
	struct fetch_job *f = arg;

	f->rc = 0;
	if (unlink(f->path) == -1 && errno != ENOENT) {
		f->rc = -1;
		result(&f->r, XP_DEFERRED, "cannot remove %s: %s", f->path, strerror(errno));
	}
}

static void
unlink_done(void *arg)
{
	struct fetch_job *f = arg;

	/* A file that cannot be removed would be imported again by every
	 * fetch: stop and say so. */
	if (f->rc == -1) {
		fetch_finish(f);
		return;
	}
	fetch_next(f);
}

static void
imported(void *arg, HRESULT hr)
{
	struct fetch_job *f = arg;

	if (hr != S_OK) {
		result(&f->r, XP_DEFERRED, "cannot import %s: %s", f->path, hr_describe(hr));
		fetch_finish(f);
		return;
	}
	f->fetched++;
	/* Even after close: the spooler has the message, and the file left
	 * behind would be imported twice. */
	if (worker_submit(f->xp->workers, unlink_work, unlink_done, f) == -1) {
		result(&f->r, XP_DEFERRED, "out of memory");
		fetch_finish(f);
	}
}

/* Hand the next file to the spooler; it answers through imported. */
static void
fetch_next(struct fetch_job *f)
{
	if (f->next == f->n || f->xp->closed) {
		fetch_finish(f);
		return;
	}
	snprintf(f->path, sizeof(f->path), "%s/new/%s", f->xp->pickup, f->names[f->next++]);
	f->req.import(f->req.ctx, f->path, imported, f);
}

static void
maildir_fetch(void *arg, struct xp_fetch *req)
{
	struct xp_maildir *xp = arg;
	struct fetch_job *f = calloc(1, sizeof(*f));
	const struct timeval now = { 0, 0 };

	if (f == NULL) {
		struct xp_result r = { .outcome = XP_DEFERRED, .text = "out of memory" };

		req->done(req->ctx, &r, 0);
		return;
	}
	f->xp = xp;
	f->req = *req;
	f->r.outcome = XP_SENT;
	xp->refs++;
	if (xp->pickup == NULL) {
		result(&f->r, XP_NOT_ME, "this maildir transport has no pickup");
	} else if (xp->fetching) {
		/* Two fetches at once would import every file twice. */
		result(&f->r, XP_DEFERRED, "a fetch is already running");
	} else if (worker_submit(xp->workers, list_work, list_done, f) == 0) {
		xp->fetching = f->running = true;
		return;
	} else {
		result(&f->r, XP_DEFERRED, "out of memory");
	}
	if (event_base_once(xp->base, -1, EV_TIMEOUT, fetch_finish_cb, f, &now) == -1)
		fetch_finish(f);
}

const struct transport_backend transport_maildir = {
	.name = "maildir",
	.open = maildir_open,
	.close = maildir_close,
	.send = maildir_send,
	.fetch = maildir_fetch,
};
