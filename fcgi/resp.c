/*
 * resp.c: the one place that turns a result into a JSON response: the
 * error table (enum err -> HTTP status, contract code, message), the
 * envelope and the security headers every response carries.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "str.h"
#include "tok.h"

struct errinfo {
	int status;
	const char *code;
	const char *message;
};

static const struct errinfo errs[ERR__MAX] = {
	[ERR_OK] = { 200, "ok", "OK" },
	[ERR_NOMEM] = { 500, "internal_error", "Internal error" },
	[ERR_SYS] = { 500, "internal_error", "Internal error" },
	[ERR_DB] = { 503, "service_unavailable",
	    "The service is temporarily unavailable" },
	[ERR_INVALID_JSON] = { 400, "invalid_json",
	    "The body must be one JSON object in UTF-8" },
	[ERR_INVALID_FIELD] = { 400, "invalid_field",
	    "A field is missing, of the wrong type or out of bounds" },
	[ERR_WEAK_PASSWORD] = { 400, "weak_password",
	    "The password is too short or too long" },
	[ERR_BAD_RESET_TOKEN] = { 400, "invalid_token",
	    "The reset token is invalid or expired" },
	[ERR_MISSING_TOKEN] = { 401, "missing_token",
	    "A bearer token is required" },
	[ERR_INVALID_TOKEN] = { 401, "invalid_token", "The token is invalid" },
	[ERR_TOKEN_EXPIRED] = { 401, "token_expired", "The token has expired" },
	[ERR_SESSION_REVOKED] = { 401, "session_revoked",
	    "The session has ended" },
	[ERR_INVALID_CREDENTIALS] = { 401, "invalid_credentials",
	    "Invalid credentials" },
	[ERR_ACCOUNT_DISABLED] = { 403, "account_disabled",
	    "The account is disabled" },
	[ERR_FORBIDDEN] = { 403, "forbidden", "Not allowed" },
	[ERR_REGISTRATION_CLOSED] = { 403, "registration_closed",
	    "Registration of new organizations is closed" },
	[ERR_NOT_FOUND] = { 404, "not_found", "Not found" },
	[ERR_INVALID_INVITATION] = { 404, "invalid_invitation",
	    "The invitation code is not valid" },
	[ERR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed",
	    "Method not allowed" },
	[ERR_USERNAME_TAKEN] = { 409, "username_taken",
	    "The username is taken" },
	[ERR_EMAIL_TAKEN] = { 409, "email_taken", "The email is taken" },
	[ERR_ORG_TAKEN] = { 409, "organization_taken",
	    "The organization name is taken" },
	[ERR_SETUP_DONE] = { 409, "setup_done", "Setup is already done" },
	[ERR_LAST_ADMIN] = { 409, "last_admin",
	    "The last active admin cannot be removed" },
	[ERR_INVITATION_USED] = { 409, "invitation_used",
	    "The invitation was already used" },
	[ERR_INVITATION_EXPIRED] = { 410, "invitation_expired",
	    "The invitation has expired" },
	[ERR_BODY_TOO_LARGE] = { 413, "body_too_large",
	    "The body is too large" },
	[ERR_UNSUPPORTED_MEDIA] = { 415, "unsupported_media_type",
	    "The body must be application/json" },
	[ERR_TOO_MANY_ATTEMPTS] = { 429, "too_many_attempts",
	    "Too many failed sign-ins; try again later" },
	[ERR_TOO_MANY_REQUESTS] = { 429, "too_many_requests",
	    "Too many requests; try again later" },
	[ERR_MAIL] = { 503, "mail_unavailable",
	    "The mail could not be queued; nothing was changed" },
	[ERR_CSRF] = { 403, "csrf",
	    "A request authenticated by cookie needs a matching X-Latch-CSRF "
	    "header" },
	[ERR_BAD_EMAIL_TOKEN] = { 400, "invalid_token",
	    "The confirmation token is invalid or expired" },
	[ERR_UNKNOWN] = { 503, "outcome_unknown",
	    "The database connection broke while the change was being "
	    "stored: it may or may not have been made" },
	[ERR_INVALID_CODE] = { 400, "invalid_code",
	    "The code is wrong or was used already" },
	[ERR_MFA_ENABLED] = { 409, "mfa_enabled",
	    "Two-factor sign-in is already on" },
	[ERR_MFA_NOT_ENROLLED] = { 409, "mfa_not_enrolled",
	    "Two-factor sign-in is not on (or no enrolment is pending)" },
	[ERR_MFA_ENROLLMENT_REQUIRED] = { 403, "mfa_enrollment_required",
	    "This session may only enrol a second factor: the organization "
	    "requires two-factor sign-in" },
	[ERR_MFA_REQUIRED] = { 403, "mfa_required",
	    "The organization requires two-factor sign-in" },
	[ERR_MFA_UNAVAILABLE] = { 503, "mfa_unavailable",
	    "Two-factor sign-in is not configured on this server" },
	[ERR_SETTING_PINNED] = { 403, "setting_pinned",
	    "The configuration pins this setting" },
};

static const char *
reason(int status)
{
	/* clang-format off */
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
	/* clang-format on */
}

