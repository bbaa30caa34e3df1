/*
 * check_config.c — the profile parser: good files, one bad file per kind of
 * mistake (each must name file, line and problem), the value parsers, the
 * embedded profile, the search order and the shipped etc/mapispool.conf.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"

/* As config.c has it when the build does not say. */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define SEC 1000
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define KIB 1024ULL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

/* Short enough that every path built from it fits PATH_MAX. */
static char tmpdir[256];

static void
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	int n = snprintf(tmpdir, sizeof(tmpdir), "%s/check_config.XXXXXX", base);

	ck_assert_msg(n > 0 && (size_t)n < sizeof(tmpdir), "TMPDIR too long");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
remove_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void
teardown_tmpdir(void)
{
	remove_tree(tmpdir);
}

/* Write len bytes (text may hold NULs) to tmpdir/name; returns the path. */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static void
mkdirs(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
}

static const struct transport_config *
find_transport(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_transports; i++)
		if (strcmp(cfg->transports[i].name, name) == 0)
			return &cfg->transports[i];
	ck_abort_msg("no transport %s", name);
	return NULL;
}

/* ---- good files ---- */

/* SPEC §8, verbatim. */
static const char spec_example[] =
	"[spooler]\n"
	"spool_dir = /var/spool/mapispool\n"
	"store     = /var/lib/mapispool/Maildir      ; default store (Maildir)\n"
	"socket_mode = 0660\n"
	"max_message_size = 32M\n"
	"retry_min = 5m\n"
	"retry_max = 1h\n"
	"max_lifetime = 5d                           ; then a non-delivery report\n"
	"\n"
	"[transport:relay]                           ; profile order = file order\n"
	"type = smtp\n"
	"url = smtp://mail.example.net:587\n"
	"starttls = required\n"
	"username = alice\n"
	"password_file = /etc/mapispool/relay.pass   ; or: password = prompt\n"
	"address_types = SMTP\n"
	"send = immediate                            ; immediate | scheduled | on-demand\n"
	"schedule = 10m\n"
	"\n"
	"[transport:inbox]\n"
	"type = imap                                 ; or pop3\n"
	"url = imaps://mail.example.net/INBOX\n"
	"username = alice\n"
	"password_file = /etc/mapispool/inbox.pass\n"
	"poll = 5m                                   ; 0: only on demand\n"
	"\n"
	"[transport:local]\n"
	"type = maildir\n"
	"deliver_to = /var/mail/outbox               ; upload target\n"
	"pickup     = /var/mail/dropbox              ; download source\n"
	"\n"
	"[transport:fax]\n"
	"type = pipe\n"
	"command = /usr/sbin/sendmail -i -f {sender} -- {recipients}\n"
	"address_types = FAX\n";

static void
check_spec_example(const struct config *cfg)
{
	const struct spooler_config *s = &cfg->spooler;
	const struct transport_config *t;

	ck_assert_str_eq(s->spool_dir, "/var/spool/mapispool");
	ck_assert_str_eq(s->store, "/var/lib/mapispool/Maildir");
	ck_assert_uint_eq(s->socket_mode, 0660);
	ck_assert_uint_eq(s->max_message_size, 32 * MIB);
	ck_assert_int_eq(s->retry_min, 5 * MIN);
	ck_assert_int_eq(s->retry_max, HOUR);
	ck_assert_int_eq(s->max_lifetime, 5 * DAY);
	ck_assert_uint_eq(cfg->n_transports, 4);
	ck_assert_str_eq(cfg->transports[0].name, "relay");
	ck_assert_str_eq(cfg->transports[1].name, "inbox");
	ck_assert_str_eq(cfg->transports[2].name, "local");
	ck_assert_str_eq(cfg->transports[3].name, "fax");

	t = &cfg->transports[0];
	ck_assert_int_eq(t->type, TRANSPORT_SMTP);
	ck_assert_uint_eq(t->line, 10);
	ck_assert_str_eq(t->url, "smtp://mail.example.net:587");
	ck_assert_int_eq(t->starttls, STARTTLS_REQUIRED);
	ck_assert_str_eq(t->username, "alice");
	ck_assert_str_eq(t->password_file, "/etc/mapispool/relay.pass");
	ck_assert(!t->password_prompt);
	ck_assert_uint_eq(t->n_addrtypes, 1);
	ck_assert_str_eq(t->addrtypes[0], "SMTP");
	ck_assert_int_eq(t->send, SEND_IMMEDIATE);
	ck_assert_int_eq(t->schedule, 10 * MIN);
	ck_assert_str_eq(t->display_name, "relay");

	t = &cfg->transports[1];
	ck_assert_int_eq(t->type, TRANSPORT_IMAP);
	ck_assert_str_eq(t->url, "imaps://mail.example.net/INBOX");
	ck_assert_int_eq(t->poll, 5 * MIN);
	ck_assert_uint_eq(t->n_addrtypes, 0);

	t = &cfg->transports[2];
	ck_assert_int_eq(t->type, TRANSPORT_MAILDIR);
	ck_assert_str_eq(t->deliver_to, "/var/mail/outbox");
	ck_assert_str_eq(t->pickup, "/var/mail/dropbox");
	ck_assert_int_eq(t->poll, 0);

	t = &cfg->transports[3];
	ck_assert_int_eq(t->type, TRANSPORT_PIPE);
	ck_assert_str_eq(t->command, "/usr/sbin/sendmail -i -f {sender} -- {recipients}");
	ck_assert_str_eq(t->addrtypes[0], "FAX");
}

