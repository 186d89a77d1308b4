/* http.h: the loopback HTTP endpoints: /healthz (loop alive), /readyz (able to mint), /metrics (Prometheus). */
#ifndef MINTD_HTTP_H
#define MINTD_HTTP_H

#include <stdbool.h>

#include <event2/event.h>

#include "err.h"

/* listen is "host:port"; ready() decides /readyz. */
int http_start(struct event_base *base, const char *listen, bool (*ready)(void), struct err *e);
void http_stop(void);

#endif
