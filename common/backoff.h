/* backoff.h: exponential backoff with jitter for reconnects and retries. */
#ifndef GTX_BACKOFF_H
#define GTX_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint32_t base_ms;
	uint32_t max_ms;
	uint32_t cur_ms; /* 0 before the first failure */
};

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms);
/* The next delay: doubles from base to max, with up to 25% random jitter subtracted. */
uint32_t backoff_next(struct backoff *b);
void backoff_reset(struct backoff *b);

#endif
