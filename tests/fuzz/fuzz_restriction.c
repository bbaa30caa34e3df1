/*
 * fuzz_restriction.c — a restriction as a client sends it: bytes parsed as
 * a request line would be (proto_parse_line), then restriction_from_json,
 * restriction_validate, restriction_match against a fixed row, and the
 * round trip: encode(decode(x)) decodes again to an equal tree that
 * encodes to the same text, validates and matches the same.
 */
#include <config.h>

#include <json-c/json.h>

#include "protocol.h"

#include "fuzz.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_object *j = proto_parse_line((const char *)data, size, err, sizeof err);

	if (j == NULL)
		return 0;
	fuzz_restriction_roundtrip(j);
	json_object_put(j);
	return 0;
}
