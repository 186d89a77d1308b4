/* test_soltx.c: compact-u16, the reference transaction vector bit for bit, and exact sizes of every shape. */
#include "t.h"

#include "b58.h"
#include "pda.h"
#include "soltx.h"

#include <sodium.h>
#include <stdlib.h>

static const char vector_msg_hex[] =
    "0100060979b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad0496648f3bf28a452c7a102b4259f123abc5"
    "41297dc4cfd90e2f499e696d53081f5605e7f162a10bec559afea195e4dce84b69568d5d2cb0963eb446c0685e2b17f2f00306"
    "466fe5211732ffecadba72c39be7bc8ce5bbc5f7126b2c439b3a400000008c97258f4e2489f1bb3d1029148e0d830b5a1399da"
    "ff1084048e7bd8dbe9f859adc14011f82d1c56d956aa4f9d73d8858361a606048525e0d08c638dc75dd8c70000000000000000"
    "00000000000000000000000000000000000000000000000006ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5"
    "857eff00a9054a535a992921064d24e87160da387c7c35b5ddbc92bb81e41fa8404105448daeebad4a796fcc2e15dc4c6061b4"
    "5ed9b373f26adfc798ca7d2d8cc58182718e0503000502409c000003000903e8030000000000000406000105020607010107"
    "030201000a0e40420f00000000000608000a62617463682d30303031";
static const char vector_sig[] =
    "2PE823kgx3hpG4YSmgKFnfiF1CVpuxXCK35Jva7rv3ckHF62gfKQi3P2BtoXDAKRqbe949FzwLJoP4ZrJNytYCte";
static const char vector_b64[] =
    "AUUvHe2GlBz87yRZ02AdQiXJTsWuYCGfHDs3Fj3J4d4apsdVHyHXGOvicaI9b8xuLRTu2qLtV3bVJRs3LP67PwcBAAYJebVWLo/mVPlAeLES6Km"
    "Lp5AfhTrmlb7X4OORC60ElmSPO/KKRSx6ECtCWfEjq8VBKX3Ez9kOL0meaW1TCB9WBefxYqEL7FWa/qGV5NzoS2lWjV0ssJY+tEbAaF4rF/Lw"
    "AwZGb+UhFzL/7K26csOb57yM5bvF9xJrLEObOkAAAACMlyWPTiSJ8bs9ECkUjg2DC1oTmdr/EIQEjnvY2+n4Wa3BQBH4LRxW2VaqT51z2IWDYa"
    "YGBIUl4NCMY43HXdjHAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAG3fbh12Whk9nL4UbO63msHLSF7V9bN5E6jPWFfv8AqQVKU1qZ"
    "KSEGTSTocWDaOHx8NbXdvJK7geQfqEBBBUSNruutSnlvzC4V3ExgYbRe2bNz8mrfx5jKfS2MxYGCcY4FAwAFAkCcAAADAAkD6AMAAAAAAAAEBgAB"
    "BQIGBwEBBwMCAQAKDkBCDwAAAAAABggACmJhdGNoLTAwMDE=";

static struct kp *
seeded(uint8_t first)
{
	uint8_t seed[32];

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(first + i);
	return kp_from_seed(seed);
}

/* A deterministic wallet address (need not be on the curve). */
static struct sol_pubkey
wallet_n(uint32_t n)
{
	struct sol_pubkey w;
	uint8_t in[8] = { 'w', 'a', 'l', 'l' };

	memcpy(in + 4, &n, 4);
	crypto_hash_sha256(w.b, in, sizeof(in));
	return w;
}

/* ---- compact-u16 ---- */

