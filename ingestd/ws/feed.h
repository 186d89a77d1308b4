/* feed.h: the WebSocket service's events from Redis: live events (SUBSCRIBE) and replays (XRANGE); knows no clients. */
/*
 * Ownership: feed_new's caller owns the feed (feed_free); cbs is copied. Events handed to callbacks are
 * the feed's until the callback returns (take a wsmsg reference to keep one); a feed_replay belongs to
 * the feed until its last callback, or until feed_replay_cancel.
 */
#ifndef INGESTD_WS_FEED_H
#define INGESTD_WS_FEED_H

#include <event2/event.h>
#include <stdbool.h>

#include "err.h"
#include "msg.h"

struct feed;

struct feed_cbs {
	/* A live event (ev and its fields valid until the callback returns; take a reference to keep ev->msg). */
	void (*event)(const struct wsev *ev, void *arg);
	/* The subscription is back after a loss: events in between can be had by replay. */
	void (*restored)(struct wsid last, void *arg);
	void *arg;
};

/*
 * Connects a subscriber to the all-events channel `prefix` and a command
 * connection for replays from the stream "<prefix>:stream"; both reconnect with
 * backoff. NULL with *e when redis_url is malformed.
 */
struct feed *feed_new(struct event_base *base, const char *redis_url, const char *prefix, const struct feed_cbs *cbs,
    struct err *e) WUR;
void feed_free(struct feed *f);
/* The newest event seen live. */
struct wsid feed_last(const struct feed *f);

/*
 * One replay step: `batch` gets the events after `after` (at most one batch;
 * `more` when there may be further ones) or an error text; it is the last
 * callback of the request, which frees itself after it. With `first`, `gap`
 * is called before when events after `after` may have been trimmed (`oldest`
 * is the oldest id still kept, "" when the stream is empty).
 */
typedef void (*feed_batch_fn)(void *arg, struct wsev *evs, size_t n, bool more, const char *error);
typedef void (*feed_gap_fn)(void *arg, const char *oldest);
struct feed_replay;
/* NULL when the event store is unreachable now (nothing will be called). */
struct feed_replay *feed_replay(struct feed *f, struct wsid after, bool first, feed_batch_fn batch, feed_gap_fn gap,
    void *arg) WUR;
/* No callback of r will run; it frees itself once Redis has answered. */
void feed_replay_cancel(struct feed_replay *r);

#endif
