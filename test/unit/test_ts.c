/* test_ts.c: strict RFC 3339 parsing, UTC formatting and their round trip. */
#include "t.h"
#include "ts.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S 1000000LL

/*
 * Expected seconds were computed independently with GNU date while writing
 * the table, e.g. `date -u -d 2026-11-24T13:26:52+07:00 +%s` -> 1795501612.
 */
static const struct {
	const char *s;
	int64_t us;
} valid[] = {
	{"1970-01-01T00:00:00Z", 0},
	{"2026-11-24T06:26:52Z", 1795501612 * S},
	{"2026-11-24T13:26:52+07:00", 1795501612 * S},
	{"2026-11-24t06:26:52z", 1795501612 * S},
	{"2026-11-24T06:26:52-00:00", 1795501612 * S},
	{"2026-11-24T06:26:52+00:00", 1795501612 * S},
	{"2024-02-29T12:00:00Z", 1709208000 * S},
	{"2000-02-29T00:00:00Z", 951782400 * S},
	{"1600-02-29T00:00:00Z", -11670998400 * S},
	{"1969-12-31T23:59:59Z", -1 * S},
	{"1969-12-31T23:59:59.999999Z", -1},
	{"1900-03-01T00:00:00Z", -2203891200 * S},
	{"1900-01-01T00:00:00Z", -2208988800 * S},
	{"0001-01-01T00:00:00Z", -62135596800 * S},
	{"9999-12-31T23:59:59Z", 253402300799 * S},
	{"9999-12-31T23:59:59.999999Z", 253402300799 * S + 999999},
	{"9999-12-31T00:00:00-23:59", 253402300740 * S},
	{"2038-01-19T03:14:08Z", 2147483648 * S},
	{"2026-01-01T00:00:00-05:30", 1767245400 * S},
	/* RFC 3339 section 5.8 examples. */
	{"1985-04-12T23:20:50.52Z", 482196050 * S + 520000},
	{"1996-12-19T16:39:57-08:00", 851042397 * S},
	{"1990-12-31T23:59:60Z", 662688000 * S},       /* leap second = 1991-01-01T00:00:00Z */
	{"1990-12-31T15:59:60-08:00", 662688000 * S},
	{"1937-01-01T12:00:27.87+00:20", -1041337173 * S + 870000},
	{"2016-12-31T23:59:60.5Z", 1483228800 * S + 500000},
	/* Fractions: any length, truncated after 6 digits. */
	{"2026-11-24T06:26:52.1Z", 1795501612 * S + 100000},
	{"2026-11-24T06:26:52.000001Z", 1795501612 * S + 1},
	{"2026-11-24T06:26:52.1234567890123Z", 1795501612 * S + 123456},
	{"2026-11-24T06:26:52.9999999Z", 1795501612 * S + 999999},
	{"2026-11-24T06:26:52.000000Z", 1795501612 * S},
};

TEST(ts_parse_valid)
{
	for (size_t i = 0; i < N(valid); i++) {
		int64_t us = 0;
		struct err e = {0};

		if (ts_parse_rfc3339(valid[i].s, strlen(valid[i].s), &us, &e) < 0 ||
		    us != valid[i].us)
			t_fail(__FILE__, __LINE__, "\"%s\": %" PRId64 " (%s), want %" PRId64,
			       valid[i].s, us, e.msg, valid[i].us);
	}
}

