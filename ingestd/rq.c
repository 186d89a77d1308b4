/* rq.c: hiredis async on the libevent loop: pipelined XADD and event scripts, backlog and reconnect with backoff. */
#include "rq.h"
#include "backoff.h"
#include "log.h"
#include "redisconn.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#define ID_LEN 37

struct rq {
	struct event_base *base;
	struct redis_url url;
	char *stream;
	long long maxlen;
	size_t max_inflight;
	redisAsyncContext *ac;
	bool up;
	bool freeing;
	struct event *timer;
	struct backoff bo;
	char sha[41];
	/* ring of reading ids waiting for Redis */
	char (*ring)[ID_LEN];
	size_t cap, head, n;
	size_t inflight;
	struct rq_stats st;
	bool logged_down;
};

static void rq_connect(struct rq *q);
static void flush_backlog(struct rq *q);

static void
backlog_add(struct rq *q, const char *id)
{
	if (q->ring == NULL && q->cap > 0 && (q->ring = calloc(q->cap, ID_LEN)) == NULL)
		q->cap = 0;
	if (q->n >= q->cap) {
		/* mintd's sweep of pending rows still finds it; only the fast path is lost. */
		q->st.backlog_dropped++;
		return;
	}
	memcpy(q->ring[(q->head + q->n) % q->cap], id, ID_LEN);
	q->n++;
}

static void
schedule_reconnect(struct rq *q)
{
	uint32_t ms = backoff_next(&q->bo);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (!q->freeing)
		evtimer_add(q->timer, &tv);
}

static void
went_down(struct rq *q, const char *why)
{
	if (q->freeing)
		return;
	if (!q->logged_down)
		log_warn("redis unreachable; reading ids are kept in a backlog and mintd also sweeps", "err=%s backlog_cap=%zu", why, q->cap);
	q->logged_down = true;
	q->up = false;
	q->ac = NULL;
	schedule_reconnect(q);
}

static void
on_xadd(redisAsyncContext *ac, void *r, void *priv)
{
	struct rq *q = ac->data;
	redisReply *reply = r;
	char *id = priv;

	q->inflight--;
	if (reply == NULL)
		q->up = false; /* the connection is going away: send nothing more on it */
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		q->st.push_failures++;
		if (reply != NULL)
			log_warn("reading not queued on redis; kept in the backlog", "reading_id=%s err=%s", id, reply->str);
		backlog_add(q, id); /* retried after the next (re)connect */
	} else {
		q->st.pushed++;
	}
	free(id);
	if (reply != NULL)
		flush_backlog(q);
}

static bool
send_xadd(struct rq *q, const char *id)
{
	const char *argv[5] = { "XADD", q->stream, "*", "reading_id", NULL };
	size_t argvlen[5] = { 4, strlen(q->stream), 1, 10, ID_LEN - 1 };
	char *copy = malloc(ID_LEN);

	if (copy == NULL) {
		backlog_add(q, id);
		return false;
	}
	memcpy(copy, id, ID_LEN);
	argv[4] = copy;
	if (redisAsyncCommandArgv(q->ac, on_xadd, copy, 5, argv, argvlen) != REDIS_OK) {
		free(copy);
		q->st.push_failures++;
		backlog_add(q, id);
		return false;
	}
	q->inflight++;
	return true;
}

static void
flush_backlog(struct rq *q)
{
	while (q->up && q->n > 0 && q->inflight < q->max_inflight) {
		char id[ID_LEN];

		memcpy(id, q->ring[q->head], ID_LEN);
		q->head = (q->head + 1) % q->cap;
		q->n--;
		if (!send_xadd(q, id))
			break;
	}
}

void
rq_push_reading(struct rq *q, const char *reading_id)
{
	char id[ID_LEN] = { 0 };

	strncpy(id, reading_id, ID_LEN - 1);
	if (!q->up || q->inflight >= q->max_inflight || q->n > 0) {
		backlog_add(q, id);
		flush_backlog(q);
		return;
	}
	send_xadd(q, id);
}

static void
on_event_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct rq *q = ac->data;
	redisReply *reply = r;

	(void)priv;
	q->inflight--;
	if (reply == NULL)
		q->up = false;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		q->st.events_dropped++;
		if (reply != NULL) {
			log_warn("redis event publish failed", "err=%s", reply->str);
			if (strncmp(reply->str, "NOSCRIPT", 8) == 0)
				q->sha[0] = '\0'; /* fall back to EVAL until the next SCRIPT LOAD */
		}
	} else {
		q->st.events_published++;
	}
	flush_backlog(q);
}

