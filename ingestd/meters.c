/* meters.c: meter cache keyed by serial; misses load from PostgreSQL (coalesced), NOTIFY invalidates. */
#include "meters.h"
#include "ts.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NEG_TTL_US (2 * 1000000LL) /* how long "no such meter" is remembered */

enum me_state { ME_STALE, ME_LOADING, ME_FRESH, ME_ABSENT };

struct waiter {
	struct waiter *next;
	mc_fn fn;
	void *arg;
};

struct entry {
	struct entry *next; /* hash chain */
	enum me_state state;
	int64_t absent_until;
	struct meter m;
	struct waiter *waiters;
	int64_t tat_us; /* GCRA theoretical arrival time */
	bool gone;      /* invalidated while loading: load again */
};

struct mcache {
	struct db *db;
	struct entry **tab;
	size_t nbuckets, n, max;
};

struct load {
	struct mcache *mc;
	char serial[METER_SERIAL_MAX + 1];
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
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static struct entry *
find(struct mcache *mc, const char *serial)
{
	for (struct entry *e = mc->tab[hash(serial) & (mc->nbuckets - 1)]; e != NULL; e = e->next)
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
			next = e->next;
			e->next = t[hash(e->m.serial) & (nb - 1)];
			t[hash(e->m.serial) & (nb - 1)] = e;
		}
	}
	free(mc->tab);
	mc->tab = t;
	mc->nbuckets = nb;
}

/* Drops entries nobody waits on (absent ones first) to stay under the cap. */
static void
prune(struct mcache *mc, bool absent_only)
{
	for (size_t i = 0; i < mc->nbuckets; i++) {
		struct entry **pp = &mc->tab[i], *e;

		while ((e = *pp) != NULL) {
			if (e->waiters == NULL && e->state != ME_LOADING && (!absent_only || e->state == ME_ABSENT)) {
				*pp = e->next;
				free(e);
				mc->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct entry *
insert(struct mcache *mc, const char *serial)
{
	struct entry *e;
	size_t b;

	if (mc->n >= mc->max) {
		prune(mc, true);
		if (mc->n >= mc->max)
			prune(mc, false);
	}
	if (mc->n >= mc->nbuckets)
		grow(mc);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	strcpy(e->m.serial, serial); /* length checked by mc_serial_ok */
	e->state = ME_STALE;
	b = hash(serial) & (mc->nbuckets - 1);
	e->next = mc->tab[b];
	mc->tab[b] = e;
	mc->n++;
	return e;
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void load(struct mcache *mc, struct entry *e);

static void
loaded(PGresult *res, void *arg)
{
	struct load *l = arg;
	struct mcache *mc = l->mc;
	struct entry *e = find(mc, l->serial);
	struct waiter *w, *next;
	bool unavailable = false;

	free(l);
	if (e == NULL)
		return; /* cannot happen: loading entries are never pruned */
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		unavailable = true;
		e->state = ME_STALE;
	} else if (PQntuples(res) == 0) {
		e->state = ME_ABSENT;
		e->absent_until = ts_mono_us() + NEG_TTL_US;
	} else if (strlen(PQgetvalue(res, 0, 0)) != 64 || unhex(PQgetvalue(res, 0, 0), e->m.pubkey, 32) < 0 ||
	    strlen(PQgetvalue(res, 0, 1)) >= sizeof(e->m.wallet) || strlen(PQgetvalue(res, 0, 2)) >= sizeof(e->m.user_id)) {
		unavailable = true; /* schema guarantees this cannot happen */
		e->state = ME_STALE;
	} else {
		strcpy(e->m.wallet, PQgetvalue(res, 0, 1));
		strcpy(e->m.user_id, PQgetvalue(res, 0, 2));
		e->m.active = PQgetvalue(res, 0, 3)[0] == 't';
		e->state = ME_FRESH;
	}
	if (e->gone && !unavailable) {
		/* Invalidated while the answer was on its way: it may predate the change. */
		e->gone = false;
		load(mc, e);
		return;
	}
	e->gone = false;
	w = e->waiters;
	e->waiters = NULL;
	for (; w != NULL; w = next) {
		next = w->next;
		if (unavailable)
			w->fn(NULL, true, w->arg);
		else
			w->fn(e->state == ME_FRESH ? &e->m : NULL, false, w->arg);
		free(w);
	}
}

static void
load(struct mcache *mc, struct entry *e)
{
	struct load *l = malloc(sizeof(*l));
	const char *params[1] = { e->m.serial };
	struct waiter *w, *next;

	if (l != NULL) {
		l->mc = mc;
		strcpy(l->serial, e->m.serial);
		e->state = ME_LOADING;
		if (db_query(mc->db, "SELECT encode(public_key, 'hex'), wallet_address, coalesce(user_id::text, ''), active "
		    "FROM meters WHERE meter_serial = $1", 1, params, loaded, l) == 0)
			return;
		free(l);
	}
	e->state = ME_STALE;
	w = e->waiters;
	e->waiters = NULL;
	for (; w != NULL; w = next) {
		next = w->next;
		w->fn(NULL, true, w->arg);
		free(w);
	}
}

void
mc_lookup(struct mcache *mc, const char *serial, mc_fn fn, void *arg)
{
	struct entry *e = find(mc, serial);
	struct waiter *w, **pp;

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
	w->next = NULL;
	/* First come, first served: a batch's readings of one meter keep their order. */
	for (pp = &e->waiters; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
	if (e->state != ME_LOADING)
		load(mc, e);
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
					e->state = ME_STALE;
			}
		return;
	}
	struct entry *e = find(mc, serial);

	if (e == NULL)
		return;
	if (e->state == ME_LOADING)
		e->gone = true;
	else
		e->state = ME_STALE;
}

int
mc_rate_take(struct mcache *mc, const char *serial, int64_t now, int per_min, int burst)
{
	struct entry *e = find(mc, serial);
	int64_t t = 60LL * 1000000 / (per_min > 0 ? per_min : 1), tau = t * (burst > 1 ? burst - 1 : 0), tat;

	if (e == NULL)
		return 0; /* not cached (pruned): nothing to count against */
	tat = e->tat_us > now ? e->tat_us : now;
	if (tat - now > tau) {
		int64_t wait = tat - tau - now;

		return (int)((wait + 999999) / 1000000);
	}
	e->tat_us = tat + t;
	return 0;
}

size_t
mc_size(const struct mcache *mc)
{
	return mc->n;
}

struct mcache *
mc_new(struct db *db, size_t max_entries)
{
	struct mcache *mc = calloc(1, sizeof(*mc));

	if (mc == NULL)
		return NULL;
	mc->db = db;
	mc->max = max_entries;
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
			struct waiter *w, *wn;

			next = e->next;
			for (w = e->waiters; w != NULL; w = wn) {
				wn = w->next;
				free(w);
			}
			free(e);
		}
	}
	free(mc->tab);
	free(mc);
}
