/*
 * worker.h — a small pool of threads for the work that must never run on
 * the event loop: fsync, file copies, directory scans.
 *
 * A job's work function runs on a pool thread; its done function then runs
 * on the event loop, so results come back to the loop's single thread and
 * nothing else in the daemon needs locks.
 */
#ifndef MAPISPOOLD_WORKER_H
#define MAPISPOOLD_WORKER_H

#include <event2/event.h>

struct worker_pool;

typedef void (*worker_fn)(void *arg);

/* threads: how many (at least 1). */
struct worker_pool *worker_pool_new(struct event_base *base, unsigned threads);

/* Queue a job: work(arg) on a thread, then done(arg) on the loop (done may
 * be NULL).  Returns -1 (and runs nothing) if out of memory. */
int worker_submit(struct worker_pool *p, worker_fn work, worker_fn done, void *arg);

/* Jobs queued or running. */
unsigned worker_pending(const struct worker_pool *p);

/* Wait for running jobs, drop queued ones (their done is not called), and
 * stop the threads.  Done functions of finished jobs that have not reached
 * the loop yet are not called either. */
void worker_pool_free(struct worker_pool *p);

#endif
