/* migrate.c: the schema migration runner used by `ingestd -m` / `mintd -m` and the test stack. */
#include "migrate.h"
#include "pgconn.h"
#include "xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIG_LOCK_KEY "7346215" /* pg_advisory_xact_lock key shared by every runner */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_migration(const char *n)
{
	size_t len = strlen(n);

	return len > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' && n[2] >= '0' &&
	    n[2] <= '9' && n[3] == '_' && strcmp(n + len - 4, ".sql") == 0;
}

static char *
read_all(const char *path, size_t *len, struct err *e)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (f == NULL) {
		err_set(e, 0, "%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - n < 4096)
			buf = xreallocarray(buf, cap = cap * 2 + 8192, 1);
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int
apply_one(PGconn *conn, const char *dir, const char *name, int *applied, struct err *e)
{
	char path[4096], hex[65], ver[4];
	unsigned char sum[crypto_hash_sha256_BYTES];
	const char *params[3];
	PGresult *res = NULL;
	size_t len;
	char *sql;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((sql = read_all(path, &len, e)) == NULL)
		return -1;
	crypto_hash_sha256(sum, (const unsigned char *)sql, len);
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	memcpy(ver, name, 3);
	ver[3] = '\0';

	if (pgc_exec(conn, "BEGIN", e) < 0 ||
	    pgc_exec(conn, "SELECT pg_advisory_xact_lock(" MIG_LOCK_KEY ")", e) < 0)
		goto out;
	params[0] = ver;
	res = PQexecParams(conn, "SELECT sha256 FROM schema_migrations WHERE version = $1::int", 1, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgc_err(e, conn, res);
		goto out;
	}
	if (PQntuples(res) == 1) {
		if (strcmp(PQgetvalue(res, 0, 0), hex) != 0) {
			err_set(e, 0, "%s was changed after it was applied (checksum differs); add a new migration instead", name);
			goto out;
		}
		rc = pgc_exec(conn, "COMMIT", e);
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (pgc_exec(conn, sql, e) < 0) {
		err_prefix(e, "%s", name);
		goto out;
	}
	params[1] = name;
	params[2] = hex;
	res = PQexecParams(conn, "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1::int, $2, $3)",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pgc_err(e, conn, res);
		goto out;
	}
	if (pgc_exec(conn, "COMMIT", e) < 0)
		goto out;
	(*applied)++;
	rc = 0;
out:
	PQclear(res);
	if (rc < 0 && PQtransactionStatus(conn) != PQTRANS_IDLE)
		(void)!pgc_exec(conn, "ROLLBACK", NULL);
	free(sql);
	return rc;
}

int
mig_apply(PGconn *conn, const char *dir, int *applied, struct err *e)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	*applied = 0;
	if (pgc_exec(conn, "SET client_min_messages = warning", e) < 0 ||
	    pgc_exec(conn, "BEGIN; SELECT pg_advisory_xact_lock(" MIG_LOCK_KEY "); "
		"CREATE TABLE IF NOT EXISTS schema_migrations ("
		"version int PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL, "
		"applied_at timestamptz NOT NULL DEFAULT now()); COMMIT", e) < 0)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return err_set(e, 0, "migrations directory %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (!is_migration(de->d_name))
			continue;
		if (n == cap)
			names = xreallocarray(names, cap = cap * 2 + 16, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n == 0) {
		free(names);
		return err_set(e, 0, "no migrations (NNN_name.sql) in %s", dir);
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strncmp(names[i], names[i - 1], 3) == 0) {
			rc = err_set(e, 0, "two migrations share version %.3s", names[i]);
			break;
		}
		if ((rc = apply_one(conn, dir, names[i], applied, e)) < 0)
			break;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
