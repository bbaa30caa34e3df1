/*
 * hresult.c — MAPI's names and a sentence for every code in mapicode.h.
 *
 * The generic COM codes MAPI reuses (E_FAIL, E_OUTOFMEMORY, ...) are
 * named by their MAPI names, since that is what a MAPI program tests for;
 * the COM spellings are still understood by hr_from_name.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include <mapispool/mapispool.h>

#include "hresult.h"

struct hr_entry {
	HRESULT hr;
	const char *name;
	const char *text;
};

#define HR(code, text) { code, #code, text }

static const struct hr_entry hr_table[] = {
	HR(S_OK, "success"),
	HR(S_FALSE, "success, with a negative answer"),

	HR(MAPI_E_CALL_FAILED, "the call failed"),
	HR(MAPI_E_NOT_ENOUGH_MEMORY, "not enough memory"),
	HR(MAPI_E_INVALID_PARAMETER, "a parameter is invalid"),
	HR(MAPI_E_INTERFACE_NOT_SUPPORTED, "the interface is not supported"),
	HR(MAPI_E_NO_ACCESS, "access is denied"),
	/* The one COM code in mapicode.h with no MAPI name of its own. */
	HR(E_NOTIMPL, "the function is not implemented"),

	HR(MAPI_E_NO_SUPPORT, "the operation is not supported"),
	HR(MAPI_E_BAD_CHARWIDTH, "the string width flags are wrong"),
	HR(MAPI_E_STRING_TOO_LONG, "a string is too long"),
	HR(MAPI_E_UNKNOWN_FLAGS, "unknown flags were given"),
	HR(MAPI_E_INVALID_ENTRYID, "the entry ID is malformed"),
	HR(MAPI_E_INVALID_OBJECT, "the object is invalid"),
	HR(MAPI_E_OBJECT_CHANGED, "the object has changed"),
	HR(MAPI_E_OBJECT_DELETED, "the object has been deleted"),
	HR(MAPI_E_BUSY, "the server is busy"),
	HR(MAPI_E_NOT_ENOUGH_DISK, "not enough disk space"),
	HR(MAPI_E_NOT_ENOUGH_RESOURCES, "not enough system resources"),
	HR(MAPI_E_NOT_FOUND, "the object was not found"),
	HR(MAPI_E_VERSION, "the version is not supported"),
	HR(MAPI_E_LOGON_FAILED, "the logon failed"),
	HR(MAPI_E_SESSION_LIMIT, "too many sessions are open"),
	HR(MAPI_E_USER_CANCEL, "the operation was cancelled by the user"),
	HR(MAPI_E_UNABLE_TO_ABORT, "the operation cannot be aborted"),
	HR(MAPI_E_NETWORK_ERROR, "a network error occurred"),
	HR(MAPI_E_DISK_ERROR, "a disk error occurred"),
	HR(MAPI_E_TOO_COMPLEX, "the request is too complex"),
	HR(MAPI_E_BAD_COLUMN, "a column is invalid"),
	HR(MAPI_E_EXTENDED_ERROR, "an extended error occurred"),
	HR(MAPI_E_COMPUTED, "the property is computed and read-only"),
	HR(MAPI_E_CORRUPT_DATA, "the data is corrupt"),
	HR(MAPI_E_UNCONFIGURED, "the service is not configured"),
	HR(MAPI_E_FAILONEPROVIDER, "one of the providers failed"),
	HR(MAPI_E_UNKNOWN_CPID, "the code page is not supported"),
	HR(MAPI_E_UNKNOWN_LCID, "the locale is not supported"),

	HR(MAPI_E_END_OF_SESSION, "the session has ended"),
	HR(MAPI_E_UNKNOWN_ENTRYID, "the entry ID is not known"),
	HR(MAPI_E_MISSING_REQUIRED_COLUMN, "a required column is missing"),
	HR(MAPI_W_NO_SERVICE, "a service could not be loaded"),

	HR(MAPI_E_BAD_VALUE, "a property value is invalid"),
	HR(MAPI_E_INVALID_TYPE, "a property type is invalid"),
	HR(MAPI_E_TYPE_NO_SUPPORT, "the property type is not supported"),
	HR(MAPI_E_UNEXPECTED_TYPE, "a property has an unexpected type"),
	HR(MAPI_E_TOO_BIG, "the value is too big"),
	HR(MAPI_E_DECLINE_COPY, "the provider declined to copy"),
	HR(MAPI_E_UNEXPECTED_ID, "a property identifier is unexpected"),
	HR(MAPI_W_ERRORS_RETURNED, "the call succeeded but some parts failed"),

	HR(MAPI_E_UNABLE_TO_COMPLETE, "the operation could not be completed"),
	HR(MAPI_E_TIMEOUT, "the operation timed out"),
	HR(MAPI_E_TABLE_EMPTY, "the table is empty"),
	HR(MAPI_E_TABLE_TOO_BIG, "the table has too many rows"),
	HR(MAPI_E_INVALID_BOOKMARK, "the bookmark is invalid"),
	HR(MAPI_W_POSITION_CHANGED, "the table position has changed"),
	HR(MAPI_W_APPROX_COUNT, "the count is approximate"),

	HR(MAPI_E_WAIT, "the operation must be retried later"),
	HR(MAPI_E_CANCEL, "the operation was cancelled"),
	HR(MAPI_E_NOT_ME, "the provider declined the message"),
	HR(MAPI_W_CANCEL_MESSAGE, "the message was cancelled"),

	HR(MAPI_E_CORRUPT_STORE, "the message store is corrupt"),
	HR(MAPI_E_NOT_IN_QUEUE, "the message is not in the queue"),
	HR(MAPI_E_NO_SUPPRESS, "read reports cannot be suppressed"),
	HR(MAPI_E_COLLISION, "the name is already in use"),
	HR(MAPI_E_NOT_INITIALIZED, "the MAPI subsystem is not initialized"),
	HR(MAPI_E_NON_STANDARD, "a non-standard error occurred"),
	HR(MAPI_E_NO_RECIPIENTS, "the message has no recipients"),
	HR(MAPI_E_SUBMITTED, "the message has already been submitted"),
	HR(MAPI_E_HAS_FOLDERS, "the folder has subfolders"),
	HR(MAPI_E_HAS_MESSAGES, "the folder has messages"),
	HR(MAPI_E_FOLDER_CYCLE, "the folder would contain itself"),
	HR(MAPI_W_PARTIAL_COMPLETION, "the operation was only partly completed"),

	HR(MAPI_E_AMBIGUOUS_RECIP, "the recipient is ambiguous"),
};

