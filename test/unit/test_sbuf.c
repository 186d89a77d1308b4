/* test_sbuf.c: the text buffer's JSON strings, against cJSON's printing of the same string. */
#include "t.h"

#include "sbuf.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static bool
same_as_cjson(const char *s)
{
	struct sbuf b = { 0 };
	cJSON *v = cJSON_CreateString(s);
	char *want = v != NULL ? cJSON_PrintUnformatted(v) : NULL;
	bool ok;

	sbuf_json_str(&b, s);
	ok = want != NULL && !b.oom && b.p != NULL && strcmp(b.p, want) == 0 && b.n == strlen(want);
	if (!ok)
		t_fail(__FILE__, __LINE__, "sbuf_json_str(\"%s\") == %s, want %s", s, b.p ? b.p : "(null)", want ? want : "(null)");
	cJSON_free(want);
	cJSON_Delete(v);
	free(b.p);
	return ok;
}

/* Every byte value at every place of strings longer than the eight bytes taken at a time, one and two of them. */
TEST(sbuf_json_str_every_byte_everywhere)
{
	char s[20];

	CHECK(same_as_cjson(""));
	for (int c = 1; c < 256; c++)
		for (int at = 0; at < 19; at++) {
			memset(s, 'a', 19);
			s[19] = '\0';
			s[at] = (char)c;
			if (!same_as_cjson(s))
				return;
			s[18 - at] = (char)(c ^ 0x20 ? c ^ 0x20 : 1);
			if (!same_as_cjson(s))
				return;
			s[at + 1 < 19 ? at + 1 : 0] = '"';
			if (!same_as_cjson(s))
				return;
		}
}
