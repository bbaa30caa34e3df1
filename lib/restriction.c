/*
 * restriction.c — SRestriction on the wire (JSON, both ways), its
 * validation, and its evaluation against a row.
 *
 * The three walks over a tree (decode, encode, check) share one context
 * that counts nodes, knows the depth and keeps the path of the node at
 * hand ("res[1].res"), so that every error says where it is.
 */
#include <config.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <mapispool/mapix.h>

#include "proptag.h"
#include "propval.h"
#include "ere.h"
#include "restriction.h"

/* Room for RESTRICTION_MAX_DEPTH levels of ".res[1023]" and a member. */
#define PATH_LEN 512

/* The fuzzy-level bits that all mean "ignore case" here. */
#define FL_ANYCASE (FL_IGNORECASE | FL_IGNORENONSPACE | FL_LOOSE)

static const char *const rt_names[] = {
	[RES_AND] = "and",
	[RES_OR] = "or",
	[RES_NOT] = "not",
	[RES_CONTENT] = "content",
	[RES_PROPERTY] = "property",
	[RES_COMPAREPROPS] = "compareprops",
	[RES_BITMASK] = "bitmask",
	[RES_SIZE] = "size",
	[RES_EXIST] = "exist",
};
static const char *const relop_names[] = {
	[RELOP_LT] = "lt", [RELOP_LE] = "le", [RELOP_GT] = "gt", [RELOP_GE] = "ge",
	[RELOP_EQ] = "eq", [RELOP_NE] = "ne", [RELOP_RE] = "re",
};
static const char *const bmr_names[] = {
	[BMR_EQZ] = "eqz",
	[BMR_NEZ] = "nez",
};
static const char *const fuzzy_names[] = {
	[FL_FULLSTRING] = "fullstring",
	[FL_SUBSTRING] = "substring",
	[FL_PREFIX] = "prefix",
};

#define NNAMES(a) (sizeof(a) / sizeof((a)[0]))

/* The name of value in names, or NULL (the tables have holes). */
static const char *name_of(const char *const *names, size_t n, ULONG value)
{
	return value < n ? names[value] : NULL;
}

static bool value_of(const char *const *names, size_t n, const char *name, ULONG *value)
{
	for (size_t i = 0; i < n; i++) {
		if (names[i] && strcmp(names[i], name) == 0) {
			*value = (ULONG)i;
			return true;
		}
	}
	return false;
}

/* ---- The walk: limits, path, errors ---- */

struct walk {
	char path[PATH_LEN];	/* of the node at hand; "" for the root */
	size_t pathlen;
	unsigned nodes;
	void *root;		/* decoding: the MAPIAllocateBuffer block */
	char *err;
	size_t errlen;
};

static void walk_init(struct walk *w, char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->err = err;
	w->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

/* "path.member: message", or "restriction: message" at the root. */
static HRESULT __attribute__((format(printf, 4, 5)))
fail(struct walk *w, HRESULT hr, const char *member, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!w->err || !w->errlen)
		return hr;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (member)
		snprintf(w->err, w->errlen, "%s%s%s: %s", w->path, w->pathlen ? "." : "", member,
			 msg);
	else
		snprintf(w->err, w->errlen, "%s: %s", w->pathlen ? w->path : "restriction", msg);
	return hr;
}

static HRESULT no_memory(struct walk *w)
{
	return fail(w, MAPI_E_NOT_ENOUGH_MEMORY, NULL, "out of memory");
}

/* Descend into member[index] (index < 0: plain member); returns what
 * path_pop needs to come back. */
static size_t path_push(struct walk *w, const char *member, long index)
{
	size_t old = w->pathlen;
	const char *dot = old ? "." : "";
	int n;

	if (index < 0)
		n = snprintf(w->path + old, sizeof w->path - old, "%s%s", dot, member);
	else
		n = snprintf(w->path + old, sizeof w->path - old, "%s%s[%ld]", dot, member, index);
	w->pathlen = n < 0 ? old : old + (size_t)n;
	if (w->pathlen >= sizeof w->path)
		w->pathlen = sizeof w->path - 1;
	return old;
}

static void path_pop(struct walk *w, size_t old)
{
	w->pathlen = old;
	w->path[old] = '\0';
}

/* Count the node about to be visited at depth (the root is 1). */
static HRESULT walk_enter(struct walk *w, unsigned depth)
{
	if (depth > RESTRICTION_MAX_DEPTH)
		return fail(w, MAPI_E_TOO_COMPLEX, NULL, "nested deeper than %d levels",
			    RESTRICTION_MAX_DEPTH);
	if (++w->nodes > RESTRICTION_MAX_NODES)
		return fail(w, MAPI_E_TOO_COMPLEX, NULL, "more than %d nodes",
			    RESTRICTION_MAX_NODES);
	return S_OK;
}

/* Would count more children push the walk past the node limit?  Checked
 * before allocating or iterating, so a huge count costs nothing. */
static HRESULT walk_room(struct walk *w, size_t count)
{
	if (count > RESTRICTION_MAX_NODES - w->nodes)
		return fail(w, MAPI_E_TOO_COMPLEX, NULL, "more than %d nodes",
			    RESTRICTION_MAX_NODES);
	return S_OK;
}

/* ---- Property types ---- */

static bool is_string(ULONG tag)
{
	return PROP_TYPE(tag) == PT_STRING8 || PROP_TYPE(tag) == PT_UNICODE;
}

/* Values of a and b can meet in one comparison: the same type, counting
 * PT_STRING8 and PT_UNICODE as one (both are text, UTF-8 on the wire). */
