/*
 * bench_query — status.query round trips through mapispoold's socket.
 *
 * --clients connections, driven by one thread (epoll), each closed-loop:
 * one status.query in flight per connection, the next written as soon as
 * its reply is read (no pipelining).  After --warmup seconds that are not
 * counted, replies are counted and timed for --seconds.  It speaks the
 * raw protocol (doc/protocol.md), with no library: the figure is the
 * daemon's plus the socket's.  The query is the one a monitor polls:
 * every column of the status table (the default), or --columns.
 *
 * usage: bench_query --socket PATH [--clients N] [--seconds S] [--warmup S]
 *                    [--columns TAG,TAG...]
 *        bench_query --socket PATH --wait-ready S
 *
 * One JSON line on stdout:
 *
 *   {"measure":"query","clients":1,"replies":61234,"errors":0,"seconds":2.0,
 *    "rate":30617.0,"p50_us":31.2,"p99_us":48.0,"max_us":410.0,
 *    "request_bytes":29.0,"reply_bytes":2596.0}
 *
 * --wait-ready polls the socket every millisecond until a connection gets
 * the hello line, then sends a queue.list, which the daemon answers only
 * once its queue is whole (a big spool is read while it serves), all
 * within S seconds, and prints {"measure":"ready","seconds":...,
 * "hello_seconds":...}: the times from bench_query's start to the answer
 * (the recovery) and to the hello (the daemon serving), for timing a
 * restart.
 */
#define _GNU_SOURCE		/* memmem, accept4 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "closedloop.h"

struct query_ctx {
	char columns[4096];	/* ,"columns":[...] or empty */
};

static size_t
make_request(void *arg, int c, long n, char *buf, size_t cap)
{
	const struct query_ctx *q = arg;
	int len = snprintf(buf, cap, "{\"id\":%ld,\"op\":\"status.query\"%s}\n", n, q->columns);

	(void)c;
	return (size_t)len < cap ? (size_t)len : cap - 1;
}

static int
reply_ok(void *arg, const char *line, size_t len)
{
	(void)arg;
	/* {"id":N,"hr":0,... : hr comes right after the id. */
	return memmem(line, len < 64 ? len : 64, ",\"hr\":0,", 8) != NULL;
}

/* Read fd up to and including a newline, waiting until t0 + max at most;
 * 1 when a line was read. */
static int
read_line(int fd, double t0, double max)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = max - (cl_now() - t0);
		int pr = left > 0 ? poll(&pfd, 1, (int)(left * 1000) + 1) : 0;
		char ch;

		if (pr == 0)
			return 0;
		if (pr == -1)
			continue;	/* EINTR */
		if (read(fd, &ch, 1) != 1)
			return 0;
		if (ch == '\n')
			return 1;
	}
}

static int
wait_ready(const char *path, double max)
{
	static const char list[] = "{\"id\":1,\"op\":\"queue.list\",\"max\":1}\n";
	double t0 = cl_now();
	struct timespec ms = { 0, 1000000 };

	for (;;) {
		int fd = cl_connect(path);

		if (fd != -1) {
			double hello = -1;
			int ok;

			/* The socket may accept before the daemon serves: wait
			 * for the hello, then for the answer, but not past max. */
			if ((ok = read_line(fd, t0, max)) == 1) {
				hello = cl_now() - t0;
				ok = write(fd, list, sizeof(list) - 1) == (ssize_t)sizeof(list) - 1 &&
				     read_line(fd, t0, max) == 1;
			}
			close(fd);
			if (ok == 1) {
				printf("{\"measure\":\"ready\",\"seconds\":%.6f,"
				       "\"hello_seconds\":%.6f}\n", cl_now() - t0, hello);
				return 0;
			}
		}
		if (cl_now() - t0 > max) {
			fprintf(stderr, "bench_query: %s did not answer within %.0f s\n", path, max);
			return 1;
		}
		nanosleep(&ms, NULL);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_query --socket PATH [--clients N] [--seconds S]"
		" [--warmup S] [--columns TAG,...]\n"
		"       bench_query --socket PATH --wait-ready S\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "clients", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "columns", required_argument, NULL, 'C' },
		{ "wait-ready", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct query_ctx q = { "" };
	struct cl_opts o = { .clients = 1, .seconds = 2, .warmup = 0.25,
			     .request = make_request, .reply_ok = reply_ok, .ctx = &q };
	struct cl_result r;
	double ready = -1;
	int c;

	while ((c = getopt_long(argc, argv, "S:c:t:w:C:R:", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': o.socket = optarg; break;
		case 'c': o.clients = atoi(optarg); break;
		case 't': o.seconds = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'R': ready = atof(optarg); break;
		case 'C': {
			size_t n = 0;
			char *tok, *save = NULL;

			n += (size_t)snprintf(q.columns + n, sizeof(q.columns) - n, ",\"columns\":[");
			for (tok = strtok_r(optarg, ",", &save); tok != NULL && n < sizeof(q.columns);
			     tok = strtok_r(NULL, ",", &save))
				n += (size_t)snprintf(q.columns + n, sizeof(q.columns) - n, "%s\"%s\"",
						      q.columns[n - 1] == '[' ? "" : ",", tok);
			if (n + 2 >= sizeof(q.columns))
				usage();
			strcat(q.columns, "]");
			break;
		}
		default: usage();
		}
	}
	if (o.socket == NULL || optind != argc || o.clients < 1 || o.seconds <= 0 || o.warmup < 0)
		usage();
	if (ready >= 0)
		return wait_ready(o.socket, ready);
	if (cl_run(&o, &r) == -1)
		return 1;
	if (r.errors > 0)
		fprintf(stderr, "bench_query: %ld errors, the first: %s\n", r.errors, r.first_error);
	printf("{\"measure\":\"query\",\"clients\":%d,\"replies\":%ld,\"errors\":%ld,"
	       "\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f,"
	       "\"request_bytes\":%.1f,\"reply_bytes\":%.1f}\n",
	       o.clients, r.ok, r.errors, r.seconds, r.rate, r.p50 * 1e6, r.p99 * 1e6, r.max * 1e6,
	       r.request_bytes, r.reply_bytes);
	return r.ok == 0 ? 1 : 0;
}