TEST(cu16_examples)
{
	static const struct {
		uint16_t v;
		size_t n;
		uint8_t b[3];
	} ex[] = {
		{ 0, 1, { 0x00 } }, { 1, 1, { 0x01 } }, { 127, 1, { 0x7f } }, { 128, 2, { 0x80, 0x01 } },
		{ 255, 2, { 0xff, 0x01 } }, { 300, 2, { 0xac, 0x02 } }, { 16383, 2, { 0xff, 0x7f } },
		{ 16384, 3, { 0x80, 0x80, 0x01 } }, { 65535, 3, { 0xff, 0xff, 0x03 } },
	};

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		uint8_t out[3];
		uint16_t v;
		size_t used;

		CHECK_INT(stx_cu16_len(ex[i].v), ex[i].n);
		CHECK_INT(stx_cu16_encode(ex[i].v, out), ex[i].n);
		CHECK(memcmp(out, ex[i].b, ex[i].n) == 0);
		CHECK_INT(stx_cu16_decode(ex[i].b, ex[i].n, &v, &used, NULL), 0);
		CHECK_INT(v, ex[i].v);
		CHECK_INT(used, ex[i].n);
	}
}

TEST(cu16_roundtrip_all)
{
	size_t bad = 0;

	for (uint32_t x = 0; x <= 0xffff; x++) {
		uint8_t out[4] = { 0, 0, 0, 0xee };
		uint16_t v;
		size_t n = stx_cu16_encode((uint16_t)x, out), used;

		if (n != stx_cu16_len((uint16_t)x) || stx_cu16_decode(out, 4, &v, &used, NULL) != 0 || v != x ||
		    used != n)
			bad++;
	}
	CHECK_INT(bad, 0);
}

TEST(cu16_rejects)
{
	static const struct {
		uint8_t b[4];
		size_t n;
	} rej[] = {
		{ { 0x80, 0x00 }, 2 },             /* alias of 0 */
		{ { 0xff, 0x00 }, 2 },             /* alias of 127 */
		{ { 0x80, 0x80, 0x00 }, 3 },       /* alias */
		{ { 0xff, 0xff, 0x04 }, 3 },       /* 0x1ffff > 0xffff */
		{ { 0x80, 0x80, 0x80, 0x01 }, 4 }, /* 4 bytes */
		{ { 0x80 }, 1 },                   /* truncated */
		{ { 0xff, 0xff }, 2 },             /* truncated */
		{ { 0 }, 0 },                      /* empty */
	};

	for (size_t i = 0; i < sizeof(rej) / sizeof(rej[0]); i++) {
		uint16_t v;
		size_t used;
		struct err e;

		CHECK_INT(stx_cu16_decode(rej[i].b, rej[i].n, &v, &used, &e), -1);
		CHECK_INT(e.code, STX_E_DECODE);
	}
}

/* ---- an independent decoder for checking what the builder wrote ---- */

static int
rd_cu16(const uint8_t *m, size_t len, size_t *off, size_t *v)
{
	uint16_t x;
	size_t used;

	if (stx_cu16_decode(m + *off, len - *off, &x, &used, NULL) != 0)
		return -1;
	*off += used;
	*v = x;
	return 0;
}

/*
 * Parses msg and checks: header rules, unique keys, payer first, blockhash, every instruction equal to
 * ixs[i] (program, account keys in order, data), and every key's role exactly the OR of its uses.
 */
