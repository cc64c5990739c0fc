/*
 * b64.h: base64url without padding (RFC 4648 section 5), as JWS uses it.
 * Hand-written because OpenSSL's EVP base64 knows only the standard
 * alphabet and accepts whitespace; JWS needs the strict url form.  The
 * standard alphabet with padding (section 4) is here too, for mail
 * (RFC 2047 encoded words, SMTP AUTH), whose modules do not use OpenSSL.
 */
#ifndef LATCH_B64_H
#define LATCH_B64_H

#include <stddef.h>

/* Length of the encoding of n bytes, without the NUL. */
size_t b64url_enclen(size_t n);

/*
 * Encode n bytes of in into out (outsz bytes, room for the NUL included).
 * Returns the length written, or (size_t)-1 if out is too small.
 */
size_t b64url_encode(const unsigned char *in, size_t n, char *out,
    size_t outsz);

/*
 * Decode the n characters at in into out (outsz bytes).  Strict: only the
 * url alphabet, no padding, no whitespace, and unused trailing bits must be
 * zero.  Returns the number of bytes written, or (size_t)-1 on bad input or
 * if out is too small.
 */
size_t b64url_decode(const char *in, size_t n, unsigned char *out,
    size_t outsz);

/* Length of the padded standard encoding of n bytes, without the NUL. */
size_t b64_enclen(size_t n);

/*
 * Encode n bytes of in with the standard alphabet and '=' padding (RFC
 * 4648 section 4) into out (outsz bytes, room for the NUL included).
 * Returns the length written, or (size_t)-1 if out is too small.
 */
size_t b64_encode(const unsigned char *in, size_t n, char *out, size_t outsz);

#endif
