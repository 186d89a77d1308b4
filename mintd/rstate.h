/* rstate.h: the reading and mint-transaction state machines (the SQL CHECK constraints say the same). */
#ifndef MINTD_RSTATE_H
#define MINTD_RSTATE_H

#include <stdbool.h>

enum rstate {
	RS_PENDING,   /* accepted, waiting to be minted */
	RS_CLAIMED,   /* taken by one mintd (claimed_by = its claim token), not yet in a signed transaction */
	RS_SUBMITTED, /* in a signed transaction recorded before its first send (mint_tx_id) */
	RS_MINTED,    /* that transaction reached the configured commitment */
	RS_RETRYING,  /* an attempt failed; waits in minting_retry_queue until next_retry_at */
	RS_FAILED,    /* dead letter: attempts exhausted; only an operator re-queues it */
	RS_COUNT
};

enum txstate { TX_PENDING, TX_CONFIRMED, TX_FAILED, TX_EXPIRED, TX_COUNT };

const char *rstate_name(enum rstate s);
const char *txstate_name(enum txstate s);

/*
 * True when a reading may move from `from` to `to`:
 *   pending -> claimed (claim)            claimed -> pending (release, stale lease)
 *   claimed -> submitted (write-ahead)    claimed -> retrying | failed (no transaction can be built)
 *   submitted -> minted (confirmed)       submitted -> retrying | failed (failed on chain, expired)
 *   submitted -> pending (split out of a failed transaction, not its fault; no attempt counted)
 *   retrying -> claimed (due)             failed -> pending (operator, through ingestd)
 */
bool rstate_allowed(enum rstate from, enum rstate to);
/* True for pending -> confirmed | failed | expired; final states never change. */
bool txstate_allowed(enum txstate from, enum txstate to);

#endif
