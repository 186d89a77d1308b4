/*
 * service.c: the WebSocket events service: accepts clients, authenticates the upgrade (JWT or admin token),
 * reads what a user owns without waiting (owners.c), answers subscribe/replay/ping messages, replays missed
 * events and delivers live ones from the feed. Depends one way on conn, feed, owners, route and handshake.
 */
#include "service.h"

#include "conn.h"
#include "feed.h"
#include "handshake.h"
#include "httpparse.h"
#include "log.h"
#include "owners.h"
#include "route.h"
#include "uuid.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Why the client waits for the ownership lookup. */
enum lookup_for { LK_NONE, LK_UPGRADE, LK_SUBSCRIBE };

struct client {
	struct svc *s;
	struct wsconn *c;
	struct ws_ident id;
	char *token; /* the credential it connected with, checked again on reload (a secret; NULL: none) */
	char **owned; /* "wallet:X" and "meter:S" channels this user may subscribe to */
	size_t nowned;
	char *subs[WS_MAX_SUBS];
	size_t nsubs;
	/* upgrade or subscribe waiting for PostgreSQL */
	struct owners_req *lookup;
	enum lookup_for lookup_for;
	char accept[29], since[48];
	cJSON *pending; /* the subscribe message to finish once the lookup is back */
	/* replay */
	bool replaying, replay_more;
	struct feed_replay *replay_req;
	struct wsid cursor;
	uint64_t replayed;
	struct event *expiry; /* the JWT's exp */
	TAILQ_ENTRY(client) link;
};
TAILQ_HEAD(client_list, client);

struct svc {
	struct event_base *base;
	struct evconnlistener *lsn;
	struct client_list clients;
	size_t nclients;
	uint64_t next_id;
	struct ws_creds creds;
	int64_t max_conns;
	struct wsc_limits lim;
	struct feed *feed;
	struct owners *owners;
	struct event *accept_pause;
};

static const struct wsc_cbs conn_cbs;

static void
send_obj(struct client *cl, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	if (s == NULL)
		wsc_close(cl->c, WS_CLOSE_INTERNAL, "out of memory");
	else
		wsc_send_json(cl->c, s);
	free(s);
	cJSON_Delete(o);
}

static void
send_error(struct client *cl, const char *code, const char *msg, const cJSON *channels)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "error");
	cJSON_AddStringToObject(o, "code", code);
	cJSON_AddStringToObject(o, "message", msg);
	if (channels)
		cJSON_AddItemToObject(o, "channels", cJSON_Duplicate(channels, true));
	send_obj(cl, o);
}

static cJSON *
subs_array(const struct client *cl)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < cl->nsubs; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(cl->subs[i]));
	return a;
}

static struct ws_rights
rights(const struct client *cl)
{
	struct ws_rights r = { &cl->id, cl->owned, cl->nowned };

	return r;
}

static bool
subscribed(const struct client *cl, const char *ch)
{
	for (size_t i = 0; i < cl->nsubs; i++)
		if (strcmp(cl->subs[i], ch) == 0)
			return true;
	return false;
}

static void
slow(struct client *cl)
{
	char why[96];

	snprintf(why, sizeof(why), "slow consumer: more than %zu events waiting", wsc_capacity(cl->c));
	wsc_close(cl->c, WS_CLOSE_SLOW_CONSUMER, why);
}

static void
set_owned(struct client *cl, char **owned, size_t n)
{
	owners_list_free(cl->owned, cl->nowned);
	cl->owned = owned;
	cl->nowned = n;
}

static void lookup_done(void *arg, char **owned, size_t n, bool unavailable);

/* Asks which meters the user owns; false when PostgreSQL cannot be asked now. */
static bool
lookup_start(struct client *cl, enum lookup_for why)
{
	if ((cl->lookup = owners_lookup(cl->s->owners, cl->id.user, lookup_done, cl)) == NULL)
		return false;
	cl->lookup_for = why;
	wsc_pause(cl->c, true); /* one thing at a time: later messages wait in the socket */
	return true;
}

