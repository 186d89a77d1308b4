/*
 * edbatch.c: Ed25519 batch verification (see edbatch.h for the rule and its proof of equivalence).
 *
 * Field elements mod p = 2^255 - 19 in five 51-bit limbs (products in unsigned __int128); points in extended
 * twisted Edwards coordinates with the formulas of Hisil, Wong, Carter and Dawson (2008), in the arrangement
 * of the ref10 code that libsodium uses. Variable time throughout: everything here is public (signatures,
 * keys, messages; the random weights are not secret either, only unpredictable to whoever chose the batch).
 *
 * The batch: sum_i z_i (s_i B - R_i - h_i A_i) times the cofactor 8 must be the identity. As one
 * multi-scalar multiplication (Straus: one shared chain of doublings, a table of odd multiples per point,
 * digits in width-w non-adjacent form): (sum z_i s_i) B + sum z_i (-R_i) + sum (z_i h_i) (-A_i). The z_i
 * have 128 bits, so the R_i terms need half the additions of the others.
 */
#include "edbatch.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;

#define M51 ((uint64_t)0x7ffffffffffff)

/*
 * Limbs below 2^52 after every operation (weakly reduced), which keeps every product inside 128 bits; the one
 * exception, below 2^54, is a sum or difference fe_add_lazy / fe_sub_lazy hands to a multiplication.
 */
typedef struct {
	uint64_t v[5];
} fe;

/* ---- field ---- */

static inline __attribute__((always_inline)) void
fe_carry(fe *h)
{
	uint64_t c;

	c = h->v[0] >> 51; h->v[0] &= M51; h->v[1] += c;
	c = h->v[1] >> 51; h->v[1] &= M51; h->v[2] += c;
	c = h->v[2] >> 51; h->v[2] &= M51; h->v[3] += c;
	c = h->v[3] >> 51; h->v[3] &= M51; h->v[4] += c;
	c = h->v[4] >> 51; h->v[4] &= M51; h->v[0] += 19 * c;
}

static void
fe_0(fe *h)
{
	memset(h, 0, sizeof(*h));
}

static void
fe_1(fe *h)
{
	fe_0(h);
	h->v[0] = 1;
}

/*
 * f + g and f - g + 4p, not carried. f - g + 4p never goes below zero while g is below 2^52 (4p's limbs are
 * above 2^53 - 80). Uncarried, they are only for values that go straight into a multiplication (ge_addsub's,
 * which keeps them below 2^54): fe_mul takes limbs below 2^54 on both sides. Its widest column, f0 g0 +
 * 19 (f1 g4 + f2 g3 + f3 g2 + f4 g1), is then below 77 * 2^108 < 2^115, so each column's carry (>> 51) still
 * fits 64 bits, as does 19 times the top one (below 19 * 5 * 2^57 < 2^64), and the product comes out weakly
 * reduced again.
 */
static inline __attribute__((always_inline)) void
fe_add_lazy(fe *h, const fe *f, const fe *g)
{
	for (int i = 0; i < 5; i++)
		h->v[i] = f->v[i] + g->v[i];
}

static inline __attribute__((always_inline)) void
fe_sub_lazy(fe *h, const fe *f, const fe *g)
{
	h->v[0] = f->v[0] + 0x1fffffffffffb4 - g->v[0];
	for (int i = 1; i < 5; i++)
		h->v[i] = f->v[i] + 0x1ffffffffffffc - g->v[i];
}

static inline __attribute__((always_inline)) void
fe_add(fe *h, const fe *f, const fe *g)
{
	fe_add_lazy(h, f, g);
	fe_carry(h);
}

static inline __attribute__((always_inline)) void
fe_sub(fe *h, const fe *f, const fe *g)
{
	fe_sub_lazy(h, f, g);
	fe_carry(h);
}

static void
fe_neg(fe *h, const fe *f)
{
	fe z;

	fe_0(&z);
	fe_sub(h, &z, f);
}

