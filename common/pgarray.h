/*
 * pgarray.h: one-dimensional PostgreSQL arrays in the binary wire format (what array_send writes and
 * array_recv reads), built element by element for a query parameter sent with format 1. PostgreSQL checks
 * the element type's OID against the parameter's, and each element's length against its type.
 */
#ifndef GTX_PGARRAY_H
#define GTX_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

/* Element type OIDs (pg_type.oid, fixed since PostgreSQL 8). */
enum {
	PGA_INT8 = 20,
	PGA_TEXT = 25,
	PGA_TIMESTAMPTZ = 1184,
	PGA_UUID = 2950,
};

/* Zero-initialize, then pga_begin. The bytes are in b.p (b.n of them), owned by the caller, unless b.oom. */
struct pgarray {
	struct sbuf b;
	uint32_t n;
	bool has_null;
};

/* v as PostgreSQL's binary int8 (big-endian), for a parameter of its own. */
void pga_int8_bytes(int64_t v, uint8_t out[8]);

void pga_begin(struct pgarray *a, uint32_t elem_oid);
void pga_int8(struct pgarray *a, int64_t v);
void pga_text(struct pgarray *a, const char *s, size_t len);
/* Microseconds since the Unix epoch; PostgreSQL counts them from 2000-01-01 00:00:00 UTC. */
void pga_timestamptz(struct pgarray *a, int64_t unix_us);
/* A UUID in its canonical text form (36 characters); -1, and nothing added, when it is not one. */
int pga_uuid(struct pgarray *a, const char *text);
void pga_null(struct pgarray *a);
/* Writes the element count and the null flag into the header; the array is complete. */
void pga_end(struct pgarray *a);

#endif
