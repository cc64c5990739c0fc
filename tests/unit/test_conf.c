/*
 * test_conf.c: conf_load() on the example file and on temporary files,
 * one per error case; conf_defaults().  Runs from the repository root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "t.h"

#define EXAMPLE "conf/latch.ini.example"
/* 64 bytes, as latchctl init would make. */
#define SECRET \
	"Q3xT9vLm2Rk8WzP4bN7cYh1JsF6gD0aE5uVqXiOtKrMwZnHyBlCjGdSfAe-_Tp2R"
#define SECLINE "[security]\njwt_secret = " SECRET "\n"

/* Write text into a new temporary file of the given mode; its path goes
 * into path (PATH_MAX bytes).  Returns 0, or -1. */
static int
write_tmp(const char *text, size_t len, mode_t mode, char *path, size_t sz)
{
	int fd;
	size_t off = 0;
	ssize_t w;

	if (snprintf(path, sz, "/tmp/latch-test-conf-XXXXXX") >= (int)sz)
		return -1;
	if ((fd = mkstemp(path)) == -1)
		return -1;
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) <= 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, mode) == -1 || close(fd) == -1) {
		unlink(path);
		return -1;
	}
	return 0;
}

/* Load text from a 0600 file; the conf, or NULL with err filled. */
static struct conf *
load_text(const char *text, char *path, char *err, size_t errlen)
{
	struct conf *c;

	err[0] = '\0';
	if (write_tmp(text, strlen(text), 0600, path, 4096) == -1) {
		snprintf(err, errlen, "cannot write a temporary file");
		return NULL;
	}
	c = conf_load(path, err, errlen);
	unlink(path);
	return c;
}

/* text (len bytes) must fail with exactly "PATH:want"; no message may
 * hold a secret. */
static void
expect_err_mem(const char *name, const char *text, size_t len, const char *want)
{
	char path[4096], err[512], exp[4608], tname[256];
	struct conf *c = NULL;

	err[0] = '\0';
	if (write_tmp(text, len, 0600, path, sizeof(path)) == 0) {
		c = conf_load(path, err, sizeof(err));
		unlink(path);
	}
	snprintf(tname, sizeof(tname), "%s: refused", name);
	T_OK(c == NULL, tname);
	conf_free(c);
	snprintf(exp, sizeof(exp), "%s:%s", path, want);
	snprintf(tname, sizeof(tname), "%s: message", name);
	T_EQ_STR(err, exp, tname);
	snprintf(tname, sizeof(tname), "%s: no secret in message", name);
	T_OK(strstr(err, SECRET) == NULL && strstr(err, "Q3xT9v") == NULL &&
		strstr(err, "hunter2") == NULL,
	    tname);
	T_OK(strchr(err, '\n') == NULL, "one line");
}

static void
expect_err(const char *name, const char *text, const char *want)
{
	expect_err_mem(name, text, strlen(text), want);
}

