/* wsserver.c: WebSocket listener, connections, framing I/O, bounded send queues, pings and close handshakes. */
#include "wsint.h"
#include "ts.h"

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void conn_free(struct wsconn *c);
static void conn_arm(struct wsconn *c, int64_t ms);

uint64_t
ws_now_ms(void)
{
	return (uint64_t)(ts_mono_us() / 1000);
}

struct wsmsg *
wsmsg_new(enum ws_opcode op, const void *payload, size_t len)
{
	unsigned char h[10];
	size_t hl = wsf_header(h, op, len);
	struct wsmsg *m = malloc(sizeof(*m) + hl + len);

	if (m == NULL)
		return NULL;
	m->refs = 1;
	m->id = (struct wsid){ 0, 0 };
	m->len = hl + len;
	memcpy(m->data, h, hl);
	if (len)
		memcpy(m->data + hl, payload, len);
	return m;
}

void
wsmsg_unref(struct wsmsg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

static void
msg_cleanup(const void *data, size_t len, void *extra)
{
	(void)data, (void)len;
	wsmsg_unref(extra);
}

void
wsc_pump(struct wsconn *c)
{
	struct evbuffer *out;

	if (c->dead || c->state != WSC_OPEN)
		return;
	out = bufferevent_get_output(c->bev);
	while (c->qlen > 0 && evbuffer_get_length(out) < WS_OUT_HIGH) {
		struct wsmsg *m = c->q[c->qhead];

		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		/* the queue's reference moves to the socket buffer and is dropped once written */
		if (evbuffer_add_reference(out, m->data, m->len, msg_cleanup, m) < 0)
			wsmsg_unref(m);
	}
	if (c->replaying && c->replay_more && !c->replay_inflight && c->qlen <= c->qcap / 2)
		wsfeed_replay(c, /* first= */ false);
}

bool
wsc_push(struct wsconn *c, struct wsmsg *m)
{
	if (c->dead || c->state != WSC_OPEN)
		return true;
	if (c->qlen == c->qcap)
		return false;
	c->q[(c->qhead + c->qlen) % c->qcap] = m;
	c->qlen++;
	m->refs++;
	if (m->id.ms || m->id.seq)
		c->last = m->id;
	wsc_pump(c);
	return true;
}

void
wsc_send_json(struct wsconn *c, const char *json)
{
	struct wsmsg *m = wsmsg_new(WS_OP_TEXT, json, strlen(json));

	if (m == NULL) {
		wsc_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	if (!wsc_push(c, m))
		wsc_close(c, WS_CLOSE_SLOW_CONSUMER, "slow consumer: send queue full");
	wsmsg_unref(m);
}

static void
drop_queue(struct wsconn *c)
{
	while (c->qlen > 0) {
		wsmsg_unref(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
	}
	for (size_t i = 0; i < c->nheld; i++)
		wsmsg_unref(c->held[i]);
	c->nheld = 0;
}

/* Writes a control frame straight to the socket buffer (pings, pongs and closes skip the queue). */
static void
send_control(struct wsconn *c, enum ws_opcode op, const void *p, size_t n)
{
	unsigned char h[10];
	size_t hl = wsf_header(h, op, n);
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add(out, h, hl);
	if (n)
		evbuffer_add(out, p, n);
}

static void
flush_then_free(struct wsconn *c)
{
	c->free_after_flush = true;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
	else
		conn_arm(c, WS_CLOSE_MS);
}

void
wsc_close(struct wsconn *c, int code, const char *reason)
{
	unsigned char p[125];
	size_t rl = strlen(reason);

	if (c->dead || c->state != WSC_OPEN) {
		if (!c->dead && c->state == WSC_HANDSHAKE)
			conn_free(c);
		return;
	}
	log_info("websocket: client %llu (%s%s) closed by server: %d %s", (unsigned long long)c->id,
	    c->admin ? "admin" : "user ", c->user, code, reason);
	drop_queue(c);
	if (rl > sizeof(p) - 2)
		rl = sizeof(p) - 2;
	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	memcpy(p + 2, reason, rl);
	send_control(c, WS_OP_CLOSE, p, rl + 2);
	c->state = WSC_CLOSING;
	conn_arm(c, WS_CLOSE_MS);
}

static void
http_error(struct wsconn *c, int status, const char *why)
{
	const char *text = status == 401 ? "Unauthorized" : status == 404 ? "Not Found" :
	    status == 405 ? "Method Not Allowed" : status == 426 ? "Upgrade Required" :
	    status == 431 ? "Request Header Fields Too Large" : status == 503 ? "Service Unavailable" : "Bad Request";
	const char *err = status == 401 ? "unauthorized" : status == 503 ? "unavailable" : "bad_request";
	const char *extra = status == 401 ? "WWW-Authenticate: Bearer\r\n" :
	    status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "";
	char body[512];
	int bl = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}", err, why);

	log_info("websocket: client %llu from %s refused: %d %s", (unsigned long long)c->id, c->peer, status, why);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s",
	    status, text, bl, extra, body);
	flush_then_free(c);
}

static void
rate_exceeded_check(struct wsconn *c, bool *closed)
{
	uint64_t now = ws_now_ms();

	if (now - c->rate_window_ms >= 60000) {
		c->rate_window_ms = now;
		c->rate_count = 0;
	}
	if (++c->rate_count > (uint64_t)c->s->rate_per_min) {
		wsc_close(c, WS_CLOSE_POLICY, "rate limit exceeded");
		*closed = true;
	}
}

static void
on_text(struct wsconn *c, const unsigned char *p, size_t n)
{
	bool closed = false;

	rate_exceeded_check(c, &closed);
	if (closed)
		return;
	if (!wsf_utf8_valid(p, n)) {
		wsc_close(c, WS_CLOSE_INVALID_DATA, "text message is not UTF-8");
		return;
	}
	wsr_message(c, (const char *)p, n);
}

static void
on_frame(struct wsconn *c, const struct ws_frame *f, unsigned char *p)
{
	int code;
	bool closed = false;

	if (c->state == WSC_CLOSING) { /* only the client's close matters now */
		if (f->op == WS_OP_CLOSE)
			flush_then_free(c);
		return;
	}
	switch (f->op) {
	case WS_OP_PING:
		rate_exceeded_check(c, &closed);
		if (!closed)
			send_control(c, WS_OP_PONG, p, f->len);
		return;
	case WS_OP_PONG:
		return;
	case WS_OP_CLOSE:
		if (!wsf_close_payload_valid(p, f->len, &code)) {
			wsc_close(c, WS_CLOSE_PROTOCOL, "invalid close frame");
			return;
		}
		drop_queue(c);
		if (code == 1005)
			send_control(c, WS_OP_CLOSE, NULL, 0);
		else
			send_control(c, WS_OP_CLOSE, p, 2);
		log_info("websocket: client %llu (%s) closed: %d", (unsigned long long)c->id, c->user, code);
		c->state = WSC_CLOSING;
		flush_then_free(c);
		return;
	case WS_OP_BINARY:
		wsc_close(c, WS_CLOSE_UNSUPPORTED, "binary messages are not supported");
		return;
	case WS_OP_TEXT:
		if (c->in_frag) {
			wsc_close(c, WS_CLOSE_PROTOCOL, "new message inside a fragmented message");
			return;
		}
		if (f->fin) {
			on_text(c, p, f->len);
			return;
		}
		c->in_frag = true;
		c->fraglen = 0;
		break;
	case WS_OP_CONT:
		if (!c->in_frag) {
			wsc_close(c, WS_CLOSE_PROTOCOL, "continuation without a message");
			return;
		}
		break;
	}
	/* a fragment: the assembled message is bounded by WEBSOCKET_MAX_MESSAGE_BYTES */
	if (c->fraglen + f->len > (uint64_t)c->s->max_message) {
		wsc_close(c, WS_CLOSE_TOO_BIG, "message too big");
		return;
	}
	if (f->len > 0) {
		unsigned char *nb = realloc(c->frag, c->fraglen + f->len + 1);

		if (nb == NULL) {
			wsc_close(c, WS_CLOSE_INTERNAL, "out of memory");
			return;
		}
		c->frag = nb;
		memcpy(c->frag + c->fraglen, p, f->len);
		c->fraglen += f->len;
	}
	if (f->fin) {
		c->in_frag = false;
		on_text(c, c->frag ? c->frag : (const unsigned char *)"", c->fraglen);
		free(c->frag);
		c->frag = NULL;
		c->fraglen = 0;
	}
}

static void
read_frames(struct wsconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (!c->dead && !c->free_after_flush) {
		size_t n = evbuffer_get_length(in), hn = n < 14 ? n : 14;
		struct ws_frame f;
		unsigned char *hp, *p;
		int code, rc;

		if (n < 2)
			return;
		hp = evbuffer_pullup(in, (ssize_t)hn);
		rc = wsf_parse_header(hp, hn, (uint64_t)c->s->max_message, &f, &code);
		if (rc == 0)
			return;
		if (rc < 0) {
			if (c->state == WSC_CLOSING) {
				conn_free(c);
				return;
			}
			wsc_close(c, code, code == WS_CLOSE_TOO_BIG ? "message too big" : "protocol error");
			evbuffer_drain(in, n);
			return;
		}
		if (n < f.hdr_len + f.len)
			return; /* the payload is bounded by max_message, so waiting for all of it is bounded */
		if ((p = malloc(f.len + 1)) == NULL) {
			wsc_close(c, WS_CLOSE_INTERNAL, "out of memory");
			return;
		}
		evbuffer_drain(in, f.hdr_len);
		evbuffer_remove(in, p, f.len);
		wsf_unmask(p, f.len, f.mask, 0);
		p[f.len] = '\0';
		c->ping_outstanding = false;
		on_frame(c, &f, p);
		free(p);
	}
}

static void
do_handshake(struct wsconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct ws_upgrade *u;
	char *head, accept[29];
	const char *why = NULL;
	int status;
	struct err e = { 0 };

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > WS_HANDSHAKE_MAX)
			http_error(c, 431, "request head too large");
		return;
	}
	if ((size_t)end.pos + 4 > WS_HANDSHAKE_MAX) {
		http_error(c, 431, "request head too large");
		return;
	}
	head = malloc((size_t)end.pos + 5);
	u = calloc(1, sizeof(*u));
	if (head == NULL || u == NULL) {
		free(head);
		free(u);
		http_error(c, 503, "out of memory");
		return;
	}
	evbuffer_remove(in, head, (size_t)end.pos + 4);
	head[end.pos + 4] = '\0';
	if (wsh_parse(head, u, &status, &why) < 0) {
		http_error(c, status, why);
	} else if (wsf_accept_key(u->key, accept, &e) < 0) {
		http_error(c, 400, "bad Sec-WebSocket-Key");
	} else if (wsh_auth(c->s, c, u->token, &why) < 0) {
		http_error(c, 401, why);
	} else if (!c->admin && wsr_load_owned(c) < 0) {
		http_error(c, 503, "user lookup unavailable");
	} else {
		evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
		c->state = WSC_OPEN;
		c->last_rx_ms = ws_now_ms();
		c->rate_window_ms = c->last_rx_ms;
		log_info("websocket: client %llu from %s connected as %s%s", (unsigned long long)c->id, c->peer,
		    c->admin ? "admin " : "user ", c->user);
		conn_arm(c, c->s->ping_ms);
		wsr_on_open(c, u->since[0] ? u->since : NULL);
	}
	sodium_memzero(u->token, sizeof(u->token));
	free(u);
	sodium_memzero(head, (size_t)end.pos + 4);
	free(head);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct wsconn *c = arg;

	(void)bev;
	c->refs++; /* a frame may free the connection: keep the struct until we return */
	if (c->state == WSC_HANDSHAKE)
		do_handshake(c);
	if (!c->dead && !c->free_after_flush && c->state != WSC_HANDSHAKE)
		read_frames(c);
	wsc_unref(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct wsconn *c = arg;

	if (c->free_after_flush) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	c->refs++;
	wsc_pump(c);
	wsc_unref(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct wsconn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (c->state == WSC_OPEN)
			log_info("websocket: client %llu (%s) went away without a close frame", (unsigned long long)c->id,
			    c->user);
		conn_free(c);
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct wsconn *c = arg;

	(void)fd, (void)what;
	if (c->state != WSC_OPEN || c->free_after_flush) { /* handshake or close deadline */
		if (c->state == WSC_HANDSHAKE && !c->free_after_flush)
			log_info("websocket: client %llu from %s: handshake timeout", (unsigned long long)c->id, c->peer);
		conn_free(c);
		return;
	}
	if (c->ping_outstanding) {
		log_info("websocket: client %llu (%s) did not answer a ping; dropped", (unsigned long long)c->id, c->user);
		conn_free(c);
		return;
	}
	send_control(c, WS_OP_PING, "gtx", 3);
	c->ping_outstanding = true;
	conn_arm(c, c->s->ping_ms);
}

static void
conn_arm(struct wsconn *c, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

void
wsc_unref(struct wsconn *c)
{
	if (--c->refs == 0 && c->dead)
		free(c);
}

static void
conn_free(struct wsconn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	TAILQ_REMOVE(&c->s->conns, c, link);
	c->s->nconns--;
	drop_queue(c);
	bufferevent_free(c->bev);
	event_free(c->timer);
	free(c->q);
	free(c->held);
	free(c->frag);
	wsr_conn_free(c);
	if (c->refs == 0)
		free(c);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct wss *s = arg;
	struct wsconn *c;
	int one = 1;

	(void)l, (void)salen;
	if (s->nconns >= (size_t)s->max_conns) {
		static const char body[] = "{\"error\":\"unavailable\",\"message\":\"too many connections\"}";
		char busy[256];
		int bl = snprintf(busy, sizeof(busy), "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof(body) - 1, body);
		ssize_t w = send(fd, busy, (size_t)bl, MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)w;
		log_warn("websocket: refused a connection: WEBSOCKET_MAX_CONNECTIONS=%lld reached", (long long)s->max_conns);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->q = calloc((size_t)s->buffer_size, sizeof(*c->q))) == NULL ||
	    (c->held = calloc((size_t)s->buffer_size, sizeof(*c->held))) == NULL ||
	    (c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (c->timer = evtimer_new(s->base, on_timer, c)) == NULL) {
		if (c != NULL) {
			if (c->bev)
				bufferevent_free(c->bev);
			else
				close(fd);
			free(c->q);
			free(c->held);
			free(c);
		} else {
			close(fd);
		}
		log_warn("websocket: out of memory accepting a connection");
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->s = s;
	c->id = ++s->next_id;
	c->qcap = (size_t)s->buffer_size;
	if (sa->sa_family == AF_INET)
		evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, c->peer, sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, c->peer, sizeof(c->peer));
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->nconns++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, WS_OUT_HIGH / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_arm(c, WS_HANDSHAKE_MS);
}

static void
load_reloadable(struct wss *s, const struct cfg *c)
{
	const char *sec = cfg_str(c, "JWT_SECRET");

	s->auth_required = cfg_bool(c, "WEBSOCKET_AUTH_REQUIRED");
	s->max_conns = cfg_int(c, "WEBSOCKET_MAX_CONNECTIONS");
	s->rate_per_min = cfg_int(c, "WEBSOCKET_RATE_LIMIT_EVENTS_PER_MINUTE");
	s->buffer_size = cfg_int(c, "WEBSOCKET_EVENT_BUFFER_SIZE");
	s->max_message = cfg_int(c, "WEBSOCKET_MAX_MESSAGE_BYTES");
	s->ping_ms = cfg_int(c, "WEBSOCKET_PING_INTERVAL_MS");
	if (s->jwt_secret) {
		sodium_memzero(s->jwt_secret, s->jwt_secret_len);
		free(s->jwt_secret);
	}
	s->jwt_secret_len = strlen(sec);
	s->jwt_secret = (unsigned char *)xstrdup(sec);
	if (ingestd_admin_hashes(cfg_str(c, "ADMIN_TOKEN_SHA256"), s->admin_sha, INGESTD_MAX_ADMIN_TOKENS,
	    &s->nadmin) < 0)
		s->nadmin = 0; /* checked by ingestd_conf_check */
	if (s->auth_required && s->jwt_secret_len == 0 && s->nadmin == 0)
		log_warn("websocket: WEBSOCKET_AUTH_REQUIRED=true but neither JWT_SECRET nor ADMIN_TOKEN_SHA256 is set: "
		    "every client will be refused");
	if (!s->auth_required)
		log_warn("websocket: WEBSOCKET_AUTH_REQUIRED=false: clients without a token see every event");
}

void
wss_conf_check(const struct cfg *c, struct errlist *errs)
{
	size_t sl = strlen(cfg_str(c, "JWT_SECRET"));
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	if (sl > 0 && sl < 32)
		errlist_add(errs, "JWT_SECRET: must be at least 32 bytes (HS256 key strength)");
	if (evutil_parse_sockaddr_port(cfg_str(c, "WEBSOCKET_LISTEN"), (struct sockaddr *)&ss, &len) < 0)
		errlist_add(errs, "WEBSOCKET_LISTEN: not host:port");
}

struct wss *
wss_start(struct event_base *base, const struct cfg *c, struct err *e)
{
	struct wss *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	const char *addr = cfg_str(c, "WEBSOCKET_LISTEN");

	s->base = base;
	TAILQ_INIT(&s->conns);
	load_reloadable(s, c);
	s->dburl = xstrdup(cfg_str(c, "DATABASE_URL"));
	s->redis_url = xstrdup(cfg_str(c, "REDIS_URL"));
	s->prefix = xstrdup(cfg_str(c, "REDIS_EVENTS_PREFIX"));
	s->stream = xmalloc(strlen(s->prefix) + 8);
	sprintf(s->stream, "%s:stream", s->prefix);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) < 0) {
		err_set(e, 0, "WEBSOCKET_LISTEN %s: not host:port", addr);
		goto fail;
	}
	s->lsn = evconnlistener_new_bind(base, on_accept, s, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC, 1024, (struct sockaddr *)&ss, len);
	if (s->lsn == NULL) {
		err_set(e, 0, "listen on %s: %s", addr, strerror(errno));
		goto fail;
	}
	if (wsfeed_start(s) < 0) {
		err_set(e, 0, "event feed: bad REDIS_URL");
		goto fail;
	}
	log_notice("websocket: listening on %s (GET /ws), events from %s", addr, s->prefix);
	return s;
fail:
	wss_stop(s);
	return NULL;
}

void
wss_reload(struct wss *s, const struct cfg *c)
{
	load_reloadable(s, c);
	log_notice("websocket: limits and credentials reloaded");
}

void
wss_stop(struct wss *s)
{
	struct wsconn *c;

	if (s == NULL)
		return;
	s->stopping = true;
	while ((c = TAILQ_FIRST(&s->conns)) != NULL) {
		if (c->state == WSC_OPEN) { /* best effort: one non-blocking write of a 1001 */
			static const unsigned char bye[] = { 0x88, 0x16, 0x03, 0xe9, 's', 'e', 'r', 'v', 'e', 'r', ' ',
				's', 'h', 'u', 't', 't', 'i', 'n', 'g', ' ', 'd', 'o', 'w', 'n' };
			struct evbuffer *out = bufferevent_get_output(c->bev);

			evbuffer_add(out, bye, sizeof(bye));
			evbuffer_write(out, bufferevent_getfd(c->bev));
		}
		conn_free(c);
	}
	if (s->lsn)
		evconnlistener_free(s->lsn);
	wsfeed_stop(s);
	if (s->pg)
		PQfinish(s->pg);
	if (s->jwt_secret) {
		sodium_memzero(s->jwt_secret, s->jwt_secret_len);
		free(s->jwt_secret);
	}
	if (s->dburl) {
		sodium_memzero(s->dburl, strlen(s->dburl));
		free(s->dburl);
	}
	if (s->redis_url) {
		sodium_memzero(s->redis_url, strlen(s->redis_url));
		free(s->redis_url);
	}
	free(s->prefix);
	free(s->stream);
	free(s);
}
