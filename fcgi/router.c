/*
 * router.c: the route table.  Paths are relative to [server] base_path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "metrics.h"
#include "router.h"

static const struct route routes[] = {
	{ "GET", "/health", h_health, AUTH_NONE, 0 },
	{ "GET", "/metrics", h_metrics, AUTH_NONE, 0 },
	{ "GET", "/setup", h_setup_get, AUTH_NONE, 0 },
	{ "GET", "/.well-known/jwks.json", h_jwks, AUTH_NONE, 0 },
	{ "GET", "/.well-known/openid-configuration", h_discovery, AUTH_NONE,
	    0 },
	{ "GET", "/openapi.json", h_openapi, AUTH_NONE, 0 },
	{ "POST", "/setup", h_setup_post, AUTH_NONE, 0 },
	{ "POST", "/auth/register", h_register, AUTH_NONE, ROUTE_LIMIT_IP },
	{ "POST", "/auth/login", h_login, AUTH_NONE, ROUTE_LIMIT_IP },
	{ "POST", "/auth/refresh", h_refresh, AUTH_NONE, ROUTE_LIMIT_IP },
	{ "POST", "/auth/verify", h_verify, AUTH_NONE, 0 },
	{ "GET", "/auth/check", h_check, AUTH_NONE, 0 },
	{ "POST", "/auth/revoke", h_revoke, AUTH_NONE, 0 },
	{ "POST", "/auth/logout", h_logout, AUTH_USER, ROUTE_ENROL },
	{ "GET", "/auth/sessions", h_sessions_list, AUTH_USER, 0 },
	{ "DELETE", "/auth/sessions/{id}", h_sessions_delete, AUTH_USER, 0 },
	{ "GET", "/user/profile", h_profile_get, AUTH_USER,
	    ROUTE_ME | ROUTE_ENROL },
	{ "PATCH", "/user/profile", h_profile_patch, AUTH_USER, 0 },
	{ "POST", "/user/password", h_password_change, AUTH_USER, 0 },
	{ "POST", "/user/email/confirm", h_email_confirm, AUTH_NONE,
	    ROUTE_LIMIT_IP },
	{ "GET", "/auth/invitation", h_invitation_preview, AUTH_NONE,
	    ROUTE_LIMIT_IP },
	{ "POST", "/auth/password/forgot", h_password_forgot, AUTH_NONE,
	    ROUTE_LIMIT_IP },
	{ "POST", "/auth/password/reset", h_password_reset, AUTH_NONE, 0 },
	{ "POST", "/auth/mfa", h_auth_mfa, AUTH_NONE, ROUTE_LIMIT_IP },
	{ "GET", "/user/mfa", h_mfa_get, AUTH_USER, ROUTE_ENROL },
	{ "POST", "/user/mfa/totp", h_mfa_totp_start, AUTH_USER,
	    ROUTE_ME | ROUTE_ENROL },
	{ "DELETE", "/user/mfa/totp", h_mfa_totp_delete, AUTH_USER, 0 },
	{ "POST", "/user/mfa/totp/confirm", h_mfa_totp_confirm, AUTH_USER,
	    ROUTE_ENROL },
	{ "POST", "/user/mfa/recovery-codes", h_mfa_recovery_new, AUTH_USER,
	    0 },

	{ "GET", "/users", h_users_list, AUTH_ADMIN, 0 },
	{ "POST", "/users", h_users_create, AUTH_ADMIN, 0 },
	{ "GET", "/users/{id}", h_users_get, AUTH_ADMIN, 0 },
	{ "PATCH", "/users/{id}", h_users_patch, AUTH_ADMIN, 0 },
	{ "DELETE", "/users/{id}", h_users_delete, AUTH_ADMIN, 0 },
	{ "POST", "/users/{id}/disable", h_users_disable, AUTH_ADMIN, 0 },
	{ "POST", "/users/{id}/enable", h_users_enable, AUTH_ADMIN, 0 },
	{ "POST", "/users/{id}/mfa/reset", h_users_mfa_reset, AUTH_ADMIN, 0 },
	{ "POST", "/invitations", h_invitations_create, AUTH_ADMIN, ROUTE_ME },
	{ "GET", "/invitations", h_invitations_list, AUTH_ADMIN, 0 },
	{ "DELETE", "/invitations/{id}", h_invitations_delete, AUTH_ADMIN, 0 },
	{ "POST", "/invitations/{id}/resend", h_invitations_resend, AUTH_ADMIN,
	    ROUTE_ME },
	{ "GET", "/organization", h_organization_get, AUTH_ADMIN, 0 },
	{ "PATCH", "/organization", h_organization_patch, AUTH_ADMIN, 0 },
	{ "GET", "/audit", h_audit, AUTH_ADMIN, 0 },
	{ "GET", "/api-keys", h_keys_list, AUTH_ADMIN, 0 },
	{ "POST", "/api-keys", h_keys_create, AUTH_ADMIN, 0 },
	{ "DELETE", "/api-keys/{id}", h_keys_delete, AUTH_ADMIN, 0 },

	{ "GET", "/organizations", h_orgs_list, AUTH_SUPER, 0 },
	{ "POST", "/organizations", h_orgs_create, AUTH_SUPER, ROUTE_ME },
	{ "GET", "/organizations/{id}", h_orgs_get, AUTH_SUPER, 0 },
	{ "PATCH", "/organizations/{id}", h_orgs_patch, AUTH_SUPER, 0 },
	{ "DELETE", "/organizations/{id}", h_orgs_delete, AUTH_SUPER, 0 },
	{ "GET", "/settings", h_settings_get, AUTH_SUPER, 0 },
	{ "PATCH", "/settings", h_settings_patch, AUTH_SUPER, 0 },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The request slots of /metrics: the routes, then the two below. */
