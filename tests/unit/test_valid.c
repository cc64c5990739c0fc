/*
 * test_valid.c: the field validators, on good and bad values each.
 */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "valid.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A string of n copies of the UTF-8 sequence u. */
static const char *
rep(char *buf, size_t sz, const char *u, size_t n)
{
	size_t i, off = 0, ul = strlen(u);

	for (i = 0; i < n && off + ul < sz; i++, off += ul)
		memcpy(buf + off, u, ul);
	buf[off] = '\0';
	return buf;
}

/* "what: value" as a check name, with bytes outside printable ASCII
 * written as \xNN. */
static const char *
tname(char *buf, size_t sz, const char *what, const char *s, size_t n, int want)
{
	size_t off, i;

	off = (size_t)snprintf(buf, sz, "%s %s: \"", what,
	    want ? "accepts" : "refuses");
	for (i = 0; i < n && i < 40 && off + 6 < sz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[off++] = (char)c;
		else
			off += (size_t)snprintf(buf + off, sz - off, "\\x%02x",
			    c);
	}
	snprintf(buf + off, sz - off, "%s\"", n > 40 ? "..." : "");
	return buf;
}

struct mem {
	const char *s;
	size_t n;
	int want;
};
/* clang-format off */
#define M(lit, want) {lit, sizeof(lit) - 1, want}
/* clang-format on */

static void
test_utf8(void)
{
	/* clang-format off */
	static const struct mem cases[] = {
		M("", 1),
		M("hello", 1),
		M("caf\xc3\xa9", 1),                 /* U+00E9 */
		M("\xc2\x80", 1),                    /* U+0080 */
		M("\xdf\xbf", 1),                    /* U+07FF */
		M("\xe0\xa0\x80", 1),                /* U+0800 */
		M("\xe2\x82\xac", 1),                /* U+20AC */
		M("\xed\x9f\xbf", 1),                /* U+D7FF */
		M("\xee\x80\x80", 1),                /* U+E000 */
		M("\xef\xbf\xbd", 1),                /* U+FFFD */
		M("\xef\xbf\xbf", 1),                /* U+FFFF */
		M("\xf0\x90\x80\x80", 1),            /* U+10000 */
		M("\xf0\x9f\x98\x80", 1),            /* U+1F600 */
		M("\xf4\x8f\xbf\xbf", 1),            /* U+10FFFF */
		M("a\xe6\x97\xa5\xe6\x9c\xac" "b", 1),
		M("\x7f", 1),
		M("\x00", 0),                        /* NUL */
		M("ab\x00" "cd", 0),
		M("\x80", 0),                        /* stray continuation */
		M("a\xbf" "b", 0),
		M("\xc3", 0),                        /* truncated */
		M("\xe2\x82", 0),
		M("\xf0\x9f\x98", 0),
		M("\xc3" "a", 0),                    /* bad continuation */
		M("\xe2\x28\xa1", 0),
		M("\xc0\xaf", 0),                    /* overlong '/' */
		M("\xc1\xbf", 0),
		M("\xc0\x80", 0),                    /* overlong NUL */
		M("\xe0\x80\xaf", 0),                /* overlong 3 */
		M("\xe0\x9f\xbf", 0),
		M("\xf0\x80\x80\xaf", 0),            /* overlong 4 */
		M("\xf0\x8f\xbf\xbf", 0),
		M("\xed\xa0\x80", 0),                /* U+D800 */
		M("\xed\xbf\xbf", 0),                /* U+DFFF */
		M("\xed\xa0\xbd\xed\xb8\x80", 0),    /* CESU-8 pair */
		M("\xf4\x90\x80\x80", 0),            /* U+110000 */
		M("\xf5\x80\x80\x80", 0),
		M("\xf7\xbf\xbf\xbf", 0),
		M("\xf8\x88\x80\x80\x80", 0),        /* 5 bytes */
		M("\xfc\x84\x80\x80\x80\x80", 0),
		M("\xfe", 0),
		M("\xff", 0),
	};
	/* clang-format on */
	char n[160];
	size_t i;

	for (i = 0; i < N(cases); i++)
		T_EQ_INT(valid_utf8(cases[i].s, cases[i].n), cases[i].want,
		    tname(n, sizeof(n), "utf8", cases[i].s, cases[i].n,
			cases[i].want));
	/* n bounds the check: a truncated tail within n is refused, bytes
	 * past n are not looked at. */
	T_EQ_INT(valid_utf8("\xe2\x82\xac", 2), 0, "utf8 refuses cut at n");
	T_EQ_INT(valid_utf8("ab\xff", 2), 1, "utf8 stops at n");

	T_EQ_INT(valid_utf8_len(""), 0, "utf8_len empty");
	T_EQ_INT(valid_utf8_len("abc"), 3, "utf8_len ascii");
	T_EQ_INT(valid_utf8_len("caf\xc3\xa9"), 4, "utf8_len 2-byte");
	T_EQ_INT(valid_utf8_len("\xe2\x82\xac\xf0\x9f\x98\x80"
				"x"),
	    3, "utf8_len 3- and 4-byte");
}

