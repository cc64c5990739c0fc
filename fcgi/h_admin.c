/*
 * h_admin.c: organization administration: /users, /invitations,
 * /organization, /audit.  The router lets only admins and superadmins in;
 * scope() decides which organization a call acts in, and every core call
 * is scoped by it.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "email.h"
#include "handlers.h"
#include "invite.h"
#include "limit.h"
#include "notify.h"
#include "org.h"
#include "valid.h"

#define PER_PAGE_DEFAULT 20
#define PER_PAGE_MAX 100

/*
 * The organization of this call: an admin's own; a superadmin's own, or
 * ?organization_id=N, or (when body_org > 0) organizationId of the body;
 * the query parameter wins.  A superadmin naming a missing organization
 * gets ERR_NOT_FOUND.
 */
static enum err
scope(struct req *r, int64_t body_org, int64_t *org)
{
	long long q = 0;
	struct org o;
	enum err e;

	*org = r->p.org_id;
	if (r->p.role != ROLE_SUPERADMIN)
		return ERR_OK;
	if ((e = req_query_int(r, "organization_id", 0, 1, INT64_MAX, &q)) !=
	    ERR_OK)
		return e;
	if (q > 0)
		*org = q;
	else if (body_org > 0)
		*org = body_org;
	else
		return ERR_OK;
	return org_get(r->db, *org, &o);
}

static enum err
paging(struct req *r, int64_t *limit, int64_t *offset)
{
	long long page, per;
	enum err e;

	if ((e = req_query_int(r, "page", 1, 1, 1000000, &page)) != ERR_OK ||
	    (e = req_query_int(r, "per_page", PER_PAGE_DEFAULT, 1,
	    PER_PAGE_MAX, &per)) != ERR_OK)
		return e;
	*limit = per;
	*offset = (page - 1) * per;
	return ERR_OK;
}

/* An admin may not touch a superadmin nor make one. */
static enum err
may_act_on(const struct req *r, enum role target)
{
	if (r->p.role != ROLE_SUPERADMIN && target == ROLE_SUPERADMIN)
		return ERR_FORBIDDEN;
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
	int64_t org, limit, offset, total = 0;
	struct json_object *arr, *o;
	int disabled = -1, k;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK || (e = paging(r, &limit,
	    &offset)) != ERR_OK)
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
	if ((e = user_list(r->db, org, disabled, q, limit, offset, &total,
	    add_user, arr)) != ERR_OK) {
		json_object_put(arr);
		return e;
	}
	o = resp_new("Users");
	json_object_object_add(o, "users", arr);
	json_object_object_add(o, "total", json_object_new_int64(total));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field user_create_fields[] = {
	{ "username", F_STR, 1, 64, valid_username, 0 },
	{ "email", F_STR, 1, 254, valid_email, 0 },
	{ "password", F_STR, 1, 0, NULL, 1 },
	{ "name", F_STR, 0, 512, valid_name, 0 },
	{ "role", F_STR, 0, 16, valid_role, 0 },
	{ "organizationId", F_INT, 0, 0, NULL, 0 },
};
enum { UC_USERNAME, UC_EMAIL, UC_PASSWORD, UC_NAME, UC_ROLE, UC_ORG, UC__MAX };

enum err
h_users_create(struct req *r)
{
	struct fval v[UC__MAX];
	struct json_object *o;
	enum role role = ROLE_USER;
	struct user u;
	int64_t org, id;
	enum err e;

	if ((e = req_fields(r, user_create_fields, UC__MAX, v)) != ERR_OK)
		return e;
	if (v[UC_ORG].present && v[UC_ORG].i <= 0) {
		r->err_field = "organizationId";
		return ERR_INVALID_FIELD;
	}
	if (v[UC_ROLE].present)
		role = (enum role)role_parse(v[UC_ROLE].s);
	if ((e = may_act_on(r, role)) != ERR_OK ||
	    (e = scope(r, v[UC_ORG].present ? v[UC_ORG].i : 0, &org)) != ERR_OK)
		return e;
	if ((e = user_create(r->db, r->conf, org, v[UC_USERNAME].s,
	    v[UC_EMAIL].s, v[UC_NAME].present ? v[UC_NAME].s : "",
	    v[UC_PASSWORD].s, role, &id)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_USER_CREATE, org, r->p.user_id, id,
	    req_ip(r), role_name(role));
	if ((e = user_get_in(r->db, org, id, &u)) != ERR_OK)
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
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK ||
	    (e = user_get_in(r->db, org, r->id, &u)) != ERR_OK)
		return e;
	o = resp_new("User");
	json_object_object_add(o, "user", resp_user(&u));
	resp_send(r, 200, o);
	return ERR_OK;
}

