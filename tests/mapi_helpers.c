/*
 * mapi_helpers.c — see mapi_helpers.h.
 */
#include <config.h>

#include <check.h>
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
