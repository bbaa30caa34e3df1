/*
 * advise.h — table notifications (IMAPITable::Advise on the status table):
 * who watches, in which columns and restriction, and the events they get
 * when a row changes.
 */
#ifndef MAPISPOOLD_ADVISE_H
#define MAPISPOOLD_ADVISE_H

#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

#include "control.h"
#include "status_table.h"

struct advise;

/* Watches t (becomes its observer). */
struct advise *advise_new(struct status_table *t);
void advise_free(struct advise *a);

/* A subscription of cl for rows matching res (NULL: all), sent in cols
 * (NULL: the default columns).  Takes ownership of cols and res
 * (MAPIAllocateBuffer blocks).  Returns the connection number, 0 if out
 * of memory. */
ULONG advise_add(struct advise *a, struct client *cl, LPSPropTagArray cols,
		 LPSRestriction res);

/* MAPI_E_NOT_FOUND unless cl has connection conn. */
HRESULT advise_remove(struct advise *a, struct client *cl, ULONG conn);

/* cl is closing: drop its subscriptions. */
void advise_client_gone(struct advise *a, struct client *cl);

#endif
