/*
 * transport_pipe.c — the pipe transport: each message is handed to a
 * command on its standard input, sendmail-style (Postfix's pipe(8),
 * nullmailer's protocols).  Exit 0: sent; 75 (EX_TEMPFAIL): deferred;
 * anything else: failed, with what the command said.
 *
 * No shell is involved.  The command is split into words once, at open:
 * blanks separate words, "double quotes" group blanks into one, and inside
 * quotes \" and \\ stand for " and \ (single quotes are ordinary
 * characters).  A word that is exactly {recipients} becomes one argument
 * per recipient and a word exactly {sender} the envelope sender (the empty
 * string for the null sender, which sendmail -f takes as such); inside a
 * longer word they are replaced as text, the recipients joined by ','.  An
 * address is thus always one argument, whatever it contains; an address
 * starting with '-' is the command's to guard against (sendmail's "--").
 *
 * The child runs in its own process group with default signal handling;
 * its stdin is the queued file itself, its stdout and stderr one pipe of
 * which the last TAIL_MAX bytes are kept for the error text.  Children are
 * reaped on SIGCHLD by pid, each instance only its own.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transport.h"

#define TAIL_MAX 512
/* After the timeout, SIGTERM; this much later, SIGKILL. */
#define KILL_GRACE_SEC 5
#define EX_TEMPFAIL 75

extern char **environ;

enum word_kind {
	W_TEXT,			/* literal, {sender}/{recipients} replaced inside */
	W_SENDER,		/* exactly {sender} */
	W_RECIPIENTS,		/* exactly {recipients} */
};

struct word {
	enum word_kind kind;
	char *text;
};

struct child;

struct xp_pipe {
	struct word *words;
	size_t n_words;
	msec_t timeout;		/* <= 0: none */
	struct event_base *base;
	struct event *sigchld;
	struct child *children;
	/* Inside a done (which may close us): close leaves the freeing to
	 * the dispatcher. */
	unsigned dispatching;
	bool closed;
};

struct child {
	struct child *next, *prev;
	struct xp_pipe *xp;
	pid_t pid;		/* -1: not started, r is the answer */
	int out;		/* the output pipe; -1 once at EOF */
	struct event *out_ev;
	struct event *timer;	/* timeout, then kill grace; or "answer now" */
	bool terminating;	/* timed out: SIGTERM sent */
	char *prog;
	char tail[TAIL_MAX];
	size_t tail_len;
	void (*done)(void *ctx, const struct xp_result *r);
	void *ctx;
	struct xp_result r;
};

static void __attribute__((format(printf, 3, 4)))
result(struct xp_result *r, enum xp_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	r->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* ---- the command's words ---- */

static void
free_words(struct word *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i].text);
	free(w);
}

