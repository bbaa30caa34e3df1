/*
 * propval.c — SPropValue to and from JSON, comparison and deep copy.
 *
 * Strings are UTF-8 on the wire.  A PT_STRING8 value in C holds UTF-8 too
 * (the library is for Linux, where that is the multibyte encoding that
 * matters); a PT_UNICODE value is a wchar_t string, UTF-32 on Linux.
 * Input is strict: invalid UTF-8, surrogates and code points past U+10FFFF
 * are rejected.  Output is forgiving, because a status string may carry
 * whatever bytes a remote server sent: what is not valid becomes U+FFFD
 * rather than failing the whole row.
 *
 * Every element of a multi-valued value shares one layout trick: all
 * members of union _PV start at offset 0, so copying an array element's
 * bytes into a union _PV gives the single-valued form of that element.
 */
#include <config.h>

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mapispool/mapix.h>

#include "hresult.h"
#include "proptag.h"
#include "propval.h"

/* The UTF-32 conversions below rely on it; true on every Linux ABI. */
static_assert(sizeof(WCHAR) == 4, "wchar_t must hold a whole code point");

/* FILETIME counts 100 ns ticks since 1601-01-01 UTC. */
#define TICKS_PER_SEC 10000000ULL
#define EPOCH_DIFF_SECS 11644473600LL	/* 1601-01-01 to 1970-01-01 */

#define REPLACEMENT_CHAR 0xFFFDu

/* ------------------------------------------------------------------ */
/* Allocation and errors while decoding or copying one value           */

struct pv_ctx {
	void *parent;	/* chain new blocks to this; NULL until the first */
	void *root;	/* a block we allocated as root: freed on failure */
	ULONG tag;	/* for messages */
	long index;	/* element of a multi-valued value, or -1 */
	char *err;
	size_t errlen;
};

/* With no parent, the first block becomes the root and the rest of the
 * value (the strings of a multi-valued array) is chained to it, so one
 * MAPIFreeBuffer frees the value. */
static HRESULT
pv_alloc(struct pv_ctx *c, size_t cb, void **p)
{
	HRESULT hr;

	if (cb > UINT32_MAX)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	if (c->parent != NULL)
		return MAPIAllocateMore((ULONG)cb, c->parent, p);
	if ((hr = MAPIAllocateBuffer((ULONG)cb, p)) == S_OK)
		c->parent = c->root = *p;
	return hr;
}

static HRESULT
pv_dup(struct pv_ctx *c, const void *src, size_t n, void **out)
{
	HRESULT hr;

	if ((hr = pv_alloc(c, n, out)) == S_OK && n > 0)
		memcpy(*out, src, n);
	return hr;
}

/* Blocks chained to a caller's parent stay there (MAPI cannot free part
 * of a chain); only a root of our own can go. */
static void
pv_abort(struct pv_ctx *c)
{
	MAPIFreeBuffer(c->root);
	c->root = NULL;
}

__attribute__((format(printf, 3, 4)))
static HRESULT
pv_fail(struct pv_ctx *c, HRESULT hr, const char *fmt, ...)
{
	char name[PROPTAG_NAME_MAX], msg[128];
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return hr;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	proptag_format(c->tag, name);
	if (c->index >= 0)
		snprintf(c->err, c->errlen, "%s[%ld]: %s", name, c->index, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", name, msg);
	return hr;
}

static HRESULT
pv_wrong_type(struct pv_ctx *c, const char *want, json_object *j)
{
	return pv_fail(c, MAPI_E_INVALID_PARAMETER, "expected %s, not %s", want,
		       json_type_to_name(json_object_get_type(j)));
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */

static bool
cp_valid(uint32_t c)
{
	return c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF);
}

/* One code point from s (NUL-terminated), strictly: no overlong forms,
 * surrogates or values past U+10FFFF.  Returns its length in bytes, or 0
 * if s does not start with a valid sequence.  A NUL ends a sequence as
 * any non-continuation byte does, so reading never passes the end. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	/* The lead byte gives the length, and the least value that needs it. */
	if ((c & 0xE0) == 0xC0) {
		n = 2;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	c &= 0x7Fu >> n;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || !cp_valid(c))
		return 0;
	*cp = c;
	return n;
}

static size_t
utf8_len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

