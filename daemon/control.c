/*
 * control.c — the control socket server.
 *
 * Each connection reads '\n'-framed JSON requests with an event of its own
 * (one read(2) per wake-up: a bufferevent would ask ioctl(FIONREAD) first)
 * and writes through a bufferevent.  The input is bounded: never more is
 * read than fits in the longest allowed line and its newline, so a client
 * can never make the daemon buffer more than that; output
 * beyond a high mark pauses reading from that client until it drains, so a
 * client that never reads its replies cannot grow memory either; events,
 * which are pushed without being asked for, stop at max_output: a client
 * that far behind is disconnected.  A line once begun must be finished
 * within request_timeout, so a client sending a byte a second cannot hold
 * a connection half-read for ever.
 *
 * A request lives until it is answered.  If its client disconnects first,
 * the client structure stays (marked gone) until its last request is
 * answered, and those answers are dropped.
 */
#include <config.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "control.h"
#include "hresult.h"
#include "log.h"
#include "protocol.h"

/* Pause reading from a client whose unread replies pass OUT_HIGH bytes;
 * resume below OUT_LOW. */
#define OUT_HIGH (4 * 1024 * 1024)
#define OUT_LOW (1024 * 1024)
/* After EMFILE/ENFILE, or near the descriptor limit, wait this long before
 * accepting again (or until a client leaves). */
#define ACCEPT_PAUSE_SEC 1
/* Descriptors kept free for the spool, the transports and the workers:
 * no new client is taken within this many of RLIMIT_NOFILE. */
#define FD_MARGIN 32
/* Most bytes taken from a client's socket per wake-up. */
#define READ_CHUNK 16384

struct client {
	struct control *ctl;
	struct bufferevent *bev;	/* NULL once the connection is closed */
	struct event *rev;		/* readable, or idle_timeout passed */
	struct evbuffer *in;		/* read, not yet taken as lines */
	unsigned id;			/* for the log */
	struct peer peer;
	struct event *timer;		/* request_timeout, or a drop due */
	unsigned pending;		/* requests not answered yet */
	bool eof;			/* peer sent EOF: answer, then close */
	bool closing;			/* close once the output has drained */
	bool dropped;			/* to be closed from the loop, unheard */
	unsigned busy;			/* callbacks using cl: do not free yet */
	unsigned refs;			/* control_client_hold */
	TAILQ_ENTRY(client) entry;
};

struct request {
	struct client *cl;
	json_object *id;
};

struct control {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *accept_resume;
	char *path;
	bool owns_path;			/* made by control_new: unlink at free */
	struct control_limits lim;
	json_object *hello;
	json_tokener *tok;		/* reused for every request line */
	control_dispatch_fn dispatch;
	void *ctx;
	control_close_fn close_hook;
	void *close_ctx;
	TAILQ_HEAD(, client) clients;	/* connected ones */
	unsigned n_clients;
	unsigned next_id;
};

static void client_read(struct client *cl);

/* A closed client goes once nothing refers to it any more. */
static void
client_maybe_free(struct client *cl)
{
	if (cl->bev == NULL && cl->pending == 0 && cl->busy == 0 && cl->refs == 0) {
		if (cl->in != NULL)
			evbuffer_free(cl->in);
		free(cl->peer.groups);
		free(cl);
	}
}

/* Take clients again after a pause (see accept_pause). */
static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	(void)fd;
	(void)what;
	evtimer_del(c->accept_resume);
	evconnlistener_enable(c->listener);
}

/* Close the connection; the structure lives on while requests are out. */
static void
client_close(struct client *cl, const char *why)
{
	struct control *c = cl->ctl;

	if (cl->bev == NULL)
		return;
	log_debug("client %u: closed (%s)", cl->id, why);
	if (c->close_hook != NULL) {
		cl->busy++;
		c->close_hook(c->close_ctx, cl);
		cl->busy--;
	}
	bufferevent_free(cl->bev);
	cl->bev = NULL;
	event_free(cl->rev);
	cl->rev = NULL;
	event_free(cl->timer);
	cl->timer = NULL;
	TAILQ_REMOVE(&c->clients, cl, entry);
	c->n_clients--;
	/* A descriptor is free again: no need to wait out the pause. */
	if (evtimer_pending(c->accept_resume, NULL))
		accept_resume(-1, 0, c);
	client_maybe_free(cl);
}

