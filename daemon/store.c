/*
 * store.c — the default message store: deliveries into its Maildir, run on
 * the worker pool and answered on the loop.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maildir.h"
#include "store.h"

struct store {
	char *dir;
	struct worker_pool *workers;
};

struct delivery {
	struct store *st;
	char *path;		/* the file to copy, or NULL: data */
	uint64_t offset;	/* from this byte of path on */
	void *data;
	size_t len;
	spool_done_fn done;
	void *ctx;
	/* the worker's answer */
	int rc;
	int err;
	char error[SPOOL_MAX_ERROR];
};

struct store *
store_open(const char *maildir, struct worker_pool *workers, char *err, size_t errlen)
{
	struct store *st;

	if (maildir_prepare(maildir, err, errlen) == -1)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->dir = strdup(maildir)) == NULL) {
		free(st);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->workers = workers;
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	free(st->dir);
	free(st);
}

/* On a worker. */
static void
deliver_work(void *arg)
{
	struct delivery *d = arg;

	d->rc = maildir_deliver(d->st->dir, d->data, d->len, d->path, d->offset, NULL, 0,
				d->error, sizeof(d->error));
	d->err = errno;
}

static void
delivery_free(struct delivery *d)
{
	free(d->path);
	free(d->data);
	free(d);
}

/* On the loop. */
static void
deliver_done(void *arg)
{
	struct delivery *d = arg;
	HRESULT hr = S_OK;

	if (d->rc == -1)
		hr = d->err == ENOSPC || d->err == EDQUOT ? MAPI_E_NOT_ENOUGH_DISK
							  : MAPI_E_DISK_ERROR;
	d->done(d->ctx, hr, hr == S_OK ? NULL : d->error);
	delivery_free(d);
}

static void
submit(struct store *st, struct delivery *d, spool_done_fn done, void *ctx)
{
	if (d != NULL) {
		d->st = st;
		d->done = done;
		d->ctx = ctx;
		if (worker_submit(st->workers, deliver_work, deliver_done, d) == 0)
			return;
		delivery_free(d);
	}
	done(ctx, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
}

void
store_deliver_file(struct store *st, const char *path, uint64_t offset, spool_done_fn done,
		   void *ctx)
{
	struct delivery *d = calloc(1, sizeof(*d));

	if (d != NULL && (d->path = strdup(path)) == NULL) {
		free(d);
		d = NULL;
	}
	if (d != NULL)
		d->offset = offset;
	submit(st, d, done, ctx);
}

void
store_deliver_data(struct store *st, const void *data, size_t len, spool_done_fn done,
		   void *ctx)
{
	struct delivery *d = calloc(1, sizeof(*d));

	/* malloc(0) may be NULL: an empty message still needs a buffer to
	 * tell it from "copy a file". */
	if (d != NULL && (d->data = malloc(len > 0 ? len : 1)) == NULL) {
		free(d);
		d = NULL;
	}
	if (d != NULL && len > 0) {
		memcpy(d->data, data, len);
		d->len = len;
	}
	submit(st, d, done, ctx);
}
