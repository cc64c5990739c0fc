/*
 * test_spool.c: the mail spool: header injection refused, the message
 * format (headers, RFC 2047 subject, quoted-printable body, CRLF) as
 * queued, the atomic write (nothing left behind when a write fails),
 * mail from templates, held mail, and the mailer's queue operations.
 * Runs from the repository root (it renders the templates in conf/mail)
 * in a temporary spool.  The parser alone is test_msg.c's, templates
 * alone test_tmpl.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "conf.h"
#include "log.h"
#include "msg.h"
#include "smtp.h"
#include "spool.h"
#include "t.h"

static char root[256];  /* the temporary directory */
static char spool[300]; /* root/spool */

/* Number of entries (not . or ..) in spool/sub. */
static int
count(const char *sub)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", spool, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The whole file at path, NUL-terminated (caller frees), or NULL. */
static char *
slurp(const char *path, size_t *lenp)
{
	char *buf = NULL;
	struct stat st;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1))) {
		r = read(fd, buf, (size_t)st.st_size);
		if (r != st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[r] = '\0';
			if (lenp != NULL)
				*lenp = (size_t)r;
		}
	}
	close(fd);
	return buf;
}

static void
spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static char *
msg_of(const char *id, size_t *lenp)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/new/%s", spool, id);
	return slurp(path, lenp);
}

/* The unfolded value of header name in msg into out, or "" if absent. */
static void
header(const char *msg, const char *name, char *out, size_t outsz)
{
	const char *p = msg, *e;
	size_t n = strlen(name), o = 0;

	out[0] = '\0';
	while (p != NULL && *p != '\0' && strncmp(p, "\r\n", 2) != 0) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			for (;;) {
				e = strstr(p, "\r\n");
				while (p < e && o + 1 < outsz)
					out[o++] = *p++;
				p = e + 2;
				if (*p != ' ' && *p != '\t')
					break;
			}
			out[o] = '\0';
			return;
		}
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
}

/* Decode "=?UTF-8?B?...?=" words (separated by spaces) into out. */
static int
ew_decode(const char *v, char *out, size_t outsz)
{
	char b[256];
	const char *p = v, *e;
	size_t o = 0, n, i, k;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, "=?UTF-8?B?", 10) != 0)
			return -1;
		p += 10;
		if ((e = strstr(p, "?=")) == NULL)
			return -1;
		for (i = 0, k = 0; p + i < e && k + 1 < sizeof(b); i++) {
			if (p[i] == '=')
				continue;
			b[k++] = p[i] == '+' ? '-' : p[i] == '/' ? '_' : p[i];
		}
		n = b64url_decode(b, k, (unsigned char *)out + o,
		    outsz - o - 1);
		if (n == (size_t)-1)
			return -1;
		o += n;
		p = e + 2;
	}
	out[o] = '\0';
	return 0;
}

