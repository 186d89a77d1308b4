/* stream.c: consumer-group reads, reclaim and acknowledgement of the readings stream (hiredis, blocking). */
#include "stream.h"
#include "uuid.h"
#include "redisconn.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stream {
	redisContext *c;
	char *url;
	char *key;
	char *group;
	char *consumer;
	int timeout_ms;
};

static int
rerr(struct stream *s, redisReply *r, const char *what, struct err *e)
{
	if (r == NULL) {
		err_set(e, 0, "redis %s: %s", what, s->c != NULL && s->c->err ? s->c->errstr : "no reply");
		if (s->c != NULL) {
			redisFree(s->c);
			s->c = NULL;
		}
		return -1;
	}
	err_set(e, 0, "redis %s: %s", what, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	return -1;
}

static int
ensure_group(struct stream *s, struct err *e)
{
	redisReply *r = redisCommand(s->c, "XGROUP CREATE %s %s 0 MKSTREAM", s->key, s->group);

	if (r == NULL)
		return rerr(s, r, "XGROUP CREATE", e);
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
		return rerr(s, r, "XGROUP CREATE", e);
	freeReplyObject(r);
	return 0;
}

int
stream_reconnect(struct stream *s, struct err *e)
{
	if (s->c != NULL)
		redisFree(s->c);
	if ((s->c = rconn_connect(s->url, s->timeout_ms, e)) == NULL)
		return -1;
	return ensure_group(s, e);
}

struct stream *
stream_open(const char *url, const char *key, const char *group, const char *consumer, int timeout_ms,
    struct err *e)
{
	struct stream *s = xcalloc(1, sizeof(*s));

	s->url = xstrdup(url);
	s->key = xstrdup(key);
	s->group = xstrdup(group);
	s->consumer = xstrdup(consumer);
	s->timeout_ms = timeout_ms;
	if (stream_reconnect(s, e) < 0) {
		stream_close(s);
		return NULL;
	}
	return s;
}

void
stream_close(struct stream *s)
{
	if (s == NULL)
		return;
	if (s->c != NULL)
		redisFree(s->c);
	explicit_bzero(s->url, strlen(s->url));
	free(s->url);
	free(s->key);
	free(s->group);
	free(s->consumer);
	free(s);
}

bool
stream_ok(const struct stream *s)
{
	return s->c != NULL && s->c->err == 0;
}

redisContext *
stream_ctx(struct stream *s)
{
	return stream_ok(s) ? s->c : NULL;
}

/* Fills one sentry from [eid, [field, value, ...] | nil]. */
static void
entry(const redisReply *x, struct sentry *o)
{
	memset(o, 0, sizeof(*o));
	if (x->type != REDIS_REPLY_ARRAY || x->elements < 1 || x->element[0]->type != REDIS_REPLY_STRING)
		return;
	snprintf(o->eid, sizeof(o->eid), "%s", x->element[0]->str);
	if (x->elements < 2 || x->element[1]->type != REDIS_REPLY_ARRAY)
		return; /* body gone: the entry was trimmed or deleted while pending */
	const redisReply *f = x->element[1];
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING && strcmp(k->str, "reading_id") == 0 &&
		    uuid_is_canonical(v->str, v->len))
			memcpy(o->rid, v->str, 37);
	}
}

static int
entries(const redisReply *list, struct sentry **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	if (list->type != REDIS_REPLY_ARRAY || list->elements == 0)
		return 0;
	if ((*out = calloc(list->elements, sizeof(**out))) == NULL)
		return err_set(e, 0, "out of memory");
	for (size_t i = 0; i < list->elements; i++) {
		entry(list->element[i], &(*out)[*n]);
		if ((*out)[*n].eid[0] != '\0')
			(*n)++;
	}
	return 0;
}

