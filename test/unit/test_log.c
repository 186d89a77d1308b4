/* test_log.c: the logfmt line: fields, escaping (no value forges a field or a line), UTF-8, truncation. */
#include "t.h"

#include <stdarg.h>
#include <stdint.h>

#include "log.h"

static char line[LOG_LINE_MAX];
static const char *volatile nothing; /* NULL, out of the compiler's sight */

static const char *fmt(enum log_level level, const char *msg, const char *fields, ...) PRINTF(3, 4);
static const char *
fmt(enum log_level level, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_format(line, sizeof(line), level, "ingestd", msg, fields, ap);
	va_end(ap);
	return line;
}

TEST(log_fields_bare_and_quoted)
{
	CHECK_STR(fmt(LOG_LVL_INFO, "reading accepted", "request_id=%s reading_id=%s meter=%s kwh=%s",
		      "0f1e", "42", "M-1", "1.5"),
		  "level=info daemon=ingestd msg=\"reading accepted\" request_id=0f1e reading_id=42 meter=M-1 kwh=1.5");
	CHECK_STR(fmt(LOG_LVL_ERR, "ready", NULL), "level=error daemon=ingestd msg=ready");
	CHECK_STR(fmt(LOG_LVL_WARN, "x", ""), "level=warn daemon=ingestd msg=x");
	CHECK_STR(fmt(LOG_LVL_CRIT, "x", "err=%s", ""), "level=fatal daemon=ingestd msg=x err=\"\"");
	CHECK_STR(fmt(LOG_LVL_DEBUG, "x", "err=%s", "no route"), "level=debug daemon=ingestd msg=x err=\"no route\"");
	CHECK_STR(fmt(LOG_LVL_NOTICE, "x", "s=%s", nothing), "level=notice daemon=ingestd msg=x s=(null)");
}

TEST(log_conversions)
{
	CHECK_STR(fmt(LOG_LVL_INFO, "t", "tx_id=%" PRId64 " slot=%" PRIu64 " n=%zu d=%d u=%u x=%02x l=%ld ll=%lld c=%c",
		      (int64_t)-7, (uint64_t)18446744073709551615u, (size_t)3, -1, 4u, 10, -5L, 9LL, 'q'),
		  "level=info daemon=ingestd msg=t tx_id=-7 slot=18446744073709551615 n=3 d=-1 u=4 x=0a l=-5 ll=9 c=q");
	/* several conversions and literals in one value; a literal value; %%; * widths and precisions */
	CHECK_STR(fmt(LOG_LVL_INFO, "t", "expected=%s..%s by=admin pct=%d%% w=%*d p=%.*s", "1", "2", 50, 4, 7, 2, "abcdef"),
		  "level=info daemon=ingestd msg=t expected=1..2 by=admin pct=50% w=\"   7\" p=ab");
	/* %n is refused and stops the line: the types of later arguments are unknown */
	CHECK(strstr(fmt(LOG_LVL_INFO, "t", "a=%s b=%ls", "1", L"w"), "a=1") != NULL);
}

TEST(log_escaping_cannot_forge_a_field_or_a_line)
{
	/* a meter-supplied serial that tries to end the line and start another */
	CHECK_STR(fmt(LOG_LVL_INFO, "reading rejected", "meter=%s", "M1\nlevel=err msg=forged"),
		  "level=info daemon=ingestd msg=\"reading rejected\" meter=\"M1\\nlevel=err msg=forged\"");
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "a\r\nb"), "level=info daemon=ingestd msg=m meter=\"a\\r\\nb\"");
	/* ... or to add a field to this one */
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "x reading_id=1"),
		  "level=info daemon=ingestd msg=m meter=\"x reading_id=1\"");
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "a=b"), "level=info daemon=ingestd msg=m meter=\"a=b\"");
	/* ... or to close the quotes */
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "\" tx=forged \""),
		  "level=info daemon=ingestd msg=m meter=\"\\\" tx=forged \\\"\"");
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "a\\\"b"), "level=info daemon=ingestd msg=m meter=\"a\\\\\\\"b\"");
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "back\\slash"), "level=info daemon=ingestd msg=m meter=\"back\\\\slash\"");
	/* control characters, DEL, escape sequences for terminals */
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "a\tb\x01\x1b[31m\x7f"),
		  "level=info daemon=ingestd msg=m meter=\"a\\tb\\u0001\\u001b[31m\\u007f\"");
	/* the key is ours, but even a bad one cannot split the line */
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "Bad-Key=%s", "v"), "level=info daemon=ingestd msg=m _ad__ey=v");
	/* msg is escaped like any value */
	CHECK_STR(fmt(LOG_LVL_INFO, "say \"hi\"\n", NULL), "level=info daemon=ingestd msg=\"say \\\"hi\\\"\\n\"");
}

TEST(log_utf8_kept_invalid_and_invisible_escaped)
{
	/* valid printable UTF-8 is kept, bare when nothing else needs quotes */
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "Zähler-東京-😀"), "level=info daemon=ingestd msg=m meter=Zähler-東京-😀");
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "Zähler 1"), "level=info daemon=ingestd msg=m meter=\"Zähler 1\"");
	/* invalid bytes (a stray continuation, a truncated sequence, an overlong NUL) */
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "a\x80" "b\xe2\x82"), "level=info daemon=ingestd msg=m meter=\"a\\ufffdb\\ufffd\\ufffd\"");
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "\xc0\x80"), "level=info daemon=ingestd msg=m meter=\"\\ufffd\\ufffd\"");
	/* C1 NEL, LINE SEPARATOR, a right-to-left override, the BOM */
	CHECK_STR(fmt(LOG_LVL_INFO, "m", "meter=%s", "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xae" "d\xef\xbb\xbf"),
		  "level=info daemon=ingestd msg=m meter=\"a\\u0085b\\u2028c\\u202ed\\ufeff\"");
}

TEST(log_long_values_are_cut_and_marked)
{
	static char big[LOG_LINE_MAX * 2];

	memset(big, 'a', sizeof(big) - 1);
	size_t n = strlen(fmt(LOG_LVL_INFO, "m", "err=%s tx=%s", big, "sig"));
	CHECK(n < LOG_LINE_MAX);
	CHECK(strstr(line, "...") != NULL);
	CHECK(strstr(line, " tx=sig") == NULL);
	CHECK(n > 15 && strcmp(line + n - 15, " truncated=true") == 0);
	/* a cut never splits an escape: quotes stay balanced */
	memset(big, '"', sizeof(big) - 1);
	fmt(LOG_LVL_INFO, "m", "err=%s", big);
	const char *v = strstr(line, "err=\"") + 5, *e = strstr(line, "...\" truncated=true");
	CHECK(e != NULL);
	for (const char *p = v; e && p < e; p += 2)
		if (!CHECK(p[0] == '\\' && p[1] == '"'))
			break;
}

TEST(log_level_names_parse)
{
	CHECK_INT(log_level_parse("err"), LOG_LVL_ERR);
	CHECK_INT(log_level_parse("error"), LOG_LVL_ERR);
	CHECK_INT(log_level_parse("WARNING"), LOG_LVL_WARN);
	CHECK_INT(log_level_parse("warn"), LOG_LVL_WARN);
	CHECK_INT(log_level_parse("notice"), LOG_LVL_NOTICE);
	CHECK_INT(log_level_parse("info"), LOG_LVL_INFO);
	CHECK_INT(log_level_parse("debug"), LOG_LVL_DEBUG);
	CHECK_INT(log_level_parse("fatal"), -1);
	CHECK_INT(log_level_parse(""), -1);
}
