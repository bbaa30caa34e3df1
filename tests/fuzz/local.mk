# tests/fuzz/local.mk — libFuzzer targets for the parsers that face the
# outside (tests/fuzz/README.md).  With --enable-fuzzing (clang) they are
# built as fuzzers; tests/fuzz/run runs them.  Always, each target is also
# linked with replay.c into a plain program that "make check" runs over the
# seed corpus and the regression inputs, with any compiler.

FUZZ_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) -I$(top_srcdir)/daemon
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz_common.c tests/fuzz/fuzz_common.h
FUZZ_CORE_LIBS = lib/libmapicore.la $(JSONC_LIBS)
FUZZ_DAEMON_LIBS = daemon/libmapispoold.la

fuzz_targets = \
	tests/fuzz/fuzz_protocol \
	tests/fuzz/fuzz_restriction \
	tests/fuzz/fuzz_ere \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_spool_env
if ENABLE_FUZZING
noinst_PROGRAMS += $(fuzz_targets)
endif

tests_fuzz_fuzz_protocol_SOURCES = tests/fuzz/fuzz_protocol.c $(FUZZ_COMMON)
tests_fuzz_fuzz_protocol_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_protocol_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_protocol_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_restriction_SOURCES = tests/fuzz/fuzz_restriction.c $(FUZZ_COMMON)
tests_fuzz_fuzz_restriction_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_restriction_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_restriction_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_ere_SOURCES = tests/fuzz/fuzz_ere.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_ere_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_ere_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_ere_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_DAEMON_LIBS)
tests_fuzz_fuzz_spool_env_SOURCES = tests/fuzz/fuzz_spool_env.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_spool_env_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_spool_env_LDFLAGS = $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_spool_env_LDADD = $(FUZZ_DAEMON_LIBS)

# The regression runners: TAP, one line per input.
fuzz_replays = \
	tests/fuzz/replay_protocol \
	tests/fuzz/replay_restriction \
	tests/fuzz/replay_ere \
	tests/fuzz/replay_config \
	tests/fuzz/replay_spool_env
check_PROGRAMS += $(fuzz_replays)
TESTS += $(fuzz_replays)

tests_fuzz_replay_protocol_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_protocol.c $(FUZZ_COMMON)
tests_fuzz_replay_protocol_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"protocol"'
tests_fuzz_replay_protocol_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_replay_protocol_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_replay_restriction_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_restriction.c \
	$(FUZZ_COMMON)
tests_fuzz_replay_restriction_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"restriction"'
tests_fuzz_replay_restriction_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_replay_restriction_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_replay_ere_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_ere.c tests/fuzz/fuzz.h
tests_fuzz_replay_ere_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"ere"'
tests_fuzz_replay_ere_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_replay_ere_LDADD = $(FUZZ_CORE_LIBS)
tests_fuzz_replay_config_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_config.c tests/fuzz/fuzz.h
tests_fuzz_replay_config_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"config"'
tests_fuzz_replay_config_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_replay_config_LDADD = $(FUZZ_DAEMON_LIBS)
tests_fuzz_replay_spool_env_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_spool_env.c \
	tests/fuzz/fuzz.h
tests_fuzz_replay_spool_env_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_TARGET='"spool_env"'
tests_fuzz_replay_spool_env_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_replay_spool_env_LDADD = $(FUZZ_DAEMON_LIBS)

EXTRA_DIST += tests/fuzz/run tests/fuzz/README.md tests/fuzz/corpus tests/fuzz/regress

# "make fuzz" in a --enable-fuzzing build: every target for FUZZ_SECONDS.
fuzz: $(fuzz_targets)
	$(SHELL) $(srcdir)/tests/fuzz/run $(abs_top_builddir)
.PHONY: fuzz
