/*
 * mapispool.h — libmapispool, the client library of mapispoold.
 *
 * Include this one header: it brings MAPI's types, codes, tags and calls
 * (mapidefs.h, mapicode.h, mapitags.h, mapiguid.h, mapix.h, mapiutil.h)
 * and the mapispool_ extensions below.  Link with
 * `pkg-config --cflags --libs mapispool`.
 *
 * The library is thread-compatible: use one session per thread, or lock
 * around a shared one.  It never prints and never exits.
 */
#ifndef MAPISPOOL_MAPISPOOL_H
#define MAPISPOOL_MAPISPOOL_H

#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>
#include <mapispool/mapitags.h>
#include <mapispool/mapiguid.h>
#include <mapispool/mapix.h>
#include <mapispool/mapiutil.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the control protocol this library speaks. */
#define MAPISPOOL_PROTOCOL_VERSION 1

/* Words for an HRESULT: "the object was not found".  Never NULL. */
const char *mapispool_strerror(HRESULT hr);

/* MAPI's name of an HRESULT ("MAPI_E_NOT_FOUND"), or NULL if unknown. */
const char *mapispool_hr_name(HRESULT hr);

/* The details of the last failed call made by this thread, for example
 * "connect /run/mapispool/control.sock: No such file or directory".
 * Empty when the last call succeeded.  Valid until the next call. */
const char *mapispool_last_error(void);

/* The control socket the library uses when none is given: $MAPISPOOL_SOCKET,
 * else $RUNTIME_DIRECTORY/control.sock, else
 * $XDG_RUNTIME_DIR/mapispool/control.sock, else /run/mapispool/control.sock.
 * Writes it to buf like snprintf and returns the length it needs. */
size_t mapispool_default_socket(char *buf, size_t len);

/* MAPILogonEx on an explicit control socket (NULL: the default above).
 * MAPILogonEx is this with lpszSocket NULL.  A daemon that cannot be
 * reached gives MAPI_E_NETWORK_ERROR; a profile the daemon does not serve,
 * MAPI_E_LOGON_FAILED; a daemon speaking another protocol, MAPI_E_VERSION. */
HRESULT mapispool_logon(const char *lpszSocket, LPSTR lpszProfileName, ULONG flFlags,
			LPMAPISESSION *lppSession);

/* ---- Events: notifications and UI, delivered in the caller's thread ---- */

/* The session's socket, for the program's own poll loop: readable when
 * the daemon has sent something; -1 once the session is logged off.
 * Events that arrive while another call waits for its reply are kept
 * without making it readable: call mapispool_dispatch(lpSession, 0) after
 * other calls and before polling. */
int mapispool_event_fd(LPMAPISESSION lpSession);

/* Deliver what has arrived: advise sinks' OnNotify and the UI callback,
 * on this thread, in the order the daemon sent them.  Waits up to
 * timeout_ms for the first delivery (0: do not wait, -1: until one comes),
 * then delivers what is there without waiting.  Returns early, with S_OK,
 * when a signal interrupts the wait.  S_OK, or MAPI_E_END_OF_SESSION when
 * the daemon is gone.  Callbacks may call the library, but not
 * mapispool_dispatch on the same session. */
HRESULT mapispool_dispatch(LPMAPISESSION lpSession, int timeout_ms);

/* UI: what a flush shows the person who asked for it (unless FLUSH_NO_UI).
 * With no callback registered, every flush runs as FLUSH_NO_UI.  Progress
 * of a synchronous FlushQueues reaches the callback while FlushQueues
 * waits, inside it; that of an FLUSH_ASYNC_OK flush, and its end, from
 * mapispool_dispatch.  The event's strings are valid during the call only.
 * The callback may call the library, but not log off the session. */
#define MAPISPOOL_UI_PROGRESS ((ULONG)1)	/* a transport's progress */
#define MAPISPOOL_UI_FLUSH_DONE ((ULONG)2)	/* an FLUSH_ASYNC_OK flush ended */
#define MAPISPOOL_UI_PROMPT ((ULONG)3)		/* a transport asks for a password:
						 * answer with mapispool_ui_reply */

