/*
 * pw.h: password hashing with libscrypt's MCF ("$s1$NNrrpp$salt$hash"),
 * and verification of the hashes of the systems latch replaces (bcrypt,
 * Argon2, SHA-crypt: latchctl import), each by a well-kept library:
 * libxcrypt's crypt_rn() and Debian's libargon2.  Only scrypt hashes
 * are ever made; an imported hash is replaced by one at the owner's
 * first sign-in.
 */
#ifndef LATCH_PW_H
#define LATCH_PW_H

#include <stddef.h>

#define PW_MCF_SIZE 128
/* The longest stored hash of any kind (users.password_hash), bytes. */
#define PW_HASH_MAX 255

/* The kinds of stored hash pw_verify() checks. */
enum pw_kind {
	PW_SCRYPT,      /* latch's own: $s1$ */
	PW_BCRYPT,      /* $2a$, $2b$, $2y$ */
	PW_ARGON2ID,    /* $argon2id$v=19$m=..,t=..,p=..$salt$hash */
	PW_ARGON2I,     /* $argon2i$v=19$... */
	PW_SHA512CRYPT, /* $6$[rounds=N$]salt$hash */
	PW_SHA256CRYPT, /* $5$[rounds=N$]salt$hash */
	PW__MAX
};

/*
 * The bounds an imported hash's costs must keep, so that no stored hash
 * can make one sign-in stall a worker or eat its memory.
 */
#define PW_BCRYPT_COST_MIN 4
#define PW_BCRYPT_COST_MAX 15
#define PW_ARGON2_M_MAX 131072 /* KiB: 128 MiB */
#define PW_ARGON2_T_MAX 10
#define PW_ARGON2_P_MAX 16
#define PW_ARGON2_WORK_MAX 524288 /* m * t, KiB passes */
#define PW_SHACRYPT_ROUNDS_MAX 1000000

/* "scrypt", "bcrypt", "argon2id", "argon2i", "sha512-crypt",
 * "sha256-crypt" ("unknown" outside the enum). */
const char *pw_kind_name(enum pw_kind k);

/*
 * The kind of stored hash s, into *k: 0 if s is one of the kinds above
 * in its standard string form with its costs within the bounds above
 * (and pw_hash()'s for scrypt); else -1 with *why (static) saying what
 * is wrong, in a few words that never quote s.
 */
int pw_kind_of(const char *s, enum pw_kind *k, const char **why);

/*
 * Hash password with scrypt(N, r, p) and a fresh 16-byte salt into mcf
 * (PW_MCF_SIZE bytes).  Returns 0, or -1 on failure, which includes costs
 * out of bounds: n must be a power of two from 2 to 2^24, r and p 1..255,
 * and the scratch memory 128 * r * n at most 1 GiB (pw_verify() refuses
 * stored hashes beyond those bounds, as damaged).
 */
int pw_hash(const char *password, unsigned n, unsigned r, unsigned p,
    char mcf[PW_MCF_SIZE]);

/*
 * 1 if password matches mcf, a stored hash of any kind pw_kind_of()
 * accepts, 0 if not or if mcf is malformed or out of bounds.  mcf is
 * not modified.  The work done is that of the parameters in mcf.
 */
int pw_verify(const char *password, const char *mcf);

/*
 * Spend the same work as pw_verify() against a hash made with (n, r, p),
 * for an account that does not exist.  Always returns 0.
 */
int pw_verify_dummy(const char *password, unsigned n, unsigned r, unsigned p);

/*
 * 1 if mcf is not an scrypt hash made with (n, r, p) (other parameters,
 * another kind, malformed), else 0.
 */
int pw_needs_rehash(const char *mcf, unsigned n, unsigned r, unsigned p);

#endif
