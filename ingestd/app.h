/* app.h: the state ingestd's handlers share (one event loop, so no locking). Errors: apierr.h. */
#ifndef INGESTD_APP_H
#define INGESTD_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "admintok.h"
#include "amount.h"
#include "conf.h"
#include "config.h"
#include "db.h"
#include "httpd.h"
#include "meters.h"
#include "ratelim.h"
#include "sigq.h"
#include "reading.h"
#include "rq.h"
#include "store.h"

/*
 * One per process, owned by main (static storage): every pointer is main's, created at start-up and freed
 * at exit; handlers borrow them for the length of a request.
 */
struct app {
	struct event_base *base;
	struct cfg *cfg;
	struct httpd *http;
	struct db *db;
	struct rq *rq;
	struct mcache *mc;
	struct ratelim *rl; /* per-meter and per-address rates, shared with the other workers */
	struct store *store;
	struct sigq *sq; /* the signature checks of the current loop turn */
	struct wsproc *ws; /* the WebSocket service process */
	char *events_prefix;
	/* values from the configuration; the reloadable ones change on SIGHUP */
	struct rdg_limits lim;
	struct amt_ratio ratio;
	unsigned decimals;
	int64_t dup_window_us;
	size_t max_body, max_small_body;
	int batch_max, rate_per_min, rate_burst, retry_after, polling_interval, batch_size;
	struct admintok admin;
};

/* Copies the (reloadable) values of a checked configuration into a (main.c). */
void app_apply_config(struct app *a, const struct cfg *c);

#endif
