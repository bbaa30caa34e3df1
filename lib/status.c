/*
 * status.c — IMAPIStatus: a status object of the daemon (the subsystem,
 * the spooler, the store or a transport), named by its entry ID.
 *
 * The object holds little but its entry ID and its session: every call
 * asks the daemon, so properties are always current.  What it keeps is
 * what its last FlushQueues did, for mapispool_flush_results.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "protocol.h"

struct IMAPIStatus {
	struct obj obj;
	LPMAPISESSION session;
	ULONG cb;			/* the entry ID, sent with every request */
	BYTE *eid;
	ULONG flush_id;			/* the daemon's id of the last flush, 0: none */
	bool flush_async;		/* it was FLUSH_ASYNC_OK: the session has its end */
	json_object *flush_transports;	/* its "transports" when it was not */
};

#define FLUSH_FLAGS (FLUSH_UPLOAD | FLUSH_DOWNLOAD | FLUSH_FORCE | FLUSH_NO_UI | FLUSH_ASYNC_OK)
#define VALIDATE_FLAGS \
	(SUPPRESS_UI | FORCE_XP_CONNECT | FORCE_XP_DISCONNECT | CONFIG_CHANGED | \
	 REFRESH_XP_HEADER_CACHE | PROCESS_XP_HEADER_CACHE | ABORT_XP_HEADER_OPERATION | \
	 SHOW_XP_SESSION_UI)

/* {"entryid":"..."}: the start of every request about this object. */
static json_object *
status_params(const BYTE *eid, ULONG cb)
{
	json_object *params = json_object_new_object();

	json_object_object_add(params, "entryid", proto_bin_to_json(eid, cb));
	return params;
}

/* Ask the daemon for the object's type: it rejects an entry ID that is
 * malformed or names no object, which is what OpenEntry must report. */
static HRESULT
status_check(LPMAPISESSION s, ULONG cb, const BYTE *eid, char *err, size_t errlen)
{
	json_object *params = status_params(eid, cb), *props, *reply, *type;
	HRESULT hr;

	props = json_object_new_array();
	json_object_array_add(props, json_object_new_string("PR_OBJECT_TYPE"));
	json_object_object_add(params, "props", props);
	hr = session_call(s, PROTO_OP_STATUS_GET_PROPS, params, &reply, err, errlen);
	json_object_put(params);
	if (FAILED(hr))
		return hr;
	if (!json_object_object_get_ex(reply, "object_type", &type) ||
	    json_object_get_int64(type) != MAPI_STATUS) {
		snprintf(err, errlen, "the entry ID does not name a status object");
		hr = MAPI_E_INVALID_ENTRYID;
	} else {
		hr = S_OK;
	}
	json_object_put(reply);
	return hr;
}

