/* store.h: every PostgreSQL statement mintd runs; each state change is one guarded statement in one transaction. */
#ifndef MINTD_STORE_H
#define MINTD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mintd.h"
#include "rstate.h"

struct store;

/* Connects (blocking). NULL with *e set on failure. */
struct store *store_open(const char *url, struct err *e) WUR;
void store_close(struct store *s);
/* False once the connection is known broken; store_reconnect then tries again. */
bool store_ok(const struct store *s);
int store_reconnect(struct store *s, struct err *e) WUR;

/* Reading arrays are malloc'd; caller frees. */

/* pending -> claimed for those of ids[] still pending; returns the ones now ours (attempts from the retry queue). */
int store_claim_ids(struct store *s, const char *token, const char (*ids)[MINTD_UUID_SZ], size_t n,
    struct reading **out, size_t *nout, struct err *e) WUR;
/* pending (oldest first) and due retrying -> claimed, at most `limit` of each, skipping rows others lock. */
int store_claim_sweep(struct store *s, const char *token, int limit, struct reading **out, size_t *nout,
    struct err *e) WUR;
/* claimed -> pending for one claim token (a batch that will not be signed). */
int store_release_token(struct store *s, const char *token, long *n, struct err *e) WUR;
/* claimed -> pending for this instance's claims and every claim older than lease_secs. */
int store_release_stale(struct store *s, const char *instance, int lease_secs, long *n, struct err *e) WUR;

/* The write-ahead record of one signed transaction. */
struct wa_tx {
	const char *batch_id;
	const char *signature;
	const uint8_t *raw;
	size_t raw_len;
	const char *blockhash;
	uint64_t last_valid_block_height;
	int wallets;
	const char *const *ix_wallets; /* per instruction: wallet or NULL */
	size_t nix;
	const struct reading *const *readings;
	size_t nreadings;
};
/*
 * In ONE transaction: insert the transaction (state pending), link its readings and move them
 * claimed -> submitted, guarded by the claim token; every reading must still carry it or nothing is
 * written. Returns 0 (committed, *tx_id set), 1 (guard failed: rolled back, do not send) or -1 (error;
 * *unknown is true when the COMMIT outcome is unknown because the connection broke).
 */
int store_writeahead(struct store *s, const struct wa_tx *t, const char *token, int64_t *tx_id, bool *unknown,
    struct err *e) WUR;
/* Records the first send whose outcome was accepted or unknown (a copy may be on its way). */
int store_mark_sent(struct store *s, int64_t tx_id, struct err *e) WUR;

/* A reading that reached a final state, for events. */
struct settled {
	struct reading r;
	enum rstate to;
	int64_t latency_us; /* submitted_at -> minted */
};
/*
 * Confirmed: tx pending -> confirmed and its readings submitted -> minted (minted, mint_tx_signature,
 * minted_at), retry entries deleted; one transaction. Returns 0 (applied; *out the minted readings),
 * 1 (someone already resolved it: nothing changed) or -1.
 */
int store_confirm(struct store *s, int64_t tx_id, const char *signature, uint64_t slot, uint64_t fee,
    char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, struct err *e) WUR;
/*
 * Failed on chain (TX_FAILED, fee charged) or provably never landed (TX_EXPIRED): tx pending -> to,
 * error recorded. When blame_wallet is non-NULL only that wallet's readings are charged an attempt and
 * the others go back to pending uncounted; otherwise all are charged. Charged readings go to retrying
 * (backoff) or, attempts exhausted, failed. *out lists the charged readings with their new state.
 * Returns 0, 1 (already resolved) or -1.
 */
int store_fail(struct store *s, int64_t tx_id, enum txstate to, const char *error, uint64_t fee,
    const char *blame_wallet, char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, long *released,
    struct err *e) WUR;
/* claimed -> retrying | failed for readings no transaction can carry (e.g. an invalid wallet). */
int store_reject_claimed(struct store *s, const char *token, const char (*ids)[MINTD_UUID_SZ], size_t n,
    const char *error, struct settled **out, size_t *nout, struct err *e) WUR;

/* A recorded transaction not yet final. */
struct pending_tx {
	int64_t id;
	char batch_id[MINTD_UUID_SZ];
	char signature[89];
	uint8_t raw[1232];
	size_t raw_len;
	uint64_t last_valid_block_height;
	bool sent;
	int wallets;
	int readings;
	char **ix_wallets; /* malloc'd strings or NULL entries; nix of them; pending_tx_free frees */
	size_t nix;
};
void pending_tx_free(struct pending_tx *p);
/* Pending transactions created at least min_age_secs ago (0: all). *out malloc'd; free each, then the array. */
int store_load_pending(struct store *s, int min_age_secs, struct pending_tx **out, size_t *nout,
    struct err *e) WUR;

/* Batch totals: *open = its transactions still pending. */
int store_batch_totals(struct store *s, const char *batch_id, long *open, long *total, long *ok, struct err *e) WUR;
int store_auto_mint(struct store *s, bool *on, struct err *e) WUR;
/* backlog = readings neither minted nor failed; retry = readings retrying. */
int store_gauges(struct store *s, int64_t *backlog, int64_t *retry, struct err *e) WUR;

/* The libpq connection (for LISTEN on a second store). */
void *store_conn(struct store *s);

#endif
