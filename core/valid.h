/*
 * valid.h: validators for the contract's field formats.  Each returns 1 if
 * the value is acceptable, 0 if not.  Strings are NUL-terminated and have
 * already been checked to be valid UTF-8 without NUL bytes.
 */
#ifndef LATCH_VALID_H
#define LATCH_VALID_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the n bytes at s are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF) and contain no NUL. */
int valid_utf8(const char *s, size_t n);
/* Number of code points in the valid UTF-8 string s. */
size_t valid_utf8_len(const char *s);
/* 3 to 64 of A-Za-z0-9._- */
int valid_username(const char *s);
/* local@domain, <= 254 bytes, no CR, LF, space, comma, <, >, quotes,
 * exactly one @, non-empty local part and domain, no control chars. */
int valid_email(const char *s);
/* Display name: 0..128 code points, no control characters. */
int valid_name(const char *s);
/* Organization name: 1..128 code points, no control characters,
 * not only spaces. */
int valid_org_name(const char *s);
/* Description: 0..1024 code points, no control characters but \n, \t. */
int valid_description(const char *s);
/* Password strength: min..256 code points.  1 if ok. */
int valid_password(const char *s, int min);
/* Lower-case the ASCII letters of an email into out (outsz bytes) for the
 * case-insensitive unique key.  Returns 0, or -1 if it does not fit. */
int valid_email_norm(const char *s, char *out, size_t outsz);
/*
 * A time as the API writes it, RFC 3339 in UTC to the second
 * ("2027-01-31T23:59:59Z", exactly that form), from 1970 to 9999, into
 * *t (UNIX seconds; t may be NULL).  1 if it is one, 0 if not (also for
 * a date that does not exist, such as February 30).
 */
int valid_time(const char *s, int64_t *t);
/* valid_time() for a field table: 1 if s is such a time. */
int valid_time_str(const char *s);

#endif
