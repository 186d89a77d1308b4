/* sbuf.c: a growable text buffer (doubling from 256 bytes). */
#include "sbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
sbuf_add(struct sbuf *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		char *p;

		while (cap < b->n + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

void
sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

/*
 * Whether one of the 8 bytes of w is a control (below 0x20), '"' or '\\': the has-less-than and has-zero
 * bit tricks, which never miss one (they may flag a byte above one that is there, which is all the same here).
 */
static bool
escape_in8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');

	return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high) != 0;
}

/*
 * s as a JSON string, escaped as cJSON prints it (the two controls' spellings, \u00xx for the rest). Eight
 * bytes at a time through the runs that need nothing: an accepted reading's event and answer are a kilobyte
 * of such text.
 */
void
sbuf_json_str(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + strlen(s);

	sbuf_add(b, "\"", 1);
	for (; s < end; s++) {
		unsigned char c;
		char esc[6] = { '\\', 0 };
		size_t n = 2;
		uint64_t w;

		while (end - s >= 8 && (memcpy(&w, s, 8), !escape_in8(w)))
			s += 8;
		if (s == end)
			break;
		c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		sbuf_add(b, esc, n);
	}
	sbuf_add(b, run, (size_t)(s - run));
	sbuf_add(b, "\"", 1);
}
