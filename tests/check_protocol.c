/*
 * check_protocol.c — framing, typed members and the codecs of tag arrays,
 * rows, sort orders, flags and binaries.
 */
#include <config.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mapispool/mapix.h>
#include <mapispool/mapitags.h>

#include "protocol.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static json_object *parse(const char *s)
{
	json_object *j = json_tokener_parse(s);

	ck_assert_msg(j != NULL, "test JSON %s", s);
	return j;
}

static const char *text(json_object *j)
{
	return proto_to_string(j, NULL);
}

/* ---- proto_parse_line ---- */

static const char *const good_lines[] = {
	"{\"id\":1,\"op\":\"status.query\"}",
	"  {\"id\":\"a\",\"op\":\"logon\"}\t ",
	"{}",
	"{\"s\":\"Émile \\u00e9 \\ud83d\\ude00 \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"}",
	"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
};

START_TEST(test_parse_good)
{
	const char *line = good_lines[_i];
	char err[128] = "";
	json_object *j = proto_parse_line(line, strlen(line), err, sizeof err);

	ck_assert_msg(j != NULL, "%s: %s", line, err);
	ck_assert(json_object_is_type(j, json_type_object));
	json_object_put(j);
}
END_TEST

START_TEST(test_parse_members)
{
	/* the line need not be NUL-terminated: only len bytes are read */
	const char buf[] = "{\"id\":7,\"op\":\"logon\"}{\"junk\"";
	char err[128];
	json_object *j = proto_parse_line(buf, 21, err, sizeof err), *v;

	ck_assert_ptr_nonnull(j);
	ck_assert(json_object_object_get_ex(j, "id", &v));
	ck_assert_int_eq(json_object_get_int(v), 7);
	ck_assert(json_object_object_get_ex(j, "op", &v));
	ck_assert_str_eq(json_object_get_string(v), "logon");
	json_object_put(j);
}
END_TEST

struct bad_line {
	const char *line;
	size_t len;		/* 0: strlen */
	const char *err;	/* a part of the message */
};

