/*
 * test_pgarray.c: binary arrays byte for byte against PostgreSQL 15's own array_send of the same values
 * (SELECT encode(array_send(ARRAY[...]), 'hex')), and the text forms pga_uuid refuses.
 */
#include "t.h"

#include "pgarray.h"

#include <stdio.h>
#include <stdlib.h>

static bool
same_hex(struct pgarray *a, const char *want)
{
	char got[512];
	size_t k = 0;
	bool ok;

	pga_end(a);
	for (size_t i = 0; !a->b.oom && i < a->b.n && k + 3 < sizeof(got); i++, k += 2)
		snprintf(got + k, 3, "%02x", (unsigned char)a->b.p[i]);
	got[k] = '\0';
	ok = !a->b.oom && strcmp(got, want) == 0;
	if (!ok)
		t_fail(__FILE__, __LINE__, "array bytes %s, want %s", got, want);
	free(a->b.p);
	return ok;
}

/* ARRAY[1, -2, 9223372036854775807]::bigint[] into a, and whether its bytes are PostgreSQL's */
static bool
int8_sample(struct pgarray *a)
{
	pga_begin(a, PGA_INT8);
	pga_int8(a, 1);
	pga_int8(a, -2);
	pga_int8(a, INT64_MAX);
	return same_hex(a, "000000010000000000000014000000030000000100000008000000000000000100000008fffffffffffffffe"
	    "000000087fffffffffffffff");
}

TEST(pgarray_int8_as_array_send)
{
	struct pgarray a = { 0 };

	CHECK(int8_sample(&a));
}

TEST(pgarray_text_and_empty_text)
{
	struct pgarray a = { 0 };

	pga_begin(&a, PGA_TEXT);
	pga_text(&a, "MTR-1", 5);
	pga_text(&a, "", 0);
	CHECK(same_hex(&a, "0000000100000000000000190000000200000001000000054d54522d3100000000"));
}

/* ARRAY['2026-11-25T10:00:00.123456Z', '1999-12-31T23:59:59Z']::timestamptz[]: after and before 2000-01-01 */
TEST(pgarray_timestamptz_from_unix_microseconds)
{
	struct pgarray a = { 0 };

	pga_begin(&a, PGA_TIMESTAMPTZ);
	pga_timestamptz(&a, INT64_C(1795600800123456));
	pga_timestamptz(&a, INT64_C(946684799000000));
	CHECK(same_hex(&a, "0000000100000000000004a000000002000000010000000800030415a8a1aa4000000008fffffffffff0bdc0"));
}

/* ARRAY['0192d4c8-7b1e-7a3f-8c2d-1e5f9a0b3c4d'::uuid, NULL]: the null flag set, the null's length -1 */
TEST(pgarray_uuid_and_null)
{
	struct pgarray a = { 0 };

	pga_begin(&a, PGA_UUID);
	CHECK_INT(pga_uuid(&a, "0192d4c8-7b1e-7a3f-8c2d-1e5f9a0b3c4d"), 0);
	pga_null(&a);
	CHECK(same_hex(&a, "000000010000000100000b860000000200000001000000100192d4c87b1e7a3f8c2d1e5f9a0b3c4dffffffff"));
}

TEST(pgarray_uuid_refuses_what_is_not_canonical)
{
	static const char *const bad[] = {
		"", "0192d4c8-7b1e-7a3f-8c2d-1e5f9a0b3c4", "0192d4c8-7b1e-7a3f-8c2d-1e5f9a0b3c4d0",
		"0192D4C8-7B1E-7A3F-8C2D-1E5F9A0B3C4D", "0192d4c87b1e-7a3f-8c2d-1e5f9a0b3c4d-", "0192d4c8-7b1e-7a3f-8c2d-1e5f9a0b3c4g",
	};
	struct pgarray a = { 0 };

	pga_begin(&a, PGA_UUID);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(pga_uuid(&a, bad[i]), -1);
	/* nothing was added: the header alone, zero elements */
	CHECK(same_hex(&a, "000000010000000000000b860000000000000001"));
}

/* A buffer used again starts over: header, count and null flag are the new array's alone. */
TEST(pgarray_begin_again_starts_over)
{
	struct pgarray a = { 0 };

	pga_begin(&a, PGA_UUID);
	pga_null(&a);
	pga_end(&a);
	CHECK(int8_sample(&a));
}
