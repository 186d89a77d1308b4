/* test_solrpc.c: the RPC client's JSON layer on canned response texts: exact u64s, classification, decoders. */
#include "t.h"

#include "b58.h"
#include "rpchttp.h"
#include "rpcjson.h"
#include "solrpc.h"

#include <stdlib.h>

#define SIG "2PE823kgx3hpG4YSmgKFnfiF1CVpuxXCK35Jva7rv3ckHF62gfKQi3P2BtoXDAKRqbe949FzwLJoP4ZrJNytYCte"
#define HASH "GpwZjtT1SZH4hDmUVbM6BP1SWgCi9pXZTfdnrj8ET583"

/* Parses an envelope with id 7 and HTTP 200; returns the result node (root in *root) or NULL. */
static const cJSON *
result_of(const char *body, cJSON **root)
{
	const cJSON *res;
	struct rpc_error x;
	struct err e;

	if (rpcjson_response("m", 200, body, strlen(body), 7, root, &res, &x, &e) < 0) {
		t_fail(__FILE__, __LINE__, "envelope failed: %s", e.msg);
		return NULL;
	}
	return res;
}

TEST(rpcjson_u64_text_table)
{
	static const struct { const char *s; int rc; uint64_t v; } tc[] = {
		{ "0", 0, 0 },
		{ "9007199254740993", 0, 9007199254740993ull }, /* 2^53 + 1: not a double */
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "", -1, 0 },
		{ "-1", -1, 0 },
		{ "+1", -1, 0 },
		{ "1.5", -1, 0 },
		{ "1e3", -1, 0 },
		{ " 1", -1, 0 },
		{ "000000000000000000001", -1, 0 }, /* longer than any u64 text */
	};

	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		uint64_t v = 0;
		int rc = rpcjson_u64_text(tc[i].s, strlen(tc[i].s), &v);

		CHECK_INT(rc, tc[i].rc);
		if (rc == 0)
			CHECK_U64(v, tc[i].v);
	}
}

TEST(rpcjson_numbers_exact_and_not_fooled_by_strings)
{
	/* Digits and escaped quotes inside strings must not shift the number-to-token mapping. */
	static const char text[] =
	    " {\"s\":\"12 \\\"34\\\" -5\",\"a\":[18446744073709551615, -9223372036854775808, 1.5, 2e3],"
	    "\"k1\":{\"n\":9007199254740993},\"t\":true,\"z\":null,\"neg\":-0} ";
	struct err e;
	cJSON *root = rpcjson_parse(text, strlen(text), &e);
	const cJSON *a;
	uint64_t u;
	int64_t i;
	char buf[128];

	if (!CHECK(root != NULL))
		return;
	a = rpcjson_obj(root, "a");
	CHECK_INT(rpcjson_u64(cJSON_GetArrayItem(a, 0), &u), 0);
	CHECK_U64(u, UINT64_MAX);
	CHECK_INT(rpcjson_i64(cJSON_GetArrayItem(a, 1), &i), 0);
	CHECK(i == INT64_MIN);
	CHECK_INT(rpcjson_u64(cJSON_GetArrayItem(a, 1), &u), -1);
	CHECK_INT(rpcjson_u64(cJSON_GetArrayItem(a, 2), &u), -1); /* not an integer token */
	CHECK_INT(rpcjson_u64(cJSON_GetArrayItem(a, 3), &u), -1);
	CHECK_INT(rpcjson_u64(rpcjson_obj(rpcjson_obj(root, "k1"), "n"), &u), 0);
	CHECK_U64(u, 9007199254740993ull);
	CHECK_INT(rpcjson_u64(rpcjson_obj(root, "s"), &u), -1); /* a string is not a number */
	CHECK_INT(rpcjson_print(a, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "[18446744073709551615,-9223372036854775808,1.5,2e3]");
	CHECK_INT(rpcjson_print(a, buf, 8), -1); /* too small: truncated, still terminated */
	CHECK_INT(strlen(buf), 7);
	cJSON_Delete(root);
}

TEST(rpcjson_parse_rejects)
{
	static const char *const bad[] = { "", "{", "{\"a\":1} x", "[1,]", "nul", "{\"a\":01x}" };
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *r = rpcjson_parse(bad[i], strlen(bad[i]), &e);

		if (!CHECK(r == NULL))
			cJSON_Delete(r);
	}
	/* An embedded NUL would let cJSON stop early: refused. */
	CHECK(rpcjson_parse("{}\0{}", 5, &e) == NULL);
}

