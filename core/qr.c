/*
 * qr.c: QR codes as SVG, with libqrencode.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "qr.h"

#define QR_QUIET 4      /* modules of white around the code */
#define QR_MAX 4096     /* the longest text encoded: URIs are short */

/* Append printf(fmt, ...) to the buffer b (len, size); -1 if it failed. */
static int __attribute__((format(printf, 4, 5)))
put(char **b, size_t *len, size_t *size, const char *fmt, ...)
{
	char tmp[128], *nb;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	if (*len + (size_t)n + 1 > *size) {
		if ((nb = realloc(*b, *size * 2 + (size_t)n)) == NULL)
			return -1;
		*b = nb;
		*size = *size * 2 + (size_t)n;
	}
	memcpy(*b + *len, tmp, (size_t)n + 1);
	*len += (size_t)n;
	return 0;
}

char *
qr_svg(const char *text)
{
	QRcode *q = NULL;
	char *b = NULL;
	size_t len = 0, size = 4096;
	int x, y, run, w, full;

	if (strlen(text) > QR_MAX ||
	    (q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M)) == NULL ||
	    (b = malloc(size)) == NULL)
		goto fail;
	w = q->width;
	full = w + 2 * QR_QUIET;
	b[0] = '\0';
	if (put(&b, &len, &size, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">", full,
	    full) == -1 ||
	    put(&b, &len, &size, "<rect width=\"%d\" height=\"%d\" "
	    "fill=\"#fff\"/><path fill=\"#000\" d=\"", full, full) == -1)
		goto fail;
	/* One horizontal run of dark modules at a time. */
	for (y = 0; y < w; y++)
		for (x = 0; x < w; x += run > 0 ? run : 1) {
			for (run = 0; x + run < w &&
			    (q->data[y * w + x + run] & 1); run++)
				;
			if (run > 0 && put(&b, &len, &size, "M%d %dh%dv1h-%dz",
			    x + QR_QUIET, y + QR_QUIET, run, run) == -1)
				goto fail;
		}
	if (put(&b, &len, &size, "\"/></svg>") == -1)
		goto fail;
	QRcode_free(q);
	return b;
fail:
	QRcode_free(q);
	free(b);
	return NULL;
}
