/* supply.h: the supply invariant, checked continuously at finalized commitment, and the minting halt. */
#ifndef MINTD_SUPPLY_H
#define MINTD_SUPPLY_H

/*
 * mintd is the only minter of its mint (its key is the mint authority), so at a finalized slot S:
 *
 *   baseline + sum(confirmed mints that landed at or before S) <= supply(S)
 *   supply(S) <= baseline + sum(confirmed mints) + sum(pending mints)
 *
 * where baseline is the supply before mintd's first mint plus every acknowledged discrepancy. Outside it
 * (tokens minted outside mintd, a double mint, a rolled-back confirmation, a holder's burn) every instance
 * stops taking new work until an operator acknowledges the halt (POST /api/admin/tokenization/
 * acknowledge-halt, or SELECT acknowledge_minting_halt(...)). In-flight transactions keep being resolved.
 * No new work is taken before the baseline is known: it is set from the first finalized supply answer while
 * no mint transaction is pending or newer than that slot (on a fresh database: at once), so nothing minted
 * outside mintd before it can be mistaken for mintd's own, nor the reverse.
 * Also re-checked: transactions decided expired or failed in the last MINTD_RECHECK_SECS; one found landed
 * without error is the same alarm.
 */

#include <stdbool.h>

#include "rpcm.h"
#include "store.h"

typedef void (*supply_event_fn)(const struct halt *h);

/* on_halt runs once when this instance raises a halt (to publish minting_halted). */
void supply_init(struct store *st, struct rpcm *rpc, supply_event_fn on_halt);
/* Starts what is due: a supply check every MINTD_SUPPLY_CHECK_SECS, the re-checks of recent verdicts. */
void supply_tick(void);
/* Reads the halt state from the database (each sweep, and on a control notification). */
void supply_refresh(void);
/* True once the baseline exists (until then mintd takes no new work). */
bool supply_baseline_known(void);
/* True while a halt is active; *h (may be NULL) then describes it. */
bool supply_halted(const struct halt **h);
/* Raises a halt for something the flight found (both transactions of a nonce value landed). */
void supply_alarm(const char *why);

#endif
