/*
 * test_tok.c: random tokens, their SHA-256 hashes, request ids.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "b64.h"
#include "t.h"
#include "tok.h"

#define URL_ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static void
test_new(void)
{
	char a[TOK_STR_SIZE], b[TOK_STR_SIZE];
	unsigned char raw[64];

	T_EQ_INT(tok_new(32, a, sizeof(a)), 0, "tok_new 32 bytes");
	T_EQ_INT(strlen(a), 43, "32 bytes are 43 characters");
	T_EQ_INT(strspn(a, URL_ALPHABET), 43, "token is base64url");
	T_EQ_INT(b64url_decode(a, strlen(a), raw, sizeof(raw)), 32,
	    "token decodes to 32 bytes");
	T_EQ_INT(tok_new(32, b, sizeof(b)), 0, "tok_new again");
	T_OK(strcmp(a, b) != 0, "two tokens differ");

	T_EQ_INT(tok_new(16, a, sizeof(a)), 0, "tok_new 16 bytes");
	T_EQ_INT(strlen(a), 22, "16 bytes are 22 characters");
	T_EQ_INT(tok_new(15, a, sizeof(a)), -1, "15 bytes refused");
	T_EQ_INT(tok_new(33, a, sizeof(a)), -1, "33 bytes refused");
	T_EQ_INT(tok_new(32, a, TOK_STR_SIZE - 1), -1,
	    "buffer below TOK_STR_SIZE refused");
}

static void
test_refresh(void)
{
	char a[TOK_STR_SIZE], b[TOK_STR_SIZE], bad[TOK_STR_SIZE];
	unsigned char raw[64];
	/* clang-format off */
	static const unsigned char head[12] = {
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x80, 0x00, 0x00, 0x09,
	};
	/* clang-format on */
	static const struct {
		unsigned char sid0, sid7, gen3;
		const char *what;
	} rows[] = {
		{ 0x00, 0x00, 0x01, "session 0 refused by parse" },
		{ 0x00, 0x01, 0x00, "generation 0 refused by parse" },
		{ 0x80, 0x01, 0x01, "session 2^63 + 1 refused by parse" },
	};
	int64_t sid = 0;
	uint32_t gen = 0;
	size_t k;

	T_EQ_INT(tok_refresh_new(0x0102030405060708LL, 0x80000009u, a,
		     sizeof(a)),
	    0, "tok_refresh_new");
	T_EQ_INT(strlen(a), TOK_REFRESH_LEN, "a refresh token's length");
	T_EQ_INT(strspn(a, URL_ALPHABET), TOK_REFRESH_LEN,
	    "refresh token is base64url");
	T_EQ_INT(b64url_decode(a, strlen(a), raw, sizeof(raw)), 44,
	    "refresh token decodes to 44 bytes");
	T_EQ_MEM(raw, head, sizeof(head), "session id, generation, big-endian");
	T_EQ_INT(tok_refresh_parse(a, strlen(a), &sid, &gen), 0,
	    "tok_refresh_parse");
	T_OK(sid == 0x0102030405060708LL && gen == 0x80000009u,
	    "parse gives back the session id and generation");
	T_EQ_INT(tok_refresh_new(0x0102030405060708LL, 0x80000009u, b,
		     sizeof(b)),
	    0, "the same row's token again");
	T_OK(strcmp(a, b) != 0, "its random part differs");

	T_EQ_INT(tok_refresh_new(0, 1, b, sizeof(b)), -1, "session 0 refused");
	T_EQ_INT(tok_refresh_new(-1, 1, b, sizeof(b)), -1,
	    "negative session refused");
	T_EQ_INT(tok_refresh_new(1, 0, b, sizeof(b)), -1,
	    "generation 0 refused");
	T_EQ_INT(tok_refresh_new(1, 1, b, TOK_STR_SIZE - 1), -1,
	    "buffer below TOK_STR_SIZE refused");

	T_EQ_INT(tok_refresh_parse(a, strlen(a) - 1, &sid, &gen), -1,
	    "one character short refused");
	T_EQ_INT(tok_new(32, b, sizeof(b)), 0, "a 43-character token");
	T_EQ_INT(tok_refresh_parse(b, strlen(b), &sid, &gen), -1,
	    "a plain token is no refresh token");
	memcpy(bad, a, sizeof(bad));
	bad[10] = '+';
	T_EQ_INT(tok_refresh_parse(bad, strlen(bad), &sid, &gen), -1,
	    "a character outside base64url refused");
	memcpy(bad, a, sizeof(bad));
	bad[TOK_REFRESH_LEN - 1] = 'B'; /* 59 x 6 bits leave 2 zero bits */
	T_EQ_INT(tok_refresh_parse(bad, strlen(bad), &sid, &gen), -1,
	    "non-zero trailing bits refused");
	/* Rows no token may name: bytes 0 and 7 of the session id, 11 of
	 * the generation (all others zero). */
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		memset(raw, 0, sizeof(raw));
		raw[0] = rows[k].sid0;
		raw[7] = rows[k].sid7;
		raw[11] = rows[k].gen3;
		T_OK(b64url_encode(raw, 44, bad, sizeof(bad)) ==
			TOK_REFRESH_LEN,
		    rows[k].what);
		T_EQ_INT(tok_refresh_parse(bad, strlen(bad), &sid, &gen), -1,
		    rows[k].what);
	}
}

