/* store.c: mintd's connection, claims, the write-ahead records and the guarded verdicts on transactions. */
#include "store.h"
#include "crash.h"
#include "pgconn.h"
#include "store_int.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns every reading query returns, in this order (see row_reading). */
#define READING_BASE \
	"m.id::text, m.wallet_address, m.meter_serial, coalesce(m.user_id::text, ''), m.kwh_micro, m.token_amount"
#define READING_COLS \
	READING_BASE ", coalesce((SELECT q.attempts FROM minting_retry_queue q WHERE q.reading_id = m.id), 0)"
#define READING_NCOLS 7

/* ---- connection and statement helpers (store_int.h) ---- */

static int
set_limits(struct store *s, const struct store_limits *lim, struct err *e)
{
	char sql[200];

	snprintf(sql, sizeof(sql), "SET statement_timeout = %d; SET lock_timeout = %d; "
	    "SET idle_in_transaction_session_timeout = %d", lim->statement_timeout_ms, lim->lock_timeout_ms,
	    lim->idle_in_transaction_ms);
	return pgc_exec(s->conn, sql, e);
}

static struct store_limits limits_of(const struct store *s);

static int
connect_store(struct store *s, struct err *e)
{
	struct store_limits lim = limits_of(s);

	if ((s->conn = pgc_connect(s->url, "mintd", e)) == NULL)
		return -1;
	if (set_limits(s, &lim, e) < 0) {
		PQfinish(s->conn);
		s->conn = NULL;
		return -1;
	}
	return 0;
}

/* The limits are kept as text in s->options ("stmt lock idle") so a reconnect sets them again. */
static struct store_limits
limits_of(const struct store *s)
{
	struct store_limits l = { 0 };

	sscanf(s->options, "%d %d %d", &l.statement_timeout_ms, &l.lock_timeout_ms, &l.idle_in_transaction_ms);
	return l;
}

struct store *
store_open(const char *url, const struct store_limits *lim, struct err *e)
{
	struct store *s = xcalloc(1, sizeof(*s));
	char opt[64];

	snprintf(opt, sizeof(opt), "%d %d %d", lim ? lim->statement_timeout_ms : 0, lim ? lim->lock_timeout_ms : 0,
	    lim ? lim->idle_in_transaction_ms : 0);
	s->url = xstrdup(url);
	s->options = xstrdup(opt);
	if (connect_store(s, e) < 0) {
		store_close(s);
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
	free(s->options);
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
	s->conn = NULL;
	return connect_store(s, e);
}

void *
store_conn(struct store *s)
{
	return s->conn;
}

PGresult *
store_q(struct store *s, const char *sql, int n, const char *const *params, struct err *e)
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

int
store_exec0(struct store *s, const char *sql, struct err *e)
{
	PGresult *r = store_q(s, sql, 0, NULL, e);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
store_begin(struct store *s, struct err *e)
{
	return store_exec0(s, "BEGIN", e);
}

void
store_rollback(struct store *s)
{
	if (s->conn != NULL && PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
}

int
store_commit(struct store *s, bool *unknown, struct err *e)
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

uint64_t
store_u64(const PGresult *r, int row, int col)
{
	return strtoull(PQgetvalue(r, row, col), NULL, 10);
}

long
store_count(PGresult *r)
{
	long n = atol(PQcmdTuples(r));

	PQclear(r);
	return n;
}

/* ---- readings ---- */

/* A reading from READING_COLS starting at column c0. */
static void
row_reading_at(const PGresult *r, int row, int c0, struct reading *x)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", PQgetvalue(r, row, c0));
	snprintf(x->wallet, sizeof(x->wallet), "%s", PQgetvalue(r, row, c0 + 1));
	snprintf(x->meter, sizeof(x->meter), "%s", PQgetvalue(r, row, c0 + 2));
	snprintf(x->user, sizeof(x->user), "%s", PQgetvalue(r, row, c0 + 3));
	x->kwh_micro = store_u64(r, row, c0 + 4);
	x->amount = store_u64(r, row, c0 + 5);
	x->attempts = atoi(PQgetvalue(r, row, c0 + 6));
}

static void
row_reading(const PGresult *r, int row, struct reading *x)
{
	row_reading_at(r, row, 0, x);
}

int
store_rows_alloc(const PGresult *r, size_t size, void **out, size_t *n, struct err *e)
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
	if (store_rows_alloc(r, sizeof(**out), (void **)out, nout, e) < 0)
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
		size_t l = strlen(ids[i]);

		if (i > 0)
			*p++ = ',';
		memcpy(p, ids[i], l);
		p += l;
	}
	*p++ = '}';
	*p = '\0';
	return buf;
}

/*
 * The per-wallet minting window (S.wallet_window_secs > 0), applied to what a claim just took, inside its
 * database transaction: each wallet whose window is open is reserved (wallet_windows.open_at = now + the
 * window; the row lock keeps two claims from both taking a wallet) and brings its waiting readings along
 * (those no one else holds); the readings of the others wait until their wallet's window opens.
 */
