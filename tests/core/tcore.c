/*
 * tcore.c: the core tests' harness (tcore.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "org.h"
#include "spool.h"
#include "tcore.h"

#define SQL_MAX 8192
#define OUT_MAX 65536

static int trigger; /* a tcore_refuse() trigger exists */

static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "tcore: %s\n", what);
	exit(1);
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0') {
		fprintf(stderr,
		    "tcore: %s is not set: run this program with "
		    "tests/run.py\n",
		    name);
		exit(1);
	}
	return v;
}

void
tcore_open(struct tcore *t)
{
	char err[512];
	struct db *raw;
	int from = 0, to = 0;

	memset(t, 0, sizeof(*t));
	log_init("tcore", LOG_LVL_WARN);
	if ((t->conf = conf_load(env("LATCH_TEST_CONFIG"), err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "tcore: config: %s\n", err);
		exit(1);
	}
	if ((raw = db_open_raw(t->conf)) == NULL ||
	    db_migrate(raw, &from, &to) == -1)
		die("the scratch database cannot be migrated");
	db_close(raw);
	if (spool_init(t->conf->mail_spool_dir) != ERR_OK)
		die("the spool cannot be made");
	if ((t->db = db_open(t->conf)) == NULL || !db_ping(t->db))
		die("the scratch database does not answer");
}

void
tcore_close(struct tcore *t)
{
	if (trigger)
		tcore_allow();
	db_close(t->db);
	conf_free(t->conf);
	memset(t, 0, sizeof(*t));
}

/* Run the mariadb client on sql; its output (first line) into out. */
static void
client(const char *sql, char *out, size_t outsz)
{
	const char *argv[] = {
		"mariadb",
		"--no-defaults",
		"-S",
		env("LATCH_TEST_SOCKET"),
		"-u",
		env("LATCH_TEST_ADMIN"),
		"--batch",
		"--skip-column-names",
		"--delimiter=//",
		"-e",
		sql,
		env("LATCH_TEST_DB"),
		NULL,
	};
	size_t n = 0;
	ssize_t k;
	int p[2], status;
	pid_t pid;

	fflush(stdout);
	if (pipe(p) == -1 || (pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		(void)dup2(p[1], STDOUT_FILENO);
		(void)close(p[0]);
		(void)close(p[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	(void)close(p[1]);
	while (n + 1 < outsz &&
	    ((k = read(p[0], out + n, outsz - 1 - n)) > 0 ||
		(k == -1 && errno == EINTR)))
		if (k > 0)
			n += (size_t)k;
	out[n] = '\0';
	(void)close(p[0]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "tcore: SQL failed: %s\n", sql);
		exit(1);
	}
	out[strcspn(out, "\t\n")] = '\0';
}

static char *
vsql(const char *fmt, va_list ap)
{
	char sql[SQL_MAX], *out;
	int n;

	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	if (n < 0 || (size_t)n >= sizeof(sql))
		die("SQL too long");
	if ((out = malloc(OUT_MAX)) == NULL)
		die("out of memory");
	client(sql, out, OUT_MAX);
	if (out[0] == '\0' || strcmp(out, "NULL") == 0) {
		free(out);
		return NULL;
	}
	return out;
}

char *
tcore_sql(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vsql(fmt, ap);
	va_end(ap);
	return s;
}

long long
tcore_sqlint(const char *fmt, ...)
{
	va_list ap;
	long long v;
	char *s;

	va_start(ap, fmt);
	s = vsql(fmt, ap);
	va_end(ap);
	v = s != NULL ? strtoll(s, NULL, 10) : 0;
	free(s);
	return v;
}

void
tcore_refuse(const char *table, const char *event, const char *cond)
{
	if (trigger)
		tcore_allow();
	free(tcore_sql(
	    "CREATE TRIGGER tcore_refuse BEFORE %s ON %s FOR EACH "
	    "ROW IF %s THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
	    "'refused by the test'; END IF",
	    event, table, cond));
	trigger = 1;
}

void
tcore_allow(void)
{
	free(tcore_sql("DROP TRIGGER IF EXISTS tcore_refuse"));
	trigger = 0;
}

const char *
tcore_uniq(const char *prefix)
{
	static char buf[8][80];
	static unsigned n;
	char *b = buf[n % 8];

	(void)snprintf(b, sizeof(buf[0]), "%s%u_%ld", prefix, ++n,
	    (long)getpid());
	return b;
}

void
tcore_user(struct tcore *t, const char *org, enum role role,
    const char *password, struct user *u)
{
	char email[160];
	const char *name = tcore_uniq("u");
	int64_t uid = 0;

	(void)snprintf(email, sizeof(email), "%s@example.test", name);
	if (org_register(t->db, t->conf, 0, org, 0, name, email, "", password,
		role, &uid) != ERR_OK ||
	    user_get(t->db, uid, u) != ERR_OK)
		die("cannot make a user");
}

struct actor
tcore_actor(const struct user *u)
{
	return user_actor(u, "192.0.2.1");
}

int
tcore_spooled(const struct tcore *t, const char *sub)
{
	char path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)snprintf(path, sizeof(path), "%s/%s", t->conf->mail_spool_dir,
	    sub);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(d);
	return n;
}
