/* flight.h: recorded transactions in flight: send, rebroadcast the same bytes, poll, and resolve exactly once. */
#ifndef MINTD_FLIGHT_H
#define MINTD_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mintd.h"
#include "plan.h"
#include "rstate.h"
#include "solrpc.h"
#include "store.h"

/* What became of one transaction; valid only during the callback. */
struct fresult {
	int64_t tx_id;
	const char *signature;
	const char *batch_id;
	enum txstate to;
	const char *error;         /* NULL when confirmed */
	int wallets;
	int creates;               /* token accounts it created (confirmed only) */
	uint64_t fee;              /* lamports charged (0 when it never landed or is unknown) */
	const struct settled *r;   /* readings that reached a new state (minted, retrying, failed) */
	size_t n;
	long released;             /* readings sent back to pending uncounted (split out) */
};

typedef void (*flight_settle_fn)(const struct fresult *res);

void flight_init(struct store *st, struct rpc *rpc, struct atacache *cache, flight_settle_fn settle);

/* A transaction this process just wrote ahead: sent for the first time now. */
void flight_add_new(const struct ptx *t, int64_t tx_id, const char *batch_id, uint64_t last_valid_block_height);
/*
 * A pending transaction from the database (after a restart, or orphaned by another instance): it may
 * have been sent already, so a preflight failure is never final for it; it resolves by status or expiry.
 * Ignored when already in flight. Takes ownership of p's ix_wallets.
 */
void flight_adopt(struct pending_tx *p);
bool flight_has(int64_t tx_id);

/* One round: statuses of everything in flight, final transitions, rebroadcasts that are due. */
void flight_tick(void);

/* Transactions in flight (all), and those this process created (for BLOCKCHAIN_CONCURRENT_BATCHES). */
size_t flight_count(void);
size_t flight_count_own(void);
/* Distinct batches among this process's transactions in flight (BLOCKCHAIN_CONCURRENT_BATCHES). */
size_t flight_batches_own(void);
/* Drops everything from memory (the records stay in the database). */
void flight_clear(void);

#endif
