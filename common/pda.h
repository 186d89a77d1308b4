/* pda.h: program-derived addresses exactly as the Solana runtime computes them, and ATA addresses. */
#ifndef GTX_PDA_H
#define GTX_PDA_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pubkey.h"

#define PDA_MAX_SEEDS 16    /* including the bump seed */
#define PDA_MAX_SEED_LEN 32

enum pda_errcode {
	PDA_E_SEEDS = 1, /* too many seeds or a seed longer than 32 bytes */
	PDA_E_ON_CURVE,  /* the hash is an Ed25519 point, so it is not a valid PDA */
	PDA_E_NO_BUMP,   /* no bump 255..1 gives an off-curve address */
	PDA_E_CRYPTO,    /* libsodium failed to initialise */
};

/* create_program_address: SHA-256(seeds || program || "ProgramDerivedAddress"), rejected if on the curve. */
int pda_create(const uint8_t *const seeds[], const size_t seed_lens[], size_t nseeds,
    const struct sol_pubkey *program, struct sol_pubkey *out, struct err *e) WUR;
/* find_program_address: appends bump 255, 254, ..., 1 (never 0) and returns the first valid address.
 * At most PDA_MAX_SEEDS - 1 seeds (the bump is the last one). */
int pda_find(const uint8_t *const seeds[], const size_t seed_lens[], size_t nseeds,
    const struct sol_pubkey *program, struct sol_pubkey *out, uint8_t *bump, struct err *e) WUR;
/* The associated token account of wallet for mint under token_program (Token or Token-2022):
 * seeds [wallet, token_program, mint] under the ATA program. bump may be NULL. */
int pda_ata(const struct sol_pubkey *wallet, const struct sol_pubkey *mint,
    const struct sol_pubkey *token_program, struct sol_pubkey *ata, uint8_t *bump) WUR;
/* True when the 32 bytes decompress as an Edwards-Y point (curve25519-dalek's rule; no subgroup,
 * small-order or canonicity checks). Exposed for tests. */
int pda_on_curve(const uint8_t p[32]);

#endif
