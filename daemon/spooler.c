/*
 * spooler.c — the spooler's status objects, made from the profile.
 *
 * Rows come in MAPI's order: the subsystem, the spooler, the default store,
 * then the transports in transport order — profile order, with transports
 * that prefer to be last (STATUS_XP_PREFER_LAST) after the others.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mapispool/mapidefs.h>

#include "log.h"
#include "spooler.h"
#include "transport.h"

struct spooler {
	const struct config *cfg;
	struct status_table *table;
};

/* mkdir -p with mode for what it creates; runs at startup, before the
 * event loop serves anyone. */
static int
mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", buf, strerror(errno));
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	struct stat st;

	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	return 0;
}

/* A Maildir is its three subdirectories. */
static int
maildir_prepare(const char *path, char *err, size_t errlen)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	char p[4096];

	for (size_t i = 0; i < 3; i++) {
		if (snprintf(p, sizeof(p), "%s/%s", path, sub[i]) >= (int)sizeof(p)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		if (mkdir_p(p, 0700, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static int
add_transport(struct spooler *sp, const struct transport_config *tc)
{
	const struct transport_type_info *ti = transport_type_info(tc->type);
	struct status_obj *o;
	char text[256];

	o = status_table_add(sp->table, EID_TRANSPORT, tc->name, MAPI_TRANSPORT_PROVIDER,
			     tc->display_name ? tc->display_name : tc->name, ti->display,
			     ti->name);
	if (o == NULL)
		return -1;
	o->methods = STATUS_VALIDATE_STATE | (ti->own_flush ? STATUS_FLUSH_QUEUES : 0);
	if (tc->password_file != NULL)
		o->methods |= STATUS_CHANGE_PASSWORD;
	o->resource_flags = tc->prefer_last ? STATUS_XP_PREFER_LAST : 0;
	if (tc->username != NULL && status_obj_set_identity(o, tc->username) == -1)
		return -1;
	if (ti->backend == NULL) {
		/* Declared in the profile, but this build cannot run it: the
		 * row is listed, without STATUS_AVAILABLE, and says why. */
		o->status_code = 0;
		snprintf(text, sizeof(text), "Unavailable: this build cannot run %s transports",
			 ti->name);
	} else {
		o->status_code = STATUS_AVAILABLE | (ti->upload ? STATUS_OUTBOUND_ENABLED : 0) |
				 (ti->download ? STATUS_INBOUND_ENABLED : 0);
		snprintf(text, sizeof(text), "Available");
	}
	return status_obj_set_string(o, text);
}

static int
add_fixed_rows(struct spooler *sp)
{
	struct status_obj *o;

	o = status_table_add(sp->table, EID_SUBSYSTEM, "subsystem", MAPI_SUBSYSTEM,
			     "MAPI Subsystem", "mapispool", "mapispoold");
	if (o == NULL)
		return -1;
	o->methods = STATUS_VALIDATE_STATE;
	o->status_code = STATUS_AVAILABLE;
	if (status_obj_set_string(o, "Available") == -1)
		return -1;

	o = status_table_add(sp->table, EID_SPOOLER, "spooler", MAPI_SPOOLER, "MAPI Spooler",
			     "mapispool", "mapispoold");
	if (o == NULL)
		return -1;
	o->methods = STATUS_VALIDATE_STATE | STATUS_FLUSH_QUEUES;
	o->status_code = STATUS_AVAILABLE;
	if (status_obj_set_string(o, "Available") == -1)
		return -1;

	o = status_table_add(sp->table, EID_STORE, "store", MAPI_STORE_PROVIDER, "Default store",
			     "Maildir message store", "maildir");
	if (o == NULL)
		return -1;
	o->methods = STATUS_VALIDATE_STATE;
	o->resource_flags = STATUS_DEFAULT_STORE;
	o->status_code = STATUS_AVAILABLE;
	if (status_obj_set_string(o, "Available") == -1)
		return -1;
	return 0;
}

struct spooler *
spooler_new(const struct config *cfg, char *err, size_t errlen)
{
	struct spooler *sp;

	if (mkdir_p(cfg->spooler.spool_dir, 0700, err, errlen) == -1 ||
	    maildir_prepare(cfg->spooler.store, err, errlen) == -1)
		return NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL || (sp->table = status_table_new()) == NULL)
		goto nomem;
	sp->cfg = cfg;
	if (add_fixed_rows(sp) == -1)
		goto nomem;
	/* Transport order: profile order, prefer_last ones after the rest. */
	for (int last = 0; last <= 1; last++)
		for (size_t i = 0; i < cfg->n_transports; i++)
			if (cfg->transports[i].prefer_last == (bool)last &&
			    add_transport(sp, &cfg->transports[i]) == -1)
				goto nomem;
	return sp;
nomem:
	snprintf(err, errlen, "out of memory");
	spooler_free(sp);
	return NULL;
}

void
spooler_free(struct spooler *sp)
{
	if (sp == NULL)
		return;
	status_table_free(sp->table);
	free(sp);
}

struct status_table *
spooler_status_table(struct spooler *sp)
{
	return sp->table;
}

const char *
spooler_profile_name(const struct spooler *sp)
{
	return sp->cfg->spooler.profile_name;
}
