/*
 * edbatch.h: Ed25519 signatures verified many at a time (one multi-scalar multiplication for a whole batch,
 * about half the work of checking each alone). Pure computation: no I/O, no logging; its only state is
 * constants edb_init computes once (the curve's d, sqrt(-1), a table of multiples of B).
 *
 * The rule is RFC 8032's cofactored check, 8(sB) = 8R + 8(hA), with the strict encodings libsodium requires:
 * s canonical (s < L), R and A canonical encodings of curve points, neither of small order. For every
 * signature libsodium's crypto_sign_verify_detached accepts, this accepts too, and the converse holds
 * whenever R and A lie in the prime-order subgroup, as every honestly made key and signature do. The two
 * differ only on a signature whose R (or a key whose A) carries a small-order component: something only the
 * key's holder can make, and which still proves the holder signed. The cofactored rule is the one a batch
 * can check exactly ("Taming the many EdDSAs", Chalkias et al. 2020; ZIP 215), so a signature's verdict does
 * not depend on the company it is checked in.
 *
 * A batch is checked as sum_i z_i (8 s_i B - 8 R_i - 8 h_i A_i) = 0 with fresh random 128-bit z_i
 * (libsodium's randombytes); a set holding any invalid signature passes with probability at most 2^-127.
 * When a batch fails, each of its signatures is checked alone (z = 1, no randomness), so every verdict
 * is each signature's own.
 */
#ifndef COMMON_EDBATCH_H
#define COMMON_EDBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A public key decoded once, for the signatures later checked by it: decoding is about a seventh of what one
 * signature costs in a batch (ingestd keeps one with each cached meter).
 */
struct edb_key {
	uint64_t p[20]; /* -A in extended coordinates (edbatch.c's own layout) */
	bool ok;        /* false: no signature by this key verifies (not canonical, not a point, or small order) */
};

struct edb_item {
	const uint8_t *sig; /* 64 bytes: R, then s */
	const uint8_t *pk;  /* 32 bytes */
	const uint8_t *msg;
	size_t len;
	const struct edb_key *key; /* NULL, or pk as edb_key_init decoded it */
};

/* The most signatures one multi-scalar multiplication takes; edb_verify splits longer lists. */
#define EDB_CHUNK 64

/* Must be called once before edb_verify (after sodium_init); 0, or -1 if the constants did not check out. */
int edb_init(void);

/* Decodes pk into *k (k->ok tells whether it can verify anything); needs edb_init first. */
void edb_key_init(struct edb_key *k, const uint8_t pk[32]);

/* Working memory for edb_verify (about 230 KB): made once by its user and reused, nothing allocated per call. */
struct edb_ws;
struct edb_ws *edb_ws_new(void);
void edb_ws_free(struct edb_ws *ws);
/* How many times a multi-scalar multiplication of ws failed, so that its signatures were checked one by one. */
unsigned long edb_ws_fallbacks(const struct edb_ws *ws);

/*
 * Sets ok[i] to whether item i's signature verifies. Returns how many did, or -1 (ok[] unset) when edb_init
 * has not succeeded.
 */
int edb_verify(struct edb_ws *ws, const struct edb_item *items, size_t n, bool *ok);

#endif
