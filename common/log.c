/* log.c: leveled logfmt lines to stderr (with journald prefixes) or syslog; values escaped so none forges a line. */
#include "log.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>

#include "utf8.h"

static enum log_level cur_level = LOG_LVL_INFO;
static bool use_stderr = true;
static bool journal;
static const char *ident = "gridtokenx";

/* the level= values, by priority */
static const char *names[] = { "", "", "fatal", "error", "warn", "notice", "info", "debug" };

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
	static const struct { const char *name; enum log_level l; } tab[] = {
		{ "err", LOG_LVL_ERR }, { "error", LOG_LVL_ERR }, { "warn", LOG_LVL_WARN }, { "warning", LOG_LVL_WARN },
		{ "notice", LOG_LVL_NOTICE }, { "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcasecmp(s, tab[i].name) == 0)
			return (int)tab[i].l;
	return -1;
}

/*
 * How the byte sequence at s[0..n) is written: *adv bytes consumed; returns the escape to write (into esc)
 * or NULL when the bytes are written as they are. *plain is false when the value must be quoted for them.
 */
static const char *
escape_of(const unsigned char *s, size_t n, size_t *adv, bool *plain, char esc[8])
{
	unsigned char c = s[0];

	*adv = 1;
	*plain = true;
	if (c < 0x80) {
		switch (c) {
		case '"': *plain = false; return "\\\"";
		case '\\': *plain = false; return "\\\\";
		case '\n': *plain = false; return "\\n";
		case '\r': *plain = false; return "\\r";
		case '\t': *plain = false; return "\\t";
		case ' ': case '=': *plain = false; return NULL;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			*plain = false;
			snprintf(esc, 8, "\\u%04x", c);
			return esc;
		}
		return NULL;
	}
	size_t k = utf8_seq_len(s, n);
	if (k == 0) {
		*plain = false;
		return "\\ufffd";
	}
	*adv = k;
	uint32_t cp = k == 2 ? (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f)
		: k == 3 ? (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f) : 0x10000;
	/* C1 controls, line/paragraph separators, bidirectional overrides and isolates, the BOM: a terminal or a
	 * log viewer may break a line at them or show the text in another order than it is */
	if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff) {
		*plain = false;
		snprintf(esc, 8, "\\u%04" PRIx32, cp);
		return esc;
	}
	return NULL;
}

/* bytes written as they are in a bare value: printable ASCII but for '"', '=' and '\\' */
static bool
plain_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

