/* metrics.c: request, reading and latency counters, one block per worker, summed over all of them when rendered. */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAX_REASONS 64
#define MAX_STATUS 600
#define NBUCKETS 24

/*
 * Each worker writes only its own block (so plain loads and stores suffice: one writer), and /metrics,
 * answered by whichever worker the scrape reaches, reads every block: relaxed atomic loads and stores keep
 * those reads well-defined. A worker restarted on a block goes on from its counts: counters never go back.
 */
#define BUMP(x, v) __atomic_store_n(&(x), __atomic_load_n(&(x), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)
#define READ(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

struct hist_counts {
	uint64_t count[NBUCKETS];
	uint64_t n;
	int64_t sum;
};

struct block {
	uint64_t requests[RT_COUNT][MAX_STATUS];
	uint64_t accepted, replayed, rewritten;
	uint64_t verify_sigs, verify_batches, verify_ns; /* signatures checked, in how many batches, and their CPU time */
	uint64_t verify_fallbacks; /* batches that failed, their signatures then checked one by one */
	struct {
		char name[48];
		int used; /* set (release) once name is written */
		uint64_t n;
	} reasons[MAX_REASONS];
	struct hist_counts lat, group, batch;
	struct met_gauges gauges; /* published every second by its worker (sampled, so a little behind) */
};

struct shared {
	int nworkers;
	int ws_up;
	uint64_t ws_restarts;
	struct block w[];
};

/* Without met_init: one process-local block (zero-initialized static storage). */
static union {
	struct shared hdr;
	char room[sizeof(struct shared) + sizeof(struct block)];
} single;
static struct shared *sh = &single.hdr;
static struct block *me = single.hdr.w;
static int self;

struct hist {
	const double *le; /* upper bounds, for display only */
	const int64_t *bound;
	int nb;
	size_t off; /* of its counts in a block */
};

/* store latency in microseconds; shown in seconds */
static const int64_t lat_bound[] = { 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 1000000, 5000000 };
static const double lat_le[] = { 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5 };
static const int64_t rows_bound[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000 };
static const double rows_le[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000 };

static const struct hist h_lat = { lat_le, lat_bound, 12, offsetof(struct block, lat) };
static const struct hist h_group = { rows_le, rows_bound, 14, offsetof(struct block, group) };
static const struct hist h_batch = { rows_le, rows_bound, 14, offsetof(struct block, batch) };

static struct hist_counts *
counts(struct block *b, const struct hist *h)
{
	return (struct hist_counts *)(void *)((char *)b + h->off);
}

/* The single block's header (nworkers 1), set before anything counts. */
__attribute__((constructor)) static void
single_init(void)
{
	single.hdr.nworkers = 1;
}

int
met_init(int nworkers, struct err *e)
{
	size_t len = sizeof(struct shared) + (size_t)nworkers * sizeof(struct block);
	struct shared *s;

	if (nworkers <= 1)
		return 0;
	s = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return err_set(e, 0, "metrics for %d workers (%zu bytes): %s", nworkers, len, strerror(errno));
	s->nworkers = nworkers;
	sh = s;
	me = &s->w[0];
	return 0;
}

void
met_worker(int index)
{
	if (index >= 0 && index < sh->nworkers) {
		self = index;
		me = &sh->w[index];
	}
}

/* Gauges cross between processes as 64-bit words, each stored and loaded whole (no field is torn). */
_Static_assert(sizeof(struct met_gauges) % sizeof(uint64_t) == 0, "met_gauges is copied in 64-bit words");