/* Apply a change, audit what changed, answer with the user. */
static enum err
users_change(struct req *r, int64_t org, const struct user_patch *p,
    const char *msg)
{
	struct user_patch q = *p;
	struct user before, after;
	struct json_object *o;
	enum err e;

	if ((e = user_get_in(r->db, org, r->id, &before)) != ERR_OK ||
	    (e = may_act_on(r, before.role)) != ERR_OK)
		return e;
	q.actor = r->p.user_id;
	if ((e = user_admin_update(r->db, r->conf, org, r->id, &q, &before,
	    &after)) != ERR_OK)
		return e;
	if (before.role != after.role)
		(void)audit_log(r->db, AUDIT_ROLE_CHANGE, org, r->p.user_id,
		    r->id, req_ip(r), role_name(after.role));
	if (before.disabled != after.disabled)
		(void)audit_log(r->db, after.disabled ? AUDIT_USER_DISABLE :
		    AUDIT_USER_ENABLE, org, r->p.user_id, r->id, req_ip(r),
		    NULL);
	if (p->name != NULL || p->email != NULL)
		(void)audit_log(r->db, AUDIT_USER_UPDATE, org, r->p.user_id,
		    r->id, req_ip(r), NULL);
	if (!email_same(before.email, after.email))
		(void)audit_log(r->db, AUDIT_EMAIL_CHANGE, org, r->p.user_id,
		    r->id, req_ip(r), after.email);
	o = resp_new(msg);
	json_object_object_add(o, "user", resp_user(&after));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field user_patch_fields[] = {
	{ "name", F_STR, 0, 512, valid_name, 0 },
	{ "email", F_STR, 0, 254, valid_email, 0 },
	{ "role", F_STR, 0, 16, valid_role, 0 },
	{ "disabled", F_BOOL, 0, 0, NULL, 0 },
};

enum err
h_users_patch(struct req *r)
{
	struct fval v[4];
	struct user_patch p = { NULL, NULL, -1, -1, 0 };
	int64_t org;
	enum err e;

	if ((e = req_fields(r, user_patch_fields, 4, v)) != ERR_OK ||
	    (e = scope(r, 0, &org)) != ERR_OK)
		return e;
	if (v[0].present)
		p.name = v[0].s;
	if (v[1].present)
		p.email = v[1].s;
	if (v[2].present) {
		p.role = role_parse(v[2].s);
		if ((e = may_act_on(r, (enum role)p.role)) != ERR_OK)
			return e;
	}
	if (v[3].present)
		p.disabled = v[3].b;
	return users_change(r, org, &p, "User updated");
}

enum err
h_users_disable(struct req *r)
{
	struct user_patch p = { NULL, NULL, -1, 1, 0 };
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK)
		return e;
	return users_change(r, org, &p, "User disabled");
}

enum err
h_users_enable(struct req *r)
{
	struct user_patch p = { NULL, NULL, -1, 0, 0 };
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK)
		return e;
	return users_change(r, org, &p, "User enabled");
}

enum err
h_users_delete(struct req *r)
{
	struct user u;
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK ||
	    (e = user_get_in(r->db, org, r->id, &u)) != ERR_OK ||
	    (e = may_act_on(r, u.role)) != ERR_OK ||
	    (e = user_admin_delete(r->db, org, r->id, &u)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_USER_DELETE, org, r->p.user_id, r->id,
	    req_ip(r), u.username);
	resp_send(r, 200, resp_new("User deleted"));
	return ERR_OK;
}

/* The inviter's display name for the mail: name, else username. */
static void
inviter_name(const struct req *r, char *out, size_t outsz)
{
	/* ROUTE_ME: r->me was read with the session. */
	(void)snprintf(out, outsz, "%s", r->me.name[0] != '\0' ? r->me.name :
	    r->p.username);
}

static struct json_object *
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
		    sizeof(url)) == 0 && url[0] != '\0')
			json_object_object_add(o, "url",
			    json_object_new_string(url));
		else
			json_object_object_add(o, "url", NULL);
	} else
		json_object_object_add(o, "invitedBy", inv->invited_by > 0 ?
		    json_object_new_int64(inv->invited_by) : NULL);
	return o;
}

/* An invitation mail refused by [mail] min_interval: 429 and a log line. */
static void
mail_refused(struct req *r, int retry_after)
{
	char key[24];

	(void)snprintf(key, sizeof(key), "%lld", (long long)r->p.user_id);
	r->retry_after = retry_after;
	limit_log_refused("mail", key, retry_after, req_ip(r));
}

/* Create an invitation and answer 201: POST /invitations and the admin
 * invitation of POST /organizations. */
enum err
h_invite(struct req *r, int64_t org, const char *email, enum role role,
    int send, struct json_object *root)
{
	char code[TOK_STR_SIZE], inviter[600];
	struct invite inv;
	enum err e;

	inviter_name(r, inviter, sizeof(inviter));
	if ((e = invite_create(r->db, r->conf, org, email, role, r->p.user_id,
	    send ? inviter : NULL, code, &inv)) != ERR_OK) {
		if (e == ERR_TOO_MANY_REQUESTS)
			mail_refused(r, inv.retry_after);
		json_object_put(root);
		return e;
	}
	(void)audit_log(r->db, AUDIT_INVITATION_CREATE, org, r->p.user_id,
	    inv.id, req_ip(r), email);
	json_object_object_add(root, "invitation", invite_json(r, &inv, code));
	tok_cleanse(code, sizeof(code));
	resp_send(r, 201, root);
	return ERR_OK;
}

