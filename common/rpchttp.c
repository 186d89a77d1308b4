/* rpchttp.c: HTTP plumbing shared by the blocking and the asynchronous RPC clients (rpchttp.h). */
#include "rpchttp.h"
#include "rpcjson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
rpchttp_display_url(const char *url, char out[RPCHTTP_DISPLAY_SZ], struct err *e)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	if (url == NULL || *url == '\0')
		return err_set(e, RPC_E_ARG, "rpc url is missing");
	if ((u = curl_url()) == NULL)
		return err_set(e, RPC_E_ARG, "rpc url: out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err_set(e, RPC_E_ARG, "rpc url is not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		err_set(e, RPC_E_ARG, "rpc url must be http or https, not %s", scheme);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	snprintf(out, RPCHTTP_DISPLAY_SZ, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

void
rpchttp_buf_reset(struct rpchttp_buf *b)
{
	b->len = 0;
	b->too_big = false;
	b->retry_after_ms = 0;
	if (b->body != NULL)
		b->body[0] = '\0';
}

void
rpchttp_buf_free(struct rpchttp_buf *b)
{
	free(b->body);
	memset(b, 0, sizeof(*b));
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct rpchttp_buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n + 1 > RPCHTTP_RESPONSE_MAX) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *nb;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((nb = realloc(b->body, cap)) == NULL)
			return 0;
		b->body = nb;
		b->cap = cap;
	}
	memcpy(b->body + b->len, p, n);
	b->len += n;
	b->body[b->len] = '\0';
	return n;
}

uint64_t
rpchttp_retry_after_ms(const char *v, size_t len)
{
	uint64_t secs = 0;
	size_t i = 0;

	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == len || v[i] < '0' || v[i] > '9')
		return 0;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		secs = secs * 10 + (uint64_t)(v[i] - '0');
		if (secs > 86400)
			return 86400 * 1000; /* a day at most: a wilder value is a misconfigured proxy */
	}
	while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
		i++;
	return i == len ? secs * 1000 : 0;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct rpchttp_buf *b = arg;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0)
		b->retry_after_ms = rpchttp_retry_after_ms(p + sizeof(name) - 1, n - (sizeof(name) - 1));
	return n;
}

struct curl_slist *
rpchttp_headers(void)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json"), *h2;

	if (h == NULL)
		return NULL;
	/* No "Expect: 100-continue" round trip for larger bodies. */
	if ((h2 = curl_slist_append(h, "Expect:")) == NULL) {
		curl_slist_free_all(h);
		return NULL;
	}
	return h2;
}

int
rpchttp_easy_setup(CURL *h, const char *url, struct curl_slist *headers, long cto, long to,
    struct rpchttp_buf *buf, struct err *e)
{
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cto) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, to) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, buf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, buf) != CURLE_OK)
		return err_set(e, RPC_E_ARG, "rpc: libcurl lacks a needed option");
	return 0;
}

char *
rpchttp_request_text(const char *method, uint64_t id, cJSON *params)
{
	cJSON *req = cJSON_CreateObject();
	char idbuf[24], *text = NULL;

	snprintf(idbuf, sizeof(idbuf), "%" PRIu64, id);
	if (req == NULL || params == NULL || cJSON_AddStringToObject(req, "jsonrpc", "2.0") == NULL ||
	    cJSON_AddRawToObject(req, "id", idbuf) == NULL || cJSON_AddStringToObject(req, "method", method) == NULL) {
		cJSON_Delete(params);
		cJSON_Delete(req);
		return NULL;
	}
	cJSON_AddItemToObject(req, "params", params);
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	return text;
}

int
rpchttp_outcome(const char *method, CURLcode cc, long status, const struct rpchttp_buf *buf, uint64_t id,
    const char *display, cJSON **root, const cJSON **result, struct rpc_error *x, struct err *e)
{
	int rc;

	memset(x, 0, sizeof(*x));
	*root = NULL;
	*result = NULL;
	x->http_status = status;
	if (cc != CURLE_OK) {
		if (buf->too_big) {
			x->kind = RPC_E_PARSE;
			return err_set(e, RPC_E_PARSE, "%s: response larger than the limit", method);
		}
		x->kind = cc == CURLE_OPERATION_TIMEDOUT ? RPC_E_TIMEOUT : RPC_E_TRANSPORT;
		return err_set(e, x->kind, "%s: %s (%s)", method, curl_easy_strerror(cc), display);
	}
	rc = rpcjson_response(method, status, buf->body != NULL ? buf->body : "", buf->len, id, root, result, x, e);
	if (x->kind == RPC_E_RATE_LIMITED)
		x->retry_after_ms = buf->retry_after_ms;
	return rc;
}