HRESULT
status_open(LPMAPISESSION s, ULONG cb, const BYTE *eid, LPMAPISTATUS *out, char *err,
	    size_t errlen)
{
	LPMAPISTATUS st;
	HRESULT hr;

	if ((hr = status_check(s, cb, eid, err, errlen)) != S_OK)
		return hr;
	if ((st = calloc(1, sizeof *st)) == NULL || (st->eid = malloc(cb)) == NULL) {
		free(st);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	st->obj.kind = OBJ_STATUS;
	st->obj.refs = 1;
	st->session = s;
	IMAPISession_AddRef(s);
	st->cb = cb;
	memcpy(st->eid, eid, cb);
	*out = st;
	return S_OK;
}

void
status_destroy(LPMAPISTATUS st)
{
	IMAPISession_Release(st->session);
	json_object_put(st->flush_transports);
	free(st->eid);
	free(st);
}

/* With MAPI_UNICODE, the string values of the all-properties set come
 * as PT_UNICODE; their wide copies are chained to the same block. */
static HRESULT
props_widen(LPSPropValue props, ULONG n)
{
	LPWSTR w;
	ULONG i;

	for (i = 0; i < n; i++) {
		if (PROP_TYPE(props[i].ulPropTag) != PT_STRING8)
			continue;
		if (utf8_to_wide(props[i].Value.lpszA, props, &w) != S_OK)
			return MAPI_E_NOT_ENOUGH_MEMORY;
		props[i].ulPropTag = CHANGE_PROP_TYPE(props[i].ulPropTag, PT_UNICODE);
		props[i].Value.lpszW = w;
	}
	return S_OK;
}

/* Decode the reply's "props" for the tags asked for, or for all of them
 * (in the daemon's order) when none were. */
static HRESULT
status_decode(json_object *reply, const SPropTagArray *asked, bool unicode, ULONG *n,
	      LPSPropValue *out, char *err, size_t errlen)
{
	LPSPropTagArray all = NULL;
	const SPropTagArray *tags = asked;
	json_object *props;
	HRESULT hr;

	if (!json_object_object_get_ex(reply, "props", &props) ||
	    !json_object_is_type(props, json_type_object)) {
		snprintf(err, errlen, "a status.get_props reply has no \"props\"");
		return MAPI_E_CORRUPT_DATA;
	}
	if (tags == NULL) {
		if ((hr = tags_from_keys(props, false, &all, err, errlen)) != S_OK)
			return hr;
		tags = all;
	}
	if ((hr = proto_row_from_json(props, tags, out, err, errlen)) == S_OK) {
		*n = tags->cValues;
		if (asked == NULL && unicode && (hr = props_widen(*out, *n)) != S_OK) {
			MAPIFreeBuffer(*out);
			*out = NULL;
			*n = 0;
		}
	}
	MAPIFreeBuffer(all);
	return hr;
}

HRESULT
IMAPIStatus_GetProps(LPMAPISTATUS lpStatus, LPSPropTagArray lpPropTagArray, ULONG ulFlags,
		     ULONG *lpcValues, LPSPropValue *lppPropArray)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply;
	HRESULT hr, dhr;

	if (!obj_is(lpStatus, OBJ_STATUS) || lpcValues == NULL || lppPropArray == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"GetProps needs a status object and somewhere to put the values");
	*lpcValues = 0;
	*lppPropArray = NULL;
	if (ulFlags & ~MAPI_UNICODE)
		return obj_fail(&lpStatus->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown GetProps flags 0x%08x", ulFlags & ~MAPI_UNICODE);
	if (lpPropTagArray != NULL &&
	    (lpPropTagArray->cValues == 0 || lpPropTagArray->cValues > PROTO_MAX_TAGS))
		return obj_fail(&lpStatus->obj, MAPI_E_INVALID_PARAMETER,
				"GetProps takes 1 to %d tags, or NULL for all", PROTO_MAX_TAGS);
	params = status_params(lpStatus->eid, lpStatus->cb);
	if (lpPropTagArray != NULL)
		json_object_object_add(params, "props", proto_tags_to_json(lpPropTagArray));
	dhr = session_call(lpStatus->session, PROTO_OP_STATUS_GET_PROPS, params, &reply, err,
			   sizeof err);
	json_object_put(params);
	if (FAILED(dhr))
		return obj_result(&lpStatus->obj, dhr, err);
	hr = status_decode(reply, lpPropTagArray, ulFlags & MAPI_UNICODE, lpcValues, lppPropArray,
			   err, sizeof err);
	json_object_put(reply);
	/* The daemon's S_OK or MAPI_W_ERRORS_RETURNED, as GetProps returns. */
	return obj_result(&lpStatus->obj, hr == S_OK ? dhr : hr, err);
}

/* There is no window system to show a property sheet on (MAPI-REFERENCE
 * §2.5); the object stays usable. */
HRESULT
IMAPIStatus_SettingsDialog(LPMAPISTATUS lpStatus, ULONG_PTR ulUIParam, ULONG ulFlags)
{
	(void)ulUIParam;
	(void)ulFlags;
	if (!obj_is(lpStatus, OBJ_STATUS))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "SettingsDialog needs a status object");
	return obj_fail(&lpStatus->obj, MAPI_E_NO_SUPPORT,
			"status objects have no settings dialog; edit mapispool.conf instead");
}

/* Keep what the flush's reply says it did.  A FLUSH_ASYNC_OK flush that
 * the daemon runs in the background (on the spooler) replies with its id
 * only; a transport ignores the flag and replies when done. */
static HRESULT
status_flush_keep(LPMAPISTATUS st, json_object *reply, bool async_ok)
{
	json_object *transports;
	bool done = json_object_object_get_ex(reply, "transports", &transports) &&
		    json_object_is_type(transports, json_type_array);

	json_object_put(st->flush_transports);
	st->flush_transports = NULL;
	st->flush_id = (ULONG)member_int(reply, "flush_id");
	st->flush_async = async_ok && !done;
	if (st->flush_async)
		return session_flush_started(st->session, st->flush_id);
	st->flush_transports = done ? json_object_get(transports) : NULL;
	return S_OK;
}

