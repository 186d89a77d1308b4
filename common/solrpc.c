/* solrpc.c: a blocking Solana JSON-RPC client: the handle, HTTP transport, error classification, calls. */
#include "solrpc.h"
#include "rpcjson.h"
#include "b58.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE_MAX (64u << 20) /* refuse absurd bodies: 100 accounts of 10 MiB would not fit either */

struct rpc {
	CURL *curl;
	struct curl_slist *headers;
	char *url;
	char display[160];
	enum rpc_commitment commitment;
	uint64_t next_id;
	struct rpc_error last;
	/* response body of the call in progress */
	char *body;
	size_t len, cap;
	bool too_big;
};

static const char *const kind_names[] = {
	[RPC_E_NONE] = "none",
	[RPC_E_TRANSPORT] = "transport",
	[RPC_E_TIMEOUT] = "timeout",
	[RPC_E_HTTP] = "http",
	[RPC_E_JSONRPC] = "jsonrpc",
	[RPC_E_BLOCKHASH_NOT_FOUND] = "blockhash_not_found",
	[RPC_E_ALREADY_PROCESSED] = "already_processed",
	[RPC_E_PREFLIGHT] = "preflight",
	[RPC_E_SIGVERIFY] = "sigverify",
	[RPC_E_PARSE] = "parse",
	[RPC_E_ARG] = "arg",
};

const char *
rpc_errkind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[kind];
}

bool
rpc_err_retryable(const struct err *e)
{
	switch (e->code) {
	case RPC_E_TRANSPORT:
	case RPC_E_TIMEOUT:
	case RPC_E_HTTP:
	case RPC_E_BLOCKHASH_NOT_FOUND:
		return true;
	default:
		return false;
	}
}

static const char *const commit_names[] = { "none", "processed", "confirmed", "finalized" };

const char *
rpc_commitment_name(enum rpc_commitment c)
{
	return (unsigned)c < 4 ? commit_names[c] : "none";
}

int
rpc_commitment_parse(const char *s, enum rpc_commitment *out)
{
	for (int i = RPC_COMMIT_PROCESSED; i <= RPC_COMMIT_FINALIZED; i++) {
		if (s != NULL && strcmp(s, commit_names[i]) == 0) {
			*out = (enum rpc_commitment)i;
			return 0;
		}
	}
	return -1;
}

