/*
 * session.c — MAPIInitialize, logon, IMAPISession, and IUnknown for every
 * object of the library.
 *
 * A session is one connection to mapispoold.  Tables and status objects
 * hold a reference to their session, so the connection lives until the
 * last object made from it is released (or the session is logged off).
 *
 * Events from the daemon reach the program through the session: the UI
 * callback gets flush progress, prompts and the end of FLUSH_ASYNC_OK
 * flushes, and advise sinks get the status table's notifications, all
 * delivered by mapispool_dispatch on the caller's thread.
 */
#include <config.h>

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "client.h"
#include "protocol.h"

/* MAPI's DEFINE_OLEGUID: {l-0000-0000-C000-000000000046}. */
#define OLEGUID(l) { (l), 0, 0, { 0xc0, 0, 0, 0, 0, 0, 0, 0x46 } }

const IID IID_IUnknown = OLEGUID(0x00000000);
const IID IID_IMAPISession = OLEGUID(0x00020300);
const IID IID_IMAPITable = OLEGUID(0x00020301);
const IID IID_IMAPIProp = OLEGUID(0x00020303);
const IID IID_IMAPIStatus = OLEGUID(0x00020305);

#define INIT_FLAGS (MAPI_MULTITHREAD_NOTIFICATIONS | MAPI_NO_COINIT | MAPI_NT_SERVICE)
#define LOGON_FLAGS \
	(MAPI_LOGON_UI | MAPI_NEW_SESSION | MAPI_ALLOW_OTHERS | MAPI_EXPLICIT_PROFILE | \
	 MAPI_EXTENDED | MAPI_USE_DEFAULT | MAPI_FORCE_DOWNLOAD | MAPI_SERVICE_UI_ALWAYS | \
	 MAPI_NO_MAIL | MAPI_NT_SERVICE | MAPI_PASSWORD_UI | MAPI_TIMEOUT_SHORT | \
	 MAPI_BG_SESSION | MAPI_UNICODE)
#define OPEN_FLAGS (MAPI_MODIFY | MAPI_DEFERRED_ERRORS | MAPI_BEST_ACCESS)
#define LOGOFF_FLAGS (MAPI_LOGOFF_SHARED | MAPI_LOGOFF_UI)

/* Finished FLUSH_ASYNC_OK flushes remembered for mapispool_flush_results;
 * past this the oldest is forgotten. */
#define SESSION_MAX_FLUSHES 32

/* A FLUSH_ASYNC_OK flush of this session. */
struct flush_record {
	ULONG id;
	json_object *transports;	/* from its flush.done; NULL while it runs */
	STAILQ_ENTRY(flush_record) entry;
};

/* An advise connection: where its notifications go. */
struct advise_record {
	ULONG connection;
	LPMAPITABLE table;		/* not referenced: the table unadvises as it goes */
	LPMAPIADVISESINK sink;		/* referenced */
	LPSPropTagArray cols;		/* the table's columns when it advised */
	LIST_ENTRY(advise_record) entry;
};

struct IMAPISession {
	struct obj obj;
	struct client *client;		/* NULL once logged off */
	MAPISPOOL_UI_CALLBACK *ui;	/* NULL: every flush is FLUSH_NO_UI */
	void *ui_ctx;
	STAILQ_HEAD(, flush_record) flushes;	/* oldest first */
	size_t nflushes;
	LIST_HEAD(, advise_record) advises;
};

/* How many MAPIInitialize calls are not yet matched by MAPIUninitialize.
 * Atomic because threads with sessions of their own may initialise
 * concurrently. */
static atomic_uint init_count;

/* ---- Subsystem ---- */

HRESULT
MAPIInitialize(LPVOID lpMapiInit)
{
	const MAPIINIT_0 *init = lpMapiInit;

	if (init != NULL && init->ulVersion != MAPI_INIT_VERSION)
		return obj_fail(NULL, MAPI_E_VERSION, "MAPIINIT_0 version %u is not %d",
				init->ulVersion, MAPI_INIT_VERSION);
	if (init != NULL && (init->ulFlags & ~INIT_FLAGS))
		return obj_fail(NULL, MAPI_E_UNKNOWN_FLAGS, "unknown MAPIInitialize flags 0x%08x",
				init->ulFlags & ~INIT_FLAGS);
	atomic_fetch_add(&init_count, 1);
	return obj_result(NULL, S_OK, NULL);
}

