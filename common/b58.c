/* b58.c: Base58 (Bitcoin alphabet) encoding and strict decoding, as Solana uses for keys and signatures. */
#include "b58.h"

#include <string.h>

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Longest string b58_decode looks at: B58_MAX_BYTES zero bytes encode as that many '1's; other bytes need
 * at most log(256)/log(58) ~ 1.37 chars each. */
#define B58_MAX_CHARS (B58_MAX_BYTES * 138 / 100 + 1)

/* Each byte's digit plus one: 0 for bytes outside the alphabet (NUL included). */
static const uint8_t digit1[256] = {
	['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9,
	['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15, ['G'] = 16, ['H'] = 17,
	['J'] = 18, ['K'] = 19, ['L'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24, ['R'] = 25,
	['S'] = 26, ['T'] = 27, ['U'] = 28, ['V'] = 29, ['W'] = 30, ['X'] = 31, ['Y'] = 32, ['Z'] = 33,
	['a'] = 34, ['b'] = 35, ['c'] = 36, ['d'] = 37, ['e'] = 38, ['f'] = 39, ['g'] = 40, ['h'] = 41,
	['i'] = 42, ['j'] = 43, ['k'] = 44, ['m'] = 45, ['n'] = 46, ['o'] = 47, ['p'] = 48, ['q'] = 49,
	['r'] = 50, ['s'] = 51, ['t'] = 52, ['u'] = 53, ['v'] = 54, ['w'] = 55, ['x'] = 56, ['y'] = 57,
	['z'] = 58
};

static int
digit(unsigned char c)
{
	return (int)digit1[c] - 1;
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
	/* The value as 32-bit limbs, least significant first; five digits at a time (58^5 < 2^32). */
	uint32_t limb[(B58_MAX_CHARS * 733 / 1000 + 1) / 4 + 2];
	size_t zeros = 0, nl = 0, nbytes, len;

	if (slen == 0)
		return err_set(e, B58_E_EMPTY, "base58: empty string");
	if (slen > B58_MAX_CHARS)
		return err_set(e, B58_E_TOO_LONG, "base58: string of %zu chars is too long", slen);
	for (size_t i = 0; i < slen; i++)
		if (digit((unsigned char)s[i]) < 0)
			return err_set(e, B58_E_CHAR, "base58: invalid character at offset %zu", i);
	while (zeros < slen && s[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < slen;) {
		uint64_t mul = 1, carry = 0;

		for (int k = 0; k < 5 && i < slen; k++, i++) {
			mul *= 58;
			carry = carry * 58 + (uint64_t)digit((unsigned char)s[i]);
		}
		for (size_t j = 0; j < nl; j++) {
			carry += (uint64_t)limb[j] * mul;
			limb[j] = (uint32_t)carry;
			carry >>= 32;
		}
		if (carry != 0)
			limb[nl++] = (uint32_t)carry; /* < 2^32: limb * 58^5 + carry fits in 64 bits */
	}
	/* Significant bytes, big-endian. */
	nbytes = nl * 4;
	while (nbytes > 0 && ((limb[(nbytes - 1) / 4] >> (8 * ((nbytes - 1) % 4))) & 0xff) == 0)
		nbytes--;
	len = zeros + nbytes;
	if (len > outsz)
		return err_set(e, B58_E_LENGTH, "base58: decodes to %zu bytes, room for %zu", len, outsz);
	memset(out, 0, zeros);
	for (size_t b = 0; b < nbytes; b++)
		out[len - 1 - b] = (uint8_t)(limb[b / 4] >> (8 * (b % 4)));
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