/* Reading on (again): also restarts the idle timeout, as a bufferevent's
 * read timeout restarts when reading is enabled. */
static void
client_read_on(struct client *cl)
{
	msec_t t = cl->ctl->lim.idle_timeout;
	struct timeval tv = { .tv_sec = t / 1000, .tv_usec = (t % 1000) * 1000 };

	event_add(cl->rev, t > 0 ? &tv : NULL);
}

static void
client_read_off(struct client *cl)
{
	event_del(cl->rev);
}

/* Close cl from the event loop rather than here: the caller may be walking
 * a list (the advise subscriptions) that the close hook changes.  Until
 * then nothing more is read from or written to it. */
static void
client_drop(struct client *cl, const char *why)
{
	struct timeval now = { 0, 0 };

	if (cl->dropped)
		return;
	log_warnx("client %u (uid %u): %s: disconnected", cl->id, (unsigned)cl->peer.uid, why);
	cl->dropped = true;
	client_read_off(cl);
	bufferevent_disable(cl->bev, EV_WRITE);
	evtimer_add(cl->timer, &now);
}

static size_t
client_outlen(const struct client *cl)
{
	return evbuffer_get_length(bufferevent_get_output(cl->bev));
}

/* A client done talking: close once every answer is written. */
static void
client_check_done(struct client *cl)
{
	if (cl->bev == NULL || cl->dropped)
		return;
	if ((cl->eof || cl->closing) && cl->pending == 0 && client_outlen(cl) == 0)
		client_close(cl, cl->eof ? "end of input" : "after error");
}

/* Send the line made of parts[0..n) (its '\n' included).  When nothing
 * of cl's waits to be written, the line goes to the socket at once: a
 * reply that fits (the usual case) never passes through the output
 * buffer, so the bufferevent does not switch its write event on and off
 * (two epoll_ctl calls) nor wait a turn of the loop to write it.  What the
 * socket does not take now, or all of it after an error (the bufferevent
 * meets the error again when it writes, and closes), is buffered, and
 * order is kept: nothing is written directly while anything is buffered. */