HRESULT
IMAPIStatus_FlushQueues(LPMAPISTATUS lpStatus, ULONG_PTR ulUIParam, ULONG cbTargetTransport,
			LPENTRYID lpTargetTransport, ULONG ulFlags)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply;
	HRESULT hr, khr;

	(void)ulUIParam;
	if (!obj_is(lpStatus, OBJ_STATUS))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "FlushQueues needs a status object");
	if (ulFlags & ~FLUSH_FLAGS)
		return obj_fail(&lpStatus->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown FlushQueues flags 0x%08x", ulFlags & ~FLUSH_FLAGS);
	if ((cbTargetTransport == 0) != (lpTargetTransport == NULL))
		return obj_fail(&lpStatus->obj, MAPI_E_INVALID_PARAMETER,
				"cbTargetTransport and lpTargetTransport are given together or"
				" not at all");
	/* Nobody to show progress to: the daemon need not send it. */
	if (!session_has_ui(lpStatus->session))
		ulFlags |= FLUSH_NO_UI;
	params = status_params(lpStatus->eid, lpStatus->cb);
	json_object_object_add(params, "flags", json_object_new_int64(ulFlags));
	if (lpTargetTransport != NULL)
		json_object_object_add(params, "target_transport",
				       proto_bin_to_json((const BYTE *)lpTargetTransport,
							 cbTargetTransport));
	hr = session_call_ui(lpStatus->session, PROTO_OP_STATUS_FLUSH_QUEUES, params, &reply, err,
			     sizeof err);
	json_object_put(params);
	if (FAILED(hr))
		return obj_result(&lpStatus->obj, hr, err);
	khr = status_flush_keep(lpStatus, reply, ulFlags & FLUSH_ASYNC_OK);
	json_object_put(reply);
	return obj_result(&lpStatus->obj, FAILED(khr) ? khr : hr, NULL);
}

HRESULT
IMAPIStatus_ValidateState(LPMAPISTATUS lpStatus, ULONG_PTR ulUIParam, ULONG ulFlags)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply;
	HRESULT hr;

	(void)ulUIParam;
	if (!obj_is(lpStatus, OBJ_STATUS))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "ValidateState needs a status object");
	if (ulFlags & ~VALIDATE_FLAGS)
		return obj_fail(&lpStatus->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown ValidateState flags 0x%08x", ulFlags & ~VALIDATE_FLAGS);
	params = status_params(lpStatus->eid, lpStatus->cb);
	json_object_object_add(params, "flags", json_object_new_int64(ulFlags));
	hr = session_call(lpStatus->session, PROTO_OP_STATUS_VALIDATE_STATE, params, &reply, err,
			  sizeof err);
	json_object_put(params);
	json_object_put(reply);
	return obj_result(&lpStatus->obj, hr, err);
}

/* A password as UTF-8 in *out: the caller's own string, or with
 * MAPI_UNICODE a converted copy in *copy, for password_free.  False when
 * it is not valid UTF-8, or not a valid wide string. */
static bool
password_utf8(LPTSTR pass, ULONG flags, const char **out, char **copy)
{
	*copy = NULL;
	if (flags & MAPI_UNICODE) {
		*out = *copy = wide_to_utf8((LPCWSTR)(void *)pass);
		return *copy != NULL;
	}
	*out = pass;
	return utf8_valid(pass);
}

/* Wipe and free a copy password_utf8 made: the library keeps none. */
static void
password_free(char *copy)
{
	if (copy == NULL)
		return;
	explicit_bzero(copy, strlen(copy));
	free(copy);
}

HRESULT
IMAPIStatus_ChangePassword(LPMAPISTATUS lpStatus, LPTSTR lpOldPass, LPTSTR lpNewPass,
			   ULONG ulFlags)
{
	char err[CLIENT_ERR_MAX] = "";
	struct client_secret secrets[2] = { { "old", NULL }, { "new", NULL } };
	char *old_copy = NULL, *new_copy = NULL;
	json_object *params, *reply;
	HRESULT hr;

	if (!obj_is(lpStatus, OBJ_STATUS))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"ChangePassword needs a status object");
	if (ulFlags & ~MAPI_UNICODE)
		return obj_fail(&lpStatus->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown ChangePassword flags 0x%08x", ulFlags & ~MAPI_UNICODE);
	if (lpOldPass == NULL || lpNewPass == NULL)
		return obj_fail(&lpStatus->obj, MAPI_E_INVALID_PARAMETER,
				"ChangePassword needs the old and the new password");
	if (!password_utf8(lpOldPass, ulFlags, &secrets[0].value, &old_copy) ||
	    !password_utf8(lpNewPass, ulFlags, &secrets[1].value, &new_copy)) {
		password_free(old_copy);
		password_free(new_copy);
		return obj_fail(&lpStatus->obj, MAPI_E_INVALID_PARAMETER, "a password is not %s",
				(ulFlags & MAPI_UNICODE) ? "a valid wide string" : "UTF-8");
	}
	params = status_params(lpStatus->eid, lpStatus->cb);
	hr = session_call_secret(lpStatus->session, PROTO_OP_STATUS_CHANGE_PASSWORD, params,
				 secrets, 2, &reply, err, sizeof err);
	json_object_put(params);
	json_object_put(reply);
	password_free(old_copy);
	password_free(new_copy);
	return obj_result(&lpStatus->obj, FAILED(hr) ? hr : S_OK, err);
}

