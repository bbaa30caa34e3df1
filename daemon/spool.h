/*
 * spool.h — the durable queues on disk (SPEC §7; doc/spool.md).
 *
 * spool_dir/
 *   tmp/       files being written; anything here at start is discarded
 *   outbound/  submitted messages: ID.eml (the bytes, never changed) and
 *              ID.env (envelope and per-transport state, replaced whole)
 *   inbound/   received messages waiting for the store: ID.eml and ID.env
 *   corrupt/   files found torn or invalid at start, set aside
 *
 * A message is committed when its .env is renamed into its queue folder
 * after both files are durable; every later state change writes a new .env
 * and renames it over the old one.  Writes that arrive together are
 * committed together: one batch is written, then one syncfs() on the
 * spool's file system, then renamed, then the folders synced, and only then
 * are the callers told (group commit).  All of it runs on the worker pool.
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
#define SPOOL_MAX_ADDRESS 512
#define SPOOL_MAX_ERROR 512
#define SPOOL_MAX_ENV (1024 * 1024)

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

/* One transport's share of a message. */
struct qunit {
	char *transport;	/* the transport's configured name */
	enum unit_state state;
	bool held;		/* queue.hold: not attempted until released */
	unsigned attempts;
	int64_t next_attempt;	/* ms since the epoch; 0: now */
	char *last_error;	/* NULL when none */
	/* not stored: */
	bool in_flight;		/* a transport has it now */
};

struct qrcpt {
	char *address;
	char *addrtype;		/* PR_ADDRTYPE, e.g. "SMTP" */
	int unit;		/* index in units; -1: no transport took it */
};

/* A queued message as the daemon keeps it in memory and on disk. */
struct qmsg {
	char id[SPOOL_ID_LEN + 1];
	enum spool_queue queue;
	int64_t queued;		/* ms since the epoch */
	uint64_t size;		/* bytes of ID.eml */
	char *sender;		/* "" for the null sender */
	char *source;		/* inbound: the transport it came from, else NULL */
	struct qrcpt *rcpts;
	size_t n_rcpts;
	struct qunit *units;
	size_t n_units;
};

struct spool;

typedef void (*spool_done_fn)(void *ctx, HRESULT hr, const char *error);

/* Open (creating the folders) the spool in dir.  Synchronous: at start. */
struct spool *spool_open(const char *dir, struct worker_pool *workers, char *err,
			 size_t errlen);
void spool_close(struct spool *s);

/* A fresh message ID. */
void spool_new_id(struct spool *s, char id[SPOOL_ID_LEN + 1]);

/* Recover at start (synchronous, before serving): discard tmp/, load every
 * message of both queues and hand each to found (which takes ownership),
 * set torn or invalid ones aside into corrupt/ with a log line.  Returns
 * the number loaded, -1 with err on failure. */
typedef void (*spool_found_fn)(void *ctx, struct qmsg *m);
long spool_recover(struct spool *s, spool_found_fn found, void *ctx, char *err,
		   size_t errlen);

/* Commit a new message: data (len bytes, or the file src_path when data is
 * NULL — copied, not moved) and m's envelope.  done(ctx, S_OK) once
 * durable; MAPI_E_NOT_ENOUGH_DISK or MAPI_E_DISK_ERROR with words when not
 * (nothing is left behind then). */
void spool_add(struct spool *s, const struct qmsg *m, const void *data, size_t len,
	       const char *src_path, spool_done_fn done, void *ctx);

/* Replace m's envelope with its current state, durably. */
void spool_update(struct spool *s, const struct qmsg *m, spool_done_fn done, void *ctx);

/* Remove m's files (after the last transport confirmed it, or the store
 * took it). */
void spool_remove(struct spool *s, const struct qmsg *m, spool_done_fn done, void *ctx);

/* The path of m's bytes, for a transport to read. */
int spool_data_path(const struct spool *s, const struct qmsg *m, char *buf, size_t len);

/* The envelope file's text and back (exposed for tests and fuzzing). */
char *spool_env_format(const struct qmsg *m, size_t *len);
struct qmsg *spool_env_parse(const char *text, size_t len, char *err, size_t errlen);

struct qmsg *qmsg_new(void);
void qmsg_free(struct qmsg *m);

const char *unit_state_name(enum unit_state s);

#endif
