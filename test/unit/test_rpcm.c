/* test_rpcm.c: the asynchronous RPC client against a real HTTP server on loopback (libevent evhttp). */
#include "t.h"

#include "rpcjson.h"
#include "rpcm.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

/* The server: "echo" answers at once, "slow" after 150 ms, "limited" answers 429 (Retry-After 1) the first
 * `limit429` times, "quiet429" answers 429 without Retry-After. It records concurrency and arrival times. */
struct srv {
	struct event_base *base;
	struct evhttp *http;
	int port;
	int active, max_active, requests, limit429;
	int64_t first_limited_us, retried_us;
};

struct pending {
	struct evhttp_request *req;
	struct srv *s;
	char body[256];
	struct event *ev;
};

static int64_t
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void
send_json(struct evhttp_request *req, int code, const char *body, const char *retry_after)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	if (retry_after != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", retry_after);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Too Many Requests", b);
	evbuffer_free(b);
}

static void
on_slow(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	p->s->active--;
	send_json(p->req, 200, p->body, NULL);
	event_free(p->ev);
	free(p);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char text[1024] = "", out[256];
	cJSON *j;
	const char *method = "";
	double id = 0;

	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	evbuffer_remove(in, text, n);
	text[n] = '\0';
	s->requests++;
	if ((j = cJSON_Parse(text)) != NULL) {
		const cJSON *m = cJSON_GetObjectItem(j, "method"), *i = cJSON_GetObjectItem(j, "id");

		method = cJSON_IsString(m) ? m->valuestring : "";
		id = cJSON_IsNumber(i) ? i->valuedouble : 0;
	}
	snprintf(out, sizeof(out), "{\"jsonrpc\":\"2.0\",\"result\":{\"method\":\"%s\",\"big\":18446744073709551615},"
	    "\"id\":%.0f}", method, id);
	if (strcmp(method, "slow") == 0) {
		struct pending *p = calloc(1, sizeof(*p));
		struct timeval tv = { 0, 150000 };

		p->req = req;
		p->s = s;
		snprintf(p->body, sizeof(p->body), "%s", out);
		if (++s->active > s->max_active)
			s->max_active = s->active;
		p->ev = evtimer_new(s->base, on_slow, p);
		evtimer_add(p->ev, &tv);
	} else if (strcmp(method, "limited") == 0 && s->limit429 > 0) {
		s->limit429--;
		if (s->first_limited_us == 0)
			s->first_limited_us = now_us();
		send_json(req, 429, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":429,\"message\":\"Too many requests\"}}", "1");
	} else if (strcmp(method, "quiet429") == 0) {
		send_json(req, 429, "rate limited", NULL);
	} else {
		if (strcmp(method, "limited") == 0)
			s->retried_us = now_us();
		send_json(req, 200, out, NULL);
	}
	cJSON_Delete(j);
}

static int
srv_start(struct srv *s, struct event_base *base)
{
	struct evhttp_bound_socket *h;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->http = evhttp_new(base);
	evhttp_set_gencb(s->http, handle, s);
	if ((h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0)) == NULL)
		return -1;
	getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sa, &len);
	s->port = ntohs(sa.sin_port);
	return 0;
}

struct got {
	int calls, ok, cancelled;
	int kinds[RPC_E_COUNT];
	uint64_t retry_after_ms;
	bool big_exact;
	struct event_base *base;
	int stop_after;
};

static void
on_reply(void *arg, const struct rpcm_reply *r)
{
	struct got *g = arg;
	uint64_t big;

	g->calls++;
	if (r->cancelled) {
		g->cancelled++;
	} else if (r->result != NULL) {
		g->ok++;
		g->big_exact = rpcjson_u64(cJSON_GetObjectItem(r->result, "big"), &big) == 0 && big == UINT64_MAX;
	} else {
		g->kinds[r->x->kind]++;
		if (r->x->kind == RPC_E_RATE_LIMITED)
			g->retry_after_ms = r->x->retry_after_ms;
	}
	if (g->stop_after > 0 && g->calls == g->stop_after)
		event_base_loopbreak(g->base);
}

static void
run_until(struct event_base *base, struct got *g, int calls)
{
	struct timeval limit = { 20, 0 }; /* a generous bound against a hang, not a speed check */

	g->base = base;
	g->stop_after = calls;
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
}

