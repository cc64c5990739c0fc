/*
 * pw.c: scrypt password hashes in libscrypt's MCF,
 * "$s1$NNrrpp$salt$hash": NN = log2(N), rr = r, pp = p (hex, one byte
 * each), salt and hash in standard base64 (16 and 64 bytes).
 *
 * Stored hashes are parsed here before libscrypt sees them, so a damaged
 * row is a mismatch, never a crash or a multi-gigabyte allocation.
 */
#include <stdint.h>
#include <string.h>

#include <libscrypt.h>

#include "pw.h"
#include "tok.h"

#define PW_HASH_LEN 64        /* scrypt output, as libscrypt_hash makes */
#define PW_HASH_B64LEN 88     /* its padded base64 */
#define PW_SALT_LEN 16
#define PW_SALT_B64MAX 44     /* libscrypt decodes at most 32 bytes */
#define PW_LOGN_MAX 24
#define PW_MEM_MAX (1ULL << 30) /* 128 * r * N bytes of scratch */

struct pw_params {
	unsigned logn;
	unsigned r;
	unsigned p;
};

/* 1 if scrypt(2^logn, r, p) is within the costs we agree to spend. */
static int
pw_params_ok(unsigned logn, unsigned r, unsigned p)
{
	if (logn < 1 || logn > PW_LOGN_MAX || r < 1 || r > 255 || p < 1 ||
	    p > 255)
		return 0;
	return 128ULL * r * (1ULL << logn) <= PW_MEM_MAX;
}

/* log2(n) if n is a power of two >= 2, else 0. */
static unsigned
pw_log2(unsigned n)
{
	unsigned l = 0;

	if (n < 2 || (n & (n - 1)) != 0)
		return 0;
	while ((1U << l) < n)
		l++;
	return l;
}

static int
pw_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Number of standard base64 characters (padding included) at s. */
static size_t
pw_b64span(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/=");
}

/*
 * Parse mcf as libscrypt writes it into *pp.  Returns 0, or -1 if it is
 * malformed or its costs are out of bounds.
 */
static int
pw_parse(const char *mcf, struct pw_params *pp)
{
	unsigned v[3];
	size_t n;
	int i, hi, lo;

	if (mcf == NULL || strnlen(mcf, PW_MCF_SIZE) >= PW_MCF_SIZE ||
	    strncmp(mcf, "$s1$", 4) != 0)
		return -1;
	mcf += 4;
	for (i = 0; i < 3; i++) {
		if ((hi = pw_hexval(mcf[2 * i])) < 0 ||
		    (lo = pw_hexval(mcf[2 * i + 1])) < 0)
			return -1;
		v[i] = (unsigned)(hi << 4 | lo);
	}
	mcf += 6;
	if (*mcf++ != '$')
		return -1;
	n = pw_b64span(mcf);
	if (n < 4 || n > PW_SALT_B64MAX || n % 4 != 0 || mcf[n] != '$')
		return -1;
	mcf += n + 1;
	if (pw_b64span(mcf) != PW_HASH_B64LEN || mcf[PW_HASH_B64LEN] != '\0')
		return -1;
	if (!pw_params_ok(v[0], v[1], v[2]))
		return -1;
	pp->logn = v[0];
	pp->r = v[1];
	pp->p = v[2];
	return 0;
}

int
pw_hash(const char *password, unsigned n, unsigned r, unsigned p,
    char mcf[PW_MCF_SIZE])
{
	struct pw_params pp;

	mcf[0] = '\0';
	if (password == NULL || !pw_params_ok(pw_log2(n), r, p))
		return -1;
	if (libscrypt_hash(mcf, password, n, (uint8_t)r, (uint8_t)p) <= 0) {
		tok_cleanse(mcf, PW_MCF_SIZE);
		mcf[0] = '\0';
		return -1;
	}
	/* What we store must be what pw_verify() accepts. */
	if (pw_parse(mcf, &pp) == -1) {
		mcf[0] = '\0';
		return -1;
	}
	return 0;
}

int
pw_verify(const char *password, const char *mcf)
{
	char copy[PW_MCF_SIZE];
	struct pw_params pp;
	int rc = 0;

	if (password == NULL || pw_parse(mcf, &pp) == -1)
		goto out;
	/* libscrypt_check() cuts its argument up with strtok. */
	memset(copy, 0, sizeof(copy));
	memcpy(copy, mcf, strlen(mcf) + 1);
	rc = libscrypt_check(copy, password) > 0;
out:
	tok_cleanse(copy, sizeof(copy));
	return rc;
}

int
pw_verify_dummy(const char *password, unsigned n, unsigned r, unsigned p)
{
	static const uint8_t salt[PW_SALT_LEN] = "latch-dummy-salt";
	uint8_t out[PW_HASH_LEN];

	if (password != NULL && pw_params_ok(pw_log2(n), r, p))
		(void)libscrypt_scrypt((const uint8_t *)password,
		    strlen(password), salt, sizeof(salt), n, r, p, out,
		    sizeof(out));
	tok_cleanse(out, sizeof(out));
	return 0;
}

int
pw_needs_rehash(const char *mcf, unsigned n, unsigned r, unsigned p)
{
	struct pw_params pp;

	if (pw_parse(mcf, &pp) == -1)
		return 1;
	return pp.logn != pw_log2(n) || pp.r != r || pp.p != p;
}
