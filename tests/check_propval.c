/*
 * check_propval.c — SPropValue on the wire (propval.c): every type both
 * ways, malformed input, comparison, search, deep copy, times and hex.
 */
#include <config.h>

#include <check.h>
#include <locale.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include <mapispool/mapispool.h>

#include "propval.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Tags in the provider range, which have no name: the tests are about
 * types. */
#define TAG(type) PROP_TAG(type, 0x6650)

/* "null" parses to NULL, which is json-c's null; anything else must parse. */
static json_object *
parse(const char *text)
{
	enum json_tokener_error jerr;
	json_object *j = json_tokener_parse_verbose(text, &jerr);

	ck_assert_msg(jerr == json_tokener_success, "test JSON does not parse: %s", text);
	return j;
}

static const char *
to_text(json_object *j)
{
	return json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* Decode text as a value of type into the chain of root; must succeed. */
static SPropValue
decode(ULONG type, const char *text, void *root)
{
	json_object *j = parse(text);
	SPropValue pv;
	char err[256] = "";
	HRESULT hr = propval_from_json(TAG(type), j, root, &pv, err, sizeof(err));

	ck_assert_msg(hr == S_OK, "type 0x%04X, %s: 0x%08X %s", type, text, (unsigned)hr, err);
	json_object_put(j);
	return pv;
}

/* ---- Round trips: JSON in, SPropValue, JSON out ---- */

static const struct rt_case {
	ULONG type;
	const char *in;
	const char *out;	/* NULL: the same as in */
} rt_cases[] = {
	{ PT_NULL, "null", NULL },
	{ PT_I2, "0", NULL },
	{ PT_I2, "-32768", NULL },
	{ PT_I2, "32767", NULL },
	{ PT_LONG, "36", NULL },
	{ PT_LONG, "-2147483648", NULL },
	{ PT_LONG, "2147483647", NULL },
	/* A ULONG's bit pattern comes back as the LONG it is. */
	{ PT_LONG, "4294967295", "-1" },
	{ PT_LONG, "2147483648", "-2147483648" },
	{ PT_I8, "9223372036854775807", NULL },
	{ PT_I8, "-9223372036854775808", NULL },
	{ PT_I8, "0", NULL },
	{ PT_DOUBLE, "1.5", NULL },
	{ PT_DOUBLE, "-0.25", NULL },
	{ PT_DOUBLE, "3", "3.0" },
	{ PT_BOOLEAN, "true", NULL },
	{ PT_BOOLEAN, "false", NULL },
	{ PT_STRING8, "\"relay\"", NULL },
	{ PT_STRING8, "\"\"", NULL },
	{ PT_STRING8, "\"Grüße, 日本, 😀\"", NULL },
	{ PT_STRING8, "\"a\\u00e9b\"", "\"aéb\"" },
	{ PT_STRING8, "\"tab\\tquote\\\"slash/\"", NULL },
	{ PT_UNICODE, "\"relay\"", NULL },
	{ PT_UNICODE, "\"\"", NULL },
	{ PT_UNICODE, "\"Grüße, 日本, 😀\"", NULL },
	{ PT_UNICODE, "\"\\ud83d\\ude00\"", "\"😀\"" },
	{ PT_UNICODE, "\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"", "\"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\"" },
	{ PT_BINARY, "\"0a1b2c\"", NULL },
	{ PT_BINARY, "\"0A1B2C\"", "\"0a1b2c\"" },
	{ PT_BINARY, "\"00ff\"", NULL },
	{ PT_BINARY, "\"\"", NULL },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13Z\"", NULL },
	{ PT_SYSTIME, "\"2026-11-25t20:34:13z\"", "\"2026-11-25T20:34:13Z\"" },
	{ PT_SYSTIME, "\"2026-11-25T21:34:13+01:00\"", "\"2026-11-25T20:34:13Z\"" },
	{ PT_SYSTIME, "\"2026-11-25T20:04:13-00:30\"", "\"2026-11-25T20:34:13Z\"" },
	{ PT_SYSTIME, "\"2026-11-26T01:34:13+05:00\"", "\"2026-11-25T20:34:13Z\"" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13.5Z\"", NULL },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13.000Z\"", "\"2026-11-25T20:34:13Z\"" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13.1234567Z\"", NULL },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13.123456789Z\"", "\"2026-11-25T20:34:13.1234567Z\"" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13.0000001Z\"", NULL },
	{ PT_SYSTIME, "\"1601-01-01T00:00:00Z\"", NULL },
	{ PT_SYSTIME, "\"1970-01-01T00:00:00Z\"", NULL },
	{ PT_SYSTIME, "\"2000-02-29T23:59:59Z\"", NULL },
	{ PT_SYSTIME, "\"2024-12-31T23:30:00-01:00\"", "\"2025-01-01T00:30:00Z\"" },
	{ PT_SYSTIME, "\"9999-12-31T23:59:59Z\"", NULL },
	{ PT_ERROR, "{\"error\":\"MAPI_E_NOT_FOUND\"}", NULL },
	{ PT_ERROR, "{\"error\":-2147221233}", "{\"error\":\"MAPI_E_NOT_FOUND\"}" },
	{ PT_ERROR, "{\"error\":2147746063}", "{\"error\":\"MAPI_E_NOT_FOUND\"}" },
	{ PT_ERROR, "{\"error\":\"E_FAIL\"}", "{\"error\":\"MAPI_E_CALL_FAILED\"}" },
	{ PT_ERROR, "{\"error\":-2147221000}", NULL },
	/* An error stands in for a value of any type. */
	{ PT_LONG, "{\"error\":\"MAPI_E_NOT_FOUND\"}", NULL },
	{ PT_UNICODE, "{\"error\":\"MAPI_E_NOT_ENOUGH_MEMORY\",\"detail\":1}",
	  "{\"error\":\"MAPI_E_NOT_ENOUGH_MEMORY\"}" },
	{ PT_MV_I2, "[1,-2,32767]", NULL },
	{ PT_MV_LONG, "[1,2,-3]", NULL },
	{ PT_MV_LONG, "[]", NULL },
	{ PT_MV_LONG, "[4294967295]", "[-1]" },
	{ PT_MV_I8, "[9223372036854775807,-1]", NULL },
	{ PT_MV_DOUBLE, "[0.5,2.0]", NULL },
	{ PT_MV_STRING8, "[\"a\",\"\",\"é\"]", NULL },
	{ PT_MV_UNICODE, "[\"é\",\"😀\",\"\"]", NULL },
	{ PT_MV_UNICODE, "[]", NULL },
	{ PT_MV_BINARY, "[\"00\",\"FF\",\"\"]", "[\"00\",\"ff\",\"\"]" },
	{ PT_MV_SYSTIME, "[\"2026-11-25T20:34:13Z\",\"1601-01-01T00:00:00.5Z\"]", NULL },
};

