/*
 * h_auth.c: /auth/...: register, login, refresh, verify, revoke, logout,
 * sessions, invitations' preview, password reset.
 */
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "apikey.h"
#include "handlers.h"
#include "invite.h"
#include "log.h"
#include "metrics.h"
#include "org.h"
#include "reset.h"
#include "valid.h"

enum { IF_CODE, IF_USERNAME, IF_PASSWORD, IF_NAME, IF_COOKIE, IF__MAX };
static const struct field invited_fields[] = {
	[IF_CODE] = { "invitation_code", F_STR, 1, 256, NULL, 0 },
	[IF_USERNAME] = { "username", F_STR, 1, 64, valid_username, 0 },
	[IF_PASSWORD] = { "password", F_STR, 1, 0, NULL, 1 },
	[IF_NAME] = { "name", F_STR, 0, 512, valid_name, 0 },
	[IF_COOKIE] = { "cookie", F_BOOL, 0, 0, NULL, 0 },
};
FIELDS(invited_fields, IF__MAX);

/* POST /auth/register with an invitation code. */
static enum err
register_invited(struct req *r)
{
	struct fval v[IF__MAX];
	struct session_tokens t = { 0 };
	struct invite inv;
	struct user u;
	enum err e;

	if ((e = req_fields(r, invited_fields, IF__MAX, v)) != ERR_OK)
		return e;
	if ((e = invite_accept(r->db, r->conf, req_actor(r), v[IF_CODE].s,
		 v[IF_USERNAME].s, v[IF_NAME].present ? v[IF_NAME].s : "",
		 v[IF_PASSWORD].s, req_user_agent(r), &u, &inv, &t)) != ERR_OK)
		return e;
	return resp_login(r, 201, "Registration successful", &t, &u,
	    v[IF_COOKIE].present && v[IF_COOKIE].b);
}

enum err
h_register(struct req *r)
{
	struct json_object *code;
	enum err e;

	if (json_object_object_get_ex(r->body, "invitation_code", &code) &&
	    !json_object_is_type(code, json_type_null))
		return register_invited(r);
	if ((e = org_registration_open(r->conf)) != ERR_OK)
		return e;
	return h_register_org(r, 0);
}

