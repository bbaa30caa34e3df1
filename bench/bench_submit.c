/*
 * bench_submit — durable submits per second through mapispoold's socket.
 *
 * Each of --clients threads opens its own connection, reads the hello line,
 * then sends message.submit requests one at a time and waits for each reply
 * before sending the next.  The daemon replies only once the message is
 * durable (SPEC §7), so an S_OK reply is a durable submit; anything else is
 * counted as an error and not in the rate.  With one client the rate is
 * 1 / (latency of one durable commit); with many, it shows whether the
 * daemon lets submits that arrive together share their syncs (group commit).
 *
 * It speaks the raw protocol (doc/protocol.md) with no library, so that
 * what is measured is the daemon, and it matches replies by text: the
 * replies it waits for are small and their members fixed.
 *
 * usage: bench_submit --socket PATH [--clients N] [--messages N]
 *                     [--size BYTES] [--max-seconds S] [--rcpt ADDRESS]
 *
 * --messages is per client; --max-seconds stops every client early (the
 * rate is then over the messages done).  --rcpt is the one SMTP recipient
 * (default sink@example.net): its domain picks the transport when the
 * profile routes by domains.  One JSON line on stdout:
 *
 *   {"measure":"submit","clients":16,"messages":4000,"errors":0,
 *    "seconds":1.9,"rate":2105.3,"p50_ms":7.1,"p99_ms":15.2}
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "closedloop.h"

struct opts {
	const char *socket;
	int clients;
	int messages;		/* per client */
	size_t size;
	double max_seconds;
	const char *rcpt;
};

struct client {
	pthread_t thread;
	int index;
	const struct opts *o;
	const char *body;	/* the message, JSON-escaped */
	double *lat;		/* seconds per acknowledged submit */
	int ok, errors;
	char first_error[256];
	/* line reader */
	int fd;
	char buf[65536];
	size_t len, pos;
};

static double start_time;

/* Read one line into line (NUL-terminated, without the newline).  A line
 * longer than the space is cut: only the start of a reply is looked at. */
static int
read_line(struct client *c, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		if (c->pos == c->len) {
			ssize_t r = read(c->fd, c->buf, sizeof(c->buf));

			if (r == -1 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			c->len = (size_t)r;
			c->pos = 0;
		}
		while (c->pos < c->len) {
			char ch = c->buf[c->pos++];

			if (ch == '\n') {
				line[n] = '\0';
				return 0;
			}
			if (n + 1 < cap)
				line[n++] = ch;
		}
	}
}

/* Keep the first error of a client, cut: the start of a reply says enough. */
static void
note_error(struct client *c, const char *text)
{
	if (c->errors++ == 0)
		snprintf(c->first_error, sizeof(c->first_error), "%.*s",
			 (int)sizeof(c->first_error) - 1, text);
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	const struct opts *o = c->o;
	size_t reqcap = strlen(c->body) + 512;
	char *req = malloc(reqcap);
	char line[4096];

	c->fd = cl_connect(o->socket);
	if (req == NULL || c->fd == -1) {
		note_error(c, strerror(errno));
		free(req);
		return NULL;
	}
	if (read_line(c, line, sizeof(line)) == -1 || strstr(line, "\"protocol\":1") == NULL) {
		note_error(c, "no hello line, or protocol version mismatch");
		goto out;
	}
	for (int i = 0; i < o->messages; i++) {
		double t0 = cl_now();
		int n;

		if (o->max_seconds > 0 && t0 - start_time > o->max_seconds)
			break;
		n = snprintf(req, reqcap,
			     "{\"id\":%d,\"op\":\"message.submit\",\"sender\":\"bench%d@example.net\","
			     "\"recipients\":[{\"address\":\"%s\",\"addrtype\":\"SMTP\"}],"
			     "\"data\":\"%s\"}\n", i, c->index, o->rcpt, c->body);
		if (cl_write_all(c->fd, req, (size_t)n) == -1) {
			note_error(c, "write to the socket failed");
			break;
		}
		/* One request in flight: the next line that is not an event is
		 * its reply. */
		do {
			if (read_line(c, line, sizeof(line)) == -1) {
				note_error(c, "the daemon closed the connection");
				goto out;
			}
		} while (strncmp(line, "{\"event\"", 8) == 0);
		if (strstr(line, "\"hr_name\":\"S_OK\"") != NULL)
			c->lat[c->ok++] = cl_now() - t0;
		else
			note_error(c, line);
	}
out:
	close(c->fd);
	free(req);
	return NULL;
}

