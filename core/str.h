/*
 * str.h: bounded string copies into fixed buffers, and a growing buffer
 * with a ceiling.
 */
#ifndef LATCH_STR_H
#define LATCH_STR_H

#include <stddef.h>

#include "err.h"

/*
 * Copy src (NULL counts as "") into dst of dstsz > 0 bytes, cut to fit,
 * always NUL-terminated.  Cutting never splits a UTF-8 sequence.
 */
void str_copy(char *dst, size_t dstsz, const char *src);

/*
 * A growing buffer of at most max bytes, NUL-terminated once anything was
 * added: start it as { NULL, 0, 0, max, ERR_OK }.  The first failure sets
 * err (ERR_NOMEM, or ERR_INVALID_FIELD: it would pass max) and makes
 * every later add a no-op, so a caller checks err once at the end.  p is
 * the caller's to free(); it stays NULL until the first add.
 */
struct str_buf {
	char *p;
	size_t len;
	size_t cap;
	size_t max; /* refuse to grow past this */
	enum err err;
};

/* Append the n bytes at s (borrowed). */
void str_buf_add(struct str_buf *b, const char *s, size_t n);

/* Append the string s (borrowed). */
void str_buf_adds(struct str_buf *b, const char *s);

/*
 * Append s percent-encoded (RFC 3986: every byte but the unreserved
 * characters A-Z a-z 0-9 - . _ ~ and those in keep escaped as %XX) at
 * out + *len, NUL-terminated, *len moved on.  0, or -1 if it does not
 * fit in outsz bytes.
 */
int str_pct_encode(char *out, size_t outsz, size_t *len, const char *s,
    const char *keep);

#endif
