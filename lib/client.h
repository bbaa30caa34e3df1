/*
 * client.h — the client side of libmapispool, shared by its files: the
 * connection to mapispoold, the header every object starts with, and the
 * recording of errors for GetLastError and mapispool_last_error.
 *
 * A call into the library runs to completion on the caller's thread: it
 * sends one request, reads lines until the reply with its id comes, and
 * queues whatever else arrived (events, replies to other ids) for later.
 */
#ifndef MAPISPOOL_CLIENT_H
#define MAPISPOOL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
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

/* ---- Objects ---- */

/* What an object is; the values are distinct words so that a pointer to
 * something else (or to a released object) is unlikely to pass. */
enum obj_kind {
	OBJ_SESSION = 0x5345534e,	/* "SESN" */
	OBJ_TABLE = 0x5441424c,		/* "TABL" */
	OBJ_STATUS = 0x53544154,	/* "STAT" */
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

/* ---- Values ---- */

/* The tags of the members of a reply object (a row, or "props") in their
 * order, as a MAPIAllocateBuffer'd array; with unicode, string tags are
 * made PT_UNICODE. */
HRESULT tags_from_keys(json_object *obj, bool unicode, LPSPropTagArray *out, char *err,
		       size_t errlen);

/* UTF-8 to a wide string chained to parent with MAPIAllocateMore
 * (malformed bytes become U+FFFD). */
HRESULT utf8_to_wide(const char *s, void *parent, LPWSTR *out);

/* A wide string to UTF-8 in a malloc'd string; NULL when out of memory or
 * the string holds a value that is not a Unicode scalar. */
char *wide_to_utf8(LPCWSTR w);

#endif
