/*
 * check_status_table.c — rows, columns, restriction, sort and limits of
 * the status table, and the rows the spooler makes from a profile.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mapispool/mapispool.h>

#include "conf.h"
#include "protocol.h"
#include "restriction.h"
#include "spooler.h"
#include "status_table.h"

static struct status_table *t;

static void
setup(void)
{
	struct status_obj *o;

	t = status_table_new();
	o = status_table_add(t, EID_SUBSYSTEM, "subsystem", MAPI_SUBSYSTEM, "MAPI Subsystem",
			     "mapispool", "mapispoold");
	status_obj_set_methods(o, STATUS_VALIDATE_STATE);
	status_obj_set_status_code(o, STATUS_AVAILABLE);
	o = status_table_add(t, EID_SPOOLER, "spooler", MAPI_SPOOLER, "MAPI Spooler",
			     "mapispool", "mapispoold");
	status_obj_set_methods(o, STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES);
	status_obj_set_status_code(o, STATUS_AVAILABLE);
	o = status_table_add(t, EID_TRANSPORT, "relay", MAPI_TRANSPORT_PROVIDER, "Relay",
			     "SMTP transport", "smtp");
	status_obj_set_methods(o, STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES |
				       STATUS_CHANGE_PASSWORD);
	status_obj_set_identity(o, "alice");
	o = status_table_add(t, EID_TRANSPORT, "fax", MAPI_TRANSPORT_PROVIDER, "Fax",
			     "Pipe transport", "pipe");
	status_obj_set_methods(o, STATUS_VALIDATE_STATE);
}

static void
teardown(void)
{
	status_table_free(t);
}

/* Query with a restriction given as JSON; returns the display names of
 * the rows, joined by ','. */
static const char *
names_of(const char *restriction_json, const char *sort_json, ULONG max_rows, ULONG *count)
{
	static char out[256];
	SizedSPropTagArray(1, cols) = { 1, { PR_DISPLAY_NAME_A } };
	LPSRestriction res = NULL;
	LPSSortOrderSet sort = NULL;
	json_object *rows;
	char err[256];

	if (restriction_json != NULL) {
		json_object *j = json_tokener_parse(restriction_json);

		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(restriction_from_json(j, &res, err, sizeof(err)), S_OK);
		ck_assert_int_eq(restriction_validate(res, err, sizeof(err)), S_OK);
		json_object_put(j);
	}
	if (sort_json != NULL) {
		json_object *j = json_tokener_parse(sort_json);

		ck_assert_int_eq(proto_sort_from_json(j, &sort, err, sizeof(err)), S_OK);
		json_object_put(j);
	}
	ck_assert_int_eq(status_table_query(t, (LPSPropTagArray)&cols, res, sort, max_rows, &rows,
					    count),
			 S_OK);
	out[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *name;

		ck_assert(json_object_object_get_ex(json_object_array_get_idx(rows, i),
						    "PR_DISPLAY_NAME", &name));
		if (i > 0)
			strcat(out, ",");
		strcat(out, json_object_get_string(name));
	}
	json_object_put(rows);
	MAPIFreeBuffer(res);
	MAPIFreeBuffer(sort);
	return out;
}