/* The five 128-bit column sums of a product, carried into limbs (2^255 = 19 mod p) */
static inline __attribute__((always_inline)) void
fe_carry_wide(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4)
{
	uint64_t c;

	r1 += (uint64_t)(r0 >> 51); h->v[0] = (uint64_t)r0 & M51;
	r2 += (uint64_t)(r1 >> 51); h->v[1] = (uint64_t)r1 & M51;
	r3 += (uint64_t)(r2 >> 51); h->v[2] = (uint64_t)r2 & M51;
	r4 += (uint64_t)(r3 >> 51); h->v[3] = (uint64_t)r3 & M51;
	c = (uint64_t)(r4 >> 51); h->v[4] = (uint64_t)r4 & M51;
	h->v[0] += 19 * c;
	h->v[1] += h->v[0] >> 51;
	h->v[0] &= M51;
}

static inline __attribute__((always_inline)) void
fe_mul(fe *h, const fe *f, const fe *g)
{
	uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
	uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
	u128 r0, r1, r2, r3, r4;

	r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
	r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
	r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
	r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
	r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
	fe_carry_wide(h, r0, r1, r2, r3, r4);
}

static inline __attribute__((always_inline)) void
fe_sq(fe *h, const fe *f)
{
	uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
	uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f1_38 = 38 * f1, f2_38 = 38 * f2, f3_38 = 38 * f3;
	uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
	u128 r0, r1, r2, r3, r4;

	r0 = (u128)f0 * f0 + (u128)f1_38 * f4 + (u128)f2_38 * f3;
	r1 = (u128)f0_2 * f1 + (u128)f2_38 * f4 + (u128)f3_19 * f3;
	r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)f3_38 * f4;
	r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4_19 * f4;
	r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
	fe_carry_wide(h, r0, r1, r2, r3, r4);
}

static void
fe_sqn(fe *h, const fe *f, int n)
{
	fe_sq(h, f);
	while (--n > 0)
		fe_sq(h, h);
}

/* The bits 0..254 of s (bit 255, a point encoding's sign, is not read). */
static void
fe_frombytes(fe *h, const uint8_t s[32])
{
	uint64_t x[4];

	for (int i = 0; i < 4; i++) {
		x[i] = 0;
		for (int j = 7; j >= 0; j--)
			x[i] = x[i] << 8 | s[8 * i + j];
	}
	h->v[0] = x[0] & M51;
	h->v[1] = (x[0] >> 51 | x[1] << 13) & M51;
	h->v[2] = (x[1] >> 38 | x[2] << 26) & M51;
	h->v[3] = (x[2] >> 25 | x[3] << 39) & M51;
	h->v[4] = (x[3] >> 12) & M51;
}

/* The canonical encoding (the value reduced below p). */
static void
fe_tobytes(uint8_t s[32], const fe *f)
{
	fe t = *f;
	uint64_t q, x[4];

	fe_carry(&t);
	fe_carry(&t);
	/* now t < 2^255 + 2^13; q = 1 exactly when t >= p */
	q = (t.v[0] + 19) >> 51;
	q = (t.v[1] + q) >> 51;
	q = (t.v[2] + q) >> 51;
	q = (t.v[3] + q) >> 51;
	q = (t.v[4] + q) >> 51;
	t.v[0] += 19 * q;
	for (int i = 0; i < 4; i++) {
		t.v[i + 1] += t.v[i] >> 51;
		t.v[i] &= M51;
	}
	t.v[4] &= M51;
	x[0] = t.v[0] | t.v[1] << 51;
	x[1] = t.v[1] >> 13 | t.v[2] << 38;
	x[2] = t.v[2] >> 26 | t.v[3] << 25;
	x[3] = t.v[3] >> 39 | t.v[4] << 12;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 8; j++)
			s[8 * i + j] = (uint8_t)(x[i] >> (8 * j));
}

static bool
fe_iszero(const fe *f)
{
	uint8_t s[32], z = 0;

	fe_tobytes(s, f);
	for (int i = 0; i < 32; i++)
		z |= s[i];
	return z == 0;
}

static bool
fe_eq(const fe *f, const fe *g)
{
	fe d;

	fe_sub(&d, f, g);
	return fe_iszero(&d);
}

static bool
fe_isnegative(const fe *f)
{
	uint8_t s[32];

	fe_tobytes(s, f);
	return s[0] & 1;
}

