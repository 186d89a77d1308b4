/* rpctool.c: a CLI over common/solrpc for tests: one call, one JSON line (u64s as decimal strings). */
#include "solrpc.h"
#include "pubkey.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: rpctool [--timeout-ms N] [--connect-timeout-ms N] [--commitment C] [--repeat N] URL METHOD [ARGS]\n"
    "  blockhash | height | health\n"
    "  send TX_BASE64 [--skip-preflight] [--max-retries N] [--preflight-commitment C]\n"
    "  status [--history] SIG...\n"
    "  accounts PUBKEY... | account PUBKEY | lamports PUBKEY | balance TOKEN_ACCOUNT\n"
    "  fee MSG_BASE64 | simulate TX_BASE64 [--sig-verify] [--replace-blockhash]\n"
    "Prints one JSON line: the result, or {\"error\":{\"kind\",\"code\",\"httpStatus\",\"message\",\"dataErr\"}}\n"
    "(exit 1). Exit 2 on usage errors.\n";

struct args {
	const char *pos[RPC_MAX_STATUSES + 4];
	int npos;
	long timeout_ms, connect_timeout_ms;
	const char *commitment, *preflight_commitment;
	bool skip_preflight, history, sig_verify, replace_blockhash;
	int max_retries;
	long repeat;
};

static _Noreturn void
usage(const char *why)
{
	fprintf(stderr, "rpctool: %s\n%s", why, usage_text);
	exit(2);
}

static long
num_arg(const char *s)
{
	char *end;
	long v = strtol(s != NULL ? s : "", &end, 10);

	if (s == NULL || *s == '\0' || *end != '\0' || v < 0)
		usage("option needs a non-negative integer");
	return v;
}