enum err
h_invitation_preview(struct req *r)
{
	char code[TOK_STR_SIZE];
	struct json_object *o, *i;
	struct invite inv;
	enum err e;

	if (req_query(r, "code", code, sizeof(code)) != 1)
		return ERR_INVALID_INVITATION;
	if ((e = invite_preview(r->db, code, &inv)) != ERR_OK)
		return e;
	i = json_object_new_object();
	json_object_object_add(i, "email", json_object_new_string(inv.email));
	json_object_object_add(i, "role",
	    json_object_new_string(role_name(inv.role)));
	json_object_object_add(i, "organizationName",
	    json_object_new_string(inv.org_name));
	json_object_object_add(i, "expiresAt", resp_time(inv.expires_at));
	o = resp_new("Invitation");
	json_object_object_add(o, "invitation", i);
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { FF_EMAIL, FF__MAX };
static const struct field forgot_fields[] = {
	[FF_EMAIL] = { "email", F_STR, 1, 254, valid_email, 0 },
};
FIELDS(forgot_fields, FF__MAX);

/*
 * The work of POST /auth/password/forgot, after its answer: whether the
 * address has an account shows in what is done here (a token, a mail, a
 * commit), so none of it may delay the answer.  A failure is logged and
 * nothing else: no one waits for it, and asking again is the remedy.
 */
static void
forgot_later(struct req *r, const char *email, const char *ip)
{
	struct actor a = { 0, 0, ROLE_USER, ip, 0 };
	const char *what = "queued";
	struct user u;
	enum err e;

	e = reset_request(r->db, r->conf, &a, email, &u);
	if (e == ERR_TOO_MANY_REQUESTS)
		what = "mail limit";
	else if (e == ERR_NOT_FOUND)
		what = "no active account";
	else if (e == ERR_UNKNOWN) {
		log_warnx(
		    "auth: password reset: the outcome is unknown; the "
		    "mail goes out if the token was stored");
		what = "unknown";
	} else if (e != ERR_OK) {
		log_warnx("auth: password reset mail not queued (%s)",
		    err_str(e));
		what = "failed";
	}
	log_info("auth: password forgot: done (%s)", what);
}

enum err
h_password_forgot(struct req *r)
{
	struct fval v[FF__MAX];
	enum err e;

	if ((e = req_fields(r, forgot_fields, FF__MAX, v)) != ERR_OK)
		return e;
	/* The answer tells nothing, not even by its time: it goes first. */
	if ((e = req_defer(r, forgot_later, v[FF_EMAIL].s)) != ERR_OK)
		return e;
	resp_send(r, 202,
	    resp_new("If the account exists, a reset mail is "
		     "on its way"));
	return ERR_OK;
}

enum { RF_TOKEN, RF_PASSWORD, RF__MAX };
static const struct field reset_fields[] = {
	[RF_TOKEN] = { "token", F_STR, 1, 256, NULL, 0 },
	[RF_PASSWORD] = { "password", F_STR, 1, 0, NULL, 1 },
};
FIELDS(reset_fields, RF__MAX);

enum err
h_password_reset(struct req *r)
{
	struct fval v[RF__MAX];
	enum err e;

	if ((e = req_fields(r, reset_fields, RF__MAX, v)) != ERR_OK ||
	    (e = reset_perform(r->db, r->conf, req_actor(r), v[RF_TOKEN].s,
		 v[RF_PASSWORD].s)) != ERR_OK)
		return e;
	resp_send(r, 200,
	    resp_new("Password reset; every session was "
		     "signed out"));
	return ERR_OK;
}

/* Any string: a token too long to be ours is invalid_token, not a
 * field error (the body limit bounds it). */
#define ANY_TOKEN_LEN (1024 * 1024)

enum { LF_IDENTIFIER, LF_PASSWORD, LF_REMEMBER, LF_COOKIE, LF__MAX };
static const struct field login_fields[] = {
	[LF_IDENTIFIER] = { "identifier", F_STR, 1, 254, NULL, 0 },
	[LF_PASSWORD] = { "password", F_STR, 1, 1024, NULL, 0 },
	[LF_REMEMBER] = { "remember_me", F_BOOL, 0, 0, NULL, 0 },
	[LF_COOKIE] = { "cookie", F_BOOL, 0, 0, NULL, 0 },
};
FIELDS(login_fields, LF__MAX);

/*
 * latch_signins_total: the outcome e of a sign-in step that got as far as
 * its name and password (POST /auth/login) or its mfa_token (POST
 * /auth/mfa), ok that of ERR_OK; other errors (bad input, the database,
 * no mfa_key) are not one.
 */
void
count_signin(enum err e, enum metric ok)
{
	switch (e) {
	case ERR_OK:
		metrics_inc(ok);
		break;
	case ERR_INVALID_CREDENTIALS:
		metrics_inc(METRIC_SIGNIN_BAD_CREDENTIALS);
		break;
	case ERR_TOO_MANY_ATTEMPTS:
		metrics_inc(METRIC_SIGNIN_THROTTLED);
		break;
	case ERR_ACCOUNT_DISABLED:
		metrics_inc(METRIC_SIGNIN_DISABLED);
		break;
	case ERR_INVALID_CODE:
		metrics_inc(METRIC_SIGNIN_MFA_BAD_CODE);
		break;
	case ERR_INVALID_TOKEN:
		metrics_inc(METRIC_SIGNIN_MFA_INVALID_TOKEN);
		break;
	default:
		break;
	}
}

enum err
h_login(struct req *r)
{
	struct fval v[LF__MAX];
	struct session_tokens t = { 0 };
	struct user u;
	enum err e;

	if ((e = req_fields(r, login_fields, LF__MAX, v)) != ERR_OK)
		return e;
	e = account_login(r->db, r->conf, req_actor(r), v[LF_IDENTIFIER].s,
	    v[LF_PASSWORD].s,
	    (v[LF_REMEMBER].present && v[LF_REMEMBER].b ? ACCOUNT_REMEMBER :
							  0) |
		(v[LF_COOKIE].present && v[LF_COOKIE].b ? ACCOUNT_COOKIE : 0),
	    req_user_agent(r), &u, &t);
	if (e == ERR_TOO_MANY_ATTEMPTS)
		r->retry_after = u.retry_after;
	count_signin(e,
	    t.mfa_token[0] != '\0' ? METRIC_SIGNIN_MFA_REQUIRED :
		t.restricted       ? METRIC_SIGNIN_MFA_ENROLLMENT :
				     METRIC_SIGNIN_OK);
	if (e != ERR_OK)
		return e;
	if (t.mfa_token[0] != '\0')
		return h_mfa_required(r, &t);
	/* A browser session: the tokens also travel as cookies. */
	return resp_login(r, 200, "Login successful", &t, &u,
	    v[LF_COOKIE].present && v[LF_COOKIE].b);
}

enum { FRT_TOKEN, FRT__MAX };
static const struct field refresh_fields[] = {
	[FRT_TOKEN] = { "refresh_token", F_STR, 0, ANY_TOKEN_LEN, NULL, 0 },
};
FIELDS(refresh_fields, FRT__MAX);

enum err
h_refresh(struct req *r)
{
	struct fval v[FRT__MAX];
	struct session_tokens t = { 0 };
	struct user u;
	char cookie[HTTP_COOKIE_VALUE_MAX];
	const char *rt;
	int k = 0;
	enum err e;

	if ((e = req_fields(r, refresh_fields, FRT__MAX, v)) != ERR_OK)
		return e;
	rt = v[FRT_TOKEN].present ? v[FRT_TOKEN].s : NULL;
	if (rt == NULL) {
		/* A browser session: the token is the latch_refresh cookie,
		 * and the request must prove it comes from our page. */
		if ((k = req_cookie(r, COOKIE_REFRESH, cookie,
			 sizeof(cookie))) == 0) {
			r->err_field = "refresh_token";
			return ERR_INVALID_FIELD;
		}
		if (k == -1)
			return ERR_INVALID_TOKEN;
		if ((e = req_csrf(r)) != ERR_OK)
			return e;
		rt = cookie;
	}
	if ((e = session_refresh(r->db, r->conf, req_actor(r), rt, &t, &u)) !=
	    ERR_OK)
		return e;
	return resp_login(r, 200, "Token refreshed", &t, &u, k == 1);
}

/*
 * The claims of c in the token's order.  With now (the principal just
 * read from the database), username, org, tenant_id and role are the
 * current ones instead of those signed into the token.
 */
static struct json_object *
claims_json(const struct jwt_claims *c, const struct principal *now)
{
	struct json_object *o = json_object_new_object();
	char sub[24];
	int64_t org = now != NULL ? now->org_id : c->org;

	(void)snprintf(sub, sizeof(sub), "%lld", (long long)c->sub);
	json_object_object_add(o, "iss", json_object_new_string(c->iss));
	json_object_object_add(o, "sub", json_object_new_string(sub));
	json_object_object_add(o, "username",
	    json_object_new_string(now != NULL ? now->username : c->username));
	json_object_object_add(o, "org", json_object_new_int64(org));
	json_object_object_add(o, "tenant_id", json_object_new_int64(org));
	json_object_object_add(o, "role",
	    json_object_new_string(
		now != NULL ? role_name(now->role) : c->role));
	json_object_object_add(o, "sid", json_object_new_int64(c->sid));
	json_object_object_add(o, "jti", json_object_new_string(c->jti));
	json_object_object_add(o, "iat", json_object_new_int64(c->iat));
	json_object_object_add(o, "exp", json_object_new_int64(c->exp));
	if (c->amr != 0) {
		struct json_object *amr = json_object_new_array();

		if (c->amr & JWT_AMR_PWD)
			json_object_array_add(amr,
			    json_object_new_string("pwd"));
		if (c->amr & JWT_AMR_OTP)
			json_object_array_add(amr,
			    json_object_new_string("otp"));
		json_object_object_add(o, "amr", amr);
	}
	return o;
}

/* What POST /auth/verify says of a valid API key. */
static struct json_object *
verified_key_json(const struct principal *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(p->key_id));
	json_object_object_add(o, "name", json_object_new_string(p->key_name));
	json_object_object_add(o, "role",
	    json_object_new_string(role_name(p->role)));
	json_object_object_add(o, "organizationId",
	    json_object_new_int64(p->org_id));
	return o;
}

