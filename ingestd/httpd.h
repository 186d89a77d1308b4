/* httpd.h: a small HTTP/1.1 server on libevent bufferevents: keep-alive, deadlines, backpressure, body limits. */
#ifndef INGESTD_HTTPD_H
#define INGESTD_HTTPD_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "httpreq.h"
#include "ratelim.h"

struct httpd;
struct httpd_conn;

struct httpd_cbs {
	/*
	 * Called once the head is read: route the request (set req->route) and
	 * return the largest body allowed for it. A larger body is answered with
	 * 413 without calling `request`.
	 */
	size_t (*headers)(struct httpd_req *req, void *arg);
	/* Called with the complete request; must lead to exactly one httpd_reply(). */
	void (*request)(struct httpd_req *req, void *arg);
	/* Called after each reply (including httpd's own 4xx) for metrics; may be NULL. */
	void (*replied)(const struct httpd_req *req, int status, void *arg);
	/* Builds an error body {"error":{...},"request_id"} into buf (httpd's own 4xx/5xx). */
	size_t (*error_body)(const struct httpd_req *req, int status, const char *code, const char *msg,
	    char *buf, size_t bufsz);
	void *arg;
};

/* Every limit has a configuration key (ingestd/conf.c); 0 is never "unlimited". */
struct httpd_limits {
	int max_connections;
	int max_conns_per_addr;     /* open connections per client address (IPv4, IPv6 /64) */
	int addr_rate_per_sec;      /* requests per second per client address, checked on the head (429) */
	int addr_rate_burst;
	int header_timeout_secs;    /* total time for a request head (from accept, or from its first byte) */
	int body_timeout_secs;      /* total time for a request body after its head */
	int idle_timeout_secs;      /* keep-alive idle between requests; also a response left unread this long */
	size_t max_header_bytes;
	size_t write_high_water;    /* unsent bytes above which a connection is not read */
	int max_pipelined;          /* unsent responses above which a connection is not read */
	size_t body_budget;         /* request body bytes buffered at once, all connections (503 beyond) */
	int retry_after_secs;       /* Retry-After of httpd's own 503 */
};

/* Counters and gauges for /metrics. */
struct httpd_stats {
	size_t connections, in_flight, paused, addrs, body_bytes;
	size_t unsent_bytes, unsent_max; /* response bytes not yet taken by the kernel: in all, and on the worst connection */
	uint64_t refused_max_conns, refused_per_addr, rate_limited, body_budget_refused, backpressure_pauses;
	uint64_t timeout_head, timeout_body, timeout_idle, timeout_write;
	uint64_t responses_queued; /* responses the socket did not take at once (the client was not reading) */
};

/*
 * A listening socket on "host:port" (IPv4, [IPv6] or name), non-blocking; with reuseport, one of several
 * sockets on the same address between which the kernel spreads new connections (SO_REUSEPORT: one per
 * worker). -1 with e filled on failure.
 */
int httpd_listen(const char *listen, bool reuseport, struct err *e) WUR;
/*
 * Serves the listening socket fd (which it owns from here on, failure included), taking per-address request
 * rates from rl (shared by the workers; not owned, it must outlive the server). NULL with e filled.
 */
struct httpd *httpd_new(struct event_base *base, int fd, const struct httpd_limits *lim, const struct httpd_cbs *cbs,
    struct ratelim *rl, struct err *e) WUR;
void httpd_free(struct httpd *h);
/* New limits apply to what happens next (deadlines already armed keep theirs). */
void httpd_set_limits(struct httpd *h, const struct httpd_limits *lim);

/*
 * Sends the response and releases req. `headers` is extra header lines, each
 * ending in "\r\n" (e.g. "Retry-After: 1\r\n"), or NULL. The body is copied
 * (and left out for HEAD).
 */
void httpd_reply(struct httpd_req *req, int status, const char *headers, const char *body, size_t len);
/*
 * Counts `bytes` that the handler keeps for this request (e.g. a batch's
 * per-reading state) against the body budget until the reply. False when the
 * budget cannot take them: answer 503 with Retry-After.
 */
bool httpd_charge(struct httpd_req *req, size_t bytes) WUR;
/* The same with another Content-Type (e.g. Prometheus text). */
void httpd_reply_ct(struct httpd_req *req, int status, const char *ctype, const char *headers, const char *body,
    size_t len);

/*
 * Stops accepting and lets every connection end after its current response:
 * idle ones close once their output is written, the others after their reply.
 */
void httpd_shutdown(struct httpd *h);
/* Requests received and not yet replied to. */
size_t httpd_in_flight(const struct httpd *h);
size_t httpd_connections(const struct httpd *h);
void httpd_stats(const struct httpd *h, struct httpd_stats *st);

int64_t httpd_now_us(void);

#endif
