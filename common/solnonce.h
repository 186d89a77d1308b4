/* solnonce.h: durable-nonce accounts: their 80-byte state as the System program stores it. */
#ifndef GTX_SOLNONCE_H
#define GTX_SOLNONCE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pubkey.h"

#define SOLNONCE_ACCOUNT_LEN 80 /* u32 version, u32 state, authority, durable nonce, u64 lamports per signature */

/* An initialized nonce account: who may advance it, and the value a transaction must carry as its blockhash. */
struct solnonce {
	struct sol_pubkey authority;
	struct sol_pubkey value;
	uint64_t lamports_per_signature;
};

/*
 * Parses account data owned by the System program (the caller checks the owner). Fails unless it is exactly
 * 80 bytes of version Current (1) or Legacy (0) in state Initialized (1).
 */
int solnonce_parse(const uint8_t *data, size_t len, struct solnonce *out, struct err *e) WUR;

#endif
