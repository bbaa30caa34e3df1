/*
 * fuzz_protocol.c — a request line as a client sends it: proto_parse_line,
 * then each member a request may carry through the decoder the daemon
 * uses for it, with the round trips the protocol promises:
 *   columns, props      proto_tags_from_json (and back)
 *   restriction         restriction_from_json/validate/match/to_json
 *   sort                proto_sort_from_json (and back)
 *   flags               proto_flags_from_json with the FLUSH_* table
 *   data_base64         proto_base64_decode
 *   entryid, target_transport   proto_bin_from_json (and back)
 *   rows, row, props    proto_row_from_json for a fixed column set (and
 *                       back), and for the request's own columns
 *   id, op, max_rows    the typed member getters
 * and the line itself: what proto_to_string writes parses again.
 */
#include <config.h>

#include <string.h>

#include <json-c/json.h>
#include <mapispool/mapix.h>
#include <mapispool/mapitags.h>

#include "propval.h"
#include "protocol.h"
#include "restriction.h"

#include "fuzz.h"
#include "fuzz_common.h"

#define MAX_BASE64 (64 * 1024)
#define MAX_ENTRYID 256

static const struct proto_flag flush_flags[] = {
	{ "FLUSH_UPLOAD", FLUSH_UPLOAD },
	{ "FLUSH_DOWNLOAD", FLUSH_DOWNLOAD },
	{ "FLUSH_FORCE", FLUSH_FORCE },
	{ "FLUSH_NO_UI", FLUSH_NO_UI },
	{ "FLUSH_ASYNC_OK", FLUSH_ASYNC_OK },
	{ NULL, 0 },
};

/* One column per type with a JSON form; no two share a property ID (a
 * row is keyed by name, and PT_ERROR stand-ins by ID). */
static const SizedSPropTagArray(14, fixed_cols) = { 14, {
	PR_ENTRYID, PR_DISPLAY_NAME_A, PR_PROVIDER_DISPLAY_W, PR_RESOURCE_TYPE,
	PR_REMOTE_VALIDATE_OK, PR_DELIVER_TIME, PR_STATUS_STRING_W,
	PROP_TAG(PT_DOUBLE, 0x8001), PROP_TAG(PT_I8, 0x8002), PROP_TAG(PT_I2, 0x8003),
	PROP_TAG(PT_MV_STRING8, 0x8004), PROP_TAG(PT_MV_LONG, 0x8005),
	PROP_TAG(PT_MV_UNICODE, 0x8006), PROP_TAG(PT_MV_BINARY, 0x8007),
} };

static void line_roundtrip(json_object *req)
{
	char err[256];
	size_t len;
	const char *s = proto_to_string(req, &len);
	json_object *again;

	FUZZ_CHECK(s != NULL && memchr(s, '\n', len) == NULL, "written line has a newline");
	again = proto_parse_line(s, len, err, sizeof err);
	FUZZ_CHECK(again != NULL, "what proto_to_string wrote does not parse: %s", err);
	json_object_put(again);
}

static void tags_member(json_object *req, const char *key, LPSPropTagArray *keep)
{
	char err[256];
	json_object *arr, *j;
	LPSPropTagArray tags, tags2;

	if (!json_object_object_get_ex(req, key, &arr))
		return;
	if (proto_tags_from_json(arr, &tags, err, sizeof err) != S_OK)
		return;
	j = proto_tags_to_json(tags);
	FUZZ_CHECK(j != NULL, "tags do not encode");
	FUZZ_CHECK(proto_tags_from_json(j, &tags2, err, sizeof err) == S_OK, "tags: %s", err);
	FUZZ_CHECK(tags->cValues == tags2->cValues &&
			   memcmp(tags->aulPropTag, tags2->aulPropTag,
				  tags->cValues * sizeof(ULONG)) == 0,
		   "tags differ after a round trip");
	json_object_put(j);
	MAPIFreeBuffer(tags2);
	if (keep != NULL && *keep == NULL)
		*keep = tags;
	else
		MAPIFreeBuffer(tags);
}

static void sort_member(json_object *req)
{
	char err[256];
	json_object *arr, *j;
	LPSSortOrderSet sort, sort2;

	if (!json_object_object_get_ex(req, "sort", &arr) ||
	    proto_sort_from_json(arr, &sort, err, sizeof err) != S_OK)
		return;
	j = proto_sort_to_json(sort);
	FUZZ_CHECK(j != NULL, "sort does not encode");
	FUZZ_CHECK(proto_sort_from_json(j, &sort2, err, sizeof err) == S_OK, "sort: %s", err);
	FUZZ_CHECK(sort->cSorts == sort2->cSorts, "sort keys differ in number");
	for (ULONG i = 0; i < sort->cSorts; i++)
		FUZZ_CHECK(sort->aSort[i].ulPropTag == sort2->aSort[i].ulPropTag &&
				   sort->aSort[i].ulOrder == sort2->aSort[i].ulOrder,
			   "sort key %lu differs after a round trip", (unsigned long)i);
	json_object_put(j);
	MAPIFreeBuffer(sort);
	MAPIFreeBuffer(sort2);
}

static void flags_member(json_object *req)
{
	char err[256];
	json_object *j;
	ULONG flags = 0xdeadbeef;
	HRESULT hr;

	if (!json_object_object_get_ex(req, "flags", &j))
		return;
	hr = proto_flags_from_json(j, flush_flags, &flags, err, sizeof err);
	if (hr == S_OK && json_object_is_type(j, json_type_array))
		FUZZ_CHECK((flags & ~(ULONG)0x3e) == 0, "flag bits outside the table: 0x%lx",
			   (unsigned long)flags);
	FUZZ_CHECK(hr == S_OK || flags == 0xdeadbeef, "failed decode changed the flags");
}