static bool same_type(ULONG a, ULONG b)
{
	return is_string(a) ? is_string(b) : PROP_TYPE(a) == PROP_TYPE(b);
}

/* Types propval_compare orders and that have a JSON form. */
static bool comparable(ULONG tag)
{
	switch (PROP_TYPE(tag)) {
	case PT_I2:
	case PT_LONG:
	case PT_DOUBLE:
	case PT_BOOLEAN:
	case PT_I8:
	case PT_SYSTIME:
	case PT_STRING8:
	case PT_UNICODE:
	case PT_BINARY:
		return true;
	default:
		return false;
	}
}

/* ---- JSON → SRestriction ---- */

static HRESULT decode(struct walk *w, json_object *j, SRestriction *r, unsigned depth);

static void *more(struct walk *w, size_t size)
{
	void *p;

	if (MAPIAllocateMore((ULONG)size, w->root, &p) != S_OK)
		return NULL;
	memset(p, 0, size);
	return p;
}

static const char *type_word(json_type type)
{
	switch (type) {
	case json_type_string:
		return "a string";
	case json_type_int:
		return "an integer";
	case json_type_boolean:
		return "a boolean";
	case json_type_array:
		return "a list";
	default:
		return "an object";
	}
}

/* The member key of j, of type type.  A JSON null counts as the wrong type. */
static HRESULT get_member(struct walk *w, json_object *j, const char *key, json_type type,
			  json_object **out)
{
	if (!json_object_object_get_ex(j, key, out))
		return fail(w, MAPI_E_INVALID_PARAMETER, key, "missing");
	if (!json_object_is_type(*out, type))
		return fail(w, MAPI_E_INVALID_PARAMETER, key, "must be %s", type_word(type));
	return S_OK;
}

static HRESULT get_ulong(struct walk *w, json_object *j, const char *key, ULONG *out)
{
	json_object *v;
	HRESULT hr = get_member(w, j, key, json_type_int, &v);
	int64_t n;

	if (FAILED(hr))
		return hr;
	n = json_object_get_int64(v);
	if (n < 0 || n > UINT32_MAX)
		return fail(w, MAPI_E_INVALID_PARAMETER, key, "must be between 0 and %lu",
			    (unsigned long)UINT32_MAX);
	*out = (ULONG)n;
	return S_OK;
}

/* A member whose value is one of names ("relop", "bmr", "fuzzy"). */
static HRESULT get_name(struct walk *w, json_object *j, const char *key,
			const char *const *names, size_t n, ULONG *out)
{
	json_object *v;
	HRESULT hr = get_member(w, j, key, json_type_string, &v);

	if (FAILED(hr))
		return hr;
	if (!value_of(names, n, json_object_get_string(v), out))
		return fail(w, MAPI_E_INVALID_PARAMETER, key, "unknown %s \"%s\"", key,
			    json_object_get_string(v));
	return S_OK;
}

static HRESULT get_tag(struct walk *w, json_object *j, const char *key, ULONG *tag)
{
	json_object *v;

	if (!json_object_object_get_ex(j, key, &v))
		return fail(w, MAPI_E_INVALID_PARAMETER, key, "missing");
	if (v && proptag_from_json(v, tag))
		return S_OK;
	if (json_object_is_type(v, json_type_string))
		return fail(w, MAPI_E_INVALID_PARAMETER, key, "unknown property \"%s\"",
			    json_object_get_string(v));
	return fail(w, MAPI_E_INVALID_PARAMETER, key, "must be a property name or number");
}

/* "value", decoded as a value of the type of tag. */
static HRESULT get_value(struct walk *w, json_object *j, ULONG tag, LPSPropValue *out)
{
	char msg[256] = "";
	json_object *v;
	LPSPropValue pv;
	HRESULT hr;

	if (!json_object_object_get_ex(j, "value", &v))
		return fail(w, MAPI_E_INVALID_PARAMETER, "value", "missing");
	if (!(pv = more(w, sizeof *pv)))
		return no_memory(w);
	hr = propval_from_json(tag, v, w->root, pv, msg, sizeof msg);
	if (hr == MAPI_E_INVALID_TYPE)
		return fail(w, MAPI_E_TOO_COMPLEX, "value",
			    "properties of type 0x%04lX cannot be compared",
			    (unsigned long)PROP_TYPE(tag));
	if (FAILED(hr))
		return fail(w, hr, "value", "%s", msg);
	*out = pv;
	return S_OK;
}

static HRESULT decode_list(struct walk *w, json_object *j, ULONG *count, LPSRestriction *list,
			   unsigned depth)
{
	json_object *arr;
	HRESULT hr = get_member(w, j, "res", json_type_array, &arr);
	size_t n, i, old;

	if (FAILED(hr))
		return hr;
	n = json_object_array_length(arr);
	if (FAILED(hr = walk_room(w, n)))
		return hr;
	if (n == 0)
		return S_OK;
	if (!(*list = more(w, n * sizeof **list)))
		return no_memory(w);
	for (i = 0; i < n; i++) {
		old = path_push(w, "res", (long)i);
		hr = decode(w, json_object_array_get_idx(arr, i), &(*list)[i], depth + 1);
		if (FAILED(hr))
			return hr;
		path_pop(w, old);
	}
	*count = (ULONG)n;
	return S_OK;
}

static HRESULT decode_not(struct walk *w, json_object *j, SNotRestriction *not, unsigned depth)
{
	json_object *sub;
	HRESULT hr = get_member(w, j, "res", json_type_object, &sub);
	size_t old;

	if (FAILED(hr))
		return hr;
	if (!(not->lpRes = more(w, sizeof *not->lpRes)))
		return no_memory(w);
	old = path_push(w, "res", -1);
	if (FAILED(hr = decode(w, sub, not->lpRes, depth + 1)))
		return hr;
	path_pop(w, old);
	return S_OK;
}

