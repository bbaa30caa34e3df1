/*
 * client.h — the client side of libmapispool, shared by its files: the
 * connection to mapispoold, the header every object starts with, and the
 * recording of errors for GetLastError and mapispool_last_error.
 *
 * A call into the library runs to completion on the caller's thread: it
 * sends one request, reads lines until the reply with its id comes, and
 * queues whatever else arrived (events, replies to other ids) for
 * mapispool_dispatch, which hands events to advise sinks and the UI
 * callback, also on the caller's thread.
 */
#ifndef MAPISPOOL_CLIENT_H
#define MAPISPOOL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <mapispool/mapispool.h>

/* Room for an error message, in objects and in callers' buffers. */
#define CLIENT_ERR_MAX 1024
/* No line from the daemon may be longer than this. */
#define CLIENT_MAX_LINE (16 * 1024 * 1024)
/* Lines kept for later; past this the oldest is dropped. */
#define CLIENT_MAX_QUEUED 1024

/* ---- The connection ---- */

struct client;

/* Connect to the control socket at path (NULL: mapispool_default_socket),
 * read the hello and check its protocol.  MAPI_E_NETWORK_ERROR when the
 * daemon cannot be reached, MAPI_E_VERSION when it speaks another
 * protocol; err says which path and why. */
HRESULT client_open(const char *path, struct client **out, char *err, size_t errlen);

/* Close the socket and free everything queued.  NULL-safe. */
void client_close(struct client *c);

/* Send {"id":N,"op":op, ...params' members} and wait for its reply.
 * Returns the reply's "hr"; on success (warnings included) *reply is the
 * reply object, which the caller puts.  On failure *reply is NULL and err
 * holds the daemon's "message" or what went wrong with the connection
 * (then MAPI_E_END_OF_SESSION, and the connection is closed for good). */
HRESULT client_call(struct client *c, const char *op, json_object *params,
		    json_object **reply, char *err, size_t errlen);

/* Offered each event that arrives while a call waits, in order, those
 * read by calls the hook itself makes included: true if the hook handled
 * it (the client then puts it), false to queue it. */
typedef bool client_hook(void *ctx, json_object *msg);

/* client_call that offers the events read meanwhile to hook first. */
HRESULT client_call_hook(struct client *c, const char *op, json_object *params,
			 client_hook *hook, void *ctx, json_object **reply, char *err,
			 size_t errlen);

/* A request member whose value is a secret (a password). */
struct client_secret {
	const char *key;
	const char *value;	/* UTF-8 */
};

/* client_call with the secrets added to params' members.  The request line
 * is made in a buffer of its own, wiped once sent: json-c would leave
 * copies of the values in memory it frees. */
HRESULT client_call_secret(struct client *c, const char *op, json_object *params,
			   const struct client_secret *secrets, size_t nsecrets,
			   json_object **reply, char *err, size_t errlen);

/* The next line, queued or arriving within timeout_ms (-1: no limit), for
 * the caller to put.  *msg is NULL when none came in time or a signal
 * interrupted the wait.  Failures are client_call's. */
HRESULT client_next(struct client *c, int timeout_ms, json_object **msg, char *err,
		    size_t errlen);

/* The socket, or -1 once the connection is gone. */
int client_fd(const struct client *c);

/* ---- Objects ---- */

/* What an object is; the values are distinct words so that a pointer to
 * something else (or to a released object) is unlikely to pass. */
enum obj_kind {
	OBJ_SESSION = 0x5345534e,	/* "SESN" */
	OBJ_TABLE = 0x5441424c,		/* "TABL" */
	OBJ_STATUS = 0x53544154,	/* "STAT" */
	OBJ_SINK = 0x53494e4b,		/* "SINK" */
};

/* The first member of every object, so that IUnknown_* work on any. */
struct obj {
	enum obj_kind kind;
	ULONG refs;
	HRESULT last_hr;		/* of the last failed call, S_OK after a success */
	char last_error[CLIENT_ERR_MAX];
};

struct IUnknown {
	struct obj obj;
};

/* True if o is a live object of that kind. */
bool obj_is(const void *o, enum obj_kind kind);

/* End a public call: a failure's message (err, or words for hr when err is
 * empty) becomes o's last error (o may be NULL) and the thread's
 * mapispool_last_error; a success clears both.  Returns hr. */
HRESULT obj_result(struct obj *o, HRESULT hr, const char *err);