/* Quoted-printable body (CRLF lines) back to text with "\n" lines. */
static int
qp_decode(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	unsigned v;

	while (*in != '\0' && o + 1 < outsz) {
		if (in[0] == '=' && in[1] == '\r' && in[2] == '\n') {
			in += 3;
		} else if (in[0] == '=') {
			if (sscanf(in + 1, "%2X", &v) != 1)
				return -1;
			out[o++] = (char)v;
			in += 3;
		} else if (in[0] == '\r' && in[1] == '\n') {
			out[o++] = '\n';
			in += 2;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
	return 0;
}

static struct conf *
test_conf(void)
{
	struct conf *c = conf_defaults();

	if (c == NULL)
		return NULL;
	free(c->mail_spool_dir);
	free(c->mail_from);
	free(c->mail_template_dir);
	c->mail_spool_dir = strdup(spool);
	c->mail_from = strdup("Latch Test <noreply@example.com>");
	c->mail_template_dir = strdup("conf/mail");
	return c;
}

static void
test_injection(struct conf *c)
{
	/* clang-format off */
	static const struct {
		const char *to, *subject, *body, *what;
	} bad[] = {
		{"a@example.com\r\nBcc: x@evil.test", "s", "b", "CRLF in to"},
		{"a@example.com\nBcc: x@evil.test", "s", "b", "LF in to"},
		{"a@example.com, x@evil.test", "s", "b", "two addresses"},
		{"Name <a@example.com>", "s", "b", "display name in to"},
		{"not-an-address", "s", "b", "no @ in to"},
		{"", "s", "b", "empty to"},
		{"a@example.com", "hi\r\nBcc: x@evil.test", "b", "CRLF in "
		    "subject"},
		{"a@example.com", "hi\nBcc: x@evil.test", "b", "LF in subject"},
		{"a@example.com", "hi\rthere", "b", "CR in subject"},
		{"a@example.com", "hi\tthere", "b", "tab in subject"},
		{"a@example.com", "hi\x01", "b", "C0 in subject"},
		{"a@example.com", "hi\x7f", "b", "DEL in subject"},
		{"a@example.com", "hi\xc2\x85", "b", "C1 NEL in subject"},
		{"a@example.com", "hi\xff", "b", "bad UTF-8 in subject"},
		{"a@example.com", "s", "a\rb", "bare CR in body"},
		{"a@example.com", "s", "a\x1b[31m", "ESC in body"},
		{"a@example.com", "s", "\xc3", "bad UTF-8 in body"},
	};
	/* clang-format on */
	char id[SPOOL_ID_SIZE], name[128], *big;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "refused: %s", bad[i].what);
		T_EQ_INT(spool_submit(c, bad[i].to, bad[i].subject, bad[i].body,
			     id, sizeof(id)),
		    ERR_INVALID_FIELD, name);
	}
	big = malloc(MSG_BODY_MAX + 2);
	memset(big, 'x', MSG_BODY_MAX + 1);
	big[MSG_BODY_MAX + 1] = '\0';
	T_EQ_INT(spool_submit(c, "a@example.com", "s", big, id, sizeof(id)),
	    ERR_INVALID_FIELD, "refused: body too large");
	big[MSG_SUBJECT_MAX + 1] = '\0';
	T_EQ_INT(spool_submit(c, "a@example.com", big, "b", id, sizeof(id)),
	    ERR_INVALID_FIELD, "refused: subject too long");
	free(big);
	T_EQ_INT(count("new"), 0, "nothing refused reached new/");
	T_EQ_INT(count("tmp"), 0, "nothing refused left in tmp/");

	/* A bad [mail] from is the deployment's fault. */
	free(c->mail_from);
	c->mail_from = strdup("Latch <not an address>");
	T_EQ_INT(spool_submit(c, "a@example.com", "s", "b", id, sizeof(id)),
	    ERR_SYS, "bad [mail] from: ERR_SYS");
	free(c->mail_from);
	c->mail_from = strdup("Latch Test <noreply@example.com>");
}

