/* events.c: build event JSON and its channel list; the Lua script that stores and publishes it in one step. */
#include "events.h"
#include "sbuf.h"
#include "ts.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char EVT_SCRIPT[] =
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[3], 'event', ARGV[2])\n"
    "local msg = string.sub(ARGV[2], 1, -2) .. ',\"event_id\":\"' .. id .. '\"}'\n"
    "for i = 4, #ARGV do redis.call('PUBLISH', ARGV[i], msg) end\n"
    "return id\n";

static char *
join3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

static int
add_chan(struct evt_msg *m, const char *prefix, const char *mid, const char *val)
{
	char *s;

	if (mid != NULL && (val == NULL || val[0] == '\0'))
		return 0;
	if (m->nchan >= EVT_MAX_CHANNELS)
		return -1;
	if (mid == NULL)
		s = strdup(prefix);
	else
		s = join3(prefix, mid, val);
	if (s == NULL)
		return -1;
	m->chan[m->nchan++] = s;
	return 0;
}

/* One member's value: strings, null and booleans written here, anything else as cJSON prints it. */
static void
sb_json_value(struct sbuf *b, const cJSON *v)
{
	char *t;

	if (cJSON_IsString(v) && v->valuestring != NULL) {
		sbuf_json_str(b, v->valuestring);
	} else if (cJSON_IsNull(v)) {
		sbuf_add(b, "null", 4);
	} else if (cJSON_IsTrue(v) || cJSON_IsFalse(v)) {
		sbuf_add(b, cJSON_IsTrue(v) ? "true" : "false", cJSON_IsTrue(v) ? 4 : 5);
	} else if ((t = cJSON_PrintUnformatted(v)) != NULL) {
		sbuf_add(b, t, strlen(t));
		cJSON_free(t);
	} else {
		b->oom = true;
	}
}

/*
 * The JSON is written straight from fields, not through a copy of them (the copy and its printing were a
 * third of the cost of an accepted reading's event in ingestd): same text as cJSON_PrintUnformatted of the
 * copy would be.
 */
int
evt_build(const char *prefix, const char *type, const cJSON *fields, const struct evt_route *route,
    struct evt_msg *m, struct err *e)
{
	struct sbuf b = { 0 };
	bool have_ts = false;
	char ts[TS_BUFSZ];

	memset(m, 0, sizeof(*m));
	if (type == NULL || type[0] == '\0')
		return err_set(e, 0, "event without a type");
	sbuf_add(&b, "{\"type\":", 8);
	sbuf_json_str(&b, type);
	for (const cJSON *f = fields ? fields->child : NULL; f != NULL; f = f->next) {
		if (f->string == NULL || strcmp(f->string, "type") == 0)
			continue;
		have_ts = have_ts || strcmp(f->string, "timestamp") == 0;
		sbuf_add(&b, ",", 1);
		sbuf_json_str(&b, f->string);
		sbuf_add(&b, ":", 1);
		sb_json_value(&b, f);
	}
	if (!have_ts) {
		ts_format_utc(ts_now_us(), ts, sizeof(ts));
		sbuf_add(&b, ",\"timestamp\":", 13);
		sbuf_json_str(&b, ts);
	}
	sbuf_add(&b, "}", 1);
	if (b.oom)
		goto oom;
	m->json = b.p;
	m->json_len = b.n;
	b.p = NULL;
	if ((m->type = strdup(type)) == NULL || (m->stream = join3(prefix, ":stream", "")) == NULL)
		goto oom;
	if (add_chan(m, prefix, NULL, NULL) < 0 ||
	    add_chan(m, prefix, ":wallet:", route ? route->wallet : NULL) < 0 ||
	    add_chan(m, prefix, ":user:", route ? route->user_id : NULL) < 0 ||
	    add_chan(m, prefix, ":meter:", route ? route->meter_serial : NULL) < 0)
		goto oom;
	return 0;
oom:
	free(b.p);
	evt_msg_free(m);
	return err_set(e, 0, "out of memory building a %s event", type);
}

void
evt_msg_free(struct evt_msg *m)
{
	if (m == NULL)
		return;
	free(m->json);
	free(m->type);
	free(m->stream);
	for (int i = 0; i < m->nchan; i++)
		free(m->chan[i]);
	memset(m, 0, sizeof(*m));
}

int
evt_argv(const struct evt_msg *m, const char *sha, long long maxlen, char *maxbuf, const char **argv,
    size_t *argvlen)
{
	int n = 0;

#define ARG(s, l) (argv[n] = (s), argvlen[n] = (l), n++)
	if (sha != NULL) {
		ARG("EVALSHA", 7);
		ARG(sha, strlen(sha));
	} else {
		ARG("EVAL", 4);
		ARG(EVT_SCRIPT, sizeof(EVT_SCRIPT) - 1);
	}
	ARG("1", 1);
	ARG(m->stream, strlen(m->stream));
	snprintf(maxbuf, 21, "%lld", maxlen);
	ARG(maxbuf, strlen(maxbuf));
	ARG(m->json, m->json_len);
	ARG(m->type, strlen(m->type));
	for (int i = 0; i < m->nchan; i++)
		ARG(m->chan[i], strlen(m->chan[i]));
#undef ARG
	return n;
}
