/*
 * check_reload.c — SIGHUP reloads the profile without losing or re-sending
 * anything: transports added, removed, changed; queued messages re-routed
 * or held; advise subscribers told; a bad file keeps the running profile.
 */
#include <config.h>

#include <check.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char before[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"[transport:alpha]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/out-a\n"
	"address_types = SMTP\n"
	"send = on-demand\n"
	"[transport:beta]\n"
	"type = pipe\n"
	"command = /bin/false\n"
	"address_types = FAX\n"
	"send = on-demand\n"
	"[transport:steady]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/out-s\n"
	"address_types = STEADY\n"
	"send = on-demand\n";

/* alpha changes its folder, beta goes, gamma comes for FAX. */
static const char after[] =
	"[spooler]\n"
	"profile = test\n"
	"spool_dir = @DIR@/spool\n"
	"store = @DIR@/Maildir\n"
	"[transport:gamma]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/out-c\n"
	"address_types = FAX\n"
	"send = on-demand\n"
	"[transport:alpha]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/out-a2\n"
	"address_types = SMTP\n"
	"send = on-demand\n"
	"[transport:steady]\n"
	"type = maildir\n"
	"deliver_to = @DIR@/out-s\n"
	"address_types = STEADY\n"
	"send = on-demand\n";

static struct daemon_handle d;

static void
write_config(const char *text)
{
	char *fixed = malloc(strlen(text) * 4 + 1), *o = fixed;
	FILE *f;

	for (const char *p = text; *p;) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			o += sprintf(o, "%s", d.dir);
			p += 5;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	f = fopen(d.config, "w");
	fputs(fixed, f);
	fclose(f);
	free(fixed);
}

static json_object *
rpc(int fd, const char *line)
{
	char *reply;
	json_object *j;

	ck_assert_int_eq(harness_send(fd, line, strlen(line)), 0);
	ck_assert_int_eq(harness_send(fd, "\n", 1), 0);
	/* Skip events: the reply is the line with an id. */
	while ((reply = harness_readline(fd, 5000)) != NULL && strstr(reply, "\"id\":") == NULL)
		free(reply);
	ck_assert_ptr_nonnull(reply);
	j = json_tokener_parse(reply);
	free(reply);
	return j;
}

static void
submit(int fd, const char *addrtype, const char *body)
{
	char line[512];
	json_object *j;

	snprintf(line, sizeof(line),
		 "{\"id\":1,\"op\":\"message.submit\",\"sender\":\"a@x\",\"recipients\":"
		 "[{\"address\":\"b@x\",\"addrtype\":\"%s\"}],\"data\":\"%s\"}",
		 addrtype, body);
	j = rpc(fd, line);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "hr_name")), "S_OK");
	json_object_put(j);
}

static int
count_files(const char *sub)
{
	return harness_count_files(d.dir, sub);
}

/* Send SIGHUP and wait for the log to say how it went. */
static void
reload(const char *expect)
{
	char *log;

	kill(d.pid, SIGHUP);
	for (int i = 0; i < 500; i++) {
		log = harness_log(&d);
		if (strstr(log, expect) != NULL) {
			free(log);
			return;
		}
		free(log);
		usleep(10000);
	}
	log = harness_log(&d);
	ck_abort_msg("no \"%s\" in the log:\n%s", expect, log);
}

static char *
table_names(int fd)
{
	json_object *j = rpc(fd, "{\"id\":2,\"op\":\"status.query\",\"columns\":"
				 "[\"PR_DISPLAY_NAME\"]}");
	json_object *rows = json_object_object_get(j, "rows");
	char *names = calloc(1, 256);

	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		strcat(names, json_object_get_string(json_object_object_get(
				      json_object_array_get_idx(rows, i), "PR_DISPLAY_NAME")));
		strcat(names, ",");
	}
	json_object_put(j);
	return names;
}

START_TEST(reload_transports)
{
	int fd, watcher;
	char *names, *events = calloc(1, 65536), *line, *out = NULL;

	ck_assert_int_eq(harness_start(&d, before), 0);
	fd = harness_connect(&d);
	watcher = harness_connect(&d);
	json_object_put(rpc(watcher, "{\"id\":9,\"op\":\"advise\",\"columns\":[\"PR_DISPLAY_NAME\"]}"));
	submit(fd, "SMTP", "smtp-1");
	submit(fd, "SMTP", "smtp-2");
	submit(fd, "FAX", "fax-1");
	submit(fd, "FAX", "fax-2");
	/* steady stays as it was: its offline state too */
	ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "offline", "steady", NULL), 0);

	write_config(after);
	reload("profile reloaded");
	names = table_names(fd);
	ck_assert_str_eq(names, "MAPI Subsystem,MAPI Spooler,Default store,gamma,alpha,steady,");
	free(names);

	/* The watcher heard of the rows that went and came. */
	while ((line = harness_readline(watcher, 300)) != NULL) {
		strncat(events, line, 60000 - strlen(events));
		free(line);
	}
	ck_assert_ptr_nonnull(strstr(events, "TABLE_ROW_DELETED"));
	ck_assert_ptr_nonnull(strstr(events, "\"PR_DISPLAY_NAME\":\"beta\""));
	ck_assert_ptr_nonnull(strstr(events, "TABLE_ROW_ADDED"));
	ck_assert_ptr_nonnull(strstr(events, "\"PR_DISPLAY_NAME\":\"gamma\""));

	/* The fax messages went to gamma, saying why. */
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "--json", "queue", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "re-routed to gamma"));
	free(out);
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "status", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "offline"));
	free(out);

	/* Everything arrives once, where the new profile says. */
	ck_assert_int_eq(harness_ctl(&d, NULL, NULL, "flush", "--no-ui", NULL), 75);
	ck_assert_int_eq(count_files("out-a2/new"), 2);
	ck_assert_int_eq(count_files("out-a/new"), 0);
	ck_assert_int_eq(count_files("out-c/new"), 2);
	close(fd);
	close(watcher);
	free(events);
	ck_assert(harness_alive(&d));
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

START_TEST(reload_bad_file_keeps_profile)
{
	int fd;
	char *names;

	ck_assert_int_eq(harness_start(&d, before), 0);
	fd = harness_connect(&d);
	write_config("[spooler]\nspool_dir = relative\n");
	reload("keeping the running profile");
	names = table_names(fd);
	ck_assert_str_eq(names, "MAPI Subsystem,MAPI Spooler,Default store,alpha,beta,steady,");
	free(names);
	/* and a store that moves needs a restart */
	write_config("[spooler]\nprofile = test\nspool_dir = @DIR@/spool\nstore = @DIR@/other\n");
	reload("cannot change without a restart");
	close(fd);
	ck_assert(harness_alive(&d));
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

/* A transport removed with nobody to take over: its messages are held. */
START_TEST(reload_orphans_held)
{
	int fd;
	char *out = NULL;

	ck_assert_int_eq(harness_start(&d, before), 0);
	fd = harness_connect(&d);
	submit(fd, "FAX", "fax-held");
	write_config("[spooler]\nprofile = test\nspool_dir = @DIR@/spool\nstore = @DIR@/Maildir\n");
	reload("profile reloaded");
	ck_assert_int_eq(harness_ctl(&d, &out, NULL, "--json", "queue", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"held\":true"));
	ck_assert_ptr_nonnull(strstr(out, "removed by a reload"));
	free(out);
	close(fd);
	ck_assert_int_eq(harness_stop(&d), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("reload");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reload_transports);
	tcase_add_test(tc, reload_bad_file_keeps_profile);
	tcase_add_test(tc, reload_orphans_held);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