static bool
check_message(const uint8_t *m, size_t len, const struct sol_pubkey *payer, const struct sol_pubkey *bh,
    const struct solix *ixs, size_t n)
{
	size_t off = 3, k, ni, sig = m[0], ros = m[1], rou = m[2];
	const uint8_t *keys;
	bool used_s[STX_MAX_KEYS] = { 0 }, used_w[STX_MAX_KEYS] = { 0 };

	if (rd_cu16(m, len, &off, &k) != 0 || !CHECK(sig >= 1 && ros < sig && sig + rou <= k))
		return false;
	keys = m + off;
	off += 32 * k;
	if (!CHECK(off + 32 <= len) || !CHECK(memcmp(keys, payer->b, 32) == 0) ||
	    !CHECK(memcmp(m + off, bh->b, 32) == 0))
		return false;
	for (size_t i = 0; i < k; i++)
		for (size_t j = i + 1; j < k; j++)
			if (memcmp(keys + 32 * i, keys + 32 * j, 32) == 0)
				return CHECK(!"duplicate key");
	off += 32;
	used_s[0] = used_w[0] = true;
	if (rd_cu16(m, len, &off, &ni) != 0 || !CHECK(ni == n))
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t na, nd, p;

		if (!CHECK(off < len))
			return false;
		p = m[off++];
		if (!CHECK(p != 0 && p < k) || !CHECK(memcmp(keys + 32 * p, ixs[i].program.b, 32) == 0))
			return false;
		if (rd_cu16(m, len, &off, &na) != 0 || !CHECK(na == ixs[i].naccounts) || !CHECK(off + na <= len))
			return false;
		for (size_t a = 0; a < na; a++) {
			size_t idx = m[off++];

			if (!CHECK(idx < k) || !CHECK(memcmp(keys + 32 * idx, ixs[i].accounts[a].key.b, 32) == 0))
				return false;
			used_s[idx] |= ixs[i].accounts[a].signer;
			used_w[idx] |= ixs[i].accounts[a].writable;
		}
		if (rd_cu16(m, len, &off, &nd) != 0 || !CHECK(nd == ixs[i].ndata) || !CHECK(off + nd <= len) ||
		    !CHECK(memcmp(m + off, ixs[i].data, nd) == 0))
			return false;
		off += nd;
	}
	if (!CHECK(off == len))
		return false;
	for (size_t i = 0; i < k; i++) {
		bool s = i < sig, w = s ? i < sig - ros : i < k - rou;

		if (!CHECK(s == used_s[i]) || !CHECK(w == used_w[i]))
			return false;
	}
	return true;
}

/* ---- the reference vector ---- */

static void
vector_ixs(const struct sol_pubkey *payer, const struct sol_pubkey *mint, const struct sol_pubkey *wallet,
    struct solix ix[5])
{
	struct sol_pubkey ata;

	CHECK_INT(pda_ata(wallet, mint, &pubkey_token_program, &ata, NULL), 0);
	solix_cu_limit(&ix[0], 40000);
	solix_cu_price(&ix[1], 1000);
	solix_ata_create_idempotent(&ix[2], payer, &ata, wallet, mint, &pubkey_token_program);
	solix_mint_to_checked(&ix[3], &pubkey_token_program, mint, &ata, payer, 1000000, 6);
	CHECK_INT(solix_memo(&ix[4], "batch-0001", 10, NULL), 0);
}

TEST(stx_reference_vector)
{
	struct kp *payer = seeded(0x01), *mintk = seeded(0x21), *walletk = seeded(0x41);
	struct sol_pubkey bh;
	struct solix *ix = malloc(5 * sizeof(*ix));
	struct stx *t;
	uint8_t *msg = NULL, *tx = NULL, sig[64];
	size_t mlen = 0, tlen = 0;
	char hex[2 * 1232 + 1], sig58[89], b64[STX_BASE64_SZ];
	struct err e;

	CHECK_INT(pubkey_from_b58("CmpNeggWJ4JaWJeJ8YKN1Zypmk7uvQq3PECGUCAEMbky", &bh, &e), 0);
	vector_ixs(kp_pubkey(payer), kp_pubkey(mintk), kp_pubkey(walletk), ix);
	t = stx_new(kp_pubkey(payer), &bh);
	CHECK_INT(stx_size_if_added(t, ix, 5), 449);
	CHECK_INT(stx_add(t, ix, 5, &e), 0);
	CHECK_INT(stx_size(t), 449);
	CHECK_INT(stx_nkeys(t), 9);
	CHECK_INT(stx_nix(t), 5);
	CHECK_INT(stx_message(t, &msg, &mlen, &e), 0);
	CHECK_INT(mlen, 384);
	sodium_bin2hex(hex, sizeof(hex), msg, mlen);
	CHECK_STR(hex, vector_msg_hex);
	CHECK(check_message(msg, mlen, kp_pubkey(payer), &bh, ix, 5));
	CHECK_INT(stx_sign(t, payer, &tx, &tlen, sig, sig58, &e), 0);
	CHECK_INT(tlen, 449);
	CHECK_STR(sig58, vector_sig);
	CHECK_INT(stx_base64(tx, tlen, b64, sizeof(b64)), strlen(vector_b64));
	CHECK_STR(b64, vector_b64);
	CHECK_INT(crypto_sign_verify_detached(sig, msg, mlen, kp_pubkey(payer)->b), 0);
	free(msg);
	free(tx);
	stx_free(t);
	free(ix);
	kp_free(payer);
	kp_free(mintk);
	kp_free(walletk);
}

