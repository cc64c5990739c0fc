/*
 * spool.c: write mail into the spool atomically, render the templates,
 * and the mailer's side: load, check, list, retry state, give up, purge.
 *
 * Writes follow OpenSMTPD's queue_fs: a file is created in tmp/ with
 * O_CREAT|O_EXCL|O_NOFOLLOW, written whole, fsync()ed and closed, then
 * rename()d into place, and the directory it went into is fsync()ed.  On
 * any failure the tmp/ file is unlinked, so a reader of new/, state/ or
 * failed/ only ever sees whole files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "log.h"
#include "spool.h"
#include "tok.h"
#include "valid.h"

#define SPOOL_LINE_MAX 998       /* RFC 5322 2.1.1, without the CRLF */
#define SPOOL_QP_LINE 76         /* RFC 2045 6.7 */
#define SPOOL_EW_BYTES 39        /* UTF-8 bytes per encoded word */
#define SPOOL_FOLD 78            /* RFC 5322 2.1.1 SHOULD */
#define SPOOL_STATE_MAX 128
#define SPOOL_KEY_MAX 64         /* a placeholder name */
#define SPOOL_REASON_MAX 1000

/* A growing buffer; once err is set, every add is a no-op. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	size_t max;              /* refuse to grow past this */
	int err;                 /* ERR_NOMEM or ERR_INVALID_FIELD (too big) */
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->err)
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

static void
sb_adds(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* ------------------------------------------------------------ files */

/* dir/sub/name (sub or name may be NULL) into out.  0, or -1 if it does
 * not fit (logged). */
static int
path3(char *out, size_t outsz, const char *dir, const char *sub,
    const char *name)
{
	int n;

	n = snprintf(out, outsz, "%s%s%s%s%s", dir, sub != NULL ? "/" : "",
	    sub != NULL ? sub : "", name != NULL ? "/" : "",
	    name != NULL ? name : "");
	if (n < 0 || (size_t)n >= outsz) {
		log_warnx("spool: path too long under %s", dir);
		return -1;
	}
	return 0;
}

/* 1 if s is a spool id: SPOOL_ID_LEN lower-case hex digits. */
static int
is_id(const char *s)
{
	size_t i;

	for (i = 0; i < SPOOL_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* A new random id.  0, or -1 if the CSPRNG failed. */
static int
new_id(char id[SPOOL_ID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[SPOOL_ID_LEN / 2];
	size_t i;

	if (tok_random(raw, sizeof(raw)) == -1)
		return -1;
	for (i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 0xf];
	}
	id[SPOOL_ID_LEN] = '\0';
	return 0;
}

static int
fsync_dir(const char *path)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("spool: open %s", path);
		return -1;
	}
	if (fsync(fd) == -1) {
		log_warn("spool: fsync %s", path);
		rc = -1;
	}
	if (close(fd) == -1 && rc == 0) {
		log_warn("spool: close %s", path);
		rc = -1;
	}
	return rc;
}

/*
 * Write len bytes of data as dir/sub/name: through dir/tmp/tmpname
 * (created exclusively, 0600), fsync, rename, fsync dir/sub.  ERR_OK or
 * ERR_SYS (logged, with errno saying why: a full disk, a read-only file
 * system); on failure nothing is left in tmp/.  If the directory fsync
 * fails the file is unlinked again, so ERR_SYS means "not written".
 */
static enum err
write_atomic(const char *dir, const char *tmpname, const char *sub,
    const char *name, const char *data, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX], subdir[PATH_MAX];
	enum err e = ERR_SYS;
	size_t off = 0;
	ssize_t w;
	int fd = -1, linked = 0;

	tmp[0] = '\0';
	if (path3(subdir, sizeof(subdir), dir, sub, NULL) == -1 ||
	    path3(dst, sizeof(dst), dir, sub, name) == -1 ||
	    path3(tmp, sizeof(tmp), dir, "tmp", tmpname) == -1) {
		tmp[0] = '\0';
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		log_warn("spool: create %s", tmp);
		tmp[0] = '\0';
		goto out;
	}
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			log_warn("spool: write %s", tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1) {
		log_warn("spool: fsync %s", tmp);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("spool: close %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) == -1) {
		log_warn("spool: rename %s to %s", tmp, dst);
		goto out;
	}
	tmp[0] = '\0';
	linked = 1;
	if (fsync_dir(subdir) == -1)
		goto out;
	e = ERR_OK;
out:
	if (fd != -1)
		(void)close(fd);
	if (tmp[0] != '\0' && unlink(tmp) == -1 && errno != ENOENT)
		log_warn("spool: unlink %s", tmp);
	if (e != ERR_OK && linked && unlink(dst) == -1 && errno != ENOENT)
		log_warn("spool: unlink %s", dst);
	return e;
}

/*
 * Read the regular file at path, at most max bytes, into a new
 * NUL-terminated buffer (caller frees).  ERR_OK; ERR_NOT_FOUND if it does
 * not exist; ERR_INVALID_FIELD if it is larger than max or not a regular
 * file; ERR_SYS (logged); ERR_NOMEM.
 */
static enum err
read_file(const char *path, int nofollow, size_t max, char **out,
    size_t *lenp)
{
	struct stat st;
	enum err e = ERR_SYS;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd == -1) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		log_warn("spool: open %s", path);
		return ERR_SYS;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("spool: stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > max) {
		e = ERR_INVALID_FIELD;
		goto out;
	}
	/* One byte more than allowed tells us the file grew. */
	if ((buf = malloc(max + 2)) == NULL) {
		e = ERR_NOMEM;
		goto out;
	}
	for (;;) {
		r = read(fd, buf + len, max + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			log_warn("spool: read %s", path);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			e = ERR_INVALID_FIELD;
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*lenp = len;
	buf = NULL;
	e = ERR_OK;
out:
	free(buf);
	(void)close(fd);
	return e;
}

enum err
spool_init(const char *dir)
{
	static const char *const subs[] = {NULL, "tmp", "hold", "new",
	    "state", "failed"};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (path3(path, sizeof(path), dir, subs[i], NULL) == -1)
			return ERR_SYS;
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			log_warn("spool: mkdir %s", path);
			return ERR_SYS;
		}
	}
	return ERR_OK;
}

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
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * Split an address header value "addr", "<addr>" or (with name allowed)
 * "display name <addr>" into its address (SPOOL_ADDR_SIZE bytes) and,
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
				for (i = 1, o = 0; i < nlen - 1 && o + 1 < namesz;
				    i++) {
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
	if (n == 0 || n >= SPOOL_ADDR_SIZE)
		return -1;
	memcpy(addr, v, n);
	addr[n] = '\0';
	return valid_email(addr) ? 0 : -1;
}

