/* config.c: parse KEY=VALUE files and environment overrides against a key table, collecting every error. */
#include "config.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cfg_val {
	char *text;   /* normalized text of the value */
	int64_t i;    /* CFG_INT */
	bool b;       /* CFG_BOOL */
	char origin[320];
};

struct cfg {
	const struct cfg_key *keys;
	size_t n;
	struct cfg_val *v;
};

struct cfg *
cfg_new(const struct cfg_key *keys, size_t nkeys)
{
	struct cfg *c = xcalloc(1, sizeof(*c));

	c->keys = keys;
	c->n = nkeys;
	c->v = xcalloc(nkeys, sizeof(*c->v));
	return c;
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].text != NULL && c->keys[i].type == CFG_SECRET)
			explicit_bzero(c->v[i].text, strlen(c->v[i].text));
		free(c->v[i].text);
	}
	free(c->v);
	free(c);
}

static ssize_t
find(const struct cfg *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->keys[i].name) == len && memcmp(c->keys[i].name, name, len) == 0)
			return (ssize_t)i;
	return -1;
}

static const struct cfg_val *
val(const struct cfg *c, const char *name)
{
	ssize_t i = find(c, name, strlen(name));

	if (i < 0) {
		/* A programming error: the daemon asked for a key its table lacks. */
		fprintf(stderr, "BUG: unknown configuration key %s\n", name);
		abort();
	}
	return &c->v[i];
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *yes[] = { "1", "true", "yes", "on" }, *no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

static bool
in_choices(const char *choices, const char *s)
{
	size_t n = strlen(s);

	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, s, n) == 0)
			return true;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return false;
}

static bool
is_decimal(const char *s)
{
	size_t digits = 0, dots = 0;

	for (const char *p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (isdigit((unsigned char)*p))
			digits++;
		else
			return false;
	}
	return digits > 0 && dots <= 1 && s[0] != '.' && s[strlen(s) - 1] != '.';
}

