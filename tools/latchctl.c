/*
 * latchctl: the administrator's way in: write a config, migrate the
 * schema, create users (also the first superadmin), reset passwords,
 * disable and enable accounts, list users.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "org.h"
#include "session.h"
#include "tok.h"
#include "user.h"
#include "valid.h"

#ifndef LATCH_SHARE
#define LATCH_SHARE "/usr/local/share/latch"
#endif

#define MAX_SETS 64
#define LINE_MAX_LEN 4096

static const char *progname = "latchctl";

static void
usage(void)
{
	fprintf(stderr,
	    "usage: latchctl [-c CONFIG] COMMAND [ARGS]\n"
	    "  init PATH [--from EXAMPLE] [--set section.key=value]...\n"
	    "      write a new config with a fresh random jwt_secret (0600)\n"
	    "  rotate-secret\n"
	    "      jwt_secret_previous = jwt_secret, new random jwt_secret\n"
	    "  migrate\n"
	    "      create or upgrade the schema (idempotent)\n"
	    "  create-user --org NAME --username U --email E [--name N]\n"
	    "              [--role superadmin|admin|user]\n"
	    "      password from stdin (first line) or prompted\n"
	    "  reset-password USER     (USER: username or email)\n"
	    "  disable USER | enable USER\n"
	    "  list-users [--org NAME]\n"
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
		fprintf(stderr, "%s: cannot reach the database (see the "
		    "[database] section of %s)\n", progname, c->path);
		exit(1);
	}
	return db;
}

static void
die_err(const char *what, enum err e)
{
	const char *why;

	switch (e) {
	case ERR_USERNAME_TAKEN: why = "the username is taken"; break;
	case ERR_EMAIL_TAKEN: why = "the email is taken"; break;
	case ERR_ORG_TAKEN: why = "the organization name is taken"; break;
	case ERR_NOT_FOUND: why = "no such user"; break;
	case ERR_DB: why = "database error (see the log above)"; break;
	case ERR_UNKNOWN:
		why = "the database connection broke during the change; "
		    "check whether it was made";
		break;
	case ERR_INVALID_FIELD: why = "invalid value"; break;
	default: why = "failed"; break;
	}
	fprintf(stderr, "%s: %s: %s\n", progname, what, why);
	exit(1);
}

/* Read a password: first line of stdin, or prompted twice on a tty. */
static void
read_password(const struct conf *c, char *buf, size_t bufsz)
{
	char again[1100];
	struct termios t, saved;
	int tty = isatty(STDIN_FILENO);
	size_t n;

	if (tty) {
		fprintf(stderr, "password: ");
		if (tcgetattr(STDIN_FILENO, &t) == 0) {
			saved = t;
			t.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
		}
	}
	if (fgets(buf, (int)bufsz, stdin) == NULL) {
		fprintf(stderr, "%s: no password given on stdin\n", progname);
		exit(1);
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
			fprintf(stderr, "%s: passwords differ\n", progname);
			exit(1);
		}
		tok_cleanse(again, sizeof(again));
	}
	n = strlen(buf);
	if (!valid_utf8(buf, n) || !valid_password(buf, c->password_min_length)) {
		fprintf(stderr, "%s: the password must be %d to 256 characters\n",
		    progname, c->password_min_length);
		exit(1);
	}
}

/* "section.key=value" applied to the lines of an ini file. */
struct set {
	char section[64];
	char key[64];
	const char *value;
	int done;
};

static void
parse_set(const char *arg, struct set *s)
{
	const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');

	if (dot == NULL || eq == NULL || dot > eq ||
	    (size_t)(dot - arg) >= sizeof(s->section) ||
	    (size_t)(eq - dot - 1) >= sizeof(s->key) || dot == arg ||
	    eq == dot + 1 || strpbrk(eq + 1, "\r\n") != NULL) {
		fprintf(stderr, "%s: --set wants section.key=value: %s\n",
		    progname, arg);
		exit(2);
	}
	memcpy(s->section, arg, (size_t)(dot - arg));
	s->section[dot - arg] = '\0';
	memcpy(s->key, dot + 1, (size_t)(eq - dot - 1));
	s->key[eq - dot - 1] = '\0';
	s->value = eq + 1;
	s->done = 0;
}

