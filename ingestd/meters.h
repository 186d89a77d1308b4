/* meters.h: an in-memory cache of registered meters (key, wallet, owner, active), loaded on demand, with per-meter rate limits. */
#ifndef INGESTD_METERS_H
#define INGESTD_METERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define METER_SERIAL_MAX 64

struct meter {
	char serial[METER_SERIAL_MAX + 1];
	uint8_t pubkey[32];
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

struct mcache *mc_new(struct db *db, size_t max_entries);
void mc_free(struct mcache *mc);

/* Looks up a serial (already checked with mc_serial_ok); may call fn before returning. */
void mc_lookup(struct mcache *mc, const char *serial, mc_fn fn, void *arg);

/* Forgets what is known about one meter (NULL: every meter); the next lookup asks the database. */
void mc_invalidate(struct mcache *mc, const char *serial);

/*
 * Per-meter rate limit (GCRA): allows `burst` submissions at once and
 * `per_min` per minute sustained. Returns 0 when allowed, else the seconds
 * to wait (>= 1).
 */
int mc_rate_take(struct mcache *mc, const char *serial, int64_t now_us, int per_min, int burst);

/* A serial as the schema allows: [A-Za-z0-9][A-Za-z0-9._:-]{0,63}. */
bool mc_serial_ok(const char *s);

size_t mc_size(const struct mcache *mc);

#endif
