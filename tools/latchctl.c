/*
 * latchctl: the administrator's way in: write a config, migrate the
 * schema, create users (also the first superadmin), import users from
 * other systems, reset passwords, disable and enable accounts, list
 * users.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "apikey.h"
#include "conf.h"
#include "db.h"
#include "file.h"
#include "import.h"
#include "key.h"
#include "log.h"
#include "mfa.h"
#include "org.h"
#include "session.h"
#include "str.h"
#include "tok.h"
#include "user.h"
#include "valid.h"

#define MAX_SETS 64
#define INI_MAX (1024 * 1024) /* a config file to rewrite, bytes */
#define INI_LINE_MAX 2048     /* a value read from stdin, and its "\n" */

static const char *progname = "latchctl";

static void
usage(void)
{
	fprintf(stderr,
	    "usage: latchctl [-c CONFIG] COMMAND [ARGS]\n"
	    "  init PATH [--from EXAMPLE] [--set section.key=value]... "
	    "[--eddsa]\n"
	    "      write a new config with a fresh random jwt_secret and "
	    "mfa_key (0600)\n"
	    "      --eddsa: also Ed25519 keys beside it, and jwt_alg = EdDSA\n"
	    "  set section.key=value... [section.key]\n"
	    "      change keys of the config (a bare key: its value from "
	    "stdin)\n"
	    "  rotate-secret\n"
	    "      jwt_secret_previous = jwt_secret, new random jwt_secret\n"
	    "  rotate-mfa-key\n"
	    "      mfa_key_previous = mfa_key, new random mfa_key\n"
	    "  mfa-reset USER\n"
	    "      turn off USER's two-factor sign-in, end their sessions\n"
	    "  rotate-key\n"
	    "      Ed25519: jwt_key_next signs from now on (jwt_alg = EdDSA),\n"
	    "      jwt_key verifies until its tokens expired, a new\n"
	    "      jwt_key_next is published; the first time, only makes\n"
	    "      jwt_key_next\n"
	    "  migrate\n"
	    "      create or upgrade the schema (idempotent)\n"
	    "  create-user --org NAME --username U --email E [--name N]\n"
	    "              [--role superadmin|admin|user]\n"
	    "      password from stdin (first line) or prompted\n"
	    "  import --format jsonl [--update] [--dry-run] [--batch N] FILE\n"
	    "  import --format dumb --org NAME --email-domain DOMAIN\n"
	    "         [--role superadmin|admin|user] [--update] [--dry-run]\n"
	    "         [--batch N] FILE\n"
	    "      accounts with their password hashes (FILE - for stdin)\n"
	    "  reset-password USER     (USER: username or email)\n"
	    "  disable USER | enable USER\n"
	    "  list-users [--org NAME]\n"
	    "  create-key --org NAME --name N [--role user|admin]\n"
	    "             [--expires YYYY-MM-DDTHH:MM:SSZ]\n"
	    "      make an API key; it is printed once, on stdout\n"
	    "  list-keys [--org NAME] | revoke-key ID\n"
	    "  purge\n"
	    "      delete ended sessions and expired refresh tokens now\n"
	    "CONFIG defaults to $LATCH_CONFIG, else /etc/latch/latch.ini\n");
	exit(2);
}

static struct conf *
load(const char *path)
{
	char err[512];
	struct conf *c;

	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		exit(1);
	}
	return c;
}

static struct db *
open_db(const struct conf *c)
{
	struct db *db;

	if ((db = db_open(c)) == NULL || !db_ping(db)) {
		fprintf(stderr,
		    "%s: cannot reach the database (see the "
		    "[database] section of %s)\n",
		    progname, c->path);
		exit(1);
	}
	return db;
}

static void
die_err(const char *what, enum err e)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, err_str(e));
	exit(1);
}

/*
 * Read a password into buf: first line of stdin, or prompted twice on a
 * tty.  Exits with status 1 if there is none, the two differ or it is
 * too weak; nothing of it is left in memory then.
 */
