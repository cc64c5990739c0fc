/*
 * conf.c: load latch's INI configuration with inih.
 *
 * Every key lives in one table (keys[] below) with its section, type,
 * field, bounds and default, written as it would appear in the file.
 * conf_defaults() runs each default through the same setter as a value
 * read from the file, so the table cannot hold a default its own bounds
 * would refuse.
 *
 * The file is read whole into memory (and cleansed afterwards, it holds
 * secrets) and fed to inih line by line by our own reader, which counts
 * lines, so an error names its line exactly, and refuses NUL bytes and
 * lines too long for inih's buffer instead of letting inih split them.
 *
 * No error message ever contains a value: a value may be a secret, or a
 * secret pasted onto the wrong line.  For the same reason a section or key
 * name is only echoed when it looks like one.
 *
 * A little over 800 lines on purpose: most of it is the key table and
 * its typed setters, kept in one file so that each key's bounds, default
 * and check are written once, side by side.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "key.h"
#include "msg.h"
#include "tok.h"
#include "net.h"

/* Longest line inih is given, '\r', '\n' and NUL included: room for the
 * longest quoted string value, its key and some spaces. */
#define CONF_LINE_MAX 2048
/* Largest file read: a config is a few kilobytes. */
#define CONF_FILE_MAX (1024 * 1024)
/* Upper bound on the length of a string value unless the table says. */
#define CONF_STR_MAX 1024
#define CONF_SECRET_MIN 32
#define CONF_SECRET_MAX 512
/* How conf/latch.ini.example's jwt_secret begins: never a key. */
#define CONF_SECRET_PLACEHOLDER "CHANGE-ME"

enum conf_type {
	CONF_STR,    /* char *, min..max bytes, no control characters */
	CONF_SECRET, /* char *, min..max bytes, cleansed when freed */
	CONF_INT,    /* int, decimal, min..max */
	CONF_UINT,   /* unsigned, decimal, min..max */
	CONF_BOOL,   /* int 0/1: true/false, yes/no, on/off, 1/0 */
	CONF_OCTAL,  /* int, octal, min..max */
	CONF__MAX
};

#define CONF_POW2 0x01    /* a number must be a power of two */
#define CONF_RUNTIME 0x02 /* may change at run time (settings.h) */

struct conf_key {
	const char *section;
	const char *key;
	enum conf_type type;
	size_t off;                 /* offsetof(struct conf, field) */
	long min, max;              /* value, or string length in bytes */
	const char *def;            /* default as written; NULL: required */
	unsigned flags;             /* CONF_POW2 */
	const char *const *choices; /* a string must be one of these */
	/* A string's own rule: returns NULL if fine, else what it must be. */
	const char *(*check)(const char *v);
};

static const char *const log_levels[] = { "debug", "info", "warn", NULL };
static const char *const transports[] = { "smtp", "sendmail", NULL };
static const char *const tls_modes[] = { "none", "starttls", "tls", NULL };
static const char *const jwt_algs[] = { "HS256", "EdDSA", NULL };

static const char *check_base_path(const char *);
static const char *check_url(const char *);
static const char *check_secret(const char *);
static const char *check_login_url(const char *);
static const char *check_cookie_path(const char *);
static const char *check_secret_previous(const char *);
static const char *check_from(const char *);
static const char *check_key_path(const char *);
static const char *check_until(const char *);
static const char *check_nets(const char *);
static const char *check_db_hosts(const char *);
static const char *check_pinned(const char *);

/* clang-format off */
#define F(field) offsetof(struct conf, field)
#define STR(s, k, f, lo, def) \
	{s, k, CONF_STR, F(f), lo, CONF_STR_MAX, def, 0, NULL, NULL}
#define STRX(s, k, f, lo, def, choices, check) \
	{s, k, CONF_STR, F(f), lo, CONF_STR_MAX, def, 0, choices, check}
#define SECRET(s, k, f, lo, hi, def) \
	{s, k, CONF_SECRET, F(f), lo, hi, def, 0, NULL, NULL}
#define SECRETX(s, k, f, lo, hi, def, check) \
	{s, k, CONF_SECRET, F(f), lo, hi, def, 0, NULL, check}
#define INT(s, k, f, lo, hi, def) \
	{s, k, CONF_INT, F(f), lo, hi, def, 0, NULL, NULL}
#define UINT(s, k, f, lo, hi, def, fl) \
	{s, k, CONF_UINT, F(f), lo, hi, def, fl, NULL, NULL}
#define BOOL(s, k, f, def) \
	{s, k, CONF_BOOL, F(f), 0, 1, def, 0, NULL, NULL}
/* A key that GET/PATCH /settings may change at run time (settings.h). */
#define RINT(s, k, f, lo, hi, def) \
	{s, k, CONF_INT, F(f), lo, hi, def, CONF_RUNTIME, NULL, NULL}
#define RBOOL(s, k, f, def) \
	{s, k, CONF_BOOL, F(f), 0, 1, def, CONF_RUNTIME, NULL, NULL}
