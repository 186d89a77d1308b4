/* store_audit.c: the audit's reads: wallets page by page, their sums at a slot, the supply's figures, details. */
#include "store_audit.h"
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A reading counts for the configured mint when the transaction that minted it was signed for that mint (or
 * predates the column: 004 added it, and every mint since records it). Used by every statement below.
 */
#define FOR_MINT(t, p) "coalesce(" t ".mint, " p ") = " p

int
store_audit_wallets(struct store *s, const char *mint, const char *after, int limit, char (**out)[MINTD_WALLET_SZ],
    size_t *n, struct err *e)
{
	char lim[16];
	const char *p[3] = { mint, after, lim };
	PGresult *r;
	int rows;

	*out = NULL;
	*n = 0;
	snprintf(lim, sizeof(lim), "%d", limit);
	/* Each side walks its index in order and stops after `limit` distinct wallets. */
	r = store_q(s, "SELECT w FROM ("
		 " (SELECT DISTINCT wallet_address AS w FROM meter_readings WHERE wallet_address > $2 ORDER BY 1 LIMIT $3::int)"
		 " UNION"
		 " (SELECT DISTINCT wallet FROM audit_adjustments WHERE mint = $1 AND wallet > $2 ORDER BY 1 LIMIT $3::int)"
		 ") x ORDER BY w LIMIT $3::int", 3, p, e);
	if (r == NULL)
		return -1;
	rows = PQntuples(r);
	if (rows > 0 && (*out = calloc((size_t)rows, sizeof(**out))) == NULL) {
		PQclear(r);
		return err_set(e, 0, "out of memory");
	}
	for (int i = 0; i < rows; i++) {
		if (PQgetlength(r, i, 0) >= MINTD_WALLET_SZ) {
			/* A wallet is a copy of its meter's, which is checked to be 32-44 characters: never here. */
			err_set(e, 0, "a reading's wallet is %d bytes long (at most %d expected)", PQgetlength(r, i, 0),
			    MINTD_WALLET_SZ - 1);
			free(*out);
			*out = NULL;
			PQclear(r);
			return -1;
		}
		memcpy((*out)[i], PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0) + 1);
	}
	*n = (size_t)rows;
	PQclear(r);
	return 0;
}

/* A Postgres array literal of n elements, each from at(i) (wallets: base58, so no quoting is needed). */
static char *
array_literal(size_t n, const char *(*at)(const void *, size_t, char *), const void *v)
{
	size_t cap = 2 + n * (MINTD_WALLET_SZ + 1), len = 0;
	char *s = malloc(cap), tmp[MINTD_WALLET_SZ];

	if (s == NULL)
		return NULL;
	s[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		const char *x = at(v, i, tmp);
		size_t l = strlen(x);

		if (i > 0)
			s[len++] = ',';
		s[len++] = '"';
		memcpy(s + len, x, l);
		len += l;
		s[len++] = '"';
	}
	s[len++] = '}';
	s[len] = '\0';
	return s;
}

static const char *
wallet_at(const void *v, size_t i, char *tmp)
{
	(void)tmp;
	return (const char *)v + i * MINTD_WALLET_SZ;
}

static const char *
slot_at(const void *v, size_t i, char *tmp)
{
	snprintf(tmp, MINTD_WALLET_SZ, "%" PRIu64, ((const uint64_t *)v)[i]);
	return tmp;
}

