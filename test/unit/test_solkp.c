/* test_solkp.c: Solana keypair files: parsing, pubkey re-derivation, file modes, signing. */
#include "t.h"

#include "keypair.h"

#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The solana-keygen text for seed 01..20 (pubkey 9C6hyb...). */
static void
seed_text(char *buf, size_t sz, const char *sep, int n, int poke_index, int poke_value)
{
	uint8_t seed[32], pk[32], sk[64];
	size_t len = 0;

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(i + 1);
	crypto_sign_seed_keypair(pk, sk, seed);
	len += (size_t)snprintf(buf + len, sz - len, "[");
	for (int i = 0; i < n; i++) {
		int v = i < 64 ? sk[i] : 7;

		if (i == poke_index)
			v = poke_value;
		len += (size_t)snprintf(buf + len, sz - len, "%s%d", i ? sep : "", v);
	}
	snprintf(buf + len, sz - len, "]");
}

TEST(kp_parse_good)
{
	char buf[1024];
	struct kp *k;
	struct err e;
	char b58[45];

	seed_text(buf, sizeof(buf), ",", 64, -1, 0);
	k = kp_parse(buf, strlen(buf), &e);
	CHECK(k != NULL);
	if (k == NULL)
		return;
	pubkey_to_b58(kp_pubkey(k), b58);
	CHECK_STR(b58, "9C6hybhQ6Aycep9jaUnP6uL9ZYvDjUp1aSkFWPUFJtpj");
	kp_free(k);
	/* whitespace around elements and the whole text is accepted */
	seed_text(buf + 2, sizeof(buf) - 2, " ,\n\t", 64, -1, 0);
	buf[0] = '\n';
	buf[1] = ' ';
	strcat(buf, " \n");
	k = kp_parse(buf, strlen(buf), &e);
	CHECK(k != NULL);
	kp_free(k);
	kp_free(NULL);
}

TEST(kp_parse_rejects)
{
	static const char *garbage[] = { "", "[]", "[ ]", "not json", "{\"a\":1}", "[1,2", "1,2]", "[,]",
		"[1,,2]", "[-1]", "[1.5]", "[0x10]", "[\"1\"]" };
	char buf[1024];
	struct err e;

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		CHECK(kp_parse(garbage[i], strlen(garbage[i]), &e) == NULL);
		CHECK_INT(e.code, KP_E_FORMAT);
	}
	seed_text(buf, sizeof(buf), ",", 63, -1, 0);
	CHECK(kp_parse(buf, strlen(buf), &e) == NULL);
	CHECK_INT(e.code, KP_E_FORMAT);
	seed_text(buf, sizeof(buf), ",", 65, -1, 0);
	CHECK(kp_parse(buf, strlen(buf), &e) == NULL);
	CHECK_INT(e.code, KP_E_FORMAT);
	seed_text(buf, sizeof(buf), ",", 64, 10, 256);
	CHECK(kp_parse(buf, strlen(buf), &e) == NULL);
	CHECK_INT(e.code, KP_E_FORMAT);
	/* the offending value is not echoed (it could be key material) */
	seed_text(buf, sizeof(buf), ",", 64, 3, 999);
	CHECK(kp_parse(buf, strlen(buf), &e) == NULL);
	CHECK(strstr(e.msg, "999") == NULL);
	/* a flipped public-key byte no longer matches the seed */
	seed_text(buf, sizeof(buf), ",", 64, 40, 0);
	CHECK(kp_parse(buf, strlen(buf), &e) == NULL);
	CHECK_INT(e.code, KP_E_MISMATCH);
}

TEST(kp_files_and_modes)
{
	char dir[] = "/tmp/gtx-kp-XXXXXX", path[64], path2[64];
	uint8_t seed[32], sig[64], msg[3] = { 1, 2, 3 };
	struct kp *k, *k2;
	struct err e;

	if (!CHECK(mkdtemp(dir) != NULL))
		return;
	snprintf(path, sizeof(path), "%s/id.json", dir);
	snprintf(path2, sizeof(path2), "%s/none.json", dir);
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0x41 + i);
	k = kp_from_seed(seed);
	CHECK_INT(kp_write_file(path, k, &e), 0);
	CHECK_INT(kp_write_file(path, k, &e), -1); /* never overwrites */
	CHECK_INT(e.code, KP_E_IO);
	CHECK_INT(kp_check_file_mode(path, &e), 0);
	k2 = kp_load_file(path, &e);
	CHECK(k2 != NULL);
	if (k2 != NULL) {
		CHECK(pubkey_eq(kp_pubkey(k), kp_pubkey(k2)));
		CHECK_INT(kp_sign(k2, msg, sizeof(msg), sig), 0);
		CHECK_INT(crypto_sign_verify_detached(sig, msg, sizeof(msg), kp_pubkey(k)->b), 0);
	}
	kp_free(k2);
	chmod(path, 0640);
	CHECK_INT(kp_check_file_mode(path, &e), -1);
	CHECK_INT(e.code, KP_E_MODE);
	chmod(path, 0604);
	CHECK_INT(kp_check_file_mode(path, &e), -1);
	chmod(path, 0400);
	CHECK_INT(kp_check_file_mode(path, &e), 0);
	CHECK_INT(kp_check_file_mode(dir, &e), -1);
	CHECK_INT(e.code, KP_E_MODE);
	CHECK_INT(kp_check_file_mode(path2, &e), -1);
	CHECK_INT(e.code, KP_E_IO);
	CHECK(kp_load_file(path2, &e) == NULL);
	CHECK_INT(e.code, KP_E_IO);
	kp_free(k);
	unlink(path);
	rmdir(dir);
}

TEST(kp_generate_distinct)
{
	struct kp *a = kp_generate(), *b = kp_generate();
	uint8_t sig[64];

	CHECK(a != NULL && b != NULL);
	if (a != NULL && b != NULL) {
		CHECK(!pubkey_eq(kp_pubkey(a), kp_pubkey(b)));
		CHECK_INT(kp_sign(a, (const uint8_t *)"x", 1, sig), 0);
		CHECK_INT(crypto_sign_verify_detached(sig, (const uint8_t *)"x", 1, kp_pubkey(a)->b), 0);
		CHECK(crypto_sign_verify_detached(sig, (const uint8_t *)"x", 1, kp_pubkey(b)->b) != 0);
	}
	kp_free(a);
	kp_free(b);
}
