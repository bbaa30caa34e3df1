/*
 * client.c — the connection to mapispoold, the errors every call records,
 * and the small conversions the other client files share.
 *
 * The connection is a blocking Unix stream socket carrying one JSON object
 * per line (doc/protocol.md).  A call sends its request and reads lines
 * until its reply comes; anything else read meanwhile is queued, so that
 * events are not lost when notifications are pumped later.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "hresult.h"
#include "proptag.h"
#include "protocol.h"

struct queued {
	json_object *msg;
	uint64_t seq;			/* the order lines were queued in */
	STAILQ_ENTRY(queued) entry;
};

struct client {
	int fd;				/* -1 once the connection is gone */
	char path[PATH_MAX];
	int64_t next_id;
	char *buf;			/* bytes read and not yet consumed */
	size_t len, cap;
	size_t scanned;			/* buf[0..scanned) holds no '\n' */
	STAILQ_HEAD(, queued) queue;	/* events and replies to other ids */
	size_t queued;
	uint64_t seq;			/* the next queued line's seq */
};

/* Per thread, and never allocated: it must survive MAPIUninitialize. */
static _Thread_local char last_error[CLIENT_ERR_MAX];

const char *
mapispool_last_error(void)
{
	return last_error;
}

/* ---- Objects and their errors ---- */

bool
obj_is(const void *o, enum obj_kind kind)
{
	return o != NULL && ((const struct obj *)o)->kind == kind;
}

HRESULT
obj_result(struct obj *o, HRESULT hr, const char *err)
{
	const char *text = "";

	if (FAILED(hr))
		text = err != NULL && *err != '\0' ? err : hr_describe(hr);
	snprintf(last_error, sizeof last_error, "%s", text);
	if (o != NULL) {
		o->last_hr = FAILED(hr) ? hr : S_OK;
		snprintf(o->last_error, sizeof o->last_error, "%s", text);
	}
	return hr;
}

HRESULT
obj_fail(struct obj *o, HRESULT hr, const char *fmt, ...)
{
	char err[CLIENT_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof err, fmt, ap);
	va_end(ap);
	return obj_result(o, hr, err);
}

/* A copy of s, chained to e, in the width the caller asked for. */
static HRESULT
error_string(const char *s, LPMAPIERROR e, bool wide, LPTSTR *out)
{
	size_t n = strlen(s) + 1;
	void *p;

	if (wide)
		return utf8_to_wide(s, e, (LPWSTR *)out);
	if (MAPIAllocateMore(n, e, &p) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	*out = memcpy(p, s, n);
	return S_OK;
}

HRESULT
obj_get_last_error(struct obj *o, HRESULT hr, ULONG flags, LPMAPIERROR *out)
{
	bool wide = flags & MAPI_UNICODE;
	const char *text;
	LPMAPIERROR e;

	if (out == NULL)
		return MAPI_E_INVALID_PARAMETER;
	*out = NULL;
	if (flags & ~MAPI_UNICODE)
		return MAPI_E_UNKNOWN_FLAGS;
	/* MAPI: no error information is a success with no structure. */
	if (!FAILED(hr))
		return S_OK;
	/* The object's own words if hr is what its last call returned. */
	text = o->last_hr == hr && o->last_error[0] != '\0' ? o->last_error : hr_describe(hr);
	if (MAPIAllocateBuffer(sizeof *e, (void **)&e) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	memset(e, 0, sizeof *e);
	if (error_string(text, e, wide, &e->lpszError) != S_OK ||
	    error_string("mapispool", e, wide, &e->lpszComponent) != S_OK) {
		MAPIFreeBuffer(e);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	*out = e;
	return S_OK;
}

/* ---- The connection ---- */

/* The stream can no longer be trusted: close it and say why.  Later calls
 * get MAPI_E_END_OF_SESSION. */
static HRESULT __attribute__((format(printf, 5, 6)))
client_fail(struct client *c, HRESULT hr, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	return hr;
}

static HRESULT
client_resolve(struct client *c, const char *path, char *err, size_t errlen)
{
	size_t n;

	if (path != NULL)
		n = (size_t)snprintf(c->path, sizeof c->path, "%s", path);
	else
		n = mapispool_default_socket(c->path, sizeof c->path);
	if (n >= sizeof c->path || n >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		snprintf(err, errlen, "control socket path too long (%zu bytes): %.64s...", n,
			 c->path);
		return MAPI_E_NETWORK_ERROR;
	}
	return S_OK;
}

/* connect() interrupted by a signal goes on in the background: wait for
 * it to finish and fetch its result instead of connecting twice. */
static int
connect_finish(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int error;

	while (poll(&pfd, 1, -1) == -1)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return -1;
	errno = error;
	return error == 0 ? 0 : -1;
}

static HRESULT
client_connect(struct client *c, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %m");
		return MAPI_E_NETWORK_ERROR;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == 0 ||
	    (errno == EINTR && connect_finish(c->fd) == 0))
		return S_OK;
	if (errno == ENOENT || errno == ECONNREFUSED)
		return client_fail(c, MAPI_E_NETWORK_ERROR, err, errlen,
				   "connect %s: %m (is mapispoold running?)", c->path);
	return client_fail(c, MAPI_E_NETWORK_ERROR, err, errlen, "connect %s: %m", c->path);
}

static HRESULT
client_send_all(struct client *c, const char *p, size_t len, char *err, size_t errlen)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(c->fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return client_fail(c, MAPI_E_END_OF_SESSION, err, errlen,
						   "mapispoold closed the connection");
			return client_fail(c, MAPI_E_NETWORK_ERROR, err, errlen, "write %s: %m",
					   c->path);
		}
		p += n;
		len -= (size_t)n;
	}
	return S_OK;
}

