/* plan.c: per-wallet grouping, token-account existence, packing under Solana's limits, signing. */
#include "plan.h"
#include "keymap.h"
#include "pda.h"
#include "soltx.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- known token accounts ---- */

#define ATACACHE_MAX (1u << 22) /* ~4M accounts (160 MiB); beyond that start over (costs lookups, not safety) */

struct atacache {
	struct keymap *m;
};

struct atacache *
atacache_new(void)
{
	struct atacache *c = xcalloc(1, sizeof(*c));

	c->m = keymap_new(ATACACHE_MAX);
	return c;
}

void
atacache_free(struct atacache *c)
{
	if (c == NULL)
		return;
	keymap_free(c->m);
	free(c);
}

/* What the cache knows of a token account: it exists, or one of our confirmed transactions created it. */
enum { ATA_EXISTS = 1, ATA_CREATED = 2 };

bool
atacache_has(const struct atacache *c, const struct sol_pubkey *k)
{
	return keymap_get(c->m, k, NULL);
}

void
atacache_add(struct atacache *c, const struct sol_pubkey *k)
{
	if (!keymap_get(c->m, k, NULL))
		keymap_put(c->m, k, ATA_EXISTS);
}

bool
atacache_created(struct atacache *c, const struct sol_pubkey *k)
{
	uint32_t v;

	if (keymap_get(c->m, k, &v) && v == ATA_CREATED)
		return false;
	keymap_put(c->m, k, ATA_CREATED);
	return true;
}

void
atacache_forget(struct atacache *c, const struct sol_pubkey *k)
{
	keymap_del(c->m, k);
}

/* ---- grouping ---- */

