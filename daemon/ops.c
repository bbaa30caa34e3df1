/*
 * ops.c — one function per operation of the control protocol (see
 * doc/protocol.md), found through a table.
 */
#include <config.h>

#include <string.h>

#include <mapispool/mapix.h>

#include "ops.h"
#include "protocol.h"
#include "restriction.h"

typedef void (*op_fn)(struct spooler *sp, struct request *req, json_object *msg);

/* logon: MAPILogonEx.  The connection is the session; logon checks the
 * profile name and tells the client who it talks to. */
static void
op_logon(struct spooler *sp, struct request *req, json_object *msg)
{
	const char *profile = NULL, *ours = spooler_profile_name(sp);
	char err[256];
	json_object *body;

	if (!proto_get_string(msg, "profile", false, &profile, err, sizeof(err))) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "%s", err);
		return;
	}
	if (profile != NULL && *profile != '\0' && strcmp(profile, ours) != 0) {
		control_fail(req, MAPI_E_LOGON_FAILED,
			     "profile \"%s\" is not served here: this mapispoold serves \"%s\"",
			     profile, ours);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "profile", json_object_new_string(ours));
	json_object_object_add(body, "server", json_object_new_string(PACKAGE "d/" VERSION));
	json_object_object_add(body, "protocol", json_object_new_int(PROTO_VERSION));
	control_reply(req, S_OK, body);
}

/* status.query: SetColumns + Restrict + SortTable + QueryRows in one. */
static void
op_status_query(struct spooler *sp, struct request *req, json_object *msg)
{
	LPSPropTagArray cols = NULL;
	LPSRestriction res = NULL;
	LPSSortOrderSet sort = NULL;
	json_object *j, *rows, *body;
	int64_t max_rows = 0;
	ULONG row_count;
	char err[512];
	HRESULT hr;

	err[0] = '\0';
	if (!proto_get_int64(msg, "max_rows", false, &max_rows, err, sizeof(err)) ||
	    max_rows < 0 || max_rows > INT32_MAX) {
		if (err[0] == '\0')
			snprintf(err, sizeof(err), "field \"max_rows\" must be 0 or more");
		hr = MAPI_E_INVALID_PARAMETER;
		goto fail;
	}
	hr = MAPI_E_INVALID_PARAMETER;
	j = NULL;
	if (!proto_get_array(msg, "columns", false, &j, err, sizeof(err)))
		goto fail;
	if (j != NULL && (hr = proto_tags_from_json(j, &cols, err, sizeof(err))) != S_OK)
		goto fail;
	hr = MAPI_E_INVALID_PARAMETER;
	j = NULL;
	if (!proto_get_object(msg, "restriction", false, &j, err, sizeof(err)))
		goto fail;
	if (j != NULL && ((hr = restriction_from_json(j, &res, err, sizeof(err))) != S_OK ||
			  (hr = restriction_validate(res, err, sizeof(err))) != S_OK))
		goto fail;
	hr = MAPI_E_INVALID_PARAMETER;
	j = NULL;
	if (!proto_get_array(msg, "sort", false, &j, err, sizeof(err)))
		goto fail;
	if (j != NULL && (hr = proto_sort_from_json(j, &sort, err, sizeof(err))) != S_OK)
		goto fail;

	hr = status_table_query(spooler_status_table(sp), cols, res, sort, (ULONG)max_rows,
				&rows, &row_count);
	if (hr != S_OK) {
		snprintf(err, sizeof(err), "cannot query the status table");
		goto fail;
	}
	body = json_object_new_object();
	json_object_object_add(body, "rows", rows);
	json_object_object_add(body, "row_count", json_object_new_int64(row_count));
	control_reply(req, S_OK, body);
	goto out;
fail:
	control_fail(req, hr, "%s", err);
out:
	MAPIFreeBuffer(cols);
	MAPIFreeBuffer(res);
	MAPIFreeBuffer(sort);
}

/* status.get_props: OpenEntry + IMAPIStatus::GetProps. */
static void
op_status_get_props(struct spooler *sp, struct request *req, json_object *msg)
{
	LPSPropTagArray props = NULL;
	struct status_obj *o;
	json_object *j = NULL, *body;
	BYTE *eid = NULL;
	ULONG eidlen, missing;
	char err[512];
	HRESULT hr;

	if (!json_object_object_get_ex(msg, "entryid", &j)) {
		control_fail(req, MAPI_E_INVALID_PARAMETER, "request needs an \"entryid\"");
		return;
	}
	if (!proto_bin_from_json(j, ENTRYID_MAX, &eid, &eidlen)) {
		control_fail(req, MAPI_E_INVALID_ENTRYID,
			     "\"entryid\" must be the hex of an entry ID from the status table");
		return;
	}
	hr = status_table_lookup(spooler_status_table(sp), eid, eidlen, &o);
	MAPIFreeBuffer(eid);
	if (hr == MAPI_E_INVALID_ENTRYID) {
		control_fail(req, hr, "not an entry ID of this daemon's status objects");
		return;
	}
	if (hr != S_OK) {
		control_fail(req, hr, "no status object has this entry ID");
		return;
	}
	hr = MAPI_E_INVALID_PARAMETER;
	j = NULL;
	if (!proto_get_array(msg, "props", false, &j, err, sizeof(err)) ||
	    (j != NULL && (hr = proto_tags_from_json(j, &props, err, sizeof(err))) != S_OK)) {
		control_fail(req, hr, "%s", err);
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "object_type", json_object_new_int(MAPI_STATUS));
	json_object_object_add(body, "props", status_obj_to_json(o, props, &missing));
	MAPIFreeBuffer(props);
	control_reply(req, missing ? MAPI_W_ERRORS_RETURNED : S_OK, body);
}

static const struct {
	const char *name;
	op_fn fn;
} ops[] = {
	{ PROTO_OP_LOGON, op_logon },
	{ PROTO_OP_STATUS_QUERY, op_status_query },
	{ PROTO_OP_STATUS_GET_PROPS, op_status_get_props },
};

void
ops_dispatch(void *ctx, struct request *req, const char *op, json_object *msg)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i].name) == 0) {
			ops[i].fn(ctx, req, msg);
			return;
		}
	}
	control_fail(req, MAPI_E_NO_SUPPORT, "unknown operation \"%.64s\"", op);
}

json_object *
ops_hello(struct spooler *sp, size_t max_line)
{
	json_object *h = json_object_new_object();

	json_object_object_add(h, "event", json_object_new_string(PROTO_EV_HELLO));
	json_object_object_add(h, "protocol", json_object_new_int(PROTO_VERSION));
	json_object_object_add(h, "server", json_object_new_string(PACKAGE "d/" VERSION));
	json_object_object_add(h, "profile", json_object_new_string(spooler_profile_name(sp)));
	json_object_object_add(h, "max_line", json_object_new_int64((int64_t)max_line));
	return h;
}
