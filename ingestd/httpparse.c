/* httpparse.c: HTTP/1.x request heads (RFC 9112: request line, fields, framing), query parameters, chunk sizes. */
#include "httpparse.h"

#include <sodium.h>
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

bool
httpp_has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= n; i++)
		if (strncasecmp(v + i, tok, tl) == 0 && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',' || v[i - 1] == '\t') &&
		    (i + tl == n || v[i + tl] == ' ' || v[i + tl] == ',' || v[i + tl] == '\t'))
			return true;
	return false;
}

int
httpp_request_line(const char *s, size_t n, struct httpp_line *rl, struct apierr *e)
{
	const char *eol = s + n, *sp1, *sp2;

	memset(rl, 0, sizeof(*rl));
	sp1 = memchr(s, ' ', n);
	if (sp1 == NULL || sp1 == s)
		return apierr_set(e, 400, "bad_request", NULL, "malformed request line");
	for (const char *p = s; p < sp1; p++)
		if (!tchar((unsigned char)*p))
			return apierr_set(e, 400, "bad_request", NULL, "malformed request method");
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/')
		return apierr_set(e, 400, "bad_request", NULL, "malformed request target");
	for (const char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return apierr_set(e, 400, "bad_request", NULL, "malformed request target");
	if (eol - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
		return apierr_set(e, 505, "http_version_not_supported", NULL, "only HTTP/1.0 and HTTP/1.1");
	rl->method = s;
	rl->method_len = (size_t)(sp1 - s);
	rl->target = sp1 + 1;
	rl->target_len = (size_t)(sp2 - sp1 - 1);
	rl->http10 = sp2[8] == '0';
	return 0;
}

int
httpp_next_field(const char *s, size_t n, size_t *pos, struct httpp_field *f, struct apierr *e)
{
	const char *end = s + n, *l = s + *pos, *eol, *colon, *v, *ve;

	if (*pos >= n)
		return 0;
	eol = memmem(l, (size_t)(end - l), "\r\n", 2);
	if (eol == NULL)
		eol = end;
	colon = memchr(l, ':', (size_t)(eol - l));
	if (colon == NULL || colon == l) /* also obs-fold continuation lines */
		return apierr_set(e, 400, "bad_request", NULL, "malformed header line");
	for (const char *p = l; p < colon; p++)
		if (!tchar((unsigned char)*p))
			return apierr_set(e, 400, "bad_request", NULL, "malformed header name");
	for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
		;
	for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
		;
	for (const char *p = v; p < ve; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return apierr_set(e, 400, "bad_request", NULL, "control character in a header value");
	f->name = l;
	f->name_len = (size_t)(colon - l);
	f->value = v;
	f->value_len = (size_t)(ve - v);
	*pos = eol == end ? n : (size_t)(eol - s) + 2;
	return 1;
}

bool
httpp_field_is(const struct httpp_field *f, const char *name)
{
	return strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

int
httpp_query_param(const char *q, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (; q != NULL && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL) {
		size_t o = 0;

		if (strncmp(q, name, nl) != 0 || q[nl] != '=')
			continue;
		for (q += nl + 1; *q && *q != '&'; q++) {
			unsigned char ch = (unsigned char)*q;
			size_t got;

			if (ch == '%' && sodium_hex2bin(&ch, 1, q + 1, 2, NULL, &got, NULL) == 0 && got == 1)
				q += 2;
			else if (ch == '+')
				ch = ' ';
			if (ch == 0 || o + 1 >= cap)
				return -1;
			out[o++] = (char)ch;
		}
		out[o] = '\0';
		return 1;
	}
	return 0;
}

const char *
httpp_status_text(int s)
{
	switch (s) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const struct {
	const char *name;
	enum httpd_method m;
} methods[] = { { "GET", HM_GET }, { "POST", HM_POST }, { "PATCH", HM_PATCH }, { "HEAD", HM_HEAD },
	{ "PUT", HM_PUT }, { "DELETE", HM_DELETE } };

/* The request line into r. */
static int
request_line(struct httpd_req *r, const char *s, size_t n, bool *http10, struct apierr *e)
{
	struct httpp_line rl;
	char *q;

	if (httpp_request_line(s, n, &rl, e) < 0)
		return -1;
	if (rl.method_len >= sizeof(r->method_text))
		return apierr_set(e, 400, "bad_request", NULL, "malformed request method");
	memcpy(r->method_text, rl.method, rl.method_len);
	r->method_text[rl.method_len] = '\0';
	*http10 = rl.http10;
	if ((r->path = dupn(rl.target, rl.target_len)) == NULL)
		return apierr_set(e, 503, "out_of_memory", NULL, "out of memory");
	if ((q = strchr(r->path, '?')) != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(r->method_text, methods[i].name) == 0)
			r->method = methods[i].m;
	r->head_only = r->method == HM_HEAD;
	return 0;
}

int
httpp_head(struct httpd_req *r, const char *s, size_t n, struct http_head *h, struct apierr *e)
{
	const char *eol = memmem(s, n, "\r\n", 2);
	bool http10 = false, have_cl = false, have_te = false, conn_close = false, conn_keep = false, expect = false;
	struct httpp_field f;
	size_t pos;
	int nhost = 0, rc;

	if (eol == NULL)
		eol = s + n;
	if (request_line(r, s, (size_t)(eol - s), &http10, e) < 0)
		return -1;
	pos = eol == s + n ? n : (size_t)(eol - s) + 2;
	while ((rc = httpp_next_field(s, n, &pos, &f, e)) > 0) {
		const char *v = f.value;
		size_t vl = f.value_len;

		if (httpp_field_is(&f, "content-length")) {
			uint64_t cl = 0;

			if (vl == 0 || vl > 15)
				return apierr_set(e, 400, "bad_content_length", NULL, "malformed Content-Length");
			for (size_t i = 0; i < vl; i++) {
				if (v[i] < '0' || v[i] > '9')
					return apierr_set(e, 400, "bad_content_length", NULL, "malformed Content-Length");
				cl = cl * 10 + (uint64_t)(v[i] - '0');
			}
			if (have_cl && cl != r->content_length)
				return apierr_set(e, 400, "bad_content_length", NULL, "two different Content-Length values");
			have_cl = true;
			r->content_length = cl;
			r->has_body = true;
		} else if (httpp_field_is(&f, "transfer-encoding")) {
			/* Only "chunked", once: anything else is a coding we do not decode, or a smuggling attempt. */
			if (have_te)
				return apierr_set(e, 400, "bad_transfer_encoding", NULL, "Transfer-Encoding repeated");
			if (vl != 7 || strncasecmp(v, "chunked", 7) != 0)
				return apierr_set(e, 501, "transfer_encoding_unsupported", NULL,
				    "only the chunked transfer coding is supported");
			have_te = true;
			r->chunked = true;
			r->has_body = true;
		} else if (httpp_field_is(&f, "host")) {
			nhost++;
		} else if (httpp_field_is(&f, "connection")) {
			conn_close |= httpp_has_token(v, vl, "close");
			conn_keep |= httpp_has_token(v, vl, "keep-alive");
		} else if (httpp_field_is(&f, "content-type")) {
			if (r->content_type != NULL)
				return apierr_set(e, 400, "bad_request", NULL, "Content-Type repeated");
			if ((r->content_type = dupn(v, vl)) == NULL)
				return apierr_set(e, 503, "out_of_memory", NULL, "out of memory");
		} else if (httpp_field_is(&f, "authorization")) {
			if (r->authorization != NULL)
				return apierr_set(e, 400, "bad_request", NULL, "Authorization repeated");
			if ((r->authorization = dupn(v, vl)) == NULL)
				return apierr_set(e, 503, "out_of_memory", NULL, "out of memory");
		} else if (httpp_field_is(&f, "expect")) {
			if (vl != 12 || strncasecmp(v, "100-continue", 12) != 0)
				return apierr_set(e, 400, "expectation_failed", NULL, "only Expect: 100-continue");
			expect = true;
		}
	}
	if (rc < 0)
		return -1;
	/* RFC 9112 3.2: exactly one Host in HTTP/1.1 (at most one in 1.0). */
	if (nhost > 1 || (!http10 && nhost == 0))
		return apierr_set(e, 400, "bad_host", NULL, "HTTP/1.1 requests need exactly one Host header");
	/* RFC 9112 6.1, 6.3: both framings at once, or chunked in 1.0, is how requests are smuggled. */
	if (have_te && (have_cl || http10))
		return apierr_set(e, 400, "bad_transfer_encoding", NULL, "Transfer-Encoding with Content-Length or in HTTP/1.0");
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
		unsigned char nib;
		size_t got;
		char two[2] = { '0', s[i] };

		/* one hex digit at a time, as a byte "0X" (libsodium's decoder, constant time, no locale) */
		if (sodium_hex2bin(&nib, 1, two, 2, NULL, &got, NULL) != 0 || got != 1)
			break;
		*size = *size << 4 | nib;
	}
	if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
		return false;
	for (; i < n; i++) /* chunk extensions are ignored, but must be text */
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return false;
	return true;
}
