/*
 * httpd.c: HTTP/1.1 over bufferevents: one request at a time per connection, a deadline for every phase,
 * output backpressure, per-address limits and a global budget for buffered request bodies.
 */
#include "httpd.h"
#include "httpparse.h"
#include "log.h"
#include "peers.h"
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LINGER_MS 2000
#define CHUNK_LINE_MAX 1024 /* a chunk-size line with its extensions */
#define SWEEP_MS 5000       /* how often idle per-address entries are dropped */
#define ACCEPT_PAUSE_MS 100 /* out of descriptors: stop accepting this long */

/*
 * The connection's state machine; conn_set_state() is the one place it changes and it arms the
 * deadline that belongs to the new state:
 *
 *   IDLE --first byte--> HEAD --head read--> BODY --body read--> HANDLER --reply--> IDLE | PAUSED | CLOSING
 *   PAUSED --output written--> IDLE;  CLOSING --output written--> LINGER | freed;  LINGER --2 s--> freed
 */
enum conn_state {
	CS_IDLE,    /* between requests (keep-alive idle deadline; before the first request: the head deadline) */
	CS_HEAD,    /* reading the request line and headers (head deadline) */
	CS_BODY,    /* reading the body, Content-Length bytes or chunks (body deadline) */
	CS_HANDLER, /* the handler owns the request; not reading */
	CS_PAUSED,  /* too much unsent output: not reading until it is written (write timeout) */
	CS_CLOSING, /* writing the last response, then close (write timeout) */
	CS_LINGER,  /* write side shut, discarding input for a moment so the client reads our reply */
};

enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER };

enum close_mode { KEEP_OPEN, CLOSE_LINGER, CLOSE_NOW };

struct httpd_conn {
	struct httpd *srv;
	struct bufferevent *bev;
	struct event *timer; /* the current state's deadline */
	struct peer *peer;
	enum conn_state state;
	struct httpd_req *req;
	bool keepalive;
	bool linger;    /* after the last response, linger instead of closing at once */
	bool expect100; /* the client waits for "100 Continue" before sending the body */
	bool eof;       /* the client has finished sending: answer what it sent, then close */
	bool first;     /* no request head read yet: the head deadline runs from accept */
	int64_t head_deadline_us;
	size_t body_limit;
	int unflushed; /* responses added to the output since it was last empty */
	enum chunk_state ch;
	uint64_t ch_left;
	size_t trailer_bytes;
	struct httpd_conn *prev, *next;
};

struct httpd {
	struct event_base *base;
	struct evconnlistener *lis;
	struct event *sweep, *accept_pause;
	struct peers *peers;
	struct httpd_cbs cbs;
	struct httpd_limits lim;
	struct httpd_conn *conns;
	struct httpd_stats st; /* connections, in_flight, paused, body_bytes kept live here */
	bool draining;
	uint32_t boot;
	uint64_t counter;
	int64_t accept_warned_us;
	time_t date_sec;
	char date[64];
};

int64_t
httpd_now_us(void)
{
	return ts_mono_us();
}

static void req_free(struct httpd_req *r);
static void on_read(struct bufferevent *bev, void *arg);

