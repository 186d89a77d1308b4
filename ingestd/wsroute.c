/*
 * wsroute.c: who may see what. A user may subscribe to user:<own id> and to wallet:/meter: channels of the
 * meters they own (meters.user_id, read from PostgreSQL at connect and again on a subscribe miss); an admin
 * to anything, including "all". Every delivered event must also belong to the user (its user_id is theirs,
 * or its wallet/meter is one of theirs), so a stale subscription can never leak another user's events.
 */
#include "wsint.h"
#include "uuid.h"

#include "log.h"
#include "pgconn.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
wsid_parse(const char *s, struct wsid *id)
{
	char *end;

	if (!isdigit((unsigned char)s[0]) || strlen(s) > 41)
		return false;
	id->ms = strtoull(s, &end, 10);
	id->seq = 0;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return false;
		id->seq = strtoull(end + 1, &end, 10);
	}
	return *end == '\0';
}

int
wsid_cmp(struct wsid a, struct wsid b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	return a.seq < b.seq ? -1 : a.seq > b.seq;
}

static void
id_text(struct wsid id, char out[48])
{
	snprintf(out, 48, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

static void
owned_clear(struct wsconn *c)
{
	for (size_t i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	free(c->owned);
	c->owned = NULL;
	c->nowned = 0;
}

static bool
owned_has(const struct wsconn *c, const char *kind, const char *v)
{
	size_t kl = strlen(kind);

	for (size_t i = 0; i < c->nowned; i++)
		if (strncmp(c->owned[i], kind, kl) == 0 && strcmp(c->owned[i] + kl, v) == 0)
			return true;
	return false;
}

static int
owned_add(struct wsconn *c, const char *kind, const char *v)
{
	char *s;

	if (owned_has(c, kind, v))
		return 0;
	if ((s = malloc(strlen(kind) + strlen(v) + 1)) == NULL)
		return -1;
	sprintf(s, "%s%s", kind, v);
	c->owned[c->nowned++] = s;
	return 0;
}

static PGresult *
owned_query(struct wss *s, const char *user)
{
	const char *params[1] = { user };
	struct err e = { 0 };

	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r;

		if (s->pg == NULL || PQstatus(s->pg) != CONNECTION_OK) {
			if (s->pg)
				PQfinish(s->pg);
			if ((s->pg = pgc_connect(s->dburl, "ingestd-websocket", &e)) == NULL) {
				log_warn("websocket: PostgreSQL for meter ownership: %s", e.msg);
				return NULL;
			}
		}
		r = PQexecParams(s->pg, "SELECT wallet_address, meter_serial FROM meters WHERE user_id = $1::uuid "
		    "ORDER BY meter_serial LIMIT 512", 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK)
			return r;
		pgc_err(&e, s->pg, r);
		log_warn("websocket: meter ownership query: %s", e.msg);
		PQclear(r);
		PQfinish(s->pg);
		s->pg = NULL;
	}
	return NULL;
}

int
wsr_load_owned(struct wsconn *c)
{
	PGresult *r;
	int n;

	owned_clear(c);
	if (!uuid_is_text(c->user, strlen(c->user)))
		return 0; /* not a platform user id: no meters can be theirs */
	if ((r = owned_query(c->s, c->user)) == NULL)
		return -1;
	n = PQntuples(r);
	c->owned = calloc((size_t)n * 2 + 1, sizeof(char *));
	for (int i = 0; c->owned && i < n; i++)
		if (owned_add(c, "wallet:", PQgetvalue(r, i, 0)) < 0 || owned_add(c, "meter:", PQgetvalue(r, i, 1)) < 0)
			break;
	PQclear(r);
	return c->owned ? 0 : -1;
}

static bool
channel_syntax_ok(const char *ch)
{
	const char *v;

	if (strcmp(ch, "all") == 0)
		return true;
	if (strncmp(ch, "user:", 5) == 0)
		v = ch + 5;
	else if (strncmp(ch, "wallet:", 7) == 0)
		v = ch + 7;
	else if (strncmp(ch, "meter:", 6) == 0)
		v = ch + 6;
	else
		return false;
	if (*v == '\0' || strlen(v) > 64)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && !strchr("-._:", *v))
			return false;
	return true;
}

static bool
may_subscribe(struct wsconn *c, const char *ch, bool *refreshed)
{
	if (c->admin)
		return true;
	if (strcmp(ch, "all") == 0)
		return false;
	if (strncmp(ch, "user:", 5) == 0)
		return c->user[0] && strcmp(ch + 5, c->user) == 0;
	for (size_t i = 0; i < c->nowned; i++)
		if (strcmp(c->owned[i], ch) == 0)
			return true;
	/* maybe a meter registered after connect: look once more per message */
	if (!*refreshed) {
		*refreshed = true;
		if (wsr_load_owned(c) == 0)
			for (size_t i = 0; i < c->nowned; i++)
				if (strcmp(c->owned[i], ch) == 0)
					return true;
	}
	return false;
}

static bool
subscribed(const struct wsconn *c, const char *ch)
{
	for (size_t i = 0; i < c->nsubs; i++)
		if (strcmp(c->subs[i], ch) == 0)
			return true;
	return false;
}

static void
send_obj(struct wsconn *c, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	if (s == NULL)
		wsc_close(c, WS_CLOSE_INTERNAL, "out of memory");
	else
		wsc_send_json(c, s);
	free(s);
	cJSON_Delete(o);
}

static void
send_error(struct wsconn *c, const char *code, const char *msg, const cJSON *channels)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "error");
	cJSON_AddStringToObject(o, "code", code);
	cJSON_AddStringToObject(o, "message", msg);
	if (channels)
		cJSON_AddItemToObject(o, "channels", cJSON_Duplicate(channels, true));
	send_obj(c, o);
}