/* ---- subscribe / unsubscribe ---- */

static void
do_subscribe(struct client *cl, const cJSON *chans, bool add, bool refreshed)
{
	cJSON *bad = cJSON_CreateArray(), *refused = cJSON_CreateArray();
	struct ws_rights r = rights(cl);
	const cJSON *it;
	size_t fresh = 0;

	cJSON_ArrayForEach(it, chans) {
		if (!cJSON_IsString(it) || !wsr_channel_ok(it->valuestring))
			cJSON_AddItemToArray(bad, cJSON_Duplicate(it, true));
		else if (add && !wsr_may_subscribe(&r, it->valuestring))
			cJSON_AddItemToArray(refused, cJSON_CreateString(it->valuestring));
		else if (add && !subscribed(cl, it->valuestring))
			fresh++;
	}
	/* maybe a meter registered after connect: look once more (asynchronously) before refusing */
	if (cJSON_GetArraySize(bad) == 0 && cJSON_GetArraySize(refused) > 0 && !refreshed &&
	    uuid_is_text(cl->id.user, strlen(cl->id.user))) {
		cJSON *msg = cJSON_CreateObject();

		if (msg != NULL && cJSON_AddStringToObject(msg, "action", add ? "subscribe" : "unsubscribe") != NULL &&
		    cJSON_AddItemToObject(msg, "channels", cJSON_Duplicate(chans, true)) && lookup_start(cl, LK_SUBSCRIBE)) {
			cl->pending = msg;
			cJSON_Delete(bad);
			cJSON_Delete(refused);
			return;
		}
		cJSON_Delete(msg); /* cannot ask: refuse with what is known */
	}
	/* all or nothing: a refused channel is reported and none of the request is applied */
	if (cJSON_GetArraySize(bad) > 0)
		send_error(cl, "bad_channel", "channels are \"all\", \"user:<id>\", \"wallet:<address>\" or "
		    "\"meter:<serial>\"", bad);
	else if (cJSON_GetArraySize(refused) > 0)
		send_error(cl, "forbidden", "not allowed to subscribe to these channels", refused);
	else if (cl->nsubs + fresh > WS_MAX_SUBS)
		send_error(cl, "too_many_subscriptions", "at most 64 channels per connection", chans);
	else {
		cJSON *o = cJSON_CreateObject();

		cJSON_ArrayForEach(it, chans) {
			const char *ch = it->valuestring;

			if (add && !subscribed(cl, ch)) {
				char *d = strdup(ch);

				if (d == NULL)
					break;
				cl->subs[cl->nsubs++] = d;
			} else if (!add) {
				for (size_t i = 0; i < cl->nsubs; i++)
					if (strcmp(cl->subs[i], ch) == 0) {
						free(cl->subs[i]);
						cl->subs[i] = cl->subs[--cl->nsubs];
						break;
					}
			}
		}
		cJSON_AddStringToObject(o, "type", add ? "subscribed" : "unsubscribed");
		cJSON_AddItemToObject(o, "channels", cJSON_Duplicate(chans, true));
		cJSON_AddItemToObject(o, "subscriptions", subs_array(cl));
		send_obj(cl, o);
	}
	cJSON_Delete(bad);
	cJSON_Delete(refused);
}

/* ---- replay ---- */

static void replay_step(struct client *cl, bool first);

static void
finish_replay(struct client *cl)
{
	char last[48], buf[160];

	wsid_text(cl->cursor, last);
	snprintf(buf, sizeof(buf), "{\"type\":\"replay_complete\",\"last_event_id\":\"%s\",\"replayed\":%" PRIu64 "}",
	    last, cl->replayed);
	cl->replaying = false;
	cl->replay_more = false;
	wsc_send_json(cl->c, buf);
	/* the live events that came meanwhile, after the replayed ones: each reference moves or drops once */
	if (!wsc_release_held(cl->c))
		slow(cl);
}