TEST(rpc_envelope_classification)
{
	static const struct {
		long status;
		const char *body;
		int kind;
		int64_t code;
		const char *data_err;
		bool retry;
	} tc[] = {
		{ 500, "Internal Server Error", RPC_E_HTTP, 0, "", true },
		{ 429, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":429,\"message\":\"Too many requests\"},\"id\":7}",
		  RPC_E_RATE_LIMITED, 0, "", true },
		{ 200, "<html>", RPC_E_PARSE, 0, "", false },
		{ 200, "[1,2]", RPC_E_PARSE, 0, "", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":8}", RPC_E_PARSE, 0, "", false }, /* wrong id */
		{ 200, "{\"jsonrpc\":\"2.0\",\"id\":7}", RPC_E_PARSE, 0, "", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"message\":\"x\"},\"id\":7}", RPC_E_PARSE, 0, "", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"invalid base64 encoding: InvalidByte\"},\"id\":7}",
		  RPC_E_JSONRPC, -32602, "", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32005,\"message\":\"Node is behind by 42 slots\","
		       "\"data\":{\"numSlotsBehind\":42}},\"id\":7}", RPC_E_NODE_BEHIND, -32005, "", true },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32011,\"message\":\"Transaction history is not available "
		       "from this node\"},\"id\":7}", RPC_E_NO_HISTORY, -32011, "", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32016,\"message\":\"Minimum context slot has not been reached\","
		       "\"data\":{\"contextSlot\":99}},\"id\":7}", RPC_E_MIN_CONTEXT_SLOT, -32016, "", true },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32004,\"message\":\"Block not available for slot 5\"},\"id\":7}",
		  RPC_E_NOT_AVAILABLE, -32004, "", true },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"Method not found\"},\"id\":7}",
		  RPC_E_METHOD_NOT_FOUND, -32601, "", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32002,\"message\":\"Transaction simulation failed: "
		       "Blockhash not found\",\"data\":{\"err\":\"BlockhashNotFound\",\"logs\":[],\"unitsConsumed\":0}},\"id\":7}",
		  RPC_E_BLOCKHASH_NOT_FOUND, -32002, "\"BlockhashNotFound\"", true },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32002,\"message\":\"Transaction simulation failed: "
		       "Blockhash not found\"},\"id\":7}", RPC_E_BLOCKHASH_NOT_FOUND, -32002, "", true },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32002,\"message\":\"Transaction simulation failed: "
		       "This transaction has already been processed\",\"data\":{\"err\":\"AlreadyProcessed\"}},\"id\":7}",
		  RPC_E_ALREADY_PROCESSED, -32002, "\"AlreadyProcessed\"", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32002,\"message\":\"Transaction simulation failed: Error "
		       "processing Instruction 2: custom program error: 0x12\",\"data\":{\"accounts\":null,\"err\":"
		       "{\"InstructionError\":[2,{\"Custom\":18}]},\"logs\":[\"Program log: Error: decimals\"],"
		       "\"unitsConsumed\":18446744073709551615}},\"id\":7}",
		  RPC_E_PREFLIGHT, -32002, "{\"InstructionError\":[2,{\"Custom\":18}]}", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32002,\"message\":\"Transaction simulation failed: "
		       "Attempt to debit an account but found no record of a prior credit.\",\"data\":{\"err\":"
		       "\"AccountNotFound\"}},\"id\":7}", RPC_E_PREFLIGHT, -32002, "\"AccountNotFound\"", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32002,\"message\":\"x\",\"data\":{\"err\":"
		       "{\"InsufficientFundsForRent\":{\"account_index\":1}}}},\"id\":7}",
		  RPC_E_PREFLIGHT, -32002, "{\"InsufficientFundsForRent\":{\"account_index\":1}}", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32003,\"message\":\"Transaction signature verification "
		       "failure\"},\"id\":7}", RPC_E_SIGVERIFY, -32003, "", false },
		{ 200, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\"},\"id\":null}",
		  RPC_E_JSONRPC, -32700, "", false },
	};

	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		const cJSON *res;
		struct rpc_error x;
		struct err e;
		cJSON *root;
		int rc = rpcjson_response("sendTransaction", tc[i].status, tc[i].body, strlen(tc[i].body), 7,
		    &root, &res, &x, &e);

		CHECK_INT(rc, -1);
		CHECK(root == NULL);
		CHECK_INT(e.code, tc[i].kind);
		CHECK_INT(x.kind, tc[i].kind);
		CHECK_INT(x.code, tc[i].code);
		CHECK_INT(x.http_status, tc[i].status);
		CHECK_STR(x.data_err, tc[i].data_err);
		CHECK_INT(rpc_err_retryable(&e), tc[i].retry);
		CHECK(strncmp(e.msg, "sendTransaction: ", 17) == 0);
		CHECK(strchr(e.msg, '\n') == NULL);
	}
}

