/* metrics.h: ingestd's counters and histograms, rendered as Prometheus text (the sum over every worker). */
#ifndef INGESTD_METRICS_H
#define INGESTD_METRICS_H

#include "err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"
#include "meters.h"
#include "routes.h"

/*
 * With several workers: met_init before they are forked (a shared mapping with one block per worker), then
 * met_worker(i) in worker i. Without met_init, one process-local block. Each worker counts into its own block;
 * met_render sums all of them, with the caller's live gauges and the others' as last published.
 */
int met_init(int nworkers, struct err *e) WUR;
void met_worker(int index);
void met_request(enum route route, int status);
void met_accepted(void);
void met_replayed(void);
/* reason: a stable error code (a string literal: counted by pointer and name) */
void met_rejected(const char *reason);
void met_store_latency(int64_t us);
void met_group_rows(int rows);
void met_group_rewritten(void);
void met_batch_readings(int n);
/*
 * One batch of n signatures checked together (sigq.c), the thread CPU time it took (nanoseconds), and how
 * many of its multiplications failed, so that their signatures were checked one by one.
 */
void met_verify_batch(unsigned n, int64_t ns, unsigned fallbacks);

/* Gauges and counters owned elsewhere, sampled when /metrics is read. */
struct met_gauges {
	int db_up, redis_up, ws_up;
	size_t db_pending, store_pending;
	uint64_t queue_pushed, queue_push_failures, queue_backlog_dropped, events_published, events_dropped;
	size_t queue_backlog;
	uint64_t ws_restarts;
	struct httpd_stats http;
	struct mc_stats meters;
};

/* This worker's gauges, for the others' /metrics (every second). */
void met_publish(const struct met_gauges *g);
/* The WebSocket service's state, as the supervisor sees it (workers do not). */
void met_set_websocket(bool up, uint64_t restarts);

/* The exposition text; caller frees. NULL on out of memory. */
char *met_render(const struct met_gauges *g, size_t *len) WUR;

#endif
