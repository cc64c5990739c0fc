/*
 * h_user.c: /user/...: the signed-in user's own profile, address and
 * password.
 */
#include <stdio.h>

#include "audit.h"
#include "email.h"
#include "handlers.h"
#include "limit.h"
#include "valid.h"

/*
 * The caller's current password, throttled like a sign-in of the
 * account (user_check_password()): ERR_OK, ERR_INVALID_CREDENTIALS,
 * ERR_TOO_MANY_ATTEMPTS (Retry-After set, the refusal logged), ERR_DB.
 */
static enum err
check_password(struct req *r, const char *password)
{
	char key[24];
	enum err e;

	e = user_check_password(r->db, r->conf, r->p.user_id, password,
	    &r->retry_after);
	if (e == ERR_TOO_MANY_ATTEMPTS) {
		(void)snprintf(key, sizeof(key), "%lld",
		    (long long)r->p.user_id);
		limit_log_refused("account", key, r->retry_after, req_ip(r));
	}
	return e == ERR_NOT_FOUND ? ERR_SESSION_REVOKED : e;
}

enum err
h_profile_get(struct req *r)
{
	struct json_object *o;

	/* ROUTE_ME: r->me was read with the session. */
	o = resp_new("Profile");
	json_object_object_add(o, "user", resp_user(&r->me));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field profile_fields[] = {
	{ "name", F_STR, 0, 512, valid_name, 0 },
	{ "email", F_STR, 0, 254, valid_email, 0 },
	{ "current_password", F_STR, 0, 1024, NULL, 0 },
};

enum err
h_profile_patch(struct req *r)
{
	struct fval v[3];
	struct json_object *o;
	struct user u;
	char key[24];
	int pending = 0;
	enum err e;

	if ((e = req_fields(r, profile_fields, 3, v)) != ERR_OK)
		return e;
	e = email_profile_update(r->db, r->conf, r->p.user_id,
	    v[0].present ? v[0].s : NULL, v[1].present ? v[1].s : NULL,
	    v[2].present ? v[2].s : NULL, &u, &pending, &r->retry_after);
	switch (e) {
	case ERR_OK:
		break;
	case ERR_INVALID_FIELD:     /* a new address needs the password */
		r->err_field = "current_password";
		return e;
	case ERR_TOO_MANY_ATTEMPTS:
	case ERR_TOO_MANY_REQUESTS:
		(void)snprintf(key, sizeof(key), "%lld",
		    (long long)r->p.user_id);
		limit_log_refused(e == ERR_TOO_MANY_ATTEMPTS ? "account" :
		    "mail", key, r->retry_after, req_ip(r));
		return e;
	case ERR_NOT_FOUND:
		return ERR_SESSION_REVOKED;
	default:
		return e;
	}
	if (pending)
		(void)audit_log(r->db, AUDIT_EMAIL_CHANGE_REQUEST, u.org_id,
		    u.id, u.id, req_ip(r), v[1].s);
	o = resp_new(pending ? "Profile updated; open the link sent to the "
	    "new address to confirm it" : "Profile updated");
	json_object_object_add(o, "user", resp_user(&u));
	if (pending)
		json_object_object_add(o, "pendingEmail",
		    json_object_new_string(v[1].s));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field confirm_fields[] = {
	{ "token", F_STR, 1, 256, NULL, 0 },
};

enum err
h_email_confirm(struct req *r)
{
	struct fval v[1];
	struct json_object *o;
	struct user u;
	enum err e;

	if ((e = req_fields(r, confirm_fields, 1, v)) != ERR_OK ||
	    (e = email_confirm(r->db, r->conf, v[0].s, &u)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_EMAIL_CHANGE, u.org_id, u.id, u.id,
	    req_ip(r), u.email);
	o = resp_new("Email address changed");
	json_object_object_add(o, "user", resp_user(&u));
	resp_send(r, 200, o);
	return ERR_OK;
}

static const struct field password_fields[] = {
	{ "current_password", F_STR, 1, 1024, NULL, 0 },
	{ "new_password", F_STR, 1, 0, NULL, 1 },
};

enum err
h_password_change(struct req *r)
{
	struct fval v[2];
	enum err e;

	if ((e = req_fields(r, password_fields, 2, v)) != ERR_OK)
		return e;
	if ((e = check_password(r, v[0].s)) != ERR_OK)
		return e;
	if ((e = user_set_password(r->db, r->conf, r->p.user_id, v[1].s)) !=
	    ERR_OK)
		return e;
	if ((e = session_revoke_user(r->db, r->p.user_id, r->p.sid)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_PASSWORD_CHANGE, r->p.org_id,
	    r->p.user_id, r->p.user_id, req_ip(r), NULL);
	resp_send(r, 200, resp_new("Password changed"));
	return ERR_OK;
}
