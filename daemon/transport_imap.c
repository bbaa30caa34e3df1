/*
 * transport_imap.c — the imap transport: downloads from one IMAP folder
 * (imap:// with STARTTLS when offered, imaps://), through the engine in
 * fetch_common.c.
 *
 * The folder is the URL's path, else folder, else INBOX.  UID SEARCH lists
 * the messages not already marked \Deleted; each is fetched by UID and,
 * once the spooler holds it, marked \Deleted, and one EXPUNGE at the end
 * removes them (a session cut short leaves marks that the next one
 * expunges, and skips).  With keep = yes a message is known by
 * UIDVALIDITY.UID, so that a folder whose UIDs were renumbered is fetched
 * anew rather than skipped.  Fetching sets \Seen, as any reader does.
 */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch_common.h"

static bool
imap_request(enum fetch_step step, const char *mailbox, unsigned long num, char *path,
	     size_t pathlen, char *cmd, size_t cmdlen)
{
	snprintf(path, pathlen, "/%s", mailbox);
	switch (step) {
	case FETCH_LIST:
		snprintf(cmd, cmdlen, "UID SEARCH UNDELETED");
		return true;
	case FETCH_RETRIEVE:
		/* libcurl's own UID FETCH n BODY[] */
		snprintf(path, pathlen, "/%s;UID=%lu", mailbox, num);
		snprintf(cmd, cmdlen, "%s", "");
		return true;
	case FETCH_DELETE:
		snprintf(cmd, cmdlen, "UID STORE %lu +FLAGS.SILENT (\\Deleted)", num);
		return true;
	case FETCH_EXPUNGE:
		snprintf(cmd, cmdlen, "EXPUNGE");
		return true;
	case FETCH_LOGOUT:
		snprintf(cmd, cmdlen, "LOGOUT");
		return true;
	}
	return false;
}

/* "* SEARCH uid uid ..." lines; other untagged responses pass. */
static int
imap_parse(struct fetch_listing *l, unsigned index, const char *word, bool cut)
{
	char key[FETCH_KEY_MAX], *end;
	unsigned long uid;

	if (word == NULL) {
		l->matched = false;
		return 0;
	}
	if (index == 0) {
		l->matched = !cut && strcmp(word, "*") == 0;
		return 0;
	}
	if (index == 1) {
		l->matched = l->matched && !cut && strcasecmp(word, "SEARCH") == 0;
		return 0;
	}
	if (!l->matched)
		return 0;
	if (cut || !isdigit((unsigned char)word[0]))
		return -1;
	uid = strtoul(word, &end, 10);
	if (*end != '\0' || uid == 0 || uid > UINT32_MAX)
		return -1;
	snprintf(key, sizeof(key), "%lu.%lu", l->validity, uid);
	fetch_listing_add(l, uid, key);
	return 0;
}

/* SELECT's "* OK [UIDVALIDITY n]" comes before the listing. */
static void
imap_header(struct fetch_listing *l, const char *line, size_t len)
{
	static const char tag[] = "[UIDVALIDITY ";
	const char *p = memmem(line, len, tag, sizeof(tag) - 1);
	unsigned long v = 0;

	if (p == NULL)
		return;
	p += sizeof(tag) - 1;
	for (; p < line + len && isdigit((unsigned char)*p) && v <= UINT32_MAX; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (v <= UINT32_MAX)
		l->validity = v;
}

static const struct fetch_proto imap = {
	.protocols = "imap,imaps",
	.tls_scheme = "imaps",
	.has_mailbox = true,
	.request = imap_request,
	.parse = imap_parse,
	.header = imap_header,
};

static void *
imap_open(const struct transport_config *tc, const struct transport_env *env, char *err,
	  size_t errlen)
{
	return fetch_common_open(&imap, tc, env, err, errlen);
}

const struct transport_backend transport_imap = {
	.name = "imap",
	.open = imap_open,
	.close = fetch_common_close,
	.fetch = fetch_common_fetch,
	.set_password = fetch_common_set_password,
};
