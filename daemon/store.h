/*
 * store.h — the default message store: a Maildir where inbound messages
 * and reports are delivered; and the reports themselves.
 */
#ifndef MAPISPOOLD_STORE_H
#define MAPISPOOLD_STORE_H

#include <stddef.h>

#include "spool.h"
#include "worker.h"

struct store;

/* Open the store in maildir, creating its folders (a blocking mkdir: at
 * start, before serving). */
struct store *store_open(const char *maildir, struct worker_pool *workers, char *err,
			 size_t errlen);

/* Deliveries in flight use st: close it only once none is pending (after
 * worker_pool_free, say). */
void store_close(struct store *st);

/*
 * Deliver the file path from byte offset on (copied) into the store, durably; done(ctx, hr,
 * error) on the loop: S_OK (error NULL), MAPI_E_NOT_ENOUGH_DISK (disk full
 * or over quota) or MAPI_E_DISK_ERROR with words.  Only when the delivery
 * cannot even be queued (out of memory) is done called before this
 * returns, with MAPI_E_NOT_ENOUGH_MEMORY.
 */
void store_deliver_file(struct store *st, const char *path, uint64_t offset, spool_done_fn done,
			void *ctx);

/* Deliver data (copied at once) into the store, durably; done as above. */
void store_deliver_data(struct store *st, const void *data, size_t len, spool_done_fn done,
			void *ctx);

/* One recipient's line in a report. */
struct report_rcpt {
	const char *address;
	const char *addrtype;
	const char *status;	/* RFC 3463 code, "5.0.0" */
	const char *diagnostic;	/* the remote reply or our reason */
};

/* An RFC 3464 non-delivery report (multipart/report; report-type=
 * delivery-status) for m, addressed to its sender: a human part, a
 * message/delivery-status part with each recipient's status, and the
 * original headers (read from orig_path, at most 64 KiB; blocking — call
 * on a worker).  malloc'd; *len set. */
char *report_build_ndr(const struct qmsg *m, const char *orig_path,
		       const struct report_rcpt *rcpts, size_t n, size_t *len);

#endif