static HRESULT
client_send(struct client *c, json_object *msg, char *err, size_t errlen)
{
	size_t len;
	const char *text = proto_to_string(msg, &len);
	HRESULT hr;

	if (text == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	if ((hr = client_send_all(c, text, len, err, errlen)) != S_OK)
		return hr;
	return client_send_all(c, "\n", 1, err, errlen);
}

/* s as a JSON string at out, which has room for 6 bytes a byte of s and
 * 2 more; returns the end. */
static char *
json_quote(char *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;

	*out++ = '"';
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			*out++ = '\\';
			*out++ = (char)*p;
		} else if (*p < 0x20) {
			memcpy(out, "\\u00", 4);
			out += 4;
			*out++ = hex[*p >> 4];
			*out++ = hex[*p & 0xf];
		} else {
			*out++ = (char)*p;
		}
	}
	*out++ = '"';
	return out;
}

/* client_send with the secrets added as members of msg.  The line is made
 * here, in one buffer that is wiped once sent: json-c would leave copies
 * of the values in memory it frees. */
static HRESULT
client_send_secret(struct client *c, json_object *msg, const struct client_secret *secrets,
		   size_t nsecrets, char *err, size_t errlen)
{
	size_t len, cap, i;
	const char *text = proto_to_string(msg, &len);
	char *buf, *p;
	HRESULT hr;

	if (text == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	/* ,"key":"value" for each, the closing brace and the newline. */
	cap = len + 2;
	for (i = 0; i < nsecrets; i++)
		cap += 6 * (strlen(secrets[i].key) + strlen(secrets[i].value)) + 6;
	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, errlen, "no memory for the request");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	/* text is an object, "{...}": the secrets go before its brace. */
	memcpy(buf, text, len - 1);
	p = buf + len - 1;
	for (i = 0; i < nsecrets; i++) {
		*p++ = ',';
		p = json_quote(p, secrets[i].key);
		*p++ = ':';
		p = json_quote(p, secrets[i].value);
	}
	*p++ = '}';
	*p++ = '\n';
	hr = client_send_all(c, buf, (size_t)(p - buf), err, errlen);
	explicit_bzero(buf, cap);
	free(buf);
	return hr;
}

/* Room for at least one more byte, up to one line and its '\n'. */
static int
client_grow(struct client *c)
{
	size_t cap = c->cap != 0 ? c->cap * 2 : 4096;
	char *p;

	if (cap > CLIENT_MAX_LINE + 1)
		cap = CLIENT_MAX_LINE + 1;
	if ((p = realloc(c->buf, cap)) == NULL)
		return -1;
	c->buf = p;
	c->cap = cap;
	return 0;
}

/* Milliseconds left until deadline (NULL: no limit, -1), for poll. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ms;

	if (deadline == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Wait until deadline for bytes and append them to the buffer.  *idle is
 * set when none came: the time ran out or a signal interrupted the wait. */
