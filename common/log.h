/* log.h: the daemons' log sink: one logfmt line per event; nothing else in common/ calls it. */
#ifndef GTX_LOG_H
#define GTX_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* syslog/journald priorities */
enum log_level {
	LOG_LVL_CRIT = 2, /* fatal(): the daemon exits */
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_NOTICE = 5,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7
};

/*
 * The line (docs/operations.md "Logs"):
 *
 *   [ts=2025-01-31T12:00:00.123Z ]level=info daemon=ingestd msg="reading accepted" request_id=... meter=...
 *
 * logfmt: key=value pairs separated by one space. A value is bare when it is non-empty and holds no space,
 * no '=', no '"', no '\\' and nothing that needs escaping; otherwise it is in double quotes with \" \\ \n
 * \r \t and \u00XX (other control characters, DEL, C1 controls, U+2028/U+2029) escaped and every invalid
 * UTF-8 byte written as \ufffd. Valid printable UTF-8 is kept. So a value can never end a line or start a
 * field. level is fatal|error|warn|notice|info|debug. ts is written only when logging to stderr outside
 * journald; under journald (JOURNAL_STREAM) the line starts with the "<N>" priority prefix instead, and
 * to syslog the priority goes with the message.
 *
 * to_stderr: log to stderr (foreground -d, or under systemd); otherwise to syslog.
 */
void log_open(const char *ident, enum log_level level, bool to_stderr);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "err|error|warn|warning|notice|info|debug" -> level; -1 when unknown. */
int log_level_parse(const char *s) WUR;

/*
 * log_kv(level, msg, fields, ...): msg is a fixed text naming the event (operators filter on it); fields
 * is a printf-style string of space-separated key=format items, e.g. "request_id=%s kwh=%s tx_id=%" PRId64,
 * where each item's format may hold any number of conversions (%s %d %u %x %c %p %zu %" PRIu64 "...,
 * widths and precisions included; not %n). Each value is formatted, then escaped and quoted as above, so
 * arguments may hold anything. Keys are the fixed set of docs/operations.md "Logs": lower case, digits and
 * '_' (anything else in a key is written as '_').
 *
 * The macros take string literals only (msg and fields are pasted onto ""), so a message or a key cannot
 * come from data: log_info("reading accepted", "request_id=%s meter=%s", id, serial); log_info("ready").
 */
void log_kv(enum log_level level, const char *msg, const char *fields, ...) PRINTF(3, 4);
void log_vkv(enum log_level level, const char *msg, const char *fields, va_list ap) PRINTF(3, 0);
#define log_err(msg, ...)    log_kv(LOG_LVL_ERR, "" msg, "" __VA_ARGS__)
#define log_warn(msg, ...)   log_kv(LOG_LVL_WARN, "" msg, "" __VA_ARGS__)
#define log_notice(msg, ...) log_kv(LOG_LVL_NOTICE, "" msg, "" __VA_ARGS__)
#define log_info(msg, ...)   log_kv(LOG_LVL_INFO, "" msg, "" __VA_ARGS__)
#define log_debug(msg, ...)  log_kv(LOG_LVL_DEBUG, "" msg, "" __VA_ARGS__)
/* Logs at level=fatal (critical priority) and exits 1. */
__attribute__((noreturn)) void log_fatal(const char *msg, const char *fields, ...) PRINTF(2, 3);
#define fatal(msg, ...) log_fatal("" msg, "" __VA_ARGS__)

/* The longest line written (longer values are cut, ending in "...", and the line gets truncated=true). */
#define LOG_LINE_MAX 4096

/*
 * Formats one line as log_kv writes it, without the ts, priority prefix and newline, into buf[0..cap)
 * (cap >= 256; always NUL-terminated); returns its length. For the unit tests and for log.c itself.
 */
size_t log_format(char *buf, size_t cap, enum log_level level, const char *ident, const char *msg,
		  const char *fields, va_list ap) PRINTF(6, 0);
/* Appends " key=value" with value escaped and quoted as needed to buf (of cap, holding len bytes); returns
 * the new length (the value cut with "..." when it does not fit). */
size_t log_append_kv(char *buf, size_t cap, size_t len, const char *key, const char *val, size_t vlen);

#endif
