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
struct client;

struct control_limits {
	size_t max_line;	/* longest request line, bytes */
	unsigned max_clients;	/* connections at once */
	unsigned max_clients_per_uid; /* connections at once from one uid */
	unsigned max_pending;	/* unanswered requests per connection */
	msec_t idle_timeout;	/* close a silent idle connection; 0: never */
	msec_t request_timeout;	/* to finish a line once begun; 0: no limit */
	size_t max_output;	/* unread output at which an event drops the client */
};

/* Who is at the other end of a connection, as the kernel recorded it when
 * the peer called connect (SO_PEERCRED, SO_PEERGROUPS). */
struct peer {
	uid_t uid;		/* (uid_t)-1 if the kernel did not say */
	gid_t gid;		/* primary group */
	pid_t pid;
	gid_t *groups;		/* supplementary groups */
	size_t n_groups;
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

/* The same on fd, a socket already bound and listening (systemd's socket
 * activation).  No stale-socket check, mode or group: whoever made the
 * socket set them; and control_free leaves its path alone (systemd owns
 * it).  fd belongs to the server from here on, closed even on failure. */
struct control *control_new_fd(struct event_base *base, int fd,
			       const struct control_limits *limits, json_object *hello,
			       control_dispatch_fn dispatch, void *ctx, char *err, size_t errlen);

/* Who handles requests (the socket may be created before them, so that a
 * second daemon is refused before it touches anything). */
void control_set_dispatch(struct control *c, control_dispatch_fn dispatch, void *ctx);

/* Close every connection and remove the socket (unless it came from
 * control_new_fd). */
void control_free(struct control *c);

/* Answer req with hr and the members of body (consumed; may be NULL),
 * adding "id", "hr" and "hr_name".  req is freed.  If the client left
 * meanwhile, the answer is dropped. */
void control_reply(struct request *req, HRESULT hr, json_object *body);

/* The same with the body already serialised: members[0..n) are pieces of
 * text that, joined, are the members of a JSON object without its braces
 * ("\"rows\":[...],\"row_count\":3"), written after "id", "hr" and
 * "hr_name" exactly as control_reply would write them.  For a reply sent
 * so often that building it as JSON objects would be most of its cost. */
struct iovec;
#define CONTROL_REPLY_MAX_PARTS 8	/* most pieces in members */
void control_reply_text(struct request *req, HRESULT hr, const struct iovec *members, int n);

/* Answer req with a failure and a message in words. */
void control_fail(struct request *req, HRESULT hr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The credentials of the peer that sent req (borrowed, valid until the
 * answer). */
const struct peer *control_request_peer(const struct request *req);

/* Has the client that sent req gone away? */
bool control_request_orphaned(const struct request *req);

/* Connections open now. */
unsigned control_client_count(const struct control *c);

/* The connection a request came on.  Borrowed: hold it to keep it past
 * the answer (an FLUSH_ASYNC_OK flush tells its requester later). */
struct client *control_request_client(const struct request *req);
void control_client_hold(struct client *cl);
void control_client_release(struct client *cl);
bool control_client_gone(const struct client *cl);
/* The connection's number, as the log shows it. */
unsigned control_client_id(const struct client *cl);

/* Send an event (consumed) to a client; dropped if it has gone.  A client
 * with more than max_output bytes of unread output is disconnected instead
 * (from the event loop, so the caller's lists stay intact). */
void control_client_event(struct client *cl, json_object *ev);

/* Called when a connection closes, before it is gone (subscriptions end
 * with their connection). */
typedef void (*control_close_fn)(void *ctx, struct client *cl);
void control_set_close_hook(struct control *c, control_close_fn fn, void *ctx);

#endif
