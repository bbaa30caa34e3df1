/*
 * transport.h — the registry of transport types.
 *
 * What each type can do is a fact of the type (SPEC §9): whether it sends,
 * receives, and flushes its own queues.  Whether this build can run it is
 * a fact of the build: a type is runnable when a backend registers its
 * table of functions here.  The spooler reads both to fill a transport's
 * status row; it never looks inside a backend.
 */
#ifndef MAPISPOOLD_TRANSPORT_H
#define MAPISPOOLD_TRANSPORT_H

#include <stdbool.h>

#include "conf.h"

/* The functions a backend implements.  Empty until the first backend
 * lands; the spooler only calls through this table. */
struct transport_backend {
	const char *name;
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

#endif
