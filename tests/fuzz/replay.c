/*
 * replay.c — runs a fuzz target without libFuzzer: LLVMFuzzerTestOneInput
 * on every file named on the command line or found in the directories
 * named there, each in a child process, reported as TAP ("ok 3 - FILE").
 * A crash, an abort (a failed FUZZ_CHECK), a sanitizer report, more than
 * FUZZ_REPLAY_SECONDS (default 60) or a peak of more than
 * FUZZ_REPLAY_MAX_RSS_MB (default 512, 2048 under ASan: libFuzzer's own
 * limit) fails that input only.  Linked with one target, it is that target's regression
 * test under plain "make check".
 *
 * Without arguments it replays $TESTS_SRCDIR/fuzz/corpus/TARGET and
 * $TESTS_SRCDIR/fuzz/regress/TARGET (TARGET compiled in as FUZZ_TARGET),
 * as "make check" runs it.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_MAX_RSS_MB 2048
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEFAULT_MAX_RSS_MB 2048
#endif
#endif
#ifndef DEFAULT_MAX_RSS_MB
#define DEFAULT_MAX_RSS_MB 512
#endif

struct list {
	char **v;
	size_t n, cap;
};

static void die(const char *what, const char *path)
{
	printf("Bail out! %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

static void add(struct list *l, const char *a, const char *b)
{
	size_t len = strlen(a) + (b != NULL ? strlen(b) + 1 : 0) + 1;
	char *s = malloc(len);

	if (s == NULL || (l->n == l->cap &&
			  (l->v = realloc(l->v, (l->cap = l->cap * 2 + 16) * sizeof(char *))) == NULL))
		die("out of memory at", a);
	if (b != NULL)
		snprintf(s, len, "%s/%s", a, b);
	else
		snprintf(s, len, "%s", a);
	l->v[l->n++] = s;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, or the regular files of a directory (not its dotfiles).  A
 * missing directory is skipped when optional (a target with no
 * regression inputs yet). */
static void collect(struct list *l, const char *path, int optional)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (stat(path, &st) == -1) {
		if (optional && errno == ENOENT)
			return;
		die("cannot read", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		add(l, path, NULL);
		return;
	}
	if ((d = opendir(path)) == NULL)
		die("cannot read", path);
	while ((e = readdir(d)) != NULL) {
		char full[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(full, sizeof full, "%s/%s", path, e->d_name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			add(l, path, e->d_name);
	}
	closedir(d);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return NULL;
	for (;;) {
		if (n == cap && (buf = realloc(buf, cap = cap * 2 + 4096)) == NULL)
			break;
		if ((r = read(fd, buf + n, cap - n)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	/* An exact-size copy, so that an overread past the input is one. */
	if (buf != NULL) {
		unsigned char *exact = malloc(n ? n : 1);

		if (exact != NULL)
			memcpy(exact, buf, n);
		free(buf);
		buf = exact;
	}
	*len = n;
	return buf;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	long n = v != NULL ? strtol(v, NULL, 10) : 0;

	return n > 0 ? n : dflt;
}

/* 0 if the target returned normally on the input at path, in time and
 * within the memory limit. */
static int run_one(const char *path, char *why, size_t whylen)
{
	long max_rss_mb = env_long("FUZZ_REPLAY_MAX_RSS_MB", DEFAULT_MAX_RSS_MB);
	struct rusage ru;
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		size_t len;
		unsigned char *data = slurp(path, &len);

		if (data == NULL) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			_exit(98);
		}
		alarm((unsigned)env_long("FUZZ_REPLAY_SECONDS", 60));
#if DEFAULT_MAX_RSS_MB == 512
		/* Without ASan (which maps terabytes of shadow), bound the
		 * address space too, so that a regression cannot take the
		 * machine's memory before the peak is seen. */
		struct rlimit rl = { .rlim_cur = (rlim_t)max_rss_mb * 4 << 20,
				     .rlim_max = (rlim_t)max_rss_mb * 4 << 20 };

		setrlimit(RLIMIT_AS, &rl);
#endif
		LLVMFuzzerTestOneInput(data, len);
		free(data);
		_exit(0);
	}
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR) {
			snprintf(why, whylen, "wait4: %s", strerror(errno));
			return -1;
		}
	if (WIFSIGNALED(status)) {
		snprintf(why, whylen, "killed by signal %d", WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		snprintf(why, whylen, "exit status %d", WEXITSTATUS(status));
		return -1;
	}
	/* ru_maxrss is in KiB */
	if (ru.ru_maxrss / 1024 > max_rss_mb) {
		snprintf(why, whylen, "peak memory %ld MB, more than %ld MB", ru.ru_maxrss / 1024,
			 max_rss_mb);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct list l = { 0 };
	char why[128];
	int failed = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			collect(&l, argv[i], 0);
	} else {
		const char *top = getenv("TESTS_SRCDIR");
		char dir[4096];

		if (top == NULL) {
			printf("Bail out! no inputs: name files or set TESTS_SRCDIR\n");
			return 99;
		}
		snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", top, FUZZ_TARGET);
		collect(&l, dir, 0);
		snprintf(dir, sizeof dir, "%s/fuzz/regress/%s", top, FUZZ_TARGET);
		collect(&l, dir, 1);
	}
	if (l.n == 0) {
		printf("1..0 # SKIP no inputs\n");
		return 0;
	}
	qsort(l.v, l.n, sizeof(char *), by_name);
	printf("1..%zu\n", l.n);
	for (size_t i = 0; i < l.n; i++) {
		if (run_one(l.v[i], why, sizeof why) == 0) {
			printf("ok %zu - %s\n", i + 1, l.v[i]);
		} else {
			printf("not ok %zu - %s (%s)\n", i + 1, l.v[i], why);
			failed = 1;
		}
		free(l.v[i]);
	}
	free(l.v);
	return failed;
}
