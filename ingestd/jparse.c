/* jparse.c: strict JSON to cJSON (no duplicate keys, no trailing bytes, valid UTF-8, exact number text). */
#include "jparse.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jp {
	const unsigned char *s;
	size_t n, i;
	struct jp_err *e;
};

static cJSON *value(struct jp *p, int depth);

static cJSON *
fail(struct jp *p, int code, const char *msg)
{
	/* Keep the first (innermost) error. */
	if (p->e->code == 0) {
		p->e->code = code;
		p->e->offset = p->i;
		p->e->msg = msg;
	}
	return NULL;
}

static void
ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static cJSON *
node(struct jp *p, int type)
{
	cJSON *c = cJSON_CreateNull();

	if (c == NULL)
		return fail(p, JP_ENOMEM, "out of memory");
	c->type = type;
	return c;
}

static int
hex4(const unsigned char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int k = 0; k < 4; k++) {
		unsigned char ch = s[k];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (uint32_t)(ch - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
put_utf8(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 (overlong, surrogate, > U+10FFFF, truncated). */
static size_t
utf8_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

/* Parses a string at p->i (the opening quote); returns a malloc'd NUL-terminated copy. */
static char *
string(struct jp *p)
{
	size_t start = ++p->i, cap = 0, o = 0;
	unsigned char *out;

	/* Decoded text is never longer than the source, so one scan bounds the allocation. */
	for (size_t k = start; k < p->n && p->s[k] != '"'; k++) {
		if (p->s[k] == '\\')
			k++;
		cap = k - start + 2;
	}
	out = malloc(cap + 1);
	if (out == NULL)
		return fail(p, JP_ENOMEM, "out of memory"), NULL;
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];

		if (c == '"') {
			p->i++;
			out[o] = '\0';
			return (char *)out;
		}
		if (c < 0x20) {
			fail(p, JP_ESYNTAX, "control character in string");
			goto bad;
		}
		if (c == '\\') {
			uint32_t cp, lo;

			if (p->i + 1 >= p->n)
				break;
			c = p->s[p->i + 1];
			p->i += 2;
			switch (c) {
			case '"': out[o++] = '"'; continue;
			case '\\': out[o++] = '\\'; continue;
			case '/': out[o++] = '/'; continue;
			case 'b': out[o++] = '\b'; continue;
			case 'f': out[o++] = '\f'; continue;
			case 'n': out[o++] = '\n'; continue;
			case 'r': out[o++] = '\r'; continue;
			case 't': out[o++] = '\t'; continue;
			case 'u':
				break;
			default:
				p->i -= 2;
				fail(p, JP_ESYNTAX, "bad escape in string");
				goto bad;
			}
			if (p->i + 4 > p->n || hex4(p->s + p->i, &cp) < 0) {
				fail(p, JP_ESYNTAX, "bad \\u escape");
				goto bad;
			}
			p->i += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				fail(p, JP_EUTF8, "lone low surrogate");
				goto bad;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
				    hex4(p->s + p->i + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
					fail(p, JP_EUTF8, "lone high surrogate");
					goto bad;
				}
				p->i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0) {
				fail(p, JP_EUTF8, "NUL in string");
				goto bad;
			}
			o += put_utf8(out + o, cp);
			continue;
		}
		{
			size_t l = utf8_len(p->s + p->i, p->n - p->i);

			if (l == 0) {
				fail(p, JP_EUTF8, "invalid UTF-8 in string");
				goto bad;
			}
			memcpy(out + o, p->s + p->i, l);
			o += l;
			p->i += l;
		}
	}
	fail(p, JP_ESYNTAX, "unterminated string");
bad:
	free(out);
	return NULL;
}

static bool
digit(const struct jp *p)
{
	return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

static cJSON *
number(struct jp *p)
{
	size_t start = p->i, len;
	char *text;
	cJSON *c;

	if (p->s[p->i] == '-')
		p->i++;
	if (!digit(p))
		return fail(p, JP_ESYNTAX, "bad number");
	if (p->s[p->i] == '0')
		p->i++;
	else
		while (digit(p))
			p->i++;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (!digit(p))
			return fail(p, JP_ESYNTAX, "bad number");
		while (digit(p))
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!digit(p))
			return fail(p, JP_ESYNTAX, "bad number");
		while (digit(p))
			p->i++;
	}
	len = p->i - start;
	if ((text = malloc(len + 1)) == NULL)
		return fail(p, JP_ENOMEM, "out of memory");
	memcpy(text, p->s + start, len);
	text[len] = '\0';
	if ((c = node(p, cJSON_Number)) == NULL) {
		free(text);
		return NULL;
	}
	/* valuedouble is a convenience for counts and flags; amounts use the text. */
	cJSON_SetNumberValue(c, strtod(text, NULL));
	c->valuestring = text;
	return c;
}

