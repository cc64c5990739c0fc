/*
 * test_jwt.c: HS256 tokens: the RFC 7515 vector, round trips, and every
 * way a token must be refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "jwt.h"
#include "t.h"

#define NOW 1700000010 /* verification time of the table tests */
#define LEEWAY 30
#define ISS "latch"
#define BUFSZ 16384

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN (sizeof(key) - 1)

#define H_OK "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define H_OK_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

/* The claims of a good token, in the order jwt_sign() writes them. */
static const char *const good[] = {
	"\"iss\":\"latch\"",
	"\"sub\":\"42\"",
	"\"username\":\"alice\"",
	"\"org\":7",
	"\"tenant_id\":7",
	"\"role\":\"admin\"",
	"\"sid\":99",
	"\"jti\":\"AAAAAAAAAAAAAAAAAAAAAA\"",
	"\"iat\":1700000000",
	"\"exp\":1700000900",
};

/*
 * The good claims with the one named claim replaced by repl (dropped if
 * repl is NULL; appended if not among them), as a JSON object.
 */
static void
payload(char *buf, size_t sz, const char *claim, const char *repl)
{
	char prefix[64];
	size_t i, n = 0;
	int found = 0;

	snprintf(prefix, sizeof(prefix), "\"%s\":", claim != NULL ? claim : "");
	n += (size_t)snprintf(buf + n, sz - n, "{");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *c = good[i];

		if (claim != NULL && strncmp(c, prefix, strlen(prefix)) == 0) {
			found = 1;
			if ((c = repl) == NULL)
				continue;
		}
		n += (size_t)snprintf(buf + n, sz - n, "%s%s", n > 1 ? "," : "",
		    c);
	}
	if (claim != NULL && !found && repl != NULL)
		n += (size_t)snprintf(buf + n, sz - n, ",%s", repl);
	snprintf(buf + n, sz - n, "}");
}

/* Base64url of the text s, appended at out + *n. */
static void
enc(const char *s, size_t len, char *out, size_t outsz, size_t *n)
{
	size_t r;

	r = b64url_encode((const unsigned char *)s, len, out + *n, outsz - *n);
	if (r != (size_t)-1)
		*n += r;
}

/*
 * The token of the JSON texts hdr and pl, signed with k (klen bytes), or
 * with an empty signature if k is NULL.
 */
static void
mk(char *out, size_t outsz, const char *hdr, size_t hlen, const char *pl,
    const unsigned char *k, size_t klen)
{
	size_t n = 0;

	enc(hdr, hlen, out, outsz, &n);
	out[n++] = '.';
	enc(pl, strlen(pl), out, outsz, &n);
	out[n] = '.';
	out[n + 1] = '\0';
	if (k != NULL &&
	    jwt_hs256(out, n, k, klen, out + n + 1, outsz - n - 1) == -1)
		out[0] = '\0';
}

static void
mks(char *out, size_t outsz, const char *hdr, const char *pl)
{
	mk(out, outsz, hdr, strlen(hdr), pl, key, KEYLEN);
}

static enum err
verify(const char *tok, struct jwt_claims *c)
{
	return jwt_verify(tok, key, KEYLEN, ISS, NOW, LEEWAY, c);
}

static void
test_rfc7515(void)
{
	/* RFC 7515 appendix A.1 */
	static const char k64[] =
	    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_"
	    "T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	static const char input[] =
	    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
	    "."
	    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
	    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
	unsigned char k[64];
	char sig[64], tok[BUFSZ];
	size_t klen;

	klen = b64url_decode(k64, strlen(k64), k, sizeof(k));
	T_EQ_INT(klen, 64, "RFC 7515 A.1 key decodes to 64 bytes");
	T_EQ_INT(jwt_hs256(input, strlen(input), k, klen, sig, sizeof(sig)), 0,
	    "RFC 7515 A.1 jwt_hs256");
	T_EQ_STR(sig, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	    "RFC 7515 A.1 signature");
	T_EQ_INT(jwt_hs256(input, strlen(input), k, klen, sig, 43), -1,
	    "jwt_hs256: no room for the NUL");
	T_EQ_INT(jwt_hs256(input, strlen(input), k, 0, sig, sizeof(sig)), -1,
	    "jwt_hs256: empty key refused");

	/* Well signed, but none of our claims: refused. */
	snprintf(tok, sizeof(tok), "%s.%s", input,
	    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	T_EQ_INT(jwt_verify(tok, k, klen, "joe", 1300819000, 0, NULL),
	    ERR_INVALID_TOKEN, "RFC 7515 A.1 token lacks our claims");
}

static void
fill(struct jwt_claims *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->iss, sizeof(c->iss), "%s", ISS);
	c->sub = 42;
	snprintf(c->username, sizeof(c->username), "alice");
	c->org = 7;
	snprintf(c->role, sizeof(c->role), "admin");
	c->sid = 99;
	c->iat = NOW - 10;
	c->exp = NOW + 890;
}

