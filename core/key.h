/*
 * key.h: Ed25519 signing keys (RFC 8032) for EdDSA tokens (RFC 8037),
 * through OpenSSL 3: loaded from PEM files, generated, written, and
 * described as JWKs (RFC 7517) with their RFC 7638 thumbprint as kid.
 *
 * A private key file is refused when its group or others may write it,
 * others may read it, or it belongs to neither root nor the user running
 * us (as the config is).  A key file that holds only a public key is
 * accepted where verifying is all it is for (key_load()'s public_ok).
 */
#ifndef LATCH_KEY_H
#define LATCH_KEY_H

#include <stddef.h>
#include <sys/stat.h>

#define KEY_SIG_LEN 64  /* an Ed25519 signature */
#define KEY_KID_LEN 43  /* base64url of a SHA-256 thumbprint */
#define KEY_X_LEN 43    /* base64url of the 32-byte public key */
#define KEY_JWK_MAX 192 /* one JWK as JSON, NUL included */

struct key;

/*
 * Load the Ed25519 key in the PEM file at path: a private key (PKCS#8,
 * unencrypted), or with public_ok also a public key (SubjectPublicKeyInfo).
 * Returns the key (caller frees with key_free()), or NULL with one line
 * saying why (never any of the key) in err (errlen bytes).
 */
struct key *key_load(const char *path, int public_ok, char *err, size_t errlen);

/*
 * A new Ed25519 key from the OS CSPRNG, written as a PKCS#8 PEM file at
 * path, never over an existing file: mode 0600 and ours, or with like
 * (borrowed) its owner and its mode without any bit for others.  Returns
 * the key (caller frees), or NULL with the reason in err.
 */
struct key *key_generate(const char *path, const struct stat *like, char *err,
    size_t errlen);

/*
 * The key of the PEM text at pem (len bytes), private or public: for
 * tests and fuzzing.  Caller frees; NULL if it is not an Ed25519 key.
 */
struct key *key_from_pem(const char *pem, size_t len);

/* Free a key, cleansing it.  Accepts NULL. */
void key_free(struct key *k);

/* 1 if k holds the private half (it can sign). */
int key_private(const struct key *k);

/* The kid of k: borrowed until key_free(), KEY_KID_LEN characters. */
const char *key_kid(const struct key *k);

/*
 * The public JWK of k, {"kty":"OKP","crv":"Ed25519","x":...,"kid":...,
 * "alg":"EdDSA","use":"sig"}, into out (KEY_JWK_MAX bytes).  0, or -1.
 */
int key_jwk(const struct key *k, char out[KEY_JWK_MAX]);

/* Sign the n bytes at msg with k (private) into sig.  0, or -1. */
int key_sign(const struct key *k, const void *msg, size_t n,
    unsigned char sig[KEY_SIG_LEN]);

/* 1 if sig is k's signature of the n bytes at msg, else 0. */
int key_verify(const struct key *k, const void *msg, size_t n,
    const unsigned char sig[KEY_SIG_LEN]);

#endif
