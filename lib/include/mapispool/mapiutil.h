/*
 * mapiutil.h — MAPI's helper functions that the seed's procedures use.
 */
#ifndef MAPISPOOL_MAPIUTIL_H
#define MAPISPOOL_MAPIUTIL_H

#include <mapispool/mapix.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sets columns, restriction and sort order on lpTable, then reads every
 * row from the beginning.  crowsMax 0 means no limit; a table with more
 * rows than crowsMax gives MAPI_E_TABLE_TOO_BIG. */
HRESULT HrQueryAllRows(LPMAPITABLE lpTable, LPSPropTagArray lpPropTags,
		       LPSRestriction lpRestriction, LPSSortOrderSet lpSortOrderSet,
		       LONG crowsMax, LPSRowSet *lppRows);

/* Frees a row set and the property arrays of each of its rows. */
void FreeProws(LPSRowSet lpRows);

/* An advise sink whose OnNotify calls lpfnCallback(lpvContext, ...), with
 * one reference (IMAPIAdviseSink_Release).  The notifications it is given
 * are freed when the callback returns: it copies what it keeps. */
HRESULT HrAllocAdviseSink(LPNOTIFCALLBACK lpfnCallback, LPVOID lpvContext,
			  LPMAPIADVISESINK *lppAdviseSink);

/* The first property in lpPropArray with the tag ulPropTag (a tag of type
 * PT_UNSPECIFIED matches any type with that identifier), or NULL. */
LPSPropValue PpropFindProp(LPSPropValue lpPropArray, ULONG cValues, ULONG ulPropTag);

#ifdef __cplusplus
}
#endif

#endif /* MAPISPOOL_MAPIUTIL_H */
