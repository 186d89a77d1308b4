/* conn.c: one WebSocket client's socket: upgrade exchange, framing I/O, a bounded send queue, pings, close. */
#include "conn.h"
#include "httpparse.h"

#include "log.h"
#include "ts.h"
#include "utf8.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WSC_CLOSE_MS 5000        /* after our close frame, wait this long for the client's */
#define WSC_OUT_HIGH (64 * 1024) /* bytes kept in a socket's output buffer; the rest waits in the queue */

struct wsconn {
	struct bufferevent *bev;
	struct event *timer;  /* handshake deadline, ping interval, close deadline */
	struct event *reaper; /* releases a dead connection from the loop */
	enum wsc_state state;
	bool dead;             /* closed: every call is a no-op until the reaper frees it */
	bool free_after_flush; /* close the socket once the output is written */
	const struct wsc_cbs *cbs;
	void *arg;
	struct wsc_limits lim;
	uint64_t id;
	char peer[64];
	char who[80]; /* "admin" or "user <id>" once authenticated, for the log */

	/* outgoing queue of frames not yet handed to the socket (one reference each) */
	struct wsmsg **q;
	size_t qhead, qlen;
	struct wsid last;
	/* live events held during a replay: held[hhead..nheld) (one reference each) */
	struct wsmsg **held;
	size_t hhead, nheld;

	/* incoming fragmented message */
	unsigned char *frag;
	size_t fraglen;
	bool in_frag;

	uint64_t rate_window_ms, rate_count;
	bool ping_outstanding;
};

static void conn_kill(struct wsconn *c);

static uint64_t
now_ms(void)
{
	return (uint64_t)(ts_mono_us() / 1000);
}

