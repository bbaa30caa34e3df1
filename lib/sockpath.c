/*
 * sockpath.c — where the control socket is when nobody says (SPEC §5):
 * the daemon and the library must agree, so both ask this one function.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

/* An empty variable counts as unset, as a shell's "VAR=" means "none". */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* The first dirlen bytes of dir, then file, into buf as snprintf does. */
static size_t
join(char *buf, size_t len, const char *dir, size_t dirlen, const char *file)
{
	int n = snprintf(buf, len, "%.*s%s", (int)dirlen, dir, file);

	return n < 0 ? 0 : (size_t)n;
}

size_t
mapispool_default_socket(char *buf, size_t len)
{
	const char *v;

	if ((v = env("MAPISPOOL_SOCKET")) != NULL)
		return join(buf, len, v, strlen(v), "");
	/* systemd's RuntimeDirectory= (the system or user service); given
	 * several directories, systemd lists them colon-separated and the
	 * socket is in the first. */
	if ((v = env("RUNTIME_DIRECTORY")) != NULL)
		return join(buf, len, v, strcspn(v, ":"), "/control.sock");
	/* A per-user daemon.  Root's XDG_RUNTIME_DIR (from a login session)
	 * must not hide the system socket. */
	if (getuid() != 0 && (v = env("XDG_RUNTIME_DIR")) != NULL)
		return join(buf, len, v, strlen(v), "/mapispool/control.sock");
	return join(buf, len, "", 0, "/run/mapispool/control.sock");
}
