/*
 * h_authz.c: the FastCGI AUTHORIZER role (lighttpd "mode" =>
 * "authorizer", Apache mod_authnz_fcgi).  No routing: the access token of
 * the request (Authorization: Bearer, else the latch_access cookie) is
 * checked as /auth/verify checks it, and the answer is 200 with
 * Variable-LATCH_* headers (the server hands them to the guarded
 * application as environment), 401, or 403 when the FastCGI parameter
 * LATCH_REQUIRE_ROLE is not met (or LATCH_REQUIRE_AMR=otp, when the
 * session was not signed in with a second factor: 403 mfa_required; a
 * session that may only enrol one is refused 403
 * mfa_enrollment_required).  With [server] login_url, a browser
 * that is not signed in is sent there instead of a 401 (see wants_page).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "org.h"

#define REQUIRE_ROLE_MAX 256

/* The variables handed to the guarded application. */
enum { AV_USER_ID, AV_USERNAME, AV_ORG_ID, AV_ROLE, AV_AMR, AV__MAX };
static const char *const var_names[] = {
	[AV_USER_ID] = "LATCH_USER_ID",
	[AV_USERNAME] = "LATCH_USERNAME",
	[AV_ORG_ID] = "LATCH_ORG_ID",
	[AV_ROLE] = "LATCH_ROLE",
	[AV_AMR] = "LATCH_AMR",
};
_Static_assert(sizeof(var_names) / sizeof(var_names[0]) == AV__MAX,
    "one name per variable");

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
 * Whether the refusal of a sign-in should be a redirect to the sign-in
 * page: login_url is set and the request is a browser's navigation (GET
 * or HEAD accepting text/html).  Scripts and APIs keep their 401.
 */
static int
wants_page(const struct req *r)
{
	const char *m = r->method, *accept = req_param(r, "HTTP_ACCEPT");

	if (r->conf->login_url[0] == '\0' || m == NULL || accept == NULL)
		return 0;
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)
		return 0;
	return strstr(accept, "text/html") != NULL;
}

enum err
h_authz(struct req *r)
{
	char uid[24], oid[24], cookie[HTTP_COOKIE_VALUE_MAX];
	const char *values[AV__MAX], *t;
	int on;
	enum err e;

	(void)snprintf(r->path, sizeof(r->path), "(authorizer)");
	if ((on = org_auth_enabled(r->db, r->conf)) == -1)
		return ERR_DB;
	if (!on) {
		values[AV_USER_ID] = values[AV_USERNAME] = values[AV_ORG_ID] =
		    "";
		values[AV_ROLE] = "anonymous";
		values[AV_AMR] = "";
		resp_authorizer(r, 200, var_names, values, AV__MAX);
		return ERR_OK;
	}
	/* As /auth/verify checks it; the guard itself asks for no CSRF
	 * header (the cookies are SameSite=Strict). */
	if ((t = req_access_token(r, cookie, sizeof(cookie))) == NULL)
		e = ERR_MISSING_TOKEN;
	else
		e = session_authenticate(r->db, r->conf, t, &r->p, NULL);
	if ((e == ERR_MISSING_TOKEN || e == ERR_INVALID_TOKEN ||
	    e == ERR_TOKEN_EXPIRED || e == ERR_SESSION_REVOKED) &&
	    wants_page(r)) {
		/* Back to the guarded URL after signing in. */
		resp_redirect(r, r->conf->login_url,
		    req_param(r, "REQUEST_URI"));
		return ERR_OK;
	}
	if (e == ERR_OK && r->p.restricted)
		e = ERR_MFA_ENROLLMENT_REQUIRED;
	if (e != ERR_OK)
		return e;
	if (!role_allowed(r, r->p.role))
		return ERR_FORBIDDEN;
	if (!amr_allowed(r, r->p.claims.amr))
		return ERR_MFA_REQUIRED;
	(void)snprintf(uid, sizeof(uid), "%" PRId64, r->p.user_id);
	(void)snprintf(oid, sizeof(oid), "%" PRId64, r->p.org_id);
	values[AV_USER_ID] = uid;
	values[AV_USERNAME] = r->p.username;
	values[AV_ORG_ID] = oid;
	values[AV_ROLE] = role_name(r->p.role);
	values[AV_AMR] = amr_text(r->p.claims.amr);
	resp_authorizer(r, 200, var_names, values, AV__MAX);
	return ERR_OK;
}
