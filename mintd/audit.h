/* audit.h: `mintd -A`: every wallet's token balance and the mint's supply at finalized commitment against PostgreSQL. */
#ifndef MINTD_AUDIT_H
#define MINTD_AUDIT_H

/*
 * What is compared. For every wallet that has readings (or an adjustment, sql/007), its associated token account
 * for TOKEN_MINT under TOKEN_PROGRAM is read with getMultipleAccounts (100 a call, several calls on the wire) at
 * finalized commitment, and each answer's own context.slot C is the time of that wallet's figures: the database
 * must hold, exactly,
 *
 *   balance(C) = sum(minted readings whose transaction landed at a slot <= C) + sum(adjustments) + x
 *
 * where x is what some of the wallet's pending transactions carry (each lands whole or not at all: x must be the
 * sum of a subset of them; none pending, x = 0). The mint's supply (getTokenSupply, finalized, its slot S) must
 * likewise equal supply_baseline (the supply before mintd's first mint plus every acknowledged halt, the figure
 * supply.c keeps) + every minted reading landed by S + a part of the pending mint transactions' amounts.
 *
 * Why this cannot be fooled by a live, healthy mintd: a transaction is recorded (pending) before its first send,
 * and the database is read after the chain for the same wallets, so anything the chain shows at C was recorded by
 * the time the database is read: confirmed with its slot (counted when <= C), still pending (x), or proven never
 * to land (then the chain cannot show it). A mint confirmed at SOLANA_COMMITMENT but not yet finalized has a slot
 * above C and is left out of both sides. No single answer is trusted: a wallet or the supply that disagrees is
 * read again, from a node whose finalized slot has passed every slot of the first pass (minContextSlot), and
 * compared again with a fresh read of the database; only a second disagreement is a mismatch.
 *
 * Exit status: AUDIT_EXIT_OK when everything agrees (in-flight wallets agree), AUDIT_EXIT_MISMATCH on any
 * mismatch, AUDIT_EXIT_INCOMPLETE when the audit could not be completed (RPC node or database unreachable or
 * answering errors after retries, a bad configuration); 2 is a usage error (common/cli.h).
 */

#include "cli.h"
#include "config.h"

#define AUDIT_EXIT_OK 0
#define AUDIT_EXIT_MISMATCH 1
#define AUDIT_EXIT_INCOMPLETE CLI_EXIT_AUDIT_INCOMPLETE /* 3 */

/*
 * Runs one audit with configuration c and prints the table (or, with o->json, one JSON document) on stdout.
 * With configuration errors (errs->n > 0) it only reports them as an incomplete audit.
 */
int audit_main(const struct cfg *c, const struct cli_opts *o, const struct errlist *errs);

#endif