static HRESULT decode_property(struct walk *w, json_object *j, SPropertyRestriction *p)
{
	HRESULT hr;

	if (FAILED(hr = get_name(w, j, "relop", relop_names, NNAMES(relop_names), &p->relop)) ||
	    FAILED(hr = get_tag(w, j, "tag", &p->ulPropTag)))
		return hr;
	return get_value(w, j, p->ulPropTag, &p->lpProp);
}

static HRESULT decode_content(struct walk *w, json_object *j, SContentRestriction *c)
{
	json_object *ic;
	HRESULT hr;

	if (FAILED(hr = get_tag(w, j, "tag", &c->ulPropTag)) ||
	    FAILED(hr = get_value(w, j, c->ulPropTag, &c->lpProp)) ||
	    FAILED(hr = get_name(w, j, "fuzzy", fuzzy_names, NNAMES(fuzzy_names),
				 &c->ulFuzzyLevel)))
		return hr;
	/* "ignorecase" is optional: absent means case matters. */
	if (json_object_object_get_ex(j, "ignorecase", &ic)) {
		if (FAILED(hr = get_member(w, j, "ignorecase", json_type_boolean, &ic)))
			return hr;
		if (json_object_get_boolean(ic))
			c->ulFuzzyLevel |= FL_IGNORECASE;
	}
	return S_OK;
}

static HRESULT decode_bitmask(struct walk *w, json_object *j, SBitMaskRestriction *b)
{
	HRESULT hr;

	if (FAILED(hr = get_name(w, j, "bmr", bmr_names, NNAMES(bmr_names), &b->relBMR)) ||
	    FAILED(hr = get_tag(w, j, "tag", &b->ulPropTag)))
		return hr;
	return get_ulong(w, j, "mask", &b->ulMask);
}

static HRESULT decode_compareprops(struct walk *w, json_object *j, SComparePropsRestriction *c)
{
	HRESULT hr;

	if (FAILED(hr = get_name(w, j, "relop", relop_names, NNAMES(relop_names), &c->relop)) ||
	    FAILED(hr = get_tag(w, j, "tag1", &c->ulPropTag1)))
		return hr;
	return get_tag(w, j, "tag2", &c->ulPropTag2);
}

static HRESULT decode_size(struct walk *w, json_object *j, SSizeRestriction *s)
{
	HRESULT hr;

	if (FAILED(hr = get_name(w, j, "relop", relop_names, NNAMES(relop_names), &s->relop)) ||
	    FAILED(hr = get_tag(w, j, "tag", &s->ulPropTag)))
		return hr;
	return get_ulong(w, j, "size", &s->cb);
}

static HRESULT decode(struct walk *w, json_object *j, SRestriction *r, unsigned depth)
{
	json_object *v;
	HRESULT hr;

	if (FAILED(hr = walk_enter(w, depth)))
		return hr;
	if (!json_object_is_type(j, json_type_object))
		return fail(w, MAPI_E_INVALID_PARAMETER, NULL, "must be an object");
	if (FAILED(hr = get_member(w, j, "rt", json_type_string, &v)))
		return hr;
	if (!value_of(rt_names, NNAMES(rt_names), json_object_get_string(v), &r->rt))
		return fail(w, MAPI_E_TOO_COMPLEX, "rt", "unsupported restriction type \"%s\"",
			    json_object_get_string(v));
	switch (r->rt) {
	case RES_AND:
		return decode_list(w, j, &r->res.resAnd.cRes, &r->res.resAnd.lpRes, depth);
	case RES_OR:
		return decode_list(w, j, &r->res.resOr.cRes, &r->res.resOr.lpRes, depth);
	case RES_NOT:
		return decode_not(w, j, &r->res.resNot, depth);
	case RES_CONTENT:
		return decode_content(w, j, &r->res.resContent);
	case RES_PROPERTY:
		return decode_property(w, j, &r->res.resProperty);
	case RES_COMPAREPROPS:
		return decode_compareprops(w, j, &r->res.resCompareProps);
	case RES_BITMASK:
		return decode_bitmask(w, j, &r->res.resBitMask);
	case RES_SIZE:
		return decode_size(w, j, &r->res.resSize);
	default: /* RES_EXIST: value_of only knows the names above */
		return get_tag(w, j, "tag", &r->res.resExist.ulPropTag);
	}
}

HRESULT restriction_from_json(json_object *j, LPSRestriction *out, char *err, size_t errlen)
{
	struct walk w;
	void *root;
	HRESULT hr;

	walk_init(&w, err, errlen);
	*out = NULL;
	if (MAPIAllocateBuffer(sizeof(SRestriction), &root) != S_OK)
		return no_memory(&w);
	memset(root, 0, sizeof(SRestriction));
	w.root = root;
	if (FAILED(hr = decode(&w, j, root, 1))) {
		MAPIFreeBuffer(root);
		return hr;
	}
	*out = root;
	return S_OK;
}

/* ---- SRestriction → JSON ---- */

static HRESULT encode(struct walk *w, const SRestriction *r, unsigned depth, json_object **out);

/* Add v to o as key; false (v released) when v is NULL or json-c fails. */
static bool put(json_object *o, const char *key, json_object *v)
{
	if (v && json_object_object_add(o, key, v) == 0)
		return true;
	json_object_put(v);
	return false;
}

