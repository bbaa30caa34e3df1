/*
 * ops.c — one function per operation of the control protocol (see
 * doc/protocol.md), found through a table.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>

#include <mapispool/mapix.h>

#include "advise.h"
#include "hresult.h"
#include "flush.h"
#include "log.h"
#include "ops.h"
#include "protocol.h"
#include "restriction.h"

typedef void (*op_fn)(struct spooler *sp, struct request *req, json_object *msg);

/* A spooler_reply_fn answering the request it was given. */
static void
reply_request(void *ctx, HRESULT hr, json_object *body, const char *message)
{
	if (message != NULL && *message != '\0') {
		if (body == NULL)
			body = json_object_new_object();
		json_object_object_add(body, "message", json_object_new_string(message));
	}
	control_reply(ctx, hr, body);
}

/* The status object named by the request's "entryid", or NULL (answered). */
static struct status_obj *
request_object(struct spooler *sp, struct request *req, json_object *msg)
{
	struct status_obj *o;
	json_object *j;
	BYTE *eid = NULL;
	ULONG eidlen;
	HRESULT hr;

	if (!json_object_object_get_ex(msg, "entryid", &j)) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "request needs an \"entryid\"");
		return NULL;
	}
	if (!proto_bin_from_json(j, ENTRYID_MAX, &eid, &eidlen)) {
		control_fail(req, MAPI_E_INVALID_ENTRYID,
			     "\"entryid\" must be the hex of an entry ID from the status table");
		return NULL;
	}
	hr = status_table_lookup(spooler_status_table(sp), eid, eidlen, &o);
	MAPIFreeBuffer(eid);
	if (hr == MAPI_E_INVALID_ENTRYID) {
		control_fail(req, hr, "not an entry ID of this daemon's status objects");
		return NULL;
	}
	if (hr != S_OK) {
		control_fail(req, hr, "no status object has this entry ID");
		return NULL;
	}
	return o;
}

static const struct proto_flag flush_flags[] = {
	{ "FLUSH_UPLOAD", FLUSH_UPLOAD },	{ "FLUSH_DOWNLOAD", FLUSH_DOWNLOAD },
	{ "FLUSH_FORCE", FLUSH_FORCE },		{ "FLUSH_NO_UI", FLUSH_NO_UI },
	{ "FLUSH_ASYNC_OK", FLUSH_ASYNC_OK },	{ NULL, 0 },
};

static const struct proto_flag validate_flags[] = {
	{ "SUPPRESS_UI", SUPPRESS_UI },
	{ "REFRESH_XP_HEADER_CACHE", REFRESH_XP_HEADER_CACHE },
	{ "PROCESS_XP_HEADER_CACHE", PROCESS_XP_HEADER_CACHE },
	{ "FORCE_XP_CONNECT", FORCE_XP_CONNECT },
	{ "FORCE_XP_DISCONNECT", FORCE_XP_DISCONNECT },
	{ "CONFIG_CHANGED", CONFIG_CHANGED },
	{ "ABORT_XP_HEADER_OPERATION", ABORT_XP_HEADER_OPERATION },
	{ "SHOW_XP_SESSION_UI", SHOW_XP_SESSION_UI },
	{ NULL, 0 },
};

/* "flags": absent is 0; else a number or names (SPEC §5). */
static bool
request_flags(struct request *req, json_object *msg, const struct proto_flag *table,
	      ULONG *flags)
{
	json_object *j;
	char err[256];
	HRESULT hr;

	*flags = 0;
	if (!json_object_object_get_ex(msg, "flags", &j))
		return true;
	if ((hr = proto_flags_from_json(j, table, flags, err, sizeof(err))) != S_OK) {
		control_fail(req, hr, "%s", err);
		return false;
	}
	return true;
}

/* logon: MAPILogonEx.  The connection is the session; logon checks the
 * profile name and tells the client who it talks to. */