TEST(rpc_error_messages_one_line)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32603,\"message\":\"line1\\nline2\\ttab\"},\"id\":7}";
	static const char pre[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32002,\"message\":\"m\",\"data\":"
	    "{\"err\":{\"InstructionError\":[0,\"InvalidAccountData\"]}}},\"id\":7}";
	const cJSON *res;
	struct rpc_error x;
	struct err e;
	cJSON *root;

	CHECK_INT(rpcjson_response("getHealth", 200, body, strlen(body), 7, &root, &res, &x, &e), -1);
	CHECK_STR(x.message, "line1 line2 tab");
	CHECK_STR(e.msg, "getHealth: JSON-RPC error -32603: line1 line2 tab");
	CHECK_INT(rpcjson_response("sendTransaction", 200, pre, strlen(pre), 7, &root, &res, &x, &e), -1);
	CHECK_STR(e.msg, "sendTransaction: preflight failed: {\"InstructionError\":[0,\"InvalidAccountData\"]}");
}

TEST(rpc_retryable_by_kind)
{
	static const struct { int kind; bool retry; } tc[] = {
		{ RPC_E_TRANSPORT, true }, { RPC_E_TIMEOUT, true }, { RPC_E_HTTP, true },
		{ RPC_E_BLOCKHASH_NOT_FOUND, true }, { RPC_E_ALREADY_PROCESSED, false }, { RPC_E_PREFLIGHT, false },
		{ RPC_E_SIGVERIFY, false }, { RPC_E_JSONRPC, false }, { RPC_E_PARSE, false }, { RPC_E_ARG, false },
		{ RPC_E_RATE_LIMITED, true }, { RPC_E_NODE_BEHIND, true }, { RPC_E_NO_HISTORY, false },
		{ RPC_E_MIN_CONTEXT_SLOT, true }, { RPC_E_NOT_AVAILABLE, true }, { RPC_E_METHOD_NOT_FOUND, false },
	};

	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		struct err e = { tc[i].kind, "" };

		CHECK_INT(rpc_err_retryable(&e), tc[i].retry);
		CHECK(strcmp(rpc_errkind_name(tc[i].kind), "unknown") != 0);
	}
	CHECK_STR(rpc_errkind_name(RPC_E_BLOCKHASH_NOT_FOUND), "blockhash_not_found");
	CHECK_STR(rpc_errkind_name(99), "unknown");
}