static cJSON *
subs_array(const struct wsconn *c)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < c->nsubs; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(c->subs[i]));
	return a;
}

static void
send_subs(struct wsconn *c, const char *type, const cJSON *channels)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddItemToObject(o, "channels", cJSON_Duplicate(channels, true));
	cJSON_AddItemToObject(o, "subscriptions", subs_array(c));
	send_obj(c, o);
}

static void
do_subscribe(struct wsconn *c, const cJSON *chans, bool add)
{
	cJSON *bad = cJSON_CreateArray(), *refused = cJSON_CreateArray();
	const cJSON *it;
	bool refreshed = false;
	size_t fresh = 0;

	cJSON_ArrayForEach(it, chans) {
		if (!cJSON_IsString(it) || !channel_syntax_ok(it->valuestring))
			cJSON_AddItemToArray(bad, cJSON_Duplicate(it, true));
		else if (add && !may_subscribe(c, it->valuestring, &refreshed))
			cJSON_AddItemToArray(refused, cJSON_CreateString(it->valuestring));
		else if (add && !subscribed(c, it->valuestring))
			fresh++;
	}
	/* all or nothing: a refused channel is reported and none of the request is applied */
	if (cJSON_GetArraySize(bad) > 0)
		send_error(c, "bad_channel", "channels are \"all\", \"user:<id>\", \"wallet:<address>\" or "
		    "\"meter:<serial>\"", bad);
	else if (cJSON_GetArraySize(refused) > 0)
		send_error(c, "forbidden", "not allowed to subscribe to these channels", refused);
	else if (c->nsubs + fresh > WS_MAX_SUBS)
		send_error(c, "too_many_subscriptions", "at most 64 channels per connection", chans);
	else {
		cJSON_ArrayForEach(it, chans) {
			const char *ch = it->valuestring;

			if (add && !subscribed(c, ch)) {
				char *d = strdup(ch);

				if (d == NULL)
					break;
				c->subs[c->nsubs++] = d;
			} else if (!add) {
				for (size_t i = 0; i < c->nsubs; i++)
					if (strcmp(c->subs[i], ch) == 0) {
						free(c->subs[i]);
						c->subs[i] = c->subs[--c->nsubs];
						break;
					}
			}
		}
		send_subs(c, add ? "subscribed" : "unsubscribed", chans);
	}
	cJSON_Delete(bad);
	cJSON_Delete(refused);
}

