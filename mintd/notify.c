/* notify.c: mintd's event payloads (amounts as exact strings), stored and published through common/events. */
#include "notify.h"
#include "amount.h"
#include "events.h"
#include "log.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

/* Stores the event in the capped stream and publishes it (one EVAL of the shared script); frees fields. */
static void
publish(redisContext *c, const char *type, cJSON *fields, const struct reading *r)
{
	struct evt_route route = { r ? r->wallet : NULL, r ? r->user : NULL, r ? r->meter : NULL };
	const char *argv[EVT_MAX_ARGS];
	size_t argvlen[EVT_MAX_ARGS];
	char maxbuf[24];
	struct evt_msg m;
	struct err e = { 0 };
	redisReply *reply;
	int argc;

	if (fields == NULL || c == NULL) {
		cJSON_Delete(fields);
		return;
	}
	if (evt_build(S.events_prefix, type, fields, &route, &m, &e) < 0) {
		cJSON_Delete(fields);
		log_warn("event not built", "event=%s err=%s", type, e.msg);
		return;
	}
	cJSON_Delete(fields);
	argc = evt_argv(&m, NULL, S.events_maxlen, maxbuf, argv, argvlen);
	reply = redisCommandArgv(c, argc, argv, argvlen);
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		log_warn("event not published", "event=%s err=%s", type, reply ? reply->str : c->errstr);
	if (reply != NULL)
		freeReplyObject(reply);
	evt_msg_free(&m);
}

void
notify_minted(redisContext *c, const struct reading *r, const char *signature)
{
	cJSON *o = cJSON_CreateObject();
	char amt[AMT_U64_BUFSZ];

	if (o == NULL)
		return;
	reading_fields(o, r);
	amt_format_base_units(r->amount, amt, sizeof(amt));
	cJSON_AddStringToObject(o, "tokens_minted", amt);
	cJSON_AddStringToObject(o, "transaction_signature", signature);
	publish(c, EVT_TOKENS_MINTED, o, r);
}

void
notify_failed(redisContext *c, const struct reading *r, const char *error, int attempts)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return;
	reading_fields(o, r);
	cJSON_AddStringToObject(o, "error", error);
	cJSON_AddNumberToObject(o, "attempts", attempts);
	publish(c, EVT_MINTING_FAILED, o, r);
}

void
notify_batch(redisContext *c, const char *batch_id, long total, long ok, long failed)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		return;
	cJSON_AddStringToObject(o, "batch_id", batch_id);
	cJSON_AddNumberToObject(o, "total_readings", (double)total);
	cJSON_AddNumberToObject(o, "successful_mints", (double)ok);
	cJSON_AddNumberToObject(o, "failed_mints", (double)failed);
	publish(c, EVT_BATCH_COMPLETED, o, NULL);
}

void
notify_halted(redisContext *c, const struct halt *h)
{
	cJSON *o = cJSON_CreateObject();
	char slot[24];

	if (o == NULL)
		return;
	snprintf(slot, sizeof(slot), "%" PRIu64, h->slot);
	cJSON_AddNumberToObject(o, "halt_id", (double)h->id);
	cJSON_AddRawToObject(o, "slot", slot);
	cJSON_AddStringToObject(o, "reason", h->reason);
	cJSON_AddStringToObject(o, "mint", S.mint_b58);
	cJSON_AddStringToObject(o, "supply", h->supply);
	cJSON_AddStringToObject(o, "expected_min", h->expected_min);
	cJSON_AddStringToObject(o, "expected_max", h->expected_max);
	cJSON_AddStringToObject(o, "instance", S.instance);
	publish(c, EVT_MINTING_HALTED, o, NULL);
}
