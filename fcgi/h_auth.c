/*
 * h_auth.c: /auth/...: register, login, refresh, verify, revoke, logout,
 * sessions.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "handlers.h"
#include "invite.h"
#include "limit.h"
#include "log.h"
#include "org.h"
#include "reset.h"
#include "valid.h"

static const struct field invited_fields[] = {
	{ "invitation_code", F_STR, 1, 256, NULL, 0 },
	{ "username", F_STR, 1, 64, valid_username, 0 },
	{ "password", F_STR, 1, 0, NULL, 1 },
	{ "name", F_STR, 0, 512, valid_name, 0 },
	{ "cookie", F_BOOL, 0, 0, NULL, 0 },
};

/* POST /auth/register with an invitation code. */
static enum err
register_invited(struct req *r)
{
	struct fval v[5];
	struct session_tokens t;
	struct invite inv;
	struct user u;
	int64_t uid;
	enum err e;

	if ((e = req_fields(r, invited_fields, 5, v)) != ERR_OK)
		return e;
	if ((e = invite_accept(r->db, r->conf, v[0].s, v[1].s,
	    v[3].present ? v[3].s : "", v[2].s, &uid, &inv)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_INVITATION_ACCEPT, inv.org_id, uid,
	    inv.id, req_ip(r), NULL);
	if ((e = user_get(r->db, uid, &u)) != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_DB : e;
	if ((e = session_start(r->db, r->conf, &u, 0, req_user_agent(r),
	    req_ip(r), &t)) != ERR_OK)
		return e;
	return resp_login(r, 201, "Registration successful", &t, &u,
	    v[4].present && v[4].b);
}

enum err
h_register(struct req *r)
{
	struct json_object *code;

	if (json_object_object_get_ex(r->body, "invitation_code", &code) &&
	    !json_object_is_type(code, json_type_null))
		return register_invited(r);
	if (!r->conf->allow_new_organizations)
		return ERR_REGISTRATION_CLOSED;
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

static const struct field forgot_fields[] = {
	{ "email", F_STR, 1, 254, valid_email, 0 },
};

/*
 * The work of POST /auth/password/forgot, after its answer: whether the
 * address has an account shows in what is done here (a token, a mail, a
 * commit), so none of it may delay the answer.  A failure is logged and
 * nothing else: no one waits for it, and asking again is the remedy.
 */
static void
forgot_later(struct req *r, const char *email, const char *ip)
{
	const char *what = "queued";
	struct user u;
	enum err e;

	memset(&u, 0, sizeof(u));
	e = reset_request(r->db, r->conf, email, &u);
	if (e == ERR_TOO_MANY_REQUESTS) {
		char key[24];

		(void)snprintf(key, sizeof(key), "%lld", (long long)u.id);
		limit_log_refused("mail", key, u.retry_after, ip);
		what = "mail limit";
	} else if (e == ERR_NOT_FOUND)
		what = "no active account";
	else if (e == ERR_UNKNOWN) {
		log_warnx("auth: password reset: the outcome is unknown; the "
		    "mail goes out if the token was stored");
		what = "unknown";
	} else if (e != ERR_OK) {
		log_warnx("auth: password reset mail not queued (%s)",
		    e == ERR_DB ? "database" : e == ERR_MAIL ? "spool" :
		    "internal error");
		what = "failed";
	}
	log_info("auth: password forgot: done (%s)", what);
}

enum err
h_password_forgot(struct req *r)
{
	struct fval v[1];
	enum err e;

	if ((e = req_fields(r, forgot_fields, 1, v)) != ERR_OK)
		return e;
	/* The answer tells nothing, not even by its time: it goes first. */
	if ((e = req_defer(r, forgot_later, v[0].s)) != ERR_OK)
		return e;
	resp_send(r, 202, resp_new("If the account exists, a reset mail is "
	    "on its way"));
	return ERR_OK;
}

static const struct field reset_fields[] = {
	{ "token", F_STR, 1, 256, NULL, 0 },
	{ "password", F_STR, 1, 0, NULL, 1 },
};

enum err
h_password_reset(struct req *r)
{
	struct fval v[2];
	struct user u;
	int64_t uid;
	enum err e;

	r->err_field = NULL;
	if ((e = req_fields(r, reset_fields, 2, v)) != ERR_OK)
		return e;
	if ((e = reset_perform(r->db, r->conf, v[0].s, v[1].s, &uid)) !=
	    ERR_OK)
		return e;
	if (user_get(r->db, uid, &u) == ERR_OK)
		(void)audit_log(r->db, AUDIT_PASSWORD_RESET, u.org_id, uid, uid,
		    req_ip(r), NULL);
	resp_send(r, 200, resp_new("Password reset; every session was "
	    "signed out"));
	return ERR_OK;
}

/* Any string: a token too long to be ours is invalid_token, not a
 * field error (the body limit bounds it). */
#define ANY_TOKEN_LEN (1024 * 1024)

static const struct field login_fields[] = {
	{ "identifier", F_STR, 1, 254, NULL, 0 },
	{ "password", F_STR, 1, 1024, NULL, 0 },
	{ "remember_me", F_BOOL, 0, 0, NULL, 0 },
	{ "cookie", F_BOOL, 0, 0, NULL, 0 },
};

enum err
h_login(struct req *r)
{
	struct fval v[4];
	struct session_tokens t;
	struct user u;
	enum err e;

	if ((e = req_fields(r, login_fields, 4, v)) != ERR_OK)
		return e;
	memset(&u, 0, sizeof(u));
	e = user_authenticate(r->db, r->conf, v[0].s, v[1].s, &u);
	if (e == ERR_TOO_MANY_ATTEMPTS) {
		char key[24];

		(void)snprintf(key, sizeof(key), "%lld", (long long)u.id);
		r->retry_after = u.retry_after;
		limit_log_refused("account", u.id > 0 ? key : "unknown",
		    u.retry_after, req_ip(r));
	}
	if (e == ERR_INVALID_CREDENTIALS || e == ERR_ACCOUNT_DISABLED) {
		log_info("auth: sign-in refused (%s) from %s",
		    e == ERR_ACCOUNT_DISABLED ? "disabled" : "credentials",
		    req_ip(r));
		/* The actor is the account named, when it exists. */
		(void)audit_log(r->db, AUDIT_LOGIN_FAILURE, u.org_id, u.id,
		    u.id, req_ip(r), e == ERR_ACCOUNT_DISABLED ? "disabled" :
		    "invalid credentials");
	}
	if (e != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_LOGIN_SUCCESS, u.org_id, u.id, u.id,
	    req_ip(r), NULL);
	if ((e = session_start(r->db, r->conf, &u, v[2].present && v[2].b,
	    req_user_agent(r), req_ip(r), &t)) != ERR_OK)
		return e;
	/* A browser session: the tokens also travel as cookies. */
	return resp_login(r, 200, "Login successful", &t, &u,
	    v[3].present && v[3].b);
}

static const struct field refresh_fields[] = {
	{ "refresh_token", F_STR, 0, ANY_TOKEN_LEN, NULL, 0 },
};

enum err
h_refresh(struct req *r)
{
	struct fval v[1];
	struct session_tokens t;
	struct user u;
	char cookie[HTTP_COOKIE_VALUE_MAX];
	const char *rt;
	int64_t reused = 0;
	int k = 0;
	enum err e;

	if ((e = req_fields(r, refresh_fields, 1, v)) != ERR_OK)
		return e;
	rt = v[0].present ? v[0].s : NULL;
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
	memset(&u, 0, sizeof(u));
	e = session_refresh(r->db, r->conf, rt, &t, &u, &reused);
	if (reused > 0)
		(void)audit_log(r->db, AUDIT_REFRESH_REUSE, u.org_id, u.id, u.id,
		    req_ip(r), "session revoked");
	if (e != ERR_OK)
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
	json_object_object_add(o, "username", json_object_new_string(
	    now != NULL ? now->username : c->username));
	json_object_object_add(o, "org", json_object_new_int64(org));
	json_object_object_add(o, "tenant_id", json_object_new_int64(org));
	json_object_object_add(o, "role", json_object_new_string(
	    now != NULL ? role_name(now->role) : c->role));
	json_object_object_add(o, "sid", json_object_new_int64(c->sid));
	json_object_object_add(o, "jti", json_object_new_string(c->jti));
	json_object_object_add(o, "iat", json_object_new_int64(c->iat));
	json_object_object_add(o, "exp", json_object_new_int64(c->exp));
	return o;
}

static const struct field verify_fields[] = {
	{ "token", F_STR, 0, ANY_TOKEN_LEN, NULL, 0 },
};

enum err
h_verify(struct req *r)
{
	struct fval v[1];
	struct json_object *o;
	const char *token;
	enum err e;

	if ((e = req_fields(r, verify_fields, 1, v)) != ERR_OK)
		return e;
	token = v[0].present ? v[0].s : req_bearer(r);
	if (token == NULL || token[0] == '\0')
		e = ERR_MISSING_TOKEN;
	else
		e = session_authenticate(r->db, r->conf, token, &r->p, NULL);
	if (e != ERR_OK) {
		r->err_extra = json_object_new_object();
		json_object_object_add(r->err_extra, "valid",
		    json_object_new_boolean(0));
		return e;
	}
	o = resp_new("Token is valid");
	json_object_object_add(o, "valid", json_object_new_boolean(1));
	json_object_object_add(o, "claims", claims_json(&r->p.claims, &r->p));
	json_object_object_add(o, "signed_claims",
	    claims_json(&r->p.claims, NULL));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field revoke_fields[] = {
	{ "token", F_STR, 1, ANY_TOKEN_LEN, NULL, 0 },
};

enum err
h_revoke(struct req *r)
{
	struct fval v[1];
	enum err e;

	if ((e = req_fields(r, revoke_fields, 1, v)) != ERR_OK)
		return e;
	if ((e = session_revoke_token(r->db, r->conf, v[0].s)) != ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Token revoked"));
	return ERR_OK;
}

static const struct field logout_fields[] = {
	{ "all", F_BOOL, 0, 0, NULL, 0 },
};

enum err
h_logout(struct req *r)
{
	struct fval v[1];
	enum err e;

	if ((e = req_fields(r, logout_fields, 1, v)) != ERR_OK)
		return e;
	if (v[0].present && v[0].b)
		e = session_revoke_user(r->db, r->p.user_id, 0);
	else if ((e = session_revoke(r->db, r->p.user_id, r->p.sid)) ==
	    ERR_NOT_FOUND)
		e = ERR_OK; /* expired meanwhile: logged out all the same */
	if (e != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_LOGOUT, r->p.org_id, r->p.user_id,
	    r->p.user_id, req_ip(r), v[0].present && v[0].b ? "all" : NULL);
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
