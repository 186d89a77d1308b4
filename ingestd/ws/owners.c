/*
 * owners.c: meter ownership for the WebSocket service on the asynchronous libpq pool: nothing here waits.
 * A request outlives its caller when needed (a deadline passed, the client left): the database answer is
 * then dropped when it arrives.
 */
#include "owners.h"

#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNERS_SQL "SELECT wallet_address, meter_serial FROM meters WHERE user_id = $1::uuid " \
	"ORDER BY meter_serial LIMIT 512"

struct owners {
	struct event_base *base;
	struct db *db;
	int timeout_ms;
};

struct owners_req {
	struct owners *o;
	struct event *timer;
	owners_fn fn; /* NULL once answered (deadline) or cancelled */
	void *arg;
	bool queuing;     /* inside db_query: a broken connection answers from in there */
	bool failed_sync; /* ... and it did */
};

struct owners *
owners_new(struct event_base *base, const char *dburl, int nconn, int timeout_ms)
{
	struct owners *o = calloc(1, sizeof(*o));
	struct db_opts dbo = { 0 };

	if (o == NULL)
		return NULL;
	o->base = base;
	o->timeout_ms = timeout_ms;
	dbo.url = dburl;
	dbo.app_name = "ingestd-ws";
	dbo.nconn = nconn;
	dbo.max_queue = 1000;
	if ((o->db = db_new(base, &dbo)) == NULL) {
		free(o);
		return NULL;
	}
	return o;
}

void
owners_free(struct owners *o)
{
	if (o == NULL)
		return;
	db_free(o->db); /* answers every job (NULL): the requests free themselves */
	free(o);
}

void
owners_set_timeout(struct owners *o, int timeout_ms)
{
	o->timeout_ms = timeout_ms;
}

void
owners_list_free(char **owned, size_t n)
{
	for (size_t i = 0; owned != NULL && i < n; i++)
		free(owned[i]);
	free(owned);
}

static char *
channel(const char *kind, const char *v)
{
	size_t n = strlen(kind) + strlen(v) + 1;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s%s", kind, v);
	return s;
}

static void
answer(struct owners_req *r, char **owned, size_t n, bool unavailable)
{
	owners_fn fn = r->fn;

	r->fn = NULL;
	evtimer_del(r->timer);
	if (fn != NULL)
		fn(r->arg, owned, n, unavailable);
	else
		owners_list_free(owned, n);
}

static void
on_result(PGresult *res, void *arg)
{
	struct owners_req *r = arg;
	char **owned = NULL;
	size_t n = 0;
	bool ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;

	if (r->queuing) {
		r->failed_sync = true; /* owners_lookup returns NULL: the caller answers */
		return;
	}
	if (ok && r->fn != NULL) {
		int rows = PQntuples(res);

		if ((owned = calloc((size_t)rows * 2 + 1, sizeof(*owned))) == NULL)
			ok = false;
		for (int i = 0; ok && i < rows; i++) {
			if ((owned[n] = channel("wallet:", PQgetvalue(res, i, 0))) == NULL ||
			    (owned[n + 1] = channel("meter:", PQgetvalue(res, i, 1))) == NULL) {
				owners_list_free(owned, n + 2);
				owned = NULL;
				n = 0;
				ok = false;
				break;
			}
			n += 2;
		}
	}
	answer(r, ok ? owned : NULL, ok ? n : 0, !ok);
	event_free(r->timer);
	free(r);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	answer(arg, NULL, 0, /* unavailable= */ true); /* the database answer, when it comes, frees r */
}

struct owners_req *
owners_lookup(struct owners *o, const char *user, owners_fn fn, void *arg)
{
	struct owners_req *r = calloc(1, sizeof(*r));
	const char *params[1] = { user };
	struct timeval tv = { o->timeout_ms / 1000, (suseconds_t)(o->timeout_ms % 1000) * 1000 };

	if (r == NULL || (r->timer = evtimer_new(o->base, on_timeout, r)) == NULL) {
		free(r);
		return NULL;
	}
	r->o = o;
	r->fn = fn;
	r->arg = arg;
	evtimer_add(r->timer, &tv);
	r->queuing = true;
	if (db_query(o->db, OWNERS_SQL, 1, params, on_result, r) < 0 || r->failed_sync) {
		event_free(r->timer);
		free(r);
		return NULL;
	}
	r->queuing = false;
	return r;
}

void
owners_cancel(struct owners_req *r)
{
	if (r != NULL) {
		r->fn = NULL;
		evtimer_del(r->timer);
	}
}
