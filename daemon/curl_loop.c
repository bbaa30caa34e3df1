/*
 * curl_loop.c — libcurl's multi interface, beside the libevent loop.
 *
 * libcurl's mail protocols still wait synchronously at a few points even
 * under the multi interface: SMTP for the reply to the end of the data,
 * SMTP, POP3 and IMAP for the reply to QUIT/LOGOUT when a connection
 * closes.  A slow server would stall the event loop there, and with it
 * every client.  So the multi handle runs on one thread of its own (one
 * for all transfers, not one per connection): the loop hands it transfers
 * through a queue, and finished transfers come back through a pipe the
 * loop watches, their callbacks run on the loop.
 *
 * A transfer's own libcurl callbacks (read, write, debug) run on that
 * thread: between curl_loop_add and its done callback, the loop must not
 * touch what they use.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "curl_loop.h"
#include "log.h"

/* How long the thread sleeps in libcurl when nothing happens (it is woken
 * for new work anyway). */
#define POLL_MS 1000

struct transfer {
	CURL *easy;
	curl_done_fn done;
	void *ctx;
	CURLcode result;
	bool added;			/* in the multi handle */
	bool cancel;			/* curl_loop_remove asked */
	TAILQ_ENTRY(transfer) entry;
};

TAILQ_HEAD(transfer_list, transfer);

struct curl_loop {
	struct event_base *base;
	CURLM *multi;			/* the thread's, but for curl_multi_wakeup */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t removed;		/* a cancel was carried out */
	struct transfer_list incoming;	/* from the loop, to be added */
	struct transfer_list running;	/* in the multi handle */
	struct transfer_list finished;	/* for the loop to call back */
	int done_pipe[2];		/* thread -> loop: "finished has some" */
	struct event *done_ev;
	bool stopping;
};

/* ---- the thread ---- */

static struct transfer *
find_running(struct curl_loop *cl, CURL *easy)
{
	struct transfer *t;

	TAILQ_FOREACH(t, &cl->running, entry)
		if (t->easy == easy)
			return t;
	return NULL;
}

static void
tell_loop(struct curl_loop *cl)
{
	char c = 1;

	/* A full pipe already says it. */
	while (write(cl->done_pipe[1], &c, 1) == -1 && errno == EINTR)
		;
}

/* Under the lock: add what came in, carry out cancels, collect the done. */
static void
thread_sync(struct curl_loop *cl)
{
	struct transfer *t, *next;
	CURLMsg *msg;
	int left;
	bool told = false, cancelled = false;

	while ((t = TAILQ_FIRST(&cl->incoming)) != NULL) {
		TAILQ_REMOVE(&cl->incoming, t, entry);
		if (curl_multi_add_handle(cl->multi, t->easy) != CURLM_OK) {
			t->result = CURLE_FAILED_INIT;
			TAILQ_INSERT_TAIL(&cl->finished, t, entry);
			told = true;
			continue;
		}
		t->added = true;
		TAILQ_INSERT_TAIL(&cl->running, t, entry);
	}
	for (t = TAILQ_FIRST(&cl->running); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (!t->cancel)
			continue;
		TAILQ_REMOVE(&cl->running, t, entry);
		curl_multi_remove_handle(cl->multi, t->easy);
		free(t);
		cancelled = true;
	}
	while ((msg = curl_multi_info_read(cl->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE || (t = find_running(cl, msg->easy_handle)) == NULL)
			continue;
		t->result = msg->data.result;
		curl_multi_remove_handle(cl->multi, t->easy);
		TAILQ_REMOVE(&cl->running, t, entry);
		TAILQ_INSERT_TAIL(&cl->finished, t, entry);
		told = true;
	}
	if (told)
		tell_loop(cl);
	if (cancelled)
		pthread_cond_broadcast(&cl->removed);
}

static void *
thread_main(void *arg)
{
	struct curl_loop *cl = arg;
	sigset_t all;
	int running, n;

	/* Signals are the loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&cl->lock);
	while (!cl->stopping) {
		thread_sync(cl);
		/* Transfers run without the lock: the loop may queue more
		 * meanwhile, and wakes us with curl_multi_wakeup. */
		pthread_mutex_unlock(&cl->lock);
		curl_multi_perform(cl->multi, &running);
		pthread_mutex_lock(&cl->lock);
		thread_sync(cl);
		if (cl->stopping)
			break;
		pthread_mutex_unlock(&cl->lock);
		curl_multi_poll(cl->multi, NULL, 0, POLL_MS, &n);
		pthread_mutex_lock(&cl->lock);
	}
	pthread_mutex_unlock(&cl->lock);
	return NULL;
}

/* ---- the loop's side ---- */

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop *cl = arg;
	struct transfer_list done = TAILQ_HEAD_INITIALIZER(done);
	struct transfer *t;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&cl->lock);
	TAILQ_CONCAT(&done, &cl->finished, entry);
	pthread_mutex_unlock(&cl->lock);
	while ((t = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, t, entry);
		/* May start new transfers, or free this one's handle. */
		t->done(t->ctx, t->easy, t->result);
		free(t);
	}
}

