/*
 * protocol.c — framing and the codecs of the compound values of the
 * control protocol (protocol.h, doc/protocol.md).
 */
#include <config.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mapispool/mapix.h>

#include "proptag.h"
#include "propval.h"
#include "protocol.h"

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- Framing ---- */

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_space(const char *s, size_t i, size_t len)
{
	while (i < len && json_space(s[i]))
		i++;
	return i;
}

/* RFC 3629 UTF-8.  JSON_TOKENER_VALIDATE_UTF8 checks only the shape of
 * each sequence: json-c 0.16 lets overlong forms, encoded surrogates and
 * code points past U+10FFFF through. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n;
	unsigned char lo, hi;

	while (i < len) {
		lo = 0x80, hi = 0xBF;
		if (s[i] < 0x80)
			n = 0;
		else if (s[i] >= 0xC2 && s[i] <= 0xDF)
			n = 1;
		else if (s[i] >= 0xE0 && s[i] <= 0xEF)
			n = 2, lo = s[i] == 0xE0 ? 0xA0 : lo, hi = s[i] == 0xED ? 0x9F : hi;
		else if (s[i] >= 0xF0 && s[i] <= 0xF4)
			n = 3, lo = s[i] == 0xF0 ? 0x90 : lo, hi = s[i] == 0xF4 ? 0x8F : hi;
		else
			return false;
		if (n > len - i - 1)
			return false;
		if (n && (s[i + 1] < lo || s[i + 1] > hi))
			return false;
		for (size_t k = 2; k <= n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
		i += n + 1;
	}
	return true;
}

json_object *proto_parse_line(const char *line, size_t len, char *err, size_t errlen)
{
	return proto_parse_line_tok(NULL, line, len, err, errlen);
}

json_tokener *proto_tokener_new(void)
{
	return json_tokener_new_ex(PROTO_MAX_DEPTH);
}

json_object *proto_parse_line_tok(json_tokener *reuse, const char *line, size_t len,
				  char *err, size_t errlen)
{
	enum json_tokener_error jerr;
	json_tokener *tok = reuse;
	json_object *j;
	size_t start = skip_space(line, 0, len), end;

	/* json-c would stop at a NUL and call the rest trailing bytes */
	if (memchr(line, '\0', len)) {
		seterr(err, errlen, "NUL byte in line");
		return NULL;
	}
	if (!utf8_valid((const unsigned char *)line, len)) {
		seterr(err, errlen, "invalid UTF-8");
		return NULL;
	}
	if (len > INT_MAX) {
		seterr(err, errlen, "line too long");
		return NULL;
	}
	/* Only an object ends unambiguously without the whole input: a bare
	 * number would wait for more. */
	if (start == len || line[start] != '{') {
		seterr(err, errlen, "not a JSON object");
		return NULL;
	}
	if (tok != NULL)
		json_tokener_reset(tok);
	else if (!(tok = proto_tokener_new())) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	/* STRICT also refuses anything but whitespace after the object */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	j = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (tok != reuse)
		json_tokener_free(tok);
	else
		json_tokener_reset(tok); /* holds nothing of this line */
	if (!j) {
		if (jerr == json_tokener_continue)
			seterr(err, errlen, "incomplete JSON object");
		else
			seterr(err, errlen, "invalid JSON at byte %zu: %s", end,
			       json_tokener_error_desc(jerr));
		return NULL;
	}
	return j;
}

