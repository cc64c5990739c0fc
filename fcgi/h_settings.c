/*
 * h_settings.c: GET and PATCH /settings: the installation's run-time
 * settings (core/settings.h), for superadmins.
 */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "settings.h"

/* The settings object: each setting's value, the config's, whether a
 * value is stored over HTTP and whether the config pins it. */
static void
add_setting(const struct setting_view *v, void *arg)
{
	struct json_object *o = json_object_new_object();

#define SETTING_VALUE(x) \
	(v->is_bool ? json_object_new_boolean((x) != 0) : \
		      json_object_new_int64((x)))
	json_object_object_add(o, "value", SETTING_VALUE(v->value));
	json_object_object_add(o, "config", SETTING_VALUE(v->config));
#undef SETTING_VALUE
	json_object_object_add(o, "stored", json_object_new_boolean(v->stored));
	json_object_object_add(o, "pinned", json_object_new_boolean(v->pinned));
	json_object_object_add(arg, v->name, o);
}

/* Answer the settings as they are now in the database. */
static enum err
settings_answer(struct req *r, const char *msg)
{
	struct json_object *s = json_object_new_object(), *o;
	enum err e;

	if ((e = settings_list(r->db, req_actor(r), r->conf_file, add_setting,
		 s)) != ERR_OK) {
		json_object_put(s);
		return e;
	}
	o = resp_new(msg);
	json_object_object_add(o, "settings", s);
	json_object_object_add(o, "max_age_ms",
	    json_object_new_int(SETTINGS_MAX_AGE_MS));
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_settings_get(struct req *r)
{
	return settings_answer(r, "Settings");
}

/* Room for every setting once: the body's members, checked. */
#define SETTINGS_MAX 32

enum err
h_settings_patch(struct req *r)
{
	struct setting_change c[SETTINGS_MAX];
	char text[SETTINGS_MAX][24];
	static char field[65];
	size_t n = 0, bad = 0;
	int k;
	enum err e;

	/* Every member must name a setting: a typo is refused, not
	 * ignored (the one body where unknown members are an error). */
	json_object_object_foreach(r->body, name, v)
	{
		(void)snprintf(field, sizeof(field), "%s", name);
		r->err_field = field;
		if ((k = conf_runtime_find(name)) < 0 || n >= SETTINGS_MAX)
			return ERR_INVALID_FIELD;
		c[n].i = k;
		c[n].value = text[n];
		if (json_object_is_type(v, json_type_null))
			c[n].value = NULL;
		else if (conf_runtime_is_bool((size_t)k) &&
		    json_object_is_type(v, json_type_boolean))
			(void)snprintf(text[n], sizeof(text[n]), "%s",
			    json_object_get_boolean(v) ? "true" : "false");
		else if (!conf_runtime_is_bool((size_t)k) &&
		    json_object_is_type(v, json_type_int))
			(void)snprintf(text[n], sizeof(text[n]), "%lld",
			    (long long)json_object_get_int64(v));
		else
			return ERR_INVALID_FIELD;
		n++;
	}
	r->err_field = NULL;
	if ((e = settings_update(r->db, req_actor(r), r->conf_file, c, n,
		 &bad)) != ERR_OK) {
		if (n > 0) {
			(void)snprintf(field, sizeof(field), "%s",
			    conf_runtime_name((size_t)c[bad].i));
			r->err_field = field;
		}
		if (e == ERR_SETTING_PINNED) {
			r->err_extra = json_object_new_object();
			json_object_object_add(r->err_extra, "setting",
			    json_object_new_string(field));
		}
		return e;
	}
	return settings_answer(r, "Settings changed");
}
