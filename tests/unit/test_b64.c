/*
 * test_b64.c: strict base64url (RFC 4648 section 5, no padding), and the
 * padded standard encoding (section 4).
 */
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "t.h"

#define BAD ((size_t)-1)

/* RFC 4648 section 10 vectors, padding removed. */
static const struct {
	const char *raw;
	const char *enc;
} rfc[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_rfc(void)
{
	unsigned char dec[16];
	char enc[16], name[64], dname[64];
	size_t i, n, len;

	for (i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		len = strlen(rfc[i].raw);
		snprintf(dname, sizeof(dname), "decode \"%s\"", rfc[i].enc);
		snprintf(name, sizeof(name), "encode \"%s\"", rfc[i].raw);
		n = b64url_encode((const unsigned char *)rfc[i].raw, len, enc,
		    sizeof(enc));
		T_EQ_INT(n, strlen(rfc[i].enc), name);
		T_EQ_STR(enc, rfc[i].enc, name);
		snprintf(name, sizeof(name), "enclen %zu", len);
		T_EQ_INT(b64url_enclen(len), strlen(rfc[i].enc), name);

		n = b64url_decode(rfc[i].enc, strlen(rfc[i].enc), dec,
		    sizeof(dec));
		if (T_EQ_INT(n, len, dname))
			T_EQ_MEM(dec, rfc[i].raw, len, dname);
	}
}

/* The two characters where the url alphabet differs: '-' 62, '_' 63. */
static void
test_url_alphabet(void)
{
	static const unsigned char a[] = { 0xfb, 0xef, 0xbe };
	static const unsigned char b[] = { 0xff, 0xff, 0xff };
	static const unsigned char c[] = { 0xfb, 0xff };
	unsigned char dec[8];
	char enc[8];

	b64url_encode(a, sizeof(a), enc, sizeof(enc));
	T_EQ_STR(enc, "----", "fb ef be encodes as ----");
	b64url_encode(b, sizeof(b), enc, sizeof(enc));
	T_EQ_STR(enc, "____", "ff ff ff encodes as ____");
	b64url_encode(c, sizeof(c), enc, sizeof(enc));
	T_EQ_STR(enc, "-_8", "fb ff encodes as -_8");
	T_EQ_INT(b64url_decode("-_8", 3, dec, sizeof(dec)), 2,
	    "decode -_8 length");
	T_EQ_MEM(dec, c, 2, "decode -_8 bytes");
}

static void
test_round_trip(void)
{
	unsigned char raw[300], dec[300];
	char enc[512];
	size_t len, n;
	int ok = 1, i;

	for (i = 0; i < 256; i++)
		raw[i] = (unsigned char)i;
	for (i = 256; i < 300; i++)
		raw[i] = (unsigned char)(i * 7);
	for (len = 0; len <= sizeof(raw); len++) {
		n = b64url_encode(raw, len, enc, sizeof(enc));
		if (n != b64url_enclen(len) || strlen(enc) != n ||
		    strspn(enc,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			"qrstuvwxyz0123456789-_") != n) {
			ok = 0;
			break;
		}
		if (b64url_decode(enc, n, dec, sizeof(dec)) != len ||
		    memcmp(raw, dec, len) != 0) {
			ok = 0;
			break;
		}
	}
	T_OK(ok, "round trip of every byte value, lengths 0..300");
}

static void
test_sizes(void)
{
	unsigned char dec[8];
	char enc[8];

	/* "foo" needs 4 characters and the NUL. */
	T_EQ_INT(b64url_encode((const unsigned char *)"foo", 3, enc, 4), BAD,
	    "encode: no room for the NUL");
	T_EQ_INT(b64url_encode((const unsigned char *)"foo", 3, enc, 5), 4,
	    "encode: exact room");
	T_EQ_INT(b64url_encode((const unsigned char *)"", 0, enc, 0), BAD,
	    "encode: zero-size buffer");
	T_EQ_INT(b64url_decode("Zm9vYmFy", 8, dec, 5), BAD,
	    "decode: output too small");
	T_EQ_INT(b64url_decode("Zm9vYmFy", 8, dec, 6), 6, "decode: exact room");
	T_EQ_INT(b64url_decode("Zm8", 3, dec, 1), BAD,
	    "decode: partial group, output too small");
	T_EQ_INT(b64url_decode("", 0, dec, 0), 0, "decode: empty input");
}

static void
test_reject(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *why;
	} bad[] = {
		{ "Zg==", 4, "padding ==" },
		{ "Zm8=", 4, "padding =" },
		{ "Zg=", 3, "padding after 2 characters" },
		{ "=", 1, "only padding" },
		{ "Zm9v+mFy", 8, "standard '+'" },
		{ "Zm9v/mFy", 8, "standard '/'" },
		{ "Zm9v YmFy", 9, "space" },
		{ "Zm9v\nYmFy", 9, "newline" },
		{ "Zm9vYmFy\n", 9, "trailing newline" },
		{ " Zm9v", 5, "leading space" },
		{ "Zm9v\0mFy", 8, "NUL inside" },
		{ "Zm9v.mFy", 8, "dot" },
		{ "Zm9v\xc3\xa9mF", 8, "non-ASCII" },
		{ "Z", 1, "length 1 mod 4" },
		{ "Zm9vY", 5, "length 5 (1 mod 4)" },
		{ "Zh", 2, "non-zero trailing bits (2 chars)" },
		{ "Zm9", 3, "non-zero trailing bits (3 chars)" },
		{ "AB", 2, "non-zero trailing bits in AB" },
		{ "AAB", 3, "non-zero trailing bits in AAB" },
		{ "Zm9vZ_", 6, "non-zero trailing bits after a group" },
	};
	unsigned char dec[32];
	char name[80];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "reject %s", bad[i].why);
		T_EQ_INT(b64url_decode(bad[i].in, bad[i].n, dec, sizeof(dec)),
		    BAD, name);
	}
	/* Their canonical neighbours are fine. */
	T_EQ_INT(b64url_decode("Zg", 2, dec, sizeof(dec)), 1, "accept Zg");
	T_EQ_INT(b64url_decode("AA", 2, dec, sizeof(dec)), 1, "accept AA");
	T_EQ_INT(b64url_decode("AAA", 3, dec, sizeof(dec)), 2, "accept AAA");
	T_EQ_INT(b64url_decode("Zm9vZw", 6, dec, sizeof(dec)), 4,
	    "accept Zm9vZw");
}

/* RFC 4648 section 10 with padding, and the two characters that differ. */
static void
test_std(void)
{
	static const struct {
		const char *raw;
		const char *enc;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "\xfb\xef\xbe", "++++" },
		{ "\xff\xff\xff", "////" },
	};
	char enc[16], name[64];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(name, sizeof(name), "std encode \"%s\"", v[i].enc);
		n = b64_encode((const unsigned char *)v[i].raw,
		    strlen(v[i].raw), enc, sizeof(enc));
		T_EQ_INT(n, strlen(v[i].enc), name);
		T_EQ_STR(enc, v[i].enc, name);
		T_EQ_INT(b64_enclen(strlen(v[i].raw)), strlen(v[i].enc), name);
	}
	T_EQ_INT(b64_encode((const unsigned char *)"f", 1, enc, 4), BAD,
	    "std encode: no room for the NUL");
	T_EQ_INT(b64_encode((const unsigned char *)"f", 1, enc, 5), 4,
	    "std encode: exact room");
}

int
main(void)
{
	test_rfc();
	test_url_alphabet();
	test_round_trip();
	test_sizes();
	test_reject();
	test_std();
	return T_DONE();
}
