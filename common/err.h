/* err.h: the one error convention of common/: return 0 or -1 and fill a caller-supplied struct err. */
#ifndef GTX_ERR_H
#define GTX_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define WUR __attribute__((warn_unused_result))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * Every fallible function in common/ returns 0 on success or -1 on failure
 * (or NULL for constructors) and, on failure, describes the problem in *e.
 * `code` is a module-specific enum value (0 when the module has none) that a
 * caller may map to an API error code; `msg` is human text without secrets.
 * A NULL `e` is allowed: the description is then dropped.
 */
struct err {
	int code;
	char msg[256];
};

/* Sets e->code = code and formats e->msg; always returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...) PRINTF(3, 4);
int err_vset(struct err *e, int code, const char *fmt, va_list ap) PRINTF(3, 0);
/* Prefixes the existing message with "prefix: ". Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...) PRINTF(2, 3);
void err_clear(struct err *e);

/* A growable list of error lines (config checks collect every error, not only the first). */
struct errlist {
	char **v;
	size_t n;
	size_t cap;
};
void errlist_add(struct errlist *l, const char *fmt, ...) PRINTF(2, 3);
void errlist_free(struct errlist *l);

#endif