static void
op_logon(struct spooler *sp, struct request *req, json_object *msg)
{
	const char *profile = NULL, *ours = spooler_profile_name(sp);
	char err[256];
	json_object *body;

	if (!proto_get_string(msg, "profile", false, &profile, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	if (profile != NULL && *profile != '\0' && strcmp(profile, ours) != 0) {
		control_fail(req, MAPI_E_LOGON_FAILED,
			     "profile \"%s\" is not served here: this mapispoold serves \"%s\"",
			     profile, ours);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "profile", json_object_new_string(ours));
	json_object_object_add(body, "server", json_object_new_string(PACKAGE "d/" VERSION));
	json_object_object_add(body, "protocol", json_object_new_int(PROTO_VERSION));
	control_reply(req, S_OK, body);
}

/* The view of a status.query or advise request: "columns" and
 * "restriction" (each optional; allocated with MAPIAllocateBuffer). */
static HRESULT
request_view(json_object *msg, LPSPropTagArray *cols, LPSRestriction *res, char *err,
	     size_t errlen)
{
	json_object *j = NULL;
	HRESULT hr;

	*cols = NULL;
	*res = NULL;
	if (!proto_get_array(msg, "columns", false, &j, err, errlen))
		return MAPI_E_INVALID_PARAMETER;
	if (j != NULL && (hr = proto_tags_from_json(j, cols, err, errlen)) != S_OK)
		return hr;
	j = NULL;
	if (!proto_get_object(msg, "restriction", false, &j, err, errlen))
		return MAPI_E_INVALID_PARAMETER;
	if (j != NULL && ((hr = restriction_from_json(j, res, err, errlen)) != S_OK ||
			  (hr = restriction_validate(*res, err, errlen)) != S_OK))
		return hr;
	return S_OK;
}

/* status.query: SetColumns + Restrict + SortTable + QueryRows in one. */
static void
op_status_query(struct spooler *sp, struct request *req, json_object *msg)
{
	LPSPropTagArray cols = NULL;
	LPSRestriction res = NULL;
	LPSSortOrderSet sort = NULL;
	json_object *j, *rows, *body;
	int64_t max_rows = 0;
	ULONG row_count;
	char err[512];
	HRESULT hr;

	err[0] = '\0';
	if (!proto_get_int64(msg, "max_rows", false, &max_rows, err, sizeof(err)) ||
	    max_rows < 0 || max_rows > INT32_MAX) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "field \"max_rows\" must be 0 or more");
		hr = MAPI_E_INVALID_PARAMETER;
		goto fail;
	}
	if ((hr = request_view(msg, &cols, &res, err, sizeof(err))) != S_OK)
		goto fail;
	hr = MAPI_E_INVALID_PARAMETER;
	j = NULL;
	if (!proto_get_array(msg, "sort", false, &j, err, sizeof(err)))
		goto fail;
	if (j != NULL && (hr = proto_sort_from_json(j, &sort, err, sizeof(err))) != S_OK)
		goto fail;

	/* The query of every monitor and of mapispoolctl status: the whole
	 * table, as it stands.  Its rows are kept serialised until a row
	 * changes, and the reply is written around them. */
	if (cols == NULL && res == NULL && sort == NULL && max_rows == 0) {
		const char *text;
		size_t len;
		char tail[32];

		text = status_table_default_rows(spooler_status_table(sp), &len, &row_count);
		if (text != NULL) {
			struct iovec members[3] = {
				{ "\"rows\":", 7 },
				{ (void *)text, len },
				{ tail, (size_t)snprintf(tail, sizeof(tail), ",\"row_count\":%lu",
							 (unsigned long)row_count) },
			};

			control_reply_text(req, S_OK, members, 3);
			goto out;
		}
	}
	hr = status_table_query(spooler_status_table(sp), cols, res, sort, (ULONG)max_rows,
				&rows, &row_count);
	if (hr != S_OK) {
		snprintf(err, sizeof(err), "cannot query the status table");
		goto fail;
	}
	body = json_object_new_object();
	json_object_object_add(body, "rows", rows);
	json_object_object_add(body, "row_count", json_object_new_int64(row_count));
	control_reply(req, S_OK, body);
	goto out;
fail:
	control_fail(req, hr, "%s", err);
out:
	MAPIFreeBuffer(cols);
	MAPIFreeBuffer(res);
	MAPIFreeBuffer(sort);
}

