/*
 * store.c: group commit. Readings that arrive while every connection is busy
 * gather into one group, written by one multi-row INSERT (one transaction,
 * one WAL flush) when a connection frees up. The meter_readings_no_duplicates
 * exclusion constraint settles duplicates, inside a group and against stored
 * rows, in the database.
 *
 * Two statements write a group. The plain INSERT is the common case: when no
 * reading of the group collides, it costs PostgreSQL one exclusion check per
 * row. ON CONFLICT DO NOTHING checks every row twice (once before inserting,
 * once after): 42.5 against 34.7 us of PostgreSQL per row for the bench's raw
 * INSERTs of 200,000 rows with and without it; but it skips the rows in the
 * way instead of failing.
 * So a group goes plain, and when that fails on a collision (exclusion or
 * unique violation) the transaction has rolled back with nothing stored and
 * the same group is written again with ON CONFLICT DO NOTHING. After a
 * collision the next SKIP_SPAN groups go with ON CONFLICT at once (each of
 * them that meets a collision starts the span again), so a stream of
 * duplicates costs no failed statements, and clean traffic at most one per
 * SKIP_SPAN + 1 groups. A group that loses a deadlock (two transactions
 * inserting overlapping readings, each waiting for the other; possible with
 * either statement once a group has several rows) is written again the same
 * way, up to MAX_ATTEMPTS statements in all. Rows the ON CONFLICT INSERT did
 * not insert are then looked up to tell a replay (200) from a duplicate (409).
 */
#include "store.h"
#include "pgarray.h"
#include "pgconn.h"
#include "sbuf.h"
#include "ts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * The group INSERT's parameters: ten arrays of the readings' columns and, as $9, the duplicate window, all
 * sent in PostgreSQL's binary format: no text to print here or to parse there (uuid, timestamptz and bigint
 * input functions, array_in's quoting) for every value of every reading.
 */
#define NPARAMS 11
#define WIN_PARAM 8

struct group {
	struct store *s;
	struct group *next_waiting;
	struct store_item *head, *tail;
	int n;
	bool sent;
	/* the binary parameters, built when a connection takes the group */
	char *p[NPARAMS];
	uint8_t winbuf[8];
	const char *params[NPARAMS];
	int lengths[NPARAMS];
	struct store_item **missing;
	int nmissing;
	bool skip;    /* written (or being written) with ON CONFLICT DO NOTHING */
	int attempts; /* statements sent for it */
};

/*
 * Groups written with ON CONFLICT DO NOTHING straight away after one met a
 * collision; statements one group may take (a deadlock can strike again).
 */
enum { SKIP_SPAN = 64, MAX_ATTEMPTS = 3 };

struct store {
	struct db *db;
	int64_t window_us;
	int max_rows;
	int max_inflight;   /* groups handed to the database at once */
	int min_rows;       /* rows a group needs to run beside another (a lone group runs at once) */
	int inflight;
	int skip_left;      /* groups still to be written with ON CONFLICT DO NOTHING at once */
	struct group *open; /* not yet sent, still taking readings */
	struct group *wait_head, *wait_tail; /* full or open groups not yet handed to the database */
	size_t pending;
	struct store_stats stats;
};

#define INSERT_HEAD \
    "INSERT INTO meter_readings (id, meter_serial, meter_id, user_id, wallet_address, kwh_micro, token_amount, " \
    "reading_timestamp, reading_us, dup_window, meter_signature) " \
    "SELECT v.id, v.serial, v.mid, v.uid, v.wallet, v.kwh, v.tok, v.ts, v.us, int8range(v.us, v.us + $9::bigint), v.sig " \
    "FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::bigint[], $7::timestamptz[], " \
    "$8::bigint[], $10::text[], $11::bigint[]) WITH ORDINALITY AS v(id, serial, uid, wallet, kwh, tok, ts, us, sig, mid, ord) " \
    "ORDER BY v.ord "
/*
 * meter_id keys the duplicate-window exclusion (cheaper than the serial). It comes from ingestd's meter cache
 * (a meter's id never changes, sql/010), not from a join with meters, which PostgreSQL's generic plan ran as
 * a hash of the whole table for every group when the fleet was a few thousand meters; the statement's meter
 * check (sql/011) still refuses a wrong one. The order is kept so that with ON CONFLICT the first of two
 * duplicates in one group wins.
 */
#define INSERT_TAIL "RETURNING id, (extract(epoch FROM submitted_at) * 1000000)::bigint"

