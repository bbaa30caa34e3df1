/*
 * proptag.h — property tags by name: the table of MAPI's canonical names
 * that both the daemon and the library use on the wire.
 *
 * The canonical name of a string tag of type PT_STRING8 is the plain name
 * ("PR_DISPLAY_NAME"); of type PT_UNICODE, the name with "_W".  Parsing
 * also accepts the "_A" spelling and numeric tags ("0x3001001E" or a
 * decimal number).  A tag without a name is written "0x3001001E".
 */
#ifndef MAPISPOOL_PROPTAG_H
#define MAPISPOOL_PROPTAG_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <mapispool/mapidefs.h>

/* Long enough for any name the table holds and for "0x%08X". */
#define PROPTAG_NAME_MAX 64

/* Canonical name of tag, or NULL when the table does not know it. */
const char *proptag_name(ULONG tag);

/* Canonical name, or "0x%08X"; returns buf. */
const char *proptag_format(ULONG tag, char buf[PROPTAG_NAME_MAX]);

/* A name or numeric tag; false if it is neither a known name nor a
 * well-formed number. */
bool proptag_parse(const char *s, ULONG *tag);

/* Same, from a JSON string or number. */
bool proptag_from_json(json_object *j, ULONG *tag);

/* True if both tags name the same property, counting PT_STRING8 and
 * PT_UNICODE as one type (values are UTF-8 on the wire either way). */
bool proptag_same(ULONG a, ULONG b);

/* Iterate the table: returns the i-th known tag, false past the end. */
bool proptag_at(size_t i, ULONG *tag, const char **name);

#endif
