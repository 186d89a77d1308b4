/* uuid.h: random (v4) and time-ordered (v7, RFC 9562) UUIDs, and checks of their text form. */
#ifndef GTX_UUID_H
#define GTX_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UUID_STR_SZ 37 /* 36 characters + NUL */

/*
 * A random version-4 UUID in canonical lower-case text: libsodium's CSPRNG, drawn through a per-process pool,
 * so from one thread only (like uuid_v7); safe across fork().
 */
void uuid_v4(char out[UUID_STR_SZ]);
/*
 * Time-ordered version-7 UUIDs (RFC 9562 5.7): 48 bits of Unix milliseconds, the version nibble 7, a 12-bit
 * counter in rand_a (method 1 of RFC 9562 6.2: it starts at a random value below 2048 in each new millisecond
 * and counts up within it), the variant bits 10 and 62 random bits. Ids made one after another by one
 * generator compare strictly increasing, as text and as PostgreSQL's uuid: when the counter would overflow or
 * the clock steps back, the previous millisecond is carried forward (the timestamp runs a little ahead rather
 * than the order breaking). Keys that grow at the right edge of a B-tree keep its inserts on the last pages
 * (v4 ids spread them over the whole index). Not thread-safe: one generator state per thread of use.
 */
struct uuid7_gen {
	uint64_t last_ms;
	uint16_t counter;
};
/* The generator's next id at now_ms, with rnd[0..10) random bytes (the caller's CSPRNG). */
void uuid_v7_next(struct uuid7_gen *g, uint64_t now_ms, const uint8_t rnd[10], char out[UUID_STR_SZ]);
/* uuid_v7_next with the process's generator, the wall clock and libsodium's CSPRNG (safe across fork()). */
void uuid_v7(char out[UUID_STR_SZ]);
/* s[0..n) is 8-4-4-4-12 lower-case hex: the form PostgreSQL prints and our ids use. */
bool uuid_is_canonical(const char *s, size_t n);
/* The same with hex letters in either case (ids made by other systems, e.g. a JWT's sub). */
bool uuid_is_text(const char *s, size_t n);

#endif
