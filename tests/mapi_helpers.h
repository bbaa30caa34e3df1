/*
 * mapi_helpers.h — what the integration tests that speak MAPI through
 * libmapispool do alike.
 */
#ifndef MAPISPOOL_TESTS_MAPI_HELPERS_H
#define MAPISPOOL_TESTS_MAPI_HELPERS_H

#include <mapispool/mapispool.h>

/* The status object whose PR_DISPLAY_NAME is name, as MAPI's second flush
 * procedure finds it: the status table, then OpenEntry on the row's entry
 * ID.  Fails the test when no row has that name. */
LPMAPISTATUS mapi_open_status(LPMAPISESSION session, const char *name);

/* FlushQueues(flags) on the transport named name, which must report one
 * result: it goes to *res and its words to error (either may be NULL).
 * Returns FlushQueues's HRESULT. */
HRESULT mapi_flush_transport(LPMAPISESSION session, const char *name, ULONG flags,
			     MAPISPOOL_FLUSH_RESULT *res, char *error, size_t errlen);

#endif
