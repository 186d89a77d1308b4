/* ratelim.h: per-key rate limits (GCRA) in memory shared by every ingestd worker, so a limit holds across them. */
/*
 * Ownership: rl_new's caller owns the table (rl_free). Its memory is a shared anonymous mapping: workers
 * forked after rl_new use the same table (the parent keeps it; a worker's rl_free only unmaps its view).
 */
#ifndef INGESTD_RATELIM_H
#define INGESTD_RATELIM_H

#include "err.h"
#include <stddef.h>
#include <stdint.h>

/*
 * A key's state is its GCRA "theoretical arrival time" (TAT). A key whose TAT has passed has its whole burst
 * back, exactly as a key never seen: its slot may be reused for another key without changing any answer, so
 * the table only needs room for the keys limited *right now* (a meter posting every 15 minutes with the default
 * burst holds a slot for seconds). Keys are hashed with a random SipHash key (client-chosen serials cannot be
 * made to collide); slots sit behind process-shared robust mutexes in stripes, so a worker killed while holding
 * one costs nothing (the next locker takes it over). When every slot a key may use is still limiting other
 * keys, the one closest to refilled is taken over (that key loses the rest of its wait: never a false 429).
 * Times are CLOCK_MONOTONIC microseconds (the same clock in every process).
 */
struct ratelim;

/* A table for about `keys` keys limited at once. NULL on failure (e filled). sodium_init() must have run. */
struct ratelim *rl_new(size_t keys, struct err *e) WUR;
void rl_free(struct ratelim *rl);

/*
 * Takes one event for key[0..n) at now_us: `burst` may come at once, `per_min` per minute sustained.
 * Returns 0 when allowed, else the whole seconds to wait (>= 1).
 */
int rl_take(struct ratelim *rl, const void *key, size_t n, int64_t now_us, int per_min, int burst) WUR;

#endif
