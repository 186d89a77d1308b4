/* lookup.c: a reading's state for the API, with its mint transaction and retry history (one query). */
#include "lookup.h"
#include "log.h"
#include "reply.h"
#include "uuid.h"

#include <stdlib.h>
#include <string.h>

/* One lookup waiting for PostgreSQL. */
struct rget {
	struct app *a;
	struct httpd_req *req;
};

static void
on_reading(PGresult *res, void *arg)
{
	struct rget *g = arg;
	struct store_row row;
	cJSON *o;
	int c = STORE_ROW_NCOLS;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (res != NULL && !db_unavailable(res))
			log_err("reading lookup failed", "request_id=%s err=%s", g->req->request_id, db_msg(PQresultErrorMessage(res)));
		reply_unavailable(g->req, g->a->retry_after, "reading lookup");
	} else if (PQntuples(res) == 0 || store_row_from(res, 0, 0, &row) < 0) {
		reply_error(g->req, 404, "reading_not_found", NULL, NULL, "no reading with this id");
	} else if ((o = reply_reading_json(&row)) == NULL) {
		reply_error(g->req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
	} else {
		if (!PQgetisnull(res, 0, c))
			cJSON_AddStringToObject(o, "mint_tx_signature", PQgetvalue(res, 0, c));
		if (!PQgetisnull(res, 0, c + 1))
			reply_add_ts(o, "minted_at", strtoll(PQgetvalue(res, 0, c + 1), NULL, 10));
		if (!PQgetisnull(res, 0, c + 2)) {
			cJSON_AddNumberToObject(o, "attempts", atoi(PQgetvalue(res, 0, c + 2)));
			cJSON_AddStringToObject(o, "last_error", PQgetvalue(res, 0, c + 3));
			if (row.status == RS_RETRYING)
				reply_add_ts(o, "next_retry_at", strtoll(PQgetvalue(res, 0, c + 4), NULL, 10));
		}
		if (!PQgetisnull(res, 0, c + 5))
			reply_add_ts(o, "mint_after", strtoll(PQgetvalue(res, 0, c + 5), NULL, 10));
		reply_json(g->req, 200, NULL, o);
	}
	free(g);
}

void
lookup_reading(struct app *a, struct httpd_req *req, const char *id)
{
	const char *params[1] = { id };
	struct rget *g;

	if (id == NULL || !uuid_is_canonical(id, strlen(id))) {
		reply_error(req, 404, "reading_not_found", NULL, NULL, "no reading with this id (ids are lower-case uuids)");
		return;
	}
	if ((g = malloc(sizeof(*g))) == NULL) {
		reply_error(req, 503, "out_of_memory", NULL, "Retry-After: 1\r\n", "out of memory");
		return;
	}
	g->a = a;
	g->req = req;
	if (db_query(a->db, "SELECT " STORE_ROW_COLS ", r.mint_tx_signature, "
	    "(extract(epoch FROM r.minted_at) * 1000000)::bigint, q.attempts, q.error_message, "
	    "(extract(epoch FROM q.next_retry_at) * 1000000)::bigint, (extract(epoch FROM r.mint_after) * 1000000)::bigint "
	    "FROM meter_readings r LEFT JOIN minting_retry_queue q ON q.reading_id = r.id WHERE r.id = $1",
	    1, params, on_reading, g) < 0) {
		free(g);
		reply_unavailable(req, a->retry_after, "reading lookup");
	}
}
