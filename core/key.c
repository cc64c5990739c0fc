/*
 * key.c: Ed25519 keys for EdDSA tokens (key.h).
 *
 * Each key is held as an OpenSSL EVP_PKEY, parsed once when it is
 * loaded, with its raw public key and its kid computed then: signing and
 * verifying a token parse nothing.  The kid is the RFC 7638 thumbprint,
 * base64url(SHA-256({"crv":"Ed25519","kty":"OKP","x":"<x>"})), which any
 * JOSE library can compute from the published key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "b64.h"
#include "file.h"
#include "key.h"
#include "tok.h"

#define KEY_RAW_LEN 32   /* an Ed25519 public key */
#define KEY_PEM_MAX 4096 /* a key file, bytes */

struct key {
	EVP_PKEY *pkey;
	int private;
	char x[KEY_X_LEN + 1]; /* base64url of the public key */
	char kid[KEY_KID_LEN + 1];
};

/* "path: why" into err (errlen bytes). */
static void
key_err(char *err, size_t errlen, const char *path, const char *why)
{
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s: %s", path, why);
}

/* A passphrase callback that has none: an encrypted key is refused
 * rather than prompted for. */
static int
key_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Fill k->x and k->kid from k->pkey.  0, or -1. */
static int
key_describe(struct key *k)
{
	unsigned char raw[KEY_RAW_LEN], md[SHA256_DIGEST_LENGTH];
	char thumb[80];
	size_t len = sizeof(raw);
	int n;

	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 ||
	    len != KEY_RAW_LEN ||
	    b64url_encode(raw, len, k->x, sizeof(k->x)) != KEY_X_LEN)
		return -1;
	n = snprintf(thumb, sizeof(thumb),
	    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", k->x);
	if (n < 0 || (size_t)n >= sizeof(thumb) ||
	    SHA256((const unsigned char *)thumb, (size_t)n, md) == NULL ||
	    b64url_encode(md, sizeof(md), k->kid, sizeof(k->kid)) !=
		KEY_KID_LEN)
		return -1;
	return 0;
}

/* Take pkey (freed on failure) into a new key.  NULL if not Ed25519. */
static struct key *
key_wrap(EVP_PKEY *pkey, int private)
{
	struct key *k;

	if (pkey == NULL)
		return NULL;
	if (!EVP_PKEY_is_a(pkey, "ED25519") ||
	    (k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	k->private = private;
	if (key_describe(k) == -1) {
		key_free(k);
		return NULL;
	}
	return k;
}

struct key *
key_from_pem(const char *pem, size_t len)
{
	EVP_PKEY *pkey;
	BIO *b;
	int private = 1;

	if (len > KEY_PEM_MAX || (b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	pkey = PEM_read_bio_PrivateKey(b, NULL, key_no_passphrase, NULL);
	if (pkey == NULL) {
		private = 0;
		(void)BIO_reset(b);
		pkey = PEM_read_bio_PUBKEY(b, NULL, key_no_passphrase, NULL);
	}
	BIO_free(b);
	/* What did not parse stays out of the queue others read (SMTP). */
	ERR_clear_error();
	return key_wrap(pkey, private);
}

struct key *
key_load(const char *path, int public_ok, char *err, size_t errlen)
{
	struct key *k = NULL;
	struct stat st;
	char buf[KEY_PEM_MAX + 1];
	size_t len = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		key_err(err, errlen, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		key_err(err, errlen, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > KEY_PEM_MAX) {
		key_err(err, errlen, path,
		    "not a key file (a "
		    "regular file of at most 4096 bytes)");
		goto out;
	}
	/* As the config: only its owner (root or us) may change it. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		key_err(err, errlen, path,
		    "owned by neither root "
		    "nor the user running this; chown it");
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		key_err(err, errlen, path,
		    "writable by its group "
		    "or others (chmod 600 it)");
		goto out;
	}
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			key_err(err, errlen, path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if ((k = key_from_pem(buf, len)) == NULL) {
		key_err(err, errlen, path,
		    "not an unencrypted "
		    "Ed25519 key in PEM (latchctl rotate-key makes them)");
		goto out;
	}
	if (k->private && (st.st_mode & S_IROTH)) {
		key_err(err, errlen, path,
		    "a private key readable "
		    "by others (chmod 600 it)");
		key_free(k);
		k = NULL;
		goto out;
	}
	if (!k->private && !public_ok) {
		key_err(err, errlen, path,
		    "holds no private key, "
		    "and this key signs");
		key_free(k);
		k = NULL;
	}
out:
	tok_cleanse(buf, sizeof(buf));
	(void)close(fd);
	return k;
}

struct key *
key_generate(const char *path, const struct stat *like, char *err,
    size_t errlen)
{
	struct file_how how = { 1, NULL, NULL, NULL };
	struct stat st;
	EVP_PKEY *pkey = NULL;
	struct key *k = NULL;
	char tmp[4096], rnd[TOK_STR_SIZE];
	BIO *b = NULL;
	char *pem = NULL;
	long len;
	int n;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		key_err(err, errlen, path, "cannot make a key");
		goto out;
	}
	if (tok_new(16, rnd, sizeof(rnd)) == -1 ||
	    (n = snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rnd)) < 0 ||
	    (size_t)n >= sizeof(tmp)) {
		key_err(err, errlen, path, "path too long");
		goto out;
	}
	if (like != NULL) {
		st = *like;
		st.st_mode &= 0770;
		st.st_mode &= ~(mode_t)S_IWGRP;
		how.like = &st;
	}
	if (file_write(tmp, path, pem, (size_t)len, &how) != ERR_OK) {
		key_err(err, errlen, path,
		    errno == EEXIST ? "exists (refusing to overwrite a key)" :
				      strerror(errno));
		goto out;
	}
	k = key_wrap(pkey, 1);
	pkey = NULL;
	if (k == NULL)
		key_err(err, errlen, path, "cannot read the key");
out:
	if (pem != NULL && len > 0)
		tok_cleanse(pem, (size_t)len);
	BIO_free(b);
	EVP_PKEY_free(pkey);
	return k;
}

void
key_free(struct key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	tok_cleanse(k, sizeof(*k));
	free(k);
}

int
key_private(const struct key *k)
{
	return k != NULL && k->private;
}

const char *
key_kid(const struct key *k)
{
	return k->kid;
}

int
key_jwk(const struct key *k, char out[KEY_JWK_MAX])
{
	int n;

	n = snprintf(out, KEY_JWK_MAX,
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
	    "\"x\":\"%s\",\"kid\":\"%s\",\"alg\":\"EdDSA\",\"use\":\"sig\"}",
	    k->x, k->kid);
	return n < 0 || n >= KEY_JWK_MAX ? -1 : 0;
}

int
key_sign(const struct key *k, const void *msg, size_t n,
    unsigned char sig[KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	size_t len = KEY_SIG_LEN;
	int rc = -1;

	if (k == NULL || !k->private || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &len, msg, n) == 1 && len == KEY_SIG_LEN)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
key_verify(const struct key *k, const void *msg, size_t n,
    const unsigned char sig[KEY_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	int ok = 0;

	if (k == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, KEY_SIG_LEN, msg, n) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}
