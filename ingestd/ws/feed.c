/*
 * feed.c: the events feed from Redis: one SUBSCRIBE connection to the all-events channel (routing is done
 * by the caller from each event's user_id/wallet_address/meter_serial, so an event arrives once however many
 * sub-channels it was published on), and one command connection for replays (XRANGE over the capped stream).
 * Both reconnect with backoff.
 */
#include "feed.h"

#include "backoff.h"
#include "log.h"
#include "redisconn.h"
#include "xmalloc.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_BATCH 256 /* XRANGE COUNT per replay step */

struct feed {
	struct event_base *base;
	struct feed_cbs cbs;
	char *redis_url, *prefix, *stream;
	redisAsyncContext *sub, *cmd;
	struct event *sub_retry, *cmd_retry;
	struct backoff sub_bo, cmd_bo;
	bool sub_was_up, stopping;
	struct wsid last;
};

struct feed_replay {
	struct wsid after;
	feed_batch_fn batch;
	feed_gap_fn gap;
	void *arg;
	int pending;    /* Redis replies still to come */
	bool cancelled; /* or answered: no more callbacks */
};

static void connect_ctx(struct feed *f, bool sub);

static void
on_sub(redisAsyncContext *ac, void *r, void *priv)
{
	struct feed *f = priv;
	redisReply *rep = r;
	struct wsev ev;

	(void)ac;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(rep->element[0]->str, "subscribe") == 0) {
		log_notice("event feed subscribed", "events=%s", f->prefix);
		backoff_reset(&f->sub_bo);
		if (f->sub_was_up && f->cbs.restored)
			f->cbs.restored(f->last, f->cbs.arg);
		f->sub_was_up = true;
		return;
	}
	if (strcmp(rep->element[0]->str, "message") != 0 || rep->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (wsev_parse(rep->element[2]->str, rep->element[2]->len, NULL, &ev) < 0) {
		log_warn("dropped a malformed event (not JSON with type and event_id)", "events=%s", f->prefix);
		return;
	}
	if (wsid_cmp(ev.id, f->last) > 0)
		f->last = ev.id;
	f->cbs.event(&ev, f->cbs.arg);
	wsev_free(&ev);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;

	(void)fd, (void)what;
	if (f->sub == NULL)
		connect_ctx(f, true);
	if (f->cmd == NULL)
		connect_ctx(f, false);
}

static void
lost(struct feed *f, bool sub, const char *why)
{
	uint32_t ms = backoff_next(sub ? &f->sub_bo : &f->cmd_bo);
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

	if (sub)
		f->sub = NULL;
	else
		f->cmd = NULL;
	if (f->stopping)
		return;
	log_warn("redis connection lost; retrying", "redis_conn=%s err=%s retry_ms=%u", sub ? "feed" : "replay", why, ms);
	evtimer_add(sub ? f->sub_retry : f->cmd_retry, &tv);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct feed *f = ac->data;

	if (status != REDIS_OK)
		lost(f, ac == f->sub, ac->errstr);
	else if (ac == f->cmd)
		backoff_reset(&f->cmd_bo);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct feed *f = ac->data;

	lost(f, ac == f->sub, status == REDIS_OK ? "closed" : ac->errstr);
}

static void
connect_ctx(struct feed *f, bool sub)
{
	struct redis_url u;
	struct err e = { 0 };
	redisAsyncContext *ac;

	if (rurl_parse(f->redis_url, &u, &e) < 0)
		return;
	ac = u.unix_path[0] ? redisAsyncConnectUnix(u.unix_path) : redisAsyncConnect(u.host, u.port);
	if (ac == NULL || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		rurl_clear(&u);
		lost(f, sub, "connect failed");
		return;
	}
	ac->data = f;
	if (sub)
		f->sub = ac;
	else
		f->cmd = ac;
	redisLibeventAttach(ac, f->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (u.password[0] && u.user[0])
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s %s", u.user, u.password);
	else if (u.password[0])
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s", u.password);
	if (u.db && !sub)
		redisAsyncCommand(ac, NULL, NULL, "SELECT %d", u.db);
	if (sub)
		redisAsyncCommand(ac, on_sub, f, "SUBSCRIBE %s", f->prefix);
	rurl_clear(&u);
}

struct feed *
feed_new(struct event_base *base, const char *redis_url, const char *prefix, const struct feed_cbs *cbs,
    struct err *e)
{
	struct feed *f;
	struct redis_url u;

	if (rurl_parse(redis_url, &u, e) < 0)
		return NULL;
	rurl_clear(&u);
	f = xcalloc(1, sizeof(*f));
	f->base = base;
	f->cbs = *cbs;
	f->redis_url = xstrdup(redis_url);
	f->prefix = xstrdup(prefix);
	f->stream = xmalloc(strlen(prefix) + 8);
	sprintf(f->stream, "%s:stream", prefix);
	backoff_init(&f->sub_bo, 100, 5000);
	backoff_init(&f->cmd_bo, 100, 5000);
	f->sub_retry = evtimer_new(base, retry_cb, f);
	f->cmd_retry = evtimer_new(base, retry_cb, f);
	connect_ctx(f, true);
	connect_ctx(f, false);
	return f;
}

void
feed_free(struct feed *f)
{
	if (f == NULL)
		return;
	f->stopping = true;
	/* Pending replies are answered with NULL here: the replay requests free themselves. */
	if (f->sub)
		redisAsyncFree(f->sub);
	if (f->cmd)
		redisAsyncFree(f->cmd);
	if (f->sub_retry)
		event_free(f->sub_retry);
	if (f->cmd_retry)
		event_free(f->cmd_retry);
	explicit_bzero(f->redis_url, strlen(f->redis_url));
	free(f->redis_url);
	free(f->prefix);
	free(f->stream);
	free(f);
}

struct wsid
feed_last(const struct feed *f)
{
	return f->last;
}

static const redisReply *
map_get(const redisReply *r, const char *key)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, key) == 0)
			return r->element[i + 1];
	return NULL;
}