static void
start_replay(struct wsconn *c, const char *since)
{
	struct wsid id;

	if (!wsid_parse(since, &id)) {
		send_error(c, "bad_request", "since must be an event id like 1700000000000-0", NULL);
		return;
	}
	if (c->replaying) {
		send_error(c, "replay_in_progress", "a replay is already running on this connection", NULL);
		return;
	}
	c->replaying = true;
	c->replay_more = false;
	c->cursor = id;
	c->replayed = 0;
	c->nheld = 0;
	wsfeed_replay(c, /* first= */ true);
}

void
wsr_on_open(struct wsconn *c, const char *since)
{
	cJSON *o = cJSON_CreateObject();
	char last[48];

	if (!c->admin && c->user[0] && c->nsubs < WS_MAX_SUBS) {
		char *ch = malloc(strlen(c->user) + 6);

		if (ch) {
			sprintf(ch, "user:%s", c->user);
			c->subs[c->nsubs++] = ch;
		}
	}
	cJSON_AddStringToObject(o, "type", "connected");
	cJSON_AddNumberToObject(o, "client_id", (double)c->id);
	if (c->user[0])
		cJSON_AddStringToObject(o, "user_id", c->user);
	cJSON_AddStringToObject(o, "role", c->role);
	cJSON_AddBoolToObject(o, "admin", c->admin);
	cJSON_AddItemToObject(o, "subscriptions", subs_array(c));
	id_text(c->s->feed_last, last);
	cJSON_AddStringToObject(o, "last_event_id", last);
	send_obj(c, o);
	if (since && !c->dead && c->state == WSC_OPEN)
		start_replay(c, since);
}

void
wsr_message(struct wsconn *c, const char *text, size_t len)
{
	cJSON *m = cJSON_ParseWithLength(text, len);
	const cJSON *act = cJSON_GetObjectItemCaseSensitive(m, "action");
	const cJSON *chans = cJSON_GetObjectItemCaseSensitive(m, "channels");
	const cJSON *since = cJSON_GetObjectItemCaseSensitive(m, "since");

	if (!cJSON_IsObject(m) || !cJSON_IsString(act)) {
		send_error(c, "bad_request", "messages are JSON objects with an \"action\"", NULL);
	} else if (strcmp(act->valuestring, "subscribe") == 0 || strcmp(act->valuestring, "unsubscribe") == 0) {
		if (!cJSON_IsArray(chans) || cJSON_GetArraySize(chans) == 0 || cJSON_GetArraySize(chans) > WS_MAX_SUBS)
			send_error(c, "bad_request", "\"channels\" must be a non-empty array of at most 64 names", NULL);
		else
			do_subscribe(c, chans, act->valuestring[0] == 's');
	} else if (strcmp(act->valuestring, "replay") == 0) {
		if (!cJSON_IsString(since))
			send_error(c, "bad_request", "\"since\" must be an event id string", NULL);
		else
			start_replay(c, since->valuestring);
	} else if (strcmp(act->valuestring, "ping") == 0) {
		wsc_send_json(c, "{\"type\":\"pong\"}");
	} else {
		send_error(c, "unknown_action", "actions are subscribe, unsubscribe, replay and ping", NULL);
	}
	cJSON_Delete(m);
}

