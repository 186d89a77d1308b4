/* test_uuid.c: v4 generation and the two text checks. */
#include "t.h"

#include "uuid.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(uuid_v4_is_canonical_version_4_and_random)
{
	char a[UUID_STR_SZ], b[UUID_STR_SZ];

	uuid_v4(a);
	uuid_v4(b);
	CHECK(uuid_is_canonical(a, strlen(a)));
	CHECK_INT(a[14], '4');
	CHECK(strchr("89ab", a[19]) != NULL);
	CHECK(strcmp(a, b) != 0);
}

TEST(uuid_text_checks)
{
	static const char *good = "123e4567-e89b-42d3-a456-426614174000", *upper = "123E4567-E89B-42D3-A456-426614174000";
	static const char *bad[] = { "", "123e4567e89b42d3a456426614174000", "123e4567-e89b-42d3-a456-42661417400",
		"123e4567-e89b-42d3-a456-4266141740000", "123e4567-e89b-42d3-a456_426614174000",
		"g23e4567-e89b-42d3-a456-426614174000" };

	CHECK(uuid_is_canonical(good, strlen(good)));
	CHECK(!uuid_is_canonical(upper, strlen(upper)));
	CHECK(uuid_is_text(upper, strlen(upper)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!uuid_is_canonical(bad[i], strlen(bad[i])));
		CHECK(!uuid_is_text(bad[i], strlen(bad[i])));
	}
}

/* The 48-bit millisecond field of a canonical id. */
static uint64_t
v7_ms(const char *id)
{
	char h[13];

	memcpy(h, id, 8);
	memcpy(h + 8, id + 9, 4);
	h[12] = '\0';
	return strtoull(h, NULL, 16);
}

TEST(uuid_v7_layout)
{
	struct uuid7_gen g = { 0 };
	const uint8_t rnd[10] = { 0xff, 0xff, 0xff, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };
	char id[UUID_STR_SZ];

	/* 2025-06-01T12:00:00.123Z */
	uuid_v7_next(&g, 1748779200123ULL, rnd, id);
	CHECK(uuid_is_canonical(id, strlen(id)));
	CHECK_U64(v7_ms(id), 1748779200123ULL);
	CHECK_STR(id, "01972b5c-ee7b-77ff-bf11-223344556677");
	CHECK_INT(id[14], '7');                  /* version nibble */
	CHECK(strchr("89ab", id[19]) != NULL);   /* variant 10 */
	/* the real generator too */
	uuid_v7(id);
	CHECK(uuid_is_canonical(id, strlen(id)));
	CHECK_INT(id[14], '7');
	CHECK(strchr("89ab", id[19]) != NULL);
}

TEST(uuid_v7_monotonic_within_a_millisecond)
{
	struct uuid7_gen g = { 0 };
	char prev[UUID_STR_SZ], id[UUID_STR_SZ];
	uint8_t rnd[10];

	/* 10,000 ids in one millisecond (the counter overflows twice), then the clock stepping back by a second:
	 * strictly increasing throughout, whatever the random bytes, and the time field never goes back. */
	prev[0] = '\0';
	for (int i = 0; i < 11000; i++) {
		uint64_t now = i < 10000 ? 1748779200123ULL : 1748779199123ULL;

		for (int k = 0; k < 10; k++)
			rnd[k] = (uint8_t)((i * 7919 + k * 104729) >> (k % 3));
		uuid_v7_next(&g, now, rnd, id);
		if (!CHECK(strcmp(prev, id) < 0))
			return;
		CHECK(v7_ms(id) >= 1748779200123ULL);
		CHECK_INT(id[14], '7');
		CHECK(strchr("89ab", id[19]) != NULL);
		memcpy(prev, id, sizeof(prev));
	}
	/* borrowed at most a few milliseconds: 4096 ids per millisecond, 2048 at worst in the first */
	CHECK(v7_ms(id) <= 1748779200123ULL + 6);
	/* a later millisecond starts a fresh counter below 2048 */
	uuid_v7(prev);
	uuid_v7(id);
	CHECK(strcmp(prev, id) < 0);
}

/* The random part (rand_a and rand_b, without the version and variant bits) of a canonical v7 id, as hex. */
static void
v7_random_part(const char *id, char out[19])
{
	memcpy(out, id + 15, 3);      /* rand_a: counter, 12 bits */
	memcpy(out + 3, id + 20, 3);  /* rand_b, after the variant nibble */
	memcpy(out + 6, id + 24, 12);
	out[18] = '\0';
}

TEST(uuid_v7_parent_and_forked_child_draw_different_random_bits)
{
	char warm[UUID_STR_SZ], mine[UUID_STR_SZ], theirs[UUID_STR_SZ] = { 0 }, a[19], b[19];
	int fds[2];
	pid_t pid;
	int status;

	uuid_v7(warm); /* the process's random pool is filled now: a child must not hand out the same bytes */
	uuid_v4(warm);
	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char id[UUID_STR_SZ];

		uuid_v7(id);
		_exit(write(fds[1], id, UUID_STR_SZ) == UUID_STR_SZ ? 0 : 1);
	}
	uuid_v7(mine);
	CHECK_INT(read(fds[0], theirs, UUID_STR_SZ), UUID_STR_SZ);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	close(fds[1]);
	v7_random_part(mine, a);
	v7_random_part(theirs, b);
	CHECK(strcmp(a, b) != 0);
}
