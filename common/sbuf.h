/* sbuf.h: a growable, always NUL-terminated text buffer whose one failure (out of memory) is sticky. */
#ifndef GTX_SBUF_H
#define GTX_SBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialize; p is NULL until the first append. The owner frees p. */
struct sbuf {
	char *p;
	size_t n, cap;
	bool oom; /* an append failed: the text is incomplete, later appends do nothing */
};

void sbuf_add(struct sbuf *b, const char *s, size_t len);
void sbuf_str(struct sbuf *b, const char *s);
/* s as a JSON string (quoted), escaped as cJSON prints it: the same text as cJSON_PrintUnformatted. */
void sbuf_json_str(struct sbuf *b, const char *s);

#endif
