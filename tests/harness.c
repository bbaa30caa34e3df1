/*
 * harness.c — start and stop a real mapispoold for integration tests.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char harness_default_config[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"socket_mode = 0600\n"
	"\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/outbox\n"
	"pickup = @DIR@/dropbox\n"
	"address_types = SMTP\n"
	"\n"
	"[transport:fax]\n"
	"type = pipe\n"
	"command = /bin/cat\n"
	"address_types = FAX\n";

static const char *
env_or_die(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "harness: $%s is not set (run the tests with make check)\n", name);
		exit(99);
	}
	return v;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
write_config(struct daemon_handle *d, const char *text)
{
	FILE *f = fopen(d->config, "w");
	const char *p;

	if (f == NULL)
		return -1;
	for (p = text; *p != '\0';) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			fputs(d->dir, f);
			p += 5;
		} else {
			fputc(*p++, f);
		}
	}
	return fclose(f);
}

static int
try_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path))
		abort();
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
dump_log(const struct daemon_handle *d)
{
	char *log = harness_log(d);

	fprintf(stderr, "--- mapispoold log (%s) ---\n%s--- end ---\n", d->log,
		log ? log : "");
	free(log);
}

int
harness_restart(struct daemon_handle *d)
{
	const char *daemon = env_or_die("MAPISPOOLD");
	pid_t pid;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd == -1)
			_exit(127);
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
		if (d->nofile > 0) {
			struct rlimit rl = { d->nofile, d->nofile };

			if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
				_exit(127);
		}
		execl(daemon, "mapispoold", "--config", d->config, "--socket", d->socket,
		      "--log-level", "debug", (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	/* Ready when the socket answers; dead if the process is. */
	for (int i = 0; i < 1000; i++) {
		int fd = try_connect(d->socket);

		if (fd != -1) {
			close(fd);
			return 0;
		}
		if (!harness_alive(d)) {
			fprintf(stderr, "harness: mapispoold exited during startup\n");
			dump_log(d);
			return -1;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "harness: mapispoold did not answer within 10 s\n");
	dump_log(d);
	harness_kill(d, SIGKILL);
	return -1;
}

int
harness_start(struct daemon_handle *d, const char *config_text)
{
	return harness_start_with_nofile(d, config_text, 0);
}

int
harness_start_with_nofile(struct daemon_handle *d, const char *config_text, unsigned nofile)
{
	const char *tmp = getenv("TMPDIR");

	memset(d, 0, sizeof(*d));
	d->nofile = nofile;
	snprintf(d->dir, sizeof(d->dir), "%s/mapispool-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(d->dir) == NULL) {
		perror("harness: mkdtemp");
		return -1;
	}
	snprintf(d->socket, sizeof(d->socket), "%s/control.sock", d->dir);
	snprintf(d->config, sizeof(d->config), "%s/mapispool.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/mapispoold.log", d->dir);
	if (write_config(d, config_text ? config_text : harness_default_config) == -1) {
		perror("harness: writing the config");
		return -1;
	}
	return harness_restart(d);
}

bool
harness_alive(struct daemon_handle *d)
{
	int st;

	if (d->pid <= 0)
		return false;
	if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
		d->pid = 0;
		return false;
	}
	return true;
}

void
harness_kill(struct daemon_handle *d, int sig)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, sig);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
harness_stop(struct daemon_handle *d)
{
	int st = -1;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		for (int i = 0; i < 500; i++) {
			if (waitpid(d->pid, &st, WNOHANG) == d->pid)
				break;
			sleep_ms(10);
			st = -1;
		}
		if (st == -1) {
			fprintf(stderr, "harness: mapispoold ignored SIGTERM for 5 s\n");
			dump_log(d);
			harness_kill(d, SIGKILL);
		}
		d->pid = 0;
	}
	if (getenv("HARNESS_KEEP") == NULL && d->dir[0] != '\0')
		nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return st;
}

int
harness_send(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

char *
harness_readline(int fd, int timeout_ms)
{
	size_t len = 0, cap = 256;
	char *line = malloc(cap);

	while (line != NULL) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char c;
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			break;
		n = read(fd, &c, 1);
		if (n <= 0)
			break;
		if (c == '\n') {
			line[len] = '\0';
			return line;
		}
		if (len + 1 == cap) {
			char *p = realloc(line, cap *= 2);

			if (p == NULL)
				break;
			line = p;
		}
		line[len++] = c;
	}
	free(line);
	return NULL;
}

int
harness_connect(const struct daemon_handle *d)
{
	int fd = try_connect(d->socket);
	char *hello;

	if (fd == -1)
		return -1;
	hello = harness_readline(fd, 5000);
	if (hello == NULL || strstr(hello, "\"event\":\"hello\"") == NULL) {
		free(hello);
		close(fd);
		return -1;
	}
	free(hello);
	return fd;
}

static char *
read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	while (buf != NULL) {
		if (len + 1 == cap) {
			char *p = realloc(buf, cap *= 2);

			if (p == NULL) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

int
harness_ctl(const struct daemon_handle *d, char **out, const char *input, ...)
{
	const char *ctl = env_or_die("MAPISPOOLCTL");
	const char *argv[64];
	int in[2], outp[2], st, argc = 0;
	va_list ap;
	pid_t pid;

	argv[argc++] = "mapispoolctl";
	argv[argc++] = "--socket";
	argv[argc++] = d->socket;
	va_start(ap, input);
	while (argc < 63 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(outp, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(outp[1], STDOUT_FILENO);
		execv(ctl, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	if (input != NULL)
		harness_send(in[1], input, strlen(input));
	close(in[1]);
	if (out != NULL)
		*out = read_all(outp[0]);
	else
		free(read_all(outp[0]));
	close(outp[0]);
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

char *
harness_slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *s;

	if (fd == -1)
		return NULL;
	s = read_all(fd);
	close(fd);
	return s;
}

char *
harness_log(const struct daemon_handle *d)
{
	char *s = harness_slurp(d->log);

	return s != NULL ? s : strdup("");
}

int
harness_count_files(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((dp = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}
