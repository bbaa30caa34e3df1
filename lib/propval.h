/*
 * propval.h — SPropValue on the wire (JSON) and in comparisons.
 *
 * JSON forms by type: PT_LONG/PT_I2 number, PT_BOOLEAN bool, PT_STRING8
 * and PT_UNICODE string (UTF-8), PT_BINARY lowercase hex string, PT_SYSTIME
 * RFC 3339 string (UTC, "2026-11-25T20:34:13Z", fractions allowed on
 * input), PT_I8 number, PT_DOUBLE number, PT_ERROR {"error":"MAPI_E_..."},
 * PT_NULL null, PT_MV_* arrays of the single-valued form.
 */
#ifndef MAPISPOOL_PROPVAL_H
#define MAPISPOOL_PROPVAL_H

#include <stdbool.h>
#include <time.h>
#include <json-c/json.h>
#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

/* The JSON value of pv (a new reference), or NULL if its type cannot be
 * written (PT_OBJECT, PT_CLSID, ...). */
json_object *propval_to_json(const SPropValue *pv);

/* Decode j as a value of the type of tag into *out (out->ulPropTag = tag).
 * Strings and binaries are allocated with MAPIAllocateMore on parent (or
 * MAPIAllocateBuffer when parent is NULL: the caller then owns them one by
 * one).  A {"error":...} object gives a PT_ERROR value.  Returns S_OK,
 * MAPI_E_INVALID_PARAMETER (wrong JSON type or malformed value: err says
 * which), MAPI_E_INVALID_TYPE (a type with no JSON form) or
 * MAPI_E_NOT_ENOUGH_MEMORY. */
HRESULT propval_from_json(ULONG tag, json_object *j, void *parent, SPropValue *out,
			  char *err, size_t errlen);

/* Order a against b, both of one type (PT_STRING8 and PT_UNICODE mix).
 * Numbers by value, booleans false < true, strings by Unicode code point
 * (or case-folded code point with ignorecase), binaries bytewise then by
 * length, times by value.  Returns false if the types cannot be compared. */
bool propval_compare(const SPropValue *a, const SPropValue *b, bool ignorecase, int *cmp);

/* The first value in props whose tag is the same property as tag
 * (proptag_same), or NULL. */
const SPropValue *propval_find(const SPropValue *props, ULONG n, ULONG tag);

/* Deep copy of src into *dst, allocating with MAPIAllocateMore on parent. */
HRESULT propval_copy(SPropValue *dst, const SPropValue *src, void *parent);

/* FILETIME <-> time_t/nanoseconds. */
void propval_filetime_from_timespec(FILETIME *ft, const struct timespec *ts);
void propval_filetime_to_timespec(const FILETIME *ft, struct timespec *ts);

/* Lowercase hex of n bytes into out (2n+1 bytes); decode: false on odd
 * length or a non-hex digit. */
void hex_encode(const BYTE *in, size_t n, char *out);
bool hex_decode(const char *in, size_t len, BYTE *out);

#endif