static const struct {
	const char *res, *sort;
	ULONG max;
	const char *want;
	ULONG count;
} queries[] = {
	{ NULL, NULL, 0, "MAPI Subsystem,MAPI Spooler,Relay,Fax", 4 },
	/* The seed's two restrictions. */
	{ "{\"rt\":\"property\",\"relop\":\"eq\",\"tag\":\"PR_RESOURCE_TYPE\",\"value\":37}",
	  NULL, 0, "MAPI Spooler", 1 },
	{ "{\"rt\":\"property\",\"relop\":\"eq\",\"tag\":\"PR_RESOURCE_TYPE\",\"value\":36}",
	  NULL, 0, "Relay,Fax", 2 },
	/* Transports that cannot flush themselves. */
	{ "{\"rt\":\"and\",\"res\":[{\"rt\":\"property\",\"relop\":\"eq\",\"tag\":"
	  "\"PR_RESOURCE_TYPE\",\"value\":36},{\"rt\":\"bitmask\",\"bmr\":\"eqz\",\"tag\":"
	  "\"PR_RESOURCE_METHODS\",\"mask\":8}]}",
	  NULL, 0, "Fax", 1 },
	{ "{\"rt\":\"exist\",\"tag\":\"PR_IDENTITY_DISPLAY\"}", NULL, 0, "Relay", 1 },
	{ "{\"rt\":\"not\",\"res\":{\"rt\":\"exist\",\"tag\":\"PR_IDENTITY_DISPLAY\"}}", NULL, 0,
	  "MAPI Subsystem,MAPI Spooler,Fax", 3 },
	{ "{\"rt\":\"content\",\"tag\":\"PR_DISPLAY_NAME_W\",\"value\":\"mapi\",\"fuzzy\":"
	  "\"prefix\",\"ignorecase\":true}",
	  NULL, 0, "MAPI Subsystem,MAPI Spooler", 2 },
	{ "{\"rt\":\"or\",\"res\":[{\"rt\":\"property\",\"relop\":\"eq\",\"tag\":"
	  "\"PR_PROVIDER_DLL_NAME\",\"value\":\"pipe\"},{\"rt\":\"property\",\"relop\":\"eq\","
	  "\"tag\":\"PR_ROWID\",\"value\":0}]}",
	  NULL, 0, "MAPI Subsystem,Fax", 2 },
	{ NULL, "[{\"tag\":\"PR_DISPLAY_NAME\",\"order\":\"ascend\"}]", 0,
	  "Fax,MAPI Spooler,MAPI Subsystem,Relay", 4 },
	{ NULL, "[{\"tag\":\"PR_RESOURCE_TYPE\",\"order\":\"descend\"}]", 0,
	  "MAPI Subsystem,MAPI Spooler,Relay,Fax", 4 },
	/* Rows without the sort key go last. */
	{ NULL, "[{\"tag\":\"PR_IDENTITY_DISPLAY\",\"order\":\"ascend\"}]", 0,
	  "Relay,MAPI Subsystem,MAPI Spooler,Fax", 4 },
	/* max_rows cuts the rows, not the count. */
	{ NULL, NULL, 2, "MAPI Subsystem,MAPI Spooler", 4 },
	{ "{\"rt\":\"property\",\"relop\":\"gt\",\"tag\":\"PR_RESOURCE_TYPE\",\"value\":100}",
	  NULL, 0, "", 0 },
};

START_TEST(query)
{
	ULONG count;
	const char *got = names_of(queries[_i].res, queries[_i].sort, queries[_i].max, &count);

	ck_assert_str_eq(got, queries[_i].want);
	ck_assert_uint_eq(count, queries[_i].count);
}
END_TEST

START_TEST(columns_and_missing)
{
	SizedSPropTagArray(4, cols) = {
		4, { PR_OBJECT_TYPE, PR_IDENTITY_DISPLAY_W, PR_ENTRYID, PROP_TAG(PT_LONG, 0x6789) }
	};
	struct status_obj *spooler = status_table_row(t, 1);
	json_object *row, *v;
	ULONG missing;

	row = status_obj_to_json(spooler, (LPSPropTagArray)&cols, &missing);
	ck_assert_uint_eq(missing, 2);
	ck_assert(json_object_object_get_ex(row, "PR_OBJECT_TYPE", &v));
	ck_assert_int_eq(json_object_get_int(v), MAPI_STATUS);
	ck_assert(json_object_object_get_ex(row, "PR_IDENTITY_DISPLAY_W", &v));
	ck_assert(json_object_object_get_ex(v, "error", NULL));
	ck_assert(json_object_object_get_ex(row, "0x67890003", &v));
	ck_assert(json_object_object_get_ex(row, "PR_ENTRYID", &v));
	/* hex of 22 header bytes and "spooler" */
	ck_assert_uint_eq(strlen(json_object_get_string(v)), 2 * (22 + 7));
	json_object_put(row);

	/* The relay has an identity, asked for as a wide string. */
	row = status_obj_to_json(status_table_row(t, 2), (LPSPropTagArray)&cols, &missing);
	ck_assert_uint_eq(missing, 1);
	ck_assert(json_object_object_get_ex(row, "PR_IDENTITY_DISPLAY_W", &v));
	ck_assert_str_eq(json_object_get_string(v), "alice");
	json_object_put(row);
}
END_TEST

START_TEST(lookup)
{
	struct status_obj *o, *found;

	for (size_t i = 0; i < status_table_count(t); i++) {
		o = status_table_row(t, i);
		ck_assert_int_eq(status_table_lookup(t, o->entryid, o->entryid_len, &found), S_OK);
		ck_assert_ptr_eq(found, o);
		ck_assert_uint_eq(o->rowid, i);
	}
	{
		BYTE eid[ENTRYID_MAX];
		size_t n = entryid_make(EID_TRANSPORT, "nosuch", eid);

		ck_assert_int_eq(status_table_lookup(t, eid, n, &found), MAPI_E_UNKNOWN_ENTRYID);
		/* The spooler's name under the store's kind is another object. */
		n = entryid_make(EID_STORE, "spooler", eid);
		ck_assert_int_eq(status_table_lookup(t, eid, n, &found), MAPI_E_UNKNOWN_ENTRYID);
		ck_assert_int_eq(status_table_lookup(t, eid, 5, &found), MAPI_E_INVALID_ENTRYID);
	}
}
END_TEST