static void
test_sign(void)
{
	struct jwt_claims c, v, c2;
	char tok[BUFSZ], tok2[BUFSZ], want[512];
	unsigned char pl[BUFSZ];
	const char *d1, *d2;
	size_t n;

	fill(&c);
	T_EQ_INT(jwt_sign(&c, key, KEYLEN, tok, sizeof(tok)), ERR_OK,
	    "jwt_sign");
	T_EQ_INT(strlen(c.jti), 22, "jti generated, 22 characters");
	T_EQ_INT(strncmp(tok, H_OK_B64 ".", strlen(H_OK_B64) + 1), 0,
	    "header is exactly {\"alg\":\"HS256\",\"typ\":\"JWT\"}");

	d1 = strchr(tok, '.');
	d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
	if (T_OK(d2 != NULL, "three segments")) {
		n = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), pl,
		    sizeof(pl) - 1);
		pl[n == (size_t)-1 ? 0 : n] = '\0';
		snprintf(want, sizeof(want),
		    "{\"iss\":\"latch\",\"sub\":\"42\",\"username\":\"alice\","
		    "\"org\":7,\"tenant_id\":7,\"role\":\"admin\",\"sid\":99,"
		    "\"jti\":\"%s\",\"iat\":1700000000,\"exp\":1700000900}",
		    c.jti);
		T_EQ_STR((char *)pl, want, "claims, their order and types");
		T_EQ_INT(strlen(d2 + 1), 43, "signature is 43 characters");
	}

	T_EQ_INT(verify(tok, &v), ERR_OK, "round trip verifies");
	T_EQ_STR(v.iss, "latch", "round trip iss");
	T_EQ_INT(v.sub, 42, "round trip sub");
	T_EQ_STR(v.username, "alice", "round trip username");
	T_EQ_INT(v.org, 7, "round trip org");
	T_EQ_STR(v.role, "admin", "round trip role");
	T_EQ_INT(v.sid, 99, "round trip sid");
	T_EQ_STR(v.jti, c.jti, "round trip jti");
	T_EQ_INT(v.iat, NOW - 10, "round trip iat");
	T_EQ_INT(v.exp, NOW + 890, "round trip exp");
	T_EQ_INT(jwt_verify_noexp(tok, key, KEYLEN, ISS, &v), ERR_OK,
	    "round trip verifies without exp check");

	/* Each token its own jti; a given jti is kept. */
	fill(&c2);
	T_EQ_INT(jwt_sign(&c2, key, KEYLEN, tok2, sizeof(tok2)), ERR_OK,
	    "jwt_sign again");
	T_OK(strcmp(c.jti, c2.jti) != 0, "two tokens, two jti");
	fill(&c2);
	snprintf(c2.jti, sizeof(c2.jti), "given-jti");
	jwt_sign(&c2, key, KEYLEN, tok2, sizeof(tok2));
	T_EQ_INT(verify(tok2, &v), ERR_OK, "given jti verifies");
	T_EQ_STR(v.jti, "given-jti", "given jti kept");

	/* Strings that JSON must escape, a slash that it need not. */
	fill(&c2);
	snprintf(c2.username, sizeof(c2.username), "a/b\"c\\d\xc3\xa9");
	snprintf(c2.role, sizeof(c2.role), "superadmin");
	c2.sub = INT64_C(9223372036854775807);
	c2.org = INT64_C(1) << 40;
	T_EQ_INT(jwt_sign(&c2, key, KEYLEN, tok2, sizeof(tok2)), ERR_OK,
	    "sign odd username, large ids");
	T_EQ_INT(verify(tok2, &v), ERR_OK, "odd username verifies");
	T_EQ_STR(v.username, "a/b\"c\\d\xc3\xa9", "odd username round trip");
	T_EQ_INT(v.sub, INT64_C(9223372036854775807), "sub INT64_MAX");
	T_EQ_INT(v.org, INT64_C(1) << 40, "large org");
	T_EQ_STR(v.role, "superadmin", "role superadmin");

	/* Refusals when signing. */
	fill(&c2);
	T_EQ_INT(jwt_sign(&c2, key, KEYLEN, tok2, 100), ERR_SYS,
	    "sign: output too small");
	T_EQ_STR(tok2, "", "sign: output emptied on failure");
	fill(&c2);
	c2.sub = 0;
	T_EQ_INT(jwt_sign(&c2, key, KEYLEN, tok2, sizeof(tok2)), ERR_SYS,
	    "sign: sub 0 refused");
	fill(&c2);
	snprintf(c2.role, sizeof(c2.role), "root");
	T_EQ_INT(jwt_sign(&c2, key, KEYLEN, tok2, sizeof(tok2)), ERR_SYS,
	    "sign: unknown role refused");
	fill(&c2);
	T_EQ_INT(jwt_sign(&c2, key, 0, tok2, sizeof(tok2)), ERR_SYS,
	    "sign: empty key refused");

	/* The claims are not touched by a failed verification... */
	fill(&c2);
	jwt_sign(&c2, key, KEYLEN, tok2, sizeof(tok2));
	memset(&v, 0x55, sizeof(v));
	T_EQ_INT(jwt_verify(tok2, key, KEYLEN, "other", NOW, LEEWAY, &v),
	    ERR_INVALID_TOKEN, "other issuer refused");
	/* ...except that they are cleared. */
	T_OK(v.sub == 0 && v.username[0] == '\0', "claims cleared on failure");
}

struct vcase {
	const char *why;
	const char *hdr;   /* NULL: H_OK */
	const char *claim; /* claim to replace; NULL: repl is the payload */
	const char *repl;  /* with claim NULL and repl NULL: good payload */
	enum err want;
};

