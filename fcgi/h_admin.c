/*
 * h_admin.c: organization administration: /users, /invitations,
 * /organization, /audit.  The router lets only admins and superadmins in;
 * core/ decides which organization a call acts in (actor_scope()) and
 * whom the caller may act on: the handlers pass the organization a
 * request names (named_org()) with the caller.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "handlers.h"
#include "invite.h"
#include "member.h"
#include "mfa.h"
#include "notify.h"
#include "org.h"
#include "valid.h"

#define PER_PAGE_DEFAULT 20
#define PER_PAGE_MAX 100

int64_t
named_org(struct req *r, int64_t body_org)
{
	long long q = 0;

	if (req_query_int(r, "organization_id", 0, 1, INT64_MAX, &q) != ERR_OK)
		return ACTOR_ORG_BAD;
	return q > 0 ? q : body_org;
}

static enum err
paging(struct req *r, int64_t *limit, int64_t *offset)
{
	long long page, per;
	enum err e;

	if ((e = req_query_int(r, "page", 1, 1, 1000000, &page)) != ERR_OK ||
	    (e = req_query_int(r, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX,
		 &per)) != ERR_OK)
		return e;
	*limit = per;
	*offset = (page - 1) * per;
	return ERR_OK;
}

static int
valid_role(const char *s)
{
	return role_parse(s) >= 0;
}

static void
add_user(const struct user *u, void *arg)
{
	json_object_array_add(arg, resp_user(u));
}

enum err
h_users_list(struct req *r)
{
	char q[256], dis[8];
	int64_t want, org, limit, offset, total = 0;
	struct json_object *arr, *o;
	int disabled = -1, k;
	enum err e;

	/* The organization is judged before the other parameters
	 * (docs/api.md, GET /users); member_list() judges it again. */
	want = named_org(r, 0);
	if (want != 0 &&
	    (e = actor_scope(r->db, req_actor(r), want, &org)) != ERR_OK)
		return e;
	if ((e = paging(r, &limit, &offset)) != ERR_OK)
		return e;
	if ((k = req_query(r, "q", q, sizeof(q))) < 0) {
		r->err_field = "q";
		return ERR_INVALID_FIELD;
	} else if (k == 0)
		q[0] = '\0';
	if ((k = req_query(r, "disabled", dis, sizeof(dis))) != 0) {
		if (k > 0 && strcmp(dis, "true") == 0)
			disabled = 1;
		else if (k > 0 && strcmp(dis, "false") == 0)
			disabled = 0;
		else {
			r->err_field = "disabled";
			return ERR_INVALID_FIELD;
		}
	}
	arr = json_object_new_array();
	if ((e = member_list(r->db, req_actor(r), want, disabled, q, limit,
		 offset, &total, add_user, arr)) != ERR_OK) {
		json_object_put(arr);
		return e;
	}
	o = resp_new("Users");
	json_object_object_add(o, "users", arr);
	json_object_object_add(o, "total", json_object_new_int64(total));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { UC_USERNAME, UC_EMAIL, UC_PASSWORD, UC_NAME, UC_ROLE, UC_ORG, UC__MAX };
static const struct field user_create_fields[] = {
	[UC_USERNAME] = { "username", F_STR, 1, 64, valid_username, 0 },
	[UC_EMAIL] = { "email", F_STR, 1, 254, valid_email, 0 },
	[UC_PASSWORD] = { "password", F_STR, 1, 0, NULL, 1 },
	[UC_NAME] = { "name", F_STR, 0, 512, valid_name, 0 },
	[UC_ROLE] = { "role", F_STR, 0, 16, valid_role, 0 },
	[UC_ORG] = { "organizationId", F_INT, 0, 0, NULL, 0 },
};
FIELDS(user_create_fields, UC__MAX);

enum err
body_org(struct req *r, const struct fval *f, int64_t *org)
{
	*org = 0;
	if (!f->present)
		return ERR_OK;
	if (f->i <= 0) {
		r->err_field = "organizationId";
		return ERR_INVALID_FIELD;
	}
	*org = f->i;
	return ERR_OK;
}

