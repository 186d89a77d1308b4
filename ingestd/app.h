/* app.h: the state ingestd's handlers share (one event loop, so no locking) and the API helpers. */
#ifndef INGESTD_APP_H
#define INGESTD_APP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "amount.h"
#include "conf.h"
#include "config.h"
#include "db.h"
#include "httpd.h"
#include "meters.h"
#include "reading.h"
#include "rq.h"
#include "store.h"

struct app {
	struct event_base *base;
	struct cfg *cfg;
	struct httpd *http;
	struct db *db;
	struct rq *rq;
	struct mcache *mc;
	struct store *store;
	struct wsproc *ws; /* the WebSocket service process */
	char *events_prefix;
	/* values from the configuration; the reloadable ones change on SIGHUP */
	struct rdg_limits lim;
	struct amt_ratio ratio;
	unsigned decimals;
	int64_t dup_window_us;
	size_t max_body, max_small_body;
	int batch_max, rate_per_min, rate_burst, retry_after, polling_interval, batch_size;
	uint8_t admin_hash[INGESTD_MAX_ADMIN_TOKENS][32];
	size_t nadmin;
};

/* Copies the (reloadable) values of a checked configuration into a. */
void app_apply_config(struct app *a, const struct cfg *c);

/* httpd callbacks (api.c) */
size_t api_headers(struct httpd_req *req, void *arg);
void api_request(struct httpd_req *req, void *arg);
void api_replied(const struct httpd_req *req, int status, void *arg);
size_t api_error_body(const struct httpd_req *req, int status, const char *code, const char *msg, char *buf,
    size_t bufsz);

/* Replies {"error":{"code","message","field"?},"request_id"}; headers as for httpd_reply. */
void api_error(struct httpd_req *req, int status, const char *code, const char *field, const char *headers,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* 503 with Retry-After. */
void api_unavailable(struct app *a, struct httpd_req *req, const char *what);
/* Replies with body (consumed). Adds "request_id" to error bodies only. */
void api_json(struct httpd_req *req, int status, const char *headers, cJSON *body);
/* Checks Content-Type and parses the body strictly; on failure replies (415/400) and returns NULL. */
cJSON *api_body(struct httpd_req *req);
/* Checks the bearer token; on failure replies 401 and returns false. */
bool api_admin_ok(struct app *a, struct httpd_req *req);
/* The API view of a stored reading. NULL on out of memory. */
cJSON *api_reading_json(const struct store_row *row);
/* RFC 3339 UTC string of microseconds into a cJSON object (or null when us < 0 is "unknown"). */
cJSON *api_add_ts(cJSON *o, const char *name, int64_t us);
/* A uuid in canonical lower-case text form (36 chars). */

/* submit.c */
void submit_one(struct app *a, struct httpd_req *req);
void submit_batch(struct app *a, struct httpd_req *req);
void reading_get(struct app *a, struct httpd_req *req, const char *id);

/* admin.c */
void admin_meters(struct app *a, struct httpd_req *req, const char *serial);
void admin_unminted(struct app *a, struct httpd_req *req);
void admin_status(struct app *a, struct httpd_req *req);
void admin_toggle(struct app *a, struct httpd_req *req);
void admin_trigger(struct app *a, struct httpd_req *req);
void admin_retry(struct app *a, struct httpd_req *req, const char *id);
void admin_ack_halt(struct app *a, struct httpd_req *req);

#endif
