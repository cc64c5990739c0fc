/*
 * test_totp.c: HOTP and TOTP against RFC 4226 and RFC 6238's test
 * vectors, the skew window and replay, base32, otpauth URIs, recovery
 * codes and AES-256-GCM sealing.
 */
#include <stdio.h>
#include <string.h>

#include "t.h"
#include "totp.h"

static const unsigned char rfc_key[] = "12345678901234567890";
#define RFC_KEYLEN 20

static void
test_hotp(void)
{
	/* RFC 4226, appendix D. */
	static const uint32_t want[] = { 755224, 287082, 359152, 969429, 338314,
		254676, 287922, 162583, 399871, 520489 };
	char name[64];
	uint32_t c;
	unsigned i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "RFC 4226 HOTP count %u", i);
		T_OK(totp_hotp(rfc_key, RFC_KEYLEN, i, 6, &c) == 0 &&
			c == want[i],
		    name);
	}
	T_EQ_INT(totp_hotp(rfc_key, RFC_KEYLEN, 0, 5, &c), -1,
	    "5 digits refused");
}

static void
test_totp_vectors(void)
{
	/* RFC 6238, appendix B, SHA-1: 8-digit codes at these times. */
	static const struct {
		int64_t t;
		uint32_t code;
	} v[] = {
		{ 59, 94287082 },
		{ 1111111109, 7081804 },
		{ 1111111111, 14050471 },
		{ 1234567890, 89005924 },
		{ 2000000000, 69279037 },
		{ 20000000000LL, 65353130 },
	};
	char name[64];
	uint32_t c;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(name, sizeof(name), "RFC 6238 T=%lld",
		    (long long)v[i].t);
		T_OK(totp_hotp(rfc_key, RFC_KEYLEN, (uint64_t)totp_step(v[i].t),
			 8, &c) == 0 &&
			c == v[i].code,
		    name);
	}
}

/* The 6-digit code of step s of the RFC key. */
static void
code_at(int64_t s, char out[TOTP_DIGITS + 1])
{
	uint32_t c = 0;

	(void)totp_hotp(rfc_key, RFC_KEYLEN, (uint64_t)s, 6, &c);
	snprintf(out, TOTP_DIGITS + 1, "%06u", (unsigned)c);
}

static void
test_verify(void)
{
	int64_t now = 1234567890, s = totp_step(now);
	char c[TOTP_DIGITS + 1];

	code_at(s, c);
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, c), s,
	    "current step accepted");
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, s, c), 0,
	    "the same step again refused (replay)");
	code_at(s - 1, c);
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, c), s - 1,
	    "one step behind accepted");
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, s, c), 0,
	    "an older step than the last accepted refused");
	code_at(s + 1, c);
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, c), s + 1,
	    "one step ahead accepted");
	code_at(s - 2, c);
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, c), 0,
	    "two steps behind refused");
	code_at(s + 2, c);
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, c), 0,
	    "two steps ahead refused");
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, "12345"), 0,
	    "five digits refused");
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, "12345a"), 0,
	    "a letter refused");
	T_EQ_INT(totp_verify(rfc_key, RFC_KEYLEN, now, 0, "1234567"), 0,
	    "seven digits refused");
}

static void
test_b32(void)
{
	unsigned char out[64];
	char s[64];
	size_t n = 0;

	/* RFC 4648, section 10. */
	T_OK(totp_b32_encode((const unsigned char *)"foobar", 6, s,
		 sizeof(s)) == 0 &&
		strcmp(s, "MZXW6YTBOI") == 0,
	    "foobar");
	T_OK(totp_b32_encode((const unsigned char *)"f", 1, s, sizeof(s)) ==
		    0 &&
		strcmp(s, "MY") == 0,
	    "f");
	T_EQ_INT(totp_b32_encode((const unsigned char *)"foobar", 6, s, 10), -1,
	    "no room for the NUL refused");
	T_OK(totp_b32_decode("mzxw6ytboi", out, sizeof(out), &n) == 0 &&
		n == 6 && memcmp(out, "foobar", 6) == 0,
	    "decode lower case");
	T_OK(totp_b32_decode("MZXW 6YTB OI", out, sizeof(out), &n) == 0 &&
		n == 6,
	    "decode with spaces");
	T_EQ_INT(totp_b32_decode("MZ1W", out, sizeof(out), &n), -1,
	    "a 1 refused");
	T_EQ_INT(totp_b32_decode("MZ", out, sizeof(out), &n), -1,
	    "left-over bits not zero refused");
	T_EQ_INT(totp_b32_decode("MZXW6YTBOI", out, 5, &n), -1,
	    "too long refused");
}