/* log_append_kv; *cut set when the pair did not fit whole */
static size_t
append_kv(char *buf, size_t cap, size_t len, const char *key, const char *val, size_t vlen, bool *cut)
{
	const unsigned char *v = (const unsigned char *)val;
	size_t lim = cap - 1, adv;
	bool quote = vlen == 0, plain;
	char esc[8];

	if (len + strlen(key) + 2 + 6 > lim) {
		*cut = true;
		return len;
	}
	for (size_t i = 0; i < vlen && !quote; i += adv) {
		adv = 1;
		if (!plain_byte(v[i])) {
			escape_of(v + i, vlen - i, &adv, &plain, esc);
			quote = !plain;
		}
	}
	/* " key=" with the key's characters limited to [a-z0-9_] */
	if (len > 0)
		buf[len++] = ' ';
	for (const char *k = key; *k; k++)
		buf[len++] = ((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_') ? *k : '_';
	buf[len++] = '=';
	if (quote)
		buf[len++] = '"';
	/* room kept for the cut marker "..." and the closing quote */
	size_t room = lim - 4;
	for (size_t i = 0; i < vlen; i += adv) {
		size_t run = 0;

		/* a run of plain bytes at once */
		while (i + run < vlen && plain_byte(v[i + run]))
			run++;
		if (run > 0) {
			if (len + run > room) {
				run = room > len ? room - len : 0;
				memcpy(buf + len, v + i, run);
				len += run;
				memcpy(buf + len, "...", 3);
				len += 3;
				*cut = true;
				break;
			}
			memcpy(buf + len, v + i, run);
			len += run;
			adv = run;
			continue;
		}
		const char *e = escape_of(v + i, vlen - i, &adv, &plain, esc);
		size_t el = e ? strlen(e) : adv;
		if (len + el > room) {
			memcpy(buf + len, "...", 3);
			len += 3;
			*cut = true;
			break;
		}
		memcpy(buf + len, e ? e : (const char *)v + i, el);
		len += el;
	}
	if (quote)
		buf[len++] = '"';
	buf[len] = '\0';
	return len;
}

size_t
log_append_kv(char *buf, size_t cap, size_t len, const char *key, const char *val, size_t vlen)
{
	bool cut = false;

	return append_kv(buf, cap, len, key, val, vlen, &cut);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/*
 * Formats the one conversion at *fp (just after its '%') with its argument from ap into raw[*rl..cap);
 * advances *fp past it. Returns false for a conversion this does not know (%n): the caller stops, as the
 * types of the arguments after it are unknown.
 */
static bool
conv_one(const char **fp, va_list *ap, char *raw, size_t *rl, size_t cap)
{
	const char *f = *fp;
	char spec[48], len[3] = "";
	size_t sl = 0;
	char *out = raw + *rl;
	size_t room = cap - *rl;
	int n = 0;

	spec[sl++] = '%';
	while (*f && strchr("-+ #0'", *f) && sl < 8)
		spec[sl++] = *f++;
	if (*f == '*') {
		sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", va_arg(*ap, int));
		f++;
	} else
		while (*f >= '0' && *f <= '9' && sl < 20)
			spec[sl++] = *f++;
	if (*f == '.') {
		spec[sl++] = *f++;
		if (*f == '*') {
			sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", va_arg(*ap, int));
			f++;
		} else
			while (*f >= '0' && *f <= '9' && sl < 32)
				spec[sl++] = *f++;
	}
	if ((f[0] == 'h' && f[1] == 'h') || (f[0] == 'l' && f[1] == 'l')) {
		len[0] = f[0], len[1] = f[1];
		f += 2;
	} else if (*f && strchr("hljztL", *f))
		len[0] = *f++;
	memcpy(spec + sl, len, strlen(len));
	sl += strlen(len);
	char c = *f;
	if (c == '\0' || sl >= sizeof(spec) - 2)
		return false;
	if ((c == 's' || c == 'c') && len[0])
		return false; /* wide characters */
	spec[sl++] = c;
	spec[sl] = '\0';
	f++;

	switch (c) {
	case '%':
		n = snprintf(out, room, "%%");
		break;
	case 'd': case 'i':
		if (len[0] == 'l' && len[1] == 'l')
			n = snprintf(out, room, spec, va_arg(*ap, long long));
		else if (len[0] == 'l')
			n = snprintf(out, room, spec, va_arg(*ap, long));
		else if (len[0] == 'j')
			n = snprintf(out, room, spec, va_arg(*ap, intmax_t));
		else if (len[0] == 'z')
			n = snprintf(out, room, spec, va_arg(*ap, ssize_t));
		else if (len[0] == 't')
			n = snprintf(out, room, spec, va_arg(*ap, ptrdiff_t));
		else
			n = snprintf(out, room, spec, va_arg(*ap, int));
		break;
	case 'u': case 'o': case 'x': case 'X':
		if (len[0] == 'l' && len[1] == 'l')
			n = snprintf(out, room, spec, va_arg(*ap, unsigned long long));
		else if (len[0] == 'l')
			n = snprintf(out, room, spec, va_arg(*ap, unsigned long));
		else if (len[0] == 'j')
			n = snprintf(out, room, spec, va_arg(*ap, uintmax_t));
		else if (len[0] == 'z')
			n = snprintf(out, room, spec, va_arg(*ap, size_t));
		else if (len[0] == 't')
			n = snprintf(out, room, spec, va_arg(*ap, ptrdiff_t));
		else
			n = snprintf(out, room, spec, va_arg(*ap, unsigned int));
		break;
	case 'c':
		n = snprintf(out, room, spec, va_arg(*ap, int));
		break;
	case 's': {
		const char *s = va_arg(*ap, const char *);

		if (s == NULL)
			s = "(null)";
		if (sl == 2) { /* plain %s: no width or precision */
			size_t k = strnlen(s, room - 1);
			memcpy(out, s, k);
			out[k] = '\0';
			*rl += k;
			*fp = f;
			return true;
		}
		n = snprintf(out, room, spec, s);
		break;
	}
	case 'p':
		n = snprintf(out, room, spec, va_arg(*ap, void *));
		break;
	case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
		if (len[0] == 'L')
			n = snprintf(out, room, spec, va_arg(*ap, long double));
		else
			n = snprintf(out, room, spec, va_arg(*ap, double));
		break;
	default:
		return false;
	}
	if (n > 0)
		*rl += (size_t)n < room ? (size_t)n : room - 1;
	*fp = f;
	return true;
}
#pragma GCC diagnostic pop

size_t
log_format(char *buf, size_t cap, enum log_level level, const char *id, const char *msg, const char *fields,
	   va_list ap)
{
	char raw[LOG_LINE_MAX], key[64];
	size_t len, rl;
	va_list aq;
	const char *p = fields;
	bool cut = false;
	/* what is kept for " truncated=true" (and the cut marker of its own append) */
	size_t room = cap - 24;

	len = (size_t)snprintf(buf, cap, "level=%s", names[level >= LOG_LVL_CRIT && level <= LOG_LVL_DEBUG ? level : LOG_LVL_ERR]);
	len = append_kv(buf, room, len, "daemon", id, strlen(id), &cut);
	len = append_kv(buf, room, len, "msg", msg, strlen(msg), &cut);
	if (p == NULL)
		return len;
	va_copy(aq, ap);
	for (;;) {
		size_t kl = 0;
		bool ok = true;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		/* the key, up to '=' (an item without one is written as a value of key "_") */
		const char *q = p;
		while (*q && *q != '=' && *q != ' ' && *q != '%')
			q++;
		if (*q == '=') {
			kl = (size_t)(q - p) < sizeof(key) - 1 ? (size_t)(q - p) : sizeof(key) - 1;
			memcpy(key, p, kl);
			p = q + 1;
		}
		if (kl == 0)
			key[kl++] = '_';
		key[kl] = '\0';
		/* the value: literal text and conversions up to the next space outside a conversion */
		rl = 0;
		while (*p && *p != ' ') {
			if (*p == '%') {
				p++;
				if (!conv_one(&p, &aq, raw, &rl, sizeof(raw))) {
					ok = false;
					break;
				}
			} else {
				if (rl < sizeof(raw) - 1)
					raw[rl++] = *p;
				p++;
			}
		}
		if (!cut)
			len = append_kv(buf, room, len, key, raw, rl, &cut);
		if (!ok) {
			len = append_kv(buf, room, len, "log_error", "unknown conversion", 18, &cut);
			break;
		}
	}
	va_end(aq);
	if (cut)
		len = append_kv(buf, cap, len, "truncated", "true", 4, &cut);
	return len;
}

void
log_vkv(enum log_level level, const char *msg, const char *fields, va_list ap)
{
	char line[LOG_LINE_MAX + 64];
	size_t n = 0;

	if (level > cur_level)
		return;
	if (!use_stderr) {
		log_format(line, LOG_LINE_MAX, level, ident, msg, fields, ap);
		syslog((int)level, "%s", line);
		return;
	}
	if (journal)
		n = (size_t)snprintf(line, sizeof(line), "<%d>", (int)level);
	else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ ", ts.tv_nsec / 1000000);
	}
	n += log_format(line + n, LOG_LINE_MAX, level, ident, msg, fields, ap);
	line[n++] = '\n';
	/* one write per line, so lines of the daemon and its children never interleave */
	fwrite(line, 1, n, stderr);
}

void
log_kv(enum log_level level, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_vkv(level, msg, fields, ap);
	va_end(ap);
}

void
log_fatal(const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_vkv(LOG_LVL_CRIT, msg, fields, ap);
	va_end(ap);
	exit(1);
}
