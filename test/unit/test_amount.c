/* test_amount.c: exact kWh parsing/formatting and kWh -> token base unit conversion. */
#include "amount.h"
#include "t.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
parse_ok(const char *s)
{
	uint64_t v = 0;
	struct err e = {0};

	if (amt_parse_kwh(s, strlen(s), &v, &e) < 0)
		t_fail(__FILE__, __LINE__, "amt_parse_kwh(\"%s\") failed: %s", s, e.msg);
	return v;
}

static struct amt_ratio
ratio(const char *s)
{
	struct amt_ratio r = {0, 0};
	struct err e = {0};

	if (amt_parse_ratio(s, &r, &e) < 0)
		t_fail(__FILE__, __LINE__, "amt_parse_ratio(\"%s\") failed: %s", s, e.msg);
	return r;
}

TEST(amt_parse_kwh_valid)
{
	static const struct { const char *s; uint64_t want; } tab[] = {
		{"0", 0},
		{"0.000000", 0},
		{"0.0", 0},
		{"0.5", 500000},
		{"1", 1000000},
		{"1.5", 1500000},
		{"10.15", 10150000},
		{"10.150000", 10150000},
		{"1.005", 1005000},
		{"0.000001", 1},
		{"100", 100000000},
		{"123456.789012", 123456789012},
		{"18446744073709.551615", UINT64_MAX},
		{"18446744073709", 18446744073709000000u},
	};
	for (size_t i = 0; i < N(tab); i++)
		CHECK_U64(parse_ok(tab[i].s), tab[i].want);
}

TEST(amt_parse_kwh_uses_len_not_nul)
{
	uint64_t v = 0;
	struct err e = {0};

	CHECK_INT(amt_parse_kwh("10.15xyz", 5, &v, &e), 0);
	CHECK_U64(v, 10150000);
	CHECK_INT(amt_parse_kwh("1\0", 2, &v, &e), -1);
	CHECK_INT(e.code, AMT_ESYNTAX);
}

TEST(amt_parse_kwh_errors)
{
	static const struct { const char *s; int code; } tab[] = {
		{"", AMT_EEMPTY},
		{"-1", AMT_ESIGN},
		{"+1", AMT_ESIGN},
		{"-0", AMT_ESIGN},
		{"-", AMT_ESIGN},
		{"1e3", AMT_EEXPONENT},
		{"1E-3", AMT_EEXPONENT},
		{"1.5e2", AMT_EEXPONENT},
		{"NaN", AMT_ENAN},
		{"nan", AMT_ENAN},
		{"Infinity", AMT_ENAN},
		{"-Infinity", AMT_ENAN},
		{"inf", AMT_ENAN},
		{"INF", AMT_ENAN},
		{"1.0000001", AMT_EPRECISION},
		{"1.0000000", AMT_EPRECISION},
		{"18446744073709.551616", AMT_EOVERFLOW},
		{"18446744073710", AMT_EOVERFLOW},
		{"99999999999999999999", AMT_EOVERFLOW},
		{"999999999999999999999999999999", AMT_EOVERFLOW},
		{" 1", AMT_ESYNTAX},
		{"1 ", AMT_ESYNTAX},
		{".5", AMT_ESYNTAX},
		{"5.", AMT_ESYNTAX},
		{"1..2", AMT_ESYNTAX},
		{"1.2.3", AMT_ESYNTAX},
		{"0x10", AMT_ESYNTAX},
		{"01.5", AMT_ESYNTAX},
		{"00", AMT_ESYNTAX},
		{"1,5", AMT_ESYNTAX},
		{"\"1\"", AMT_ESYNTAX},
		{"abc", AMT_ESYNTAX},
		{"\xef\xbc\x91", AMT_ESYNTAX}, /* fullwidth digit one */
	};
	for (size_t i = 0; i < N(tab); i++) {
		uint64_t v = 42;
		struct err e = {0};
		int rc = amt_parse_kwh(tab[i].s, strlen(tab[i].s), &v, &e);

		if (rc != -1 || e.code != tab[i].code)
			t_fail(__FILE__, __LINE__, "\"%s\": rc %d code %d (%s), want code %d",
			       tab[i].s, rc, e.code, e.msg, tab[i].code);
		CHECK(e.msg[0] != '\0');
		CHECK_U64(v, 42); /* output untouched on failure */
	}
}