static HRESULT
client_fill(struct client *c, const struct timespec *deadline, bool *idle, char *err,
	    size_t errlen)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int ready;

	*idle = false;
	if (c->len == c->cap && client_grow(c) == -1)
		return client_fail(c, MAPI_E_NOT_ENOUGH_MEMORY, err, errlen,
				   "no memory for a line from mapispoold");
	if ((ready = poll(&pfd, 1, ms_left(deadline))) <= 0) {
		if (ready == -1 && errno != EINTR)
			return client_fail(c, MAPI_E_NETWORK_ERROR, err, errlen, "poll: %m");
		*idle = true;
		return S_OK;
	}
	if ((n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return S_OK;
		return client_fail(c, MAPI_E_NETWORK_ERROR, err, errlen, "read %s: %m", c->path);
	}
	if (n == 0)
		return client_fail(c, MAPI_E_END_OF_SESSION, err, errlen,
				   "mapispoold closed the connection");
	c->len += (size_t)n;
	return S_OK;
}

/* The next line from the daemon, parsed.  With interruptible, *msg is
 * NULL when no whole line came before deadline (NULL: none) or a signal
 * interrupted the wait; otherwise only a line or a failure ends it. */
static HRESULT
client_read(struct client *c, const struct timespec *deadline, bool interruptible,
	    json_object **msg, char *err, size_t errlen)
{
	char perr[256];
	size_t linelen;
	char *nl;
	bool idle;
	HRESULT hr;

	*msg = NULL;
	while ((nl = c->len > c->scanned ? memchr(c->buf + c->scanned, '\n', c->len - c->scanned)
					 : NULL) == NULL) {
		c->scanned = c->len;
		if (c->len > CLIENT_MAX_LINE)
			return client_fail(c, MAPI_E_TOO_BIG, err, errlen,
					   "a line from mapispoold is longer than %d bytes",
					   CLIENT_MAX_LINE);
		if ((hr = client_fill(c, deadline, &idle, err, errlen)) != S_OK)
			return hr;
		if (idle && interruptible)
			return S_OK;
	}
	linelen = (size_t)(nl - c->buf);
	*msg = proto_parse_line(c->buf, linelen, perr, sizeof perr);
	c->len -= linelen + 1;
	memmove(c->buf, nl + 1, c->len);
	c->scanned = 0;
	if (*msg == NULL)
		return client_fail(c, MAPI_E_CORRUPT_DATA, err, errlen,
				   "malformed line from mapispoold: %s", perr);
	return S_OK;
}

static HRESULT
client_hello(struct client *c, char *err, size_t errlen)
{
	json_object *hello, *event, *proto;
	HRESULT hr;

	/* Until the hello, whatever goes wrong means mapispoold was not
	 * reached. */
	if ((hr = client_read(c, NULL, false, &hello, err, errlen)) != S_OK) {
		if (hr == MAPI_E_END_OF_SESSION)
			snprintf(err, errlen, "%s closed the connection before saying hello",
				 c->path);
		return MAPI_E_NETWORK_ERROR;
	}
	if (!json_object_object_get_ex(hello, "event", &event) ||
	    !json_object_is_type(event, json_type_string) ||
	    strcmp(json_object_get_string(event), PROTO_EV_HELLO) != 0 ||
	    !json_object_object_get_ex(hello, "protocol", &proto) ||
	    !json_object_is_type(proto, json_type_int)) {
		json_object_put(hello);
		return client_fail(c, MAPI_E_NETWORK_ERROR, err, errlen,
				   "%s did not greet as mapispoold does", c->path);
	}
	if (json_object_get_int64(proto) != PROTO_VERSION) {
		hr = client_fail(c, MAPI_E_VERSION, err, errlen,
				 "protocol version mismatch (client %d, server %" PRId64 ")",
				 PROTO_VERSION, json_object_get_int64(proto));
		json_object_put(hello);
		return hr;
	}
	json_object_put(hello);
	return S_OK;
}

HRESULT
client_open(const char *path, struct client **out, char *err, size_t errlen)
{
	struct client *c;
	HRESULT hr;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	c->fd = -1;
	c->next_id = 1;
	STAILQ_INIT(&c->queue);
	if ((hr = client_resolve(c, path, err, errlen)) != S_OK ||
	    (hr = client_connect(c, err, errlen)) != S_OK ||
	    (hr = client_hello(c, err, errlen)) != S_OK) {
		client_close(c);
		return hr;
	}
	*out = c;
	return S_OK;
}

