/*
 * tok.h: random opaque tokens and their stored hashes.
 * Randomness comes from the OS CSPRNG (OpenSSL RAND_bytes seeded by it).
 */
#ifndef LATCH_TOK_H
#define LATCH_TOK_H

#include <stddef.h>
#include <stdint.h>

#define TOK_HASH_LEN 32 /* SHA-256 */
/* 32 random bytes -> 43 base64url characters + NUL */
#define TOK_STR_SIZE 64

/* Fill buf with n bytes from the CSPRNG.  Returns 0, or -1 on failure. */
int tok_random(unsigned char *buf, size_t n);

/*
 * Make a token of nbytes random bytes (16..32), base64url-encoded into out
 * (outsz >= TOK_STR_SIZE).  Returns 0, or -1 on failure.
 */
int tok_new(size_t nbytes, char *out, size_t outsz);

/*
 * A refresh token names its row: the base64url of its session id (8
 * bytes, big-endian), its generation (4 bytes, big-endian) and 32 bytes
 * from the CSPRNG, TOK_REFRESH_LEN characters.  Only the random part is
 * secret; the stored SHA-256 of the whole token is what proves it.
 */
#define TOK_REFRESH_LEN 59

/* Make the refresh token of (sid, gen) into out (outsz >= TOK_STR_SIZE).
 * Returns 0, or -1 on failure. */
int tok_refresh_new(int64_t sid, uint32_t gen, char *out, size_t outsz);

/*
 * The successor of refresh token parent (n characters): the token of
 * (sid, gen) whose 32 secret bytes are the HMAC-SHA256, under key
 * (keylen bytes), of a fixed label and parent.  The same parent and key
 * always give the same successor, and without the key nobody can tell it
 * from random.  Into out (outsz >= TOK_STR_SIZE).  Returns 0, or -1.
 */
int tok_refresh_next(const unsigned char *key, size_t keylen,
    const char *parent, size_t n, int64_t sid, uint32_t gen, char *out,
    size_t outsz);

/*
 * The session id and generation a refresh token of n characters names:
 * 0, or -1 if s is not one (length, alphabet, sid < 1 or gen < 1).
 */
int tok_refresh_parse(const char *s, size_t n, int64_t *sid, uint32_t *gen);

/*
 * The CSRF value of session sid: 128 bits of the HMAC-SHA256, under key
 * (keylen bytes), of a fixed label and sid, as 22 base64url characters
 * into out (outsz >= TOK_STR_SIZE).  It stays the same for the whole
 * session, so tabs that refresh at once never see it change under them;
 * without the key nobody can tell it from random.  Returns 0, or -1.
 */
int tok_session_csrf(const unsigned char *key, size_t keylen, int64_t sid,
    char *out, size_t outsz);

/*
 * An API key names its row too: TOK_APIKEY_PREFIX (so that secret
 * scanners can find a leaked one) and the base64url of its id (8 bytes,
 * big-endian) and 32 bytes from the CSPRNG, TOK_APIKEY_LEN characters.
 * Only the SHA-256 of the whole key is stored.
 */
#define TOK_APIKEY_PREFIX "latch_"
#define TOK_APIKEY_LEN 60

/* Make the key of row id into out (outsz >= TOK_STR_SIZE).  Returns 0,
 * or -1 on failure. */
int tok_apikey_new(int64_t id, char *out, size_t outsz);

/* Whether s looks like an API key (its prefix): 1 or 0. */
int tok_apikey_is(const char *s);

/*
 * The row id an API key of n characters names: 0, or -1 if s is not one
 * (prefix, length, alphabet, id < 1).
 */
int tok_apikey_parse(const char *s, size_t n, int64_t *id);

/* SHA-256 of the n bytes at s into hash.  Returns 0, or -1. */
int tok_hash(const char *s, size_t n, unsigned char hash[TOK_HASH_LEN]);

/* Constant-time equality of n bytes: 1 if equal, 0 if not. */
int tok_equal(const void *a, const void *b, size_t n);

/*
 * A new request id (16 hex characters) into out (size >= 17): unique in
 * the process and, after fork(), apart from the parent's.
 */
void tok_request_id(char out[17]);

/*
 * Wipe n bytes at p with OPENSSL_cleanse(), which the compiler cannot
 * drop as a dead store: the one way latch clears a secret (passwords,
 * hashes, tokens, keys, the config's secrets) before it goes out of
 * scope or is freed.
 */
void tok_cleanse(void *p, size_t n);

#endif