/*
 * Append s as RFC 2047 "B" encoded words in UTF-8, each of at most
 * SPOOL_EW_BYTES bytes cut on a character boundary, folded between words.
 */
static void
add_encoded(struct sbuf *b, const char *s, size_t n)
{
	char enc[64];
	size_t take, first = 1;

	while (n > 0) {
		take = n < SPOOL_EW_BYTES ? n : SPOOL_EW_BYTES;
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
			sb_adds(b, "\r\n ");
		sb_adds(b, "=?UTF-8?B?");
		sb_adds(b, enc);
		sb_adds(b, "?=");
		first = 0;
		s += take;
		n -= take;
	}
}

/* Append a plain ASCII value after a header name of col bytes, folded
 * before a space when a line would pass SPOOL_FOLD. */
static void
add_folded(struct sbuf *b, const char *s, size_t col)
{
	const char *q;
	size_t start = col;

	while (*s != '\0') {
		q = s + 1;
		while (*q != '\0' && *q != ' ')
			q++;
		if (*s == ' ' && col > start &&
		    col + (size_t)(q - s) > SPOOL_FOLD) {
			sb_adds(b, "\r\n");
			col = 0;
		}
		sb_add(b, s, (size_t)(q - s));
		col += (size_t)(q - s);
		s = q;
	}
}

/* The Subject: value: plain when it is ASCII and cannot be mistaken for
 * an encoded word, else RFC 2047. */
static void
add_subject(struct sbuf *b, const char *subject)
{
	sb_adds(b, "Subject: ");
	if (is_ascii(subject) && strstr(subject, "=?") == NULL)
		add_folded(b, subject, 9);
	else
		add_encoded(b, subject, strlen(subject));
	sb_adds(b, "\r\n");
}

