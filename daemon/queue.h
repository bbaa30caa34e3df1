/*
 * queue.h — the queues in memory: every queued message by ID, in queue
 * order (oldest first), for both the outbound and the inbound queue.
 *
 * The files are the spool's (spool.h); this is the index the spooler
 * walks.  IDs grow with time, so queue order is ID order and new messages
 * go at the end.
 */
#ifndef MAPISPOOLD_QUEUE_H
#define MAPISPOOLD_QUEUE_H

#include <stddef.h>

#include "spool.h"

struct queue;

struct queue *queue_new(void);
/* Frees every message still in it. */
void queue_free(struct queue *q);

/* Add m (the queue owns it from now on).  -1 if out of memory or an
 * equal ID is there already. */
int queue_insert(struct queue *q, struct qmsg *m);

struct qmsg *queue_find(const struct queue *q, const char *id);

/* Take m out and free it. */
void queue_delete(struct queue *q, struct qmsg *m);

size_t queue_count(const struct queue *q, enum spool_queue which);

/* Walk one queue in order: first, then next until NULL. */
struct qmsg *queue_first(const struct queue *q, enum spool_queue which);
struct qmsg *queue_next(const struct queue *q, const struct qmsg *m);

/* The first message of `which` whose ID sorts after id (a page cursor;
 * id need not be in the queue any more). */
struct qmsg *queue_after(const struct queue *q, enum spool_queue which, const char *id);

#endif
