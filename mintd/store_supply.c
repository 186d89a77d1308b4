/* store_supply.c: the sums of the supply invariant, its baseline, minting halts and recent verdicts. */
#include "store.h"
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
store_supply_check(struct store *s, const char *mint, uint64_t slot, const char *supply, struct supply_sums *out,
    struct err *e)
{
	char sl[24];
	const char *p[3] = { mint, sl, supply };
	PGresult *r;

	memset(out, 0, sizeof(*out));
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	/* One statement, one snapshot: the running sum and the recent and pending rows agree with each other. */
	r = store_q(s, "SELECT b.amount::text, lo::text, hi::text, p.n, a.n, "
		 " CASE WHEN $3::numeric < lo THEN -1 WHEN $3::numeric > hi THEN 1 ELSE 0 END "
		 "FROM supply_baseline b, "
		 " LATERAL (SELECT coalesce(sum(amount), 0) AS confirmed FROM supply_confirmed WHERE mint = $1) c, "
		 " LATERAL (SELECT coalesce(sum(amount), 0) AS amt, count(*) AS n FROM mint_transactions "
		 "  WHERE state = 'confirmed' AND kind = 'mint' AND slot > $2::bigint AND mint = $1) a, "
		 " LATERAL (SELECT coalesce(sum(amount), 0) AS amt, count(*) AS n FROM mint_transactions "
		 "  WHERE state = 'pending' AND kind = 'mint' AND mint = $1) p, "
		 " LATERAL (SELECT b.amount + c.confirmed - a.amt AS lo, b.amount + c.confirmed + p.amt AS hi) x "
		 "WHERE b.mint = $1", 3, p, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1) {
		out->have_baseline = true;
		snprintf(out->baseline, sizeof(out->baseline), "%s", PQgetvalue(r, 0, 0));
		snprintf(out->lower, sizeof(out->lower), "%s", PQgetvalue(r, 0, 1));
		snprintf(out->upper, sizeof(out->upper), "%s", PQgetvalue(r, 0, 2));
		out->pending = atol(PQgetvalue(r, 0, 3));
		out->confirmed_after = atol(PQgetvalue(r, 0, 4));
		out->cmp = atoi(PQgetvalue(r, 0, 5));
	}
	PQclear(r);
	return 0;
}

int
store_supply_baseline_init(struct store *s, const char *mint, uint64_t slot, const char *supply,
    enum baseline_outcome *out, struct err *e)
{
	char sl[24];
	const char *p[3] = { mint, sl, supply };
	PGresult *r;

	*out = BASELINE_BUSY;
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	if (store_begin(s, e) < 0)
		return -1;
	/*
	 * Serializes with every confirmation's update of the running sum: they hold this lock shared (an advisory
	 * lock needs no privilege on the tables; a LOCK TABLE would need UPDATE on the baseline).
	 */
	if (store_exec0(s, "SELECT pg_advisory_xact_lock(" STORE_SUPPLY_LOCK ")", e) < 0)
		goto fail;
	r = store_q(s, "SELECT EXISTS (SELECT 1 FROM supply_baseline WHERE mint = $1), c.pend, c.later, "
		 " $3::numeric >= c.amt, c.amt::text FROM "
		 " (SELECT coalesce(sum(amount) FILTER (WHERE state = 'confirmed'), 0) AS amt, "
		 "   count(*) FILTER (WHERE state = 'pending') AS pend, "
		 "   count(*) FILTER (WHERE state = 'confirmed' AND slot > $2::bigint) AS later "
		 "  FROM mint_transactions WHERE kind = 'mint' AND mint = $1) c", 3, p, e);
	if (r == NULL)
		goto fail;
	if (PQgetvalue(r, 0, 0)[0] == 't')
		*out = BASELINE_EXISTS;
	else if (atol(PQgetvalue(r, 0, 1)) > 0 || atol(PQgetvalue(r, 0, 2)) > 0)
		*out = BASELINE_BUSY;
	else if (PQgetvalue(r, 0, 3)[0] != 't')
		*out = BASELINE_BELOW;
	else
		*out = BASELINE_SET;
	PQclear(r);
	if (*out == BASELINE_SET) {
		r = store_q(s, "WITH c AS (SELECT coalesce(sum(amount), 0) AS amt FROM mint_transactions "
			 " WHERE kind = 'mint' AND mint = $1 AND state = 'confirmed'), "
			 "b AS (INSERT INTO supply_baseline (mint, amount, slot) SELECT $1, $3::numeric - c.amt, $2::bigint FROM c "
			 " RETURNING mint) "
			 "INSERT INTO supply_confirmed (mint, instance, amount) SELECT b.mint, '(before the baseline)', c.amt FROM b, c",
		    3, p, e);
		if (r == NULL)
			goto fail;
		PQclear(r);
	}
	return store_commit(s, NULL, e);
fail:
	store_rollback(s);
	return -1;
}

