/* notify.c: event JSON (snake_case types as the platform used, amounts as exact strings) and Redis fan-out. */
#include "notify.h"
#include "amount.h"
#include "log.h"
#include "ts.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *
base(const char *type)
{
	cJSON *o = cJSON_CreateObject();
	char ts[TS_BUFSZ];

	ts_format_utc(ts_now_us(), ts, sizeof(ts));
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "timestamp", ts);
	return o;
}

static void
reading_fields(cJSON *o, const struct reading *r)
{
	char kwh[AMT_KWH_BUFSZ];

	cJSON_AddStringToObject(o, "reading_id", r->id);
	if (r->user[0] != '\0')
		cJSON_AddStringToObject(o, "user_id", r->user);
	else
		cJSON_AddNullToObject(o, "user_id");
	cJSON_AddStringToObject(o, "wallet_address", r->wallet);
	cJSON_AddStringToObject(o, "meter_serial", r->meter);
	amt_format_kwh_trim(r->kwh_micro, kwh, sizeof(kwh));
	cJSON_AddStringToObject(o, "kwh_amount", kwh);
}

static void
fanout(redisContext *c, cJSON *o, const char *type, const struct reading *r)
{
	char *json = cJSON_PrintUnformatted(o);
	char ch[3][200], maxlen[24], key[200];
	int n = 0, sent = 0;

	cJSON_Delete(o);
	if (json == NULL || c == NULL) {
		free(json);
		return;
	}
	snprintf(key, sizeof(key), "%s:stream", S.events_prefix);
	snprintf(maxlen, sizeof(maxlen), "%ld", S.events_maxlen);
	if (redisAppendCommand(c, "XADD %s MAXLEN ~ %s * type %s data %s", key, maxlen, type, json) == REDIS_OK)
		sent++;
	if (redisAppendCommand(c, "PUBLISH %s %s", S.events_prefix, json) == REDIS_OK)
		sent++;
	if (r != NULL) {
		snprintf(ch[n++], sizeof(ch[0]), "%s:wallet:%s", S.events_prefix, r->wallet);
		snprintf(ch[n++], sizeof(ch[0]), "%s:meter:%s", S.events_prefix, r->meter);
		if (r->user[0] != '\0')
			snprintf(ch[n++], sizeof(ch[0]), "%s:user:%s", S.events_prefix, r->user);
	}
	for (int i = 0; i < n; i++)
		if (redisAppendCommand(c, "PUBLISH %s %s", ch[i], json) == REDIS_OK)
			sent++;
	for (int i = 0; i < sent; i++) {
		void *reply = NULL;

		if (redisGetReply(c, &reply) != REDIS_OK) {
			log_warn("event %s not published: %s", type, c->errstr);
			break;
		}
		freeReplyObject(reply);
	}
	free(json);
}

void
notify_minted(redisContext *c, const struct reading *r, const char *signature)
{
	cJSON *o = base("tokens_minted");
	char amt[AMT_U64_BUFSZ];

	reading_fields(o, r);
	amt_format_base_units(r->amount, amt, sizeof(amt));
	cJSON_AddStringToObject(o, "tokens_minted", amt);
	cJSON_AddStringToObject(o, "transaction_signature", signature);
	fanout(c, o, "tokens_minted", r);
}

void
notify_failed(redisContext *c, const struct reading *r, const char *error, int attempts)
{
	cJSON *o = base("minting_failed");

	reading_fields(o, r);
	cJSON_AddStringToObject(o, "error", error);
	cJSON_AddNumberToObject(o, "attempts", attempts);
	fanout(c, o, "minting_failed", r);
}

void
notify_batch(redisContext *c, const char *batch_id, long total, long ok, long failed)
{
	cJSON *o = base("batch_minting_completed");

	cJSON_AddStringToObject(o, "batch_id", batch_id);
	cJSON_AddNumberToObject(o, "total_readings", (double)total);
	cJSON_AddNumberToObject(o, "successful_mints", (double)ok);
	cJSON_AddNumberToObject(o, "failed_mints", (double)failed);
	fanout(c, o, "batch_minting_completed", NULL);
}
