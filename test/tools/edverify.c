/* edverify.c: the CPU cost of one Ed25519 verification of a meter-reading message, for test/bench (FIGURE denominators). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time of this process (not wall time: a busy machine must not inflate it). */
static double
cpu_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
	/* the shape ingestd verifies (reading.c rdg_verify), with a typical serial, timestamp and wallet */
	const char *msg = "GRIDTOKENX_METER_READING\nmeter_serial: BENCH-000123\ntimestamp: 2025-06-01T12:00:00.123456Z\n"
	    "kwh_amount: 1.234567\nwallet: 9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
	size_t len = strlen(msg);
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	double best = 0;
	int bad = 0;

	if (sodium_init() < 0 || n <= 0) {
		fprintf(stderr, "usage: edverify [ROUNDS]\n");
		return 2;
	}
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, sk);
	/* the best of 5 runs: the cost on this CPU with the least interference from other work */
	for (int run = 0; run < 5; run++) {
		double t0 = cpu_us(), per;

		for (long i = 0; i < n; i++)
			bad |= crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, pk) != 0;
		per = (cpu_us() - t0) / (double)n;
		if (run == 0 || per < best)
			best = per;
	}
	if (bad) {
		fprintf(stderr, "edverify: a valid signature did not verify\n");
		return 1;
	}
	printf("%.2f\n", best);
	return 0;
}
