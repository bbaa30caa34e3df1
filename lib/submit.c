/*
 * submit.c — the mapispool_ extensions for messages: submitting one
 * (IMessage::SubmitMessage without the message object) and the queues
 * (like mailq and postsuper).
 *
 * Each is one request on the session's connection; what the reply holds
 * comes back in one MAPIAllocateBuffer block, as MAPI returns memory.
 */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "propval.h"
#include "protocol.h"

/* The session's error record: a session starts with struct obj too. */
static struct obj *
session_obj(LPMAPISESSION s)
{
	return &((LPUNKNOWN)s)->obj;
}

/* ---- Submitting ---- */

/* Can the bytes go as a JSON string: UTF-8, and no NUL (which many
 * readers of the protocol would cut the message at)? */
static bool
utf8_text(const unsigned char *p, size_t n)
{
	size_t i = 0, len, k;
	uint32_t cp, min;

	while (i < n) {
		if (p[i] == 0)
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			len = 2, cp = p[i] & 0x1f, min = 0x80;
		else if (p[i] >= 0xe0 && p[i] <= 0xef)
			len = 3, cp = p[i] & 0x0f, min = 0x800;
		else if (p[i] >= 0xf0 && p[i] <= 0xf4)
			len = 4, cp = p[i] & 0x07, min = 0x10000;
		else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* RFC 4648 base64 of n bytes, as a JSON string. */
static json_object *
base64_json(const unsigned char *in, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = (n + 2) / 3 * 4, i, o = 0;
	json_object *j;
	uint32_t v;
	char *out;

	if (n > SIZE_MAX / 4 * 3 - 2 || (out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = i + 1 < n ? alphabet[v >> 6 & 0x3f] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	j = json_object_new_string_len(out, (int)o);
	free(out);
	return j;
}

static HRESULT
submit_params(LPCSTR sender, ULONG n, const MAPISPOOL_RECIPIENT *rcpts, const void *data,
	      size_t len, json_object **out, char *err, size_t errlen)
{
	json_object *params = json_object_new_object(), *arr = json_object_new_array(), *r, *d;
	ULONG i;

	json_object_object_add(params, "sender", json_object_new_string(sender != NULL ? sender : ""));
	json_object_object_add(params, "recipients", arr);
	for (i = 0; i < n; i++) {
		r = json_object_new_object();
		json_object_object_add(r, "address", json_object_new_string(rcpts[i].lpszAddress));
		json_object_object_add(r, "addrtype",
				       json_object_new_string(rcpts[i].lpszAddrType != NULL
								      ? rcpts[i].lpszAddrType
								      : "SMTP"));
		json_object_array_add(arr, r);
	}
	/* json-c counts string lengths in an int. */
	if (len > INT32_MAX / 2) {
		json_object_put(params);
		snprintf(err, errlen, "a message of %zu bytes is too big to send", len);
		return MAPI_E_TOO_BIG;
	}
	if (utf8_text(data, len)) {
		d = json_object_new_string_len(data, (int)len);
		json_object_object_add(params, "data", d);
	} else {
		d = base64_json(data, len);
		json_object_object_add(params, "data_base64", d);
	}
	if (d == NULL) {
		json_object_put(params);
		snprintf(err, errlen, "no memory for a message of %zu bytes", len);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	*out = params;
	return S_OK;
}

/* The reply's "recipients" as n routes, in the request's order. */
static HRESULT
routes_decode(json_object *reply, ULONG n, const MAPISPOOL_RECIPIENT *rcpts,
	      MAPISPOOL_ROUTE **out)
{
	MAPISPOOL_ROUTE *routes;
	json_object *arr = NULL, *r;
	const char *addrtype;
	ULONG i;

	*out = NULL;
	if (n == 0)
		return S_OK;
	if (n > UINT32_MAX / sizeof *routes ||
	    MAPIAllocateBuffer(n * sizeof *routes, (void **)&routes) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	json_object_object_get_ex(reply, "recipients", &arr);
	for (i = 0; i < n; i++) {
		r = json_object_is_type(arr, json_type_array) ? json_object_array_get_idx(arr, i)
							       : NULL;
		addrtype = rcpts[i].lpszAddrType != NULL ? rcpts[i].lpszAddrType : "SMTP";
		if (string_more(rcpts[i].lpszAddress, routes, &routes[i].lpszAddress) != S_OK ||
		    string_more(addrtype, routes, &routes[i].lpszAddrType) != S_OK ||
		    string_more(member_string(r, "transport"), routes,
				&routes[i].lpszTransport) != S_OK) {
			MAPIFreeBuffer(routes);
			return MAPI_E_NOT_ENOUGH_MEMORY;
		}
	}
	*out = routes;
	return S_OK;
}

static HRESULT
buffer_string(const char *s, LPSTR *out)
{
	size_t n = strlen(s) + 1;
	void *p;

	if (n > UINT32_MAX || MAPIAllocateBuffer((ULONG)n, &p) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	*out = memcpy(p, s, n);
	return S_OK;
}

HRESULT
mapispool_submit_routes(LPMAPISESSION lpSession, LPCSTR lpszSender, ULONG cRecipients,
			const MAPISPOOL_RECIPIENT *lpRecipients, LPCVOID lpData, size_t cbData,
			LPSTR *lppszMessageId, MAPISPOOL_ROUTE **lppRoutes)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply;
	const char *id;
	HRESULT hr, dhr;
	ULONG i;

	if (lppszMessageId != NULL)
		*lppszMessageId = NULL;
	if (lppRoutes != NULL)
		*lppRoutes = NULL;
	if (!obj_is(lpSession, OBJ_SESSION) || (cRecipients > 0 && lpRecipients == NULL) ||
	    (cbData > 0 && lpData == NULL))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"mapispool_submit needs a session, the recipients and the data");
	for (i = 0; i < cRecipients; i++)
		if (lpRecipients[i].lpszAddress == NULL)
			return obj_fail(session_obj(lpSession), MAPI_E_INVALID_PARAMETER,
					"recipient %u has no address", i + 1);
	if ((hr = submit_params(lpszSender, cRecipients, lpRecipients, lpData, cbData, &params,
				err, sizeof err)) != S_OK)
		return obj_result(session_obj(lpSession), hr, err);
	hr = session_call(lpSession, PROTO_OP_MESSAGE_SUBMIT, params, &reply, err, sizeof err);
	json_object_put(params);
	if (FAILED(hr))
		return obj_result(session_obj(lpSession), hr, err);
	/* The message is queued now: a failure to say so is the reader's. */
	dhr = S_OK;
	if (lppszMessageId != NULL && (id = member_string(reply, "message_id")) != NULL)
		dhr = buffer_string(id, lppszMessageId);
	if (dhr == S_OK && lppRoutes != NULL)
		dhr = routes_decode(reply, cRecipients, lpRecipients, lppRoutes);
	json_object_put(reply);
	if (dhr != S_OK && lppszMessageId != NULL) {
		MAPIFreeBuffer(*lppszMessageId);
		*lppszMessageId = NULL;
	}
	return obj_result(session_obj(lpSession), dhr != S_OK ? dhr : hr, NULL);
}

HRESULT
mapispool_submit(LPMAPISESSION lpSession, LPCSTR lpszSender, ULONG cRecipients,
		 const MAPISPOOL_RECIPIENT *lpRecipients, LPCVOID lpData, size_t cbData,
		 LPSTR *lppszMessageId, ULONG *lpcUndeliverable)
{
	MAPISPOOL_ROUTE *routes = NULL;
	HRESULT hr;
	ULONG i;

	if (lpcUndeliverable != NULL)
		*lpcUndeliverable = 0;
	hr = mapispool_submit_routes(lpSession, lpszSender, cRecipients, lpRecipients, lpData,
				     cbData, lppszMessageId,
				     lpcUndeliverable != NULL ? &routes : NULL);
	for (i = 0; routes != NULL && i < cRecipients; i++)
		if (routes[i].lpszTransport == NULL)
			(*lpcUndeliverable)++;
	MAPIFreeBuffer(routes);
	return hr;
}

/* ---- The queues ---- */

static FILETIME
time_member(json_object *o, const char *key)
{
	char err[64];
	json_object *v;
	SPropValue pv;
	FILETIME zero = { 0, 0 };

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
	    propval_from_json(PROP_TAG(PT_SYSTIME, 0), v, NULL, &pv, err, sizeof err) != S_OK ||
	    PROP_TYPE(pv.ulPropTag) != PT_SYSTIME)
		return zero;
	return pv.Value.ft;
}

/* An array member's elements, chained to parent: *n of them, each size
 * bytes and zeroed. */
static HRESULT
array_more(json_object *o, const char *key, size_t size, void *parent, void **out, ULONG *n)
{
	json_object *arr;
	size_t len;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &arr) || !json_object_is_type(arr, json_type_array) ||
	    (len = json_object_array_length(arr)) == 0)
		return S_OK;
	if (len > UINT32_MAX / size || MAPIAllocateMore((ULONG)(len * size), parent, out) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	memset(*out, 0, len * size);
	*n = (ULONG)len;
	return S_OK;
}

static HRESULT
recipients_decode(json_object *e, void *parent, MAPISPOOL_QUEUE_ENTRY *qe)
{
	json_object *arr, *r;
	ULONG i;

	if (array_more(e, "recipients", sizeof *qe->lpRecipients, parent,
		       (void **)&qe->lpRecipients, &qe->cRecipients) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	json_object_object_get_ex(e, "recipients", &arr);
	for (i = 0; i < qe->cRecipients; i++) {
		r = json_object_array_get_idx(arr, i);
		if (string_more(member_string(r, "address"), parent,
				&qe->lpRecipients[i].lpszAddress) != S_OK ||
		    string_more(member_string(r, "addrtype"), parent,
				&qe->lpRecipients[i].lpszAddrType) != S_OK)
			return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	return S_OK;
}

static HRESULT
units_decode(json_object *e, void *parent, MAPISPOOL_QUEUE_ENTRY *qe)
{
	MAPISPOOL_QUEUE_UNIT *u;
	json_object *arr, *j;
	int64_t attempts;
	ULONG i;

	if (array_more(e, "units", sizeof *qe->lpUnits, parent, (void **)&qe->lpUnits,
		       &qe->cUnits) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	json_object_object_get_ex(e, "units", &arr);
	for (i = 0; i < qe->cUnits; i++) {
		j = json_object_array_get_idx(arr, i);
		u = &qe->lpUnits[i];
		if (string_more(member_string(j, "transport"), parent, &u->lpszTransport) != S_OK ||
		    string_more(member_string(j, "state"), parent, &u->lpszState) != S_OK ||
		    string_more(member_string(j, "last_error"), parent, &u->lpszLastError) != S_OK)
			return MAPI_E_NOT_ENOUGH_MEMORY;
		u->fHeld = member_bool(j, "held");
		u->fInFlight = member_bool(j, "in_flight");
		attempts = member_int(j, "attempts");
		u->cAttempts = attempts < 0 ? 0 : attempts > UINT32_MAX ? UINT32_MAX : (ULONG)attempts;
		u->ftNextAttempt = time_member(j, "next_attempt");
	}
	return S_OK;
}

static HRESULT
entry_decode(json_object *e, void *parent, MAPISPOOL_QUEUE_ENTRY *qe)
{
	int64_t size = member_int(e, "size");

	memset(qe, 0, sizeof *qe);
	qe->cbSize = size < 0 ? 0 : (ULONGLONG)size;
	qe->ftQueued = time_member(e, "queued");
	if (string_more(member_string(e, "id"), parent, &qe->lpszId) != S_OK ||
	    string_more(member_string(e, "sender"), parent, &qe->lpszSender) != S_OK ||
	    string_more(member_string(e, "source"), parent, &qe->lpszSource) != S_OK ||
	    recipients_decode(e, parent, qe) != S_OK || units_decode(e, parent, qe) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	return S_OK;
}

static HRESULT
list_decode(json_object *reply, MAPISPOOL_QUEUE_LIST **out, char *err, size_t errlen)
{
	MAPISPOOL_QUEUE_LIST *list;
	json_object *entries;
	size_t n, i;

	if (!json_object_object_get_ex(reply, "entries", &entries) ||
	    !json_object_is_type(entries, json_type_array)) {
		snprintf(err, errlen, "a queue.list reply has no \"entries\"");
		return MAPI_E_CORRUPT_DATA;
	}
	n = json_object_array_length(entries);
	if (n > (UINT32_MAX - sizeof *list) / sizeof list->aEntries[0] ||
	    MAPIAllocateBuffer((ULONG)(offsetof(MAPISPOOL_QUEUE_LIST, aEntries) +
				       n * sizeof list->aEntries[0] + sizeof list->aEntries[0]),
			       (void **)&list) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	list->cEntries = 0;
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(entries, i);

		if (!json_object_is_type(e, json_type_object))
			continue;
		if (entry_decode(e, list, &list->aEntries[list->cEntries]) != S_OK) {
			MAPIFreeBuffer(list);
			return MAPI_E_NOT_ENOUGH_MEMORY;
		}
		list->cEntries++;
	}
	*out = list;
	return S_OK;
}

HRESULT
mapispool_queue_list(LPMAPISESSION lpSession, ULONG ulQueue, LPCSTR lpszAfter, ULONG cMax,
		     MAPISPOOL_QUEUE_LIST **lppList, LPSTR *lppszNext)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply;
	const char *next;
	HRESULT hr;

	if (lppList != NULL)
		*lppList = NULL;
	if (lppszNext != NULL)
		*lppszNext = NULL;
	if (!obj_is(lpSession, OBJ_SESSION) || lppList == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"mapispool_queue_list needs a session and somewhere to put the list");
	if (ulQueue != MAPISPOOL_QUEUE_OUTBOUND && ulQueue != MAPISPOOL_QUEUE_INBOUND)
		return obj_fail(session_obj(lpSession), MAPI_E_INVALID_PARAMETER,
				"queue %u is neither MAPISPOOL_QUEUE_OUTBOUND nor"
				" MAPISPOOL_QUEUE_INBOUND", ulQueue);
	params = json_object_new_object();
	json_object_object_add(params, "queue", json_object_new_string(
		ulQueue == MAPISPOOL_QUEUE_INBOUND ? "inbound" : "outbound"));
	if (lpszAfter != NULL)
		json_object_object_add(params, "after", json_object_new_string(lpszAfter));
	if (cMax != 0)
		json_object_object_add(params, "max", json_object_new_int64(cMax));
	hr = session_call(lpSession, PROTO_OP_QUEUE_LIST, params, &reply, err, sizeof err);
	json_object_put(params);
	if (FAILED(hr))
		return obj_result(session_obj(lpSession), hr, err);
	if ((hr = list_decode(reply, lppList, err, sizeof err)) == S_OK && lppszNext != NULL &&
	    (next = member_string(reply, "next")) != NULL &&
	    (hr = buffer_string(next, lppszNext)) != S_OK) {
		MAPIFreeBuffer(*lppList);
		*lppList = NULL;
	}
	json_object_put(reply);
	return obj_result(session_obj(lpSession), hr, err);
}

static HRESULT
queue_op(LPMAPISESSION s, const char *op, LPCSTR id, LPCSTR transport)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply;
	HRESULT hr;

	if (!obj_is(s, OBJ_SESSION) || id == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "%s needs a session and a message ID",
				op);
	params = json_object_new_object();
	json_object_object_add(params, "message_id", json_object_new_string(id));
	if (transport != NULL)
		json_object_object_add(params, "transport", json_object_new_string(transport));
	hr = session_call(s, op, params, &reply, err, sizeof err);
	json_object_put(params);
	json_object_put(reply);
	return obj_result(session_obj(s), hr, err);
}

HRESULT
mapispool_queue_hold(LPMAPISESSION lpSession, LPCSTR lpszMessageId, LPCSTR lpszTransport)
{
	return queue_op(lpSession, PROTO_OP_QUEUE_HOLD, lpszMessageId, lpszTransport);
}

HRESULT
mapispool_queue_release(LPMAPISESSION lpSession, LPCSTR lpszMessageId, LPCSTR lpszTransport)
{
	return queue_op(lpSession, PROTO_OP_QUEUE_RELEASE, lpszMessageId, lpszTransport);
}

HRESULT
mapispool_queue_remove(LPMAPISESSION lpSession, LPCSTR lpszMessageId)
{
	return queue_op(lpSession, PROTO_OP_QUEUE_REMOVE, lpszMessageId, NULL);
}

HRESULT
mapispool_queue_select(LPMAPISESSION lpSession, ULONG ulAction, LPCSTR lpszMessageId,
		       LPCSTR lpszTransport, LPCSTR lpszDomain, ULONG *lpcMessages)
{
	static const char *const ops[] = { NULL, PROTO_OP_QUEUE_HOLD, PROTO_OP_QUEUE_RELEASE,
					   PROTO_OP_QUEUE_FLUSH };
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply = NULL, *count;
	HRESULT hr;

	if (!obj_is(lpSession, OBJ_SESSION) || ulAction < MAPISPOOL_ACTION_HOLD ||
	    ulAction > MAPISPOOL_ACTION_FLUSH ||
	    (lpszMessageId == NULL && lpszTransport == NULL && lpszDomain == NULL))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"mapispool_queue_select needs a session, an action and a selector");
	params = json_object_new_object();
	if (lpszMessageId != NULL)
		json_object_object_add(params, "message_id", json_object_new_string(lpszMessageId));
	if (lpszTransport != NULL)
		json_object_object_add(params, "transport", json_object_new_string(lpszTransport));
	if (lpszDomain != NULL)
		json_object_object_add(params, "domain", json_object_new_string(lpszDomain));
	hr = session_call(lpSession, ops[ulAction], params, &reply, err, sizeof err);
	if (SUCCEEDED(hr) && lpcMessages != NULL)
		*lpcMessages = json_object_object_get_ex(reply, "count", &count)
				       ? (ULONG)json_object_get_int64(count)
				       : 0;
	json_object_put(params);
	json_object_put(reply);
	return obj_result(session_obj(lpSession), hr, err);
}