TEST(amt_parse_kwh_messages_name_the_problem)
{
	uint64_t v;
	struct err e = {0};

	CHECK_INT(amt_parse_kwh("1,5", 3, &v, &e), -1);
	CHECK(strstr(e.msg, "','") != NULL && strstr(e.msg, "position 1") != NULL);
	CHECK_INT(amt_parse_kwh("1.1234567", 9, &v, &e), -1);
	CHECK(strstr(e.msg, "7 decimal places") != NULL);
	CHECK_INT(amt_parse_kwh("01", 2, &v, &e), -1);
	CHECK(strstr(e.msg, "leading zero") != NULL);
}

TEST(amt_format_kwh_fixed_and_trimmed)
{
	static const struct { uint64_t v; const char *fixed, *trim; } tab[] = {
		{0, "0.000000", "0"},
		{1, "0.000001", "0.000001"},
		{10, "0.000010", "0.00001"},
		{500000, "0.500000", "0.5"},
		{1000000, "1.000000", "1"},
		{10150000, "10.150000", "10.15"},
		{1005000, "1.005000", "1.005"},
		{100000000, "100.000000", "100"},
		{UINT64_MAX, "18446744073709.551615", "18446744073709.551615"},
	};
	for (size_t i = 0; i < N(tab); i++) {
		char b[AMT_KWH_BUFSZ];

		CHECK_U64(amt_format_kwh(tab[i].v, b, sizeof(b)), strlen(tab[i].fixed));
		CHECK_STR(b, tab[i].fixed);
		CHECK_U64(amt_format_kwh_trim(tab[i].v, b, sizeof(b)), strlen(tab[i].trim));
		CHECK_STR(b, tab[i].trim);
		CHECK_U64(parse_ok(tab[i].fixed), tab[i].v);
		CHECK_U64(parse_ok(tab[i].trim), tab[i].v);
	}
}

TEST(amt_format_small_buffer)
{
	char b[9];

	CHECK_U64(amt_format_kwh(10150000, b, sizeof(b)), 0); /* needs 10 bytes */
	CHECK_STR(b, "");
	CHECK_U64(amt_format_kwh(10150000, b, 0), 0);
	CHECK_U64(amt_format_kwh(1150000, b, sizeof(b)), 8);
	CHECK_STR(b, "1.150000");
	CHECK_U64(amt_format_base_units(123456789, b, sizeof(b)), 0);
	CHECK_STR(b, "");
}

TEST(amt_format_base_units)
{
	char b[AMT_U64_BUFSZ];

	CHECK_U64(amt_format_base_units(UINT64_MAX, b, sizeof(b)), 20);
	CHECK_STR(b, "18446744073709551615");
	CHECK_U64(amt_format_base_units(0, b, sizeof(b)), 1);
	CHECK_STR(b, "0");
}

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

TEST(amt_kwh_round_trip_random)
{
	uint64_t seed = 20261124;
	int bad = 0;

	for (int i = 0; i < 10000 && bad < 5; i++) {
		uint64_t r = splitmix64(&seed);
		/* Vary magnitude so small amounts and short fractions are covered too. */
		uint64_t x = r >> (splitmix64(&seed) % 64);
		char b[AMT_KWH_BUFSZ], t[AMT_KWH_BUFSZ];
		uint64_t y = 0, z = 0;
		struct err e = {0};

		if (amt_format_kwh(x, b, sizeof(b)) == 0 ||
		    amt_parse_kwh(b, strlen(b), &y, &e) < 0 || y != x ||
		    amt_format_kwh_trim(x, t, sizeof(t)) == 0 ||
		    amt_parse_kwh(t, strlen(t), &z, &e) < 0 || z != x)
			bad += !t_fail(__FILE__, __LINE__, "x=%" PRIu64 " \"%s\" \"%s\" -> %" PRIu64
				       " %" PRIu64 " (%s)", x, b, t, y, z, e.msg);
	}
}

