/* wsframe.c: RFC 6455 frame headers, masking, UTF-8 and close-payload checks, and the handshake accept key. */
#include "wsframe.h"
#include "utf8.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

int
wsf_parse_header(const unsigned char *buf, size_t n, uint64_t max_payload, struct ws_frame *f, int *close_code)
{
	size_t need = 2;
	uint64_t len;

	if (n < 2)
		return 0;
	f->fin = buf[0] & 0x80;
	f->op = (enum ws_opcode)(buf[0] & 0x0f);
	f->masked = buf[1] & 0x80;
	len = buf[1] & 0x7f;
	*close_code = WS_CLOSE_PROTOCOL;
	if (buf[0] & 0x70) /* no extension was negotiated, so RSV bits must be zero */
		return -1;
	switch (f->op) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!f->fin || len > 125)
			return -1;
		break;
	default:
		return -1;
	}
	if (!f->masked) /* section 5.1: the server must close on an unmasked client frame */
		return -1;
	if (len == 126)
		need += 2;
	else if (len == 127)
		need += 8;
	need += 4;
	if (n < need)
		return 0;
	if (len == 126) {
		len = (uint64_t)buf[2] << 8 | buf[3];
		if (len < 126)
			return -1; /* non-minimal length */
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | buf[2 + i];
		if (len >> 63 || len <= 0xffff)
			return -1;
	}
	memcpy(f->mask, buf + need - 4, 4);
	f->len = len;
	f->hdr_len = need;
	if (len > max_payload) {
		*close_code = WS_CLOSE_TOO_BIG;
		return -1;
	}
	return 1;
}

void
wsf_unmask(unsigned char *p, size_t n, const unsigned char mask[4], uint64_t offset)
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[(offset + i) & 3];
}

size_t
wsf_header(unsigned char out[10], enum ws_opcode op, uint64_t len)
{
	out[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		out[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
	return 10;
}

bool
wsf_close_payload_valid(const unsigned char *p, size_t n, int *code)
{
	int c;

	*code = 1005;
	if (n == 0)
		return true;
	if (n == 1)
		return false;
	c = p[0] << 8 | p[1];
	*code = c;
	/* 1005, 1006 and 1015 must never appear on the wire; 1016..2999 are reserved. */
	if (c < 1000 || c >= 5000 || c == 1004 || c == 1005 || c == 1006 || (c >= 1015 && c < 3000))
		return false;
	return utf8_valid(p + 2, n - 2);
}

int
wsf_accept_key(const char *key, char out[29], struct err *e)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char raw[24], md[EVP_MAX_MD_SIZE];
	char buf[64 + sizeof(guid)];
	size_t rawlen, klen = strlen(key);
	unsigned mdlen = 0;
	const char *end;

	if (klen != 24 || sodium_base642bin(raw, sizeof(raw), key, klen, NULL, &rawlen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || *end != '\0' || rawlen != 16)
		return err_set(e, 0, "Sec-WebSocket-Key is not 16 bytes of base64");
	memcpy(buf, key, klen);
	memcpy(buf + klen, guid, sizeof(guid) - 1);
	if (EVP_Digest(buf, klen + sizeof(guid) - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return err_set(e, 0, "SHA-1 failed");
	sodium_bin2base64(out, 29, md, 20, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}
