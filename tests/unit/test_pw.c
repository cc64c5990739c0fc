/*
 * test_pw.c: scrypt password hashes (small costs to stay fast), and
 * the imported kinds, with hashes made by independent implementations
 * (python3-bcrypt, htpasswd -B, python3-argon2, openssl passwd).
 */
#include <stdio.h>
#include <string.h>

#include "pw.h"
#include "t.h"

#define N 1024
#define R 8
#define P 1

static void
test_round_trip(void)
{
	char mcf[PW_MCF_SIZE], mcf2[PW_MCF_SIZE], copy[PW_MCF_SIZE];

	T_EQ_INT(pw_hash("correct horse", N, R, P, mcf), 0, "pw_hash");
	T_EQ_INT(strncmp(mcf, "$s1$0a0801$", 11), 0,
	    "MCF names log2(N)=10, r=8, p=1");
	snprintf(copy, sizeof(copy), "%s", mcf);
	T_EQ_INT(pw_verify("correct horse", mcf), 1, "right password");
	T_EQ_STR(mcf, copy, "pw_verify leaves the MCF alone");
	T_EQ_INT(pw_verify("correct horse", mcf), 1, "right password again");
	T_EQ_INT(pw_verify("correct hors", mcf), 0, "prefix of the password");
	T_EQ_INT(pw_verify("correct horse ", mcf), 0, "password plus a space");
	T_EQ_INT(pw_verify("Correct horse", mcf), 0, "other case");
	T_EQ_INT(pw_verify("", mcf), 0, "empty password");
	T_EQ_INT(pw_verify(NULL, mcf), 0, "NULL password");

	T_EQ_INT(pw_hash("correct horse", N, R, P, mcf2), 0, "pw_hash again");
	T_OK(strcmp(mcf, mcf2) != 0, "fresh salt: two hashes differ");
	T_EQ_INT(pw_verify("correct horse", mcf2), 1, "second hash verifies");

	T_EQ_INT(pw_hash("", N, R, P, mcf2), 0, "hash of the empty password");
	T_EQ_INT(pw_verify("", mcf2), 1, "empty password verifies");
	T_EQ_INT(pw_verify("x", mcf2), 0, "not against another");

	T_EQ_INT(pw_hash("p\xc3\xa4ssw\xc3\xb6rd", 2048, 4, 2, mcf2), 0,
	    "hash with N=2048, r=4, p=2");
	T_EQ_INT(strncmp(mcf2, "$s1$0b0402$", 11), 0, "MCF of N=2048 r=4 p=2");
	T_EQ_INT(pw_verify("p\xc3\xa4ssw\xc3\xb6rd", mcf2), 1,
	    "UTF-8 password verifies");
}

static void
test_bad_params(void)
{
	char mcf[PW_MCF_SIZE];

	T_EQ_INT(pw_hash("x", 1000, R, P, mcf), -1, "N not a power of two");
	T_EQ_INT(pw_hash("x", 0, R, P, mcf), -1, "N zero");
	T_EQ_INT(pw_hash("x", 1, R, P, mcf), -1, "N one");
	T_EQ_INT(pw_hash("x", N, 0, P, mcf), -1, "r zero");
	T_EQ_INT(pw_hash("x", N, R, 0, mcf), -1, "p zero");
	T_EQ_INT(pw_hash("x", N, 256, P, mcf), -1, "r beyond one byte");
	T_EQ_INT(pw_hash("x", N, R, 256, mcf), -1, "p beyond one byte");
	T_EQ_INT(pw_hash("x", 1U << 25, R, P, mcf), -1, "N beyond 2^24");
	T_EQ_INT(pw_hash("x", 1U << 21, R, P, mcf), -1,
	    "more than 1 GiB of memory");
	T_EQ_STR(mcf, "", "MCF empty after a refusal");
}