const char STORE_INSERT_NAME[] = "ingestd_insert";
const char STORE_INSERT_SQL[] = INSERT_HEAD INSERT_TAIL;
const char STORE_INSERT_SKIP_NAME[] = "ingestd_insert_skip";
const char STORE_INSERT_SKIP_SQL[] = INSERT_HEAD "ON CONFLICT DO NOTHING " INSERT_TAIL;

/* For each reading not inserted: the stored reading it collides with (an identical one first). */
static const char CONFLICT_SQL[] =
    "SELECT v.ord, " STORE_ROW_COLS ", r.meter_signature "
    "FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS v(mid, us, ord) "
    "CROSS JOIN LATERAL (SELECT * FROM meter_readings r WHERE r.meter_id = v.mid "
    "AND r.dup_window && int8range(v.us, v.us + $3::bigint) ORDER BY (r.reading_us = v.us) DESC, r.reading_us "
    "LIMIT 1) r";


static void
group_free(struct group *g)
{
	for (int i = 0; i < NPARAMS; i++)
		free(g->p[i]);
	free(g->missing);
	free(g);
}

static void
finish(struct store *s, struct store_item *it, enum store_outcome o)
{
	it->outcome = o;
	s->pending--;
	if (s->stats.latency)
		s->stats.latency(ts_mono_us() - it->enq_us, s->stats.arg);
	it->done(it, it->arg);
}

/* Finishes every reading of the group not yet finished, with outcome o. */
static void
finish_all(struct group *g, enum store_outcome o, const char *why)
{
	struct store_item *it, *next;

	for (it = g->head; it != NULL; it = next) {
		next = it->next;
		if (why != NULL)
			snprintf(it->error, sizeof(it->error), "%s", why);
		finish(g->s, it, o);
	}
	g->head = g->tail = NULL;
}

/* One number of a text array (the duplicate lookup's; the group INSERT sends binary arrays). */
static void
tb_num(struct sbuf *b, bool first, int64_t v)
{
	char num[24];

	if (!first)
		sbuf_add(b, ",", 1);
	snprintf(num, sizeof(num), "%" PRId64, v);
	sbuf_str(b, num);
}

/* The statement's parameters, as the group's arrays hold them: every one binary. */
static void
set_params(struct group *g, struct db_stmt *st)
{
	static const int binary[NPARAMS] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	_Static_assert(NPARAMS == 11, "one format per parameter");

	st->nparams = NPARAMS;
	st->values = g->params;
	st->lengths = g->lengths;
	st->formats = binary;
}

static int
build_insert(void *arg, struct db_stmt *st)
{
	static const uint32_t oid[NPARAMS] = { PGA_UUID, PGA_TEXT, PGA_UUID, PGA_TEXT, PGA_INT8, PGA_INT8,
		PGA_TIMESTAMPTZ, PGA_INT8, 0, PGA_TEXT, PGA_INT8 };
	struct group *g = arg;
	struct store *s = g->s;
	struct pgarray a[NPARAMS] = { 0 };
	bool oom = false, bad_uuid = false;

	g->sent = true;
	if (s->open == g)
		s->open = NULL;
	for (int k = 0; k < NPARAMS; k++)
		if (k != WIN_PARAM)
			pga_begin(&a[k], oid[k]);
	for (struct store_item *it = g->head; it != NULL; it = it->next) {
		/* the id is ours (uuid_v7) and the user the database's own text: both canonical */
		bad_uuid |= pga_uuid(&a[0], it->id) < 0;
		pga_text(&a[1], it->serial, strlen(it->serial));
		if (it->user_id[0] == '\0')
			pga_null(&a[2]);
		else
			bad_uuid |= pga_uuid(&a[2], it->user_id) < 0;
		pga_text(&a[3], it->wallet, strlen(it->wallet));
		pga_int8(&a[4], (int64_t)it->kwh_micro);
		pga_int8(&a[5], (int64_t)it->tokens);
		pga_timestamptz(&a[6], it->ts_us);
		pga_int8(&a[7], it->ts_us);
		pga_text(&a[9], it->sig, strlen(it->sig));
		pga_int8(&a[10], it->meter_id);
	}
	for (int k = 0; k < NPARAMS; k++) {
		if (k == WIN_PARAM)
			continue;
		pga_end(&a[k]);
		oom |= a[k].b.oom;
	}
	if (oom || bad_uuid) {
		for (int k = 0; k < NPARAMS; k++)
			free(a[k].b.p);
		if (oom)
			finish_all(g, STO_UNAVAILABLE, "out of memory");
		else
			finish_all(g, STO_ERROR, "a reading's id or user id is not a canonical uuid");
		group_free(g);
		return -1;
	}
	for (int k = 0; k < NPARAMS; k++) {
		g->p[k] = a[k].b.p;
		g->params[k] = a[k].b.p;
		g->lengths[k] = (int)a[k].b.n;
	}
	pga_int8_bytes(s->window_us, g->winbuf);
	g->params[WIN_PARAM] = (const char *)g->winbuf;
	g->lengths[WIN_PARAM] = (int)sizeof(g->winbuf);
	if (s->skip_left > 0) {
		s->skip_left--;
		g->skip = true;
	}
	g->attempts = 1;
	st->prepared = g->skip ? STORE_INSERT_SKIP_NAME : STORE_INSERT_NAME;
	set_params(g, st);
	return 0;
}

