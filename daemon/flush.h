/*
 * flush.h — FlushQueues (SPEC §4): passes over one transport ("jobs") that
 * send its outbound messages, fetch its inbound ones and deliver the
 * inbound queue into the store; and the requests that wait on them.
 *
 * A transport has at most one pass running and one pending.  A request
 * that arrives while a pass runs joins the pending one (or the running
 * one, when nothing was queued for that transport since it began), so
 * simultaneous requests coalesce and nothing is sent twice; each request
 * is answered when the pass it joined ends.  The scheduler's background
 * passes go through the same two slots.
 */
#ifndef MAPISPOOLD_FLUSH_H
#define MAPISPOOLD_FLUSH_H

#include <stdbool.h>
#include <json-c/json.h>
#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

#include "spooler.h"

struct flush_cb {
	/* Progress of one transport (NULL: nobody to show it to). */
	void (*progress)(void *ctx, ULONG flush_id, const char *transport, LONG pct,
			 const char *text);
	/* The end: S_OK or MAPI_W_ERRORS_RETURNED, and the per-transport
	 * results (a JSON array, consumed). */
	void (*done)(void *ctx, ULONG flush_id, HRESULT hr, json_object *transports);
	/* Ask the requester for a secret (NULL: nobody to ask); answer(actx,
	 * value or NULL) later, on the loop. */
	void (*prompt)(void *ctx, ULONG flush_id, const char *transport, const char *text,
		       void (*answer)(void *actx, const char *value), void *actx);
	void *ctx;
};

/* FlushQueues on o, with target (a transport's entry ID) when has_target.
 * Checks everything first; on error nothing starts and err says why.
 * Else *flush_id is set and cb->done will be called exactly once. */
HRESULT flush_start(struct spooler *sp, struct status_obj *o, bool has_target,
		    const BYTE *target, size_t target_len, ULONG flags,
		    const struct flush_cb *cb, ULONG *flush_id, char *err, size_t errlen);

/* A pass nobody waits for (the scheduler): due messages only. */
void flush_background(struct xport *x, bool up, bool down);

/* A pass over x for the units queue.flush marked (qunit.kicked) only. */
void flush_kicked(struct xport *x);

/* Deliver the inbound queue into the store (at start, after recovery). */
void flush_deliver_inbound(struct spooler *sp);

/* Build and deliver a non-delivery report for m's recipients of unit
 * (-1: those no transport took), with an RFC 3463 status ("5.1.1"), then
 * call then(ctx, hr).  Nothing for the null sender. */
void flush_report(struct spooler *sp, const struct qmsg *m, int unit, const char *status,
		  const char *diagnostic, void (*then)(void *ctx, HRESULT hr), void *ctx);

/* Fail (with a report) every message older than max_lifetime, and send
 * the delay notice (notify_delay) where one is due.  Returns the time (ms)
 * the next of those is due, INT64_MAX if none. */
int64_t flush_expire(struct spooler *sp);

/* Does a request not answered yet still count on x? */
bool flush_uses(const struct spooler *sp, const struct xport *x);

/* Stop: every waiting request ends with MAPI_E_END_OF_SESSION. */
void flush_shutdown(struct spooler *sp);

/* Delay before attempt n+1 after n failed ones:
 * min(retry_max, retry_min * 2^(n-1)). */
msec_t flush_backoff(const struct spooler *sp, unsigned attempts);

#endif
