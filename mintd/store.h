/* store.h: every PostgreSQL statement mintd runs; each state change is one guarded statement in one transaction. */
#ifndef MINTD_STORE_H
#define MINTD_STORE_H

/*
 * Errors: 0 success, -1 failure with *e set (the connection may be broken: see store_ok), and for guarded
 * transitions 1 = "the guard did not hold, nothing changed". Arrays returned through **out are malloc'd and
 * owned by the caller (free), NULL when empty. Blocking calls, bounded by the session's statement and lock
 * timeouts (MINTD_PG_*): a stalled peer costs a failed statement, never a frozen loop.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mintd.h"
#include "rstate.h"

struct store;
struct settled;

/* Session limits set on every connection (0 = leave the server's default). */
struct store_limits {
	int statement_timeout_ms;
	int lock_timeout_ms;
	int idle_in_transaction_ms;
};

/* Connects (blocking). NULL with *e set on failure. */
struct store *store_open(const char *url, const struct store_limits *lim, struct err *e) WUR;
void store_close(struct store *s);
/* False once the connection is known broken; store_reconnect then tries again. */
bool store_ok(const struct store *s);
int store_reconnect(struct store *s, struct err *e) WUR;
/* The libpq connection (for LISTEN on a second store). */
void *store_conn(struct store *s);

/* ---- claims ---- */

/* pending -> claimed for those of ids[] still pending; returns the ones now ours (attempts from the retry queue). */
int store_claim_ids(struct store *s, const char *token, const char (*ids)[MINTD_UUID_SZ], size_t n,
    struct reading **out, size_t *nout, struct err *e) WUR;
/* pending (oldest first), due retrying and due waiting -> claimed, at most `limit` of each, skipping rows
 * others lock. Both claims apply the wallet window (TOKENIZATION_WALLET_MIN_INTERVAL_SECS) when there is one:
 * a wallet minted within the window has its readings wait (-> waiting), one taken brings its waiting ones. */
int store_claim_sweep(struct store *s, const char *token, int limit, struct reading **out, size_t *nout,
    struct err *e) WUR;
/* Milliseconds until the earliest waiting reading is due (0 when one is due now), or -1 when none waits. */
int store_next_due(struct store *s, int64_t *ms, struct err *e) WUR;
/* claimed -> pending for one claim token (a batch that will not be signed), and its reserved nonces -> free. */
int store_release_token(struct store *s, const char *token, long *n, struct err *e) WUR;
/* The same for this instance's claims and every claim or reservation older than lease_secs. */
int store_release_stale(struct store *s, const char *instance, int lease_secs, long *n, struct err *e) WUR;
/* claimed -> retrying | failed for readings no transaction can carry (e.g. an invalid wallet). */
int store_reject_claimed(struct store *s, const char *token, const char (*ids)[MINTD_UUID_SZ], size_t n,
    const char *error, struct settled **out, size_t *nout, struct err *e) WUR;

/* ---- the nonce pool ---- */

struct nonce_row {
	char address[45];
	char value[45];      /* "" when unknown (state new) */
	uint64_t after_slot; /* state advanced: read a value at or after this slot */
};
/* Adds pool entries (state new) for addresses not yet known. */
int store_nonce_ensure(struct store *s, const char (*addr)[45], const char (*seed)[32], size_t n,
    struct err *e) WUR;
/* Entries in one state ("new", "advanced", ...), at most limit. */
int store_nonce_list(struct store *s, const char *state, int limit, struct nonce_row **out, size_t *nout,
    struct err *e) WUR;
/*
 * The value read from chain: new -> free, or advanced -> free when the account moved past old_value
 * (old_value NULL for new). Returns 0, or 1 when the entry is not in that state any more.
 */
int store_nonce_set(struct store *s, const char *addr, const char *old_value, const char *value,
    uint64_t value_slot, struct err *e) WUR;
/* free -> reserved by token, at most n of them (others' reservations skipped). */
int store_nonce_reserve(struct store *s, const char *token, int n, struct nonce_row **out, size_t *nout,
    struct err *e) WUR;
