/*
 * msg.c: build and check mail messages (msg.h).
 *
 * Building encodes what is not plain: a subject or display name that is
 * not ASCII as RFC 2047 encoded words, the body as quoted-printable, so
 * the message is 7-bit but for addresses (RFC 6532).  Checking is
 * strict, for what the mailer hands to a server: a message latch did
 * not write, or that changed on disk, is refused with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b64.h"
#include "log.h"
#include "msg.h"
#include "str.h"
#include "valid.h"

#define MSG_LINE_MAX 998 /* RFC 5322 2.1.1, without the CRLF */
#define MSG_QP_LINE 76   /* RFC 2045 6.7 */
#define MSG_EW_BYTES 39  /* UTF-8 bytes per encoded word */
#define MSG_FOLD 78      /* RFC 5322 2.1.1 SHOULD */

/* ------------------------------------------------------------ text */

/*
 * 1 if the n bytes at s are UTF-8 text without control characters (C0,
 * DEL, C1).  With body set, tab and line ends ("\n", "\r\n") are allowed.
 */
static int
text_ok(const char *s, size_t n, int body)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	if (!valid_utf8(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		if (u[i] == 0x7f)
			return 0;
		/* U+0080..U+009F are C2 80..C2 9F. */
		if (u[i] == 0xc2 && i + 1 < n && u[i + 1] < 0xa0)
			return 0;
		if (u[i] >= 0x20)
			continue;
		if (body && (u[i] == '\t' || u[i] == '\n'))
			continue;
		if (body && u[i] == '\r' && i + 1 < n && u[i + 1] == '\n')
			continue;
		return 0;
	}
	return 1;
}

static int
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* RFC 5322 atext. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * Split an address header value "addr", "<addr>" or (with name allowed)
 * "display name <addr>" into its address (MSG_ADDR_SIZE bytes) and,
 * when name is not NULL, its display name (namesz bytes, outer quotes
 * and their backslashes removed).  0, or -1 if it is none of these or the
 * address is not valid_email().
 */
static int
addr_split(const char *v, size_t n, char *addr, char *name, size_t namesz)
{
	const char *lt, *end;
	size_t alen, nlen, i, o;

	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (name != NULL)
		name[0] = '\0';
	if (n > 0 && v[n - 1] == '>') {
		lt = NULL;
		for (i = n - 1; i > 0; i--)
			if (v[i - 1] == '<') {
				lt = v + i - 1;
				break;
			}
		if (lt == NULL)
			return -1;
		alen = (size_t)(v + n - 1 - (lt + 1));
		nlen = (size_t)(lt - v);
		if (nlen > 0 && name == NULL)
			return -1;
		end = lt;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		nlen = (size_t)(end - v);
		if (name != NULL) {
			if (nlen >= 2 && v[0] == '"' && v[nlen - 1] == '"') {
				for (i = 1, o = 0;
				     i < nlen - 1 && o + 1 < namesz; i++) {
					if (v[i] == '\\' && i + 1 < nlen - 1)
						i++;
					name[o++] = v[i];
				}
				name[o] = '\0';
			} else {
				if (nlen >= namesz)
					return -1;
				memcpy(name, v, nlen);
				name[nlen] = '\0';
			}
		}
		v = lt + 1;
		n = alen;
	}
	if (n == 0 || n >= MSG_ADDR_SIZE)
		return -1;
	memcpy(addr, v, n);
	addr[n] = '\0';
	return valid_email(addr) ? 0 : -1;
}

/*
 * Append s as RFC 2047 "B" encoded words in UTF-8, each of at most
 * MSG_EW_BYTES bytes cut on a character boundary, folded between words.
 */
static void
add_encoded(struct str_buf *b, const char *s, size_t n)
{
	char enc[64];
	size_t take, first = 1;

	while (n > 0) {
		take = n < MSG_EW_BYTES ? n : MSG_EW_BYTES;
		/* Do not cut a character: back off continuation bytes. */
		while (take < n && take > 1 &&
		    ((unsigned char)s[take] & 0xc0) == 0x80)
			take--;
		if (b64_encode((const unsigned char *)s, take, enc,
			sizeof(enc)) == (size_t)-1) {
			b->err = ERR_INVALID_FIELD;
			return;
		}
		if (!first)
			str_buf_adds(b, "\r\n ");
		str_buf_adds(b, "=?UTF-8?B?");
		str_buf_adds(b, enc);
		str_buf_adds(b, "?=");
		first = 0;
		s += take;
		n -= take;
	}
}

