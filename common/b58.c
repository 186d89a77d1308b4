/* b58.c: Base58 (Bitcoin alphabet) encoding and strict decoding, as Solana uses for keys and signatures. */
#include "b58.h"

#include <string.h>

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Longest string b58_decode looks at: B58_MAX_BYTES zero bytes encode as that many '1's; other bytes need
 * at most log(256)/log(58) ~ 1.37 chars each. */
#define B58_MAX_CHARS (B58_MAX_BYTES * 138 / 100 + 1)

static int
digit(unsigned char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(alphabet, c);
	return p ? (int)(p - alphabet) : -1;
}

size_t
b58_encode(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	uint8_t buf[B58_MAX_CHARS];
	size_t zeros = 0, size, length = 0, it, len;

	if (n > B58_MAX_BYTES || outsz == 0)
		return 0;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	size = (n - zeros) * 138 / 100 + 1;
	memset(buf, 0, size);
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];
		size_t k = 0;

		/* buf holds the base-58 digits big-endian; multiply by 256 and add the next byte. */
		for (size_t j = size; (carry != 0 || k < length) && j > 0; j--, k++) {
			carry += 256u * buf[j - 1];
			buf[j - 1] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		length = k;
	}
	it = size - length;
	while (it < size && buf[it] == 0)
		it++;
	len = zeros + (size - it);
	if (len + 1 > outsz) {
		out[0] = '\0';
		return 0;
	}
	memset(out, '1', zeros);
	for (size_t i = zeros; it < size; i++, it++)
		out[i] = alphabet[buf[it]];
	out[len] = '\0';
	return len;
}

int
b58_decode(const char *s, size_t slen, uint8_t *out, size_t outsz, size_t *outlen, struct err *e)
{
	uint8_t buf[B58_MAX_CHARS];
	size_t zeros = 0, size, length = 0, it, len;

	if (slen == 0)
		return err_set(e, B58_E_EMPTY, "base58: empty string");
	if (slen > B58_MAX_CHARS)
		return err_set(e, B58_E_TOO_LONG, "base58: string of %zu chars is too long", slen);
	while (zeros < slen && s[zeros] == '1')
		zeros++;
	size = (slen - zeros) * 733 / 1000 + 1;
	memset(buf, 0, size);
	for (size_t i = zeros; i < slen; i++) {
		int d = digit((unsigned char)s[i]);
		unsigned carry;
		size_t k = 0;

		if (d < 0)
			return err_set(e, B58_E_CHAR, "base58: invalid character at offset %zu", i);
		carry = (unsigned)d;
		for (size_t j = size; (carry != 0 || k < length) && j > 0; j--, k++) {
			carry += 58u * buf[j - 1];
			buf[j - 1] = (uint8_t)(carry & 0xff);
			carry >>= 8;
		}
		length = k;
	}
	it = size - length;
	while (it < size && buf[it] == 0)
		it++;
	len = zeros + (size - it);
	if (len > outsz)
		return err_set(e, B58_E_LENGTH, "base58: decodes to %zu bytes, room for %zu", len, outsz);
	memset(out, 0, zeros);
	memcpy(out + zeros, buf + it, size - it);
	*outlen = len;
	return 0;
}

int
b58_decode_exact(const char *s, size_t slen, uint8_t *out, size_t want, struct err *e)
{
	uint8_t tmp[B58_MAX_BYTES];
	size_t got;

	if (want > sizeof(tmp))
		return err_set(e, B58_E_LENGTH, "base58: %zu bytes wanted is too many", want);
	if (b58_decode(s, slen, tmp, sizeof(tmp), &got, e) != 0)
		return -1;
	if (got != want)
		return err_set(e, B58_E_LENGTH, "base58: decodes to %zu bytes, want %zu", got, want);
	memcpy(out, tmp, want);
	return 0;
}