static void
read_password(const struct conf *c, char *buf, size_t bufsz)
{
	char again[1100];
	const char *why = NULL;
	struct termios t, saved;
	int tty = isatty(STDIN_FILENO);

	again[0] = '\0';
	if (tty) {
		fprintf(stderr, "password: ");
		if (tcgetattr(STDIN_FILENO, &t) == 0) {
			saved = t;
			t.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
		}
	}
	if (fgets(buf, (int)bufsz, stdin) == NULL) {
		why = "no password given on stdin";
		goto out;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (tty) {
		fprintf(stderr, "\nagain: ");
		if (fgets(again, sizeof(again), stdin) == NULL)
			again[0] = '\0';
		again[strcspn(again, "\r\n")] = '\0';
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fprintf(stderr, "\n");
		if (strcmp(buf, again) != 0) {
			why = "passwords differ";
			goto out;
		}
	}
	if (!valid_utf8(buf, strlen(buf)) ||
	    !valid_password(buf, c->password_min_length))
		why = "";
out:
	tok_cleanse(again, sizeof(again));
	if (why == NULL)
		return;
	tok_cleanse(buf, bufsz);
	if (why[0] != '\0')
		fprintf(stderr, "%s: %s\n", progname, why);
	else
		fprintf(stderr,
		    "%s: the password must be %d to 256 "
		    "characters\n",
		    progname, c->password_min_length);
	exit(1);
}

/* "section.key=value" applied to the lines of an ini file. */
struct set {
	char section[64];
	char key[64];
	const char *value; /* borrowed: argv, or the line of stdin */
	int done;
};

/* Parse "section.key=value", or "section.key" when bare (its value is
 * then NULL), into s. */
static void
parse_set(const char *arg, struct set *s, int bare)
{
	const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');
	const char *kend = eq != NULL ? eq : arg + strlen(arg);

	if (dot == NULL || (eq == NULL && !bare) || dot > kend ||
	    (size_t)(dot - arg) >= sizeof(s->section) ||
	    (size_t)(kend - dot - 1) >= sizeof(s->key) || dot == arg ||
	    kend == dot + 1 ||
	    (eq != NULL && strpbrk(eq + 1, "\r\n") != NULL)) {
		fprintf(stderr, "%s: wants section.key=value: %s\n", progname,
		    arg);
		exit(2);
	}
	memcpy(s->section, arg, (size_t)(dot - arg));
	s->section[dot - arg] = '\0';
	memcpy(s->key, dot + 1, (size_t)(kend - dot - 1));
	s->key[kend - dot - 1] = '\0';
	s->value = eq != NULL ? eq + 1 : NULL;
	s->done = 0;
}

/* Does the line of n bytes at line assign key? */
static int
line_is_key(const char *line, size_t n, const char *key)
{
	size_t k = strlen(key), i = 0;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (n - i < k || strncmp(line + i, key, k) != 0)
		return 0;
	for (i += k; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	return i < n && line[i] == '=';
}

/* "key = value" of s, the value quoted when the loader would change it
 * (blanks at either end, or a pair of quotes around it). */
static void
set_put(struct str_buf *b, struct set *s)
{
	const char *v = s->value;
	size_t n = strlen(v);
	int quote = n > 0 &&
	    (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' ||
		v[n - 1] == '\t' || (n >= 2 && v[0] == '"' && v[n - 1] == '"'));

	str_buf_adds(b, s->key);
	str_buf_adds(b, quote ? " = \"" : " = ");
	str_buf_adds(b, v);
	str_buf_adds(b, quote ? "\"\n" : "\n");
	s->done = 1;
}

/* Write "key = value" of each set of section not yet done. */
static void
sets_flush(struct str_buf *b, struct set *sets, size_t nsets,
    const char *section)
{
	size_t i;

	for (i = 0; i < nsets; i++)
		if (!sets[i].done && strcmp(sets[i].section, section) == 0)
			set_put(b, &sets[i]);
}

/*
 * The ini file at path with sets applied: in its section, a set's key
 * takes the line of the first that assigns it (later ones are dropped),
 * or is added at the end of the section.  Every other line stays as it
 * is.  A set whose section is not in the file is left with done 0.  On
 * success *out is the text (caller cleanses and frees: it holds
 * secrets), *outlen bytes; returns 0, or 1 (said on stderr).
 */
static int
ini_apply(const char *path, struct set *sets, size_t nsets, char **out,
    size_t *outlen)
{
	struct str_buf b = { NULL, 0, 0, 0, ERR_OK };
	char section[64] = "", *in = NULL;
	const char *line, *nl, *l, *end;
	size_t len = 0, n, cap, i;
	enum err e;
	int rc = 1;

	*out = NULL;
	*outlen = 0;
	if ((e = file_read(path, 0, INI_MAX, &in, &len)) != ERR_OK) {
		if (e != ERR_SYS)
			fprintf(stderr, "%s: %s: %s\n", progname, path,
			    e == ERR_NOT_FOUND ?
				strerror(ENOENT) :
				e == ERR_NOMEM ?
				strerror(ENOMEM) :
				"not a regular file of at most 1 MiB");
		goto out;
	}
	/* Room for all of it at once: a secret is never left behind by a
	 * realloc(). */
	cap = len + 2;
	for (i = 0; i < nsets; i++)
		cap += strlen(sets[i].key) + strlen(sets[i].value) + 6;
	if ((b.p = malloc(cap)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", progname);
		goto out;
	}
	b.p[0] = '\0';
	b.cap = cap;
	b.max = cap - 1;
	for (line = in; line < in + len; line = nl) {
		nl = memchr(line, '\n', (size_t)(in + len - line));
		nl = nl != NULL ? nl + 1 : in + len;
		n = (size_t)(nl - line);
		for (l = line; l < nl && (*l == ' ' || *l == '\t'); l++)
			;
		if (l < nl && *l == '[') {
			/* Keys set for the section we leave, not yet in it. */
			sets_flush(&b, sets, nsets, section);
			end = memchr(l, ']', (size_t)(nl - l));
			if (end != NULL &&
			    (size_t)(end - l - 1) < sizeof(section)) {
				memcpy(section, l + 1, (size_t)(end - l - 1));
				section[end - l - 1] = '\0';
			}
			str_buf_add(&b, line, n);
			continue;
		}
		for (i = 0; i < nsets; i++)
			if (strcmp(sets[i].section, section) == 0 &&
			    line_is_key(line, n, sets[i].key))
				break;
		if (i == nsets) {
			str_buf_add(&b, line, n);
		} else if (!sets[i].done)
			set_put(&b, &sets[i]);
	}
	if (b.len > 0 && b.p[b.len - 1] != '\n')
		str_buf_adds(&b, "\n");
	sets_flush(&b, sets, nsets, section);
	if (b.err != ERR_OK) {
		fprintf(stderr, "%s: %s: cannot rewrite it\n", progname, path);
		goto out;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;
	rc = 0;
out:
	if (b.p != NULL) {
		tok_cleanse(b.p, b.cap);
		free(b.p);
	}
	if (in != NULL) {
		tok_cleanse(in, len);
		free(in);
	}
	return rc;
}

/* 32 + 16 random bytes: 65 base64url characters, 384 bits.  0, or 1
 * (said on stderr). */
static int
new_secret(char *out, size_t outsz)
{
	if (tok_new(32, out, outsz) == -1 ||
	    tok_new(16, out + strlen(out), outsz - strlen(out)) == -1) {
		fprintf(stderr, "%s: no randomness\n", progname);
		return 1;
	}
	return 0;
}

/* path.tmp-<random>, beside path, into out.  0, or 1 (said). */
static int
tmp_beside(const char *path, char *out, size_t outsz)
{
	char rnd[TOK_STR_SIZE];
	int n;

	if (tok_new(16, rnd, sizeof(rnd)) == -1) {
		fprintf(stderr, "%s: no randomness\n", progname);
		return 1;
	}
	n = snprintf(out, outsz, "%s.tmp-%s", path, rnd);
	if (n < 0 || (size_t)n >= outsz) {
		fprintf(stderr, "%s: %s: path too long\n", progname, path);
		return 1;
	}
	return 0;
}

/* What a rewritten config must hold before it replaces one. */
struct conf_expect {
	const char *secret;   /* jwt_secret (mfa_key with mfa), or NULL:
	                         any */
	const char *previous; /* jwt_secret_previous (mfa_key_previous
	                         with mfa), or NULL: any */
	int mfa;
};

/* file_write()'s check: the file at tmp loads, with the expected secrets. */
static int
conf_check(const char *tmp, void *arg)
{
	const struct conf_expect *x = arg;
	struct conf *c;
	char err[512];
	int rc = 0;

	if ((c = conf_load(tmp, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: the new config does not load: %s\n",
		    progname, err);
		return -1;
	}
	if ((x->secret != NULL &&
		strcmp(x->mfa ? c->mfa_key : c->jwt_secret, x->secret) != 0) ||
	    (x->previous != NULL &&
		strcmp(x->mfa ? c->mfa_key_previous : c->jwt_secret_previous,
		    x->previous) != 0)) {
		fprintf(stderr,
		    "%s: the new config does not load back its "
		    "secrets\n",
		    progname);
		rc = -1;
	}
	conf_free(c);
	return rc;
}

/*
 * Write the ini file at from, with sets applied (ini_apply()), as path,
 * atomically through file_write() with how.  Every set must find its
 * section in from.  0, or 1 (said on stderr); path is unchanged then.
 */
static int
ini_rewrite(const char *from, const char *path, struct set *sets, size_t nsets,
    const struct file_how *how)
{
	char tmp[PATH_MAX], *text = NULL;
	size_t len = 0, i;
	int rc = 1;

	if (ini_apply(from, sets, nsets, &text, &len) != 0)
		goto out;
	for (i = 0; i < nsets; i++)
		if (!sets[i].done) {
			fprintf(stderr, "%s: %s.%s: no such section in %s\n",
			    progname, sets[i].section, sets[i].key, from);
			goto out;
		}
	if (tmp_beside(path, tmp, sizeof(tmp)) != 0)
		goto out;
	if (file_write(tmp, path, text, len, how) != ERR_OK) {
		fprintf(stderr, "%s: %s: not written%s\n", progname, path,
		    errno == EEXIST ? " (refusing to overwrite a config)" : "");
		goto out;
	}
	rc = 0;
out:
	if (text != NULL) {
		tok_cleanse(text, len);
		free(text);
	}
	return rc;
}

/*
 * The example config that comes with this latchctl: PREFIX/share/latch/
 * beside PREFIX/bin/latchctl, or conf/ of the source tree it was built in
 * (build/latchctl).  Into buf; NULL if neither is there.
 */
static const char *
default_example(char *buf, size_t bufsz)
{
	static const char *const rel[] = {
		"/../share/latch/latch.ini.example",
		"/../conf/latch.ini.example",
	};
	char exe[PATH_MAX], *slash;
	ssize_t n;
	size_t i;
	int w;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		w = snprintf(buf, bufsz, "%s%s", exe, rel[i]);
		if (w > 0 && (size_t)w < bufsz && access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

/*
 * The mail templates beside the example at from (its directory's mail/:
 * PREFIX/share/latch/mail, or conf/mail of the source tree), as an
 * absolute path into buf; NULL if there is no such directory.
 */
static const char *
templates_beside(const char *from, char *buf, size_t bufsz)
{
	char dir[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int n;

	n = snprintf(dir, sizeof(dir), "%s", from);
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    realpath(dirname(dir), real) == NULL)
		return NULL;
	n = snprintf(buf, bufsz, "%s/mail", real);
	if (n < 0 || (size_t)n >= bufsz || stat(buf, &st) == -1 ||
	    !S_ISDIR(st.st_mode))
		return NULL;
	return buf;
}

/*
 * A new Ed25519 key file beside the config at path, named
 * jwt-<UTC time>-<random>.pem, into out (outsz bytes); like: the
 * config's stat (key_generate()).  0, or 1 (said on stderr).
 */
static int
new_key(const char *path, const struct stat *like, char *out, size_t outsz)
{
	char dir[PATH_MAX], abs[PATH_MAX], rnd[TOK_STR_SIZE], stamp[32];
	char err[PATH_MAX + 128];
	struct key *k;
	time_t now = time(NULL);
	int n;

	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    tok_new(16, rnd, sizeof(rnd)) == -1 ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now)) ==
		0) {
		fprintf(stderr, "%s: %s: cannot name a key file\n", progname,
		    path);
		return 1;
	}
	if (realpath(dirname(dir), abs) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", progname, path,
		    strerror(errno));
		return 1;
	}
	n = snprintf(out, outsz, "%s/jwt-%s-%.8s.pem", abs, stamp, rnd);
	if (n < 0 || (size_t)n >= outsz) {
		fprintf(stderr, "%s: %s: path too long\n", progname, path);
		return 1;
	}
	if ((k = key_generate(out, like, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return 1;
	}
	key_free(k);
	return 0;
}

/*
 * Write a new config at path (never over a file) from the example, with
 * a fresh jwt_secret, the templates beside the example and the --set
 * values, and only if it loads.
 */
static int
cmd_init(int argc, char **argv)
{
	char secret[TOK_STR_SIZE + TOK_STR_SIZE], ex[PATH_MAX];
	char mfa[TOK_STR_SIZE + TOK_STR_SIZE], mail[PATH_MAX];
	char key[PATH_MAX] = "", next[PATH_MAX] = "";
	const char *from = NULL, *path = NULL;
	struct conf_expect x = { secret, NULL, 0 };
	struct file_how how = { 1, NULL, conf_check, &x };
	struct set sets[MAX_SETS + 6];
	size_t nsets = 1, i;
	struct stat st;
	int k, rc = 1, eddsa = 0;

	secret[0] = mfa[0] = '\0';
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--eddsa") == 0)
			eddsa = 1;
		else if (strcmp(argv[k], "--from") == 0 && k + 1 < argc)
			from = argv[++k];
		else if (strcmp(argv[k], "--set") == 0 && k + 1 < argc) {
			if (nsets == MAX_SETS + 1)
				usage();
			parse_set(argv[++k], &sets[nsets++], 0);
		} else if (argv[k][0] != '-' && path == NULL)
			path = argv[k];
		else
			usage();
	}
	if (path == NULL)
		usage();
	if (from == NULL && (from = default_example(ex, sizeof(ex))) == NULL) {
		fprintf(stderr,
		    "%s: no latch.ini.example beside this program "
		    "(PREFIX/share/latch/); give --from EXAMPLE\n",
		    progname);
		goto out;
	}
	/* The templates that come with the example, unless told otherwise. */
	for (i = 1; i < nsets; i++)
		if (strcmp(sets[i].section, "mail") == 0 &&
		    strcmp(sets[i].key, "template_dir") == 0)
			break;
	if (i == nsets && templates_beside(from, mail, sizeof(mail)) != NULL) {
		snprintf(sets[nsets].section, sizeof(sets[nsets].section),
		    "mail");
		snprintf(sets[nsets].key, sizeof(sets[nsets].key),
		    "template_dir");
		sets[nsets].value = mail;
		sets[nsets++].done = 0;
	}
	/* Refused here with the reason, and by file_write() if one
	 * appears meanwhile. */
	if (lstat(path, &st) == 0)
		errno = EEXIST;
	if (errno != ENOENT) {
		fprintf(stderr, "%s: %s: %s%s\n", progname, path,
		    strerror(errno),
		    errno == EEXIST ? " (refusing to overwrite a config)" : "");
		goto out;
	}
	if (new_secret(secret, sizeof(secret)) != 0 ||
	    new_secret(mfa, sizeof(mfa)) != 0)
		goto out;
	/* The generated secret first: the example's jwt_secret line. */
	snprintf(sets[0].section, sizeof(sets[0].section), "security");
	snprintf(sets[0].key, sizeof(sets[0].key), "jwt_secret");
	sets[0].value = secret;
	sets[0].done = 0;
	/* The key that seals second factors (mfa.h). */
	sets[nsets++] = (struct set){ "security", "mfa_key", mfa, 0 };
	if (eddsa) {
		if (new_key(path, NULL, key, sizeof(key)) != 0 ||
		    new_key(path, NULL, next, sizeof(next)) != 0)
			goto out;
		sets[nsets++] = (struct set){ "security", "jwt_alg", "EdDSA",
			0 };
		sets[nsets++] = (struct set){ "security", "jwt_key", key, 0 };
		sets[nsets++] = (struct set){ "security", "jwt_key_next", next,
			0 };
	}
	if (ini_rewrite(from, path, sets, nsets, &how) != 0)
		goto out;
	printf(
	    "latchctl: wrote %s (mode 0600) with a new jwt_secret, "
	    "mfa_key%s\n",
	    path, eddsa ? " and Ed25519 keys (jwt_alg = EdDSA)" : "");
	rc = 0;
out:
	if (rc != 0 && key[0] != '\0')
		(void)unlink(key);
	if (rc != 0 && next[0] != '\0')
		(void)unlink(next);
	tok_cleanse(secret, sizeof(secret));
	tok_cleanse(mfa, sizeof(mfa));
	return rc;
}

/*
 * Rewrite the config at path, which c was loaded from, atomically, with
 * the same mode and owner: [security] jwt_secret_previous becomes the
 * current jwt_secret, jwt_secret a fresh one; with mfa, the same for
 * mfa_key_previous and mfa_key (the key that seals second factors).
 * Never prints either.
 */
static int
cmd_rotate(const struct conf *c, const char *path, int mfa)
{
	char secret[TOK_STR_SIZE + TOK_STR_SIZE];
	const char *old = mfa ? c->mfa_key : c->jwt_secret;
	struct conf_expect x = { secret, old, mfa };
	struct file_how how = { 0, NULL, conf_check, &x };
	struct set sets[2] = {
		{ "security", "jwt_secret", secret, 0 },
		{ "security", "jwt_secret_previous", old, 0 },
	};
	struct stat st;
	int rc = 1;

	if (mfa) {
		snprintf(sets[0].key, sizeof(sets[0].key), "mfa_key");
		snprintf(sets[1].key, sizeof(sets[1].key), "mfa_key_previous");
	}
	secret[0] = '\0';
	if (new_secret(secret, sizeof(secret)) != 0)
		goto out;
	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s: %s\n", progname, path,
		    strerror(errno));
		goto out;
	}
	how.like = &st;
	if (ini_rewrite(path, path, sets, 2, &how) != 0)
		goto out;
	if (mfa)
		printf(
		    "latchctl: rotated mfa_key in %s (mfa_key_previous now "
		    "holds the old one)\n"
		    "Reload latchd to use it: kill -HUP <master pid>.\n"
		    "Each TOTP secret is sealed again under the new key when "
		    "it "
		    "is next used;\nkeep mfa_key_previous until every enrolled "
		    "user has signed in since.\n",
		    path);
	else
		printf(
		    "latchctl: rotated the signing key in %s "
		    "(jwt_secret_previous now holds the old one)\n"
		    "Reload latchd to use it: kill -HUP <master pid>.\n"
		    "Tokens signed with the previous key stay valid until they "
		    "expire (access_ttl, %d s);\nafter that, a second rotation "
		    "drops the previous key.\n",
		    path, c->access_ttl);
	rc = 0;
out:
	tok_cleanse(secret, sizeof(secret));
	return rc;
}

/* latchctl mfa-reset LOGIN: the operator's reset of a second factor. */
static int
cmd_mfa_reset(const struct conf *c, const char *login)
{
	struct user u;
	struct db *db = open_db(c);
	enum err e;

	if ((e = user_find(db, login, &u)) != ERR_OK) {
		db_close(db);
		die_err(login, e);
	}
	e = mfa_reset(db, NULL, 0, u.id);
	db_close(db);
	if (e != ERR_OK)
		die_err("mfa-reset", e);
	printf(
	    "latchctl: mfa-reset: two-factor sign-in is off for %s (id "
	    "%lld); their sessions are revoked\n",
	    u.username, (long long)u.id);
	return 0;
}

/* A value from the first line of stdin (not echoed on a terminal). */
static void
read_value(const char *what, char *buf, size_t bufsz)
{
	struct termios t, saved;
	int quiet = 0;

	if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "%s: ", what);
		if (tcgetattr(STDIN_FILENO, &t) == 0) {
			saved = t;
			t.c_lflag &= ~(tcflag_t)ECHO;
			quiet = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
		}
	}
	if (fgets(buf, (int)bufsz, stdin) == NULL) {
		fprintf(stderr, "%s: no value for %s on stdin\n", progname,
		    what);
		exit(1);
	}
	if (quiet) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fprintf(stderr, "\n");
	}
	if (strchr(buf, '\n') == NULL && !feof(stdin)) {
		tok_cleanse(buf, bufsz);
		fprintf(stderr, "%s: the value of %s is too long\n", progname,
		    what);
		exit(1);
	}
	buf[strcspn(buf, "\r\n")] = '\0';
}