/* Every key of every type, some written in the other accepted forms. */
static const char every_key[] =
	"\xef\xbb\xbf; a byte order mark, comments of both kinds\n"
	"# and keys in any order, indented or not\n"
	"[spooler]\n"
	"  profile = office\n"
	"\tspool_dir = /srv/spool\n"
	"store = /srv/Maildir\n"
	"socket_mode = 0640\n"
	"socket_group = mail\n"
	"max_message_size = 10m\n"
	"retry_min = 30s\n"
	"retry_max = 2h\n"
	"max_lifetime = 3d\n"
	"notify_delay = 4h\n"
	"max_line_size = 64K\n"
	"max_clients = 10\n"
	"max_clients_per_uid = 5\n"
	"max_pending = 1\n"
	"idle_timeout = 30m\r\n"
	"request_timeout = 0.5s\n"
	"max_output_size = 1M\n"
	"allow_users = root, 1234\n"
	"allow_groups = root\n"
	"allow_read_users = 0 0\n"
	"allow_read_groups = 4243,root\n"
	"\n"
	"[transport:smtp.out-1]\n"
	"url = smtps://relay.example.org\n"
	"type = SMTP\n"
	"display_name = Outgoing relay\n"
	"address_types = SMTP, X400 EX\n"
	"domains = example.org,example.com\n"
	"prefer_last = yes\n"
	"timeout = 30s\n"
	"starttls = opportunistic\n"
	"username = bob@example.org\n"
	"password = prompt\n"
	"ca_file = /etc/ssl/certs/ca.pem\n"
	"helo = host.example.org\n"
	"max_connections = 4\n"
	"send = scheduled\n"
	"schedule = 1h\n"
	"[transport:pop]\n"
	"type = pop3\n"
	"url = pop3s://pop.example.org\n"
	"username = bob\n"
	"password_file = /etc/mapispool/pop.pass\n"
	"keep = on\n"
	"[transport:imap]\n"
	"type = imap\n"
	"url = imap://imap.example.org\n"
	"folder = Archive/2024\n"
	"keep = false\n"
	"poll = 0\n"
	"[transport:drop]\n"
	"type = maildir\n"
	"pickup = /srv/dropbox\n"
	"poll = 1m\n"
	"[transport:fax]\n"
	"type = pipe\n"
	"command = \"/opt/fax tools/send\" -n \"{recipients}\"\n"
	"send = on-demand\n"
	"address_types = FAX";

static void
check_every_key(const struct config *cfg)
{
	const struct spooler_config *s = &cfg->spooler;
	const struct transport_config *t;

	ck_assert_str_eq(s->profile_name, "office");
	ck_assert_str_eq(s->spool_dir, "/srv/spool");
	ck_assert_str_eq(s->store, "/srv/Maildir");
	ck_assert_uint_eq(s->socket_mode, 0640);
	ck_assert_str_eq(s->socket_group, "mail");
	ck_assert_uint_eq(s->max_message_size, 10 * MIB);
	ck_assert_int_eq(s->retry_min, 30 * SEC);
	ck_assert_int_eq(s->retry_max, 2 * HOUR);
	ck_assert_int_eq(s->max_lifetime, 3 * DAY);
	ck_assert_int_eq(s->notify_delay, 4 * HOUR);
	ck_assert_uint_eq(s->max_line_size, 64 * KIB);
	ck_assert_uint_eq(s->max_clients, 10);
	ck_assert_uint_eq(s->max_pending, 1);
	ck_assert_int_eq(s->idle_timeout, 30 * MIN);
	ck_assert_uint_eq(s->max_clients_per_uid, 5);
	ck_assert_int_eq(s->request_timeout, 500);
	ck_assert_uint_eq(s->max_output_size, MIB);
	/* names resolved, numbers taken as they are */
	ck_assert_uint_eq(s->allow_users.n, 2);
	ck_assert_uint_eq(s->allow_users.ids[0], 0);
	ck_assert_uint_eq(s->allow_users.ids[1], 1234);
	ck_assert_uint_eq(s->allow_groups.n, 1);
	ck_assert_uint_eq(s->allow_groups.ids[0], 0);
	ck_assert_uint_eq(s->allow_read_users.n, 2);
	ck_assert_uint_eq(s->allow_read_groups.n, 2);
	ck_assert_uint_eq(s->allow_read_groups.ids[0], 4243);
	ck_assert_uint_eq(s->allow_read_groups.ids[1], 0);
	ck_assert_uint_eq(cfg->n_transports, 5);

	t = find_transport(cfg, "smtp.out-1");
	ck_assert_int_eq(t->type, TRANSPORT_SMTP);
	ck_assert_uint_eq(t->line, 26);
	ck_assert_str_eq(t->display_name, "Outgoing relay");
	ck_assert_uint_eq(t->n_addrtypes, 3);
	ck_assert_str_eq(t->addrtypes[0], "SMTP");
	ck_assert_str_eq(t->addrtypes[1], "X400");
	ck_assert_str_eq(t->addrtypes[2], "EX");
	ck_assert_uint_eq(t->n_domains, 2);
	ck_assert_str_eq(t->domains[0], "example.org");
	ck_assert_str_eq(t->domains[1], "example.com");
	ck_assert(t->prefer_last);
	ck_assert_int_eq(t->timeout, 30 * SEC);
	ck_assert_int_eq(t->starttls, STARTTLS_OPPORTUNISTIC);
	ck_assert_str_eq(t->username, "bob@example.org");
	ck_assert(t->password_prompt);
	ck_assert_ptr_null(t->password_file);
	ck_assert_str_eq(t->ca_file, "/etc/ssl/certs/ca.pem");
	ck_assert_str_eq(t->helo, "host.example.org");
	ck_assert_uint_eq(t->max_connections, 4);
	ck_assert_int_eq(t->send, SEND_SCHEDULED);
	ck_assert_int_eq(t->schedule, HOUR);

	t = find_transport(cfg, "pop");
	ck_assert_int_eq(t->type, TRANSPORT_POP3);
	ck_assert(t->keep);
	ck_assert_int_eq(t->poll, 5 * MIN);
	ck_assert_int_eq(t->timeout, 5 * MIN);

	t = find_transport(cfg, "imap");
	ck_assert_int_eq(t->type, TRANSPORT_IMAP);
	ck_assert_str_eq(t->folder, "Archive/2024");
	ck_assert(!t->keep);
	ck_assert_int_eq(t->poll, 0);

	t = find_transport(cfg, "drop");
	ck_assert_ptr_null(t->deliver_to);
	ck_assert_str_eq(t->pickup, "/srv/dropbox");
	ck_assert_int_eq(t->poll, MIN);

	t = find_transport(cfg, "fax");
	ck_assert_str_eq(t->command, "\"/opt/fax tools/send\" -n \"{recipients}\"");
	ck_assert_int_eq(t->send, SEND_ON_DEMAND);
}

