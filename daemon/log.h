/*
 * log.h — the daemon's log: lines on stderr, with levels.
 *
 * "mapispoold: warning: ..." on a terminal or file; with sd-daemon "<N>"
 * priority prefixes instead when stderr is the journal (JOURNAL_STREAM).
 */
#ifndef MAPISPOOLD_LOG_H
#define MAPISPOOLD_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

/* syslog's numbering, as sd-daemon prefixes use it */
enum log_level {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARNING = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

void log_init(enum log_level level);
bool log_level_parse(const char *s, enum log_level *out);
bool log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warnx(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* A warning with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For what cannot go on (allocation failure at startup): log and exit 1. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
