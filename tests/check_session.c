/*
 * check_session.c — libmapispool against a real mapispoold: the seed's two
 * procedures written as a MAPI programmer writes them, then the status
 * table, status objects, errors and object lifetimes one by one.
 *
 * Every test of the "daemon" cases gets a daemon of its own (the default
 * test profile: transports "local", a maildir, and "fax", a pipe) and, in
 * MAPISPOOL_SOCKET, its socket, so MAPILogonEx finds it as it finds a
 * system daemon.
 */
#include <config.h>

#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include <mapispool/mapispool.h>

#include "harness.h"

#define ROWS_IN_TABLE 5	/* subsystem, spooler, store, "local", "fax" */
#define EID_HEADER_LEN 22	/* flags 4, provider UID 16, version 1, kind 1 */

static struct daemon_handle d;

static void
daemon_setup(void)
{
	ck_assert_int_eq(harness_start(&d, NULL), 0);
	ck_assert_int_eq(setenv("MAPISPOOL_SOCKET", d.socket, 1), 0);
}

static void
daemon_teardown(void)
{
	ck_assert_int_eq(harness_stop(&d), 0);
}

/* A logged-on session, as every test below but the seed's starts. */
static LPMAPISESSION
logon(void)
{
	LPMAPISESSION session = NULL;

	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(MAPILogonEx(0, NULL, NULL, MAPI_EXTENDED | MAPI_NO_MAIL, &session),
			 S_OK);
	ck_assert_ptr_nonnull(session);
	ck_assert_str_eq(mapispool_last_error(), "");
	return session;
}

static void
logoff(LPMAPISESSION session)
{
	ck_assert_int_eq(IMAPISession_Logoff(session, 0, 0, 0), S_OK);
	ck_assert_int_eq(IMAPISession_Release(session), 0);
	MAPIUninitialize();
}

/* All rows of the status table with these columns (and restriction). */
static LPSRowSet
query(LPMAPISESSION session, LPSPropTagArray cols, LPSRestriction res)
{
	LPMAPITABLE table = NULL;
	LPSRowSet rows = NULL;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrQueryAllRows(table, cols, res, NULL, 0, &rows), S_OK);
	ck_assert_int_eq(IMAPITable_Release(table), 0);
	return rows;
}

/* The entry ID of the first row of that resource type, in a malloc'd copy. */
static SBinary
entryid_of(LPMAPISESSION session, ULONG type)
{
	SizedSPropTagArray(1, cols) = { 1, { PR_ENTRYID } };
	SPropValue spv = { .ulPropTag = PR_RESOURCE_TYPE, .Value.l = (LONG)type };
	SRestriction sres = { .rt = RES_PROPERTY,
			      .res.resProperty = { RELOP_EQ, PR_RESOURCE_TYPE, &spv } };
	LPSRowSet rows = query(session, (LPSPropTagArray)&cols, &sres);
	SBinary eid;

	ck_assert_uint_ge(rows->cRows, 1);
	ck_assert_uint_eq(rows->aRow[0].lpProps[0].ulPropTag, PR_ENTRYID);
	eid.cb = rows->aRow[0].lpProps[0].Value.bin.cb;
	eid.lpb = malloc(eid.cb);
	ck_assert_ptr_nonnull(eid.lpb);
	memcpy(eid.lpb, rows->aRow[0].lpProps[0].Value.bin.lpb, eid.cb);
	FreeProws(rows);
	return eid;
}

static LPMAPISTATUS
open_status(LPMAPISESSION session, const SBinary *eid)
{
	LPMAPISTATUS status = NULL;
	ULONG type = 0;

	ck_assert_int_eq(IMAPISession_OpenEntry(session, eid->cb, (LPENTRYID)eid->lpb,
						&IID_IMAPIStatus, 0, &type,
						(LPUNKNOWN *)&status),
			 S_OK);
	ck_assert_uint_eq(type, MAPI_STATUS);
	return status;
}

/* ---- The seed's procedures, steps 1 to 5 (FlushQueues comes later) ---- */

START_TEST(seed_flush_all)
{
	LPMAPISESSION lpSession = NULL;
	LPMAPITABLE lpTable = NULL;
	LPSRowSet lpRows = NULL;
	LPMAPISTATUS lpSpoolerStatus = NULL;
	ULONG ulObjType = 0, cValues = 0;
	LPSPropValue lpProps = NULL;
	SizedSPropTagArray(2, sptCols) = { 2, { PR_ENTRYID, PR_RESOURCE_TYPE } };
	SizedSPropTagArray(2, sptProps) = { 2, { PR_RESOURCE_METHODS, PR_DISPLAY_NAME } };
	SPropValue spv;
	SRestriction sres;
	HRESULT hr;

	hr = MAPIInitialize(NULL);
	ck_assert_int_eq(hr, S_OK);
	hr = MAPILogonEx(0, NULL, NULL, MAPI_EXTENDED | MAPI_NEW_SESSION | MAPI_NO_MAIL,
			 &lpSession);
	ck_assert_int_eq(hr, S_OK);

	/* 1. The status table. */
	hr = IMAPISession_GetStatusTable(lpSession, 0, &lpTable);
	ck_assert_int_eq(hr, S_OK);
	/* 2. Its columns: PR_ENTRYID and PR_RESOURCE_TYPE. */
	hr = IMAPITable_SetColumns(lpTable, (LPSPropTagArray)&sptCols, 0);
	ck_assert_int_eq(hr, S_OK);
	/* 3. PR_RESOURCE_TYPE == MAPI_SPOOLER. */
	spv.ulPropTag = PR_RESOURCE_TYPE;
	spv.Value.l = MAPI_SPOOLER;
	sres.rt = RES_PROPERTY;
	sres.res.resProperty.relop = RELOP_EQ;
	sres.res.resProperty.ulPropTag = PR_RESOURCE_TYPE;
	sres.res.resProperty.lpProp = &spv;
	/* 4. The spooler's row. */
	hr = HrQueryAllRows(lpTable, NULL, &sres, NULL, 0, &lpRows);
	ck_assert_int_eq(hr, S_OK);
	ck_assert_uint_eq(lpRows->cRows, 1);
	ck_assert_uint_eq(lpRows->aRow[0].cValues, 2);
	ck_assert_uint_eq(lpRows->aRow[0].lpProps[0].ulPropTag, PR_ENTRYID);
	ck_assert_uint_eq(lpRows->aRow[0].lpProps[1].ulPropTag, PR_RESOURCE_TYPE);
	ck_assert_int_eq(lpRows->aRow[0].lpProps[1].Value.l, MAPI_SPOOLER);
	ck_assert_uint_gt(lpRows->aRow[0].lpProps[0].Value.bin.cb, EID_HEADER_LEN);
	/* 5. Open the spooler's status object with its entry ID. */
	hr = IMAPISession_OpenEntry(lpSession, lpRows->aRow[0].lpProps[0].Value.bin.cb,
				    (LPENTRYID)lpRows->aRow[0].lpProps[0].Value.bin.lpb, NULL,
				    MAPI_BEST_ACCESS, &ulObjType, (LPUNKNOWN *)&lpSpoolerStatus);
	ck_assert_int_eq(hr, S_OK);
	ck_assert_uint_eq(ulObjType, MAPI_STATUS);
	/* It can flush queues: the seed's first procedure applies. */
	hr = IMAPIStatus_GetProps(lpSpoolerStatus, (LPSPropTagArray)&sptProps, 0, &cValues,
				  &lpProps);
	ck_assert_int_eq(hr, S_OK);
	ck_assert_uint_eq(cValues, 2);
	ck_assert_uint_eq(lpProps[0].ulPropTag, PR_RESOURCE_METHODS);
	ck_assert_uint_eq(lpProps[0].Value.ul, STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES);
	ck_assert_uint_eq(lpProps[1].ulPropTag, PR_DISPLAY_NAME);
	ck_assert_str_eq(lpProps[1].Value.lpszA, "MAPI Spooler");

	/* 7. Release everything. */
	MAPIFreeBuffer(lpProps);
	ck_assert_uint_eq(IMAPIStatus_Release(lpSpoolerStatus), 0);
	FreeProws(lpRows);
	ck_assert_uint_eq(IMAPITable_Release(lpTable), 0);
	ck_assert_int_eq(IMAPISession_Logoff(lpSession, 0, 0, 0), S_OK);
	ck_assert_uint_eq(IMAPISession_Release(lpSession), 0);
	MAPIUninitialize();
}
END_TEST

