/* sigq.c: the signature checks of one loop turn, verified as one batch when the turn's other events are done. */
#include "sigq.h"
#include "edbatch.h"
#include "metrics.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sigq_ent {
	uint8_t sig[64], pk[32];
	struct edb_key key;
	size_t off, len; /* the message, in msgs */
	sigq_fn fn;
	void *arg;
};

/* One list being filled while the other is answered (a verdict's callback may queue further checks). */
struct sigq_list {
	struct sigq_ent *ent;
	size_t n, cap;
	char *msgs;
	size_t mlen, mcap;
};

struct sigq {
	struct event *ev; /* made active when the first check of a turn is queued */
	struct sigq_list fill, work;
	struct edb_ws *ws;
};

static void
list_free(struct sigq_list *l)
{
	free(l->ent);
	free(l->msgs);
}

static int64_t
thread_ns(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) < 0)
		return 0;
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void
on_turn_end(evutil_socket_t fd, short what, void *arg)
{
	struct sigq *q = arg;
	struct sigq_list l = q->fill;
	struct edb_item items[EDB_CHUNK];
	bool ok[EDB_CHUNK];

	(void)fd;
	(void)what;
	q->fill = q->work;
	q->fill.n = q->fill.mlen = 0;
	q->work = l;
	for (size_t base = 0; base < l.n; base += EDB_CHUNK) {
		size_t n = l.n - base < EDB_CHUNK ? l.n - base : EDB_CHUNK;
		int64_t t0 = thread_ns();
		unsigned long f0 = edb_ws_fallbacks(q->ws);
		int good;

		for (size_t i = 0; i < n; i++) {
			const struct sigq_ent *e = &l.ent[base + i];

			items[i] = (struct edb_item){ e->sig, e->pk, (const uint8_t *)l.msgs + e->off, e->len, &e->key };
		}
		/* fails only before edb_init, which main runs (and checks) first: then nothing verifies */
		if ((good = edb_verify(q->ws, items, n, ok)) >= 0)
			met_verify_batch((unsigned)n, thread_ns() - t0, (unsigned)(edb_ws_fallbacks(q->ws) - f0));
		for (size_t i = 0; i < n; i++)
			l.ent[base + i].fn(good >= 0 && ok[i], l.ent[base + i].arg);
	}
	q->work.n = q->work.mlen = 0;
}

struct sigq *
sigq_new(struct event_base *base)
{
	struct sigq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	if ((q->ws = edb_ws_new()) == NULL || (q->ev = event_new(base, -1, 0, on_turn_end, q)) == NULL) {
		edb_ws_free(q->ws);
		free(q);
		return NULL;
	}
	return q;
}

void
sigq_free(struct sigq *q)
{
	if (q == NULL)
		return;
	event_free(q->ev);
	edb_ws_free(q->ws);
	list_free(&q->fill);
	list_free(&q->work);
	free(q);
}

int
sigq_add(struct sigq *q, const uint8_t *sig, const uint8_t *pk, const struct edb_key *key, const char *msg, size_t len,
    sigq_fn fn, void *arg)
{
	struct sigq_list *l = &q->fill;
	struct sigq_ent *e;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct sigq_ent *ent = realloc(l->ent, cap * sizeof(*ent));

		if (ent == NULL)
			return -1;
		l->ent = ent;
		l->cap = cap;
	}
	if (l->mcap - l->mlen < len) {
		size_t cap = l->mcap ? l->mcap : 16384;
		char *m;

		while (cap - l->mlen < len)
			cap *= 2;
		if ((m = realloc(l->msgs, cap)) == NULL)
			return -1;
		l->msgs = m;
		l->mcap = cap;
	}
	e = &l->ent[l->n++];
	memcpy(e->sig, sig, sizeof(e->sig));
	memcpy(e->pk, pk, sizeof(e->pk));
	e->key = *key;
	memcpy(l->msgs + l->mlen, msg, len);
	e->off = l->mlen;
	e->len = len;
	l->mlen += len;
	e->fn = fn;
	e->arg = arg;
	if (l->n == 1)
		event_active(q->ev, 0, 0);
	return 0;
}
