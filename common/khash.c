/* khash.c: keyed hashing of client-chosen table keys with libsodium's crypto_shorthash (SipHash-2-4). */
#include "khash.h"

#include <sodium.h>
#include <string.h>

_Static_assert(sizeof(((struct khash_key *)0)->k) == crypto_shorthash_KEYBYTES, "SipHash key size");

void
khash_key_new(struct khash_key *key)
{
	crypto_shorthash_keygen(key->k);
}

uint64_t
khash(const struct khash_key *key, const void *p, size_t n)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, p, n, key->k);
	memcpy(&h, out, sizeof(h));
	return h;
}
