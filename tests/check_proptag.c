/*
 * check_proptag.c — names on the wire: property tags (proptag.c) and
 * HRESULTs (hresult.c).
 */
#include <config.h>

#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <mapispool/mapispool.h>

#include "hresult.h"
#include "proptag.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Property tag names ---- */

/* Every PR_* of mapitags.h with the name it must have, written out here
 * independently of the library's table. */
static const struct {
	ULONG tag;
	const char *name;
} known_tags[] = {
#define T(n) { n, #n },
#define S(n) { n##_A, #n }, { n##_W, #n "_W" },
	T(PR_ENTRYID) T(PR_OBJECT_TYPE) T(PR_ICON) T(PR_RECORD_KEY) T(PR_INSTANCE_KEY)
	T(PR_ROW_TYPE) T(PR_ROWID)
	S(PR_DISPLAY_NAME) S(PR_ADDRTYPE) S(PR_EMAIL_ADDRESS) S(PR_PROVIDER_DISPLAY)
	T(PR_RESOURCE_FLAGS) S(PR_PROVIDER_DLL_NAME) T(PR_SEARCH_KEY) T(PR_PROVIDER_UID)
	T(PR_PROVIDER_ORDINAL)
	S(PR_IDENTITY_DISPLAY) T(PR_IDENTITY_ENTRYID) T(PR_RESOURCE_METHODS)
	T(PR_RESOURCE_TYPE) T(PR_STATUS_CODE) T(PR_IDENTITY_SEARCH_KEY)
	T(PR_OWN_STORE_ENTRYID) S(PR_RESOURCE_PATH) S(PR_STATUS_STRING)
	T(PR_X400_DEFERRED_DELIVERY_CANCEL) T(PR_HEADER_FOLDER_ENTRYID)
	T(PR_REMOTE_PROGRESS) S(PR_REMOTE_PROGRESS_TEXT) T(PR_REMOTE_VALIDATE_OK)
	T(PR_DEFERRED_DELIVERY_TIME) T(PR_DELIVER_TIME) T(PR_PROVIDER_SUBMIT_TIME)
	T(PR_NDR_REASON_CODE) T(PR_NDR_DIAG_CODE) T(PR_RECIPIENT_TYPE)
	T(PR_MESSAGE_DELIVERY_TIME) T(PR_MESSAGE_FLAGS) T(PR_RESPONSIBILITY)
	T(PR_TRANSPORT_STATUS) T(PR_SUBMIT_FLAGS) T(PR_TRANSPORT_KEY)
	S(PR_REPORT_TEXT) T(PR_TRANSPORT_PROVIDERS) T(PR_SERVICE_UID)
	T(PR_MAPISPOOL_NEEDS_UI)
#undef T
#undef S
};

START_TEST(test_known_name_round_trip)
{
	ULONG tag = 0;
	char buf[PROPTAG_NAME_MAX];

	ck_assert_ptr_nonnull(proptag_name(known_tags[_i].tag));
	ck_assert_str_eq(proptag_name(known_tags[_i].tag), known_tags[_i].name);
	ck_assert_str_eq(proptag_format(known_tags[_i].tag, buf), known_tags[_i].name);
	ck_assert(proptag_parse(known_tags[_i].name, &tag));
	ck_assert_uint_eq(tag, known_tags[_i].tag);
}
END_TEST

/* The table the library iterates is exactly the list above, in strcmp
 * order (proptag_parse searches it by bisection). */
START_TEST(test_table_sorted_and_complete)
{
	const char *name, *prev = NULL;
	ULONG tag, back;
	size_t i;

	for (i = 0; proptag_at(i, &tag, &name); i++) {
		if (prev != NULL)
			ck_assert_msg(strcmp(prev, name) < 0, "%s before %s", prev, name);
		ck_assert_str_eq(proptag_name(tag), name);
		ck_assert(proptag_parse(name, &back));
		ck_assert_uint_eq(back, tag);
		prev = name;
	}
	ck_assert_uint_eq(i, NITEMS(known_tags));
	ck_assert(!proptag_at(i, &tag, &name));
}
END_TEST

