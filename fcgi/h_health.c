/*
 * h_health.c: GET /health and the first-run setup.
 */
#include <string.h>

#include "handlers.h"
#include "org.h"
#include "valid.h"

enum err
h_health(struct req *r)
{
	struct json_object *o;

	if (!db_ping(r->db)) {
		r->err_extra = json_object_new_object();
		json_object_object_add(r->err_extra, "status",
		    json_object_new_string("degraded"));
		json_object_object_add(r->err_extra, "database",
		    json_object_new_string("down"));
		return ERR_DB;
	}
	o = resp_new("ok");
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "database", json_object_new_string("ok"));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_setup_get(struct req *r)
{
	struct json_object *o;
	int req = org_setup_required(r->db);
	int on = org_auth_enabled(r->db, r->conf);

	if (req == -1 || on == -1)
		return ERR_DB;
	o = resp_new(req ? "Setup required" : "Setup done");
	json_object_object_add(o, "setup_required",
	    json_object_new_boolean(req));
	json_object_object_add(o, "registration_open",
	    json_object_new_boolean(r->conf->allow_new_organizations));
	json_object_object_add(o, "auth_enabled", json_object_new_boolean(on));
	resp_send(r, 200, o);
	return ERR_OK;
}

/* The fields of POST /setup and of POST /auth/register (new org). */
enum {
	RF_ORG,
	RF_USERNAME,
	RF_EMAIL,
	RF_PASSWORD,
	RF_NAME,
	RF_COOKIE,
	RF__MAX
};
static const struct field reg_fields[] = {
	[RF_ORG] = { "organization", F_STR, 1, 512, valid_org_name, 0 },
	[RF_USERNAME] = { "username", F_STR, 1, 64, valid_username, 0 },
	[RF_EMAIL] = { "email", F_STR, 1, 254, valid_email, 0 },
	[RF_PASSWORD] = { "password", F_STR, 1, 0, NULL, 1 },
	[RF_NAME] = { "name", F_STR, 0, 512, valid_name, 0 },
	[RF_COOKIE] = { "cookie", F_BOOL, 0, 0, NULL, 0 },
};
FIELDS(reg_fields, RF__MAX);

/*
 * Create an organization with its first user and sign that user in:
 * shared by POST /setup (superadmin) and POST /auth/register (admin).
 */
enum err
h_register_org(struct req *r, int setup)
{
	struct fval v[RF__MAX];
	struct session_tokens t = { 0 };
	struct user u;
	enum err e;

	if ((e = req_fields(r, reg_fields, RF__MAX, v)) != ERR_OK ||
	    (e = org_signup(r->db, r->conf, req_actor(r), setup, v[RF_ORG].s,
		 v[RF_USERNAME].s, v[RF_EMAIL].s,
		 v[RF_NAME].present ? v[RF_NAME].s : "", v[RF_PASSWORD].s,
		 req_user_agent(r), &u, &t)) != ERR_OK)
		return e;
	return resp_login(r, 201,
	    setup ? "Setup complete" : "Registration successful", &t, &u,
	    v[RF_COOKIE].present && v[RF_COOKIE].b);
}

enum { SF_SKIP, SF__MAX };
static const struct field skip_fields[] = {
	[SF_SKIP] = { "skip", F_BOOL, 0, 0, NULL, 0 },
};
FIELDS(skip_fields, SF__MAX);

enum err
h_setup_post(struct req *r)
{
	struct json_object *o;
	struct fval v[SF__MAX];
	int req = org_setup_required(r->db);
	enum err e;

	if (req == -1)
		return ERR_DB;
	if (req == 0)
		return ERR_SETUP_DONE;
	if ((e = req_fields(r, skip_fields, SF__MAX, v)) != ERR_OK)
		return e;
	if (!v[SF_SKIP].present || !v[SF_SKIP].b)
		return h_register_org(r, 1);
	/* Run without authentication until the first user exists. */
	if ((e = org_auth_skip(r->db)) != ERR_OK)
		return e;
	o = resp_new("Setup skipped: authentication is off");
	json_object_object_add(o, "auth_enabled", json_object_new_boolean(0));
	resp_send(r, 200, o);
	return ERR_OK;
}