static struct rpcm *
client(struct event_base *base, int port, int max_inflight, int retries)
{
	char url[64];
	struct rpcm_opts o = { .timeout_ms = 5000, .max_inflight = max_inflight, .rate_limit_retries = retries };
	struct err e = { 0 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/?api-key=SECRET", port);
	return rpcm_new(base, url, &o, &e);
}

TEST(rpcm_calls_in_flight_together_and_exact_numbers)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct got g = { 0 };
	struct rpcm *c;
	struct err e;

	if (!CHECK(srv_start(&s, base) == 0))
		return;
	c = client(base, s.port, 4, 0);
	CHECK(strstr(rpcm_display_url(c), "SECRET") == NULL);
	for (int i = 0; i < 8; i++)
		CHECK_INT(rpcm_call(c, "slow", cJSON_CreateArray(), on_reply, &g, &e), 0);
	CHECK_INT(rpcm_pending(c), 8);
	run_until(base, &g, 8);
	CHECK_INT(g.ok, 8);
	CHECK(g.big_exact);
	CHECK(s.max_active >= 2); /* several on the wire at once ... */
	CHECK(s.max_active <= 4); /* ... never more than max_inflight */
	CHECK_INT(rpcm_pending(c), 0);
	rpcm_free(c);
	evhttp_free(s.http);
	event_base_free(base);
}

TEST(rpcm_rate_limit_holds_then_retries)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct got g = { 0 };
	struct rpcm *c;
	struct rpcm_stats st;
	struct err e;

	if (!CHECK(srv_start(&s, base) == 0))
		return;
	s.limit429 = 1;
	c = client(base, s.port, 4, 2);
	CHECK_INT(rpcm_call(c, "limited", cJSON_CreateArray(), on_reply, &g, &e), 0);
	run_until(base, &g, 1);
	CHECK_INT(g.ok, 1);
	CHECK(s.retried_us - s.first_limited_us >= 1000000); /* Retry-After: 1 was honoured (a lower bound) */
	rpcm_stats(c, &st);
	CHECK_U64(st.requests, 2);
	CHECK_U64(st.errors[RPC_E_RATE_LIMITED], 1);
	/* Without retries left, the 429 is reported with its Retry-After. */
	s.limit429 = 5;
	rpcm_free(c);
	c = client(base, s.port, 4, 0);
	CHECK_INT(rpcm_call(c, "limited", cJSON_CreateArray(), on_reply, &g, &e), 0);
	run_until(base, &g, 2);
	CHECK_INT(g.kinds[RPC_E_RATE_LIMITED], 1);
	CHECK_U64(g.retry_after_ms, 1000);
	CHECK(rpcm_hold_ms(c) > 0); /* queued calls now wait for the hold */
	rpcm_free(c);
	evhttp_free(s.http);
	event_base_free(base);
}

TEST(rpcm_transport_errors_and_cancel_on_free)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct got g = { 0 };
	struct rpcm *c;
	struct err e;
	int closed;

	if (!CHECK(srv_start(&s, base) == 0))
		return;
	/* A port nobody listens on: bind, note it, close. */
	{
		struct srv tmp;
		struct event_base *b2 = event_base_new();

		srv_start(&tmp, b2);
		closed = tmp.port;
		evhttp_free(tmp.http);
		event_base_free(b2);
	}
	c = client(base, closed, 4, 0);
	CHECK_INT(rpcm_call(c, "echo", cJSON_CreateArray(), on_reply, &g, &e), 0);
	run_until(base, &g, 1);
	CHECK_INT(g.kinds[RPC_E_TRANSPORT], 1);
	rpcm_free(c);
	/* Freed with calls queued and on the wire: every callback runs once, cancelled. */
	memset(&g, 0, sizeof(g));
	c = client(base, s.port, 2, 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(rpcm_call(c, "slow", cJSON_CreateArray(), on_reply, &g, &e), 0);
	{
		struct timeval tv = { 0, 50000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	rpcm_free(c);
	CHECK_INT(g.calls, 5);
	CHECK_INT(g.cancelled, 5);
	{
		/* let the server's delayed replies go out (to closed connections) so it frees them */
		struct timeval tv = { 0, 400000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	/* Unusable arguments are refused without a callback. */
	c = client(base, s.port, 2, 0);
	CHECK_INT(rpcm_call(c, "echo", NULL, on_reply, &g, &e), -1);
	CHECK_INT(g.calls, 5);
	rpcm_free(c);
	evhttp_free(s.http);
	event_base_free(base);
}
