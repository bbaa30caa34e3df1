/*
 * mapix.h — sessions, the status table and status objects: the Extended
 * MAPI subset that libmapispool implements, with MAPI's C names and
 * signatures (the IInterface_Method(lpObj, ...) form of MAPI's C bindings).
 *
 * Objects are opaque; every one returned to the caller is released with
 * its own *_Release (or IUnknown_Release).  Memory returned by a call is
 * freed with MAPIFreeBuffer, or FreeProws for row sets.
 */
#ifndef MAPISPOOL_MAPIX_H
#define MAPISPOOL_MAPIX_H

#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>
#include <mapispool/mapiguid.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct IUnknown IUnknown, *LPUNKNOWN;
typedef struct IMAPISession IMAPISession, *LPMAPISESSION;
typedef struct IMAPITable IMAPITable, *LPMAPITABLE;
typedef struct IMAPIStatus IMAPIStatus, *LPMAPISTATUS;
typedef struct IMAPIAdviseSink IMAPIAdviseSink, *LPMAPIADVISESINK;

/* ---- MAPIInitialize ---- */

typedef struct {
	ULONG ulVersion;
	ULONG ulFlags;
} MAPIINIT_0, *LPMAPIINIT_0;
typedef MAPIINIT_0 MAPIINIT, *LPMAPIINIT;

#define MAPI_INIT_VERSION 0
#define MAPI_MULTITHREAD_NOTIFICATIONS ((ULONG)0x00000001)
#define MAPI_NO_COINIT ((ULONG)0x00000008)

/* ---- MAPILogonEx flags ---- */

#define MAPI_LOGON_UI ((ULONG)0x00000001)
#define MAPI_NEW_SESSION ((ULONG)0x00000002)
#define MAPI_ALLOW_OTHERS ((ULONG)0x00000008)
#define MAPI_EXPLICIT_PROFILE ((ULONG)0x00000010)
#define MAPI_EXTENDED ((ULONG)0x00000020)
#define MAPI_USE_DEFAULT ((ULONG)0x00000040)
#define MAPI_FORCE_DOWNLOAD ((ULONG)0x00001000)
#define MAPI_SERVICE_UI_ALWAYS ((ULONG)0x00002000)
#define MAPI_NO_MAIL ((ULONG)0x00008000)
#define MAPI_NT_SERVICE ((ULONG)0x00010000)
#define MAPI_PASSWORD_UI ((ULONG)0x00020000)
#define MAPI_TIMEOUT_SHORT ((ULONG)0x00100000)
#define MAPI_BG_SESSION ((ULONG)0x00200000)
/* MAPI_UNICODE (mapidefs.h) is accepted too. */

/* IMAPISession::Logoff */
#define MAPI_LOGOFF_SHARED ((ULONG)0x00000001)
#define MAPI_LOGOFF_UI ((ULONG)0x00000002)

/* ---- Subsystem ---- */

HRESULT MAPIInitialize(LPVOID lpMapiInit);
void MAPIUninitialize(void);
HRESULT MAPILogonEx(ULONG_PTR ulUIParam, LPSTR lpszProfileName, LPSTR lpszPassword,
		    ULONG flFlags, LPMAPISESSION *lppSession);

/* ---- Memory (MAPI's rules: a buffer and everything chained to it with
 * MAPIAllocateMore is released by one MAPIFreeBuffer) ---- */

SCODE MAPIAllocateBuffer(ULONG cbSize, LPVOID *lppBuffer);
SCODE MAPIAllocateMore(ULONG cbSize, LPVOID lpObject, LPVOID *lppBuffer);
ULONG MAPIFreeBuffer(LPVOID lpBuffer);

/* ---- IUnknown, for any object ---- */

ULONG IUnknown_AddRef(LPUNKNOWN lpUnk);
ULONG IUnknown_Release(LPUNKNOWN lpUnk);
HRESULT IUnknown_QueryInterface(LPUNKNOWN lpUnk, REFIID riid, LPVOID *lppvObj);

/* ---- IMAPISession ---- */

HRESULT IMAPISession_GetStatusTable(LPMAPISESSION lpSession, ULONG ulFlags,
				    LPMAPITABLE *lppTable);
HRESULT IMAPISession_OpenEntry(LPMAPISESSION lpSession, ULONG cbEntryID, LPENTRYID lpEntryID,
			       LPCIID lpInterface, ULONG ulFlags, ULONG *lpulObjType,
			       LPUNKNOWN *lppUnk);
