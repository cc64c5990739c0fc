/*
 * org.c: organizations, first-run setup and registration.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"
#include "notify.h"
#include "org.h"
#include "pw.h"
#include "tok.h"
#include "str.h"

enum err
org_insert(struct db *db, const char *name, const char *description,
    int64_t *id)
{
	struct db_arg a[] = { DB_STR(name), DB_STR(description),
		DB_INT((int64_t)time(NULL)) };
	uint64_t newid = 0;
	enum db_rc rc;

	switch ((rc = db_exec(db, STMT_ORG_INSERT, a, 3, NULL, &newid))) {
	case DB_OK:
		*id = (int64_t)newid;
		return ERR_OK;
	case DB_DUP:
		return ERR_ORG_TAKEN;
	default:
		return db_err(rc);
	}
}

enum err
org_find(struct db *db, const char *name, int64_t *id)
{
	struct db_arg a[] = { DB_STR(name) };
	struct db_rows *r = NULL;
	enum err e = ERR_NOT_FOUND;

	if (db_query(db, STMT_ORG_BY_NAME, a, 1, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows == 1) {
		*id = db_int(r, 0, COL_VALUE);
		e = ERR_OK;
	}
	db_rows_free(r);
	return e;
}

int
org_setup_required(struct db *db)
{
	struct db_rows *r = NULL;
	int req;

	if (db_query(db, STMT_USER_COUNT, NULL, 0, &r) != DB_OK)
		return -1;
	req = db_int(r, 0, COL_VALUE) == 0;
	db_rows_free(r);
	return req;
}

enum err
org_registration_open(const struct conf *conf)
{
	return conf->allow_new_organizations ? ERR_OK : ERR_REGISTRATION_CLOSED;
}

/* The first-run check before any work: ERR_OK while no user exists. */
static enum err
org_setup_check(struct db *db)
{
	int req = org_setup_required(db);

	if (req == -1)
		return ERR_DB;
	return req == 0 ? ERR_SETUP_DONE : ERR_OK;
}

/*
 * Inside the caller's transaction: org_register()'s organization and
 * user, with password hash mcf, *uid set.
 */
static enum err
org_register_tx(struct db *db, int setup, const char *org, int create_org,
    const char *username, const char *email, const char *name, const char *mcf,
    enum role role, int64_t *uid)
{
	int64_t oid = 0;
	enum err e;

	if (setup) {
		/* Two racing setups: the second waits on this key, then
		 * finds it taken. */
		struct db_arg a[] = { DB_STR("setup"), DB_STR("done") };
		enum db_rc rc = db_exec(db, STMT_META_INSERT, a, 2, NULL, NULL);

		if (rc != DB_OK)
			return rc == DB_DUP ? ERR_SETUP_DONE : ERR_DB;
		if (org_setup_required(db) != 1)
			return ERR_SETUP_DONE;
	}
	if (create_org)
		e = org_insert(db, org, "", &oid);
	else if ((e = org_find(db, org, &oid)) == ERR_NOT_FOUND)
		e = org_insert(db, org, "", &oid);
	if (e != ERR_OK)
		return e;
	return user_insert(db, oid, username, email, name, mcf, role, uid);
}

/*
 * The first steps of a registration: the first-run check (setup), the
 * hash of password into mcf (PW_MCF_SIZE bytes; before the transaction,
 * so that no lock is held for its cost), and the transaction begun.
 * On an error no transaction is open.
 */
static enum err
org_register_begin(struct db *db, const struct conf *conf, int setup,
    const char *password, char *mcf)
{
	enum err e;

	if (setup && (e = org_setup_check(db)) != ERR_OK)
		return e;
	if ((e = user_hash_password(conf, password, mcf, PW_MCF_SIZE)) !=
	    ERR_OK)
		return e;
	return db_begin(db) == DB_OK ? ERR_OK : ERR_DB;
}

