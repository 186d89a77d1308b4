/*
 * test_edbatch.c: batch verification against libsodium's own signatures and verdicts: RFC 8032's first
 * vector, random keys and messages in batches of every awkward size, each kind of corruption (each must fail
 * alone and leave its neighbours' verdicts alone), and the encodings libsodium refuses although the equation
 * holds for them (s not below L, keys and R of small order, non-canonical or sign-flipped encodings), each
 * built so that only that check can refuse it. And the one documented difference: an R with a small-order
 * component, which only the key's holder can make, passes the cofactored rule.
 */
#include "t.h"

#include "edbatch.h"

#include <sodium.h>
#include <stdlib.h>

static const uint8_t order_l[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
};
/* a point of order 8 (libsodium's list of small-order encodings) */
static const char t8_hex[] = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";

/* one workspace for every test, as ingestd keeps one per process */
static struct edb_ws *
ws(void)
{
	static struct edb_ws *w;

	if (w == NULL)
		w = edb_ws_new();
	return w;
}

struct sample {
	uint8_t pk[32], sig[64], msg[96];
	size_t len;
};

static void
hex32(uint8_t out[32], const char *hex)
{
	size_t n = 0;

	sodium_hex2bin(out, 32, hex, 64, NULL, &n, NULL);
}

/* A random message signed by the secret key sk (libsodium's: the seed, then the public key). */
static void
make_by(struct sample *s, const uint8_t sk[64])
{
	memcpy(s->pk, sk + 32, 32);
	s->len = randombytes_uniform(sizeof(s->msg));
	randombytes_buf(s->msg, s->len);
	crypto_sign_detached(s->sig, NULL, s->msg, s->len, sk);
}

static void
make(struct sample *s)
{
	uint8_t pk[32], sk[64];

	crypto_sign_keypair(pk, sk);
	make_by(s, sk);
}

static void
items_of(struct edb_item *it, const struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		it[i] = (struct edb_item){ s[i].sig, s[i].pk, s[i].msg, s[i].len, NULL };
}

static bool
sodium_ok(const struct sample *s)
{
	return crypto_sign_verify_detached(s->sig, s->msg, s->len, s->pk) == 0;
}

/*
 * Verifies s[0..n) as one call, twice: with the keys as bytes, and decoded beforehand (edb_key_init, as
 * ingestd's meter cache holds them). Every verdict must be libsodium's.
 */
static void
same_as_sodium(const struct sample *s, size_t n, const char *what)
{
	struct edb_item *it = calloc(n, sizeof(*it));
	struct edb_key *keys = calloc(n, sizeof(*keys));
	bool *ok = calloc(n, sizeof(*ok));
	int good = 0, got;
	unsigned long fb;

	if (!CHECK(it != NULL && keys != NULL && ok != NULL && ws() != NULL))
		goto out;
	for (size_t i = 0; i < n; i++)
		good += sodium_ok(&s[i]);
	for (int decoded = 0; decoded < 2; decoded++) {
		items_of(it, s, n);
		for (size_t i = 0; decoded && i < n; i++) {
			edb_key_init(&keys[i], s[i].pk);
			it[i].key = &keys[i];
		}
		fb = edb_ws_fallbacks(ws());
		got = edb_verify(ws(), it, n, ok);
		if (good == (int)n) /* all valid: every chunk passed as a batch, not one by one */
			CHECK(edb_ws_fallbacks(ws()) == fb);
		for (size_t i = 0; i < n; i++)
			if (ok[i] != sodium_ok(&s[i]))
				t_fail(__FILE__, __LINE__, "%s%s: item %zu of %zu: batch says %d, libsodium %d", what,
				    decoded ? " (keys decoded)" : "", i, n, ok[i], sodium_ok(&s[i]));
		CHECK_INT(got, good);
	}
out:
	free(it);
	free(keys);
	free(ok);
}

/* A signature made with a known secret scalar a (A = aB) and nonce point R (given), for crafted cases. */
static void
sign_raw(struct sample *s, const uint8_t a[32], const uint8_t r[32], const uint8_t rpoint[32])
{
	crypto_hash_sha512_state st;
	uint8_t hash[64], h[32], ha[32];

	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, rpoint, 32);
	crypto_hash_sha512_update(&st, s->pk, 32);
	crypto_hash_sha512_update(&st, s->msg, s->len);
	crypto_hash_sha512_final(&st, hash);
	crypto_core_ed25519_scalar_reduce(h, hash);
	crypto_core_ed25519_scalar_mul(ha, h, a);
	memcpy(s->sig, rpoint, 32);
	crypto_core_ed25519_scalar_add(s->sig + 32, r, ha);
}