START_TEST(seed_flush_each_transport)
{
	static const char *const names[] = { "local", "fax" };
	static const BOOL own_flush[] = { TRUE, FALSE };
	LPMAPISESSION lpSession = NULL;
	LPMAPITABLE lpTable = NULL;
	LPSRowSet lpRows = NULL;
	SizedSPropTagArray(2, sptCols) = { 2, { PR_ENTRYID, PR_RESOURCE_TYPE } };
	SizedSPropTagArray(2, sptProps) = { 2, { PR_RESOURCE_METHODS, PR_DISPLAY_NAME } };
	SPropValue spv;
	SRestriction sres;
	HRESULT hr;
	ULONG i;

	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	hr = MAPILogonEx(0, NULL, NULL, MAPI_EXTENDED | MAPI_NO_MAIL, &lpSession);
	ck_assert_int_eq(hr, S_OK);

	/* 1-4. The transports' rows. */
	ck_assert_int_eq(IMAPISession_GetStatusTable(lpSession, 0, &lpTable), S_OK);
	ck_assert_int_eq(IMAPITable_SetColumns(lpTable, (LPSPropTagArray)&sptCols, 0), S_OK);
	spv.ulPropTag = PR_RESOURCE_TYPE;
	spv.Value.l = MAPI_TRANSPORT_PROVIDER;
	sres.rt = RES_PROPERTY;
	sres.res.resProperty.relop = RELOP_EQ;
	sres.res.resProperty.ulPropTag = PR_RESOURCE_TYPE;
	sres.res.resProperty.lpProp = &spv;
	hr = HrQueryAllRows(lpTable, (LPSPropTagArray)&sptCols, &sres, NULL, 0, &lpRows);
	ck_assert_int_eq(hr, S_OK);
	ck_assert_uint_eq(lpRows->cRows, 2);

	/* 5. For each: open its status object and see whether it flushes
	 * its own queues (the maildir does; the pipe goes through the
	 * spooler's FlushQueues with lpTargetTransport). */
	for (i = 0; i < lpRows->cRows; i++) {
		LPSPropValue lpEID = PpropFindProp(lpRows->aRow[i].lpProps,
						   lpRows->aRow[i].cValues, PR_ENTRYID);
		LPSPropValue lpType = PpropFindProp(lpRows->aRow[i].lpProps,
						    lpRows->aRow[i].cValues, PR_RESOURCE_TYPE);
		LPMAPISTATUS lpStatus = NULL;
		LPSPropValue lpProps = NULL;
		ULONG ulObjType = 0, cValues = 0;

		ck_assert_ptr_nonnull(lpEID);
		ck_assert_ptr_nonnull(lpType);
		ck_assert_int_eq(lpType->Value.l, MAPI_TRANSPORT_PROVIDER);
		hr = IMAPISession_OpenEntry(lpSession, lpEID->Value.bin.cb,
					    (LPENTRYID)lpEID->Value.bin.lpb, &IID_IMAPIStatus,
					    MAPI_BEST_ACCESS, &ulObjType, (LPUNKNOWN *)&lpStatus);
		ck_assert_int_eq(hr, S_OK);
		ck_assert_uint_eq(ulObjType, MAPI_STATUS);
		hr = IMAPIStatus_GetProps(lpStatus, (LPSPropTagArray)&sptProps, 0, &cValues,
					  &lpProps);
		ck_assert_int_eq(hr, S_OK);
		ck_assert_uint_eq(cValues, 2);
		ck_assert_str_eq(lpProps[1].Value.lpszA, names[i]);
		ck_assert_int_eq(!!(lpProps[0].Value.ul & STATUS_FLUSH_QUEUES), own_flush[i]);
		ck_assert(lpProps[0].Value.ul & STATUS_VALIDATE_STATE);
		ck_assert(!(lpProps[0].Value.ul & STATUS_SETTINGS_DIALOG));
		MAPIFreeBuffer(lpProps);
		ck_assert_uint_eq(IMAPIStatus_Release(lpStatus), 0);
	}

	FreeProws(lpRows);
	ck_assert_uint_eq(IMAPITable_Release(lpTable), 0);
	ck_assert_int_eq(IMAPISession_Logoff(lpSession, 0, 0, 0), S_OK);
	ck_assert_uint_eq(IMAPISession_Release(lpSession), 0);
	MAPIUninitialize();
}
END_TEST

/* ---- Logon ---- */

START_TEST(logon_profiles)
{
	LPMAPISESSION session = (LPMAPISESSION)1;
	HRESULT hr;

	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	hr = MAPILogonEx(0, "no-such-profile", NULL, MAPI_EXPLICIT_PROFILE, &session);
	ck_assert_int_eq(hr, MAPI_E_LOGON_FAILED);
	ck_assert_ptr_null(session);
	ck_assert_str_ne(mapispool_last_error(), "");

	/* The profile of the test configuration, by name, narrow and wide. */
	ck_assert_int_eq(MAPILogonEx(0, "test", NULL, MAPI_EXPLICIT_PROFILE, &session), S_OK);
	ck_assert_uint_eq(IMAPISession_Release(session), 0);
	hr = MAPILogonEx(0, (LPSTR)L"test", NULL, MAPI_EXPLICIT_PROFILE | MAPI_UNICODE,
			 &session);
	ck_assert_int_eq(hr, S_OK);
	ck_assert_uint_eq(IMAPISession_Release(session), 0);
	hr = MAPILogonEx(0, (LPSTR)L"t\u00e9st", NULL, MAPI_UNICODE, &session);
	ck_assert_int_eq(hr, MAPI_E_LOGON_FAILED);
	/* An empty name is the default profile. */
	ck_assert_int_eq(MAPILogonEx(0, "", NULL, 0, &session), S_OK);
	ck_assert_uint_eq(IMAPISession_Release(session), 0);

	hr = MAPILogonEx(0, NULL, NULL, 0x00000004, &session);
	ck_assert_int_eq(hr, MAPI_E_UNKNOWN_FLAGS);
	ck_assert_ptr_null(session);
	MAPIUninitialize();
}
END_TEST

/* ---- The status table ---- */

static void
assert_row_name(LPSRowSet rows, ULONG i, const char *name)
{
	LPSPropValue pv = PpropFindProp(rows->aRow[i].lpProps, rows->aRow[i].cValues,
					PROP_TAG(PT_UNSPECIFIED, PROP_ID(PR_DISPLAY_NAME_A)));

	ck_assert_ptr_nonnull(pv);
	ck_assert_uint_eq(pv->ulPropTag, PR_DISPLAY_NAME_A);
	ck_assert_str_eq(pv->Value.lpszA, name);
}

/* Read n rows and check they are the named ones. */
static void
assert_query_rows(LPMAPITABLE table, LONG n, ULONG flags, const char *const *names,
		  ULONG expect)
{
	LPSRowSet rows = NULL;
	ULONG i;

	ck_assert_int_eq(IMAPITable_QueryRows(table, n, flags, &rows), S_OK);
	ck_assert_uint_eq(rows->cRows, expect);
	for (i = 0; i < expect; i++)
		assert_row_name(rows, i, names[i]);
	FreeProws(rows);
}

START_TEST(table_paging)
{
	static const char *const all[ROWS_IN_TABLE] = {
		"MAPI Subsystem", "MAPI Spooler", "Default store", "local", "fax",
	};
	SizedSPropTagArray(2, cols) = { 2, { PR_DISPLAY_NAME_A, PR_RESOURCE_TYPE } };
	LPMAPISESSION session = logon();
	LPMAPITABLE table = NULL;
	ULONG count = 0;
	LONG sought = 99;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(IMAPITable_SetColumns(table, (LPSPropTagArray)&cols, 0), S_OK);
	ck_assert_int_eq(IMAPITable_GetRowCount(table, 0, &count), S_OK);
	ck_assert_uint_eq(count, ROWS_IN_TABLE);

	/* Forward in pages of two: fewer rows at the end, then none. */
	assert_query_rows(table, 2, 0, all, 2);
	assert_query_rows(table, 2, 0, all + 2, 2);
	assert_query_rows(table, 2, 0, all + 4, 1);
	assert_query_rows(table, 2, 0, all, 0);

	ck_assert_int_eq(IMAPITable_SeekRow(table, BOOKMARK_BEGINNING, 3, &sought), S_OK);
	ck_assert_int_eq(sought, 3);
	assert_query_rows(table, 1, 0, all + 3, 1);
	ck_assert_int_eq(IMAPITable_SeekRow(table, BOOKMARK_CURRENT, -2, &sought), S_OK);
	ck_assert_int_eq(sought, -2);
	assert_query_rows(table, 1, TBL_NOADVANCE, all + 2, 1);
	assert_query_rows(table, 1, TBL_NOADVANCE, all + 2, 1);
	ck_assert_int_eq(IMAPITable_SeekRow(table, BOOKMARK_END, -1, &sought), S_OK);
	ck_assert_int_eq(sought, -1);
	assert_query_rows(table, 10, 0, all + 4, 1);

	/* Seeking past either end stops there. */
	ck_assert_int_eq(IMAPITable_SeekRow(table, BOOKMARK_CURRENT, -100, &sought), S_OK);
	ck_assert_int_eq(sought, -ROWS_IN_TABLE);
	ck_assert_int_eq(IMAPITable_SeekRow(table, BOOKMARK_BEGINNING, 100, NULL), S_OK);
	assert_query_rows(table, 1, 0, all, 0);
	ck_assert_int_eq(IMAPITable_SeekRow(table, BOOKMARK_BEGINNING, 0, NULL), S_OK);
	assert_query_rows(table, ROWS_IN_TABLE, 0, all, ROWS_IN_TABLE);

	ck_assert_int_eq(IMAPITable_SeekRow(table, 7, 0, NULL), MAPI_E_INVALID_BOOKMARK);
	ck_assert_int_eq(IMAPITable_QueryRows(table, 0, 0, &(LPSRowSet){ NULL }),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPITable_QueryRows(table, 1, 0x100, &(LPSRowSet){ NULL }),
			 MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPITable_SetColumns(table, NULL, 0), MAPI_E_INVALID_PARAMETER);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	logoff(session);
}
END_TEST