static void
test_format(struct conf *c)
{
	const char *body =
	    "Hello Zoë,\n\nline two ends in spaces  \n"
	    ".starts with a dot\nFrom the start\na=b\n"
	    "a long line that goes on and on and on and on and on and on and "
	    "on and on and on and on: ünïcödé at the end ✓\r\nlast";
	char id[SPOOL_ID_SIZE], v[2048], dec[4096], from[MSG_ADDR_SIZE];
	char to[MSG_ADDR_SIZE], mid[128], *m, *p, *line;
	const char *why = NULL;
	struct stat st;
	size_t len = 0, maxline = 0;
	int utf8 = -1, crlf = 1;

	T_EQ_INT(spool_submit(c, "zoe@example.org",
		     "Welcome to Zürich ✓ "
		     "— a subject long enough to need two encoded words",
		     body, id, sizeof(id)),
	    ERR_OK, "submit: ok");
	T_EQ_INT(strlen(id), SPOOL_ID_LEN, "submit: id length");
	if (!T_OK((m = msg_of(id, &len)) != NULL, "submit: file in new/"))
		return;
	T_EQ_INT(count("tmp"), 0, "submit: tmp/ empty");

	snprintf(v, sizeof(v), "%s/new/%s", spool, id);
	T_OK(stat(v, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "submit: message mode 0600");
	snprintf(v, sizeof(v), "%s/new", spool);
	T_OK(stat(v, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "submit: new/ mode 0700");

	for (p = m; (line = strstr(p, "\n")) != NULL; p = line + 1) {
		if (line == m || line[-1] != '\r')
			crlf = 0;
		if ((size_t)(line - p) > maxline)
			maxline = (size_t)(line - p);
	}
	T_OK(crlf && m[len - 1] == '\n', "format: every line ends in CRLF");
	T_OK(maxline <= 78, "format: no line longer than 78");

	header(m, "From", v, sizeof(v));
	T_EQ_STR(v, "Latch Test <noreply@example.com>", "format: From");
	header(m, "To", v, sizeof(v));
	T_EQ_STR(v, "zoe@example.org", "format: To");
	header(m, "Subject", v, sizeof(v));
	T_OK(strncmp(v, "=?UTF-8?B?", 10) == 0, "format: Subject encoded");
	T_OK(ew_decode(v, dec, sizeof(dec)) == 0 &&
		strcmp(dec,
		    "Welcome "
		    "to Zürich ✓ — a subject long enough to need two encoded "
		    "words") == 0,
	    "format: Subject decodes");
	header(m, "Date", v, sizeof(v));
	{
		char wd[8], mon[8], zone[8];
		int d, y, hh, mm, ss;

		T_OK(sscanf(v, "%3s, %d %3s %d %d:%d:%d %5s", wd, &d, mon, &y,
			 &hh, &mm, &ss, zone) == 8 &&
			wd[3] == '\0' && v[3] == ',' &&
			strcmp(zone, "+0000") == 0 && y >= 2024,
		    "format: Date is RFC 5322 in UTC");
	}
	header(m, "Message-ID", v, sizeof(v));
	snprintf(mid, sizeof(mid), "<%s@example.com>", id);
	T_EQ_STR(v, mid, "format: Message-ID <id@domain of from>");
	header(m, "MIME-Version", v, sizeof(v));
	T_EQ_STR(v, "1.0", "format: MIME-Version");
	header(m, "Content-Type", v, sizeof(v));
	T_EQ_STR(v, "text/plain; charset=utf-8", "format: Content-Type");
	header(m, "Content-Transfer-Encoding", v, sizeof(v));
	T_EQ_STR(v, "quoted-printable", "format: Content-Transfer-Encoding");

	p = strstr(m, "\r\n\r\n");
	if (T_OK(p != NULL, "format: header ends with an empty line")) {
		T_OK(qp_decode(p + 4, dec, sizeof(dec)) == 0, "format: QP");
		T_EQ_STR(dec,
		    "Hello Zoë,\n\nline two ends in spaces  \n"
		    ".starts with a dot\nFrom the start\na=b\n"
		    "a long line that goes on and on and on and on and on and "
		    "on and on and on and on and on: ünïcödé at the end ✓\n"
		    "last\n",
		    "format: body intact through quoted-printable");
		T_OK(strstr(p, "\r\n.") == NULL &&
			strstr(p, "\r\nFrom ") == NULL,
		    "format: no line starts with '.' or 'From '");
		T_OK(strstr(p, " \r\n") == NULL, "format: no trailing space");
	}

	T_EQ_INT(msg_parse(m, len, from, to, &utf8, &why), ERR_OK,
	    "parse: our own message");
	T_EQ_STR(from, "noreply@example.com", "parse: envelope from");
	T_EQ_STR(to, "zoe@example.org", "parse: envelope to");
	T_EQ_INT(utf8, 0, "parse: ASCII addresses");
	free(m);

	/* Plain ASCII subject stays readable; a long one is folded. */
	T_EQ_INT(spool_submit(c, "a@example.com", "Reset your password", "", id,
		     sizeof(id)),
	    ERR_OK, "submit: empty body");
	if ((m = msg_of(id, &len)) != NULL) {
		T_OK(strstr(m, "\r\nSubject: Reset your password\r\n") != NULL,
		    "format: ASCII subject as is");
		free(m);
	}
	T_EQ_INT(spool_submit(c, "a@example.com",
		     "looks =?like?= an "
		     "encoded word",
		     "b", id, sizeof(id)),
	    ERR_OK, "submit: =? subject");
	if ((m = msg_of(id, &len)) != NULL) {
		header(m, "Subject", v, sizeof(v));
		T_OK(ew_decode(v, dec, sizeof(dec)) == 0 &&
			strcmp(dec, "looks =?like?= an encoded word") == 0,
		    "format: \"=?\" in a subject gets encoded");
		free(m);
	}

	/* A display name that needs quoting, and one that needs encoding. */
	free(c->mail_from);
	c->mail_from = strdup("Example, Inc. <noreply@example.com>");
	T_EQ_INT(spool_submit(c, "a@example.com", "s", "b", id, sizeof(id)),
	    ERR_OK, "submit: quoted display name");
	if ((m = msg_of(id, &len)) != NULL) {
		header(m, "From", v, sizeof(v));
		T_EQ_STR(v, "\"Example, Inc.\" <noreply@example.com>",
		    "format: From display name quoted");
		T_EQ_INT(msg_parse(m, len, from, to, &utf8, &why), ERR_OK,
		    "parse: quoted display name");
		free(m);
	}
	free(c->mail_from);
	c->mail_from = strdup("Zürich Büro <noreply@example.com>");
	T_EQ_INT(spool_submit(c, "a@example.com", "s", "b", id, sizeof(id)),
	    ERR_OK, "submit: UTF-8 display name");
	if ((m = msg_of(id, &len)) != NULL) {
		header(m, "From", v, sizeof(v));
		T_OK(strncmp(v, "=?UTF-8?B?", 10) == 0 &&
			strstr(v, "?= <noreply@example.com>") != NULL,
		    "format: From display name encoded");
		free(m);
	}
	free(c->mail_from);
	c->mail_from = strdup("noreply@example.com");
	T_EQ_INT(spool_submit(c, "ünï@example.org", "s", "b", id, sizeof(id)),
	    ERR_OK, "submit: UTF-8 address");
	if ((m = msg_of(id, &len)) != NULL) {
		header(m, "From", v, sizeof(v));
		T_EQ_STR(v, "noreply@example.com", "format: bare From");
		T_EQ_INT(msg_parse(m, len, from, to, &utf8, &why), ERR_OK,
		    "parse: UTF-8 address");
		T_EQ_INT(utf8, 1, "parse: UTF-8 address needs SMTPUTF8");
		free(m);
	}
	free(c->mail_from);
	c->mail_from = strdup("Latch Test <noreply@example.com>");
}

/* A write that fails half-way leaves nothing, in new/ or in tmp/. */
static void
test_atomic(struct conf *c)
{
	char id[SPOOL_ID_SIZE], path[1024], *body;
	struct rlimit old, lim;
	int before = count("new");

	body = malloc(64 * 1024);
	memset(body, 'x', 64 * 1024 - 1);
	body[64 * 1024 - 1] = '\0';
	/* The file size limit makes write() fail with EFBIG mid-file, as a
	 * full disk would. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 4096;
	setrlimit(RLIMIT_FSIZE, &lim);
	T_EQ_INT(spool_submit(c, "a@example.com", "s", body, id, sizeof(id)),
	    ERR_SYS, "atomic: failed write is ERR_SYS");
	setrlimit(RLIMIT_FSIZE, &old);
	T_EQ_STR(id, "", "atomic: no id on failure");
	T_EQ_INT(count("new"), before, "atomic: nothing new in new/");
	T_EQ_INT(count("tmp"), 0, "atomic: half-written tmp file removed");
	free(body);

	/* A spool whose new/ cannot take the rename. */
	{
		struct conf *c2 = test_conf();
		char dir[512];

		snprintf(dir, sizeof(dir), "%s/broken", root);
		mkdir(dir, 0700);
		snprintf(path, sizeof(path), "%s/new", dir);
		spit(path, "not a directory\n");
		free(c2->mail_spool_dir);
		c2->mail_spool_dir = strdup(dir);
		T_EQ_INT(spool_submit(c2, "a@example.com", "s", "b", id,
			     sizeof(id)),
		    ERR_SYS, "atomic: new/ not a directory");
		snprintf(path, sizeof(path), "%s/tmp", dir);
		{
			DIR *d = opendir(path);
			struct dirent *de;
			int n = 0;

			while (d != NULL && (de = readdir(d)) != NULL)
				n += de->d_name[0] != '.';
			if (d != NULL)
				closedir(d);
			T_EQ_INT(n, 0,
			    "atomic: tmp/ cleaned after a failed "
			    "rename");
		}
		conf_free(c2);
	}
}

static void
test_mail(struct conf *c)
{
	const char *const inv[] = { "organization", "Acme", "inviter", "Bob",
		"role", "admin", "link", "https://x.test/register?code=abc",
		"code", "abc", "expires", "2030-01-01 00:00 UTC", NULL };
	char id[SPOOL_ID_SIZE], *m;
	char v[1024];
	size_t len;

	/* spool_mail: subject and body rendered apart. */
	T_EQ_INT(spool_mail(c, "invite", inv, "new@example.com", 0, id,
		     sizeof(id)),
	    ERR_OK, "mail: invite queued");
	if ((m = msg_of(id, &len)) != NULL) {
		header(m, "Subject", v, sizeof(v));
		T_EQ_STR(v, "You're invited to join Acme", "mail: subject");
		header(m, "To", v, sizeof(v));
		T_EQ_STR(v, "new@example.com", "mail: to");
		free(m);
	}
	{
		const char *const evil[] = { "organization",
			"Acme\r\nBcc: "
			"x@evil.test",
			"inviter", "Bob", "role", "user", "link", "l", "code",
			"c", "expires", "e", NULL };

		T_EQ_INT(spool_mail(c, "invite", evil, "new@example.com", 0, id,
			     sizeof(id)),
		    ERR_INVALID_FIELD,
		    "mail: a line break in a subject value is refused");
	}
	T_EQ_INT(spool_mail(c, "../etc/passwd", inv, "new@example.com", 0, id,
		     sizeof(id)),
	    ERR_SYS, "mail: template name is a bare name");
	T_EQ_INT(spool_mail(c, "nosuch", inv, "new@example.com", 0, id,
		     sizeof(id)),
	    ERR_SYS, "mail: missing template");
}

/* What test_held() saw of hold/. */
struct seen {
	int n;
	char id[SPOOL_ID_SIZE];
};

static int
saw(const char *id, void *arg)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->id, sizeof(s->id), "%s", id);
	return 0;
}

