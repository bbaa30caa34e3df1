/*
 * maildir.c — delivery into and listing of Maildirs (the format of
 * https://cr.yp.to/proto/maildir.html), the durable way: tmp/, fsync,
 * rename into new/, fsync new/.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "maildir.h"
#include "spool.h"

/* Deliveries run on several worker threads at once: the counter keeps two
 * names made in the same microsecond apart. */
static atomic_ulong deliveries;

/* mkdir -p, each level 0700. */
static int
mkdir_p(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		snprintf(err, errlen, "%s: bad path", path);
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	return 0;
}

int
maildir_prepare(const char *dir, char *err, size_t errlen)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		if (snprintf(p, sizeof(p), "%s/%s", dir, sub[i]) >= (int)sizeof(p)) {
			errno = ENAMETOOLONG;
			snprintf(err, errlen, "%s: path too long", dir);
			return -1;
		}
		if (mkdir_p(p, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* The host part of a Maildir name: '/' and ':' cannot appear in it (the
 * convention writes them as \057 and \072), and neither should anything
 * a shell or a terminal would trip over. */
static void
host_part(char *buf, size_t len)
{
	char host[256];
	size_t o = 0;

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (const char *c = host; *c != '\0' && o + 5 < len; c++) {
		if (*c == '/' || *c == ':')
			o += (size_t)snprintf(buf + o, len - o, "\\%03o", (unsigned char)*c);
		else if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			 (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_')
			buf[o++] = *c;
	}
	if (o == 0)
		o = (size_t)snprintf(buf, len, "localhost");
	buf[o] = '\0';
}

/* time.M<usec>P<pid>Q<n>.host: unique across processes (the pid), threads
 * and quick succession (the counter). */
static void
unique_name(char *buf, size_t len)
{
	struct timeval tv;
	char host[128];

	gettimeofday(&tv, NULL);
	host_part(host, sizeof(host));
	snprintf(buf, len, "%lld.M%06ldP%ldQ%lu.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
		 (long)getpid(), atomic_fetch_add(&deliveries, 1) + 1, host);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copy all of in to out: copy_file_range lets the kernel (or the file
 * system, by reflink) do it; a plain loop where that is not supported. */
static int
copy_fd(int in, int out)
{
	char buf[65536];
	bool kernel = true;

	for (;;) {
		ssize_t r;

		if (kernel) {
			r = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (r == -1 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
					errno == EOPNOTSUPP)) {
				kernel = false;
				continue;
			}
		} else {
			r = read(in, buf, sizeof(buf));
			if (r > 0 && write_all(out, buf, (size_t)r) == -1)
				return -1;
		}
		if (r == 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

static int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (fsync(fd) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

int
maildir_deliver(const char *dir, const void *data, size_t len, const char *src_path,
		uint64_t src_offset, char *name_out, size_t name_len, char *err, size_t errlen)
{
	char name[NAME_MAX + 1], tmp[PATH_MAX], new[PATH_MAX], newdir[PATH_MAX];
	const char *what;
	int fd, src = -1, e;

	unique_name(name, sizeof(name));
	if (snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(new, sizeof(new), "%s/new/%s", dir, name) >= (int)sizeof(new) ||
	    snprintf(newdir, sizeof(newdir), "%s/new", dir) >= (int)sizeof(newdir)) {
		errno = ENAMETOOLONG;
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (data == NULL) {
		src = spool_data_open(src_path, src_offset);
		if (src == -1) {
			e = errno;
			snprintf(err, errlen, "cannot open %s: %s", src_path, strerror(e));
			errno = e;
			return -1;
		}
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		what = "cannot create";
		goto fail_open;
	}
	what = data != NULL ? "cannot write" : "cannot copy the message into";
	if ((data != NULL ? write_all(fd, data, len) : copy_fd(src, fd)) == -1)
		goto fail;
	what = "cannot sync";
	if (fsync(fd) == -1)
		goto fail;
	/* close reports the write errors some file systems (NFS) keep until
	 * then. */
	what = "cannot close";
	e = close(fd);
	fd = -1;
	if (e == -1)
		goto fail;
	what = "cannot move into new/";
	if (rename(tmp, new) == -1)
		goto fail;
	/* Until new/ is synced the rename may be lost: the delivery is not
	 * done, and must not stay in new/ to be found after a failure was
	 * reported (the caller retries; two copies would follow). */
	if (fsync_dir(newdir) == -1) {
		e = errno;
		unlink(new);
		snprintf(err, errlen, "cannot sync %s: %s", newdir, strerror(e));
		goto out;
	}
	if (src != -1)
		close(src);
	if (name_out != NULL)
		snprintf(name_out, name_len, "%s", name);
	return 0;

fail:
	e = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	snprintf(err, errlen, "%s %s: %s", what, tmp, strerror(e));
	goto out;
fail_open:
	e = errno;
	snprintf(err, errlen, "%s %s: %s", what, tmp, strerror(e));
out:
	if (src != -1)
		close(src);
	errno = e;
	return -1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep the max smallest of names[0..*n): sort and cut. */
static void
keep_first(char **names, size_t *n, size_t max)
{
	qsort(names, *n, sizeof(*names), cmp_names);
	for (size_t i = max; i < *n; i++)
		free(names[i]);
	if (*n > max)
		*n = max;
}

static bool
is_regular(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_REG;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/*
 * The names sort by delivery time (they start with it), so the first max
 * in order are the oldest.  A folder of a million files is read in one
 * pass, holding at most 2 * max names: whenever the array fills, it is
 * sorted and cut back to the max smallest.
 */
char **
maildir_list_new(const char *dir, size_t max, size_t *n, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char **names;
	size_t cap;
	struct dirent *de;
	DIR *d;
	int e;

	*n = 0;
	if (snprintf(path, sizeof(path), "%s/new", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		snprintf(err, errlen, "%s: path too long", dir);
		return NULL;
	}
	cap = max <= SIZE_MAX / 4 / sizeof(*names) ? 2 * max + 1 : 0;
	names = cap > 0 ? calloc(cap, sizeof(*names)) : NULL;
	if (names == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	d = opendir(path);
	if (d == NULL) {
		e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		free(names);
		errno = e;
		return NULL;
	}
	while (errno = 0, (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !is_regular(dirfd(d), de))
			continue;
		if (*n == cap)
			keep_first(names, n, max);
		names[*n] = strdup(de->d_name);
		if (names[*n] == NULL) {
			errno = ENOMEM;
			break;
		}
		(*n)++;
	}
	e = errno;
	closedir(d);
	if (e != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(e));
		maildir_free_list(names, *n);
		*n = 0;
		errno = e;
		return NULL;
	}
	keep_first(names, n, max);
	return names;
}

void
maildir_free_list(char **names, size_t n)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
