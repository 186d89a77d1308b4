/* keymap.c: open-addressing map of 32-byte keys (keymap.h). */
#include "keymap.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct keymap {
	struct sol_pubkey *k;
	uint32_t *v;
	uint8_t *used;
	size_t cap, n, max;
};

static void
alloc(struct keymap *m, size_t cap)
{
	m->cap = cap;
	m->k = xcalloc(cap, sizeof(*m->k));
	m->v = xcalloc(cap, sizeof(*m->v));
	m->used = xcalloc(cap, 1);
	m->n = 0;
}

struct keymap *
keymap_new(size_t max_entries)
{
	struct keymap *m = xcalloc(1, sizeof(*m));

	m->max = max_entries < 512 ? 512 : max_entries;
	alloc(m, 1024);
	return m;
}

void
keymap_free(struct keymap *m)
{
	if (m == NULL)
		return;
	free(m->k);
	free(m->v);
	free(m->used);
	free(m);
}

static size_t
home_of(const struct keymap *m, const struct sol_pubkey *k)
{
	size_t h;

	memcpy(&h, k->b, sizeof(h));
	return h & (m->cap - 1);
}

static size_t
slot_of(const struct keymap *m, const struct sol_pubkey *k)
{
	size_t h = home_of(m, k);

	while (m->used[h] && !pubkey_eq(&m->k[h], k))
		h = (h + 1) & (m->cap - 1);
	return h;
}

bool
keymap_get(const struct keymap *m, const struct sol_pubkey *k, uint32_t *v)
{
	size_t h = slot_of(m, k);

	if (!m->used[h])
		return false;
	if (v != NULL)
		*v = m->v[h];
	return true;
}

void
keymap_put(struct keymap *m, const struct sol_pubkey *k, uint32_t v)
{
	size_t h = slot_of(m, k);

	if (m->used[h]) {
		m->v[h] = v;
		return;
	}
	if ((m->n + 1) * 2 > m->cap) {
		struct keymap old = *m;

		if (m->n >= m->max) {
			keymap_clear(m);
		} else {
			alloc(m, m->cap * 2);
			for (size_t i = 0; i < old.cap; i++)
				if (old.used[i])
					keymap_put(m, &old.k[i], old.v[i]);
			free(old.k);
			free(old.v);
			free(old.used);
		}
		h = slot_of(m, k);
	}
	m->k[h] = *k;
	m->v[h] = v;
	m->used[h] = 1;
	m->n++;
}

void
keymap_del(struct keymap *m, const struct sol_pubkey *k)
{
	size_t i = slot_of(m, k), j = i;

	if (!m->used[i])
		return;
	m->used[i] = 0;
	m->n--;
	/* Backward shift: move later entries of the probe run into the hole when their home allows it. */
	for (;;) {
		size_t home;

		j = (j + 1) & (m->cap - 1);
		if (!m->used[j])
			return;
		home = home_of(m, &m->k[j]);
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->k[i] = m->k[j];
			m->v[i] = m->v[j];
			m->used[i] = 1;
			m->used[j] = 0;
			i = j;
		}
	}
}

size_t
keymap_count(const struct keymap *m)
{
	return m->n;
}

void
keymap_clear(struct keymap *m)
{
	memset(m->used, 0, m->cap);
	m->n = 0;
}