/* Every default of the table, as the contract and conf.h list them. */
static void
check_defaults(const struct conf *c, const char *what)
{
	char n[128];

#define DS(field, want) \
	do { \
		snprintf(n, sizeof(n), "%s: %s", what, #field); \
		T_EQ_STR(c->field, want, n); \
	} while (0)
#define DI(field, want) \
	do { \
		snprintf(n, sizeof(n), "%s: %s", what, #field); \
		T_EQ_INT(c->field, want, n); \
	} while (0)
	DS(listen, "/run/latch/latch.sock");
	DI(workers, 4);
	DI(max_requests, 10000);
	DS(base_path, "/api");
	DI(socket_mode, 0660);
	DI(request_timeout, 30);
	DS(trusted_proxies, "");
	DS(log_level, "info");
	DS(db_socket, "");
	DS(db_host, "127.0.0.1");
	DI(db_port, 3306);
	DS(db_user, "latch");
	DS(db_password, "");
	DS(db_name, "latch");
	DI(db_timeout, 5);
	DS(issuer, "latch");
	DI(access_ttl, 900);
	DI(refresh_ttl, 86400);
	DI(remember_ttl, 2592000);
	DI(refresh_reuse_interval, 10);
	DI(leeway, 30);
	DI(scrypt_n, 16384);
	DI(scrypt_r, 8);
	DI(scrypt_p, 5);
	DI(password_min_length, 8);
	DI(allow_new_organizations, 0);
	DI(invitation_ttl, 604800);
	DI(reset_ttl, 3600);
	DI(email_change_ttl, 86400);
	DI(auth_enabled, 1);
	DI(cookie_secure, 1);
	DS(cookie_path, "");
	DI(allow_world_readable_config, 0);
	DI(mail_run_mailer, 1);
	DS(mail_spool_dir, "/var/spool/latch");
	DS(mail_transport, "smtp");
	DS(smtp_host, "");
	DI(smtp_port, 587);
	DS(smtp_tls, "starttls");
	DI(smtp_verify, 1);
	DS(smtp_ca_file, "");
	DS(smtp_user, "");
	DS(smtp_password, "");
	DS(mail_from, "latch <noreply@localhost>");
	DS(login_url, "");
	DS(invite_url, "");
	DS(reset_url, "");
	DS(email_url, "");
	DS(mail_template_dir, "/usr/local/share/latch/mail");
	DI(retry_min, 60);
	DI(retry_max, 3600);
	DI(max_attempts, 10);
	DS(sendmail_path, "/usr/sbin/sendmail");
	DI(mail_min_interval, 900);
	DI(max_body, 16384);
	DI(ip_budget, 60);
	DS(ip_exempt, "");
	DI(login_max_failures, 5);
	DI(login_window, 900);
	DI(login_max_delay, 900);
#undef DS
#undef DI
}

static void
test_example(void)
{
	char path[4096], err[512], *text = NULL, *p, *e;
	struct conf *c = NULL;
	struct stat st;
	ssize_t r;
	int fd;

	/* A git checkout leaves it 0644: load a 0600 copy of its text. */
	fd = open(EXAMPLE, O_RDONLY);
	if (!T_OK(fd != -1 && fstat(fd, &st) == 0, "example: readable"))
		return;
	text = calloc(1, (size_t)st.st_size + 1);
	r = read(fd, text, (size_t)st.st_size);
	close(fd);
	T_EQ_INT(r, st.st_size, "example: read whole");

	/* As it is, its placeholder secret is refused: a copied example
	 * must not sign with a key everyone knows. */
	c = load_text(text, path, err, sizeof(err));
	T_OK(c == NULL &&
		strstr(err,
		    "[security] jwt_secret: the example's "
		    "placeholder (generate a secret with latchctl init)") !=
		    NULL,
	    "example: placeholder secret refused");
	conf_free(c);

	/* With a secret, as latchctl init writes it, it loads. */
	if ((p = strstr(text, "\njwt_secret = CHANGE-ME")) != NULL &&
	    (e = strchr(p + 1, '\n')) != NULL) {
		char *fixed = NULL;

		if (asprintf(&fixed, "%.*s\njwt_secret = %s%s", (int)(p - text),
			text, SECRET, e) == -1)
			fixed = NULL;
		c = fixed != NULL ? load_text(fixed, path, err, sizeof(err)) :
				    NULL;
		if (T_OK(c != NULL, "example with a secret: loads")) {
			check_defaults(c, "example");
			T_EQ_STR(c->jwt_secret, SECRET, "example: secret");
			T_EQ_INT(c->jwt_secret_len, strlen(SECRET),
			    "example: jwt_secret_len");
			T_EQ_STR(c->path, path, "example: path kept");
		} else
			printf("# %s\n", err);
		conf_free(c);
		free(fixed);
	} else
		T_OK(0, "example: a jwt_secret = CHANGE-ME... line");
	free(text);

	/* Loaded where it is: refused (its secret, and others may read a
	 * git checkout's 0644). */
	c = conf_load(EXAMPLE, err, sizeof(err));
	T_OK(c == NULL, "example in place: refused");
	conf_free(c);
}

static void
test_defaults(void)
{
	struct conf *c = conf_defaults();

	if (!T_OK(c != NULL, "defaults: allocated"))
		return;
	check_defaults(c, "defaults");
	T_OK(c->jwt_secret == NULL, "defaults: no secret");
	T_EQ_INT(c->jwt_secret_len, 0, "defaults: secret length 0");
	conf_free(c);
	conf_free(NULL);
	T_OK(1, "conf_free(NULL)");
}

static void
test_values(void)
{
	char path[4096], err[512];
	struct conf *c;

	c = load_text(
	    "; comment\n# comment\n\n"
	    "[server]\n"
	    "workers = 16\n"
	    "  max_requests = 0\n"
	    "base_path = \"\"\n"
	    "socket_mode = 600\n"
	    "listen = 127.0.0.1:9000\n"
	    "log_level = debug\n"
	    "trusted_proxies = \"10.0.0.1, ::1\"\n"
	    "[database]\n"
	    "password = \"a;b # c\"\n"
	    "name = \"  spaced  \"\n"
	    "[security]\n"
	    "jwt_secret = \"" SECRET
	    "\"\n"
	    "scrypt_n = 1048576\n"
	    "allow_new_organizations = YES\n"
	    "auth_enabled = Off\n"
	    "cookie_secure = 0\n"
	    "[mail]\n"
	    "from = \"Latch Team\" <team@example.com>\n"
	    "smtp_password = pass ; word\n"
	    "smtp_verify = on\n"
	    "transport = sendmail\n"
	    "smtp_tls = tls\n"
	    "retry_min = 600\n"
	    "retry_max = 600\n"
	    "invite_url = https://example.com/register\n"
	    "[server]\n"
	    "request_timeout = +7\n",
	    path, err, sizeof(err));
	if (!T_OK(c != NULL, "values: loads")) {
		printf("# %s\n", err);
		return;
	}
	T_EQ_INT(c->workers, 16, "values: workers");
	T_EQ_INT(c->max_requests, 0, "values: max_requests 0, indented");
	T_EQ_STR(c->base_path, "", "values: empty base_path");
	T_EQ_INT(c->socket_mode, 0600, "values: octal without leading 0");
	T_EQ_STR(c->listen, "127.0.0.1:9000", "values: listen host:port");
	T_EQ_STR(c->log_level, "debug", "values: log_level");
	T_EQ_STR(c->trusted_proxies, "10.0.0.1, ::1",
	    "values: quotes stripped");
	T_EQ_STR(c->db_password, "a;b # c", "values: ; and # kept in quotes");
	T_EQ_STR(c->db_name, "  spaced  ", "values: quoted spaces kept");
	T_EQ_STR(c->jwt_secret, SECRET, "values: quoted secret stripped");
	T_EQ_INT(c->jwt_secret_len, 64, "values: secret length");
	T_EQ_INT(c->scrypt_n, 1048576, "values: scrypt_n max");
	T_EQ_INT(c->allow_new_organizations, 1, "values: bool YES");
	T_EQ_INT(c->auth_enabled, 0, "values: bool Off");
	T_EQ_INT(c->cookie_secure, 0, "values: bool 0");
	T_EQ_INT(c->smtp_verify, 1, "values: bool on");
	T_EQ_STR(c->mail_from, "\"Latch Team\" <team@example.com>",
	    "values: inner quotes kept");
	T_EQ_STR(c->smtp_password, "pass ; word", "values: no inline comment");
	T_EQ_STR(c->mail_transport, "sendmail", "values: transport");
	T_EQ_STR(c->smtp_tls, "tls", "values: smtp_tls");
	T_EQ_INT(c->retry_max, 600, "values: retry_max == retry_min");
	T_EQ_STR(c->invite_url, "https://example.com/register",
	    "values: invite_url");
	T_EQ_INT(c->request_timeout, 7, "values: section again, +7");
	T_EQ_INT(c->db_port, 3306, "values: unset key keeps default");
	conf_free(c);

	/* CRLF line ends and a UTF-8 BOM. */
	c = load_text(
	    "\xef\xbb\xbf[server]\r\nworkers = 3\r\n[security]\r\n"
	    "jwt_secret = " SECRET "\r\n",
	    path, err, sizeof(err));
	if (T_OK(c != NULL, "crlf+bom: loads")) {
		T_EQ_INT(c->workers, 3, "crlf+bom: workers");
		T_EQ_STR(c->jwt_secret, SECRET, "crlf+bom: no \\r in secret");
	} else
		printf("# %s\n", err);
	conf_free(c);

	/* Secrets at the bounds: 32 and 512 bytes. */
	{
		char text[1024], s32[33], s512[513];

		memset(s32, 'k', 32);
		s32[32] = '\0';
		memset(s512, 'K', 512);
		s512[512] = '\0';
		snprintf(text, sizeof(text), "[security]\njwt_secret = %s\n",
		    s32);
		c = load_text(text, path, err, sizeof(err));
		T_OK(c != NULL && c->jwt_secret_len == 32, "secret 32 bytes");
		conf_free(c);
		snprintf(text, sizeof(text),
		    "[security]\njwt_secret = \"%s\"\n", s512);
		c = load_text(text, path, err, sizeof(err));
		T_OK(c != NULL && c->jwt_secret_len == 512, "secret 512 bytes");
		conf_free(c);
	}

	/* Run-time settings: the seven, and the config's pins. */
	T_EQ_INT(conf_runtime_count(), 7, "seven run-time settings");
	T_EQ_INT(conf_runtime_find("auth_enabled") >= 0, 1, "auth_enabled");
	T_EQ_INT(conf_runtime_find("jwt_secret"), -1, "not jwt_secret");
	T_EQ_INT(conf_runtime_find("scrypt_n"), -1, "not scrypt_n");
	c = load_text(SECLINE
	    "pinned_settings = auth_enabled, "
	    "login_window\n",
	    path, err, sizeof(err));
	T_OK(c != NULL, "pinned_settings with two names");
	if (c != NULL) {
		T_OK(conf_runtime_pinned(c,
			 (size_t)conf_runtime_find("auth_enabled")),
		    "auth_enabled pinned");
		T_OK(conf_runtime_pinned(c,
			 (size_t)conf_runtime_find("login_window")),
		    "login_window pinned");
		T_OK(!conf_runtime_pinned(c,
			 (size_t)conf_runtime_find("login_max_delay")),
		    "login_max_delay not pinned");
		T_EQ_INT(conf_runtime_set(c,
			     (size_t)conf_runtime_find("password_min_length"),
			     "7"),
		    -1, "7 below the bound");
		T_EQ_INT(conf_runtime_set(c,
			     (size_t)conf_runtime_find("password_min_length"),
			     "12"),
		    0, "12 within it");
		T_EQ_INT(c->password_min_length, 12, "and set");
	}
	conf_free(c);
	c = load_text(SECLINE "pinned_settings = *\n", path, err, sizeof(err));
	T_OK(c != NULL && conf_runtime_pinned(c, 0), "* pins them all");
	conf_free(c);
	c = load_text(SECLINE, path, err, sizeof(err));
	T_OK(c != NULL && !conf_runtime_pinned(c, 0), "none pinned by default");
	conf_free(c);

	/* Good base paths. */
	c = load_text("[server]\nbase_path = /~user/auth/api\n" SECLINE, path,
	    err, sizeof(err));
	T_OK(c != NULL && strcmp(c->base_path, "/~user/auth/api") == 0,
	    "base_path nested");
	conf_free(c);

	/* Good senders. */
	{
		static const char *const from[] = {
			"noreply@example.com",
			"<noreply@example.com>",
			"Latch Auth <noreply@example.com>",
			"\"Latch \\\"Auth\\\"\" <noreply@example.com>",
			"Zoë <noreply@example.com>",
		};
		char t[512];
		size_t i;

		for (i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
			snprintf(t, sizeof(t),
			    SECLINE
			    "[mail]\n"
			    "from = %s\n",
			    from[i]);
			c = load_text(t, path, err, sizeof(err));
			T_OK(c != NULL, from[i]);
			if (c != NULL)
				T_EQ_STR(c->mail_from, from[i], "from kept");
			conf_free(c);
		}
	}
}

static void
test_errors(void)
{
	char text[4096], big[2100], want[256], path[4096], err[512];
	struct conf *c;

	expect_err("missing secret", "[server]\nworkers = 4\n",
	    " [security] jwt_secret: missing (generate one with latchctl "
	    "init)");
	expect_err("empty file", "",
	    " [security] jwt_secret: missing "
	    "(generate one with latchctl init)");
	expect_err("short secret",
	    "[server]\n\n[security]\n"
	    "jwt_secret = hunter2hunter2hunter2hunter2hun\n",
	    "4: [security] jwt_secret: too short (at least 32 bytes; generate "
	    "one with latchctl init)");
	expect_err("empty secret", "[security]\njwt_secret =\n",
	    "2: [security] jwt_secret: too short (at least 32 bytes; generate "
	    "one with latchctl init)");
	memset(big, 'Q', 513);
	big[0] = 'Q', big[1] = '3', big[2] = 'x', big[3] = 'T', big[4] = '9';
	big[5] = 'v';
	big[513] = '\0';
	snprintf(text, sizeof(text), "[security]\njwt_secret = %s\n", big);
	expect_err("long secret", text,
	    "2: [security] jwt_secret: too long (at most 512 bytes)");
	memset(big, 'x', 2040);
	big[2040] = '\0';
	snprintf(text, sizeof(text), "[server]\nlisten = %s\n" SECLINE, big);
	expect_err("line too long", text,
	    "2: line too long (at most 2045 "
	    "bytes)");

	/* A secret pasted on a line of its own is never echoed. */
	expect_err("secret on next line",
	    "[security]\njwt_secret =\n  " SECRET "==\n",
	    "2: [security] jwt_secret: too short (at least 32 bytes; generate "
	    "one with latchctl init)");
	expect_err("secret as key", "[security]\n" SECRET " = x\n",
	    "2: [security] (key not shown): unknown key");
	expect_err("secret as line", "[security]\n" SECRET "\n",
	    "2: syntax error (expected [section] or key = value)");

	expect_err("unknown section", SECLINE "[bogus]\nfoo = 1\n",
	    "4: [bogus] foo: unknown section");
	expect_err("unknown key", "[server]\nworkers = 4\nwrkers = 4\n" SECLINE,
	    "3: [server] wrkers: unknown key");
	expect_err("key in wrong section", SECLINE "[server]\nport = 1\n",
	    "4: [server] port: unknown key (it belongs in [database])");
	expect_err("upper-case key", SECLINE "[server]\nWorkers = 1\n",
	    "4: [server] (key not shown): unknown key");
	expect_err("outside any section", "workers = 4\n" SECLINE,
	    "1: workers: outside any section");
	expect_err("duplicate",
	    "[server]\nworkers = 4\n" SECLINE "[server]\nworkers = 5\n",
	    "6: [server] workers: duplicate key (first set on line 2)");
	expect_err("duplicate secret", SECLINE "jwt_secret = " SECRET "\n",
	    "3: [security] jwt_secret: duplicate key (first set on line 2)");
	expect_err("duplicate password",
	    SECLINE
	    "[database]\n"
	    "password = hunter2\npassword = hunter2\n",
	    "5: [database] password: duplicate key (first set on line 4)");
	expect_err("syntax", SECLINE "[server]\nworkers\n",
	    "4: syntax error (expected [section] or key = value)");
	expect_err("syntax section", SECLINE "[server\nworkers = 1\n",
	    "3: syntax error (expected [section] or key = value)");
	expect_err("continuation", SECLINE "[server]\nworkers = 4\n  5\n",
	    "5: syntax error (expected [section] or key = value)");
	expect_err_mem("nul byte", SECLINE "[server]\nworkers = 4\0 5\n",
	    sizeof(SECLINE "[server]\nworkers = 4\0 5\n") - 1,
	    "4: NUL byte in the line");
	expect_err("first error wins",
	    SECLINE
	    "[server]\nworkers = x\n"
	    "bogus = 1\n",
	    "4: [server] workers: must be an integer from 1 to "
	    "256");

	/* Integers. */
	{
		static const char *const bad[] = { "abc", "0", "257", "4x", "",
			"\"\"", "-1", "4.0", "0x10", "99999999999999999999",
			"-99999999999999999999", "\" 4\"", "4 4" };
		size_t i;
		char n[64];

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(text, sizeof(text),
			    SECLINE "[server]\nworkers = %s\n", bad[i]);
			snprintf(n, sizeof(n), "workers = %s", bad[i]);
			expect_err(n, text,
			    "4: [server] workers: must be an "
			    "integer from 1 to 256");
		}
	}
	expect_err("pinned unknown",
	    SECLINE
	    "pinned_settings = auth_enabled, "
	    "jwt_secret\n",
	    "3: [security] pinned_settings: must list setting "
	    "names (see GET /settings), or *");
	expect_err("port 0", SECLINE "[database]\nport = 0\n",
	    "4: [database] port: must be an integer from 1 to 65535");
	expect_err("access_ttl low", SECLINE "access_ttl = 29\n",
	    "3: [security] access_ttl: must be an integer from 30 to 86400");
	expect_err("max_requests high",
	    SECLINE
	    "[server]\n"
	    "max_requests = 10000001\n",
	    "4: [server] max_requests: must be an "
	    "integer from 0 to 10000000");
	expect_err("max_body low", SECLINE "[limits]\nmax_body = 1023\n",
	    "4: [limits] max_body: must be an integer from 1024 to 1048576");
	expect_err("scrypt_n not pow2", SECLINE "scrypt_n = 3000\n",
	    "3: [security] scrypt_n: must be a power of two from 1024 to "
	    "1048576");
	expect_err("scrypt_n small", SECLINE "scrypt_n = 512\n",
	    "3: [security] scrypt_n: must be a power of two from 1024 to "
	    "1048576");
	expect_err("scrypt_p high", SECLINE "scrypt_p = 17\n",
	    "3: [security] scrypt_p: must be an integer from 1 to 16");
	expect_err("octal 8", SECLINE "[server]\nsocket_mode = 0680\n",
	    "4: [server] socket_mode: must be an octal mode from 0 to 0777");
	expect_err("octal big", SECLINE "[server]\nsocket_mode = 01000\n",
	    "4: [server] socket_mode: must be an octal mode from 0 to 0777");
	expect_err("bool", SECLINE "cookie_secure = maybe\n",
	    "3: [security] cookie_secure: must be true or false (or yes/no, "
	    "on/off, 1/0)");
	expect_err("bool empty", SECLINE "[mail]\nsmtp_verify =\n",
	    "4: [mail] smtp_verify: must be true or false (or yes/no, on/off, "
	    "1/0)");
	expect_err("log_level", SECLINE "[server]\nlog_level = verbose\n",
	    "4: [server] log_level: must be one of: debug, info, warn");
	expect_err("transport", SECLINE "[mail]\ntransport = SMTP\n",
	    "4: [mail] transport: must be one of: smtp, sendmail");
	expect_err("smtp_tls", SECLINE "[mail]\nsmtp_tls = ssl\n",
	    "4: [mail] smtp_tls: must be one of: none, starttls, tls");
	expect_err("issuer empty", SECLINE "issuer =\n",
	    "3: [security] issuer: must not be empty");
	memset(big, 'i', 65);
	big[65] = '\0';
	snprintf(text, sizeof(text), SECLINE "issuer = %s\n", big);
	expect_err("issuer long", text,
	    "3: [security] issuer: too long (at most 64 bytes)");
	expect_err("control char", SECLINE "[mail]\nfrom = \"a\tb\"\n",
	    "4: [mail] from: must not contain control characters");
	expect_err("listen empty", SECLINE "[server]\nlisten = \"\"\n",
	    "4: [server] listen: must not be empty");

	/* base_path. */
	{
		static const char *const bad[] = { "/", "api", "/api/", "/a?b",
			"/a%20b", "/a#b", "\"/a b\"", "//" };
		size_t i;
		char n[64];

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(text, sizeof(text),
			    SECLINE "[server]\nbase_path = %s\n", bad[i]);
			snprintf(n, sizeof(n), "base_path = %s", bad[i]);
			expect_err(n, text,
			    "4: [server] base_path: must be "
			    "empty or start with '/' and not end with '/', "
			    "without '?', '%', '#' or spaces");
		}
	}
	expect_err("invite_url scheme",
	    SECLINE
	    "[mail]\n"
	    "invite_url = ftp://x\n",
	    "4: [mail] invite_url: must be empty or "
	    "an http:// or https:// URL");
	expect_err("from without an address",
	    SECLINE
	    "[mail]\n"
	    "from = latch\n",
	    "4: [mail] from: must be an address or "
	    "\"Name <address>\"");
	expect_err("from with a bad address",
	    SECLINE
	    "[mail]\n"
	    "from = \"latch <noreply@>\"\n",
	    "4: [mail] from: must be an "
	    "address or \"Name <address>\"");
	expect_err("from without its '>'",
	    SECLINE
	    "[mail]\n"
	    "from = \"latch <noreply@example.com\"\n",
	    "4: [mail] from: must "
	    "be an address or \"Name <address>\"");
	expect_err("reset_url query",
	    SECLINE
	    "[mail]\n"
	    "reset_url = https://x/r?a=1\n",
	    "4: [mail] reset_url: must not "
	    "contain '?', '#' or spaces (the query is appended)");
	expect_err("email_url scheme",
	    SECLINE
	    "[mail]\n"
	    "email_url = javascript:x\n",
	    "4: [mail] email_url: must be empty "
	    "or an http:// or https:// URL");
	expect_err("email_change_ttl bounds",
	    SECLINE
	    "[security]\n"
	    "email_change_ttl = 59\n",
	    "4: [security] email_change_ttl: must "
	    "be an integer from 60 to 604800");

	/* login_url: a path of the site or an http(s) URL, no query. */
	{
		static const char *const bad[] = { "signin.html", "//evil/x",
			"ftp://x/", "javascript:alert(1)", "/signin.html?a=1",
			"/a#b", "\"/a b\"", "/a\\b" };
		size_t i;
		char n[64];

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(text, sizeof(text),
			    SECLINE "[server]\nlogin_url = %s\n", bad[i]);
			snprintf(n, sizeof(n), "login_url = %s", bad[i]);
			c = load_text(text, path, err, sizeof(err));
			T_OK(c == NULL &&
				strstr(err, "[server] login_url: must") != NULL,
			    n);
			conf_free(c);
		}
		c = load_text(SECLINE
		    "[server]\nlogin_url = /auth/signin.html"
		    "\n",
		    path, err, sizeof(err));
		T_OK(c != NULL &&
			strcmp(c->login_url, "/auth/signin.html") == 0,
		    "login_url = a path");
		conf_free(c);
		c = load_text(SECLINE
		    "[server]\nlogin_url = https://auth.example"
		    ".com/signin.html\n",
		    path, err, sizeof(err));
		T_OK(c != NULL, "login_url = an https URL");
		conf_free(c);
	}
	expect_err("cookie_path relative", SECLINE "cookie_path = api\n",
	    "3: [security] cookie_path: must be empty or start with '/'");
	expect_err("cookie_path with ;", SECLINE "cookie_path = \"/a;b\"\n",
	    "3: [security] cookie_path: must be printable ASCII without "
	    "spaces, ';', ',', '\"' or '\\'");

	/* retry_max >= retry_min. */
	expect_err("retry_max < retry_min",
	    SECLINE
	    "[mail]\nretry_min = 100\n"
	    "retry_max = 99\n",
	    "5: [mail] retry_max: must be at least retry_min (100)");
	expect_err("retry_min > default max",
	    SECLINE
	    "[mail]\n"
	    "retry_min = 7200\n",
	    "4: [mail] retry_min: must be at most retry_max (3600)");

	/* A bad value of a secret key never shows the value. */
	snprintf(want, sizeof(want),
	    "4: [mail] smtp_password: too long (at "
	    "most %d bytes)",
	    1024);
	memset(big, 'h', 1025);
	memcpy(big, "hunter2", 7);
	big[1025] = '\0';
	snprintf(text, sizeof(text), SECLINE "[mail]\nsmtp_password = %s\n",
	    big);
	expect_err("long smtp_password", text, want);
}

