/* amount.c: parse/format kWh as integer micro-kWh and convert to token base units exactly. */
#include "amount.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

static u128
pow10_u128(unsigned n)
{
	u128 p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Case-insensitive equality of s[0..len) with the lower-case word w. */
static bool
word_eq(const char *s, size_t len, const char *w)
{
	if (len != strlen(w))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != w[i])
			return false;
	}
	return true;
}

static int
unexpected(struct err *e, const char *what, char c, size_t pos)
{
	unsigned char u = (unsigned char)c;

	if (u >= 0x20 && u < 0x7f)
		return err_set(e, AMT_ESYNTAX, "%s: unexpected character '%c' at position %zu",
			       what, c, pos);
	return err_set(e, AMT_ESYNTAX, "%s: unexpected byte 0x%02x at position %zu", what, u, pos);
}

/*
 * Scans a plain unsigned decimal "DIGITS[.DIGITS]" (JSON number grammar
 * without sign and exponent) into its integer part *ip and the first
 * max_frac fraction digits *fp (as an integer), with *nfrac the number of
 * fraction digits. Syntax problems are reported before precision, precision
 * before overflow, so the most basic mistake is named.
 */
static int
dec_scan(const char *s, size_t len, const char *what, unsigned max_frac,
	 uint64_t *ip, uint64_t *fp, unsigned *nfrac, struct err *e)
{
	size_t i = 0, nint, nf = 0;
	uint64_t iv = 0, fv = 0;
	bool ovf = false;

	if (len == 0)
		return err_set(e, AMT_EEMPTY, "%s: empty", what);
	if (s[0] == '+' || s[0] == '-') {
		if (word_eq(s + 1, len - 1, "nan") || word_eq(s + 1, len - 1, "inf") ||
		    word_eq(s + 1, len - 1, "infinity"))
			return err_set(e, AMT_ENAN, "%s: NaN and Infinity are not numbers here", what);
		return err_set(e, AMT_ESIGN, "%s: no sign allowed ('%c'); amounts are unsigned",
			       what, s[0]);
	}
	if (word_eq(s, len, "nan") || word_eq(s, len, "inf") || word_eq(s, len, "infinity"))
		return err_set(e, AMT_ENAN, "%s: NaN and Infinity are not numbers here", what);

	while (i < len && is_digit(s[i])) {
		ovf |= __builtin_mul_overflow(iv, 10u, &iv);
		ovf |= __builtin_add_overflow(iv, (uint64_t)(s[i] - '0'), &iv);
		i++;
	}
	nint = i;
	if (nint == 0) {
		if (s[0] == '.')
			return err_set(e, AMT_ESYNTAX, "%s: missing digits before the decimal point", what);
		return unexpected(e, what, s[0], 0);
	}
	if (nint > 1 && s[0] == '0')
		return err_set(e, AMT_ESYNTAX, "%s: leading zeros are not allowed", what);
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && is_digit(s[i])) {
			if (nf < max_frac)
				fv = fv * 10 + (uint64_t)(s[i] - '0');
			nf++;
			i++;
		}
		if (nf == 0)
			return err_set(e, AMT_ESYNTAX, "%s: missing digits after the decimal point", what);
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
		return err_set(e, AMT_EEXPONENT,
			       "%s: exponent notation is not allowed; write plain decimal digits", what);
	if (i < len)
		return unexpected(e, what, s[i], i);
	if (nf > max_frac)
		return err_set(e, AMT_EPRECISION, "%s: %zu decimal places, at most %u allowed",
			       what, nf, max_frac);
	if (ovf)
		return err_set(e, AMT_EOVERFLOW, "%s: too large", what);
	*ip = iv;
	*fp = fv;
	*nfrac = (unsigned)nf;
	return 0;
}

