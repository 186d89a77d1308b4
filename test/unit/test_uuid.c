/* test_uuid.c: v4 generation and the two text checks. */
#include "t.h"

#include "uuid.h"

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