static ULONG
count_member(json_object *o, const char *key)
{
	int64_t v = member_int(o, key);

	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (ULONG)v;
}

/* The "transports" of a flush as MAPISPOOL_FLUSH_RESULTs, in one block. */
static HRESULT
flush_results_decode(json_object *transports, ULONG *n, MAPISPOOL_FLUSH_RESULT **out)
{
	size_t len = json_object_array_length(transports), i;
	MAPISPOOL_FLUSH_RESULT *results, *r;
	const char *name;
	json_object *t;

	if (len == 0)
		return S_OK;
	if (len > UINT32_MAX / sizeof *results ||
	    MAPIAllocateBuffer((ULONG)(len * sizeof *results), (void **)&results) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	memset(results, 0, len * sizeof *results);
	for (i = 0, r = results; i < len; i++) {
		t = json_object_array_get_idx(transports, i);
		if (!json_object_is_type(t, json_type_object))
			continue;
		name = member_string(t, "name");
		if (string_more(name != NULL ? name : "", results, &r->lpszTransport) != S_OK ||
		    string_more(member_string(t, "message"), results, &r->lpszError) != S_OK) {
			MAPIFreeBuffer(results);
			return MAPI_E_NOT_ENOUGH_MEMORY;
		}
		r->hResult = member_hr(t, "hr", S_OK);
		r->fSkipped = member_bool(t, "skipped");
		r->cSent = count_member(t, "sent");
		r->cDeferred = count_member(t, "deferred");
		r->cFailed = count_member(t, "failed");
		r->cReceived = count_member(t, "received");
		r->cDelivered = count_member(t, "delivered");
		r++;
	}
	*n = (ULONG)(r - results);
	*out = results;
	return S_OK;
}

HRESULT
mapispool_flush_results(LPMAPISTATUS lpStatus, ULONG *lpcResults,
			MAPISPOOL_FLUSH_RESULT **lppResults)
{
	json_object *transports;

	if (!obj_is(lpStatus, OBJ_STATUS) || lpcResults == NULL || lppResults == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"mapispool_flush_results needs a status object and somewhere to"
				" put the results");
	*lpcResults = 0;
	*lppResults = NULL;
	transports = lpStatus->flush_async
			     ? session_flush_transports(lpStatus->session, lpStatus->flush_id)
			     : lpStatus->flush_transports;
	if (transports == NULL)
		return obj_result(&lpStatus->obj, S_OK, NULL);
	return obj_result(&lpStatus->obj,
			  flush_results_decode(transports, lpcResults, lppResults), NULL);
}

HRESULT
mapispool_flush_id(LPMAPISTATUS lpStatus, ULONG *lpulFlushId)
{
	if (!obj_is(lpStatus, OBJ_STATUS) || lpulFlushId == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"mapispool_flush_id needs a status object and somewhere to put"
				" the id");
	*lpulFlushId = lpStatus->flush_id;
	return obj_result(&lpStatus->obj, S_OK, NULL);
}

HRESULT
IMAPIStatus_GetLastError(LPMAPISTATUS lpStatus, HRESULT hResult, ULONG ulFlags,
			 LPMAPIERROR *lppMAPIError)
{
	if (!obj_is(lpStatus, OBJ_STATUS))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "GetLastError needs a status object");
	return obj_result(NULL, obj_get_last_error(&lpStatus->obj, hResult, ulFlags,
						   lppMAPIError), NULL);
}

ULONG
IMAPIStatus_AddRef(LPMAPISTATUS lpStatus)
{
	return IUnknown_AddRef((LPUNKNOWN)lpStatus);
}

ULONG
IMAPIStatus_Release(LPMAPISTATUS lpStatus)
{
	return IUnknown_Release((LPUNKNOWN)lpStatus);
}