struct group {
	struct sol_pubkey wallet, ata;
	const struct stx_table *table; /* the lookup table that holds ata (NULL: named in full) */
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

/* Groups of one table together (tables by address, accounts named in full last), wallets in order inside. */
static int
by_table(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c;

	if (x->table != y->table) {
		if (x->table == NULL || y->table == NULL)
			return x->table == NULL ? 1 : -1;
		if ((c = memcmp(x->table->address.b, y->table->address.b, 32)) != 0)
			return c;
	}
	return strcmp(x->wallet_text, y->wallet_text);
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
		stx_free(t->stx);
	}
	free(p->tx);
	free(p->tables);
	free(p->rejected);
	memset(p, 0, sizeof(*p));
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

/*
 * A transaction's head: AdvanceNonceAccount (first, as durable nonces require), the compute-unit limit and
 * price. No memo: the nonce (account, value) already makes every transaction distinct, and the batch is
 * in the database, not worth 80 bytes (4 wallets) of every transaction.
 */
static int
head(struct stx *t, const struct sol_pubkey *nonce, const struct sol_pubkey *authority, uint32_t cu_limit,
    uint64_t cu_price, struct err *e)
{
	struct solix *ix = xcalloc(3, sizeof(*ix));
	int rc;

	solix_nonce_advance(&ix[0], nonce, authority);
	solix_cu_limit(&ix[1], cu_limit);
	solix_cu_price(&ix[2], cu_price);
	rc = stx_add(t, ix, 3, e);
	free(ix);
	return rc;
}

#define HEAD_IXS 3

/* What the plan's instructions need: the head (nonce advance and budget, measured 450) with margin, then per
 * instruction the configured budgets. The fee is limit x price, so an honest limit is a cheaper fee. */
static uint32_t
cu_limit_for(int creates, int wallets)
{
	uint64_t l = 2000 + (uint64_t)creates * S.cu_create + (uint64_t)wallets * S.cu_mint;

	return l > 1400000 ? 1400000 : (uint32_t)l;
}

uint32_t
plan_budget(const struct ptx *t)
{
	return cu_limit_for(t->creates, t->wallets);
}

uint64_t
plan_fee(uint32_t cu_limit, uint64_t cu_price)
{
	return 5000 + (uint64_t)(((unsigned __int128)cu_limit * cu_price + 999999) / 1000000);
}

/* Signs t's message into t->raw and t->sig (replacing what was there). */
static int
sign(struct ptx *t, struct kp *kp, struct err *e)
{
	struct stx_dims d;

	free(t->raw);
	t->raw = NULL;
	if (stx_sign(t->stx, kp, &t->raw, &t->raw_len, NULL, t->sig, e) < 0)
		return -1;
	stx_dims(t->stx, &d);
	t->v0 = stx_is_v0(t->stx);
	t->nlookups = (int)d.nlookups;
	return 0;
}

int
plan_resign(struct ptx *t, uint32_t cu_limit, struct kp *kp, struct err *e)
{
	struct solix *ix = xcalloc(1, sizeof(*ix));
	int rc;

	solix_cu_limit(ix, cu_limit);
	rc = stx_replace(t->stx, 1, ix, e); /* the head: advance, limit, price */
	free(ix);
	if (rc < 0)
		return -1;
	t->cu_limit = cu_limit;
	t->fee = plan_fee(cu_limit, t->cu_price);
	return sign(t, kp, e);
}

/* Decimal text of a 128-bit amount (the sum of a transaction's readings can pass 2^64). */
static void
u128_text(unsigned __int128 v, char out[48])
{
	char tmp[48];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v > 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

/* Builds, signs and records one transaction over groups g[0..ng) on nonce nc. */
static int
finish(struct group *const *g, size_t ng, const size_t *order, const struct reading *rd, int index,
    const struct plan_nonce *nc, uint64_t cu_price, const struct plan *p, struct kp *kp, struct ptx *out,
    struct err *e)
{
	const struct sol_pubkey *payer = kp_pubkey(kp);
	struct sol_pubkey nonce, value;
	struct stx *t = NULL;
	struct solix *ix = xcalloc(2, sizeof(*ix));
	size_t nr = 0, nix = HEAD_IXS;
	unsigned __int128 sum = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->index = index;
	if (nc == NULL) {
		/* Counting only: any distinct nonce key sizes the same. */
		memset(nonce.b, 0xa5, sizeof(nonce.b));
		memset(value.b, 0, sizeof(value.b));
	} else if (pubkey_from_b58(nc->address, &nonce, e) < 0 || pubkey_from_b58(nc->value, &value, e) < 0) {
		err_prefix(e, "nonce %s", nc->address);
		goto out;
	}
	t = p->ntables > 0 ? stx_new_v0(payer, &value, p->tables, p->ntables) : stx_new(payer, &value);
	if (t == NULL) {
		err_set(e, 0, "out of memory");
		goto out;
	}
	snprintf(out->nonce_account, sizeof(out->nonce_account), "%s", nc != NULL ? nc->address : "");
	snprintf(out->nonce_value, sizeof(out->nonce_value), "%s", nc != NULL ? nc->value : "");
	for (size_t i = 0; i < ng; i++) {
		out->creates += g[i]->create;
		nr += g[i]->n;
		nix += g[i]->create ? 2 : 1;
		sum += g[i]->sum;
	}
	u128_text(sum, out->amount);
	out->wallets = (int)ng;
	out->cu_price = cu_price;
	out->cu_limit = cu_limit_for(out->creates, out->wallets);
	out->fee = plan_fee(out->cu_limit, cu_price);
	out->readings = xcalloc(nr, sizeof(*out->readings));
	out->ix_wallets = xcalloc(nix, sizeof(*out->ix_wallets));
	out->created = xcalloc(out->creates > 0 ? (size_t)out->creates : 1, sizeof(*out->created));
	out->nix = HEAD_IXS;
	if (head(t, &nonce, payer, out->cu_limit, cu_price, e) < 0)
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
	out->stx = t;
	t = NULL;
	if (nc != NULL && sign(out, kp, e) < 0)
		goto out;
	rc = 0;
out:
	free(ix);
	stx_free(t);
	return rc;
}

/*
 * The instruction trace (top-level instructions and every CPI) holds 64: a creation that creates the account
 * takes STX_TRACE_ATA_CREATE slots (4 of them CPIs), everything else in a mint transaction one.
 */
static bool
trace_fits(const struct stx_dims *d, int creates)
{
	return d->nix + (size_t)creates * (STX_TRACE_ATA_CREATE - 1) <= STX_MAX_TRACE;
}

/* Appends the transaction of the current packing to p (grows p->tx). */
static int
emit(struct plan *p, size_t *cap, struct group *const *cur, size_t ncur, const size_t *order,
    const struct reading *rd, const struct plan_nonce *nonces, uint64_t cu_price, struct kp *kp, struct err *e)
{
	int rc;

	if (p->ntx == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		p->tx = xreallocarray(p->tx, *cap, sizeof(*p->tx));
	}
	rc = finish(cur, ncur, order, rd, (int)p->ntx, nonces != NULL ? &nonces[p->ntx] : NULL, cu_price, p, kp,
	    &p->tx[p->ntx], e);
	p->ntx++; /* even on failure: plan_free frees what finish allocated */
	return rc;
}

/* The distinct tables of the groups (at most STX_MAX_TABLES; a group past that is named in full). */
static void
collect_tables(struct group *g, size_t ng, struct plan *p)
{
	p->tables = xcalloc(ng > 0 ? ng : 1, sizeof(*p->tables));
	for (size_t i = 0; i < ng; i++) {
		size_t j;

		if (g[i].table == NULL)
			continue;
		for (j = 0; j < p->ntables && memcmp(p->tables[j].address.b, g[i].table->address.b, 32) != 0; j++)
			;
		if (j == p->ntables) {
			if (p->ntables == STX_MAX_TABLES) {
				g[i].table = NULL;
				continue;
			}
			p->tables[p->ntables++] = *g[i].table; /* a snapshot: the count of usable addresses now */
		}
	}
}

int
plan_build(const struct reading *rd, size_t n, const char *batch_id, const struct plan_nonce *nonces,
    size_t nnonces, uint64_t cu_price, struct kp *kp, struct atacache *cache, plan_table_fn table_for,
    struct plan *p, struct err *e)
{
	size_t *order = xcalloc(n > 0 ? n : 1, sizeof(*order));
	struct group *g = xcalloc(n > 0 ? n : 1, sizeof(*g));
	struct group **cur = xcalloc(n > 0 ? n : 1, sizeof(*cur));
	struct solix *ix = xcalloc(2, sizeof(*ix));
	const struct sol_pubkey *payer = kp_pubkey(kp);
	struct sol_pubkey dummy = { { 0 } }, dummy_nonce; /* sizing stand-ins: a blockhash, and a distinct key */
	struct stx *sizing = NULL;
	size_t ng = 0, ncur = 0, cap = 0;
	int creates = 0, rc = -1;
	bool cur_alone = false;

	(void)batch_id;
	memset(dummy_nonce.b, 0xa5, sizeof(dummy_nonce.b));
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
			continue;
		}
		g[ng].wallet = w;
		g[ng].wallet_text = r->wallet;
		g[ng].sum = r->amount;
		g[ng].alone = r->attempts > 0;
		g[ng].create = !atacache_has(cache, &g[ng].ata);
		g[ng].table = !g[ng].create && table_for != NULL ? table_for(&g[ng].ata) : NULL;
		g[ng].first = i;
		g[ng].n = 1;
		ng++;
	}
	/* A rejected reading between two of one wallet would break contiguity; wallets sort together, so
	 * a rejected wallet is never the same text as a valid one. */
	qsort(g, ng, sizeof(*g), by_table);
	collect_tables(g, ng, p);

	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ng; i++) {
			struct stx_dims d;
			size_t k;

			if (g[i].alone != (pass == 1))
				continue;
			k = wallet_ixs(&g[i], payer, ix);
			if (sizing != NULL && !cur_alone && !g[i].alone && (int)ncur < S.max_wallets &&
			    creates + g[i].create <= MINTD_MAX_CREATES && stx_dims_if_added(sizing, ix, k, &d) == 0 &&
			    stx_fits(&d) && trace_fits(&d, creates + g[i].create)) {
				if (stx_add(sizing, ix, k, e) < 0)
					goto out;
				cur[ncur++] = &g[i];
				creates += g[i].create;
				continue;
			}
			if (sizing != NULL) {
				if (emit(p, &cap, cur, ncur, order, rd, nonces, cu_price, kp, e) < 0)
					goto out;
				stx_free(sizing);
				sizing = NULL;
			}
			if (nonces != NULL && p->ntx == nnonces)
				goto done; /* out of nonces: the rest waits for the next batch */
			/* Sizes do not depend on the nonce's key or value: size with a placeholder. */
			sizing = p->ntables > 0 ? stx_new_v0(payer, &dummy, p->tables, p->ntables) : stx_new(payer, &dummy);
			if (sizing == NULL) {
				err_set(e, 0, "out of memory");
				goto out;
			}
			if (head(sizing, &dummy_nonce, payer, 0, 0, e) < 0 || stx_add(sizing, ix, k, e) < 0)
				goto out;
			cur[0] = &g[i];
			ncur = 1;
			creates = g[i].create;
			cur_alone = g[i].alone;
		}
	}
	if (sizing != NULL && emit(p, &cap, cur, ncur, order, rd, nonces, cu_price, kp, e) < 0)
		goto out;
done:
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
