# bench/local.mk — benchmarks; built and run by `make bench` (bench/run),
# never by `make check`.
EXTRA_PROGRAMS = bench/bench_disk bench/bench_submit bench/bench_query \
	bench/bench_pingpong bench/bench_genspool
bench_bench_disk_SOURCES = bench/bench_disk.c
bench_bench_submit_SOURCES = bench/bench_submit.c bench/closedloop.c bench/closedloop.h
bench_bench_submit_LDADD = $(PTHREAD_CFLAGS)
bench_bench_query_SOURCES = bench/bench_query.c bench/closedloop.c bench/closedloop.h
bench_bench_pingpong_SOURCES = bench/bench_pingpong.c bench/closedloop.c bench/closedloop.h
bench_bench_genspool_SOURCES = bench/bench_genspool.c
CLEANFILES += $(EXTRA_PROGRAMS)
EXTRA_DIST += bench/run bench/README.md

bench: $(EXTRA_PROGRAMS) daemon/mapispoold client/mapispoolctl
	$(SHELL) $(srcdir)/bench/run --builddir $(abs_top_builddir) $(BENCH_ARGS)
.PHONY: bench