static int
claim_window(struct store *s, const char *token, struct err *e)
{
	static const char sql[] =
	    "WITH c AS (SELECT id, wallet_address AS w FROM meter_readings WHERE claimed_by = $1 AND status = 'claimed'), "
	    "ww AS (INSERT INTO wallet_windows AS x (wallet, open_at) SELECT DISTINCT w, now() + make_interval(secs => $2::int) "
	    " FROM c ON CONFLICT (wallet) DO UPDATE SET open_at = excluded.open_at WHERE x.open_at <= now() RETURNING wallet), "
	    "wt AS (UPDATE meter_readings m SET status = 'waiting', claimed_by = NULL, claimed_at = NULL, "
	    " mint_after = (SELECT y.open_at FROM wallet_windows y WHERE y.wallet = m.wallet_address) "
	    " FROM c WHERE m.id = c.id AND c.w NOT IN (SELECT wallet FROM ww) RETURNING m.id), "
	    "mo AS (UPDATE meter_readings m SET status = 'claimed', claimed_by = $1, claimed_at = now(), mint_after = NULL "
	    " WHERE m.id IN (SELECT id FROM meter_readings WHERE status = 'waiting' AND wallet_address IN "
	    "  (SELECT wallet FROM ww) FOR UPDATE SKIP LOCKED) RETURNING m.id) "
	    "SELECT (SELECT count(*) FROM wt), (SELECT count(*) FROM mo)";
	char win[16];
	const char *p[2] = { token, win };
	PGresult *r;

	if (!rstate_allowed(RS_CLAIMED, RS_WAITING) || !rstate_allowed(RS_WAITING, RS_CLAIMED))
		return err_set(e, 0, "BUG: window transitions refused");
	snprintf(win, sizeof(win), "%d", S.wallet_window_secs);
	if ((r = store_q(s, sql, 2, p, e)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* Runs a claim statement (its RETURNING rows are the claim's readings), the window applied when there is one. */
static int
claim(struct store *s, const char *sql, int np, const char *const *p, const char *token, struct reading **out,
    size_t *nout, struct err *e)
{
	PGresult *r;
	int rc;

	if (S.wallet_window_secs <= 0) {
		if ((r = store_q(s, sql, np, p, e)) == NULL)
			return -1;
		rc = readings_out(r, out, nout, e);
		PQclear(r);
		return rc;
	}
	if (store_begin(s, e) < 0)
		return -1;
	if ((r = store_q(s, sql, np, p, e)) == NULL)
		goto fail;
	PQclear(r);
	if (claim_window(s, token, e) < 0)
		goto fail;
	{
		const char *q[1] = { token };

		r = store_q(s, "SELECT " READING_COLS " FROM meter_readings m WHERE m.claimed_by = $1 AND m.status = 'claimed'",
		    1, q, e);
	}
	if (r == NULL)
		goto fail;
	rc = readings_out(r, out, nout, e);
	PQclear(r);
	if (rc < 0)
		goto fail;
	if (store_commit(s, NULL, e) < 0) {
		free(*out);
		*out = NULL;
		*nout = 0;
		return -1;
	}
	return 0;
fail:
	store_rollback(s);
	return -1;
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
	int rc;

	if (arr == NULL)
		return err_set(e, 0, "out of memory");
	rc = claim(s, sql, 2, p, token, out, nout, e);
	free(arr);
	return rc;
}

int
store_claim_sweep(struct store *s, const char *token, int limit, struct reading **out, size_t *nout,
    struct err *e)
{
	/* Waiting readings are due when their wallet's window opens (all of them once there is no window). */
	static const char sql[] =
	    "WITH p AS (SELECT id FROM meter_readings WHERE status = 'pending' ORDER BY submitted_at, id LIMIT $2"
	    "  FOR UPDATE SKIP LOCKED),"
	    " d AS (SELECT r.id FROM meter_readings r JOIN minting_retry_queue q ON q.reading_id = r.id"
	    "  WHERE r.status = 'retrying' AND q.next_retry_at <= now() ORDER BY q.next_retry_at LIMIT $2"
	    "  FOR UPDATE OF r SKIP LOCKED),"
	    " wq AS (SELECT id FROM meter_readings WHERE status = 'waiting' AND ($3::int = 0 OR mint_after <= now())"
	    "  ORDER BY mint_after, wallet_address LIMIT $2 FOR UPDATE SKIP LOCKED)"
	    " UPDATE meter_readings m SET status = 'claimed', claimed_by = $1, claimed_at = now(), mint_after = NULL"
	    " WHERE m.id IN (SELECT id FROM p UNION ALL SELECT id FROM d UNION ALL SELECT id FROM wq)"
	    " AND m.status IN ('pending', 'retrying', 'waiting') RETURNING " READING_COLS;
	char lim[16], win[16];
	const char *p[3] = { token, lim, win };

	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(win, sizeof(win), "%d", S.wallet_window_secs);
	return claim(s, sql, 3, p, token, out, nout, e);
}

int
store_next_due(struct store *s, int64_t *ms, struct err *e)
{
	PGresult *r = store_q(s, "SELECT greatest(0, ceil(extract(epoch FROM min(mint_after) - now()) * 1000))::bigint "
			       "FROM meter_readings WHERE status = 'waiting'", 0, NULL, e);

	if (r == NULL)
		return -1;
	*ms = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int
store_release_token(struct store *s, const char *token, long *n, struct err *e)
{
	const char *p[1] = { token };
	PGresult *r;

	if ((r = store_q(s, "UPDATE nonce_accounts SET state = 'free', reserved_by = NULL, reserved_at = NULL, "
		 "updated_at = now() WHERE state = 'reserved' AND reserved_by = $1", 1, p, e)) == NULL)
		return -1;
	PQclear(r);
	if ((r = store_q(s, "UPDATE lookup_table_entries SET claimed_by = NULL, claimed_at = NULL "
		 "WHERE claimed_by = $1", 1, p, e)) == NULL)
		return -1;
	PQclear(r);
	r = store_q(s, "UPDATE meter_readings SET status = 'pending', claimed_by = NULL, claimed_at = NULL "
		 "WHERE status = 'claimed' AND claimed_by = $1", 1, p, e);
	if (r == NULL)
		return -1;
	*n = store_count(r);
	return 0;
}

int
store_release_stale(struct store *s, const char *instance, int lease_secs, long *n, struct err *e)
{
	char lease[16];
	const char *p[2] = { instance, lease };
	PGresult *r;

	snprintf(lease, sizeof(lease), "%d", lease_secs);
	if ((r = store_q(s, "UPDATE nonce_accounts SET state = 'free', reserved_by = NULL, reserved_at = NULL, "
		 "updated_at = now() WHERE state = 'reserved' AND (left(reserved_by, length($1) + 1) = $1 || ':' "
		 "OR reserved_at < now() - make_interval(secs => $2::int))", 2, p, e)) == NULL)
		return -1;
	PQclear(r);
	if ((r = store_q(s, "UPDATE lookup_table_entries SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by IS NOT "
		 "NULL AND (left(claimed_by, length($1) + 1) = $1 || ':' OR claimed_at < now() - make_interval(secs => $2::int))",
		 2, p, e)) == NULL)
		return -1;
	PQclear(r);
	r = store_q(s, "UPDATE meter_readings SET status = 'pending', claimed_by = NULL, claimed_at = NULL "
		 "WHERE status = 'claimed' AND (left(claimed_by, length($1) + 1) = $1 || ':' "
		 "OR claimed_at < now() - make_interval(secs => $2::int))", 2, p, e);
	if (r == NULL)
		return -1;
	*n = store_count(r);
	return 0;
}

char *
store_text_array(const char *const *v, size_t n)
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

char *
store_hex_bytea(const uint8_t *raw, size_t n)
{
	char *hex = malloc(n * 2 + 3);

	if (hex == NULL)
		return NULL;
	strcpy(hex, "\\x");
	for (size_t i = 0; i < n; i++)
		sprintf(hex + 2 + 2 * i, "%02x", raw[i]);
	return hex;
}

/*
 * One transaction's record as one statement (the transaction, its readings claimed -> submitted under the
 * token, the links, the nonce reserved -> busy under the token and value); returns the new id and whether
 * both guards held, through *ok. Runs inside the caller's transaction.
 */
static int
writeahead_one(struct store *s, const struct wa_tx *t, const char *token, int64_t *tx_id, bool *ok, struct err *e)
{
	static const char sql[] =
	    "WITH ins AS (INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash, last_valid_block_height, "
	    " wallets, readings, ix_wallets, kind, mint, nonce_account, nonce_value, amount) "
	    " VALUES ($1, $2, $3::bytea, $4, 0, $5, $6, $7::text[], 'mint', $8, $9, $4, $10::numeric) RETURNING id), "
	    "r AS (UPDATE meter_readings SET status = 'submitted', mint_tx_id = (SELECT id FROM ins), claimed_by = NULL, "
	    " claimed_at = NULL WHERE id = ANY($11::uuid[]) AND status = 'claimed' AND claimed_by = $13 RETURNING id), "
	    "n AS (UPDATE nonce_accounts SET state = 'busy', reserved_by = NULL, reserved_at = NULL, updated_at = now() "
	    " WHERE address = $9 AND state = 'reserved' AND reserved_by = $13 AND value = $4 RETURNING address), "
	    "l AS (INSERT INTO mint_transaction_readings (mint_tx_id, reading_id, token_amount) "
	    " SELECT (SELECT id FROM ins), x.id, x.amount FROM unnest($11::uuid[], $12::bigint[]) AS x(id, amount)) "
	    "SELECT (SELECT id FROM ins), (SELECT count(*) FROM r), (SELECT count(*) FROM n)";
	char *hex = store_hex_bytea(t->raw, t->raw_len), *ids = malloc(t->nreadings * MINTD_UUID_SZ + 3);
	char *amounts = malloc(t->nreadings * 21 + 3), *ixw = store_text_array(t->ix_wallets, t->nix);
	char nw[16], nr[16];
	PGresult *r;
	int rc = -1;

	*ok = false;
	if (hex == NULL || ids == NULL || amounts == NULL || ixw == NULL) {
		err_set(e, 0, "out of memory");
		goto out;
	}
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
	snprintf(nw, sizeof(nw), "%d", t->wallets);
	snprintf(nr, sizeof(nr), "%zu", t->nreadings);
	{
		const char *p[13] = { t->batch_id, t->signature, hex, t->nonce_value, nw, nr, ixw, t->mint, t->nonce_account,
			t->amount, ids, amounts, token };

		if ((r = store_q(s, sql, 13, p, e)) == NULL)
			goto out;
	}
	*tx_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	*ok = atol(PQgetvalue(r, 0, 1)) == (long)t->nreadings && atol(PQgetvalue(r, 0, 2)) == 1;
	PQclear(r);
	rc = 0;
out:
	free(hex);
	free(ids);
	free(amounts);
	free(ixw);
	return rc;
}

int
store_writeahead_many(struct store *s, const struct wa_tx *t, size_t n, const char *token, int64_t *tx_ids,
    bool *unknown, struct err *e)
{
	*unknown = false;
	if (n == 0)
		return 0;
	if (store_begin(s, e) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		bool ok;

		if (writeahead_one(s, &t[i], token, &tx_ids[i], &ok, e) < 0) {
			store_rollback(s);
			return -1;
		}
		if (!ok) {
			/* Some reading or the nonce is no longer ours (lease expired, released): none may be sent. */
			store_rollback(s);
			err_set(e, 0, "claim %s lost: a reading or a nonce of transaction %zu is no longer held", token, i);
			return 1;
		}
	}
	return store_commit(s, unknown, e);
}

int
store_writeahead_advance(struct store *s, const struct wa_adv *a, int64_t *tx_id, struct err *e)
{
	char mid[24], *hex = store_hex_bytea(a->raw, a->raw_len);
	PGresult *r;
	int rc = -1;

	if (hex == NULL)
		return err_set(e, 0, "out of memory");
	snprintf(mid, sizeof(mid), "%" PRId64, a->mint_tx_id);
	if (store_begin(s, e) < 0)
		goto out;
	{
		/* Lock the mint transaction against a verdict racing this record. */
		const char *p[5] = { mid, a->why, a->blame_wallet, a->nonce_account, a->nonce_value };

		r = store_q(s, "UPDATE mint_transactions SET abandon_reason = $2, blame_wallet = $3 WHERE id = $1 "
			 "AND state = 'pending' AND kind <> 'advance' AND nonce_account = $4 AND nonce_value = $5", 5, p, e);
		if (r == NULL)
			goto fail;
		if (store_count(r) != 1) {
			store_rollback(s);
			rc = 1;
			goto out;
		}
	}
	{
		const char *p[5] = { a->batch_id, a->signature, hex, a->nonce_account, a->nonce_value };

		r = store_q(s, "INSERT INTO mint_transactions (batch_id, signature, raw_tx, blockhash, "
			 "last_valid_block_height, kind, nonce_account, nonce_value) "
			 "VALUES ($1, $2, $3::bytea, $5, 0, 'advance', $4, $5) "
			 "ON CONFLICT (nonce_account, nonce_value) WHERE kind = 'advance' AND state = 'pending' DO NOTHING "
			 "RETURNING id", 5, p, e);
		if (r == NULL)
			goto fail;
		if (PQntuples(r) != 1) {
			PQclear(r);
			store_rollback(s);
			rc = 1;
			goto out;
		}
		*tx_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	if (store_commit(s, NULL, e) < 0)
		goto out;
	rc = 0;
	goto out;
fail:
	store_rollback(s);
out:
	free(hex);
	return rc;
}

int
store_mark_sent(struct store *s, int64_t tx_id, uint64_t slot, struct err *e)
{
	char id[24], sl[24];
	const char *p[2] = { id, slot ? sl : NULL };
	PGresult *r;

	snprintf(id, sizeof(id), "%" PRId64, tx_id);
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	r = store_q(s, "UPDATE mint_transactions SET sent_at = now(), sent_slot = $2 WHERE id = $1 AND sent_at IS NULL",
	    2, p, e);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
store_note_error(struct store *s, int64_t tx_id, const char *error, struct err *e)
{
	char id[24];
	const char *p[2] = { id, error };
	PGresult *r;

	snprintf(id, sizeof(id), "%" PRId64, tx_id);
	r = store_q(s, "UPDATE mint_transactions SET last_error = $2 WHERE id = $1 AND state = 'pending' "
		 "AND last_error IS DISTINCT FROM $2", 2, p, e);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* ---- verdicts ---- */

/* Fills *out from rows (READING_COLS..., status, latency int8). */
static int
settled_out(PGresult *r, struct settled **out, size_t *nout, struct err *e)
{
	if (store_rows_alloc(r, sizeof(**out), (void **)out, nout, e) < 0)
		return -1;
	for (int i = 0; i < (int)*nout; i++) {
		const char *st = PQgetvalue(r, i, READING_NCOLS);

		row_reading(r, i, &(*out)[i].r);
		if (rstate_parse(st, strlen(st), &(*out)[i].to) < 0)
			return err_set(e, 0, "reading %s: unknown status \"%s\"", (*out)[i].r.id, st);
		(*out)[i].latency_us = strtoll(PQgetvalue(r, i, READING_NCOLS + 1), NULL, 10);
	}
	return 0;
}

/* Appends the rows of r (same shape) to *out. */
static int
settled_append(PGresult *r, struct settled **out, size_t *nout, struct err *e)
{
	struct settled *more = NULL, *all;
	size_t n = 0;

	if (settled_out(r, &more, &n, e) < 0)
		return -1;
	if (n == 0)
		return 0;
	if ((all = realloc(*out, (*nout + n) * sizeof(**out))) == NULL) {
		free(more);
		return err_set(e, 0, "out of memory");
	}
	memcpy(all + *nout, more, n * sizeof(*more));
	free(more);
	*out = all;
	*nout += n;
	return 0;
}

/* Ends a transaction that settles readings: COMMIT when ok, else ROLLBACK; any failure frees *out. */
static int
end_settle(struct store *s, bool ok, struct settled **out, size_t *nout, struct err *e)
{
	if (ok && store_commit(s, NULL, e) == 0)
		return 0;
	if (!ok)
		store_rollback(s);
	free(*out);
	*out = NULL;
	*nout = 0;
	return -1;
}

/* The transaction's nonce pair, from tx_finish (its RETURNING). */
struct finished_tx {
	char batch_id[MINTD_UUID_SZ];
	char nonce_account[45];
	char nonce_value[45];
	char signature[89];
	bool advance;
	char blame_wallet[MINTD_WALLET_SZ];
	char abandon_reason[300];
};

/* Guarded final transition of one transaction; returns 0 (applied), 1 (not pending any more) or -1. */
static int
tx_finish(struct store *s, const char *id, enum txstate to, const char *error, uint64_t fee, uint64_t slot,
    struct finished_tx *out, struct err *e)
{
	char f[24], sl[24];
	const char *p[5] = { id, txstate_name(to), error, fee ? f : NULL, slot ? sl : NULL };
	PGresult *r;

	if (!txstate_allowed(TX_PENDING, to))
		return err_set(e, 0, "BUG: transaction transition pending -> %s", txstate_name(to));
	snprintf(f, sizeof(f), "%" PRIu64, fee);
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	r = store_q(s, "UPDATE mint_transactions SET state = $2, error = $3, fee_lamports = $4, slot = $5, "
		 "finished_at = now() WHERE id = $1 AND state = 'pending' RETURNING batch_id::text, "
		 "coalesce(nonce_account, ''), coalesce(nonce_value, ''), signature, kind = 'advance', "
		 "coalesce(blame_wallet, ''), coalesce(abandon_reason, '')", 5, p, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 1;
	}
	snprintf(out->batch_id, sizeof(out->batch_id), "%s", PQgetvalue(r, 0, 0));
	snprintf(out->nonce_account, sizeof(out->nonce_account), "%s", PQgetvalue(r, 0, 1));
	snprintf(out->nonce_value, sizeof(out->nonce_value), "%s", PQgetvalue(r, 0, 2));
	snprintf(out->signature, sizeof(out->signature), "%s", PQgetvalue(r, 0, 3));
	out->advance = PQgetvalue(r, 0, 4)[0] == 't';
	snprintf(out->blame_wallet, sizeof(out->blame_wallet), "%s", PQgetvalue(r, 0, 5));
	snprintf(out->abandon_reason, sizeof(out->abandon_reason), "%s", PQgetvalue(r, 0, 6));
	PQclear(r);
	return 0;
}

/* Every other pending transaction on the nonce value can never land now: expired, naming the winner. */
static int
expire_rivals(struct store *s, const char *id, const struct finished_tx *t, uint64_t slot, struct err *e)
{
	char why[200], sl[24];
	const char *p[4] = { id, t->nonce_account, t->nonce_value, why };
	PGresult *r;

	if (t->nonce_account[0] == '\0')
		return 0;
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	snprintf(why, sizeof(why), "its nonce value was consumed by %s at slot %s", t->signature, sl);
	r = store_q(s, "UPDATE mint_transactions SET state = 'expired', error = $4, finished_at = now() "
		 "WHERE nonce_account = $2 AND nonce_value = $3 AND state = 'pending' AND id <> $1", 4, p, e);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* busy -> advanced: the value was consumed at slot; the next one is read at or after it. */
static int
nonce_consumed(struct store *s, const struct finished_tx *t, uint64_t slot, struct err *e)
{
	char sl[24];
	const char *p[3] = { t->nonce_account, t->nonce_value, sl };
	PGresult *r;

	if (t->nonce_account[0] == '\0')
		return 0;
	snprintf(sl, sizeof(sl), "%" PRIu64, slot);
	r = store_q(s, "UPDATE nonce_accounts SET state = 'advanced', after_slot = $3::bigint, updated_at = now() "
		 "WHERE address = $1 AND value = $2 AND state = 'busy'", 3, p, e);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* Fills readings out of rows of (tx id, batch id, READING_COLS..., status, latency) after a bulk confirm. */
static int
confirmed_out(PGresult *r, struct confirmed *c, size_t nc, struct err *e)
{
	int n = PQntuples(r);

	for (int i = 0; i < n; i++) {
		int64_t id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		struct confirmed *k = NULL;

		for (size_t j = 0; j < nc && k == NULL; j++)
			if (c[j].tx_id == id)
				k = &c[j];
		if (k == NULL)
			continue;
		k->applied = true;
		snprintf(k->batch_id, sizeof(k->batch_id), "%s", PQgetvalue(r, i, 1));
		if (PQgetisnull(r, i, 2))
			continue; /* confirmed without a reading still submitted */
		{
			struct settled *grown = realloc(k->r, (k->n + 1) * sizeof(*k->r));

			if (grown == NULL)
				return err_set(e, 0, "out of memory");
			k->r = grown;
		}
		row_reading_at(r, i, 2, &k->r[k->n].r);
		k->r[k->n].to = RS_MINTED;
		k->r[k->n].latency_us = strtoll(PQgetvalue(r, i, 2 + READING_NCOLS), NULL, 10);
		k->n++;
	}
	return 0;
}

void
confirmed_free(struct confirmed *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].r);
		c[i].r = NULL;
		c[i].n = 0;
	}
}

int
store_confirm_many(struct store *s, struct confirmed *c, size_t n, struct err *e)
{
	/*
	 * One transaction, one fsync, however many: every mint transaction pending -> confirmed, its readings
	 * submitted -> minted, their retry entries gone, the rivals on each nonce value expired, each nonce
	 * advanced, and this instance's running sum grown. The shared advisory lock comes first, in its own
	 * statement, so the big statement's snapshot sees a baseline set up concurrently (store_supply.c).
	 */
	static const char sql[] =
	    "WITH x AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS x(id, slot, fee)), "
	    "t AS (UPDATE mint_transactions m SET state = 'confirmed', slot = x.slot, fee_lamports = x.fee, error = NULL, "
	    " finished_at = now() FROM x WHERE m.id = x.id AND m.state = 'pending' AND m.kind <> 'advance' "
	    " RETURNING m.id, m.batch_id, m.nonce_account, m.nonce_value, m.signature, m.amount, m.mint, x.slot), "
	    "r AS (UPDATE meter_readings mr SET status = 'minted', minted = true, mint_tx_signature = t.signature, "
	    " minted_at = now() FROM t WHERE mr.mint_tx_id = t.id AND mr.status = 'submitted' RETURNING t.id AS tx_id, "
	    " mr.id AS rid, mr.id::text AS rtext, mr.wallet_address AS wallet, mr.meter_serial AS serial, "
	    " coalesce(mr.user_id::text, '') AS uid, mr.kwh_micro AS kwh, mr.token_amount AS amt, "
	    " coalesce((SELECT q.attempts FROM minting_retry_queue q WHERE q.reading_id = mr.id), 0) AS attempts, "
	    " (extract(epoch FROM (now() - mr.submitted_at)) * 1000000)::bigint AS latency), "
	    "q AS (DELETE FROM minting_retry_queue d USING r WHERE d.reading_id = r.rid), "
	    "rv AS (UPDATE mint_transactions m SET state = 'expired', finished_at = now(), "
	    " error = 'its nonce value was consumed by ' || t.signature || ' at slot ' || t.slot "
	    " FROM t WHERE m.nonce_account = t.nonce_account AND m.nonce_value = t.nonce_value AND m.state = 'pending' "
	    " AND m.id <> t.id), "
	    "n AS (UPDATE nonce_accounts a SET state = 'advanced', after_slot = t.slot, updated_at = now() FROM t "
	    " WHERE a.address = t.nonce_account AND a.value = t.nonce_value AND a.state = 'busy'), "
	    "sc AS (INSERT INTO supply_confirmed AS c (mint, instance, amount) SELECT t.mint, $4, sum(t.amount) FROM t "
	    " WHERE EXISTS (SELECT 1 FROM supply_baseline b WHERE b.mint = t.mint) GROUP BY t.mint "
	    " ON CONFLICT (mint, instance) DO UPDATE SET amount = c.amount + excluded.amount) "
	    "SELECT t.id, t.batch_id::text, r.rtext, r.wallet, r.serial, r.uid, r.kwh, r.amt, r.attempts, r.latency "
	    "FROM t LEFT JOIN r ON r.tx_id = t.id";
	char *ids = NULL, *slots = NULL, *fees = NULL;
	const char *p[4];
	PGresult *r;
	int rc = -1;

	if (!rstate_allowed(RS_SUBMITTED, RS_MINTED) || !txstate_allowed(TX_PENDING, TX_CONFIRMED))
		return err_set(e, 0, "BUG: confirmation transitions refused");
	if (n == 0)
		return 0;
	ids = malloc(n * 22 + 3);
	slots = malloc(n * 22 + 3);
	fees = malloc(n * 22 + 3);
	if (ids == NULL || slots == NULL || fees == NULL) {
		err_set(e, 0, "out of memory");
		goto out;
	}
	{
		char *pi = ids, *ps = slots, *pf = fees;

		*pi++ = *ps++ = *pf++ = '{';
		for (size_t i = 0; i < n; i++) {
			pi += sprintf(pi, "%s%" PRId64, i ? "," : "", c[i].tx_id);
			ps += sprintf(ps, "%s%" PRIu64, i ? "," : "", c[i].slot);
			pf += sprintf(pf, "%s%" PRIu64, i ? "," : "", c[i].fee);
			c[i].applied = false;
			c[i].r = NULL;
			c[i].n = 0;
		}
		strcpy(pi, "}");
		strcpy(ps, "}");
		strcpy(pf, "}");
	}
	p[0] = ids;
	p[1] = slots;
	p[2] = fees;
	p[3] = S.instance;
	if (store_begin(s, e) < 0)
		goto out;
	if (store_exec0(s, "SELECT pg_advisory_xact_lock_shared(" STORE_SUPPLY_LOCK ")", e) < 0)
		goto fail;
	if ((r = store_q(s, sql, 4, p, e)) == NULL)
		goto fail;
	rc = confirmed_out(r, c, n, e);
	PQclear(r);
	if (rc < 0)
		goto fail;
	crash_point("during_db_update"); /* inside the transaction, its row locks held */
	if (store_commit(s, NULL, e) < 0) {
		rc = -1;
		goto clear;
	}
	rc = 0;
	goto out;
fail:
	store_rollback(s);
	rc = -1;
clear:
	confirmed_free(c, n);
	for (size_t i = 0; i < n; i++)
		c[i].applied = false;
out:
	free(ids);
	free(slots);
	free(fees);
	return rc;
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

/*
 * Delays the readings `src` selects without counting an attempt: a retry entry due after the initial
 * delay, attempts unchanged (a landed failure nobody can be blamed for still cost a fee: no hot loop).
 * $4 and $5 are not needed here but take the same parameters as CHARGE_SQL (each must have a type).
 */
#define DELAY_SQL(src)                                                                                \
	"WITH src AS (" src "), q AS ("                                                                 \
	" INSERT INTO minting_retry_queue AS q (reading_id, error_message, attempts, next_retry_at)"     \
	" SELECT id, $2, 0, now() + make_interval(secs => $3::float8) FROM src"                          \
	" ON CONFLICT (reading_id) DO UPDATE SET error_message = excluded.error_message,"                \
	"  updated_at = now(), next_retry_at = excluded.next_retry_at"                                   \
	" RETURNING reading_id, attempts)"                                                              \
	" UPDATE meter_readings m SET status = 'retrying', claimed_by = NULL, claimed_at = NULL"          \
	" FROM q WHERE m.id = q.reading_id AND $4::float8 >= 0 AND $5::int >= 0"                         \
	" RETURNING " READING_BASE ", q.attempts, m.status, 0::bigint"

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
	if ((r = store_q(s, sql, 6, p, e)) == NULL)
		return -1;
	rc = settled_append(r, out, nout, e);
	PQclear(r);
	return rc;
}

/* The readings of transaction id other than blame's back to pending, uncounted. */
static int
release_others(struct store *s, const char *id, const char *blame, long *released, struct err *e)
{
	const char *p[2] = { id, blame };
	PGresult *r;

	if (!rstate_allowed(RS_SUBMITTED, RS_PENDING))
		return err_set(e, 0, "BUG: submitted -> pending refused");
	r = store_q(s, "UPDATE meter_readings SET status = 'pending' WHERE mint_tx_id = $1 AND status = 'submitted' "
		 "AND ($2::text IS NULL OR wallet_address <> $2)", 2, p, e);
	if (r == NULL)
		return -1;
	*released += store_count(r);
	return 0;
}

/* blame only when it names a reading of the transaction (else nobody is charged). */
static int
check_blame(struct store *s, const char *id, const char **blame, struct err *e)
{
	const char *p[2] = { id, *blame };
	PGresult *r;

	if (*blame == NULL || **blame == '\0') {
		*blame = NULL;
		return 0;
	}
	r = store_q(s, "SELECT 1 FROM meter_readings WHERE mint_tx_id = $1 AND status = 'submitted' "
		 "AND wallet_address = $2 LIMIT 1", 2, p, e);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0)
		*blame = NULL;
	PQclear(r);
	return 0;
}

static const char by_tx_wallet[] = CHARGE_SQL(
    "SELECT id FROM meter_readings WHERE mint_tx_id = $1::bigint AND status = 'submitted'"
    " AND wallet_address = $6::text FOR UPDATE");

int
store_fail(struct store *s, int64_t tx_id, const char *error, uint64_t slot, uint64_t fee, const char *blame,
    char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, long *released, struct err *e)
{
	static const char delay_all[] = DELAY_SQL(
	    "SELECT id FROM meter_readings WHERE mint_tx_id = $1::bigint AND status = 'submitted'"
	    " AND $6::text IS NULL FOR UPDATE");
	struct finished_tx t;
	char id[24];
	int rc;

	*out = NULL;
	*nout = 0;
	*released = 0;
	snprintf(id, sizeof(id), "%" PRId64, tx_id);
	if (store_begin(s, e) < 0)
		return -1;
	if ((rc = tx_finish(s, id, TX_FAILED, error, fee, slot, &t, e)) != 0) {
		store_rollback(s);
		return rc;
	}
	memcpy(batch_id, t.batch_id, MINTD_UUID_SZ);
	if (check_blame(s, id, &blame, e) < 0)
		goto fail;
	if (blame != NULL) {
		if (release_others(s, id, blame, released, e) < 0 || charge(s, by_tx_wallet, id, blame, error, out, nout, e) < 0)
			goto fail;
	} else if (charge(s, delay_all, id, NULL, error, out, nout, e) < 0) {
		goto fail;
	}
	if (expire_rivals(s, id, &t, slot, e) < 0 || nonce_consumed(s, &t, slot, e) < 0)
		goto fail;
	return end_settle(s, true, out, nout, e);
fail:
	return end_settle(s, false, out, nout, e);
}

int
store_void(struct store *s, int64_t adv_tx_id, uint64_t slot, uint64_t fee, const char *new_value,
    uint64_t value_slot, char batch_id[MINTD_UUID_SZ], struct settled **out, size_t *nout, long *released,
    struct err *e)
{
	struct finished_tx a, t;
	char id[24], mid[24] = "", why[200], vs[24];
	const char *blame;
	PGresult *r;
	int rc;

	*out = NULL;
	*nout = 0;
	*released = 0;
	snprintf(id, sizeof(id), "%" PRId64, adv_tx_id);
	if (store_begin(s, e) < 0)
		return -1;
	if ((rc = tx_finish(s, id, TX_CONFIRMED, NULL, fee, slot, &a, e)) != 0) {
		store_rollback(s);
		return rc;
	}
	memcpy(batch_id, a.batch_id, MINTD_UUID_SZ);
	{
		/* The mint transaction on the same value: it must still be pending (if it landed, both did: alarm). */
		const char *p[2] = { a.nonce_account, a.nonce_value };

		r = store_q(s, "SELECT id, state FROM mint_transactions WHERE nonce_account = $1 AND nonce_value = $2 "
			 "AND kind <> 'advance' FOR UPDATE", 2, p, e);
		if (r == NULL)
			goto fail;
		if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 1), "confirmed") == 0) {
			PQclear(r);
			store_rollback(s);
			return 2;
		}
		if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 1), "pending") == 0)
			snprintf(mid, sizeof(mid), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (mid[0] != '\0') {
		snprintf(why, sizeof(why), "never landed: its nonce value was consumed by %s at slot %" PRIu64, a.signature,
		    slot);
		if ((rc = tx_finish(s, mid, TX_EXPIRED, why, 0, 0, &t, e)) != 0)
			goto fail;
		blame = t.blame_wallet;
		if (check_blame(s, mid, &blame, e) < 0 || release_others(s, mid, blame, released, e) < 0)
			goto fail;
		/* The charged wallet's error is what it was blamed for (the preflight answer), not the proof. */
		if (blame != NULL &&
		    charge(s, by_tx_wallet, mid, blame, t.abandon_reason[0] ? t.abandon_reason : why, out, nout, e) < 0)
			goto fail;
	}
	{
		const char *p[4] = { a.nonce_account, a.nonce_value, new_value, vs };

		snprintf(vs, sizeof(vs), "%" PRIu64, value_slot);
		r = store_q(s, "UPDATE nonce_accounts SET state = 'free', value = $3, value_slot = $4::bigint, "
			 "after_slot = NULL, updated_at = now() WHERE address = $1 AND value = $2 AND state = 'busy'", 4, p, e);
		if (r == NULL)
			goto fail;
		PQclear(r);
	}
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

/* ---- pending transactions ---- */

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
		size_t len;

		while (*end && *end != ',' && *end != '}')
			end++;
		len = (size_t)(end - c);
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
	r = store_q(s, "SELECT id, batch_id::text, signature, encode(raw_tx, 'hex'), sent_at IS NOT NULL, "
		 "coalesce(sent_slot, 0), wallets, readings, ix_wallets::text, kind = 'advance', "
		 "coalesce(nonce_account, ''), coalesce(nonce_value, ''), coalesce(blame_wallet, ''), kind = 'table' "
		 "FROM mint_transactions WHERE state = 'pending' AND created_at <= now() - make_interval(secs => $1::int) "
		 "ORDER BY kind = 'advance', id", 1, p, e);
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
		if (sodium_hex2bin(t->raw, sizeof(t->raw), hex, hl, NULL, &t->raw_len, NULL) != 0)
			t->raw_len = 0;
		t->sent = PQgetvalue(r, i, 4)[0] == 't';
		t->sent_slot = store_u64(r, i, 5);
		t->wallets = atoi(PQgetvalue(r, i, 6));
		t->readings = atoi(PQgetvalue(r, i, 7));
		parse_ix_wallets(PQgetisnull(r, i, 8) ? NULL : PQgetvalue(r, i, 8), t);
		t->advance = PQgetvalue(r, i, 9)[0] == 't';
		snprintf(t->nonce_account, sizeof(t->nonce_account), "%s", PQgetvalue(r, i, 10));
		snprintf(t->nonce_value, sizeof(t->nonce_value), "%s", PQgetvalue(r, i, 11));
		snprintf(t->blame_wallet, sizeof(t->blame_wallet), "%s", PQgetvalue(r, i, 12));
		t->table = PQgetvalue(r, i, 13)[0] == 't';
	}
	*nout = (size_t)n;
	PQclear(r);
	return 0;
}

int
store_pending_ids(struct store *s, int64_t **out, size_t *nout, struct err *e)
{
	PGresult *r = store_q(s, "SELECT id FROM mint_transactions WHERE state = 'pending'", 0, NULL, e);
	int n;

	*out = NULL;
	*nout = 0;
	if (r == NULL)
		return -1;
	n = PQntuples(r);
	if (n > 0 && (*out = calloc((size_t)n, sizeof(**out))) == NULL) {
		PQclear(r);
		return err_set(e, 0, "out of memory");
	}
	for (int i = 0; i < n; i++)
		(*out)[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	*nout = (size_t)n;
	PQclear(r);
	return 0;
}

/* ---- settings and gauges ---- */

int
store_batch_totals(struct store *s, const char *batch_id, long *open, long *total, long *ok, struct err *e)
{
	const char *p[1] = { batch_id };
	PGresult *r = store_q(s, "SELECT count(*) FILTER (WHERE state = 'pending'), coalesce(sum(readings), 0), "
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
	PGresult *r = store_q(s, "SELECT value FROM settings WHERE key = 'auto_mint_enabled'", 0, NULL, e);

	if (r == NULL)
		return -1;
	*on = PQntuples(r) == 0 || strcmp(PQgetvalue(r, 0, 0), "false") != 0;
	PQclear(r);
	return 0;
}

int
store_gauges(struct store *s, struct store_gauges *g, struct err *e)
{
	/* A waiting reading is due (and ages) from when its wallet's window opens. */
	PGresult *r = store_q(s, "SELECT count(*) FILTER (WHERE status <> 'failed'), "
			       "count(*) FILTER (WHERE status = 'retrying'), count(*) FILTER (WHERE status = 'failed'), "
			       "coalesce(extract(epoch FROM now() - min(coalesce(mint_after, submitted_at)) FILTER (WHERE "
			       " status <> 'failed' AND (status <> 'waiting' OR mint_after <= now())))::bigint, 0), "
			       "(SELECT coalesce(extract(epoch FROM now() - min(created_at))::bigint, 0) FROM mint_transactions "
			       " WHERE state = 'pending'), count(*) FILTER (WHERE status = 'waiting') "
			       "FROM meter_readings WHERE status <> 'minted'", 0, NULL, e);

	if (r == NULL)
		return -1;
	g->backlog = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	g->retry = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	g->dead = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	g->oldest_age_s = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	g->oldest_pending_tx_age_s = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	g->waiting = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	PQclear(r);
	return 0;
}