static int
saw_one(const char *id, void *arg)
{
	(void)saw(id, arg);
	return -1;
}

/* Mail held for its transaction: into hold/, then into new/ or gone. */
static void
test_held(const struct conf *c)
{
	const char *const vars[] = { "organization", "Acme", "inviter", "Bob",
		"role", "user", "link", "https://x.test/register?code=abc",
		"code", "abc", "expires", "soon", NULL };
	char id[SPOOL_ID_SIZE], path[700];
	struct seen s;
	int before = count("new");

	T_EQ_INT(spool_mail(c, "invite", vars, "new@example.com", 1, id,
		     sizeof(id)),
	    ERR_OK, "held: invite held");
	T_EQ_INT(count("hold"), 1, "held: in hold/");
	T_EQ_INT(count("new"), before, "held: not in new/");
	T_EQ_INT(count("tmp"), 0, "held: nothing left in tmp/");
	T_OK(spool_is_held(spool, id), "held: spool_is_held");
	T_OK(!spool_is_held(spool, "../new/x"), "held: not an id");

	memset(&s, 0, sizeof(s));
	T_EQ_INT(spool_held(spool, time(NULL) - 60, saw, &s), ERR_OK,
	    "held: list");
	T_EQ_INT(s.n, 0, "held: a young one is its writer's");
	T_EQ_INT(spool_held(spool, time(NULL) + 1, saw, &s), ERR_OK,
	    "held: list again");
	T_EQ_INT(s.n, 1, "held: an old one is listed");
	T_EQ_STR(s.id, id, "held: its id");

	T_EQ_INT(spool_release(spool, id), ERR_OK, "held: released");
	T_EQ_INT(count("hold"), 0, "held: gone from hold/");
	T_EQ_INT(count("new"), before + 1, "held: into new/");
	snprintf(path, sizeof(path), "%s/new/%s", spool, id);
	T_OK(access(path, F_OK) == 0, "held: new/<id>");
	T_OK(!spool_is_held(spool, id), "held: no longer held");
	T_EQ_INT(spool_release(spool, id), ERR_NOT_FOUND,
	    "held: released twice");

	T_EQ_INT(spool_mail(c, "invite", vars, "new@example.com", 1, id,
		     sizeof(id)),
	    ERR_OK, "held: another");
	T_EQ_INT(spool_drop(spool, id), ERR_OK, "held: dropped");
	T_EQ_INT(count("hold"), 0, "held: gone");
	T_EQ_INT(count("new"), before + 1, "held: not queued");
	T_EQ_INT(spool_drop(spool, id), ERR_OK, "held: dropped twice");
	{
		char id2[SPOOL_ID_SIZE];

		T_EQ_INT(spool_mail(c, "invite", vars, "new@example.com", 1, id,
			     sizeof(id)),
		    ERR_OK, "held: one");
		T_EQ_INT(spool_mail(c, "invite", vars, "new@example.com", 1,
			     id2, sizeof(id2)),
		    ERR_OK, "held: two");
		memset(&s, 0, sizeof(s));
		T_EQ_INT(spool_held(spool, time(NULL) + 1, saw_one, &s), ERR_OK,
		    "held: a walk fn stops");
		T_EQ_INT(s.n, 1, "held: it stopped at the first");
		T_EQ_INT(spool_drop(spool, id), ERR_OK, "held: drop one");
		T_EQ_INT(spool_drop(spool, id2), ERR_OK, "held: drop two");
	}
	T_EQ_INT(spool_release(spool, "../new/x"), ERR_SYS,
	    "held: a name that is not an id");
	T_EQ_INT(spool_drop(spool, "0123"), ERR_SYS,
	    "held: a short name refused");
	/* Whatever else lies in hold/ is not a held message. */
	snprintf(path, sizeof(path), "%s/hold/junk", spool);
	spit(path, "x");
	memset(&s, 0, sizeof(s));
	T_EQ_INT(spool_held(spool, time(NULL) + 1, saw, &s), ERR_OK,
	    "held: list with junk");
	T_EQ_INT(s.n, 0, "held: junk skipped");
	unlink(path);
}

