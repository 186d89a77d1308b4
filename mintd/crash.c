/* crash.c: test-only crash points (see crash.h). */
#include "crash.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *point;
static long after = 1;
static long seen;
static int sig = SIGKILL;

void
crash_init(void)
{
	const char *p = getenv("MINTD_TEST_CRASH_POINT");
	const char *a = getenv("MINTD_TEST_CRASH_AFTER");

	const char *act = getenv("MINTD_TEST_CRASH_ACTION");

	point = p != NULL && *p != '\0' ? p : NULL;
	sig = act != NULL && strcmp(act, "stop") == 0 ? SIGSTOP : SIGKILL;
	if (a != NULL && *a != '\0') {
		char *end;
		long v = strtol(a, &end, 10);

		if (*end == '\0' && v > 0)
			after = v;
	}
}

void
crash_point(const char *name)
{
	if (point == NULL || strcmp(point, name) != 0)
		return;
	if (++seen == after || (sig == SIGKILL && seen > after))
		raise(sig);
}

const char *
crash_armed(void)
{
	return point;
}
