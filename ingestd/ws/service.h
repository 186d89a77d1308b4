/* service.h: the WebSocket events service (GET /ws): clients, authentication, subscriptions, replay, live events. */
#ifndef INGESTD_WS_SERVICE_H
#define INGESTD_WS_SERVICE_H

#include <event2/event.h>

#include "config.h"
#include "err.h"

#define WS_MAX_SUBS 64 /* channels per connection */

struct svc;

/*
 * Serves clients accepted on listen_fd (a bound, listening socket; taken over)
 * on `base`, with the Redis event feed and the PostgreSQL ownership lookups of
 * the configuration. NULL with *e on failure. The cfg need not outlive the call.
 */
struct svc *svc_new(struct event_base *base, const struct cfg *c, evutil_socket_t listen_fd, struct err *e) WUR;
/*
 * Applies the reloadable WEBSOCKET_* keys, JWT_* and ADMIN_TOKEN_SHA256; new
 * limits apply to new connections, new credentials to every open one: a client
 * whose token no longer verifies is closed (4001 expired, 4003 otherwise).
 */
void svc_reload(struct svc *s, const struct cfg *c);
/* Closes every client with 1001 "server shutting down" and frees everything. svc_free(NULL) is a no-op. */
void svc_free(struct svc *s);

#endif
