/* test_b58.c: base58 tables, strict decoding, and the program-id constants. */
#include "t.h"

#include "b58.h"
#include "pubkey.h"

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static const struct {
	const char *hex, *b58;
} enc_table[] = {
	{ "", "" },
	{ "00", "1" },
	{ "0000", "11" },
	{ "61", "2g" },
	{ "626262", "a3gV" },
	{ "636363", "aPEr" },
	{ "73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2" },
	{ "00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
	{ "516b6fcd0f", "ABnLTmg" },
	{ "bf4f89001e670274dd", "3SEo3LWLoPntC" },
	{ "572e4794", "3EFU7m" },
	{ "ecac89cad93923c02321", "EJDM8drfXA6uyA" },
	{ "10c8511e", "Rt5zm" },
	{ "00000000000000000000", "1111111111" },
	{ "000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
	  "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" },
	{ "0000000000000000000000000000000000000000000000000000000000000000", "11111111111111111111111111111111" },
	{ "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	  "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG" },
};

TEST(b58_encode_decode_table)
{
	for (size_t i = 0; i < sizeof(enc_table) / sizeof(enc_table[0]); i++) {
		uint8_t in[64], out[64];
		char s[128];
		size_t n = unhex(enc_table[i].hex, in), got = 99;
		struct err e;

		CHECK_INT(b58_encode(in, n, s, sizeof(s)), strlen(enc_table[i].b58));
		CHECK_STR(s, enc_table[i].b58);
		if (n == 0)
			continue;
		CHECK_INT(b58_decode(enc_table[i].b58, strlen(enc_table[i].b58), out, sizeof(out), &got, &e), 0);
		CHECK_INT(got, n);
		CHECK(memcmp(in, out, n) == 0);
	}
}

TEST(b58_encode_small_buffer)
{
	uint8_t z[32] = { 0 };
	char s[32];

	/* 32 '1's need 33 bytes with the NUL. */
	CHECK_INT(b58_encode(z, 32, s, sizeof(s)), 0);
	CHECK_INT(b58_encode(z, 32, s, 0), 0);
}

TEST(b58_decode_rejects)
{
	static const char *bad[] = { "0", "O", "I", "l", "abc0", "1O1", " 2g", "2g ", "+", "\xc3\xa9" };
	uint8_t out[64];
	size_t got;
	struct err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(b58_decode(bad[i], strlen(bad[i]), out, sizeof(out), &got, &e), -1);
		CHECK_INT(e.code, B58_E_CHAR);
	}
	CHECK_INT(b58_decode("", 0, out, sizeof(out), &got, &e), -1);
	CHECK_INT(e.code, B58_E_EMPTY);
	/* overflow: 4 bytes do not fit in 3 */
	CHECK_INT(b58_decode("3EFU7m", 6, out, 3, &got, &e), -1);
	CHECK_INT(e.code, B58_E_LENGTH);
	/* leading '1's count toward the length too */
	CHECK_INT(b58_decode("111", 3, out, 2, &got, &e), -1);
	CHECK_INT(b58_decode("111", 3, out, 3, &got, &e), 0);
	CHECK_INT(got, 3);
}

TEST(b58_decode_exact_lengths)
{
	uint8_t pk[32], sig[64];
	struct err e;
	/* 31 '1's = 31 zero bytes; 33 '1's = 33 zero bytes */
	const char *s31 = "1111111111111111111111111111111", *s33 = "111111111111111111111111111111111";
	const char *sig58 = "2PE823kgx3hpG4YSmgKFnfiF1CVpuxXCK35Jva7rv3ckHF62gfKQi3P2BtoXDAKRqbe949FzwLJoP4ZrJNytYCte";

	CHECK_INT(b58_decode_exact(s31, strlen(s31), pk, 32, &e), -1);
	CHECK_INT(e.code, B58_E_LENGTH);
	CHECK_INT(b58_decode_exact(s33, strlen(s33), pk, 32, &e), -1);
	CHECK_INT(b58_decode_exact(sig58, strlen(sig58), pk, 32, &e), -1);
	CHECK_INT(b58_decode_exact(sig58, strlen(sig58), sig, 64, &e), 0);
	CHECK_INT(b58_decode_exact("9C6hybhQ6Aycep9jaUnP6uL9ZYvDjUp1aSkFWPUFJtpj", 44, sig, 64, &e), -1);
}

TEST(b58_roundtrip_leading_zeros)
{
	/* Every split of 0..8 leading zeros followed by non-zero bytes survives a round trip. */
	for (size_t zeros = 0; zeros <= 8; zeros++) {
		for (size_t tail = 0; tail <= 40; tail += 5) {
			uint8_t in[64] = { 0 }, out[64];
			char s[128];
			size_t n = zeros + tail, got, len;
			struct err e;

			for (size_t i = zeros; i < n; i++)
				in[i] = (uint8_t)(i * 37 + 1 + (i == zeros)); /* first tail byte non-zero */
			len = b58_encode(in, n, s, sizeof(s));
			if (n == 0) {
				CHECK_INT(len, 0);
				continue;
			}
			CHECK(len >= zeros);
			for (size_t i = 0; i < zeros; i++)
				CHECK(s[i] == '1');
			CHECK(s[zeros] != '1' || tail == 0);
			CHECK_INT(b58_decode(s, len, out, sizeof(out), &got, &e), 0);
			CHECK_INT(got, n);
			CHECK(memcmp(in, out, n) == 0);
		}
	}
}

TEST(b58_roundtrip_every_length)
{
	/* The decoder works five digits at a time on 32-bit limbs: every length up to the module's maximum, with
	 * bytes that carry across limbs (0xff runs, single high bits), decodes back to what was encoded. */
	for (size_t n = 1; n <= B58_MAX_BYTES; n++) {
		for (int pattern = 0; pattern < 3; pattern++) {
			uint8_t in[B58_MAX_BYTES], out[B58_MAX_BYTES];
			char s[400];
			size_t got, len;
			struct err e;

			for (size_t i = 0; i < n; i++)
				in[i] = pattern == 0 ? 0xff : pattern == 1 ? (uint8_t)(i * 131 + 7) : (uint8_t)(i % 9 == 0 ? 0x80 : 0);
			len = b58_encode(in, n, s, sizeof(s));
			if (!CHECK(len > 0))
				return;
			if (!CHECK(b58_decode(s, len, out, sizeof(out), &got, &e) == 0) || !CHECK(got == n) ||
			    !CHECK(memcmp(in, out, n) == 0)) {
				t_fail(__FILE__, __LINE__, "length %zu pattern %d", n, pattern);
				return;
			}
		}
	}
}

TEST(pubkey_program_ids)
{
	static const struct {
		const struct sol_pubkey *pk;
		const char *b58;
	} ids[] = {
		{ &pubkey_system_program, "11111111111111111111111111111111" },
		{ &pubkey_token_program, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA" },
		{ &pubkey_token2022_program, "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb" },
		{ &pubkey_ata_program, "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL" },
		{ &pubkey_memo_program, "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr" },
		{ &pubkey_compute_budget_program, "ComputeBudget111111111111111111111111111111" },
		{ &pubkey_sysvar_recent_blockhashes, "SysvarRecentB1ockHashes11111111111111111111" },
		{ &pubkey_sysvar_rent, "SysvarRent111111111111111111111111111111111" },
		{ &pubkey_alt_program, "AddressLookupTab1e1111111111111111111111111" },
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char s[45];
		struct sol_pubkey pk;
		struct err e;

		pubkey_to_b58(ids[i].pk, s);
		CHECK_STR(s, ids[i].b58);
		CHECK_INT(pubkey_from_b58(ids[i].b58, &pk, &e), 0);
		CHECK(pubkey_eq(&pk, ids[i].pk));
	}
	CHECK(!pubkey_eq(&pubkey_token_program, &pubkey_token2022_program));
}
