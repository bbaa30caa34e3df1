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

#ifdef __cplusplus
}
#endif

#endif /* MAPISPOOL_MAPISPOOL_H */
