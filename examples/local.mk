# examples/local.mk — programs written as a MAPI programmer would write
# them, against the installed headers only.
noinst_PROGRAMS = examples/seed-procedures
examples_seed_procedures_SOURCES = examples/seed-procedures.c
examples_seed_procedures_LDADD = lib/libmapispool.la
# The include path pkg-config gives (-I<includedir> -I<includedir>/mapispool),
# and nothing private.
examples_seed_procedures_CPPFLAGS = -I$(top_srcdir)/lib/include \
	-I$(top_srcdir)/lib/include/mapispool
