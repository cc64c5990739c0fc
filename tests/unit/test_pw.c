/*
 * test_pw.c: scrypt password hashes (small costs to stay fast).
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
	T_EQ_INT(pw_verify("secret", bad), 0,
	    "N=2^30 refused without trying");
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
	T_EQ_INT(pw_verify_dummy("x", 1000, R, P), 0,
	    "dummy, bad parameters");
	T_EQ_INT(pw_verify_dummy(NULL, N, R, P), 0, "dummy, NULL password");
}

int
main(void)
{
	test_round_trip();
	test_bad_params();
	test_malformed();
	test_rehash();
	test_dummy();
	return T_DONE();
}