/* clang-format off */
static const struct vcase cases[] = {
	{ "good token", NULL, NULL, NULL, ERR_OK },

	/* header */
	{ "header without typ", "{\"alg\":\"HS256\"}", NULL, NULL, ERR_OK },
	{ "header typ first, RFC whitespace",
	    "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", NULL, NULL, ERR_OK },
	{ "header unknown kid refused",
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "alg none, signed", "{\"alg\":\"none\",\"typ\":\"JWT\"}", NULL,
	    NULL, ERR_INVALID_TOKEN },
	{ "alg HS384", "{\"alg\":\"HS384\",\"typ\":\"JWT\"}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "alg HS512", "{\"alg\":\"HS512\"}", NULL, NULL, ERR_INVALID_TOKEN },
	{ "alg RS256", "{\"alg\":\"RS256\"}", NULL, NULL, ERR_INVALID_TOKEN },
	{ "alg missing", "{\"typ\":\"JWT\"}", NULL, NULL, ERR_INVALID_TOKEN },
	{ "alg lower-case hs256", "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", NULL,
	    NULL, ERR_INVALID_TOKEN },
	{ "alg HS256 with trailing space", "{\"alg\":\"HS256 \"}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "alg HS256 with a NUL", "{\"alg\":\"HS256\\u0000x\"}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "alg number", "{\"alg\":256}", NULL, NULL, ERR_INVALID_TOKEN },
	{ "alg null", "{\"alg\":null}", NULL, NULL, ERR_INVALID_TOKEN },
	{ "alg array", "{\"alg\":[\"HS256\"]}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "typ JWS", "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "typ number", "{\"alg\":\"HS256\",\"typ\":1}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "crit present", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", NULL,
	    NULL, ERR_INVALID_TOKEN },
	{ "header trailing garbage", H_OK "x", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "header trailing object", H_OK "{}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "header truncated JSON", "{\"alg\":\"HS256\"", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "header not an object", "\"HS256\"", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "header array", "[\"HS256\"]", NULL, NULL, ERR_INVALID_TOKEN },
	{ "header empty object", "{}", NULL, NULL, ERR_INVALID_TOKEN },
	{ "header single quotes", "{'alg':'HS256'}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "header trailing comma", "{\"alg\":\"HS256\",}", NULL, NULL,
	    ERR_INVALID_TOKEN },
	{ "header comment", "/**/{\"alg\":\"HS256\"}", NULL, NULL,
	    ERR_INVALID_TOKEN },

	/* iss */
	{ "wrong iss", "", "iss", "\"iss\":\"evil\"", ERR_INVALID_TOKEN },
	{ "iss prefix of ours", "", "iss", "\"iss\":\"latc\"",
	    ERR_INVALID_TOKEN },
	{ "iss longer than ours", "", "iss", "\"iss\":\"latchx\"",
	    ERR_INVALID_TOKEN },
	{ "iss with a NUL", "", "iss", "\"iss\":\"latch\\u0000\"",
	    ERR_INVALID_TOKEN },
	{ "iss missing", "", "iss", NULL, ERR_INVALID_TOKEN },
	{ "iss number", "", "iss", "\"iss\":1", ERR_INVALID_TOKEN },

	/* exp */
	{ "missing exp", "", "exp", NULL, ERR_INVALID_TOKEN },
	{ "exp as string", "", "exp", "\"exp\":\"1700000900\"",
	    ERR_INVALID_TOKEN },
	{ "exp as double", "", "exp", "\"exp\":1700000900.0",
	    ERR_INVALID_TOKEN },
	{ "exp with exponent", "", "exp", "\"exp\":1.7000009e9",
	    ERR_INVALID_TOKEN },
	{ "exp null", "", "exp", "\"exp\":null", ERR_INVALID_TOKEN },
	{ "exp true", "", "exp", "\"exp\":true", ERR_INVALID_TOKEN },
	{ "exp beyond int64", "", "exp", "\"exp\":18446744073709551615",
	    ERR_INVALID_TOKEN },
	{ "expired", "", "exp", "\"exp\":1699999900", ERR_TOKEN_EXPIRED },
	{ "expired within leeway", "", "exp", "\"exp\":1699999990", ERR_OK },
	{ "exp + leeway == now", "", "exp", "\"exp\":1699999980", ERR_OK },
	{ "exp + leeway == now - 1", "", "exp", "\"exp\":1699999979",
	    ERR_TOKEN_EXPIRED },

	/* iat, nbf */
	{ "iat in the future", "", "iat", "\"iat\":1700000100",
	    ERR_INVALID_TOKEN },
	{ "iat in the future within leeway", "", "iat", "\"iat\":1700000040",
	    ERR_OK },
	{ "iat just beyond leeway", "", "iat", "\"iat\":1700000041",
	    ERR_INVALID_TOKEN },
	{ "iat missing", "", "iat", NULL, ERR_INVALID_TOKEN },
	{ "iat string", "", "iat", "\"iat\":\"1700000000\"",
	    ERR_INVALID_TOKEN },
	{ "iat double", "", "iat", "\"iat\":1700000000.5",
	    ERR_INVALID_TOKEN },
	{ "nbf in the future", "", "nbf", "\"nbf\":1700000100",
	    ERR_INVALID_TOKEN },
	{ "nbf in the past", "", "nbf", "\"nbf\":1700000000", ERR_OK },
	{ "nbf string", "", "nbf", "\"nbf\":\"0\"", ERR_INVALID_TOKEN },

	/* sub */
	{ "sub not a string", "", "sub", "\"sub\":42", ERR_INVALID_TOKEN },
	{ "sub leading zero", "", "sub", "\"sub\":\"042\"",
	    ERR_INVALID_TOKEN },
	{ "sub zero", "", "sub", "\"sub\":\"0\"", ERR_INVALID_TOKEN },
	{ "sub negative", "", "sub", "\"sub\":\"-42\"", ERR_INVALID_TOKEN },
	{ "sub with plus", "", "sub", "\"sub\":\"+42\"", ERR_INVALID_TOKEN },
	{ "sub with space", "", "sub", "\"sub\":\" 42\"", ERR_INVALID_TOKEN },
	{ "sub not decimal", "", "sub", "\"sub\":\"4x\"", ERR_INVALID_TOKEN },
	{ "sub hex", "", "sub", "\"sub\":\"0x2a\"", ERR_INVALID_TOKEN },
	{ "sub empty", "", "sub", "\"sub\":\"\"", ERR_INVALID_TOKEN },
	{ "sub beyond int64", "", "sub", "\"sub\":\"9223372036854775808\"",
	    ERR_INVALID_TOKEN },
	{ "sub INT64_MAX", "", "sub", "\"sub\":\"9223372036854775807\"",
	    ERR_OK },
	{ "sub missing", "", "sub", NULL, ERR_INVALID_TOKEN },

	/* username */
	{ "username 64 bytes", "", "username", "\"username\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\"", ERR_OK },
	{ "username 65 bytes", "", "username", "\"username\":\""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\"", ERR_INVALID_TOKEN },
	{ "username with a NUL", "", "username", "\"username\":\"a\\u0000b\"",
	    ERR_INVALID_TOKEN },
	{ "username number", "", "username", "\"username\":5",
	    ERR_INVALID_TOKEN },
	{ "username missing", "", "username", NULL, ERR_INVALID_TOKEN },

	/* org, tenant_id, sid */
	{ "org string", "", "org", "\"org\":\"7\"", ERR_INVALID_TOKEN },
	{ "org zero", "", "org", "\"org\":0", ERR_INVALID_TOKEN },
	{ "org negative", "", "org", "\"org\":-7", ERR_INVALID_TOKEN },
	{ "org double", "", "org", "\"org\":7.0", ERR_INVALID_TOKEN },
	{ "org missing", "", "org", NULL, ERR_INVALID_TOKEN },
	{ "tenant_id differs from org", "", "tenant_id", "\"tenant_id\":8",
	    ERR_INVALID_TOKEN },
	{ "tenant_id string", "", "tenant_id", "\"tenant_id\":\"7\"",
	    ERR_INVALID_TOKEN },
	{ "tenant_id missing", "", "tenant_id", NULL, ERR_OK },
	{ "sid zero", "", "sid", "\"sid\":0", ERR_INVALID_TOKEN },
	{ "sid string", "", "sid", "\"sid\":\"99\"", ERR_INVALID_TOKEN },
	{ "sid missing", "", "sid", NULL, ERR_INVALID_TOKEN },

	/* role */
	{ "role user", "", "role", "\"role\":\"user\"", ERR_OK },
	{ "role superadmin", "", "role", "\"role\":\"superadmin\"", ERR_OK },
	{ "role unknown", "", "role", "\"role\":\"root\"", ERR_INVALID_TOKEN },
	{ "role capitalised", "", "role", "\"role\":\"Admin\"",
	    ERR_INVALID_TOKEN },
	{ "role with a NUL", "", "role", "\"role\":\"admin\\u0000\"",
	    ERR_INVALID_TOKEN },
	{ "role number", "", "role", "\"role\":1", ERR_INVALID_TOKEN },
	{ "role missing", "", "role", NULL, ERR_INVALID_TOKEN },

	/* jti */
	{ "jti 32 bytes", "", "jti",
	    "\"jti\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", ERR_OK },
	{ "jti 33 bytes", "", "jti",
	    "\"jti\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	    ERR_INVALID_TOKEN },
	{ "jti empty", "", "jti", "\"jti\":\"\"", ERR_INVALID_TOKEN },
	{ "jti number", "", "jti", "\"jti\":1", ERR_INVALID_TOKEN },
	{ "jti missing", "", "jti", NULL, ERR_INVALID_TOKEN },

	/* the payload as a whole */
	{ "unknown claim ignored", "", "aud", "\"aud\":\"x\"", ERR_OK },
	{ "shallow nesting", "", "x", "\"x\":[1]", ERR_OK },
	{ "nesting too deep", "", "x", "\"x\":[[[[[[1]]]]]]",
	    ERR_INVALID_TOKEN },
	{ "payload not an object", NULL, NULL, "[1]", ERR_INVALID_TOKEN },
	{ "payload empty object", NULL, NULL, "{}", ERR_INVALID_TOKEN },
	{ "payload null", NULL, NULL, "null", ERR_INVALID_TOKEN },
	{ "payload trailing garbage", NULL, NULL,
	    "{\"iss\":\"latch\",\"sub\":\"42\",\"username\":\"alice\","
	    "\"org\":7,\"role\":\"admin\",\"sid\":99,\"jti\":\"j\","
	    "\"iat\":1700000000,\"exp\":1700000900}x", ERR_INVALID_TOKEN },
	{ "payload two objects", NULL, NULL,
	    "{\"iss\":\"latch\",\"sub\":\"42\",\"username\":\"alice\","
	    "\"org\":7,\"role\":\"admin\",\"sid\":99,\"jti\":\"j\","
	    "\"iat\":1700000000,\"exp\":1700000900}{}", ERR_INVALID_TOKEN },
	/* As PyJWT's jwt.encode() writes it: dict order, compact. */
	{ "PyJWT-style claim order", NULL, NULL,
	    "{\"sub\":\"42\",\"exp\":1700000900,\"iat\":1700000000,"
	    "\"jti\":\"Zm9vYmFyYmF6cXV4cXV1eA\",\"sid\":99,\"role\":\"user\","
	    "\"tenant_id\":7,\"org\":7,\"username\":\"alice\","
	    "\"iss\":\"latch\"}", ERR_OK },
	{ "JSON with whitespace", NULL, NULL,
	    "{ \"iss\": \"latch\", \"sub\": \"42\", \"username\": \"alice\", "
	    "\"org\": 7, \"role\": \"admin\", \"sid\": 99, \"jti\": \"j\", "
	    "\"iat\": 1700000000, \"exp\": 1700000900 }", ERR_OK },
};
/* clang-format on */

static void
test_table(void)
{
	char pl[BUFSZ], tok[BUFSZ], name[160];
	const struct vcase *t;
	struct jwt_claims c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = &cases[i];
		if (t->claim != NULL)
			payload(pl, sizeof(pl), t->claim, t->repl);
		else if (t->repl != NULL)
			snprintf(pl, sizeof(pl), "%s", t->repl);
		else
			payload(pl, sizeof(pl), NULL, NULL);
		mks(tok, sizeof(tok),
		    t->hdr != NULL && t->hdr[0] != '\0' ? t->hdr : H_OK, pl);
		snprintf(name, sizeof(name), "%s", t->why);
		T_EQ_INT(verify(tok, &c), t->want, name);
	}
}

/* Replace, in a copy of tok, the character at i by ch. */
static void
poke(char *dst, size_t dstsz, const char *tok, size_t i, char ch)
{
	snprintf(dst, dstsz, "%s", tok);
	dst[i] = ch;
}

static void
test_structure(void)
{
	char good_pl[1024], tok[JWT_MAX_LEN + 1], t2[BUFSZ], none[BUFSZ];
	const char *d1, *d2;
	size_t len, i1, i2;
	unsigned char k2[sizeof(key)];

	payload(good_pl, sizeof(good_pl), NULL, NULL);
	mks(tok, sizeof(tok), H_OK, good_pl);
	T_EQ_INT(verify(tok, NULL), ERR_OK, "base token verifies");
	len = strlen(tok);
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	i1 = (size_t)(d1 - tok);
	i2 = (size_t)(d2 - tok);

	/* alg none: unsigned, and with a signature. */
	mk(none, sizeof(none), "{\"alg\":\"none\",\"typ\":\"JWT\"}",
	    strlen("{\"alg\":\"none\",\"typ\":\"JWT\"}"), good_pl, NULL, 0);
	T_EQ_INT(verify(none, NULL), ERR_INVALID_TOKEN,
	    "alg none without signature");
	mk(none, sizeof(none), "{\"alg\":\"none\"}",
	    strlen("{\"alg\":\"none\"}"), good_pl, NULL, 0);
	T_EQ_INT(verify(none, NULL), ERR_INVALID_TOKEN,
	    "alg none (no typ) without signature");
	snprintf(t2, sizeof(t2), "%.*s", (int)(i2 + 1), tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN,
	    "HS256 header with the signature cut off");

	/* Tampering. */
	poke(t2, sizeof(t2), tok, i1 + 5, tok[i1 + 5] == 'A' ? 'B' : 'A');
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "tampered payload");
	poke(t2, sizeof(t2), tok, i2 + 1, tok[i2 + 1] == 'A' ? 'B' : 'A');
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "tampered signature");
	/* Every byte of the MAC counts: one flipped bit in each. */
	{
		unsigned char sig[32];
		char b64[64], name[64];
		size_t k;

		T_EQ_INT(b64url_decode(tok + i2 + 1, len - i2 - 1, sig,
			     sizeof(sig)),
		    sizeof(sig), "the signature decodes");
		for (k = 0; k < sizeof(sig); k++) {
			sig[k] ^= 0x80;
			b64url_encode(sig, sizeof(sig), b64, sizeof(b64));
			sig[k] ^= 0x80;
			snprintf(t2, sizeof(t2), "%.*s%s", (int)(i2 + 1), tok,
			    b64);
			snprintf(name, sizeof(name), "MAC byte %zu flipped", k);
			T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, name);
		}
	}
	poke(t2, sizeof(t2), tok, 3, tok[3] == 'A' ? 'B' : 'A');
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "tampered header");
	memcpy(k2, key, sizeof(key));
	k2[0] ^= 1;
	T_EQ_INT(jwt_verify(tok, k2, KEYLEN, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "wrong key");
	T_EQ_INT(jwt_verify(tok, key, KEYLEN - 1, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "key one byte short");
	T_EQ_INT(jwt_verify(tok, key, 0, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "empty key");
	T_EQ_INT(jwt_verify_noexp(tok, k2, KEYLEN, ISS, NULL),
	    ERR_INVALID_TOKEN, "wrong key, no exp check");

	/* Expired only once the signature is good. */
	T_EQ_INT(jwt_verify(tok, key, KEYLEN, ISS, NOW + 10000, LEEWAY, NULL),
	    ERR_TOKEN_EXPIRED, "expired");
	T_EQ_INT(jwt_verify(tok, k2, KEYLEN, ISS, NOW + 10000, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "expired but wrong key: invalid");
	poke(t2, sizeof(t2), tok, i2 + 1, tok[i2 + 1] == 'A' ? 'B' : 'A');
	T_EQ_INT(jwt_verify(t2, key, KEYLEN, ISS, NOW + 10000, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "expired but bad signature: invalid");
	T_EQ_INT(jwt_verify_noexp(tok, key, KEYLEN, ISS, NULL), ERR_OK,
	    "noexp accepts an expired token");
	T_EQ_INT(jwt_verify(tok, key, KEYLEN, ISS, NOW + 10000, -5, NULL),
	    ERR_TOKEN_EXPIRED, "negative leeway is no leeway");

	/* Segments. */
	snprintf(t2, sizeof(t2), "%.*s", (int)i2, tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "2 segments");
	snprintf(t2, sizeof(t2), "%s.%s", tok, d2 + 1);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "4 segments");
	snprintf(t2, sizeof(t2), "%s.", tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN,
	    "4 segments, the last empty");
	snprintf(t2, sizeof(t2), ".%s", tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "leading dot");
	snprintf(t2, sizeof(t2), "%.*s.%s", (int)i1, tok, d2);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "empty payload");
	snprintf(t2, sizeof(t2), "%s", d1);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "empty header");
	T_EQ_INT(verify("..", NULL), ERR_INVALID_TOKEN, "only dots");
	T_EQ_INT(verify("", NULL), ERR_INVALID_TOKEN, "empty string");
	T_EQ_INT(verify(NULL, NULL), ERR_INVALID_TOKEN, "NULL token");
	T_EQ_INT(verify("abc", NULL), ERR_INVALID_TOKEN, "no dot");

	/* Characters outside strict base64url. */
	snprintf(t2, sizeof(t2), "%s=", tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "padded signature");
	snprintf(t2, sizeof(t2), "%.*s=.%s", (int)i1, tok, d1 + 1);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "padded header");
	snprintf(t2, sizeof(t2), "%.*s==%s", (int)i2, tok, d2);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "padded payload");
	snprintf(t2, sizeof(t2), " %s", tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "leading space");
	snprintf(t2, sizeof(t2), "%s\n", tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN, "trailing newline");
	snprintf(t2, sizeof(t2), "%.*s", (int)(len - 1), tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN,
	    "signature one character short");
	snprintf(t2, sizeof(t2), "%sA", tok);
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN,
	    "signature one character long");
	poke(t2, sizeof(t2), tok, len - 1,
	    tok[len - 1] == 'A' ? 'B' : (char)(tok[len - 1] + 1));
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN,
	    "signature's spare bits changed");
	poke(t2, sizeof(t2), tok, i2 + 2, '+');
	T_EQ_INT(verify(t2, NULL), ERR_INVALID_TOKEN,
	    "standard alphabet in signature");
}