static void
out(struct req *r, const char *s, size_t n)
{
	if (r->out != NULL)
		(void)FCGX_PutStr(s, (int)n, r->out);
	else
		(void)fwrite(s, 1, n, stdout);
}

struct json_object *
resp_new(const char *msg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, "message", json_object_new_string(msg));
	return o;
}

void
resp_send(struct req *r, int status, struct json_object *root)
{
	char hdr[512], extra[256];
	const char *body;
	size_t blen;
	int n;

	extra[0] = '\0';
	if (status == 401)
		(void)snprintf(extra, sizeof(extra),
		    "WWW-Authenticate: Bearer realm=\"latch\"\r\n");
	else if (status == 405 && r->allow[0] != '\0')
		(void)snprintf(extra, sizeof(extra), "Allow: %s\r\n", r->allow);
	else if (status == 429 && r->retry_after > 0)
		(void)snprintf(extra, sizeof(extra), "Retry-After: %d\r\n",
		    r->retry_after);
	body = root != NULL ?
	    json_object_to_json_string_ext(root,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) :
	    NULL;
	if (body == NULL) {
		status = 500;
		body =
		    "{\"success\":false,\"error\":\"internal_error\","
		    "\"message\":\"Internal error\"}";
	}
	blen = strlen(body);
	n = snprintf(hdr, sizeof(hdr),
	    "Status: %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "%s",
	    status, reason(status), blen + 1, extra);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		n = 0; /* cannot happen: extra is bounded */
	out(r, hdr, (size_t)n);
	out(r, r->cookies, r->cookies_len);
	out(r, r->headers, r->headers_len);
	out(r, "\r\n", 2);
	out(r, body, blen);
	out(r, "\n", 1);
	if (status >= 500)
		log_warnx("http: %s %s: %d", r->method ? r->method : "-",
		    r->path, status);
	json_object_put(root);
	r->status = status;
	r->sent = 1;
}

void
resp_text(struct req *r, int status, const char *type, const char *body,
    size_t len)
{
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr),
	    "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n\r\n",
	    status, reason(status), type, len);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		resp_error(r, ERR_SYS);
		return;
	}
	out(r, hdr, (size_t)n);
	out(r, body, len);
	r->status = status;
	r->sent = 1;
}

void
resp_document(struct req *r, const char *body, size_t len, int max_age)
{
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr),
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: public, max-age=%d\r\n"
	    "Access-Control-Allow-Origin: *\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n\r\n",
	    len, max_age);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		resp_error(r, ERR_SYS);
		return;
	}
	out(r, hdr, (size_t)n);
	out(r, body, len);
	r->sent = 1;
}

void
resp_error(struct req *r, enum err e)
{
	const struct errinfo *ei;
	struct json_object *o;

	if (e <= ERR_OK || e >= ERR__MAX)
		e = ERR_SYS;
	ei = &errs[e];
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(ei->code));
	json_object_object_add(o, "message",
	    json_object_new_string(ei->message));
	if (e == ERR_INVALID_FIELD && r->err_field != NULL)
		json_object_object_add(o, "field",
		    json_object_new_string(r->err_field));
	if (r->err_extra != NULL) {
		json_object_object_foreach(r->err_extra, k, v)
		    json_object_object_add(o, k, json_object_get(v));
		json_object_put(r->err_extra);
		r->err_extra = NULL;
	}
	resp_send(r, ei->status, o);
}

struct json_object *
resp_time(int64_t t)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL; /* JSON null */
	return json_object_new_string(buf);
}

