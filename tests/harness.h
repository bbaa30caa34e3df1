/*
 * harness.h — integration tests: a real mapispoold on a temporary directory
 * and socket, and ways to talk to it (raw socket, mapispoolctl).
 *
 * The programs under test come from the environment that `make check` sets:
 * $MAPISPOOLD and $MAPISPOOLCTL.
 */
#ifndef MAPISPOOL_TESTS_HARNESS_H
#define MAPISPOOL_TESTS_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct daemon_handle {
	pid_t pid;
	char dir[PATH_MAX / 2];	/* temporary directory, removed by harness_stop */
	char socket[PATH_MAX];	/* dir/control.sock */
	char config[PATH_MAX];	/* dir/mapispool.conf */
	char log[PATH_MAX];	/* dir/mapispoold.log: the daemon's stderr */
	unsigned nofile;	/* RLIMIT_NOFILE for the daemon; 0: inherited */
};

/* A profile for tests: spool and store in @DIR@, one maildir transport
 * "local" and one pipe transport "fax" (address type FAX). */
extern const char harness_default_config[];

/* Make a temporary directory, write config_text there (NULL: the default
 * above; every "@DIR@" is replaced by the directory), start the daemon with
 * --config and --socket in it, and wait until the socket answers (10 s at
 * most).  Returns 0, or -1 with the daemon's log on stderr. */
int harness_start(struct daemon_handle *d, const char *config_text);

/* The same, with the daemon's RLIMIT_NOFILE (soft and hard) set to
 * nofile. */
int harness_start_with_nofile(struct daemon_handle *d, const char *config_text,
			      unsigned nofile);

/* Start the daemon again on the same directory (after harness_kill). */
int harness_restart(struct daemon_handle *d);

/* SIGTERM, wait, remove the directory.  Returns the daemon's exit status
 * (as from waitpid: 0 for a clean exit), or -1 if it had to be killed. */
int harness_stop(struct daemon_handle *d);

/* Send sig and reap, keeping the directory. */
void harness_kill(struct daemon_handle *d, int sig);

/* Is the daemon process still running? */
bool harness_alive(struct daemon_handle *d);

/* A raw connection to the control socket, with the hello line already
 * read and checked; -1 on failure. */
int harness_connect(const struct daemon_handle *d);

/* Write all of buf. */
int harness_send(int fd, const char *buf, size_t len);

/* Read one line (without '\n') within timeout_ms; malloc'd, or NULL on
 * timeout, EOF or error. */
char *harness_readline(int fd, int timeout_ms);

/* Run $MAPISPOOLCTL --socket d->socket ARGS... (a NULL-terminated list);
 * *out (if not NULL) gets its stdout, malloc'd; stdin is /dev/null unless
 * input is not NULL.  Returns its exit status (0..255), -1 on failure. */
int harness_ctl(const struct daemon_handle *d, char **out, const char *input, ...);

/* Files in dir/sub, not counting dotfiles; 0 if it cannot be read. */
int harness_count_files(const char *dir, const char *sub);

/* A whole file, malloc'd and NUL-terminated; NULL if it cannot be read. */
char *harness_slurp(const char *path);

/* The daemon's stderr so far, malloc'd. */
char *harness_log(const struct daemon_handle *d);

#endif
