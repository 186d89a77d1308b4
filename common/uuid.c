/* uuid.c: random (v4) and time-ordered (v7) UUIDs, and checks of their text form. */
#include "uuid.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/*
 * Random bytes for ids, drawn from libsodium 240 at a time: its CSPRNG makes one getrandom() system call per
 * draw, which was one per accepted reading (strace on the bench). A forked child must not hand out the bytes
 * its parent will hand out too (two processes would make the same ids in the same millisecond): the child
 * forgets the pool (pthread_atfork), and without that hook every draw goes to libsodium. Taken bytes are wiped.
 */
static struct {
	uint8_t b[240];
	size_t pos;
	int hooked; /* 0 not yet, 1 the fork hook is in place, -1 it could not be */
} pool = { .pos = sizeof(pool.b) };

static void
pool_forget(void)
{
	sodium_memzero(pool.b, sizeof(pool.b));
	pool.pos = sizeof(pool.b);
}

static void
random_bytes(uint8_t *out, size_t n)
{
	if (pool.hooked == 0)
		pool.hooked = pthread_atfork(NULL, NULL, pool_forget) == 0 ? 1 : -1;
	if (pool.hooked < 0 || n > sizeof(pool.b)) {
		randombytes_buf(out, n);
		return;
	}
	if (n > sizeof(pool.b) - pool.pos) {
		randombytes_buf(pool.b, sizeof(pool.b));
		pool.pos = 0;
	}
	memcpy(out, pool.b + pool.pos, n);
	sodium_memzero(pool.b + pool.pos, n);
	pool.pos += n;
}

static void
format(const uint8_t b[16], char out[UUID_STR_SZ])
{
	static const char hex[] = "0123456789abcdef";
	int o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

void
uuid_v4(char out[UUID_STR_SZ])
{
	uint8_t b[16];

	random_bytes(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	format(b, out);
}

void
uuid_v7_next(struct uuid7_gen *g, uint64_t now_ms, const uint8_t rnd[10], char out[UUID_STR_SZ])
{
	uint8_t b[16];
	uint64_t ms;

	if (now_ms > g->last_ms) {
		ms = now_ms;
		g->counter = (uint16_t)(((rnd[0] << 8) | rnd[1]) & 0x7ff); /* below 2048: room to count up */
	} else if (g->counter < 0xfff) {
		ms = g->last_ms; /* the same millisecond, or the clock stepped back */
		g->counter++;
	} else {
		ms = g->last_ms + 1; /* 4096 ids in one millisecond: borrow the next one */
		g->counter = 0;
	}
	g->last_ms = ms;
	ms &= 0xffffffffffffULL;
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (8 * (5 - i)));
	b[6] = (uint8_t)(0x70 | (g->counter >> 8)); /* version 7, counter high nibble */
	b[7] = (uint8_t)g->counter;
	b[8] = (uint8_t)(0x80 | (rnd[2] & 0x3f));   /* RFC 9562 variant 10 */
	for (int i = 9; i < 16; i++)
		b[i] = rnd[i - 6];
	format(b, out);
}

void
uuid_v7(char out[UUID_STR_SZ])
{
	static struct uuid7_gen g;
	struct timespec t;
	uint8_t rnd[10];

	clock_gettime(CLOCK_REALTIME, &t);
	random_bytes(rnd, sizeof(rnd));
	uuid_v7_next(&g, (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000, rnd, out);
}

static bool
text_ok(const char *s, size_t n, bool upper_ok)
{
	if (n != UUID_STR_SZ - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (upper_ok && c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return true;
}

bool
uuid_is_canonical(const char *s, size_t n)
{
	return text_ok(s, n, false);
}

bool
uuid_is_text(const char *s, size_t n)
{
	return text_ok(s, n, true);
}
