/* jparse.h: a strict RFC 8259 JSON parser that builds cJSON trees and keeps the exact text of numbers. */
#ifndef INGESTD_JPARSE_H
#define INGESTD_JPARSE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define JP_MAX_DEPTH 16
#define JP_MAX_KEYS 256 /* members of one object (duplicate detection is quadratic) */

enum jp_errcode {
	JP_ESYNTAX = 1, /* not JSON */
	JP_ETRAILING,   /* a value followed by more than whitespace */
	JP_EDUPKEY,     /* an object with the same member name twice */
	JP_EDEPTH,      /* nested deeper than JP_MAX_DEPTH */
	JP_EUTF8,       /* invalid UTF-8, a lone surrogate or a NUL inside a string */
	JP_ETOOBIG,     /* an object with more than JP_MAX_KEYS members */
	JP_ENOMEM,
};

struct jp_err {
	int code;
	size_t offset; /* byte offset of the problem */
	const char *msg;
};

/*
 * Parses exactly one JSON value filling buf[0..len) (surrounding whitespace
 * allowed). Unlike cJSON_Parse it rejects duplicate member names and trailing
 * bytes, validates UTF-8 and keeps the text of each number: a number node's
 * valuestring holds its literal ("10.50", "1e3") next to valuedouble, so
 * callers can parse amounts exactly. Returns a tree the caller frees with
 * cJSON_Delete, or NULL with *e filled.
 */
cJSON *jp_parse(const char *buf, size_t len, struct jp_err *e);

/* The member `name` of object o, or NULL (names are unique after jp_parse). */
const cJSON *jp_get(const cJSON *o, const char *name);

#endif