static void
test_malformed(void)
{
	char mcf[PW_MCF_SIZE], bad[512], name[96];
	const char *hash;
	size_t i;
	static const char *const junk[] = {
		"",
		"$s1$",
		"garbage",
		"$s1$0a0801$",
		"$s1$0a0801$$",
		"$s1$0a0801$c2FsdA==$",
		"$s1$0a08$c2FsdA==$aGFzaA==",
		"$s1$zz0801$c2FsdA==$aGFzaA==",
		"$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"$7$C6..../....SodiumChloride"
		"$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D",
		"$$$$",
		"$s1",
	};

	if (!T_EQ_INT(pw_hash("secret", N, R, P, mcf), 0,
		"pw_hash for malformed"))
		return;
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(name, sizeof(name), "malformed MCF %zu refused", i);
		T_EQ_INT(pw_verify("secret", junk[i]), 0, name);
	}
	T_EQ_INT(pw_verify("secret", NULL), 0, "NULL MCF refused");

	/* Damaged copies of a good hash. */
	hash = strrchr(mcf, '$') + 1;
	snprintf(bad, sizeof(bad), "%.*s", (int)strlen(mcf) - 1, mcf);
	T_EQ_INT(pw_verify("secret", bad), 0, "hash one character short");
	snprintf(bad, sizeof(bad), "%sA", mcf);
	T_EQ_INT(pw_verify("secret", bad), 0, "hash one character long");
	snprintf(bad, sizeof(bad), "%s$", mcf);
	T_EQ_INT(pw_verify("secret", bad), 0, "trailing $");
	snprintf(bad, sizeof(bad), "%s", mcf);
	bad[hash - mcf] = bad[hash - mcf] == 'A' ? 'B' : 'A';
	T_EQ_INT(pw_verify("secret", bad), 0, "hash altered");
	snprintf(bad, sizeof(bad), "%s", mcf);
	bad[12] = bad[12] == 'A' ? 'B' : 'A';
	T_EQ_INT(pw_verify("secret", bad), 0, "salt altered");
	snprintf(bad, sizeof(bad), "$s1$0a0802%s", mcf + 10);
	T_EQ_INT(pw_verify("secret", bad), 0, "p altered");
	snprintf(bad, sizeof(bad), "$s1$0A0801%s", mcf + 10);
	T_EQ_INT(pw_verify("secret", bad), 0, "upper-case hex");
	snprintf(bad, sizeof(bad), "$s1$1e0801%s", mcf + 10);
	T_EQ_INT(pw_verify("secret", bad), 0, "N=2^30 refused without trying");
	snprintf(bad, sizeof(bad), "$s1$ff0801%s", mcf + 10);
	T_EQ_INT(pw_verify("secret", bad), 0, "log2(N)=255 refused");
	snprintf(bad, sizeof(bad), "$s1$0a0001%s", mcf + 10);
	T_EQ_INT(pw_verify("secret", bad), 0, "r=0 refused");
	snprintf(bad, sizeof(bad), "$s1$0a0800%s", mcf + 10);
	T_EQ_INT(pw_verify("secret", bad), 0, "p=0 refused");
	memset(bad, 'A', 300);
	memcpy(bad, mcf, strlen(mcf));
	bad[300] = '\0';
	T_EQ_INT(pw_verify("secret", bad), 0, "300-byte MCF refused");
	T_EQ_INT(pw_verify("secret", mcf), 1, "the good one still verifies");
}

static void
test_rehash(void)
{
	char mcf[PW_MCF_SIZE];

	if (!T_EQ_INT(pw_hash("pw", N, R, P, mcf), 0, "pw_hash for rehash"))
		return;
	T_EQ_INT(pw_needs_rehash(mcf, N, R, P), 0, "same parameters");
	T_EQ_INT(pw_needs_rehash(mcf, 2 * N, R, P), 1, "other N");
	T_EQ_INT(pw_needs_rehash(mcf, N / 2, R, P), 1, "smaller N");
	T_EQ_INT(pw_needs_rehash(mcf, N, R + 1, P), 1, "other r");
	T_EQ_INT(pw_needs_rehash(mcf, N, R, P + 1), 1, "other p");
	T_EQ_INT(pw_needs_rehash("", N, R, P), 1, "empty MCF needs rehash");
	T_EQ_INT(pw_needs_rehash("garbage", N, R, P), 1,
	    "garbage needs rehash");
	T_EQ_INT(pw_needs_rehash(NULL, N, R, P), 1, "NULL needs rehash");
}

