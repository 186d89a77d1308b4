/* test_plan.c: mintd's planner (mintd/plan.c, linked from libmintd.a): grouping per wallet, packing, limits. */
#include "t.h"

#include "mintd/plan.h"
#include "pda.h"
#include "pubkey.h"

#include <sodium.h>
#include <stdlib.h>

static struct kp *authority;

static void
setup(void)
{
	static uint8_t seed[32] = { 7 };

	memset(&S, 0, sizeof(S));
	memset(S.mint.b, 0x42, sizeof(S.mint.b));
	S.token_program = pubkey_token_program;
	S.decimals = 9;
	S.cu_create = 30000;
	S.cu_mint = 6000;
	S.max_wallets = 64;
	if (authority == NULL)
		authority = kp_from_seed(seed);
}

/* n readings over w wallets (reading i to wallet i % w), amount i + 1; each wallet's token account known when cached. */
static struct reading *
readings(size_t n, size_t w, struct atacache *cache)
{
	struct reading *r = calloc(n, sizeof(*r));

	for (size_t i = 0; i < n; i++) {
		struct sol_pubkey k, ata;

		memset(k.b, 0, sizeof(k.b));
		k.b[0] = (uint8_t)(i % w + 1);
		k.b[1] = (uint8_t)((i % w) >> 8);
		pubkey_to_b58(&k, r[i].wallet);
		snprintf(r[i].id, sizeof(r[i].id), "00000000-0000-4000-8000-%012u", (unsigned)(i % 1000000));
		r[i].amount = i + 1;
		if (cache != NULL && pda_ata(&k, &S.mint, &S.token_program, &ata, NULL) == 0)
			atacache_add(cache, &ata);
	}
	return r;
}

static struct plan_nonce *
nonces(size_t n)
{
	struct plan_nonce *v = calloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		struct sol_pubkey a, h;

		memset(a.b, (int)(0x10 + i), sizeof(a.b));
		memset(h.b, (int)(0x80 + i), sizeof(h.b));
		pubkey_to_b58(&a, v[i].address);
		pubkey_to_b58(&h, v[i].value);
	}
	return v;
}

/* One test's readings, nonces and cache (fx_done frees them). */
struct fx {
	struct atacache *cache;
	struct reading *r;
	struct plan_nonce *nv;
	struct plan p;
	struct err e;
};

static void
fx_start(struct fx *f, size_t n, size_t wallets, bool known, size_t nnonces)
{
	memset(f, 0, sizeof(*f));
	setup();
	f->cache = atacache_new();
	f->r = readings(n, wallets, known ? f->cache : NULL);
	f->nv = nonces(nnonces);
}

static void
fx_done(struct fx *f)
{
	free(f->r);
	free(f->nv);
	atacache_free(f->cache);
}

/* Every planned reading once, each transaction within the wire limit and on its own nonce, amounts summed. */
static size_t
check_plan(const struct plan *p, const struct reading *r, size_t n, const struct plan_nonce *nv)
{
	size_t seen = 0;
	char *once = calloc(n, 1);

	for (size_t t = 0; t < p->ntx; t++) {
		const struct ptx *x = &p->tx[t];
		unsigned long long sum = 0;

		CHECK(x->raw_len > 0 && x->raw_len <= 1232);
		CHECK_STR(x->nonce_account, nv[t].address);
		CHECK_STR(x->nonce_value, nv[t].value);
		for (size_t k = 0; k < x->nreadings; k++) {
			size_t i = (size_t)(x->readings[k] - r);

			CHECK(i < n && !once[i]);
			once[i] = 1;
			sum += x->readings[k]->amount;
			seen++;
		}
		CHECK_U64(strtoull(x->amount, NULL, 10), sum);
	}
	free(once);
	return seen;
}

TEST(plan_packs_known_accounts_as_many_wallets_as_fit)
{
	struct fx f;

	fx_start(&f, 60, 30, true, 4); /* two readings per wallet */
	CHECK(plan_build(f.r, 60, "b", f.nv, 4, 1000, authority, f.cache, NULL, &f.p, &f.e) == 0);
	CHECK_INT(f.p.ntx, 2);
	CHECK(f.p.tx[0].wallets >= 17); /* the README's figure for a legacy transaction, at least */
	CHECK_INT(f.p.tx[0].wallets + f.p.tx[1].wallets, 30);
	CHECK_INT(f.p.tx[0].creates + f.p.tx[1].creates, 0);
	CHECK_INT(check_plan(&f.p, f.r, 60, f.nv), 60);
	CHECK_INT(f.p.nrejected, 0);
	plan_free(&f.p);
	fx_done(&f);
}