START_TEST(table_too_big)
{
	SizedSPropTagArray(1, cols) = { 1, { PR_DISPLAY_NAME_A } };
	LPMAPISESSION session = logon();
	LPMAPITABLE table = NULL;
	LPSRowSet rows = (LPSRowSet)1;
	LPMAPIERROR err = NULL;
	char text[1024];

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, NULL, NULL,
					ROWS_IN_TABLE - 1, &rows),
			 MAPI_E_TABLE_TOO_BIG);
	ck_assert_ptr_null(rows);
	ck_assert_ptr_nonnull(strstr(mapispool_last_error(), "5 rows"));
	snprintf(text, sizeof text, "%s", mapispool_last_error());
	ck_assert_int_eq(IMAPITable_GetLastError(table, MAPI_E_TABLE_TOO_BIG, 0, &err), S_OK);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err->lpszError, text);
	ck_assert_str_eq(mapispool_last_error(), "");
	MAPIFreeBuffer(err);

	/* Exactly enough, and no limit. */
	ck_assert_int_eq(HrQueryAllRows(table, NULL, NULL, NULL, ROWS_IN_TABLE, &rows), S_OK);
	ck_assert_uint_eq(rows->cRows, ROWS_IN_TABLE);
	FreeProws(rows);
	ck_assert_int_eq(HrQueryAllRows(table, NULL, NULL, NULL, 0, &rows), S_OK);
	ck_assert_uint_eq(rows->cRows, ROWS_IN_TABLE);
	FreeProws(rows);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	logoff(session);
}
END_TEST

/* Rows matching res, by display name. */
static void
assert_restricted(LPMAPITABLE table, LPSRestriction res, const char *const *names, ULONG n)
{
	SizedSPropTagArray(1, cols) = { 1, { PR_DISPLAY_NAME_A } };
	LPSRowSet rows = NULL;
	ULONG i;

	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, res, NULL, 0, &rows),
			 S_OK);
	ck_assert_uint_eq(rows->cRows, n);
	for (i = 0; i < n; i++)
		assert_row_name(rows, i, names[i]);
	FreeProws(rows);
}

START_TEST(table_restrictions)
{
	static const char *const own_flush[] = { "local" };
	static const char *const spooler_subsystem[] = { "MAPI Subsystem", "MAPI Spooler" };
	static const char *const not_transports[] = {
		"MAPI Subsystem", "MAPI Spooler", "Default store",
	};
	static const char *const all[] = {
		"MAPI Subsystem", "MAPI Spooler", "Default store", "local", "fax",
	};
	SPropValue transport = { .ulPropTag = PR_RESOURCE_TYPE, .Value.l = MAPI_TRANSPORT_PROVIDER };
	SPropValue spooler = { .ulPropTag = PR_RESOURCE_TYPE, .Value.l = MAPI_SPOOLER };
	SPropValue subsystem = { .ulPropTag = PR_RESOURCE_TYPE, .Value.l = MAPI_SUBSYSTEM };
	SRestriction both[2], either[2], not, and, or, sub;
	LPMAPISESSION session = logon();
	LPMAPITABLE table = NULL;
	ULONG count = 0;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);

	/* Transports that flush their own queues. */
	both[0].rt = RES_PROPERTY;
	both[0].res.resProperty.relop = RELOP_EQ;
	both[0].res.resProperty.ulPropTag = PR_RESOURCE_TYPE;
	both[0].res.resProperty.lpProp = &transport;
	both[1].rt = RES_BITMASK;
	both[1].res.resBitMask.relBMR = BMR_NEZ;
	both[1].res.resBitMask.ulPropTag = PR_RESOURCE_METHODS;
	both[1].res.resBitMask.ulMask = STATUS_FLUSH_QUEUES;
	and.rt = RES_AND;
	and.res.resAnd.cRes = 2;
	and.res.resAnd.lpRes = both;
	assert_restricted(table, &and, own_flush, 1);

	either[0] = both[0];
	either[0].res.resProperty.lpProp = &spooler;
	either[1] = both[0];
	either[1].res.resProperty.lpProp = &subsystem;
	or.rt = RES_OR;
	or.res.resOr.cRes = 2;
	or.res.resOr.lpRes = either;
	assert_restricted(table, &or, spooler_subsystem, 2);

	not.rt = RES_NOT;
	not.res.resNot.lpRes = &both[0];
	assert_restricted(table, &not, not_transports, 3);

	/* The restriction was copied: changing ours changes nothing. */
	transport.Value.l = MAPI_SPOOLER;
	ck_assert_int_eq(IMAPITable_GetRowCount(table, 0, &count), S_OK);
	ck_assert_uint_eq(count, 3);

	/* What the table cannot evaluate fails at Restrict, and the old
	 * restriction stays. */
	sub.rt = RES_SUBRESTRICTION;
	sub.res.resSub.ulSubObject = PR_ENTRYID;
	sub.res.resSub.lpRes = &both[1];
	ck_assert_int_eq(IMAPITable_Restrict(table, &sub, 0), MAPI_E_TOO_COMPLEX);
	ck_assert_str_ne(mapispool_last_error(), "");
	ck_assert_int_eq(IMAPITable_GetRowCount(table, 0, &count), S_OK);
	ck_assert_uint_eq(count, 3);

	/* NULL clears it. */
	ck_assert_int_eq(IMAPITable_Restrict(table, NULL, 0), S_OK);
	assert_restricted(table, NULL, all, ROWS_IN_TABLE);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	logoff(session);
}
END_TEST

START_TEST(table_sort)
{
	static const char *const by_name[] = {
		"Default store", "MAPI Spooler", "MAPI Subsystem", "fax", "local",
	};
	SizedSSortOrderSet(1, sort) = { 1, 0, 0, { { PR_DISPLAY_NAME_A, TABLE_SORT_ASCEND } } };
	SizedSSortOrderSet(1, categories) = { 1, 1, 1, { { PR_DISPLAY_NAME_A, TABLE_SORT_ASCEND } } };
	SizedSPropTagArray(1, cols) = { 1, { PR_DISPLAY_NAME_A } };
	LPMAPISESSION session = logon();
	LPMAPITABLE table = NULL;
	LPSRowSet rows = NULL;
	ULONG i;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, NULL,
					(LPSSortOrderSet)&sort, 0, &rows),
			 S_OK);
	ck_assert_uint_eq(rows->cRows, ROWS_IN_TABLE);
	for (i = 0; i < ROWS_IN_TABLE; i++)
		assert_row_name(rows, i, by_name[i]);
	FreeProws(rows);
	ck_assert_int_eq(IMAPITable_SortTable(table, (LPSSortOrderSet)&categories, 0),
			 MAPI_E_TOO_COMPLEX);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	logoff(session);
}
END_TEST

START_TEST(table_default_columns)
{
	LPMAPISESSION session = logon();
	LPMAPITABLE table = NULL;
	LPSPropTagArray cols = NULL;
	LPSRowSet rows = NULL;
	LPSPropValue pv;
	ULONG i;
	bool entryid = false, name = false;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(IMAPITable_QueryColumns(table, 0, &cols), S_OK);
	ck_assert_uint_ge(cols->cValues, 10);
	for (i = 0; i < cols->cValues; i++) {
		entryid |= cols->aulPropTag[i] == PR_ENTRYID;
		name |= cols->aulPropTag[i] == PR_DISPLAY_NAME_A;
	}
	ck_assert(entryid && name);

	ck_assert_int_eq(IMAPITable_QueryRows(table, 2, 0, &rows), S_OK);
	ck_assert_uint_eq(rows->cRows, 2);
	ck_assert_uint_eq(rows->aRow[1].cValues, cols->cValues);
	pv = PpropFindProp(rows->aRow[1].lpProps, rows->aRow[1].cValues, PR_RESOURCE_TYPE);
	ck_assert_ptr_nonnull(pv);
	ck_assert_int_eq(pv->Value.l, MAPI_SPOOLER);
	pv = PpropFindProp(rows->aRow[1].lpProps, rows->aRow[1].cValues, PR_OBJECT_TYPE);
	ck_assert_ptr_nonnull(pv);
	ck_assert_int_eq(pv->Value.l, MAPI_STATUS);
	FreeProws(rows);
	MAPIFreeBuffer(cols);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	logoff(session);
}
END_TEST

START_TEST(table_unicode)
{
	static const wchar_t *const names[] = { L"MAPI Subsystem", L"MAPI Spooler" };
	SizedSPropTagArray(2, cols) = { 2, { PR_DISPLAY_NAME_W, PR_PROVIDER_DLL_NAME_W } };
	LPMAPISESSION session = logon();
	LPMAPITABLE table = NULL;
	LPSPropTagArray all = NULL;
	LPSRowSet rows = NULL;
	bool wide_name = false;
	ULONG i;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, MAPI_UNICODE, &table), S_OK);
	/* A Unicode table's default string columns are wide. */
	ck_assert_int_eq(IMAPITable_QueryColumns(table, 0, &all), S_OK);
	for (i = 0; i < all->cValues; i++) {
		ck_assert_uint_ne(PROP_TYPE(all->aulPropTag[i]), PT_STRING8);
		wide_name |= all->aulPropTag[i] == PR_DISPLAY_NAME_W;
	}
	ck_assert(wide_name);
	MAPIFreeBuffer(all);

	ck_assert_int_eq(IMAPITable_SetColumns(table, (LPSPropTagArray)&cols, 0), S_OK);
	ck_assert_int_eq(IMAPITable_QueryRows(table, 2, 0, &rows), S_OK);
	ck_assert_uint_eq(rows->cRows, 2);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(rows->aRow[i].lpProps[0].ulPropTag, PR_DISPLAY_NAME_W);
		ck_assert(wcscmp(rows->aRow[i].lpProps[0].Value.lpszW, names[i]) == 0);
		ck_assert(wcscmp(rows->aRow[i].lpProps[1].Value.lpszW, L"mapispoold") == 0);
	}
	FreeProws(rows);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0x1, &table), MAPI_E_UNKNOWN_FLAGS);
	logoff(session);
}
END_TEST

/* ---- Status objects ---- */

