/* httpd.c: HTTP/1.1 over bufferevents: one request at a time per connection, keep-alive, lingering close. */
#include "httpd.h"
#include "ts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum conn_state {
	CS_HEAD,    /* reading the request line and headers */
	CS_BODY,    /* reading Content-Length bytes */
	CS_HANDLER, /* the handler owns the request; reading paused */
	CS_CLOSING, /* flushing the last response, then close */
	CS_LINGER,  /* write side shut, discarding input for a moment so the client reads our reply */
};

struct httpd_conn {
	struct httpd *srv;
	struct bufferevent *bev;
	enum conn_state state;
	struct httpd_req *req;
	bool keepalive;
	bool linger; /* after the last response, linger instead of closing at once */
	bool expect100; /* the client waits for "100 Continue" before sending the body */
	size_t body_limit;
	struct httpd_conn *prev, *next;
};

struct httpd {
	struct event_base *base;
	struct evconnlistener *lis;
	struct httpd_cbs cbs;
	struct httpd_limits lim;
	struct httpd_conn *conns;
	size_t nconns, inflight;
	bool draining;
	uint32_t boot;
	uint64_t counter;
	time_t date_sec;
	char date[64];
};

int64_t
httpd_now_us(void)
{
	return ts_mono_us();
}

const char *
httpd_status_text(int s)
{
	switch (s) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static void req_free(struct httpd_req *r);

static void
conn_free(struct httpd_conn *c)
{
	struct httpd *h = c->srv;

	if (c->req != NULL) {
		if (c->state == CS_HANDLER)
			c->req->conn = NULL; /* the handler still owns it and will reply into the void */
		else
			req_free(c->req);
	}
	bufferevent_free(c->bev);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nconns--;
	free(c);
}

static void
req_free(struct httpd_req *r)
{
	if (r == NULL)
		return;
	free(r->path);
	free(r->content_type);
	if (r->authorization != NULL) {
		explicit_bzero(r->authorization, strlen(r->authorization));
		free(r->authorization);
	}
	free(r->body);
	free(r);
}

static const char *
date_header(struct httpd *h)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != h->date_sec) {
		h->date_sec = now;
		gmtime_r(&now, &tm);
		strftime(h->date, sizeof(h->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	}
	return h->date;
}

static void
write_reply(struct httpd_conn *c, struct httpd_req *r, int status, const char *ctype, const char *headers,
    const char *body, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\n"
	    "X-Request-Id: %s\r\n%s%s\r\n", status, httpd_status_text(status), date_header(c->srv), ctype, len,
	    r ? r->request_id : "-", headers ? headers : "", c->keepalive ? "" : "Connection: close\r\n");
	evbuffer_add(out, body, len);
}

/* Arms reading for the next request, or closes after the write drains. */
static void
after_reply(struct httpd_conn *c)
{
	struct timeval tv = { c->srv->lim.idle_timeout_secs, 0 };

	if (c->srv->draining)
		c->keepalive = false;
	if (!c->keepalive) {
		c->state = CS_CLOSING;
		bufferevent_disable(c->bev, EV_READ);
		bufferevent_enable(c->bev, EV_WRITE);
		return;
	}
	c->state = CS_HEAD;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
	/* Input may already hold the next (pipelined) request: look at it from the loop. */
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* httpd's own error replies, before a handler has the request. */
static void
local_error(struct httpd_conn *c, int status, const char *code, const char *msg, bool close)
{
	struct httpd *h = c->srv;
	struct httpd_req tmp, *r = c->req;
	char body[512];
	size_t n;

	if (r == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		snprintf(tmp.request_id, sizeof(tmp.request_id), "%08x%012llx", h->boot,
		    (unsigned long long)++h->counter);
		tmp.start_us = httpd_now_us();
		r = &tmp;
	}
	n = h->cbs.error_body(r, status, code, msg, body, sizeof(body));
	if (close) {
		c->keepalive = false;
		c->linger = true;
	}
	write_reply(c, r, status, "application/json", NULL, body, n);
	if (h->cbs.replied)
		h->cbs.replied(r, status, h->cbs.arg);
	if (c->req != NULL) {
		req_free(c->req);
		c->req = NULL;
	}
	after_reply(c);
}

void
httpd_reply(struct httpd_req *r, int status, const char *headers, const char *body, size_t len)
{
	httpd_reply_ct(r, status, "application/json", headers, body, len);
}

void
httpd_reply_ct(struct httpd_req *r, int status, const char *ctype, const char *headers, const char *body, size_t len)
{
	struct httpd_conn *c = r->conn;
	struct httpd *h = r->srv;

	h->inflight--;
	if (h->cbs.replied)
		h->cbs.replied(r, status, h->cbs.arg);
	if (c != NULL) {
		write_reply(c, r, status, ctype, headers, body, len);
		c->req = NULL;
		after_reply(c);
	}
	req_free(r);
}

static bool
tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static bool
has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= n; i++)
		if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
		    (i + tl == n || v[i + tl] == ' ' || v[i + tl] == ','))
			return true;
	return false;
}