_Static_assert(NROUTES + 2 <= METRICS_ROUTES_MAX,
    "METRICS_ROUTES_MAX holds every route and the two slots after them");

size_t
router_slot(const struct route *rt, int authorizer)
{
	if (authorizer)
		return NROUTES + 1;
	return rt != NULL ? (size_t)(rt - routes) : NROUTES;
}

size_t
router_slots(struct metrics_route *out, size_t n)
{
	size_t i;

	for (i = 0; i < NROUTES && i < n; i++) {
		out[i].method = routes[i].method;
		out[i].route = routes[i].pattern;
	}
	/* Neither the client's method nor its path: they are anything. */
	if (NROUTES < n) {
		out[NROUTES].method = "";
		out[NROUTES].route = "(none)";
	}
	if (NROUTES + 1 < n) {
		out[NROUTES + 1].method = "";
		out[NROUTES + 1].route = "(authorizer)";
	}
	return NROUTES + 2 < n ? NROUTES + 2 : n;
}

/* A positive id without sign or leading zero, up to 18 digits. */
static int
parse_id(const char *s, size_t n, int64_t *id)
{
	int64_t v = 0;
	size_t i;

	if (n == 0 || n > 18 || s[0] == '0')
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*id = v;
	return 0;
}

/* Match path against pattern segment by segment. */
static int
match(const char *pattern, const char *path, int64_t *id)
{
	const char *p = pattern, *q = path;
	size_t pn, qn;

	for (;;) {
		if (*p != '/' || *q != '/')
			return *p == *q;
		p++;
		q++;
		pn = strcspn(p, "/");
		qn = strcspn(q, "/");
		if (pn == 4 && strncmp(p, "{id}", 4) == 0) {
			if (parse_id(q, qn, id) == -1)
				return 0;
		} else if (pn != qn || strncmp(p, q, pn) != 0)
			return 0;
		p += pn;
		q += qn;
	}
}

const struct route *
router_match(struct req *r, enum err *e)
{
	size_t i, n = 0;
	int64_t id = 0;
	int found = 0;

	r->allow[0] = '\0';
	for (i = 0; i < NROUTES; i++) {
		if (!match(routes[i].pattern, r->path, &id))
			continue;
		if (strcmp(routes[i].method, r->method) == 0) {
			r->id = id;
			return &routes[i];
		}
		found = 1;
		if (n + strlen(routes[i].method) + 3 < sizeof(r->allow))
			n += (size_t)snprintf(r->allow + n,
			    sizeof(r->allow) - n, "%s%s", n > 0 ? ", " : "",
			    routes[i].method);
	}
	if (found)
		*e = ERR_METHOD_NOT_ALLOWED;
	else
		*e = ERR_NOT_FOUND;
	return NULL;
}
