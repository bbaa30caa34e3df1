/*
 * hresult.h — names of HRESULTs, both ways (the wire carries "hr_name").
 * mapispool_strerror and mapispool_hr_name (mapispool.h) are built on it.
 */
#ifndef MAPISPOOL_HRESULT_H
#define MAPISPOOL_HRESULT_H

#include <stdbool.h>
#include <mapispool/mapicode.h>

/* "MAPI_E_NOT_FOUND", or NULL. */
const char *hr_name(HRESULT hr);

/* A sentence for hr; never NULL. */
const char *hr_describe(HRESULT hr);

/* The HRESULT called name; false if unknown. */
bool hr_from_name(const char *name, HRESULT *hr);

#endif