typedef struct {
	ULONG ulKind;		/* MAPISPOOL_UI_* */
	ULONG ulFlushId;	/* which flush */
	LPCSTR lpszTransport;	/* PROGRESS: the transport's name */
	ULONG ulProgress;	/* PROGRESS: 0-100 */
	LPCSTR lpszText;	/* PROGRESS: what it is doing */
	HRESULT hResult;	/* FLUSH_DONE: the flush's result */
	ULONG ulPromptId;	/* PROMPT: what to answer */
	BOOL fSecret;		/* PROMPT: do not echo the answer */
} MAPISPOOL_UI_EVENT;

typedef void(MAPISPOOL_UI_CALLBACK)(LPVOID lpvContext, const MAPISPOOL_UI_EVENT *lpEvent);

HRESULT mapispool_set_ui_callback(LPMAPISESSION lpSession, MAPISPOOL_UI_CALLBACK *lpfnCallback,
				  LPVOID lpvContext);

/* Answer a MAPISPOOL_UI_PROMPT (from inside the callback or later);
 * lpszValue NULL cancels.  The library keeps no copy. */
HRESULT mapispool_ui_reply(LPMAPISESSION lpSession, ULONG ulPromptId, LPCSTR lpszValue);

/* ---- What the last FlushQueues on a status object did, per transport ---- */

typedef struct {
	LPSTR lpszTransport;	/* configured name */
	HRESULT hResult;	/* S_OK, or why this transport's part failed */
	LPSTR lpszError;	/* words, or NULL */
	BOOL fSkipped;		/* offline or backing off, and no FLUSH_FORCE */
	ULONG cSent;		/* outbound messages the transport took */
	ULONG cDeferred;	/* tried, temporary failure: still queued */
	ULONG cFailed;		/* permanent failure: reported to the sender */
	ULONG cReceived;	/* fetched into the inbound queue */
	ULONG cDelivered;	/* moved from the inbound queue into the store */
} MAPISPOOL_FLUSH_RESULT;

/* One MAPIAllocateBuffer block, in transport order (*lppResults NULL and
 * *lpcResults 0 before any flush, or while an FLUSH_ASYNC_OK flush runs).
 * For an FLUSH_ASYNC_OK flush the results are those of its
 * MAPISPOOL_UI_FLUSH_DONE, once mapispool_dispatch has delivered it. */
HRESULT mapispool_flush_results(LPMAPISTATUS lpStatus, ULONG *lpcResults,
				MAPISPOOL_FLUSH_RESULT **lppResults);

/* The daemon's id of the last flush on lpStatus (0: none yet): the
 * ulFlushId of its UI events. */
HRESULT mapispool_flush_id(LPMAPISTATUS lpStatus, ULONG *lpulFlushId);

/* ---- Submitting a message (IMessage::SubmitMessage) ---- */

typedef struct {
	LPSTR lpszAddress;
	LPSTR lpszAddrType;	/* PR_ADDRTYPE; NULL: "SMTP" */
} MAPISPOOL_RECIPIENT;

/* Queue cbData bytes from lpszSender ("" or NULL: the null sender) to the
 * recipients, durably: S_OK means it is on disk.  Recipients no transport
 * takes get a non-delivery report at once; then the result is
 * MAPI_W_PARTIAL_COMPLETION and *lpcUndeliverable (if not NULL) counts
 * them.  *lppszMessageId (if not NULL; MAPIFreeBuffer) names the message
 * in the queue.  Too big: MAPI_E_TOO_BIG; disk full: MAPI_E_NOT_ENOUGH_DISK. */
HRESULT mapispool_submit(LPMAPISESSION lpSession, LPCSTR lpszSender, ULONG cRecipients,
			 const MAPISPOOL_RECIPIENT *lpRecipients, LPCVOID lpData, size_t cbData,
			 LPSTR *lppszMessageId, ULONG *lpcUndeliverable);

