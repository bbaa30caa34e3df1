/*
 * main.c — mapispoold: read the profile, build the spooler, listen on the
 * control socket, run the event loop until SIGTERM or SIGINT.
 *
 * It runs in the foreground, the systemd way, and logs to stderr.  Under
 * systemd it says when it is ready and when it stops (Type=notify), and
 * takes the control socket systemd holds (mapispoold.socket).
 */
#include <config.h>

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <mapispool/mapispool.h>

#include "conf.h"
#include "control.h"
#include "log.h"
#include "ops.h"
#include "spooler.h"
#include "systemd.h"

struct options {
	const char *config;
	const char *socket;
	enum log_level level;
	bool check_config;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: mapispoold [--config FILE] [--socket PATH] [--log-level LEVEL]\n"
		"                  [--check-config] [--help] [--version]\n"
		"\n"
		"  -c, --config FILE     read the profile from FILE (default: the per-user or\n"
		"                        system file if one exists, else the embedded profile)\n"
		"  -s, --socket PATH     control socket (default: %s)\n"
		"  -l, --log-level LEVEL error, warning, notice (default), info or debug\n"
		"  -n, --check-config    check the profile and exit\n"
		"  -h, --help            this text\n"
		"  -V, --version         the version\n",
		"$MAPISPOOL_SOCKET, $RUNTIME_DIRECTORY/control.sock,\n"
		"                        $XDG_RUNTIME_DIR/mapispool/control.sock or\n"
		"                        /run/mapispool/control.sock");
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->level = LOG_LVL_NOTICE;
	while ((ch = getopt_long(argc, argv, "c:s:l:nhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'l':
			if (!log_level_parse(optarg, &o->level)) {
				fprintf(stderr, "mapispoold: unknown log level \"%s\" (error, "
						"warning, notice, info, debug)\n", optarg);
				exit(EX_USAGE);
			}
			break;
		case 'n':
			o->check_config = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("mapispoold %s (control protocol %d)\n", VERSION, MAPISPOOL_PROTOCOL_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EX_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mapispoold: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		exit(EX_USAGE);
	}
}

/* Where the embedded profile keeps its spool and store: the state
 * directory systemd gives (StateDirectory=), else the system spool for
 * root, else the user's state directory. */
static int
default_base(char *buf, size_t len)
{
	const char *sd = getenv("STATE_DIRECTORY");
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int n;

	if (sd != NULL && *sd == '/')
		n = snprintf(buf, len, "%.*s", (int)strcspn(sd, ":"), sd);
	else if (getuid() == 0)
		n = snprintf(buf, len, "%s", SPOOLDIR);
	else if (state != NULL && *state == '/')
		n = snprintf(buf, len, "%s/mapispool", state);
	else if (home != NULL && *home == '/')
		n = snprintf(buf, len, "%s/.local/state/mapispool", home);
	else
		return -1;
	return n > 0 && (size_t)n < len ? 0 : -1;
}

static int
load_profile(const struct options *o, struct config *cfg)
{
	char path[PATH_MAX], base[PATH_MAX], err[1024];
	const char *file = o->config;

	if (file == NULL)
		file = config_find(path, sizeof(path));
	if (file != NULL) {
		if (config_load(file, cfg, err, sizeof(err)) == -1) {
			log_err("%s", err);
			return -1;
		}
		log_info("profile read from %s", file);
		return 0;
	}
	if (default_base(base, sizeof(base)) == -1) {
		log_err("no configuration file, and neither XDG_STATE_HOME nor HOME says where "
			"the embedded profile may keep its files; give --config");
		return -1;
	}
	if (config_default(base, cfg, err, sizeof(err)) == -1) {
		log_err("embedded profile: %s", err);
		return -1;
	}
	log_notice("no configuration file: embedded default profile in %s", base);
	return 0;
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	log_notice("%s: stopping", strsignal((int)sig));
	systemd_stopping();
	event_base_loopexit(base, NULL);
}

/* What a reload needs, and every profile loaded: a replaced profile stays
 * until the end, because a transport it described may still be finishing
 * a pass. */
struct reload {
	const struct options *o;
	struct spooler *sp;
	struct config **profiles;
	size_t n_profiles;
};

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct reload *r = arg;
	struct config *cfg, **p;
	char err[1024];

	(void)sig;
	(void)what;
	if (r->sp == NULL)
		return;
	log_notice("SIGHUP: reloading the profile");
	systemd_reloading();
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (p = reallocarray(r->profiles, r->n_profiles + 1, sizeof(*p))) == NULL) {
		free(cfg);
		log_err("reload: out of memory; keeping the running profile");
		goto out;
	}
	r->profiles = p;
	if (load_profile(r->o, cfg) == -1) {
		log_err("reload failed; keeping the running profile");
		free(cfg);
		goto out;
	}
	if (spooler_reload(r->sp, cfg, err, sizeof(err)) == -1) {
		log_err("reload: %s; keeping the running profile", err);
		config_free(cfg);
		free(cfg);
		goto out;
	}
	r->profiles[r->n_profiles++] = cfg;
	log_notice("profile reloaded: %zu transport%s (socket and client limits change only "
		   "with a restart)", cfg->n_transports, cfg->n_transports == 1 ? "" : "s");
out:
	systemd_ready();
}

/* Messages in both queues, for systemd's STATUS=. */
static size_t
queued(const struct spooler *sp)
{
	return queue_count(sp->queue, SPOOL_OUTBOUND) + queue_count(sp->queue, SPOOL_INBOUND);
}

