/*
 * smtp_server.c — tests/smtp_sink.py as a child process: started on free
 * ports, waited for until it writes dir/ready, stopped with SIGTERM.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "servers.h"

/* Debian's own python3: the one that sees python3-aiosmtpd (SPEC §9). */
#define PYTHON "/usr/bin/python3"
#define READY_WAIT_MS 10000

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
has_word(const char *opts, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = opts; p != NULL && (p = strstr(p, word)) != NULL; p += n)
		if ((p == opts || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return true;
	return false;
}

/* The number after "key=" in opts, as text in buf; NULL when absent. */
static const char *
opt_value(const char *opts, const char *key, char *buf, size_t len)
{
	size_t n = strlen(key);

	for (const char *p = opts; p != NULL && (p = strstr(p, key)) != NULL; p += n) {
		if ((p == opts || p[-1] == ' ' || p[-1] == ',') && p[n] == '=') {
			size_t i = 0;

			p += n + 1;
			while (i + 1 < len && p[i] >= '0' && p[i] <= '9') {
				buf[i] = p[i];
				i++;
			}
			buf[i] = '\0';
			return i > 0 ? buf : NULL;
		}
	}
	return NULL;
}

static void
exec_sink(const struct smtp_server *s, const char *opts, const char *certdir,
	  const char *cert)
{
	char script[PATH_MAX], port[16], tls_port[16], crt[PATH_MAX], key[PATH_MAX];
	char log[PATH_MAX], delay[16], die_at[16];
	const char *argv[20];
	const char *src = getenv("TESTS_SRCDIR");
	int argc = 0, fd;

	snprintf(script, sizeof(script), "%s/smtp_sink.py", src != NULL ? src : "tests");
	snprintf(port, sizeof(port), "%d", s->port);
	argv[argc++] = PYTHON;
	argv[argc++] = script;
	argv[argc++] = "--dir";
	argv[argc++] = s->dir;
	argv[argc++] = "--port";
	argv[argc++] = port;
	if (s->tls_port != 0) {
		snprintf(tls_port, sizeof(tls_port), "%d", s->tls_port);
		snprintf(crt, sizeof(crt), "%s/%s.pem", certdir, cert);
		snprintf(key, sizeof(key), "%s/%s.key", certdir, cert);
		argv[argc++] = "--tls-port";
		argv[argc++] = tls_port;
		argv[argc++] = "--cert";
		argv[argc++] = crt;
		argv[argc++] = "--key";
		argv[argc++] = key;
	}
	if (has_word(opts, "auth"))
		argv[argc++] = "--auth";
	if (opt_value(opts, "mail_delay", delay, sizeof(delay)) != NULL) {
		argv[argc++] = "--mail-delay";
		argv[argc++] = delay;
	}
	if (opt_value(opts, "die_at", die_at, sizeof(die_at)) != NULL) {
		argv[argc++] = "--die-at";
		argv[argc++] = die_at;
	}
	argv[argc] = NULL;
	/* Its chatter (aiosmtpd logs refused TLS handshakes at length) goes
	 * to dir/sink.log, not into the TAP stream. */
	snprintf(log, sizeof(log), "%s/sink.log", s->dir);
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execv(PYTHON, (char *const *)argv);
	fprintf(stderr, "smtp_server: cannot run %s: %s\n", PYTHON, strerror(errno));
	_exit(127);
}

int
smtp_server_start(struct smtp_server *s, const char *dir, const char *opts,
		  const char *certdir, const char *cert)
{
	char ready[PATH_MAX];
	bool tls = has_word(opts, "tls");

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	unlink(ready);
	if ((s->port = servers_free_port()) == -1 ||
	    (tls && (certdir == NULL || cert == NULL || (s->tls_port = servers_free_port()) == -1)))
		return -1;
	if ((s->pid = fork()) == -1)
		return -1;
	if (s->pid == 0)
		exec_sink(s, opts, certdir, cert);
	for (int waited = 0; waited < READY_WAIT_MS; waited += 20) {
		if (access(ready, F_OK) == 0)
			return 0;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = -1;
			return -1;
		}
		sleep_ms(20);
	}
	smtp_server_stop(s);
	return -1;
}

void
smtp_server_stop(struct smtp_server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	for (int waited = 0; waited < 5000; waited += 20) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = -1;
			return;
		}
		sleep_ms(20);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = -1;
}

int
smtp_server_count(const struct smtp_server *s)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/received", s->dir);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		n += len > 4 && strcmp(e->d_name + len - 4, ".eml") == 0;
	}
	closedir(d);
	return n;
}