/* Tokens around JWT_MAX_LEN, padded with an extra claim. */
static void
test_length(void)
{
	static char pl[BUFSZ], tok[BUFSZ], pad[BUFSZ];
	size_t k, len;
	int short_ok = 1, long_bad = 1, exact = 0;
	enum err rc;

	for (k = 2700; k < 3100; k++) {
		memset(pad, 'a', k);
		memcpy(pad, "\"pad\":\"", 7);
		pad[k] = '"';
		pad[k + 1] = '\0';
		payload(pl, sizeof(pl), "pad", pad);
		mks(tok, sizeof(tok), H_OK, pl);
		len = strlen(tok);
		rc = verify(tok, NULL);
		if (len <= JWT_MAX_LEN && rc != ERR_OK)
			short_ok = 0;
		if (len > JWT_MAX_LEN && rc != ERR_INVALID_TOKEN)
			long_bad = 0;
		if (len == JWT_MAX_LEN)
			exact = 1;
	}
	T_OK(exact, "a token of exactly JWT_MAX_LEN was tried");
	T_OK(short_ok, "tokens up to JWT_MAX_LEN verify");
	T_OK(long_bad, "too-long tokens are refused");

	memset(tok, 'A', BUFSZ - 1);
	tok[BUFSZ - 1] = '\0';
	tok[10] = '.';
	tok[20] = '.';
	T_EQ_INT(verify(tok, NULL), ERR_INVALID_TOKEN, "16 KiB of junk");
}

