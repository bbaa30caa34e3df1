/*
 * mapidefs.h — MAPI base types, property types, structures and the status
 * object constants, with the names and values of MAPI's own headers.
 *
 * Part of libmapispool.  Constants are preprocessor macros, as in MAPI, so
 * that "#ifdef PR_STATUS_CODE" works in portable code.
 */
#ifndef MAPISPOOL_MAPIDEFS_H
#define MAPISPOOL_MAPIDEFS_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Base types (fixed widths: MAPI's ULONG is 32 bits everywhere) ---- */

typedef uint32_t ULONG, *LPULONG;
typedef int32_t LONG, *LPLONG;
typedef uint32_t DWORD;
typedef uint16_t WORD;
typedef uint16_t USHORT;
typedef int16_t SHORT;
typedef unsigned char BYTE, *LPBYTE;
typedef int BOOL;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef uintptr_t ULONG_PTR;
typedef int32_t SCODE;
typedef int32_t HRESULT;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef char CHAR;
typedef char *LPSTR;
typedef const char *LPCSTR;
/* Wide strings are the platform's wchar_t (UTF-32 on Linux), so L"..."
 * literals work; on the wire every string is UTF-8. */
typedef wchar_t WCHAR;
typedef WCHAR *LPWSTR;
typedef const WCHAR *LPCWSTR;
#ifdef UNICODE
typedef WCHAR TCHAR;
#else
typedef char TCHAR;
#endif
typedef TCHAR *LPTSTR;

#ifndef FALSE
#define FALSE 0
#endif
#ifndef TRUE
#define TRUE 1
#endif

#define MAPI_DIM 1

typedef struct _FILETIME {
	DWORD dwLowDateTime;
	DWORD dwHighDateTime;
} FILETIME, *LPFILETIME;

typedef union _LARGE_INTEGER {
	struct {
		DWORD LowPart;
		LONG HighPart;
	} u;
	LONGLONG QuadPart;
} LARGE_INTEGER;

typedef struct _GUID {
	uint32_t Data1;
	uint16_t Data2;
	uint16_t Data3;
	unsigned char Data4[8];
} GUID, *LPGUID;
typedef GUID IID;
typedef IID *LPIID;
typedef const IID *LPCIID;
typedef const IID *REFIID;

typedef struct _MAPIUID {
	BYTE ab[16];
} MAPIUID, *LPMAPIUID;

typedef union tagCY {
	struct {
		ULONG Lo;
		LONG Hi;
	} u;
	LONGLONG int64;
} CURRENCY;

/* ---- Entry identifiers ---- */

typedef struct {
	BYTE abFlags[4];
	BYTE ab[MAPI_DIM];
} ENTRYID, *LPENTRYID;

#define CbNewENTRYID(_cb) (offsetof(ENTRYID, ab) + (_cb))
#define CbENTRYID(_cb) (offsetof(ENTRYID, ab) + (_cb))

/* ---- Object types (PR_OBJECT_TYPE) ---- */

#define MAPI_STORE ((ULONG)0x00000001)
#define MAPI_ADDRBOOK ((ULONG)0x00000002)
#define MAPI_FOLDER ((ULONG)0x00000003)
#define MAPI_ABCONT ((ULONG)0x00000004)
#define MAPI_MESSAGE ((ULONG)0x00000005)
#define MAPI_MAILUSER ((ULONG)0x00000006)
#define MAPI_ATTACH ((ULONG)0x00000007)
#define MAPI_DISTLIST ((ULONG)0x00000008)
#define MAPI_PROFSECT ((ULONG)0x00000009)
#define MAPI_STATUS ((ULONG)0x0000000A)
#define MAPI_SESSION ((ULONG)0x0000000B)
#define MAPI_FORMINFO ((ULONG)0x0000000C)

/* ---- Common flags ---- */

#define MAPI_MODIFY ((ULONG)0x00000001)
#define MAPI_ACCESS_MODIFY ((ULONG)0x00000001)
#define MAPI_ACCESS_READ ((ULONG)0x00000002)
#define MAPI_DEFERRED_ERRORS ((ULONG)0x00000008)
#define MAPI_BEST_ACCESS ((ULONG)0x00000010)
#define MAPI_UNICODE ((ULONG)0x80000000)
#define TBL_NOWAIT ((ULONG)0x00000001)
#define TBL_BATCH ((ULONG)0x00000002)
#define TBL_ASYNC ((ULONG)0x00000001)
#define TBL_ALL_COLUMNS ((ULONG)0x00000001)
#define TBL_NOADVANCE ((ULONG)0x00000001)

