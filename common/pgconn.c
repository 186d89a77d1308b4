/* pgconn.c: PostgreSQL connection helpers. */
#include "pgconn.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void
oneline(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

int
pgc_err(struct err *e, PGconn *conn, const PGresult *res)
{
	const char *m = res ? PQresultErrorMessage(res) : NULL;

	if (m == NULL || *m == '\0')
		m = conn ? PQerrorMessage(conn) : "no connection";
	err_set(e, 0, "%s", m);
	if (e != NULL)
		oneline(e->msg);
	return -1;
}

static PGconn *
start(const char *url, const char *app, bool blocking, struct err *e)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { url, app, "10", NULL };
	PGconn *conn;

	/* expand_dbname=1 lets `dbname` carry a full URL; later keys only fill gaps. */
	conn = blocking ? PQconnectdbParams(keys, vals, 1) : PQconnectStartParams(keys, vals, 1);
	if (conn == NULL) {
		err_set(e, 0, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		pgc_err(e, conn, NULL);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *
pgc_connect(const char *url, const char *application_name, struct err *e)
{
	PGconn *conn = start(url, application_name, true, e);
	PGresult *res;
	const char *sc;
	bool off;

	if (conn == NULL)
		return NULL;
	res = PQexec(conn, "SHOW synchronous_commit");
	sc = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL;
	if (sc == NULL) {
		pgc_err(e, conn, res);
		PQclear(res);
		PQfinish(conn);
		return NULL;
	}
	off = strcmp(sc, "off") == 0 || strcmp(sc, "local") == 0;
	PQclear(res);
	if (off) {
		err_set(e, 0, "synchronous_commit is off or local for this role/database; refusing (a 2xx must mean durable)");
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *
pgc_connect_start(const char *url, const char *application_name, struct err *e)
{
	return start(url, application_name, false, e);
}

int
pgc_exec(PGconn *conn, const char *sql, struct err *e)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = pgc_err(e, conn, res);
	PQclear(res);
	return rc;
}

const char *
pgc_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}
