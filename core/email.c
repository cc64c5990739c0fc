/*
 * email.c: changes of an account's email address.
 */
#include <string.h>
#include <time.h>

#include "audit.h"
#include "email.h"
#include "limit.h"
#include "log.h"
#include "notify.h"
#include "tok.h"
#include "valid.h"

int
email_same(const char *current, const char *email)
{
	char a[255], b[255];

	return valid_email_norm(current, a, sizeof(a)) == 0 &&
	    valid_email_norm(email, b, sizeof(b)) == 0 && strcmp(a, b) == 0;
}

/* Is an account using the address whose normal form is norm? */
static enum err
email_taken(struct db *db, const char *norm)
{
	struct db_arg a[] = { DB_STR(norm) };
	struct db_rows *r = NULL;
	enum err e;

	if (db_query(db, STMT_USER_EMAIL_EXISTS, a, 1, &r) != DB_OK)
		return ERR_DB;
	e = r->nrows > 0 ? ERR_EMAIL_TAKEN : ERR_OK;
	db_rows_free(r);
	return e;
}

/* A refusal by a limit of what a asked: logged for fail2ban. */
static enum err
email_refused(const struct actor *a, enum err e, int retry_after)
{
	if (e == ERR_TOO_MANY_ATTEMPTS || e == ERR_TOO_MANY_REQUESTS)
		limit_refused(e == ERR_TOO_MANY_ATTEMPTS ? "account" : "mail",
		    a->user_id, retry_after, a->ip);
	return e;
}

