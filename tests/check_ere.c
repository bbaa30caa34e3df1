/*
 * check_ere.c — lib/ere.c: the syntax it takes and refuses, its limits,
 * matching, and agreement with glibc's regcomp/regexec (REG_EXTENDED, C
 * locale) on every pattern of a fixed pseudo-random sample that both take.
 */
#include <config.h>

#include <check.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ere.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool matches(const char *pattern, const char *text)
{
	char err[160];
	struct ere *re;
	bool m;

	ck_assert_msg(ere_compile(pattern, &re, err, sizeof err) == ERE_OK, "%s: %s", pattern,
		      err);
	m = ere_match(re, text, strlen(text));
	ere_free(re);
	return m;
}

static const struct {
	const char *pattern, *text;
	bool expected;
} match_cases[] = {
	{ "", "", true },
	{ "", "abc", true },
	{ "abc", "xxabcxx", true },
	{ "abd", "xxabcxx", false },
	{ "^abc$", "abc", true },
	{ "^abc$", "abcd", false },
	{ "^$", "", true },
	{ "^$", "\n", false },
	{ "a$", "a\nb", false },	/* no REG_NEWLINE: $ is the end only */
	{ "a.b", "a\nb", true },
	{ "[^x]", "\n", true },
	/* glibc lets an anchor in mid-pattern hold next to a newline here;
	 * POSIX (no REG_NEWLINE) does not */
	{ "$.", "\n", false },
	{ ".^a", "\na", false },
	{ "(^a){2}", "aa", false },	/* glibc: true, as if it were (^a)a */
	{ "(^a|b){2}", "ab", true },
	{ "(a$|b){2}", "ba", true },
	{ "(a$|b){2}", "ab", false },
	{ "a^b", "a^b", false },	/* an anchor in the middle never holds */
	{ "(^a|b)c", "xbc", true },
	{ "(^a|b)c", "xac", false },
	{ "x(a|$)", "x", true },
	{ "(ab)+c", "ababc", true },
	{ "(ab)+c", "ac", false },
	{ "^a)b$", "a)b", true },	/* a ")" with no "(" open is itself */
	{ "^(a))+$", "a)))", true },
	{ "a{2,3}", "aa", true },
	{ "^a{2,3}$", "aaaa", false },
	{ "^a{,2}$", "aa", true },
	{ "^a{,2}$", "aaa", false },
	{ "^a{2,}$", "aaaaaaa", true },
	{ "^a{0}b$", "b", true },
	{ "^(a|b)*c(d|)$", "ababc", true },
	{ "^[]a-]+$", "]-a", true },
	{ "^[a\\]+$", "a\\", true },	/* a backslash is itself in brackets */
	{ "[[:digit:]][[:xdigit:]]", "9F", true },
	{ "[[:digit:]][[:xdigit:]]", "9G", false },
	{ "^[[.-.]a]+$", "-a-", true },
	{ "\\.\\*\\[\\]\\(\\)\\{\\}\\|\\+\\?\\^\\$\\\\", ".*[](){}|+?^$\\", true },
	{ "\xc3\x89mile", "\xc3\x89mile Zola", true },
	{ "^.{6}$", "\xc3\x89mile", true },	/* bytes: . is one byte */
	{ "[\x80-\xff]", "caf\xc3\xa9", true },
	{ "[\x80-\xff]", "cafe", false },
	{ "a**", "b", true },
	{ "^(a*)*(b*)*$", "aabba", false },
	{ "^((M?A?P?(I*)?( *)?(x*)?){5})+Spooler$", "MAPI Spooler", true },
};

START_TEST(test_match)
{
	ck_assert_msg(matches(match_cases[_i].pattern, match_cases[_i].text) ==
			      match_cases[_i].expected,
		      "%s on %s", match_cases[_i].pattern, match_cases[_i].text);
}
END_TEST