/* obj_result with a message made like printf. */
HRESULT obj_fail(struct obj *o, HRESULT hr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* IMAPI*_GetLastError for any object. */
HRESULT obj_get_last_error(struct obj *o, HRESULT hr, ULONG flags, LPMAPIERROR *out);

/* ---- Sessions, tables and status objects, for each other ---- */

/* The session's request path: MAPI_E_END_OF_SESSION once logged off. */
HRESULT session_call(LPMAPISESSION s, const char *op, json_object *params,
		     json_object **reply, char *err, size_t errlen);

/* A new status table of session s (which it keeps a reference to). */
HRESULT table_new(LPMAPISESSION s, ULONG flags, LPMAPITABLE *out, char *err, size_t errlen);

/* Open the status object with that entry ID, once the daemon has said
 * it knows it (MAPI_E_INVALID_ENTRYID or MAPI_E_UNKNOWN_ENTRYID if not). */
HRESULT status_open(LPMAPISESSION s, ULONG cb, const BYTE *eid, LPMAPISTATUS *out, char *err,
		    size_t errlen);

/* Free an object whose last reference went (IUnknown_Release). */
void table_destroy(LPMAPITABLE t);
void status_destroy(LPMAPISTATUS st);
void sink_destroy(LPMAPIADVISESINK sink);

/* session_call with secret members (client_call_secret). */
HRESULT session_call_secret(LPMAPISESSION s, const char *op, json_object *params,
			    const struct client_secret *secrets, size_t nsecrets,
			    json_object **reply, char *err, size_t errlen);

/* session_call for FlushQueues: while it waits, flush.progress and
 * ui.prompt events that belong to no FLUSH_ASYNC_OK flush of the session
 * are this flush's, and go to the UI callback at once (the live progress
 * display, and prompts the flush cannot go on without). */
HRESULT session_call_ui(LPMAPISESSION s, const char *op, json_object *params,
			json_object **reply, char *err, size_t errlen);

/* Has the program registered a UI callback on s? */
bool session_has_ui(LPMAPISESSION s);

/* A FLUSH_ASYNC_OK flush with that id was accepted: its flush.done is
 * recorded when mapispool_dispatch delivers it. */
HRESULT session_flush_started(LPMAPISESSION s, ULONG id);

/* The "transports" of the finished FLUSH_ASYNC_OK flush id, or NULL while
 * it runs (or when it is too old to be remembered).  Owned by s. */
json_object *session_flush_transports(LPMAPISESSION s, ULONG id);

/* Route the table.notification events of connection to sink, decoded
 * for cols (copied); takes a reference to sink. */
HRESULT session_advise(LPMAPISESSION s, LPMAPITABLE t, ULONG connection,
		       LPMAPIADVISESINK sink, const SPropTagArray *cols);

/* Unadvise table t's connection: MAPI_E_NOT_FOUND when t has none such.
 * The sink is released even when the daemon cannot be told. */
HRESULT session_unadvise(LPMAPISESSION s, LPMAPITABLE t, ULONG connection, char *err,
			 size_t errlen);

/* Unadvise every connection of t, which is going away. */
void session_unadvise_table(LPMAPISESSION s, LPMAPITABLE t);

/* Hand one table.notification event to sink's OnNotify, decoded for
 * cols; the notification's memory is freed when OnNotify returns. */
void advise_deliver(LPMAPIADVISESINK sink, const SPropTagArray *cols, json_object *ev);

/* ---- Values ---- */

/* The tags of the members of a reply object (a row, or "props") in their
 * order, as a MAPIAllocateBuffer'd array; with unicode, string tags are
 * made PT_UNICODE. */
HRESULT tags_from_keys(json_object *obj, bool unicode, LPSPropTagArray *out, char *err,
		       size_t errlen);

/* Lenient readers of a reply's members: a member that is absent or of
 * another type reads as 0 / NULL (readers ignore what they do not know). */
int64_t member_int(json_object *o, const char *key);
const char *member_string(json_object *o, const char *key);
bool member_bool(json_object *o, const char *key);

/* A reply's HRESULT member (the signed 32-bit value); dflt when absent. */
HRESULT member_hr(json_object *o, const char *key, HRESULT dflt);

/* A copy of s chained to parent with MAPIAllocateMore (NULL for NULL). */
HRESULT string_more(const char *s, void *parent, LPSTR *out);

/* Is s valid UTF-8? */
bool utf8_valid(const char *s);

/* UTF-8 to a wide string chained to parent with MAPIAllocateMore
 * (malformed bytes become U+FFFD). */
HRESULT utf8_to_wide(const char *s, void *parent, LPWSTR *out);

/* A wide string to UTF-8 in a malloc'd string; NULL when out of memory or
 * the string holds a value that is not a Unicode scalar. */
char *wide_to_utf8(LPCWSTR w);

#endif