struct str {
	const char *s;
	int want;
};

static void
run(const char *what, int (*fn)(const char *), const struct str *cases,
    size_t n)
{
	char name[160];
	size_t i;

	for (i = 0; i < n; i++)
		T_EQ_INT(fn(cases[i].s), cases[i].want,
		    tname(name, sizeof(name), what, cases[i].s,
			strlen(cases[i].s), cases[i].want));
}

static void
test_username(void)
{
	/* clang-format off */
	static const struct str cases[] = {
		{"bob", 1}, {"Alice_01", 1}, {"a.b-c_d", 1}, {"...", 1},
		{"0123456789", 1}, {"ab", 0}, {"", 0}, {"a b c", 0},
		{"bob@example", 0}, {"bob!", 0}, {"caf\xc3\xa9", 0},
		{"tab\tx", 0}, {"new\nline", 0}, {"slash/x", 0},
		{"semi;colon", 0}, {"plus+", 0},
	};
	/* clang-format on */
	char buf[128];

	run("username", valid_username, cases, N(cases));
	T_EQ_INT(valid_username(rep(buf, sizeof(buf), "u", 64)), 1,
	    "username accepts 64");
	T_EQ_INT(valid_username(rep(buf, sizeof(buf), "u", 65)), 0,
	    "username refuses 65");
	T_EQ_INT(valid_username(NULL), 0, "username refuses NULL");
}

static void
test_email(void)
{
	/* clang-format off */
	static const struct str cases[] = {
		{"a@b", 1},
		{"user@example.com", 1},
		{"First.Last+tag@sub.example.co.uk", 1},
		{"x_y-z@host-name.example", 1},
		{"user@localhost", 1},
		{"o'brien@example.com", 0},
		{"j\xc3\xb6rg@example.com", 1},
		{"user@b\xc3\xbc" "cher.example", 1},
		{"user@xn--bcher-kva.example", 1},
		{"!#$%&*+/=?^_`{|}~@example.com", 1},
		{"", 0},
		{"plain", 0},
		{"@example.com", 0},
		{"user@", 0},
		{"a@b@c", 0},
		{"user@@example.com", 0},
		{"us er@example.com", 0},
		{"user@exa mple.com", 0},
		{"user\r@example.com", 0},
		{"user\n@example.com", 0},
		{"user@example.com\r\nBcc: x@y", 0},
		{"user\t@example.com", 0},
		{"a,b@example.com", 0},
		{"<user@example.com>", 0},
		{"User <user@example.com>", 0},
		{"\"user\"@example.com", 0},
		{"(c)user@example.com", 0},
		{"a;b@example.com", 0},
		{"a:b@example.com", 0},
		{"a\\b@example.com", 0},
		{"a[b]@example.com", 0},
		{"user@[127.0.0.1]", 0},
		{"a\x01" "b@example.com", 0},
		{"a\x7f" "b@example.com", 0},
		{"user@.example.com", 0},
		{"user@example.com.", 0},
		{"user@example..com", 0},
		{"user@.", 0},
		{"user@exa_mple.com", 0},
		{"user@exa+mple.com", 0},
		{"user@example.com:25", 0},
		{"user@exam/ple.com", 0},
		{"user@ex\xff" "ample.com", 0},
	};
	/* clang-format on */
	char buf[600], local[80], domain[300];

	run("email", valid_email, cases, N(cases));

	/* Local part 64 bytes, not 65. */
	snprintf(buf, sizeof(buf), "%s@example.com",
	    rep(local, sizeof(local), "l", 64));
	T_EQ_INT(valid_email(buf), 1, "email accepts 64-byte local part");
	snprintf(buf, sizeof(buf), "%s@example.com",
	    rep(local, sizeof(local), "l", 65));
	T_EQ_INT(valid_email(buf), 0, "email refuses 65-byte local part");

	/* Total 254 bytes, not 255; domain 253 bytes, not 254. */
	rep(domain, sizeof(domain), "d", 252 - 4);
	snprintf(buf, sizeof(buf), "a@%s.com", domain);
	T_EQ_INT(strlen(buf), 254, "email test built 254 bytes");
	T_EQ_INT(valid_email(buf), 1, "email accepts 254 bytes");
	snprintf(buf, sizeof(buf), "ab@%s.com", domain);
	T_EQ_INT(valid_email(buf), 0, "email refuses 255 bytes");
	rep(domain, sizeof(domain), "d", 253 - 4);
	snprintf(buf, sizeof(buf), "a@%s.com", domain);
	T_EQ_INT(valid_email(buf), 0, "email refuses 254-byte domain");
	T_EQ_INT(valid_email(NULL), 0, "email refuses NULL");
}

