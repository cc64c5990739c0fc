/*
 * str.c: bounded string copies and the growing buffer.
 */
#include <stdlib.h>
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

void
str_buf_add(struct str_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->err != ERR_OK)
		return;
	if (n > b->max || b->len > b->max - n) {
		b->err = ERR_INVALID_FIELD;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap > 0 ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->err = ERR_NOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
str_buf_adds(struct str_buf *b, const char *s)
{
	str_buf_add(b, s, strlen(s));
}

int
str_pct_encode(char *out, size_t outsz, size_t *len, const char *s,
    const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*len + 4 > outsz)
			return -1;
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL ||
		    strchr(keep, *p) != NULL)
			out[(*len)++] = (char)*p;
		else {
			out[(*len)++] = '%';
			out[(*len)++] = hex[*p >> 4];
			out[(*len)++] = hex[*p & 15];
		}
	}
	out[*len] = '\0';
	return 0;
}
