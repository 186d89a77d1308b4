/* test_rstate.c: the lifecycle tables, and that they are the migrations' transitions row for row. */
#include "t.h"

#include "rstate.h"

#include <dirent.h>
#include <stdlib.h>

/* The (from, to) pairs of one file's INSERT INTO `table` statements, appended to pairs[n..max). */
static size_t
file_pairs(const char *path, const char *table, char pairs[][40], size_t n, size_t max)
{
	static char text[65536];
	char head[96];
	size_t len;
	FILE *f = fopen(path, "r");
	const char *p = text, *end;

	if (f == NULL)
		return n;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	snprintf(head, sizeof(head), "INSERT INTO %s ", table);
	while ((p = strstr(p, head)) != NULL && (end = strchr(p, ';')) != NULL) {
		while ((p = strstr(p, "('")) != NULL && p < end && n < max) {
			const char *a = p + 2, *ae = strchr(a, '\''), *b, *be;

			if (ae == NULL || (b = strchr(ae + 1, '\'')) == NULL || (be = strchr(++b, '\'')) == NULL)
				break;
			snprintf(pairs[n++], sizeof(pairs[0]), "%.*s>%.*s", (int)(ae - a), a, (int)(be - b), b);
			p = be;
		}
		p = end;
	}
	return n;
}

/* The (from, to) pairs every migration (sql/0*.sql, in order) inserts into `table`, as "from>to" lines. */
static size_t
sql_pairs(const char *table, char pairs[][40], size_t max)
{
	size_t n = 0;

	for (int v = 1; v < 100; v++) {
		char glob[64];
		DIR *d = opendir(GTX_SRCDIR "/sql");
		struct dirent *de;

		if (d == NULL)
			return 0;
		snprintf(glob, sizeof(glob), "%03d_", v);
		while ((de = readdir(d)) != NULL) {
			char path[512];

			if (strncmp(de->d_name, glob, 4) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/sql/%s", GTX_SRCDIR, de->d_name);
			n = file_pairs(path, table, pairs, n, max);
		}
		closedir(d);
	}
	return n;
}

static bool
listed(char pairs[][40], size_t n, const char *from, const char *to)
{
	char want[40];

	snprintf(want, sizeof(want), "%s>%s", from, to);
	for (size_t i = 0; i < n; i++)
		if (strcmp(pairs[i], want) == 0)
			return true;
	return false;
}

TEST(rstate_table_is_the_schemas)
{
	char pairs[64][40];
	size_t n = sql_pairs("reading_transitions", pairs, 64), allowed = 0;

	CHECK_INT(n, 13);
	for (int f = 0; f < RS_COUNT; f++)
		for (int t = 0; t < RS_COUNT; t++) {
			bool c = rstate_allowed((enum rstate)f, (enum rstate)t), s = listed(pairs, n, rstate_name(f), rstate_name(t));

			allowed += c;
			if (c != s)
				t_fail(__FILE__, __LINE__, "%s -> %s: C says %d, the migrations say %d", rstate_name(f),
				    rstate_name(t), c, s);
		}
	CHECK_INT(allowed, n);
}

TEST(txstate_table_is_the_schemas)
{
	char pairs[16][40];
	size_t n = sql_pairs("mint_transaction_transitions", pairs, 16), allowed = 0;

	CHECK_INT(n, 3);
	for (int f = 0; f < TX_COUNT; f++)
		for (int t = 0; t < TX_COUNT; t++) {
			bool c = txstate_allowed((enum txstate)f, (enum txstate)t);

			allowed += c;
			if (c != listed(pairs, n, txstate_name(f), txstate_name(t)))
				t_fail(__FILE__, __LINE__, "%s -> %s differs from the schema", txstate_name(f), txstate_name(t));
		}
	CHECK_INT(allowed, n);
}

TEST(rstate_rules)
{
	static const struct {
		enum rstate from, to;
		bool ok;
	} cases[] = {
		{ RS_MINTED, RS_PENDING, false }, /* the one that would mint twice */
		{ RS_MINTED, RS_RETRYING, false },
		{ RS_PENDING, RS_MINTED, false },
		{ RS_PENDING, RS_SUBMITTED, false },
		{ RS_RETRYING, RS_PENDING, false }, /* 001's comment said so; the code claims it again */
		{ RS_RETRYING, RS_CLAIMED, true },
		{ RS_FAILED, RS_PENDING, true },
		{ RS_FAILED, RS_CLAIMED, false },
		{ RS_SUBMITTED, RS_PENDING, true },
		{ RS_PENDING, RS_PENDING, false }, /* not a transition */
		{ RS_COUNT, RS_PENDING, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (rstate_allowed(cases[i].from, cases[i].to) != cases[i].ok)
			t_fail(__FILE__, __LINE__, "%s -> %s: want %d", rstate_name(cases[i].from), rstate_name(cases[i].to),
			    cases[i].ok);
	for (int t = 0; t < TX_COUNT; t++)
		for (int f = TX_CONFIRMED; f < TX_COUNT; f++)
			CHECK(!txstate_allowed((enum txstate)f, (enum txstate)t)); /* final states never change */
}

TEST(rstate_names_parse_back)
{
	enum rstate r;
	enum txstate x;

	for (int i = 0; i < RS_COUNT; i++) {
		CHECK(rstate_parse(rstate_name(i), strlen(rstate_name(i)), &r) == 0);
		CHECK_INT(r, i);
	}
	for (int i = 0; i < TX_COUNT; i++) {
		CHECK(txstate_parse(txstate_name(i), strlen(txstate_name(i)), &x) == 0);
		CHECK_INT(x, i);
	}
	CHECK(rstate_parse("Pending", 7, &r) < 0);
	CHECK(rstate_parse("pendin", 6, &r) < 0);
	CHECK(rstate_parse("pending ", 8, &r) < 0);
	CHECK(rstate_parse("", 0, &r) < 0);
	CHECK(rstate_parse(NULL, 0, &r) < 0);
	CHECK(txstate_parse("minted", 6, &x) < 0);
	CHECK_STR(rstate_name(RS_COUNT), "?");
	CHECK_INT(rstate_public(RS_CLAIMED), RS_PENDING);
	CHECK_INT(rstate_public(RS_SUBMITTED), RS_SUBMITTED);
	CHECK_INT(rstate_public(RS_MINTED), RS_MINTED);
}