static char *
utf8_encode(uint32_t c, char *out)
{
	unsigned char *p = (unsigned char *)out;

	switch (utf8_len(c)) {
	case 1:
		*p++ = (unsigned char)c;
		break;
	case 2:
		*p++ = (unsigned char)(0xC0 | c >> 6);
		*p++ = (unsigned char)(0x80 | (c & 0x3F));
		break;
	case 3:
		*p++ = (unsigned char)(0xE0 | c >> 12);
		*p++ = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		*p++ = (unsigned char)(0x80 | (c & 0x3F));
		break;
	default:
		*p++ = (unsigned char)(0xF0 | c >> 18);
		*p++ = (unsigned char)(0x80 | (c >> 12 & 0x3F));
		*p++ = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		*p++ = (unsigned char)(0x80 | (c & 0x3F));
		break;
	}
	return (char *)p;
}

/* Number of code points in s, or -1 if it is not valid UTF-8. */
static long
utf8_count(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;
	uint32_t c;
	size_t len;

	for (; *p != '\0'; p += len, n++)
		if ((len = utf8_decode(p, &c)) == 0)
			return -1;
	return n;
}

/* A JSON string of s with every invalid byte replaced by U+FFFD. */
static json_object *
json_string_sanitized(const char *s)
{
	const unsigned char *p;
	char *buf, *q;
	size_t len, n;
	uint32_t c;
	json_object *j;

	if (utf8_count(s) >= 0)
		return json_object_new_string(s);
	/* Each invalid byte grows to 3; a valid sequence keeps its size. */
	len = strlen(s);
	if (len > INT_MAX / 3 || (buf = malloc(len * 3)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s, q = buf; *p != '\0'; p += n) {
		if ((n = utf8_decode(p, &c)) == 0) {
			c = REPLACEMENT_CHAR;
			n = 1;
		}
		q = utf8_encode(c, q);
	}
	j = json_object_new_string_len(buf, (int)(q - buf));
	free(buf);
	return j;
}

static uint32_t
wchar_cp(WCHAR w)
{
	uint32_t c = (uint32_t)w;

	return cp_valid(c) ? c : REPLACEMENT_CHAR;
}

static json_object *
json_string_from_wide(const WCHAR *w)
{
	size_t n = 0;
	char *buf, *q;
	json_object *j;

	for (const WCHAR *p = w; *p != L'\0'; p++)
		if ((n += utf8_len(wchar_cp(*p))) > INT_MAX)
			return NULL;
	if ((buf = malloc(n + 1)) == NULL)
		return NULL;
	for (q = buf; *w != L'\0'; w++)
		q = utf8_encode(wchar_cp(*w), q);
	j = json_object_new_string_len(buf, (int)n);
	free(buf);
	return j;
}

/* ------------------------------------------------------------------ */
/* Times                                                               */

static uint64_t
ft_ticks(const FILETIME *ft)
{
	return (uint64_t)ft->dwHighDateTime << 32 | ft->dwLowDateTime;
}

static void
ft_set(FILETIME *ft, uint64_t ticks)
{
	ft->dwLowDateTime = (DWORD)ticks;
	ft->dwHighDateTime = (DWORD)(ticks >> 32);
}

/* Before 1601 is 0; past the end of FILETIME, its largest value. */
void
propval_filetime_from_timespec(FILETIME *ft, const struct timespec *ts)
{
	uint64_t ticks;
	int64_t secs;

	if (__builtin_add_overflow((int64_t)ts->tv_sec, EPOCH_DIFF_SECS, &secs) || secs < 0) {
		ft_set(ft, secs < 0 ? 0 : UINT64_MAX);
		return;
	}
	if (__builtin_mul_overflow((uint64_t)secs, TICKS_PER_SEC, &ticks) ||
	    __builtin_add_overflow(ticks, (uint64_t)ts->tv_nsec / 100, &ticks))
		ticks = UINT64_MAX;
	ft_set(ft, ticks);
}

void
propval_filetime_to_timespec(const FILETIME *ft, struct timespec *ts)
{
	uint64_t ticks = ft_ticks(ft);

	ts->tv_sec = (time_t)(ticks / TICKS_PER_SEC) - EPOCH_DIFF_SECS;
	ts->tv_nsec = (long)(ticks % TICKS_PER_SEC) * 100;
}

/* "2026-11-25T20:34:13Z", with ".fffffff" (trailing zeros cut) when the
 * value has a fraction; NULL past year 9999, which RFC 3339 cannot write. */
static json_object *
systime_to_json(const FILETIME *ft)
{
	uint64_t ticks = ft_ticks(ft);
	unsigned frac = (unsigned)(ticks % TICKS_PER_SEC);
	time_t t = (time_t)(ticks / TICKS_PER_SEC) - EPOCH_DIFF_SECS;
	char buf[64];
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year > 9999 - 1900)
		return NULL;
	n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (frac != 0) {
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%07u", frac);
		while (buf[n - 1] == '0')
			n--;
	}
	buf[n++] = 'Z';
	return json_object_new_string_len(buf, n);
}