static void
test_files(void)
{
	char path[4096], err[512];
	struct conf *c;
	const char *text = SECLINE;
	const char *open_text = SECLINE "allow_world_readable_config = true\n";

	c = conf_load("/nonexistent/latch.ini", err, sizeof(err));
	T_OK(c == NULL, "nonexistent: refused");
	T_EQ_STR(err, "/nonexistent/latch.ini: No such file or directory",
	    "nonexistent: message");

	c = conf_load("/tmp", err, sizeof(err));
	T_OK(c == NULL, "directory: refused");
	T_EQ_STR(err, "/tmp: not a regular file", "directory: message");

	T_OK(conf_load("/nonexistent", NULL, 0) == NULL, "err NULL");

	if (write_tmp(text, strlen(text), 0644, path, sizeof(path)) == 0) {
		char want[8400];

		c = conf_load(path, err, sizeof(err));
		T_OK(c == NULL, "mode 0644: refused");
		snprintf(want, sizeof(want),
		    "%s: readable by others (chmod 600 "
		    "%s, or set [security] allow_world_readable_config = true)",
		    path, path);
		T_EQ_STR(err, want, "mode 0644: message");
		conf_free(c);
		unlink(path);
	}
	if (write_tmp(text, strlen(text), 0640, path, sizeof(path)) == 0) {
		c = conf_load(path, err, sizeof(err));
		T_OK(c != NULL, "mode 0640: loads");
		conf_free(c);
		unlink(path);
	}
	if (write_tmp(open_text, strlen(open_text), 0644, path, sizeof(path)) ==
	    0) {
		c = conf_load(path, err, sizeof(err));
		T_OK(c != NULL && c->allow_world_readable_config == 1,
		    "mode 0644 allowed by allow_world_readable_config");
		conf_free(c);
		unlink(path);
	}
	/* A world-readable file without its secret: the mode comes first. */
	if (write_tmp("[server]\n", 9, 0604, path, sizeof(path)) == 0) {
		c = conf_load(path, err, sizeof(err));
		T_OK(c == NULL && strstr(err, "readable by others") != NULL,
		    "mode 0604, no secret: mode reported");
		conf_free(c);
		unlink(path);
	}
}