/*
 * Set keys of the config at path, atomically, with its mode and owner,
 * and only if it loads afterwards: "section.key=value" each, and at most
 * one bare "section.key" whose value is the first line of stdin (for a
 * password: it stays off the command line).  The signing keys are
 * rotate-secret's.  Never prints a value.
 */
static int
cmd_set(const char *path, int argc, char **argv)
{
	char value[INI_LINE_MAX], what[140];
	struct conf_expect x = { NULL, NULL, 0 };
	struct file_how how = { 0, NULL, conf_check, &x };
	struct set sets[MAX_SETS];
	struct stat st;
	size_t nsets = 0, i;
	int k, rc = 2, bare = 0;

	value[0] = '\0';
	if (argc < 2 || argc - 1 > MAX_SETS)
		usage();
	for (k = 1; k < argc; k++, nsets++) {
		parse_set(argv[k], &sets[nsets], 1);
		if (strcmp(sets[nsets].section, "security") == 0 &&
		    strncmp(sets[nsets].key, "jwt_secret", 10) == 0) {
			fprintf(stderr,
			    "%s: [security] %s: use latchctl "
			    "rotate-secret\n",
			    progname, sets[nsets].key);
			goto out;
		}
		for (i = 0; i < nsets; i++)
			if (strcmp(sets[i].section, sets[nsets].section) == 0 &&
			    strcmp(sets[i].key, sets[nsets].key) == 0) {
				fprintf(stderr, "%s: %s.%s given twice\n",
				    progname, sets[i].section, sets[i].key);
				goto out;
			}
		if (sets[nsets].value != NULL)
			continue;
		if (bare++ > 0) {
			fprintf(stderr,
			    "%s: only one key may take its value "
			    "from stdin\n",
			    progname);
			goto out;
		}
		(void)snprintf(what, sizeof(what), "%.63s.%.63s",
		    sets[nsets].section, sets[nsets].key);
		read_value(what, value, sizeof(value));
		sets[nsets].value = value;
	}
	rc = 1;
	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s: %s\n", progname, path,
		    strerror(errno));
		goto out;
	}
	how.like = &st;
	if (ini_rewrite(path, path, sets, nsets, &how) != 0)
		goto out;
	printf("latchctl: %s: set", path);
	for (i = 0; i < nsets; i++)
		printf("%s %s.%s", i > 0 ? "," : "", sets[i].section,
		    sets[i].key);
	printf("; reload latchd to apply it\n");
	rc = 0;
