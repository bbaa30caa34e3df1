/*
 * transport.c — what each transport type is, and which ones this build
 * can run.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport.h"

static const struct transport_type_info types[] = {
	{ TRANSPORT_MAILDIR, "maildir", "Maildir transport", true, true, true, &transport_maildir },
	{ TRANSPORT_SMTP, "smtp", "SMTP transport", true, false, true, &transport_smtp },
	{ TRANSPORT_POP3, "pop3", "POP3 transport", false, true, true, &transport_pop3 },
	{ TRANSPORT_IMAP, "imap", "IMAP transport", false, true, true, &transport_imap },
	/* A pipe cannot flush itself: the spooler flushes it with its entry
	 * ID as the target transport (the seed's second procedure). */
	{ TRANSPORT_PIPE, "pipe", "Pipe transport", true, false, false, &transport_pipe },
};

const struct transport_type_info *
transport_type_info(enum transport_type type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

char *
transport_read_password(const char *path, char *err, size_t errlen)
{
	char buf[1024], *pw;
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "password_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "password_file %s: not a regular file", path);
		close(fd);
		return NULL;
	}
	/* A secret others can read is no secret: say so instead of using it. */
	if (st.st_mode & 0077) {
		snprintf(err, errlen, "password_file %s: readable by others (mode %04o); "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "password_file %s: %s", path, strerror(errno));
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	pw = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (pw == NULL)
		snprintf(err, errlen, "out of memory");
	return pw;
}

void
transport_free_secret(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}
