/*
 * http.h: one request as the handlers see it, and the one place that turns
 * a result into a JSON response with its HTTP status.
 */
#ifndef LATCH_HTTP_H
#define LATCH_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "session.h"

#define HTTP_PATH_MAX 1024
#define HTTP_COOKIES_MAX 3072
#define HTTP_COOKIE_VALUE_MAX 2048
/* A Location header of the authorizer's redirect, NUL included. */
#define RESP_LOCATION_MAX 4096
/* Other header lines of an answer (a Location among them). */
#define HTTP_HEADERS_MAX (RESP_LOCATION_MAX + 512)

/* The cookies of a browser session (docs/api.md, "Cookies"). */
#define COOKIE_ACCESS "latch_access"
#define COOKIE_REFRESH "latch_refresh"
#define COOKIE_CSRF "latch_csrf"

struct req;

/*
 * Work a handler leaves for after its answer (req_defer()): arg and ip
 * are the copies req_defer() made.
 */
typedef void (*req_later_fn)(struct req *r, const char *arg, const char *ip);

struct req_later {
	req_later_fn fn; /* NULL: nothing to do */
	char arg[256];
	char ip[46]; /* the client address, for log lines */
};

struct req {
	const struct conf *conf;       /* borrowed: the config with the run-time
	                               settings (settings.h) */
	const struct conf *conf_file;  /* borrowed: the config as loaded */
	struct db *db;                 /* borrowed, the worker's connection */
	FCGX_Stream *in, *out;         /* borrowed; NULL in CGI mode (stdio) */
	char **envp;                   /* borrowed */
	const char *method;            /* borrowed from envp */
	char path[HTTP_PATH_MAX];      /* route path, base path stripped */
	int64_t id;                    /* the {id} of the route, or 0 */
	struct json_object *body;      /* parsed body (owned), NULL if none */
	struct principal p;            /* for routes that need a sign-in */
	struct actor actor;            /* req_actor()'s */
	struct user me;                /* with ROUTE_ME: the caller's row */
	const char *err_field;         /* static: field of ERR_INVALID_FIELD */
	struct json_object *err_extra; /* owned: merged into an error body */
	char allow[64];                /* Allow of a 405 ("" if none) */
	int retry_after;               /* seconds, for a 429 */
	char rid[17];
	int sent;
	int status;     /* of the answer sent, once sent */
	int by_cookie;  /* req_auth used the latch_access cookie */
	int authorizer; /* FCGI_ROLE=AUTHORIZER */
	char cookies[HTTP_COOKIES_MAX]; /* Set-Cookie lines, CRLF-ended */
	size_t cookies_len;
	char headers[HTTP_HEADERS_MAX]; /* resp_header()'s, CRLF-ended */
	size_t headers_len;
	struct req_later later; /* see req_defer() */
};

/* A parameter of the request (NULL if absent); borrowed from envp. */
const char *req_param(const struct req *r, const char *name);

/* The client address, the User-Agent ("" if absent). */
const char *req_ip(const struct req *r);
const char *req_user_agent(const struct req *r);

/*
 * The caller as core/ takes it: the signed-in user (r->p; nobody on a
 * public route) and the client address.  Borrowed from r.
 */
const struct actor *req_actor(struct req *r);

/*
 * Compute r->path from REQUEST_URI (or SCRIPT_NAME + PATH_INFO) minus
 * [server] base_path.  ERR_OK or ERR_NOT_FOUND.
 */
enum err req_route_path(struct req *r);

/*
 * Read and parse the body: none is an empty object; otherwise it must be
 * application/json, at most [limits] max_body bytes, and one strict JSON
 * object in UTF-8.  ERR_OK, ERR_BODY_TOO_LARGE, ERR_UNSUPPORTED_MEDIA,
 * ERR_INVALID_JSON.
 */
enum err req_read_body(struct req *r);

/*
 * Query parameter name, percent-decoded ("+" is a space) into out
 * (outsz bytes).  Returns 1 if present, 0 if absent, -1 if malformed
 * (bad escape, NUL, invalid UTF-8, too long).
 */