struct json_object *
resp_user(const struct user *u)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(u->id));
	json_object_object_add(o, "username",
	    json_object_new_string(u->username));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "role",
	    json_object_new_string(role_name(u->role)));
	json_object_object_add(o, "disabled",
	    json_object_new_boolean(u->disabled));
	json_object_object_add(o, "organizationId",
	    json_object_new_int64(u->org_id));
	json_object_object_add(o, "organizationName",
	    json_object_new_string(u->org_name));
	json_object_object_add(o, "createdAt", resp_time(u->created_at));
	json_object_object_add(o, "lastLoginAt", resp_time(u->last_login_at));
	return o;
}

void
resp_tokens(struct json_object *root, const struct session_tokens *t,
    const struct user *u, int cookie)
{
	if (!cookie) {
		json_object_object_add(root, "token",
		    json_object_new_string(t->access));
		json_object_object_add(root, "access_token",
		    json_object_new_string(t->access));
		json_object_object_add(root, "refresh_token",
		    json_object_new_string(t->refresh));
		json_object_object_add(root, "token_type",
		    json_object_new_string("Bearer"));
	}
	json_object_object_add(root, "expires_in",
	    json_object_new_int(t->expires_in));
	json_object_object_add(root, "refresh_expires_in",
	    json_object_new_int(t->refresh_expires_in));
	json_object_object_add(root, "user", resp_user(u));
	if (t->restricted)
		json_object_object_add(root, "mfa_enrollment_required",
		    json_object_new_boolean(1));
}

/* A cookie value or path: printable ASCII without ; , " \ or space. */
static int
cookie_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || strchr(";,\"\\", *s) != NULL)
			return 0;
	return 1;
}

enum err
resp_cookie(struct req *r, const char *name, const char *value,
    const char *path, int max_age, int httponly)
{
	size_t room = sizeof(r->cookies) - r->cookies_len;
	char age[32] = "";
	int n;

	if (!cookie_safe(name) || !cookie_safe(value) || !cookie_safe(path))
		return ERR_SYS;
	if (max_age >= 0)
		(void)snprintf(age, sizeof(age), "; Max-Age=%d", max_age);
	n = snprintf(r->cookies + r->cookies_len, room,
	    "Set-Cookie: %s=%s; Path=%s%s%s%s; SameSite=Strict\r\n", name,
	    value, path, age, httponly ? "; HttpOnly" : "",
	    r->conf->cookie_secure ? "; Secure" : "");
	if (n < 0 || (size_t)n >= room) {
		r->cookies[r->cookies_len] = '\0';
		log_warnx("http: no room for cookie %s", name);
		return ERR_SYS;
	}
	r->cookies_len += (size_t)n;
	return ERR_OK;
}

enum err
resp_session_cookies(struct req *r, const struct session_tokens *t)
{
	char apath[HTTP_PATH_MAX], rpath[HTTP_PATH_MAX], ppath[HTTP_PATH_MAX];
	char csrf[TOK_STR_SIZE];
	const char *base = r->conf->base_path;
	int n, access_age, refresh_age;
	enum err e;

	/* The access cookie goes to the API, or to cookie_path (where the
	 * authorizer guards other paths of the site). */
	n = r->conf->cookie_path[0] != '\0' ?
	    snprintf(apath, sizeof(apath), "%s", r->conf->cookie_path) :
	    snprintf(apath, sizeof(apath), "%s/", base);
	if (n < 0 || (size_t)n >= sizeof(apath))
		return ERR_SYS;
	n = snprintf(rpath, sizeof(rpath), "%s/auth", base);
	if (n < 0 || (size_t)n >= sizeof(rpath) ||
	    conf_page_path(r->conf, ppath, sizeof(ppath)) == -1)
		return ERR_SYS;
	/* The session's own value: a refresh keeps it, so that tabs
	 * refreshing at once never send one the other just replaced. */
	csrf[0] = '\0';
	if (t != NULL &&
	    session_csrf(r->conf, t->refresh, csrf, sizeof(csrf)) == -1)
		return ERR_SYS;
	/* Cleared: Max-Age=0.  A remembered session outlives the browser;
	 * any other lasts until the browser closes (no Max-Age). */
	access_age = refresh_age = 0;
	if (t != NULL && t->remember) {
		access_age = t->expires_in;
		refresh_age = t->refresh_expires_in;
	} else if (t != NULL)
		access_age = refresh_age = -1;
	if ((e = resp_cookie(r, COOKIE_ACCESS, t != NULL ? t->access : "",
		 apath, access_age, 1)) != ERR_OK ||
	    (e = resp_cookie(r, COOKIE_REFRESH, t != NULL ? t->refresh : "",
		 rpath, refresh_age, 1)) != ERR_OK)
		return e;
	/* The pages read it: their directory (cookie_path, or the one that
	 * holds base_path), not "/", so that another install on the same
	 * host (/~bob/auth/ next to /~alice/auth/) never replaces it. */
	return resp_cookie(r, COOKIE_CSRF, csrf, ppath, refresh_age, 0);
}