/* Does line assign key (possibly commented out as "# key =" / "; key =")? */
static int
line_is_key(const char *line, const char *key, int commented_ok)
{
	size_t n = strlen(key);

	while (*line == ' ' || *line == '\t')
		line++;
	if (commented_ok && (*line == '#' || *line == ';')) {
		line++;
		while (*line == ' ')
			line++;
	}
	if (strncmp(line, key, n) != 0)
		return 0;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	return *line == '=';
}

static int
cmd_init(int argc, char **argv)
{
	char secret[TOK_STR_SIZE + TOK_STR_SIZE], line[LINE_MAX_LEN];
	char section[64] = "", err[512];
	const char *from = NULL, *path = NULL;
	struct set sets[MAX_SETS];
	size_t nsets = 0, i;
	FILE *in = NULL, *out = NULL;
	struct conf *check;
	int fd, k;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--from") == 0 && k + 1 < argc)
			from = argv[++k];
		else if (strcmp(argv[k], "--set") == 0 && k + 1 < argc) {
			if (nsets == MAX_SETS)
				usage();
			parse_set(argv[++k], &sets[nsets++]);
		} else if (argv[k][0] != '-' && path == NULL)
			path = argv[k];
		else
			usage();
	}
	if (path == NULL)
		usage();
	if (from == NULL)
		from = access("conf/latch.ini.example", R_OK) == 0 ?
		    "conf/latch.ini.example" : LATCH_SHARE "/latch.ini.example";
	if ((in = fopen(from, "r")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", progname, from, strerror(errno));
		return 1;
	}
	/* 32 + 16 random bytes: 65 base64url characters, 384 bits. */
	if (tok_new(32, secret, TOK_STR_SIZE) == -1 ||
	    tok_new(16, secret + strlen(secret),
	    sizeof(secret) - strlen(secret)) == -1) {
		fprintf(stderr, "%s: no randomness\n", progname);
		fclose(in);
		return 1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		fprintf(stderr, "%s: %s: %s%s\n", progname, path,
		    strerror(errno), errno == EEXIST ?
		    " (refusing to overwrite a config)" : "");
		fclose(in);
		return 1;
	}
	if ((out = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(path);
		fclose(in);
		return 1;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		const char *l = line;

		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '[') {
			const char *end = strchr(l, ']');

			/* Keys set for the section we leave, not yet in it. */
			for (i = 0; i < nsets; i++)
				if (!sets[i].done &&
				    strcmp(sets[i].section, section) == 0) {
					fprintf(out, "%s = %s\n", sets[i].key,
					    sets[i].value);
					sets[i].done = 1;
				}
			if (end != NULL && (size_t)(end - l - 1) < sizeof(section)) {
				memcpy(section, l + 1, (size_t)(end - l - 1));
				section[end - l - 1] = '\0';
			}
			fputs(line, out);
			continue;
		}
		if (strcmp(section, "security") == 0 &&
		    line_is_key(line, "jwt_secret", 0)) {
			fprintf(out, "jwt_secret = %s\n", secret);
			continue;
		}
		for (i = 0; i < nsets; i++)
			if (!sets[i].done &&
			    strcmp(sets[i].section, section) == 0 &&
			    line_is_key(line, sets[i].key, 0))
				break;
		if (i < nsets) {
			fprintf(out, "%s = %s\n", sets[i].key, sets[i].value);
			sets[i].done = 1;
			continue;
		}
		fputs(line, out);
	}
	for (i = 0; i < nsets; i++)
		if (!sets[i].done && strcmp(sets[i].section, section) == 0) {
			fprintf(out, "%s = %s\n", sets[i].key, sets[i].value);
			sets[i].done = 1;
		}
	fclose(in);
	tok_cleanse(secret, sizeof(secret));
	if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0) {
		fprintf(stderr, "%s: %s: write failed\n", progname, path);
		unlink(path);
		return 1;
	}
	for (i = 0; i < nsets; i++)
		if (!sets[i].done) {
			fprintf(stderr, "%s: --set %s.%s: no such section in %s\n",
			    progname, sets[i].section, sets[i].key, from);
			unlink(path);
			return 1;
		}
	if ((check = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		unlink(path);
		return 1;
	}
	conf_free(check);
	printf("latchctl: wrote %s (mode 0600) with a new jwt_secret\n", path);
	return 0;
}