static void
test_email_norm(void)
{
	char out[32];

	T_EQ_INT(valid_email_norm("User@Example.COM", out, sizeof(out)), 0,
	    "email_norm fits");
	T_EQ_STR(out, "user@example.com", "email_norm lower-cases");
	T_EQ_INT(valid_email_norm("J\xc3\x96RG@X.DE", out, sizeof(out)), 0,
	    "email_norm utf-8 fits");
	T_EQ_STR(out, "j\xc3\x96rg@x.de", "email_norm leaves non-ASCII");
	T_EQ_INT(valid_email_norm("abc", out, 4), 0, "email_norm exact fit");
	T_EQ_STR(out, "abc", "email_norm exact fit value");
	T_EQ_INT(valid_email_norm("abcd", out, 4), -1, "email_norm too long");
	T_EQ_INT(valid_email_norm("", out, 1), 0, "email_norm empty");
	T_EQ_INT(valid_email_norm("a", out, 0), -1, "email_norm size 0");
}

static void
test_names(void)
{
	/* clang-format off */
	static const struct str names[] = {
		{"", 1}, {"Ada Lovelace", 1}, {"Jos\xc3\xa9 Garc\xc3\xad" "a", 1},
		{"\xe5\xb1\xb1\xe7\x94\xb0", 1}, {"O'Brien-Smith, Jr.", 1},
		{"   ", 1}, {"\xf0\x9f\x98\x80", 1},
		{"tab\there", 0}, {"new\nline", 0}, {"cr\r", 0},
		{"esc\x1b[31m", 0}, {"del\x7f", 0}, {"c1\xc2\x85", 0},
		{"c1\xc2\x9f", 0}, {"bad\xff", 0}, {"sur\xed\xa0\x80", 0},
		{"over\xc0\xaf", 0},
	};
	/* clang-format on */
	/* clang-format off */
	static const struct str orgs[] = {
		{"Acme", 1}, {"Acme Corp.", 1}, {"  Acme  ", 1},
		{"\xc3\x89" "cole", 1}, {"A", 1}, {"", 0}, {" ", 0},
		{"     ", 0}, {"\xc2\xa0", 0}, {" \xe3\x80\x80 ", 0},
		{"\xe2\x80\x8b", 0}, {"Acme\n", 0}, {"Acme\tCorp", 0},
		{"\x01", 0}, {"x\xe2\x82", 0},
	};
	/* clang-format on */
	/* clang-format off */
	static const struct str descs[] = {
		{"", 1}, {"Line one\nLine two", 1}, {"col1\tcol2", 1},
		{"Caf\xc3\xa9 \xe2\x82\xac", 1}, {"cr\r\n", 0},
		{"bell\x07", 0}, {"del\x7f", 0}, {"c1\xc2\x80", 0},
		{"bad\xc3", 0},
	};
	/* clang-format on */
	char buf[8192];

	run("name", valid_name, names, N(names));
	T_EQ_INT(valid_name(rep(buf, sizeof(buf), "n", 128)), 1,
	    "name accepts 128");
	T_EQ_INT(valid_name(rep(buf, sizeof(buf), "n", 129)), 0,
	    "name refuses 129");
	T_EQ_INT(valid_name(rep(buf, sizeof(buf), "\xe2\x82\xac", 128)), 1,
	    "name accepts 128 code points (384 bytes)");
	T_EQ_INT(valid_name(rep(buf, sizeof(buf), "\xf0\x9f\x98\x80", 129)), 0,
	    "name refuses 129 code points");
	T_EQ_INT(valid_name(NULL), 0, "name refuses NULL");

	run("org_name", valid_org_name, orgs, N(orgs));
	T_EQ_INT(valid_org_name(rep(buf, sizeof(buf), "\xc3\xa9", 128)), 1,
	    "org_name accepts 128 code points");
	T_EQ_INT(valid_org_name(rep(buf, sizeof(buf), "o", 129)), 0,
	    "org_name refuses 129");
	T_EQ_INT(valid_org_name(NULL), 0, "org_name refuses NULL");

	run("description", valid_description, descs, N(descs));
	T_EQ_INT(valid_description(rep(buf, sizeof(buf), "d", 1024)), 1,
	    "description accepts 1024");
	T_EQ_INT(valid_description(rep(buf, sizeof(buf), "d", 1025)), 0,
	    "description refuses 1025");
	T_EQ_INT(valid_description(rep(buf, sizeof(buf), "\xe6\x97\xa5", 1024)),
	    1, "description accepts 1024 code points");
	T_EQ_INT(valid_description(NULL), 0, "description refuses NULL");
}

