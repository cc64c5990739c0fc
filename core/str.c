/*
 * str.c: bounded string copies.
 */
#include <string.h>

#include "str.h"

void
str_copy(char *dst, size_t dstsz, const char *src)
{
	size_t n = src == NULL ? 0 : strlen(src);

	if (dstsz == 0)
		return;
	if (n >= dstsz) {
		n = dstsz - 1;
		/* Back up to the start of a UTF-8 sequence. */
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}