/*
 * PyJWT: jwt.encode({...}, secret, algorithm="HS256") writes the header
 * with sorted keys, {"alg":"HS256","typ":"JWT"}, and the claims compactly
 * in dict order, ints as ints, sub as the string the caller gave.
 */
static void
test_pyjwt(void)
{
	static const char pl[] =
	    "{\"iss\":\"latch\",\"sub\":\"1234\","
	    "\"username\":\"bob.smith\",\"org\":3,\"tenant_id\":3,"
	    "\"role\":\"user\",\"sid\":5678,\"jti\":\"q0b6vN1Vr3X8p5m0K2rFhQ\","
	    "\"iat\":1700000000,\"exp\":1700000900}";
	static const char pl2[] =
	    "{\"exp\":1700000900,\"iat\":1700000000,"
	    "\"iss\":\"latch\",\"jti\":\"q0b6vN1Vr3X8p5m0K2rFhQ\",\"org\":3,"
	    "\"role\":\"user\",\"sid\":5678,\"sub\":\"1234\","
	    "\"tenant_id\":3,\"username\":\"bob.smith\"}";
	char tok[BUFSZ];
	struct jwt_claims c;

	mks(tok, sizeof(tok), H_OK, pl);
	T_EQ_INT(verify(tok, &c), ERR_OK, "PyJWT-made token verifies");
	T_EQ_INT(c.sub, 1234, "PyJWT token sub");
	T_EQ_STR(c.username, "bob.smith", "PyJWT token username");
	T_EQ_INT(c.org, 3, "PyJWT token org");
	T_EQ_STR(c.role, "user", "PyJWT token role");
	T_EQ_INT(c.sid, 5678, "PyJWT token sid");
	T_EQ_STR(c.jti, "q0b6vN1Vr3X8p5m0K2rFhQ", "PyJWT token jti");
	T_EQ_INT(c.exp, 1700000900, "PyJWT token exp");
	mks(tok, sizeof(tok), H_OK, pl2);
	T_EQ_INT(verify(tok, &c), ERR_OK,
	    "PyJWT token with sorted claims verifies");
}

