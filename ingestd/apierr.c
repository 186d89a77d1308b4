/* apierr.c: filling the daemon's one error type. */
#include "apierr.h"

#include <stdio.h>

int
apierr_set(struct apierr *e, int status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->status = status;
	e->code = code;
	e->field = field;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}
