/*
 * closedloop.h — the client side shared by bench_query and bench_pingpong.
 *
 * N connections to a Unix stream socket, driven by one thread through
 * epoll (as redis-benchmark drives its clients), each closed-loop: one
 * request line in flight per connection; its reply line (the first line
 * that is not an event, i.e. does not start with {"event") is timed, and
 * the next request is written at once.  A warm-up that is not counted,
 * then a measured period of wall time.
 */
#ifndef BENCH_CLOSEDLOOP_H
#define BENCH_CLOSEDLOOP_H

#include <stddef.h>

struct cl_opts {
	const char *socket;
	int clients;
	double seconds;		/* measured period */
	double warmup;		/* seconds before it, not counted */
	/* Writes request number n (from 0, per connection) of connection c
	 * into buf (cap bytes, the line with its '\n'); returns its length. */
	size_t (*request)(void *ctx, int c, long n, char *buf, size_t cap);
	/* 1 when a reply line (without its '\n') is a success. */
	int (*reply_ok)(void *ctx, const char *line, size_t len);
	void *ctx;
};

struct cl_result {
	long ok, errors;
	double seconds;		/* of the measured period */
	double rate;		/* ok replies per second */
	double p50, p99, max;	/* seconds, over the measured replies */
	double request_bytes;	/* mean, with the '\n' */
	double reply_bytes;	/* mean, with the '\n' */
	char first_error[256];
};

double cl_now(void);
int cl_connect(const char *path);
/* Run the load; 0 on success, -1 (with a message on stderr) if the
 * connections could not be made. */
int cl_run(const struct cl_opts *o, struct cl_result *r);
/* The nearest-rank percentile p (0-100) of n sorted values. */
/* The nearest-rank percentile p of n sorted values. */
double cl_percentile(const double *v, long n, double p);
/* Sort n values in place, for cl_percentile. */
void cl_sort(double *v, long n);
/* Write all of p, polling when a non-blocking fd is full; -1 on error. */
int cl_write_all(int fd, const char *p, size_t n);

#endif
