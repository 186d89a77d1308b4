/* wsserver.h: the WebSocket events service (GET /ws on its own listener): start, reload, stop. */
#ifndef INGESTD_WSSERVER_H
#define INGESTD_WSSERVER_H

#include <event2/event.h>

#include "config.h"
#include "err.h"

struct wss;

/*
 * Listens on WEBSOCKET_LISTEN, connects the Redis event feed (reconnecting
 * with backoff) and serves clients on `base`. NULL with *e on failure to
 * listen. The cfg is copied where needed; it need not outlive the call.
 */
struct wss *wss_start(struct event_base *base, const struct cfg *c, struct err *e);
/* Applies the reloadable WEBSOCKET_* keys, JWT_SECRET and ADMIN_TOKEN_SHA256 (new limits apply to new connections). */
void wss_reload(struct wss *s, const struct cfg *c);
/* Closes every client with 1001 "server shutting down" and frees everything. wss_stop(NULL) is a no-op. */
void wss_stop(struct wss *s);

/* Checks of the WebSocket keys for -n, start-up and reload. */
void wss_conf_check(const struct cfg *c, struct errlist *errs);

#endif