/* z^(2^250 - 1), the common part of the two exponentiations below; also returns z^11 */
static void
fe_pow2250m1(fe *out, fe *z11, const fe *z)
{
	fe t0, t1, t2;

	fe_sq(&t0, z);          /* z^2 */
	fe_sqn(&t1, &t0, 2);    /* z^8 */
	fe_mul(&t1, z, &t1);    /* z^9 */
	fe_mul(&t0, &t0, &t1);  /* z^11 */
	*z11 = t0;
	fe_sq(&t0, &t0);        /* z^22 */
	fe_mul(&t0, &t1, &t0);  /* z^(2^5 - 1) */
	fe_sqn(&t1, &t0, 5);
	fe_mul(&t0, &t1, &t0);  /* z^(2^10 - 1) */
	fe_sqn(&t1, &t0, 10);
	fe_mul(&t1, &t1, &t0);  /* z^(2^20 - 1) */
	fe_sqn(&t2, &t1, 20);
	fe_mul(&t1, &t2, &t1);  /* z^(2^40 - 1) */
	fe_sqn(&t1, &t1, 10);
	fe_mul(&t0, &t1, &t0);  /* z^(2^50 - 1) */
	fe_sqn(&t1, &t0, 50);
	fe_mul(&t1, &t1, &t0);  /* z^(2^100 - 1) */
	fe_sqn(&t2, &t1, 100);
	fe_mul(&t1, &t2, &t1);  /* z^(2^200 - 1) */
	fe_sqn(&t1, &t1, 50);
	fe_mul(out, &t1, &t0);  /* z^(2^250 - 1) */
}

/* z^(p - 2) = 1/z */
static void
fe_invert(fe *out, const fe *z)
{
	fe t, z11;

	fe_pow2250m1(&t, &z11, z);
	fe_sqn(&t, &t, 5);      /* z^(2^255 - 32) */
	fe_mul(out, &t, &z11);  /* z^(2^255 - 21) */
}

/* z^((p - 5) / 8) = z^(2^252 - 3) */
static void
fe_pow22523(fe *out, const fe *z)
{
	fe t, z11;

	fe_pow2250m1(&t, &z11, z);
	fe_sqn(&t, &t, 2);      /* z^(2^252 - 4) */
	fe_mul(out, &t, z);
}

/* ---- points ---- */

typedef struct { fe X, Y, Z; } ge_p2;
typedef struct { fe X, Y, Z, T; } ge_p3;       /* x = X/Z, y = Y/Z, xy = T/Z */
typedef struct { fe X, Y, Z, T; } ge_p1p1;     /* x = X/Z, y = Y/T */
typedef struct { fe YplusX, YminusX, Z, T2d; } ge_cached;

static fe fe_d, fe_d2, fe_sqrtm1;
static ge_cached base_tab[64]; /* B, 3B, 5B, ..., 127B */
static bool ready;

static const uint8_t base_enc[32] = {
	0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
};
/* L = 2^252 + 27742317777372353535851937790883648493, little-endian */
static const uint8_t order_l[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};

static void
p3_to_cached(ge_cached *r, const ge_p3 *p)
{
	fe_add(&r->YplusX, &p->Y, &p->X);
	fe_sub(&r->YminusX, &p->Y, &p->X);
	r->Z = p->Z;
	fe_mul(&r->T2d, &p->T, &fe_d2);
}

static void
p1p1_to_p2(ge_p2 *r, const ge_p1p1 *p)
{
	fe_mul(&r->X, &p->X, &p->T);
	fe_mul(&r->Y, &p->Y, &p->Z);
	fe_mul(&r->Z, &p->Z, &p->T);
}

static void
p1p1_to_p3(ge_p3 *r, const ge_p1p1 *p)
{
	fe_mul(&r->X, &p->X, &p->T);
	fe_mul(&r->Y, &p->Y, &p->Z);
	fe_mul(&r->Z, &p->Z, &p->T);
	fe_mul(&r->T, &p->X, &p->Y);
}

static void
p2_dbl(ge_p1p1 *r, const ge_p2 *p)
{
	fe t0;

	fe_sq(&r->X, &p->X);
	fe_sq(&r->Z, &p->Y);
	fe_sq(&r->T, &p->Z);
	fe_add(&r->T, &r->T, &r->T);
	fe_add(&r->Y, &p->X, &p->Y);
	fe_sq(&t0, &r->Y);
	fe_add(&r->Y, &r->Z, &r->X);
	fe_sub(&r->Z, &r->Z, &r->X);
	fe_sub(&r->X, &t0, &r->Y);
	fe_sub(&r->T, &r->T, &r->Z);
}