/* ---- handle and transport ---- */

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct rpc *r = arg;
	size_t n = size * nmemb;

	if (r->len + n + 1 > RESPONSE_MAX) {
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		if ((b = realloc(r->body, cap)) == NULL)
			return 0;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* scheme://host[:port] only: the path, query and userinfo may carry an API key. */
static int
display_url(const char *url, char *out, size_t outsz, struct err *e)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	if (u == NULL)
		return err_set(e, RPC_E_ARG, "rpc url: out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err_set(e, RPC_E_ARG, "rpc url is not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		err_set(e, RPC_E_ARG, "rpc url must be http or https, not %s", scheme);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	snprintf(out, outsz, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

struct rpc *
rpc_new(const char *url, const struct rpc_opts *o, struct err *e)
{
	static const struct rpc_opts dflt = { 0, 0, NULL };
	struct rpc *r;
	long cto, to;

	if (o == NULL)
		o = &dflt;
	cto = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
	to = o->timeout_ms > 0 ? o->timeout_ms : 15000;
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
	if (display_url(url, r->display, sizeof(r->display), e) < 0)
		goto fail;
	if ((r->url = strdup(url)) == NULL || (r->curl = curl_easy_init()) == NULL)
		goto oom;
	if ((r->headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL)
		goto oom;
	{
		/* No "Expect: 100-continue" round trip for larger bodies. */
		struct curl_slist *h = curl_slist_append(r->headers, "Expect:");

		if (h == NULL)
			goto oom;
		r->headers = h;
	}
	if (curl_easy_setopt(r->curl, CURLOPT_URL, r->url) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, cto) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, to) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, r) != CURLE_OK) {
		err_set(e, RPC_E_ARG, "rpc: libcurl lacks a needed option");
		goto fail;
	}
	return r;
oom:
	err_set(e, RPC_E_ARG, "rpc: out of memory");
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
	free(r->url);
	free(r->body);
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
	cJSON *req = cJSON_CreateObject();
	char *text = NULL, idbuf[24];
	uint64_t id = r->next_id++;
	long status = 0;
	CURLcode cc;
	int rc = -1;

	memset(x, 0, sizeof(*x));
	*root = NULL;
	*result = NULL;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	if (req == NULL || params == NULL || cJSON_AddStringToObject(req, "jsonrpc", "2.0") == NULL ||
	    cJSON_AddRawToObject(req, "id", idbuf) == NULL || cJSON_AddStringToObject(req, "method", method) == NULL) {
		cJSON_Delete(params);
		fail_kind(x, e, RPC_E_ARG, method, "out of memory building the request");
		goto out;
	}
	cJSON_AddItemToObject(req, "params", params);
	if ((text = cJSON_PrintUnformatted(req)) == NULL) {
		fail_kind(x, e, RPC_E_ARG, method, "out of memory building the request");
		goto out;
	}
	r->len = 0;
	r->too_big = false;
	if (r->body != NULL)
		r->body[0] = '\0';
	if (curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, text) != CURLE_OK ||
	    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text)) != CURLE_OK) {
		fail_kind(x, e, RPC_E_ARG, method, "libcurl refused the request body");
		goto out;
	}
	cc = curl_easy_perform(r->curl);
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	x->http_status = status;
	if (cc != CURLE_OK) {
		if (r->too_big) {
			fail_kind(x, e, RPC_E_PARSE, method, "response larger than the limit");
		} else {
			x->kind = cc == CURLE_OPERATION_TIMEDOUT ? RPC_E_TIMEOUT : RPC_E_TRANSPORT;
			err_set(e, x->kind, "%s: %s (%s)", method, curl_easy_strerror(cc), r->display);
		}
		goto out;
	}
	rc = rpcjson_response(method, status, r->body != NULL ? r->body : "", r->len, id, root, result, x, e);
out:
	cJSON_free(text);
	/* The body must not point at freed text on the next perform. */
	curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
	cJSON_Delete(req);
	return rc;
}

void
rpc_accounts_clear(struct rpc_account *a, size_t n)
{
	for (size_t i = 0; a != NULL && i < n; i++) {
		free(a[i].data);
		memset(&a[i], 0, sizeof(a[i]));
	}
}

/* ---- request parameters ---- */

/* A JSON array of n items; NULL (and every item freed) when any item is NULL or on OOM. */
static cJSON *
params_of(int n, ...)
{
	cJSON *p = cJSON_CreateArray();
	bool ok = p != NULL;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		cJSON *it = va_arg(ap, cJSON *);

		if (it == NULL || !ok || !cJSON_AddItemToArray(p, it)) {
			cJSON_Delete(it);
			ok = false;
		}
	}
	va_end(ap);
	if (!ok) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

/* {"commitment":"..."} plus, when enc is set, "encoding":"base64". */
static cJSON *
config(const struct rpc *r, enum rpc_commitment c, bool enc)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddStringToObject(o, "commitment", rpc_commitment_name(commitment_of(r, c))) == NULL ||
	    (enc && cJSON_AddStringToObject(o, "encoding", "base64") == NULL)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *
b64_item(const uint8_t *p, size_t n)
{
	size_t sz = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(sz);
	cJSON *it;

	if (s == NULL)
		return NULL;
	sodium_bin2base64(s, sz, p, n, sodium_base64_VARIANT_ORIGINAL);
	it = cJSON_CreateString(s);
	free(s);
	return it;
}