/* ---- shapes: size == serialized length, and the documented arithmetic ---- */

struct shape {
	size_t creates, mint_only;
	bool cu;
	size_t memo_len;
	const struct sol_pubkey *token;
};

/* Fills ixs (caller frees) in the order mintd uses: CU limit, CU price, per recipient [create] + mint, memo. */
static size_t
shape_ixs(const struct shape *s, const struct sol_pubkey *payer, const struct sol_pubkey *mint, struct solix **out)
{
	size_t n = 0, max = 3 + 2 * (s->creates + s->mint_only);
	struct solix *ix = calloc(max, sizeof(*ix));
	char memo[SOLIX_MAX_DATA];

	if (s->cu) {
		solix_cu_limit(&ix[n++], 1400000);
		solix_cu_price(&ix[n++], 1000);
	}
	for (size_t r = 0; r < s->creates + s->mint_only; r++) {
		struct sol_pubkey w = wallet_n((uint32_t)r), ata;

		if (!CHECK(pda_ata(&w, mint, s->token, &ata, NULL) == 0))
			break;
		if (r < s->creates)
			solix_ata_create_idempotent(&ix[n++], payer, &ata, &w, mint, s->token);
		solix_mint_to_checked(&ix[n++], s->token, mint, &ata, payer, 1000 + r, 6);
	}
	if (s->memo_len > 0) {
		for (size_t i = 0; i < s->memo_len; i++)
			memo[i] = (char)('a' + i % 26);
		CHECK_INT(solix_memo(&ix[n++], memo, s->memo_len, NULL), 0);
	}
	*out = ix;
	return n;
}

/* The §1.5 formula with the key and instruction counts worked out by hand for the shape. */
static size_t
shape_formula(const struct shape *s)
{
	size_t r = s->creates + s->mint_only;
	/* payer; mint, token program and one ATA per recipient; + CB; + memo; creates add wallets, ATA, System */
	size_t k = 1 + (r ? 2 + r : 0) + (s->cu ? 1 : 0) + (s->memo_len ? 1 : 0) + (s->creates ? 2 + s->creates : 0);
	size_t ni = r + s->creates + (s->cu ? 2 : 0) + (s->memo_len ? 1 : 0);
	size_t ixb = 16 * r + 10 * s->creates + (s->cu ? 8 + 12 : 0) +
	    (s->memo_len ? 2 + stx_cu16_len((uint16_t)s->memo_len) + s->memo_len : 0);

	return 1 + 64 + 3 + stx_cu16_len((uint16_t)k) + 32 * k + 32 + stx_cu16_len((uint16_t)ni) + ixb;
}

