# tests/local.mk — Check unit tests (one per module) and integration tests
# that start a real mapispoold, all reported through automake's TAP driver.

LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
AM_TESTS_ENVIRONMENT = \
	MAPISPOOLD='$(abs_top_builddir)/daemon/mapispoold'; \
	MAPISPOOLCTL='$(abs_top_builddir)/client/mapispoolctl'; \
	TESTS_SRCDIR='$(abs_top_srcdir)/tests'; \
	EXAMPLES_DIR='$(abs_top_builddir)/examples'; \
	export MAPISPOOLD MAPISPOOLCTL TESTS_SRCDIR EXAMPLES_DIR;

# Unit tests see the daemon's private headers too.
TESTS_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS) $(LIBEVENT_CFLAGS) $(LIBCURL_CFLAGS) \
	-I$(top_srcdir)/daemon
CORE_TEST_LIBS = lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
DAEMON_TEST_LIBS = daemon/libmapispoold.la $(CHECK_LIBS)

unit_tests = \
	tests/check_alloc \
	tests/check_proptag \
	tests/check_propval \
	tests/check_restriction \
	tests/check_ere \
	tests/check_protocol \
	tests/check_config \
	tests/check_entryid \
	tests/check_status_table \
	tests/check_worker \
	tests/check_spool \
	tests/check_maildir \
	tests/check_report \
	tests/check_transport
integration_tests = \
	tests/check_session \
	tests/check_ctl \
	tests/check_badinput \
	tests/check_daemon \
	tests/check_examples \
	tests/check_flush \
	tests/check_queue \
	tests/check_notify \
	tests/check_crash \
	tests/check_smtp \
	tests/check_fetch \
	tests/check_reload \
	tests/check_systemd

check_PROGRAMS += $(unit_tests) $(integration_tests)
TESTS += $(unit_tests) $(integration_tests)

tests_check_alloc_SOURCES = tests/check_alloc.c
tests_check_alloc_CFLAGS = $(TESTS_CFLAGS)
tests_check_alloc_LDADD = $(CORE_TEST_LIBS)
tests_check_proptag_SOURCES = tests/check_proptag.c
tests_check_proptag_CFLAGS = $(TESTS_CFLAGS)
tests_check_proptag_LDADD = $(CORE_TEST_LIBS)
tests_check_propval_SOURCES = tests/check_propval.c
tests_check_propval_CFLAGS = $(TESTS_CFLAGS)
tests_check_propval_LDADD = $(CORE_TEST_LIBS)
tests_check_ere_SOURCES = tests/check_ere.c
tests_check_ere_CFLAGS = $(TESTS_CFLAGS)
tests_check_ere_LDADD = $(CORE_TEST_LIBS)
tests_check_restriction_SOURCES = tests/check_restriction.c
tests_check_restriction_CFLAGS = $(TESTS_CFLAGS)
tests_check_restriction_LDADD = $(CORE_TEST_LIBS)
tests_check_protocol_SOURCES = tests/check_protocol.c
tests_check_protocol_CFLAGS = $(TESTS_CFLAGS)
tests_check_protocol_LDADD = $(CORE_TEST_LIBS)

tests_check_config_SOURCES = tests/check_config.c
tests_check_config_CFLAGS = $(TESTS_CFLAGS)
tests_check_config_LDADD = $(DAEMON_TEST_LIBS)
tests_check_entryid_SOURCES = tests/check_entryid.c
tests_check_entryid_CFLAGS = $(TESTS_CFLAGS)
tests_check_entryid_LDADD = $(DAEMON_TEST_LIBS)
tests_check_status_table_SOURCES = tests/check_status_table.c
tests_check_status_table_CFLAGS = $(TESTS_CFLAGS)
tests_check_status_table_LDADD = $(DAEMON_TEST_LIBS)

