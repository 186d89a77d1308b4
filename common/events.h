/* events.h: platform events (meter_reading_received, tokens_minted, ...) as JSON plus the Redis channels they go to. */
#ifndef GTX_EVENTS_H
#define GTX_EVENTS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "err.h"

/* The existing platform's snake_case event types. */
#define EVT_READING_RECEIVED "meter_reading_received"
#define EVT_VALIDATION_FAILED "meter_reading_validation_failed"
#define EVT_TOKENS_MINTED "tokens_minted"
#define EVT_BATCH_COMPLETED "batch_minting_completed"
#define EVT_MINTING_FAILED "minting_failed"
#define EVT_MINTING_HALTED "minting_halted"

#define EVT_MAX_CHANNELS 4
/* The argv of one publish command: EVALSHA sha 1 stream maxlen json type channels... */
#define EVT_MAX_ARGS (7 + EVT_MAX_CHANNELS)

/*
 * One event ready to publish: compact JSON ({"type":...,fields...,"timestamp":...},
 * always an object with at least "type") and the channels it goes to:
 * <prefix>, <prefix>:wallet:<addr>, <prefix>:user:<uuid>, <prefix>:meter:<serial>
 * (each when known). Published through EVT_SCRIPT, which appends it to the
 * capped stream <prefix>:stream and PUBLISHes it, with "event_id" (the stream
 * entry id) added, to every channel.
 */
struct evt_msg {
	char *type;
	char *json;
	size_t json_len;
	int nchan;
	char *chan[EVT_MAX_CHANNELS];
	char *stream; /* <prefix>:stream */
};

/* Who an event concerns, for the per-wallet, per-user and per-meter channels; any may be NULL or "". */
struct evt_route {
	const char *wallet;
	const char *user_id;
	const char *meter_serial;
};

/*
 * Builds an event of `type` from `fields` (a cJSON object, not modified; may
 * be NULL). "type" comes first; "timestamp" (now, RFC 3339 UTC with Z) is
 * added unless fields has one. Amounts must already be strings (exact
 * decimals or base units), never floats. Fails on out-of-memory or a prefix
 * or route too long. Free with evt_msg_free.
 */
int evt_build(const char *prefix, const char *type, const cJSON *fields, const struct evt_route *route,
    struct evt_msg *m, struct err *e) WUR;
void evt_msg_free(struct evt_msg *m);

/*
 * The Lua script: KEYS[1] = stream, ARGV = maxlen, json, type, channels...
 * Returns the stream entry id. Load it with SCRIPT LOAD on connect.
 * (ingestd's rq.c sends many events, and reading ids, per call with a script
 * of its own that stores and publishes each event the same way.)
 */
extern const char EVT_SCRIPT[];

/*
 * Fills argv/argvlen (room for EVT_MAX_ARGS) with "EVALSHA sha 1 stream maxlen
 * json type channels..." or, when sha is NULL, "EVAL <script> ...". maxbuf
 * (>= 21 bytes) holds the printed maxlen. Returns argc. The strings point into
 * m, sha and maxbuf: valid while those are.
 */
int evt_argv(const struct evt_msg *m, const char *sha, long long maxlen, char *maxbuf, const char **argv,
    size_t *argvlen) WUR;

#endif