TEST(plan_creates_at_most_10_accounts_a_transaction)
{
	struct fx f;

	fx_start(&f, 25, 25, false, 8); /* no token account known */
	CHECK(plan_build(f.r, 25, "b", f.nv, 8, 0, authority, f.cache, NULL, &f.p, &f.e) == 0);
	CHECK_INT(f.p.ntx, 3);
	for (size_t t = 0; t < f.p.ntx; t++)
		CHECK(f.p.tx[t].creates <= MINTD_MAX_CREATES && f.p.tx[t].creates == f.p.tx[t].wallets);
	CHECK_INT(check_plan(&f.p, f.r, 25, f.nv), 25);
	plan_free(&f.p);
	fx_done(&f);
}

TEST(plan_retried_wallets_alone_bad_wallets_rejected_nonces_bound_it)
{
	struct fx f;

	fx_start(&f, 12, 6, true, 3);
	f.r[0].attempts = 2; /* wallet 0 failed before: it gets a transaction of its own */
	snprintf(f.r[5].wallet, sizeof(f.r[5].wallet), "not-base58-0OIl"); /* wallet 5's first reading: invalid */
	CHECK(plan_build(f.r, 12, "b", f.nv, 3, 0, authority, f.cache, NULL, &f.p, &f.e) == 0);
	CHECK_INT(f.p.nrejected, 1);
	CHECK(f.p.rejected[0] == &f.r[5]);
	CHECK(strstr(f.p.reject_reason, "invalid wallet address") != NULL);
	CHECK_INT(f.p.ntx, 2);
	CHECK_INT(f.p.tx[0].wallets, 5); /* the others together, first */
	CHECK_INT(f.p.tx[1].wallets, 1); /* wallet 0 alone */
	CHECK_INT(f.p.tx[1].nreadings, 2);
	CHECK_INT(check_plan(&f.p, f.r, 12, f.nv), 11);
	plan_free(&f.p);
	/* one nonce: only the first transaction is planned; the rest waits for the next batch */
	CHECK(plan_build(f.r, 12, "b", f.nv, 1, 0, authority, f.cache, NULL, &f.p, &f.e) == 0);
	CHECK_INT(f.p.ntx, 1);
	CHECK_INT(check_plan(&f.p, f.r, 12, f.nv), 9);
	plan_free(&f.p);
	fx_done(&f);
}

TEST(plan_max_wallets_and_empty)
{
	struct fx f;

	fx_start(&f, 10, 10, true, 4);
	S.max_wallets = 4;
	CHECK(plan_build(f.r, 10, "b", f.nv, 4, 0, authority, f.cache, NULL, &f.p, &f.e) == 0);
	CHECK_INT(f.p.ntx, 3);
	CHECK_INT(f.p.tx[0].wallets, 4);
	CHECK_INT(f.p.tx[2].wallets, 2);
	plan_free(&f.p);
	CHECK(plan_build(f.r, 0, "b", f.nv, 4, 0, authority, f.cache, NULL, &f.p, &f.e) == 0);
	CHECK_INT(f.p.ntx, 0);
	plan_free(&f.p);
	fx_done(&f);
}

/* ---- v0 with lookup tables ---- */

/* Two tables: the mint and the sysvar, then the token accounts of wallets [0, 150) and [150, 300). */
static struct sol_pubkey tab_addrs[2][256];
static struct stx_table tabs[2];

static void
tables_for(size_t wallets)
{
	for (int t = 0; t < 2; t++) {
		memset(tabs[t].address.b, 0x70 + t, 32);
		tabs[t].addrs = tab_addrs[t];
		tabs[t].naddrs = 0;
		tab_addrs[t][tabs[t].naddrs++] = S.mint;
		tab_addrs[t][tabs[t].naddrs++] = pubkey_sysvar_recent_blockhashes;
	}
	for (size_t i = 0; i < wallets; i++) {
		struct sol_pubkey k, ata;
		struct stx_table *tb = &tabs[i < 150 ? 0 : 1];

		memset(k.b, 0, sizeof(k.b));
		k.b[0] = (uint8_t)(i + 1);
		k.b[1] = (uint8_t)(i >> 8);
		if (pda_ata(&k, &S.mint, &S.token_program, &ata, NULL) == 0)
			tab_addrs[tb - tabs][tb->naddrs++] = ata;
	}
}

static const struct stx_table *
table_of(const struct sol_pubkey *account)
{
	for (int t = 0; t < 2; t++)
		for (size_t j = 2; j < tabs[t].naddrs; j++)
			if (pubkey_eq(&tabs[t].addrs[j], account))
				return &tabs[t];
	return NULL;
}