static void
on_replay_gap(void *arg, const char *oldest)
{
	struct client *cl = arg;
	cJSON *o = cJSON_CreateObject();
	char since[48];

	wsid_text(cl->cursor, since);
	cJSON_AddStringToObject(o, "type", "replay_gap");
	cJSON_AddStringToObject(o, "since", since);
	cJSON_AddStringToObject(o, "oldest_event_id", oldest);
	cJSON_AddStringToObject(o, "message", "events after since may have been trimmed from the capped events stream");
	send_obj(cl, o);
}

static void
on_replay_batch(void *arg, struct wsev *evs, size_t n, bool more, const char *error)
{
	struct client *cl = arg;
	struct ws_rights r = rights(cl);

	cl->replay_req = NULL;
	if (!wsc_is_open(cl->c))
		return;
	if (error != NULL) {
		send_error(cl, "replay_failed", error, NULL);
		finish_replay(cl);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (wsid_cmp(evs[i].id, cl->cursor) > 0)
			cl->cursor = evs[i].id; /* also past entries that are not events */
		if (evs[i].msg == NULL || !wsr_match(&r, cl->subs, cl->nsubs, &evs[i]) ||
		    wsid_cmp(evs[i].id, wsc_last(cl->c)) <= 0)
			continue;
		if (!wsc_push(cl->c, evs[i].msg)) {
			slow(cl);
			return;
		}
		cl->replayed++;
	}
	if (!more) {
		finish_replay(cl);
		return;
	}
	/* the next batch once the queue is at most half full (now, or when the socket drains: on_drained) */
	cl->replay_more = true;
	if (wsc_queued(cl->c) <= wsc_capacity(cl->c) / 2)
		replay_step(cl, /* first= */ false);
}

static void
replay_step(struct client *cl, bool first)
{
	cl->replay_more = false;
	cl->replay_req = feed_replay(cl->s->feed, cl->cursor, first, on_replay_batch, on_replay_gap, cl);
	if (cl->replay_req == NULL) {
		send_error(cl, "replay_failed", "event store unavailable", NULL);
		finish_replay(cl);
	}
}

static void
start_replay(struct client *cl, const char *since)
{
	struct wsid id;

	if (!wsid_parse(since, &id)) {
		send_error(cl, "bad_request", "since must be an event id like 1700000000000-0", NULL);
		return;
	}
	if (cl->replaying) {
		send_error(cl, "replay_in_progress", "a replay is already running on this connection", NULL);
		return;
	}
	cl->replaying = true;
	cl->cursor = id;
	cl->replayed = 0;
	replay_step(cl, /* first= */ true);
}

static void
on_drained(struct wsconn *c, void *arg)
{
	struct client *cl = arg;

	(void)c;
	if (cl->replaying && cl->replay_more && cl->replay_req == NULL)
		replay_step(cl, /* first= */ false);
}

/* ---- messages ---- */

static void
on_message(struct client *cl, const cJSON *m, bool refreshed)
{
	const cJSON *act = cJSON_GetObjectItemCaseSensitive(m, "action");
	const cJSON *chans = cJSON_GetObjectItemCaseSensitive(m, "channels");
	const cJSON *since = cJSON_GetObjectItemCaseSensitive(m, "since");

	if (!cJSON_IsObject(m) || !cJSON_IsString(act)) {
		send_error(cl, "bad_request", "messages are JSON objects with an \"action\"", NULL);
	} else if (strcmp(act->valuestring, "subscribe") == 0 || strcmp(act->valuestring, "unsubscribe") == 0) {
		if (!cJSON_IsArray(chans) || cJSON_GetArraySize(chans) == 0 || cJSON_GetArraySize(chans) > WS_MAX_SUBS)
			send_error(cl, "bad_request", "\"channels\" must be a non-empty array of at most 64 names", NULL);
		else
			do_subscribe(cl, chans, act->valuestring[0] == 's', refreshed);
	} else if (strcmp(act->valuestring, "replay") == 0) {
		if (!cJSON_IsString(since))
			send_error(cl, "bad_request", "\"since\" must be an event id string", NULL);
		else
			start_replay(cl, since->valuestring);
	} else if (strcmp(act->valuestring, "ping") == 0) {
		wsc_send_json(cl->c, "{\"type\":\"pong\"}");
	} else {
		send_error(cl, "unknown_action", "actions are subscribe, unsubscribe, replay and ping", NULL);
	}
}

