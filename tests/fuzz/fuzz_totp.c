/*
 * fuzz_totp.c: what a second factor reads from outside: a base32 secret
 * (decoded, then encoded back to the same bytes), a typed recovery code
 * (normalised: ten characters of its alphabet, or refused), a typed
 * one-time code checked against a fixed key, the otpauth URI of any
 * issuer and account, and a sealed value opened with a fixed key (never
 * opens: nobody forges a GCM tag), and the QR code of any text (an SVG
 * of one rect and one path of commands and numbers only).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qr.h"
#include "totp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static const unsigned char key[] = "12345678901234567890";
static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char raw[256], back[256];
	char *s, *svg, *d, enc[512], norm[TOTP_RECOVERY_LEN + 1], uri[2048];
	struct totp_key k;
	size_t n = 0, m = 0;

	if (len > 1024 || (s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (totp_b32_decode(s, raw, sizeof(raw), &n) == 0) {
		if (totp_b32_encode(raw, n, enc, sizeof(enc)) != 0 ||
		    totp_b32_decode(enc, back, sizeof(back), &m) != 0 ||
		    m != n || memcmp(raw, back, n) != 0)
			abort();
	}
	if (totp_recovery_norm(s, norm) == 0 &&
	    (strlen(norm) != TOTP_RECOVERY_LEN ||
		strspn(norm, alphabet) != TOTP_RECOVERY_LEN))
		abort();
	if (totp_verify(key, 20, 1700000000, 0, s) < 0)
		abort();
	if (totp_uri(s, s, "JBSWY3DPEHPK3PXP", uri, sizeof(uri)) == 0 &&
	    strncmp(uri, "otpauth://totp/", 15) != 0)
		abort();
	if (totp_key_derive("a fuzzing key of thirty-two bytes!", 34, &k) !=
		0 ||
	    totp_open(&k, 1, data, len, raw, sizeof(raw)) != -1)
		abort();
	if ((svg = qr_svg(s)) != NULL) {
		if (strncmp(svg, "<svg ", 5) != 0 ||
		    (d = strstr(svg, " d=\"")) == NULL ||
		    strspn(d + 4, "Mhvz0123456789 -") !=
			strlen(d + 4) - strlen("\"/></svg>") ||
		    strchr(svg, '<') == NULL)
			abort();
		free(svg);
	}
	free(s);
	return 0;
}
