/* cli.c: shared option parsing and the -n configuration check. */
#include "cli.h"
#include "migrate.h"
#include "pgconn.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
usage(FILE *out, const char *prog, const char *summary)
{
	fprintf(out, "usage: %s [-dEhmnvV] [-f file]\n%s\n\n"
	    "  -f file  configuration file (KEY=VALUE lines; environment variables override it)\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -v       more verbose logging (repeat for debug)\n"
	    "  -n       check the configuration, print every error or \"configuration OK\", exit 0/1\n"
	    "  -m       apply the database migrations (SQL_DIR) and exit\n"
	    "  -E       print an example configuration file (every key, default, meaning) and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n", prog, summary);
}

enum cli_result
cli_parse(int argc, char **argv, const char *prog, const char *summary,
    const struct cfg_key *keys, size_t nkeys, struct cli_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt(argc, argv, "f:dvVhnmE")) != -1) {
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
		case 'V':
			printf("%s %s\n", prog, GTX_VERSION);
			return CLI_EXIT_OK;
		case 'E':
			/* etc/<prog>.conf.example is generated from the key table with -E, so it cannot drift. */
			cfg_write_example(keys, nkeys, summary, stdout);
			return CLI_EXIT_OK;
		case 'h':
			usage(stdout, prog, summary);
			printf("\nconfiguration keys:\n");
			cfg_write_help(keys, nkeys, stdout);
			return CLI_EXIT_OK;
		default:
			usage(stderr, prog, summary);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", prog, argv[optind]);
		usage(stderr, prog, summary);
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
	switch (cli_parse(argc, argv, p->name, p->summary, p->keys, p->nkeys, o)) {
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
		errlist_free(&errs);
		cfg_free(c);
		*status = 1;
		return false;
	}
	errlist_free(&errs);
	if (o->migrate) {
		*status = cli_migrate(c);
		cfg_free(c);
		return false;
	}
	*cfg = c;
	return true;
}