const char *proto_to_string(json_object *j, size_t *len)
{
	size_t n;
	const char *s = json_object_to_json_string_length(
		j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	if (len)
		*len = s ? n : 0;
	return s;
}

/* ---- Members ---- */

static const char *type_word(json_type type)
{
	switch (type) {
	case json_type_string:
		return "a string";
	case json_type_int:
		return "a number";
	case json_type_array:
		return "a list";
	default:
		return "an object";
	}
}

/* The member key of o when it has type type; NULL in *out when it is
 * absent and optional.  A JSON null is a value of the wrong type. */
static bool get_typed(json_object *o, const char *key, bool required, json_type type,
		      json_object **out, char *err, size_t errlen)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			seterr(err, errlen, "field \"%s\" is required", key);
		return !required;
	}
	if (json_object_is_type(v, type)) {
		*out = v;
		return true;
	}
	if (type == json_type_int && json_object_is_type(v, json_type_double))
		seterr(err, errlen, "field \"%s\" must be an integer", key);
	else
		seterr(err, errlen, "field \"%s\" must be %s", key, type_word(type));
	return false;
}

bool proto_get_string(json_object *o, const char *key, bool required, const char **out,
		      char *err, size_t errlen)
{
	json_object *v;

	if (!get_typed(o, key, required, json_type_string, &v, err, errlen))
		return false;
	if (!v)
		return true;
	/* "\u0000" would cut the C string short without anyone noticing */
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		seterr(err, errlen, "field \"%s\" must not contain NUL", key);
		return false;
	}
	*out = json_object_get_string(v);
	return true;
}

bool proto_get_int64(json_object *o, const char *key, bool required, int64_t *out,
		     char *err, size_t errlen)
{
	json_object *v;

	if (!get_typed(o, key, required, json_type_int, &v, err, errlen))
		return false;
	if (!v)
		return true;
	/* json-c keeps integers above INT64_MAX as unsigned */
	if (json_object_get_int64(v) == INT64_MAX && json_object_get_uint64(v) > INT64_MAX) {
		seterr(err, errlen, "field \"%s\" is out of range", key);
		return false;
	}
	*out = json_object_get_int64(v);
	return true;
}

bool proto_get_array(json_object *o, const char *key, bool required, json_object **out,
		     char *err, size_t errlen)
{
	json_object *v;

	if (!get_typed(o, key, required, json_type_array, &v, err, errlen))
		return false;
	if (v)
		*out = v;
	return true;
}

bool proto_get_object(json_object *o, const char *key, bool required, json_object **out,
		      char *err, size_t errlen)
{
	json_object *v;

	if (!get_typed(o, key, required, json_type_object, &v, err, errlen))
		return false;
	if (v)
		*out = v;
	return true;
}

/* ---- Tags ---- */

/* where names the entry in messages: "entry 3", "sort[1].tag". */
static bool tag_from_json(json_object *j, const char *where, ULONG *tag, char *err,
			  size_t errlen)
{
	if (j && proptag_from_json(j, tag))
		return true;
	if (json_object_is_type(j, json_type_string))
		seterr(err, errlen, "unknown property \"%s\"", json_object_get_string(j));
	else
		seterr(err, errlen, "%s is not a property name or number", where);
	return false;
}

static json_object *tag_to_json(ULONG tag)
{
	char buf[PROPTAG_NAME_MAX];

	return json_object_new_string(proptag_format(tag, buf));
}

/* A list of at most PROTO_MAX_TAGS entries; its length in *n. */
static bool bounded_list(json_object *arr, const char *what, size_t *n, char *err,
			 size_t errlen)
{
	if (!json_object_is_type(arr, json_type_array)) {
		seterr(err, errlen, "%s must be a list", what);
		return false;
	}
	if ((*n = json_object_array_length(arr)) > PROTO_MAX_TAGS) {
		seterr(err, errlen, "more than %d %s", PROTO_MAX_TAGS, what);
		return false;
	}
	return true;
}

/* A MAPIAllocateBuffer block of size bytes, zeroed (never of size 0). */
static void *alloc_zero(size_t size)
{
	void *p;

	if (size == 0)
		size = 1;
	if (MAPIAllocateBuffer((ULONG)size, &p) != S_OK)
		return NULL;
	return memset(p, 0, size);
}

