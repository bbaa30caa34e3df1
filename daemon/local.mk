# daemon/local.mk — mapispoold.  Everything but main.c is in a convenience
# library so that the unit tests link the same objects.

noinst_LTLIBRARIES += daemon/libmapispoold.la
daemon_libmapispoold_la_SOURCES = \
	daemon/log.c daemon/log.h \
	daemon/worker.c daemon/worker.h \
	daemon/spool.c daemon/spool.h \
	daemon/queue.c daemon/queue.h \
	daemon/maildir.c daemon/maildir.h \
	daemon/store.c daemon/store.h daemon/report.c \
	daemon/transport_maildir.c \
	daemon/transport_pipe.c \
	daemon/transport_smtp.c \
	daemon/transport_pop3.c \
	daemon/transport_imap.c \
	daemon/curl_loop.c daemon/curl_loop.h \
	daemon/fetch_common.c daemon/fetch_common.h \
	daemon/advise.c daemon/advise.h \
	daemon/flush.c daemon/flush.h \
	daemon/conf.c daemon/conf.h \
	daemon/entryid.c daemon/entryid.h \
	daemon/transport.c daemon/transport.h \
	daemon/status_table.c daemon/status_table.h \
	daemon/spooler.c daemon/spooler.h \
	daemon/control.c daemon/control.h \
	daemon/ops.c daemon/ops.h \
	daemon/systemd.c daemon/systemd.h
daemon_libmapispoold_la_CPPFLAGS = $(AM_CPPFLAGS) -DSPOOLDIR='"$(spooldir)"'
daemon_libmapispoold_la_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JSONC_CFLAGS) $(INIH_CFLAGS) \
	$(LIBCURL_CFLAGS) $(LIBSYSTEMD_CFLAGS)
daemon_libmapispoold_la_LIBADD = lib/libmapicore.la $(LIBEVENT_LIBS) $(JSONC_LIBS) $(INIH_LIBS) \
	$(LIBCURL_LIBS) $(LIBSYSTEMD_LIBS)

sbin_PROGRAMS += daemon/mapispoold
daemon_mapispoold_SOURCES = daemon/main.c
daemon_mapispoold_CPPFLAGS = $(daemon_libmapispoold_la_CPPFLAGS)
daemon_mapispoold_CFLAGS = $(daemon_libmapispoold_la_CFLAGS)
daemon_mapispoold_LDADD = daemon/libmapispoold.la

dist_man_MANS += man/mapispoold.8 man/mapispool.conf.5
