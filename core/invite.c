/*
 * invite.c: invitations.
 */
#include <string.h>
#include <time.h>

#include "invite.h"
#include "limit.h"
#include "log.h"
#include "notify.h"
#include "org.h"
#include "pw.h"
#include "valid.h"
#include "str.h"

static enum role
row_role(const char *s)
{
	int r = role_parse(s != NULL ? s : "");

	return r < 0 ? ROLE_USER : (enum role)r;
}

/* Hash a presented code; codes of another shape are simply unknown. */
static int
code_hash(const char *code, unsigned char h[TOK_HASH_LEN])
{
	size_t n = strlen(code);

	if (n < 22 || n >= TOK_STR_SIZE)
		return -1;
	return tok_hash(code, n, h);
}

/* Judge a looked-up row: unknown/revoked, used, expired, or fine. */
static enum err
judge(const struct db_rows *r, int64_t now)
{
	if (r->nrows != 1 || db_cell(r, 0, COL_INV_REVOKED) != NULL)
		return ERR_INVALID_INVITATION;
	if (db_cell(r, 0, COL_INV_USED) != NULL)
		return ERR_INVITATION_USED;
	if (db_int(r, 0, COL_INV_EXPIRES) <= now)
		return ERR_INVITATION_EXPIRED;
	return ERR_OK;
}

static enum err
new_code(char *code, unsigned char h[TOK_HASH_LEN])
{
	if (tok_new(INVITE_CODE_BYTES, code, TOK_STR_SIZE) == -1 ||
	    tok_hash(code, strlen(code), h) == -1)
		return ERR_SYS;
	return ERR_OK;
}

static enum err
org_name_of(struct db *db, int64_t org, struct invite *out)
{
	struct org o;
	enum err e;

	if ((e = org_get(db, org, &o)) != ERR_OK)
		return e;
	str_copy(out->org_name, sizeof(out->org_name), o.name);
	return ERR_OK;
}

/*
 * Commit the transaction that gave an invitation the code hashed as h,
 * with its mail m if one is held (notify_commit()), finding out on a new
 * connection if the commit's answer was lost.  The code is cleansed
 * unless it was stored.  ERR_OK, ERR_DB, ERR_UNKNOWN.
 */
static enum err
invite_commit(struct db *db, const struct conf *conf,
    const unsigned char h[TOK_HASH_LEN], char *code, struct notify_mail *m)
{
	struct db_arg w[] = { DB_BLOB(h, TOK_HASH_LEN) };
	enum err e;

	if (m->id[0] != '\0')
		e = notify_commit(db, conf, m);
	else
		e = db_err(db_commit_check(db, STMT_W_INVITE, w, 1));
	if (e != ERR_OK)
		tok_cleanse(code, TOK_STR_SIZE);
	return e;
}

