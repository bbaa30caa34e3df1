/*
 * status_table.h — the status table: one row per status object (subsystem,
 * spooler, store, transports), the columns MAPI computes for every row, and
 * queries with columns, restriction, sort order and row limit.
 *
 * The table owns the rows' values; whoever owns the object (the spooler)
 * changes them through the setters, so the table can tell watchers later.
 * The fields below are read by anyone but written only by status_table.c:
 * every setter marks the table changed, which is what keeps the serialised
 * rows of status_table_default_rows() from ever going stale.  A direct
 * write (o->status_code = ...) would bypass that.
 */
#ifndef MAPISPOOLD_STATUS_TABLE_H
#define MAPISPOOLD_STATUS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

#include "entryid.h"

/* Values per row: the fixed MAPI columns plus room for the optional ones. */
#define STATUS_ROW_MAX_PROPS 20

struct status_obj {
	enum entryid_kind kind;
	char name[CONFIG_NAME_MAX + 1];
	BYTE entryid[ENTRYID_MAX];
	size_t entryid_len;
	ULONG rowid;			/* PR_ROWID; PR_INSTANCE_KEY is its bytes */
	ULONG resource_type;		/* MAPI_SPOOLER, ... */
	ULONG methods;			/* PR_RESOURCE_METHODS */
	ULONG resource_flags;		/* PR_RESOURCE_FLAGS */
	ULONG status_code;		/* PR_STATUS_CODE */
	LONG remote_progress;		/* PR_REMOTE_PROGRESS, -1 when idle */
	char *display_name;		/* PR_DISPLAY_NAME */
	char *provider_display;		/* PR_PROVIDER_DISPLAY */
	char *dll_name;			/* PR_PROVIDER_DLL_NAME */
	char *status_string;		/* PR_STATUS_STRING */
	char *progress_text;		/* PR_REMOTE_PROGRESS_TEXT */
	char *identity;			/* PR_IDENTITY_DISPLAY, or NULL */
	int needs_ui;			/* PR_MAPISPOOL_NEEDS_UI; -1: not in the row */
	bool detached;			/* out of the table: nobody hears of it */
	struct status_table *table;	/* NULL once detached */
};

struct status_table;

struct status_table *status_table_new(void);
void status_table_free(struct status_table *t);

/* Append a row for (kind, name), with the given fixed facts.  Strings are
 * copied.  NULL if out of memory or the name cannot make an entry ID. */
struct status_obj *status_table_add(struct status_table *t, enum entryid_kind kind,
				    const char *name, ULONG resource_type, const char *display,
				    const char *provider_display, const char *dll_name);

size_t status_table_count(const struct status_table *t);
struct status_obj *status_table_row(const struct status_table *t, size_t i);

/* The object with this entry ID: MAPI_E_INVALID_ENTRYID if malformed,
 * MAPI_E_UNKNOWN_ENTRYID if no object has it. */
HRESULT status_table_lookup(const struct status_table *t, const BYTE *eid, size_t len,
			    struct status_obj **out);

/* Whoever must hear of row changes (the advise sinks' registry): event is
 * TABLE_ROW_MODIFIED, TABLE_ROW_ADDED (o was just added) or
 * TABLE_ROW_DELETED (o is about to go). */
typedef void (*status_observer_fn)(void *ctx, const struct status_obj *o, int event);
void status_table_set_observer(struct status_table *t, status_observer_fn fn, void *ctx);

/* The owner of o changed it: tell the observer. */
void status_table_changed(struct status_table *t, const struct status_obj *o);

/* Take o out of the table and free it (observers hear first). */
void status_table_remove(struct status_table *t, struct status_obj *o);

/* Take o out of the table (observers hear) but keep it: its owner still
 * updates it a while, then frees it with status_obj_destroy. */
void status_table_detach(struct status_table *t, struct status_obj *o);
void status_obj_destroy(struct status_obj *o);

/* Put the rows in this order: rows[0..n) first, in that order, then the
 * others as they were.  (A reload reorders the transports.) */
void status_table_order(struct status_table *t, struct status_obj *const *rows, size_t n);

/* A row was added by its owner after the start: tell the observer. */
void status_table_added(struct status_table *t, const struct status_obj *o);

/* Setters (strings copied; NULL clears).  The only way to change a row:
 * each one marks its table changed (the cached rows are rebuilt on the
 * next query).  Telling watchers is still status_table_changed's job. */
int status_obj_set_string(struct status_obj *o, const char *s);
int status_obj_set_identity(struct status_obj *o, const char *s);
int status_obj_set_progress(struct status_obj *o, LONG progress, const char *text);
void status_obj_set_methods(struct status_obj *o, ULONG methods);
void status_obj_set_resource_flags(struct status_obj *o, ULONG flags);
void status_obj_set_status_code(struct status_obj *o, ULONG code);
void status_obj_set_needs_ui(struct status_obj *o, int needs_ui);

/* Every value of o, in the table's default column order, pointing into o
 * (valid until o changes).  Returns the count. */
ULONG status_obj_props(const struct status_obj *o, SPropValue props[STATUS_ROW_MAX_PROPS]);

/* The default columns, in order (the columns of every row, optional ones
 * included). */
const SPropTagArray *status_table_default_columns(void);

/* o's values for cols as a JSON object keyed by the canonical column
 * names; a value o lacks is {"error":"MAPI_E_NOT_FOUND"}, and *missing
 * counts those.  cols NULL: every value o has, and nothing missing. */
json_object *status_obj_to_json(const struct status_obj *o, const SPropTagArray *cols,
				ULONG *missing);

/* The rows matching res (NULL: all), ordered by sort (NULL: table order),
 * at most max_rows of them (0: all), in the columns cols (NULL: default).
 * *rows is a new JSON array; *row_count the number that matched. */
HRESULT status_table_query(const struct status_table *t, const SPropTagArray *cols,
			   const SRestriction *res, const SSortOrderSet *sort, ULONG max_rows,
			   json_object **rows, ULONG *row_count);

/* The rows of the default query (every row, in the default columns and in
 * table order: status_table_query(t, NULL, NULL, NULL, 0, ...)) as the
 * compact JSON text of their array, byte for byte what proto_to_string
 * makes of that query's rows, and *count their number.  Built on the
 * first call after a change and kept until the next one: any setter,
 * status_table_add/added/changed/detach/remove/order.  A monitor polling
 * the table then costs a copy, not a tree of JSON objects.  Owned by t,
 * valid until t next changes; NULL if out of memory. */
const char *status_table_default_rows(struct status_table *t, size_t *len, ULONG *count);

#endif
