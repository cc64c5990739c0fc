/*
 * h_authz.c: the guard of other paths of the site, in two forms.
 *
 * The FastCGI AUTHORIZER role (lighttpd "mode" => "authorizer", Apache
 * mod_authnz_fcgi): no routing; the answer is 200 with Variable-LATCH_*
 * headers (the server hands them to the guarded application as
 * environment), 401, or 403.
 *
 * GET /auth/check, the subrequest of nginx's auth_request and Caddy's
 * forward_auth: 200 with X-Latch-* headers (the server copies them onto
 * the guarded request), 401 or 403.
 *
 * Both check the access token (Authorization: Bearer, else the
 * latch_access cookie) as /auth/verify checks it, and the role against
 * the FastCGI parameter LATCH_REQUIRE_ROLE, which only the server's
 * configuration can set (a client's header arrives as HTTP_*), and the
 * second factor against LATCH_REQUIRE_AMR=otp, set the same way (403
 * mfa_required when the session was not signed in with one; a session
 * that may only enrol one is refused 403 mfa_enrollment_required).  With
 * [server] login_url, a browser that is not signed in is sent there: a
 * 302 from the authorizer, a 401 with Location from the check (nginx
 * allows its subrequest nothing but 2xx, 401 and 403; the recipes turn it
 * into the redirect).
 *
 * An API key (apikey.h) in the Authorization header, never in the
 * cookie, passes as its organization and role with no user id, the
 * username apikey:<id> (and, from the authorizer, two more values naming
 * the key); it has no amr, so LATCH_REQUIRE_AMR=otp refuses it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "org.h"

#define REQUIRE_ROLE_MAX 256

/* Who is calling, handed to the guarded application: as variables by
 * the authorizer, as headers by the check.  The last two only for an API
 * key (AV_PERSON__MAX of them for anyone else). */
enum {
	AV_USER_ID,
	AV_USERNAME,
	AV_ORG_ID,
	AV_ROLE,
	AV_AMR,
	AV_PERSON__MAX,
	AV_KEY_ID = AV_PERSON__MAX,
	AV_KEY_NAME,
	AV__MAX
};
static const char *const var_names[] = {
	[AV_USER_ID] = "LATCH_USER_ID",
	[AV_USERNAME] = "LATCH_USERNAME",
	[AV_ORG_ID] = "LATCH_ORG_ID",
	[AV_ROLE] = "LATCH_ROLE",
	[AV_AMR] = "LATCH_AMR",
	[AV_KEY_ID] = "LATCH_API_KEY_ID",
	[AV_KEY_NAME] = "LATCH_API_KEY_NAME",
};
_Static_assert(sizeof(var_names) / sizeof(var_names[0]) == AV__MAX,
    "one name per variable");
static const char *const header_names[] = {
	[AV_USER_ID] = "X-Latch-User-Id",
	[AV_USERNAME] = "X-Latch-Username",
	[AV_ORG_ID] = "X-Latch-Org-Id",
	[AV_ROLE] = "X-Latch-Role",
	[AV_AMR] = "X-Latch-Amr",
};
/* (Of a key, only the username apikey:<id> tells: the recipes copy and
 * strip these five headers, and no others.) */
_Static_assert(sizeof(header_names) / sizeof(header_names[0]) == AV_PERSON__MAX,
    "one name per header");

/* The values of one answer (the authorizer sends the first n), and the room
 * for the numbers among them. */
struct ident {
	const char *values[AV__MAX];
	size_t n;
	char uid[24], oid[24], kid[24], kname[32];
};

int
h_authz_is(const struct req *r)
{
	const char *role = req_param(r, "FCGI_ROLE");

	return role != NULL && strcmp(role, "AUTHORIZER") == 0;
}

/* The rank of a role name: user < admin < superadmin; -1 if unknown. */
static int
rank(const char *s, size_t n)
{
	if (n == 4 && strncmp(s, "user", n) == 0)
		return ROLE_USER;
	if (n == 5 && strncmp(s, "admin", n) == 0)
		return ROLE_ADMIN;
	if (n == 10 && strncmp(s, "superadmin", n) == 0)
		return ROLE_SUPERADMIN;
	return -1;
}

static int
rank_of(enum role role)
{
	const char *s = role_name(role);

	return rank(s, strlen(s));
}

/*
 * Whether role meets LATCH_REQUIRE_ROLE ("admin", "admin,superadmin"):
 * one listed role at or below it.  Absent or empty: any role.  An unknown
 * name never matches (a typo refuses rather than opens).
 */
static int
role_allowed(const struct req *r, enum role role)
{
	const char *req = req_param(r, "LATCH_REQUIRE_ROLE");
	const char *p, *end;
	int have = rank_of(role), want, any = 0;
	size_t n;

	if (req == NULL || strnlen(req, REQUIRE_ROLE_MAX) == REQUIRE_ROLE_MAX)
		return req == NULL;
	for (p = req; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		end = p + strcspn(p, ",");
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		any = 1;
		if ((want = rank(p, n)) == -1) {
			log_warnx("authz: unknown role in LATCH_REQUIRE_ROLE");
			continue;
		}
		if (have >= want)
			return 1;
	}
	return !any;
}

/* LATCH_AMR: the token's amr claim, comma-separated ("pwd,otp"). */
static const char *
amr_text(unsigned amr)
{
	if ((amr & JWT_AMR_PWD) && (amr & JWT_AMR_OTP))
		return "pwd,otp";
	if (amr & JWT_AMR_OTP)
		return "otp";
	return (amr & JWT_AMR_PWD) ? "pwd" : "";
}

/* Whether amr meets LATCH_REQUIRE_AMR: unset or empty, or "otp" (the
 * only value: any other is logged and refused). */
