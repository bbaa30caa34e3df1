/*
 * check_fetch.c — the pop3 and imap transports end to end: a real
 * mapispoold fetches through libcurl from a real Dovecot on loopback
 * (tests/dovecot.sh), over STARTTLS and implicit TLS, into its store;
 * deletes at the source, or with keep = yes remembers what it fetched
 * across a restart; and says why when the certificate, the password or the
 * lack of a person stops it.
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

#include "harness.h"
#include "mapi_helpers.h"
#include "servers.h"

/* The profile around the transport's own lines: fetched only when
 * flushed. */
static const char config_head[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"socket_mode = 0600\n"
	"[transport:inbox]\n"
	"poll = 0\n"
	"timeout = 20s\n"
	"username = alice\n";

/* Made once, in main, for every test: the CA, Dovecot with the CA's
 * certificate, and one showing a certificate nobody signed. */
static char top[PATH_MAX / 4];
static char ca_dir[PATH_MAX / 2];
static struct dovecot_server dovecot, rogue;

static char scratch[PATH_MAX / 2];	/* per test: password files */
static struct daemon_handle d;
static bool daemon_up;
static LPMAPISESSION session;

/* Three messages with CRLF line ends, as both protocols carry them, and a
 * line that POP3 must dot-stuff. */
static const char *const messages[] = {
	"From: bob@example.org\r\nTo: alice@example.net\r\nSubject: one\r\n"
	"Message-ID: <one@example.org>\r\n\r\nthe first\r\n",
	"From: carol@example.org\r\nTo: alice@example.net\r\nSubject: two\r\n"
	"Message-ID: <two@example.org>\r\n\r\n.a line that starts with a dot\r\n..two\r\n",
	"From: dave@example.org\r\nTo: alice@example.net\r\nSubject: three\r\n"
	"Message-ID: <three@example.org>\r\n\r\nthe third\r\n\r\n",
};
#define N_MESSAGES (int)(sizeof(messages) / sizeof(messages[0]))

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Remove the files of a Maildir folder's new/ and cur/. */
static void
empty_folder(const char *maildir)
{
	static const char *const subs[] = { "new", "cur" };

	for (size_t i = 0; i < 2; i++) {
		char dir[PATH_MAX], file[PATH_MAX * 2];
		struct dirent *e;
		DIR *dp;

		snprintf(dir, sizeof(dir), "%s/%s", maildir, subs[i]);
		if ((dp = opendir(dir)) == NULL)
			continue;
		while ((e = readdir(dp)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
			unlink(file);
		}
		closedir(dp);
	}
}

static int
count_files(const char *dir)
{
	struct dirent *e;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL)
		n += e->d_name[0] != '.';
	closedir(dp);
	return n;
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf;
	FILE *f;
	long n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
setup(void)
{
	snprintf(scratch, sizeof(scratch), "%s/test.XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(scratch));
	empty_folder(dovecot.maildir);
	empty_folder(rogue.maildir);
	daemon_up = false;
	session = NULL;
}

static void
logon(void)
{
	ck_assert_int_eq(MAPIInitialize(NULL), S_OK);
	ck_assert_int_eq(mapispool_logon(d.socket, NULL, MAPI_EXTENDED, &session), S_OK);
}

static void
logoff(void)
{
	if (session == NULL)
		return;
	IMAPISession_Logoff(session, 0, 0, 0);
	IMAPISession_Release(session);
	MAPIUninitialize();
	session = NULL;
}

/* Passwords never reach the log. */
static void
assert_log_clean(void)
{
	char *log = harness_log(&d);

	ck_assert_msg(strstr(log, "secret") == NULL, "the password is in the log");
	ck_assert_ptr_null(strstr(log, "c2VjcmV0"));
	free(log);
}

static void
teardown(void)
{
	logoff();
	if (daemon_up) {
		assert_log_clean();
		ck_assert_msg(harness_alive(&d), "mapispoold died");
		ck_assert_int_eq(harness_stop(&d), 0);
	}
	rm_tree(scratch);
}

/* scratch/name, mode 0600. */
static void
write_secret(const char *name, const char *text)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The daemon with the transport's own lines (printf-style), logged on. */
static void __attribute__((format(printf, 1, 2)))
start_daemon(const char *fmt, ...)
{
	char lines[2048], config[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lines, sizeof(lines), fmt, ap);
	va_end(ap);
	snprintf(config, sizeof(config), "%s%s", config_head, lines);
	ck_assert_int_eq(harness_start(&d, config), 0);
	daemon_up = true;
	logon();
}

/* The usual profile: password "secret" in a file, ca_file the test CA. */
static void __attribute__((format(printf, 2, 3)))
start_fetcher(const char *type, const char *fmt, ...)
{
	char url[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(url, sizeof(url), fmt, ap);
	va_end(ap);
	write_secret("inbox.pass", "secret\n");
	start_daemon("type = %s\nurl = %s\npassword_file = %s/inbox.pass\nca_file = %s/ca.pem\n",
		     type, url, scratch, ca_dir);
}

static void
deliver_all(const struct dovecot_server *dv)
{
	for (int i = 0; i < N_MESSAGES; i++)
		ck_assert_int_eq(dovecot_deliver(dv, "test", messages[i]), 0);
	ck_assert_int_eq(dovecot_count(dv), N_MESSAGES);
}

/* FlushQueues(FLUSH_DOWNLOAD | flags) on the transport; its result in
 * *res and its words in error (either may be NULL). */
static HRESULT
flush(ULONG flags, MAPISPOOL_FLUSH_RESULT *res, char *error, size_t errlen)
{
	return mapi_flush_transport(session, "inbox", FLUSH_DOWNLOAD | flags, res, error, errlen);
}

/* A flush that must go well; how many it received. */
static ULONG
flush_ok(void)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[1024];
	HRESULT hr = flush(FLUSH_NO_UI, &res, error, sizeof(error));

	ck_assert_msg(hr == S_OK, "flush: 0x%08x: %s", (unsigned)hr, error);
	ck_assert_uint_eq(res.cReceived, res.cDelivered);
	return res.cReceived;
}

static int
stored(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/Maildir/new", d.dir);
	return count_files(path);
}

/* The store's new/ holds exactly the test messages, byte for byte. */
static void
assert_store_has_messages(void)
{
	char path[PATH_MAX];
	bool seen[N_MESSAGES] = { false };
	struct dirent *e;
	DIR *dp;
	int n = 0;

	snprintf(path, sizeof(path), "%s/Maildir/new", d.dir);
	ck_assert_ptr_nonnull(dp = opendir(path));
	while ((e = readdir(dp)) != NULL) {
		char file[PATH_MAX * 2], *text;
		bool matched = false;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		ck_assert_ptr_nonnull(text = slurp(file, &len));
		for (int i = 0; i < N_MESSAGES && !matched; i++)
			if (!seen[i] && len == strlen(messages[i]) &&
			    memcmp(text, messages[i], len) == 0)
				matched = seen[i] = true;
		ck_assert_msg(matched, "unexpected bytes in the store: %s", text);
		free(text);
		n++;
	}
	closedir(dp);
	ck_assert_int_eq(n, N_MESSAGES);
}

/* ---- fetch and delete ---- */

static void
fetch_and_delete(const char *type, const char *scheme, int port)
{
	deliver_all(&dovecot);
	start_fetcher(type, "%s://127.0.0.1:%d/", scheme, port);
	ck_assert_uint_eq(flush_ok(), N_MESSAGES);
	assert_store_has_messages();
	ck_assert_int_eq(dovecot_count(&dovecot), 0);
	/* and nothing more the next time */
	ck_assert_uint_eq(flush_ok(), 0);
	ck_assert_int_eq(stored(), N_MESSAGES);
}

START_TEST(pop3_fetch_and_delete)
{
	fetch_and_delete("pop3", "pop3", dovecot.pop3_port);
}
END_TEST

START_TEST(imap_fetch_and_delete)
{
	fetch_and_delete("imap", "imap", dovecot.imap_port);
}
END_TEST

START_TEST(empty_mailbox)
{
	start_fetcher("imap", "imap://127.0.0.1:%d/", dovecot.imap_port);
	ck_assert_uint_eq(flush_ok(), 0);
	ck_assert_int_eq(stored(), 0);
}
END_TEST

/* ---- keep = yes ---- */

static void
keep(const char *type, int port)
{
	char url[256];

	deliver_all(&dovecot);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/\nkeep = yes", type, port);
	start_fetcher(type, "%s", url);
	ck_assert_uint_eq(flush_ok(), N_MESSAGES);
	assert_store_has_messages();
	ck_assert_int_eq(dovecot_count(&dovecot), N_MESSAGES);
	ck_assert_uint_eq(flush_ok(), 0);

	/* what it remembers survives a restart */
	logoff();
	harness_kill(&d, SIGTERM);
	ck_assert_int_eq(harness_restart(&d), 0);
	logon();
	ck_assert_uint_eq(flush_ok(), 0);
	ck_assert_int_eq(stored(), N_MESSAGES);

	/* and a new message is still new */
	ck_assert_int_eq(dovecot_deliver(&dovecot, "later", messages[0]), 0);
	ck_assert_uint_eq(flush_ok(), 1);
	ck_assert_int_eq(stored(), N_MESSAGES + 1);
	ck_assert_int_eq(dovecot_count(&dovecot), N_MESSAGES + 1);
}

START_TEST(pop3_keep)
{
	keep("pop3", dovecot.pop3_port);
}
END_TEST

START_TEST(imap_keep)
{
	keep("imap", dovecot.imap_port);
}
END_TEST

/* ---- IMAP folders ---- */

/* A message in alice's Maildir++ folder .NAME, owned as Dovecot wants. */
static void
deliver_to_folder(const char *name, const char *text)
{
	static const char *const subs[] = { "", "/new", "/cur", "/tmp" };
	char path[PATH_MAX * 2];
	struct stat st;
	int fd;

	ck_assert_int_eq(stat(dovecot.maildir, &st), 0);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/.%s%s", dovecot.maildir, name, subs[i]);
		ck_assert(mkdir(path, 0700) == 0 || errno == EEXIST);
		ck_assert_int_eq(chown(path, st.st_uid, st.st_gid), 0);
	}
	snprintf(path, sizeof(path), "%s/.%s/new/%ld.folder.test", dovecot.maildir, name,
		 (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchown(fd, st.st_uid, st.st_gid), 0);
	close(fd);
}

static int
folder_count(const char *name)
{
	char new[PATH_MAX * 2], cur[PATH_MAX * 2];

	snprintf(new, sizeof(new), "%s/.%s/new", dovecot.maildir, name);
	snprintf(cur, sizeof(cur), "%s/.%s/cur", dovecot.maildir, name);
	return count_files(new) + count_files(cur);
}

static void
fetch_folder(const char *folder_line, const char *url_path)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/.Archive", dovecot.maildir);
	rm_tree(path);
	ck_assert_int_eq(dovecot_deliver(&dovecot, "inbox", messages[0]), 0);
	deliver_to_folder("Archive", messages[1]);
	start_fetcher("imap", "imap://127.0.0.1:%d/%s\n%s", dovecot.imap_port, url_path,
		      folder_line);
	ck_assert_uint_eq(flush_ok(), 1);
	ck_assert_int_eq(folder_count("Archive"), 0);
	ck_assert_int_eq(dovecot_count(&dovecot), 1);
	rm_tree(path);
}

START_TEST(imap_folder_in_url)
{
	fetch_folder("", "Archive");
}
END_TEST

START_TEST(imap_folder_key)
{
	fetch_folder("folder = Archive", "");
}
END_TEST

/* ---- TLS ---- */

START_TEST(pop3s)
{
	fetch_and_delete("pop3", "pop3s", dovecot.pop3s_port);
}
END_TEST

START_TEST(imaps)
{
	fetch_and_delete("imap", "imaps", dovecot.imaps_port);
}
END_TEST

/* Deferred, naming the host and the certificate's problem; the mailbox
 * untouched. */
static void
rogue_certificate(const char *type, const char *scheme, int port)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[1024];

	deliver_all(&rogue);
	start_fetcher(type, "%s://127.0.0.1:%d/", scheme, port);
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert(FAILED(res.hResult));
	ck_assert_msg(strstr(error, "127.0.0.1") != NULL && strstr(error, "certificate") != NULL,
		      "error: %s", error);
	ck_assert_uint_eq(res.cReceived, 0);
	ck_assert_int_eq(stored(), 0);
	ck_assert_int_eq(dovecot_count(&rogue), N_MESSAGES);
}

START_TEST(rogue_certificate_pop3s)
{
	rogue_certificate("pop3", "pop3s", rogue.pop3s_port);
}
END_TEST

START_TEST(rogue_certificate_imap_starttls)
{
	rogue_certificate("imap", "imap", rogue.imap_port);
}
END_TEST

/* ---- passwords ---- */

START_TEST(wrong_password)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[1024];

	deliver_all(&dovecot);
	write_secret("wrong.pass", "not the one\n");
	start_daemon("type = imap\nurl = imaps://127.0.0.1:%d/\npassword_file = %s/wrong.pass\n"
		     "ca_file = %s/ca.pem\n",
		     dovecot.imaps_port, scratch, ca_dir);
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert(FAILED(res.hResult));
	ck_assert_msg(strstr(error, "authentication") != NULL, "error: %s", error);
	ck_assert_ptr_null(strstr(error, "not the one"));
	ck_assert_int_eq(dovecot_count(&dovecot), N_MESSAGES);
	ck_assert_int_eq(stored(), 0);
}
END_TEST