START_TEST(status_all_props)
{
	LPMAPISESSION session = logon();
	SBinary eid = entryid_of(session, MAPI_SPOOLER);
	LPMAPISTATUS status = open_status(session, &eid);
	LPSPropValue props = NULL, pv;
	ULONG n = 0;

	/* All of them: every property the spooler has, and only those (it
	 * keeps no identity). */
	ck_assert_int_eq(IMAPIStatus_GetProps(status, NULL, 0, &n, &props), S_OK);
	ck_assert_uint_ge(n, 10);
	ck_assert_ptr_null(PpropFindProp(props, n, PROP_TAG(PT_UNSPECIFIED,
							    PROP_ID(PR_IDENTITY_DISPLAY_A))));
	pv = PpropFindProp(props, n, PR_RESOURCE_METHODS);
	ck_assert_ptr_nonnull(pv);
	ck_assert_uint_eq(pv->Value.ul, STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES);
	pv = PpropFindProp(props, n, PR_DISPLAY_NAME_A);
	ck_assert_ptr_nonnull(pv);
	ck_assert_str_eq(pv->Value.lpszA, "MAPI Spooler");
	pv = PpropFindProp(props, n, PR_ENTRYID);
	ck_assert_ptr_nonnull(pv);
	ck_assert_uint_eq(pv->Value.bin.cb, eid.cb);
	ck_assert(memcmp(pv->Value.bin.lpb, eid.lpb, eid.cb) == 0);
	MAPIFreeBuffer(props);

	/* Wide strings on request. */
	ck_assert_int_eq(IMAPIStatus_GetProps(status, NULL, MAPI_UNICODE, &n, &props), S_OK);
	ck_assert_ptr_null(PpropFindProp(props, n, PR_DISPLAY_NAME_A));
	pv = PpropFindProp(props, n, PR_DISPLAY_NAME_W);
	ck_assert_ptr_nonnull(pv);
	ck_assert(wcscmp(pv->Value.lpszW, L"MAPI Spooler") == 0);
	MAPIFreeBuffer(props);

	ck_assert_int_eq(IMAPIStatus_GetProps(status, NULL, 0x1, &n, &props),
			 MAPI_E_UNKNOWN_FLAGS);
	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	free(eid.lpb);
	logoff(session);
}
END_TEST

START_TEST(status_missing_prop)
{
	SizedSPropTagArray(2, tags) = { 2, { PR_DISPLAY_NAME_A, PR_IDENTITY_DISPLAY_A } };
	LPMAPISESSION session = logon();
	SBinary eid = entryid_of(session, MAPI_SPOOLER);
	LPMAPISTATUS status = open_status(session, &eid);
	LPSPropValue props = NULL;
	ULONG n = 0;

	/* The spooler keeps no identity: one error among the values. */
	ck_assert_int_eq(IMAPIStatus_GetProps(status, (LPSPropTagArray)&tags, 0, &n, &props),
			 MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(props[0].Value.lpszA, "MAPI Spooler");
	ck_assert_uint_eq(props[1].ulPropTag, PROP_TAG(PT_ERROR, PROP_ID(PR_IDENTITY_DISPLAY_A)));
	ck_assert_int_eq(props[1].Value.err, MAPI_E_NOT_FOUND);
	MAPIFreeBuffer(props);
	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	free(eid.lpb);
	logoff(session);
}
END_TEST

START_TEST(status_settings_dialog)
{
	SizedSPropTagArray(1, tags) = { 1, { PR_RESOURCE_TYPE } };
	LPMAPISESSION session = logon();
	SBinary eid = entryid_of(session, MAPI_TRANSPORT_PROVIDER);
	LPMAPISTATUS status = open_status(session, &eid);
	LPMAPIERROR err = NULL;
	LPSPropValue props = NULL;
	ULONG n = 0;

	ck_assert_int_eq(IMAPIStatus_SettingsDialog(status, 0, 0), MAPI_E_NO_SUPPORT);
	ck_assert_int_eq(IMAPIStatus_SettingsDialog(status, 0, UI_READONLY), MAPI_E_NO_SUPPORT);
	ck_assert_int_eq(IMAPIStatus_GetLastError(status, MAPI_E_NO_SUPPORT, 0, &err), S_OK);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err->lpszError, "settings dialog"));
	MAPIFreeBuffer(err);

	/* Still a good object. */
	ck_assert_int_eq(IMAPIStatus_GetProps(status, (LPSPropTagArray)&tags, 0, &n, &props),
			 S_OK);
	ck_assert_int_eq(props[0].Value.l, MAPI_TRANSPORT_PROVIDER);
	ck_assert_str_eq(mapispool_last_error(), "");
	MAPIFreeBuffer(props);
	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	free(eid.lpb);
	logoff(session);
}
END_TEST

/* ---- Bad entry IDs ---- */

static HRESULT
try_open(LPMAPISESSION session, const BYTE *eid, ULONG cb)
{
	LPUNKNOWN unk = (LPUNKNOWN)1;
	ULONG type = 0;
	HRESULT hr;

	hr = IMAPISession_OpenEntry(session, cb, (LPENTRYID)eid, NULL, 0, &type, &unk);
	if (FAILED(hr))
		ck_assert_ptr_null(unk);
	else
		IUnknown_Release(unk);
	return hr;
}

START_TEST(bad_entryids)
{
	static const BYTE tiny[] = { 0, 0, 0 };
	LPMAPISESSION session = logon();
	SBinary eid = entryid_of(session, MAPI_TRANSPORT_PROVIDER);
	BYTE copy[EID_HEADER_LEN + 32];
	LPMAPIERROR err = NULL;
	char text[1024];
	HRESULT hr;

	ck_assert_uint_le(eid.cb, sizeof copy);
	ck_assert_int_eq(try_open(session, eid.lpb, eid.cb), S_OK);

	/* Malformed: too short, a wrong version byte. */
	ck_assert_int_eq(try_open(session, tiny, sizeof tiny), MAPI_E_INVALID_ENTRYID);
	memcpy(copy, eid.lpb, eid.cb);
	copy[EID_HEADER_LEN - 2] = 2;
	ck_assert_int_eq(try_open(session, copy, eid.cb), MAPI_E_INVALID_ENTRYID);
	ck_assert_int_eq(try_open(session, NULL, 0), MAPI_E_INVALID_ENTRYID);

	/* Well-formed, naming no transport. */
	memcpy(copy, eid.lpb, EID_HEADER_LEN);
	memcpy(copy + EID_HEADER_LEN, "nosuch", 6);
	hr = try_open(session, copy, EID_HEADER_LEN + 6);
	ck_assert_int_eq(hr, MAPI_E_UNKNOWN_ENTRYID);
	ck_assert_str_ne(mapispool_last_error(), "");
	snprintf(text, sizeof text, "%s", mapispool_last_error());

	/* The session remembers the daemon's words. */
	ck_assert_int_eq(IMAPISession_GetLastError(session, hr, 0, &err), S_OK);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err->lpszError, text);
	ck_assert_str_eq(err->lpszComponent, "mapispool");
	MAPIFreeBuffer(err);
	ck_assert_int_eq(IMAPISession_GetLastError(session, hr, MAPI_UNICODE, &err), S_OK);
	ck_assert_ptr_nonnull(err);
	ck_assert_uint_eq(wcslen((LPWSTR)err->lpszError), strlen(text));
	ck_assert_int_eq(((LPWSTR)err->lpszError)[0], text[0]);
	ck_assert(wcscmp((LPWSTR)err->lpszComponent, L"mapispool") == 0);
	MAPIFreeBuffer(err);
	/* Nothing to say about a success. */
	ck_assert_int_eq(IMAPISession_GetLastError(session, S_OK, 0, &err), S_OK);
	ck_assert_ptr_null(err);

	/* Interfaces and flags OpenEntry refuses. */
	ck_assert_int_eq(IMAPISession_OpenEntry(session, eid.cb, (LPENTRYID)eid.lpb,
						&IID_IMAPITable, 0, NULL, &(LPUNKNOWN){ NULL }),
			 MAPI_E_INTERFACE_NOT_SUPPORTED);
	ck_assert_int_eq(IMAPISession_OpenEntry(session, eid.cb, (LPENTRYID)eid.lpb, NULL, 0x4,
						NULL, &(LPUNKNOWN){ NULL }),
			 MAPI_E_UNKNOWN_FLAGS);
	free(eid.lpb);
	logoff(session);
}
END_TEST

/* ---- Object lifetimes ---- */

START_TEST(objects_keep_session)
{
	SizedSPropTagArray(1, cols) = { 1, { PR_DISPLAY_NAME_A } };
	LPMAPISESSION session = logon();
	SBinary eid = entryid_of(session, MAPI_SUBSYSTEM);
	LPMAPISTATUS status = open_status(session, &eid);
	LPMAPITABLE table = NULL;
	LPSRowSet rows = NULL;
	LPVOID iface = NULL;
	LPSPropValue props = NULL;
	ULONG n = 0;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	/* The caller lets go of the session; its objects still work. */
	ck_assert_uint_eq(IMAPISession_Release(session), 2);
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, NULL, NULL, 0, &rows),
			 S_OK);
	ck_assert_uint_eq(rows->cRows, ROWS_IN_TABLE);
	FreeProws(rows);

	/* IUnknown works on any object. */
	ck_assert_int_eq(IUnknown_QueryInterface((LPUNKNOWN)status, &IID_IMAPIProp, &iface), S_OK);
	ck_assert_ptr_eq(iface, status);
	ck_assert_uint_eq(IUnknown_Release(iface), 1);
	ck_assert_int_eq(IUnknown_QueryInterface((LPUNKNOWN)table, &IID_IMAPIStatus, &iface),
			 MAPI_E_INTERFACE_NOT_SUPPORTED);
	ck_assert_ptr_null(iface);
	ck_assert_uint_eq(IUnknown_AddRef((LPUNKNOWN)table), 2);
	ck_assert_uint_eq(IMAPITable_Release(table), 1);

	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	ck_assert_int_eq(IMAPIStatus_GetProps(status, (LPSPropTagArray)&cols, 0, &n, &props),
			 S_OK);
	ck_assert_str_eq(props[0].Value.lpszA, "MAPI Subsystem");
	MAPIFreeBuffer(props);
	/* The last reference closes the connection. */
	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	free(eid.lpb);
	MAPIUninitialize();
}
END_TEST