enum { VF_TOKEN, VF__MAX };
static const struct field verify_fields[] = {
	[VF_TOKEN] = { "token", F_STR, 0, ANY_TOKEN_LEN, NULL, 0 },
};
FIELDS(verify_fields, VF__MAX);

enum err
h_verify(struct req *r)
{
	struct fval v[VF__MAX];
	struct json_object *o;
	const char *token, *bearer;
	enum err e = ERR_OK;

	if ((e = req_fields(r, verify_fields, VF__MAX, v)) != ERR_OK)
		return e;
	bearer = req_bearer(r);
	token = v[VF_TOKEN].present ? v[VF_TOKEN].s : bearer;
	/* A service that sends its API key has it checked first, even when
	 * it asks about a user's token: a revoked key is refused. */
	if (bearer != NULL && tok_apikey_is(bearer) && token != bearer)
		e = apikey_authenticate(r->db, bearer, req_ip(r), &r->p);
	if (e == ERR_OK)
		e = token == NULL || token[0] == '\0' ?
		    ERR_MISSING_TOKEN :
		    tok_apikey_is(token) ?
		    apikey_authenticate(r->db, token, req_ip(r), &r->p) :
		    session_authenticate(r->db, r->conf, token, &r->p, NULL);
	/* A session that may only enrol a second factor is good for
	 * nothing else, at any service. */
	if (e == ERR_OK && r->p.restricted)
		e = ERR_MFA_ENROLLMENT_REQUIRED;
	if (e != ERR_OK) {
		r->err_extra = json_object_new_object();
		json_object_object_add(r->err_extra, "valid",
		    json_object_new_boolean(0));
		return e;
	}
	o = resp_new(r->p.key_id != 0 ? "API key is valid" : "Token is valid");
	json_object_object_add(o, "valid", json_object_new_boolean(1));
	if (r->p.key_id != 0)
		json_object_object_add(o, "api_key", verified_key_json(&r->p));
	else {
		json_object_object_add(o, "claims",
		    claims_json(&r->p.claims, &r->p));
		json_object_object_add(o, "signed_claims",
		    claims_json(&r->p.claims, NULL));
	}
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { KF_TOKEN, KF__MAX };
static const struct field revoke_fields[] = {
	[KF_TOKEN] = { "token", F_STR, 1, ANY_TOKEN_LEN, NULL, 0 },
};
FIELDS(revoke_fields, KF__MAX);

enum err
h_revoke(struct req *r)
{
	struct fval v[KF__MAX];
	enum err e;

	if ((e = req_fields(r, revoke_fields, KF__MAX, v)) != ERR_OK)
		return e;
	if ((e = session_revoke_token(r->db, r->conf, v[KF_TOKEN].s)) != ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Token revoked"));
	return ERR_OK;
}

enum { OF_ALL, OF__MAX };
static const struct field logout_fields[] = {
	[OF_ALL] = { "all", F_BOOL, 0, 0, NULL, 0 },
};
FIELDS(logout_fields, OF__MAX);

enum err
h_logout(struct req *r)
{
	struct fval v[OF__MAX];
	enum err e;

	if ((e = req_fields(r, logout_fields, OF__MAX, v)) != ERR_OK ||
	    (e = account_logout(r->db, req_actor(r), r->p.sid,
		 v[OF_ALL].present && v[OF_ALL].b)) != ERR_OK)
		return e;
	/* Whoever signed in by cookie: the browser forgets them. */
	if ((e = resp_session_cookies(r, NULL)) != ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Logged out"));
	return ERR_OK;
}

struct list_ctx {
	struct json_object *arr;
	int64_t current;
};

static void
add_session(const struct session_info *s, void *arg)
{
	struct list_ctx *ctx = arg;
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(s->id));
	json_object_object_add(o, "createdAt", resp_time(s->created_at));
	json_object_object_add(o, "lastUsedAt", resp_time(s->last_used_at));
	json_object_object_add(o, "expiresAt", resp_time(s->expires_at));
	json_object_object_add(o, "userAgent",
	    json_object_new_string(s->user_agent));
	json_object_object_add(o, "ip", json_object_new_string(s->ip));
	json_object_object_add(o, "current",
	    json_object_new_boolean(s->id == ctx->current));
	json_object_array_add(ctx->arr, o);
}

enum err
h_sessions_list(struct req *r)
{
	struct list_ctx ctx;
	struct json_object *o;
	enum err e;

	ctx.arr = json_object_new_array();
	ctx.current = r->p.sid;
	if ((e = session_foreach(r->db, r->p.user_id, add_session, &ctx)) !=
	    ERR_OK) {
		json_object_put(ctx.arr);
		return e;
	}
	o = resp_new("Sessions");
	json_object_object_add(o, "sessions", ctx.arr);
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_sessions_delete(struct req *r)
{
	enum err e;

	if ((e = session_revoke(r->db, r->p.user_id, r->id)) != ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Session revoked"));
	return ERR_OK;
}
