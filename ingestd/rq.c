/*
 * rq.c: hiredis async on the libevent loop: reading ids and events go to Redis in one script call per loop
 * turn, with a backlog of ids and reconnect with backoff.
 *
 * A group commit answers all its readings in one turn of the loop, and each wants its id on the readings
 * stream and its event published. Sent one by one that was an XADD and an EVALSHA per reading; rq now
 * gathers what one turn asks for (at most BATCH_MAX items) and sends it as one EVALSHA of RQ_SCRIPT, which
 * does the same XADDs, the same event XADD and PUBLISHes (EVT_SCRIPT's, event by event) inside Redis. Its
 * reply settles the whole batch: on success every id was added and every event published; on an error or a
 * lost connection the ids go to the backlog (an id added twice is harmless: mintd claims by state) and the
 * events are dropped and counted, as one by one. The backlog goes out the same way once Redis is back.
 */
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
/* ids and events in one script call: a few hundred microseconds of Redis at most */
enum { BATCH_MAX = 128 };

/*
 * KEYS[1] readings stream, KEYS[2] events stream; ARGV[1] events maxlen, ARGV[2] readings maxlen, ARGV[3] the
 * number n of reading ids, ARGV[4 .. 3 + n] the ids, then per event: json, type, the number of channels, the
 * channels. Each event is stored and published as EVT_SCRIPT does it. Returns n.
 *
 * The readings stream is capped too (MAXLEN ~, REDIS_READINGS_STREAM_MAXLEN): mintd deletes the entries it has
 * settled, so it holds only the backlog, but while mintd is away nothing else would bound it, and Redis would
 * keep one entry per accepted reading (and its AOF rewrite copy them all) until memory runs out. An entry
 * trimmed before mintd read it loses nothing: the reading is pending in PostgreSQL, and mintd's sweep claims it
 * from there.
 */
static const char RQ_SCRIPT[] =
    "local n = tonumber(ARGV[3])\n"
    "for i = 4, 3 + n do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'reading_id', ARGV[i]) end\n"
    "local i = 4 + n\n"
    "while i <= #ARGV do\n"
    "  local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[i + 1], 'event', ARGV[i])\n"
    "  local msg = string.sub(ARGV[i], 1, -2) .. ',\"event_id\":\"' .. id .. '\"}'\n"
    "  local nc = tonumber(ARGV[i + 2])\n"
    "  for c = i + 3, i + 2 + nc do redis.call('PUBLISH', ARGV[c], msg) end\n"
    "  i = i + 3 + nc\n"
    "end\n"
    "return n\n";

static const char *const NCHAN[EVT_MAX_CHANNELS + 1] = { "0", "1", "2", "3", "4" };
_Static_assert(EVT_MAX_CHANNELS == 4, "NCHAN spells 0..EVT_MAX_CHANNELS");

/* What one script call carries, for its reply. */
struct batch {
	size_t nid, nev;
	char ids[][ID_LEN];
};

struct rq {
	struct event_base *base;
	struct redis_url url;
	char *stream;
	long long maxlen, readings_maxlen; /* of the events stream, of the readings stream */
	size_t max_inflight;
	redisAsyncContext *ac;
	bool up;
	bool freeing;
	struct event *timer;
	struct backoff bo;
	char rq_sha[41]; /* RQ_SCRIPT's, once loaded on this connection */
	/* what this loop turn asked for, sent by on_flush */
	char pend_id[BATCH_MAX][ID_LEN];
	struct evt_msg pend_ev[BATCH_MAX];
	size_t npend_id, npend_ev;
	struct event *flush_ev;
	/* ring of reading ids waiting for Redis */
	char (*ring)[ID_LEN];
	size_t cap, head, n;
	size_t inflight;
	struct rq_stats st;
	bool logged_down;
};

static void rq_connect(struct rq *q);
static void flush_backlog(struct rq *q);
static void gathered(struct rq *q);

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

