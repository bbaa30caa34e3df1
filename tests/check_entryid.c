/*
 * check_entryid.c — status-object entry IDs: stable, distinct, checked.
 */
#include <config.h>

#include <check.h>
#include <string.h>

#include "entryid.h"

START_TEST(round_trip)
{
	static const struct {
		enum entryid_kind kind;
		const char *name;
	} cases[] = {
		{ EID_SUBSYSTEM, "subsystem" }, { EID_SPOOLER, "spooler" },
		{ EID_STORE, "store" },	 { EID_TRANSPORT, "relay" },
		{ EID_TRANSPORT, "a" },		{ EID_TRANSPORT, "x.y-z_9" },
	};
	BYTE eid[ENTRYID_MAX];
	char name[CONFIG_NAME_MAX + 1];
	enum entryid_kind kind;
	size_t n = entryid_make(cases[_i].kind, cases[_i].name, eid);

	ck_assert_uint_eq(n, ENTRYID_HEADER_LEN + strlen(cases[_i].name));
	ck_assert_int_eq(entryid_parse(eid, n, &kind, name), S_OK);
	ck_assert_int_eq(kind, cases[_i].kind);
	ck_assert_str_eq(name, cases[_i].name);
	/* MAPI's ENTRYID: four flag bytes, zero for a long-term ID. */
	ck_assert_int_eq(eid[0] | eid[1] | eid[2] | eid[3], 0);
}
END_TEST

START_TEST(stable_and_distinct)
{
	BYTE a[ENTRYID_MAX], b[ENTRYID_MAX], c[ENTRYID_MAX];
	size_t na = entryid_make(EID_TRANSPORT, "relay", a);
	size_t nb = entryid_make(EID_TRANSPORT, "relay", b);
	size_t nc = entryid_make(EID_STORE, "relay", c);

	/* The same object gets the same bytes every time (across restarts:
	 * nothing but kind and name goes in). */
	ck_assert_uint_eq(na, nb);
	ck_assert_int_eq(memcmp(a, b, na), 0);
	ck_assert(na != nc || memcmp(a, c, na) != 0);
	nb = entryid_make(EID_TRANSPORT, "relay2", b);
	ck_assert(na != nb || memcmp(a, b, na) != 0);
}
END_TEST

START_TEST(bad_names)
{
	BYTE eid[ENTRYID_MAX];
	char longname[CONFIG_NAME_MAX + 2];

	ck_assert_uint_eq(entryid_make(EID_TRANSPORT, "", eid), 0);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_uint_eq(entryid_make(EID_TRANSPORT, longname, eid), 0);
	longname[CONFIG_NAME_MAX] = '\0';
	ck_assert_uint_eq(entryid_make(EID_TRANSPORT, longname, eid), ENTRYID_MAX);
}
END_TEST

/* Each corruption of a good entry ID must be refused as malformed. */
START_TEST(malformed_refused)
{
	BYTE eid[ENTRYID_MAX + 8];
	char name[CONFIG_NAME_MAX + 1];
	enum entryid_kind kind;
	size_t n = entryid_make(EID_TRANSPORT, "relay", eid);

	switch (_i) {
	case 0: eid[0] = 1; break;			/* flags */
	case 1: eid[7] ^= 0xff; break;			/* provider UID */
	case 2: eid[20] = 2; break;			/* version */
	case 3: eid[21] = 0; break;			/* kind */
	case 4: eid[21] = 9; break;
	case 5: n = ENTRYID_HEADER_LEN; break;		/* no name */
	case 6: n = 3; break;				/* truncated */
	case 7: eid[ENTRYID_HEADER_LEN + 1] = 0; break;	/* NUL in name */
	case 8: n = ENTRYID_MAX + 1; break;		/* too long */
	}
	ck_assert_int_eq(entryid_parse(eid, n, &kind, name), MAPI_E_INVALID_ENTRYID);
	ck_assert_int_eq(entryid_parse(NULL, 0, &kind, name), MAPI_E_INVALID_ENTRYID);
}
END_TEST

static Suite *
entryid_suite(void)
{
	Suite *s = suite_create("entryid");
	TCase *tc = tcase_create("entryid");

	tcase_add_loop_test(tc, round_trip, 0, 6);
	tcase_add_test(tc, stable_and_distinct);
	tcase_add_test(tc, bad_names);
	tcase_add_loop_test(tc, malformed_refused, 0, 9);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(entryid_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