/*
 * Rewrite the config at path, which c was loaded from, atomically: a temp
 * file in the same directory with the same mode and owner, fsync, rename,
 * fsync the directory.  [security] jwt_secret_previous becomes the current
 * jwt_secret, jwt_secret a fresh one.  Never prints either.
 */
static int
cmd_rotate(const struct conf *c, const char *path)
{
	char secret[TOK_STR_SIZE + TOK_STR_SIZE], line[LINE_MAX_LEN];
	char section[64] = "", err[512], tmp[4096], dir[4096];
	FILE *in = NULL, *out = NULL;
	struct conf *check = NULL;
	struct stat st;
	int fd = -1, dfd = -1, rc = 1, wrote_prev = 0, n;

	tmp[0] = '\0';
	if (tok_new(32, secret, TOK_STR_SIZE) == -1 ||
	    tok_new(16, secret + strlen(secret),
	    sizeof(secret) - strlen(secret)) == -1) {
		fprintf(stderr, "%s: no randomness\n", progname);
		goto out;
	}
	if ((in = fopen(path, "r")) == NULL || fstat(fileno(in), &st) == -1) {
		fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
		goto out;
	}
	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "%s: %s: path too long\n", progname, path);
		tmp[0] = '\0';
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, "%s: %s: %s\n", progname, tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (fchmod(fd, st.st_mode & 07777) == -1 ||
	    (fchown(fd, st.st_uid, st.st_gid) == -1 && errno != EPERM)) {
		fprintf(stderr, "%s: %s: %s\n", progname, tmp, strerror(errno));
		goto out;
	}
	if ((out = fdopen(fd, "w")) == NULL)
		goto out;
	fd = -1;
	while (fgets(line, sizeof(line), in) != NULL) {
		const char *l = line;

		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '[') {
			const char *end = strchr(l, ']');

			if (strcmp(section, "security") == 0 && !wrote_prev) {
				fprintf(out, "jwt_secret_previous = %s\n",
				    c->jwt_secret);
				wrote_prev = 1;
			}
			if (end != NULL &&
			    (size_t)(end - l - 1) < sizeof(section)) {
				memcpy(section, l + 1, (size_t)(end - l - 1));
				section[end - l - 1] = '\0';
			}
			fputs(line, out);
			continue;
		}
		if (strcmp(section, "security") == 0 &&
		    line_is_key(line, "jwt_secret", 0)) {
			fprintf(out, "jwt_secret = %s\n", secret);
			continue;
		}
		if (strcmp(section, "security") == 0 &&
		    line_is_key(line, "jwt_secret_previous", 0)) {
			if (!wrote_prev)
				fprintf(out, "jwt_secret_previous = %s\n",
				    c->jwt_secret);
			wrote_prev = 1;
			continue;
		}
		fputs(line, out);
	}
	if (strcmp(section, "security") == 0 && !wrote_prev) {
		fprintf(out, "jwt_secret_previous = %s\n", c->jwt_secret);
		wrote_prev = 1;
	}
	explicit_bzero(line, sizeof(line));
	if (ferror(in) || !wrote_prev) {
		fprintf(stderr, "%s: %s: cannot rewrite [security]\n",
		    progname, path);
		goto out;
	}
	n = fflush(out) != 0 || fsync(fileno(out)) != 0;
	if (fclose(out) != 0 || n) {
		out = NULL;
		fprintf(stderr, "%s: %s: write failed\n", progname, tmp);
		goto out;
	}
	out = NULL;
	if ((check = conf_load(tmp, err, sizeof(err))) == NULL ||
	    strcmp(check->jwt_secret, secret) != 0 ||
	    strcmp(check->jwt_secret_previous, c->jwt_secret) != 0) {
		fprintf(stderr, "%s: the rewritten config does not load back "
		    "(%s); %s left unchanged\n", progname,
		    check == NULL ? err : "secrets differ", path);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "%s: rename %s: %s\n", progname, path,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n >= 0 && (size_t)n < sizeof(dir) &&
	    (dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1 && fsync(dfd) == -1) {
		fprintf(stderr, "%s: fsync %s: %s\n", progname, dir,
		    strerror(errno));
		goto out;
	}
	printf("latchctl: rotated the signing key in %s (jwt_secret_previous "
	    "now holds the old one)\n"
	    "Reload latchd to use it: kill -HUP <master pid>.\n"
	    "Tokens signed with the previous key stay valid until they "
	    "expire (access_ttl, %d s);\nafter that, a second rotation "
	    "drops the previous key.\n", path, c->access_ttl);
	rc = 0;
out:
	tok_cleanse(secret, sizeof(secret));
	conf_free(check);
	if (out != NULL)
		fclose(out);
	if (fd != -1)
		close(fd);
	if (dfd != -1)
		close(dfd);
	if (in != NULL)
		fclose(in);
	if (tmp[0] != '\0')
		unlink(tmp);
	return rc;
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
	printf("latchctl: purged %llu ended sessions and %llu expired refresh "
	    "tokens\n", (unsigned long long)p.sessions,
	    (unsigned long long)p.tokens);
	return 0;
}