static const struct field invite_fields[] = {
	{ "email", F_STR, 1, 254, valid_email, 0 },
	{ "role", F_STR, 0, 16, valid_role, 0 },
	{ "send_email", F_BOOL, 0, 0, NULL, 0 },
	{ "organizationId", F_INT, 0, 0, NULL, 0 },
};

enum err
h_invitations_create(struct req *r)
{
	struct fval v[4];
	enum role role = ROLE_USER;
	int64_t org;
	enum err e;

	if ((e = req_fields(r, invite_fields, 4, v)) != ERR_OK)
		return e;
	if (v[3].present && v[3].i <= 0) {
		r->err_field = "organizationId";
		return ERR_INVALID_FIELD;
	}
	if (v[1].present)
		role = (enum role)role_parse(v[1].s);
	if ((e = may_act_on(r, role)) != ERR_OK ||
	    (e = scope(r, v[3].present ? v[3].i : 0, &org)) != ERR_OK)
		return e;
	return h_invite(r, org, v[0].s, role, !v[2].present || v[2].b,
	    resp_new("Invitation created"));
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
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK)
		return e;
	ctx.r = r;
	ctx.arr = json_object_new_array();
	if ((e = invite_foreach(r->db, org, add_invite, &ctx)) != ERR_OK) {
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
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK ||
	    (e = invite_revoke(r->db, org, r->id)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_INVITATION_REVOKE, org, r->p.user_id,
	    r->id, req_ip(r), NULL);
	resp_send(r, 200, resp_new("Invitation revoked"));
	return ERR_OK;
}

enum err
h_invitations_resend(struct req *r)
{
	char code[TOK_STR_SIZE], inviter[600];
	struct json_object *o;
	struct invite inv;
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK)
		return e;
	inviter_name(r, inviter, sizeof(inviter));
	if ((e = invite_resend(r->db, r->conf, org, r->id, inviter, code,
	    &inv)) != ERR_OK) {
		if (e == ERR_TOO_MANY_REQUESTS)
			mail_refused(r, inv.retry_after);
		return e;
	}
	tok_cleanse(code, sizeof(code));
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
	return o;
}

enum err
h_organization_get(struct req *r)
{
	struct json_object *o;
	struct org g;
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK ||
	    (e = org_get(r->db, org, &g)) != ERR_OK)
		return e;
	o = resp_new("Organization");
	json_object_object_add(o, "organization", org_json(&g));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field org_patch_fields[] = {
	{ "name", F_STR, 0, 512, valid_org_name, 0 },
	{ "description", F_STR, 0, 4096, valid_description, 0 },
};

/* PATCH /organization and PATCH /organizations/{id}. */
enum err
h_org_patch(struct req *r, int64_t org)
{
	struct fval v[2];
	struct json_object *o;
	struct org g;
	enum err e;

	if ((e = req_fields(r, org_patch_fields, 2, v)) != ERR_OK ||
	    (e = org_update(r->db, org, v[0].present ? v[0].s : NULL,
	    v[1].present ? v[1].s : NULL, &g)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_ORG_UPDATE, org, r->p.user_id, org,
	    req_ip(r), NULL);
	o = resp_new("Organization updated");
	json_object_object_add(o, "organization", org_json(&g));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_organization_patch(struct req *r)
{
	int64_t org;
	enum err e;

	if ((e = scope(r, 0, &org)) != ERR_OK)
		return e;
	return h_org_patch(r, org);
}

static void
add_event(const struct audit_entry *en, void *arg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(en->id));
	json_object_object_add(o, "at", resp_time(en->at));
	json_object_object_add(o, "event", json_object_new_string(en->event));
	json_object_object_add(o, "actorId", en->actor > 0 ?
	    json_object_new_int64(en->actor) : NULL);
	json_object_object_add(o, "targetId", en->target > 0 ?
	    json_object_new_int64(en->target) : NULL);
	json_object_object_add(o, "ip", json_object_new_string(en->ip));
	json_object_object_add(o, "detail", json_object_new_string(en->detail));
	json_object_array_add(arg, o);
}

enum err
h_audit(struct req *r)
{
	char ev[40];
	struct json_object *arr, *o;
	int64_t org = 0, limit, offset, total = 0;
	long long q = 0;
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
	if (r->p.role == ROLE_SUPERADMIN) {
		/* A superadmin sees every organization unless one is named. */
		if ((e = req_query_int(r, "organization_id", 0, 1, INT64_MAX,
		    &q)) != ERR_OK)
			return e;
		org = q;
		if (org > 0) {
			struct org g;

			if ((e = org_get(r->db, org, &g)) != ERR_OK)
				return e;
		}
	} else
		org = r->p.org_id;
	arr = json_object_new_array();
	if ((e = audit_list(r->db, org, ev, limit, offset, &total, add_event,
	    arr)) != ERR_OK) {
		json_object_put(arr);
		return e;
	}
	o = resp_new("Audit events");
	json_object_object_add(o, "events", arr);
	json_object_object_add(o, "total", json_object_new_int64(total));
	resp_send(r, 200, o);
	return ERR_OK;
}
