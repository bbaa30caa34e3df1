/*
 * servers.h — real mail servers on loopback for the transport tests,
 * started and stopped by the tests themselves.
 */
#ifndef MAPISPOOL_TESTS_SERVERS_H
#define MAPISPOOL_TESTS_SERVERS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/* A free TCP port on 127.0.0.1 (bound and released). */
int servers_free_port(void);

/* tests/tls_ca.sh into dir: dir/ca.pem, server.{pem,key}, rogue.{pem,key}. */
int servers_make_ca(const char *dir);

struct smtp_server {
	pid_t pid;
	int port;		/* plain, with STARTTLS when tls */
	int tls_port;		/* implicit TLS (smtps), 0 when not */
	char dir[PATH_MAX / 2];	/* received messages: dir/received/N.eml + N.env */
};

/* tests/smtp_sink.py on Debian's python3 (aiosmtpd), recording what it
 * receives in dir.  A recipient whose local part starts with "tempfail"
 * gets 451, "permfail" 550; "auth" in opts requires AUTH PLAIN/LOGIN with
 * user "alice" and password "secret"; "tls" offers STARTTLS and an smtps
 * port with the certificate in certdir (server or rogue); "mail_delay=MS"
 * holds each reply to MAIL that long and keeps in dir/peak the most MAIL
 * commands waiting at once; "die_at=N" makes it exit, cutting every
 * connection, at its N-th MAIL command.  Returns 0 when the server
 * answers. */
int smtp_server_start(struct smtp_server *s, const char *dir, const char *opts,
		      const char *certdir, const char *cert);
void smtp_server_stop(struct smtp_server *s);
/* Messages received so far. */
int smtp_server_count(const struct smtp_server *s);

struct dovecot_server {
	pid_t pid;
	int pop3_port, imap_port;	/* plain, with STARTTLS */
	int pop3s_port, imaps_port;	/* implicit TLS */
	char dir[PATH_MAX / 2];
	char maildir[PATH_MAX];		/* the user "alice"'s Maildir (password "secret") */
};

/* tests/dovecot.sh: Dovecot with a passwd-file user alice/secret whose
 * Maildir is d->maildir, on free ports, TLS with certdir/server.pem. */
int dovecot_start(struct dovecot_server *d, const char *dir, const char *certdir);
void dovecot_stop(struct dovecot_server *d);
/* Put a message with the given body into alice's INBOX (Maildir new/). */
int dovecot_deliver(const struct dovecot_server *d, const char *name, const char *text);
/* Messages left in alice's INBOX (new/ and cur/). */
int dovecot_count(const struct dovecot_server *d);

#endif
