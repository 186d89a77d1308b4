/* store_int.h: what the store_*.c files share inside the store (one connection, one statement helper). */
#ifndef MINTD_STORE_INT_H
#define MINTD_STORE_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "store.h"

/* Advisory lock key of the supply running sum: confirmations take it shared, the baseline's set-up exclusive. */
#define STORE_SUPPLY_LOCK "4236020733"

struct store {
	PGconn *conn;
	char *url;
	char *options; /* libpq "options" with the session timeouts (-c statement_timeout=...) */
};

/* Runs one parameterized statement (all parameters text; NULL = SQL NULL); NULL with *e set unless it succeeded. */
PGresult *store_q(struct store *s, const char *sql, int n, const char *const *params, struct err *e);
int store_exec0(struct store *s, const char *sql, struct err *e);
int store_begin(struct store *s, struct err *e);
void store_rollback(struct store *s);
/* COMMIT; -1 with *unknown = true (when unknown is non-NULL) when the connection broke mid-commit. */
int store_commit(struct store *s, bool *unknown, struct err *e);
uint64_t store_u64(const PGresult *r, int row, int col);
/* Rows affected by a command result, which it clears. */
long store_count(PGresult *r);
/* A zeroed array with one element of `size` per result row (*out NULL when there are none). */
int store_rows_alloc(const PGresult *r, size_t size, void **out, size_t *n, struct err *e);
/* "{a,NULL,b}" text[] literal with double-quoted elements; malloc'd (NULL when out of memory). */
char *store_text_array(const char *const *v, size_t n);
/* "\\x..." bytea literal of raw; malloc'd (NULL when out of memory). */
char *store_hex_bytea(const uint8_t *raw, size_t n);

#endif