static void
client_send_parts(struct client *cl, const struct iovec *parts, int n)
{
	struct evbuffer *out;
	size_t done = 0;

	if (cl->dropped)
		return;
	out = bufferevent_get_output(cl->bev);
	if (evbuffer_get_length(out) == 0) {
		struct msghdr mh = { .msg_iov = (struct iovec *)parts, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(bufferevent_getfd(cl->bev), &mh, MSG_DONTWAIT | MSG_NOSIGNAL);

		done = w > 0 ? (size_t)w : 0;
	}
	for (int i = 0; i < n; i++) {
		size_t skip = done < parts[i].iov_len ? done : parts[i].iov_len;

		done -= skip;
		if (skip < parts[i].iov_len &&
		    evbuffer_add(out, (const char *)parts[i].iov_base + skip,
				 parts[i].iov_len - skip) == -1) {
			client_drop(cl, "out of memory writing a reply");
			return;
		}
	}
	if (client_outlen(cl) > OUT_HIGH)
		client_read_off(cl);
}

static void
client_send(struct client *cl, json_object *msg)
{
	struct iovec parts[2];
	size_t len;

	if (cl->dropped)
		return;
	parts[0].iov_base = (void *)proto_to_string(msg, &len);
	parts[0].iov_len = len;
	parts[1].iov_base = "\n";
	parts[1].iov_len = 1;
	client_send_parts(cl, parts, 2);
}

static json_object *
reply_new(json_object *id, HRESULT hr)
{
	json_object *r = json_object_new_object();
	const char *name = hr_name(hr);

	if (id != NULL)
		json_object_object_add(r, "id", json_object_get(id));
	json_object_object_add(r, "hr", json_object_new_int(hr));
	json_object_object_add(r, "hr_name", json_object_new_string(name ? name : "UNKNOWN"));
	return r;
}

/* An error that belongs to no request (the line could not be read). */
static void
client_error(struct client *cl, json_object *id, HRESULT hr, const char *message)
{
	json_object *r = reply_new(id, hr);

	json_object_object_add(r, "message", json_object_new_string(message));
	log_info("client %u: %s", cl->id, message);
	client_send(cl, r);
	json_object_put(r);
}

/* req is answered: free it, and let its client go on. */
static void
request_done(struct request *req)
{
	struct client *cl = req->cl;

	json_object_put(req->id);
	free(req);
	cl->pending--;
	if (cl->bev == NULL) {
		client_maybe_free(cl);
		return;
	}
	/* Room for more requests: read what waited, then see if done. */
	if (!cl->eof && !cl->closing && !cl->dropped && client_outlen(cl) <= OUT_HIGH) {
		client_read_on(cl);
		/* Lines that came while reading was paused (max_pending) are
		 * in the input buffer already: no new data will wake the read
		 * event for them, and a reply written at once brings no write
		 * callback either.  Take them from the loop, unless
		 * client_read is running now and will go on by itself. */
		if (cl->busy == 0 && evbuffer_get_length(cl->in) > 0)
			event_active(cl->rev, EV_READ, 0);
	}
	client_check_done(cl);
}

void
control_reply(struct request *req, HRESULT hr, json_object *body)
{
	struct client *cl = req->cl;

	if (cl->bev != NULL) {
		json_object *r = reply_new(req->id, hr);

		if (body != NULL) {
			json_object_object_foreach(body, key, val)
				json_object_object_add(r, key, json_object_get(val));
		}
		client_send(cl, r);
		json_object_put(r);
	}
	json_object_put(body);
	request_done(req);
}

/* The id as json-c writes it: a number by hand (the common case), anything
 * else by json-c itself, so that both replies of control_reply and of
 * control_reply_text spell it alike. */
static const char *
id_text(json_object *id, char *buf, size_t size, size_t *len)
{
	if (json_object_is_type(id, json_type_int)) {
		int64_t v = json_object_get_int64(id);

		/* INT64_MAX may be a clamped uint64: json-c prints that one. */
		if (v != INT64_MAX) {
			*len = (size_t)snprintf(buf, size, "%" PRId64, v);
			return buf;
		}
	}
	return proto_to_string(id, len);
}

void
control_reply_text(struct request *req, HRESULT hr, const struct iovec *members, int n)
{
	struct client *cl = req->cl;

	if (cl->bev != NULL && !cl->dropped) {
		struct iovec parts[CONTROL_REPLY_MAX_PARTS + 4];
		char idbuf[32], head[96];
		const char *name = hr_name(hr);
		size_t idlen;
		int k = 0, headlen;

		if (n < 0 || n > CONTROL_REPLY_MAX_PARTS)
			abort(); /* a caller's bug, not a client's input */
		parts[k].iov_base = "{\"id\":";
		parts[k++].iov_len = 6;
		parts[k].iov_base = (void *)id_text(req->id, idbuf, sizeof(idbuf), &idlen);
		parts[k++].iov_len = idlen;
		/* hr_name's names are identifiers: nothing to escape. */
		headlen = snprintf(head, sizeof(head), ",\"hr\":%d,\"hr_name\":\"%s\"%s", (int)hr,
				   name ? name : "UNKNOWN", n > 0 ? "," : "");
		parts[k].iov_base = head;
		parts[k++].iov_len = (size_t)headlen;
		for (int i = 0; i < n; i++)
			parts[k++] = members[i];
		parts[k].iov_base = "}\n";
		parts[k++].iov_len = 2;
		client_send_parts(cl, parts, k);
	}
	request_done(req);
}

void
control_fail(struct request *req, HRESULT hr, const char *fmt, ...)
{
	json_object *body = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (req->cl->bev != NULL)
		log_debug("client %u: %s", req->cl->id, msg);
	json_object_object_add(body, "message", json_object_new_string(msg));
	control_reply(req, hr, body);
}

const struct peer *
control_request_peer(const struct request *req)
{
	return &req->cl->peer;
}

bool
control_request_orphaned(const struct request *req)
{
	return req->cl->bev == NULL;
}

unsigned
control_client_count(const struct control *c)
{
	return c->n_clients;
}

struct client *
control_request_client(const struct request *req)
{
	return req->cl;
}

void
control_client_hold(struct client *cl)
{
	cl->refs++;
}

void
control_client_release(struct client *cl)
{
	cl->refs--;
	client_maybe_free(cl);
}

bool
control_client_gone(const struct client *cl)
{
	return cl->bev == NULL;
}

unsigned
control_client_id(const struct client *cl)
{
	return cl->id;
}

void
control_client_event(struct client *cl, json_object *ev)
{
	size_t unread;
	char why[128];

	if (cl->bev != NULL && !cl->dropped) {
		/* Replies are bounded by the pause in reading; events are not.
		 * What the socket takes now is not unread: a burst of events
		 * within one turn of the loop must not count against a client
		 * that reads. */
		if (client_outlen(cl) > cl->ctl->lim.max_output)
			evbuffer_write(bufferevent_get_output(cl->bev), bufferevent_getfd(cl->bev));
		if ((unread = client_outlen(cl)) > cl->ctl->lim.max_output) {
			snprintf(why, sizeof(why),
				 "not reading its replies (%zu bytes unread, max_output_size %zu)",
				 unread, cl->ctl->lim.max_output);
			client_drop(cl, why);
		} else {
			client_send(cl, ev);
		}
	}
	json_object_put(ev);
}

void
control_set_dispatch(struct control *c, control_dispatch_fn dispatch, void *ctx)
{
	c->dispatch = dispatch;
	c->ctx = ctx;
}

void
control_set_close_hook(struct control *c, control_close_fn fn, void *ctx)
{
	c->close_hook = fn;
	c->close_ctx = ctx;
}

static void
client_handle_line(struct client *cl, const char *line, size_t len)
{
	struct control *c = cl->ctl;
	json_object *msg, *id = NULL, *opj;
	struct request *req;
	char err[256];

	/* Blank lines are harmless keep-alives from hand-typed sessions. */
	if (strspn(line, " \t\r") == len)
		return;
	if ((msg = proto_parse_line_tok(c->tok, line, len, err, sizeof(err))) == NULL) {
		client_error(cl, NULL, MAPI_E_INVALID_PARAMETER, err);
		return;
	}
	if (!json_object_object_get_ex(msg, "id", &id) ||
	    (!json_object_is_type(id, json_type_int) &&
	     !json_object_is_type(id, json_type_string))) {
		client_error(cl, NULL, MAPI_E_INVALID_PARAMETER,
			     "request needs an \"id\" (a number or a string)");
		goto out;
	}
	if (!json_object_object_get_ex(msg, "op", &opj) ||
	    !json_object_is_type(opj, json_type_string)) {
		client_error(cl, id, MAPI_E_INVALID_PARAMETER,
			     "request needs an \"op\" (a string naming the operation)");
		goto out;
	}
	if (cl->pending >= c->lim.max_pending) {
		snprintf(err, sizeof(err),
			 "too many requests in flight on this connection (max_pending = %u)",
			 c->lim.max_pending);
		client_error(cl, id, MAPI_E_BUSY, err);
		goto out;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		client_error(cl, id, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
		goto out;
	}
	req->cl = cl;
	req->id = json_object_get(id);
	cl->pending++;
	log_debug("client %u: %s", cl->id, json_object_get_string(opj));
	if (c->dispatch == NULL)
		control_fail(req, MAPI_E_BUSY, "mapispoold is starting or stopping");
	else
		c->dispatch(c->ctx, req, json_object_get_string(opj), msg);
out:
	json_object_put(msg);
}

/* After an error that leaves the input unframed: stop reading, close once
 * the error is written. */
static void
client_error_close(struct client *cl, HRESULT hr, const char *message)
{
	client_error(cl, NULL, hr, message);
	evbuffer_drain(cl->in, evbuffer_get_length(cl->in));
	client_read_off(cl);
	evtimer_del(cl->timer);
	cl->closing = true;
	client_check_done(cl);
}

static void
client_oversize(struct client *cl)
{
	char err[128];

	snprintf(err, sizeof(err), "request line longer than max_line_size (%zu bytes)",
		 cl->ctl->lim.max_line);
	client_error_close(cl, MAPI_E_TOO_BIG, err);
}

/* The client's timer: a drop is due, or a line was begun too long ago. */
static void
client_timer(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	char err[128];

	(void)fd;
	(void)what;
	if (cl->dropped) {
		client_close(cl, "dropped");
		return;
	}
	snprintf(err, sizeof(err), "request line not finished within request_timeout (%lld ms)",
		 (long long)cl->ctl->lim.request_timeout);
	client_error_close(cl, MAPI_E_TIMEOUT, err);
}

/* A begun line must be finished within request_timeout of its first byte
 * (or of the end of the line before it).  Not while reading is paused:
 * then the wait is ours, not the client's. */
static void
client_request_timer(struct client *cl, bool new_line, bool paused)
{
	msec_t t = cl->ctl->lim.request_timeout;
	struct timeval tv = { .tv_sec = t / 1000, .tv_usec = (t % 1000) * 1000 };

	if (t == 0)
		return;
	if (paused || evbuffer_get_length(cl->in) == 0)
		evtimer_del(cl->timer);
	else if (new_line || !evtimer_pending(cl->timer, NULL))
		evtimer_add(cl->timer, &tv);
}

/* Take the complete lines read so far, as long as the client may send. */
static void
client_read(struct client *cl)
{
	struct evbuffer *in = cl->in;
	size_t max = cl->ctl->lim.max_line;
	bool new_line = false, paused = false;

	/* Answers given while we loop may close the connection. */
	cl->busy++;
	while (cl->bev != NULL && !cl->closing && !cl->dropped) {
		struct evbuffer_ptr eol;
		char *line;

		/* Paused: the client has too much unread output, or too
		 * many requests out.  Resumed from write/reply. */
		if (client_outlen(cl) > OUT_HIGH || cl->pending >= cl->ctl->lim.max_pending) {
			client_read_off(cl);
			paused = true;
			break;
		}
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(in) > max)
				client_oversize(cl);
			break;
		}
		if ((size_t)eol.pos > max) {
			client_oversize(cl);
			break;
		}
		if ((line = malloc((size_t)eol.pos + 1)) == NULL) {
			client_close(cl, "out of memory");
			break;
		}
		evbuffer_remove(in, line, (size_t)eol.pos);
		evbuffer_drain(in, 1);
		line[eol.pos] = '\0';
		new_line = true;
		client_handle_line(cl, line, (size_t)eol.pos);
		free(line);
	}
	if (cl->bev != NULL && !cl->closing && !cl->dropped)
		client_request_timer(cl, new_line, paused);
	cl->busy--;
	client_maybe_free(cl);
}

