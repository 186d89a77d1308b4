/* b58dec.h: private base58 encode/decode until common/b58 lands on main (then this file goes away). */
#ifndef INGESTD_B58DEC_H
#define INGESTD_B58DEC_H

#include <stddef.h>
#include <stdint.h>

/* Decodes s[0..slen) into exactly `want` bytes (<= 64); -1 on a bad character or any other length. */
int b58x_decode_exact(const char *s, size_t slen, uint8_t *out, size_t want);
/* Encodes n (<= 64) bytes; out needs 2n+1 bytes; returns the length. */
size_t b58x_encode(const uint8_t *in, size_t n, char *out, size_t outsz);

#endif
