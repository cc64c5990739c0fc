/*
 * str.h: bounded string copies into fixed buffers.
 */
#ifndef LATCH_STR_H
#define LATCH_STR_H

#include <stddef.h>

/*
 * Copy src (NULL counts as "") into dst of dstsz > 0 bytes, cut to fit,
 * always NUL-terminated.  Cutting never splits a UTF-8 sequence.
 */
void str_copy(char *dst, size_t dstsz, const char *src);

#endif