HRESULT proto_tags_from_json(json_object *arr, LPSPropTagArray *out, char *err,
			     size_t errlen)
{
	char where[32];
	LPSPropTagArray tags;
	size_t n;

	if (!bounded_list(arr, "tags", &n, err, errlen))
		return MAPI_E_INVALID_PARAMETER;
	if (!(tags = alloc_zero(CbNewSPropTagArray(n)))) {
		seterr(err, errlen, "out of memory");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(where, sizeof where, "entry %zu", i);
		if (!tag_from_json(json_object_array_get_idx(arr, i), where,
				   &tags->aulPropTag[i], err, errlen)) {
			MAPIFreeBuffer(tags);
			return MAPI_E_INVALID_PARAMETER;
		}
	}
	tags->cValues = (ULONG)n;
	*out = tags;
	return S_OK;
}

/* Append v to arr; false (v released) when v is NULL or json-c fails. */
static bool append(json_object *arr, json_object *v)
{
	if (v && json_object_array_add(arr, v) == 0)
		return true;
	json_object_put(v);
	return false;
}

static bool put(json_object *o, const char *key, json_object *v)
{
	if (v && json_object_object_add(o, key, v) == 0)
		return true;
	json_object_put(v);
	return false;
}

json_object *proto_tags_to_json(const SPropTagArray *tags)
{
	json_object *arr = json_object_new_array();

	for (ULONG i = 0; arr && i < tags->cValues; i++) {
		if (!append(arr, tag_to_json(tags->aulPropTag[i]))) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- Rows ---- */

/* A PT_ERROR value has lost the type of the property it stands for, so
 * its key is found by ID.  For a string property that is the plain
 * (PT_STRING8) name, the one a client that is not UNICODE asks for. */
static const char *error_key(ULONG errtag, char buf[PROPTAG_NAME_MAX])
{
	const char *name, *unicode = NULL;
	ULONG tag;

	for (size_t i = 0; proptag_at(i, &tag, &name); i++) {
		if (PROP_ID(tag) != PROP_ID(errtag))
			continue;
		if (PROP_TYPE(tag) != PT_UNICODE)
			return proptag_name(tag);
		unicode = proptag_name(tag);
	}
	return unicode ? unicode : proptag_format(errtag, buf);
}

static const char *row_key(ULONG tag, char buf[PROPTAG_NAME_MAX])
{
	if (PROP_TYPE(tag) == PT_ERROR)
		return error_key(tag, buf);
	return proptag_format(tag, buf);
}

/* Add the JSON of pv to row.  A value with no JSON form (PT_OBJECT, ...)
 * is written as the error GetProps would have given for it. */
static bool put_value(json_object *row, const SPropValue *pv)
{
	char buf[PROPTAG_NAME_MAX];
	const char *key = row_key(pv->ulPropTag, buf);
	SPropValue bad = {
		.ulPropTag = CHANGE_PROP_TYPE(pv->ulPropTag, PT_ERROR),
		.Value.err = MAPI_E_INVALID_TYPE,
	};
	json_object *v;

	/* json-c's null is the NULL pointer */
	if (PROP_TYPE(pv->ulPropTag) == PT_NULL)
		return json_object_object_add(row, key, NULL) == 0;
	if (!(v = propval_to_json(pv)))
		v = propval_to_json(&bad);
	return put(row, key, v);
}

json_object *proto_row_to_json(const SPropValue *props, ULONG n)
{
	json_object *row = json_object_new_object();

	for (ULONG i = 0; row && i < n; i++) {
		if (!put_value(row, &props[i])) {
			json_object_put(row);
			return NULL;
		}
	}
	return row;
}

/* The error proto_row_to_json wrote for col under the key of its property
 * ID: a client asking for PR_X_W finds the error the server keyed PR_X. */
static bool error_of(json_object *row, ULONG col, json_object **v)
{
	char buf[PROPTAG_NAME_MAX];
	const char *key = error_key(CHANGE_PROP_TYPE(col, PT_ERROR), buf);

	return json_object_object_get_ex(row, key, v) && json_object_is_type(*v, json_type_object);
}

static HRESULT column_from_json(json_object *row, ULONG col, void *parent, SPropValue *pv,
				char *err, size_t errlen)
{
	char name[PROPTAG_NAME_MAX], msg[256] = "";
	json_object *v;
	HRESULT hr;

	proptag_format(col, name);
	if (!json_object_object_get_ex(row, name, &v) && !error_of(row, col, &v)) {
		pv->ulPropTag = CHANGE_PROP_TYPE(col, PT_ERROR);
		pv->Value.err = MAPI_E_NOT_FOUND;
		return S_OK;
	}
	/* propval_from_json turns {"error":...} into PT_ERROR itself */
	if (FAILED(hr = propval_from_json(col, v, parent, pv, msg, sizeof msg)))
		seterr(err, errlen, "%s: %s", name, msg);
	return hr;
}

HRESULT proto_row_from_json(json_object *row, const SPropTagArray *cols,
			    LPSPropValue *out, char *err, size_t errlen)
{
	LPSPropValue props;
	HRESULT hr;

	if (!json_object_is_type(row, json_type_object)) {
		seterr(err, errlen, "row must be an object");
		return MAPI_E_INVALID_PARAMETER;
	}
	if (!(props = alloc_zero((size_t)cols->cValues * sizeof *props))) {
		seterr(err, errlen, "out of memory");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	for (ULONG i = 0; i < cols->cValues; i++) {
		hr = column_from_json(row, cols->aulPropTag[i], props, &props[i], err, errlen);
		if (FAILED(hr)) {
			MAPIFreeBuffer(props);
			return hr;
		}
	}
	*out = props;
	return S_OK;
}

/* ---- Sort orders ---- */

static bool sort_key_from_json(json_object *j, size_t i, SSortOrder *key, char *err,
			       size_t errlen)
{
	char where[48];
	json_object *tag, *order;
	const char *s;

	if (!json_object_is_type(j, json_type_object)) {
		seterr(err, errlen, "sort[%zu] must be an object", i);
		return false;
	}
	snprintf(where, sizeof where, "sort[%zu].tag", i);
	if (!json_object_object_get_ex(j, "tag", &tag)) {
		seterr(err, errlen, "%s is required", where);
		return false;
	}
	if (!tag_from_json(tag, where, &key->ulPropTag, err, errlen))
		return false;
	key->ulOrder = TABLE_SORT_ASCEND;
	/* "order" is optional: ascending, as in SQL */
	if (!json_object_object_get_ex(j, "order", &order))
		return true;
	s = json_object_is_type(order, json_type_string) ? json_object_get_string(order) : "";
	if (strcmp(s, "descend") == 0)
		key->ulOrder = TABLE_SORT_DESCEND;
	else if (strcmp(s, "ascend") != 0) {
		seterr(err, errlen, "sort[%zu].order must be \"ascend\" or \"descend\"", i);
		return false;
	}
	return true;
}

HRESULT proto_sort_from_json(json_object *arr, LPSSortOrderSet *out, char *err,
			     size_t errlen)
{
	LPSSortOrderSet sort;
	size_t n;

	if (!bounded_list(arr, "sort keys", &n, err, errlen))
		return MAPI_E_INVALID_PARAMETER;
	if (!(sort = alloc_zero(CbNewSSortOrderSet(n)))) {
		seterr(err, errlen, "out of memory");
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	for (size_t i = 0; i < n; i++) {
		if (!sort_key_from_json(json_object_array_get_idx(arr, i), i, &sort->aSort[i],
					err, errlen)) {
			MAPIFreeBuffer(sort);
			return MAPI_E_INVALID_PARAMETER;
		}
	}
	sort->cSorts = (ULONG)n;
	*out = sort;
	return S_OK;
}

static json_object *sort_key_to_json(const SSortOrder *key)
{
	json_object *o = json_object_new_object();
	const char *order = key->ulOrder & TABLE_SORT_DESCEND ? "descend" : "ascend";

	if (!o || !put(o, "tag", tag_to_json(key->ulPropTag)) ||
	    !put(o, "order", json_object_new_string(order))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *proto_sort_to_json(const SSortOrderSet *sort)
{
	json_object *arr = json_object_new_array();

	for (ULONG i = 0; arr && i < sort->cSorts; i++) {
		if (!append(arr, sort_key_to_json(&sort->aSort[i]))) {
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- Flags ---- */

static HRESULT flag_from_json(json_object *j, size_t i, const struct proto_flag *table,
			      ULONG *flags, char *err, size_t errlen)
{
	const char *name;

	if (!json_object_is_type(j, json_type_string)) {
		seterr(err, errlen, "flags[%zu] must be a flag name", i);
		return MAPI_E_INVALID_PARAMETER;
	}
	name = json_object_get_string(j);
	for (; table && table->name; table++) {
		if (strcmp(table->name, name) == 0) {
			*flags |= table->value;
			return S_OK;
		}
	}
	seterr(err, errlen, "unknown flag \"%s\"", name);
	return MAPI_E_UNKNOWN_FLAGS;
}

HRESULT proto_flags_from_json(json_object *j, const struct proto_flag *table, ULONG *out,
			      char *err, size_t errlen)
{
	ULONG flags = 0;
	int64_t n;
	HRESULT hr;

	if (json_object_is_type(j, json_type_int)) {
		/* above INT64_MAX json-c gives INT64_MAX: out of range too */
		n = json_object_get_int64(j);
		if (n < 0 || n > UINT32_MAX) {
			seterr(err, errlen, "flags must be between 0 and %lu",
			       (unsigned long)UINT32_MAX);
			return MAPI_E_INVALID_PARAMETER;
		}
		*out = (ULONG)n;
		return S_OK;
	}
	if (!json_object_is_type(j, json_type_array)) {
		seterr(err, errlen, "flags must be a number or a list of flag names");
		return MAPI_E_INVALID_PARAMETER;
	}
	for (size_t i = 0; i < json_object_array_length(j); i++) {
		hr = flag_from_json(json_object_array_get_idx(j, i), i, table, &flags, err, errlen);
		if (FAILED(hr))
			return hr;
	}
	*out = flags;
	return S_OK;
}

/* ---- Binaries ---- */

json_object *proto_bin_to_json(const BYTE *b, size_t n)
{
	json_object *j;
	char *hex;

	if (n > INT_MAX / 2 || !(hex = malloc(2 * n + 1)))
		return NULL;
	hex_encode(b, n, hex);
	j = json_object_new_string_len(hex, (int)(2 * n));
	free(hex);
	return j;
}

bool proto_bin_from_json(json_object *j, size_t maxlen, BYTE **out, ULONG *n)
{
	size_t len;
	BYTE *b;

	if (!json_object_is_type(j, json_type_string))
		return false;
	len = (size_t)json_object_get_string_len(j);
	if (len % 2 || len / 2 > maxlen || !(b = alloc_zero(len / 2)))
		return false;
	if (!hex_decode(json_object_get_string(j), len, b)) {
		MAPIFreeBuffer(b);
		return false;
	}
	*out = b;
	*n = (ULONG)(len / 2);
	return true;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

unsigned char *
proto_base64_decode(const char *in, size_t inlen, size_t max, size_t *outlen)
{
	unsigned char *out = malloc(inlen / 4 * 3 + 3);
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0, pad = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < inlen; i++) {
		unsigned char c = (unsigned char)in[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) < 0)
			goto bad;	/* data after padding, or not base64 */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				goto bad;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero padding of a well-formed group. */
	if (pad > 2 || bits >= 6 || acc != 0)
		goto bad;
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}
