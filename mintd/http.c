/* http.c: evhttp server for health, readiness and Prometheus metrics on a loopback port. */
#include "http.h"
#include "mintd.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct evhttp *srv;
static bool (*is_ready)(void);

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
metrics(struct evbuffer *b)
{
	uint64_t minted = M.readings_minted;

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
	metric(b, "mintd_sends_total", "counter", "sendTransaction calls, rebroadcasts included.", "", M.sends);
	metric(b, "mintd_confirmed_transaction_wallets_total", "counter",
	    "Wallets served by confirmed transactions (divide by confirmed transactions for wallets per transaction).",
	    "", M.wallets_in_confirmed);
	metric(b, "mintd_fee_lamports_total", "counter", "Fees of mint transactions that landed, in lamports.", "",
	    M.fee_lamports);
	metric(b, "mintd_token_accounts_created_total", "counter",
	    "Token accounts created by confirmed transactions (rent 2039280 lamports each for SPL Token).", "",
	    M.atas_created);
	evbuffer_add_printf(b, "# HELP mintd_fee_lamports_per_minted_reading Fees divided by readings minted.\n"
			       "# TYPE mintd_fee_lamports_per_minted_reading gauge\n"
			       "mintd_fee_lamports_per_minted_reading %" PRIu64 ".%03" PRIu64 "\n",
	    minted ? M.fee_lamports / minted : 0, minted ? (M.fee_lamports % minted) * 1000 / minted : 0);
	metric(b, "mintd_backlog_readings", "gauge", "Readings neither minted nor dead-lettered.", "",
	    (uint64_t)M.backlog);
	metric(b, "mintd_retry_queue_readings", "gauge", "Readings waiting for a retry.", "", (uint64_t)M.retry_queue);
	metric(b, "mintd_inflight_transactions", "gauge", "Transactions of this instance not yet final.", "",
	    (uint64_t)M.inflight);
	evbuffer_add_printf(b, "# HELP mintd_mint_latency_seconds Reading submission to mint.\n"
			       "# TYPE mintd_mint_latency_seconds summary\n"
			       "mintd_mint_latency_seconds_sum %" PRIu64 ".%06" PRIu64 "\n"
			       "mintd_mint_latency_seconds_count %" PRIu64 "\n",
	    M.mint_latency_us_sum / 1000000, M.mint_latency_us_sum % 1000000, M.mint_latency_count);
	metric(b, "mintd_rpc_errors_total", "counter", "Failed Solana RPC calls.", "", M.rpc_errors);
	metric(b, "mintd_db_errors_total", "counter", "Failed PostgreSQL statements.", "", M.db_errors);
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
		bool ok = is_ready();

		evbuffer_add_printf(b, ok ? "ready\n" : "not ready\n");
		reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "text/plain", b);
	} else if (strcmp(uri, "/metrics") == 0) {
		metrics(b);
		reply(req, 200, "OK", "text/plain; version=0.0.4", b);
	} else {
		evhttp_send_error(req, 404, "Not Found");
	}
	evbuffer_free(b);
}

int
http_start(struct event_base *base, const char *listen, bool (*ready)(void), struct err *e)
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
	is_ready = ready;
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