static void
arm(struct wsconn *c, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

bool
wsc_alive(const struct wsconn *c)
{
	return !c->dead;
}

bool
wsc_is_open(const struct wsconn *c)
{
	return !c->dead && c->state == WSC_OPEN && !c->free_after_flush;
}

uint64_t
wsc_id(const struct wsconn *c)
{
	return c->id;
}

const char *
wsc_peer(const struct wsconn *c)
{
	return c->peer;
}

void
wsc_set_who(struct wsconn *c, const char *who)
{
	snprintf(c->who, sizeof(c->who), "%s", who);
}

size_t
wsc_queued(const struct wsconn *c)
{
	return c->qlen;
}

size_t
wsc_capacity(const struct wsconn *c)
{
	return c->lim.queue_cap;
}

struct wsid
wsc_last(const struct wsconn *c)
{
	return c->last;
}

static void
msg_cleanup(const void *data, size_t len, void *extra)
{
	(void)data, (void)len;
	wsmsg_unref(extra);
}

/* Hands queued frames to the socket buffer while it holds less than WSC_OUT_HIGH. */
static void
pump(struct wsconn *c)
{
	struct evbuffer *out;

	if (c->dead || c->state != WSC_OPEN)
		return;
	out = bufferevent_get_output(c->bev);
	while (c->qlen > 0 && evbuffer_get_length(out) < WSC_OUT_HIGH) {
		struct wsmsg *m = c->q[c->qhead];

		c->q[c->qhead] = NULL;
		c->qhead = (c->qhead + 1) % c->lim.queue_cap;
		c->qlen--;
		/* the queue's reference moves to the socket buffer and is dropped once written */
		if (evbuffer_add_reference(out, m->data, m->len, msg_cleanup, m) < 0)
			wsmsg_unref(m);
	}
}

bool
wsc_push(struct wsconn *c, struct wsmsg *m)
{
	if (c->dead || c->state != WSC_OPEN || c->free_after_flush)
		return true; /* nobody to send to: nothing taken, nothing to report */
	if (c->qlen == c->lim.queue_cap)
		return false;
	c->q[(c->qhead + c->qlen) % c->lim.queue_cap] = wsmsg_ref(m);
	c->qlen++;
	if (m->id.ms || m->id.seq)
		c->last = m->id;
	pump(c);
	return true;
}

bool
wsc_hold(struct wsconn *c, struct wsmsg *m)
{
	if (c->dead || c->state != WSC_OPEN)
		return true;
	if (c->nheld == c->lim.queue_cap) {
		if (c->hhead == 0)
			return false;
		memmove(c->held, c->held + c->hhead, (c->nheld - c->hhead) * sizeof(*c->held));
		c->nheld -= c->hhead;
		c->hhead = 0;
	}
	c->held[c->nheld++] = wsmsg_ref(m);
	return true;
}

static void
drop_held(struct wsconn *c)
{
	while (c->hhead < c->nheld) {
		struct wsmsg *m = c->held[c->hhead];

		c->held[c->hhead++] = NULL;
		wsmsg_unref(m);
	}
	c->hhead = c->nheld = 0;
}

bool
wsc_release_held(struct wsconn *c)
{
	while (c->hhead < c->nheld) {
		/* Off the list first: from here the reference is this function's alone. */
		struct wsmsg *m = c->held[c->hhead];
		bool ok;

		c->held[c->hhead++] = NULL;
		ok = !wsc_is_open(c) || wsid_cmp(m->id, c->last) <= 0 || wsc_push(c, m);
		wsmsg_unref(m);
		if (!ok) {
			drop_held(c);
			return false;
		}
	}
	c->hhead = c->nheld = 0;
	return true;
}

static void
drop_queue(struct wsconn *c)
{
	while (c->qlen > 0) {
		struct wsmsg *m = c->q[c->qhead];

		c->q[c->qhead] = NULL;
		c->qhead = (c->qhead + 1) % c->lim.queue_cap;
		c->qlen--;
		wsmsg_unref(m);
	}
	drop_held(c);
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
		conn_kill(c);
	else
		arm(c, WSC_CLOSE_MS);
}

void
wsc_send_json(struct wsconn *c, const char *json)
{
	struct wsmsg *m;

	if (!wsc_is_open(c))
		return;
	if ((m = wsmsg_new(WS_OP_TEXT, json, strlen(json))) == NULL) {
		wsc_close(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	if (!wsc_push(c, m))
		wsc_close(c, WS_CLOSE_SLOW_CONSUMER, "slow consumer: send queue full");
	wsmsg_unref(m);
}

void
wsc_close(struct wsconn *c, int code, const char *reason)
{
	unsigned char p[125];
	size_t rl = strlen(reason);

	if (c->dead)
		return;
	if (c->state == WSC_HANDSHAKE) {
		conn_kill(c);
		return;
	}
	if (c->state != WSC_OPEN || c->free_after_flush)
		return;
	log_info("websocket client closed by server", "conn=%llu who=%s code=%d reason=%s", (unsigned long long)c->id, c->who, code, reason);
	drop_queue(c);
	if (rl > sizeof(p) - 2)
		rl = sizeof(p) - 2;
	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	memcpy(p + 2, reason, rl);
	send_control(c, WS_OP_CLOSE, p, rl + 2);
	c->state = WSC_CLOSING;
	arm(c, WSC_CLOSE_MS);
}

void
wsc_refuse(struct wsconn *c, int status, const char *why)
{
	const char *text = httpp_status_text(status);
	const char *err = status == 401 ? "unauthorized" : status == 503 ? "unavailable" : "bad_request";
	const char *extra = status == 401 ? "WWW-Authenticate: Bearer\r\n" :
	    status == 426 ? "Sec-WebSocket-Version: 13\r\n" : status == 503 ? "Retry-After: 2\r\n" : "";
	char body[512];
	int bl;

	if (c->dead || c->state != WSC_HANDSHAKE || c->free_after_flush)
		return;
	bl = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}", err, why);
	log_info("websocket client refused", "conn=%llu peer=%s status=%d reason=%s", (unsigned long long)c->id, c->peer, status, why);
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s",
	    status, text, bl, extra, body);
	flush_then_free(c);
}

void
wsc_accept(struct wsconn *c, const char *accept)
{
	if (c->dead || c->state != WSC_HANDSHAKE || c->free_after_flush)
		return;
	evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	c->state = WSC_OPEN;
	c->rate_window_ms = now_ms();
	arm(c, c->lim.ping_ms);
	wsc_pause(c, false);
}

void
wsc_pause(struct wsconn *c, bool paused)
{
	if (c->dead || c->free_after_flush)
		return;
	if (paused) {
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	/* messages that arrived meanwhile are already in the input buffer */
	bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static bool
rate_exceeded(struct wsconn *c)
{
	uint64_t now = now_ms();

	if (now - c->rate_window_ms >= 60000) {
		c->rate_window_ms = now;
		c->rate_count = 0;
	}
	if (++c->rate_count > (uint64_t)c->lim.rate_per_min) {
		wsc_close(c, WS_CLOSE_POLICY, "rate limit exceeded");
		return true;
	}
	return false;
}

static void
on_text(struct wsconn *c, const unsigned char *p, size_t n)
{
	if (rate_exceeded(c))
		return;
	if (!utf8_valid(p, n)) {
		wsc_close(c, WS_CLOSE_INVALID_DATA, "text message is not UTF-8");
		return;
	}
	c->cbs->text(c, (const char *)p, n, c->arg);
}

static void
on_frame(struct wsconn *c, const struct ws_frame *f, unsigned char *p)
{
	int code;

	if (c->state == WSC_CLOSING) { /* only the client's close matters now */
		if (f->op == WS_OP_CLOSE)
			flush_then_free(c);
		return;
	}
	switch (f->op) {
	case WS_OP_PING:
		if (!rate_exceeded(c))
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
		log_info("websocket client closed", "conn=%llu who=%s code=%d", (unsigned long long)c->id, c->who, code);
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
	if (c->fraglen + f->len > (uint64_t)c->lim.max_message) {
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

	/* A paused connection (the service is waiting on something for it) keeps its input for later. */
	while (!c->dead && !c->free_after_flush && (bufferevent_get_enabled(c->bev) & EV_READ)) {
		size_t n = evbuffer_get_length(in), hn = n < 14 ? n : 14;
		struct ws_frame f;
		unsigned char *hp, *p;
		int code, rc;

		if (n < 2)
			return;
		hp = evbuffer_pullup(in, (ssize_t)hn);
		rc = wsf_parse_header(hp, hn, (uint64_t)c->lim.max_message, &f, &code);
		if (rc == 0)
			return;
		if (rc < 0) {
			if (c->state == WSC_CLOSING) {
				conn_kill(c);
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
read_head(struct wsconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	size_t len;
	char *head;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > WSC_HANDSHAKE_MAX)
			wsc_refuse(c, 431, "request head too large");
		return;
	}
	len = (size_t)end.pos + 4;
	if (len > WSC_HANDSHAKE_MAX) {
		wsc_refuse(c, 431, "request head too large");
		return;
	}
	if ((head = malloc(len + 1)) == NULL) {
		wsc_refuse(c, 503, "out of memory");
		return;
	}
	evbuffer_remove(in, head, len);
	head[len] = '\0';
	/* Nothing more is read until the service has decided (it may wait for PostgreSQL). */
	bufferevent_disable(c->bev, EV_READ);
	c->cbs->upgrade(c, head, c->arg);
	sodium_memzero(head, len); /* it may hold a token */
	free(head);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct wsconn *c = arg;

	(void)bev;
	if (c->dead)
		return;
	if (c->state == WSC_HANDSHAKE)
		read_head(c);
	else
		read_frames(c);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct wsconn *c = arg;
	size_t before = c->qlen;

	if (c->dead)
		return;
	if (c->free_after_flush) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_kill(c);
		return;
	}
	pump(c);
	if (c->state == WSC_OPEN && before > 0 && c->qlen <= c->lim.queue_cap / 2 && c->cbs->drained)
		c->cbs->drained(c, c->arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct wsconn *c = arg;

	(void)bev;
	if (!c->dead && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
		if (c->state == WSC_OPEN)
			log_info("websocket client went away without a close frame", "conn=%llu who=%s", (unsigned long long)c->id,
			    c->who);
		conn_kill(c);
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct wsconn *c = arg;

	(void)fd, (void)what;
	if (c->dead)
		return;
	if (c->state != WSC_OPEN || c->free_after_flush) { /* handshake or close deadline */
		if (c->state == WSC_HANDSHAKE && !c->free_after_flush)
			log_info("websocket client handshake timeout", "conn=%llu peer=%s", (unsigned long long)c->id, c->peer);
		conn_kill(c);
		return;
	}
	if (c->ping_outstanding) {
		log_info("websocket client did not answer a ping; dropped", "conn=%llu who=%s", (unsigned long long)c->id, c->who);
		conn_kill(c);
		return;
	}
	send_control(c, WS_OP_PING, "gtx", 3);
	c->ping_outstanding = true;
	arm(c, c->lim.ping_ms);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct wsconn *c = arg;

	(void)fd, (void)what;
	c->cbs->gone(c, c->arg);
	event_free(c->reaper);
	free(c);
}

/* Closes the socket and drops everything now; the struct itself goes from the loop (see wsc_cbs). */
static void
conn_kill(struct wsconn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	drop_queue(c);
	bufferevent_free(c->bev);
	c->bev = NULL;
	event_free(c->timer);
	c->timer = NULL;
	free(c->q);
	free(c->held);
	free(c->frag);
	c->q = c->held = NULL;
	c->frag = NULL;
	event_active(c->reaper, EV_TIMEOUT, 0);
}

void
wsc_abort(struct wsconn *c)
{
	static const unsigned char bye[] = { 0x88, 0x16, 0x03, 0xe9, 's', 'e', 'r', 'v', 'e', 'r', ' ',
		's', 'h', 'u', 't', 't', 'i', 'n', 'g', ' ', 'd', 'o', 'w', 'n' };

	if (!c->dead && c->state == WSC_OPEN && !c->free_after_flush) { /* best effort: one non-blocking write */
		struct evbuffer *out = bufferevent_get_output(c->bev);

		evbuffer_add(out, bye, sizeof(bye));
		evbuffer_write(out, bufferevent_getfd(c->bev));
	}
	conn_kill(c);
	event_del(c->reaper);
	on_reap(-1, 0, c);
}

struct wsconn *
wsc_new(struct event_base *base, evutil_socket_t fd, const struct sockaddr *sa, uint64_t id,
    const struct wsc_limits *lim, const struct wsc_cbs *cbs, void *arg)
{
	struct wsconn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c == NULL || (c->q = calloc(lim->queue_cap, sizeof(*c->q))) == NULL ||
	    (c->held = calloc(lim->queue_cap, sizeof(*c->held))) == NULL ||
	    (c->timer = evtimer_new(base, on_timer, c)) == NULL || (c->reaper = event_new(base, -1, 0, on_reap, c)) == NULL ||
	    (c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (c != NULL) {
			free(c->q);
			free(c->held);
			if (c->timer)
				event_free(c->timer);
			if (c->reaper)
				event_free(c->reaper);
			free(c);
		}
		evutil_closesocket(fd);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->id = id;
	c->lim = *lim;
	c->cbs = cbs;
	c->arg = arg;
	strcpy(c->who, "unauthenticated");
	if (sa->sa_family == AF_INET)
		evutil_inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, c->peer, sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		evutil_inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, c->peer,
		    sizeof(c->peer));
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, WSC_OUT_HIGH / 2, 0);
	/* The upgrade head is bounded; messages are bounded by max_message (frames wait whole in the input). */
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	arm(c, WSC_HANDSHAKE_MS);
	return c;
}
