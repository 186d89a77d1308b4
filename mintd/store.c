/* store.c: mintd's PostgreSQL statements: claims, the write-ahead record, and guarded final transitions. */
#include "store.h"
#include "crash.h"
#include "pgconn.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
	PGconn *conn;
	char *url;
};

/* The columns every reading query returns, in this order (see row_reading). */
#define READING_BASE \
	"m.id::text, m.wallet_address, m.meter_serial, coalesce(m.user_id::text, ''), m.kwh_micro, m.token_amount"
#define READING_COLS \
	READING_BASE ", coalesce((SELECT q.attempts FROM minting_retry_queue q WHERE q.reading_id = m.id), 0)"
#define READING_NCOLS 7

struct store *
store_open(const char *url, struct err *e)
{
	struct store *s = xcalloc(1, sizeof(*s));

	s->url = xstrdup(url);
	if ((s->conn = pgc_connect(url, "mintd", e)) == NULL) {
		free(s->url);
		free(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL)
		PQfinish(s->conn);
	explicit_bzero(s->url, strlen(s->url));
	free(s->url);
	free(s);
}

bool
store_ok(const struct store *s)
{
	return s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK;
}

int
store_reconnect(struct store *s, struct err *e)
{
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = pgc_connect(s->url, "mintd", e);
	return s->conn != NULL ? 0 : -1;
}

void *
store_conn(struct store *s)
{
	return s->conn;
}

/* Runs one parameterized statement (all parameters text); NULL with *e set unless it succeeded. */
static PGresult *
q(struct store *s, const char *sql, int n, const char *const *params, struct err *e)
{
	PGresult *r;

	if (s->conn == NULL) {
		err_set(e, 0, "no database connection");
		return NULL;
	}
	r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		pgc_err(e, s->conn, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

static int
exec0(struct store *s, const char *sql, struct err *e)
{
	PGresult *r = q(s, sql, 0, NULL, e);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

static void
rollback(struct store *s)
{
	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
}

/* COMMIT; -1 with *unknown = true when the connection broke (the outcome cannot be known). */
static int
commit(struct store *s, bool *unknown, struct err *e)
{
	PGresult *r = PQexec(s->conn, "COMMIT");
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pgc_err(e, s->conn, r);
		if (unknown != NULL)
			*unknown = PQstatus(s->conn) != CONNECTION_OK;
		rc = -1;
	}
	PQclear(r);
	return rc;
}

static uint64_t
u64v(const PGresult *r, int row, int col)
{
	return strtoull(PQgetvalue(r, row, col), NULL, 10);
}

static void
row_reading(const PGresult *r, int row, struct reading *x)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", PQgetvalue(r, row, 0));
	snprintf(x->wallet, sizeof(x->wallet), "%s", PQgetvalue(r, row, 1));
	snprintf(x->meter, sizeof(x->meter), "%s", PQgetvalue(r, row, 2));
	snprintf(x->user, sizeof(x->user), "%s", PQgetvalue(r, row, 3));
	x->kwh_micro = u64v(r, row, 4);
	x->amount = u64v(r, row, 5);
	x->attempts = atoi(PQgetvalue(r, row, 6));
}

/* A zeroed array with one element of `size` per result row (NULL when there are none). */
static int
rows_alloc(const PGresult *r, size_t size, void **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = (size_t)PQntuples(r);
	if (*n > 0 && (*out = calloc(*n, size)) == NULL) {
		*n = 0;
		return err_set(e, 0, "out of memory");
	}
	return 0;
}

static int
readings_out(PGresult *r, struct reading **out, size_t *nout, struct err *e)
{
	if (rows_alloc(r, sizeof(**out), (void **)out, nout, e) < 0)
		return -1;
	for (size_t i = 0; i < *nout; i++)
		row_reading(r, (int)i, &(*out)[i]);
	return 0;
}

/* "{a,b,c}" from validated uuid strings (no quoting needed). Caller frees. */
static char *
uuid_array(const char (*ids)[MINTD_UUID_SZ], size_t n)
{
	char *buf = malloc(n * MINTD_UUID_SZ + 3), *p;

	if (buf == NULL)
		return NULL;
	p = buf;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		size_t l = strlen(ids[i]);
		memcpy(p, ids[i], l);
		p += l;
	}
	*p++ = '}';
	*p = '\0';
	return buf;
}

int
store_claim_ids(struct store *s, const char *token, const char (*ids)[MINTD_UUID_SZ], size_t n,
    struct reading **out, size_t *nout, struct err *e)
{
	static const char sql[] =
	    "UPDATE meter_readings m SET status = 'claimed', claimed_by = $1, claimed_at = now() "
	    "WHERE m.id = ANY($2::uuid[]) AND m.status = 'pending' RETURNING " READING_COLS;
	char *arr = uuid_array(ids, n);
	const char *p[2] = { token, arr };
	PGresult *r;
	int rc;

	if (arr == NULL)
		return err_set(e, 0, "out of memory");
	r = q(s, sql, 2, p, e);
	free(arr);
	if (r == NULL)
		return -1;
	rc = readings_out(r, out, nout, e);
	PQclear(r);
	return rc;
}

int
store_claim_sweep(struct store *s, const char *token, int limit, struct reading **out, size_t *nout,
    struct err *e)
{
	static const char sql[] =
	    "WITH p AS (SELECT id FROM meter_readings WHERE status = 'pending' ORDER BY submitted_at, id LIMIT $2"
	    "  FOR UPDATE SKIP LOCKED),"
	    " d AS (SELECT r.id FROM meter_readings r JOIN minting_retry_queue q ON q.reading_id = r.id"
	    "  WHERE r.status = 'retrying' AND q.next_retry_at <= now() ORDER BY q.next_retry_at LIMIT $2"
	    "  FOR UPDATE OF r SKIP LOCKED)"
	    " UPDATE meter_readings m SET status = 'claimed', claimed_by = $1, claimed_at = now()"
	    " WHERE m.id IN (SELECT id FROM p UNION ALL SELECT id FROM d)"
	    " AND m.status IN ('pending', 'retrying') RETURNING " READING_COLS;
	char lim[16];
	const char *p[2] = { token, lim };
	PGresult *r;
	int rc;

	snprintf(lim, sizeof(lim), "%d", limit);
	if ((r = q(s, sql, 2, p, e)) == NULL)
		return -1;
	rc = readings_out(r, out, nout, e);
	PQclear(r);
	return rc;
}

static int
count_cmd(PGresult *r, long *n)
{
	*n = atol(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

int
store_release_token(struct store *s, const char *token, long *n, struct err *e)
{
	const char *p[1] = { token };
	PGresult *r = q(s, "UPDATE meter_readings SET status = 'pending', claimed_by = NULL, claimed_at = NULL "
			   "WHERE status = 'claimed' AND claimed_by = $1", 1, p, e);

	return r == NULL ? -1 : count_cmd(r, n);
}

int
store_release_stale(struct store *s, const char *instance, int lease_secs, long *n, struct err *e)
{
	char lease[16];
	const char *p[2] = { instance, lease };
	PGresult *r;

	snprintf(lease, sizeof(lease), "%d", lease_secs);
	r = q(s, "UPDATE meter_readings SET status = 'pending', claimed_by = NULL, claimed_at = NULL "
		 "WHERE status = 'claimed' AND (left(claimed_by, length($1) + 1) = $1 || ':' "
		 "OR claimed_at < now() - make_interval(secs => $2::int))", 2, p, e);
	return r == NULL ? -1 : count_cmd(r, n);
}

/* "{a,NULL,b}" text[] literal with double-quoted elements (wallets are base58, but quote anyway). */
static char *
text_array(const char *const *v, size_t n)
{
	size_t cap = 3;
	char *buf, *p;

	for (size_t i = 0; i < n; i++)
		cap += (v[i] != NULL ? strlen(v[i]) * 2 + 3 : 4) + 1;
	if ((buf = malloc(cap)) == NULL)
		return NULL;
	p = buf;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		if (v[i] == NULL) {
			memcpy(p, "NULL", 4);
			p += 4;
			continue;
		}
		*p++ = '"';
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return buf;
}

int
store_writeahead(struct store *s, const struct wa_tx *t, const char *token, int64_t *tx_id, bool *unknown,
    struct err *e)
{
	char *hex = NULL, *ids = NULL, *amounts = NULL, *ixw = NULL;
	char lvbh[24], nw[16], nr[16], id[24];
	PGresult *r = NULL;
	long touched;
	int rc = -1;

	*unknown = false;
	hex = malloc(t->raw_len * 2 + 3);
	ids = malloc(t->nreadings * MINTD_UUID_SZ + 3);
	amounts = malloc(t->nreadings * 21 + 3);
	ixw = text_array(t->ix_wallets, t->nix);
	if (hex == NULL || ids == NULL || amounts == NULL || ixw == NULL) {
		err_set(e, 0, "out of memory");
		goto out;
	}
	strcpy(hex, "\\x");
	for (size_t i = 0; i < t->raw_len; i++)
		sprintf(hex + 2 + 2 * i, "%02x", t->raw[i]);
	{
		char *pi = ids, *pa = amounts;

		*pi++ = '{';
		*pa++ = '{';
		for (size_t i = 0; i < t->nreadings; i++) {
			pi += sprintf(pi, "%s%s", i ? "," : "", t->readings[i]->id);
			pa += sprintf(pa, "%s%" PRIu64, i ? "," : "", t->readings[i]->amount);
		}
		strcpy(pi, "}");
		strcpy(pa, "}");
	}
	snprintf(lvbh, sizeof(lvbh), "%" PRIu64, t->last_valid_block_height);
	snprintf(nw, sizeof(nw), "%d", t->wallets);
	snprintf(nr, sizeof(nr), "%zu", t->nreadings);

	if (exec0(s, "BEGIN", e) < 0)
		goto out;
	{
		const char *p[8] = { t->batch_id, t->signature, hex, t->blockhash, lvbh, nw, nr, ixw };

		r = q(s, "INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash, "
			 "last_valid_block_height, wallets, readings, ix_wallets) "
			 "VALUES ($1, $2, $3::bytea, $4, $5, $6, $7, $8::text[]) RETURNING id", 8, p, e);
		if (r == NULL)
			goto fail;
		snprintf(id, sizeof(id), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	{
		const char *p[3] = { id, ids, token };

		r = q(s, "UPDATE meter_readings SET status = 'submitted', mint_tx_id = $1, claimed_by = NULL, "
			 "claimed_at = NULL WHERE id = ANY($2::uuid[]) AND status = 'claimed' AND claimed_by = $3", 3, p, e);
		if (r == NULL)
			goto fail;
		count_cmd(r, &touched);
		if (touched != (long)t->nreadings) {
			/* Some reading is no longer ours (lease expired, released): this transaction must never be sent. */
			rollback(s);
			err_set(e, 0, "claim %s lost: %ld of %zu readings still held", token, touched, t->nreadings);
			rc = 1;
			goto out;
		}
	}
	{
		const char *p[3] = { id, ids, amounts };

		r = q(s, "INSERT INTO mint_transaction_readings (mint_tx_id, reading_id, token_amount) "
			 "SELECT $1, x.id, x.amount FROM unnest($2::uuid[], $3::bigint[]) AS x(id, amount)", 3, p, e);
		if (r == NULL)
			goto fail;
		PQclear(r);
	}
	if (commit(s, unknown, e) < 0)
		goto out;
	*tx_id = strtoll(id, NULL, 10);
	rc = 0;
	goto out;
fail:
	rollback(s);
out:
	free(hex);
	free(ids);
	free(amounts);
	free(ixw);
	return rc;
}

int
store_mark_sent(struct store *s, int64_t tx_id, struct err *e)
{
	char id[24];
	const char *p[1] = { id };
	PGresult *r;

	snprintf(id, sizeof(id), "%" PRId64, tx_id);
	r = q(s, "UPDATE mint_transactions SET sent_at = now() WHERE id = $1 AND sent_at IS NULL", 1, p, e);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* Fills *out from rows (READING_COLS..., status, latency int8). */
static int
settled_out(PGresult *r, struct settled **out, size_t *nout, struct err *e)
{
	if (rows_alloc(r, sizeof(**out), (void **)out, nout, e) < 0)
		return -1;
	for (int i = 0; i < (int)*nout; i++) {
		const char *st = PQgetvalue(r, i, READING_NCOLS);

		row_reading(r, i, &(*out)[i].r);
		(*out)[i].to = strcmp(st, "minted") == 0 ? RS_MINTED
		    : strcmp(st, "failed") == 0          ? RS_FAILED
		    : strcmp(st, "pending") == 0         ? RS_PENDING
							 : RS_RETRYING;
		(*out)[i].latency_us = strtoll(PQgetvalue(r, i, READING_NCOLS + 1), NULL, 10);
	}
	return 0;
}

/* Ends a transaction that settles readings: COMMIT when ok, else ROLLBACK; any failure frees *out. */
static int
end_settle(struct store *s, bool ok, struct settled **out, size_t *nout, struct err *e)
{
	if (ok && commit(s, NULL, e) == 0)
		return 0;
	if (!ok)
		rollback(s);
	free(*out);
	*out = NULL;
	*nout = 0;
	return -1;
}

/* Guarded final transition of a transaction; returns 0 (applied), 1 (not pending any more) or -1. */
static int
tx_finish(struct store *s, const char *id, enum txstate to, const char *error, uint64_t fee, uint64_t slot,
    char batch_id[MINTD_UUID_SZ], struct err *e)
{
	char f[24], sl[24];
	const char *p[5] = { id, txstate_name(to), error, fee ? f : NULL, slot ? sl : NULL };
	PGresult *r;

	if (!txstate_allowed(TX_PENDING, to))
		return err_set(e, 0, "BUG: transaction transition pending -> %s", txstate_name(to));
	snprintf(f, sizeof(f), "%" PRIu64, fee);
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	r = q(s, "UPDATE mint_transactions SET state = $2, error = $3, fee_lamports = $4, slot = $5, "
		 "finished_at = now() WHERE id = $1 AND state = 'pending' RETURNING batch_id::text", 5, p, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 1;
	}
	snprintf(batch_id, MINTD_UUID_SZ, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int
store_confirm(struct store *s, int64_t tx_id, const char *signature, uint64_t slot, uint64_t fee,
    char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, struct err *e)
{
	char id[24];
	PGresult *r;
	int rc;

	*out = NULL;
	*nout = 0;
	if (!rstate_allowed(RS_SUBMITTED, RS_MINTED))
		return err_set(e, 0, "BUG: submitted -> minted refused");
	snprintf(id, sizeof(id), "%" PRId64, tx_id);
	if (exec0(s, "BEGIN", e) < 0)
		return -1;
	if ((rc = tx_finish(s, id, TX_CONFIRMED, NULL, fee, slot, batch_id, e)) != 0) {
		rollback(s);
		return rc;
	}
	crash_point("during_db_update");
	{
		const char *p[2] = { id, signature };

		r = q(s, "UPDATE meter_readings m SET status = 'minted', minted = true, mint_tx_signature = $2, "
			 "minted_at = now() WHERE m.mint_tx_id = $1 AND m.status = 'submitted' RETURNING " READING_COLS
			 ", m.status, (extract(epoch FROM (now() - m.submitted_at)) * 1000000)::bigint", 2, p, e);
		if (r == NULL)
			goto fail;
		rc = settled_out(r, out, nout, e);
		PQclear(r);
		if (rc < 0)
			goto fail;
	}
	{
		const char *p[1] = { id };

		r = q(s, "DELETE FROM minting_retry_queue WHERE reading_id IN "
			 "(SELECT reading_id FROM mint_transaction_readings WHERE mint_tx_id = $1)", 1, p, e);
		if (r == NULL)
			goto fail;
		PQclear(r);
	}
	return end_settle(s, true, out, nout, e);
fail:
	return end_settle(s, false, out, nout, e);
}

/*
 * Charges one failed attempt to the readings `src` selects ($1 is the guard parameter of src, $2 the
 * error): a retry entry with exponential backoff, and retrying or, attempts exhausted, failed.
 */
#define CHARGE_SQL(src)                                                                               \
	"WITH src AS (" src "), q AS ("                                                                 \
	" INSERT INTO minting_retry_queue AS q (reading_id, error_message, attempts, next_retry_at)"     \
	" SELECT id, $2, 1, now() + make_interval(secs => $3::float8) FROM src"                          \
	" ON CONFLICT (reading_id) DO UPDATE SET attempts = q.attempts + 1,"                             \
	"  error_message = excluded.error_message, updated_at = now(),"                                  \
	"  next_retry_at = now() + make_interval(secs => least($4::float8,"                              \
	"   $3::float8 * power(2::float8, least(q.attempts, 60))))"                                      \
	" RETURNING reading_id, attempts)"                                                              \
	" UPDATE meter_readings m SET status = CASE WHEN q.attempts >= $5::int THEN 'failed'"            \
	"  ELSE 'retrying' END, claimed_by = NULL, claimed_at = NULL"                                    \
	" FROM q WHERE m.id = q.reading_id RETURNING " READING_BASE ", q.attempts, m.status, 0::bigint"

static int
charge(struct store *s, const char *sql, const char *guard, const char *guard2, const char *error,
    struct settled **out, size_t *nout, struct err *e)
{
	char init[16], max[16], att[16];
	const char *p[6] = { guard, error, init, max, att, guard2 };
	PGresult *r;
	int rc;

	if (!rstate_allowed(RS_SUBMITTED, RS_RETRYING) || !rstate_allowed(RS_CLAIMED, RS_FAILED))
		return err_set(e, 0, "BUG: retry transitions refused");
	snprintf(init, sizeof(init), "%d", S.retry_initial_secs);
	snprintf(max, sizeof(max), "%d", S.retry_max_secs);
	snprintf(att, sizeof(att), "%d", S.max_attempts);
	if ((r = q(s, sql, 6, p, e)) == NULL)
		return -1;
	rc = settled_out(r, out, nout, e);
	PQclear(r);
	return rc;
}

int
store_fail(struct store *s, int64_t tx_id, enum txstate to, const char *error, uint64_t fee,
    const char *blame_wallet, char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, long *released,
    struct err *e)
{
	static const char by_tx[] = CHARGE_SQL(
	    "SELECT id FROM meter_readings WHERE mint_tx_id = $1::bigint AND status = 'submitted'"
	    " AND ($6::text IS NULL OR wallet_address = $6::text) FOR UPDATE");
	char id[24];
	PGresult *r;
	int rc;

	*out = NULL;
	*nout = 0;
	*released = 0;
	snprintf(id, sizeof(id), "%" PRId64, tx_id);
	if (exec0(s, "BEGIN", e) < 0)
		return -1;
	if ((rc = tx_finish(s, id, to, error, fee, 0, batch_id, e)) != 0) {
		rollback(s);
		return rc;
	}
	if (blame_wallet != NULL) {
		const char *p[2] = { id, blame_wallet };

		r = q(s, "SELECT 1 FROM meter_readings WHERE mint_tx_id = $1 AND status = 'submitted' "
			 "AND wallet_address = $2 LIMIT 1", 2, p, e);
		if (r == NULL)
			goto fail;
		if (PQntuples(r) == 0)
			blame_wallet = NULL; /* blame names nobody here: charge everyone rather than no one */
		PQclear(r);
	}
	if (blame_wallet != NULL) {
		/* Not their fault: back in line at once, no attempt counted. */
		const char *p[2] = { id, blame_wallet };

		if (!rstate_allowed(RS_SUBMITTED, RS_PENDING))
			return rollback(s), err_set(e, 0, "BUG: submitted -> pending refused");
		r = q(s, "UPDATE meter_readings SET status = 'pending' WHERE mint_tx_id = $1 "
			 "AND status = 'submitted' AND wallet_address <> $2", 2, p, e);
		if (r == NULL)
			goto fail;
		count_cmd(r, released);
	}
	if (charge(s, by_tx, id, blame_wallet, error, out, nout, e) < 0)
		goto fail;
	return end_settle(s, true, out, nout, e);
fail:
	return end_settle(s, false, out, nout, e);
}

int
store_reject_claimed(struct store *s, const char *token, const char (*ids)[MINTD_UUID_SZ], size_t n,
    const char *error, struct settled **out, size_t *nout, struct err *e)
{
	static const char by_claim[] = CHARGE_SQL(
	    "SELECT id FROM meter_readings WHERE claimed_by = $1 AND status = 'claimed'"
	    " AND id = ANY($6::uuid[]) FOR UPDATE");
	char *arr = uuid_array(ids, n);
	int rc;

	*out = NULL;
	*nout = 0;
	if (arr == NULL)
		return err_set(e, 0, "out of memory");
	rc = charge(s, by_claim, token, arr, error, out, nout, e);
	free(arr);
	return rc;
}

void
pending_tx_free(struct pending_tx *p)
{
	for (size_t i = 0; i < p->nix; i++)
		free(p->ix_wallets[i]);
	free(p->ix_wallets);
	p->ix_wallets = NULL;
	p->nix = 0;
}

/* Parses a text[] of base58 wallets and NULLs as PostgreSQL prints it: {a,NULL,b} (no quoting needed). */
static void
parse_ix_wallets(const char *t, struct pending_tx *p)
{
	size_t n = 1;
	const char *c;

	p->ix_wallets = NULL;
	p->nix = 0;
	if (t == NULL || t[0] != '{')
		return;
	for (c = t; *c; c++)
		n += *c == ',';
	p->ix_wallets = xcalloc(n, sizeof(char *));
	c = t + 1;
	while (*c && *c != '}') {
		const char *end = c;

		while (*end && *end != ',' && *end != '}')
			end++;
		size_t len = (size_t)(end - c);

		/* base58 never needs quoting; NULL marks a non-wallet instruction */
		p->ix_wallets[p->nix++] = (len == 4 && memcmp(c, "NULL", 4) == 0) ? NULL : xstrndup(c, len);
		c = *end == ',' ? end + 1 : end;
	}
}

int
store_load_pending(struct store *s, int min_age_secs, struct pending_tx **out, size_t *nout, struct err *e)
{
	char age[16];
	const char *p[1] = { age };
	PGresult *r;
	int n;

	*out = NULL;
	*nout = 0;
	snprintf(age, sizeof(age), "%d", min_age_secs);
	r = q(s, "SELECT id, batch_id::text, signature, encode(raw_tx, 'hex'), last_valid_block_height, "
		 "sent_at IS NOT NULL, wallets, readings, ix_wallets::text FROM mint_transactions "
		 "WHERE state = 'pending' AND created_at <= now() - make_interval(secs => $1::int) ORDER BY id", 1, p, e);
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	if (n > 0 && (*out = calloc((size_t)n, sizeof(**out))) == NULL) {
		PQclear(r);
		return err_set(e, 0, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct pending_tx *t = &(*out)[i];
		const char *hex = PQgetvalue(r, i, 3);
		size_t hl = strlen(hex);

		t->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		snprintf(t->batch_id, sizeof(t->batch_id), "%s", PQgetvalue(r, i, 1));
		snprintf(t->signature, sizeof(t->signature), "%s", PQgetvalue(r, i, 2));
		t->raw_len = hl / 2 <= sizeof(t->raw) ? hl / 2 : 0;
		for (size_t j = 0; j < t->raw_len; j++) {
			unsigned b;

			sscanf(hex + 2 * j, "%2x", &b);
			t->raw[j] = (uint8_t)b;
		}
		t->last_valid_block_height = u64v(r, i, 4);
		t->sent = PQgetvalue(r, i, 5)[0] == 't';
		t->wallets = atoi(PQgetvalue(r, i, 6));
		t->readings = atoi(PQgetvalue(r, i, 7));
		parse_ix_wallets(PQgetisnull(r, i, 8) ? NULL : PQgetvalue(r, i, 8), t);
	}
	*nout = (size_t)n;
	PQclear(r);
	return 0;
}

int
store_batch_totals(struct store *s, const char *batch_id, long *open, long *total, long *ok, struct err *e)
{
	const char *p[1] = { batch_id };
	PGresult *r = q(s, "SELECT count(*) FILTER (WHERE state = 'pending'), coalesce(sum(readings), 0), "
			   "coalesce(sum(readings) FILTER (WHERE state = 'confirmed'), 0) FROM mint_transactions "
			   "WHERE batch_id = $1::uuid", 1, p, e);

	if (r == NULL)
		return -1;
	*open = atol(PQgetvalue(r, 0, 0));
	*total = atol(PQgetvalue(r, 0, 1));
	*ok = atol(PQgetvalue(r, 0, 2));
	PQclear(r);
	return 0;
}

int
store_auto_mint(struct store *s, bool *on, struct err *e)
{
	PGresult *r = q(s, "SELECT value FROM settings WHERE key = 'auto_mint_enabled'", 0, NULL, e);

	if (r == NULL)
		return -1;
	*on = PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 0), "false") != 0;
	PQclear(r);
	return 0;
}

int
store_gauges(struct store *s, int64_t *backlog, int64_t *retry, struct err *e)
{
	PGresult *r = q(s, "SELECT count(*) FILTER (WHERE status <> 'failed'), count(*) FILTER (WHERE status = "
			   "'retrying') FROM meter_readings WHERE status <> 'minted'", 0, NULL, e);

	if (r == NULL)
		return -1;
	*backlog = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	*retry = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return 0;
}