/* Exactly n decimal digits at *s, advancing it. */
static bool
digits(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return false;
		*v = *v * 10 + (**s - '0');
	}
	return true;
}

static bool
expect(const char **s, const char *one_of)
{
	if (**s == '\0' || strchr(one_of, **s) == NULL)
		return false;
	(*s)++;
	return true;
}

static int
days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* The fraction after '.', in ticks: digits past the seventh (below 100 ns)
 * are checked and dropped. */
static bool
fraction(const char **s, uint64_t *ticks)
{
	uint64_t scale = TICKS_PER_SEC / 10;
	const char *start = *s;

	*ticks = 0;
	for (; **s >= '0' && **s <= '9'; (*s)++, scale /= 10)
		*ticks += (uint64_t)(**s - '0') * scale;
	return *s > start;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm).  'T'
 * and 'Z' may be lower case (RFC 3339 §5.6).  A leap second (:60) is
 * refused: FILETIME has no place for it. */
static bool
parse_rfc3339(const char *s, FILETIME *ft, const char **why)
{
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	uint64_t frac = 0;
	int64_t secs;
	struct tm tm;

	*why = "not an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)";
	if (!digits(&s, 4, &year) || !expect(&s, "-") || !digits(&s, 2, &mon) ||
	    !expect(&s, "-") || !digits(&s, 2, &day) || !expect(&s, "Tt") ||
	    !digits(&s, 2, &hour) || !expect(&s, ":") || !digits(&s, 2, &min) ||
	    !expect(&s, ":") || !digits(&s, 2, &sec))
		return false;
	if (*s == '.') {
		s++;
		if (!fraction(&s, &frac))
			return false;
	}
	if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!digits(&s, 2, &oh) || !expect(&s, ":") || !digits(&s, 2, &om))
			return false;
	} else if (!expect(&s, "Zz")) {
		return false;
	}
	if (*s != '\0')
		return false;

	*why = "a date or time field is out of range";
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
	    hour > 23 || min > 59 || sec > 59 || oh > 23 || om > 59)
		return false;

	tm = (struct tm){ .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
			  .tm_hour = hour, .tm_min = min, .tm_sec = sec };
	secs = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60) + EPOCH_DIFF_SECS;
	*why = "the time is before 1601, which FILETIME cannot hold";
	if (secs < 0)
		return false;
	ft_set(ft, (uint64_t)secs * TICKS_PER_SEC + frac);
	return true;
}

/* ------------------------------------------------------------------ */
/* Hex                                                                 */

