/* ts.h: RFC 3339 timestamps <-> UTC microseconds since the Unix epoch, without TZ or timegm. */
#ifndef GTX_TS_H
#define GTX_TS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* e->code values set by this module. */
enum ts_errcode {
	TS_EEMPTY = 1, /* empty input */
	TS_ESYNTAX,    /* not the RFC 3339 date-time shape */
	TS_EOFFSET,    /* missing or malformed UTC offset (must be Z, +HH:MM or -HH:MM) */
	TS_EFIELD,     /* a field out of range: month 13, Feb 30, hour 24, offset +24:00 ... */
	TS_ERANGE,     /* the instant falls outside TS_MIN_US..TS_MAX_US */
};

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z: what parses also formats. */
#define TS_MIN_US (-62135596800LL * 1000000)
#define TS_MAX_US (253402300799LL * 1000000 + 999999)
/* Room for "9999-12-31T23:59:59.999999Z" plus NUL. */
#define TS_BUFSZ 28

/*
 * Parses an RFC 3339 section 5.6 date-time, YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM),
 * into microseconds since 1970-01-01T00:00:00Z. `s` need not be NUL-terminated.
 * - 'T' and 'Z' may be lower case (RFC 3339 5.6 NOTE); a space instead of 'T'
 *   is rejected, as is a missing offset, "+0700" or "+07".
 * - Years 0001..9999 (the ABNF allows 0000, which has no proleptic-Gregorian
 *   use here); days are checked against the month, with leap years.
 * - Second 60 (leap second) is accepted wherever the ABNF allows it and means
 *   the start of the next second, as PostgreSQL does: 23:59:60Z == next day 00:00:00Z.
 * - The fraction may have any number of digits (at least one); digits beyond
 *   the sixth are truncated, not rounded.
 * - "-00:00" (offset unknown, RFC 3339 4.3) is treated as UTC.
 * - After applying the offset the instant must lie within TS_MIN_US..TS_MAX_US.
 */
int ts_parse_rfc3339(const char *s, size_t len, int64_t *us, struct err *e) WUR;

/*
 * Formats as "2026-11-24T06:26:52Z", or "2026-11-24T06:26:52.123456Z" when the
 * microseconds are nonzero (always 6 digits then). Returns the length written
 * (without NUL), or 0 if n is too small or us is outside TS_MIN_US..TS_MAX_US
 * (then buf is "" if n > 0). TS_BUFSZ always suffices.
 */
size_t ts_format_utc(int64_t us, char *buf, size_t n);

/* The current wall-clock time (CLOCK_REALTIME) in microseconds since the epoch. */
int64_t ts_now_us(void);
/* Monotonic microseconds (CLOCK_MONOTONIC), for timeouts and schedules; never goes back. */
int64_t ts_mono_us(void);

#endif