TEST(plan_v0_packs_53_wallets_from_one_table)
{
	struct fx f;

	fx_start(&f, 106, 106, true, 8);
	tables_for(106);
	CHECK(plan_build(f.r, 106, "b", f.nv, 8, 1000, authority, f.cache, table_of, &f.p, &f.e) == 0);
	CHECK_INT(f.p.ntx, 2);
	CHECK_INT(f.p.tx[0].wallets, 53); /* the README's figure: 330 + 17 per wallet <= 1232 */
	CHECK_INT(f.p.tx[1].wallets, 53);
	for (size_t t = 0; t < f.p.ntx; t++) {
		CHECK(f.p.tx[t].v0);
		CHECK_INT(f.p.tx[t].nlookups, 1);
		CHECK_INT(f.p.tx[t].raw[65], 0x80);
	}
	CHECK_INT(check_plan(&f.p, f.r, 106, f.nv), 106);
	plan_free(&f.p);
	/* counting only: the same packing, no nonce needed, nothing signed */
	CHECK(plan_build(f.r, 106, "b", NULL, 0, 1000, authority, f.cache, table_of, &f.p, &f.e) == 0);
	CHECK_INT(f.p.ntx, 2);
	CHECK(f.p.tx[0].raw == NULL);
	plan_free(&f.p);
	fx_done(&f);
}

TEST(plan_v0_groups_by_table_and_mixes_accounts_named_in_full)
{
	struct fx f;

	fx_start(&f, 200, 200, true, 8);
	tables_for(180); /* wallets 180.. are in no table */
	CHECK(plan_build(f.r, 200, "b", f.nv, 8, 1000, authority, f.cache, table_of, &f.p, &f.e) == 0);
	CHECK_INT(check_plan(&f.p, f.r, 200, f.nv), 200);
	/* 150 from table 0: 53 + 53 + 44 then table 1's; at most one transaction spans both tables */
	CHECK_INT(f.p.tx[0].nlookups, 1);
	CHECK_INT(f.p.tx[0].wallets, 53);
	{
		int spanning = 0;

		for (size_t t = 0; t < f.p.ntx; t++)
			spanning += f.p.tx[t].nlookups > 1;
		CHECK(spanning <= 1);
	}
	plan_free(&f.p);
	fx_done(&f);
}

TEST(plan_v0_trace_limit_with_creations)
{
	struct fx f;

	/* 10 new accounts and 40 known: the trace (4 CPIs per creation) caps the transaction, not its size */
	fx_start(&f, 50, 50, true, 8);
	for (size_t i = 40; i < 50; i++) {
		struct sol_pubkey k, ata;

		memset(k.b, 0, sizeof(k.b));
		k.b[0] = (uint8_t)(i + 1);
		if (pda_ata(&k, &S.mint, &S.token_program, &ata, NULL) == 0)
			atacache_forget(f.cache, &ata);
	}
	tables_for(40);
	CHECK(plan_build(f.r, 50, "b", f.nv, 8, 1000, authority, f.cache, table_of, &f.p, &f.e) == 0);
	CHECK_INT(check_plan(&f.p, f.r, 50, f.nv), 50);
	for (size_t t = 0; t < f.p.ntx; t++) {
		size_t nix = f.p.tx[t].nix;

		CHECK(nix + 4 * (size_t)f.p.tx[t].creates <= 64);
	}
	plan_free(&f.p);
	fx_done(&f);
}

/*
 * A token account's creation is counted once, however many confirmed transactions carried it (two in flight
 * at once may both create one wallet's account; the second is a no-op on chain), and whether or not a lookup
 * found the account first; once the account is forgotten (closed by its owner), a new creation counts again.
 */
TEST(atacache_counts_each_creation_once)
{
	struct atacache *c = atacache_new();
	struct sol_pubkey a, b;

	memset(a.b, 1, sizeof(a.b));
	memset(b.b, 2, sizeof(b.b));
	CHECK(atacache_created(c, &a));
	CHECK(!atacache_created(c, &a));
	atacache_add(c, &a); /* a lookup that finds it afterwards does not make it uncounted */
	CHECK(!atacache_created(c, &a));
	atacache_add(c, &b); /* found by a lookup before the creating transaction's confirmation came in */
	CHECK(atacache_has(c, &b));
	CHECK(atacache_created(c, &b));
	CHECK(!atacache_created(c, &b));
	atacache_forget(c, &a);
	CHECK(!atacache_has(c, &a));
	CHECK(atacache_created(c, &a));
	atacache_free(c);
}
