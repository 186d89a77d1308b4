/* rq.h: the Redis side of ingestd: reading ids onto the stream, events onto pub/sub; survives Redis going away. */
/*
 * Ownership: rq_new's caller owns the struct rq (rq_free; NULL is a no-op). rq_push_reading copies the id
 * (which waits in rq's own memory, at most backlog_max of them, while Redis is away); rq_publish takes the
 * struct evt_msg and frees it, published or dropped.
 */
#ifndef INGESTD_RQ_H
#define INGESTD_RQ_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "events.h"

struct rq;

struct rq_opts {
	const char *url;          /* secret: never logged */
	const char *stream;       /* REDIS_READINGS_STREAM */
	long long events_maxlen;  /* REDIS_EVENTS_STREAM_MAXLEN */
	long long readings_maxlen; /* REDIS_READINGS_STREAM_MAXLEN */
	size_t backlog_max;       /* reading ids kept while Redis is away */
	size_t max_inflight;      /* commands awaiting a reply beyond which ids go to the backlog */
};

struct rq_stats {
	uint64_t pushed, push_failures, backlog_dropped;
	uint64_t events_published, events_dropped;
	size_t backlog, inflight;
	bool up;
};

/* Connects in the background (and keeps reconnecting). NULL only on a bad URL (e filled). */
struct rq *rq_new(struct event_base *base, const struct rq_opts *o, struct err *e) WUR;
void rq_free(struct rq *q);

/* XADD <stream> MAXLEN ~ <readings_maxlen> * reading_id <id>, sent with the rest of this loop turn's; kept in a bounded backlog while Redis is unreachable. */
void rq_push_reading(struct rq *q, const char *reading_id);

/* Publishes an event (best effort: dropped and counted when Redis is unreachable). Frees m. */
void rq_publish(struct rq *q, struct evt_msg *m);

bool rq_up(const struct rq *q);
void rq_stats(const struct rq *q, struct rq_stats *s);
/* What SIGHUP may change: the approximate lengths of the events and the readings streams. */
void rq_set_maxlen(struct rq *q, long long events_maxlen, long long readings_maxlen);

#endif