/* ---- Property types ---- */

#define MV_FLAG 0x1000
#define MV_INSTANCE 0x2000
#define MVI_FLAG (MV_FLAG | MV_INSTANCE)

#define PT_UNSPECIFIED ((ULONG)0)
#define PT_NULL ((ULONG)1)
#define PT_I2 ((ULONG)2)
#define PT_LONG ((ULONG)3)
#define PT_R4 ((ULONG)4)
#define PT_DOUBLE ((ULONG)5)
#define PT_CURRENCY ((ULONG)6)
#define PT_APPTIME ((ULONG)7)
#define PT_ERROR ((ULONG)10)
#define PT_BOOLEAN ((ULONG)11)
#define PT_OBJECT ((ULONG)13)
#define PT_I8 ((ULONG)20)
#define PT_STRING8 ((ULONG)30)
#define PT_UNICODE ((ULONG)31)
#define PT_SYSTIME ((ULONG)64)
#define PT_CLSID ((ULONG)72)
#define PT_BINARY ((ULONG)258)

#define PT_SHORT PT_I2
#define PT_I4 PT_LONG
#define PT_FLOAT PT_R4
#define PT_R8 PT_DOUBLE
#define PT_LONGLONG PT_I8

#define PT_MV_I2 (MV_FLAG | PT_I2)
#define PT_MV_LONG (MV_FLAG | PT_LONG)
#define PT_MV_R4 (MV_FLAG | PT_R4)
#define PT_MV_DOUBLE (MV_FLAG | PT_DOUBLE)
#define PT_MV_CURRENCY (MV_FLAG | PT_CURRENCY)
#define PT_MV_APPTIME (MV_FLAG | PT_APPTIME)
#define PT_MV_SYSTIME (MV_FLAG | PT_SYSTIME)
#define PT_MV_STRING8 (MV_FLAG | PT_STRING8)
#define PT_MV_BINARY (MV_FLAG | PT_BINARY)
#define PT_MV_UNICODE (MV_FLAG | PT_UNICODE)
#define PT_MV_CLSID (MV_FLAG | PT_CLSID)
#define PT_MV_I8 (MV_FLAG | PT_I8)

#ifdef UNICODE
#define PT_TSTRING PT_UNICODE
#define PT_MV_TSTRING PT_MV_UNICODE
#else
#define PT_TSTRING PT_STRING8
#define PT_MV_TSTRING PT_MV_STRING8
#endif

#define PROP_TYPE_MASK ((ULONG)0x0000FFFF)
#define PROP_TYPE(ulPropTag) (((ULONG)(ulPropTag)) & PROP_TYPE_MASK)
#define PROP_ID(ulPropTag) (((ULONG)(ulPropTag)) >> 16)
#define PROP_TAG(ulPropType, ulPropID) ((((ULONG)(ulPropID)) << 16) | ((ULONG)(ulPropType)))
#define CHANGE_PROP_TYPE(ulPropTag, ulPropType) \
	(((ULONG)0xFFFF0000 & (ulPropTag)) | (ulPropType))
#define PROP_ID_NULL 0
#define PROP_ID_INVALID 0xFFFF
#define PR_NULL PROP_TAG(PT_NULL, PROP_ID_NULL)

/* ---- Property values ---- */

typedef struct _SBinary {
	ULONG cb;
	LPBYTE lpb;
} SBinary, *LPSBinary;

