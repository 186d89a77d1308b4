/* ratelim.c: GCRA rate limits in a shared mapping: striped robust mutexes over open-addressed slots. */
#include "ratelim.h"
#include "khash.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define STRIPES 256
#define PROBES 16 /* slots a key may use, from its hash on, inside its stripe */

struct slot {
	uint64_t h;   /* the key's hash, never 0; 0: never used */
	int64_t tat;  /* theoretical arrival time, us */
};

struct shared {
	struct khash_key hk;
	size_t per_stripe;
	pthread_mutex_t lock[STRIPES];
	struct slot slots[]; /* STRIPES x per_stripe */
};

struct ratelim {
	struct shared *sh;
	size_t len;
};

struct ratelim *
rl_new(size_t keys, struct err *e)
{
	struct ratelim *rl;
	pthread_mutexattr_t ma;
	size_t per = (keys + STRIPES - 1) / STRIPES, len;

	if (per < PROBES)
		per = PROBES;
	len = sizeof(struct shared) + (size_t)STRIPES * per * sizeof(struct slot);
	if ((rl = calloc(1, sizeof(*rl))) == NULL)
		return err_set(e, 0, "out of memory"), NULL;
	/* Untouched pages cost nothing: the table's RSS grows with the keys limited at once. */
	rl->sh = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rl->sh == MAP_FAILED) {
		free(rl);
		return err_set(e, 0, "rate-limit table of %zu bytes: %s", len, strerror(errno)), NULL;
	}
	rl->len = len;
	khash_key_new(&rl->sh->hk);
	rl->sh->per_stripe = per;
	if (pthread_mutexattr_init(&ma) != 0 || pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST) != 0) {
		rl_free(rl);
		return err_set(e, 0, "process-shared robust mutexes are not available"), NULL;
	}
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&rl->sh->lock[i], &ma);
	pthread_mutexattr_destroy(&ma);
	return rl;
}

void
rl_free(struct ratelim *rl)
{
	if (rl == NULL)
		return;
	munmap(rl->sh, rl->len);
	free(rl);
}

static void
lock(pthread_mutex_t *m)
{
	/* A worker died holding it: the slots it guards are whole (each update is two stores of plain values,
	 * either of which alone leaves a valid state), so take it over. */
	if (pthread_mutex_lock(m) == EOWNERDEAD)
		pthread_mutex_consistent(m);
}

int
rl_take(struct ratelim *rl, const void *key, size_t n, int64_t now, int per_min, int burst)
{
	struct shared *sh = rl->sh;
	uint64_t h = khash(&sh->hk, key, n) | 1;
	size_t stripe = (size_t)(h >> 56) % STRIPES, start = (size_t)(h % sh->per_stripe);
	struct slot *base = sh->slots + stripe * sh->per_stripe, *s = NULL, *spare = NULL;
	int64_t pm = per_min > 0 ? per_min : 1, t = 60LL * 1000000 / pm, tat;
	/* from the burst directly, not t * (burst - 1): above a million per second t rounds to 0, and a tolerance
	 * of 0 would refuse a worker whose clock reading came a microsecond before another's */
	int64_t tau = burst > 1 ? (int64_t)(burst - 1) * 60 * 1000000 / pm : 0;
	int wait = 0;

	lock(&sh->lock[stripe]);
	for (int i = 0; i < PROBES; i++) {
		struct slot *x = &base[(start + (size_t)i) % sh->per_stripe];

		if (x->h == h) {
			s = x;
			break;
		}
		/* a free slot: never used, or its key's burst is back (the same as never seen) */
		if (spare == NULL || spare->tat > now) {
			if (x->h == 0 || x->tat <= now || spare == NULL || x->tat < spare->tat)
				spare = x;
		}
	}
	if (s == NULL) {
		s = spare; /* free, or else the one closest to refilled */
		s->h = h;
		s->tat = now;
	}
	tat = s->tat > now ? s->tat : now;
	if (tat - now > tau) {
		int64_t w = tat - tau - now;

		wait = (int)((w + 999999) / 1000000);
	} else {
		s->tat = tat + t;
	}
	pthread_mutex_unlock(&sh->lock[stripe]);
	return wait;
}