/* The same group again, with ON CONFLICT DO NOTHING, after its INSERT rolled back (a collision, a deadlock). */
static int
build_again(void *arg, struct db_stmt *st)
{
	struct group *g = arg;

	g->attempts++;
	st->prepared = STORE_INSERT_SKIP_NAME;
	set_params(g, st);
	return 0;
}

static bool
deadlocked(const PGresult *res)
{
	return strcmp(pgc_sqlstate(res), "40P01") == 0;
}

/*
 * Whether a failed INSERT is written again, with ON CONFLICT DO NOTHING: the
 * plain one after a reading in the way (23P01 exclusion, 23505 unique
 * violation), either after a deadlock with a concurrent writer of overlapping
 * readings (40P01; ON CONFLICT does not rule that out for a group of several
 * rows). The transaction rolled back, so nothing of the group is stored.
 */
static bool
write_again(const struct group *g, const PGresult *res)
{
	const char *st = pgc_sqlstate(res);

	if (g->attempts >= MAX_ATTEMPTS)
		return false;
	return deadlocked(res) || (!g->skip && (strcmp(st, "23P01") == 0 || strcmp(st, "23505") == 0));
}

static int64_t
i64(const char *s)
{
	return strtoll(s, NULL, 10);
}

int
store_row_from(const PGresult *res, int i, int c, struct store_row *row)
{
	const char *v[STORE_ROW_NCOLS];

	for (int k = 0; k < STORE_ROW_NCOLS; k++)
		v[k] = PQgetvalue(res, i, c + k);
	if (strlen(v[0]) >= sizeof(row->id) || strlen(v[1]) >= sizeof(row->meter_serial) ||
	    strlen(v[2]) >= sizeof(row->user_id) || strlen(v[3]) >= sizeof(row->wallet) ||
	    rstate_parse(v[8], strlen(v[8]), &row->status) < 0)
		return -1;
	strcpy(row->id, v[0]);
	strcpy(row->meter_serial, v[1]);
	strcpy(row->user_id, v[2]);
	strcpy(row->wallet, v[3]);
	row->kwh_micro = strtoull(v[4], NULL, 10);
	row->tokens = strtoull(v[5], NULL, 10);
	row->ts_us = i64(v[6]);
	row->submitted_us = i64(v[7]);
	return 0;
}

static void
conflicts_done(PGresult *res, void *arg)
{
	struct group *g = arg;
	struct store *s = g->s;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		bool unav = db_unavailable(res);

		for (int i = 0; i < g->nmissing; i++) {
			struct store_item *it = g->missing[i];

			snprintf(it->error, sizeof(it->error), "duplicate lookup: %s",
			    res ? db_msg(PQresultErrorMessage(res)) : "no connection");
			finish(s, it, unav ? STO_UNAVAILABLE : STO_ERROR);
		}
		group_free(g);
		return;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		long ord = strtol(PQgetvalue(res, r, 0), NULL, 10);
		struct store_item *it;

		if (ord < 1 || ord > g->nmissing || (it = g->missing[ord - 1]) == NULL)
			continue;
		g->missing[ord - 1] = NULL;
		if (store_row_from(res, r, 1, &it->row) < 0) {
			snprintf(it->error, sizeof(it->error), "stored reading does not fit");
			finish(s, it, STO_ERROR);
			continue;
		}
		/* The same signed reading again (same meter, instant, kWh and signature): a retry. */
		if (it->row.ts_us == it->ts_us && it->row.kwh_micro == it->kwh_micro &&
		    strcmp(PQgetvalue(res, r, 1 + STORE_ROW_NCOLS), it->sig) == 0)
			finish(s, it, STO_REPLAY);
		else
			finish(s, it, STO_DUPLICATE);
	}
	for (int i = 0; i < g->nmissing; i++) {
		if (g->missing[i] == NULL)
			continue;
		/* Not inserted and nothing in the way: the conflicting writer rolled back. Ask the client to retry. */
		snprintf(g->missing[i]->error, sizeof(g->missing[i]->error), "conflict vanished");
		finish(s, g->missing[i], STO_UNAVAILABLE);
	}
	group_free(g);
}

