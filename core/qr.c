/*
 * qr.c: QR codes as SVG, with libqrencode.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "qr.h"
#include "str.h"

#define QR_QUIET 4  /* modules of white around the code */
#define QR_MAX 4096 /* the longest text encoded: URIs are short */
#define QR_SVG_MAX (1024 * 1024)

/* Append printf(fmt, ...) to b. */
static void __attribute__((format(printf, 2, 3)))
add(struct str_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->err = ERR_SYS;
	else
		str_buf_add(b, tmp, (size_t)n);
}

char *
qr_svg(const char *text)
{
	struct str_buf b = { NULL, 0, 0, QR_SVG_MAX, ERR_OK };
	QRcode *q;
	int x, y, run, w, full;

	if (strlen(text) > QR_MAX ||
	    (q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M)) == NULL)
		return NULL;
	w = q->width;
	full = w + 2 * QR_QUIET;
	add(&b,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	    "shape-rendering=\"crispEdges\">",
	    full, full);
	add(&b,
	    "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
	    "<path fill=\"#000\" d=\"",
	    full, full);
	/* One horizontal run of dark modules at a time. */
	for (y = 0; y < w; y++)
		for (x = 0; x<w; x += run> 0 ? run : 1) {
			for (run = 0;
			     x + run < w && (q->data[y * w + x + run] & 1);
			     run++)
				;
			if (run > 0)
				add(&b, "M%d %dh%dv1h-%dz", x + QR_QUIET,
				    y + QR_QUIET, run, run);
		}
	str_buf_adds(&b, "\"/></svg>");
	QRcode_free(q);
	if (b.err != ERR_OK) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