static const struct {
	const char *pattern;
	enum ere_status status;
	const char *message;
} error_cases[] = {
	{ "(ab", ERE_ESYNTAX, "unmatched (" },
	{ "[ab", ERE_ESYNTAX, "unmatched [" },
	{ "*a", ERE_ESYNTAX, "nothing before it to repeat" },
	{ "a|+b", ERE_ESYNTAX, "nothing before it to repeat" },
	{ "({2})", ERE_ESYNTAX, "nothing before it to repeat" },
	{ "^*", ERE_ESYNTAX, "anchor cannot be repeated" },
	{ "a{x}", ERE_ESYNTAX, "must be an interval" },
	{ "a{1", ERE_ESYNTAX, "must be an interval" },
	{ "a{,}", ERE_ESYNTAX, "must be an interval" },
	{ "a{3,2}", ERE_ESYNTAX, "runs backwards" },
	{ "a{32768}", ERE_ETOOBIG, "above 32767" },
	{ "[z-a]", ERE_ESYNTAX, "down to" },
	{ "[[:word:]]", ERE_ESYNTAX, "unknown character class [:word:]" },
	{ "[[:alpha:]-z]", ERE_ESYNTAX, "cannot start at a class" },
	{ "[a-[:alpha:]]", ERE_ESYNTAX, "cannot end at a class" },
	{ "[[.ab.]]", ERE_ESYNTAX, "one character" },
	{ "\\bword", ERE_ESYNTAX, "backslash escapes only punctuation" },
	{ "(a)\\1", ERE_ESYNTAX, "backslash escapes only punctuation" },
	{ "\\<a", ERE_ESYNTAX, "backslash escapes only punctuation" },
	{ "a\\", ERE_ESYNTAX, "ends in a backslash" },
	{ "(a{99}){99}", ERE_ETOOBIG, "past 2048 instructions" },
};

START_TEST(test_errors)
{
	char err[160];
	struct ere *re = (struct ere *)&re;	/* must come back NULL */

	ck_assert_int_eq(ere_compile(error_cases[_i].pattern, &re, err, sizeof err),
			 error_cases[_i].status);
	ck_assert_ptr_null(re);
	ck_assert_msg(strstr(err, error_cases[_i].message) != NULL, "%s: %s",
		      error_cases[_i].pattern, err);
}
END_TEST

START_TEST(test_limits)
{
	char pattern[ERE_MAX_PATTERN + 2], err[160];
	struct ere *re;
	int i;

	memset(pattern, 'a', ERE_MAX_PATTERN);
	pattern[ERE_MAX_PATTERN] = '\0';
	ck_assert_int_eq(ere_compile(pattern, &re, err, sizeof err), ERE_OK);
	ck_assert(ere_match(re, pattern, ERE_MAX_PATTERN));
	ck_assert(!ere_match(re, pattern, ERE_MAX_PATTERN - 1));
	ere_free(re);
	strcat(pattern, "a");
	ck_assert_int_eq(ere_compile(pattern, &re, err, sizeof err), ERE_ETOOBIG);
	ck_assert_str_eq(err, "longer than 1024 bytes");

	/* ERE_MAX_DEPTH groups, then one more */
	for (i = 0; i < ERE_MAX_DEPTH; i++)
		pattern[i] = '(', pattern[ERE_MAX_DEPTH + 1 + i] = ')';
	pattern[ERE_MAX_DEPTH] = 'a';
	pattern[2 * ERE_MAX_DEPTH + 1] = '\0';
	ck_assert_int_eq(ere_compile(pattern, &re, err, sizeof err), ERE_OK);
	ere_free(re);
	memmove(pattern + 1, pattern, strlen(pattern) + 1);
	strcat(pattern, ")");
	ck_assert_int_eq(ere_compile(pattern, &re, err, sizeof err), ERE_ETOOBIG);
	ck_assert_str_eq(err, "groups nested deeper than 32");

	/* the program: a{2047} and MATCH fit, a{2048} does not */
	ck_assert_int_eq(ere_compile("a{2047}", &re, err, sizeof err), ERE_OK);
	ere_free(re);
	ck_assert_int_eq(ere_compile("a{2048}", &re, err, sizeof err), ERE_ETOOBIG);
	/* empty copies cost nothing, whatever their number, nested too
	 * (and are not visited one by one: 3.5 10^13 of them here) */
	ck_assert_int_eq(ere_compile("(){32767}x", &re, err, sizeof err), ERE_OK);
	ck_assert(ere_match(re, "x", 1));
	ere_free(re);
	ck_assert_int_eq(ere_compile("(((a{0}){32767}){32767}){32767}x", &re, err, sizeof err),
			 ERE_OK);
	ck_assert(ere_match(re, "x", 1));
	ere_free(re);
}
END_TEST

