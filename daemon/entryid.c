/*
 * entryid.c — make and check status-object entry IDs.
 */
#include <config.h>

#include <string.h>

#include "entryid.h"

#define ENTRYID_VERSION 1

/* {5e0a1f6c-3b2d-4c8e-9a71-6d5370696f6c}: fixed forever, clients may keep
 * entry IDs across restarts. */
const MAPIUID entryid_provider_uid = { { 0x5e, 0x0a, 0x1f, 0x6c, 0x3b, 0x2d, 0x4c, 0x8e,
					 0x9a, 0x71, 0x6d, 0x53, 0x70, 0x69, 0x6f, 0x6c } };

size_t
entryid_make(enum entryid_kind kind, const char *name, BYTE out[ENTRYID_MAX])
{
	size_t n = strlen(name);

	if (n == 0 || n > CONFIG_NAME_MAX)
		return 0;
	memset(out, 0, 4);
	memcpy(out + 4, entryid_provider_uid.ab, 16);
	out[20] = ENTRYID_VERSION;
	out[21] = (BYTE)kind;
	memcpy(out + ENTRYID_HEADER_LEN, name, n);
	return ENTRYID_HEADER_LEN + n;
}

HRESULT
entryid_parse(const BYTE *eid, size_t len, enum entryid_kind *kind,
	      char name[CONFIG_NAME_MAX + 1])
{
	static const BYTE zero[4];
	size_t n;

	if (eid == NULL || len <= ENTRYID_HEADER_LEN || len > ENTRYID_MAX)
		return MAPI_E_INVALID_ENTRYID;
	if (memcmp(eid, zero, 4) != 0 || memcmp(eid + 4, entryid_provider_uid.ab, 16) != 0 ||
	    eid[20] != ENTRYID_VERSION)
		return MAPI_E_INVALID_ENTRYID;
	if (eid[21] < EID_SUBSYSTEM || eid[21] > EID_TRANSPORT)
		return MAPI_E_INVALID_ENTRYID;
	n = len - ENTRYID_HEADER_LEN;
	if (memchr(eid + ENTRYID_HEADER_LEN, '\0', n) != NULL)
		return MAPI_E_INVALID_ENTRYID;
	*kind = (enum entryid_kind)eid[21];
	memcpy(name, eid + ENTRYID_HEADER_LEN, n);
	name[n] = '\0';
	return S_OK;
}
