/*
 * handlers.h: one function per route; each parses and checks its input,
 * calls core/, and answers with resp_send() or returns an error for
 * resp_error().
 */
#ifndef LATCH_HANDLERS_H
#define LATCH_HANDLERS_H

#include "http.h"
#include "metrics.h"

/* h_health.c */
enum err h_health(struct req *);
enum err h_setup_get(struct req *);
enum err h_setup_post(struct req *);
/* Shared by /setup and /auth/register: a new organization and its first
 * user, signed in.  setup: the user is superadmin, else admin. */
enum err h_register_org(struct req *, int setup);

/* h_metrics.c: the counters for Prometheus, to [server] metrics_allow. */
enum err h_metrics(struct req *);

/* h_authz.c: the FastCGI AUTHORIZER role, outside the route table. */
/* Whether the request came in the AUTHORIZER role (FCGI_ROLE). */
int h_authz_is(const struct req *);
/* Answer it: 200 with Variable-LATCH_* headers, or an error to send. */
enum err h_authz(struct req *);
/* GET /auth/check: the same guard for nginx's auth_request and Caddy's
 * forward_auth, answered with X-Latch-* headers. */
enum err h_check(struct req *);

/* h_meta.c: public documents outside the envelope */
enum err h_jwks(struct req *);
enum err h_discovery(struct req *);
enum err h_openapi(struct req *);

/* h_auth.c */
enum err h_register(struct req *);
enum err h_login(struct req *);
enum err h_refresh(struct req *);
enum err h_verify(struct req *);
enum err h_revoke(struct req *);
enum err h_logout(struct req *);
enum err h_sessions_list(struct req *);
enum err h_sessions_delete(struct req *);
/* Count a sign-in step's outcome e (latch_signins_total); ok is that of
 * ERR_OK.  POST /auth/login and POST /auth/mfa. */
void count_signin(enum err e, enum metric ok);

enum err h_invitation_preview(struct req *);
enum err h_password_forgot(struct req *);
enum err h_password_reset(struct req *);

/* h_admin.c */
enum err h_users_list(struct req *);
enum err h_users_create(struct req *);
enum err h_users_get(struct req *);
enum err h_users_patch(struct req *);
enum err h_users_delete(struct req *);
enum err h_users_disable(struct req *);
enum err h_users_enable(struct req *);
enum err h_users_mfa_reset(struct req *);
enum err h_invitations_create(struct req *);
enum err h_invitations_list(struct req *);
enum err h_invitations_delete(struct req *);
enum err h_invitations_resend(struct req *);
enum err h_organization_get(struct req *);
enum err h_organization_patch(struct req *);
enum err h_audit(struct req *);
/*
 * The organization a request names for a superadmin (actor_scope()):
 * ?organization_id=N, else body_org (organizationId of the body, when
 * > 0); 0 for none, ACTOR_ORG_BAD when the query parameter is malformed
 * (r->err_field is set for the ERR_INVALID_FIELD core then answers).
 */
int64_t named_org(struct req *, int64_t body_org);
/*
 * The organizationId of a body (field f): ERR_OK with *org (0 when
 * absent), or ERR_INVALID_FIELD when it is not a positive id.
 */
enum err body_org(struct req *, const struct fval *f, int64_t *org);
/* PATCH of the name/description of the organization the request names
 * (actor_scope()), shared with h_orgs.c. */
enum err h_org_patch(struct req *, int64_t want);
struct org;
/* The contract's organization object. */
struct json_object *org_json(const struct org *);
struct invite;
/* The contract's invitation object; with code (a new one) its code and
 * url, else who invited. */
struct json_object *invite_json(const struct req *, const struct invite *,
    const char *code);
/* The caller's display name for an invitation mail (ROUTE_ME): its
 * name, else its username, into out. */
void h_inviter_name(const struct req *, char *out, size_t outsz);

/* h_keys.c: /api-keys */
enum err h_keys_list(struct req *);
enum err h_keys_create(struct req *);
enum err h_keys_delete(struct req *);

/* h_settings.c: /settings */
enum err h_settings_get(struct req *);
enum err h_settings_patch(struct req *);

/* h_orgs.c */
enum err h_orgs_list(struct req *);
enum err h_orgs_create(struct req *);
enum err h_orgs_get(struct req *);
enum err h_orgs_patch(struct req *);
enum err h_orgs_delete(struct req *);

/* h_mfa.c */
/* Answer a sign-in that waits for its second factor (t->mfa_token). */
enum err h_mfa_required(struct req *, struct session_tokens *t);
enum err h_auth_mfa(struct req *);
enum err h_mfa_get(struct req *);
enum err h_mfa_totp_start(struct req *);
enum err h_mfa_totp_confirm(struct req *);
enum err h_mfa_totp_delete(struct req *);
enum err h_mfa_recovery_new(struct req *);

/* h_user.c */
enum err h_profile_get(struct req *);
enum err h_profile_patch(struct req *);
enum err h_email_confirm(struct req *);
enum err h_password_change(struct req *);

#endif