out:
	tok_cleanse(value, sizeof(value));
	return rc;
}

/*
 * Rotate the Ed25519 keys of the config at path, which c was loaded from
 * (README, "Signing keys"): jwt_key_next signs from now on, the key it
 * replaces (or HS256, the first time) verifies until every token it
 * signed has expired, and a new jwt_key_next is published ahead.  Without
 * a jwt_key_next yet, only makes one.  Refused while the previous key is
 * still needed.
 */
static int
cmd_rotate_key(const struct conf *c, const char *path)
{
	char next[PATH_MAX], until[32];
	struct conf_expect x = { c->jwt_secret, c->jwt_secret_previous, 0 };
	struct file_how how = { 0, NULL, conf_check, &x };
	struct set sets[5] = {
		{ "security", "jwt_key_next", next, 0 },
		{ "security", "jwt_alg", "EdDSA", 0 },
		{ "security", "jwt_key", c->jwt_key_next, 0 },
		{ "security", "jwt_key_previous", c->jwt_key, 0 },
		{ "security", "jwt_previous_until", until, 0 },
	};
	size_t nsets = 5;
	time_t now = time(NULL), t;
	struct stat st;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s: %s\n", progname, path,
		    strerror(errno));
		return 1;
	}
	how.like = &st;
	if (c->previous_until >= (int64_t)now) {
		fprintf(stderr,
		    "%s: the previous key still verifies tokens "
		    "until %s (jwt_previous_until): rotate after that\n",
		    progname, c->jwt_previous_until);
		return 1;
	}
	/* Only the previous key's tokens can be valid: they expire by
	 * access_ttl, within leeway. */
	t = now + c->access_ttl + c->leeway;
	if (strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t)) ==
	    0)
		return 1;
	if (c->jwt_key_next[0] == '\0')
		nsets = 1;
	else if (strcmp(c->jwt_alg, "EdDSA") != 0)
		sets[3].value =
		    ""; /* HS256 verifies until then, by jwt_secret */
	if (new_key(path, &st, next, sizeof(next)) != 0)
		return 1;
	if (ini_rewrite(path, path, sets, nsets, &how) != 0) {
		(void)unlink(next);
		return 1;
	}
	if (nsets == 1) {
		printf(
		    "latchctl: published a new key in %s (jwt_key_next = "
		    "%s).\nReload latchd (kill -HUP <master pid>); once every "
		    "client has fetched the JWKS again\n(it may be cached for "
		    "5 minutes), run latchctl rotate-key again to sign with "
		    "it.\n",
		    path, next);
		return 0;
	}
	printf(
	    "latchctl: rotated the signing keys in %s: jwt_key = %s signs "
	    "(EdDSA),\njwt_key_next = %s is published for the next rotation; "
	    "the previous %s\nverifies until %s.\n"
	    "Reload latchd to use them: kill -HUP <master pid>.\n",
	    path, c->jwt_key_next, next,
	    strcmp(c->jwt_alg, "EdDSA") == 0 ? "key" : "HS256 secret", until);
	if (c->jwt_key_previous[0] != '\0')
		printf("%s is no longer used: delete it.\n",
		    c->jwt_key_previous);
	return 0;
}