/* What the generic path makes of the default query, serialised as the
 * reply serialises it. */
static char *
generic_rows(struct status_table *st, ULONG *count)
{
	json_object *rows;
	char *text;

	ck_assert_int_eq(status_table_query(st, NULL, NULL, NULL, 0, &rows, count), S_OK);
	text = strdup(proto_to_string(rows, NULL));
	json_object_put(rows);
	return text;
}

/* The cached text of the default query is the generic path's, byte for
 * byte; returns a copy of it. */
static char *
assert_cache_fresh(struct status_table *st)
{
	ULONG count, want_count;
	size_t len;
	const char *text = status_table_default_rows(st, &len, &count);
	char *want = generic_rows(st, &want_count);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_str_eq(text, want);
	ck_assert_uint_eq(count, want_count);
	ck_assert_uint_eq(count, status_table_count(st));
	free(want);
	return strdup(text);
}

/* A change anywhere in the table shows in the next default query: every
 * setter and every change to the set of rows invalidates the cache. */
START_TEST(default_rows_cache)
{
	struct status_obj *relay = status_table_row(t, 2), *fax = status_table_row(t, 3);
	struct status_obj *order[2];
	const char *p1, *p2;
	char *before, *after;
	size_t len;
	ULONG count;

	before = assert_cache_fresh(t);
	/* Unchanged: the same text, not built again. */
	p1 = status_table_default_rows(t, &len, &count);
	p2 = status_table_default_rows(t, &len, &count);
	ck_assert_ptr_eq(p1, p2);
	ck_assert_uint_eq(count, 4);

#define CHANGED(what) \
	do { \
		what; \
		after = assert_cache_fresh(t); \
		ck_assert_msg(strcmp(before, after) != 0, "no change after %s", #what); \
		free(before); \
		before = after; \
	} while (0)

	CHANGED(status_obj_set_status_code(relay, STATUS_AVAILABLE | STATUS_OFFLINE));
	CHANGED(status_obj_set_methods(relay, STATUS_VALIDATE_STATE));
	CHANGED(status_obj_set_resource_flags(fax, STATUS_XP_PREFER_LAST));
	CHANGED(status_obj_set_needs_ui(fax, 1));
	CHANGED(status_obj_set_needs_ui(fax, -1));
	CHANGED(status_obj_set_string(relay, "Offline \"now\"\n\x01/é"));
	CHANGED(status_obj_set_identity(fax, "bob"));
	CHANGED(status_obj_set_identity(fax, NULL));
	/* What a flush does without telling anyone (flush.c: job done). */
	CHANGED(status_obj_set_progress(relay, 40, "sending 2 of 5"));
	CHANGED(status_obj_set_progress(relay, -1, ""));
	order[0] = fax;
	order[1] = relay;
	CHANGED(status_table_order(t, order, 2));
	CHANGED(status_table_add(t, EID_TRANSPORT, "late", MAPI_TRANSPORT_PROVIDER, "Late",
				 "Maildir transport", "maildir"));
	CHANGED(status_table_detach(t, fax));
	/* A detached row is in no query: changing it changes nothing. */
	status_obj_set_status_code(fax, 0);
	status_obj_set_string(fax, "gone");
	after = assert_cache_fresh(t);
	ck_assert_str_eq(before, after);
	free(after);
	status_obj_destroy(fax);
	CHANGED(status_table_remove(t, relay));
#undef CHANGED
	ck_assert_uint_eq(status_table_count(t), 3);
	free(before);
}
END_TEST

/* An empty table: an empty list. */
START_TEST(default_rows_empty)
{
	struct status_table *empty = status_table_new();
	size_t len;
	ULONG count = 99;
	const char *text = status_table_default_rows(empty, &len, &count);

	ck_assert_str_eq(text, "[]");
	ck_assert_uint_eq(len, 2);
	ck_assert_uint_eq(count, 0);
	status_table_free(empty);
}
END_TEST

/* The spooler's rows for a profile: MAPI's values, transport order. */
START_TEST(spooler_rows)
{
	static const char profile[] =
		"[spooler]\nspool_dir = @/spool\nstore = @/Maildir\n"
		"[transport:last]\ntype = pipe\ncommand = /bin/true\nprefer_last = yes\n"
		"[transport:relay]\ntype = smtp\nurl = smtp://127.0.0.1:2525\nusername = bob\n"
		"password_file = @/pass\n"
		"[transport:inbox]\ntype = imap\nurl = imap://127.0.0.1/INBOX\n"
		"[transport:local]\ntype = maildir\ndeliver_to = @/out\n";
	char dir[] = "/tmp/check_status_table.XXXXXX", text[1024], err[512];
	struct event_base *base = event_base_new();
	struct config cfg;
	struct spooler *sp;
	struct status_table *st;
	struct status_obj *o;
	const char *p;
	size_t n = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(text, sizeof(text), "umask 077 && echo secret > %s/pass", dir);
	ck_assert_int_eq(system(text), 0);
	for (p = profile; *p; p++)
		n += (size_t)(*p == '@' ? sprintf(text + n, "%s", dir) : sprintf(text + n, "%c", *p));
	ck_assert_msg(config_load_string(text, "test.conf", &cfg, err, sizeof(err)) == 0, "%s",
		      err);
	sp = spooler_new(base, &cfg, err, sizeof(err));
	ck_assert_msg(sp != NULL, "%s", err);
	st = spooler_status_table(sp);
	ck_assert_uint_eq(status_table_count(st), 7);
	ck_assert_uint_eq(status_table_row(st, 0)->resource_type, MAPI_SUBSYSTEM);
	ck_assert_uint_eq(status_table_row(st, 0)->methods, STATUS_VALIDATE_STATE);
	ck_assert_uint_eq(status_table_row(st, 1)->resource_type, MAPI_SPOOLER);
	ck_assert_uint_eq(status_table_row(st, 1)->methods,
			  STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES);
	ck_assert_uint_eq(status_table_row(st, 2)->resource_type, MAPI_STORE_PROVIDER);
	/* profile order, prefer_last last */
	ck_assert_str_eq(status_table_row(st, 3)->name, "relay");
	ck_assert_str_eq(status_table_row(st, 4)->name, "inbox");
	ck_assert_str_eq(status_table_row(st, 5)->name, "local");
	ck_assert_str_eq(status_table_row(st, 6)->name, "last");
	for (size_t i = 3; i < 7; i++)
		ck_assert_uint_eq(status_table_row(st, i)->resource_type, MAPI_TRANSPORT_PROVIDER);
	ck_assert_uint_eq(status_table_row(st, 6)->resource_flags, STATUS_XP_PREFER_LAST);
	ck_assert_str_eq(status_table_row(st, 3)->identity, "bob");
	ck_assert_str_eq(status_table_row(st, 3)->dll_name, "smtp");
	/* SMTP sends and flushes itself, and keeps a password it can change;
	 * IMAP receives. */
	o = status_table_row(st, 3);
	ck_assert_uint_eq(o->methods,
			  STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES | STATUS_CHANGE_PASSWORD);
	ck_assert_uint_eq(o->status_code, STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED);
	ck_assert_int_eq(o->needs_ui, 0);
	o = status_table_row(st, 4);
	ck_assert_uint_eq(o->methods, STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES);
	ck_assert_uint_eq(o->status_code, STATUS_AVAILABLE | STATUS_INBOUND_ENABLED);
	ck_assert_int_eq(status_table_row(st, 0)->needs_ui, -1);
	/* A maildir flushes itself and sends; a pipe sends, but is flushed
	 * through the spooler. */
	o = status_table_row(st, 5);
	ck_assert_uint_eq(o->methods, STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES);
	ck_assert_uint_eq(o->status_code, STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED);
	o = status_table_row(st, 6);
	ck_assert_uint_eq(o->methods, STATUS_VALIDATE_STATE);
	ck_assert_uint_eq(o->status_code, STATUS_AVAILABLE | STATUS_OUTBOUND_ENABLED);
	/* The spooler changes its rows only in ways the cache sees. */
	free(assert_cache_fresh(st));
	spooler_row_update(sp, o, STATUS_OFFLINE, 0, "Offline");
	ck_assert_ptr_nonnull(strstr(status_table_default_rows(st, &n, &(ULONG){ 0 }),
				     "\"PR_STATUS_STRING\":\"Offline\""));
	free(assert_cache_fresh(st));
	spooler_free(sp);
	config_free(&cfg);
	event_base_free(base);
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	ck_assert_int_eq(system(text), 0);
}
END_TEST

static Suite *
status_table_suite(void)
{
	Suite *s = suite_create("status_table");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, query, 0, (int)(sizeof(queries) / sizeof(queries[0])));
	tcase_add_test(tc, columns_and_missing);
	tcase_add_test(tc, lookup);
	tcase_add_test(tc, spooler_rows);
	tcase_add_test(tc, default_rows_cache);
	tcase_add_test(tc, default_rows_empty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(status_table_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