static void
client_write(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;

	(void)bev;
	/* Below the low-water mark again (see client_new). */
	if (!cl->eof && !cl->closing && !cl->dropped) {
		client_read_on(cl);
		if (evbuffer_get_length(cl->in) > 0) {
			/* Keep cl while the lines that waited are read. */
			cl->busy++;
			client_read(cl);
			cl->busy--;
			if (cl->bev == NULL) {
				client_maybe_free(cl);
				return;
			}
		}
	}
	client_check_done(cl);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *cl = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		/* Half-closed: answer what was asked, then close. */
		cl->eof = true;
		client_read_off(cl);
		/* A line it began can no longer be finished: not a timeout. */
		evtimer_del(cl->timer);
		if (cl->pending == 0 && client_outlen(cl) == 0)
			client_close(cl, "end of input");
	} else if (what & BEV_EVENT_ERROR) {
		client_close(cl, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	} else if (what & BEV_EVENT_TIMEOUT) {
		/* Waiting on us, not idle: the read event, persistent,
		 * goes on with its timeout started again. */
		if (cl->pending == 0 && client_outlen(cl) == 0)
			client_close(cl, "idle timeout");
	}
}

/* Readable, or idle_timeout passed without a byte: read once, at most what
 * the longest line still has room for, then take the lines. */