void
MAPIUninitialize(void)
{
	unsigned n = atomic_load(&init_count);

	/* An unmatched call must not wrap the count around. */
	while (n > 0 && !atomic_compare_exchange_weak(&init_count, &n, n - 1))
		;
}

HRESULT
MAPILogonEx(ULONG_PTR ulUIParam, LPSTR lpszProfileName, LPSTR lpszPassword, ULONG flFlags,
	    LPMAPISESSION *lppSession)
{
	/* No windows to parent dialogs to, and no password: the daemon
	 * trusts the socket's peer credentials instead. */
	(void)ulUIParam;
	(void)lpszPassword;
	return mapispool_logon(NULL, lpszProfileName, flFlags, lppSession);
}

/* Connect and log on; the profile is sent only when one is named. */
static HRESULT
session_open(const char *socket, const char *profile, LPMAPISESSION *out, char *err,
	     size_t errlen)
{
	json_object *params = NULL, *reply;
	LPMAPISESSION s;
	HRESULT hr;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	s->obj.kind = OBJ_SESSION;
	s->obj.refs = 1;
	STAILQ_INIT(&s->flushes);
	LIST_INIT(&s->advises);
	if ((hr = client_open(socket, &s->client, err, errlen)) != S_OK)
		goto fail;
	if (profile != NULL && *profile != '\0') {
		params = json_object_new_object();
		json_object_object_add(params, "profile", json_object_new_string(profile));
	}
	hr = client_call(s->client, PROTO_OP_LOGON, params, &reply, err, errlen);
	json_object_put(params);
	if (FAILED(hr))
		goto fail;
	json_object_put(reply);
	*out = s;
	return S_OK;
fail:
	client_close(s->client);
	free(s);
	return hr;
}

HRESULT
mapispool_logon(const char *lpszSocket, LPSTR lpszProfileName, ULONG flFlags,
		LPMAPISESSION *lppSession)
{
	char err[CLIENT_ERR_MAX] = "";
	char *wide_profile = NULL;
	const char *profile = lpszProfileName;
	HRESULT hr;

	if (lppSession == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "lppSession is NULL");
	*lppSession = NULL;
	if (atomic_load(&init_count) == 0)
		return obj_fail(NULL, MAPI_E_NOT_INITIALIZED,
				"MAPIInitialize must be called before logging on");
	if (flFlags & ~LOGON_FLAGS)
		return obj_fail(NULL, MAPI_E_UNKNOWN_FLAGS, "unknown MAPILogonEx flags 0x%08x",
				flFlags & ~LOGON_FLAGS);
	/* With MAPI_UNICODE the profile name is a wide string in disguise. */
	if ((flFlags & MAPI_UNICODE) && lpszProfileName != NULL) {
		if ((wide_profile = wide_to_utf8((LPCWSTR)(void *)lpszProfileName)) == NULL)
			return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
					"the profile name is not a valid wide string");
		profile = wide_profile;
	}
	hr = session_open(lpszSocket, profile, lppSession, err, sizeof err);
	free(wide_profile);
	return obj_result(NULL, hr, err);
}

/* ---- IMAPISession ---- */

HRESULT
session_call(LPMAPISESSION s, const char *op, json_object *params, json_object **reply,
	     char *err, size_t errlen)
{
	if (s->client == NULL) {
		*reply = NULL;
		snprintf(err, errlen, "the session has been logged off");
		return MAPI_E_END_OF_SESSION;
	}
	return client_call(s->client, op, params, reply, err, errlen);
}

