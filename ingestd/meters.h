/* meters.h: an in-memory cache of registered meters (key, wallet, owner, active), loaded on demand. */
#ifndef INGESTD_METERS_H
#define INGESTD_METERS_H

#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "edbatch.h"

#define METER_SERIAL_MAX 64

struct meter {
	int64_t id; /* meters.id: never changes (sql/010), so the cache can name it in every INSERT */
	char serial[METER_SERIAL_MAX + 1];
	uint8_t pubkey[32];
	struct edb_key key; /* pubkey decoded once, for the signature checks (common/edbatch.h) */
	char wallet[48];
	char user_id[40]; /* "" when the meter has no owner */
	bool active;
};

struct mcache;

/*
 * The outcome of a lookup: m is the meter (valid until the callback returns)
 * or NULL when no such meter is registered; unavailable is true (and m NULL)
 * when the database could not be asked.
 */
typedef void (*mc_fn)(const struct meter *m, bool unavailable, void *arg);

/*
 * max_entries bounds the known meters kept; max_unknown and unknown_ttl_us the
 * negative cache of serials the database does not know (evicted oldest first, so
 * a flood of made-up serials never pushes registered meters out).
 */
struct mcache *mc_new(struct db *db, size_t max_entries, size_t max_unknown, int64_t unknown_ttl_us) WUR;
void mc_free(struct mcache *mc);
void mc_set_unknown_ttl(struct mcache *mc, int64_t unknown_ttl_us);

/*
 * Looks up a serial (already checked with mc_serial_ok); may call fn before
 * returning. Lookups of one serial are answered in the order they were made.
 */
void mc_lookup(struct mcache *mc, const char *serial, mc_fn fn, void *arg);

/*
 * Between mc_batch_begin and mc_batch_end, the serials that must be read from
 * the database are gathered and read by one query at mc_batch_end (a batch
 * request costs one database job however many meters it names).
 */
void mc_batch_begin(struct mcache *mc);
void mc_batch_end(struct mcache *mc);

/* Forgets what is known about one meter (NULL: every meter); the next lookup asks the database. */
void mc_invalidate(struct mcache *mc, const char *serial);

/* A serial as the schema allows: [A-Za-z0-9][A-Za-z0-9._:-]{0,63}. */
bool mc_serial_ok(const char *s);

size_t mc_size(const struct mcache *mc);

struct mc_stats {
	size_t entries, unknown;  /* cached entries, of which serials known to be unregistered */
	uint64_t queries, serials; /* database lookups made, and serials they asked for */
};
void mc_stats(const struct mcache *mc, struct mc_stats *st);

#endif
