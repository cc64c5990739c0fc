/*
 * pw.c: scrypt password hashes in libscrypt's MCF,
 * "$s1$NNrrpp$salt$hash": NN = log2(N), rr = r, pp = p (hex, one byte
 * each), salt and hash in standard base64 (16 and 64 bytes); and the
 * checks of imported hashes: bcrypt and SHA-crypt by libxcrypt's
 * crypt_rn(), Argon2 by libargon2's argon2_verify().
 *
 * Stored hashes are parsed here before a library sees them, so a damaged
 * row is a mismatch, never a crash, a multi-gigabyte allocation or a
 * sign-in that runs for minutes.  Parsing is all this file does of the
 * foreign kinds: each hash is computed by its library.
 */
#include <crypt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <libscrypt.h>

#include "pw.h"
#include "tok.h"

#define PW_HASH_LEN 64    /* scrypt output, as libscrypt_hash makes */
#define PW_HASH_B64LEN 88 /* its padded base64 */
#define PW_SALT_LEN 16
#define PW_SALT_B64MAX 44 /* libscrypt decodes at most 32 bytes */
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
	return strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
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

static const char *const kind_names[PW__MAX] = {
	[PW_SCRYPT] = "scrypt",
	[PW_BCRYPT] = "bcrypt",
	[PW_ARGON2ID] = "argon2id",
	[PW_ARGON2I] = "argon2i",
	[PW_SHA512CRYPT] = "sha512-crypt",
	[PW_SHA256CRYPT] = "sha256-crypt",
};
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == PW__MAX,
    "a name for each kind");

const char *
pw_kind_name(enum pw_kind k)
{
	return (k >= 0 && k < PW__MAX) ? kind_names[k] : "unknown";
}