/* A display name: as atoms, as a quoted string, or encoded. */
static void
add_phrase(struct sbuf *b, const char *name)
{
	const char *p;
	size_t n = strlen(name);
	int atoms = n > 0 && name[0] != ' ' && name[n - 1] != ' ' &&
	    strstr(name, "  ") == NULL;

	for (p = name; atoms && *p != '\0'; p++)
		if (*p != ' ' && !is_atext((unsigned char)*p))
			atoms = 0;
	if (atoms) {
		sb_adds(b, name);
	} else if (is_ascii(name) && strstr(name, "=?") == NULL) {
		sb_adds(b, "\"");
		for (p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				sb_adds(b, "\\");
			sb_add(b, p, 1);
		}
		sb_adds(b, "\"");
	} else {
		add_encoded(b, name, n);
	}
}

/* RFC 5322 date-time in UTC, into out (at least 32 bytes). */
static void
rfc5322_date(time_t t, char *out, size_t outsz)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
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
add_qp_body(struct sbuf *b, const char *body)
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
				if (col + elen <= SPOOL_QP_LINE - 1)
					break;
				sb_adds(b, "=\r\n");
				col = 0;
			}
			if (lit) {
				enc[0] = (char)c;
			} else {
				enc[0] = '=';
				enc[1] = hex[c >> 4];
				enc[2] = hex[c & 0xf];
			}
			sb_add(b, enc, elen);
			col += elen;
		}
		sb_adds(b, "\r\n");
		if (eol == NULL)
			break;
		line = eol + 1;
	}
}

/*
 * The whole message into b.  from_name/from_addr come from [mail] from.
 */
static void
build_message(struct sbuf *b, const char *id, const char *from_name,
    const char *from_addr, const char *to, const char *subject,
    const char *body, time_t now)
{
	const char *domain = strchr(from_addr, '@') + 1;
	char date[64];

	if (!is_ascii(domain))
		domain = "localhost";
	rfc5322_date(now, date, sizeof(date));
	sb_adds(b, "From: ");
	if (from_name[0] != '\0') {
		add_phrase(b, from_name);
		sb_adds(b, " <");
		sb_adds(b, from_addr);
		sb_adds(b, ">\r\n");
	} else {
		sb_adds(b, from_addr);
		sb_adds(b, "\r\n");
	}
	sb_adds(b, "To: ");
	sb_adds(b, to);
	sb_adds(b, "\r\n");
	add_subject(b, subject);
	sb_adds(b, "Date: ");
	sb_adds(b, date);
	sb_adds(b, "\r\nMessage-ID: <");
	sb_adds(b, id);
	sb_adds(b, "@");
	sb_adds(b, domain);
	sb_adds(b, ">\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n");
	add_qp_body(b, body);
}

int
spool_from_ok(const char *v)
{
	char addr[SPOOL_ADDR_SIZE], name[256];
	size_t n = strlen(v);

	return text_ok(v, n, 0) && addr_split(v, n, addr, name,
	    sizeof(name)) == 0;
}

/* Build the message and write it into new/ or (hold) hold/. */
static enum err
submit(const struct conf *c, const char *to, const char *subject,
    const char *body_utf8, int hold, char *id, size_t idsz)
{
	struct sbuf b = {NULL, 0, 0, SPOOL_MSG_MAX, 0};
	char mid[SPOOL_ID_SIZE], from_addr[SPOOL_ADDR_SIZE], from_name[256];
	char dir[PATH_MAX];
	size_t n;
	enum err e;

	if (id != NULL && idsz > 0)
		id[0] = '\0';
	if (to == NULL || subject == NULL || body_utf8 == NULL)
		return ERR_INVALID_FIELD;
	if (strlen(to) >= SPOOL_ADDR_SIZE || !text_ok(to, strlen(to), 0) ||
	    !valid_email(to))
		return ERR_INVALID_FIELD;
	n = strlen(subject);
	if (n > SPOOL_SUBJECT_MAX || !text_ok(subject, n, 0))
		return ERR_INVALID_FIELD;
	n = strlen(body_utf8);
	if (n > SPOOL_BODY_MAX || !text_ok(body_utf8, n, 1))
		return ERR_INVALID_FIELD;
	if (id != NULL && idsz < SPOOL_ID_SIZE)
		return ERR_SYS;
	if (!text_ok(c->mail_from, strlen(c->mail_from), 0) ||
	    addr_split(c->mail_from, strlen(c->mail_from), from_addr,
	    from_name, sizeof(from_name)) == -1) {
		log_warnx("spool: [mail] from must be an address or "
		    "\"Name <address>\"");
		return ERR_SYS;
	}
	if (path3(dir, sizeof(dir), c->mail_spool_dir, NULL, NULL) == -1)
		return ERR_SYS;
	if (new_id(mid) == -1) {
		log_warnx("spool: no randomness for a message id");
		return ERR_SYS;
	}
	build_message(&b, mid, from_name, from_addr, to, subject, body_utf8,
	    time(NULL));
	if (b.err) {
		e = b.err == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID_FIELD;
		goto out;
	}
	if ((e = spool_init(dir)) != ERR_OK)
		goto out;
	if ((e = write_atomic(dir, mid, hold ? "hold" : "new", mid, b.p,
	    b.len)) != ERR_OK)
		goto out;
	if (id != NULL)
		memcpy(id, mid, SPOOL_ID_SIZE);
	log_debug("spool: %s %s", hold ? "held" : "queued", mid);
out:
	free(b.p);
	return e;
}