TEST(ts_parse_invalid)
{
	static const struct { const char *s; int code; } tab[] = {
		{"", TS_EEMPTY},
		{"2026-11-24 06:26:52Z", TS_ESYNTAX},
		{"2026-11-24", TS_ESYNTAX},
		{"2026-11-24T", TS_ESYNTAX},
		{"2026-11-24T06:26Z", TS_ESYNTAX},
		{"2026-1-24T06:26:52Z", TS_ESYNTAX},
		{"26-11-24T06:26:52Z", TS_ESYNTAX},
		{"20261124T062652Z", TS_ESYNTAX},
		{"+2026-11-24T06:26:52Z", TS_ESYNTAX},
		{" 2026-11-24T06:26:52Z", TS_ESYNTAX},
		{"2026-11-24T06:26:52.Z", TS_ESYNTAX},
		{"2026-11-24T12:00:00.Z", TS_ESYNTAX},
		{"2026-11-24T06:26:52Z ", TS_ESYNTAX},
		{"2026-11-24T06:26:52ZZ", TS_ESYNTAX},
		{"2026-11-24T06:26:52+07:00x", TS_ESYNTAX},
		{"2026-11-24T06:26:52", TS_EOFFSET},
		{"2026-11-24T06:26:52.123", TS_EOFFSET},
		{"2026-11-24T06:26:52+0700", TS_EOFFSET},
		{"2026-11-24T06:26:52+07", TS_EOFFSET},
		{"2026-11-24T06:26:52+7:00", TS_EOFFSET},
		{"2026-11-24T06:26:52 +07:00", TS_EOFFSET},
		{"2026-11-24T06:26:52UTC", TS_EOFFSET},
		{"2026-11-24T06:26:52,5Z", TS_EOFFSET},
		{"0000-01-01T00:00:00Z", TS_EFIELD},
		{"2026-00-24T06:26:52Z", TS_EFIELD},
		{"2026-13-24T06:26:52Z", TS_EFIELD},
		{"2026-11-00T06:26:52Z", TS_EFIELD},
		{"2026-11-31T06:26:52Z", TS_EFIELD},
		{"2026-01-32T06:26:52Z", TS_EFIELD},
		{"2023-02-29T00:00:00Z", TS_EFIELD},
		{"1900-02-29T00:00:00Z", TS_EFIELD},
		{"2024-02-30T00:00:00Z", TS_EFIELD},
		{"2026-11-24T24:00:00Z", TS_EFIELD},
		{"2026-11-24T23:60:00Z", TS_EFIELD},
		{"2026-11-24T23:59:61Z", TS_EFIELD},
		{"2026-11-24T06:26:52+24:00", TS_EFIELD},
		{"2026-11-24T06:26:52+23:60", TS_EFIELD},
		{"0001-01-01T00:00:00+00:01", TS_ERANGE},
		{"9999-12-31T23:59:59-00:01", TS_ERANGE},
		{"9999-12-31T23:59:60Z", TS_ERANGE},
	};
	for (size_t i = 0; i < N(tab); i++) {
		int64_t us = 42;
		struct err e = {0};
		int rc = ts_parse_rfc3339(tab[i].s, strlen(tab[i].s), &us, &e);

		if (rc != -1 || e.code != tab[i].code)
			t_fail(__FILE__, __LINE__, "\"%s\": rc %d code %d (%s), want code %d",
			       tab[i].s, rc, e.code, e.msg, tab[i].code);
		CHECK(e.msg[0] != '\0');
		CHECK_INT(us, 42);
	}
}

TEST(ts_parse_uses_len_not_nul)
{
	const char *s = "2026-11-24T06:26:52Zjunk";
	int64_t us = 0;
	struct err e = {0};

	CHECK_INT(ts_parse_rfc3339(s, 20, &us, &e), 0);
	CHECK_INT(us, 1795501612 * S);
	CHECK_INT(ts_parse_rfc3339(s, 19, &us, &e), -1);
	CHECK_INT(e.code, TS_EOFFSET);
	CHECK_INT(ts_parse_rfc3339("2026-11-24T06:26:52Z\0", 21, &us, &e), -1);
	CHECK_INT(e.code, TS_ESYNTAX);
}

TEST(ts_messages_say_what_is_wrong)
{
	int64_t us;
	struct err e = {0};

	CHECK_INT(ts_parse_rfc3339("2026-11-24 06:26:52Z", 20, &us, &e), -1);
	CHECK(strstr(e.msg, "space") != NULL);
	CHECK_INT(ts_parse_rfc3339("2023-02-29T00:00:00Z", 20, &us, &e), -1);
	CHECK(strstr(e.msg, "day 29") != NULL && strstr(e.msg, "2023-02") != NULL);
	CHECK_INT(ts_parse_rfc3339("2026-11-24T06:26:52", 19, &us, &e), -1);
	CHECK(strstr(e.msg, "missing UTC offset") != NULL);
}

TEST(ts_format)
{
	static const struct { int64_t us; const char *want; } tab[] = {
		{0, "1970-01-01T00:00:00Z"},
		{1795501612 * S, "2026-11-24T06:26:52Z"},
		{1795501612 * S + 123456, "2026-11-24T06:26:52.123456Z"},
		{1795501612 * S + 1, "2026-11-24T06:26:52.000001Z"},
		{-1, "1969-12-31T23:59:59.999999Z"},
		{-1 * S, "1969-12-31T23:59:59Z"},
		{-2203891200 * S, "1900-03-01T00:00:00Z"},
		{-11670998400 * S, "1600-02-29T00:00:00Z"},
		{TS_MIN_US, "0001-01-01T00:00:00Z"},
		{TS_MAX_US, "9999-12-31T23:59:59.999999Z"},
		{951782400 * S, "2000-02-29T00:00:00Z"},
	};
	for (size_t i = 0; i < N(tab); i++) {
		char b[TS_BUFSZ];

		CHECK_U64(ts_format_utc(tab[i].us, b, sizeof(b)), strlen(tab[i].want));
		CHECK_STR(b, tab[i].want);
	}
}

