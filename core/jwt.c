/*
 * jwt.c: HS256 and EdDSA JWS compact tokens (RFC 7515/7519, RFC 8037).
 *
 * Signing writes the header {"alg":"HS256","typ":"JWT"} (plus "kid" with
 * a key set), or {"alg":"EdDSA","typ":"JWT","kid":...}, and the claims in
 * a fixed order.  Verification checks, in this order: the length and the
 * three segments, the header (alg HS256 or EdDSA as the key set allows,
 * typ JWT if present, no crit, kid choosing the key), the signature, and
 * only then the payload, so nothing an attacker wrote is interpreted
 * before the signature has matched.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "b64.h"
#include "jwt.h"
#include "tok.h"

#define JWT_SIG_LEN 32    /* HMAC-SHA256 */
#define JWT_SIG_B64LEN 43 /* its base64url length */
#define JWT_ED_B64LEN 86  /* an Ed25519 signature's base64url length */
#define JWT_JSON_DEPTH 4  /* header and claims are flat objects */
#define JWT_JTI_BYTES 16  /* 22 base64url characters */
#define JWT_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static const char jwt_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
#define JWT_HDR_MAX 128 /* the header with a kid */
#define JWT_KID_BYTES 8 /* of SHA-256(key) */

/* HMAC-SHA256 of n bytes at input into mac.  Returns 0, or -1. */
static int
jwt_mac(const char *input, size_t n, const unsigned char *key, size_t keylen,
    unsigned char mac[JWT_SIG_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	if (key == NULL || keylen == 0 || keylen > INT_MAX)
		goto out;
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)input,
		n, md, &mdlen) == NULL ||
	    mdlen != JWT_SIG_LEN)
		goto out;
	memcpy(mac, md, JWT_SIG_LEN);
	rc = 0;
out:
	tok_cleanse(md, sizeof(md));
	return rc;
}

int
jwt_hs256(const char *input, size_t n, const unsigned char *key, size_t keylen,
    char *out, size_t outsz)
{
	unsigned char mac[JWT_SIG_LEN];
	int rc = -1;

	if (jwt_mac(input, n, key, keylen, mac) == -1)
		goto out;
	if (b64url_encode(mac, sizeof(mac), out, outsz) == (size_t)-1)
		goto out;
	rc = 0;
out:
	tok_cleanse(mac, sizeof(mac));
	return rc;
}

/* 1 if s is NUL-terminated within size bytes and 1..max long. */
static int
jwt_strok(const char *s, size_t size, size_t max)
{
	size_t len = strnlen(s, size);

	return len > 0 && len < size && len <= max;
}

static int
jwt_role_ok(const char *role)
{
	return strcmp(role, "superadmin") == 0 || strcmp(role, "admin") == 0 ||
	    strcmp(role, "user") == 0;
}

/*
 * The rules every token must follow, whether we sign or verify it:
 * strings terminated and bounded, ids positive, a known role.
 */
static int
jwt_claims_ok(const struct jwt_claims *c)
{
	return jwt_strok(c->iss, sizeof(c->iss), sizeof(c->iss) - 1) &&
	    jwt_strok(c->username, sizeof(c->username), 64) &&
	    jwt_strok(c->role, sizeof(c->role), sizeof(c->role) - 1) &&
	    jwt_role_ok(c->role) && jwt_strok(c->jti, sizeof(c->jti), 32) &&
	    c->sub > 0 && c->org > 0 && c->sid > 0 &&
	    (c->amr & ~JWT_AMR_ALL) == 0;
}

/* The names of the amr bits, in the order of their bits. */
static const char *const amr_names[] = { "pwd", "otp" };

/* The "amr" array of bits. */
static struct json_object *
jwt_amr_json(unsigned amr)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a != NULL && i < sizeof(amr_names) / sizeof(amr_names[0]);
	     i++)
		if ((amr & (1u << i)) &&
		    json_object_array_add(a,
			json_object_new_string(amr_names[i])) != 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

/* The bits of an "amr" array of known names, each once: 0, or -1. */
static int
jwt_amr_parse(struct json_object *v, unsigned *amr)
{
	const char *s;
	size_t i, j, n;
	unsigned bit;

	*amr = 0;
	if (!json_object_is_type(v, json_type_array) ||
	    (n = json_object_array_length(v)) > 8)
		return -1;
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string))
			return -1;
		s = json_object_get_string(e);
		for (j = 0, bit = 0;
		     j < sizeof(amr_names) / sizeof(amr_names[0]); j++)
			if (strcmp(s, amr_names[j]) == 0)
				bit = 1u << j;
		if (bit == 0 || (*amr & bit))
			return -1;
		*amr |= bit;
	}
	return 0;
}