enum err
resp_login(struct req *r, int status, const char *msg,
    const struct session_tokens *t, const struct user *u, int cookie)
{
	struct json_object *o;
	enum err e;

	if (cookie && (e = resp_session_cookies(r, t)) != ERR_OK)
		return e;
	o = resp_new(msg);
	resp_tokens(o, t, u, cookie);
	resp_send(r, status, o);
	return ERR_OK;
}

/* Whether s can be a header value: no CR, LF or other control
 * character can split a header. */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* The sign-in URL, url with "?next=" and next escaped, into loc
 * (RESP_LOCATION_MAX); -1 if url alone does not fit. */
static int
location(char *loc, const char *url, const char *next)
{
	size_t len;
	int n;

	n = snprintf(loc, RESP_LOCATION_MAX, "%s%s", url,
	    next != NULL ? "?next=" : "");
	if (n < 0 || (size_t)n >= RESP_LOCATION_MAX)
		return -1;
	len = (size_t)n;
	/* A next too long to carry is left out: the page still signs in. */
	if (next != NULL &&
	    str_pct_encode(loc, RESP_LOCATION_MAX, &len, next, "/") == -1)
		loc[strlen(url)] = '\0';
	return 0;
}

void
resp_redirect(struct req *r, const char *url, const char *next)
{
	char hdr[RESP_LOCATION_MAX + 128], loc[RESP_LOCATION_MAX];
	int n;

	if (location(loc, url, next) == -1)
		goto fail;
	n = snprintf(hdr, sizeof(hdr),
	    "Status: 302 Found\r\nLocation: %s\r\n"
	    "Content-Length: 0\r\nCache-Control: no-store\r\n"
	    "Referrer-Policy: no-referrer\r\n\r\n",
	    loc);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		goto fail;
	out(r, hdr, (size_t)n);
	r->status = 302;
	r->sent = 1;
	return;
fail:
	resp_error(r, ERR_SYS);
}

enum err
resp_header(struct req *r, const char *name, const char *value)
{
	size_t room = sizeof(r->headers) - r->headers_len;
	int n;

	if (!header_safe(value))
		return ERR_SYS;
	n = snprintf(r->headers + r->headers_len, room, "%s: %s\r\n", name,
	    value);
	if (n < 0 || (size_t)n >= room) {
		r->headers[r->headers_len] = '\0';
		return ERR_SYS;
	}
	r->headers_len += (size_t)n;
	return ERR_OK;
}

enum err
resp_location(struct req *r, const char *url, const char *next)
{
	char loc[RESP_LOCATION_MAX];

	if (location(loc, url, next) == -1)
		return ERR_SYS;
	return resp_header(r, "Location", loc);
}

void
resp_authorizer(struct req *r, int status, const char *const *names,
    const char *const *values, size_t n)
{
	char hdr[2048];
	size_t len = 0, i;
	int k;

	k = snprintf(hdr, sizeof(hdr),
	    "Status: %d %s\r\n"
	    "Content-Length: 0\r\nCache-Control: no-store\r\n",
	    status, reason(status));
	if (k < 0 || (size_t)k >= sizeof(hdr))
		goto fail;
	len = (size_t)k;
	for (i = 0; i < n; i++) {
		if (!header_safe(values[i]))
			goto fail;
		k = snprintf(hdr + len, sizeof(hdr) - len,
		    "Variable-%s: %s\r\n", names[i], values[i]);
		if (k < 0 || (size_t)k >= sizeof(hdr) - len)
			goto fail;
		len += (size_t)k;
	}
	if (len + 2 >= sizeof(hdr))
		goto fail;
	memcpy(hdr + len, "\r\n", 3);
	out(r, hdr, len + 2);
	r->status = status;
	r->sent = 1;
	return;
fail:
	log_warnx("authz: a header value was refused");
	resp_error(r, ERR_SYS);
}
