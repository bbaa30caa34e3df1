/*
 * bench_pingpong — the limit of a line-based request/reply over AF_UNIX.
 *
 * Forks a tiny server: one process, one thread, epoll, that sends a hello
 * line on accept and answers every request line with a reply line of
 * --reply-bytes, doing nothing else (no parsing, no allocation).  The
 * client is bench_query's (closedloop.c): --clients connections on one
 * epoll thread, each closed-loop (one request in flight).  With the sizes
 * of a status.query request and reply, the difference between the two
 * programs' figures is what the daemon does with a query.
 *
 * usage: bench_pingpong [--socket PATH] [--clients N] [--seconds S]
 *                       [--warmup S] [--request-bytes N] [--reply-bytes N]
 *
 * One JSON line, as bench_query's, with "measure":"pingpong".
 */
#define _GNU_SOURCE		/* memmem, accept4 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "closedloop.h"

struct pp_ctx {
	char *request;
	size_t request_len;
};

static size_t
make_request(void *arg, int c, long n, char *buf, size_t cap)
{
	const struct pp_ctx *p = arg;
	size_t len = p->request_len < cap ? p->request_len : cap;

	(void)c;
	(void)n;
	memcpy(buf, p->request, len);
	return len;
}

static int
reply_ok(void *arg, const char *line, size_t len)
{
	(void)arg;
	(void)line;
	(void)len;
	return 1;
}

/* A line of exactly len bytes with its '\n', looking like JSON. */
static char *
make_line(size_t len)
{
	static const char head[] = "{\"id\":0,\"hr\":0,\"pad\":\"";
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	memset(s, 'x', len);
	if (len > sizeof(head) + 2)
		memcpy(s, head, sizeof(head) - 1);
	if (len >= 3) {
		s[len - 3] = '"';
		s[len - 2] = '}';
	}
	s[len - 1] = '\n';
	s[len] = '\0';
	return s;
}

static void
serve(int lfd, const char *reply, size_t reply_len)
{
	static const char hello[] = "{\"event\":\"hello\",\"protocol\":1}\n";
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char buf[65536];

	if (ep == -1 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		_exit(1);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r;

			if (fd == lfd) {
				int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				if (cfd == -1)
					continue;
				ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = cfd };
				if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) == -1 ||
				    cl_write_all(cfd, hello, sizeof(hello) - 1) == -1)
					close(cfd);
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				if (r == -1 && errno == EINTR)
					continue;
				close(fd);	/* also leaves the epoll set */
				continue;
			}
			for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))) != NULL; p++)
				if (cl_write_all(fd, reply, reply_len) == -1)
					break;
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_pingpong [--socket PATH] [--clients N] [--seconds S]"
		" [--warmup S] [--request-bytes N] [--reply-bytes N]\n");
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
		{ "request-bytes", required_argument, NULL, 'q' },
		{ "reply-bytes", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct pp_ctx p = { 0 };
	struct cl_opts o = { .clients = 1, .seconds = 2, .warmup = 0.25,
			     .request = make_request, .reply_ok = reply_ok, .ctx = &p };
	struct cl_result r;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char defpath[sizeof(sun.sun_path)], *reply;
	size_t request_bytes = 64, reply_bytes = 64;
	const char *tmp = getenv("TMPDIR");
	int c, lfd, st;
	pid_t server;

	while ((c = getopt_long(argc, argv, "S:c:t:w:q:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': o.socket = optarg; break;
		case 'c': o.clients = atoi(optarg); break;
		case 't': o.seconds = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'q': request_bytes = (size_t)strtoul(optarg, NULL, 10); break;
		case 'r': reply_bytes = (size_t)strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc || o.clients < 1 || o.seconds <= 0 || o.warmup < 0 ||
	    request_bytes < 1 || reply_bytes < 1 || request_bytes > 65536 || reply_bytes > (1 << 24))
		usage();
	if (o.socket == NULL) {
		snprintf(defpath, sizeof(defpath), "%s/bench_pingpong.%ld.sock",
			 tmp && *tmp ? tmp : "/tmp", (long)getpid());
		o.socket = defpath;
	}
	if (strlen(o.socket) >= sizeof(sun.sun_path))
		usage();
	strcpy(sun.sun_path, o.socket);
	p.request = make_line(request_bytes);
	p.request_len = request_bytes;
	reply = make_line(reply_bytes);
	if (p.request == NULL || reply == NULL) {
		perror("bench_pingpong");
		return 1;
	}
	unlink(o.socket);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(lfd, 128) == -1) {
		fprintf(stderr, "bench_pingpong: %s: %s\n", o.socket, strerror(errno));
		return 1;
	}
	if ((server = fork()) == -1) {
		perror("bench_pingpong: fork");
		return 1;
	}
	if (server == 0) {
		serve(lfd, reply, reply_bytes);
		_exit(0);
	}
	close(lfd);
	st = cl_run(&o, &r);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	unlink(o.socket);
	if (st == -1)
		return 1;
	printf("{\"measure\":\"pingpong\",\"clients\":%d,\"replies\":%ld,\"errors\":%ld,"
	       "\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f,"
	       "\"request_bytes\":%.1f,\"reply_bytes\":%.1f}\n",
	       o.clients, r.ok, r.errors, r.seconds, r.rate, r.p50 * 1e6, r.p99 * 1e6, r.max * 1e6,
	       r.request_bytes, r.reply_bytes);
	return r.ok == 0 ? 1 : 0;
}