enum err
h_users_create(struct req *r)
{
	struct fval v[UC__MAX];
	struct json_object *o;
	enum role role = ROLE_USER;
	struct user u;
	int64_t org;
	enum err e;

	if ((e = req_fields(r, user_create_fields, UC__MAX, v)) != ERR_OK ||
	    (e = body_org(r, &v[UC_ORG], &org)) != ERR_OK)
		return e;
	if (v[UC_ROLE].present)
		role = (enum role)role_parse(v[UC_ROLE].s);
	if ((e = member_create(r->db, r->conf, req_actor(r), named_org(r, org),
		 v[UC_USERNAME].s, v[UC_EMAIL].s,
		 v[UC_NAME].present ? v[UC_NAME].s : "", v[UC_PASSWORD].s, role,
		 &u)) != ERR_OK)
		return e;
	o = resp_new("User created");
	json_object_object_add(o, "user", resp_user(&u));
	resp_send(r, 201, o);
	return ERR_OK;
}

enum err
h_users_get(struct req *r)
{
	struct json_object *o;
	struct user u;
	enum err e;

	if ((e = member_get(r->db, req_actor(r), named_org(r, 0), r->id, &u)) !=
	    ERR_OK)
		return e;
	o = resp_new("User");
	json_object_object_add(o, "user", resp_user(&u));
	resp_send(r, 200, o);
	return ERR_OK;
}

/* Apply a change and answer with the user. */
static enum err
users_change(struct req *r, int64_t want, const struct member_patch *p,
    const char *msg)
{
	struct json_object *o;
	struct user after;
	enum err e;

	if ((e = member_update(r->db, r->conf, req_actor(r), want, r->id, p,
		 &after)) != ERR_OK)
		return e;
	o = resp_new(msg);
	json_object_object_add(o, "user", resp_user(&after));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { UP_NAME, UP_EMAIL, UP_ROLE, UP_DISABLED, UP_ORG, UP__MAX };
static const struct field user_patch_fields[] = {
	[UP_NAME] = { "name", F_STR, 0, 512, valid_name, 0 },
	[UP_EMAIL] = { "email", F_STR, 0, 254, valid_email, 0 },
	[UP_ROLE] = { "role", F_STR, 0, 16, valid_role, 0 },
	[UP_DISABLED] = { "disabled", F_BOOL, 0, 0, NULL, 0 },
	[UP_ORG] = { "organizationId", F_INT, 0, 0, NULL, 0 },
};
FIELDS(user_patch_fields, UP__MAX);

enum err
h_users_patch(struct req *r)
{
	struct fval v[UP__MAX];
	struct member_patch p = { NULL, NULL, -1, -1, 0 };
	enum err e;

	if ((e = req_fields(r, user_patch_fields, UP__MAX, v)) != ERR_OK ||
	    (e = body_org(r, &v[UP_ORG], &p.org)) != ERR_OK)
		return e;
	if (v[UP_NAME].present)
		p.name = v[UP_NAME].s;
	if (v[UP_EMAIL].present)
		p.email = v[UP_EMAIL].s;
	if (v[UP_ROLE].present)
		p.role = role_parse(v[UP_ROLE].s);
	if (v[UP_DISABLED].present)
		p.disabled = v[UP_DISABLED].b;
	return users_change(r, named_org(r, 0), &p, "User updated");
}

enum err
h_users_disable(struct req *r)
{
	struct member_patch p = { NULL, NULL, -1, 1, 0 };

	return users_change(r, named_org(r, 0), &p, "User disabled");
}

enum err
h_users_enable(struct req *r)
{
	struct member_patch p = { NULL, NULL, -1, 0, 0 };

	return users_change(r, named_org(r, 0), &p, "User enabled");
}

enum err
h_users_delete(struct req *r)
{
	enum err e;

	if ((e = member_delete(r->db, req_actor(r), named_org(r, 0), r->id)) !=
	    ERR_OK)
		return e;
	resp_send(r, 200, resp_new("User deleted"));
	return ERR_OK;
}

enum err
h_users_mfa_reset(struct req *r)
{
	enum err e;

	if ((e = mfa_reset(r->db, req_actor(r), named_org(r, 0), r->id)) !=
	    ERR_OK)
		return e;
	resp_send(r, 200,
	    resp_new("Two-factor sign-in reset; the user's "
		     "sessions have ended"));
	return ERR_OK;
}

void
h_inviter_name(const struct req *r, char *out, size_t outsz)
{
	/* ROUTE_ME: r->me was read with the session; a key has its name. */
	if (r->p.key_id != 0)
		(void)snprintf(out, outsz, "%s", r->p.key_name);
	else
		(void)snprintf(out, outsz, "%s",
		    r->me.name[0] != '\0' ? r->me.name : r->p.username);
}

struct json_object *
invite_json(const struct req *r, const struct invite *inv, const char *code)
{
	struct json_object *o = json_object_new_object();
	char url[2048];

	json_object_object_add(o, "id", json_object_new_int64(inv->id));
	if (code != NULL)
		json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "email", json_object_new_string(inv->email));
	json_object_object_add(o, "role",
	    json_object_new_string(role_name(inv->role)));
	if (inv->created_at > 0)
		json_object_object_add(o, "createdAt",
		    resp_time(inv->created_at));
	json_object_object_add(o, "expiresAt", resp_time(inv->expires_at));
	if (code != NULL) {
		if (notify_link(r->conf->invite_url, "code", code, url,
			sizeof(url)) == 0 &&
		    url[0] != '\0')
			json_object_object_add(o, "url",
			    json_object_new_string(url));
		else
			json_object_object_add(o, "url", NULL);
	} else
		json_object_object_add(o, "invitedBy",
		    inv->invited_by > 0 ?
			json_object_new_int64(inv->invited_by) :
			NULL);
	return o;
}

