/* acks.c: a chained hash map reading_id -> stream entry id (in memory; lost on restart by design:
 * entries left pending are re-delivered or reclaimed, and a reading that is no longer pending is then acked). */
#include "acks.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ack {
	char rid[MINTD_UUID_SZ];
	char eid[STREAM_EID_SZ];
	struct ack *next;
};

#define NBUCKETS 4096u

static struct ack *bucket[NBUCKETS];
static size_t count;

static unsigned
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % NBUCKETS;
}

void
acks_put(const char *rid, const char *eid)
{
	unsigned h = hash(rid);
	struct ack *a;

	for (a = bucket[h]; a != NULL; a = a->next)
		if (strcmp(a->rid, rid) == 0)
			break;
	if (a == NULL) {
		a = xcalloc(1, sizeof(*a));
		memcpy(a->rid, rid, strnlen(rid, MINTD_UUID_SZ - 1));
		a->next = bucket[h];
		bucket[h] = a;
		count++;
	}
	memset(a->eid, 0, sizeof(a->eid));
	memcpy(a->eid, eid, strnlen(eid, STREAM_EID_SZ - 1));
}

bool
acks_take(const char *rid, char eid[STREAM_EID_SZ])
{
	for (struct ack **pp = &bucket[hash(rid)]; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->rid, rid) == 0) {
			struct ack *a = *pp;

			memcpy(eid, a->eid, STREAM_EID_SZ);
			*pp = a->next;
			free(a);
			count--;
			return true;
		}
	}
	return false;
}

size_t
acks_count(void)
{
	return count;
}

void
acks_clear(void)
{
	for (unsigned i = 0; i < NBUCKETS; i++) {
		while (bucket[i] != NULL) {
			struct ack *a = bucket[i];

			bucket[i] = a->next;
			free(a);
		}
	}
	count = 0;
}