enum err
invite_create(struct db *db, const struct conf *conf, int64_t org,
    const char *email, enum role role, int64_t by, const char *inviter,
    char *code, struct invite *out)
{
	unsigned char h[TOK_HASH_LEN];
	char norm[255];
	struct notify_mail m = { "" };
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL);
	uint64_t id = 0;
	enum db_rc rc;
	enum err e;

	memset(out, 0, sizeof(*out));
	if (valid_email_norm(email, norm, sizeof(norm)) == -1)
		return ERR_INVALID_FIELD;
	if ((e = new_code(code, h)) != ERR_OK)
		return e;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = org_name_of(db, org, out)) != ERR_OK)
		goto rollback;
	{
		struct db_arg a[] = { DB_STR(norm) };

		if (db_query(db, STMT_USER_EMAIL_EXISTS, a, 1, &r) != DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
		e = r->nrows > 0 ? ERR_EMAIL_TAKEN : ERR_OK;
		db_rows_free(r);
		if (e != ERR_OK)
			goto rollback;
	}
	{
		struct db_arg a[] = {
			DB_INT(org), DB_STR(email), DB_STR(norm),
			DB_STR(role_name(role)), DB_BLOB(h, sizeof(h)),
			by > 0 ? DB_INT(by) : DB_NULLARG, DB_INT(now),
			DB_INT(now + conf->invitation_ttl),
		};

		rc = db_exec(db, STMT_INV_INSERT, a, 8, NULL, &id);
	}
	if (rc != DB_OK) {
		e = rc == DB_FK ? ERR_NOT_FOUND : ERR_DB;
		goto rollback;
	}
	out->id = (int64_t)id;
	out->org_id = org;
	str_copy(out->email, sizeof(out->email), email);
	out->role = role;
	out->created_at = now;
	out->expires_at = now + conf->invitation_ttl;
	out->invited_by = by;
	/* The mail claim commits or rolls back with the invitation. */
	if (inviter != NULL && ((e = limit_mail(db, conf, LIMIT_MAIL_INVITE,
	    norm, &out->retry_after)) != ERR_OK ||
	    (e = notify_invite(db, conf, out, code, inviter, &m)) != ERR_OK))
		goto rollback;
	return invite_commit(db, conf, h, code, &m);
rollback:
	db_rollback(db);
	notify_abort(conf, &m);
	tok_cleanse(code, TOK_STR_SIZE);
	return e;
}

enum err
invite_preview(struct db *db, const char *code, struct invite *out)
{
	unsigned char h[TOK_HASH_LEN];
	struct db_rows *r = NULL;
	enum err e;

	memset(out, 0, sizeof(*out));
	if (code_hash(code, h) == -1)
		return ERR_INVALID_INVITATION;
	struct db_arg a[] = { DB_BLOB(h, sizeof(h)) };
	if (db_query(db, STMT_INV_PREVIEW, a, 1, &r) != DB_OK)
		return ERR_DB;
	if ((e = judge(r, (int64_t)time(NULL))) == ERR_OK) {
		out->id = db_int(r, 0, COL_INV_ID);
		out->org_id = db_int(r, 0, COL_INV_ORG);
		str_copy(out->email, sizeof(out->email), db_cell(r, 0, COL_INV_EMAIL));
		out->role = row_role(db_cell(r, 0, COL_INV_ROLE));
		out->expires_at = db_int(r, 0, COL_INV_EXPIRES);
		str_copy(out->org_name, sizeof(out->org_name),
		    db_cell(r, 0, COL_INV_ORG_NAME));
	}
	db_rows_free(r);
	return e;
}

