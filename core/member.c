/*
 * member.c: an organization's members as its admins manage them.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stdio.h>

#include "apikey.h"
#include "audit.h"
#include "email.h"
#include "member.h"
#include "notify.h"
#include "pw.h"
#include "session.h"
#include "tok.h"
#include "valid.h"

enum err
member_get(struct db *db, const struct actor *a, int64_t want, int64_t id,
    struct user *u)
{
	int64_t org;
	enum err e;

	if ((e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	return user_get_in(db, org, id, u);
}

enum err
member_list(struct db *db, const struct actor *a, int64_t want, int disabled,
    const char *q, int64_t limit, int64_t offset, int64_t *total,
    void (*fn)(const struct user *, void *), void *arg)
{
	int64_t org;
	enum err e;

	if ((e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	return user_list(db, org, disabled, q, limit, offset, total, fn, arg);
}

enum err
member_create(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t want, const char *username, const char *email, const char *name,
    const char *password, enum role role, struct user *u)
{
	char mcf[PW_MCF_SIZE];
	int64_t org, id = 0;
	enum err e;
	int n = 0;

	if ((e = actor_may_act_on(a, role)) != ERR_OK ||
	    (e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	/* Hashed before the transaction: no lock is held for its cost. */
	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) !=
	    ERR_OK)
		goto done;
	do {
		if (db_begin(db) != DB_OK) {
			e = ERR_DB;
			goto done;
		}
		if ((e = user_insert(db, org, username, email, name, mcf, role,
			 &id)) != ERR_OK ||
		    (e = audit_log(db, a, AUDIT_USER_CREATE, org, id,
			 role_name(role))) != ERR_OK)
			db_rollback(db);
		else
			e = user_commit(db, id, mcf);
	} while (e == ERR_DB && db_retry(db, &n));
	if (e == ERR_OK)
		e = user_get_in(db, org, id, u);
done:
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

static int
is_admin_role(enum role r)
{
	return r == ROLE_ADMIN || r == ROLE_SUPERADMIN;
}

/*
 * Lock the active superadmins, then the active admins of org (always in
 * this order), and count them; then write the rows that make two such
 * transactions on two Galera nodes conflict (STMT_ADM_ADMINS_BUMP).
 */
static enum err
lock_admins(struct db *db, int64_t org, long long *supers, long long *admins)
{
	struct db_arg a[] = { DB_INT(org) };
	struct db_rows *r = NULL;
	char k[32];

	if (db_query(db, STMT_ADM_SUPERADMINS_LOCK, NULL, 0, &r) != DB_OK)
		return ERR_DB;
	*supers = (long long)r->nrows;
	db_rows_free(r);
	if (db_query(db, STMT_ADM_ADMINS_LOCK, a, 1, &r) != DB_OK)
		return ERR_DB;
	*admins = (long long)r->nrows;
	db_rows_free(r);
	(void)snprintf(k, sizeof(k), "admins:%lld", (long long)org);
	struct db_arg ko[] = { DB_STR(k) };
	struct db_arg ks[] = { DB_STR("superadmins") };
	if (db_exec(db, STMT_ADM_ADMINS_BUMP, ko, 1, NULL, NULL) != DB_OK ||
	    db_exec(db, STMT_ADM_ADMINS_BUMP, ks, 1, NULL, NULL) != DB_OK)
		return ERR_DB;
	return ERR_OK;
}

/* Would going from `from` to (role, disabled, deleted, or leaving the
 * organization for another) remove the last active admin of the
 * organization or the last active superadmin? */
static int
removes_last_admin(const struct user *from, enum role role, int disabled,
    int deleted, int leaves, long long supers, long long admins)
{
	int was_admin = !from->disabled && is_admin_role(from->role);
	int was_super = !from->disabled && from->role == ROLE_SUPERADMIN;
	int still_admin = !deleted && !leaves && !disabled &&
	    is_admin_role(role);
	int still_super = !deleted && !disabled && role == ROLE_SUPERADMIN;

	if (was_admin && !still_admin && admins <= 1)
		return 1;
	if (was_super && !still_super && supers <= 1)
		return 1;
	return 0;
}

/*
 * Begin the transaction of a change to member id of org by a: lock the
 * admins (lock_admins()), load the member into *u and check that a may
 * act on it.  On an error the transaction is rolled back.
 */