static void
on_text(struct wsconn *c, const char *text, size_t len, void *arg)
{
	cJSON *m = cJSON_ParseWithLength(text, len);

	(void)c;
	on_message(arg, m, /* refreshed= */ false);
	cJSON_Delete(m);
}

/* ---- upgrade ---- */

static void
on_expiry(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;

	(void)fd, (void)what;
	wsc_close(cl->c, WS_CLOSE_TOKEN_EXPIRED, "token expired");
}

static void
arm_expiry(struct client *cl)
{
	int64_t left = cl->id.exp - (int64_t)time(NULL);
	struct timeval tv = { (time_t)(left > 0 ? left : 0), 0 };

	if (cl->id.exp > 0)
		evtimer_add(cl->expiry, &tv);
	else
		evtimer_del(cl->expiry);
}

static void
open_client(struct client *cl)
{
	cJSON *o = cJSON_CreateObject();
	char last[48];

	wsc_accept(cl->c, cl->accept);
	log_info("websocket client connected", "conn=%llu peer=%s who=%s user=%s", (unsigned long long)wsc_id(cl->c),
	    wsc_peer(cl->c), cl->id.admin ? "admin" : "user", cl->id.user);
	arm_expiry(cl);
	if (!cl->id.admin && cl->id.user[0] && cl->nsubs < WS_MAX_SUBS) {
		size_t n = strlen(cl->id.user) + 6;
		char *ch = malloc(n);

		if (ch) {
			snprintf(ch, n, "user:%s", cl->id.user);
			cl->subs[cl->nsubs++] = ch;
		}
	}
	cJSON_AddStringToObject(o, "type", "connected");
	cJSON_AddNumberToObject(o, "client_id", (double)wsc_id(cl->c));
	if (cl->id.user[0])
		cJSON_AddStringToObject(o, "user_id", cl->id.user);
	cJSON_AddStringToObject(o, "role", cl->id.role);
	cJSON_AddBoolToObject(o, "admin", cl->id.admin);
	cJSON_AddItemToObject(o, "subscriptions", subs_array(cl));
	wsid_text(feed_last(cl->s->feed), last);
	cJSON_AddStringToObject(o, "last_event_id", last);
	cJSON_AddNumberToObject(o, "expires_at", (double)cl->id.exp);
	send_obj(cl, o);
	if (cl->since[0] && wsc_is_open(cl->c))
		start_replay(cl, cl->since);
}

static void
lookup_done(void *arg, char **owned, size_t n, bool unavailable)
{
	struct client *cl = arg;
	enum lookup_for why = cl->lookup_for;
	cJSON *pending = cl->pending;

	cl->lookup = NULL;
	cl->lookup_for = LK_NONE;
	cl->pending = NULL;
	if (!unavailable)
		set_owned(cl, owned, n);
	if (why == LK_UPGRADE) {
		struct ws_ident id;
		struct apierr e;

		if (unavailable)
			wsc_refuse(cl->c, 503, "user lookup unavailable");
		else if (wsh_auth(&cl->s->creds, cl->token ? cl->token : "", (int64_t)time(NULL), &id, &e) < 0)
			wsc_refuse(cl->c, e.status, e.msg); /* the credentials changed while we waited */
		else
			open_client(cl);
	} else if (why == LK_SUBSCRIBE && pending != NULL) {
		wsc_pause(cl->c, false);
		on_message(cl, pending, /* refreshed= */ true);
	}
	cJSON_Delete(pending);
}

