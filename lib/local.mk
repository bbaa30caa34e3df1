# lib/local.mk — libmapicore (code shared by daemon and library) and
# libmapispool (the client library).

# Shared by mapispoold and libmapispool; not installed.
noinst_LTLIBRARIES += lib/libmapicore.la
lib_libmapicore_la_SOURCES = \
	lib/mapi_alloc.c \
	lib/hresult.c lib/hresult.h \
	lib/proptag.c lib/proptag.h \
	lib/propval.c lib/propval.h \
	lib/restriction.c lib/restriction.h \
	lib/ere.c lib/ere.h \
	lib/protocol.c lib/protocol.h \
	lib/sockpath.c
lib_libmapicore_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
lib_libmapicore_la_LIBADD = $(JSONC_LIBS)

lib_LTLIBRARIES += lib/libmapispool.la
lib_libmapispool_la_SOURCES = \
	lib/client.c lib/client.h \
	lib/session.c \
	lib/table.c \
	lib/status.c \
	lib/advise.c \
	lib/submit.c \
	lib/mapiutil.c
lib_libmapispool_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
lib_libmapispool_la_LIBADD = lib/libmapicore.la $(JSONC_LIBS)
# Only MAPI's names and the mapispool_ extensions are exported.
lib_libmapispool_la_LDFLAGS = -version-info $(LIBMAPISPOOL_LT_VERSION) \
	-export-symbols-regex '^(MAPI[A-Z]|IMAPI|IUnknown_|IID_|HrQueryAllRows|HrAllocAdviseSink|FreeProws|PpropFindProp|mapispool_)'

mapispoolincludedir = $(includedir)/mapispool
mapispoolinclude_HEADERS = \
	lib/include/mapispool/mapispool.h \
	lib/include/mapispool/mapidefs.h \
	lib/include/mapispool/mapicode.h \
	lib/include/mapispool/mapitags.h \
	lib/include/mapispool/mapiguid.h \
	lib/include/mapispool/mapix.h \
	lib/include/mapispool/mapiutil.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/mapispool.pc
