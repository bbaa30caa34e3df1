/*
 * spool.h — the durable queues on disk (SPEC §7; doc/spool.md).
 *
 * spool_dir/
 *   tmp/       files being written; anything here at start is discarded
 *   outbound/  submitted messages: ID.msg (the envelope as first written,
 *              then the bytes; never changed) and, once the state has
 *              changed, ID.env (the current envelope, replaced whole)
 *   inbound/   received messages waiting for the store: the same files
 *   corrupt/   files found torn or invalid at start, set aside
 *
 * A message is committed when its .msg is renamed into its queue folder
 * after it is durable: one new file per message, since creating a file is
 * the dearest thing a file system does.  Every later state change writes a
 * new .env and renames it over the old one.  Writes that arrive together
 * are committed together: one batch is written, then one syncfs() on the
 * spool's file system, then renamed, then the folders synced, and only then
 * are the callers told (group commit).  All of it runs on the worker pool.
 *
 * Threading and ownership: every function here is for the loop's thread.
 * spool_add, spool_update and spool_remove take what they need from m at
 * the call (the envelope is formatted then, the bytes copied), so the
 * caller may change or free m at once.  Each calls done (which may be
 * NULL) exactly once, on the loop, in a later callback; the one exception:
 * when not even the bookkeeping for the request can be allocated, done
 * runs before the call returns, with MAPI_E_NOT_ENOUGH_MEMORY.  Requests
 * take effect in the order they were made; done functions may make more,
 * which go into the next batch.  Nothing is issued for a message after
 * its spool_remove.
 */
#ifndef MAPISPOOLD_SPOOL_H
#define MAPISPOOLD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mapispool/mapicode.h>

#include "worker.h"

/* 12 hex digits of milliseconds, 4 of a counter, 4 random. */
#define SPOOL_ID_LEN 20
/* Bounds that make every envelope small and every parse cheap. */
#define SPOOL_MAX_RCPTS 1000
#define SPOOL_MAX_UNITS 64		/* one per transport: CONFIG_MAX_TRANSPORTS */
#define SPOOL_MAX_ADDRESS 512		/* bytes of an address or the sender */
#define SPOOL_MAX_NAME 64		/* bytes of a transport name or addrtype */
#define SPOOL_MAX_ERROR 512		/* bytes of last_error */
#define SPOOL_MAX_ENV (1024 * 1024)	/* bytes of an envelope file */

enum spool_queue {
	SPOOL_OUTBOUND,
	SPOOL_INBOUND,
};

enum unit_state {
	UNIT_QUEUED,		/* waiting for its first or next attempt */
	UNIT_DEFERRED,		/* a temporary failure; next_attempt says when */
	UNIT_SENT,		/* the transport took it */
	UNIT_FAILED,		/* permanently failed; a report went to the store */
};

/* One transport's share of a message.  (Fields ordered for size: a
 * queue may hold millions.) */
struct qunit {
	char *transport;	/* the transport's configured name */
	int64_t next_attempt;	/* ms since the epoch; 0: now */
	char *last_error;	/* NULL when none; always malloc'd on its own */
	unsigned attempts;
	enum unit_state state;
	bool held;		/* queue.hold: not attempted until released */
	bool warned;		/* the delay notice (notify_delay) is stored */
	/* not stored: */
	bool in_flight;		/* a transport has it now */
	bool kicked;		/* queue.flush picked it for the next pass */
};

/* A unit line's flags field (doc/spool.md). */
#define UNIT_FLAG_HELD 1
#define UNIT_FLAG_WARNED 2

struct qrcpt {
	char *address;
	char *addrtype;		/* PR_ADDRTYPE, e.g. "SMTP" (NULL is written as "") */
	int unit;		/* index in units, or RCPT_UNROUTED or RCPT_DONE */
};

#define RCPT_UNROUTED (-1)	/* no transport took it (reported at submit) */
#define RCPT_DONE (-2)		/* its transport is done with it (sent, or
				 * refused and reported) while it still owes
				 * the message to other recipients */

/*
 * A queued message as the daemon keeps it in memory and on disk.
 *
 * Memory: a message the queue holds is packed (qmsg_pack): one block with
 * the struct, its rcpts and units and every string but the units' last
 * errors, so that a million queued messages cost one allocation each.
 * The strings and arrays of a packed message are not to be freed or
 * reallocated on their own: replace a string with qmsg_release on the
 * old one.  Unpacked, every pointer is malloc'd on its own.
 */
struct qmsg {
	char id[SPOOL_ID_LEN + 1];
	enum spool_queue queue;
	int64_t queued;		/* ms since the epoch */
	uint64_t size;		/* bytes of the message: set it before spool_add */
	uint64_t data_offset;	/* where they start in ID.msg (not in the
				 * envelope): set by spool_add and recovery */
	char *sender;		/* "" for the null sender (NULL is written as "") */
	char *source;		/* inbound: the transport it came from, else NULL */
	struct qrcpt *rcpts;
	struct qunit *units;
	uint32_t n_rcpts;	/* at most SPOOL_MAX_RCPTS */
	uint32_t n_units;	/* at most SPOOL_MAX_UNITS */
	uint32_t packed_len;	/* bytes of the packed block; 0: not packed */
	/* queue.c's links; not copied by qmsg_dup */
	struct qmsg *q_prev, *q_next, *q_chain;
};

