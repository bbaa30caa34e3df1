/*
 * spooler.h — the spooler: owner of the profile's status objects (the
 * subsystem, itself, the default store and every transport) and, in time,
 * of the queues and the flush engine.
 */
#ifndef MAPISPOOLD_SPOOLER_H
#define MAPISPOOLD_SPOOLER_H

#include <stddef.h>

#include "conf.h"
#include "status_table.h"

struct spooler;

/* Build the spooler of cfg (which must outlive it): check that the spool
 * directory and the store can be used (creating them if missing) and make
 * the status rows.  NULL with a message in err on failure. */
struct spooler *spooler_new(const struct config *cfg, char *err, size_t errlen);
void spooler_free(struct spooler *sp);

struct status_table *spooler_status_table(struct spooler *sp);
const char *spooler_profile_name(const struct spooler *sp);

#endif
