/*
 * h_keys.c: /api-keys: an organization's API keys, made, listed and
 * revoked by its admins (core/apikey.h, which refuses an API key
 * here: a key cannot list, make or revoke keys).
 */
#include <string.h>

#include "apikey.h"
#include "handlers.h"
#include "valid.h"

/* The contract's API key object; with key (a new one) its secret. */
static struct json_object *
key_json(const struct apikey *k, const char *key)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(k->id));
	if (key != NULL)
		json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "name", json_object_new_string(k->name));
	json_object_object_add(o, "role",
	    json_object_new_string(role_name(k->role)));
	json_object_object_add(o, "organizationId",
	    json_object_new_int64(k->org_id));
	json_object_object_add(o, "createdBy",
	    k->created_by > 0 ? json_object_new_int64(k->created_by) : NULL);
	json_object_object_add(o, "createdByUsername",
	    k->creator[0] != '\0' ? json_object_new_string(k->creator) : NULL);
	json_object_object_add(o, "createdAt", resp_time(k->created_at));
	json_object_object_add(o, "expiresAt", resp_time(k->expires_at));
	json_object_object_add(o, "lastUsedAt", resp_time(k->last_used_at));
	return o;
}

static void
add_key(const struct apikey *k, void *arg)
{
	json_object_array_add(arg, key_json(k, NULL));
}

enum err
h_keys_list(struct req *r)
{
	struct json_object *arr = json_object_new_array(), *o;
	enum err e;

	if ((e = apikey_list(r->db, req_actor(r), named_org(r, 0), add_key,
		 arr)) != ERR_OK) {
		json_object_put(arr);
		return e;
	}
	o = resp_new("API keys");
	json_object_object_add(o, "api_keys", arr);
	resp_send(r, 200, o);
	return ERR_OK;
}

static int
valid_key_role(const char *s)
{
	return role_parse(s) >= 0;
}

enum { KC_NAME, KC_ROLE, KC_EXPIRES, KC_ORG, KC__MAX };
static const struct field key_fields[] = {
	[KC_NAME] = { "name", F_STR, 1, 512, valid_org_name, 0 },
	[KC_ROLE] = { "role", F_STR, 0, 16, valid_key_role, 0 },
	[KC_EXPIRES] = { "expires_at", F_STR, 0, 20, valid_time_str, 0 },
	[KC_ORG] = { "organizationId", F_INT, 0, 0, NULL, 0 },
};
FIELDS(key_fields, KC__MAX);

enum err
h_keys_create(struct req *r)
{
	char key[TOK_STR_SIZE];
	struct fval v[KC__MAX];
	struct json_object *o;
	struct apikey k;
	enum role role = ROLE_USER;
	int64_t org, exp = 0;
	enum err e;

	if ((e = req_fields(r, key_fields, KC__MAX, v)) != ERR_OK ||
	    (e = body_org(r, &v[KC_ORG], &org)) != ERR_OK)
		return e;
	if (v[KC_ROLE].present)
		role = (enum role)role_parse(v[KC_ROLE].s);
	if (v[KC_EXPIRES].present)
		(void)valid_time(v[KC_EXPIRES].s, &exp);
	e = apikey_create(r->db, req_actor(r), named_org(r, org), v[KC_NAME].s,
	    role, exp, key, sizeof(key), &k);
	if (e == ERR_INVALID_FIELD && r->err_field == NULL)
		r->err_field = "expires_at";
	if (e != ERR_OK)
		return e;
	o = resp_new("API key created");
	json_object_object_add(o, "api_key", key_json(&k, key));
	tok_cleanse(key, sizeof(key));
	resp_send(r, 201, o);
	return ERR_OK;
}

enum err
h_keys_delete(struct req *r)
{
	enum err e;

	if ((e = apikey_revoke(r->db, req_actor(r), named_org(r, 0), r->id)) !=
	    ERR_OK)
		return e;
	resp_send(r, 200, resp_new("API key revoked"));
	return ERR_OK;
}
