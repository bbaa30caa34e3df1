/*
 * fuzz_ere.c — lib/ere.c on its own: a pattern, a NUL byte, a text.
 *
 * Whatever the pattern, compiling and matching end (libFuzzer's timeout)
 * within bounded memory.  A pattern that compiles means the same wrapped
 * as "(p)", "p|p" and "(p){1}" (each may only be refused as too big).
 * And a small one, with at most two repetitions, no number of two digits
 * and no anchor outside "[^", must agree with glibc's regcomp/regexec:
 * glibc is exponential in nested repetitions, slow on big bounds, and lets
 * anchors inside a pattern hold where POSIX says they do not (ere.h), so
 * only those are compared.
 */
#include <config.h>

#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ere.h"

#include "fuzz.h"

#define MAX_TEXT 256

static bool compile_match(const char *pattern, const char *text, size_t len, bool *match)
{
	char err[160];
	struct ere *re;
	enum ere_status st = ere_compile(pattern, &re, err, sizeof err);

	FUZZ_CHECK((st == ERE_OK) == (re != NULL), "status %d, program %p", (int)st, (void *)re);
	FUZZ_CHECK(st == ERE_OK || err[0] != '\0', "no message for status %d", (int)st);
	if (st != ERE_OK)
		return false;
	*match = ere_match(re, text, len);
	/* the same program gives the same answer again */
	FUZZ_CHECK(ere_match(re, text, len) == *match, "second match differs");
	ere_free(re);
	return true;
}

/* Does p have a ")" with no "(" open (itself, as POSIX says, but one
 * that wrapping p in a group would make close it)? */
static bool stray_paren(const char *p)
{
	int depth = 0;
	char d;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
		} else if (*p == '[') {
			p += p[1] == '^' ? 2 : 1;
			if (*p == ']')
				p++;
			for (; *p != '\0' && *p != ']'; p++)
				if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					for (d = p[1], p += 2; *p && !(p[0] == d && p[1] == ']'); p++)
						continue;
					if (*p == '\0')
						return false;	/* not a pattern */
					p++;
				}
			if (*p == '\0')
				return false;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && depth-- == 0) {
			return true;
		}
	}
	return false;
}

/* glibc can be trusted on this pattern and text (see the top). */
static bool glibc_comparable(const char *p, const char *text, size_t len)
{
	size_t i, repeats = 0;

	if (strlen(p) > 12 || memchr(text, '\n', len) != NULL)
		return false;
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] == '$' || (p[i] == '^' && (i == 0 || p[i - 1] != '[')))
			return false;
		/* no bound of two digits: "()*{933}" takes glibc seconds */
		if (p[i] >= '0' && p[i] <= '9' && p[i + 1] >= '0' && p[i + 1] <= '9')
			return false;
		repeats += strchr("*+?{", p[i]) != NULL;
	}
	return repeats <= 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t plen = nul != NULL ? (size_t)(nul - data) : size;
	size_t tlen = nul != NULL ? size - plen - 1 : 0;
	char *pattern, *wrapped, text[MAX_TEXT + 1];
	bool match, again;
	regex_t g;

	if (plen > ERE_MAX_PATTERN + 8)
		return 0;
	if (tlen > MAX_TEXT)
		tlen = MAX_TEXT;
	memcpy(text, nul != NULL ? nul + 1 : data, tlen);
	text[tlen] = '\0';
	tlen = strlen(text);	/* the daemon matches C strings */
	pattern = malloc(plen + 1);
	wrapped = malloc(2 * plen + 8);
	FUZZ_CHECK(pattern != NULL && wrapped != NULL, "out of memory");
	memcpy(pattern, data, plen);
	pattern[plen] = '\0';

	if (compile_match(pattern, text, tlen, &match)) {
		for (int f = 0; f < 3; f++) {
			char err[160];
			struct ere *re;

			if (f != 1 && stray_paren(pattern))
				continue;
			if (f == 0)
				snprintf(wrapped, 2 * plen + 8, "(%s)", pattern);
			else if (f == 1)
				snprintf(wrapped, 2 * plen + 8, "%s|%s", pattern, pattern);
			else
				snprintf(wrapped, 2 * plen + 8, "(%s){1}", pattern);
			if (ere_compile(wrapped, &re, err, sizeof err) != ERE_OK) {
				FUZZ_CHECK(strstr(err, "deeper") || strstr(err, "longer") ||
						   strstr(err, "past"),
					   "%s refused: %s", wrapped, err);
				continue;
			}
			again = ere_match(re, text, tlen);
			ere_free(re);
			FUZZ_CHECK(again == match, "%s gives %d, %s gives %d", pattern, match,
				   wrapped, again);
		}
		if (glibc_comparable(pattern, text, tlen)) {
			FUZZ_CHECK(regcomp(&g, pattern, REG_EXTENDED | REG_NOSUB) == 0,
				   "ere takes %s, glibc does not", pattern);
			again = regexec(&g, text, 0, NULL, 0) == 0;
			regfree(&g);
			FUZZ_CHECK(again == match, "%s on %s: ere %d, glibc %d", pattern, text, match,
				   again);
		}
	}
	free(pattern);
	free(wrapped);
	return 0;
}