int
stream_read(struct stream *s, bool pel, int count, struct sentry **out, size_t *n, struct err *e)
{
	redisReply *r;
	int rc;

	*out = NULL;
	*n = 0;
	if (!stream_ok(s))
		return err_set(e, 0, "redis: not connected");
	r = redisCommand(s->c, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s", s->group, s->consumer, count, s->key,
	    pel ? "0" : ">");
	if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0) {
		/* The stream or group was deleted under us: recreate and try next time. */
		freeReplyObject(r);
		return ensure_group(s, e);
	}
	if (r == NULL || (r->type != REDIS_REPLY_ARRAY && r->type != REDIS_REPLY_NIL))
		return rerr(s, r, "XREADGROUP", e);
	rc = 0;
	/* [[key, [entries]]] */
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2)
		rc = entries(r->element[0]->element[1], out, n, e);
	freeReplyObject(r);
	return rc;
}

int
stream_autoclaim(struct stream *s, long min_idle_ms, int count, char cursor[STREAM_EID_SZ], struct sentry **out,
    size_t *n, struct err *e)
{
	redisReply *r;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!stream_ok(s))
		return err_set(e, 0, "redis: not connected");
	r = redisCommand(s->c, "XAUTOCLAIM %s %s %s %ld %s COUNT %d", s->key, s->group, s->consumer, min_idle_ms,
	    cursor, count);
	if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0) {
		freeReplyObject(r);
		return ensure_group(s, e);
	}
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2)
		return rerr(s, r, "XAUTOCLAIM", e);
	if (r->element[0]->type == REDIS_REPLY_STRING)
		snprintf(cursor, STREAM_EID_SZ, "%s", r->element[0]->str);
	/* Entries whose body was deleted are listed separately (Redis 7) and already dropped from the PEL. */
	rc = entries(r->element[1], out, n, e);
	freeReplyObject(r);
	return rc;
}

/*
 * XACK, then XDEL of the same entries, pipelined: a settled entry is never read again, and nothing but mintd's
 * group reads the readings stream, so it holds only what is not settled yet. (Acknowledged and left there, every
 * accepted reading kept an entry in Redis for good, a few dozen bytes of memory each and all of them copied by
 * every AOF rewrite.) The XDEL failing loses nothing: the entry is acknowledged, and XADD's MAXLEN trims it.
 */
int
stream_ack(struct stream *s, const char *const *eids, size_t n, struct err *e)
{
	const char **argv;
	size_t *lens;
	redisReply *r = NULL, *d = NULL;
	int ok;

	if (n == 0)
		return 0;
	if (!stream_ok(s))
		return err_set(e, 0, "redis: not connected");
	argv = malloc((n + 3) * sizeof(*argv));
	lens = malloc((n + 3) * sizeof(*lens));
	if (argv == NULL || lens == NULL) {
		free(argv);
		free(lens);
		return err_set(e, 0, "out of memory");
	}
	argv[0] = "XACK";
	argv[1] = s->key;
	argv[2] = s->group;
	for (size_t i = 0; i < n; i++)
		argv[i + 3] = eids[i];
	for (size_t i = 0; i < n + 3; i++)
		lens[i] = strlen(argv[i]);
	ok = redisAppendCommandArgv(s->c, (int)(n + 3), argv, lens) == REDIS_OK;
	/* XDEL key id...: the same vector from its second slot */
	argv[1] = "XDEL";
	lens[1] = 4;
	argv[2] = s->key;
	lens[2] = strlen(s->key);
	ok = ok && redisAppendCommandArgv(s->c, (int)(n + 2), argv + 1, lens + 1) == REDIS_OK;
	free(argv);
	free(lens);
	/* Both replies are read before either is judged, so that none is left for the next command. */
	if (!ok || redisGetReply(s->c, (void **)&r) != REDIS_OK)
		return rerr(s, NULL, "XACK", e);
	if (redisGetReply(s->c, (void **)&d) != REDIS_OK) {
		freeReplyObject(r);
		return rerr(s, NULL, "XDEL", e);
	}
	if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(d);
		return rerr(s, r, "XACK", e);
	}
	freeReplyObject(r);
	if (d == NULL || d->type != REDIS_REPLY_INTEGER)
		return rerr(s, d, "XDEL", e);
	freeReplyObject(d);
	return 0;
}
