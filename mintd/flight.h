/* flight.h: recorded transactions in flight: send and rebroadcast the same bytes, poll, and decide each
 * one exactly once, on proof. */
#ifndef MINTD_FLIGHT_H
#define MINTD_FLIGHT_H

/*
 * Every mint transaction is a durable-nonce transaction. Its "group" is the nonce value it carries: the
 * mint transaction T and, once T is abandoned, one advance transaction A (a bare AdvanceNonceAccount on
 * the same value). At most one transaction of a group can ever land, and whichever lands consumes the
 * value for good (values never repeat). The verdicts, and where their proof is:
 *
 *   T confirmed  T's status: found, no error, at SOLANA_COMMITMENT (decide(), verdict_confirm)
 *   T failed     T's status: found with an error, at finalized (decide(), verdict_fail)
 *   T expired    A's status: found, at finalized, AND the nonce account read at finalized with
 *                context.slot >= A's slot no longer holds the value (decide(), on_void_read)
 *
 * Nothing else is a verdict: a null status (any backend, history or not), a preflight failure, a
 * height, a timeout. A preflight failure only makes T abandoned early (A is sent; T stays in flight and
 * may still win). Answers that contradict each other in time (the nonce still at the value at a slot
 * after A's) produce no verdict and are counted (mintd_rpc_contradictions_total).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keypair.h"
#include "mintd.h"
#include "plan.h"
#include "rpcm.h"
#include "rstate.h"
#include "store.h"

/* What became of one mint transaction; valid only during the callback. */
struct fresult {
	int64_t tx_id;
	bool table;                /* a lookup-table transaction (no readings) */
	const char *signature;
	const char *batch_id;
	enum txstate to;
	const char *error;         /* NULL when confirmed */
	int wallets;
	int creates;               /* token accounts it created (confirmed only) */
	uint64_t fee;              /* lamports charged (0 when it never landed) */
	const struct settled *r;   /* readings that reached a new state (minted, retrying, failed) */
	size_t n;
	long released;             /* readings sent back to pending uncounted */
	uint64_t slot;             /* where it landed (0: it never did) */
	const char *const *ix_wallets; /* per instruction: the wallet it mints to, or NULL */
	size_t nix;
};

typedef void (*flight_settle_fn)(const struct fresult *res);
/* Both T and A of a group landed, or a landed transaction contradicts a verdict: raise the alarm. */
typedef void (*flight_alarm_fn)(const char *why);

void flight_init(struct store *st, struct rpcm *rpc, struct kp *authority, struct atacache *cache,
    flight_settle_fn settle, flight_alarm_fn alarm);

/* A mint or lookup-table transaction this process just wrote ahead: sent for the first time now. */
void flight_add_new(const struct ptx *t, int64_t tx_id, const char *batch_id);
/*
 * A pending transaction from the database (after a restart, or orphaned by another instance): it may have
 * been sent already. Ignored when already in flight. Takes ownership of p's ix_wallets.
 */
void flight_adopt(struct pending_tx *p);

/* Forgets groups none of whose transactions is among the pending ids (resolved by another instance). */
void flight_retain(const int64_t *ids, size_t n);

/* One round: starts status polls, sends that are due, and abandonments (never waits). */
void flight_tick(void);

/* Transactions in flight (all), and groups this process created (for BLOCKCHAIN_CONCURRENT_BATCHES). */
size_t flight_count(void);
size_t flight_count_own(void);
size_t flight_batches_own(void);
/* Groups that cannot be resolved: no nonce (written by an older mintd), for /readyz. */
size_t flight_stuck(void);
/* Groups whose transactions were sent longer ago than a node's status cache covers and never seen, while the
 * node cannot search history (-32011): they wait for a node that can (for /readyz). */
size_t flight_needing_history(void);
/* Drops everything from memory (the records stay in the database). */
void flight_clear(void);

#endif