/* The COM spellings of codes that hr_table names the MAPI way; accepted
 * by hr_from_name only. */
static const struct hr_entry hr_aliases[] = {
	HR(E_FAIL, NULL),
	HR(E_NOINTERFACE, NULL),
	HR(E_OUTOFMEMORY, NULL),
	HR(E_INVALIDARG, NULL),
	HR(E_ACCESSDENIED, NULL),
	HR(SUCCESS_SUCCESS, NULL),
};

#undef HR

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* About seventy codes, scanned linearly: cheaper than keeping a sorted
 * table in step with mapicode.h, and far off any hot path. */
static const struct hr_entry *
hr_lookup(HRESULT hr)
{
	for (size_t i = 0; i < NITEMS(hr_table); i++)
		if (hr_table[i].hr == hr)
			return &hr_table[i];
	return NULL;
}

const char *
hr_name(HRESULT hr)
{
	const struct hr_entry *e = hr_lookup(hr);

	return e != NULL ? e->name : NULL;
}

const char *
hr_describe(HRESULT hr)
{
	static _Thread_local char unknown[sizeof("unknown warning 0x12345678")];
	const struct hr_entry *e;

	if ((e = hr_lookup(hr)) != NULL)
		return e->text;
	snprintf(unknown, sizeof(unknown), "unknown %s 0x%08X",
		 FAILED(hr) ? "error" : "warning", (unsigned)hr);
	return unknown;
}

bool
hr_from_name(const char *name, HRESULT *hr)
{
	const struct hr_entry *tabs[] = { hr_table, hr_aliases };
	const size_t lens[] = { NITEMS(hr_table), NITEMS(hr_aliases) };

	if (name == NULL)
		return false;
	for (size_t t = 0; t < NITEMS(tabs); t++)
		for (size_t i = 0; i < lens[t]; i++)
			if (strcmp(tabs[t][i].name, name) == 0) {
				*hr = tabs[t][i].hr;
				return true;
			}
	return false;
}

const char *
mapispool_strerror(HRESULT hr)
{
	return hr_describe(hr);
}

const char *
mapispool_hr_name(HRESULT hr)
{
	return hr_name(hr);
}
