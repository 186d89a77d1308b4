/* pubkey.h: the 32-byte Solana address type, its base58 form, and the well-known program ids. */
#ifndef GTX_PUBKEY_H
#define GTX_PUBKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* An Ed25519 public key or a program-derived address; also used for 32-byte blockhashes. */
struct sol_pubkey {
	uint8_t b[32];
};

/* Program ids (decoded once from their base58 names; unit tests check the encodings). */
extern const struct sol_pubkey pubkey_system_program;         /* 11111111111111111111111111111111 */
extern const struct sol_pubkey pubkey_token_program;          /* TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA */
extern const struct sol_pubkey pubkey_token2022_program;      /* TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb */
extern const struct sol_pubkey pubkey_ata_program;            /* ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL */
extern const struct sol_pubkey pubkey_memo_program;           /* MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr (v2) */
extern const struct sol_pubkey pubkey_compute_budget_program; /* ComputeBudget111111111111111111111111111111 */
extern const struct sol_pubkey pubkey_sysvar_recent_blockhashes; /* SysvarRecentB1ockHashes11111111111111111111 */
extern const struct sol_pubkey pubkey_sysvar_rent;            /* SysvarRent111111111111111111111111111111111 */
extern const struct sol_pubkey pubkey_alt_program;            /* AddressLookupTab1e1111111111111111111111111 */

#define PUBKEY_MAX_SEED_LEN 32

/* Parses a NUL-terminated base58 string that must decode to exactly 32 bytes. */
int pubkey_from_b58(const char *s, struct sol_pubkey *out, struct err *e) WUR;
/* Writes the base58 form (32..44 chars + NUL) into out. */
void pubkey_to_b58(const struct sol_pubkey *pk, char out[45]);
bool pubkey_eq(const struct sol_pubkey *a, const struct sol_pubkey *b);
/* create_with_seed: SHA-256(base || seed || owner), as System CreateAccountWithSeed derives the address. */
int pubkey_with_seed(const struct sol_pubkey *base, const char *seed, const struct sol_pubkey *owner,
    struct sol_pubkey *out, struct err *e) WUR;

#endif
