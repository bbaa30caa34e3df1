/*
 * queue.c — a hash of messages by ID, and per queue a list in ID order.
 *
 * New IDs are larger than every earlier one of this process, so inserting
 * appends; messages recovered at start arrive in directory order, so an
 * insert walks back from the tail to its place (sorted once, in effect).
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

struct qnode {
	struct qmsg *m;
	struct qnode *prev, *next;	/* queue order */
	struct qnode *chain;		/* hash bucket */
};

struct qlist {
	struct qnode *head, *tail;
	size_t n;
};

struct queue {
	struct qnode **buckets;
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
		struct qnode *n = q->lists[w].head, *next;

		for (; n != NULL; n = next) {
			next = n->next;
			qmsg_free(n->m);
			free(n);
		}
	}
	free(q->buckets);
	free(q);
}

static struct qnode *
node_find(const struct queue *q, const char *id)
{
	struct qnode *n = q->buckets[id_hash(id) & (q->nbuckets - 1)];

	while (n != NULL && strcmp(n->m->id, id) != 0)
		n = n->chain;
	return n;
}

static void
rehash(struct queue *q)
{
	size_t nb = q->nbuckets * 2;
	struct qnode **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return; /* keep the smaller table: slower, still right */
	for (size_t i = 0; i < q->nbuckets; i++) {
		struct qnode *n = q->buckets[i], *next;

		for (; n != NULL; n = next) {
			size_t h = id_hash(n->m->id) & (nb - 1);

			next = n->chain;
			n->chain = b[h];
			b[h] = n;
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
	struct qnode *n, *at;
	size_t h;

	if (node_find(q, m->id) != NULL || (n = calloc(1, sizeof(*n))) == NULL)
		return -1;
	n->m = m;
	if (q->n >= q->nbuckets)
		rehash(q);
	h = id_hash(m->id) & (q->nbuckets - 1);
	n->chain = q->buckets[h];
	q->buckets[h] = n;
	q->n++;

	for (at = l->tail; at != NULL && strcmp(at->m->id, m->id) > 0; at = at->prev)
		;
	/* insert after `at` (NULL: at the head) */
	n->prev = at;
	n->next = at ? at->next : l->head;
	if (n->next)
		n->next->prev = n;
	else
		l->tail = n;
	if (at)
		at->next = n;
	else
		l->head = n;
	l->n++;
	return 0;
}

struct qmsg *
queue_find(const struct queue *q, const char *id)
{
	struct qnode *n = node_find(q, id);

	return n ? n->m : NULL;
}

void
queue_delete(struct queue *q, struct qmsg *m)
{
	struct qlist *l = &q->lists[m->queue];
	struct qnode **pp = &q->buckets[id_hash(m->id) & (q->nbuckets - 1)];
	struct qnode *n;

	while (*pp != NULL && (*pp)->m != m)
		pp = &(*pp)->chain;
	if ((n = *pp) == NULL)
		return;
	*pp = n->chain;
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	l->n--;
	q->n--;
	qmsg_free(m);
	free(n);
}

size_t
queue_count(const struct queue *q, enum spool_queue which)
{
	return q->lists[which].n;
}

struct qmsg *
queue_first(const struct queue *q, enum spool_queue which)
{
	return q->lists[which].head ? q->lists[which].head->m : NULL;
}

struct qmsg *
queue_next(const struct queue *q, const struct qmsg *m)
{
	struct qnode *n = node_find(q, m->id);

	return n && n->next ? n->next->m : NULL;
}

struct qmsg *
queue_after(const struct queue *q, enum spool_queue which, const char *id)
{
	struct qnode *n = node_find(q, id);

	if (n != NULL && n->m->queue == which)
		return n->next ? n->next->m : NULL;
	/* The cursor's message is gone: find its place. */
	for (n = q->lists[which].head; n != NULL; n = n->next)
		if (strcmp(n->m->id, id) > 0)
			return n->m;
	return NULL;
}