enum err
spool_submit(const struct conf *c, const char *to, const char *subject,
    const char *body_utf8, char *id, size_t idsz)
{
	return submit(c, to, subject, body_utf8, 0, id, idsz);
}

/* ------------------------------------------------------------ templates */

/* The value of key (klen bytes) in vars, or NULL. */
static const char *
var_find(const char *const *vars, const char *key, size_t klen)
{
	size_t i;

	for (i = 0; vars != NULL && vars[i] != NULL; i += 2)
		if (strlen(vars[i]) == klen && memcmp(vars[i], key, klen) == 0)
			return vars[i + 1] != NULL ? vars[i + 1] : "";
	return NULL;
}

/* Replace the {{key}} of the n bytes at t into b.  -1 if a placeholder
 * is unknown or malformed (logged, naming path). */
static int
render(const char *path, const char *t, size_t n,
    const char *const *vars, struct sbuf *b)
{
	const char *end, *k, *v;
	size_t i = 0, klen, j;

	while (i < n) {
		if (!(t[i] == '{' && i + 1 < n && t[i + 1] == '{')) {
			j = i + 1;
			while (j < n && t[j] != '{')
				j++;
			sb_add(b, t + i, j - i);
			i = j;
			continue;
		}
		end = NULL;
		for (j = i + 2; j + 1 < n && j < i + 2 + SPOOL_KEY_MAX + 4;
		    j++)
			if (t[j] == '}' && t[j + 1] == '}') {
				end = t + j;
				break;
			}
		if (end == NULL) {
			log_warnx("spool: %s: \"{{\" without \"}}\"", path);
			return -1;
		}
		k = t + i + 2;
		while (k < end && *k == ' ')
			k++;
		klen = (size_t)(end - k);
		while (klen > 0 && k[klen - 1] == ' ')
			klen--;
		for (j = 0; j < klen; j++)
			if (!((k[j] >= 'a' && k[j] <= 'z') ||
			    (k[j] >= '0' && k[j] <= '9') || k[j] == '_'))
				break;
		if (klen == 0 || j < klen) {
			log_warnx("spool: %s: a placeholder must be {{name}} "
			    "of a-z, 0-9 and _", path);
			return -1;
		}
		if ((v = var_find(vars, k, klen)) == NULL) {
			log_warnx("spool: %s: unknown placeholder {{%.*s}}",
			    path, (int)klen, k);
			return -1;
		}
		sb_adds(b, v);
		i = (size_t)(end - t) + 2;
	}
	return 0;
}

/*
 * Read the template at path and find its parts: the subject (after
 * "Subject:" and blanks, to the end of the first line) and the body
 * (after the empty second line).  ERR_OK with *buf to free, or ERR_SYS /
 * ERR_NOMEM (logged).
 */
static enum err
template_load(const char *path, char **buf, const char **subj,
    size_t *subjlen, const char **body)
{
	const char *nl, *s, *p;
	size_t len = 0;
	enum err e;

	*buf = NULL;
	e = read_file(path, 0, SPOOL_TMPL_MAX, buf, &len);
	if (e == ERR_NOMEM)
		return e;
	if (e == ERR_NOT_FOUND || e == ERR_INVALID_FIELD) {
		log_warnx("spool: template %s: %s", path, e == ERR_NOT_FOUND ?
		    "no such file" : "not a regular file of at most 64 KiB");
		return ERR_SYS;
	}
	if (e != ERR_OK)
		return ERR_SYS;
	p = *buf;
	if (!valid_utf8(p, len) || strncmp(p, "Subject:", 8) != 0 ||
	    (nl = strchr(p, '\n')) == NULL ||
	    !(nl[1] == '\n' || (nl[1] == '\r' && nl[2] == '\n'))) {
		log_warnx("spool: template %s: must be UTF-8 starting with "
		    "\"Subject: ...\", then an empty line, then the body",
		    path);
		free(*buf);
		*buf = NULL;
		return ERR_SYS;
	}
	s = p + 8;
	while (*s == ' ' || *s == '\t')
		s++;
	*subj = s;
	*subjlen = (size_t)(nl - s);
	if (*subjlen > 0 && s[*subjlen - 1] == '\r')
		(*subjlen)--;
	*body = nl[1] == '\n' ? nl + 2 : nl + 3;
	return ERR_OK;
}

