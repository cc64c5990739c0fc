/*
 * tok.c: random opaque tokens, their SHA-256 hashes, request ids.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

#include "b64.h"
#include "tok.h"

#define TOK_MIN_BYTES 16
#define TOK_MAX_BYTES 32

int
tok_random(unsigned char *buf, size_t n)
{
	if (n > INT_MAX)
		return -1;
	if (n == 0)
		return 0;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int
tok_new(size_t nbytes, char *out, size_t outsz)
{
	unsigned char raw[TOK_MAX_BYTES];
	int rc = -1;

	if (nbytes < TOK_MIN_BYTES || nbytes > TOK_MAX_BYTES ||
	    outsz < TOK_STR_SIZE)
		goto out;
	if (tok_random(raw, nbytes) == -1)
		goto out;
	if (b64url_encode(raw, nbytes, out, outsz) == (size_t)-1)
		goto out;
	rc = 0;
out:
	tok_cleanse(raw, sizeof(raw));
	return rc;
}

/* The layout of a refresh token before encoding. */
#define REFRESH_SID 8
#define REFRESH_GEN 4
#define REFRESH_RAW (REFRESH_SID + REFRESH_GEN + TOK_MAX_BYTES)

/* The label of tok_refresh_next()'s HMAC input, NUL included: no JWT
 * signing input (base64url) starts like it. */
static const char next_label[] = "latch refresh token successor v1";

/*
 * The refresh token of (sid, gen) with the secret bytes from the CSPRNG
 * (key NULL) or from the HMAC of next_label and parent under key.
 */
static int
refresh_make(int64_t sid, uint32_t gen, const unsigned char *key, size_t keylen,
    const char *parent, size_t n, char *out, size_t outsz)
{
	unsigned char raw[REFRESH_RAW],
	    *secret = raw + REFRESH_SID + REFRESH_GEN;
	char in[sizeof(next_label) + TOK_STR_SIZE];
	uint64_t v = (uint64_t)sid;
	unsigned int maclen = 0;
	int i, rc = -1;

	if (sid < 1 || gen < 1 || outsz < TOK_STR_SIZE)
		return -1;
	for (i = REFRESH_SID - 1; i >= 0; i--, v >>= 8)
		raw[i] = (unsigned char)(v & 0xff);
	for (i = REFRESH_GEN - 1; i >= 0; i--, gen >>= 8)
		raw[REFRESH_SID + i] = (unsigned char)(gen & 0xff);
	if (key == NULL) {
		if (tok_random(secret, TOK_MAX_BYTES) == -1)
			goto out;
	} else {
		if (keylen == 0 || keylen > INT_MAX || n >= TOK_STR_SIZE)
			goto out;
		memcpy(in, next_label, sizeof(next_label));
		memcpy(in + sizeof(next_label), parent, n);
		if (HMAC(EVP_sha256(), key, (int)keylen,
			(const unsigned char *)in, sizeof(next_label) + n,
			secret, &maclen) == NULL ||
		    maclen != TOK_MAX_BYTES)
			goto out;
	}
	if (b64url_encode(raw, sizeof(raw), out, outsz) == TOK_REFRESH_LEN)
		rc = 0;
out:
	tok_cleanse(raw, sizeof(raw));
	tok_cleanse(in, sizeof(in));
	return rc;
}

int
tok_refresh_new(int64_t sid, uint32_t gen, char *out, size_t outsz)
{
	return refresh_make(sid, gen, NULL, 0, NULL, 0, out, outsz);
}

int
tok_refresh_next(const unsigned char *key, size_t keylen, const char *parent,
    size_t n, int64_t sid, uint32_t gen, char *out, size_t outsz)
{
	if (key == NULL)
		return -1;
	return refresh_make(sid, gen, key, keylen, parent, n, out, outsz);
}

int
tok_refresh_parse(const char *s, size_t n, int64_t *sid, uint32_t *gen)
{
	unsigned char raw[REFRESH_RAW];
	uint64_t v = 0;
	uint32_t g = 0;
	int i;

	if (n != TOK_REFRESH_LEN ||
	    b64url_decode(s, n, raw, sizeof(raw)) != sizeof(raw))
		return -1;
	for (i = 0; i < REFRESH_SID; i++)
		v = v << 8 | raw[i];
	for (i = 0; i < REFRESH_GEN; i++)
		g = g << 8 | raw[REFRESH_SID + i];
	tok_cleanse(raw, sizeof(raw));
	if (v < 1 || v > INT64_MAX || g < 1)
		return -1;
	*sid = (int64_t)v;
	*gen = g;
	return 0;
}

/* The label of tok_session_csrf()'s HMAC input, NUL included. */
static const char csrf_label[] = "latch session csrf v1";