static void
client_readable(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	size_t have = evbuffer_get_length(cl->in), bound = cl->ctl->lim.max_line + 2;

	if (what & EV_TIMEOUT) {
		client_event(cl->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, cl);
		return;
	}
	if (have < bound) {
		size_t want = bound - have < READ_CHUNK ? bound - have : READ_CHUNK;
		struct evbuffer_iovec v;
		ssize_t n;

		if (evbuffer_reserve_space(cl->in, (ev_ssize_t)want, &v, 1) < 1) {
			client_close(cl, "out of memory");
			return;
		}
		n = read(fd, v.iov_base, want < v.iov_len ? want : v.iov_len);
		if (n > 0) {
			v.iov_len = (size_t)n;
			evbuffer_commit_space(cl->in, &v, 1);
		} else if (n == 0) {
			client_event(cl->bev, BEV_EVENT_READING | BEV_EVENT_EOF, cl);
			return;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			client_event(cl->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, cl);
			return;
		}
		/* Nothing new (a wake-up from request_done): the lines that
		 * waited are taken all the same. */
	}
	cl->busy++;
	client_read(cl);
	cl->busy--;
	client_maybe_free(cl);
}

/* Refuse a connection with one line, without ever blocking: the socket is
 * fresh, its buffer is empty.  why holds no character JSON would escape. */
