/*
 * curl_loop.h — libcurl's multi interface on the libevent loop.
 *
 * One multi handle for the daemon: libcurl tells which sockets to watch
 * and when to wake it, libevent watches them, and finished transfers come
 * back through the callback each was started with.  No transfer ever
 * blocks the loop; name lookups run on libcurl's resolver thread
 * (AsynchDNS, checked at start).
 */
#ifndef MAPISPOOLD_CURL_LOOP_H
#define MAPISPOOLD_CURL_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>

struct curl_loop;

/* NULL with err when libcurl cannot be set up (or resolves names
 * synchronously, which would block the loop). */
struct curl_loop *curl_loop_new(struct event_base *base, char *err, size_t errlen);

/* Abandons running transfers without calling back. */
void curl_loop_free(struct curl_loop *cl);

/* Called on the loop when easy has finished (result CURLE_OK or why not).
 * The caller owns easy again: reuse it (connections are kept and reused by
 * the multi handle) or curl_easy_cleanup it. */
typedef void (*curl_done_fn)(void *ctx, CURL *easy, CURLcode result);

/* Start easy, configured by the caller.  -1 if libcurl refuses. */
int curl_loop_add(struct curl_loop *cl, CURL *easy, curl_done_fn done, void *ctx);

/* Stop a running transfer; its callback is not called. */
void curl_loop_remove(struct curl_loop *cl, CURL *easy);

/* For multi options (CURLMOPT_MAX_HOST_CONNECTIONS, ...). */
CURLM *curl_loop_multi(struct curl_loop *cl);

#endif