enum err
spool_render(const char *template_path, const char *const *vars,
    char **out)
{
	struct sbuf b = {NULL, 0, 0, SPOOL_MSG_MAX, 0};
	const char *subj, *body;
	size_t subjlen;
	char *buf = NULL;
	enum err e;

	*out = NULL;
	if ((e = template_load(template_path, &buf, &subj, &subjlen,
	    &body)) != ERR_OK)
		return e;
	if (render(template_path, buf, strlen(buf), vars, &b) == -1) {
		e = ERR_SYS;
		goto out;
	}
	if (b.p == NULL)
		sb_adds(&b, "");
	if (b.err) {
		e = b.err == ERR_NOMEM ? ERR_NOMEM : ERR_SYS;
		goto out;
	}
	*out = b.p;
	b.p = NULL;
	e = ERR_OK;
out:
	free(b.p);
	free(buf);
	return e;
}

enum err
spool_mail(const struct conf *c, const char *name, const char *const *vars,
    const char *to, int hold, char *id, size_t idsz)
{
	struct sbuf sb = {NULL, 0, 0, SPOOL_SUBJECT_MAX * 4, 0};
	struct sbuf bb = {NULL, 0, 0, SPOOL_BODY_MAX, 0};
	char path[PATH_MAX], file[128], *buf = NULL;
	const char *subj, *body;
	size_t subjlen, i;
	enum err e = ERR_SYS;
	int n;

	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_'))
			return ERR_SYS;
	if (i == 0)
		return ERR_SYS;
	n = snprintf(file, sizeof(file), "%s.txt", name);
	if (n < 0 || (size_t)n >= sizeof(file) ||
	    path3(path, sizeof(path), c->mail_template_dir, file, NULL) == -1)
		return ERR_SYS;
	if ((e = template_load(path, &buf, &subj, &subjlen, &body)) !=
	    ERR_OK)
		return e;
	if (render(path, subj, subjlen, vars, &sb) == -1 ||
	    render(path, body, strlen(body), vars, &bb) == -1) {
		e = ERR_SYS;
		goto out;
	}
	if (sb.err == ERR_NOMEM || bb.err == ERR_NOMEM) {
		e = ERR_NOMEM;
		goto out;
	}
	if (sb.err || bb.err) {
		e = ERR_INVALID_FIELD;
		goto out;
	}
	e = submit(c, to, sb.p != NULL ? sb.p : "", bb.p != NULL ? bb.p : "",
	    hold, id, idsz);
out:
	free(sb.p);
	free(bb.p);
	free(buf);
	return e;
}

/* ------------------------------------------------------------ parsing */

enum spool_hdr { HDR_FROM, HDR_TO, HDR_SUBJECT, HDR_DATE, HDR_MSGID,
    HDR__MAX };

static const char *const hdr_names[HDR__MAX] = {
	[HDR_FROM] = "From",
	[HDR_TO] = "To",
	[HDR_SUBJECT] = "Subject",
	[HDR_DATE] = "Date",
	[HDR_MSGID] = "Message-ID",
};

/* A header field as found: name and the folded value, in the buffer. */
struct spool_field {
	const char *name;
	size_t namelen;
	const char *val;         /* from after the ':' to before the CRLF */
	size_t vallen;           /* of the last line */
};

/* The unfolded value of f (CRLFs dropped) into out (outsz bytes).
 * -1 if it does not fit. */
