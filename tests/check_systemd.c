/*
 * check_systemd.c — mapispoold under systemd: the unit files pass
 * `systemd-analyze verify` and comment every hardening line; socket
 * activation (one inherited listening socket on descriptor 3, left in place
 * at exit; anything else refused); sd_notify's READY=1, STATUS= and
 * STOPPING=1 on a NOTIFY_SOCKET the test listens on; the bash completion.
 *
 * This is what systemd does for the daemon, done by hand: bind and listen,
 * fork, put the socket on descriptor 3, set LISTEN_FDS=1 and LISTEN_PID to
 * the child's pid, exec.  Built without libsystemd (HAVE_LIBSYSTEMD unset),
 * the daemon must refuse a socket it cannot take, and send nothing.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NOTIFY_WAIT_MS 10000
/* What the harness's test profile says when it is ready. */
#define STATUS_READY "STATUS=profile test, 2 transports, 0 messages queued"

/* ---- helpers ---- */

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* prefix with its last n path components removed: the build and source
 * trees, from the paths make check gives ($MAPISPOOLD is
 * BUILDDIR/daemon/mapispoold, $TESTS_SRCDIR is SRCDIR/tests). */
static void
strip_components(char *buf, size_t len, const char *path, int n)
{
	char *slash;

	ck_assert_int_lt(snprintf(buf, len, "%s", path), (int)len);
	while (n-- > 0) {
		slash = strrchr(buf, '/');
		ck_assert_ptr_nonnull(slash);
		*slash = '\0';
	}
}

/* Run argv with stdout and stderr into *out (malloc'd); the exit status,
 * or -1.  env: NAME, VALUE pairs to set in the child, NULL-terminated. */
