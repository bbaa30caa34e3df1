/*
 * systemd.c — sd_notify and socket activation, when built with libsystemd
 * (HAVE_LIBSYSTEMD); no-ops otherwise.  See systemd.h.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LIBSYSTEMD
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "systemd.h"

#ifdef HAVE_LIBSYSTEMD

/* A failed notification is worth a debug line, never more: the daemon
 * works the same whether systemd hears it or not. */
static void
notify(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		log_debug("sd_notify(%s): %s", state, strerror(-r));
}

void
systemd_ready(void)
{
	notify("READY=1");
}

void
systemd_stopping(void)
{
	notify("STOPPING=1");
}

void
systemd_reloading(void)
{
	notify("RELOADING=1");
}

void
systemd_status(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	memcpy(line, "STATUS=", 7);
	va_start(ap, fmt);
	vsnprintf(line + 7, sizeof(line) - 7, fmt, ap);
	va_end(ap);
	/* One line: a newline would start another assignment. */
	line[7 + strcspn(line + 7, "\n")] = '\0';
	notify(line);
}

int
systemd_listen_fd(char *err, size_t errlen)
{
	int n, r, fd = SD_LISTEN_FDS_START;

	if (errlen > 0)
		err[0] = '\0';
	/* Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES: a pipe
	 * transport's command must not think the sockets are its own. */
	if ((n = sd_listen_fds(1)) < 0) {
		snprintf(err, errlen, "socket activation: %s", strerror(-n));
		return -1;
	}
	if (n == 0)
		return -1;
	if (n != 1) {
		snprintf(err, errlen, "socket activation: systemd passed %d sockets, mapispoold "
			 "takes exactly one (one ListenStream= in mapispoold.socket)", n);
		return -1;
	}
	r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
	if (r < 0) {
		snprintf(err, errlen, "socket activation: descriptor %d: %s", fd, strerror(-r));
		return -1;
	}
	if (r == 0) {
		snprintf(err, errlen, "socket activation: descriptor %d is not a listening Unix "
			 "stream socket (ListenStream= with a path, Accept=no)", fd);
		return -1;
	}
	return fd;
}

#else /* !HAVE_LIBSYSTEMD */

void
systemd_ready(void)
{
}

void
systemd_stopping(void)
{
}

void
systemd_reloading(void)
{
}

void
systemd_status(const char *fmt, ...)
{
	(void)fmt;
}

/* A socket systemd passed cannot be used: say so rather than fail later
 * on a socket path that systemd holds. */
int
systemd_listen_fd(char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	if (getenv("LISTEN_FDS") != NULL)
		snprintf(err, errlen, "socket activation: this mapispoold was built without "
			 "libsystemd (./configure --with-systemd)");
	return -1;
}

#endif
