/* stream.h: the readings stream as a Redis consumer group (a hint; PostgreSQL is the truth). */
#ifndef MINTD_STREAM_H
#define MINTD_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "err.h"
#include "mintd.h"

#define STREAM_EID_SZ 48

/* One delivered entry. rid is "" when the body is gone (trimmed/deleted) or carries no valid reading_id. */
struct sentry {
	char eid[STREAM_EID_SZ];
	char rid[MINTD_UUID_SZ];
};

struct stream;

/* Connects and creates the group (from the start of the stream, MKSTREAM) unless it exists. */
struct stream *stream_open(const char *url, const char *key, const char *group, const char *consumer,
    int timeout_ms, struct err *e) WUR;
void stream_close(struct stream *s);
bool stream_ok(const struct stream *s);
int stream_reconnect(struct stream *s, struct err *e) WUR;
/* The connection, for publishing events on it (NULL while disconnected). */
redisContext *stream_ctx(struct stream *s);

/*
 * XREADGROUP without blocking: pel = true re-reads this consumer's own pending entries (after a restart),
 * false takes new ones (">"). *out is malloc'd (NULL when none); caller frees.
 */
int stream_read(struct stream *s, bool pel, int count, struct sentry **out, size_t *n, struct err *e) WUR;
/* XAUTOCLAIM entries idle longer than min_idle_ms from any consumer; cursor ("0-0" to start) advances. */
int stream_autoclaim(struct stream *s, long min_idle_ms, int count, char cursor[STREAM_EID_SZ],
    struct sentry **out, size_t *n, struct err *e) WUR;
/* Acknowledges the entries and deletes them from the stream. */
int stream_ack(struct stream *s, const char *const *eids, size_t n, struct err *e) WUR;

/* True for the canonical 8-4-4-4-12 hex form (what PostgreSQL prints). */

#endif