int req_query(const struct req *r, const char *name, char *out, size_t outsz);

/*
 * A positive integer query parameter within [min, max], default def when
 * absent.  ERR_OK or ERR_INVALID_FIELD (r->err_field = name).
 */
enum err req_query_int(struct req *r, const char *name, long long def,
    long long min, long long max, long long *v);

/* The bearer token of the Authorization header, or NULL. */
const char *req_bearer(const struct req *r);

/*
 * The access token of the request: the bearer token or, when there is no
 * Authorization header, the latch_access cookie copied into buf (bufsz
 * bytes, HTTP_COOKIE_VALUE_MAX) with r->by_cookie set.  NULL if none;
 * borrowed from envp or buf.
 */
const char *req_access_token(struct req *r, char *buf, size_t bufsz);

/*
 * Cookie name of the Cookie header into out (outsz bytes): the first
 * occurrence wins.  Returns 1 if present and non-empty, 0 if absent or
 * empty, -1 if its value holds a control character or does not fit.
 */
int req_cookie(const struct req *r, const char *name, char *out, size_t outsz);

/*
 * The CSRF check of a request authenticated by cookie: X-Latch-CSRF must
 * equal the latch_csrf cookie (both non-empty, compared in constant
 * time).  ERR_OK or ERR_CSRF.
 */
enum err req_csrf(const struct req *r);

/*
 * Whether the method changes state (POST, PATCH, PUT, DELETE): such a
 * request has its body read, and one authenticated by cookie must pass
 * req_csrf().
 */
int req_changes_state(const struct req *r);

/* Field types and the table a handler checks its body against. */
enum ftype { F_STR, F_BOOL, F_INT };

struct field {
	const char *name;
	enum ftype type;
	int required;
	size_t maxlen;              /* F_STR: bytes */
	int (*valid)(const char *); /* F_STR: NULL for any string */
	int password;               /* F_STR: length rule -> weak_password */
};

