/*
 * h_orgs.c: /organizations, for superadmins only (the router checks).
 */
#include <string.h>

#include "handlers.h"
#include "invite.h"
#include "org.h"
#include "valid.h"

static void
add_org(const struct org *g, void *arg)
{
	json_object_array_add(arg, org_json(g));
}

enum err
h_orgs_list(struct req *r)
{
	char q[256];
	struct json_object *arr, *o;
	long long page, per;
	int64_t total = 0;
	int k;
	enum err e;

	if ((e = req_query_int(r, "page", 1, 1, 1000000, &page)) != ERR_OK ||
	    (e = req_query_int(r, "per_page", 20, 1, 100, &per)) != ERR_OK)
		return e;
	if ((k = req_query(r, "q", q, sizeof(q))) < 0) {
		r->err_field = "q";
		return ERR_INVALID_FIELD;
	} else if (k == 0)
		q[0] = '\0';
	arr = json_object_new_array();
	if ((e = org_list(r->db, q, per, (page - 1) * per, &total, add_org,
		 arr)) != ERR_OK) {
		json_object_put(arr);
		return e;
	}
	o = resp_new("Organizations");
	json_object_object_add(o, "organizations", arr);
	json_object_object_add(o, "total", json_object_new_int64(total));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum { OC_NAME, OC_DESCRIPTION, OC_ADMIN_EMAIL, OC__MAX };
static const struct field org_create_fields[] = {
	[OC_NAME] = { "name", F_STR, 1, 512, valid_org_name, 0 },
	[OC_DESCRIPTION] = { "description", F_STR, 0, 4096, valid_description,
	    0 },
	[OC_ADMIN_EMAIL] = { "admin_email", F_STR, 0, 254, valid_email, 0 },
};
FIELDS(org_create_fields, OC__MAX);

enum err
h_orgs_create(struct req *r)
{
	char code[TOK_STR_SIZE], inviter[600];
	struct fval v[OC__MAX];
	struct json_object *o;
	struct invite inv;
	struct org g;
	enum err e;

	if ((e = req_fields(r, org_create_fields, OC__MAX, v)) != ERR_OK)
		return e;
	h_inviter_name(r, inviter, sizeof(inviter));
	e = org_create(r->db, r->conf, req_actor(r), v[OC_NAME].s,
	    v[OC_DESCRIPTION].present ? v[OC_DESCRIPTION].s : "",
	    v[OC_ADMIN_EMAIL].present ? v[OC_ADMIN_EMAIL].s : NULL, inviter,
	    code, &g, &inv);
	if (e == ERR_TOO_MANY_REQUESTS)
		r->retry_after = inv.retry_after;
	if (e != ERR_OK)
		return e;
	o = resp_new("Organization created");
	json_object_object_add(o, "organization", org_json(&g));
	if (v[OC_ADMIN_EMAIL].present)
		json_object_object_add(o, "invitation",
		    invite_json(r, &inv, code));
	tok_cleanse(code, sizeof(code));
	resp_send(r, 201, o);
	return ERR_OK;
}

enum err
h_orgs_get(struct req *r)
{
	struct json_object *o;
	struct org g;
	enum err e;

	if ((e = org_get(r->db, r->id, &g)) != ERR_OK)
		return e;
	o = resp_new("Organization");
	json_object_object_add(o, "organization", org_json(&g));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_orgs_patch(struct req *r)
{
	return h_org_patch(r, r->id);
}

enum err
h_orgs_delete(struct req *r)
{
	enum err e;

	if ((e = org_delete(r->db, req_actor(r), r->id)) != ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Organization deleted"));
	return ERR_OK;
}
