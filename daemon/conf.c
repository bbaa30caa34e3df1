/*
 * conf.c — read the profile (SPEC §8) from INI text with libinih and check
 * every key against what its section, and for a transport its type, takes.
 *
 * libinih is fed through our own line reader rather than ini_parse_string:
 * its handler is not told line numbers (INI_HANDLER_LINENO is 0), it never
 * reports a section without keys, and it truncates section names to 49
 * bytes.  The reader counts lines, checks their length and bytes, and sees
 * every "[section]" header itself; the handler only collects "key = value"
 * pairs.  A section's pairs are checked when the section ends, in line order,
 * because a transport's type may come after the keys that depend on it.
 */
#include <config.h>

#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#ifndef SPOOLDIR
#define SPOOLDIR "/var/spool/mapispool"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define SYSTEM_CONFIG SYSCONFDIR "/mapispool/mapispool.conf"
#define USER_CONFIG "mapispool/mapispool.conf"
#define DEFAULT_STORE "/var/lib/mapispool/Maildir"
#define DEFAULT_PROFILE "default"
#define EMBEDDED_NAME "embedded profile"

#define KIB ((uint64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

#define SECOND ((msec_t)1000)
/* Intervals go down to fractions of a second, so tests never wait long. */
#define MIN_INTERVAL ((msec_t)10)
#define MINUTE (60 * SECOND)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
/* Longer than any sane retry, lifetime or poll interval; it also keeps every
 * duration far from overflowing when callers add it to a clock. */
#define DURATION_MAX (365 * DAY)

/* Transport, profile and group names; address types (no "."); domains. */
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define ADDRTYPE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define DOMAIN_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
#define ADDRTYPE_MAX 32
#define DOMAIN_MAX 253
#define LIST_SEP ", \t"

/* The transport types that take a key, as a mask of 1 << type. */
#define T(x) (1u << TRANSPORT_##x)
#define T_ANY (T(MAILDIR) | T(SMTP) | T(POP3) | T(IMAP) | T(PIPE))
#define T_UPLOAD (T(MAILDIR) | T(SMTP) | T(PIPE))
#define T_DOWNLOAD (T(MAILDIR) | T(POP3) | T(IMAP))
#define T_REMOTE (T(SMTP) | T(POP3) | T(IMAP))
#define T_SPOOLER 0u

struct parser;
struct key;

/* Parse value into the field of obj that key names; false after fail(). */
typedef bool setter(struct parser *, const struct key *, void *obj, const char *value);

struct key {
	const char *name;
	unsigned types;		/* T_SPOOLER, or the transport types taking it */
	setter *set;
	size_t off;		/* the field in struct spooler_config or transport_config */
	int64_t min, max;	/* numbers, sizes and durations */
	bool zero_off;		/* 0 is allowed below min: "off" */
};

/* A pair as read, kept until its section ends. */
struct entry {
	const struct key *key;	/* NULL: no section takes this name */
	char *name, *value;
	unsigned line;
};

enum section_kind {
	SECTION_NONE,		/* before the first header */
	SECTION_SPOOLER,
	SECTION_TRANSPORT,
};

static setter set_type, set_string, set_name, set_path, set_duration, set_size, set_size_t,
	set_uint, set_mode, set_bool, set_send, set_starttls, set_url, set_password,
	set_command, set_addrtypes, set_domains, set_users, set_groups;

#define S(field) offsetof(struct spooler_config, field)
#define X(field) offsetof(struct transport_config, field)

