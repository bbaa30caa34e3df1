/*
 * transport.h — the registry of transport types and the interface every
 * transport backend implements.
 *
 * What each type can do is a fact of the type (SPEC §9): whether it sends,
 * receives, and flushes its own queues.  A backend is a table of functions
 * (OpenSMTPD's backends, MAPI's IXPLogon in miniature): the spooler opens
 * one instance per configured transport, hands it messages to send and
 * asks it to fetch, and hears back through callbacks.  Backends know
 * nothing of the control socket, the status table or the queues' files
 * beyond the path of a message's bytes.
 */
#ifndef MAPISPOOLD_TRANSPORT_H
#define MAPISPOOLD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <mapispool/mapicode.h>

#include "conf.h"
#include "spool.h"
#include "worker.h"

/* How one attempt ended (MAPI's SubmitMessage outcomes). */
enum xp_outcome {
	XP_SENT,		/* taken: remove from the queue */
	XP_DEFERRED,		/* temporary (MAPI_E_WAIT): try again later */
	XP_FAILED,		/* permanent: a non-delivery report */
	XP_NOT_ME,		/* declined (MAPI_E_NOT_ME): next transport */
	XP_CANCELLED,		/* needed a person and had none (FLUSH_NO_UI, or the
				 * prompt was cancelled): untouched, not an attempt */
};

/* A recipient refused while the message went to the others: the address
 * as queued and the server's reply.  Refused for good, it gets a
 * non-delivery report; temporarily, it stays queued for the next attempt
 * and only it is sent to then. */
struct xp_refusal {
	const char *address;
	const char *reply;
	bool temporary;
};

struct xp_result {
	enum xp_outcome outcome;
	char text[SPOOL_MAX_ERROR];	/* what happened, in words */
	/* XP_SENT only: valid while done runs */
	const struct xp_refusal *refused;
	size_t n_refused;
};

struct curl_loop;

/* What a backend gets to work with. */
struct transport_env {
	struct event_base *base;
	struct worker_pool *workers;
	struct curl_loop *curl;		/* libcurl on the loop (smtp, pop3, imap) */
	const char *tmp_dir;		/* scratch space on the spool's disk */
};

/* A person to ask (the client that asked for a flush without FLUSH_NO_UI),
 * or none.  prompt asks for a secret; answer(actx, value) comes later on
 * the loop, with NULL when cancelled, timed out or the person left.  The
 * value is wiped after answer returns: copy it. */
struct xp_ui {
	void (*prompt)(void *ctx, const char *transport, const char *text,
		       void (*answer)(void *actx, const char *value), void *actx);
	void *ctx;
};

/* Upload one message: the recipients of msg whose unit is `unit` are
 * this transport's.  done is called exactly once, on the loop, and not
 * from inside send (only an allocation failure answers at once).  req and
 * what it points to need to live only during the call: the backend copies
 * what it keeps.  A pass may have up to max_sends sends out at once, and
 * their done calls may come in any order. */
struct xp_send {
	const struct qmsg *msg;
	int unit;
	const char *data_path;		/* the file of the message's bytes, */
	uint64_t data_offset;		/* from here to its end */
	const struct xp_ui *ui;		/* NULL: nobody to ask */
	void (*done)(void *ctx, const struct xp_result *r);
	void *ctx;
};

/* Download: for each new message the backend puts its bytes in a file and
 * calls import; the spooler copies it into the inbound queue and calls
 * imported(xpctx, S_OK) once durable — only then may the backend delete
 * the message at its source.  One import at a time: the next comes after
 * imported, and path stays valid until then.  Any other hr stops the
 * fetch.  When nothing is left, done
 * (once, as for send) with fetched, the messages imported, and r: XP_SENT
 * when all went well (fetched may be 0), XP_DEFERRED with words when it
 * stopped on an error, XP_NOT_ME when this instance does not receive. */
struct xp_fetch {
	void (*import)(void *ctx, const char *path,
		       void (*imported)(void *xpctx, HRESULT hr), void *xpctx);
	void (*done)(void *ctx, const struct xp_result *r, unsigned fetched);
	const struct xp_ui *ui;		/* NULL: nobody to ask */
	void *ctx;
};

struct transport_backend {
	const char *name;
	/* A new instance for tc; NULL with err on failure.  May block briefly
	 * (mkdir): called at start or on a reload. */
	void *(*open)(const struct transport_config *tc, const struct transport_env *env,
		      char *err, size_t errlen);
	/* No done is called after close, even for work in flight; close may
	 * be called from inside a done. */
	void (*close)(void *xp);
	void (*send)(void *xp, struct xp_send *req);	/* NULL: cannot send */
	/* How many sends the instance runs at once, at least 1: a pass keeps
	 * that many out (each one's outcome is written to the spool before
	 * its place goes to the next), so a crash may repeat that many.
	 * NULL: one at a time. */
	unsigned (*max_sends)(void *xp);
	void (*fetch)(void *xp, struct xp_fetch *req);	/* NULL: cannot fetch */
	/* The password changed (ChangePassword wrote the new one to
	 * password_file): use it from now on.  NULL: keeps no password. */
	void (*set_password)(void *xp, const char *password);
};

struct transport_type_info {
	enum transport_type type;
	const char *name;		/* "smtp": PR_PROVIDER_DLL_NAME */
	const char *display;		/* PR_PROVIDER_DISPLAY */
	bool upload;			/* sends (outbound queue) */
	bool download;			/* receives (inbound queue) */
	bool own_flush;			/* STATUS_FLUSH_QUEUES on its own row */
	const struct transport_backend *backend; /* NULL: not in this build */
};

const struct transport_type_info *transport_type_info(enum transport_type type);

extern const struct transport_backend transport_maildir;
extern const struct transport_backend transport_pipe;
extern const struct transport_backend transport_smtp;
extern const struct transport_backend transport_pop3;
extern const struct transport_backend transport_imap;

/* The first line of a password file (blocking: at open, or on a worker);
 * malloc'd, NULL with err.  Refuses a file others can read. */
char *transport_read_password(const char *path, char *err, size_t errlen);

/* Wipe and free a secret. */
void transport_free_secret(char *secret);

#endif