void
hex_encode(const BYTE *in, size_t n, char *out)
{
	static const char xd[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*out++ = xd[in[i] >> 4];
		*out++ = xd[in[i] & 0xF];
	}
	*out = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
hex_decode(const char *in, size_t len, BYTE *out)
{
	int hi, lo;

	if (len % 2 != 0)
		return false;
	for (size_t i = 0; i < len; i += 2) {
		if ((hi = hex_value(in[i])) < 0 || (lo = hex_value(in[i + 1])) < 0)
			return false;
		*out++ = (BYTE)(hi << 4 | lo);
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Multi-valued arrays                                                 */

/* Every PT_MV_* with an array in union _PV: type, member, pointer. */
#define MV_TYPES(M) \
	M(PT_MV_I2, MVi, lpi) \
	M(PT_MV_LONG, MVl, lpl) \
	M(PT_MV_R4, MVflt, lpflt) \
	M(PT_MV_DOUBLE, MVdbl, lpdbl) \
	M(PT_MV_CURRENCY, MVcur, lpcur) \
	M(PT_MV_APPTIME, MVat, lpat) \
	M(PT_MV_SYSTIME, MVft, lpft) \
	M(PT_MV_STRING8, MVszA, lppszA) \
	M(PT_MV_BINARY, MVbin, lpbin) \
	M(PT_MV_UNICODE, MVszW, lppszW) \
	M(PT_MV_CLSID, MVguid, lpguid) \
	M(PT_MV_I8, MVli, lpli)

struct mv_array {
	ULONG n;
	void *elems;
	size_t size;	/* of one element */
};

static bool
mv_get(const union _PV *v, ULONG type, struct mv_array *a)
{
#define MV_GET(pt, arr, ptr) \
	case pt: \
		*a = (struct mv_array){ v->arr.cValues, v->arr.ptr, sizeof(*v->arr.ptr) }; \
		return true;
	switch (type) {
	MV_TYPES(MV_GET)
	default:
		return false;
	}
#undef MV_GET
}

static void
mv_set(union _PV *v, ULONG type, const struct mv_array *a)
{
#define MV_SET(pt, arr, ptr) \
	case pt: \
		v->arr.cValues = a->n; \
		v->arr.ptr = a->elems; \
		return;
	switch (type) {
	MV_TYPES(MV_SET)
	default:
		assert(!"mv_set: not a multi-valued type");
	}
#undef MV_SET
}

static size_t
mv_elem_size(ULONG type)
{
	struct mv_array a;
	union _PV v = { 0 };

	return mv_get(&v, type, &a) ? a.size : 0;
}

static void *
mv_elem(const struct mv_array *a, ULONG i)
{
	return (char *)a->elems + (size_t)i * a->size;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */

/* The single-valued types that have a JSON form (PT_MV_ of each, where
 * MAPI has one, too). */
static bool
has_json_form(ULONG type)
{
	switch (type) {
	case PT_NULL: case PT_I2: case PT_LONG: case PT_DOUBLE: case PT_ERROR:
	case PT_BOOLEAN: case PT_I8: case PT_STRING8: case PT_UNICODE:
	case PT_SYSTIME: case PT_BINARY:
		return true;
	default:
		return false;
	}
}

static json_object *
binary_to_json(const SBinary *bin)
{
	char *buf;
	json_object *j;

	if (bin->cb > INT_MAX / 2 || (bin->cb > 0 && bin->lpb == NULL))
		return NULL;
	if ((buf = malloc((size_t)bin->cb * 2 + 1)) == NULL)
		return NULL;
	hex_encode(bin->lpb, bin->cb, buf);
	j = json_object_new_string_len(buf, (int)bin->cb * 2);
	free(buf);
	return j;
}

/* {"error":"MAPI_E_NOT_FOUND"}, or the number for a code without a name. */
static json_object *
error_to_json(SCODE err)
{
	const char *name = hr_name(err);
	json_object *o = json_object_new_object();

	if (o != NULL)
		json_object_object_add(o, "error", name != NULL ?
				       json_object_new_string(name) : json_object_new_int(err));
	return o;
}

static json_object *
scalar_to_json(ULONG type, const union _PV *v)
{
	switch (type) {
	case PT_NULL:
		return NULL;	/* json-c's null */
	case PT_I2:
		return json_object_new_int(v->i);
	case PT_LONG:
		/* Signed, as MAPI's LONG; input takes the ULONG spelling too. */
		return json_object_new_int(v->l);
	case PT_I8:
		return json_object_new_int64(v->li.QuadPart);
	case PT_DOUBLE:
		return isfinite(v->dbl) ? json_object_new_double(v->dbl) : NULL;
	case PT_BOOLEAN:
		return json_object_new_boolean(v->b != 0);
	case PT_STRING8:
		return v->lpszA != NULL ? json_string_sanitized(v->lpszA) : NULL;
	case PT_UNICODE:
		return v->lpszW != NULL ? json_string_from_wide(v->lpszW) : NULL;
	case PT_BINARY:
		return binary_to_json(&v->bin);
	case PT_SYSTIME:
		return systime_to_json(&v->ft);
	case PT_ERROR:
		return error_to_json(v->err);
	default:
		return NULL;
	}
}

static json_object *
mv_to_json(ULONG type, const union _PV *v)
{
	ULONG base = type & ~(ULONG)MV_FLAG;
	struct mv_array a;
	json_object *arr, *e;
	union _PV ev;

	if (!has_json_form(base) || !mv_get(v, type, &a) || a.n > INT_MAX ||
	    (a.n > 0 && a.elems == NULL))
		return NULL;
	if ((arr = json_object_new_array_ext((int)a.n)) == NULL)
		return NULL;
	for (ULONG i = 0; i < a.n; i++) {
		memcpy(&ev, mv_elem(&a, i), a.size);
		if ((e = scalar_to_json(base, &ev)) == NULL) {
			json_object_put(arr);
			return NULL;
		}
		json_object_array_add(arr, e);
	}
	return arr;
}

json_object *
propval_to_json(const SPropValue *pv)
{
	ULONG type = PROP_TYPE(pv->ulPropTag);

	if (type & MV_FLAG)
		return mv_to_json(type, &pv->Value);
	return scalar_to_json(type, &pv->Value);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

/* An integer (not a double, not a boolean) in [min, max]. */
static HRESULT
int_from_json(struct pv_ctx *c, json_object *j, int64_t min, int64_t max, int64_t *v)
{
	if (!json_object_is_type(j, json_type_int))
		return pv_wrong_type(c, "an integer", j);
	*v = json_object_get_int64(j);
	/* json-c saturates at INT64_MAX; a larger unsigned value hides there. */
	if (*v < min || *v > max ||
	    (*v == INT64_MAX && json_object_get_uint64(j) > (uint64_t)INT64_MAX))
		return pv_fail(c, MAPI_E_INVALID_PARAMETER,
			       "integer out of range %" PRId64 "..%" PRId64, min, max);
	return S_OK;
}

static HRESULT
double_from_json(struct pv_ctx *c, json_object *j, double *v)
{
	if (!json_object_is_type(j, json_type_double) && !json_object_is_type(j, json_type_int))
		return pv_wrong_type(c, "a number", j);
	*v = json_object_get_double(j);
	/* json-c reads NaN and Infinity, which JSON does not have. */
	if (!isfinite(*v))
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "not a finite number");
	return S_OK;
}

/* A JSON string with no NUL inside, which a C string could not carry. */
static HRESULT
cstring_from_json(struct pv_ctx *c, json_object *j, const char **s, size_t *len)
{
	if (!json_object_is_type(j, json_type_string))
		return pv_wrong_type(c, "a string", j);
	*s = json_object_get_string(j);
	*len = (size_t)json_object_get_string_len(j);
	if (strlen(*s) != *len)
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "string contains a NUL character");
	return S_OK;
}

static HRESULT
string8_from_json(struct pv_ctx *c, json_object *j, LPSTR *out)
{
	const char *s;
	size_t len;
	void *p;
	HRESULT hr;

	if ((hr = cstring_from_json(c, j, &s, &len)) != S_OK)
		return hr;
	if (utf8_count(s) < 0)
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "string is not valid UTF-8");
	if ((hr = pv_dup(c, s, len + 1, &p)) != S_OK)
		return hr;
	*out = p;
	return S_OK;
}

static HRESULT
unicode_from_json(struct pv_ctx *c, json_object *j, LPWSTR *out)
{
	const unsigned char *s;
	const char *str;
	size_t len;
	long n;
	void *p;
	WCHAR *w;
	uint32_t cp;
	HRESULT hr;

	if ((hr = cstring_from_json(c, j, &str, &len)) != S_OK)
		return hr;
	if ((n = utf8_count(str)) < 0)
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "string is not valid UTF-8");
	if ((hr = pv_alloc(c, ((size_t)n + 1) * sizeof(WCHAR), &p)) != S_OK)
		return hr;
	for (s = (const unsigned char *)str, w = p; *s != '\0'; w++) {
		s += utf8_decode(s, &cp);
		*w = (WCHAR)cp;
	}
	*w = L'\0';
	*out = p;
	return S_OK;
}

static HRESULT
binary_from_json(struct pv_ctx *c, json_object *j, SBinary *out)
{
	const char *s;
	size_t len;
	void *p;
	HRESULT hr;

	if ((hr = cstring_from_json(c, j, &s, &len)) != S_OK)
		return hr;
	if (len % 2 != 0)
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "hex string of odd length");
	if ((hr = pv_alloc(c, len / 2, &p)) != S_OK)
		return hr;
	if (!hex_decode(s, len, p))
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "not a hex string");
	out->cb = (ULONG)(len / 2);
	out->lpb = p;
	return S_OK;
}