#define OCTAL(s, k, f, lo, hi, def) \
	{s, k, CONF_OCTAL, F(f), lo, hi, def, 0, NULL, NULL}
/* clang-format on */

/* clang-format off */
static const struct conf_key keys[] = {
	STR("server", "listen", listen, 1, "/run/latch/latch.sock"),
	INT("server", "workers", workers, 1, 256, "4"),
	INT("server", "max_requests", max_requests, 0, 10000000, "10000"),
	STRX("server", "base_path", base_path, 0, "/api", NULL,
	    check_base_path),
	OCTAL("server", "socket_mode", socket_mode, 0, 0777, "0660"),
	INT("server", "request_timeout", request_timeout, 1, 3600, "30"),
	STR("server", "trusted_proxies", trusted_proxies, 0, ""),
	STRX("server", "log_level", log_level, 1, "info", log_levels, NULL),
	STRX("server", "login_url", login_url, 0, "", NULL, check_login_url),
	STRX("server", "metrics_allow", metrics_allow, 0, "127.0.0.0/8, ::1",
	    NULL, check_nets),

	STR("database", "socket", db_socket, 0, ""),
	STRX("database", "host", db_host, 0, "127.0.0.1", NULL, check_db_hosts),
	INT("database", "port", db_port, 1, 65535, "3306"),
	STR("database", "user", db_user, 1, "latch"),
	SECRET("database", "password", db_password, 0, CONF_STR_MAX, ""),
	STR("database", "name", db_name, 1, "latch"),
	INT("database", "timeout", db_timeout, 1, 300, "5"),
	INT("database", "wsrep_sync_wait", db_sync_wait, 0, 15, "0"),

	SECRETX("security", "jwt_secret", jwt_secret, CONF_SECRET_MIN,
	    CONF_SECRET_MAX, NULL, check_secret),
	SECRETX("security", "jwt_secret_previous", jwt_secret_previous, 0,
	    CONF_SECRET_MAX, "", check_secret_previous),
	STRX("security", "jwt_alg", jwt_alg, 1, "HS256", jwt_algs, NULL),
	STRX("security", "jwt_key", jwt_key, 0, "", NULL, check_key_path),
	STRX("security", "jwt_key_next", jwt_key_next, 0, "", NULL,
	    check_key_path),
	STRX("security", "jwt_key_previous", jwt_key_previous, 0, "", NULL,
	    check_key_path),
	STRX("security", "jwt_previous_until", jwt_previous_until, 0, "", NULL,
	    check_until),
	{"security", "issuer", CONF_STR, F(issuer), 1, 64, "latch", 0, NULL,
	    NULL},
	INT("security", "access_ttl", access_ttl, 30, 86400, "900"),
	INT("security", "refresh_ttl", refresh_ttl, 60, 31536000, "86400"),
	INT("security", "remember_ttl", remember_ttl, 60, 31536000,
	    "2592000"),
	INT("security", "refresh_reuse_interval", refresh_reuse_interval, 0,
	    300, "10"),
	INT("security", "leeway", leeway, 0, 300, "30"),
	UINT("security", "scrypt_n", scrypt_n, 1024, 1048576, "16384",
	    CONF_POW2),
	UINT("security", "scrypt_r", scrypt_r, 1, 32, "8", 0),
	UINT("security", "scrypt_p", scrypt_p, 1, 16, "5", 0),
	RINT("security", "password_min_length", password_min_length, 8, 256,
	    "8"),
	RBOOL("security", "allow_new_organizations", allow_new_organizations,
	    "false"),
	RINT("security", "invitation_ttl", invitation_ttl, 60, 31536000,
	    "604800"),
	INT("security", "reset_ttl", reset_ttl, 60, 604800, "3600"),
	INT("security", "email_change_ttl", email_change_ttl, 60, 604800,
	    "86400"),
	RBOOL("security", "auth_enabled", auth_enabled, "true"),
	STRX("security", "pinned_settings", pinned_settings, 0, "", NULL,
	    check_pinned),
	BOOL("security", "cookie_secure", cookie_secure, "true"),
	STRX("security", "cookie_path", cookie_path, 0, "", NULL,
	    check_cookie_path),
	BOOL("security", "allow_world_readable_config",
	    allow_world_readable_config, "false"),
	SECRETX("security", "mfa_key", mfa_key, 0, CONF_SECRET_MAX, "",
	    check_secret_previous),
	SECRETX("security", "mfa_key_previous", mfa_key_previous, 0,
	    CONF_SECRET_MAX, "", check_secret_previous),
	{"security", "mfa_issuer", CONF_STR, F(mfa_issuer), 1, 64, "latch", 0,
	    NULL, NULL},

	BOOL("mail", "run_mailer", mail_run_mailer, "true"),
	STR("mail", "spool_dir", mail_spool_dir, 1, "/var/spool/latch"),
	STRX("mail", "transport", mail_transport, 1, "smtp", transports, NULL),
	STR("mail", "smtp_host", smtp_host, 0, ""),
	INT("mail", "smtp_port", smtp_port, 1, 65535, "587"),
	STRX("mail", "smtp_tls", smtp_tls, 1, "starttls", tls_modes, NULL),
	BOOL("mail", "smtp_verify", smtp_verify, "true"),
	STR("mail", "smtp_ca_file", smtp_ca_file, 0, ""),
	STR("mail", "smtp_user", smtp_user, 0, ""),
	SECRET("mail", "smtp_password", smtp_password, 0, CONF_STR_MAX, ""),
	STRX("mail", "from", mail_from, 1, "latch <noreply@localhost>", NULL,
	    check_from),
	STRX("mail", "invite_url", invite_url, 0, "", NULL, check_url),
	STRX("mail", "reset_url", reset_url, 0, "", NULL, check_url),
	STRX("mail", "email_url", email_url, 0, "", NULL, check_url),
	STR("mail", "template_dir", mail_template_dir, 1,
	    "/usr/local/share/latch/mail"),
	INT("mail", "retry_min", retry_min, 1, 86400, "60"),
	INT("mail", "retry_max", retry_max, 1, 604800, "3600"),
	INT("mail", "max_attempts", max_attempts, 1, 1000, "10"),
	STR("mail", "sendmail_path", sendmail_path, 1, "/usr/sbin/sendmail"),
	INT("mail", "min_interval", mail_min_interval, 0, 86400, "900"),

	INT("limits", "max_body", max_body, 1024, 1048576, "16384"),
	INT("limits", "ip_budget", ip_budget, 1, 100000, "60"),
	STR("limits", "ip_exempt", ip_exempt, 0, ""),
	RINT("limits", "login_max_failures", login_max_failures, 1, 1000, "5"),
	RINT("limits", "login_window", login_window, 1, 86400, "900"),
	RINT("limits", "login_max_delay", login_max_delay, 1, 86400, "900"),
};
/* clang-format on */

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* The state of one load, shared by the reader and the handler. */
struct conf_load_ctx {
	struct conf *c;
	const char *buf; /* the whole file, borrowed */
	size_t len;
	size_t pos;
	int lineno;        /* the line inih is working on */
	int set_on[NKEYS]; /* line each key was set on, 0 if not set */
	int err_line;      /* 0 until an error is recorded */
	char msg[256];     /* "[section] key: reason", no path or line */
};

