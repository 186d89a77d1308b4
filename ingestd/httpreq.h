/* httpreq.h: one HTTP request as httpd hands it to a handler (the parser fills it, httpd owns it). */
#ifndef INGESTD_HTTPREQ_H
#define INGESTD_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	enum httpd_method method; /* a router may turn HM_HEAD into HM_GET: head_only still holds the body back */
	bool head_only;           /* HEAD: the reply carries the headers of the body, not the body */
	char method_text[16];
	char *path;          /* without the query; not percent-decoded */
	char *query;         /* after '?', or NULL */
	char *content_type;  /* header value or NULL */
	char *authorization; /* header value or NULL (a secret: never log it) */
	bool has_body;       /* Content-Length or chunked present */
	bool chunked;        /* Transfer-Encoding: chunked */
	uint64_t content_length; /* announced (Content-Length) or, once read, received (chunked) */
	char *body;          /* NUL-terminated copy of the body (len body_len) */
	size_t body_len;
	size_t body_cap;     /* bytes of the global body budget its body holds */
	size_t charged;      /* bytes of the budget its handler holds (httpd_charge) */
	char request_id[24];
	int64_t start_us;    /* monotonic */
	int route;           /* set by the router, for metrics */
	void *udata;         /* the handler's own state */
};

#endif
