/*
 * meters.c: meter cache keyed by serial (a keyed hash: serials come from clients); misses load from
 * PostgreSQL, coalesced per serial and gathered per batch; unknown serials are remembered a while;
 * NOTIFY invalidates.
 */
#include "meters.h"
#include "khash.h"
#include "ts.h"

#include <errno.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define LOAD_SQL "SELECT meter_serial, encode(public_key, 'hex'), wallet_address, coalesce(user_id::text, ''), " \
	"active, id FROM meters WHERE meter_serial = ANY($1::text[])"

enum me_state { ME_STALE, ME_LOADING, ME_FRESH, ME_ABSENT };

struct waiter {
	STAILQ_ENTRY(waiter) link;
	mc_fn fn;
	void *arg;
};
STAILQ_HEAD(waiters, waiter);

struct entry {
	struct entry *next; /* hash chain */
	enum me_state state;
	int64_t absent_until;
	struct meter m;
	struct waiters waiters; /* FIFO with a tail: appending is O(1) however many wait */
	TAILQ_ENTRY(entry) absent_link; /* on mc->absent while ME_ABSENT, oldest first */
	bool gone;      /* invalidated while loading: load again */
	bool gathered;  /* on the pending batch load */
	int pin;        /* its waiters are being answered: not to be freed */
};
TAILQ_HEAD(entry_list, entry);

/* The serials of one database lookup (copies: the answer may come after an invalidation). */
struct load {
	struct mcache *mc;
	size_t n;
	char (*serials)[METER_SERIAL_MAX + 1];
};

struct mcache {
	struct db *db;
	struct khash_key hk;
	struct entry **tab;
	size_t nbuckets, n, max;
	struct entry_list absent;
	size_t nabsent, max_absent;
	int64_t absent_ttl_us;
	/* mc_batch_begin .. mc_batch_end */
	int batch_depth;
	struct entry **gather;
	size_t ngather, gather_cap;
	uint64_t queries, serials;
};

bool
mc_serial_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > METER_SERIAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != ':' && c != '-')))
			return false;
	}
	return true;
}

static size_t
slot(const struct mcache *mc, const char *serial, size_t nbuckets)
{
	return (size_t)khash(&mc->hk, serial, strlen(serial)) & (nbuckets - 1);
}

static struct entry *
find(struct mcache *mc, const char *serial)
{
	for (struct entry *e = mc->tab[slot(mc, serial, mc->nbuckets)]; e != NULL; e = e->next)
		if (strcmp(e->m.serial, serial) == 0)
			return e;
	return NULL;
}

static void
grow(struct mcache *mc)
{
	size_t nb = mc->nbuckets * 2;
	struct entry **t = calloc(nb, sizeof(*t));

	if (t == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < mc->nbuckets; i++) {
		struct entry *e, *next;

		for (e = mc->tab[i]; e != NULL; e = next) {
			size_t b = slot(mc, e->m.serial, nb);

			next = e->next;
			e->next = t[b];
			t[b] = e;
		}
	}
	free(mc->tab);
	mc->tab = t;
	mc->nbuckets = nb;
}

static void
set_state(struct mcache *mc, struct entry *e, enum me_state st)
{
	if (e->state == ME_ABSENT && st != ME_ABSENT) {
		TAILQ_REMOVE(&mc->absent, e, absent_link);
		mc->nabsent--;
	} else if (e->state != ME_ABSENT && st == ME_ABSENT) {
		TAILQ_INSERT_TAIL(&mc->absent, e, absent_link);
		mc->nabsent++;
	}
	e->state = st;
}

static bool
removable(const struct entry *e)
{
	return STAILQ_EMPTY(&e->waiters) && e->state != ME_LOADING && !e->gathered && e->pin == 0;
}

