/*
 * systemd.h — what the daemon tells systemd, and the socket systemd may
 * hand it (sd_notify(3), sd_listen_fds(3)).
 *
 * Without libsystemd (./configure --without-systemd, or no libsystemd-dev)
 * every function is a no-op and systemd_listen_fd finds no socket, so the
 * daemon runs the same, only without telling anyone.  With it, the
 * notifications go nowhere unless systemd set NOTIFY_SOCKET (a service
 * with Type=notify).
 */
#ifndef MAPISPOOLD_SYSTEMD_H
#define MAPISPOOLD_SYSTEMD_H

#include <stddef.h>

/* READY=1: the spooler is built and the control socket listens. */
void systemd_ready(void);

/* STOPPING=1: a stop signal arrived; shutting down. */
void systemd_stopping(void);
/* RELOADING=1; READY=1 (systemd_ready) says the reload is over. */
void systemd_reloading(void);

/* STATUS=...: one line for `systemctl status`. */
void systemd_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The listening socket of socket activation (mapispoold.socket), taken
 * from LISTEN_FDS/LISTEN_PID, which are then unset so that no child
 * inherits them.  Returns it; -1 with err[0] == '\0' when the daemon was
 * not socket-activated; -1 with a message in err when it was, but with
 * anything other than exactly one listening AF_UNIX stream socket. */
int systemd_listen_fd(char *err, size_t errlen);

#endif
