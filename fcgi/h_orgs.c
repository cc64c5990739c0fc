/*
 * h_orgs.c: /organizations, for superadmins only (the router checks).
 */
#include <string.h>

#include "audit.h"
#include "handlers.h"
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

static const struct field org_create_fields[] = {
	{ "name", F_STR, 1, 512, valid_org_name, 0 },
	{ "description", F_STR, 0, 4096, valid_description, 0 },
	{ "admin_email", F_STR, 0, 254, valid_email, 0 },
};

enum err
h_orgs_create(struct req *r)
{
	struct fval v[3];
	struct json_object *o;
	struct org g;
	int64_t id;
	enum err e;

	if ((e = req_fields(r, org_create_fields, 3, v)) != ERR_OK)
		return e;
	if ((e = org_insert(r->db, v[0].s, v[1].present ? v[1].s : "",
	    &id)) != ERR_OK)
		return e;
	if ((e = org_get(r->db, id, &g)) != ERR_OK)
		return e;
	o = resp_new("Organization created");
	json_object_object_add(o, "organization", org_json(&g));
	if (!v[2].present) {
		(void)audit_log(r->db, AUDIT_ORG_CREATE, id, r->p.user_id, id,
		    req_ip(r), g.name);
		resp_send(r, 201, o);
		return ERR_OK;
	}
	/* With admin_email: the organization and its admin invitation come
	 * together or not at all. */
	if ((e = h_invite(r, id, v[2].s, ROLE_ADMIN, 1, o)) != ERR_OK) {
		/* The invitation goes with its organization, whatever became
		 * of it. */
		if (org_delete(r->db, id) == ERR_OK && e == ERR_UNKNOWN)
			e = ERR_DB;
		return e;
	}
	(void)audit_log(r->db, AUDIT_ORG_CREATE, id, r->p.user_id, id,
	    req_ip(r), g.name);
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

	if ((e = org_delete(r->db, r->id)) != ERR_OK)
		return e;
	(void)audit_log(r->db, AUDIT_ORG_DELETE, 0, r->p.user_id, r->id,
	    req_ip(r), NULL);
	resp_send(r, 200, resp_new("Organization deleted"));
	return ERR_OK;
}
