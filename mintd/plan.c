/* plan.c: per-wallet grouping, token-account existence, packing under Solana's limits, signing. */
#include "plan.h"
#include "pda.h"
#include "soltx.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- known token accounts: open addressing on the (already uniformly random) key bytes ---- */

#define ATACACHE_MAX (1u << 22) /* ~4M accounts (128 MiB); beyond that start over (costs lookups, not safety) */

struct atacache {
	struct sol_pubkey *k;
	uint8_t *used;
	size_t cap, n;
};

struct atacache *
atacache_new(void)
{
	struct atacache *c = xcalloc(1, sizeof(*c));

	c->cap = 1024;
	c->k = xcalloc(c->cap, sizeof(*c->k));
	c->used = xcalloc(c->cap, 1);
	return c;
}

void
atacache_free(struct atacache *c)
{
	if (c == NULL)
		return;
	free(c->k);
	free(c->used);
	free(c);
}

static size_t
slot_of(const struct atacache *c, const struct sol_pubkey *k)
{
	size_t h;

	memcpy(&h, k->b, sizeof(h));
	h &= c->cap - 1;
	while (c->used[h] && !pubkey_eq(&c->k[h], k))
		h = (h + 1) & (c->cap - 1);
	return h;
}

bool
atacache_has(const struct atacache *c, const struct sol_pubkey *k)
{
	return c->used[slot_of(c, k)] != 0;
}

void
atacache_add(struct atacache *c, const struct sol_pubkey *k)
{
	size_t h;

	if (atacache_has(c, k))
		return;
	if ((c->n + 1) * 2 > c->cap) {
		struct atacache old = *c;

		if (c->cap >= ATACACHE_MAX) {
			memset(c->used, 0, c->cap);
			c->n = 0;
		} else {
			c->cap *= 2;
			c->k = xcalloc(c->cap, sizeof(*c->k));
			c->used = xcalloc(c->cap, 1);
			c->n = 0;
			for (size_t i = 0; i < old.cap; i++)
				if (old.used[i])
					atacache_add(c, &old.k[i]);
			free(old.k);
			free(old.used);
		}
	}
	h = slot_of(c, k);
	c->k[h] = *k;
	c->used[h] = 1;
	c->n++;
}

/* ---- grouping ---- */

struct group {
	struct sol_pubkey wallet, ata;
	const char *wallet_text;
	uint64_t sum;
	bool alone;       /* some reading has failed before: mint this wallet in a transaction of its own */
	bool create;      /* token account not known to exist */
	size_t first, n;  /* range in the sorted index array */
};

static const struct reading *sort_base;

static int
by_wallet(const void *a, const void *b)
{
	return strcmp(sort_base[*(const size_t *)a].wallet, sort_base[*(const size_t *)b].wallet);
}

void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->ntx; i++) {
		struct ptx *t = &p->tx[i];

		free(t->raw);
		free(t->readings);
		for (size_t j = 0; j < t->nix; j++)
			free(t->ix_wallets[j]);
		free(t->ix_wallets);
		free(t->created);
	}
	free(p->tx);
	free(p->rejected);
	memset(p, 0, sizeof(*p));
}

/* Marks groups whose token account exists (cache, then getMultipleAccounts for the rest). */
static void
resolve_atas(struct group *g, size_t ng, struct atacache *cache, struct rpc *rpc)
{
	struct sol_pubkey keys[RPC_MAX_ACCOUNTS];
	size_t idx[RPC_MAX_ACCOUNTS];
	struct rpc_account acc[RPC_MAX_ACCOUNTS];
	struct err e = { 0 };
	size_t k = 0;

	for (size_t i = 0; i <= ng; i++) {
		if (i < ng) {
			g[i].create = !atacache_has(cache, &g[i].ata);
			if (!g[i].create)
				continue;
			keys[k] = g[i].ata;
			idx[k++] = i;
			if (k < RPC_MAX_ACCOUNTS)
				continue;
		}
		if (k == 0)
			continue;
		memset(acc, 0, sizeof(acc));
		/* On failure every unknown account is created idempotently: costs compute, never correctness. */
		if (rpc_get_multiple_accounts(rpc, keys, k, RPC_COMMIT_CONFIRMED, acc, NULL, &e) == 0) {
			for (size_t j = 0; j < k; j++) {
				if (acc[j].exists && acc[j].data_len >= 165 && pubkey_eq(&acc[j].owner, &S.token_program)) {
					atacache_add(cache, &keys[j]);
					g[idx[j]].create = false;
				}
			}
		}
		rpc_accounts_clear(acc, k);
		k = 0;
	}
}

