/*
 * jsonv.h: a strict RFC 8259 check of a request body, run before json-c
 * parses it.  json-c (even with JSON_TOKENER_STRICT) accepts single-quoted
 * strings, NaN, Infinity, "1.", raw control characters in strings and lone
 * surrogate escapes; the contract wants exactly one strict JSON object.
 */
#ifndef LATCH_JSONV_H
#define LATCH_JSONV_H

#include <stddef.h>

#include "err.h"

struct json_object;

/*
 * 1 if the n bytes at s are exactly one RFC 8259 JSON text whose top-level
 * value is an object, else 0.  Reads only s[0] .. s[n - 1]; s need not be
 * NUL-terminated and is borrowed for the call only.  No allocation.
 *
 * Besides RFC 8259's grammar:
 * - the whole input is well-formed UTF-8 (valid_utf8(): no overlongs, no
 *   surrogates, nothing above U+10FFFF) and contains no NUL byte;
 * - white space around and between tokens is only space, \t, \n and \r
 *   (so a leading BOM is refused), and there must be a value: empty or
 *   white-space-only input is refused;
 * - the top-level value is an object (not an array, string, number or
 *   literal);
 * - strings hold no raw byte below 0x20; the only escapes are \" \\ \/ \b
 *   \f \n \r \t and \uXXXX (hex digits in either case); a \uD800-\uDBFF
 *   escape must be followed at once by a \uDC00-\uDFFF one, a lone low
 *   surrogate escape is refused, and so is \u0000;
 * - numbers are -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, literals
 *   exactly true, false and null; no trailing commas; keys are strings;
 * - objects and arrays nest at most maxdepth deep, the top-level object
 *   counting as 1: "{}" needs maxdepth >= 1, {"a":[]} needs 2, and
 *   maxdepth < 1 refuses everything.
 *
 * Duplicate keys are not refused here (RFC 8259 only says they SHOULD be
 * unique): jsonv_check_count() counts the members so that a caller can
 * compare with what its parser kept.  The check recurses about two frames
 * per nesting level, so its stack use is bounded by maxdepth: keep
 * maxdepth small.
 */
int jsonv_check(const char *s, size_t n, int maxdepth);

/*
 * jsonv_check(), and on success *members (if not NULL) is the number of
 * members of all objects in the text, nested ones included.  A parser
 * that keeps one member per key holds fewer exactly when some object has
 * a key twice.
 */
int jsonv_check_count(const char *s, size_t n, int maxdepth, size_t *members);

/*
 * The n bytes at s (jsonv_check(): one strict JSON object, at most
 * maxdepth deep) parsed by json-c into *out (caller puts it), which
 * refuses an object with a key given twice.  ERR_OK, ERR_INVALID_JSON
 * or ERR_NOMEM.
 */
enum err jsonv_parse(const char *s, size_t n, int maxdepth,
    struct json_object **out);

#endif
