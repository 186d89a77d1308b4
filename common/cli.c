/* cli.c: shared option parsing and the -n configuration check. */
#include "cli.h"
#include "migrate.h"
#include "pgconn.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
usage(FILE *out, const struct cli_prog *p)
{
	fprintf(out, "usage: %s [-%sdEhmnvV] [-f file]%s\n%s\n\n"
	    "  -f file  configuration file (KEY=VALUE lines; environment variables override it)\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -v       more verbose logging (repeat for debug)\n"
	    "  -n       check the configuration, print every error or \"configuration OK\", exit 0/1\n"
	    "  -m       apply the database migrations (SQL_DIR) and exit\n", p->name, p->audit != NULL ? "A" : "",
	    p->audit != NULL ? " [--json]" : "", p->summary);
	if (p->audit != NULL)
		fprintf(out,
		    "  -A       audit: every wallet's on-chain balance and the mint's supply (finalized) against the\n"
		    "           database; a table of mismatches; exit 0 all agree, 1 mismatch, 3 could not complete\n"
		    "  --json   with -A: one JSON document instead of the table\n");
	fprintf(out,
	    "  -E       print an example configuration file (every key, default, meaning) and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n");
}

enum cli_result
cli_parse(int argc, char **argv, const struct cli_prog *p, struct cli_opts *o)
{
	static const struct option longopts[] = { { "json", no_argument, NULL, 'J' }, { NULL, 0, NULL, 0 } };
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, p->audit != NULL ? "f:dvVhnmEA" : "f:dvVhnmE", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->conf_path = optarg;
			break;
		case 'd':
			o->foreground = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'm':
			o->migrate = true;
			break;
		case 'A':
			o->audit = true;
			break;
		case 'J':
			o->json = true;
			break;
		case 'V':
			printf("%s %s\n", p->name, GTX_VERSION);
			return CLI_EXIT_OK;
		case 'E':
			/* etc/<prog>.conf.example is generated from the key table with -E, so it cannot drift. */
			cfg_write_example(p->keys, p->nkeys, p->summary, stdout);
			return CLI_EXIT_OK;
		case 'h':
			usage(stdout, p);
			printf("\nconfiguration keys:\n");
			cfg_write_help(p->keys, p->nkeys, stdout);
			return CLI_EXIT_OK;
		default:
			usage(stderr, p);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", p->name, argv[optind]);
		usage(stderr, p);
		return CLI_EXIT_USAGE;
	}
	if (o->json && !o->audit) {
		fprintf(stderr, "%s: --json goes with -A\n", p->name);
		usage(stderr, p);
		return CLI_EXIT_USAGE;
	}
	return CLI_RUN;
}

int
cli_check_config(struct cfg *c, const struct cli_opts *o, char *const *envp,
    void (*extra)(const struct cfg *, struct errlist *))
{
	struct errlist errs = { 0 };
	int rc;

	rc = cfg_load(c, o->conf_path, envp, &errs);
	if (extra != NULL)
		extra(c, &errs);
	if (rc == 0 && errs.n == 0) {
		printf("configuration OK\n");
		errlist_free(&errs);
		return 0;
	}
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.v[i]);
	errlist_free(&errs);
	return 1;
}

int
cli_migrate(const struct cfg *c)
{
	struct err e = { 0 };
	PGconn *conn;
	int applied = 0;

	if ((conn = pgc_connect(cfg_str(c, "DATABASE_URL"), "gridtokenx-migrate", &e)) == NULL) {
		fprintf(stderr, "migrate: cannot connect to the database: %s\n", e.msg);
		return 1;
	}
	if (mig_apply(conn, cfg_str(c, "SQL_DIR"), &applied, &e) < 0) {
		fprintf(stderr, "migrate: %s\n", e.msg);
		PQfinish(conn);
		return 1;
	}
	PQfinish(conn);
	printf("migrations: %d applied, schema up to date\n", applied);
	return 0;
}

bool
cli_boot(int argc, char **argv, char *const *envp, const struct cli_prog *p, struct cli_opts *o,
    struct cfg **cfg, int *status)
{
	struct errlist errs = { 0 };
	struct cfg *c;

	*cfg = NULL;
	switch (cli_parse(argc, argv, p, o)) {
	case CLI_EXIT_OK:
		*status = 0;
		return false;
	case CLI_EXIT_USAGE:
		*status = 2;
		return false;
	case CLI_RUN:
		break;
	}
	c = cfg_new(p->keys, p->nkeys);
	if (o->check_only) {
		*status = cli_check_config(c, o, envp, p->check);
		cfg_free(c);
		return false;
	}
	if (cfg_load(c, o->conf_path, envp, &errs) < 0 || (p->check != NULL && (p->check(c, &errs), errs.n > 0))) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s: %s\n", p->name, errs.v[i]);
		if (errs.n == 0)
			errlist_add(&errs, "the configuration could not be loaded");
		*status = o->audit ? p->audit(c, o, &errs) : 1;
		errlist_free(&errs);
		cfg_free(c);
		return false;
	}
	errlist_free(&errs);
	if (o->migrate) {
		*status = cli_migrate(c);
		cfg_free(c);
		return false;
	}
	if (o->audit) {
		*status = p->audit(c, o, &errs);
		cfg_free(c);
		return false;
	}
	*cfg = c;
	return true;
}
