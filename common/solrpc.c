/* solrpc.c: a blocking Solana JSON-RPC client: the handle, HTTP transport, error classification, calls. */
#include "solrpc.h"
#include "rpcjson.h"
#include "rpchttp.h"
#include "rpcreq.h"
#include "b58.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpc {
	CURL *curl;
	struct curl_slist *headers;
	char *url;
	char display[RPCHTTP_DISPLAY_SZ];
	enum rpc_commitment commitment;
	uint64_t next_id;
	struct rpc_error last;
	struct rpchttp_buf buf; /* response of the call in progress */
};

/* ---- handle and transport ---- */

struct rpc *
rpc_new(const char *url, const struct rpc_opts *o, struct err *e)
{
	static const struct rpc_opts dflt = { 0, 0, NULL };
	struct rpc *r;

	if (o == NULL)
		o = &dflt;
	if (url == NULL) {
		err_set(e, RPC_E_ARG, "rpc url is missing");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		err_set(e, RPC_E_ARG, "rpc: out of memory");
		return NULL;
	}
	r->commitment = RPC_COMMIT_CONFIRMED;
	r->next_id = 1;
	if (o->commitment != NULL && rpc_commitment_parse(o->commitment, &r->commitment) < 0) {
		err_set(e, RPC_E_ARG, "rpc commitment must be processed, confirmed or finalized");
		free(r);
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(e, RPC_E_ARG, "curl_global_init failed");
		free(r);
		return NULL;
	}
	if (rpchttp_display_url(url, r->display, e) < 0)
		goto fail;
	if ((r->url = strdup(url)) == NULL || (r->curl = curl_easy_init()) == NULL ||
	    (r->headers = rpchttp_headers()) == NULL) {
		err_set(e, RPC_E_ARG, "rpc: out of memory");
		goto fail;
	}
	if (rpchttp_easy_setup(r->curl, r->url, r->headers, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000,
	    o->timeout_ms > 0 ? o->timeout_ms : 15000, &r->buf, e) < 0)
		goto fail;
	return r;
fail:
	rpc_free(r);
	return NULL;
}

void
rpc_free(struct rpc *r)
{
	if (r == NULL)
		return;
	if (r->curl != NULL)
		curl_easy_cleanup(r->curl);
	curl_slist_free_all(r->headers);
	if (r->url != NULL)
		explicit_bzero(r->url, strlen(r->url));
	free(r->url);
	rpchttp_buf_free(&r->buf);
	free(r);
	curl_global_cleanup();
}

const char *
rpc_display_url(const struct rpc *r)
{
	return r->display;
}

const struct rpc_error *
rpc_last_error(const struct rpc *r)
{
	return &r->last;
}

static enum rpc_commitment
commitment_of(const struct rpc *r, enum rpc_commitment c)
{
	return c == RPC_COMMIT_DEFAULT ? r->commitment : c;
}

static int
fail_kind(struct rpc_error *x, struct err *e, int kind, const char *method, const char *what)
{
	x->kind = kind;
	return err_set(e, kind, "%s: %s", method, what);
}

/*
 * POSTs {"jsonrpc":"2.0","id":N,"method":...,"params":params} (params is consumed) and classifies the
 * answer. On success *root owns the parsed response and *result points into it.
 */
static int
rpc_call(struct rpc *r, const char *method, cJSON *params, cJSON **root, const cJSON **result, struct err *e)
{
	struct rpc_error *x = &r->last;
	uint64_t id = r->next_id++;
	char *text = rpchttp_request_text(method, id, params);
	long status = 0;
	CURLcode cc;
	int rc;

	memset(x, 0, sizeof(*x));
	*root = NULL;
	*result = NULL;
	if (text == NULL)
		return fail_kind(x, e, RPC_E_ARG, method, "out of memory building the request");
	rpchttp_buf_reset(&r->buf);
	if (curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, text) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text)) != CURLE_OK) {
		cJSON_free(text);
		return fail_kind(x, e, RPC_E_ARG, method, "libcurl refused the request body");
	}
	cc = curl_easy_perform(r->curl);
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	rc = rpchttp_outcome(method, cc, status, &r->buf, id, r->display, root, result, x, e);
	/* The body must not point at freed text on the next perform. */
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
	cJSON_free(text);
	return rc;
}

