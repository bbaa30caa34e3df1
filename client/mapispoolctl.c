/*
 * mapispoolctl — control utility for mapispoold.
 *
 * A client of libmapispool like any other: every command is made of MAPI
 * calls on a session with the daemon.  Commands live in one table
 * (ctl_cmds[]); main parses the global options, finds the command, parses
 * its own options with the table's getopt_long description and checks the
 * number of operands before calling its handler.
 *
 * Exit status follows sysexits(3), so scripts can tell a daemon that is
 * not running (EX_UNAVAILABLE) from a refused request (EX_NOPERM) or a
 * misuse (EX_USAGE).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <json-c/json.h>
#include <mapispool/mapispool.h>

#include "proptag.h"
#include "propval.h"

#define CTL_NAME "mapispoolctl"

/* What the global options asked for, shared by every command. */
struct ctl {
	const char *socket;	/* --socket, or NULL: the library's default */
	bool json;		/* --json, before or after the command */
};

/* The options and operands given after a command's name.  An option is
 * recorded under its getopt_long val: its argument, or "" for a flag. */
struct ctl_args {
	const char *opt[UCHAR_MAX + 1];
	int argc;
	char **argv;
};

struct ctl_cmd {
	const char *name;
	const char *usage;	/* what follows the name in a usage line */
	const char *help;	/* one line for --help */
	const char *optstring;	/* short options, for getopt_long */
	const struct option *options;
	int min_args, max_args;	/* operands after the options */
	int (*exec)(const struct ctl *, const struct ctl_args *);
};

/* In every command's options, so that a script may append --json to any
 * command line; ctl_main folds it into struct ctl. */
#define CTL_OPTION_JSON { "json", no_argument, NULL, 'j' }

static int cmd_status(const struct ctl *, const struct ctl_args *);
static int cmd_flush(const struct ctl *, const struct ctl_args *);
static int cmd_submit(const struct ctl *, const struct ctl_args *);
static int cmd_queue(const struct ctl *, const struct ctl_args *);
static int cmd_validate(const struct ctl *, const struct ctl_args *);
static int cmd_offline(const struct ctl *, const struct ctl_args *);
static int cmd_online(const struct ctl *, const struct ctl_args *);
static int cmd_watch(const struct ctl *, const struct ctl_args *);
static int cmd_password(const struct ctl *, const struct ctl_args *);

/* For the commands whose only option is --json. */
static const struct option status_options[] = {
	CTL_OPTION_JSON,
	{ NULL, 0, NULL, 0 },
};

/* Long options only: their vals are just where ctl_args keeps them. */
static const struct option flush_options[] = {
	{ "upload", no_argument, NULL, 'U' },
	{ "download", no_argument, NULL, 'D' },
	{ "force", no_argument, NULL, 'F' },
	{ "no-ui", no_argument, NULL, 'N' },
	{ "async", no_argument, NULL, 'A' },
	{ "wait", no_argument, NULL, 'W' },
	{ "each-transport", no_argument, NULL, 'E' },
	{ "transport", required_argument, NULL, 'T' },
	CTL_OPTION_JSON,
	{ NULL, 0, NULL, 0 },
};

/* -f and -t as sendmail(8) has them. */
static const struct option submit_options[] = {
	{ "from", required_argument, NULL, 'f' },
	{ "addrtype", required_argument, NULL, 'a' },
	CTL_OPTION_JSON,
	{ NULL, 0, NULL, 0 },
};

static const struct option queue_options[] = {
	{ "inbound", no_argument, NULL, 'I' },
	{ "all", no_argument, NULL, 'A' },
	{ "transport", required_argument, NULL, 'T' },
	{ "domain", required_argument, NULL, 'D' },
	CTL_OPTION_JSON,
	{ NULL, 0, NULL, 0 },
};

static const struct option validate_options[] = {
	{ "connect", no_argument, NULL, 'C' },
	{ "disconnect", no_argument, NULL, 'D' },
	{ "config-changed", no_argument, NULL, 'G' },
	CTL_OPTION_JSON,
	{ NULL, 0, NULL, 0 },
};

static const struct ctl_cmd ctl_cmds[] = {
	{
		.name = "status",
		.usage = "[--json]",
		.help = "show the status table: subsystem, spooler, store, transports",
		.optstring = "",
		.options = status_options,
		.min_args = 0,
		.max_args = 0,
		.exec = cmd_status,
	},
	{
		.name = "flush",
		.usage = "[--upload] [--download] [--force] [--no-ui] [--async [--wait]]"
			 " [--each-transport | --transport NAME] [--json]",
		.help = "send and receive now: FlushQueues on the spooler, or per transport",
		.optstring = "",
		.options = flush_options,
		.min_args = 0,
		.max_args = 0,
		.exec = cmd_flush,
	},
	{
		.name = "submit",
		.usage = "[-f SENDER] [-t] [--addrtype TYPE] [--json] [RCPT...] < MESSAGE",
		.help = "queue the message on stdin for the recipients (-t: its To, Cc, Bcc)",
		.optstring = "f:t",
		.options = submit_options,
		.min_args = 0,
		.max_args = INT_MAX,
		.exec = cmd_submit,
	},
	{
		.name = "queue",
		.usage = "[list] [--inbound | --all] [--json] | hold|release|flush [ID] "
			 "[--transport NAME] [--domain DOMAIN] | remove ID",
		.help = "list the queued messages (like mailq); hold, release or flush (try now) "
			"messages by ID, transport or domain; remove one",
		.optstring = "",
		.options = queue_options,
		.min_args = 0,
		.max_args = 2,
		.exec = cmd_queue,
	},
	{
		.name = "validate",
		.usage = "NAME [--connect | --disconnect] [--config-changed] [--json]",
		.help = "ValidateState on a transport, or on spooler, subsystem or store",
		.optstring = "",
		.options = validate_options,
		.min_args = 1,
		.max_args = 1,
		.exec = cmd_validate,
	},
	{
		.name = "offline",
		.usage = "[NAME] [--json]",
		.help = "take a transport offline, or every transport with no NAME",
		.optstring = "",
		.options = status_options,
		.min_args = 0,
		.max_args = 1,
		.exec = cmd_offline,
	},
	{
		.name = "online",
		.usage = "[NAME] [--json]",
		.help = "bring a transport back online, or every transport with no NAME",
		.optstring = "",
		.options = status_options,
		.min_args = 0,
		.max_args = 1,
		.exec = cmd_online,
	},
	{
		.name = "watch",
		.usage = "[--json]",
		.help = "print the status table's changes as they happen, until interrupted",
		.optstring = "",
		.options = status_options,
		.min_args = 0,
		.max_args = 0,
		.exec = cmd_watch,
	},
	{
		.name = "password",
		.usage = "NAME [--json]",
		.help = "change a transport's password: asked on the terminal, or two lines on stdin",
		.optstring = "",
		.options = status_options,
		.min_args = 1,
		.max_args = 1,
		.exec = cmd_password,
	},
};

#define CTL_NCMDS (sizeof ctl_cmds / sizeof ctl_cmds[0])

