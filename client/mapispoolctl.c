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
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
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

static const struct option status_options[] = {
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

static const SizedSPropTagArray(11, status_columns) = {
	11,
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
print_row(char *const *cells, const size_t *widths)
{
	size_t v, pad;

	for (v = 0; v < STATUS_NVIEW; v++) {
		fputs(cells[v], stdout);
		if (v + 1 == STATUS_NVIEW)
			break;
		for (pad = text_width(cells[v]); pad < widths[v] + 2; pad++)
			putchar(' ');
	}
	putchar('\n');
}

/* The human table: a header line, then one line per status object,
 * columns separated by at least two spaces, the last one unpadded.  Row 0
 * of cells is the header, so that it counts in the widths like any row. */
static int
status_print_table(const struct status_rows *sr)
{
	size_t widths[STATUS_NVIEW] = { 0 }, ncells, i, v, w;
	char **cells, **cell;
	int col, rc = EX_OK;

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
			else if ((ULONG)col < sr->rows[i - 1]->cValues)
				*cell = cell_from_prop(&sr->rows[i - 1]->lpProps[col], col);
			else
				*cell = strdup("-");
			if (*cell == NULL) {
				ctl_warnx("out of memory");
				rc = EX_OSERR;
				goto out;
			}
			if ((w = text_width(*cell)) > widths[v])
				widths[v] = w;
		}
	}
	for (i = 0; i <= sr->n; i++)
		print_row(&cells[i * STATUS_NVIEW], widths);
out:
	for (i = 0; i < ncells; i++)
		free(cells[i]);
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
