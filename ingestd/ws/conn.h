/* conn.h: one WebSocket client's socket: the upgrade exchange, frames in and out, the send queue, pings, close. */
#ifndef INGESTD_WS_CONN_H
#define INGESTD_WS_CONN_H

#include "err.h"
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "msg.h"

#define WSC_HANDSHAKE_MAX 8192   /* bytes of HTTP request before the upgrade */
#define WSC_HANDSHAKE_MS 10000   /* a client must be upgraded (including the ownership lookup) within this */

/*
 * HANDSHAKE --head read--> (the service authenticates, maybe looks owners up) --wsc_accept--> OPEN
 * OPEN --wsc_close / client close--> CLOSING --close frame or deadline--> freed
 * A refused upgrade (wsc_refuse) is written, then the connection is freed.
 */
enum wsc_state { WSC_HANDSHAKE, WSC_OPEN, WSC_CLOSING };

struct wsconn;

/*
 * The service's callbacks. A connection is never freed inside a call into
 * conn.c or inside one of these callbacks: it is marked dead (wsc_alive()
 * false, every call a no-op) and released from the event loop, which then
 * calls `gone` once; after gone the connection must not be used.
 */
struct wsc_cbs {
	/* The upgrade request head (NUL-terminated; the callee may modify it; zeroed and freed afterwards). */
	void (*upgrade)(struct wsconn *c, char *head, void *arg);
	/* A complete text message, valid UTF-8. */
	void (*text)(struct wsconn *c, const char *p, size_t n, void *arg);
	/* The send queue is at most half full after the socket took some (a replay may go on). */
	void (*drained)(struct wsconn *c, void *arg);
	void (*gone)(struct wsconn *c, void *arg);
};

struct wsc_limits {
	size_t queue_cap;     /* frames queued (and, during a replay, held) beyond which pushes fail */
	int64_t max_message;  /* bytes of one client message after reassembly */
	int64_t rate_per_min; /* client messages and pings per minute */
	int64_t ping_ms;
};

/* Takes fd. NULL (fd closed) on out of memory. */
struct wsconn *wsc_new(struct event_base *base, evutil_socket_t fd, const struct sockaddr *sa, uint64_t id,
    const struct wsc_limits *lim, const struct wsc_cbs *cbs, void *arg) WUR;

bool wsc_alive(const struct wsconn *c);
bool wsc_is_open(const struct wsconn *c); /* alive, OPEN and not closing */
uint64_t wsc_id(const struct wsconn *c);
const char *wsc_peer(const struct wsconn *c);
/* Who the client is, for log lines ("admin", "user <id>"). */
void wsc_set_who(struct wsconn *c, const char *who);

/* Completes the upgrade (101 with this Sec-WebSocket-Accept) and opens the connection. */
void wsc_accept(struct wsconn *c, const char *accept);
/* Refuses the upgrade with an HTTP error and frees the connection once it is written. */
void wsc_refuse(struct wsconn *c, int status, const char *why);
/* Stops or resumes reading client messages (while the service waits on something for this client). */
void wsc_pause(struct wsconn *c, bool paused);

/*
 * The send queue. Every frame in it, and every held frame, holds one
 * reference, which the queue gives up exactly once: to the socket buffer, or
 * on close. wsc_push takes its own reference (the caller keeps theirs); false
 * when the queue is full (the caller decides; nothing was taken).
 */
bool wsc_push(struct wsconn *c, struct wsmsg *m) WUR;
/* A JSON text reply (not an event); on a full queue the client is closed as slow (4000). */
void wsc_send_json(struct wsconn *c, const char *json);
size_t wsc_queued(const struct wsconn *c);
size_t wsc_capacity(const struct wsconn *c);
/* The newest event id queued: live events at or before it are duplicates. */
struct wsid wsc_last(const struct wsconn *c);

/* Live events arriving during a replay wait here (one reference each); false when full. */
bool wsc_hold(struct wsconn *c, struct wsmsg *m) WUR;
/*
 * Moves the held events newer than wsc_last() to the queue in order. Each
 * held reference is taken off the held list before it is pushed, so a close
 * in the middle (which drops what is still held) never drops one twice.
 * False when the queue filled up: the rest was dropped; the caller closes.
 */
bool wsc_release_held(struct wsconn *c);

/* Sends a close frame (code, reason) and closes after the client's answer or a deadline. */
void wsc_close(struct wsconn *c, int code, const char *reason);
/*
 * Shutdown: one best-effort write of a close frame 1001, then freed at once
 * (gone is called before this returns: not for use inside callbacks).
 */
void wsc_abort(struct wsconn *c);

#endif
