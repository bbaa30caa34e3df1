/*
 * restriction.h — SRestriction on the wire and its evaluation against a row.
 *
 * JSON forms (SPEC §5):
 *   {"rt":"property","relop":"eq","tag":T,"value":V}
 *       relop: lt le gt ge eq ne re (re: POSIX extended regex, strings only,
 *       compiled by ere.c within its limits)
 *   {"rt":"bitmask","bmr":"eqz"|"nez","tag":T,"mask":N}
 *   {"rt":"and"|"or","res":[R,...]}      {"rt":"not","res":R}
 *   {"rt":"exist","tag":T}
 *   {"rt":"content","tag":T,"value":V,"fuzzy":"fullstring"|"substring"|"prefix",
 *    "ignorecase":bool}
 *   {"rt":"compareprops","relop":...,"tag1":T,"tag2":T}
 *   {"rt":"size","relop":...,"tag":T,"size":N}
 * Anything else is MAPI_E_TOO_COMPLEX.  Nesting is limited to
 * RESTRICTION_MAX_DEPTH levels and RESTRICTION_MAX_NODES nodes.
 */
#ifndef MAPISPOOL_RESTRICTION_H
#define MAPISPOOL_RESTRICTION_H

#include <stdbool.h>
#include <json-c/json.h>
#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

#define RESTRICTION_MAX_DEPTH 32
#define RESTRICTION_MAX_NODES 1024

/* Decode j into *out, allocated with MAPIAllocateBuffer (everything else
 * chained to it with MAPIAllocateMore: one MAPIFreeBuffer frees all).
 * Errors: MAPI_E_INVALID_PARAMETER (malformed: err says where),
 * MAPI_E_TOO_COMPLEX (well-formed but unsupported), MAPI_E_NOT_ENOUGH_MEMORY. */
HRESULT restriction_from_json(json_object *j, LPSRestriction *out, char *err, size_t errlen);

/* Encode r; *out is a new reference.  Errors as above. */
HRESULT restriction_to_json(const SRestriction *r, json_object **out, char *err,
			    size_t errlen);

/* Check that r can be evaluated (types agree, relops known, limits kept)
 * without evaluating it: S_OK or MAPI_E_TOO_COMPLEX / MAPI_E_INVALID_PARAMETER. */
HRESULT restriction_validate(const SRestriction *r, char *err, size_t errlen);

/* Does the row props[0..n) satisfy r?  r must have passed validation.
 * A property the row lacks makes property, bitmask, content, size and
 * compareprops restrictions false. */
bool restriction_match(const SRestriction *r, const SPropValue *props, ULONG n);

#endif
