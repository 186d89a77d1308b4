/* main.c: ingestd entry point: CLI, configuration, migrations mode. */
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "wsserver.h"

#include <event2/event.h>
#include <signal.h>

#include <stdio.h>
#include <stdlib.h>

extern char **environ;

static void
on_term(evutil_socket_t sig, short what, void *base)
{
	(void)sig, (void)what;
	event_base_loopexit(base, NULL);
}

int
main(int argc, char **argv)
{
	struct cli_opts o;
	struct cfg *c;
	struct errlist errs = { 0 };
	int rc;

	switch (cli_parse(argc, argv, "ingestd", "ingestd: accepts signed smart-meter readings over HTTP",
	    ingestd_keys, ingestd_nkeys, &o)) {
	case CLI_EXIT_OK:
		return 0;
	case CLI_EXIT_USAGE:
		return 2;
	case CLI_RUN:
		break;
	}
	c = cfg_new(ingestd_keys, ingestd_nkeys);
	if (o.check_only) {
		rc = cli_check_config(c, &o, environ, ingestd_conf_check);
		cfg_free(c);
		return rc;
	}
	if (cfg_load(c, o.conf_path, environ, &errs) < 0 || (ingestd_conf_check(c, &errs), errs.n > 0)) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "ingestd: %s\n", errs.v[i]);
		errlist_free(&errs);
		cfg_free(c);
		return 1;
	}
	if (o.migrate) {
		rc = cli_migrate(c);
		cfg_free(c);
		return rc;
	}
	log_open("ingestd", LOG_LVL_INFO, true);
	/* Until the HTTP API lands, the loop serves only the WebSocket events service. */
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct event *term = evsignal_new(base, SIGTERM, on_term, base), *intr = evsignal_new(base, SIGINT, on_term, base);
	struct err e = { 0 };
	struct wss *ws = wss_start(base, c, &e);
	if (ws == NULL)
		fatal("websocket: %s", e.msg);
	evsignal_add(term, NULL);
	evsignal_add(intr, NULL);
	event_base_dispatch(base);
	wss_stop(ws);
	event_free(term);
	event_free(intr);
	event_base_free(base);
	cfg_free(c);
	return 0;
}