/*
 * A config that others can write, or that belongs to neither root nor the
 * running user, is refused before it is read, whatever it says: whoever
 * can change it chooses the programs the mailer runs and the database
 * latchd trusts.
 */
static void
test_writers(void)
{
	static const mode_t modes[] = { 0620, 0660, 0602, 0622, 0666 };
	const char *open_text = SECLINE "allow_world_readable_config = true\n";
	char path[4096], err[512], want[8400], name[96];
	struct conf *c;
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (write_tmp(open_text, strlen(open_text), modes[i], path,
			sizeof(path)) == -1)
			continue;
		c = conf_load(path, err, sizeof(err));
		snprintf(name, sizeof(name), "mode %04o: refused",
		    (unsigned)modes[i]);
		T_OK(c == NULL, name);
		snprintf(want, sizeof(want),
		    "%s: writable by its group or "
		    "others (chmod go-w %s)",
		    path, path);
		snprintf(name, sizeof(name), "mode %04o: message",
		    (unsigned)modes[i]);
		T_EQ_STR(err, want, name);
		conf_free(c);
		unlink(path);
	}

	if (geteuid() != 0) {
		printf(
		    "# skip: a config of another owner needs root to "
		    "make\n");
		return;
	}
	/* Root runs the programs: a file of uid 65534 (nobody) is refused,
	 * one of root loads. */
	if (write_tmp(SECLINE, strlen(SECLINE), 0600, path, sizeof(path)) == -1)
		return;
	T_OK(chown(path, 0, 0) == 0, "owner root: chown");
	c = conf_load(path, err, sizeof(err));
	T_OK(c != NULL, "owner root: loads");
	conf_free(c);
	T_OK(chown(path, 65534, 65534) == 0, "owner nobody: chown");
	c = conf_load(path, err, sizeof(err));
	T_OK(c == NULL, "owner nobody, run by root: refused");
	snprintf(want, sizeof(want),
	    "%s: owned by uid 65534, neither root "
	    "nor the user running this (uid 0); chown it",
	    path);
	T_EQ_STR(err, want, "owner nobody, run by root: message");
	conf_free(c);
	unlink(path);
}

