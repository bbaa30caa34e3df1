/*
 * spooler.h — the spooler: owner of the profile's status objects (the
 * subsystem, itself, the default store and every transport), the queues,
 * routing, the scheduler, and (through flush.h) FlushQueues.
 *
 * It hears from the control layer only through the functions below and
 * answers through the callbacks it is given; it never sees a socket.
 */
#ifndef MAPISPOOLD_SPOOLER_H
#define MAPISPOOLD_SPOOLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

#include "conf.h"
#include "queue.h"
#include "spool.h"
#include "status_table.h"
#include "store.h"
#include "transport.h"
#include "worker.h"

struct fjob;

/* A configured transport at run time. */
struct xport {
	struct spooler *sp;
	const struct transport_config *tc;
	const struct transport_type_info *ti;
	void *xp;			/* the backend's instance; NULL: none */
	struct status_obj *row;
	bool offline;			/* ValidateState(FORCE_XP_DISCONNECT) */
	bool check_failed;		/* the last ValidateState found a problem */
	int64_t next_send;		/* ms: next scheduled send; 0: not scheduled */
	int64_t next_poll;		/* ms: next poll; 0: only on demand */
	struct fjob *running;		/* the pass over this transport now */
	struct fjob *pending;		/* the next one; requests coalesce here */
	unsigned generation;		/* bumped whenever work is queued for it */
	unsigned failing_passes;	/* passes in a row that sent nothing */
	int64_t backoff_until;		/* ms: backing off as a whole until then */
	bool retired;			/* removed by a reload: finishes its pass, then goes */
};

/* A transport that failed this many passes in a row backs off as a whole. */
#define XPORT_FAILING_PASSES 3

/* Is x backing off as a whole (a flush skips it without FLUSH_FORCE)? */
bool xport_backing_off(const struct xport *x);

/* flush.c's state, one per spooler: its types are its own. */
struct freq;
struct fjob;
struct inbound_run;
struct flush_state {
	LIST_HEAD(, freq) requests;	/* every request not answered yet */
	struct inbound_run *inbound_running;
	struct fjob **inbound_waiting;	/* passes waiting for the next run */
	size_t n_inbound_waiting;
	bool inbound_wanted;		/* a run with nobody waiting */
};

struct spooler {
	const struct config *cfg;
	struct event_base *base;
	struct worker_pool *workers;
	struct curl_loop *curl;
	struct spool *spool;
	struct store *store;
	struct queue *queue;
	struct status_table *table;
	struct status_obj *subsystem_row, *spooler_row, *store_row;
	struct advise *advise;		/* the status table's watchers */
	struct xport **xports;		/* in transport order */
	size_t n_xports;
	struct xport **retired;		/* removed by a reload, still busy */
	size_t n_retired;
	struct event *timer;		/* the scheduler's one timer */
	char tmp_dir[4096];
	unsigned flushes_running;	/* for the spooler row's flush bits */
	unsigned next_flush_id;
	bool starting;			/* reading the saved state */
	struct recovering *recovering;	/* reading the spool; NULL: done */
	void (*recovered_hook)(void *ctx);
	void *recovered_ctx;
	struct offline_save *offline_saving; /* the write of the offline list out */
	bool offline_dirty;		/* it changed since that write began */
	bool stopping;
	struct flush_state flush;	/* zero: no request, no run */
};

/* Build the spooler of cfg (which must outlive it): open the spool and
 * recover it, open the store and every transport, make the status rows.
 * NULL with a message in err on failure.  A big spool is read on the
 * workers after this returns, while the loop runs: spooler_recovering is
 * true until the queue is whole, and then the hook runs (once). */
struct spooler *spooler_new(struct event_base *base, const struct config *cfg, char *err,
			    size_t errlen);
bool spooler_recovering(const struct spooler *sp);
void spooler_set_recovered_hook(struct spooler *sp, void (*fn)(void *ctx), void *ctx);
/* Stop: pending flushes end with MAPI_E_END_OF_SESSION, then everything
 * is freed.  Call before the control server goes. */
void spooler_free(struct spooler *sp);

struct status_table *spooler_status_table(struct spooler *sp);
struct advise *spooler_advise(struct spooler *sp);
const char *spooler_profile_name(const struct spooler *sp);

/* How an operation's answer travels back: hr, members for the reply
 * (consumed; may be NULL) and words on failure. */
typedef void (*spooler_reply_fn)(void *ctx, HRESULT hr, json_object *body, const char *msg);

/* message.submit.  data is taken over (free()d by the spooler). */
struct submit_rcpt {
	const char *address;
	const char *addrtype;
};
void spooler_submit(struct spooler *sp, const char *sender, const struct submit_rcpt *rcpts,
		    size_t n, char *data, size_t len, spooler_reply_fn reply, void *ctx);

/* status.validate_state on o. */
void spooler_validate(struct spooler *sp, struct status_obj *o, ULONG flags,
		      spooler_reply_fn reply, void *ctx);

/* status.change_password on o (a transport with a password_file). */
void spooler_change_password(struct spooler *sp, struct status_obj *o, const char *old,
			     const char *new_password, spooler_reply_fn reply, void *ctx);

/* queue.list: a page of the queue as the reply's members. */
HRESULT spooler_queue_list(struct spooler *sp, enum spool_queue which, const char *after,
			   unsigned max, json_object **body, char *err, size_t errlen);
/* queue.hold, queue.release, queue.flush: on the outbound messages that
 * match every selector given (NULL: any) — the message, the transport, a
 * recipient's domain.  FLUSH tries them now (held ones stay held).
 * *count: how many messages matched. */
enum queue_action { QUEUE_HOLD, QUEUE_RELEASE, QUEUE_FLUSH };
HRESULT spooler_queue_select(struct spooler *sp, enum queue_action action, const char *id,
			     const char *transport, const char *domain, unsigned *count,
			     char *err, size_t errlen);
/* queue.remove */
HRESULT spooler_queue_remove(struct spooler *sp, const char *id, char *err, size_t errlen);

/* Can x send (or fetch) here: a backend that does, and for a maildir
 * the folder configured? */
bool xport_can_send(const struct xport *x);
bool xport_can_fetch(const struct xport *x);

/* Does x take a recipient: its address type exactly (or x is a
 * catch-all), and its domain when x has a domains rule? */
bool xport_takes(const struct xport *x, const char *addrtype, const char *address);

/* The transport whose row is o, or NULL. */
struct xport *spooler_xport_of(struct spooler *sp, const struct status_obj *o);

/* Reload (SIGHUP): the transports of cfg (which must outlive the spooler,
 * as must the profile it replaces: retired transports may still use it)
 * replace the running ones.  Unchanged transports keep running; removed
 * ones finish their pass and go, their queued messages re-routed or held;
 * new and changed ones start.  spool_dir and store cannot change.  -1 with
 * err (and nothing changed) on failure. */
int spooler_reload(struct spooler *sp, const struct config *cfg, char *err, size_t errlen);

/* A retired transport may have become idle: free it if so. */
void spooler_retired_idle(struct spooler *sp, struct xport *x);

/* Something changed that may make work due: (re)arm the timers. */
void spooler_schedule(struct spooler *sp);

/* A row's status code or text changed: set it and tell watchers. */
void spooler_row_update(struct spooler *sp, struct status_obj *o, ULONG set, ULONG clear,
			const char *text);

int64_t spooler_now_ms(void);

#endif
