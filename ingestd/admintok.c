/* admintok.c: admin bearer tokens checked by their SHA-256 digests, in constant time. */
#include "admintok.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

int
admintok_parse(const char *s, struct admintok *t)
{
	memset(t, 0, sizeof(*t));
	while (*s) {
		size_t len, got;

		s += strspn(s, " ,");
		if (*s == '\0')
			break;
		len = strcspn(s, " ,");
		if (len != 64 || t->n >= ADMINTOK_MAX ||
		    sodium_hex2bin(t->sha[t->n], 32, s, len, NULL, &got, NULL) != 0 || got != 32) {
			memset(t, 0, sizeof(*t));
			return -1;
		}
		t->n++;
		s += len;
	}
	return 0;
}

bool
admintok_ok(const struct admintok *t, const char *token, size_t len)
{
	uint8_t digest[crypto_hash_sha256_BYTES];
	bool ok = false;

	crypto_hash_sha256(digest, (const unsigned char *)token, len);
	for (size_t i = 0; i < t->n; i++)
		ok |= sodium_memcmp(digest, t->sha[i], sizeof(digest)) == 0;
	sodium_memzero(digest, sizeof(digest));
	return ok;
}

bool
admintok_bearer_ok(const struct admintok *t, const char *h)
{
	return h != NULL && strncasecmp(h, "Bearer ", 7) == 0 && h[7] != '\0' && admintok_ok(t, h + 7, strlen(h + 7));
}
