/* httpd.h: a small HTTP/1.1 server on libevent bufferevents: keep-alive, body limits, JSON-only replies. */
#ifndef INGESTD_HTTPD_H
#define INGESTD_HTTPD_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct httpd;
struct httpd_conn;

enum httpd_method { HM_OTHER = 0, HM_GET, HM_HEAD, HM_POST, HM_PATCH, HM_PUT, HM_DELETE };

/*
 * One request. httpd owns it; it stays valid until the handler calls
 * httpd_reply() exactly once (possibly much later, from another callback).
 * If the client goes away first, the reply is simply dropped.
 */
struct httpd_req {
	struct httpd_conn *conn; /* NULL once the client has gone */
	struct httpd *srv;
	enum httpd_method method;
	char method_text[16];
	char *path;          /* without the query; not percent-decoded */
	char *query;         /* after '?', or NULL */
	char *content_type;  /* header value or NULL */
	char *authorization; /* header value or NULL (a secret: never log it) */
	bool has_body;       /* Content-Length or chunked present */
	uint64_t content_length;
	char *body;          /* NUL-terminated copy of the body (len body_len) */
	size_t body_len;
	char request_id[24];
	int64_t start_us;    /* monotonic */
	int route;           /* set by the router, for metrics */
	void *udata;         /* the handler's own state */
};

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

struct httpd_limits {
	int max_connections;
	int idle_timeout_secs;   /* keep-alive idle and slow-client timeout */
	size_t max_header_bytes;
};

/* Listens on "host:port" (IPv4, [IPv6] or name). NULL with e filled on failure. */
struct httpd *httpd_new(struct event_base *base, const char *listen, const struct httpd_limits *lim,
    const struct httpd_cbs *cbs, struct err *e);
void httpd_free(struct httpd *h);
void httpd_set_limits(struct httpd *h, const struct httpd_limits *lim);

/*
 * Sends the response and releases req. `headers` is extra header lines, each
 * ending in "\r\n" (e.g. "Retry-After: 1\r\n"), or NULL. The body is copied.
 */
void httpd_reply(struct httpd_req *req, int status, const char *headers, const char *body, size_t len);
/* The same with another Content-Type (e.g. Prometheus text). */
void httpd_reply_ct(struct httpd_req *req, int status, const char *ctype, const char *headers, const char *body,
    size_t len);

/* Stops accepting, closes idle connections and closes the others after their current response. */
void httpd_shutdown(struct httpd *h);
/* Requests received and not yet replied to. */
size_t httpd_in_flight(const struct httpd *h);
size_t httpd_connections(const struct httpd *h);

const char *httpd_status_text(int status);
int64_t httpd_now_us(void);

#endif