TEST(edbatch_rfc8032_vector_1)
{
	struct sample s = { .len = 0 };
	struct edb_item it;
	bool ok = false;

	CHECK_INT(edb_init(), 0);
	hex32(s.pk, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	hex32(s.sig, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155");
	hex32(s.sig + 32, "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	CHECK(sodium_ok(&s));
	it = (struct edb_item){ s.sig, s.pk, s.msg, 0, NULL };
	CHECK_INT(edb_verify(ws(), &it, 1, &ok), 1);
	CHECK(ok);
	s.sig[63] ^= 0x01;
	CHECK_INT(edb_verify(ws(), &it, 1, &ok), 0);
	CHECK(!ok);
}

TEST(edbatch_valid_signatures_in_every_batch_size)
{
	static const size_t sizes[] = { 1, 2, 3, 7, EDB_CHUNK - 1, EDB_CHUNK, EDB_CHUNK + 1, 2 * EDB_CHUNK + 5 };
	struct sample *s = calloc(2 * EDB_CHUNK + 5, sizeof(*s));

	CHECK_INT(edb_init(), 0);
	if (!CHECK(s != NULL))
		return;
	for (size_t i = 0; i < 2 * EDB_CHUNK + 5; i++)
		make(&s[i]);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		same_as_sodium(s, sizes[k], "valid");
	free(s);
}

/* One corrupted signature, key or message among valid ones: it alone fails, wherever it sits. */
TEST(edbatch_each_corruption_fails_alone)
{
	enum { N = 20 };
	struct sample s[N];

	CHECK_INT(edb_init(), 0);
	for (int i = 0; i < N; i++)
		make(&s[i]);
	for (int where = 0; where < 4; where++) {
		for (int trial = 0; trial < 12; trial++) {
			int victim = (int)randombytes_uniform(N);
			struct sample keep = s[victim];
			uint8_t *p;
			size_t len;

			switch (where) {
			case 0: p = s[victim].sig; len = 32; break;      /* R */
			case 1: p = s[victim].sig + 32; len = 32; break; /* s */
			case 2: p = s[victim].pk; len = 32; break;
			default: p = s[victim].msg; len = s[victim].len; break;
			}
			if (len == 0) {
				s[victim].msg[0] = 'x';
				s[victim].len = 1;
			} else
				p[randombytes_uniform((uint32_t)len)] ^= (uint8_t)(1u << randombytes_uniform(8));
			CHECK(!sodium_ok(&s[victim]));
			same_as_sodium(s, N, where == 0 ? "R" : where == 1 ? "s" : where == 2 ? "key" : "message");
			s[victim] = keep;
		}
	}
	/* several bad at once, and a whole batch of bad ones */
	for (int i = 0; i < N; i += 3)
		s[i].sig[40] ^= 0x10;
	same_as_sodium(s, N, "every third");
	for (int i = 0; i < N; i++)
		s[i].sig[5] ^= 0x22;
	same_as_sodium(s, N, "all");
}

/* s + L: the equation holds (mod L), so only the s < L check refuses it. */
TEST(edbatch_refuses_s_not_below_l)
{
	struct sample s[3];
	uint8_t carry = 0;

	CHECK_INT(edb_init(), 0);
	for (int i = 0; i < 3; i++)
		make(&s[i]);
	for (int i = 0; i < 32; i++) {
		unsigned v = s[1].sig[32 + i] + order_l[i] + carry;

		s[1].sig[32 + i] = (uint8_t)v;
		carry = (uint8_t)(v >> 8);
	}
	CHECK(carry == 0);
	CHECK(!sodium_ok(&s[1]));
	same_as_sodium(s, 3, "s + L");
}

/*
 * Keys and nonces of small order, for which the equation holds: key = the identity with R = the identity and
 * s = 0 (so 0 B = R + h A whatever h is), also as the non-canonical encoding p + 1 of the identity and with
 * the sign bit set; and an honest key with R of order 8 and s = h a (so s B - h A = 0 and the rest is
 * R's torsion, which the cofactor removes). Only the small-order and encoding checks refuse these.
 */
TEST(edbatch_refuses_small_order_and_odd_encodings)
{
	struct sample s[5] = { 0 };
	uint8_t a[32], zero[32] = { 0 }, t8[32];

	CHECK_INT(edb_init(), 0);
	make(&s[0]);
	s[1].pk[0] = 1; /* identity */
	s[1].sig[0] = 1;
	s[1].len = 3;
	s[2] = s[1];
	s[2].pk[0] = 0xee; /* p + 1 = 1 mod p */
	memset(s[2].pk + 1, 0xff, 30);
	s[2].pk[31] = 0x7f;
	memcpy(s[2].sig, s[2].pk, 32);
	s[3] = s[1];
	s[3].pk[31] = 0x80; /* identity with the sign of x set, although x = 0 */
	s[3].sig[31] = 0x80;
	hex32(t8, t8_hex);
	crypto_core_ed25519_scalar_random(a);
	CHECK_INT(crypto_scalarmult_ed25519_base_noclamp(s[4].pk, a), 0);
	s[4].len = 10;
	randombytes_buf(s[4].msg, 10);
	sign_raw(&s[4], a, zero, t8);
	for (int i = 1; i < 5; i++)
		CHECK(!sodium_ok(&s[i]));
	same_as_sodium(s, 5, "small order");
	/* and each alone */
	for (int i = 1; i < 5; i++)
		same_as_sodium(&s[i], 1, "small order, alone");
}

/*
 * The documented difference: R' = R + T (T of order 8) with s made for R'. libsodium's cofactorless check
 * refuses it; the cofactored rule accepts it, alone and in company, the same way every time.
 */
TEST(edbatch_cofactored_rule_for_mixed_order_r)
{
	struct sample s[4];
	uint8_t a[32], r[32], rp[32], t8[32], back[32];
	struct edb_item it[4];
	bool ok[4];

	CHECK_INT(edb_init(), 0);
	hex32(t8, t8_hex);
	/* T really has order 8: adding it eight times to a point gives the point back, four times does not */
	crypto_core_ed25519_scalar_random(r);
	CHECK_INT(crypto_scalarmult_ed25519_base_noclamp(rp, r), 0);
	memcpy(back, rp, 32);
	for (int i = 0; i < 8; i++) {
		CHECK_INT(crypto_core_ed25519_add(back, back, t8), 0);
		if (i == 3)
			CHECK(memcmp(back, rp, 32) != 0);
	}
	CHECK(memcmp(back, rp, 32) == 0);
	for (int i = 0; i < 4; i++)
		make(&s[i]);
	crypto_core_ed25519_scalar_random(a);
	CHECK_INT(crypto_scalarmult_ed25519_base_noclamp(s[2].pk, a), 0);
	CHECK_INT(crypto_core_ed25519_add(rp, rp, t8), 0);
	sign_raw(&s[2], a, r, rp);
	CHECK(!sodium_ok(&s[2]));
	items_of(it, s, 4);
	CHECK_INT(edb_verify(ws(), it, 4, ok), 4);
	CHECK(ok[0] && ok[1] && ok[2] && ok[3]);
	CHECK_INT(edb_verify(ws(), &it[2], 1, ok), 1);
	s[0].sig[33] ^= 1; /* a bad neighbour sends the batch to the one-by-one check: same verdict for s[2] */
	CHECK_INT(edb_verify(ws(), it, 4, ok), 3);
	CHECK(!ok[0] && ok[1] && ok[2] && ok[3]);
}

/* Random single-bit changes anywhere, many batches: every verdict is libsodium's. */
TEST(edbatch_random_changes_match_sodium)
{
	enum { N = 24 };
	struct sample s[N];

	CHECK_INT(edb_init(), 0);
	for (int round = 0; round < 30; round++) {
		for (int i = 0; i < N; i++) {
			make(&s[i]);
			if (randombytes_uniform(4) == 0) {
				uint8_t *p = randombytes_uniform(2) ? s[i].sig : s[i].pk;
				size_t len = p == s[i].sig ? 64 : 32;

				p[randombytes_uniform((uint32_t)len)] ^= (uint8_t)(1u << randombytes_uniform(8));
			}
		}
		same_as_sodium(s, N, "random");
	}
}

/*
 * A meter's backlog: many signatures by one key in a batch share the key's term. Valid ones in every batch
 * size and mix of keys, then each kind of corruption among them (a changed key makes it another key, one
 * bit away): every verdict is libsodium's.
 */
TEST(edbatch_signatures_by_one_key)
{
	static const size_t sizes[] = { 2, 9, EDB_CHUNK, EDB_CHUNK + 3 };
	static const int nkeys[] = { 1, 2, 5 };
	enum { N = EDB_CHUNK + 3 };
	struct sample *s = calloc(N, sizeof(*s));
	uint8_t pk[32], sk[5][64];

	CHECK_INT(edb_init(), 0);
	if (!CHECK(s != NULL))
		return;
	for (int k = 0; k < 5; k++)
		crypto_sign_keypair(pk, sk[k]);
	for (size_t m = 0; m < sizeof(nkeys) / sizeof(nkeys[0]); m++) {
		unsigned long fb = edb_ws_fallbacks(ws());

		for (int i = 0; i < N; i++)
			make_by(&s[i], sk[i % nkeys[m]]);
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
			same_as_sodium(s, sizes[z], "one key, valid");
		CHECK(edb_ws_fallbacks(ws()) == fb); /* each batch passed as a batch, not one by one */
		for (int where = 0; where < 4; where++) {
			int victim = (int)randombytes_uniform(N);
			struct sample keep = s[victim];
			uint8_t *p = where == 0 ? s[victim].sig : where == 1 ? s[victim].sig + 32 : where == 2 ? s[victim].pk :
			    s[victim].msg;

			if (where == 3 && s[victim].len == 0)
				s[victim].msg[0] = 'x', s[victim].len = 1;
			else
				p[randombytes_uniform(where == 3 ? (uint32_t)s[victim].len : 32)] ^=
				    (uint8_t)(1u << randombytes_uniform(8));
			CHECK(!sodium_ok(&s[victim]));
			same_as_sodium(s, N, where == 0 ? "one key, R" : where == 1 ? "one key, s" : where == 2 ? "one key, key" :
			    "one key, message");
			s[victim] = keep;
		}
	}
	free(s);
}

/*
 * Two bad signatures by one key whose errors cancel in an unweighted sum (s + d and s - d): the batch still
 * refuses both, because each signature keeps its own random weight inside the key's shared term.
 */
TEST(edbatch_one_key_errors_do_not_cancel)
{
	struct sample s[3];
	uint8_t pk[32], sk[64], d[32];

	CHECK_INT(edb_init(), 0);
	crypto_sign_keypair(pk, sk);
	for (int i = 0; i < 3; i++)
		make_by(&s[i], sk);
	crypto_core_ed25519_scalar_random(d);
	crypto_core_ed25519_scalar_add(s[0].sig + 32, s[0].sig + 32, d);
	crypto_core_ed25519_scalar_sub(s[1].sig + 32, s[1].sig + 32, d);
	CHECK(!sodium_ok(&s[0]) && !sodium_ok(&s[1]) && sodium_ok(&s[2]));
	same_as_sodium(s, 3, "cancelling errors");
	same_as_sodium(s, 2, "cancelling errors, alone together");
}

/*
 * A key with a small-order component (A = aB + T, T of order 8), several of its signatures in one batch: the
 * shared term, reduced mod L, differs from the sum of the signatures' own terms by a point of small order,
 * which the cofactor removes. So each gets the verdict it gets alone (the cofactored rule accepts them;
 * libsodium's cofactorless check refuses most), in company and after a bad neighbour.
 */
TEST(edbatch_one_key_with_small_order_component)
{
	enum { N = 6 };
	struct sample s[N];
	uint8_t a[32], r[32], rp[32], t8[32];
	struct edb_item it[N];
	bool ok[N], alone;
	unsigned long fb;

	CHECK_INT(edb_init(), 0);
	hex32(t8, t8_hex);
	crypto_core_ed25519_scalar_random(a);
	for (int i = 0; i < N; i++)
		make(&s[i]);
	for (int i = 1; i < N; i++) {
		CHECK_INT(crypto_scalarmult_ed25519_base_noclamp(s[i].pk, a), 0);
		CHECK_INT(crypto_core_ed25519_add(s[i].pk, s[i].pk, t8), 0);
		crypto_core_ed25519_scalar_random(r);
		CHECK_INT(crypto_scalarmult_ed25519_base_noclamp(rp, r), 0);
		sign_raw(&s[i], a, r, rp);
	}
	items_of(it, s, N);
	for (int i = 0; i < N; i++) {
		CHECK_INT(edb_verify(ws(), &it[i], 1, &alone), 1);
		CHECK(alone);
	}
	fb = edb_ws_fallbacks(ws());
	CHECK_INT(edb_verify(ws(), it, N, ok), N);
	CHECK(edb_ws_fallbacks(ws()) == fb); /* as a batch */
	for (int i = 0; i < N; i++)
		CHECK(ok[i]);
	s[0].sig[33] ^= 1;
	CHECK_INT(edb_verify(ws(), it, N, ok), N - 1);
	CHECK(!ok[0]);
	for (int i = 1; i < N; i++)
		CHECK(ok[i]);
}