static const char *
check_base_path(const char *v)
{
	const char *why =
	    "must be empty or start with '/' and not end "
	    "with '/', without '?', '%', '#' or spaces";
	size_t n = strlen(v);

	if (n == 0)
		return NULL;
	if (v[0] != '/' || v[n - 1] == '/')
		return why;
	for (; *v != '\0'; v++)
		if (strchr("?%#", *v) != NULL || isspace((unsigned char)*v))
			return why;
	return NULL;
}

/* Addresses and networks: net.h's lists. */
static const char *
check_nets(const char *v)
{
	return net_list_valid(v) ?
	    NULL :
	    "must be comma-separated IP "
	    "addresses or networks (address/prefix length)";
}

/*
 * Entry i (0-based) of the list v ([database] host): "HOST", "HOST:PORT",
 * "[V6]", "[V6]:PORT", a bare IPv6 address, or a unix socket path
 * ("/..."), separated by commas.  Its host or path into host, its port
 * into *port (defport when it names none; 0 for a socket).  Returns 1,
 * 0 past the last entry, -1 when entry i is malformed (*why says how).
 */
static int
db_host_entry(const char *v, size_t i, int defport, char *host, size_t hostsz,
    int *port, const char **why)
{
	const char *e, *end, *colon = NULL, *h, *he;
	char *num_end;
	long n;

	for (; i > 0; i--) {
		if ((v = strchr(v, ',')) == NULL)
			return 0;
		v++;
	}
	while (isspace((unsigned char)*v))
		v++;
	e = strchr(v, ',');
	end = e != NULL ? e : v + strlen(v);
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	*why = "has an empty server";
	if (end == v)
		return -1;
	h = v;
	he = end;
	*port = defport;
	if (*v == '/')
		*port = 0;
	else if (*v == '[') {
		*why = "has a '[' without its ']'";
		if ((he = memchr(v, ']', (size_t)(end - v))) == NULL)
			return -1;
		h = v + 1;
		if (he + 1 < end) {
			*why = "has something after ']' other than :PORT";
			if (he[1] != ':')
				return -1;
			colon = he + 1;
		}
	} else if ((colon = memchr(v, ':', (size_t)(end - v))) != NULL &&
	    memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL)
		he = colon;
	else
		colon = NULL; /* none, or a bare IPv6 address */
	if (colon != NULL) {
		*why = "has a port outside 1..65535";
		errno = 0;
		n = strtol(colon + 1, &num_end, 10);
		if (colon + 1 == end || num_end != end || errno != 0 ||
		    !isdigit((unsigned char)colon[1]) || n < 1 || n > 65535)
			return -1;
		*port = (int)n;
	}
	*why = "has a server name too long or with spaces";
	if (he == h || (size_t)(he - h) >= hostsz)
		return -1;
	for (e = h; e < he; e++)
		if (isspace((unsigned char)*e))
			return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	return 1;
}