enum err
org_register(struct db *db, const struct conf *conf, int setup, const char *org,
    int create_org, const char *username, const char *email, const char *name,
    const char *password, enum role role, int64_t *uid)
{
	char mcf[PW_MCF_SIZE] = "";
	enum err e;

	if ((e = org_register_begin(db, conf, setup, password, mcf)) != ERR_OK)
		goto done;
	if ((e = org_register_tx(db, setup, org, create_org, username, email,
		 name, mcf, role, uid)) != ERR_OK) {
		db_rollback(db);
		goto done;
	}
	e = user_commit(db, *uid, mcf);
done:
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

/* The audit entries of a signup: the organization and its first user,
 * created by that user. */
static enum err
org_signup_audit(struct db *db, const struct actor *who, const struct user *u)
{
	enum err e;

	if ((e = audit_log(db, who, AUDIT_ORG_CREATE, u->org_id, u->org_id,
		 u->org_name)) != ERR_OK)
		return e;
	return audit_log(db, who, AUDIT_USER_CREATE, u->org_id, u->id,
	    role_name(u->role));
}

enum err
org_signup(struct db *db, const struct conf *conf, const struct actor *a,
    int setup, const char *org, const char *username, const char *email,
    const char *name, const char *password, const char *ua, struct user *u,
    struct session_tokens *t)
{
	char mcf[PW_MCF_SIZE] = "";
	struct session_new sn;
	struct actor who;
	int64_t uid = 0;
	enum err e;

	if ((e = org_register_begin(db, conf, setup, password, mcf)) != ERR_OK)
		goto done;
	/* The organization, its first user, their audit entries and the
	 * user's session: all of it or nothing. */
	if ((e = org_register_tx(db, setup, org, 1, username, email, name, mcf,
		 setup ? ROLE_SUPERADMIN : ROLE_ADMIN, &uid)) != ERR_OK)
		goto rollback;
	if ((e = user_get(db, uid, u)) != ERR_OK) {
		e = e == ERR_NOT_FOUND ? ERR_DB : e;
		goto rollback;
	}
	who = user_actor(u, a->ip);
	if ((e = org_signup_audit(db, &who, u)) != ERR_OK ||
	    (e = session_open(db, conf, u, 0, ua, a->ip, &sn, t)) != ERR_OK)
		goto rollback;
	e = session_commit_open(db, conf, u, &sn, t);
	goto done;
rollback:
	db_rollback(db);
done:
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

static void
org_from_row(const struct db_rows *r, size_t row, struct org *o)
{
	memset(o, 0, sizeof(*o));
	o->id = db_int(r, row, COL_ORG_ID);
	str_copy(o->name, sizeof(o->name), db_cell(r, row, COL_ORG_NAME));
	str_copy(o->description, sizeof(o->description),
	    db_cell(r, row, COL_ORG_DESCRIPTION));
	o->created_at = db_int(r, row, COL_ORG_CREATED);
	o->user_count = db_int(r, row, COL_ORG_USERS);
	str_copy(o->require_mfa, sizeof(o->require_mfa),
	    db_cell(r, row, COL_ORG_REQUIRE_MFA));
}

int
org_mfa_policy_ok(const char *s)
{
	return strcmp(s, "none") == 0 || strcmp(s, "admins") == 0 ||
	    strcmp(s, "all") == 0;
}

enum err
org_get(struct db *db, int64_t id, struct org *o)
{
	struct db_arg a[] = { DB_INT(id) };
	struct db_rows *r = NULL;
	enum err e = ERR_NOT_FOUND;

	if (db_query(db, STMT_ORG_GET, a, 1, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows == 1) {
		org_from_row(r, 0, o);
		e = ERR_OK;
	}
	db_rows_free(r);
	return e;
}

enum err
org_get_in(struct db *db, const struct actor *a, int64_t want, struct org *o)
{
	int64_t id;
	enum err e;

	if ((e = actor_scope(db, a, want, &id)) != ERR_OK)
		return e;
	return org_get(db, id, o);
}

enum err
org_update(struct db *db, const struct actor *a, int64_t want, const char *name,
    const char *description, struct org *o)
{
	return org_update_mfa(db, a, want, name, description, NULL, o);
}

/* Inside the caller's transaction: organization id's require_mfa set to
 * policy, and its live sessions restricted or freed by it.  ERR_OK,
 * ERR_DB. */
static enum err
org_put_mfa(struct db *db, int64_t id, const char *policy)
{
	struct db_arg p[] = { DB_STR(policy), DB_INT(id) };
	struct db_arg s[] = { DB_INT(id), DB_INT((int64_t)time(NULL)) };

	if (db_exec(db, STMT_ORG_SET_MFA, p, 2, NULL, NULL) != DB_OK ||
	    db_exec(db, STMT_SESSION_MFA_POLICY, s, 2, NULL, NULL) != DB_OK)
		return ERR_DB;
	return ERR_OK;
}

enum err
org_update_mfa(struct db *db, const struct actor *a, int64_t want,
    const char *name, const char *description, const char *require_mfa,
    struct org *o)
{
	char detail[32] = "";
	enum db_rc rc;
	int64_t id;
	enum err e;

	if (require_mfa != NULL && !org_mfa_policy_ok(require_mfa))
		return ERR_INVALID_FIELD;
	/* Who must have a second factor is for people to decide, not for
	 * a key, which has none. */
	if (require_mfa != NULL && a->key_id != 0)
		return ERR_FORBIDDEN;

	if ((e = actor_scope(db, a, want, &id)) != ERR_OK)
		return e;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = org_get(db, id, o)) != ERR_OK)
		goto rollback;
	{
		struct db_arg q[] = {
			DB_STR(name != NULL ? name : o->name),
			DB_STR(
			    description != NULL ? description : o->description),
			DB_INT(id),
		};

		rc = db_exec(db, STMT_ORG_UPDATE, q, 3, NULL, NULL);
	}
	if (rc != DB_OK) {
		e = rc == DB_DUP ? ERR_ORG_TAKEN : db_err(rc);
		goto rollback;
	}
	if (require_mfa != NULL && strcmp(require_mfa, o->require_mfa) != 0) {
		if ((e = org_put_mfa(db, id, require_mfa)) != ERR_OK)
			goto rollback;
		(void)snprintf(detail, sizeof(detail), "require_mfa=%s",
		    require_mfa);
	}
	if ((e = audit_log(db, a, AUDIT_ORG_UPDATE, id, id,
		 detail[0] != '\0' ? detail : NULL)) != ERR_OK)
		goto rollback;
	if ((e = db_err(db_commit(db))) != ERR_OK)
		return e;
	return org_get(db, id, o);
rollback:
	db_rollback(db);
	return e;
}

enum err
org_delete(struct db *db, const struct actor *a, int64_t id)
{
	struct db_arg q[] = { DB_INT(id) };
	struct db_rows *r = NULL;
	long long supers, here;
	uint64_t n = 0;
	enum err e;

	if (db_begin(db) != DB_OK)
		return ERR_DB;
	/* Lock every active superadmin: a racing demotion waits. */
	if (db_query(db, STMT_ADM_SUPERADMINS_LOCK, NULL, 0, &r) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	supers = (long long)r->nrows;
	db_rows_free(r);
	r = NULL;
	if (db_query(db, STMT_ORG_SUPERADMINS, q, 1, &r) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	here = db_int(r, 0, COL_VALUE);
	db_rows_free(r);
	r = NULL;
	if (here > 0 && supers - here < 1) {
		e = ERR_LAST_ADMIN;
		goto rollback;
	}
	if (db_exec(db, STMT_ORG_DELETE, q, 1, &n, NULL) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	if (n != 1) {
		e = ERR_NOT_FOUND;
		goto rollback;
	}
	if ((e = audit_log(db, a, AUDIT_ORG_DELETE, 0, id, NULL)) != ERR_OK)
		goto rollback;
	return db_err(db_commit(db));
rollback:
	db_rollback(db);
	return e;
}

enum err
org_create(struct db *db, const struct conf *conf, const struct actor *a,
    const char *name, const char *description, const char *admin_email,
    const char *inviter, char *code, struct org *o, struct invite *inv)
{
	unsigned char h[TOK_HASH_LEN];
	struct notify_mail m = { "" };
	int64_t id = 0;
	enum err e;

	code[0] = '\0';
	memset(inv, 0, sizeof(*inv));
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	/* With admin_email, the organization and its admin's invitation
	 * come together or not at all. */
	if ((e = org_insert(db, name, description, &id)) != ERR_OK ||
	    (admin_email != NULL &&
		(e = invite_put(db, conf, a, id, admin_email, ROLE_ADMIN,
		     inviter, code, h, inv, &m)) != ERR_OK) ||
	    (e = audit_log(db, a, AUDIT_ORG_CREATE, id, id, name)) != ERR_OK) {
		db_rollback(db);
		notify_abort(conf, &m);
		tok_cleanse(code, TOK_STR_SIZE);
		return e;
	}
	if (admin_email != NULL)
		e = invite_commit(db, conf, h, code, &m);
	else
		e = db_err(db_commit(db));
	if (e != ERR_OK)
		return e;
	return org_get(db, id, o);
}

enum err
org_list(struct db *db, const char *q, int64_t limit, int64_t offset,
    int64_t *total, void (*fn)(const struct org *, void *), void *arg)
{
	char pat[1100];
	struct db_rows *r = NULL;
	struct org o;
	size_t i;

	if (user_like_pattern(q, pat, sizeof(pat)) == -1)
		return ERR_INVALID_FIELD;
	struct db_arg a[] = { DB_STR(pat), DB_STR(pat), DB_INT(limit),
		DB_INT(offset) };
	if (db_query(db, STMT_ORG_COUNT, a, 2, &r) != DB_OK)
		return ERR_DB;
	*total = db_int(r, 0, COL_VALUE);
	db_rows_free(r);
	if (db_query(db, STMT_ORG_LIST, a, 4, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		org_from_row(r, i, &o);
		fn(&o, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}

enum err
org_auth_skip(struct db *db)
{
	struct db_arg a[2];
	int req = org_setup_required(db);
	enum err e;

	if (req == -1)
		return ERR_DB;
	if (req == 0)
		return ERR_SETUP_DONE;
	a[0] = DB_STR("auth");
	a[1] = DB_STR("disabled");
	if ((e = db_err(db_exec(db, STMT_META_SET, a, 2, NULL, NULL))) !=
	    ERR_OK)
		return e;
	log_warnx(
	    "setup: authentication skipped: the authorizer lets every "
	    "request through until a user exists");
	return ERR_OK;
}

int
org_auth_enabled(struct db *db, const struct conf *conf)
{
	struct db_rows *r = NULL;
	struct db_arg a[1];
	int req, skipped;

	if (!conf->auth_enabled)
		return 0;
	a[0] = DB_STR("auth");
	if (db_query(db, STMT_META_GET, a, 1, &r) != DB_OK)
		return -1;
	skipped = r->nrows == 1 && db_cell(r, 0, COL_VALUE) != NULL &&
	    strcmp(db_cell(r, 0, COL_VALUE), "disabled") == 0;
	db_rows_free(r);
	if (!skipped)
		return 1;
	if ((req = org_setup_required(db)) == -1)
		return -1;
	return !req;
}
