/*
 * totp.c: one-time passwords, base32, otpauth URIs, recovery codes, and
 * AES-256-GCM sealing, with OpenSSL (EVP_MAC, EVP_CIPHER).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include "str.h"
#include "tok.h"
#include "totp.h"

static const char b32_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/* Crockford's base32, lower case: no i, l, o, u. */
static const char rc_tab[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* The label the AES key is derived under, and the GCM nonce's size. */
static const char key_label[] = "latch mfa seal key v1";
#define SEAL_VERSION 1
#define SEAL_NONCE 12
#define SEAL_TAG 16
/* Authenticated with every sealed value: this label and the user id. */
static const char aad_label[] = "latch totp v1";

int
totp_b32_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	unsigned buf = 0;
	int bits = 0;

	if (n > (SIZE_MAX - 8) / 8 || (n * 8 + 4) / 5 + 1 > outsz)
		return -1;
	for (i = 0; i < n; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_tab[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32_tab[(buf << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

static int
b32_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int
totp_b32_decode(const char *s, unsigned char *out, size_t outsz, size_t *n)
{
	unsigned buf = 0;
	int bits = 0, v;
	size_t o = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if ((v = b32_val(*s)) < 0)
			return -1;
		buf = ((buf << 5) | (unsigned)v) & 0xffff;
		bits += 5;
		if (bits >= 8) {
			if (o == outsz)
				return -1;
			out[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	/* Left-over bits must be zero, else two texts decode alike. */
	if (bits >= 5 || (buf & ((1u << bits) - 1)) != 0)
		return -1;
	*n = o;
	return 0;
}

/* HMAC with digest md ("SHA1", "SHA256") of n bytes under key into mac
 * (*maclen in: its size; out: the length).  0, or -1. */
static int
hmac(const char *md, const unsigned char *key, size_t keylen,
    const unsigned char *in, size_t n, unsigned char *mac, size_t *maclen)
{
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM p[2];
	int rc = -1;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)md, 0);
	p[1] = OSSL_PARAM_construct_end();
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(m)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, p) != 1 ||
	    EVP_MAC_update(ctx, in, n) != 1 ||
	    EVP_MAC_final(ctx, mac, maclen, *maclen) != 1)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	return rc;
}

int
totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits,
    uint32_t *code)
{
	static const uint32_t mod[] = { 1000000, 10000000, 100000000 };
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	size_t maclen = sizeof(mac), off;
	uint32_t bin;
	int i, rc = -1;

	if (digits < 6 || digits > 8)
		return -1;
	for (i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (unsigned char)(counter & 0xff);
	if (hmac("SHA1", key, keylen, msg, sizeof(msg), mac, &maclen) == -1 ||
	    maclen != 20)
		goto out;
	/* RFC 4226 5.3: dynamic truncation. */
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
	    ((uint32_t)mac[off + 1] << 16) | ((uint32_t)mac[off + 2] << 8) |
	    mac[off + 3];
	*code = bin % mod[digits - 6];
	rc = 0;
out:
	tok_cleanse(mac, sizeof(mac));
	return rc;
}

int64_t
totp_step(int64_t now)
{
	return now < 0 ? 0 : now / TOTP_PERIOD;
}

int64_t
totp_verify(const unsigned char *key, size_t keylen, int64_t now, int64_t last,
    const char *code)
{
	char want[TOTP_DIGITS + 1];
	uint32_t c;
	int64_t step = totp_step(now), s, found = 0;
	int i;

	if (strlen(code) != TOTP_DIGITS)
		return 0;
	for (i = 0; i < TOTP_DIGITS; i++)
		if (code[i] < '0' || code[i] > '9')
			return 0;
	/* Every step of the window is computed and compared, matched or
	 * not, so the time taken tells nothing about which one matched. */
	for (s = step - TOTP_SKEW; s <= step + TOTP_SKEW; s++) {
		if (totp_hotp(key, keylen, (uint64_t)s, TOTP_DIGITS, &c) == -1)
			return -1;
		(void)snprintf(want, sizeof(want), "%0*u", TOTP_DIGITS,
		    (unsigned)c);
		if (tok_equal(want, code, TOTP_DIGITS) && s > last &&
		    found == 0)
			found = s;
	}
	tok_cleanse(want, sizeof(want));
	return found;
}

/* Append the literal s to out. */
static int
uri_put(char *out, size_t outsz, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > outsz)
		return -1;
	memcpy(out + *len, s, n + 1);
	*len += n;
	return 0;
}

int
totp_uri(const char *issuer, const char *account, const char *b32, char *out,
    size_t outsz)
{
	char period[48];
	size_t len = 0;

	(void)snprintf(period, sizeof(period),
	    "&algorithm=SHA1&digits=%d"
	    "&period=%d",
	    TOTP_DIGITS, TOTP_PERIOD);
	if (outsz == 0 || uri_put(out, outsz, &len, "otpauth://totp/") == -1 ||
	    str_pct_encode(out, outsz, &len, issuer, "") == -1 ||
	    uri_put(out, outsz, &len, ":") == -1 ||
	    str_pct_encode(out, outsz, &len, account, "") == -1 ||
	    uri_put(out, outsz, &len, "?secret=") == -1 ||
	    str_pct_encode(out, outsz, &len, b32, "") == -1 ||
	    uri_put(out, outsz, &len, "&issuer=") == -1 ||
	    str_pct_encode(out, outsz, &len, issuer, "") == -1 ||
	    uri_put(out, outsz, &len, period) == -1) {
		if (outsz > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

int
totp_recovery_new(char out[TOTP_RECOVERY_SIZE])
{
	unsigned char r[TOTP_RECOVERY_LEN];
	size_t i, o = 0;

	if (tok_random(r, sizeof(r)) == -1)
		return -1;
	for (i = 0; i < TOTP_RECOVERY_LEN; i++) {
		if (i == TOTP_RECOVERY_LEN / 2)
			out[o++] = '-';
		out[o++] = rc_tab[r[i] & 31];
	}
	out[o] = '\0';
	tok_cleanse(r, sizeof(r));
	return 0;
}

int
totp_recovery_norm(const char *s, char out[TOTP_RECOVERY_LEN + 1])
{
	size_t n = 0;
	char c;

	for (; *s != '\0'; s++) {
		c = *s;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == 'o')
			c = '0';
		else if (c == 'i' || c == 'l')
			c = '1';
		if (c == '\0' || strchr(rc_tab, c) == NULL ||
		    n == TOTP_RECOVERY_LEN)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == TOTP_RECOVERY_LEN ? 0 : -1;
}

int
totp_recovery_hash(const unsigned char *key, size_t keylen, int64_t uid,
    const char *norm, unsigned char h[TOTP_HASH_LEN])
{
	unsigned char in[8 + TOTP_RECOVERY_LEN];
	size_t n = TOTP_HASH_LEN;
	int i, rc;

	if (strlen(norm) != TOTP_RECOVERY_LEN)
		return -1;
	for (i = 7; i >= 0; i--, uid >>= 8)
		in[i] = (unsigned char)(uid & 0xff);
	memcpy(in + 8, norm, TOTP_RECOVERY_LEN);
	rc = hmac("SHA256", key, keylen, in, sizeof(in), h, &n);
	tok_cleanse(in, sizeof(in));
	return rc == 0 && n == TOTP_HASH_LEN ? 0 : -1;
}

int
totp_key_derive(const char *secret, size_t n, struct totp_key *k)
{
	unsigned char id[SHA256_DIGEST_LENGTH];
	size_t len = sizeof(k->key);

	if (hmac("SHA256", (const unsigned char *)secret, n,
		(const unsigned char *)key_label, sizeof(key_label) - 1, k->key,
		&len) == -1 ||
	    len != sizeof(k->key) || SHA256(k->key, sizeof(k->key), id) == NULL)
		return -1;
	memcpy(k->id, id, sizeof(k->id));
	return 0;
}

/* The authenticated data of a value sealed for uid. */
static void
seal_aad(int64_t uid, unsigned char aad[sizeof(aad_label) - 1 + 8])
{
	size_t n = sizeof(aad_label) - 1;
	int i;

	memcpy(aad, aad_label, n);
	for (i = 7; i >= 0; i--, uid >>= 8)
		aad[n + (size_t)i] = (unsigned char)(uid & 0xff);
}

int
totp_seal(const struct totp_key *k, int64_t uid, const unsigned char *pt,
    size_t n, unsigned char *out, size_t outsz)
{
	unsigned char aad[sizeof(aad_label) - 1 + 8];
	unsigned char *nonce = out + 1 + TOTP_KEYID_LEN;
	unsigned char *ct = nonce + SEAL_NONCE;
	EVP_CIPHER_CTX *ctx = NULL;
	int len, rc = -1;

	if (n > INT_MAX - TOTP_SEAL_OVERHEAD || outsz < n + TOTP_SEAL_OVERHEAD)
		return -1;
	out[0] = SEAL_VERSION;
	memcpy(out + 1, k->id, TOTP_KEYID_LEN);
	seal_aad(uid, aad);
	if (tok_random(nonce, SEAL_NONCE) == -1 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, nonce) !=
		1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &len, pt, (int)n) != 1 ||
	    (size_t)len != n || EVP_EncryptFinal_ex(ctx, ct + n, &len) != 1 ||
	    len != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, ct + n) !=
		1)
		goto out;
	rc = (int)(n + TOTP_SEAL_OVERHEAD);
out:
	EVP_CIPHER_CTX_free(ctx);
	if (rc == -1)
		tok_cleanse(out, outsz);
	return rc;
}

int
totp_sealed_by(const struct totp_key *k, const unsigned char *sealed, size_t n)
{
	return n >= TOTP_SEAL_OVERHEAD && sealed[0] == SEAL_VERSION &&
	    memcmp(sealed + 1, k->id, TOTP_KEYID_LEN) == 0;
}

int
totp_open(const struct totp_key *k, int64_t uid, const unsigned char *sealed,
    size_t n, unsigned char *pt, size_t ptsz)
{
	unsigned char aad[sizeof(aad_label) - 1 + 8], tag[SEAL_TAG];
	const unsigned char *nonce = sealed + 1 + TOTP_KEYID_LEN;
	const unsigned char *ct = nonce + SEAL_NONCE;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t ctlen;
	int len, rc = -1;

	if (!totp_sealed_by(k, sealed, n) || n > INT_MAX)
		return -1;
	ctlen = n - TOTP_SEAL_OVERHEAD;
	if (ctlen > ptsz)
		return -1;
	memcpy(tag, ct + ctlen, SEAL_TAG);
	seal_aad(uid, aad);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, nonce) !=
		1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &len, ct, (int)ctlen) != 1 ||
	    (size_t)len != ctlen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) !=
		1 ||
	    EVP_DecryptFinal_ex(ctx, pt + ctlen, &len) != 1)
		goto out;
	rc = (int)ctlen;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (rc == -1)
		tok_cleanse(pt, ptsz);
	return rc;
}
