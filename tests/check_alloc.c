/*
 * check_alloc.c — the small public helpers of libmapispool that need no
 * daemon: MAPI's buffer chains (mapi_alloc.c) and the default control
 * socket (sockpath.c).
 */
#include <config.h>

#include <check.h>
#include <malloc.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mapispool/mapispool.h>

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool
aligned(const void *p)
{
	return (uintptr_t)p % alignof(max_align_t) == 0;
}

/* Bytes malloc has handed out and not got back: a chain that is not freed
 * in full shows here.  glibc counts chunks parked in its per-thread cache
 * as in use, so the tests that read this use blocks larger than the cache
 * takes (1032 bytes). */
#define UNCACHED 2048
static size_t
heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/* Under valgrind or a sanitizer, malloc is not glibc's and mallinfo2 reads
 * 0; the tools check leaks themselves, and the tests that count bytes
 * step aside. */
static bool
heap_measurable(void)
{
	size_t before = heap_in_use();
	void *volatile p = malloc(UNCACHED);	/* volatile: kept by the optimiser */
	bool grew = heap_in_use() >= before + UNCACHED;

	free(p);
	return grew;
}

START_TEST(test_buffer_basic)
{
	LPVOID p = (LPVOID)1;

	ck_assert_int_eq(MAPIAllocateBuffer(100, &p), S_OK);
	ck_assert_ptr_nonnull(p);
	ck_assert(aligned(p));
	memset(p, 0xA5, 100);
	ck_assert_uint_eq(MAPIFreeBuffer(p), 0);

	ck_assert_int_eq(MAPIAllocateBuffer(1u << 24, &p), S_OK);
	memset(p, 0x5A, 1u << 24);
	ck_assert_uint_eq(MAPIFreeBuffer(p), 0);
}
END_TEST

START_TEST(test_buffer_zero_size)
{
	LPVOID p, q;

	ck_assert_int_eq(MAPIAllocateBuffer(0, &p), S_OK);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(MAPIAllocateMore(0, p, &q), S_OK);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(p, q);
	ck_assert_uint_eq(MAPIFreeBuffer(p), 0);
}
END_TEST

START_TEST(test_null_arguments)
{
	LPVOID p = (LPVOID)1, root;

	ck_assert_uint_eq(MAPIFreeBuffer(NULL), 0);
	ck_assert_int_eq(MAPIAllocateBuffer(10, NULL), MAPI_E_INVALID_PARAMETER);
	ck_assert_int_eq(MAPIAllocateMore(10, NULL, &p), MAPI_E_INVALID_PARAMETER);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(MAPIAllocateBuffer(10, &root), S_OK);
	ck_assert_int_eq(MAPIAllocateMore(10, root, NULL), MAPI_E_INVALID_PARAMETER);
	MAPIFreeBuffer(root);
}
END_TEST

/* Every size from 1 to 64 bytes, for the root and for More blocks. */
START_TEST(test_alignment)
{
	ULONG cb = (ULONG)_i;
	LPVOID root, more[8];

	ck_assert_int_eq(MAPIAllocateBuffer(cb, &root), S_OK);
	ck_assert(aligned(root));
	for (size_t i = 0; i < NITEMS(more); i++) {
		ck_assert_int_eq(MAPIAllocateMore(cb, root, &more[i]), S_OK);
		ck_assert_msg(aligned(more[i]), "block %zu of %u bytes at %p", i, cb, more[i]);
		/* A long double must be usable there, which max_align_t promises. */
		if (cb >= sizeof(long double))
			*(long double *)more[i] = 1.5L;
	}
	MAPIFreeBuffer(root);
}
END_TEST

/* A long chain: the blocks do not overlap, and one MAPIFreeBuffer of the
 * root gives all of it back.  Nothing between the two heap readings may
 * call Check, which keeps allocations of its own. */
START_TEST(test_chain_freed_whole)
{
	enum { NBLOCKS = 500 };
	unsigned char *blocks[NBLOCKS];
	LPVOID root, p;
	size_t before, during, after;
	bool allocated = true, intact = true;

	if (!heap_measurable())
		return;
	before = heap_in_use();
	allocated &= MAPIAllocateBuffer(UNCACHED, &root) == S_OK;
	for (size_t i = 0; i < NBLOCKS; i++) {
		allocated &= MAPIAllocateMore((ULONG)(UNCACHED + i % 97), root, &p) == S_OK;
		blocks[i] = p;
		memset(blocks[i], (int)(i & 0xFF), UNCACHED + i % 97);
	}
	for (size_t i = 0; i < NBLOCKS; i++)
		for (size_t k = 0; k < UNCACHED + i % 97; k++)
			intact &= blocks[i][k] == (i & 0xFF);
	during = heap_in_use();
	MAPIFreeBuffer(root);
	after = heap_in_use();

	ck_assert(allocated);
	ck_assert(intact);
	ck_assert_uint_gt(during, before + NBLOCKS * UNCACHED);
	ck_assert_uint_eq(after, before);
}
END_TEST

/* A More block as parent: chained to the same root, freed with it. */
START_TEST(test_more_on_more)
{
	LPVOID root, a = NULL, b = NULL, c = NULL;
	size_t before, during, after;
	bool allocated = true;

	if (!heap_measurable())
		return;
	before = heap_in_use();
	allocated &= MAPIAllocateBuffer(UNCACHED, &root) == S_OK;
	allocated &= MAPIAllocateMore(UNCACHED, root, &a) == S_OK;
	allocated &= MAPIAllocateMore(UNCACHED, a, &b) == S_OK;
	allocated &= MAPIAllocateMore(UNCACHED, b, &c) == S_OK;
	during = heap_in_use();
	MAPIFreeBuffer(root);
	after = heap_in_use();

	ck_assert(allocated);
	ck_assert(aligned(b) && aligned(c));
	ck_assert_uint_ge(during, before + 4 * UNCACHED);
	ck_assert_uint_eq(after, before);
}
END_TEST

