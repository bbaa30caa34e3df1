/*
 * status_table.c — rows of status objects and queries over them.
 *
 * The table is small (a handful of objects), so a query evaluates the
 * restriction on every row and sorts the matches: simple, and fast enough
 * that it never shows next to the socket round trip.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mapispool/mapitags.h>

#include "propval.h"
#include "proptag.h"
#include "protocol.h"
#include "restriction.h"
#include "status_table.h"

struct status_table {
	struct status_obj **rows;
	size_t n, cap;
	ULONG next_rowid;
	status_observer_fn observer;
	void *observer_ctx;
	/* Bumped by every change to a row or to the set of rows (see
	 * table_touch); the cached default rows are those of rows_gen. */
	uint64_t generation;
	char *rows_text;		/* NULL: none built yet */
	size_t rows_len;
	ULONG rows_count;
	uint64_t rows_gen;
};

/* The one place a change is recorded: whatever changes a row or the set
 * of rows comes through here, and the cached rows are stale from then on.
 * A detached row has no table: it is in no query. */
static void
table_touch(struct status_table *t)
{
	if (t != NULL)
		t->generation++;
}

/* Table order of the columns; also the order of status_obj_props(). */
static const SizedSPropTagArray(16, default_columns) = {
	16,
	{ PR_ENTRYID, PR_INSTANCE_KEY, PR_ROWID, PR_OBJECT_TYPE, PR_RESOURCE_TYPE,
	  PR_RESOURCE_METHODS, PR_RESOURCE_FLAGS, PR_STATUS_CODE, PR_STATUS_STRING_A,
	  PR_DISPLAY_NAME_A, PR_PROVIDER_DISPLAY_A, PR_PROVIDER_DLL_NAME_A,
	  PR_IDENTITY_DISPLAY_A, PR_REMOTE_PROGRESS, PR_REMOTE_PROGRESS_TEXT_A,
	  PR_MAPISPOOL_NEEDS_UI },
};

const SPropTagArray *
status_table_default_columns(void)
{
	return (const SPropTagArray *)&default_columns;
}

struct status_table *
status_table_new(void)
{
	return calloc(1, sizeof(struct status_table));
}

static void
status_obj_free(struct status_obj *o)
{
	free(o->display_name);
	free(o->provider_display);
	free(o->dll_name);
	free(o->status_string);
	free(o->progress_text);
	free(o->identity);
	free(o);
}

void
status_table_free(struct status_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		status_obj_free(t->rows[i]);
	free(t->rows);
	free(t->rows_text);
	free(t);
}

struct status_obj *
status_table_add(struct status_table *t, enum entryid_kind kind, const char *name,
		 ULONG resource_type, const char *display, const char *provider_display,
		 const char *dll_name)
{
	struct status_obj *o;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct status_obj **rows = reallocarray(t->rows, cap, sizeof(*rows));

		if (rows == NULL)
			return NULL;
		t->rows = rows;
		t->cap = cap;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->kind = kind;
	o->entryid_len = entryid_make(kind, name, o->entryid);
	if (o->entryid_len == 0) {
		free(o);
		return NULL;
	}
	strcpy(o->name, name); /* entryid_make checked its length */
	o->rowid = t->next_rowid++;
	o->resource_type = resource_type;
	o->remote_progress = -1;
	o->needs_ui = -1;
	o->display_name = strdup(display);
	o->provider_display = strdup(provider_display);
	o->dll_name = strdup(dll_name);
	o->status_string = strdup("");
	o->progress_text = strdup("");
	if (!o->display_name || !o->provider_display || !o->dll_name || !o->status_string ||
	    !o->progress_text) {
		status_obj_free(o);
		return NULL;
	}
	o->table = t;
	t->rows[t->n++] = o;
	table_touch(t);
	return o;
}

size_t
status_table_count(const struct status_table *t)
{
	return t->n;
}

struct status_obj *
status_table_row(const struct status_table *t, size_t i)
{
	return i < t->n ? t->rows[i] : NULL;
}

HRESULT
status_table_lookup(const struct status_table *t, const BYTE *eid, size_t len,
		    struct status_obj **out)
{
	char name[CONFIG_NAME_MAX + 1];
	enum entryid_kind kind;
	HRESULT hr;

	if ((hr = entryid_parse(eid, len, &kind, name)) != S_OK)
		return hr;
	for (size_t i = 0; i < t->n; i++) {
		if (t->rows[i]->kind == kind && strcmp(t->rows[i]->name, name) == 0) {
			*out = t->rows[i];
			return S_OK;
		}
	}
	return MAPI_E_UNKNOWN_ENTRYID;
}