static void
lookup_conflicts(struct group *g)
{
	struct store *s = g->s;
	struct sbuf b[2] = { 0 };
	char win[24];
	const char *params[3];

	sbuf_add(&b[0], "{", 1);
	sbuf_add(&b[1], "{", 1);
	for (int i = 0; i < g->nmissing; i++) {
		tb_num(&b[0], i == 0, g->missing[i]->meter_id);
		tb_num(&b[1], i == 0, g->missing[i]->ts_us);
	}
	sbuf_add(&b[0], "}", 1);
	sbuf_add(&b[1], "}", 1);
	snprintf(win, sizeof(win), "%" PRId64, s->window_us);
	params[0] = b[0].p;
	params[1] = b[1].p;
	params[2] = win;
	if (b[0].oom || b[1].oom || db_query(s->db, CONFLICT_SQL, 3, params, conflicts_done, g) < 0) {
		free(b[0].p);
		free(b[1].p);
		conflicts_done(NULL, g);
		return;
	}
	free(b[0].p);
	free(b[1].p);
}

static void kick(struct store *s);
static void insert_answered(struct group *g, PGresult *res);

static void
insert_done(PGresult *res, void *arg)
{
	struct group *g = arg;
	struct store *s = g->s;

	s->inflight--;
	insert_answered(g, res);
	kick(s);
}

static void
insert_answered(struct group *g, PGresult *res)
{
	struct store *s = g->s;
	struct store_item *it, *next, **prevp;
	int nrows;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* A deadlock lost every time is still transient: the client may retry. */
		bool unav = db_unavailable(res) || deadlocked(res);

		if (write_again(g, res)) {
			g->skip = true;
			s->skip_left = SKIP_SPAN;
			if (s->stats.rewrite)
				s->stats.rewrite(s->stats.arg);
			s->inflight++;
			if (db_query_lazy(s->db, build_again, insert_done, g) == 0)
				return;
			s->inflight--;
			unav = true;
		}
		finish_all(g, unav ? STO_UNAVAILABLE : STO_ERROR, res ? db_msg(PQresultErrorMessage(res)) : "no connection");
		group_free(g);
		return;
	}
	nrows = PQntuples(res);
	if (g->skip && nrows < g->n)
		s->skip_left = SKIP_SPAN; /* duplicates keep coming: stay with ON CONFLICT */
	if (s->stats.group)
		s->stats.group(g->n, s->stats.arg);
	/*
	 * RETURNING comes back in insertion order, which is the order of the
	 * group: walk both lists together, falling back to a search.
	 */
	it = g->head;
	for (int r = 0; r < nrows; r++) {
		const char *id = PQgetvalue(res, r, 0);
		struct store_item *x = it;

		while (x != NULL && strcmp(x->id, id) != 0)
			x = x->next;
		if (x == NULL)
			for (x = g->head; x != NULL && strcmp(x->id, id) != 0; x = x->next)
				;
		if (x == NULL)
			continue;
		x->row.submitted_us = i64(PQgetvalue(res, r, 1));
		x->inserted = true;
		it = x->next;
	}
	/* Answer the inserted ones; collect the rest for the conflict lookup. */
	g->missing = calloc((size_t)(g->n - nrows > 0 ? g->n - nrows : 1), sizeof(*g->missing));
	prevp = &g->head;
	for (it = g->head; it != NULL; it = next) {
		next = it->next;
		if (it->inserted) {
			*prevp = next;
			strcpy(it->row.id, it->id);
			strcpy(it->row.meter_serial, it->serial);
			strcpy(it->row.user_id, it->user_id);
			strcpy(it->row.wallet, it->wallet);
			it->row.kwh_micro = it->kwh_micro;
			it->row.tokens = it->tokens;
			it->row.ts_us = it->ts_us;
			it->row.status = RS_PENDING;
			finish(s, it, STO_INSERTED);
			continue;
		}
		if (g->missing == NULL) {
			prevp = &it->next;
			continue;
		}
		g->missing[g->nmissing++] = it;
		*prevp = next;
	}
	if (g->missing == NULL) {
		finish_all(g, STO_UNAVAILABLE, "out of memory");
		group_free(g);
		return;
	}
	g->head = g->tail = NULL;
	if (g->nmissing == 0) {
		group_free(g);
		return;
	}
	lookup_conflicts(g);
}