TEST(amt_parse_ratio)
{
	static const struct { const char *s; uint64_t num; uint32_t scale; } ok[] = {
		{"1", 1, 0}, {"1.0", 1, 0}, {"2.5", 25, 1}, {"2.50", 25, 1}, {"0.1", 1, 1},
		{"1000", 1000, 0}, {"0.000000000000000001", 1, 18},
		{"18446744073709551615", UINT64_MAX, 0},
		{"1.000000000000000000", 1, 0}, {"18446744073709551.615", UINT64_MAX, 3},
	};
	static const struct { const char *s; int code; } bad[] = {
		{"0", AMT_ERANGE}, {"0.000", AMT_ERANGE}, {"", AMT_EEMPTY}, {"-1", AMT_ESIGN},
		{"1e2", AMT_EEXPONENT}, {"nan", AMT_ENAN}, {"0.0000000000000000001", AMT_EPRECISION},
		{"18446744073709551616", AMT_EOVERFLOW}, {"18446744073709551.616", AMT_EOVERFLOW},
		{"1.", AMT_ESYNTAX}, {"01", AMT_ESYNTAX}, {"1 ", AMT_ESYNTAX},
	};
	for (size_t i = 0; i < N(ok); i++) {
		struct amt_ratio r = ratio(ok[i].s);

		CHECK_U64(r.num, ok[i].num);
		CHECK_U64(r.scale, ok[i].scale);
	}
	for (size_t i = 0; i < N(bad); i++) {
		struct amt_ratio r = {7, 7};
		struct err e = {0};

		if (amt_parse_ratio(bad[i].s, &r, &e) != -1 || e.code != bad[i].code)
			t_fail(__FILE__, __LINE__, "ratio \"%s\": code %d (%s), want %d",
			       bad[i].s, e.code, e.msg, bad[i].code);
		CHECK(r.num == 7 && r.scale == 7);
	}
}

TEST(amt_kwh_to_base_units_table)
{
	static const struct {
		const char *ratio, *kwh;
		unsigned dec;
		uint64_t want;
	} tab[] = {
		{"1.0", "10.15", 9, 10150000000u},
		{"1.0", "1.005", 9, 1005000000u},
		{"1.0", "0.000001", 9, 1000u},
		{"1.0", "100", 9, 100000000000u},
		{"2.5", "1.005", 9, 2512500000u},
		{"2.5", "0.000001", 9, 2500u},
		{"0.1", "1.005", 9, 100500000u},
		{"0.1", "0.000001", 9, 100u},
		{"1", "0", 9, 0},
		{"1", "10.15", 6, 10150000u},
		{"1", "10.15", 2, 1015u},
		{"1", "3", 0, 3u},
		{"1", "18446744073709.551615", 6, UINT64_MAX},
		{"0.000000000000000001", "18446744073709", 18, 18446744073709u},
		{"1000", "0.000001", 18, 1000000000000000u},
	};
	for (size_t i = 0; i < N(tab); i++) {
		struct amt_ratio r = ratio(tab[i].ratio);
		uint64_t out = 0;
		struct err e = {0};

		if (amt_kwh_to_base_units(parse_ok(tab[i].kwh), &r, tab[i].dec, &out, &e) < 0 ||
		    out != tab[i].want)
			t_fail(__FILE__, __LINE__, "%s kWh at %s/%u dec: %" PRIu64 " (%s), want %" PRIu64,
			       tab[i].kwh, tab[i].ratio, tab[i].dec, out, e.msg, tab[i].want);
	}
}