START_TEST(test_round_trip)
{
	const struct rt_case *t = &rt_cases[_i];
	const char *want = t->out != NULL ? t->out : t->in;
	void *root;
	SPropValue pv;
	json_object *out;

	ck_assert_int_eq(MAPIAllocateBuffer(0, &root), S_OK);
	pv = decode(t->type, t->in, root);
	if (t->in[0] == '{')
		ck_assert_uint_eq(pv.ulPropTag, PROP_TAG(PT_ERROR, 0x6650));
	else
		ck_assert_uint_eq(pv.ulPropTag, TAG(t->type));
	out = propval_to_json(&pv);
	if (t->type != PT_NULL)
		ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(to_text(out), want);
	json_object_put(out);
	MAPIFreeBuffer(root);
}
END_TEST

/* ---- Values in C ---- */

START_TEST(test_values_numbers)
{
	void *root;
	SPropValue pv;
	json_object *j;

	MAPIAllocateBuffer(0, &root);
	ck_assert_uint_eq(decode(PT_LONG, "4294967295", root).Value.ul, 0xFFFFFFFFu);
	ck_assert_int_eq(decode(PT_LONG, "-1", root).Value.l, -1);
	ck_assert_int_eq(decode(PT_LONG, "36", root).Value.l, 36);
	ck_assert_int_eq(decode(PT_I2, "-32768", root).Value.i, -32768);
	ck_assert_int_eq(decode(PT_I8, "-9223372036854775808", root).Value.li.QuadPart, INT64_MIN);
	ck_assert_double_eq(decode(PT_DOUBLE, "2", root).Value.dbl, 2.0);
	ck_assert_uint_eq(decode(PT_BOOLEAN, "true", root).Value.b, 1);
	ck_assert_uint_eq(decode(PT_BOOLEAN, "false", root).Value.b, 0);
	pv = decode(PT_ERROR, "{\"error\":\"MAPI_E_NOT_FOUND\"}", root);
	ck_assert_int_eq(pv.Value.err, MAPI_E_NOT_FOUND);
	pv = decode(PT_BINARY, "{\"error\":2147746063}", root);
	ck_assert_uint_eq(pv.ulPropTag, PROP_TAG(PT_ERROR, 0x6650));
	ck_assert_int_eq(pv.Value.err, MAPI_E_NOT_FOUND);

	/* Any BOOLEAN other than 0 is true on output. */
	pv.ulPropTag = TAG(PT_BOOLEAN);
	pv.Value.b = 7;
	j = propval_to_json(&pv);
	ck_assert_str_eq(to_text(j), "true");
	json_object_put(j);
	MAPIFreeBuffer(root);
}
END_TEST

START_TEST(test_values_strings)
{
	static const WCHAR want[] = { 'G', 'r', 0xFC, 0xDF, 'e', ' ', 0x65E5, ' ', 0x1F600, 0 };
	void *root;
	SPropValue pv;

	MAPIAllocateBuffer(0, &root);
	pv = decode(PT_UNICODE, "\"Grüße 日 😀\"", root);
	ck_assert_int_eq(wcscmp(pv.Value.lpszW, want), 0);
	ck_assert_int_eq(wcscmp(pv.Value.lpszW, L"Grüße 日 😀"), 0);
	pv = decode(PT_STRING8, "\"Grüße\"", root);
	ck_assert_str_eq(pv.Value.lpszA, "Gr\xc3\xbc\xc3\x9f" "e");
	pv = decode(PT_BINARY, "\"00Ff7a\"", root);
	ck_assert_uint_eq(pv.Value.bin.cb, 3);
	ck_assert_mem_eq(pv.Value.bin.lpb, "\x00\xff\x7a", 3);
	pv = decode(PT_BINARY, "\"\"", root);
	ck_assert_uint_eq(pv.Value.bin.cb, 0);
	pv = decode(PT_MV_UNICODE, "[\"a\",\"é\"]", root);
	ck_assert_uint_eq(pv.Value.MVszW.cValues, 2);
	ck_assert_int_eq(wcscmp(pv.Value.MVszW.lppszW[0], L"a"), 0);
	ck_assert_int_eq(wcscmp(pv.Value.MVszW.lppszW[1], L"\u00e9"), 0);
	pv = decode(PT_MV_BINARY, "[\"0102\",\"\"]", root);
	ck_assert_uint_eq(pv.Value.MVbin.cValues, 2);
	ck_assert_uint_eq(pv.Value.MVbin.lpbin[0].cb, 2);
	ck_assert_mem_eq(pv.Value.MVbin.lpbin[0].lpb, "\x01\x02", 2);
	ck_assert_uint_eq(pv.Value.MVbin.lpbin[1].cb, 0);
	MAPIFreeBuffer(root);
}
END_TEST