static void
unlink_entry(struct mcache *mc, struct entry *e)
{
	struct entry **pp = &mc->tab[slot(mc, e->m.serial, mc->nbuckets)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	set_state(mc, e, ME_STALE);
	mc->n--;
	free(e);
}

/* Drops entries nobody waits on (absent ones first) to stay under the cap. */
static void
prune(struct mcache *mc)
{
	for (size_t i = 0; i < mc->nbuckets; i++) {
		struct entry **pp = &mc->tab[i], *e;

		while ((e = *pp) != NULL) {
			if (removable(e)) {
				*pp = e->next;
				set_state(mc, e, ME_STALE);
				free(e);
				mc->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

/* Forgets the oldest unknown serials until at most `keep` are remembered. */
static void
evict_absent(struct mcache *mc, size_t keep)
{
	struct entry *e = TAILQ_FIRST(&mc->absent), *next;

	for (; e != NULL && mc->nabsent > keep; e = next) {
		next = TAILQ_NEXT(e, absent_link);
		if (removable(e))
			unlink_entry(mc, e);
	}
}

static struct entry *
insert(struct mcache *mc, const char *serial)
{
	struct entry *e;
	size_t b;

	evict_absent(mc, mc->max_absent);
	if (mc->n >= mc->max)
		evict_absent(mc, 0);
	if (mc->n >= mc->max)
		prune(mc);
	if (mc->n >= mc->nbuckets)
		grow(mc);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	strcpy(e->m.serial, serial); /* length checked by mc_serial_ok */
	e->state = ME_STALE;
	STAILQ_INIT(&e->waiters);
	b = slot(mc, serial, mc->nbuckets);
	e->next = mc->tab[b];
	mc->tab[b] = e;
	mc->n++;
	return e;
}

/* Answers everyone waiting on e (the entry's state says what). */
static void
wake(struct entry *e, bool unavailable)
{
	struct waiters ws = STAILQ_HEAD_INITIALIZER(ws);
	struct waiter *w;

	/* Detached first: a callback may look this serial up again. Pinned: nor may it prune e. */
	STAILQ_CONCAT(&ws, &e->waiters);
	e->pin++;
	while ((w = STAILQ_FIRST(&ws)) != NULL) {
		STAILQ_REMOVE_HEAD(&ws, link);
		if (unavailable)
			w->fn(NULL, true, w->arg);
		else
			w->fn(e->state == ME_FRESH ? &e->m : NULL, false, w->arg);
		free(w);
	}
	e->pin--;
}

static void load(struct mcache *mc, struct entry **es, size_t n);

/* One row of LOAD_SQL into its entry; false when the row is not what the schema promises. */
static bool
apply_row(struct entry *e, const PGresult *res, int i)
{
	const char *key = PQgetvalue(res, i, 1), *wallet = PQgetvalue(res, i, 2), *user = PQgetvalue(res, i, 3);
	const char *id = PQgetvalue(res, i, 5);
	char *end;
	size_t got;
	long long idv;

	errno = 0;
	idv = strtoll(id, &end, 10);
	if (sodium_hex2bin(e->m.pubkey, 32, key, strlen(key), NULL, &got, NULL) != 0 || got != 32 ||
	    strlen(wallet) >= sizeof(e->m.wallet) ||
	    strlen(user) >= sizeof(e->m.user_id) ||
	    end == id || *end != '\0' || errno != 0 || idv < 1)
		return false;
	e->m.id = idv;
	edb_key_init(&e->m.key, e->m.pubkey);
	strcpy(e->m.wallet, wallet);
	strcpy(e->m.user_id, user);
	e->m.active = PQgetvalue(res, i, 4)[0] == 't';
	return true;
}

static void
loaded(PGresult *res, void *arg)
{
	struct load *l = arg;
	struct mcache *mc = l->mc;
	bool unavailable = res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK;
	struct entry **again = calloc(l->n, sizeof(*again));
	size_t nagain = 0;

	for (size_t i = 0; i < l->n; i++) {
		/* Entries still loading cannot have been pruned or evicted since. */
		struct entry *e = find(mc, l->serials[i]);
		int row = -1;
		bool bad = false;

		if (e == NULL || e->state != ME_LOADING)
			continue;
		for (int r = 0; !unavailable && r < PQntuples(res) && row < 0; r++)
			if (strcmp(PQgetvalue(res, r, 0), e->m.serial) == 0)
				row = r;
		if (unavailable || (row >= 0 && (bad = !apply_row(e, res, row)))) {
			set_state(mc, e, ME_STALE); /* bad: the schema guarantees this cannot happen */
		} else if (e->gone && again != NULL) {
			/* Invalidated while the answer was on its way: it may predate the change. Stays loading. */
			e->gone = false;
			again[nagain++] = e;
			continue;
		} else if (row >= 0) {
			set_state(mc, e, ME_FRESH);
		} else {
			set_state(mc, e, ME_ABSENT);
			e->absent_until = ts_mono_us() + mc->absent_ttl_us;
		}
		e->gone = false;
		wake(e, unavailable || bad);
	}
	free(l->serials);
	free(l);
	evict_absent(mc, mc->max_absent);
	if (nagain > 0) {
		for (size_t i = 0; i < nagain; i++)
			set_state(mc, again[i], ME_STALE);
		load(mc, again, nagain);
	}
	free(again);
}

/* Appends `s` to a PostgreSQL array literal; serials are [A-Za-z0-9._:-] so quoting is all it needs. */
static size_t
array_add(char *buf, size_t off, const char *s, bool first)
{
	off += (size_t)sprintf(buf + off, "%s\"%s\"", first ? "" : ",", s);
	return off;
}

/* Reads the entries (each ME_STALE, with waiters or not) with one query; on failure answers "unavailable". */
static void
load(struct mcache *mc, struct entry **es, size_t n)
{
	struct load *l = calloc(1, sizeof(*l));
	char *arr = malloc(n * (METER_SERIAL_MAX + 3) + 3);
	const char *params[1] = { arr };
	size_t off = 0;

	/* Loading before the query is queued: a connection that breaks at once answers from inside db_query. */
	for (size_t i = 0; i < n; i++)
		set_state(mc, es[i], ME_LOADING);
	if (l != NULL && arr != NULL && (l->serials = calloc(n, sizeof(*l->serials))) != NULL) {
		l->mc = mc;
		l->n = n;
		arr[off++] = '{';
		for (size_t i = 0; i < n; i++) {
			strcpy(l->serials[i], es[i]->m.serial);
			off = array_add(arr, off, es[i]->m.serial, i == 0);
		}
		arr[off++] = '}';
		arr[off] = '\0';
		if (db_query(mc->db, LOAD_SQL, 1, params, loaded, l) == 0) {
			mc->queries++;
			mc->serials += n;
			free(arr);
			return;
		}
		free(l->serials);
	}
	free(l);
	free(arr);
	for (size_t i = 0; i < n; i++)
		if (es[i]->state == ME_LOADING)
			set_state(mc, es[i], ME_STALE);
	for (size_t i = 0; i < n; i++)
		wake(es[i], /* unavailable= */ true);
}

void
mc_lookup(struct mcache *mc, const char *serial, mc_fn fn, void *arg)
{
	struct entry *e = find(mc, serial);
	struct waiter *w;

	if (e == NULL && (e = insert(mc, serial)) == NULL) {
		fn(NULL, true, arg);
		return;
	}
	if (e->state == ME_FRESH) {
		fn(&e->m, false, arg);
		return;
	}
	if (e->state == ME_ABSENT && ts_mono_us() < e->absent_until) {
		fn(NULL, false, arg);
		return;
	}
	if ((w = malloc(sizeof(*w))) == NULL) {
		fn(NULL, true, arg);
		return;
	}
	w->fn = fn;
	w->arg = arg;
	/* First come, first served: a batch's readings of one meter keep their order. */
	STAILQ_INSERT_TAIL(&e->waiters, w, link);
	if (e->state == ME_LOADING || e->gathered)
		return;
	if (e->state == ME_ABSENT)
		set_state(mc, e, ME_STALE); /* remembered too long: ask again */
	if (mc->batch_depth > 0) {
		if (mc->ngather == mc->gather_cap) {
			size_t cap = mc->gather_cap ? mc->gather_cap * 2 : 64;
			struct entry **g = realloc(mc->gather, cap * sizeof(*g));

			if (g == NULL) {
				load(mc, &e, 1);
				return;
			}
			mc->gather = g;
			mc->gather_cap = cap;
		}
		e->gathered = true;
		mc->gather[mc->ngather++] = e;
		return;
	}
	load(mc, &e, 1);
}

void
mc_batch_begin(struct mcache *mc)
{
	mc->batch_depth++;
}

void
mc_batch_end(struct mcache *mc)
{
	size_t n;

	if (--mc->batch_depth > 0 || mc->ngather == 0)
		return;
	n = mc->ngather;
	mc->ngather = 0;
	for (size_t i = 0; i < n; i++)
		mc->gather[i]->gathered = false;
	load(mc, mc->gather, n);
}

void
mc_invalidate(struct mcache *mc, const char *serial)
{
	if (serial == NULL) {
		for (size_t i = 0; i < mc->nbuckets; i++)
			for (struct entry *e = mc->tab[i]; e != NULL; e = e->next) {
				if (e->state == ME_LOADING)
					e->gone = true;
				else
					set_state(mc, e, ME_STALE);
			}
		return;
	}
	struct entry *e = find(mc, serial);

	if (e == NULL)
		return;
	if (e->state == ME_LOADING)
		e->gone = true;
	else
		set_state(mc, e, ME_STALE);
}

size_t
mc_size(const struct mcache *mc)
{
	return mc->n;
}

void
mc_stats(const struct mcache *mc, struct mc_stats *st)
{
	st->entries = mc->n;
	st->unknown = mc->nabsent;
	st->queries = mc->queries;
	st->serials = mc->serials;
}

void
mc_set_unknown_ttl(struct mcache *mc, int64_t unknown_ttl_us)
{
	mc->absent_ttl_us = unknown_ttl_us;
}

struct mcache *
mc_new(struct db *db, size_t max_entries, size_t max_unknown, int64_t unknown_ttl_us)
{
	struct mcache *mc = calloc(1, sizeof(*mc));

	if (mc == NULL)
		return NULL;
	mc->db = db;
	khash_key_new(&mc->hk);
	mc->max = max_entries + max_unknown;
	mc->max_absent = max_unknown;
	mc->absent_ttl_us = unknown_ttl_us;
	TAILQ_INIT(&mc->absent);
	mc->nbuckets = 1024;
	if ((mc->tab = calloc(mc->nbuckets, sizeof(*mc->tab))) == NULL) {
		free(mc);
		return NULL;
	}
	return mc;
}

void
mc_free(struct mcache *mc)
{
	if (mc == NULL)
		return;
	for (size_t i = 0; i < mc->nbuckets; i++) {
		struct entry *e, *next;

		for (e = mc->tab[i]; e != NULL; e = next) {
			struct waiter *w;

			next = e->next;
			while ((w = STAILQ_FIRST(&e->waiters)) != NULL) {
				STAILQ_REMOVE_HEAD(&e->waiters, link);
				free(w);
			}
			free(e);
		}
	}
	free(mc->gather);
	free(mc->tab);
	free(mc);
}
