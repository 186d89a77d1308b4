/* rpcm.c: the asynchronous JSON-RPC client: libcurl multi driven by libevent socket and timer events. */
#include "rpcm.h"
#include "rpchttp.h"
#include "ts.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/*
 * A call is queued (FIFO) until a slot on the wire is free and no rate-limit hold is on, then gets its own
 * easy handle (connections are pooled by the multi handle, so keep-alive survives across calls). Completion
 * is read from curl_multi_info_read after every socket action; callbacks run from a zero-timeout event,
 * never from inside rpcm_call or a libcurl callback, so a callback may start or end calls freely.
 */
struct call {
	struct rpcm *c;
	char method[48];
	char *text;          /* request body (cJSON_free) */
	uint64_t id;
	rpcm_cb cb;
	void *arg;
	CURL *h;
	struct rpchttp_buf buf;
	int64_t queued_at_us, sent_at_us;
	int rate_retries;
	struct call *wnext;  /* in c->wire */
	/* outcome, filled when the exchange ends */
	CURLcode cc;
	long status;
	struct call *next;
};

struct rpcm {
	struct event_base *base;
	CURLM *multi;
	struct curl_slist *headers;
	char *url;
	char display[RPCHTTP_DISPLAY_SZ];
	long cto, to;
	int max_inflight, rate_retries;
	uint64_t max_hold_ms;
	uint64_t next_id;
	struct call *qhead, *qtail;  /* waiting for a slot */
	struct call *wire;           /* on the wire (unordered) */
	struct call *done_head, *done_tail; /* finished, callbacks not yet run */
	size_t inflight, queued;
	struct event *timer;         /* libcurl's timeout */
	struct event *wake;          /* end of a rate-limit hold, and running finished callbacks */
	int64_t hold_until_us;
	int consecutive_429;
	struct rpcm_stats stats;
	bool freeing;
};

/* Per-socket state libcurl asks us to watch. */
struct sockev {
	struct event *ev;
};

static void dispatch(struct rpcm *c);
static void read_info(struct rpcm *c);

static void
wake_soon(struct rpcm *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(c->wake, &tv);
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct rpcm *c = arg;
	int running = 0;
	int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(c->multi, fd, flags, &running);
	read_info(c);
}

static int
sock_cb(CURL *h, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct rpcm *c = userp;
	struct sockev *se = socketp;
	short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0));

	(void)h;
	if (what == CURL_POLL_REMOVE) {
		if (se != NULL) {
			event_free(se->ev);
			free(se);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	if (se == NULL) {
		if ((se = calloc(1, sizeof(*se))) == NULL)
			return -1;
		curl_multi_assign(c->multi, s, se);
	} else {
		event_free(se->ev);
	}
	se->ev = event_new(c->base, s, (short)(kind | EV_PERSIST), on_sock, c);
	if (se->ev == NULL || event_add(se->ev, NULL) != 0)
		return -1;
	return 0;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rpcm *c = arg;
	int running = 0;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	read_info(c);
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct rpcm *c = userp;

	(void)m;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
	} else {
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

		evtimer_add(c->timer, &tv);
	}
	return 0;
}

static void
call_free(struct call *k)
{
	if (k->h != NULL)
		curl_easy_cleanup(k->h);
	cJSON_free(k->text);
	rpchttp_buf_free(&k->buf);
	free(k);
}

static void
enqueue(struct rpcm *c, struct call *k, bool front)
{
	k->next = NULL;
	if (front) {
		k->next = c->qhead;
		c->qhead = k;
		if (c->qtail == NULL)
			c->qtail = k;
	} else if (c->qtail == NULL) {
		c->qhead = c->qtail = k;
	} else {
		c->qtail->next = k;
		c->qtail = k;
	}
	c->queued++;
}

/* The hold after a 429: Retry-After when the node gave one, else backoff 250 ms x 2^n with jitter. */
static void
hold(struct rpcm *c, uint64_t retry_after_ms)
{
	uint64_t ms = retry_after_ms;

	if (ms == 0) {
		int n = c->consecutive_429 < 7 ? c->consecutive_429 : 7;

		ms = 250u << n;
		ms += randombytes_uniform((uint32_t)(ms / 2 + 1));
	}
	if (ms > c->max_hold_ms)
		ms = c->max_hold_ms;
	if (ts_mono_us() + (int64_t)ms * 1000 > c->hold_until_us)
		c->hold_until_us = ts_mono_us() + (int64_t)ms * 1000;
	c->consecutive_429++;
}

