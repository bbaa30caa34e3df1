/*
 * mapi_helpers.c — see mapi_helpers.h.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "mapi_helpers.h"

LPMAPISTATUS
mapi_open_status(LPMAPISESSION session, const char *name)
{
	SizedSPropTagArray(2, cols) = { 2, { PR_ENTRYID, PR_DISPLAY_NAME_A } };
	LPMAPITABLE table = NULL;
	LPSRowSet rows = NULL;
	LPMAPISTATUS status = NULL;
	ULONG objtype;

	ck_assert_int_eq(IMAPISession_GetStatusTable(session, 0, &table), S_OK);
	ck_assert_int_eq(HrQueryAllRows(table, (LPSPropTagArray)&cols, NULL, NULL, 0, &rows),
			 S_OK);
	for (ULONG i = 0; i < rows->cRows && status == NULL; i++) {
		LPSPropValue p = rows->aRow[i].lpProps;

		if (PROP_TYPE(p[1].ulPropTag) != PT_STRING8 || strcmp(p[1].Value.lpszA, name) != 0)
			continue;
		ck_assert_int_eq(IMAPISession_OpenEntry(session, p[0].Value.bin.cb,
							(LPENTRYID)p[0].Value.bin.lpb,
							&IID_IMAPIStatus, MAPI_BEST_ACCESS, &objtype,
							(LPUNKNOWN *)&status),
				 S_OK);
	}
	FreeProws(rows);
	IMAPITable_Release(table);
	ck_assert_msg(status != NULL, "no status row named %s", name);
	return status;
}

HRESULT
mapi_flush_transport(LPMAPISESSION session, const char *name, ULONG flags,
		     MAPISPOOL_FLUSH_RESULT *res, char *error, size_t errlen)
{
	LPMAPISTATUS st = mapi_open_status(session, name);
	MAPISPOOL_FLUSH_RESULT *all = NULL;
	HRESULT hr;
	ULONG n = 0;

	hr = IMAPIStatus_FlushQueues(st, 0, 0, NULL, flags);
	ck_assert_int_eq(mapispool_flush_results(st, &n, &all), S_OK);
	ck_assert_uint_eq(n, 1);
	if (res != NULL)
		*res = all[0];
	if (error != NULL)
		snprintf(error, errlen, "%s", all[0].lpszError ? all[0].lpszError : "");
	MAPIFreeBuffer(all);
	IMAPIStatus_Release(st);
	return hr;
}