static void
test_queue(struct conf *c)
{
	struct spool_entry *v = NULL;
	struct spool_state st = { 3, 1234567890 };
	struct timespec ts[2];
	char id1[SPOOL_ID_SIZE], id2[SPOOL_ID_SIZE], path[512], *r;
	struct spool_msg *m = NULL;
	const char *why = NULL;
	size_t n = 0, i;
	int i1 = -1, i2 = -1;

	T_EQ_INT(spool_submit(c, "a@example.com", "first", "1", id1,
		     sizeof(id1)),
	    ERR_OK, "queue: first");
	T_EQ_INT(spool_submit(c, "b@example.com", "second", "2", id2,
		     sizeof(id2)),
	    ERR_OK, "queue: second");
	/* Make the first clearly older. */
	snprintf(path, sizeof(path), "%s/new/%s", spool, id1);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 1000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(AT_FDCWD, path, ts, 0);
	snprintf(path, sizeof(path), "%s/new/not-an-id", spool);
	spit(path, "x");
	T_EQ_INT(spool_list(spool, &v, &n), ERR_OK, "list: ok");
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].id, id1) == 0)
			i1 = (int)i;
		if (strcmp(v[i].id, id2) == 0)
			i2 = (int)i;
		if (strcmp(v[i].id, "not-an-id") == 0)
			i1 = -100;
	}
	T_OK(i1 == 0 && i2 > i1, "list: oldest first, other names skipped");
	free(v);
	unlink(path);

	T_EQ_INT(spool_load(spool, id2, &m, &why), ERR_OK, "load: ok");
	if (m != NULL) {
		T_EQ_STR(m->to, "b@example.com", "load: to");
		T_EQ_STR(m->from, "noreply@example.com", "load: from");
	}
	spool_msg_free(m);
	T_EQ_INT(spool_load(spool, "0123456789abcdef0123456789abcdef", &m,
		     &why),
	    ERR_NOT_FOUND, "load: gone");
	T_EQ_INT(spool_load(spool, "../../etc/passwd", &m, &why),
	    ERR_INVALID_FIELD, "load: not an id");

	T_EQ_INT(spool_state_get(spool, id1, &st), ERR_OK, "state: none");
	T_OK(st.attempts == 0 && st.next == 0, "state: none is {0, 0}");
	st.attempts = 3;
	st.next = 1234567890;
	T_EQ_INT(spool_state_put(spool, id1, &st), ERR_OK, "state: put");
	st.attempts = 0;
	st.next = 0;
	T_EQ_INT(spool_state_get(spool, id1, &st), ERR_OK, "state: get");
	T_OK(st.attempts == 3 && st.next == 1234567890, "state: round trip");
	snprintf(path, sizeof(path), "%s/state/%s", spool, id1);
	spit(path, "garbage");
	T_EQ_INT(spool_state_get(spool, id1, &st), ERR_OK, "state: damaged");
	T_OK(st.attempts == 0, "state: damaged starts over");
	T_EQ_INT(count("tmp"), 0, "state: tmp/ empty");

	T_EQ_INT(spool_fail(spool, id1, 3, "550 5.1.1 no such\r\nuser"), ERR_OK,
	    "fail: ok");
	snprintf(path, sizeof(path), "%s/failed/%s", spool, id1);
	T_OK(access(path, F_OK) == 0, "fail: message in failed/");
	snprintf(path, sizeof(path), "%s/failed/%s.reason", spool, id1);
	r = slurp(path, NULL);
	T_OK(r != NULL &&
		strstr(r, "reason: 550 5.1.1 no such??user\n") != NULL &&
		strstr(r, "attempts: 3\n") != NULL,
	    "fail: reason file, one line");
	free(r);
	snprintf(path, sizeof(path), "%s/new/%s", spool, id1);
	T_OK(access(path, F_OK) == -1, "fail: gone from new/");
	/* What /metrics shows: ids only, not failed/'s .reason files. */
	T_EQ_INT(spool_count(spool, "failed"), 1, "count: failed/, no .reason");
	T_EQ_INT(spool_count(spool, "new"), count("new"), "count: new/");
	T_EQ_INT(spool_count(spool, "nonexistent"), 0,
	    "count: a directory not made yet holds nothing");
	snprintf(path, sizeof(path), "%s/state/%s", spool, id1);
	T_OK(access(path, F_OK) == -1, "fail: state gone");

	T_EQ_INT(spool_state_put(spool, id2, &st), ERR_OK, "done: state");
	T_EQ_INT(spool_done(spool, id2), ERR_OK, "done: ok");
	snprintf(path, sizeof(path), "%s/new/%s", spool, id2);
	T_OK(access(path, F_OK) == -1, "done: gone from new/");
	snprintf(path, sizeof(path), "%s/state/%s", spool, id2);
	T_OK(access(path, F_OK) == -1, "done: state gone");

	/* Purge: an old tmp file and an orphan state go, a fresh one stays. */
	snprintf(path, sizeof(path), "%s/tmp/old", spool);
	spit(path, "half");
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - 7200;
	utimensat(AT_FDCWD, path, ts, 0);
	snprintf(path, sizeof(path), "%s/tmp/fresh", spool);
	spit(path, "half");
	snprintf(path, sizeof(path), "%s/state/%s", spool,
	    "0123456789abcdef0123456789abcdef");
	spit(path, "attempts 1\nnext 0\n");
	T_EQ_INT(spool_purge(spool, 3600), 2, "purge: two removed");
	snprintf(path, sizeof(path), "%s/tmp/fresh", spool);
	T_OK(access(path, F_OK) == 0, "purge: fresh tmp file kept");
	unlink(path);
}