/* Where a recipient went. */
typedef struct {
	LPSTR lpszAddress;
	LPSTR lpszAddrType;
	LPSTR lpszTransport;	/* NULL: no transport takes it (non-delivery report) */
} MAPISPOOL_ROUTE;

/* mapispool_submit that also says where each recipient went: *lppRoutes
 * (MAPIFreeBuffer, one block) has cRecipients routes, in lpRecipients'
 * order. */
HRESULT mapispool_submit_routes(LPMAPISESSION lpSession, LPCSTR lpszSender, ULONG cRecipients,
				const MAPISPOOL_RECIPIENT *lpRecipients, LPCVOID lpData,
				size_t cbData, LPSTR *lppszMessageId, MAPISPOOL_ROUTE **lppRoutes);

/* ---- The queues (like mailq, postsuper) ---- */

#define MAPISPOOL_QUEUE_OUTBOUND ((ULONG)0)
#define MAPISPOOL_QUEUE_INBOUND ((ULONG)1)

typedef struct {
	LPSTR lpszTransport;
	LPSTR lpszState;	/* "queued", "deferred", "sent", "failed" */
	BOOL fHeld;
	BOOL fInFlight;
	ULONG cAttempts;
	FILETIME ftNextAttempt;	/* zero: as soon as possible */
	LPSTR lpszLastError;	/* NULL: none */
} MAPISPOOL_QUEUE_UNIT;

typedef struct {
	LPSTR lpszId;
	LPSTR lpszSender;
	LPSTR lpszSource;	/* inbound: the transport it came from */
	ULONGLONG cbSize;
	FILETIME ftQueued;
	ULONG cRecipients;
	MAPISPOOL_RECIPIENT *lpRecipients;
	ULONG cUnits;
	MAPISPOOL_QUEUE_UNIT *lpUnits;
} MAPISPOOL_QUEUE_ENTRY;

typedef struct {
	ULONG cEntries;
	MAPISPOOL_QUEUE_ENTRY aEntries[MAPI_DIM];
} MAPISPOOL_QUEUE_LIST;

/* One page of a queue in queue order: at most cMax entries (0: 100) after
 * the message lpszAfter (NULL: from the start).  *lppszNext (MAPIFreeBuffer)
 * is the cursor for the next page, NULL at the end.  *lppList is one
 * MAPIAllocateBuffer block. */
HRESULT mapispool_queue_list(LPMAPISESSION lpSession, ULONG ulQueue, LPCSTR lpszAfter,
			     ULONG cMax, MAPISPOOL_QUEUE_LIST **lppList, LPSTR *lppszNext);

/* Hold, release or remove a queued message, for every transport or only
 * lpszTransport (NULL: all).  MAPI_E_NOT_FOUND: no such message;
 * MAPI_E_BUSY (remove): a transport is sending it right now. */
HRESULT mapispool_queue_hold(LPMAPISESSION lpSession, LPCSTR lpszMessageId,
			     LPCSTR lpszTransport);
HRESULT mapispool_queue_release(LPMAPISESSION lpSession, LPCSTR lpszMessageId,
				LPCSTR lpszTransport);
HRESULT mapispool_queue_remove(LPMAPISESSION lpSession, LPCSTR lpszMessageId);

/* Hold, release or flush (try now: a pass for just those, on-demand
 * transports included) every outbound message that matches all the
 * selectors given (NULL: any; at least one): the message, the transport,
 * a recipient's domain.  *lpcMessages (if not NULL): how many matched. */
#define MAPISPOOL_ACTION_HOLD ((ULONG)1)
#define MAPISPOOL_ACTION_RELEASE ((ULONG)2)
#define MAPISPOOL_ACTION_FLUSH ((ULONG)3)
HRESULT mapispool_queue_select(LPMAPISESSION lpSession, ULONG ulAction, LPCSTR lpszMessageId,
			       LPCSTR lpszTransport, LPCSTR lpszDomain, ULONG *lpcMessages);

#ifdef __cplusplus
}
#endif

#endif /* MAPISPOOL_MAPISPOOL_H */