START_TEST(test_string_spellings)
{
	ULONG tag;

	ck_assert_str_eq(proptag_name(PR_DISPLAY_NAME_A), "PR_DISPLAY_NAME");
	ck_assert_str_eq(proptag_name(PR_DISPLAY_NAME_W), "PR_DISPLAY_NAME_W");
	ck_assert(proptag_parse("PR_DISPLAY_NAME_A", &tag));
	ck_assert_uint_eq(tag, PR_DISPLAY_NAME_A);
	ck_assert(proptag_parse("PR_DISPLAY_NAME_W", &tag));
	ck_assert_uint_eq(tag, PR_DISPLAY_NAME_W);
	ck_assert(proptag_parse("PR_REMOTE_PROGRESS_TEXT_A", &tag));
	ck_assert_uint_eq(tag, PR_REMOTE_PROGRESS_TEXT_A);
	ck_assert(proptag_parse("PR_REMOTE_PROGRESS_TEXT", &tag));
	ck_assert_uint_eq(tag, PROP_TAG(PT_STRING8, 0x3E0C));
}
END_TEST

static const struct {
	const char *in;
	bool ok;
	ULONG tag;
} parse_cases[] = {
	{ "0x3E030003", true, PR_RESOURCE_TYPE },
	{ "0x3e030003", true, PR_RESOURCE_TYPE },
	{ "0X3E030003", true, PR_RESOURCE_TYPE },
	{ "0x1", true, 1 },
	{ "0x00000000", true, 0 },
	{ "0xFFFFFFFF", true, 0xFFFFFFFF },
	{ "1040384003", true, PR_RESOURCE_TYPE },
	{ "0", true, 0 },
	{ "007", true, 7 },
	{ "4294967295", true, 0xFFFFFFFF },
	{ "4294967296", false, 0 },
	{ "99999999999999999999999", false, 0 },
	{ "0x", false, 0 },
	{ "0x123456789", false, 0 },
	{ "0x0000000001", false, 0 },
	{ "0xG", false, 0 },
	{ "0x-1", false, 0 },
	{ "0x+1", false, 0 },
	{ " 0x1", false, 0 },
	{ "0x1 ", false, 0 },
	{ "-1", false, 0 },
	{ "+1", false, 0 },
	{ "1.5", false, 0 },
	{ "1e3", false, 0 },
	{ "12abc", false, 0 },
	{ "", false, 0 },
	{ "PR_BOGUS", false, 0 },
	{ "pr_entryid", false, 0 },
	{ "PR_ENTRYID ", false, 0 },
	{ "PR_ENTRYID_A", false, 0 },
	{ "PR_ENTRYID_W", false, 0 },
	{ "PR_DISPLAY_NAME_W_A", false, 0 },
	{ "PR_DISPLAY_NAME_A_A", false, 0 },
	{ "_A", false, 0 },
	{ "PR_", false, 0 },
	{ "PR_ENTRYI", false, 0 },
	{ "PR_ENTRYIDX", false, 0 },
	{ "PR_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_A",
	  false, 0 },
};

START_TEST(test_parse)
{
	ULONG tag = 0xDEADBEEF;
	bool ok = proptag_parse(parse_cases[_i].in, &tag);

	ck_assert_msg(ok == parse_cases[_i].ok, "\"%s\": %s", parse_cases[_i].in,
		      ok ? "accepted" : "refused");
	if (ok)
		ck_assert_uint_eq(tag, parse_cases[_i].tag);
	else
		ck_assert_uint_eq(tag, 0xDEADBEEF);
}
END_TEST

START_TEST(test_parse_null)
{
	ULONG tag;

	ck_assert(!proptag_parse(NULL, &tag));
}
END_TEST

START_TEST(test_format_unknown)
{
	char buf[PROPTAG_NAME_MAX];

	ck_assert_ptr_null(proptag_name(PROP_TAG(PT_LONG, 0x6600)));
	ck_assert_str_eq(proptag_format(PROP_TAG(PT_LONG, 0x6600), buf), "0x66000003");
	ck_assert_str_eq(proptag_format(0, buf), "0x00000000");
	ck_assert_str_eq(proptag_format(0xFFFFFFFF, buf), "0xFFFFFFFF");
	/* A known ID with another type has no name either. */
	ck_assert_ptr_null(proptag_name(PROP_TAG(PT_LONG, 0x0FFF)));
}
END_TEST