static void
test_smtp_reply(void)
{
	/* clang-format off */
	static const struct {
		const char *in;
		int rc, code;
		size_t used;
	} v[] = {
		{"250 ok\r\n", 1, 250, 8},
		{"250\r\n", 1, 250, 5},
		{"250-a\r\n250-b\r\n250 c\r\nrest", 1, 250, 21},
		{"220 hi\r\n250 next\r\n", 1, 220, 8},
		{"250-a\r\n", 0, 0, 0},
		{"25", 0, 0, 0},
		{"250 partial", 0, 0, 0},
		{"", 0, 0, 0},
		{"250-a\r\n251 b\r\n", -1, 0, 0},
		{"250 a\n", -1, 0, 0},
		{"250xok\r\n", -1, 0, 0},
		{"650 no\r\n", -1, 0, 0},
		{"2a0 no\r\n", -1, 0, 0},
		{"25\r\n", -1, 0, 0},
		{"250 a\rb\r\n", -1, 0, 0},
		{"250 a\x01\r\n", -1, 0, 0},
		{"x", -1, 0, 0},
		{"250-a\r\n25x", -1, 0, 0},
	};
	/* clang-format on */
	char name[96], *big;
	size_t i, used;
	int code, rc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		code = 0;
		used = 0;
		rc = smtp_reply_parse(v[i].in, strlen(v[i].in), &code, &used);
		snprintf(name, sizeof(name), "smtp reply %zu: result", i);
		T_EQ_INT(rc, v[i].rc, name);
		if (v[i].rc == 1) {
			snprintf(name, sizeof(name), "smtp reply %zu: code", i);
			T_EQ_INT(code, v[i].code, name);
			snprintf(name, sizeof(name), "smtp reply %zu: length",
			    i);
			T_EQ_INT(used, v[i].used, name);
		}
	}
	big = malloc(SMTP_LINE_MAX + 8);
	memset(big, 'x', SMTP_LINE_MAX + 8);
	memcpy(big, "250 ", 4);
	T_EQ_INT(smtp_reply_parse(big, SMTP_LINE_MAX + 8, &code, &used), -1,
	    "smtp reply: line too long");
	memcpy(big + SMTP_LINE_MAX - 2, "\r\n", 2);
	T_EQ_INT(smtp_reply_parse(big, SMTP_LINE_MAX, &code, &used), 1,
	    "smtp reply: longest line");
	free(big);
}

int
main(void)
{
	struct conf *c;

	log_init("test_spool", LOG_LVL_WARN);
	snprintf(root, sizeof(root), "/tmp/latch-test-spool-XXXXXX");
	if (!T_OK(mkdtemp(root) != NULL, "temporary directory"))
		return T_DONE();
	snprintf(spool, sizeof(spool), "%s/spool", root);
	if (!T_OK((c = test_conf()) != NULL, "conf"))
		return T_DONE();
	T_EQ_INT(spool_init(spool), ERR_OK, "init");

	test_injection(c);
	test_format(c);
	test_atomic(c);
	test_mail(c);
	test_held(c);
	test_queue(c);
	test_smtp_reply();
	conf_free(c);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", root);
	}
	return T_DONE();
}
