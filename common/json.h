/* json.h: the one strict JSON parser (RFC 8259): cJSON trees whose numbers keep their exact text. */
#ifndef GTX_JSON_H
#define GTX_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "err.h"

#define JSON_MAX_KEYS 256 /* members of one object (duplicate detection is quadratic) */

/* struct err codes of json_parse */
enum json_errcode {
	JSON_E_SYNTAX = 1, /* not JSON */
	JSON_E_TRAILING,   /* a value followed by more than whitespace */
	JSON_E_DUPKEY,     /* an object with the same member name twice */
	JSON_E_DEPTH,      /* nested deeper than max_depth */
	JSON_E_UTF8,       /* invalid UTF-8, a lone surrogate or a NUL inside a string */
	JSON_E_TOOBIG,     /* an object with more than JSON_MAX_KEYS members */
	JSON_E_NOMEM,
};

/*
 * Parses exactly one JSON value filling buf[0..len) (surrounding whitespace allowed; buf need not be
 * NUL-terminated). Unlike cJSON_Parse it rejects duplicate member names, trailing bytes and nesting
 * deeper than max_depth, validates UTF-8 (utf8.h) and keeps the text of each number: a number node's
 * valuestring holds its literal ("10.50", "1e3", "18446744073709551615") next to valuedouble, so callers
 * read amounts exactly (ingestd's request bodies, the RPC client's answers: rpcjson.h). Returns a tree the
 * caller frees with cJSON_Delete, or NULL with e (code: enum json_errcode; msg: "byte N: what").
 */
cJSON *json_parse(const char *buf, size_t len, int max_depth, struct err *e) WUR;

/* The member `name` of object o, or NULL (names are unique after json_parse). Borrowed from o. */
const cJSON *json_get(const cJSON *o, const char *name);

#endif