static const char *
check_db_hosts(const char *v)
{
	char host[CONF_DB_HOSTMAX];
	const char *why = NULL;
	size_t i;
	int port, rc;

	if (*v == '\0')
		return NULL; /* the client library's default: localhost */
	for (i = 0; (rc = db_host_entry(v, i, 3306, host, sizeof(host), &port,
			 &why)) == 1;
	     i++)
		if (i == CONF_DB_MAXSERVERS)
			return "names more than 8 servers";
	return rc == -1 ? why : NULL;
}

int
conf_db_server(const struct conf *c, size_t i, char *host, size_t hostsz,
    int *port)
{
	const char *why;

	if (c->db_socket[0] != '\0') {
		if (i > 0 || strlen(c->db_socket) >= hostsz)
			return -1;
		memcpy(host, c->db_socket, strlen(c->db_socket) + 1);
		*port = 0;
		return 0;
	}
	if (i >= CONF_DB_MAXSERVERS)
		return -1;
	if (c->db_host[0] == '\0') {
		if (i > 0 || hostsz == 0)
			return -1;
		host[0] = '\0';
		*port = c->db_port;
		return 0;
	}
	return db_host_entry(c->db_host, i, c->db_port, host, hostsz, port,
		   &why) == 1 ?
	    0 :
	    -1;
}

/* A link prefix: "?code=..." is appended, so it has no query or fragment. */
static const char *
check_url(const char *v)
{
	if (*v == '\0')
		return NULL;
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		return "must be empty or an http:// or https:// URL";
	for (; *v != '\0'; v++)
		if (*v == '?' || *v == '#' || isspace((unsigned char)*v))
			return "must not contain '?', '#' or spaces (the "
			       "query is appended)";
	return NULL;
}

/*
 * Where the authorizer sends a browser that is not signed in: a path of
 * the site ("/signin.html") or an http(s) URL; "?next=..." is appended.
 */
static const char *
check_login_url(const char *v)
{
	if (*v == '\0' || (v[0] == '/' && v[1] != '/'))
		return strpbrk(v, "?# \t\\") == NULL ?
		    NULL :
		    "must not contain '?', '#', '\\' or spaces (the query "
		    "is appended)";
	if (check_url(v) == NULL)
		return NULL;
	return "must be empty, a path starting with '/' or an http:// or "
	       "https:// URL, without '?' or '#'";
}

/* The Path of the access cookie: printable ASCII a cookie can carry. */
static const char *
check_cookie_path(const char *v)
{
	if (*v == '\0')
		return NULL;
	if (v[0] != '/')
		return "must be empty or start with '/'";
	for (; *v != '\0'; v++)
		if (*v <= 0x20 || *v >= 0x7f || strchr(";,\"\\", *v) != NULL)
			return "must be printable ASCII without spaces, ';', "
			       "',', '\"' or '\\'";
	return NULL;
}

