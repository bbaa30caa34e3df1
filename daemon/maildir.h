/*
 * maildir.h — writing into and reading from Maildirs, the store's format
 * and the maildir transport's.  Blocking calls: run them on the worker
 * pool, never on the loop.
 */
#ifndef MAPISPOOLD_MAILDIR_H
#define MAPISPOOLD_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

/* Create dir/{tmp,new,cur} as needed. */
int maildir_prepare(const char *dir, char *err, size_t errlen);

/* Deliver a message durably: written to dir/tmp under a unique name,
 * fsync'd, renamed into dir/new, dir/new fsync'd.  The bytes are data (len)
 * or, when data is NULL, a copy of the file src_path from byte src_offset
 * on.  The name goes to
 * name_out unless it is NULL.  On failure nothing is left in tmp/ or new/
 * and err says why; errno is kept (ENOSPC...).  Safe on several threads. */
int maildir_deliver(const char *dir, const void *data, size_t len, const char *src_path,
		    uint64_t src_offset, char *name_out, size_t name_len, char *err, size_t errlen);

/* The names of the regular files in dir/new (dotfiles aside), sorted, at
 * most max: the oldest, as names begin with the delivery time (malloc'd
 * array of malloc'd strings; *n set).  NULL and err on failure. */
char **maildir_list_new(const char *dir, size_t max, size_t *n, char *err, size_t errlen);

void maildir_free_list(char **names, size_t n);

#endif
