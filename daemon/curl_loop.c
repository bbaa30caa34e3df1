/*
 * curl_loop.c — libcurl's multi "socket" API driven by libevent.
 *
 * libcurl calls socket_cb to say which sockets it wants watched for what,
 * and timer_cb to say when it next wants to be woken; we keep one event
 * per socket and one timer, and hand activity back with
 * curl_multi_socket_action.  After each call, finished transfers are
 * collected with curl_multi_info_read and their callbacks run.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "curl_loop.h"
#include "log.h"

struct curl_loop {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	int running;
};

/* What each transfer was started with (CURLOPT_PRIVATE). */
struct transfer {
	curl_done_fn done;
	void *ctx;
};

/* One watched socket (curl_multi_assign). */
struct watch {
	struct curl_loop *cl;
	struct event *ev;
};

static void
collect_done(struct curl_loop *cl)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(cl->multi, &left)) != NULL) {
		struct transfer *t = NULL;
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(cl->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (t != NULL) {
			curl_done_fn done = t->done;
			void *ctx = t->ctx;

			free(t);
			/* May start new transfers or free this one. */
			done(ctx, easy, result);
		}
	}
}

static void
on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop *cl = arg;
	int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(cl->multi, fd, flags, &cl->running);
	collect_done(cl);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct curl_loop *cl = arg;

	(void)fd;
	(void)what;
	curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &cl->running);
	collect_done(cl);
}

static int
socket_cb(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
	struct curl_loop *cl = userp;
	struct watch *w = socketp;
	short what;

	(void)easy;
	if (action == CURL_POLL_REMOVE) {
		if (w != NULL) {
			event_free(w->ev);
			free(w);
			curl_multi_assign(cl->multi, s, NULL);
		}
		return 0;
	}
	what = EV_PERSIST | (action & CURL_POLL_IN ? EV_READ : 0) |
	       (action & CURL_POLL_OUT ? EV_WRITE : 0);
	if (w == NULL) {
		if ((w = calloc(1, sizeof(*w))) == NULL)
			return -1;
		w->cl = cl;
		curl_multi_assign(cl->multi, s, w);
	} else {
		event_free(w->ev);
	}
	w->ev = event_new(cl->base, s, what, on_socket_event, cl);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_loop *cl = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		event_del(cl->timer);
		return 0;
	}
	/* 0 means "act now": do it from the loop, never from inside libcurl. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return event_add(cl->timer, &tv);
}

struct curl_loop *
curl_loop_new(struct event_base *base, char *err, size_t errlen)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	struct curl_loop *cl;

	if (!(v->features & CURL_VERSION_ASYNCHDNS)) {
		snprintf(err, errlen, "libcurl %s resolves names synchronously; mapispoold needs "
			 "a libcurl with an asynchronous resolver", v->version);
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl cannot be initialised");
		return NULL;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL || (cl->multi = curl_multi_init()) == NULL ||
	    (cl->timer = evtimer_new(base, on_timer, cl)) == NULL) {
		if (cl && cl->multi)
			curl_multi_cleanup(cl->multi);
		free(cl);
		curl_global_cleanup();
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cl->base = base;
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
	return cl;
}

int
curl_loop_add(struct curl_loop *cl, CURL *easy, curl_done_fn done, void *ctx)
{
	struct transfer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	t->done = done;
	t->ctx = ctx;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	if (curl_multi_add_handle(cl->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(t);
		return -1;
	}
	return 0;
}

void
curl_loop_remove(struct curl_loop *cl, CURL *easy)
{
	struct transfer *t = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	curl_multi_remove_handle(cl->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(t);
}

CURLM *
curl_loop_multi(struct curl_loop *cl)
{
	return cl->multi;
}

void
curl_loop_free(struct curl_loop *cl)
{
	if (cl == NULL)
		return;
	/* Running transfers belong to transports, closed before this. */
	curl_multi_cleanup(cl->multi);
	event_free(cl->timer);
	free(cl);
	curl_global_cleanup();
}