static void
refuse_busy(evutil_socket_t fd, const char *why)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line),
		     "{\"hr\":%d,\"hr_name\":\"MAPI_E_BUSY\",\"message\":\"%s\"}\n",
		     (int)MAPI_E_BUSY, why);
	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_debug("refusing a client: %s", strerror(errno));
	close(fd);
}

/* Stop accepting until a client leaves, or a moment has passed, instead of
 * spinning on a listener that stays readable. */
static void
accept_pause(struct control *c)
{
	struct timeval tv = { ACCEPT_PAUSE_SEC, 0 };

	evconnlistener_disable(c->listener);
	evtimer_add(c->accept_resume, &tv);
}

/* The kernel hands out the lowest free descriptor, so fd, just accepted,
 * is a lower bound on how many are open: no count of our own to keep. */
static bool
fd_near_limit(evutil_socket_t fd)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	       (rlim_t)fd + FD_MARGIN >= rl.rlim_cur;
}

/* SO_PEERGROUPS gives the groups the peer had at connect, without asking
 * NSS (which may block on a directory server) and without reading
 * /proc/PID (which a reused pid could answer for someone else).  Kernels
 * before 4.13 lack it: then only the primary group counts. */
static void
peer_read(evutil_socket_t fd, struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	*p = (struct peer){ .uid = (uid_t)-1, .gid = (gid_t)-1, .pid = -1 };
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		p->uid = cred.uid;
		p->gid = cred.gid;
		p->pid = cred.pid;
	}
	len = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) == 0 || errno != ERANGE ||
	    (p->groups = malloc(len)) == NULL)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0) {
		p->n_groups = len / sizeof(gid_t);
	} else {
		free(p->groups);
		p->groups = NULL;
	}
}

static unsigned
clients_of_uid(const struct control *c, uid_t uid)
{
	const struct client *cl;
	unsigned n = 0;

	TAILQ_FOREACH(cl, &c->clients, entry)
		n += cl->peer.uid == uid;
	return n;
}