static void
to_done(struct rpcm *c, struct call *k)
{
	k->next = NULL;
	if (c->done_tail == NULL)
		c->done_head = c->done_tail = k;
	else {
		c->done_tail->next = k;
		c->done_tail = k;
	}
	wake_soon(c, 0);
}

static void
wire_remove(struct rpcm *c, struct call *k)
{
	for (struct call **pp = &c->wire; *pp != NULL; pp = &(*pp)->wnext) {
		if (*pp == k) {
			*pp = k->wnext;
			break;
		}
	}
	k->wnext = NULL;
	curl_multi_remove_handle(c->multi, k->h);
	c->inflight--;
}

/* An exchange ended: a 429 within its retry budget goes back to the front of the queue; else it is done. */
static void
finished(struct rpcm *c, struct call *k)
{
	wire_remove(c, k);
	curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &k->status);
	if (k->cc == CURLE_OK && k->status == 429) {
		c->stats.errors[RPC_E_RATE_LIMITED]++;
		hold(c, k->buf.retry_after_ms);
		if (k->rate_retries < c->rate_retries && !c->freeing) {
			k->rate_retries++;
			enqueue(c, k, /* front= */ true);
			return;
		}
	} else if (k->cc == CURLE_OK) {
		c->consecutive_429 = 0;
	}
	to_done(c, k);
}

static void
read_info(struct rpcm *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct call *k = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
		k->cc = m->data.result;
		finished(c, k);
	}
	dispatch(c);
}

/* Runs one finished call's callback with its classified outcome, then frees it. */
static void
complete(struct rpcm *c, struct call *k)
{
	struct rpc_error x = { 0 };
	struct err e = { 0 };
	struct rpcm_reply r = { .method = k->method, .x = &x, .e = &e };
	const cJSON *result = NULL;
	cJSON *root = NULL;
	int64_t now = ts_mono_us();

	if (k->sent_at_us == 0)
		k->sent_at_us = now; /* never reached the wire */
	r.queued_us = (uint64_t)(k->sent_at_us - k->queued_at_us);
	r.wire_us = (uint64_t)(now - k->sent_at_us);
	if (rpchttp_outcome(k->method, k->cc, k->status, &k->buf, k->id, c->display, &root, &result, &x, &e) == 0)
		r.result = result;
	else
		c->stats.errors[x.kind]++;
	k->cb(k->arg, &r);
	cJSON_Delete(root);
	call_free(k);
}

static void
cancel(struct call *k)
{
	struct rpc_error x = { .kind = RPC_E_ARG };
	struct err e = { RPC_E_ARG, "client closed" };
	struct rpcm_reply r = { .method = k->method, .cancelled = true, .x = &x, .e = &e };

	k->cb(k->arg, &r);
	call_free(k);
}

/* Starts queued calls while slots are free and no hold is on. */
static void
dispatch(struct rpcm *c)
{
	int64_t now = ts_mono_us();

	if (c->freeing)
		return;
	if (c->qhead != NULL && now < c->hold_until_us) {
		wake_soon(c, (uint64_t)(c->hold_until_us - now) / 1000 + 1);
		return;
	}
	while (c->qhead != NULL && c->inflight < (size_t)c->max_inflight) {
		struct call *k = c->qhead;
		struct err e = { 0 };

		c->qhead = k->next;
		if (c->qhead == NULL)
			c->qtail = NULL;
		c->queued--;
		if (k->h == NULL &&
		    ((k->h = curl_easy_init()) == NULL ||
		    rpchttp_easy_setup(k->h, c->url, c->headers, c->cto, c->to, &k->buf, &e) < 0 ||
		    curl_easy_setopt(k->h, CURLOPT_PRIVATE, (char *)k) != CURLE_OK ||
		    curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, k->text) != CURLE_OK ||
		    curl_easy_setopt(k->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(k->text)) != CURLE_OK)) {
			k->cc = CURLE_OUT_OF_MEMORY;
			to_done(c, k);
			continue;
		}
		rpchttp_buf_reset(&k->buf);
		k->sent_at_us = ts_mono_us();
		c->stats.requests++;
		if (curl_multi_add_handle(c->multi, k->h) != CURLM_OK) {
			k->cc = CURLE_FAILED_INIT;
			to_done(c, k);
			continue;
		}
		k->wnext = c->wire;
		c->wire = k;
		c->inflight++;
	}
}