/* Builds the shape one instruction at a time, checking predictions, then serializes and signs. */
static size_t
check_shape(const struct shape *s, struct kp *payer, const struct sol_pubkey *mint)
{
	struct sol_pubkey bh = wallet_n(0xb10c);
	struct solix *ix = NULL;
	size_t n = shape_ixs(s, kp_pubkey(payer), mint, &ix), mlen, tlen, size;
	struct stx *t = stx_new(kp_pubkey(payer), &bh);
	uint8_t *msg = NULL, *tx = NULL;
	struct stx_dims d;
	struct err e;

	for (size_t i = 0; i < n; i++) {
		size_t predicted = stx_size_if_added(t, &ix[i], 1);

		CHECK_INT(stx_add(t, &ix[i], 1, &e), 0);
		CHECK_INT(stx_size(t), predicted);
	}
	size = stx_size(t);
	stx_dims(t, &d);
	CHECK_INT(size, shape_formula(s));
	CHECK_INT(d.nix, n);
	CHECK_INT(stx_message(t, &msg, &mlen, &e), 0);
	CHECK_INT(size, stx_cu16_len((uint16_t)d.nsigners) + 64 * d.nsigners + mlen);
	CHECK(check_message(msg, mlen, kp_pubkey(payer), &bh, ix, n));
	if (stx_fits(&d)) {
		CHECK_INT(stx_sign(t, payer, &tx, &tlen, NULL, NULL, &e), 0);
		CHECK_INT(tlen, size);
		CHECK(tx != NULL && memcmp(tx + 65, msg, mlen) == 0);
		CHECK(tx != NULL && crypto_sign_verify_detached(tx + 1, msg, mlen, kp_pubkey(payer)->b) == 0);
		free(tx);
	} else {
		CHECK_INT(stx_sign(t, payer, &tx, &tlen, NULL, NULL, &e), -1);
		CHECK(e.code == STX_E_SIZE || e.code == STX_E_KEYS || e.code == STX_E_IX);
	}
	free(msg);
	free(ix);
	stx_free(t);
	return size;
}

TEST(stx_shape_sizes)
{
	static const size_t memos[] = { 0, 1, 10, 127, 128, 300 };
	struct kp *payer = seeded(0x01);
	struct sol_pubkey mint = wallet_n(0x6d1e7);

	for (size_t m = 0; m < sizeof(memos) / sizeof(memos[0]); m++) {
		for (int cu = 0; cu <= 1; cu++) {
			for (size_t r = 0; r <= 25; r++)
				check_shape(&(struct shape){ 0, r, cu, memos[m], &pubkey_token_program }, payer, &mint);
			for (size_t r = 0; r <= 12; r++)
				check_shape(&(struct shape){ r, 0, cu, memos[m], &pubkey_token2022_program }, payer, &mint);
			check_shape(&(struct shape){ 3, 4, cu, memos[m], &pubkey_token_program }, payer, &mint);
		}
	}
	kp_free(payer);
}

TEST(stx_counts_cross_128)
{
	/* Unsignable (too big) but still exact: keys and instructions cross the 1-byte compact-u16 range. */
	struct kp *payer = seeded(0x01);
	struct sol_pubkey mint = wallet_n(0x6d1e7);

	for (size_t r = 120; r <= 135; r++)
		check_shape(&(struct shape){ 0, r, true, 200, &pubkey_token_program }, payer, &mint);
	check_shape(&(struct shape){ 70, 0, true, 0, &pubkey_token_program }, payer, &mint);
	kp_free(payer);
}

TEST(stx_reference_maxima)
{
	/* The measured maxima under 1232 bytes (mint authority = fee payer, no memo). */
	static const struct {
		size_t creates, mint_only;
		bool cu;
		size_t bytes;
	} rows[] = {
		{ 10, 0, true, 1214 },
		{ 0, 20, true, 1210 },
		{ 0, 21, false, 1206 },
	};
	struct kp *payer = seeded(0x01);
	struct sol_pubkey mint = wallet_n(0x6d1e7);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct shape s = { rows[i].creates, rows[i].mint_only, rows[i].cu, 0, &pubkey_token_program };

		CHECK_INT(check_shape(&s, payer, &mint), rows[i].bytes);
		s.creates += s.creates ? 1 : 0;
		s.mint_only += s.mint_only ? 1 : 0;
		CHECK(check_shape(&s, payer, &mint) > STX_PACKET_MAX);
	}
	kp_free(payer);
}

/* ---- v0: loaded keys, lookups, and the size model ---- */