static void
control_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
	       void *arg)
{
	struct control *c = arg;
	struct client *cl;
	char why[128];

	(void)l;
	(void)sa;
	(void)salen;
	if (c->n_clients >= c->lim.max_clients) {
		log_warnx("refusing a client: %u connections already (max_clients)",
			  c->n_clients);
		snprintf(why, sizeof(why), "too many clients (max_clients = %u)",
			 c->lim.max_clients);
		refuse_busy(fd, why);
		return;
	}
	if (fd_near_limit(fd)) {
		log_warnx("refusing a client: near the descriptor limit (RLIMIT_NOFILE); "
			  "not accepting until a client leaves");
		refuse_busy(fd, "mapispoold is near its descriptor limit, try again later");
		accept_pause(c);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		close(fd);
		return;
	}
	cl->ctl = c;
	peer_read(fd, &cl->peer);
	if (clients_of_uid(c, cl->peer.uid) >= c->lim.max_clients_per_uid) {
		log_warnx("refusing a client of uid %u: %u connections already "
			  "(max_clients_per_uid)", (unsigned)cl->peer.uid, c->lim.max_clients_per_uid);
		snprintf(why, sizeof(why), "too many clients of uid %u (max_clients_per_uid = %u)",
			 (unsigned)cl->peer.uid, c->lim.max_clients_per_uid);
		refuse_busy(fd, why);
		client_maybe_free(cl);
		return;
	}
	cl->id = ++c->next_id;
	cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	cl->timer = evtimer_new(c->base, client_timer, cl);
	cl->rev = event_new(c->base, fd, EV_READ | EV_PERSIST, client_readable, cl);
	cl->in = evbuffer_new();
	if (cl->bev == NULL || cl->timer == NULL || cl->rev == NULL || cl->in == NULL) {
		if (cl->bev != NULL)
			bufferevent_free(cl->bev);
		else
			close(fd);
		if (cl->timer != NULL)
			event_free(cl->timer);
		if (cl->rev != NULL)
			event_free(cl->rev);
		cl->bev = NULL;
		client_maybe_free(cl);
		return;
	}
	/* The bufferevent only writes: reading is client_readable's. */
	bufferevent_setcb(cl->bev, NULL, client_write, client_event, cl);
	bufferevent_setwatermark(cl->bev, EV_WRITE, OUT_LOW, 0);
	TAILQ_INSERT_TAIL(&c->clients, cl, entry);
	c->n_clients++;
	log_debug("client %u: connected (uid %u, gid %u, pid %d)", cl->id,
		  (unsigned)cl->peer.uid, (unsigned)cl->peer.gid, (int)cl->peer.pid);
	/* The hello goes out from the loop, not at once as replies do: a
	 * client that connected and left straight away (a readiness probe)
	 * is then seen gone, by its EOF and the write's EPIPE, before the
	 * connections queued behind it are taken, instead of holding a
	 * max_clients slot while each of them gets its hello at once and
	 * brings the next. */
	{
		size_t len;
		const char *s = proto_to_string(c->hello, &len);
		struct evbuffer *out = bufferevent_get_output(cl->bev);

		if (evbuffer_add(out, s, len) == -1 || evbuffer_add(out, "\n", 1) == -1)
			client_drop(cl, "out of memory writing a reply");
	}
	bufferevent_enable(cl->bev, EV_WRITE);
	if (!cl->dropped)
		client_read_on(cl);
}

