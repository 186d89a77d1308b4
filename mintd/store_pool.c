/* store_pool.c: the durable-nonce pool in PostgreSQL: new -> free -> reserved -> busy -> advanced -> free. */
#include "store.h"
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
store_nonce_ensure(struct store *s, const char (*addr)[45], const char (*seed)[32], size_t n, struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		const char *p[2] = { addr[i], seed[i] };
		PGresult *r = store_q(s, "INSERT INTO nonce_accounts (address, seed) VALUES ($1, $2) ON CONFLICT DO NOTHING",
		    2, p, e);

		if (r == NULL)
			return -1;
		PQclear(r);
	}
	return 0;
}

static int
rows_out(PGresult *r, struct nonce_row **out, size_t *nout, struct err *e)
{
	int n = PQntuples(r);

	*out = NULL;
	*nout = 0;
	if (n > 0 && (*out = calloc((size_t)n, sizeof(**out))) == NULL)
		return err_set(e, 0, "out of memory");
	for (int i = 0; i < n; i++) {
		snprintf((*out)[i].address, sizeof((*out)[i].address), "%s", PQgetvalue(r, i, 0));
		snprintf((*out)[i].value, sizeof((*out)[i].value), "%s", PQgetvalue(r, i, 1));
		(*out)[i].after_slot = store_u64(r, i, 2);
	}
	*nout = (size_t)n;
	return 0;
}

int
store_nonce_list(struct store *s, const char *state, int limit, struct nonce_row **out, size_t *nout, struct err *e)
{
	char lim[16];
	const char *p[2] = { state, lim };
	PGresult *r;
	int rc;

	snprintf(lim, sizeof(lim), "%d", limit);
	r = store_q(s, "SELECT address, coalesce(value, ''), coalesce(after_slot, 0) FROM nonce_accounts "
		 "WHERE state = $1 ORDER BY updated_at LIMIT $2::int", 2, p, e);
	if (r == NULL)
		return -1;
	rc = rows_out(r, out, nout, e);
	PQclear(r);
	return rc;
}

int
store_nonce_set(struct store *s, const char *addr, const char *old_value, const char *value, uint64_t value_slot,
    struct err *e)
{
	char vs[24];
	const char *p[4] = { addr, old_value, value, vs };
	PGresult *r;

	snprintf(vs, sizeof(vs), "%" PRIu64, value_slot);
	if (old_value == NULL)
		r = store_q(s, "UPDATE nonce_accounts SET state = 'free', value = $3, value_slot = $4::bigint, "
			 "updated_at = now() WHERE address = $1 AND state = 'new' AND $2::text IS NULL", 4, p, e);
	else
		r = store_q(s, "UPDATE nonce_accounts SET state = 'free', value = $3, value_slot = $4::bigint, "
			 "after_slot = NULL, updated_at = now() WHERE address = $1 AND state = 'advanced' AND value = $2 "
			 "AND value <> $3", 4, p, e);
	if (r == NULL)
		return -1;
	return store_count(r) == 1 ? 0 : 1;
}

int
store_nonce_reserve(struct store *s, const char *token, int n, struct nonce_row **out, size_t *nout, struct err *e)
{
	char lim[16];
	const char *p[2] = { token, lim };
	PGresult *r;
	int rc;

	snprintf(lim, sizeof(lim), "%d", n);
	r = store_q(s, "UPDATE nonce_accounts SET state = 'reserved', reserved_by = $1, reserved_at = now(), "
		 "updated_at = now() WHERE address IN (SELECT address FROM nonce_accounts WHERE state = 'free' "
		 "ORDER BY updated_at LIMIT $2::int FOR UPDATE SKIP LOCKED) AND state = 'free' "
		 "RETURNING address, value, 0", 2, p, e);
	if (r == NULL)
		return -1;
	rc = rows_out(r, out, nout, e);
	PQclear(r);
	return rc;
}

int
store_nonce_counts(struct store *s, int64_t counts[5], struct err *e)
{
	static const char *const names[5] = { "new", "free", "reserved", "busy", "advanced" };
	PGresult *r = store_q(s, "SELECT state, count(*) FROM nonce_accounts GROUP BY state", 0, NULL, e);

	if (r == NULL)
		return -1;
	memset(counts, 0, 5 * sizeof(counts[0]));
	for (int i = 0; i < PQntuples(r); i++)
		for (int k = 0; k < 5; k++)
			if (strcmp(PQgetvalue(r, i, 0), names[k]) == 0)
				counts[k] = strtoll(PQgetvalue(r, i, 1), NULL, 10);
	PQclear(r);
	return 0;
}
