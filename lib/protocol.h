/*
 * protocol.h — the control protocol shared by mapispoold and libmapispool:
 * framing, the names of operations and fields, and the codecs of the
 * compound values (tag arrays, rows, sort orders, flags).  doc/protocol.md
 * describes the protocol for people; this header is its one definition in C.
 *
 * One JSON object per line.  Readers ignore members they do not know;
 * members are added, never renamed.
 */
#ifndef MAPISPOOL_PROTOCOL_H
#define MAPISPOOL_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <mapispool/mapidefs.h>
#include <mapispool/mapicode.h>

#define PROTO_VERSION 1

/* Nesting allowed in one request (json-c tokener depth). */
#define PROTO_MAX_DEPTH 64
/* Columns, props or sort keys in one request. */
#define PROTO_MAX_TAGS 256

/* Events (no "id") */
#define PROTO_EV_HELLO "hello"
#define PROTO_EV_TABLE "table.notification"
#define PROTO_EV_FLUSH_PROGRESS "flush.progress"
#define PROTO_EV_FLUSH_DONE "flush.done"
#define PROTO_EV_UI_PROMPT "ui.prompt"

/* Operations */
#define PROTO_OP_LOGON "logon"
#define PROTO_OP_STATUS_QUERY "status.query"
#define PROTO_OP_STATUS_GET_PROPS "status.get_props"
#define PROTO_OP_STATUS_FLUSH_QUEUES "status.flush_queues"
#define PROTO_OP_STATUS_VALIDATE_STATE "status.validate_state"
#define PROTO_OP_MESSAGE_SUBMIT "message.submit"
#define PROTO_OP_QUEUE_LIST "queue.list"
#define PROTO_OP_QUEUE_HOLD "queue.hold"
#define PROTO_OP_QUEUE_RELEASE "queue.release"
#define PROTO_OP_QUEUE_REMOVE "queue.remove"
#define PROTO_OP_QUEUE_FLUSH "queue.flush"
#define PROTO_OP_STATUS_CHANGE_PASSWORD "status.change_password"
#define PROTO_OP_UI_REPLY "ui.reply"
#define PROTO_OP_ADVISE "advise"
#define PROTO_OP_UNADVISE "unadvise"

/* Parse one line (without its '\n') into a JSON object.  Returns NULL and
 * a message in err when it is not valid UTF-8 JSON, is nested deeper than
 * PROTO_MAX_DEPTH, has trailing bytes, or is not an object. */
json_object *proto_parse_line(const char *line, size_t len, char *err, size_t errlen);

/* The same with a tokener kept by the caller (from proto_tokener_new,
 * freed with json_tokener_free) and reset for each line, instead of one
 * allocated per line: for a server reading many lines.  tok NULL: as
 * proto_parse_line. */
json_tokener *proto_tokener_new(void);
json_object *proto_parse_line_tok(json_tokener *tok, const char *line, size_t len,
				  char *err, size_t errlen);

/* The compact one-line text of j (no '\n'), owned by j. */
const char *proto_to_string(json_object *j, size_t *len);

/* Typed member access for request decoding.  Each returns false with a
 * message in err ("field \"max_rows\" must be a number") when the member
 * is present with the wrong type, or absent and required.  An absent
 * optional member leaves *out untouched and returns true. */
bool proto_get_string(json_object *o, const char *key, bool required, const char **out,
		      char *err, size_t errlen);
bool proto_get_int64(json_object *o, const char *key, bool required, int64_t *out,
		     char *err, size_t errlen);
bool proto_get_array(json_object *o, const char *key, bool required, json_object **out,
		     char *err, size_t errlen);
bool proto_get_object(json_object *o, const char *key, bool required, json_object **out,
		      char *err, size_t errlen);

/* ["PR_ENTRYID", "0x3E030003", 1040384003, ...] <-> SPropTagArray
 * (allocated with MAPIAllocateBuffer).  Unknown names and more than
 * PROTO_MAX_TAGS entries are MAPI_E_INVALID_PARAMETER. */
HRESULT proto_tags_from_json(json_object *arr, LPSPropTagArray *out, char *err,
			     size_t errlen);
json_object *proto_tags_to_json(const SPropTagArray *tags);

/* A row: {"PR_ENTRYID":"0a1b..","PR_RESOURCE_TYPE":37}, keyed by the
 * canonical name of each value's tag, in order. */
json_object *proto_row_to_json(const SPropValue *props, ULONG n);

/* Decode a row for the columns cols: one SPropValue per column, in column
 * order, in one MAPIAllocateBuffer block.  A column the row lacks, or with
 * {"error":...}, becomes PT_ERROR (MAPI_E_NOT_FOUND or the error named). */
HRESULT proto_row_from_json(json_object *row, const SPropTagArray *cols,
			    LPSPropValue *out, char *err, size_t errlen);

/* [{"tag":"PR_DISPLAY_NAME","order":"ascend"|"descend"}, ...] <->
 * SSortOrderSet (MAPIAllocateBuffer). */
HRESULT proto_sort_from_json(json_object *arr, LPSSortOrderSet *out, char *err,
			     size_t errlen);
json_object *proto_sort_to_json(const SSortOrderSet *sort);

/* Flags: a number, or a list of names from table (terminated by a NULL
 * name).  A name not in the table is MAPI_E_UNKNOWN_FLAGS; bits outside
 * the table's are left for the caller to reject. */
struct proto_flag {
	const char *name;
	ULONG value;
};
HRESULT proto_flags_from_json(json_object *j, const struct proto_flag *table, ULONG *out,
			      char *err, size_t errlen);

/* Base64 (RFC 4648, with padding; blanks and newlines between groups are
 * skipped) into a malloc'd buffer; NULL on a bad character or length, or
 * if the result would pass max bytes. */
unsigned char *proto_base64_decode(const char *in, size_t inlen, size_t max, size_t *outlen);

/* Entry IDs on the wire: lowercase hex. */
json_object *proto_bin_to_json(const BYTE *b, size_t n);
/* Decodes into a MAPIAllocateBuffer block; false when not even-length hex
 * or longer than maxlen bytes. */
bool proto_bin_from_json(json_object *j, size_t maxlen, BYTE **out, ULONG *n);

#endif
