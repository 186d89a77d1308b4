/* msg.c: event ids, refcounted frames and the parsing of event JSON into routing fields. */
#include "msg.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_EVENT_MAX (1024 * 1024)

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

void
wsid_text(struct wsid id, char out[48])
{
	snprintf(out, 48, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

struct wsmsg *
wsmsg_new(enum ws_opcode op, const void *payload, size_t len)
{
	unsigned char h[10];
	size_t hl = wsf_header(h, op, len);
	struct wsmsg *m = malloc(sizeof(*m) + hl + len);

	if (m == NULL)
		return NULL;
	m->refs = 1;
	m->id = (struct wsid){ 0, 0 };
	m->len = hl + len;
	memcpy(m->data, h, hl);
	if (len)
		memcpy(m->data + hl, payload, len);
	return m;
}

struct wsmsg *
wsmsg_ref(struct wsmsg *m)
{
	m->refs++;
	return m;
}

void
wsmsg_unref(struct wsmsg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

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
