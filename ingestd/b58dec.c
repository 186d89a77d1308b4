/* b58dec.c: base58 (Bitcoin alphabet) for keys and signatures; replaced by common/b58 once it is merged. */
#include "b58dec.h"

#include <string.h>

static const char ALPHA[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int
b58x_decode_exact(const char *s, size_t slen, uint8_t *out, size_t want)
{
	uint8_t buf[128];
	size_t zeros = 0, len = 0;

	if (slen == 0 || slen > 2 * want + 2 || want > 64)
		return -1;
	memset(buf, 0, sizeof(buf));
	while (zeros < slen && s[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < slen; i++) {
		const char *p = memchr(ALPHA, s[i], sizeof(ALPHA) - 1);
		unsigned carry;

		if (s[i] == '\0' || p == NULL)
			return -1;
		carry = (unsigned)(p - ALPHA);
		for (size_t k = 0; k < len || carry; k++) {
			if (k >= sizeof(buf))
				return -1;
			carry += (unsigned)buf[k] * 58;
			buf[k] = (uint8_t)carry;
			carry >>= 8;
			if (k >= len)
				len = k + 1;
		}
	}
	if (zeros + len != want)
		return -1;
	memset(out, 0, zeros);
	for (size_t k = 0; k < len; k++)
		out[zeros + k] = buf[len - 1 - k];
	return 0;
}

size_t
b58x_encode(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	uint8_t digits[160];
	size_t zeros = 0, len = 0, o = 0;

	if (n > 64)
		return 0;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];

		for (size_t k = 0; k < len || carry; k++) {
			if (k < len)
				carry += (unsigned)digits[k] << 8;
			digits[k] = (uint8_t)(carry % 58);
			carry /= 58;
			if (k >= len)
				len = k + 1;
		}
	}
	if (zeros + len + 1 > outsz)
		return 0;
	for (size_t i = 0; i < zeros; i++)
		out[o++] = '1';
	for (size_t k = 0; k < len; k++)
		out[o++] = ALPHA[digits[len - 1 - k]];
	out[o] = '\0';
	return o;
}
