/*
 * conf.h — the profile: [spooler] settings and the ordered transports,
 * read from an INI file (SPEC §8) or the embedded default profile.
 *
 * The parser checks everything it can without touching the outside world:
 * known sections and keys for each transport type, value syntax and ranges,
 * duplicate names.  The one exception is the access lists: their user and
 * group names are resolved to ids here, once, so that a name that does not
 * exist is an error at load and a connection never waits on NSS.  Every
 * error names file, line and problem.
 */
#ifndef MAPISPOOLD_CONF_H
#define MAPISPOOLD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Transport names: [A-Za-z0-9._-], 1..CONFIG_NAME_MAX bytes. */
#define CONFIG_NAME_MAX 64
#define CONFIG_MAX_TRANSPORTS 64
#define CONFIG_MAX_ADDRTYPES 16
#define CONFIG_MAX_FILE_SIZE (1024 * 1024)
/* libinih reads lines of at most this many bytes; longer is an error. */
#define CONFIG_MAX_LINE 199

enum transport_type {
	TRANSPORT_MAILDIR,
	TRANSPORT_SMTP,
	TRANSPORT_POP3,
	TRANSPORT_IMAP,
	TRANSPORT_PIPE,
};

enum send_mode {
	SEND_IMMEDIATE,
	SEND_SCHEDULED,
	SEND_ON_DEMAND,
};

enum starttls_mode {
	STARTTLS_REQUIRED,
	STARTTLS_OPPORTUNISTIC,
	STARTTLS_NO,
};

/* Durations are kept in milliseconds ("5m", "1h", "5d", "10s", "250ms",
 * "0.5s"; a bare number is seconds). */
typedef int64_t msec_t;

/* A list of user or group ids (allow_users and friends); n == 0: unset. */
struct id_list {
	id_t *ids;
	size_t n;
};

struct transport_config {
	char name[CONFIG_NAME_MAX + 1];
	enum transport_type type;
	unsigned line;			/* where its section starts */

	/* any type */
	char *display_name;		/* display_name; default: the name */
	char *addrtypes[CONFIG_MAX_ADDRTYPES]; /* address_types, comma list */
	size_t n_addrtypes;		/* 0: catch-all */
	char **domains;			/* domains, comma list; NULL: any */
	size_t n_domains;
	bool prefer_last;		/* prefer_last = yes: STATUS_XP_PREFER_LAST */

	/* upload transports (maildir, smtp, pipe) */
	enum send_mode send;		/* send; default immediate */
	msec_t schedule;		/* schedule; default 10m */

	/* maildir */
	char *deliver_to;		/* upload target Maildir */
	char *pickup;			/* download source Maildir */

	/* smtp, pop3, imap */
	char *url;
	char *username;
	char *password_file;
	bool password_prompt;		/* password = prompt */
	char *ca_file;
	enum starttls_mode starttls;	/* smtp; default required */
	char *helo;			/* smtp */
	unsigned max_connections;	/* smtp; default 1 */
	bool keep;			/* pop3/imap: keep = yes */
	char *folder;			/* imap */

	/* download transports (maildir with pickup, pop3, imap) */
	msec_t poll;			/* poll; 0: only on demand */

	/* pipe */
	char *command;

	msec_t timeout;			/* per-attempt timeout; default 5m */
};

struct spooler_config {
	char *profile_name;		/* profile; default "default" */
	char *spool_dir;
	char *store;			/* default store: a Maildir */
	mode_t socket_mode;		/* socket_mode; default 0660 (0600 per-user) */
	char *socket_group;		/* socket_group; NULL: the daemon's */
	uint64_t max_message_size;	/* default 32M */
	msec_t retry_min, retry_max, max_lifetime;
	msec_t notify_delay;		/* 0: none */
	/* control socket limits */
	size_t max_line_size;		/* default: max_message_size * 4/3 + 64K */
	unsigned max_clients;		/* default 256 */
	unsigned max_clients_per_uid;	/* default 32 */
	unsigned max_pending;		/* requests in flight per client; default 64 */
	msec_t idle_timeout;		/* 0: none; default 0 */
	msec_t request_timeout;		/* to finish a line once begun; 0: none; default 30s */
	size_t max_output_size;		/* unread output that drops a client; default 16M */
	/* who may run control operations, and read-only ones (SPEC §14) */
	struct id_list allow_users, allow_groups;
	struct id_list allow_read_users, allow_read_groups;
};

struct config {
	char *path;			/* the file read, or NULL: embedded */
	struct spooler_config spooler;
	struct transport_config *transports; /* in file order */
	size_t n_transports;
};

/* Read path into *cfg.  On error returns -1 with "FILE:LINE: problem" in
 * err (cfg is then empty and needs no config_free). */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* Parse INI text (name is used in messages). */
int config_load_string(const char *text, const char *name, struct config *cfg, char *err,
		       size_t errlen);

/* The embedded default profile: spool and store under base (for example
 * $XDG_STATE_HOME/mapispool or /var/spool/mapispool), one maildir transport
 * "local" delivering to base/outbox and picking up from base/dropbox. */
int config_default(const char *base, struct config *cfg, char *err, size_t errlen);

/* The file to read when --config is not given: for root
 * /etc/mapispool/mapispool.conf, for another user
 * $XDG_CONFIG_HOME/mapispool/mapispool.conf — if it exists; else NULL (the
 * embedded profile).  buf holds the result. */
const char *config_find(char *buf, size_t len);

void config_free(struct config *cfg);

const char *transport_type_name(enum transport_type t);
const char *send_mode_name(enum send_mode m);

/* Value parsers, exposed for the tests: false on bad syntax or range. */
bool config_parse_duration(const char *s, msec_t *out);
bool config_parse_size(const char *s, uint64_t *out);
bool config_parse_bool(const char *s, bool *out);

#endif