/* The instructions for one wallet: [CreateIdempotent] MintToChecked. Returns the count. */
static size_t
wallet_ixs(const struct group *g, const struct sol_pubkey *payer, struct solix ix[2])
{
	size_t n = 0;

	if (g->create)
		solix_ata_create_idempotent(&ix[n++], payer, &g->ata, &g->wallet, &S.mint, &S.token_program);
	solix_mint_to_checked(&ix[n++], &S.token_program, &S.mint, &g->ata, payer, g->sum, S.decimals);
	return n;
}

/* A transaction's head: compute limit and price, and the memo that makes equal mints distinct. */
static int
head(struct stx *t, uint32_t cu_limit, const char *batch_id, int index, struct err *e)
{
	struct solix *ix = xcalloc(3, sizeof(*ix));
	char memo[64];
	int len = snprintf(memo, sizeof(memo), "gtx:%s:%d", batch_id, index);
	int rc;

	solix_cu_limit(&ix[0], cu_limit);
	solix_cu_price(&ix[1], S.cu_price);
	rc = solix_memo(&ix[2], memo, (size_t)len, e);
	if (rc == 0)
		rc = stx_add(t, ix, 3, e);
	free(ix);
	return rc;
}

#define HEAD_IXS 3

static uint32_t
cu_limit_for(int creates, int wallets)
{
	uint64_t l = 5000 + (uint64_t)creates * S.cu_create + (uint64_t)wallets * S.cu_mint;

	return l > 1400000 ? 1400000 : (uint32_t)l;
}

