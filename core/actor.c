/*
 * actor.c: roles, and the rules of who may act where and on whom.
 */
#include <string.h>

#include "actor.h"

static const char *const roles[ROLE__MAX] = {
	[ROLE_USER] = "user",
	[ROLE_ADMIN] = "admin",
	[ROLE_SUPERADMIN] = "superadmin",
};

const char *
role_name(enum role r)
{
	return (r >= 0 && r < ROLE__MAX) ? roles[r] : "user";
}

int
role_parse(const char *s)
{
	int i;

	for (i = 0; i < ROLE__MAX; i++)
		if (strcmp(s, roles[i]) == 0)
			return i;
	return -1;
}

enum err
actor_scope(struct db *db, const struct actor *a, int64_t want, int64_t *org)
{
	struct db_rows *r = NULL;
	enum err e;

	*org = a->org_id;
	if (a->role != ROLE_SUPERADMIN || want == 0)
		return ERR_OK;
	if (want < 0)
		return ERR_INVALID_FIELD;
	struct db_arg q[] = { DB_INT(want) };
	if (db_query(db, STMT_ORG_EXISTS, q, 1, &r) != DB_OK)
		return ERR_DB;
	e = r->nrows == 1 ? ERR_OK : ERR_NOT_FOUND;
	db_rows_free(r);
	if (e == ERR_OK)
		*org = want;
	return e;
}

enum err
actor_may_act_on(const struct actor *a, enum role target)
{
	if (a->role != ROLE_SUPERADMIN && target == ROLE_SUPERADMIN)
		return ERR_FORBIDDEN;
	return ERR_OK;
}