HRESULT IMAPISession_GetLastError(LPMAPISESSION lpSession, HRESULT hResult, ULONG ulFlags,
				  LPMAPIERROR *lppMAPIError);
HRESULT IMAPISession_Logoff(LPMAPISESSION lpSession, ULONG_PTR ulUIParam, ULONG ulFlags,
			    ULONG ulReserved);
ULONG IMAPISession_AddRef(LPMAPISESSION lpSession);
ULONG IMAPISession_Release(LPMAPISESSION lpSession);

/* ---- IMAPITable (the status table) ---- */

HRESULT IMAPITable_SetColumns(LPMAPITABLE lpTable, LPSPropTagArray lpPropTagArray,
			      ULONG ulFlags);
HRESULT IMAPITable_QueryColumns(LPMAPITABLE lpTable, ULONG ulFlags,
				LPSPropTagArray *lpPropTagArray);
HRESULT IMAPITable_Restrict(LPMAPITABLE lpTable, LPSRestriction lpRestriction, ULONG ulFlags);
HRESULT IMAPITable_SortTable(LPMAPITABLE lpTable, LPSSortOrderSet lpSortCriteria,
			     ULONG ulFlags);
HRESULT IMAPITable_SeekRow(LPMAPITABLE lpTable, BOOKMARK bkOrigin, LONG lRowCount,
			   LONG *lplRowsSought);
HRESULT IMAPITable_GetRowCount(LPMAPITABLE lpTable, ULONG ulFlags, ULONG *lpulCount);
HRESULT IMAPITable_QueryRows(LPMAPITABLE lpTable, LONG lRowCount, ULONG ulFlags,
			     LPSRowSet *lppRows);
HRESULT IMAPITable_GetLastError(LPMAPITABLE lpTable, HRESULT hResult, ULONG ulFlags,
				LPMAPIERROR *lppMAPIError);
/* fnevTableModified is the only event mask the status table takes.  The
 * sink's OnNotify is called from mapispool_dispatch (mapispool.h), in the
 * caller's thread: never from a hidden one. */
HRESULT IMAPITable_Advise(LPMAPITABLE lpTable, ULONG ulEventMask,
			  LPMAPIADVISESINK lpAdviseSink, ULONG *lpulConnection);
HRESULT IMAPITable_Unadvise(LPMAPITABLE lpTable, ULONG ulConnection);
ULONG IMAPITable_AddRef(LPMAPITABLE lpTable);
ULONG IMAPITable_Release(LPMAPITABLE lpTable);

/* ---- IMAPIStatus ---- */

HRESULT IMAPIStatus_GetProps(LPMAPISTATUS lpStatus, LPSPropTagArray lpPropTagArray,
			     ULONG ulFlags, ULONG *lpcValues, LPSPropValue *lppPropArray);
HRESULT IMAPIStatus_SettingsDialog(LPMAPISTATUS lpStatus, ULONG_PTR ulUIParam, ULONG ulFlags);
HRESULT IMAPIStatus_FlushQueues(LPMAPISTATUS lpStatus, ULONG_PTR ulUIParam,
				ULONG cbTargetTransport, LPENTRYID lpTargetTransport,
				ULONG ulFlags);
HRESULT IMAPIStatus_ValidateState(LPMAPISTATUS lpStatus, ULONG_PTR ulUIParam, ULONG ulFlags);
/* Passwords are UTF-8 (PT_STRING8); with MAPI_UNICODE in ulFlags they are
 * wide strings, as in MAPI. */
HRESULT IMAPIStatus_ChangePassword(LPMAPISTATUS lpStatus, LPTSTR lpOldPass, LPTSTR lpNewPass,
				   ULONG ulFlags);
HRESULT IMAPIStatus_GetLastError(LPMAPISTATUS lpStatus, HRESULT hResult, ULONG ulFlags,
				 LPMAPIERROR *lppMAPIError);
ULONG IMAPIStatus_AddRef(LPMAPISTATUS lpStatus);
ULONG IMAPIStatus_Release(LPMAPISTATUS lpStatus);

/* ---- IMAPIAdviseSink ---- */

ULONG IMAPIAdviseSink_OnNotify(LPMAPIADVISESINK lpSink, ULONG cNotif,
			       LPNOTIFICATION lpNotifications);
ULONG IMAPIAdviseSink_AddRef(LPMAPIADVISESINK lpSink);
ULONG IMAPIAdviseSink_Release(LPMAPIADVISESINK lpSink);

#ifdef __cplusplus
}
#endif

#endif /* MAPISPOOL_MAPIX_H */
