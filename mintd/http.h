/* http.h: the loopback HTTP endpoints: /healthz (loop alive), /readyz (able to mint), /metrics (Prometheus). */
#ifndef MINTD_HTTP_H
#define MINTD_HTTP_H

#include <stdbool.h>

#include <event2/event.h>

#include "err.h"

#include "rpcm.h"

/* listen is "host:port"; not_ready() says why /readyz fails (NULL: ready); rpc's counters go to /metrics. */
int http_start(struct event_base *base, const char *listen, const char *(*not_ready)(void), const struct rpcm *rpc,
    struct err *e);
void http_stop(void);

#endif