/* Nothing set: every documented default. */
static void
check_defaults(const struct config *cfg)
{
	const struct spooler_config *s = &cfg->spooler;

	ck_assert_str_eq(s->profile_name, "default");
	ck_assert_str_eq(s->store, "/var/lib/mapispool/Maildir");
	ck_assert_ptr_nonnull(s->spool_dir);
	ck_assert_int_eq(s->spool_dir[0], '/');
	ck_assert_uint_eq(s->socket_mode, 0660);
	ck_assert_ptr_null(s->socket_group);
	ck_assert_uint_eq(s->max_message_size, 32 * MIB);
	ck_assert_int_eq(s->retry_min, 5 * MIN);
	ck_assert_int_eq(s->retry_max, HOUR);
	ck_assert_int_eq(s->max_lifetime, 5 * DAY);
	ck_assert_int_eq(s->notify_delay, 0);
	ck_assert_uint_eq(s->max_line_size, 32 * MIB * 4 / 3 + 64 * KIB);
	ck_assert_uint_eq(s->max_clients, 256);
	ck_assert_uint_eq(s->max_pending, 64);
	ck_assert_int_eq(s->idle_timeout, 0);
	ck_assert_uint_eq(s->max_clients_per_uid, 32);
	ck_assert_int_eq(s->request_timeout, 30 * SEC);
	ck_assert_uint_eq(s->max_output_size, 16 * MIB);
	ck_assert_uint_eq(s->allow_users.n, 0);
	ck_assert_uint_eq(s->allow_groups.n, 0);
	ck_assert_uint_eq(s->allow_read_users.n, 0);
	ck_assert_uint_eq(s->allow_read_groups.n, 0);
	ck_assert_uint_eq(cfg->n_transports, 0);
}

static void
check_transport_defaults(const struct config *cfg)
{
	const struct transport_config *t = &cfg->transports[0];

	ck_assert_uint_eq(cfg->n_transports, 2);
	ck_assert_str_eq(t->display_name, "out");
	ck_assert_int_eq(t->send, SEND_IMMEDIATE);
	ck_assert_int_eq(t->schedule, 10 * MIN);
	ck_assert_int_eq(t->timeout, 5 * MIN);
	ck_assert_uint_eq(t->max_connections, 1);
	ck_assert_int_eq(t->starttls, STARTTLS_REQUIRED);
	ck_assert(!t->prefer_last);
	ck_assert_uint_eq(t->n_addrtypes, 0);
	ck_assert_ptr_null(t->domains);
	ck_assert_int_eq(cfg->transports[1].poll, 0);
	/* max_line_size follows a smaller max_message_size */
	ck_assert_uint_eq(cfg->spooler.max_line_size, 1 * MIB * 4 / 3 + 64 * KIB);
}

/* A line of exactly the maximum length is fine. */
static void
check_long_line(const struct config *cfg)
{
	ck_assert_uint_eq(strlen(cfg->transports[0].display_name), CONFIG_MAX_LINE - 15);
	ck_assert_uint_eq(cfg->n_transports, 64);
}

static char *
max_length_text(void)
{
	static char text[80 * 64 + 256];
	int n;

	n = snprintf(text, sizeof(text), "[transport:t0]\ntype=maildir\npickup=/p\n"
		     "display_name = %0*d\n", CONFIG_MAX_LINE - 15, 0);
	for (int i = 1; i < CONFIG_MAX_TRANSPORTS; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "[transport:t%d]\ntype=maildir\npickup=/p\n", i);
	return text;
}