START_TEST(logoff_ends_session)
{
	LPMAPISESSION session = logon();
	LPMAPITABLE table_kept = NULL, table = NULL;
	LPSRowSet rows = NULL;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table_kept), S_OK);
	ck_assert_int_eq(IMAPISession_Logoff(session, 0, 0, 0), S_OK);
	ck_assert_int_eq(IMAPITable_QueryRows(table_kept, 1, 0, &rows), MAPI_E_END_OF_SESSION);
	ck_assert_ptr_null(rows);
	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), MAPI_E_END_OF_SESSION);
	ck_assert_ptr_null(table);
	ck_assert_int_eq(IMAPISession_Logoff(session, 0, 0x100, 0), MAPI_E_UNKNOWN_FLAGS);
	ck_assert_uint_eq(IMAPISession_Release(session), 1);
	ck_assert_uint_eq(IMAPITable_Release(table_kept), 0);
	MAPIUninitialize();
}
END_TEST

START_TEST(daemon_goes_away)
{
	LPMAPISESSION session = logon();
	LPMAPITABLE table = NULL;
	ULONG count;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	harness_kill(&d, SIGKILL);
	ck_assert_int_eq(IMAPITable_GetRowCount(table, 0, &count), MAPI_E_END_OF_SESSION);
	ck_assert_ptr_nonnull(strstr(mapispool_last_error(), "closed"));
	ck_assert_int_eq(IMAPITable_GetRowCount(table, 0, &count), MAPI_E_END_OF_SESSION);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	ck_assert_uint_eq(IMAPISession_Release(session), 0);
	MAPIUninitialize();
	/* For the teardown, which wants a clean exit. */
	ck_assert_int_eq(harness_restart(&d), 0);
}
END_TEST

/* ---- Without a daemon ---- */

static char tmpdir[PATH_MAX];

static void
tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check_session.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmpdir_teardown(void)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

START_TEST(not_initialized)
{
	LPMAPISESSION session = (LPMAPISESSION)1;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/none.sock", tmpdir);
	ck_assert_int_eq(setenv("MAPISPOOL_SOCKET", path, 1), 0);
	ck_assert_int_eq(MAPILogonEx(0, NULL, NULL, 0, &session), MAPI_E_NOT_INITIALIZED);
	ck_assert_ptr_null(session);
	ck_assert_ptr_nonnull(strstr(mapispool_last_error(), "MAPIInitialize"));

	/* Initialisations are counted. */
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(MAPIInitialize(&(MAPIINIT_0){ MAPI_INIT_VERSION, MAPI_NO_COINIT }), S_OK);
	MAPIUninitialize();
	ck_assert_int_eq(MAPILogonEx(0, NULL, NULL, 0, &session), MAPI_E_NETWORK_ERROR);
	MAPIUninitialize();
	ck_assert_int_eq(MAPILogonEx(0, NULL, NULL, 0, &session), MAPI_E_NOT_INITIALIZED);
	MAPIUninitialize();	/* one too many: harmless */
	ck_assert_int_eq(MAPILogonEx(0, NULL, NULL, 0, &session), MAPI_E_NOT_INITIALIZED);

	ck_assert_int_eq(MAPIInitialize(&(MAPIINIT_0){ 1, 0 }), MAPI_E_VERSION);
	ck_assert_int_eq(MAPIInitialize(&(MAPIINIT_0){ 0, 0x100 }), MAPI_E_UNKNOWN_FLAGS);
}
END_TEST

START_TEST(no_daemon)
{
	LPMAPISESSION session = (LPMAPISESSION)1;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/none.sock", tmpdir);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(path, NULL, 0, &session), MAPI_E_NETWORK_ERROR);
	ck_assert_ptr_null(session);
	ck_assert_ptr_nonnull(strstr(mapispool_last_error(), path));

	/* The same through the environment, as MAPILogonEx finds it. */
	ck_assert_int_eq(setenv("MAPISPOOL_SOCKET", path, 1), 0);
	ck_assert_int_eq(MAPILogonEx(0, NULL, NULL, 0, &session), MAPI_E_NETWORK_ERROR);
	ck_assert_ptr_nonnull(strstr(mapispool_last_error(), path));
	MAPIUninitialize();
}
END_TEST

/* A server that says line and no more, then waits for the client to go. */
static pid_t
fake_server(const char *path, const char *line)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd, fd;
	pid_t pid;
	char c;

	ck_assert_uint_lt(strlen(path), sizeof sun.sun_path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(lfd, -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
			_exit(1);
		shutdown(fd, SHUT_WR);
		while (read(fd, &c, 1) > 0)
			;
		_exit(0);
	}
	close(lfd);
	return pid;
}

static const char *const greetings[] = {
	"{\"event\":\"hello\",\"protocol\":2,\"server\":\"mapispoold/9.0\"}\n",
	"{\"event\":\"welcome\"}\n",
	"",
	"not json\n",
};
static const HRESULT greeting_hr[] = {
	MAPI_E_VERSION,
	MAPI_E_NETWORK_ERROR,
	MAPI_E_NETWORK_ERROR,
	MAPI_E_NETWORK_ERROR,
};

START_TEST(bad_greeting)
{
	LPMAPISESSION session = (LPMAPISESSION)1;
	char path[PATH_MAX + 32];
	pid_t pid;

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	pid = fake_server(path, greetings[_i]);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(path, NULL, 0, &session), greeting_hr[_i]);
	ck_assert_ptr_null(session);
	if (_i == 0)
		ck_assert_str_eq(mapispool_last_error(),
				 "protocol version mismatch (client 1, server 2)");
	else
		ck_assert_str_ne(mapispool_last_error(), "");
	MAPIUninitialize();
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* A line past the library's bound ends the conversation, not the process. */
START_TEST(oversize_line)
{
	LPMAPISESSION session = (LPMAPISESSION)1;
	size_t len = 16 * 1024 * 1024 + 2;
	char path[PATH_MAX + 32], *line;
	pid_t pid;

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	line = malloc(len + 1);
	ck_assert_ptr_nonnull(line);
	memset(line, ' ', len);
	line[len] = '\0';
	pid = fake_server(path, line);
	free(line);
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(path, NULL, 0, &session), MAPI_E_NETWORK_ERROR);
	ck_assert_ptr_nonnull(strstr(mapispool_last_error(), "longer than"));
	MAPIUninitialize();
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/* ---- Events, flags and sinks, against a scripted server ---- */

/* One exchange of a scripted server: it reads a request, checks that the
 * line has expect in it, and answers with send, where "@ID@" stands for
 * the request's id.  A NULL expect sends without reading first. */
struct step {
	const char *expect;
	const char *send;
};

static size_t
read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len && read(fd, buf + n, 1) == 1) {
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return n;
}

