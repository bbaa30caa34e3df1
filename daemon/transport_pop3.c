/*
 * transport_pop3.c — the pop3 transport: downloads from a POP3 mailbox
 * (pop3:// with STARTTLS when offered, pop3s://), through the engine in
 * fetch_common.c.
 *
 * UIDL names each message for keep = yes; RETR fetches it, DELE marks it
 * once the spooler holds it, and QUIT at the session's end commits the
 * marks (RFC 1939: a session that ends otherwise deletes nothing).
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "fetch_common.h"

static bool
pop3_request(enum fetch_step step, const char *mailbox, unsigned long num, char *path,
	     size_t pathlen, char *cmd, size_t cmdlen)
{
	(void)mailbox;
	switch (step) {
	case FETCH_LIST:
		snprintf(path, pathlen, "/");
		snprintf(cmd, cmdlen, "UIDL");
		return true;
	case FETCH_RETRIEVE:
		snprintf(path, pathlen, "/%lu", num);
		snprintf(cmd, cmdlen, "%s", "");
		return true;
	case FETCH_DELETE:
		snprintf(path, pathlen, "/%lu", num);
		snprintf(cmd, cmdlen, "DELE");
		return true;
	case FETCH_EXPUNGE:
		return false;
	case FETCH_LOGOUT:
		snprintf(path, pathlen, "/");
		snprintf(cmd, cmdlen, "QUIT");
		return true;
	}
	return false;
}

/* "n unique-id" lines. */
static int
pop3_parse(struct fetch_listing *l, unsigned index, const char *word, bool cut)
{
	char *end;

	if (word == NULL)
		return index == 2 ? 0 : -1;
	if (cut)
		return -1;	/* longer than RFC 1939 allows */
	switch (index) {
	case 0:
		if (!isdigit((unsigned char)word[0]))
			return -1;
		l->num = strtoul(word, &end, 10);
		return *end == '\0' && l->num > 0 ? 0 : -1;
	case 1:
		fetch_listing_add(l, l->num, word);
		return 0;
	default:
		return -1;
	}
}

static const struct fetch_proto pop3 = {
	.protocols = "pop3,pop3s",
	.tls_scheme = "pop3s",
	.has_mailbox = false,
	.request = pop3_request,
	.parse = pop3_parse,
};

static void *
pop3_open(const struct transport_config *tc, const struct transport_env *env, char *err,
	  size_t errlen)
{
	return fetch_common_open(&pop3, tc, env, err, errlen);
}

const struct transport_backend transport_pop3 = {
	.name = "pop3",
	.open = pop3_open,
	.close = fetch_common_close,
	.fetch = fetch_common_fetch,
	.set_password = fetch_common_set_password,
};