static enum err
member_begin(struct db *db, const struct actor *a, int64_t org, int64_t id,
    struct user *u, long long *supers, long long *admins)
{
	enum err e;

	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = lock_admins(db, org, supers, admins)) != ERR_OK ||
	    (e = user_get_in(db, org, id, u)) != ERR_OK ||
	    (e = actor_may_act_on(a, u->role)) != ERR_OK)
		db_rollback(db);
	return e;
}

/*
 * Whether a may move a user to organization to: a superadmin (a person),
 * and the organization exists.  ERR_OK, ERR_FORBIDDEN, ERR_NOT_FOUND,
 * ERR_DB.
 */
static enum err
member_may_move(struct db *db, const struct actor *a, int64_t to)
{
	struct db_arg q[] = { DB_INT(to) };
	struct db_rows *r = NULL;
	enum err e;

	if (a->role != ROLE_SUPERADMIN || a->key_id != 0)
		return ERR_FORBIDDEN;
	if (db_query(db, STMT_ORG_EXISTS, q, 1, &r) != DB_OK)
		return ERR_DB;
	e = r->nrows == 1 ? ERR_OK : ERR_NOT_FOUND;
	db_rows_free(r);
	return e;
}

/* Move member u from organization org to organization to, in the
 * caller's transaction, audited in both. */
static enum err
member_move(struct db *db, const struct actor *a, const struct user *u,
    int64_t org, int64_t to)
{
	char d[64];
	enum db_rc rc;
	enum err e;
	struct db_arg q[] = { DB_INT(to), DB_INT((int64_t)time(NULL)),
		DB_INT(u->id), DB_INT(org) };

	rc = db_exec(db, STMT_ADM_USER_MOVE, q, 4, NULL, NULL);
	if (rc == DB_FK)
		return ERR_NOT_FOUND; /* the organization just went */
	if (rc != DB_OK)
		return ERR_DB;
	(void)snprintf(d, sizeof(d), "to organization %lld", (long long)to);
	if ((e = audit_log(db, a, AUDIT_USER_MOVE, org, u->id, d)) != ERR_OK)
		return e;
	(void)snprintf(d, sizeof(d), "from organization %lld", (long long)org);
	return audit_log(db, a, AUDIT_USER_MOVE, to, u->id, d);
}

/* The audit entries of member u of org changed to (role, disabled,
 * email) by a, in the transaction of the change. */
static enum err
member_audit(struct db *db, const struct actor *a, int64_t org,
    const struct user *u, const struct member_patch *p, enum role role,
    int disabled, const char *email)
{
	enum err e = ERR_OK;

	if (role != u->role)
		e = audit_log(db, a, AUDIT_ROLE_CHANGE, org, u->id,
		    role_name(role));
	if (e == ERR_OK && disabled != u->disabled)
		e = audit_log(db, a,
		    disabled ? AUDIT_USER_DISABLE : AUDIT_USER_ENABLE, org,
		    u->id, NULL);
	if (e == ERR_OK && (p->name != NULL || p->email != NULL))
		e = audit_log(db, a, AUDIT_USER_UPDATE, org, u->id, NULL);
	if (e == ERR_OK && !email_same(u->email, email))
		e = audit_log(db, a, AUDIT_EMAIL_CHANGE, org, u->id, email);
	return e;
}

