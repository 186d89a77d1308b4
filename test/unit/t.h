/* t.h: a tiny unit-test harness; each TEST registers itself, run-all prints "N passed, N failed". */
#ifndef GTX_T_H
#define GTX_T_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef void (*t_fn)(void);
void t_register(const char *name, t_fn fn);
/* Records a failed check of the running test; returns false so a test may stop early. */
bool t_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	__attribute__((constructor)) static void reg_##name(void)          \
	{ t_register(#name, test_##name); }                                 \
	static void test_##name(void)

#define CHECK(c) \
	((c) ? true : t_fail(__FILE__, __LINE__, "CHECK(%s)", #c))
#define CHECK_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
	if (_a != _b) t_fail(__FILE__, __LINE__, "%s == %lld, want %s == %lld", #a, _a, #b, _b); } while (0)
#define CHECK_U64(a, b) do { unsigned long long _a = (a), _b = (b); \
	if (_a != _b) t_fail(__FILE__, __LINE__, "%s == %llu, want %llu", #a, _a, _b); } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) \
		t_fail(__FILE__, __LINE__, "%s == \"%s\", want \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); } while (0)

#endif