TEST(rpc_decode_blockhash_and_heights)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"apiVersion\":\"2.2.0\",\"slot\":"
	    "18446744073709551614},\"value\":{\"blockhash\":\"" HASH "\",\"lastValidBlockHeight\":9007199254740993}},\"id\":7}";
	static const char height[] = "{\"jsonrpc\":\"2.0\",\"result\":9007199254740995,\"id\":7}";
	static const char fee_null[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":5},\"value\":null},\"id\":7}";
	static const char fee[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":5},\"value\":5000},\"id\":7}";
	struct rpc_blockhash bh;
	struct err e;
	uint64_t v, slot;
	bool known;
	cJSON *root;
	const cJSON *res;
	uint8_t raw[32];

	if ((res = result_of(body, &root)) == NULL)
		return;
	CHECK_INT(rpcjson_blockhash(res, &bh, &e), 0);
	CHECK_STR(bh.b58, HASH);
	CHECK_U64(bh.last_valid_block_height, 9007199254740993ull);
	CHECK_U64(bh.context_slot, 18446744073709551614ull);
	CHECK_INT(b58_decode_exact(HASH, strlen(HASH), raw, 32, &e), 0);
	CHECK(memcmp(raw, bh.hash.b, 32) == 0);
	cJSON_Delete(root);

	if ((res = result_of(height, &root)) == NULL)
		return;
	CHECK_INT(rpcjson_result_u64(res, &v, &e), 0);
	CHECK_U64(v, 9007199254740995ull);
	cJSON_Delete(root);

	if ((res = result_of(fee_null, &root)) == NULL)
		return;
	CHECK_INT(rpcjson_ctx_u64(res, &known, &v, &slot, &e), 0);
	CHECK(!known);
	CHECK_INT(rpcjson_ctx_u64(res, NULL, &v, &slot, &e), -1); /* getBalance: null is not a balance */
	CHECK_INT(e.code, RPC_E_PARSE);
	cJSON_Delete(root);

	if ((res = result_of(fee, &root)) == NULL)
		return;
	CHECK_INT(rpcjson_ctx_u64(res, &known, &v, &slot, &e), 0);
	CHECK(known);
	CHECK_U64(v, 5000);
	CHECK_U64(slot, 5);
	cJSON_Delete(root);
}

TEST(rpc_decode_shape_errors)
{
	static const char *const bodies[] = {
		"{\"jsonrpc\":\"2.0\",\"result\":{\"value\":{\"blockhash\":\"" HASH "\",\"lastValidBlockHeight\":1}},\"id\":7}",
		"{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":1},\"value\":{\"blockhash\":\"0OIl\",\"lastValidBlockHeight\":1}},\"id\":7}",
		"{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":1},\"value\":{\"blockhash\":\"" HASH "\",\"lastValidBlockHeight\":1.0}},\"id\":7}",
		"{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":1},\"value\":{\"blockhash\":\"" HASH "\",\"lastValidBlockHeight\":-1}},\"id\":7}",
		"{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":1},\"value\":{\"blockhash\":\"" HASH "\",\"lastValidBlockHeight\":18446744073709551616}},\"id\":7}",
		"{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":1}},\"id\":7}",
	};
	struct rpc_blockhash bh;
	struct err e;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		cJSON *root;
		const cJSON *res = result_of(bodies[i], &root);

		if (res == NULL)
			continue;
		CHECK_INT(rpcjson_blockhash(res, &bh, &e), -1);
		CHECK_INT(e.code, RPC_E_PARSE);
		cJSON_Delete(root);
	}
}

TEST(rpc_decode_signature_checks_expected)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"result\":\"" SIG "\",\"id\":7}";
	uint8_t sig[64];
	char out[89];
	struct err e;
	cJSON *root;
	const cJSON *res = result_of(body, &root);

	if (res == NULL || !CHECK(b58_decode_exact(SIG, strlen(SIG), sig, 64, &e) == 0))
		return;
	CHECK_INT(rpcjson_signature(res, NULL, out, &e), 0);
	CHECK_STR(out, SIG);
	CHECK_INT(rpcjson_signature(res, sig, out, &e), 0);
	sig[63] ^= 1;
	CHECK_INT(rpcjson_signature(res, sig, out, &e), -1);
	CHECK_INT(e.code, RPC_E_PARSE);
	CHECK_INT(rpcjson_signature(rpcjson_obj(root, "jsonrpc"), NULL, out, &e), -1); /* "2.0" is no signature */
	cJSON_Delete(root);
}

TEST(rpc_decode_statuses)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":100},\"value\":["
	    "null,"
	    "{\"slot\":98,\"confirmations\":2,\"err\":null,\"status\":{\"Ok\":null},\"confirmationStatus\":\"confirmed\"},"
	    "{\"slot\":18446744073709551615,\"confirmations\":null,\"err\":{\"InstructionError\":[1,{\"Custom\":18}]},"
	    "\"status\":{\"Err\":{\"InstructionError\":[1,{\"Custom\":18}]}},\"confirmationStatus\":\"finalized\"},"
	    "{\"slot\":99,\"confirmations\":0,\"err\":null,\"confirmationStatus\":null}]},\"id\":7}";
	struct rpc_sigstatus st[4];
	uint64_t slot;
	struct err e;
	cJSON *root;
	const cJSON *res = result_of(body, &root);

	if (res == NULL)
		return;
	CHECK_INT(rpcjson_statuses(res, 3, st, &slot, &e), -1); /* count must match the request */
	CHECK_INT(rpcjson_statuses(res, 4, st, &slot, &e), 0);
	CHECK_U64(slot, 100);
	CHECK(!st[0].found);
	CHECK(st[1].found && !st[1].rooted && !st[1].failed);
	CHECK_U64(st[1].slot, 98);
	CHECK_U64(st[1].confirmations, 2);
	CHECK_INT(st[1].status, RPC_COMMIT_CONFIRMED);
	CHECK_STR(st[1].err, "");
	CHECK(st[2].found && st[2].rooted && st[2].failed && !st[2].err_truncated);
	CHECK_U64(st[2].slot, UINT64_MAX);
	CHECK_STR(st[2].err, "{\"InstructionError\":[1,{\"Custom\":18}]}");
	CHECK_INT(st[2].status, RPC_COMMIT_FINALIZED);
	CHECK(st[3].found);
	CHECK_INT(st[3].status, RPC_COMMIT_DEFAULT);
	cJSON_Delete(root);

	{
		static const char odd[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":1},\"value\":["
		    "{\"slot\":1,\"confirmations\":0,\"err\":null,\"confirmationStatus\":\"rooted\"}]},\"id\":7}";

		if ((res = result_of(odd, &root)) == NULL)
			return;
		CHECK_INT(rpcjson_statuses(res, 1, st, &slot, &e), -1);
		CHECK_INT(e.code, RPC_E_PARSE);
		cJSON_Delete(root);
	}
}

