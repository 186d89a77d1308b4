/* test_wsframe.c: RFC 6455 header parsing rules, length encodings, UTF-8, close payloads, accept key. */
#include "t.h"
#include "wsframe.h"
#include "utf8.h"

TEST(wsf_accept_key_rfc_example)
{
	char out[29];
	struct err e = { 0 };

	CHECK(wsf_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out, &e) == 0); /* RFC 6455 section 1.3 */
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	CHECK(wsf_accept_key("dGhlIHNhbXBsZSBub25jZQ", out, &e) < 0);
	CHECK(wsf_accept_key("not base64 at all!!!!!!!", out, &e) < 0);
	CHECK(wsf_accept_key("", out, &e) < 0);
}

static const struct {
	const char *name;
	unsigned char b[14];
	size_t n;
	int rc, code;
	uint64_t len;
} hdr_cases[] = {
	{ "masked text 5", { 0x81, 0x85, 1, 2, 3, 4 }, 6, 1, 0, 5 },
	{ "short", { 0x81 }, 1, 0, 0, 0 },
	{ "mask incomplete", { 0x81, 0x85, 1, 2 }, 4, 0, 0, 0 },
	{ "unmasked", { 0x81, 0x05 }, 2, -1, 1002, 0 },
	{ "rsv1", { 0xc1, 0x85, 1, 2, 3, 4 }, 6, -1, 1002, 0 },
	{ "opcode 3", { 0x83, 0x80, 1, 2, 3, 4 }, 6, -1, 1002, 0 },
	{ "opcode 0xb", { 0x8b, 0x80, 1, 2, 3, 4 }, 6, -1, 1002, 0 },
	{ "fragmented ping", { 0x09, 0x80, 1, 2, 3, 4 }, 6, -1, 1002, 0 },
	{ "ping 126", { 0x89, 0xfe, 0, 126, 1, 2, 3, 4 }, 8, -1, 1002, 0 },
	{ "16-bit len", { 0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4 }, 8, 1, 0, 256 },
	{ "16-bit non-minimal", { 0x82, 0xfe, 0, 5, 1, 2, 3, 4 }, 8, -1, 1002, 0 },
	{ "64-bit len too big", { 0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4 }, 14, -1, 1009, 0 },
	{ "64-bit msb", { 0x81, 0xff, 0x80, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4 }, 14, -1, 1002, 0 },
	{ "over max", { 0x81, 0xfe, 0x10, 0x01, 1, 2, 3, 4 }, 8, -1, 1009, 0 },
	{ "continuation", { 0x00, 0x81, 1, 2, 3, 4 }, 6, 1, 0, 1 },
};

TEST(wsf_parse_header_table)
{
	for (size_t i = 0; i < sizeof(hdr_cases) / sizeof(hdr_cases[0]); i++) {
		struct ws_frame f;
		int code = 0, rc = wsf_parse_header(hdr_cases[i].b, hdr_cases[i].n, 4096, &f, &code);

		if (rc != hdr_cases[i].rc || (rc < 0 && code != hdr_cases[i].code) || (rc > 0 && f.len != hdr_cases[i].len))
			t_fail(__FILE__, __LINE__, "%s: rc %d code %d", hdr_cases[i].name, rc, code);
	}
}

TEST(wsf_header_lengths)
{
	unsigned char h[10];

	CHECK_INT(wsf_header(h, WS_OP_TEXT, 125), 2);
	CHECK_INT(h[0], 0x81);
	CHECK_INT(wsf_header(h, WS_OP_TEXT, 126), 4);
	CHECK_INT(h[1], 126);
	CHECK_INT(wsf_header(h, WS_OP_CLOSE, 70000), 10);
	CHECK_INT(h[0], 0x88);
	CHECK_INT(h[7], 0x01);
	CHECK_INT(h[8], 0x11);
	CHECK_INT(h[9], 0x70);
}

TEST(wsf_utf8_and_close)
{
	int code;

	CHECK(utf8_valid((const unsigned char *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	CHECK(!utf8_valid((const unsigned char *)"\xc0\xaf", 2));         /* overlong */
	CHECK(!utf8_valid((const unsigned char *)"\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!utf8_valid((const unsigned char *)"\xe2\x82", 2));         /* truncated */
	CHECK(!utf8_valid((const unsigned char *)"\xff", 1));
	CHECK(wsf_close_payload_valid(NULL, 0, &code) && code == 1005);
	CHECK(!wsf_close_payload_valid((const unsigned char *)"\x03", 1, &code));
	CHECK(wsf_close_payload_valid((const unsigned char *)"\x03\xe8ok", 4, &code) && code == 1000);
	CHECK(!wsf_close_payload_valid((const unsigned char *)"\x03\xed", 2, &code)); /* 1005 */
	CHECK(!wsf_close_payload_valid((const unsigned char *)"\x03\xf7", 2, &code)); /* 1015 */
	CHECK(wsf_close_payload_valid((const unsigned char *)"\x0f\xa0", 2, &code) && code == 4000);
	CHECK(!wsf_close_payload_valid((const unsigned char *)"\x03\xe8\xff", 3, &code));
}

TEST(wsf_unmask_offsets)
{
	unsigned char p[6] = { 1 ^ 0xa, 2 ^ 0xb, 3 ^ 0xc, 4 ^ 0xd, 5 ^ 0xa, 6 ^ 0xb };
	const unsigned char m[4] = { 0xa, 0xb, 0xc, 0xd };

	wsf_unmask(p, 3, m, 0);
	wsf_unmask(p + 3, 3, m, 3);
	for (int i = 0; i < 6; i++)
		CHECK_INT(p[i], i + 1);
}