/*
 * Parses the head in s[0..n) (without the final CRLF CRLF) into c->req.
 * Returns 0, or an HTTP status for the error (with *code set).
 */
static int
parse_head(struct httpd_conn *c, const char *s, size_t n, const char **code)
{
	struct httpd_req *r = c->req;
	const char *end = s + n, *eol, *sp1, *sp2, *q;
	bool http10, have_cl = false, conn_close = false, conn_keep = false, expect = false;

	*code = "bad_request";
	eol = memmem(s, n, "\r\n", 2);
	if (eol == NULL)
		eol = end;
	sp1 = memchr(s, ' ', (size_t)(eol - s));
	if (sp1 == NULL || sp1 == s || sp1 - s >= (ptrdiff_t)sizeof(r->method_text))
		return 400;
	for (const char *p = s; p < sp1; p++)
		if (!tchar((unsigned char)*p))
			return 400;
	memcpy(r->method_text, s, (size_t)(sp1 - s));
	r->method_text[sp1 - s] = '\0';
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
		return 400;
	for (const char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 400;
	if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return *code = "http_version_not_supported", 505;
	if (sp2[8] == '0')
		http10 = true;
	else if (sp2[8] == '1')
		http10 = false;
	else
		return *code = "http_version_not_supported", 505;
	if ((r->path = dupn(sp1 + 1, (size_t)(sp2 - sp1 - 1))) == NULL)
		return *code = "out_of_memory", 503;
	if ((q = strchr(r->path, '?')) != NULL) {
		r->path[q - r->path] = '\0';
		r->query = r->path + (q - r->path) + 1;
	}
	if (strcmp(r->method_text, "GET") == 0)
		r->method = HM_GET;
	else if (strcmp(r->method_text, "POST") == 0)
		r->method = HM_POST;
	else if (strcmp(r->method_text, "PATCH") == 0)
		r->method = HM_PATCH;
	else if (strcmp(r->method_text, "HEAD") == 0)
		r->method = HM_HEAD;
	else if (strcmp(r->method_text, "PUT") == 0)
		r->method = HM_PUT;
	else if (strcmp(r->method_text, "DELETE") == 0)
		r->method = HM_DELETE;
	for (const char *l = eol + 2; l < end; l = eol + 2) {
		const char *colon, *v, *ve;
		size_t nl;

		eol = memmem(l, (size_t)(end - l), "\r\n", 2);
		if (eol == NULL)
			eol = end;
		colon = memchr(l, ':', (size_t)(eol - l));
		if (colon == NULL || colon == l)
			return 400; /* also obs-fold continuation lines */
		for (const char *p = l; p < colon; p++)
			if (!tchar((unsigned char)*p))
				return 400;
		nl = (size_t)(colon - l);
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		for (const char *p = v; p < ve; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t')
				return 400;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(l, name, nl) == 0)
		if (IS("content-length")) {
			uint64_t cl = 0;

			if (ve == v || ve - v > 15)
				return *code = "bad_content_length", 400;
			for (const char *p = v; p < ve; p++) {
				if (*p < '0' || *p > '9')
					return *code = "bad_content_length", 400;
				cl = cl * 10 + (uint64_t)(*p - '0');
			}
			if (have_cl && cl != r->content_length)
				return *code = "bad_content_length", 400;
			have_cl = true;
			r->content_length = cl;
			r->has_body = true;
		} else if (IS("transfer-encoding")) {
			return *code = "transfer_encoding_unsupported", 501;
		} else if (IS("connection")) {
			conn_close |= has_token(v, (size_t)(ve - v), "close");
			conn_keep |= has_token(v, (size_t)(ve - v), "keep-alive");
		} else if (IS("content-type")) {
			if (r->content_type != NULL)
				return 400;
			if ((r->content_type = dupn(v, (size_t)(ve - v))) == NULL)
				return *code = "out_of_memory", 503;
		} else if (IS("authorization")) {
			if (r->authorization != NULL)
				return 400;
			if ((r->authorization = dupn(v, (size_t)(ve - v))) == NULL)
				return *code = "out_of_memory", 503;
		} else if (IS("expect")) {
			if ((size_t)(ve - v) != 12 || strncasecmp(v, "100-continue", 12) != 0)
				return *code = "expectation_failed", 400;
			expect = true;
		}
#undef IS
	}
	c->keepalive = http10 ? conn_keep && !conn_close : !conn_close;
	c->expect100 = expect && !http10;
	return 0;
}

static struct httpd_req *
req_new(struct httpd_conn *c)
{
	struct httpd *h = c->srv;
	struct httpd_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->conn = c;
	r->srv = h;
	r->start_us = httpd_now_us();
	snprintf(r->request_id, sizeof(r->request_id), "%08x%012llx", h->boot, (unsigned long long)++h->counter);
	return r;
}

/* Returns true when the connection can go on processing input. */
static bool
read_head(struct httpd_conn *c)
{
	struct httpd *h = c->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr p;
	size_t avail, headlen;
	const char *code;
	char *head;
	int st;

	/* Tolerate empty lines before a request (RFC 9112 2.2). */
	while ((avail = evbuffer_get_length(in)) >= 2) {
		unsigned char two[2];

		evbuffer_copyout(in, two, 2);
		if (two[0] != '\r' || two[1] != '\n')
			break;
		evbuffer_drain(in, 2);
	}
	if (avail == 0)
		return false;
	p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos < 0) {
		if (avail > h->lim.max_header_bytes)
			local_error(c, 431, "headers_too_large", "request head too large", true);
		return false;
	}
	headlen = (size_t)p.pos + 4;
	if (headlen > h->lim.max_header_bytes) {
		local_error(c, 431, "headers_too_large", "request head too large", true);
		return false;
	}
	if ((c->req = req_new(c)) == NULL) {
		local_error(c, 503, "out_of_memory", "out of memory", true);
		return false;
	}
	head = (char *)evbuffer_pullup(in, (ev_ssize_t)headlen);
	st = parse_head(c, head, headlen - 4, &code);
	evbuffer_drain(in, headlen);
	if (st != 0) {
		local_error(c, st, code, st == 505 ? "only HTTP/1.0 and HTTP/1.1" :
		    st == 501 ? "transfer codings are not supported; send Content-Length" : "malformed request head",
		    true);
		return false;
	}
	c->body_limit = h->cbs.headers(c->req, h->cbs.arg);
	if (c->req->content_length > c->body_limit) {
		local_error(c, 413, "body_too_large", "request body exceeds the limit for this route", true);
		return false;
	}
	if (c->expect100) {
		c->expect100 = false;
		if (c->req->content_length > 0 && evbuffer_get_length(in) == 0)
			evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
	}
	c->state = CS_BODY;
	return true;
}