/* The path of the socket systemd passed, for the log. */
static void
socket_name(int fd, char *buf, size_t len)
{
	struct sockaddr_un sun = { 0 };
	socklen_t sl = sizeof(sun);

	if (getsockname(fd, (struct sockaddr *)&sun, &sl) == 0 && sun.sun_path[0] != '\0')
		snprintf(buf, len, "%.*s", (int)sizeof(sun.sun_path), sun.sun_path);
	else
		snprintf(buf, len, "the socket from systemd");
}

/* The queue is whole: say so, and run the requests that waited. */
static void
recovered(void *ctx)
{
	struct spooler *sp = ctx;

	systemd_status("profile %s, %zu transport%s, %zu message%s queued",
		       spooler_profile_name(sp), sp->n_xports, sp->n_xports == 1 ? "" : "s",
		       queued(sp), queued(sp) == 1 ? "" : "s");
	ops_recovered(sp);
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct config cfg = { 0 };
	struct spooler *sp = NULL;
	struct reload reload = { .o = &o };
	struct control *ctl = NULL;
	struct event_base *base = NULL;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	json_object *hello = NULL;
	char sockpath[PATH_MAX], err[1024];
	int status = 1, listen_fd = -1;

	parse_options(argc, argv, &o);
	log_init(o.level);
	if (load_profile(&o, &cfg) == -1)
		return EX_CONFIG;
	if (o.check_config) {
		printf("%s: profile \"%s\" is valid (%zu transport%s)\n",
		       cfg.path ? cfg.path : "embedded profile", cfg.spooler.profile_name,
		       cfg.n_transports, cfg.n_transports == 1 ? "" : "s");
		config_free(&cfg);
		return 0;
	}
	if (o.socket != NULL)
		snprintf(sockpath, sizeof(sockpath), "%s", o.socket);
	else if (mapispool_default_socket(sockpath, sizeof(sockpath)) >= sizeof(sockpath)) {
		log_err("the default socket path is too long; give --socket");
		goto out;
	}

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL) {
		log_err("cannot create the event loop");
		goto out;
	}
	/* Before the socket exists: whoever sees it may signal us. */
	ev_term = evsignal_new(base, SIGTERM, on_stop, base);
	ev_int = evsignal_new(base, SIGINT, on_stop, base);
	ev_hup = evsignal_new(base, SIGHUP, on_hup, &reload);
	if (!ev_term || !ev_int || !ev_hup || evsignal_add(ev_term, NULL) == -1 ||
	    evsignal_add(ev_int, NULL) == -1 || evsignal_add(ev_hup, NULL) == -1) {
		log_err("cannot install signal handlers");
		goto out;
	}
	struct control_limits lim = {
		.max_line = cfg.spooler.max_line_size,
		.max_clients = cfg.spooler.max_clients,
		.max_clients_per_uid = cfg.spooler.max_clients_per_uid,
		.max_pending = cfg.spooler.max_pending,
		.idle_timeout = cfg.spooler.idle_timeout,
		.request_timeout = cfg.spooler.request_timeout,
		.max_output = cfg.spooler.max_output_size,
	};
	/* The socket first: a second daemon is refused before it opens the
	 * spool.  Nobody is served before the loop runs.  Under socket
	 * activation, systemd made it (mode and group are the socket unit's)
	 * and connections wait in it meanwhile. */
	systemd_status("opening the control socket");
	hello = ops_hello(cfg.spooler.profile_name, lim.max_line);
	if ((listen_fd = systemd_listen_fd(err, sizeof(err))) == -1 && err[0] != '\0') {
		log_err("%s", err);
		goto out;
	}
	if (listen_fd != -1) {
		if (o.socket != NULL)
			log_warnx("--socket %s ignored: systemd passed the socket", o.socket);
		socket_name(listen_fd, sockpath, sizeof(sockpath));
		ctl = control_new_fd(base, listen_fd, &lim, hello, NULL, NULL, err, sizeof(err));
	} else {
		ctl = control_new(base, sockpath, cfg.spooler.socket_mode,
				  cfg.spooler.socket_group, &lim, hello, NULL, NULL, err,
				  sizeof(err));
	}
	if (ctl == NULL) {
		log_err("%s", err);
		goto out;
	}
	systemd_status("recovering the spool");
	if ((sp = spooler_new(base, &cfg, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		goto out;
	}
	control_set_dispatch(ctl, ops_dispatch, sp);
	control_set_close_hook(ctl, ops_client_closed, sp);
	reload.sp = sp;
	log_notice("profile \"%s\": %zu transport%s; listening on %s%s",
		   cfg.spooler.profile_name, cfg.n_transports, cfg.n_transports == 1 ? "" : "s",
		   sockpath, listen_fd != -1 ? " (from systemd)" : "");
	/* Ready now, also while a big spool is still read: status queries
	 * answer meanwhile, and what needs the whole queue waits for it. */
	spooler_set_recovered_hook(sp, recovered, sp);
	if (!spooler_recovering(sp))
		recovered(sp);
	systemd_ready();
	if (event_base_dispatch(base) == -1) {
		log_err("event loop failed");
		goto out;
	}
	status = 0;
out:
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	/* The spooler first: it answers what still waits, while the
	 * connections are there to take it; then nothing may reach it. */
	if (ctl != NULL) {
		control_set_dispatch(ctl, NULL, NULL);
		control_set_close_hook(ctl, NULL, NULL);
	}
	ops_shutdown();
	spooler_free(sp);
	control_free(ctl);
	json_object_put(hello);
	if (base)
		event_base_free(base);
	config_free(&cfg);
	for (size_t i = 0; i < reload.n_profiles; i++) {
		config_free(reload.profiles[i]);
		free(reload.profiles[i]);
	}
	free(reload.profiles);
	if (status == 0)
		log_notice("stopped");
	return status;
}
