/* khash.h: a keyed hash (SipHash-2-4 via libsodium) for tables whose keys come from clients. */
#ifndef GTX_KHASH_H
#define GTX_KHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * A table keyed by untrusted input (meter serials, client addresses) must not
 * let a client choose keys that collide: each table draws a random key once
 * (khash_key_new) and hashes with it, so collisions cannot be computed offline.
 * sodium_init() must have run.
 */
struct khash_key {
	unsigned char k[16];
};

void khash_key_new(struct khash_key *key);
uint64_t khash(const struct khash_key *key, const void *p, size_t n);

#endif