static bool put_tag(json_object *o, const char *key, ULONG tag)
{
	char buf[PROPTAG_NAME_MAX];

	return put(o, key, json_object_new_string(proptag_format(tag, buf)));
}

static bool put_name(json_object *o, const char *key, const char *name)
{
	return put(o, key, json_object_new_string(name));
}

static HRESULT put_relop(struct walk *w, json_object *o, ULONG relop)
{
	const char *name = name_of(relop_names, NNAMES(relop_names), relop);

	if (!name)
		return fail(w, MAPI_E_TOO_COMPLEX, "relop", "unknown relop %lu",
			    (unsigned long)relop);
	return put_name(o, "relop", name) ? S_OK : no_memory(w);
}

static HRESULT put_value(struct walk *w, json_object *o, const SPropValue *pv)
{
	json_object *v;

	if (!pv)
		return fail(w, MAPI_E_INVALID_PARAMETER, "value", "missing");
	if (!(v = propval_to_json(pv)))
		return fail(w, MAPI_E_TOO_COMPLEX, "value", "type 0x%04lX has no JSON form",
			    (unsigned long)PROP_TYPE(pv->ulPropTag));
	return put(o, "value", v) ? S_OK : no_memory(w);
}

static HRESULT encode_list(struct walk *w, json_object *o, ULONG count,
			   const SRestriction *list, unsigned depth)
{
	json_object *arr = json_object_new_array(), *sub;
	HRESULT hr;
	size_t old;

	if (!put(o, "res", arr))
		return no_memory(w);
	if (count && !list)
		return fail(w, MAPI_E_INVALID_PARAMETER, "res", "missing");
	if (FAILED(hr = walk_room(w, count)))
		return hr;
	for (ULONG i = 0; i < count; i++) {
		old = path_push(w, "res", (long)i);
		if (FAILED(hr = encode(w, &list[i], depth + 1, &sub)))
			return hr;
		if (json_object_array_add(arr, sub) != 0) {
			json_object_put(sub);
			return no_memory(w);
		}
		path_pop(w, old);
	}
	return S_OK;
}

static HRESULT encode_not(struct walk *w, json_object *o, const SNotRestriction *not,
			  unsigned depth)
{
	json_object *sub;
	HRESULT hr;
	size_t old;

	if (!not->lpRes)
		return fail(w, MAPI_E_INVALID_PARAMETER, "res", "missing");
	old = path_push(w, "res", -1);
	if (FAILED(hr = encode(w, not->lpRes, depth + 1, &sub)))
		return hr;
	path_pop(w, old);
	return put(o, "res", sub) ? S_OK : no_memory(w);
}

static HRESULT encode_content(struct walk *w, json_object *o, const SContentRestriction *c)
{
	const char *fuzzy = name_of(fuzzy_names, NNAMES(fuzzy_names), c->ulFuzzyLevel & 0xFFFF);
	HRESULT hr;

	if (!fuzzy || (c->ulFuzzyLevel & 0xFFFF0000 & ~FL_ANYCASE))
		return fail(w, MAPI_E_TOO_COMPLEX, "fuzzy", "unknown fuzzy level 0x%08lX",
			    (unsigned long)c->ulFuzzyLevel);
	if (!put_tag(o, "tag", c->ulPropTag))
		return no_memory(w);
	if (FAILED(hr = put_value(w, o, c->lpProp)))
		return hr;
	/* The wire has one case flag: the others are treated like it anyway. */
	if (!put_name(o, "fuzzy", fuzzy) ||
	    !put(o, "ignorecase", json_object_new_boolean((c->ulFuzzyLevel & FL_ANYCASE) != 0)))
		return no_memory(w);
	return S_OK;
}

static HRESULT encode_property(struct walk *w, json_object *o, const SPropertyRestriction *p)
{
	HRESULT hr;

	if (FAILED(hr = put_relop(w, o, p->relop)))
		return hr;
	if (!put_tag(o, "tag", p->ulPropTag))
		return no_memory(w);
	return put_value(w, o, p->lpProp);
}

static HRESULT encode_bitmask(struct walk *w, json_object *o, const SBitMaskRestriction *b)
{
	const char *bmr = name_of(bmr_names, NNAMES(bmr_names), b->relBMR);

	if (!bmr)
		return fail(w, MAPI_E_TOO_COMPLEX, "bmr", "unknown bmr %lu",
			    (unsigned long)b->relBMR);
	if (!put_name(o, "bmr", bmr) || !put_tag(o, "tag", b->ulPropTag) ||
	    !put(o, "mask", json_object_new_int64(b->ulMask)))
		return no_memory(w);
	return S_OK;
}

static HRESULT encode_compareprops(struct walk *w, json_object *o,
				   const SComparePropsRestriction *c)
{
	HRESULT hr;

	if (FAILED(hr = put_relop(w, o, c->relop)))
		return hr;
	if (!put_tag(o, "tag1", c->ulPropTag1) || !put_tag(o, "tag2", c->ulPropTag2))
		return no_memory(w);
	return S_OK;
}

static HRESULT encode_size(struct walk *w, json_object *o, const SSizeRestriction *s)
{
	HRESULT hr;

	if (FAILED(hr = put_relop(w, o, s->relop)))
		return hr;
	if (!put_tag(o, "tag", s->ulPropTag) || !put(o, "size", json_object_new_int64(s->cb)))
		return no_memory(w);
	return S_OK;
}

