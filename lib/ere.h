/*
 * ere.h — POSIX extended regular expressions for RELOP_RE: match or no
 * match, nothing else, in bounded time and memory whatever the pattern.
 *
 * A client's pattern is untrusted input evaluated on the daemon's event
 * loop, and glibc's regcomp costs time exponential in the pattern for
 * some of them ("((8?8?8?(8*)?(8*)?(8*)?){5})+" did not compile in 20 s).
 * So patterns are compiled here, Thompson's way, into a program of at
 * most ERE_MAX_PROGRAM instructions, and run as a Pike VM: compiling is
 * linear in the program, matching takes at most (text length + 1) times
 * the program's size steps, and nothing backtracks.
 *
 * The syntax is POSIX ERE as glibc reads it in the C locale, bytes for
 * characters: . [...] (with [:class:], [.c.], [=c=] and ranges by byte
 * value) ^ $ ( ) | * + ? {n} {n,} {n,m} {,m}.  Anchors may appear
 * anywhere; "a**" is (a*)*.  A newline is an ordinary character, as POSIX
 * has it without REG_NEWLINE (glibc lets "$." match "\n").  Not POSIX, so
 * refused: a backslash before
 * anything but punctuation (no \b \w \1), or before < > ` ' (glibc's word
 * and buffer anchors); a repetition with nothing to repeat.  A ")" with no
 * "(" open is itself, as POSIX says.
 */
#ifndef MAPISPOOL_ERE_H
#define MAPISPOOL_ERE_H

#include <stdbool.h>
#include <stddef.h>

#define ERE_MAX_PATTERN 1024	/* bytes */
#define ERE_MAX_DEPTH 32	/* nested groups */
#define ERE_MAX_PROGRAM 2048	/* instructions, repetitions expanded */
#define ERE_DUP_MAX 32767	/* largest bound in {n,m}, as RE_DUP_MAX */

enum ere_status {
	ERE_OK = 0,
	ERE_ESYNTAX,		/* not a pattern: err says why */
	ERE_ETOOBIG,		/* past the limits above */
	ERE_ENOMEM,
};

struct ere;

/* Compile the NUL-terminated pattern.  On failure *out is NULL and err
 * (if errlen > 0) holds a message without the pattern in it. */
enum ere_status ere_compile(const char *pattern, struct ere **out, char *err, size_t errlen);

/* Does the pattern match anywhere in text[0..len)?  The program keeps its
 * own scratch space, so one struct ere is used by one thread at a time. */
bool ere_match(struct ere *re, const char *text, size_t len);

void ere_free(struct ere *re);

#endif
