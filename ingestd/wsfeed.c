/*
 * wsfeed.c: the events feed from Redis: one SUBSCRIBE connection to the all-events channel (routing is done
 * in memory from each event's user_id/wallet_address/meter_serial, so an event arrives once however many
 * sub-channels it was published on), and one command connection for replays (XRANGE over the capped stream).
 * Both reconnect with backoff.
 */
#include "wsint.h"

#include "log.h"
#include "redisconn.h"

#include <cjson/cJSON.h>
#include <hiredis/adapters/libevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_EVENT_MAX (1024 * 1024)

static void connect_ctx(struct wss *s, bool sub);

static const char *
str_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
wsev_parse(const char *json, size_t len, const char *id, struct wsev *ev)
{
	cJSON *o;
	const char *have;
	char *printed = NULL;

	memset(ev, 0, sizeof(*ev));
	if (len > WS_EVENT_MAX || (o = cJSON_ParseWithLength(json, len)) == NULL)
		return -1;
	ev->json = o;
	if (!cJSON_IsObject(o) || (ev->type = str_field(o, "type")) == NULL)
		goto fail;
	have = str_field(o, "event_id");
	if (id != NULL && (have == NULL || strcmp(have, id) != 0)) {
		/* stream entries carry the id as their entry id: put it into the JSON the client gets */
		cJSON_DeleteItemFromObjectCaseSensitive(o, "event_id");
		if (cJSON_AddStringToObject(o, "event_id", id) == NULL || (printed = cJSON_PrintUnformatted(o)) == NULL)
			goto fail;
		ev->type = str_field(o, "type");
		have = id;
	}
	if (have == NULL || !wsid_parse(have, &ev->id))
		goto fail;
	ev->user_id = str_field(o, "user_id");
	ev->wallet = str_field(o, "wallet_address");
	ev->meter = str_field(o, "meter_serial");
	ev->msg = printed ? wsmsg_new(WS_OP_TEXT, printed, strlen(printed)) : wsmsg_new(WS_OP_TEXT, json, len);
	free(printed);
	if (ev->msg == NULL)
		goto fail;
	ev->msg->id = ev->id;
	return 0;
fail:
	free(printed);
	wsev_free(ev);
	return -1;
}

void
wsev_free(struct wsev *ev)
{
	cJSON_Delete(ev->json);
	wsmsg_unref(ev->msg);
	memset(ev, 0, sizeof(*ev));
}

static void
notify_restored(struct wss *s)
{
	char buf[192];
	struct wsconn *c, *next;

	snprintf(buf, sizeof(buf), "{\"type\":\"feed_restored\",\"last_event_id\":\"%llu-%llu\",\"message\":\"events "
	    "published while the feed was down can be fetched with replay\"}", (unsigned long long)s->feed_last.ms,
	    (unsigned long long)s->feed_last.seq);
	for (c = TAILQ_FIRST(&s->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->state == WSC_OPEN && !c->free_after_flush)
			wsc_send_json(c, buf);
	}
}

static void
on_sub(redisAsyncContext *ac, void *r, void *priv)
{
	struct wss *s = priv;
	redisReply *rep = r;
	struct wsev ev;

	(void)ac;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(rep->element[0]->str, "subscribe") == 0) {
		log_notice("websocket: event feed subscribed to %s", s->prefix);
		backoff_reset(&s->sub_bo);
		if (s->sub_was_up)
			notify_restored(s);
		s->sub_was_up = true;
		return;
	}
	if (strcmp(rep->element[0]->str, "message") != 0 || rep->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (wsev_parse(rep->element[2]->str, rep->element[2]->len, NULL, &ev) < 0) {
		log_warn("websocket: dropped a malformed event from %s (not JSON with type and event_id)", s->prefix);
		return;
	}
	if (wsid_cmp(ev.id, s->feed_last) > 0)
		s->feed_last = ev.id;
	wsr_dispatch(s, &ev);
	wsev_free(&ev);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wss *s = arg;

	(void)fd, (void)what;
	if (s->sub == NULL)
		connect_ctx(s, true);
	if (s->cmd == NULL)
		connect_ctx(s, false);
}

static void
lost(struct wss *s, bool sub, const char *why)
{
	uint32_t ms = backoff_next(sub ? &s->sub_bo : &s->cmd_bo);
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

	if (sub)
		s->sub = NULL;
	else
		s->cmd = NULL;
	if (s->stopping)
		return;
	log_warn("websocket: Redis %s connection lost (%s); retrying in %u ms", sub ? "feed" : "replay", why, ms);
	evtimer_add(sub ? s->sub_retry : s->cmd_retry, &tv);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct wss *s = ac->data;

	if (status != REDIS_OK)
		lost(s, ac == s->sub, ac->errstr);
	else if (ac == s->cmd)
		backoff_reset(&s->cmd_bo);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct wss *s = ac->data;

	lost(s, ac == s->sub, status == REDIS_OK ? "closed" : ac->errstr);
}