static void
start_prompting(void)
{
	start_daemon("type = pop3\nurl = pop3s://127.0.0.1:%d/\npassword = prompt\n"
		     "ca_file = %s/ca.pem\n",
		     dovecot.pop3s_port, ca_dir);
}

START_TEST(prompt_without_ui_cancels)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[1024];

	deliver_all(&dovecot);
	start_prompting();
	ck_assert_int_eq(flush(FLUSH_NO_UI, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert_int_eq(res.hResult, MAPI_E_USER_CANCEL);
	ck_assert_msg(strstr(error, "FLUSH_NO_UI") != NULL, "error: %s", error);
	ck_assert_int_eq(dovecot_count(&dovecot), N_MESSAGES);
	ck_assert_int_eq(stored(), 0);
}
END_TEST

static int prompts;
static const char *answers[4];	/* what the UI answers, prompt by prompt */

static void
ui_callback(LPVOID ctx, const MAPISPOOL_UI_EVENT *ev)
{
	(void)ctx;
	if (ev->ulKind != MAPISPOOL_UI_PROMPT)
		return;
	ck_assert(ev->fSecret);
	ck_assert_str_eq(ev->lpszTransport, "inbox");
	ck_assert_int_lt(prompts, 4);
	ck_assert_int_eq(mapispool_ui_reply(session, ev->ulPromptId, answers[prompts++]), S_OK);
}

/* Asked, answered wrong (deferred, and the wrong one forgotten), asked
 * again and answered right; then remembered. */
START_TEST(prompt_with_ui)
{
	MAPISPOOL_FLUSH_RESULT res;
	char error[1024];

	deliver_all(&dovecot);
	start_prompting();
	prompts = 0;
	answers[0] = "wrong";
	answers[1] = "secret";
	ck_assert_int_eq(mapispool_set_ui_callback(session, ui_callback, NULL), S_OK);
	ck_assert_int_eq(flush(0, &res, error, sizeof(error)), MAPI_W_ERRORS_RETURNED);
	ck_assert_msg(strstr(error, "authentication") != NULL, "error: %s", error);
	ck_assert_int_eq(prompts, 1);
	ck_assert_int_eq(flush(0, &res, error, sizeof(error)), S_OK);
	ck_assert_int_eq(prompts, 2);
	ck_assert_uint_eq(res.cReceived, N_MESSAGES);
	assert_store_has_messages();
	ck_assert_int_eq(dovecot_count(&dovecot), 0);
	ck_assert_int_eq(flush(0, &res, error, sizeof(error)), S_OK);
	ck_assert_int_eq(prompts, 2);
}
END_TEST

/* ---- a big mailbox ---- */

#define BIG_COUNT 50
#define BIG_SIZE (200 * 1024)

static void
big_mailbox(const char *type, const char *scheme, int port)
{
	char *text = malloc(BIG_SIZE + 1), *p = text;

	ck_assert_ptr_nonnull(text);
	p += sprintf(p, "From: bulk@example.org\r\nSubject: bulk\r\n\r\n");
	while (p - text < BIG_SIZE - 80) {
		memset(p, 'x', 76);
		memcpy(p + 76, "\r\n", 2);
		p += 78;
	}
	*p = '\0';
	for (int i = 0; i < BIG_COUNT; i++)
		ck_assert_int_eq(dovecot_deliver(&dovecot, "bulk", text), 0);
	free(text);
	start_fetcher(type, "%s://127.0.0.1:%d/", scheme, port);
	ck_assert_uint_eq(flush_ok(), BIG_COUNT);
	ck_assert_int_eq(stored(), BIG_COUNT);
	ck_assert_int_eq(dovecot_count(&dovecot), 0);
}

START_TEST(pop3_big_mailbox)
{
	big_mailbox("pop3", "pop3", dovecot.pop3_port);
}
END_TEST

START_TEST(imap_big_mailbox)
{
	big_mailbox("imap", "imaps", dovecot.imaps_port);
}
END_TEST

static Suite *
fetch_suite(void)
{
	Suite *s = suite_create("fetch");
	TCase *fetch = tcase_create("fetch"), *tls = tcase_create("tls");
	TCase *auth = tcase_create("auth"), *big = tcase_create("big");

	tcase_add_checked_fixture(fetch, setup, teardown);
	tcase_set_timeout(fetch, 60);
	tcase_add_test(fetch, pop3_fetch_and_delete);
	tcase_add_test(fetch, imap_fetch_and_delete);
	tcase_add_test(fetch, empty_mailbox);
	tcase_add_test(fetch, pop3_keep);
	tcase_add_test(fetch, imap_keep);
	tcase_add_test(fetch, imap_folder_in_url);
	tcase_add_test(fetch, imap_folder_key);
	suite_add_tcase(s, fetch);

	tcase_add_checked_fixture(tls, setup, teardown);
	tcase_set_timeout(tls, 60);
	tcase_add_test(tls, pop3s);
	tcase_add_test(tls, imaps);
	tcase_add_test(tls, rogue_certificate_pop3s);
	tcase_add_test(tls, rogue_certificate_imap_starttls);
	suite_add_tcase(s, tls);

	tcase_add_checked_fixture(auth, setup, teardown);
	tcase_set_timeout(auth, 60);
	tcase_add_test(auth, wrong_password);
	tcase_add_test(auth, prompt_without_ui_cancels);
	tcase_add_test(auth, prompt_with_ui);
	suite_add_tcase(s, auth);

	tcase_add_checked_fixture(big, setup, teardown);
	tcase_set_timeout(big, 120);
	tcase_add_test(big, pop3_big_mailbox);
	tcase_add_test(big, imap_big_mailbox);
	suite_add_tcase(s, big);
	return s;
}

/* Dovecot and its rogue twin, whose certdir holds the self-signed
 * certificate under the name Dovecot reads. */
static int
start_servers(void)
{
	char dir[PATH_MAX], rogue_certs[PATH_MAX / 2], from[PATH_MAX], to[PATH_MAX];

	snprintf(rogue_certs, sizeof(rogue_certs), "%s/rogue-certs", top);
	if (mkdir(rogue_certs, 0700) == -1)
		return -1;
	for (int i = 0; i < 2; i++) {
		const char *ext = i == 0 ? "pem" : "key";

		snprintf(from, sizeof(from), "%s/rogue.%s", ca_dir, ext);
		snprintf(to, sizeof(to), "%s/server.%s", rogue_certs, ext);
		if (symlink(from, to) == -1)
			return -1;
	}
	snprintf(dir, sizeof(dir), "%s/dovecot", top);
	if (dovecot_start(&dovecot, dir, ca_dir) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "%s/rogue", top);
	return dovecot_start(&rogue, dir, rogue_certs);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	snprintf(top, sizeof(top), "%s/check_fetch.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	/* Dovecot's own processes, and alice's mail (nobody's when the tests
	 * run as root), must reach what is in here. */
	if (mkdtemp(top) == NULL || chmod(top, 0755) == -1) {
		perror("check_fetch: mkdtemp");
		return 99;
	}
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", top);
	if (servers_make_ca(ca_dir) == -1) {
		fprintf(stderr, "check_fetch: cannot make the test CA in %s\n", ca_dir);
		return 99;
	}
	if (start_servers() == -1) {
		fprintf(stderr, "check_fetch: cannot start Dovecot in %s (see dovecot.out and "
			"dovecot.log there; Debian: apt-get install dovecot-imapd "
			"dovecot-pop3d)\n", top);
		dovecot_stop(&rogue);
		dovecot_stop(&dovecot);
		return 99;
	}
	sr = srunner_create(fetch_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	dovecot_stop(&rogue);
	dovecot_stop(&dovecot);
	rm_tree(top);
	return failed == 0 ? 0 : 1;
}