/* A field table indexed by its enum, whose __MAX is n: one entry each. */
#define FIELDS(tbl, n) \
	_Static_assert(sizeof(tbl) / sizeof((tbl)[0]) == (n), \
	    #tbl ": one entry per value of its enum")

struct fval {
	int present;
	const char *s; /* borrowed from r->body */
	int b;
	long long i;
};

/*
 * Check r->body against the n fields of tbl, filling vals (n entries).
 * ERR_OK, ERR_INVALID_FIELD (r->err_field set) or ERR_WEAK_PASSWORD.
 * Each table is indexed by an enum of its own, closed by __MAX, and
 * declared with FIELDS(): vals[F_X] is the value of tbl[F_X].
 */
enum err req_fields(struct req *r, const struct field *tbl, size_t n,
    struct fval *vals);

/*
 * Require a signed-in caller: verify the bearer token, an access token
 * or an API key (or, without an Authorization header, the latch_access
 * cookie: r->by_cookie is set, and a state-changing request must pass
 * req_csrf()) and its session into r->p (req_authenticate()).  ERR_OK,
 * ERR_MISSING_TOKEN, ERR_INVALID_TOKEN, ERR_TOKEN_EXPIRED,
 * ERR_SESSION_REVOKED, ERR_CSRF, ERR_DB.  With me, r->me is the caller's
 * user row, read with the session in one query.
 */
enum err req_auth(struct req *r, int me);

/*
 * Check token t of r (from req_access_token()) into r->p: an API key
 * (apikey.h) when it has the key's prefix and came from the
 * Authorization header, else an access token and its session (with me,
 * the caller's row into *me; for a key *me is left alone).  The errors
 * of req_auth() but ERR_MISSING_TOKEN and ERR_CSRF.
 */
enum err req_authenticate(struct req *r, const char *t, struct user *me);

/*
 * Have fn(r, arg, ip) run once the answer has gone out: after the
 * FastCGI request is finished (the web server holds the whole answer and
 * the connection is closed), or in CGI mode after stdout is closed; in
 * the same worker, before it accepts another request, under the same
 * [server] request_timeout.  By then only r->conf, r->db and r->rid are
 * left of the request: arg (at most 255 bytes) and the client address
 * are copied here.  One per request.  So that an answer's time tells
 * nothing of work that depends on secret state (POST
 * /auth/password/forgot).  ERR_OK, or ERR_SYS if arg does not fit or a
 * job is already set.
 */
enum err req_defer(struct req *r, req_later_fn fn, const char *arg);

/* A success body {"success":true,"message":msg}; caller adds members. */
struct json_object *resp_new(const char *msg);

/* Send root (owned, freed here) with status.  Sets r->sent. */
void resp_send(struct req *r, int status, struct json_object *root);

/*
 * Send 200 with the len bytes at body, a public JSON document that is
 * not an answer in the envelope (the JWKS, the discovery document, the
 * OpenAPI document): cacheable for max_age seconds by anyone, and
 * readable by pages of other origins.
 */
void resp_document(struct req *r, const char *body, size_t len, int max_age);

/*
 * Send len bytes of body (borrowed) as they are, with status and the
 * Content-Type type (a constant), not cached.  Sets r->sent.
 */
void resp_text(struct req *r, int status, const char *type, const char *body,
    size_t len);

/* Send the error e with its status and code (and r->err_* extras). */
void resp_error(struct req *r, enum err e);

/*
 * Queue a Set-Cookie header for the next resp_send(): name=value with
 * Path=path, Max-Age=max_age (none when max_age is -1: a cookie that ends
 * with the browser session), HttpOnly if httponly, Secure unless
 * [security] cookie_secure is false, SameSite=Strict.  value must be
 * cookie-safe (checked).  ERR_OK, ERR_SYS (no room, or a bad value).
 */
enum err resp_cookie(struct req *r, const char *name, const char *value,
    const char *path, int max_age, int httponly);

/*
 * The three cookies of a browser session for tokens t (a new CSRF token
 * each time): with Max-Age for a remembered session, without (until the
 * browser closes) for any other; with t NULL the same three cleared
 * (Max-Age=0).  latch_access has Path [security] cookie_path, else
 * base_path + "/".  ERR_OK, ERR_SYS.
 */
enum err resp_session_cookies(struct req *r, const struct session_tokens *t);

/*
 * Send a login-shaped success (message msg, the tokens t and the user u)
 * with status; with cookie, the session's cookies too (a browser that
 * asked for "cookie": true).  ERR_OK, or ERR_SYS with nothing sent.
 */
enum err resp_login(struct req *r, int status, const char *msg,
    const struct session_tokens *t, const struct user *u, int cookie);

/*
 * The authorizer's answer to a browser that must sign in: 302 to url
 * (borrowed), with "?next=" and next percent-encoded when next is not
 * NULL (left out if the whole would not fit RESP_LOCATION_MAX).
 */
void resp_redirect(struct req *r, const char *url, const char *next);

/*
 * Queue the header "name: value" for the next resp_send().  A value with
 * a control character is refused.  ERR_OK, ERR_SYS (refused, no room).
 */
enum err resp_header(struct req *r, const char *name, const char *value);

/* Queue "Location:" url and next as resp_redirect() makes it. */
enum err resp_location(struct req *r, const char *url, const char *next);

/*
 * The answer of the FastCGI authorizer role: status (200, 401, 403) with
 * the n headers "Variable-<names[i]>: <values[i]>" and no body.  A value
 * with a control character is refused: the answer becomes a 500.
 */
void resp_authorizer(struct req *r, int status, const char *const *names,
    const char *const *values, size_t n);

/* JSON for a time (RFC 3339 UTC), null for 0. */
struct json_object *resp_time(int64_t t);

/* The contract's user object. */
struct json_object *resp_user(const struct user *u);

/*
 * The login-shaped members (tokens and user) added to root.  With cookie
 * (a browser session) the tokens themselves are left out: they travel
 * only in their HttpOnly cookies, so no script of the page holds them.
 */
void resp_tokens(struct json_object *root, const struct session_tokens *t,
    const struct user *u, int cookie);

#endif