/* One program is matched many times: the generations that mark a step's
 * threads must not leak from one text to the next. */
START_TEST(test_reuse)
{
	char err[160];
	struct ere *re;
	int i;

	ck_assert_int_eq(ere_compile("^(a|b)*c$", &re, err, sizeof err), ERE_OK);
	for (i = 0; i < 1000; i++) {
		ck_assert(ere_match(re, "ababc", 5));
		ck_assert(!ere_match(re, "ababd", 5));
		ck_assert(ere_match(re, "c", 1));
		ck_assert(!ere_match(re, "", 0));
	}
	ere_free(re);
}
END_TEST

/* ---- against glibc ----
 * Patterns of up to MAX_TOKENS tokens drawn with a fixed seed: short
 * enough that glibc compiles each at once.  Where ere takes a pattern,
 * glibc must take it too and agree on every text; ere may refuse what
 * glibc takes ("^{2}", where glibc reads "{2}" as itself), never the other
 * way round.  Anchors come only first or last, and no text has a newline:
 * inside a pattern glibc lets them hold where POSIX says they do not
 * ("(^a){2}" matches "aa" while "(^a)(^a)" does not, and "$." matches
 * "\n"), so the cases above test those. */
#define SAMPLES 40000
#define MAX_TOKENS 7

static const char *const tokens[] = {
	"a", "b", "c", "8", "-", ".", " ", "(", "(", ")", ")", "|", "|",
	"*", "+", "?", "{2}", "{0,1}", "{1,}", "{,2}", "{0}", "[ab]", "[^a]",
	"[a-c]", "[]a]", "[[:alpha:]]", "[[:space:]8]", "\\.", "\\(", "\\*", "[.]",
	"()", "(a|)", "(b*)",
};

static const char *const texts[] = {
	"", "a", "b", "ab", "ba", "abc", "aab", "abab", "cba", "8a8", "a-b", "a.b", " a",
	"a b c", "(a)", "a*", "bbbbbbbb", "aaaaab", "caab8",
};

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
	/* xorshift32: the same sample on every machine */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

START_TEST(test_against_glibc)
{
	char pattern[256], err[160];
	int taken = 0, stricter = 0, i, k, n, rc;
	struct ere *re;
	regex_t g;
	bool mine, theirs;
	size_t t;

	for (i = 0; i < SAMPLES; i++) {
		strcpy(pattern, rng() % 3 == 0 ? "^" : "");
		n = 1 + (int)(rng() % MAX_TOKENS);
		for (k = 0; k < n; k++)
			strcat(pattern, tokens[rng() % NELEMS(tokens)]);
		if (rng() % 3 == 0)
			strcat(pattern, "$");
		rc = regcomp(&g, pattern, REG_EXTENDED | REG_NOSUB);
		if (ere_compile(pattern, &re, err, sizeof err) != ERE_OK) {
			stricter += rc == 0;
			if (rc == 0)
				regfree(&g);
			continue;
		}
		ck_assert_msg(rc == 0, "ere takes \"%s\", glibc does not", pattern);
		taken++;
		for (t = 0; t < NELEMS(texts); t++) {
			mine = ere_match(re, texts[t], strlen(texts[t]));
			theirs = regexec(&g, texts[t], 0, NULL, 0) == 0;
			ck_assert_msg(mine == theirs, "\"%s\" on \"%s\": ere %d, glibc %d", pattern,
				      texts[t], mine, theirs);
		}
		ere_free(re);
		regfree(&g);
	}
	/* the sample must exercise the matcher, not just the parser */
	ck_assert_msg(taken > SAMPLES / 3, "only %d of %d patterns compiled", taken, SAMPLES);
	ck_assert_msg(stricter < SAMPLES / 10, "%d patterns glibc takes were refused", stricter);
}
END_TEST

static Suite *ere_suite(void)
{
	Suite *s = suite_create("ere");
	TCase *tc = tcase_create("ere");

	tcase_add_loop_test(tc, test_match, 0, (int)NELEMS(match_cases));
	tcase_add_loop_test(tc, test_errors, 0, (int)NELEMS(error_cases));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_against_glibc);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ere_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
