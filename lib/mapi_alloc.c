/*
 * mapi_alloc.c — MAPI's memory rules: MAPIAllocateBuffer makes a root
 * block, MAPIAllocateMore chains more blocks to it, and one MAPIFreeBuffer
 * of the root frees the whole chain.
 *
 * Every block is preceded by a small header: a magic number (to catch a
 * pointer that did not come from here) and the links of the chain.  The
 * root keeps a singly linked list of its More blocks; a More block points
 * back at its root, so that a More block may serve as the parent of another
 * (MAPI requires the root; we follow the link instead of failing).
 *
 * There is no global state: a chain is an object like any other, safe to
 * use from one thread at a time.  Memory is not zeroed, as in MAPI.
 */
#include <config.h>

#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <mapispool/mapix.h>

#define ALLOC_MAGIC_ROOT 0x4d415042u	/* "MAPB" */
#define ALLOC_MAGIC_MORE 0x4d41504du	/* "MAPM" */

struct alloc_link {
	uint32_t magic;
	union alloc_hdr *root;	/* the MAPIAllocateBuffer block; NULL in the root */
	union alloc_hdr *next;	/* next More block of the chain */
};

/* The union pads the header to a multiple of max_align_t's alignment, so
 * the caller's block that follows it is aligned for any type, as malloc's
 * own result is. */
union alloc_hdr {
	struct alloc_link l;
	max_align_t align;
};

static_assert(sizeof(union alloc_hdr) % alignof(max_align_t) == 0,
	      "block header must keep max_align_t alignment");

static union alloc_hdr *
alloc_block(ULONG cb, uint32_t magic)
{
	union alloc_hdr *h;
	size_t total;

	if (__builtin_add_overflow(sizeof(*h), (size_t)cb, &total))
		return NULL;
	if ((h = malloc(total)) == NULL)
		return NULL;
	h->l.magic = magic;
	h->l.root = NULL;
	h->l.next = NULL;
	return h;
}

static union alloc_hdr *
hdr_of(LPVOID p)
{
	return (union alloc_hdr *)p - 1;
}

SCODE
MAPIAllocateBuffer(ULONG cbSize, LPVOID *lppBuffer)
{
	union alloc_hdr *h;

	if (lppBuffer == NULL)
		return MAPI_E_INVALID_PARAMETER;
	*lppBuffer = NULL;
	if ((h = alloc_block(cbSize, ALLOC_MAGIC_ROOT)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	*lppBuffer = h + 1;
	return S_OK;
}

SCODE
MAPIAllocateMore(ULONG cbSize, LPVOID lpObject, LPVOID *lppBuffer)
{
	union alloc_hdr *parent, *root, *h;

	if (lppBuffer == NULL)
		return MAPI_E_INVALID_PARAMETER;
	*lppBuffer = NULL;
	if (lpObject == NULL)
		return MAPI_E_INVALID_PARAMETER;

	parent = hdr_of(lpObject);
	assert(parent->l.magic == ALLOC_MAGIC_ROOT || parent->l.magic == ALLOC_MAGIC_MORE);
	if (parent->l.magic == ALLOC_MAGIC_ROOT)
		root = parent;
	else if (parent->l.magic == ALLOC_MAGIC_MORE)
		root = parent->l.root;
	else
		return MAPI_E_INVALID_PARAMETER;

	if ((h = alloc_block(cbSize, ALLOC_MAGIC_MORE)) == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	/* Push at the front: O(1), and the order of freeing does not matter. */
	h->l.root = root;
	h->l.next = root->l.next;
	root->l.next = h;
	*lppBuffer = h + 1;
	return S_OK;
}

ULONG
MAPIFreeBuffer(LPVOID lpBuffer)
{
	union alloc_hdr *h, *next;

	if (lpBuffer == NULL)
		return S_OK;

	h = hdr_of(lpBuffer);
	/* Only a root may be freed: a More block lives as long as its root. */
	assert(h->l.magic == ALLOC_MAGIC_ROOT);
	if (h->l.magic != ALLOC_MAGIC_ROOT)
		return (ULONG)MAPI_E_INVALID_PARAMETER;

	for (; h != NULL; h = next) {
		next = h->l.next;
		free(h);
	}
	return S_OK;
}
