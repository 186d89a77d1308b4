/* admintok.h: the admin bearer tokens (ADMIN_TOKEN_SHA256) and the one check both listeners make. */
#ifndef INGESTD_ADMINTOK_H
#define INGESTD_ADMINTOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ADMINTOK_MAX 16

/* The SHA-256 digests of the accepted tokens (never the tokens). A value, copied freely. */
struct admintok {
	uint8_t sha[ADMINTOK_MAX][32];
	size_t n;
};

/*
 * Parses ADMIN_TOKEN_SHA256: up to ADMINTOK_MAX 64-digit hex digests separated by commas (and blanks).
 * -1 when malformed or too many (*t is then empty: the admin API closed).
 */
int admintok_parse(const char *list, struct admintok *t) WUR;

/*
 * True when SHA-256(token[0..len)) is one of the digests. Constant time in the token's content and in
 * which digest matches (every digest is compared, no early exit).
 */
bool admintok_ok(const struct admintok *t, const char *token, size_t len);

/* The same for an Authorization header value "Bearer <token>" (NULL: false). */
bool admintok_bearer_ok(const struct admintok *t, const char *authorization);

#endif
