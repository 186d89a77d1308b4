/* t.c: runs every registered unit test (optionally only those whose name contains argv[1]). */
#include "t.h"

#include <stdarg.h>
#include <stdlib.h>

struct t_case {
	const char *name;
	t_fn fn;
};

static struct t_case cases[1024];
static size_t ncases;
static int cur_failed;

void
t_register(const char *name, t_fn fn)
{
	if (ncases == sizeof(cases) / sizeof(cases[0])) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	cases[ncases++] = (struct t_case){ name, fn };
}

bool
t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cur_failed++;
	return false;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct t_case *)a)->name, ((const struct t_case *)b)->name);
}

int
main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	qsort(cases, ncases, sizeof(cases[0]), by_name);
	for (size_t i = 0; i < ncases; i++) {
		if (argc > 1 && strstr(cases[i].name, argv[1]) == NULL)
			continue;
		cur_failed = 0;
		cases[i].fn();
		if (cur_failed) {
			printf("FAIL %s\n", cases[i].name);
			failed++;
		} else {
			printf("ok   %s\n", cases[i].name);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