static int
unfold(const struct spool_field *f, char *out, size_t outsz, size_t *lenp)
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
field_end(const struct spool_field *f, int seen[HDR__MAX], char *from,
    char *to)
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
spool_parse(const char *buf, size_t n, char *from, char *to, int *utf8,
    const char **why)
{
	struct spool_field f = {NULL, 0, NULL, 0};
	const char *line, *lf, *w = NULL, *colon;
	int seen[HDR__MAX] = {0};
	size_t pos = 0, len, i, hdrlen = 0;
	int in_hdr = 1;

	from[0] = to[0] = '\0';
	*utf8 = 0;
	if (n == 0)
		w = "empty";
	else if (n > SPOOL_MSG_MAX)
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
		if (len > SPOOL_LINE_MAX) {
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
		if (f.name != NULL && (w = field_end(&f, seen, from, to)) !=
		    NULL)
			break;
		f.name = NULL;
		if (len == 0) {
			in_hdr = 0;
			hdrlen = pos;
			continue;
		}
		if ((colon = memchr(line, ':', len)) == NULL ||
		    colon == line) {
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

enum err
spool_load(const char *dir, const char *id, struct spool_msg **out,
    const char **why)
{
	struct spool_msg *m = NULL;
	char path[PATH_MAX];
	enum err e;

	*out = NULL;
	if (why != NULL)
		*why = "";
	if (!is_id(id)) {
		if (why != NULL)
			*why = "not a message id";
		return ERR_INVALID_FIELD;
	}
	if (path3(path, sizeof(path), dir, "new", id) == -1)
		return ERR_SYS;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ERR_NOMEM;
	memcpy(m->id, id, SPOOL_ID_SIZE);
	e = read_file(path, 1, SPOOL_MSG_MAX, &m->data, &m->len);
	if (e == ERR_INVALID_FIELD && why != NULL)
		*why = "not a regular file of at most 1 MiB";
	if (e == ERR_OK)
		e = spool_parse(m->data, m->len, m->from, m->to, &m->utf8, why);
	if (e != ERR_OK) {
		spool_msg_free(m);
		return e;
	}
	*out = m;
	return ERR_OK;
}

void
spool_msg_free(struct spool_msg *m)
{
	if (m == NULL)
		return;
	free(m->data);
	free(m);
}

/* ------------------------------------------------------------ queue */

static int
entry_cmp(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * Call fn(dfd, name, arg) for each entry of directory path but "." and
 * "..", until fn returns something else than ERR_OK, which is returned.
 * ERR_OK; ERR_NOT_FOUND if path does not exist; ERR_SYS (logged).
 */
static enum err
dir_walk(const char *path, enum err (*fn)(int, const char *, void *),
    void *arg)
{
	struct dirent *de;
	enum err e = ERR_OK;
	DIR *d;

	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		log_warn("spool: opendir %s", path);
		return ERR_SYS;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				log_warn("spool: readdir %s", path);
				e = ERR_SYS;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((e = fn(dirfd(d), de->d_name, arg)) != ERR_OK)
			break;
	}
	(void)closedir(d);
	return e;
}

/*
 * stat name in directory dfd into *st: 1 if it is a regular file, 0 if
 * it is something else or gone, -1 on an error (logged).
 */
static int
regular_at(int dfd, const char *name, struct stat *st)
{
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("spool: stat %s", name);
		return -1;
	}
	return S_ISREG(st->st_mode) ? 1 : 0;
}

/* What spool_list() collects. */
struct listing {
	struct spool_entry *v;
	size_t n, cap;
};

static enum err
list_one(int dfd, const char *name, void *arg)
{
	struct listing *l = arg;
	struct spool_entry *nv;
	struct stat st;
	int rc;

	if (!is_id(name) || (rc = regular_at(dfd, name, &st)) == 0)
		return ERR_OK;
	if (rc == -1)
		return ERR_SYS;
	if (l->n == l->cap) {
		l->cap = l->cap > 0 ? l->cap * 2 : 16;
		if ((nv = reallocarray(l->v, l->cap, sizeof(*nv))) == NULL)
			return ERR_NOMEM;
		l->v = nv;
	}
	memcpy(l->v[l->n].id, name, SPOOL_ID_SIZE);
	l->v[l->n].mtime = st.st_mtim;
	l->n++;
	return ERR_OK;
}

enum err
spool_list(const char *dir, struct spool_entry **out, size_t *np)
{
	struct listing l = { NULL, 0, 0 };
	char path[PATH_MAX];
	enum err e;

	*out = NULL;
	*np = 0;
	if (path3(path, sizeof(path), dir, "new", NULL) == -1)
		return ERR_SYS;
	if ((e = dir_walk(path, list_one, &l)) != ERR_OK) {
		if (e == ERR_NOT_FOUND) {
			log_warnx("spool: %s is missing", path);
			e = ERR_SYS;
		}
		free(l.v);
		return e;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), entry_cmp);
	*out = l.v;
	*np = l.n;
	return ERR_OK;
}

/* A decimal number of the whole line "name N": 0, or -1. */
static int
state_field(const char *line, size_t len, const char *name, long long *out)
{
	size_t k = strlen(name), i;
	long long v = 0;

	if (len <= k + 1 || strncmp(line, name, k) != 0 || line[k] != ' ')
		return -1;
	for (i = k + 1; i < len; i++) {
		if (line[i] < '0' || line[i] > '9' || v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (line[i] - '0');
	}
	*out = v;
	return 0;
}

enum err
spool_state_get(const char *dir, const char *id, struct spool_state *st)
{
	char path[PATH_MAX], *buf = NULL, *nl;
	long long a, t;
	size_t len = 0;
	enum err e;

	st->attempts = 0;
	st->next = 0;
	if (!is_id(id) || path3(path, sizeof(path), dir, "state", id) == -1)
		return ERR_SYS;
	e = read_file(path, 1, SPOOL_STATE_MAX, &buf, &len);
	if (e == ERR_NOT_FOUND)
		return ERR_OK;
	if (e == ERR_OK) {
		if ((nl = strchr(buf, '\n')) != NULL &&
		    state_field(buf, (size_t)(nl - buf), "attempts", &a) ==
		    0 && nl[1] != '\0' && strchr(nl + 1, '\n') ==
		    buf + len - 1 && state_field(nl + 1,
		    (size_t)(buf + len - 1 - (nl + 1)), "next", &t) == 0 &&
		    a <= INT_MAX) {
			st->attempts = (int)a;
			st->next = (time_t)t;
		} else {
			log_warnx("spool: %s: damaged, starting over", path);
		}
		free(buf);
		return ERR_OK;
	}
	if (e == ERR_INVALID_FIELD) {
		log_warnx("spool: %s: damaged, starting over", path);
		return ERR_OK;
	}
	return e;
}

enum err
spool_state_put(const char *dir, const char *id,
    const struct spool_state *st)
{
	char text[SPOOL_STATE_MAX], tmpname[SPOOL_ID_SIZE];
	int n;

	if (!is_id(id) || new_id(tmpname) == -1)
		return ERR_SYS;
	n = snprintf(text, sizeof(text), "attempts %d\nnext %lld\n",
	    st->attempts, (long long)st->next);
	if (n < 0 || (size_t)n >= sizeof(text))
		return ERR_SYS;
	return write_atomic(dir, tmpname, "state", id, text, (size_t)n);
}

/* Unlink dir/sub/name; ENOENT is fine.  0, or -1 (logged). */
static int
unlink3(const char *dir, const char *sub, const char *name)
{
	char path[PATH_MAX];

	if (path3(path, sizeof(path), dir, sub, name) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("spool: unlink %s", path);
		return -1;
	}
	return 0;
}

enum err
spool_done(const char *dir, const char *id)
{
	char path[PATH_MAX];

	if (!is_id(id) || unlink3(dir, "new", id) == -1 ||
	    path3(path, sizeof(path), dir, "new", NULL) == -1 ||
	    fsync_dir(path) == -1)
		return ERR_SYS;
	if (unlink3(dir, "state", id) == -1)
		return ERR_SYS;
	return ERR_OK;
}

enum err
spool_fail(const char *dir, const char *id, int attempts, const char *reason)
{
	char text[SPOOL_REASON_MAX + 256], clean[SPOOL_REASON_MAX + 1];
	char tmpname[SPOOL_ID_SIZE], name[SPOOL_ID_SIZE + 8], date[64];
	char src[PATH_MAX], dst[PATH_MAX], fdir[PATH_MAX], ndir[PATH_MAX];
	size_t i;
	enum err e;
	int n;

	if (!is_id(id) || new_id(tmpname) == -1)
		return ERR_SYS;
	/* One line of reason whatever the server said. */
	for (i = 0; reason[i] != '\0' && i < SPOOL_REASON_MAX; i++)
		clean[i] = ((unsigned char)reason[i] < 0x20 ||
		    reason[i] == 0x7f) ? '?' : reason[i];
	clean[i] = '\0';
	rfc5322_date(time(NULL), date, sizeof(date));
	n = snprintf(text, sizeof(text), "id: %s\nattempts: %d\nfailed: %s\n"
	    "reason: %s\n", id, attempts, date, clean);
	if (n < 0 || (size_t)n >= sizeof(text))
		return ERR_SYS;
	n = snprintf(name, sizeof(name), "%s.reason", id);
	if (n < 0 || (size_t)n >= sizeof(name))
		return ERR_SYS;
	if ((e = write_atomic(dir, tmpname, "failed", name, text,
	    strlen(text))) != ERR_OK)
		return e;
	if (path3(src, sizeof(src), dir, "new", id) == -1 ||
	    path3(dst, sizeof(dst), dir, "failed", id) == -1 ||
	    path3(fdir, sizeof(fdir), dir, "failed", NULL) == -1 ||
	    path3(ndir, sizeof(ndir), dir, "new", NULL) == -1)
		return ERR_SYS;
	if (rename(src, dst) == -1) {
		log_warn("spool: rename %s to %s", src, dst);
		return ERR_SYS;
	}
	if (fsync_dir(fdir) == -1 || fsync_dir(ndir) == -1)
		return ERR_SYS;
	if (unlink3(dir, "state", id) == -1)
		return ERR_SYS;
	return ERR_OK;
}

int
spool_purge(const char *dir, time_t max_age)
{
	static const char *const subs[] = {"tmp", "state"};
	char path[PATH_MAX], msg[PATH_MAX];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	size_t i;
	int count = 0, rc = 0;
	DIR *d;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (path3(path, sizeof(path), dir, subs[i], NULL) == -1)
			return -1;
		if ((d = opendir(path)) == NULL) {
			log_warn("spool: opendir %s", path);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 || S_ISDIR(st.st_mode))
				continue;
			if (i == 0 && st.st_mtime > now - max_age)
				continue;
			if (i == 1) {
				/* A state file whose message is gone. */
				if (!is_id(de->d_name) ||
				    path3(msg, sizeof(msg), dir, "new",
				    de->d_name) == -1 ||
				    access(msg, F_OK) == 0 || errno != ENOENT)
					continue;
			}
			if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
				log_warn("spool: unlink %s/%s", path,
				    de->d_name);
				rc = -1;
				continue;
			}
			log_info("spool: purged %s/%s", subs[i], de->d_name);
			count++;
		}
		(void)closedir(d);
	}
	return rc == -1 ? -1 : count;
}