typedef struct _SShortArray {
	ULONG cValues;
	short *lpi;
} SShortArray;
typedef struct _SLongArray {
	ULONG cValues;
	LONG *lpl;
} SLongArray;
typedef struct _SRealArray {
	ULONG cValues;
	float *lpflt;
} SRealArray;
typedef struct _SDoubleArray {
	ULONG cValues;
	double *lpdbl;
} SDoubleArray;
typedef struct _SCurrencyArray {
	ULONG cValues;
	CURRENCY *lpcur;
} SCurrencyArray;
typedef struct _SAppTimeArray {
	ULONG cValues;
	double *lpat;
} SAppTimeArray;
typedef struct _SDateTimeArray {
	ULONG cValues;
	FILETIME *lpft;
} SDateTimeArray;
typedef struct _SBinaryArray {
	ULONG cValues;
	SBinary *lpbin;
} SBinaryArray;
typedef struct _SLPSTRArray {
	ULONG cValues;
	LPSTR *lppszA;
} SLPSTRArray;
typedef struct _SWStringArray {
	ULONG cValues;
	LPWSTR *lppszW;
} SWStringArray;
typedef struct _SGuidArray {
	ULONG cValues;
	GUID *lpguid;
} SGuidArray;
typedef struct _SLargeIntegerArray {
	ULONG cValues;
	LARGE_INTEGER *lpli;
} SLargeIntegerArray;

typedef union _PV {
	short int i;
	LONG l;
	ULONG ul;
	float flt;
	double dbl;
	unsigned short int b;
	CURRENCY cur;
	double at;
	FILETIME ft;
	LPSTR lpszA;
	SBinary bin;
	LPWSTR lpszW;
	LPGUID lpguid;
	LARGE_INTEGER li;
	SShortArray MVi;
	SLongArray MVl;
	SRealArray MVflt;
	SDoubleArray MVdbl;
	SCurrencyArray MVcur;
	SAppTimeArray MVat;
	SDateTimeArray MVft;
	SBinaryArray MVbin;
	SLPSTRArray MVszA;
	SWStringArray MVszW;
	SGuidArray MVguid;
	SLargeIntegerArray MVli;
	SCODE err;
	LONG x;
} __UPV;

typedef struct _SPropValue {
	ULONG ulPropTag;
	ULONG dwAlignPad;
	union _PV Value;
} SPropValue, *LPSPropValue;

typedef struct _SPropTagArray {
	ULONG cValues;
	ULONG aulPropTag[MAPI_DIM];
} SPropTagArray, *LPSPropTagArray;

#define CbNewSPropTagArray(_ctag) \
	(offsetof(SPropTagArray, aulPropTag) + (_ctag) * sizeof(ULONG))
#define CbSPropTagArray(_lparray) \
	(offsetof(SPropTagArray, aulPropTag) + (ULONG)((_lparray)->cValues) * sizeof(ULONG))
#define SizedSPropTagArray(_ctag, _name) \
	struct _SPropTagArray_##_name { \
		ULONG cValues; \
		ULONG aulPropTag[_ctag]; \
	} _name

/* ---- Rows ---- */

typedef struct _SRow {
	ULONG ulAdrEntryPad;
	ULONG cValues;
	LPSPropValue lpProps;
} SRow, *LPSRow;

typedef struct _SRowSet {
	ULONG cRows;
	SRow aRow[MAPI_DIM];
} SRowSet, *LPSRowSet;

#define CbNewSRowSet(_crow) (offsetof(SRowSet, aRow) + (_crow) * sizeof(SRow))
#define CbSRowSet(_lprowset) \
	(offsetof(SRowSet, aRow) + (ULONG)((_lprowset)->cRows) * sizeof(SRow))
#define SizedSRowSet(_crow, _name) \
	struct _SRowSet_##_name { \
		ULONG cRows; \
		SRow aRow[_crow]; \
	} _name

/* ---- Sorting ---- */

typedef struct _SSortOrder {
	ULONG ulPropTag;
	ULONG ulOrder;
} SSortOrder, *LPSSortOrder;

#define TABLE_SORT_ASCEND ((ULONG)0x00000000)
#define TABLE_SORT_DESCEND ((ULONG)0x00000001)
#define TABLE_SORT_COMBINE ((ULONG)0x00000002)

typedef struct _SSortOrderSet {
	ULONG cSorts;
	ULONG cCategories;
	ULONG cExpanded;
	SSortOrder aSort[MAPI_DIM];
} SSortOrderSet, *LPSSortOrderSet;

#define CbNewSSortOrderSet(_csort) \
	(offsetof(SSortOrderSet, aSort) + (_csort) * sizeof(SSortOrder))
#define CbSSortOrderSet(_lpset) \
	(offsetof(SSortOrderSet, aSort) + (ULONG)((_lpset)->cSorts) * sizeof(SSortOrder))