int
store_audit_sums(struct store *s, const char *mint, const char (*w)[MINTD_WALLET_SZ], const uint64_t *slots,
    size_t n, struct audit_sums *out, struct err *e)
{
	char *wl, *sl;
	const char *p[3];
	PGresult *r;

	memset(out, 0, n * sizeof(*out));
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strchr(w[i], '"') != NULL || strchr(w[i], '\\') != NULL)
			return err_set(e, 0, "wallet %zu is not base58 text", i);
	wl = array_literal(n, wallet_at, w);
	sl = array_literal(n, slot_at, slots);
	if (wl == NULL || sl == NULL) {
		free(wl);
		free(sl);
		return err_set(e, 0, "out of memory");
	}
	p[0] = mint;
	p[1] = wl;
	p[2] = sl;
	/*
	 * Per wallet and transaction first (one pass over its readings), then per wallet against the slot its
	 * account was read at: what landed by then, what landed later (not in that balance), what is in flight.
	 */
	r = store_q(s, "WITH c AS (SELECT w, sl, i FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS c(w, sl, i)), "
		 "g AS (SELECT r.wallet_address AS w, r.status, t.state, t.id AS tx, t.slot, sum(r.token_amount) AS amt, "
		 "  count(*) AS n FROM meter_readings r LEFT JOIN mint_transactions t ON t.id = r.mint_tx_id "
		 "  WHERE r.wallet_address = ANY ($2::text[]) AND r.status IN ('minted', 'submitted') AND " FOR_MINT("t", "$1")
		 "  GROUP BY 1, 2, 3, 4, 5) "
		 "SELECT coalesce(sum(g.amt) FILTER (WHERE g.status = 'minted' AND coalesce(g.slot, 0) <= c.sl), 0)::text, "
		 " coalesce(sum(g.n) FILTER (WHERE g.status = 'minted' AND coalesce(g.slot, 0) <= c.sl), 0), "
		 " coalesce(sum(g.n) FILTER (WHERE g.status = 'minted' AND g.slot > c.sl), 0), "
		 " coalesce(string_agg(g.amt::text, ' ') FILTER (WHERE g.status = 'submitted' AND g.state = 'pending'), ''), "
		 " coalesce(sum(g.n) FILTER (WHERE g.status = 'submitted' AND g.state = 'pending'), 0), "
		 " coalesce((SELECT sum(a.amount) FROM audit_adjustments a WHERE a.mint = $1 AND a.wallet = c.w), 0)::text "
		 "FROM c LEFT JOIN g ON g.w = c.w GROUP BY c.i, c.w, c.sl ORDER BY c.i", 3, p, e);
	free(wl);
	free(sl);
	if (r == NULL)
		return -1;
	if ((size_t)PQntuples(r) != n) {
		PQclear(r);
		return err_set(e, 0, "sums: %d rows for %zu wallets", PQntuples(r), n);
	}
	for (size_t i = 0; i < n; i++) {
		int row = (int)i;

		snprintf(out[i].minted, sizeof(out[i].minted), "%s", PQgetvalue(r, row, 0));
		out[i].minted_n = atol(PQgetvalue(r, row, 1));
		out[i].later_n = atol(PQgetvalue(r, row, 2));
		out[i].pending_n = atol(PQgetvalue(r, row, 4));
		snprintf(out[i].adjustment, sizeof(out[i].adjustment), "%s", PQgetvalue(r, row, 5));
		if ((out[i].pending = strdup(PQgetvalue(r, row, 3))) == NULL) {
			audit_sums_clear(out, n);
			PQclear(r);
			return err_set(e, 0, "out of memory");
		}
	}
	PQclear(r);
	return 0;
}

void
audit_sums_clear(struct audit_sums *a, size_t n)
{
	for (size_t i = 0; a != NULL && i < n; i++) {
		free(a[i].pending);
		a[i].pending = NULL;
	}
}

int
store_audit_supply(struct store *s, const char *mint, uint64_t slot, const char *supply, int timeout_ms,
    struct audit_supply *out, struct err *e)
{
	char sl[24], sql[80];
	const char *p[2] = { mint, sl };
	PGresult *r;