static void
test_dummy(void)
{
	T_EQ_INT(pw_verify_dummy("whatever", N, R, P), 0, "dummy returns 0");
	T_EQ_INT(pw_verify_dummy("", N, R, P), 0, "dummy, empty password");
	T_EQ_INT(pw_verify_dummy("x", 1000, R, P), 0, "dummy, bad parameters");
	T_EQ_INT(pw_verify_dummy(NULL, N, R, P), 0, "dummy, NULL password");
}

/* "correct horse", hashed elsewhere. */
/* clang-format off */
static const struct {
	const char *hash;
	enum pw_kind kind;
} foreign[] = {
	{ "$2a$04$L8uBYmWR6RduB8VzlruBhe.vf8NbS007nkbCGwjnWRPQ647w2JZpm",
	  PW_BCRYPT },
	{ "$2b$04$OIVzebMpWol/FSD9WFE1Jug6A5AeWh0PVCMgQU95hnGAO6NyK0PD6",
	  PW_BCRYPT },
	{ "$2y$04$c8ri5NgBy/enRcWdCe544ON1pXW5l/8/FN7tY.7qn9L84J9o8wSCO",
	  PW_BCRYPT },
	{ "$argon2id$v=19$m=64,t=1,p=2$b1zUkguoYMIQqwJ7QMd5kQ"
	  "$+P4dwT9ISyMOzQK53n4jMg", PW_ARGON2ID },
	{ "$argon2i$v=19$m=32,t=2,p=1$PsLHx0KLva7sKN8xW9ujhQ"
	  "$orFjiyzz03hVjxJTcY83Kw", PW_ARGON2I },
	{ "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvB"
	  "JI2EplzfAqxL5Vvwp2scFtv/uamSo5z0", PW_SHA512CRYPT },
	{ "$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/",
	  PW_SHA256CRYPT },
};
/* clang-format on */

static void
test_foreign(void)
{
	char name[128], bad[PW_HASH_MAX + 2];
	const char *why;
	enum pw_kind k;
	size_t i, n;

	for (i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		const char *h = foreign[i].hash;

		snprintf(name, sizeof(name), "%.12s: kind", h);
		if (!T_EQ_INT(pw_kind_of(h, &k, &why), 0, name))
			continue;
		T_EQ_INT(k, foreign[i].kind, name);
		snprintf(name, sizeof(name), "%.12s: right password", h);
		T_EQ_INT(pw_verify("correct horse", h), 1, name);
		snprintf(name, sizeof(name), "%.12s: wrong password", h);
		T_EQ_INT(pw_verify("correct hors", h), 0, name);
		snprintf(name, sizeof(name), "%.12s: the hash as password", h);
		T_EQ_INT(pw_verify(h, h), 0, name);
		snprintf(name, sizeof(name), "%.12s: empty password", h);
		T_EQ_INT(pw_verify("", h), 0, name);
		snprintf(name, sizeof(name), "%.12s: needs a rehash", h);
		T_EQ_INT(pw_needs_rehash(h, N, R, P), 1, name);
		/* One character of the hash changed: a mismatch. */
		n = strlen(h);
		memcpy(bad, h, n + 1);
		bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
		snprintf(name, sizeof(name), "%.12s: altered hash", h);
		T_EQ_INT(pw_verify("correct horse", bad), 0, name);
	}
}

