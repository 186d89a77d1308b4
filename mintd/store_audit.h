/* store_audit.h: the audit's reads (mintd -A): wallets a page at a time, their sums at a slot, the supply's, details. */
#ifndef MINTD_STORE_AUDIT_H
#define MINTD_STORE_AUDIT_H

/*
 * Read-only statements, each one snapshot. Amounts are decimal text (numeric in SQL: sums can pass 2^64, and a
 * baseline or an adjustment may be negative). Errors as in store.h: 0, or -1 with *e set.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mintd.h"
#include "store.h"

#define STORE_AMOUNT_SZ 48 /* numeric(40, 0) as text, with a sign */

/*
 * Wallets that have readings or an adjustment for mint, in byte order, strictly after `after` ("" for the
 * first page), at most limit. *out is malloc'd (caller frees), NULL when there are none.
 */
int store_audit_wallets(struct store *s, const char *mint, const char *after, int limit,
    char (**out)[MINTD_WALLET_SZ], size_t *n, struct err *e) WUR;

/* What the database says of one wallet as of a slot: the slot its account was read at on chain. */
struct audit_sums {
	char minted[STORE_AMOUNT_SZ]; /* minted readings whose transaction landed at or before the slot */
	long minted_n;
	long later_n;                 /* minted readings whose transaction landed after it (not in that balance) */
	char *pending;                /* per pending transaction, this wallet's amount in it, space-separated
	                               * (malloc'd, "" when none; audit_sums_clear frees) */
	long pending_n;               /* readings in those transactions */
	char adjustment[STORE_AMOUNT_SZ]; /* sum of audit_adjustments ("0" when none) */
};
/* Sums for w[i] as of slots[i], i < n, in one snapshot; out[n] filled in order. */
int store_audit_sums(struct store *s, const char *mint, const char (*w)[MINTD_WALLET_SZ], const uint64_t *slots,
    size_t n, struct audit_sums *out, struct err *e) WUR;
void audit_sums_clear(struct audit_sums *a, size_t n);

/* What the database says of the mint's supply as of a slot. */
struct audit_supply {
	bool have_baseline;                   /* false: mintd never set one (it has minted nothing) */
	char baseline[STORE_AMOUNT_SZ];       /* supply_baseline: before mintd's first mint, plus acknowledged halts */
	char minted[STORE_AMOUNT_SZ];         /* minted readings of transactions landed at or before the slot */
	long minted_n;
	char pending[STORE_AMOUNT_SZ];        /* amounts of the mint transactions still pending, summed */
	long pending_tx;
	char pending_first[16 * STORE_AMOUNT_SZ]; /* the first 16 of those amounts, space-separated */
	struct supply_sums invariant;         /* supply.c's figures for the same slot and supply (store.h) */
	bool halted;
	struct halt halt;                     /* the active minting halt, when halted */
};
/*
 * The figures for the mint's supply (decimal text) read at slot, in one snapshot: every minted reading summed
 * (the one full scan of the audit, with its own statement timeout of timeout_ms, 0 = the session's, so that a
 * long history does not trip the daemon's short one), the invariant's sums (store_supply_check) and the halt.
 */
int store_audit_supply(struct store *s, const char *mint, uint64_t slot, const char *supply, int timeout_ms,
    struct audit_supply *out, struct err *e) WUR;

/* A transaction that carried a wallet's readings (confirmed or pending). */
struct audit_tx {
	char signature[89];
	char state[12];
	uint64_t slot;        /* 0 when not landed */
	long readings;        /* of this wallet */
	char amount[STORE_AMOUNT_SZ]; /* what it carried for this wallet */
};
/* A reading whose record disagrees with the transaction that carried it. */
struct audit_reading {
	char id[MINTD_UUID_SZ];
	char status[12];
	char amount[24];      /* token_amount stored on the reading */
	char carried[24];     /* what the transaction carried for it ("" when no confirmed transaction did) */
	char signature[89];
	char why[80];
};
/*
 * For one wallet: up to limit transactions (oldest first; *tx_total of them in all) and up to limit readings that
 * disagree (*rd_total in all). Arrays malloc'd, caller frees.
 */
int store_audit_details(struct store *s, const char *mint, const char *wallet, int limit, struct audit_tx **tx,
    size_t *ntx, long *tx_total, struct audit_reading **rd, size_t *nrd, long *rd_total, struct err *e) WUR;

#endif
