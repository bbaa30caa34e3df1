/*
 * dovecot_server.c — tests/dovecot.sh as a child process: Dovecot's
 * master in the foreground on four free ports, waited for until all of
 * them accept, stopped with SIGTERM (which stops its children too).
 */
#include <config.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "servers.h"

#define READY_WAIT_MS 15000
#define STOP_WAIT_MS 10000

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
accepts(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd != -1 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	if (fd != -1)
		close(fd);
	return ok;
}

/* Four different free ports (each is released before the next is asked
 * for, so the same one could come twice). */
static int
pick_ports(struct dovecot_server *d)
{
	int *ports[] = { &d->pop3_port, &d->pop3s_port, &d->imap_port, &d->imaps_port };

	for (size_t i = 0; i < 4; i++) {
		bool dup;

		do {
			if ((*ports[i] = servers_free_port()) == -1)
				return -1;
			dup = false;
			for (size_t k = 0; k < i; k++)
				dup |= *ports[k] == *ports[i];
		} while (dup);
	}
	return 0;
}

static void
exec_dovecot(const struct dovecot_server *d, const char *certdir)
{
	char script[PATH_MAX], out[PATH_MAX], port[16];
	const char *src = getenv("TESTS_SRCDIR");
	const struct {
		const char *name;
		int port;
	} env[] = {
		{ "POP3_PORT", d->pop3_port },
		{ "POP3S_PORT", d->pop3s_port },
		{ "IMAP_PORT", d->imap_port },
		{ "IMAPS_PORT", d->imaps_port },
	};
	int fd;

	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		snprintf(port, sizeof(port), "%d", env[i].port);
		setenv(env[i].name, port, 1);
	}
	snprintf(script, sizeof(script), "%s/dovecot.sh", src != NULL ? src : "tests");
	/* What the script and Dovecot say before its log is open stays out
	 * of the TAP stream. */
	snprintf(out, sizeof(out), "%s/dovecot.out", d->dir);
	if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execl("/bin/sh", "sh", script, d->dir, certdir, (char *)NULL);
	fprintf(stderr, "dovecot_server: cannot run %s: %s\n", script, strerror(errno));
	_exit(127);
}

int
dovecot_start(struct dovecot_server *d, const char *dir, const char *certdir)
{
	memset(d, 0, sizeof(*d));
	d->pid = -1;
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	snprintf(d->maildir, sizeof(d->maildir), "%s/mail/alice", dir);
	if ((mkdir(dir, 0755) == -1 && errno != EEXIST) || pick_ports(d) == -1)
		return -1;
	if ((d->pid = fork()) == -1)
		return -1;
	if (d->pid == 0)
		exec_dovecot(d, certdir);
	for (int waited = 0; waited < READY_WAIT_MS; waited += 20) {
		if (accepts(d->pop3_port) && accepts(d->pop3s_port) && accepts(d->imap_port) &&
		    accepts(d->imaps_port))
			return 0;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = -1;
			return -1;
		}
		nap_ms(20);
	}
	dovecot_stop(d);
	return -1;
}

void
dovecot_stop(struct dovecot_server *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	for (int waited = 0; waited < STOP_WAIT_MS; waited += 20) {
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = -1;
			return;
		}
		nap_ms(20);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = -1;
}

/* Written in tmp/ and renamed into new/, as a delivery agent does, so that
 * Dovecot never sees half a message; owned by the Maildir's owner, who
 * Dovecot reads it as. */
int
dovecot_deliver(const struct dovecot_server *d, const char *name, const char *text)
{
	static unsigned seq;
	char file[NAME_MAX], tmp[PATH_MAX * 2], new[PATH_MAX * 2];
	size_t len = strlen(text);
	struct stat st;
	int fd, rc = -1;

	snprintf(file, sizeof(file), "%ld.P%dQ%u.%s", (long)time(NULL), (int)getpid(), ++seq,
		 name);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", d->maildir, file);
	snprintf(new, sizeof(new), "%s/new/%s", d->maildir, file);
	if (stat(d->maildir, &st) == -1 ||
	    (fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
		return -1;
	if (write(fd, text, len) == (ssize_t)len && fchown(fd, st.st_uid, st.st_gid) == 0)
		rc = 0;
	if (close(fd) == -1 || rc == -1 || rename(tmp, new) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
count_in(const char *dir)
{
	struct dirent *e;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

int
dovecot_count(const struct dovecot_server *d)
{
	char path[PATH_MAX * 2];
	int n;

	snprintf(path, sizeof(path), "%s/new", d->maildir);
	n = count_in(path);
	snprintf(path, sizeof(path), "%s/cur", d->maildir);
	return n + count_in(path);
}
