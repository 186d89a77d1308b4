/* test_audit.c: the audit's exact amounts, its reading of token accounts and its verdicts (mintd/audit_cmp.c). */
#include "mintd/audit_cmp.h"
#include "t.h"

#include <stdlib.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

TEST(audit_amount_parse_and_format)
{
	static const struct { const char *in; unsigned dec; bool sign; const char *out; } ok[] = {
		{ "0", 0, false, "0" },
		{ "0", 9, true, "0.000000000" },
		{ "5", 9, false, "0.000000005" },
		{ "-5", 9, true, "-0.000000005" },
		{ "12500000000", 9, true, "+12.500000000" },
		{ "18446744073709551615", 0, false, "18446744073709551615" },
		{ "18446744073709551616", 0, false, "18446744073709551616" },   /* past 2^64: sums of readings */
		{ "170141183460469231731687303715884105727", 0, false, "170141183460469231731687303715884105727" },
		{ "170141183460469231731687303715884105727", 18, false, "170141183460469231731.687303715884105727" },
	};
	static const char *const bad[] = { "", "-", "+1", "1.5", " 1", "1e3", "0x10", "abc",
		"170141183460469231731687303715884105728", "-340282366920938463463374607431768211455" };
	char buf[AUDIT_AMOUNT_SZ];

	for (size_t i = 0; i < N(ok); i++) {
		audit_amount v = 0;

		if (!CHECK(audit_amount_parse(ok[i].in, &v) == 0))
			continue;
		audit_amount_format(v, ok[i].dec, ok[i].sign, buf, sizeof(buf));
		CHECK_STR(buf, ok[i].out);
	}
	for (size_t i = 0; i < N(bad); i++) {
		audit_amount v = 0;

		if (audit_amount_parse(bad[i], &v) == 0)
			t_fail(__FILE__, __LINE__, "audit_amount_parse(\"%s\") accepted", bad[i]);
	}
	audit_amount_format(-1234567, 3, false, buf, 6); /* truncated, still terminated */
	CHECK_STR(buf, "-1234");
}

static struct rpc_account
account(const struct sol_pubkey *program, const struct sol_pubkey *mint, const struct sol_pubkey *owner,
    uint64_t amount, uint8_t state, size_t len)
{
	struct rpc_account a = { .exists = true, .owner = *program, .data_len = len };

	a.data = calloc(1, len > 0 ? len : 1);
	if (len >= 165) {
		memcpy(a.data, mint->b, 32);
		memcpy(a.data + 32, owner->b, 32);
		for (int i = 0; i < 8; i++)
			a.data[64 + i] = (uint8_t)(amount >> (8 * i));
		a.data[108] = state;
	}
	return a;
}

TEST(audit_token_account_reads_only_the_right_account)
{
	struct sol_pubkey mint, owner, other;
	uint64_t v = 1;
	struct rpc_account a, none = { 0 };

	memset(mint.b, 1, 32);
	memset(owner.b, 2, 32);
	memset(other.b, 3, 32);
	CHECK_INT(audit_token_account(&none, &mint, &owner, &pubkey_token_program, &v), AUDIT_ACCOUNT_MISSING);
	CHECK_U64(v, 0);
	a = account(&pubkey_token_program, &mint, &owner, 0x0102030405060708ull, 1, 165);
	CHECK_INT(audit_token_account(&a, &mint, &owner, &pubkey_token_program, &v), AUDIT_ACCOUNT_TOKEN);
	CHECK_U64(v, 0x0102030405060708ull);
	/* frozen still holds its balance */
	a.data[108] = 2;
	CHECK_INT(audit_token_account(&a, &mint, &owner, &pubkey_token_program, &v), AUDIT_ACCOUNT_TOKEN);
	/* uninitialized, another program, another mint, another owner, too short: not this wallet's tokens */
	a.data[108] = 0;
	CHECK_INT(audit_token_account(&a, &mint, &owner, &pubkey_token_program, &v), AUDIT_ACCOUNT_OTHER);
	CHECK_U64(v, 0);
	a.data[108] = 1;
	CHECK_INT(audit_token_account(&a, &mint, &owner, &pubkey_token2022_program, &v), AUDIT_ACCOUNT_OTHER);
	CHECK_INT(audit_token_account(&a, &other, &owner, &pubkey_token_program, &v), AUDIT_ACCOUNT_OTHER);
	CHECK_INT(audit_token_account(&a, &mint, &other, &pubkey_token_program, &v), AUDIT_ACCOUNT_OTHER);
	a.data_len = 100;
	CHECK_INT(audit_token_account(&a, &mint, &owner, &pubkey_token_program, &v), AUDIT_ACCOUNT_OTHER);
	free(a.data);
	/* Token-2022 accounts are longer (extensions after byte 165) */
	a = account(&pubkey_token2022_program, &mint, &owner, 7, 1, 170);
	CHECK_INT(audit_token_account(&a, &mint, &owner, &pubkey_token2022_program, &v), AUDIT_ACCOUNT_TOKEN);
	CHECK_U64(v, 7);
	free(a.data);
}

