/*
 * jwt.h: JSON Web Tokens (RFC 7515/7519), signed with HS256 (OpenSSL HMAC)
 * or EdDSA (Ed25519, RFC 8037, through key.h), claims built and parsed
 * with json-c.  Verification is strict: the header's alg must be exactly
 * one the key set accepts (typ JWT optional), a MAC is compared in
 * constant time, exp is required and iss must match.
 *
 * HS256 key rotation: a secret's id ("kid") is the base64url of the first
 * 8 bytes of SHA-256(secret), 11 characters, which reveals nothing of it.
 * A token whose kid is the previous secret's is checked with the previous
 * secret; a token without kid (issued before rotation existed) only with
 * the current one; any other kid is refused.
 *
 * EdDSA: a token must carry the kid (the key's RFC 7638 thumbprint, 43
 * characters) of one of the set's verifying keys; no other key is tried.
 * The alg of the header chooses the kind of key and nothing else: an
 * HS256 token is only ever checked against the HS256 secrets, so a public
 * key can never be used as an HMAC secret.
 */
#ifndef LATCH_JWT_H
#define LATCH_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"
#include "key.h"

#define JWT_MAX_LEN 4096 /* longest token accepted or produced */
#define JWT_KID_LEN 11   /* base64url of 8 bytes */

/*
 * The keys of a token: the HS256 secrets (current required, previous
 * optional: NULL, 0), and for EdDSA the signing key and the keys that
 * verify.  Zeroed EdDSA members: HS256 only, as before EdDSA existed.
 */
struct jwt_keys {
	const unsigned char *current; /* borrowed */
	size_t currentlen;
	const unsigned char *previous; /* borrowed; NULL: none */
	size_t previouslen;
	const struct key *sign;  /* borrowed; non-NULL: sign EdDSA */
	const struct key *ed[2]; /* borrowed; verify EdDSA; NULL: none */
	int no_hs256;            /* 1: HS256 tokens are refused */
};

struct jwt_claims {
	char iss[65];
	int64_t sub; /* user id ("sub" is its decimal string) */
	char username[65];
	int64_t org; /* organization id ("org" and "tenant_id") */
	char role[16];
	int64_t sid;  /* session id */
	char jti[33]; /* 22 base64url chars of 128 random bits */
	int64_t iat;
	int64_t exp;
	unsigned amr; /* JWT_AMR_* bits: "amr" (RFC 8176); 0: none */
};

/* How the session was signed in: the "amr" claim's values, "pwd" (a
 * password) and "otp" (a one-time password: TOTP, or a recovery code). */
#define JWT_AMR_PWD 1u
#define JWT_AMR_OTP 2u
#define JWT_AMR_ALL 3u

/*
 * Sign claims (jti is generated here when c->jti is empty) with the key,
 * header without kid.
 * Writes the compact token into out (outsz bytes).  Returns ERR_OK, or
 * ERR_SYS/ERR_NOMEM.
 */
enum err jwt_sign(struct jwt_claims *c, const unsigned char *key, size_t keylen,
    char *out, size_t outsz);

/*
 * Verify token against key (as the current key of a set with no previous
 * key), issuer and now (+/- leeway seconds).
 * Fills *c on success.  Returns ERR_OK, ERR_TOKEN_EXPIRED (valid signature,
 * exp passed), or ERR_INVALID_TOKEN for anything else.
 */
enum err jwt_verify(const char *token, const unsigned char *key, size_t keylen,
    const char *issuer, time_t now, int leeway, struct jwt_claims *c);

/*
 * Like jwt_verify() but ignores exp: used by /auth/revoke to find the
 * session of a signed, possibly expired token.  Returns ERR_OK or
 * ERR_INVALID_TOKEN.
 */
enum err jwt_verify_noexp(const char *token, const unsigned char *key,
    size_t keylen, const char *issuer, struct jwt_claims *c);

/*
 * Sign claims as jwt_sign() does, with k->sign (EdDSA) if set, else with
 * k->current (HS256), adding the key's "kid" to the header.  Returns
 * ERR_OK, or ERR_SYS/ERR_NOMEM.
 */
enum err jwt_sign_keys(struct jwt_claims *c, const struct jwt_keys *k,
    char *out, size_t outsz);

/*
 * Verify token as jwt_verify() does, choosing the key by its kid (see the
 * top of this file).  Same returns as jwt_verify().
 */
enum err jwt_verify_keys(const char *token, const struct jwt_keys *k,
    const char *issuer, time_t now, int leeway, struct jwt_claims *c);

/* jwt_verify_noexp() with a key set.  Returns ERR_OK or ERR_INVALID_TOKEN. */
enum err jwt_verify_noexp_keys(const char *token, const struct jwt_keys *k,
    const char *issuer, struct jwt_claims *c);

/*
 * The kid of key (keylen > 0) into out (JWT_KID_LEN + 1 bytes).  Returns 0,
 * or -1.
 */
int jwt_kid(const unsigned char *key, size_t keylen, char out[JWT_KID_LEN + 1]);

/*
 * The JWS HS256 signature of the n bytes at input (the signing input
 * "header.payload"): HMAC-SHA256 with the key (keylen > 0), base64url
 * encoded into out (outsz >= 44: 43 characters and the NUL).  Returns 0,
 * or -1 on failure.  Exported for the RFC 7515 test vector.
 */
int jwt_hs256(const char *input, size_t n, const unsigned char *key,
    size_t keylen, char *out, size_t outsz);

#endif