/* Output never fails on a bad string: what is not a character becomes
 * U+FFFD. */
START_TEST(test_encode_replaces_invalid)
{
	static WCHAR bad_wide[] = { 'a', 0xD800, 'b', 0x110000, -1, 0 };
	SPropValue pv = { .ulPropTag = TAG(PT_UNICODE) };
	json_object *j;

	pv.Value.lpszW = bad_wide;
	j = propval_to_json(&pv);
	ck_assert_str_eq(json_object_get_string(j), "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
	json_object_put(j);

	pv.ulPropTag = TAG(PT_STRING8);
	pv.Value.lpszA = "ok\xff\xc3(end\xe2\x82";
	j = propval_to_json(&pv);
	ck_assert_str_eq(json_object_get_string(j),
			 "ok\xef\xbf\xbd\xef\xbf\xbd(end\xef\xbf\xbd\xef\xbf\xbd");
	json_object_put(j);

	pv.Value.lpszA = "caf\xc3\xa9";
	j = propval_to_json(&pv);
	ck_assert_str_eq(json_object_get_string(j), "caf\xc3\xa9");
	json_object_put(j);
}
END_TEST

START_TEST(test_encode_unwritable)
{
	static GUID guid;
	SPropValue pv = { .ulPropTag = TAG(PT_OBJECT) };

	ck_assert_ptr_null(propval_to_json(&pv));
	pv.ulPropTag = TAG(PT_CLSID);
	pv.Value.lpguid = &guid;
	ck_assert_ptr_null(propval_to_json(&pv));
	pv.ulPropTag = TAG(PT_MV_CLSID);
	pv.Value.MVguid.cValues = 1;
	pv.Value.MVguid.lpguid = &guid;
	ck_assert_ptr_null(propval_to_json(&pv));
	pv.ulPropTag = TAG(PT_STRING8);
	pv.Value.lpszA = NULL;
	ck_assert_ptr_null(propval_to_json(&pv));
	pv.ulPropTag = TAG(PT_DOUBLE);
	pv.Value.dbl = NAN;
	ck_assert_ptr_null(propval_to_json(&pv));
	/* Past year 9999, RFC 3339 has no way to say it. */
	pv.ulPropTag = TAG(PT_SYSTIME);
	pv.Value.ft.dwHighDateTime = 0xFFFFFFFF;
	pv.Value.ft.dwLowDateTime = 0xFFFFFFFF;
	ck_assert_ptr_null(propval_to_json(&pv));
}
END_TEST

/* ---- Malformed input ---- */

static const struct bad_case {
	ULONG type;
	const char *in;
	HRESULT hr;
	const char *why;	/* a part of the message */
} bad_cases[] = {
	{ PT_LONG, "4294967296", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_LONG, "-2147483649", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_LONG, "1.0", MAPI_E_INVALID_PARAMETER, "integer" },
	{ PT_LONG, "true", MAPI_E_INVALID_PARAMETER, "integer" },
	{ PT_LONG, "\"1\"", MAPI_E_INVALID_PARAMETER, "integer" },
	{ PT_LONG, "null", MAPI_E_INVALID_PARAMETER, "integer" },
	{ PT_LONG, "[1]", MAPI_E_INVALID_PARAMETER, "integer" },
	{ PT_I2, "32768", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_I2, "-32769", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_I8, "9223372036854775808", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_I8, "18446744073709551615", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_I8, "1e3", MAPI_E_INVALID_PARAMETER, "integer" },
	{ PT_DOUBLE, "\"1.5\"", MAPI_E_INVALID_PARAMETER, "number" },
	{ PT_DOUBLE, "NaN", MAPI_E_INVALID_PARAMETER, "finite" },
	{ PT_DOUBLE, "-Infinity", MAPI_E_INVALID_PARAMETER, "finite" },
	{ PT_BOOLEAN, "1", MAPI_E_INVALID_PARAMETER, "boolean" },
	{ PT_BOOLEAN, "0", MAPI_E_INVALID_PARAMETER, "boolean" },
	{ PT_BOOLEAN, "\"true\"", MAPI_E_INVALID_PARAMETER, "boolean" },
	{ PT_BOOLEAN, "null", MAPI_E_INVALID_PARAMETER, "boolean" },
	{ PT_STRING8, "1", MAPI_E_INVALID_PARAMETER, "string" },
	{ PT_STRING8, "[\"a\"]", MAPI_E_INVALID_PARAMETER, "string" },
	{ PT_STRING8, "\"a\\u0000b\"", MAPI_E_INVALID_PARAMETER, "NUL" },
	{ PT_STRING8, "\"\xff\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },
	{ PT_UNICODE, "true", MAPI_E_INVALID_PARAMETER, "string" },
	{ PT_UNICODE, "\"a\\u0000\"", MAPI_E_INVALID_PARAMETER, "NUL" },
	{ PT_UNICODE, "\"\xff\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },
	{ PT_UNICODE, "\"\x80\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* lone continuation */
	{ PT_UNICODE, "\"\xc3(\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* bad continuation */
	{ PT_UNICODE, "\"\xc0\xaf\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* overlong '/' */
	{ PT_UNICODE, "\"\xe0\x80\xaf\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* overlong */
	{ PT_UNICODE, "\"\xf0\x80\x80\xaf\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* overlong */
	{ PT_UNICODE, "\"\xed\xa0\x80\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* U+D800 */
	{ PT_UNICODE, "\"\xed\xbf\xbf\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* U+DFFF */
	{ PT_UNICODE, "\"\xf4\x90\x80\x80\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* U+110000 */
	{ PT_UNICODE, "\"\xf8\x88\x80\x80\x80\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },
	{ PT_UNICODE, "\"ab\xe2\x82\"", MAPI_E_INVALID_PARAMETER, "UTF-8" },	/* truncated */
	{ PT_BINARY, "\"abc\"", MAPI_E_INVALID_PARAMETER, "odd" },
	{ PT_BINARY, "\"zz\"", MAPI_E_INVALID_PARAMETER, "hex" },
	{ PT_BINARY, "\"0x00\"", MAPI_E_INVALID_PARAMETER, "hex" },
	{ PT_BINARY, "\" 00\"", MAPI_E_INVALID_PARAMETER, "odd" },
	{ PT_BINARY, "\"00 0\"", MAPI_E_INVALID_PARAMETER, "hex" },
	{ PT_BINARY, "12", MAPI_E_INVALID_PARAMETER, "string" },
	{ PT_SYSTIME, "\"2026-13-01T00:00:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-00-01T00:00:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-02-29T00:00:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2100-02-29T00:00:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-04-31T00:00:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-11-00T00:00:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-11-25T24:00:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-11-25T20:60:00Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:60Z\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13+24:00\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13+01:60\"", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_SYSTIME, "\"2026-11-25 20:34:13Z\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"2026-11-25T20:34Z\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13.Z\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13+0100\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13+01\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13Zjunk\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"2026-1-25T20:34:13Z\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"26-11-25T20:34:13Z\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"+2026-11-25T20:34:13Z\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"\"", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_SYSTIME, "\"1600-12-31T23:59:59Z\"", MAPI_E_INVALID_PARAMETER, "1601" },
	{ PT_SYSTIME, "\"1601-01-01T00:00:00+00:01\"", MAPI_E_INVALID_PARAMETER, "1601" },
	{ PT_SYSTIME, "1795638853", MAPI_E_INVALID_PARAMETER, "string" },
	{ PT_ERROR, "{\"error\":\"MAPI_E_BOGUS\"}", MAPI_E_INVALID_PARAMETER, "MAPI_E_BOGUS" },
	{ PT_ERROR, "{\"foo\":1}", MAPI_E_INVALID_PARAMETER, "error" },
	{ PT_ERROR, "{\"error\":true}", MAPI_E_INVALID_PARAMETER, "integer" },
	{ PT_ERROR, "{\"error\":4294967296}", MAPI_E_INVALID_PARAMETER, "range" },
	{ PT_ERROR, "\"MAPI_E_NOT_FOUND\"", MAPI_E_INVALID_PARAMETER, "error" },
	{ PT_ERROR, "5", MAPI_E_INVALID_PARAMETER, "error" },
	{ PT_LONG, "{\"value\":5}", MAPI_E_INVALID_PARAMETER, "error" },
	{ PT_NULL, "0", MAPI_E_INVALID_PARAMETER, "null" },
	{ PT_MV_LONG, "5", MAPI_E_INVALID_PARAMETER, "array" },
	{ PT_MV_LONG, "[1,\"a\"]", MAPI_E_INVALID_PARAMETER, "[1]" },
	{ PT_MV_LONG, "[1,4294967296]", MAPI_E_INVALID_PARAMETER, "[1]" },
	{ PT_MV_STRING8, "[\"a\",null]", MAPI_E_INVALID_PARAMETER, "[1]" },
	{ PT_MV_UNICODE, "[\"ok\",\"\xff\"]", MAPI_E_INVALID_PARAMETER, "UTF-8" },
	{ PT_MV_BINARY, "[\"0\"]", MAPI_E_INVALID_PARAMETER, "odd" },
	{ PT_MV_SYSTIME, "[\"yesterday\"]", MAPI_E_INVALID_PARAMETER, "RFC 3339" },
	{ PT_MV_STRING8, "[[\"a\"]]", MAPI_E_INVALID_PARAMETER, "string" },
	{ PT_OBJECT, "1", MAPI_E_INVALID_TYPE, "JSON" },
	{ PT_CLSID, "\"00\"", MAPI_E_INVALID_TYPE, "JSON" },
	{ PT_R4, "1.5", MAPI_E_INVALID_TYPE, "JSON" },
	{ PT_MV_CLSID, "[]", MAPI_E_INVALID_TYPE, "JSON" },
	{ PT_MV_R4, "[1.5]", MAPI_E_INVALID_TYPE, "JSON" },
	{ MV_FLAG | PT_BOOLEAN, "[true]", MAPI_E_INVALID_TYPE, "JSON" },
};

START_TEST(test_bad_input)
{
	const struct bad_case *t = &bad_cases[_i];
	json_object *j = parse(t->in);
	SPropValue pv = { .ulPropTag = 0xDEADBEEF };
	char err[256] = "";
	void *root;
	HRESULT hr;

	MAPIAllocateBuffer(0, &root);
	hr = propval_from_json(TAG(t->type), j, root, &pv, err, sizeof(err));
	ck_assert_msg(hr == t->hr, "type 0x%04X, %s: got 0x%08X (%s)", t->type, t->in,
		      (unsigned)hr, err);
	ck_assert_msg(strstr(err, t->why) != NULL, "%s: \"%s\" lacks \"%s\"", t->in, err, t->why);
	/* The message names the property. */
	ck_assert_msg(strncmp(err, "0x6650", 6) == 0, "%s", err);
	ck_assert_uint_eq(pv.ulPropTag, 0xDEADBEEF);
	MAPIFreeBuffer(root);
	json_object_put(j);
}
END_TEST

START_TEST(test_bad_input_named)
{
	json_object *j = parse("\"36\"");
	SPropValue pv;
	char err[256] = "";

	ck_assert_int_eq(propval_from_json(PR_RESOURCE_TYPE, j, NULL, &pv, err, sizeof(err)),
			 MAPI_E_INVALID_PARAMETER);
	ck_assert_str_eq(err, "PR_RESOURCE_TYPE: expected an integer, not string");
	/* No room for a message is fine. */
	ck_assert_int_eq(propval_from_json(PR_RESOURCE_TYPE, j, NULL, &pv, NULL, 0),
			 MAPI_E_INVALID_PARAMETER);
	json_object_put(j);
}
END_TEST

/* ---- Memory: no parent, and failures ---- */

/* See check_alloc.c: glibc's thread cache hides freed blocks under 1032
 * bytes from mallinfo2, so these values are built of larger ones. */
#define UNCACHED 2048

static size_t
heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/* Under valgrind or a sanitizer, malloc is not glibc's and mallinfo2 reads
 * 0; the tools check leaks themselves, and the tests that count bytes
 * step aside. */
static bool
heap_measurable(void)
{
	size_t before = heap_in_use();
	void *volatile p = malloc(UNCACHED);	/* volatile: kept by the optimiser */
	bool grew = heap_in_use() >= before + UNCACHED;

	free(p);
	return grew;
}

static json_object *
big_string_array(size_t n, size_t len, bool bad_last)
{
	json_object *arr = json_object_new_array();
	char *s = malloc(len + 1);

	memset(s, 'x', len);
	s[len] = '\0';
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, bad_last && i == n - 1 ? json_object_new_int(1) :
					   json_object_new_string(s));
	free(s);
	return arr;
}

/* Without a parent, a multi-valued value is one chain: freeing its array
 * frees its strings. */
START_TEST(test_no_parent_one_chain)
{
	json_object *j = big_string_array(200, UNCACHED, false);
	SPropValue pv;
	size_t before, during, after;
	HRESULT hr;

	if (!heap_measurable()) {
		json_object_put(j);
		return;
	}
	before = heap_in_use();
	hr = propval_from_json(TAG(PT_MV_STRING8), j, NULL, &pv, NULL, 0);
	during = heap_in_use();
	MAPIFreeBuffer(pv.Value.MVszA.lppszA);
	after = heap_in_use();

	ck_assert_int_eq(hr, S_OK);
	ck_assert_uint_ge(during, before + 200 * UNCACHED);
	ck_assert_uint_eq(after, before);
	json_object_put(j);
}
END_TEST

/* A failure half-way gives back what it took when it owned the root. */
START_TEST(test_failure_frees)
{
	json_object *j = big_string_array(200, UNCACHED, true);
	SPropValue pv;
	size_t before, after;
	HRESULT hr;

	if (!heap_measurable()) {
		json_object_put(j);
		return;
	}
	before = heap_in_use();
	hr = propval_from_json(TAG(PT_MV_UNICODE), j, NULL, &pv, NULL, 0);
	after = heap_in_use();

	ck_assert_int_eq(hr, MAPI_E_INVALID_PARAMETER);
	ck_assert_uint_eq(after, before);
	json_object_put(j);
}
END_TEST

/* ---- Comparison ---- */

#define INCOMPARABLE 2

static const struct cmp_case {
	ULONG ta;
	const char *a;
	ULONG tb;
	const char *b;
	bool ignorecase;
	int want;
} cmp_cases[] = {
	{ PT_LONG, "1", PT_LONG, "2", false, -1 },
	{ PT_LONG, "2", PT_LONG, "2", false, 0 },
	{ PT_LONG, "-1", PT_LONG, "1", false, -1 },
	{ PT_LONG, "4294967295", PT_LONG, "0", false, -1 },	/* LONG: signed */
	{ PT_I2, "-5", PT_I2, "-6", false, 1 },
	{ PT_I8, "9223372036854775807", PT_I8, "-9223372036854775808", false, 1 },
	{ PT_DOUBLE, "1.5", PT_DOUBLE, "1.25", false, 1 },
	{ PT_DOUBLE, "2", PT_DOUBLE, "2.0", false, 0 },
	{ PT_BOOLEAN, "false", PT_BOOLEAN, "true", false, -1 },
	{ PT_BOOLEAN, "true", PT_BOOLEAN, "true", false, 0 },
	{ PT_SYSTIME, "\"2026-11-25T20:34:13Z\"", PT_SYSTIME, "\"2026-11-25T20:34:13.1Z\"", false, -1 },
	{ PT_SYSTIME, "\"2026-11-25T21:34:13+01:00\"", PT_SYSTIME, "\"2026-11-25T20:34:13Z\"", false, 0 },
	{ PT_SYSTIME, "\"2100-01-01T00:00:00Z\"", PT_SYSTIME, "\"1999-12-31T23:59:59Z\"", false, 1 },
	{ PT_BINARY, "\"0102\"", PT_BINARY, "\"0103\"", false, -1 },
	{ PT_BINARY, "\"01\"", PT_BINARY, "\"0100\"", false, -1 },
	{ PT_BINARY, "\"ff\"", PT_BINARY, "\"00ff\"", false, 1 },
	{ PT_BINARY, "\"\"", PT_BINARY, "\"\"", false, 0 },
	{ PT_BINARY, "\"ABCD\"", PT_BINARY, "\"abcd\"", false, 0 },
	{ PT_STRING8, "\"abc\"", PT_STRING8, "\"abd\"", false, -1 },
	{ PT_STRING8, "\"ab\"", PT_STRING8, "\"abc\"", false, -1 },
	{ PT_STRING8, "\"\"", PT_STRING8, "\"\"", false, 0 },
	{ PT_STRING8, "\"A\"", PT_STRING8, "\"a\"", false, -1 },
	{ PT_UNICODE, "\"b\"", PT_UNICODE, "\"a\"", false, 1 },
	/* The two string types mix, by code point. */
	{ PT_STRING8, "\"abc\"", PT_UNICODE, "\"abc\"", false, 0 },
	{ PT_UNICODE, "\"é\"", PT_STRING8, "\"z\"", false, 1 },
	{ PT_UNICODE, "\"😀\"", PT_STRING8, "\"\uffff\"", false, 1 },
	{ PT_STRING8, "\"😀\"", PT_UNICODE, "\"\uffff\"", false, 1 },
	{ PT_STRING8, "\"日本\"", PT_UNICODE, "\"日本語\"", false, -1 },
	/* ignorecase */
	{ PT_STRING8, "\"RELAY\"", PT_STRING8, "\"relay\"", true, 0 },
	{ PT_STRING8, "\"RELAY\"", PT_STRING8, "\"relax\"", true, 1 },
	{ PT_STRING8, "\"Ä\"", PT_UNICODE, "\"ä\"", true, 0 },
	{ PT_UNICODE, "\"ÀÉÎÕÜÇÑØÞ\"", PT_STRING8, "\"àéîõüçñøþ\"", true, 0 },
	{ PT_UNICODE, "\"×\"", PT_UNICODE, "\"÷\"", true, -1 },
	{ PT_UNICODE, "\"İ\"", PT_UNICODE, "\"i\"", true, 0 },
	{ PT_UNICODE, "\"Ÿ\"", PT_UNICODE, "\"ÿ\"", true, 0 },
	{ PT_UNICODE, "\"ŁÓDŹ\"", PT_UNICODE, "\"łódź\"", true, 0 },
	{ PT_UNICODE, "\"ΑΒΓΩ\"", PT_UNICODE, "\"αβγω\"", true, 0 },
	{ PT_UNICODE, "\"ПРИВЕТ Ё\"", PT_UNICODE, "\"привет ё\"", true, 0 },
	{ PT_UNICODE, "\"Straße\"", PT_UNICODE, "\"STRASSE\"", true, 1 },
	{ PT_UNICODE, "\"Ä\"", PT_UNICODE, "\"ä\"", false, -1 },
	/* Types that do not compare */
	{ PT_LONG, "1", PT_I2, "1", false, INCOMPARABLE },
	{ PT_LONG, "1", PT_STRING8, "\"1\"", false, INCOMPARABLE },
	{ PT_BINARY, "\"61\"", PT_STRING8, "\"a\"", false, INCOMPARABLE },
	{ PT_BOOLEAN, "true", PT_LONG, "1", false, INCOMPARABLE },
	{ PT_ERROR, "{\"error\":\"MAPI_E_NOT_FOUND\"}", PT_ERROR,
	  "{\"error\":\"MAPI_E_NOT_FOUND\"}", false, INCOMPARABLE },
	{ PT_MV_LONG, "[1]", PT_MV_LONG, "[1]", false, INCOMPARABLE },
	{ PT_NULL, "null", PT_NULL, "null", false, INCOMPARABLE },
};

START_TEST(test_compare)
{
	const struct cmp_case *t = &cmp_cases[_i];
	void *root;
	SPropValue a, b;
	int cmp = 99, back = 99;
	bool ok;

	MAPIAllocateBuffer(0, &root);
	a = decode(t->ta, t->a, root);
	b = decode(t->tb, t->b, root);
	ok = propval_compare(&a, &b, t->ignorecase, &cmp);
	if (t->want == INCOMPARABLE) {
		ck_assert_msg(!ok, "%s vs %s compared", t->a, t->b);
	} else {
		ck_assert_msg(ok, "%s vs %s did not compare", t->a, t->b);
		ck_assert_msg(cmp == t->want, "%s vs %s: %d, not %d", t->a, t->b, cmp, t->want);
		/* and the other way round */
		ck_assert(propval_compare(&b, &a, t->ignorecase, &back));
		ck_assert_int_eq(back, -t->want);
	}
	MAPIFreeBuffer(root);
}
END_TEST

/* Folding agrees with towlower() in a UTF-8 locale over every range it
 * claims: ASCII, Latin-1, Latin Extended-A, basic Greek and Cyrillic. */
static const struct {
	WCHAR first, last;
} fold_ranges[] = {
	{ 0x0001, 0x017F },
	{ 0x0391, 0x03AB },
	{ 0x0400, 0x042F },
};

START_TEST(test_fold_like_towlower)
{
	WCHAR upper[2] = { 0 }, lower[2] = { 0 };
	SPropValue a = { .ulPropTag = TAG(PT_UNICODE), .Value.lpszW = upper };
	SPropValue b = { .ulPropTag = TAG(PT_UNICODE), .Value.lpszW = lower };
	int cmp;

	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
	for (WCHAR c = fold_ranges[_i].first; c <= fold_ranges[_i].last; c++) {
		upper[0] = c;
		lower[0] = (WCHAR)towlower((wint_t)c);
		ck_assert(propval_compare(&a, &b, true, &cmp));
		ck_assert_msg(cmp == 0, "U+%04X and U+%04X differ", (unsigned)c, (unsigned)lower[0]);
		ck_assert(propval_compare(&a, &b, false, &cmp));
		ck_assert_int_eq(cmp != 0, lower[0] != c);
	}
}
END_TEST

/* ---- propval_find ---- */

START_TEST(test_find)
{
	SPropValue props[] = {
		{ .ulPropTag = PR_RESOURCE_TYPE, .Value.l = 36 },
		{ .ulPropTag = PR_DISPLAY_NAME_A, .Value.lpszA = "relay" },
		{ .ulPropTag = PR_ADDRTYPE_W, .Value.lpszW = L"SMTP" },
		{ .ulPropTag = PR_RESOURCE_TYPE, .Value.l = 37 },
		{ .ulPropTag = PROP_TAG(PT_ERROR, 0x3E08), .Value.err = MAPI_E_NOT_FOUND },
	};

	ck_assert_ptr_eq(propval_find(props, 5, PR_RESOURCE_TYPE), &props[0]);
	ck_assert_ptr_eq(propval_find(props, 5, PR_DISPLAY_NAME_W), &props[1]);
	ck_assert_ptr_eq(propval_find(props, 5, PR_DISPLAY_NAME_A), &props[1]);
	ck_assert_ptr_eq(propval_find(props, 5, PR_ADDRTYPE_A), &props[2]);
	ck_assert_ptr_null(propval_find(props, 5, PR_ENTRYID));
	ck_assert_ptr_null(propval_find(props, 5, PR_STATUS_STRING_A));
	ck_assert_ptr_null(propval_find(props, 5, PROP_TAG(PT_STRING8, 0x3E03)));
	ck_assert_ptr_null(propval_find(props, 0, PR_RESOURCE_TYPE));
	ck_assert_ptr_null(propval_find(NULL, 0, PR_RESOURCE_TYPE));
}
END_TEST

/* ---- propval_copy ---- */

/* The pointer a value of this type holds, to tell a deep copy. */
static const void *
data_of(const SPropValue *pv)
{
	switch (PROP_TYPE(pv->ulPropTag)) {
	case PT_STRING8: return pv->Value.lpszA;
	case PT_UNICODE: return pv->Value.lpszW;
	case PT_BINARY: return pv->Value.bin.lpb;
	case PT_MV_I2: return pv->Value.MVi.lpi;
	case PT_MV_LONG: return pv->Value.MVl.lpl;
	case PT_MV_I8: return pv->Value.MVli.lpli;
	case PT_MV_DOUBLE: return pv->Value.MVdbl.lpdbl;
	case PT_MV_SYSTIME: return pv->Value.MVft.lpft;
	case PT_MV_STRING8: return pv->Value.MVszA.lppszA;
	case PT_MV_UNICODE: return pv->Value.MVszW.lppszW;
	case PT_MV_BINARY: return pv->Value.MVbin.lpbin;
	default: return NULL;
	}
}

/* Every round-trip value, copied into another chain that outlives the
 * original, still says the same. */
START_TEST(test_copy)
{
	const struct rt_case *t = &rt_cases[_i];
	void *r1, *r2;
	SPropValue src, dst;
	json_object *out;

	MAPIAllocateBuffer(0, &r1);
	MAPIAllocateBuffer(0, &r2);
	src = decode(t->type, t->in, r1);
	ck_assert_int_eq(propval_copy(&dst, &src, r2), S_OK);
	ck_assert_uint_eq(dst.ulPropTag, src.ulPropTag);
	if (data_of(&src) != NULL)
		ck_assert_ptr_ne(data_of(&dst), data_of(&src));
	if (PROP_TYPE(src.ulPropTag) == PT_MV_STRING8 && src.Value.MVszA.cValues > 0)
		ck_assert_ptr_ne(dst.Value.MVszA.lppszA[0], src.Value.MVszA.lppszA[0]);
	if (PROP_TYPE(src.ulPropTag) == PT_MV_BINARY && src.Value.MVbin.cValues > 0)
		ck_assert_ptr_ne(dst.Value.MVbin.lpbin[0].lpb, src.Value.MVbin.lpbin[0].lpb);
	memset(&src, 0xA5, sizeof(src));
	MAPIFreeBuffer(r1);

	out = propval_to_json(&dst);
	ck_assert_str_eq(to_text(out), t->out != NULL ? t->out : t->in);
	json_object_put(out);
	MAPIFreeBuffer(r2);
}
END_TEST

START_TEST(test_copy_non_json_types)
{
	static GUID guids[2] = { { 1, 2, 3, { 4 } }, { 5, 6, 7, { 8 } } };
	static float floats[3] = { 1.5f, -2.0f, 0.0f };
	SPropValue src = { .ulPropTag = TAG(PT_CLSID), .Value.lpguid = &guids[1] }, dst;
	void *root;

	MAPIAllocateBuffer(0, &root);
	ck_assert_int_eq(propval_copy(&dst, &src, root), S_OK);
	ck_assert_ptr_ne(dst.Value.lpguid, &guids[1]);
	ck_assert_mem_eq(dst.Value.lpguid, &guids[1], sizeof(GUID));

	src.ulPropTag = TAG(PT_MV_CLSID);
	src.Value.MVguid.cValues = 2;
	src.Value.MVguid.lpguid = guids;
	ck_assert_int_eq(propval_copy(&dst, &src, root), S_OK);
	ck_assert_uint_eq(dst.Value.MVguid.cValues, 2);
	ck_assert_ptr_ne(dst.Value.MVguid.lpguid, guids);
	ck_assert_mem_eq(dst.Value.MVguid.lpguid, guids, sizeof(guids));

	src.ulPropTag = TAG(PT_MV_R4);
	src.Value.MVflt.cValues = 3;
	src.Value.MVflt.lpflt = floats;
	ck_assert_int_eq(propval_copy(&dst, &src, root), S_OK);
	ck_assert_mem_eq(dst.Value.MVflt.lpflt, floats, sizeof(floats));

	/* Copying onto itself works: the source is read before dst is written. */
	src.ulPropTag = TAG(PT_STRING8);
	src.Value.lpszA = "same";
	ck_assert_int_eq(propval_copy(&src, &src, root), S_OK);
	ck_assert_str_eq(src.Value.lpszA, "same");

	src.ulPropTag = TAG(MVI_FLAG | PT_LONG);
	ck_assert_int_eq(propval_copy(&dst, &src, root), MAPI_E_INVALID_TYPE);
	MAPIFreeBuffer(root);
}
END_TEST

/* Without a parent, a copied string is a root of its own. */
START_TEST(test_copy_no_parent)
{
	SPropValue src = { .ulPropTag = TAG(PT_UNICODE), .Value.lpszW = L"héllo" }, dst;

	ck_assert_int_eq(propval_copy(&dst, &src, NULL), S_OK);
	ck_assert_int_eq(wcscmp(dst.Value.lpszW, L"héllo"), 0);
	ck_assert_uint_eq(MAPIFreeBuffer(dst.Value.lpszW), 0);
}
END_TEST

/* ---- Times and hex ---- */

START_TEST(test_filetime_values)
{
	void *root;
	SPropValue pv;
	struct timespec ts;
	FILETIME ft;

	MAPIAllocateBuffer(0, &root);
	pv = decode(PT_SYSTIME, "\"1601-01-01T00:00:00Z\"", root);
	ck_assert_uint_eq(pv.Value.ft.dwHighDateTime, 0);
	ck_assert_uint_eq(pv.Value.ft.dwLowDateTime, 0);

	pv = decode(PT_SYSTIME, "\"1970-01-01T00:00:00Z\"", root);
	ck_assert_uint_eq((uint64_t)pv.Value.ft.dwHighDateTime << 32 | pv.Value.ft.dwLowDateTime,
			  116444736000000000ULL);

	pv = decode(PT_SYSTIME, "\"2026-11-25T20:34:13.5Z\"", root);
	ck_assert_uint_eq((uint64_t)pv.Value.ft.dwHighDateTime << 32 | pv.Value.ft.dwLowDateTime,
			  134401124535000000ULL);
	propval_filetime_to_timespec(&pv.Value.ft, &ts);
	ck_assert_int_eq(ts.tv_sec, 1795638853);
	ck_assert_int_eq(ts.tv_nsec, 500000000);

	ts = (struct timespec){ .tv_sec = 1795638853, .tv_nsec = 123456789 };
	propval_filetime_from_timespec(&ft, &ts);
	propval_filetime_to_timespec(&ft, &ts);
	ck_assert_int_eq(ts.tv_sec, 1795638853);
	ck_assert_int_eq(ts.tv_nsec, 123456700);	/* FILETIME counts 100 ns */

	ts = (struct timespec){ .tv_sec = -11644473600, .tv_nsec = 0 };
	propval_filetime_from_timespec(&ft, &ts);
	ck_assert_uint_eq(ft.dwHighDateTime | ft.dwLowDateTime, 0);
	ts = (struct timespec){ .tv_sec = -11644473601, .tv_nsec = 0 };	/* before 1601 */
	propval_filetime_from_timespec(&ft, &ts);
	ck_assert_uint_eq(ft.dwHighDateTime | ft.dwLowDateTime, 0);
	MAPIFreeBuffer(root);
}
END_TEST

START_TEST(test_hex)
{
	static const BYTE in[] = { 0x00, 0x0a, 0xff, 0x7f, 0x80 };
	BYTE out[5] = { 0 };
	char text[11];

	hex_encode(in, sizeof(in), text);
	ck_assert_str_eq(text, "000aff7f80");
	ck_assert(hex_decode("000AFf7f80", 10, out));
	ck_assert_mem_eq(out, in, sizeof(in));
	hex_encode(in, 0, text);
	ck_assert_str_eq(text, "");
	ck_assert(hex_decode("", 0, out));
	ck_assert(!hex_decode("abc", 3, out));
	ck_assert(!hex_decode("0g", 2, out));
	ck_assert(!hex_decode("g0", 2, out));
	ck_assert(!hex_decode("-1", 2, out));
	ck_assert(!hex_decode("00 1", 4, out));
	/* Only len bytes are read. */
	ck_assert(hex_decode("01zz", 2, out));
	ck_assert_uint_eq(out[0], 1);
}
END_TEST

static Suite *
propval_suite(void)
{
	Suite *s = suite_create("propval");
	TCase *tc = tcase_create("json");

	tcase_add_loop_test(tc, test_round_trip, 0, NITEMS(rt_cases));
	tcase_add_test(tc, test_values_numbers);
	tcase_add_test(tc, test_values_strings);
	tcase_add_test(tc, test_encode_replaces_invalid);
	tcase_add_test(tc, test_encode_unwritable);
	tcase_add_loop_test(tc, test_bad_input, 0, NITEMS(bad_cases));
	tcase_add_test(tc, test_bad_input_named);
	tcase_add_test(tc, test_no_parent_one_chain);
	tcase_add_test(tc, test_failure_frees);
	suite_add_tcase(s, tc);

	tc = tcase_create("compare");
	tcase_add_loop_test(tc, test_compare, 0, NITEMS(cmp_cases));
	tcase_add_loop_test(tc, test_fold_like_towlower, 0, NITEMS(fold_ranges));
	tcase_add_test(tc, test_find);
	suite_add_tcase(s, tc);

	tc = tcase_create("copy");
	tcase_add_loop_test(tc, test_copy, 0, NITEMS(rt_cases));
	tcase_add_test(tc, test_copy_non_json_types);
	tcase_add_test(tc, test_copy_no_parent);
	suite_add_tcase(s, tc);

	tc = tcase_create("time_hex");
	tcase_add_test(tc, test_filetime_values);
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(propval_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