static struct audit_expect
expect(audit_amount settled, const char *pending)
{
	struct audit_expect x = { 0 };

	x.settled = settled;
	if (audit_expect_pending(&x, pending) < 0)
		t_fail(__FILE__, __LINE__, "audit_expect_pending(\"%s\") failed", pending);
	return x;
}

TEST(audit_judge_exact_with_transactions_in_flight)
{
	static const struct { audit_amount chain, settled; const char *pending; enum audit_verdict want; } tab[] = {
		{ 100, 100, "", AUDIT_AGREE },
		{ 101, 100, "", AUDIT_MISMATCH },          /* one base unit too many */
		{ 99, 100, "", AUDIT_MISMATCH },           /* one too few */
		{ 100, 100, "5 7", AUDIT_AGREE },          /* nothing in flight landed yet */
		{ 105, 100, "5 7", AUDIT_IN_FLIGHT },      /* the first landed */
		{ 107, 100, "5 7", AUDIT_IN_FLIGHT },
		{ 112, 100, "5 7", AUDIT_IN_FLIGHT },      /* both */
		{ 106, 100, "5 7", AUDIT_MISMATCH },       /* within the range, but no transaction lands partly */
		{ 113, 100, "5 7", AUDIT_MISMATCH },       /* more than all of them */
		{ 95, 100, "5 7", AUDIT_MISMATCH },        /* in flight never explains less */
		{ 0, -5, "", AUDIT_MISMATCH },             /* a negative adjustment makes the expectation negative */
		{ 3, -5, "8", AUDIT_IN_FLIGHT },
		{ 0, 0, "18446744073709551616", AUDIT_AGREE },
	};

	for (size_t i = 0; i < N(tab); i++) {
		struct audit_expect x = expect(tab[i].settled, tab[i].pending);
		enum audit_verdict v = audit_judge(tab[i].chain, &x);

		if (v != tab[i].want)
			t_fail(__FILE__, __LINE__, "row %zu: %s, want %s", i, audit_verdict_name(v), audit_verdict_name(tab[i].want));
	}
}

TEST(audit_judge_many_in_flight_falls_back_to_the_range)
{
	char list[20 * 4] = "";
	struct audit_expect x;

	for (int i = 0; i < 20; i++)
		strcat(list, i == 0 ? "10" : " 10");
	x = expect(0, list);
	CHECK_INT(x.npending, 20);
	CHECK(x.pending_total == 200);
	CHECK_INT(audit_judge(200, &x), AUDIT_IN_FLIGHT);
	CHECK_INT(audit_judge(5, &x), AUDIT_IN_FLIGHT); /* more than AUDIT_SUBSET_MAX: only the range is known */
	CHECK_INT(audit_judge(201, &x), AUDIT_MISMATCH);
	x = expect(0, "");
	CHECK_INT(audit_expect_pending(&x, "1  2"), -1);
	CHECK_INT(audit_expect_pending(&x, "-1"), -1);
	CHECK_INT(audit_expect_pending(&x, "x"), -1);
}