/* status.get_props: OpenEntry + IMAPIStatus::GetProps. */
static void
op_status_get_props(struct spooler *sp, struct request *req, json_object *msg)
{
	LPSPropTagArray props = NULL;
	struct status_obj *o;
	json_object *j = NULL, *body;
	ULONG missing;
	char err[512];
	HRESULT hr;

	if ((o = request_object(sp, req, msg)) == NULL)
		return;
	hr = MAPI_E_INVALID_PARAMETER;
	j = NULL;
	if (!proto_get_array(msg, "props", false, &j, err, sizeof(err)) ||
	    (j != NULL && (hr = proto_tags_from_json(j, &props, err, sizeof(err))) != S_OK)) {
		control_fail(req, hr, "%s", err);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "object_type", json_object_new_int(MAPI_STATUS));
	json_object_object_add(body, "props", status_obj_to_json(o, props, &missing));
	MAPIFreeBuffer(props);
	control_reply(req, missing ? MAPI_W_ERRORS_RETURNED : S_OK, body);
}


/* ---- status.flush_queues ---- */

struct flushing {
	struct spooler *sp;
	struct request *req;		/* synchronous: answered at the end */
	struct client *cl;		/* asynchronous: told by an event */
	bool replied;			/* asynchronous: the flush_id went out */
	bool finished;			/* ended before the flush_id went out */
	ULONG flush_id;
	HRESULT hr;
	json_object *transports;
};

static struct client *
flushing_client(const struct flushing *f)
{
	return f->cl ? f->cl : control_request_client(f->req);
}

static void
flush_progress(void *ctx, ULONG flush_id, const char *transport, LONG pct, const char *text)
{
	struct flushing *f = ctx;
	json_object *ev = json_object_new_object();

	json_object_object_add(ev, "event", json_object_new_string(PROTO_EV_FLUSH_PROGRESS));
	json_object_object_add(ev, "flush_id", json_object_new_int64(flush_id));
	json_object_object_add(ev, "transport", json_object_new_string(transport));
	json_object_object_add(ev, "progress", json_object_new_int(pct));
	json_object_object_add(ev, "text", json_object_new_string(text));
	control_client_event(flushing_client(f), ev);
}

/* ---- prompts (ui.prompt / ui.reply) ---- */

/* How long a prompt waits for its answer. */
#define PROMPT_TIMEOUT_SEC 120

struct prompt {
	ULONG id;
	struct client *cl;
	void (*answer)(void *actx, const char *value);
	void *actx;
	struct event *timer;
	LIST_ENTRY(prompt) entry;
};

static LIST_HEAD(, prompt) prompts = LIST_HEAD_INITIALIZER(prompts);
static ULONG next_prompt_id;

static void
prompt_free(struct prompt *p)
{
	LIST_REMOVE(p, entry);
	if (p->timer)
		event_free(p->timer);
	control_client_release(p->cl);
	free(p);
}

/* Give the transport its answer (NULL: no) and forget the prompt. */
static void
prompt_finish(struct prompt *p, const char *value)
{
	void (*answer)(void *actx, const char *value) = p->answer;
	void *actx = p->actx;

	prompt_free(p);
	answer(actx, value);
}

static void
prompt_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	prompt_finish(arg, NULL);
}

struct deferred_no {
	void (*answer)(void *actx, const char *value);
	void *actx;
};

static void
deferred_no_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deferred_no *no = arg;

	(void)fd;
	(void)what;
	no->answer(no->actx, NULL);
	free(no);
}

static void
flush_prompt(void *ctx, ULONG flush_id, const char *transport, const char *text,
	     void (*answer)(void *actx, const char *value), void *actx)
{
	struct flushing *f = ctx;
	struct timeval tv = { PROMPT_TIMEOUT_SEC, 0 };
	struct prompt *p = calloc(1, sizeof(*p));
	json_object *ev;

	if (p == NULL || (p->timer = evtimer_new(f->sp->base, prompt_expired, p)) == NULL) {
		struct deferred_no *no = malloc(sizeof(*no));
		struct timeval now = { 0, 0 };

		/* Out of memory: "no", from the loop, as transports are promised. */
		free(p);
		if (no == NULL)
			return;
		no->answer = answer;
		no->actx = actx;
		if (event_base_once(f->sp->base, -1, EV_TIMEOUT, deferred_no_cb, no, &now) == -1)
			free(no);
		return;
	}
	p->id = ++next_prompt_id;
	p->cl = flushing_client(f);
	p->answer = answer;
	p->actx = actx;
	control_client_hold(p->cl);
	LIST_INSERT_HEAD(&prompts, p, entry);
	evtimer_add(p->timer, &tv);
	ev = json_object_new_object();
	json_object_object_add(ev, "event", json_object_new_string(PROTO_EV_UI_PROMPT));
	json_object_object_add(ev, "prompt_id", json_object_new_int64(p->id));
	json_object_object_add(ev, "flush_id", json_object_new_int64(flush_id));
	json_object_object_add(ev, "transport", json_object_new_string(transport));
	json_object_object_add(ev, "text", json_object_new_string(text));
	json_object_object_add(ev, "secret", json_object_new_boolean(1));
	control_client_event(p->cl, ev);
}