/* Builds, signs and records one transaction over groups g[0..ng). */
static int
finish(struct group *const *g, size_t ng, const size_t *order, const struct reading *rd, const char *batch_id,
    int index, const struct sol_pubkey *bh, struct kp *kp, struct ptx *out, struct err *e)
{
	const struct sol_pubkey *payer = kp_pubkey(kp);
	struct stx *t = stx_new(payer, bh);
	struct solix *ix = xcalloc(2, sizeof(*ix));
	size_t nr = 0, nix = HEAD_IXS;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->index = index;
	if (t == NULL) {
		err_set(e, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ng; i++) {
		out->creates += g[i]->create;
		nr += g[i]->n;
		nix += g[i]->create ? 2 : 1;
	}
	out->wallets = (int)ng;
	out->cu_limit = cu_limit_for(out->creates, out->wallets);
	out->fee = 5000 + (out->cu_limit * S.cu_price + 999999) / 1000000;
	out->readings = xcalloc(nr, sizeof(*out->readings));
	out->ix_wallets = xcalloc(nix, sizeof(*out->ix_wallets));
	out->created = xcalloc(out->creates > 0 ? (size_t)out->creates : 1, sizeof(*out->created));
	out->nix = HEAD_IXS;
	if (head(t, out->cu_limit, batch_id, index, e) < 0)
		goto out;
	for (size_t i = 0, c = 0; i < ng; i++) {
		size_t k = wallet_ixs(g[i], payer, ix);

		if (stx_add(t, ix, k, e) < 0)
			goto out;
		for (size_t j = 0; j < k; j++)
			out->ix_wallets[out->nix++] = xstrdup(g[i]->wallet_text);
		if (g[i]->create)
			out->created[c++] = g[i]->ata;
		for (size_t j = 0; j < g[i]->n; j++)
			out->readings[out->nreadings++] = &rd[order[g[i]->first + j]];
	}
	if (stx_sign(t, kp, &out->raw, &out->raw_len, NULL, out->sig, e) < 0)
		goto out;
	rc = 0;
out:
	free(ix);
	stx_free(t);
	return rc;
}

int
plan_build(const struct reading *rd, size_t n, const char *batch_id, const struct sol_pubkey *bh, struct kp *kp,
    struct atacache *cache, struct rpc *rpc, struct plan *p, struct err *e)
{
	size_t *order = xcalloc(n > 0 ? n : 1, sizeof(*order));
	struct group *g = xcalloc(n > 0 ? n : 1, sizeof(*g));
	struct group **cur = xcalloc(n > 0 ? n : 1, sizeof(*cur));
	struct solix *ix = xcalloc(2, sizeof(*ix));
	const struct sol_pubkey *payer = kp_pubkey(kp);
	struct stx *sizing = NULL;
	size_t ng = 0, ncur = 0, cap = 0;
	int creates = 0, rc = -1;
	bool cur_alone = false;

	memset(p, 0, sizeof(*p));
	p->rejected = xcalloc(n > 0 ? n : 1, sizeof(*p->rejected));
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	sort_base = rd;
	qsort(order, n, sizeof(*order), by_wallet);

	/* Groups: consecutive readings of one wallet, split only if the u64 sum would overflow. */
	for (size_t i = 0; i < n; i++) {
		const struct reading *r = &rd[order[i]];
		struct group *last = ng > 0 ? &g[ng - 1] : NULL;
		struct sol_pubkey w;
		struct err we = { 0 };

		if (last != NULL && strcmp(last->wallet_text, r->wallet) == 0 && r->amount <= UINT64_MAX - last->sum) {
			last->sum += r->amount;
			last->n++;
			last->alone |= r->attempts > 0;
			continue;
		}
		if (pubkey_from_b58(r->wallet, &w, &we) < 0 || pda_ata(&w, &S.mint, &S.token_program, &g[ng].ata, NULL) < 0) {
			snprintf(p->reject_reason, sizeof(p->reject_reason), "invalid wallet address: %s", we.msg);
			p->rejected[p->nrejected++] = r;
			/* keep the sorted order contiguous for the groups that follow */
			continue;
		}
		g[ng].wallet = w;
		g[ng].wallet_text = r->wallet;
		g[ng].sum = r->amount;
		g[ng].alone = r->attempts > 0;
		g[ng].first = i;
		g[ng].n = 1;
		ng++;
	}
	/* A rejected reading between two of one wallet would break contiguity; wallets sort together, so
	 * a rejected wallet is never the same text as a valid one. */
	resolve_atas(g, ng, cache, rpc);

	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ng; i++) {
			struct stx_dims d;
			size_t k;

			if (g[i].alone != (pass == 1))
				continue;
			k = wallet_ixs(&g[i], payer, ix);
			if (sizing != NULL && !cur_alone && !g[i].alone && (int)ncur < S.max_wallets &&
			    creates + g[i].create <= MINTD_MAX_CREATES && stx_dims_if_added(sizing, ix, k, &d) == 0 &&
			    stx_fits(&d)) {
				if (stx_add(sizing, ix, k, e) < 0)
					goto out;
				cur[ncur++] = &g[i];
				creates += g[i].create;
				continue;
			}
			if (sizing != NULL) {
				if (p->ntx == cap) {
					cap = cap ? cap * 2 : 4;
					p->tx = xreallocarray(p->tx, cap, sizeof(*p->tx));
				}
				if (finish(cur, ncur, order, rd, batch_id, (int)p->ntx, bh, kp, &p->tx[p->ntx], e) < 0) {
					p->ntx++;
					goto out;
				}
				p->ntx++;
				stx_free(sizing);
			}
			if ((sizing = stx_new(payer, bh)) == NULL) {
				err_set(e, 0, "out of memory");
				goto out;
			}
			if (head(sizing, 0, batch_id, (int)p->ntx, e) < 0 || stx_add(sizing, ix, k, e) < 0)
				goto out;
			cur[0] = &g[i];
			ncur = 1;
			creates = g[i].create;
			cur_alone = g[i].alone;
		}
	}
	if (sizing != NULL) {
		if (p->ntx == cap) {
			cap = cap ? cap * 2 : 4;
			p->tx = xreallocarray(p->tx, cap, sizeof(*p->tx));
		}
		rc = finish(cur, ncur, order, rd, batch_id, (int)p->ntx, bh, kp, &p->tx[p->ntx], e);
		p->ntx++;
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	stx_free(sizing);
	free(ix);
	free(cur);
	free(g);
	free(order);
	if (rc < 0)
		plan_free(p);
	return rc;
}