/* Append a plain ASCII value after a header name of col bytes, folded
 * before a space when a line would pass MSG_FOLD. */
static void
add_folded(struct str_buf *b, const char *s, size_t col)
{
	const char *q;
	size_t start = col;

	while (*s != '\0') {
		q = s + 1;
		while (*q != '\0' && *q != ' ')
			q++;
		if (*s == ' ' && col > start &&
		    col + (size_t)(q - s) > MSG_FOLD) {
			str_buf_adds(b, "\r\n");
			col = 0;
		}
		str_buf_add(b, s, (size_t)(q - s));
		col += (size_t)(q - s);
		s = q;
	}
}

/* The Subject: value: plain when it is ASCII and cannot be mistaken for
 * an encoded word, else RFC 2047. */
static void
add_subject(struct str_buf *b, const char *subject)
{
	str_buf_adds(b, "Subject: ");
	if (is_ascii(subject) && strstr(subject, "=?") == NULL)
		add_folded(b, subject, 9);
	else
		add_encoded(b, subject, strlen(subject));
	str_buf_adds(b, "\r\n");
}

/* A display name: as atoms, as a quoted string, or encoded. */
static void
add_phrase(struct str_buf *b, const char *name)
{
	const char *p;
	size_t n = strlen(name);
	int atoms = n > 0 && name[0] != ' ' && name[n - 1] != ' ' &&
	    strstr(name, "  ") == NULL;

	for (p = name; atoms && *p != '\0'; p++)
		if (*p != ' ' && !is_atext((unsigned char)*p))
			atoms = 0;
	if (atoms) {
		str_buf_adds(b, name);
	} else if (is_ascii(name) && strstr(name, "=?") == NULL) {
		str_buf_adds(b, "\"");
		for (p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				str_buf_adds(b, "\\");
			str_buf_add(b, p, 1);
		}
		str_buf_adds(b, "\"");
	} else {
		add_encoded(b, name, n);
	}
}

void
msg_date(time_t t, char *out, size_t outsz)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		(void)gmtime_r(&t, &tm);
	}
	(void)snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * The body as quoted-printable with CRLF lines of at most 76 bytes.  A
 * '.' or "From " starting a line is encoded too, so that no transport
 * (SMTP without dot-stuffing, an mbox) can misread it.
 */
static void
add_qp_body(struct str_buf *b, const char *body)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *line = body, *eol;
	size_t n, i, col, elen;
	unsigned char c;
	char enc[4];
	int lit;

	while (*line != '\0') {
		eol = strchr(line, '\n');
		n = eol != NULL ? (size_t)(eol - line) : strlen(line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		col = 0;
		for (i = 0; i < n; i++) {
			c = (unsigned char)line[i];
			for (;;) {
				lit = c >= 33 && c <= 126 && c != '=';
				if ((c == ' ' || c == '\t') && i + 1 < n)
					lit = 1;
				if (col == 0 && c == '.')
					lit = 0;
				if (col == 0 && c == 'F' &&
				    strncmp(line + i, "From ", 5) == 0)
					lit = 0;
				elen = lit ? 1 : 3;
				if (col + elen <= MSG_QP_LINE - 1)
					break;
				str_buf_adds(b, "=\r\n");
				col = 0;
			}
			if (lit) {
				enc[0] = (char)c;
			} else {
				enc[0] = '=';
				enc[1] = hex[c >> 4];
				enc[2] = hex[c & 0xf];
			}
			str_buf_add(b, enc, elen);
			col += elen;
		}
		str_buf_adds(b, "\r\n");
		if (eol == NULL)
			break;
		line = eol + 1;
	}
}