struct spool;

typedef void (*spool_done_fn)(void *ctx, HRESULT hr, const char *error);

/* Open (creating the folders) the spool in dir.  Synchronous: at start.
 * Batches run on workers, and their results come back on its loop. */
struct spool *spool_open(const char *dir, struct worker_pool *workers, char *err,
			 size_t errlen);

/* Requests not yet done are dropped without their done being called.  A
 * batch may be on a worker thread until worker_pool_free(workers) returns:
 * free the pool first. */
void spool_close(struct spool *s);

/* A fresh message ID. */
void spool_new_id(struct spool *s, char id[SPOOL_ID_LEN + 1]);

/*
 * Recover at start: discard tmp/, load every message of both queues and
 * hand each to found (which takes ownership), set torn or invalid ones
 * aside into corrupt/ with a log line, remove envelopes left without their
 * message.  Each queue's messages come in ID order, outbound first.
 *
 * In steps, so that a big spool is read on the worker pool while the loop
 * serves: spool_recover_begin (on the loop, before anything is written to
 * the spool: it empties tmp/ and lists the folders; NULL with err if a
 * folder cannot be read), then spool_recover_step (blocking reads: on a
 * worker; nothing may be committed to the spool meanwhile) until it
 * returns false, each step loading at most max messages, then
 * spool_recover_end.  spool_recover does it all at once and returns the
 * number loaded, -1 with err.
 */
typedef void (*spool_found_fn)(void *ctx, struct qmsg *m);
struct spool_recovery;
struct spool_recovery *spool_recover_begin(struct spool *s, char *err, size_t errlen);
bool spool_recover_step(struct spool_recovery *r, size_t max, spool_found_fn found, void *ctx);
size_t spool_recovery_total(const struct spool_recovery *r);	/* messages listed */
size_t spool_recovery_done(const struct spool_recovery *r);	/* of them, read so far */
void spool_recover_end(struct spool_recovery *r);
long spool_recover(struct spool *s, spool_found_fn found, void *ctx, char *err,
		   size_t errlen);

/* Commit a new message: data (len bytes, or the file src_path when data is
 * NULL — copied, not moved) and m's envelope; m->size must be the number
 * of bytes; sets m->data_offset.  done(ctx, S_OK, NULL) once durable; when
 * not, nothing is left behind and error says why (valid during the call only):
 * MAPI_E_NOT_ENOUGH_DISK (disk full or quota), MAPI_E_DISK_ERROR (any
 * other I/O error, or the bytes were not m->size), MAPI_E_INVALID_PARAMETER
 * (m breaks a SPOOL_MAX_* bound), MAPI_E_NOT_ENOUGH_MEMORY. */
void spool_add(struct spool *s, struct qmsg *m, const void *data, size_t len,
	       const char *src_path, spool_done_fn done, void *ctx);

/* Replace m's envelope with its current state, durably.  Errors as for
 * spool_add, and MAPI_E_NOT_FOUND when m is not in its queue (its add
 * failed); on a disk error the old or the new envelope may be on disk. */
void spool_update(struct spool *s, const struct qmsg *m, spool_done_fn done, void *ctx);

/* Remove m's files (after the last transport confirmed it, or the store
 * took it); done once the removal is durable.  Files already gone are not
 * an error. */
void spool_remove(struct spool *s, const struct qmsg *m, spool_done_fn done, void *ctx);

/* The path of the file holding m's bytes, for a transport to read: they
 * start at m->data_offset and run to the end of the file. */
int spool_data_path(const struct spool *s, const struct qmsg *m, char *buf, size_t len);

/* Open path (from spool_data_path) for reading, positioned at offset: the
 * message's first byte.  -1 with errno. */
int spool_data_open(const char *path, uint64_t offset);

/* The envelope file's text and back (exposed for tests and fuzzing).
 * The text is canonical: parse accepts exactly what format writes, so
 * format(parse(t)) == t for every t parse accepts.  format: malloc'd, NULL
 * (errno EINVAL) if m breaks a bound or (ENOMEM) out of memory.  parse:
 * any bytes; NULL with err unless a complete, valid envelope. */
char *spool_env_format(const struct qmsg *m, size_t *len);
struct qmsg *spool_env_parse(const char *text, size_t len, char *err, size_t errlen);

/* Batches submitted so far: with ops, it shows how many share a sync. */
unsigned long spool_batches(const struct spool *s);

struct qmsg *qmsg_new(void);
struct qmsg *qmsg_dup(const struct qmsg *m);	/* deep, unpacked; NULL if out of memory */
void qmsg_free(struct qmsg *m);

/* m as one block (see struct qmsg): m is freed and the packed copy
 * returned, or, out of memory, m itself, unpacked but whole. */
struct qmsg *qmsg_pack(struct qmsg *m);

/* Free p, a string or array of m, unless it lives in m's packed block. */
void qmsg_release(const struct qmsg *m, void *p);

/* The index of transport's unit in m, -1 if none. */
int spool_unit_find(const struct qmsg *m, const char *transport);

const char *unit_state_name(enum unit_state s);

#endif
