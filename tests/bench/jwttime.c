/*
 * jwttime.c: what signing and verifying one access token costs, HS256
 * against EdDSA (Ed25519), as latch does both (core/jwt.c, core/key.c).
 *
 *	bench-jwttime [COUNT]
 *
 * Signs COUNT (default 20000) tokens with each algorithm, then verifies
 * one COUNT times, and prints one JSON line with the mean microseconds
 * of each, in CPU time of this process (what the machine's other load
 * disturbs least).  The key is generated in memory for the run.  "make bench"
 * runs it and reports the four numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwt.h"
#include "key.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
fill(struct jwt_claims *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->iss, sizeof(c->iss), "latch");
	c->sub = 42;
	snprintf(c->username, sizeof(c->username), "alice");
	c->org = 7;
	snprintf(c->role, sizeof(c->role), "admin");
	c->sid = 99;
	c->iat = (int64_t)time(NULL);
	c->exp = c->iat + 900;
}

/* Mean microseconds of n signatures and of n verifications under k. */
static int
measure(const struct jwt_keys *k, long n, double *sign, double *verify)
{
	char tok[JWT_MAX_LEN + 1];
	struct jwt_claims c, v;
	double t0;
	long i;

	t0 = now_us();
	for (i = 0; i < n; i++) {
		fill(&c);
		if (jwt_sign_keys(&c, k, tok, sizeof(tok)) != ERR_OK)
			return -1;
	}
	*sign = (now_us() - t0) / (double)n;
	t0 = now_us();
	for (i = 0; i < n; i++)
		if (jwt_verify_keys(tok, k, "latch", time(NULL), 30, &v) !=
		    ERR_OK)
			return -1;
	*verify = (now_us() - t0) / (double)n;
	return 0;
}

int
main(int argc, char *argv[])
{
	static const unsigned char secret[] =
	    "bench-secret-0123456789abcdef0123456789abcdef";
	double hs_sign, hs_verify, ed_sign, ed_verify;
	EVP_PKEY *pkey = NULL;
	struct key *ed = NULL;
	char *pem = NULL;
	BIO *b = NULL;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, len;
	int rc = 1;

	if (n < 1 || n > 10000000)
		n = 20000;
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0 ||
	    (ed = key_from_pem(pem, (size_t)len)) == NULL) {
		fprintf(stderr, "bench-jwttime: no Ed25519 key\n");
		goto out;
	}
	struct jwt_keys hs = { .current = secret,
		.currentlen = sizeof(secret) - 1 };
	struct jwt_keys eddsa = { .current = secret,
		.currentlen = sizeof(secret) - 1,
		.sign = ed,
		.ed = { ed, NULL },
		.no_hs256 = 1 };
	if (measure(&hs, n, &hs_sign, &hs_verify) == -1 ||
	    measure(&eddsa, n, &ed_sign, &ed_verify) == -1) {
		fprintf(stderr, "bench-jwttime: a token failed\n");
		goto out;
	}
	printf(
	    "{\"count\":%ld,\"hs256_sign_us\":%.2f,\"hs256_verify_us\":%.2f,"
	    "\"eddsa_sign_us\":%.2f,\"eddsa_verify_us\":%.2f}\n",
	    n, hs_sign, hs_verify, ed_sign, ed_verify);
	rc = 0;
out:
	key_free(ed);
	BIO_free(b);
	EVP_PKEY_free(pkey);
	return rc;
}