/* The whole message into b.  from_name/from_addr come from [mail] from. */
static void
add_message(struct str_buf *b, const char *id, const char *from_name,
    const char *from_addr, const char *to, const char *subject,
    const char *body, time_t now)
{
	const char *domain = strchr(from_addr, '@') + 1;
	char date[64];

	if (!is_ascii(domain))
		domain = "localhost";
	msg_date(now, date, sizeof(date));
	str_buf_adds(b, "From: ");
	if (from_name[0] != '\0') {
		add_phrase(b, from_name);
		str_buf_adds(b, " <");
		str_buf_adds(b, from_addr);
		str_buf_adds(b, ">\r\n");
	} else {
		str_buf_adds(b, from_addr);
		str_buf_adds(b, "\r\n");
	}
	str_buf_adds(b, "To: ");
	str_buf_adds(b, to);
	str_buf_adds(b, "\r\n");
	add_subject(b, subject);
	str_buf_adds(b, "Date: ");
	str_buf_adds(b, date);
	str_buf_adds(b, "\r\nMessage-ID: <");
	str_buf_adds(b, id);
	str_buf_adds(b, "@");
	str_buf_adds(b, domain);
	str_buf_adds(b,
	    ">\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n");
	add_qp_body(b, body);
}

int
msg_from_ok(const char *v)
{
	char addr[MSG_ADDR_SIZE], name[256];
	size_t n = strlen(v);

	return text_ok(v, n, 0) &&
	    addr_split(v, n, addr, name, sizeof(name)) == 0;
}

enum err
msg_build(const char *from, const char *to, const char *subject,
    const char *body, const char *id, time_t now, char **out, size_t *lenp)
{
	struct str_buf b = { NULL, 0, 0, MSG_MAX, ERR_OK };
	char from_addr[MSG_ADDR_SIZE], from_name[256];
	size_t n;

	*out = NULL;
	*lenp = 0;
	if (to == NULL || subject == NULL || body == NULL)
		return ERR_INVALID_FIELD;
	if (strlen(to) >= MSG_ADDR_SIZE || !text_ok(to, strlen(to), 0) ||
	    !valid_email(to))
		return ERR_INVALID_FIELD;
	n = strlen(subject);
	if (n > MSG_SUBJECT_MAX || !text_ok(subject, n, 0))
		return ERR_INVALID_FIELD;
	n = strlen(body);
	if (n > MSG_BODY_MAX || !text_ok(body, n, 1))
		return ERR_INVALID_FIELD;
	if (!text_ok(from, strlen(from), 0) ||
	    addr_split(from, strlen(from), from_addr, from_name,
		sizeof(from_name)) == -1) {
		log_warnx(
		    "msg: [mail] from must be an address or "
		    "\"Name <address>\"");
		return ERR_SYS;
	}
	add_message(&b, id, from_name, from_addr, to, subject, body, now);
	if (b.err != ERR_OK) {
		free(b.p);
		return b.err == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID_FIELD;
	}
	*out = b.p;
	*lenp = b.len;
	return ERR_OK;
}

/* ------------------------------------------------------------ parsing */

enum msg_hdr { HDR_FROM, HDR_TO, HDR_SUBJECT, HDR_DATE, HDR_MSGID, HDR__MAX };

static const char *const hdr_names[HDR__MAX] = {
	[HDR_FROM] = "From",
	[HDR_TO] = "To",
	[HDR_SUBJECT] = "Subject",
	[HDR_DATE] = "Date",
	[HDR_MSGID] = "Message-ID",
};

/* A header field as found: name and the folded value, in the buffer. */
struct msg_field {
	const char *name;
	size_t namelen;
	const char *val; /* from after the ':' to before the CRLF */
	size_t vallen;   /* of the last line */
};

/* The unfolded value of f (CRLFs dropped) into out (outsz bytes).
 * -1 if it does not fit. */
static int
unfold(const struct msg_field *f, char *out, size_t outsz, size_t *lenp)
{
	size_t i, o = 0;

	for (i = 0; i < f->vallen; i++) {
		if (f->val[i] == '\r' || f->val[i] == '\n')
			continue;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = f->val[i];
	}
	out[o] = '\0';
	*lenp = o;
	return 0;
}

