/* jwt.h: verification of HS256 JSON Web Tokens (the platform's login tokens) with libsodium. */
#ifndef GTX_JWT_H
#define GTX_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum jwt_errcode {
	JWT_EMALFORMED = 1, /* not three base64url parts, bad JSON, missing claims */
	JWT_EALG,           /* header alg is not exactly "HS256" (none, HS512, RS256, ...) */
	JWT_ESIGNATURE,     /* HMAC does not match */
	JWT_EEXPIRED,       /* exp <= now */
	JWT_ENOTYET,        /* nbf > now */
	JWT_EAUDIENCE,      /* an expected aud is not among the token's */
	JWT_EISSUER,        /* iss differs from the expected one */
};

#define JWT_MAX_LEN 4096

struct jwt_claims {
	char sub[64];  /* user id as sent (a UUID for the platform's users), lower-cased */
	char role[32]; /* "user", "admin", ... ("" when absent) */
	int64_t exp;   /* seconds since the epoch */
};

/* Claims the verifier insists on; NULL or "" fields are not checked. */
struct jwt_expect {
	const char *aud; /* must be the token's aud (a string) or one of them (an array of strings) */
	const char *iss; /* must equal the token's iss */
};

/*
 * Verifies `token` (header.payload.signature) against `secret` (raw bytes)
 * at time `now` (seconds since the epoch): alg must be HS256, the signature
 * is compared in constant time, exp is required and must be in the future,
 * nbf (if present) must be past, sub must be a non-empty string, and aud/iss
 * must match `want` (which may be NULL). Fills *out.
 * The error names the reason but never contains the token or the secret.
 */
int jwt_verify_hs256(const char *token, const unsigned char *secret, size_t secret_len, int64_t now,
    const struct jwt_expect *want, struct jwt_claims *out, struct err *e) WUR;

/* Signs claims JSON into a token (header {"alg":"HS256","typ":"JWT"}); for tests and tools. Caller frees. */
char *jwt_sign_hs256(const char *claims_json, const unsigned char *secret, size_t secret_len) WUR;

#endif