static bool
read_body(struct httpd_conn *c)
{
	struct httpd *h = c->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct httpd_req *r = c->req;
	size_t need = (size_t)r->content_length;

	if (evbuffer_get_length(in) < need)
		return false;
	if ((r->body = malloc(need + 1)) == NULL) {
		local_error(c, 503, "out_of_memory", "out of memory", true);
		return false;
	}
	evbuffer_remove(in, r->body, need);
	r->body[need] = '\0';
	r->body_len = need;
	c->state = CS_HANDLER;
	bufferevent_disable(c->bev, EV_READ);
	h->inflight++;
	h->cbs.request(r, h->cbs.arg);
	/* The handler may have replied already; after_reply re-arms reading either way. */
	return false;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;

	(void)bev;
	for (;;) {
		switch (c->state) {
		case CS_HEAD:
			if (!read_head(c))
				return;
			break;
		case CS_BODY:
			if (!read_body(c))
				return;
			break;
		case CS_LINGER:
			evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
			return;
		default:
			return;
		}
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;
	struct timeval tv = { 2, 0 };

	if (c->state != CS_CLOSING)
		return;
	if (!c->linger) {
		conn_free(c);
		return;
	}
	/* Closing with unread input would make the kernel send RST and the client might lose our reply. */
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	c->state = CS_LINGER;
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_enable(bev, EV_READ);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) &&
	    (c->state == CS_HANDLER || c->state == CS_CLOSING)) {
		/* The client finished sending (half-close): it still gets its answer, then we close. */
		c->keepalive = false;
		c->linger = false;
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct httpd *h = arg;
	struct httpd_conn *c;
	struct timeval tv = { h->lim.idle_timeout_secs, 0 };
	int one = 1;

	(void)lis;
	(void)salen;
	if (h->draining || h->nconns >= (size_t)h->lim.max_connections || (c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->srv = h;
	c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ);
}

struct httpd *
httpd_new(struct event_base *base, const char *listen, const struct httpd_limits *lim,
    const struct httpd_cbs *cbs, struct err *e)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256];
	const char *colon, *port;
	struct httpd *h;
	int rc;

	colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || colon[1] == '\0' || (size_t)(colon - listen) >= sizeof(host))
		return err_set(e, 0, "listen address %s: want host:port", listen), NULL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host) - 2);
		host[strlen(host) - 2] = '\0';
	}
	port = colon + 1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return err_set(e, 0, "listen address %s: %s", listen, gai_strerror(rc)), NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		freeaddrinfo(ai);
		return err_set(e, 0, "out of memory"), NULL;
	}
	h->base = base;
	h->cbs = *cbs;
	h->lim = *lim;
	h->boot = randombytes_random();
	h->lis = evconnlistener_new_bind(base, on_accept, h, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC, 1024, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (h->lis == NULL) {
		err_set(e, 0, "listen on %s: %s", listen, strerror(errno));
		free(h);
		return NULL;
	}
	return h;
}

void
httpd_set_limits(struct httpd *h, const struct httpd_limits *lim)
{
	h->lim = *lim;
}

void
httpd_shutdown(struct httpd *h)
{
	struct httpd_conn *c, *next;

	h->draining = true;
	if (h->lis != NULL) {
		evconnlistener_free(h->lis);
		h->lis = NULL;
	}
	for (c = h->conns; c != NULL; c = next) {
		next = c->next;
		c->keepalive = false;
		if (c->state == CS_HEAD && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			conn_free(c);
	}
}

size_t
httpd_in_flight(const struct httpd *h)
{
	return h->inflight;
}

size_t
httpd_connections(const struct httpd *h)
{
	return h->nconns;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->lis != NULL)
		evconnlistener_free(h->lis);
	while (h->conns != NULL)
		conn_free(h->conns);
	free(h);
}
