/* peers.c: a hash table of client addresses (keyed hash: the addresses are chosen by clients). */
#include "peers.h"
#include "khash.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define PEER_KEY 9 /* family byte + up to 8 address bytes */

struct peer {
	struct peer *next;
	unsigned char key[PEER_KEY];
	int nconns;
};

struct peers {
	struct khash_key hk;
	struct peer **tab;
	size_t nbuckets, n;
	struct ratelim *rl; /* the request rates, shared by the workers (not owned) */
};

static void
key_of(const struct sockaddr *sa, unsigned char key[PEER_KEY])
{
	memset(key, 0, PEER_KEY);
	key[0] = (unsigned char)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 8); /* the /64 */
}

static size_t
bucket(const struct peers *ps, const unsigned char key[PEER_KEY])
{
	return (size_t)khash(&ps->hk, key, PEER_KEY) & (ps->nbuckets - 1);
}

struct peers *
peers_new(struct ratelim *rl)
{
	struct peers *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	khash_key_new(&ps->hk);
	ps->rl = rl;
	ps->nbuckets = 256;
	if ((ps->tab = calloc(ps->nbuckets, sizeof(*ps->tab))) == NULL) {
		free(ps);
		return NULL;
	}
	return ps;
}

void
peers_free(struct peers *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->nbuckets; i++)
		for (struct peer *p = ps->tab[i], *next; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
	free(ps->tab);
	free(ps);
}

static void
grow(struct peers *ps)
{
	size_t nb = ps->nbuckets * 2;
	struct peer **t = calloc(nb, sizeof(*t));

	if (t == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < ps->nbuckets; i++)
		for (struct peer *p = ps->tab[i], *next; p != NULL; p = next) {
			size_t b = (size_t)khash(&ps->hk, p->key, PEER_KEY) & (nb - 1);

			next = p->next;
			p->next = t[b];
			t[b] = p;
		}
	free(ps->tab);
	ps->tab = t;
	ps->nbuckets = nb;
}

struct peer *
peers_get(struct peers *ps, const struct sockaddr *sa)
{
	unsigned char key[PEER_KEY];
	struct peer *p;
	size_t b;

	key_of(sa, key);
	b = bucket(ps, key);
	for (p = ps->tab[b]; p != NULL; p = p->next)
		if (memcmp(p->key, key, PEER_KEY) == 0)
			return p;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	memcpy(p->key, key, PEER_KEY);
	if (ps->n >= ps->nbuckets) {
		grow(ps);
		b = bucket(ps, key);
	}
	p->next = ps->tab[b];
	ps->tab[b] = p;
	ps->n++;
	return p;
}

int
peer_conns(const struct peer *p)
{
	return p->nconns;
}

void
peer_conn_add(struct peer *p)
{
	p->nconns++;
}

void
peer_conn_del(struct peer *p)
{
	if (p->nconns > 0)
		p->nconns--;
}

/* In the shared table, keyed by a 0 byte and the address (the table's other keys are meter serials: text, never
 * starting with a 0 byte). */
bool
peer_rate_take(struct peers *ps, const struct peer *p, int64_t now, int per_sec, int burst, int *retry_secs)
{
	unsigned char key[1 + PEER_KEY] = { 0 };
	int64_t per_min = (int64_t)(per_sec > 0 ? per_sec : 1) * 60;
	int wait;

	memcpy(key + 1, p->key, PEER_KEY);
	wait = rl_take(ps->rl, key, sizeof(key), now, per_min > INT_MAX ? INT_MAX : (int)per_min, burst);
	if (wait > 0) {
		*retry_secs = wait;
		return false;
	}
	return true;
}

void
peers_sweep(struct peers *ps)
{
	for (size_t i = 0; i < ps->nbuckets; i++) {
		struct peer **pp = &ps->tab[i], *p;

		while ((p = *pp) != NULL) {
			if (p->nconns == 0) {
				*pp = p->next;
				free(p);
				ps->n--;
			} else {
				pp = &p->next;
			}
		}
	}
}

size_t
peers_count(const struct peers *ps)
{
	return ps->n;
}
