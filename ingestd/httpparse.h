/* httpparse.h: HTTP/1.x without I/O: request lines, header fields, tokens, query parameters, status texts. */
#ifndef INGESTD_HTTPPARSE_H
#define INGESTD_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apierr.h"
#include "httpreq.h"

/*
 * The one parser of request heads: httpd's (httpp_head) and ingestd-ws's upgrade (ws/handshake.c) are
 * both built from the pieces below. Nothing here allocates except httpp_head (into the request, which
 * httpd frees); pointers returned point into the caller's text.
 */

/* "METHOD SP TARGET SP HTTP/1.x" (RFC 9112 3): the pieces, pointing into the line. */
struct httpp_line {
	const char *method, *target;
	size_t method_len, target_len;
	bool http10;
};
/* Parses line[0..n) (without its CRLF): -1 with e (400, or 505 for another version). */
int httpp_request_line(const char *line, size_t n, struct httpp_line *rl, struct apierr *e) WUR;

/* One header field: the name and the value without surrounding blanks, pointing into the head. */
struct httpp_field {
	const char *name, *value;
	size_t name_len, value_len;
};
/*
 * The next field of the head s[0..n) at or after *pos (the byte after the request line's CRLF at first):
 * 1 with *f filled and *pos moved on, 0 at the end, -1 with e for a malformed line (400: no colon, a
 * name that is not a token, obs-fold, a control character in the value).
 */
int httpp_next_field(const char *s, size_t n, size_t *pos, struct httpp_field *f, struct apierr *e) WUR;
/* True when f's name is `name` (case-insensitive). */
bool httpp_field_is(const struct httpp_field *f, const char *name);
/* True when the comma-separated value v[0..n) holds the token tok (case-insensitive). */
bool httpp_has_token(const char *v, size_t n, const char *tok);

/*
 * The percent-decoded value ('+' is a space) of query parameter `name` into out (NUL-terminated): 1 when
 * present, 0 when absent, -1 when it does not fit in cap bytes or decodes to a NUL.
 */
int httpp_query_param(const char *query, const char *name, char *out, size_t cap) WUR;

/* The reason phrase of a status ("Unknown" for one we never send). */
const char *httpp_status_text(int status);

/* What the head asks of the connection. */
struct http_head {
	bool keepalive; /* by version and Connection */
	bool expect100; /* Expect: 100-continue (HTTP/1.1) */
};

/*
 * Parses the head s[0..n) (without the final CRLF CRLF) into r: method, path
 * and query (allocated), Content-Type and Authorization (allocated), framing
 * (Content-Length or chunked). Exactly one Host in HTTP/1.1; only "chunked"
 * as a transfer coding, never together with Content-Length or in HTTP/1.0.
 * Returns 0, or -1 with e the error answer.
 */
int httpp_head(struct httpd_req *r, const char *s, size_t n, struct http_head *h, struct apierr *e) WUR;

/* A chunk-size line "HEX[;extensions]" (without its CRLF) into *size; false when malformed. */
bool httpp_chunk_size(const char *s, size_t n, uint64_t *size) WUR;

#endif