static void
halt_row(const PGresult *r, struct halt *h)
{
	memset(h, 0, sizeof(*h));
	h->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	h->slot = store_u64(r, 0, 1);
	snprintf(h->supply, sizeof(h->supply), "%s", PQgetvalue(r, 0, 2));
	snprintf(h->expected_min, sizeof(h->expected_min), "%s", PQgetvalue(r, 0, 3));
	snprintf(h->expected_max, sizeof(h->expected_max), "%s", PQgetvalue(r, 0, 4));
	snprintf(h->reason, sizeof(h->reason), "%s", PQgetvalue(r, 0, 5));
}

#define HALT_COLS "id, slot, supply::text, expected_min::text, expected_max::text, reason"

int
store_halt_active(struct store *s, const char *mint, bool *active, struct halt *h, struct err *e)
{
	const char *p[1] = { mint };
	PGresult *r = store_q(s, "SELECT " HALT_COLS " FROM minting_halts WHERE mint = $1 AND acknowledged_at IS NULL",
	    1, p, e);

	if (r == NULL)
		return -1;
	*active = PQntuples(r) == 1;
	if (*active)
		halt_row(r, h);
	PQclear(r);
	return 0;
}

int
store_halt_raise(struct store *s, const char *mint, const char *instance, const struct halt *in, bool *raised,
    struct halt *h, struct err *e)
{
	char sl[24];
	const char *p[7] = { mint, instance, sl, in->supply, in->expected_min, in->expected_max, in->reason };
	PGresult *r;

	snprintf(sl, sizeof(sl), "%" PRIu64, in->slot);
	r = store_q(s, "INSERT INTO minting_halts (mint, instance, slot, supply, expected_min, expected_max, reason) "
		 "VALUES ($1, $2, $3::bigint, $4::numeric, $5::numeric, $6::numeric, $7) "
		 "ON CONFLICT (mint) WHERE acknowledged_at IS NULL DO NOTHING RETURNING " HALT_COLS, 7, p, e);
	if (r == NULL)
		return -1;
	*raised = PQntuples(r) == 1;
	if (*raised) {
		halt_row(r, h);
		PQclear(r);
		return 0;
	}
	PQclear(r);
	{
		bool active = false;

		return store_halt_active(s, mint, &active, h, e);
	}
}

int
store_recent_verdicts(struct store *s, int secs, int limit, struct verdict_row **out, size_t *nout, struct err *e)
{
	char sc[16], lim[16];
	const char *p[2] = { sc, lim };
	PGresult *r;
	int n;

	*out = NULL;
	*nout = 0;
	snprintf(sc, sizeof(sc), "%d", secs);
	snprintf(lim, sizeof(lim), "%d", limit);
	r = store_q(s, "SELECT id, signature, state = 'expired', kind = 'advance' FROM mint_transactions "
		 "WHERE state IN ('expired', 'failed') AND finished_at > now() - make_interval(secs => $1::int) "
		 "ORDER BY finished_at DESC LIMIT $2::int", 2, p, e);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	if (n > 0 && (*out = calloc((size_t)n, sizeof(**out))) == NULL) {
		PQclear(r);
		return err_set(e, 0, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		(*out)[i].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		snprintf((*out)[i].signature, sizeof((*out)[i].signature), "%s", PQgetvalue(r, i, 1));
		(*out)[i].expired = PQgetvalue(r, i, 2)[0] == 't';
		(*out)[i].advance = PQgetvalue(r, i, 3)[0] == 't';
	}
	*nout = (size_t)n;
	PQclear(r);
	return 0;
}
