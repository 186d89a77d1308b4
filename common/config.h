/* config.h: one table of configuration keys, read from a KEY=VALUE file and overridden by the environment. */
/*
 * Ownership: cfg_new's caller owns the struct cfg (cfg_free); the key table must outlive it. Strings
 * returned by cfg_str are the cfg's: valid until the next cfg_load into it or cfg_free.
 */
#ifndef GTX_CONFIG_H
#define GTX_CONFIG_H

#include "err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_type {
	CFG_STR,     /* free text (may be empty unless min > 0) */
	CFG_SECRET,  /* text that is never printed, logged or echoed in an error */
	CFG_INT,     /* signed 64-bit integer within [min, max] */
	CFG_BOOL,    /* true/false, yes/no, on/off, 1/0 */
	CFG_DECIMAL, /* exact non-negative decimal text, checked by the daemon (e.g. a token ratio) */
	CFG_ENUM,    /* one of the '|'-separated words in `choices` */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *def;     /* default as text; NULL means the key is required */
	bool reloadable;     /* may change on SIGHUP without a restart */
	const char *desc;    /* one line for -h and the etc/ example files */
	int64_t min, max;    /* CFG_INT bounds; CFG_STR: min = required minimum length */
	const char *choices; /* CFG_ENUM: "a|b|c" */
};

struct cfg;

/* The table must outlive the struct cfg. */
struct cfg *cfg_new(const struct cfg_key *keys, size_t nkeys);
void cfg_free(struct cfg *c);

/*
 * Loads defaults, then `path` (unless NULL), then environment variables named
 * like the keys. Every problem (unknown key, bad value, missing required key,
 * syntax) is appended to `errs` as "file:line: KEY: reason" or "KEY: reason".
 * Returns 0 when there was none, -1 otherwise (values then hold what parsed).
 */
int cfg_load(struct cfg *c, const char *path, char *const *envp, struct errlist *errs) WUR;

const char *cfg_str(const struct cfg *c, const char *name);
int64_t cfg_int(const struct cfg *c, const char *name);
bool cfg_bool(const struct cfg *c, const char *name);
/* Where a value came from: "default", "file:line" or "environment". */
const char *cfg_origin(const struct cfg *c, const char *name);

/*
 * Names of keys whose values differ between two configs of the same table
 * and are not reloadable (a reload that changes them is refused), appended
 * to errs. Returns the count.
 */
size_t cfg_diff_fixed(const struct cfg *old, const struct cfg *neu, struct errlist *errs);

/* Writes an example file: every key, its default and its one-line meaning. */
void cfg_write_example(const struct cfg_key *keys, size_t nkeys, const char *title, FILE *out);
/* Writes the -h key list. */
void cfg_write_help(const struct cfg_key *keys, size_t nkeys, FILE *out);

#endif
