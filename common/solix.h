/* solix.h: Solana instructions as values, and constructors for the ones minting needs. */
#ifndef GTX_SOLIX_H
#define GTX_SOLIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pubkey.h"

#define SOLIX_MAX_ACCOUNTS 16
#define SOLIX_MAX_DATA 1232 /* nothing larger fits a packet anyway */

enum solix_errcode {
	SOLIX_E_ARG = 1, /* too many accounts, data too long */
	SOLIX_E_UTF8,    /* memo text is not valid UTF-8 */
};

struct solix_meta {
	struct sol_pubkey key;
	bool signer;
	bool writable;
};

/* One instruction, self-contained (no pointers): copy it freely; the transaction builder copies it too. */
struct solix {
	struct sol_pubkey program;
	size_t naccounts;
	struct solix_meta accounts[SOLIX_MAX_ACCOUNTS];
	size_t ndata;
	uint8_t data[SOLIX_MAX_DATA];
};

/* Generic constructor: copies the metas and data. */
int solix_init(struct solix *ix, const struct sol_pubkey *program, const struct solix_meta *metas,
    size_t nmetas, const uint8_t *data, size_t ndata, struct err *e) WUR;

/* ComputeBudget SetComputeUnitLimit: data 02 + u32 LE, no accounts. */
void solix_cu_limit(struct solix *ix, uint32_t units);
/* ComputeBudget SetComputeUnitPrice: data 03 + u64 LE micro-lamports per CU, no accounts. */
void solix_cu_price(struct solix *ix, uint64_t micro_lamports);
/* ATA CreateIdempotent (data 01): funder [w,s], ata [w], wallet, mint, System program, token program. */
void solix_ata_create_idempotent(struct solix *ix, const struct sol_pubkey *funder, const struct sol_pubkey *ata,
    const struct sol_pubkey *wallet, const struct sol_pubkey *mint, const struct sol_pubkey *token_program);
/* SPL Token / Token-2022 MintToChecked (data 0e + u64 LE amount + u8 decimals):
 * mint [w], destination token account [w], mint authority [s]. */
void solix_mint_to_checked(struct solix *ix, const struct sol_pubkey *token_program, const struct sol_pubkey *mint,
    const struct sol_pubkey *dest, const struct sol_pubkey *authority, uint64_t amount, uint8_t decimals);
/* System AdvanceNonceAccount (data u32 4): nonce [w], RecentBlockhashes sysvar, authority [s]. A durable-nonce
 * transaction has it as its first instruction and the nonce's stored value as its recent blockhash. */
void solix_nonce_advance(struct solix *ix, const struct sol_pubkey *nonce, const struct sol_pubkey *authority);
/* System InitializeNonceAccount (data u32 6 + authority): nonce [w], RecentBlockhashes sysvar, Rent sysvar. */
void solix_nonce_initialize(struct solix *ix, const struct sol_pubkey *nonce, const struct sol_pubkey *authority);
/* System CreateAccountWithSeed (data u32 3, base, seed as u64 length + bytes, lamports, space, owner):
 * funder [w,s], new account [w], base [s]. The address must be pubkey_with_seed(base, seed, owner). */
int solix_create_account_with_seed(struct solix *ix, const struct sol_pubkey *funder, const struct sol_pubkey *to,
    const struct sol_pubkey *base, const char *seed, uint64_t lamports, uint64_t space,
    const struct sol_pubkey *owner, struct err *e) WUR;
/* System Transfer (data u32 2 + u64 lamports): from [w,s], to [w]. */
void solix_transfer(struct solix *ix, const struct sol_pubkey *from, const struct sol_pubkey *to, uint64_t lamports);
/* Address Lookup Table CreateLookupTable (data u32 0 + u64 recent_slot + u8 bump): table [w], authority [s],
 * payer [w,s], System program. table is alt_address(authority, recent_slot); recent_slot must be in the
 * SlotHashes sysvar when it executes. */
void solix_alt_create(struct solix *ix, const struct sol_pubkey *table, const struct sol_pubkey *authority,
    const struct sol_pubkey *payer, uint64_t recent_slot, uint8_t bump);
/* ExtendLookupTable (data u32 2 + u64 n + n addresses): table [w], authority [s], payer [w,s], System program.
 * Appends addrs[0..n); at most SOLIX_ALT_EXTEND_MAX in one instruction. */
#define SOLIX_ALT_EXTEND_MAX 30
int solix_alt_extend(struct solix *ix, const struct sol_pubkey *table, const struct sol_pubkey *authority,
    const struct sol_pubkey *payer, const struct sol_pubkey *addrs, size_t n, struct err *e) WUR;
/* Memo v2 with no signer accounts; text must be valid UTF-8 (the program fails otherwise). */
int solix_memo(struct solix *ix, const char *text, size_t len, struct err *e) WUR;

/* Strict UTF-8 (as Rust's str::from_utf8: no overlongs, no surrogates, nothing above U+10FFFF). */
bool solix_utf8_valid(const uint8_t *s, size_t n);

#endif
