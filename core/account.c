/*
 * account.c: signing in and out, new passwords, disabling: an account's
 * changes that involve its sessions, each in one transaction.
 */
#include <string.h>
#include <time.h>

#include "account.h"
#include "apikey.h"
#include "audit.h"
#include "limit.h"
#include "log.h"
#include "mfa.h"
#include "pw.h"
#include "tok.h"

/* A refused sign-in: a log line and its audit entry, by the account
 * named when there is one. */
static void
login_refused(struct db *db, const struct actor *a, const struct user *u,
    enum err e)
{
	struct actor who = user_actor(u, a->ip);
	int disabled = e == ERR_ACCOUNT_DISABLED;

	log_info("account: sign-in refused (%s) from %s",
	    disabled ? "disabled" : "credentials", a->ip);
	(void)audit_log(db, &who, AUDIT_LOGIN_FAILURE, u->org_id, u->id,
	    disabled ? "disabled" : "invalid credentials");
}

/*
 * Inside the sign-in's transaction: the stale hash st replaced by mcf
 * (latch's scrypt of the same password), with its audit entry
 * ("password.upgrade", the old kind) when the row still held it.
 */
static enum err
login_upgrade(struct db *db, const struct actor *who, const struct user *u,
    const struct user_stale *st, const char *mcf)
{
	enum err e;
	int done = 0;

	if ((e = user_upgrade_password(db, u->id, st, mcf, &done)) != ERR_OK ||
	    !done)
		return e;
	log_info(
	    "account: the password hash of user %lld upgraded from %s "
	    "to scrypt at the configured cost",
	    (long long)u->id, pw_kind_name(st->kind));
	return audit_log(db, who, AUDIT_PASSWORD_UPGRADE, u->org_id, u->id,
	    pw_kind_name(st->kind));
}

/*
 * The sign-in's transaction, once the password is right: the account's
 * last sign-in, its audit entry, the upgraded hash (mcf when st->stale)
 * and a new session, whose tokens go to t.  Run again from its start
 * when the server says so (db_retry()).
 */
static enum err
login_open(struct db *db, const struct conf *conf, const struct actor *who,
    struct user *u, const struct user_stale *st, const char *mcf, int remember,
    const char *ua, struct session_tokens *t)
{
	struct session_new sn;
	int64_t now = (int64_t)time(NULL);
	enum err e;
	int n = 0;

	do {
		if (db_begin(db) != DB_OK)
			return ERR_DB;
		if ((e = user_put_login(db, u->id, now)) != ERR_OK ||
		    (e = audit_log(db, who, AUDIT_LOGIN_SUCCESS, u->org_id,
			 u->id, NULL)) != ERR_OK ||
		    (st->stale &&
			(e = login_upgrade(db, who, u, st, mcf)) != ERR_OK) ||
		    (e = session_open(db, conf, u, remember, ua, who->ip, &sn,
			 t)) != ERR_OK)
			db_rollback(db);
		else
			e = session_commit_open(db, conf, u, &sn, t);
	} while (e == ERR_DB && db_retry(db, &n));
	if (e == ERR_OK)
		u->last_login_at = now;
	return e;
}

enum err
account_login(struct db *db, const struct conf *conf, const struct actor *a,
    const char *login, const char *password, int flags, const char *ua,
    struct user *u, struct session_tokens *t)
{
	char mcf[PW_MCF_SIZE] = "";
	struct user_stale st;
	struct actor who;
	int remember = (flags & ACCOUNT_REMEMBER) != 0;
	enum err e;