enum { IV_EMAIL, IV_ROLE, IV_SEND, IV_ORG, IV__MAX };
static const struct field invite_fields[] = {
	[IV_EMAIL] = { "email", F_STR, 1, 254, valid_email, 0 },
	[IV_ROLE] = { "role", F_STR, 0, 16, valid_role, 0 },
	[IV_SEND] = { "send_email", F_BOOL, 0, 0, NULL, 0 },
	[IV_ORG] = { "organizationId", F_INT, 0, 0, NULL, 0 },
};
FIELDS(invite_fields, IV__MAX);

enum err
h_invitations_create(struct req *r)
{
	char code[TOK_STR_SIZE], inviter[600];
	struct fval v[IV__MAX];
	struct json_object *o;
	enum role role = ROLE_USER;
	struct invite inv;
	int64_t org;
	enum err e;

	if ((e = req_fields(r, invite_fields, IV__MAX, v)) != ERR_OK ||
	    (e = body_org(r, &v[IV_ORG], &org)) != ERR_OK)
		return e;
	if (v[IV_ROLE].present)
		role = (enum role)role_parse(v[IV_ROLE].s);
	h_inviter_name(r, inviter, sizeof(inviter));
	e = invite_create(r->db, r->conf, req_actor(r), named_org(r, org),
	    v[IV_EMAIL].s, role,
	    !v[IV_SEND].present || v[IV_SEND].b ? inviter : NULL, code, &inv);
	if (e == ERR_TOO_MANY_REQUESTS)
		r->retry_after = inv.retry_after;
	if (e != ERR_OK)
		return e;
	o = resp_new("Invitation created");
	json_object_object_add(o, "invitation", invite_json(r, &inv, code));
	tok_cleanse(code, sizeof(code));
	resp_send(r, 201, o);
	return ERR_OK;
}

struct invite_ctx {
	const struct req *r;
	struct json_object *arr;
};

static void
add_invite(const struct invite *inv, void *arg)
{
	struct invite_ctx *ctx = arg;

	json_object_array_add(ctx->arr, invite_json(ctx->r, inv, NULL));
}

enum err
h_invitations_list(struct req *r)
{
	struct invite_ctx ctx;
	struct json_object *o;
	enum err e;

	ctx.r = r;
	ctx.arr = json_object_new_array();
	if ((e = invite_foreach(r->db, req_actor(r), named_org(r, 0),
		 add_invite, &ctx)) != ERR_OK) {
		json_object_put(ctx.arr);
		return e;
	}
	o = resp_new("Invitations");
	json_object_object_add(o, "invitations", ctx.arr);
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_invitations_delete(struct req *r)
{
	enum err e;

	if ((e = invite_revoke(r->db, req_actor(r), named_org(r, 0), r->id)) !=
	    ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Invitation revoked"));
	return ERR_OK;
}

enum err
h_invitations_resend(struct req *r)
{
	char code[TOK_STR_SIZE], inviter[600];
	struct json_object *o;
	struct invite inv;
	enum err e;

	h_inviter_name(r, inviter, sizeof(inviter));
	e = invite_resend(r->db, r->conf, req_actor(r), named_org(r, 0), r->id,
	    inviter, code, &inv);
	tok_cleanse(code, sizeof(code));
	if (e == ERR_TOO_MANY_REQUESTS)
		r->retry_after = inv.retry_after;
	if (e != ERR_OK)
		return e;
	o = resp_new("Invitation sent again");
	json_object_object_add(o, "invitation", invite_json(r, &inv, NULL));
	resp_send(r, 200, o);
	return ERR_OK;
}

struct json_object *
org_json(const struct org *g)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(g->id));
	json_object_object_add(o, "name", json_object_new_string(g->name));
	json_object_object_add(o, "description",
	    json_object_new_string(g->description));
	json_object_object_add(o, "createdAt", resp_time(g->created_at));
	json_object_object_add(o, "userCount",
	    json_object_new_int64(g->user_count));
	json_object_object_add(o, "requireMfa",
	    json_object_new_string(g->require_mfa));
	return o;
}