static int
arg_error(struct rpc *r, const char *method, const char *what, struct err *e)
{
	memset(&r->last, 0, sizeof(r->last));
	return fail_kind(&r->last, e, RPC_E_ARG, method, what);
}

/* Bookkeeping after a decoder ran on a successful call: a decoder failure is a parse error of method. */
static int
decoded(struct rpc *r, const char *method, cJSON *root, int rc, struct err *e)
{
	cJSON_Delete(root);
	if (rc < 0) {
		r->last.kind = RPC_E_PARSE;
		err_prefix(e, "%s", method);
	}
	return rc;
}

/* A config for commitment c (the handle's default when DEFAULT). */
static struct rpcreq_cfg
cfg_of(const struct rpc *r, enum rpc_commitment c, bool base64)
{
	struct rpcreq_cfg k = { .commitment = commitment_of(r, c), .base64 = base64 };

	return k;
}

/* Runs method with params (consumed; NULL = the arguments were unusable) and decodes with fn. */
#define CALL(r, m, params, decode, e)                                                  \
	do {                                                                             \
		const cJSON *res_;                                                           \
		cJSON *root_, *p_ = (params);                                                \
		if (p_ == NULL)                                                              \
			return arg_error((r), (m), "unusable arguments (or out of memory)", (e)); \
		if (rpc_call((r), (m), p_, &root_, &res_, (e)) < 0)                          \
			return -1;                                                           \
		return decoded((r), (m), root_, (decode), (e));                              \
	} while (0)

/* ---- the calls ---- */

int
rpc_get_latest_blockhash(struct rpc *r, enum rpc_commitment c, struct rpc_blockhash *out, struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, false);

	CALL(r, "getLatestBlockhash", rpcreq_cfg_only(&k), rpcjson_blockhash(res_, out, e), e);
}

int
rpc_get_block_height(struct rpc *r, enum rpc_commitment c, uint64_t *height, struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, false);

	CALL(r, "getBlockHeight", rpcreq_cfg_only(&k), rpcjson_result_u64(res_, height, e), e);
}

int
rpc_get_epoch_info(struct rpc *r, enum rpc_commitment c, struct rpc_epoch_info *out, struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, false);

	CALL(r, "getEpochInfo", rpcreq_cfg_only(&k), rpcjson_epoch_info(res_, out, e), e);
}

int
rpc_minimum_ledger_slot(struct rpc *r, uint64_t *slot, struct err *e)
{
	CALL(r, "minimumLedgerSlot", cJSON_CreateArray(), rpcjson_result_u64(res_, slot, e), e);
}

int
rpc_send_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_send_opts *o,
    char sig_b58[89], struct err *e)
{
	static const struct rpc_send_opts dflt = { false, -1, RPC_COMMIT_DEFAULT, NULL, 0 };

	if (o == NULL)
		o = &dflt;
	if (len == 0 || len > RPCREQ_RAW_MAX)
		return arg_error(r, "sendTransaction", "transaction size out of range", e);
	CALL(r, "sendTransaction", rpcreq_send(tx, len, o, commitment_of(r, o->preflight_commitment)),
	    rpcjson_signature(res_, o->expect_sig, sig_b58, e), e);
}

int
rpc_get_signature_statuses(struct rpc *r, const char *const *sigs, size_t n, bool search_history,
    struct rpc_sigstatus *out, uint64_t *context_slot, struct err *e)
{
	uint8_t sig[64];

	if (n == 0 || n > RPC_MAX_STATUSES)
		return arg_error(r, "getSignatureStatuses", "1..256 signatures expected", e);
	for (size_t i = 0; i < n; i++)
		if (sigs[i] == NULL || b58_decode_exact(sigs[i], strlen(sigs[i]), sig, sizeof(sig), NULL) < 0)
			return arg_error(r, "getSignatureStatuses", "a signature is not base58 of 64 bytes", e);
	CALL(r, "getSignatureStatuses", rpcreq_statuses(sigs, n, search_history),
	    rpcjson_statuses(res_, n, out, context_slot, e), e);
}

