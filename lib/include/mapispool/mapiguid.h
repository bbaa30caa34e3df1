/*
 * mapiguid.h — the interface identifiers a client passes to OpenEntry.
 *
 * Part of libmapispool.  The values are MAPI's ({XXXXXXXX-0000-0000-C000-
 * 000000000046}, DEFINE_OLEGUID); they are exported as constants by the
 * library instead of being instantiated with INITGUID.
 */
#ifndef MAPISPOOL_MAPIGUID_H
#define MAPISPOOL_MAPIGUID_H

#include <mapispool/mapidefs.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const IID IID_IUnknown;
extern const IID IID_IMAPISession;
extern const IID IID_IMAPITable;
extern const IID IID_IMAPIProp;
extern const IID IID_IMAPIStatus;

#ifdef __cplusplus
}
#endif

#endif /* MAPISPOOL_MAPIGUID_H */
