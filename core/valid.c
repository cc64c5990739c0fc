/*
 * valid.c: validators for the contract's field formats.
 *
 * The string validators take NUL-terminated strings; those that count
 * code points check the UTF-8 again themselves (it is cheap), so they are
 * safe to call on anything.  A NULL string is never valid.
 */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "valid.h"

#define USERNAME_MIN 3
#define USERNAME_MAX 64
#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64
#define EMAIL_DOMAIN_MAX 253
#define NAME_MAX_CP 128
#define ORG_NAME_MAX_CP 128
#define DESCRIPTION_MAX_CP 1024
#define PASSWORD_MAX_CP 256

/*
 * Decode one code point of the well-formed UTF-8 at s (n bytes left).
 * Returns its length (1..4) and stores it in *cp, or 0 if the bytes there
 * are not well-formed: Unicode's table 3-7, which leaves out overlongs
 * (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF), code points above
 * U+10FFFF (F4 90.., F5..FF), stray continuation bytes and truncated
 * sequences.  A NUL is refused too.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;
	unsigned long c;

	if (n == 0 || s[0] == 0x00)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

int
valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t k;

	if (s == NULL)
		return n == 0;
	while (n > 0) {
		if ((k = utf8_decode(p, n, &cp)) == 0)
			return 0;
		p += k;
		n -= k;
	}
	return 1;
}

size_t
valid_utf8_len(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Unicode's control characters (Cc): C0, DEL and C1. */
static int
is_control(unsigned long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Characters that show nothing: spaces, and the invisible formatting ones
 * (zero width space and joiners, word joiner, BOM). */
static int
is_blank(unsigned long cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200d) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x2060 || cp == 0x3000 ||
	    cp == 0xfeff;
}

#define TEXT_NEWLINE_TAB 0x01 /* allow '\n' and '\t' among the controls */
#define TEXT_NOT_BLANK 0x02   /* at least one visible character */

/* 1 if s is well-formed UTF-8 of min..max code points, without control
 * characters (but those flags allows) and, with TEXT_NOT_BLANK, not only
 * blanks. */
static int
valid_text(const char *s, size_t min, size_t max, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, k, count = 0;
	unsigned long cp;
	int visible = 0;

	if (s == NULL)
		return 0;
	n = strlen(s);
	while (n > 0) {
		if ((k = utf8_decode(p, n, &cp)) == 0)
			return 0;
		if (is_control(cp) &&
		    !((flags & TEXT_NEWLINE_TAB) && (cp == '\n' || cp == '\t')))
			return 0;
		if (!is_blank(cp))
			visible = 1;
		if (++count > max)
			return 0;
		p += k;
		n -= k;
	}
	if (count < min)
		return 0;
	return !(flags & TEXT_NOT_BLANK) || visible;
}

int
valid_username(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= USERNAME_MAX)
			return 0;
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
			(s[n] >= 'A' && s[n] <= 'Z') ||
			(s[n] >= '0' && s[n] <= '9') || s[n] == '.' ||
			s[n] == '_' || s[n] == '-'))
			return 0;
	}
	return n >= USERNAME_MIN;
}

/* 1 if c may appear in the local part of an address. */
static int
email_local_char(unsigned char c)
{
	if (c < 0x20 || c == 0x7f)
		return 0;
	return strchr(" ,<>\"'();:\\[]@", c) == NULL;
}

/* 1 if c may appear in the domain: ASCII letters, digits, '-', '.', or a
 * byte of a UTF-8 sequence (an internationalized domain). */
static int
email_domain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c >= 0x80;
}

int
valid_email(const char *s)
{
	const char *at, *d;
	size_t n, local, domain, i;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n > EMAIL_MAX || !valid_utf8(s, n))
		return 0;
	if ((at = strchr(s, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	local = (size_t)(at - s);
	d = at + 1;
	domain = n - local - 1;
	if (local < 1 || local > EMAIL_LOCAL_MAX)
		return 0;
	if (domain < 1 || domain > EMAIL_DOMAIN_MAX)
		return 0;
	for (i = 0; i < local; i++)
		if (!email_local_char((unsigned char)s[i]))
			return 0;
	for (i = 0; i < domain; i++)
		if (!email_domain_char((unsigned char)d[i]))
			return 0;
	if (d[0] == '.' || d[domain - 1] == '.' || strstr(d, "..") != NULL)
		return 0;
	return 1;
}

int
valid_name(const char *s)
{
	return valid_text(s, 0, NAME_MAX_CP, 0);
}

int
valid_org_name(const char *s)
{
	return valid_text(s, 1, ORG_NAME_MAX_CP, TEXT_NOT_BLANK);
}

int
valid_description(const char *s)
{
	return valid_text(s, 0, DESCRIPTION_MAX_CP, TEXT_NEWLINE_TAB);
}

int
valid_password(const char *s, int min)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, k, count = 0;
	unsigned long cp;

	if (s == NULL)
		return 0;
	n = strlen(s);
	while (n > 0) {
		if ((k = utf8_decode(p, n, &cp)) == 0)
			return 0;
		if (++count > PASSWORD_MAX_CP)
			return 0;
		p += k;
		n -= k;
	}
	return min <= 0 || count >= (size_t)min;
}

int
valid_email_norm(const char *s, char *out, size_t outsz)
{
	size_t n, i;

	if (s == NULL || out == NULL || outsz == 0)
		return -1;
	n = strlen(s);
	if (n >= outsz)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ?
		    (char)(s[i] - 'A' + 'a') :
		    s[i];
	out[n] = '\0';
	return 0;
}

/* n decimal digits at s into *v: 1, or 0 if one is not a digit. */
static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

int
valid_time(const char *s, int64_t *t)
{
	struct tm tm, back;
	int y, mo, d, h, mi, se;
	time_t v;

	if (s == NULL || strlen(s) != 20 || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return 0;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d) || !digits(s + 11, 2, &h) ||
	    !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
		return 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || se > 59)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((v = timegm(&tm)) == (time_t)-1 || gmtime_r(&v, &back) == NULL)
		return 0;
	/* timegm() carries February 30 into March: such a date is none. */
	if (back.tm_mday != d || back.tm_mon != mo - 1)
		return 0;
	if (t != NULL)
		*t = (int64_t)v;
	return 1;
}

int
valid_time_str(const char *s)
{
	return valid_time(s, NULL);
}
