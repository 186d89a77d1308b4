/* keymap.h: a hash map from 32-byte keys (public keys: already uniformly random) to 32-bit values. */
#ifndef GTX_KEYMAP_H
#define GTX_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pubkey.h"

/*
 * Open addressing with linear probing and backward-shift deletion; grows by doubling up to max_entries, and
 * past that starts over empty (a cache loses entries, never correctness: the caller must treat a miss as
 * "unknown"). Allocation failure aborts (xmalloc).
 */
struct keymap;
struct keymap *keymap_new(size_t max_entries);
void keymap_free(struct keymap *m);
/* Sets k -> v (replacing an existing value). */
void keymap_put(struct keymap *m, const struct sol_pubkey *k, uint32_t v);
/* True (and *v, when v is not NULL) when k is present. */
bool keymap_get(const struct keymap *m, const struct sol_pubkey *k, uint32_t *v);
void keymap_del(struct keymap *m, const struct sol_pubkey *k);
size_t keymap_count(const struct keymap *m);
/* Empties the map (keeps its capacity). */
void keymap_clear(struct keymap *m);

#endif