static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct control *c = arg;
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	log_warnx("accept on %s: %s", c->path, evutil_socket_error_to_string(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
		accept_pause(c);
}

/* Is a daemon answering on path?  Removes a stale socket. */
static int
socket_check_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; remove it or choose "
			 "another with --socket", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "another mapispoold is already running on %s", path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	log_notice("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The socket's directory, if missing (for example /run/mapispool). */
static int
socket_make_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Listen on path.  The socket is made under a name of its own next to path
 * (path.PID), given its group and mode, made to listen, and only then
 * renamed to path: a client that sees path can connect at once, instead
 * of meeting ECONNREFUSED between bind and listen.  (When path.PID would
 * not fit in sun_path, the socket is bound to path itself.)
 */
static int
socket_listen(const char *path, mode_t mode, const char *group, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *at;
	mode_t old;
	int fd, n;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long (max %zu bytes): %s",
			 sizeof(sun.sun_path) - 1, path);
		return -1;
	}
	if (socket_check_stale(path, err, errlen) == -1 ||
	    socket_make_dir(path, err, errlen) == -1)
		return -1;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		strcpy(sun.sun_path, path);
	at = sun.sun_path;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Born private; opened up to socket_mode once it belongs to the
	 * right group, so there is no moment with looser rights. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", at, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL || chown(at, (uid_t)-1, gr->gr_gid) == -1) {
			snprintf(err, errlen, "socket_group %s: %s", group,
				 gr ? strerror(errno) : "no such group");
			goto fail;
		}
	}
	if (chmod(at, mode) == -1) {
		snprintf(err, errlen, "chmod %s: %s", at, strerror(errno));
		goto fail;
	}
	if (listen(fd, 128) == -1) {
		snprintf(err, errlen, "listen %s: %s", at, strerror(errno));
		goto fail;
	}
	if (strcmp(at, path) != 0 && rename(at, path) == -1) {
		snprintf(err, errlen, "rename %s to %s: %s", at, path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(at);
	return -1;
}

/* The part of control_new and control_new_fd once a socket listens on
 * fd: the server around it.  fd is closed on failure, and path removed
 * if it is ours. */
static struct control *
control_start(struct event_base *base, int fd, const char *path, bool owns_path,
	      const struct control_limits *limits, json_object *hello,
	      control_dispatch_fn dispatch, void *ctx, char *err, size_t errlen)
{
	struct control *c;

	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		close(fd);
		if (owns_path)
			unlink(path);
		return NULL;
	}
	c->base = base;
	c->owns_path = owns_path;
	c->lim = *limits;
	c->hello = hello;
	c->dispatch = dispatch;
	c->ctx = ctx;
	TAILQ_INIT(&c->clients);
	c->tok = proto_tokener_new();
	c->listener = evconnlistener_new(base, control_accept, c,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	c->accept_resume = evtimer_new(base, accept_resume, c);
	if (c->listener == NULL || c->accept_resume == NULL || c->tok == NULL) {
		snprintf(err, errlen, "cannot listen on %s", path);
		if (c->listener == NULL) {
			close(fd);
			if (owns_path)
				unlink(path);
		}
		control_free(c);
		return NULL;
	}
	evconnlistener_set_error_cb(c->listener, accept_error);
	return c;
}

struct control *
control_new(struct event_base *base, const char *path, mode_t mode, const char *group,
	    const struct control_limits *limits, json_object *hello,
	    control_dispatch_fn dispatch, void *ctx, char *err, size_t errlen)
{
	int fd;

	if ((fd = socket_listen(path, mode, group, err, errlen)) == -1)
		return NULL;
	return control_start(base, fd, path, true, limits, hello, dispatch, ctx, err, errlen);
}

struct control *
control_new_fd(struct event_base *base, int fd, const struct control_limits *limits,
	       json_object *hello, control_dispatch_fn dispatch, void *ctx, char *err,
	       size_t errlen)
{
	struct sockaddr_un sun = { 0 };
	socklen_t len = sizeof(sun);
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	char path[sizeof(sun.sun_path) + 32];

	/* Its path, for the log (an abstract name as "@name"). */
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 || len <= off + 1)
		snprintf(path, sizeof(path), "descriptor %d", fd);
	else if (sun.sun_path[0] == '\0')
		snprintf(path, sizeof(path), "@%.*s", (int)(len - off - 1), sun.sun_path + 1);
	else
		snprintf(path, sizeof(path), "%.*s", (int)strnlen(sun.sun_path, len - off),
			 sun.sun_path);
	if (evutil_make_socket_nonblocking(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return control_start(base, fd, path, false, limits, hello, dispatch, ctx, err, errlen);
}

void
control_free(struct control *c)
{
	struct client *cl;

	if (c == NULL)
		return;
	/* Whoever still holds a client (a request, a subscription) must have
	 * let go before this: the spooler is shut down first. */
	while ((cl = TAILQ_FIRST(&c->clients)) != NULL)
		client_close(cl, "shutting down");
	if (c->listener != NULL) {
		evconnlistener_free(c->listener);
		if (c->owns_path)
			unlink(c->path);
	}
	if (c->accept_resume != NULL)
		event_free(c->accept_resume);
	if (c->tok != NULL)
		json_tokener_free(c->tok);
	free(c->path);
	free(c);
}
