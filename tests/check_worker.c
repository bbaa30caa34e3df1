/*
 * check_worker.c — the pool: work runs on a thread, done on the loop in
 * completion order, many jobs, and freeing a pool with jobs still queued.
 */
#include <config.h>

#include <check.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "worker.h"

static struct event_base *base;
static pthread_t loop_thread;

static void
setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	loop_thread = pthread_self();
}

static void
teardown(void)
{
	event_base_free(base);
}

/* Turn the loop until *count reaches want (or give up after a while). */
static void
loop_until(const unsigned *count, unsigned want)
{
	for (int i = 0; i < 100000 && *count < want; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_eq(*count, want);
}

struct one {
	bool work_on_loop;
	bool done_on_loop;
	unsigned done;
};

static void
one_work(void *arg)
{
	struct one *o = arg;

	o->work_on_loop = pthread_equal(pthread_self(), loop_thread);
}

static void
one_done(void *arg)
{
	struct one *o = arg;

	o->done_on_loop = pthread_equal(pthread_self(), loop_thread);
	o->done++;
}

START_TEST(work_on_thread_done_on_loop)
{
	struct worker_pool *p = worker_pool_new(base, 2);
	struct one o = { .work_on_loop = true };

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(worker_pool_base(p), base);
	ck_assert_int_eq(worker_submit(p, one_work, one_done, &o), 0);
	ck_assert_uint_eq(worker_pending(p), 1);
	/* Not before the loop runs, however fast the thread. */
	usleep(20000);
	ck_assert_uint_eq(o.done, 0);
	loop_until(&o.done, 1);
	ck_assert(!o.work_on_loop);
	ck_assert(o.done_on_loop);
	ck_assert_uint_eq(worker_pending(p), 0);
	worker_pool_free(p);
}
END_TEST

#define N_ORDERED 200

static unsigned order[N_ORDERED], n_order;
static unsigned indexes[N_ORDERED];

static void
nothing(void *arg)
{
	(void)arg;
}

static void
record_done(void *arg)
{
	order[n_order++] = *(unsigned *)arg;
}

/* One thread finishes jobs in the order they came: so must the dones. */
START_TEST(done_in_order)
{
	struct worker_pool *p = worker_pool_new(base, 1);

	n_order = 0;
	for (unsigned i = 0; i < N_ORDERED; i++) {
		indexes[i] = i;
		ck_assert_int_eq(worker_submit(p, nothing, record_done, &indexes[i]), 0);
	}
	ck_assert_uint_eq(worker_pending(p), N_ORDERED);
	loop_until(&n_order, N_ORDERED);
	for (unsigned i = 0; i < N_ORDERED; i++)
		ck_assert_uint_eq(order[i], i);
	worker_pool_free(p);
}
END_TEST

#define N_MANY 20000

static unsigned long work_sum;
static unsigned many_done;
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;

static void
sum_work(void *arg)
{
	pthread_mutex_lock(&sum_lock);
	work_sum += *(unsigned *)arg;
	pthread_mutex_unlock(&sum_lock);
}

static void
count_done(void *arg)
{
	(void)arg;
	many_done++;
}

START_TEST(many_jobs)
{
	struct worker_pool *p = worker_pool_new(base, 4);
	unsigned *v = calloc(N_MANY, sizeof(*v));

	work_sum = 0;
	many_done = 0;
	for (unsigned i = 0; i < N_MANY; i++) {
		v[i] = i;
		/* Every other job without a done function. */
		ck_assert_int_eq(worker_submit(p, sum_work, i % 2 ? count_done : NULL, &v[i]), 0);
	}
	for (int i = 0; i < 100000 && worker_pending(p) > 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_eq(worker_pending(p), 0);
	ck_assert_uint_eq(many_done, N_MANY / 2);
	ck_assert_uint_eq(work_sum, (unsigned long)N_MANY * (N_MANY - 1) / 2);
	worker_pool_free(p);
	free(v);
}
END_TEST

static sem_t started;
static unsigned slow_ran, queued_ran, free_dones;

static void
slow_work(void *arg)
{
	(void)arg;
	sem_post(&started);
	usleep(100000);
	__atomic_add_fetch(&slow_ran, 1, __ATOMIC_SEQ_CST);
}

static void
queued_work(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&queued_ran, 1, __ATOMIC_SEQ_CST);
}

static void
free_done(void *arg)
{
	(void)arg;
	free_dones++;
}

/* The running job finishes; the queued ones never run; no done runs. */
START_TEST(free_with_jobs_queued)
{
	struct worker_pool *p = worker_pool_new(base, 1);

	sem_init(&started, 0, 0);
	slow_ran = queued_ran = free_dones = 0;
	ck_assert_int_eq(worker_submit(p, slow_work, free_done, NULL), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(worker_submit(p, queued_work, free_done, NULL), 0);
	sem_wait(&started);
	worker_pool_free(p);
	ck_assert_uint_eq(slow_ran, 1);
	ck_assert_uint_eq(queued_ran, 0);
	/* The loop has nothing left of the pool to run. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(free_dones, 0);
	sem_destroy(&started);
}
END_TEST

/* Done functions may submit more work. */
static unsigned chain_left, chain_done;
static struct worker_pool *chain_pool;

static void
chain_done_fn(void *arg)
{
	chain_done++;
	if (--chain_left > 0)
		ck_assert_int_eq(worker_submit(chain_pool, nothing, chain_done_fn, arg), 0);
}

START_TEST(submit_from_done)
{
	chain_pool = worker_pool_new(base, 3);
	chain_left = 50;
	chain_done = 0;
	ck_assert_int_eq(worker_submit(chain_pool, nothing, chain_done_fn, NULL), 0);
	loop_until(&chain_done, 50);
	worker_pool_free(chain_pool);
}
END_TEST

START_TEST(free_idle)
{
	worker_pool_free(worker_pool_new(base, 8));
	worker_pool_free(NULL);
}
END_TEST

static Suite *
worker_suite(void)
{
	Suite *s = suite_create("worker");
	TCase *tc = tcase_create("pool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, work_on_thread_done_on_loop);
	tcase_add_test(tc, done_in_order);
	tcase_add_test(tc, many_jobs);
	tcase_add_test(tc, free_with_jobs_queued);
	tcase_add_test(tc, submit_from_done);
	tcase_add_test(tc, free_idle);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(worker_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
