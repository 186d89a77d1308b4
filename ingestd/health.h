/* health.h: GET /healthz, /readyz (PostgreSQL and Redis reachable) and /metrics (Prometheus text). */
#ifndef INGESTD_HEALTH_H
#define INGESTD_HEALTH_H

#include <stdbool.h>

#include "app.h"
#include "metrics.h"

/* Each answers req (the router's handlers: a is borrowed). */
void health_answer(struct app *a, struct httpd_req *req, bool ready);
void health_metrics(struct app *a, struct httpd_req *req);
/* This worker's gauges, as /metrics shows them (and publishes them for the other workers). */
void health_gauges(struct app *a, struct met_gauges *g);

#endif
