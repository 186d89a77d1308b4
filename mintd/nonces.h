/* nonces.h: the durable-nonce pool: its accounts exist on chain, and every consumed value is replaced by the
 * account's next one, read at or after the slot that consumed it. */
#ifndef MINTD_NONCES_H
#define MINTD_NONCES_H

#include <stdbool.h>

#include "keypair.h"
#include "rpcm.h"
#include "store.h"

/*
 * Pool entry i is the System account created with seed "gtx-nonce-<i>" from the mint authority (its address
 * is derived, so every instance agrees on it and a crashed creation is simply done again: creating an
 * existing account fails harmlessly). The authority is the nonce authority. MINTD_NONCE_ACCOUNTS entries
 * are kept; more mint transactions in flight than that wait for a free nonce.
 */
void nonces_init(struct store *st, struct rpcm *rpc, struct kp *authority);
/* Starts what is due: create missing accounts, learn new and consumed values (never waits). */
void nonces_tick(void);
/* A verdict just recorded the account's value old_value consumed at slot: read its next value now (at
 * SOLANA_COMMITMENT, minContextSlot slot) instead of at the next periodic read; the pool frees it sooner. */
void nonces_consumed(const char *addr, const char *old_value, uint64_t slot);

#endif
