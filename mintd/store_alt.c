/* store_alt.c: lookup tables and the token accounts queued for them, in PostgreSQL (sql/006_lookup_tables.sql). */
#include "store.h"
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
store_alt_tables(struct store *s, const char *mint, struct alt_row **out, size_t *nout, struct err *e)
{
	const char *p[1] = { mint };
	PGresult *r;
	int n;

	*out = NULL;
	*nout = 0;
	r = store_q(s, "SELECT address, state = 'active', recent_slot FROM lookup_tables WHERE mint = $1 "
		 "AND state IN ('creating', 'active') ORDER BY created_at, address", 1, p, e);
	if (r == NULL)
		return -1;
	if (store_rows_alloc(r, sizeof(**out), (void **)out, nout, e) < 0) {
		PQclear(r);
		return -1;
	}
	n = (int)*nout;
	for (int i = 0; i < n; i++) {
		snprintf((*out)[i].address, sizeof((*out)[i].address), "%s", PQgetvalue(r, i, 0));
		(*out)[i].active = PQgetvalue(r, i, 1)[0] == 't';
		(*out)[i].recent_slot = store_u64(r, i, 2);
	}
	PQclear(r);
	return 0;
}

int
store_alt_enqueue(struct store *s, const char *mint, const char *const *wallets, const char *const *accounts,
    size_t n, struct err *e)
{
	char *w = store_text_array(wallets, n), *a = store_text_array(accounts, n);
	const char *p[3] = { mint, w, a };
	PGresult *r = NULL;

	if (w != NULL && a != NULL)
		r = store_q(s, "INSERT INTO lookup_table_entries (mint, wallet, account) "
			 "SELECT $1, x.w, x.a FROM unnest($2::text[], $3::text[]) AS x(w, a) ON CONFLICT DO NOTHING", 3, p, e);
	else
		err_set(e, 0, "out of memory");
	free(w);
	free(a);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
store_alt_claim(struct store *s, const char *mint, const char *token, int limit, struct alt_entry **out,
    size_t *nout, struct err *e)
{
	char lim[16];
	const char *p[3] = { mint, token, lim };
	PGresult *r;
	int n;

	*out = NULL;
	*nout = 0;
	snprintf(lim, sizeof(lim), "%d", limit);
	r = store_q(s, "UPDATE lookup_table_entries SET claimed_by = $2, claimed_at = now() WHERE (mint, wallet) IN "
		 "(SELECT mint, wallet FROM lookup_table_entries WHERE mint = $1 AND state = 'queued' AND claimed_by IS NULL "
		 " ORDER BY queued_at, wallet LIMIT $3::int FOR UPDATE SKIP LOCKED) RETURNING wallet, account", 3, p, e);
	if (r == NULL)
		return -1;
	if (store_rows_alloc(r, sizeof(**out), (void **)out, nout, e) < 0) {
		PQclear(r);
		return -1;
	}
	n = (int)*nout;
	for (int i = 0; i < n; i++) {
		snprintf((*out)[i].wallet, sizeof((*out)[i].wallet), "%s", PQgetvalue(r, i, 0));
		snprintf((*out)[i].account, sizeof((*out)[i].account), "%s", PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return 0;
}

/* "{a,b}" of exclude[0..n). */
static char *
addr_array(const char (*v)[45], size_t n)
{
	const char **p = calloc(n > 0 ? n : 1, sizeof(*p));
	char *out;

	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = v[i];
	out = store_text_array(p, n);
	free(p);
	return out;
}

int
store_alt_pick(struct store *s, const char *mint, int fixed, const char (*exclude)[45], size_t nex, bool *found,
    char address[45], int *room, struct err *e)
{
	char fx[16], *ex = addr_array(exclude, nex);
	const char *p[3] = { mint, fx, ex };
	PGresult *r;

	*found = false;
	if (ex == NULL)
		return err_set(e, 0, "out of memory");
	snprintf(fx, sizeof(fx), "%d", fixed);
	r = store_q(s, "SELECT address, room FROM (SELECT t.address, t.created_at, 256 - $2::int - (SELECT count(*) "
		 " FROM lookup_table_entries e WHERE e.table_address = t.address) AS room FROM lookup_tables t "
		 " WHERE t.mint = $1 AND t.state = 'active' AND NOT (t.address = ANY($3::text[]))) x WHERE room > 0 "
		 "ORDER BY created_at, address LIMIT 1", 3, p, e);
	free(ex);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 1 && atoi(PQgetvalue(r, 0, 1)) > 0) {
		*found = true;
		snprintf(address, 45, "%s", PQgetvalue(r, 0, 0));
		*room = atoi(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return 0;
}

int
store_alt_tx_table(struct store *s, int64_t tx_id, bool *found, char address[45], struct err *e)
{
	char id[24];
	const char *p[1] = { id };
	PGresult *r;

	snprintf(id, sizeof(id), "%" PRId64, tx_id);
	r = store_q(s, "SELECT coalesce((SELECT address FROM lookup_tables WHERE create_tx_id = $1::bigint), "
		 "(SELECT table_address FROM lookup_table_entries WHERE extend_tx_id = $1::bigint LIMIT 1))", 1, p, e);
	if (r == NULL)
		return -1;
	*found = !PQgetisnull(r, 0, 0);
	if (*found)
		snprintf(address, 45, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int
store_alt_counts(struct store *s, const char *mint, int64_t counts[3], int64_t *tables, struct err *e)
{
	const char *p[1] = { mint };
	PGresult *r = store_q(s, "SELECT (SELECT count(*) FILTER (WHERE state = 'queued') FROM lookup_table_entries "
			      " WHERE mint = $1), (SELECT count(*) FILTER (WHERE state = 'extending') FROM lookup_table_entries "
			      " WHERE mint = $1), (SELECT count(*) FILTER (WHERE state = 'added') FROM lookup_table_entries "
			      " WHERE mint = $1), (SELECT count(*) FROM lookup_tables WHERE mint = $1 AND state <> 'failed')",
	    1, p, e);

	if (r == NULL)
		return -1;
	for (int i = 0; i < 3; i++)
		counts[i] = (int64_t)store_u64(r, 0, i);
	*tables = (int64_t)store_u64(r, 0, 3);
	PQclear(r);
	return 0;
}

/* Runs one guarded statement of the write-ahead; *held is false when it changed other than `want` rows. */
static int
guarded(struct store *s, const char *sql, int n, const char *const *p, long want, bool *held, struct err *e)
{
	PGresult *r = store_q(s, sql, n, p, e);

	if (r == NULL)
		return -1;
	*held = store_count(r) == want;
	return 0;
}

int
store_writeahead_table(struct store *s, const struct wa_table *w, const char *token, int64_t *tx_id,
    bool *unknown, struct err *e)
{
	char *hex = store_hex_bytea(w->raw, w->raw_len), id[24], slot[24], fixed[16], cnt[16];
	const char **wl = calloc(w->n > 0 ? w->n : 1, sizeof(*wl));
	char *wallets = NULL;
	bool held = true;
	PGresult *r;

	*unknown = false;
	if (hex == NULL || wl == NULL) {
		free(hex);
		free(wl);
		return err_set(e, 0, "out of memory");
	}
	for (size_t i = 0; i < w->n; i++)
		wl[i] = w->entries[i].wallet;
	wallets = store_text_array(wl, w->n);
	free(wl);
	snprintf(slot, sizeof(slot), "%" PRIu64, w->recent_slot);
	snprintf(fixed, sizeof(fixed), "%d", w->fixed);
	snprintf(cnt, sizeof(cnt), "%zu", w->n);
	if (wallets == NULL) {
		err_set(e, 0, "out of memory");
		goto fail_nobegin;
	}
	if (store_begin(s, e) < 0)
		goto fail_nobegin;
	if (!w->create) {
		/* The table row locked: extensions of one table are counted one after another (at most 256). */
		const char *p[3] = { w->table, fixed, cnt };

		if ((r = store_q(s, "SELECT 1 FROM lookup_tables t WHERE t.address = $1 AND t.state = 'active' AND "
			 "(SELECT count(*) FROM lookup_table_entries x WHERE x.table_address = t.address) + $2::int + $3::int <= 256 "
			 "FOR UPDATE OF t", 3, p, e)) == NULL)
			goto fail;
		held = PQntuples(r) == 1;
		PQclear(r);
		if (!held)
			goto guard;
	}
	{
		const char *p[6] = { w->batch_id, w->signature, hex, w->nonce_value, w->mint, w->nonce_account };

		if ((r = store_q(s, "INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash, "
			 "last_valid_block_height, wallets, readings, kind, mint, nonce_account, nonce_value, amount) "
			 "VALUES ($1, $2, $3::bytea, $4, 0, 0, 0, 'table', $5, $6, $4, 0) RETURNING id", 6, p, e)) == NULL)
			goto fail;
		*tx_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		snprintf(id, sizeof(id), "%" PRId64, *tx_id);
	}
	{
		const char *p[3] = { w->nonce_account, token, w->nonce_value };

		if (guarded(s, "UPDATE nonce_accounts SET state = 'busy', reserved_by = NULL, reserved_at = NULL, "
			 "updated_at = now() WHERE address = $1 AND state = 'reserved' AND reserved_by = $2 AND value = $3", 3, p,
			 1, &held, e) < 0)
			goto fail;
		if (!held)
			goto guard;
	}
	if (w->create) {
		/* Another instance creating a table for this mint wins (one at a time): nothing is written. */
		const char *p[5] = { w->table, w->mint, w->authority, slot, id };

		if (guarded(s, "INSERT INTO lookup_tables (address, mint, authority, recent_slot, create_tx_id) "
			 "VALUES ($1, $2, $3, $4::bigint, $5::bigint) ON CONFLICT DO NOTHING", 5, p, 1, &held, e) < 0)
			goto fail;
		if (!held)
			goto guard;
	}
	if (w->n > 0) {
		const char *p[5] = { w->mint, wallets, token, w->table, id };

		if (guarded(s, "UPDATE lookup_table_entries SET state = 'extending', table_address = $4, "
			 "extend_tx_id = $5::bigint, claimed_by = NULL, claimed_at = NULL, updated_at = now() "
			 "WHERE mint = $1 AND wallet = ANY($2::text[]) AND state = 'queued' AND claimed_by = $3", 5, p,
			 (long)w->n, &held, e) < 0)
			goto fail;
		if (!held)
			goto guard;
	}
	free(hex);
	free(wallets);
	return store_commit(s, unknown, e);
guard:
	store_rollback(s);
	free(hex);
	free(wallets);
	err_set(e, 0, "claim %s lost, or the table is full or being created by another instance", token);
	return 1;
fail:
	store_rollback(s);
fail_nobegin:
	free(hex);
	free(wallets);
	return -1;
}
