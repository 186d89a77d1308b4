/* test_khash.c: the keyed hash of client-chosen table keys: stable per key, different across keys. */
#include "khash.h"
#include "t.h"

#include <sodium.h>
#include <stdio.h>

TEST(khash_depends_on_its_key)
{
	struct khash_key a, b;
	int same = 0, stable = 0;
	char s[32];

	if (!CHECK(sodium_init() >= 0))
		return;
	khash_key_new(&a);
	khash_key_new(&b);
	CHECK(sodium_memcmp(a.k, b.k, sizeof(a.k)) != 0);
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(s, sizeof(s), "MTR-%d", i);

		stable += khash(&a, s, (size_t)n) == khash(&a, s, (size_t)n);
		same += khash(&a, s, (size_t)n) == khash(&b, s, (size_t)n);
	}
	CHECK_INT(stable, 1000);
	/* with another key, where a serial lands cannot be told from where it landed before */
	CHECK(same <= 1);
}

TEST(khash_matches_siphash)
{
	/* SipHash-2-4 test vector: key 00..0f, empty message -> 0x726fdb47dd0e0e31 (little-endian bytes) */
	struct khash_key k;
	unsigned char out[crypto_shorthash_BYTES];

	for (int i = 0; i < 16; i++)
		k.k[i] = (unsigned char)i;
	crypto_shorthash(out, (const unsigned char *)"", 0, k.k);
	CHECK_U64(khash(&k, "", 0), (uint64_t)out[0] | (uint64_t)out[1] << 8 | (uint64_t)out[2] << 16 |
	    (uint64_t)out[3] << 24 | (uint64_t)out[4] << 32 | (uint64_t)out[5] << 40 | (uint64_t)out[6] << 48 |
	    (uint64_t)out[7] << 56);
	CHECK_U64(khash(&k, "", 0), 0x726fdb47dd0e0e31ULL);
}