static void
copy_words(void *dst, const void *src, size_t n)
{
	uint64_t *d = dst;
	const uint64_t *q = src;

	for (size_t i = 0; i < n / sizeof(uint64_t); i++)
		__atomic_store_n(&d[i], __atomic_load_n(&q[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
}

void
met_publish(const struct met_gauges *g)
{
	copy_words(&me->gauges, g, sizeof(*g));
}

void
met_set_websocket(bool up, uint64_t restarts)
{
	__atomic_store_n(&sh->ws_up, up ? 1 : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->ws_restarts, restarts, __ATOMIC_RELAXED);
}

static void
observe(const struct hist *h, int64_t v)
{
	struct hist_counts *c = counts(me, h);

	for (int i = 0; i < h->nb; i++)
		if (v <= h->bound[i])
			BUMP(c->count[i], 1);
	BUMP(c->n, 1);
	BUMP(c->sum, v);
}

void
met_request(enum route route, int status)
{
	if ((unsigned)route >= RT_COUNT || status < 0 || status >= MAX_STATUS)
		return;
	BUMP(me->requests[route][status], 1);
}

void
met_accepted(void)
{
	BUMP(me->accepted, 1);
}

void
met_replayed(void)
{
	BUMP(me->replayed, 1);
}

void
met_rejected(const char *reason)
{
	for (int i = 0; i < MAX_REASONS; i++) {
		if (!me->reasons[i].used) {
			snprintf(me->reasons[i].name, sizeof(me->reasons[i].name), "%s", reason);
			__atomic_store_n(&me->reasons[i].used, 1, __ATOMIC_RELEASE);
		}
		if (strcmp(me->reasons[i].name, reason) == 0) {
			BUMP(me->reasons[i].n, 1);
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
met_group_rewritten(void)
{
	BUMP(me->rewritten, 1);
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

void
met_verify_batch(unsigned n, int64_t ns, unsigned fallbacks)
{
	BUMP(me->verify_sigs, n);
	BUMP(me->verify_batches, 1);
	if (fallbacks > 0)
		BUMP(me->verify_fallbacks, fallbacks);
	if (ns > 0)
		BUMP(me->verify_ns, (uint64_t)ns);
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
put_hist(struct out *o, const char *name, const char *help, const struct hist *h, const struct block *t, double scale)
{
	const struct hist_counts *c = counts((struct block *)(uintptr_t)t, h);

	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < h->nb; i++)
		put(o, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i], (unsigned long long)c->count[i]);
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)c->n, name,
	    (double)c->sum * scale, name, (unsigned long long)c->n);
}

static void
add_hist(struct hist_counts *t, const struct hist_counts *c)
{
	for (int i = 0; i < NBUCKETS; i++)
		t->count[i] += READ(c->count[i]);
	t->n += READ(c->n);
	t->sum += READ(c->sum);
}

/* Another worker's gauges into g: amounts add up; "up" holds only when it holds in every worker. */
static void
add_gauges(struct met_gauges *g, const struct met_gauges *w)
{
	g->db_up = g->db_up && w->db_up;
	g->redis_up = g->redis_up && w->redis_up;
	g->db_pending += w->db_pending;
	g->store_pending += w->store_pending;
	g->queue_pushed += w->queue_pushed;
	g->queue_push_failures += w->queue_push_failures;
	g->queue_backlog_dropped += w->queue_backlog_dropped;
	g->events_published += w->events_published;
	g->events_dropped += w->events_dropped;
	g->queue_backlog += w->queue_backlog;
	g->http.connections += w->http.connections;
	g->http.in_flight += w->http.in_flight;
	g->http.paused += w->http.paused;
	g->http.addrs += w->http.addrs;
	g->http.body_bytes += w->http.body_bytes;
	g->http.unsent_bytes += w->http.unsent_bytes;
	if (w->http.unsent_max > g->http.unsent_max)
		g->http.unsent_max = w->http.unsent_max;
	g->http.refused_max_conns += w->http.refused_max_conns;
	g->http.refused_per_addr += w->http.refused_per_addr;
	g->http.rate_limited += w->http.rate_limited;
	g->http.body_budget_refused += w->http.body_budget_refused;
	g->http.backpressure_pauses += w->http.backpressure_pauses;
	g->http.responses_queued += w->http.responses_queued;
	g->http.timeout_head += w->http.timeout_head;
	g->http.timeout_body += w->http.timeout_body;
	g->http.timeout_idle += w->http.timeout_idle;
	g->http.timeout_write += w->http.timeout_write;
	g->meters.entries += w->meters.entries;
	g->meters.unknown += w->meters.unknown;
	g->meters.queries += w->meters.queries;
	g->meters.serials += w->meters.serials;
}

/* Every worker's counts into t, and the other workers' published gauges into g (ours are live). */
static void
total(struct block *t, struct met_gauges *g)
{
	for (int k = 0; k < sh->nworkers; k++) {
		struct block *b = &sh->w[k];

		for (int r = 0; r < RT_COUNT; r++)
			for (int st = 0; st < MAX_STATUS; st++)
				t->requests[r][st] += READ(b->requests[r][st]);
		t->accepted += READ(b->accepted);
		t->replayed += READ(b->replayed);
		t->rewritten += READ(b->rewritten);
		t->verify_sigs += READ(b->verify_sigs);
		t->verify_batches += READ(b->verify_batches);
		t->verify_ns += READ(b->verify_ns);
		t->verify_fallbacks += READ(b->verify_fallbacks);
		for (int i = 0; i < MAX_REASONS && __atomic_load_n(&b->reasons[i].used, __ATOMIC_ACQUIRE); i++) {
			int j = 0;

			while (j < MAX_REASONS && t->reasons[j].used && strcmp(t->reasons[j].name, b->reasons[i].name) != 0)
				j++;
			if (j == MAX_REASONS)
				continue;
			if (!t->reasons[j].used) {
				memcpy(t->reasons[j].name, b->reasons[i].name, sizeof(t->reasons[j].name));
				t->reasons[j].used = 1;
			}
			t->reasons[j].n += READ(b->reasons[i].n);
		}
		add_hist(&t->lat, &b->lat);
		add_hist(&t->group, &b->group);
		add_hist(&t->batch, &b->batch);
		if (k != self) {
			struct met_gauges w;

			copy_words(&w, &b->gauges, sizeof(w));
			add_gauges(g, &w);
		}
	}
}

char *
met_render(const struct met_gauges *own, size_t *len)
{
	struct out o = { malloc(8192), 0, 8192, 0 };
	struct block *t = calloc(1, sizeof(*t));
	struct met_gauges gs = *own, *g = &gs;

	if (o.p == NULL || t == NULL) {
		free(o.p);
		free(t);
		return NULL;
	}
	total(t, g);
	if (sh->nworkers > 1) {
		g->ws_up = READ(sh->ws_up);
		g->ws_restarts = READ(sh->ws_restarts);
	}
	put(&o, "# HELP ingestd_http_requests_total HTTP requests by route and status.\n"
	    "# TYPE ingestd_http_requests_total counter\n");
	for (int r = 0; r < RT_COUNT; r++)
		for (int s = 0; s < MAX_STATUS; s++)
			if (t->requests[r][s])
				put(&o, "ingestd_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route_name((enum route)r), s,
				    (unsigned long long)t->requests[r][s]);
	put(&o, "# HELP ingestd_readings_accepted_total Readings committed (201).\n"
	    "# TYPE ingestd_readings_accepted_total counter\ningestd_readings_accepted_total %llu\n",
	    (unsigned long long)t->accepted);
	put(&o, "# HELP ingestd_readings_replayed_total Identical readings posted again (200, nothing stored).\n"
	    "# TYPE ingestd_readings_replayed_total counter\ningestd_readings_replayed_total %llu\n",
	    (unsigned long long)t->replayed);
	put(&o, "# HELP ingestd_readings_rejected_total Readings rejected, by reason.\n"
	    "# TYPE ingestd_readings_rejected_total counter\n");
	for (int i = 0; i < MAX_REASONS && t->reasons[i].used; i++)
		put(&o, "ingestd_readings_rejected_total{reason=\"%s\"} %llu\n", t->reasons[i].name,
		    (unsigned long long)t->reasons[i].n);
	put_hist(&o, "ingestd_store_latency_seconds", "Time from queueing a reading to its commit answer.", &h_lat, t, 1e-6);
	put_hist(&o, "ingestd_group_commit_rows", "Readings per group-commit INSERT.", &h_group, t, 1);
	metric(&o, "ingestd_group_commit_rewrites_total", "counter",
	    "Group INSERTs rolled back by a reading in the way or a deadlock, written again with ON CONFLICT DO NOTHING.",
	    t->rewritten);
	put_hist(&o, "ingestd_batch_request_readings", "Readings per batch request.", &h_batch, t, 1);
	metric(&o, "ingestd_signatures_checked_total", "counter",
	    "Meter signatures checked (rejected ones too), gathered over each event-loop turn into batches.", t->verify_sigs);
	metric(&o, "ingestd_signature_batches_total", "counter", "Batches those signatures were checked in.",
	    t->verify_batches);
	metric(&o, "ingestd_signature_batch_fallbacks_total", "counter",
	    "Batches that held a signature that does not verify, so each of their signatures was checked alone.",
	    t->verify_fallbacks);
	put(&o, "# HELP ingestd_signature_check_cpu_seconds_total CPU time of those checks.\n"
	    "# TYPE ingestd_signature_check_cpu_seconds_total counter\n"
	    "ingestd_signature_check_cpu_seconds_total %llu.%09llu\n",
	    (unsigned long long)(t->verify_ns / 1000000000), (unsigned long long)(t->verify_ns % 1000000000));
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
	metric(&o, "ingestd_http_responses_queued_total", "counter",
	    "Responses the socket did not take at once (the client was not reading), queued to be sent.",
	    g->http.responses_queued);
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
	free(t);
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	*len = o.n;
	return o.p;
}