/*
 * Moves backlog ids into this turn's batch while Redis takes them. Ids that come back (a batch that could not be
 * sent goes back to the backlog) wait for the next call: each id is looked at once per call.
 */
static void
flush_backlog(struct rq *q)
{
	for (size_t k = q->n; k > 0 && q->up && q->n > 0 && q->inflight + q->npend_id + q->npend_ev < q->max_inflight; k--) {
		memcpy(q->pend_id[q->npend_id++], q->ring[q->head], ID_LEN);
		q->head = (q->head + 1) % q->cap;
		q->n--;
		gathered(q);
	}
}

static void
on_batch_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct rq *q = ac->data;
	redisReply *reply = r;
	struct batch *bt = priv;

	q->inflight -= bt->nid + bt->nev;
	if (reply == NULL)
		q->up = false;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		if (reply != NULL) {
			log_warn("redis batch failed; its reading ids are kept in the backlog", "ids=%zu events=%zu err=%s",
			    bt->nid, bt->nev, reply->str);
			if (strncmp(reply->str, "NOSCRIPT", 8) == 0)
				q->rq_sha[0] = '\0'; /* EVAL until the next SCRIPT LOAD */
		}
		q->st.push_failures += bt->nid;
		q->st.events_dropped += bt->nev;
		for (size_t i = 0; i < bt->nid; i++)
			backlog_add(q, bt->ids[i]);
	} else {
		q->st.pushed += bt->nid;
		q->st.events_published += bt->nev;
	}
	free(bt);
	if (reply != NULL)
		flush_backlog(q);
}

/* Forgets what this turn gathered: ids to the backlog, events dropped. */
static void
drop_pending(struct rq *q)
{
	for (size_t i = 0; i < q->npend_id; i++)
		backlog_add(q, q->pend_id[i]);
	for (size_t i = 0; i < q->npend_ev; i++)
		evt_msg_free(&q->pend_ev[i]);
	q->st.events_dropped += q->npend_ev;
	q->npend_id = q->npend_ev = 0;
}

/* Sends what this turn gathered as one RQ_SCRIPT call. */
static void
flush_pending(struct rq *q)
{
	/* EVALSHA sha 2 readings events events-maxlen readings-maxlen n, then the ids and the events */
	size_t nid = q->npend_id, nev = q->npend_ev, argc = 0, max = 8 + nid, k;
	const char **argv = NULL;
	size_t *argvlen = NULL;
	char maxbuf[24], rmaxbuf[24], nbuf[24];
	struct batch *bt = NULL;
	bool sent = false;

	if (nid == 0 && nev == 0)
		return;
	for (size_t i = 0; i < nev; i++)
		max += 3 + (size_t)q->pend_ev[i].nchan;
	if (!q->up || q->ac == NULL || (argv = malloc(max * sizeof(*argv))) == NULL ||
	    (argvlen = malloc(max * sizeof(*argvlen))) == NULL ||
	    (bt = malloc(sizeof(*bt) + nid * ID_LEN)) == NULL)
		goto out;
#define ARG(s, l) (argv[argc] = (s), argvlen[argc] = (l), argc++)
	if (q->rq_sha[0] != '\0') {
		ARG("EVALSHA", 7);
		ARG(q->rq_sha, 40);
	} else {
		ARG("EVAL", 4);
		ARG(RQ_SCRIPT, sizeof(RQ_SCRIPT) - 1);
	}
	ARG("2", 1);
	ARG(q->stream, strlen(q->stream));
	/* events of one prefix share its stream (rq_publish flushes before one of another prefix) */
	ARG(nev > 0 ? q->pend_ev[0].stream : q->stream, strlen(nev > 0 ? q->pend_ev[0].stream : q->stream));
	snprintf(maxbuf, sizeof(maxbuf), "%lld", q->maxlen);
	ARG(maxbuf, strlen(maxbuf));
	snprintf(rmaxbuf, sizeof(rmaxbuf), "%lld", q->readings_maxlen);
	ARG(rmaxbuf, strlen(rmaxbuf));
	snprintf(nbuf, sizeof(nbuf), "%zu", nid);
	ARG(nbuf, strlen(nbuf));
	for (size_t i = 0; i < nid; i++)
		ARG(q->pend_id[i], ID_LEN - 1);
	for (size_t i = 0; i < nev; i++) {
		struct evt_msg *m = &q->pend_ev[i];

		ARG(m->json, m->json_len);
		ARG(m->type, strlen(m->type));
		ARG(NCHAN[m->nchan], 1);
		for (int c = 0; c < m->nchan; c++)
			ARG(m->chan[c], strlen(m->chan[c]));
	}
#undef ARG
	bt->nid = nid;
	bt->nev = nev;
	memcpy(bt->ids, q->pend_id, nid * ID_LEN);
	if (redisAsyncCommandArgv(q->ac, on_batch_reply, bt, (int)argc, argv, argvlen) == REDIS_OK) {
		q->inflight += nid + nev;
		sent = true;
	}
out:
	free(argv);
	free(argvlen);
	if (!sent) {
		free(bt);
		q->st.push_failures += nid;
		drop_pending(q);
		return;
	}
	for (k = 0; k < nev; k++)
		evt_msg_free(&q->pend_ev[k]);
	q->npend_id = q->npend_ev = 0;
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_pending(arg);
}