static void
test_uri(void)
{
	char u[512];

	T_OK(totp_uri("Acme & Co", "ann@example.com", "JBSWY3DPEHPK3PXP", u,
		 sizeof(u)) == 0,
	    "uri made");
	T_EQ_STR(u,
	    "otpauth://totp/Acme%20%26%20Co:ann%40example.com"
	    "?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20%26%20Co"
	    "&algorithm=SHA1&digits=6&period=30",
	    "uri escaped");
	T_EQ_INT(totp_uri("latch", "ann", "JBSWY3DPEHPK3PXP", u, 40), -1,
	    "too small refused");
	T_EQ_STR(u, "", "nothing left behind");
}

static void
test_recovery(void)
{
	char a[TOTP_RECOVERY_SIZE], b[TOTP_RECOVERY_SIZE];
	char n[TOTP_RECOVERY_LEN + 1], m[TOTP_RECOVERY_LEN + 1];
	unsigned char h1[TOTP_HASH_LEN], h2[TOTP_HASH_LEN];
	const unsigned char key[32] = { 1, 2, 3 };

	T_OK(totp_recovery_new(a) == 0 && strlen(a) == 11 && a[5] == '-',
	    "recovery code shape");
	T_OK(totp_recovery_new(b) == 0 && strcmp(a, b) != 0,
	    "two recovery codes differ");
	T_OK(totp_recovery_norm(a, n) == 0 && strlen(n) == 10,
	    "a new code normalises");
	T_OK(totp_recovery_norm("AB0DE-FGH1K", n) == 0 &&
		totp_recovery_norm("abode fghlk", m) == 0 && strcmp(n, m) == 0,
	    "case, spaces, o and l as typed");
	T_EQ_INT(totp_recovery_norm("abcde-fghjku", n), -1, "u refused");
	T_EQ_INT(totp_recovery_norm("abcde-fghj", n), -1, "short refused");
	T_EQ_INT(totp_recovery_norm("abcde-fghjkk", n), -1, "long refused");
	(void)totp_recovery_norm("abcde-fghjk", n);
	T_OK(totp_recovery_hash(key, sizeof(key), 7, n, h1) == 0 &&
		totp_recovery_hash(key, sizeof(key), 8, n, h2) == 0 &&
		memcmp(h1, h2, sizeof(h1)) != 0,
	    "hash bound to the user");
}

static void
test_seal(void)
{
	struct totp_key k, k2;
	unsigned char pt[52], sealed[52 + TOTP_SEAL_OVERHEAD], back[64];
	int n;

	memset(pt, 0x5a, sizeof(pt));
	T_OK(totp_key_derive("a key of at least thirty-two bytes!!", 36, &k) ==
		    0 &&
		totp_key_derive("another key of thirty-two bytes!!!", 34,
		    &k2) == 0,
	    "keys derived");
	n = totp_seal(&k, 42, pt, sizeof(pt), sealed, sizeof(sealed));
	T_EQ_INT(n, (int)sizeof(sealed), "sealed length");
	T_OK(memmem(sealed, sizeof(sealed), pt, 8) == NULL,
	    "no plaintext in the sealed value");
	T_OK(totp_sealed_by(&k, sealed, sizeof(sealed)) &&
		!totp_sealed_by(&k2, sealed, sizeof(sealed)),
	    "key id");
	T_OK(totp_open(&k, 42, sealed, sizeof(sealed), back, sizeof(back)) ==
		    (int)sizeof(pt) &&
		memcmp(back, pt, sizeof(pt)) == 0,
	    "opens");
	T_EQ_INT(totp_open(&k, 43, sealed, sizeof(sealed), back, sizeof(back)),
	    -1, "another user's refused");
	T_EQ_INT(totp_open(&k2, 42, sealed, sizeof(sealed), back, sizeof(back)),
	    -1, "another key refused");
	sealed[30] ^= 1;
	T_EQ_INT(totp_open(&k, 42, sealed, sizeof(sealed), back, sizeof(back)),
	    -1, "tampered refused");
	sealed[30] ^= 1;
	sealed[sizeof(sealed) - 1] ^= 1;
	T_EQ_INT(totp_open(&k, 42, sealed, sizeof(sealed), back, sizeof(back)),
	    -1, "tag tampered refused");
	T_EQ_INT(totp_open(&k, 42, sealed, 10, back, sizeof(back)), -1,
	    "short refused");
	T_EQ_INT(totp_seal(&k, 42, pt, sizeof(pt), sealed, sizeof(sealed) - 1),
	    -1, "no room refused");
}

int
main(void)
{
	test_hotp();
	test_totp_vectors();
	test_verify();
	test_b32();
	test_uri();
	test_recovery();
	test_seal();
	return T_DONE();
}