static void
on_upgrade(struct wsconn *c, char *head, void *arg)
{
	struct client *cl = arg;
	struct ws_upgrade *u = calloc(1, sizeof(*u));
	struct apierr ae;
	struct err e = { 0 };

	if (u == NULL) {
		wsc_refuse(c, 503, "out of memory");
		return;
	}
	if (wsh_parse(head, strlen(head), u, &ae) < 0) {
		wsc_refuse(c, ae.status, ae.msg);
	} else if (wsf_accept_key(u->key, cl->accept, &e) < 0) {
		wsc_refuse(c, 400, "bad Sec-WebSocket-Key");
	} else if (wsh_auth(&cl->s->creds, u->token, (int64_t)time(NULL), &cl->id, &ae) < 0) {
		wsc_refuse(c, ae.status, ae.msg);
	} else if (u->token[0] && (cl->token = strdup(u->token)) == NULL) {
		wsc_refuse(c, 503, "out of memory");
	} else {
		char who[80];

		snprintf(who, sizeof(who), "%s%s", cl->id.admin ? "admin" : "user ", cl->id.admin ? "" : cl->id.user);
		wsc_set_who(c, who);
		memcpy(cl->since, u->since, sizeof(cl->since));
		/* a platform user: which meters are theirs decides what they may see */
		if (cl->id.admin || !uuid_is_text(cl->id.user, strlen(cl->id.user)))
			open_client(cl);
		else if (!lookup_start(cl, LK_UPGRADE))
			wsc_refuse(c, 503, "user lookup unavailable");
	}
	sodium_memzero(u, sizeof(*u));
	free(u);
}

static void
on_gone(struct wsconn *c, void *arg)
{
	struct client *cl = arg;
	struct svc *s = cl->s;

	(void)c;
	owners_cancel(cl->lookup);
	feed_replay_cancel(cl->replay_req);
	cJSON_Delete(cl->pending);
	set_owned(cl, NULL, 0);
	for (size_t i = 0; i < cl->nsubs; i++)
		free(cl->subs[i]);
	if (cl->token != NULL) {
		sodium_memzero(cl->token, strlen(cl->token));
		free(cl->token);
	}
	event_free(cl->expiry);
	TAILQ_REMOVE(&s->clients, cl, link);
	s->nclients--;
	free(cl);
}

static const struct wsc_cbs conn_cbs = { on_upgrade, on_text, on_drained, on_gone };

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct svc *s = arg;
	struct client *cl;

	(void)l, (void)salen;
	if (s->nclients >= (size_t)s->max_conns) {
		static const char body[] = "{\"error\":\"unavailable\",\"message\":\"too many connections\"}";
		char busy[256];
		int bl = snprintf(busy, sizeof(busy), "HTTP/1.1 503 %s\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", httpp_status_text(503), sizeof(body) - 1, body);
		ssize_t w = send(fd, busy, (size_t)bl, MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)w;
		log_warn("refused a connection: WEBSOCKET_MAX_CONNECTIONS reached", "max=%lld", (long long)s->max_conns);
		close(fd);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL || (cl->expiry = evtimer_new(s->base, on_expiry, cl)) == NULL) {
		free(cl);
		close(fd);
		log_warn("out of memory accepting a connection");
		return;
	}
	cl->s = s;
	if ((cl->c = wsc_new(s->base, fd, sa, ++s->next_id, &s->lim, &conn_cbs, cl)) == NULL) {
		event_free(cl->expiry);
		free(cl);
		log_warn("out of memory accepting a connection");
		return;
	}
	TAILQ_INSERT_TAIL(&s->clients, cl, link);
	s->nclients++;
}

