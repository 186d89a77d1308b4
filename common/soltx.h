/* soltx.h: Solana transaction messages (legacy and v0 with address lookup tables): build, size exactly, sign,
 * serialize; compact-u16; base64. */
#ifndef GTX_SOLTX_H
#define GTX_SOLTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keypair.h"
#include "pubkey.h"
#include "solix.h"

#define STX_PACKET_MAX 1232 /* max serialized transaction (PACKET_DATA_SIZE) */
#define STX_MAX_LOCKS 64    /* account lock limit on mainnet today */
#define STX_MAX_IX 64       /* top-level instruction limit */
#define STX_MAX_KEYS 256    /* account indices are u8: a message can never name more */
#define STX_BASE64_SZ 1645  /* base64 of STX_PACKET_MAX bytes (1644 chars) + NUL */
#define STX_MAX_TABLES 64   /* lookup tables one v0 message may be offered (a builder limit, not Solana's) */
#define STX_TABLE_MAX 256   /* addresses a lookup table holds; indexes are u8 */
/* Instruction trace (top-level + every CPI) is capped at 64: a CreateIdempotent that creates the account
 * takes 5 slots, MintToChecked 1, so at most 10 new-ATA recipients per transaction whatever the size.
 * The builder cannot know which ATAs exist; the caller (the packer) enforces this. */
#define STX_MAX_TRACE 64
#define STX_TRACE_ATA_CREATE 5

enum stx_errcode {
	STX_E_ARG = 1,   /* malformed instruction or use (e.g. payer used as a program) */
	STX_E_NOMEM,     /* allocation failed */
	STX_E_KEYS,      /* more than STX_MAX_KEYS (builder) or STX_MAX_LOCKS (signing) distinct accounts */
	STX_E_IX,        /* more than STX_MAX_IX instructions at signing */
	STX_E_SIZE,      /* serialized transaction larger than STX_PACKET_MAX */
	STX_E_SIGNER,    /* a required signer's keypair was not supplied, or signing failed */
	STX_E_DECODE,    /* compact-u16 or base64 decoding failed */
};

/*
 * A message under construction: one fee payer (always account 0, a writable signer), a recent
 * blockhash, and an ordered list of instructions (copied in). Account keys are deduplicated with
 * role = OR of all uses and laid out as [writable signers | readonly signers | writable non-signers |
 * readonly non-signers], each group in first-seen order (payer first; an instruction's program is
 * seen before its accounts). In a v0 message that layout covers the static keys; loaded keys follow in
 * the index space as every table's writable ones, then every table's readonly ones, tables in the order
 * given, keys in first-seen order. The same inputs always give the same bytes.
 */
struct stx;

/* Dimensions of the serialized transaction, for packing decisions. */
struct stx_dims {
	size_t size;     /* serialized transaction bytes, signatures included */
	size_t nkeys;    /* distinct account keys = account locks (static + loaded) */
	size_t nix;      /* top-level instructions */
	size_t nsigners; /* required signatures */
	size_t nstatic;  /* keys in the message itself (all of them in a legacy message) */
	size_t nlookups; /* lookup tables the v0 message loads from (0 for legacy) */
};

/*
 * An address lookup table as a v0 message may use it: its address and the addresses a transaction may look
 * up now (for a table extended in the current slot, only those before last_extended_slot_start_index). The
 * caller vouches that the table really holds them at these indexes: a wrong index names another account.
 * Borrowed: the addresses must stay valid and unchanged as long as the stx that uses them.
 */
struct stx_table {
	struct sol_pubkey address;
	const struct sol_pubkey *addrs;
	size_t naddrs; /* at most STX_TABLE_MAX */
};

/* NULL when out of memory. blockhash may be changed later with stx_set_blockhash. */
struct stx *stx_new(const struct sol_pubkey *payer, const struct sol_pubkey *blockhash) WUR;
/*
 * A v0 message (prefix 0x80) that loads from tables[0..ntables) every key it can: a key that is not the payer,
 * not a signer and no instruction's program is loaded from a table that holds it (writable or readonly as its
 * role says), preferring tables the message loads from already; the others are static. Tables no key is
 * loaded from are left out. The same inputs give the same bytes. NULL when out of memory or when ntables >
 * STX_MAX_TABLES or a table holds more than STX_TABLE_MAX addresses. tables is borrowed like its addresses.
 */
