# bench/local.mk — benchmarks; built and run by `make bench` (bench/run),
# never by `make check`.
EXTRA_PROGRAMS = bench/bench_disk bench/bench_submit
bench_bench_disk_SOURCES = bench/bench_disk.c
bench_bench_submit_SOURCES = bench/bench_submit.c
bench_bench_submit_LDADD = $(PTHREAD_CFLAGS)
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += bench/run bench/README.md

bench: $(EXTRA_PROGRAMS) daemon/mapispoold client/mapispoolctl
	$(SHELL) $(srcdir)/bench/run --builddir $(abs_top_builddir) $(BENCH_ARGS)
.PHONY: bench
