/*
 * audit.c: the audit log.
 */
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"
#include "str.h"

static const char *const names[AUDIT__MAX] = {
	[AUDIT_LOGIN_SUCCESS] = "login.success",
	[AUDIT_LOGIN_FAILURE] = "login.failure",
	[AUDIT_LOGOUT] = "logout",
	[AUDIT_REFRESH_REUSE] = "refresh.reuse",
	[AUDIT_PASSWORD_CHANGE] = "password.change",
	[AUDIT_PASSWORD_RESET] = "password.reset",
	[AUDIT_USER_CREATE] = "user.create",
	[AUDIT_USER_UPDATE] = "user.update",
	[AUDIT_USER_DISABLE] = "user.disable",
	[AUDIT_USER_ENABLE] = "user.enable",
	[AUDIT_USER_DELETE] = "user.delete",
	[AUDIT_ROLE_CHANGE] = "role.change",
	[AUDIT_ORG_CREATE] = "org.create",
	[AUDIT_ORG_UPDATE] = "org.update",
	[AUDIT_ORG_DELETE] = "org.delete",
	[AUDIT_INVITATION_CREATE] = "invitation.create",
	[AUDIT_INVITATION_ACCEPT] = "invitation.accept",
	[AUDIT_INVITATION_REVOKE] = "invitation.revoke",
	[AUDIT_EMAIL_CHANGE_REQUEST] = "email.change.request",
	[AUDIT_EMAIL_CHANGE] = "email.change",
	[AUDIT_PASSWORD_UPGRADE] = "password.upgrade",
	[AUDIT_USER_IMPORT] = "user.import",
	[AUDIT_MFA_ENABLE] = "mfa.enable",
	[AUDIT_MFA_DISABLE] = "mfa.disable",
	[AUDIT_MFA_RECOVERY_USE] = "mfa.recovery_code",
	[AUDIT_MFA_RECOVERY_NEW] = "mfa.recovery_codes",
	[AUDIT_MFA_RESET] = "mfa.reset",
	[AUDIT_MFA_FAILURE] = "mfa.failure",
	[AUDIT_USER_MOVE] = "user.move",
	[AUDIT_KEY_CREATE] = "api_key.create",
	[AUDIT_KEY_REVOKE] = "api_key.revoke",
	[AUDIT_KEY_REFUSED] = "api_key.refused",
	[AUDIT_SETTINGS_CHANGE] = "settings.change",
};

const char *
audit_name(enum audit_event e)
{
	return (e >= 0 && e < AUDIT__MAX) ? names[e] : "unknown";
}

int
audit_known(const char *s)
{
	int i;

	for (i = 0; i < AUDIT__MAX; i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

static struct db_arg
opt_id(int64_t v)
{
	return v > 0 ? DB_INT(v) : DB_NULLARG;
}

enum err
audit_log(struct db *db, const struct actor *a, enum audit_event e, int64_t org,
    int64_t target, const char *detail)
{
	char d[256];

	str_copy(d, sizeof(d), detail);
	struct db_arg q[] = {
		DB_INT((int64_t)time(NULL)),
		opt_id(org),
		DB_STR(audit_name(e)),
		opt_id(a->user_id),
		opt_id(a->key_id),
		opt_id(target),
		DB_STR(a->ip != NULL ? a->ip : ""),
		DB_STR(d),
	};
	if (db_exec(db, STMT_AUDIT_INSERT, q, 8, NULL, NULL) != DB_OK) {
		log_warnx("audit: could not record %s", audit_name(e));
		return ERR_DB;
	}
	return ERR_OK;
}

enum err
audit_list(struct db *db, const struct actor *a, int64_t want,
    const char *event, int64_t limit, int64_t offset, int64_t *total,
    void (*fn)(const struct audit_entry *, void *), void *arg)
{
	const char *ev = event != NULL ? event : "";
	struct db_rows *r = NULL;
	struct audit_entry en;
	int64_t org = 0;
	enum err e;
	size_t i;

	/* A superadmin reads every organization unless one is named. */
	if ((a->role != ROLE_SUPERADMIN || want != 0) &&
	    (e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	struct db_arg q[] = {
		opt_id(org),
		opt_id(org),
		DB_STR(ev),
		DB_STR(ev),
		DB_INT(limit),
		DB_INT(offset),
	};
	if (db_query(db, STMT_AUDIT_COUNT, q, 4, &r) != DB_OK)
		return ERR_DB;
	*total = db_int(r, 0, COL_VALUE);
	db_rows_free(r);
	if (db_query(db, STMT_AUDIT_LIST, q, 6, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		memset(&en, 0, sizeof(en));
		en.id = db_int(r, i, COL_AUDIT_ID);
		en.at = db_int(r, i, COL_AUDIT_AT);
		str_copy(en.event, sizeof(en.event),
		    db_cell(r, i, COL_AUDIT_EVENT));
		en.actor = db_int(r, i, COL_AUDIT_ACTOR);
		en.key = db_int(r, i, COL_AUDIT_KEY);
		en.target = db_int(r, i, COL_AUDIT_TARGET);
		str_copy(en.ip, sizeof(en.ip), db_cell(r, i, COL_AUDIT_IP));
		str_copy(en.detail, sizeof(en.detail),
		    db_cell(r, i, COL_AUDIT_DETAIL));
		fn(&en, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}