/* Write s with each "@ID@" replaced by id. */
static int
send_with_id(int fd, const char *s, const char *id)
{
	const char *at;

	while ((at = strstr(s, "@ID@")) != NULL) {
		if (write(fd, s, (size_t)(at - s)) != at - s ||
		    write(fd, id, strlen(id)) != (ssize_t)strlen(id))
			return -1;
		s = at + 4;
	}
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

/* A server that greets, plays steps, then hangs up.  It exits 0 if every
 * request was what the step expected and no other came; 2 + the step's
 * index at the first one that was not. */
static pid_t
script_server(const char *path, const struct step *steps, size_t nsteps)
{
	static const char hello[] = "{\"event\":\"hello\",\"protocol\":1,\"server\":\"fake\"}\n";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char line[65536], id[32];
	const char *p;
	int lfd, fd;
	size_t i;
	pid_t pid;

	memcpy(sun.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(lfd, -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof sun), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid != 0) {
		close(lfd);
		return pid;
	}
	if ((fd = accept(lfd, NULL, NULL)) == -1 || write(fd, hello, strlen(hello)) == -1)
		_exit(1);
	for (i = 0; i < nsteps; i++) {
		id[0] = '\0';
		if (steps[i].expect != NULL) {
			if (read_line(fd, line, sizeof line) == 0 ||
			    strstr(line, steps[i].expect) == NULL)
				_exit(2 + (int)i);
			if ((p = strstr(line, "\"id\":")) != NULL)
				snprintf(id, sizeof id, "%ld", strtol(p + 5, NULL, 10));
		}
		if (send_with_id(fd, steps[i].send, id) == -1)
			_exit(1);
	}
	/* Anything more is a request nobody expected. */
	shutdown(fd, SHUT_WR);
	_exit(read_line(fd, line, sizeof line) == 0 ? 0 : 2 + (int)nsteps);
}

static int
server_status(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define REPLY_OPEN "{\"id\":@ID@,\"hr\":0,\"object_type\":10,\"props\":{\"PR_OBJECT_TYPE\":10}}\n"

static const BYTE fake_eid[] = { 0, 0, 0, 0, 1, 2, 3, 4 };

static LPMAPISESSION
fake_logon(const char *path)
{
	LPMAPISESSION session = NULL;

	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(path, NULL, 0, &session), S_OK);
	return session;
}

static LPMAPISTATUS
fake_open(LPMAPISESSION session)
{
	LPMAPISTATUS status = NULL;

	ck_assert_int_eq(IMAPISession_OpenEntry(session, sizeof fake_eid, (LPENTRYID)fake_eid,
						NULL, 0, NULL, (LPUNKNOWN *)&status),
			 S_OK);
	return status;
}

static const struct step flags_steps[] = {
	{ "\"op\":\"logon\"", "{\"id\":@ID@,\"hr\":0}\n" },
	{ "\"op\":\"status.get_props\"", REPLY_OPEN },
	/* No UI callback: the flush is made FLUSH_NO_UI (0x10). */
	{ "\"flags\":18", "{\"id\":@ID@,\"hr\":0,\"flush_id\":1,\"transports\":[]}\n" },
};

/* Bad flags and arguments are refused before anything is sent. */
START_TEST(flags_checked_locally)
{
	char path[PATH_MAX + 32];
	LPMAPISESSION session;
	LPMAPISTATUS status;
	LPMAPITABLE table = NULL;
	LPMAPIADVISESINK sink = NULL;
	LPMAPIERROR e = NULL;
	ULONG conn = 1, n = 1;
	MAPISPOOL_FLUSH_RESULT *results = (void *)1;
	pid_t pid;

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	pid = script_server(path, flags_steps, sizeof flags_steps / sizeof flags_steps[0]);
	session = fake_logon(path);
	status = fake_open(session);

	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, NULL, 0x40), MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, NULL, FLUSH_UPLOAD | 0x1),
			 MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPIStatus_GetLastError(status, MAPI_E_UNKNOWN_FLAGS, 0, &e), S_OK);
	ck_assert_ptr_nonnull(strstr(e->lpszError, "FlushQueues"));
	MAPIFreeBuffer(e);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 4, NULL, 0), MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, (LPENTRYID)fake_eid, 0),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(NULL, 0, 0, NULL, 0), MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_ValidateState(status, 0, 0x2), MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPIStatus_ValidateState(status, 0, FORCE_XP_CONNECT | 0x80000000),
			 MAPI_E_UNKNOWN_FLAGS);

	/* Before any flush there are no results. */
	ck_assert_int_eq(mapispool_flush_results(status, &n, &results), S_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(results);

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrAllocAdviseSink((LPNOTIFCALLBACK)abort, NULL, &sink), S_OK);
	ck_assert_int_eq(IMAPITable_Advise(table, fnevNewMail, sink, &conn), MAPI_E_NO_SUPPORT);
	ck_assert_uint_eq(conn, 0);
	ck_assert_int_eq(IMAPITable_Advise(table, fnevTableModified | fnevNewMail, sink, &conn),
			 MAPI_E_NO_SUPPORT);
	ck_assert_int_eq(IMAPITable_Advise(table, fnevTableModified, NULL, &conn),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPITable_Advise(table, fnevTableModified, (LPMAPIADVISESINK)table,
					   &conn),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPITable_Unadvise(table, 5), MAPI_E_NOT_FOUND);
	ck_assert_int_eq(mapispool_dispatch(session, -2), MAPI_E_INVALID_PARAMETER);

	/* The one request that goes: with FLUSH_NO_UI added. */
	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, NULL, FLUSH_UPLOAD), S_OK);

	ck_assert_uint_eq(IMAPIAdviseSink_Release(sink), 0);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	ck_assert_int_eq(IMAPISession_Logoff(session, 0, 0, 0), S_OK);
	ck_assert_int_eq(mapispool_event_fd(session), -1);
	ck_assert_int_eq(mapispool_dispatch(session, 0), MAPI_E_END_OF_SESSION);
	ck_assert_uint_eq(IMAPISession_Release(session), 0);
	MAPIUninitialize();
	ck_assert_int_eq(server_status(pid), 0);
}
END_TEST

static LONG
count_calls(LPVOID ctx, ULONG n, LPNOTIFICATION notif)
{
	(void)notif;
	*(ULONG *)ctx += n;
	return 42;
}

