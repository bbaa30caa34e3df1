/*
 * advise.c — subscriptions to the status table and their events.
 *
 * MAPI sends TABLE_ROW_MODIFIED only for rows inside the subscriber's
 * restricted view; a change that moves a row into or out of the view is
 * seen as TABLE_ROW_ADDED or TABLE_ROW_DELETED.  So each subscription
 * remembers which rows were in its view.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <mapispool/mapix.h>

#include "advise.h"
#include "propval.h"
#include "protocol.h"
#include "restriction.h"

struct sub {
	ULONG conn;
	struct client *cl;
	LPSPropTagArray cols;
	LPSRestriction res;
	ULONG *in_view;			/* rowids in the view, unordered */
	size_t n_view, cap_view;
	LIST_ENTRY(sub) entry;
};

struct advise {
	struct status_table *t;
	LIST_HEAD(, sub) subs;
	ULONG next_conn;
};

static bool
row_matches(const struct sub *s, const struct status_obj *o)
{
	SPropValue props[STATUS_ROW_MAX_PROPS];
	ULONG n;

	if (s->res == NULL)
		return true;
	n = status_obj_props(o, props);
	return restriction_match(s->res, props, n);
}

static bool
view_has(const struct sub *s, ULONG rowid)
{
	for (size_t i = 0; i < s->n_view; i++)
		if (s->in_view[i] == rowid)
			return true;
	return false;
}

static void
view_set(struct sub *s, ULONG rowid, bool in)
{
	for (size_t i = 0; i < s->n_view; i++) {
		if (s->in_view[i] == rowid) {
			if (!in)
				s->in_view[i] = s->in_view[--s->n_view];
			return;
		}
	}
	if (!in)
		return;
	if (s->n_view == s->cap_view) {
		size_t cap = s->cap_view ? s->cap_view * 2 : 8;
		ULONG *v = reallocarray(s->in_view, cap, sizeof(*v));

		if (v == NULL)
			return; /* the row then looks new next time: harmless */
		s->in_view = v;
		s->cap_view = cap;
	}
	s->in_view[s->n_view++] = rowid;
}

/* The instance key of the row before o in s's view, in table order. */
static json_object *
prior_key(const struct advise *a, const struct sub *s, const struct status_obj *o)
{
	const struct status_obj *prior = NULL;

	for (size_t i = 0; i < status_table_count(a->t); i++) {
		const struct status_obj *r = status_table_row(a->t, i);

		if (r == o)
			break;
		if (view_has(s, r->rowid))
			prior = r;
	}
	return prior ? proto_bin_to_json((const BYTE *)&prior->rowid, sizeof(prior->rowid))
		     : NULL;
}

static void
notify(struct advise *a, struct sub *s, const struct status_obj *o, const char *event)
{
	json_object *ev = json_object_new_object();
	ULONG missing;

	json_object_object_add(ev, "event", json_object_new_string(PROTO_EV_TABLE));
	json_object_object_add(ev, "connection", json_object_new_int64(s->conn));
	json_object_object_add(ev, "table_event", json_object_new_string(event));
	json_object_object_add(ev, "instance_key",
			       proto_bin_to_json((const BYTE *)&o->rowid, sizeof(o->rowid)));
	json_object_object_add(ev, "prior_instance_key", prior_key(a, s, o));
	json_object_object_add(ev, "row",
			       status_obj_to_json(o, s->cols ? s->cols
							     : status_table_default_columns(),
						  &missing));
	control_client_event(s->cl, ev);
}

static void
on_row_changed(void *ctx, const struct status_obj *o, int event)
{
	struct advise *a = ctx;
	struct sub *s;

	LIST_FOREACH(s, &a->subs, entry) {
		bool was = view_has(s, o->rowid);
		bool is = event != TABLE_ROW_DELETED && row_matches(s, o);

		if (!was && !is)
			continue;
		view_set(s, o->rowid, is);
		notify(a, s, o, is ? (was ? "TABLE_ROW_MODIFIED" : "TABLE_ROW_ADDED")
				   : "TABLE_ROW_DELETED");
	}
}

struct advise *
advise_new(struct status_table *t)
{
	struct advise *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->t = t;
	LIST_INIT(&a->subs);
	status_table_set_observer(t, on_row_changed, a);
	return a;
}

static void
sub_free(struct sub *s)
{
	LIST_REMOVE(s, entry);
	control_client_release(s->cl);
	MAPIFreeBuffer(s->cols);
	MAPIFreeBuffer(s->res);
	free(s->in_view);
	free(s);
}

void
advise_free(struct advise *a)
{
	if (a == NULL)
		return;
	while (!LIST_EMPTY(&a->subs))
		sub_free(LIST_FIRST(&a->subs));
	status_table_set_observer(a->t, NULL, NULL);
	free(a);
}

ULONG
advise_add(struct advise *a, struct client *cl, LPSPropTagArray cols, LPSRestriction res)
{
	struct sub *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		MAPIFreeBuffer(cols);
		MAPIFreeBuffer(res);
		return 0;
	}
	s->conn = ++a->next_conn;
	s->cl = cl;
	s->cols = cols;
	s->res = res;
	control_client_hold(cl);
	for (size_t i = 0; i < status_table_count(a->t); i++) {
		const struct status_obj *o = status_table_row(a->t, i);

		if (row_matches(s, o))
			view_set(s, o->rowid, true);
	}
	LIST_INSERT_HEAD(&a->subs, s, entry);
	return s->conn;
}

HRESULT
advise_remove(struct advise *a, struct client *cl, ULONG conn)
{
	struct sub *s;

	LIST_FOREACH(s, &a->subs, entry) {
		if (s->conn == conn && s->cl == cl) {
			sub_free(s);
			return S_OK;
		}
	}
	return MAPI_E_NOT_FOUND;
}

void
advise_client_gone(struct advise *a, struct client *cl)
{
	struct sub *s, *next;

	for (s = LIST_FIRST(&a->subs); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->cl == cl)
			sub_free(s);
	}
}
