/*
 * session.c — MAPIInitialize, logon, IMAPISession, and IUnknown for every
 * object of the library.
 *
 * A session is one connection to mapispoold.  Tables and status objects
 * hold a reference to their session, so the connection lives until the
 * last object made from it is released (or the session is logged off).
 */
#include <config.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct IMAPISession {
	struct obj obj;
	struct client *client;		/* NULL once logged off */
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
	client_close(s->client);
	free(s);
}

/* ---- IUnknown ---- */

static bool
obj_known(const void *o)
{
	return obj_is(o, OBJ_SESSION) || obj_is(o, OBJ_TABLE) || obj_is(o, OBJ_STATUS);
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
