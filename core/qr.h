/*
 * qr.h: a QR code of a text, as SVG, with libqrencode (Debian's
 * libqrencode4): how an authenticator app reads an otpauth:// URI.
 */
#ifndef LATCH_QR_H
#define LATCH_QR_H

/*
 * The QR code of text (error correction level M, 8-bit mode) as one SVG
 * document: a white square with a 4-module quiet zone and one black
 * path, scaled by the viewer.  Returns it (caller frees), or NULL if
 * the text does not fit a QR code or memory ran out.
 */
char *qr_svg(const char *text);

#endif
