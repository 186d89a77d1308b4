/* migrate.h: apply numbered sql/NNN_name.sql files once each, in order, each inside a transaction. */
#ifndef GTX_MIGRATE_H
#define GTX_MIGRATE_H

#include <libpq-fe.h>

#include "err.h"

/*
 * Applies every not-yet-applied migration in `dir` and records it in
 * schema_migrations (version, name, sha256, applied_at). Concurrent runners
 * serialize on an advisory lock. A recorded migration whose file changed is
 * an error (migrations are immutable once applied). *applied counts the new ones.
 */
int mig_apply(PGconn *conn, const char *dir, int *applied, struct err *e) WUR;

#endif
