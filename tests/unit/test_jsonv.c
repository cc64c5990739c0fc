/*
 * test_jsonv.c: the strict RFC 8259 object check, on good and bad bodies.
 *
 * Every case is copied into a heap buffer of exactly its length, without a
 * terminating NUL, so valgrind or ASan catches a read past n.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "t.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DEPTH 8 /* as fcgi/req.c's JSON_MAX_DEPTH */

/* A case from a string literal: its length is the literal's, so it may
 * hold NUL bytes. */
#define C(lit, want, why) \
	{ \
		lit, sizeof(lit) - 1, want, why \
	}

static const struct {
	const char *s;
	size_t n;
	int want;
	const char *why;
} cases[] = {
	/* Objects and white space. */
	C("{}", 1, "empty object"),
	C("{\"a\":1}", 1, "one member"),
	C("{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":false,\"e\":null}", 1,
	    "members of every scalar type"),
	C("{\"a\":{\"b\":[1,2,{\"c\":null}]},\"d\":[]}", 1, "nested"),
	C("{\"\":0}", 1, "empty key"),
	C("{\"a\":1,\"a\":2}", 1, "duplicate keys are not refused"),
	C(" \t\r\n{ \"a\" : [ 1 , 2 ] }\n\r\t ", 1,
	    "space, tab, CR, LF around tokens"),
	C("", 0, "empty input"),
	C(" \t\r\n", 0, "white space only"),
	C("\f{}", 0, "form feed is not white space"),
	C("{}\v", 0, "vertical tab is not white space"),
	C("\xef\xbb\xbf{}", 0, "byte order mark"),
	C("\xc2\xa0{}", 0, "no-break space is not white space"),
	/* Top level. */
	C("[]", 0, "top-level array"),
	C("[{}]", 0, "top-level array of an object"),
	C("\"a\"", 0, "top-level string"),
	C("1", 0, "top-level number"),
	C("true", 0, "top-level true"),
	C("null", 0, "top-level null"),
	C("{}{}", 0, "two objects"),
	C("{} {}", 0, "two objects with space"),
	C("{}x", 0, "garbage after the object"),
	C("{},", 0, "comma after the object"),
	C("{}}", 0, "extra closing brace"),
	/* Structure. */
	C("{", 0, "unclosed object"),
	C("{\"a\":[1,2}", 0, "unclosed array"),
	C("{\"a\":1", 0, "missing closing brace"),
	C("{\"a\":1,}", 0, "trailing comma in object"),
	C("{\"a\":[1,2,]}", 0, "trailing comma in array"),
	C("{,\"a\":1}", 0, "leading comma in object"),
	C("{\"a\":[,1]}", 0, "leading comma in array"),
	C("{\"a\":[1,,2]}", 0, "double comma in array"),
	C("{\"a\":1 \"b\":2}", 0, "missing comma between members"),
	C("{\"a\":[1 2]}", 0, "missing comma between elements"),
	C("{\"a\" 1}", 0, "missing colon"),
	C("{\"a\"::1}", 0, "double colon"),
	C("{\"a\":}", 0, "missing value"),
	C("{\"a\"}", 0, "key without value"),
	C("{1:1}", 0, "number key"),
	C("{a:1}", 0, "bare key"),
	C("{'a':1}", 0, "single-quoted key"),
	C("{null:1}", 0, "null key"),
	C("{\"a\":1]", 0, "object closed by bracket"),
	C("{\"a\":[1}}", 0, "array closed by brace"),
	/* Literals. */
	C("{\"a\":True}", 0, "True"),
	C("{\"a\":FALSE}", 0, "FALSE"),
	C("{\"a\":nul}", 0, "nul"),
	C("{\"a\":tru", 0, "truncated true at the end"),
	C("{\"a\":nulll}", 0, "nulll"),
	C("{\"a\":truex}", 0, "truex"),
	C("{\"a\":undefined}", 0, "undefined"),
	/* Numbers. */
	C("{\"a\":[0,-0,1,-1,10,1234567890]}", 1, "integers"),
	C("{\"a\":[0.5,-0.5,1.25,10.0]}", 1, "fractions"),
	C("{\"a\":[1e5,1E5,1e+5,1e-5,-0.0e0,2.5E-10]}", 1, "exponents"),
	C("{\"a\":123456789012345678901234567890e999}", 1,
	    "huge number is syntactically fine"),
	C("{\"a\":01}", 0, "leading zero"),
	C("{\"a\":-01}", 0, "negative leading zero"),
	C("{\"a\":00}", 0, "double zero"),
	C("{\"a\":1.}", 0, "1. without fraction digits"),
	C("{\"a\":.5}", 0, ".5 without integer part"),
	C("{\"a\":+1}", 0, "plus sign"),
	C("{\"a\":-}", 0, "minus alone"),
	C("{\"a\":- 1}", 0, "minus then space"),
	C("{\"a\":--1}", 0, "double minus"),
	C("{\"a\":1e}", 0, "exponent without digits"),
	C("{\"a\":1e+}", 0, "signed exponent without digits"),
	C("{\"a\":1.e5}", 0, "1.e5"),
	C("{\"a\":1.5.5}", 0, "two decimal points"),
	C("{\"a\":0x10}", 0, "hex number"),
	C("{\"a\":NaN}", 0, "NaN"),
	C("{\"a\":Infinity}", 0, "Infinity"),
	C("{\"a\":-Infinity}", 0, "-Infinity"),
	C("{\"a\":1", 0, "number at the end of the input"),
	/* Strings: quoting and escapes. */
	C("{\"a\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}", 1,
	    "every short escape"),
	C("{\"a\":\"\\u0041\\u00e9\\u00E9\\uFFFF\\u0001\"}", 1,
	    "\\u escapes in either case"),
	C("{\"a\":'x'}", 0, "single-quoted string"),
	C("{\"a\":\"x}", 0, "unterminated string"),
	C("{\"a\":\"x\\", 0, "backslash at the end of the input"),
	C("{\"a\":\"\\a\"}", 0, "escape \\a"),
	C("{\"a\":\"\\'\"}", 0, "escape \\'"),
	C("{\"a\":\"\\x41\"}", 0, "escape \\x"),
	C("{\"a\":\"\\0\"}", 0, "escape \\0"),
	C("{\"a\":\"\\U0041\"}", 0, "escape \\U"),
	C("{\"a\":\"\\u12\"}", 0, "short \\u escape"),
	C("{\"a\":\"\\u12G4\"}", 0, "non-hex \\u escape"),
	C("{\"a\":\"\\u12", 0, "\\u escape cut by the end of the input"),
	C("{\"a\":\"\\u0000\"}", 0, "escaped NUL"),
	/* Strings: raw bytes. */
	C("{\"a\":\"x\x01y\"}", 0, "raw 0x01 in a string"),
	C("{\"a\":\"x\x1fy\"}", 0, "raw 0x1f in a string"),
	C("{\"a\":\"x\ty\"}", 0, "raw tab in a string"),
	C("{\"a\":\"x\ny\"}", 0, "raw newline in a string"),
	C("{\"a\":\"x\x7fy\"}", 1, "raw DEL in a string is allowed"),
	C("{\"a\":\"x\0y\"}", 0, "raw NUL in a string"),
	C("{\"a\":1}\0", 0, "NUL after the object"),
	C("{\0}", 0, "NUL in the object"),
	/* Surrogate escapes. */
	C("{\"a\":\"\\ud83d\\ude00\"}", 1, "surrogate pair"),
	C("{\"a\":\"\\uD83D\\uDE00\"}", 1, "surrogate pair in upper case"),
	C("{\"a\":\"\\udbff\\udfff\"}", 1, "highest surrogate pair"),
	C("{\"a\":\"\\ud800\"}", 0, "lone high surrogate"),
	C("{\"a\":\"\\ud800x\"}", 0, "high surrogate then a character"),
	C("{\"a\":\"\\ud800\\n\"}", 0, "high surrogate then \\n"),
	C("{\"a\":\"\\ud800\\ud800\"}", 0, "two high surrogates"),
	C("{\"a\":\"\\ud800\\u0041\"}", 0, "high surrogate then \\u0041"),
	C("{\"a\":\"\\udc00\"}", 0, "lone low surrogate"),
	C("{\"a\":\"\\udfff\\ud800\"}", 0, "low then high surrogate"),
	C("{\"a\":\"\\ud800\\", 0, "high surrogate cut by the end"),
	C("{\"a\":\"\\ud800\\udc", 0, "pair cut by the end"),
	/* Strings: UTF-8. */
	C("{\"\xc3\xa9\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}", 1,
	    "2-, 3- and 4-byte UTF-8"),
	C("{\"a\":\"\xf4\x8f\xbf\xbf\"}", 1, "U+10FFFF"),
	C("{\"a\":\"\xc0\xaf\"}", 0, "overlong 2-byte"),
	C("{\"a\":\"\xe0\x80\xaf\"}", 0, "overlong 3-byte"),
	C("{\"a\":\"\xf0\x80\x80\xaf\"}", 0, "overlong 4-byte"),
	C("{\"a\":\"\xed\xa0\x80\"}", 0, "UTF-8 encoded surrogate"),
	C("{\"a\":\"\xf4\x90\x80\x80\"}", 0, "above U+10FFFF"),
	C("{\"a\":\"\xf5\x80\x80\x80\"}", 0, "byte 0xf5"),
	C("{\"a\":\"\x80\"}", 0, "stray continuation byte"),
	C("{\"a\":\"\xe2\x82\"}", 0, "truncated 3-byte sequence"),
	C("{\"a\":\"\xff\"}", 0, "byte 0xff"),
	C("{\"a\":1}\xc3", 0, "truncated sequence at the end"),
	C("{\"a\":\xc3\xa9}", 0, "UTF-8 outside a string"),
};

