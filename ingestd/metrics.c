/* metrics.c: request, reading and latency counters (single-threaded: the event loop owns them). */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REASONS 64
#define MAX_STATUS 600

static uint64_t requests[RT_COUNT][MAX_STATUS];
static uint64_t accepted, replayed;
static struct {
	const char *name;
	uint64_t n;
} reasons[MAX_REASONS];

struct hist {
	const double *le; /* upper bounds, for display only */
	const int64_t *bound;
	int nb;
	uint64_t count[24];
	uint64_t n;
	int64_t sum;
};

/* store latency in microseconds; shown in seconds */
static const int64_t lat_bound[] = { 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 1000000, 5000000 };
static const double lat_le[] = { 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5 };
static const int64_t rows_bound[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000 };
static const double rows_le[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000 };

static struct hist h_lat = { lat_le, lat_bound, 12, { 0 }, 0, 0 };
static struct hist h_group = { rows_le, rows_bound, 14, { 0 }, 0, 0 };
static struct hist h_batch = { rows_le, rows_bound, 14, { 0 }, 0, 0 };

static void
observe(struct hist *h, int64_t v)
{
	for (int i = 0; i < h->nb; i++)
		if (v <= h->bound[i])
			h->count[i]++;
	h->n++;
	h->sum += v;
}

void
met_request(enum route route, int status)
{
	if ((unsigned)route >= RT_COUNT || status < 0 || status >= MAX_STATUS)
		return;
	requests[route][status]++;
}

void
met_accepted(void)
{
	accepted++;
}

void
met_replayed(void)
{
	replayed++;
}

void
met_rejected(const char *reason)
{
	for (int i = 0; i < MAX_REASONS; i++) {
		if (reasons[i].name == NULL)
			reasons[i].name = reason;
		if (reasons[i].name == reason || strcmp(reasons[i].name, reason) == 0) {
			reasons[i].n++;
			return;
		}
	}
}

void
met_store_latency(int64_t us)
{
	observe(&h_lat, us);
}

void
met_group_rows(int rows)
{
	observe(&h_group, rows);
}

void
met_batch_readings(int n)
{
	observe(&h_batch, n);
}

struct out {
	char *p;
	size_t n, cap;
	int oom;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
		va_end(ap);
		if (k < 0) {
			o->oom = 1;
			return;
		}
		if ((size_t)k < o->cap - o->n) {
			o->n += (size_t)k;
			return;
		}
		{
			size_t cap = o->cap * 2 + (size_t)k;
			char *p = realloc(o->p, cap);

			if (p == NULL) {
				o->oom = 1;
				return;
			}
			o->p = p;
			o->cap = cap;
		}
	}
}

/* One sample with its # HELP and # TYPE lines. */
static void
metric(struct out *o, const char *name, const char *type, const char *help, uint64_t v)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, (unsigned long long)v);
}

static void
put_hist(struct out *o, const char *name, const char *help, const struct hist *h, double scale)
{
	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < h->nb; i++)
		put(o, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i], (unsigned long long)h->count[i]);
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)h->n, name,
	    (double)h->sum * scale, name, (unsigned long long)h->n);
}