static HRESULT
systime_from_json(struct pv_ctx *c, json_object *j, FILETIME *ft)
{
	const char *s, *why;
	size_t len;
	HRESULT hr;

	if ((hr = cstring_from_json(c, j, &s, &len)) != S_OK)
		return hr;
	if (!parse_rfc3339(s, ft, &why))
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "%s", why);
	return S_OK;
}

/* {"error":"MAPI_E_NOT_FOUND"} or {"error":-2147221233}. */
static HRESULT
error_from_json(struct pv_ctx *c, json_object *j, SCODE *err)
{
	json_object *e;
	const char *name;
	size_t len;
	int64_t v;
	HRESULT hr;

	if (!json_object_is_type(j, json_type_object))
		return pv_wrong_type(c, "an {\"error\":...} object", j);
	if (!json_object_object_get_ex(j, "error", &e))
		return pv_fail(c, MAPI_E_INVALID_PARAMETER, "object without \"error\"");
	if (json_object_is_type(e, json_type_string)) {
		if ((hr = cstring_from_json(c, e, &name, &len)) != S_OK)
			return hr;
		if (!hr_from_name(name, err))
			return pv_fail(c, MAPI_E_INVALID_PARAMETER, "unknown error name \"%s\"",
				       name);
		return S_OK;
	}
	if ((hr = int_from_json(c, e, INT32_MIN, UINT32_MAX, &v)) != S_OK)
		return hr;
	*err = (SCODE)(ULONG)v;
	return S_OK;
}