static const struct good {
	const char *text;
	void (*check)(const struct config *);
} goods[] = {
	{ spec_example, check_spec_example },
	{ every_key, check_every_key },
	{ "", check_defaults },
	{ "; only a comment\n[spooler]\n", check_defaults },
	{ "[spooler]\nmax_message_size = 1M\n"
	  "[transport:out]\ntype = smtp\nurl = smtp://localhost\n"
	  "[transport:in]\ndeliver_to = /x\ntype = maildir\n",
	  check_transport_defaults },
	{ NULL, check_long_line },
};

START_TEST(test_good)
{
	const struct good *g = &goods[_i];
	const char *text = g->text != NULL ? g->text : max_length_text();
	const char *path = write_file("good.conf", text, strlen(text));
	struct config cfg;
	char err[256] = "untouched";

	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.path, path);
	g->check(&cfg);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.transports);
	ck_assert_ptr_null(cfg.path);

	ck_assert_msg(config_load_string(text, "string", &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_null(cfg.path);
	g->check(&cfg);
	config_free(&cfg);
}
END_TEST

/* ---- bad files: "bad.conf:LINE: problem" ---- */

#define NUL_TEXT "[spooler]\nretry_min = 5m\nretry_max = 1h\0\nmax_lifetime = 1d\n"

static const struct bad {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	const char *want;	/* after "bad.conf:" */
} bads[] = {
	{ "[spooler]\n[mail]\nx = 1\n", 0, "2: unknown section [mail]" },
	{ "[spooler]\n[transport:relay]\ntype = smtp\nurl = smtp://h\n\nsned = immediate\n", 0,
	  "6: unknown key \"sned\" in [transport:relay] (type smtp)" },
	{ "[transport:in]\ntype = pop3\nurl = pop3://h\nfolder = INBOX\n", 0,
	  "4: unknown key \"folder\" in [transport:in] (type pop3): folder is for imap" },
	{ "[spooler]\nsend = immediate\n", 0, "2: unknown key \"send\" in [spooler]" },
	{ "[spooler]\n\n[transport:x]\nurl = smtp://h\n[transport:y]\n", 0,
	  "3: [transport:x] has no type" },
	{ "[transport:x]\n", 0, "1: [transport:x] has no type" },
	{ "[transport:x]\ntype = fax\n", 0, "2: unknown transport type \"fax\"" },
	{ "[transport:a]\ntype=maildir\npickup=/p\n[transport:b]\ntype=maildir\npickup=/p\n"
	  "[transport:a]\ntype=maildir\npickup=/q\n", 0,
	  "7: duplicate [transport:a] (first on line 1)" },
	{ "[transport:a]\ntype=maildir\npickup=/p\n[transport:a]\ntype=maildir\n", 0,
	  "4: duplicate [transport:a] (first on line 1)" },
	{ "[spooler]\nretry_min = 1m\n[spooler]\n", 0, "3: duplicate [spooler] (first on line 1)" },
	{ "[spooler]\nretry_min = 1m\nretry_max = 2h\nretry_min = 2m\n", 0,
	  "4: duplicate key \"retry_min\" in [spooler] (first on line 2)" },
	{ "[transport:a]\ntype=maildir\npickup=/p\npickup=/q\n", 0,
	  "4: duplicate key \"pickup\" in [transport:a] (type maildir) (first on line 3)" },
	{ "[transport:a]\ntype=maildir\ntype=smtp\n", 0, "3: duplicate key \"type\"" },
	{ "[transport:re lay]\ntype=maildir\n", 0, "1: bad transport name \"re lay\"" },
	{ "[transport:]\n", 0, "1: bad transport name \"\"" },
	{ "[transport:a/b]\n", 0, "1: bad transport name \"a/b\"" },
	{ "[transport:"
	  "x1234567890123456789012345678901234567890123456789012345678901234]\n",
	  0, "1: bad transport name" },
	{ "[spooler]\nspool_dir = var/spool\n", 0,
	  "2: spool_dir must be an absolute path, not \"var/spool\"" },
	{ "[transport:l]\ntype = maildir\ndeliver_to = ~/outbox\n", 0,
	  "3: deliver_to must be an absolute path" },
	{ "[transport:r]\ntype = smtp\nurl = smtp://h\npassword_file = relay.pass\n", 0,
	  "4: password_file must be an absolute path" },
	{ "[spooler]\nretry_min = 5 minutes\n", 0,
	  "2: bad duration \"5 minutes\" for retry_min" },
	{ "[spooler]\nretry_max = -1h\n", 0, "2: bad duration \"-1h\" for retry_max" },
	{ "[spooler]\nretry_min = 0\n", 0, "2: retry_min must be from 10ms to 365d" },
	{ "[spooler]\nmax_message_size = 32MB\n", 0,
	  "2: bad size \"32MB\" for max_message_size" },
	{ "[spooler]\nmax_message_size = 512\n", 0, "2: max_message_size must be from 1K to 1G" },
	{ "[spooler]\nmax_line_size = 1K\n", 0, "2: max_line_size must be from 64K to 2G" },
	{ "[spooler]\nretry_min = 2h\nretry_max = 1h\nmax_lifetime = 5d\n", 0,
	  "3: retry_min (2h) is longer than retry_max (1h)" },
	{ "[spooler]\nretry_min = 2h\n", 0, "2: retry_min (2h) is longer than retry_max (1h)" },
	{ "[transport:r]\ntype = smtp\nurl = smtp://h\npassword = hunter2\n", 0,
	  "4: password may only be \"prompt\": put the password in a file and name it with "
	  "password_file" },
	{ "[transport:r]\ntype = imap\nurl = imap://h\npassword_file = /p\npassword = prompt\n",
	  0, "5: password = prompt and password_file exclude each other" },
	{ "[transport:r]\ntype = smtp\nurl = smtp://alice:secret@h\n", 0,
	  "3: url must not hold credentials" },
	{ "[spooler]\n; x\nprofile = "
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  0, "3: line too long (max 199 bytes)" },
	{ NUL_TEXT, sizeof(NUL_TEXT) - 1, "3: NUL byte in line" },
	/* 64-byte lines: the byte past the limit starts line 16385 */
	{ NULL, CONFIG_MAX_FILE_SIZE + 1, "16385: file too large (max 1048576 bytes)" },
	{ "[transport:r]\ntype = smtp\nusername = a\n\n[spooler]\n", 0,
	  "1: [transport:r] (type smtp) needs a url" },
	{ "[transport:r]\ntype = pop3\nurl = imap://h\n", 0,
	  "3: url for type pop3 must start with pop3:// or pop3s://" },
	{ "[transport:p]\ntype = pipe\n", 0, "1: [transport:p] (type pipe) needs a command" },
	{ "[transport:p]\ntype = pipe\ncommand = \"/bin/fax -n\n", 0,
	  "3: command has an unterminated \"" },
	{ "[transport:p]\ntype = pipe\ncommand = \"\" -n\n", 0, "3: command names no program" },
	{ "[transport:m]\ntype = maildir\nsend = on-demand\n", 0,
	  "1: [transport:m] (type maildir) needs deliver_to, pickup or both" },
	{ "retry_min = 5m\n[spooler]\n", 0, "1: key \"retry_min\" outside any section" },
	{ "[spooler]\nretry_min\n", 0, "2: syntax error" },
	{ "[spooler\nretry_min = 1m\n", 0, "1: section header without \"]\"" },
	{ "[spooler]\nsocket_mode = 0778\n", 0, "2: socket_mode must be octal permissions" },
	{ "[spooler]\nsocket_mode = 01777\n", 0, "2: socket_mode must be octal permissions" },
	{ "[spooler]\nmax_clients = 0\n", 0, "2: max_clients must be a number from 1 to 65535" },
	{ "[spooler]\nmax_pending = 65536\n", 0, "2: max_pending must be a number from 1 to 65535" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\nmax_connections = 65\n", 0,
	  "4: max_connections must be a number from 1 to 64" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\nstarttls = maybe\n", 0,
	  "4: starttls must be required, opportunistic or no" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\nsend = later\n", 0,
	  "4: send must be immediate, scheduled or on-demand" },
	{ "[transport:r]\ntype=imap\nurl=imap://h\nkeep = maybe\n", 0,
	  "4: keep must be yes or no" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\naddress_types = SMTP, SM:TP\n", 0,
	  "4: bad address type \"SM:TP\"" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\naddress_types = SMTP smtp SMTP\n", 0,
	  "4: address type \"SMTP\" listed twice" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\naddress_types = ,\n", 0,
	  "4: address_types lists no address type" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\ndomains = a.example, b@example\n", 0,
	  "4: bad domain \"b@example\"" },
	{ "[transport:r]\ntype=smtp\nurl=smtp://h\nhelo =\n", 0,
	  "4: key \"helo\" has no value" },
	{ "[spooler]\nidle_timeout = 5ms\n", 0,
	  "2: idle_timeout must be 0 (off) or from 10ms to 365d" },
	{ "[spooler]\nrequest_timeout = 5ms\n", 0,
	  "2: request_timeout must be 0 (off) or from 10ms to 365d" },
	{ "[spooler]\nmax_clients_per_uid = 0\n", 0,
	  "2: max_clients_per_uid must be a number from 1 to 65535" },
	{ "[spooler]\nmax_output_size = 1K\n", 0, "2: max_output_size must be from 64K to 2G" },
	{ "[spooler]\n\nallow_users = root, no-such-user.mapispool\n", 0,
	  "3: unknown user \"no-such-user.mapispool\" in allow_users" },
	{ "[spooler]\nallow_read_groups = no-such-group.mapispool\n", 0,
	  "2: unknown group \"no-such-group.mapispool\" in allow_read_groups" },
	{ "[spooler]\nallow_groups = ,\n", 0, "2: allow_groups lists no group" },
	{ "[spooler]\nallow_read_users = 4294967295\n", 0,
	  "2: user id 4294967295 in allow_read_users is out of range" },
	{ "[spooler]\nallow_users = root \x01x\n", 0,
	  "2: allow_users contains a control character" },
	{ "[spooler]\nprofile = my profile\n", 0, "2: bad profile \"my profile\"" },
	{ "[transport:m]\ntype = maildir\npickup = /p\nschedule = 0\n", 0,
	  "4: schedule must be from 10ms to 365d" },
	/* the first error in line order, even across the type check */
	{ "[transport:m]\npikcup = /p\ntype = maildir\nschedule = 0\n", 0,
	  "2: unknown key \"pikcup\" in [transport:m] (type maildir)" },
	{ "[spooler]\nx = 1\ny\n", 0, "2: unknown key \"x\" in [spooler]" },
	{ "[spooler]\ny\nx = 1\n", 0, "2: syntax error" },
};

/* len bytes of 64-byte comment lines, and a NUL after them. */
static char *
padding_text(size_t len)
{
	char *text = malloc(len + 1);

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < len; i++)
		text[i] = i % 64 == 0 ? ';' : i % 64 == 63 ? '\n' : 'x';
	text[len] = '\0';
	return text;
}