/* Pool counts by state (new, free, reserved, busy, advanced). */
int store_nonce_counts(struct store *s, int64_t counts[5], struct err *e) WUR;

/* ---- the write-ahead record ---- */

struct wa_tx {
	const char *batch_id;
	const char *signature;
	const uint8_t *raw;
	size_t raw_len;
	const char *mint;              /* TOKEN_MINT, for the supply arithmetic */
	const char *nonce_account;     /* the nonce this transaction advances, reserved by the claim token */
	const char *nonce_value;       /* the value it carries */
	const char *amount;            /* sum of the readings' token amounts, decimal text */
	int wallets;
	const char *const *ix_wallets; /* per instruction: wallet or NULL */
	size_t nix;
	const struct reading *const *readings;
	size_t nreadings;
};
/*
 * In ONE database transaction for all of t[0..n) (one fsync): insert each transaction (state pending), link its
 * readings and move them claimed -> submitted guarded by the claim token, and its nonce reserved -> busy
 * guarded by the token and value; every guard must hold or nothing is written. Returns 0 (committed, tx_ids
 * set), 1 (a guard failed: rolled back, send nothing) or -1 (error; *unknown is true when the COMMIT outcome
 * is unknown because the connection broke).
 */
int store_writeahead_many(struct store *s, const struct wa_tx *t, size_t n, const char *token, int64_t *tx_ids,
    bool *unknown, struct err *e) WUR;

/* The abandonment of a mint transaction: a bare AdvanceNonceAccount on its nonce value. */
struct wa_adv {
	int64_t mint_tx_id;
	const char *batch_id;
	const char *signature;
	const uint8_t *raw;
	size_t raw_len;
	const char *nonce_account;
	const char *nonce_value;
	const char *why;          /* recorded on the mint transaction (abandon_reason) */
	const char *blame_wallet; /* the wallet to charge if this proves the mint dead (NULL: nobody) */
};
/*
 * Records it before its first send, while the mint transaction is still pending and no other advance of that
 * value is. Returns 0 (*tx_id set), 1 (the mint transaction is resolved, or another advance exists) or -1.
 */
int store_writeahead_advance(struct store *s, const struct wa_adv *a, int64_t *tx_id, struct err *e) WUR;
/* Records the first send whose outcome was accepted or unknown, with the slot then (0 = unknown). */
int store_mark_sent(struct store *s, int64_t tx_id, uint64_t slot, struct err *e) WUR;
/* Records why sends of a transaction are refused (for operators; no effect on verdicts). */
int store_note_error(struct store *s, int64_t tx_id, const char *error, struct err *e) WUR;

/* ---- verdicts: each one statement set in one transaction, guarded by state = 'pending' ---- */

/* A reading that reached a new state, for events. */
struct settled {
	struct reading r;
	enum rstate to;
	int64_t latency_us; /* submitted_at -> minted */
};
/* One confirmation to record: in tx_id, slot, fee; out applied (it was pending), batch_id, its minted readings. */
struct confirmed {
	int64_t tx_id;
	uint64_t slot;
	uint64_t fee;
	bool applied;
	char batch_id[MINTD_UUID_SZ];
	struct settled *r; /* malloc'd; confirmed_free */
	size_t n;
};
void confirmed_free(struct confirmed *c, size_t n);
/*
 * Mint transactions that landed without error at the required commitment (proof: their statuses), all in one
 * database transaction: each becomes confirmed and its readings minted; every other pending transaction on its
 * nonce value becomes expired (it can never land: the value is consumed) and the nonce advanced (after_slot =
 * slot). Those already resolved stay as they are (applied false). Returns 0 or -1 (nothing changed).
 */
int store_confirm_many(struct store *s, struct confirmed *c, size_t n, struct err *e) WUR;
/*
 * The mint transaction landed and failed (proof: its status at finalized): failed; blame_wallet's readings
 * are charged an attempt (retrying with backoff, or failed after the last), the others wait out the initial
 * retry delay uncounted (nobody's fault, but the fee was paid: no hot loop). Others on the value expired,
 * nonce advanced. Returns 0, 1 or -1. *out: the charged and delayed readings.
 */
