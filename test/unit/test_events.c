/* test_events.c: event JSON and channels (common/events) and the systemd notify protocol (common/sdnotify). */
#include "t.h"

#include "events.h"
#include "sdnotify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

TEST(evt_build_channels_table)
{
	static const struct {
		struct evt_route r;
		int nchan;
		const char *chan[4];
	} cases[] = {
		{ { "W1", "u-1", "M1" }, 4, { "p", "p:wallet:W1", "p:user:u-1", "p:meter:M1" } },
		{ { "W1", "", "M1" }, 3, { "p", "p:wallet:W1", "p:meter:M1" } },
		{ { "W1", NULL, NULL }, 2, { "p", "p:wallet:W1" } },
		{ { NULL, NULL, NULL }, 1, { "p" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct evt_msg m;
		struct err e = { 0 };

		CHECK_INT(evt_build("p", EVT_READING_RECEIVED, NULL, &cases[i].r, &m, &e), 0);
		CHECK_INT(m.nchan, cases[i].nchan);
		for (int k = 0; k < m.nchan && k < cases[i].nchan; k++)
			CHECK_STR(m.chan[k], cases[i].chan[k]);
		CHECK_STR(m.stream, "p:stream");
		evt_msg_free(&m);
	}
}

TEST(evt_build_json_type_first_fields_kept_timestamp_added)
{
	cJSON *f = cJSON_CreateObject(), *o;
	struct evt_msg m;
	struct err e = { 0 };
	struct evt_route r = { "W", "U", "S" };

	cJSON_AddStringToObject(f, "kwh_amount", "1.500000");
	cJSON_AddStringToObject(f, "type", "ignored: the type argument wins");
	cJSON_AddNullToObject(f, "user_id");
	CHECK_INT(evt_build("gridtokenx:events", EVT_TOKENS_MINTED, f, &r, &m, &e), 0);
	CHECK(strncmp(m.json, "{\"type\":\"tokens_minted\",", 24) == 0);
	CHECK_INT(m.json[m.json_len - 1], '}');
	o = cJSON_Parse(m.json);
	CHECK(o != NULL);
	CHECK_STR(cJSON_GetObjectItem(o, "kwh_amount")->valuestring, "1.500000");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "user_id")));
	CHECK(strchr(cJSON_GetObjectItem(o, "timestamp")->valuestring, 'Z') != NULL);
	cJSON_Delete(o);
	evt_msg_free(&m);
	/* A caller's timestamp is kept. */
	cJSON_AddStringToObject(f, "timestamp", "2026-01-01T00:00:00Z");
	CHECK_INT(evt_build("p", EVT_BATCH_COMPLETED, f, NULL, &m, &e), 0);
	CHECK(strstr(m.json, "\"timestamp\":\"2026-01-01T00:00:00Z\"") != NULL);
	evt_msg_free(&m);
	cJSON_Delete(f);
	CHECK_INT(evt_build("p", "", NULL, NULL, &m, &e), -1);
}

/* evt_build writes its JSON itself: byte for byte what cJSON prints for the same object. */
TEST(evt_build_json_is_what_cjson_prints)
{
	cJSON *f = cJSON_CreateObject(), *want = cJSON_CreateObject(), *nested = cJSON_CreateObject();
	struct evt_msg m;
	struct err e = { 0 };
	char *text;

	cJSON_AddStringToObject(f, "plain", "a/b 1.500000");
	cJSON_AddStringToObject(f, "escapes", "q\" b\\ \b\f\n\r\t \x01\x1f end");
	cJSON_AddStringToObject(f, "utf8", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	cJSON_AddStringToObject(f, "", "empty key");
	cJSON_AddNullToObject(f, "none");
	cJSON_AddTrueToObject(f, "yes");
	cJSON_AddFalseToObject(f, "no");
	cJSON_AddNumberToObject(f, "n", 42);
	cJSON_AddStringToObject(nested, "k\"", "v");
	cJSON_AddItemToObject(f, "obj", nested);
	cJSON_AddStringToObject(f, "timestamp", "2026-01-01T00:00:00Z");
	CHECK_INT(evt_build("p", "x\"y", f, NULL, &m, &e), 0);
	cJSON_AddStringToObject(want, "type", "x\"y");
	for (cJSON *i = f->child; i != NULL; i = i->next)
		cJSON_AddItemToObject(want, i->string, cJSON_Duplicate(i, 1));
	text = cJSON_PrintUnformatted(want);
	CHECK_STR(m.json, text);
	CHECK_INT(m.json_len, strlen(text));
	cJSON_free(text);
	evt_msg_free(&m);
	cJSON_Delete(want);
	cJSON_Delete(f);
}

TEST(evt_argv_evalsha_and_eval)
{
	struct evt_msg m;
	struct err e = { 0 };
	struct evt_route r = { "W", NULL, "S" };
	const char *argv[EVT_MAX_ARGS];
	size_t len[EVT_MAX_ARGS];
	char maxbuf[24];
	int n;

	CHECK_INT(evt_build("p", EVT_VALIDATION_FAILED, NULL, &r, &m, &e), 0);
	n = evt_argv(&m, "0123456789012345678901234567890123456789", 1000, maxbuf, argv, len);
	CHECK_INT(n, 10);
	CHECK_STR(argv[0], "EVALSHA");
	CHECK_STR(argv[2], "1");
	CHECK_STR(argv[3], "p:stream");
	CHECK_STR(argv[4], "1000");
	CHECK_INT(len[5], m.json_len);
	CHECK_STR(argv[6], "meter_reading_validation_failed");
	CHECK_STR(argv[7], "p");
	CHECK_STR(argv[9], "p:meter:S");
	n = evt_argv(&m, NULL, 5, maxbuf, argv, len);
	CHECK_STR(argv[0], "EVAL");
	CHECK(strstr(argv[1], "XADD") != NULL && strstr(argv[1], "PUBLISH") != NULL);
	evt_msg_free(&m);
}

TEST(sdn_notify_sends_one_datagram)
{
	char path[] = "/tmp/gtx-sdn-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct err e = { 0 };
	char buf[64];
	int fd;
	ssize_t n;

	unsetenv("NOTIFY_SOCKET");
	CHECK_INT(sdn_notify("READY=1", &e), 0);
	CHECK(mkdtemp(path) != NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	CHECK_INT(sdn_notify("READY=1", &e), 1);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK_INT(n, 7);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STR(buf, "READY=1");
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_INT(sdn_notify("READY=1", &e), -1);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(sa.sun_path);
	rmdir(path);
}

TEST(sdn_watchdog_usec_table)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	CHECK_U64(sdn_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "3000000", 1);
	CHECK_U64(sdn_watchdog_usec(), 3000000);
	setenv("WATCHDOG_USEC", "12x", 1);
	CHECK_U64(sdn_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "3000000", 1);
	setenv("WATCHDOG_PID", "1", 1); /* another process's watchdog */
	CHECK_U64(sdn_watchdog_usec(), getpid() == 1 ? 3000000 : 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_U64(sdn_watchdog_usec(), 3000000);
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
}