static int
run(char **out, const char *const *env, const char *const *argv)
{
	int p[2], st;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	pid_t pid;

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		for (size_t i = 0; env != NULL && env[i] != NULL; i += 2)
			setenv(env[i], env[i + 1], 1);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	ck_assert_int_ne(pid, -1);
	close(p[1]);
	while ((n = read(p[0], buf + len, cap - len - 1)) > 0 || (n == -1 && errno == EINTR)) {
		if (n > 0)
			len += (size_t)n;
		if (len + 1 == cap) {
			buf = realloc(buf, cap *= 2);
			ck_assert_ptr_nonnull(buf);
		}
	}
	buf[len] = '\0';
	close(p[0]);
	*out = buf;
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Is prog on $PATH? */
static bool
on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char dir[4096];

	while (path != NULL && *path != '\0') {
		size_t n = strcspn(path, ":");

		if (snprintf(dir, sizeof(dir), "%.*s/%s", (int)n, path, prog) < (int)sizeof(dir) &&
		    access(dir, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* ---- the unit files ---- */

/* Copy a unit with the program of every Exec*= line replaced by the one
 * just built: verify checks that the programs exist, and the installed
 * paths do not yet. */
static void
copy_unit(const char *from, const char *to)
{
	const char *daemon = getenv("MAPISPOOLD");
	char *text = read_file(from), *line, *save = NULL;
	FILE *f = fopen(to, "w");

	ck_assert_msg(text != NULL, "%s: %s (run make first)", from, strerror(errno));
	ck_assert_msg(f != NULL, "%s: %s", to, strerror(errno));
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const char *eq = strchr(line, '=');

		if (strncmp(line, "Exec", 4) == 0 && eq != NULL && eq[1] == '/') {
			fprintf(f, "%.*s=%s%s\n", (int)(eq - line), line, daemon,
				eq + 1 + strcspn(eq + 1, " "));
		} else {
			fprintf(f, "%s\n", line);
		}
	}
	ck_assert_int_eq(fclose(f), 0);
	free(text);
}

/* Every hardening line of a service is right under a comment (the ones
 * in the "Hardening" part, and the sandboxing lines wherever they are). */
static void
check_commented(const char *path)
{
	static const char *const keys[] = {
		"ProtectSystem=", "ProtectHome=", "PrivateTmp=", "PrivateDevices=",
		"NoNewPrivileges=", "RestrictAddressFamilies=", "SystemCallFilter=",
		"SystemCallErrorNumber=", "SystemCallArchitectures=", "CapabilityBoundingSet=",
		"ProtectKernelTunables=", "ProtectKernelModules=", "ProtectKernelLogs=",
		"ProtectControlGroups=", "RestrictNamespaces=", "LockPersonality=",
		"MemoryDenyWriteExecute=", "RestrictRealtime=", "RestrictSUIDSGID=",
		"ProtectClock=", "ProtectHostname=", "UMask=", "ReadWritePaths=",
	};
	char *text = read_file(path), *prev = NULL, *line, *save = NULL;

	ck_assert_msg(text != NULL, "%s: %s", path, strerror(errno));
	for (line = strtok_r(text, "\n", &save); line != NULL; prev = line,
	     line = strtok_r(NULL, "\n", &save)) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0)
				ck_assert_msg(prev != NULL && prev[0] == '#',
					      "%s: \"%s\" has no comment above it", path, line);
	}
	free(text);
}

START_TEST(test_units_verify)
{
	char build[4096], src[4096], dir[] = "/tmp/mapispool-units.XXXXXX";
	char sys[4200], user[4200], rt[4200], from[4400], to[4400], *out, *svc;
	int st;

	strip_components(build, sizeof(build), getenv("MAPISPOOLD"), 2);
	strip_components(src, sizeof(src), getenv("TESTS_SRCDIR"), 1);
	snprintf(from, sizeof(from), "%s/systemd/mapispoold.service", build);
	check_commented(from);
	svc = read_file(from);
	ck_assert_ptr_nonnull(svc);
#ifdef HAVE_LIBSYSTEMD
	ck_assert_ptr_nonnull(strstr(svc, "\nType=notify\n"));
#else
	ck_assert_ptr_nonnull(strstr(svc, "\nType=exec\n"));
#endif
	/* Reload is SIGHUP. */
	ck_assert_ptr_nonnull(strstr(svc, "\nExecReload=/bin/kill -HUP $MAINPID\n"));
	ck_assert_ptr_nonnull(strstr(svc, "\nExecStartPre="));
	ck_assert_ptr_nonnull(strstr(svc, "--check-config"));
	ck_assert_ptr_null(strstr(svc, "@sbindir@"));
	free(svc);
	snprintf(from, sizeof(from), "%s/systemd/user/mapispoold.service", build);
	check_commented(from);

	if (!on_path("systemd-analyze")) {
		fprintf(stderr, "# SKIP systemd-analyze verify: no systemd-analyze\n");
		return;
	}
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sys, sizeof(sys), "%s/system", dir);
	snprintf(user, sizeof(user), "%s/user", dir);
	snprintf(rt, sizeof(rt), "%s/runtime", dir);
	ck_assert_int_eq(mkdir(sys, 0700), 0);
	ck_assert_int_eq(mkdir(user, 0700), 0);
	ck_assert_int_eq(mkdir(rt, 0700), 0);

	snprintf(from, sizeof(from), "%s/systemd/mapispoold.service", build);
	snprintf(to, sizeof(to), "%s/mapispoold.service", sys);
	copy_unit(from, to);
	snprintf(from, sizeof(from), "%s/systemd/mapispoold.socket", src);
	snprintf(to, sizeof(to), "%s/mapispoold.socket", sys);
	copy_unit(from, to);
	snprintf(from, sizeof(from), "%s/systemd/user/mapispoold.service", build);
	snprintf(to, sizeof(to), "%s/mapispoold.service", user);
	copy_unit(from, to);
	snprintf(from, sizeof(from), "%s/systemd/user/mapispoold.socket", src);
	snprintf(to, sizeof(to), "%s/mapispoold.socket", user);
	copy_unit(from, to);

	/* verify exits 0 on an unknown key or a bad value, with a warning:
	 * any line about our units fails the test. */
	{
		char svc_path[4400], sock_path[4400];
		const char *argv[] = { "systemd-analyze", "--man=no", "verify", svc_path,
				       sock_path, NULL };

		snprintf(svc_path, sizeof(svc_path), "%s/mapispoold.service", sys);
		snprintf(sock_path, sizeof(sock_path), "%s/mapispoold.socket", sys);
		st = run(&out, NULL, argv);
		ck_assert_msg(st == 0 && strstr(out, "mapispool") == NULL,
			      "systemd-analyze verify (system units) exited %d:\n%s", st, out);
		free(out);
	}
	{
		char svc_path[4400], sock_path[4400];
		const char *argv[] = { "systemd-analyze", "--user", "--man=no", "verify",
				       svc_path, sock_path, NULL };
		const char *env[] = { "XDG_RUNTIME_DIR", rt, NULL };

		snprintf(svc_path, sizeof(svc_path), "%s/mapispoold.service", user);
		snprintf(sock_path, sizeof(sock_path), "%s/mapispoold.socket", user);
		st = run(&out, env, argv);
		ck_assert_msg(st == 0 && strstr(out, "mapispool") == NULL,
			      "systemd-analyze --user verify (user units) exited %d:\n%s", st, out);
		free(out);
	}
	{
		struct daemon_handle d = { 0 };

		snprintf(d.dir, sizeof(d.dir), "%s", dir);
		harness_stop(&d);	/* removes the directory */
	}
}
END_TEST

