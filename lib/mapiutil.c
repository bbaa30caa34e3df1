/*
 * mapiutil.c — MAPI's helpers for tables and property arrays.
 */
#include <config.h>

#include <stdint.h>

#include "client.h"

HRESULT
HrQueryAllRows(LPMAPITABLE lpTable, LPSPropTagArray lpPropTags, LPSRestriction lpRestriction,
	       LPSSortOrderSet lpSortOrderSet, LONG crowsMax, LPSRowSet *lppRows)
{
	ULONG count;
	HRESULT hr;

	if (lppRows != NULL)
		*lppRows = NULL;
	if (!obj_is(lpTable, OBJ_TABLE) || lppRows == NULL || crowsMax < 0)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"HrQueryAllRows needs a table, a place for the rows and crowsMax >= 0");
	/* Each step records its own error on the table. */
	if ((lpPropTags != NULL && FAILED(hr = IMAPITable_SetColumns(lpTable, lpPropTags, 0))) ||
	    (lpRestriction != NULL &&
	     FAILED(hr = IMAPITable_Restrict(lpTable, lpRestriction, 0))) ||
	    (lpSortOrderSet != NULL &&
	     FAILED(hr = IMAPITable_SortTable(lpTable, lpSortOrderSet, 0))) ||
	    FAILED(hr = IMAPITable_SeekRow(lpTable, BOOKMARK_BEGINNING, 0, NULL)) ||
	    FAILED(hr = IMAPITable_GetRowCount(lpTable, 0, &count)))
		return hr;
	if (crowsMax > 0 && count > (ULONG)crowsMax)
		return obj_fail(&((LPUNKNOWN)lpTable)->obj, MAPI_E_TABLE_TOO_BIG,
				"the table has %u rows, more than the %d asked for", count, crowsMax);
	/* Every row the snapshot holds, whatever the count said. */
	return IMAPITable_QueryRows(lpTable, INT32_MAX, 0, lppRows);
}

void
FreeProws(LPSRowSet lpRows)
{
	ULONG i;

	if (lpRows == NULL)
		return;
	for (i = 0; i < lpRows->cRows; i++)
		MAPIFreeBuffer(lpRows->aRow[i].lpProps);
	MAPIFreeBuffer(lpRows);
}

LPSPropValue
PpropFindProp(LPSPropValue lpPropArray, ULONG cValues, ULONG ulPropTag)
{
	bool any_type = PROP_TYPE(ulPropTag) == PT_UNSPECIFIED;
	ULONG i;

	if (lpPropArray == NULL)
		return NULL;
	for (i = 0; i < cValues; i++)
		if (lpPropArray[i].ulPropTag == ulPropTag ||
		    (any_type && PROP_ID(lpPropArray[i].ulPropTag) == PROP_ID(ulPropTag)))
			return &lpPropArray[i];
	return NULL;
}
