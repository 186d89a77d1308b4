/* conf.h: ingestd's configuration key table and its checks. */
#ifndef INGESTD_CONF_H
#define INGESTD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define INGESTD_MAX_ADMIN_TOKENS 16

extern const struct cfg_key ingestd_keys[];
extern const size_t ingestd_nkeys;

/* Cross-key checks beyond single values (used by -n, start-up and reload). */
void ingestd_conf_check(const struct cfg *c, struct errlist *errs);

/* Parses ADMIN_TOKEN_SHA256 into raw digests; -1 when malformed or more than max. */
int ingestd_admin_hashes(const char *s, uint8_t (*out)[32], size_t max, size_t *n);
/*
 * True when SHA-256(token) is one of the n digests. Constant time in the token's
 * content and in which digest matches (every digest is compared, no early exit).
 */
bool ingestd_admin_token_ok(const char *token, size_t len, const uint8_t (*hashes)[32], size_t n);

#endif
