/* test_json.c: the one strict JSON parser (common/json): what it accepts, what it refuses and why, exact numbers. */
#include "t.h"

#include "json.h"

TEST(json_refuses_with_a_reason)
{
	static const struct {
		const char *text;
		int code;
	} cases[] = {
		{ "", JSON_E_SYNTAX }, { "{", JSON_E_SYNTAX }, { "{\"a\":1,}", JSON_E_SYNTAX }, { "[1,]", JSON_E_SYNTAX },
		{ "01", JSON_E_TRAILING }, { "1.", JSON_E_SYNTAX }, { "-", JSON_E_SYNTAX }, { "1e", JSON_E_SYNTAX },
		{ "NaN", JSON_E_SYNTAX }, { "'a'", JSON_E_SYNTAX }, { "{\"a\":1} x", JSON_E_TRAILING },
		{ "{\"a\":1}{}", JSON_E_TRAILING }, { "{\"a\":1,\"a\":2}", JSON_E_DUPKEY },
		{ "{\"a\":{\"b\":1,\"b\":1}}", JSON_E_DUPKEY }, { "\"\\x\"", JSON_E_SYNTAX }, { "\"a\nb\"", JSON_E_SYNTAX },
		{ "\"\\ud800\"", JSON_E_UTF8 }, { "\"\\udc00\"", JSON_E_UTF8 }, { "\"\\u0000\"", JSON_E_UTF8 },
		{ "\"\xc3\x28\"", JSON_E_UTF8 }, { "\"\xed\xa0\x80\"", JSON_E_UTF8 }, { "\"\xc0\xaf\"", JSON_E_UTF8 },
		{ "[[[[[[[[[[1]]]]]]]]]]", JSON_E_DEPTH }, { "\"\\u12g4\"", JSON_E_SYNTAX }, { "tru", JSON_E_SYNTAX },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e = { 0 };
		cJSON *j = json_parse(cases[i].text, strlen(cases[i].text), 8, &e);

		if (j != NULL || e.code != cases[i].code)
			t_fail(__FILE__, __LINE__, "case %zu (%s): code %d (%s), want %d", i, cases[i].text, e.code, e.msg,
			    cases[i].code);
		CHECK(j == NULL || (cJSON_Delete(j), false));
		CHECK(strncmp(e.msg, "byte ", 5) == 0);
	}
}

TEST(json_keeps_exact_numbers_and_decodes_strings)
{
	static const char text[] = " {\"big\": 18446744073709551615, \"kwh\": 10.50, \"e\": -1E+3, \"s\": \"\\u00e9\\ud83d\\ude00\\n\","
				   " \"t\": true, \"n\": null, \"a\": [0, {\"x\": []}]} ";
	struct err e = { 0 };
	cJSON *j = json_parse(text, strlen(text), 8, &e);
	const cJSON *v;

	if (!CHECK(j != NULL))
		return;
	CHECK_STR(json_get(j, "big")->valuestring, "18446744073709551615");
	CHECK_STR(json_get(j, "kwh")->valuestring, "10.50");
	CHECK_STR(json_get(j, "e")->valuestring, "-1E+3");
	CHECK(json_get(j, "e")->valuedouble == -1000);
	CHECK_STR(json_get(j, "s")->valuestring, "\xc3\xa9\xf0\x9f\x98\x80\n");
	CHECK(cJSON_IsTrue(json_get(j, "t")));
	CHECK(cJSON_IsNull(json_get(j, "n")));
	v = json_get(j, "a");
	CHECK(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2);
	CHECK(json_get(j, "missing") == NULL);
	CHECK(json_get(json_get(j, "t"), "x") == NULL);
	cJSON_Delete(j);
	/* the length bounds the text: no NUL terminator needed, nothing past len read */
	j = json_parse("[1]garbage", 3, 8, &e);
	CHECK(j != NULL && cJSON_GetArraySize(j) == 1);
	cJSON_Delete(j);
}
