/*
 * check_transport.c — the maildir and pipe transports on a real event loop
 * and worker pool: what they deliver, what they import and when they
 * delete it, how commands are run (no shell, exit codes, output, timeouts)
 * and that close silences them.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maildir.h"
#include "transport.h"

static char dir[PATH_MAX];
static struct event_base *base;
static struct worker_pool *pool;
static struct transport_env env;

static void __attribute__((format(printf, 2, 3)))
pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && n < PATH_MAX);
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
setup(void)
{
	pathf(dir, "/tmp/check_transport.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	pool = worker_pool_new(base, 2);
	ck_assert_ptr_nonnull(pool);
	env = (struct transport_env){ .base = base, .workers = pool, .tmp_dir = dir };
}

static void
teardown(void)
{
	worker_pool_free(pool);
	event_base_free(base);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

/* Run the loop until *flag or ms pass; *flag. */
static bool
run_until(const bool *flag, int ms)
{
	bool expired = false;
	struct event *t = evtimer_new(base, on_deadline, &expired);
	const struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

	evtimer_add(t, &tv);
	while (!*flag && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return *flag;
}

static void
spin(int ms)
{
	bool never = false;

	run_until(&never, ms);
}

static void
spit(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static size_t
count(const char *path)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(path);

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

struct sent {
	bool done;
	int calls;
	struct xp_result r;
};

static void
on_sent(void *ctx, const struct xp_result *r)
{
	struct sent *s = ctx;

	s->calls++;
	s->done = true;
	s->r = *r;
}

static struct transport_config
config(enum transport_type type)
{
	struct transport_config tc;

	memset(&tc, 0, sizeof(tc));
	snprintf(tc.name, sizeof(tc.name), "test");
	tc.type = type;
	tc.timeout = 10000;
	return tc;
}

/* ---- maildir: send ---- */

static const char message[] = "From: alice@example.org\nTo: bob@example.net\n"
			      "Subject: test\n\nline one\n.\n\001\377 binary\n";

static struct qrcpt rcpts[] = {
	{ "bob@example.net", "SMTP", 0 },
};
static struct qmsg msg = { .id = "0123456789abcdef0123", .sender = "alice@example.org",
			   .rcpts = rcpts, .n_rcpts = 1 };

START_TEST(maildir_send)
{
	struct transport_config tc = config(TRANSPORT_MAILDIR);
	char out[PATH_MAX], data[PATH_MAX], path[PATH_MAX], err[256];
	struct sent s = { 0 };
	char **names, *got;
	size_t n, len;
	void *xp;

	pathf(out, "%s/out", dir);
	pathf(data, "%s/msg.eml", dir);
	spit(data, message, sizeof(message) - 1, 0600);
	tc.deliver_to = out;
	xp = transport_maildir.open(&tc, &env, err, sizeof(err));
	ck_assert_msg(xp != NULL, "%s", err);

	struct xp_send req = { .msg = &msg, .unit = 0, .data_path = data, .done = on_sent, .ctx = &s };

	transport_maildir.send(xp, &req);
	ck_assert(!s.done);	/* never from inside send */
	ck_assert(run_until(&s.done, 5000));
	ck_assert_int_eq(s.r.outcome, XP_SENT);
	names = maildir_list_new(out, 10, &n, err, sizeof(err));
	ck_assert_ptr_nonnull(names);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strstr(s.r.text, names[0]) != NULL, "%s", s.r.text);
	pathf(path, "%s/new/%s", out, names[0]);
	got = slurp(path, &len);
	ck_assert_uint_eq(len, sizeof(message) - 1);
	ck_assert(memcmp(got, message, len) == 0);
	free(got);
	maildir_free_list(names, n);
	pathf(path, "%s/tmp", out);
	ck_assert_uint_eq(count(path), 0);
	/* the queued file is the spooler's: still there */
	ck_assert_int_eq(access(data, F_OK), 0);
	spin(50);
	ck_assert_int_eq(s.calls, 1);
	transport_maildir.close(xp);
}
END_TEST

START_TEST(maildir_send_errors)
{
	struct transport_config tc = config(TRANSPORT_MAILDIR);
	char out[PATH_MAX], data[PATH_MAX], err[256];
	struct sent s = { 0 };
	void *xp;

	pathf(out, "%s/out", dir);
	pathf(data, "%s/missing.eml", dir);
	tc.deliver_to = out;
	xp = transport_maildir.open(&tc, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(xp);

	struct xp_send req = { .msg = &msg, .unit = 0, .data_path = data, .done = on_sent, .ctx = &s };

	/* a local folder never fails for good: it waits for a person */
	transport_maildir.send(xp, &req);
	ck_assert(run_until(&s.done, 5000));
	ck_assert_int_eq(s.r.outcome, XP_DEFERRED);
	ck_assert_msg(strstr(s.r.text, "missing.eml") != NULL, "%s", s.r.text);
	pathf(out, "%s/out/new", dir);
	ck_assert_uint_eq(count(out), 0);
	transport_maildir.close(xp);

	/* no deliver_to: not this transport's to send */
	tc.deliver_to = NULL;
	pathf(out, "%s/in", dir);
	tc.pickup = out;
	xp = transport_maildir.open(&tc, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(xp);
	s = (struct sent){ 0 };
	transport_maildir.send(xp, &req);
	ck_assert(!s.done);
	ck_assert(run_until(&s.done, 5000));
	ck_assert_int_eq(s.r.outcome, XP_NOT_ME);
	transport_maildir.close(xp);

	/* a folder that cannot be made */
	pathf(out, "%s/file", dir);
	spit(out, "", 0, 0600);
	pathf(out, "%s/file/md", dir);
	tc.deliver_to = out;
	ck_assert_ptr_null(transport_maildir.open(&tc, &env, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "file"));
}
END_TEST

START_TEST(maildir_close_in_flight)
{
	struct transport_config tc = config(TRANSPORT_MAILDIR);
	char out[PATH_MAX], data[PATH_MAX], err[256];
	struct sent s = { 0 };
	void *xp;

	pathf(out, "%s/out", dir);
	pathf(data, "%s/msg.eml", dir);
	spit(data, message, sizeof(message) - 1, 0600);
	tc.deliver_to = out;
	xp = transport_maildir.open(&tc, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(xp);

	struct xp_send req = { .msg = &msg, .unit = 0, .data_path = data, .done = on_sent, .ctx = &s };

	transport_maildir.send(xp, &req);
	transport_maildir.close(xp);
	for (int i = 0; i < 100 && worker_pending(pool) > 0; i++)
		spin(10);
	spin(20);
	ck_assert_int_eq(s.calls, 0);
}
END_TEST

/* ---- maildir: fetch ---- */

struct fetch {
	char pickup_new[PATH_MAX];
	char seen[16][PATH_MAX];	/* imported, in order */
	char content[16][64];
	int n_seen;
	int fail_at;			/* the import that fails; -1: none */
	bool sync;			/* answer from inside import */
	void *close_xp;			/* close this at the first import */
	/* the answer the loop gives next */
	void (*imported)(void *xpctx, HRESULT hr);
	void *xpctx;
	HRESULT hr;
	/* the end */
	bool done;
	int calls;
	unsigned fetched;
	struct xp_result r;
};

static void
answer(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;

	(void)fd;
	(void)what;
	f->imported(f->xpctx, f->hr);
}

static void
on_import(void *ctx, const char *path, void (*imported)(void *xpctx, HRESULT hr), void *xpctx)
{
	struct fetch *f = ctx;
	const struct timeval now = { 0, 0 };
	char *data;

	ck_assert_int_lt(f->n_seen, 16);
	/* at least once: still at its source while the spooler imports it,
	 * and those before it gone once they were imported */
	ck_assert_msg(access(path, F_OK) == 0, "%s gone before imported", path);
	for (int i = 0; i < f->n_seen; i++)
		ck_assert_msg(access(f->seen[i], F_OK) == -1, "%s left after imported",
			      f->seen[i]);
	ck_assert(strncmp(path, f->pickup_new, strlen(f->pickup_new)) == 0);
	pathf(f->seen[f->n_seen], "%s", path);
	data = slurp(path, NULL);
	snprintf(f->content[f->n_seen], sizeof(f->content[0]), "%s", data);
	free(data);
	f->hr = f->n_seen == f->fail_at ? MAPI_E_DISK_ERROR : S_OK;
	f->n_seen++;
	if (f->close_xp != NULL) {
		transport_maildir.close(f->close_xp);
		f->close_xp = NULL;
	}
	if (f->sync) {
		imported(xpctx, f->hr);
		return;
	}
	f->imported = imported;
	f->xpctx = xpctx;
	ck_assert_int_eq(event_base_once(base, -1, EV_TIMEOUT, answer, f, &now), 0);
}

static void
on_fetched(void *ctx, const struct xp_result *r, unsigned fetched)
{
	struct fetch *f = ctx;

	f->calls++;
	f->done = true;
	f->fetched = fetched;
	f->r = *r;
}

/* A pickup folder with n messages "message I", in this order, plus what
 * must be left alone: a dotfile in new/, a file in tmp/. */
static void *
open_pickup(struct fetch *f, int n)
{
	struct transport_config tc = config(TRANSPORT_MAILDIR);
	char in[PATH_MAX], path[PATH_MAX], err[256], text[32];
	void *xp;

	pathf(in, "%s/in", dir);
	tc.pickup = in;
	xp = transport_maildir.open(&tc, &env, err, sizeof(err));
	ck_assert_msg(xp != NULL, "%s", err);
	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "message %d", i);
		ck_assert_msg(maildir_deliver(in, text, strlen(text), NULL, 0, NULL, 0, err,
					      sizeof(err)) == 0, "%s", err);
	}
	pathf(path, "%s/new/.hidden", in);
	spit(path, "hidden", 6, 0600);
	pathf(path, "%s/tmp/partial", in);
	spit(path, "partial", 7, 0600);
	memset(f, 0, sizeof(*f));
	f->fail_at = -1;
	pathf(f->pickup_new, "%s/new/", in);
	return xp;
}

START_TEST(maildir_fetch)
{
	struct fetch f;
	void *xp = open_pickup(&f, 5);
	struct xp_fetch req = { .import = on_import, .done = on_fetched, .ctx = &f };
	char path[PATH_MAX];

	transport_maildir.fetch(xp, &req);
	ck_assert(!f.done);
	ck_assert(run_until(&f.done, 5000));
	ck_assert_int_eq(f.r.outcome, XP_SENT);
	ck_assert_uint_eq(f.fetched, 5);
	ck_assert_int_eq(f.n_seen, 5);
	for (int i = 0; i < 5; i++) {
		char want[32];

		snprintf(want, sizeof(want), "message %d", i);
		ck_assert_str_eq(f.content[i], want);
		ck_assert_int_eq(access(f.seen[i], F_OK), -1);
	}
	/* only the dotfile is left; tmp/ untouched */
	pathf(path, "%s/in/new/.hidden", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	pathf(path, "%s/in/tmp/partial", dir);
	ck_assert_int_eq(access(path, F_OK), 0);

	/* again: nothing new */
	f.done = false;
	f.n_seen = 0;
	transport_maildir.fetch(xp, &req);
	ck_assert(run_until(&f.done, 5000));
	ck_assert_int_eq(f.r.outcome, XP_SENT);
	ck_assert_uint_eq(f.fetched, 0);
	ck_assert_int_eq(f.calls, 2);
	transport_maildir.close(xp);
}
END_TEST

static void
check_import_failure(bool sync)
{
	struct fetch f;
	void *xp = open_pickup(&f, 5);
	struct xp_fetch req = { .import = on_import, .done = on_fetched, .ctx = &f };

	f.fail_at = 2;
	f.sync = sync;
	transport_maildir.fetch(xp, &req);
	ck_assert(run_until(&f.done, 5000));
	ck_assert_int_eq(f.r.outcome, XP_DEFERRED);
	ck_assert_msg(strstr(f.r.text, f.seen[2]) != NULL, "%s", f.r.text);
	ck_assert_uint_eq(f.fetched, 2);
	ck_assert_int_eq(f.n_seen, 3);
	ck_assert_int_eq(access(f.seen[0], F_OK), -1);
	ck_assert_int_eq(access(f.seen[1], F_OK), -1);
	/* the failed one and those after it wait for the next fetch */
	ck_assert_int_eq(access(f.seen[2], F_OK), 0);
	ck_assert_uint_eq(count(f.pickup_new), 3);
	spin(20);
	ck_assert_int_eq(f.calls, 1);

	f.done = false;
	f.n_seen = 0;
	f.fail_at = -1;
	transport_maildir.fetch(xp, &req);
	ck_assert(run_until(&f.done, 5000));
	ck_assert_uint_eq(f.fetched, 3);
	ck_assert_str_eq(f.content[0], "message 2");
	ck_assert_str_eq(f.content[2], "message 4");
	transport_maildir.close(xp);
}

START_TEST(maildir_fetch_failure)
{
	check_import_failure(false);
}
END_TEST

START_TEST(maildir_fetch_failure_sync)
{
	check_import_failure(true);
}
END_TEST

START_TEST(maildir_fetch_misc)
{
	struct transport_config tc = config(TRANSPORT_MAILDIR);
	struct fetch f, g;
	void *xp = open_pickup(&f, 2);
	struct xp_fetch req = { .import = on_import, .done = on_fetched, .ctx = &f };
	struct xp_fetch req2 = { .import = on_import, .done = on_fetched, .ctx = &g };
	char out[PATH_MAX], err[256];

	/* a second fetch while one runs would import everything twice */
	memset(&g, 0, sizeof(g));
	transport_maildir.fetch(xp, &req);
	transport_maildir.fetch(xp, &req2);
	ck_assert(run_until(&g.done, 5000));
	ck_assert_int_eq(g.r.outcome, XP_DEFERRED);
	ck_assert_int_eq(g.n_seen, 0);
	ck_assert(run_until(&f.done, 5000));
	ck_assert_uint_eq(f.fetched, 2);
	transport_maildir.close(xp);

	/* no pickup */
	pathf(out, "%s/out", dir);
	tc.deliver_to = out;
	xp = transport_maildir.open(&tc, &env, err, sizeof(err));
	ck_assert_ptr_nonnull(xp);
	memset(&g, 0, sizeof(g));
	transport_maildir.fetch(xp, &req2);
	ck_assert(run_until(&g.done, 5000));
	ck_assert_int_eq(g.r.outcome, XP_NOT_ME);
	ck_assert_uint_eq(g.fetched, 0);
	transport_maildir.close(xp);
}
END_TEST

/* Closed while the spooler imports: no done, but the message it got is
 * removed at its source all the same, and the rest stays. */
START_TEST(maildir_fetch_close)
{
	struct fetch f;
	void *xp = open_pickup(&f, 3);
	struct xp_fetch req = { .import = on_import, .done = on_fetched, .ctx = &f };

	f.close_xp = xp;
	transport_maildir.fetch(xp, &req);
	for (int i = 0; i < 50 && (f.n_seen == 0 || worker_pending(pool) > 0); i++)
		spin(10);
	spin(50);
	ck_assert_int_eq(f.n_seen, 1);
	ck_assert_int_eq(f.calls, 0);
	ck_assert_int_eq(access(f.seen[0], F_OK), -1);
	ck_assert_uint_eq(count(f.pickup_new), 2);
}
END_TEST

/* ---- pipe ---- */

/* record.sh OUT CODE ARGS...: each argument to OUT/argN, their number to
 * OUT/argc, stdin to OUT/stdin, some output on both streams, exit CODE. */
static const char record_sh[] =
	"#!/bin/sh\n"
	"out=\"$1\"; code=\"$2\"; shift 2\n"
	"mkdir -p \"$out\"\n"
	"i=0\n"
	"for a in \"$@\"; do printf '%s' \"$a\" > \"$out/arg$i\"; i=$((i+1)); done\n"
	"printf '%s' \"$i\" > \"$out/argc\"\n"
	"cat > \"$out/stdin\"\n"
	"echo 'to stdout'\n"
	"echo 'to stderr: something went wrong' >&2\n"
	"if [ \"$code\" = signal ]; then kill -9 $$; fi\n"
	"exit \"$code\"\n";

/* sleeper.sh OUT: its pid and its child's, then waits. */
static const char sleeper_sh[] = "#!/bin/sh\n"
				 "sleep 30 &\n"
				 "echo $! > \"$1/sleeppid\"\n"
				 "echo $$ > \"$1/shpid\"\n"
				 "wait\n";

/* chatty.sh: far more output than is kept, then fails. */
static const char chatty_sh[] = "#!/bin/sh\n"
				"i=0\n"
				"while [ $i -lt 2000 ]; do echo \"line $i of useless output\"; "
				"i=$((i+1)); done\n"
				"printf 'the \\033[1mlast\\033[0m words\\r\\n' >&2\n"
				"exit 1\n";

static void
script(const char *name, const char *text)
{
	char path[PATH_MAX];

	pathf(path, "%s/%s", dir, name);
	spit(path, text, strlen(text), 0700);
}

static void *
open_pipe(const char *template, msec_t timeout)
{
	struct transport_config tc = config(TRANSPORT_PIPE);
	char command[PATH_MAX * 2], err[256];
	void *xp;

	/* every @DIR@ is the test's directory */
	char *o = command;

	for (const char *p = template; *p != '\0';) {
		ck_assert(o + PATH_MAX < command + sizeof(command));
		if (strncmp(p, "@DIR@", 5) == 0) {
			o = stpcpy(o, dir);
			p += 5;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	tc.command = command;
	tc.timeout = timeout;
	xp = transport_pipe.open(&tc, &env, err, sizeof(err));
	ck_assert_msg(xp != NULL, "%s: %s", command, err);
	return xp;
}

static char *
rec(const char *what)
{
	char path[PATH_MAX];

	pathf(path, "%s/rec/%s", dir, what);
	return slurp(path, NULL);
}

static void
assert_rec(const char *what, const char *want)
{
	char *got = rec(what);

	ck_assert_str_eq(got, want);
	free(got);
}

static void
data_file(char *path)
{
	pathf(path, "%s/msg.eml", dir);
	spit(path, message, sizeof(message) - 1, 0600);
}

static void
send_and_wait(void *xp, const struct qmsg *m, int unit, struct sent *s)
{
	char data[PATH_MAX];

	data_file(data);
	struct xp_send req = { .msg = m, .unit = unit, .data_path = data, .done = on_sent, .ctx = s };

	*s = (struct sent){ 0 };
	transport_pipe.send(xp, &req);
	ck_assert(!s->done);
	ck_assert(run_until(&s->done, 10000));
}

START_TEST(pipe_sent)
{
	char pwned[4][PATH_MAX], addr[4][PATH_MAX];
	struct qrcpt r[6];
	struct qmsg m = { .id = "0123456789abcdef0123", .sender = "alice@example.org" };
	struct sent s;
	char *in;
	void *xp;

	script("record.sh", record_sh);
	xp = open_pipe("@DIR@/record.sh @DIR@/rec 0 -f {sender} -- {recipients}", 60000);
	/* addresses a shell would act on */
	for (int i = 0; i < 4; i++)
		pathf(pwned[i], "%s/pwned%d", dir, i);
	pathf(addr[0], "x; touch %s", pwned[0]);
	pathf(addr[1], "$(touch %s)", pwned[1]);
	pathf(addr[2], "`touch %s`", pwned[2]);
	pathf(addr[3], "a b@example.net | touch %s", pwned[3]);
	r[0] = (struct qrcpt){ "bob@example.net", "SMTP", 0 };
	r[1] = (struct qrcpt){ "other@example.net", "SMTP", 1 };
	for (int i = 0; i < 4; i++)
		r[2 + i] = (struct qrcpt){ addr[i], "FAX", 0 };
	m.rcpts = r;
	m.n_rcpts = 6;

	send_and_wait(xp, &m, 0, &s);
	ck_assert_msg(s.r.outcome == XP_SENT, "%d %s", s.r.outcome, s.r.text);
	assert_rec("argc", "8");
	assert_rec("arg0", "-f");
	assert_rec("arg1", "alice@example.org");
	assert_rec("arg2", "--");
	assert_rec("arg3", "bob@example.net");
	for (int i = 0; i < 4; i++) {
		char what[8];

		snprintf(what, sizeof(what), "arg%d", 4 + i);
		assert_rec(what, addr[i]);
		ck_assert_int_eq(access(pwned[i], F_OK), -1);
	}
	in = rec("stdin");
	ck_assert(memcmp(in, message, sizeof(message) - 1) == 0);
	free(in);
	spin(20);
	ck_assert_int_eq(s.calls, 1);
	transport_pipe.close(xp);
}
END_TEST

START_TEST(pipe_words)
{
	struct qrcpt r[] = { { "a@example.net", "SMTP", 0 }, { "b@example.net", "SMTP", 0 } };
	struct qmsg m = { .id = "0123456789abcdef0123", .sender = "", .rcpts = r, .n_rcpts = 2 };
	struct sent s;
	void *xp;

	script("record.sh", record_sh);
	xp = open_pipe("  @DIR@/record.sh\t@DIR@/rec 0 --to={recipients} \"from: {sender}.\" "
		       "{sender} \"a \\\"quoted\\\" \\\\word\" it's \"\" x\\y",
		       60000);
	send_and_wait(xp, &m, 0, &s);
	ck_assert_msg(s.r.outcome == XP_SENT, "%s", s.r.text);
	assert_rec("argc", "7");
	assert_rec("arg0", "--to=a@example.net,b@example.net");
	assert_rec("arg1", "from: .");
	assert_rec("arg2", "");		/* the null sender */
	assert_rec("arg3", "a \"quoted\" \\word");
	assert_rec("arg4", "it's");
	assert_rec("arg5", "");
	assert_rec("arg6", "x\\y");
	transport_pipe.close(xp);
}
END_TEST

START_TEST(pipe_exit_codes)
{
	struct sent s;
	void *xp;

	script("record.sh", record_sh);
	xp = open_pipe("@DIR@/record.sh @DIR@/rec 75 {recipients}", 60000);
	send_and_wait(xp, &msg, 0, &s);
	ck_assert_int_eq(s.r.outcome, XP_DEFERRED);
	ck_assert_msg(strstr(s.r.text, "exited with status 75") != NULL, "%s", s.r.text);
	transport_pipe.close(xp);

	xp = open_pipe("@DIR@/record.sh @DIR@/rec 1 {recipients}", 60000);
	send_and_wait(xp, &msg, 0, &s);
	ck_assert_int_eq(s.r.outcome, XP_FAILED);
	ck_assert_msg(strstr(s.r.text, "record.sh exited with status 1: ") != NULL, "%s",
		      s.r.text);
	ck_assert_msg(strstr(s.r.text, "something went wrong") != NULL, "%s", s.r.text);
	ck_assert_msg(strstr(s.r.text, "to stdout") != NULL, "%s", s.r.text);
	transport_pipe.close(xp);

	xp = open_pipe("@DIR@/record.sh @DIR@/rec signal {recipients}", 60000);
	send_and_wait(xp, &msg, 0, &s);
	ck_assert_int_eq(s.r.outcome, XP_FAILED);
	ck_assert_msg(strstr(s.r.text, "signal 9") != NULL, "%s", s.r.text);
	transport_pipe.close(xp);
}
END_TEST

START_TEST(pipe_output_bounded)
{
	struct sent s;
	void *xp;

	script("chatty.sh", chatty_sh);
	xp = open_pipe("@DIR@/chatty.sh", 60000);
	send_and_wait(xp, &msg, 0, &s);
	ck_assert_int_eq(s.r.outcome, XP_FAILED);
	ck_assert_uint_lt(strlen(s.r.text), sizeof(s.r.text));
	/* the end is kept, controls as spaces */
	ck_assert_msg(strstr(s.r.text, "line 1999 of useless output the [1mlast [0m words") !=
			      NULL,
		      "%s", s.r.text);
	ck_assert_ptr_null(strstr(s.r.text, "line 0 "));
	ck_assert_ptr_null(strchr(s.r.text, '\n'));
	ck_assert_ptr_null(strchr(s.r.text, '\r'));
	transport_pipe.close(xp);
}
END_TEST

static pid_t
read_pid(const char *name)
{
	char path[PATH_MAX];
	char *text;
	pid_t pid;

	pathf(path, "%s/%s", dir, name);
	for (int i = 0; i < 200 && access(path, F_OK) == -1; i++)
		spin(10);
	text = slurp(path, NULL);
	pid = (pid_t)atol(text);
	free(text);
	ck_assert_int_gt(pid, 1);
	return pid;
}

/* Gone, or a zombie waiting for a parent that is not us. */
static bool
dead(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && (p[2] == 'Z' || p[2] == 'X');
}

START_TEST(pipe_timeout)
{
	struct timeval t0, t1;
	struct sent s;
	pid_t sh, sleeper;
	void *xp;

	script("sleeper.sh", sleeper_sh);
	xp = open_pipe("@DIR@/sleeper.sh @DIR@", 300);
	gettimeofday(&t0, NULL);
	send_and_wait(xp, &msg, 0, &s);
	gettimeofday(&t1, NULL);
	ck_assert_int_eq(s.r.outcome, XP_DEFERRED);
	ck_assert_msg(strstr(s.r.text, "timed out after 300ms") != NULL, "%s", s.r.text);
	/* SIGTERM did it, no need for the SIGKILL later */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 4);
	sh = read_pid("shpid");
	sleeper = read_pid("sleeppid");
	ck_assert(dead(sh));
	/* the whole process group went */
	for (int i = 0; i < 100 && !dead(sleeper); i++)
		usleep(10000);
	ck_assert(dead(sleeper));
	transport_pipe.close(xp);
}
END_TEST

START_TEST(pipe_cannot_run)
{
	char path[PATH_MAX];
	struct sent s;
	void *xp;

	xp = open_pipe("@DIR@/nonexistent -f {sender}", 60000);
	send_and_wait(xp, &msg, 0, &s);
	ck_assert_int_eq(s.r.outcome, XP_FAILED);
	ck_assert_msg(strstr(s.r.text, "nonexistent") != NULL, "%s", s.r.text);
	transport_pipe.close(xp);

	pathf(path, "%s/notexec", dir);
	spit(path, "#!/bin/sh\nexit 0\n", 17, 0600);
	xp = open_pipe("@DIR@/notexec", 60000);
	send_and_wait(xp, &msg, 0, &s);
	ck_assert_int_eq(s.r.outcome, XP_FAILED);
	transport_pipe.close(xp);

	/* the message file is gone: try again later */
	script("record.sh", record_sh);
	xp = open_pipe("@DIR@/record.sh @DIR@/rec 0", 60000);
	struct xp_send req = { .msg = &msg, .unit = 0, .data_path = "/nonexistent/msg.eml", .done = on_sent, .ctx = &s };

	s = (struct sent){ 0 };
	transport_pipe.send(xp, &req);
	ck_assert(!s.done);
	ck_assert(run_until(&s.done, 5000));
	ck_assert_int_eq(s.r.outcome, XP_DEFERRED);
	transport_pipe.close(xp);
}
END_TEST

START_TEST(pipe_bad_command)
{
	static const char *const bad[] = { "\"/bin/true", "", "   ", "\"\" x", "{sender} x",
					   "/usr/{recipients}/x" };
	struct transport_config tc = config(TRANSPORT_PIPE);
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tc.command = (char *)bad[i];
		err[0] = '\0';
		ck_assert_msg(transport_pipe.open(&tc, &env, err, sizeof(err)) == NULL, "%s",
			      bad[i]);
		ck_assert_str_ne(err, "");
	}
}
END_TEST

/* Several commands at once, on one instance and on two, each answered
 * with its own result; a child of someone else is left to its parent. */
START_TEST(pipe_concurrent)
{
	struct sent s[3] = { 0 };
	char data[PATH_MAX];
	void *xp1, *xp2;
	pid_t other;
	int status;

	script("record.sh", record_sh);
	xp1 = open_pipe("@DIR@/record.sh @DIR@/rec1 0", 60000);
	xp2 = open_pipe("@DIR@/record.sh @DIR@/rec2 1", 60000);
	other = fork();
	ck_assert_int_ne(other, -1);
	if (other == 0)
		_exit(7);
	data_file(data);

	struct xp_send r0 = { .msg = &msg, .unit = 0, .data_path = data, .done = on_sent, .ctx = &s[0] };
	struct xp_send r1 = { .msg = &msg, .unit = 0, .data_path = data, .done = on_sent, .ctx = &s[1] };
	struct xp_send r2 = { .msg = &msg, .unit = 0, .data_path = data, .done = on_sent, .ctx = &s[2] };

	transport_pipe.send(xp1, &r0);
	transport_pipe.send(xp2, &r1);
	transport_pipe.send(xp1, &r2);
	ck_assert(run_until(&s[0].done, 10000));
	ck_assert(run_until(&s[1].done, 10000));
	ck_assert(run_until(&s[2].done, 10000));
	ck_assert_int_eq(s[0].r.outcome, XP_SENT);
	ck_assert_int_eq(s[1].r.outcome, XP_FAILED);
	ck_assert_int_eq(s[2].r.outcome, XP_SENT);
	spin(50);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(s[i].calls, 1);
	ck_assert_int_eq(waitpid(other, &status, 0), other);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	transport_pipe.close(xp1);
	transport_pipe.close(xp2);
}
END_TEST

/* close kills what runs, reaps it, and tells nobody. */
START_TEST(pipe_close)
{
	char data[PATH_MAX];
	struct sent s = { 0 };
	pid_t sh, sleeper;
	void *xp;

	script("sleeper.sh", sleeper_sh);
	xp = open_pipe("@DIR@/sleeper.sh @DIR@", 60000);
	data_file(data);

	struct xp_send req = { .msg = &msg, .unit = 0, .data_path = data, .done = on_sent, .ctx = &s };

	transport_pipe.send(xp, &req);
	sh = read_pid("shpid");
	sleeper = read_pid("sleeppid");
	transport_pipe.close(xp);
	ck_assert(dead(sh));
	/* reaped: not even a zombie is left of ours */
	ck_assert_int_eq(waitpid(sh, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	for (int i = 0; i < 100 && !dead(sleeper); i++)
		usleep(10000);
	ck_assert(dead(sleeper));
	spin(100);
	ck_assert_int_eq(s.calls, 0);
}
END_TEST

/* maybe.sh RCPT: slow for "slow", else done at once. */
static const char maybe_sh[] = "#!/bin/sh\n"
			       "cat > /dev/null\n"
			       "if [ \"$1\" = slow ]; then exec sleep 30; fi\n"
			       "exit 0\n";

struct closer {
	void *xp;
	struct sent s[2];
};

static void
close_on_done(void *ctx, const struct xp_result *r)
{
	struct closer *c = ctx;

	on_sent(&c->s[0], r);
	transport_pipe.close(c->xp);
}

/* The spooler may close a transport from inside a done: the others
 * running are killed and never answered. */
START_TEST(pipe_close_from_done)
{
	struct qrcpt fast = { "fast", "X", 0 }, slow = { "slow", "X", 0 };
	struct qmsg mf = { .sender = "", .rcpts = &fast, .n_rcpts = 1 };
	struct qmsg ms = { .sender = "", .rcpts = &slow, .n_rcpts = 1 };
	char data[PATH_MAX];
	struct closer c = { 0 };

	script("maybe.sh", maybe_sh);
	c.xp = open_pipe("@DIR@/maybe.sh {recipients}", 60000);
	data_file(data);

	struct xp_send r0 = { .msg = &ms, .unit = 0, .data_path = data, .done = on_sent, .ctx = &c.s[1] };
	struct xp_send r1 = { .msg = &mf, .unit = 0, .data_path = data, .done = close_on_done, .ctx = &c };

	transport_pipe.send(c.xp, &r0);
	transport_pipe.send(c.xp, &r1);
	ck_assert(run_until(&c.s[0].done, 5000));
	ck_assert_int_eq(c.s[0].r.outcome, XP_SENT);
	spin(100);
	ck_assert_int_eq(c.s[0].calls, 1);
	ck_assert_int_eq(c.s[1].calls, 0);
}
END_TEST

static Suite *
transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *md = tcase_create("maildir");
	TCase *pipe = tcase_create("pipe");

	tcase_add_checked_fixture(md, setup, teardown);
	tcase_set_timeout(md, 30);
	tcase_add_test(md, maildir_send);
	tcase_add_test(md, maildir_send_errors);
	tcase_add_test(md, maildir_close_in_flight);
	tcase_add_test(md, maildir_fetch);
	tcase_add_test(md, maildir_fetch_failure);
	tcase_add_test(md, maildir_fetch_failure_sync);
	tcase_add_test(md, maildir_fetch_misc);
	tcase_add_test(md, maildir_fetch_close);
	suite_add_tcase(s, md);

	tcase_add_checked_fixture(pipe, setup, teardown);
	tcase_set_timeout(pipe, 30);
	tcase_add_test(pipe, pipe_sent);
	tcase_add_test(pipe, pipe_words);
	tcase_add_test(pipe, pipe_exit_codes);
	tcase_add_test(pipe, pipe_output_bounded);
	tcase_add_test(pipe, pipe_timeout);
	tcase_add_test(pipe, pipe_cannot_run);
	tcase_add_test(pipe, pipe_bad_command);
	tcase_add_test(pipe, pipe_concurrent);
	tcase_add_test(pipe, pipe_close);
	tcase_add_test(pipe, pipe_close_from_done);
	suite_add_tcase(s, pipe);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
