/*
 * closedloop.c — N closed-loop connections on one epoll thread (closedloop.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "closedloop.h"

struct conn {
	int fd;
	long n;			/* requests written */
	double sent;		/* when the one in flight was written */
	char *buf;
	size_t len, cap;
};

double
cl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
cl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

double
cl_percentile(const double *v, long n, double p)
{
	long k;

	if (n == 0)
		return 0;
	k = (long)(p / 100.0 * (double)n + 0.999999) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
cl_sort(double *v, long n)
{
	if (n > 1)
		qsort(v, (size_t)n, sizeof(*v), cmp_double);
}

int
cl_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The hello line, read blocking before the load starts. */
static int
read_hello(int fd)
{
	char ch;

	for (;;) {
		ssize_t r = read(fd, &ch, 1);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (ch == '\n')
			return 0;
	}
}

int
cl_run(const struct cl_opts *o, struct cl_result *r)
{
	struct conn *cs = calloc((size_t)o->clients, sizeof(*cs));
	struct epoll_event *evs = calloc((size_t)o->clients, sizeof(*evs));
	size_t reqcap = 1 << 20;
	char *req = malloc(reqcap);
	double *lat = NULL, t_start, t_end, req_bytes = 0, rep_bytes = 0;
	long nlat = 0, caplat = 0, nreq = 0, nrep = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC), rc = -1, open_conns;

	memset(r, 0, sizeof(*r));
	if (cs == NULL || evs == NULL || req == NULL || ep == -1) {
		perror("closedloop");
		goto out;
	}
	for (int i = 0; i < o->clients; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		cs[i].fd = cl_connect(o->socket);
		if (cs[i].fd == -1) {
			fprintf(stderr, "closedloop: connect %s: %s\n", o->socket, strerror(errno));
			goto out;
		}
		if (read_hello(cs[i].fd) == -1) {
			fprintf(stderr, "closedloop: no hello line on connection %d\n", i);
			goto out;
		}
		fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
		cs[i].cap = 65536;
		if ((cs[i].buf = malloc(cs[i].cap)) == NULL ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) == -1) {
			perror("closedloop");
			goto out;
		}
	}
	t_start = cl_now() + o->warmup;
	t_end = t_start + o->seconds;
	for (int i = 0; i < o->clients; i++) {
		size_t n = o->request(o->ctx, i, cs[i].n++, req, reqcap);

		cs[i].sent = cl_now();
		if (cl_write_all(cs[i].fd, req, n) == -1) {
			fprintf(stderr, "closedloop: write: %s\n", strerror(errno));
			goto out;
		}
	}
	open_conns = o->clients;
	while (open_conns > 0) {
		int ne = epoll_wait(ep, evs, o->clients, 1000);

		if (ne == -1 && errno == EINTR)
			continue;
		if (ne == -1) {
			perror("closedloop: epoll_wait");
			goto out;
		}
		if (ne == 0 && cl_now() > t_end + 10) {
			fprintf(stderr, "closedloop: no reply for 10 s after the end\n");
			break;
		}
		for (int e = 0; e < ne; e++) {
			struct conn *c = &cs[evs[e].data.u32];
			ssize_t got;
			size_t start = 0;

			if (c->fd == -1)
				continue;
			if (c->cap - c->len < 4096) {
				char *nb = realloc(c->buf, c->cap * 2);

				if (nb == NULL) {
					perror("closedloop");
					goto out;
				}
				c->buf = nb;
				c->cap *= 2;
			}
			got = read(c->fd, c->buf + c->len, c->cap - c->len);
			if (got == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0) {
				fprintf(stderr, "closedloop: connection %u closed by the server\n",
					evs[e].data.u32);
				close(c->fd);
				c->fd = -1;
				open_conns--;
				continue;
			}
			c->len += (size_t)got;
			for (;;) {
				char *nl = memchr(c->buf + start, '\n', c->len - start);
				size_t ll;
				double t;

				if (nl == NULL)
					break;
				ll = (size_t)(nl - (c->buf + start));
				if (ll >= 8 && memcmp(c->buf + start, "{\"event\"", 8) == 0) {
					start += ll + 1;
					continue;
				}
				t = cl_now();
				if (c->sent >= t_start && t <= t_end) {
					if (o->reply_ok(o->ctx, c->buf + start, ll)) {
						if (nlat == caplat) {
							double *nl2;

							caplat = caplat ? caplat * 2 : 65536;
							if ((nl2 = realloc(lat, sizeof(double) * (size_t)caplat)) == NULL) {
								perror("closedloop");
								goto out;
							}
							lat = nl2;
						}
						lat[nlat++] = t - c->sent;
					} else if (r->errors++ == 0) {
						snprintf(r->first_error, sizeof(r->first_error), "%.*s",
							 (int)(ll < 255 ? ll : 255), c->buf + start);
					}
					rep_bytes += (double)ll + 1;
					nrep++;
				}
				start += ll + 1;
				if (t >= t_end) {
					close(c->fd);
					c->fd = -1;
					open_conns--;
					break;
				}
				{
					size_t n = o->request(o->ctx, (int)evs[e].data.u32, c->n++, req, reqcap);

					req_bytes += (double)n;
					nreq++;
					c->sent = cl_now();
					if (cl_write_all(c->fd, req, n) == -1) {
						fprintf(stderr, "closedloop: write: %s\n", strerror(errno));
						goto out;
					}
				}
			}
			if (c->fd != -1) {
				memmove(c->buf, c->buf + start, c->len - start);
				c->len -= start;
			}
		}
	}
	cl_sort(lat, nlat);
	r->ok = nlat;
	r->seconds = o->seconds;
	r->rate = (double)nlat / o->seconds;
	r->p50 = cl_percentile(lat, nlat, 50);
	r->p99 = cl_percentile(lat, nlat, 99);
	r->max = nlat ? lat[nlat - 1] : 0;
	r->request_bytes = nreq ? req_bytes / (double)nreq : 0;
	r->reply_bytes = nrep ? rep_bytes / (double)nrep : 0;
	rc = 0;
out:
	if (cs != NULL)
		for (int i = 0; i < o->clients; i++) {
			if (cs[i].fd > 0)
				close(cs[i].fd);
			free(cs[i].buf);
		}
	if (ep != -1)
		close(ep);
	free(cs);
	free(evs);
	free(req);
	free(lat);
	return rc;
}