	memset(out, 0, sizeof(*out));
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	/* One snapshot for the sums, the baseline and the halt: a confirmation in between cannot split them. */
	if (store_exec0(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = %d", timeout_ms);
	if (timeout_ms > 0 && store_exec0(s, sql, e) < 0)
		goto fail;
	r = store_q(s, "SELECT (SELECT amount::text FROM supply_baseline WHERE mint = $1), "
		 " (SELECT coalesce(sum(r.token_amount), 0)::text || ' ' || count(*) FROM meter_readings r "
		 "  JOIN mint_transactions t ON t.id = r.mint_tx_id "
		 "  WHERE r.status = 'minted' AND " FOR_MINT("t", "$1") " AND coalesce(t.slot, 0) <= $2::bigint), "
		 " coalesce(sum(amount), 0)::text, count(*), "
		 " coalesce(array_to_string((array_agg(amount ORDER BY id))[1:16], ' '), '') FROM mint_transactions "
		 " WHERE state = 'pending' AND kind = 'mint' AND " FOR_MINT("mint_transactions", "$1"), 2, p, e);
	if (r == NULL)
		goto fail;
	out->have_baseline = !PQgetisnull(r, 0, 0);
	snprintf(out->baseline, sizeof(out->baseline), "%s", out->have_baseline ? PQgetvalue(r, 0, 0) : "0");
	if (sscanf(PQgetvalue(r, 0, 1), "%47s %ld", out->minted, &out->minted_n) != 2) {
		PQclear(r);
		err_set(e, 0, "supply sums: unexpected answer");
		goto fail;
	}
	snprintf(out->pending, sizeof(out->pending), "%s", PQgetvalue(r, 0, 2));
	out->pending_tx = atol(PQgetvalue(r, 0, 3));
	snprintf(out->pending_first, sizeof(out->pending_first), "%s", PQgetvalue(r, 0, 4));
	PQclear(r);
	if (store_supply_check(s, mint, slot, supply, &out->invariant, e) < 0 ||
	    store_halt_active(s, mint, &out->halted, &out->halt, e) < 0)
		goto fail;
	return store_commit(s, NULL, e);
fail:
	store_rollback(s);
	return -1;
}

int
store_audit_details(struct store *s, const char *mint, const char *wallet, int limit, struct audit_tx **tx,
    size_t *ntx, long *tx_total, struct audit_reading **rd, size_t *nrd, long *rd_total, struct err *e)
{
	char lim[16];
	const char *p[3] = { mint, wallet, lim };
	PGresult *r;
	int n;

	*tx = NULL;
	*rd = NULL;
	*ntx = *nrd = 0;
	*tx_total = *rd_total = 0;
	snprintf(lim, sizeof(lim), "%d", limit);
	r = store_q(s, "SELECT t.signature, t.state, coalesce(t.slot, 0), count(*), sum(l.token_amount)::text, "
		 " count(*) OVER () FROM meter_readings r JOIN mint_transaction_readings l ON l.reading_id = r.id "
		 " JOIN mint_transactions t ON t.id = l.mint_tx_id "
		 "WHERE r.wallet_address = $2 AND t.state IN ('confirmed', 'pending') AND " FOR_MINT("t", "$1")
		 " GROUP BY t.id ORDER BY t.id LIMIT $3::int", 3, p, e);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	if (n > 0 && (*tx = calloc((size_t)n, sizeof(**tx))) == NULL) {
		PQclear(r);
		return err_set(e, 0, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct audit_tx *x = &(*tx)[i];

		snprintf(x->signature, sizeof(x->signature), "%s", PQgetvalue(r, i, 0));
		snprintf(x->state, sizeof(x->state), "%s", PQgetvalue(r, i, 1));
		x->slot = store_u64(r, i, 2);
		x->readings = atol(PQgetvalue(r, i, 3));
		snprintf(x->amount, sizeof(x->amount), "%s", PQgetvalue(r, i, 4));
		*tx_total = atol(PQgetvalue(r, i, 5));
	}
	*ntx = (size_t)n;
	PQclear(r);
	/*
	 * Readings whose own record disagrees with the confirmed transaction that carried them (the first one, and
	 * how many did): a stored amount edited after the mint, a minted mark without a transaction, two mints.
	 */
	r = store_q(s, "SELECT r.id::text, r.status, r.token_amount::text, coalesce(c.carried::text, ''), "
		 " coalesce(c.signature, ''), CASE "
		 "  WHEN c.id IS NULL THEN 'marked minted, but no confirmed transaction carried it' "
		 "  WHEN c.n > 1 THEN 'carried by ' || c.n || ' confirmed transactions (minted more than once)' "
		 "  WHEN r.status <> 'minted' THEN 'carried by a confirmed transaction, but not marked minted' "
		 "  WHEN r.mint_tx_id <> c.id THEN 'marked minted by another transaction than the one that carried it' "
		 "  ELSE 'stored amount differs from what its transaction carried' END, count(*) OVER () "
		 "FROM meter_readings r LEFT JOIN LATERAL (SELECT l.token_amount AS carried, t.id, t.signature, "
		 "  count(*) OVER () AS n FROM mint_transaction_readings l JOIN mint_transactions t ON t.id = l.mint_tx_id "
		 "  WHERE l.reading_id = r.id AND t.state = 'confirmed' AND " FOR_MINT("t", "$1") " ORDER BY t.id LIMIT 1) c "
		 " ON true "
		 "WHERE r.wallet_address = $2 AND ((r.status = 'minted' AND (c.id IS NULL OR c.n > 1 OR c.id <> r.mint_tx_id "
		 "  OR c.carried <> r.token_amount)) OR (r.status <> 'minted' AND c.id IS NOT NULL)) "
		 "ORDER BY r.id LIMIT $3::int", 3, p, e);
	if (r == NULL) {
		free(*tx);
		*tx = NULL;
		*ntx = 0;
		return -1;
	}
	n = PQntuples(r);
	if (n > 0 && (*rd = calloc((size_t)n, sizeof(**rd))) == NULL) {
		PQclear(r);
		free(*tx);
		*tx = NULL;
		*ntx = 0;
		return err_set(e, 0, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct audit_reading *x = &(*rd)[i];

		snprintf(x->id, sizeof(x->id), "%s", PQgetvalue(r, i, 0));
		snprintf(x->status, sizeof(x->status), "%s", PQgetvalue(r, i, 1));
		snprintf(x->amount, sizeof(x->amount), "%s", PQgetvalue(r, i, 2));
		snprintf(x->carried, sizeof(x->carried), "%s", PQgetvalue(r, i, 3));
		snprintf(x->signature, sizeof(x->signature), "%s", PQgetvalue(r, i, 4));
		snprintf(x->why, sizeof(x->why), "%s", PQgetvalue(r, i, 5));
		*rd_total = atol(PQgetvalue(r, i, 6));
	}
	*nrd = (size_t)n;
	PQclear(r);
	return 0;
}
