/* db.h: a small pool of asynchronous libpq connections driven by the event loop, with reconnect. */
/*
 * Ownership: db_new's caller owns the pool (db_free; NULL is a no-op, and queued callbacks then run with
 * res NULL). db_query copies the SQL parameters; the PGresult handed to a callback is the pool's and is
 * cleared when the callback returns; arg is the caller's, untouched by the pool.
 */
#ifndef INGESTD_DB_H
#define INGESTD_DB_H

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct db;

/*
 * A query's outcome. res is NULL when no answer could be had (no connection,
 * the connection broke mid-query: the statement may or may not have been
 * committed). Otherwise res may still be an error result. res is cleared
 * after the callback returns.
 */
typedef void (*db_done_fn)(PGresult *res, void *arg);

/* A statement to send: SQL text, or the name of a statement prepared on every connection (db_opts.prepared). */
struct db_stmt {
	const char *sql;
	const char *prepared;
	int nparams;
	const char *const *values;
	/* NULL: every parameter is NUL-terminated text. Otherwise each one's format (1: binary) and byte length. */
	const int *formats, *lengths;
};

/* A statement prepared on each connection when it connects. */
struct db_prepared {
	const char *name;
	const char *sql;
};

/*
 * Called when a connection is about to send a lazily built query: fill in the
 * statement and text parameters (owned by arg, valid until done is called).
 * Returning -1 cancels the job without calling done (arg handles it itself).
 */
typedef int (*db_build_fn)(void *arg, struct db_stmt *st);

typedef void (*db_notify_fn)(const char *channel, const char *payload, void *arg);
/* Called when the database becomes reachable (up = true) or every connection is lost. */
typedef void (*db_state_fn)(bool up, void *arg);

struct db_opts {
	const char *url;        /* secret: never logged */
	const char *app_name;
	int nconn;              /* connections in the pool */
	size_t max_queue;       /* queued jobs beyond which db_query fails at once */
	const char *listen;     /* channel(s) to LISTEN on (comma-separated), or NULL */
	const struct db_prepared *prepared; /* NULL-terminated by name, or NULL; must outlive the pool */
	db_notify_fn notify;
	db_state_fn state;
	void *arg;
};

struct db *db_new(struct event_base *base, const struct db_opts *o) WUR;
void db_free(struct db *d);

/* True when at least one connection is usable. */
bool db_up(const struct db *d);
/* Jobs waiting for a connection plus jobs running. */
size_t db_pending(const struct db *d);

/*
 * Queues a query with text parameters (copied). Returns -1 without calling
 * done when the database is unreachable or the queue is full: answer 503.
 */
int db_query(struct db *d, const char *sql, int nparams, const char *const *values, db_done_fn done,
    void *arg) WUR;

/* Queues a job whose statement is built only when a connection takes it (group commit). */
int db_query_lazy(struct db *d, db_build_fn build, db_done_fn done, void *arg) WUR;

/* A libpq message without the server's severity prefix ("FATAL:  ..."), for our logs. */
const char *db_msg(const char *m);

/* True if a failed result means "the database is unavailable" (connection, shutdown, recovery, ...). */
bool db_unavailable(const PGresult *res);

#endif