static HRESULT encode_body(struct walk *w, json_object *o, const SRestriction *r,
			   unsigned depth)
{
	switch (r->rt) {
	case RES_AND:
		return encode_list(w, o, r->res.resAnd.cRes, r->res.resAnd.lpRes, depth);
	case RES_OR:
		return encode_list(w, o, r->res.resOr.cRes, r->res.resOr.lpRes, depth);
	case RES_NOT:
		return encode_not(w, o, &r->res.resNot, depth);
	case RES_CONTENT:
		return encode_content(w, o, &r->res.resContent);
	case RES_PROPERTY:
		return encode_property(w, o, &r->res.resProperty);
	case RES_COMPAREPROPS:
		return encode_compareprops(w, o, &r->res.resCompareProps);
	case RES_BITMASK:
		return encode_bitmask(w, o, &r->res.resBitMask);
	case RES_SIZE:
		return encode_size(w, o, &r->res.resSize);
	default: /* RES_EXIST: encode checked the name */
		return put_tag(o, "tag", r->res.resExist.ulPropTag) ? S_OK : no_memory(w);
	}
}

static HRESULT encode(struct walk *w, const SRestriction *r, unsigned depth, json_object **out)
{
	const char *rt = name_of(rt_names, NNAMES(rt_names), r->rt);
	json_object *o;
	HRESULT hr;

	if (FAILED(hr = walk_enter(w, depth)))
		return hr;
	if (!rt)
		return fail(w, MAPI_E_TOO_COMPLEX, "rt", "unsupported restriction type %lu",
			    (unsigned long)r->rt);
	if (!(o = json_object_new_object()) || !put_name(o, "rt", rt)) {
		json_object_put(o);
		return no_memory(w);
	}
	if (FAILED(hr = encode_body(w, o, r, depth))) {
		json_object_put(o);
		return hr;
	}
	*out = o;
	return S_OK;
}

HRESULT restriction_to_json(const SRestriction *r, json_object **out, char *err, size_t errlen)
{
	struct walk w;

	walk_init(&w, err, errlen);
	*out = NULL;
	if (!r)
		return fail(&w, MAPI_E_INVALID_PARAMETER, NULL, "missing");
	return encode(&w, r, 1, out);
}

/* ---- Text: UTF-8 and wide strings, one code point at a time ---- */

/* The next code point of a UTF-8 string (0 at its end, where it stays).
 * A byte b that does not start a well-formed sequence reads as U+DC00+b,
 * as propval_compare reads it. */
static uint32_t utf8_next(const char **sp)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*sp += c != 0;
		return c;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, c &= 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, c &= 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, c &= 0x07, min = 0x10000;
	else
		goto invalid;
	/* A NUL fails the continuation test, so this never reads past the end. */
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto invalid;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		goto invalid;
	*sp += len;
	return c;
invalid:
	*sp += 1;
	return 0xDC00 + s[0];
}