/* The whole walk latchd does a range at a time, from the first session. */
static int
cmd_purge(const struct conf *c)
{
	struct session_purged p = { 0, 0 };
	struct db *db = open_db(c);
	int64_t lo = 0;
	enum err e;

	do {
		if ((e = session_purge_range(db, lo, 10000, &lo, &p)) !=
		    ERR_OK) {
			db_close(db);
			die_err("purge", e);
		}
	} while (lo != 0);
	db_close(db);
	printf(
	    "latchctl: purged %llu ended sessions and %llu expired refresh "
	    "tokens\n",
	    (unsigned long long)p.sessions, (unsigned long long)p.tokens);
	return 0;
}

static int
cmd_migrate(const struct conf *c)
{
	struct db *db;
	int from = 0, to = 0;

	if ((db = db_open_raw(c)) == NULL) {
		fprintf(stderr,
		    "%s: cannot reach the database (see the "
		    "[database] section of %s)\n",
		    progname, c->path);
		return 1;
	}
	if (db_migrate(db, &from, &to) == -1) {
		db_close(db);
		fprintf(stderr, "%s: migrate failed\n", progname);
		return 1;
	}
	db_close(db);
	if (from == to)
		printf("latchctl: schema is up to date (version %d)\n", to);
	else
		printf("latchctl: schema migrated from version %d to %d\n",
		    from, to);
	return 0;
}

