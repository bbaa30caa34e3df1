/*
 * fuzz_spool_env.c — the envelope reader, which reads files from the spool
 * at start: any bytes through spool_env_parse.  The format is canonical by
 * design (spool.h): whatever parse accepts, format writes back byte for
 * byte, and that parses again.
 */
#include <config.h>

#include <string.h>

#include "spool.h"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "", *text, *text2;
	struct qmsg *m, *m2;
	size_t len, len2;

	if ((m = spool_env_parse((const char *)data, size, err, sizeof err)) == NULL) {
		FUZZ_CHECK(err[0] != '\0', "refused without a message");
		return 0;
	}
	text = spool_env_format(m, &len);
	FUZZ_CHECK(text != NULL, "an accepted envelope does not format");
	FUZZ_CHECK(len == size && memcmp(text, data, size) == 0,
		   "not canonical: format(parse(t)) != t (%zu vs %zu bytes)", len, size);
	m2 = spool_env_parse(text, len, err, sizeof err);
	FUZZ_CHECK(m2 != NULL, "format's output does not parse: %s", err);
	text2 = spool_env_format(m2, &len2);
	FUZZ_CHECK(text2 != NULL && len2 == len && memcmp(text, text2, len) == 0,
		   "second round trip differs");
	free(text2);
	free(text);
	qmsg_free(m2);
	qmsg_free(m);
	return 0;
}
