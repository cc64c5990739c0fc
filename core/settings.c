/*
 * settings.c: run-time settings, stored in the settings table.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"
#include "settings.h"

enum err
settings_load(struct db *db, const struct conf *base, struct conf *eff)
{
	struct db_rows *r = NULL;
	struct conf tmp = *base;
	const char *name, *v;
	size_t i;
	int k;

	if (db_query(db, STMT_SETTINGS_ALL, NULL, 0, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		name = db_cell(r, i, COL_SETTING_NAME);
		v = db_cell(r, i, COL_SETTING_VALUE);
		if (name == NULL || v == NULL ||
		    (k = conf_runtime_find(name)) < 0 ||
		    conf_runtime_pinned(base, (size_t)k))
			continue;
		/* Checked when stored; a row out of bounds is skipped. */
		if (conf_runtime_set(&tmp, (size_t)k, v) == -1)
			log_warnx(
			    "settings: stored %s out of bounds: the "
			    "config's value holds",
			    name);
	}
	db_rows_free(r);
	*eff = tmp;
	return ERR_OK;
}

void
settings_refresh(struct db *db, const struct conf *base, struct conf *eff,
    int64_t *at_ms)
{
	struct timespec ts;
	int64_t now;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (*at_ms != 0 && now - *at_ms < SETTINGS_MAX_AGE_MS)
		return;
	if (settings_load(db, base, eff) == ERR_OK)
		*at_ms = now;
}

enum err
settings_list(struct db *db, const struct actor *a, const struct conf *base,
    void (*fn)(const struct setting_view *, void *), void *arg)
{
	struct db_rows *r = NULL;
	struct setting_view v;
	struct conf eff;
	size_t i, j, n = conf_runtime_count();

	if (a->role != ROLE_SUPERADMIN || a->key_id != 0)
		return ERR_FORBIDDEN;
	if (settings_load(db, base, &eff) != ERR_OK ||
	    db_query(db, STMT_SETTINGS_ALL, NULL, 0, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < n; i++) {
		memset(&v, 0, sizeof(v));
		v.name = conf_runtime_name(i);
		v.is_bool = conf_runtime_is_bool(i);
		v.value = conf_runtime_get(&eff, i);
		v.config = conf_runtime_get(base, i);
		v.pinned = conf_runtime_pinned(base, i);
		for (j = 0; j < r->nrows; j++)
			if (db_cell(r, j, COL_SETTING_NAME) != NULL &&
			    strcmp(db_cell(r, j, COL_SETTING_NAME), v.name) ==
				0)
				v.stored = 1;
		fn(&v, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}

enum err
settings_update(struct db *db, const struct actor *a, const struct conf *base,
    const struct setting_change *c, size_t n, size_t *bad)
{
	struct conf check = *base;
	char detail[256];
	size_t i, off = 0;
	enum db_rc rc;
	enum err e;

	*bad = 0;
	if (a->role != ROLE_SUPERADMIN || a->key_id != 0)
		return ERR_FORBIDDEN;
	for (i = 0; i < n; i++) {
		*bad = i;
		if (conf_runtime_name((size_t)c[i].i) == NULL)
			return ERR_INVALID_FIELD;
		if (conf_runtime_pinned(base, (size_t)c[i].i))
			return ERR_SETTING_PINNED;
		if (c[i].value != NULL &&
		    conf_runtime_set(&check, (size_t)c[i].i, c[i].value) == -1)
			return ERR_INVALID_FIELD;
	}
	if (n == 0)
		return ERR_OK;
	detail[0] = '\0';
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	for (i = 0; i < n; i++) {
		const char *name = conf_runtime_name((size_t)c[i].i);

		if (c[i].value != NULL) {
			struct db_arg q[] = { DB_STR(name), DB_STR(c[i].value),
				DB_INT((int64_t)time(NULL)) };

			rc = db_exec(db, STMT_SETTING_PUT, q, 3, NULL, NULL);
		} else {
			struct db_arg q[] = { DB_STR(name) };

			rc = db_exec(db, STMT_SETTING_DEL, q, 1, NULL, NULL);
		}
		if (rc != DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
		/* Cut at the audit's 255 bytes: snprintf stops there. */
		if (off < sizeof(detail))
			off += (size_t)snprintf(detail + off,
			    sizeof(detail) - off, "%s%s=%s", i > 0 ? " " : "",
			    name, c[i].value != NULL ? c[i].value : "config");
	}
	if ((e = audit_log(db, a, AUDIT_SETTINGS_CHANGE, 0, 0, detail)) !=
	    ERR_OK)
		goto rollback;
	if ((e = db_err(db_commit(db))) == ERR_OK)
		log_info("settings: changed: %s", detail);
	return e;
rollback:
	db_rollback(db);
	return e;
}
