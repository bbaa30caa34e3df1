/*
 * fuzz_common.h — helpers of the protocol and restriction targets: a fixed
 * row to evaluate restrictions against, and structural equality of values
 * and restrictions (for the decode/encode round trips).
 */
#ifndef MAPISPOOL_FUZZ_COMMON_H
#define MAPISPOOL_FUZZ_COMMON_H

#include <stdbool.h>
#include <mapispool/mapidefs.h>

/* A status row with one value of each type that has a JSON form, named
 * and unnamed tags, single- and multi-valued, and a PT_ERROR stand-in. */
const SPropValue *fuzz_sample_row(ULONG *n);

/* Same tag and the same value (by the JSON text and, where the type has
 * an order, by propval_compare). */
bool fuzz_propval_equal(const SPropValue *a, const SPropValue *b);

/* Same tree, node by node. */
bool fuzz_restriction_equal(const SRestriction *a, const SRestriction *b);

/* One restriction: decode j, validate, match against the sample row, and
 * check that what it encodes to decodes again to an equal tree that
 * encodes to the same text and behaves the same. */
void fuzz_restriction_roundtrip(json_object *j);

#endif