static void
p3_to_p2(ge_p2 *r, const ge_p3 *p)
{
	r->X = p->X;
	r->Y = p->Y;
	r->Z = p->Z;
}

/*
 * r = p + q (neg: p - q). The sums and differences are not carried (fe_add_lazy): each takes operands below
 * 2^52 (p's and q's coordinates, products; t0 = 2 X is below 2^53 but only ever added to, or has a product
 * subtracted from it) and goes straight into a multiplication, here or in p1p1_to_p3 / p1p1_to_p2, the only
 * readers of a ge_p1p1. So r's limbs are below 2^54 (t0 - T + 4p: below 2^53 + 2^53), as fe_mul allows.
 */
static void
ge_addsub(ge_p1p1 *r, const ge_p3 *p, const ge_cached *q, bool neg)
{
	fe t0;

	fe_add_lazy(&r->X, &p->Y, &p->X);
	fe_sub_lazy(&r->Y, &p->Y, &p->X);
	fe_mul(&r->Z, &r->X, neg ? &q->YminusX : &q->YplusX);
	fe_mul(&r->Y, &r->Y, neg ? &q->YplusX : &q->YminusX);
	fe_mul(&r->T, &q->T2d, &p->T);
	fe_mul(&r->X, &p->Z, &q->Z);
	fe_add_lazy(&t0, &r->X, &r->X);
	fe_sub_lazy(&r->X, &r->Z, &r->Y);
	fe_add_lazy(&r->Y, &r->Z, &r->Y);
	if (neg) {
		fe_sub_lazy(&r->Z, &t0, &r->T);
		fe_add_lazy(&r->T, &t0, &r->T);
	} else {
		fe_add_lazy(&r->Z, &t0, &r->T);
		fe_sub_lazy(&r->T, &t0, &r->T);
	}
}

/* Whether the 32 bytes (sign bit aside) are below p, as a canonical encoding must be. */
static bool
y_canonical(const uint8_t s[32])
{
	if ((s[31] & 0x7f) != 0x7f)
		return true;
	for (int i = 30; i > 0; i--)
		if (s[i] != 0xff)
			return true;
	return s[0] < 0xed;
}

/* Decodes a point (RFC 8032 5.1.3); -1 for an encoding that is not canonical or not on the curve. */
static int
ge_frombytes(ge_p3 *h, const uint8_t s[32])
{
	fe u, v, v3, vxx, chk;

	if (!y_canonical(s))
		return -1;
	fe_frombytes(&h->Y, s);
	fe_1(&h->Z);
	fe_sq(&u, &h->Y);
	fe_mul(&v, &u, &fe_d);
	fe_sub(&u, &u, &h->Z);    /* u = y^2 - 1 */
	fe_add(&v, &v, &h->Z);    /* v = d y^2 + 1 */
	fe_sq(&v3, &v);
	fe_mul(&v3, &v3, &v);     /* v^3 */
	fe_sq(&h->X, &v3);
	fe_mul(&h->X, &h->X, &v);
	fe_mul(&h->X, &h->X, &u); /* u v^7 */
	fe_pow22523(&h->X, &h->X);
	fe_mul(&h->X, &h->X, &v3);
	fe_mul(&h->X, &h->X, &u); /* u v^3 (u v^7)^((p - 5) / 8) */
	fe_sq(&vxx, &h->X);
	fe_mul(&vxx, &vxx, &v);
	fe_sub(&chk, &vxx, &u);
	if (!fe_iszero(&chk)) {
		fe_add(&chk, &vxx, &u);
		if (!fe_iszero(&chk))
			return -1; /* u / v has no square root: not a point */
		fe_mul(&h->X, &h->X, &fe_sqrtm1);
	}
	if (fe_iszero(&h->X) && (s[31] >> 7))
		return -1; /* x = 0 has one encoding, with the sign bit clear */
	if (fe_isnegative(&h->X) != (s[31] >> 7))
		fe_neg(&h->X, &h->X);
	fe_mul(&h->T, &h->X, &h->Y);
	return 0;
}

static bool
p2_is_identity(const ge_p2 *p)
{
	return fe_iszero(&p->X) && fe_eq(&p->Y, &p->Z);
}

/* 8p is the identity: p is one of the eight points of small order */
static bool
ge_small_order(const ge_p3 *p)
{
	ge_p1p1 t;
	ge_p2 q;

	p3_to_p2(&q, p);
	for (int i = 0; i < 3; i++) {
		p2_dbl(&t, &q);
		p1p1_to_p2(&q, &t);
	}
	return p2_is_identity(&q);
}

