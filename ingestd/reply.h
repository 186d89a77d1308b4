/* reply.h: answering requests with JSON (the error shape, the view of a reading): the leaf under every handler. */
#ifndef INGESTD_REPLY_H
#define INGESTD_REPLY_H

#include "err.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "apierr.h"
#include "httpd.h"
#include "store.h"

/*
 * Each reply function answers req exactly once and hands it back to httpd (req is invalid afterwards).
 * Errors have one shape: {"error":{"code","message","field"?},"request_id"}.
 */

/* Sends body (consumed: freed here, also when it is NULL, which answers 503 out_of_memory). */
void reply_json(struct httpd_req *req, int status, const char *headers, cJSON *body);
/* Sends the text in body, then frees it (an incomplete text, body->oom, answers 503 out_of_memory). */
struct sbuf;
void reply_text(struct httpd_req *req, int status, const char *headers, struct sbuf *body);
/* The error answer of e; headers as for httpd_reply (NULL for none). */
void reply_fail(struct httpd_req *req, const struct apierr *e, const char *headers);
/* The same, built here. */
void reply_error(struct httpd_req *req, int status, const char *code, const char *field, const char *headers,
    const char *fmt, ...) PRINTF(6, 7);
/* 503 database_unavailable with Retry-After: retry_after. */
void reply_unavailable(struct httpd_req *req, int retry_after, const char *what);

/* httpd's own errors (408, 413, 431, ...) in the same shape (struct httpd_cbs.error_body). */
size_t reply_error_body(const struct httpd_req *req, int status, const char *code, const char *msg, char *buf,
    size_t bufsz);

/* The API view of a stored reading (the caller owns it). NULL on out of memory. */
cJSON *reply_reading_json(const struct store_row *row) WUR;
/* The same view appended to b as JSON text: what cJSON_PrintUnformatted(reply_reading_json(row)) gives. */
void reply_reading_text(struct sbuf *b, const struct store_row *row);
/* Adds an RFC 3339 UTC string of microseconds to o (null when the time is unknown). Borrowed from o. */
cJSON *reply_add_ts(cJSON *o, const char *name, int64_t us);

#endif
