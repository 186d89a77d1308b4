/* test_redisconn.c: Redis URL parsing (including the password never leaking into errors) and backoff. */
#include "t.h"

#include "backoff.h"
#include "redisconn.h"

TEST(rurl_parse_forms)
{
	struct redis_url u;
	struct err e = { 0 };

	CHECK_INT(rurl_parse("redis://127.0.0.1:6380/2", &u, &e), 0);
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_INT(u.port, 6380);
	CHECK_INT(u.db, 2);
	CHECK_STR(u.password, "");
	CHECK_INT(rurl_parse("redis://:s3cret@localhost", &u, &e), 0);
	CHECK_STR(u.host, "localhost");
	CHECK_INT(u.port, 6379);
	CHECK_STR(u.password, "s3cret");
	CHECK_INT(rurl_parse("redis://alice:pw@h:1/0", &u, &e), 0);
	CHECK_STR(u.user, "alice");
	CHECK_STR(u.password, "pw");
	CHECK_INT(rurl_parse("unix:///run/redis.sock?db=3", &u, &e), 0);
	CHECK_STR(u.unix_path, "/run/redis.sock");
	CHECK_INT(u.db, 3);
	rurl_clear(&u);
	CHECK_STR(u.password, "");
}

TEST(rurl_parse_errors_do_not_leak_the_password)
{
	static const char *bad[] = { "http://h", "redis://", "redis://:pw@h:0", "redis://:pw@h:99999",
		"redis://:pw@h:12x", "redis://:pw@h/abc", "unix://relative", "redis://:pw@:6379" };
	struct redis_url u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err e = { 0 };

		CHECK_INT(rurl_parse(bad[i], &u, &e), -1);
		CHECK(e.msg[0] != '\0');
		CHECK(strstr(e.msg, "pw") == NULL);
	}
}

TEST(rconn_connect_refused_names_host_not_password)
{
	struct err e = { 0 };
	redisContext *c = rconn_connect("redis://:topsecret@127.0.0.1:1/0", 500, &e);

	CHECK(c == NULL);
	CHECK(strstr(e.msg, "127.0.0.1") != NULL);
	CHECK(strstr(e.msg, "topsecret") == NULL);
}

TEST(backoff_doubles_to_cap_with_bounded_jitter)
{
	struct backoff b;
	uint32_t d, prev_cap = 100;

	backoff_init(&b, 100, 1000);
	for (int i = 0; i < 10; i++) {
		d = backoff_next(&b);
		CHECK(d <= b.cur_ms && d >= b.cur_ms - b.cur_ms / 4);
		CHECK(b.cur_ms >= prev_cap || b.cur_ms == 1000);
		prev_cap = b.cur_ms;
	}
	CHECK_INT(b.cur_ms, 1000);
	backoff_reset(&b);
	CHECK(backoff_next(&b) <= 100);
}
