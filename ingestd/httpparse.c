/* httpparse.c: HTTP/1.x request heads (RFC 9112: request line, fields, framing) and chunk-size lines. */
#include "httpparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static char *
dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static bool
has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= n; i++)
		if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
		    (i + tl == n || v[i + tl] == ' ' || v[i + tl] == ','))
			return true;
	return false;
}

static const struct {
	const char *name;
	enum httpd_method m;
} methods[] = { { "GET", HM_GET }, { "POST", HM_POST }, { "PATCH", HM_PATCH }, { "HEAD", HM_HEAD },
	{ "PUT", HM_PUT }, { "DELETE", HM_DELETE } };

/* The request line into r; 0 or an HTTP status (with *code set). *http10 tells the version. */
static int
parse_request_line(struct httpd_req *r, const char *s, const char *eol, bool *http10, const char **code)
{
	const char *sp1, *sp2, *q;

	sp1 = memchr(s, ' ', (size_t)(eol - s));
	if (sp1 == NULL || sp1 == s || sp1 - s >= (ptrdiff_t)sizeof(r->method_text))
		return 400;
	for (const char *p = s; p < sp1; p++)
		if (!tchar((unsigned char)*p))
			return 400;
	memcpy(r->method_text, s, (size_t)(sp1 - s));
	r->method_text[sp1 - s] = '\0';
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
		return 400;
	for (const char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 400;
	if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
		return *code = "http_version_not_supported", 505;
	*http10 = sp2[8] == '0';
	if ((r->path = dupn(sp1 + 1, (size_t)(sp2 - sp1 - 1))) == NULL)
		return *code = "out_of_memory", 503;
	if ((q = strchr(r->path, '?')) != NULL) {
		r->path[q - r->path] = '\0';
		r->query = r->path + (q - r->path) + 1;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(r->method_text, methods[i].name) == 0)
			r->method = methods[i].m;
	r->head_only = r->method == HM_HEAD;
	return 0;
}

int
httpp_head(struct httpd_req *r, const char *s, size_t n, struct http_head *h, const char **code, const char **why)
{
	const char *end = s + n, *eol;
	bool http10 = false, have_cl = false, have_te = false, conn_close = false, conn_keep = false, expect = false;
	int nhost = 0, st;

	*code = "bad_request";
	*why = "malformed request head";
	eol = memmem(s, n, "\r\n", 2);
	if (eol == NULL)
		eol = end;
	if ((st = parse_request_line(r, s, eol, &http10, code)) != 0) {
		if (st == 505)
			*why = "only HTTP/1.0 and HTTP/1.1";
		return st;
	}
	for (const char *l = eol + 2; l < end; l = eol + 2) {
		const char *colon, *v, *ve;
		size_t nl;

		eol = memmem(l, (size_t)(end - l), "\r\n", 2);
		if (eol == NULL)
			eol = end;
		colon = memchr(l, ':', (size_t)(eol - l));
		if (colon == NULL || colon == l)
			return 400; /* also obs-fold continuation lines */
		for (const char *p = l; p < colon; p++)
			if (!tchar((unsigned char)*p))
				return 400;
		nl = (size_t)(colon - l);
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		for (const char *p = v; p < ve; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t')
				return 400;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(l, name, nl) == 0)
		if (IS("content-length")) {
			uint64_t cl = 0;

			if (ve == v || ve - v > 15)
				return *code = "bad_content_length", 400;
			for (const char *p = v; p < ve; p++) {
				if (*p < '0' || *p > '9')
					return *code = "bad_content_length", 400;
				cl = cl * 10 + (uint64_t)(*p - '0');
			}
			if (have_cl && cl != r->content_length)
				return *code = "bad_content_length", 400;
			have_cl = true;
			r->content_length = cl;
			r->has_body = true;
		} else if (IS("transfer-encoding")) {
			/* Only "chunked", once: anything else is a coding we do not decode, or a smuggling attempt. */
			if (have_te)
				return *code = "bad_transfer_encoding", *why = "Transfer-Encoding repeated", 400;
			if ((size_t)(ve - v) != 7 || strncasecmp(v, "chunked", 7) != 0)
				return *code = "transfer_encoding_unsupported",
				    *why = "only the chunked transfer coding is supported", 501;
			have_te = true;
			r->chunked = true;
			r->has_body = true;
		} else if (IS("host")) {
			nhost++;
		} else if (IS("connection")) {
			conn_close |= has_token(v, (size_t)(ve - v), "close");
			conn_keep |= has_token(v, (size_t)(ve - v), "keep-alive");
		} else if (IS("content-type")) {
			if (r->content_type != NULL)
				return 400;
			if ((r->content_type = dupn(v, (size_t)(ve - v))) == NULL)
				return *code = "out_of_memory", *why = "out of memory", 503;
		} else if (IS("authorization")) {
			if (r->authorization != NULL)
				return 400;
			if ((r->authorization = dupn(v, (size_t)(ve - v))) == NULL)
				return *code = "out_of_memory", *why = "out of memory", 503;
		} else if (IS("expect")) {
			if ((size_t)(ve - v) != 12 || strncasecmp(v, "100-continue", 12) != 0)
				return *code = "expectation_failed", 400;
			expect = true;
		}
#undef IS
	}
	/* RFC 9112 3.2: exactly one Host in HTTP/1.1 (at most one in 1.0). */
	if (nhost > 1 || (!http10 && nhost == 0))
		return *code = "bad_host", *why = "HTTP/1.1 requests need exactly one Host header", 400;
	/* RFC 9112 6.1, 6.3: both framings at once, or chunked in 1.0, is how requests are smuggled. */
	if (have_te && (have_cl || http10))
		return *code = "bad_transfer_encoding", *why = "Transfer-Encoding with Content-Length or in HTTP/1.0", 400;
	h->keepalive = http10 ? conn_keep && !conn_close : !conn_close;
	h->expect100 = expect && !http10;
	return 0;
}

bool
httpp_chunk_size(const char *s, size_t n, uint64_t *size)
{
	size_t i = 0;

	*size = 0;
	for (; i < n && i < 16; i++) {
		int ch = (unsigned char)s[i], v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ?
		    ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;

		if (v < 0)
			break;
		*size = *size << 4 | (uint64_t)v;
	}
	if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
		return false;
	for (; i < n; i++) /* chunk extensions are ignored, but must be text */
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return false;
	return true;
}