static void
op_ui_reply(struct spooler *sp, struct request *req, json_object *msg)
{
	struct client *cl = control_request_client(req);
	const char *value = NULL;
	json_object *cancel = NULL;
	int64_t id = 0;
	struct prompt *p;
	char err[256];

	(void)sp;
	if (!proto_get_int64(msg, "prompt_id", true, &id, err, sizeof(err)) ||
	    !proto_get_string(msg, "value", false, &value, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	json_object_object_get_ex(msg, "cancel", &cancel);
	if (value == NULL && !json_object_get_boolean(cancel)) {
		control_fail(req, MAPI_E_INVALID_PARAMETER,
			     "give the answer as \"value\", or \"cancel\": true");
		return;
	}
	LIST_FOREACH(p, &prompts, entry)
		if ((int64_t)p->id == id && p->cl == cl)
			break;
	if (p == NULL) {
		control_fail(req, MAPI_E_NOT_FOUND, "no prompt %lld waits for this session",
			     (long long)id);
		return;
	}
	prompt_finish(p, json_object_get_boolean(cancel) ? NULL : value);
	/* The secret lived in the request: do not leave it in memory. */
	if (value != NULL)
		explicit_bzero((char *)value, strlen(value));
	control_reply(req, S_OK, NULL);
}

static void parked_fail_all(void);

void
ops_shutdown(void)
{
	parked_fail_all();
	while (!LIST_EMPTY(&prompts))
		prompt_free(LIST_FIRST(&prompts));
}

static void
flush_tell_done(struct flushing *f)
{
	json_object *ev = json_object_new_object();
	const char *name = hr_name(f->hr);

	json_object_object_add(ev, "event", json_object_new_string(PROTO_EV_FLUSH_DONE));
	json_object_object_add(ev, "flush_id", json_object_new_int64(f->flush_id));
	json_object_object_add(ev, "hr", json_object_new_int(f->hr));
	json_object_object_add(ev, "hr_name", json_object_new_string(name ? name : "UNKNOWN"));
	if (f->transports)
		json_object_object_add(ev, "transports", f->transports);
	f->transports = NULL;
	control_client_event(f->cl, ev);
	control_client_release(f->cl);
	free(f);
}

static void
flush_done(void *ctx, ULONG flush_id, HRESULT hr, json_object *transports)
{
	struct flushing *f = ctx;
	json_object *body;

	if (f->cl != NULL) {
		f->flush_id = flush_id;
		f->hr = hr;
		f->transports = transports;
		f->finished = true;
		if (f->replied)
			flush_tell_done(f);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "flush_id", json_object_new_int64(flush_id));
	if (transports)
		json_object_object_add(body, "transports", transports);
	if (hr == MAPI_E_END_OF_SESSION)
		json_object_object_add(body, "message",
				       json_object_new_string("mapispoold is shutting down"));
	control_reply(f->req, hr, body);
	free(f);
}

static void
op_status_flush_queues(struct spooler *sp, struct request *req, json_object *msg)
{
	struct flush_cb cb = { flush_progress, flush_done, flush_prompt, NULL };
	struct status_obj *o;
	struct flushing *f;
	json_object *t = NULL;
	BYTE *target = NULL;
	ULONG flags, target_len = 0, flush_id;
	char err[512];
	bool async;
	HRESULT hr;

	if ((o = request_object(sp, req, msg)) == NULL ||
	    !request_flags(req, msg, flush_flags, &flags))
		return;
	if (json_object_object_get_ex(msg, "target_transport", &t) &&
	    !proto_bin_from_json(t, ENTRYID_MAX, &target, &target_len)) {
		control_fail(req, MAPI_E_INVALID_ENTRYID,
			     "\"target_transport\" must be the hex of a transport's entry ID");
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		MAPIFreeBuffer(target);
		control_fail(req, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
		return;
	}
	f->sp = sp;
	/* Only the spooler's flush may be asynchronous; a transport's
	 * ignores FLUSH_ASYNC_OK (SPEC §4). */
	if ((flags & FLUSH_ASYNC_OK) && o->kind == EID_SPOOLER) {
		f->cl = control_request_client(req);
		control_client_hold(f->cl);
	} else {
		f->req = req;
	}
	cb.ctx = f;
	async = f->cl != NULL;
	hr = flush_start(sp, o, t != NULL, target, target_len, flags, &cb, &flush_id, err,
			 sizeof(err));
	MAPIFreeBuffer(target);
	if (FAILED(hr)) {
		if (f->cl)
			control_client_release(f->cl);
		free(f);
		control_fail(req, hr, "%s", err);
		return;
	}
	/* Synchronous: f and req may be gone already (a flush with nothing
	 * to do ends inside flush_start). */
	if (async) {
		json_object *body = json_object_new_object();

		json_object_object_add(body, "flush_id", json_object_new_int64(flush_id));
		control_reply(req, S_OK, body);
		f->replied = true;
		if (f->finished)
			flush_tell_done(f);
	}
}

/* ---- status.validate_state ---- */

static void
op_status_validate_state(struct spooler *sp, struct request *req, json_object *msg)
{
	struct status_obj *o;
	ULONG flags;

	if ((o = request_object(sp, req, msg)) == NULL ||
	    !request_flags(req, msg, validate_flags, &flags))
		return;
	spooler_validate(sp, o, flags, reply_request, req);
}

/* ---- message.submit ---- */

static void
op_message_submit(struct spooler *sp, struct request *req, json_object *msg)
{
	const struct config *cfg = sp->cfg;
	const char *sender = "", *text = NULL, *b64 = NULL;
	struct submit_rcpt *rcpts = NULL;
	json_object *arr = NULL;
	char err[256], *data = NULL;
	size_t n, len = 0;

	if (!proto_get_string(msg, "sender", false, &sender, err, sizeof(err)) ||
	    !proto_get_array(msg, "recipients", true, &arr, err, sizeof(err)) ||
	    !proto_get_string(msg, "data", false, &text, err, sizeof(err)) ||
	    !proto_get_string(msg, "data_base64", false, &b64, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	if ((text == NULL) == (b64 == NULL)) {
		control_fail(req, MAPI_E_INVALID_PARAMETER,
			     "give the message as \"data\" or as \"data_base64\", one of them");
		return;
	}
	n = json_object_array_length(arr);
	if (n > SPOOL_MAX_RCPTS) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "at most %d recipients per message",
			     SPOOL_MAX_RCPTS);
		return;
	}
	if ((rcpts = calloc(n ? n : 1, sizeof(*rcpts))) == NULL) {
		control_fail(req, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(arr, i);

		rcpts[i].addrtype = "SMTP";
		if (!json_object_is_type(r, json_type_object) ||
		    !proto_get_string(r, "address", true, &rcpts[i].address, err, sizeof(err)) ||
		    !proto_get_string(r, "addrtype", false, &rcpts[i].addrtype, err,
				      sizeof(err))) {
			control_fail(req, MAPI_E_INVALID_PARAMETER, "recipients[%zu]: %s", i,
				     json_object_is_type(r, json_type_object) ? err
									     : "not an object");
			free(rcpts);
			return;
		}
	}
	if (text != NULL) {
		len = (size_t)json_object_get_string_len(json_object_object_get(msg, "data"));
		if (len <= cfg->spooler.max_message_size && (data = malloc(len + 1)) != NULL)
			memcpy(data, text, len);
	} else if (strlen(b64) / 4 * 3 <= cfg->spooler.max_message_size + 3) {
		data = (char *)proto_base64_decode(b64, strlen(b64),
						   cfg->spooler.max_message_size + 1, &len);
		if (data == NULL) {
			control_fail(req, MAPI_E_INVALID_PARAMETER,
				     "\"data_base64\" is not valid base64");
			free(rcpts);
			return;
		}
	} else {
		len = strlen(b64) / 4 * 3;
	}
	if (len > cfg->spooler.max_message_size) {
		free(data);
		free(rcpts);
		control_fail(req, MAPI_E_TOO_BIG, "message of %zu bytes is over "
			     "max_message_size (%llu)", len,
			     (unsigned long long)cfg->spooler.max_message_size);
		return;
	}
	if (data == NULL) {
		free(rcpts);
		control_fail(req, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
		return;
	}
	/* The strings in rcpts belong to msg, which lives through this call;
	 * the spooler copies them before it returns. */
	spooler_submit(sp, sender, rcpts, n, data, len, reply_request, req);
	free(rcpts);
}

/* ---- queue.list, queue.hold, queue.release, queue.remove ---- */

static bool
id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= SPOOL_ID_LEN && strspn(id, "0123456789abcdef") == n;
}

static void
op_queue_list(struct spooler *sp, struct request *req, json_object *msg)
{
	const char *which = "outbound", *after = NULL;
	int64_t max = 100;
	json_object *body;
	char err[256];
	HRESULT hr;

	if (!proto_get_string(msg, "queue", false, &which, err, sizeof(err)) ||
	    !proto_get_string(msg, "after", false, &after, err, sizeof(err)) ||
	    !proto_get_int64(msg, "max", false, &max, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	if (strcmp(which, "outbound") != 0 && strcmp(which, "inbound") != 0) {
		control_fail(req, MAPI_E_INVALID_PARAMETER,
			     "\"queue\" is \"outbound\" or \"inbound\", not \"%.32s\"", which);
		return;
	}
	if (after != NULL && !id_ok(after)) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "\"after\" is not a message ID");
		return;
	}
	hr = spooler_queue_list(sp, which[0] == 'o' ? SPOOL_OUTBOUND : SPOOL_INBOUND, after,
				max < 0 || max > 1000 ? 0 : (unsigned)max, &body, err, sizeof(err));
	if (FAILED(hr))
		control_fail(req, hr, "%s", err);
	else
		control_reply(req, hr, body);
}

/* The message a queue operation names ("message_id"), required. */
static bool
queue_target(struct request *req, json_object *msg, const char **id)
{
	char err[256];

	if (!proto_get_string(msg, "message_id", true, id, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return false;
	}
	if (!id_ok(*id)) {
		control_fail(req, MAPI_E_NOT_FOUND, "\"%.40s\" is not a message ID", *id);
		return false;
	}
	return true;
}

/* queue.hold, queue.release, queue.flush: a message, a transport, a
 * recipient domain — at least one of them, all that are given. */
static void
queue_select(struct spooler *sp, struct request *req, json_object *msg,
	     enum queue_action action)
{
	const char *id = NULL, *transport = NULL, *domain = NULL;
	json_object *body;
	unsigned count;
	char err[256];
	HRESULT hr;

	if (!proto_get_string(msg, "message_id", false, &id, err, sizeof(err)) ||
	    !proto_get_string(msg, "transport", false, &transport, err, sizeof(err)) ||
	    !proto_get_string(msg, "domain", false, &domain, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	if (id == NULL && transport == NULL && domain == NULL) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "say which messages: \"message_id\", "
			     "\"transport\" or \"domain\"");
		return;
	}
	if (id != NULL && !id_ok(id)) {
		control_fail(req, MAPI_E_NOT_FOUND, "\"%.40s\" is not a message ID", id);
		return;
	}
	hr = spooler_queue_select(sp, action, id, transport, domain, &count, err, sizeof(err));
	if (FAILED(hr)) {
		control_fail(req, hr, "%s", err);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "count", json_object_new_int64(count));
	control_reply(req, hr, body);
}

static void
op_queue_hold(struct spooler *sp, struct request *req, json_object *msg)
{
	queue_select(sp, req, msg, QUEUE_HOLD);
}

static void
op_queue_release(struct spooler *sp, struct request *req, json_object *msg)
{
	queue_select(sp, req, msg, QUEUE_RELEASE);
}

static void
op_queue_flush(struct spooler *sp, struct request *req, json_object *msg)
{
	queue_select(sp, req, msg, QUEUE_FLUSH);
}

static void
op_queue_remove(struct spooler *sp, struct request *req, json_object *msg)
{
	const char *id;
	char err[256];
	HRESULT hr;

	if (!queue_target(req, msg, &id))
		return;
	hr = spooler_queue_remove(sp, id, err, sizeof(err));
	if (FAILED(hr))
		control_fail(req, hr, "%s", err);
	else
		control_reply(req, hr, NULL);
}

/* ---- advise, unadvise ---- */

static void
op_advise(struct spooler *sp, struct request *req, json_object *msg)
{
	LPSPropTagArray cols = NULL;
	LPSRestriction res = NULL;
	json_object *body;
	char err[512];
	HRESULT hr;
	ULONG conn;

	if ((hr = request_view(msg, &cols, &res, err, sizeof(err))) != S_OK)
		goto fail;
	if ((conn = advise_add(spooler_advise(sp), control_request_client(req), cols, res)) == 0) {
		control_fail(req, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "connection", json_object_new_int64(conn));
	control_reply(req, S_OK, body);
	return;
fail:
	MAPIFreeBuffer(cols);
	MAPIFreeBuffer(res);
	control_fail(req, hr, "%s", err);
}

static void
op_unadvise(struct spooler *sp, struct request *req, json_object *msg)
{
	int64_t conn = 0;
	char err[256];

	if (!proto_get_int64(msg, "connection", true, &conn, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	if (conn <= 0 || conn > UINT32_MAX ||
	    advise_remove(spooler_advise(sp), control_request_client(req), (ULONG)conn) != S_OK) {
		control_fail(req, MAPI_E_NOT_FOUND, "no advise connection %lld on this session",
			     (long long)conn);
		return;
	}
	control_reply(req, S_OK, NULL);
}

/* ---- status.change_password ---- */

static void
op_status_change_password(struct spooler *sp, struct request *req, json_object *msg)
{
	const char *old = NULL, *new_password = NULL;
	struct status_obj *o;
	char err[256];

	if ((o = request_object(sp, req, msg)) == NULL)
		return;
	if (!proto_get_string(msg, "old", true, &old, err, sizeof(err)) ||
	    !proto_get_string(msg, "new", true, &new_password, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	spooler_change_password(sp, o, old, new_password, reply_request, req);
	explicit_bzero((char *)old, strlen(old));
	explicit_bzero((char *)new_password, strlen(new_password));
}

void
ops_client_closed(void *ctx, struct client *cl)
{
	struct prompt *p, *next;

	advise_client_gone(spooler_advise(ctx), cl);
	/* Who was asked has gone: the answer is no. */
	for (p = LIST_FIRST(&prompts); p != NULL; p = next) {
		next = LIST_NEXT(p, entry);
		if (p->cl == cl)
			prompt_finish(p, NULL);
	}
}

/* Who may run an operation (SPEC §14): those that only look, and those
 * that change something or send mail. */
enum op_class {
	OP_READ,
	OP_CONTROL,
};

/* An operation that works on the queue as a whole (or writes to the
 * spool) waits while a big spool is still being read at start: it then
 * runs as if it had come just after. */
#define WAITS true

static const struct {
	const char *name;
	op_fn fn;
	enum op_class class;
	bool waits_for_queue;
} ops[] = {
	{ PROTO_OP_LOGON, op_logon, OP_READ, false },
	{ PROTO_OP_STATUS_QUERY, op_status_query, OP_READ, false },
	{ PROTO_OP_STATUS_GET_PROPS, op_status_get_props, OP_READ, false },
	{ PROTO_OP_STATUS_FLUSH_QUEUES, op_status_flush_queues, OP_CONTROL, WAITS },
	{ PROTO_OP_STATUS_VALIDATE_STATE, op_status_validate_state, OP_CONTROL, WAITS },
	{ PROTO_OP_MESSAGE_SUBMIT, op_message_submit, OP_CONTROL, WAITS },
	{ PROTO_OP_QUEUE_LIST, op_queue_list, OP_READ, WAITS },
	{ PROTO_OP_QUEUE_HOLD, op_queue_hold, OP_CONTROL, WAITS },
	{ PROTO_OP_QUEUE_RELEASE, op_queue_release, OP_CONTROL, WAITS },
	{ PROTO_OP_QUEUE_REMOVE, op_queue_remove, OP_CONTROL, WAITS },
	{ PROTO_OP_QUEUE_FLUSH, op_queue_flush, OP_CONTROL, WAITS },
	{ PROTO_OP_STATUS_CHANGE_PASSWORD, op_status_change_password, OP_CONTROL, false },
	{ PROTO_OP_UI_REPLY, op_ui_reply, OP_CONTROL, false },
	{ PROTO_OP_ADVISE, op_advise, OP_READ, false },
	{ PROTO_OP_UNADVISE, op_unadvise, OP_READ, false },
};

/* Requests waiting for the recovery to end, in arrival order. */
struct parked {
	STAILQ_ENTRY(parked) entry;
	struct request *req;
	size_t op;			/* index in ops */
	json_object *msg;		/* a reference of our own */
};
static STAILQ_HEAD(, parked) parked = STAILQ_HEAD_INITIALIZER(parked);

void
ops_recovered(void *ctx)
{
	struct spooler *sp = ctx;
	struct parked *p;

	while ((p = STAILQ_FIRST(&parked)) != NULL) {
		STAILQ_REMOVE_HEAD(&parked, entry);
		/* Whoever asked has gone: nobody would hear the answer, and a
		 * submission nobody was told of would be sent again. */
		if (control_request_orphaned(p->req))
			control_fail(p->req, MAPI_E_END_OF_SESSION, "the client has gone");
		else
			ops[p->op].fn(sp, p->req, p->msg);
		json_object_put(p->msg);
		free(p);
	}
}

static void
parked_fail_all(void)
{
	struct parked *p;

	while ((p = STAILQ_FIRST(&parked)) != NULL) {
		STAILQ_REMOVE_HEAD(&parked, entry);
		control_fail(p->req, MAPI_E_END_OF_SESSION,
			     "the daemon stopped before it had recovered its spool");
		json_object_put(p->msg);
		free(p);
	}
}

static bool
id_listed(const struct id_list *l, id_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

/* The peer's uid is in users, or its primary or a supplementary group in
 * groups. */
static bool
peer_listed(const struct peer *p, const struct id_list *users, const struct id_list *groups)
{
	if (id_listed(users, p->uid) || id_listed(groups, p->gid))
		return true;
	for (size_t i = 0; i < p->n_groups; i++)
		if (id_listed(groups, p->groups[i]))
			return true;
	return false;
}

/* Root and the daemon's own user may do everything; with no allow_* key
 * set, so may everyone the socket's mode lets in.  Once one is set,
 * control is for allow_users and allow_groups only; reading is for them
 * and allow_read_users and allow_read_groups, or for everyone if neither
 * of those two is set. */
static bool
peer_allowed(const struct spooler_config *sc, const struct peer *p, enum op_class class)
{
	bool control_set = sc->allow_users.n > 0 || sc->allow_groups.n > 0;
	bool read_set = sc->allow_read_users.n > 0 || sc->allow_read_groups.n > 0;

	if (p->uid == 0 || p->uid == geteuid() || (!control_set && !read_set))
		return true;
	if (peer_listed(p, &sc->allow_users, &sc->allow_groups))
		return true;
	if (class == OP_CONTROL)
		return false;
	return !read_set || peer_listed(p, &sc->allow_read_users, &sc->allow_read_groups);
}

void
ops_dispatch(void *ctx, struct request *req, const char *op, json_object *msg)
{
	struct spooler *sp = ctx;
	const struct peer *p = control_request_peer(req);

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].name) != 0)
			continue;
		if (!peer_allowed(&sp->cfg->spooler, p, ops[i].class)) {
			log_warnx("client %u (uid %u): %s refused",
				  control_client_id(control_request_client(req)), (unsigned)p->uid,
				  op);
			control_fail(req, MAPI_E_NO_ACCESS, "uid %u may not run %s (see %s)",
				     (unsigned)p->uid, op,
				     ops[i].class == OP_CONTROL ?
					     "allow_users and allow_groups" :
					     "allow_read_users and allow_read_groups");
			return;
		}
		if (ops[i].waits_for_queue && spooler_recovering(sp)) {
			struct parked *pk = malloc(sizeof(*pk));

			if (pk == NULL) {
				control_fail(req, MAPI_E_NOT_ENOUGH_MEMORY, "out of memory");
				return;
			}
			pk->req = req;
			pk->op = i;
			pk->msg = json_object_get(msg);
			STAILQ_INSERT_TAIL(&parked, pk, entry);
			return;
		}
		ops[i].fn(ctx, req, msg);
		return;
	}
	control_fail(req, MAPI_E_NO_SUPPORT, "unknown operation \"%.64s\"", op);
}

json_object *
ops_hello(const char *profile, size_t max_line)
{
	json_object *h = json_object_new_object();

	json_object_object_add(h, "event", json_object_new_string(PROTO_EV_HELLO));
	json_object_object_add(h, "protocol", json_object_new_int(PROTO_VERSION));
	json_object_object_add(h, "server", json_object_new_string(PACKAGE "d/" VERSION));
	json_object_object_add(h, "profile", json_object_new_string(profile));
	json_object_object_add(h, "max_line", json_object_new_int64((int64_t)max_line));
	return h;
}