int
rpc_get_multiple_accounts(struct rpc *r, const struct sol_pubkey *keys, size_t n, enum rpc_commitment c,
    struct rpc_account *out, uint64_t *context_slot, struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, true);

	if (n == 0 || n > RPC_MAX_ACCOUNTS)
		return arg_error(r, "getMultipleAccounts", "1..100 keys expected", e);
	memset(out, 0, n * sizeof(*out)); /* rpc_accounts_clear is safe whatever happens next */
	CALL(r, "getMultipleAccounts", rpcreq_keys(keys, n, &k), rpcjson_accounts(res_, true, n, out, context_slot, e),
	    e);
}

int
rpc_get_account_info(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c,
    struct rpc_account *out, struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, true);

	memset(out, 0, sizeof(*out));
	CALL(r, "getAccountInfo", rpcreq_key(key, &k), rpcjson_accounts(res_, false, 1, out, NULL, e), e);
}

int
rpc_get_token_account_balance(struct rpc *r, const struct sol_pubkey *token_account, enum rpc_commitment c,
    struct rpc_token_balance *out, struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, false);

	CALL(r, "getTokenAccountBalance", rpcreq_key(token_account, &k), rpcjson_token_balance(res_, out, e), e);
}

int
rpc_get_token_supply(struct rpc *r, const struct sol_pubkey *mint, enum rpc_commitment c,
    struct rpc_token_balance *out, struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, false);

	CALL(r, "getTokenSupply", rpcreq_key(mint, &k), rpcjson_token_balance(res_, out, e), e);
}

int
rpc_get_balance(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c, uint64_t *lamports,
    struct err *e)
{
	struct rpcreq_cfg k = cfg_of(r, c, false);

	CALL(r, "getBalance", rpcreq_key(key, &k), rpcjson_ctx_u64(res_, NULL, lamports, NULL, e), e);
}

int
rpc_get_fee_for_message(struct rpc *r, const uint8_t *msg, size_t len, enum rpc_commitment c,
    bool *known, uint64_t *fee, struct err *e)
{
	if (len == 0 || len > RPCREQ_RAW_MAX)
		return arg_error(r, "getFeeForMessage", "message size out of range", e);
	CALL(r, "getFeeForMessage", rpcreq_message(msg, len, commitment_of(r, c)),
	    rpcjson_ctx_u64(res_, known, fee, NULL, e), e);
}

int
rpc_simulate_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_sim_opts *o,
    struct rpc_sim_result *out, struct err *e)
{
	static const struct rpc_sim_opts dflt = { false, false, RPC_COMMIT_DEFAULT };

	if (o == NULL)
		o = &dflt;
	if (len == 0 || len > RPCREQ_RAW_MAX)
		return arg_error(r, "simulateTransaction", "transaction size out of range", e);
	if (o->sig_verify && o->replace_recent_blockhash)
		return arg_error(r, "simulateTransaction", "sigVerify and replaceRecentBlockhash conflict", e);
	CALL(r, "simulateTransaction", rpcreq_simulate(tx, len, o, commitment_of(r, o->commitment)),
	    rpcjson_simulation(res_, out, e), e);
}

int
rpc_get_health(struct rpc *r, bool *healthy, struct err *e)
{
	static const char m[] = "getHealth";
	const cJSON *res;
	cJSON *root;
	int rc = 0;

	*healthy = false;
	if (rpc_call(r, m, cJSON_CreateArray(), &root, &res, e) < 0) {
		/* -32005: the node answered that it is unhealthy (behind): a valid answer, not a failure. */
		if (r->last.kind == RPC_E_NODE_BEHIND)
			return 0;
		return -1;
	}
	if (cJSON_IsString(res) && strcmp(res->valuestring, "ok") == 0)
		*healthy = true;
	else
		rc = err_set(e, RPC_E_PARSE, "unexpected result: not \"ok\"");
	return decoded(r, m, root, rc, e);
}