struct stx *stx_new_v0(const struct sol_pubkey *payer, const struct sol_pubkey *blockhash,
    const struct stx_table *tables, size_t ntables) WUR;
bool stx_is_v0(const struct stx *t);
void stx_free(struct stx *t);
void stx_set_blockhash(struct stx *t, const struct sol_pubkey *blockhash);

/* Appends n instructions (copied), all or nothing. Fails only on malformed input, memory, or more
 * than STX_MAX_KEYS keys; the packet/lock/instruction limits are checked by stx_fits and stx_sign. */
int stx_add(struct stx *t, const struct solix *ixs, size_t n, struct err *e) WUR;
/* Current dimensions. */
void stx_dims(const struct stx *t, struct stx_dims *d);
/* Dimensions if ixs were appended (t unchanged). Returns -1 if they could not be (see stx_add). */
int stx_dims_if_added(const struct stx *t, const struct solix *ixs, size_t n, struct stx_dims *d) WUR;
/* True when d is within STX_PACKET_MAX, STX_MAX_LOCKS and STX_MAX_IX. */
bool stx_fits(const struct stx_dims *d);
size_t stx_size(const struct stx *t);
size_t stx_size_if_added(const struct stx *t, const struct solix *ixs, size_t n); /* SIZE_MAX if impossible */
size_t stx_nkeys(const struct stx *t);
size_t stx_nix(const struct stx *t);
/* Replaces instruction i (copied) with one of the same program, accounts (keys and roles) and data length, so
 * the message keeps its size and layout (e.g. a new compute-unit limit). Fails (t unchanged) otherwise. */
int stx_replace(struct stx *t, size_t i, const struct solix *ix, struct err *e) WUR;
/* A mark is the instruction count; rollback drops every instruction added after it. */
size_t stx_mark(const struct stx *t);
void stx_rollback(struct stx *t, size_t mark);

/* The message bytes every signer signs. *msg is malloc'd: caller frees. No limits are checked. */
int stx_message(const struct stx *t, uint8_t **msg, size_t *len, struct err *e) WUR;
/*
 * Signs with the payer (the only required signer in the mint shape) and serializes the transaction,
 * enforcing STX_PACKET_MAX, STX_MAX_LOCKS and STX_MAX_IX. *tx is malloc'd (caller frees) and its
 * length equals stx_size(t). sig (raw 64 bytes) and sig_b58 (base58, NUL-terminated) receive the
 * first signature = the transaction id; either may be NULL. Ed25519 is deterministic: the same
 * message signed again gives the same bytes. Not for concurrent use of one kp from several threads.
 */
int stx_sign(const struct stx *t, struct kp *payer, uint8_t **tx, size_t *tx_len, uint8_t sig[64],
    char sig_b58[89], struct err *e) WUR;
/* The same with several signers; every required signer must be among them (extras are ignored). */
int stx_sign_multi(const struct stx *t, struct kp *const *signers, size_t nsigners, uint8_t **tx,
    size_t *tx_len, uint8_t sig[64], char sig_b58[89], struct err *e) WUR;

/* Bytes a compiled instruction takes in a message: 1 + cu16(a) + a + cu16(d) + d. */
size_t stx_ix_size(const struct solix *ix);

/* compact-u16 ("shortvec"): 1..3 bytes little-endian base 128. */
size_t stx_cu16_len(uint16_t v);
size_t stx_cu16_encode(uint16_t v, uint8_t out[3]);
/* Strict: rejects truncation, non-minimal (alias) encodings, more than 3 bytes and values > 0xFFFF. */
int stx_cu16_decode(const uint8_t *in, size_t n, uint16_t *v, size_t *used, struct err *e) WUR;

/* Standard padded base64 of n bytes into out (NUL-terminated); returns the length, 0 if out is too small. */
size_t stx_base64(const uint8_t *in, size_t n, char *out, size_t outsz);
/* Strict standard padded base64 decode (no whitespace); *outlen receives the byte count. */
int stx_base64_decode(const char *s, size_t slen, uint8_t *out, size_t outsz, size_t *outlen, struct err *e) WUR;

#endif
