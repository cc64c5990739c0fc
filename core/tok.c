/*
 * tok.c: random opaque tokens, their SHA-256 hashes, request ids.
 */
#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
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

void
tok_request_id(char out[17])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[8];
	struct timespec ts;
	uint64_t v;
	int i;

	if (tok_random(raw, sizeof(raw)) == -1) {
		/*
		 * A request id only correlates log lines; if the CSPRNG
		 * fails, something unique enough will do.
		 */
		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_sec << 32 ^ (uint64_t)ts.tv_nsec ^
		    (uint64_t)getpid() << 40;
		for (i = 0; i < 8; i++)
			raw[i] = (unsigned char)(v >> (56 - 8 * i));
	}
	for (i = 0; i < 8; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[16] = '\0';
}

void
tok_cleanse(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}