/* Odd multiples p, 3p, ..., (2n - 1)p */
static void
odd_multiples(ge_cached *tab, int n, const ge_p3 *p)
{
	ge_p1p1 t;
	ge_p3 p2, u;

	p3_to_cached(&tab[0], p);
	if (n == 1)
		return;
	{
		ge_p2 q;

		p3_to_p2(&q, p);
		p2_dbl(&t, &q);
		p1p1_to_p3(&p2, &t);
	}
	for (int i = 1; i < n; i++) {
		ge_addsub(&t, &p2, &tab[i - 1], false);
		p1p1_to_p3(&u, &t);
		p3_to_cached(&tab[i], &u);
	}
}

/* A nonzero digit of a scalar's wNAF: its position (the power of 2) and value. */
struct nzd {
	uint8_t pos;
	int8_t d;
};

/* At most this many nonzero digits: any two are at least w >= 5 apart in 256 positions. */
enum { NZD_MAX = 256 / 5 + 1 };

/*
 * Width-w non-adjacent form of a (little-endian, below 2^253, as every scalar here is): digits d odd with
 * |d| < 2^(w-1), any two at least w positions apart, and sum d 2^pos = a. Only the nonzero digits are written,
 * lowest position first; returns how many. One pass, a window at a time; a run of bits that yields no digit
 * (zeros with no carry, ones with a carry) is skipped at once.
 */
static int
wnaf(struct nzd *r, const uint8_t a[32], int w)
{
	uint64_t x[5] = { 0 }, width = (uint64_t)1 << w, carry = 0;
	int n = 0;

	for (int i = 0; i < 32; i++)
		x[i / 8] |= (uint64_t)a[i] << (8 * (i % 8));
	for (int pos = 0; pos < 256;) {
		int k = pos / 64, b = pos % 64;
		uint64_t bits = x[k] >> b, win, run;

		if (b > 0)
			bits |= x[k + 1] << (64 - b);
		win = carry + (bits & (width - 1));
		if ((win & 1) == 0) {
			/* bit pos is 0 (no carry) or 1 (carry): the run of equal bits gives no digit */
			run = carry ? ~bits : bits;
			pos += run ? __builtin_ctzll(run) : 64;
			continue;
		}
		if (win < width / 2) {
			carry = 0;
			r[n].d = (int8_t)win;
		} else {
			carry = 1;
			r[n].d = (int8_t)((int)win - (int)width);
		}
		r[n++].pos = (uint8_t)pos;
		pos += w;
	}
	return n;
}

/* s < L, as libsodium requires of a signature's s */
static bool
sc_canonical(const uint8_t s[32])
{
	for (int i = 31; i >= 0; i--) {
		if (s[i] < order_l[i])
			return true;
		if (s[i] > order_l[i])
			return false;
	}
	return false;
}

int
edb_init(void)
{
	fe t, c;
	ge_p3 b;
	uint8_t enc[32];

	/* d = -121665 / 121666; sqrt(-1) = 2^((p - 1) / 4) (2 is not a square mod p) */
	fe_0(&t);
	t.v[0] = 121666;
	fe_invert(&t, &t);
	fe_0(&c);
	c.v[0] = 121665;
	fe_mul(&t, &t, &c);
	fe_neg(&fe_d, &t);
	fe_add(&fe_d2, &fe_d, &fe_d);
	fe_0(&c);
	c.v[0] = 2;
	fe_pow22523(&t, &c);
	fe_sq(&t, &t);
	fe_mul(&fe_sqrtm1, &t, &c); /* 2^(2 (2^252 - 3) + 1) = 2^(2^253 - 5) */
	fe_sq(&t, &fe_sqrtm1);
	fe_1(&c);
	fe_add(&t, &t, &c);
	if (!fe_iszero(&t))
		return -1;
	if (ge_frombytes(&b, base_enc) < 0)
		return -1;
	fe_invert(&t, &b.Z);
	fe_mul(&b.X, &b.X, &t);
	fe_tobytes(enc, &b.X);
	if (enc[0] != 0x1a || enc[31] != 0x21) /* x(B) = 0x216936d3...8f25d51a */
		return -1;
	odd_multiples(base_tab, 64, &b);
	ready = true;
	return 0;
}

