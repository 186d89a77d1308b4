/*
 * test_edbfield.c: edbatch's field arithmetic at the edges of its limb bounds, white-box: the file includes
 * common/edbatch.c itself (its public names renamed, so they do not clash with the library's) to reach the
 * static field functions. ge_addsub hands fe_mul sums and differences it has not carried (fe_add_lazy,
 * fe_sub_lazy), with limbs up to 2^54; a product of such operands must equal the product of the same values
 * carried first, for the largest limbs those functions can make, and for random ones.
 */
#define edb_init tf_edb_init
#define edb_key_init tf_edb_key_init
#define edb_ws_new tf_edb_ws_new
#define edb_ws_free tf_edb_ws_free
#define edb_ws_fallbacks tf_edb_ws_fallbacks
#define edb_verify tf_edb_verify
#include "common/edbatch.c"

#include "t.h"

/* Whether f * g equals the product of f and g carried to below 2^52 first (fe_mul's usual operands). */
static bool
mul_matches(const fe *f, const fe *g)
{
	fe cf = *f, cg = *g, h, want;
	uint8_t a[32], b[32];

	fe_carry(&cf);
	fe_carry(&cg);
	fe_mul(&h, f, g);
	fe_mul(&want, &cf, &cg);
	for (int i = 0; i < 5; i++)
		if (h.v[i] >= (uint64_t)1 << 52)
			return false;
	fe_tobytes(a, &h);
	fe_tobytes(b, &want);
	return memcmp(a, b, 32) == 0;
}

static void
fill(fe *f, uint64_t top)
{
	for (int i = 0; i < 5; i++)
		f->v[i] = top;
}

TEST(edbfield_lazy_operands_at_their_bounds)
{
	const uint64_t m52 = ((uint64_t)1 << 52) - 1;
	fe big, small, zero, t0, s, d, x;

	/* the largest results of the lazy functions on operands ge_addsub gives them */
	fill(&big, m52);
	fill(&zero, 0);
	fe_add_lazy(&t0, &big, &big);    /* t0 = 2 X, limbs up to 2^53 - 2 */
	fe_sub_lazy(&d, &t0, &zero);     /* t0 - T + 4p with T = 0: the widest, just below 2^54 */
	fe_add_lazy(&s, &t0, &big);      /* t0 + T */
	fe_sub_lazy(&x, &zero, &big);    /* a difference whose subtrahend is the largest (never below zero) */
	for (int i = 0; i < 5; i++)
		CHECK(d.v[i] < (uint64_t)1 << 54 && s.v[i] < (uint64_t)1 << 54 && x.v[i] < ((uint64_t)1 << 53));
	CHECK(mul_matches(&d, &d));
	CHECK(mul_matches(&d, &s));
	CHECK(mul_matches(&s, &x));
	CHECK(mul_matches(&d, &big));
	fill(&small, 1);
	CHECK(mul_matches(&d, &small));
	/* limbs just below 2^54 on both sides, each limb alone at the top */
	for (int i = 0; i < 5; i++) {
		fe f, g;

		fill(&f, 1);
		fill(&g, ((uint64_t)1 << 54) - 1);
		f.v[i] = ((uint64_t)1 << 54) - 1;
		CHECK(mul_matches(&f, &g));
	}
}

TEST(edbfield_lazy_products_match_carried_ones)
{
	for (int n = 0; n < 20000; n++) {
		fe f, g;

		randombytes_buf(f.v, sizeof(f.v));
		randombytes_buf(g.v, sizeof(g.v));
		for (int i = 0; i < 5; i++) {
			f.v[i] >>= 10; /* below 2^54 */
			g.v[i] >>= 10;
		}
		if (!CHECK(mul_matches(&f, &g)))
			break;
	}
}
