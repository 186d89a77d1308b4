/* store.h: group commit of accepted readings into PostgreSQL, with replay and duplicate detection by the database. */
#ifndef INGESTD_STORE_H
#define INGESTD_STORE_H

#include "err.h"
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "meters.h"
#include "rstate.h"
#include "ts.h"

enum store_outcome {
	STO_INSERTED,    /* committed now */
	STO_REPLAY,      /* the identical signed reading was already stored: row is that reading */
	STO_DUPLICATE,   /* another reading of the meter inside the duplicate window: row is that one */
	STO_UNAVAILABLE, /* the database could not be reached or the answer was lost: retry later */
	STO_ERROR,       /* unexpected database error (logged by the caller) */
};

/* A stored reading as the API shows it. */
struct store_row {
	char id[37];
	char meter_serial[METER_SERIAL_MAX + 1];
	char user_id[40];
	char wallet[48];
	uint64_t kwh_micro;
	uint64_t tokens;
	int64_t ts_us;
	int64_t submitted_us;
	enum rstate status;
};

struct store_item;
typedef void (*store_fn)(struct store_item *it, void *arg);

/* One reading to insert. The caller owns it; it must stay alive until done is called. */
struct store_item {
	/* filled by the caller */
	char id[37];               /* fresh time-ordered (v7) uuid */
	char serial[METER_SERIAL_MAX + 1], user_id[40], wallet[48]; /* copied from the meter ("" user: none) */
	int64_t meter_id;          /* the meter's meters.id, from the same cache entry */
	uint64_t kwh_micro, tokens;
	int64_t ts_us;
	char sig[96];
	store_fn done;
	void *arg;
	/* filled by store */
	enum store_outcome outcome;
	struct store_row row;
	char error[160];
	/* private */
	int64_t enq_us;
	bool inserted;
	struct store_item *next;
};

struct store;

struct store_stats {
	void (*group)(int rows, void *arg);             /* one committed group of n rows */
	void (*latency)(int64_t us, void *arg);          /* enqueue to answer, per reading */
	void (*rewrite)(void *arg);                      /* a plain group INSERT failed on a collision: written again */
	void *arg;
};

struct store *store_new(struct db *db, int64_t dup_window_us, const struct store_stats *stats) WUR;
void store_free(struct store *s);
/*
 * Rows per group, groups handed to the database at once (the rest gather while
 * they wait), and the rows a group needs to be handed over while another runs.
 */
void store_set_groups(struct store *s, int max_rows, int max_inflight, int min_rows);

/*
 * The group INSERTs, prepared on every database connection under these names:
 * plain, and with ON CONFLICT DO NOTHING (after a collision).
 */
extern const char STORE_INSERT_NAME[];
extern const char STORE_INSERT_SQL[];
extern const char STORE_INSERT_SKIP_NAME[];
extern const char STORE_INSERT_SKIP_SQL[];

/* Queues it for the next group; done is called exactly once (maybe before store_add returns). */
void store_add(struct store *s, struct store_item *it);

/*
 * Queues n readings together (one statement when n <= the group size), in
 * order: of two duplicates among them the earlier one is stored. Used for a
 * batch request, whose readings one transaction commits.
 */
void store_add_many(struct store *s, struct store_item **items, int n);

/* Readings waiting or being written. */
size_t store_pending(const struct store *s);

/* Fills a row from a result with the columns of STORE_ROW_COLS, at row i. */
#define STORE_ROW_COLS "r.id, r.meter_serial, coalesce(r.user_id::text, ''), r.wallet_address, r.kwh_micro, " \
	"r.token_amount, r.reading_us, (extract(epoch FROM r.submitted_at) * 1000000)::bigint, r.status"
#define STORE_ROW_NCOLS 9
/* -1 when a value does not fit or the status is not a reading state. */
int store_row_from(const PGresult *res, int i, int col0, struct store_row *row) WUR;

#endif