/* Recipients r0..r0+n mint-only (with both budget instructions) against tables holding ATAs (and the mint). */
static size_t
check_v0(size_t n, bool mint_in_table, size_t split, struct kp *payer, const struct sol_pubkey *mint,
    size_t *nlookups)
{
	struct sol_pubkey bh = wallet_n(0xb10c), a[2][STX_TABLE_MAX], atas[128];
	struct stx_table tabs[2] = { { wallet_n(0x7ab1e), a[0], 0 }, { wallet_n(0x7ab2e), a[1], 0 } };
	struct shape s = { 0, n, true, 0, &pubkey_token_program };
	struct solix *ix = NULL;
	size_t k = shape_ixs(&s, kp_pubkey(payer), mint, &ix), mlen, tlen = 0, ks, size;
	struct stx *t;
	uint8_t *msg = NULL, *tx = NULL;
	struct stx_dims d;
	struct err e;

	/* A program (the token program) in a table must stay static; so must the payer. */
	a[0][tabs[0].naddrs++] = pubkey_token_program;
	a[0][tabs[0].naddrs++] = *kp_pubkey(payer);
	for (size_t r = 0; r < n; r++) {
		struct sol_pubkey w = wallet_n((uint32_t)r);
		struct stx_table *tb = &tabs[r < split ? 0 : 1];

		CHECK_INT(pda_ata(&w, mint, &pubkey_token_program, &atas[r], NULL), 0);
		a[tb - tabs][tb->naddrs++] = atas[r];
	}
	if (mint_in_table)
		a[1][tabs[1].naddrs++] = *mint;
	t = stx_new_v0(kp_pubkey(payer), &bh, tabs, 2);
	CHECK(t != NULL && stx_is_v0(t));
	for (size_t i = 0; i < k; i++) {
		size_t predicted = stx_size_if_added(t, &ix[i], 1);

		CHECK_INT(stx_add(t, &ix[i], 1, &e), 0);
		CHECK_INT(stx_size(t), predicted);
	}
	stx_dims(t, &d);
	size = d.size;
	ks = 3 + !mint_in_table; /* payer, token program, compute budget [, mint] */
	CHECK_INT(d.nstatic, ks);
	CHECK_INT(d.nkeys, ks + n + mint_in_table);
	*nlookups = d.nlookups;
	{
		size_t w0 = split < n ? split : n, w1 = n - w0 + mint_in_table, lk = 0;

		lk += w0 > 0 ? 32 + 1 + w0 + 1 : 0;
		lk += w1 > 0 ? 32 + 1 + w1 + 1 : 0;
		CHECK_INT(d.nlookups, (size_t)(w0 > 0) + (w1 > 0));
		CHECK_INT(size, 1 + 64 + 1 + 3 + 1 + 32 * ks + 32 + 1 + 20 + 16 * n + 1 + lk);
	}
	CHECK_INT(stx_message(t, &msg, &mlen, &e), 0);
	CHECK_INT(msg[0], 0x80);
	CHECK_INT(size, 65 + mlen);
	if (stx_fits(&d)) {
		CHECK_INT(stx_sign(t, payer, &tx, &tlen, NULL, NULL, &e), 0);
		CHECK_INT(tlen, size);
		CHECK(tx != NULL && crypto_sign_verify_detached(tx + 1, msg, mlen, kp_pubkey(payer)->b) == 0);
	} else {
		CHECK_INT(stx_sign(t, payer, &tx, &tlen, NULL, NULL, &e), -1);
	}
	free(tx);
	free(msg);
	free(ix);
	stx_free(t);
	return size;
}

TEST(stx_v0_sizes_and_reference_maximum)
{
	struct kp *payer = seeded(0x01);
	struct sol_pubkey mint = wallet_n(0x6d1e7), bh = wallet_n(1);
	struct stx_table big = { wallet_n(2), NULL, STX_TABLE_MAX + 1 };
	size_t nl;

	/* The measured maximum: 55 recipients, one table, mint static, both budget instructions, 1221 bytes. */
	CHECK_INT(check_v0(55, false, 55, payer, &mint, &nl), 1221);
	CHECK_INT(nl, 1);
	CHECK(check_v0(56, false, 56, payer, &mint, &nl) > STX_PACKET_MAX);
	for (size_t n = 1; n <= 60; n += 7)
		for (size_t split = 0; split <= n; split += 5)
			for (int m = 0; m <= 1; m++)
				(void)check_v0(n, m, split, payer, &mint, &nl);
	CHECK(stx_new_v0(kp_pubkey(payer), &bh, &big, 1) == NULL);
	kp_free(payer);
}

