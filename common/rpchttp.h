/* rpchttp.h: the HTTP side both RPC clients share: URL check and display, easy-handle options, request
 * text, response buffer, Retry-After, and the outcome of one exchange classified into rpc_error. */
#ifndef GTX_RPCHTTP_H
#define GTX_RPCHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "err.h"
#include "rpctypes.h"

#define RPCHTTP_RESPONSE_MAX (64u << 20) /* refuse absurd bodies: 100 accounts of 10 MiB would not fit either */
#define RPCHTTP_DISPLAY_SZ 160

/* scheme://host[:port] of an http(s) url into out (never the path, query or userinfo: an API key may be there). */
int rpchttp_display_url(const char *url, char out[RPCHTTP_DISPLAY_SZ], struct err *e) WUR;

/* One exchange's response: body (NUL-terminated, bounded) and the Retry-After of a 429. Owned by its exchange. */
struct rpchttp_buf {
	char *body;
	size_t len, cap;
	bool too_big;
	uint64_t retry_after_ms;
};
void rpchttp_buf_reset(struct rpchttp_buf *b);
void rpchttp_buf_free(struct rpchttp_buf *b);

/*
 * Sets the options every request uses on an easy handle: url, http(s) only, no signals, HTTP/1.1,
 * timeouts, keep-alive, no redirects, JSON headers (the list is caller-owned and must outlive the handle),
 * and the body/header callbacks writing into buf. Returns 0 or -1 (libcurl lacks an option).
 */
int rpchttp_easy_setup(CURL *h, const char *url, struct curl_slist *headers, long connect_timeout_ms,
    long timeout_ms, struct rpchttp_buf *buf, struct err *e) WUR;
/* The header list for JSON-RPC ("Content-Type: application/json", no "Expect: 100-continue"); NULL on OOM. */
struct curl_slist *rpchttp_headers(void) WUR;

/* {"jsonrpc":"2.0","id":id,"method":method,"params":params} as malloc'd text (cJSON_free); params consumed. */
char *rpchttp_request_text(const char *method, uint64_t id, cJSON *params) WUR;

/*
 * Classifies one finished exchange (curl result cc, HTTP status, buf) of the request with id `id` into x
 * and *e; on success *root owns the parsed response and *result points into it. display names the node.
 */
int rpchttp_outcome(const char *method, CURLcode cc, long status, const struct rpchttp_buf *buf, uint64_t id,
    const char *display, cJSON **root, const cJSON **result, struct rpc_error *x, struct err *e) WUR;

/* Parses a Retry-After value in seconds ("120"); 0 when absent or not a number of seconds (HTTP dates too). */
uint64_t rpchttp_retry_after_ms(const char *value, size_t len);

#endif