static void
parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->max_retries = -1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (strncmp(s, "--", 2) != 0) {
			if (a->npos == (int)(sizeof(a->pos) / sizeof(a->pos[0])))
				usage("too many arguments");
			a->pos[a->npos++] = s;
		} else if (strcmp(s, "--timeout-ms") == 0) {
			a->timeout_ms = num_arg(i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(s, "--connect-timeout-ms") == 0) {
			a->connect_timeout_ms = num_arg(i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(s, "--repeat") == 0) {
			a->repeat = num_arg(i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(s, "--max-retries") == 0) {
			a->max_retries = (int)num_arg(i + 1 < argc ? argv[++i] : NULL);
		} else if (strcmp(s, "--commitment") == 0 && i + 1 < argc) {
			a->commitment = argv[++i];
		} else if (strcmp(s, "--preflight-commitment") == 0 && i + 1 < argc) {
			a->preflight_commitment = argv[++i];
		} else if (strcmp(s, "--skip-preflight") == 0) {
			a->skip_preflight = true;
		} else if (strcmp(s, "--history") == 0) {
			a->history = true;
		} else if (strcmp(s, "--sig-verify") == 0) {
			a->sig_verify = true;
		} else if (strcmp(s, "--replace-blockhash") == 0) {
			a->replace_blockhash = true;
		} else {
			usage("unknown option");
		}
	}
	if (a->npos < 2)
		usage("URL and METHOD are required");
}

static cJSON *
u64_item(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	return cJSON_CreateString(b);
}

/* A TransactionError text as raw JSON (or as a string when it was truncated), or null. */
static cJSON *
txerr_item(bool failed, bool truncated, const char *text)
{
	if (!failed)
		return cJSON_CreateNull();
	return truncated ? cJSON_CreateString(text) : cJSON_CreateRaw(text);
}

static uint8_t *
b64_arg(const char *s, size_t *len)
{
	size_t n = strlen(s), max = n / 4 * 3 + 3;
	uint8_t *b = malloc(max);

	if (b == NULL || sodium_base642bin(b, max, s, n, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		usage("argument is not base64");
	return b;
}

static void
key_arg(const char *s, struct sol_pubkey *k)
{
	if (pubkey_from_b58(s, k, NULL) < 0)
		usage("argument is not a base58 pubkey");
}

static cJSON *
account_item(const struct rpc_account *a)
{
	cJSON *o;
	char owner[45], *data;
	size_t sz;

	if (!a->exists)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	pubkey_to_b58(&a->owner, owner);
	sz = sodium_base64_encoded_len(a->data_len, sodium_base64_VARIANT_ORIGINAL);
	if ((data = malloc(sz)) == NULL)
		abort();
	sodium_bin2base64(data, sz, a->data, a->data_len, sodium_base64_VARIANT_ORIGINAL);
	cJSON_AddItemToObject(o, "lamports", u64_item(a->lamports));
	cJSON_AddStringToObject(o, "owner", owner);
	cJSON_AddBoolToObject(o, "executable", a->executable);
	cJSON_AddItemToObject(o, "rentEpoch", u64_item(a->rent_epoch));
	cJSON_AddStringToObject(o, "data", data);
	cJSON_AddItemToObject(o, "dataLen", u64_item(a->data_len));
	free(data);
	return o;
}

static cJSON *
error_item(const struct rpc *r, const struct err *e)
{
	const struct rpc_error *x = rpc_last_error(r);
	cJSON *o = cJSON_CreateObject(), *w = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "kind", rpc_errkind_name(e->code));
	cJSON_AddNumberToObject(o, "code", (double)x->code);
	cJSON_AddNumberToObject(o, "httpStatus", (double)x->http_status);
	cJSON_AddStringToObject(o, "message", e->msg);
	cJSON_AddStringToObject(o, "rpcMessage", x->message);
	if (x->data_err[0] != '\0')
		cJSON_AddRawToObject(o, "dataErr", x->data_err);
	else
		cJSON_AddNullToObject(o, "dataErr");
	cJSON_AddBoolToObject(o, "retryable", rpc_err_retryable(e));
	cJSON_AddItemToObject(w, "error", o);
	return w;
}

/* Runs METHOD; returns the result object, or NULL with *e set. */
static cJSON *
run(struct rpc *r, const struct args *a, struct err *e)
{
	const char *m = a->pos[1], *const *rest = a->pos + 2;
	int nrest = a->npos - 2;
	cJSON *o = cJSON_CreateObject();

	if (strcmp(m, "blockhash") == 0) {
		struct rpc_blockhash bh;

		if (rpc_get_latest_blockhash(r, RPC_COMMIT_DEFAULT, &bh, e) < 0)
			goto fail;
		cJSON_AddStringToObject(o, "blockhash", bh.b58);
		cJSON_AddItemToObject(o, "lastValidBlockHeight", u64_item(bh.last_valid_block_height));
		cJSON_AddItemToObject(o, "contextSlot", u64_item(bh.context_slot));
	} else if (strcmp(m, "height") == 0) {
		uint64_t h;

		if (rpc_get_block_height(r, RPC_COMMIT_DEFAULT, &h, e) < 0)
			goto fail;
		cJSON_AddItemToObject(o, "height", u64_item(h));
	} else if (strcmp(m, "health") == 0) {
		bool ok;

		if (rpc_get_health(r, &ok, e) < 0)
			goto fail;
		cJSON_AddBoolToObject(o, "healthy", ok);
	} else if (strcmp(m, "send") == 0 && nrest == 1) {
		struct rpc_send_opts so = { a->skip_preflight, a->max_retries, RPC_COMMIT_DEFAULT, NULL, 0 };
		char sig[89];
		size_t len;
		uint8_t *tx = b64_arg(rest[0], &len);
		int rc;

		if (a->preflight_commitment != NULL && rpc_commitment_parse(a->preflight_commitment,
		    &so.preflight_commitment) < 0)
			usage("bad --preflight-commitment");
		/* A legacy transaction with 1..127 signatures: the first one follows the count byte. */
		if (len >= 65 && tx[0] >= 1 && tx[0] < 0x80)
			so.expect_sig = tx + 1;
		rc = rpc_send_transaction(r, tx, len, &so, sig, e);
		free(tx);
		if (rc < 0)
			goto fail;
		cJSON_AddStringToObject(o, "signature", sig);
	} else if (strcmp(m, "status") == 0 && nrest >= 1) {
		struct rpc_sigstatus *st = calloc((size_t)nrest, sizeof(*st));
		cJSON *arr = cJSON_AddArrayToObject(o, "statuses");
		uint64_t slot;

		if (st == NULL)
			abort();
		if (rpc_get_signature_statuses(r, rest, (size_t)nrest, a->history, st, &slot, e) < 0) {
			free(st);
			goto fail;
		}
		for (int i = 0; i < nrest; i++) {
			cJSON *s = st[i].found ? cJSON_CreateObject() : cJSON_CreateNull();

			if (st[i].found) {
				cJSON_AddItemToObject(s, "slot", u64_item(st[i].slot));
				cJSON_AddItemToObject(s, "confirmations",
				    st[i].rooted ? cJSON_CreateNull() : u64_item(st[i].confirmations));
				cJSON_AddItemToObject(s, "err", txerr_item(st[i].failed, st[i].err_truncated, st[i].err));
				if (st[i].status == RPC_COMMIT_DEFAULT)
					cJSON_AddNullToObject(s, "confirmationStatus");
				else
					cJSON_AddStringToObject(s, "confirmationStatus", rpc_commitment_name(st[i].status));
			}
			cJSON_AddItemToArray(arr, s);
		}
		cJSON_AddItemToObject(o, "contextSlot", u64_item(slot));
		free(st);
	} else if (strcmp(m, "accounts") == 0 && nrest >= 1 && nrest <= RPC_MAX_ACCOUNTS) {
		struct sol_pubkey keys[RPC_MAX_ACCOUNTS];
		struct rpc_account acc[RPC_MAX_ACCOUNTS];
		cJSON *arr = cJSON_AddArrayToObject(o, "accounts");
		uint64_t slot;

		for (int i = 0; i < nrest; i++)
			key_arg(rest[i], &keys[i]);
		if (rpc_get_multiple_accounts(r, keys, (size_t)nrest, RPC_COMMIT_DEFAULT, acc, &slot, e) < 0)
			goto fail;
		for (int i = 0; i < nrest; i++)
			cJSON_AddItemToArray(arr, account_item(&acc[i]));
		cJSON_AddItemToObject(o, "contextSlot", u64_item(slot));
		rpc_accounts_clear(acc, (size_t)nrest);
	} else if (strcmp(m, "account") == 0 && nrest == 1) {
		struct sol_pubkey k;
		struct rpc_account acc;

		key_arg(rest[0], &k);
		if (rpc_get_account_info(r, &k, RPC_COMMIT_DEFAULT, &acc, e) < 0)
			goto fail;
		cJSON_AddItemToObject(o, "account", account_item(&acc));
		rpc_accounts_clear(&acc, 1);
	} else if (strcmp(m, "lamports") == 0 && nrest == 1) {
		struct sol_pubkey k;
		uint64_t v;

		key_arg(rest[0], &k);
		if (rpc_get_balance(r, &k, RPC_COMMIT_DEFAULT, &v, e) < 0)
			goto fail;
		cJSON_AddItemToObject(o, "lamports", u64_item(v));
	} else if (strcmp(m, "balance") == 0 && nrest == 1) {
		struct sol_pubkey k;
		struct rpc_token_balance tb;

		key_arg(rest[0], &k);
		if (rpc_get_token_account_balance(r, &k, RPC_COMMIT_DEFAULT, &tb, e) < 0)
			goto fail;
		cJSON_AddItemToObject(o, "amount", u64_item(tb.amount));
		cJSON_AddNumberToObject(o, "decimals", tb.decimals);
		cJSON_AddItemToObject(o, "contextSlot", u64_item(tb.context_slot));
	} else if (strcmp(m, "fee") == 0 && nrest == 1) {
		size_t len;
		uint8_t *msg = b64_arg(rest[0], &len);
		uint64_t fee;
		bool known;
		int rc = rpc_get_fee_for_message(r, msg, len, RPC_COMMIT_DEFAULT, &known, &fee, e);

		free(msg);
		if (rc < 0)
			goto fail;
		cJSON_AddItemToObject(o, "fee", known ? u64_item(fee) : cJSON_CreateNull());
	} else if (strcmp(m, "simulate") == 0 && nrest == 1) {
		struct rpc_sim_opts so = { a->sig_verify, a->replace_blockhash, RPC_COMMIT_DEFAULT };
		struct rpc_sim_result sr;
		size_t len;
		uint8_t *tx = b64_arg(rest[0], &len);
		int rc = rpc_simulate_transaction(r, tx, len, &so, &sr, e);

		free(tx);
		if (rc < 0)
			goto fail;
		cJSON_AddItemToObject(o, "err", txerr_item(sr.failed, sr.err_truncated, sr.err));
		cJSON_AddNumberToObject(o, "logs", (double)sr.logs);
		cJSON_AddItemToObject(o, "unitsConsumed", sr.units_known ? u64_item(sr.units_consumed) : cJSON_CreateNull());
	} else {
		usage("unknown METHOD or wrong number of arguments");
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct rpc_opts ro;
	struct err e = { 0, "" };
	struct rpc *r;
	cJSON *out = NULL;
	char *text;
	int rc = 0;

	parse_args(argc, argv, &a);
	ro.connect_timeout_ms = a.connect_timeout_ms;
	ro.timeout_ms = a.timeout_ms;
	ro.commitment = a.commitment;
	if ((r = rpc_new(a.pos[0], &ro, &e)) == NULL)
		usage(e.msg);
	/* --repeat N: N calls on one handle (one kept-alive connection); prints the last answer. */
	for (long i = 0; i < (a.repeat > 1 ? a.repeat : 1); i++) {
		if (i > 0)
			cJSON_Delete(out);
		if ((out = run(r, &a, &e)) == NULL) {
			out = error_item(r, &e);
			rc = 1;
			break;
		}
	}
	if ((text = cJSON_PrintUnformatted(out)) == NULL)
		abort();
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(out);
	rpc_free(r);
	return rc;
}