START_TEST(advise_sink_refs)
{
	LPMAPIADVISESINK sink = (LPMAPIADVISESINK)1;
	LPUNKNOWN unk = NULL;
	NOTIFICATION n = { .ulEventType = fnevTableModified };
	ULONG calls = 0;

	ck_assert_int_eq(HrAllocAdviseSink(NULL, NULL, &sink), MAPI_E_INVALID_PARAMETER);
	ck_assert_ptr_null(sink);
	ck_assert_int_eq(HrAllocAdviseSink(count_calls, &calls, NULL), MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(HrAllocAdviseSink(count_calls, &calls, &sink), S_OK);
	ck_assert_uint_eq(IMAPIAdviseSink_OnNotify(sink, 1, &n), 42);
	ck_assert_uint_eq(calls, 1);
	ck_assert_uint_eq(IMAPIAdviseSink_AddRef(sink), 2);
	ck_assert_int_eq(IUnknown_QueryInterface((LPUNKNOWN)sink, &IID_IUnknown, (void **)&unk),
			 S_OK);
	ck_assert_ptr_eq(unk, sink);
	ck_assert_int_eq(IUnknown_QueryInterface((LPUNKNOWN)sink, &IID_IMAPITable, (void **)&unk),
			 MAPI_E_INTERFACE_NOT_SUPPORTED);
	ck_assert_uint_eq(IMAPIAdviseSink_Release(sink), 2);
	ck_assert_uint_eq(IMAPIAdviseSink_Release(sink), 1);
	ck_assert_uint_eq(IMAPIAdviseSink_OnNotify(sink, 2, &n), 42);
	ck_assert_uint_eq(calls, 3);
	ck_assert_uint_eq(IMAPIAdviseSink_Release(sink), 0);
	/* Not a sink: nothing happens. */
	ck_assert_uint_eq(IMAPIAdviseSink_OnNotify(NULL, 1, &n), 0);
	ck_assert_uint_eq(IMAPIAdviseSink_Release(NULL), 0);
}
END_TEST

/* What the callbacks of the events test saw. */
struct seen {
	ULONG notifications, progress, done;
	ULONG last_flush_id, last_progress;
	HRESULT done_hr;
	char transport[32];
	ULONG table_event;
	BYTE instance_key[4];
	ULONG prior_tag, row_values;
	char row_name[32];
	LONG row_status;
};

static LONG
on_notify(LPVOID ctx, ULONG n, LPNOTIFICATION notif)
{
	struct seen *seen = ctx;
	const TABLE_NOTIFICATION *tab = &notif[0].info.tab;

	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(notif[0].ulEventType, fnevTableModified);
	seen->notifications++;
	seen->table_event = tab->ulTableEvent;
	ck_assert_int_eq(tab->hResult, S_OK);
	ck_assert_uint_eq(tab->propIndex.ulPropTag, PR_INSTANCE_KEY);
	ck_assert_uint_eq(tab->propIndex.Value.bin.cb, 4);
	memcpy(seen->instance_key, tab->propIndex.Value.bin.lpb, 4);
	seen->prior_tag = tab->propPrior.ulPropTag;
	seen->row_values = tab->row.cValues;
	if (tab->row.cValues == 2) {
		ck_assert_uint_eq(tab->row.lpProps[0].ulPropTag, PR_DISPLAY_NAME);
		snprintf(seen->row_name, sizeof seen->row_name, "%s",
			 tab->row.lpProps[0].Value.lpszA);
		seen->row_status = tab->row.lpProps[1].Value.l;
	}
	return 0;
}

static void
on_ui(LPVOID ctx, const MAPISPOOL_UI_EVENT *ev)
{
	struct seen *seen = ctx;

	seen->last_flush_id = ev->ulFlushId;
	if (ev->ulKind == MAPISPOOL_UI_PROGRESS) {
		seen->progress++;
		seen->last_progress = ev->ulProgress;
		snprintf(seen->transport, sizeof seen->transport, "%s", ev->lpszTransport);
	} else {
		ck_assert_uint_eq(ev->ulKind, MAPISPOOL_UI_FLUSH_DONE);
		seen->done++;
		seen->done_hr = ev->hResult;
	}
}

#define EV_ROW(conn) \
	"{\"event\":\"table.notification\",\"connection\":" #conn \
	",\"table_event\":\"TABLE_ROW_MODIFIED\",\"instance_key\":\"03000000\"," \
	"\"prior_instance_key\":null,\"row\":{\"PR_DISPLAY_NAME\":\"local\"," \
	"\"PR_STATUS_CODE\":5}}\n"
#define EV_PROGRESS(id, pct) \
	"{\"event\":\"flush.progress\",\"flush_id\":" #id ",\"transport\":\"local\"," \
	"\"progress\":" #pct ",\"text\":\"sending\"}\n"

static const struct step event_steps[] = {
	{ "\"op\":\"logon\"", "{\"id\":@ID@,\"hr\":0}\n" },
	{ "\"op\":\"status.get_props\"", REPLY_OPEN },
	/* Events that come with a reply wait for mapispool_dispatch. */
	{ "\"op\":\"advise\",\"columns\":[\"PR_DISPLAY_NAME\",\"PR_STATUS_CODE\"]",
	  "{\"id\":@ID@,\"hr\":0,\"connection\":7}\n" EV_ROW(7) EV_PROGRESS(5, 10)
	  "{\"id\":999,\"hr\":0}\n" EV_ROW(8) },
	/* A UI callback is registered: no FLUSH_NO_UI.  Progress of this
	 * flush reaches it at once, inside FlushQueues. */
	{ "\"flags\":2}", EV_PROGRESS(9, 50)
	  "{\"id\":@ID@,\"hr\":263040,\"flush_id\":9,\"transports\":["
	  "{\"name\":\"local\",\"hr\":0,\"skipped\":false,\"sent\":2,\"deferred\":0,"
	  "\"failed\":0,\"received\":1,\"delivered\":1},"
	  "{\"name\":\"fax\",\"hr\":-2147220224,\"message\":\"1 deferred\",\"skipped\":true,"
	  "\"sent\":0,\"deferred\":1}]}\n" },
	{ "\"flags\":32}", "{\"id\":@ID@,\"hr\":0,\"flush_id\":11}\n" EV_PROGRESS(11, 70)
	  "{\"event\":\"flush.done\",\"flush_id\":11,\"hr\":0,\"transports\":["
	  "{\"name\":\"local\",\"hr\":0,\"sent\":3}]}\n" },
	{ "\"op\":\"unadvise\",\"connection\":7", "{\"id\":@ID@,\"hr\":0}\n" },
	/* A second table's advise ends when the table is released. */
	{ "\"op\":\"advise\"", "{\"id\":@ID@,\"hr\":0,\"connection\":8}\n" },
	{ "\"op\":\"unadvise\",\"connection\":8", "{\"id\":@ID@,\"hr\":0}\n" },
};

START_TEST(dispatch_events)
{
	SizedSPropTagArray(2, cols) = { 2, { PR_DISPLAY_NAME, PR_STATUS_CODE } };
	char path[PATH_MAX + 32];
	struct seen seen = { 0 };
	LPMAPISESSION session;
	LPMAPISTATUS status;
	LPMAPITABLE table = NULL, table2 = NULL;
	LPMAPIADVISESINK sink = NULL;
	MAPISPOOL_FLUSH_RESULT *r = NULL;
	ULONG conn = 0, conn2 = 0, n = 0, id = 0;
	pid_t pid;

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	pid = script_server(path, event_steps, sizeof event_steps / sizeof event_steps[0]);
	session = fake_logon(path);
	ck_assert_int_ge(mapispool_event_fd(session), 0);
	status = fake_open(session);
	ck_assert_int_eq(HrAllocAdviseSink(on_notify, &seen, &sink), S_OK);
	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(IMAPITable_SetColumns(table, (LPSPropTagArray)&cols, 0), S_OK);
	ck_assert_int_eq(IMAPITable_Advise(table, fnevTableModified, sink, &conn), S_OK);
	ck_assert_uint_eq(conn, 7);
	ck_assert_uint_eq(seen.notifications, 0);

	ck_assert_int_eq(mapispool_set_ui_callback(session, on_ui, &seen), S_OK);
	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, NULL, FLUSH_UPLOAD),
			 MAPI_W_ERRORS_RETURNED);
	ck_assert_uint_eq(seen.progress, 1);
	ck_assert_uint_eq(seen.last_flush_id, 9);
	ck_assert_uint_eq(seen.last_progress, 50);
	ck_assert_str_eq(seen.transport, "local");
	ck_assert_int_eq(mapispool_flush_id(status, &id), S_OK);
	ck_assert_uint_eq(id, 9);
	ck_assert_int_eq(mapispool_flush_results(status, &n, &r), S_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(r[0].lpszTransport, "local");
	ck_assert_int_eq(r[0].hResult, S_OK);
	ck_assert_ptr_null(r[0].lpszError);
	ck_assert(!r[0].fSkipped);
	ck_assert_uint_eq(r[0].cSent, 2);
	ck_assert_uint_eq(r[0].cReceived, 1);
	ck_assert_uint_eq(r[0].cDelivered, 1);
	ck_assert_str_eq(r[1].lpszTransport, "fax");
	ck_assert_int_eq(r[1].hResult, MAPI_E_WAIT);
	ck_assert_str_eq(r[1].lpszError, "1 deferred");
	ck_assert(r[1].fSkipped);
	ck_assert_uint_eq(r[1].cDeferred, 1);
	MAPIFreeBuffer(r);

	/* What came during Advise: the row, and another flush's progress;
	 * the stray reply and the unknown connection's row are dropped. */
	ck_assert_int_eq(mapispool_dispatch(session, 0), S_OK);
	ck_assert_uint_eq(seen.notifications, 1);
	ck_assert_uint_eq(seen.table_event, TABLE_ROW_MODIFIED);
	ck_assert_mem_eq(seen.instance_key, "\x03\0\0\0", 4);
	ck_assert_uint_eq(seen.prior_tag, PR_NULL);
	ck_assert_uint_eq(seen.row_values, 2);
	ck_assert_str_eq(seen.row_name, "local");
	ck_assert_int_eq(seen.row_status, 5);
	ck_assert_uint_eq(seen.progress, 2);
	ck_assert_uint_eq(seen.last_flush_id, 5);
	ck_assert_int_eq(mapispool_dispatch(session, 0), S_OK);
	ck_assert_uint_eq(seen.notifications, 1);

	/* FLUSH_ASYNC_OK: the results are the flush.done's, once delivered. */
	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, NULL, FLUSH_ASYNC_OK), S_OK);
	ck_assert_int_eq(mapispool_flush_id(status, &id), S_OK);
	ck_assert_uint_eq(id, 11);
	ck_assert_int_eq(mapispool_flush_results(status, &n, &r), S_OK);
	ck_assert_uint_eq(n, 0);
	while (seen.done == 0)
		ck_assert_int_eq(mapispool_dispatch(session, 5000), S_OK);
	ck_assert_uint_eq(seen.progress, 3);
	ck_assert_uint_eq(seen.last_progress, 70);
	ck_assert_uint_eq(seen.last_flush_id, 11);
	ck_assert_int_eq(seen.done_hr, S_OK);
	ck_assert_int_eq(mapispool_flush_results(status, &n, &r), S_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(r[0].cSent, 3);
	MAPIFreeBuffer(r);

	/* The table holds a reference to the sink until Unadvise. */
	ck_assert_uint_eq(IMAPIAdviseSink_AddRef(sink), 3);
	ck_assert_uint_eq(IMAPIAdviseSink_Release(sink), 2);
	ck_assert_int_eq(IMAPITable_Unadvise(table, conn), S_OK);
	ck_assert_int_eq(IMAPITable_Unadvise(table, conn), MAPI_E_NOT_FOUND);
	ck_assert_uint_eq(IMAPIAdviseSink_AddRef(sink), 2);
	ck_assert_uint_eq(IMAPIAdviseSink_Release(sink), 1);

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table2), S_OK);
	ck_assert_int_eq(IMAPITable_SetColumns(table2, (LPSPropTagArray)&cols, 0), S_OK);
	ck_assert_int_eq(IMAPITable_Advise(table2, fnevTableModified, sink, &conn2), S_OK);
	ck_assert_uint_eq(conn2, 8);
	ck_assert_int_eq(IMAPITable_Unadvise(table, conn2), MAPI_E_NOT_FOUND);
	ck_assert_uint_eq(IMAPITable_Release(table2), 0);
	ck_assert_uint_eq(IMAPIAdviseSink_Release(sink), 0);

	/* The server hangs up: dispatch says the session is over. */
	ck_assert_int_eq(mapispool_dispatch(session, -1), MAPI_E_END_OF_SESSION);
	ck_assert_uint_eq(IMAPITable_Release(table), 0);
	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	ck_assert_uint_eq(IMAPISession_Release(session), 0);
	MAPIUninitialize();
	ck_assert_int_eq(server_status(pid), 0);
}
END_TEST

/* ---- Prompts and ChangePassword, against a scripted server ---- */

#define EV_PROMPT(id, extra) \
	"{\"event\":\"ui.prompt\",\"prompt_id\":" #id ",\"flush_id\":9,\"transport\":\"relay\"," \
	"\"text\":\"Password for alice on smtp://mail.example.net:587\"" extra "}\n"
/* The flush request is the third of the session: logon, OpenEntry, it. */
#define REPLY_FLUSH "{\"id\":3,\"hr\":0,\"flush_id\":9,\"transports\":[]}\n"
#define REPLY_OK "{\"id\":@ID@,\"hr\":0}\n"
/* "sé"cr\et" as the library must write it. */
#define SECRET "s\xc3\xa9\"cr\\et"
#define SECRET_JSON "\"s\xc3\xa9\\\"cr\\\\et\""

/* What the prompt callbacks saw. */
struct prompts {
	LPMAPISESSION session;
	ULONG n, progress;
	ULONG id[4], flush_id[4];
	BOOL secret[4];
	char transport[4][32], text[4][64];
	HRESULT reply_hr[4];
	bool answer;		/* answer the first prompt at once */
};

static void
on_prompt(LPVOID ctx, const MAPISPOOL_UI_EVENT *ev)
{
	struct prompts *p = ctx;
	ULONG i = p->n;

	if (ev->ulKind == MAPISPOOL_UI_PROGRESS) {
		/* Progress that came while the first prompt was answered. */
		ck_assert_uint_eq(p->n, 1);
		p->progress++;
		return;
	}
	ck_assert_uint_eq(ev->ulKind, MAPISPOOL_UI_PROMPT);
	ck_assert_uint_lt(i, 4);
	p->n++;
	p->id[i] = ev->ulPromptId;
	p->flush_id[i] = ev->ulFlushId;
	p->secret[i] = ev->fSecret;
	snprintf(p->transport[i], sizeof p->transport[i], "%s", ev->lpszTransport);
	snprintf(p->text[i], sizeof p->text[i], "%s", ev->lpszText);
	/* Answered from inside the callback, while FlushQueues waits: the
	 * first with the secret, the next one cancelled. */
	if (p->answer)
		p->reply_hr[i] = mapispool_ui_reply(p->session, ev->ulPromptId,
						    i == 0 ? SECRET : NULL);
}