enum err
invite_accept(struct db *db, const struct conf *conf, const char *code,
    const char *username, const char *name, const char *password,
    int64_t *uid, struct invite *inv)
{
	unsigned char h[TOK_HASH_LEN];
	char mcf[PW_MCF_SIZE];
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL);
	uint64_t n = 0;
	enum err e;

	memset(inv, 0, sizeof(*inv));
	if (code_hash(code, h) == -1)
		return ERR_INVALID_INVITATION;
	/* Cheap refusal first: no hash work for a dead code. */
	if ((e = invite_preview(db, code, inv)) != ERR_OK)
		return e;
	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) !=
	    ERR_OK)
		return e;
	struct db_arg a[] = { DB_BLOB(h, sizeof(h)) };
	if (db_begin(db) != DB_OK) {
		e = ERR_DB;
		goto done;
	}
	/* The row lock makes racing registrations on one code wait here;
	 * the losers then see it used. */
	if (db_query(db, STMT_INV_LOOKUP, a, 1, &r) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	if ((e = judge(r, now)) != ERR_OK)
		goto rollback;
	inv->id = db_int(r, 0, COL_INV_ID);
	inv->org_id = db_int(r, 0, COL_INV_ORG);
	str_copy(inv->email, sizeof(inv->email), db_cell(r, 0, COL_INV_EMAIL));
	inv->role = row_role(db_cell(r, 0, COL_INV_ROLE));
	if ((e = user_insert(db, inv->org_id, username, inv->email, name, mcf,
	    inv->role, uid)) != ERR_OK)
		goto rollback;
	{
		struct db_arg u[] = { DB_INT(now), DB_INT(*uid), DB_INT(inv->id) };

		if (db_exec(db, STMT_INV_USE, u, 3, &n, NULL) != DB_OK ||
		    n != 1) {
			e = n != 1 ? ERR_INVITATION_USED : ERR_DB;
			goto rollback;
		}
	}
	e = user_commit(db, *uid, mcf);
	goto done;
rollback:
	db_rollback(db);
done:
	db_rows_free(r);
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

static void
invite_from_list_row(const struct db_rows *r, size_t i, int64_t org,
    struct invite *inv)
{
	memset(inv, 0, sizeof(*inv));
	inv->id = db_int(r, i, COL_ILIST_ID);
	inv->org_id = org;
	str_copy(inv->email, sizeof(inv->email), db_cell(r, i, COL_ILIST_EMAIL));
	inv->role = row_role(db_cell(r, i, COL_ILIST_ROLE));
	inv->created_at = db_int(r, i, COL_ILIST_CREATED);
	inv->expires_at = db_int(r, i, COL_ILIST_EXPIRES);
	inv->invited_by = db_int(r, i, COL_ILIST_INVITED_BY);
}

enum err
invite_foreach(struct db *db, int64_t org,
    void (*fn)(const struct invite *, void *), void *arg)
{
	struct db_arg a[] = { DB_INT(org), DB_INT((int64_t)time(NULL)) };
	struct db_rows *r = NULL;
	struct invite inv;
	size_t i;

	if (db_query(db, STMT_INV_LIST, a, 2, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		invite_from_list_row(r, i, org, &inv);
		fn(&inv, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}

enum err
invite_revoke(struct db *db, int64_t org, int64_t id)
{
	struct db_arg a[] = { DB_INT((int64_t)time(NULL)), DB_INT(id),
	    DB_INT(org) };
	uint64_t n = 0;
	enum db_rc rc;

	if ((rc = db_exec(db, STMT_INV_REVOKE, a, 3, &n, NULL)) != DB_OK)
		return db_err(rc);
	return n == 1 ? ERR_OK : ERR_NOT_FOUND;
}

enum err
invite_resend(struct db *db, const struct conf *conf, int64_t org,
    int64_t id, const char *inviter, char *code, struct invite *out)
{
	unsigned char h[TOK_HASH_LEN];
	struct notify_mail m = { "" };
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL);
	uint64_t n = 0;
	enum err e;

	if ((e = new_code(code, h)) != ERR_OK)
		return e;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	struct db_arg a[] = {
		DB_BLOB(h, sizeof(h)), DB_INT(now + conf->invitation_ttl),
		DB_INT(id), DB_INT(org),
	};
	if (db_exec(db, STMT_INV_RECODE, a, 4, &n, NULL) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	if (n != 1) {
		e = ERR_NOT_FOUND;
		goto rollback;
	}
	{
		struct db_arg g[] = { DB_INT(id), DB_INT(org) };

		if (db_query(db, STMT_INV_GET, g, 2, &r) != DB_OK ||
		    r->nrows != 1) {
			e = ERR_DB;
			goto rollback;
		}
	}
	invite_from_list_row(r, 0, org, out);
	out->retry_after = 0;
	if ((e = org_name_of(db, org, out)) != ERR_OK ||
	    (e = limit_mail(db, conf, LIMIT_MAIL_INVITE, out->email,
	    &out->retry_after)) != ERR_OK ||
	    (e = notify_invite(db, conf, out, code, inviter, &m)) != ERR_OK)
		goto rollback;
	db_rows_free(r);
	return invite_commit(db, conf, h, code, &m);
rollback:
	db_rows_free(r);
	db_rollback(db);
	notify_abort(conf, &m);
	tok_cleanse(code, TOK_STR_SIZE);
	return e;
}