static cJSON *
literal(struct jp *p, const char *word, int type)
{
	size_t l = strlen(word);

	if (p->n - p->i < l || memcmp(p->s + p->i, word, l) != 0)
		return fail(p, JP_ESYNTAX, "unexpected character");
	p->i += l;
	return node(p, type);
}

static cJSON *
object(struct jp *p, int depth)
{
	cJSON *o = node(p, cJSON_Object), *v;
	char *key;
	int nkeys = 0;

	if (o == NULL)
		return NULL;
	p->i++;
	ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		return o;
	}
	for (;;) {
		ws(p);
		if (p->i >= p->n || p->s[p->i] != '"') {
			fail(p, JP_ESYNTAX, "expected a member name");
			goto bad;
		}
		if (++nkeys > JP_MAX_KEYS) {
			fail(p, JP_ETOOBIG, "too many members in one object");
			goto bad;
		}
		if ((key = string(p)) == NULL)
			goto bad;
		for (const cJSON *c = o->child; c != NULL; c = c->next) {
			if (strcmp(c->string, key) == 0) {
				free(key);
				fail(p, JP_EDUPKEY, "duplicate member name");
				goto bad;
			}
		}
		ws(p);
		if (p->i >= p->n || p->s[p->i] != ':') {
			free(key);
			fail(p, JP_ESYNTAX, "expected ':'");
			goto bad;
		}
		p->i++;
		if ((v = value(p, depth + 1)) == NULL) {
			free(key);
			goto bad;
		}
		v->string = key; /* owned by the node, freed by cJSON_Delete */
		cJSON_AddItemToArray(o, v); /* appends to the member list, O(1) */
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}') {
			p->i++;
			return o;
		}
		fail(p, JP_ESYNTAX, "expected ',' or '}'");
		goto bad;
	}
bad:
	cJSON_Delete(o);
	return NULL;
}

static cJSON *
array(struct jp *p, int depth)
{
	cJSON *a = node(p, cJSON_Array), *v;

	if (a == NULL)
		return NULL;
	p->i++;
	ws(p);
	if (p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		return a;
	}
	for (;;) {
		if ((v = value(p, depth + 1)) == NULL)
			goto bad;
		cJSON_AddItemToArray(a, v);
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == ']') {
			p->i++;
			return a;
		}
		fail(p, JP_ESYNTAX, "expected ',' or ']'");
		goto bad;
	}
bad:
	cJSON_Delete(a);
	return NULL;
}

static cJSON *
value(struct jp *p, int depth)
{
	char *s;
	cJSON *c;

	if (depth > JP_MAX_DEPTH)
		return fail(p, JP_EDEPTH, "nested too deeply");
	ws(p);
	if (p->i >= p->n)
		return fail(p, JP_ESYNTAX, "unexpected end of input");
	switch (p->s[p->i]) {
	case '{':
		return object(p, depth);
	case '[':
		return array(p, depth);
	case '"':
		if ((s = string(p)) == NULL)
			return NULL;
		if ((c = node(p, cJSON_String)) == NULL) {
			free(s);
			return NULL;
		}
		c->valuestring = s;
		return c;
	case 't':
		return literal(p, "true", cJSON_True);
	case 'f':
		return literal(p, "false", cJSON_False);
	case 'n':
		return literal(p, "null", cJSON_NULL);
	default:
		if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9'))
			return number(p);
		return fail(p, JP_ESYNTAX, "unexpected character");
	}
}

cJSON *
jp_parse(const char *buf, size_t len, struct jp_err *e)
{
	struct jp p = { (const unsigned char *)buf, len, 0, e };
	cJSON *v;

	memset(e, 0, sizeof(*e));
	if ((v = value(&p, 1)) == NULL)
		return NULL;
	ws(&p);
	if (p.i != p.n) {
		cJSON_Delete(v);
		return fail(&p, JP_ETRAILING, "unexpected bytes after the JSON value");
	}
	return v;
}

const cJSON *
jp_get(const cJSON *o, const char *name)
{
	if (!cJSON_IsObject(o))
		return NULL;
	for (const cJSON *c = o->child; c != NULL; c = c->next)
		if (strcmp(c->string, name) == 0)
			return c;
	return NULL;
}