bool
wsr_match(const struct wsconn *c, const struct wsev *ev)
{
	bool hit = false;

	for (size_t i = 0; i < c->nsubs && !hit; i++) {
		const char *ch = c->subs[i];

		if (strcmp(ch, "all") == 0)
			hit = true;
		else if (strncmp(ch, "user:", 5) == 0)
			hit = ev->user_id && strcmp(ev->user_id, ch + 5) == 0;
		else if (strncmp(ch, "wallet:", 7) == 0)
			hit = ev->wallet && strcmp(ev->wallet, ch + 7) == 0;
		else if (strncmp(ch, "meter:", 6) == 0)
			hit = ev->meter && strcmp(ev->meter, ch + 6) == 0;
	}
	if (!hit || c->admin)
		return hit;
	return (ev->user_id && c->user[0] && strcmp(ev->user_id, c->user) == 0) ||
	    (ev->wallet && owned_has(c, "wallet:", ev->wallet)) || (ev->meter && owned_has(c, "meter:", ev->meter));
}

static void
slow(struct wsconn *c)
{
	char why[96];

	snprintf(why, sizeof(why), "slow consumer: more than %zu events waiting", c->qcap);
	wsc_close(c, WS_CLOSE_SLOW_CONSUMER, why);
}

void
wsr_dispatch(struct wss *s, const struct wsev *ev)
{
	struct wsconn *c, *next;

	for (c = TAILQ_FIRST(&s->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->state != WSC_OPEN || c->free_after_flush || !wsr_match(c, ev) || wsid_cmp(ev->id, c->last) <= 0)
			continue;
		if (c->replaying) {
			if (c->nheld == c->qcap) {
				slow(c);
				continue;
			}
			ev->msg->refs++;
			c->held[c->nheld++] = ev->msg;
		} else if (!wsc_push(c, ev->msg)) {
			slow(c);
		}
	}
}

static void
finish_replay(struct wsconn *c)
{
	char last[48], buf[160];

	id_text(c->cursor, last);
	snprintf(buf, sizeof(buf), "{\"type\":\"replay_complete\",\"last_event_id\":\"%s\",\"replayed\":%" PRIu64 "}",
	    last, c->replayed);
	c->replaying = false;
	wsc_send_json(c, buf);
	for (size_t i = 0; i < c->nheld; i++) {
		struct wsmsg *m = c->held[i];

		if (!c->dead && c->state == WSC_OPEN && wsid_cmp(m->id, c->last) > 0 && !wsc_push(c, m))
			slow(c);
		wsmsg_unref(m);
	}
	c->nheld = 0;
}

void
wsr_replay_events(struct wsconn *c, struct wsev *evs, size_t n, bool more)
{
	/* pushing below pumps the queue: no next batch may be asked for until this one is in */
	c->replay_more = false;
	if (!c->replaying)
		return;
	for (size_t i = 0; i < n && c->state == WSC_OPEN; i++) {
		if (evs[i].msg == NULL || !wsr_match(c, &evs[i]) || wsid_cmp(evs[i].id, c->last) <= 0)
			continue;
		if (!wsc_push(c, evs[i].msg)) {
			slow(c);
			return;
		}
		c->replayed++;
	}
	if (c->state != WSC_OPEN)
		return;
	c->replay_more = more;
	if (more)
		wsc_pump(c); /* asks for the next batch once the queue is at most half full */
	else
		finish_replay(c);
}

void
wsr_replay_gap(struct wsconn *c, const char *oldest)
{
	cJSON *o = cJSON_CreateObject();
	char since[48];

	id_text(c->cursor, since);
	cJSON_AddStringToObject(o, "type", "replay_gap");
	cJSON_AddStringToObject(o, "since", since);
	cJSON_AddStringToObject(o, "oldest_event_id", oldest);
	cJSON_AddStringToObject(o, "message", "events after since may have been trimmed from the capped events stream");
	send_obj(c, o);
}

void
wsr_replay_failed(struct wsconn *c, const char *why)
{
	send_error(c, "replay_failed", why, NULL);
	finish_replay(c);
}

void
wsr_conn_free(struct wsconn *c)
{
	owned_clear(c);
	for (size_t i = 0; i < c->nsubs; i++)
		free(c->subs[i]);
	c->nsubs = 0;
}