/* The wake event: run finished callbacks, then start what a hold kept back. */
static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct rpcm *c = arg;
	struct call *list = c->done_head;

	(void)fd;
	(void)what;
	c->done_head = c->done_tail = NULL;
	while (list != NULL) {
		struct call *k = list;

		list = k->next;
		complete(c, k);
	}
	dispatch(c);
}

struct rpcm *
rpcm_new(struct event_base *base, const char *url, const struct rpcm_opts *o, struct err *e)
{
	static const struct rpcm_opts dflt = { 0 };
	struct rpcm *c;

	if (o == NULL)
		o = &dflt;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		err_set(e, RPC_E_ARG, "rpc: out of memory");
		return NULL;
	}
	c->base = base;
	c->cto = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
	c->to = o->timeout_ms > 0 ? o->timeout_ms : 15000;
	c->max_inflight = o->max_inflight > 0 ? o->max_inflight : 16;
	c->rate_retries = o->rate_limit_retries > 0 ? o->rate_limit_retries : 0;
	c->max_hold_ms = o->max_hold_ms > 0 ? o->max_hold_ms : 30000;
	c->next_id = 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(c);
		err_set(e, RPC_E_ARG, "curl_global_init failed");
		return NULL;
	}
	if (rpchttp_display_url(url, c->display, e) < 0)
		goto fail;
	if ((c->url = strdup(url)) == NULL || (c->headers = rpchttp_headers()) == NULL ||
	    (c->multi = curl_multi_init()) == NULL || (c->timer = evtimer_new(base, on_timer, c)) == NULL ||
	    (c->wake = evtimer_new(base, on_wake, c)) == NULL) {
		err_set(e, RPC_E_ARG, "rpc: out of memory");
		goto fail;
	}
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->max_inflight) != CURLM_OK) {
		err_set(e, RPC_E_ARG, "rpc: libcurl lacks a needed multi option");
		goto fail;
	}
	return c;
fail:
	rpcm_free(c);
	return NULL;
}

void
rpcm_free(struct rpcm *c)
{
	struct call *k;

	if (c == NULL)
		return;
	c->freeing = true;
	/* Queued and finished calls first, then those on the wire (their handles leave the multi first). */
	while ((k = c->qhead) != NULL) {
		c->qhead = k->next;
		cancel(k);
	}
	while ((k = c->done_head) != NULL) {
		c->done_head = k->next;
		cancel(k);
	}
	while ((k = c->wire) != NULL) {
		wire_remove(c, k);
		cancel(k);
	}
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->wake != NULL)
		event_free(c->wake);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
	if (c->url != NULL)
		explicit_bzero(c->url, strlen(c->url));
	free(c->url);
	free(c);
	curl_global_cleanup();
}

int
rpcm_call(struct rpcm *c, const char *method, cJSON *params, rpcm_cb cb, void *arg, struct err *e)
{
	struct call *k;

	if (params == NULL)
		return err_set(e, RPC_E_ARG, "%s: unusable arguments (or out of memory)", method);
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		cJSON_Delete(params);
		return err_set(e, RPC_E_ARG, "%s: out of memory", method);
	}
	k->c = c;
	snprintf(k->method, sizeof(k->method), "%s", method);
	k->id = c->next_id++;
	if ((k->text = rpchttp_request_text(method, k->id, params)) == NULL) {
		free(k);
		return err_set(e, RPC_E_ARG, "%s: out of memory building the request", method);
	}
	k->cb = cb;
	k->arg = arg;
	k->queued_at_us = ts_mono_us();
	enqueue(c, k, /* front= */ false);
	c->stats.calls++;
	/* Never dispatch synchronously from here: the first socket action may complete at once (refused). */
	wake_soon(c, 0);
	return 0;
}

size_t
rpcm_pending(const struct rpcm *c)
{
	size_t n = c->queued + c->inflight;

	for (const struct call *k = c->done_head; k != NULL; k = k->next)
		n++;
	return n;
}

const char *
rpcm_display_url(const struct rpcm *c)
{
	return c->display;
}

uint64_t
rpcm_hold_ms(const struct rpcm *c)
{
	int64_t now = ts_mono_us();

	return c->hold_until_us > now ? (uint64_t)(c->hold_until_us - now) / 1000 : 0;
}

void
rpcm_stats(const struct rpcm *c, struct rpcm_stats *out)
{
	*out = c->stats;
}