/* Checks and stores one value; on error appends "where: KEY: reason" (never the value of a secret). */
static int
set_one(struct cfg *c, size_t i, const char *text, const char *where, struct errlist *errs)
{
	const struct cfg_key *k = &c->keys[i];
	struct cfg_val *v = &c->v[i];
	int64_t iv = 0;
	bool bv = false;

	switch (k->type) {
	case CFG_INT: {
		char *end;

		errno = 0;
		long long ll = strtoll(text, &end, 10);
		if (text[0] == '\0' || *end != '\0' || errno != 0 || isspace((unsigned char)text[0])) {
			errlist_add(errs, "%s: %s: not an integer: \"%s\"", where, k->name, text);
			return -1;
		}
		if (ll < k->min || ll > k->max) {
			errlist_add(errs, "%s: %s: %lld is out of range %lld..%lld", where, k->name, ll,
			    (long long)k->min, (long long)k->max);
			return -1;
		}
		iv = ll;
		break;
	}
	case CFG_BOOL:
		if (!parse_bool(text, &bv)) {
			errlist_add(errs, "%s: %s: not a boolean (true/false): \"%s\"", where, k->name, text);
			return -1;
		}
		break;
	case CFG_ENUM:
		if (!in_choices(k->choices, text)) {
			errlist_add(errs, "%s: %s: must be one of %s, not \"%s\"", where, k->name, k->choices, text);
			return -1;
		}
		break;
	case CFG_DECIMAL:
		if (!is_decimal(text)) {
			errlist_add(errs, "%s: %s: not a plain decimal number: \"%s\"", where, k->name, text);
			return -1;
		}
		break;
	case CFG_STR:
	case CFG_SECRET:
		if ((int64_t)strlen(text) < k->min) {
			if (k->type == CFG_SECRET)
				errlist_add(errs, "%s: %s: must be at least %lld characters", where, k->name,
				    (long long)k->min);
			else
				errlist_add(errs, "%s: %s: must not be empty", where, k->name);
			return -1;
		}
		break;
	}
	if (v->text != NULL && k->type == CFG_SECRET)
		explicit_bzero(v->text, strlen(v->text));
	free(v->text);
	v->text = xstrdup(text);
	v->i = iv;
	v->b = bv;
	snprintf(v->origin, sizeof(v->origin), "%s", where);
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Strips one level of matching quotes: KEY="a b" or KEY='a b'. */
static char *
unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

static int
load_file(struct cfg *c, const char *path, bool *seen, struct errlist *errs)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, where[320];
	size_t cap = 0, lineno = 0;
	int rc = 0;

	if (f == NULL) {
		errlist_add(errs, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		char *s = trim(line), *eq, *key, *value;
		ssize_t i;

		lineno++;
		snprintf(where, sizeof(where), "%s:%zu", path, lineno);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			errlist_add(errs, "%s: expected KEY=VALUE", where);
			rc = -1;
			continue;
		}
		*eq = '\0';
		key = trim(s);
		value = unquote(trim(eq + 1));
		if ((i = find(c, key, strlen(key))) < 0) {
			errlist_add(errs, "%s: %s: unknown key", where, key);
			rc = -1;
			continue;
		}
		if (seen[i])
			errlist_add(errs, "%s: %s: set twice in the file (last one wins)", where, key), rc = -1;
		seen[i] = true;
		if (set_one(c, (size_t)i, value, where, errs) < 0)
			rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

int
cfg_load(struct cfg *c, const char *path, char *const *envp, struct errlist *errs)
{
	bool *seen = xcalloc(c->n, sizeof(bool));
	int rc = 0;

	for (size_t i = 0; i < c->n; i++)
		if (c->keys[i].def != NULL && set_one(c, i, c->keys[i].def, "default", errs) < 0)
			rc = -1; /* a bad default is a bug, but report it like any other */
	if (path != NULL && load_file(c, path, seen, errs) < 0)
		rc = -1;
	for (char *const *ep = envp; ep != NULL && *ep != NULL; ep++) {
		const char *eq = strchr(*ep, '=');
		ssize_t i;

		if (eq == NULL || (i = find(c, *ep, (size_t)(eq - *ep))) < 0)
			continue;
		if (set_one(c, (size_t)i, eq + 1, "environment", errs) < 0)
			rc = -1;
		seen[i] = true;
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].text == NULL) {
			errlist_add(errs, "%s: required but not set", c->keys[i].name);
			rc = -1;
		}
	free(seen);
	return rc;
}

const char *
cfg_str(const struct cfg *c, const char *name)
{
	const char *s = val(c, name)->text;

	return s ? s : "";
}

int64_t
cfg_int(const struct cfg *c, const char *name)
{
	return val(c, name)->i;
}

bool
cfg_bool(const struct cfg *c, const char *name)
{
	return val(c, name)->b;
}

const char *
cfg_origin(const struct cfg *c, const char *name)
{
	return val(c, name)->origin;
}

size_t
cfg_diff_fixed(const struct cfg *old, const struct cfg *neu, struct errlist *errs)
{
	size_t n = 0;

	for (size_t i = 0; i < old->n; i++) {
		const char *a = old->v[i].text ? old->v[i].text : "", *b = neu->v[i].text ? neu->v[i].text : "";

		if (!old->keys[i].reloadable && strcmp(a, b) != 0) {
			errlist_add(errs, "%s: cannot change on reload; restart the daemon", old->keys[i].name);
			n++;
		}
	}
	return n;
}

void
cfg_write_help(const struct cfg_key *keys, size_t nkeys, FILE *out)
{
	for (size_t i = 0; i < nkeys; i++)
		fprintf(out, "  %-40s %s%s\n", keys[i].name, keys[i].desc,
		    keys[i].reloadable ? " (reloadable)" : "");
}

void
cfg_write_example(const struct cfg_key *keys, size_t nkeys, const char *title, FILE *out)
{
	fprintf(out, "# %s\n#\n# KEY=VALUE lines; '#' starts a comment. Environment variables with the same\n"
	    "# names override this file. Keys marked (reloadable) take effect on SIGHUP.\n", title);
	for (size_t i = 0; i < nkeys; i++) {
		const struct cfg_key *k = &keys[i];

		fprintf(out, "\n# %s%s\n", k->desc, k->reloadable ? " (reloadable)" : "");
		if (k->type == CFG_ENUM)
			fprintf(out, "# one of: %s\n", k->choices);
		if (k->type == CFG_INT)
			fprintf(out, "# range: %lld..%lld\n", (long long)k->min, (long long)k->max);
		if (k->def == NULL)
			fprintf(out, "# required\n#%s=\n", k->name);
		else
			fprintf(out, "#%s=%s\n", k->name, k->def);
	}
}