/* ---- builder behaviour ---- */

TEST(stx_rollback_restores_bytes)
{
	struct kp *payer = seeded(0x01);
	struct sol_pubkey bh = wallet_n(1), mint = wallet_n(2), w = wallet_n(3), ata, w2 = wallet_n(4), ata2;
	struct solix *ix = calloc(4, sizeof(*ix));
	struct stx *a = stx_new(kp_pubkey(payer), &bh), *b = stx_new(kp_pubkey(payer), &bh);
	uint8_t *ma = NULL, *mb = NULL;
	size_t la = 0, lb = 0, mark;
	struct err e;

	CHECK_INT(pda_ata(&w, &mint, &pubkey_token_program, &ata, NULL), 0);
	CHECK_INT(pda_ata(&w2, &mint, &pubkey_token_program, &ata2, NULL), 0);
	solix_ata_create_idempotent(&ix[0], kp_pubkey(payer), &ata, &w, &mint, &pubkey_token_program);
	/* after the mark: makes the readonly wallet writable, and adds keys */
	solix_mint_to_checked(&ix[1], &pubkey_token_program, &w, &ata2, kp_pubkey(payer), 5, 0);
	solix_cu_limit(&ix[2], 1000);
	CHECK_INT(stx_add(a, ix, 1, &e), 0);
	CHECK_INT(stx_add(b, ix, 1, &e), 0);
	mark = stx_mark(b);
	CHECK_INT(stx_add(b, ix + 1, 2, &e), 0);
	CHECK(stx_size(b) > stx_size(a));
	stx_rollback(b, mark);
	CHECK_INT(stx_size(b), stx_size(a));
	CHECK_INT(stx_nkeys(b), stx_nkeys(a));
	CHECK_INT(stx_message(a, &ma, &la, &e), 0);
	CHECK_INT(stx_message(b, &mb, &lb, &e), 0);
	CHECK(la == lb && memcmp(ma, mb, la) == 0);
	free(ma);
	free(mb);
	free(ix);
	stx_free(a);
	stx_free(b);
	kp_free(payer);
}

TEST(stx_errors)
{
	struct kp *payer = seeded(0x01), *auth = seeded(0x61);
	struct sol_pubkey bh = wallet_n(1), mint = wallet_n(2), dest = wallet_n(3);
	struct solix *ix = calloc(300, sizeof(*ix));
	struct stx *t = stx_new(kp_pubkey(payer), &bh);
	struct kp *both[2] = { auth, payer };
	uint8_t *tx = NULL, *msg = NULL;
	size_t tlen, mlen;
	char sig58[89];
	struct err e;

	/* the payer cannot be a program */
	CHECK_INT(solix_init(&ix[0], kp_pubkey(payer), NULL, 0, NULL, 0, &e), 0);
	CHECK_INT(stx_add(t, ix, 1, &e), -1);
	CHECK_INT(e.code, STX_E_ARG);
	CHECK_INT(stx_size_if_added(t, ix, 1), SIZE_MAX);
	CHECK_INT(stx_nix(t), 0);
	/* a separate mint authority must sign too */
	solix_mint_to_checked(&ix[0], &pubkey_token_program, &mint, &dest, kp_pubkey(auth), 1, 0);
	CHECK_INT(stx_add(t, ix, 1, &e), 0);
	CHECK_INT(stx_sign(t, payer, &tx, &tlen, NULL, sig58, &e), -1);
	CHECK_INT(e.code, STX_E_SIGNER);
	CHECK_INT(stx_sign_multi(t, both, 2, &tx, &tlen, NULL, sig58, &e), 0);
	CHECK_INT(tlen, stx_size(t));
	CHECK_INT(stx_message(t, &msg, &mlen, &e), 0);
	if (tx != NULL && msg != NULL) {
		CHECK_INT(tx[0], 2);
		CHECK_INT(crypto_sign_verify_detached(tx + 1, msg, mlen, kp_pubkey(payer)->b), 0);
		CHECK_INT(crypto_sign_verify_detached(tx + 65, msg, mlen, kp_pubkey(auth)->b), 0);
	}
	free(tx);
	free(msg);
	stx_free(t);
	/* more than 256 keys can never be encoded: refused all or nothing */
	t = stx_new(kp_pubkey(payer), &bh);
	for (uint32_t i = 0; i < 300; i++) {
		struct sol_pubkey d = wallet_n(1000 + i);

		solix_mint_to_checked(&ix[i], &pubkey_token_program, &mint, &d, kp_pubkey(payer), 1, 0);
	}
	CHECK_INT(stx_size_if_added(t, ix, 300), SIZE_MAX);
	CHECK_INT(stx_add(t, ix, 300, &e), -1);
	CHECK_INT(e.code, STX_E_KEYS);
	CHECK_INT(stx_nix(t), 0);
	CHECK_INT(stx_nkeys(t), 1);
	CHECK_INT(stx_add(t, ix, 253, &e), 0); /* payer + mint + token + 253 = 256 */
	CHECK_INT(stx_nkeys(t), 256);
	CHECK_INT(stx_add(t, ix + 253, 1, &e), -1);
	stx_free(t);
	free(ix);
	kp_free(payer);
	kp_free(auth);
}