static int
replace_string(char **slot, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

int
status_obj_set_string(struct status_obj *o, const char *s)
{
	table_touch(o->table);
	return replace_string(&o->status_string, s ? s : "");
}

int
status_obj_set_identity(struct status_obj *o, const char *s)
{
	table_touch(o->table);
	return replace_string(&o->identity, s);
}

int
status_obj_set_progress(struct status_obj *o, LONG progress, const char *text)
{
	table_touch(o->table);
	o->remote_progress = progress;
	return replace_string(&o->progress_text, text ? text : "");
}

void
status_obj_set_methods(struct status_obj *o, ULONG methods)
{
	table_touch(o->table);
	o->methods = methods;
}

void
status_obj_set_resource_flags(struct status_obj *o, ULONG flags)
{
	table_touch(o->table);
	o->resource_flags = flags;
}

void
status_obj_set_status_code(struct status_obj *o, ULONG code)
{
	table_touch(o->table);
	o->status_code = code;
}

void
status_obj_set_needs_ui(struct status_obj *o, int needs_ui)
{
	table_touch(o->table);
	o->needs_ui = needs_ui;
}

void
status_table_set_observer(struct status_table *t, status_observer_fn fn, void *ctx)
{
	t->observer = fn;
	t->observer_ctx = ctx;
}

void
status_table_changed(struct status_table *t, const struct status_obj *o)
{
	table_touch(t);
	if (t->observer != NULL && !o->detached)
		t->observer(t->observer_ctx, o, TABLE_ROW_MODIFIED);
}

void
status_table_added(struct status_table *t, const struct status_obj *o)
{
	table_touch(t);
	if (t->observer != NULL)
		t->observer(t->observer_ctx, o, TABLE_ROW_ADDED);
}

void
status_table_detach(struct status_table *t, struct status_obj *o)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->rows[i] != o)
			continue;
		if (t->observer != NULL)
			t->observer(t->observer_ctx, o, TABLE_ROW_DELETED);
		memmove(&t->rows[i], &t->rows[i + 1], (t->n - i - 1) * sizeof(*t->rows));
		t->n--;
		o->detached = true;
		o->table = NULL;
		table_touch(t);
		return;
	}
}

void
status_table_remove(struct status_table *t, struct status_obj *o)
{
	status_table_detach(t, o);
	status_obj_free(o);
}

void
status_obj_destroy(struct status_obj *o)
{
	status_obj_free(o);
}

void
status_table_order(struct status_table *t, struct status_obj *const *rows, size_t n)
{
	struct status_obj **order = calloc(t->n ? t->n : 1, sizeof(*order));
	size_t k = 0;

	if (order == NULL)
		return; /* the old order stays: only the listing order is off */
	for (size_t i = 0; i < n; i++)
		order[k++] = rows[i];
	for (size_t i = 0; i < t->n; i++) {
		bool listed = false;

		for (size_t j = 0; j < n && !listed; j++)
			listed = rows[j] == t->rows[i];
		if (!listed)
			order[k++] = t->rows[i];
	}
	memcpy(t->rows, order, t->n * sizeof(*order));
	free(order);
	table_touch(t);
}

ULONG
status_obj_props(const struct status_obj *o, SPropValue props[STATUS_ROW_MAX_PROPS])
{
	ULONG n = 0;

#define PUT(tag_, field_, value_) \
	do { \
		props[n].ulPropTag = (tag_); \
		props[n].dwAlignPad = 0; \
		props[n].Value.field_ = (value_); \
		n++; \
	} while (0)

	props[n].ulPropTag = PR_ENTRYID;
	props[n].Value.bin.cb = (ULONG)o->entryid_len;
	props[n].Value.bin.lpb = (LPBYTE)o->entryid;
	n++;
	/* The instance key is the row ID's bytes: unique per row, and fixed
	 * for the life of the row, as MAPI requires. */
	props[n].ulPropTag = PR_INSTANCE_KEY;
	props[n].Value.bin.cb = sizeof(o->rowid);
	props[n].Value.bin.lpb = (LPBYTE)&o->rowid;
	n++;
	PUT(PR_ROWID, ul, o->rowid);
	PUT(PR_OBJECT_TYPE, ul, MAPI_STATUS);
	PUT(PR_RESOURCE_TYPE, ul, o->resource_type);
	PUT(PR_RESOURCE_METHODS, ul, o->methods);
	PUT(PR_RESOURCE_FLAGS, ul, o->resource_flags);
	PUT(PR_STATUS_CODE, ul, o->status_code);
	PUT(PR_STATUS_STRING_A, lpszA, o->status_string);
	PUT(PR_DISPLAY_NAME_A, lpszA, o->display_name);
	PUT(PR_PROVIDER_DISPLAY_A, lpszA, o->provider_display);
	PUT(PR_PROVIDER_DLL_NAME_A, lpszA, o->dll_name);
	if (o->identity != NULL)
		PUT(PR_IDENTITY_DISPLAY_A, lpszA, o->identity);
	PUT(PR_REMOTE_PROGRESS, l, o->remote_progress);
	PUT(PR_REMOTE_PROGRESS_TEXT_A, lpszA, o->progress_text);
	if (o->needs_ui >= 0)
		PUT(PR_MAPISPOOL_NEEDS_UI, b, (unsigned short)o->needs_ui);
#undef PUT
	return n;
}