/* Something was gathered: send it once this loop turn's callbacks are done (at once when the batch is full). */
static void
gathered(struct rq *q)
{
	if (q->npend_id + q->npend_ev >= BATCH_MAX)
		flush_pending(q);
	else
		event_active(q->flush_ev, EV_TIMEOUT, 0); /* again while active: one run */
}

void
rq_push_reading(struct rq *q, const char *reading_id)
{
	char id[ID_LEN] = { 0 };

	strncpy(id, reading_id, ID_LEN - 1);
	if (!q->up || q->inflight + q->npend_id + q->npend_ev >= q->max_inflight || q->n > 0) {
		backlog_add(q, id);
		flush_backlog(q);
		return;
	}
	memcpy(q->pend_id[q->npend_id++], id, ID_LEN);
	gathered(q);
}

void
rq_publish(struct rq *q, struct evt_msg *m)
{
	if (!q->up || q->inflight + q->npend_id + q->npend_ev >= q->max_inflight) {
		q->st.events_dropped++;
		evt_msg_free(m);
		return;
	}
	if (q->npend_ev > 0 && strcmp(q->pend_ev[0].stream, m->stream) != 0)
		flush_pending(q);
	q->pend_ev[q->npend_ev++] = *m; /* the batch owns its strings now */
	memset(m, 0, sizeof(*m));
	gathered(q);
}

static void
on_script(redisAsyncContext *ac, void *r, void *priv)
{
	struct rq *q = ac->data;
	redisReply *reply = r;

	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING && reply->len == 40)
		memcpy(q->rq_sha, reply->str, 41);
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
	redisAsyncCommand(ac, on_script, NULL, "SCRIPT LOAD %s", RQ_SCRIPT);
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
	q->readings_maxlen = o->readings_maxlen;
	q->cap = o->backlog_max;
	q->max_inflight = o->max_inflight;
	q->timer = evtimer_new(base, on_timer, q);
	q->flush_ev = event_new(base, -1, 0, on_flush, q);
	if (q->stream == NULL || q->timer == NULL || q->flush_ev == NULL) {
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
	if (q->flush_ev)
		event_free(q->flush_ev);
	for (size_t i = 0; i < q->npend_ev; i++)
		evt_msg_free(&q->pend_ev[i]);
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
	s->inflight = q->inflight + q->npend_id + q->npend_ev; /* gathered and not yet sent counts: the drain waits */
	s->up = q->up;
}

void
rq_set_maxlen(struct rq *q, long long events_maxlen, long long readings_maxlen)
{
	q->maxlen = events_maxlen;
	q->readings_maxlen = readings_maxlen;
}
