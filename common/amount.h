/* amount.h: exact kWh and token amounts as integers (micro-kWh, base units); no floating point. */
#ifndef GTX_AMOUNT_H
#define GTX_AMOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* e->code values set by this module. */
enum amt_errcode {
	AMT_EEMPTY = 1,   /* empty input */
	AMT_ESIGN,        /* leading '+' or '-' (also "-0") */
	AMT_EEXPONENT,    /* exponent notation (e/E) */
	AMT_ENAN,         /* NaN or Infinity, any case, with or without sign */
	AMT_EPRECISION,   /* more decimal places than allowed (6 for kWh, 18 for a ratio) */
	AMT_EOVERFLOW,    /* value or result does not fit in 64 bits */
	AMT_ESYNTAX,      /* anything else that is not a plain decimal number */
	AMT_ERANGE,       /* ratio of zero, or decimals/scale out of range */
	AMT_EINEXACT,     /* conversion would need rounding */
};

#define AMT_MICRO_PER_KWH 1000000u
#define AMT_KWH_DECIMALS 6
#define AMT_MAX_DECIMALS 18      /* for token decimals and ratio scale */
/* Room for "18446744073709.551615" plus NUL. */
#define AMT_KWH_BUFSZ 24
/* Room for "18446744073709551615" plus NUL. */
#define AMT_U64_BUFSZ 21

/*
 * Parses a kWh amount into integer micro-kWh. The text is a plain decimal as
 * JSON writes a number (or the content of a JSON string, without quotes):
 * digits, no leading zeros ("0" and "0.5" are fine, "01" is not), optionally
 * '.' and 1 to 6 digits. No sign, exponent, spaces or other characters.
 * At most 6 decimals are accepted even when the extra ones are zeros
 * ("1.0000000" is AMT_EPRECISION): the meter signs a message with exactly 6
 * decimals, so more digits mean the sender does not follow the protocol.
 * Zero is accepted; range checks are the caller's. `s` need not be
 * NUL-terminated.
 */
int amt_parse_kwh(const char *s, size_t len, uint64_t *micro_kwh, struct err *e) WUR;

/*
 * Formats micro-kWh as kWh with exactly 6 decimals ("10.150000"), the text the
 * meter signs. Returns the length written (without NUL), or 0 when bufsz is
 * too small (then buf is "" if bufsz > 0). AMT_KWH_BUFSZ always suffices.
 */
size_t amt_format_kwh(uint64_t micro_kwh, char *buf, size_t bufsz);

/* As amt_format_kwh, but for display: no trailing zeros, no trailing dot ("10.15", "1", "0.000001"). */
size_t amt_format_kwh_trim(uint64_t micro_kwh, char *buf, size_t bufsz);

/* Formats a u64 as decimal; same return convention. AMT_U64_BUFSZ always suffices. */
size_t amt_format_base_units(uint64_t v, char *buf, size_t n);

/* Tokens per kWh as num / 10^scale; amt_parse_ratio stores it reduced (no trailing zeros in num when scale > 0). */
struct amt_ratio {
	uint64_t num;
	uint32_t scale;
};

/* Parses a ratio such as "1", "1.0", "2.5", "0.1": plain decimal, > 0, at most 18 decimals, NUL-terminated. */
int amt_parse_ratio(const char *s, struct amt_ratio *r, struct err *e) WUR;

/*
 * *out = micro_kwh * num * 10^decimals / 10^(6 + scale) exactly, in base units
 * of a token with `decimals` (0..18) decimals. Fails with AMT_EINEXACT if the
 * division leaves a remainder (never rounds) and AMT_EOVERFLOW if the result
 * does not fit in a u64.
 */
int amt_kwh_to_base_units(uint64_t micro_kwh, const struct amt_ratio *r, unsigned decimals,
			  uint64_t *out, struct err *e) WUR;

/*
 * Succeeds iff every micro-kWh amount converts exactly with this ratio and
 * token decimals (the conversion is linear, so it suffices that 1 micro-kWh
 * does: num * 10^decimals divisible by 10^(6 + scale)). For config loading:
 * a daemon should refuse a ratio that could ever be inexact.
 */
int amt_ratio_check(const struct amt_ratio *r, unsigned decimals, struct err *e) WUR;

#endif