static int
cmd_migrate(const struct conf *c)
{
	struct db *db;
	int from = 0, to = 0;

	if ((db = db_open_raw(c)) == NULL) {
		fprintf(stderr, "%s: cannot reach the database (see the "
		    "[database] section of %s)\n", progname, c->path);
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
		fprintf(stderr, "%s: --role must be superadmin, admin or user\n",
		    progname);
		return 2;
	}
	if (!valid_org_name(org) || !valid_username(username) ||
	    !valid_email(email) || !valid_name(name)) {
		fprintf(stderr, "%s: invalid %s\n", progname,
		    !valid_org_name(org) ? "--org" : !valid_username(username) ?
		    "--username (3-64 of A-Za-z0-9._-)" : !valid_email(email) ?
		    "--email" : "--name");
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
		e = user_set_password(db, c, u.id, pw);
		tok_cleanse(pw, sizeof(pw));
		if (e == ERR_OK)
			e = session_revoke_user(db, u.id, 0);
	} else
		e = user_set_disabled(db, u.id, strcmp(cmd, "disable") == 0);
	db_close(db);
	if (e != ERR_OK)
		die_err(cmd, e);
	printf("latchctl: %s: done for %s (id %lld)%s\n", cmd, u.username,
	    (long long)u.id, strcmp(cmd, "enable") != 0 ?
	    "; their sessions are revoked" : "");
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
	c = load(path);
	if (strcmp(argv[0], "rotate-secret") == 0 && argc == 1)
		rc = cmd_rotate(c, path);
	else if (strcmp(argv[0], "migrate") == 0 && argc == 1)
		rc = cmd_migrate(c);
	else if (strcmp(argv[0], "create-user") == 0)
		rc = cmd_create_user(c, argc, argv);
	else if ((strcmp(argv[0], "reset-password") == 0 ||
	    strcmp(argv[0], "disable") == 0 || strcmp(argv[0], "enable") == 0) &&
	    argc == 2)
		rc = cmd_user(c, argv[0], argv[1]);
	else if (strcmp(argv[0], "list-users") == 0)
		rc = cmd_list(c, argc, argv);
	else if (strcmp(argv[0], "purge") == 0 && argc == 1)
		rc = cmd_purge(c);
	else
		usage();
	conf_free(c);
	return rc;
}