int
conf_page_path(const struct conf *c, char *out, size_t outsz)
{
	const char *slash = strrchr(c->base_path, '/');
	size_t n = slash != NULL ? (size_t)(slash - c->base_path) + 1 : 0;
	int w;

	if (c->cookie_path[0] != '\0')
		w = snprintf(out, outsz, "%s", c->cookie_path);
	else if (n == 0)
		w = snprintf(out, outsz, "/");
	else
		w = snprintf(out, outsz, "%.*s", (int)n, c->base_path);
	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

/*
 * 0 if cookie_path is empty or path-matches (RFC 6265 5.1.4) the
 * directory of base_path, where the pages are: then both the pages and
 * the API, below it, get the cookies.  -1 otherwise.
 */
static int
cookie_path_covers(const struct conf *c)
{
	const char *p = c->cookie_path, *b = c->base_path;
	size_t n = strlen(p), dir;

	if (n == 0)
		return 0;
	dir = strrchr(b, '/') != NULL ? (size_t)(strrchr(b, '/') - b) + 1 : 0;
	/* The pages' directory: base_path up to its last '/', or "/". */
	if (dir == 0) {
		b = "/";
		dir = 1;
	}
	if (n > dir || strncmp(b, p, n) != 0)
		return -1;
	return n == dir || p[n - 1] == '/' || b[n] == '/' ? 0 : -1;
}

/* The sender of every mail, checked now rather than at the first mail. */
static const char *
check_from(const char *v)
{
	return msg_from_ok(v) ? NULL :
				"must be an address or "
				"\"Name <address>\"";
}

/*
 * A signing key, not the placeholder of conf/latch.ini.example: that one
 * is public, and a copied example would sign with it.
 */
static const char *
check_secret(const char *v)
{
	if (strncmp(v, CONF_SECRET_PLACEHOLDER,
		strlen(CONF_SECRET_PLACEHOLDER)) == 0)
		return "the example's placeholder (generate a secret with "
		       "latchctl init)";
	return NULL;
}

/* The key that signed tokens before the last rotation: none, or a key. */
static const char *
check_secret_previous(const char *v)
{
	size_t n = strlen(v);

	if (n > 0 && n < CONF_SECRET_MIN)
		return "too short (at least 32 bytes when set; "
		       "latchctl sets it)";
	return check_secret(v);
}

/* A key file: none, or an absolute path. */
static const char *
check_key_path(const char *v)
{
	return v[0] == '\0' || v[0] == '/' ?
	    NULL :
	    "must be empty or an absolute path";
}

/* "YYYY-MM-DDTHH:MM:SSZ" into *t.  0, or -1. */
static int
parse_until(const char *v, int64_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(v, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0' || strlen(v) != 20)
		return -1;
	*t = (int64_t)timegm(&tm);
	return *t > 0 ? 0 : -1;
}

/* Until when the previous signing key verifies: none, or a UTC time. */
static const char *
check_until(const char *v)
{
	int64_t t;

	return v[0] == '\0' || parse_until(v, &t) == 0 ?
	    NULL :
	    "must be empty or a UTC time as 2026-01-31T12:00:00Z";
}

/* 1 if a name read from the file may be echoed: short and key-like, so
 * that a secret pasted on a line of its own is never shown. */
static int
name_shown(const char *s)
{
	size_t n = 0;

	if (!islower((unsigned char)s[0]))
		return 0;
	for (; s[n] != '\0'; n++)
		if (!islower((unsigned char)s[n]) &&
		    !isdigit((unsigned char)s[n]) && s[n] != '_')
			return 0;
	return n < CONF_SECRET_MIN;
}

static void ctx_error(struct conf_load_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record the first error, at the current line. */
static void
ctx_error(struct conf_load_ctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->err_line != 0)
		return;
	x->err_line = x->lineno > 0 ? x->lineno : 1;
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Free a string field, cleansing it first if it is a secret. */
static void
str_free(const struct conf_key *k, char *s)
{
	if (s == NULL)
		return;
	if (k->type == CONF_SECRET)
		tok_cleanse(s, strlen(s));
	free(s);
}

/* Decimal (base 10) or octal (base 8) integer, the whole string. */
static int
parse_long(const char *v, int base, long *out)
{
	char *end;
	long l;

	if (!isdigit((unsigned char)v[0]) && v[0] != '-' && v[0] != '+')
		return -1;
	errno = 0;
	l = strtol(v, &end, base);
	if (errno != 0 || end == v || *end != '\0')
		return -1;
	*out = l;
	return 0;
}

static int
parse_bool(const char *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/*
 * Store v (quotes already stripped) into the field of k.  Returns 0, or -1
 * with the reason in why (whylen bytes); the reason never holds the value.
 */
static int
conf_set(struct conf *c, const struct conf_key *k, const char *v, char *why,
    size_t whylen)
{
	char *field = (char *)c + k->off;
	const char *bad;
	size_t i, n = strlen(v), off;
	long l;
	int b;
	char *s;

	switch (k->type) {
	case CONF_STR:
	case CONF_SECRET:
		if ((long)n < k->min && k->min == 1) {
			snprintf(why, whylen, "must not be empty");
			return -1;
		}
		if ((long)n < k->min) {
			snprintf(why, whylen,
			    "too short (at least %ld bytes%s)", k->min,
			    k->def == NULL ?
				"; generate one with latchctl init" :
				"");
			return -1;
		}
		if ((long)n > k->max) {
			snprintf(why, whylen, "too long (at most %ld bytes)",
			    k->max);
			return -1;
		}
		for (i = 0; k->type == CONF_STR && i < n; i++)
			if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
				snprintf(why, whylen,
				    "must not contain control characters");
				return -1;
			}
		if (k->choices != NULL) {
			for (i = 0; k->choices[i] != NULL; i++)
				if (strcmp(v, k->choices[i]) == 0)
					break;
			if (k->choices[i] == NULL) {
				off = (size_t)snprintf(why, whylen,
				    "must be one of:");
				for (i = 0;
				     k->choices[i] != NULL && off < whylen; i++)
					off += (size_t)snprintf(why + off,
					    whylen - off, "%s %s",
					    i > 0 ? "," : "", k->choices[i]);
				return -1;
			}
		}
		if (k->check != NULL && (bad = k->check(v)) != NULL) {
			snprintf(why, whylen, "%s", bad);
			return -1;
		}
		if ((s = strdup(v)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		str_free(k, *(char **)(void *)field);
		*(char **)(void *)field = s;
		if (k->off == offsetof(struct conf, jwt_secret))
			c->jwt_secret_len = n;
		if (k->off == offsetof(struct conf, jwt_secret_previous))
			c->jwt_secret_previous_len = n;
		return 0;
	case CONF_INT:
	case CONF_UINT:
	case CONF_OCTAL:
		if (parse_long(v, k->type == CONF_OCTAL ? 8 : 10, &l) == -1 ||
		    l < k->min || l > k->max ||
		    ((k->flags & CONF_POW2) && (l & (l - 1)) != 0)) {
			if (k->type == CONF_OCTAL)
				snprintf(why, whylen,
				    "must be an octal mode "
				    "from %#lo to %#lo",
				    k->min, k->max);
			else
				snprintf(why, whylen,
				    "must be %s from %ld "
				    "to %ld",
				    (k->flags & CONF_POW2) ? "a power of two" :
							     "an integer",
				    k->min, k->max);
			return -1;
		}
		if (k->type == CONF_UINT)
			*(unsigned *)(void *)field = (unsigned)l;
		else
			*(int *)(void *)field = (int)l;
		return 0;
	case CONF_BOOL:
		if ((b = parse_bool(v)) == -1) {
			snprintf(why, whylen,
			    "must be true or false (or "
			    "yes/no, on/off, 1/0)");
			return -1;
		}
		*(int *)(void *)field = b;
		return 0;
	case CONF__MAX:
		break;
	}
	snprintf(why, whylen, "bad type in the key table");
	return -1;
}

/* The key named key in section, or in any section if section is NULL. */
static const struct conf_key *
key_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if ((section == NULL ||
			strcmp(keys[i].section, section) == 0) &&
		    strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

static int
section_known(const char *section)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

/*
 * inih's reader: the next line of the buffer into str (num bytes), or NULL
 * at the end.  A NUL byte or a line inih could not hold stops the parse
 * with an error rather than letting inih cut the line in two.
 */
static char *
conf_read_line(char *str, int num, void *stream)
{
	struct conf_load_ctx *x = stream;
	const char *p, *nl;
	size_t n;

	if (x->err_line != 0 || x->pos >= x->len || num < 2)
		return NULL;
	p = x->buf + x->pos;
	nl = memchr(p, '\n', x->len - x->pos);
	n = nl != NULL ? (size_t)(nl - p) + 1 : x->len - x->pos;
	x->lineno++;
	if (memchr(p, '\0', n) != NULL) {
		ctx_error(x, "NUL byte in the line");
		return NULL;
	}
	if (n > (size_t)num - 1) {
		ctx_error(x, "line too long (at most %d bytes)", num - 3);
		return NULL;
	}
	memcpy(str, p, n);
	str[n] = '\0';
	x->pos += n;
	return str;
}

/* inih's handler: one "key = value" in a section.  1 if it was stored. */
static int
conf_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_load_ctx *x = user;
	const struct conf_key *k;
	char why[160], *v = NULL;
	size_t n;
	int rc = 0;

	if (x->err_line != 0)
		return 0;
	if (*section == '\0') {
		ctx_error(x, "%s: outside any section",
		    name_shown(name) ? name : "(key not shown)");
		goto out;
	}
	if (!section_known(section)) {
		ctx_error(x, "[%s] %s: unknown section",
		    name_shown(section) ? section : "(section not shown)",
		    name_shown(name) ? name : "(key not shown)");
		goto out;
	}
	if ((k = key_find(section, name)) == NULL) {
		if (name_shown(name) && (k = key_find(NULL, name)) != NULL)
			ctx_error(x,
			    "[%s] %s: unknown key (it belongs in "
			    "[%s])",
			    section, name, k->section);
		else
			ctx_error(x, "[%s] %s: unknown key", section,
			    name_shown(name) ? name : "(key not shown)");
		goto out;
	}
	if (x->set_on[k - keys] != 0) {
		ctx_error(x, "[%s] %s: duplicate key (first set on line %d)",
		    k->section, k->key, x->set_on[k - keys]);
		goto out;
	}
	/* One pair of double quotes around the value is removed. */
	n = strlen(value);
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
		value++;
		n -= 2;
	}
	if ((v = strndup(value, n)) == NULL) {
		ctx_error(x, "[%s] %s: out of memory", k->section, k->key);
		goto out;
	}
	if (conf_set(x->c, k, v, why, sizeof(why)) == -1) {
		ctx_error(x, "[%s] %s: %s", k->section, k->key, why);
		goto out;
	}
	x->set_on[k - keys] = x->lineno;
	rc = 1;
out:
	if (v != NULL) {
		tok_cleanse(v, strlen(v));
		free(v);
	}
	return rc;
}

/* Read the whole regular file at fd; NULL with errno set on failure. */
static char *
read_all(int fd, size_t size, size_t *lenp)
{
	char *buf;
	size_t len = 0;
	ssize_t r;

	if (size > CONF_FILE_MAX) {
		errno = EFBIG;
		return NULL;
	}
	/* One byte more than the size tells us the file grew under us. */
	if ((buf = malloc(size + 2)) == NULL)
		return NULL;
	while (len < size + 1) {
		r = read(fd, buf + len, size + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			tok_cleanse(buf, len);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > size) {
		tok_cleanse(buf, len);
		free(buf);
		errno = EAGAIN;
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

struct conf *
conf_defaults(void)
{
	struct conf *c;
	char why[160];
	size_t i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].def != NULL &&
		    conf_set(c, &keys[i], keys[i].def, why, sizeof(why)) == -1)
			goto fail;
	return c;
fail:
	conf_free(c);
	return NULL;
}

/*
 * Load the key files c names (conf.h), checking that they fit jwt_alg.
 * set_on: the line each key was set on.  0, or -1 with err set.
 */
static int
conf_keys(struct conf *c, const int *set_on, char *err, size_t errlen)
{
	const struct {
		const char *key;
		const char *path;
		struct key **k;
		int public_ok;
	} files[] = {
		{ "jwt_key", c->jwt_key, &c->key, 0 },
		{ "jwt_key_next", c->jwt_key_next, &c->key_next, 0 },
		{ "jwt_key_previous", c->jwt_key_previous, &c->key_previous,
		    1 },
	};
	const struct conf_key *k;
	char why[512];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		k = key_find("security", files[i].key);
		if (files[i].path[0] == '\0')
			continue;
		if ((*files[i].k = key_load(files[i].path, files[i].public_ok,
			 why, sizeof(why))) == NULL) {
			set_err(err, errlen, "%s:%d: [security] %s: %s",
			    c->path, set_on[k - keys], files[i].key, why);
			return -1;
		}
	}
	if (strcmp(c->jwt_alg, "EdDSA") == 0 && c->key == NULL) {
		k = key_find("security", "jwt_alg");
		set_err(err, errlen,
		    "%s:%d: [security] jwt_alg: EdDSA needs "
		    "jwt_key (latchctl rotate-key makes one)",
		    c->path, set_on[k - keys]);
		return -1;
	}
	if ((c->key_next != NULL && c->key != NULL &&
		strcmp(key_kid(c->key_next), key_kid(c->key)) == 0) ||
	    (c->key_previous != NULL &&
		((c->key != NULL &&
		     strcmp(key_kid(c->key_previous), key_kid(c->key)) == 0) ||
		    (c->key_next != NULL &&
			strcmp(key_kid(c->key_previous),
			    key_kid(c->key_next)) == 0)))) {
		set_err(err, errlen,
		    "%s: [security] jwt_key, jwt_key_next and "
		    "jwt_key_previous must be three different keys",
		    c->path);
		return -1;
	}
	c->previous_until = 0;
	if (c->jwt_previous_until[0] != '\0' &&
	    parse_until(c->jwt_previous_until, &c->previous_until) == -1) {
		set_err(err, errlen,
		    "%s: [security] jwt_previous_until: not a "
		    "time",
		    c->path);
		return -1;
	}
	return 0;
}

struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf_load_ctx x;
	struct conf *c = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, i;
	int fd = -1, rc;

	memset(&x, 0, sizeof(x));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	/*
	 * Whoever can change the config chooses the database latchd trusts
	 * and the program the mailer runs: only its owner may write it, and
	 * that owner is root or the user running us.  No key lifts this.
	 */
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		set_err(err, errlen,
		    "%s: writable by its group or others "
		    "(chmod go-w %s)",
		    path, path);
		goto fail;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		set_err(err, errlen,
		    "%s: owned by uid %ld, neither root nor "
		    "the user running this (uid %ld); chown it",
		    path, (long)st.st_uid, (long)geteuid());
		goto fail;
	}
	if ((buf = read_all(fd, (size_t)st.st_size, &len)) == NULL) {
		if (errno == EFBIG)
			set_err(err, errlen, "%s: larger than %d bytes", path,
			    CONF_FILE_MAX);
		else if (errno == EAGAIN)
			set_err(err, errlen, "%s: changed while being read",
			    path);
		else
			set_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((c = conf_defaults()) == NULL || (c->path = strdup(path)) == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}

	/*
	 * inih's knobs (Debian builds it with them as globals): whole-line
	 * comments only, so a ';' in a password is kept; no continuation
	 * lines; a line long enough for the longest secret; stop at the
	 * first error, whose line our reader knows.
	 */
	ini_allow_inline_comments = false;
	ini_allow_multiline = false;
	ini_allow_no_value = false;
	ini_allow_bom = true;
	ini_use_stack = true;
	ini_max_line = CONF_LINE_MAX;
	ini_stop_on_first_error = true;

	x.c = c;
	x.buf = buf;
	x.len = len;
	rc = ini_parse_stream(conf_read_line, &x, conf_handler, &x);
	if (x.err_line != 0) {
		set_err(err, errlen, "%s:%d: %s", path, x.err_line, x.msg);
		goto fail;
	}
	if (rc < 0) {
		set_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (rc > 0) {
		set_err(err, errlen,
		    "%s:%d: syntax error (expected [section] "
		    "or key = value)",
		    path, rc);
		goto fail;
	}

	if ((st.st_mode & S_IROTH) && !c->allow_world_readable_config) {
		set_err(err, errlen,
		    "%s: readable by others (chmod 600 %s, or "
		    "set [security] allow_world_readable_config = true)",
		    path, path);
		goto fail;
	}
	for (i = 0; i < NKEYS; i++)
		if (keys[i].def == NULL && x.set_on[i] == 0) {
			set_err(err, errlen,
			    "%s: [%s] %s: missing (generate "
			    "one with latchctl init)",
			    path, keys[i].section, keys[i].key);
			goto fail;
		}
	if (conf_keys(c, x.set_on, err, errlen) == -1)
		goto fail;
	if (c->retry_max < c->retry_min) {
		const struct conf_key *kmin = key_find("mail", "retry_min");
		const struct conf_key *kmax = key_find("mail", "retry_max");

		if (x.set_on[kmax - keys] != 0)
			set_err(err, errlen,
			    "%s:%d: [mail] retry_max: must be "
			    "at least retry_min (%d)",
			    path, x.set_on[kmax - keys], c->retry_min);
		else
			set_err(err, errlen,
			    "%s:%d: [mail] retry_min: must be "
			    "at most retry_max (%d)",
			    path, x.set_on[kmin - keys], c->retry_max);
		goto fail;
	}

	if (cookie_path_covers(c) == -1) {
		const struct conf_key *k = key_find("security", "cookie_path");

		set_err(err, errlen,
		    "%s:%d: [security] cookie_path: must "
		    "cover the pages' directory, base_path's (a prefix of it "
		    "ending in '/', or all of it)",
		    path, x.set_on[k - keys]);
		goto fail;
	}

	tok_cleanse(buf, len);
	free(buf);
	close(fd);
	return c;
fail:
	if (buf != NULL) {
		tok_cleanse(buf, len);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	conf_free(c);
	return NULL;
}

void
conf_free(struct conf *c)
{
	size_t i;
	char **s;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type != CONF_STR && keys[i].type != CONF_SECRET)
			continue;
		s = (char **)(void *)((char *)c + keys[i].off);
		str_free(&keys[i], *s);
		*s = NULL;
	}
	c->jwt_secret_len = 0;
	c->jwt_secret_previous_len = 0;
	key_free(c->key);
	key_free(c->key_next);
	key_free(c->key_previous);
	free(c->path);
	free(c);
}

/* ------------------------------------------------- run-time settings */

/* The i-th key flagged CONF_RUNTIME, or NULL. */
static const struct conf_key *
runtime_key(size_t i)
{
	size_t k;

	for (k = 0; k < NKEYS; k++)
		if ((keys[k].flags & CONF_RUNTIME) && i-- == 0)
			return &keys[k];
	return NULL;
}

size_t
conf_runtime_count(void)
{
	size_t n = 0;

	while (runtime_key(n) != NULL)
		n++;
	return n;
}

const char *
conf_runtime_name(size_t i)
{
	const struct conf_key *k = runtime_key(i);

	return k != NULL ? k->key : NULL;
}

int
conf_runtime_find(const char *name)
{
	const struct conf_key *k;
	size_t i;

	for (i = 0; (k = runtime_key(i)) != NULL; i++)
		if (strcmp(k->key, name) == 0)
			return (int)i;
	return -1;
}

int
conf_runtime_is_bool(size_t i)
{
	const struct conf_key *k = runtime_key(i);

	return k != NULL && k->type == CONF_BOOL;
}

void
conf_runtime_bounds(size_t i, long *min, long *max)
{
	const struct conf_key *k = runtime_key(i);

	*min = k != NULL ? k->min : 0;
	*max = k != NULL ? k->max : 0;
}

long
conf_runtime_get(const struct conf *c, size_t i)
{
	const struct conf_key *k = runtime_key(i);

	return k != NULL ?
	    *(const int *)(const void *)((const char *)c + k->off) :
	    0;
}

int
conf_runtime_set(struct conf *c, size_t i, const char *v)
{
	const struct conf_key *k = runtime_key(i);
	char why[128];

	return k != NULL ? conf_set(c, k, v, why, sizeof(why)) : -1;
}

/* Whether name is one of the comma-separated names of list ("*": all). */
static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name), m;
	const char *p = list;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		m = strcspn(p, ", ");
		if ((m == 1 && *p == '*') ||
		    (m == n && strncmp(p, name, n) == 0))
			return 1;
		p += m;
	}
	return 0;
}

int
conf_runtime_pinned(const struct conf *c, size_t i)
{
	const struct conf_key *k = runtime_key(i);

	return k == NULL || list_has(c->pinned_settings, k->key);
}

#define PINNED_WHY "must list setting names (see GET /settings), or *"

/* [security] pinned_settings: run-time settings' names, or "*". */
static const char *
check_pinned(const char *v)
{
	const char *p = v;
	char name[64];
	size_t m;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if ((m = strcspn(p, ", ")) == 0)
			break;
		if (m >= sizeof(name))
			return PINNED_WHY;
		memcpy(name, p, m);
		name[m] = '\0';
		if (strcmp(name, "*") != 0 && conf_runtime_find(name) < 0)
			return PINNED_WHY;
		p += m;
	}
	return NULL;
}
