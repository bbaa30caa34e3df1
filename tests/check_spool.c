/*
 * check_spool.c — the envelope format (round trip, canonical form, every
 * kind of damage rejected) and the queues on disk: add, update and remove
 * seen by recovery, group commit, torn and stray files at start, write
 * errors, copies from a file.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "spool.h"
#include "worker.h"

#define ID1 "0190a1b2c3d400001234"
#define ID2 "0190a1b2c3d400015678"
#define ID3 "0190a1b2c3d40002abcd"

/* ---- Helpers ---- */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	ck_assert_ptr_nonnull(d);
	return d;
}

/* A message with two transports, one deferred and held, and a recipient
 * no transport took. */
static struct qmsg *
sample(const char *id, uint64_t size)
{
	struct qmsg *m = qmsg_new();

	ck_assert_ptr_nonnull(m);
	memcpy(m->id, id, SPOOL_ID_LEN + 1);
	m->queue = SPOOL_OUTBOUND;
	m->queued = 1718000000123;
	m->size = size;
	m->sender = xstrdup("alice@example.com");
	m->n_rcpts = 3;
	m->rcpts = calloc(3, sizeof(*m->rcpts));
	m->rcpts[0] = (struct qrcpt){ xstrdup("bob@example.com"), xstrdup("SMTP"), 0 };
	m->rcpts[1] = (struct qrcpt){ xstrdup("+15551234"), xstrdup("FAX"), 1 };
	m->rcpts[2] = (struct qrcpt){ xstrdup("x500:/o=nowhere"), xstrdup("EX"), -1 };
	m->n_units = 2;
	m->units = calloc(2, sizeof(*m->units));
	m->units[0] = (struct qunit){ .transport = xstrdup("relay"), .state = UNIT_QUEUED };
	m->units[1] = (struct qunit){ .transport = xstrdup("fax"), .state = UNIT_DEFERRED,
				      .held = true, .attempts = 3, .next_attempt = 1718000060000,
				      .last_error = xstrdup("451 4.3.0 try later") };
	return m;
}