static void
resume_accept(evutil_socket_t fd, short what, void *arg)
{
	struct svc *s = arg;

	(void)fd, (void)what;
	evconnlistener_enable(s->lsn);
}

/* accept() failing (out of descriptors): pause a moment rather than spin on a ready listener. */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct svc *s = arg;
	struct timeval tv = { 0, 100000 };

	log_warn("accept failed; pausing new connections", "err=%s pause_ms=100", strerror(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(l);
	evtimer_add(s->accept_pause, &tv);
}

/* ---- the feed ---- */

static void
on_event(const struct wsev *ev, void *arg)
{
	struct svc *s = arg;
	struct client *cl, *next;

	for (cl = TAILQ_FIRST(&s->clients); cl; cl = next) {
		struct ws_rights r = rights(cl);

		next = TAILQ_NEXT(cl, link);
		if (!wsc_is_open(cl->c) || !wsr_match(&r, cl->subs, cl->nsubs, ev) || wsid_cmp(ev->id, wsc_last(cl->c)) <= 0)
			continue;
		if (cl->replaying ? !wsc_hold(cl->c, ev->msg) : !wsc_push(cl->c, ev->msg))
			slow(cl);
	}
}

static void
on_restored(struct wsid last, void *arg)
{
	struct svc *s = arg;
	struct client *cl, *next;
	char buf[192], id[48];

	wsid_text(last, id);
	snprintf(buf, sizeof(buf), "{\"type\":\"feed_restored\",\"last_event_id\":\"%s\",\"message\":\"events "
	    "published while the feed was down can be fetched with replay\"}", id);
	for (cl = TAILQ_FIRST(&s->clients); cl; cl = next) {
		next = TAILQ_NEXT(cl, link);
		if (wsc_is_open(cl->c))
			wsc_send_json(cl->c, buf);
	}
}

/* ---- configuration ---- */

static void
creds_clear(struct ws_creds *cr)
{
	if (cr->jwt_secret) {
		sodium_memzero(cr->jwt_secret, cr->jwt_secret_len);
		free(cr->jwt_secret);
	}
	sodium_memzero(cr, sizeof(*cr));
}

static void
load_reloadable(struct svc *s, const struct cfg *c)
{
	const char *sec = cfg_str(c, "JWT_SECRET");
	struct ws_creds *cr = &s->creds;

	creds_clear(cr);
	cr->auth_required = cfg_bool(c, "WEBSOCKET_AUTH_REQUIRED");
	cr->jwt_secret_len = strlen(sec);
	cr->jwt_secret = (unsigned char *)xstrdup(sec);
	snprintf(cr->aud, sizeof(cr->aud), "%s", cfg_str(c, "JWT_AUDIENCE"));
	snprintf(cr->iss, sizeof(cr->iss), "%s", cfg_str(c, "JWT_ISSUER"));
	if (admintok_parse(cfg_str(c, "ADMIN_TOKEN_SHA256"), &cr->admin) < 0)
		log_warn("ADMIN_TOKEN_SHA256 is malformed: no admin token accepted", "key=ADMIN_TOKEN_SHA256"); /* -n says so too */
	s->max_conns = cfg_int(c, "WEBSOCKET_MAX_CONNECTIONS");
	s->lim.queue_cap = (size_t)cfg_int(c, "WEBSOCKET_EVENT_BUFFER_SIZE");
	s->lim.max_message = cfg_int(c, "WEBSOCKET_MAX_MESSAGE_BYTES");
	s->lim.rate_per_min = cfg_int(c, "WEBSOCKET_RATE_LIMIT_EVENTS_PER_MINUTE");
	s->lim.ping_ms = cfg_int(c, "WEBSOCKET_PING_INTERVAL_MS");
	if (s->owners != NULL)
		owners_set_timeout(s->owners, (int)cfg_int(c, "WEBSOCKET_OWNER_LOOKUP_TIMEOUT_MS"));
	if (cr->auth_required && cr->jwt_secret_len == 0 && cr->admin.n == 0)
		log_warn("WEBSOCKET_AUTH_REQUIRED=true but neither JWT_SECRET nor ADMIN_TOKEN_SHA256 is set: "
		    "every client will be refused", "key=WEBSOCKET_AUTH_REQUIRED");
	if (!cr->auth_required)
		log_warn("WEBSOCKET_AUTH_REQUIRED=false: clients without a token see every event", "key=WEBSOCKET_AUTH_REQUIRED");
}

/* Every open client's credential against the current configuration (a rotated secret, revoked tokens). */
static void
recheck_clients(struct svc *s)
{
	struct client *cl, *next;
	int64_t now = (int64_t)time(NULL);
	size_t closed = 0;

	for (cl = TAILQ_FIRST(&s->clients); cl; cl = next) {
		struct ws_ident id;
		struct apierr e = { 0 };
		char reason[240];

		next = TAILQ_NEXT(cl, link);
		if (!wsc_is_open(cl->c))
			continue;
		if (wsh_auth(&s->creds, cl->token ? cl->token : "", now, &id, &e) == 0) {
			if (id.admin == cl->id.admin && strcmp(id.user, cl->id.user) == 0) {
				cl->id.exp = id.exp;
				continue;
			}
			e.code = NULL;
			snprintf(e.msg, sizeof(e.msg), "rights changed");
		}
		snprintf(reason, sizeof(reason), "credentials no longer accepted: %s", e.msg);
		wsc_close(cl->c, e.code && strcmp(e.code, "token_expired") == 0 ? WS_CLOSE_TOKEN_EXPIRED : WS_CLOSE_REVOKED,
		    reason);
		closed++;
	}
	if (closed > 0)
		log_notice("clients closed: their credentials no longer verify", "n=%zu", closed);
}

void
svc_reload(struct svc *s, const struct cfg *c)
{
	load_reloadable(s, c);
	recheck_clients(s);
	log_notice("limits and credentials reloaded");
}

struct svc *
svc_new(struct event_base *base, const struct cfg *c, evutil_socket_t listen_fd, struct err *e)
{
	struct svc *s = xcalloc(1, sizeof(*s));
	struct feed_cbs fc = { on_event, on_restored, s };

	s->base = base;
	TAILQ_INIT(&s->clients);
	load_reloadable(s, c);
	s->accept_pause = evtimer_new(base, resume_accept, s);
	if ((s->owners = owners_new(base, cfg_str(c, "DATABASE_URL"), 2,
	    (int)cfg_int(c, "WEBSOCKET_OWNER_LOOKUP_TIMEOUT_MS"))) == NULL) {
		err_set(e, 0, "out of memory");
		goto fail;
	}
	if ((s->feed = feed_new(base, cfg_str(c, "REDIS_URL"), cfg_str(c, "REDIS_EVENTS_PREFIX"), &fc, e)) == NULL)
		goto fail;
	s->lsn = evconnlistener_new(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, listen_fd);
	if (s->lsn == NULL) {
		err_set(e, 0, "cannot serve the listening socket: %s", strerror(errno));
		goto fail;
	}
	evconnlistener_set_error_cb(s->lsn, on_accept_error);
	return s;
fail:
	svc_free(s);
	return NULL;
}

void
svc_free(struct svc *s)
{
	struct client *cl;

	if (s == NULL)
		return;
	if (s->lsn)
		evconnlistener_free(s->lsn);
	if (s->accept_pause)
		event_free(s->accept_pause);
	while ((cl = TAILQ_FIRST(&s->clients)) != NULL)
		wsc_abort(cl->c); /* calls on_gone, which unlinks cl */
	feed_free(s->feed);
	owners_free(s->owners);
	creds_clear(&s->creds);
	free(s);
}
