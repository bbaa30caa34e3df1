/*
 * fetch_common.c — the fetch engine behind the pop3 and imap transports.
 *
 * One fetch is one session, driven step by step on the loop through
 * curl_loop: list, then for each message not fetched before retrieve it
 * into tmp/, import it, and once imported delete it (or remember it with
 * keep = yes) before the next one.  One message at a time keeps memory
 * bounded whatever the mailbox holds: libcurl streams each message into
 * its file (from curl_loop's thread, like every libcurl callback here:
 * they touch only their fetch, which the loop leaves alone meanwhile), and
 * only the listing (bounded by LIST_MAX) is kept.
 *
 * At least once: a message is deleted at the source, or its key written
 * durably, only after the spooler said it holds it (imported S_OK).  A
 * crash in between fetches that one message again.  POP3's DELEs take
 * effect at QUIT, which the session's last step sends; a session whose
 * connection breaks commits none of them, so its messages come again:
 * duplicates, never losses.
 *
 * Each fetch has its own connection cache (a curl share), so that no
 * transfer of it can land on another session's connection.  The session's
 * last step says goodbye (QUIT, LOGOUT) and closes its connection on
 * curl_loop's thread, where libcurl may block.  Closing the share closes
 * what is left in it: only a fetch cut short (by close, or by an error the
 * server answered without hanging up) leaves a live connection there, and
 * libcurl's goodbye on it waits for one answer, so the share is closed on
 * the worker pool, never on the loop (at close, when the pool may already
 * be stopping, it is closed at once: bounded by the transport's timeout).
 *
 * TLS: pop3s:// and imaps:// are TLS from the first byte; pop3:// and
 * imap:// use STARTTLS whenever the server offers it and go on in plain
 * text only with a server that does not (the configuration has no
 * starttls key for these types; a mailbox that must be private says so
 * with pop3s:// or imaps://).  Certificates are always verified, against
 * ca_file when given.
 *
 * keep = yes: the keys of the messages fetched are appended, one a line,
 * to spool_dir/state/NAME.uids, each append fsynced before the next
 * message; when a fetch that listed the whole mailbox finds keys whose
 * messages are gone, the file is rewritten (tmp, fsync, rename) with only
 * the others.  A torn last line (a crash mid-append) is ignored.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curl_loop.h"
#include "fetch_common.h"
#include "hresult.h"
#include "log.h"

/* Messages listed per fetch: beyond, the rest waits for a later one. */
#define LIST_MAX 100000
/* Messages imported per fetch, so that a flooded mailbox cannot hold a
 * flush for ever. */
#define FETCH_MAX 10000
/* A message larger than this is left on the server, and skipped until
 * the daemon restarts. */
#define MESSAGE_MAX ((uint64_t)1 << 30)
#define TOO_LARGE_MAX 64

struct fetch_msg {
	unsigned long num;
	char key[FETCH_KEY_MAX];
};

/* A sorted set of keys. */
struct keyset {
	char **keys;
	size_t n, cap;
};

struct fetch_job;

struct fetcher {
	const struct fetch_proto *proto;
	char *name;
	char *base;		/* scheme://host:port, for URLs and messages */
	char *mailbox;		/* URL-escaped folder (IMAP), else NULL */
	char *username;
	char *password;		/* NULL: none known */
	bool prompt;		/* password = prompt */
	bool prompted;		/* password came from a person: forgotten on failure */
	bool implicit_tls;
	char *ca_file;
	long timeout_sec;
	bool keep;
	char *state_dir;	/* spool_dir/state */
	char *state_path;	/* state_dir/NAME.uids */
	char *tmp_dir;
	struct event_base *base_ev;
	struct worker_pool *workers;
	struct curl_loop *curl;
	struct keyset seen;	/* keep: fetched before */
	struct keyset too_large;
	struct fetch_job *job;	/* the fetch running, or NULL */
	/* Each fetch holds a reference; close marks the instance, and the
	 * last reference frees it. */
	unsigned refs;
	bool closed;
};

struct fetch_job {
	struct fetcher *xp;
	struct xp_fetch req;
	CURL *easy;
	CURLSH *share;		/* this session's own connection cache */
	bool in_curl;		/* easy is on the loop */
	enum fetch_step step;
	char errbuf[CURL_ERROR_SIZE];