static void base64_member(json_object *req)
{
	json_object *j;
	unsigned char *out;
	size_t n = 0, len;

	if (!json_object_object_get_ex(req, "data_base64", &j) ||
	    !json_object_is_type(j, json_type_string))
		return;
	len = (size_t)json_object_get_string_len(j);
	out = proto_base64_decode(json_object_get_string(j), len, MAX_BASE64, &n);
	if (out != NULL)
		FUZZ_CHECK(n <= MAX_BASE64 && n <= len / 4 * 3 + 2, "decoded %zu bytes of %zu", n,
			   len);
	free(out);
}

static void bin_member(json_object *req, const char *key)
{
	json_object *j, *j2;
	BYTE *b, *b2;
	ULONG n, n2;

	if (!json_object_object_get_ex(req, key, &j) || !proto_bin_from_json(j, MAX_ENTRYID, &b, &n))
		return;
	FUZZ_CHECK(n <= MAX_ENTRYID, "entry ID of %lu bytes", (unsigned long)n);
	j2 = proto_bin_to_json(b, n);
	FUZZ_CHECK(j2 != NULL && proto_bin_from_json(j2, MAX_ENTRYID, &b2, &n2),
		   "entry ID does not round trip");
	FUZZ_CHECK(n == n2 && memcmp(b, b2, n) == 0, "entry ID differs after a round trip");
	json_object_put(j2);
	MAPIFreeBuffer(b);
	MAPIFreeBuffer(b2);
}

/* A row for the fixed columns, encoded and decoded again, must be equal;
 * for the request's own columns it must decode or fail cleanly. */
static void one_row(json_object *row, const SPropTagArray *cols)
{
	char err[256];
	const SPropTagArray *fixed = (const SPropTagArray *)&fixed_cols;
	LPSPropValue props, props2;
	json_object *j;

	if (cols != NULL && proto_row_from_json(row, cols, &props, err, sizeof err) == S_OK) {
		j = proto_row_to_json(props, cols->cValues);
		FUZZ_CHECK(j != NULL, "a decoded row does not encode");
		json_object_put(j);
		MAPIFreeBuffer(props);
	}
	if (proto_row_from_json(row, fixed, &props, err, sizeof err) != S_OK)
		return;
	j = proto_row_to_json(props, fixed->cValues);
	FUZZ_CHECK(j != NULL, "a decoded row does not encode");
	FUZZ_CHECK(proto_row_from_json(j, fixed, &props2, err, sizeof err) == S_OK,
		   "an encoded row does not decode: %s", err);
	for (ULONG i = 0; i < fixed->cValues; i++)
		FUZZ_CHECK(fuzz_propval_equal(&props[i], &props2[i]),
			   "column %lu differs after a round trip: %s", (unsigned long)i,
			   json_object_to_json_string(j));
	json_object_put(j);
	MAPIFreeBuffer(props);
	MAPIFreeBuffer(props2);
}

static void rows_member(json_object *req, const SPropTagArray *cols)
{
	json_object *j;

	if (json_object_object_get_ex(req, "row", &j))
		one_row(j, cols);
	if (json_object_object_get_ex(req, "props", &j) && json_object_is_type(j, json_type_object))
		one_row(j, cols);
	if (!json_object_object_get_ex(req, "rows", &j) || !json_object_is_type(j, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(j) && i < 64; i++)
		one_row(json_object_array_get_idx(j, i), cols);
}

static void scalar_members(json_object *req)
{
	char err[256];
	const char *s = NULL;
	int64_t n = 0;
	json_object *j;

	(void)proto_get_string(req, "op", true, &s, err, sizeof err);
	(void)proto_get_string(req, "profile", false, &s, err, sizeof err);
	s = NULL;
	if (proto_get_string(req, "id", false, &s, err, sizeof err) && s != NULL)
		FUZZ_CHECK(strlen(s) == (size_t)json_object_get_string_len(
						json_object_object_get(req, "id")),
			   "a string with NUL passed");
	(void)proto_get_int64(req, "id", false, &n, err, sizeof err);
	(void)proto_get_int64(req, "max_rows", false, &n, err, sizeof err);
	(void)proto_get_array(req, "columns", false, &j, err, sizeof err);
	(void)proto_get_object(req, "restriction", false, &j, err, sizeof err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_object *req = proto_parse_line((const char *)data, size, err, sizeof err), *j;
	LPSPropTagArray cols = NULL;

	if (req == NULL) {
		FUZZ_CHECK(err[0] != '\0', "refused without a message");
		return 0;
	}
	FUZZ_CHECK(json_object_is_type(req, json_type_object), "a line that is not an object");
	line_roundtrip(req);
	scalar_members(req);
	tags_member(req, "columns", &cols);
	tags_member(req, "props", &cols);
	if (json_object_object_get_ex(req, "restriction", &j))
		fuzz_restriction_roundtrip(j);
	sort_member(req);
	flags_member(req);
	base64_member(req);
	bin_member(req, "entryid");
	bin_member(req, "target_transport");
	rows_member(req, cols);
	MAPIFreeBuffer(cols);
	json_object_put(req);
	return 0;
}