static const struct bad_line bad_lines[] = {
	{ "", 0, "not a JSON object" },
	{ "   ", 0, "not a JSON object" },
	{ "hello", 0, "not a JSON object" },
	{ "[1,2]", 0, "not a JSON object" },
	{ "\"str\"", 0, "not a JSON object" },
	{ "42", 0, "not a JSON object" },
	{ "null", 0, "not a JSON object" },
	{ "{\"id\":1", 0, "incomplete" },
	{ "{\"id\":1,}", 0, "invalid JSON" },
	{ "{\"id\":01}", 0, "invalid JSON" },
	{ "{id:1}", 0, "invalid JSON" },
	{ "{\"a\":\"\xff\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xc3\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xc3\xc3\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xc0\x80\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xe0\x80\xaf\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xed\xa0\x80\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xf5\x80\x80\x80\"}", 0, "invalid UTF-8" },
	{ "{\"a\":\"\xe2\x82\"}", 0, "invalid UTF-8" },
	{ "{\"a\":1}\xe2\x82", 0, "invalid UTF-8" },
	{ "{\"id\":1} x", 0, "invalid JSON" },
	{ "{\"id\":1}{\"id\":2}", 0, "invalid JSON" },
	{ "{\"id\":1}\n{}", 0, "invalid JSON" },
	{ "{\"id\":1}\0", 9, "NUL" },
	{ "{\"a\":\"x\0y\"}", 11, "NUL" },
	{ "\0{}", 3, "NUL" },
	/* an object and 64 arrays: 65 levels */
	{ "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  0, "nesting too deep" },
};

START_TEST(test_parse_bad)
{
	const struct bad_line *b = &bad_lines[_i];
	size_t len = b->len ? b->len : strlen(b->line);
	char err[128] = "";
	json_object *j = proto_parse_line(b->line, len, err, sizeof err);

	ck_assert_msg(j == NULL, "case %d accepted: %s", _i, text(j));
	ck_assert_msg(strstr(err, b->err) != NULL, "case %d: \"%s\" lacks \"%s\"", _i, err,
		      b->err);
}
END_TEST

START_TEST(test_to_string)
{
	json_object *j = parse("{ \"a\" : \"x/y\\nz\", \"b\" : [ 1, 2.5, true, null ], \"c\":{} }");
	size_t len = 0;
	const char *s = proto_to_string(j, &len);

	ck_assert_str_eq(s, "{\"a\":\"x/y\\nz\",\"b\":[1,2.5,true,null],\"c\":{}}");
	ck_assert_uint_eq(len, strlen(s));
	ck_assert_ptr_null(strchr(s, '\n'));
	json_object_put(j);
}
END_TEST

/* ---- Typed members ---- */

START_TEST(test_get_string)
{
	json_object *o = parse("{\"s\":\"abc\",\"n\":5,\"z\":\"a\\u0000b\",\"null\":null}");
	const char *s = "untouched";
	char err[128];

	ck_assert(proto_get_string(o, "s", true, &s, err, sizeof err));
	ck_assert_str_eq(s, "abc");
	s = "untouched";
	ck_assert(proto_get_string(o, "absent", false, &s, err, sizeof err));
	ck_assert_str_eq(s, "untouched");
	ck_assert(!proto_get_string(o, "absent", true, &s, err, sizeof err));
	ck_assert_str_eq(err, "field \"absent\" is required");
	ck_assert(!proto_get_string(o, "n", false, &s, err, sizeof err));
	ck_assert_str_eq(err, "field \"n\" must be a string");
	ck_assert(!proto_get_string(o, "null", false, &s, err, sizeof err));
	ck_assert_str_eq(err, "field \"null\" must be a string");
	ck_assert(!proto_get_string(o, "z", false, &s, err, sizeof err));
	ck_assert_str_eq(err, "field \"z\" must not contain NUL");
	ck_assert_str_eq(s, "untouched");
	json_object_put(o);
}
END_TEST

START_TEST(test_get_int64)
{
	json_object *o = parse("{\"n\":-42,\"big\":9223372036854775807,"
			       "\"huge\":9223372036854775808,\"d\":1.5,\"s\":\"10\",\"b\":true}");
	int64_t n = 99;
	char err[128];

	ck_assert(proto_get_int64(o, "n", true, &n, err, sizeof err));
	ck_assert_int_eq(n, -42);
	ck_assert(proto_get_int64(o, "big", true, &n, err, sizeof err));
	ck_assert(n == INT64_MAX);
	n = 99;
	ck_assert(proto_get_int64(o, "max_rows", false, &n, err, sizeof err));
	ck_assert_int_eq(n, 99);
	ck_assert(!proto_get_int64(o, "max_rows", true, &n, err, sizeof err));
	ck_assert_str_eq(err, "field \"max_rows\" is required");
	ck_assert(!proto_get_int64(o, "s", false, &n, err, sizeof err));
	ck_assert_str_eq(err, "field \"s\" must be a number");
	ck_assert(!proto_get_int64(o, "b", false, &n, err, sizeof err));
	ck_assert_str_eq(err, "field \"b\" must be a number");
	ck_assert(!proto_get_int64(o, "d", false, &n, err, sizeof err));
	ck_assert_str_eq(err, "field \"d\" must be an integer");
	ck_assert(!proto_get_int64(o, "huge", false, &n, err, sizeof err));
	ck_assert_str_eq(err, "field \"huge\" is out of range");
	ck_assert_int_eq(n, 99);
	json_object_put(o);
}
END_TEST

START_TEST(test_get_array_object)
{
	json_object *o = parse("{\"a\":[1],\"o\":{\"k\":1},\"s\":\"x\"}");
	json_object *out = NULL, *sentinel = (json_object *)&out;
	char err[128];

	ck_assert(proto_get_array(o, "a", true, &out, err, sizeof err));
	ck_assert_int_eq(json_object_array_length(out), 1);
	ck_assert(!proto_get_array(o, "o", true, &out, err, sizeof err));
	ck_assert_str_eq(err, "field \"o\" must be a list");
	out = sentinel;
	ck_assert(proto_get_array(o, "none", false, &out, err, sizeof err));
	ck_assert_ptr_eq(out, sentinel);
	ck_assert(!proto_get_array(o, "none", true, &out, err, sizeof err));
	ck_assert(proto_get_object(o, "o", true, &out, err, sizeof err));
	ck_assert(json_object_object_get_ex(out, "k", NULL));
	ck_assert(!proto_get_object(o, "a", false, &out, err, sizeof err));
	ck_assert_str_eq(err, "field \"a\" must be an object");
	ck_assert(!proto_get_object(o, "s", false, &out, err, sizeof err));
	out = sentinel;
	ck_assert(proto_get_object(o, "none", false, &out, err, sizeof err));
	ck_assert_ptr_eq(out, sentinel);
	json_object_put(o);
}
END_TEST

/* ---- Tags ---- */

START_TEST(test_tags_from_json)
{
	json_object *a = parse("[\"PR_ENTRYID\",\"0x3E030003\",1040384003,\"PR_DISPLAY_NAME_W\","
			       "\"PR_DISPLAY_NAME_A\",\"PR_DISPLAY_NAME\",\"0x66000014\",\"0x3e020003\"]");
	static const ULONG expected[] = {
		PR_ENTRYID, PR_RESOURCE_TYPE, PR_RESOURCE_TYPE, PR_DISPLAY_NAME_W,
		PR_DISPLAY_NAME_A, PR_DISPLAY_NAME_A, PROP_TAG(PT_I8, 0x6600), PR_RESOURCE_METHODS,
	};
	LPSPropTagArray tags;
	char err[128];

	ck_assert_int_eq(proto_tags_from_json(a, &tags, err, sizeof err), S_OK);
	ck_assert_uint_eq(tags->cValues, NELEMS(expected));
	for (size_t i = 0; i < NELEMS(expected); i++)
		ck_assert_msg(tags->aulPropTag[i] == expected[i], "tag %zu: 0x%08X", i,
			      (unsigned)tags->aulPropTag[i]);
	MAPIFreeBuffer(tags);
	json_object_put(a);

	a = parse("[]");
	ck_assert_int_eq(proto_tags_from_json(a, &tags, err, sizeof err), S_OK);
	ck_assert_uint_eq(tags->cValues, 0);
	MAPIFreeBuffer(tags);
	json_object_put(a);
}
END_TEST

struct bad_tags {
	const char *json;
	const char *err;
};

static const struct bad_tags bad_tags[] = {
	{ "[\"PR_ENTRYID\",\"PR_NO_SUCH_THING\"]", "unknown property \"PR_NO_SUCH_THING\"" },
	{ "[\"pr_entryid\"]", "unknown property \"pr_entryid\"" },
	{ "[\"0xZZ\"]", "unknown property \"0xZZ\"" },
	{ "[\"PR_ENTRYID\",true]", "entry 1 is not a property name or number" },
	{ "[-1]", "entry 0 is not a property name or number" },
	{ "[4294967296]", "entry 0 is not a property name or number" },
	{ "[null]", "entry 0 is not a property name or number" },
	{ "{\"PR_ENTRYID\":1}", "tags must be a list" },
	{ "\"PR_ENTRYID\"", "tags must be a list" },
};

START_TEST(test_tags_bad)
{
	json_object *a = parse(bad_tags[_i].json);
	LPSPropTagArray tags = NULL;
	char err[128] = "";

	ck_assert_int_eq(proto_tags_from_json(a, &tags, err, sizeof err),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_str_eq(err, bad_tags[_i].err);
	ck_assert_ptr_null(tags);
	json_object_put(a);
}
END_TEST

START_TEST(test_tags_limit)
{
	json_object *a = json_object_new_array();
	LPSPropTagArray tags;
	char err[128];

	for (int i = 0; i < PROTO_MAX_TAGS; i++)
		json_object_array_add(a, json_object_new_string("PR_ROWID"));
	ck_assert_int_eq(proto_tags_from_json(a, &tags, err, sizeof err), S_OK);
	ck_assert_uint_eq(tags->cValues, PROTO_MAX_TAGS);
	ck_assert_uint_eq(tags->aulPropTag[PROTO_MAX_TAGS - 1], PR_ROWID);
	MAPIFreeBuffer(tags);
	json_object_array_add(a, json_object_new_string("PR_ROWID"));
	ck_assert_int_eq(proto_tags_from_json(a, &tags, err, sizeof err),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_str_eq(err, "more than 256 tags");
	json_object_put(a);
}
END_TEST

START_TEST(test_tags_to_json)
{
	SizedSPropTagArray(5, cols) = { 5, { PR_ENTRYID, PR_RESOURCE_TYPE, PR_DISPLAY_NAME_W,
					     PR_DISPLAY_NAME_A, PROP_TAG(PT_I8, 0x6600) } };
	json_object *a = proto_tags_to_json((LPSPropTagArray)&cols);

	ck_assert_str_eq(text(a), "[\"PR_ENTRYID\",\"PR_RESOURCE_TYPE\",\"PR_DISPLAY_NAME_W\","
				  "\"PR_DISPLAY_NAME\",\"0x66000014\"]");
	json_object_put(a);
}
END_TEST

/* ---- Rows ---- */

static BYTE entryid[] = { 0x0a, 0x1b, 0x00, 0xff };

static const SPropValue sample_row[] = {
	{ .ulPropTag = PR_ENTRYID, .Value.bin = { sizeof entryid, entryid } },
	{ .ulPropTag = PR_RESOURCE_TYPE, .Value.l = MAPI_SPOOLER },
	{ .ulPropTag = PR_DISPLAY_NAME_W, .Value.lpszW = L"Émile" },
	{ .ulPropTag = PR_PROVIDER_DLL_NAME_A, .Value.lpszA = "mapispoold" },
	{ .ulPropTag = PR_REMOTE_VALIDATE_OK, .Value.b = 1 },
	{ .ulPropTag = PROP_TAG(PT_I8, 0x6600), .Value.li.QuadPart = -5000000000LL },
	{ .ulPropTag = PR_DELIVER_TIME,
	  .Value.ft = { .dwLowDateTime = (DWORD)134401124530000000ULL,
			.dwHighDateTime = (DWORD)(134401124530000000ULL >> 32) } },
	{ .ulPropTag = PROP_TAG(PT_ERROR, PROP_ID(PR_IDENTITY_DISPLAY_A)),
	  .Value.err = MAPI_E_NOT_FOUND },
	{ .ulPropTag = PROP_TAG(PT_ERROR, 0x6601), .Value.err = MAPI_E_NO_ACCESS },
};

static const char sample_json[] =
	"{\"PR_ENTRYID\":\"0a1b00ff\",\"PR_RESOURCE_TYPE\":37,\"PR_DISPLAY_NAME_W\":\"Émile\","
	"\"PR_PROVIDER_DLL_NAME\":\"mapispoold\",\"PR_REMOTE_VALIDATE_OK\":true,"
	"\"0x66000014\":-5000000000,\"PR_DELIVER_TIME\":\"2026-11-25T20:34:13Z\","
	"\"PR_IDENTITY_DISPLAY\":{\"error\":\"MAPI_E_NOT_FOUND\"},"
	"\"0x6601000A\":{\"error\":\"MAPI_E_NO_ACCESS\"}}";

START_TEST(test_row_to_json)
{
	json_object *j = proto_row_to_json(sample_row, NELEMS(sample_row));

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(text(j), sample_json);
	json_object_put(j);
}
END_TEST

START_TEST(test_row_to_json_odd_values)
{
	/* PT_NULL is JSON's null; a value with no JSON form is an error */
	static const SPropValue odd[] = {
		{ .ulPropTag = PROP_TAG(PT_NULL, 0x6602) },
		{ .ulPropTag = PROP_TAG(PT_OBJECT, 0x6603) },
	};
	json_object *j = proto_row_to_json(odd, NELEMS(odd));

	ck_assert_str_eq(text(j), "{\"0x66020001\":null,"
				  "\"0x6603000D\":{\"error\":\"MAPI_E_INVALID_TYPE\"}}");
	json_object_put(j);
	j = proto_row_to_json(NULL, 0);
	ck_assert_str_eq(text(j), "{}");
	json_object_put(j);
}
END_TEST

START_TEST(test_row_from_json)
{
	SizedSPropTagArray(9, cols) = { 9, {
		PR_RESOURCE_TYPE, PR_ENTRYID, PR_DISPLAY_NAME_W, PR_PROVIDER_DLL_NAME_A,
		PR_DELIVER_TIME, PR_IDENTITY_DISPLAY_A, PR_STATUS_CODE, PR_DISPLAY_NAME_A,
		PROP_TAG(PT_I8, 0x6600),
	} };
	json_object *row = parse(sample_json);
	LPSPropValue props;
	char err[128];

	ck_assert_int_eq(proto_row_from_json(row, (LPSPropTagArray)&cols, &props, err, sizeof err),
			 S_OK);
	ck_assert_uint_eq(props[0].ulPropTag, PR_RESOURCE_TYPE);
	ck_assert_int_eq(props[0].Value.l, MAPI_SPOOLER);
	ck_assert_uint_eq(props[1].ulPropTag, PR_ENTRYID);
	ck_assert_uint_eq(props[1].Value.bin.cb, sizeof entryid);
	ck_assert_mem_eq(props[1].Value.bin.lpb, entryid, sizeof entryid);
	ck_assert_uint_eq(props[2].ulPropTag, PR_DISPLAY_NAME_W);
	ck_assert(wcscmp(props[2].Value.lpszW, L"Émile") == 0);
	ck_assert_uint_eq(props[3].ulPropTag, PR_PROVIDER_DLL_NAME_A);
	ck_assert_str_eq(props[3].Value.lpszA, "mapispoold");
	ck_assert_uint_eq(props[4].ulPropTag, PR_DELIVER_TIME);
	ck_assert_uint_eq(props[4].Value.ft.dwHighDateTime, sample_row[6].Value.ft.dwHighDateTime);
	ck_assert_uint_eq(props[4].Value.ft.dwLowDateTime, sample_row[6].Value.ft.dwLowDateTime);
	/* {"error":...} and a missing key both become PT_ERROR */
	ck_assert_uint_eq(props[5].ulPropTag, PROP_TAG(PT_ERROR, PROP_ID(PR_IDENTITY_DISPLAY_A)));
	ck_assert_int_eq(props[5].Value.err, MAPI_E_NOT_FOUND);
	ck_assert_uint_eq(props[6].ulPropTag, PROP_TAG(PT_ERROR, PROP_ID(PR_STATUS_CODE)));
	ck_assert_int_eq(props[6].Value.err, MAPI_E_NOT_FOUND);
	/* PR_DISPLAY_NAME_W is there, but PR_DISPLAY_NAME is another key */
	ck_assert_uint_eq(props[7].ulPropTag, PROP_TAG(PT_ERROR, PROP_ID(PR_DISPLAY_NAME_A)));
	ck_assert_int_eq(props[7].Value.err, MAPI_E_NOT_FOUND);
	ck_assert_uint_eq(props[8].ulPropTag, PROP_TAG(PT_I8, 0x6600));
	ck_assert(props[8].Value.li.QuadPart == -5000000000LL);
	MAPIFreeBuffer(props);
	json_object_put(row);
}
END_TEST

START_TEST(test_row_from_json_errors)
{
	SizedSPropTagArray(1, cols) = { 1, { PR_RESOURCE_TYPE } };
	SizedSPropTagArray(2, other) = { 2, { PROP_TAG(PT_LONG, 0x6601), PR_STATUS_STRING_W } };
	SPropTagArray none = { 0, { 0 } };
	json_object *row = parse("{\"PR_RESOURCE_TYPE\":\"37\","
				 "\"0x66010003\":{\"error\":\"MAPI_E_NO_ACCESS\"},"
				 "\"PR_STATUS_STRING\":{\"error\":\"MAPI_E_NO_SUPPORT\"}}");
	json_object *arr = parse("[]");
	LPSPropValue props = NULL;
	char err[128] = "";

	ck_assert_int_eq(proto_row_from_json(row, (LPSPropTagArray)&cols, &props, err, sizeof err),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_msg(strncmp(err, "PR_RESOURCE_TYPE: ", 18) == 0, "%s", err);
	ck_assert_ptr_null(props);
	ck_assert_int_eq(proto_row_from_json(arr, (LPSPropTagArray)&cols, &props, err, sizeof err),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_str_eq(err, "row must be an object");
	ck_assert_int_eq(proto_row_from_json(row, (LPSPropTagArray)&other, &props, err,
					     sizeof err), S_OK);
	ck_assert_uint_eq(props[0].ulPropTag, PROP_TAG(PT_ERROR, 0x6601));
	ck_assert_int_eq(props[0].Value.err, MAPI_E_NO_ACCESS);
	/* an error keyed by the plain name answers for the _W column */
	ck_assert_uint_eq(props[1].ulPropTag, PROP_TAG(PT_ERROR, PROP_ID(PR_STATUS_STRING_W)));
	ck_assert_int_eq(props[1].Value.err, MAPI_E_NO_SUPPORT);
	MAPIFreeBuffer(props);
	ck_assert_int_eq(proto_row_from_json(row, &none, &props, err, sizeof err), S_OK);
	MAPIFreeBuffer(props);
	json_object_put(row);
	json_object_put(arr);
}
END_TEST

START_TEST(test_row_round_trip)
{
	SizedSPropTagArray(NELEMS(sample_row), cols);
	LPSPropValue props;
	json_object *j, *back;
	char err[128];

	cols.cValues = NELEMS(sample_row);
	for (size_t i = 0; i < NELEMS(sample_row); i++)
		cols.aulPropTag[i] = sample_row[i].ulPropTag;
	/* the error columns were asked for with their real types */
	cols.aulPropTag[7] = PR_IDENTITY_DISPLAY_A;
	cols.aulPropTag[8] = PROP_TAG(PT_LONG, 0x6601);
	j = proto_row_to_json(sample_row, NELEMS(sample_row));
	ck_assert_int_eq(proto_row_from_json(j, (LPSPropTagArray)&cols, &props, err, sizeof err),
			 S_OK);
	back = proto_row_to_json(props, NELEMS(sample_row));
	ck_assert_str_eq(text(back), sample_json);
	json_object_put(back);
	json_object_put(j);
	MAPIFreeBuffer(props);
}
END_TEST

/* ---- Sort orders ---- */

START_TEST(test_sort)
{
	json_object *a = parse("[{\"tag\":\"PR_DISPLAY_NAME_W\",\"order\":\"descend\"},"
			       "{\"tag\":\"PR_ROWID\",\"order\":\"ascend\"},"
			       "{\"tag\":1040384003}]");
	LPSSortOrderSet sort;
	json_object *back;
	char err[128];

	ck_assert_int_eq(proto_sort_from_json(a, &sort, err, sizeof err), S_OK);
	ck_assert_uint_eq(sort->cSorts, 3);
	ck_assert_uint_eq(sort->cCategories, 0);
	ck_assert_uint_eq(sort->cExpanded, 0);
	ck_assert_uint_eq(sort->aSort[0].ulPropTag, PR_DISPLAY_NAME_W);
	ck_assert_uint_eq(sort->aSort[0].ulOrder, TABLE_SORT_DESCEND);
	ck_assert_uint_eq(sort->aSort[1].ulPropTag, PR_ROWID);
	ck_assert_uint_eq(sort->aSort[1].ulOrder, TABLE_SORT_ASCEND);
	ck_assert_uint_eq(sort->aSort[2].ulPropTag, PR_RESOURCE_TYPE);
	ck_assert_uint_eq(sort->aSort[2].ulOrder, TABLE_SORT_ASCEND);
	back = proto_sort_to_json(sort);
	ck_assert_str_eq(text(back), "[{\"tag\":\"PR_DISPLAY_NAME_W\",\"order\":\"descend\"},"
				     "{\"tag\":\"PR_ROWID\",\"order\":\"ascend\"},"
				     "{\"tag\":\"PR_RESOURCE_TYPE\",\"order\":\"ascend\"}]");
	json_object_put(back);
	MAPIFreeBuffer(sort);
	json_object_put(a);
}
END_TEST

static const struct bad_tags bad_sorts[] = {
	{ "{\"tag\":\"PR_ROWID\"}", "sort keys must be a list" },
	{ "[\"PR_ROWID\"]", "sort[0] must be an object" },
	{ "[{\"tag\":\"PR_ROWID\"},{\"order\":\"ascend\"}]", "sort[1].tag is required" },
	{ "[{\"tag\":\"PR_NOPE\"}]", "unknown property \"PR_NOPE\"" },
	{ "[{\"tag\":[]}]", "sort[0].tag is not a property name or number" },
	{ "[{\"tag\":\"PR_ROWID\",\"order\":\"up\"}]",
	  "sort[0].order must be \"ascend\" or \"descend\"" },
	{ "[{\"tag\":\"PR_ROWID\",\"order\":1}]",
	  "sort[0].order must be \"ascend\" or \"descend\"" },
};

START_TEST(test_sort_bad)
{
	json_object *a = parse(bad_sorts[_i].json);
	LPSSortOrderSet sort = NULL;
	char err[128] = "";

	ck_assert_int_eq(proto_sort_from_json(a, &sort, err, sizeof err),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_str_eq(err, bad_sorts[_i].err);
	ck_assert_ptr_null(sort);
	json_object_put(a);
}
END_TEST

START_TEST(test_sort_limit)
{
	json_object *a = json_object_new_array(), *key;
	LPSSortOrderSet sort;
	char err[128];

	for (int i = 0; i <= PROTO_MAX_TAGS; i++) {
		key = json_object_new_object();
		json_object_object_add(key, "tag", json_object_new_string("PR_ROWID"));
		json_object_array_add(a, key);
	}
	ck_assert_int_eq(proto_sort_from_json(a, &sort, err, sizeof err),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_str_eq(err, "more than 256 sort keys");
	json_object_array_del_idx(a, 0, 1);
	ck_assert_int_eq(proto_sort_from_json(a, &sort, err, sizeof err), S_OK);
	ck_assert_uint_eq(sort->cSorts, PROTO_MAX_TAGS);
	MAPIFreeBuffer(sort);
	json_object_put(a);
}
END_TEST

/* ---- Flags ---- */

static const struct proto_flag flush_flags[] = {
	{ "FLUSH_UPLOAD", FLUSH_UPLOAD },
	{ "FLUSH_DOWNLOAD", FLUSH_DOWNLOAD },
	{ "FLUSH_FORCE", FLUSH_FORCE },
	{ "FLUSH_NO_UI", FLUSH_NO_UI },
	{ "FLUSH_ASYNC_OK", FLUSH_ASYNC_OK },
	{ NULL, 0 },
};

struct flags_case {
	const char *json;
	HRESULT hr;
	ULONG value;
	const char *err;
};

static const struct flags_case flags_cases[] = {
	{ "0", S_OK, 0, NULL },
	{ "18", S_OK, FLUSH_UPLOAD | FLUSH_NO_UI, NULL },
	/* bits outside the table are the caller's to refuse */
	{ "4294967295", S_OK, 0xFFFFFFFF, NULL },
	{ "[]", S_OK, 0, NULL },
	{ "[\"FLUSH_UPLOAD\",\"FLUSH_NO_UI\"]", S_OK, FLUSH_UPLOAD | FLUSH_NO_UI, NULL },
	{ "[\"FLUSH_FORCE\",\"FLUSH_FORCE\"]", S_OK, FLUSH_FORCE, NULL },
	{ "[\"FLUSH_UPLOAD\",\"FLUSH_BOGUS\"]", MAPI_E_UNKNOWN_FLAGS, 0,
	  "unknown flag \"FLUSH_BOGUS\"" },
	{ "[\"flush_upload\"]", MAPI_E_UNKNOWN_FLAGS, 0, "unknown flag \"flush_upload\"" },
	{ "[\"FLUSH_UPLOAD\",2]", MAPI_E_INVALID_PARAMETER, 0, "flags[1] must be a flag name" },
	{ "-1", MAPI_E_INVALID_PARAMETER, 0, "flags must be between 0 and 4294967295" },
	{ "4294967296", MAPI_E_INVALID_PARAMETER, 0, "flags must be between 0 and 4294967295" },
	{ "18446744073709551615", MAPI_E_INVALID_PARAMETER, 0,
	  "flags must be between 0 and 4294967295" },
	{ "2.0", MAPI_E_INVALID_PARAMETER, 0, "flags must be a number or a list of flag names" },
	{ "\"FLUSH_UPLOAD\"", MAPI_E_INVALID_PARAMETER, 0,
	  "flags must be a number or a list of flag names" },
	{ "{}", MAPI_E_INVALID_PARAMETER, 0, "flags must be a number or a list of flag names" },
};

START_TEST(test_flags)
{
	const struct flags_case *c = &flags_cases[_i];
	json_object *j = parse(c->json);
	ULONG flags = 0xDEAD;
	char err[128] = "";
	HRESULT hr = proto_flags_from_json(j, flush_flags, &flags, err, sizeof err);

	ck_assert_msg(hr == c->hr, "%s: 0x%08X %s", c->json, (unsigned)hr, err);
	if (c->err) {
		ck_assert_str_eq(err, c->err);
		ck_assert_uint_eq(flags, 0xDEAD);
	} else {
		ck_assert_uint_eq(flags, c->value);
	}
	json_object_put(j);
}
END_TEST

/* ---- Binaries ---- */

START_TEST(test_bin)
{
	static const BYTE bytes[] = { 0x0a, 0x1b, 0x00, 0xff, 0x80 };
	json_object *j = proto_bin_to_json(bytes, sizeof bytes), *s;
	BYTE *b;
	ULONG n;

	ck_assert_str_eq(json_object_get_string(j), "0a1b00ff80");
	ck_assert(proto_bin_from_json(j, sizeof bytes, &b, &n));
	ck_assert_uint_eq(n, sizeof bytes);
	ck_assert_mem_eq(b, bytes, sizeof bytes);
	MAPIFreeBuffer(b);
	/* one byte over the limit */
	ck_assert(!proto_bin_from_json(j, sizeof bytes - 1, &b, &n));
	json_object_put(j);

	j = proto_bin_to_json(NULL, 0);
	ck_assert_str_eq(json_object_get_string(j), "");
	ck_assert(proto_bin_from_json(j, 16, &b, &n));
	ck_assert_uint_eq(n, 0);
	MAPIFreeBuffer(b);
	json_object_put(j);

	s = json_object_new_string("0A1B");
	ck_assert(proto_bin_from_json(s, 16, &b, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(b[0], 0x0a);
	ck_assert_uint_eq(b[1], 0x1b);
	MAPIFreeBuffer(b);
	json_object_put(s);
}
END_TEST

static const char *const bad_bins[] = { "\"abc\"", "\"zz\"", "\"0g\"", "\" 0a\"", "12",
					"null", "[\"0a\"]" };

START_TEST(test_bin_bad)
{
	json_object *j = json_tokener_parse(bad_bins[_i]);
	BYTE *b = NULL;
	ULONG n = 77;

	ck_assert(!proto_bin_from_json(j, 16, &b, &n));
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(n, 77);
	json_object_put(j);
}
END_TEST

static Suite *protocol_suite(void)
{
	Suite *s = suite_create("protocol");
	TCase *tc;

	tc = tcase_create("framing");
	tcase_add_loop_test(tc, test_parse_good, 0, (int)NELEMS(good_lines));
	tcase_add_test(tc, test_parse_members);
	tcase_add_loop_test(tc, test_parse_bad, 0, (int)NELEMS(bad_lines));
	tcase_add_test(tc, test_to_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("members");
	tcase_add_test(tc, test_get_string);
	tcase_add_test(tc, test_get_int64);
	tcase_add_test(tc, test_get_array_object);
	suite_add_tcase(s, tc);

	tc = tcase_create("tags");
	tcase_add_test(tc, test_tags_from_json);
	tcase_add_loop_test(tc, test_tags_bad, 0, (int)NELEMS(bad_tags));
	tcase_add_test(tc, test_tags_limit);
	tcase_add_test(tc, test_tags_to_json);
	suite_add_tcase(s, tc);

	tc = tcase_create("rows");
	tcase_add_test(tc, test_row_to_json);
	tcase_add_test(tc, test_row_to_json_odd_values);
	tcase_add_test(tc, test_row_from_json);
	tcase_add_test(tc, test_row_from_json_errors);
	tcase_add_test(tc, test_row_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("sort");
	tcase_add_test(tc, test_sort);
	tcase_add_loop_test(tc, test_sort_bad, 0, (int)NELEMS(bad_sorts));
	tcase_add_test(tc, test_sort_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("flags");
	tcase_add_loop_test(tc, test_flags, 0, (int)NELEMS(flags_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("binary");
	tcase_add_test(tc, test_bin);
	tcase_add_loop_test(tc, test_bin_bad, 0, (int)NELEMS(bad_bins));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(protocol_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
