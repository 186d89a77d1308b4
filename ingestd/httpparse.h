/* httpparse.h: parsing of HTTP/1.x request heads and chunk-size lines, without I/O. */
#ifndef INGESTD_HTTPPARSE_H
#define INGESTD_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"

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
 * Returns 0, or an HTTP status for the error answer with *code and *why set.
 */
int httpp_head(struct httpd_req *r, const char *s, size_t n, struct http_head *h, const char **code,
    const char **why) WUR;

/* A chunk-size line "HEX[;extensions]" (without its CRLF) into *size; false when malformed. */
bool httpp_chunk_size(const char *s, size_t n, uint64_t *size) WUR;

#endif