/* "why: value" as a check name, with bytes outside printable ASCII
 * written as \xNN and long values cut. */
static const char *
tname(char *buf, size_t sz, const char *why, const char *s, size_t n)
{
	size_t off, i;
	int k;

	k = snprintf(buf, sz, "%s: ", why);
	if (k < 0 || (size_t)k >= sz)
		return buf;
	off = (size_t)k;
	for (i = 0; i < n && off + 8 < sz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf[off++] = (char)c;
		else
			off += (size_t)snprintf(buf + off, sz - off, "\\x%02x",
			    c);
	}
	if (i < n)
		off += (size_t)snprintf(buf + off, sz - off, "...");
	buf[off] = '\0';
	return buf;
}

/* Check s[0..n) in a heap buffer of exactly n bytes. */
static void
check(const char *s, size_t n, int maxdepth, int want, const char *name)
{
	char *b;

	if ((b = malloc(n > 0 ? n : 1)) == NULL) {
		T_OK(0, "malloc");
		return;
	}
	memcpy(b, s, n);
	T_EQ_INT(jsonv_check(b, n, maxdepth), want, name);
	free(b);
}

static void
test_cases(void)
{
	char name[160];
	size_t i;

	for (i = 0; i < N(cases); i++)
		check(cases[i].s, cases[i].n, DEPTH, cases[i].want,
		    tname(name, sizeof(name), cases[i].why, cases[i].s,
			cases[i].n));
}

