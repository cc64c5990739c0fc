/*
 * h_user.c: /user/...: the signed-in user's own profile, address and
 * password.
 */
#include "account.h"
#include "email.h"
#include "handlers.h"
#include "valid.h"

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

enum { PF_NAME, PF_EMAIL, PF_PASSWORD, PF__MAX };
static const struct field profile_fields[] = {
	[PF_NAME] = { "name", F_STR, 0, 512, valid_name, 0 },
	[PF_EMAIL] = { "email", F_STR, 0, 254, valid_email, 0 },
	[PF_PASSWORD] = { "current_password", F_STR, 0, 1024, NULL, 0 },
};
FIELDS(profile_fields, PF__MAX);

enum err
h_profile_patch(struct req *r)
{
	struct fval v[PF__MAX];
	struct json_object *o;
	struct user u;
	int pending = 0;
	enum err e;

	if ((e = req_fields(r, profile_fields, PF__MAX, v)) != ERR_OK)
		return e;
	e = email_profile_update(r->db, r->conf, req_actor(r),
	    v[PF_NAME].present ? v[PF_NAME].s : NULL,
	    v[PF_EMAIL].present ? v[PF_EMAIL].s : NULL,
	    v[PF_PASSWORD].present ? v[PF_PASSWORD].s : NULL, &u, &pending,
	    &r->retry_after);
	switch (e) {
	case ERR_OK:
		break;
	case ERR_INVALID_FIELD: /* a new address needs the password */
		r->err_field = "current_password";
		return e;
	case ERR_NOT_FOUND:
		return ERR_SESSION_REVOKED;
	default:
		return e;
	}
	o = resp_new(pending ? "Profile updated; open the link sent to the "
			       "new address to confirm it" :
			       "Profile updated");
	json_object_object_add(o, "user", resp_user(&u));
	if (pending)
		json_object_object_add(o, "pendingEmail",
		    json_object_new_string(v[PF_EMAIL].s));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { CF_TOKEN, CF__MAX };
static const struct field confirm_fields[] = {
	[CF_TOKEN] = { "token", F_STR, 1, 256, NULL, 0 },
};
FIELDS(confirm_fields, CF__MAX);

enum err
h_email_confirm(struct req *r)
{
	struct fval v[CF__MAX];
	struct json_object *o;
	struct user u;
	enum err e;

	if ((e = req_fields(r, confirm_fields, CF__MAX, v)) != ERR_OK ||
	    (e = email_confirm(r->db, r->conf, req_actor(r), v[CF_TOKEN].s,
		 &u)) != ERR_OK)
		return e;
	o = resp_new("Email address changed");
	json_object_object_add(o, "user", resp_user(&u));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { WF_CURRENT, WF_NEW, WF__MAX };
static const struct field password_fields[] = {
	[WF_CURRENT] = { "current_password", F_STR, 1, 1024, NULL, 0 },
	[WF_NEW] = { "new_password", F_STR, 1, 0, NULL, 1 },
};
FIELDS(password_fields, WF__MAX);

enum err
h_password_change(struct req *r)
{
	struct fval v[WF__MAX];
	enum err e;

	if ((e = req_fields(r, password_fields, WF__MAX, v)) != ERR_OK ||
	    (e = account_password(r->db, r->conf, req_actor(r), r->p.sid,
		 v[WF_CURRENT].s, v[WF_NEW].s, &r->retry_after)) != ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Password changed"));
	return ERR_OK;
}
