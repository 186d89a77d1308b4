/* rpcreq.c: JSON-RPC request params (rpcreq.h): one builder per request shape, shared by both clients. */
#include "rpcreq.h"
#include "b58.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds an exact u64 (as raw integer text: cJSON numbers are doubles). */
static bool
add_u64(cJSON *o, const char *name, uint64_t v)
{
	char n[24];

	snprintf(n, sizeof(n), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, name, n) != NULL;
}

static cJSON *
config(const struct rpcreq_cfg *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddStringToObject(o, "commitment", rpc_commitment_name(c->commitment)) == NULL ||
	    (c->base64 && cJSON_AddStringToObject(o, "encoding", "base64") == NULL) ||
	    (c->min_context_slot > 0 && !add_u64(o, "minContextSlot", c->min_context_slot))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* An array of the items (consumed); NULL, with every item freed, when any is NULL or on OOM. */
static cJSON *
array_of(cJSON *const *items, size_t n)
{
	cJSON *p = cJSON_CreateArray();
	bool ok = p != NULL;

	for (size_t i = 0; i < n; i++) {
		if (items[i] == NULL || !ok || !cJSON_AddItemToArray(p, items[i])) {
			cJSON_Delete(items[i]);
			ok = false;
		}
	}
	if (!ok) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

static cJSON *
key_item(const struct sol_pubkey *k)
{
	char b[45];

	pubkey_to_b58(k, b);
	return cJSON_CreateString(b);
}

static cJSON *
key_array(const struct sol_pubkey *keys, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		cJSON *k = key_item(&keys[i]);

		if (k == NULL || !cJSON_AddItemToArray(arr, k)) {
			cJSON_Delete(k);
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

static cJSON *
b64_item(const uint8_t *p, size_t n)
{
	size_t sz = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s;
	cJSON *it;

	if (n == 0 || n > RPCREQ_RAW_MAX || (s = malloc(sz)) == NULL)
		return NULL;
	sodium_bin2base64(s, sz, p, n, sodium_base64_VARIANT_ORIGINAL);
	it = cJSON_CreateString(s);
	free(s);
	return it;
}

cJSON *
rpcreq_cfg_only(const struct rpcreq_cfg *c)
{
	cJSON *it[1] = { config(c) };

	return array_of(it, 1);
}

cJSON *
rpcreq_key(const struct sol_pubkey *key, const struct rpcreq_cfg *c)
{
	cJSON *it[2] = { key_item(key), config(c) };

	return array_of(it, 2);
}

cJSON *
rpcreq_keys(const struct sol_pubkey *keys, size_t n, const struct rpcreq_cfg *c)
{
	cJSON *it[2];

	if (n == 0 || n > RPC_MAX_ACCOUNTS)
		return NULL;
	it[0] = key_array(keys, n);
	it[1] = config(c);
	return array_of(it, 2);
}

cJSON *
rpcreq_prio_fees(const struct sol_pubkey *keys, size_t n)
{
	cJSON *it[1];

	if (n > RPC_MAX_FEE_ACCOUNTS)
		return NULL;
	if (n == 0)
		return cJSON_CreateArray();
	it[0] = key_array(keys, n);
	return array_of(it, 1);
}

cJSON *
rpcreq_statuses(const char *const *sigs, size_t n, bool search_history)
{
	uint8_t sig[64];
	cJSON *it[2];

	if (n == 0 || n > RPC_MAX_STATUSES)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (sigs[i] == NULL || b58_decode_exact(sigs[i], strlen(sigs[i]), sig, sizeof(sig), NULL) < 0)
			return NULL;
	it[0] = cJSON_CreateStringArray(sigs, (int)n);
	it[1] = cJSON_CreateObject();
	if (it[1] != NULL && cJSON_AddBoolToObject(it[1], "searchTransactionHistory", search_history) == NULL) {
		cJSON_Delete(it[1]);
		it[1] = NULL;
	}
	return array_of(it, 2);
}

cJSON *
rpcreq_send(const uint8_t *tx, size_t len, const struct rpc_send_opts *o, enum rpc_commitment preflight)
{
	cJSON *it[2] = { b64_item(tx, len), cJSON_CreateObject() };
	char n[24];

	snprintf(n, sizeof(n), "%d", o->max_retries);
	if (it[1] != NULL && (cJSON_AddStringToObject(it[1], "encoding", "base64") == NULL ||
	    cJSON_AddBoolToObject(it[1], "skipPreflight", o->skip_preflight) == NULL ||
	    cJSON_AddStringToObject(it[1], "preflightCommitment", rpc_commitment_name(preflight)) == NULL ||
	    (o->max_retries >= 0 && cJSON_AddRawToObject(it[1], "maxRetries", n) == NULL) ||
	    (o->min_context_slot > 0 && !add_u64(it[1], "minContextSlot", o->min_context_slot)))) {
		cJSON_Delete(it[1]);
		it[1] = NULL;
	}
	return array_of(it, 2);
}

cJSON *
rpcreq_simulate(const uint8_t *tx, size_t len, const struct rpc_sim_opts *o, enum rpc_commitment c)
{
	struct rpcreq_cfg cfg = { .commitment = c, .base64 = true };
	cJSON *it[2];

	if (o->sig_verify && o->replace_recent_blockhash)
		return NULL;
	it[0] = b64_item(tx, len);
	it[1] = config(&cfg);
	if (it[1] != NULL && (cJSON_AddBoolToObject(it[1], "sigVerify", o->sig_verify) == NULL ||
	    cJSON_AddBoolToObject(it[1], "replaceRecentBlockhash", o->replace_recent_blockhash) == NULL)) {
		cJSON_Delete(it[1]);
		it[1] = NULL;
	}
	return array_of(it, 2);
}

cJSON *
rpcreq_message(const uint8_t *msg, size_t len, enum rpc_commitment c)
{
	struct rpcreq_cfg cfg = { .commitment = c };
	cJSON *it[2] = { b64_item(msg, len), config(&cfg) };

	return array_of(it, 2);
}