/* [database] host naming several servers, in order (conf_db_server()). */
static void
test_db_servers(void)
{
	static const struct {
		const char *host;
		int port;
	} want[] = {
		{ "db1.example", 3307 },
		{ "10.0.0.2", 3306 },
		{ "::1", 3306 },
		{ "fe80::1", 4000 },
		{ "/run/mysqld/mysqld.sock", 0 },
	};
	char path[4096], err[512], host[CONF_DB_HOSTMAX], tname[64];
	struct conf *c;
	size_t i;
	int port;

	c = load_text(SECLINE
	    "[database]\nhost = db1.example:3307, 10.0.0.2,"
	    "::1 ,[fe80::1]:4000,/run/mysqld/mysqld.sock\nport = 3306\n",
	    path, err, sizeof(err));
	T_OK(c != NULL, "five servers: loaded");
	if (c == NULL)
		return;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(tname, sizeof(tname), "server %zu", i + 1);
		T_OK(conf_db_server(c, i, host, sizeof(host), &port) == 0,
		    tname);
		T_EQ_STR(host, want[i].host, tname);
		T_EQ_INT(port, want[i].port, tname);
	}
	T_OK(conf_db_server(c, i, host, sizeof(host), &port) == -1,
	    "no sixth server");
	conf_free(c);
	/* The socket, when set, is the one server (as ever). */
	c = load_text(SECLINE
	    "[database]\nsocket = /tmp/m.sock\n"
	    "host = a, b\n",
	    path, err, sizeof(err));
	T_OK(c != NULL &&
		conf_db_server(c, 0, host, sizeof(host), &port) == 0 &&
		strcmp(host, "/tmp/m.sock") == 0 && port == 0 &&
		conf_db_server(c, 1, host, sizeof(host), &port) == -1,
	    "socket: the one server");
	conf_free(c);
	expect_err("empty server", SECLINE "[database]\nhost = a,,b\n",
	    "4: [database] host: has an empty server");
	expect_err("port 0 in host", SECLINE "[database]\nhost = a:0\n",
	    "4: [database] host: has a port outside 1..65535");
	expect_err("port text in host", SECLINE "[database]\nhost = a:x1\n",
	    "4: [database] host: has a port outside 1..65535");
	expect_err("bracket", SECLINE "[database]\nhost = [::1\n",
	    "4: [database] host: has a '[' without its ']'");
	expect_err("after bracket", SECLINE "[database]\nhost = [::1]x\n",
	    "4: [database] host: has something after ']' other than :PORT");
	expect_err("space", SECLINE "[database]\nhost = a b\n",
	    "4: [database] host: has a server name too long or with spaces");
	expect_err("nine", SECLINE "[database]\nhost = a,b,c,d,e,f,g,h,i\n",
	    "4: [database] host: names more than 8 servers");
}

int
main(void)
{
	test_defaults();
	test_example();
	test_values();
	test_errors();
	test_files();
	test_writers();
	test_db_servers();
	return T_DONE();
}