TEST(ts_format_refuses)
{
	char b[TS_BUFSZ];

	CHECK_U64(ts_format_utc(TS_MIN_US - 1, b, sizeof(b)), 0);
	CHECK_STR(b, "");
	CHECK_U64(ts_format_utc(TS_MAX_US + 1, b, sizeof(b)), 0);
	CHECK_U64(ts_format_utc(INT64_MIN, b, sizeof(b)), 0);
	CHECK_U64(ts_format_utc(INT64_MAX, b, sizeof(b)), 0);
	CHECK_U64(ts_format_utc(0, b, 20), 0); /* needs 21 bytes */
	CHECK_STR(b, "");
	CHECK_U64(ts_format_utc(0, b, 21), 20);
}

/* Every valid input, formatted in UTC, parses back to the same instant. */
TEST(ts_round_trip_table)
{
	for (size_t i = 0; i < N(valid); i++) {
		char b[TS_BUFSZ];
		int64_t us = 0;
		struct err e = {0};

		if (ts_format_utc(valid[i].us, b, sizeof(b)) == 0 ||
		    ts_parse_rfc3339(b, strlen(b), &us, &e) < 0 || us != valid[i].us)
			t_fail(__FILE__, __LINE__, "%" PRId64 " -> \"%s\" -> %" PRId64 " (%s)",
			       valid[i].us, b, us, e.msg);
	}
}

TEST(ts_round_trip_range)
{
	/*
	 * Walk the whole supported range with a stride that is not a whole
	 * number of seconds, days or years, so every field takes many values.
	 */
	const uint64_t span = (uint64_t)(TS_MAX_US - TS_MIN_US) + 1;
	const uint64_t stride = 15778463123456789u; /* ~500 years and change */
	uint64_t off = 0;
	int bad = 0;

	for (int i = 0; i < 20000 && bad < 5; i++) {
		/* Half with microseconds, half on whole seconds (the "Z" form without fraction). */
		int64_t us;

		off = (off + stride) % span; /* off, stride < 2^59: no overflow */
		us = TS_MIN_US + (int64_t)off;
		char b[TS_BUFSZ];
		int64_t back = 0;
		struct err e = {0};

		if (i % 2)
			us -= ((us % S) + S) % S;
		if (ts_format_utc(us, b, sizeof(b)) == 0 ||
		    ts_parse_rfc3339(b, strlen(b), &back, &e) < 0 || back != us)
			bad += !t_fail(__FILE__, __LINE__, "%" PRId64 " -> \"%s\" -> %" PRId64 " (%s)",
				       us, b, back, e.msg);
	}
	/* Every day boundary around the epoch and across a leap February. */
	for (int64_t d = -800; d <= 800; d++) {
		char b[TS_BUFSZ];
		int64_t back = 0;

		CHECK(ts_format_utc(d * 86400 * S, b, sizeof(b)) == 20);
		CHECK(ts_parse_rfc3339(b, strlen(b), &back, NULL) == 0 && back == d * 86400 * S);
	}
}

TEST(ts_offset_equivalence)
{
	/* The same instant written in every whole-hour offset from -23:00 to +23:00. */
	const int64_t base = 1795501612 * S; /* 2026-11-24T06:26:52Z */
	for (int h = -23; h <= 23; h++) {
		char in[64];
		int64_t us = 0;
		struct err e = {0};
		int64_t local = base + (int64_t)h * 3600 * S;
		char b[TS_BUFSZ];

		/* Build the local wall-clock text by formatting the shifted instant. */
		CHECK(ts_format_utc(local, b, sizeof(b)) == 20);
		snprintf(in, sizeof(in), "%.19s%c%02d:%02d", b, h < 0 ? '-' : '+', h < 0 ? -h : h, 0);
		CHECK(ts_parse_rfc3339(in, strlen(in), &us, &e) == 0);
		if (us != base)
			t_fail(__FILE__, __LINE__, "\"%s\" -> %" PRId64 ", want %" PRId64, in, us, base);
	}
	int64_t a = 0, b = 0;
	CHECK(ts_parse_rfc3339("2026-11-24T13:26:52+07:00", 25, &a, NULL) == 0);
	CHECK(ts_parse_rfc3339("2026-11-24T06:26:52Z", 20, &b, NULL) == 0);
	CHECK_INT(a, b);
	CHECK(ts_parse_rfc3339("2026-11-24T00:56:52-05:30", 25, &a, NULL) == 0);
	CHECK_INT(a, b);
}

TEST(ts_now_is_plausible)
{
	int64_t now = ts_now_us();

	/* After this code was written (2024-01-01) and before the format limit. */
	CHECK(now > 1704067200 * S);
	CHECK(now < TS_MAX_US);
}
