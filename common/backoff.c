/* backoff.c: exponential backoff with jitter (randombytes_uniform, so no seeding is needed). */
#include "backoff.h"

#include <sodium.h>

void
backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
	b->cur_ms = 0;
}

uint32_t
backoff_next(struct backoff *b)
{
	uint32_t d;

	if (b->cur_ms == 0)
		b->cur_ms = b->base_ms;
	else if (b->cur_ms >= b->max_ms / 2)
		b->cur_ms = b->max_ms;
	else
		b->cur_ms *= 2;
	d = b->cur_ms;
	if (d >= 4)
		d -= randombytes_uniform(d / 4);
	return d;
}

void
backoff_reset(struct backoff *b)
{
	b->cur_ms = 0;
}