TEST(rpc_decode_accounts_exact)
{
	/* rentEpoch u64::MAX and lamports 2^53 + 1 must survive; data "AQID" = 01 02 03. */
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"apiVersion\":\"2.2.0\",\"slot\":341},"
	    "\"value\":[{\"data\":[\"AQID\",\"base64\"],\"executable\":false,\"lamports\":9007199254740993,"
	    "\"owner\":\"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA\",\"rentEpoch\":18446744073709551615,\"space\":3},"
	    "null,"
	    "{\"data\":[\"\",\"base64\"],\"executable\":true,\"lamports\":1,\"owner\":\"11111111111111111111111111111111\","
	    "\"rentEpoch\":0,\"space\":0}]},\"id\":7}";
	static const char bad_data[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":1},\"value\":["
	    "{\"data\":[\"AQID\",\"base64\"],\"executable\":false,\"lamports\":1,\"owner\":\"11111111111111111111111111111111\"},"
	    "{\"data\":[\"A!ID\",\"base64\"],\"executable\":false,\"lamports\":1,\"owner\":\"11111111111111111111111111111111\"}"
	    "]},\"id\":7}";
	struct rpc_account a[3];
	uint64_t slot;
	struct err e;
	char owner[45];
	cJSON *root;
	const cJSON *res = result_of(body, &root);

	if (res == NULL)
		return;
	CHECK_INT(rpcjson_accounts(res, true, 3, a, &slot, &e), 0);
	CHECK_U64(slot, 341);
	CHECK(a[0].exists && !a[0].executable);
	CHECK_U64(a[0].lamports, 9007199254740993ull);
	CHECK_U64(a[0].rent_epoch, UINT64_MAX);
	pubkey_to_b58(&a[0].owner, owner);
	CHECK_STR(owner, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
	CHECK_INT(a[0].data_len, 3);
	CHECK(a[0].data != NULL && a[0].data[0] == 1 && a[0].data[1] == 2 && a[0].data[2] == 3);
	CHECK(!a[1].exists && a[1].data == NULL);
	CHECK(a[2].exists && a[2].executable && a[2].data != NULL);
	CHECK_INT(a[2].data_len, 0);
	rpc_accounts_clear(a, 3);
	CHECK(a[0].data == NULL && !a[0].exists);
	cJSON_Delete(root);

	if ((res = result_of(bad_data, &root)) == NULL)
		return;
	CHECK_INT(rpcjson_accounts(res, true, 2, a, &slot, &e), -1); /* and frees account 0's data (ASan) */
	CHECK_INT(e.code, RPC_E_PARSE);
	CHECK(a[0].data == NULL);
	CHECK_INT(rpcjson_accounts(res, true, 3, a, &slot, &e), -1);
	cJSON_Delete(root);
}

TEST(rpc_decode_account_info_null)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":2},\"value\":null},\"id\":7}";
	struct rpc_account a;
	struct err e;
	cJSON *root;
	const cJSON *res = result_of(body, &root);

	if (res == NULL)
		return;
	CHECK_INT(rpcjson_accounts(res, false, 1, &a, NULL, &e), 0);
	CHECK(!a.exists);
	cJSON_Delete(root);
}

TEST(rpc_decode_token_balance_exact)
{
	static const struct { const char *amount; const char *decimals; int rc; uint64_t v; } tc[] = {
		{ "\"18446744073709551615\"", "9", 0, UINT64_MAX },
		{ "\"9007199254740993\"", "6", 0, 9007199254740993ull },
		{ "\"0\"", "0", 0, 0 },
		{ "\"18446744073709551616\"", "6", -1, 0 },
		{ "\"1.5\"", "6", -1, 0 },
		{ "15", "6", -1, 0 },          /* amount must be a string */
		{ "\"15\"", "256", -1, 0 },    /* decimals is a u8 */
		{ "\"15\"", "\"6\"", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		char body[512];
		struct rpc_token_balance tb;
		struct err e;
		cJSON *root;
		const cJSON *res;

		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":3},\"value\":"
		    "{\"amount\":%s,\"decimals\":%s,\"uiAmount\":1.8446744073709552e19,\"uiAmountString\":\"x\"}},\"id\":7}",
		    tc[i].amount, tc[i].decimals);
		if ((res = result_of(body, &root)) == NULL)
			continue;
		CHECK_INT(rpcjson_token_balance(res, &tb, &e), tc[i].rc);
		if (tc[i].rc == 0)
			CHECK_U64(tb.amount, tc[i].v);
		cJSON_Delete(root);
	}
}

TEST(rpc_decode_simulation)
{
	static const char ok[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":9},\"value\":{\"err\":null,"
	    "\"logs\":[\"a\",\"b\",\"c\"],\"unitsConsumed\":4645,\"returnData\":null,\"accounts\":null}},\"id\":7}";
	static const char bad[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"context\":{\"slot\":9},\"value\":{\"err\":"
	    "\"BlockhashNotFound\",\"logs\":[],\"accounts\":null}},\"id\":7}";
	struct rpc_sim_result sr;
	struct err e;
	cJSON *root;
	const cJSON *res;

	if ((res = result_of(ok, &root)) == NULL)
		return;
	CHECK_INT(rpcjson_simulation(res, &sr, &e), 0);
	CHECK(!sr.failed && sr.units_known);
	CHECK_INT(sr.logs, 3);
	CHECK_U64(sr.units_consumed, 4645);
	cJSON_Delete(root);
	if ((res = result_of(bad, &root)) == NULL)
		return;
	CHECK_INT(rpcjson_simulation(res, &sr, &e), 0);
	CHECK(sr.failed && !sr.units_known);
	CHECK_STR(sr.err, "\"BlockhashNotFound\"");
	cJSON_Delete(root);
}

TEST(rpc_new_redacts_url)
{
	static const struct rpc_opts o = { 100, 200, "finalized" };
	static const struct rpc_opts bad_commit = { 0, 0, "max" };
	struct err e;
	struct rpc *r = rpc_new("https://user:pw@rpc.example.com:8443/k3y/path?api-key=SECRET", &o, &e);

	if (!CHECK(r != NULL))
		return;
	CHECK_STR(rpc_display_url(r), "https://rpc.example.com:8443");
	CHECK_INT(rpc_last_error(r)->kind, RPC_E_NONE);
	rpc_free(r);
	r = rpc_new("http://127.0.0.1/?api-key=SECRET", NULL, &e);
	if (CHECK(r != NULL))
		CHECK_STR(rpc_display_url(r), "http://127.0.0.1");
	rpc_free(r);
	CHECK(rpc_new("ftp://x/?api-key=SECRET", NULL, &e) == NULL);
	CHECK_INT(e.code, RPC_E_ARG);
	CHECK(strstr(e.msg, "SECRET") == NULL);
	CHECK(rpc_new("not a url", NULL, &e) == NULL);
	CHECK(rpc_new("http://x", &bad_commit, &e) == NULL);
	rpc_free(NULL);
}

TEST(rpc_arguments_checked_before_sending)
{
	/* Nothing listens on port 1; argument errors must be reported without touching the network. */
	struct err e;
	struct rpc *r = rpc_new("http://127.0.0.1:1", NULL, &e);
	const char *sigs[] = { "notasignature" };
	struct rpc_sigstatus st;
	struct rpc_account a;
	struct sol_pubkey k;
	char sig[89];

	if (!CHECK(r != NULL))
		return;
	memset(&k, 0, sizeof(k));
	CHECK_INT(rpc_get_signature_statuses(r, sigs, 1, false, &st, NULL, &e), -1);
	CHECK_INT(e.code, RPC_E_ARG);
	CHECK_INT(rpc_get_signature_statuses(r, sigs, 0, false, &st, NULL, &e), -1);
	CHECK_INT(e.code, RPC_E_ARG);
	CHECK_INT(rpc_get_multiple_accounts(r, &k, 101, RPC_COMMIT_DEFAULT, &a, NULL, &e), -1);
	CHECK_INT(e.code, RPC_E_ARG);
	CHECK_INT(rpc_send_transaction(r, (const uint8_t *)"", 0, NULL, sig, &e), -1);
	CHECK_INT(e.code, RPC_E_ARG);
	CHECK_INT(rpc_last_error(r)->kind, RPC_E_ARG);
	rpc_free(r);
}

TEST(rpc_error_details_from_data)
{
	static const char behind[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32005,\"message\":\"Node is behind\","
	    "\"data\":{\"numSlotsBehind\":18446744073709551615}},\"id\":7}";
	static const char minctx[] = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32016,\"message\":\"Minimum context slot "
	    "has not been reached\",\"data\":{\"contextSlot\":335501812}},\"id\":7}";
	const cJSON *res;
	struct rpc_error x;
	struct err e;
	cJSON *root;

	CHECK_INT(rpcjson_response("getSlot", 200, behind, strlen(behind), 7, &root, &res, &x, &e), -1);
	CHECK_INT(x.kind, RPC_E_NODE_BEHIND);
	CHECK_U64(x.slots_behind, UINT64_MAX);
	CHECK_INT(rpcjson_response("getAccountInfo", 200, minctx, strlen(minctx), 7, &root, &res, &x, &e), -1);
	CHECK_INT(x.kind, RPC_E_MIN_CONTEXT_SLOT);
	CHECK_U64(x.context_slot, 335501812);
}

TEST(rpc_retry_after_seconds_only)
{
	static const struct { const char *v; uint64_t ms; } tc[] = {
		{ " 2\r\n", 2000 }, { "0", 0 }, { "120", 120000 }, { "\t7 ", 7000 }, { "", 0 }, { "-1", 0 },
		{ "1.5", 0 }, { "Wed, 21 Oct 2015 07:28:00 GMT", 0 }, { "3 s", 0 }, { "99999999999999999999", 86400000 },
	};

	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++)
		CHECK_U64(rpchttp_retry_after_ms(tc[i].v, strlen(tc[i].v)), tc[i].ms);
}

TEST(rpc_decode_epoch_info_and_fees)
{
	static const char ei[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"absoluteSlot\":18446744073709551615,\"blockHeight\":"
	    "9007199254740993,\"epoch\":800,\"slotIndex\":1,\"slotsInEpoch\":432000,\"transactionCount\":null},\"id\":7}";
	static const char fees[] = "{\"jsonrpc\":\"2.0\",\"result\":[{\"slot\":348125,\"prioritizationFee\":0},"
	    "{\"slot\":348126,\"prioritizationFee\":18446744073709551615}],\"id\":7}";
	static const char badfees[] = "{\"jsonrpc\":\"2.0\",\"result\":[{\"slot\":1,\"prioritizationFee\":1.5}],\"id\":7}";
	struct rpc_epoch_info info;
	struct rpc_prio_fees pf;
	struct err e;
	cJSON *root;
	const cJSON *res;

	if ((res = result_of(ei, &root)) != NULL) {
		CHECK_INT(rpcjson_epoch_info(res, &info, &e), 0);
		CHECK_U64(info.absolute_slot, UINT64_MAX);
		CHECK_U64(info.block_height, 9007199254740993ull);
		CHECK_U64(info.epoch, 800);
		cJSON_Delete(root);
	}
	if ((res = result_of(fees, &root)) != NULL) {
		CHECK_INT(rpcjson_prio_fees(res, &pf, &e), 0);
		CHECK_INT(pf.n, 2);
		CHECK_U64(pf.slot[1], 348126);
		CHECK_U64(pf.fee[1], UINT64_MAX);
		cJSON_Delete(root);
	}
	if ((res = result_of(badfees, &root)) != NULL) {
		CHECK_INT(rpcjson_prio_fees(res, &pf, &e), -1);
		cJSON_Delete(root);
	}
}
