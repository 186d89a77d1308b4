/* wsframe.h: RFC 6455 pieces without I/O: frame header parsing, frame building, UTF-8 check, accept key. */
#ifndef GTX_WSFRAME_H
#define GTX_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum ws_opcode { WS_OP_CONT = 0, WS_OP_TEXT = 1, WS_OP_BINARY = 2, WS_OP_CLOSE = 8, WS_OP_PING = 9, WS_OP_PONG = 10 };

/* Close codes this server sends (RFC 6455 section 7.4 plus the private 4000 range). */
enum ws_close {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,   /* server shutdown, ping timeout */
	WS_CLOSE_PROTOCOL = 1002,     /* bad framing, unmasked frame, bad opcode, bad close payload */
	WS_CLOSE_UNSUPPORTED = 1003,  /* binary messages */
	WS_CLOSE_INVALID_DATA = 1007, /* text that is not UTF-8 */
	WS_CLOSE_POLICY = 1008,       /* client message rate limit */
	WS_CLOSE_TOO_BIG = 1009,      /* message over WEBSOCKET_MAX_MESSAGE_BYTES */
	WS_CLOSE_INTERNAL = 1011,     /* out of memory */
	WS_CLOSE_SLOW_CONSUMER = 4000, /* more than WEBSOCKET_EVENT_BUFFER_SIZE events waiting */
	WS_CLOSE_TOKEN_EXPIRED = 4001, /* the JWT the connection was opened with reached its exp */
	WS_CLOSE_REVOKED = 4003        /* after a reload, the token no longer verifies (secret, aud, iss, admin tokens) */
};

struct ws_frame {
	bool fin;
	enum ws_opcode op;
	bool masked;
	unsigned char mask[4];
	uint64_t len;   /* payload length */
	size_t hdr_len; /* bytes of header before the payload */
};

/*
 * Parses a client frame header from the first n bytes of buf. Returns 1 with
 * *f filled, 0 when more bytes are needed, or -1 with *close_code set
 * (1002 for protocol violations, 1009 when len > max_payload). Client frames
 * must be masked; control frames must be final and at most 125 bytes.
 */
int wsf_parse_header(const unsigned char *buf, size_t n, uint64_t max_payload, struct ws_frame *f,
    int *close_code) WUR;

/* XORs the payload with the mask; `offset` is the position of p[0] within the payload. */
void wsf_unmask(unsigned char *p, size_t n, const unsigned char mask[4], uint64_t offset);

/* Writes an unmasked server frame header for a final frame of `len` bytes; returns its size (2..10). */
size_t wsf_header(unsigned char out[10], enum ws_opcode op, uint64_t len);


/*
 * Validates a close frame payload from a client: empty, or a 2-byte code
 * sendable on the wire plus UTF-8 reason. Sets *code (1005 when empty).
 */
bool wsf_close_payload_valid(const unsigned char *p, size_t n, int *code);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (must decode to 16 bytes). out gets 28 chars + NUL. */
int wsf_accept_key(const char *key, char out[29], struct err *e) WUR;

#endif
