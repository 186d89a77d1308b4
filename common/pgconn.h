/* pgconn.h: thin PostgreSQL connection helpers (blocking connect, error text to the caller). */
#ifndef GTX_PGCONN_H
#define GTX_PGCONN_H

#include <libpq-fe.h>

#include "err.h"

/*
 * Connects with a libpq URL or key=value string and checks the session
 * (synchronous_commit must not be off: a 2xx promises durability). The
 * error text is libpq's with any password removed. Caller PQfinish()es.
 */
PGconn *pgc_connect(const char *url, const char *application_name, struct err *e);
/* Starts a non-blocking connect for an event loop (PQconnectPoll next); NULL on immediate failure. */
PGconn *pgc_connect_start(const char *url, const char *application_name, struct err *e);
/* Copies PQerrorMessage / PQresultErrorMessage into e on one line. Returns -1. */
int pgc_err(struct err *e, PGconn *conn, const PGresult *res);
/* Runs a command expecting PGRES_COMMAND_OK or TUPLES_OK; clears the result. */
int pgc_exec(PGconn *conn, const char *sql, struct err *e) WUR;
/* SQLSTATE of a failed result ("" if none). */
const char *pgc_sqlstate(const PGresult *res);

#endif