static const struct {
	const char *json;
	bool ok;
	ULONG tag;
} json_cases[] = {
	{ "\"PR_ENTRYID\"", true, PR_ENTRYID },
	{ "\"0x0FFF0102\"", true, PR_ENTRYID },
	{ "\"PR_STATUS_STRING_W\"", true, PR_STATUS_STRING_W },
	{ "268370178", true, PR_ENTRYID },
	{ "0", true, 0 },
	{ "4294967295", true, 0xFFFFFFFF },
	{ "4294967296", false, 0 },
	{ "-1", false, 0 },
	{ "268370178.0", false, 0 },
	{ "true", false, 0 },
	{ "null", false, 0 },
	{ "[\"PR_ENTRYID\"]", false, 0 },
	{ "{\"tag\":\"PR_ENTRYID\"}", false, 0 },
	{ "\"PR_ENTRYID\\u0000junk\"", false, 0 },
	{ "\"PR_NOPE\"", false, 0 },
};

START_TEST(test_from_json)
{
	json_object *j = json_tokener_parse(json_cases[_i].json);
	ULONG tag = 0xDEADBEEF;
	bool ok;

	if (strcmp(json_cases[_i].json, "null") != 0)
		ck_assert_ptr_nonnull(j);
	ok = proptag_from_json(j, &tag);
	ck_assert_msg(ok == json_cases[_i].ok, "%s: %s", json_cases[_i].json,
		      ok ? "accepted" : "refused");
	if (ok)
		ck_assert_uint_eq(tag, json_cases[_i].tag);
	json_object_put(j);
}
END_TEST

static const struct {
	ULONG a, b;
	bool same;
} same_cases[] = {
	{ PR_ENTRYID, PR_ENTRYID, true },
	{ PR_DISPLAY_NAME_A, PR_DISPLAY_NAME_W, true },
	{ PR_DISPLAY_NAME_W, PR_DISPLAY_NAME_A, true },
	{ PROP_TAG(PT_MV_STRING8, 0x6601), PROP_TAG(PT_MV_UNICODE, 0x6601), true },
	{ PR_DISPLAY_NAME_A, PR_ADDRTYPE_A, false },
	{ PR_DISPLAY_NAME_W, PR_ADDRTYPE_W, false },
	{ PROP_TAG(PT_STRING8, 0x3E03), PR_RESOURCE_TYPE, false },
	{ PROP_TAG(PT_UNICODE, 0x6601), PROP_TAG(PT_MV_UNICODE, 0x6601), false },
	{ PROP_TAG(PT_STRING8, 0x6601), PROP_TAG(PT_MV_UNICODE, 0x6601), false },
	{ PROP_TAG(PT_BINARY, 0x3001), PR_DISPLAY_NAME_A, false },
	{ PROP_TAG(PT_ERROR, 0x3001), PR_DISPLAY_NAME_A, false },
	{ PROP_TAG(PT_UNSPECIFIED, 0x3E03), PR_RESOURCE_TYPE, false },
	{ PR_STATUS_CODE, PR_RESOURCE_TYPE, false },
};

START_TEST(test_same)
{
	ck_assert_msg(proptag_same(same_cases[_i].a, same_cases[_i].b) == same_cases[_i].same,
		      "0x%08X vs 0x%08X", same_cases[_i].a, same_cases[_i].b);
}
END_TEST

/* ---- HRESULT names ---- */