int
amt_parse_kwh(const char *s, size_t len, uint64_t *micro_kwh, struct err *e)
{
	uint64_t ip, fp, v;
	unsigned nf;

	if (dec_scan(s, len, "kWh amount", AMT_KWH_DECIMALS, &ip, &fp, &nf, e) < 0)
		return -1;
	fp *= (uint64_t)pow10_u128(AMT_KWH_DECIMALS - nf);
	if (__builtin_mul_overflow(ip, (uint64_t)AMT_MICRO_PER_KWH, &v) ||
	    __builtin_add_overflow(v, fp, &v))
		return err_set(e, AMT_EOVERFLOW,
			       "kWh amount: too large (maximum 18446744073709.551615)");
	*micro_kwh = v;
	return 0;
}

/*
 * The decimal digits of v, at least `width` of them (zero-padded), right-aligned to end (which is not
 * written); returns where they start. By hand rather than snprintf: every accepted reading formats a few
 * amounts, and the printf machinery cost several times the digits.
 */
static char *
digits(uint64_t v, unsigned width, char *end)
{
	char *p = end;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 || (unsigned)(end - p) < width);
	return p;
}

/* Copies [p, end) and a NUL to buf, or if they do not fit writes "" and returns 0. */
static size_t
put_text(char *buf, size_t n, const char *p, const char *end)
{
	size_t len = (size_t)(end - p);

	if (len >= n) {
		if (n > 0)
			buf[0] = '\0';
		return 0;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	return len;
}

/* micro_kwh as kWh with the first `decimals` digits of its fraction (0: no point); the trim drops only zeros. */
static size_t
format_kwh(uint64_t micro_kwh, unsigned decimals, char *buf, size_t bufsz)
{
	char t[AMT_KWH_BUFSZ], *end = t + sizeof(t), *p = end;
	uint64_t frac = micro_kwh % AMT_MICRO_PER_KWH;

	if (decimals > 0) {
		for (unsigned d = decimals; d < AMT_KWH_DECIMALS; d++)
			frac /= 10;
		p = digits(frac, decimals, p);
		*--p = '.';
	}
	p = digits(micro_kwh / AMT_MICRO_PER_KWH, 1, p);
	return put_text(buf, bufsz, p, end);
}

size_t
amt_format_kwh(uint64_t micro_kwh, char *buf, size_t bufsz)
{
	return format_kwh(micro_kwh, AMT_KWH_DECIMALS, buf, bufsz);
}

size_t
amt_format_kwh_trim(uint64_t micro_kwh, char *buf, size_t bufsz)
{
	unsigned decimals = AMT_KWH_DECIMALS;

	/* the trailing zeros of the fraction go (all of them, and the point, for whole kWh) */
	for (uint64_t frac = micro_kwh % AMT_MICRO_PER_KWH; decimals > 0 && frac % 10 == 0; frac /= 10)
		decimals--;
	return format_kwh(micro_kwh, decimals, buf, bufsz);
}

size_t
amt_format_base_units(uint64_t v, char *buf, size_t n)
{
	char t[AMT_U64_BUFSZ], *end = t + sizeof(t);

	return put_text(buf, n, digits(v, 1, end), end);
}

int
amt_parse_ratio(const char *s, struct amt_ratio *r, struct err *e)
{
	uint64_t ip, fp, num;
	unsigned nf;

	if (dec_scan(s, strlen(s), "ratio", AMT_MAX_DECIMALS, &ip, &fp, &nf, e) < 0)
		return -1;
	/* 10^18 fits in a u64, so only the multiply and add below can overflow. */
	if (__builtin_mul_overflow(ip, (uint64_t)pow10_u128(nf), &num) ||
	    __builtin_add_overflow(num, fp, &num))
		return err_set(e, AMT_EOVERFLOW, "ratio: too many significant digits for 64 bits");
	if (num == 0)
		return err_set(e, AMT_ERANGE, "ratio: must be greater than zero");
	while (nf > 0 && num % 10 == 0) {
		num /= 10;
		nf--;
	}
	r->num = num;
	r->scale = nf;
	return 0;
}

/* The ratio as decimal text for messages ("2.5", "0.01"); buf has RATIO_BUFSZ bytes, scale <= 18. */
#define RATIO_BUFSZ (AMT_U64_BUFSZ + AMT_MAX_DECIMALS + 2)
static const char *
ratio_text(const struct amt_ratio *r, char *buf)
{
	char d[AMT_U64_BUFSZ];
	int n = snprintf(d, sizeof(d), "%" PRIu64, r->num), sc = (int)r->scale;

	if (sc == 0)
		snprintf(buf, RATIO_BUFSZ, "%s", d);
	else if (n > sc)
		snprintf(buf, RATIO_BUFSZ, "%.*s.%s", n - sc, d, d + (n - sc));
	else
		snprintf(buf, RATIO_BUFSZ, "0.%.*s%s", sc - n, "000000000000000000", d);
	return buf;
}

static int
check_args(const struct amt_ratio *r, unsigned decimals, struct err *e)
{
	if (decimals > AMT_MAX_DECIMALS)
		return err_set(e, AMT_ERANGE, "token decimals %u out of range 0..%u",
			       decimals, AMT_MAX_DECIMALS);
	if (r->scale > AMT_MAX_DECIMALS)
		return err_set(e, AMT_ERANGE, "ratio scale %" PRIu32 " out of range 0..%u",
			       r->scale, AMT_MAX_DECIMALS);
	if (r->num == 0)
		return err_set(e, AMT_ERANGE, "ratio must be greater than zero");
	return 0;
}

/*
 * x * 10^decimals / 10^(6 + scale), computed as x * 10^up / 10^down after
 * cancelling the common power of ten, so at most one of up/down is nonzero
 * and no intermediate overflows needlessly. x < 2^128 always (a product of
 * two u64). Sets *inexact if the division leaves a remainder; -1 on overflow.
 */
static int
scale_u128(u128 x, unsigned decimals, uint32_t scale, u128 *out, bool *inexact)
{
	unsigned down = AMT_KWH_DECIMALS + scale, up = decimals;
	unsigned k = up < down ? up : down;
	u128 d;

	up -= k;
	down -= k;
	*inexact = false;
	if (down > 0) {
		d = pow10_u128(down); /* down <= 24: 10^24 < 2^128 */
		*inexact = x % d != 0;
		*out = x / d;
		return 0;
	}
	/* up <= 18: 10^18 < 2^128. */
	return __builtin_mul_overflow(x, pow10_u128(up), out) ? -1 : 0;
}

int
amt_kwh_to_base_units(uint64_t micro_kwh, const struct amt_ratio *r, unsigned decimals,
		      uint64_t *out, struct err *e)
{
	char rt[RATIO_BUFSZ];
	u128 v;
	bool inexact;

	if (check_args(r, decimals, e) < 0)
		return -1;
	if (scale_u128((u128)micro_kwh * r->num, decimals, r->scale, &v, &inexact) < 0 ||
	    v > UINT64_MAX)
		return err_set(e, AMT_EOVERFLOW,
			       "%" PRIu64 " micro-kWh at this ratio exceeds the 64-bit token amount",
			       micro_kwh);
	if (inexact)
		return err_set(e, AMT_EINEXACT,
			       "%" PRIu64 " micro-kWh is not a whole number of base units at "
			       "ratio %s with %u decimals",
			       micro_kwh, ratio_text(r, rt), decimals);
	*out = (uint64_t)v;
	return 0;
}

int
amt_ratio_check(const struct amt_ratio *r, unsigned decimals, struct err *e)
{
	char rt[RATIO_BUFSZ];
	u128 v;
	bool inexact;

	if (check_args(r, decimals, e) < 0)
		return -1;
	/* num * 10^decimals < 2^64 * 10^18 < 2^128: cannot overflow. */
	if (scale_u128(r->num, decimals, r->scale, &v, &inexact) < 0 || inexact)
		return err_set(e, AMT_EINEXACT,
			       "ratio %s with %u token decimals: 0.000001 kWh is not a whole "
			       "number of base units; use more token decimals or a coarser ratio",
			       ratio_text(r, rt), decimals);
	return 0;
}