static int
cmd_create_user(const struct conf *c, int argc, char **argv)
{
	const char *org = NULL, *username = NULL, *email = NULL, *name = "";
	const char *rolestr = "user";
	char pw[1100];
	struct db *db;
	int64_t uid;
	enum err e;
	int k, role;

	for (k = 1; k + 1 < argc; k += 2) {
		if (strcmp(argv[k], "--org") == 0)
			org = argv[k + 1];
		else if (strcmp(argv[k], "--username") == 0)
			username = argv[k + 1];
		else if (strcmp(argv[k], "--email") == 0)
			email = argv[k + 1];
		else if (strcmp(argv[k], "--name") == 0)
			name = argv[k + 1];
		else if (strcmp(argv[k], "--role") == 0)
			rolestr = argv[k + 1];
		else
			usage();
	}
	if (k != argc || org == NULL || username == NULL || email == NULL)
		usage();
	if ((role = role_parse(rolestr)) < 0) {
		fprintf(stderr,
		    "%s: --role must be superadmin, admin or user\n", progname);
		return 2;
	}
	if (!valid_org_name(org) || !valid_username(username) ||
	    !valid_email(email) || !valid_name(name)) {
		fprintf(stderr, "%s: invalid %s\n", progname,
		    !valid_org_name(org) ? "--org" :
			!valid_username(username) ?
					   "--username (3-64 of A-Za-z0-9._-)" :
			!valid_email(email) ? "--email" :
					      "--name");
		return 1;
	}
	read_password(c, pw, sizeof(pw));
	db = open_db(c);
	e = org_register(db, c, 0, org, 0, username, email, name, pw,
	    (enum role)role, &uid);
	tok_cleanse(pw, sizeof(pw));
	db_close(db);
	if (e != ERR_OK)
		die_err("create-user", e);
	printf("latchctl: created %s %s (id %lld) in %s\n", rolestr, username,
	    (long long)uid, org);
	return 0;
}

/* ------------------------------------------------------------- import */

#define IMPORT_FILE_MAX (1024UL * 1024 * 1024) /* bytes of input */
#define IMPORT_BATCH 500

/* One latchctl import: its report and counts. */
struct imp {
	struct import_run run;
	const char *unit;           /* "line" (JSON Lines), "user" */
	size_t batch;               /* records per transaction */
	struct str_buf out;         /* the open batch's report */
	size_t rows;                /* records in it */
	size_t first;               /* the number of its first */
	size_t count[IMPORT__MAX];  /* stored (or, refused, said) */
	size_t bcount[IMPORT__MAX]; /* in the open batch */
	enum err fail;              /* what stopped the import */
	size_t fail_at;
};

/* The open batch stored (or, last, the dry run ended): its report
 * printed.  On a failure the import stops (im->fail). */
static void
imp_flush(struct imp *im, int last)
{
	enum err e;
	int i;

	if (im->fail != ERR_OK)
		return;
	if ((e = import_commit(&im->run, last)) != ERR_OK) {
		im->fail = e;
		im->fail_at = im->first + im->rows - 1;
		return;
	}
	if (im->out.p != NULL)
		fputs(im->out.p, stdout);
	fflush(stdout);
	free(im->out.p);
	im->out.p = NULL;
	im->out.len = im->out.cap = 0;
	for (i = 0; i < IMPORT__MAX; i++) {
		im->count[i] += im->bcount[i];
		im->bcount[i] = 0;
	}
	im->rows = 0;
}

/* Record number at: r to import, or refused for why. */
static void
imp_row(struct imp *im, size_t at, const struct import_row *r, const char *why)
{
	char line[IMPORT_WHY_SIZE + 256], w[IMPORT_WHY_SIZE];
	enum import_outcome o = IMPORT_REFUSED;
	enum err e;

	if (im->fail != ERR_OK)
		return;
	if (im->rows++ == 0)
		im->first = at;
	if (r != NULL) {
		if ((e = import_put(&im->run, r, &o, w, sizeof(w))) != ERR_OK) {
			import_abort(&im->run);
			im->fail = e;
			im->fail_at = at;
			return;
		}
		why = w;
	}
	snprintf(line, sizeof(line), "%s %zu%s%s%s: %s%s%s\n", im->unit, at,
	    r != NULL ? " (" : "", r != NULL ? r->username : "",
	    r != NULL ? ")" : "", import_outcome_name(o),
	    why[0] != '\0' ? ": " : "", why);
	str_buf_adds(&im->out, line);
	im->bcount[o]++;
	if (im->rows >= im->batch)
		imp_flush(im, 0);
}

static void
imp_dumb_row(size_t i, const struct import_row *r, const char *why, void *arg)
{
	imp_row(arg, i + 1, r, why);
}

/* Each line of the n bytes at s as a JSON Lines record. */
static void
imp_jsonl(struct imp *im, const char *s, size_t n)
{
	char why[IMPORT_WHY_SIZE];
	struct import_row r;
	const char *nl, *end = s + n;
	size_t len, at;

	for (at = 1; s < end; at++, s = nl + 1) {
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		len = (size_t)(nl - s);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		/* Blank lines separate nothing and are passed over. */
		if (strspn(s, " \t\r") >= len)
			continue;
		if (import_parse_jsonl(s, len, &r, why, sizeof(why)) == ERR_OK)
			imp_row(im, at, &r, NULL);
		else
			imp_row(im, at, NULL, why);
		if (im->fail != ERR_OK)
			break;
	}
	tok_cleanse(&r, sizeof(r));
}

/* FILE, or stdin for "-", whole into *buf (caller cleanses and frees). */
static int
imp_read(const char *path, char **buf, size_t *len)
{
	size_t cap = 65536, k;
	char *p, *q;
	enum err e;

	if (strcmp(path, "-") != 0) {
		if ((e = file_read(path, 0, IMPORT_FILE_MAX, buf, len)) ==
		    ERR_OK)
			return 0;
		fprintf(stderr, "%s: import: %s: %s\n", progname, path,
		    e == ERR_NOT_FOUND ? strerror(ENOENT) :
			e == ERR_INVALID_FIELD ?
					 "not a regular file of at most "
					 "1 GiB" :
					 err_str(e));
		return 1;
	}
	if ((p = malloc(cap)) == NULL)
		goto nomem;
	*len = 0;
	while ((k = fread(p + *len, 1, cap - *len - 1, stdin)) > 0) {
		*len += k;
		if (cap - *len > 1)
			continue;
		if (cap >= IMPORT_FILE_MAX ||
		    (q = realloc(p, cap * 2)) == NULL) {
			free(p);
			goto nomem;
		}
		p = q;
		cap *= 2;
	}
	p[*len] = '\0';
	*buf = p;
	return 0;
nomem:
	fprintf(stderr,
	    "%s: import: stdin: more than 1 GiB or out of "
	    "memory\n",
	    progname);
	return 1;
}