	struct fetch_listing listing;
	struct fetch_msg *msgs;
	size_t n_msgs, cap_msgs, next;
	bool listed;		/* the listing arrived */
	bool truncated;		/* ... but not all of it fit */
	char word[FETCH_KEY_MAX];
	size_t word_len;
	unsigned word_index;
	bool word_cut, list_bad;

	const struct fetch_msg *cur;
	int fd;			/* the file being retrieved, or -1 */
	char path[PATH_MAX];
	uint64_t size;
	bool over;		/* larger than MESSAGE_MAX */
	int write_errno;

	unsigned fetched, deleted;
	struct xp_result r;

	char *snapshot;		/* worker: what to write */
	size_t snapshot_len;
	int rc;			/* worker: 0, or -1 with r set, or an errno */
};

static void __attribute__((format(printf, 3, 4)))
result(struct xp_result *r, enum xp_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	r->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* ---- key sets ---- */

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Where key is, or where it would go. */
static size_t
keyset_find(const struct keyset *s, const char *key, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->keys[mid], key);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static bool
keyset_has(const struct keyset *s, const char *key)
{
	bool found;

	keyset_find(s, key, &found);
	return found;
}

static int
keyset_reserve(struct keyset *s, size_t n)
{
	char **keys;
	size_t cap = s->cap ? s->cap : 64;

	if (n <= s->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	if ((keys = reallocarray(s->keys, cap, sizeof(*keys))) == NULL)
		return -1;
	s->keys = keys;
	s->cap = cap;
	return 0;
}

static int
keyset_add(struct keyset *s, const char *key)
{
	bool found;
	size_t at = keyset_find(s, key, &found);
	char *copy;

	if (found)
		return 0;
	if (keyset_reserve(s, s->n + 1) == -1 || (copy = strdup(key)) == NULL)
		return -1;
	memmove(&s->keys[at + 1], &s->keys[at], (s->n - at) * sizeof(*s->keys));
	s->keys[at] = copy;
	s->n++;
	return 0;
}

static void
keyset_free(struct keyset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->keys);
	*s = (struct keyset){ 0 };
}

/* ---- the state file (keep = yes) ---- */

static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* At open (blocking is allowed there): the state folder, and the keys
 * remembered so far. */
static int
state_load(struct fetcher *xp, const char *spool_dir, char *err, size_t errlen)
{
	char *line = NULL, **keys;
	size_t cap = 0, n = 0, out = 0;
	ssize_t len;
	FILE *f;

	if (mkdir(xp->state_dir, 0700) == 0) {
		/* The folder's own entry must last as long as what it holds. */
		if (sync_dir(spool_dir) == -1) {
			snprintf(err, errlen, "%s: %s", spool_dir, strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", xp->state_dir, strerror(errno));
		return -1;
	}
	if ((f = fopen(xp->state_path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", xp->state_path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		/* A line without its newline is a torn append: not a key. */
		if (line[len - 1] != '\n' || len == 1 || len > FETCH_KEY_MAX)
			continue;
		if (keyset_reserve(&xp->seen, n + 1) == -1 ||
		    (xp->seen.keys[n] = strndup(line, (size_t)len - 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			xp->seen.n = n;
			free(line);
			fclose(f);
			return -1;
		}
		xp->seen.n = ++n;
	}
	free(line);
	fclose(f);
	keys = xp->seen.keys;
	qsort(keys, n, sizeof(*keys), key_cmp);
	/* Duplicates (a key appended again after a crash) go. */
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && strcmp(keys[i], keys[out - 1]) == 0)
			free(keys[i]);
		else
			keys[out++] = keys[i];
	}
	xp->seen.n = out;
	return 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Worker: one key more, durable before the next message is fetched. */
static void
append_work(void *arg)
{
	struct fetch_job *j = arg;
	struct fetcher *xp = j->xp;
	struct stat st;
	char last = '\n';
	bool fresh;
	int fd;


	j->rc = -1;
	if ((fd = open(xp->state_path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) == -1)
		goto fail;
	if (fstat(fd, &st) == -1) {
		close(fd);
		goto fail;
	}
	fresh = st.st_size == 0;
	/* After a torn append, a newline first: the torn key is lost (its
	 * message comes again), but this one is not glued to it. */
	if (!fresh && pread(fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	if ((last != '\n' && write_all(fd, "\n", 1) == -1) ||
	    write_all(fd, j->snapshot, j->snapshot_len) == -1 || fdatasync(fd) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		goto fail;
	}
	/* A new file's name must last too. */
	if (close(fd) == -1 || (fresh && sync_dir(xp->state_dir) == -1))
		goto fail;
	j->rc = 0;
	return;
fail:
	result(&j->r, XP_DEFERRED, "%s: %s", xp->state_path, strerror(errno));
}

/* Worker: the whole file anew, with only the keys still on the server. */
static void
rewrite_work(void *arg)
{
	struct fetch_job *j = arg;
	struct fetcher *xp = j->xp;
	char tmp[PATH_MAX];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", xp->state_path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		goto fail;
	if (write_all(fd, j->snapshot, j->snapshot_len) == -1 || fsync(fd) == -1) {
		int e = errno;

		close(fd);
		unlink(tmp);
		errno = e;
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, xp->state_path) == -1 ||
	    sync_dir(xp->state_dir) == -1)
		goto fail;
	j->rc = 0;
	return;
fail:
	j->rc = errno;
}

/* ---- the instance ---- */

static void
release(struct fetcher *xp)
{
	if (--xp->refs > 0 || !xp->closed)
		return;
	free(xp->name);
	free(xp->base);
	free(xp->mailbox);
	free(xp->username);
	transport_free_secret(xp->password);
	free(xp->ca_file);
	free(xp->state_dir);
	free(xp->state_path);
	free(xp->tmp_dir);
	keyset_free(&xp->seen);
	keyset_free(&xp->too_large);
	free(xp);
}

/* scheme://host:port for the requests, the folder for IMAP (the URL's
 * path, else folder, else INBOX), and whether TLS is implicit. */
static int
parse_url(struct fetcher *xp, const struct transport_config *tc, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *path = NULL, *url = NULL;
	int rc = -1;

	if (u == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, tc->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, "/", 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		snprintf(err, errlen, "url %s: not a URL libcurl can use", tc->url);
		goto out;
	}
	xp->implicit_tls = strcasecmp(scheme, xp->proto->tls_scheme) == 0;
	/* With path "/" and no query, url is scheme://host[:port]/. */
	url[strlen(url) - 1] = '\0';
	if ((xp->base = strdup(url)) == NULL)
		goto nomem;
	if (xp->proto->has_mailbox) {
		char *box = path + strspn(path, "/");
		size_t len = strcspn(box, ";");

		while (len > 0 && box[len - 1] == '/')
			len--;
		box[len] = '\0';
		/* The URL's path is escaped already; folder is not. */
		if (*box == '\0') {
			curl_free(path);
			box = path = curl_easy_escape(NULL, tc->folder ? tc->folder : "INBOX", 0);
		}
		if (box == NULL || (xp->mailbox = strdup(box)) == NULL)
			goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	curl_free(scheme);
	curl_free(path);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

/* spool_dir/state/NAME.uids, spool_dir being tmp_dir's parent. */
static int
state_paths(struct fetcher *xp, char **spool_dir)
{
	const char *slash = strrchr(xp->tmp_dir, '/');
	size_t len = slash == NULL ? 0 : (size_t)(slash - xp->tmp_dir);

	*spool_dir = len == 0 ? strdup(slash == NULL ? "." : "/") : strndup(xp->tmp_dir, len);
	if (*spool_dir == NULL ||
	    asprintf(&xp->state_dir, "%s/state", *spool_dir) == -1 ||
	    asprintf(&xp->state_path, "%s/%s.uids", xp->state_dir, xp->name) == -1) {
		xp->state_path = NULL;
		return -1;
	}
	return 0;
}

void *
fetch_common_open(const struct fetch_proto *proto, const struct transport_config *tc,
		  const struct transport_env *env, char *err, size_t errlen)
{
	struct fetcher *xp = calloc(1, sizeof(*xp));
	char *spool_dir = NULL;

	if (xp == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	xp->proto = proto;
	xp->refs = 1;		/* the spooler's, until close */
	xp->base_ev = env->base;
	xp->workers = env->workers;
	xp->curl = env->curl;
	xp->keep = tc->keep;
	xp->prompt = tc->password_prompt;
	xp->timeout_sec = tc->timeout / 1000 > 0 ? (long)(tc->timeout / 1000) : 1;
	if ((xp->name = strdup(tc->name)) == NULL || (xp->tmp_dir = strdup(env->tmp_dir)) == NULL ||
	    (tc->username != NULL && (xp->username = strdup(tc->username)) == NULL) ||
	    (tc->ca_file != NULL && (xp->ca_file = strdup(tc->ca_file)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (parse_url(xp, tc, err, errlen) == -1)
		goto fail;
	if (xp->keep && state_paths(xp, &spool_dir) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (xp->keep && state_load(xp, spool_dir, err, errlen) == -1)
		goto fail;
	/* Read here, where blocking briefly is allowed; set_password brings
	 * a changed one. */
	if (tc->password_file != NULL &&
	    (xp->password = transport_read_password(tc->password_file, err, errlen)) == NULL)
		goto fail;
	free(spool_dir);
	return xp;

fail:
	free(spool_dir);
	xp->closed = true;
	release(xp);
	return NULL;
}

static void job_end(struct fetch_job *j);

void
fetch_common_close(void *arg)
{
	struct fetcher *xp = arg;

	xp->closed = true;
	/* libcurl may go right after this: nothing of ours stays on its
	 * loop.  A fetch waiting for the spooler or the pool ends when that
	 * answers. */
	if (xp->job != NULL && xp->job->in_curl)
		job_end(xp->job);
	release(xp);
}

void
fetch_common_set_password(void *arg, const char *password)
{
	struct fetcher *xp = arg;

	transport_free_secret(xp->password);
	xp->password = strdup(password);
	xp->prompted = false;
}

/* ---- one fetch ---- */

static void
discard_file(struct fetch_job *j)
{
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
	if (j->path[0] != '\0')
		unlink(j->path);
	j->path[0] = '\0';
}

/* A session's curl handles, to be closed off the loop. */
struct curl_handles {
	CURL *easy;
	CURLSH *share;
};

/* On a worker (or at close): closing the share closes the session's
 * connection, saying goodbye on it if it is still up. */
static void
handles_close(void *arg)
{
	struct curl_handles *h = arg;

	if (h->easy != NULL)
		curl_easy_cleanup(h->easy);
	if (h->share != NULL)
		curl_share_cleanup(h->share);
}

static void
handles_free(void *arg)
{
	free(arg);
}

/* The end: done once, unless the spooler closed us meanwhile. */
static void
job_end(struct fetch_job *j)
{
	struct fetcher *xp = j->xp;
	struct curl_handles now, *h;

	if (j->in_curl)
		curl_loop_remove(xp->curl, j->easy);
	j->in_curl = false;
	now = (struct curl_handles){ j->easy, j->share };
	if (!xp->closed && (h = malloc(sizeof(*h))) != NULL) {
		*h = now;
		if (worker_submit(xp->workers, handles_close, handles_free, h) == 0)
			now = (struct curl_handles){ NULL, NULL };
		else
			free(h);
	}
	handles_close(&now);	/* at close, or out of memory */
	j->easy = NULL;
	j->share = NULL;
	discard_file(j);
	if (xp->job == j)
		xp->job = NULL;
	if (!xp->closed)
		j->req.done(j->req.ctx, &j->r, j->fetched);
	free(j->msgs);
	free(j->snapshot);
	free(j);
	release(xp);
}

static void
job_end_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job_end(arg);
}

/* Answers known inside fetch still come through the loop. */
static void
job_end_later(struct fetch_job *j)
{
	const struct timeval now = { 0, 0 };

	if (event_base_once(j->xp->base_ev, -1, EV_TIMEOUT, job_end_cb, j, &now) == -1)
		job_end(j);
}

/* The first error is the one worth telling. */
static void __attribute__((format(printf, 2, 3)))
fail(struct fetch_job *j, const char *fmt, ...)
{
	va_list ap;

	if (j->r.outcome != XP_SENT)
		return;
	j->r.outcome = XP_DEFERRED;
	va_start(ap, fmt);
	vsnprintf(j->r.text, sizeof(j->r.text), fmt, ap);
	va_end(ap);
}

static void
transfer_failed(struct fetch_job *j, CURLcode rc, const char *what)
{
	struct fetcher *xp = j->xp;
	const char *why = j->errbuf[0] != '\0' ? j->errbuf : curl_easy_strerror(rc);

	j->errbuf[strcspn(j->errbuf, "\r\n")] = '\0';
	if (rc == CURLE_LOGIN_DENIED) {
		/* A person may have mistyped it: ask again next time. */
		if (xp->prompted) {
			transport_free_secret(xp->password);
			xp->password = NULL;
			xp->prompted = false;
		}
		fail(j, "%s: authentication failed for user %s: %s", xp->base,
		     xp->username ? xp->username : "(none)", why);
		return;
	}
	fail(j, "%s: %s: %s", xp->base, what, why);
}

static bool
has_step(const struct fetcher *xp, enum fetch_step step)
{
	char path[8], cmd[8];

	return xp->proto->request(step, xp->mailbox, 0, path, sizeof(path), cmd, sizeof(cmd));
}

static size_t
discard_write(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	(void)arg;
	return size * nmemb;
}

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_job *j = arg;

	if (j->step == FETCH_LIST && j->xp->proto->header != NULL)
		j->xp->proto->header(&j->listing, data, size * nmemb);
	return size * nmemb;
}

/* The listing, cut into words for the protocol's parse (bounded: a word
 * never grows past FETCH_KEY_MAX). */
static void
word_end(struct fetch_job *j)
{
	if (j->word_len == 0 && !j->word_cut)
		return;
	j->word[j->word_len] = '\0';
	if (j->xp->proto->parse(&j->listing, j->word_index, j->word, j->word_cut) == -1)
		j->list_bad = true;
	j->word_index++;
	j->word_len = 0;
	j->word_cut = false;
}

static void
line_end(struct fetch_job *j)
{
	word_end(j);
	if (j->word_index > 0 && j->xp->proto->parse(&j->listing, j->word_index, NULL, false) == -1)
		j->list_bad = true;
	j->word_index = 0;
}

static size_t
list_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_job *j = arg;
	size_t len = size * nmemb;

	for (size_t i = 0; i < len && !j->list_bad; i++) {
		char c = data[i];

		if (c == '\n')
			line_end(j);
		else if (c == ' ' || c == '\r' || c == '\t')
			word_end(j);
		else if (j->word_len < sizeof(j->word) - 1)
			j->word[j->word_len++] = c;
		else
			j->word_cut = true;
	}
	return j->list_bad ? 0 : len;
}

void
fetch_listing_add(struct fetch_listing *l, unsigned long num, const char *key)
{
	struct fetch_job *j = l->engine;

	if (j->n_msgs == LIST_MAX) {
		j->truncated = true;
		return;
	}
	if (j->n_msgs == j->cap_msgs) {
		size_t cap = j->cap_msgs ? j->cap_msgs * 2 : 64;
		struct fetch_msg *m;

		if ((m = reallocarray(j->msgs, cap, sizeof(*m))) == NULL) {
			j->truncated = true;
			return;
		}
		j->msgs = m;
		j->cap_msgs = cap;
	}
	j->msgs[j->n_msgs].num = num;
	snprintf(j->msgs[j->n_msgs].key, sizeof(j->msgs[j->n_msgs].key), "%s", key);
	j->n_msgs++;
}

static size_t
retrieve_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_job *j = arg;
	size_t len = size * nmemb;

	if (j->size + len > MESSAGE_MAX) {
		j->over = true;
		return 0;
	}
	if (write_all(j->fd, data, len) == -1) {
		j->write_errno = errno;
		return 0;
	}
	j->size += len;
	return len;
}

static void transfer_done(void *ctx, CURL *easy, CURLcode rc);

/* Start step on the session's connection; -1 with the reason kept. */
static int
start_step(struct fetch_job *j, enum fetch_step step, const struct fetch_msg *m)
{
	struct fetcher *xp = j->xp;
	char path[PATH_MAX], cmd[128], url[PATH_MAX + 256];
	curl_write_callback write_fn = step == FETCH_LIST ? list_write :
				       step == FETCH_RETRIEVE ? retrieve_write : discard_write;
	/* One-line answers (POP3 needs telling). */
	long nobody = step == FETCH_DELETE || step == FETCH_EXPUNGE || step == FETCH_LOGOUT;
	CURLcode rc = CURLE_OK;

	xp->proto->request(step, xp->mailbox, m != NULL ? m->num : 0, path, sizeof(path), cmd,
			   sizeof(cmd));
	snprintf(url, sizeof(url), "%s%s", xp->base, path);
	j->step = step;
	j->errbuf[0] = '\0';
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(j->easy, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(j->easy, CURLOPT_CUSTOMREQUEST, cmd[0] != '\0' ? cmd : NULL);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(j->easy, CURLOPT_NOBODY, nobody);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, write_fn);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(j->easy, CURLOPT_FORBID_REUSE, (long)(step == FETCH_LOGOUT));
	if (rc != CURLE_OK) {
		fail(j, "%s: libcurl: %s", xp->base, curl_easy_strerror(rc));
		return -1;
	}
	if (curl_loop_add(xp->curl, j->easy, transfer_done, j) == -1) {
		fail(j, "%s: libcurl refused the transfer", xp->base);
		return -1;
	}
	j->in_curl = true;
	return 0;
}

/* What every transfer of the session shares. */
static int
setup_session(struct fetch_job *j)
{
	struct fetcher *xp = j->xp;
	CURL *e = j->easy;
	CURLcode rc = CURLE_OK;

#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(e, opt, val); \
	} while (0)
	/* Connections of this session only: a later transfer can never land
	 * on another session, where POP3 message numbers mean other
	 * messages. */
	SET(CURLOPT_SHARE, j->share);
	SET(CURLOPT_PROTOCOLS_STR, xp->proto->protocols);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, j->errbuf);
	SET(CURLOPT_WRITEDATA, j);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, j);
	if (xp->username != NULL)
		SET(CURLOPT_USERNAME, xp->username);
	if (xp->password != NULL)
		SET(CURLOPT_PASSWORD, xp->password);
	if (!xp->implicit_tls)
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (xp->ca_file != NULL)
		SET(CURLOPT_CAINFO, xp->ca_file);
	/* No limit on a whole transfer (a large message takes its time),
	 * but on each wait. */
	SET(CURLOPT_CONNECTTIMEOUT, xp->timeout_sec);
	SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, xp->timeout_sec);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, xp->timeout_sec);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

static void
begin(struct fetch_job *j)
{
	if ((j->share = curl_share_init()) == NULL ||
	    curl_share_setopt(j->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
	    (j->easy = curl_easy_init()) == NULL || setup_session(j) == -1) {
		fail(j, "%s: cannot set up libcurl (out of memory?)", j->xp->base);
		job_end_later(j);
		return;
	}
	if (start_step(j, FETCH_LIST, NULL) == -1)
		job_end_later(j);
}

/* keep = yes and the whole mailbox listed: forget what is gone from it,
 * and write the file anew if that changed it. */
static void rewritten(void *arg);

static void
job_complete(struct fetch_job *j)
{
	struct fetcher *xp = j->xp;
	struct keyset still = { 0 };
	size_t len = 0;
	char *p;

	if (!xp->keep || !j->listed || j->truncated || xp->closed) {
		job_end(j);
		return;
	}
	for (size_t i = 0; i < j->n_msgs; i++) {
		if (!keyset_has(&xp->seen, j->msgs[i].key))
			continue;
		if (keyset_reserve(&still, still.n + 1) == -1 ||
		    (still.keys[still.n] = strdup(j->msgs[i].key)) == NULL)
			goto unchanged;
		still.n++;
		len += strlen(j->msgs[i].key) + 1;
	}
	if (still.n == xp->seen.n)
		goto unchanged;
	qsort(still.keys, still.n, sizeof(*still.keys), key_cmp);
	free(j->snapshot);
	if ((j->snapshot = p = malloc(len + 1)) == NULL)
		goto unchanged;
	for (size_t i = 0; i < still.n; i++)
		p += sprintf(p, "%s\n", still.keys[i]);
	j->snapshot_len = len;
	keyset_free(&xp->seen);
	xp->seen = still;
	if (worker_submit(xp->workers, rewrite_work, rewritten, j) == -1)
		job_end(j);
	return;
unchanged:
	keyset_free(&still);
	job_end(j);
}

static void
rewritten(void *arg)
{
	struct fetch_job *j = arg;

	/* Only the tidying failed: the file as appended is still right. */
	if (j->rc != 0)
		log_warnx("%s: %s: %s", j->xp->name, j->xp->state_path, strerror(j->rc));
	job_end(j);
}

/* The session's end: expunge what was deleted (IMAP), then log out, which
 * commits POP3's DELEs. */
static void
end_session(struct fetch_job *j)
{
	if (j->deleted > 0 && has_step(j->xp, FETCH_EXPUNGE)) {
		if (start_step(j, FETCH_EXPUNGE, NULL) == -1)
			job_complete(j);
		return;
	}
	if (start_step(j, FETCH_LOGOUT, NULL) == -1)
		job_complete(j);
}

static void
next_message(struct fetch_job *j)
{
	static unsigned long seq;
	struct fetcher *xp = j->xp;
	const struct fetch_msg *m = NULL;

	while (j->next < j->n_msgs && j->fetched < FETCH_MAX) {
		const struct fetch_msg *c = &j->msgs[j->next++];

		if ((xp->keep && keyset_has(&xp->seen, c->key)) ||
		    keyset_has(&xp->too_large, c->key))
			continue;
		m = c;
		break;
	}
	if (m == NULL) {
		end_session(j);
		return;
	}
	j->cur = m;
	j->size = 0;
	j->over = false;
	j->write_errno = 0;
	snprintf(j->path, sizeof(j->path), "%s/fetch.%s.%ld.%lu", xp->tmp_dir, xp->name,
		 (long)getpid(), ++seq);
	if ((j->fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		fail(j, "%s: %s", j->path, strerror(errno));
		j->path[0] = '\0';
		end_session(j);
		return;
	}
	if (start_step(j, FETCH_RETRIEVE, m) == -1) {
		discard_file(j);
		end_session(j);
	}
}

static void
on_listed(struct fetch_job *j, CURLcode rc)
{
	if (rc == CURLE_OK)
		line_end(j);	/* a last line without its newline */
	if (j->list_bad) {
		fail(j, "%s: the server's list of messages makes no sense", j->xp->base);
		job_complete(j);
		return;
	}
	if (rc != CURLE_OK) {
		transfer_failed(j, rc, "listing the mailbox");
		job_complete(j);
		return;
	}
	j->listed = true;
	next_message(j);
}

static void appended(void *arg);
static void on_imported(void *arg, HRESULT hr);

static void
on_retrieved(struct fetch_job *j, CURLcode rc)
{
	struct fetcher *xp = j->xp;
	int closed = close(j->fd);

	j->fd = -1;
	if (j->over) {
		log_warnx("%s: message %s is larger than %llu bytes: left on the server", xp->name,
			  j->cur->key, (unsigned long long)MESSAGE_MAX);
		/* Not again until a restart; the session went with the
		 * aborted transfer, the next one opens anew. */
		if (xp->too_large.n < TOO_LARGE_MAX)
			keyset_add(&xp->too_large, j->cur->key);
		discard_file(j);
		next_message(j);
		return;
	}
	if (rc != CURLE_OK || closed == -1) {
		if (j->write_errno != 0 || closed == -1)
			fail(j, "%s: %s", j->path,
			     strerror(j->write_errno != 0 ? j->write_errno : errno));
		else
			transfer_failed(j, rc, "retrieving a message");
		discard_file(j);
		if (rc == CURLE_OK)
			end_session(j);
		else
			job_complete(j);
		return;
	}
	j->req.import(j->req.ctx, j->path, on_imported, j);
}

/* The spooler holds the message (or could not take it). */
static void
on_imported(void *arg, HRESULT hr)
{
	struct fetch_job *j = arg;
	struct fetcher *xp = j->xp;

	discard_file(j);
	if (xp->closed) {
		job_end(j);
		return;
	}
	if (hr != S_OK) {
		fail(j, "cannot queue message %s: %s", j->cur->key, hr_describe(hr));
		end_session(j);
		return;
	}
	j->fetched++;
	if (!xp->keep) {
		if (start_step(j, FETCH_DELETE, j->cur) == -1)
			end_session(j);
		return;
	}
	free(j->snapshot);
	if (asprintf(&j->snapshot, "%s\n", j->cur->key) == -1) {
		j->snapshot = NULL;
		fail(j, "out of memory");
		end_session(j);
		return;
	}
	j->snapshot_len = strlen(j->snapshot);
	if (worker_submit(xp->workers, append_work, appended, j) == -1) {
		fail(j, "out of memory");
		end_session(j);
	}
}

static void
appended(void *arg)
{
	struct fetch_job *j = arg;
	struct fetcher *xp = j->xp;

	if (xp->closed) {
		job_end(j);
		return;
	}
	if (j->rc == -1 || keyset_add(&xp->seen, j->cur->key) == -1) {
		fail(j, "out of memory");	/* unless the worker said why */
		end_session(j);
		return;
	}
	next_message(j);
}

static void
on_deleted(struct fetch_job *j, CURLcode rc)
{
	if (rc != CURLE_OK) {
		transfer_failed(j, rc, "deleting a fetched message");
		job_complete(j);
		return;
	}
	j->deleted++;
	next_message(j);
}

static void
on_expunged(struct fetch_job *j, CURLcode rc)
{
	if (rc != CURLE_OK) {
		transfer_failed(j, rc, "expunging the fetched messages");
		job_complete(j);
		return;
	}
	if (start_step(j, FETCH_LOGOUT, NULL) == -1)
		job_complete(j);
}

static void
on_logout(struct fetch_job *j, CURLcode rc)
{
	/* Only POP3's deletions hang on it. */
	if (rc != CURLE_OK && j->deleted > 0 && !has_step(j->xp, FETCH_EXPUNGE))
		transfer_failed(j, rc, "committing the deletions");
	job_complete(j);
}

static void
transfer_done(void *ctx, CURL *easy, CURLcode rc)
{
	struct fetch_job *j = ctx;

	(void)easy;
	j->in_curl = false;
	switch (j->step) {
	case FETCH_LIST:
		on_listed(j, rc);
		break;
	case FETCH_RETRIEVE:
		on_retrieved(j, rc);
		break;
	case FETCH_DELETE:
		on_deleted(j, rc);
		break;
	case FETCH_EXPUNGE:
		on_expunged(j, rc);
		break;
	case FETCH_LOGOUT:
		on_logout(j, rc);
		break;
	}
}

static void
on_password(void *arg, const char *value)
{
	struct fetch_job *j = arg;
	struct fetcher *xp = j->xp;

	if (xp->closed) {
		job_end(j);
		return;
	}
	if (value == NULL) {
		result(&j->r, XP_CANCELLED, "the password prompt was cancelled");
		job_end(j);
		return;
	}
	/* set_password may have brought one meanwhile. */
	if (xp->password == NULL) {
		if ((xp->password = strdup(value)) == NULL) {
			fail(j, "out of memory");
			job_end(j);
			return;
		}
		xp->prompted = true;
	}
	begin(j);
}

void
fetch_common_fetch(void *arg, struct xp_fetch *req)
{
	struct fetcher *xp = arg;
	struct fetch_job *j = calloc(1, sizeof(*j));
	char text[256];

	if (j == NULL) {
		struct xp_result r = { .outcome = XP_DEFERRED, .text = "out of memory" };

		req->done(req->ctx, &r, 0);
		return;
	}
	j->xp = xp;
	j->req = *req;
	j->fd = -1;
	j->r.outcome = XP_SENT;
	j->listing.engine = j;
	xp->refs++;
	if (xp->job != NULL) {
		/* Two at once would fetch every message twice. */
		result(&j->r, XP_DEFERRED, "a fetch is already running");
		job_end_later(j);
		return;
	}
	xp->job = j;
	if (!xp->prompt || xp->password != NULL) {
		begin(j);
		return;
	}
	if (req->ui == NULL) {
		result(&j->r, XP_CANCELLED, "a password is needed and FLUSH_NO_UI forbids asking");
		job_end_later(j);
		return;
	}
	snprintf(text, sizeof(text), "Password for %s at %s", xp->username ? xp->username : "",
		 xp->base);
	req->ui->prompt(req->ui->ctx, xp->name, text, on_password, j);
}
