/* events.c: build event JSON and its channel list; the Lua script that stores and publishes it in one step. */
#include "events.h"
#include "ts.h"

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

int
evt_build(const char *prefix, const char *type, const cJSON *fields, const struct evt_route *route,
    struct evt_msg *m, struct err *e)
{
	cJSON *o = NULL, *dup;
	char ts[TS_BUFSZ];

	memset(m, 0, sizeof(*m));
	if (type == NULL || type[0] == '\0')
		return err_set(e, 0, "event without a type");
	if ((o = cJSON_CreateObject()) == NULL || cJSON_AddStringToObject(o, "type", type) == NULL)
		goto oom;
	for (const cJSON *f = fields ? fields->child : NULL; f != NULL; f = f->next) {
		if (f->string == NULL || strcmp(f->string, "type") == 0)
			continue;
		if ((dup = cJSON_Duplicate(f, 1)) == NULL)
			goto oom;
		cJSON_AddItemToObject(o, f->string, dup);
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "timestamp") == NULL) {
		ts_format_utc(ts_now_us(), ts, sizeof(ts));
		if (cJSON_AddStringToObject(o, "timestamp", ts) == NULL)
			goto oom;
	}
	if ((m->json = cJSON_PrintUnformatted(o)) == NULL || (m->type = strdup(type)) == NULL ||
	    (m->stream = join3(prefix, ":stream", "")) == NULL)
		goto oom;
	m->json_len = strlen(m->json);
	if (add_chan(m, prefix, NULL, NULL) < 0 ||
	    add_chan(m, prefix, ":wallet:", route ? route->wallet : NULL) < 0 ||
	    add_chan(m, prefix, ":user:", route ? route->user_id : NULL) < 0 ||
	    add_chan(m, prefix, ":meter:", route ? route->meter_serial : NULL) < 0)
		goto oom;
	cJSON_Delete(o);
	return 0;
oom:
	cJSON_Delete(o);
	evt_msg_free(m);
	return err_set(e, 0, "out of memory building a %s event", type);
}

void
evt_msg_free(struct evt_msg *m)
{
	if (m == NULL)
		return;
	if (m->json != NULL)
		cJSON_free(m->json);
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
