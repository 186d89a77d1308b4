/* utf8.h: strict UTF-8 (RFC 3629): the one validator of the JSON parser, WebSocket text and memos. */
#ifndef GTX_UTF8_H
#define GTX_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (1-4) of the valid UTF-8 sequence at s[0..avail), or 0: a stray continuation byte, an overlong
 * form, a UTF-16 surrogate, a code point above U+10FFFF or a truncated sequence (as Rust's
 * str::from_utf8 and RFC 6455 require). A NUL byte is a valid sequence; callers that refuse it say so.
 */
size_t utf8_seq_len(const uint8_t *s, size_t avail);
/* True when s[0..n) is entirely valid UTF-8. */
bool utf8_valid(const uint8_t *s, size_t n);
/* Encodes code point cp (<= U+10FFFF, not a surrogate) into out[0..4); returns its length. */
size_t utf8_put(uint8_t *out, uint32_t cp);

#endif