struct curl_loop *
curl_loop_new(struct event_base *base, char *err, size_t errlen)
{
	struct curl_loop *cl;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl cannot be initialised");
		return NULL;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		goto nomem;
	cl->base = base;
	cl->done_pipe[0] = cl->done_pipe[1] = -1;
	TAILQ_INIT(&cl->incoming);
	TAILQ_INIT(&cl->running);
	TAILQ_INIT(&cl->finished);
	pthread_mutex_init(&cl->lock, NULL);
	pthread_cond_init(&cl->removed, NULL);
	if ((cl->multi = curl_multi_init()) == NULL ||
	    pipe2(cl->done_pipe, O_NONBLOCK | O_CLOEXEC) == -1 ||
	    (cl->done_ev = event_new(base, cl->done_pipe[0], EV_READ | EV_PERSIST, on_done, cl)) ==
		    NULL ||
	    event_add(cl->done_ev, NULL) == -1)
		goto nomem;
	if ((errno = pthread_create(&cl->thread, NULL, thread_main, cl)) != 0) {
		snprintf(err, errlen, "cannot start the transfer thread: %s", strerror(errno));
		goto fail;
	}
	return cl;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (cl != NULL) {
		if (cl->done_ev)
			event_free(cl->done_ev);
		if (cl->done_pipe[0] != -1) {
			close(cl->done_pipe[0]);
			close(cl->done_pipe[1]);
		}
		if (cl->multi)
			curl_multi_cleanup(cl->multi);
		pthread_mutex_destroy(&cl->lock);
		pthread_cond_destroy(&cl->removed);
		free(cl);
	}
	curl_global_cleanup();
	return NULL;
}

int
curl_loop_add(struct curl_loop *cl, CURL *easy, curl_done_fn done, void *ctx)
{
	struct transfer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	t->easy = easy;
	t->done = done;
	t->ctx = ctx;
	pthread_mutex_lock(&cl->lock);
	TAILQ_INSERT_TAIL(&cl->incoming, t, entry);
	pthread_mutex_unlock(&cl->lock);
	curl_multi_wakeup(cl->multi);
	return 0;
}

void
curl_loop_remove(struct curl_loop *cl, CURL *easy)
{
	struct transfer *t;

	pthread_mutex_lock(&cl->lock);
	/* Not started yet: just forget it. */
	TAILQ_FOREACH(t, &cl->incoming, entry) {
		if (t->easy == easy) {
			TAILQ_REMOVE(&cl->incoming, t, entry);
			free(t);
			pthread_mutex_unlock(&cl->lock);
			return;
		}
	}
	/* Finished, not yet called back: drop the callback. */
	TAILQ_FOREACH(t, &cl->finished, entry) {
		if (t->easy == easy) {
			TAILQ_REMOVE(&cl->finished, t, entry);
			free(t);
			pthread_mutex_unlock(&cl->lock);
			return;
		}
	}
	/* Running: the thread takes it out of the multi handle; wait for
	 * that, so the caller may free what its callbacks use.  This waits
	 * at most as long as libcurl is busy with this transfer's current
	 * step (bounded by the transport's timeouts); transports only do it
	 * when they close. */
	if ((t = find_running(cl, easy)) != NULL) {
		t->cancel = true;
		curl_multi_wakeup(cl->multi);
		while (find_running(cl, easy) != NULL)
			pthread_cond_wait(&cl->removed, &cl->lock);
	}
	pthread_mutex_unlock(&cl->lock);
}

void
curl_loop_free(struct curl_loop *cl)
{
	struct transfer *t;

	if (cl == NULL)
		return;
	pthread_mutex_lock(&cl->lock);
	cl->stopping = true;
	pthread_mutex_unlock(&cl->lock);
	curl_multi_wakeup(cl->multi);
	pthread_join(cl->thread, NULL);
	/* Transfers belong to transports, closed before this; whatever is
	 * left is only bookkeeping. */
	while ((t = TAILQ_FIRST(&cl->running)) != NULL) {
		TAILQ_REMOVE(&cl->running, t, entry);
		curl_multi_remove_handle(cl->multi, t->easy);
		free(t);
	}
	TAILQ_CONCAT(&cl->incoming, &cl->finished, entry);
	while ((t = TAILQ_FIRST(&cl->incoming)) != NULL) {
		TAILQ_REMOVE(&cl->incoming, t, entry);
		free(t);
	}
	event_free(cl->done_ev);
	close(cl->done_pipe[0]);
	close(cl->done_pipe[1]);
	curl_multi_cleanup(cl->multi);
	pthread_mutex_destroy(&cl->lock);
	pthread_cond_destroy(&cl->removed);
	free(cl);
	curl_global_cleanup();
}
