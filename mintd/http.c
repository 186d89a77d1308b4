/* http.c: evhttp server for health, readiness and Prometheus metrics on a loopback port. */
#include "http.h"
#include "alt.h"
#include "audit_job.h"
#include "chain.h"
#include "mintd.h"
#include "supply.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct evhttp *srv;
static const char *(*not_ready)(void);
static const struct rpcm *rpc;

static void
reply(struct evhttp_request *req, int code, const char *reason, const char *ctype, struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evhttp_send_reply(req, code, reason, body);
}

static void
metric(struct evbuffer *b, const char *name, const char *type, const char *help, const char *labels, uint64_t v)
{
	if (help != NULL)
		evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	evbuffer_add_printf(b, "%s%s %" PRIu64 "\n", name, labels, v);
}

static void
gauge(struct evbuffer *b, const char *name, const char *help, int64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRId64 "\n", name, help, name, name, v);
}

static void
metrics(struct evbuffer *b)
{
	const struct alt_gauges *ag = alt_gauges(false);
	static const char *const nonce_states[5] = { "new", "free", "reserved", "busy", "advanced" };
	const struct chain_facts *cf = chain_facts();
	uint64_t minted = M.readings_minted;
	struct rpcm_stats rs;

	metric(b, "mintd_readings_minted_total", "counter", "Readings minted (confirmed on chain).", "", minted);
	metric(b, "mintd_readings_failed_total", "counter", "Readings dead-lettered after the last attempt.", "",
	    M.readings_failed);
	metric(b, "mintd_readings_retried_total", "counter", "Failed attempts charged to readings.", "",
	    M.readings_retried);
	metric(b, "mintd_transactions_total", "counter", "Mint transactions by outcome.", "{state=\"sent\"}",
	    M.tx_sent);
	metric(b, "mintd_transactions_total", "counter", NULL, "{state=\"confirmed\"}", M.tx_confirmed);
	metric(b, "mintd_transactions_total", "counter", NULL, "{state=\"expired\"}", M.tx_expired);
	metric(b, "mintd_transactions_total", "counter", NULL, "{state=\"failed\"}", M.tx_failed);
	metric(b, "mintd_transactions_total", "counter", NULL, "{state=\"abandoned\"}", M.tx_abandoned);
	metric(b, "mintd_sends_total", "counter", "sendTransaction calls, rebroadcasts included.", "", M.sends);
	metric(b, "mintd_confirmed_transaction_wallets_total", "counter",
	    "Wallets served by confirmed transactions (divide by confirmed transactions for wallets per transaction).",
	    "", M.wallets_in_confirmed);
	metric(b, "mintd_fee_lamports_total", "counter", "Fees of transactions that landed, in lamports.", "",
	    M.fee_lamports);
	metric(b, "mintd_token_accounts_created_total", "counter",
	    "Token accounts created by confirmed transactions (rent 2039280 lamports each for SPL Token).", "",
	    M.atas_created);
	metric(b, "mintd_token_accounts_forgotten_total", "counter",
	    "Token accounts dropped from the cache after a mint to them failed (closed by their owner?).", "",
	    M.atas_forgotten);
	evbuffer_add_printf(b, "# HELP mintd_fee_lamports_per_minted_reading Fees divided by readings minted.\n"
			       "# TYPE mintd_fee_lamports_per_minted_reading gauge\n"
			       "mintd_fee_lamports_per_minted_reading %" PRIu64 ".%03" PRIu64 "\n",
	    minted ? M.fee_lamports / minted : 0, minted ? (M.fee_lamports % minted) * 1000 / minted : 0);
	gauge(b, "mintd_backlog_readings", "Readings neither minted nor dead-lettered.", M.g.backlog);
	gauge(b, "mintd_retry_queue_readings", "Readings waiting for a retry.", M.g.retry);
	gauge(b, "mintd_window_waiting_readings",
	    "Readings waiting for their wallet's minting window (TOKENIZATION_WALLET_MIN_INTERVAL_SECS).", M.g.waiting);
	gauge(b, "mintd_dead_letter_readings", "Readings dead-lettered (status failed) until an operator re-queues them.",
	    M.g.dead);
	gauge(b, "mintd_oldest_unminted_age_seconds", "Age of the oldest reading neither minted nor dead-lettered.",
	    M.g.oldest_age_s);
	gauge(b, "mintd_oldest_pending_transaction_age_seconds", "Age of the oldest recorded transaction not yet final.",
	    M.g.oldest_pending_tx_age_s);
	gauge(b, "mintd_inflight_transactions", "Transaction groups of this instance not yet final.", M.inflight);
	evbuffer_add_printf(b, "# HELP mintd_nonce_accounts Durable-nonce pool entries by state.\n"
			       "# TYPE mintd_nonce_accounts gauge\n");
	for (int i = 0; i < 5; i++)
		evbuffer_add_printf(b, "mintd_nonce_accounts{state=\"%s\"} %" PRId64 "\n", nonce_states[i], M.nonces[i]);
	evbuffer_add_printf(b, "# HELP mintd_mint_latency_seconds Reading submission to mint.\n"
			       "# TYPE mintd_mint_latency_seconds summary\n"
			       "mintd_mint_latency_seconds_sum %" PRIu64 ".%06" PRIu64 "\n"
			       "mintd_mint_latency_seconds_count %" PRIu64 "\n",
	    M.mint_latency_us_sum / 1000000, M.mint_latency_us_sum % 1000000, M.mint_latency_count);
	rpcm_stats(rpc, &rs);
	metric(b, "mintd_rpc_requests_total", "counter", "Solana RPC HTTP requests sent (retries after a 429 included).",
	    "", rs.requests);
	evbuffer_add_printf(b, "# HELP mintd_rpc_errors_total Failed Solana RPC calls by kind.\n"
			       "# TYPE mintd_rpc_errors_total counter\n");
	for (int k = 1; k < RPC_E_COUNT; k++)
		evbuffer_add_printf(b, "mintd_rpc_errors_total{kind=\"%s\"} %" PRIu64 "\n", rpc_errkind_name(k),
		    rs.errors[k]);
	metric(b, "mintd_rpc_contradictions_total", "counter",
	    "RPC answers that contradicted each other in time (no verdict was drawn from them).", "", M.contradictions);
	gauge(b, "mintd_rpc_up", "The Solana RPC node answered its last health probe.", cf->rpc_up);
	gauge(b, "mintd_rpc_slots_behind", "Slots the RPC node says it is behind (0 when caught up or unknown).",
	    (int64_t)cf->slots_behind);
	gauge(b, "mintd_rpc_history_available", "The RPC node searches transaction history (-32011 makes it 0).",
	    !cf->history_unavailable);
	gauge(b, "mintd_priority_fee_microlamports", "Compute-unit price new transactions pay.", (int64_t)cf->fee_micro);
	gauge(b, "mintd_payer_balance_lamports", "Lamports of the payer (mint authority); -1 until known.",
	    cf->payer_known ? (int64_t)cf->payer_lamports : -1);
	gauge(b, "mintd_payer_balance_low", "The payer holds less than MINTD_PAYER_WARN_LAMPORTS, or cannot pay.",
	    cf->payer_short || (cf->payer_known && cf->payer_lamports < S.payer_warn_lamports));
	gauge(b, "mintd_minting_halted", "The supply invariant broke: no new work until an operator acknowledges.",
	    supply_halted(NULL));
	metric(b, "mintd_supply_checks_total", "counter", "Supply invariant checks made.", "", M.supply_checks);
	metric(b, "mintd_halts_raised_total", "counter", "Minting halts this instance raised.", "", M.halts_raised);
	gauge(b, "mintd_database_up", "The PostgreSQL connection is usable.", M.db_up);
	gauge(b, "mintd_redis_up", "The Redis connection is usable.", M.redis_up);
	metric(b, "mintd_db_errors_total", "counter", "Failed PostgreSQL statements.", "", M.db_errors);
	metric(b, "mintd_v0_transactions_total", "counter",
	    "Mint transactions sent as v0 messages loading token accounts from lookup tables.", "", M.tx_v0);
	metric(b, "mintd_cu_simulations_total", "counter", "Transactions whose compute-unit limit a simulation set.",
	    "{outcome=\"ok\"}", M.simulations);
	metric(b, "mintd_cu_simulations_total", "counter", NULL, "{outcome=\"fallback\"}", M.simulation_fallbacks);
	metric(b, "mintd_lookup_table_transactions_total", "counter",
	    "Lookup-table creations and extensions by outcome.", "{state=\"sent\"}", M.alt_tx_sent);
	metric(b, "mintd_lookup_table_transactions_total", "counter", NULL, "{state=\"confirmed\"}", M.alt_tx_confirmed);
	metric(b, "mintd_lookup_table_transactions_total", "counter", NULL, "{state=\"failed\"}", M.alt_tx_failed);
	gauge(b, "mintd_lookup_tables", "Lookup tables read back at finalized and usable.", ag->usable_tables);
	gauge(b, "mintd_lookup_table_accounts", "Token accounts the usable lookup tables hold.", ag->accounts);
	evbuffer_add_printf(b, "# HELP mintd_lookup_table_entries Token accounts on their way into lookup tables, by "
			       "state.\n# TYPE mintd_lookup_table_entries gauge\n");
	evbuffer_add_printf(b, "mintd_lookup_table_entries{state=\"queued\"} %" PRId64 "\n", ag->queued);
	evbuffer_add_printf(b, "mintd_lookup_table_entries{state=\"extending\"} %" PRId64 "\n", ag->extending);
	evbuffer_add_printf(b, "mintd_lookup_table_entries{state=\"added\"} %" PRId64 "\n", ag->added);
	auditjob_metrics(b);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "Method Not Allowed");
	} else if (strcmp(uri, "/healthz") == 0) {
		evbuffer_add_printf(b, "ok\n");
		reply(req, 200, "OK", "text/plain", b);
	} else if (strcmp(uri, "/readyz") == 0) {
		const char *why = not_ready();

		if (why == NULL)
			evbuffer_add_printf(b, "ready\n");
		else
			evbuffer_add_printf(b, "not ready: %s\n", why);
		reply(req, why == NULL ? 200 : 503, why == NULL ? "OK" : "Service Unavailable", "text/plain", b);
	} else if (strcmp(uri, "/metrics") == 0) {
		metrics(b);
		reply(req, 200, "OK", "text/plain; version=0.0.4", b);
	} else {
		evhttp_send_error(req, 404, "Not Found");
	}
	evbuffer_free(b);
}

int
http_start(struct event_base *base, const char *listen, const char *(*ready)(void), const struct rpcm *r,
    struct err *e)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	size_t hl;
	long port;

	if (colon == NULL || (hl = (size_t)(colon - listen)) == 0 || hl >= sizeof(host))
		return err_set(e, 0, "MINTD_LISTEN: must be host:port");
	memcpy(host, listen, hl);
	host[hl] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return err_set(e, 0, "MINTD_LISTEN: bad port");
	not_ready = ready;
	rpc = r;
	if ((srv = evhttp_new(base)) == NULL)
		return err_set(e, 0, "evhttp_new failed");
	evhttp_set_allowed_methods(srv, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_gencb(srv, handle, NULL);
	if (evhttp_bind_socket(srv, host, (ev_uint16_t)port) != 0) {
		evhttp_free(srv);
		srv = NULL;
		return err_set(e, 0, "cannot listen on %s", listen);
	}
	return 0;
}

void
http_stop(void)
{
	if (srv != NULL)
		evhttp_free(srv);
	srv = NULL;
}