static int
parse_command(const char *cmd, struct xp_pipe *xp, char *err, size_t errlen)
{
	size_t len = strlen(cmd), cap = len / 2 + 1;
	char *buf = malloc(len + 1);
	const char *p = cmd;

	xp->words = calloc(cap, sizeof(*xp->words));
	if (buf == NULL || xp->words == NULL) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		bool quoted = false;
		size_t o = 0;

		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		for (; *p != '\0' && (quoted || (*p != ' ' && *p != '\t')); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			buf[o++] = *p;
		}
		if (quoted) {
			snprintf(err, errlen, "command has an unterminated \"");
			goto fail;
		}
		buf[o] = '\0';
		/* A word needs at least one character of the command, and
		 * blanks separate them: never more than len / 2 + 1. */
		struct word *w = &xp->words[xp->n_words];

		w->kind = strcmp(buf, "{sender}") == 0	   ? W_SENDER
			  : strcmp(buf, "{recipients}") == 0 ? W_RECIPIENTS
							     : W_TEXT;
		if ((w->text = strdup(buf)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		xp->n_words++;
	}
	/* The program is the configuration's choice, never an address's. */
	if (xp->n_words == 0 || xp->words[0].text[0] == '\0') {
		snprintf(err, errlen, "command names no program");
		goto fail;
	}
	if (strstr(xp->words[0].text, "{sender}") != NULL ||
	    strstr(xp->words[0].text, "{recipients}") != NULL) {
		snprintf(err, errlen, "command: the program cannot be {sender} or {recipients}");
		goto fail;
	}
	free(buf);
	return 0;

fail:
	free(buf);
	free_words(xp->words, xp->n_words);
	xp->words = NULL;
	xp->n_words = 0;
	return -1;
}

/* word with {sender} and {recipients} replaced; malloc'd. */
static char *
substitute(const char *word, const char *sender, const char *rcpts)
{
	size_t ls = strlen(sender), lr = strlen(rcpts), len = 0;
	const char *p;
	char *out, *o;

	/* Replacements at most multiply: size for the larger one. */
	for (p = word; *p != '\0'; len++, p++)
		if (*p == '{')
			len += ls > lr ? ls : lr;
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (p = word, o = out; *p != '\0';) {
		if (strncmp(p, "{sender}", 8) == 0) {
			o = stpcpy(o, sender);
			p += 8;
		} else if (strncmp(p, "{recipients}", 12) == 0) {
			o = stpcpy(o, rcpts);
			p += 12;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static void
free_argv(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

/* The argv for the unit's recipients of m; NULL if out of memory. */
static char **
expand(const struct xp_pipe *xp, const struct qmsg *m, int unit)
{
	const char *sender = m->sender != NULL ? m->sender : "";
	size_t nr = 0, joined_len = 1, argc = 0, a = 0;
	char **argv = NULL, *joined;

	for (size_t i = 0; i < m->n_rcpts; i++)
		if (m->rcpts[i].unit == unit) {
			nr++;
			joined_len += strlen(m->rcpts[i].address) + 1;
		}
	if ((joined = malloc(joined_len)) == NULL)
		return NULL;
	joined[0] = '\0';
	for (size_t i = 0, o = 0; i < m->n_rcpts; i++)
		if (m->rcpts[i].unit == unit)
			o += (size_t)sprintf(joined + o, "%s%s", o > 0 ? "," : "",
					     m->rcpts[i].address);
	for (size_t i = 0; i < xp->n_words; i++)
		argc += xp->words[i].kind == W_RECIPIENTS ? nr : 1;
	if ((argv = calloc(argc + 1, sizeof(*argv))) == NULL)
		goto fail;
	for (size_t i = 0; i < xp->n_words; i++) {
		const struct word *w = &xp->words[i];

		switch (w->kind) {
		case W_SENDER:
			if ((argv[a++] = strdup(sender)) == NULL)
				goto fail;
			break;
		case W_RECIPIENTS:
			for (size_t r = 0; r < m->n_rcpts; r++)
				if (m->rcpts[r].unit == unit &&
				    (argv[a++] = strdup(m->rcpts[r].address)) == NULL)
					goto fail;
			break;
		case W_TEXT:
			if ((argv[a++] = substitute(w->text, sender, joined)) == NULL)
				goto fail;
			break;
		}
	}
	free(joined);
	return argv;

fail:
	free(joined);
	free_argv(argv);
	return NULL;
}

/* ---- children ---- */

static void
free_xp(struct xp_pipe *xp)
{
	free_words(xp->words, xp->n_words);
	free(xp);
}

/* Call done; false if it closed xp (then nothing of xp may be touched). */
static bool
dispatch(struct xp_pipe *xp, void (*done)(void *, const struct xp_result *), void *ctx,
	 const struct xp_result *r)
{
	xp->dispatching++;
	done(ctx, r);
	if (--xp->dispatching > 0 || !xp->closed)
		return !xp->closed;
	free_xp(xp);
	return false;
}

static void
child_unlink(struct child *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->xp->children = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

static void
child_free(struct child *c)
{
	if (c->out_ev != NULL)
		event_free(c->out_ev);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->out != -1)
		close(c->out);
	free(c->prog);
	free(c);
}

static void
keep_tail(struct child *c, const char *buf, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(c->tail, buf + n - TAIL_MAX, TAIL_MAX);
		c->tail_len = TAIL_MAX;
		return;
	}
	if (c->tail_len + n > TAIL_MAX) {
		size_t drop = c->tail_len + n - TAIL_MAX;

		memmove(c->tail, c->tail + drop, c->tail_len - drop);
		c->tail_len -= drop;
	}
	memcpy(c->tail + c->tail_len, buf, n);
	c->tail_len += n;
}

/* Read what the pipe holds now, at most reads * 4 KiB (a grandchild may
 * keep writing for ever); at EOF close it. */
static void
drain(struct child *c, int reads)
{
	char buf[4096];
	ssize_t r;

	for (int i = 0; i < reads && c->out != -1; i++) {
		r = read(c->out, buf, sizeof(buf));
		if (r > 0) {
			keep_tail(c, buf, (size_t)r);
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return;
		event_del(c->out_ev);
		close(c->out);
		c->out = -1;
	}
}

static void
on_output(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg, 16);
}

/* The captured output as one line of valid UTF-8: runs of blanks and
 * controls become one space, broken sequences '?' — it ends up in the
 * status table and the protocol's JSON. */
static void
clean_output(const struct child *c, char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)c->tail, *end = s + c->tail_len;
	size_t o = 0;
	bool space = false;

	while (s < end && o + 5 < len) {
		size_t n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3
			 : (*s & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = n > 0 && (size_t)(end - s) >= n && (n > 1 || *s >= 0x20) && *s != 0x7f;

		for (size_t i = 1; ok && i < n; i++)
			ok = (s[i] & 0xc0) == 0x80;
		if (n == 1 && (!ok || *s == ' ')) {
			space = o > 0;
			s++;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = false;
		if (!ok) {
			out[o++] = '?';
			s++;
			continue;
		}
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	out[o] = '\0';
}

/* ": output" after r's text, or as much of its end as fits: what a
 * command says last is what went wrong. */
static void
append_output(struct xp_result *r, const char *out)
{
	size_t used = strlen(r->text), len = strlen(out), room;

	if (len == 0 || used + 3 >= sizeof(r->text))
		return;
	room = sizeof(r->text) - used - 3;
	if (len > room) {
		out += len - room;
		while ((*(const unsigned char *)out & 0xc0) == 0x80)
			out++;
	}
	snprintf(r->text + used, sizeof(r->text) - used, ": %s", out);
}

/* How it ended, in c->r. */
static void
child_result(struct child *c, int status)
{
	char output[TAIL_MAX + 8];

	if (c->terminating) {
		msec_t t = c->xp->timeout;

		if (t % 1000 == 0)
			result(&c->r, XP_DEFERRED, "%s timed out after %llds", c->prog,
			       (long long)(t / 1000));
		else
			result(&c->r, XP_DEFERRED, "%s timed out after %lldms", c->prog,
			       (long long)t);
		return;
	}
	if (WIFEXITED(status)) {
		int code = WEXITSTATUS(status);

		result(&c->r, code == 0 ? XP_SENT : code == EX_TEMPFAIL ? XP_DEFERRED : XP_FAILED,
		       "%s exited with status %d", c->prog, code);
	} else if (WIFSIGNALED(status)) {
		result(&c->r, XP_FAILED, "%s killed by signal %d (%s)", c->prog, WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	} else {
		result(&c->r, XP_FAILED, "%s ended with wait status %#x", c->prog,
		       (unsigned)status);
	}
	clean_output(c, output, sizeof(output));
	append_output(&c->r, output);
}

/* c is done: off the list, answer, free.  False if done closed xp. */
static bool
child_finish(struct child *c)
{
	struct xp_pipe *xp = c->xp;
	void (*done)(void *, const struct xp_result *) = c->done;
	void *ctx = c->ctx;
	struct xp_result r = c->r;

	child_unlink(c);
	child_free(c);
	return dispatch(xp, done, ctx, &r);
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct xp_pipe *xp = arg;
	int status;

	(void)sig;
	(void)what;
	/* Signals merge: one SIGCHLD may stand for several exits, so every
	 * child of ours is asked (and only ours: waitpid by pid). */
again:
	for (struct child *c = xp->children; c != NULL; c = c->next) {
		pid_t r;

		if (c->pid == -1 || (r = waitpid(c->pid, &status, WNOHANG)) == 0)
			continue;
		if (r == -1) {
			/* Someone else reaped it: how it ended is lost, and
			 * only trying again is safe. */
			result(&c->r, XP_DEFERRED, "%s: cannot wait for process %ld: %s", c->prog,
			       (long)c->pid, strerror(errno));
		} else {
			/* What it wrote before exiting is in the pipe: all
			 * of it, up to the largest pipe Linux makes (1 MiB),
			 * for the last words are what counts. */
			drain(c, 256);
			child_result(c, status);
		}
		if (!child_finish(c))
			return;
		goto again;
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	const struct timeval grace = { KILL_GRACE_SEC, 0 };

	(void)fd;
	(void)what;
	if (c->pid == -1) {
		child_finish(c);
	} else if (!c->terminating) {
		c->terminating = true;
		kill(-c->pid, SIGTERM);
		evtimer_add(c->timer, &grace);
	} else {
		kill(-c->pid, SIGKILL);
	}
}

/* fd, moved above 0-2 if it is one of them: dup2 onto itself would keep
 * its close-on-exec flag and the child would lose it. */
static int
high_fd(int fd)
{
	int hi;

	if (fd == -1 || fd > STDERR_FILENO)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return hi;
}

/*
 * Start argv with stdin the message; c->pid, c->out, c->out_ev set.  On
 * failure c->r says why.  Opening the file and posix_spawn (vfork-like,
 * with exec errors reported back) are quick enough for the loop.
 */
static int
spawn(struct child *c, char **argv, const char *data_path, uint64_t data_offset)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int in, p[2] = { -1, -1 }, e;

	in = high_fd(spool_data_open(data_path, data_offset));
	if (in == -1) {
		result(&c->r, XP_DEFERRED, "cannot open %s: %s", data_path, strerror(errno));
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (p[0] = high_fd(p[0])) == -1 ||
	    (p[1] = high_fd(p[1])) == -1 || fcntl(p[0], F_SETFL, O_NONBLOCK) == -1) {
		result(&c->r, XP_DEFERRED, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	c->out_ev = event_new(c->xp->base, p[0], EV_READ | EV_PERSIST, on_output, c);
	if (c->out_ev == NULL) {
		result(&c->r, XP_DEFERRED, "out of memory");
		goto fail;
	}
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* The daemon ignores SIGPIPE and its threads block signals: the
	 * command gets what a shell would give it. */
	e = posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO);
	if (e == 0)
		e = posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	if (e == 0)
		e = posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
	if (e == 0)
		e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
							   POSIX_SPAWN_SETPGROUP);
	if (e == 0)
		e = posix_spawnattr_setsigdefault(&attr, &all);
	if (e == 0)
		e = posix_spawnattr_setsigmask(&attr, &none);
	if (e == 0)
		e = posix_spawnattr_setpgroup(&attr, 0);
	if (e == 0)
		e = posix_spawnp(&c->pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e != 0) {
		c->pid = -1;
		/* No such program, or not one: a fix in the profile, not a
		 * retry, helps.  Out of processes or memory: later. */
		result(&c->r, e == EAGAIN || e == ENOMEM ? XP_DEFERRED : XP_FAILED,
		       "cannot run %s: %s", argv[0], strerror(e));
		goto fail;
	}
	close(in);
	close(p[1]);
	c->out = p[0];
	event_add(c->out_ev, NULL);
	return 0;

fail:
	close(in);
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	return -1;
}

static void
pipe_send(void *arg, struct xp_send *req)
{
	struct xp_pipe *xp = arg;
	struct child *c = calloc(1, sizeof(*c));
	char **argv = NULL;

	if (c == NULL || (c->timer = evtimer_new(xp->base, on_timer, c)) == NULL) {
		struct xp_result r = { .outcome = XP_DEFERRED, .text = "out of memory" };

		free(c);
		req->done(req->ctx, &r);
		return;
	}
	c->xp = xp;
	c->pid = -1;
	c->out = -1;
	c->done = req->done;
	c->ctx = req->ctx;
	if ((argv = expand(xp, req->msg, req->unit)) == NULL ||
	    (c->prog = strdup(argv[0])) == NULL)
		result(&c->r, XP_DEFERRED, "out of memory");
	else
		spawn(c, argv, req->data_path, req->data_offset);
	free_argv(argv);

	c->next = xp->children;
	if (c->next != NULL)
		c->next->prev = c;
	xp->children = c;
	if (c->pid == -1) {
		/* The answer is known, but goes out from the loop. */
		const struct timeval now = { 0, 0 };

		evtimer_add(c->timer, &now);
	} else if (xp->timeout > 0) {
		const struct timeval tv = { (time_t)(xp->timeout / 1000),
					    (suseconds_t)(xp->timeout % 1000 * 1000) };

		evtimer_add(c->timer, &tv);
	}
}

static void *
pipe_open(const struct transport_config *tc, const struct transport_env *env, char *err,
	  size_t errlen)
{
	struct xp_pipe *xp = calloc(1, sizeof(*xp));

	if (xp == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	xp->base = env->base;
	xp->timeout = tc->timeout;
	if (tc->command == NULL) {
		snprintf(err, errlen, "no command");
		free(xp);
		return NULL;
	}
	if (parse_command(tc->command, xp, err, errlen) == -1) {
		free(xp);
		return NULL;
	}
	xp->sigchld = evsignal_new(env->base, SIGCHLD, on_sigchld, xp);
	if (xp->sigchld == NULL || evsignal_add(xp->sigchld, NULL) == -1) {
		snprintf(err, errlen, "cannot watch SIGCHLD");
		if (xp->sigchld != NULL)
			event_free(xp->sigchld);
		free_xp(xp);
		return NULL;
	}
	return xp;
}

/* Running commands are killed and reaped here (SIGKILL: the wait is
 * short); nobody hears of them. */
static void
pipe_close(void *arg)
{
	struct xp_pipe *xp = arg;
	struct child *c;

	while ((c = xp->children) != NULL) {
		if (c->pid != -1) {
			kill(-c->pid, SIGKILL);
			while (waitpid(c->pid, NULL, 0) == -1 && errno == EINTR)
				;
		}
		child_unlink(c);
		child_free(c);
	}
	event_free(xp->sigchld);
	xp->sigchld = NULL;
	xp->closed = true;
	if (xp->dispatching == 0)
		free_xp(xp);
}

const struct transport_backend transport_pipe = {
	.name = "pipe",
	.open = pipe_open,
	.close = pipe_close,
	.send = pipe_send,
	.fetch = NULL,
};
