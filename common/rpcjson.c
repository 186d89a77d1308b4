/* rpcjson.c: the RPC client's JSON layer: exact numbers (u64 above 2^53), envelope classification, decoders. */
#include "rpcjson.h"
#include "b58.h"
#include "json.h"

#include <sodium.h>
#include <stdlib.h>

#include <stdbool.h>
#include <string.h>

/* Deep enough for every answer the client reads (simulation errors nest a few levels). */
#define RPCJSON_MAX_DEPTH 64

cJSON *
rpcjson_parse(const char *text, size_t len, struct err *e)
{
	struct err je;
	cJSON *root;

	if (text == NULL || text[len] != '\0' || strlen(text) != len) {
		err_set(e, 0, "response is not text");
		return NULL;
	}
	if ((root = json_parse(text, len, RPCJSON_MAX_DEPTH, &je)) == NULL)
		err_set(e, 0, "response is not valid JSON (%s of %zu)", je.msg, len);
	return root;
}

int
rpcjson_u64_text(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
rpcjson_u64(const cJSON *n, uint64_t *out)
{
	if (!cJSON_IsNumber(n) || n->valuestring == NULL)
		return -1;
	return rpcjson_u64_text(n->valuestring, strlen(n->valuestring), out);
}

int
rpcjson_i64(const cJSON *n, int64_t *out)
{
	const char *s;
	uint64_t m;
	bool neg;

	if (!cJSON_IsNumber(n) || n->valuestring == NULL)
		return -1;
	s = n->valuestring;
	neg = s[0] == '-';
	if (rpcjson_u64_text(s + neg, strlen(s + neg), &m) < 0)
		return -1;
	if (neg) {
		if (m > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
	} else {
		if (m > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)m;
	}
	return 0;
}

/* Turns number nodes carrying their text into raw nodes, so printing keeps the exact text. */
static void
set_raw(cJSON *n)
{
	for (; n != NULL; n = n->next) {
		if (cJSON_IsNumber(n) && n->valuestring != NULL)
			n->type = cJSON_Raw | (n->type & ~0xff);
		else if (cJSON_IsArray(n) || cJSON_IsObject(n))
			set_raw(n->child);
	}
}

int
rpcjson_print(const cJSON *n, char *buf, size_t bufsz)
{
	cJSON *copy;
	char *s;
	size_t len;

	if (bufsz == 0)
		return -1;
	/* A copy keeps n const; cJSON_Duplicate copies each number's text too. */
	if ((copy = cJSON_Duplicate(n, /* recurse= */ true)) == NULL) {
		buf[0] = '\0';
		return -1;
	}
	set_raw(copy);
	s = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	if (s == NULL) {
		buf[0] = '\0';
		return -1;
	}
	len = strlen(s);
	if (len >= bufsz) {
		memcpy(buf, s, bufsz - 1);
		buf[bufsz - 1] = '\0';
		cJSON_free(s);
		return -1;
	}
	memcpy(buf, s, len + 1);
	cJSON_free(s);
	return 0;
}

const cJSON *
rpcjson_obj(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

const char *
rpcjson_str(const cJSON *o, const char *key)
{
	const cJSON *v = rpcjson_obj(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
fail_kind(struct rpc_error *x, struct err *e, int kind, const char *method, const char *what)
{
	x->kind = kind;
	return err_set(e, kind, "%s: %s", method, what);
}

/* ---- the JSON layer: envelope and error classification ---- */

/* Copies src into dst as one printable line (control characters become spaces), truncating. */
static void
oneline(char *dst, size_t dsz, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < dsz; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
	dst[i] = '\0';
}

static int
classify_error(const char *method, const cJSON *eo, struct rpc_error *x, struct err *e)
{
	const cJSON *derr = rpcjson_obj(rpcjson_obj(eo, "data"), "err");
	const char *msg = rpcjson_str(eo, "message");
	const char *dstr = cJSON_IsString(derr) ? derr->valuestring : "";
	int64_t code;

	if (rpcjson_i64(rpcjson_obj(eo, "code"), &code) < 0)
		return fail_kind(x, e, RPC_E_PARSE, method, "error object without an integer code");
	x->code = code;
	oneline(x->message, sizeof(x->message), msg != NULL ? msg : "");
	/* A truncated data.err is still worth showing; the kind does not depend on it. */
	if (derr != NULL && !cJSON_IsNull(derr) && rpcjson_print(derr, x->data_err, sizeof(x->data_err)) < 0)
		x->data_err[sizeof(x->data_err) - 1] = '\0';
	if (strcmp(dstr, "BlockhashNotFound") == 0 || strstr(x->message, "Blockhash not found") != NULL)
		x->kind = RPC_E_BLOCKHASH_NOT_FOUND;
	else if (code == -32002 && (strcmp(dstr, "AlreadyProcessed") == 0 ||
	    strstr(x->message, "already been processed") != NULL))
		x->kind = RPC_E_ALREADY_PROCESSED;
	else if (code == -32002)
		x->kind = RPC_E_PREFLIGHT;
	else if (code == -32003)
		x->kind = RPC_E_SIGVERIFY;
	else if (code == -32005)
		x->kind = RPC_E_NODE_BEHIND;
	else if (code == -32011)
		x->kind = RPC_E_NO_HISTORY;
	else if (code == -32016)
		x->kind = RPC_E_MIN_CONTEXT_SLOT;
	else if (code == -32004 || code == -32007 || code == -32009 || code == -32014)
		x->kind = RPC_E_NOT_AVAILABLE;
	else if (code == -32601)
		x->kind = RPC_E_METHOD_NOT_FOUND;
	else
		x->kind = RPC_E_JSONRPC;
	/* What the node said about itself: how far behind, or the slot it has reached (optional fields). */
	if (x->kind == RPC_E_NODE_BEHIND &&
	    rpcjson_u64(rpcjson_obj(rpcjson_obj(eo, "data"), "numSlotsBehind"), &x->slots_behind) < 0)
		x->slots_behind = 0;
	if (x->kind == RPC_E_MIN_CONTEXT_SLOT &&
	    rpcjson_u64(rpcjson_obj(rpcjson_obj(eo, "data"), "contextSlot"), &x->context_slot) < 0)
		x->context_slot = 0;
	if (x->kind == RPC_E_PREFLIGHT && x->data_err[0] != '\0')
		return err_set(e, x->kind, "%s: preflight failed: %s", method, x->data_err);
	return err_set(e, x->kind, "%s: JSON-RPC error %lld: %s", method, (long long)code, x->message);
}

int
rpcjson_response(const char *method, long http_status, const char *body, size_t len, uint64_t id,
    cJSON **root, const cJSON **result, struct rpc_error *x, struct err *e)
{
	const cJSON *eo, *res;
	struct err pe;
	uint64_t got;
	cJSON *doc;

	memset(x, 0, sizeof(*x));
	x->http_status = http_status;
	*root = NULL;
	*result = NULL;
	if (http_status == 429) {
		x->kind = RPC_E_RATE_LIMITED;
		return err_set(e, RPC_E_RATE_LIMITED, "%s: HTTP 429 (rate limited)", method);
	}
	if (http_status != 200) {
		x->kind = RPC_E_HTTP;
		return err_set(e, RPC_E_HTTP, "%s: HTTP status %ld", method, http_status);
	}
	if ((doc = rpcjson_parse(body, len, &pe)) == NULL) {
		x->kind = RPC_E_PARSE;
		return err_set(e, RPC_E_PARSE, "%s: %s", method, pe.msg);
	}
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return fail_kind(x, e, RPC_E_PARSE, method, "response is not a JSON object");
	}
	eo = rpcjson_obj(doc, "error");
	if (eo != NULL && !cJSON_IsNull(eo)) {
		if (!cJSON_IsObject(eo))
			fail_kind(x, e, RPC_E_PARSE, method, "response error is not an object");
		else
			classify_error(method, eo, x, e);
		cJSON_Delete(doc);
		return -1;
	}
	if (rpcjson_u64(rpcjson_obj(doc, "id"), &got) < 0 || got != id) {
		cJSON_Delete(doc);
		return fail_kind(x, e, RPC_E_PARSE, method, "response id does not match the request");
	}
	if ((res = rpcjson_obj(doc, "result")) == NULL) {
		cJSON_Delete(doc);
		return fail_kind(x, e, RPC_E_PARSE, method, "response has neither result nor error");
	}
	*root = doc;
	*result = res;
	return 0;
}

/* ---- the JSON layer: one decoder per result shape ---- */

static int
bad(struct err *e, const char *what)
{
	return err_set(e, RPC_E_PARSE, "unexpected result: %s", what);
}

/* {"context":{"slot":u64,...},"value":V}: returns V (possibly a JSON null), or NULL. */
static const cJSON *
ctx_value(const cJSON *result, uint64_t *slot, struct err *e)
{
	const cJSON *v = rpcjson_obj(result, "value");
	uint64_t s;

	if (rpcjson_u64(rpcjson_obj(rpcjson_obj(result, "context"), "slot"), &s) < 0) {
		bad(e, "no context.slot");
		return NULL;
	}
	if (v == NULL) {
		bad(e, "no value");
		return NULL;
	}
	if (slot != NULL)
		*slot = s;
	return v;
}

int
rpcjson_blockhash(const cJSON *result, struct rpc_blockhash *out, struct err *e)
{
	const cJSON *v = ctx_value(result, &out->context_slot, e);
	const char *h;

	if (v == NULL)
		return -1;
	h = rpcjson_str(v, "blockhash");
	if (h == NULL || strlen(h) >= sizeof(out->b58) || pubkey_from_b58(h, &out->hash, NULL) < 0)
		return bad(e, "blockhash is not a base58 32-byte hash");
	if (rpcjson_u64(rpcjson_obj(v, "lastValidBlockHeight"), &out->last_valid_block_height) < 0)
		return bad(e, "lastValidBlockHeight is not a u64");
	memcpy(out->b58, h, strlen(h) + 1);
	return 0;
}

int
rpcjson_result_u64(const cJSON *result, uint64_t *out, struct err *e)
{
	if (rpcjson_u64(result, out) < 0)
		return bad(e, "not a u64");
	return 0;
}

int
rpcjson_ctx_u64(const cJSON *result, bool *known, uint64_t *out, uint64_t *context_slot, struct err *e)
{
	const cJSON *v = ctx_value(result, context_slot, e);

	if (v == NULL)
		return -1;
	if (cJSON_IsNull(v) && known != NULL) {
		*known = false;
		*out = 0;
		return 0;
	}
	if (rpcjson_u64(v, out) < 0)
		return bad(e, "value is not a u64");
	if (known != NULL)
		*known = true;
	return 0;
}

int
rpcjson_signature(const cJSON *result, const uint8_t *expect_sig, char sig_b58[89], struct err *e)
{
	uint8_t sig[64];

	if (!cJSON_IsString(result) || strlen(result->valuestring) >= 89 ||
	    b58_decode_exact(result->valuestring, strlen(result->valuestring), sig, sizeof(sig), NULL) < 0)
		return bad(e, "not a base58 64-byte signature");
	if (expect_sig != NULL && sodium_memcmp(sig, expect_sig, sizeof(sig)) != 0)
		return bad(e, "the node returned a signature other than the transaction's");
	memcpy(sig_b58, result->valuestring, strlen(result->valuestring) + 1);
	return 0;
}

/* A TransactionError (or null) into failed/err/truncated. */
static void
tx_err(const cJSON *v, bool *failed, char *buf, size_t bufsz, bool *truncated)
{
	*failed = v != NULL && !cJSON_IsNull(v);
	buf[0] = '\0';
	*truncated = *failed && rpcjson_print(v, buf, bufsz) < 0;
}

static int
decode_status(const cJSON *v, struct rpc_sigstatus *s, struct err *e)
{
	const cJSON *conf = rpcjson_obj(v, "confirmations"), *cs = rpcjson_obj(v, "confirmationStatus");

	memset(s, 0, sizeof(*s));
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return bad(e, "a status is neither null nor an object");
	s->found = true;
	if (rpcjson_u64(rpcjson_obj(v, "slot"), &s->slot) < 0)
		return bad(e, "status slot is not a u64");
	if (conf == NULL || cJSON_IsNull(conf))
		s->rooted = true;
	else if (rpcjson_u64(conf, &s->confirmations) < 0)
		return bad(e, "status confirmations is neither null nor a u64");
	if (rpcjson_obj(v, "err") == NULL)
		return bad(e, "status has no err");
	tx_err(rpcjson_obj(v, "err"), &s->failed, s->err, sizeof(s->err), &s->err_truncated);
	if (cs != NULL && !cJSON_IsNull(cs) &&
	    (!cJSON_IsString(cs) || rpc_commitment_parse(cs->valuestring, &s->status) < 0))
		return bad(e, "unknown confirmationStatus");
	return 0;
}

int
rpcjson_statuses(const cJSON *result, size_t n, struct rpc_sigstatus *out, uint64_t *context_slot,
    struct err *e)
{
	const cJSON *v = ctx_value(result, context_slot, e), *it;
	size_t i = 0;

	if (v == NULL)
		return -1;
	if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) != n)
		return bad(e, "value is not an array of one status per signature");
	cJSON_ArrayForEach(it, v) {
		if (decode_status(it, &out[i++], e) < 0)
			return -1;
	}
	return 0;
}

static int
decode_account(const cJSON *v, struct rpc_account *a, struct err *e)
{
	const cJSON *data = rpcjson_obj(v, "data"), *re = rpcjson_obj(v, "rentEpoch");
	const cJSON *b64 = cJSON_GetArrayItem(data, 0), *enc = cJSON_GetArrayItem(data, 1);
	const char *owner = rpcjson_str(v, "owner");
	size_t blen, max;

	memset(a, 0, sizeof(*a));
	if (cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return bad(e, "an account is neither null nor an object");
	if (rpcjson_u64(rpcjson_obj(v, "lamports"), &a->lamports) < 0)
		return bad(e, "account lamports is not a u64");
	if (owner == NULL || pubkey_from_b58(owner, &a->owner, NULL) < 0)
		return bad(e, "account owner is not a base58 pubkey");
	if (!cJSON_IsBool(rpcjson_obj(v, "executable")))
		return bad(e, "account executable is not a bool");
	a->executable = cJSON_IsTrue(rpcjson_obj(v, "executable"));
	if (re != NULL && rpcjson_u64(re, &a->rent_epoch) < 0)
		return bad(e, "account rentEpoch is not a u64");
	if (!cJSON_IsArray(data) || !cJSON_IsString(b64) || !cJSON_IsString(enc) ||
	    strcmp(enc->valuestring, "base64") != 0)
		return bad(e, "account data is not [base64, \"base64\"]");
	blen = strlen(b64->valuestring);
	max = blen / 4 * 3 + 3;
	if ((a->data = malloc(max)) == NULL)
		return err_set(e, RPC_E_PARSE, "out of memory for account data");
	if (sodium_base642bin(a->data, max, b64->valuestring, blen, NULL, &a->data_len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(a->data);
		a->data = NULL;
		return bad(e, "account data is not valid base64");
	}
	a->exists = true;
	return 0;
}

int
rpcjson_accounts(const cJSON *result, bool multiple, size_t n, struct rpc_account *out,
    uint64_t *context_slot, struct err *e)
{
	const cJSON *v = ctx_value(result, context_slot, e), *it;
	size_t i = 0;

	memset(out, 0, n * sizeof(*out));
	if (v == NULL)
		return -1;
	if (!multiple) {
		if (n != 1)
			return bad(e, "one account expected");
		return decode_account(v, out, e);
	}
	if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) != n)
		return bad(e, "value is not an array of one account per key");
	cJSON_ArrayForEach(it, v) {
		if (decode_account(it, &out[i++], e) < 0) {
			rpc_accounts_clear(out, n);
			return -1;
		}
	}
	return 0;
}

int
rpcjson_token_balance(const cJSON *result, struct rpc_token_balance *out, struct err *e)
{
	const cJSON *v = ctx_value(result, &out->context_slot, e);
	const char *amount;
	uint64_t dec;

	if (v == NULL)
		return -1;
	amount = rpcjson_str(v, "amount");
	if (amount == NULL || rpcjson_u64_text(amount, strlen(amount), &out->amount) < 0)
		return bad(e, "token amount is not a u64 decimal string");
	if (rpcjson_u64(rpcjson_obj(v, "decimals"), &dec) < 0 || dec > 255)
		return bad(e, "token decimals is not a u8");
	out->decimals = (uint8_t)dec;
	return 0;
}

int
rpcjson_simulation(const cJSON *result, struct rpc_sim_result *out, struct err *e)
{
	const cJSON *v = ctx_value(result, &out->context_slot, e), *logs, *units;

	if (v == NULL)
		return -1;
	if (!cJSON_IsObject(v) || rpcjson_obj(v, "err") == NULL)
		return bad(e, "simulation value has no err");
	tx_err(rpcjson_obj(v, "err"), &out->failed, out->err, sizeof(out->err), &out->err_truncated);
	logs = rpcjson_obj(v, "logs");
	if (logs != NULL && !cJSON_IsNull(logs) && !cJSON_IsArray(logs))
		return bad(e, "simulation logs is not an array");
	out->logs = cJSON_IsArray(logs) ? (size_t)cJSON_GetArraySize(logs) : 0;
	units = rpcjson_obj(v, "unitsConsumed");
	out->units_known = units != NULL && !cJSON_IsNull(units);
	out->units_consumed = 0;
	if (out->units_known && rpcjson_u64(units, &out->units_consumed) < 0)
		return bad(e, "unitsConsumed is not a u64");
	return 0;
}

int
rpcjson_epoch_info(const cJSON *result, struct rpc_epoch_info *out, struct err *e)
{
	if (!cJSON_IsObject(result) || rpcjson_u64(rpcjson_obj(result, "absoluteSlot"), &out->absolute_slot) < 0 ||
	    rpcjson_u64(rpcjson_obj(result, "blockHeight"), &out->block_height) < 0 ||
	    rpcjson_u64(rpcjson_obj(result, "epoch"), &out->epoch) < 0)
		return bad(e, "epoch info without absoluteSlot, blockHeight and epoch as u64s");
	return 0;
}

int
rpcjson_prio_fees(const cJSON *result, struct rpc_prio_fees *out, struct err *e)
{
	const cJSON *it;

	out->n = 0;
	if (!cJSON_IsArray(result))
		return bad(e, "prioritization fees are not an array");
	cJSON_ArrayForEach(it, result) {
		uint64_t slot, fee;

		if (rpcjson_u64(rpcjson_obj(it, "slot"), &slot) < 0 ||
		    rpcjson_u64(rpcjson_obj(it, "prioritizationFee"), &fee) < 0)
			return bad(e, "a fee sample without slot and prioritizationFee as u64s");
		/* The node keeps at most 150 slots; keep the newest if it sends more. */
		if (out->n == RPC_MAX_FEE_SAMPLES) {
			memmove(out->slot, out->slot + 1, (RPC_MAX_FEE_SAMPLES - 1) * sizeof(out->slot[0]));
			memmove(out->fee, out->fee + 1, (RPC_MAX_FEE_SAMPLES - 1) * sizeof(out->fee[0]));
			out->n--;
		}
		out->slot[out->n] = slot;
		out->fee[out->n++] = fee;
	}
	return 0;
}
