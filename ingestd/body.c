/* body.c: strict JSON request bodies (json.h) turned into the daemon's errors. */
#include "body.h"
#include "json.h"

#include <string.h>
#include <strings.h>

int
body_json(const struct httpd_req *req, cJSON **out, struct apierr *e)
{
	const char *ct = req->content_type;
	struct err je;

	*out = NULL;
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';' &&
	    ct[16] != ' '))
		return apierr_set(e, 415, "unsupported_media_type", NULL, "the body must be JSON (Content-Type: application/json)");
	if ((*out = json_parse(req->body ? req->body : "", req->body_len, BODY_MAX_DEPTH, &je)) != NULL)
		return 0;
	switch (je.code) {
	case JSON_E_DUPKEY:
		return apierr_set(e, 400, "duplicate_key", NULL, "duplicate member name in a JSON object (%s)", je.msg);
	case JSON_E_TRAILING:
		return apierr_set(e, 400, "trailing_garbage", NULL, "unexpected bytes after the JSON value (%s)", je.msg);
	case JSON_E_NOMEM:
		return apierr_set(e, 503, "out_of_memory", NULL, "out of memory");
	default:
		return apierr_set(e, 400, "invalid_json", NULL, "malformed JSON at %s", je.msg);
	}
}

int
body_known_members(const cJSON *o, const char *const *known, struct apierr *e)
{
	if (!cJSON_IsObject(o))
		return apierr_set(e, 400, "not_an_object", NULL, "the body must be a JSON object");
	for (const cJSON *v = o->child; v != NULL; v = v->next) {
		bool ok = false;

		for (int i = 0; known[i]; i++)
			ok |= strcmp(v->string, known[i]) == 0;
		if (!ok)
			return apierr_set(e, 400, "unknown_field", NULL, "unknown member in the body");
	}
	return 0;
}
