/*
 * jwt.h: HS256 JSON Web Tokens (RFC 7515/7519), signed with OpenSSL HMAC,
 * claims built and parsed with json-c.  Verification is strict: the header
 * must be exactly alg HS256 (typ JWT optional, kid ignored for now), the
 * signature is compared in constant time, exp is required and iss must
 * match.
 */
#ifndef LATCH_JWT_H
#define LATCH_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define JWT_MAX_LEN 4096 /* longest token accepted or produced */

struct jwt_claims {
	char iss[65];
	int64_t sub;        /* user id ("sub" is its decimal string) */
	char username[65];
	int64_t org;        /* organization id ("org" and "tenant_id") */
	char role[16];
	int64_t sid;        /* session id */
	char jti[33];       /* 22 base64url chars of 128 random bits */
	int64_t iat;
	int64_t exp;
};

/*
 * Sign claims (jti is generated here when c->jti is empty) with the key.
 * Writes the compact token into out (outsz bytes).  Returns ERR_OK, or
 * ERR_SYS/ERR_NOMEM.
 */
enum err jwt_sign(struct jwt_claims *c, const unsigned char *key,
    size_t keylen, char *out, size_t outsz);

/*
 * Verify token against key, issuer and now (+/- leeway seconds).
 * Fills *c on success.  Returns ERR_OK, ERR_TOKEN_EXPIRED (valid signature,
 * exp passed), or ERR_INVALID_TOKEN for anything else.
 */
enum err jwt_verify(const char *token, const unsigned char *key,
    size_t keylen, const char *issuer, time_t now, int leeway,
    struct jwt_claims *c);

/*
 * Like jwt_verify() but ignores exp: used by /auth/revoke to find the
 * session of a signed, possibly expired token.  Returns ERR_OK or
 * ERR_INVALID_TOKEN.
 */
enum err jwt_verify_noexp(const char *token, const unsigned char *key,
    size_t keylen, const char *issuer, struct jwt_claims *c);

/*
 * The JWS HS256 signature of the n bytes at input (the signing input
 * "header.payload"): HMAC-SHA256 with the key (keylen > 0), base64url
 * encoded into out (outsz >= 44: 43 characters and the NUL).  Returns 0,
 * or -1 on failure.  Exported for the RFC 7515 test vector.
 */
int jwt_hs256(const char *input, size_t n, const unsigned char *key,
    size_t keylen, char *out, size_t outsz);

#endif
