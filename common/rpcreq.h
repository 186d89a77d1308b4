/* rpcreq.h: the params array of every JSON-RPC request the clients send, as cJSON trees (u64s as exact text). */
#ifndef GTX_RPCREQ_H
#define GTX_RPCREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pubkey.h"
#include "rpctypes.h"

/*
 * Every builder returns a new params array (the caller owns it; the clients consume it), or NULL on
 * allocation failure or unusable arguments (nothing is left allocated then). `commitment` must be a real
 * level (the clients resolve RPC_COMMIT_DEFAULT first); min_context_slot 0 means "not asked for".
 */
struct rpcreq_cfg {
	enum rpc_commitment commitment;
	uint64_t min_context_slot;
	bool base64; /* adds "encoding":"base64" (account reads) */
};

/* [{"commitment":..., "minContextSlot"?, "encoding"?}]: getBlockHeight, getLatestBlockhash, getEpochInfo, getSlot. */
cJSON *rpcreq_cfg_only(const struct rpcreq_cfg *c) WUR;
/* [key, {config}]: getAccountInfo, getBalance, getTokenAccountBalance, getTokenSupply. */
cJSON *rpcreq_key(const struct sol_pubkey *key, const struct rpcreq_cfg *c) WUR;
/* [[key, ...], {config}]: getMultipleAccounts (1..RPC_MAX_ACCOUNTS keys). */
cJSON *rpcreq_keys(const struct sol_pubkey *keys, size_t n, const struct rpcreq_cfg *c) WUR;
/* [[key, ...]]: getRecentPrioritizationFees (0..RPC_MAX_FEE_ACCOUNTS keys; 0 = unfiltered: no params at all). */
cJSON *rpcreq_prio_fees(const struct sol_pubkey *keys, size_t n) WUR;
/* [[sig, ...], {"searchTransactionHistory"}]: 1..RPC_MAX_STATUSES base58 signatures (checked). */
cJSON *rpcreq_statuses(const char *const *sigs, size_t n, bool search_history) WUR;
/* [base64 tx, {encoding, skipPreflight, preflightCommitment, maxRetries?, minContextSlot?}]. */
cJSON *rpcreq_send(const uint8_t *tx, size_t len, const struct rpc_send_opts *o, enum rpc_commitment preflight) WUR;
/* [base64 tx, {encoding, commitment, sigVerify, replaceRecentBlockhash}]. */
cJSON *rpcreq_simulate(const uint8_t *tx, size_t len, const struct rpc_sim_opts *o, enum rpc_commitment c) WUR;
/* [base64 message, {commitment}]: getFeeForMessage. */
cJSON *rpcreq_message(const uint8_t *msg, size_t len, enum rpc_commitment c) WUR;

#define RPCREQ_RAW_MAX (64u << 10) /* far above the 1232-byte packet limit; the node reports the real limit */

#endif