static enum err
member_update_tx(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t want, int64_t id, const struct member_patch *p, struct user *after)
{
	struct user u;
	char norm[255];
	long long supers = 0, admins = 0;
	int64_t org, to;
	enum role role;
	int disabled, moves, leaves;
	const char *name, *email;
	struct notify_mail m = { "" };
	enum db_rc rc;
	enum err e;

	if ((e = actor_scope(db, a, want, &org)) != ERR_OK ||
	    (p->role >= 0 &&
		(e = actor_may_act_on(a, (enum role)p->role)) != ERR_OK))
		return e;
	/* Only a superadmin moves users between organizations. */
	to = p->org > 0 ? p->org : org;
	if (to != org && (e = member_may_move(db, a, to)) != ERR_OK)
		return e;
	if ((e = member_begin(db, a, org, id, &u, &supers, &admins)) != ERR_OK)
		return e;
	leaves = to != org;
	role = p->role >= 0 ? (enum role)p->role : u.role;
	disabled = p->disabled >= 0 ? p->disabled : u.disabled;
	name = p->name != NULL ? p->name : u.name;
	email = p->email != NULL ? p->email : u.email;
	moves = p->email != NULL && !email_same(u.email, p->email);
	if (moves && a->user_id == id) {
		e = ERR_FORBIDDEN;
		goto rollback;
	}
	if (removes_last_admin(&u, role, disabled, 0, leaves, supers, admins)) {
		e = ERR_LAST_ADMIN;
		goto rollback;
	}
	if (valid_email_norm(email, norm, sizeof(norm)) == -1) {
		e = ERR_INVALID_FIELD;
		goto rollback;
	}
	{
		struct db_arg q[] = {
			DB_STR(name),
			DB_STR(email),
			DB_STR(norm),
			DB_STR(role_name(role)),
			DB_INT(disabled),
			DB_INT((int64_t)time(NULL)),
			DB_INT(id),
			DB_INT(org),
		};

		rc = db_exec(db, STMT_ADM_USER_UPDATE, q, 8, NULL, NULL);
	}
	if (rc != DB_OK) {
		e = rc == DB_DUP ? ERR_EMAIL_TAKEN : ERR_DB;
		goto rollback;
	}
	if (((disabled && !u.disabled) || leaves) &&
	    (e = session_revoke_user(db, id, 0)) != ERR_OK)
		goto rollback;
	/* Keys end with their creator's power (apikey.h). */
	if ((disabled && !u.disabled) || leaves || role < u.role) {
		e = apikey_revoke_user(db, a, id,
		    leaves                      ? "creator moved" :
			disabled && !u.disabled ? "creator disabled" :
						  "creator demoted");
		if (e != ERR_OK)
			goto rollback;
	}
	if (leaves && (e = member_move(db, a, &u, org, to)) != ERR_OK)
		goto rollback;
	if (moves && (e = email_changed(db, conf, &u, email, 1, &m)) != ERR_OK)
		goto rollback;
	if ((e = member_audit(db, a, org, &u, p, role, disabled, email)) !=
	    ERR_OK)
		goto rollback;
	if ((e = notify_commit(db, conf, &m)) != ERR_OK)
		return e;
	return user_get_in(db, to, id, after);
rollback:
	db_rollback(db);
	notify_abort(conf, &m);
	return e;
}

enum err
member_update(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t want, int64_t id, const struct member_patch *p, struct user *after)
{
	enum err e;
	int n = 0;

	do
		e = member_update_tx(db, conf, a, want, id, p, after);
	while (e == ERR_DB && db_retry(db, &n));
	return e;
}

static enum err
member_delete_tx(struct db *db, const struct actor *a, int64_t want, int64_t id)
{
	long long supers = 0, admins = 0;
	struct user u;
	int64_t org;
	uint64_t n = 0;
	enum err e;

	if ((e = actor_scope(db, a, want, &org)) != ERR_OK ||
	    (e = member_begin(db, a, org, id, &u, &supers, &admins)) != ERR_OK)
		return e;
	if (removes_last_admin(&u, u.role, u.disabled, 1, 0, supers, admins)) {
		e = ERR_LAST_ADMIN;
		goto rollback;
	}
	if ((e = apikey_revoke_user(db, a, id, "creator deleted")) != ERR_OK)
		goto rollback;
	{
		struct db_arg q[] = { DB_INT(id), DB_INT(org) };

		if (db_exec(db, STMT_ADM_USER_DELETE, q, 2, &n, NULL) !=
		    DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	if (n != 1) {
		e = ERR_NOT_FOUND;
		goto rollback;
	}
	if ((e = audit_log(db, a, AUDIT_USER_DELETE, org, id, u.username)) !=
	    ERR_OK)
		goto rollback;
	return db_err(db_commit(db));
rollback:
	db_rollback(db);
	return e;
}

enum err
member_delete(struct db *db, const struct actor *a, int64_t want, int64_t id)
{
	enum err e;
	int n = 0;

	do
		e = member_delete_tx(db, a, want, id);
	while (e == ERR_DB && db_retry(db, &n));
	return e;
}