static void
prepare(struct store *s, struct store_item *it)
{
	it->enq_us = ts_mono_us();
	it->next = NULL;
	it->inserted = false;
	it->error[0] = '\0';
	s->pending++;
}

/*
 * Whether the first waiting group goes to the database now. A lone group
 * always does: nothing else is being written, so waiting only adds latency.
 * Beside a running group it goes only when it is full or holds min_rows:
 * every statement costs PostgreSQL far more than a row does (about 450 us of
 * CPU against 55 us per row, measured by test/bench/ingest.sh), so a second
 * group of a few rows is slower for everyone than letting them gather until
 * the running group commits. Under load the groups grow to min_rows and run
 * side by side; under light load each reading waits at most one commit.
 */
static bool
may_send(const struct store *s, const struct group *g)
{
	if (g == NULL || s->inflight >= s->max_inflight)
		return false;
	return s->inflight == 0 || g != s->open || g->n >= s->min_rows;
}

/* Hands waiting groups to the database while may_send allows. */
static void
kick(struct store *s)
{
	struct group *g;

	while (may_send(s, g = s->wait_head)) {
		s->wait_head = g->next_waiting;
		if (s->wait_head == NULL)
			s->wait_tail = NULL;
		s->inflight++;
		/* A connection may take it at once (build_insert closes it) or when one frees up. */
		if (db_query_lazy(s->db, build_insert, insert_done, g) < 0) {
			s->inflight--;
			if (s->open == g)
				s->open = NULL;
			finish_all(g, STO_UNAVAILABLE, "database unavailable");
			group_free(g);
		}
	}
}

/* A new group holding items[0..n), open for more while it waits. */
static void
new_group(struct store *s, struct store_item **items, int n)
{
	struct group *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		for (int i = 0; i < n; i++) {
			snprintf(items[i]->error, sizeof(items[i]->error), "out of memory");
			finish(s, items[i], STO_UNAVAILABLE);
		}
		return;
	}
	g->s = s;
	for (int i = 0; i < n; i++) {
		if (g->tail)
			g->tail->next = items[i];
		else
			g->head = items[i];
		g->tail = items[i];
	}
	g->n = n;
	s->open = g;
	if (s->wait_tail)
		s->wait_tail->next_waiting = g;
	else
		s->wait_head = g;
	s->wait_tail = g;
	kick(s);
}

void
store_add(struct store *s, struct store_item *it)
{
	struct group *g = s->open;

	prepare(s, it);
	if (g == NULL || g->n >= s->max_rows) {
		new_group(s, &it, 1);
		return;
	}
	g->tail->next = it;
	g->tail = it;
	if (++g->n == s->min_rows)
		kick(s);
}

void
store_add_many(struct store *s, struct store_item **items, int n)
{
	for (int i = 0; i < n; i++)
		prepare(s, items[i]);
	/* Whole chunks of max_rows each go into one statement, in order: the first of two duplicates wins. */
	for (int i = 0; i < n; i += s->max_rows) {
		int k = n - i < s->max_rows ? n - i : s->max_rows;
		struct group *g = s->open;

		if (g != NULL && g->n + k <= s->max_rows) {
			for (int j = 0; j < k; j++) {
				g->tail->next = items[i + j];
				g->tail = items[i + j];
			}
			g->n += k;
			kick(s);
		} else {
			new_group(s, items + i, k);
		}
	}
}

size_t
store_pending(const struct store *s)
{
	return s->pending;
}

void
store_set_groups(struct store *s, int max_rows, int max_inflight, int min_rows)
{
	s->max_rows = max_rows > 0 ? max_rows : 1;
	s->max_inflight = max_inflight > 0 ? max_inflight : 1;
	s->min_rows = min_rows > 0 ? min_rows : 1;
	kick(s);
}

struct store *
store_new(struct db *db, int64_t window_us, const struct store_stats *stats)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->db = db;
	s->window_us = window_us;
	s->max_rows = 1000;
	s->max_inflight = 2;
	s->min_rows = 1;
	if (stats)
		s->stats = *stats;
	return s;
}

void
store_free(struct store *s)
{
	struct group *g, *next;

	if (s == NULL)
		return;
	/* Groups never handed to the database (shutdown with the database away). */
	for (g = s->wait_head; g != NULL; g = next) {
		next = g->next_waiting;
		finish_all(g, STO_UNAVAILABLE, "shutting down");
		group_free(g);
	}
	free(s);
}