char *
met_render(const struct met_gauges *g, size_t *len)
{
	struct out o = { malloc(8192), 0, 8192, 0 };

	if (o.p == NULL)
		return NULL;
	put(&o, "# HELP ingestd_http_requests_total HTTP requests by route and status.\n"
	    "# TYPE ingestd_http_requests_total counter\n");
	for (int r = 0; r < RT_COUNT; r++)
		for (int s = 0; s < MAX_STATUS; s++)
			if (requests[r][s])
				put(&o, "ingestd_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route_name((enum route)r), s,
				    (unsigned long long)requests[r][s]);
	put(&o, "# HELP ingestd_readings_accepted_total Readings committed (201).\n"
	    "# TYPE ingestd_readings_accepted_total counter\ningestd_readings_accepted_total %llu\n",
	    (unsigned long long)accepted);
	put(&o, "# HELP ingestd_readings_replayed_total Identical readings posted again (200, nothing stored).\n"
	    "# TYPE ingestd_readings_replayed_total counter\ningestd_readings_replayed_total %llu\n",
	    (unsigned long long)replayed);
	put(&o, "# HELP ingestd_readings_rejected_total Readings rejected, by reason.\n"
	    "# TYPE ingestd_readings_rejected_total counter\n");
	for (int i = 0; i < MAX_REASONS && reasons[i].name != NULL; i++)
		put(&o, "ingestd_readings_rejected_total{reason=\"%s\"} %llu\n", reasons[i].name,
		    (unsigned long long)reasons[i].n);
	put_hist(&o, "ingestd_store_latency_seconds", "Time from queueing a reading to its commit answer.", &h_lat, 1e-6);
	put_hist(&o, "ingestd_group_commit_rows", "Readings per group-commit INSERT.", &h_group, 1);
	put_hist(&o, "ingestd_batch_request_readings", "Readings per batch request.", &h_batch, 1);
	metric(&o, "ingestd_queue_pushed_total", "counter", "Reading ids added to the readings stream (XADD).", g->queue_pushed);
	metric(&o, "ingestd_queue_push_failures_total", "counter",
	    "XADDs of reading ids that failed (kept in the backlog or swept by mintd).", g->queue_push_failures);
	metric(&o, "ingestd_queue_backlog_dropped_total", "counter",
	    "Reading ids dropped from a full backlog while Redis was away (mintd's sweep finds them).",
	    g->queue_backlog_dropped);
	metric(&o, "ingestd_queue_backlog", "gauge", "Reading ids waiting in memory for Redis.", g->queue_backlog);
	metric(&o, "ingestd_events_published_total", "counter", "Events published on Redis.", g->events_published);
	metric(&o, "ingestd_events_dropped_total", "counter", "Events not published (Redis away or backlog full).",
	    g->events_dropped);
	metric(&o, "ingestd_database_up", "gauge", "1 when at least one PostgreSQL connection is usable.", (uint64_t)g->db_up);
	metric(&o, "ingestd_redis_up", "gauge", "1 when the Redis connection is usable.", (uint64_t)g->redis_up);
	metric(&o, "ingestd_db_jobs", "gauge", "Database jobs queued or running.", g->db_pending);
	metric(&o, "ingestd_store_pending", "gauge", "Readings waiting for their group commit.", g->store_pending);
	metric(&o, "ingestd_meters_cached", "gauge", "Meters in the cache (registered and unknown).", g->meters.entries);
	metric(&o, "ingestd_meters_unknown_cached", "gauge", "Unregistered serials remembered by the negative cache.",
	    g->meters.unknown);
	metric(&o, "ingestd_meter_lookups_total", "counter", "Database queries made to look meters up.", g->meters.queries);
	metric(&o, "ingestd_meter_lookup_serials_total", "counter", "Serials asked for by those queries.", g->meters.serials);
	metric(&o, "ingestd_http_connections", "gauge", "Open HTTP connections.", g->http.connections);
	metric(&o, "ingestd_http_in_flight", "gauge", "HTTP requests received and not answered yet.", g->http.in_flight);
	metric(&o, "ingestd_http_paused_connections", "gauge",
	    "Connections not read because their unsent output is over the limits.", g->http.paused);
	metric(&o, "ingestd_http_client_addresses", "gauge", "Client addresses with connections or a recent request.",
	    g->http.addrs);
	metric(&o, "ingestd_http_unsent_bytes", "gauge", "Response bytes written but not yet taken by the kernel.",
	    g->http.unsent_bytes);
	metric(&o, "ingestd_http_unsent_bytes_max", "gauge", "The most unsent response bytes on one connection.",
	    g->http.unsent_max);
	metric(&o, "ingestd_http_body_bytes", "gauge", "Request body bytes buffered (of INGESTD_BODY_BUDGET_BYTES).",
	    g->http.body_bytes);
	metric(&o, "ingestd_http_backpressure_pauses_total", "counter",
	    "Times a connection stopped being read until its output was sent.", g->http.backpressure_pauses);
	metric(&o, "ingestd_http_rate_limited_total", "counter", "Requests refused by the per-address rate (429).",
	    g->http.rate_limited);
	metric(&o, "ingestd_http_body_budget_refused_total", "counter",
	    "Requests refused because the body budget was spent (503).", g->http.body_budget_refused);
	put(&o, "# HELP ingestd_http_refused_connections_total Connections closed at accept, by reason.\n"
	    "# TYPE ingestd_http_refused_connections_total counter\n"
	    "ingestd_http_refused_connections_total{reason=\"max_connections\"} %llu\n"
	    "ingestd_http_refused_connections_total{reason=\"per_address\"} %llu\n",
	    (unsigned long long)g->http.refused_max_conns, (unsigned long long)g->http.refused_per_addr);
	put(&o, "# HELP ingestd_http_timeouts_total Connections closed by a deadline, by phase.\n"
	    "# TYPE ingestd_http_timeouts_total counter\n"
	    "ingestd_http_timeouts_total{phase=\"head\"} %llu\ningestd_http_timeouts_total{phase=\"body\"} %llu\n"
	    "ingestd_http_timeouts_total{phase=\"idle\"} %llu\ningestd_http_timeouts_total{phase=\"write\"} %llu\n",
	    (unsigned long long)g->http.timeout_head, (unsigned long long)g->http.timeout_body,
	    (unsigned long long)g->http.timeout_idle, (unsigned long long)g->http.timeout_write);
	metric(&o, "ingestd_websocket_service_up", "gauge", "1 while the WebSocket service process (ingestd-ws) runs.",
	    (uint64_t)g->ws_up);
	metric(&o, "ingestd_websocket_service_restarts_total", "counter",
	    "Times the WebSocket service process was started again after it exited.", g->ws_restarts);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	*len = o.n;
	return o.p;
}