/* Hashes refused at import (and so never verified), with the reason. */
static void
test_foreign_refused(void)
{
	/* clang-format off */
	static const struct {
		const char *hash, *why;
	} refused[] = {
		{ "$2b$16$OIVzebMpWol/FSD9WFE1Jug6A5AeWh0PVCMgQU95hnGAO6NyK0PD6",
		  "bcrypt cost outside 4..15" },
		{ "$2b$03$OIVzebMpWol/FSD9WFE1Jug6A5AeWh0PVCMgQU95hnGAO6NyK0PD6",
		  "bcrypt cost outside 4..15" },
		{ "$2b$04$OIVzebMpWol/FSD9WFE1Jug6A5AeWh0PVCMgQU95hnGAO6NyK0PD",
		  "malformed bcrypt hash" },
		{ "$2b$04$OIVzebMpWol/FSD9WFE1Jug6A5AeWh0PVCMgQU95hnGAO6NyK0P!6",
		  "malformed bcrypt hash" },
		{ "$2x$04$OIVzebMpWol/FSD9WFE1Jug6A5AeWh0PVCMgQU95hnGAO6NyK0PD6",
		  "unknown hash kind" },
		{ "$argon2id$v=19$m=262144,t=1,p=1$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "argon2 costs outside latch's bounds" },
		{ "$argon2id$v=19$m=65536,t=11,p=1$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "argon2 costs outside latch's bounds" },
		{ "$argon2id$v=19$m=131072,t=5,p=1$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "argon2 costs outside latch's bounds" },
		{ "$argon2id$v=19$m=64,t=1,p=17$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "argon2 costs outside latch's bounds" },
		{ "$argon2id$v=19$m=8,t=1,p=2$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "argon2 costs outside latch's bounds" },
		{ "$argon2id$v=16$m=64,t=1,p=2$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "argon2 version other than 19" },
		{ "$argon2id$v=19$m=064,t=1,p=2$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "malformed argon2 hash" },
		{ "$argon2id$m=64,t=1,p=2$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "malformed argon2 hash" },
		{ "$argon2id$v=19$m=64,t=1,p=2$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg$", "malformed argon2 hash" },
		{ "$argon2id$v=19$m=64,t=1,p=2$b1zU$+P4dwT9ISyMOzQK53n4jMg",
		  "malformed argon2 hash" },
		{ "$argon2d$v=19$m=64,t=1,p=2$b1zUkguoYMIQqwJ7QMd5kQ"
		  "$+P4dwT9ISyMOzQK53n4jMg", "unknown hash kind" },
		{ "$6$rounds=1000001$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9"
		  "lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0",
		  "sha-crypt rounds outside 1000..1000000" },
		{ "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7m",
		  "malformed sha-crypt hash" },
		{ "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC."
		  "fuXDVkc1ae/", "unknown hash kind" },
		{ "$1$saltsalt$abcdefghijklmnopqrstuv", "unknown hash kind" },
		{ "5f4dcc3b5aa765d61d8327deb882cf99", "unknown hash kind" },
		{ "correct horse", "unknown hash kind" },
		{ "", "unknown hash kind" },
		{ "!", "unknown hash kind" },
		{ "*", "unknown hash kind" },
		{ "$s1$0e0801$c2FsdA==$short", "malformed or out-of-bounds scrypt "
		  "hash" },
	};
	/* clang-format on */
	char name[160], big[300];
	const char *why;
	enum pw_kind k;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(name, sizeof(name), "refused %zu (%.20s)", i,
		    refused[i].hash);
		why = NULL;
		T_EQ_INT(pw_kind_of(refused[i].hash, &k, &why), -1, name);
		T_EQ_STR(why != NULL ? why : "(none)", refused[i].why, name);
		T_EQ_INT(pw_verify("correct horse", refused[i].hash), 0, name);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "$2b$", 4);
	T_EQ_INT(pw_kind_of(big, &k, &why), -1, "300-byte hash refused");
	T_EQ_STR(why, "hash longer than 255 bytes", "its reason");
	T_EQ_INT(pw_kind_of(NULL, &k, &why), -1, "NULL refused");
	T_EQ_STR(pw_kind_name(PW_BCRYPT), "bcrypt", "kind name");
	T_EQ_STR(pw_kind_name(PW__MAX), "unknown", "kind name out of range");
}

int
main(void)
{
	test_round_trip();
	test_bad_params();
	test_malformed();
	test_rehash();
	test_dummy();
	test_foreign();
	test_foreign_refused();
	return T_DONE();
}
