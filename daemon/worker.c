/*
 * worker.c — the thread pool behind worker.h.
 *
 * Jobs wait in one FIFO guarded by a mutex and a condition variable.  A
 * thread that finishes a job moves it to the finished list and, when that
 * list was empty, bumps an eventfd; the loop watches the eventfd, takes
 * the whole finished list at once and runs the done functions in the order
 * the jobs finished.  The eventfd and the two lists are all the threads
 * share with the loop, so libevent itself stays single-threaded.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

struct job {
	STAILQ_ENTRY(job) entry;
	worker_fn work;
	worker_fn done;
	void *arg;
};

STAILQ_HEAD(job_list, job);

struct worker_pool {
	struct event_base *base;
	int efd;			/* finished jobs are waiting */
	struct event *ev;
	unsigned outstanding;		/* submitted, done not yet run (loop only) */

	pthread_mutex_t lock;		/* guards the rest */
	pthread_cond_t cond;		/* queue grew, or stopping */
	struct job_list queue;
	struct job_list finished;
	bool stopping;

	pthread_t *threads;
	unsigned n_threads;
};

static void *
worker_main(void *arg)
{
	struct worker_pool *p = arg;
	struct job *j;
	const uint64_t one = 1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && STAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stopping)
			break;
		j = STAILQ_FIRST(&p->queue);
		STAILQ_REMOVE_HEAD(&p->queue, entry);
		pthread_mutex_unlock(&p->lock);

		j->work(j->arg);

		pthread_mutex_lock(&p->lock);
		/* Only the first of a run of completions needs to wake the
		 * loop: it takes the whole list when it wakes. */
		if (STAILQ_EMPTY(&p->finished) &&
		    write(p->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_warn("worker: eventfd write");
		STAILQ_INSERT_TAIL(&p->finished, j, entry);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* On the loop: run the done functions of every job finished so far. */
static void
worker_completed(evutil_socket_t fd, short what, void *arg)
{
	struct worker_pool *p = arg;
	struct job_list done = STAILQ_HEAD_INITIALIZER(done);
	struct job *j;
	uint64_t n;

	(void)what;
	/* Drain the eventfd before taking the list: a job finishing after
	 * the take then finds the list empty and wakes us again. */
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("worker: eventfd read");
	pthread_mutex_lock(&p->lock);
	STAILQ_CONCAT(&done, &p->finished);
	pthread_mutex_unlock(&p->lock);

	while ((j = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, entry);
		p->outstanding--;
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

static void
job_list_free(struct job_list *l)
{
	struct job *j;

	while ((j = STAILQ_FIRST(l)) != NULL) {
		STAILQ_REMOVE_HEAD(l, entry);
		free(j);
	}
}

/* Tell the threads to stop and wait for them; a running job finishes. */
static void
worker_stop(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	p->n_threads = 0;
}

struct worker_pool *
worker_pool_new(struct event_base *base, unsigned threads)
{
	struct worker_pool *p;
	sigset_t all, old;

	if (threads == 0)
		threads = 1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = base;
	p->efd = -1;
	STAILQ_INIT(&p->queue);
	STAILQ_INIT(&p->finished);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if ((p->threads = calloc(threads, sizeof(*p->threads))) == NULL ||
	    (p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, worker_completed, p)) == NULL ||
	    event_add(p->ev, NULL) == -1)
		goto fail;

	/* Signals belong to the loop's thread (libevent's handlers, SIGCHLD
	 * for transports); a thread that blocks them all never takes one, and
	 * a SIGXFSZ raised by a write past RLIMIT_FSIZE stays pending there
	 * instead of killing the daemon, the write failing with EFBIG. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; p->n_threads < threads; p->n_threads++)
		if (pthread_create(&p->threads[p->n_threads], NULL, worker_main, p) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->n_threads < threads)
		goto fail;
	return p;
fail:
	worker_pool_free(p);
	return NULL;
}

struct event_base *
worker_pool_base(const struct worker_pool *p)
{
	return p->base;
}

int
worker_submit(struct worker_pool *p, worker_fn work, worker_fn done, void *arg)
{
	struct job *j;

	if ((j = malloc(sizeof(*j))) == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	p->outstanding++;
	pthread_mutex_lock(&p->lock);
	STAILQ_INSERT_TAIL(&p->queue, j, entry);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

unsigned
worker_pending(const struct worker_pool *p)
{
	return p->outstanding;
}

void
worker_pool_free(struct worker_pool *p)
{
	if (p == NULL)
		return;
	worker_stop(p);
	job_list_free(&p->queue);
	job_list_free(&p->finished);
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd != -1)
		close(p->efd);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