/* Add v under k to o, taking v; v may be NULL (failed allocation). */
static int
jwt_add(struct json_object *o, const char *k, struct json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(o, k, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int
jwt_kid(const unsigned char *key, size_t keylen, char out[JWT_KID_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	int rc = -1;

	if (key == NULL || keylen == 0)
		goto out;
	if (SHA256(key, keylen, md) == NULL)
		goto out;
	if (b64url_encode(md, JWT_KID_BYTES, out, JWT_KID_LEN + 1) !=
	    JWT_KID_LEN)
		goto out;
	rc = 0;
out:
	tok_cleanse(md, sizeof(md));
	return rc;
}

/*
 * The EdDSA signature of the n bytes at input with ed, base64url encoded
 * into out (outsz bytes).  0, or -1.
 */
static int
jwt_ed25519(const char *input, size_t n, const struct key *ed, char *out,
    size_t outsz)
{
	unsigned char sig[KEY_SIG_LEN];

	if (key_sign(ed, input, n, sig) == -1 ||
	    b64url_encode(sig, sizeof(sig), out, outsz) != JWT_ED_B64LEN)
		return -1;
	return 0;
}

/*
 * Sign c under the header hdr (hdrlen bytes, JSON): with ed (EdDSA) if it
 * is not NULL, else with key (HS256).
 */
static enum err
jwt_sign_hdr(struct jwt_claims *c, const char *hdr, size_t hdrlen,
    const unsigned char *key, size_t keylen, const struct key *ed, char *out,
    size_t outsz)
{
	struct json_object *root = NULL;
	unsigned char jti[JWT_JTI_BYTES];
	const char *payload;
	char sub[24];
	size_t plen, len, n;
	enum err rc = ERR_SYS;
	int sn;

	if (c == NULL || out == NULL || outsz == 0)
		goto out;
	out[0] = '\0';
	if (c->jti[0] == '\0' &&
	    (tok_random(jti, sizeof(jti)) == -1 ||
		b64url_encode(jti, sizeof(jti), c->jti, sizeof(c->jti)) ==
		    (size_t)-1))
		goto out;
	if (!jwt_claims_ok(c))
		goto out;
	sn = snprintf(sub, sizeof(sub), "%" PRId64, c->sub);
	if (sn < 0 || (size_t)sn >= sizeof(sub))
		goto out;

	rc = ERR_NOMEM;
	if ((root = json_object_new_object()) == NULL ||
	    jwt_add(root, "iss", json_object_new_string(c->iss)) == -1 ||
	    jwt_add(root, "sub", json_object_new_string(sub)) == -1 ||
	    jwt_add(root, "username", json_object_new_string(c->username)) ==
		-1 ||
	    jwt_add(root, "org", json_object_new_int64(c->org)) == -1 ||
	    jwt_add(root, "tenant_id", json_object_new_int64(c->org)) == -1 ||
	    jwt_add(root, "role", json_object_new_string(c->role)) == -1 ||
	    jwt_add(root, "sid", json_object_new_int64(c->sid)) == -1 ||
	    jwt_add(root, "jti", json_object_new_string(c->jti)) == -1 ||
	    jwt_add(root, "iat", json_object_new_int64(c->iat)) == -1 ||
	    jwt_add(root, "exp", json_object_new_int64(c->exp)) == -1 ||
	    (c->amr != 0 && jwt_add(root, "amr", jwt_amr_json(c->amr)) == -1))
		goto out;
	if ((payload = json_object_to_json_string_ext(root, JWT_JSON_FLAGS)) ==
	    NULL)
		goto out;
	plen = strlen(payload);

	/* header "." payload "." signature, all within JWT_MAX_LEN */
	rc = ERR_SYS;
	if (plen > JWT_MAX_LEN)
		goto out;
	len = b64url_enclen(hdrlen) + 1 + b64url_enclen(plen) + 1 +
	    (ed != NULL ? JWT_ED_B64LEN : JWT_SIG_B64LEN);
	if (len > JWT_MAX_LEN || len >= outsz)
		goto out;
	n = b64url_encode((const unsigned char *)hdr, hdrlen, out, outsz);
	if (n == (size_t)-1)
		goto out;
	out[n++] = '.';
	len = b64url_encode((const unsigned char *)payload, plen, out + n,
	    outsz - n);
	if (len == (size_t)-1)
		goto out;
	n += len;
	if (ed != NULL ?
		jwt_ed25519(out, n, ed, out + n + 1, outsz - n - 1) :
		jwt_hs256(out, n, key, keylen, out + n + 1, outsz - n - 1))
		goto out;
	out[n] = '.';
	rc = ERR_OK;
out:
	json_object_put(root);
	tok_cleanse(jti, sizeof(jti));
	if (rc != ERR_OK && out != NULL && outsz > 0)
		out[0] = '\0';
	return rc;
}

enum err
jwt_sign(struct jwt_claims *c, const unsigned char *key, size_t keylen,
    char *out, size_t outsz)
{
	return jwt_sign_hdr(c, jwt_header, sizeof(jwt_header) - 1, key, keylen,
	    NULL, out, outsz);
}

enum err
jwt_sign_keys(struct jwt_claims *c, const struct jwt_keys *k, char *out,
    size_t outsz)
{
	char kid[JWT_KID_LEN + 1], hdr[JWT_HDR_MAX];
	int n;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (k == NULL)
		return ERR_SYS;
	if (k->sign != NULL)
		n = snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"EdDSA\",\"typ\":"
		    "\"JWT\",\"kid\":\"%s\"}",
		    key_kid(k->sign));
	else if (jwt_kid(k->current, k->currentlen, kid) == -1)
		return ERR_SYS;
	else
		n = snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"HS256\",\"typ\":"
		    "\"JWT\",\"kid\":\"%s\"}",
		    kid);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return ERR_SYS;
	return jwt_sign_hdr(c, hdr, (size_t)n, k->current, k->currentlen,
	    k->sign, out, outsz);
}

/*
 * Decode the base64url segment of n characters at seg into buf (bufsz
 * bytes) and parse it, strictly and whole, as one JSON object.  Returns
 * the object (caller puts it), or NULL.
 */
static struct json_object *
jwt_parse_segment(const char *seg, size_t n, unsigned char *buf, size_t bufsz)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	size_t len;

	len = b64url_decode(seg, n, buf, bufsz);
	if (len == (size_t)-1 || len == 0 || len > INT_MAX)
		goto out;
	if ((tok = json_tokener_new_ex(JWT_JSON_DEPTH)) == NULL)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (obj == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
out:
	if (tok != NULL)
		json_tokener_free(tok);
	return obj;
}

/* 1 if o is a JSON string exactly equal to s (no embedded NUL games). */
static int
jwt_streq(struct json_object *o, const char *s)
{
	size_t n = strlen(s);

	return json_object_is_type(o, json_type_string) &&
	    (size_t)json_object_get_string_len(o) == n &&
	    memcmp(json_object_get_string(o), s, n) == 0;
}

/*
 * Copy the string member k of o into dst (dstsz bytes, NUL included).
 * Returns 0, or -1 if it is missing, not a string, too long or holds a
 * NUL.
 */
static int
jwt_get_str(struct json_object *o, const char *k, char *dst, size_t dstsz)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len >= dstsz || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/*
 * The integer member k of o into *val.  Returns 0, or -1 if it is missing,
 * not a JSON integer (a double or a string is not), or out of int64 range
 * (json-c clamps those to the limits).
 */
static int
jwt_get_int(struct json_object *o, const char *k, int64_t *val)
{
	struct json_object *v;
	int64_t i;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	i = json_object_get_int64(v);
	if (i == INT64_MAX || i == INT64_MIN)
		return -1;
	*val = i;
	return 0;
}

/*
 * Parse s, the canonical decimal form of a positive int64 (no sign, no
 * leading zero), into *val.  Returns 0, or -1.
 */
static int
jwt_parse_id(const char *s, int64_t *val)
{
	int64_t v = 0;
	int d;

	if (*s < '1' || *s > '9')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*val = v;
	return 0;
}

/*
 * The header checks: alg exactly HS256 (unless k refuses it) or EdDSA
 * (*ed = 1), typ JWT if present, no crit.
 */
static int
jwt_header_ok(struct json_object *hdr, const struct jwt_keys *k, int *ed)
{
	struct json_object *v;

	if (!json_object_object_get_ex(hdr, "alg", &v))
		return 0;
	if (jwt_streq(v, "HS256") && !k->no_hs256)
		*ed = 0;
	else if (jwt_streq(v, "EdDSA"))
		*ed = 1;
	else
		return 0;
	if (json_object_object_get_ex(hdr, "typ", &v) && !jwt_streq(v, "JWT"))
		return 0;
	if (json_object_object_get_ex(hdr, "crit", NULL))
		return 0;
	return 1;
}

/*
 * The key of k that the header's kid names into *key, *keylen: no kid is
 * the current key.  Returns 0, or -1 for a kid that is not a string or
 * names no key of k.
 */
static int
jwt_pick_key(struct json_object *hdr, const struct jwt_keys *k,
    const unsigned char **key, size_t *keylen)
{
	struct json_object *v;
	char kid[JWT_KID_LEN + 1];

	if (!json_object_object_get_ex(hdr, "kid", &v)) {
		*key = k->current;
		*keylen = k->currentlen;
		return 0;
	}
	if (k->current != NULL &&
	    jwt_kid(k->current, k->currentlen, kid) == 0 && jwt_streq(v, kid)) {
		*key = k->current;
		*keylen = k->currentlen;
		return 0;
	}
	if (k->previous != NULL && k->previouslen > 0 &&
	    jwt_kid(k->previous, k->previouslen, kid) == 0 &&
	    jwt_streq(v, kid)) {
		*key = k->previous;
		*keylen = k->previouslen;
		return 0;
	}
	return -1;
}

/*
 * The EdDSA key of k that the header's kid names into *key.  Returns 0,
 * or -1 for a missing kid, or one that names no key of k.
 */
static int
jwt_pick_ed(struct json_object *hdr, const struct jwt_keys *k,
    const struct key **key)
{
	struct json_object *v;
	size_t i;

	if (!json_object_object_get_ex(hdr, "kid", &v))
		return -1;
	for (i = 0; i < sizeof(k->ed) / sizeof(k->ed[0]); i++)
		if (k->ed[i] != NULL && jwt_streq(v, key_kid(k->ed[i]))) {
			*key = k->ed[i];
			return 0;
		}
	return -1; /* a kid of no key of k */
}

/*
 * The signature segment (siglen characters at sig) of the signing input
 * (n bytes at input) under the key chosen: ed, else key (HMAC, compared
 * in constant time).  1 if it matches.
 */
static int
jwt_sig_ok(const char *input, size_t n, const char *sig, size_t siglen,
    const unsigned char *key, size_t keylen, const struct key *ed)
{
	unsigned char mac[JWT_SIG_LEN], got[KEY_SIG_LEN];
	int ok = 0;

	if (ed != NULL) {
		if (siglen == JWT_ED_B64LEN &&
		    b64url_decode(sig, siglen, got, sizeof(got)) == KEY_SIG_LEN)
			ok = key_verify(ed, input, n, got);
		return ok;
	}
	if (siglen == JWT_SIG_B64LEN &&
	    b64url_decode(sig, siglen, got, sizeof(got)) == JWT_SIG_LEN &&
	    jwt_mac(input, n, key, keylen, mac) == 0)
		ok = CRYPTO_memcmp(mac, got, JWT_SIG_LEN) == 0;
	tok_cleanse(mac, sizeof(mac));
	return ok;
}

/*
 * Verify token; now is NULL to skip the time checks (exp must still be
 * there).  Fills *out only on success.
 */
static enum err
jwt_check(const char *token, const struct jwt_keys *k, const char *issuer,
    const time_t *now, int leeway, struct jwt_claims *out)
{
	struct json_object *hdr = NULL, *pl = NULL, *v;
	unsigned char buf[JWT_MAX_LEN];
	struct jwt_claims c;
	const unsigned char *key = NULL;
	const struct key *ed = NULL;
	size_t keylen = 0;
	const char *d1, *d2, *end;
	char sub[24];
	size_t len;
	int64_t nbf, tenant;
	int eddsa = 0;
	enum err rc = ERR_INVALID_TOKEN;

	memset(&c, 0, sizeof(c));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (token == NULL || issuer == NULL || k == NULL)
		goto out;
	if (leeway < 0)
		leeway = 0;

	/* Three non-empty segments, two dots, at most JWT_MAX_LEN. */
	if ((len = strnlen(token, JWT_MAX_LEN + 1)) > JWT_MAX_LEN)
		goto out;
	end = token + len;
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL ||
	    memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL)
		goto out;
	if (d1 == token || d2 == d1 + 1 || d2 + 1 == end)
		goto out;

	if ((hdr = jwt_parse_segment(token, (size_t)(d1 - token), buf,
		 sizeof(buf))) == NULL ||
	    !jwt_header_ok(hdr, k, &eddsa))
		goto out;
	if (eddsa ? jwt_pick_ed(hdr, k, &ed) == -1 :
		    jwt_pick_key(hdr, k, &key, &keylen) == -1)
		goto out;

	/* The signature, before anything of the payload is looked at. */
	if (!jwt_sig_ok(token, (size_t)(d2 - token), d2 + 1,
		(size_t)(end - d2 - 1), key, keylen, ed))
		goto out;

	if ((pl = jwt_parse_segment(d1 + 1, (size_t)(d2 - d1 - 1), buf,
		 sizeof(buf))) == NULL)
		goto out;
	if (jwt_get_str(pl, "iss", c.iss, sizeof(c.iss)) == -1 ||
	    strcmp(c.iss, issuer) != 0 ||
	    jwt_get_str(pl, "sub", sub, sizeof(sub)) == -1 ||
	    jwt_parse_id(sub, &c.sub) == -1 ||
	    jwt_get_str(pl, "username", c.username, sizeof(c.username)) == -1 ||
	    jwt_get_int(pl, "org", &c.org) == -1 ||
	    jwt_get_str(pl, "role", c.role, sizeof(c.role)) == -1 ||
	    jwt_get_int(pl, "sid", &c.sid) == -1 ||
	    jwt_get_str(pl, "jti", c.jti, sizeof(c.jti)) == -1 ||
	    jwt_get_int(pl, "iat", &c.iat) == -1 ||
	    jwt_get_int(pl, "exp", &c.exp) == -1 || !jwt_claims_ok(&c))
		goto out;
	if (json_object_object_get_ex(pl, "tenant_id", &v) &&
	    (jwt_get_int(pl, "tenant_id", &tenant) == -1 || tenant != c.org))
		goto out;
	if (json_object_object_get_ex(pl, "amr", &v) &&
	    jwt_amr_parse(v, &c.amr) == -1)
		goto out;

	if (now != NULL) {
		if (c.iat > (int64_t)*now + leeway)
			goto out;
		if (json_object_object_get_ex(pl, "nbf", &v) &&
		    (jwt_get_int(pl, "nbf", &nbf) == -1 ||
			nbf > (int64_t)*now + leeway))
			goto out;
		if (c.exp < (int64_t)*now - leeway) {
			rc = ERR_TOKEN_EXPIRED;
			goto out;
		}
	}
	if (out != NULL)
		*out = c;
	rc = ERR_OK;
out:
	json_object_put(hdr);
	json_object_put(pl);
	return rc;
}

enum err
jwt_verify_keys(const char *token, const struct jwt_keys *k, const char *issuer,
    time_t now, int leeway, struct jwt_claims *c)
{
	return jwt_check(token, k, issuer, &now, leeway, c);
}

enum err
jwt_verify_noexp_keys(const char *token, const struct jwt_keys *k,
    const char *issuer, struct jwt_claims *c)
{
	return jwt_check(token, k, issuer, NULL, 0, c);
}

enum err
jwt_verify(const char *token, const unsigned char *key, size_t keylen,
    const char *issuer, time_t now, int leeway, struct jwt_claims *c)
{
	struct jwt_keys k = { key, keylen, NULL, 0, NULL, { NULL, NULL }, 0 };

	return jwt_check(token, &k, issuer, &now, leeway, c);
}

enum err
jwt_verify_noexp(const char *token, const unsigned char *key, size_t keylen,
    const char *issuer, struct jwt_claims *c)
{
	struct jwt_keys k = { key, keylen, NULL, 0, NULL, { NULL, NULL }, 0 };

	return jwt_check(token, &k, issuer, NULL, 0, c);
}