int
tok_session_csrf(const unsigned char *key, size_t keylen, int64_t sid,
    char *out, size_t outsz)
{
	unsigned char in[sizeof(csrf_label) + 8], mac[EVP_MAX_MD_SIZE];
	uint64_t v = (uint64_t)sid;
	unsigned int maclen = 0;
	int i, rc = -1;

	if (key == NULL || keylen == 0 || keylen > INT_MAX || sid < 1 ||
	    outsz < TOK_STR_SIZE)
		return -1;
	memcpy(in, csrf_label, sizeof(csrf_label));
	for (i = 7; i >= 0; i--, v >>= 8)
		in[sizeof(csrf_label) + (size_t)i] = (unsigned char)(v & 0xff);
	if (HMAC(EVP_sha256(), key, (int)keylen, in, sizeof(in), mac,
		&maclen) != NULL &&
	    maclen >= TOK_MIN_BYTES &&
	    b64url_encode(mac, TOK_MIN_BYTES, out, outsz) != (size_t)-1)
		rc = 0;
	tok_cleanse(mac, sizeof(mac));
	return rc;
}

/* The layout of an API key after its prefix, before encoding. */
#define APIKEY_ID 8
#define APIKEY_RAW (APIKEY_ID + TOK_MAX_BYTES)
#define APIKEY_PREFIX_LEN (sizeof(TOK_APIKEY_PREFIX) - 1)

int
tok_apikey_new(int64_t id, char *out, size_t outsz)
{
	unsigned char raw[APIKEY_RAW];
	uint64_t v = (uint64_t)id;
	int i, rc = -1;

	if (id < 1 || outsz < TOK_STR_SIZE)
		return -1;
	for (i = APIKEY_ID - 1; i >= 0; i--, v >>= 8)
		raw[i] = (unsigned char)(v & 0xff);
	if (tok_random(raw + APIKEY_ID, TOK_MAX_BYTES) == -1)
		goto out;
	memcpy(out, TOK_APIKEY_PREFIX, APIKEY_PREFIX_LEN);
	if (b64url_encode(raw, sizeof(raw), out + APIKEY_PREFIX_LEN,
		outsz - APIKEY_PREFIX_LEN) ==
	    TOK_APIKEY_LEN - APIKEY_PREFIX_LEN)
		rc = 0;
out:
	tok_cleanse(raw, sizeof(raw));
	return rc;
}

int
tok_apikey_is(const char *s)
{
	return strncmp(s, TOK_APIKEY_PREFIX, APIKEY_PREFIX_LEN) == 0;
}

int
tok_apikey_parse(const char *s, size_t n, int64_t *id)
{
	unsigned char raw[APIKEY_RAW];
	uint64_t v = 0;
	int i;

	if (n != TOK_APIKEY_LEN || !tok_apikey_is(s) ||
	    b64url_decode(s + APIKEY_PREFIX_LEN, n - APIKEY_PREFIX_LEN, raw,
		sizeof(raw)) != sizeof(raw))
		return -1;
	for (i = 0; i < APIKEY_ID; i++)
		v = v << 8 | raw[i];
	tok_cleanse(raw, sizeof(raw));
	if (v < 1 || v > INT64_MAX)
		return -1;
	*id = (int64_t)v;
	return 0;
}

int
tok_hash(const char *s, size_t n, unsigned char hash[TOK_HASH_LEN])
{
	unsigned int len = 0;

	if (EVP_Digest(s, n, hash, &len, EVP_sha256(), NULL) != 1 ||
	    len != TOK_HASH_LEN)
		return -1;
	return 0;
}

int
tok_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * Request ids only correlate log lines: unique, not secret.  A process
 * draws a random start once and counts up from it, so that a request
 * costs no call into the CSPRNG (which checks its pid with a system call
 * each time).  A child of fork() draws its own start.
 */
static uint64_t rid_next;
static int rid_seeded;

static void
rid_forked(void)
{
	rid_seeded = 0;
}

void
tok_request_id(char out[17])
{
	static const char hex[] = "0123456789abcdef";
	static int atfork;
	unsigned char raw[8];
	struct timespec ts;
	uint64_t v;
	int i;

	if (!atfork) {
		(void)pthread_atfork(NULL, NULL, rid_forked);
		atfork = 1;
	}
	if (!rid_seeded) {
		if (tok_random(raw, sizeof(raw)) == 0) {
			for (v = 0, i = 0; i < 8; i++)
				v = v << 8 | raw[i];
		} else {
			/* Unique enough without the CSPRNG. */
			clock_gettime(CLOCK_REALTIME, &ts);
			v = (uint64_t)ts.tv_sec << 32 ^ (uint64_t)ts.tv_nsec ^
			    (uint64_t)getpid() << 40;
		}
		rid_next = v;
		rid_seeded = 1;
	}
	v = rid_next++;
	for (i = 0; i < 16; i++)
		out[i] = hex[(v >> (60 - 4 * i)) & 0xf];
	out[16] = '\0';
}

void
tok_cleanse(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
