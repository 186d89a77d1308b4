/* json.c: strict JSON to cJSON (no duplicate keys, no trailing bytes, valid UTF-8, exact number text). */
#include "json.h"
#include "utf8.h"

#include <sodium.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jp {
	const unsigned char *s;
	size_t n, i;
	int max_depth;
	int code;        /* the first (innermost) error */
	size_t offset;
	const char *msg;
};

static cJSON *value(struct jp *p, int depth);

static cJSON *
fail(struct jp *p, int code, const char *msg)
{
	/* Keep the first (innermost) error. */
	if (p->code == 0) {
		p->code = code;
		p->offset = p->i;
		p->msg = msg;
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
		return fail(p, JSON_E_NOMEM, "out of memory");
	c->type = type;
	return c;
}

/* Four hex digits (a \\u escape) into *out. */
static int
hex4(const unsigned char *s, uint32_t *out)
{
	uint8_t b[2];
	size_t got;

	if (sodium_hex2bin(b, 2, (const char *)s, 4, NULL, &got, NULL) != 0 || got != 2)
		return -1;
	*out = (uint32_t)b[0] << 8 | b[1];
	return 0;
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
		return fail(p, JSON_E_NOMEM, "out of memory"), NULL;
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];

		if (c == '"') {
			p->i++;
			out[o] = '\0';
			return (char *)out;
		}
		if (c < 0x20) {
			fail(p, JSON_E_SYNTAX, "control character in string");
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
				fail(p, JSON_E_SYNTAX, "bad escape in string");
				goto bad;
			}
			if (p->i + 4 > p->n || hex4(p->s + p->i, &cp) < 0) {
				fail(p, JSON_E_SYNTAX, "bad \\u escape");
				goto bad;
			}
			p->i += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				fail(p, JSON_E_UTF8, "lone low surrogate");
				goto bad;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
				    hex4(p->s + p->i + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
					fail(p, JSON_E_UTF8, "lone high surrogate");
					goto bad;
				}
				p->i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			if (cp == 0) {
				fail(p, JSON_E_UTF8, "NUL in string");
				goto bad;
			}
			o += utf8_put(out + o, cp);
			continue;
		}
		if (c < 0x80) {
			out[o++] = c; /* printable ASCII (controls, '"' and '\\' are handled above): most of every body */
			p->i++;
			continue;
		}
		{
			size_t l = utf8_seq_len(p->s + p->i, p->n - p->i);

			if (l == 0) {
				fail(p, JSON_E_UTF8, "invalid UTF-8 in string");
				goto bad;
			}
			memcpy(out + o, p->s + p->i, l);
			o += l;
			p->i += l;
		}
	}
	fail(p, JSON_E_SYNTAX, "unterminated string");
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
		return fail(p, JSON_E_SYNTAX, "bad number");
	if (p->s[p->i] == '0')
		p->i++;
	else
		while (digit(p))
			p->i++;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (!digit(p))
			return fail(p, JSON_E_SYNTAX, "bad number");
		while (digit(p))
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!digit(p))
			return fail(p, JSON_E_SYNTAX, "bad number");
		while (digit(p))
			p->i++;
	}
	len = p->i - start;
	if ((text = malloc(len + 1)) == NULL)
		return fail(p, JSON_E_NOMEM, "out of memory");
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
		return fail(p, JSON_E_SYNTAX, "unexpected character");
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
			fail(p, JSON_E_SYNTAX, "expected a member name");
			goto bad;
		}
		if (++nkeys > JSON_MAX_KEYS) {
			fail(p, JSON_E_TOOBIG, "too many members in one object");
			goto bad;
		}
		if ((key = string(p)) == NULL)
			goto bad;
		for (const cJSON *c = o->child; c != NULL; c = c->next) {
			if (strcmp(c->string, key) == 0) {
				free(key);
				fail(p, JSON_E_DUPKEY, "duplicate member name");
				goto bad;
			}
		}
		ws(p);
		if (p->i >= p->n || p->s[p->i] != ':') {
			free(key);
			fail(p, JSON_E_SYNTAX, "expected ':'");
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
		fail(p, JSON_E_SYNTAX, "expected ',' or '}'");
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
		fail(p, JSON_E_SYNTAX, "expected ',' or ']'");
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

	if (depth > p->max_depth)
		return fail(p, JSON_E_DEPTH, "nested too deeply");
	ws(p);
	if (p->i >= p->n)
		return fail(p, JSON_E_SYNTAX, "unexpected end of input");
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
		return fail(p, JSON_E_SYNTAX, "unexpected character");
	}
}

cJSON *
json_parse(const char *buf, size_t len, int max_depth, struct err *e)
{
	struct jp p = { (const unsigned char *)buf, len, 0, max_depth, 0, 0, NULL };
	cJSON *v = value(&p, 1);

	if (v != NULL) {
		ws(&p);
		if (p.i != p.n) {
			cJSON_Delete(v);
			v = fail(&p, JSON_E_TRAILING, "unexpected bytes after the JSON value");
		}
	}
	if (v == NULL)
		err_set(e, p.code, "byte %zu: %s", p.offset, p.msg);
	return v;
}

const cJSON *
json_get(const cJSON *o, const char *name)
{
	if (!cJSON_IsObject(o))
		return NULL;
	for (const cJSON *c = o->child; c != NULL; c = c->next)
		if (strcmp(c->string, name) == 0)
			return c;
	return NULL;
}
