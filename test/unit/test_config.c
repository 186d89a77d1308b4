/* test_config.c: the configuration table: defaults, file, environment, and every error named. */
#include "t.h"

#include "config.h"

#include <stdlib.h>
#include <unistd.h>

static const struct cfg_key keys[] = {
	{ "NAME", CFG_STR, "x", true, "a name", 1, 0, NULL },
	{ "PASSWORD", CFG_SECRET, NULL, false, "a secret", 8, 0, NULL },
	{ "COUNT", CFG_INT, "5", true, "a count", 1, 100, NULL },
	{ "FLAG", CFG_BOOL, "false", true, "a flag", 0, 0, NULL },
	{ "MODE", CFG_ENUM, "fast", false, "a mode", 0, 0, "fast|slow" },
	{ "RATIO", CFG_DECIMAL, "1.0", false, "a ratio", 0, 0, NULL },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char *
write_tmp(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/gtx-cfg-XXXXXX");
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static bool
has_error(const struct errlist *l, const char *needle)
{
	for (size_t i = 0; i < l->n; i++)
		if (strstr(l->v[i], needle) != NULL)
			return true;
	return false;
}

TEST(config_defaults_file_env)
{
	char *path = write_tmp("# comment\n\nNAME = from-file\nCOUNT=7\nFLAG=yes\nPASSWORD=\"s3cret-pw\"\n");
	static char v1[] = "COUNT=9", v2[] = "UNRELATED=1";
	char *envp[] = { v1, v2, NULL };
	struct cfg *c = cfg_new(keys, NKEYS);
	struct errlist errs = { 0 };

	CHECK_INT(cfg_load(c, path, envp, &errs), 0);
	CHECK_INT(errs.n, 0);
	CHECK_STR(cfg_str(c, "NAME"), "from-file");
	CHECK_STR(cfg_str(c, "PASSWORD"), "s3cret-pw");
	CHECK_INT(cfg_int(c, "COUNT"), 9); /* the environment wins */
	CHECK_STR(cfg_origin(c, "COUNT"), "environment");
	CHECK(cfg_bool(c, "FLAG"));
	CHECK_STR(cfg_str(c, "MODE"), "fast");
	CHECK_STR(cfg_origin(c, "MODE"), "default");
	errlist_free(&errs);
	cfg_free(c);
	unlink(path);
}

TEST(config_every_error_is_reported_with_file_line)
{
	char *path = write_tmp("NAME=\nBOGUS=1\nCOUNT=101\nCOUNT=abc\nFLAG=maybe\nMODE=medium\nRATIO=1e3\nno equals sign\n"
			       "PASSWORD=short\n");
	struct cfg *c = cfg_new(keys, NKEYS);
	struct errlist errs = { 0 };
	char want[128];

	CHECK_INT(cfg_load(c, path, NULL, &errs), -1);
	snprintf(want, sizeof(want), "%s:1: NAME: must not be empty", path);
	CHECK(has_error(&errs, want));
	snprintf(want, sizeof(want), "%s:2: BOGUS: unknown key", path);
	CHECK(has_error(&errs, want));
	CHECK(has_error(&errs, ":3: COUNT: 101 is out of range 1..100"));
	CHECK(has_error(&errs, ":4: COUNT: not an integer"));
	CHECK(has_error(&errs, ":4: COUNT: set twice"));
	CHECK(has_error(&errs, ":5: FLAG: not a boolean"));
	CHECK(has_error(&errs, ":6: MODE: must be one of fast|slow"));
	CHECK(has_error(&errs, ":7: RATIO: not a plain decimal"));
	CHECK(has_error(&errs, ":8: expected KEY=VALUE"));
	CHECK(has_error(&errs, ":9: PASSWORD: must be at least 8 characters"));
	/* a secret's value never appears in an error */
	for (size_t i = 0; i < errs.n; i++)
		CHECK(strstr(errs.v[i], "short") == NULL);
	errlist_free(&errs);
	cfg_free(c);
	unlink(path);
}

TEST(config_required_and_missing_file)
{
	struct cfg *c = cfg_new(keys, NKEYS);
	struct errlist errs = { 0 };

	CHECK_INT(cfg_load(c, "/nonexistent/gtx.conf", NULL, &errs), -1);
	CHECK(has_error(&errs, "/nonexistent/gtx.conf: cannot open"));
	CHECK(has_error(&errs, "PASSWORD: required but not set"));
	errlist_free(&errs);
	cfg_free(c);
}

TEST(config_reload_refuses_fixed_keys)
{
	static char a1[] = "PASSWORD=aaaaaaaa", a2[] = "COUNT=1", b1[] = "PASSWORD=bbbbbbbb", b2[] = "COUNT=2";
	char *e1[] = { a1, a2, NULL }, *e2[] = { b1, b2, NULL };
	struct cfg *a = cfg_new(keys, NKEYS), *b = cfg_new(keys, NKEYS);
	struct errlist errs = { 0 };

	CHECK_INT(cfg_load(a, NULL, e1, &errs), 0);
	CHECK_INT(cfg_load(b, NULL, e2, &errs), 0);
	CHECK_INT(cfg_diff_fixed(a, b, &errs), 1); /* PASSWORD changed; COUNT is reloadable */
	CHECK(has_error(&errs, "PASSWORD: cannot change on reload"));
	errlist_free(&errs);
	cfg_free(a);
	cfg_free(b);
}
