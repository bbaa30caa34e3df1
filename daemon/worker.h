/*
 * worker.h — a small pool of threads for the work that must never run on
 * the event loop: fsync, file copies, directory scans.
 *
 * A job's work function runs on a pool thread; its done function then runs
 * on the event loop, so results come back to the loop's single thread and
 * nothing else in the daemon needs locks.  Done functions run in the order
 * the jobs finished (with one thread: the order they were submitted).
 *
 * Threading: every function here is for the loop's thread only; a work
 * function must touch nothing the loop may change until its done runs.
 * Pool threads block all signals.
 */
#ifndef MAPISPOOLD_WORKER_H
#define MAPISPOOLD_WORKER_H

#include <event2/event.h>

struct worker_pool;

typedef void (*worker_fn)(void *arg);

/* threads: how many (at least 1).  Completions are watched by an event on
 * base.  NULL if out of memory or threads cannot be started. */
struct worker_pool *worker_pool_new(struct event_base *base, unsigned threads);

/* The loop the pool reports to, for modules that only get the pool. */
struct event_base *worker_pool_base(const struct worker_pool *p);

/* Queue a job: work(arg) on a thread, then done(arg) on the loop (done may
 * be NULL).  Returns -1 (and runs nothing) if out of memory. */
int worker_submit(struct worker_pool *p, worker_fn work, worker_fn done, void *arg);

/* Jobs queued or running, or finished with their done not yet run. */
unsigned worker_pending(const struct worker_pool *p);

/* Wait for running jobs, drop queued ones (their done is not called), and
 * stop the threads.  Done functions of finished jobs that have not reached
 * the loop yet are not called either: whoever owns their arg frees it.
 * Not from inside a done function. */
void worker_pool_free(struct worker_pool *p);

#endif
