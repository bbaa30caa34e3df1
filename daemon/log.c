/*
 * log.c — leveled logging to stderr, journal-aware.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

static enum log_level log_max = LOG_LVL_NOTICE;
static bool log_journal;

static const char *const level_names[] = {
	[LOG_LVL_ERR] = "error",
	[LOG_LVL_WARNING] = "warning",
	[LOG_LVL_NOTICE] = "notice",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it gave us; only
 * if stderr is still that stream do the "<N>" prefixes mean anything. */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void
libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

void
log_init(enum log_level level)
{
	log_max = level;
	log_journal = stderr_is_journal();
	event_set_log_callback(libevent_log);
}

bool
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (level_names[i] != NULL && strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "err") == 0) {
		*out = s[0] == 'w' || s[0] == 'W' ? LOG_LVL_WARNING : LOG_LVL_ERR;
		return true;
	}
	return false;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_max;
}

static void __attribute__((format(printf, 2, 0)))
log_vmsg(enum log_level level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	int n;

	if (!log_enabled(level))
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One write per line, so that lines from a crash are never torn. */
	if (log_journal)
		fprintf(stderr, "<%d>%s%s\n", (int)level, line, suffix);
	else
		fprintf(stderr, "mapispoold: %s: %s%s\n", level_names[level], line, suffix);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap, "");
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char suffix[256];
	va_list ap;

	snprintf(suffix, sizeof(suffix), ": %s", strerror(errno));
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_WARNING, fmt, ap, suffix);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap, "");
	va_end(ap);
	exit(1);
}
