/* test_httpparse.c: ingestd's HTTP/1.x head parser, query parameters, status texts, chunk-size lines; the WebSocket upgrade. */
#include "ingestd/httpparse.h"
#include "ingestd/ws/handshake.h"
#include "t.h"

#include <stdlib.h>

static void
req_clear(struct httpd_req *r)
{
	free(r->path);
	free(r->content_type);
	free(r->authorization);
	memset(r, 0, sizeof(*r));
}

static const struct {
	const char *head; /* without the final CRLF CRLF */
	int status;       /* 0: parsed */
	const char *code; /* error code, or the expected path */
	bool keepalive, chunked, head_only;
} head_cases[] = {
	{ "GET /healthz HTTP/1.1\r\nHost: x", 0, "/healthz", true, false, false },
	{ "HEAD /metrics?x=1 HTTP/1.1\r\nHost: x", 0, "/metrics", true, false, true },
	{ "GET /healthz HTTP/1.0", 0, "/healthz", false, false, false },
	{ "GET /healthz HTTP/1.0\r\nConnection: keep-alive", 0, "/healthz", true, false, false },
	{ "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close", 0, "/healthz", false, false, false },
	{ "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked", 0, "/a", true, true, false },
	{ "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked", 0, "/a", true, true, false },
	{ "GET /healthz HTTP/1.1", 400, "bad_host", false, false, false },
	{ "GET /healthz HTTP/1.1\r\nHost: a\r\nhost: b", 400, "bad_host", false, false, false },
	{ "GET /healthz HTTP/1.0\r\nHost: a\r\nHost: a", 400, "bad_host", false, false, false },
	{ "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip", 501, "transfer_encoding_unsupported", false, false, false },
	{ "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400,
	  "bad_transfer_encoding", false, false, false },
	{ "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3", 400, "bad_transfer_encoding",
	  false, false, false },
	{ "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked", 400, "bad_transfer_encoding", false, false, false },
	{ "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4", 400, "bad_content_length", false, false, false },
	{ "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1", 400, "bad_content_length", false, false, false },
	{ "GET /a HTTP/2.0\r\nHost: x", 505, "http_version_not_supported", false, false, false },
	{ "GET a HTTP/1.1\r\nHost: x", 400, "bad_request", false, false, false },
	{ "GET /a HTTP/1.1\r\nHost: x\r\n folded", 400, "bad_request", false, false, false },
	{ "GET /a HTTP/1.1\r\nHost: x\r\nExpect: 200-ok", 400, "expectation_failed", false, false, false },
};

TEST(httpparse_heads)
{
	for (size_t i = 0; i < sizeof(head_cases) / sizeof(head_cases[0]); i++) {
		struct httpd_req r = { 0 };
		struct http_head h = { 0 };
		struct apierr e = { 0 };
		int st = httpp_head(&r, head_cases[i].head, strlen(head_cases[i].head), &h, &e) < 0 ? e.status : 0;

		if (st != head_cases[i].status)
			t_fail(__FILE__, __LINE__, "case %zu: status %d, want %d", i, st, head_cases[i].status);
		else if (st != 0 && strcmp(e.code, head_cases[i].code) != 0)
			t_fail(__FILE__, __LINE__, "case %zu: code %s, want %s", i, e.code, head_cases[i].code);
		else if (st == 0 && (strcmp(r.path, head_cases[i].code) != 0 || h.keepalive != head_cases[i].keepalive ||
		    r.chunked != head_cases[i].chunked || r.head_only != head_cases[i].head_only))
			t_fail(__FILE__, __LINE__, "case %zu: path %s keepalive %d chunked %d head %d", i, r.path, h.keepalive,
			    r.chunked, r.head_only);
		req_clear(&r);
	}
}

