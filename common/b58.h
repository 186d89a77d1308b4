/* b58.h: Base58 (Bitcoin alphabet) encoding and strict decoding, as Solana uses for keys and signatures. */
#ifndef GTX_B58_H
#define GTX_B58_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Largest input b58_encode accepts and largest output b58_decode produces (far above 64-byte signatures). */
#define B58_MAX_BYTES 256
/* Encoded lengths including the NUL: 32 bytes -> at most 44 chars, 64 bytes -> at most 88 chars. */
#define B58_PUBKEY_SZ 45
#define B58_SIG_SZ 89

enum b58_errcode {
	B58_E_EMPTY = 1,   /* empty input string */
	B58_E_CHAR,        /* a character outside the alphabet (0 O I l, spaces, ...) */
	B58_E_LENGTH,      /* decodes to more bytes than fit, or to the wrong exact length */
	B58_E_TOO_LONG,    /* input longer than this module handles */
};

/*
 * Encodes n bytes (n <= B58_MAX_BYTES) into out as a NUL-terminated string and returns its length
 * (without the NUL). Every leading 0x00 byte becomes a leading '1'. Returns 0 when out is too small
 * or n is too large (n == 0 encodes as "" and also returns 0).
 */
size_t b58_encode(const uint8_t *in, size_t n, char *out, size_t outsz);

/* Decodes slen chars of s into out (at most outsz bytes); *outlen receives the decoded length. */
int b58_decode(const char *s, size_t slen, uint8_t *out, size_t outsz, size_t *outlen, struct err *e) WUR;

/* Decodes s into exactly `want` bytes (32 for pubkeys/blockhashes, 64 for signatures); any other length fails. */
int b58_decode_exact(const char *s, size_t slen, uint8_t *out, size_t want, struct err *e) WUR;

#endif