void
client_close(struct client *c)
{
	struct queued *q;

	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	while ((q = STAILQ_FIRST(&c->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		json_object_put(q->msg);
		free(q);
	}
	free(c->buf);
	free(c);
}

/* Keep msg for later.  The queue is bounded: a client that never pumps
 * must not grow without end, so the oldest line goes first. */
static void
client_queue(struct client *c, json_object *msg)
{
	struct queued *q;

	if (c->queued == CLIENT_MAX_QUEUED) {
		q = STAILQ_FIRST(&c->queue);
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		json_object_put(q->msg);
		free(q);
		c->queued--;
	}
	if ((q = malloc(sizeof *q)) == NULL) {
		json_object_put(msg);
		return;
	}
	q->msg = msg;
	q->seq = c->seq++;
	STAILQ_INSERT_TAIL(&c->queue, q, entry);
	c->queued++;
}

/* Is msg the reply to request id?  A reply with no id answers a request
 * the daemon could not read; with one request in flight, it is ours. */
static bool
client_is_reply(json_object *msg, int64_t id)
{
	json_object *v;

	if (json_object_object_get_ex(msg, "id", &v))
		return json_object_is_type(v, json_type_int) && json_object_get_int64(v) == id;
	return !json_object_object_get_ex(msg, "event", NULL);
}

/* The reply's hr; on failure msg is put and err gets its message. */
static HRESULT
client_reply(json_object *msg, json_object **reply, char *err, size_t errlen)
{
	json_object *v;
	HRESULT hr;

	if (!json_object_object_get_ex(msg, "hr", &v) || !json_object_is_type(v, json_type_int)) {
		json_object_put(msg);
		snprintf(err, errlen, "a reply from mapispoold has no \"hr\"");
		return MAPI_E_CORRUPT_DATA;
	}
	/* hr is the signed 32-bit HRESULT; a stray unsigned spelling wraps
	 * to the same value. */
	hr = (HRESULT)(uint32_t)json_object_get_int64(v);
	if (FAILED(hr)) {
		if (json_object_object_get_ex(msg, "message", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(err, errlen, "%s", json_object_get_string(v));
		else
			snprintf(err, errlen, "%s", hr_describe(hr));
		json_object_put(msg);
		return hr;
	}
	*reply = msg;
	return hr;
}

/* The reply to id if a hook's nested call queued it while reading for
 * its own, or NULL. */
static json_object *
client_unqueue_reply(struct client *c, int64_t id)
{
	struct queued *q;
	json_object *msg;

	STAILQ_FOREACH(q, &c->queue, entry) {
		if (client_is_reply(q->msg, id)) {
			STAILQ_REMOVE(&c->queue, q, queued, entry);
			c->queued--;
			msg = q->msg;
			free(q);
			return msg;
		}
	}
	return NULL;
}

/* Queue the lines that have arrived and not been read yet, without
 * waiting: what came before a request is not about it. */
static HRESULT
client_queue_arrived(struct client *c, char *err, size_t errlen)
{
	struct timespec now;
	json_object *msg;
	HRESULT hr;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while ((hr = client_read(c, &now, true, &msg, err, errlen)) == S_OK && msg != NULL)
		client_queue(c, msg);
	return hr;
}

/* Take msg, which the queue holds, out of it and put it. */
static void
client_unqueue_msg(struct client *c, json_object *msg)
{
	struct queued *q;

	STAILQ_FOREACH(q, &c->queue, entry) {
		if (q->msg == msg) {
			STAILQ_REMOVE(&c->queue, q, queued, entry);
			c->queued--;
			json_object_put(q->msg);
			free(q);
			return;
		}
	}
}

/* Offer hook the events queued since seq mark, in order; those it handles
 * leave the queue.  The hook may make calls of its own (answer a prompt),
 * which queue what they read meanwhile: that is offered too, so progress
 * and prompts that came during a nested call are not held back until the
 * waiting call ends. */
static void
client_offer(struct client *c, uint64_t mark, client_hook *hook, void *ctx)
{
	struct queued *q;
	json_object *msg;

	for (;;) {
		STAILQ_FOREACH(q, &c->queue, entry)
			if (q->seq >= mark && json_object_object_get_ex(q->msg, "event", NULL))
				break;
		if (q == NULL)
			return;
		mark = q->seq + 1;
		/* The hook's calls may push q out of a full queue: hold msg. */
		msg = json_object_get(q->msg);
		if (hook(ctx, msg))
			client_unqueue_msg(c, msg);
		json_object_put(msg);
	}
}

/* Is the connection usable for a new request?  With a hook, what arrived
 * before it is queued first: it is not about the request. */
static HRESULT
client_ready(struct client *c, bool hook, char *err, size_t errlen)
{
	if (c->fd == -1) {
		snprintf(err, errlen, "the connection to mapispoold is closed");
		return MAPI_E_END_OF_SESSION;
	}
	return hook ? client_queue_arrived(c, err, errlen) : S_OK;
}

/* {"id":N,"op":op, ...params' members}, N being the next id. */
static json_object *
client_request(struct client *c, const char *op, json_object *params, int64_t *id)
{
	json_object *req;

	if ((req = json_object_new_object()) == NULL)
		return NULL;
	*id = c->next_id++;
	json_object_object_add(req, "id", json_object_new_int64(*id));
	json_object_object_add(req, "op", json_object_new_string(op));
	if (params != NULL) {
		json_object_object_foreach(params, key, val)
			json_object_object_add(req, key, json_object_get(val));
	}
	return req;
}

/* Read until the reply to id comes, queueing the rest and offering its
 * events to hook (if any). */
static HRESULT
client_wait(struct client *c, int64_t id, client_hook *hook, void *ctx, json_object **reply,
	    char *err, size_t errlen)
{
	json_object *msg;
	uint64_t mark;
	HRESULT hr;

	for (;;) {
		if ((hr = client_read(c, NULL, false, &msg, err, errlen)) != S_OK)
			return hr;
		if (client_is_reply(msg, id))
			return client_reply(msg, reply, err, errlen);
		mark = c->seq;
		client_queue(c, msg);
		if (hook == NULL)
			continue;
		client_offer(c, mark, hook, ctx);
		/* The hook may have called the library on this connection. */
		if (c->fd == -1) {
			snprintf(err, errlen, "the connection to mapispoold is closed");
			return MAPI_E_END_OF_SESSION;
		}
		if ((msg = client_unqueue_reply(c, id)) != NULL)
			return client_reply(msg, reply, err, errlen);
	}
}

HRESULT
client_call_hook(struct client *c, const char *op, json_object *params, client_hook *hook,
		 void *ctx, json_object **reply, char *err, size_t errlen)
{
	json_object *req;
	int64_t id;
	HRESULT hr;

	*reply = NULL;
	if ((hr = client_ready(c, hook != NULL, err, errlen)) != S_OK)
		return hr;
	if ((req = client_request(c, op, params, &id)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	hr = client_send(c, req, err, errlen);
	json_object_put(req);
	if (hr != S_OK)
		return hr;
	return client_wait(c, id, hook, ctx, reply, err, errlen);
}

HRESULT
client_call_secret(struct client *c, const char *op, json_object *params,
		   const struct client_secret *secrets, size_t nsecrets, json_object **reply,
		   char *err, size_t errlen)
{
	json_object *req;
	int64_t id;
	HRESULT hr;

	*reply = NULL;
	if ((hr = client_ready(c, false, err, errlen)) != S_OK)
		return hr;
	if ((req = client_request(c, op, params, &id)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	hr = client_send_secret(c, req, secrets, nsecrets, err, errlen);
	json_object_put(req);
	if (hr != S_OK)
		return hr;
	return client_wait(c, id, NULL, NULL, reply, err, errlen);
}

HRESULT
client_call(struct client *c, const char *op, json_object *params, json_object **reply,
	    char *err, size_t errlen)
{
	return client_call_hook(c, op, params, NULL, NULL, reply, err, errlen);
}

HRESULT
client_next(struct client *c, int timeout_ms, json_object **msg, char *err, size_t errlen)
{
	struct timespec deadline;
	struct queued *q;

	*msg = NULL;
	if ((q = STAILQ_FIRST(&c->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		c->queued--;
		*msg = q->msg;
		free(q);
		return S_OK;
	}
	if (c->fd == -1) {
		snprintf(err, errlen, "the connection to mapispoold is closed");
		return MAPI_E_END_OF_SESSION;
	}
	if (timeout_ms < 0)
		return client_read(c, NULL, true, msg, err, errlen);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	return client_read(c, &deadline, true, msg, err, errlen);
}

int
client_fd(const struct client *c)
{
	return c->fd;
}

/* ---- Values ---- */

HRESULT
tags_from_keys(json_object *obj, bool unicode, LPSPropTagArray *out, char *err,
	       size_t errlen)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);
	LPSPropTagArray tags;
	ULONG tag, type;

	if (MAPIAllocateBuffer(CbNewSPropTagArray(json_object_object_length(obj)),
			       (void **)&tags) != S_OK) {
		snprintf(err, errlen, "no memory for %d columns", json_object_object_length(obj));
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	tags->cValues = 0;
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		/* Readers ignore what they do not know: a newer daemon may
		 * have properties this library has no name for. */
		if (!proptag_parse(json_object_iter_peek_name(&it), &tag))
			continue;
		type = PROP_TYPE(tag);
		if (unicode && (type & ~MV_FLAG) == PT_STRING8)
			tag = CHANGE_PROP_TYPE(tag, (type & MV_FLAG) | PT_UNICODE);
		tags->aulPropTag[tags->cValues++] = tag;
	}
	*out = tags;
	return S_OK;
}

int64_t
member_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

const char *
member_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool
member_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

HRESULT
member_hr(json_object *o, const char *key, HRESULT dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return dflt;
	/* As client_reply reads "hr": an unsigned spelling wraps the same. */
	return (HRESULT)(uint32_t)json_object_get_int64(v);
}

HRESULT
string_more(const char *s, void *parent, LPSTR *out)
{
	size_t n;
	void *p;

	*out = NULL;
	if (s == NULL)
		return S_OK;
	n = strlen(s) + 1;
	if (n > UINT32_MAX || MAPIAllocateMore((ULONG)n, parent, &p) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	*out = memcpy(p, s, n);
	return S_OK;
}

/* ---- Strings ---- */

/* One code point from s; malformed input gives U+FFFD for one byte. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t v, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, v = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, v = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, v = s[0] & 0x07, min = 0x10000;
	else
		goto bad;
	/* The terminating NUL is not a continuation byte, so this stops. */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return n;
bad:
	*cp = 0xfffd;
	return 1;
}

bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	for (; *p != '\0'; p += n) {
		n = utf8_decode(p, &cp);
		/* A U+FFFD that was written as such takes three bytes. */
		if (cp == 0xfffd && n == 1)
			return false;
	}
	return true;
}

HRESULT
utf8_to_wide(const char *s, void *parent, LPWSTR *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	uint32_t cp;
	LPWSTR w;

	/* No more code points than bytes. */
	if (MAPIAllocateMore((strlen(s) + 1) * sizeof(WCHAR), parent, (void **)&w) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	while (*p != '\0') {
		p += utf8_decode(p, &cp);
		w[n++] = (WCHAR)cp;
	}
	w[n] = L'\0';
	*out = w;
	return S_OK;
}

char *
wide_to_utf8(LPCWSTR w)
{
	size_t n = wcslen(w), o = 0;
	char *s;
	uint32_t v;

	if ((s = malloc(n * 4 + 1)) == NULL)
		return NULL;
	for (; *w != L'\0'; w++) {
		v = (uint32_t)*w;
		if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
			free(s);
			return NULL;
		}
		if (v < 0x80) {
			s[o++] = (char)v;
		} else if (v < 0x800) {
			s[o++] = (char)(0xc0 | v >> 6);
			s[o++] = (char)(0x80 | (v & 0x3f));
		} else if (v < 0x10000) {
			s[o++] = (char)(0xe0 | v >> 12);
			s[o++] = (char)(0x80 | (v >> 6 & 0x3f));
			s[o++] = (char)(0x80 | (v & 0x3f));
		} else {
			s[o++] = (char)(0xf0 | v >> 18);
			s[o++] = (char)(0x80 | (v >> 12 & 0x3f));
			s[o++] = (char)(0x80 | (v >> 6 & 0x3f));
			s[o++] = (char)(0x80 | (v & 0x3f));
		}
	}
	s[o] = '\0';
	return s;
}