int store_fail(struct store *s, int64_t tx_id, const char *error, uint64_t slot, uint64_t fee,
    const char *blame_wallet, char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, long *released,
    struct err *e) WUR;
/*
 * The advance transaction landed (proof: its status at finalized, and the nonce account past the value at a
 * context slot at or after it): the advance is confirmed, the mint transaction expired (it can never land),
 * its readings back in line (blame_wallet's charged an attempt, the others pending uncounted), and the nonce
 * free with the new value. Returns 0, 1 (already resolved) or 2 (the mint transaction is confirmed: both
 * landed, which cannot be: an alarm; nothing changed) or -1.
 */
int store_void(struct store *s, int64_t adv_tx_id, uint64_t slot, uint64_t fee, const char *new_value,
    uint64_t value_slot, char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, long *released,
    struct err *e) WUR;

/* A recorded transaction not yet final. */
struct pending_tx {
	int64_t id;
	bool advance;          /* kind advance (else mint or table) */
	bool table;            /* kind table: a lookup table's creation or extension */
	char batch_id[MINTD_UUID_SZ];
	char signature[89];
	uint8_t raw[1232];
	size_t raw_len;
	char nonce_account[45]; /* "" for a legacy blockhash transaction */
	char nonce_value[45];
	bool sent;
	uint64_t sent_slot;
	int wallets;
	int readings;
	char blame_wallet[MINTD_WALLET_SZ];
	char **ix_wallets; /* malloc'd strings or NULL entries; nix of them; pending_tx_free frees */
	size_t nix;
};
void pending_tx_free(struct pending_tx *p);
/* Pending transactions created at least min_age_secs ago (0: all), mint and table before advance. */
int store_load_pending(struct store *s, int min_age_secs, struct pending_tx **out, size_t *nout,
    struct err *e) WUR;

/* Ids of every pending transaction. */
int store_pending_ids(struct store *s, int64_t **out, size_t *nout, struct err *e) WUR;

/* ---- lookup tables (store_alt.c) ---- */

struct alt_row {
	char address[45];
	bool active;           /* its creation landed (else: being created) */
	uint64_t recent_slot;
};
/* The mint's tables being created or active. */
int store_alt_tables(struct store *s, const char *mint, struct alt_row **out, size_t *nout, struct err *e) WUR;
/* Queues token accounts of wallets for a table (those already queued or in one are left alone). */
int store_alt_enqueue(struct store *s, const char *mint, const char *const *wallets, const char *const *accounts,
    size_t n, struct err *e) WUR;
struct alt_entry {
	char wallet[MINTD_WALLET_SZ];
	char account[45];
};
/* Claims at most limit queued entries (oldest first, others' claims skipped) for token. */
int store_alt_claim(struct store *s, const char *mint, const char *token, int limit, struct alt_entry **out,
    size_t *nout, struct err *e) WUR;
/*
 * An active table of the mint with room for more entries, other than those in exclude[0..nex): *found false
 * when none; *room is how many more it takes (fixed is how many addresses each table holds besides entries).
 */
int store_alt_pick(struct store *s, const char *mint, int fixed, const char (*exclude)[45], size_t nex, bool *found,
    char address[45], int *room, struct err *e) WUR;
/* A table a finalized read showed unusable: retired, and its accounts queued again for another table. */
int store_alt_retire(struct store *s, const char *table, struct err *e) WUR;
/* The table a table transaction created or extended (*found false when none). */
int store_alt_tx_table(struct store *s, int64_t tx_id, bool *found, char address[45], struct err *e) WUR;
/* Queued, extending and added entries, and tables (active + creating), of the mint. */
int store_alt_counts(struct store *s, const char *mint, int64_t counts[3], int64_t *tables, struct err *e) WUR;

/* A table transaction to record before its first send: the table's creation (with a first extension) or an
 * extension of an active table. */
