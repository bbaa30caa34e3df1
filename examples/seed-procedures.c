/*
 * seed-procedures.c — "Sending or receiving a message on demand", the two
 * procedures of MAPI's documentation, written as for Windows MAPI: only
 * MAPI's headers and calls.  Build: cc seed-procedures.c
 * $(pkg-config --cflags --libs mapispool)
 *
 * Procedure 1 finds the spooler's status object and flushes every queue
 * through it; procedure 2 visits every transport and flushes it with its
 * own FlushQueues, or with the spooler's and its entry ID as the target.
 */
#include <stdio.h>

#include <mapix.h>
#include <mapiutil.h>
#include <mapispool.h>

static void
report(const char *what, HRESULT hr)
{
	fprintf(stderr, "%s: %s (0x%08X)\n", what, mapispool_strerror(hr), (unsigned)hr);
	if (*mapispool_last_error() != '\0')
		fprintf(stderr, "  %s\n", mapispool_last_error());
}

/* Procedure 1, steps 1-5: the spooler's status object. */
static HRESULT
open_spooler(LPMAPISESSION lpSession, LPMAPISTATUS *lppSpooler, LPSRowSet *lppRow)
{
	HRESULT hr;
	LPMAPITABLE lpTable = NULL;
	LPSRowSet lpRows = NULL;
	SizedSPropTagArray(2, sptCols) = { 2, { PR_ENTRYID, PR_RESOURCE_TYPE } };
	SPropValue spv;
	SRestriction sres;
	ULONG ulObjType = 0;

	/* 1. the status table */
	hr = IMAPISession_GetStatusTable(lpSession, 0, &lpTable);
	if (FAILED(hr))
		goto done;
	/* 2-4. its PR_ENTRYID and PR_RESOURCE_TYPE columns, restricted to
	 * PR_RESOURCE_TYPE == MAPI_SPOOLER, all rows */
	spv.ulPropTag = PR_RESOURCE_TYPE;
	spv.Value.l = MAPI_SPOOLER;
	sres.rt = RES_PROPERTY;
	sres.res.resProperty.relop = RELOP_EQ;
	sres.res.resProperty.ulPropTag = PR_RESOURCE_TYPE;
	sres.res.resProperty.lpProp = &spv;
	hr = HrQueryAllRows(lpTable, (LPSPropTagArray)&sptCols, &sres, NULL, 0, &lpRows);
	if (FAILED(hr))
		goto done;
	if (lpRows->cRows != 1) {
		hr = MAPI_E_NOT_FOUND;
		goto done;
	}
	/* 5. open the spooler's status object by its entry ID */
	hr = IMAPISession_OpenEntry(lpSession, lpRows->aRow[0].lpProps[0].Value.bin.cb,
				    (LPENTRYID)lpRows->aRow[0].lpProps[0].Value.bin.lpb,
				    &IID_IMAPIStatus, MAPI_BEST_ACCESS, &ulObjType,
				    (LPUNKNOWN *)lppSpooler);
	if (SUCCEEDED(hr)) {
		*lppRow = lpRows;
		lpRows = NULL;
	}
done:
	FreeProws(lpRows);
	if (lpTable)
		IMAPITable_Release(lpTable);
	return hr;
}

