/* sigq.c: the signature checks of one loop turn, verified as one batch when the turn's other events are done. */
#include "sigq.h"
#include "edbatch.h"
#include "metrics.h"

#include <event2/event.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sigq_ent {
	uint8_t sig[64], pk[32];
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
	struct edb_item *items;
	bool *ok;
	size_t icap;
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
	int64_t t0;
	int good;

	(void)fd;
	(void)what;
	q->fill = q->work;
	q->fill.n = q->fill.mlen = 0;
	q->work = l;
	if (l.n > q->icap) {
		struct edb_item *it = realloc(q->items, l.n * sizeof(*it));
		bool *ok = it != NULL ? realloc(q->ok, l.n * sizeof(*ok)) : NULL;

		if (it != NULL)
			q->items = it;
		if (ok != NULL) {
			q->ok = ok;
			q->icap = l.n;
		}
	}
	for (size_t i = 0; i < l.n && l.n <= q->icap; i++)
		q->items[i] = (struct edb_item){ l.ent[i].sig, l.ent[i].pk, (const uint8_t *)l.msgs + l.ent[i].off,
			l.ent[i].len };
	t0 = thread_ns();
	good = l.n <= q->icap ? edb_verify(q->items, l.n, q->ok) : -1;
	if (good >= 0)
		met_verify_batch((unsigned)l.n, thread_ns() - t0);
	for (size_t i = 0; i < l.n; i++) {
		bool ok;

		if (good >= 0)
			ok = q->ok[i];
		else /* no memory for the batch: each on its own */
			ok = crypto_sign_verify_detached(l.ent[i].sig, (const uint8_t *)l.msgs + l.ent[i].off, l.ent[i].len,
			    l.ent[i].pk) == 0;
		l.ent[i].fn(ok, l.ent[i].arg);
	}
	q->work.n = q->work.mlen = 0;
}

struct sigq *
sigq_new(struct event_base *base)
{
	struct sigq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	if ((q->ev = event_new(base, -1, 0, on_turn_end, q)) == NULL) {
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
	list_free(&q->fill);
	list_free(&q->work);
	free(q->items);
	free(q->ok);
	free(q);
}

int
sigq_add(struct sigq *q, const uint8_t *sig, const uint8_t *pk, const char *msg, size_t len, sigq_fn fn, void *arg)
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

size_t
sigq_pending(const struct sigq *q)
{
	return q->fill.n + q->work.n;
}
