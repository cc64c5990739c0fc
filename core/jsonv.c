/*
 * jsonv.c: strict RFC 8259 check of a JSON object, as a recursive descent
 * whose recursion is bounded by the caller's maximum depth.
 *
 * The UTF-8 of the whole input is checked once up front with valid_utf8()
 * (which also refuses NUL), so the parser itself works on ASCII: a byte
 * >= 0x80 is taken as is inside a string and is a syntax error anywhere
 * else.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonv.h"
#include "valid.h"

struct jsonv {
	const unsigned char *p; /* borrowed: the input */
	size_t n;               /* its length */
	size_t i;               /* the next byte to look at */
	size_t members;         /* object members seen, in all objects */
	int maxdepth;
};

static int value(struct jsonv *, int);

/* The next byte, or -1 at the end of the input. */
static int
peek(const struct jsonv *v)
{
	return v->i < v->n ? v->p[v->i] : -1;
}

static void
skip_ws(struct jsonv *v)
{
	while (v->i < v->n &&
	    (v->p[v->i] == ' ' || v->p[v->i] == '\t' || v->p[v->i] == '\n' ||
		v->p[v->i] == '\r'))
		v->i++;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* One or more digits. */
static int
digits(struct jsonv *v)
{
	if (!is_digit(peek(v)))
		return 0;
	while (is_digit(peek(v)))
		v->i++;
	return 1;
}

/* Four hex digits into *u. */
static int
hex4(struct jsonv *v, unsigned *u)
{
	size_t k;
	int c;

	if (v->n - v->i < 4)
		return 0;
	*u = 0;
	for (k = 0; k < 4; k++) {
		c = v->p[v->i++];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return 0;
		*u = (*u << 4) | (unsigned)c;
	}
	return 1;
}

/* The \uXXXX escape after the "\u": no NUL, surrogates only in pairs. */
static int
escape_u(struct jsonv *v)
{
	unsigned u;

	if (!hex4(v, &u) || u == 0 || (u >= 0xdc00 && u <= 0xdfff))
		return 0;
	if (u < 0xd800 || u > 0xdbff)
		return 1;
	if (v->n - v->i < 2 || v->p[v->i] != '\\' || v->p[v->i + 1] != 'u')
		return 0;
	v->i += 2;
	return hex4(v, &u) && u >= 0xdc00 && u <= 0xdfff;
}

/* A string, at its opening quote. */
static int
string(struct jsonv *v)
{
	int c;

	v->i++;
	for (;;) {
		if ((c = peek(v)) == -1 || c < 0x20)
			return 0;
		v->i++;
		if (c == '"')
			return 1;
		if (c != '\\')
			continue;
		if ((c = peek(v)) == -1)
			return 0;
		v->i++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			break;
		case 'u':
			if (!escape_u(v))
				return 0;
			break;
		default:
			return 0;
		}
	}
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
number(struct jsonv *v)
{
	int c;

	if (peek(v) == '-')
		v->i++;
	if (peek(v) == '0')
		v->i++;
	else if (!digits(v))
		return 0;
	if (peek(v) == '.') {
		v->i++;
		if (!digits(v))
			return 0;
	}
	if ((c = peek(v)) == 'e' || c == 'E') {
		v->i++;
		if ((c = peek(v)) == '+' || c == '-')
			v->i++;
		if (!digits(v))
			return 0;
	}
	return 1;
}

static int
literal(struct jsonv *v, const char *word)
{
	size_t len = strlen(word);

	if (v->n - v->i < len || memcmp(v->p + v->i, word, len) != 0)
		return 0;
	v->i += len;
	return 1;
}

/* An object at its '{', which is at nesting level depth. */
static int
object(struct jsonv *v, int depth)
{
	int c;

	v->i++;
	skip_ws(v);
	if (peek(v) == '}') {
		v->i++;
		return 1;
	}
	for (;;) {
		if (peek(v) != '"' || !string(v))
			return 0;
		skip_ws(v);
		if (peek(v) != ':')
			return 0;
		v->i++;
		skip_ws(v);
		if (!value(v, depth))
			return 0;
		v->members++;
		skip_ws(v);
		if ((c = peek(v)) == '}') {
			v->i++;
			return 1;
		}
		if (c != ',')
			return 0;
		v->i++;
		skip_ws(v);
	}
}

/* An array at its '[', which is at nesting level depth. */
static int
array(struct jsonv *v, int depth)
{
	int c;

	v->i++;
	skip_ws(v);
	if (peek(v) == ']') {
		v->i++;
		return 1;
	}
	for (;;) {
		if (!value(v, depth))
			return 0;
		skip_ws(v);
		if ((c = peek(v)) == ']') {
			v->i++;
			return 1;
		}
		if (c != ',')
			return 0;
		v->i++;
		skip_ws(v);
	}
}

/* A value at the current byte, inside depth open objects and arrays. */
static int
value(struct jsonv *v, int depth)
{
	switch (peek(v)) {
	case '{':
		return depth < v->maxdepth && object(v, depth + 1);
	case '[':
		return depth < v->maxdepth && array(v, depth + 1);
	case '"':
		return string(v);
	case 't':
		return literal(v, "true");
	case 'f':
		return literal(v, "false");
	case 'n':
		return literal(v, "null");
	default:
		return number(v);
	}
}

int
jsonv_check_count(const char *s, size_t n, int maxdepth, size_t *members)
{
	struct jsonv v;

	if (s == NULL || n == 0 || !valid_utf8(s, n))
		return 0;
	v.p = (const unsigned char *)s;
	v.n = n;
	v.i = 0;
	v.members = 0;
	v.maxdepth = maxdepth;
	skip_ws(&v);
	if (peek(&v) != '{' || !value(&v, 0))
		return 0;
	skip_ws(&v);
	if (v.i != v.n)
		return 0;
	if (members != NULL)
		*members = v.members;
	return 1;
}

int
jsonv_check(const char *s, size_t n, int maxdepth)
{
	return jsonv_check_count(s, n, maxdepth, NULL);
}

/* Members of all objects in o, nested ones included; json-c keeps one per
 * key.  The recursion is bounded by the tokener's depth. */
static size_t
json_members(struct json_object *o)
{
	size_t n = 0, i, len;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val)
		{
			(void)key;
			n += 1 + json_members(val);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		len = json_object_array_length(o);
		for (i = 0; i < len; i++)
			n += json_members(json_object_array_get_idx(o, i));
	}
	return n;
}

enum err
jsonv_parse(const char *s, size_t n, int maxdepth, struct json_object **out)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	size_t members = 0;
	enum err e = ERR_INVALID_JSON;

	*out = NULL;
	/* UTF-8, no NUL, strict grammar (json-c alone is lax). */
	if (n > INT32_MAX || !jsonv_check_count(s, n, maxdepth, &members))
		return ERR_INVALID_JSON;
	if ((tok = json_tokener_new_ex(maxdepth + 1)) == NULL)
		return ERR_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		goto done;
	/*
	 * json-c keeps the last of a key given twice; another parser in
	 * front of latch may keep the first.  Refuse the ambiguity.
	 */
	if (json_members(o) != members)
		goto done;
	*out = o;
	o = NULL;
	e = ERR_OK;
done:
	json_object_put(o);
	json_tokener_free(tok);
	return e;
}
