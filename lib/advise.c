/*
 * advise.c — advise sinks (HrAllocAdviseSink, IMAPIAdviseSink) and the
 * decoding of the status table's notifications for them.
 *
 * A sink is a callback and its context behind a reference count, as
 * MAPI's HrAllocAdviseSink makes one.  The session keeps which advise
 * connection goes to which sink (session.c); mapispool_dispatch hands each
 * table.notification event here to become a NOTIFICATION.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "propval.h"
#include "protocol.h"

struct IMAPIAdviseSink {
	struct obj obj;
	LPNOTIFCALLBACK callback;
	void *ctx;
};

HRESULT
HrAllocAdviseSink(LPNOTIFCALLBACK lpfnCallback, LPVOID lpvContext,
		  LPMAPIADVISESINK *lppAdviseSink)
{
	LPMAPIADVISESINK sink;

	if (lppAdviseSink != NULL)
		*lppAdviseSink = NULL;
	if (lpfnCallback == NULL || lppAdviseSink == NULL)
		return obj_fail(NULL, MAPI_E_INVALID_PARAMETER,
				"HrAllocAdviseSink needs a callback and somewhere to put the sink");
	if ((sink = calloc(1, sizeof *sink)) == NULL)
		return obj_result(NULL, MAPI_E_NOT_ENOUGH_MEMORY, NULL);
	sink->obj.kind = OBJ_SINK;
	sink->obj.refs = 1;
	sink->callback = lpfnCallback;
	sink->ctx = lpvContext;
	*lppAdviseSink = sink;
	return obj_result(NULL, S_OK, NULL);
}

void
sink_destroy(LPMAPIADVISESINK sink)
{
	free(sink);
}

ULONG
IMAPIAdviseSink_OnNotify(LPMAPIADVISESINK lpSink, ULONG cNotif, LPNOTIFICATION lpNotifications)
{
	if (!obj_is(lpSink, OBJ_SINK))
		return 0;
	return (ULONG)lpSink->callback(lpSink->ctx, cNotif, lpNotifications);
}

ULONG
IMAPIAdviseSink_AddRef(LPMAPIADVISESINK lpSink)
{
	return IUnknown_AddRef((LPUNKNOWN)lpSink);
}

ULONG
IMAPIAdviseSink_Release(LPMAPIADVISESINK lpSink)
{
	return IUnknown_Release((LPUNKNOWN)lpSink);
}

static const struct {
	const char *name;
	ULONG event;
} table_events[] = {
	{ "TABLE_CHANGED", TABLE_CHANGED },
	{ "TABLE_ERROR", TABLE_ERROR },
	{ "TABLE_ROW_ADDED", TABLE_ROW_ADDED },
	{ "TABLE_ROW_DELETED", TABLE_ROW_DELETED },
	{ "TABLE_ROW_MODIFIED", TABLE_ROW_MODIFIED },
	{ "TABLE_SORT_DONE", TABLE_SORT_DONE },
	{ "TABLE_RESTRICT_DONE", TABLE_RESTRICT_DONE },
	{ "TABLE_SETCOL_DONE", TABLE_SETCOL_DONE },
	{ "TABLE_RELOAD", TABLE_RELOAD },
};

static bool
table_event_parse(const char *name, ULONG *event)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof table_events / sizeof table_events[0]; i++) {
		if (strcmp(table_events[i].name, name) == 0) {
			*event = table_events[i].event;
			return true;
		}
	}
	return false;
}

/* PR_INSTANCE_KEY from the hex member key, chained to parent; PR_NULL when
 * there is none (the first row has no prior one; a reload names no row). */
static HRESULT
instance_key(json_object *ev, const char *key, void *parent, SPropValue *out)
{
	const char *hex = member_string(ev, key);
	size_t len = hex != NULL ? strlen(hex) : 0;
	void *p;

	memset(out, 0, sizeof *out);
	out->ulPropTag = PR_NULL;
	if (len == 0 || len % 2 != 0)
		return S_OK;
	if (MAPIAllocateMore((ULONG)(len / 2), parent, &p) != S_OK)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	if (!hex_decode(hex, len, p))
		return S_OK;
	out->ulPropTag = PR_INSTANCE_KEY;
	out->Value.bin.cb = (ULONG)(len / 2);
	out->Value.bin.lpb = p;
	return S_OK;
}

void
advise_deliver(LPMAPIADVISESINK sink, const SPropTagArray *cols, json_object *ev)
{
	char err[CLIENT_ERR_MAX];
	LPNOTIFICATION n;
	TABLE_NOTIFICATION *tab;
	LPSPropValue props = NULL;
	json_object *row;
	ULONG event;
	HRESULT hr;

	/* A kind of event this library does not know is ignored, as readers
	 * ignore what they do not know. */
	if (!table_event_parse(member_string(ev, "table_event"), &event))
		return;
	if (MAPIAllocateBuffer(sizeof *n, (void **)&n) != S_OK)
		return;
	memset(n, 0, sizeof *n);
	n->ulEventType = fnevTableModified;
	tab = &n->info.tab;
	tab->ulTableEvent = event;
	tab->hResult = S_OK;
	if (instance_key(ev, "instance_key", n, &tab->propIndex) != S_OK ||
	    instance_key(ev, "prior_instance_key", n, &tab->propPrior) != S_OK) {
		MAPIFreeBuffer(n);
		return;
	}
	/* A row that cannot be decoded still tells the sink the table
	 * changed: as MAPI's TABLE_ERROR, with the reason. */
	if (json_object_object_get_ex(ev, "row", &row) &&
	    json_object_is_type(row, json_type_object)) {
		hr = proto_row_from_json(row, cols, &props, err, sizeof err);
		if (hr == S_OK) {
			tab->row.cValues = cols->cValues;
			tab->row.lpProps = props;
		} else {
			tab->ulTableEvent = TABLE_ERROR;
			tab->hResult = hr;
		}
	}
	IMAPIAdviseSink_OnNotify(sink, 1, n);
	MAPIFreeBuffer(props);
	MAPIFreeBuffer(n);
}
