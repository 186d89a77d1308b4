/* rpcjson.h: the RPC client's JSON layer: exact numbers (u64 above 2^53), envelope classification, decoders. */
#ifndef GTX_RPCJSON_H
#define GTX_RPCJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "rpctypes.h"

/*
 * Parses an answer text[0..len) (text[len] must be '\0') with json_parse (json.h): strict, and every number
 * node carries its token's exact text as its valuestring (freed by cJSON_Delete). Returns NULL with *e set
 * (code 0) on malformed JSON.
 */
cJSON *rpcjson_parse(const char *text, size_t len, struct err *e) WUR;

/* Reads a number node parsed by rpcjson_parse as an exact u64 / i64 (integer tokens only: no '.', 'e'). */
int rpcjson_u64(const cJSON *n, uint64_t *out) WUR;
int rpcjson_i64(const cJSON *n, int64_t *out) WUR;
/* Strict decimal u64 from text: digits only, no sign, no spaces, no overflow ("18446744073709551615" ok). */
int rpcjson_u64_text(const char *s, size_t len, uint64_t *out) WUR;

/*
 * Prints n as compact JSON into buf (numbers exactly as received). Returns 0, or -1 when buf is too
 * small (buf then holds a NUL-terminated prefix) or on allocation failure (buf = "").
 */
int rpcjson_print(const cJSON *n, char *buf, size_t bufsz) WUR;

/* Object member helpers (case-sensitive keys; NULL when absent or of another type). */
const cJSON *rpcjson_obj(const cJSON *o, const char *key);
const char *rpcjson_str(const cJSON *o, const char *key);

/*
 * The JSON layer (no network) of the rpc_* calls in solrpc.h, also used by unit tests on canned responses.
 * rpcjson_response classifies an HTTP answer (status + body) to the request with id `id`; on success
 * *result points into *root (the caller cJSON_Deletes *root) and x->kind is RPC_E_NONE. On failure x and
 * *e describe the error (e->msg is prefixed with the method name). The decoders read one method's
 * `result`; errors are RPC_E_PARSE.
 */
/* HTTP 429 is RPC_E_RATE_LIMITED (the transport fills x->retry_after_ms from the header). */
int rpcjson_response(const char *method, long http_status, const char *body, size_t len, uint64_t id,
    cJSON **root, const cJSON **result, struct rpc_error *x, struct err *e) WUR;
int rpcjson_blockhash(const cJSON *result, struct rpc_blockhash *out, struct err *e) WUR;
int rpcjson_result_u64(const cJSON *result, uint64_t *out, struct err *e) WUR; /* bare u64 */
int rpcjson_ctx_u64(const cJSON *result, bool *known, uint64_t *out, uint64_t *context_slot,
    struct err *e) WUR;                                                           /* {context, value: u64|null} */
int rpcjson_signature(const cJSON *result, const uint8_t *expect_sig, char sig_b58[89], struct err *e) WUR;
int rpcjson_statuses(const cJSON *result, size_t n, struct rpc_sigstatus *out, uint64_t *context_slot,
    struct err *e) WUR;
/* value: an array of n accounts (multiple = true) or one account or null; frees what it allocated on failure. */
int rpcjson_accounts(const cJSON *result, bool multiple, size_t n, struct rpc_account *out,
    uint64_t *context_slot, struct err *e) WUR;
/* getTokenAccountBalance and getTokenSupply share this shape: {context, value:{amount:"u64", decimals, ...}}. */
int rpcjson_token_balance(const cJSON *result, struct rpc_token_balance *out, struct err *e) WUR;
int rpcjson_epoch_info(const cJSON *result, struct rpc_epoch_info *out, struct err *e) WUR;
int rpcjson_prio_fees(const cJSON *result, struct rpc_prio_fees *out, struct err *e) WUR;
int rpcjson_simulation(const cJSON *result, struct rpc_sim_result *out, struct err *e) WUR;

#endif
