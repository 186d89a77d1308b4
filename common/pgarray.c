/* pgarray.c: binary one-dimensional arrays for query parameters (see pgarray.h). */
#include "pgarray.h"
#include "uuid.h"

#include <string.h>

/* ndim, has-null flag, element OID, then for the one dimension its length and lower bound */
#define HEADER 20
/* 2000-01-01 00:00:00 UTC in Unix microseconds */
#define PG_EPOCH_US INT64_C(946684800000000)

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
add32(struct pgarray *a, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	sbuf_add(&a->b, (const char *)b, 4);
}

/* one element: its length, then its bytes */
static void
elem(struct pgarray *a, const void *p, size_t len)
{
	add32(a, (uint32_t)len);
	sbuf_add(&a->b, p, len);
	a->n++;
}

void
pga_begin(struct pgarray *a, uint32_t elem_oid)
{
	uint8_t h[HEADER] = { 0 };

	put32(h, 1);
	put32(h + 8, elem_oid);
	put32(h + 16, 1);
	a->n = 0;
	a->has_null = false;
	a->b.n = 0;
	sbuf_add(&a->b, (const char *)h, sizeof(h));
}

void
pga_int8_bytes(int64_t v, uint8_t out[8])
{
	uint64_t u = (uint64_t)v;

	for (int i = 7; i >= 0; i--, u >>= 8)
		out[i] = (uint8_t)u;
}

void
pga_int8(struct pgarray *a, int64_t v)
{
	uint8_t b[8];

	pga_int8_bytes(v, b);
	elem(a, b, sizeof(b));
}

void
pga_text(struct pgarray *a, const char *s, size_t len)
{
	elem(a, s, len);
}

void
pga_timestamptz(struct pgarray *a, int64_t unix_us)
{
	/* the difference of two values a timestamptz can hold (4713 BC to 294276 AD) cannot overflow */
	pga_int8(a, unix_us - PG_EPOCH_US);
}

static int
hexval(char c)
{
	if (c <= '9')
		return c - '0';
	return c - 'a' + 10; /* uuid_is_canonical let only 0-9 and a-f through */
}

int
pga_uuid(struct pgarray *a, const char *text)
{
	uint8_t b[16];
	int k = 0;

	if (!uuid_is_canonical(text, strlen(text)))
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '-')
			continue;
		b[k / 2] = (uint8_t)(k % 2 == 0 ? hexval(*p) << 4 : b[k / 2] | hexval(*p));
		k++;
	}
	elem(a, b, sizeof(b));
	return 0;
}

void
pga_null(struct pgarray *a)
{
	add32(a, UINT32_MAX); /* length -1 */
	a->has_null = true;
	a->n++;
}

void
pga_end(struct pgarray *a)
{
	if (a->b.oom || a->b.n < HEADER)
		return;
	put32((uint8_t *)a->b.p + 4, a->has_null ? 1 : 0);
	put32((uint8_t *)a->b.p + 12, a->n);
}