/* One signature, ready for the multi-scalar multiplication: -R, -A, s, h, and the key's encoding. */
struct prep {
	ge_p3 nr, na;
	uint8_t s[32], h[32];
	const uint8_t *pk;
};

/* -A from a key's encoding; false for an encoding libsodium refuses as a key */
static bool
neg_key(ge_p3 *na, const uint8_t pk[32])
{
	if (ge_frombytes(na, pk) < 0 || ge_small_order(na))
		return false;
	fe_neg(&na->X, &na->X);
	fe_neg(&na->T, &na->T);
	return true;
}

_Static_assert(sizeof(ge_p3) == sizeof(((struct edb_key *)0)->p), "edb_key holds a point");

void
edb_key_init(struct edb_key *k, const uint8_t pk[32])
{
	ge_p3 na;

	memset(k, 0, sizeof(*k));
	if (ready && neg_key(&na, pk)) {
		memcpy(k->p, &na, sizeof(k->p));
		k->ok = true;
	}
}

/* The checks that need no curve arithmetic beyond decoding; false when the signature cannot verify. */
static bool
prepare(struct prep *p, const struct edb_item *it)
{
	crypto_hash_sha512_state st;
	uint8_t hash[64];

	memcpy(p->s, it->sig + 32, 32);
	if (!sc_canonical(p->s))
		return false;
	if (ge_frombytes(&p->nr, it->sig) < 0 || ge_small_order(&p->nr))
		return false;
	if (it->key != NULL) {
		if (!it->key->ok)
			return false;
		memcpy(&p->na, it->key->p, sizeof(p->na));
	} else if (!neg_key(&p->na, it->pk))
		return false;
	fe_neg(&p->nr.X, &p->nr.X);
	fe_neg(&p->nr.T, &p->nr.T);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, it->sig, 32);
	crypto_hash_sha512_update(&st, it->pk, 32);
	crypto_hash_sha512_update(&st, it->msg, it->len);
	crypto_hash_sha512_final(&st, hash);
	crypto_core_ed25519_scalar_reduce(p->h, hash);
	p->pk = it->pk;
	return true;
}

_Static_assert(2 * EDB_CHUNK + 1 <= 256, "a scalar's index fits add[].j");

/* Working memory for one multi-scalar multiplication of up to EDB_CHUNK signatures. */
struct msm {
	uint8_t z[EDB_CHUNK][16]; /* the random weights, drawn at once */
	/* the nonzero wNAF digits of every scalar, then the same gathered by position (bucket[i] .. bucket[i + 1]) */
	struct nzd nz[2 * EDB_CHUNK + 1][NZD_MAX];
	int nnz[2 * EDB_CHUNK + 1];
	struct {
		uint8_t j; /* which scalar: its table */
		int8_t d;
	} add[(2 * EDB_CHUNK + 1) * NZD_MAX];
	int bucket[257];
	ge_cached tab[2 * EDB_CHUNK][8];
	uint8_t ha[EDB_CHUNK][32]; /* per distinct key: the sum of z_i h_i over its signatures */
	int key_of[EDB_CHUNK];     /* per distinct key: its first signature */
};

/*
 * Whether 8 (sum over the k signatures of z_i (s_i B - R_i - h_i A_i)) is the identity, with z_i random
 * (or 1 when k is 1: then the check is exactly the cofactored equation of that one signature).
 *
 * Signatures by one key share its term: (sum z_i h_i mod L) (-A), one table and one chain of additions for
 * the key instead of one per signature (a meter sending its backlog in one batch). Reducing the sum mod L
 * changes the term by a point of small order at most (when A has a small-order component), which the
 * cofactor 8 removes, as it does for each z_i h_i reduced alone.
 */