/* Procedure 2: each transport, flushed by itself or by the spooler. */
static HRESULT
visit_transports(LPMAPISESSION lpSession, LPMAPISTATUS lpSpooler)
{
	HRESULT hr;
	LPMAPITABLE lpTable = NULL;
	LPSRowSet lpRows = NULL;
	SizedSPropTagArray(3, sptCols) = { 3, { PR_ENTRYID, PR_RESOURCE_TYPE, PR_DISPLAY_NAME } };
	SizedSPropTagArray(1, sptMethods) = { 1, { PR_RESOURCE_METHODS } };
	SPropValue spv;
	SRestriction sres;

	hr = IMAPISession_GetStatusTable(lpSession, 0, &lpTable);
	if (FAILED(hr))
		goto done;
	spv.ulPropTag = PR_RESOURCE_TYPE;
	spv.Value.l = MAPI_TRANSPORT_PROVIDER;
	sres.rt = RES_PROPERTY;
	sres.res.resProperty.relop = RELOP_EQ;
	sres.res.resProperty.ulPropTag = PR_RESOURCE_TYPE;
	sres.res.resProperty.lpProp = &spv;
	hr = HrQueryAllRows(lpTable, (LPSPropTagArray)&sptCols, &sres, NULL, 0, &lpRows);
	if (FAILED(hr))
		goto done;
	printf("procedure 2: %u transport(s)\n", (unsigned)lpRows->cRows);
	for (ULONG i = 0; i < lpRows->cRows; i++) {
		LPSPropValue lpProps = lpRows->aRow[i].lpProps;
		LPMAPISTATUS lpStatus = NULL;
		LPSPropValue lpMethods = NULL;
		ULONG ulObjType = 0, cValues = 0;

		/* 5.1 open the transport's status object */
		hr = IMAPISession_OpenEntry(lpSession, lpProps[0].Value.bin.cb,
					    (LPENTRYID)lpProps[0].Value.bin.lpb, &IID_IMAPIStatus,
					    MAPI_BEST_ACCESS, &ulObjType, (LPUNKNOWN *)&lpStatus);
		if (FAILED(hr))
			goto done;
		/* 5.2 does it implement FlushQueues itself? */
		hr = IMAPIStatus_GetProps(lpStatus, (LPSPropTagArray)&sptMethods, 0, &cValues,
					  &lpMethods);
		if (SUCCEEDED(hr)) {
			/* 5.3 its own FlushQueues, else the spooler's with the
			 * transport's entry ID as the target */
			if (PROP_TYPE(lpMethods[0].ulPropTag) == PT_LONG &&
			    (lpMethods[0].Value.l & STATUS_FLUSH_QUEUES)) {
				hr = IMAPIStatus_FlushQueues(lpStatus, 0, 0, NULL,
							     FLUSH_NO_UI | FLUSH_UPLOAD |
								     FLUSH_DOWNLOAD);
				printf("  %-16s its own FlushQueues: %s\n",
				       lpProps[2].Value.lpszA, mapispool_strerror(hr));
			} else {
				hr = IMAPIStatus_FlushQueues(lpSpooler, 0,
							     lpProps[0].Value.bin.cb,
							     (LPENTRYID)lpProps[0].Value.bin.lpb,
							     FLUSH_NO_UI | FLUSH_UPLOAD |
								     FLUSH_DOWNLOAD);
				printf("  %-16s the spooler's FlushQueues, target = its entry ID:"
				       " %s\n", lpProps[2].Value.lpszA, mapispool_strerror(hr));
			}
		}
		MAPIFreeBuffer(lpMethods);
		IMAPIStatus_Release(lpStatus);
		if (FAILED(hr))
			goto done;
	}
done:
	FreeProws(lpRows);
	if (lpTable)
		IMAPITable_Release(lpTable);
	return hr;
}

int
main(void)
{
	HRESULT hr;
	LPMAPISESSION lpSession = NULL;
	LPMAPISTATUS lpSpooler = NULL;
	LPSRowSet lpRow = NULL;
	int status = 1;

	hr = MAPIInitialize(NULL);
	if (FAILED(hr)) {
		report("MAPIInitialize", hr);
		return 1;
	}
	hr = MAPILogonEx(0, NULL, NULL, MAPI_EXTENDED | MAPI_USE_DEFAULT | MAPI_NO_MAIL,
			 &lpSession);
	if (FAILED(hr)) {
		report("MAPILogonEx", hr);
		goto out;
	}
	hr = open_spooler(lpSession, &lpSpooler, &lpRow);
	if (FAILED(hr)) {
		report("procedure 1", hr);
		goto out;
	}
	printf("procedure 1: opened the spooler's status object (entry ID of %u bytes)\n",
	       (unsigned)lpRow->aRow[0].lpProps[0].Value.bin.cb);
	/* 6. flush every queue, without UI, both directions */
	hr = IMAPIStatus_FlushQueues(lpSpooler, 0, 0, NULL,
				     FLUSH_NO_UI | FLUSH_UPLOAD | FLUSH_DOWNLOAD);
	printf("procedure 1: the spooler's FlushQueues: %s\n", mapispool_strerror(hr));
	if (FAILED(hr)) {
		report("procedure 1", hr);
		goto out;
	}
	hr = visit_transports(lpSession, lpSpooler);
	if (FAILED(hr)) {
		report("procedure 2", hr);
		goto out;
	}
	status = 0;
out:
	FreeProws(lpRow);
	if (lpSpooler)
		IMAPIStatus_Release(lpSpooler);
	if (lpSession) {
		IMAPISession_Logoff(lpSession, 0, 0, 0);
		IMAPISession_Release(lpSession);
	}
	MAPIUninitialize();
	return status;
}