HRESULT
session_call_secret(LPMAPISESSION s, const char *op, json_object *params,
		    const struct client_secret *secrets, size_t nsecrets, json_object **reply,
		    char *err, size_t errlen)
{
	if (s->client == NULL) {
		*reply = NULL;
		snprintf(err, errlen, "the session has been logged off");
		return MAPI_E_END_OF_SESSION;
	}
	return client_call_secret(s->client, op, params, secrets, nsecrets, reply, err, errlen);
}

static bool
iid_equal(REFIID a, REFIID b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

/* The interfaces an object of each kind answers to. */
static bool
kind_has_interface(enum obj_kind kind, REFIID riid)
{
	if (iid_equal(riid, &IID_IUnknown))
		return true;
	switch (kind) {
	case OBJ_SESSION:
		return iid_equal(riid, &IID_IMAPISession);
	case OBJ_TABLE:
		return iid_equal(riid, &IID_IMAPITable);
	case OBJ_STATUS:
		return iid_equal(riid, &IID_IMAPIStatus) || iid_equal(riid, &IID_IMAPIProp);
	case OBJ_SINK:
		return false;
	}
	return false;
}

HRESULT
IMAPISession_GetStatusTable(LPMAPISESSION lpSession, ULONG ulFlags, LPMAPITABLE *lppTable)
{
	char err[CLIENT_ERR_MAX] = "";

	if (!obj_is(lpSession, OBJ_SESSION) || lppTable == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"GetStatusTable needs a session and somewhere to put the table");
	*lppTable = NULL;
	if (ulFlags & ~MAPI_UNICODE)
		return obj_fail(&lpSession->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown GetStatusTable flags 0x%08x", ulFlags & ~MAPI_UNICODE);
	if (lpSession->client == NULL)
		return obj_fail(&lpSession->obj, MAPI_E_END_OF_SESSION,
				"the session has been logged off");
	return obj_result(&lpSession->obj, table_new(lpSession, ulFlags, lppTable, err, sizeof err),
			  err);
}

HRESULT
IMAPISession_OpenEntry(LPMAPISESSION lpSession, ULONG cbEntryID, LPENTRYID lpEntryID,
		       LPCIID lpInterface, ULONG ulFlags, ULONG *lpulObjType, LPUNKNOWN *lppUnk)
{
	char err[CLIENT_ERR_MAX] = "";
	LPMAPISTATUS status;
	HRESULT hr;

	if (!obj_is(lpSession, OBJ_SESSION) || lppUnk == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"OpenEntry needs a session and somewhere to put the object");
	*lppUnk = NULL;
	if (ulFlags & ~OPEN_FLAGS)
		return obj_fail(&lpSession->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown OpenEntry flags 0x%08x", ulFlags & ~OPEN_FLAGS);
	/* Every entry ID of the session is a status object's. */
	if (lpInterface != NULL && !kind_has_interface(OBJ_STATUS, lpInterface))
		return obj_fail(&lpSession->obj, MAPI_E_INTERFACE_NOT_SUPPORTED,
				"status objects support IMAPIStatus, IMAPIProp and IUnknown only");
	if (cbEntryID == 0 || lpEntryID == NULL)
		return obj_fail(&lpSession->obj, MAPI_E_INVALID_ENTRYID,
				"OpenEntry needs an entry ID: the session has no root object");
	hr = status_open(lpSession, cbEntryID, (const BYTE *)lpEntryID, &status, err, sizeof err);
	if (hr == S_OK) {
		if (lpulObjType != NULL)
			*lpulObjType = MAPI_STATUS;
		*lppUnk = (LPUNKNOWN)status;
	}
	return obj_result(&lpSession->obj, hr, err);
}

HRESULT
IMAPISession_GetLastError(LPMAPISESSION lpSession, HRESULT hResult, ULONG ulFlags,
			  LPMAPIERROR *lppMAPIError)
{
	if (!obj_is(lpSession, OBJ_SESSION))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "GetLastError needs a session");
	return obj_result(NULL, obj_get_last_error(&lpSession->obj, hResult, ulFlags,
						   lppMAPIError), NULL);
}

/* Logoff ends the conversation with the daemon now; the object itself
 * stays until released, and answers MAPI_E_END_OF_SESSION. */
HRESULT
IMAPISession_Logoff(LPMAPISESSION lpSession, ULONG_PTR ulUIParam, ULONG ulFlags,
		    ULONG ulReserved)
{
	(void)ulUIParam;
	if (!obj_is(lpSession, OBJ_SESSION))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "Logoff needs a session");
	if (ulFlags & ~LOGOFF_FLAGS)
		return obj_fail(&lpSession->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown Logoff flags 0x%08x", ulFlags & ~LOGOFF_FLAGS);
	if (ulReserved != 0)
		return obj_fail(&lpSession->obj, MAPI_E_INVALID_PARAMETER,
				"Logoff's reserved argument must be 0");
	client_close(lpSession->client);
	lpSession->client = NULL;
	return obj_result(&lpSession->obj, S_OK, NULL);
}

ULONG
IMAPISession_AddRef(LPMAPISESSION lpSession)
{
	return IUnknown_AddRef((LPUNKNOWN)lpSession);
}

ULONG
IMAPISession_Release(LPMAPISESSION lpSession)
{
	return IUnknown_Release((LPUNKNOWN)lpSession);
}

static void
session_destroy(LPMAPISESSION s)
{
	struct flush_record *f;

	/* Every table holds a reference to s, so no advise is left. */
	while ((f = STAILQ_FIRST(&s->flushes)) != NULL) {
		STAILQ_REMOVE_HEAD(&s->flushes, entry);
		json_object_put(f->transports);
		free(f);
	}
	client_close(s->client);
	free(s);
}

/* ---- Events ---- */

bool
session_has_ui(LPMAPISESSION s)
{
	return s->ui != NULL;
}

HRESULT
mapispool_set_ui_callback(LPMAPISESSION lpSession, MAPISPOOL_UI_CALLBACK *lpfnCallback,
			  LPVOID lpvContext)
{
	if (!obj_is(lpSession, OBJ_SESSION))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"mapispool_set_ui_callback needs a session");
	lpSession->ui = lpfnCallback;
	lpSession->ui_ctx = lpfnCallback != NULL ? lpvContext : NULL;
	return obj_result(&lpSession->obj, S_OK, NULL);
}

static struct flush_record *
flush_find(LPMAPISESSION s, ULONG id)
{
	struct flush_record *f;

	STAILQ_FOREACH(f, &s->flushes, entry)
		if (f->id == id)
			return f;
	return NULL;
}

HRESULT
session_flush_started(LPMAPISESSION s, ULONG id)
{
	struct flush_record *f;

	if ((f = calloc(1, sizeof *f)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	f->id = id;
	STAILQ_INSERT_TAIL(&s->flushes, f, entry);
	/* A program that never dispatches must not grow without end. */
	if (++s->nflushes > SESSION_MAX_FLUSHES) {
		f = STAILQ_FIRST(&s->flushes);
		STAILQ_REMOVE_HEAD(&s->flushes, entry);
		json_object_put(f->transports);
		free(f);
		s->nflushes--;
	}
	return S_OK;
}

json_object *
session_flush_transports(LPMAPISESSION s, ULONG id)
{
	struct flush_record *f = flush_find(s, id);

	return f != NULL ? f->transports : NULL;
}

/* A flush.progress event to the UI callback. */
static void
ui_progress(LPMAPISESSION s, json_object *msg)
{
	int64_t progress = member_int(msg, "progress");
	const char *transport = member_string(msg, "transport");
	const char *text = member_string(msg, "text");
	MAPISPOOL_UI_EVENT ev = {
		.ulKind = MAPISPOOL_UI_PROGRESS,
		.ulFlushId = (ULONG)member_int(msg, "flush_id"),
		.lpszTransport = transport != NULL ? transport : "",
		.ulProgress = progress < 0 ? 0 : progress > 100 ? 100 : (ULONG)progress,
		.lpszText = text != NULL ? text : "",
	};

	s->ui(s->ui_ctx, &ev);
}

/* ui.reply: value answers prompt id, NULL cancels it. */
static HRESULT
session_ui_reply(LPMAPISESSION s, ULONG id, const char *value, char *err, size_t errlen)
{
	const struct client_secret secret = { "value", value };
	json_object *params = json_object_new_object(), *reply;
	HRESULT hr;

	json_object_object_add(params, "prompt_id", json_object_new_int64(id));
	if (value == NULL)
		json_object_object_add(params, "cancel", json_object_new_boolean(1));
	hr = session_call_secret(s, PROTO_OP_UI_REPLY, params, &secret, value != NULL ? 1 : 0,
				 &reply, err, errlen);
	json_object_put(params);
	json_object_put(reply);
	return FAILED(hr) ? hr : S_OK;
}

HRESULT
mapispool_ui_reply(LPMAPISESSION lpSession, ULONG ulPromptId, LPCSTR lpszValue)
{
	char err[CLIENT_ERR_MAX] = "";

	if (!obj_is(lpSession, OBJ_SESSION))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "mapispool_ui_reply needs a session");
	if (lpszValue != NULL && !utf8_valid(lpszValue))
		return obj_fail(&lpSession->obj, MAPI_E_INVALID_PARAMETER,
				"the answer to prompt %u is not UTF-8", ulPromptId);
	return obj_result(&lpSession->obj,
			  session_ui_reply(lpSession, ulPromptId, lpszValue, err, sizeof err), err);
}

/* A ui.prompt to the UI callback.  With none, nobody can answer: cancel
 * it now rather than have the transport wait for the daemon's timeout. */
static void
ui_prompt(LPMAPISESSION s, json_object *msg)
{
	const char *transport = member_string(msg, "transport");
	const char *text = member_string(msg, "text");
	MAPISPOOL_UI_EVENT ev = {
		.ulKind = MAPISPOOL_UI_PROMPT,
		.ulFlushId = (ULONG)member_int(msg, "flush_id"),
		.lpszTransport = transport != NULL ? transport : "",
		.lpszText = text != NULL ? text : "",
		.ulPromptId = (ULONG)member_int(msg, "prompt_id"),
		/* Absent: secret, the side that never echoes. */
		.fSecret = !json_object_object_get_ex(msg, "secret", NULL) ||
			   member_bool(msg, "secret"),
	};
	char err[CLIENT_ERR_MAX];

	/* A cancel that fails changes nothing: the daemon gives up on the
	 * prompt after its timeout all the same. */
	if (s->ui != NULL)
		s->ui(s->ui_ctx, &ev);
	else
		session_ui_reply(s, ev.ulPromptId, NULL, err, sizeof err);
}

/* Progress and prompts of the flush a FlushQueues waits for: those of any
 * flush that is not one of the session's FLUSH_ASYNC_OK flushes, since the
 * library makes one call at a time. */
static bool
session_flush_events(void *ctx, json_object *msg)
{
	LPMAPISESSION s = ctx;
	const char *event = member_string(msg, "event");
	struct flush_record *f;
	bool prompt;

	if (event == NULL)
		return false;
	prompt = strcmp(event, PROTO_EV_UI_PROMPT) == 0;
	if (!prompt && (s->ui == NULL || strcmp(event, PROTO_EV_FLUSH_PROGRESS) != 0))
		return false;
	f = flush_find(s, (ULONG)member_int(msg, "flush_id"));
	if (f != NULL && f->transports == NULL)
		return false;
	if (prompt)
		ui_prompt(s, msg);
	else
		ui_progress(s, msg);
	return true;
}

HRESULT
session_call_ui(LPMAPISESSION s, const char *op, json_object *params, json_object **reply,
		char *err, size_t errlen)
{
	if (s->client == NULL) {
		*reply = NULL;
		snprintf(err, errlen, "the session has been logged off");
		return MAPI_E_END_OF_SESSION;
	}
	return client_call_hook(s->client, op, params, session_flush_events, s, reply, err,
				errlen);
}

/* flush.done: its results become the flush's, then the UI hears of it. */
static bool
deliver_flush_done(LPMAPISESSION s, json_object *msg)
{
	MAPISPOOL_UI_EVENT ev = {
		.ulKind = MAPISPOOL_UI_FLUSH_DONE,
		.ulFlushId = (ULONG)member_int(msg, "flush_id"),
		.lpszTransport = "",
		.lpszText = "",
		.hResult = member_hr(msg, "hr", S_OK),
	};
	struct flush_record *f = flush_find(s, ev.ulFlushId);
	json_object *transports;

	if (f != NULL) {
		json_object_put(f->transports);
		if (json_object_object_get_ex(msg, "transports", &transports) &&
		    json_object_is_type(transports, json_type_array))
			f->transports = json_object_get(transports);
		else
			f->transports = json_object_new_array();
	}
	if (s->ui != NULL)
		s->ui(s->ui_ctx, &ev);
	return f != NULL || s->ui != NULL;
}

static struct advise_record *
advise_find(LPMAPISESSION s, ULONG connection)
{
	struct advise_record *a;

	LIST_FOREACH(a, &s->advises, entry)
		if (a->connection == connection)
			return a;
	return NULL;
}

static bool
deliver_table(LPMAPISESSION s, json_object *msg)
{
	struct advise_record *a = advise_find(s, (ULONG)member_int(msg, "connection"));
	LPMAPIADVISESINK sink;

	/* Unadvised already: the event crossed the unadvise on the wire. */
	if (a == NULL)
		return false;
	/* OnNotify may unadvise, and so release the sink it runs in. */
	sink = a->sink;
	IMAPIAdviseSink_AddRef(sink);
	advise_deliver(sink, a->cols, msg);
	IMAPIAdviseSink_Release(sink);
	return true;
}

/* Hand msg to whoever it is for; false when nobody was. */
static bool
session_deliver(LPMAPISESSION s, json_object *msg)
{
	const char *event = member_string(msg, "event");

	/* No event: a reply nobody waits for any longer. */
	if (event == NULL)
		return false;
	if (strcmp(event, PROTO_EV_FLUSH_PROGRESS) == 0) {
		if (s->ui == NULL)
			return false;
		ui_progress(s, msg);
		return true;
	}
	if (strcmp(event, PROTO_EV_UI_PROMPT) == 0) {
		ui_prompt(s, msg);
		return true;
	}
	if (strcmp(event, PROTO_EV_FLUSH_DONE) == 0)
		return deliver_flush_done(s, msg);
	if (strcmp(event, PROTO_EV_TABLE) == 0)
		return deliver_table(s, msg);
	return false;
}

HRESULT
session_advise(LPMAPISESSION s, LPMAPITABLE t, ULONG connection, LPMAPIADVISESINK sink,
	       const SPropTagArray *cols)
{
	struct advise_record *a;

	if ((a = calloc(1, sizeof *a)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	if (MAPIAllocateBuffer(CbSPropTagArray(cols), (void **)&a->cols) != S_OK) {
		free(a);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	memcpy(a->cols, cols, CbSPropTagArray(cols));
	a->connection = connection;
	a->table = t;
	a->sink = sink;
	IMAPIAdviseSink_AddRef(sink);
	LIST_INSERT_HEAD(&s->advises, a, entry);
	return S_OK;
}

HRESULT
session_unadvise(LPMAPISESSION s, LPMAPITABLE t, ULONG connection, char *err, size_t errlen)
{
	struct advise_record *a = advise_find(s, connection);
	json_object *params, *reply;
	HRESULT hr = S_OK;

	if (a == NULL || a->table != t) {
		snprintf(err, errlen, "the table has no advise connection %u", connection);
		return MAPI_E_NOT_FOUND;
	}
	LIST_REMOVE(a, entry);
	/* A session that is gone has ended its subscriptions already. */
	if (s->client != NULL) {
		params = json_object_new_object();
		json_object_object_add(params, "connection", json_object_new_int64(connection));
		hr = client_call(s->client, PROTO_OP_UNADVISE, params, &reply, err, errlen);
		json_object_put(params);
		json_object_put(reply);
	}
	IMAPIAdviseSink_Release(a->sink);
	MAPIFreeBuffer(a->cols);
	free(a);
	return FAILED(hr) ? hr : S_OK;
}

void
session_unadvise_table(LPMAPISESSION s, LPMAPITABLE t)
{
	struct advise_record *a, *next;
	char err[CLIENT_ERR_MAX];

	for (a = LIST_FIRST(&s->advises); a != NULL; a = next) {
		next = LIST_NEXT(a, entry);
		if (a->table == t)
			session_unadvise(s, t, a->connection, err, sizeof err);
	}
}

int
mapispool_event_fd(LPMAPISESSION lpSession)
{
	if (!obj_is(lpSession, OBJ_SESSION) || lpSession->client == NULL)
		return -1;
	return client_fd(lpSession->client);
}

/* What is left of timeout_ms since start (-1: no limit). */
static int
time_left(int timeout_ms, const struct timespec *start)
{
	struct timespec now;
	int64_t spent;

	if (timeout_ms < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	spent = (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
	return spent >= timeout_ms ? 0 : timeout_ms - (int)spent;
}

HRESULT
mapispool_dispatch(LPMAPISESSION lpSession, int timeout_ms)
{
	char err[CLIENT_ERR_MAX] = "";
	struct timespec start;
	bool delivered = false;
	json_object *msg;
	HRESULT hr;

	if (!obj_is(lpSession, OBJ_SESSION) || timeout_ms < -1)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"mapispool_dispatch needs a session and a timeout of -1 or more");
	/* A callback may release the program's last reference to the session. */
	IMAPISession_AddRef(lpSession);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		/* A callback may have logged off. */
		if (lpSession->client == NULL) {
			snprintf(err, sizeof err, "the session has been logged off");
			hr = MAPI_E_END_OF_SESSION;
			break;
		}
		/* After the first delivery, only what is there already. */
		hr = client_next(lpSession->client, delivered ? 0 : time_left(timeout_ms, &start),
				 &msg, err, sizeof err);
		if (hr != S_OK || msg == NULL)
			break;
		if (session_deliver(lpSession, msg))
			delivered = true;
		json_object_put(msg);
	}
	hr = obj_result(&lpSession->obj, hr, err);
	IMAPISession_Release(lpSession);
	return hr;
}

/* ---- IUnknown ---- */

static bool
obj_known(const void *o)
{
	return obj_is(o, OBJ_SESSION) || obj_is(o, OBJ_TABLE) || obj_is(o, OBJ_STATUS) ||
	       obj_is(o, OBJ_SINK);
}

ULONG
IUnknown_AddRef(LPUNKNOWN lpUnk)
{
	if (!obj_known(lpUnk))
		return 0;
	return ++lpUnk->obj.refs;
}

ULONG
IUnknown_Release(LPUNKNOWN lpUnk)
{
	if (!obj_known(lpUnk))
		return 0;
	if (--lpUnk->obj.refs > 0)
		return lpUnk->obj.refs;
	switch (lpUnk->obj.kind) {
	case OBJ_SESSION:
		session_destroy((LPMAPISESSION)lpUnk);
		break;
	case OBJ_TABLE:
		table_destroy((LPMAPITABLE)lpUnk);
		break;
	case OBJ_STATUS:
		status_destroy((LPMAPISTATUS)lpUnk);
		break;
	case OBJ_SINK:
		sink_destroy((LPMAPIADVISESINK)lpUnk);
		break;
	}
	return 0;
}

HRESULT
IUnknown_QueryInterface(LPUNKNOWN lpUnk, REFIID riid, LPVOID *lppvObj)
{
	if (lppvObj != NULL)
		*lppvObj = NULL;
	if (!obj_known(lpUnk) || riid == NULL || lppvObj == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"QueryInterface needs an object, an IID and somewhere to put it");
	if (!kind_has_interface(lpUnk->obj.kind, riid))
		return obj_fail(&lpUnk->obj, MAPI_E_INTERFACE_NOT_SUPPORTED,
				"the object does not support that interface");
	IUnknown_AddRef(lpUnk);
	*lppvObj = lpUnk;
	return obj_result(&lpUnk->obj, S_OK, NULL);
}
