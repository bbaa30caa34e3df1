/*
 * fuzz.h — what the fuzz targets share: libFuzzer's entry point and a
 * check that aborts (so that libFuzzer and the replay runner both see a
 * crash) with the reason on stderr.
 */
#ifndef MAPISPOOL_FUZZ_H
#define MAPISPOOL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Called once per input, by libFuzzer or by replay.c.  Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test; on failure, abort with where. */
#define FUZZ_CHECK(cond, ...)                                                   \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,  \
				__LINE__, #cond);                               \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			abort();                                                \
		}                                                               \
	} while (0)

#endif