/* Every code of mapicode.h under its MAPI name. */
static const struct {
	HRESULT hr;
	const char *name;
} known_codes[] = {
#define C(n) { n, #n },
	C(S_OK) C(S_FALSE) C(E_NOTIMPL)
	C(MAPI_E_CALL_FAILED) C(MAPI_E_NOT_ENOUGH_MEMORY) C(MAPI_E_INVALID_PARAMETER)
	C(MAPI_E_INTERFACE_NOT_SUPPORTED) C(MAPI_E_NO_ACCESS)
	C(MAPI_E_NO_SUPPORT) C(MAPI_E_BAD_CHARWIDTH) C(MAPI_E_STRING_TOO_LONG)
	C(MAPI_E_UNKNOWN_FLAGS) C(MAPI_E_INVALID_ENTRYID) C(MAPI_E_INVALID_OBJECT)
	C(MAPI_E_OBJECT_CHANGED) C(MAPI_E_OBJECT_DELETED) C(MAPI_E_BUSY)
	C(MAPI_E_NOT_ENOUGH_DISK) C(MAPI_E_NOT_ENOUGH_RESOURCES) C(MAPI_E_NOT_FOUND)
	C(MAPI_E_VERSION) C(MAPI_E_LOGON_FAILED) C(MAPI_E_SESSION_LIMIT)
	C(MAPI_E_USER_CANCEL) C(MAPI_E_UNABLE_TO_ABORT) C(MAPI_E_NETWORK_ERROR)
	C(MAPI_E_DISK_ERROR) C(MAPI_E_TOO_COMPLEX) C(MAPI_E_BAD_COLUMN)
	C(MAPI_E_EXTENDED_ERROR) C(MAPI_E_COMPUTED) C(MAPI_E_CORRUPT_DATA)
	C(MAPI_E_UNCONFIGURED) C(MAPI_E_FAILONEPROVIDER) C(MAPI_E_UNKNOWN_CPID)
	C(MAPI_E_UNKNOWN_LCID)
	C(MAPI_E_END_OF_SESSION) C(MAPI_E_UNKNOWN_ENTRYID)
	C(MAPI_E_MISSING_REQUIRED_COLUMN) C(MAPI_W_NO_SERVICE)
	C(MAPI_E_BAD_VALUE) C(MAPI_E_INVALID_TYPE) C(MAPI_E_TYPE_NO_SUPPORT)
	C(MAPI_E_UNEXPECTED_TYPE) C(MAPI_E_TOO_BIG) C(MAPI_E_DECLINE_COPY)
	C(MAPI_E_UNEXPECTED_ID) C(MAPI_W_ERRORS_RETURNED)
	C(MAPI_E_UNABLE_TO_COMPLETE) C(MAPI_E_TIMEOUT) C(MAPI_E_TABLE_EMPTY)
	C(MAPI_E_TABLE_TOO_BIG) C(MAPI_E_INVALID_BOOKMARK) C(MAPI_W_POSITION_CHANGED)
	C(MAPI_W_APPROX_COUNT)
	C(MAPI_E_WAIT) C(MAPI_E_CANCEL) C(MAPI_E_NOT_ME) C(MAPI_W_CANCEL_MESSAGE)
	C(MAPI_E_CORRUPT_STORE) C(MAPI_E_NOT_IN_QUEUE) C(MAPI_E_NO_SUPPRESS)
	C(MAPI_E_COLLISION) C(MAPI_E_NOT_INITIALIZED) C(MAPI_E_NON_STANDARD)
	C(MAPI_E_NO_RECIPIENTS) C(MAPI_E_SUBMITTED) C(MAPI_E_HAS_FOLDERS)
	C(MAPI_E_HAS_MESSAGES) C(MAPI_E_FOLDER_CYCLE) C(MAPI_W_PARTIAL_COMPLETION)
	C(MAPI_E_AMBIGUOUS_RECIP)
#undef C
};

START_TEST(test_hr_round_trip)
{
	HRESULT hr = 0x12345678;
	const char *text;

	ck_assert_ptr_nonnull(hr_name(known_codes[_i].hr));
	ck_assert_str_eq(hr_name(known_codes[_i].hr), known_codes[_i].name);
	ck_assert_str_eq(mapispool_hr_name(known_codes[_i].hr), known_codes[_i].name);
	ck_assert(hr_from_name(known_codes[_i].name, &hr));
	ck_assert_int_eq(hr, known_codes[_i].hr);

	/* A short lower-case sentence of its own, not the fallback. */
	text = hr_describe(known_codes[_i].hr);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_gt(strlen(text), 5);
	ck_assert(islower((unsigned char)text[0]));
	ck_assert_ptr_null(strstr(text, " 0x"));
	ck_assert_str_eq(mapispool_strerror(known_codes[_i].hr), text);
}
END_TEST

