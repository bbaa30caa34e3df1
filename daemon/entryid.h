/*
 * entryid.h — entry IDs of status objects.
 *
 * Opaque to clients; here they are: 4 flag bytes (zero), mapispool's
 * 16-byte provider UID, a version byte (1), the object's kind, then its
 * configured name (UTF-8, 1..CONFIG_NAME_MAX bytes).  Made from the kind and
 * name only, they stay the same across restarts and reloads.
 */
#ifndef MAPISPOOLD_ENTRYID_H
#define MAPISPOOLD_ENTRYID_H

#include <stddef.h>
#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

#include "conf.h"

enum entryid_kind {
	EID_SUBSYSTEM = 1,
	EID_SPOOLER = 2,
	EID_STORE = 3,
	EID_TRANSPORT = 4,
};

#define ENTRYID_HEADER_LEN (4 + 16 + 1 + 1)
#define ENTRYID_MAX (ENTRYID_HEADER_LEN + CONFIG_NAME_MAX)

extern const MAPIUID entryid_provider_uid;

/* Writes the entry ID of (kind, name) to out; returns its length, 0 if
 * the name is empty or too long. */
size_t entryid_make(enum entryid_kind kind, const char *name, BYTE out[ENTRYID_MAX]);

/* MAPI_E_INVALID_ENTRYID unless eid is one of ours, well-formed. */
HRESULT entryid_parse(const BYTE *eid, size_t len, enum entryid_kind *kind,
		      char name[CONFIG_NAME_MAX + 1]);

#endif