/* ------------------------------------------------------------ held */

enum err
spool_release(const char *dir, const char *id)
{
	char src[PATH_MAX], dst[PATH_MAX], ndir[PATH_MAX];

	if (!is_id(id) || path3(src, sizeof(src), dir, "hold", id) == -1 ||
	    path3(dst, sizeof(dst), dir, "new", id) == -1 ||
	    path3(ndir, sizeof(ndir), dir, "new", NULL) == -1)
		return ERR_SYS;
	if (rename(src, dst) == -1) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		log_warn("spool: rename %s to %s", src, dst);
		return ERR_SYS;
	}
	if (fsync_dir(ndir) == -1)
		return ERR_SYS;
	log_debug("spool: released %s", id);
	return ERR_OK;
}

enum err
spool_drop(const char *dir, const char *id)
{
	char hdir[PATH_MAX];

	if (!is_id(id) || unlink3(dir, "hold", id) == -1 ||
	    path3(hdir, sizeof(hdir), dir, "hold", NULL) == -1 ||
	    fsync_dir(hdir) == -1)
		return ERR_SYS;
	log_debug("spool: dropped %s", id);
	return ERR_OK;
}

int
spool_is_held(const char *dir, const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	return is_id(id) && path3(path, sizeof(path), dir, "hold", id) == 0 &&
	    lstat(path, &st) == 0;
}

/* What spool_held() walks with. */
struct holding {
	time_t before;
	int (*fn)(const char *, void *);
	void *arg;
};

static enum err
held_one(int dfd, const char *name, void *arg)
{
	struct holding *w = arg;
	struct stat st;

	if (is_id(name) && regular_at(dfd, name, &st) == 1 &&
	    st.st_mtime <= w->before && w->fn(name, w->arg) == -1)
		return ERR_NOT_FOUND;   /* stop: fn said so */
	return ERR_OK;
}

enum err
spool_held(const char *dir, time_t before, int (*fn)(const char *, void *),
    void *arg)
{
	struct holding w = { before, fn, arg };
	char path[PATH_MAX];
	enum err e;

	if (path3(path, sizeof(path), dir, "hold", NULL) == -1)
		return ERR_SYS;
	e = dir_walk(path, held_one, &w);
	return e == ERR_NOT_FOUND ? ERR_OK : e;
}
