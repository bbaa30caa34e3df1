/*
 * table.c — IMAPITable on the status table.
 *
 * The view (columns, restriction, sort order) is kept here and sent with
 * each status.query.  The first read after the view changes fetches the
 * whole view in one query into a snapshot; QueryRows and SeekRow then move
 * a cursor through the snapshot, so paging costs no further round trips
 * and sees one consistent table.  Going back to the beginning drops the
 * snapshot, so that a new pass sees the daemon's current rows.
 *
 * Advise subscribes the view as it is then (columns and restriction) to
 * the daemon's notifications; the session routes them to the sink.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "protocol.h"
#include "restriction.h"

#define VIEW_FLAGS (TBL_ASYNC | TBL_BATCH)

struct IMAPITable {
	struct obj obj;
	LPMAPISESSION session;
	bool unicode;			/* MAPI_UNICODE: default string columns are _W */
	LPSPropTagArray columns;	/* NULL: the daemon's default, not asked for yet */
	json_object *restriction;	/* as sent to the daemon, or NULL */
	json_object *sort;		/* as sent to the daemon, or NULL */
	json_object *rows;		/* the snapshot; NULL when it must be fetched */
	ULONG row_count;		/* the daemon's count of rows in the view */
	ULONG pos;			/* the cursor, 0..length of rows */
};

