/*
 * totp.h: time-based one-time passwords (RFC 6238 over RFC 4226's HOTP,
 * HMAC-SHA1, 6 digits, 30 s steps: what every phone app speaks), the
 * base32 of their secrets (RFC 4648), otpauth:// URIs, recovery codes,
 * and the sealing of a second factor's secrets at rest (AES-256-GCM).
 * No database: mfa.h stores what is made here.
 */
#ifndef LATCH_TOTP_H
#define LATCH_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN 20 /* 160 bits, RFC 4226's recommendation */
#define TOTP_B32_SIZE 33   /* 20 bytes in base32: 32 characters + NUL */
#define TOTP_DIGITS 6
#define TOTP_PERIOD 30 /* seconds a step lasts */
#define TOTP_SKEW 1    /* steps of clock skew accepted each way */

/*
 * RFC 4648 base32 (upper case, no padding) of n bytes into out (outsz
 * bytes, NUL included).  0, or -1 if it does not fit.
 */
int totp_b32_encode(const unsigned char *in, size_t n, char *out, size_t outsz);

/*
 * Decode base32 s (upper or lower case, no padding, spaces skipped) into
 * out (outsz bytes), its length into *n.  0, or -1 (a character outside
 * the alphabet, left-over bits that are not zero, or too long).
 */
int totp_b32_decode(const char *s, unsigned char *out, size_t outsz, size_t *n);

/*
 * HOTP (RFC 4226): the digits-digit code (6..8) of counter under key,
 * into *code.  0, or -1.
 */
int totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
    int digits, uint32_t *code);

/* The time step of now (UNIX seconds). */
int64_t totp_step(int64_t now);

/*
 * Check code (exactly TOTP_DIGITS ASCII digits) against the steps of now
 * within TOTP_SKEW, each compared in constant time and all of them
 * compared whatever matches, and only steps after last (the last step
 * accepted: a code is good once).  Returns the matching step, 0 if none
 * (a malformed code included), -1 on an internal error.
 */
int64_t totp_verify(const unsigned char *key, size_t keylen, int64_t now,
    int64_t last, const char *code);

/*
 * The otpauth://totp/ URI of secret (base32) for account at issuer,
 * both percent-encoded, into out.  0, or -1 if it does not fit.
 */
int totp_uri(const char *issuer, const char *account, const char *b32,
    char *out, size_t outsz);

/*
 * Recovery codes: TOTP_RECOVERY_LEN characters of Crockford's base32 in
 * lower case (50 random bits), shown as two groups of five joined by
 * '-'.  Typed back, case, spaces and '-' do not matter, and 'o', 'i' and
 * 'l' read as '0', '1' and '1'.
 */
#define TOTP_RECOVERY_COUNT 10
#define TOTP_RECOVERY_LEN 10
#define TOTP_RECOVERY_SIZE 12 /* "xxxxx-xxxxx" + NUL */
#define TOTP_HASH_LEN 32

/* A new recovery code from the CSPRNG, as shown.  0, or -1. */
int totp_recovery_new(char out[TOTP_RECOVERY_SIZE]);

/*
 * The recovery code s as typed, normalised into out
 * (TOTP_RECOVERY_LEN characters + NUL).  0, or -1 if it cannot be one.
 */
int totp_recovery_norm(const char *s, char out[TOTP_RECOVERY_LEN + 1]);

/*
 * The stored form of normalised code of user uid: HMAC-SHA256 under key
 * (a user's own recovery key, kept sealed with its TOTP secret), so that
 * the table alone tells nothing.  0, or -1.
 */
int totp_recovery_hash(const unsigned char *key, size_t keylen, int64_t uid,
    const char *norm, unsigned char h[TOTP_HASH_LEN]);

/*
 * Sealing.  The AES-256 key comes from [security] mfa_key through
 * HMAC-SHA256 under a fixed label; its id is 8 bytes of the SHA-256 of
 * the AES key.  A sealed value is: version (1 byte, 1), the key's id,
 * a 12-byte random nonce, the ciphertext, and the 16-byte GCM tag; the
 * user's id is authenticated with it, so that a sealed value moved to
 * another account does not open.
 */
#define TOTP_KEY_LEN 32
#define TOTP_KEYID_LEN 8
#define TOTP_SEAL_OVERHEAD (1 + TOTP_KEYID_LEN + 12 + 16)

struct totp_key {
	unsigned char key[TOTP_KEY_LEN];
	unsigned char id[TOTP_KEYID_LEN];
};

/* The AES key of secret (n bytes, the config's mfa_key) into *k.  0,
 * or -1. */
int totp_key_derive(const char *secret, size_t n, struct totp_key *k);

/*
 * Seal the n bytes at pt for user uid under k into out (outsz >= n +
 * TOTP_SEAL_OVERHEAD).  Returns the sealed length, or -1.
 */
int totp_seal(const struct totp_key *k, int64_t uid, const unsigned char *pt,
    size_t n, unsigned char *out, size_t outsz);

/* 1 if sealed (n bytes) was sealed under k (by its key id), else 0. */
int totp_sealed_by(const struct totp_key *k, const unsigned char *sealed,
    size_t n);

/*
 * Open sealed (n bytes) of user uid under k into pt (ptsz bytes).
 * Returns the plaintext's length, or -1 (wrong key, another user's,
 * tampered with, too short or too long).
 */
int totp_open(const struct totp_key *k, int64_t uid,
    const unsigned char *sealed, size_t n, unsigned char *pt, size_t ptsz);

#endif
