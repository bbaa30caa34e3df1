/*
 * bench_disk — the disk's own rates for the way the spool commits a message.
 *
 * The spool writes each message into tmp/, makes it durable, renames it into
 * its queue folder and makes that folder durable (SPEC §7).  This program
 * measures what the file system under a directory allows for that pattern,
 * without the daemon, so that bench/run can put the daemon's figures next
 * to the ceiling they live under:
 *
 *   fsync    create + write + fsync + close + rename, file by file: the rate
 *            of a spool that syncs every message on its own;
 *   nofsync  the same without fsync: what the file system does when nothing
 *            has to be durable (an upper bound, not a durable rate);
 *   syncfs   batches of --batch files written and closed, one syncfs() on
 *            the file system, then renamed, then one fsync of the folder:
 *            the rate of a spool whose writers share their barrier (group
 *            commit).
 *
 * usage: bench_disk --dir DIR [--mode fsync|nofsync|syncfs|all]
 *                   [--files N] [--size BYTES] [--batch N]
 *
 * DIR must exist and be on the file system under test; the program works in
 * DIR/tmp and DIR/new and removes what it created.  One JSON line per mode
 * on stdout:
 *
 *   {"measure":"disk_fsync","files":2000,"size":1024,"seconds":0.52,"rate":3846.1}
 */
#define _GNU_SOURCE		/* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_FSYNC, MODE_NOFSYNC, MODE_SYNCFS };

static const char *const mode_names[] = {
	[MODE_FSYNC] = "fsync",
	[MODE_NOFSYNC] = "nofsync",
	[MODE_SYNCFS] = "syncfs",
};

struct opts {
	const char *dir;
	int files;
	size_t size;
	int batch;
};

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "bench_disk: %s %s: %s\n", what, path ? path : "", strerror(errno));
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Create tmp/NAME and write the body; fsync it when asked.  Returns after
 * close, as the spool does once the file is complete. */
static void
write_file(const char *path, const char *buf, size_t size, int do_fsync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd == -1)
		die("open", path);
	if (write(fd, buf, size) != (ssize_t)size)
		die("write", path);
	if (do_fsync && fsync(fd) == -1)
		die("fsync", path);
	if (close(fd) == -1)
		die("close", path);
}

static void
names(const struct opts *o, int i, char *tmp, char *fin, size_t len)
{
	snprintf(tmp, len, "%s/tmp/%d.%ld", o->dir, i, (long)getpid());
	snprintf(fin, len, "%s/new/%d.%ld", o->dir, i, (long)getpid());
}

static void
make_dir(const char *dir, const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		die("mkdir", path);
}

static double
run_per_file(const struct opts *o, const char *buf, int do_fsync)
{
	char tmp[4096], fin[4096];
	double t0 = now();

	for (int i = 0; i < o->files; i++) {
		names(o, i, tmp, fin, sizeof(tmp));
		write_file(tmp, buf, o->size, do_fsync);
		if (rename(tmp, fin) == -1)
			die("rename", tmp);
	}
	return now() - t0;
}

static double
run_syncfs(const struct opts *o, const char *buf)
{
	char tmp[4096], fin[4096], newdir[4096];
	double t0;
	int dirfd;

	snprintf(newdir, sizeof(newdir), "%s/new", o->dir);
	/* syncfs() takes any descriptor on the file system: the folder's. */
	if ((dirfd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		die("open", newdir);
	t0 = now();
	for (int first = 0; first < o->files; first += o->batch) {
		int end = first + o->batch < o->files ? first + o->batch : o->files;

		for (int i = first; i < end; i++) {
			names(o, i, tmp, fin, sizeof(tmp));
			write_file(tmp, buf, o->size, 0);
		}
		if (syncfs(dirfd) == -1)
			die("syncfs", newdir);
		for (int i = first; i < end; i++) {
			names(o, i, tmp, fin, sizeof(tmp));
			if (rename(tmp, fin) == -1)
				die("rename", tmp);
		}
		if (fsync(dirfd) == -1)
			die("fsync", newdir);
	}
	t0 = now() - t0;
	close(dirfd);
	return t0;
}

/* Remove what a run left, outside the timing. */
static void
cleanup(const struct opts *o)
{
	char tmp[4096], fin[4096];

	for (int i = 0; i < o->files; i++) {
		names(o, i, tmp, fin, sizeof(tmp));
		unlink(fin);
		unlink(tmp);
	}
}

static void
run(const struct opts *o, enum mode m, const char *buf)
{
	double secs;

	/* Start from a clean page cache: on ext4 an fsync commits the whole
	 * journal, so dirty data left by whatever ran before (the previous
	 * mode's deletions, the daemon's last measure) would be paid here. */
	sync();
	switch (m) {
	case MODE_FSYNC:
		secs = run_per_file(o, buf, 1);
		break;
	case MODE_NOFSYNC:
		secs = run_per_file(o, buf, 0);
		break;
	default:
		secs = run_syncfs(o, buf);
		break;
	}
	cleanup(o);
	printf("{\"measure\":\"disk_%s\",\"files\":%d,\"size\":%zu,\"batch\":%d,"
	       "\"seconds\":%.6f,\"rate\":%.1f}\n",
	       mode_names[m], o->files, o->size, m == MODE_SYNCFS ? o->batch : 1, secs,
	       secs > 0 ? o->files / secs : 0.0);
	fflush(stdout);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_disk --dir DIR [--mode fsync|nofsync|syncfs|all]"
		" [--files N] [--size BYTES] [--batch N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "files", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .files = 2000, .size = 1024, .batch = 100 };
	const char *mode = "all";
	char *buf;
	int c;

	while ((c = getopt_long(argc, argv, "d:m:n:s:b:", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.dir = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': o.files = atoi(optarg); break;
		case 's': o.size = (size_t)strtoul(optarg, NULL, 10); break;
		case 'b': o.batch = atoi(optarg); break;
		default: usage();
		}
	}
	if (o.dir == NULL || optind != argc || o.files < 1 || o.size < 1 || o.batch < 1)
		usage();

	make_dir(o.dir, "tmp");
	make_dir(o.dir, "new");
	/* A message-like body: printable, so no file system can compress it away. */
	if ((buf = malloc(o.size)) == NULL)
		die("malloc", NULL);
	for (size_t i = 0; i < o.size; i++)
		buf[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);

	if (strcmp(mode, "all") == 0) {
		for (int m = MODE_FSYNC; m <= MODE_SYNCFS; m++)
			run(&o, m, buf);
	} else {
		int m;

		for (m = MODE_FSYNC; m <= MODE_SYNCFS; m++)
			if (strcmp(mode, mode_names[m]) == 0)
				break;
		if (m > MODE_SYNCFS)
			usage();
		run(&o, m, buf);
	}
	free(buf);
	return 0;
}