static json_object *
not_found_json(void)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "error", json_object_new_string("MAPI_E_NOT_FOUND"));
	return e;
}

json_object *
status_obj_to_json(const struct status_obj *o, const SPropTagArray *cols, ULONG *missing)
{
	SPropValue props[STATUS_ROW_MAX_PROPS];
	ULONG n = status_obj_props(o, props);
	json_object *row = json_object_new_object();

	*missing = 0;
	/* No list: what the object has, as IMAPIProp::GetProps(NULL) gives. */
	if (cols == NULL) {
		for (ULONG i = 0; i < n; i++) {
			char name[PROPTAG_NAME_MAX];

			json_object_object_add(row, proptag_format(props[i].ulPropTag, name),
					       propval_to_json(&props[i]));
		}
		return row;
	}
	for (ULONG i = 0; i < cols->cValues; i++) {
		char name[PROPTAG_NAME_MAX];
		const SPropValue *pv = propval_find(props, n, cols->aulPropTag[i]);
		json_object *v = pv ? propval_to_json(pv) : NULL;

		if (v == NULL) {
			v = not_found_json();
			(*missing)++;
		}
		/* A repeated column keeps its first value: JSON keys are unique. */
		proptag_format(cols->aulPropTag[i], name);
		if (json_object_object_get_ex(row, name, NULL))
			json_object_put(v);
		else
			json_object_object_add(row, name, v);
	}
	return row;
}

struct match {
	const struct status_obj *o;
	SPropValue props[STATUS_ROW_MAX_PROPS];
	ULONG n;
};

/* qsort has no context argument in C; the sort order travels here.  The
 * daemon is single-threaded. */
static const SSortOrderSet *sort_order;

static int
match_cmp(const void *pa, const void *pb)
{
	const struct match *a = pa, *b = pb;

	for (ULONG i = 0; i < sort_order->cSorts; i++) {
		ULONG tag = sort_order->aSort[i].ulPropTag;
		const SPropValue *va = propval_find(a->props, a->n, tag);
		const SPropValue *vb = propval_find(b->props, b->n, tag);
		int c = 0;

		/* Rows without the value sort after those with it. */
		if (va == NULL || vb == NULL)
			c = (va == NULL) - (vb == NULL);
		else if (!propval_compare(va, vb, false, &c))
			c = 0;
		if (sort_order->aSort[i].ulOrder == TABLE_SORT_DESCEND)
			c = -c;
		if (c != 0)
			return c;
	}
	/* Stable: table order breaks ties. */
	return (a->o->rowid > b->o->rowid) - (a->o->rowid < b->o->rowid);
}

HRESULT
status_table_query(const struct status_table *t, const SPropTagArray *cols,
		   const SRestriction *res, const SSortOrderSet *sort, ULONG max_rows,
		   json_object **rows, ULONG *row_count)
{
	struct match *m;
	size_t n = 0;

	if ((m = calloc(t->n ? t->n : 1, sizeof(*m))) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	for (size_t i = 0; i < t->n; i++) {
		m[n].o = t->rows[i];
		m[n].n = status_obj_props(t->rows[i], m[n].props);
		if (res == NULL || restriction_match(res, m[n].props, m[n].n))
			n++;
	}
	if (sort != NULL && sort->cSorts > 0 && n > 1) {
		sort_order = sort;
		qsort(m, n, sizeof(*m), match_cmp);
		sort_order = NULL;
	}
	*rows = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n && (max_rows == 0 || i < max_rows); i++) {
		ULONG missing;

		json_object_array_add(*rows, status_obj_to_json(m[i].o,
								cols ? cols : status_table_default_columns(),
								&missing));
	}
	*row_count = (ULONG)n;
	free(m);
	return S_OK;
}

const char *
status_table_default_rows(struct status_table *t, size_t *len, ULONG *count)
{
	json_object *rows;
	const char *s;
	char *copy;
	size_t n;
	ULONG matched;

	if (t->rows_text != NULL && t->rows_gen == t->generation) {
		*len = t->rows_len;
		*count = t->rows_count;
		return t->rows_text;
	}
	/* Built by the generic query and serialiser, so that the text is
	 * what a query with no cache would send: the cost is paid once per
	 * change instead of once per query. */
	if (status_table_query(t, NULL, NULL, NULL, 0, &rows, &matched) != S_OK)
		return NULL;
	s = proto_to_string(rows, &n);
	copy = s != NULL ? malloc(n + 1) : NULL;
	if (copy != NULL) {
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	json_object_put(rows);
	if (copy == NULL)
		return NULL;
	free(t->rows_text);
	t->rows_text = copy;
	t->rows_len = n;
	t->rows_count = matched;
	t->rows_gen = t->generation;
	*len = n;
	*count = matched;
	return copy;
}