/* Take note of a finished header field.  NULL, or what is wrong. */
static const char *
field_end(const struct msg_field *f, int seen[HDR__MAX], char *from, char *to)
{
	char v[1024], name[1024];
	size_t i, n;

	if ((f->namelen == 2 && strncasecmp(f->name, "cc", 2) == 0) ||
	    (f->namelen == 3 && strncasecmp(f->name, "bcc", 3) == 0) ||
	    (f->namelen > 7 && strncasecmp(f->name, "resent-", 7) == 0))
		return "a Cc, Bcc or Resent- header";
	for (i = 0; i < HDR__MAX; i++)
		if (strlen(hdr_names[i]) == f->namelen &&
		    strncasecmp(f->name, hdr_names[i], f->namelen) == 0)
			break;
	if (i == HDR__MAX)
		return NULL;
	if (seen[i]++)
		return "a header that must be there once is there twice";
	if (i != HDR_FROM && i != HDR_TO)
		return NULL;
	if (unfold(f, v, sizeof(v), &n) == -1)
		return "From or To too long";
	if (i == HDR_FROM) {
		if (addr_split(v, n, from, name, sizeof(name)) == -1)
			return "From is not a valid address";
	} else if (addr_split(v, n, to, NULL, 0) == -1) {
		return "To is not a single valid address";
	}
	return NULL;
}

enum err
msg_parse(const char *buf, size_t n, char *from, char *to, int *utf8,
    const char **why)
{
	struct msg_field f = { NULL, 0, NULL, 0 };
	const char *line, *lf, *w = NULL, *colon;
	int seen[HDR__MAX] = { 0 };
	size_t pos = 0, len, i, hdrlen = 0;
	int in_hdr = 1;

	from[0] = to[0] = '\0';
	*utf8 = 0;
	if (n == 0)
		w = "empty";
	else if (n > MSG_MAX)
		w = "larger than 1 MiB";
	else if (memchr(buf, '\0', n) != NULL)
		w = "a NUL byte";
	while (w == NULL && pos < n) {
		line = buf + pos;
		if ((lf = memchr(line, '\n', n - pos)) == NULL) {
			w = "the last line does not end in CRLF";
			break;
		}
		if (lf == line || lf[-1] != '\r') {
			w = "a bare LF";
			break;
		}
		len = (size_t)(lf - line) - 1;
		if (len > MSG_LINE_MAX) {
			w = "a line longer than 998 bytes";
			break;
		}
		if (memchr(line, '\r', len) != NULL) {
			w = "a bare CR";
			break;
		}
		pos = (size_t)(lf - buf) + 1;
		if (!in_hdr) {
			for (i = 0; i < len; i++)
				if ((line[i] < 0x20 || line[i] > 0x7e) &&
				    line[i] != '\t')
					break;
			if (i < len)
				w = "8-bit or control characters in the body";
			continue;
		}
		for (i = 0; i < len; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
				break;
			else if (line[i] == 0x7f)
				break;
		if (i < len) {
			w = "a control character in the header";
			break;
		}
		if (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
			if (f.name == NULL) {
				w = "a continuation line without a header";
				break;
			}
			f.vallen = (size_t)(line + len - f.val);
			continue;
		}
		if (f.name != NULL &&
		    (w = field_end(&f, seen, from, to)) != NULL)
			break;
		f.name = NULL;
		if (len == 0) {
			in_hdr = 0;
			hdrlen = pos;
			continue;
		}
		if ((colon = memchr(line, ':', len)) == NULL || colon == line) {
			w = "a header line without a name";
			break;
		}
		for (i = 0; line + i < colon; i++)
			if (line[i] < 33 || line[i] > 126)
				break;
		if (line + i < colon) {
			w = "a header name that is not printable ASCII";
			break;
		}
		f.name = line;
		f.namelen = (size_t)(colon - line);
		f.val = colon + 1;
		f.vallen = (size_t)(line + len - f.val);
	}
	if (w == NULL && in_hdr)
		w = "no empty line after the header";
	if (w == NULL && !valid_utf8(buf, hdrlen))
		w = "the header is not UTF-8";
	for (i = 0; w == NULL && i < HDR__MAX; i++)
		if (!seen[i])
			w = "From, To, Subject, Date or Message-ID missing";
	if (w != NULL) {
		from[0] = to[0] = '\0';
		if (why != NULL)
			*why = w;
		return ERR_INVALID_FIELD;
	}
	*utf8 = !is_ascii(from) || !is_ascii(to);
	return ERR_OK;
}