static HRESULT
scalar_from_json(struct pv_ctx *c, ULONG type, json_object *j, union _PV *v)
{
	int64_t n;
	HRESULT hr;

	switch (type) {
	case PT_NULL:
		if (j != NULL)
			return pv_wrong_type(c, "null", j);
		v->x = 0;
		return S_OK;
	case PT_I2:
		if ((hr = int_from_json(c, j, INT16_MIN, INT16_MAX, &n)) == S_OK)
			v->i = (short)n;
		return hr;
	case PT_LONG:
		/* LONG, or the bit pattern of a ULONG (flags past bit 30). */
		if ((hr = int_from_json(c, j, INT32_MIN, UINT32_MAX, &n)) == S_OK)
			v->ul = (ULONG)n;
		return hr;
	case PT_I8:
		if ((hr = int_from_json(c, j, INT64_MIN, INT64_MAX, &n)) == S_OK)
			v->li.QuadPart = n;
		return hr;
	case PT_DOUBLE:
		return double_from_json(c, j, &v->dbl);
	case PT_BOOLEAN:
		if (!json_object_is_type(j, json_type_boolean))
			return pv_wrong_type(c, "a boolean", j);
		v->b = json_object_get_boolean(j) ? 1 : 0;
		return S_OK;
	case PT_STRING8:
		return string8_from_json(c, j, &v->lpszA);
	case PT_UNICODE:
		return unicode_from_json(c, j, &v->lpszW);
	case PT_BINARY:
		return binary_from_json(c, j, &v->bin);
	case PT_SYSTIME:
		return systime_from_json(c, j, &v->ft);
	case PT_ERROR:
		return error_from_json(c, j, &v->err);
	default:
		return pv_fail(c, MAPI_E_INVALID_TYPE, "type 0x%04X has no JSON form", type);
	}
}

static HRESULT
mv_from_json(struct pv_ctx *c, ULONG type, json_object *j, union _PV *v)
{
	ULONG base = type & ~(ULONG)MV_FLAG;
	struct mv_array a = { .size = mv_elem_size(type) };
	union _PV ev;
	size_t n;
	HRESULT hr;

	if (a.size == 0 || !has_json_form(base))
		return pv_fail(c, MAPI_E_INVALID_TYPE, "type 0x%04X has no JSON form", type);
	if (!json_object_is_type(j, json_type_array))
		return pv_wrong_type(c, "an array", j);
	n = json_object_array_length(j);
	if (n > UINT32_MAX / a.size)
		return pv_fail(c, MAPI_E_NOT_ENOUGH_MEMORY, "array of %zu values is too long", n);
	if ((hr = pv_alloc(c, n * a.size, &a.elems)) != S_OK)
		return hr;
	a.n = (ULONG)n;
	for (ULONG i = 0; i < a.n; i++) {
		c->index = (long)i;
		if ((hr = scalar_from_json(c, base, json_object_array_get_idx(j, i), &ev)) != S_OK)
			return hr;
		memcpy(mv_elem(&a, i), &ev, a.size);
	}
	c->index = -1;
	mv_set(v, type, &a);
	return S_OK;
}

