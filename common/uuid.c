/* uuid.c: random (v4) UUIDs and checks of their text form. */
#include "uuid.h"

#include <sodium.h>
#include <stdint.h>

void
uuid_v4(char out[UUID_STR_SZ])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	int o = 0;

	randombytes_buf(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
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
