/*
 * fetch_common.h — what the pop3 and imap transports share: a mailbox
 * fetched over libcurl's multi interface, one message at a time (as
 * fetchmail's driver.c serves its pop3.c and imap.c).
 *
 * The engine lists the mailbox, downloads each message not fetched before
 * into a file in the spool's tmp/, hands it to the spooler, and only once
 * the spooler holds it durably deletes it at the source — or, with
 * keep = yes, remembers its key in spool_dir/state/NAME.uids.  A protocol
 * says how each step is asked for and how the listing reads.
 */
#ifndef MAPISPOOLD_FETCH_COMMON_H
#define MAPISPOOLD_FETCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "transport.h"

/* A POP3 unique-id is at most 70 bytes (RFC 1939); an IMAP key is
 * "UIDVALIDITY.UID". */
#define FETCH_KEY_MAX 72

enum fetch_step {
	FETCH_LIST,		/* list the mailbox */
	FETCH_RETRIEVE,		/* one message's bytes */
	FETCH_DELETE,		/* mark one message for deletion */
	FETCH_EXPUNGE,		/* make the deletions happen (IMAP) */
	FETCH_LOGOUT,		/* end the session (POP3 commits its DELEs) */
};

/* The listing as it is read: a protocol's parse adds to it. */
struct fetch_listing {
	unsigned long validity;	/* IMAP UIDVALIDITY, from the header lines */
	unsigned long num;	/* scratch for the line being parsed */
	bool matched;		/* scratch: the line is one the parser wants */
	void *engine;		/* the fetch it belongs to */
};

struct fetch_proto {
	const char *protocols;		/* CURLOPT_PROTOCOLS_STR */
	const char *tls_scheme;		/* the scheme with implicit TLS */
	bool has_mailbox;		/* the URL's path names a folder (IMAP) */
	/* The path after scheme://host:port and the command for a step on
	 * message num (cmd[0] == '\0': the URL's own transfer, RETR or
	 * FETCH); false when the protocol has no such step. */
	bool (*request)(enum fetch_step step, const char *mailbox, unsigned long num,
			char *path, size_t pathlen, char *cmd, size_t cmdlen);
	/* The listing's response, split into blank-separated words: word
	 * index of its line, then word NULL (index: how many) at the end of
	 * each line.  A word longer than FETCH_KEY_MAX - 1 bytes comes cut
	 * to that, with cut set.  -1: a response that makes no sense. */
	int (*parse)(struct fetch_listing *l, unsigned index, const char *word, bool cut);
	/* The server's response lines while listing (IMAP's SELECT tells
	 * UIDVALIDITY there); may be NULL. */
	void (*header)(struct fetch_listing *l, const char *line, size_t len);
};

/* For parse: one message of the mailbox, num as request takes it.  Past
 * the engine's bound on a listing the rest waits for a later fetch. */
void fetch_listing_add(struct fetch_listing *l, unsigned long num, const char *key);

/* The backend functions, for a protocol's transport_backend table; open
 * takes the protocol as its extra argument. */
void *fetch_common_open(const struct fetch_proto *proto, const struct transport_config *tc,
			const struct transport_env *env, char *err, size_t errlen);
void fetch_common_close(void *xp);
void fetch_common_fetch(void *xp, struct xp_fetch *req);
void fetch_common_set_password(void *xp, const char *password);

#endif
