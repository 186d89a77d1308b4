/* notify.h: mintd's events (tokens_minted, batch_minting_completed, minting_failed) on Redis. */
#ifndef MINTD_NOTIFY_H
#define MINTD_NOTIFY_H

#include <hiredis/hiredis.h>

#include "mintd.h"

/*
 * Each event is appended to the capped events stream and published on the events channel and its
 * :wallet:<w> / :user:<u> / :meter:<serial> sub-channels. Pub/sub is at-most-once: PostgreSQL holds the
 * durable record. Failures are logged and counted, never fatal. c may be NULL (Redis down): dropped.
 */
void notify_minted(redisContext *c, const struct reading *r, const char *signature);
void notify_failed(redisContext *c, const struct reading *r, const char *error, int attempts);
void notify_batch(redisContext *c, const char *batch_id, long total, long ok, long failed);
/* minting_halted: the supply invariant broke; amounts as exact decimal strings. */
struct halt;
void notify_halted(redisContext *c, const struct halt *h);

#endif
