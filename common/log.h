/* log.h: the daemons' log sink (one line per event); nothing else in common/ calls it. */
#ifndef GTX_LOG_H
#define GTX_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "err.h"

/* syslog/journald priorities */
enum log_level { LOG_LVL_ERR = 3, LOG_LVL_WARN = 4, LOG_LVL_NOTICE = 5, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

/*
 * to_stderr: log to stderr (foreground -d, or under systemd). When the
 * environment has JOURNAL_STREAM, lines get journald "<N>" priority prefixes
 * instead of timestamps. Otherwise lines go to syslog.
 */
void log_open(const char *ident, enum log_level level, bool to_stderr);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "err|warn|notice|info|debug" -> level; -1 when unknown. */
int log_level_parse(const char *s) WUR;

void log_msg(enum log_level level, const char *fmt, ...) PRINTF(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) PRINTF(2, 0);
#define log_err(...)    log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
/* Logs "FATAL: ..." at error priority and exits 1. */
__attribute__((noreturn)) void fatal(const char *fmt, ...) PRINTF(1, 2);

#endif