#define SizedSSortOrderSet(_csort, _name) \
	struct _SSortOrderSet_##_name { \
		ULONG cSorts; \
		ULONG cCategories; \
		ULONG cExpanded; \
		SSortOrder aSort[_csort]; \
	} _name

/* ---- Table positions (IMAPITable::SeekRow) ---- */

typedef ULONG BOOKMARK;
#define BOOKMARK_BEGINNING ((BOOKMARK)0)
#define BOOKMARK_CURRENT ((BOOKMARK)1)
#define BOOKMARK_END ((BOOKMARK)2)

/* ---- Restrictions ---- */

#define RES_AND ((ULONG)0x00000000)
#define RES_OR ((ULONG)0x00000001)
#define RES_NOT ((ULONG)0x00000002)
#define RES_CONTENT ((ULONG)0x00000003)
#define RES_PROPERTY ((ULONG)0x00000004)
#define RES_COMPAREPROPS ((ULONG)0x00000005)
#define RES_BITMASK ((ULONG)0x00000006)
#define RES_SIZE ((ULONG)0x00000007)
#define RES_EXIST ((ULONG)0x00000008)
#define RES_SUBRESTRICTION ((ULONG)0x00000009)
#define RES_COMMENT ((ULONG)0x0000000A)

#define RELOP_LT ((ULONG)0)
#define RELOP_LE ((ULONG)1)
#define RELOP_GT ((ULONG)2)
#define RELOP_GE ((ULONG)3)
#define RELOP_EQ ((ULONG)4)
#define RELOP_NE ((ULONG)5)
#define RELOP_RE ((ULONG)6)

#define BMR_EQZ ((ULONG)0)
#define BMR_NEZ ((ULONG)1)

/* SContentRestriction ulFuzzyLevel: low 16 bits one of the first three,
 * high 16 bits any of the others. */
#define FL_FULLSTRING ((ULONG)0x00000000)
#define FL_SUBSTRING ((ULONG)0x00000001)
#define FL_PREFIX ((ULONG)0x00000002)
#define FL_IGNORECASE ((ULONG)0x00010000)
#define FL_IGNORENONSPACE ((ULONG)0x00020000)
#define FL_LOOSE ((ULONG)0x00040000)

typedef struct _SRestriction *LPSRestriction;

typedef struct _SAndRestriction {
	ULONG cRes;
	LPSRestriction lpRes;
} SAndRestriction;

typedef struct _SOrRestriction {
	ULONG cRes;
	LPSRestriction lpRes;
} SOrRestriction;

typedef struct _SNotRestriction {
	ULONG ulReserved;
	LPSRestriction lpRes;
} SNotRestriction;

typedef struct _SContentRestriction {
	ULONG ulFuzzyLevel;
	ULONG ulPropTag;
	LPSPropValue lpProp;
} SContentRestriction;

typedef struct _SBitMaskRestriction {
	ULONG relBMR;
	ULONG ulPropTag;
	ULONG ulMask;
} SBitMaskRestriction;

typedef struct _SPropertyRestriction {
	ULONG relop;
	ULONG ulPropTag;
	LPSPropValue lpProp;
} SPropertyRestriction;

typedef struct _SComparePropsRestriction {
	ULONG relop;
	ULONG ulPropTag1;
	ULONG ulPropTag2;
} SComparePropsRestriction;

typedef struct _SSizeRestriction {
	ULONG relop;
	ULONG ulPropTag;
	ULONG cb;
} SSizeRestriction;

typedef struct _SExistRestriction {
	ULONG ulReserved1;
	ULONG ulPropTag;
	ULONG ulReserved2;
} SExistRestriction;

typedef struct _SSubRestriction {
	ULONG ulSubObject;
	LPSRestriction lpRes;
} SSubRestriction;

typedef struct _SCommentRestriction {
	ULONG cValues;
	LPSRestriction lpRes;
	LPSPropValue lpProp;
} SCommentRestriction;

typedef struct _SRestriction {
	ULONG rt;
	union {
		SComparePropsRestriction resCompareProps;
		SAndRestriction resAnd;
		SOrRestriction resOr;
		SNotRestriction resNot;
		SContentRestriction resContent;
		SPropertyRestriction resProperty;
		SBitMaskRestriction resBitMask;
		SSizeRestriction resSize;
		SExistRestriction resExist;
		SSubRestriction resSub;
		SCommentRestriction resComment;
	} res;
} SRestriction;

