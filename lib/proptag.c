/*
 * proptag.c — the names of the property tags in mapitags.h, both ways.
 *
 * The daemon names a tag for every cell it writes and parses one for every
 * column a client asks for, so both directions avoid a linear scan: names
 * are found by binary search over a table kept in strcmp order, and tags by
 * a switch the compiler turns into a jump table or a search tree (and which
 * refuses to compile if two entries share a tag).  Both come from the one
 * list below; check_proptag verifies its order.
 */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mapispool/mapitags.h>

#include "proptag.h"

/*
 * Every PR_* of mapitags.h, in strcmp order of the names as expanded:
 * X(name) is a tag of one type, S(name) a string tag, which gives two
 * entries: "name" (PT_STRING8, the _A tag) and "name_W" (PT_UNICODE).
 */
#define PROPTAG_LIST(X, S) \
	S(PR_ADDRTYPE) \
	X(PR_DEFERRED_DELIVERY_TIME) \
	X(PR_DELIVER_TIME) \
	S(PR_DISPLAY_NAME) \
	S(PR_EMAIL_ADDRESS) \
	X(PR_ENTRYID) \
	X(PR_HEADER_FOLDER_ENTRYID) \
	X(PR_ICON) \
	S(PR_IDENTITY_DISPLAY) \
	X(PR_IDENTITY_ENTRYID) \
	X(PR_IDENTITY_SEARCH_KEY) \
	X(PR_INSTANCE_KEY) \
	X(PR_MAPISPOOL_NEEDS_UI) \
	X(PR_MESSAGE_DELIVERY_TIME) \
	X(PR_MESSAGE_FLAGS) \
	X(PR_NDR_DIAG_CODE) \
	X(PR_NDR_REASON_CODE) \
	X(PR_OBJECT_TYPE) \
	X(PR_OWN_STORE_ENTRYID) \
	S(PR_PROVIDER_DISPLAY) \
	S(PR_PROVIDER_DLL_NAME) \
	X(PR_PROVIDER_ORDINAL) \
	X(PR_PROVIDER_SUBMIT_TIME) \
	X(PR_PROVIDER_UID) \
	X(PR_RECIPIENT_TYPE) \
	X(PR_RECORD_KEY) \
	X(PR_REMOTE_PROGRESS) \
	S(PR_REMOTE_PROGRESS_TEXT) \
	X(PR_REMOTE_VALIDATE_OK) \
	S(PR_REPORT_TEXT) \
	X(PR_RESOURCE_FLAGS) \
	X(PR_RESOURCE_METHODS) \
	S(PR_RESOURCE_PATH) \
	X(PR_RESOURCE_TYPE) \
	X(PR_RESPONSIBILITY) \
	X(PR_ROWID) \
	X(PR_ROW_TYPE) \
	X(PR_SEARCH_KEY) \
	X(PR_SERVICE_UID) \
	X(PR_STATUS_CODE) \
	S(PR_STATUS_STRING) \
	X(PR_SUBMIT_FLAGS) \
	X(PR_TRANSPORT_KEY) \
	X(PR_TRANSPORT_PROVIDERS) \
	X(PR_TRANSPORT_STATUS) \
	X(PR_X400_DEFERRED_DELIVERY_CANCEL)

struct proptag_entry {
	const char *name;
	ULONG tag;
};

#define ENTRY_X(n) { #n, n },
#define ENTRY_S(n) { #n, n##_A }, { #n "_W", n##_W },
static const struct proptag_entry proptags[] = { PROPTAG_LIST(ENTRY_X, ENTRY_S) };
#undef ENTRY_X
#undef ENTRY_S

#define NPROPTAGS (sizeof(proptags) / sizeof(proptags[0]))

const char *
proptag_name(ULONG tag)
{
#define CASE_X(n) case n: return #n;
#define CASE_S(n) case n##_A: return #n; case n##_W: return #n "_W";
	switch (tag) {
	PROPTAG_LIST(CASE_X, CASE_S)
	default:
		return NULL;
	}
#undef CASE_X
#undef CASE_S
}

