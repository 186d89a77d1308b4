/* chain.h: what mintd knows of the chain and the node right now, kept fresh by asynchronous polls. */
#ifndef MINTD_CHAIN_H
#define MINTD_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "pubkey.h"
#include "rpcm.h"
#include "rpctypes.h"

/*
 * None of these facts decides a verdict on its own: heights only time an abandonment (abandoning early
 * costs a fee, never money), fees only price new transactions, the balance only pauses new work.
 */
struct chain_facts {
	bool height_known;
	uint64_t slot;              /* confirmed slot and block height, from one getEpochInfo answer */
	uint64_t height;
	uint64_t fee_micro;         /* compute-unit price for new transactions (floor..ceiling) */
	bool fee_known;
	bool payer_known;
	uint64_t payer_lamports;
	bool payer_short;           /* a send or the balance said the payer cannot pay a transaction */
	bool rpc_up;                /* the last health probe answered ok */
	char rpc_why[300];          /* why not, or "" */
	uint64_t slots_behind;      /* from -32005 answers (0 when unknown or caught up) */
	bool history_unavailable;   /* a history-searched status lookup answered -32011 */
	uint64_t min_ledger_slot;   /* minimumLedgerSlot (0 unknown) */
	char missing_method[48];    /* a method the proof needs that the node does not serve ("" when none) */
};

void chain_init(struct rpcm *rpc, const struct sol_pubkey *payer);
/* Starts the polls that are due (never waits). */
void chain_tick(void);
const struct chain_facts *chain_facts(void);
/* A send said the payer cannot pay (InsufficientFundsForFee, AccountNotFound): pause and re-check now. */
void chain_payer_short(void);
/* True when the payer is known to hold at least `need` lamports (unknown: assume yes). */
bool chain_payer_can_pay(uint64_t need);
/* A history-searched lookup answered (ok) or was refused with -32011 (!ok). */
void chain_note_history(bool ok);
/* Remembers what a failed call says about the node: how far behind, or that it lacks a needed method. */
void chain_note_error(const char *method, const struct rpc_error *x);

#endif