/* The header segment of tok, decoded, into out. */
static void
header_of(const char *tok, char *out, size_t outsz)
{
	const char *d = strchr(tok, '.');
	size_t n;

	out[0] = '\0';
	if (d == NULL)
		return;
	n = b64url_decode(tok, (size_t)(d - tok), (unsigned char *)out,
	    outsz - 1);
	out[n == (size_t)-1 ? 0 : n] = '\0';
}

static void
test_kid(void)
{
	static const unsigned char key2[] = "fedcba9876543210fedcba9876543210";
	static const unsigned char key3[] = "an unrelated key, also 32 bytes!";
	struct jwt_keys cur = { .current = key, .currentlen = KEYLEN };
	struct jwt_keys rot = { .current = key2,
		.currentlen = sizeof(key2) - 1,
		.previous = key,
		.previouslen = KEYLEN };
	struct jwt_keys other = { .current = key3,
		.currentlen = sizeof(key3) - 1,
		.previous = key2,
		.previouslen = sizeof(key2) - 1 };
	char kid[JWT_KID_LEN + 1], kid2[JWT_KID_LEN + 1], want[128];
	char tok[BUFSZ], tok2[BUFSZ], hdr[256], bad[BUFSZ], pl[BUFSZ];
	struct jwt_claims c, v;

	payload(pl, sizeof(pl), NULL, NULL);

	T_EQ_INT(jwt_kid(key, KEYLEN, kid), 0, "kid: computed");
	T_EQ_INT(strlen(kid), JWT_KID_LEN, "kid: 11 characters");
	/* SHA-256("0123456789abcdef0123456789abcdef")[0..8) base64url */
	T_EQ_STR(kid, "PrG9Q5lH63Y", "kid: SHA-256 prefix, base64url");
	T_EQ_INT(jwt_kid(key2, sizeof(key2) - 1, kid2), 0, "kid: second key");
	T_OK(strcmp(kid, kid2) != 0, "kid: differs per key");
	T_EQ_INT(jwt_kid(key, 0, kid), -1, "kid: empty key refused");
	jwt_kid(key, KEYLEN, kid);

	fill(&c);
	T_EQ_INT(jwt_sign_keys(&c, &cur, tok, sizeof(tok)), ERR_OK,
	    "kid: sign with a key set");
	header_of(tok, hdr, sizeof(hdr));
	snprintf(want, sizeof(want),
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	T_EQ_STR(hdr, want, "kid: header carries the current kid");
	T_EQ_INT(jwt_verify_keys(tok, &cur, ISS, NOW, LEEWAY, &v), ERR_OK,
	    "kid: current key verifies");
	T_EQ_INT(v.sub, 42, "kid: claims read");
	T_EQ_INT(jwt_verify(tok, key, KEYLEN, ISS, NOW, LEEWAY, NULL), ERR_OK,
	    "kid: jwt_verify() takes its own key's kid");

	/* After rotation: the old token names the previous key. */
	T_EQ_INT(jwt_verify_keys(tok, &rot, ISS, NOW, LEEWAY, NULL), ERR_OK,
	    "kid: previous key verifies its tokens");
	T_EQ_INT(jwt_verify_noexp_keys(tok, &rot, ISS, NULL), ERR_OK,
	    "kid: previous key, noexp");
	fill(&c);
	T_EQ_INT(jwt_sign_keys(&c, &rot, tok2, sizeof(tok2)), ERR_OK,
	    "kid: sign after rotation");
	header_of(tok2, hdr, sizeof(hdr));
	snprintf(want, sizeof(want),
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid2);
	T_EQ_STR(hdr, want, "kid: signed with the new current key");
	T_EQ_INT(jwt_verify_keys(tok2, &rot, ISS, NOW, LEEWAY, NULL), ERR_OK,
	    "kid: new current key verifies");

	/* Unknown kid: the first token after a second rotation. */
	T_EQ_INT(jwt_verify_keys(tok, &other, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "kid: unknown kid refused");
	T_EQ_INT(jwt_verify_noexp_keys(tok, &other, ISS, NULL),
	    ERR_INVALID_TOKEN, "kid: unknown kid refused, noexp");
	T_EQ_INT(jwt_verify_keys(tok2, &other, ISS, NOW, LEEWAY, NULL), ERR_OK,
	    "kid: previous after a second rotation");

	/* No kid: the current key only, never the previous one. */
	fill(&c);
	jwt_sign(&c, key, KEYLEN, bad, sizeof(bad));
	T_EQ_INT(jwt_verify_keys(bad, &cur, ISS, NOW, LEEWAY, NULL), ERR_OK,
	    "kid: missing kid checked with the current key");
	T_EQ_INT(jwt_verify_keys(bad, &rot, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "kid: previous key without kid refused");

	/* A kid naming the previous key but signed with the current one. */
	fill(&c);
	snprintf(want, sizeof(want),
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	mk(bad, sizeof(bad), want, strlen(want), pl, key2, sizeof(key2) - 1);
	T_EQ_INT(jwt_verify_keys(bad, &rot, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "kid: previous kid, current key's MAC refused");
	mk(bad, sizeof(bad), "{\"alg\":\"HS256\",\"kid\":7}", 23, pl, key,
	    KEYLEN);
	T_EQ_INT(jwt_verify_keys(bad, &cur, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "kid: non-string kid refused");
	snprintf(want, sizeof(want),
	    "{\"alg\":\"HS384\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	mk(bad, sizeof(bad), want, strlen(want), pl, key, KEYLEN);
	T_EQ_INT(jwt_verify_keys(bad, &rot, ISS, NOW, LEEWAY, NULL),
	    ERR_INVALID_TOKEN, "kid: previous key still HS256 only");
	T_EQ_INT(jwt_sign_keys(&c, NULL, tok, sizeof(tok)), ERR_SYS,
	    "kid: sign without keys refused");
}

/* RFC 8037 appendix A.1's Ed25519 key, as PKCS#8 PEM. */
static const char rfc8037_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

/* Flip one character of the segment n (0, 1, 2) of tok. */
static void
flip(char *tok, int n)
{
	char *p = tok;

	while (n-- > 0 && (p = strchr(p, '.')) != NULL)
		p++;
	if (p != NULL)
		*p = *p == 'A' ? 'B' : 'A';
}

static void
test_eddsa(void)
{
	/* RFC 8037 A.4: the JWS of "Example of Ed25519 signing" */
	static const char input[] =
	    "eyJhbGciOiJFZERTQSJ9."
	    "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
	static const char want[] =
	    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6"
	    "dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
	unsigned char sig[KEY_SIG_LEN];
	char b64[100], jwk[KEY_JWK_MAX], tok[BUFSZ], hs[BUFSZ], hdr[256];
	struct key *k = key_from_pem(rfc8037_pem, sizeof(rfc8037_pem) - 1);
	struct key *k2 = NULL;
	struct jwt_claims c, v;
	char path[] = "/tmp/latch-test-key-XXXXXX";
	char err[256], file[64];
	int fd;

	if (!T_OK(k != NULL, "eddsa: RFC 8037 key loads from PEM"))
		return;
	T_OK(key_private(k), "eddsa: it is a private key");
	/* RFC 8037 A.3: the thumbprint of the key */
	T_EQ_STR(key_kid(k), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
	    "eddsa: kid is the RFC 7638 thumbprint (RFC 8037 A.3)");
	T_EQ_INT(key_jwk(k, jwk), 0, "eddsa: JWK written");
	T_EQ_STR(jwk,
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
	    "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\",\"kid\":"
	    "\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\",\"alg\":\"EdDSA\","
	    "\"use\":\"sig\"}",
	    "eddsa: JWK is RFC 8037 A.2's public key");
	T_EQ_INT(key_sign(k, input, strlen(input), sig), 0, "eddsa: signs");
	b64url_encode(sig, sizeof(sig), b64, sizeof(b64));
	T_EQ_STR(b64, want, "eddsa: RFC 8037 A.4 signature");
	T_OK(key_verify(k, input, strlen(input), sig), "eddsa: it verifies");
	sig[5] ^= 1;
	T_OK(!key_verify(k, input, strlen(input), sig),
	    "eddsa: a changed signature does not");

	/* Tokens: signed with the key, verified by kid. */
	struct jwt_keys ed = { .current = key,
		.currentlen = KEYLEN,
		.sign = k,
		.ed = { k, NULL },
		.no_hs256 = 1 };
	struct jwt_keys hsonly = { .current = key, .currentlen = KEYLEN };
	fill(&c);
	T_EQ_INT(jwt_sign_keys(&c, &ed, tok, sizeof(tok)), ERR_OK,
	    "eddsa: token signed");
	header_of(tok, hdr, sizeof(hdr));
	T_EQ_STR(hdr,
	    "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":"
	    "\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\"}",
	    "eddsa: header alg EdDSA with the kid");
	T_EQ_INT(strlen(strrchr(tok, '.') + 1), 86,
	    "eddsa: signature is 86 characters");
	T_EQ_INT(jwt_verify_keys(tok, &ed, ISS, NOW, LEEWAY, &v), ERR_OK,
	    "eddsa: round trip verifies");
	T_EQ_INT(v.sub, 42, "eddsa: claims read back");
	T_EQ_INT(jwt_verify_keys(tok, &hsonly, ISS, NOW, LEEWAY, &v),
	    ERR_INVALID_TOKEN, "eddsa: refused by a set without the key");
	for (int seg = 0; seg < 3; seg++) {
		char bad[BUFSZ];

		snprintf(bad, sizeof(bad), "%s", tok);
		flip(bad, seg);
		T_EQ_INT(jwt_verify_keys(bad, &ed, ISS, NOW, LEEWAY, &v),
		    ERR_INVALID_TOKEN, "eddsa: a changed segment is refused");
	}

	/* HS256 tokens under a set that refuses them, and alg confusion. */
	T_EQ_INT(jwt_sign(&c, key, KEYLEN, hs, sizeof(hs)), ERR_OK,
	    "eddsa: an HS256 token");
	T_EQ_INT(jwt_verify_keys(hs, &ed, ISS, NOW, LEEWAY, &v),
	    ERR_INVALID_TOKEN, "eddsa: HS256 refused when no_hs256");
	ed.no_hs256 = 0;
	T_EQ_INT(jwt_verify_keys(hs, &ed, ISS, NOW, LEEWAY, &v), ERR_OK,
	    "eddsa: HS256 accepted during a switch");
	T_EQ_INT(jwt_sign(&c,
		     (const unsigned char
			     *)"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		     43, hs, sizeof(hs)),
	    ERR_OK, "eddsa: HS256 token keyed with the public key");
	T_EQ_INT(jwt_verify_keys(hs, &ed, ISS, NOW, LEEWAY, &v),
	    ERR_INVALID_TOKEN, "eddsa: public key as HMAC secret refused");
	ed.no_hs256 = 1;

	/* A kid of no key of the set, or none, is refused. */
	ed.ed[0] = NULL;
	ed.ed[1] = k;
	T_EQ_INT(jwt_verify_keys(tok, &ed, ISS, NOW, LEEWAY, &v), ERR_OK,
	    "eddsa: the previous key verifies");
	ed.ed[1] = NULL;
	T_EQ_INT(jwt_verify_keys(tok, &ed, ISS, NOW, LEEWAY, &v),
	    ERR_INVALID_TOKEN, "eddsa: no key with the kid, refused");

	/* Files: generated 0600, loaded, mode checks. */
	if ((fd = mkstemp(path)) != -1) {
		close(fd);
		unlink(path);
		if (mkdir(path, 0700) == 0) {
			snprintf(file, sizeof(file), "%s/k.pem", path);
			k2 = key_generate(file, NULL, err, sizeof(err));
			T_OK(k2 != NULL, "eddsa: key generated");
			struct stat st;
			T_OK(stat(file, &st) == 0 &&
				(st.st_mode & 0777) == 0600,
			    "eddsa: key file 0600");
			T_OK(key_generate(file, NULL, err, sizeof(err)) == NULL,
			    "eddsa: never over an existing key");
			struct key *k3 = key_load(file, 0, err, sizeof(err));
			T_OK(k3 != NULL && k2 != NULL &&
				strcmp(key_kid(k3), key_kid(k2)) == 0,
			    "eddsa: the file loads back as the same key");
			key_free(k3);
			chmod(file, 0604);
			k3 = key_load(file, 0, err, sizeof(err));
			T_OK(k3 == NULL && strstr(err, "readable by others"),
			    "eddsa: private key readable by others refused");
			key_free(k3);
			chmod(file, 0620);
			k3 = key_load(file, 0, err, sizeof(err));
			T_OK(k3 == NULL && strstr(err, "writable"),
			    "eddsa: key writable by its group refused");
			key_free(k3);
			chmod(file, 0640);
			k3 = key_load(file, 0, err, sizeof(err));
			T_OK(k3 != NULL, "eddsa: 0640 accepted");
			key_free(k3);
			unlink(file);
			rmdir(path);
		}
	}
	key_free(k2);
	key_free(k);
	T_OK(key_from_pem("junk", 4) == NULL, "eddsa: junk is no key");
}

int
main(void)
{
	test_rfc7515();
	test_sign();
	test_table();
	test_structure();
	test_length();
	test_pyjwt();
	test_kid();
	test_eddsa();
	return T_DONE();
}