enum err
h_organization_get(struct req *r)
{
	struct json_object *o;
	struct org g;
	enum err e;

	if ((e = org_get_in(r->db, req_actor(r), named_org(r, 0), &g)) !=
	    ERR_OK)
		return e;
	o = resp_new("Organization");
	json_object_object_add(o, "organization", org_json(&g));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { OP_NAME, OP_DESCRIPTION, OP_REQUIRE_MFA, OP__MAX };
static const struct field org_patch_fields[] = {
	[OP_NAME] = { "name", F_STR, 0, 512, valid_org_name, 0 },
	[OP_DESCRIPTION] = { "description", F_STR, 0, 4096, valid_description,
	    0 },
	[OP_REQUIRE_MFA] = { "require_mfa", F_STR, 0, 8, org_mfa_policy_ok, 0 },
};
FIELDS(org_patch_fields, OP__MAX);

/* PATCH /organization and PATCH /organizations/{id}. */
enum err
h_org_patch(struct req *r, int64_t want)
{
	struct fval v[OP__MAX];
	struct json_object *o;
	struct org g;
	enum err e;

	if ((e = req_fields(r, org_patch_fields, OP__MAX, v)) != ERR_OK ||
	    (e = org_update_mfa(r->db, req_actor(r), want,
		 v[OP_NAME].present ? v[OP_NAME].s : NULL,
		 v[OP_DESCRIPTION].present ? v[OP_DESCRIPTION].s : NULL,
		 v[OP_REQUIRE_MFA].present ? v[OP_REQUIRE_MFA].s : NULL, &g)) !=
		ERR_OK)
		return e;
	o = resp_new("Organization updated");
	json_object_object_add(o, "organization", org_json(&g));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_organization_patch(struct req *r)
{
	return h_org_patch(r, named_org(r, 0));
}

static void
add_event(const struct audit_entry *en, void *arg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(en->id));
	json_object_object_add(o, "at", resp_time(en->at));
	json_object_object_add(o, "event", json_object_new_string(en->event));
	json_object_object_add(o, "actorId",
	    en->actor > 0 ? json_object_new_int64(en->actor) : NULL);
	json_object_object_add(o, "apiKeyId",
	    en->key > 0 ? json_object_new_int64(en->key) : NULL);
	json_object_object_add(o, "targetId",
	    en->target > 0 ? json_object_new_int64(en->target) : NULL);
	json_object_object_add(o, "ip", json_object_new_string(en->ip));
	json_object_object_add(o, "detail", json_object_new_string(en->detail));
	json_object_array_add(arg, o);
}

enum err
h_audit(struct req *r)
{
	char ev[40];
	struct json_object *arr, *o;
	int64_t limit, offset, total = 0;
	int k;
	enum err e;

	if ((e = paging(r, &limit, &offset)) != ERR_OK)
		return e;
	if ((k = req_query(r, "event", ev, sizeof(ev))) < 0 ||
	    (k > 0 && !audit_known(ev))) {
		r->err_field = "event";
		return ERR_INVALID_FIELD;
	} else if (k == 0)
		ev[0] = '\0';
	arr = json_object_new_array();
	if ((e = audit_list(r->db, req_actor(r), named_org(r, 0), ev, limit,
		 offset, &total, add_event, arr)) != ERR_OK) {
		json_object_put(arr);
		return e;
	}
	o = resp_new("Audit events");
	json_object_object_add(o, "events", arr);
	json_object_object_add(o, "total", json_object_new_int64(total));
	resp_send(r, 200, o);
	return ERR_OK;
}
