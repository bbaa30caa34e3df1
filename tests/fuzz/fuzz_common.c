/*
 * fuzz_common.c — see fuzz_common.h.
 */
#include <config.h>

#include <string.h>
#include <wchar.h>

#include <json-c/json.h>
#include <mapispool/mapix.h>
#include <mapispool/mapitags.h>

#include "propval.h"
#include "protocol.h"
#include "restriction.h"

#include "fuzz.h"
#include "fuzz_common.h"

/* Unnamed tags for the types no named property has. */
#define TAG_DOUBLE PROP_TAG(PT_DOUBLE, 0x8001)
#define TAG_I8 PROP_TAG(PT_I8, 0x8002)
#define TAG_I2 PROP_TAG(PT_I2, 0x8003)
#define TAG_MV_STRING8 PROP_TAG(PT_MV_STRING8, 0x8004)
#define TAG_MV_LONG PROP_TAG(PT_MV_LONG, 0x8005)
#define TAG_MV_UNICODE PROP_TAG(PT_MV_UNICODE, 0x8006)
#define TAG_MV_BINARY PROP_TAG(PT_MV_BINARY, 0x8007)
#define TAG_EMPTY PROP_TAG(PT_STRING8, 0x8008)

static BYTE entryid[] = { 0x00, 0x00, 0x00, 0x00, 0x4d, 0x53, 0x50, 0x4c, 0x01, 0x02 };
static BYTE searchkey[] = { 'S', 'M', 'T', 'P', ':', 'a', '@', 'b' };
static LPSTR mv_a[] = { "alpha", "", "gamma \xc3\xa9" };
static LONG mv_l[] = { 0, -1, 0x7fffffff };
static LPWSTR mv_w[] = { L"\u00c9t\u00e9", L"z" };
static SBinary mv_bin[] = { { sizeof entryid, entryid }, { 0, NULL } };

/* Not const: SPropValue's pointers are not, and the row is only read. */
static SPropValue row[] = {
	{ .ulPropTag = PR_ENTRYID, .Value.bin = { sizeof entryid, entryid } },
	{ .ulPropTag = PR_DISPLAY_NAME_A, .Value.lpszA = "Relay \xc3\x9c" "ber SMTP" },
	{ .ulPropTag = PR_PROVIDER_DISPLAY_W, .Value.lpszW = L"Stra\u00dfe \u0391\u03b2 \U0001F600" },
	{ .ulPropTag = PR_RESOURCE_TYPE, .Value.l = 36 },
	{ .ulPropTag = PR_RESOURCE_METHODS, .Value.l = 0x2f },
	{ .ulPropTag = PR_STATUS_CODE, .Value.l = 1 },
	{ .ulPropTag = PR_RESOURCE_FLAGS, .Value.l = (LONG)0x80000001u },
	{ .ulPropTag = PR_IDENTITY_SEARCH_KEY, .Value.bin = { sizeof searchkey, searchkey } },
	{ .ulPropTag = PR_REMOTE_VALIDATE_OK, .Value.b = 1 },
	{ .ulPropTag = PR_DELIVER_TIME, .Value.ft = { 0x12345678, 0x01dabcde } },
	{ .ulPropTag = PROP_TAG(PT_ERROR, 0x3E08), .Value.err = MAPI_E_NOT_FOUND },
	{ .ulPropTag = TAG_DOUBLE, .Value.dbl = -2.5 },
	{ .ulPropTag = TAG_I8, .Value.li.QuadPart = INT64_MIN },
	{ .ulPropTag = TAG_I2, .Value.i = -7 },
	{ .ulPropTag = TAG_MV_STRING8, .Value.MVszA = { 3, mv_a } },
	{ .ulPropTag = TAG_MV_LONG, .Value.MVl = { 3, mv_l } },
	{ .ulPropTag = TAG_MV_UNICODE, .Value.MVszW = { 2, mv_w } },
	{ .ulPropTag = TAG_MV_BINARY, .Value.MVbin = { 2, mv_bin } },
	{ .ulPropTag = TAG_EMPTY, .Value.lpszA = "" },
};

const SPropValue *fuzz_sample_row(ULONG *n)
{
	*n = sizeof row / sizeof row[0];
	return row;
}

/* Types propval_compare orders. */
static bool ordered(ULONG type)
{
	switch (type) {
	case PT_I2: case PT_LONG: case PT_DOUBLE: case PT_BOOLEAN: case PT_I8:
	case PT_SYSTIME: case PT_STRING8: case PT_UNICODE: case PT_BINARY:
		return true;
	default:
		return false;
	}
}

bool fuzz_propval_equal(const SPropValue *a, const SPropValue *b)
{
	json_object *ja, *jb;
	bool same;
	int cmp;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->ulPropTag != b->ulPropTag)
		return false;
	if (PROP_TYPE(a->ulPropTag) == PT_ERROR)
		return a->Value.err == b->Value.err;
	if (ordered(PROP_TYPE(a->ulPropTag)) &&
	    (!propval_compare(a, b, false, &cmp) || cmp != 0))
		return false;
	ja = propval_to_json(a);
	jb = propval_to_json(b);
	same = (ja == NULL && jb == NULL) ||
	       (ja != NULL && jb != NULL &&
		strcmp(json_object_to_json_string(ja), json_object_to_json_string(jb)) == 0);
	json_object_put(ja);
	json_object_put(jb);
	return same;
}