/* ---- Notifications ---- */

#define fnevCriticalError ((ULONG)0x00000001)
#define fnevNewMail ((ULONG)0x00000002)
#define fnevObjectCreated ((ULONG)0x00000004)
#define fnevObjectDeleted ((ULONG)0x00000008)
#define fnevObjectModified ((ULONG)0x00000010)
#define fnevObjectMoved ((ULONG)0x00000020)
#define fnevObjectCopied ((ULONG)0x00000040)
#define fnevSearchComplete ((ULONG)0x00000080)
#define fnevTableModified ((ULONG)0x00000100)
#define fnevStatusObjectModified ((ULONG)0x00000200)
#define fnevReservedForMapi ((ULONG)0x40000000)
#define fnevExtended ((ULONG)0x80000000)

#define TABLE_CHANGED 1
#define TABLE_ERROR 2
#define TABLE_ROW_ADDED 3
#define TABLE_ROW_DELETED 4
#define TABLE_ROW_MODIFIED 5
#define TABLE_SORT_DONE 6
#define TABLE_RESTRICT_DONE 7
#define TABLE_SETCOL_DONE 8
#define TABLE_RELOAD 9

typedef struct _MAPIERROR {
	ULONG ulVersion;
	LPTSTR lpszError;
	LPTSTR lpszComponent;
	ULONG ulLowLevelError;
	ULONG ulContext;
} MAPIERROR, *LPMAPIERROR;

typedef struct _ERROR_NOTIFICATION {
	ULONG cbEntryID;
	LPENTRYID lpEntryID;
	SCODE scode;
	ULONG ulFlags;
	LPMAPIERROR lpMAPIError;
} ERROR_NOTIFICATION;

typedef struct _NEWMAIL_NOTIFICATION {
	ULONG cbEntryID;
	LPENTRYID lpEntryID;
	ULONG cbParentID;
	LPENTRYID lpParentID;
	ULONG ulFlags;
	LPTSTR lpszMessageClass;
	ULONG ulMessageFlags;
} NEWMAIL_NOTIFICATION;

typedef struct _OBJECT_NOTIFICATION {
	ULONG cbEntryID;
	LPENTRYID lpEntryID;
	ULONG ulObjType;
	ULONG cbParentID;
	LPENTRYID lpParentID;
	ULONG cbOldID;
	LPENTRYID lpOldID;
	ULONG cbOldParentID;
	LPENTRYID lpOldParentID;
	LPSPropTagArray lpPropTagArray;
} OBJECT_NOTIFICATION;

typedef struct _TABLE_NOTIFICATION {
	ULONG ulTableEvent;
	HRESULT hResult;
	SPropValue propIndex;
	SPropValue propPrior;
	SRow row;
	ULONG ulPad;
} TABLE_NOTIFICATION;

typedef struct _EXTENDED_NOTIFICATION {
	ULONG ulEvent;
	ULONG cb;
	LPBYTE pbEventParameters;
} EXTENDED_NOTIFICATION;

typedef struct _STATUS_OBJECT_NOTIFICATION {
	ULONG cbEntryID;
	LPENTRYID lpEntryID;
	ULONG cValues;
	LPSPropValue lpPropVals;
} STATUS_OBJECT_NOTIFICATION;

typedef struct _NOTIFICATION {
	ULONG ulEventType;
	ULONG ulAlignPad;
	union {
		ERROR_NOTIFICATION err;
		NEWMAIL_NOTIFICATION newmail;
		OBJECT_NOTIFICATION obj;
		TABLE_NOTIFICATION tab;
		EXTENDED_NOTIFICATION ext;
		STATUS_OBJECT_NOTIFICATION statobj;
	} info;
} NOTIFICATION, *LPNOTIFICATION;

typedef LONG(NOTIFCALLBACK)(LPVOID lpvContext, ULONG cNotification,
			    LPNOTIFICATION lpNotifications);
typedef NOTIFCALLBACK *LPNOTIFCALLBACK;

/* ---- Status objects ---- */

/* PR_RESOURCE_TYPE */
#define MAPI_STORE_PROVIDER ((ULONG)33)
#define MAPI_AB ((ULONG)34)
#define MAPI_AB_PROVIDER ((ULONG)35)
#define MAPI_TRANSPORT_PROVIDER ((ULONG)36)
#define MAPI_SPOOLER ((ULONG)37)
#define MAPI_PROFILE_PROVIDER ((ULONG)38)
#define MAPI_SUBSYSTEM ((ULONG)39)
#define MAPI_HOOK_PROVIDER ((ULONG)40)