static void
test_password(void)
{
	char buf[2048];

	T_EQ_INT(valid_password("12345678", 8), 1, "password 8 of min 8");
	T_EQ_INT(valid_password("1234567", 8), 0, "password 7 of min 8");
	T_EQ_INT(valid_password("", 8), 0, "password empty");
	T_EQ_INT(valid_password("correct horse battery staple", 12), 1,
	    "password with spaces");
	T_EQ_INT(valid_password("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8), 0,
	    "password counts code points, not bytes");
	T_EQ_INT(valid_password(rep(buf, sizeof(buf), "\xc3\xa9", 8), 8), 1,
	    "password 8 code points");
	T_EQ_INT(valid_password(rep(buf, sizeof(buf), "p", 256), 8), 1,
	    "password 256");
	T_EQ_INT(valid_password(rep(buf, sizeof(buf), "p", 257), 8), 0,
	    "password 257");
	T_EQ_INT(valid_password(rep(buf, sizeof(buf), "\xf0\x9f\x94\x91", 256),
		     8),
	    1, "password 256 code points (1024 bytes)");
	T_EQ_INT(valid_password(rep(buf, sizeof(buf), "\xf0\x9f\x94\x91", 257),
		     8),
	    0, "password 257 code points");
	T_EQ_INT(valid_password(rep(buf, sizeof(buf), "p", 20), 21), 0,
	    "password under a higher min");
	T_EQ_INT(valid_password("pass\xffword", 4), 0, "password bad utf-8");
	T_EQ_INT(valid_password(NULL, 8), 0, "password NULL");
}

/* Times as the API writes them: RFC 3339, UTC, to the second. */
static void
test_time(void)
{
	static const struct {
		const char *s;
		long long t;
	} good[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2027-01-31T23:59:59Z", 1801439999 },
		{ "2028-02-29T12:00:00Z", 1835438400 },
		{ "9999-12-31T23:59:59Z", 253402300799LL },
	};
	static const char *const bad[] = {
		"",
		"2027-01-31",
		"2027-01-31T23:59:59",
		"2027-01-31 23:59:59Z",
		"2027-01-31T23:59:59+00:00",
		"2027-01-31T23:59:59.5Z",
		"2027-01-31t23:59:59z",
		"2027-02-30T00:00:00Z",
		"2027-02-29T00:00:00Z",
		"2027-13-01T00:00:00Z",
		"2027-00-01T00:00:00Z",
		"2027-01-00T00:00:00Z",
		"2027-01-01T24:00:00Z",
		"2027-01-01T00:60:00Z",
		"2027-01-01T00:00:60Z",
		"1969-12-31T23:59:59Z",
		"+027-01-01T00:00:00Z",
		"2027-1-01T00:00:00Z ",
		"２027-01-01T00:00:00Z",
	};
	int64_t t;
	size_t i;

	for (i = 0; i < N(good); i++) {
		t = -1;
		T_OK(valid_time(good[i].s, &t) == 1 && t == good[i].t,
		    good[i].s);
		T_OK(valid_time_str(good[i].s), good[i].s);
	}
	for (i = 0; i < N(bad); i++)
		T_OK(!valid_time(bad[i], &t) && !valid_time_str(bad[i]),
		    bad[i]);
	T_OK(!valid_time(NULL, &t), "NULL");
}

int
main(void)
{
	test_utf8();
	test_username();
	test_email();
	test_email_norm();
	test_names();
	test_password();
	test_time();
	return T_DONE();
}
