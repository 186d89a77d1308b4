/* test_ratelim.c: the shared per-key rate limits: GCRA answers, keys apart, a full table, and a forked process. */
#include "t.h"

#include "ingestd/ratelim.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC 1000000LL

TEST(ratelim_burst_then_rate)
{
	struct err e;
	struct ratelim *rl = rl_new(100, &e);
	int64_t t0 = 1000 * SEC;

	if (!CHECK(rl != NULL))
		return;
	/* burst 3, 60 per minute: 3 at once, the 4th waits a second, and one second later one more goes */
	for (int i = 0; i < 3; i++)
		CHECK_INT(rl_take(rl, "m1", 2, t0, 60, 3), 0);
	CHECK_INT(rl_take(rl, "m1", 2, t0, 60, 3), 1);
	CHECK_INT(rl_take(rl, "m2", 2, t0, 60, 3), 0); /* another key is apart */
	CHECK_INT(rl_take(rl, "m1", 2, t0 + SEC, 60, 3), 0);
	CHECK_INT(rl_take(rl, "m1", 2, t0 + SEC, 60, 3), 1);
	/* 1 per minute: the wait is in whole seconds, rounded up */
	CHECK_INT(rl_take(rl, "slow", 4, t0, 1, 1), 0);
	CHECK_INT(rl_take(rl, "slow", 4, t0 + 1, 1, 1), 60);
	rl_free(rl);
}

TEST(ratelim_fast_rates_tolerate_clock_readings_out_of_order)
{
	struct err e;
	struct ratelim *rl = rl_new(100, &e);
	int64_t t0 = 1000 * SEC;

	if (!CHECK(rl != NULL))
		return;
	/* 10 million per second (t rounds to 0 us), burst 10 million: a worker that read the clock a microsecond
	 * before another one took its turn is not refused */
	CHECK_INT(rl_take(rl, "fast", 4, t0, 600000000, 10000000), 0);
	CHECK_INT(rl_take(rl, "fast", 4, t0 - 1, 600000000, 10000000), 0);
	/* and a burst still means the burst at such rates: 1,000 per second, burst 2 */
	CHECK_INT(rl_take(rl, "k", 1, t0, 60000, 2), 0);
	CHECK_INT(rl_take(rl, "k", 1, t0, 60000, 2), 0);
	CHECK_INT(rl_take(rl, "k", 1, t0, 60000, 2), 1);
	rl_free(rl);
}

TEST(ratelim_full_table_never_refuses_a_new_key)
{
	struct err e;
	struct ratelim *rl = rl_new(1, &e); /* the smallest table: 16 slots per stripe */
	int64_t t0 = 1000 * SEC;
	char k[32];
	int refused = 0;

	if (!CHECK(rl != NULL))
		return;
	/* far more keys limited at once than slots: every first take is allowed (a taken-over key loses its debt) */
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(k, sizeof(k), "meter-%d", i);

		refused += rl_take(rl, k, (size_t)n, t0, 1, 1) != 0;
	}
	CHECK_INT(refused, 0);
	rl_free(rl);
}

TEST(ratelim_shared_with_a_forked_process)
{
	struct err e;
	struct ratelim *rl = rl_new(100, &e);
	int64_t t0 = 1000 * SEC;
	int st = -1;
	pid_t pid;

	if (!CHECK(rl != NULL))
		return;
	/* the child spends the whole burst; the parent, which took nothing, is then limited */
	if ((pid = fork()) == 0) {
		int ok = 1;

		for (int i = 0; i < 5; i++)
			ok &= rl_take(rl, "shared", 6, t0, 1, 5) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(rl_take(rl, "shared", 6, t0, 1, 5) > 0);
	rl_free(rl);
}
