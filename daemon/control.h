/*
 * control.h — the control socket: listening, clients, line framing, and
 * requests that are answered now or later.
 *
 * The control server knows the protocol's framing and nothing of what the
 * operations do: each request goes to the dispatch function it was given,
 * which answers with control_reply, at once or from a later callback.
 */
#ifndef MAPISPOOLD_CONTROL_H
#define MAPISPOOLD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <mapispool/mapicode.h>

#include "conf.h"

struct control;
struct request;

struct control_limits {
	size_t max_line;	/* longest request line, bytes */
	unsigned max_clients;	/* connections at once */
	unsigned max_pending;	/* unanswered requests per connection */
	msec_t idle_timeout;	/* close a silent idle connection; 0: never */
};

/* Handle one request: op is its "op", msg the whole object (borrowed).
 * Must eventually call control_reply (or control_fail) on req once. */
typedef void (*control_dispatch_fn)(void *ctx, struct request *req, const char *op,
				    json_object *msg);

/* Listen on path.  Refuses (with a message in err) when a daemon already
 * answers there; removes a stale socket.  hello is sent to every client
 * (borrowed, must outlive the server). */
struct control *control_new(struct event_base *base, const char *path, mode_t mode,
			    const char *group, const struct control_limits *limits,
			    json_object *hello, control_dispatch_fn dispatch, void *ctx,
			    char *err, size_t errlen);

/* Close every connection and remove the socket. */
void control_free(struct control *c);

/* Answer req with hr and the members of body (consumed; may be NULL),
 * adding "id", "hr" and "hr_name".  req is freed.  If the client left
 * meanwhile, the answer is dropped. */
void control_reply(struct request *req, HRESULT hr, json_object *body);

/* Answer req with a failure and a message in words. */
void control_fail(struct request *req, HRESULT hr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Has the client that sent req gone away? */
bool control_request_orphaned(const struct request *req);

/* Connections open now. */
unsigned control_client_count(const struct control *c);

#endif