/* crypt(3)'s base64 alphabet, that of bcrypt and SHA-crypt. */
static size_t
pw_cspan(const char *s)
{
	return strspn(s,
	    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz");
}

/*
 * A decimal number of 1 to 9 digits without a leading zero at *s, into
 * *v; *s moves past it.  0, or -1.
 */
static int
pw_number(const char **s, unsigned long *v)
{
	size_t n = strspn(*s, "0123456789");

	if (n < 1 || n > 9 || (n > 1 && **s == '0'))
		return -1;
	*v = strtoul(*s, NULL, 10);
	*s += n;
	return 0;
}

/* "key=" and a number at *s, into *v; *s moves past it.  0, or -1. */
static int
pw_param(const char **s, const char *key, unsigned long *v)
{
	size_t k = strlen(key);

	if (strncmp(*s, key, k) != 0)
		return -1;
	*s += k;
	return pw_number(s, v);
}

/* $2b$NN$ + 22 characters of salt + 31 of hash. */
static int
pw_bcrypt(const char *s, const char **why)
{
	unsigned cost;

	if (strlen(s) != 60 || s[3] != '$' || s[6] != '$' || s[4] < '0' ||
	    s[4] > '9' || s[5] < '0' || s[5] > '9' || pw_cspan(s + 7) != 53) {
		*why = "malformed bcrypt hash";
		return -1;
	}
	cost = (unsigned)(s[4] - '0') * 10 + (unsigned)(s[5] - '0');
	if (cost < PW_BCRYPT_COST_MIN || cost > PW_BCRYPT_COST_MAX) {
		*why = "bcrypt cost outside 4..15";
		return -1;
	}
	if (crypt_checksalt(s) != CRYPT_SALT_OK) {
		*why = "bcrypt hash libxcrypt does not accept";
		return -1;
	}
	return 0;
}

/* Unpadded standard base64 of min to max bytes: its length in characters
 * is in range and never 1 more than a multiple of 4. */
static int
pw_b64_bytes(size_t n, size_t min, size_t max)
{
	return n % 4 != 1 && n * 3 / 4 >= min && n * 3 / 4 <= max;
}

/* v=19$m=M,t=T,p=P$salt$hash, after "$argon2id$" or "$argon2i$". */
static int
pw_argon2(const char *s, const char **why)
{
	unsigned long v, m, t, p;
	size_t n;

	if (pw_param(&s, "v=", &v) == -1 || *s++ != '$' ||
	    pw_param(&s, "m=", &m) == -1 || *s++ != ',' ||
	    pw_param(&s, "t=", &t) == -1 || *s++ != ',' ||
	    pw_param(&s, "p=", &p) == -1 || *s++ != '$')
		goto bad;
	n = pw_b64span(s);
	if (!pw_b64_bytes(n, ARGON2_MIN_SALT_LENGTH, 64) || s[n] != '$' ||
	    memchr(s, '=', n) != NULL)
		goto bad;
	s += n + 1;
	n = pw_b64span(s);
	if (!pw_b64_bytes(n, ARGON2_MIN_OUTLEN, 64) || s[n] != '\0' ||
	    memchr(s, '=', n) != NULL)
		goto bad;
	if (v != ARGON2_VERSION_13) {
		*why = "argon2 version other than 19";
		return -1;
	}
	if (p < 1 || p > PW_ARGON2_P_MAX || t < 1 || t > PW_ARGON2_T_MAX ||
	    m < 8 * p || m > PW_ARGON2_M_MAX || m * t > PW_ARGON2_WORK_MAX) {
		*why = "argon2 costs outside latch's bounds";
		return -1;
	}
	return 0;
bad:
	*why = "malformed argon2 hash";
	return -1;
}

/* [rounds=N$]salt$hash after "$5$" or "$6$"; hash of hlen characters. */
static int
pw_shacrypt(const char *s, size_t hlen, const char **why)
{
	unsigned long rounds = 5000;
	size_t n;

	if (strncmp(s, "rounds=", 7) == 0 &&
	    (pw_param(&s, "rounds=", &rounds) == -1 || *s++ != '$'))
		goto bad;
	n = pw_cspan(s);
	if (n < 1 || n > 16 || s[n] != '$')
		goto bad;
	s += n + 1;
	if (pw_cspan(s) != hlen || s[hlen] != '\0')
		goto bad;
	if (rounds < 1000 || rounds > PW_SHACRYPT_ROUNDS_MAX) {
		*why = "sha-crypt rounds outside 1000..1000000";
		return -1;
	}
	return 0;
bad:
	*why = "malformed sha-crypt hash";
	return -1;
}

int
pw_kind_of(const char *s, enum pw_kind *k, const char **why)
{
	struct pw_params pp;
	int cs, rc = -1;

	*why = "unknown hash kind";
	if (s == NULL)
		return -1;
	if (strnlen(s, PW_HASH_MAX + 1) > PW_HASH_MAX) {
		*why = "hash longer than 255 bytes";
		return -1;
	}
	if (strncmp(s, "$s1$", 4) == 0) {
		*k = PW_SCRYPT;
		if ((rc = pw_parse(s, &pp)) == -1)
			*why = "malformed or out-of-bounds scrypt hash";
	} else if (strncmp(s, "$2a$", 4) == 0 || strncmp(s, "$2b$", 4) == 0 ||
	    strncmp(s, "$2y$", 4) == 0) {
		*k = PW_BCRYPT;
		rc = pw_bcrypt(s, why);
	} else if (strncmp(s, "$argon2id$", 10) == 0) {
		*k = PW_ARGON2ID;
		rc = pw_argon2(s + 10, why);
	} else if (strncmp(s, "$argon2i$", 9) == 0) {
		*k = PW_ARGON2I;
		rc = pw_argon2(s + 9, why);
	} else if (strncmp(s, "$6$", 3) == 0 || strncmp(s, "$5$", 3) == 0) {
		*k = s[1] == '6' ? PW_SHA512CRYPT : PW_SHA256CRYPT;
		rc = pw_shacrypt(s + 3, s[1] == '6' ? 86 : 43, why);
		/* What libxcrypt will compute from, it must accept. */
		if (rc == 0 && (cs = crypt_checksalt(s)) != CRYPT_SALT_OK &&
		    cs != CRYPT_SALT_METHOD_LEGACY) {
			*why = "sha-crypt hash libxcrypt does not accept";
			rc = -1;
		}
	}
	return rc;
}

/* password against a crypt(3) hash (bcrypt, SHA-crypt): libxcrypt. */
static int
pw_verify_crypt(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	size_t n = strlen(hash);
	int rc = 0;

	/* 32 KiB: from the heap, not a worker's stack. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
	if (out != NULL && out[0] != '*' && strlen(out) == n)
		rc = tok_equal(out, hash, n);
	tok_cleanse(cd, sizeof(*cd));
	free(cd);
	return rc;
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
	const char *why;
	enum pw_kind k;
	int rc = 0;

	memset(copy, 0, sizeof(copy));
	if (password == NULL || pw_kind_of(mcf, &k, &why) == -1)
		goto out;
	switch (k) {
	case PW_SCRYPT:
		break;
	case PW_BCRYPT:
	case PW_SHA512CRYPT:
	case PW_SHA256CRYPT:
		rc = pw_verify_crypt(password, mcf);
		goto out;
	case PW_ARGON2ID:
	case PW_ARGON2I:
		rc = argon2_verify(mcf, password, strlen(password),
			 k == PW_ARGON2ID ? Argon2_id : Argon2_i) == ARGON2_OK;
		goto out;
	default:
		goto out;
	}
	/* libscrypt_check() cuts its argument up with strtok. */
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