	memset(t, 0, sizeof(*t));
	e = user_authenticate(db, conf, login, password, u, &st);
	if (e == ERR_TOO_MANY_ATTEMPTS)
		limit_refused("account", u->id, u->retry_after, a->ip);
	if (e == ERR_INVALID_CREDENTIALS || e == ERR_ACCOUNT_DISABLED)
		login_refused(db, a, u, e);
	if (e != ERR_OK)
		goto out;
	/* The password is right; a second step follows, which signs in. */
	if (u->totp) {
		e = mfa_challenge(db, u, remember, flags & ACCOUNT_COOKIE, t);
		goto out;
	}
	who = user_actor(u, a->ip);
	t->restricted = u->mfa_required;
	/* A stale hash's successor, made before the transaction (no lock
	 * is held for its cost); if it cannot be made, the sign-in goes on
	 * and the next one tries again. */
	if (st.stale &&
	    user_hash_password(conf, password, mcf, sizeof(mcf)) != ERR_OK)
		st.stale = 0;
	e = login_open(db, conf, &who, u, &st, mcf, remember, ua, t);
out:
	tok_cleanse(mcf, sizeof(mcf));
	tok_cleanse(&st, sizeof(st));
	return e;
}

static enum err
logout_tx(struct db *db, const struct actor *a, int64_t sid, int all)
{
	enum err e;

	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if (all)
		e = session_revoke_user(db, a->user_id, 0);
	else if ((e = session_revoke(db, a->user_id, sid)) == ERR_NOT_FOUND)
		e = ERR_OK; /* expired meanwhile: logged out all the same */
	if (e != ERR_OK ||
	    (e = audit_log(db, a, AUDIT_LOGOUT, a->org_id, a->user_id,
		 all ? "all" : NULL)) != ERR_OK) {
		db_rollback(db);
		return e;
	}
	return db_err(db_commit(db));
}

enum err
account_logout(struct db *db, const struct actor *a, int64_t sid, int all)
{
	enum err e;
	int n = 0;

	do
		e = logout_tx(db, a, sid, all);
	while (e == ERR_DB && db_retry(db, &n));
	return e;
}

/*
 * In one transaction: mcf as the password of account id, every session of
 * it but keep (0: none) ended, and (with a) the audit entry by a.
 */
static enum err
password_store(struct db *db, const struct actor *a, int64_t id, int64_t keep,
    const char *mcf)
{
	enum err e;
	int n = 0;

	do {
		if (db_begin(db) != DB_OK)
			return ERR_DB;
		if ((e = user_put_password(db, id, mcf)) != ERR_OK ||
		    (e = session_revoke_user(db, id, keep)) != ERR_OK ||
		    (a != NULL &&
			(e = audit_log(db, a, AUDIT_PASSWORD_CHANGE, a->org_id,
			     id, NULL)) != ERR_OK))
			db_rollback(db);
		else
			e = user_commit(db, id, mcf);
	} while (e == ERR_DB && db_retry(db, &n));
	return e;
}

enum err
account_password(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t sid, const char *current, const char *password, int *retry_after)
{
	char mcf[PW_MCF_SIZE];
	enum err e;

	e = user_check_password(db, conf, a->user_id, current, retry_after);
	if (e == ERR_TOO_MANY_ATTEMPTS)
		limit_refused("account", a->user_id, *retry_after, a->ip);
	if (e != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_SESSION_REVOKED : e;
	/* Hashed before the transaction: no lock is held for its cost. */
	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) ==
	    ERR_OK)
		e = password_store(db, a, a->user_id, sid, mcf);
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

enum err
account_set_password(struct db *db, const struct conf *conf, int64_t id,
    const char *password)
{
	char mcf[PW_MCF_SIZE];
	enum err e;

	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) ==
	    ERR_OK)
		e = password_store(db, NULL, id, 0, mcf);
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

enum err
account_set_disabled(struct db *db, int64_t id, int disabled)
{
	struct actor nobody = { 0, 0, ROLE_SUPERADMIN, "", 0 };
	struct user u;
	enum err e;
	int n = 0;

	do {
		if (db_begin(db) != DB_OK)
			return ERR_DB;
		if ((e = user_get(db, id, &u)) != ERR_OK ||
		    (e = user_put_disabled(db, id, disabled)) != ERR_OK ||
		    (disabled &&
			(e = session_revoke_user(db, id, 0)) != ERR_OK) ||
		    (disabled && !u.disabled &&
			(e = apikey_revoke_user(db, &nobody, id,
			     "creator disabled")) != ERR_OK))
			db_rollback(db);
		else
			e = db_err(db_commit(db));
	} while (e == ERR_DB && db_retry(db, &n));
	return e;
}