TEST(httpparse_chunk_sizes)
{
	static const struct {
		const char *line;
		bool ok;
		uint64_t size;
	} cases[] = {
		{ "0", true, 0 }, { "1a", true, 26 }, { "FF", true, 255 }, { "10;name=value", true, 16 },
		{ "7 ;x", true, 7 }, { "ffffffffffffffff", true, UINT64_MAX }, { "", false, 0 }, { "x", false, 0 },
		{ "1x", false, 0 }, { "10000000000000000", false, 0 }, { "-1", false, 0 }, { "5;\x01", false, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t size = 99;
		bool ok = httpp_chunk_size(cases[i].line, strlen(cases[i].line), &size);

		if (ok != cases[i].ok || (ok && size != cases[i].size))
			t_fail(__FILE__, __LINE__, "chunk line \"%s\": ok %d size %llu", cases[i].line, ok,
			    (unsigned long long)size);
	}
}

TEST(httpparse_query_params)
{
	static const struct {
		const char *query, *name;
		int rc;
		const char *value;
	} cases[] = {
		{ "a=1&b=2", "b", 1, "2" }, { "a=1&b=2", "c", 0, NULL }, { "token=a%2Eb%2ec", "token", 1, "a.b.c" },
		{ "x=a+b", "x", 1, "a b" }, { "x=%zz", "x", 1, "%zz" }, { "x=%00", "x", -1, NULL },
		{ "x=", "x", 1, "" }, { "xx=1&x=2", "x", 1, "2" }, { "x=0123456789", "x", -1, NULL },
		{ "", "x", 0, NULL }, { NULL, "x", 0, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[8];
		int rc = httpp_query_param(cases[i].query, cases[i].name, out, sizeof(out));

		if (rc != cases[i].rc || (rc > 0 && strcmp(out, cases[i].value) != 0))
			t_fail(__FILE__, __LINE__, "case %zu: rc %d value \"%s\"", i, rc, rc > 0 ? out : "");
	}
	CHECK_STR(httpp_status_text(426), "Upgrade Required");
	CHECK_STR(httpp_status_text(413), "Content Too Large");
	CHECK_STR(httpp_status_text(299), "Unknown");
}

#define WS_OK "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" \
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

TEST(wshandshake_upgrades)
{
	static const struct {
		const char *head;
		int status; /* 0: accepted */
		const char *token, *since;
	} cases[] = {
		{ WS_OK "\r\n", 0, "", "" },
		{ "GET /ws?token=abc&since=1-0 HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: k\r\n\r\n", 0, "abc", "1-0" },
		{ WS_OK "Authorization: Bearer tok\r\n\r\n", 0, "tok", "" },
		{ WS_OK "Authorization: Basic tok\r\n\r\n", 401, NULL, NULL },
		{ "GET /other HTTP/1.1\r\nHost: x\r\n\r\n", 404, NULL, NULL },
		{ "POST /ws HTTP/1.1\r\nHost: x\r\n\r\n", 405, NULL, NULL },
		{ "GET /ws HTTP/1.0\r\nHost: x\r\n\r\n", 400, NULL, NULL },
		{ "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: k\r\n\r\n", 400, NULL, NULL }, /* no Host */
		{ "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "Sec-WebSocket-Key: k\r\n\r\n", 426, NULL, NULL }, /* no Upgrade */
		{ "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
		  "Sec-WebSocket-Key: k\r\n\r\n", 426, NULL, NULL },
		{ "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
		  "\r\n", 400, NULL, NULL }, /* no key */
		{ WS_OK "bad header line\r\n\r\n", 400, NULL, NULL },
		{ "GET /ws?since= HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL, NULL },
		{ "", 400, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ws_upgrade u = { 0 };
		struct apierr e = { 0 };
		int st = wsh_parse(cases[i].head, strlen(cases[i].head), &u, &e) < 0 ? e.status : 0;

		if (st != cases[i].status)
			t_fail(__FILE__, __LINE__, "case %zu: status %d (%s), want %d", i, st, e.msg, cases[i].status);
		else if (st == 0 && (strcmp(u.token, cases[i].token) != 0 || strcmp(u.since, cases[i].since) != 0 || !u.key[0]))
			t_fail(__FILE__, __LINE__, "case %zu: token \"%s\" since \"%s\"", i, u.token, u.since);
	}
}
