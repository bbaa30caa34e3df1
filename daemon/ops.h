/*
 * ops.h — the control protocol's operations: decode a request, ask the
 * spooler, encode the answer.  The glue between control (framing) and the
 * spooler (what things mean).
 */
#ifndef MAPISPOOLD_OPS_H
#define MAPISPOOLD_OPS_H

#include <json-c/json.h>

#include "control.h"
#include "spooler.h"

/* A control_dispatch_fn; ctx is the struct spooler. */
void ops_dispatch(void *ctx, struct request *req, const char *op, json_object *msg);

/* A control_close_fn: a connection's subscriptions end with it. */
void ops_client_closed(void *ctx, struct client *cl);

/* Forget pending prompts (at shutdown, before the spooler goes). */
void ops_shutdown(void);

/* The spooler's queue is whole (spooler_set_recovered_hook; ctx: the
 * spooler): run the requests that waited for it. */
void ops_recovered(void *ctx);

/* The hello event sent to each new client (a new reference). */
json_object *ops_hello(const char *profile, size_t max_line);

#endif