static int
cmd_import(const struct conf *c, int argc, char **argv)
{
	static const struct actor op = { 0, 0, ROLE_SUPERADMIN, "", 0 };
	const char *format = NULL, *path = NULL, *rolestr = NULL;
	struct import_dumb d = { NULL, NULL, -1, 0, -1, 0 };
	struct imp im;
	char why[IMPORT_WHY_SIZE], addr[300], *buf = NULL, *end;
	size_t len = 0;
	enum err e;
	int k, rc = 1, dumb;

	memset(&im, 0, sizeof(im));
	im.batch = IMPORT_BATCH;
	im.out.max = 16 * 1024 * 1024;
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--update") == 0)
			im.run.update = 1;
		else if (strcmp(argv[k], "--dry-run") == 0)
			im.run.dry_run = 1;
		else if (k + 1 == argc)
			path = argv[k];
		else if (strcmp(argv[k], "--format") == 0)
			format = argv[++k];
		else if (strcmp(argv[k], "--org") == 0)
			d.org = argv[++k];
		else if (strcmp(argv[k], "--email-domain") == 0)
			d.email_domain = argv[++k];
		else if (strcmp(argv[k], "--role") == 0)
			rolestr = argv[++k];
		else if (strcmp(argv[k], "--batch") == 0) {
			errno = 0;
			im.batch = strtoul(argv[++k], &end, 10);
			if (errno != 0 || *end != '\0' || im.batch < 1 ||
			    im.batch > 100000)
				usage();
		} else
			usage();
	}
	if (path == NULL || format == NULL ||
	    (strcmp(format, "jsonl") != 0 && strcmp(format, "dumb") != 0))
		usage();
	dumb = strcmp(format, "dumb") == 0;
	if (!dumb &&
	    (d.org != NULL || d.email_domain != NULL || rolestr != NULL))
		usage();
	if (dumb && (d.org == NULL || d.email_domain == NULL))
		usage();
	if (rolestr != NULL && (d.role = role_parse(rolestr)) < 0) {
		fprintf(stderr,
		    "%s: --role must be superadmin, admin or user\n", progname);
		return 2;
	}
	if (dumb && !valid_org_name(d.org)) {
		fprintf(stderr, "%s: invalid --org\n", progname);
		return 2;
	}
	if (dumb &&
	    (strchr(d.email_domain, '@') != NULL ||
		snprintf(addr, sizeof(addr), "user@%s", d.email_domain) >=
		    (int)sizeof(addr) ||
		!valid_email(addr))) {
		fprintf(stderr, "%s: invalid --email-domain\n", progname);
		return 2;
	}
	if (imp_read(path, &buf, &len) != 0)
		return 1;
	im.run.db = open_db(c);
	im.run.a = &op;
	im.run.source = format;
	im.unit = dumb ? "user" : "line";
	if (dumb) {
		e = import_parse_dumb(buf, len, &d, imp_dumb_row, &im, why,
		    sizeof(why));
		if (e != ERR_OK) {
			fprintf(stderr, "%s: import: %s: %s\n", progname, path,
			    e == ERR_NOMEM ? err_str(e) : why);
			goto out;
		}
		printf(
		    "latchctl: import: DUMB users.json version %ld, %zu "
		    "users into %s (its jwt_secret is not imported)\n",
		    d.version, d.users, d.org);
		if (d.auth_enabled == 0)
			printf(
			    "latchctl: import: note: DUMB ran with "
			    "auth_enabled false; latch always asks to sign "
			    "in\n");
	} else
		imp_jsonl(&im, buf, len);
	imp_flush(&im, 1);
	if (im.fail != ERR_OK) {
		fprintf(stderr,
		    "%s: import: stopped at %s %zu: %s; %ss %zu to "
		    "%zu %s, those before were: run the same import again to "
		    "finish (what is stored is left alone)\n",
		    progname, im.unit, im.fail_at, err_str(im.fail), im.unit,
		    im.first, im.fail_at,
		    im.fail == ERR_UNKNOWN ? "may or may not have "
					     "been stored" :
					     "were not stored");
		goto out;
	}
	printf(
	    "latchctl: import: %zu created, %zu updated, %zu unchanged, "
	    "%zu existed, %zu refused%s\n",
	    im.count[IMPORT_CREATED], im.count[IMPORT_UPDATED],
	    im.count[IMPORT_UNCHANGED], im.count[IMPORT_EXISTS],
	    im.count[IMPORT_REFUSED],
	    im.run.dry_run ? " (dry run: nothing was stored)" : "");
	rc = im.count[IMPORT_REFUSED] > 0;
out:
	import_abort(&im.run);
	if (im.run.db != NULL)
		db_close(im.run.db);
	free(im.out.p);
	tok_cleanse(buf, len);
	free(buf);
	return rc;
}

static int
cmd_user(const struct conf *c, const char *cmd, const char *login)
{
	char pw[1100];
	struct user u;
	struct db *db;
	enum err e;

	if (strcmp(cmd, "reset-password") == 0)
		read_password(c, pw, sizeof(pw));
	db = open_db(c);
	if ((e = user_find(db, login, &u)) != ERR_OK)
		die_err(login, e);
	if (strcmp(cmd, "reset-password") == 0) {
		e = account_set_password(db, c, u.id, pw);
		tok_cleanse(pw, sizeof(pw));
	} else
		e = account_set_disabled(db, u.id, strcmp(cmd, "disable") == 0);
	db_close(db);
	if (e != ERR_OK)
		die_err(cmd, e);
	printf("latchctl: %s: done for %s (id %lld)%s\n", cmd, u.username,
	    (long long)u.id,
	    strcmp(cmd, "enable") != 0 ? "; their sessions are revoked" : "");
	return 0;
}

static void
print_user(const struct user *u, void *arg)
{
	(void)arg;
	printf("%-6lld %-24s %-32s %-10s %-8s %s\n", (long long)u->id,
	    u->username, u->email, role_name(u->role),
	    u->disabled ? "disabled" : "active", u->org_name);
}

static int
cmd_list(const struct conf *c, int argc, char **argv)
{
	const char *org = NULL;
	struct db *db;
	enum err e;

	if (argc == 3 && strcmp(argv[1], "--org") == 0)
		org = argv[2];
	else if (argc != 1)
		usage();
	db = open_db(c);
	printf("%-6s %-24s %-32s %-10s %-8s %s\n", "ID", "USERNAME", "EMAIL",
	    "ROLE", "STATE", "ORGANIZATION");
	e = user_foreach(db, org, print_user, NULL);
	db_close(db);
	if (e != ERR_OK)
		die_err("list-users", e);
	return 0;
}