struct wa_table {
	const char *batch_id;
	const char *signature;
	const uint8_t *raw;
	size_t raw_len;
	const char *mint;
	const char *nonce_account;     /* reserved by the token */
	const char *nonce_value;
	const char *table;
	bool create;
	const char *authority;         /* create only */
	uint64_t recent_slot;          /* create only */
	int fixed;                     /* addresses the table holds besides entries (room check) */
	const struct alt_entry *entries; /* claimed by the token */
	size_t n;
};
/*
 * In one database transaction: the transaction (kind table, pending), its nonce reserved -> busy, the table
 * (create: a new row, creating; extend: locked, active and with room), the entries claimed -> extending. 0
 * (recorded, *tx_id set), 1 (a guard failed: nothing written, send nothing) or -1 (*unknown as in
 * store_writeahead_many).
 */
int store_writeahead_table(struct store *s, const struct wa_table *w, const char *token, int64_t *tx_id,
    bool *unknown, struct err *e) WUR;

/* ---- supply invariant, halts, re-checks ---- */

/* The figures of one check: amounts as decimal text (numeric in SQL; they can exceed 64 bits). */
struct supply_sums {
	bool have_baseline;
	char baseline[48];
	char lower[48];    /* baseline + confirmed mints with slot <= S */
	char upper[48];    /* baseline + all confirmed mints + pending mints */
	long pending;      /* pending transactions (mint and advance) */
	long confirmed_after; /* confirmed mints with slot > S (not yet in a supply at S) */
	int cmp;           /* supply vs [lower, upper]: -1 below, 0 inside, 1 above */
};
/* Sums for mint at finalized slot S, compared against supply (decimal text), in one snapshot. */
int store_supply_check(struct store *s, const char *mint, uint64_t slot, const char *supply,
    struct supply_sums *out, struct err *e) WUR;
/*
 * baseline = supply(S) - confirmed mints, set once, and only while no mint is pending or confirmed after S:
 * SET, EXISTS (already set), BUSY (try later) or BELOW (supply is less than what is recorded as minted).
 */
enum baseline_outcome { BASELINE_SET, BASELINE_EXISTS, BASELINE_BUSY, BASELINE_BELOW };
int store_supply_baseline_init(struct store *s, const char *mint, uint64_t slot, const char *supply,
    enum baseline_outcome *out, struct err *e) WUR;

struct halt {
	int64_t id;
	uint64_t slot;
	char supply[48], expected_min[48], expected_max[48];
	char reason[256];
};
/* The unacknowledged halt of mint, if any. */
int store_halt_active(struct store *s, const char *mint, bool *active, struct halt *h, struct err *e) WUR;
/* Raises a halt unless one is active. *raised false (and *h the active one) when one was. */
int store_halt_raise(struct store *s, const char *mint, const char *instance, const struct halt *in,
    bool *raised, struct halt *h, struct err *e) WUR;

/* Transactions decided expired or failed within the last secs (to re-check that they did not land). */
struct verdict_row {
	int64_t id;
	char signature[89];
	bool expired; /* else failed */
	bool advance;
};
int store_recent_verdicts(struct store *s, int secs, int limit, struct verdict_row **out, size_t *nout,
    struct err *e) WUR;

/* ---- settings and gauges ---- */

/* Batch totals: *open = its transactions still pending. */
int store_batch_totals(struct store *s, const char *batch_id, long *open, long *total, long *ok, struct err *e) WUR;
int store_auto_mint(struct store *s, bool *on, struct err *e) WUR;
struct store_gauges {
	int64_t backlog;       /* readings neither minted nor failed */
	int64_t retry;         /* readings retrying */
	int64_t dead;          /* readings failed (dead letters) */
	int64_t oldest_age_s;  /* age of the oldest due reading not yet minted nor failed (0 when none); a waiting
				* reading is due from its mint_after */
	int64_t waiting;       /* readings waiting for their wallet's minting window */
	int64_t oldest_pending_tx_age_s; /* age of the oldest pending transaction (0 when none) */
};
int store_gauges(struct store *s, struct store_gauges *g, struct err *e) WUR;

#endif
