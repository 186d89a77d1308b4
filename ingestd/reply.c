/* reply.c: JSON answers: the one error shape, 503s with Retry-After, and the API's view of a stored reading. */
#include "reply.h"
#include "amount.h"
#include "rstate.h"
#include "sbuf.h"
#include "ts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
reply_error_body(const struct httpd_req *req, int status, const char *code, const char *msg, char *buf, size_t bufsz)
{
	/* Codes and messages here are httpd's own constants: no escaping needed. */
	int n = snprintf(buf, bufsz, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"},\"request_id\":\"%s\"}", code,
	    msg, req->request_id);

	(void)status;
	return n < 0 ? 0 : (size_t)n >= bufsz ? bufsz - 1 : (size_t)n;
}

static void
reply_oom(struct httpd_req *req)
{
	static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";

	httpd_reply(req, 503, "Retry-After: 1\r\n", oom, sizeof(oom) - 1);
}

void
reply_json(struct httpd_req *req, int status, const char *headers, cJSON *body)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;

	cJSON_Delete(body);
	if (text == NULL) {
		reply_oom(req);
		return;
	}
	httpd_reply(req, status, headers, text, strlen(text));
	cJSON_free(text);
}

void
reply_text(struct httpd_req *req, int status, const char *headers, struct sbuf *body)
{
	if (body->oom || body->p == NULL)
		reply_oom(req);
	else
		httpd_reply(req, status, headers, body->p, body->n);
	free(body->p);
	*body = (struct sbuf){ 0 };
}

void
reply_fail(struct httpd_req *req, const struct apierr *e, const char *headers)
{
	cJSON *o = cJSON_CreateObject(), *x = cJSON_AddObjectToObject(o, "error");

	cJSON_AddStringToObject(x, "code", e->code);
	cJSON_AddStringToObject(x, "message", e->msg);
	if (e->field != NULL)
		cJSON_AddStringToObject(x, "field", e->field);
	cJSON_AddStringToObject(o, "request_id", req->request_id);
	if (headers == NULL && e->status == 503)
		headers = "Retry-After: 1\r\n";
	reply_json(req, e->status, headers, x != NULL ? o : (cJSON_Delete(o), NULL));
}

void
reply_error(struct httpd_req *req, int status, const char *code, const char *field, const char *headers,
    const char *fmt, ...)
{
	struct apierr e = { status, code, field, "" };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	reply_fail(req, &e, headers);
}

void
reply_unavailable(struct httpd_req *req, int retry_after, const char *what)
{
	char h[48];

	snprintf(h, sizeof(h), "Retry-After: %d\r\n", retry_after);
	reply_error(req, 503, "database_unavailable", NULL, h, "%s: the database is unavailable; retry later", what);
}

cJSON *
reply_add_ts(cJSON *o, const char *name, int64_t us)
{
	char ts[TS_BUFSZ];

	if (ts_format_utc(us, ts, sizeof(ts)) == 0)
		return cJSON_AddNullToObject(o, name);
	return cJSON_AddStringToObject(o, name, ts);
}

cJSON *
reply_reading_json(const struct store_row *row)
{
	cJSON *o = cJSON_CreateObject();
	char kwh[AMT_KWH_BUFSZ], tok[AMT_U64_BUFSZ];

	if (o == NULL)
		return NULL;
	amt_format_kwh(row->kwh_micro, kwh, sizeof(kwh));
	amt_format_base_units(row->tokens, tok, sizeof(tok));
	cJSON_AddStringToObject(o, "id", row->id);
	cJSON_AddStringToObject(o, "meter_serial", row->meter_serial);
	if (row->user_id[0])
		cJSON_AddStringToObject(o, "user_id", row->user_id);
	else
		cJSON_AddNullToObject(o, "user_id");
	cJSON_AddStringToObject(o, "wallet_address", row->wallet);
	cJSON_AddStringToObject(o, "kwh_amount", kwh);
	cJSON_AddStringToObject(o, "token_amount", tok);
	reply_add_ts(o, "reading_timestamp", row->ts_us);
	reply_add_ts(o, "submitted_at", row->submitted_us);
	cJSON_AddStringToObject(o, "status", rstate_name(rstate_public(row->status)));
	return o;
}

static void
text_field(struct sbuf *b, const char *sep_name, const char *v)
{
	sbuf_str(b, sep_name);
	sbuf_json_str(b, v);
}

static void
text_ts(struct sbuf *b, const char *sep_name, int64_t us)
{
	char ts[TS_BUFSZ];

	sbuf_str(b, sep_name);
	if (ts_format_utc(us, ts, sizeof(ts)) == 0) {
		sbuf_add(b, "null", 4);
		return;
	}
	sbuf_add(b, "\"", 1);
	sbuf_str(b, ts);
	sbuf_add(b, "\"", 1);
}

/*
 * Written straight into the text, not built as cJSON and printed: an accepted reading's answer was about thirty
 * allocations that way. The unit test holds it to reply_reading_json's printed text, byte for byte.
 */
void
reply_reading_text(struct sbuf *b, const struct store_row *row)
{
	char kwh[AMT_KWH_BUFSZ], tok[AMT_U64_BUFSZ];

	amt_format_kwh(row->kwh_micro, kwh, sizeof(kwh));
	amt_format_base_units(row->tokens, tok, sizeof(tok));
	text_field(b, "{\"id\":", row->id);
	text_field(b, ",\"meter_serial\":", row->meter_serial);
	if (row->user_id[0])
		text_field(b, ",\"user_id\":", row->user_id);
	else
		sbuf_str(b, ",\"user_id\":null");
	text_field(b, ",\"wallet_address\":", row->wallet);
	text_field(b, ",\"kwh_amount\":", kwh);
	text_field(b, ",\"token_amount\":", tok);
	text_ts(b, ",\"reading_timestamp\":", row->ts_us);
	text_ts(b, ",\"submitted_at\":", row->submitted_us);
	text_field(b, ",\"status\":", rstate_name(rstate_public(row->status)));
	sbuf_add(b, "}", 1);
}
