/* msg.h: event ids, refcounted server frames and parsed events of the WebSocket service (no I/O). */
#ifndef INGESTD_WS_MSG_H
#define INGESTD_WS_MSG_H

#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wsframe.h"

/* An event id "ms-seq" of the events stream; 0-0 means none. */
struct wsid {
	uint64_t ms, seq;
};

bool wsid_parse(const char *s, struct wsid *id) WUR;
int wsid_cmp(struct wsid a, struct wsid b);
void wsid_text(struct wsid id, char out[48]);

/*
 * A complete server frame, shared by every connection it is queued on.
 * Whoever holds a pointer to it holds one reference: a queue slot, a held
 * slot, a socket buffer. wsmsg_ref adds one, wsmsg_unref drops one.
 */
struct wsmsg {
	unsigned refs;
	struct wsid id; /* the event id for events, 0-0 for replies */
	size_t len;
	unsigned char data[];
};

/* A frame with one reference (the caller's); NULL on out of memory. */
struct wsmsg *wsmsg_new(enum ws_opcode op, const void *payload, size_t len) WUR;
struct wsmsg *wsmsg_ref(struct wsmsg *m);
void wsmsg_unref(struct wsmsg *m);

/* A parsed event: routing fields point into `json` (valid until wsev_free); msg holds one reference. */
struct wsev {
	struct wsid id;
	const char *type, *user_id, *wallet, *meter;
	struct wsmsg *msg;
	void *json; /* cJSON */
};

/* Parses an event JSON (from PUBLISH or the stream's `event` field); id_text overrides/sets event_id. */
int wsev_parse(const char *json, size_t len, const char *id_text, struct wsev *ev) WUR;
void wsev_free(struct wsev *ev);

#endif