/* API keys: the prefix, the row id, 256 random bits. */
static void
test_apikey(void)
{
	static const unsigned char head[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char a[TOK_STR_SIZE], b[TOK_STR_SIZE], bad[TOK_STR_SIZE];
	unsigned char raw[48];
	int64_t id = 0;

	T_EQ_INT(tok_apikey_new(0x0102030405060708LL, a, sizeof(a)), 0,
	    "tok_apikey_new");
	T_EQ_INT(strlen(a), TOK_APIKEY_LEN, "an API key's length");
	T_OK(strncmp(a, "latch_", 6) == 0, "it starts with latch_");
	T_OK(tok_apikey_is(a), "tok_apikey_is");
	T_EQ_INT(strspn(a + 6, URL_ALPHABET), TOK_APIKEY_LEN - 6,
	    "the rest is base64url");
	T_EQ_INT(b64url_decode(a + 6, strlen(a) - 6, raw, sizeof(raw)), 40,
	    "it decodes to 40 bytes: id and 256 random bits");
	T_EQ_MEM(raw, head, sizeof(head), "the row id, big-endian");
	T_EQ_INT(tok_apikey_parse(a, strlen(a), &id), 0, "tok_apikey_parse");
	T_OK(id == 0x0102030405060708LL, "parse gives back the id");
	T_EQ_INT(tok_apikey_new(0x0102030405060708LL, b, sizeof(b)), 0,
	    "the same row's key again");
	T_OK(strcmp(a + 17, b + 17) != 0, "its random part differs");
	T_EQ_INT(tok_apikey_new(0, b, sizeof(b)), -1, "id 0 refused");
	T_EQ_INT(tok_apikey_new(1, b, TOK_STR_SIZE - 1), -1,
	    "buffer below TOK_STR_SIZE refused");
	T_EQ_INT(tok_apikey_parse(a, strlen(a) - 1, &id), -1,
	    "one character short refused");
	memcpy(bad, a, sizeof(bad));
	bad[0] = 'L';
	T_EQ_INT(tok_apikey_parse(bad, strlen(bad), &id), -1,
	    "another prefix refused");
	T_OK(!tok_apikey_is(bad), "and is no key");
	memcpy(bad, a, sizeof(bad));
	bad[20] = '+';
	T_EQ_INT(tok_apikey_parse(bad, strlen(bad), &id), -1,
	    "a character outside base64url refused");
	memset(raw, 0, sizeof(raw));
	memcpy(bad, "latch_", 6);
	T_OK(b64url_encode(raw, 40, bad + 6, sizeof(bad) - 6) == 54,
	    "a key of row 0");
	T_EQ_INT(tok_apikey_parse(bad, strlen(bad), &id), -1,
	    "row 0 refused by parse");
	raw[0] = 0x80;
	T_OK(b64url_encode(raw, 40, bad + 6, sizeof(bad) - 6) == 54,
	    "a key of row 2^63");
	T_EQ_INT(tok_apikey_parse(bad, strlen(bad), &id), -1,
	    "row 2^63 refused by parse");
}

/* Successors: HMAC-SHA256 under the key, the same for the same parent. */
static void
test_refresh_next(void)
{
	static const unsigned char key[32] = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";
	static const unsigned char other[32] =
	    "jkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";
	/* (session 1, generation 1), 32 zero bytes. */
	static const char parent[] =
	    "AAAAAAAAAAEAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	/* Python: HMAC(key, b"latch refresh token successor v1\0" + parent)
	 * after (1, 2), base64url. */
	static const char want[] =
	    "AAAAAAAAAAEAAAACQYf5zwpdilONSptZLTL2dPTBpjQM6hhuc4sextU-sik";
	char a[TOK_STR_SIZE], b[TOK_STR_SIZE], p2[TOK_STR_SIZE];
	int64_t sid = 0;
	uint32_t gen = 0;
	size_t n = strlen(parent);

	T_EQ_INT(tok_refresh_next(key, sizeof(key), parent, n, 1, 2, a,
		     sizeof(a)),
	    0, "tok_refresh_next");
	T_EQ_STR(a, want, "the successor is the HMAC of label and parent");
	T_EQ_INT(tok_refresh_parse(a, strlen(a), &sid, &gen), 0,
	    "a successor is a refresh token");
	T_OK(sid == 1 && gen == 2, "it names the row asked for");
	T_EQ_INT(tok_refresh_next(key, sizeof(key), parent, n, 1, 2, b,
		     sizeof(b)),
	    0, "the successor again");
	T_EQ_STR(b, a, "the same parent and key give the same successor");
	T_EQ_INT(tok_refresh_next(other, sizeof(other), parent, n, 1, 2, b,
		     sizeof(b)),
	    0, "under another key");
	T_OK(strcmp(a, b) != 0, "another key gives another successor");
	memcpy(p2, parent, sizeof(parent));
	p2[20] = 'B';
	T_EQ_INT(tok_refresh_next(key, sizeof(key), p2, n, 1, 2, b, sizeof(b)),
	    0, "of another parent");
	T_OK(strcmp(a, b) != 0, "another parent gives another successor");
	T_EQ_INT(tok_refresh_next(NULL, 0, parent, n, 1, 2, b, sizeof(b)), -1,
	    "no key refused");
	T_EQ_INT(tok_refresh_next(key, sizeof(key), parent, TOK_STR_SIZE, 1, 2,
		     b, sizeof(b)),
	    -1, "a parent too long refused");
}

/* A session's CSRF value: HMAC-SHA256 of label and sid, 128 bits. */
static void
test_session_csrf(void)
{
	static const unsigned char key[32] = "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";
	static const unsigned char other[32] =
	    "jkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk";
	char a[TOK_STR_SIZE], b[TOK_STR_SIZE];

	/* Python: HMAC(key, b"latch session csrf v1\0" + sid as 8 bytes
	 * big-endian), the first 16 bytes, base64url. */
	T_EQ_INT(tok_session_csrf(key, sizeof(key), 1, a, sizeof(a)), 0,
	    "tok_session_csrf");
	T_EQ_STR(a, "K9jbKr4O1tlW5K59vsRGcA", "session 1");
	T_EQ_INT(tok_session_csrf(key, sizeof(key), 2, b, sizeof(b)), 0,
	    "of session 2");
	T_EQ_STR(b, "cHaeRidrjTxn7MsReKnxdQ", "another session, another value");
	T_EQ_INT(tok_session_csrf(other, sizeof(other), 1, b, sizeof(b)), 0,
	    "under another key");
	T_OK(strcmp(a, b) != 0, "another key gives another value");
	T_EQ_INT(tok_session_csrf(NULL, 0, 1, b, sizeof(b)), -1,
	    "no key refused");
	T_EQ_INT(tok_session_csrf(key, sizeof(key), 0, b, sizeof(b)), -1,
	    "session 0 refused");
	T_EQ_INT(tok_session_csrf(key, sizeof(key), 1, b, TOK_STR_SIZE - 1), -1,
	    "a short buffer refused");
}

static void
test_random(void)
{
	unsigned char a[32], b[32];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	T_EQ_INT(tok_random(a, sizeof(a)), 0, "tok_random");
	T_EQ_INT(tok_random(b, sizeof(b)), 0, "tok_random again");
	T_OK(memcmp(a, b, sizeof(a)) != 0, "random buffers differ");
	T_EQ_INT(tok_random(a, 0), 0, "tok_random of 0 bytes");
}

static void
test_hash(void)
{
	/* FIPS 180-2 examples. */
	/* clang-format off */
	static const unsigned char abc[TOK_HASH_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	/* clang-format on */
	/* clang-format off */
	static const unsigned char empty[TOK_HASH_LEN] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
		0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
		0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
	};
	/* clang-format on */
	unsigned char h[TOK_HASH_LEN], h2[TOK_HASH_LEN];

	T_EQ_INT(tok_hash("abc", 3, h), 0, "tok_hash abc");
	T_EQ_MEM(h, abc, TOK_HASH_LEN, "SHA-256(abc)");
	T_EQ_INT(tok_hash("", 0, h), 0, "tok_hash empty");
	T_EQ_MEM(h, empty, TOK_HASH_LEN, "SHA-256(\"\")");
	T_EQ_INT(tok_hash("abcd", 3, h2), 0, "tok_hash uses only n bytes");
	T_EQ_MEM(h2, abc, TOK_HASH_LEN, "SHA-256 of the first 3 of abcd");
}

static void
test_equal(void)
{
	T_EQ_INT(tok_equal("abcdef", "abcdef", 6), 1, "equal buffers");
	T_EQ_INT(tok_equal("abcdef", "abcdeg", 6), 0, "last byte differs");
	T_EQ_INT(tok_equal("xbcdef", "abcdef", 6), 0, "first byte differs");
	T_EQ_INT(tok_equal("abcdef", "abcdeg", 5), 1, "only n bytes compared");
	T_EQ_INT(tok_equal("a", "b", 0), 1, "zero bytes are equal");
}

static void
test_request_id(void)
{
	char a[17], b[17];

	memset(a, 'x', sizeof(a));
	tok_request_id(a);
	tok_request_id(b);
	T_EQ_INT(strlen(a), 16, "request id has 16 characters");
	T_EQ_INT(strspn(a, "0123456789abcdef"), 16, "request id is hex");
	T_OK(strcmp(a, b) != 0, "request ids differ");
}

/* A worker is a child of fork(): its ids must not repeat its parent's. */
static void
test_request_id_fork(void)
{
	char a[17], c[17], kid[17] = "";
	int fd[2], st = 0;
	pid_t pid;

	tok_request_id(a);
	T_OK(pipe(fd) == 0, "pipe");
	if ((pid = fork()) == 0) {
		tok_request_id(kid);
		_exit(write(fd[1], kid, 17) == 17 ? 0 : 1);
	}
	T_OK(pid > 0, "fork");
	close(fd[1]);
	T_EQ_INT(read(fd[0], kid, 17), 17, "child's id read");
	close(fd[0]);
	waitpid(pid, &st, 0);
	tok_request_id(c);
	T_OK(strcmp(kid, c) != 0, "child's id differs from the parent's next");
	T_OK(strcmp(kid, a) != 0, "child's id differs from the parent's last");
}

static void
test_cleanse(void)
{
	static const unsigned char zero[16];
	unsigned char buf[16];

	memset(buf, 0xa5, sizeof(buf));
	tok_cleanse(buf, sizeof(buf));
	T_EQ_MEM(buf, zero, sizeof(buf), "tok_cleanse zeroes");
}

int
main(void)
{
	test_new();
	test_refresh();
	test_refresh_next();
	test_session_csrf();
	test_apikey();
	test_random();
	test_hash();
	test_equal();
	test_request_id();
	test_request_id_fork();
	test_cleanse();
	return T_DONE();
}
