/*
 * queue.c — a hash of messages by ID, and per queue a list in ID order.
 *
 * New IDs are larger than every earlier one of this process, and recovery
 * hands each queue's messages over in ID order, so inserting appends; an
 * insert walks back from the tail only past the few messages submitted
 * while a big spool is still being read.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

/* The links live in each qmsg (q_prev, q_next: queue order; q_chain: hash
 * bucket), so a queued message costs no allocation of the queue's own. */
struct qlist {
	struct qmsg *head, *tail;
	size_t n;
};

struct queue {
	struct qmsg **buckets;
	size_t nbuckets;		/* a power of two */
	size_t n;
	struct qlist lists[2];		/* by enum spool_queue */
};

/* FNV-1a: IDs are random enough in their low digits. */
static size_t
id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)h;
}

struct queue *
queue_new(void)
{
	struct queue *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->nbuckets = 1024;
	if ((q->buckets = calloc(q->nbuckets, sizeof(*q->buckets))) == NULL) {
		free(q);
		return NULL;
	}
	return q;
}

void
queue_free(struct queue *q)
{
	if (q == NULL)
		return;
	for (int w = 0; w < 2; w++) {
		struct qmsg *m = q->lists[w].head, *next;

		for (; m != NULL; m = next) {
			next = m->q_next;
			qmsg_free(m);
		}
	}
	free(q->buckets);
	free(q);
}

struct qmsg *
queue_find(const struct queue *q, const char *id)
{
	struct qmsg *m = q->buckets[id_hash(id) & (q->nbuckets - 1)];

	while (m != NULL && strcmp(m->id, id) != 0)
		m = m->q_chain;
	return m;
}

static void
rehash(struct queue *q)
{
	size_t nb = q->nbuckets * 2;
	struct qmsg **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return; /* keep the smaller table: slower, still right */
	for (size_t i = 0; i < q->nbuckets; i++) {
		struct qmsg *m = q->buckets[i], *next;

		for (; m != NULL; m = next) {
			size_t h = id_hash(m->id) & (nb - 1);

			next = m->q_chain;
			m->q_chain = b[h];
			b[h] = m;
		}
	}
	free(q->buckets);
	q->buckets = b;
	q->nbuckets = nb;
}

int
queue_insert(struct queue *q, struct qmsg *m)
{
	struct qlist *l = &q->lists[m->queue];
	struct qmsg *at;
	size_t h;

	if (queue_find(q, m->id) != NULL)
		return -1;
	/* Two messages a bucket on average: 4 bytes of table per message. */
	if (q->n >= 2 * q->nbuckets)
		rehash(q);
	h = id_hash(m->id) & (q->nbuckets - 1);
	m->q_chain = q->buckets[h];
	q->buckets[h] = m;
	q->n++;

	for (at = l->tail; at != NULL && strcmp(at->id, m->id) > 0; at = at->q_prev)
		;
	/* insert after `at` (NULL: at the head) */
	m->q_prev = at;
	m->q_next = at ? at->q_next : l->head;
	if (m->q_next)
		m->q_next->q_prev = m;
	else
		l->tail = m;
	if (at)
		at->q_next = m;
	else
		l->head = m;
	l->n++;
	return 0;
}

void
queue_delete(struct queue *q, struct qmsg *m)
{
	struct qlist *l = &q->lists[m->queue];
	struct qmsg **pp = &q->buckets[id_hash(m->id) & (q->nbuckets - 1)];

	while (*pp != NULL && *pp != m)
		pp = &(*pp)->q_chain;
	if (*pp == NULL)
		return;
	*pp = m->q_chain;
	if (m->q_prev)
		m->q_prev->q_next = m->q_next;
	else
		l->head = m->q_next;
	if (m->q_next)
		m->q_next->q_prev = m->q_prev;
	else
		l->tail = m->q_prev;
	l->n--;
	q->n--;
	qmsg_free(m);
}

size_t
queue_count(const struct queue *q, enum spool_queue which)
{
	return q->lists[which].n;
}

struct qmsg *
queue_first(const struct queue *q, enum spool_queue which)
{
	return q->lists[which].head;
}

struct qmsg *
queue_next(const struct queue *q, const struct qmsg *m)
{
	(void)q;
	return m->q_next;
}

struct qmsg *
queue_after(const struct queue *q, enum spool_queue which, const char *id)
{
	struct qmsg *m = queue_find(q, id);

	if (m != NULL && m->queue == which)
		return m->q_next;
	/* The cursor's message is gone: find its place. */
	for (m = q->lists[which].head; m != NULL; m = m->q_next)
		if (strcmp(m->id, id) > 0)
			return m;
	return NULL;
}