static void
connect_ctx(struct wss *s, bool sub)
{
	struct redis_url u;
	struct err e = { 0 };
	redisAsyncContext *ac;

	if (rurl_parse(s->redis_url, &u, &e) < 0)
		return;
	ac = u.unix_path[0] ? redisAsyncConnectUnix(u.unix_path) : redisAsyncConnect(u.host, u.port);
	if (ac == NULL || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		rurl_clear(&u);
		if (sub)
			s->sub = NULL;
		else
			s->cmd = NULL;
		lost(s, sub, "connect failed");
		return;
	}
	ac->data = s;
	if (sub)
		s->sub = ac;
	else
		s->cmd = ac;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (u.password[0] && u.user[0])
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s %s", u.user, u.password);
	else if (u.password[0])
		redisAsyncCommand(ac, NULL, NULL, "AUTH %s", u.password);
	if (u.db && !sub)
		redisAsyncCommand(ac, NULL, NULL, "SELECT %d", u.db);
	if (sub)
		redisAsyncCommand(ac, on_sub, s, "SUBSCRIBE %s", s->prefix);
	rurl_clear(&u);
}

int
wsfeed_start(struct wss *s)
{
	struct redis_url u;
	struct err e = { 0 };

	if (rurl_parse(s->redis_url, &u, &e) < 0)
		return -1;
	rurl_clear(&u);
	backoff_init(&s->sub_bo, 100, 5000);
	backoff_init(&s->cmd_bo, 100, 5000);
	s->sub_retry = evtimer_new(s->base, retry_cb, s);
	s->cmd_retry = evtimer_new(s->base, retry_cb, s);
	connect_ctx(s, true);
	connect_ctx(s, false);
	return 0;
}

void
wsfeed_stop(struct wss *s)
{
	s->stopping = true;
	if (s->sub)
		redisAsyncFree(s->sub);
	if (s->cmd)
		redisAsyncFree(s->cmd);
	s->sub = s->cmd = NULL;
	if (s->sub_retry)
		event_free(s->sub_retry);
	if (s->cmd_retry)
		event_free(s->cmd_retry);
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

/*
 * Trimming (XADD MAXLEN) leaves max-deleted-entry-id alone, so a gap is inferred: entries were removed
 * (entries-added > length) and `since` is older than the oldest entry still there (or than the last
 * one ever added, when the stream is empty).
 */
static void
on_xinfo(redisAsyncContext *ac, void *r, void *priv)
{
	struct wsconn *c = priv;
	const redisReply *fe = map_get(r, "first-entry"), *lastgen = map_get(r, "last-generated-id");
	const redisReply *first = fe && fe->type == REDIS_REPLY_ARRAY && fe->elements == 2 ? fe->element[0] : NULL;
	long long len = map_int(r, "length"), added = map_int(r, "entries-added");
	const redisReply *ref = len == 0 ? lastgen : first;
	struct wsid id;

	(void)ac;
	if (!c->dead && c->state == WSC_OPEN && added > len && len >= 0 && ref && ref->type == REDIS_REPLY_STRING &&
	    wsid_parse(ref->str, &id) && wsid_cmp(c->cursor, id) < 0)
		wsr_replay_gap(c, len == 0 ? "" : ref->str);
	wsc_unref(c);
}

static void
on_xrange(redisAsyncContext *ac, void *r, void *priv)
{
	struct wsconn *c = priv;
	redisReply *rep = r;
	struct wsev *evs = NULL;
	size_t n = 0;

	(void)ac;
	c->replay_inflight = false;
	if (c->dead || c->state != WSC_OPEN)
		goto out;
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		wsr_replay_failed(c, rep && rep->type == REDIS_REPLY_ERROR ? "event store error" : "event store unavailable");
		goto out;
	}
	if (rep->elements > 0 && (evs = calloc(rep->elements, sizeof(*evs))) == NULL) {
		wsr_replay_failed(c, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *ent = rep->element[i], *val;

		if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 || ent->element[0]->type != REDIS_REPLY_STRING)
			continue;
		wsid_parse(ent->element[0]->str, &c->cursor); /* advance even past entries we cannot parse */
		val = map_get(ent->element[1], "event");
		if (val && val->type == REDIS_REPLY_STRING &&
		    wsev_parse(val->str, val->len, ent->element[0]->str, &evs[n]) == 0)
			n++;
	}
	wsr_replay_events(c, evs, n, rep->elements == WS_REPLAY_BATCH);
out:
	for (size_t i = 0; i < n; i++)
		wsev_free(&evs[i]);
	free(evs);
	wsc_unref(c);
}

void
wsfeed_replay(struct wsconn *c, bool first)
{
	struct wss *s = c->s;
	char since[64];

	if (s->cmd == NULL) {
		wsr_replay_failed(c, "event store unavailable");
		return;
	}
	if (first) {
		c->refs++;
		if (redisAsyncCommand(s->cmd, on_xinfo, c, "XINFO STREAM %s", s->stream) != REDIS_OK)
			c->refs--;
	}
	snprintf(since, sizeof(since), "(%llu-%llu", (unsigned long long)c->cursor.ms, (unsigned long long)c->cursor.seq);
	c->refs++;
	c->replay_inflight = true;
	if (redisAsyncCommand(s->cmd, on_xrange, c, "XRANGE %s %s + COUNT %d", s->stream, since, WS_REPLAY_BATCH) !=
	    REDIS_OK) {
		c->refs--;
		c->replay_inflight = false;
		wsr_replay_failed(c, "event store unavailable");
	}
}