START_TEST(test_bad)
{
	const struct bad *b = &bads[_i];
	size_t len = b->len != 0 ? b->len : strlen(b->text);
	char *big = b->text == NULL ? padding_text(len) : NULL;
	const char *text = big != NULL ? big : b->text;
	const char *path = write_file("bad.conf", text, len);
	char want[512], err[512];
	struct config cfg;

	snprintf(want, sizeof(want), "%s/bad.conf:%s", tmpdir, b->want);
	memset(&cfg, 0xa5, sizeof(cfg));
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\", want \"%s...\"", err,
		      want);
	/* on error the config is empty and needs no config_free */
	ck_assert_ptr_null(cfg.transports);
	ck_assert_uint_eq(cfg.n_transports, 0);
	ck_assert_ptr_null(cfg.spooler.spool_dir);
	ck_assert_ptr_null(cfg.path);

	/* text without NULs gives the same message from a string */
	if (memchr(text, '\0', len) == NULL) {
		snprintf(want, sizeof(want), "conf:%s", b->want);
		ck_assert_int_eq(config_load_string(text, "conf", &cfg, err, sizeof(err)), -1);
		ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\", want \"%s\"",
			      err, want);
	}
	free(big);
}
END_TEST

/* A one-byte and a zero-byte buffer still get a terminated message. */
START_TEST(test_small_err)
{
	struct config cfg;
	char err[8];

	ck_assert_int_eq(config_load_string("[x]\n", "conf", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "conf:1:");
	ck_assert_int_eq(config_load_string("[x]\n", "conf", &cfg, err, 1), -1);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(config_load_string("[x]\n", "conf", &cfg, NULL, 0), -1);
}
END_TEST

START_TEST(test_load_errors)
{
	struct config cfg;
	char err[512], want[PATH_MAX + 64];

	ck_assert_int_eq(config_load("/nonexistent/mapispool.conf", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/mapispool.conf: No such file or directory");
	ck_assert_int_eq(config_load(tmpdir, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	ck_assert_str_eq(err, want);
}
END_TEST

/* Limits are exact: at the limit is fine, one past it is not. */
START_TEST(test_limits)
{
	static char text[CONFIG_MAX_TRANSPORTS * 48 + 256];
	struct config cfg;
	char err[512], *big;
	int n = 0;

	big = padding_text(CONFIG_MAX_FILE_SIZE);
	ck_assert_msg(config_load(write_file("max.conf", big, CONFIG_MAX_FILE_SIZE), &cfg, err,
				  sizeof(err)) == 0,
		      "%s", err);
	config_free(&cfg);
	free(big);

	snprintf(text, sizeof(text), "[spooler]\nprofile = %0*d\n", CONFIG_MAX_LINE - 9, 0);
	ck_assert_int_eq(strlen(text), 10 + (CONFIG_MAX_LINE + 1) + 1);
	ck_assert_int_eq(config_load_string(text, "conf", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "conf:2: line too long (max 199 bytes)");

	for (int i = 0; i <= CONFIG_MAX_TRANSPORTS; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "[transport:t%d]\ntype=maildir\npickup=/p\n", i);
	ck_assert_int_eq(config_load_string(text, "conf", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "conf:193: more than 64 transports");
}
END_TEST

/* ---- value parsers ---- */

static const struct duration_case {
	const char *s;
	bool ok;
	msec_t ms;
} durations[] = {
	{ "5m", true, 5 * MIN }, { "1h", true, HOUR }, { "5d", true, 5 * DAY },
	{ "10s", true, 10 * SEC }, { "250ms", true, 250 }, { "0.5s", true, 500 },
	{ "30", true, 30 * SEC }, { "0", true, 0 }, { "0.5", true, 500 },
	{ "1.25m", true, 75 * SEC }, { "0.001s", true, 1 }, { "365d", true, 365LL * DAY },
	{ "0ms", true, 0 }, { "007s", true, 7 * SEC },
	{ "0.0001s", false, 0 }, { "1.5ms", false, 0 }, { "366d", false, 0 },
	{ "-5m", false, 0 }, { "+5m", false, 0 }, { "", false, 0 }, { "m", false, 0 },
	{ "5x", false, 0 }, { "5 m", false, 0 }, { " 5m", false, 0 }, { "5m ", false, 0 },
	{ "5M", false, 0 }, { "5mm", false, 0 }, { ".5s", false, 0 }, { "5.s", false, 0 },
	{ "1e3", false, 0 }, { "0x10", false, 0 }, { "1.2.3s", false, 0 },
	{ "99999999999999999999999", false, 0 }, { "0.1234567891s", false, 0 },
};

START_TEST(test_duration)
{
	const struct duration_case *c = &durations[_i];
	msec_t ms = -42;

	ck_assert_msg(config_parse_duration(c->s, &ms) == c->ok, "\"%s\"", c->s);
	ck_assert_msg(ms == (c->ok ? c->ms : -42), "\"%s\": %lld", c->s, (long long)ms);
}
END_TEST

static const struct size_case {
	const char *s;
	bool ok;
	uint64_t v;
} sizes[] = {
	{ "1024", true, 1024 }, { "64K", true, 64 * KIB }, { "32M", true, 32 * MIB },
	{ "1G", true, GIB }, { "1k", true, KIB }, { "2m", true, 2 * MIB }, { "3g", true, 3 * GIB },
	{ "0", true, 0 }, { "16777216G", true, 16777216 * GIB },
	{ "17179869184G", false, 0 }, { "1KB", false, 0 }, { "1KiB", false, 0 },
	{ "1.5M", false, 0 }, { "-1", false, 0 }, { "", false, 0 }, { "K", false, 0 },
	{ "1T", false, 0 }, { " 1K", false, 0 }, { "1 K", false, 0 },
	{ "99999999999999999999", false, 0 },
};

START_TEST(test_size)
{
	const struct size_case *c = &sizes[_i];
	uint64_t v = 42;

	ck_assert_msg(config_parse_size(c->s, &v) == c->ok, "\"%s\"", c->s);
	ck_assert_msg(v == (c->ok ? c->v : 42), "\"%s\": %llu", c->s, (unsigned long long)v);
}
END_TEST

static const struct bool_case {
	const char *s;
	bool ok, v;
} bools[] = {
	{ "yes", true, true }, { "no", true, false }, { "true", true, true },
	{ "false", true, false }, { "on", true, true }, { "off", true, false },
	{ "1", true, true }, { "0", true, false }, { "YES", true, true }, { "Off", true, false },
	{ "", false, false }, { "y", false, false }, { "2", false, false },
	{ "yes please", false, false }, { "enabled", false, false },
};

START_TEST(test_bool)
{
	const struct bool_case *c = &bools[_i];
	bool v = !c->v;

	ck_assert_msg(config_parse_bool(c->s, &v) == c->ok, "\"%s\"", c->s);
	if (c->ok)
		ck_assert_msg(v == c->v, "\"%s\"", c->s);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(transport_type_name(TRANSPORT_MAILDIR), "maildir");
	ck_assert_str_eq(transport_type_name(TRANSPORT_SMTP), "smtp");
	ck_assert_str_eq(transport_type_name(TRANSPORT_POP3), "pop3");
	ck_assert_str_eq(transport_type_name(TRANSPORT_IMAP), "imap");
	ck_assert_str_eq(transport_type_name(TRANSPORT_PIPE), "pipe");
	ck_assert_str_eq(send_mode_name(SEND_IMMEDIATE), "immediate");
	ck_assert_str_eq(send_mode_name(SEND_SCHEDULED), "scheduled");
	ck_assert_str_eq(send_mode_name(SEND_ON_DEMAND), "on-demand");
}
END_TEST

/* ---- the embedded profile ---- */

START_TEST(test_default)
{
	struct config cfg;
	const struct transport_config *t;
	char err[256];

	ck_assert_msg(config_default("/home/u/.local/state/mapispool/", &cfg, err, sizeof(err)) ==
			      0,
		      "%s", err);
	ck_assert_ptr_null(cfg.path);
	ck_assert_str_eq(cfg.spooler.profile_name, "default");
	ck_assert_str_eq(cfg.spooler.spool_dir, "/home/u/.local/state/mapispool/spool");
	ck_assert_str_eq(cfg.spooler.store, "/home/u/.local/state/mapispool/Maildir");
	ck_assert_uint_eq(cfg.spooler.socket_mode, 0600);
	ck_assert_uint_eq(cfg.n_transports, 1);
	t = &cfg.transports[0];
	ck_assert_str_eq(t->name, "local");
	ck_assert_int_eq(t->type, TRANSPORT_MAILDIR);
	ck_assert_str_eq(t->deliver_to, "/home/u/.local/state/mapispool/outbox");
	ck_assert_str_eq(t->pickup, "/home/u/.local/state/mapispool/dropbox");
	ck_assert_int_eq(t->send, SEND_IMMEDIATE);
	ck_assert_int_eq(t->poll, 0);
	config_free(&cfg);

	ck_assert_int_eq(config_default("relative", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "embedded profile:2: spool_dir must be an absolute path, not "
			      "\"relative/spool\"");
	ck_assert_ptr_null(cfg.transports);
	ck_assert_int_eq(config_default("/a\n[x]", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "embedded profile: base directory contains a control character");
}
END_TEST

/* ---- the search order ---- */

/* config_find as a user other than root: in a child, since root drops its
 * privileges for it. */
static void
find_as_user(char *out, size_t len)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		char buf[PATH_MAX];
		const char *found;

		close(fds[0]);
		if (getuid() == 0 && setuid(65534) == -1)
			_exit(2);
		found = config_find(buf, sizeof(buf));
		if (found == NULL)
			found = "(null)";
		_exit(write(fds[1], found, strlen(found)) == (ssize_t)strlen(found) ? 0 : 3);
	}
	close(fds[1]);
	n = read(fds[0], out, len - 1);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
}

static const char *
system_config(void)
{
	static const char path[] = SYSCONFDIR "/mapispool/mapispool.conf";
	struct stat st;

	return stat(path, &st) == 0 ? path : "(null)";
}

START_TEST(test_find)
{
	char xdg[PATH_MAX], home[PATH_MAX], want[PATH_MAX + 64], got[PATH_MAX];
	char buf[PATH_MAX];
	const char *r;

	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	snprintf(home, sizeof(home), "%s/home", tmpdir);

	/* nothing per-user yet: the system file or none */
	setenv("XDG_CONFIG_HOME", xdg, 1);
	setenv("HOME", home, 1);
	find_as_user(got, sizeof(got));
	ck_assert_str_eq(got, system_config());

	/* $XDG_CONFIG_HOME/mapispool/mapispool.conf */
	snprintf(want, sizeof(want), "%s/mapispool", xdg);
	mkdirs(want);
	snprintf(want, sizeof(want), "%s/mapispool/mapispool.conf", xdg);
	ck_assert_int_eq(close(open(want, O_CREAT | O_WRONLY, 0644)), 0);
	find_as_user(got, sizeof(got));
	ck_assert_str_eq(got, want);

	/* root never reads a per-user file */
	if (getuid() == 0) {
		r = config_find(buf, sizeof(buf));
		ck_assert_str_eq(r != NULL ? r : "(null)", system_config());
	}

	/* without XDG_CONFIG_HOME (or with a relative one): ~/.config */
	snprintf(want, sizeof(want), "%s/.config/mapispool", home);
	mkdirs(want);
	snprintf(want, sizeof(want), "%s/.config/mapispool/mapispool.conf", home);
	ck_assert_int_eq(close(open(want, O_CREAT | O_WRONLY, 0644)), 0);
	unsetenv("XDG_CONFIG_HOME");
	find_as_user(got, sizeof(got));
	ck_assert_str_eq(got, want);
	setenv("XDG_CONFIG_HOME", "relative/dir", 1);
	find_as_user(got, sizeof(got));
	ck_assert_str_eq(got, want);

	/* a buffer too small for the path is no match */
	ck_assert_ptr_null(config_find(buf, 4));
}
END_TEST

/* ---- the shipped etc/mapispool.conf ---- */

START_TEST(test_etc)
{
	const char *srcdir = getenv("TESTS_SRCDIR");
	const struct transport_config *t;
	char path[PATH_MAX], err[512];
	struct config cfg;

	ck_assert_msg(srcdir != NULL, "TESTS_SRCDIR is not set (make check sets it)");
	snprintf(path, sizeof(path), "%s/../etc/mapispool.conf", srcdir);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(cfg.spooler.profile_name, "default");
	ck_assert_str_eq(cfg.spooler.spool_dir, "/var/spool/mapispool");
	ck_assert_str_eq(cfg.spooler.store, "/var/lib/mapispool/Maildir");
	ck_assert_uint_eq(cfg.spooler.socket_mode, 0660);
	ck_assert_uint_eq(cfg.spooler.max_message_size, 32 * MIB);
	ck_assert_int_eq(cfg.spooler.retry_min, 5 * MIN);
	ck_assert_int_eq(cfg.spooler.retry_max, HOUR);
	ck_assert_int_eq(cfg.spooler.max_lifetime, 5 * DAY);
	ck_assert_uint_eq(cfg.n_transports, 1);
	t = &cfg.transports[0];
	ck_assert_str_eq(t->name, "local");
	ck_assert_int_eq(t->type, TRANSPORT_MAILDIR);
	ck_assert_str_eq(t->deliver_to, "/var/lib/mapispool/outbox");
	ck_assert_str_eq(t->pickup, "/var/lib/mapispool/dropbox");
	config_free(&cfg);
}
END_TEST

/* Each commented-out example section of etc/mapispool.conf, uncommented,
 * must parse too: the examples are meant to be copied. */
START_TEST(test_etc_examples)
{
	const char *srcdir = getenv("TESTS_SRCDIR");
	char path[PATH_MAX], line[256], err[512];
	char *text = NULL;
	size_t len = 0;
	struct config cfg;
	FILE *in, *out;

	ck_assert_msg(srcdir != NULL, "TESTS_SRCDIR is not set (make check sets it)");
	snprintf(path, sizeof(path), "%s/../etc/mapispool.conf", srcdir);
	in = fopen(path, "r");
	ck_assert_ptr_nonnull(in);
	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	/* "#[transport:x]" and "#key = value" lines are the examples */
	while (fgets(line, sizeof(line), in) != NULL)
		fputs(line[0] == '#' && line[1] != ' ' && line[1] != '#' && line[1] != '\n' ?
			      line + 1 :
			      line,
		      out);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_msg(config_load_string(text, "uncommented", &cfg, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_uint_ge(cfg.n_transports, 6);
	for (enum transport_type ty = TRANSPORT_MAILDIR; ty <= TRANSPORT_PIPE; ty++) {
		bool found = false;

		for (size_t i = 0; i < cfg.n_transports; i++)
			found |= cfg.transports[i].type == ty;
		ck_assert_msg(found, "no example of type %s", transport_type_name(ty));
	}
	config_free(&cfg);
	free(text);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, make_tmpdir, teardown_tmpdir);
	tcase_add_loop_test(tc, test_good, 0, N(goods));
	tcase_add_loop_test(tc, test_bad, 0, N(bads));
	tcase_add_test(tc, test_small_err);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_duration, 0, N(durations));
	tcase_add_loop_test(tc, test_size, 0, N(sizes));
	tcase_add_loop_test(tc, test_bool, 0, N(bools));
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("profiles");
	tcase_add_checked_fixture(tc, make_tmpdir, teardown_tmpdir);
	tcase_add_test(tc, test_default);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_etc);
	tcase_add_test(tc, test_etc_examples);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
