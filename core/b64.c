/*
 * b64.c: strict base64url without padding (RFC 4648 section 5), and the
 * padded standard encoding (section 4) for mail.
 */
#include <stdint.h>

#include "b64.h"

static const char enc_tab[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_tab[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of each url-alphabet character, -1 for everything else. */
/* clang-format off */
static const signed char dec_tab[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	/* 0x20: '-' is 62 */
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	/* 0x30: '0'..'9' */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	/* 0x40: 'A'..'O' */
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	/* 0x50: 'P'..'Z', '_' is 63 */
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	/* 0x60: 'a'..'o' */
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	/* 0x70: 'p'..'z' */
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
/* clang-format on */

/* Largest input whose encoding length (plus NUL) fits in a size_t. */
#define B64_ENC_MAX ((SIZE_MAX - 4) / 4 * 3)

size_t
b64url_enclen(size_t n)
{
	static const size_t tail[3] = { 0, 2, 3 };

	return n / 3 * 4 + tail[n % 3];
}

size_t
b64url_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	uint32_t v;

	if (n > B64_ENC_MAX || outsz < b64url_enclen(n) + 1)
		return (size_t)-1;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = enc_tab[v >> 18];
		out[o++] = enc_tab[(v >> 12) & 0x3f];
		out[o++] = enc_tab[(v >> 6) & 0x3f];
		out[o++] = enc_tab[v & 0x3f];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = enc_tab[v >> 18];
		out[o++] = enc_tab[(v >> 12) & 0x3f];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = enc_tab[v >> 18];
		out[o++] = enc_tab[(v >> 12) & 0x3f];
		out[o++] = enc_tab[(v >> 6) & 0x3f];
	}
	out[o] = '\0';
	return o;
}

size_t
b64_enclen(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t
b64_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;
	uint32_t v;

	if (n > B64_ENC_MAX || outsz < b64_enclen(n) + 1)
		return (size_t)-1;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = std_tab[v >> 18];
		out[o++] = std_tab[(v >> 12) & 0x3f];
		out[o++] = i + 1 < n ? std_tab[(v >> 6) & 0x3f] : '=';
		out[o++] = i + 2 < n ? std_tab[v & 0x3f] : '=';
	}
	out[o] = '\0';
	return o;
}

size_t
b64url_decode(const char *in, size_t n, unsigned char *out, size_t outsz)
{
	static const size_t tail[4] = { 0, 0, 1, 2 };
	size_t i, o = 0, full, need;
	uint32_t v;
	int c, k;

	if (n % 4 == 1)
		return (size_t)-1;
	full = n - n % 4;
	need = full / 4 * 3 + tail[n % 4];
	if (outsz < need)
		return (size_t)-1;

	for (i = 0; i < full; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			if ((c = dec_tab[(unsigned char)in[i + k]]) < 0)
				return (size_t)-1;
			v = v << 6 | (uint32_t)c;
		}
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}

	if (n % 4 == 0)
		return o;

	/* 2 characters carry 1 byte and 4 spare bits, 3 carry 2 and 2. */
	v = 0;
	for (k = 0; k < (int)(n % 4); k++) {
		if ((c = dec_tab[(unsigned char)in[full + k]]) < 0)
			return (size_t)-1;
		v = v << 6 | (uint32_t)c;
	}
	if (n % 4 == 2) {
		if (v & 0xf)
			return (size_t)-1;
		out[o++] = (unsigned char)(v >> 4);
	} else {
		if (v & 0x3)
			return (size_t)-1;
		out[o++] = (unsigned char)(v >> 10);
		out[o++] = (unsigned char)(v >> 2);
	}
	return o;
}