/* latchctl acts as the operator: above every organization, no user. */
static const struct actor operator= { 0, 0, ROLE_SUPERADMIN, "", 0 };

static int
cmd_create_key(const struct conf *c, int argc, char **argv)
{
	const char *org = NULL, *name = NULL, *rolestr = "user";
	const char *expires = NULL;
	char key[TOK_STR_SIZE];
	struct apikey k;
	struct db *db;
	int64_t oid = 0, exp = 0;
	enum err e;
	int i, role;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--org") == 0)
			org = argv[i + 1];
		else if (strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else if (strcmp(argv[i], "--role") == 0)
			rolestr = argv[i + 1];
		else if (strcmp(argv[i], "--expires") == 0)
			expires = argv[i + 1];
		else
			usage();
	}
	if (i != argc || org == NULL || name == NULL)
		usage();
	role = role_parse(rolestr);
	if (role != ROLE_USER && role != ROLE_ADMIN) {
		fprintf(stderr, "%s: --role must be user or admin\n", progname);
		return 2;
	}
	if (!valid_org_name(name) ||
	    (expires != NULL && !valid_time(expires, &exp))) {
		fprintf(stderr, "%s: invalid %s\n", progname,
		    !valid_org_name(name) ?
			"--name" :
			"--expires (YYYY-MM-DDTHH:MM:SSZ, UTC)");
		return 1;
	}
	db = open_db(c);
	if ((e = org_find(db, org, &oid)) == ERR_OK)
		e = apikey_create(db, &operator, oid, name, (enum role)role,
		    exp, key, sizeof(key), &k);
	db_close(db);
	if (e != ERR_OK)
		die_err("create-key", e);
	fprintf(stderr,
	    "latchctl: key %lld (%s) made in %s; it is shown "
	    "once:\n",
	    (long long)k.id, role_name(k.role), org);
	printf("%s\n", key);
	tok_cleanse(key, sizeof(key));
	return 0;
}

static void
print_key(const struct apikey *k, void *arg)
{
	char exp[24] = "never";
	struct tm tm;
	time_t t = (time_t)k->expires_at;

	(void)arg;
	if (k->expires_at > 0 && gmtime_r(&t, &tm) != NULL)
		(void)strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%-6lld %-6lld %-6s %-20s %-16s %s\n", (long long)k->id,
	    (long long)k->org_id, role_name(k->role), exp,
	    k->creator[0] != '\0' ? k->creator : "-", k->name);
}

/* The keys of organization org, or all (org NULL). */
static void
list_keys_in(const struct apikey *k, void *arg)
{
	if (arg == NULL || k->org_id == *(const int64_t *)arg)
		print_key(k, NULL);
}

static int
cmd_list_keys(const struct conf *c, int argc, char **argv)
{
	struct db *db;
	int64_t oid = 0;
	enum err e = ERR_OK;

	if (argc != 1 && !(argc == 3 && strcmp(argv[1], "--org") == 0))
		usage();
	db = open_db(c);
	if (argc == 3)
		e = org_find(db, argv[2], &oid);
	printf("%-6s %-6s %-6s %-20s %-16s %s\n", "ID", "ORG", "ROLE",
	    "EXPIRES", "CREATOR", "NAME");
	if (e == ERR_OK)
		e = apikey_list(db, NULL, 0, list_keys_in,
		    argc == 3 ? &oid : NULL);
	db_close(db);
	if (e != ERR_OK)
		die_err("list-keys", e);
	return 0;
}

static int
cmd_revoke_key(const struct conf *c, const char *arg)
{
	struct db *db;
	char *end;
	long long id;
	enum err e;

	errno = 0;
	id = strtoll(arg, &end, 10);
	if (arg[0] < '1' || arg[0] > '9' || *end != '\0' || errno != 0)
		usage();
	db = open_db(c);
	e = apikey_revoke(db, &operator, APIKEY_ANY_ORG, (int64_t)id);
	db_close(db);
	if (e != ERR_OK)
		die_err("revoke-key", e);
	printf("latchctl: key %lld revoked\n", id);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = getenv("LATCH_CONFIG");
	struct conf *c;
	int ch, rc;

	log_init("latchctl", LOG_LVL_WARN);
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (path == NULL || path[0] == '\0')
		path = "/etc/latch/latch.ini";
	if (strcmp(argv[0], "init") == 0)
		return cmd_init(argc, argv);
	if (strcmp(argv[0], "set") == 0)
		return cmd_set(path, argc, argv);
	c = load(path);
	if (strcmp(argv[0], "rotate-secret") == 0 && argc == 1)
		rc = cmd_rotate(c, path, 0);
	else if (strcmp(argv[0], "rotate-mfa-key") == 0 && argc == 1)
		rc = cmd_rotate(c, path, 1);
	else if (strcmp(argv[0], "mfa-reset") == 0 && argc == 2)
		rc = cmd_mfa_reset(c, argv[1]);
	else if (strcmp(argv[0], "rotate-key") == 0 && argc == 1)
		rc = cmd_rotate_key(c, path);
	else if (strcmp(argv[0], "migrate") == 0 && argc == 1)
		rc = cmd_migrate(c);
	else if (strcmp(argv[0], "create-user") == 0)
		rc = cmd_create_user(c, argc, argv);
	else if ((strcmp(argv[0], "reset-password") == 0 ||
		     strcmp(argv[0], "disable") == 0 ||
		     strcmp(argv[0], "enable") == 0) &&
	    argc == 2)
		rc = cmd_user(c, argv[0], argv[1]);
	else if (strcmp(argv[0], "list-users") == 0)
		rc = cmd_list(c, argc, argv);
	else if (strcmp(argv[0], "import") == 0)
		rc = cmd_import(c, argc, argv);
	else if (strcmp(argv[0], "purge") == 0 && argc == 1)
		rc = cmd_purge(c);
	else if (strcmp(argv[0], "create-key") == 0)
		rc = cmd_create_key(c, argc, argv);
	else if (strcmp(argv[0], "list-keys") == 0)
		rc = cmd_list_keys(c, argc, argv);
	else if (strcmp(argv[0], "revoke-key") == 0 && argc == 2)
		rc = cmd_revoke_key(c, argv[1]);
	else
		usage();
	conf_free(c);
	return rc;
}