# Integration: a real daemon on a temporary directory and socket.
HARNESS = tests/harness.c tests/harness.h
MAPI_HELPERS = tests/mapi_helpers.c tests/mapi_helpers.h
tests_check_session_SOURCES = tests/check_session.c $(HARNESS)
tests_check_session_CFLAGS = $(TESTS_CFLAGS)
tests_check_session_LDADD = lib/libmapispool.la $(CHECK_LIBS)
tests_check_ctl_SOURCES = tests/check_ctl.c $(HARNESS)
tests_check_ctl_CFLAGS = $(TESTS_CFLAGS)
tests_check_ctl_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
tests_check_badinput_SOURCES = tests/check_badinput.c $(HARNESS)
tests_check_badinput_CFLAGS = $(TESTS_CFLAGS)
tests_check_badinput_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
tests_check_daemon_SOURCES = tests/check_daemon.c $(HARNESS)
tests_check_daemon_CFLAGS = $(TESTS_CFLAGS)
tests_check_daemon_LDADD = lib/libmapispool.la $(CHECK_LIBS)

tests_check_examples_SOURCES = tests/check_examples.c $(HARNESS)
tests_check_examples_CFLAGS = $(TESTS_CFLAGS)
tests_check_examples_LDADD = $(CHECK_LIBS)

tests_check_worker_SOURCES = tests/check_worker.c
tests_check_worker_CFLAGS = $(TESTS_CFLAGS)
tests_check_worker_LDADD = $(DAEMON_TEST_LIBS)
tests_check_spool_SOURCES = tests/check_spool.c
tests_check_spool_CFLAGS = $(TESTS_CFLAGS)
tests_check_spool_LDADD = $(DAEMON_TEST_LIBS)
tests_check_maildir_SOURCES = tests/check_maildir.c
tests_check_maildir_CFLAGS = $(TESTS_CFLAGS)
tests_check_maildir_LDADD = $(DAEMON_TEST_LIBS)
tests_check_report_SOURCES = tests/check_report.c
tests_check_report_CFLAGS = $(TESTS_CFLAGS)
tests_check_report_LDADD = $(DAEMON_TEST_LIBS)
tests_check_transport_SOURCES = tests/check_transport.c
tests_check_transport_CFLAGS = $(TESTS_CFLAGS)
tests_check_transport_LDADD = $(DAEMON_TEST_LIBS)

tests_check_flush_SOURCES = tests/check_flush.c $(HARNESS)
tests_check_flush_CFLAGS = $(TESTS_CFLAGS)
tests_check_flush_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
tests_check_queue_SOURCES = tests/check_queue.c $(HARNESS) $(MAPI_HELPERS)
tests_check_queue_CFLAGS = $(TESTS_CFLAGS)
tests_check_queue_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
tests_check_notify_SOURCES = tests/check_notify.c $(HARNESS)
tests_check_notify_CFLAGS = $(TESTS_CFLAGS)
tests_check_notify_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
tests_check_crash_SOURCES = tests/check_crash.c $(HARNESS)
tests_check_crash_CFLAGS = $(TESTS_CFLAGS)
tests_check_crash_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)

# Network transports against real servers on loopback, started by the
# tests: an SMTP server (tests/smtp_sink.py, on Debian's python3-aiosmtpd)
# and Dovecot (tests/dovecot.sh), over plain and TLS (tests/tls_ca.sh).
SERVERS = tests/servers.c tests/servers.h tests/smtp_server.c tests/dovecot_server.c
tests_check_smtp_SOURCES = tests/check_smtp.c $(HARNESS) $(MAPI_HELPERS) $(SERVERS)
tests_check_smtp_CFLAGS = $(TESTS_CFLAGS)
tests_check_smtp_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
tests_check_fetch_SOURCES = tests/check_fetch.c $(HARNESS) $(MAPI_HELPERS) $(SERVERS)
tests_check_fetch_CFLAGS = $(TESTS_CFLAGS)
tests_check_fetch_LDADD = lib/libmapispool.la lib/libmapicore.la $(CHECK_LIBS) $(JSONC_LIBS)
EXTRA_DIST += tests/smtp_sink.py tests/dovecot.sh tests/tls_ca.sh

# Units (systemd-analyze verify), socket activation and sd_notify, the
# bash completion.
tests_check_systemd_SOURCES = tests/check_systemd.c $(HARNESS)
tests_check_systemd_CFLAGS = $(TESTS_CFLAGS)
tests_check_systemd_LDADD = $(CHECK_LIBS)

tests_check_reload_SOURCES = tests/check_reload.c $(HARNESS)
tests_check_reload_CFLAGS = $(TESTS_CFLAGS)
tests_check_reload_LDADD = $(CHECK_LIBS) $(JSONC_LIBS)