void
rq_publish(struct rq *q, struct evt_msg *m)
{
	const char *argv[EVT_MAX_ARGS];
	size_t argvlen[EVT_MAX_ARGS];
	char maxbuf[24];
	int argc;

	if (!q->up || q->inflight >= q->max_inflight) {
		q->st.events_dropped++;
		evt_msg_free(m);
		return;
	}
	argc = evt_argv(m, q->sha[0] ? q->sha : NULL, q->maxlen, maxbuf, argv, argvlen);
	if (redisAsyncCommandArgv(q->ac, on_event_reply, NULL, argc, argv, argvlen) == REDIS_OK)
		q->inflight++;
	else
		q->st.events_dropped++;
	evt_msg_free(m);
}

static void
on_script(redisAsyncContext *ac, void *r, void *priv)
{
	struct rq *q = ac->data;
	redisReply *reply = r;

	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING && reply->len == 40)
		memcpy(q->sha, reply->str, 41);
	else if (reply != NULL)
		log_warn("redis SCRIPT LOAD failed", "err=%s", reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
}

static void
on_handshake(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;

	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		/* Never echo the reply of AUTH: keep it generic. */
		log_err("redis AUTH/SELECT refused; disconnecting");
		redisAsyncDisconnect(ac);
	}
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct rq *q = ac->data;

	if (status != REDIS_OK) {
		went_down(q, ac->errstr);
		return;
	}
	q->up = true;
	backoff_reset(&q->bo);
	if (q->logged_down || q->st.pushed == 0)
		log_notice("redis reachable", "backlog=%zu", q->n);
	q->logged_down = false;
	flush_backlog(q);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rq *q = ac->data;

	(void)status;
	went_down(q, ac->errstr[0] ? ac->errstr : "connection closed");
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rq_connect(arg);
}

static void
rq_connect(struct rq *q)
{
	redisAsyncContext *ac;
	char db[16];

	if (q->url.unix_path[0] != '\0')
		ac = redisAsyncConnectUnix(q->url.unix_path);
	else
		ac = redisAsyncConnect(q->url.host, q->url.port);
	if (ac == NULL) {
		went_down(q, "out of memory");
		return;
	}
	if (ac->err) {
		char why[128];

		snprintf(why, sizeof(why), "%s", ac->errstr);
		redisAsyncFree(ac);
		went_down(q, why);
		return;
	}
	ac->data = q;
	if (redisLibeventAttach(ac, q->base) != REDIS_OK) {
		redisAsyncFree(ac);
		went_down(q, "cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	q->ac = ac;
	/* Queued before anything else on this connection; replies come in order. */
	if (q->url.password[0] != '\0') {
		if (q->url.user[0] != '\0')
			redisAsyncCommand(ac, on_handshake, NULL, "AUTH %s %s", q->url.user, q->url.password);
		else
			redisAsyncCommand(ac, on_handshake, NULL, "AUTH %s", q->url.password);
	}
	if (q->url.db != 0) {
		snprintf(db, sizeof(db), "%d", q->url.db);
		redisAsyncCommand(ac, on_handshake, NULL, "SELECT %s", db);
	}
	redisAsyncCommand(ac, on_script, NULL, "SCRIPT LOAD %s", EVT_SCRIPT);
}

struct rq *
rq_new(struct event_base *base, const struct rq_opts *o, struct err *e)
{
	struct rq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return err_set(e, 0, "out of memory"), NULL;
	if (rurl_parse(o->url, &q->url, e) < 0) {
		free(q);
		return NULL;
	}
	q->base = base;
	q->stream = strdup(o->stream);
	q->maxlen = o->events_maxlen;
	q->cap = o->backlog_max;
	q->max_inflight = o->max_inflight;
	q->timer = evtimer_new(base, on_timer, q);
	if (q->stream == NULL || q->timer == NULL) {
		rq_free(q);
		return err_set(e, 0, "out of memory"), NULL;
	}
	backoff_init(&q->bo, 100, 2000);
	q->logged_down = false;
	rq_connect(q);
	return q;
}

void
rq_free(struct rq *q)
{
	if (q == NULL)
		return;
	q->freeing = true;
	if (q->ac != NULL) {
		redisAsyncContext *ac = q->ac;

		q->ac = NULL;
		redisAsyncFree(ac); /* pending callbacks run with NULL replies */
	}
	if (q->timer)
		event_free(q->timer);
	rurl_clear(&q->url);
	free(q->ring);
	free(q->stream);
	free(q);
}

bool
rq_up(const struct rq *q)
{
	return q->up;
}

void
rq_stats(const struct rq *q, struct rq_stats *s)
{
	*s = q->st;
	s->backlog = q->n;
	s->inflight = q->inflight;
	s->up = q->up;
}

void
rq_set_maxlen(struct rq *q, long long maxlen)
{
	q->maxlen = maxlen;
}