static long long
map_int(const redisReply *r, const char *key)
{
	const redisReply *v = map_get(r, key);

	return v && v->type == REDIS_REPLY_INTEGER ? v->integer : -1;
}

static void
replay_done(struct feed_replay *r)
{
	if (--r->pending == 0)
		free(r);
}

/*
 * Trimming (XADD MAXLEN) leaves max-deleted-entry-id alone, so a gap is inferred: entries were removed
 * (entries-added > length) and `after` is older than the oldest entry still there (or than the last
 * one ever added, when the stream is empty).
 */
static void
on_xinfo(redisAsyncContext *ac, void *reply, void *priv)
{
	struct feed_replay *r = priv;
	const redisReply *fe = map_get(reply, "first-entry"), *lastgen = map_get(reply, "last-generated-id");
	const redisReply *first = fe && fe->type == REDIS_REPLY_ARRAY && fe->elements == 2 ? fe->element[0] : NULL;
	long long len = map_int(reply, "length"), added = map_int(reply, "entries-added");
	const redisReply *ref = len == 0 ? lastgen : first;
	struct wsid id;

	(void)ac;
	if (!r->cancelled && r->gap && added > len && len >= 0 && ref && ref->type == REDIS_REPLY_STRING &&
	    wsid_parse(ref->str, &id) && wsid_cmp(r->after, id) < 0)
		r->gap(r->arg, len == 0 ? "" : ref->str);
	replay_done(r);
}

static void
on_xrange(redisAsyncContext *ac, void *reply, void *priv)
{
	struct feed_replay *r = priv;
	redisReply *rep = reply;
	struct wsev *evs = NULL;
	size_t n = 0;
	bool cancelled = r->cancelled;

	(void)ac;
	r->cancelled = true; /* this is the last callback */
	if (cancelled)
		goto out;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		r->batch(r->arg, NULL, 0, false, rep && rep->type == REDIS_REPLY_ERROR ? "event store error" :
		    "event store unavailable");
		goto out;
	}
	if (rep->elements > 0 && (evs = calloc(rep->elements, sizeof(*evs))) == NULL) {
		r->batch(r->arg, NULL, 0, false, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *ent = rep->element[i], *val;

		if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 || ent->element[0]->type != REDIS_REPLY_STRING)
			continue;
		val = map_get(ent->element[1], "event");
		if (val && val->type == REDIS_REPLY_STRING &&
		    wsev_parse(val->str, val->len, ent->element[0]->str, &evs[n]) == 0) {
			n++;
		} else {
			/* an entry we cannot parse still moves the cursor: an id-only event nobody matches */
			memset(&evs[n], 0, sizeof(evs[n]));
			if (wsid_parse(ent->element[0]->str, &evs[n].id))
				n++;
		}
	}
	r->batch(r->arg, evs, n, rep->elements == REPLAY_BATCH, NULL);
out:
	for (size_t i = 0; i < n; i++)
		wsev_free(&evs[i]);
	free(evs);
	replay_done(r);
}

struct feed_replay *
feed_replay(struct feed *f, struct wsid after, bool first, feed_batch_fn batch, feed_gap_fn gap, void *arg)
{
	struct feed_replay *r;
	char since[64];

	if (f->cmd == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->after = after;
	r->batch = batch;
	r->gap = gap;
	r->arg = arg;
	r->pending = 1; /* ours until the commands are queued */
	if (first && redisAsyncCommand(f->cmd, on_xinfo, r, "XINFO STREAM %s", f->stream) == REDIS_OK)
		r->pending++;
	snprintf(since, sizeof(since), "(%llu-%llu", (unsigned long long)after.ms, (unsigned long long)after.seq);
	if (redisAsyncCommand(f->cmd, on_xrange, r, "XRANGE %s %s + COUNT %d", f->stream, since, REPLAY_BATCH) !=
	    REDIS_OK) {
		r->cancelled = true; /* the XINFO, if queued, still frees its share */
		replay_done(r);
		return NULL;
	}
	r->pending++;
	replay_done(r); /* cannot reach 0: the XRANGE holds one */
	return r;
}

void
feed_replay_cancel(struct feed_replay *r)
{
	if (r != NULL)
		r->cancelled = true;
}