TEST(amt_kwh_to_base_units_errors)
{
	struct amt_ratio one = ratio("1.0"), tenth = ratio("0.1"), k = ratio("1000");
	uint64_t out = 99;
	struct err e = {0};

	/* 0.000001 kWh at 0.1 token/kWh with 6 decimals is 0.1 base unit. */
	CHECK_INT(amt_kwh_to_base_units(1, &tenth, 6, &out, &e), -1);
	CHECK_INT(e.code, AMT_EINEXACT);
	CHECK_INT(amt_kwh_to_base_units(10, &tenth, 6, &out, &e), 0); /* but 10 micro is 1 unit */
	CHECK_U64(out, 1);
	out = 99;
	CHECK_INT(amt_kwh_to_base_units(UINT64_MAX, &k, 9, &out, &e), -1);
	CHECK_INT(e.code, AMT_EOVERFLOW);
	CHECK_INT(amt_kwh_to_base_units(UINT64_MAX, &one, 7, &out, &e), -1);
	CHECK_INT(e.code, AMT_EOVERFLOW);
	CHECK_INT(amt_kwh_to_base_units(UINT64_MAX / 1000, &one, 9, &out, &e), 0);
	CHECK_U64(out, UINT64_MAX / 1000 * 1000);
	out = 99;
	CHECK_INT(amt_kwh_to_base_units(UINT64_MAX / 1000 + 1, &one, 9, &out, &e), -1);
	CHECK_INT(e.code, AMT_EOVERFLOW);
	CHECK_INT(amt_kwh_to_base_units(1, &one, 19, &out, &e), -1);
	CHECK_INT(e.code, AMT_ERANGE);
	struct amt_ratio zero = {0, 0}, wide = {1, 19};
	CHECK_INT(amt_kwh_to_base_units(1, &zero, 9, &out, &e), -1);
	CHECK_INT(e.code, AMT_ERANGE);
	CHECK_INT(amt_kwh_to_base_units(1, &wide, 9, &out, &e), -1);
	CHECK_INT(e.code, AMT_ERANGE);
	CHECK_U64(out, 99);
}

TEST(amt_ratio_check)
{
	static const struct { const char *ratio; unsigned dec; bool ok; } tab[] = {
		{"1.0", 9, true}, {"2.5", 9, true}, {"0.1", 9, true}, {"0.1", 6, false},
		{"0.1", 7, true}, {"1", 6, true}, {"1", 5, false}, {"1", 0, false},
		{"1000000", 0, true}, {"2.5", 6, false}, {"2.5", 7, true},
		{"0.000000000000000001", 18, false}, {"1000", 18, true},
	};
	for (size_t i = 0; i < N(tab); i++) {
		struct amt_ratio r = ratio(tab[i].ratio);
		struct err e = {0};
		bool ok = amt_ratio_check(&r, tab[i].dec, &e) == 0;

		if (ok != tab[i].ok)
			t_fail(__FILE__, __LINE__, "check %s/%u = %d (%s)", tab[i].ratio,
			       tab[i].dec, ok, e.msg);
		if (!ok)
			CHECK_INT(e.code, AMT_EINEXACT);
		/*
		 * The check must agree with actual conversions: when it passes,
		 * no small amount is inexact; when it fails, 1 micro-kWh is.
		 */
		for (uint64_t m = 1; m <= 1000; m++) {
			uint64_t out;
			int rc = amt_kwh_to_base_units(m, &r, tab[i].dec, &out, &e);

			if (ok && rc < 0) {
				t_fail(__FILE__, __LINE__, "%s/%u: %" PRIu64 " micro: %s",
				       tab[i].ratio, tab[i].dec, m, e.msg);
				break;
			}
			if (!ok && m == 1)
				CHECK(rc < 0 && e.code == AMT_EINEXACT);
		}
	}
	struct err e = {0};
	struct amt_ratio one = ratio("1");
	CHECK_INT(amt_ratio_check(&one, 19, &e), -1);
	CHECK_INT(e.code, AMT_ERANGE);
}

TEST(amt_conversion_matches_plain_multiplication)
{
	/* For these ratios with 9 decimals, base units are micro * 1000 * ratio. */
	struct amt_ratio r1 = ratio("1.0"), r25 = ratio("2.5"), r01 = ratio("0.1");
	uint64_t seed = 7;

	for (int i = 0; i < 2000; i++) {
		uint64_t m = splitmix64(&seed) % (UINT64_MAX / 2500), a, b, c;

		if (amt_kwh_to_base_units(m, &r1, 9, &a, NULL) < 0 ||
		    amt_kwh_to_base_units(m, &r25, 9, &b, NULL) < 0 ||
		    amt_kwh_to_base_units(m, &r01, 9, &c, NULL) < 0) {
			t_fail(__FILE__, __LINE__, "conversion of %" PRIu64 " failed", m);
			break;
		}
		CHECK_U64(a, m * 1000);
		CHECK_U64(b, m * 2500);
		CHECK_U64(c, m * 100);
	}
}
