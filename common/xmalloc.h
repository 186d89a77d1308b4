/* xmalloc.h: die-on-OOM allocation for startup and bookkeeping; per-request code uses malloc and fails cleanly. */
#ifndef GTX_XMALLOC_H
#define GTX_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Out of memory at startup is not recoverable: write a fixed message and abort. */
__attribute__((noreturn)) void xoom(void);

#endif
