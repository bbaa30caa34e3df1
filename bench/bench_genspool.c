/*
 * bench_genspool — write queued messages straight into a spool, offline.
 *
 * For the scale measures a queue of 10^6 messages is needed; submitting
 * them through the socket costs one durable commit per batch, while the
 * daemon recovers whatever is in its queue folders at start (doc/spool.md,
 * "Recovery at start").  This writes --count messages into
 * SPOOL/outbound/ in the exact on-disk format of daemon/spool.c: one
 * ID.msg each, its envelope (one SMTP recipient, one unit of --transport,
 * state queued) followed by a --size byte RFC 5322 message, as
 * bench_submit sends it.
 * Nothing is synced: run `sync` afterwards if it matters.
 *
 * IDs follow spool_new_id's form (12 hex digits of milliseconds, 4 of a
 * counter, 4 "random"), made from --start + i so that runs with distinct
 * --start ranges never collide.
 *
 * usage: bench_genspool --spool DIR --count N [--start N] [--size BYTES]
 *                       [--transport NAME] [--rcpt ADDRESS]
 *
 * Prints {"measure":"genspool","count":N,"seconds":S,"rate":R}.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The same bytes bench_submit sends, before JSON escaping. */
static char *
make_body(size_t size)
{
	static const char head[] =
		"From: bench@example.net\r\nTo: sink@example.net\r\n"
		"Subject: mapispool bench\r\nMessage-ID: <bench@example.net>\r\n\r\n";
	char *raw = malloc(size + 1);
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
	return raw;
}

static int
write_file(const char *path, const char *head, size_t hlen, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	struct iovec iov[2] = { { (void *)head, hlen }, { (void *)data, len } };
	ssize_t w;

	if (fd == -1)
		return -1;
	w = writev(fd, iov, 2);
	if (close(fd) == -1 || w != (ssize_t)(hlen + len))
		return -1;
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_genspool --spool DIR --count N [--start N] [--size BYTES]"
		" [--transport NAME] [--rcpt ADDRESS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "spool", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 'S' },
		{ "size", required_argument, NULL, 's' },
		{ "transport", required_argument, NULL, 'T' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *spool = NULL, *transport = "local", *rcpt = "sink@example.net";
	long count = -1, start = 0;
	size_t size = 1024;
	char path[4096], env[2048], *body;
	struct timespec rt;
	uint64_t ms;
	double t0, secs;
	int c;

	while ((c = getopt_long(argc, argv, "d:n:S:s:T:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': spool = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'S': start = atol(optarg); break;
		case 's': size = (size_t)strtoul(optarg, NULL, 10); break;
		case 'T': transport = optarg; break;
		case 'r': rcpt = optarg; break;
		default: usage();
		}
	}
	/* Names and addresses are written as they are: keep them plain. */
	if (spool == NULL || count < 0 || start < 0 || size < 120 || optind != argc ||
	    strpbrk(transport, " %\t\n") != NULL || strpbrk(rcpt, " %\t\n") != NULL)
		usage();
	if ((body = make_body(size)) == NULL) {
		perror("bench_genspool");
		return 1;
	}
	snprintf(path, sizeof(path), "%s", spool);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/outbound", spool);
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "bench_genspool: %s: %s\n", path, strerror(errno));
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	ms = (uint64_t)rt.tv_sec * 1000 + (uint64_t)rt.tv_nsec / 1000000;
	t0 = now();
	for (long i = start; i < start + count; i++) {
		char id[21];
		uint64_t k = (uint64_t)i;
		int n;

		/* Distinct for every i below 2^32: the counter and the
		 * millisecond field together hold k. */
		snprintf(id, sizeof(id), "%012" PRIx64 "%04x%04x",
			 (uint64_t)((ms - 0x100000 + (k >> 16)) & 0xffffffffffffULL), (unsigned)(k & 0xffff),
			 (unsigned)((k * 2654435761u) >> 16) & 0xffffu);
		n = snprintf(env, sizeof(env),
			     "mapispool-envelope 1\n"
			     "id %s\n"
			     "queue outbound\n"
			     "queued %" PRIu64 "\n"
			     "size %zu\n"
			     "sender bench@example.net\n"
			     "rcpt %s SMTP 0\n"
			     "unit %s queued 0 0 0 -\n"
			     "end\n", id, ms, size, rcpt, transport);
		snprintf(path, sizeof(path), "%s/outbound/%s.msg", spool, id);
		if (write_file(path, env, (size_t)n, body, size) == -1) {
			fprintf(stderr, "bench_genspool: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	secs = now() - t0;
	printf("{\"measure\":\"genspool\",\"count\":%ld,\"seconds\":%.3f,\"rate\":%.1f}\n", count,
	       secs, secs > 0 ? (double)count / secs : 0.0);
	free(body);
	return 0;
}