START_TEST(test_hr_distinct_texts)
{
	for (size_t i = 0; i < NITEMS(known_codes); i++)
		for (size_t k = i + 1; k < NITEMS(known_codes); k++)
			ck_assert_msg(strcmp(hr_describe(known_codes[i].hr),
					     hr_describe(known_codes[k].hr)) != 0,
				      "%s and %s share a description", known_codes[i].name,
				      known_codes[k].name);
}
END_TEST

START_TEST(test_hr_aliases)
{
	HRESULT hr;

	ck_assert_str_eq(hr_name((HRESULT)0x80004005), "MAPI_E_CALL_FAILED");
	ck_assert_str_eq(hr_name(E_OUTOFMEMORY), "MAPI_E_NOT_ENOUGH_MEMORY");
	ck_assert_str_eq(hr_name(E_INVALIDARG), "MAPI_E_INVALID_PARAMETER");
	ck_assert_str_eq(hr_name(E_NOINTERFACE), "MAPI_E_INTERFACE_NOT_SUPPORTED");
	ck_assert_str_eq(hr_name(E_ACCESSDENIED), "MAPI_E_NO_ACCESS");
	ck_assert_str_eq(hr_name((HRESULT)0x8004010F), "MAPI_E_NOT_FOUND");
	ck_assert_str_eq(hr_describe(MAPI_E_NOT_FOUND), "the object was not found");

	ck_assert(hr_from_name("E_FAIL", &hr));
	ck_assert_int_eq(hr, (HRESULT)0x80004005);
	ck_assert(hr_from_name("E_OUTOFMEMORY", &hr));
	ck_assert_int_eq(hr, MAPI_E_NOT_ENOUGH_MEMORY);
	ck_assert(hr_from_name("SUCCESS_SUCCESS", &hr));
	ck_assert_int_eq(hr, S_OK);
}
END_TEST

START_TEST(test_hr_unknown)
{
	HRESULT hr = 42;

	ck_assert_ptr_null(hr_name((HRESULT)0x80041234));
	ck_assert_ptr_null(mapispool_hr_name((HRESULT)0x80041234));
	ck_assert_str_eq(hr_describe((HRESULT)0x80041234), "unknown error 0x80041234");
	ck_assert_str_eq(mapispool_strerror((HRESULT)0x80041234), "unknown error 0x80041234");
	ck_assert_str_eq(hr_describe((HRESULT)0x00041234), "unknown warning 0x00041234");
	ck_assert(!hr_from_name("MAPI_E_BOGUS", &hr));
	ck_assert(!hr_from_name("mapi_e_not_found", &hr));
	ck_assert(!hr_from_name("", &hr));
	ck_assert(!hr_from_name(NULL, &hr));
	ck_assert_int_eq(hr, 42);
}
END_TEST

static Suite *
proptag_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("proptag");

	tcase_add_loop_test(tc, test_known_name_round_trip, 0, NITEMS(known_tags));
	tcase_add_test(tc, test_table_sorted_and_complete);
	tcase_add_test(tc, test_string_spellings);
	tcase_add_loop_test(tc, test_parse, 0, NITEMS(parse_cases));
	tcase_add_test(tc, test_parse_null);
	tcase_add_test(tc, test_format_unknown);
	tcase_add_loop_test(tc, test_from_json, 0, NITEMS(json_cases));
	tcase_add_loop_test(tc, test_same, 0, NITEMS(same_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("hresult");
	tcase_add_loop_test(tc, test_hr_round_trip, 0, NITEMS(known_codes));
	tcase_add_test(tc, test_hr_distinct_texts);
	tcase_add_test(tc, test_hr_aliases);
	tcase_add_test(tc, test_hr_unknown);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proptag_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