HRESULT
propval_from_json(ULONG tag, json_object *j, void *parent, SPropValue *out, char *err,
		  size_t errlen)
{
	struct pv_ctx c = { .parent = parent, .tag = tag, .index = -1, .err = err,
			    .errlen = errlen };
	ULONG type = PROP_TYPE(tag);
	SPropValue pv = { .ulPropTag = tag };
	HRESULT hr;

	/* An error stands in for a value of any type, as in GetProps. */
	if (json_object_is_type(j, json_type_object) || type == PT_ERROR) {
		pv.ulPropTag = CHANGE_PROP_TYPE(tag, PT_ERROR);
		hr = error_from_json(&c, j, &pv.Value.err);
	} else if (type & MV_FLAG) {
		hr = mv_from_json(&c, type, j, &pv.Value);
	} else {
		hr = scalar_from_json(&c, type, j, &pv.Value);
	}
	if (FAILED(hr)) {
		pv_abort(&c);
		return hr;
	}
	*out = pv;
	return S_OK;
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */

/*
 * Case folding for ignorecase: the simple lowercase mapping of towlower()
 * in a UTF-8 locale, for ASCII, Latin-1, Latin Extended-A, the basic Greek
 * capitals (U+0391-U+03AB) and the basic Cyrillic ones (U+0400-U+042F);
 * anything else folds to itself.  It is built in rather than asked of
 * towlower() so that a restriction matches the same rows whatever the
 * daemon's locale is.
 */
static uint32_t
fold_latin_ext_a(uint32_t c)
{
	if (c == 0x130)
		return 'i';	/* LATIN CAPITAL I WITH DOT ABOVE */
	if (c == 0x178)
		return 0xFF;	/* Y WITH DIAERESIS: its pair is in Latin-1 */
	if (c == 0x138)
		return c;	/* KRA has no capital */
	/* Capital/small pairs start on odd code points here, even elsewhere. */
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return c & 1 ? c + 1 : c;
	return c & 1 ? c : c + 1;
}

static uint32_t
fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 0x20;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)	/* 0xD7: MULTIPLICATION SIGN */
		return c + 0x20;
	if (c >= 0x100 && c <= 0x17F)
		return fold_latin_ext_a(c);
	if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)	/* 0x3A2: unassigned */
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	return c;
}

/* Walks a PT_STRING8 (UTF-8) or PT_UNICODE value code point by code
 * point; 0 at the end.  An invalid UTF-8 byte b reads as U+DC00+b (as
 * Python's surrogateescape): distinct from every valid character and from
 * other bytes, so the order stays total. */
struct cp_iter {
	const unsigned char *a;
	const WCHAR *w;
};

static struct cp_iter
cp_iter_of(const SPropValue *pv)
{
	if (PROP_TYPE(pv->ulPropTag) == PT_UNICODE)
		return (struct cp_iter){ .w = pv->Value.lpszW != NULL ? pv->Value.lpszW : L"" };
	return (struct cp_iter){ .a = (const unsigned char *)(pv->Value.lpszA != NULL ?
							      pv->Value.lpszA : "") };
}

static uint32_t
cp_next(struct cp_iter *it)
{
	uint32_t c;
	size_t n;

	if (it->w != NULL)
		return *it->w != L'\0' ? (uint32_t)*it->w++ : 0;
	if (*it->a == '\0')
		return 0;
	if ((n = utf8_decode(it->a, &c)) == 0) {
		c = 0xDC00u + *it->a;
		n = 1;
	}
	it->a += n;
	return c;
}

static int
string_cmp(const SPropValue *a, const SPropValue *b, bool ignorecase)
{
	struct cp_iter ia = cp_iter_of(a), ib = cp_iter_of(b);
	uint32_t ca, cb;

	do {
		ca = cp_next(&ia);
		cb = cp_next(&ib);
		if (ignorecase) {
			ca = fold(ca);
			cb = fold(cb);
		}
	} while (ca == cb && ca != 0);
	return (ca > cb) - (ca < cb);
}

static int
binary_cmp(const SBinary *a, const SBinary *b)
{
	ULONG n = a->cb < b->cb ? a->cb : b->cb;
	int r = n > 0 ? memcmp(a->lpb, b->lpb, n) : 0;

	if (r != 0)
		return r < 0 ? -1 : 1;
	return (a->cb > b->cb) - (a->cb < b->cb);
}

#define CMP(x, y) (((x) > (y)) - ((x) < (y)))

/* NaN orders after every number and equal to itself, so sorting is total. */
static int
double_cmp(double x, double y)
{
	if (isnan(x) || isnan(y))
		return !!isnan(x) - !!isnan(y);
	return CMP(x, y);
}

static bool
is_string(ULONG type)
{
	return type == PT_STRING8 || type == PT_UNICODE;
}

