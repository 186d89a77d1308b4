/* log.c: leveled one-line logging to stderr (with journald prefixes) or syslog. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

static enum log_level cur_level = LOG_LVL_INFO;
static bool use_stderr = true;
static bool journal;
static const char *ident = "gridtokenx";

static const char *names[] = { "", "", "", "error", "warning", "notice", "info", "debug" };

void
log_open(const char *id, enum log_level level, bool to_stderr)
{
	ident = id;
	cur_level = level;
	use_stderr = to_stderr;
	journal = getenv("JOURNAL_STREAM") != NULL;
	if (!use_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level
log_get_level(void)
{
	return cur_level;
}

int
log_level_parse(const char *s)
{
	for (int i = LOG_LVL_ERR; i <= LOG_LVL_DEBUG; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "err") == 0)
		return LOG_LVL_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_LVL_WARN;
	return -1;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	char tbuf[32];

	if (level > cur_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* One line per event: never let a message split a log line. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (!use_stderr) {
		syslog((int)level, "%s", line);
		return;
	}
	if (journal) {
		fprintf(stderr, "<%d>%s\n", (int)level, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", tbuf, ts.tv_nsec / 1000000, ident, names[level], line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(LOG_LVL_ERR, "FATAL: %s", line);
	exit(1);
}