static int
amr_allowed(const struct req *r, unsigned amr)
{
	const char *req = req_param(r, "LATCH_REQUIRE_AMR");

	if (req == NULL || req[0] == '\0')
		return 1;
	if (strcmp(req, "otp") != 0) {
		log_warnx("authz: LATCH_REQUIRE_AMR must be \"otp\"");
		return 0;
	}
	return (amr & JWT_AMR_OTP) != 0;
}

/*
 * Whether the refusal of a sign-in should send a browser to the sign-in
 * page: login_url is set and the request (method: the guarded request's)
 * is a browser's navigation (GET or HEAD accepting text/html).  Scripts
 * and APIs keep their 401.
 */
static int
wants_page(const struct req *r, const char *m)
{
	const char *accept = req_param(r, "HTTP_ACCEPT");

	if (r->conf->login_url[0] == '\0' || m == NULL || accept == NULL)
		return 0;
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)
		return 0;
	return strstr(accept, "text/html") != NULL;
}

/*
 * The guard itself: ERR_OK with the caller in id, or the refusal, with
 * *page set when it is a sign-in that a browser should be sent to make
 * (method: the guarded request's).  One session lookup, as /auth/verify.
 */
static enum err
guard(struct req *r, const char *method, struct ident *id, int *page)
{
	char cookie[HTTP_COOKIE_VALUE_MAX];
	const char *t;
	int on;
	enum err e;

	*page = 0;
	if ((on = org_auth_enabled(r->db, r->conf)) == -1)
		return ERR_DB;
	if (!on) {
		id->values[AV_USER_ID] = id->values[AV_USERNAME] =
		    id->values[AV_ORG_ID] = "";
		id->values[AV_ROLE] = "anonymous";
		id->values[AV_AMR] = "";
		id->n = AV_PERSON__MAX;
		return ERR_OK;
	}
	/* The guard itself asks for no CSRF header (the cookies are
	 * SameSite=Strict). */
	if ((t = req_access_token(r, cookie, sizeof(cookie))) == NULL)
		e = ERR_MISSING_TOKEN;
	else
		e = req_authenticate(r, t, NULL);
	if (e == ERR_MISSING_TOKEN || e == ERR_INVALID_TOKEN ||
	    e == ERR_TOKEN_EXPIRED || e == ERR_SESSION_REVOKED)
		*page = wants_page(r, method);
	if (e == ERR_OK && r->p.restricted)
		e = ERR_MFA_ENROLLMENT_REQUIRED;
	if (e != ERR_OK)
		return e;
	if (!role_allowed(r, r->p.role))
		return ERR_FORBIDDEN;
	if (!amr_allowed(r, r->p.claims.amr))
		return ERR_MFA_REQUIRED;
	(void)snprintf(id->uid, sizeof(id->uid), "%" PRId64, r->p.user_id);
	(void)snprintf(id->oid, sizeof(id->oid), "%" PRId64, r->p.org_id);
	(void)snprintf(id->kid, sizeof(id->kid), "%" PRId64, r->p.key_id);
	(void)snprintf(id->kname, sizeof(id->kname), "apikey:%" PRId64,
	    r->p.key_id);
	/* A key is no user: no user id, and a name no username can be
	 * (the web server may need one: Apache's REMOTE_USER). */
	id->values[AV_USER_ID] = r->p.key_id != 0 ? "" : id->uid;
	id->values[AV_USERNAME] = r->p.key_id != 0 ? id->kname : r->p.username;
	id->values[AV_ORG_ID] = id->oid;
	id->values[AV_ROLE] = role_name(r->p.role);
	id->values[AV_AMR] = amr_text(r->p.claims.amr);
	id->values[AV_KEY_ID] = id->kid;
	id->values[AV_KEY_NAME] = r->p.key_name;
	id->n = r->p.key_id != 0 ? AV__MAX : AV_PERSON__MAX;
	return ERR_OK;
}

enum err
h_authz(struct req *r)
{
	struct ident id;
	int page;
	enum err e;

	(void)snprintf(r->path, sizeof(r->path), "(authorizer)");
	e = guard(r, r->method, &id, &page);
	if (e != ERR_OK && page) {
		/* Back to the guarded URL after signing in. */
		resp_redirect(r, r->conf->login_url,
		    req_param(r, "REQUEST_URI"));
		return ERR_OK;
	}
	if (e != ERR_OK)
		return e;
	resp_authorizer(r, 200, var_names, id.values, id.n);
	return ERR_OK;
}

/*
 * GET /auth/check.  The guarded request's method and URI come from
 * X-Forwarded-Method and X-Forwarded-Uri, which the recipes set (and so
 * replace any the client sent); they only shape the answer to a browser
 * (a sign-in, and where to come back to), never the decision.
 */
enum err
h_check(struct req *r)
{
	const char *m = req_param(r, "HTTP_X_FORWARDED_METHOD");
	struct ident id;
	enum err e;
	size_t i;
	int page;

	e = guard(r, m != NULL ? m : r->method, &id, &page);
	if (e != ERR_OK && page) {
		/* Still the 401 (and its body), with where to go. */
		if (resp_location(r, r->conf->login_url,
			req_param(r, "HTTP_X_FORWARDED_URI")) != ERR_OK)
			return ERR_SYS;
		return e;
	}
	if (e != ERR_OK)
		return e;
	for (i = 0; i < AV_PERSON__MAX; i++)
		if (resp_header(r, header_names[i], id.values[i]) != ERR_OK) {
			/* No half of an identity goes out with the 500. */
			r->headers_len = 0;
			log_warnx("check: a header value was refused");
			return ERR_SYS;
		}
	resp_send(r, 200, resp_new("Access granted"));
	return ERR_OK;
}
