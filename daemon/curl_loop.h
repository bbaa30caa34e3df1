/*
 * curl_loop.h — libcurl transfers for the event loop.
 *
 * One multi handle for the daemon, run by one thread of its own, because
 * libcurl's mail protocols still block at a few steps (SMTP's end of data,
 * QUIT/LOGOUT on close): the loop never waits on a server.  Transfers are
 * handed over with curl_loop_add and come back, on the loop, through the
 * callback each was started with.  A transfer's libcurl callbacks (read,
 * write, debug) run on the transfer thread: until its done callback, the
 * loop leaves alone what they use.
 */
#ifndef MAPISPOOLD_CURL_LOOP_H
#define MAPISPOOLD_CURL_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>

struct curl_loop;

/* NULL with err when libcurl or the thread cannot be set up. */
struct curl_loop *curl_loop_new(struct event_base *base, char *err, size_t errlen);

/* Abandons running transfers without calling back. */
void curl_loop_free(struct curl_loop *cl);

/* Called on the loop when easy has finished (result CURLE_OK or why not).
 * The caller owns easy again: reuse it (connections are kept and reused by
 * the multi handle) or curl_easy_cleanup it. */
typedef void (*curl_done_fn)(void *ctx, CURL *easy, CURLcode result);

/* Start easy, configured by the caller.  -1 if libcurl refuses. */
int curl_loop_add(struct curl_loop *cl, CURL *easy, curl_done_fn done, void *ctx);

/* Stop a transfer; its callback is not called, and once this returns the
 * thread no longer uses easy or its callbacks.  If libcurl is inside a
 * blocking step of this transfer, this waits for that step (bounded by
 * the transfer's timeouts): transports only do it when they close. */
void curl_loop_remove(struct curl_loop *cl, CURL *easy);

#endif