/*
 * d nested containers: the top-level object, then alternately arrays and
 * objects, the innermost holding a number.  Returns its length, or 0 if it
 * does not fit.
 */
static size_t
nest(char *buf, size_t sz, int d)
{
	size_t off = 0;
	int k;

	if (d < 1 || sz < (size_t)d * 6 + 2)
		return 0;
	for (k = 0; k < d; k++) {
		if (k % 2 == 0) {
			memcpy(buf + off, "{\"a\":", 5);
			off += 5;
		} else
			buf[off++] = '[';
	}
	buf[off++] = '1';
	for (k = d - 1; k >= 0; k--)
		buf[off++] = k % 2 == 0 ? '}' : ']';
	return off;
}

static void
test_depth(void)
{
	static const int maxd[] = { 1, 2, 3, DEPTH, 32 };
	char buf[512], name[96];
	const char *s;
	size_t i, n;

	for (i = 0; i < N(maxd); i++) {
		n = nest(buf, sizeof(buf), maxd[i]);
		snprintf(name, sizeof(name), "depth %d, maxdepth %d", maxd[i],
		    maxd[i]);
		check(buf, n, maxd[i], 1, name);
		n = nest(buf, sizeof(buf), maxd[i] + 1);
		snprintf(name, sizeof(name), "depth %d, maxdepth %d refused",
		    maxd[i] + 1, maxd[i]);
		check(buf, n, maxd[i], 0, name);
	}
	check("{}", 2, 0, 0, "maxdepth 0 refuses {}");
	check("{}", 2, -1, 0, "negative maxdepth refuses {}");
	s = "{\"a\":[]}";
	check(s, strlen(s), 1, 0, "empty array at depth 2, maxdepth 1");
	s = "{\"a\":{},\"b\":[],\"c\":[{}]}";
	check(s, strlen(s), 3, 1, "siblings do not add depth");
	s = "{\"a\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}";
	check(s, strlen(s), DEPTH, 0, "deep empty arrays refused");
}