/* ---- socket activation and notifications ---- */

struct activated {
	struct daemon_handle d;	/* dir, socket, config, log; pid */
	char notify[PATH_MAX];
	int notify_fd;
	char got[8192];		/* every notification so far, one a line */
};

static int
unix_socket(const char *path, int type)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	ck_assert_int_lt(strlen(path), sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0, "bind %s: %s", path,
		      strerror(errno));
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

/* A directory with the harness's test profile and a notify socket. */
static void
activated_init(struct activated *a)
{
	const char *tmp = getenv("TMPDIR");
	char *text, *p, *q;
	FILE *f;

	memset(a, 0, sizeof(*a));
	snprintf(a->d.dir, sizeof(a->d.dir), "%s/mapispool-sd.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(a->d.dir));
	snprintf(a->d.socket, sizeof(a->d.socket), "%s/control.sock", a->d.dir);
	snprintf(a->d.config, sizeof(a->d.config), "%s/mapispool.conf", a->d.dir);
	snprintf(a->d.log, sizeof(a->d.log), "%s/mapispoold.log", a->d.dir);
	snprintf(a->notify, sizeof(a->notify), "%s/notify.sock", a->d.dir);
	ck_assert_ptr_nonnull(f = fopen(a->d.config, "w"));
	text = strdup(harness_default_config);
	for (p = text; (q = strstr(p, "@DIR@")) != NULL; p = q + 5)
		fprintf(f, "%.*s%s", (int)(q - p), p, a->d.dir);
	fputs(p, f);
	free(text);
	ck_assert_int_eq(fclose(f), 0);
	a->notify_fd = unix_socket(a->notify, SOCK_DGRAM);
}

static void
activated_free(struct activated *a)
{
	close(a->notify_fd);
	harness_stop(&a->d);
}

/* Start the daemon as systemd would, with fds[0..n) as descriptors 3...
 * (fds are closed here) and NOTIFY_SOCKET set. */
static void
activated_start(struct activated *a, const int *fds, int n)
{
	const char *daemon = getenv("MAPISPOOLD");
	pid_t pid;

	ck_assert_ptr_nonnull(daemon);
	if ((pid = fork()) == 0) {
		int log = open(a->d.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int moved[8];
		char buf[32];

		if (log == -1 || n > 8)
			_exit(127);
		dup2(log, STDOUT_FILENO);
		dup2(log, STDERR_FILENO);
		/* Out of the way of 3.., then into place. */
		for (int i = 0; i < n; i++)
			if ((moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + n)) == -1)
				_exit(127);
		for (int i = 0; i < n; i++)
			if (dup2(moved[i], 3 + i) == -1)
				_exit(127);
		snprintf(buf, sizeof(buf), "%d", n);
		setenv("LISTEN_FDS", buf, 1);
		snprintf(buf, sizeof(buf), "%ld", (long)getpid());
		setenv("LISTEN_PID", buf, 1);
		unsetenv("LISTEN_FDNAMES");
		setenv("NOTIFY_SOCKET", a->notify, 1);
		unsetenv("MAPISPOOL_SOCKET");
		unsetenv("RUNTIME_DIRECTORY");
		execl(daemon, "mapispoold", "--config", a->d.config, "--log-level", "debug",
		      (char *)NULL);
		_exit(127);
	}
	ck_assert_int_ne(pid, -1);
	a->d.pid = pid;
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Read notifications until one has want (a line such as "READY=1"), for
 * wait_ms at most. */
static bool
notified(struct activated *a, const char *want, int wait_ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = a->notify_fd, .events = POLLIN };
		size_t len = strlen(a->got), wl = strlen(want);
		const char *line = a->got;
		ssize_t n;
		int left;

		for (;;) {
			if (strncmp(line, want, wl) == 0 && (line[wl] == '\n' || line[wl] == '\0'))
				return true;
			if ((line = strchr(line, '\n')) == NULL)
				break;
			line++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = wait_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
				       (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		if (len + 2 >= sizeof(a->got))
			return false;
		n = recv(a->notify_fd, a->got + len, sizeof(a->got) - len - 2, 0);
		if (n <= 0)
			return false;
		a->got[len + (size_t)n] = '\n';
		a->got[len + (size_t)n + 1] = '\0';
	}
}

/* Wait for the daemon to exit; its exit status, or -1. */
static int
wait_exit(struct activated *a)
{
	int st = -1;

	for (int i = 0; i < 1000; i++) {
		if (waitpid(a->d.pid, &st, WNOHANG) == a->d.pid) {
			a->d.pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(10000);
	}
	return -1;
}

START_TEST(test_socket_activation)
{
	struct activated a;
	struct stat st;
	char *line, *log;
	int lfd, fd;

	activated_init(&a);
	lfd = unix_socket(a.d.socket, SOCK_STREAM);
	activated_start(&a, &lfd, 1);
#ifdef HAVE_LIBSYSTEMD
	/* The socket listens from before the exec: connect at once, and the
	 * hello comes once the daemon accepts. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		strcpy(sun.sun_path, a.d.socket);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	line = harness_readline(fd, NOTIFY_WAIT_MS);
	ck_assert_msg(line != NULL && strstr(line, "\"event\":\"hello\"") != NULL,
		      "no hello on the inherited socket; log:\n%s", harness_log(&a.d));
	free(line);
	ck_assert_int_eq(harness_send(fd, "{\"id\":1,\"op\":\"queue.list\"}\n", 27), 0);
	line = harness_readline(fd, NOTIFY_WAIT_MS);
	ck_assert_ptr_nonnull(line);
	ck_assert_msg(strstr(line, "\"hr\":0") != NULL, "queue.list: %s", line);
	free(line);
	close(fd);

	ck_assert_msg(notified(&a, "READY=1", NOTIFY_WAIT_MS), "no READY=1; got:\n%s", a.got);
	ck_assert_msg(notified(&a, "STATUS=recovering the spool", NOTIFY_WAIT_MS), "got:\n%s",
		      a.got);
	ck_assert_msg(notified(&a, STATUS_READY, NOTIFY_WAIT_MS), "got:\n%s", a.got);
	/* Nothing promises a reload in this version. */
	ck_assert_ptr_null(strstr(a.got, "RELOADING=1"));
	ck_assert_ptr_null(strstr(a.got, "STOPPING=1"));

	kill(a.d.pid, SIGTERM);
	ck_assert_msg(notified(&a, "STOPPING=1", NOTIFY_WAIT_MS), "no STOPPING=1; got:\n%s", a.got);
	ck_assert_int_eq(wait_exit(&a), 0);
	/* systemd owns the socket: it is still there. */
	ck_assert_int_eq(lstat(a.d.socket, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	log = harness_log(&a.d);
	ck_assert_msg(strstr(log, "listening on ") != NULL && strstr(log, a.d.socket) != NULL &&
		      strstr(log, "(from systemd)") != NULL, "log:\n%s", log);
	free(log);
#else
	(void)line;
	(void)fd;
	(void)st;
	/* Without libsystemd the daemon cannot take the socket: it says so
	 * and stops rather than fight systemd for the path. */
	ck_assert_int_eq(wait_exit(&a), 1);
	log = harness_log(&a.d);
	ck_assert_msg(strstr(log, "without libsystemd") != NULL, "log:\n%s", log);
	free(log);
	ck_assert_int_eq(recv(a.notify_fd, a.got, sizeof(a.got), MSG_DONTWAIT), -1);
#endif
	activated_free(&a);
}
END_TEST

/* What systemd may pass that the daemon must refuse: two sockets, a
 * datagram socket, a socket that does not listen. */
START_TEST(test_activation_refused)
{
	struct activated a;
	int fds[2], n = 0;
	char path[PATH_MAX + 16];
	const char *want;
	char *log;

	activated_init(&a);
	switch (_i) {
	case 0:
		fds[n++] = unix_socket(a.d.socket, SOCK_STREAM);
		snprintf(path, sizeof(path), "%s/second.sock", a.d.dir);
		fds[n++] = unix_socket(path, SOCK_STREAM);
		want = "takes exactly one";
		break;
	case 1:
		fds[n++] = unix_socket(a.d.socket, SOCK_DGRAM);
		want = "not a listening Unix stream socket";
		break;
	default:
		ck_assert_int_ne(fds[n++] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
		want = "not a listening Unix stream socket";
		break;
	}
#ifndef HAVE_LIBSYSTEMD
	want = "without libsystemd";
#endif
	activated_start(&a, fds, n);
	ck_assert_int_eq(wait_exit(&a), 1);
	log = harness_log(&a.d);
	ck_assert_msg(strstr(log, want) != NULL, "want \"%s\" in the log:\n%s", want, log);
	free(log);
	ck_assert_ptr_null(strstr(a.got, "READY=1"));
	activated_free(&a);
}
END_TEST

/* Without socket activation: the daemon makes its socket, still notifies,
 * and removes the socket at exit (it is its own). */
START_TEST(test_notify_own_socket)
{
	struct activated a;
	struct daemon_handle d;

	activated_init(&a);
	setenv("NOTIFY_SOCKET", a.notify, 1);
	ck_assert_int_eq(harness_start(&d, NULL), 0);
	unsetenv("NOTIFY_SOCKET");
#ifdef HAVE_LIBSYSTEMD
	ck_assert_msg(notified(&a, "READY=1", NOTIFY_WAIT_MS), "no READY=1; got:\n%s", a.got);
	ck_assert_msg(notified(&a, STATUS_READY, NOTIFY_WAIT_MS), "got:\n%s", a.got);
#endif
	harness_kill(&d, SIGTERM);
#ifdef HAVE_LIBSYSTEMD
	ck_assert_msg(notified(&a, "STOPPING=1", NOTIFY_WAIT_MS), "no STOPPING=1; got:\n%s", a.got);
#else
	/* It answered, and stopped: it would have said so by now. */
	ck_assert_msg(!notified(&a, "READY=1", 200), "got:\n%s", a.got);
	ck_assert_str_eq(a.got, "");
#endif
	ck_assert_int_eq(access(d.socket, F_OK), -1);
	harness_stop(&d);
	activated_free(&a);
}
END_TEST

/* ---- bash completion ---- */

/* COMPREPLY for the words given, from a bash that sources the script. */
static char *
complete(const char *socket, const char *words)
{
	char src[4096], script[8192], *out;
	const char *argv[] = { "bash", "--norc", "--noprofile", "-c", script, NULL };
	int st;

	strip_components(src, sizeof(src), getenv("TESTS_SRCDIR"), 1);
	snprintf(script, sizeof(script),
		 "source '%s/client/mapispoolctl.bash-completion' || exit 1\n"
		 "COMP_WORDS=('%s' --socket '%s' %s)\n"
		 "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
		 "_mapispoolctl\n"
		 "printf '%%s ' \"${COMPREPLY[@]}\"\n",
		 src, getenv("MAPISPOOLCTL"), socket, words);
	st = run(&out, NULL, argv);
	ck_assert_msg(st == 0, "bash exited %d: %s", st, out);
	return out;
}

START_TEST(test_bash_completion)
{
	struct daemon_handle d;
	char *out;

	if (!on_path("bash")) {
		fprintf(stderr, "# SKIP bash completion: no bash\n");
		return;
	}
	ck_assert_int_eq(harness_start(&d, NULL), 0);
	out = complete(d.socket, "fl");
	ck_assert_str_eq(out, "flush ");
	free(out);
	out = complete(d.socket, "flush --each");
	ck_assert_str_eq(out, "--each-transport ");
	free(out);
	out = complete(d.socket, "flush --transport ''");
	ck_assert_str_eq(out, "local fax ");
	free(out);
	out = complete(d.socket, "validate ''");
	ck_assert_str_eq(out, "spooler subsystem store local fax ");
	free(out);
	out = complete(d.socket, "offline f");
	ck_assert_str_eq(out, "fax ");
	free(out);
	out = complete(d.socket, "queue ''");
	ck_assert_str_eq(out, "list hold release flush remove ");
	free(out);
	harness_stop(&d);
}
END_TEST

static Suite *
systemd_suite(void)
{
	Suite *s = suite_create("systemd");
	TCase *tc = tcase_create("units");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_units_verify);
	suite_add_tcase(s, tc);

	tc = tcase_create("activation");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_socket_activation);
	tcase_add_loop_test(tc, test_activation_refused, 0, 3);
	tcase_add_test(tc, test_notify_own_socket);
	suite_add_tcase(s, tc);

	tc = tcase_create("completion");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bash_completion);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(systemd_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
