/*
 * pw.h: password hashing with libscrypt's MCF ("$s1$NNrrpp$salt$hash").
 */
#ifndef LATCH_PW_H
#define LATCH_PW_H

#include <stddef.h>

#define PW_MCF_SIZE 128

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
 * 1 if password matches mcf, 0 if not or if mcf is malformed.  mcf is
 * not modified.  The work done is that of the parameters in mcf.
 */
int pw_verify(const char *password, const char *mcf);

/*
 * Spend the same work as pw_verify() against a hash made with (n, r, p),
 * for an account that does not exist.  Always returns 0.
 */
int pw_verify_dummy(const char *password, unsigned n, unsigned r, unsigned p);

/*
 * 1 if mcf was made with other parameters than (n, r, p) or is malformed,
 * else 0.
 */
int pw_needs_rehash(const char *mcf, unsigned n, unsigned r, unsigned p);

#endif