HRESULT
table_new(LPMAPISESSION s, ULONG flags, LPMAPITABLE *out, char *err, size_t errlen)
{
	LPMAPITABLE t;

	if ((t = calloc(1, sizeof *t)) == NULL) {
		snprintf(err, errlen, "no memory for a table");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	t->obj.kind = OBJ_TABLE;
	t->obj.refs = 1;
	t->session = s;
	IMAPISession_AddRef(s);
	t->unicode = flags & MAPI_UNICODE;
	*out = t;
	return S_OK;
}

void
table_destroy(LPMAPITABLE t)
{
	/* MAPI: releasing a table cancels its notifications. */
	session_unadvise_table(t->session, t);
	MAPIFreeBuffer(t->columns);
	json_object_put(t->restriction);
	json_object_put(t->sort);
	json_object_put(t->rows);
	IMAPISession_Release(t->session);
	free(t);
}

/* The view changed: the next read fetches it again. */
static void
table_drop(LPMAPITABLE t)
{
	json_object_put(t->rows);
	t->rows = NULL;
}

static HRESULT
tags_copy(const SPropTagArray *src, LPSPropTagArray *out)
{
	if (MAPIAllocateBuffer(CbSPropTagArray(src), (void **)out) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	memcpy(*out, src, CbSPropTagArray(src));
	return S_OK;
}

/* Every column of the status table: what the daemon sends when it is
 * given none, read off the keys of one row. */
static HRESULT
table_all_columns(LPMAPITABLE t, LPSPropTagArray *out, char *err, size_t errlen)
{
	json_object *params = json_object_new_object(), *reply, *rows, *row;
	HRESULT hr;

	json_object_object_add(params, "max_rows", json_object_new_int(1));
	hr = session_call(t->session, PROTO_OP_STATUS_QUERY, params, &reply, err, errlen);
	json_object_put(params);
	if (FAILED(hr))
		return hr;
	if (!json_object_object_get_ex(reply, "rows", &rows) ||
	    !json_object_is_type(rows, json_type_array) ||
	    (row = json_object_array_get_idx(rows, 0)) == NULL ||
	    !json_object_is_type(row, json_type_object)) {
		json_object_put(reply);
		snprintf(err, errlen, "the status table sent no row to take its columns from");
		return MAPI_E_CORRUPT_DATA;
	}
	hr = tags_from_keys(row, t->unicode, out, err, errlen);
	json_object_put(reply);
	return hr;
}

static HRESULT
table_columns(LPMAPITABLE t, char *err, size_t errlen)
{
	if (t->columns != NULL)
		return S_OK;
	return table_all_columns(t, &t->columns, err, errlen);
}

/* Make sure the snapshot of the current view is there. */
static HRESULT
table_fetch(LPMAPITABLE t, char *err, size_t errlen)
{
	json_object *params, *reply, *rows, *count;
	HRESULT hr;

	if (t->rows != NULL)
		return S_OK;
	if ((hr = table_columns(t, err, errlen)) != S_OK)
		return hr;
	params = json_object_new_object();
	json_object_object_add(params, "columns", proto_tags_to_json(t->columns));
	if (t->restriction != NULL)
		json_object_object_add(params, "restriction", json_object_get(t->restriction));
	if (t->sort != NULL)
		json_object_object_add(params, "sort", json_object_get(t->sort));
	hr = session_call(t->session, PROTO_OP_STATUS_QUERY, params, &reply, err, errlen);
	json_object_put(params);
	if (FAILED(hr))
		return hr;
	if (!json_object_object_get_ex(reply, "rows", &rows) ||
	    !json_object_is_type(rows, json_type_array)) {
		json_object_put(reply);
		snprintf(err, errlen, "a status.query reply has no \"rows\"");
		return MAPI_E_CORRUPT_DATA;
	}
	t->rows = json_object_get(rows);
	t->row_count = json_object_object_get_ex(reply, "row_count", &count) &&
			       json_object_is_type(count, json_type_int)
		       ? (ULONG)json_object_get_int64(count)
		       : (ULONG)json_object_array_length(rows);
	if (t->pos > json_object_array_length(rows))
		t->pos = (ULONG)json_object_array_length(rows);
	json_object_put(reply);
	return S_OK;
}

HRESULT
IMAPITable_SetColumns(LPMAPITABLE lpTable, LPSPropTagArray lpPropTagArray, ULONG ulFlags)
{
	LPSPropTagArray copy;

	if (!obj_is(lpTable, OBJ_TABLE))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "SetColumns needs a table");
	if (ulFlags & ~VIEW_FLAGS)
		return obj_fail(&lpTable->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown SetColumns flags 0x%08x", ulFlags & ~VIEW_FLAGS);
	if (lpPropTagArray == NULL || lpPropTagArray->cValues == 0 ||
	    lpPropTagArray->cValues > PROTO_MAX_TAGS)
		return obj_fail(&lpTable->obj, MAPI_E_INVALID_PARAMETER,
				"SetColumns needs 1 to %d columns", PROTO_MAX_TAGS);
	if (tags_copy(lpPropTagArray, &copy) != S_OK)
		return obj_result(&lpTable->obj, MAPI_E_NOT_ENOUGH_MEMORY, NULL);
	MAPIFreeBuffer(lpTable->columns);
	lpTable->columns = copy;
	table_drop(lpTable);
	return obj_result(&lpTable->obj, S_OK, NULL);
}

HRESULT
IMAPITable_QueryColumns(LPMAPITABLE lpTable, ULONG ulFlags, LPSPropTagArray *lpPropTagArray)
{
	char err[CLIENT_ERR_MAX] = "";
	HRESULT hr;

	if (!obj_is(lpTable, OBJ_TABLE) || lpPropTagArray == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"QueryColumns needs a table and somewhere to put the columns");
	*lpPropTagArray = NULL;
	if (ulFlags & ~TBL_ALL_COLUMNS)
		return obj_fail(&lpTable->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown QueryColumns flags 0x%08x", ulFlags & ~TBL_ALL_COLUMNS);
	if (ulFlags & TBL_ALL_COLUMNS)
		hr = table_all_columns(lpTable, lpPropTagArray, err, sizeof err);
	else if ((hr = table_columns(lpTable, err, sizeof err)) == S_OK)
		hr = tags_copy(lpTable->columns, lpPropTagArray);
	return obj_result(&lpTable->obj, hr, err);
}

HRESULT
IMAPITable_Restrict(LPMAPITABLE lpTable, LPSRestriction lpRestriction, ULONG ulFlags)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *j = NULL;
	HRESULT hr;

	if (!obj_is(lpTable, OBJ_TABLE))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "Restrict needs a table");
	if (ulFlags & ~VIEW_FLAGS)
		return obj_fail(&lpTable->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown Restrict flags 0x%08x", ulFlags & ~VIEW_FLAGS);
	/* Encoding now is the deep copy MAPI asks for: the caller may free
	 * its restriction as soon as we return. */
	if (lpRestriction != NULL &&
	    (hr = restriction_to_json(lpRestriction, &j, err, sizeof err)) != S_OK)
		return obj_result(&lpTable->obj, hr, err);
	json_object_put(lpTable->restriction);
	lpTable->restriction = j;
	table_drop(lpTable);
	lpTable->pos = 0;
	return obj_result(&lpTable->obj, S_OK, NULL);
}

HRESULT
IMAPITable_SortTable(LPMAPITABLE lpTable, LPSSortOrderSet lpSortCriteria, ULONG ulFlags)
{
	json_object *j = NULL;
	ULONG i;

	if (!obj_is(lpTable, OBJ_TABLE) || lpSortCriteria == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"SortTable needs a table and a sort order");
	if (ulFlags & ~VIEW_FLAGS)
		return obj_fail(&lpTable->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown SortTable flags 0x%08x", ulFlags & ~VIEW_FLAGS);
	if (lpSortCriteria->cCategories != 0 || lpSortCriteria->cSorts > PROTO_MAX_TAGS)
		return obj_fail(&lpTable->obj, MAPI_E_TOO_COMPLEX,
				"the status table sorts on at most %d keys, with no categories",
				PROTO_MAX_TAGS);
	for (i = 0; i < lpSortCriteria->cSorts; i++)
		if (lpSortCriteria->aSort[i].ulOrder != TABLE_SORT_ASCEND &&
		    lpSortCriteria->aSort[i].ulOrder != TABLE_SORT_DESCEND)
			return obj_fail(&lpTable->obj, MAPI_E_TOO_COMPLEX,
					"sort order %u is neither ascending nor descending",
					lpSortCriteria->aSort[i].ulOrder);
	/* No keys: back to the table's own order. */
	if (lpSortCriteria->cSorts > 0 && (j = proto_sort_to_json(lpSortCriteria)) == NULL)
		return obj_result(&lpTable->obj, MAPI_E_NOT_ENOUGH_MEMORY, NULL);
	json_object_put(lpTable->sort);
	lpTable->sort = j;
	table_drop(lpTable);
	lpTable->pos = 0;
	return obj_result(&lpTable->obj, S_OK, NULL);
}

HRESULT
IMAPITable_SeekRow(LPMAPITABLE lpTable, BOOKMARK bkOrigin, LONG lRowCount,
		   LONG *lplRowsSought)
{
	char err[CLIENT_ERR_MAX] = "";
	int64_t origin, target, n;
	HRESULT hr;

	if (!obj_is(lpTable, OBJ_TABLE))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "SeekRow needs a table");
	if (bkOrigin != BOOKMARK_BEGINNING && bkOrigin != BOOKMARK_CURRENT &&
	    bkOrigin != BOOKMARK_END)
		return obj_fail(&lpTable->obj, MAPI_E_INVALID_BOOKMARK, "unknown bookmark %u",
				bkOrigin);
	if (bkOrigin == BOOKMARK_BEGINNING) {
		table_drop(lpTable);
		lpTable->pos = 0;
		/* Rewinding needs no rows yet: the next read fetches them. */
		if (lRowCount <= 0) {
			if (lplRowsSought != NULL)
				*lplRowsSought = 0;
			return obj_result(&lpTable->obj, S_OK, NULL);
		}
	}
	if ((hr = table_fetch(lpTable, err, sizeof err)) != S_OK)
		return obj_result(&lpTable->obj, hr, err);
	n = (int64_t)json_object_array_length(lpTable->rows);
	origin = bkOrigin == BOOKMARK_BEGINNING ? 0 : bkOrigin == BOOKMARK_CURRENT ? lpTable->pos : n;
	/* Seeking past either end stops there, as MAPI does. */
	target = origin + lRowCount;
	target = target < 0 ? 0 : target > n ? n : target;
	lpTable->pos = (ULONG)target;
	if (lplRowsSought != NULL)
		*lplRowsSought = (LONG)(target - origin);
	return obj_result(&lpTable->obj, S_OK, NULL);
}

HRESULT
IMAPITable_GetRowCount(LPMAPITABLE lpTable, ULONG ulFlags, ULONG *lpulCount)
{
	char err[CLIENT_ERR_MAX] = "";
	HRESULT hr;

	if (!obj_is(lpTable, OBJ_TABLE) || lpulCount == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"GetRowCount needs a table and somewhere to put the count");
	if (ulFlags != 0)
		return obj_fail(&lpTable->obj, MAPI_E_UNKNOWN_FLAGS,
				"GetRowCount's flags are reserved and must be 0");
	if ((hr = table_fetch(lpTable, err, sizeof err)) == S_OK)
		*lpulCount = lpTable->row_count;
	return obj_result(&lpTable->obj, hr, err);
}

/* Rows pos..pos+n of the snapshot, each row's values in a block of its
 * own, as MAPI promises. */
static HRESULT
table_rows(LPMAPITABLE t, ULONG n, LPSRowSet *out, char *err, size_t errlen)
{
	LPSRowSet set;
	LPSPropValue props;
	HRESULT hr;

	if (MAPIAllocateBuffer(CbNewSRowSet(n), (void **)&set) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	for (set->cRows = 0; set->cRows < n; set->cRows++) {
		hr = proto_row_from_json(json_object_array_get_idx(t->rows, t->pos + set->cRows),
					 t->columns, &props, err, errlen);
		if (hr != S_OK) {
			FreeProws(set);
			return hr;
		}
		set->aRow[set->cRows].ulAdrEntryPad = 0;
		set->aRow[set->cRows].cValues = t->columns->cValues;
		set->aRow[set->cRows].lpProps = props;
	}
	*out = set;
	return S_OK;
}

HRESULT
IMAPITable_QueryRows(LPMAPITABLE lpTable, LONG lRowCount, ULONG ulFlags, LPSRowSet *lppRows)
{
	char err[CLIENT_ERR_MAX] = "";
	ULONG left, n;
	HRESULT hr;

	if (!obj_is(lpTable, OBJ_TABLE) || lppRows == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"QueryRows needs a table and somewhere to put the rows");
	*lppRows = NULL;
	if (ulFlags & ~TBL_NOADVANCE)
		return obj_fail(&lpTable->obj, MAPI_E_UNKNOWN_FLAGS,
				"unknown QueryRows flags 0x%08x", ulFlags & ~TBL_NOADVANCE);
	if (lRowCount <= 0)
		return obj_fail(&lpTable->obj, MAPI_E_INVALID_PARAMETER,
				"QueryRows reads forward only: lRowCount must be positive");
	if ((hr = table_fetch(lpTable, err, sizeof err)) != S_OK)
		return obj_result(&lpTable->obj, hr, err);
	left = (ULONG)json_object_array_length(lpTable->rows) - lpTable->pos;
	n = (ULONG)lRowCount < left ? (ULONG)lRowCount : left;
	if ((hr = table_rows(lpTable, n, lppRows, err, sizeof err)) == S_OK &&
	    !(ulFlags & TBL_NOADVANCE))
		lpTable->pos += n;
	return obj_result(&lpTable->obj, hr, err);
}

HRESULT
IMAPITable_Advise(LPMAPITABLE lpTable, ULONG ulEventMask, LPMAPIADVISESINK lpAdviseSink,
		  ULONG *lpulConnection)
{
	char err[CLIENT_ERR_MAX] = "";
	json_object *params, *reply;
	ULONG connection;
	HRESULT hr;

	if (!obj_is(lpTable, OBJ_TABLE) || !obj_is(lpAdviseSink, OBJ_SINK) ||
	    lpulConnection == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"Advise needs a table, an advise sink and somewhere to put the"
				" connection");
	*lpulConnection = 0;
	if (ulEventMask != fnevTableModified)
		return obj_fail(&lpTable->obj, MAPI_E_NO_SUPPORT,
				"the status table notifies fnevTableModified only, not 0x%08x",
				ulEventMask);
	if ((hr = table_columns(lpTable, err, sizeof err)) != S_OK)
		return obj_result(&lpTable->obj, hr, err);
	params = json_object_new_object();
	json_object_object_add(params, "columns", proto_tags_to_json(lpTable->columns));
	if (lpTable->restriction != NULL)
		json_object_object_add(params, "restriction",
				       json_object_get(lpTable->restriction));
	hr = session_call(lpTable->session, PROTO_OP_ADVISE, params, &reply, err, sizeof err);
	json_object_put(params);
	if (FAILED(hr))
		return obj_result(&lpTable->obj, hr, err);
	connection = (ULONG)member_int(reply, "connection");
	json_object_put(reply);
	if (connection == 0)
		return obj_fail(&lpTable->obj, MAPI_E_CORRUPT_DATA,
				"an advise reply has no \"connection\"");
	/* Out of memory here, the daemon's subscription stays until the
	 * session ends; its events are dropped as an unknown connection's. */
	if ((hr = session_advise(lpTable->session, lpTable, connection, lpAdviseSink,
				 lpTable->columns)) != S_OK)
		return obj_result(&lpTable->obj, hr, NULL);
	*lpulConnection = connection;
	return obj_result(&lpTable->obj, S_OK, NULL);
}

HRESULT
IMAPITable_Unadvise(LPMAPITABLE lpTable, ULONG ulConnection)
{
	char err[CLIENT_ERR_MAX] = "";

	if (!obj_is(lpTable, OBJ_TABLE))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "Unadvise needs a table");
	return obj_result(&lpTable->obj,
			  session_unadvise(lpTable->session, lpTable, ulConnection, err, sizeof err),
			  err);
}

HRESULT
IMAPITable_GetLastError(LPMAPITABLE lpTable, HRESULT hResult, ULONG ulFlags,
			LPMAPIERROR *lppMAPIError)
{
	if (!obj_is(lpTable, OBJ_TABLE))
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER, "GetLastError needs a table");
	return obj_result(NULL, obj_get_last_error(&lpTable->obj, hResult, ulFlags,
						   lppMAPIError), NULL);
}

ULONG
IMAPITable_AddRef(LPMAPITABLE lpTable)
{
	return IUnknown_AddRef((LPUNKNOWN)lpTable);
}

ULONG
IMAPITable_Release(LPMAPITABLE lpTable)
{
	return IUnknown_Release((LPUNKNOWN)lpTable);
}