static bool
check(struct msm *w, const struct prep *const *p, int k)
{
	uint8_t sb[32] = { 0 }, z[32], t[32];
	int np = 0, nkeys = 0, top = -1, count[256] = { 0 };
	ge_p1p1 r1;
	ge_p2 acc;
	ge_p3 u;

	if (k > 1)
		randombytes_buf(w->z, 16 * (size_t)k);
	for (int i = 0; i < k; i++) {
		int key = 0;

		memset(z, 0, sizeof(z));
		if (k == 1)
			z[0] = 1;
		else {
			memcpy(z, w->z[i], 16);
			z[0] |= 1; /* never zero */
		}
		crypto_core_ed25519_scalar_mul(t, z, p[i]->s);
		crypto_core_ed25519_scalar_add(sb, sb, t);
		w->nnz[np] = wnaf(w->nz[np], z, 5);
		odd_multiples(w->tab[np++], k == 1 ? 1 : 8, &p[i]->nr); /* z = 1 needs R alone */
		crypto_core_ed25519_scalar_mul(t, z, p[i]->h);
		while (key < nkeys && memcmp(p[w->key_of[key]]->pk, p[i]->pk, 32) != 0)
			key++;
		if (key == nkeys) {
			w->key_of[nkeys++] = i;
			memcpy(w->ha[key], t, 32);
		} else
			crypto_core_ed25519_scalar_add(w->ha[key], w->ha[key], t);
	}
	for (int key = 0; key < nkeys; key++) {
		w->nnz[np] = wnaf(w->nz[np], w->ha[key], 5);
		odd_multiples(w->tab[np++], 8, &p[w->key_of[key]]->na);
	}
	w->nnz[np] = wnaf(w->nz[np], sb, 8);
	/* the digits by position, so that the chain below visits only the additions it makes */
	for (int j = 0; j <= np; j++)
		for (int e = 0; e < w->nnz[j]; e++)
			count[w->nz[j][e].pos]++;
	w->bucket[0] = 0;
	for (int i = 0; i < 256; i++) {
		w->bucket[i + 1] = w->bucket[i] + count[i];
		if (count[i] > 0)
			top = i;
		count[i] = w->bucket[i];
	}
	for (int j = 0; j <= np; j++)
		for (int e = 0; e < w->nnz[j]; e++) {
			int at = count[w->nz[j][e].pos]++;

			w->add[at].j = (uint8_t)j;
			w->add[at].d = w->nz[j][e].d;
		}
	fe_0(&acc.X);
	fe_1(&acc.Y);
	fe_1(&acc.Z);
	for (int i = top; i >= 0; i--) {
		p2_dbl(&r1, &acc);
		for (int e = w->bucket[i]; e < w->bucket[i + 1]; e++) {
			int d = w->add[e].d;
			const ge_cached *tab = w->add[e].j < np ? w->tab[w->add[e].j] : base_tab;

			p1p1_to_p3(&u, &r1);
			ge_addsub(&r1, &u, &tab[(d < 0 ? -d : d) / 2], d < 0);
		}
		p1p1_to_p2(&acc, &r1);
	}
	for (int i = 0; i < 3; i++) {
		p2_dbl(&r1, &acc);
		p1p1_to_p2(&acc, &r1);
	}
	return p2_is_identity(&acc);
}

struct edb_ws {
	struct msm msm;
	struct prep pre[EDB_CHUNK];
	unsigned long fallbacks;
};

struct edb_ws *
edb_ws_new(void)
{
	struct edb_ws *ws = malloc(sizeof(struct edb_ws));

	if (ws != NULL)
		ws->fallbacks = 0;
	return ws;
}

unsigned long
edb_ws_fallbacks(const struct edb_ws *ws)
{
	return ws->fallbacks;
}

void
edb_ws_free(struct edb_ws *ws)
{
	free(ws);
}

int
edb_verify(struct edb_ws *ws, const struct edb_item *items, size_t n, bool *ok)
{
	const struct prep *ptr[EDB_CHUNK];
	size_t idx[EDB_CHUNK];
	int good = 0;

	if (!ready)
		return -1;
	for (size_t base = 0; base < n; base += EDB_CHUNK) {
		size_t m = n - base < EDB_CHUNK ? n - base : EDB_CHUNK;
		int k = 0;

		for (size_t i = 0; i < m; i++) {
			ok[base + i] = prepare(&ws->pre[k], &items[base + i]);
			if (ok[base + i]) {
				ptr[k] = &ws->pre[k];
				idx[k++] = base + i;
			}
		}
		if (k == 0 || check(&ws->msm, ptr, k)) {
			good += k;
			continue;
		}
		/* some signature in the chunk fails: each on its own */
		ws->fallbacks++;
		for (int i = 0; i < k; i++)
			if ((ok[idx[i]] = (k > 1 && check(&ws->msm, &ptr[i], 1))))
				good++;
	}
	return good;
}
