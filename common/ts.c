/* ts.c: strict RFC 3339 parsing and UTC formatting with civil-date arithmetic (no TZ, no timegm). */
#include "ts.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#define US_PER_SEC 1000000LL
#define US_PER_DAY (86400LL * US_PER_SEC)

/*
 * Days since 1970-01-01 of a proleptic Gregorian date, and back. These are the
 * well-known era-based algorithms (400-year eras of 146097 days, years
 * starting in March so the leap day is last); valid for any int32 year.
 */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads exactly n digits at s[pos]; false if the text is too short or any is not a digit. */
static bool
digits(const char *s, size_t len, size_t pos, size_t n, unsigned *v)
{
	unsigned x = 0;

	if (pos > len || len - pos < n)
		return false;
	for (size_t i = pos; i < pos + n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	*v = x;
	return true;
}

static bool
is_char(const char *s, size_t len, size_t pos, char c)
{
	return pos < len && s[pos] == c;
}

/* A parsed date-time before range checks. */
struct fields {
	unsigned year, mon, day, hour, min, sec, us;
	int off_sign; /* +1, -1, or 0 for Z */
	unsigned off_h, off_m;
};

static int
scan(const char *s, size_t len, struct fields *f, struct err *e)
{
	size_t i;

	if (len == 0)
		return err_set(e, TS_EEMPTY, "timestamp: empty");
	if (!digits(s, len, 0, 4, &f->year) || !is_char(s, len, 4, '-') ||
	    !digits(s, len, 5, 2, &f->mon) || !is_char(s, len, 7, '-') ||
	    !digits(s, len, 8, 2, &f->day))
		return err_set(e, TS_ESYNTAX, "timestamp: must start with a date YYYY-MM-DD");
	if (is_char(s, len, 10, ' '))
		return err_set(e, TS_ESYNTAX,
			       "timestamp: date and time separated by a space; RFC 3339 requires 'T'");
	if (!is_char(s, len, 10, 'T') && !is_char(s, len, 10, 't'))
		return err_set(e, TS_ESYNTAX, "timestamp: expected 'T' and a time after the date");
	if (!digits(s, len, 11, 2, &f->hour) || !is_char(s, len, 13, ':') ||
	    !digits(s, len, 14, 2, &f->min) || !is_char(s, len, 16, ':') ||
	    !digits(s, len, 17, 2, &f->sec))
		return err_set(e, TS_ESYNTAX, "timestamp: expected time HH:MM:SS after 'T'");
	i = 19;
	f->us = 0;
	if (is_char(s, len, i, '.')) {
		size_t start = ++i;

		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (i - start < 6)
				f->us = f->us * 10 + (unsigned)(s[i] - '0');
		if (i == start)
			return err_set(e, TS_ESYNTAX, "timestamp: no digits after the decimal point");
		for (size_t k = i - start; k < 6; k++)
			f->us *= 10;
	}
	if (i == len)
		return err_set(e, TS_EOFFSET, "timestamp: missing UTC offset (Z, +HH:MM or -HH:MM)");
	if (s[i] == 'Z' || s[i] == 'z') {
		f->off_sign = 0;
		f->off_h = f->off_m = 0;
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		f->off_sign = s[i] == '+' ? 1 : -1;
		if (!digits(s, len, i + 1, 2, &f->off_h) || !is_char(s, len, i + 3, ':') ||
		    !digits(s, len, i + 4, 2, &f->off_m))
			return err_set(e, TS_EOFFSET,
				       "timestamp: UTC offset must be +HH:MM or -HH:MM");
		i += 6;
	} else {
		return err_set(e, TS_EOFFSET,
			       "timestamp: expected UTC offset (Z, +HH:MM or -HH:MM) at position %zu", i);
	}
	if (i != len)
		return err_set(e, TS_ESYNTAX, "timestamp: unexpected text after the UTC offset");
	return 0;
}

static int
check_fields(const struct fields *f, struct err *e)
{
	if (f->year < 1)
		return err_set(e, TS_EFIELD, "timestamp: year 0000 not supported (0001..9999)");
	if (f->mon < 1 || f->mon > 12)
		return err_set(e, TS_EFIELD, "timestamp: month %02u out of range 01..12", f->mon);
	if (f->day < 1 || f->day > days_in_month(f->year, f->mon))
		return err_set(e, TS_EFIELD, "timestamp: day %02u does not exist in %04u-%02u",
			       f->day, f->year, f->mon);
	if (f->hour > 23)
		return err_set(e, TS_EFIELD, "timestamp: hour %02u out of range 00..23", f->hour);
	if (f->min > 59)
		return err_set(e, TS_EFIELD, "timestamp: minute %02u out of range 00..59", f->min);
	if (f->sec > 60)
		return err_set(e, TS_EFIELD, "timestamp: second %02u out of range 00..60", f->sec);
	if (f->off_h > 23)
		return err_set(e, TS_EFIELD, "timestamp: offset hour %02u out of range 00..23",
			       f->off_h);
	if (f->off_m > 59)
		return err_set(e, TS_EFIELD, "timestamp: offset minute %02u out of range 00..59",
			       f->off_m);
	return 0;
}

int
ts_parse_rfc3339(const char *s, size_t len, int64_t *us, struct err *e)
{
	struct fields f = {0};
	int64_t secs, v;

	if (scan(s, len, &f, e) < 0 || check_fields(&f, e) < 0)
		return -1;
	/* Second 60 simply counts on into the next minute (leap second = next second's start). */
	secs = days_from_civil(f.year, f.mon, f.day) * 86400 +
	       (int64_t)f.hour * 3600 + (int64_t)f.min * 60 + f.sec -
	       (int64_t)f.off_sign * ((int64_t)f.off_h * 3600 + (int64_t)f.off_m * 60);
	v = secs * US_PER_SEC + f.us; /* |secs| < 2^39: no overflow */
	if (v < TS_MIN_US || v > TS_MAX_US)
		return err_set(e, TS_ERANGE,
			       "timestamp: outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z "
			       "once the offset is applied");
	*us = v;
	return 0;
}

/* v in exactly w decimal digits (v < 10^w), at p; returns the end. */
static char *
put_digits(char *p, unsigned v, int w)
{
	for (int i = w - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + w;
}

size_t
ts_format_utc(int64_t us, char *buf, size_t n)
{
	int64_t days, rem, y;
	unsigned m, d, sod, frac;
	char t[32], *p;
	size_t len;

	if (us < TS_MIN_US || us > TS_MAX_US) {
		if (n > 0)
			buf[0] = '\0';
		return 0;
	}
	/* Floor division, so instants before 1970 land on the right day. */
	days = us / US_PER_DAY;
	rem = us % US_PER_DAY;
	if (rem < 0) {
		days--;
		rem += US_PER_DAY;
	}
	civil_from_days(days, &y, &m, &d);
	sod = (unsigned)(rem / US_PER_SEC);
	frac = (unsigned)(rem % US_PER_SEC);
	/* By hand, not snprintf: formatted for every reading stored and every event (years 1..9999 here). */
	p = put_digits(t, (unsigned)y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	if (frac != 0) {
		*p++ = '.';
		p = put_digits(p, frac, 6);
	}
	*p++ = 'Z';
	len = (size_t)(p - t);
	if (len >= n) {
		if (n > 0)
			buf[0] = '\0';
		return 0;
	}
	memcpy(buf, t, len);
	buf[len] = '\0';
	return len;
}

int64_t
ts_now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * US_PER_SEC + t.tv_nsec / 1000;
}

int64_t
ts_mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}