TEST(solix_memo_utf8)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "batch-0001", true }, { "", true }, { "\xc3\xa9t\xc3\xa9", true }, { "\xe2\x82\xac", true },
		{ "\xf0\x9f\x98\x80", true }, { "\xf4\x8f\xbf\xbf", true }, { "\xed\x9f\xbf", true },
		{ "\xc0\xaf", false },         /* overlong '/' */
		{ "\xe0\x80\xaf", false },     /* overlong */
		{ "\xf0\x80\x80\xaf", false }, /* overlong */
		{ "\xed\xa0\x80", false },     /* surrogate */
		{ "\xf4\x90\x80\x80", false }, /* > U+10FFFF */
		{ "\xf5\x80\x80\x80", false }, { "\xff", false }, { "\x80", false }, { "\xc3", false },
		{ "\xe2\x82", false }, { "a\xe2\x28\xa1", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct solix *ix = malloc(sizeof(*ix));
		struct err e;
		int rc = solix_memo(ix, cases[i].s, strlen(cases[i].s), &e);

		if (cases[i].ok) {
			CHECK_INT(rc, 0);
			CHECK_INT(ix->ndata, strlen(cases[i].s));
			CHECK_INT(ix->naccounts, 0);
		} else {
			CHECK_INT(rc, -1);
			CHECK_INT(e.code, SOLIX_E_UTF8);
		}
		free(ix);
	}
}

TEST(stx_base64_roundtrip)
{
	uint8_t in[100], out[100];
	char s[200];
	size_t n, got;
	struct err e;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	for (size_t len = 0; len <= 10; len++) {
		n = stx_base64(in, len, s, sizeof(s));
		CHECK_INT(n, (len + 2) / 3 * 4);
		CHECK_INT(stx_base64_decode(s, n, out, sizeof(out), &got, &e), 0);
		CHECK_INT(got, len);
		CHECK(memcmp(in, out, len) == 0);
	}
	CHECK_STR((stx_base64((const uint8_t *)"ab", 2, s, sizeof(s)), s), "YWI=");
	CHECK_INT(stx_base64(in, 3, s, 4), 0); /* no room for the NUL */
	CHECK_INT(stx_base64_decode("YWI", 3, out, sizeof(out), &got, &e), -1);
	CHECK_INT(stx_base64_decode("YW I=", 5, out, sizeof(out), &got, &e), -1);
	CHECK_INT(stx_base64_decode("YWI=YWI=", 8, out, sizeof(out), &got, &e), -1);
	CHECK_INT(stx_base64_decode("YWJj", 4, out, 2, &got, &e), -1);
}
