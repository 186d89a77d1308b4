/* cli.h: the command line both daemons share: -f -d -v -V -h -n -m -E (and mintd's -A audit). */
#ifndef GTX_CLI_H
#define GTX_CLI_H

#include "err.h"
#include <stdbool.h>

#include "config.h"

struct cli_opts {
	const char *conf_path; /* -f FILE, NULL when absent */
	bool foreground;       /* -d: stay in the foreground, log to stderr */
	int verbose;           /* -v (repeatable): raise the log level */
	bool check_only;       /* -n: check the configuration and exit */
	bool migrate;          /* -m: apply sql/ migrations and exit */
	bool audit;            /* -A: audit the chain against the database and exit (programs with an audit) */
	bool json;             /* --json: with -A, one JSON document instead of the table */
};

enum cli_result { CLI_RUN = 0, CLI_EXIT_OK = 1, CLI_EXIT_USAGE = 2 };

/* The exit status of an audit that could not be completed (a bad configuration included); 2 is a usage error. */
#define CLI_EXIT_AUDIT_INCOMPLETE 3

/*
 * The -n check: loads the configuration, prints every error (and extra
 * problems from `extra`, which may be NULL) or "configuration OK". Returns the
 * process exit status (0/1).
 */
int cli_check_config(struct cfg *c, const struct cli_opts *o, char *const *envp,
    void (*extra)(const struct cfg *, struct errlist *));

/* What cli_boot needs to know about a daemon. */
struct cli_prog {
	const char *name;
	const char *summary;
	const struct cfg_key *keys;
	size_t nkeys;
	void (*check)(const struct cfg *, struct errlist *); /* cross-key checks; may be NULL */
	/*
	 * -A: runs the audit with the loaded configuration and returns the exit status; called also when the
	 * configuration has errors (errs->n > 0, already printed), so that it reports them its way. NULL: no -A.
	 */
	int (*audit)(const struct cfg *, const struct cli_opts *, const struct errlist *errs);
};

/*
 * Parses argv. -V, -E and -h print to stdout and return CLI_EXIT_OK; a bad
 * option prints usage to stderr and returns CLI_EXIT_USAGE.
 */
enum cli_result cli_parse(int argc, char **argv, const struct cli_prog *p, struct cli_opts *o);

/*
 * The start of both daemons' main(): parses argv, handles -V -h -E -n -m -A, and
 * loads and checks the configuration (printing every error). Returns true
 * with *cfg set (caller frees) when the daemon should run; otherwise false
 * with the process exit status in *status (with -A, the audit's, a bad
 * configuration included).
 */
bool cli_boot(int argc, char **argv, char *const *envp, const struct cli_prog *p, struct cli_opts *o,
    struct cfg **cfg, int *status) WUR;

/* The -m mode: connects to DATABASE_URL, applies SQL_DIR, prints the outcome. Returns the exit status. */
int cli_migrate(const struct cfg *c) WUR;

#endif
