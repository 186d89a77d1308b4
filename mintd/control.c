/* control.c: a LISTENing PostgreSQL connection watched by the event loop. */
#include "control.h"
#include "log.h"
#include "mint.h"
#include "pgconn.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static PGconn *conn;
static struct event *ev;
static struct event_base *evb;
static char *url;
static time_t next_try;

static void
handle(const char *payload)
{
	cJSON *o = cJSON_Parse(payload);
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "action");

	if (cJSON_IsString(a) && strcmp(a->valuestring, "trigger_batch") == 0) {
		log_info("control: trigger batch");
		mint_trigger();
	} else if (cJSON_IsString(a) && strcmp(a->valuestring, "auto_mint") == 0) {
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(o, "enabled");

		if (cJSON_IsBool(en))
			mint_set_auto(cJSON_IsTrue(en));
		else
			log_warn("control: auto_mint without a boolean \"enabled\"");
	} else if (cJSON_IsString(a) && strcmp(a->valuestring, "halt_acknowledged") == 0) {
		log_notice("control: a minting halt was acknowledged");
		mint_halt_changed();
	} else {
		log_warn("control: ignoring notification (unknown action)");
	}
	cJSON_Delete(o);
}

static void
drop(void)
{
	if (ev != NULL)
		event_free(ev);
	ev = NULL;
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	PGnotify *n;

	(void)fd;
	(void)what;
	(void)arg;
	if (PQconsumeInput(conn) == 0) {
		log_warn("control connection lost", "err=%s", PQerrorMessage(conn));
		drop();
		return;
	}
	while ((n = PQnotifies(conn)) != NULL) {
		handle(n->extra);
		PQfreemem(n);
	}
}

static int
connect_listen(struct err *e)
{
	PGresult *r;

	if ((conn = pgc_connect(url, "mintd-control", e)) == NULL)
		return -1;
	r = PQexec(conn, "LISTEN " CONTROL_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pgc_err(e, conn, r);
		PQclear(r);
		drop();
		return -1;
	}
	PQclear(r);
	if ((ev = event_new(evb, PQsocket(conn), EV_READ | EV_PERSIST, on_read, NULL)) == NULL ||
	    event_add(ev, NULL) != 0) {
		drop();
		return err_set(e, 0, "cannot watch the control connection");
	}
	/* A trigger may have come while we were not listening. */
	mint_trigger();
	return 0;
}

int
control_start(struct event_base *base, const char *db_url, struct err *e)
{
	evb = base;
	url = xstrdup(db_url);
	return connect_listen(e);
}

void
control_check(void)
{
	struct err e = { 0 };

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
		return;
	if (time(NULL) < next_try)
		return;
	next_try = time(NULL) + 2;
	drop();
	if (connect_listen(&e) < 0)
		log_warn("control connection failed", "err=%s", e.msg);
	else
		log_notice("control connection re-established");
}

void
control_stop(void)
{
	drop();
	if (url != NULL) {
		explicit_bzero(url, strlen(url));
		free(url);
	}
	url = NULL;
}