static const struct step prompt_steps[] = {
	{ "\"op\":\"logon\"", REPLY_OK },
	{ "\"op\":\"status.get_props\"", REPLY_OPEN },
	/* A UI callback: no FLUSH_NO_UI, so the daemon may ask. */
	{ "\"op\":\"status.flush_queues\",\"entryid\":\"0000000001020304\",\"flags\":2}",
	  EV_PROMPT(5, ",\"secret\":true") },
	/* Progress and a second prompt come before the answer's reply. */
	{ "\"op\":\"ui.reply\",\"prompt_id\":5,\"value\":" SECRET_JSON "}",
	  "{\"event\":\"flush.progress\",\"flush_id\":9,\"transport\":\"relay\","
	  "\"progress\":60,\"text\":\"sending\"}\n" EV_PROMPT(6, "") REPLY_OK },
	/* The flush's reply comes before the cancel's. */
	{ "\"op\":\"ui.reply\",\"prompt_id\":6,\"cancel\":true}", REPLY_FLUSH REPLY_OK },
};

START_TEST(prompt_during_flush)
{
	char path[PATH_MAX + 32];
	struct prompts p = { .answer = true };
	LPMAPISTATUS status;
	ULONG id = 0;
	pid_t pid;

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	pid = script_server(path, prompt_steps, sizeof prompt_steps / sizeof prompt_steps[0]);
	p.session = fake_logon(path);
	status = fake_open(p.session);
	ck_assert_int_eq(mapispool_set_ui_callback(p.session, on_prompt, &p), S_OK);

	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, NULL, FLUSH_UPLOAD), S_OK);
	ck_assert_int_eq(mapispool_flush_id(status, &id), S_OK);
	ck_assert_uint_eq(id, 9);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_uint_eq(p.progress, 1);
	ck_assert_uint_eq(p.id[0], 5);
	ck_assert_uint_eq(p.flush_id[0], 9);
	ck_assert(p.secret[0]);
	ck_assert_str_eq(p.transport[0], "relay");
	ck_assert_str_eq(p.text[0], "Password for alice on smtp://mail.example.net:587");
	ck_assert_int_eq(p.reply_hr[0], S_OK);
	/* No "secret": taken as secret. */
	ck_assert_uint_eq(p.id[1], 6);
	ck_assert(p.secret[1]);
	ck_assert_int_eq(p.reply_hr[1], S_OK);
	/* Nothing was left for later; then the server hangs up. */
	ck_assert_int_eq(mapispool_dispatch(p.session, -1), MAPI_E_END_OF_SESSION);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_uint_eq(p.progress, 1);

	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	ck_assert_uint_eq(IMAPISession_Release(p.session), 0);
	MAPIUninitialize();
	ck_assert_int_eq(server_status(pid), 0);
}
END_TEST

static const struct step cancel_steps[] = {
	{ "\"op\":\"logon\"", REPLY_OK },
	{ "\"op\":\"status.get_props\"", REPLY_OPEN },
	/* No UI callback: FLUSH_NO_UI; a daemon that asks all the same is
	 * told no at once. */
	{ "\"flags\":18}", EV_PROMPT(5, "") },
	{ "\"op\":\"ui.reply\",\"prompt_id\":5,\"cancel\":true}", REPLY_OK REPLY_FLUSH },
	/* A prompt that waits for mapispool_dispatch: cancelled there. */
	{ "\"op\":\"status.validate_state\"", EV_PROMPT(7, "") REPLY_OK },
	{ "\"op\":\"ui.reply\",\"prompt_id\":7,\"cancel\":true}", REPLY_OK },
	/* With a callback, dispatch delivers it; the answer comes later. */
	{ "\"op\":\"status.validate_state\"", EV_PROMPT(8, ",\"secret\":false") REPLY_OK },
	{ "\"op\":\"ui.reply\",\"prompt_id\":8,\"value\":\"later\"}",
	  "{\"id\":@ID@,\"hr\":-2147221233,\"message\":\"no prompt 8 waits\"}\n" },
};

START_TEST(prompt_without_callback)
{
	char path[PATH_MAX + 32];
	struct prompts p = { .answer = false };
	LPMAPISTATUS status;
	pid_t pid;

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	pid = script_server(path, cancel_steps, sizeof cancel_steps / sizeof cancel_steps[0]);
	p.session = fake_logon(path);
	status = fake_open(p.session);

	ck_assert_int_eq(IMAPIStatus_FlushQueues(status, 0, 0, NULL, FLUSH_UPLOAD), S_OK);
	ck_assert_int_eq(IMAPIStatus_ValidateState(status, 0, 0), S_OK);
	ck_assert_int_eq(mapispool_dispatch(p.session, 0), S_OK);

	ck_assert_int_eq(mapispool_set_ui_callback(p.session, on_prompt, &p), S_OK);
	ck_assert_int_eq(IMAPIStatus_ValidateState(status, 0, 0), S_OK);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_int_eq(mapispool_dispatch(p.session, 0), S_OK);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_uint_eq(p.id[0], 8);
	ck_assert(!p.secret[0]);
	ck_assert_int_eq(mapispool_ui_reply(p.session, 8, "later"), MAPI_E_NOT_FOUND);
	ck_assert_str_eq(mapispool_last_error(), "no prompt 8 waits");

	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	ck_assert_uint_eq(IMAPISession_Release(p.session), 0);
	MAPIUninitialize();
	ck_assert_int_eq(server_status(pid), 0);
}
END_TEST

static const struct step password_steps[] = {
	{ "\"op\":\"logon\"", REPLY_OK },
	{ "\"op\":\"status.get_props\"", REPLY_OPEN },
	{ "\"op\":\"status.change_password\",\"entryid\":\"0000000001020304\","
	  "\"old\":\"old\",\"new\":" SECRET_JSON "}", REPLY_OK },
	/* MAPI_UNICODE: wide strings, sent as UTF-8. */
	{ "\"old\":\"\xc3\xa9t\xc3\xa9\",\"new\":\"\\u0001\\u000a\"}", REPLY_OK },
	{ "\"old\":\"wrong\",\"new\":\"x\"}",
	  "{\"id\":@ID@,\"hr\":-2147024891,\"hr_name\":\"MAPI_E_NO_ACCESS\","
	  "\"message\":\"the old password of relay is wrong\"}\n" },
};

START_TEST(change_password)
{
	char path[PATH_MAX + 32];
	LPMAPISESSION session;
	LPMAPISTATUS status;
	LPMAPIERROR e = NULL;
	pid_t pid;

	snprintf(path, sizeof path, "%s/fake.sock", tmpdir);
	pid = script_server(path, password_steps, sizeof password_steps / sizeof password_steps[0]);
	session = fake_logon(path);
	status = fake_open(session);

	/* Refused before anything is sent. */
	ck_assert_int_eq(IMAPIStatus_ChangePassword(NULL, "a", "b", 0), MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, NULL, "b", 0),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, "a", NULL, MAPI_UNICODE),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, "a", "b", 0x1), MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, "a", "b", MAPI_UNICODE | 0x2),
			 MAPI_E_UNKNOWN_FLAGS);
	ck_assert_int_eq(IMAPIStatus_GetLastError(status, MAPI_E_UNKNOWN_FLAGS, 0, &e), S_OK);
	ck_assert_ptr_nonnull(strstr(e->lpszError, "ChangePassword"));
	MAPIFreeBuffer(e);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, "a", "\xff", 0),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, (LPSTR)(void *)L"a",
						    (LPSTR)(void *)L"\xd800", MAPI_UNICODE),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(mapispool_ui_reply(NULL, 1, "x"), MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(mapispool_ui_reply(session, 1, "\xc3"), MAPI_E_INVALID_PARAMETER);

	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, "old", SECRET, 0), S_OK);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, (LPSTR)(void *)L"\xe9t\xe9",
						    (LPSTR)(void *)L"\x01\n", MAPI_UNICODE),
			 S_OK);
	ck_assert_int_eq(IMAPIStatus_ChangePassword(status, "wrong", "x", 0), MAPI_E_NO_ACCESS);
	ck_assert_int_eq(IMAPIStatus_GetLastError(status, MAPI_E_NO_ACCESS, 0, &e), S_OK);
	ck_assert_str_eq(e->lpszError, "the old password of relay is wrong");
	MAPIFreeBuffer(e);

	ck_assert_uint_eq(IMAPIStatus_Release(status), 0);
	ck_assert_uint_eq(IMAPISession_Release(session), 0);
	MAPIUninitialize();
	ck_assert_int_eq(server_status(pid), 0);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc;

	tc = tcase_create("seed");
	tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, seed_flush_all);
	tcase_add_test(tc, seed_flush_each_transport);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, logon_profiles);
	tcase_add_test(tc, table_paging);
	tcase_add_test(tc, table_too_big);
	tcase_add_test(tc, table_restrictions);
	tcase_add_test(tc, table_sort);
	tcase_add_test(tc, table_default_columns);
	tcase_add_test(tc, table_unicode);
	tcase_add_test(tc, status_all_props);
	tcase_add_test(tc, status_missing_prop);
	tcase_add_test(tc, status_settings_dialog);
	tcase_add_test(tc, bad_entryids);
	tcase_add_test(tc, objects_keep_session);
	tcase_add_test(tc, logoff_ends_session);
	tcase_add_test(tc, daemon_goes_away);
	suite_add_tcase(s, tc);

	tc = tcase_create("no daemon");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, not_initialized);
	tcase_add_test(tc, no_daemon);
	tcase_add_loop_test(tc, bad_greeting, 0, sizeof greetings / sizeof greetings[0]);
	tcase_add_test(tc, oversize_line);
	tcase_add_test(tc, flags_checked_locally);
	tcase_add_test(tc, advise_sink_refs);
	tcase_add_test(tc, dispatch_events);
	tcase_add_test(tc, prompt_during_flush);
	tcase_add_test(tc, prompt_without_callback);
	tcase_add_test(tc, change_password);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(session_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