static void
conn_set_state(struct httpd_conn *c, enum conn_state st)
{
	const struct httpd_limits *l = &c->srv->lim;
	int64_t now = httpd_now_us(), ms = 0;
	bool arm = true;

	if (c->state == CS_PAUSED)
		c->srv->st.paused--;
	if (st == CS_PAUSED)
		c->srv->st.paused++;
	c->state = st;
	evtimer_del(c->timer);
	switch (st) {
	case CS_IDLE:
		ms = c->first ? (c->head_deadline_us - now) / 1000 : (int64_t)l->idle_timeout_secs * 1000;
		break;
	case CS_HEAD:
		if (!c->first)
			c->head_deadline_us = now + (int64_t)l->header_timeout_secs * 1000000;
		ms = (c->head_deadline_us - now) / 1000;
		break;
	case CS_BODY:
		ms = (int64_t)l->body_timeout_secs * 1000;
		break;
	case CS_LINGER:
		ms = LINGER_MS;
		break;
	case CS_HANDLER:
	case CS_PAUSED:
	case CS_CLOSING:
		arm = false; /* no deadline of ours: the handler has its own, unsent output the write timeout */
		break;
	}
	if (arm) {
		struct timeval tv;

		if (ms < 0)
			ms = 0; /* already past: fire from the loop */
		tv = (struct timeval){ (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
		evtimer_add(c->timer, &tv);
	}
}

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
	if (c->state == CS_PAUSED)
		h->st.paused--;
	if (c->peer != NULL)
		peer_conn_del(c->peer);
	event_free(c->timer);
	bufferevent_free(c->bev);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->st.connections--;
	free(c);
}

/*
 * Closes once what is in the output has been written (at once when nothing is). With linger, the
 * write side is shut first and input discarded a moment: closing with unread input makes the kernel
 * send RST, and the client could lose the answers it has not read yet.
 */
static void
close_after_flush(struct httpd_conn *c, bool linger)
{
	c->keepalive = false;
	c->linger = linger;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	conn_set_state(c, CS_CLOSING);
}

static void
req_free(struct httpd_req *r)
{
	if (r == NULL)
		return;
	r->srv->st.body_bytes -= r->body_cap + r->charged;
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

/*
 * Hands a response to the kernel. When nothing of the connection's is queued (a client that reads its
 * answers), it goes straight to the socket: queued, a bufferevent would have epoll report the socket
 * writable, write, and stop asking, which is two epoll_ctl calls and one more loop turn per response
 * (strace on the bench: 2.25 epoll_ctl per request). What the socket does not take now is queued behind,
 * under the same limits and write timeout as before; so is everything while the connection is closing
 * (its close waits for the output to drain) or while earlier answers are still queued (order).
 * A response to HEAD has the headers of the body it would have had, and no body (RFC 9110 9.3.2).
 */
#define HEAD_FMT "HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n%s%s\r\n"
#define HEAD_ARGS status, httpp_status_text(status), date_header(h), ctype, len, r ? r->request_id : "-", \
	headers ? headers : "", c->keepalive ? "" : "Connection: close\r\n"

static void
write_reply(struct httpd_conn *c, struct httpd_req *r, int status, const char *ctype, const char *headers,
    const char *body, size_t len)
{
	struct httpd *h = c->srv;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char head[1024];
	size_t blen = r != NULL && r->head_only ? 0 : len, n, sent = 0;
	int k = snprintf(head, sizeof(head), HEAD_FMT, HEAD_ARGS);

	if (k < 0 || (size_t)k >= sizeof(head)) {
		/* extra headers longer than ours ever are: all of it queued, the way it always was */
		evbuffer_add_printf(out, HEAD_FMT, HEAD_ARGS);
		evbuffer_add(out, body, blen);
		return;
	}
	n = (size_t)k;
	if (c->keepalive && !h->draining && evbuffer_get_length(out) == 0) {
		struct iovec iov[2] = { { head, n }, { (void *)(uintptr_t)body, blen } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = blen > 0 ? 2 : 1 };
		ssize_t w = sendmsg(bufferevent_getfd(c->bev), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		/* A failure (the client went away) is left to the bufferevent: it writes what is queued, and reports it. */
		sent = w > 0 ? (size_t)w : 0;
		if (sent < n + blen)
			h->st.responses_queued++;
	}
	if (sent < n)
		evbuffer_add(out, head + sent, n - sent);
	sent = sent > n ? sent - n : 0;
	if (sent < blen)
		evbuffer_add(out, body + sent, blen - sent);
}
#undef HEAD_FMT
#undef HEAD_ARGS

/* After a response: read the next request, wait for the output to drain, or close once it has. */
static void
after_reply(struct httpd_conn *c)
{
	struct httpd *h = c->srv;

	if (h->draining) {
		c->keepalive = false;
		c->linger = true; /* the client may have sent more: do not let a RST eat this answer */
	}
	/* responses queued since the output was last empty: none when this one went straight to the kernel */
	c->unflushed = evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 ? 0 : c->unflushed + 1;
	if (!c->keepalive) {
		bufferevent_disable(c->bev, EV_READ);
		conn_set_state(c, CS_CLOSING);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > h->lim.write_high_water ||
	    c->unflushed >= h->lim.max_pipelined) {
		/* A client that sends without reading gets no more answers queued than this. */
		h->st.backpressure_pauses++;
		bufferevent_disable(c->bev, EV_READ);
		conn_set_state(c, CS_PAUSED);
		return;
	}
	conn_set_state(c, CS_IDLE);
	if (!c->eof)
		bufferevent_enable(c->bev, EV_READ);
	/* Input may already hold the next (pipelined) request: look at it from the loop. */
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void
new_request_id(struct httpd *h, char id[24])
{
	snprintf(id, 24, "%08x%012llx", h->boot, (unsigned long long)++h->counter);
}

/* httpd's own error replies, before a handler has the request. */
static void
local_error(struct httpd_conn *c, int status, const char *code, const char *msg, enum close_mode close,
    const char *headers)
{
	struct httpd *h = c->srv;
	struct httpd_req tmp, *r = c->req;
	char body[512];
	size_t n;

	if (r == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.srv = h;
		new_request_id(h, tmp.request_id);
		tmp.start_us = httpd_now_us();
		r = &tmp;
	}
	n = h->cbs.error_body(r, status, code, msg, body, sizeof(body));
	if (close != KEEP_OPEN) {
		c->keepalive = false;
		c->linger = close == CLOSE_LINGER;
	}
	write_reply(c, r, status, "application/json", headers, body, n);
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

	h->st.in_flight--;
	if (h->cbs.replied)
		h->cbs.replied(r, status, h->cbs.arg);
	if (c != NULL) {
		write_reply(c, r, status, ctype, headers, body, len);
		c->req = NULL;
		after_reply(c);
	}
	req_free(r);
}

bool
httpd_charge(struct httpd_req *r, size_t bytes)
{
	struct httpd *h = r->srv;

	if (h->st.body_bytes + bytes > h->lim.body_budget) {
		h->st.body_budget_refused++;
		return false;
	}
	h->st.body_bytes += bytes;
	r->charged += bytes;
	return true;
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
	new_request_id(h, r->request_id);
	return r;
}

static void
retry_header(const struct httpd *h, char *buf, size_t n, int secs)
{
	snprintf(buf, n, "Retry-After: %d\r\n", secs > 0 ? secs : h->lim.retry_after_secs);
}

/* Reserves `more` bytes of the global body budget for r and grows its body buffer to hold them. */
static int
body_grow(struct httpd_conn *c, size_t need)
{
	struct httpd *h = c->srv;
	struct httpd_req *r = c->req;
	size_t cap = r->body_cap, ncap;
	char *nb;

	if (need + 1 <= cap)
		return 0;
	ncap = cap * 2 > need + 1 ? cap * 2 : need + 1;
	if (ncap > c->body_limit + 1)
		ncap = c->body_limit + 1;
	if (h->st.body_bytes + (ncap - cap) > h->lim.body_budget) {
		char hdr[48];

		h->st.body_budget_refused++;
		retry_header(h, hdr, sizeof(hdr), 0);
		local_error(c, 503, "server_busy", "too many request bodies in progress; retry later", CLOSE_LINGER, hdr);
		return -1;
	}
	if ((nb = realloc(r->body, ncap)) == NULL) {
		local_error(c, 503, "out_of_memory", "out of memory", CLOSE_LINGER, "Retry-After: 1\r\n");
		return -1;
	}
	r->body = nb;
	h->st.body_bytes += ncap - cap;
	r->body_cap = ncap;
	return 0;
}

/* Returns true when the connection can go on processing input. */
static bool
read_head(struct httpd_conn *c)
{
	struct httpd *h = c->srv;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr p;
	size_t avail = evbuffer_get_length(in), headlen;
	struct http_head hi;
	struct apierr e;
	char *head, hdr[48];
	int st, wait;

	p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos < 0) {
		if (avail > h->lim.max_header_bytes)
			local_error(c, 431, "headers_too_large", "request head too large", CLOSE_LINGER, NULL);
		else if (c->eof)
			close_after_flush(c, false);
		return false;
	}
	headlen = (size_t)p.pos + 4;
	if (headlen > h->lim.max_header_bytes) {
		local_error(c, 431, "headers_too_large", "request head too large", CLOSE_LINGER, NULL);
		return false;
	}
	if ((c->req = req_new(c)) == NULL) {
		local_error(c, 503, "out_of_memory", "out of memory", CLOSE_LINGER, "Retry-After: 1\r\n");
		return false;
	}
	c->first = false;
	head = (char *)evbuffer_pullup(in, (ev_ssize_t)headlen);
	st = httpp_head(c->req, head, headlen - 4, &hi, &e);
	evbuffer_drain(in, headlen);
	if (st < 0) {
		local_error(c, e.status, e.code, e.msg, CLOSE_LINGER, NULL);
		return false;
	}
	c->keepalive = hi.keepalive;
	c->expect100 = hi.expect100;
	/* Per-address rate, before anything that costs (routing, bodies, signatures, the database). */
	if (!peer_rate_take(h->peers, c->peer, httpd_now_us(), h->lim.addr_rate_per_sec, h->lim.addr_rate_burst, &wait)) {
		h->st.rate_limited++;
		retry_header(h, hdr, sizeof(hdr), wait);
		local_error(c, 429, "rate_limited", "too many requests from this address", c->req->has_body ?
		    CLOSE_LINGER : KEEP_OPEN, hdr);
		return false;
	}
	c->body_limit = h->cbs.headers(c->req, h->cbs.arg);
	if (!c->req->chunked && c->req->content_length > c->body_limit) {
		local_error(c, 413, "body_too_large", "request body exceeds the limit for this route", CLOSE_LINGER, NULL);
		return false;
	}
	/* A Content-Length body is reserved whole now; a chunked one chunk by chunk. */
	if (c->req->has_body && !c->req->chunked && body_grow(c, (size_t)c->req->content_length) < 0)
		return false;
	if (c->expect100) {
		c->expect100 = false;
		if ((c->req->chunked || c->req->content_length > 0) && evbuffer_get_length(in) == 0)
			evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
	}
	c->ch = CH_SIZE;
	c->trailer_bytes = 0;
	conn_set_state(c, CS_BODY);
	return true;
}

static void
dispatch(struct httpd_conn *c)
{
	struct httpd *h = c->srv;
	struct httpd_req *r = c->req;

	if (r->body != NULL) /* no body: handlers see NULL and body_len 0 */
		r->body[r->body_len] = '\0';
	/*
	 * Reading stays on while the handler runs (turning it off and on again cost two epoll_ctl per request):
	 * what a pipelining client sends meanwhile waits in the input, bounded by the read watermark, and is
	 * looked at after the reply; a client gone meanwhile is noticed and freed (its request replies into the
	 * void, see conn_free).
	 */
	conn_set_state(c, CS_HANDLER);
	h->st.in_flight++;
	h->cbs.request(r, h->cbs.arg);
	/* The handler may have replied already; after_reply re-arms reading either way. */
}

/* Copies up to `want` body bytes from the input; returns how many. */
static size_t
take_body(struct httpd_conn *c, struct evbuffer *in, uint64_t want)
{
	struct httpd_req *r = c->req;
	size_t n = evbuffer_get_length(in);

	if (n > want)
		n = (size_t)want;
	if (n > 0) {
		evbuffer_remove(in, r->body + r->body_len, n);
		r->body_len += n;
	}
	return n;
}

/* Chunked body (RFC 9112 7.1), decoded into r->body under the same limits as a Content-Length one. */
static bool
read_chunked(struct httpd_conn *c, struct evbuffer *in)
{
	struct httpd *h = c->srv;
	struct httpd_req *r = c->req;

	for (;;) {
		struct evbuffer_ptr p;
		unsigned char crlf[2];
		uint64_t size;
		char *line;

		switch (c->ch) {
		case CH_SIZE:
			p = evbuffer_search(in, "\r\n", 2, NULL);
			if (p.pos < 0 || p.pos > CHUNK_LINE_MAX) {
				if (evbuffer_get_length(in) > CHUNK_LINE_MAX || p.pos > CHUNK_LINE_MAX)
					local_error(c, 400, "bad_chunk", "chunk-size line too long", CLOSE_LINGER, NULL);
				return false;
			}
			line = (char *)evbuffer_pullup(in, p.pos + 2);
			if (!httpp_chunk_size(line, (size_t)p.pos, &size)) {
				local_error(c, 400, "bad_chunk", "malformed chunk-size line", CLOSE_LINGER, NULL);
				return false;
			}
			evbuffer_drain(in, (size_t)p.pos + 2);
			if (size == 0) {
				c->ch = CH_TRAILER;
				break;
			}
			if (size > c->body_limit - r->body_len) {
				local_error(c, 413, "body_too_large", "request body exceeds the limit for this route",
				    CLOSE_LINGER, NULL);
				return false;
			}
			if (body_grow(c, r->body_len + (size_t)size) < 0)
				return false;
			c->ch_left = size;
			c->ch = CH_DATA;
			break;
		case CH_DATA:
			c->ch_left -= take_body(c, in, c->ch_left);
			if (c->ch_left > 0)
				return false;
			c->ch = CH_DATA_END;
			break;
		case CH_DATA_END:
			if (evbuffer_get_length(in) < 2)
				return false;
			evbuffer_remove(in, crlf, 2);
			if (crlf[0] != '\r' || crlf[1] != '\n') {
				local_error(c, 400, "bad_chunk", "chunk data not followed by CRLF", CLOSE_LINGER, NULL);
				return false;
			}
			c->ch = CH_SIZE;
			break;
		case CH_TRAILER:
			/* Trailer fields are read and dropped, bounded like a head. */
			p = evbuffer_search(in, "\r\n", 2, NULL);
			if (p.pos < 0 || c->trailer_bytes + (size_t)p.pos > h->lim.max_header_bytes) {
				if (p.pos >= 0 || c->trailer_bytes + evbuffer_get_length(in) > h->lim.max_header_bytes)
					local_error(c, 431, "headers_too_large", "trailer section too large", CLOSE_LINGER, NULL);
				return false;
			}
			evbuffer_drain(in, (size_t)p.pos + 2);
			if (p.pos > 0) {
				c->trailer_bytes += (size_t)p.pos + 2;
				break;
			}
			if (body_grow(c, r->body_len) < 0) /* room for the NUL (also for an empty body) */
				return false;
			r->content_length = r->body_len;
			dispatch(c);
			return false;
		}
	}
}

static bool
read_body(struct httpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct httpd_req *r = c->req;

	if (r->chunked) {
		if (!read_chunked(c, in) && c->state == CS_BODY && c->eof)
			close_after_flush(c, false); /* the client stopped in the middle of its body */
		return false;
	}
	take_body(c, in, r->content_length - r->body_len);
	if (r->body_len < r->content_length) {
		if (c->eof)
			close_after_flush(c, false);
		return false;
	}
	dispatch(c);
	return false;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		switch (c->state) {
		case CS_IDLE:
			/* Tolerate empty lines before a request (RFC 9112 2.2). */
			while (evbuffer_get_length(in) >= 2) {
				unsigned char two[2];

				evbuffer_copyout(in, two, 2);
				if (two[0] != '\r' || two[1] != '\n')
					break;
				evbuffer_drain(in, 2);
			}
			if (evbuffer_get_length(in) == 0) {
				if (c->eof)
					close_after_flush(c, false);
				return;
			}
			conn_set_state(c, CS_HEAD);
			break;
		case CS_HEAD:
			if (!read_head(c))
				return;
			break;
		case CS_BODY:
			if (!read_body(c))
				return;
			break;
		case CS_LINGER:
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		case CS_HANDLER:
		case CS_PAUSED:
		case CS_CLOSING:
			return;
		}
	}
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;

	/* Called with the output empty (write low-water mark 0): every response so far is with the kernel. */
	c->unflushed = 0;
	switch (c->state) {
	case CS_PAUSED:
		conn_set_state(c, CS_IDLE);
		if (!c->eof)
			bufferevent_enable(bev, EV_READ);
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
		return;
	case CS_CLOSING:
		if (!c->linger) {
			conn_free(c);
			return;
		}
		/* Closing with unread input would make the kernel send RST and the client might lose our reply. */
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		conn_set_state(c, CS_LINGER);
		bufferevent_enable(bev, EV_READ);
		return;
	default:
		return;
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_conn *c = arg;
	struct httpd *h = c->srv;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		h->st.timeout_write++; /* our response sat unread for the idle timeout */
		conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->state != CS_LINGER) {
		/* The client finished sending (half-close): it still gets answers to what it sent, then we close. */
		c->eof = true;
		bufferevent_disable(c->bev, EV_READ);
		if (c->state == CS_IDLE || c->state == CS_HEAD || c->state == CS_BODY)
			on_read(c->bev, c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn *c = arg;
	struct httpd *h = c->srv;

	(void)fd;
	(void)what;
	switch (c->state) {
	case CS_IDLE:
		if (c->first)
			h->st.timeout_head++; /* connected and sent nothing */
		else
			h->st.timeout_idle++;
		conn_free(c);
		return;
	case CS_HEAD:
		h->st.timeout_head++;
		local_error(c, 408, "request_timeout", "the request head did not arrive in time", CLOSE_NOW, NULL);
		return;
	case CS_BODY:
		h->st.timeout_body++;
		local_error(c, 408, "request_timeout", "the request body did not arrive in time", CLOSE_NOW, NULL);
		return;
	case CS_LINGER:
		conn_free(c);
		return;
	case CS_HANDLER:
	case CS_PAUSED:
	case CS_CLOSING:
		return;
	}
}

static void
resume_accept(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;

	(void)fd;
	(void)what;
	if (h->lis != NULL)
		evconnlistener_enable(h->lis);
}

/* accept() failed (out of descriptors): stop accepting a moment instead of spinning on the ready socket. */
static void
on_accept_error(struct evconnlistener *lis, void *arg)
{
	struct httpd *h = arg;
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };
	int err = EVUTIL_SOCKET_ERROR();
	int64_t now = httpd_now_us();

	if (now - h->accept_warned_us > 10 * 1000000LL) {
		h->accept_warned_us = now;
		log_warn("http: accept failed; pausing new connections", "err=%s pause_ms=%d", strerror(err), ACCEPT_PAUSE_MS);
	}
	evconnlistener_disable(lis);
	evtimer_add(h->accept_pause, &tv);
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct httpd *h = arg;

	(void)fd;
	(void)what;
	peers_sweep(h->peers);
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct httpd *h = arg;
	struct httpd_conn *c;
	struct timeval wtv = { h->lim.idle_timeout_secs, 0 };
	struct peer *p;
	int one = 1;

	(void)lis;
	(void)salen;
	if (h->draining) {
		evutil_closesocket(fd);
		return;
	}
	if (h->st.connections >= (size_t)h->lim.max_connections) {
		h->st.refused_max_conns++;
		evutil_closesocket(fd);
		return;
	}
	if ((p = peers_get(h->peers, sa)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	if (peer_conns(p) >= h->lim.max_conns_per_addr) {
		h->st.refused_per_addr++;
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->srv = h;
	c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(h->base, on_deadline, c);
	if (c->bev == NULL || c->timer == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		if (c->timer != NULL)
			event_free(c->timer);
		free(c);
		return;
	}
	c->peer = p;
	peer_conn_add(p);
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->st.connections++;
	c->first = true;
	c->head_deadline_us = httpd_now_us() + (int64_t)h->lim.header_timeout_secs * 1000000;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* Unsent output times out; reading is governed by the state deadlines above. */
	bufferevent_set_timeouts(c->bev, NULL, &wtv);
	/* Read ahead at most about two heads: bodies are moved out of the input as they arrive. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, h->lim.max_header_bytes * 2);
	conn_set_state(c, CS_IDLE);
	bufferevent_enable(c->bev, EV_READ);
}

int
httpd_listen(const char *addr, bool reuseport, struct err *e)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256];
	const char *colon, *port;
	int rc, fd, one = 1;

	colon = strrchr(addr, ':');
	if (colon == NULL || colon == addr || colon[1] == '\0' || (size_t)(colon - addr) >= sizeof(host))
		return err_set(e, 0, "listen address %s: want host:port", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host) - 2);
		host[strlen(host) - 2] = '\0';
	}
	port = colon + 1;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return err_set(e, 0, "listen address %s: %s", addr, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		err_set(e, 0, "listen on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct httpd *
httpd_new(struct event_base *base, int fd, const struct httpd_limits *lim, const struct httpd_cbs *cbs, struct ratelim *rl,
    struct err *e)
{
	struct timeval sweep = { SWEEP_MS / 1000, 0 };
	struct httpd *h;

	if ((h = calloc(1, sizeof(*h))) == NULL || (h->peers = peers_new(rl)) == NULL) {
		free(h);
		close(fd);
		return err_set(e, 0, "out of memory"), NULL;
	}
	h->base = base;
	h->cbs = *cbs;
	h->lim = *lim;
	h->boot = randombytes_random();
	h->sweep = event_new(base, -1, EV_PERSIST, on_sweep, h);
	h->accept_pause = evtimer_new(base, resume_accept, h);
	h->lis = evconnlistener_new(base, on_accept, h, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (h->lis == NULL || h->sweep == NULL || h->accept_pause == NULL) {
		if (h->lis == NULL)
			close(fd);
		err_set(e, 0, "out of memory");
		httpd_free(h);
		return NULL;
	}
	evconnlistener_set_error_cb(h->lis, on_accept_error);
	event_add(h->sweep, &sweep);
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
		/* Between requests: close, but only once what was already answered has been written. */
		if ((c->state == CS_IDLE && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) ||
		    c->state == CS_PAUSED)
			close_after_flush(c, /* linger= */ true);
	}
}

size_t
httpd_in_flight(const struct httpd *h)
{
	return h->st.in_flight;
}

size_t
httpd_connections(const struct httpd *h)
{
	return h->st.connections;
}

void
httpd_stats(const struct httpd *h, struct httpd_stats *st)
{
	*st = h->st;
	st->addrs = peers_count(h->peers);
	st->unsent_bytes = st->unsent_max = 0;
	for (const struct httpd_conn *c = h->conns; c != NULL; c = c->next) {
		size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

		st->unsent_bytes += n;
		if (n > st->unsent_max)
			st->unsent_max = n;
	}
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
	if (h->sweep != NULL)
		event_free(h->sweep);
	if (h->accept_pause != NULL)
		event_free(h->accept_pause);
	peers_free(h->peers);
	free(h);
}
