/* main.c: ingestd entry point: CLI, configuration, migrations mode. */
#include "cli.h"
#include "conf.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

extern char **environ;

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
	log_err("ingestd: the HTTP service is not built yet");
	cfg_free(c);
	return 1;
}