enum err
email_profile_update(struct db *db, const struct conf *conf,
    const struct actor *a, const char *name, const char *email,
    const char *password, struct user *u, int *pending, int *retry_after)
{
	char norm[255], curnorm[255], token[TOK_STR_SIZE];
	unsigned char h[TOK_HASH_LEN];
	struct notify_mail m = { "" };
	int64_t now = (int64_t)time(NULL), id = a->user_id;
	struct user cur;
	enum err e;

	*pending = 0;
	*retry_after = 0;
	if ((e = user_get(db, id, &cur)) != ERR_OK)
		return e;
	if (email == NULL || email_same(cur.email, email))
		return user_update_profile(db, id, name, email, u);
	if (password == NULL)
		return ERR_INVALID_FIELD;
	if (valid_email_norm(email, norm, sizeof(norm)) == -1 ||
	    valid_email_norm(cur.email, curnorm, sizeof(curnorm)) == -1)
		return ERR_SYS; /* the caller checked the address */
	/* The password first: nothing else is told without it. */
	if ((e = user_check_password(db, conf, id, password, retry_after)) !=
		ERR_OK ||
	    (e = email_taken(db, norm)) != ERR_OK)
		return email_refused(a, e, *retry_after);
	if (tok_new(32, token, sizeof(token)) == -1 ||
	    tok_hash(token, strlen(token), h) == -1) {
		e = ERR_SYS;
		goto done;
	}
	if (db_begin(db) != DB_OK) {
		e = ERR_DB;
		goto done;
	}
	{
		struct db_arg n[] = {
			DB_STR(name != NULL ? name : cur.name),
			DB_STR(cur.email),
			DB_STR(curnorm),
			DB_INT(now),
			DB_INT(id),
		};
		struct db_arg p[] = {
			DB_INT(id),
			DB_STR(email),
			DB_STR(norm),
			DB_BLOB(h, sizeof(h)),
			DB_INT(now),
			DB_INT(now + conf->email_change_ttl),
		};

		if ((name != NULL &&
			db_exec(db, STMT_USER_SET_PROFILE, n, 5, NULL, NULL) !=
			    DB_OK) ||
		    db_exec(db, STMT_EMAIL_CHANGE_PUT, p, 6, NULL, NULL) !=
			DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	/* The mail limit's claim commits or rolls back with the change. */
	if ((e = limit_mail(db, conf, LIMIT_MAIL_EMAIL, email, retry_after)) !=
		ERR_OK ||
	    (e = notify_email_confirm(db, conf, &cur, email, token,
		 now + conf->email_change_ttl, &m)) != ERR_OK ||
	    (e = audit_log(db, a, AUDIT_EMAIL_CHANGE_REQUEST, cur.org_id, id,
		 email)) != ERR_OK)
		goto rollback;
	if ((e = notify_commit(db, conf, &m)) != ERR_OK)
		goto done;
	*pending = 1;
	e = user_get(db, id, u);
	goto done;
rollback:
	db_rollback(db);
	notify_abort(conf, &m);
	(void)email_refused(a, e, *retry_after);
done:
	tok_cleanse(token, sizeof(token));
	return e;
}

enum err
email_changed(struct db *db, const struct conf *conf, const struct user *before,
    const char *new_email, int by_admin, struct notify_mail *m)
{
	struct db_arg d[] = { DB_INT(before->id) };
	struct db_arg r[] = { DB_INT((int64_t)time(NULL)), DB_INT(before->id) };

	if (db_exec(db, STMT_EMAIL_CHANGE_DELETE, d, 1, NULL, NULL) != DB_OK ||
	    db_exec(db, STMT_RESET_USE, r, 2, NULL, NULL) != DB_OK)
		return ERR_DB;
	return notify_email_changed(db, conf, before, new_email, by_admin, m);
}

enum err
email_confirm(struct db *db, const struct conf *conf, const struct actor *a,
    const char *token, struct user *u)
{
	unsigned char h[TOK_HASH_LEN];
	struct notify_mail m = { "" };
	struct db_rows *r = NULL;
	struct user before;
	struct actor who;
	int64_t now = (int64_t)time(NULL), uid = 0;
	size_t n = strlen(token);
	enum db_rc rc;
	enum err e;

	if (n < 22 || n >= TOK_STR_SIZE || tok_hash(token, n, h) == -1)
		return ERR_BAD_EMAIL_TOKEN;
	struct db_arg k[] = { DB_BLOB(h, sizeof(h)) };
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if (db_query(db, STMT_EMAIL_CHANGE_LOOKUP, k, 1, &r) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	if (r->nrows != 1 || db_int(r, 0, COL_ECHANGE_EXPIRES) <= now ||
	    db_int(r, 0, COL_ECHANGE_DISABLED)) {
		e = ERR_BAD_EMAIL_TOKEN;
		goto rollback;
	}
	uid = db_int(r, 0, COL_ECHANGE_UID);
	if ((e = user_get(db, uid, &before)) != ERR_OK) {
		e = e == ERR_NOT_FOUND ? ERR_BAD_EMAIL_TOKEN : e;
		goto rollback;
	}
	{
		struct db_arg s[] = {
			DB_STR(db_cell(r, 0, COL_ECHANGE_EMAIL)),
			DB_STR(db_cell(r, 0, COL_ECHANGE_NORM)),
			DB_INT(now),
			DB_INT(uid),
		};

		rc = db_exec(db, STMT_USER_SET_EMAIL, s, 4, NULL, NULL);
	}
	if (rc != DB_OK) {
		e = rc == DB_DUP ? ERR_EMAIL_TAKEN : ERR_DB;
		goto rollback;
	}
	who = user_actor(&before, a->ip);
	if ((e = email_changed(db, conf, &before,
		 db_cell(r, 0, COL_ECHANGE_EMAIL), 0, &m)) != ERR_OK ||
	    (e = audit_log(db, &who, AUDIT_EMAIL_CHANGE, before.org_id, uid,
		 db_cell(r, 0, COL_ECHANGE_EMAIL))) != ERR_OK)
		goto rollback;
	db_rows_free(r);
	if ((e = notify_commit(db, conf, &m)) != ERR_OK)
		return e;
	log_info("email: user %lld confirmed a new address", (long long)uid);
	return user_get(db, uid, u);
rollback:
	db_rollback(db);
	notify_abort(conf, &m);
	db_rows_free(r);
	return e;
}