const char *
proptag_format(ULONG tag, char buf[PROPTAG_NAME_MAX])
{
	const char *name = proptag_name(tag);

	if (name != NULL)
		snprintf(buf, PROPTAG_NAME_MAX, "%s", name);
	else
		snprintf(buf, PROPTAG_NAME_MAX, "0x%08X", tag);
	return buf;
}

static int
entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct proptag_entry *)elem)->name);
}

static const struct proptag_entry *
lookup_name(const char *name)
{
	return bsearch(name, proptags, NPROPTAGS, sizeof(proptags[0]), entry_cmp);
}

/* "PR_DISPLAY_NAME_A": MAPI's explicit spelling of the PT_STRING8 tag,
 * which the table lists under the plain name. */
static bool
lookup_ansi_name(const char *s, ULONG *tag)
{
	char plain[PROPTAG_NAME_MAX];
	const struct proptag_entry *e;
	size_t len = strlen(s);

	if (len < 2 || len - 2 >= sizeof(plain) || strcmp(s + len - 2, "_A") != 0)
		return false;
	memcpy(plain, s, len - 2);
	plain[len - 2] = '\0';
	if ((e = lookup_name(plain)) == NULL || PROP_TYPE(e->tag) != PT_STRING8)
		return false;
	*tag = e->tag;
	return true;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 to 8 hex digits and nothing else: no sign, no spaces. */
static bool
parse_hex(const char *s, ULONG *tag)
{
	ULONG v = 0;
	size_t n;
	int d;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == 8 || (d = hex_digit(s[n])) < 0)
			return false;
		v = v << 4 | (ULONG)d;
	}
	if (n == 0)
		return false;
	*tag = v;
	return true;
}

/* Decimal digits only, 0..4294967295 (strtoul would allow a sign, spaces
 * and wrap-around). */
static bool
parse_decimal(const char *s, ULONG *tag)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*tag = (ULONG)v;
	return true;
}

bool
proptag_parse(const char *s, ULONG *tag)
{
	const struct proptag_entry *e;

	if (s == NULL)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_hex(s + 2, tag);
	if (s[0] >= '0' && s[0] <= '9')
		return parse_decimal(s, tag);
	if ((e = lookup_name(s)) != NULL) {
		*tag = e->tag;
		return true;
	}
	return lookup_ansi_name(s, tag);
}

bool
proptag_from_json(json_object *j, ULONG *tag)
{
	const char *s;
	int64_t v;

	switch (json_object_get_type(j)) {
	case json_type_string:
		s = json_object_get_string(j);
		/* An embedded NUL would make "PR_ENTRYID\u0000junk" a name. */
		if (strlen(s) != (size_t)json_object_get_string_len(j))
			return false;
		return proptag_parse(s, tag);
	case json_type_int:
		v = json_object_get_int64(j);
		if (v < 0 || v > UINT32_MAX)
			return false;
		*tag = (ULONG)v;
		return true;
	default:
		return false;
	}
}

static bool
is_string_type(ULONG type)
{
	return type == PT_STRING8 || type == PT_UNICODE ||
	       type == PT_MV_STRING8 || type == PT_MV_UNICODE;
}

bool
proptag_same(ULONG a, ULONG b)
{
	ULONG ta = PROP_TYPE(a), tb = PROP_TYPE(b);

	if (a == b)
		return true;
	if (PROP_ID(a) != PROP_ID(b) || !is_string_type(ta) || !is_string_type(tb))
		return false;
	/* Single- and multi-valued strings stay apart. */
	return (ta & MV_FLAG) == (tb & MV_FLAG);
}

bool
proptag_at(size_t i, ULONG *tag, const char **name)
{
	if (i >= NPROPTAGS)
		return false;
	if (tag != NULL)
		*tag = proptags[i].tag;
	if (name != NULL)
		*name = proptags[i].name;
	return true;
}
