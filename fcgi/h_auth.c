/*
 * h_auth.c: /auth/...: register, login, refresh, verify, revoke, logout,
 * sessions.
 */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "log.h"
#include "org.h"
#include "valid.h"

enum err
h_register(struct req *r)
{
	if (!r->conf->allow_new_organizations)
		return ERR_REGISTRATION_CLOSED;
	return h_register_org(r, 0);
}

static const struct field login_fields[] = {
	{ "identifier", F_STR, 1, 254, NULL, 0 },
	{ "password", F_STR, 1, 1024, NULL, 0 },
	{ "remember_me", F_BOOL, 0, 0, NULL, 0 },
};

enum err
h_login(struct req *r)
{
	struct fval v[3];
	struct session_tokens t;
	struct json_object *o;
	struct user u;
	enum err e;

	if ((e = req_fields(r, login_fields, 3, v)) != ERR_OK)
		return e;
	e = user_authenticate(r->db, r->conf, v[0].s, v[1].s, &u);
	if (e == ERR_INVALID_CREDENTIALS || e == ERR_ACCOUNT_DISABLED)
		log_info("auth: sign-in refused (%s) from %s",
		    e == ERR_ACCOUNT_DISABLED ? "disabled" : "credentials",
		    req_ip(r));
	if (e != ERR_OK)
		return e;
	if ((e = session_start(r->db, r->conf, &u, v[2].present && v[2].b,
	    req_user_agent(r), req_ip(r), &t)) != ERR_OK)
		return e;
	o = resp_new("Login successful");
	resp_tokens(o, &t, &u);
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field refresh_fields[] = {
	{ "refresh_token", F_STR, 1, 128, NULL, 0 },
};

enum err
h_refresh(struct req *r)
{
	struct fval v[1];
	struct session_tokens t;
	struct json_object *o;
	struct user u;
	int64_t reused = 0;
	enum err e;

	if ((e = req_fields(r, refresh_fields, 1, v)) != ERR_OK)
		return e;
	e = session_refresh(r->db, r->conf, v[0].s, &t, &u, &reused);
	if (e != ERR_OK)
		return e;
	o = resp_new("Token refreshed");
	resp_tokens(o, &t, &u);
	resp_send(r, 200, o);
	return ERR_OK;
}

static struct json_object *
claims_json(const struct jwt_claims *c)
{
	struct json_object *o = json_object_new_object();
	char sub[24];

	(void)snprintf(sub, sizeof(sub), "%lld", (long long)c->sub);
	json_object_object_add(o, "iss", json_object_new_string(c->iss));
	json_object_object_add(o, "sub", json_object_new_string(sub));
	json_object_object_add(o, "username",
	    json_object_new_string(c->username));
	json_object_object_add(o, "org", json_object_new_int64(c->org));
	json_object_object_add(o, "tenant_id", json_object_new_int64(c->org));
	json_object_object_add(o, "role", json_object_new_string(c->role));
	json_object_object_add(o, "sid", json_object_new_int64(c->sid));
	json_object_object_add(o, "jti", json_object_new_string(c->jti));
	json_object_object_add(o, "iat", json_object_new_int64(c->iat));
	json_object_object_add(o, "exp", json_object_new_int64(c->exp));
	return o;
}

static const struct field verify_fields[] = {
	{ "token", F_STR, 0, JWT_MAX_LEN, NULL, 0 },
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
		e = session_authenticate(r->db, r->conf, token, &r->p);
	if (e != ERR_OK) {
		r->err_extra = json_object_new_object();
		json_object_object_add(r->err_extra, "valid",
		    json_object_new_boolean(0));
		return e;
	}
	o = resp_new("Token is valid");
	json_object_object_add(o, "valid", json_object_new_boolean(1));
	json_object_object_add(o, "claims", claims_json(&r->p.claims));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field revoke_fields[] = {
	{ "token", F_STR, 1, JWT_MAX_LEN, NULL, 0 },
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