/* PR_RESOURCE_METHODS */
#define STATUS_VALIDATE_STATE ((ULONG)0x00000001)
#define STATUS_SETTINGS_DIALOG ((ULONG)0x00000002)
#define STATUS_CHANGE_PASSWORD ((ULONG)0x00000004)
#define STATUS_FLUSH_QUEUES ((ULONG)0x00000008)

/* PR_RESOURCE_FLAGS */
#define STATUS_DEFAULT_OUTBOUND ((ULONG)0x00000001)
#define STATUS_DEFAULT_STORE ((ULONG)0x00000002)
#define STATUS_PRIMARY_IDENTITY ((ULONG)0x00000004)
#define STATUS_SIMPLE_STORE ((ULONG)0x00000008)
#define STATUS_XP_PREFER_LAST ((ULONG)0x00000010)
#define STATUS_NO_PRIMARY_IDENTITY ((ULONG)0x00000020)
#define STATUS_NO_DEFAULT_STORE ((ULONG)0x00000040)
#define STATUS_TEMP_SECTION ((ULONG)0x00000080)
#define STATUS_OWN_STORE ((ULONG)0x00000100)
#define HOOK_INBOUND ((ULONG)0x00000200)
#define HOOK_OUTBOUND ((ULONG)0x00000400)
#define STATUS_NEED_IPM_TREE ((ULONG)0x00000800)
#define STATUS_PRIMARY_STORE ((ULONG)0x00001000)
#define STATUS_SECONDARY_STORE ((ULONG)0x00002000)

/* PR_STATUS_CODE: low 16 bits for every object, high 16 for transports */
#define STATUS_AVAILABLE ((ULONG)0x00000001)
#define STATUS_OFFLINE ((ULONG)0x00000002)
#define STATUS_FAILURE ((ULONG)0x00000004)
#define STATUS_INBOUND_ENABLED ((ULONG)0x00010000)
#define STATUS_INBOUND_ACTIVE ((ULONG)0x00020000)
#define STATUS_INBOUND_FLUSH ((ULONG)0x00040000)
#define STATUS_OUTBOUND_ENABLED ((ULONG)0x00100000)
#define STATUS_OUTBOUND_ACTIVE ((ULONG)0x00200000)
#define STATUS_OUTBOUND_FLUSH ((ULONG)0x00400000)
#define STATUS_REMOTE_ACCESS ((ULONG)0x00800000)

/* IMAPIStatus::ValidateState */
#define SUPPRESS_UI ((ULONG)0x00000001)
#define REFRESH_XP_HEADER_CACHE ((ULONG)0x00010000)
#define PROCESS_XP_HEADER_CACHE ((ULONG)0x00020000)
#define FORCE_XP_CONNECT ((ULONG)0x00040000)
#define FORCE_XP_DISCONNECT ((ULONG)0x00080000)
#define CONFIG_CHANGED ((ULONG)0x00100000)
#define ABORT_XP_HEADER_OPERATION ((ULONG)0x00200000)
#define SHOW_XP_SESSION_UI ((ULONG)0x00400000)

/* IMAPIStatus::SettingsDialog */
#define UI_READONLY ((ULONG)0x00000001)

/* IMAPIStatus::FlushQueues.  FLUSH_UPLOAD empties the outbound queues
 * (send), FLUSH_DOWNLOAD the inbound ones (receive). */
#define FLUSH_UPLOAD ((ULONG)0x00000002)
#define FLUSH_DOWNLOAD ((ULONG)0x00000004)
#define FLUSH_FORCE ((ULONG)0x00000008)
#define FLUSH_NO_UI ((ULONG)0x00000010)
#define FLUSH_ASYNC_OK ((ULONG)0x00000020)

/* Message status bits related to remote transports */
#define MSGSTATUS_REMOTE_DOWNLOAD ((ULONG)0x00001000)
#define MSGSTATUS_REMOTE_DELETE ((ULONG)0x00002000)

#ifdef __cplusplus
}
#endif

#endif /* MAPISPOOL_MAPIDEFS_H */
