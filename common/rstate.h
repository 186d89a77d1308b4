/* rstate.h: the reading and mint-transaction lifecycles, one table each, for both daemons. */
#ifndef GTX_RSTATE_H
#define GTX_RSTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * PostgreSQL enforces the same tables (sql/005_lifecycle.sql and later: reading_transitions and
 * mint_transaction_transitions, checked by a trigger on every change, whoever makes it); a unit test
 * compares them with the ones here, and the README's lifecycle section says the same. Static tables:
 * nothing here allocates, every name returned is a string literal.
 */
enum rstate {
	RS_PENDING,   /* accepted, waiting to be minted */
	RS_CLAIMED,   /* taken by one mintd (claimed_by = its claim token), not yet in a signed transaction */
	RS_SUBMITTED, /* in a signed transaction recorded before its first send (mint_tx_id) */
	RS_MINTED,    /* that transaction reached the configured commitment: final */
	RS_RETRYING,  /* an attempt failed; waits in minting_retry_queue until next_retry_at */
	RS_FAILED,    /* dead letter: attempts exhausted; only an operator re-queues it */
	RS_WAITING,   /* its wallet's minting window is closed: waits until mint_after (sql/008_wallet_window.sql) */
	RS_COUNT
};

enum txstate { TX_PENDING, TX_CONFIRMED, TX_FAILED, TX_EXPIRED, TX_COUNT };

/* The names as stored (meter_readings.status, mint_transactions.state); "?" out of range. */
const char *rstate_name(enum rstate s);
const char *txstate_name(enum txstate s);
/* The state named text[0..len) exactly; -1 for anything else. */
int rstate_parse(const char *text, size_t len, enum rstate *out) WUR;
int txstate_parse(const char *text, size_t len, enum txstate *out) WUR;

/*
 * The state a reading shows to the API and to operators: claimed is mintd's short-lived lease, so a
 * claimed reading is still pending to everyone else.
 */
enum rstate rstate_public(enum rstate s);

/*
 * True when a reading may move from `from` to `to`:
 *   pending -> claimed (claim)            claimed -> pending (release, stale lease)
 *   claimed -> submitted (write-ahead)    claimed -> retrying | failed (no transaction can be built)
 *   submitted -> minted (confirmed)       submitted -> retrying | failed (failed on chain, expired)
 *   submitted -> pending (split out of a failed transaction, not its fault; no attempt counted)
 *   retrying -> claimed (due)             failed -> pending (operator, through ingestd)
 *   claimed -> waiting (the wallet's window is closed)   waiting -> claimed (the window open)
 */
bool rstate_allowed(enum rstate from, enum rstate to);
/* True for pending -> confirmed | failed | expired; final states never change. */
bool txstate_allowed(enum txstate from, enum txstate to);

#endif
