/* body.h: a request's JSON body: its Content-Type, strict parsing, the members an object may have. */
#ifndef INGESTD_BODY_H
#define INGESTD_BODY_H

#include <cjson/cJSON.h>

#include "apierr.h"
#include "httpreq.h"

#define BODY_MAX_DEPTH 16 /* request bodies nest little; deeper is refused before it costs */

/*
 * Checks Content-Type (application/json, parameters allowed) and parses the body with json_parse
 * (json.h): *out is a tree the caller frees. -1 with e: 415 unsupported_media_type, 400 invalid_json,
 * duplicate_key or trailing_garbage (with the byte), 503 out_of_memory.
 */
int body_json(const struct httpd_req *req, cJSON **out, struct apierr *e) WUR;

/* o is an object whose members are all among known (NULL-terminated): else -1 with e (400). */
int body_known_members(const cJSON *o, const char *const *known, struct apierr *e) WUR;

#endif