static cJSON *
key_item(const struct sol_pubkey *k)
{
	char b[45];

	pubkey_to_b58(k, b);
	return cJSON_CreateString(b);
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

#define RAW_MAX (64u << 10) /* far above the 1232-byte packet limit; the node reports the real limit */

/* ---- the calls ---- */

int
rpc_get_latest_blockhash(struct rpc *r, enum rpc_commitment c, struct rpc_blockhash *out, struct err *e)
{
	static const char m[] = "getLatestBlockhash";
	const cJSON *res;
	cJSON *root;

	if (rpc_call(r, m, params_of(1, config(r, c, false)), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_blockhash(res, out, e), e);
}

int
rpc_get_block_height(struct rpc *r, enum rpc_commitment c, uint64_t *height, struct err *e)
{
	static const char m[] = "getBlockHeight";
	const cJSON *res;
	cJSON *root;

	if (rpc_call(r, m, params_of(1, config(r, c, false)), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_result_u64(res, height, e), e);
}

int
rpc_send_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_send_opts *o,
    char sig_b58[89], struct err *e)
{
	static const char m[] = "sendTransaction";
	static const struct rpc_send_opts dflt = { false, -1, RPC_COMMIT_DEFAULT, NULL };
	const cJSON *res;
	cJSON *root, *cfg;
	char n[24];

	if (o == NULL)
		o = &dflt;
	if (len == 0 || len > RAW_MAX)
		return arg_error(r, m, "transaction size out of range", e);
	cfg = cJSON_CreateObject();
	snprintf(n, sizeof(n), "%d", o->max_retries);
	if (cfg == NULL || cJSON_AddStringToObject(cfg, "encoding", "base64") == NULL ||
	    cJSON_AddBoolToObject(cfg, "skipPreflight", o->skip_preflight) == NULL ||
	    cJSON_AddStringToObject(cfg, "preflightCommitment",
	    rpc_commitment_name(commitment_of(r, o->preflight_commitment))) == NULL ||
	    (o->max_retries >= 0 && cJSON_AddRawToObject(cfg, "maxRetries", n) == NULL)) {
		cJSON_Delete(cfg);
		cfg = NULL;
	}
	if (rpc_call(r, m, params_of(2, b64_item(tx, len), cfg), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_signature(res, o->expect_sig, sig_b58, e), e);
}

int
rpc_get_signature_statuses(struct rpc *r, const char *const *sigs, size_t n, bool search_history,
    struct rpc_sigstatus *out, uint64_t *context_slot, struct err *e)
{
	static const char m[] = "getSignatureStatuses";
	const cJSON *res;
	cJSON *root, *cfg;
	uint8_t sig[64];

	if (n == 0 || n > RPC_MAX_STATUSES)
		return arg_error(r, m, "1..256 signatures expected", e);
	for (size_t i = 0; i < n; i++)
		if (sigs[i] == NULL || b58_decode_exact(sigs[i], strlen(sigs[i]), sig, sizeof(sig), NULL) < 0)
			return arg_error(r, m, "a signature is not base58 of 64 bytes", e);
	cfg = cJSON_CreateObject();
	if (cfg != NULL && cJSON_AddBoolToObject(cfg, "searchTransactionHistory", search_history) == NULL) {
		cJSON_Delete(cfg);
		cfg = NULL;
	}
	if (rpc_call(r, m, params_of(2, cJSON_CreateStringArray(sigs, (int)n), cfg), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_statuses(res, n, out, context_slot, e), e);
}

int
rpc_get_multiple_accounts(struct rpc *r, const struct sol_pubkey *keys, size_t n, enum rpc_commitment c,
    struct rpc_account *out, uint64_t *context_slot, struct err *e)
{
	static const char m[] = "getMultipleAccounts";
	cJSON *root, *arr;
	const cJSON *res;

	if (n == 0 || n > RPC_MAX_ACCOUNTS)
		return arg_error(r, m, "1..100 keys expected", e);
	memset(out, 0, n * sizeof(*out)); /* rpc_accounts_clear is safe whatever happens next */
	if ((arr = cJSON_CreateArray()) != NULL) {
		for (size_t i = 0; i < n; i++) {
			cJSON *k = key_item(&keys[i]);

			if (k == NULL || !cJSON_AddItemToArray(arr, k)) {
				cJSON_Delete(k);
				cJSON_Delete(arr);
				arr = NULL;
				break;
			}
		}
	}
	if (rpc_call(r, m, params_of(2, arr, config(r, c, true)), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_accounts(res, true, n, out, context_slot, e), e);
}

int
rpc_get_account_info(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c,
    struct rpc_account *out, struct err *e)
{
	static const char m[] = "getAccountInfo";
	const cJSON *res;
	cJSON *root;

	memset(out, 0, sizeof(*out));
	if (rpc_call(r, m, params_of(2, key_item(key), config(r, c, true)), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_accounts(res, false, 1, out, NULL, e), e);
}

int
rpc_get_token_account_balance(struct rpc *r, const struct sol_pubkey *token_account, enum rpc_commitment c,
    struct rpc_token_balance *out, struct err *e)
{
	static const char m[] = "getTokenAccountBalance";
	const cJSON *res;
	cJSON *root;

	if (rpc_call(r, m, params_of(2, key_item(token_account), config(r, c, false)), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_token_balance(res, out, e), e);
}

int
rpc_get_balance(struct rpc *r, const struct sol_pubkey *key, enum rpc_commitment c, uint64_t *lamports,
    struct err *e)
{
	static const char m[] = "getBalance";
	const cJSON *res;
	cJSON *root;

	if (rpc_call(r, m, params_of(2, key_item(key), config(r, c, false)), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_ctx_u64(res, NULL, lamports, NULL, e), e);
}

int
rpc_get_fee_for_message(struct rpc *r, const uint8_t *msg, size_t len, enum rpc_commitment c,
    bool *known, uint64_t *fee, struct err *e)
{
	static const char m[] = "getFeeForMessage";
	const cJSON *res;
	cJSON *root;

	if (len == 0 || len > RAW_MAX)
		return arg_error(r, m, "message size out of range", e);
	if (rpc_call(r, m, params_of(2, b64_item(msg, len), config(r, c, false)), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_ctx_u64(res, known, fee, NULL, e), e);
}

int
rpc_simulate_transaction(struct rpc *r, const uint8_t *tx, size_t len, const struct rpc_sim_opts *o,
    struct rpc_sim_result *out, struct err *e)
{
	static const char m[] = "simulateTransaction";
	static const struct rpc_sim_opts dflt = { false, false, RPC_COMMIT_DEFAULT };
	const cJSON *res;
	cJSON *root, *cfg;

	if (o == NULL)
		o = &dflt;
	if (len == 0 || len > RAW_MAX)
		return arg_error(r, m, "transaction size out of range", e);
	if (o->sig_verify && o->replace_recent_blockhash)
		return arg_error(r, m, "sigVerify and replaceRecentBlockhash conflict", e);
	cfg = config(r, o->commitment, true);
	if (cfg != NULL && (cJSON_AddBoolToObject(cfg, "sigVerify", o->sig_verify) == NULL ||
	    cJSON_AddBoolToObject(cfg, "replaceRecentBlockhash", o->replace_recent_blockhash) == NULL)) {
		cJSON_Delete(cfg);
		cfg = NULL;
	}
	if (rpc_call(r, m, params_of(2, b64_item(tx, len), cfg), &root, &res, e) < 0)
		return -1;
	return decoded(r, m, root, rpcjson_simulation(res, out, e), e);
}

int
rpc_get_health(struct rpc *r, bool *healthy, struct err *e)
{
	static const char m[] = "getHealth";
	const cJSON *res;
	cJSON *root;
	int rc = 0;

	*healthy = false;
	if (rpc_call(r, m, params_of(0), &root, &res, e) < 0) {
		/* -32005: the node answered that it is unhealthy (behind): a valid answer, not a failure. */
		if (r->last.kind == RPC_E_JSONRPC && r->last.code == -32005)
			return 0;
		return -1;
	}
	if (cJSON_IsString(res) && strcmp(res->valuestring, "ok") == 0)
		*healthy = true;
	else
		rc = err_set(e, RPC_E_PARSE, "unexpected result: not \"ok\"");
	return decoded(r, m, root, rc, e);
}
