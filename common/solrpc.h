/* solrpc.h: a blocking Solana JSON-RPC client (libcurl + cJSON) with exact u64s and classified errors (tools, start-up). */
#ifndef GTX_SOLRPC_H
#define GTX_SOLRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "pubkey.h"
#include "rpctypes.h"

struct rpc_opts {
	long connect_timeout_ms; /* 0 = 5000 */
	long timeout_ms;         /* whole request; 0 = 15000 */
	const char *commitment;  /* default for every call: "processed" | "confirmed" | "finalized"; NULL = confirmed */
};

struct rpc;

/*
 * Creates a client for url (http or https). One CURL easy handle is reused (keep-alive), HTTP/1.1,
 * no signals, no redirects. Every call blocks for at most timeout_ms. rpc_new calls curl_global_init
 * itself and rpc_free the matching cleanup (ref-counted and thread-safe in libcurl >= 7.84); a program
 * with threads should still call curl_global_init once at startup before starting them.
 * Note: when a kept-alive connection turns out dead before any response byte, libcurl transparently
 * resends the request once on a fresh connection. For sendTransaction that is a rebroadcast of the same
 * bytes (safe: a transaction executes at most once), so a dropped response may surface as success or as
 * AlreadyProcessed rather than RPC_E_TRANSPORT.
 * A handle is not thread-safe; use one per thread.
 */
struct rpc *rpc_new(const char *url, const struct rpc_opts *o, struct err *e) WUR;
void rpc_free(struct rpc *r);
/* scheme://host:port, safe to log. */
const char *rpc_display_url(const struct rpc *r);
const struct rpc_error *rpc_last_error(const struct rpc *r);

int rpc_get_latest_blockhash(struct rpc *r, enum rpc_commitment c, struct rpc_blockhash *out, struct err *e) WUR;

int rpc_get_block_height(struct rpc *r, enum rpc_commitment c, uint64_t *height, struct err *e) WUR;

/*
 * Sends raw transaction bytes (always as base64). On success sig_b58 holds the returned signature
 * (<= 88 chars); with expect_sig set, a different signature fails with RPC_E_PARSE. Success means only
 * "accepted for forwarding": confirm with rpc_get_signature_statuses. o == NULL: preflight on,
 * maxRetries omitted, preflight commitment = the handle's.
 */
int rpc_send_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_send_opts *o,
    char sig_b58[89], struct err *e) WUR;

/*
 * n (1..RPC_MAX_STATUSES) base58 signatures, checked locally; out[n] is filled in order. context_slot
 * may be NULL. Without search_history only the node's recent status cache is searched.
 */
int rpc_get_signature_statuses(struct rpc *r, const char *const *sigs, size_t n, bool search_history,
    struct rpc_sigstatus *out, uint64_t *context_slot, struct err *e) WUR;

/*
 * n (1..RPC_MAX_ACCOUNTS) keys, base64 encoding; out[n] filled in order (missing accounts: exists = false,
 * data NULL). On success the caller owns the data buffers (rpc_accounts_clear); on failure nothing is
 * left allocated. context_slot may be NULL.
 */
int rpc_get_multiple_accounts(struct rpc *r, const struct sol_pubkey *keys, size_t n, enum rpc_commitment c,
    struct rpc_account *out, uint64_t *context_slot, struct err *e) WUR;
int rpc_get_account_info(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c,
    struct rpc_account *out, struct err *e) WUR;

int rpc_get_token_account_balance(struct rpc *r, const struct sol_pubkey *token_account, enum rpc_commitment c,
    struct rpc_token_balance *out, struct err *e) WUR;

/* Lamports of an account (0 when it does not exist). */
int rpc_get_balance(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c, uint64_t *lamports,
    struct err *e) WUR;

/* Fee for message bytes; *known = false when the node returned null (blockhash not found or expired). */
int rpc_get_fee_for_message(struct rpc *r, const uint8_t *msg, size_t len, enum rpc_commitment c,
    bool *known, uint64_t *fee, struct err *e) WUR;

int rpc_simulate_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_sim_opts *o,
    struct rpc_sim_result *out, struct err *e) WUR;

/* getTokenSupply of a mint (SPL Token or Token-2022): exact amount and its context slot. */
int rpc_get_token_supply(struct rpc *r, const struct sol_pubkey *mint, enum rpc_commitment c,
    struct rpc_token_balance *out, struct err *e) WUR;
/* getEpochInfo: slot and block height from one answer. */
int rpc_get_epoch_info(struct rpc *r, enum rpc_commitment c, struct rpc_epoch_info *out, struct err *e) WUR;
/* minimumLedgerSlot: the lowest slot the node holds. */
int rpc_minimum_ledger_slot(struct rpc *r, uint64_t *slot, struct err *e) WUR;

/* *healthy = true for "ok"; false (and 0 returned) for a -32005 node-unhealthy answer. */
int rpc_get_health(struct rpc *r, bool *healthy, struct err *e) WUR;

#endif