/* Two chains are independent: freeing one leaves the other intact. */
START_TEST(test_independent_chains)
{
	LPVOID r1, r2;
	char *s;

	ck_assert_int_eq(MAPIAllocateBuffer(4, &r1), S_OK);
	ck_assert_int_eq(MAPIAllocateBuffer(4, &r2), S_OK);
	ck_assert_int_eq(MAPIAllocateMore(6, r2, (LPVOID *)&s), S_OK);
	strcpy(s, "hello");
	MAPIFreeBuffer(r1);
	ck_assert_str_eq(s, "hello");
	MAPIFreeBuffer(r2);
}
END_TEST

/* Under a 256 MiB address-space limit, 4 GiB cannot be had: the failure
 * must come back as MAPI's code, with *lppBuffer cleared.  (AddressSanitizer
 * needs terabytes of address space for itself: not under it.) */
START_TEST(test_out_of_memory)
{
	struct rlimit old, lim;
	LPVOID root, p = (LPVOID)1;

#ifdef __SANITIZE_ADDRESS__
	return;
#endif
	ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
	lim = old;
	lim.rlim_cur = 256u << 20;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);

	ck_assert_int_eq(MAPIAllocateBuffer(0xFFFFFFFFu, &p), MAPI_E_NOT_ENOUGH_MEMORY);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(MAPIAllocateBuffer(8, &root), S_OK);
	p = (LPVOID)1;
	ck_assert_int_eq(MAPIAllocateMore(0xFFFFFFF0u, root, &p), MAPI_E_NOT_ENOUGH_MEMORY);
	ck_assert_ptr_null(p);
	MAPIFreeBuffer(root);

	ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
}
END_TEST

/* ---- mapispool_default_socket ---- */

/* NULL: unset; "": set but empty, which counts as unset. */
static const struct sock_case {
	const char *mapispool_socket;
	const char *runtime_directory;
	const char *xdg_runtime_dir;
	const char *want;		/* for a user other than root */
	bool want_is_xdg;		/* root skips $XDG_RUNTIME_DIR */
} sock_cases[] = {
	{ "/tmp/s.sock", "/run/x", "/run/user/1000", "/tmp/s.sock", false },
	{ "", "/run/x", "/run/user/1000", "/run/x/control.sock", false },
	{ NULL, "/run/x", NULL, "/run/x/control.sock", false },
	{ NULL, "/run/a:/run/b", NULL, "/run/a/control.sock", false },
	{ NULL, "", "/run/user/1000", "/run/user/1000/mapispool/control.sock", true },
	{ NULL, NULL, "/run/user/1000", "/run/user/1000/mapispool/control.sock", true },
	{ NULL, NULL, "", "/run/mapispool/control.sock", false },
	{ NULL, NULL, NULL, "/run/mapispool/control.sock", false },
	{ "", "", "", "/run/mapispool/control.sock", false },
};

static void
set_env(const char *name, const char *value)
{
	if (value != NULL)
		ck_assert_int_eq(setenv(name, value, 1), 0);
	else
		ck_assert_int_eq(unsetenv(name), 0);
}

START_TEST(test_socket_precedence)
{
	const struct sock_case *t = &sock_cases[_i];
	const char *want = t->want;
	char buf[256];

	set_env("MAPISPOOL_SOCKET", t->mapispool_socket);
	set_env("RUNTIME_DIRECTORY", t->runtime_directory);
	set_env("XDG_RUNTIME_DIR", t->xdg_runtime_dir);
	if (t->want_is_xdg && getuid() == 0)
		want = "/run/mapispool/control.sock";

	ck_assert_uint_eq(mapispool_default_socket(buf, sizeof(buf)), strlen(want));
	ck_assert_str_eq(buf, want);
}
END_TEST

/* Like snprintf: the length it needs, whatever fits written and ended. */
START_TEST(test_socket_truncation)
{
	char buf[8];

	set_env("MAPISPOOL_SOCKET", NULL);
	set_env("RUNTIME_DIRECTORY", "/run/mapispool");
	ck_assert_uint_eq(mapispool_default_socket(buf, sizeof(buf)),
			  strlen("/run/mapispool/control.sock"));
	ck_assert_str_eq(buf, "/run/ma");
	ck_assert_uint_eq(mapispool_default_socket(NULL, 0),
			  strlen("/run/mapispool/control.sock"));
}
END_TEST

static Suite *
alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("buffers");

	tcase_add_test(tc, test_buffer_basic);
	tcase_add_test(tc, test_buffer_zero_size);
	tcase_add_test(tc, test_null_arguments);
	tcase_add_loop_test(tc, test_alignment, 1, 65);
	tcase_add_test(tc, test_chain_freed_whole);
	tcase_add_test(tc, test_more_on_more);
	tcase_add_test(tc, test_independent_chains);
	tcase_add_test(tc, test_out_of_memory);
	suite_add_tcase(s, tc);

	tc = tcase_create("sockpath");
	tcase_add_loop_test(tc, test_socket_precedence, 0, NITEMS(sock_cases));
	tcase_add_test(tc, test_socket_truncation);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(alloc_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