static char *
format(const struct qmsg *m, size_t *len)
{
	char *t = spool_env_format(m, len);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* Two messages are equal when their envelopes are: the format is canonical. */
static void
assert_same(const struct qmsg *a, const struct qmsg *b)
{
	size_t la, lb;
	char *ta = format(a, &la), *tb = format(b, &lb);

	ck_assert_str_eq(ta, tb);
	free(ta);
	free(tb);
}

/* ---- Packed messages ---- */

static bool
in_block(const struct qmsg *m, const void *p)
{
	return (const char *)p >= (const char *)m &&
	       (const char *)p < (const char *)m + m->packed_len;
}

/* A packed message is the same message, in one block but its errors. */
START_TEST(pack_keeps_everything)
{
	struct qmsg *m = sample(ID1, 9), *p = qmsg_pack(qmsg_dup(m)), *d;

	ck_assert_uint_gt(p->packed_len, sizeof(*p));
	assert_same(p, m);
	ck_assert(in_block(p, p->sender) && in_block(p, p->rcpts) && in_block(p, p->units));
	for (size_t i = 0; i < p->n_rcpts; i++)
		ck_assert(in_block(p, p->rcpts[i].address) && in_block(p, p->rcpts[i].addrtype));
	ck_assert(in_block(p, p->units[0].transport));
	ck_assert(!in_block(p, p->units[1].last_error));
	/* Replaced strings are the caller's; a copy is unpacked. */
	qmsg_release(p, p->units[0].transport);
	p->units[0].transport = xstrdup("other");
	free(p->units[1].last_error);
	p->units[1].last_error = xstrdup("changed");
	d = qmsg_dup(p);
	ck_assert_uint_eq(d->packed_len, 0);
	assert_same(d, p);
	ck_assert_str_eq(d->units[0].transport, "other");
	/* With nothing but the struct, packing still works. */
	qmsg_free(m);
	m = qmsg_pack(qmsg_new());
	ck_assert_uint_eq(m->packed_len, sizeof(*m));
	ck_assert_ptr_null(m->rcpts);
	qmsg_free(m);
	qmsg_free(d);
	qmsg_free(p);	/* ASan: nothing leaks, nothing is freed twice */
}
END_TEST

/* ---- The envelope text ---- */

START_TEST(roundtrip_odd_bytes)
{
	struct qmsg *m = sample(ID1, 7), *p;
	char err[256], *t, *t2;
	size_t len, len2;

	free(m->sender);
	m->sender = xstrdup("a b%c\t\x01\x7f\xc3\xa9 -");
	free(m->rcpts[0].address);
	m->rcpts[0].address = xstrdup("-");
	free(m->rcpts[1].addrtype);
	m->rcpts[1].addrtype = xstrdup("");
	free(m->units[1].last_error);
	m->units[1].last_error = xstrdup("line one\r\nline two %41 end\n");
	t = format(m, &len);
	ck_assert_uint_eq(strlen(t), len);
	/* Every value stays one token on one line. */
	ck_assert_ptr_null(strchr(t, '\t'));
	ck_assert_ptr_null(strchr(t, '\r'));
	p = spool_env_parse(t, len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_str_eq(p->id, ID1);
	ck_assert_int_eq(p->queue, SPOOL_OUTBOUND);
	ck_assert(p->queued == 1718000000123);
	ck_assert_uint_eq(p->size, 7);
	ck_assert_str_eq(p->sender, m->sender);
	ck_assert_ptr_null(p->source);
	ck_assert_uint_eq(p->n_rcpts, 3);
	ck_assert_str_eq(p->rcpts[0].address, "-");
	ck_assert_str_eq(p->rcpts[1].addrtype, "");
	ck_assert_int_eq(p->rcpts[1].unit, 1);
	ck_assert_int_eq(p->rcpts[2].unit, -1);
	ck_assert_uint_eq(p->n_units, 2);
	ck_assert_str_eq(p->units[1].transport, "fax");
	ck_assert_int_eq(p->units[1].state, UNIT_DEFERRED);
	ck_assert(p->units[1].held);
	ck_assert_uint_eq(p->units[1].attempts, 3);
	ck_assert(p->units[1].next_attempt == 1718000060000);
	ck_assert_str_eq(p->units[1].last_error, m->units[1].last_error);
	ck_assert_ptr_null(p->units[0].last_error);
	ck_assert(!p->units[0].held);
	t2 = format(p, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(t, t2, len);
	free(t);
	free(t2);
	qmsg_free(p);
	qmsg_free(m);
}
END_TEST

START_TEST(roundtrip_inbound_and_empty)
{
	struct qmsg *m = qmsg_new(), *p;
	char err[256], *t;
	size_t len;

	memcpy(m->id, ID2, sizeof(m->id));
	m->queue = SPOOL_INBOUND;
	m->source = xstrdup("pop box");
	t = format(m, &len);
	ck_assert_str_eq(t, "mapispool-envelope 1\nid " ID2 "\nqueue inbound\nqueued 0\nsize 0\n"
			    "sender -\nsource pop%20box\nend\n");
	p = spool_env_parse(t, len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_str_eq(p->sender, "");
	ck_assert_str_eq(p->source, "pop box");
	ck_assert_uint_eq(p->n_rcpts + p->n_units, 0);
	assert_same(m, p);
	free(t);
	qmsg_free(p);
	qmsg_free(m);
}
END_TEST

/* A recipient its transport is done with (RCPT_DONE) comes back as such. */
START_TEST(roundtrip_rcpt_done)
{
	struct qmsg *m = sample(ID1, 7), *p;
	char err[256], *t;
	size_t len;

	m->rcpts[0].unit = RCPT_DONE;
	t = format(m, &len);
	ck_assert_msg(strstr(t, "\nrcpt bob@example.com SMTP -2\n") != NULL, "%s", t);
	p = spool_env_parse(t, len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(p->rcpts[0].unit, RCPT_DONE);
	ck_assert_int_eq(p->rcpts[2].unit, RCPT_UNROUTED);
	free(t);
	qmsg_free(p);
	qmsg_free(m);
}
END_TEST

/* A unit's flags: held 1, delay notice stored 2, both 3; each comes back. */
START_TEST(roundtrip_unit_flags)
{
	static const char *const lines[] = { "unit relay queued 0 0 0 -", "unit relay queued 1 0 0 -",
					     "unit relay queued 2 0 0 -", "unit relay queued 3 0 0 -" };
	struct qmsg *m = sample(ID1, 7), *p;
	char err[256], *t;
	size_t len;

	m->units[1].held = false;
	m->units[0].held = _i & UNIT_FLAG_HELD;
	m->units[0].warned = _i & UNIT_FLAG_WARNED;
	t = format(m, &len);
	ck_assert_msg(strstr(t, lines[_i]) != NULL, "%s", t);
	p = spool_env_parse(t, len, err, sizeof(err));
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert(p->units[0].held == m->units[0].held);
	ck_assert(p->units[0].warned == m->units[0].warned);
	ck_assert(!p->units[1].held && !p->units[1].warned);
	free(t);
	qmsg_free(p);
	qmsg_free(m);
}
END_TEST

/* What format refuses, so nothing unreadable is ever committed. */
START_TEST(format_refuses_out_of_bounds)
{
	struct qmsg *m = sample(ID1, 1);
	size_t len;
	char big[SPOOL_MAX_ADDRESS + 2];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	free(m->rcpts[0].address);
	m->rcpts[0].address = xstrdup(big);
	errno = 0;
	ck_assert_ptr_null(spool_env_format(m, &len));
	ck_assert_int_eq(errno, EINVAL);
	big[SPOOL_MAX_ADDRESS] = '\0';
	free(m->rcpts[0].address);
	m->rcpts[0].address = xstrdup(big);
	free(format(m, &len));

	m->rcpts[0].unit = 2;
	ck_assert_ptr_null(spool_env_format(m, &len));
	m->rcpts[0].unit = 0;
	free(m->units[0].transport);
	m->units[0].transport = xstrdup("fax");
	ck_assert_ptr_null(spool_env_format(m, &len));
	free(m->units[0].transport);
	m->units[0].transport = xstrdup("relay");
	m->id[3] = 'X';
	ck_assert_ptr_null(spool_env_format(m, &len));
	m->id[3] = '0';
	m->source = xstrdup("pop");
	ck_assert_ptr_null(spool_env_format(m, &len));
	qmsg_free(m);
}
END_TEST

static const char base_env[] =
	"mapispool-envelope 1\n"
	"id " ID1 "\n"
	"queue outbound\n"
	"queued 1718000000123\n"
	"size 42\n"
	"sender alice@example.com\n"
	"rcpt bob@example.com SMTP 0\n"
	"rcpt carol@example.com SMTP 1\n"
	"unit relay queued 0 0 0 -\n"
	"unit fax deferred 1 3 1718000060000 451%204.3.0%20later\n"
	"end\n";

START_TEST(base_env_is_valid)
{
	char err[256], *t;
	size_t len;
	struct qmsg *m = spool_env_parse(base_env, strlen(base_env), err, sizeof(err));

	ck_assert_msg(m != NULL, "%s", err);
	t = format(m, &len);
	ck_assert_str_eq(t, base_env);
	free(t);
	qmsg_free(m);
}
END_TEST

/* Each: in base_env, replace sub[0] by sub[1] (then sub[2] by sub[3]). */
static const struct broken {
	const char *what;
	const char *sub[4];
} broken[] = {
	{ "version 2", { "envelope 1", "envelope 2" } },
	{ "no magic", { "mapispool-envelope 1\n", "" } },
	{ "magic with two spaces", { "envelope 1", "envelope  1" } },
	{ "id short", { "id " ID1, "id 0190a1b2c3d40000123" } },
	{ "id long", { "id " ID1, "id " ID1 "0" } },
	{ "id upper case", { "id " ID1, "id 0190A1B2C3D400001234" } },
	{ "id not hex", { "id " ID1, "id 0190a1b2c3d40000123g" } },
	{ "id path", { "id " ID1, "id ../../../etc/passwd" } },
	{ "id missing", { "id " ID1 "\n", "" } },
	{ "id and queue swapped", { "id " ID1 "\nqueue outbound", "queue outbound\nid " ID1 } },
	{ "queue unknown", { "queue outbound", "queue sideways" } },
	{ "queue empty", { "queue outbound", "queue" } },
	{ "queued negative", { "queued 1718000000123", "queued -1" } },
	{ "queued leading zero", { "queued 1718000000123", "queued 01718000000123" } },
	{ "queued plus", { "queued 1718000000123", "queued +1718000000123" } },
	{ "queued letters", { "queued 1718000000123", "queued 17x" } },
	{ "queued overflow", { "queued 1718000000123", "queued 9223372036854775808" } },
	{ "queued trailing space", { "queued 1718000000123", "queued 1718000000123 " } },
	{ "size negative", { "size 42", "size -42" } },
	{ "size overflow", { "size 42", "size 18446744073709551616" } },
	{ "size missing", { "size 42\n", "" } },
	{ "sender two tokens", { "sender alice@example.com", "sender alice example" } },
	{ "sender raw tab", { "sender alice", "sender al\tice" } },
	{ "sender raw DEL", { "sender alice", "sender al\x7f" "ice" } },
	{ "sender needless escape", { "sender alice", "sender %41lice" } },
	{ "sender lower-case escape", { "sender alice", "sender al%7fice" } },
	{ "sender escaped NUL", { "sender alice", "sender al%00ice" } },
	{ "sender cut escape", { "sender alice@example.com", "sender alice%2" } },
	{ "sender bad hex", { "sender alice", "sender al%G0ice" } },
	{ "sender dash inside", { "sender alice", "sender al%2Dice" } },
	{ "sender missing", { "sender alice@example.com\n", "" } },
	{ "source on outbound",
	  { "sender alice@example.com\n", "sender alice@example.com\nsource pop\n" } },
	{ "source empty", { "queue outbound", "queue inbound", "sender alice@example.com\n",
	  "sender alice@example.com\nsource -\n" } },
	{ "source twice", { "queue outbound", "queue inbound", "sender alice@example.com\n",
	  "sender alice@example.com\nsource a\nsource b\n" } },
	{ "source after rcpt", { "queue outbound", "queue inbound", "unit relay",
	  "source pop\nunit relay" } },
	{ "rcpt short", { "rcpt bob@example.com SMTP 0", "rcpt bob@example.com SMTP" } },
	{ "rcpt long", { "rcpt bob@example.com SMTP 0", "rcpt bob@example.com SMTP 0 0" } },
	{ "rcpt unit out of range",
	  { "rcpt bob@example.com SMTP 0", "rcpt bob@example.com SMTP 2" } },
	{ "rcpt unit -3", { "rcpt bob@example.com SMTP 0", "rcpt bob@example.com SMTP -3" } },
	{ "rcpt unit -02", { "rcpt bob@example.com SMTP 0", "rcpt bob@example.com SMTP -02" } },
	{ "rcpt unit 00", { "rcpt bob@example.com SMTP 0", "rcpt bob@example.com SMTP 00" } },
	{ "rcpt unit huge",
	  { "rcpt bob@example.com SMTP 0", "rcpt bob@example.com SMTP 99999999999" } },
	{ "rcpt after unit", { "rcpt carol@example.com SMTP 1\n", "",
	  "end\n", "rcpt carol@example.com SMTP 1\nend\n" } },
	{ "unit state unknown", { "relay queued", "relay sending" } },
	{ "unit state upper case", { "relay queued", "relay QUEUED" } },
	{ "unit flags 4", { "relay queued 0", "relay queued 4" } },
	{ "unit flags 01", { "relay queued 0", "relay queued 01" } },
	{ "unit flags x", { "relay queued 0", "relay queued x" } },
	{ "unit attempts overflow", { "deferred 1 3", "deferred 1 4294967296" } },
	{ "unit retry negative", { "3 1718000060000", "3 -1718000060000" } },
	{ "unit no error field", { "unit relay queued 0 0 0 -", "unit relay queued 0 0 0" } },
	{ "unit extra field", { "unit relay queued 0 0 0 -", "unit relay queued 0 0 0 - x" } },
	{ "unit empty transport", { "unit relay", "unit -" } },
	{ "unit twice", { "unit fax", "unit relay" } },
	{ "unknown line", { "end\n", "color red\nend\n" } },
	{ "blank line", { "end\n", "\nend\n" } },
	{ "leading space", { "size 42", " size 42" } },
	{ "CRLF", { "queue outbound\n", "queue outbound\r\n" } },
	{ "end upper case", { "end\n", "END\n" } },
	{ "end with value", { "end\n", "end 1\n" } },
	{ "end without newline", { "end\n", "end" } },
	{ "no end", { "end\n", "" } },
	{ "data after end", { "end\n", "end\nend\n" } },
	{ "space after end", { "end\n", "end\n " } },
};

static char *
replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t lt = strlen(text), lf = strlen(from), lo = strlen(to);
	char *out;

	ck_assert_msg(at != NULL, "\"%s\" not in the text", from);
	out = malloc(lt - lf + lo + 1);
	memcpy(out, text, (size_t)(at - text));
	memcpy(out + (at - text), to, lo);
	memcpy(out + (at - text) + lo, at + lf, lt - (size_t)(at - text) - lf + 1);
	return out;
}

START_TEST(malformed_rejected)
{
	const struct broken *b = &broken[_i];
	char err[256] = "", *t = replace(base_env, b->sub[0], b->sub[1]);
	struct qmsg *m;

	if (b->sub[2] != NULL) {
		char *t2 = replace(t, b->sub[2], b->sub[3]);

		free(t);
		t = t2;
	}
	m = spool_env_parse(t, strlen(t), err, sizeof(err));
	ck_assert_msg(m == NULL, "%s: accepted", b->what);
	ck_assert_msg(err[0] != '\0', "%s: no reason given", b->what);
	free(t);
}
END_TEST

/* Cut anywhere, the envelope is torn and must say so. */
START_TEST(every_prefix_rejected)
{
	size_t len = strlen(base_env);
	char err[256];

	for (size_t cut = 0; cut < len; cut++) {
		char *t = malloc(cut + 1);

		memcpy(t, base_env, cut);
		ck_assert_msg(spool_env_parse(t, cut, err, sizeof(err)) == NULL, "cut at %zu", cut);
		free(t);
	}
}
END_TEST

START_TEST(nul_byte_rejected)
{
	char t[sizeof(base_env)], err[256];
	char *at;

	memcpy(t, base_env, sizeof(t));
	at = strstr(t, "alice");
	at[2] = '\0';
	ck_assert_ptr_null(spool_env_parse(t, sizeof(t) - 1, err, sizeof(err)));
}
END_TEST

/* base_env's head followed by the given lines and "end". */
static char *
with_lines(const char *line, size_t times, const char *units)
{
	const char *head_end = strstr(base_env, "rcpt ");
	size_t lh = (size_t)(head_end - base_env), ll = strlen(line), lu = strlen(units);
	char *t = malloc(lh + ll * times + lu + 5), *p = t;

	memcpy(p, base_env, lh);
	p += lh;
	for (size_t i = 0; i < times; i++, p += ll)
		memcpy(p, line, ll);
	memcpy(p, units, lu);
	memcpy(p + lu, "end\n", 5);
	return t;
}

static bool
parses(const char *t)
{
	char err[256];
	struct qmsg *m = spool_env_parse(t, strlen(t), err, sizeof(err));

	qmsg_free(m);
	return m != NULL;
}

START_TEST(bounds)
{
	char addr[SPOOL_MAX_ADDRESS + 32], name[SPOOL_MAX_NAME + 2], line[SPOOL_MAX_ERROR + 64];
	char *t, *units;

	t = with_lines("rcpt bob SMTP -1\n", SPOOL_MAX_RCPTS, "");
	ck_assert(parses(t));
	free(t);
	t = with_lines("rcpt bob SMTP -1\n", SPOOL_MAX_RCPTS + 1, "");
	ck_assert(!parses(t));
	free(t);

	/* At most SPOOL_MAX_ADDRESS bytes once unescaped. */
	snprintf(addr, sizeof(addr), "rcpt %0*d SMTP -1\n", SPOOL_MAX_ADDRESS, 0);
	t = with_lines(addr, 1, "");
	ck_assert(parses(t));
	free(t);
	memcpy(addr + 5, "%25", 3);
	memmove(addr + 8, addr + 10, strlen(addr + 10) + 1);
	t = with_lines(addr, 1, "");
	ck_assert(parses(t));
	free(t);
	snprintf(addr, sizeof(addr), "rcpt %0*d SMTP -1\n", SPOOL_MAX_ADDRESS + 1, 0);
	t = with_lines(addr, 1, "");
	ck_assert(!parses(t));
	free(t);

	memset(name, 'n', SPOOL_MAX_NAME + 1);
	name[SPOOL_MAX_NAME + 1] = '\0';
	snprintf(line, sizeof(line), "unit %s queued 0 0 0 -\n", name);
	t = with_lines("", 0, line);
	ck_assert(!parses(t));
	free(t);
	snprintf(line, sizeof(line), "unit %s queued 0 0 0 -\n", name + 1);
	t = with_lines("", 0, line);
	ck_assert(parses(t));
	free(t);

	memset(line, 'e', sizeof(line));
	memcpy(line, "unit t queued 0 0 0 ", 20);
	memcpy(line + 20 + SPOOL_MAX_ERROR, "\n", 2);
	t = with_lines("", 0, line);
	ck_assert(parses(t));
	free(t);
	memcpy(line + 20 + SPOOL_MAX_ERROR, "e\n", 3);
	t = with_lines("", 0, line);
	ck_assert(!parses(t));
	free(t);

	/* One unit more than allowed. */
	units = calloc(SPOOL_MAX_UNITS + 1, 32);
	for (int i = 0; i <= SPOOL_MAX_UNITS; i++) {
		snprintf(line, sizeof(line), "unit t%d queued 0 0 0 -\n", i);
		strcat(units, line);
	}
	t = with_lines("", 0, units);
	ck_assert(!parses(t));
	free(t);
	*strstr(units, "unit t64") = '\0';
	t = with_lines("", 0, units);
	ck_assert(parses(t));
	free(t);
	free(units);
}
END_TEST

START_TEST(oversize_rejected)
{
	size_t len = SPOOL_MAX_ENV + 100;
	char *t = malloc(len), err[256];

	memcpy(t, base_env, strlen(base_env));
	memset(t + strlen(base_env), '\n', len - strlen(base_env));
	ck_assert_ptr_null(spool_env_parse(t, len, err, sizeof(err)));
	free(t);
}
END_TEST

/* Random damage: never a crash, and whatever is accepted is canonical. */
START_TEST(mutations)
{
	size_t blen = strlen(base_env);
	char *t = malloc(blen + 64), err[256];
	unsigned seed = 12345, accepted = 0;

	for (int n = 0; n < 50000; n++) {
		size_t len = blen;
		struct qmsg *m;

		memcpy(t, base_env, blen);
		for (int k = 0; k < 1 + n % 3; k++) {
			size_t at = (size_t)rand_r(&seed) % len;

			switch (rand_r(&seed) % 4) {
			case 0:
				t[at] = (char)rand_r(&seed);
				break;
			case 1:
				t[at] = "0123456789abcdef -%\n"[rand_r(&seed) % 20];
				break;
			case 2:
				memmove(t + at, t + at + 1, len - at - 1);
				len--;
				break;
			default:
				memmove(t + at + 1, t + at, len - at);
				t[at] = "09af -%\n"[rand_r(&seed) % 8];
				len++;
				break;
			}
		}
		if ((m = spool_env_parse(t, len, err, sizeof(err))) != NULL) {
			size_t flen;
			char *f = format(m, &flen);

			ck_assert_msg(flen == len && memcmp(f, t, len) == 0,
				      "accepted a non-canonical envelope:\n%.*s", (int)len, t);
			free(f);
			qmsg_free(m);
			accepted++;
		}
	}
	/* Some mutations (a digit for a digit) are still valid envelopes. */
	ck_assert_uint_gt(accepted, 0);
	free(t);
}
END_TEST

START_TEST(helpers)
{
	struct qmsg *m = sample(ID1, 1), *d;

	ck_assert_str_eq(unit_state_name(UNIT_QUEUED), "queued");
	ck_assert_str_eq(unit_state_name(UNIT_DEFERRED), "deferred");
	ck_assert_str_eq(unit_state_name(UNIT_SENT), "sent");
	ck_assert_str_eq(unit_state_name(UNIT_FAILED), "failed");
	ck_assert_int_eq(spool_unit_find(m, "fax"), 1);
	ck_assert_int_eq(spool_unit_find(m, "relay"), 0);
	ck_assert_int_eq(spool_unit_find(m, "smtp"), -1);
	d = qmsg_dup(m);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_ne(d->units[1].last_error, m->units[1].last_error);
	assert_same(m, d);
	qmsg_free(m);
	qmsg_free(d);
	qmsg_free(NULL);
}
END_TEST

/* ---- The queues on disk ---- */

static char tmpdir[64], spooldir[128];
static struct event_base *base;
static struct worker_pool *pool;
static struct spool *sp;

struct result {
	int done;
	HRESULT hr;
	char error[SPOOL_MAX_ERROR];
};

static void
on_done(void *ctx, HRESULT hr, const char *error)
{
	struct result *r = ctx;

	r->done++;
	r->hr = hr;
	snprintf(r->error, sizeof(r->error), "%s", error != NULL ? error : "");
	/* Words exactly when it failed. */
	if ((hr == S_OK) != (error == NULL))
		r->hr = E_FAIL;
}

static void
open_spool(void)
{
	char err[256];

	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(pool = worker_pool_new(base, 2));
	sp = spool_open(spooldir, pool, err, sizeof(err));
	ck_assert_msg(sp != NULL, "%s", err);
}

static void
close_spool(void)
{
	worker_pool_free(pool);
	spool_close(sp);
	event_base_free(base);
	sp = NULL;
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_spool.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(spooldir, sizeof(spooldir), "%s/spool", tmpdir);
	open_spool();
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	if (sp != NULL)
		close_spool();
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Turn the loop until every result is in. */
static void
wait_all(struct result *r, size_t n)
{
	for (int turns = 0; turns < 100000; turns++) {
		size_t i;

		for (i = 0; i < n && r[i].done > 0; i++)
			continue;
		if (i == n)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(r[i].done == 1, "op %zu: done %d times", i, r[i].done);
}

static unsigned
count_files(const char *folder)
{
	char path[256];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", spooldir, folder);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool
file_exists(const char *folder, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", spooldir, folder, name);
	return access(path, F_OK) == 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* m's bytes as a transport reads them: its file from data_offset on. */
static char *
read_data(const struct qmsg *m, size_t *len)
{
	char path[256], *buf = malloc(1 << 20);
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(spool_data_path(sp, m, path, sizeof(path)), 0);
	ck_assert_int_ne(fd = spool_data_open(path, m->data_offset), -1);
	*len = 0;
	while ((n = read(fd, buf + *len, (1 << 20) - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	return buf;
}

#define MAX_FOUND 2000

static struct qmsg *found[MAX_FOUND];
static size_t n_found;

static void
on_found(void *ctx, struct qmsg *m)
{
	(void)ctx;
	ck_assert_uint_lt(n_found, MAX_FOUND);
	found[n_found++] = m;
}

/* Restart: a new pool and spool over the same folders, recovered. */
static long
restart(void)
{
	char err[256];
	long n;

	close_spool();
	open_spool();
	for (size_t i = 0; i < n_found; i++)
		qmsg_free(found[i]);
	n_found = 0;
	n = spool_recover(sp, on_found, NULL, err, sizeof(err));
	ck_assert_msg(n >= 0, "%s", err);
	ck_assert_uint_eq((size_t)n, n_found);
	return n;
}

static void
free_found(void)
{
	for (size_t i = 0; i < n_found; i++)
		qmsg_free(found[i]);
	n_found = 0;
}

static const char msg_bytes[] = "Subject: hi\r\n\r\nbinary \0 byte\r\n";

/* Commit sample(id) with msg_bytes; returns the message. */
static struct qmsg *
add_one(const char *id)
{
	struct qmsg *m = sample(id, sizeof(msg_bytes));
	struct result r = { 0 };

	spool_add(sp, m, msg_bytes, sizeof(msg_bytes), NULL, on_done, &r);
	wait_all(&r, 1);
	ck_assert_msg(r.hr == S_OK, "%s", r.error);
	return m;
}

START_TEST(add_then_recover)
{
	struct qmsg *m = add_one(ID1);
	char path[256], *data;
	size_t len;

	/* One file per message until its state changes: ID.msg. */
	ck_assert_uint_eq(count_files("outbound"), 1);
	ck_assert(file_exists("outbound", ID1 ".msg"));
	ck_assert_uint_eq(count_files("tmp"), 0);
	ck_assert_uint_gt(m->data_offset, 0);
	ck_assert_int_eq(restart(), 1);
	assert_same(found[0], m);
	ck_assert_uint_eq(found[0]->data_offset, m->data_offset);
	data = read_data(found[0], &len);
	ck_assert_uint_eq(len, sizeof(msg_bytes));
	ck_assert_mem_eq(data, msg_bytes, len);
	ck_assert_int_eq(spool_data_path(sp, found[0], path, 10), -1);
	free(data);
	free_found();
	qmsg_free(m);
}
END_TEST

/* Recovery hands each queue's messages over in ID order, whatever the
 * directory's order: the queue then only appends. */
START_TEST(recover_in_id_order)
{
	struct qmsg *m[3] = { add_one(ID3), add_one(ID1), add_one(ID2) };

	ck_assert_int_eq(restart(), 3);
	ck_assert_str_eq(found[0]->id, ID1);
	ck_assert_str_eq(found[1]->id, ID2);
	ck_assert_str_eq(found[2]->id, ID3);
	free_found();
	for (int i = 0; i < 3; i++)
		qmsg_free(m[i]);
}
END_TEST

START_TEST(update_then_recover)
{
	struct qmsg *m = add_one(ID1);
	struct result r = { 0 };

	m->units[0].state = UNIT_SENT;
	m->units[0].attempts = 1;
	m->units[1].held = false;
	free(m->units[1].last_error);
	m->units[1].last_error = xstrdup("554 no such user");
	spool_update(sp, m, on_done, &r);
	/* Changed after the call: the envelope was formatted at the call. */
	m->units[1].attempts = 99;
	wait_all(&r, 1);
	ck_assert_msg(r.hr == S_OK, "%s", r.error);
	m->units[1].attempts = 3;
	ck_assert_int_eq(restart(), 1);
	assert_same(found[0], m);
	ck_assert_uint_eq(count_files("outbound"), 2);
	free_found();
	qmsg_free(m);
}
END_TEST

START_TEST(remove_then_recover)
{
	struct qmsg *m = add_one(ID1), *keep = add_one(ID2);
	struct result r[2] = { 0 };

	spool_remove(sp, m, on_done, &r[0]);
	/* Removing what is already gone is not an error. */
	spool_remove(sp, m, on_done, &r[1]);
	wait_all(r, 2);
	ck_assert_msg(r[0].hr == S_OK, "%s", r[0].error);
	ck_assert_msg(r[1].hr == S_OK, "%s", r[1].error);
	ck_assert_int_eq(restart(), 1);
	ck_assert_str_eq(found[0]->id, ID2);
	ck_assert(!file_exists("outbound", ID1 ".msg"));
	free_found();
	qmsg_free(m);
	qmsg_free(keep);
}
END_TEST

START_TEST(add_update_in_one_batch)
{
	struct qmsg *m = sample(ID1, 3);
	struct result r[2] = { 0 };

	spool_add(sp, m, "abc", 3, NULL, on_done, &r[0]);
	m->units[0].state = UNIT_FAILED;
	spool_update(sp, m, on_done, &r[1]);
	wait_all(r, 2);
	ck_assert_msg(r[0].hr == S_OK && r[1].hr == S_OK, "%s %s", r[0].error, r[1].error);
	ck_assert_uint_eq(spool_batches(sp), 1);
	ck_assert_int_eq(restart(), 1);
	ck_assert_int_eq(found[0]->units[0].state, UNIT_FAILED);
	free_found();
	qmsg_free(m);
}
END_TEST

START_TEST(inbound_queue)
{
	struct qmsg *m = sample(ID1, 2);
	struct result r = { 0 };

	m->queue = SPOOL_INBOUND;
	m->source = xstrdup("pop");
	spool_add(sp, m, "hi", 2, NULL, on_done, &r);
	wait_all(&r, 1);
	ck_assert_msg(r.hr == S_OK, "%s", r.error);
	ck_assert(file_exists("inbound", ID1 ".msg"));
	ck_assert_uint_eq(count_files("outbound"), 0);
	ck_assert_int_eq(restart(), 1);
	assert_same(found[0], m);
	free_found();
	qmsg_free(m);
}
END_TEST

#define N_GROUP 200

/* Submitted together, committed together: far fewer syncs than messages. */
START_TEST(group_commit)
{
	struct result *r = calloc(N_GROUP * 5, sizeof(*r));
	struct qmsg *m = sample(ID1, 5);
	unsigned long batches;

	for (int i = 0; i < N_GROUP; i++) {
		spool_new_id(sp, m->id);
		spool_add(sp, m, "12345", 5, NULL, on_done, &r[i]);
	}
	ck_assert_uint_eq(spool_batches(sp), 0);	/* nothing before the loop runs */
	wait_all(r, N_GROUP);
	for (int i = 0; i < N_GROUP; i++)
		ck_assert_msg(r[i].hr == S_OK, "%s", r[i].error);
	batches = spool_batches(sp);
	ck_assert_uint_le(batches, 2);

	/* More than one batch holds: still few, and every one committed. */
	for (int i = N_GROUP; i < N_GROUP * 5; i++) {
		spool_new_id(sp, m->id);
		spool_add(sp, m, "12345", 5, NULL, on_done, &r[i]);
	}
	wait_all(r, N_GROUP * 5);
	for (int i = N_GROUP; i < N_GROUP * 5; i++)
		ck_assert_msg(r[i].hr == S_OK, "%s", r[i].error);
	ck_assert_uint_le(spool_batches(sp) - batches, 4);
	ck_assert_int_eq(restart(), N_GROUP * 5);
	free_found();
	qmsg_free(m);
	free(r);
}
END_TEST

/* Ops submitted while a batch runs wait for the next, and done functions
 * may submit. */
static struct result chain[3];
static struct qmsg *chain_msg;

static void
chain_step(void *ctx, HRESULT hr, const char *error)
{
	struct result *r = ctx;

	on_done(ctx, hr, error);
	if (r == &chain[0]) {
		chain_msg->units[0].attempts = 7;
		spool_update(sp, chain_msg, chain_step, &chain[1]);
	} else if (r == &chain[1]) {
		spool_remove(sp, chain_msg, chain_step, &chain[2]);
	}
}

START_TEST(submit_from_done)
{
	chain_msg = sample(ID1, 1);
	memset(chain, 0, sizeof(chain));
	spool_add(sp, chain_msg, "x", 1, NULL, chain_step, &chain[0]);
	wait_all(chain, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(chain[i].hr == S_OK, "%s", chain[i].error);
	ck_assert_uint_eq(spool_batches(sp), 3);
	ck_assert_int_eq(restart(), 0);
	qmsg_free(chain_msg);
}
END_TEST

/* Update m durably (its state now lives in ID.env). */
static void
update_one(struct qmsg *m)
{
	struct result r = { 0 };

	m->units[0].attempts++;
	spool_update(sp, m, on_done, &r);
	wait_all(&r, 1);
	ck_assert_msg(r.hr == S_OK, "%s", r.error);
}

START_TEST(torn_envelope_set_aside)
{
	struct qmsg *a = add_one(ID1), *b = add_one(ID2), *c = add_one(ID3);
	char path[256];
	struct stat st;

	/* Lose the end line, as a crash in the middle of a write would: of
	 * ID1's current envelope, and of ID3's first one, in its .msg. */
	update_one(a);
	snprintf(path, sizeof(path), "%s/outbound/%s.env", spooldir, ID1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(truncate(path, st.st_size - 4), 0);
	snprintf(path, sizeof(path), "%s/outbound/%s.msg", spooldir, ID3);
	ck_assert_int_eq(truncate(path, (off_t)c->data_offset - 2), 0);
	ck_assert_int_eq(restart(), 1);
	ck_assert_str_eq(found[0]->id, ID2);
	ck_assert(file_exists("corrupt", ID1 ".env"));
	ck_assert(file_exists("corrupt", ID1 ".msg"));
	ck_assert(file_exists("corrupt", ID3 ".msg"));
	ck_assert_uint_eq(count_files("outbound"), 1);
	/* Once set aside, it stays aside. */
	ck_assert_int_eq(restart(), 1);
	ck_assert_uint_eq(count_files("corrupt"), 3);
	free_found();
	qmsg_free(a);
	qmsg_free(b);
	qmsg_free(c);
}
END_TEST

START_TEST(bad_data_set_aside)
{
	struct qmsg *a = add_one(ID1), *b = add_one(ID2);
	char path[256];
	FILE *f;

	/* One message's bytes grew; the other's envelope says another size. */
	snprintf(path, sizeof(path), "%s/outbound/%s.msg", spooldir, ID1);
	ck_assert_ptr_nonnull(f = fopen(path, "a"));
	fputc('x', f);
	fclose(f);
	b->size++;
	update_one(b);
	ck_assert_int_eq(restart(), 0);
	ck_assert_uint_eq(count_files("outbound"), 0);
	ck_assert(file_exists("corrupt", ID1 ".msg"));
	ck_assert(file_exists("corrupt", ID2 ".msg"));
	ck_assert(file_exists("corrupt", ID2 ".env"));
	qmsg_free(a);
	qmsg_free(b);
}
END_TEST

/* A message in the wrong folder, or under another message's name. */
START_TEST(misplaced_envelope_set_aside)
{
	struct qmsg *a = add_one(ID1), *b = add_one(ID2);
	char from[256], to[256];

	snprintf(from, sizeof(from), "%s/outbound/%s.msg", spooldir, ID1);
	snprintf(to, sizeof(to), "%s/inbound/%s.msg", spooldir, ID1);
	ck_assert_int_eq(rename(from, to), 0);
	snprintf(from, sizeof(from), "%s/outbound/%s.msg", spooldir, ID2);
	snprintf(to, sizeof(to), "%s/outbound/%s.msg", spooldir, ID3);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(restart(), 0);
	ck_assert(file_exists("corrupt", ID1 ".msg"));
	ck_assert(file_exists("corrupt", ID3 ".msg"));
	qmsg_free(a);
	qmsg_free(b);
}
END_TEST

START_TEST(leftovers_removed)
{
	struct qmsg *a = add_one(ID1), *b = add_one(ID2);
	char path[256];

	/* A remove cut between its unlinks leaves the envelope alone. */
	update_one(b);
	snprintf(path, sizeof(path), "%s/outbound/%s.msg", spooldir, ID2);
	ck_assert_int_eq(unlink(path), 0);
	/* Adds and updates cut before their commit. */
	snprintf(path, sizeof(path), "%s/tmp/%s.msg", spooldir, ID3);
	write_file(path, "partial", 7);
	snprintf(path, sizeof(path), "%s/tmp/%s.env.3", spooldir, ID2);
	write_file(path, "mapispool-envelope 1\n", 21);
	snprintf(path, sizeof(path), "%s/outbound/notes.txt", spooldir);
	write_file(path, "?", 1);
	/* Not ours either: a message that is a symbolic link, and a file
	 * of an older layout. */
	snprintf(path, sizeof(path), "%s/outbound/0190a1b2c3d400020000.msg", spooldir);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/outbound/%s.eml", spooldir, ID3);
	write_file(path, "old", 3);
	ck_assert_int_eq(restart(), 1);
	ck_assert_str_eq(found[0]->id, ID1);
	ck_assert(!file_exists("outbound", ID2 ".env"));
	ck_assert_uint_eq(count_files("tmp"), 0);
	ck_assert_uint_eq(count_files("outbound"), 1);
	ck_assert(file_exists("corrupt", "notes.txt"));
	ck_assert(file_exists("corrupt", "0190a1b2c3d400020000.msg"));
	ck_assert(file_exists("corrupt", ID3 ".eml"));
	free_found();
	qmsg_free(a);
	qmsg_free(b);
}
END_TEST

START_TEST(copy_from_file)
{
	struct qmsg *m = sample(ID1, 0), *bad = sample(ID2, 5);
	char src[256], *data, big[100000];
	struct result r[2] = { 0 };
	size_t len;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	snprintf(src, sizeof(src), "%s/fetched", tmpdir);
	write_file(src, big, sizeof(big));
	m->size = sizeof(big);
	spool_add(sp, m, NULL, 0, src, on_done, &r[0]);
	/* An envelope that disagrees with the file's size is refused. */
	spool_add(sp, bad, NULL, 0, src, on_done, &r[1]);
	wait_all(r, 2);
	ck_assert_msg(r[0].hr == S_OK, "%s", r[0].error);
	ck_assert_int_eq(r[1].hr, MAPI_E_DISK_ERROR);
	ck_assert_ptr_nonnull(strstr(r[1].error, "100000 bytes, not 5"));
	ck_assert_int_eq(access(src, F_OK), 0);		/* copied, not moved */
	ck_assert_int_eq(restart(), 1);
	data = read_data(found[0], &len);
	ck_assert_uint_eq(len, sizeof(big));
	ck_assert_mem_eq(data, big, len);
	ck_assert_uint_eq(count_files("tmp"), 0);
	free(data);
	free_found();
	qmsg_free(m);
	qmsg_free(bad);
}
END_TEST

START_TEST(missing_source_file)
{
	struct qmsg *m = sample(ID1, 5);
	struct result r = { 0 };

	spool_add(sp, m, NULL, 0, "/nonexistent/file", on_done, &r);
	wait_all(&r, 1);
	ck_assert_int_eq(r.hr, MAPI_E_DISK_ERROR);
	ck_assert_ptr_nonnull(strstr(r.error, "/nonexistent/file"));
	ck_assert_uint_eq(count_files("outbound") + count_files("tmp"), 0);
	qmsg_free(m);
}
END_TEST

START_TEST(update_of_unknown_message)
{
	struct qmsg *m = sample(ID1, 5);
	struct result r = { 0 };

	spool_update(sp, m, on_done, &r);
	wait_all(&r, 1);
	ck_assert_int_eq(r.hr, MAPI_E_NOT_FOUND);
	ck_assert_uint_eq(count_files("outbound") + count_files("tmp"), 0);
	qmsg_free(m);
}
END_TEST

START_TEST(invalid_message_refused)
{
	struct qmsg *m = sample(ID1, 1);
	struct result r[3] = { 0 };

	m->rcpts[0].unit = 5;
	spool_add(sp, m, "x", 1, NULL, on_done, &r[0]);
	spool_update(sp, m, on_done, &r[1]);
	memcpy(m->id, "../../etc/passwd", 17);
	spool_remove(sp, m, on_done, &r[2]);
	wait_all(r, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(r[i].hr, MAPI_E_INVALID_PARAMETER);
	ck_assert_uint_eq(count_files("outbound") + count_files("tmp"), 0);
	qmsg_free(m);
}
END_TEST

/*
 * Write errors, in a child of our own so that its limits die with it: the
 * child's exit status is the number of the first check that failed.
 */
static int
child_write_limit(rlim_t limit, size_t big_len, const char *sender)
{
	struct rlimit rl = { limit, limit };
	struct result r[2] = { 0 };
	struct qmsg *big = sample(ID1, big_len), *small = sample(ID2, 1);
	char *data = calloc(1, big_len), err[256];
	int failed = 0;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) == -1)
		return 1;
	free(big->sender);
	big->sender = xstrdup(sender);
	base = event_base_new();
	pool = worker_pool_new(base, 2);
	if ((sp = spool_open(spooldir, pool, err, sizeof(err))) == NULL)
		return 2;
	/* Same batch: one fails, the other goes on. */
	spool_add(sp, big, data, big_len, NULL, on_done, &r[0]);
	spool_add(sp, small, "x", 1, NULL, on_done, &r[1]);
	for (int i = 0; i < 1000 && (r[0].done == 0 || r[1].done == 0); i++)
		event_base_loop(base, EVLOOP_ONCE);
	if (r[0].hr != MAPI_E_DISK_ERROR || strstr(r[0].error, "File too large") == NULL)
		failed = 3;
	else if (r[1].hr != S_OK)
		failed = 4;
	else if (file_exists("outbound", ID1 ".msg") || file_exists("outbound", ID1 ".env"))
		failed = 5;
	else if (!file_exists("outbound", ID2 ".msg") || count_files("tmp") != 0)
		failed = 6;
	close_spool();
	qmsg_free(big);
	qmsg_free(small);
	free(data);
	return failed;
}

static void
in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	close_spool();
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		_exit(fn(arg));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed check %d",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	open_spool();
}

/* The message's bytes cannot be written. */
static int
big_data(void *arg)
{
	(void)arg;
	return child_write_limit(4096, 8192, "alice");
}

/* The bytes fit, the envelope does not: the bytes go too. */
static int
big_envelope(void *arg)
{
	char sender[SPOOL_MAX_ADDRESS];

	(void)arg;
	memset(sender, 's', sizeof(sender) - 1);
	sender[sizeof(sender) - 1] = '\0';
	return child_write_limit(400, 10, sender);
}

START_TEST(write_error)
{
	in_child(big_data, NULL);
	in_child(big_envelope, NULL);
	ck_assert_int_eq(restart(), 1);
	ck_assert_str_eq(found[0]->id, ID2);
	free_found();
}
END_TEST

/* A full disk, where a small tmpfs can be had (a private mount namespace:
 * root, or user namespaces); else there is nothing to check. */
static int
disk_full(void *arg)
{
	struct result r = { 0 };
	struct qmsg *m;
	char *data, err[256];
	int failed = 0;

	(void)arg;
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", spooldir, "tmpfs", 0, "size=64k") == -1)
		return 77;
	m = sample(ID1, 256 * 1024);
	data = calloc(1, m->size);
	base = event_base_new();
	pool = worker_pool_new(base, 1);
	if ((sp = spool_open(spooldir, pool, err, sizeof(err))) == NULL)
		return 2;
	spool_add(sp, m, data, m->size, NULL, on_done, &r);
	for (int i = 0; i < 1000 && r.done == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	if (r.hr != MAPI_E_NOT_ENOUGH_DISK || strncmp(r.error, "spool disk full: ", 17) != 0)
		failed = 3;
	else if (count_files("outbound") + count_files("tmp") != 0)
		failed = 4;
	close_spool();
	qmsg_free(m);
	free(data);
	return failed;
}

START_TEST(disk_full_error)
{
	int status;
	pid_t pid;

	close_spool();
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0)
		_exit(disk_full(NULL));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		fprintf(stderr, "# disk_full_error: no tmpfs here, not checked\n");
	else
		ck_assert_msg(WEXITSTATUS(status) == 0, "child failed check %d",
			      WEXITSTATUS(status));
	open_spool();
}
END_TEST

START_TEST(new_ids)
{
	char prev[SPOOL_ID_LEN + 1] = "", id[SPOOL_ID_LEN + 1];
	struct qmsg *m = sample(ID1, 0);
	size_t len;

	for (int i = 0; i < 10000; i++) {
		spool_new_id(sp, id);
		ck_assert_uint_eq(strlen(id), SPOOL_ID_LEN);
		ck_assert_uint_eq(strspn(id, "0123456789abcdef"), SPOOL_ID_LEN);
		/* Sorted by time, then by the counter. */
		ck_assert_str_gt(id, prev);
		memcpy(prev, id, sizeof(id));
	}
	memcpy(m->id, id, sizeof(id));
	free(format(m, &len));
	qmsg_free(m);
}
END_TEST

START_TEST(open_errors)
{
	char err[256], path[256];
	struct spool *s;

	snprintf(path, sizeof(path), "%s/file", tmpdir);
	write_file(path, "", 0);
	ck_assert_ptr_null(s = spool_open(path, pool, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
	snprintf(path, sizeof(path), "%s/none/deeper", tmpdir);
	ck_assert_ptr_null(s = spool_open(path, pool, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(close_with_pending)
{
	struct qmsg *m = sample(ID1, 1);
	struct result r = { 0 };

	/* Dropped at close, done never called (valgrind: nothing leaks). */
	spool_add(sp, m, "x", 1, NULL, on_done, &r);
	spool_update(sp, m, on_done, &r);
	close_spool();
	ck_assert_int_eq(r.done, 0);
	qmsg_free(m);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("envelope");

	tcase_add_test(tc, pack_keeps_everything);
	tcase_add_test(tc, roundtrip_odd_bytes);
	tcase_add_test(tc, roundtrip_inbound_and_empty);
	tcase_add_loop_test(tc, roundtrip_unit_flags, 0, 4);
	tcase_add_test(tc, roundtrip_rcpt_done);
	tcase_add_test(tc, format_refuses_out_of_bounds);
	tcase_add_test(tc, base_env_is_valid);
	tcase_add_loop_test(tc, malformed_rejected, 0, (int)(sizeof(broken) / sizeof(broken[0])));
	tcase_add_test(tc, every_prefix_rejected);
	tcase_add_test(tc, nul_byte_rejected);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, oversize_rejected);
	tcase_add_test(tc, mutations);
	tcase_add_test(tc, helpers);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("queues");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, add_then_recover);
	tcase_add_test(tc, recover_in_id_order);
	tcase_add_test(tc, update_then_recover);
	tcase_add_test(tc, remove_then_recover);
	tcase_add_test(tc, add_update_in_one_batch);
	tcase_add_test(tc, inbound_queue);
	tcase_add_test(tc, group_commit);
	tcase_add_test(tc, submit_from_done);
	tcase_add_test(tc, torn_envelope_set_aside);
	tcase_add_test(tc, bad_data_set_aside);
	tcase_add_test(tc, misplaced_envelope_set_aside);
	tcase_add_test(tc, leftovers_removed);
	tcase_add_test(tc, copy_from_file);
	tcase_add_test(tc, missing_source_file);
	tcase_add_test(tc, update_of_unknown_message);
	tcase_add_test(tc, invalid_message_refused);
	tcase_add_test(tc, write_error);
	tcase_add_test(tc, disk_full_error);
	tcase_add_test(tc, new_ids);
	tcase_add_test(tc, open_errors);
	tcase_add_test(tc, close_with_pending);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
