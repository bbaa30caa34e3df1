/*
 * check_maildir.c — delivery into a Maildir (data and file copies, unique
 * names, nothing left in tmp/, nothing in new/ after a failure) and the
 * listing of new/ (order, bounds, what it skips).
 */
#include <config.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"

static char dir[PATH_MAX];
static char md[PATH_MAX];	/* dir/md, a prepared Maildir */

/* snprintf into a PATH_MAX buffer, which must be enough. */
static void __attribute__((format(printf, 2, 3)))
pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	ck_assert(n > 0 && n < PATH_MAX);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
setup(void)
{
	char err[256];

	pathf(dir, "/tmp/check_maildir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pathf(md, "%s/md", dir);
	ck_assert_msg(maildir_prepare(md, err, sizeof(err)) == 0, "%s", err);
}

static void
teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries of md/sub, dotfiles aside. */
static size_t
count(const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	pathf(path, "%s/%s", md, sub);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(deliver_data)
{
	static const char msg[] = "Subject: hi\n\nhello\n";
	char name[NAME_MAX + 1], err[256], path[PATH_MAX];
	regex_t re;
	size_t len;
	char *got;

	ck_assert_msg(maildir_deliver(md, msg, strlen(msg), NULL, 0, name, sizeof(name), err,
				      sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(regcomp(&re, "^[0-9]+\\.M[0-9]{6}P[0-9]+Q[0-9]+\\.[A-Za-z0-9._-]+$",
				 REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&re, name, 0, NULL, 0) == 0, "bad name %s", name);
	regfree(&re);
	pathf(path, "%s/new/%s", md, name);
	got = slurp(path, &len);
	ck_assert_uint_eq(len, strlen(msg));
	ck_assert(memcmp(got, msg, len) == 0);
	free(got);
	ck_assert_uint_eq(count("new"), 1);
	ck_assert_uint_eq(count("tmp"), 0);
	ck_assert_uint_eq(count("cur"), 0);
}
END_TEST

START_TEST(deliver_empty)
{
	char name[NAME_MAX + 1], err[256], path[PATH_MAX];
	struct stat st;

	ck_assert_msg(maildir_deliver(md, "", 0, NULL, 0, name, sizeof(name), err, sizeof(err)) ==
		      0, "%s", err);
	pathf(path, "%s/new/%s", md, name);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
}
END_TEST

START_TEST(deliver_file)
{
	size_t big = 3 * 65536 + 123, len;
	char *data = malloc(big), *got;
	char src[PATH_MAX], name[NAME_MAX + 1], err[256], path[PATH_MAX];

	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 251);
	pathf(src, "%s/src.eml", dir);
	spit(src, data, big);
	ck_assert_msg(maildir_deliver(md, NULL, 0, src, 0, name, sizeof(name), err, sizeof(err)) ==
		      0, "%s", err);
	pathf(path, "%s/new/%s", md, name);
	got = slurp(path, &len);
	ck_assert_uint_eq(len, big);
	ck_assert(memcmp(got, data, big) == 0);
	/* a copy: the source stays */
	ck_assert_int_eq(access(src, F_OK), 0);
	ck_assert_uint_eq(count("tmp"), 0);
	free(got);
	free(data);
}
END_TEST

START_TEST(unique_names)
{
	enum { N = 500 };
	char names[N][NAME_MAX + 1], err[256];

	for (int i = 0; i < N; i++)
		ck_assert_msg(maildir_deliver(md, "x", 1, NULL, 0, names[i], sizeof(names[i]), err,
					      sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			ck_assert_str_ne(names[i], names[j]);
	ck_assert_uint_eq(count("new"), N);
	ck_assert_uint_eq(count("tmp"), 0);
}
END_TEST

START_TEST(missing_source)
{
	char err[256] = "", src[PATH_MAX];

	pathf(src, "%s/nonexistent", dir);
	errno = 0;
	ck_assert_int_eq(maildir_deliver(md, NULL, 0, src, 0, NULL, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "nonexistent"));
	ck_assert_uint_eq(count("new"), 0);
	ck_assert_uint_eq(count("tmp"), 0);
}
END_TEST

/* A source that opens but cannot be read fails after tmp/ has the file:
 * it must go. */
START_TEST(unreadable_source)
{
	char err[256] = "";

	ck_assert_int_eq(maildir_deliver(md, NULL, 0, dir, 0, NULL, 0, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "cannot copy") != NULL, "%s", err);
	ck_assert_uint_eq(count("new"), 0);
	ck_assert_uint_eq(count("tmp"), 0);
}
END_TEST

/* new/ that is not a folder: the rename fails, tmp/ is cleaned. */
START_TEST(rename_fails)
{
	char err[256] = "", path[PATH_MAX];

	pathf(path, "%s/new", md);
	ck_assert_int_eq(rmdir(path), 0);
	spit(path, "", 0);
	ck_assert_int_eq(maildir_deliver(md, "x", 1, NULL, 0, NULL, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_msg(strstr(err, "new/") != NULL, "%s", err);
	ck_assert_uint_eq(count("tmp"), 0);
}
END_TEST

START_TEST(no_maildir)
{
	char err[256] = "", path[PATH_MAX];

	pathf(path, "%s/absent", dir);
	ck_assert_int_eq(maildir_deliver(path, "x", 1, NULL, 0, NULL, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(prepare)
{
	char err[256] = "", path[PATH_MAX], file[PATH_MAX];
	struct stat st;

	pathf(path, "%s/a/b/c", dir);
	ck_assert_msg(maildir_prepare(path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(maildir_prepare(path, err, sizeof(err)) == 0, "again: %s", err);
	pathf(file, "%s/cur", path);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	pathf(file, "%s/file", dir);
	spit(file, "", 0);
	pathf(path, "%s/file/md", dir);
	ck_assert_int_eq(maildir_prepare(path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "file"));
}
END_TEST

static void
make_new(const char *name)
{
	char path[PATH_MAX];

	pathf(path, "%s/new/%s", md, name);
	spit(path, name, strlen(name));
}

START_TEST(list_order)
{
	char err[256], path[PATH_MAX];
	char **names;
	size_t n;

	make_new("1700000003.M1P1Q1.h");
	make_new("1700000001.M1P1Q1.h");
	make_new("1700000002.M1P1Q1.h");
	make_new(".hidden");
	pathf(path, "%s/new/1700000000.subdir", md);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	pathf(path, "%s/new/1700000000.link", md);
	ck_assert_int_eq(symlink("1700000001.M1P1Q1.h", path), 0);

	names = maildir_list_new(md, 100, &n, err, sizeof(err));
	ck_assert_msg(names != NULL, "%s", err);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "1700000001.M1P1Q1.h");
	ck_assert_str_eq(names[1], "1700000002.M1P1Q1.h");
	ck_assert_str_eq(names[2], "1700000003.M1P1Q1.h");
	maildir_free_list(names, n);

	names = maildir_list_new(md, 2, &n, err, sizeof(err));
	ck_assert_ptr_nonnull(names);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(names[1], "1700000002.M1P1Q1.h");
	maildir_free_list(names, n);

	names = maildir_list_new(md, 0, &n, err, sizeof(err));
	ck_assert_ptr_nonnull(names);
	ck_assert_uint_eq(n, 0);
	maildir_free_list(names, n);
}
END_TEST

/* More files than the bound, in scrambled order: the oldest come back,
 * sorted, however the directory happens to list them. */
START_TEST(list_bounded)
{
	enum { N = 300, MAX = 7 };
	char name[64], err[256];
	char **names;
	size_t n;

	for (int i = 0; i < N; i++) {
		pathf(name, "%d.M0P0Q0.h", 1000 + (i * 37) % N);
		make_new(name);
	}
	names = maildir_list_new(md, MAX, &n, err, sizeof(err));
	ck_assert_msg(names != NULL, "%s", err);
	ck_assert_uint_eq(n, MAX);
	for (int i = 0; i < MAX; i++) {
		pathf(name, "%d.M0P0Q0.h", 1000 + i);
		ck_assert_str_eq(names[i], name);
	}
	maildir_free_list(names, n);
}
END_TEST

START_TEST(list_missing)
{
	char err[256] = "", path[PATH_MAX];
	size_t n = 99;

	pathf(path, "%s/absent", dir);
	ck_assert_ptr_null(maildir_list_new(path, 10, &n, err, sizeof(err)));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(strstr(err, "absent"));
}
END_TEST

static Suite *
maildir_suite(void)
{
	Suite *s = suite_create("maildir");
	TCase *tc = tcase_create("maildir");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, deliver_data);
	tcase_add_test(tc, deliver_empty);
	tcase_add_test(tc, deliver_file);
	tcase_add_test(tc, unique_names);
	tcase_add_test(tc, missing_source);
	tcase_add_test(tc, unreadable_source);
	tcase_add_test(tc, rename_fails);
	tcase_add_test(tc, no_maildir);
	tcase_add_test(tc, prepare);
	tcase_add_test(tc, list_order);
	tcase_add_test(tc, list_bounded);
	tcase_add_test(tc, list_missing);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(maildir_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