/* The UTF-8 bytes of c into out (4 bytes at most); returns their count. */
static size_t utf8_put(uint32_t c, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		c = 0xFFFD;
	if (c < 0x80) {
		o[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (unsigned char)(0xC0 | c >> 6);
		o[1] = (unsigned char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (unsigned char)(0xE0 | c >> 12);
		o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		o[2] = (unsigned char)(0x80 | (c & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | c >> 18);
	o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
	o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
	o[3] = (unsigned char)(0x80 | (c & 0x3F));
	return 4;
}

/* A string property as UTF-8, for the regular expressions: lpszA itself, or a
 * malloc'd conversion of lpszW left in *owned. */
static const char *utf8_of(const SPropValue *pv, char **owned)
{
	const wchar_t *ws = pv->Value.lpszW;
	size_t n = 0, i;
	char *s;

	*owned = NULL;
	if (PROP_TYPE(pv->ulPropTag) == PT_STRING8)
		return pv->Value.lpszA;
	for (i = 0; ws[i]; i++)
		n += ws[i] < 0x80 ? 1 : 4;
	if (!(s = malloc(n + 1)))
		return NULL;
	for (n = 0, i = 0; ws[i]; i++)
		n += utf8_put((uint32_t)ws[i], s + n);
	s[n] = '\0';
	return *owned = s;
}

/* A malloc'd UTF-32 copy of a string property; its length in *n. */
static wchar_t *wide_of(const SPropValue *pv, size_t *n)
{
	const char *s = pv->Value.lpszA;
	wchar_t *ws;
	size_t i = 0;

	if (PROP_TYPE(pv->ulPropTag) == PT_UNICODE) {
		*n = wcslen(pv->Value.lpszW);
		ws = malloc((*n + 1) * sizeof *ws);
		return ws ? wmemcpy(ws, pv->Value.lpszW, *n + 1) : NULL;
	}
	/* UTF-8 has no more code points than bytes */
	if (!(ws = malloc((strlen(s) + 1) * sizeof *ws)))
		return NULL;
	while (*s)
		ws[i++] = (wchar_t)utf8_next(&s);
	ws[i] = L'\0';
	*n = i;
	return ws;
}

static size_t code_points(const SPropValue *pv)
{
	const char *s = pv->Value.lpszA;
	size_t n = 0;

	if (PROP_TYPE(pv->ulPropTag) == PT_UNICODE)
		return wcslen(pv->Value.lpszW);
	while (utf8_next(&s))
		n++;
	return n;
}

/* Fuzzy text match.  Each candidate window of pv is compared with
 * propval_compare, so that ignorecase folds exactly as it does in property
 * restrictions and sorting.  Out of memory reads as no match. */
static bool match_text(const SPropValue *pv, const SPropValue *pattern, ULONG fuzzy, bool icase)
{
	SPropValue window = { .ulPropTag = PROP_TAG(PT_UNICODE, PROP_ID_NULL) };
	size_t n, m, last;
	bool found = false;
	wchar_t *ws, saved;
	int cmp;

	if (fuzzy == FL_FULLSTRING)
		return propval_compare(pv, pattern, icase, &cmp) && cmp == 0;
	if (!(ws = wide_of(pv, &n)))
		return false;
	m = code_points(pattern);
	last = fuzzy == FL_PREFIX || m > n ? 0 : n - m;
	for (size_t i = 0; !found && m <= n && i <= last; i++) {
		saved = ws[i + m];
		ws[i + m] = L'\0';
		window.Value.lpszW = ws + i;
		found = propval_compare(&window, pattern, icase, &cmp) && cmp == 0;
		ws[i + m] = saved;
	}
	free(ws);
	return found;
}

/* ---- Validation ---- */

static HRESULT check(struct walk *w, const SRestriction *r, unsigned depth);

/* A constant the evaluation can read without faulting. */
static HRESULT check_value(struct walk *w, const SPropValue *pv)
{
	if (!pv)
		return fail(w, MAPI_E_INVALID_PARAMETER, "value", "missing");
	if ((PROP_TYPE(pv->ulPropTag) == PT_STRING8 && !pv->Value.lpszA) ||
	    (PROP_TYPE(pv->ulPropTag) == PT_UNICODE && !pv->Value.lpszW) ||
	    (PROP_TYPE(pv->ulPropTag) == PT_BINARY && pv->Value.bin.cb && !pv->Value.bin.lpb))
		return fail(w, MAPI_E_INVALID_PARAMETER, "value", "has a NULL pointer");
	return S_OK;
}

static HRESULT check_relop(struct walk *w, ULONG relop, bool regex)
{
	if (relop > RELOP_RE || (relop == RELOP_RE && !regex))
		return fail(w, MAPI_E_TOO_COMPLEX, "relop", "relop %lu is not supported here",
			    (unsigned long)relop);
	return S_OK;
}

static HRESULT check_agree(struct walk *w, const char *member, ULONG tag, ULONG other)
{
	if (!same_type(tag, other))
		return fail(w, MAPI_E_TOO_COMPLEX, member,
			    "types 0x%04lX and 0x%04lX do not agree",
			    (unsigned long)PROP_TYPE(tag), (unsigned long)PROP_TYPE(other));
	return S_OK;
}

static HRESULT check_comparable(struct walk *w, const char *member, ULONG tag)
{
	if (!comparable(tag))
		return fail(w, MAPI_E_TOO_COMPLEX, member,
			    "properties of type 0x%04lX cannot be compared",
			    (unsigned long)PROP_TYPE(tag));
	return S_OK;
}

/* A string property's pattern, compiled; the status and a message in err
 * when it is not a pattern or too big (ere.h says which). */
static enum ere_status compile_regex(const SPropValue *pattern, struct ere **re, char *err,
				     size_t errlen)
{
	char *owned;
	const char *s = utf8_of(pattern, &owned);
	enum ere_status st;

	if (!s) {
		*re = NULL;
		snprintf(err, errlen, "out of memory");
		return ERE_ENOMEM;
	}
	st = ere_compile(s, re, err, errlen);
	free(owned);
	return st;
}

static HRESULT check_regex(struct walk *w, const SPropertyRestriction *p)
{
	char msg[160];
	struct ere *re;

	if (!is_string(p->ulPropTag))
		return fail(w, MAPI_E_TOO_COMPLEX, "relop", "re applies to strings only");
	switch (compile_regex(p->lpProp, &re, msg, sizeof msg)) {
	case ERE_OK:
		ere_free(re);
		return S_OK;
	case ERE_ETOOBIG:
		return fail(w, MAPI_E_TOO_COMPLEX, "value", "regular expression too complex: %s",
			    msg);
	case ERE_ENOMEM:
		return fail(w, MAPI_E_NOT_ENOUGH_MEMORY, "value", "%s", msg);
	case ERE_ESYNTAX:
	default:
		return fail(w, MAPI_E_INVALID_PARAMETER, "value", "bad regular expression: %s",
			    msg);
	}
}

static HRESULT check_property(struct walk *w, const SPropertyRestriction *p)
{
	HRESULT hr;

	if (FAILED(hr = check_relop(w, p->relop, true)) ||
	    FAILED(hr = check_value(w, p->lpProp)) ||
	    FAILED(hr = check_comparable(w, "tag", p->ulPropTag)) ||
	    FAILED(hr = check_agree(w, "value", p->ulPropTag, p->lpProp->ulPropTag)))
		return hr;
	return p->relop == RELOP_RE ? check_regex(w, p) : S_OK;
}

static HRESULT check_content(struct walk *w, const SContentRestriction *c)
{
	HRESULT hr;

	if ((c->ulFuzzyLevel & 0xFFFF) > FL_PREFIX || (c->ulFuzzyLevel & 0xFFFF0000 & ~FL_ANYCASE))
		return fail(w, MAPI_E_TOO_COMPLEX, "fuzzy", "unknown fuzzy level 0x%08lX",
			    (unsigned long)c->ulFuzzyLevel);
	if (!is_string(c->ulPropTag) && PROP_TYPE(c->ulPropTag) != PT_BINARY)
		return fail(w, MAPI_E_TOO_COMPLEX, "tag",
			    "content applies to strings and binaries only");
	if (FAILED(hr = check_value(w, c->lpProp)))
		return hr;
	return check_agree(w, "value", c->ulPropTag, c->lpProp->ulPropTag);
}

static HRESULT check_bitmask(struct walk *w, const SBitMaskRestriction *b)
{
	if (b->relBMR > BMR_NEZ)
		return fail(w, MAPI_E_TOO_COMPLEX, "bmr", "unknown bmr %lu",
			    (unsigned long)b->relBMR);
	if (PROP_TYPE(b->ulPropTag) != PT_LONG)
		return fail(w, MAPI_E_TOO_COMPLEX, "tag", "bitmask applies to PT_LONG only");
	return S_OK;
}

static HRESULT check_compareprops(struct walk *w, const SComparePropsRestriction *c)
{
	HRESULT hr;

	if (FAILED(hr = check_relop(w, c->relop, false)) ||
	    FAILED(hr = check_comparable(w, "tag1", c->ulPropTag1)))
		return hr;
	return check_agree(w, "tag2", c->ulPropTag1, c->ulPropTag2);
}

static HRESULT check_list(struct walk *w, ULONG count, const SRestriction *list,
			  unsigned depth)
{
	HRESULT hr;
	size_t old;

	if (count && !list)
		return fail(w, MAPI_E_INVALID_PARAMETER, "res", "missing");
	if (FAILED(hr = walk_room(w, count)))
		return hr;
	for (ULONG i = 0; i < count; i++) {
		old = path_push(w, "res", (long)i);
		if (FAILED(hr = check(w, &list[i], depth + 1)))
			return hr;
		path_pop(w, old);
	}
	return S_OK;
}

static HRESULT check_not(struct walk *w, const SRestriction *sub, unsigned depth)
{
	HRESULT hr;
	size_t old;

	if (!sub)
		return fail(w, MAPI_E_INVALID_PARAMETER, "res", "missing");
	old = path_push(w, "res", -1);
	if (FAILED(hr = check(w, sub, depth + 1)))
		return hr;
	path_pop(w, old);
	return S_OK;
}

static HRESULT check(struct walk *w, const SRestriction *r, unsigned depth)
{
	HRESULT hr;

	if (FAILED(hr = walk_enter(w, depth)))
		return hr;
	switch (r->rt) {
	case RES_AND:
		return check_list(w, r->res.resAnd.cRes, r->res.resAnd.lpRes, depth);
	case RES_OR:
		return check_list(w, r->res.resOr.cRes, r->res.resOr.lpRes, depth);
	case RES_NOT:
		return check_not(w, r->res.resNot.lpRes, depth);
	case RES_CONTENT:
		return check_content(w, &r->res.resContent);
	case RES_PROPERTY:
		return check_property(w, &r->res.resProperty);
	case RES_COMPAREPROPS:
		return check_compareprops(w, &r->res.resCompareProps);
	case RES_BITMASK:
		return check_bitmask(w, &r->res.resBitMask);
	case RES_SIZE:
		return check_relop(w, r->res.resSize.relop, false);
	case RES_EXIST:
		return S_OK;
	default:
		return fail(w, MAPI_E_TOO_COMPLEX, "rt", "unsupported restriction type %lu",
			    (unsigned long)r->rt);
	}
}

HRESULT restriction_validate(const SRestriction *r, char *err, size_t errlen)
{
	struct walk w;

	walk_init(&w, err, errlen);
	if (!r)
		return fail(&w, MAPI_E_INVALID_PARAMETER, NULL, "missing");
	return check(&w, r, 1);
}

/* ---- Evaluation ---- */

/* The row's value of tag; a PT_ERROR stand-in counts as missing. */
static const SPropValue *row_value(const SPropValue *props, ULONG n, ULONG tag)
{
	const SPropValue *pv = propval_find(props, n, tag);

	return pv && PROP_TYPE(pv->ulPropTag) != PT_ERROR ? pv : NULL;
}

static bool relop_holds(ULONG relop, int cmp)
{
	switch (relop) {
	case RELOP_LT:
		return cmp < 0;
	case RELOP_LE:
		return cmp <= 0;
	case RELOP_GT:
		return cmp > 0;
	case RELOP_GE:
		return cmp >= 0;
	case RELOP_EQ:
		return cmp == 0;
	case RELOP_NE:
		return cmp != 0;
	default:
		return false;
	}
}

/* Recompiled on every call: the status table is a handful of rows.  Out
 * of memory reads as no match, since match has no way to report it. */
static bool regex_matches(const SPropValue *pattern, const SPropValue *pv)
{
	char err[160], *owned;
	struct ere *re;
	const char *s;
	bool match;

	if (compile_regex(pattern, &re, err, sizeof err) != ERE_OK)
		return false;
	s = utf8_of(pv, &owned);
	match = s && ere_match(re, s, strlen(s));
	free(owned);
	ere_free(re);
	return match;
}

static bool match_property(const SPropertyRestriction *p, const SPropValue *props, ULONG n)
{
	const SPropValue *pv = row_value(props, n, p->ulPropTag);
	int cmp;

	if (!pv)
		return false;
	if (p->relop == RELOP_RE)
		return regex_matches(p->lpProp, pv);
	return propval_compare(pv, p->lpProp, false, &cmp) && relop_holds(p->relop, cmp);
}

static bool match_binary(const SBinary *hay, const SBinary *needle, ULONG fuzzy)
{
	/* memcmp and memmem want real pointers even for zero lengths */
	if (needle->cb == 0)
		return fuzzy != FL_FULLSTRING || hay->cb == 0;
	switch (fuzzy) {
	case FL_FULLSTRING:
		return hay->cb == needle->cb && memcmp(hay->lpb, needle->lpb, hay->cb) == 0;
	case FL_PREFIX:
		return hay->cb >= needle->cb && memcmp(hay->lpb, needle->lpb, needle->cb) == 0;
	default:
		return hay->cb && memmem(hay->lpb, hay->cb, needle->lpb, needle->cb) != NULL;
	}
}

static bool match_content(const SContentRestriction *c, const SPropValue *props, ULONG n)
{
	const SPropValue *pv = row_value(props, n, c->ulPropTag);
	ULONG fuzzy = c->ulFuzzyLevel & 0xFFFF;

	if (!pv || !same_type(pv->ulPropTag, c->lpProp->ulPropTag))
		return false;
	if (PROP_TYPE(pv->ulPropTag) == PT_BINARY)
		return match_binary(&pv->Value.bin, &c->lpProp->Value.bin, fuzzy);
	return match_text(pv, c->lpProp, fuzzy, (c->ulFuzzyLevel & FL_ANYCASE) != 0);
}

static bool match_bitmask(const SBitMaskRestriction *b, const SPropValue *props, ULONG n)
{
	const SPropValue *pv = row_value(props, n, b->ulPropTag);

	if (!pv)
		return false;
	return ((pv->Value.ul & b->ulMask) == 0) == (b->relBMR == BMR_EQZ);
}

static bool match_compareprops(const SComparePropsRestriction *c, const SPropValue *props,
			       ULONG n)
{
	const SPropValue *a = row_value(props, n, c->ulPropTag1);
	const SPropValue *b = row_value(props, n, c->ulPropTag2);
	int cmp;

	return a && b && same_type(a->ulPropTag, b->ulPropTag) &&
	       propval_compare(a, b, false, &cmp) && relop_holds(c->relop, cmp);
}

/* Size of one value of a fixed-size type, as MAPI counts it (0: not fixed). */
static size_t fixed_size(ULONG type)
{
	switch (type) {
	case PT_I2:
		return sizeof(short);
	case PT_LONG:
	case PT_ERROR:
		return sizeof(LONG);
	case PT_R4:
		return sizeof(float);
	case PT_DOUBLE:
	case PT_APPTIME:
		return sizeof(double);
	case PT_CURRENCY:
		return sizeof(CURRENCY);
	case PT_BOOLEAN:
		return sizeof(unsigned short);
	case PT_I8:
		return sizeof(LARGE_INTEGER);
	case PT_SYSTIME:
		return sizeof(FILETIME);
	case PT_CLSID:
		return sizeof(GUID);
	default:
		return 0;
	}
}

/* The size of a value in bytes as MAPI counts it: strings with their
 * terminator, binaries by cb, multi-valued properties as the sum. */
static size_t value_size(const SPropValue *pv)
{
	const __UPV *v = &pv->Value;
	ULONG type = PROP_TYPE(pv->ulPropTag);
	size_t size = 0;

	switch (type) {
	case PT_STRING8:
		return strlen(v->lpszA) + 1;
	case PT_UNICODE:
		return (wcslen(v->lpszW) + 1) * sizeof(WCHAR);
	case PT_BINARY:
		return v->bin.cb;
	case PT_MV_STRING8:
		for (ULONG i = 0; i < v->MVszA.cValues; i++)
			size += strlen(v->MVszA.lppszA[i]) + 1;
		return size;
	case PT_MV_UNICODE:
		for (ULONG i = 0; i < v->MVszW.cValues; i++)
			size += (wcslen(v->MVszW.lppszW[i]) + 1) * sizeof(WCHAR);
		return size;
	case PT_MV_BINARY:
		for (ULONG i = 0; i < v->MVbin.cValues; i++)
			size += v->MVbin.lpbin[i].cb;
		return size;
	default:
		/* every multi-valued array starts with its count */
		if (type & MV_FLAG)
			return v->MVl.cValues * fixed_size(type & ~MV_FLAG);
		return fixed_size(type);
	}
}

static bool match_size(const SSizeRestriction *s, const SPropValue *props, ULONG n)
{
	const SPropValue *pv = row_value(props, n, s->ulPropTag);
	size_t size;

	if (!pv)
		return false;
	size = value_size(pv);
	return relop_holds(s->relop, (size > s->cb) - (size < s->cb));
}

static bool match_all(ULONG count, const SRestriction *list, const SPropValue *props, ULONG n)
{
	for (ULONG i = 0; i < count; i++)
		if (!restriction_match(&list[i], props, n))
			return false;
	return true;
}

static bool match_any(ULONG count, const SRestriction *list, const SPropValue *props, ULONG n)
{
	for (ULONG i = 0; i < count; i++)
		if (restriction_match(&list[i], props, n))
			return true;
	return false;
}

bool restriction_match(const SRestriction *r, const SPropValue *props, ULONG n)
{
	switch (r->rt) {
	case RES_AND:
		return match_all(r->res.resAnd.cRes, r->res.resAnd.lpRes, props, n);
	case RES_OR:
		return match_any(r->res.resOr.cRes, r->res.resOr.lpRes, props, n);
	case RES_NOT:
		return !restriction_match(r->res.resNot.lpRes, props, n);
	case RES_CONTENT:
		return match_content(&r->res.resContent, props, n);
	case RES_PROPERTY:
		return match_property(&r->res.resProperty, props, n);
	case RES_COMPAREPROPS:
		return match_compareprops(&r->res.resCompareProps, props, n);
	case RES_BITMASK:
		return match_bitmask(&r->res.resBitMask, props, n);
	case RES_SIZE:
		return match_size(&r->res.resSize, props, n);
	case RES_EXIST:
		return row_value(props, n, r->res.resExist.ulPropTag) != NULL;
	default:
		return false;
	}
}