/* Nesting far beyond the bound must fail without deep recursion. */
static void
test_deep(void)
{
	size_t n = 1000000, i;
	char *b;

	if ((b = malloc(n)) == NULL) {
		T_OK(0, "malloc");
		return;
	}
	b[0] = '{';
	memcpy(b + 1, "\"a\":", 4);
	for (i = 5; i < n; i++)
		b[i] = '[';
	T_EQ_INT(jsonv_check(b, n, DEPTH), 0, "a million [ refused");
	free(b);
}

/* Only the first n bytes count, whatever follows them. */
static void
test_length(void)
{
	const char *s = "{\"a\":1}garbage";

	T_EQ_INT(jsonv_check(s, 7, DEPTH), 1,
	    "n stops before trailing garbage");
	T_EQ_INT(jsonv_check(s, 6, DEPTH), 0, "n cuts the closing brace");
	T_EQ_INT(jsonv_check(s, 1, DEPTH), 0, "n leaves only {");
	T_EQ_INT(jsonv_check(s, 0, DEPTH), 0, "n is 0");
	T_EQ_INT(jsonv_check("{\"a\":\"\\u00e9\"}", 11, DEPTH), 0,
	    "n cuts a \\u escape");
	T_EQ_INT(jsonv_check("{\"a\":10}", 6, DEPTH), 0,
	    "n cuts a number before the brace");
	T_EQ_INT(jsonv_check("{\"a\":true}", 8, DEPTH), 0, "n cuts true");
	T_EQ_INT(jsonv_check(NULL, 0, DEPTH), 0, "NULL, 0");
	T_EQ_INT(jsonv_check(NULL, 2, DEPTH), 0, "NULL, 2");
}

/* jsonv_check_count(): every member of every object, nested or not. */
static void
test_members(void)
{
	static const struct {
		const char *s;
		size_t want;
	} c[] = {
		{ "{}", 0 },
		{ "{\"a\":1}", 1 },
		{ "{\"a\":1,\"a\":2}", 2 },
		{ "{\"a\":{\"b\":{},\"c\":[{\"d\":1},{\"d\":2},3]}}", 5 },
		{ "{\"a\":[[],[{}],\"{\\\"x\\\":1}\"]}", 1 },
	};
	size_t i, got;

	for (i = 0; i < N(c); i++) {
		got = 99;
		T_EQ_INT(jsonv_check_count(c[i].s, strlen(c[i].s), DEPTH, &got),
		    1, c[i].s);
		T_EQ_INT(got, c[i].want, c[i].s);
	}
	got = 99;
	T_EQ_INT(jsonv_check_count("{\"a\":}", 6, DEPTH, &got), 0,
	    "refused text");
	T_EQ_INT(got, 99, "no count for a refused text");
	T_EQ_INT(jsonv_check_count("{\"a\":1}", 7, DEPTH, NULL), 1,
	    "members may be NULL");
}

int
main(void)
{
	test_cases();
	test_depth();
	test_deep();
	test_length();
	test_members();
	return T_DONE();
}