/* An RFC 5322 message of exactly size bytes, escaped for a JSON string
 * (its line ends become \r\n escapes; the rest is plain ASCII). */
static char *
make_body(size_t size)
{
	static const char head[] =
		"From: bench@example.net\r\nTo: sink@example.net\r\n"
		"Subject: mapispool bench\r\nMessage-ID: <bench@example.net>\r\n\r\n";
	char *raw = malloc(size + 1), *out, *q;
	size_t i, hl = strlen(head);

	if (raw == NULL)
		return NULL;
	for (i = 0; i < size; i++) {
		if (i < hl)
			raw[i] = head[i];
		else if (i + 2 == size || (i - hl) % 72 == 70)
			raw[i] = '\r';
		else if (i + 1 == size || (i - hl) % 72 == 71)
			raw[i] = '\n';
		else
			raw[i] = (char)('a' + (i - hl) % 26);
	}
	raw[size] = '\0';
	if ((out = malloc(2 * size + 1)) == NULL) {
		free(raw);
		return NULL;
	}
	for (q = out, i = 0; i < size; i++) {
		if (raw[i] == '\r' || raw[i] == '\n') {
			*q++ = '\\';
			*q++ = raw[i] == '\r' ? 'r' : 'n';
		} else {
			*q++ = raw[i];
		}
	}
	*q = '\0';
	free(raw);
	return out;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_submit --socket PATH [--clients N] [--messages N]"
		" [--size BYTES] [--max-seconds S] [--rcpt ADDRESS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "clients", required_argument, NULL, 'c' },
		{ "messages", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .clients = 1, .messages = 1000, .size = 1024, .max_seconds = 60,
			 .rcpt = "sink@example.net" };
	struct client *cl;
	double *all, secs;
	char *body;
	int c, ok = 0, errors = 0;

	while ((c = getopt_long(argc, argv, "S:c:n:s:t:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': o.socket = optarg; break;
		case 'c': o.clients = atoi(optarg); break;
		case 'n': o.messages = atoi(optarg); break;
		case 's': o.size = (size_t)strtoul(optarg, NULL, 10); break;
		case 't': o.max_seconds = atof(optarg); break;
		case 'r': o.rcpt = optarg; break;
		default: usage();
		}
	}
	/* 120 bytes leave room for the headers and the last line end. */
	if (o.socket == NULL || optind != argc || o.clients < 1 || o.messages < 1 || o.size < 120 ||
	    strpbrk(o.rcpt, "\"\\") != NULL)
		usage();
	if ((body = make_body(o.size)) == NULL || (cl = calloc((size_t)o.clients, sizeof(*cl))) == NULL ||
	    (all = malloc(sizeof(double) * (size_t)o.clients * (size_t)o.messages)) == NULL) {
		perror("bench_submit");
		return 1;
	}

	start_time = cl_now();
	for (int i = 0; i < o.clients; i++) {
		cl[i] = (struct client){ .index = i, .o = &o, .body = body,
					 .lat = all + (size_t)i * (size_t)o.messages, .fd = -1 };
		if (pthread_create(&cl[i].thread, NULL, client_main, &cl[i]) != 0) {
			perror("bench_submit: pthread_create");
			return 1;
		}
	}
	for (int i = 0; i < o.clients; i++)
		pthread_join(cl[i].thread, NULL);
	secs = cl_now() - start_time;

	/* Gather the latencies at the front of the array, then sort them. */
	for (int i = 0; i < o.clients; i++) {
		memmove(all + ok, cl[i].lat, sizeof(double) * (size_t)cl[i].ok);
		ok += cl[i].ok;
		errors += cl[i].errors;
		if (cl[i].errors > 0)
			fprintf(stderr, "bench_submit: client %d: %d errors, the first: %s\n", i,
				cl[i].errors, cl[i].first_error);
	}
	cl_sort(all, ok);
	printf("{\"measure\":\"submit\",\"clients\":%d,\"messages\":%d,\"errors\":%d,"
	       "\"size\":%zu,\"seconds\":%.6f,\"rate\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
	       o.clients, ok, errors, o.size, secs, secs > 0 ? ok / secs : 0.0,
	       cl_percentile(all, ok, 50) * 1e3, cl_percentile(all, ok, 99) * 1e3);
	free(all);
	free(cl);
	free(body);
	return errors > 0 && ok == 0 ? 1 : 0;
}
