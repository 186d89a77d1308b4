/* wsproc.h: the WebSocket service as a child process (ingestd-ws): started, supervised and restarted by ingestd. */
/*
 * Ownership: wsproc_new's caller owns the struct wsproc for the life of the process (wsproc_stop ends the
 * child); the struct cfg passed in is read during the call only.
 */
#ifndef INGESTD_WSPROC_H
#define INGESTD_WSPROC_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/*
 * The WebSocket service runs in its own process so that nothing it does (a
 * crash, a stall, a slow database) can delay the meters' event loop. ingestd
 * binds WEBSOCKET_LISTEN itself (before dropping privileges) and hands the
 * listening socket to each ingestd-ws it starts; clients that connect while the
 * service restarts wait in the socket's backlog.
 */
struct wsproc;

/*
 * Binds the listener and opens ingestd-ws (next to the running ingestd) for executing by descriptor. Call
 * before privileges are dropped: the dropped user may not reach the binary's directory. NULL with *e.
 */
struct wsproc *wsproc_new(struct event_base *base, const struct cfg *c, struct err *e) WUR;
/*
 * Starts ingestd-ws (opened by wsproc_new) with the same
 * configuration file, verbosity and log destination. It is started again, with
 * backoff, whenever it exits until wsproc_stop. Returns -1 with *e when the
 * program cannot be found.
 */
int wsproc_start(struct wsproc *w, const char *conf_path, int verbose, bool foreground, struct err *e) WUR;
/* Passes SIGHUP on (the service rereads the configuration itself). */
void wsproc_reload(struct wsproc *w);
/* SIGTERM to the service (it closes its clients with 1001); no restart after. */
void wsproc_terminate(struct wsproc *w);
/* SIGTERM to the service, then waits up to timeout_ms for it (SIGKILL after). Frees w. NULL: no-op. */
void wsproc_stop(struct wsproc *w, int timeout_ms);

bool wsproc_running(const struct wsproc *w);
uint64_t wsproc_restarts(const struct wsproc *w);

#endif