static const struct option global_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void ctl_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs(CTL_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The one-line hint after a usage error: the command's own usage when
 * the command is known, the global one otherwise. */
static int
ctl_usage_error(const struct ctl_cmd *cmd)
{
	if (cmd != NULL)
		fprintf(stderr, "usage: " CTL_NAME " %s %s\n", cmd->name, cmd->usage);
	else
		fputs("usage: " CTL_NAME " [--socket PATH] [--json] COMMAND [ARGS]"
		      " (see " CTL_NAME " --help)\n", stderr);
	return EX_USAGE;
}

static void
ctl_help(void)
{
	size_t i;

	printf("usage: %s [--socket PATH] [--json] [--help] [--version] COMMAND [ARGS]\n"
	       "\n"
	       "Options:\n"
	       "  --socket PATH  the control socket of mapispoold\n"
	       "  --json         write results as JSON, for scripts\n"
	       "  --help         show this help\n"
	       "  --version      show the version\n"
	       "\n"
	       "Commands:\n", CTL_NAME);
	for (i = 0; i < CTL_NCMDS; i++)
		printf("  %s %s\n      %s\n", ctl_cmds[i].name, ctl_cmds[i].usage,
		       ctl_cmds[i].help);
	printf("\nSee mapispoolctl(1).\n");
}

static const struct ctl_cmd *
ctl_find(const char *name)
{
	size_t i;

	for (i = 0; i < CTL_NCMDS; i++) {
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	}
	return NULL;
}

/* The option getopt_long just rejected (c is what it returned), as the
 * user typed it.  optopt is 0 for an unknown long option, and the long
 * option's val when its argument is missing, which is then the last word. */
static const char *
ctl_bad_option(int c, char **argv)
{
	static char shortopt[3];
	const char *word = argv[optind - 1];

	if (optopt == 0 || (c == ':' && strncmp(word, "--", 2) == 0))
		return word;
	snprintf(shortopt, sizeof shortopt, "-%c", optopt);
	return shortopt;
}

/* Parse argv (argv[0] is the command's name) against cmd's options into
 * args, and check the number of operands. */
static int
ctl_parse_args(const struct ctl_cmd *cmd, int argc, char **argv, struct ctl_args *args)
{
	char optstring[64];
	int c;

	memset(args, 0, sizeof *args);
	/* A leading ':' tells a missing argument apart from an unknown option. */
	snprintf(optstring, sizeof optstring, ":%s", cmd->optstring);
	optind = 0;
	while ((c = getopt_long(argc, argv, optstring, cmd->options, NULL)) != -1) {
		switch (c) {
		case '?':
			ctl_warnx("%s: unknown option %s", cmd->name, ctl_bad_option(c, argv));
			return ctl_usage_error(cmd);
		case ':':
			ctl_warnx("%s: option %s needs an argument", cmd->name,
				  ctl_bad_option(c, argv));
			return ctl_usage_error(cmd);
		default:
			args->opt[(unsigned char)c] = optarg != NULL ? optarg : "";
			break;
		}
	}
	args->argc = argc - optind;
	args->argv = argv + optind;
	if (args->argc < cmd->min_args) {
		ctl_warnx("%s: too few arguments", cmd->name);
		return ctl_usage_error(cmd);
	}
	if (args->argc > cmd->max_args) {
		ctl_warnx("%s: unexpected argument \"%s\"", cmd->name,
			  args->argv[cmd->max_args]);
		return ctl_usage_error(cmd);
	}
	return EX_OK;
}

/* Report a failed MAPI call and choose the exit status for its class.
 * The library's last error has the details (what the daemon said, or
 * which system call failed), so it is read before anything else runs. */
static int
ctl_mapi_error(HRESULT hr, const char *what)
{
	const char *detail = mapispool_last_error();
	const char *name = mapispool_hr_name(hr);

	if (detail == NULL || *detail == '\0')
		detail = mapispool_strerror(hr);
	if (name != NULL)
		ctl_warnx("%s: %s (%s)", what, detail, name);
	else
		ctl_warnx("%s: %s (0x%08X)", what, detail, (unsigned)hr);

	switch (hr) {
	case MAPI_E_NETWORK_ERROR:
	case MAPI_E_END_OF_SESSION:	/* the daemon went away mid-way */
		return EX_UNAVAILABLE;
	case MAPI_E_VERSION:
		return EX_PROTOCOL;
	case MAPI_E_NO_ACCESS:
		return EX_NOPERM;
	case MAPI_E_NOT_ENOUGH_MEMORY:
		return EX_OSERR;
	case MAPI_E_NOT_FOUND:		/* no such message in the queue */
	case MAPI_E_TOO_BIG:		/* past max_message_size */
		return EX_DATAERR;
	case MAPI_E_BUSY:		/* being sent right now */
	case MAPI_E_NOT_ENOUGH_DISK:
		return EX_TEMPFAIL;
	default:
		return EX_SOFTWARE;
	}
}

/* Log on to the daemon.  A daemon that does not answer is the commonest
 * failure by far, so it gets a message that says how to fix it. */
static int
ctl_logon(const struct ctl *ctl, LPMAPISESSION *session)
{
	char path[PATH_MAX];
	HRESULT hr;

	hr = mapispool_logon(ctl->socket, NULL, MAPI_EXTENDED | MAPI_NO_MAIL, session);
	if (hr == MAPI_E_NETWORK_ERROR) {
		if (ctl->socket != NULL)
			snprintf(path, sizeof path, "%s", ctl->socket);
		else
			mapispool_default_socket(path, sizeof path);
		ctl_warnx("mapispoold is not running (no answer on %s): start it with"
			  " `mapispoold` or `systemctl start mapispoold`, or give --socket",
			  path);
		return EX_UNAVAILABLE;
	}
	if (FAILED(hr))
		return ctl_mapi_error(hr, "logon");
	return EX_OK;
}

static void
ctl_logoff(LPMAPISESSION session)
{
	IMAPISession_Logoff(session, 0, 0, 0);
	IMAPISession_Release(session);
}

/* ---- status ---- */

static const SizedSPropTagArray(12, status_columns) = {
	12,
	{
		PR_DISPLAY_NAME,
		PR_RESOURCE_TYPE,
		PR_PROVIDER_DLL_NAME,
		PR_STATUS_CODE,
		PR_STATUS_STRING,
		PR_RESOURCE_METHODS,
		PR_RESOURCE_FLAGS,
		PR_ENTRYID,
		PR_IDENTITY_DISPLAY,
		PR_REMOTE_PROGRESS,
		PR_REMOTE_PROGRESS_TEXT,
		PR_MAPISPOOL_NEEDS_UI,
	},
};

/* Indexes into status_columns, for the human table. */
enum {
	COL_DISPLAY_NAME,
	COL_RESOURCE_TYPE,
	COL_PROVIDER_DLL_NAME,
	COL_STATUS_CODE,
	COL_STATUS_STRING,
	COL_RESOURCE_METHODS,
	COL_NEEDS_UI = 11,
};

/* The rows of a table, read batch by batch: MAPI lets QueryRows return
 * fewer rows than asked for, so only an empty batch means the end. */
struct status_rows {
	LPSRowSet *sets;
	size_t nsets;
	LPSRow *rows;		/* every row of every set, in order */
	size_t n;
};

#define STATUS_BATCH 256

static void
status_rows_free(struct status_rows *sr)
{
	size_t i;

	for (i = 0; i < sr->nsets; i++)
		FreeProws(sr->sets[i]);
	free(sr->sets);
	free(sr->rows);
}

static HRESULT
status_rows_add(struct status_rows *sr, LPSRowSet set)
{
	LPSRowSet *sets;
	LPSRow *rows;
	ULONG i;

	sets = reallocarray(sr->sets, sr->nsets + 1, sizeof *sets);
	if (sets == NULL) {
		FreeProws(set);
		return MAPI_E_NOT_ENOUGH_MEMORY;
	}
	sr->sets = sets;
	sr->sets[sr->nsets++] = set;
	rows = reallocarray(sr->rows, sr->n + set->cRows, sizeof *rows);
	if (rows == NULL)
		return MAPI_E_NOT_ENOUGH_MEMORY;
	sr->rows = rows;
	for (i = 0; i < set->cRows; i++)
		sr->rows[sr->n++] = &set->aRow[i];
	return S_OK;
}

static HRESULT
status_read(LPMAPITABLE table, struct status_rows *sr)
{
	LPSRowSet set;
	HRESULT hr;

	for (;;) {
		set = NULL;
		hr = IMAPITable_QueryRows(table, STATUS_BATCH, 0, &set);
		if (FAILED(hr))
			return hr;
		if (set->cRows == 0) {
			FreeProws(set);
			return S_OK;
		}
		if (FAILED(hr = status_rows_add(sr, set)))
			return hr;
	}
}

/* {"rows":[{"PR_DISPLAY_NAME":"MAPI Spooler",...},...]}: each row keyed by
 * the canonical names of the columns asked for, in column order, with
 * values in the protocol's JSON forms (a missing property is
 * {"error":"MAPI_E_NOT_FOUND"}).  Keys come from the columns, not from the
 * values, since a missing value's tag has type PT_ERROR. */
static int
status_print_json(const struct status_rows *sr)
{
	json_object *top, *arr, *row, *val;
	char name[PROPTAG_NAME_MAX];
	size_t i;
	ULONG c;

	top = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(top, "rows", arr);
	for (i = 0; i < sr->n; i++) {
		row = json_object_new_object();
		for (c = 0; c < sr->rows[i]->cValues && c < status_columns.cValues; c++) {
			val = propval_to_json(&sr->rows[i]->lpProps[c]);
			json_object_object_add(row,
			    proptag_format(status_columns.aulPropTag[c], name), val);
		}
		json_object_array_add(arr, row);
	}
	puts(json_object_to_json_string_ext(top,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(top);
	return EX_OK;
}

/* Words for bits, in the order they are printed. */
struct bit_name {
	ULONG bit;
	const char *name;
};

static const struct bit_name status_code_names[] = {
	{ STATUS_AVAILABLE, "available" },
	{ STATUS_OFFLINE, "offline" },
	{ STATUS_FAILURE, "failure" },
	{ STATUS_INBOUND_ENABLED, "inbound-enabled" },
	{ STATUS_INBOUND_ACTIVE, "inbound-active" },
	{ STATUS_INBOUND_FLUSH, "inbound-flush" },
	{ STATUS_OUTBOUND_ENABLED, "outbound-enabled" },
	{ STATUS_OUTBOUND_ACTIVE, "outbound-active" },
	{ STATUS_OUTBOUND_FLUSH, "outbound-flush" },
	{ STATUS_REMOTE_ACCESS, "remote-access" },
	{ 0, NULL },
};

static const struct bit_name method_names[] = {
	{ STATUS_VALIDATE_STATE, "validate" },
	{ STATUS_FLUSH_QUEUES, "flush" },
	{ STATUS_CHANGE_PASSWORD, "password" },
	{ STATUS_SETTINGS_DIALOG, "settings" },
	{ 0, NULL },
};

/* "available,inbound-enabled", "-" for none; bits without a word are
 * shown as one hex number at the end rather than dropped. */
static char *
bits_format(ULONG v, const struct bit_name *names)
{
	char buf[256], *p = buf, *end = buf + sizeof buf;
	const struct bit_name *bn;

	*p = '\0';
	for (bn = names; bn->name != NULL; bn++) {
		if (v & bn->bit) {
			p += snprintf(p, end - p, "%s%s", p == buf ? "" : ",", bn->name);
			v &= ~bn->bit;
		}
	}
	if (v != 0)
		p += snprintf(p, end - p, "%s0x%X", p == buf ? "" : ",", (unsigned)v);
	return strdup(p == buf ? "-" : buf);
}

static const char *
resource_type_name(ULONG type)
{
	switch (type) {
	case MAPI_SUBSYSTEM:
		return "subsystem";
	case MAPI_SPOOLER:
		return "spooler";
	case MAPI_STORE_PROVIDER:
		return "store";
	case MAPI_TRANSPORT_PROVIDER:
		return "transport";
	default:
		return NULL;
	}
}

/* One cell of the human table: control characters (a status string may
 * carry a server's multi-line answer) become spaces so that a row stays
 * one line. */
static char *
cell_string(const char *s)
{
	char *out, *p;

	if (s == NULL || *s == '\0')
		return strdup("-");
	if ((out = strdup(s)) == NULL)
		return NULL;
	for (p = out; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return out;
}

static char *
cell_from_prop(const SPropValue *pv, int col)
{
	char num[32];
	const char *type;

	if (PROP_TYPE(pv->ulPropTag) == PT_ERROR)
		return strdup("-");
	switch (col) {
	case COL_RESOURCE_TYPE:
		if ((type = resource_type_name(pv->Value.ul)) != NULL)
			return strdup(type);
		snprintf(num, sizeof num, "%lu", (unsigned long)pv->Value.ul);
		return strdup(num);
	case COL_STATUS_CODE:
		return bits_format(pv->Value.ul, status_code_names);
	case COL_RESOURCE_METHODS:
		return bits_format(pv->Value.ul, method_names);
	default:
		return cell_string(pv->Value.lpszA);
	}
}

/* The STATUS cell: the status bits, and "prompt" when the object would
 * have to ask a person for a password (PR_MAPISPOOL_NEEDS_UI, which only
 * transports have: PT_ERROR on the other rows). */
static char *
status_cell(const SRow *row)
{
	bool prompt = row->cValues > COL_NEEDS_UI &&
		      PROP_TYPE(row->lpProps[COL_NEEDS_UI].ulPropTag) == PT_BOOLEAN &&
		      row->lpProps[COL_NEEDS_UI].Value.b;
	char *bits, *out;

	bits = cell_from_prop(&row->lpProps[COL_STATUS_CODE], COL_STATUS_CODE);
	if (bits == NULL || !prompt)
		return bits;
	if (strcmp(bits, "-") == 0)
		out = strdup("prompt");
	else if (asprintf(&out, "%s,prompt", bits) == -1)
		out = NULL;
	free(bits);
	return out;
}

/* Columns on screen, each from one column of status_columns. */
static const struct {
	const char *title;
	int col;
} status_view[] = {
	{ "NAME", COL_DISPLAY_NAME },
	{ "TYPE", COL_RESOURCE_TYPE },
	{ "PROVIDER", COL_PROVIDER_DLL_NAME },
	{ "STATUS", COL_STATUS_CODE },
	{ "METHODS", COL_RESOURCE_METHODS },
	{ "DETAIL", COL_STATUS_STRING },
};

#define STATUS_NVIEW (sizeof status_view / sizeof status_view[0])

/* Columns on a terminal: characters, not bytes, where the locale tells
 * them apart; bytes when the text is not valid in it. */
static size_t
text_width(const char *s)
{
	mbstate_t ps;
	size_t n, width = 0;
	wchar_t wc;
	int w;

	memset(&ps, 0, sizeof ps);
	while (*s != '\0') {
		n = mbrtowc(&wc, s, MB_CUR_MAX, &ps);
		if (n == (size_t)-1 || n == (size_t)-2)
			return width + strlen(s);
		w = wcwidth(wc);
		width += w < 0 ? 1 : (size_t)w;
		s += n;
	}
	return width;
}

static void
print_row(char *const *cells, const size_t *widths, size_t ncols)
{
	size_t v, pad;

	for (v = 0; v < ncols; v++) {
		fputs(cells[v], stdout);
		if (v + 1 == ncols)
			break;
		for (pad = text_width(cells[v]); pad < widths[v] + 2; pad++)
			putchar(' ');
	}
	putchar('\n');
}

/* A human table of nrows rows (the first is the header) of ncols cells,
 * columns separated by at least two spaces, the last one unpadded; the
 * cells are freed.  A NULL cell means memory ran out making it. */
static int
cells_print(char **cells, size_t nrows, size_t ncols)
{
	size_t *widths, i, v, w;
	int rc = EX_OK;

	if ((widths = calloc(ncols, sizeof *widths)) == NULL)
		rc = EX_OSERR;
	for (i = 0; rc == EX_OK && i < nrows * ncols; i++) {
		if (cells[i] == NULL)
			rc = EX_OSERR;
		else if ((w = text_width(cells[i])) > widths[i % ncols])
			widths[i % ncols] = w;
	}
	for (i = 0; rc == EX_OK && i < nrows; i++)
		print_row(&cells[i * ncols], widths, ncols);
	if (rc != EX_OK)
		ctl_warnx("out of memory");
	for (v = 0; v < nrows * ncols; v++)
		free(cells[v]);
	free(widths);
	return rc;
}

/* The human table: a header line, then one line per status object.  Row
 * 0 of cells is the header, so that it counts in the widths like any row. */
static int
status_print_table(const struct status_rows *sr)
{
	size_t ncells, i, v;
	char **cells, **cell;
	int col, rc;

	ncells = (sr->n + 1) * STATUS_NVIEW;
	if ((cells = calloc(ncells, sizeof *cells)) == NULL) {
		ctl_warnx("out of memory");
		return EX_OSERR;
	}
	for (i = 0; i <= sr->n; i++) {
		for (v = 0; v < STATUS_NVIEW; v++) {
			cell = &cells[i * STATUS_NVIEW + v];
			col = status_view[v].col;
			if (i == 0)
				*cell = strdup(status_view[v].title);
			else if (col == COL_STATUS_CODE && (ULONG)col < sr->rows[i - 1]->cValues)
				*cell = status_cell(sr->rows[i - 1]);
			else if ((ULONG)col < sr->rows[i - 1]->cValues)
				*cell = cell_from_prop(&sr->rows[i - 1]->lpProps[col], col);
			else
				*cell = strdup("-");
		}
	}
	rc = cells_print(cells, sr->n + 1, STATUS_NVIEW);
	free(cells);
	return rc;
}

static int
cmd_status(const struct ctl *ctl, const struct ctl_args *args)
{
	struct status_rows sr = { 0 };
	LPMAPISESSION session;
	LPMAPITABLE table = NULL;
	HRESULT hr;
	int rc;

	(void)args;	/* no operands; --json is in ctl */
	if ((rc = ctl_logon(ctl, &session)) != EX_OK)
		return rc;
	hr = IMAPISession_GetStatusTable(session, 0, &table);
	if (SUCCEEDED(hr))
		hr = IMAPITable_SetColumns(table, (LPSPropTagArray)&status_columns, 0);
	if (SUCCEEDED(hr))
		hr = status_read(table, &sr);
	if (FAILED(hr))
		rc = ctl_mapi_error(hr, "reading the status table");
	else if (ctl->json)
		rc = status_print_json(&sr);
	else
		rc = status_print_table(&sr);
	status_rows_free(&sr);
	if (table != NULL)
		IMAPITable_Release(table);
	ctl_logoff(session);
	return rc;
}

/* ---- Finding status objects ---- */

/* The rows of the status table with these columns, all of them or those
 * of one resource type: steps 1 to 4 of the seed's procedures. */
static HRESULT
status_query(LPMAPISESSION session, const SPropTagArray *cols, ULONG type, LPSRowSet *rows)
{
	SPropValue spv = { .ulPropTag = PR_RESOURCE_TYPE, .Value.l = (LONG)type };
	SRestriction sres = { .rt = RES_PROPERTY,
			      .res.resProperty = { RELOP_EQ, PR_RESOURCE_TYPE, &spv } };
	LPMAPITABLE table = NULL;
	HRESULT hr;

	*rows = NULL;
	hr = IMAPISession_GetStatusTable(session, 0, &table);
	if (SUCCEEDED(hr))
		hr = HrQueryAllRows(table, (LPSPropTagArray)cols, type != 0 ? &sres : NULL, NULL, 0,
				    rows);
	if (table != NULL)
		IMAPITable_Release(table);
	return hr;
}

/* Step 5: open the status object whose PR_ENTRYID is eid. */
static HRESULT
status_open_eid(LPMAPISESSION session, const SPropValue *eid, LPMAPISTATUS *status)
{
	ULONG type = 0;

	*status = NULL;
	if (PROP_TYPE(eid->ulPropTag) != PT_BINARY)
		return MAPI_E_NOT_FOUND;
	return IMAPISession_OpenEntry(session, eid->Value.bin.cb, (LPENTRYID)eid->Value.bin.lpb,
				      &IID_IMAPIStatus, MAPI_BEST_ACCESS, &type,
				      (LPUNKNOWN *)status);
}

/* The seed's first procedure, steps 1 to 5: the spooler's status object. */
static int
ctl_open_spooler(LPMAPISESSION session, LPMAPISTATUS *spooler)
{
	static const SizedSPropTagArray(2, cols) = { 2, { PR_ENTRYID, PR_RESOURCE_TYPE } };
	LPSRowSet rows = NULL;
	HRESULT hr;

	hr = status_query(session, (const SPropTagArray *)&cols, MAPI_SPOOLER, &rows);
	if (SUCCEEDED(hr) && rows->cRows == 0)
		hr = MAPI_E_NOT_FOUND;
	if (SUCCEEDED(hr))
		hr = status_open_eid(session, &rows->aRow[0].lpProps[0], spooler);
	FreeProws(rows);
	return FAILED(hr) ? ctl_mapi_error(hr, "opening the spooler's status object") : EX_OK;
}

/* Names for the objects that are not transports, as `validate` takes them. */
static const struct {
	const char *name;
	ULONG type;
} object_names[] = {
	{ "spooler", MAPI_SPOOLER },
	{ "subsystem", MAPI_SUBSYSTEM },
	{ "store", MAPI_STORE_PROVIDER },
};

#define NOBJECT_NAMES (sizeof object_names / sizeof object_names[0])

static bool
row_is_named(const SRow *row, ULONG type, const char *name)
{
	const SPropValue *pv = &row->lpProps[2];

	if (row->lpProps[1].Value.ul != type)
		return false;
	if (type != MAPI_TRANSPORT_PROVIDER)
		return true;
	return PROP_TYPE(pv->ulPropTag) == PT_STRING8 && strcmp(pv->Value.lpszA, name) == 0;
}

/* Open the status object called name: "spooler", "subsystem", "store" or a
 * transport's PR_DISPLAY_NAME (its section name unless display_name says
 * otherwise).  A name that is none of them is the user's error. */
static int
ctl_open_named(LPMAPISESSION session, const char *name, LPMAPISTATUS *status)
{
	static const SizedSPropTagArray(3, cols) = {
		3, { PR_ENTRYID, PR_RESOURCE_TYPE, PR_DISPLAY_NAME }
	};
	ULONG type = MAPI_TRANSPORT_PROVIDER, i;
	LPSRowSet rows = NULL;
	char what[256];
	HRESULT hr;
	size_t k;

	for (k = 0; k < NOBJECT_NAMES; k++)
		if (strcmp(object_names[k].name, name) == 0)
			type = object_names[k].type;
	hr = status_query(session, (const SPropTagArray *)&cols, 0, &rows);
	if (FAILED(hr))
		return ctl_mapi_error(hr, "reading the status table");
	for (i = 0; i < rows->cRows && !row_is_named(&rows->aRow[i], type, name); i++)
		;
	if (i == rows->cRows) {
		FreeProws(rows);
		ctl_warnx("no transport is called \"%s\": see `" CTL_NAME " status` for the names,"
			  " or say spooler, subsystem or store", name);
		return EX_DATAERR;
	}
	hr = status_open_eid(session, &rows->aRow[i].lpProps[0], status);
	FreeProws(rows);
	snprintf(what, sizeof what, "opening the status object of %s", name);
	return FAILED(hr) ? ctl_mapi_error(hr, what) : EX_OK;
}

/* Control characters (a server's multi-line answer, or escape sequences)
 * become spaces, so that text from the daemon stays on its line and cannot
 * drive the terminal. */
static void
text_clean(char *dst, size_t len, const char *src)
{
	size_t i;

	snprintf(dst, len, "%s", src != NULL ? src : "");
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

/* SIGINT and SIGTERM end the loops that wait for events (watch, flush
 * --wait) between deliveries, so that they clean up and exit 0. */
static volatile sig_atomic_t ctl_stop;

static void
ctl_on_signal(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

static void
ctl_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = ctl_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* How long one wait for events lasts, so that a signal that comes just
 * before the wait is seen soon anyway. */
#define CTL_DISPATCH_MS 500

/* ---- Asking a person ---- */

/* Room for an answer; the daemon takes passwords of up to 512 bytes. */
#define SECRET_MAX 1024

/* While echo is off: the terminal and its settings, for the signal
 * handler to put back, and the signal that came. */
static int tty_fd = -1;
static struct termios tty_saved;
static volatile sig_atomic_t tty_signal;

/* The signals that would otherwise leave the terminal without echo. */
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

#define TTY_NSIGNALS (sizeof tty_signals / sizeof tty_signals[0])

/* Echo back on at once (tcsetattr is async-signal-safe): the process may
 * not get any further. */
static void
tty_on_signal(int sig)
{
	tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	tty_signal = sig;
}

/* One line from fd into buf (without its '\n'), byte by byte so that no
 * stdio buffer keeps a copy of it.  Its length; -1 at end of file before
 * any byte, on an error, when a caught signal came, or for a line of len
 * bytes or more (read to its end and dropped; errno EMSGSIZE).  errno is
 * 0 at end of file.  On failure buf is wiped. */
static ssize_t
read_line_fd(int fd, char *buf, size_t len)
{
	bool too_long = false;
	size_t n = 0;
	ssize_t r;
	char c;

	errno = 0;
	for (;;) {
		if ((r = read(fd, &c, 1)) == -1 && errno == EINTR && tty_signal == 0)
			continue;
		if (r == -1 || tty_signal != 0 || (r == 0 && n == 0 && !too_long))
			goto fail;
		if (r == 0 || c == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = c;
		else
			too_long = true;
	}
	buf[n] = '\0';
	if (!too_long)
		return (ssize_t)n;
	errno = EMSGSIZE;
fail:
	explicit_bzero(buf, len);
	return -1;
}

/* Echo back on and the signals' handlers back; then a signal that came
 * meanwhile is raised again, now that the terminal is as it was. */
static void
tty_restore(const struct sigaction *old)
{
	size_t i;
	int sig;

	tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	for (i = 0; i < TTY_NSIGNALS; i++)
		sigaction(tty_signals[i], &old[i], NULL);
	tty_fd = -1;
	sig = tty_signal;
	tty_signal = 0;
	if (sig != 0)
		raise(sig);
}

/* Echo off on the terminal fd, the signals caught so that none leaves it
 * off; old gets their handlers. */
static int
tty_quiet(int fd, struct sigaction *old)
{
	struct sigaction sa = { .sa_handler = tty_on_signal };
	struct termios quiet;
	size_t i;

	if (tcgetattr(fd, &tty_saved) == -1)
		return -1;
	tty_fd = fd;
	tty_signal = 0;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal ends the read. */
	for (i = 0; i < TTY_NSIGNALS; i++)
		sigaction(tty_signals[i], &sa, &old[i]);
	quiet = tty_saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
		return 0;
	tty_restore(old);
	return -1;
}

/* Ask question on the terminal (/dev/tty: stdout may be a pipe) and read
 * the answer into buf, without echo when secret (and then not at all if
 * echo cannot be turned off).  The terminal is put back as it was on
 * every way out.  0, or -1 when there is no terminal or no answer came. */
static int
tty_ask(const char *question, bool secret, char *buf, size_t len)
{
	struct sigaction old[TTY_NSIGNALS];
	ssize_t n = -1;
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	if (!secret || tty_quiet(fd, old) == 0) {
		dprintf(fd, "%s", question);
		n = read_line_fd(fd, buf, len);
		if (secret) {
			/* The Enter typed was not echoed either. */
			dprintf(fd, "\n");
			tty_restore(old);
		}
	}
	close(fd);
	return n == -1 ? -1 : 0;
}

/* ---- flush ---- */

#define FLUSH_PROGRESS_MAX 64	/* transports shown in the live display */

/* The live progress display and the prompts, fed by the UI callback. */
struct flush_ui {
	LPMAPISESSION session;	/* to answer prompts on */
	bool ask;		/* answer prompts (not --no-ui) */
	bool display;		/* show progress (not --no-ui, not --json) */
	bool tty;		/* redraw in place rather than print lines */
	struct {
		char name[64];
		ULONG progress;
		char text[160];
	} lines[FLUSH_PROGRESS_MAX];
	size_t nlines;
	size_t drawn;		/* lines on screen to redraw */
	ULONG wait_id;		/* --wait: the flush whose end is awaited */
	bool done;
	HRESULT done_hr;
};

static void
flush_ui_draw(struct flush_ui *ui)
{
	char bar[21];
	size_t i, fill;

	if (ui->drawn > 0)
		printf("\033[%zuA", ui->drawn);
	for (i = 0; i < ui->nlines; i++) {
		fill = ui->lines[i].progress / 5;
		memset(bar, '#', fill);
		memset(bar + fill, '.', 20 - fill);
		bar[20] = '\0';
		printf("\r\033[K%-16s [%s] %3u%%  %s\n", ui->lines[i].name, bar,
		       (unsigned)ui->lines[i].progress, ui->lines[i].text);
	}
	ui->drawn = ui->nlines;
	fflush(stdout);
}

static void
flush_ui_progress(struct flush_ui *ui, const MAPISPOOL_UI_EVENT *ev)
{
	char name[64];
	size_t i;

	text_clean(name, sizeof name, ev->lpszTransport);
	for (i = 0; i < ui->nlines && strcmp(ui->lines[i].name, name) != 0; i++)
		;
	if (i == ui->nlines) {
		if (i == FLUSH_PROGRESS_MAX)
			return;
		ui->nlines++;
		memcpy(ui->lines[i].name, name, sizeof name);
	}
	ui->lines[i].progress = ev->ulProgress;
	text_clean(ui->lines[i].text, sizeof ui->lines[i].text, ev->lpszText);
	if (ui->tty) {
		flush_ui_draw(ui);
	} else {
		printf("%s: %u%% %s\n", name, (unsigned)ev->ulProgress, ui->lines[i].text);
		fflush(stdout);
	}
}

/* A transport asks for a password: asked on the terminal, without echo
 * when it is secret.  With no terminal, or no answer, the prompt is
 * cancelled and that transport's part of the flush fails.  The answer is
 * wiped once sent. */
static void
flush_ui_prompt(struct flush_ui *ui, const MAPISPOOL_UI_EVENT *ev)
{
	char name[64], text[256], question[384], answer[SECRET_MAX];
	bool answered;

	text_clean(name, sizeof name, ev->lpszTransport);
	text_clean(text, sizeof text, ev->lpszText);
	snprintf(question, sizeof question, "%s (%s): ", text, name);
	/* Progress printed so far comes before the question. */
	fflush(stdout);
	answered = tty_ask(question, ev->fSecret, answer, sizeof answer) == 0;
	if (FAILED(mapispool_ui_reply(ui->session, ev->ulPromptId, answered ? answer : NULL)))
		ctl_warnx("%s: the answer was not taken: %s", name, mapispool_last_error());
	explicit_bzero(answer, sizeof answer);
	/* The question took lines below the display: draw it anew below. */
	ui->drawn = 0;
}

static void
flush_ui_event(LPVOID ctx, const MAPISPOOL_UI_EVENT *ev)
{
	struct flush_ui *ui = ctx;

	if (ev->ulKind == MAPISPOOL_UI_FLUSH_DONE && ev->ulFlushId == ui->wait_id) {
		ui->done = true;
		ui->done_hr = ev->hResult;
	} else if (ev->ulKind == MAPISPOOL_UI_PROGRESS && ui->display) {
		flush_ui_progress(ui, ev);
	} else if (ev->ulKind == MAPISPOOL_UI_PROMPT) {
		if (ui->ask)
			flush_ui_prompt(ui, ev);
		else
			mapispool_ui_reply(ui->session, ev->ulPromptId, NULL);
	}
}

/* A flush is over: the next one's display starts below this one's. */
static void
flush_ui_reset(struct flush_ui *ui)
{
	ui->nlines = 0;
	ui->drawn = 0;
}

/* What the flushes of one command did, transport by transport. */
struct flush_run {
	LPMAPISESSION session;
	ULONG flags;
	struct flush_ui ui;
	MAPISPOOL_FLUSH_RESULT **blocks;	/* one per FlushQueues */
	ULONG *counts;
	size_t nblocks;
	bool warned;		/* some FlushQueues said MAPI_W_ERRORS_RETURNED */
	int rc;			/* the first failed call's exit status */
};

static void
flush_run_free(struct flush_run *run)
{
	size_t i;

	for (i = 0; i < run->nblocks; i++)
		MAPIFreeBuffer(run->blocks[i]);
	free(run->blocks);
	free(run->counts);
}

/* Keep what the last flush on status did, for the summary. */
static int
flush_keep_results(struct flush_run *run, LPMAPISTATUS status)
{
	MAPISPOOL_FLUSH_RESULT *results = NULL, **blocks;
	ULONG n = 0, *counts;
	HRESULT hr;

	if (FAILED(hr = mapispool_flush_results(status, &n, &results)))
		return ctl_mapi_error(hr, "reading the flush's results");
	blocks = reallocarray(run->blocks, run->nblocks + 1, sizeof *blocks);
	if (blocks != NULL)
		run->blocks = blocks;
	counts = reallocarray(run->counts, run->nblocks + 1, sizeof *counts);
	if (counts != NULL)
		run->counts = counts;
	if (blocks == NULL || counts == NULL) {
		MAPIFreeBuffer(results);
		ctl_warnx("out of memory");
		return EX_OSERR;
	}
	run->blocks[run->nblocks] = results;
	run->counts[run->nblocks++] = n;
	return EX_OK;
}

/* One FlushQueues, as step 6 of the first procedure or 5.3 of the second. */
static void
flush_call(struct flush_run *run, LPMAPISTATUS status, const SBinary *target, const char *what)
{
	HRESULT hr;
	int rc;

	hr = IMAPIStatus_FlushQueues(status, 0, target != NULL ? target->cb : 0,
				     target != NULL ? (LPENTRYID)target->lpb : NULL, run->flags);
	flush_ui_reset(&run->ui);
	if (FAILED(hr)) {
		rc = ctl_mapi_error(hr, what);
	} else {
		if (hr != S_OK)
			run->warned = true;
		rc = flush_keep_results(run, status);
	}
	if (rc != EX_OK && run->rc == EX_OK)
		run->rc = rc;
}

/* The seed's second procedure, step 5, for every transport or only the
 * one called only: a transport with STATUS_FLUSH_QUEUES flushes itself;
 * the spooler flushes any other, with the transport's entry ID as the
 * target. */
static int
flush_transports(struct flush_run *run, const char *only)
{
	static const SizedSPropTagArray(3, cols) = {
		3, { PR_ENTRYID, PR_RESOURCE_TYPE, PR_DISPLAY_NAME }
	};
	static const SizedSPropTagArray(1, methods) = { 1, { PR_RESOURCE_METHODS } };
	LPMAPISTATUS spooler = NULL, status;
	LPSPropValue props;
	LPSRowSet rows = NULL;
	ULONG i, n, found = 0;
	char what[256];
	HRESULT hr;
	int rc;

	hr = status_query(run->session, (const SPropTagArray *)&cols, MAPI_TRANSPORT_PROVIDER,
			  &rows);
	if (FAILED(hr))
		return ctl_mapi_error(hr, "reading the status table");
	for (i = 0; i < rows->cRows; i++) {
		const SRow *row = &rows->aRow[i];
		const char *name = PROP_TYPE(row->lpProps[2].ulPropTag) == PT_STRING8
					   ? row->lpProps[2].Value.lpszA
					   : "?";

		if (only != NULL && !row_is_named(row, MAPI_TRANSPORT_PROVIDER, only))
			continue;
		found++;
		snprintf(what, sizeof what, "flushing %s", name);
		if (FAILED(hr = status_open_eid(run->session, &row->lpProps[0], &status))) {
			rc = ctl_mapi_error(hr, what);
			run->rc = run->rc == EX_OK ? rc : run->rc;
			continue;
		}
		props = NULL;
		hr = IMAPIStatus_GetProps(status, (LPSPropTagArray)&methods, 0, &n, &props);
		if (FAILED(hr)) {
			rc = ctl_mapi_error(hr, what);
			run->rc = run->rc == EX_OK ? rc : run->rc;
		} else if (PROP_TYPE(props[0].ulPropTag) == PT_LONG &&
			   (props[0].Value.ul & STATUS_FLUSH_QUEUES)) {
			flush_call(run, status, NULL, what);
		} else if (spooler != NULL ||
			   (rc = ctl_open_spooler(run->session, &spooler)) == EX_OK) {
			flush_call(run, spooler, &row->lpProps[0].Value.bin, what);
		} else {
			run->rc = run->rc == EX_OK ? rc : run->rc;
		}
		MAPIFreeBuffer(props);
		IMAPIStatus_Release(status);
	}
	FreeProws(rows);
	if (spooler != NULL)
		IMAPIStatus_Release(spooler);
	if (only != NULL && found == 0) {
		ctl_warnx("no transport is called \"%s\": see `" CTL_NAME " status` for the names",
			  only);
		return EX_DATAERR;
	}
	return EX_OK;
}

/* --async: start the flush on the spooler; with --wait, deliver events
 * until its flush.done comes. */
static int
flush_async(struct flush_run *run, LPMAPISTATUS spooler, bool wait, bool json)
{
	ULONG id = 0;
	HRESULT hr;

	hr = IMAPIStatus_FlushQueues(spooler, 0, 0, NULL, run->flags | FLUSH_ASYNC_OK);
	if (FAILED(hr))
		return ctl_mapi_error(hr, "flushing the queues");
	mapispool_flush_id(spooler, &id);
	if (!wait) {
		if (json)
			printf("{\"flush_id\":%u}\n", (unsigned)id);
		else
			printf("flush %u started\n", (unsigned)id);
		return EX_OK;
	}
	run->ui.wait_id = id;
	ctl_catch_signals();
	while (!run->ui.done && !ctl_stop) {
		if (FAILED(hr = mapispool_dispatch(run->session, CTL_DISPATCH_MS)))
			return ctl_mapi_error(hr, "waiting for the flush to end");
	}
	if (!run->ui.done) {
		ctl_warnx("stopped waiting; flush %u goes on in mapispoold", (unsigned)id);
		return EX_TEMPFAIL;
	}
	if (FAILED(run->ui.done_hr)) {
		ctl_warnx("flush %u: %s (%s)", (unsigned)id, mapispool_strerror(run->ui.done_hr),
			  mapispool_hr_name(run->ui.done_hr) != NULL
				  ? mapispool_hr_name(run->ui.done_hr)
				  : "?");
		return EX_SOFTWARE;
	}
	if (run->ui.done_hr != S_OK)
		run->warned = true;
	return flush_keep_results(run, spooler);
}

static char *
fmt_ulong(ULONG v)
{
	char buf[16];

	snprintf(buf, sizeof buf, "%u", (unsigned)v);
	return strdup(buf);
}

/* "MAPI_E_WAIT: 1 deferred: ...", or "-". */
static char *
fmt_result_error(const MAPISPOOL_FLUSH_RESULT *r)
{
	const char *name = mapispool_hr_name(r->hResult);
	char text[512], *out;

	if (!FAILED(r->hResult))
		return strdup("-");
	text_clean(text, sizeof text, r->lpszError != NULL ? r->lpszError
							    : mapispool_strerror(r->hResult));
	if (asprintf(&out, "%s: %s", name != NULL ? name : "error", text) == -1)
		return NULL;
	return out;
}

static const char *const summary_titles[] = {
	"TRANSPORT", "SENT", "RECEIVED", "DELIVERED", "DEFERRED", "FAILED", "SKIPPED", "ERROR",
};

#define SUMMARY_NCOLS (sizeof summary_titles / sizeof summary_titles[0])

/* The summary: one line per transport flushed, then the totals. */
static int
flush_print_summary(const struct flush_run *run)
{
	MAPISPOOL_FLUSH_RESULT total = { 0 };
	ULONG nfailed = 0, ntransports = 0;
	size_t nrows = 2, i, r = 0;
	char **cells, **c, text[64];
	ULONG k;
	int rc;

	for (i = 0; i < run->nblocks; i++)
		nrows += run->counts[i];
	if ((cells = calloc(nrows * SUMMARY_NCOLS, sizeof *cells)) == NULL) {
		ctl_warnx("out of memory");
		return EX_OSERR;
	}
	for (k = 0; k < SUMMARY_NCOLS; k++)
		cells[k] = strdup(summary_titles[k]);
	for (i = 0; i < run->nblocks; i++) {
		for (k = 0; k < run->counts[i]; k++) {
			const MAPISPOOL_FLUSH_RESULT *res = &run->blocks[i][k];

			c = &cells[++r * SUMMARY_NCOLS];
			text_clean(text, sizeof text, res->lpszTransport);
			c[0] = strdup(text);
			c[1] = fmt_ulong(res->cSent);
			c[2] = fmt_ulong(res->cReceived);
			c[3] = fmt_ulong(res->cDelivered);
			c[4] = fmt_ulong(res->cDeferred);
			c[5] = fmt_ulong(res->cFailed);
			c[6] = strdup(res->fSkipped ? "yes" : "no");
			c[7] = fmt_result_error(res);
			total.cSent += res->cSent;
			total.cReceived += res->cReceived;
			total.cDelivered += res->cDelivered;
			total.cDeferred += res->cDeferred;
			total.cFailed += res->cFailed;
			total.fSkipped += res->fSkipped ? 1 : 0;
			nfailed += FAILED(res->hResult) ? 1 : 0;
			ntransports++;
		}
	}
	c = &cells[++r * SUMMARY_NCOLS];
	c[0] = strdup("total");
	c[1] = fmt_ulong(total.cSent);
	c[2] = fmt_ulong(total.cReceived);
	c[3] = fmt_ulong(total.cDelivered);
	c[4] = fmt_ulong(total.cDeferred);
	c[5] = fmt_ulong(total.cFailed);
	c[6] = fmt_ulong((ULONG)total.fSkipped);
	if (nfailed == 0)
		c[7] = strdup("-");
	else if (asprintf(&c[7], "%u of %u transports failed", (unsigned)nfailed,
			  (unsigned)ntransports) == -1)
		c[7] = NULL;
	rc = cells_print(cells, nrows, SUMMARY_NCOLS);
	free(cells);
	return rc;
}

/* One line of JSON, for scripts; o is put. */
static void
json_print_put(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static json_object *
json_hr(HRESULT hr)
{
	const char *name = mapispool_hr_name(hr);

	return name != NULL ? json_object_new_string(name) : NULL;
}

/* {"hr":..,"hr_name":..,"transports":[{"name":..,"hr":..,...}]}: the
 * protocol's form of a flush's result, for every FlushQueues made. */
static int
flush_print_json(const struct flush_run *run, HRESULT hr)
{
	json_object *top = json_object_new_object(), *arr = json_object_new_array(), *t;
	size_t i;
	ULONG k;

	json_object_object_add(top, "hr", json_object_new_int(hr));
	json_object_object_add(top, "hr_name", json_hr(hr));
	json_object_object_add(top, "transports", arr);
	for (i = 0; i < run->nblocks; i++) {
		for (k = 0; k < run->counts[i]; k++) {
			const MAPISPOOL_FLUSH_RESULT *r = &run->blocks[i][k];

			t = json_object_new_object();
			json_object_object_add(t, "name", json_object_new_string(r->lpszTransport));
			json_object_object_add(t, "hr", json_object_new_int(r->hResult));
			json_object_object_add(t, "hr_name", json_hr(r->hResult));
			if (r->lpszError != NULL)
				json_object_object_add(t, "message",
						       json_object_new_string(r->lpszError));
			json_object_object_add(t, "skipped", json_object_new_boolean(r->fSkipped));
			json_object_object_add(t, "sent", json_object_new_int64(r->cSent));
			json_object_object_add(t, "received", json_object_new_int64(r->cReceived));
			json_object_object_add(t, "delivered", json_object_new_int64(r->cDelivered));
			json_object_object_add(t, "deferred", json_object_new_int64(r->cDeferred));
			json_object_object_add(t, "failed", json_object_new_int64(r->cFailed));
			json_object_array_add(arr, t);
		}
	}
	json_print_put(top);
	return EX_OK;
}

/* The end of a flush command: the summary, and its exit status.  A
 * transport whose part failed makes it EX_TEMPFAIL: the spooler tries
 * again later. */
static int
flush_finish(const struct flush_run *run, bool json)
{
	bool failed = run->warned;
	size_t i;
	ULONG k;
	int rc;

	/* Nothing went: the error said it all. */
	if (run->nblocks == 0 && run->rc != EX_OK)
		return run->rc;
	for (i = 0; i < run->nblocks; i++)
		for (k = 0; k < run->counts[i]; k++)
			failed |= FAILED(run->blocks[i][k].hResult);
	if (json)
		rc = flush_print_json(run, failed ? MAPI_W_ERRORS_RETURNED : S_OK);
	else
		rc = flush_print_summary(run);
	if (run->rc != EX_OK)
		return run->rc;
	if (rc != EX_OK)
		return rc;
	return failed ? EX_TEMPFAIL : EX_OK;
}

static int
cmd_flush(const struct ctl *ctl, const struct ctl_args *args)
{
	const char *only = args->opt['T'];
	bool each = args->opt['E'] != NULL, async = args->opt['A'] != NULL;
	bool wait = args->opt['W'] != NULL, no_ui = args->opt['N'] != NULL;
	struct flush_run run = { .rc = EX_OK };
	LPMAPISTATUS spooler = NULL;
	int rc;

	if (each && only != NULL) {
		ctl_warnx("flush: --each-transport and --transport exclude each other");
		return ctl_usage_error(ctl_find("flush"));
	}
	if (async && (each || only != NULL)) {
		ctl_warnx("flush: --async flushes through the spooler: not with --each-transport"
			  " or --transport");
		return ctl_usage_error(ctl_find("flush"));
	}
	if (wait && !async) {
		ctl_warnx("flush: --wait waits for an --async flush");
		return ctl_usage_error(ctl_find("flush"));
	}
	if (only != NULL && *only == '\0') {
		ctl_warnx("flush: option --transport needs a name");
		return ctl_usage_error(ctl_find("flush"));
	}
	run.flags = (args->opt['U'] != NULL ? FLUSH_UPLOAD : 0) |
		    (args->opt['D'] != NULL ? FLUSH_DOWNLOAD : 0) |
		    (args->opt['F'] != NULL ? FLUSH_FORCE : 0) | (no_ui ? FLUSH_NO_UI : 0);
	/* Someone stays to see progress and answer prompts, unless --no-ui
	 * or an --async flush is left running. */
	run.ui.ask = !no_ui && (!async || wait);
	run.ui.display = run.ui.ask && !ctl->json;
	run.ui.tty = isatty(STDOUT_FILENO);
	if ((rc = ctl_logon(ctl, &run.session)) != EX_OK)
		return rc;
	run.ui.session = run.session;
	/* Without a UI callback the library flushes as FLUSH_NO_UI. */
	if (run.ui.ask || wait)
		mapispool_set_ui_callback(run.session, flush_ui_event, &run.ui);
	if (each || only != NULL) {
		rc = flush_transports(&run, only);
	} else if ((rc = ctl_open_spooler(run.session, &spooler)) == EX_OK) {
		if (async)
			rc = flush_async(&run, spooler, wait, ctl->json);
		else
			flush_call(&run, spooler, NULL, "flushing the queues");
	}
	if (rc == EX_OK && (!async || wait))
		rc = flush_finish(&run, ctl->json);
	if (spooler != NULL)
		IMAPIStatus_Release(spooler);
	flush_run_free(&run);
	ctl_logoff(run.session);
	return rc;
}
/* ---- submit ---- */

/* What submit reads from stdin at most; the daemon has its own, smaller,
 * max_message_size. */
#define SUBMIT_MAX ((size_t)1 << 30)

/* The message on stdin, whole. */
static int
read_stdin(char **out, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL, *p;
	ssize_t r;

	for (;;) {
		if (n == cap) {
			/* One byte past the limit tells a message that is too long. */
			if (cap > SUBMIT_MAX) {
				free(buf);
				ctl_warnx("submit: the message is longer than %zu bytes",
					  SUBMIT_MAX);
				return EX_DATAERR;
			}
			cap = cap == 0 ? 65536 : cap * 2 > SUBMIT_MAX ? SUBMIT_MAX + 1 : cap * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				free(buf);
				ctl_warnx("out of memory reading the message");
				return EX_OSERR;
			}
			buf = p;
		}
		if ((r = read(STDIN_FILENO, buf + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			ctl_warnx("submit: reading the message: %s", strerror(errno));
			free(buf);
			return EX_IOERR;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return EX_OK;
}

/* Addresses, growing. */
struct addr_list {
	char **v;
	size_t n;
};

static int
addr_add(struct addr_list *l, const char *s, size_t len)
{
	char **v, *a;

	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0;
	if ((a = strndup(s, len)) == NULL || (v = reallocarray(l->v, l->n + 1, sizeof *v)) == NULL) {
		free(a);
		return -1;
	}
	l->v = v;
	l->v[l->n++] = a;
	return 0;
}

static void
addr_free(struct addr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* One mailbox of an address list: the addr-spec in <...> if there is
 * one, else the bare token; a group's display name ("team: a, b;") goes. */
static int
mailbox_add(struct addr_list *l, const char *s, size_t len)
{
	const char *lt = memchr(s, '<', len), *gt, *colon;

	if (lt != NULL && (gt = memchr(lt, '>', len - (size_t)(lt - s))) != NULL)
		return addr_add(l, lt + 1, (size_t)(gt - lt - 1));
	if ((colon = memchr(s, ':', len)) != NULL) {
		len -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	while (len > 0 && s[len - 1] == ';')
		len--;
	return addr_add(l, s, len);
}

/* Split an unfolded To/Cc/Bcc value at the commas that are outside quoted
 * strings, comments and angle brackets. */
static int
header_addresses(struct addr_list *l, const char *v, size_t len)
{
	size_t i, start = 0;
	int depth = 0;
	bool quoted = false, angle = false;

	for (i = 0; i <= len; i++) {
		char c = i < len ? v[i] : ',';

		if (quoted) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == '"') {
			quoted = true;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (c == '<') {
			angle = true;
		} else if (c == '>') {
			angle = false;
		} else if ((c == ',' || (c == ';' && !angle)) && depth == 0 && !angle) {
			if (mailbox_add(l, v + start, i - start) == -1)
				return -1;
			start = i + 1;
		}
	}
	return 0;
}

/* Is the header line at p (its field name up to ':') called name? */
static bool
header_is(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && p[n] == ':' && strncasecmp(p, name, n) == 0;
}

/* -t: the recipients of the To, Cc and Bcc headers (RFC 5322: a header
 * ends at a line that does not start with blank space), and the message
 * without its Bcc header, which must not reach the recipients. */
static int
message_recipients(char *msg, size_t *len, struct addr_list *l)
{
	size_t pos = 0, end, next, vlen, o;
	char *value;
	bool bcc;

	while (pos < *len && msg[pos] != '\n' && !(msg[pos] == '\r' && pos + 1 < *len &&
						      msg[pos + 1] == '\n')) {
		/* The field and its folded continuation lines. */
		for (end = pos; end < *len; end = next) {
			char *nl = memchr(msg + end, '\n', *len - end);

			next = nl != NULL ? (size_t)(nl - msg) + 1 : *len;
			if (end > pos && msg[end] != ' ' && msg[end] != '\t')
				break;
		}
		bcc = header_is(msg + pos, end - pos, "bcc");
		if (bcc || header_is(msg + pos, end - pos, "to") ||
		    header_is(msg + pos, end - pos, "cc")) {
			if ((value = malloc(end - pos)) == NULL)
				return -1;
			/* Unfold: line breaks go, what follows them stays. */
			for (o = 0, vlen = (size_t)(strchr(msg + pos, ':') - msg) + 1; vlen < end;
			     vlen++)
				if (msg[vlen] != '\r' && msg[vlen] != '\n')
					value[o++] = msg[vlen];
			if (header_addresses(l, value, o) == -1) {
				free(value);
				return -1;
			}
			free(value);
		}
		if (bcc) {
			memmove(msg + pos, msg + end, *len - end);
			*len -= end - pos;
		} else {
			pos = end;
		}
	}
	return 0;
}

static int
submit_print(const char *id, HRESULT hr, const MAPISPOOL_ROUTE *routes, size_t n, bool json)
{
	json_object *top, *arr, *r;
	char a[512], t[64];
	size_t i;

	if (!json) {
		printf("%s\n", id != NULL ? id : "-");
		for (i = 0; i < n; i++) {
			text_clean(a, sizeof a, routes[i].lpszAddress);
			text_clean(t, sizeof t, routes[i].lpszAddrType);
			if (routes[i].lpszTransport != NULL)
				printf("  %s (%s): %s\n", a, t, routes[i].lpszTransport);
			else
				printf("  %s (%s): no transport takes %s addresses;"
				       " a non-delivery report went to the sender\n", a, t, t);
		}
		return EX_OK;
	}
	top = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(top, "message_id", id != NULL ? json_object_new_string(id) : NULL);
	json_object_object_add(top, "hr", json_object_new_int(hr));
	json_object_object_add(top, "hr_name", json_hr(hr));
	json_object_object_add(top, "recipients", arr);
	for (i = 0; i < n; i++) {
		r = json_object_new_object();
		json_object_object_add(r, "address", json_object_new_string(routes[i].lpszAddress));
		json_object_object_add(r, "addrtype", json_object_new_string(routes[i].lpszAddrType));
		json_object_object_add(r, "transport",
				       routes[i].lpszTransport != NULL
					       ? json_object_new_string(routes[i].lpszTransport)
					       : NULL);
		json_object_array_add(arr, r);
	}
	json_print_put(top);
	return EX_OK;
}

static int
cmd_submit(const struct ctl *ctl, const struct ctl_args *args)
{
	const char *addrtype = args->opt['a'];
	struct addr_list rcpts = { 0 };
	MAPISPOOL_RECIPIENT *list = NULL;
	MAPISPOOL_ROUTE *routes = NULL;
	LPMAPISESSION session;
	LPSTR id = NULL;
	char *msg = NULL;
	size_t len = 0, i;
	HRESULT hr;
	int rc;

	if (args->argc == 0 && args->opt['t'] == NULL) {
		ctl_warnx("submit: no recipients: name them, or give -t to read them from the"
			  " message's To, Cc and Bcc");
		return ctl_usage_error(ctl_find("submit"));
	}
	if (addrtype != NULL && *addrtype == '\0') {
		ctl_warnx("submit: option --addrtype needs an address type");
		return ctl_usage_error(ctl_find("submit"));
	}
	if ((rc = read_stdin(&msg, &len)) != EX_OK)
		return rc;
	if (args->opt['t'] != NULL && message_recipients(msg, &len, &rcpts) == -1)
		goto oom;
	for (i = 0; i < (size_t)args->argc; i++)
		if (addr_add(&rcpts, args->argv[i], strlen(args->argv[i])) == -1)
			goto oom;
	if (rcpts.n == 0) {
		ctl_warnx("submit: the message's To, Cc and Bcc name no recipient");
		rc = EX_DATAERR;
		goto out;
	}
	if ((list = calloc(rcpts.n, sizeof *list)) == NULL)
		goto oom;
	for (i = 0; i < rcpts.n; i++) {
		list[i].lpszAddress = rcpts.v[i];
		list[i].lpszAddrType = (LPSTR)addrtype;
	}
	if ((rc = ctl_logon(ctl, &session)) != EX_OK)
		goto out;
	hr = mapispool_submit_routes(session, args->opt['f'], (ULONG)rcpts.n, list, msg, len, &id,
				     &routes);
	if (FAILED(hr)) {
		rc = ctl_mapi_error(hr, "submitting the message");
	} else {
		rc = submit_print(id, hr, routes, rcpts.n, ctl->json);
		/* Queued, but not for everyone: the sender has a report. */
		if (rc == EX_OK && hr != S_OK)
			rc = EX_NOUSER;
	}
	MAPIFreeBuffer(id);
	MAPIFreeBuffer(routes);
	ctl_logoff(session);
	goto out;
oom:
	ctl_warnx("out of memory");
	rc = EX_OSERR;
out:
	free(list);
	addr_free(&rcpts);
	free(msg);
	return rc;
}

/* ---- queue ---- */

#define QUEUE_PAGE 100

/* RFC 3339, or "-" for a zero time. */
static void
fmt_filetime(const FILETIME *ft, char *buf, size_t len)
{
	SPropValue pv = { .ulPropTag = PROP_TAG(PT_SYSTIME, 0), .Value.ft = *ft };
	json_object *j;

	if (ft->dwHighDateTime == 0 && ft->dwLowDateTime == 0) {
		snprintf(buf, len, "-");
		return;
	}
	j = propval_to_json(&pv);
	snprintf(buf, len, "%s", j != NULL ? json_object_get_string(j) : "?");
	json_object_put(j);
}

static void
queue_print_entry(const MAPISPOOL_QUEUE_ENTRY *e)
{
	char when[64], a[512], b[512];
	ULONG i;

	fmt_filetime(&e->ftQueued, when, sizeof when);
	text_clean(a, sizeof a, e->lpszSender);
	printf("%s  %llu  %s  %s\n", e->lpszId != NULL ? e->lpszId : "?",
	       (unsigned long long)e->cbSize, when, *a != '\0' ? a : "<>");
	if (e->lpszSource != NULL) {
		text_clean(a, sizeof a, e->lpszSource);
		printf("    received by %s\n", a);
	}
	for (i = 0; i < e->cRecipients; i++) {
		text_clean(a, sizeof a, e->lpRecipients[i].lpszAddress);
		text_clean(b, sizeof b, e->lpRecipients[i].lpszAddrType);
		printf("    to %s (%s)\n", a, *b != '\0' ? b : "SMTP");
	}
	for (i = 0; i < e->cUnits; i++) {
		const MAPISPOOL_QUEUE_UNIT *u = &e->lpUnits[i];

		fmt_filetime(&u->ftNextAttempt, when, sizeof when);
		text_clean(a, sizeof a, u->lpszTransport);
		printf("    %s: %s%s%s, %u attempt%s, next %s\n", a,
		       u->lpszState != NULL ? u->lpszState : "?", u->fHeld ? ", held" : "",
		       u->fInFlight ? ", sending" : "", (unsigned)u->cAttempts,
		       u->cAttempts == 1 ? "" : "s", *when == '-' ? "as soon as possible" : when);
		if (u->lpszLastError != NULL) {
			text_clean(a, sizeof a, u->lpszLastError);
			printf("        last error: %s\n", a);
		}
	}
}

static json_object *
json_string_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static json_object *
json_filetime(const FILETIME *ft)
{
	char when[64];

	fmt_filetime(ft, when, sizeof when);
	return *when == '-' ? NULL : json_object_new_string(when);
}

/* An entry in the protocol's form (doc/protocol.md, queue.list). */
static json_object *
queue_entry_json(const MAPISPOOL_QUEUE_ENTRY *e, const char *queue)
{
	json_object *o = json_object_new_object(), *arr, *j;
	ULONG i;

	json_object_object_add(o, "id", json_string_or_null(e->lpszId));
	json_object_object_add(o, "queue", json_object_new_string(queue));
	json_object_object_add(o, "queued", json_filetime(&e->ftQueued));
	json_object_object_add(o, "sender", json_string_or_null(e->lpszSender));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)e->cbSize));
	if (e->lpszSource != NULL)
		json_object_object_add(o, "source", json_object_new_string(e->lpszSource));
	arr = json_object_new_array();
	json_object_object_add(o, "recipients", arr);
	for (i = 0; i < e->cRecipients; i++) {
		j = json_object_new_object();
		json_object_object_add(j, "address",
				       json_string_or_null(e->lpRecipients[i].lpszAddress));
		json_object_object_add(j, "addrtype",
				       json_string_or_null(e->lpRecipients[i].lpszAddrType));
		json_object_array_add(arr, j);
	}
	arr = json_object_new_array();
	json_object_object_add(o, "units", arr);
	for (i = 0; i < e->cUnits; i++) {
		const MAPISPOOL_QUEUE_UNIT *u = &e->lpUnits[i];

		j = json_object_new_object();
		json_object_object_add(j, "transport", json_string_or_null(u->lpszTransport));
		json_object_object_add(j, "state", json_string_or_null(u->lpszState));
		json_object_object_add(j, "held", json_object_new_boolean(u->fHeld));
		json_object_object_add(j, "in_flight", json_object_new_boolean(u->fInFlight));
		json_object_object_add(j, "attempts", json_object_new_int64(u->cAttempts));
		json_object_object_add(j, "next_attempt", json_filetime(&u->ftNextAttempt));
		json_object_object_add(j, "last_error", json_string_or_null(u->lpszLastError));
		json_object_array_add(arr, j);
	}
	return o;
}

/* Every page of one queue: printed as it comes, or added to arr. */
static int
queue_list_one(LPMAPISESSION session, ULONG queue, json_object *arr, size_t *count,
	       unsigned long long *bytes)
{
	const char *name = queue == MAPISPOOL_QUEUE_INBOUND ? "inbound" : "outbound";
	MAPISPOOL_QUEUE_LIST *list;
	LPSTR after = NULL, next;
	HRESULT hr;
	ULONG i;

	do {
		hr = mapispool_queue_list(session, queue, after, QUEUE_PAGE, &list, &next);
		MAPIFreeBuffer(after);
		if (FAILED(hr))
			return ctl_mapi_error(hr, "listing the queue");
		for (i = 0; i < list->cEntries; i++) {
			if (arr != NULL)
				json_object_array_add(arr, queue_entry_json(&list->aEntries[i], name));
			else
				queue_print_entry(&list->aEntries[i]);
			(*count)++;
			*bytes += list->aEntries[i].cbSize;
		}
		MAPIFreeBuffer(list);
		after = next;
	} while (after != NULL);
	return EX_OK;
}

static int
queue_list(LPMAPISESSION session, const struct ctl_args *args, bool json)
{
	bool all = args->opt['A'] != NULL, inbound = args->opt['I'] != NULL;
	json_object *arr = json ? json_object_new_array() : NULL;
	unsigned long long bytes = 0;
	size_t count = 0;
	int rc = EX_OK;

	if (all || !inbound)
		rc = queue_list_one(session, MAPISPOOL_QUEUE_OUTBOUND, arr, &count, &bytes);
	if (rc == EX_OK && (all || inbound))
		rc = queue_list_one(session, MAPISPOOL_QUEUE_INBOUND, arr, &count, &bytes);
	if (rc == EX_OK && json)
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (rc == EX_OK && count == 0)
		puts(all ? "the queues are empty" : inbound ? "the inbound queue is empty"
							    : "the outbound queue is empty");
	else if (rc == EX_OK)
		printf("-- %llu bytes in %zu message%s\n", bytes, count, count == 1 ? "" : "s");
	json_object_put(arr);
	return rc;
}

static int
cmd_queue(const struct ctl *ctl, const struct ctl_args *args)
{
	const char *sub = args->argc > 0 ? args->argv[0] : "list";
	const char *transport = args->opt['T'], *domain = args->opt['D'];
	bool list = strcmp(sub, "list") == 0, remove = strcmp(sub, "remove") == 0;
	bool hold = strcmp(sub, "hold") == 0, release = strcmp(sub, "release") == 0;
	bool flush = strcmp(sub, "flush") == 0;
	const char *id = args->argc > 1 ? args->argv[1] : NULL;
	LPMAPISESSION session;
	ULONG count = 0;
	HRESULT hr;
	int rc;

	if (!list && !remove && !hold && !release && !flush) {
		ctl_warnx("queue: unknown subcommand \"%s\": list, hold, release, flush or remove",
			  sub);
		return ctl_usage_error(ctl_find("queue"));
	}
	if (list ? args->argc > 1 : remove ? args->argc != 2 : false) {
		ctl_warnx(list ? "queue: list takes no message ID"
			       : "queue: %s needs one message ID", sub);
		return ctl_usage_error(ctl_find("queue"));
	}
	if ((hold || release || flush) && id == NULL && transport == NULL && domain == NULL) {
		ctl_warnx("queue: %s needs a message ID, --transport or --domain", sub);
		return ctl_usage_error(ctl_find("queue"));
	}
	if (domain != NULL && !hold && !release && !flush) {
		ctl_warnx("queue: --domain is for hold, release and flush");
		return ctl_usage_error(ctl_find("queue"));
	}
	if (!list && (args->opt['I'] != NULL || args->opt['A'] != NULL)) {
		ctl_warnx("queue: --inbound and --all are for list");
		return ctl_usage_error(ctl_find("queue"));
	}
	if (transport != NULL && !hold && !release && !flush) {
		ctl_warnx("queue: --transport is for hold, release and flush");
		return ctl_usage_error(ctl_find("queue"));
	}
	if ((rc = ctl_logon(ctl, &session)) != EX_OK)
		return rc;
	if (list) {
		rc = queue_list(session, args, ctl->json);
	} else {
		if (remove)
			hr = mapispool_queue_remove(session, id);
		else
			hr = mapispool_queue_select(session,
						    hold ? MAPISPOOL_ACTION_HOLD
						    : release ? MAPISPOOL_ACTION_RELEASE
							      : MAPISPOOL_ACTION_FLUSH,
						    id, transport, domain, &count);
		rc = FAILED(hr) ? ctl_mapi_error(hr, sub) : EX_OK;
		if (rc == EX_OK && ctl->json) {
			json_object *o = json_object_new_object();

			if (id != NULL)
				json_object_object_add(o, "message_id", json_object_new_string(id));
			json_object_object_add(o, sub, json_object_new_boolean(true));
			if (!remove)
				json_object_object_add(o, "count", json_object_new_int64(count));
			json_print_put(o);
		} else if (rc == EX_OK && remove) {
			printf("%s: removed\n", id);
		} else if (rc == EX_OK) {
			printf("%lu message%s %s\n", (unsigned long)count, count == 1 ? "" : "s",
			       hold ? "held" : release ? "released" : "flushed");
		}
	}
	ctl_logoff(session);
	return rc;
}

/* ---- validate, offline, online ---- */

static json_object *
json_result(const char *name, HRESULT hr)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "hr", json_object_new_int(hr));
	json_object_object_add(o, "hr_name", json_hr(hr));
	return o;
}

static int
ctl_validate(const struct ctl *ctl, const char *name, ULONG flags, const char *done)
{
	LPMAPISESSION session;
	LPMAPISTATUS status = NULL;
	char what[256];
	HRESULT hr;
	int rc;

	if ((rc = ctl_logon(ctl, &session)) != EX_OK)
		return rc;
	if ((rc = ctl_open_named(session, name, &status)) == EX_OK) {
		hr = IMAPIStatus_ValidateState(status, 0, flags);
		snprintf(what, sizeof what, "%s", name);
		if (FAILED(hr))
			rc = ctl_mapi_error(hr, what);
		else if (ctl->json)
			json_print_put(json_result(name, hr));
		else
			printf("%s: %s\n", name, done);
		IMAPIStatus_Release(status);
	}
	ctl_logoff(session);
	return rc;
}

static int
cmd_validate(const struct ctl *ctl, const struct ctl_args *args)
{
	int n = (args->opt['C'] != NULL) + (args->opt['D'] != NULL);

	if (n > 1) {
		ctl_warnx("validate: --connect and --disconnect exclude each other");
		return ctl_usage_error(ctl_find("validate"));
	}
	return ctl_validate(ctl, args->argv[0],
			    (args->opt['C'] != NULL ? FORCE_XP_CONNECT : 0) |
				    (args->opt['D'] != NULL ? FORCE_XP_DISCONNECT : 0) |
				    (args->opt['G'] != NULL ? CONFIG_CHANGED : 0),
			    args->opt['C'] != NULL ? "online"
			    : args->opt['D'] != NULL ? "offline"
						     : "ok");
}

static int
cmd_offline(const struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_validate(ctl, args->argc > 0 ? args->argv[0] : "spooler", FORCE_XP_DISCONNECT,
			    "offline");
}

static int
cmd_online(const struct ctl *ctl, const struct ctl_args *args)
{
	return ctl_validate(ctl, args->argc > 0 ? args->argv[0] : "spooler", FORCE_XP_CONNECT,
			    "online");
}

/* ---- password ---- */

/* Does the object keep a password it can change (STATUS_CHANGE_PASSWORD)?
 * Asked before anyone types one for it. */
static int
password_check(LPMAPISTATUS status, const char *name)
{
	static const SizedSPropTagArray(1, methods) = { 1, { PR_RESOURCE_METHODS } };
	LPSPropValue props = NULL;
	bool can;
	HRESULT hr;
	ULONG n;

	hr = IMAPIStatus_GetProps(status, (LPSPropTagArray)&methods, 0, &n, &props);
	if (FAILED(hr))
		return ctl_mapi_error(hr, name);
	can = PROP_TYPE(props[0].ulPropTag) == PT_LONG &&
	      (props[0].Value.ul & STATUS_CHANGE_PASSWORD);
	MAPIFreeBuffer(props);
	if (!can) {
		ctl_warnx("password: %s keeps no password to change (only a transport with a"
			  " password_file does)", name);
		return EX_DATAERR;
	}
	return EX_OK;
}

/* The old and the new password, into buffers of SECRET_MAX bytes: asked
 * on the terminal, the new one twice, or read from stdin as two lines
 * when it is not a terminal (scripts). */
static int
password_read(const char *name, char *old, char *new1, char *new2)
{
	char question[256];

	if (!isatty(STDIN_FILENO)) {
		if (read_line_fd(STDIN_FILENO, old, SECRET_MAX) != -1 &&
		    read_line_fd(STDIN_FILENO, new1, SECRET_MAX) != -1)
			return EX_OK;
		if (errno == EMSGSIZE)
			ctl_warnx("password: a password on stdin is longer than %d bytes",
				  SECRET_MAX - 1);
		else if (errno != 0)
			ctl_warnx("password: reading stdin: %s", strerror(errno));
		else
			ctl_warnx("password: stdin must hold two lines: the old password, then"
				  " the new one");
		return EX_DATAERR;
	}
	snprintf(question, sizeof question, "Old password of %s: ", name);
	if (tty_ask(question, true, old, SECRET_MAX) == -1 ||
	    tty_ask("New password: ", true, new1, SECRET_MAX) == -1 ||
	    tty_ask("New password again: ", true, new2, SECRET_MAX) == -1) {
		ctl_warnx("password: no password given; nothing was changed");
		return EX_DATAERR;
	}
	if (strcmp(new1, new2) != 0) {
		ctl_warnx("password: the new passwords differ; nothing was changed");
		return EX_DATAERR;
	}
	return EX_OK;
}

static int
cmd_password(const struct ctl *ctl, const struct ctl_args *args)
{
	const char *name = args->argv[0];
	char old[SECRET_MAX], new1[SECRET_MAX], new2[SECRET_MAX];
	LPMAPISESSION session;
	LPMAPISTATUS status = NULL;
	HRESULT hr;
	int rc;

	if ((rc = ctl_logon(ctl, &session)) != EX_OK)
		return rc;
	if ((rc = ctl_open_named(session, name, &status)) == EX_OK &&
	    (rc = password_check(status, name)) == EX_OK &&
	    (rc = password_read(name, old, new1, new2)) == EX_OK) {
		hr = IMAPIStatus_ChangePassword(status, old, new1, 0);
		if (FAILED(hr))
			rc = ctl_mapi_error(hr, name);
		else if (ctl->json)
			json_print_put(json_result(name, hr));
		else
			printf("%s: password changed\n", name);
	}
	explicit_bzero(old, sizeof old);
	explicit_bzero(new1, sizeof new1);
	explicit_bzero(new2, sizeof new2);
	if (status != NULL)
		IMAPIStatus_Release(status);
	ctl_logoff(session);
	return rc;
}

/* ---- watch ---- */

static const SizedSPropTagArray(5, watch_columns) = {
	5,
	{
		PR_DISPLAY_NAME,
		PR_STATUS_CODE,
		PR_REMOTE_PROGRESS,
		PR_REMOTE_PROGRESS_TEXT,
		PR_STATUS_STRING,
	},
};

static const char *
table_event_name(ULONG event)
{
	switch (event) {
	case TABLE_ROW_MODIFIED:
		return "TABLE_ROW_MODIFIED";
	case TABLE_ROW_ADDED:
		return "TABLE_ROW_ADDED";
	case TABLE_ROW_DELETED:
		return "TABLE_ROW_DELETED";
	case TABLE_RELOAD:
		return "TABLE_RELOAD";
	case TABLE_CHANGED:
		return "TABLE_CHANGED";
	case TABLE_ERROR:
		return "TABLE_ERROR";
	default:
		return "TABLE_EVENT";
	}
}

static void
watch_json(const TABLE_NOTIFICATION *tab)
{
	json_object *o = json_object_new_object(), *row = NULL;
	char name[PROPTAG_NAME_MAX];
	ULONG c;

	json_object_object_add(o, "table_event",
			       json_object_new_string(table_event_name(tab->ulTableEvent)));
	json_object_object_add(o, "instance_key", propval_to_json(&tab->propIndex));
	json_object_object_add(o, "prior_instance_key", propval_to_json(&tab->propPrior));
	if (tab->row.cValues > 0) {
		row = json_object_new_object();
		for (c = 0; c < tab->row.cValues && c < watch_columns.cValues; c++)
			json_object_object_add(row,
			    proptag_format(watch_columns.aulPropTag[c], name),
			    propval_to_json(&tab->row.lpProps[c]));
	}
	json_object_object_add(o, "row", row);
	json_print_put(o);
}

/* NAME  STATUS BITS  [PROGRESS%] PROGRESS TEXT */
static void
watch_line(const TABLE_NOTIFICATION *tab)
{
	const SPropValue *p = tab->row.lpProps;
	char name[128], text[256], *bits;

	if (tab->row.cValues < watch_columns.cValues) {
		printf("%s\n", table_event_name(tab->ulTableEvent));
		return;
	}
	text_clean(name, sizeof name, PROP_TYPE(p[0].ulPropTag) == PT_STRING8 ? p[0].Value.lpszA
									       : "?");
	bits = bits_format(PROP_TYPE(p[1].ulPropTag) == PT_LONG ? p[1].Value.ul : 0,
			   status_code_names);
	text_clean(text, sizeof text,
		   PROP_TYPE(p[3].ulPropTag) == PT_STRING8 ? p[3].Value.lpszA
		   : PROP_TYPE(p[4].ulPropTag) == PT_STRING8 ? p[4].Value.lpszA
							     : "");
	printf("%s%s  %s", tab->ulTableEvent == TABLE_ROW_ADDED     ? "+"
			   : tab->ulTableEvent == TABLE_ROW_DELETED ? "-"
								    : "",
	       name, bits != NULL ? bits : "?");
	if (PROP_TYPE(p[2].ulPropTag) == PT_LONG && p[2].Value.l >= 0)
		printf("  %d%%", (int)p[2].Value.l);
	printf("%s%s\n", *text != '\0' ? "  " : "", text);
	free(bits);
}

/* The sink's callback: one line per notification.  The row is only
 * borrowed, so it is printed at once. */
static LONG
watch_notify(LPVOID ctx, ULONG n, LPNOTIFICATION notif)
{
	const bool *json = ctx;
	ULONG i;

	for (i = 0; i < n; i++) {
		if (notif[i].ulEventType != fnevTableModified)
			continue;
		if (*json)
			watch_json(&notif[i].info.tab);
		else
			watch_line(&notif[i].info.tab);
	}
	fflush(stdout);
	return 0;
}

static int
cmd_watch(const struct ctl *ctl, const struct ctl_args *args)
{
	bool json = ctl->json;
	LPMAPIADVISESINK sink = NULL;
	LPMAPITABLE table = NULL;
	LPMAPISESSION session;
	ULONG connection = 0;
	HRESULT hr;
	int rc;

	(void)args;
	if ((rc = ctl_logon(ctl, &session)) != EX_OK)
		return rc;
	hr = HrAllocAdviseSink(watch_notify, &json, &sink);
	if (SUCCEEDED(hr))
		hr = IMAPISession_GetStatusTable(session, 0, &table);
	if (SUCCEEDED(hr))
		hr = IMAPITable_SetColumns(table, (LPSPropTagArray)&watch_columns, 0);
	if (SUCCEEDED(hr))
		hr = IMAPITable_Advise(table, fnevTableModified, sink, &connection);
	if (FAILED(hr))
		rc = ctl_mapi_error(hr, "watching the status table");
	ctl_catch_signals();
	while (rc == EX_OK && !ctl_stop) {
		if (FAILED(hr = mapispool_dispatch(session, CTL_DISPATCH_MS)))
			rc = ctl_mapi_error(hr, "watching the status table");
	}
	if (table != NULL) {
		if (connection != 0)
			IMAPITable_Unadvise(table, connection);
		IMAPITable_Release(table);
	}
	if (sink != NULL)
		IMAPIAdviseSink_Release(sink);
	ctl_logoff(session);
	return rc;
}

/* ---- main ---- */

/* Output that did not reach its file is a failure, not a success with a
 * truncated answer. */
static int
ctl_flush_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_warnx("writing the output: %s", strerror(errno));
		return rc == EX_OK ? EX_IOERR : rc;
	}
	return rc;
}

static int
ctl_main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	struct ctl_args args;
	const struct ctl_cmd *cmd;
	HRESULT hr;
	int c, rc;

	/* '+': stop at the command's name; what follows is the command's. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", global_options, NULL)) != -1) {
		switch (c) {
		case 's':
			if (*optarg == '\0') {
				ctl_warnx("option --socket needs a path");
				return ctl_usage_error(NULL);
			}
			ctl.socket = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'h':
			ctl_help();
			return EX_OK;
		case 'V':
			printf("%s %s\n", CTL_NAME, PACKAGE_VERSION);
			return EX_OK;
		case ':':
			ctl_warnx("option %s needs an argument", ctl_bad_option(c, argv));
			return ctl_usage_error(NULL);
		default:
			ctl_warnx("unknown option %s", ctl_bad_option(c, argv));
			return ctl_usage_error(NULL);
		}
	}
	if (optind == argc) {
		ctl_warnx("no command given");
		return ctl_usage_error(NULL);
	}
	if ((cmd = ctl_find(argv[optind])) == NULL) {
		ctl_warnx("unknown command \"%s\"", argv[optind]);
		return ctl_usage_error(NULL);
	}
	if ((rc = ctl_parse_args(cmd, argc - optind, argv + optind, &args)) != EX_OK)
		return rc;
	if (args.opt['j'] != NULL)
		ctl.json = true;

	if (FAILED(hr = MAPIInitialize(NULL)))
		return ctl_mapi_error(hr, "MAPIInitialize");
	rc = cmd->exec(&ctl, &args);
	MAPIUninitialize();
	return rc;
}

int
main(int argc, char **argv)
{
	setlocale(LC_CTYPE, "");
	return ctl_flush_stdout(ctl_main(argc, argv));
}