static const struct key keys[] = {
	{ "profile", T_SPOOLER, set_name, S(profile_name), 0, 0, false },
	{ "spool_dir", T_SPOOLER, set_path, S(spool_dir), 0, 0, false },
	{ "store", T_SPOOLER, set_path, S(store), 0, 0, false },
	{ "socket_mode", T_SPOOLER, set_mode, S(socket_mode), 0, 0777, false },
	{ "socket_group", T_SPOOLER, set_name, S(socket_group), 0, 0, false },
	{ "max_message_size", T_SPOOLER, set_size, S(max_message_size), KIB, GIB, false },
	{ "retry_min", T_SPOOLER, set_duration, S(retry_min), MIN_INTERVAL, DURATION_MAX, false },
	{ "retry_max", T_SPOOLER, set_duration, S(retry_max), MIN_INTERVAL, DURATION_MAX, false },
	{ "max_lifetime", T_SPOOLER, set_duration, S(max_lifetime), MIN_INTERVAL, DURATION_MAX, false },
	{ "notify_delay", T_SPOOLER, set_duration, S(notify_delay), 0, DURATION_MAX, false },
	{ "max_line_size", T_SPOOLER, set_size_t, S(max_line_size), 64 * KIB, 2 * GIB, false },
	{ "max_clients", T_SPOOLER, set_uint, S(max_clients), 1, 65535, false },
	{ "max_clients_per_uid", T_SPOOLER, set_uint, S(max_clients_per_uid), 1, 65535, false },
	{ "max_pending", T_SPOOLER, set_uint, S(max_pending), 1, 65535, false },
	{ "idle_timeout", T_SPOOLER, set_duration, S(idle_timeout), MIN_INTERVAL, DURATION_MAX, true },
	{ "request_timeout", T_SPOOLER, set_duration, S(request_timeout), MIN_INTERVAL, DURATION_MAX,
	  true },
	{ "max_output_size", T_SPOOLER, set_size_t, S(max_output_size), 64 * KIB, 2 * GIB, false },
	{ "allow_users", T_SPOOLER, set_users, S(allow_users), 0, 0, false },
	{ "allow_groups", T_SPOOLER, set_groups, S(allow_groups), 0, 0, false },
	{ "allow_read_users", T_SPOOLER, set_users, S(allow_read_users), 0, 0, false },
	{ "allow_read_groups", T_SPOOLER, set_groups, S(allow_read_groups), 0, 0, false },

	{ "type", T_ANY, set_type, X(type), 0, 0, false },
	{ "display_name", T_ANY, set_string, X(display_name), 0, 0, false },
	{ "address_types", T_ANY, set_addrtypes, 0, 0, 0, false },
	{ "domains", T_ANY, set_domains, 0, 0, 0, false },
	{ "prefer_last", T_ANY, set_bool, X(prefer_last), 0, 0, false },
	{ "timeout", T_ANY, set_duration, X(timeout), MIN_INTERVAL, DAY, false },
	{ "deliver_to", T(MAILDIR), set_path, X(deliver_to), 0, 0, false },
	{ "pickup", T(MAILDIR), set_path, X(pickup), 0, 0, false },
	{ "send", T_UPLOAD, set_send, X(send), 0, 0, false },
	{ "schedule", T_UPLOAD, set_duration, X(schedule), MIN_INTERVAL, DURATION_MAX, false },
	{ "poll", T_DOWNLOAD, set_duration, X(poll), MIN_INTERVAL, DURATION_MAX, true },
	{ "url", T_REMOTE, set_url, X(url), 0, 0, false },
	{ "username", T_REMOTE, set_string, X(username), 0, 0, false },
	{ "password_file", T_REMOTE, set_path, X(password_file), 0, 0, false },
	{ "password", T_REMOTE, set_password, X(password_prompt), 0, 0, false },
	{ "ca_file", T_REMOTE, set_path, X(ca_file), 0, 0, false },
	{ "starttls", T(SMTP), set_starttls, X(starttls), 0, 0, false },
	{ "helo", T(SMTP), set_string, X(helo), 0, 0, false },
	{ "max_connections", T(SMTP), set_uint, X(max_connections), 1, 64, false },
	{ "keep", T(POP3) | T(IMAP), set_bool, X(keep), 0, 0, false },
	{ "folder", T(IMAP), set_string, X(folder), 0, 0, false },
	{ "command", T(PIPE), set_command, X(command), 0, 0, false },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
#define FIELD(obj, k, type) ((type *)(void *)((char *)(obj) + (k)->off))

static const char *const type_names[] = {
	[TRANSPORT_MAILDIR] = "maildir",
	[TRANSPORT_SMTP] = "smtp",
	[TRANSPORT_POP3] = "pop3",
	[TRANSPORT_IMAP] = "imap",
	[TRANSPORT_PIPE] = "pipe",
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

static const char *const send_names[] = {
	[SEND_IMMEDIATE] = "immediate",
	[SEND_SCHEDULED] = "scheduled",
	[SEND_ON_DEMAND] = "on-demand",
};

static const char *const starttls_names[] = {
	[STARTTLS_REQUIRED] = "required",
	[STARTTLS_OPPORTUNISTIC] = "opportunistic",
	[STARTTLS_NO] = "no",
};

struct parser {
	const char *name;	/* for messages */
	const char *pos, *end;	/* text not yet handed to libinih */
	unsigned lineno;	/* the line last handed to libinih */
	unsigned unclosed_line;	/* a "[" line without "]": libinih rejects it */
	struct config *cfg;

	enum section_kind kind;
	unsigned section_line;
	unsigned spooler_line;	/* where [spooler] was, 0: not yet */
	struct entry *entries;
	size_t n_entries, cap_entries;
	unsigned seen[N_KEYS];	/* per key: the line that set it, 0: unset */
	unsigned cur_line;	/* the entry being applied */

	bool failed;
	unsigned error_line;
	char *err;
	size_t errlen;
};

/* Record the first error only: later ones are often its consequences. */
static bool __attribute__((format(printf, 3, 4)))
fail(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return false;
	p->failed = true;
	p->error_line = line;
	if (p->errlen == 0)
		return false;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool
oom(struct parser *p)
{
	return fail(p, p->lineno, "out of memory");
}

/* ---- value syntax ---- */

static bool
has_ctrl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool
is_name(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= CONFIG_NAME_MAX && strspn(s, NAME_CHARS) == len;
}

/* Decimal digits only (no sign, no blanks), at most max. */
static bool
parse_uint(const char **s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *c = *s;

	if (*c < '0' || *c > '9')
		return false;
	for (; *c >= '0' && *c <= '9'; c++) {
		unsigned d = (unsigned)(*c - '0');

		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*s = c;
	*out = v;
	return true;
}

static const struct {
	const char *suffix;
	msec_t scale;
} duration_units[] = {
	{ "", SECOND }, { "ms", 1 }, { "s", SECOND }, { "m", MINUTE }, { "h", HOUR }, { "d", DAY },
};

/* "250ms", "10s", "0.5s", "5m", "1h", "5d"; a bare number is seconds.  A
 * fraction must come out as whole milliseconds. */
bool
config_parse_duration(const char *s, msec_t *out)
{
	uint64_t whole, frac = 0, pow10 = 1;
	msec_t scale = 0, ms;

	if (!parse_uint(&s, (uint64_t)DURATION_MAX, &whole))
		return false;
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (pow10 == 1000000000)
				return false;
			frac = frac * 10 + (uint64_t)(*s - '0');
			pow10 *= 10;
		}
		if (pow10 == 1)
			return false;
	}
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (strcmp(s, duration_units[i].suffix) == 0)
			scale = duration_units[i].scale;
	if (scale == 0 || frac * (uint64_t)scale % pow10 != 0)
		return false;
	ms = (msec_t)whole * scale + (msec_t)(frac * (uint64_t)scale / pow10);
	if (ms > DURATION_MAX)
		return false;
	*out = ms;
	return true;
}

/* "1024", "64K", "32M", "1G": binary multiples, either case. */
bool
config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, scale;

	if (!parse_uint(&s, UINT64_MAX / 10, &v))
		return false;
	switch (*s) {
	case '\0':
		scale = 1;
		break;
	case 'K': case 'k':
		scale = KIB;
		break;
	case 'M': case 'm':
		scale = MIB;
		break;
	case 'G': case 'g':
		scale = GIB;
		break;
	default:
		return false;
	}
	if (*s != '\0' && s[1] != '\0')
		return false;
	if (v > UINT64_MAX / scale)
		return false;
	*out = v * scale;
	return true;
}

bool
config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

static int
lookup(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* The largest unit that shows d exactly, for messages. */
static const char *
format_duration(msec_t d, char *buf, size_t len)
{
	static const struct {
		const char *suffix;
		msec_t scale;
	} units[] = { { "d", DAY }, { "h", HOUR }, { "m", MINUTE }, { "s", SECOND } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (d != 0 && d % units[i].scale == 0) {
			snprintf(buf, len, "%lld%s", (long long)(d / units[i].scale),
				 units[i].suffix);
			return buf;
		}
	}
	snprintf(buf, len, "%lldms", (long long)d);
	return buf;
}

static const char *
format_size(uint64_t v, char *buf, size_t len)
{
	if (v != 0 && v % GIB == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(v / GIB));
	else if (v != 0 && v % MIB == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(v / MIB));
	else if (v != 0 && v % KIB == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(v / KIB));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* The pipe command's argv: words split at blanks, "double quotes" group a
 * word with blanks in it.  Only checked here; the pipe transport splits it. */
static bool
check_command(struct parser *p, const char *cmd)
{
	size_t program_len = 0;
	bool quoted = false, in_word = false, past_program = false;

	for (const char *c = cmd; *c != '\0'; c++) {
		if (*c == '"') {
			quoted = !quoted;
			in_word = true;
		} else if (!quoted && (*c == ' ' || *c == '\t')) {
			past_program |= in_word;
			in_word = false;
		} else {
			in_word = true;
			program_len += !past_program;
		}
	}
	if (quoted)
		return fail(p, p->cur_line, "command has an unterminated \"");
	if (program_len == 0)
		return fail(p, p->cur_line, "command names no program");
	return true;
}

/* ---- setters ---- */

static bool
set_string(struct parser *p, const struct key *k, void *obj, const char *value)
{
	char **field = FIELD(obj, k, char *);

	if (has_ctrl(value))
		return fail(p, p->cur_line, "%s contains a control character", k->name);
	free(*field);	/* the default; repeated keys never get here */
	if ((*field = strdup(value)) == NULL)
		return oom(p);
	return true;
}

static bool
set_name(struct parser *p, const struct key *k, void *obj, const char *value)
{
	if (!is_name(value))
		return fail(p, p->cur_line, "bad %s \"%s\" (1 to %d of A-Z a-z 0-9 . _ -)", k->name,
			    value, CONFIG_NAME_MAX);
	return set_string(p, k, obj, value);
}

static bool
set_path(struct parser *p, const struct key *k, void *obj, const char *value)
{
	if (value[0] != '/')
		return fail(p, p->cur_line, "%s must be an absolute path, not \"%s\"", k->name,
			    value);
	return set_string(p, k, obj, value);
}

static bool
range_fail(struct parser *p, const struct key *k, const char *lo, const char *hi)
{
	return fail(p, p->cur_line, "%s must be %sfrom %s to %s", k->name,
		    k->zero_off ? "0 (off) or " : "", lo, hi);
}

static bool
set_duration(struct parser *p, const struct key *k, void *obj, const char *value)
{
	char lo[32], hi[32];
	msec_t v;

	if (!config_parse_duration(value, &v))
		return fail(p, p->cur_line,
			    "bad duration \"%s\" for %s (like 250ms, 30s, 5m, 1h, 5d)", value,
			    k->name);
	if ((v < k->min && !(k->zero_off && v == 0)) || v > k->max)
		return range_fail(p, k, format_duration(k->min, lo, sizeof(lo)),
				  format_duration(k->max, hi, sizeof(hi)));
	*FIELD(obj, k, msec_t) = v;
	return true;
}

static bool
parse_size_in_range(struct parser *p, const struct key *k, const char *value, uint64_t *v)
{
	char lo[32], hi[32];

	if (!config_parse_size(value, v))
		return fail(p, p->cur_line, "bad size \"%s\" for %s (like 1024, 64K, 32M, 1G)",
			    value, k->name);
	if (*v < (uint64_t)k->min || *v > (uint64_t)k->max)
		return range_fail(p, k, format_size((uint64_t)k->min, lo, sizeof(lo)),
				  format_size((uint64_t)k->max, hi, sizeof(hi)));
	return true;
}

static bool
set_size(struct parser *p, const struct key *k, void *obj, const char *value)
{
	uint64_t v;

	if (!parse_size_in_range(p, k, value, &v))
		return false;
	*FIELD(obj, k, uint64_t) = v;
	return true;
}

static bool
set_size_t(struct parser *p, const struct key *k, void *obj, const char *value)
{
	uint64_t v;

	if (!parse_size_in_range(p, k, value, &v))
		return false;
	*FIELD(obj, k, size_t) = (size_t)v;
	return true;
}

static bool
set_uint(struct parser *p, const struct key *k, void *obj, const char *value)
{
	const char *s = value;
	uint64_t v;

	if (!parse_uint(&s, (uint64_t)k->max, &v) || *s != '\0' || v < (uint64_t)k->min)
		return fail(p, p->cur_line, "%s must be a number from %lld to %lld, not \"%s\"",
			    k->name, (long long)k->min, (long long)k->max, value);
	*FIELD(obj, k, unsigned) = (unsigned)v;
	return true;
}

/* Octal permission bits, as chmod takes them. */
static bool
set_mode(struct parser *p, const struct key *k, void *obj, const char *value)
{
	size_t n = strspn(value, "01234567");
	unsigned long v;

	if (n == 0 || n > 4 || value[n] != '\0' || (v = strtoul(value, NULL, 8)) > (unsigned long)k->max)
		return fail(p, p->cur_line, "%s must be octal permissions from 0 to 0777, not \"%s\"",
			    k->name, value);
	*FIELD(obj, k, mode_t) = (mode_t)v;
	return true;
}

static bool
set_bool(struct parser *p, const struct key *k, void *obj, const char *value)
{
	if (!config_parse_bool(value, FIELD(obj, k, bool)))
		return fail(p, p->cur_line, "%s must be yes or no, not \"%s\"", k->name, value);
	return true;
}

static bool
set_type(struct parser *p, const struct key *k, void *obj, const char *value)
{
	int i = lookup(value, type_names, N_TYPES);

	if (i < 0)
		return fail(p, p->cur_line,
			    "unknown transport type \"%s\" (maildir, smtp, pop3, imap or pipe)",
			    value);
	*FIELD(obj, k, enum transport_type) = (enum transport_type)i;
	return true;
}

static bool
set_send(struct parser *p, const struct key *k, void *obj, const char *value)
{
	int i = lookup(value, send_names, sizeof(send_names) / sizeof(send_names[0]));

	if (i < 0)
		return fail(p, p->cur_line,
			    "%s must be immediate, scheduled or on-demand, not \"%s\"", k->name,
			    value);
	*FIELD(obj, k, enum send_mode) = (enum send_mode)i;
	return true;
}

static bool
set_starttls(struct parser *p, const struct key *k, void *obj, const char *value)
{
	int i = lookup(value, starttls_names, sizeof(starttls_names) / sizeof(starttls_names[0]));

	if (i < 0)
		return fail(p, p->cur_line,
			    "%s must be required, opportunistic or no, not \"%s\"", k->name,
			    value);
	*FIELD(obj, k, enum starttls_mode) = (enum starttls_mode)i;
	return true;
}

/* The schemes libcurl is given for each remote type; credentials in the URL
 * are refused because secrets never live in the config. */
static bool
set_url(struct parser *p, const struct key *k, void *obj, const char *value)
{
	static const char *const schemes[][2] = {
		[TRANSPORT_SMTP] = { "smtp", "smtps" },
		[TRANSPORT_POP3] = { "pop3", "pop3s" },
		[TRANSPORT_IMAP] = { "imap", "imaps" },
	};
	const struct transport_config *t = obj;
	const char *const *s = schemes[t->type];
	const char *rest = strstr(value, "://");
	size_t scheme_len = rest != NULL ? (size_t)(rest - value) : 0;
	size_t host_len;

	if (rest == NULL ||
	    !((strlen(s[0]) == scheme_len && strncasecmp(value, s[0], scheme_len) == 0) ||
	      (strlen(s[1]) == scheme_len && strncasecmp(value, s[1], scheme_len) == 0)))
		return fail(p, p->cur_line, "url for type %s must start with %s:// or %s://",
			    type_names[t->type], s[0], s[1]);
	rest += 3;
	host_len = strcspn(rest, "/?#");
	if (host_len == 0 || strcspn(value, " \t") != strlen(value))
		return fail(p, p->cur_line, "url \"%s\" has no host or contains a blank", value);
	if (memchr(rest, '@', host_len) != NULL)
		return fail(p, p->cur_line,
			    "url must not hold credentials: use username and password_file");
	return set_string(p, k, obj, value);
}

static bool
set_password(struct parser *p, const struct key *k, void *obj, const char *value)
{
	if (strcmp(value, "prompt") != 0)
		return fail(p, p->cur_line,
			    "password may only be \"prompt\": put the password in a file "
			    "and name it with password_file");
	*FIELD(obj, k, bool) = true;
	return true;
}

static bool
set_command(struct parser *p, const struct key *k, void *obj, const char *value)
{
	return check_command(p, value) && set_string(p, k, obj, value);
}

/* Split a comma or blank separated list; false at its end. */
static bool
next_token(const char **s, const char **tok, size_t *len)
{
	*s += strspn(*s, LIST_SEP);
	*tok = *s;
	*len = strcspn(*s, LIST_SEP);
	*s += *len;
	return *len > 0;
}

/* MAPI matches address types exactly, so they are kept as written. */
static bool
set_addrtypes(struct parser *p, const struct key *k, void *obj, const char *value)
{
	struct transport_config *t = obj;
	const char *tok;
	size_t len;

	while (next_token(&value, &tok, &len)) {
		if (len > ADDRTYPE_MAX || strspn(tok, ADDRTYPE_CHARS) < len)
			return fail(p, p->cur_line,
				    "bad address type \"%.*s\" in %s (1 to %d of A-Z a-z 0-9 _ -)",
				    (int)len, tok, k->name, ADDRTYPE_MAX);
		for (size_t i = 0; i < t->n_addrtypes; i++)
			if (strlen(t->addrtypes[i]) == len && memcmp(t->addrtypes[i], tok, len) == 0)
				return fail(p, p->cur_line, "address type \"%.*s\" listed twice",
					    (int)len, tok);
		if (t->n_addrtypes == CONFIG_MAX_ADDRTYPES)
			return fail(p, p->cur_line, "more than %d address types",
				    CONFIG_MAX_ADDRTYPES);
		if ((t->addrtypes[t->n_addrtypes] = strndup(tok, len)) == NULL)
			return oom(p);
		t->n_addrtypes++;
	}
	if (t->n_addrtypes == 0)
		return fail(p, p->cur_line, "%s lists no address type", k->name);
	return true;
}

static bool
set_domains(struct parser *p, const struct key *k, void *obj, const char *value)
{
	struct transport_config *t = obj;
	const char *tok, *s = value;
	size_t len, n = 0;

	while (next_token(&s, &tok, &len)) {
		if (len > DOMAIN_MAX || strspn(tok, DOMAIN_CHARS) < len)
			return fail(p, p->cur_line, "bad domain \"%.*s\" in %s", (int)len, tok,
				    k->name);
		n++;
	}
	if (n == 0)
		return fail(p, p->cur_line, "%s lists no domain", k->name);
	if ((t->domains = calloc(n, sizeof(*t->domains))) == NULL)
		return oom(p);
	for (s = value; next_token(&s, &tok, &len); t->n_domains++)
		if ((t->domains[t->n_domains] = strndup(tok, len)) == NULL)
			return oom(p);
	return true;
}

/* A user or group name to its id through NSS: 1 found, 0 no such name,
 * -1 the lookup failed (errno set). */
static int
lookup_id(bool group, const char *name, id_t *id)
{
	long hint = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	size_t len = hint > 0 ? (size_t)hint : 16384;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char *buf = NULL;
	int r;

	do {
		/* Entries with many members need more room than the hint. */
		free(buf);
		if (len > 1024 * KIB || (buf = malloc(len)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		if (group)
			r = getgrnam_r(name, &gr, buf, len, &grp);
		else
			r = getpwnam_r(name, &pw, buf, len, &pwp);
		len *= 2;
	} while (r == ERANGE);
	if (grp != NULL)
		*id = grp->gr_gid;
	else if (pwp != NULL)
		*id = pwp->pw_uid;
	free(buf);
	if (grp != NULL || pwp != NULL)
		return 1;
	/* getpwnam_r(3): these say "not found" on some systems. */
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		return 0;
	errno = r;
	return -1;
}

/* Names or numbers; numbers are taken as they are, since an id needs no
 * entry in the password or group database to be a process's. */
static bool
set_ids(struct parser *p, const struct key *k, void *obj, const char *value, bool group)
{
	struct id_list *l = FIELD(obj, k, struct id_list);
	const char *what = group ? "group" : "user", *tok, *s = value;
	char name[CONFIG_MAX_LINE + 1];
	size_t len, n = 0;

	while (next_token(&s, &tok, &len))
		n++;
	if (n == 0)
		return fail(p, p->cur_line, "%s lists no %s", k->name, what);
	if ((l->ids = calloc(n, sizeof(*l->ids))) == NULL)
		return oom(p);
	for (s = value; next_token(&s, &tok, &len); l->n++) {
		const char *num = tok;
		uint64_t v;
		int r;

		snprintf(name, sizeof(name), "%.*s", (int)len, tok);
		if (strspn(name, "0123456789") == len) {
			/* (id_t)-1 means "no id" to the kernel */
			if (!parse_uint(&num, UINT32_MAX - 1, &v))
				return fail(p, p->cur_line, "%s id %s in %s is out of range", what,
					    name, k->name);
			l->ids[l->n] = (id_t)v;
			continue;
		}
		if (has_ctrl(name))
			return fail(p, p->cur_line, "%s contains a control character", k->name);
		if ((r = lookup_id(group, name, &l->ids[l->n])) == 0)
			return fail(p, p->cur_line, "unknown %s \"%s\" in %s", what, name, k->name);
		if (r == -1)
			return fail(p, p->cur_line, "cannot look up %s \"%s\" in %s: %s", what, name,
				    k->name, strerror(errno));
	}
	return true;
}

static bool
set_users(struct parser *p, const struct key *k, void *obj, const char *value)
{
	return set_ids(p, k, obj, value, false);
}

static bool
set_groups(struct parser *p, const struct key *k, void *obj, const char *value)
{
	return set_ids(p, k, obj, value, true);
}

/* ---- sections ---- */

static struct transport_config *
current_transport(struct parser *p)
{
	return &p->cfg->transports[p->cfg->n_transports - 1];
}

static void
drop_entries(struct parser *p)
{
	for (size_t i = 0; i < p->n_entries; i++) {
		free(p->entries[i].name);
		free(p->entries[i].value);
	}
	p->n_entries = 0;
	memset(p->seen, 0, sizeof(p->seen));
}

static unsigned
seen(const struct parser *p, const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return p->seen[i];
	return 0;
}

/* Whether e may be applied: known here, and not a repeat. */
static bool
check_entry(struct parser *p, const struct entry *e, const char *where)
{
	unsigned *first;

	if (e->key == NULL)
		return fail(p, e->line, "unknown key \"%s\" in %s", e->name, where);
	first = &p->seen[e->key - keys];
	if (*first != 0)
		return fail(p, e->line, "duplicate key \"%s\" in %s (first on line %u)", e->name,
			    where, *first);
	*first = e->line;
	if (e->value[0] == '\0')
		return fail(p, e->line, "key \"%s\" has no value", e->name);
	return true;
}

static bool
apply_entry(struct parser *p, const struct entry *e, void *obj)
{
	p->cur_line = e->line;
	return e->key->set(p, e->key, obj, e->value);
}

static bool
end_spooler(struct parser *p)
{
	struct spooler_config *sc = &p->cfg->spooler;
	char lo[32], hi[32];

	for (size_t i = 0; i < p->n_entries; i++)
		if (!check_entry(p, &p->entries[i], "[spooler]") ||
		    !apply_entry(p, &p->entries[i], sc))
			return false;
	if (sc->retry_min > sc->retry_max) {
		unsigned line = seen(p, "retry_max") != 0 ? seen(p, "retry_max") : seen(p, "retry_min");

		return fail(p, line, "retry_min (%s) is longer than retry_max (%s)",
			    format_duration(sc->retry_min, lo, sizeof(lo)),
			    format_duration(sc->retry_max, hi, sizeof(hi)));
	}
	return true;
}

/* A key of another type gets a hint naming the types that take it. */
static bool
fail_key_for_type(struct parser *p, const struct entry *e, const char *where)
{
	char types[64] = "";

	for (size_t i = 0; i < N_TYPES; i++) {
		if (e->key->types & (1u << i)) {
			strcat(types, types[0] != '\0' ? ", " : "");
			strcat(types, type_names[i]);
		}
	}
	return fail(p, e->line, "unknown key \"%s\" in %s: %s is for %s", e->name, where,
		    e->name, types);
}

/* What each type cannot work without. */
static bool
check_transport(struct parser *p, const struct transport_config *t)
{
	const char *tn = type_names[t->type];

	switch (t->type) {
	case TRANSPORT_MAILDIR:
		if (t->deliver_to == NULL && t->pickup == NULL)
			return fail(p, p->section_line,
				    "[transport:%s] (type maildir) needs deliver_to, pickup or both",
				    t->name);
		break;
	case TRANSPORT_SMTP:
	case TRANSPORT_POP3:
	case TRANSPORT_IMAP:
		if (t->url == NULL)
			return fail(p, p->section_line, "[transport:%s] (type %s) needs a url",
				    t->name, tn);
		if (t->password_file != NULL && t->password_prompt)
			return fail(p, seen(p, "password") > seen(p, "password_file") ?
					       seen(p, "password") : seen(p, "password_file"),
				    "password = prompt and password_file exclude each other");
		break;
	case TRANSPORT_PIPE:
		if (t->command == NULL)
			return fail(p, p->section_line, "[transport:%s] (type pipe) needs a command",
				    t->name);
		break;
	}
	return true;
}

/* The type first, since it decides which keys are allowed. */
static bool
end_transport(struct parser *p)
{
	struct transport_config *t = current_transport(p);
	const struct entry *type = NULL;
	char where[CONFIG_NAME_MAX + 40];

	for (size_t i = 0; i < p->n_entries && type == NULL; i++)
		if (p->entries[i].key != NULL && p->entries[i].key->set == set_type)
			type = &p->entries[i];
	if (type == NULL)
		return fail(p, p->section_line,
			    "[transport:%s] has no type (maildir, smtp, pop3, imap or pipe)",
			    t->name);
	if (!apply_entry(p, type, t))
		return false;
	if (t->type == TRANSPORT_POP3 || t->type == TRANSPORT_IMAP)
		t->poll = 5 * MINUTE;

	snprintf(where, sizeof(where), "[transport:%s] (type %s)", t->name,
		 type_names[t->type]);
	for (size_t i = 0; i < p->n_entries; i++) {
		const struct entry *e = &p->entries[i];

		if (e->key != NULL && !(e->key->types & (1u << t->type)))
			return fail_key_for_type(p, e, where);
		if (!check_entry(p, e, where))
			return false;
		if (e != type && !apply_entry(p, e, t))
			return false;
	}
	if (t->display_name == NULL && (t->display_name = strdup(t->name)) == NULL)
		return oom(p);
	return check_transport(p, t);
}

static bool
end_section(struct parser *p)
{
	bool ok = true;

	if (p->kind == SECTION_SPOOLER)
		ok = end_spooler(p);
	else if (p->kind == SECTION_TRANSPORT)
		ok = end_transport(p);
	drop_entries(p);
	p->kind = SECTION_NONE;
	return ok;
}

static bool
begin_transport(struct parser *p, const char *name)
{
	struct config *cfg = p->cfg;
	struct transport_config *t;

	if (!is_name(name))
		return fail(p, p->lineno,
			    "bad transport name \"%s\" (1 to %d of A-Z a-z 0-9 . _ -)", name,
			    CONFIG_NAME_MAX);
	for (size_t i = 0; i < cfg->n_transports; i++)
		if (strcmp(cfg->transports[i].name, name) == 0)
			return fail(p, p->lineno, "duplicate [transport:%s] (first on line %u)",
				    name, cfg->transports[i].line);
	if (cfg->n_transports == CONFIG_MAX_TRANSPORTS)
		return fail(p, p->lineno, "more than %d transports", CONFIG_MAX_TRANSPORTS);
	t = realloc(cfg->transports, (cfg->n_transports + 1) * sizeof(*t));
	if (t == NULL)
		return oom(p);
	cfg->transports = t;
	t = &t[cfg->n_transports++];
	*t = (struct transport_config){
		.line = p->lineno,
		.send = SEND_IMMEDIATE,
		.schedule = 10 * MINUTE,
		.starttls = STARTTLS_REQUIRED,
		.max_connections = 1,
		.timeout = 5 * MINUTE,
	};
	strcpy(t->name, name);
	p->kind = SECTION_TRANSPORT;
	return true;
}

/* header is a "[...]" line; libinih parses it too, but only we need it. */
static bool
begin_section(struct parser *p, char *header)
{
	static const char prefix[] = "transport:";
	char *close = strchr(header, ']');
	char name[CONFIG_MAX_LINE + 1];

	if (close == NULL) {
		/* libinih reports the first such line */
		if (p->unclosed_line == 0)
			p->unclosed_line = p->lineno;
		return true;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(close - header - 1), header + 1);
	if (!end_section(p))
		return false;
	p->section_line = p->lineno;
	if (strcmp(name, "spooler") == 0) {
		if (p->spooler_line != 0)
			return fail(p, p->lineno, "duplicate [spooler] (first on line %u)",
				    p->spooler_line);
		p->spooler_line = p->lineno;
		p->kind = SECTION_SPOOLER;
		return true;
	}
	if (strncmp(name, prefix, sizeof(prefix) - 1) == 0)
		return begin_transport(p, name + sizeof(prefix) - 1);
	return fail(p, p->lineno, "unknown section [%s] (expected [spooler] or [transport:NAME])",
		    name);
}

/* ---- libinih callbacks ---- */

/* libinih's fgets: one line, checked, without its newline or leading blanks
 * (libinih would take an indented line for the continuation of the value
 * before it; no value here spans lines). */
static char *
read_line(char *buf, int size, void *stream)
{
	struct parser *p = stream;
	const char *line = p->pos, *nl;
	size_t len;

	if (p->failed || p->pos == p->end)
		return NULL;
	p->lineno++;
	nl = memchr(line, '\n', (size_t)(p->end - line));
	len = (size_t)((nl != NULL ? nl : p->end) - line);
	p->pos = nl != NULL ? nl + 1 : p->end;
	if (len > CONFIG_MAX_LINE || len >= (size_t)size) {
		fail(p, p->lineno, "line too long (max %d bytes)", CONFIG_MAX_LINE);
		return NULL;
	}
	if (memchr(line, '\0', len) != NULL) {
		fail(p, p->lineno, "NUL byte in line");
		return NULL;
	}
	if (p->lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;	/* a UTF-8 byte order mark */
		len -= 3;
	}
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (buf[0] == '[' && !begin_section(p, buf))
		return NULL;
	return buf;
}

/* section is ignored: ours is in p, whole (libinih cuts it at 49 bytes). */
static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parser *p = user;
	struct entry *e;
	bool transport = p->kind == SECTION_TRANSPORT;

	(void)section;
	if (p->kind == SECTION_NONE)
		return fail(p, p->lineno,
			    "key \"%s\" outside any section (start with [spooler] or "
			    "[transport:NAME])",
			    name);
	if (p->n_entries == p->cap_entries) {
		size_t cap = p->cap_entries != 0 ? 2 * p->cap_entries : 16;

		if ((e = realloc(p->entries, cap * sizeof(*e))) == NULL)
			return oom(p);
		p->entries = e;
		p->cap_entries = cap;
	}
	e = &p->entries[p->n_entries];
	*e = (struct entry){ .line = p->lineno };
	for (size_t i = 0; i < N_KEYS && e->key == NULL; i++)
		if ((keys[i].types != T_SPOOLER) == transport && strcmp(keys[i].name, name) == 0)
			e->key = &keys[i];
	e->name = strdup(name);
	e->value = strdup(value);
	if (e->name == NULL || e->value == NULL) {
		free(e->name);
		free(e->value);
		return oom(p);
	}
	p->n_entries++;
	return 1;
}

/* ---- loading ---- */

static bool
set_defaults(struct parser *p)
{
	struct spooler_config *sc = &p->cfg->spooler;

	*sc = (struct spooler_config){
		.profile_name = strdup(DEFAULT_PROFILE),
		.spool_dir = strdup(SPOOLDIR),
		.store = strdup(DEFAULT_STORE),
		.socket_mode = 0660,
		.max_message_size = 32 * MIB,
		.retry_min = 5 * MINUTE,
		.retry_max = HOUR,
		.max_lifetime = 5 * DAY,
		.max_clients = 256,
		.max_clients_per_uid = 32,
		.max_pending = 64,
		.request_timeout = 30 * SECOND,
		.max_output_size = 16 * MIB,
	};
	if (sc->profile_name == NULL || sc->spool_dir == NULL || sc->store == NULL)
		return oom(p);
	return true;
}

/* The line holding byte off, to say where a file grows too large. */
static unsigned
line_at(const char *text, size_t off)
{
	unsigned line = 1;

	for (const char *nl = text; (nl = memchr(nl, '\n', off - (size_t)(nl - text))) != NULL;
	     nl++)
		line++;
	return line;
}

/* Room for a base64-encoded message of max_message_size in a JSON line, plus
 * the request around it. */
static size_t
default_line_size(uint64_t max_message_size)
{
	return (size_t)(max_message_size * 4 / 3 + 64 * KIB);
}

static void
parser_free(struct parser *p)
{
	drop_entries(p);
	free(p->entries);
}

static int
load_text(const char *text, size_t len, const char *name, struct config *cfg, char *err,
	  size_t errlen)
{
	struct parser p = {
		.name = name,
		.pos = text,
		.end = text + len,
		.cfg = cfg,
		.err = err,
		.errlen = errlen,
	};
	int r;

	if (errlen > 0)
		err[0] = '\0';
	memset(cfg, 0, sizeof(*cfg));
	if (len > CONFIG_MAX_FILE_SIZE)
		fail(&p, line_at(text, CONFIG_MAX_FILE_SIZE), "file too large (max %d bytes)",
		     CONFIG_MAX_FILE_SIZE);
	else if (set_defaults(&p)) {
		r = ini_parse_stream(read_line, &p, on_pair, &p);
		if (!p.failed)
			end_section(&p);
		/* libinih's own complaint, if it is about an earlier line */
		if (r != 0 && (!p.failed || (r > 0 && (unsigned)r < p.error_line))) {
			p.failed = false;
			if (r < 0)
				oom(&p);
			else if ((unsigned)r == p.unclosed_line)
				fail(&p, (unsigned)r, "section header without \"]\"");
			else
				fail(&p, (unsigned)r, "syntax error (expected \"key = value\", "
						      "\"[section]\" or a ; comment)");
		}
	}
	parser_free(&p);
	if (p.failed) {
		config_free(cfg);
		return -1;
	}
	if (cfg->spooler.max_line_size == 0)
		cfg->spooler.max_line_size = default_line_size(cfg->spooler.max_message_size);
	return 0;
}

int
config_load_string(const char *text, const char *name, struct config *cfg, char *err,
		   size_t errlen)
{
	return load_text(text, strlen(text), name, cfg, err, errlen);
}

/* Reads one byte past the limit, to tell a full file from a longer one. */
static int
read_file(int fd, char **text, size_t *len)
{
	size_t cap = CONFIG_MAX_FILE_SIZE + 1, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;

	if (buf == NULL)
		return -1;
	while (n < cap && (r = read(fd, buf + n, cap - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(buf);
			return -1;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

/* The whole file, or NULL with why in err: before any line is read, so
 * without a line number. */
static char *
slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	int fd;

	/* O_NONBLOCK: a FIFO in the config's place must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 || fstat(fd, &st) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (read_file(fd, &text, len) == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	return text;
}

int
config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	if ((text = slurp(path, &len, err, errlen)) == NULL)
		return -1;
	r = load_text(text, len, path, cfg, err, errlen);
	free(text);
	if (r == -1)
		return -1;
	if ((cfg->path = strdup(path)) == NULL) {
		config_free(cfg);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* Generated as text and parsed, so the embedded profile passes the same
 * checks as a file.  The per-user daemon it serves keeps its socket private. */
int
config_default(const char *base, struct config *cfg, char *err, size_t errlen)
{
	char text[4 * CONFIG_MAX_LINE + 256];
	size_t n = strlen(base);

	memset(cfg, 0, sizeof(*cfg));
	if (has_ctrl(base)) {
		snprintf(err, errlen, "%s: base directory contains a control character",
			 EMBEDDED_NAME);
		return -1;
	}
	while (n > 1 && base[n - 1] == '/')
		n--;
	if (n > CONFIG_MAX_LINE) {
		snprintf(err, errlen, "%s: base directory too long", EMBEDDED_NAME);
		return -1;
	}
	snprintf(text, sizeof(text),
		 "[spooler]\n"
		 "spool_dir = %.*s/spool\n"
		 "store = %.*s/Maildir\n"
		 "socket_mode = 0600\n"
		 "[transport:local]\n"
		 "type = maildir\n"
		 "deliver_to = %.*s/outbox\n"
		 "pickup = %.*s/dropbox\n"
		 "send = immediate\n"
		 "poll = 0\n",
		 (int)n, base, (int)n, base, (int)n, base, (int)n, base);
	return config_load_string(text, EMBEDDED_NAME, cfg, err, errlen);
}

/* $XDG_CONFIG_HOME, else ~/.config; relative values are ignored, as the XDG
 * base directory specification asks. */
static bool
user_config(char *buf, size_t len)
{
	const char *dir = getenv("XDG_CONFIG_HOME");
	int n;

	if (dir != NULL && dir[0] == '/')
		n = snprintf(buf, len, "%s/" USER_CONFIG, dir);
	else if ((dir = getenv("HOME")) != NULL && dir[0] == '/')
		n = snprintf(buf, len, "%s/.config/" USER_CONFIG, dir);
	else
		return false;
	return n > 0 && (size_t)n < len;
}

/* A file that exists but cannot be read is still chosen, so that the daemon
 * says why instead of quietly running the embedded profile. */
static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

const char *
config_find(char *buf, size_t len)
{
	/* A user's daemon never takes the system's file: its paths (/var/...)
	 * are not the user's to write.  The system service names its file. */
	if (getuid() != 0)
		return user_config(buf, len) && exists(buf) ? buf : NULL;
	if (strlen(SYSTEM_CONFIG) < len && exists(SYSTEM_CONFIG)) {
		strcpy(buf, SYSTEM_CONFIG);
		return buf;
	}
	return NULL;
}

static void
transport_free(struct transport_config *t)
{
	for (size_t i = 0; i < t->n_addrtypes; i++)
		free(t->addrtypes[i]);
	for (size_t i = 0; i < t->n_domains; i++)
		free(t->domains[i]);
	free(t->domains);
	free(t->display_name);
	free(t->deliver_to);
	free(t->pickup);
	free(t->url);
	free(t->username);
	free(t->password_file);
	free(t->ca_file);
	free(t->helo);
	free(t->folder);
	free(t->command);
}

void
config_free(struct config *cfg)
{
	struct spooler_config *sc = &cfg->spooler;

	for (size_t i = 0; i < cfg->n_transports; i++)
		transport_free(&cfg->transports[i]);
	free(cfg->transports);
	free(sc->profile_name);
	free(sc->spool_dir);
	free(sc->store);
	free(sc->socket_group);
	free(sc->allow_users.ids);
	free(sc->allow_groups.ids);
	free(sc->allow_read_users.ids);
	free(sc->allow_read_groups.ids);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

const char *
transport_type_name(enum transport_type t)
{
	return (size_t)t < N_TYPES ? type_names[t] : "unknown";
}

const char *
send_mode_name(enum send_mode m)
{
	return (size_t)m < sizeof(send_names) / sizeof(send_names[0]) ? send_names[m] : "unknown";
}