static bool list_equal(ULONG na, const SRestriction *a, ULONG nb, const SRestriction *b)
{
	if (na != nb)
		return false;
	for (ULONG i = 0; i < na; i++)
		if (!fuzz_restriction_equal(&a[i], &b[i]))
			return false;
	return true;
}

bool fuzz_restriction_equal(const SRestriction *a, const SRestriction *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->rt != b->rt)
		return false;
	switch (a->rt) {
	case RES_AND:
		return list_equal(a->res.resAnd.cRes, a->res.resAnd.lpRes, b->res.resAnd.cRes,
				  b->res.resAnd.lpRes);
	case RES_OR:
		return list_equal(a->res.resOr.cRes, a->res.resOr.lpRes, b->res.resOr.cRes,
				  b->res.resOr.lpRes);
	case RES_NOT:
		return fuzz_restriction_equal(a->res.resNot.lpRes, b->res.resNot.lpRes);
	case RES_CONTENT:
		return a->res.resContent.ulFuzzyLevel == b->res.resContent.ulFuzzyLevel &&
		       a->res.resContent.ulPropTag == b->res.resContent.ulPropTag &&
		       fuzz_propval_equal(a->res.resContent.lpProp, b->res.resContent.lpProp);
	case RES_PROPERTY:
		return a->res.resProperty.relop == b->res.resProperty.relop &&
		       a->res.resProperty.ulPropTag == b->res.resProperty.ulPropTag &&
		       fuzz_propval_equal(a->res.resProperty.lpProp, b->res.resProperty.lpProp);
	case RES_COMPAREPROPS:
		return a->res.resCompareProps.relop == b->res.resCompareProps.relop &&
		       a->res.resCompareProps.ulPropTag1 == b->res.resCompareProps.ulPropTag1 &&
		       a->res.resCompareProps.ulPropTag2 == b->res.resCompareProps.ulPropTag2;
	case RES_BITMASK:
		return a->res.resBitMask.relBMR == b->res.resBitMask.relBMR &&
		       a->res.resBitMask.ulPropTag == b->res.resBitMask.ulPropTag &&
		       a->res.resBitMask.ulMask == b->res.resBitMask.ulMask;
	case RES_SIZE:
		return a->res.resSize.relop == b->res.resSize.relop &&
		       a->res.resSize.ulPropTag == b->res.resSize.ulPropTag &&
		       a->res.resSize.cb == b->res.resSize.cb;
	case RES_EXIST:
		return a->res.resExist.ulPropTag == b->res.resExist.ulPropTag;
	default:
		return false;
	}
}

void fuzz_restriction_roundtrip(json_object *j)
{
	char err[512], err2[512];
	LPSRestriction r1 = NULL, r2 = NULL;
	json_object *j1 = NULL, *j2 = NULL, *reparsed;
	const SPropValue *props;
	const char *s1, *s2;
	size_t len1, len2;
	HRESULT hr, valid1, valid2;
	ULONG n;

	if (FAILED(restriction_from_json(j, &r1, err, sizeof err))) {
		FUZZ_CHECK(r1 == NULL, "a failed decode left a result");
		FUZZ_CHECK(err[0] != '\0', "a failed decode without a message");
		return;
	}
	props = fuzz_sample_row(&n);
	valid1 = restriction_validate(r1, err, sizeof err);
	hr = restriction_to_json(r1, &j1, err2, sizeof err2);
	/* What the daemon accepts, the library can send. */
	FUZZ_CHECK(valid1 != S_OK || hr == S_OK, "valid restriction does not encode: %s", err2);
	if (FAILED(hr)) {
		MAPIFreeBuffer(r1);
		return;
	}
	/* Through the wire as text, as a client would send it. */
	s1 = proto_to_string(j1, &len1);
	reparsed = proto_parse_line(s1, len1, err, sizeof err);
	FUZZ_CHECK(reparsed != NULL, "encoded restriction does not parse: %s: %s", err, s1);
	hr = restriction_from_json(reparsed, &r2, err, sizeof err);
	json_object_put(reparsed);
	FUZZ_CHECK(hr == S_OK, "encoded restriction does not decode: %s: %s", err, s1);
	FUZZ_CHECK(fuzz_restriction_equal(r1, r2), "decode(encode(r)) != r: %s", s1);
	valid2 = restriction_validate(r2, err2, sizeof err2);
	FUZZ_CHECK(valid1 == valid2, "validation differs after a round trip: %s", s1);
	FUZZ_CHECK(restriction_to_json(r2, &j2, err, sizeof err) == S_OK, "re-encode: %s", err);
	s2 = proto_to_string(j2, &len2);
	FUZZ_CHECK(len1 == len2 && memcmp(s1, s2, len1) == 0, "encodings differ: %s / %s", s1,
		   s2);
	if (valid1 == S_OK)
		FUZZ_CHECK(restriction_match(r1, props, n) == restriction_match(r2, props, n),
			   "match differs after a round trip: %s", s1);
	json_object_put(j1);
	json_object_put(j2);
	MAPIFreeBuffer(r1);
	MAPIFreeBuffer(r2);
}