bool
propval_compare(const SPropValue *a, const SPropValue *b, bool ignorecase, int *cmp)
{
	ULONG ta = PROP_TYPE(a->ulPropTag), tb = PROP_TYPE(b->ulPropTag);
	const union _PV *x = &a->Value, *y = &b->Value;

	if (is_string(ta) && is_string(tb)) {
		*cmp = string_cmp(a, b, ignorecase);
		return true;
	}
	if (ta != tb)
		return false;
	switch (ta) {
	case PT_I2:
		*cmp = CMP(x->i, y->i);
		return true;
	case PT_LONG:
		*cmp = CMP(x->l, y->l);
		return true;
	case PT_R4:
		*cmp = double_cmp(x->flt, y->flt);
		return true;
	case PT_DOUBLE:
		*cmp = double_cmp(x->dbl, y->dbl);
		return true;
	case PT_APPTIME:
		*cmp = double_cmp(x->at, y->at);
		return true;
	case PT_CURRENCY:
		*cmp = CMP(x->cur.int64, y->cur.int64);
		return true;
	case PT_BOOLEAN:
		*cmp = CMP(x->b != 0, y->b != 0);
		return true;
	case PT_I8:
		*cmp = CMP(x->li.QuadPart, y->li.QuadPart);
		return true;
	case PT_SYSTIME:
		*cmp = CMP(ft_ticks(&x->ft), ft_ticks(&y->ft));
		return true;
	case PT_BINARY:
		*cmp = binary_cmp(&x->bin, &y->bin);
		return true;
	default:
		return false;
	}
}

#undef CMP

const SPropValue *
propval_find(const SPropValue *props, ULONG n, ULONG tag)
{
	for (ULONG i = 0; i < n; i++)
		if (proptag_same(props[i].ulPropTag, tag))
			return &props[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Deep copy                                                           */

static HRESULT
scalar_copy(struct pv_ctx *c, ULONG type, const union _PV *s, union _PV *d)
{
	void *p = NULL;
	HRESULT hr = S_OK;

	*d = *s;
	switch (type) {
	case PT_STRING8:
		if (s->lpszA != NULL && (hr = pv_dup(c, s->lpszA, strlen(s->lpszA) + 1, &p)) == S_OK)
			d->lpszA = p;
		break;
	case PT_UNICODE:
		if (s->lpszW != NULL &&
		    (hr = pv_dup(c, s->lpszW, (wcslen(s->lpszW) + 1) * sizeof(WCHAR), &p)) == S_OK)
			d->lpszW = p;
		break;
	case PT_BINARY:
		if (s->bin.lpb != NULL && (hr = pv_dup(c, s->bin.lpb, s->bin.cb, &p)) == S_OK)
			d->bin.lpb = p;
		break;
	case PT_CLSID:
		if (s->lpguid != NULL && (hr = pv_dup(c, s->lpguid, sizeof(GUID), &p)) == S_OK)
			d->lpguid = p;
		break;
	default:
		/* Everything else lives inside the union. */
		break;
	}
	return hr;
}

static HRESULT
mv_copy(struct pv_ctx *c, ULONG type, const union _PV *s, union _PV *d)
{
	ULONG base = type & ~(ULONG)MV_FLAG;
	struct mv_array src, dst;
	union _PV es, ed;
	HRESULT hr;

	if (!mv_get(s, type, &src))
		return MAPI_E_INVALID_TYPE;
	if (src.n > 0 && src.elems == NULL)
		return MAPI_E_INVALID_PARAMETER;
	dst = src;
	if ((hr = pv_dup(c, src.elems, (size_t)src.n * src.size, &dst.elems)) != S_OK)
		return hr;
	/* Only these elements point elsewhere; a PT_MV_CLSID holds its GUIDs
	 * by value, unlike PT_CLSID. */
	if (base == PT_STRING8 || base == PT_UNICODE || base == PT_BINARY) {
		for (ULONG i = 0; i < src.n; i++) {
			memcpy(&es, mv_elem(&src, i), src.size);
			if ((hr = scalar_copy(c, base, &es, &ed)) != S_OK)
				return hr;
			memcpy(mv_elem(&dst, i), &ed, dst.size);
		}
	}
	mv_set(d, type, &dst);
	return S_OK;
}

HRESULT
propval_copy(SPropValue *dst, const SPropValue *src, void *parent)
{
	struct pv_ctx c = { .parent = parent, .tag = src->ulPropTag, .index = -1 };
	ULONG type = PROP_TYPE(src->ulPropTag);
	SPropValue pv = *src;
	HRESULT hr;

	if (type & MV_FLAG)
		hr = mv_copy(&c, type, &src->Value, &pv.Value);
	else
		hr = scalar_copy(&c, type, &src->Value, &pv.Value);
	if (FAILED(hr)) {
		pv_abort(&c);
		return hr;
	}
	*dst = pv;
	return S_OK;
}
