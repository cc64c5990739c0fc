/*
 * invite.c: invitations.
 */
#include <string.h>
#include <time.h>

#include "audit.h"
#include "invite.h"
#include "limit.h"
#include "log.h"
#include "notify.h"
#include "pw.h"
#include "session.h"
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

static void
invite_from_list_row(const struct db_rows *r, size_t i, int64_t org,
    struct invite *inv)
{
	memset(inv, 0, sizeof(*inv));
	inv->id = db_int(r, i, COL_ILIST_ID);
	inv->org_id = org;
	str_copy(inv->email, sizeof(inv->email),
	    db_cell(r, i, COL_ILIST_EMAIL));
	inv->role = row_role(db_cell(r, i, COL_ILIST_ROLE));
	inv->created_at = db_int(r, i, COL_ILIST_CREATED);
	inv->expires_at = db_int(r, i, COL_ILIST_EXPIRES);
	inv->invited_by = db_int(r, i, COL_ILIST_INVITED_BY);
}

/*
 * Pending invitation id of org into *out (with the organization's name),
 * inside the transaction that changed it.  ERR_OK, ERR_DB.
 */
static enum err
invite_get(struct db *db, int64_t org, int64_t id, struct invite *out)
{
	struct db_arg g[] = { DB_INT(id), DB_INT(org) };
	struct db_rows *r = NULL;
	enum err e = ERR_DB;

	if (db_query(db, STMT_INV_GET, g, 2, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows == 1) {
		invite_from_list_row(r, 0, org, out);
		str_copy(out->org_name, sizeof(out->org_name),
		    db_cell(r, 0, COL_ILIST_ORG_NAME));
		e = ERR_OK;
	}
	db_rows_free(r);
	return e;
}

/*
 * The mail of invitation inv with code, from inviter, held in m inside
 * the caller's transaction, after the address's mail limit (whose claim
 * commits or rolls back with the invitation; a refusal is logged as a's).
 */
static enum err
invite_mail(struct db *db, const struct conf *conf, const struct actor *a,
    struct invite *inv, const char *code, const char *inviter,
    struct notify_mail *m)
{
	enum err e;

	inv->retry_after = 0;
	if ((e = limit_mail(db, conf, LIMIT_MAIL_INVITE, inv->email,
		 &inv->retry_after)) == ERR_TOO_MANY_REQUESTS)
		limit_refused("mail", a->user_id, inv->retry_after, a->ip);
	if (e != ERR_OK)
		return e;
	return notify_invite(db, conf, inv->org_name, inv->email,
	    role_name(inv->role), inv->expires_at, code, inviter, m);
}

enum err
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
invite_put(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t org, const char *email, enum role role, const char *inviter,
    char *code, unsigned char h[TOK_HASH_LEN], struct invite *out,
    struct notify_mail *m)
{
	char norm[255];
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
	{
		struct db_arg q[] = { DB_STR(norm) };

		if (db_query(db, STMT_USER_EMAIL_EXISTS, q, 1, &r) != DB_OK)
			return ERR_DB;
		e = r->nrows > 0 ? ERR_EMAIL_TAKEN : ERR_OK;
		db_rows_free(r);
		if (e != ERR_OK)
			return e;
	}
	{
		struct db_arg q[] = {
			DB_INT(org),
			DB_STR(email),
			DB_STR(norm),
			DB_STR(role_name(role)),
			DB_BLOB(h, TOK_HASH_LEN),
			a->user_id > 0 ? DB_INT(a->user_id) : DB_NULLARG,
			DB_INT(now),
			DB_INT(now + conf->invitation_ttl),
		};

		rc = db_exec(db, STMT_INV_INSERT, q, 8, NULL, &id);
	}
	if (rc != DB_OK)
		return rc == DB_FK ? ERR_NOT_FOUND : ERR_DB;
	if ((e = invite_get(db, org, (int64_t)id, out)) != ERR_OK ||
	    (e = audit_log(db, a, AUDIT_INVITATION_CREATE, org, out->id,
		 email)) != ERR_OK)
		return e;
	if (inviter != NULL)
		return invite_mail(db, conf, a, out, code, inviter, m);
	return ERR_OK;
}

enum err
invite_create(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t want, const char *email, enum role role, const char *inviter,
    char *code, struct invite *out)
{
	unsigned char h[TOK_HASH_LEN];
	struct notify_mail m = { "" };
	int64_t org;
	enum err e;

	memset(out, 0, sizeof(*out));
	code[0] = '\0';
	if ((e = actor_may_act_on(a, role)) != ERR_OK ||
	    (e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = invite_put(db, conf, a, org, email, role, inviter, code, h,
		 out, &m)) != ERR_OK) {
		db_rollback(db);
		notify_abort(conf, &m);
		tok_cleanse(code, TOK_STR_SIZE);
		return e;
	}
	return invite_commit(db, conf, h, code, &m);
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
		str_copy(out->email, sizeof(out->email),
		    db_cell(r, 0, COL_INV_EMAIL));
		out->role = row_role(db_cell(r, 0, COL_INV_ROLE));
		out->expires_at = db_int(r, 0, COL_INV_EXPIRES);
		str_copy(out->org_name, sizeof(out->org_name),
		    db_cell(r, 0, COL_INV_ORG_NAME));
	}
	db_rows_free(r);
	return e;
}

/*
 * The transaction of invite_accept(): the invitation (code hash h)
 * used by a new account with password hash mcf, signed in.
 */
static enum err
invite_use(struct db *db, const struct conf *conf, const struct actor *a,
    const unsigned char h[TOK_HASH_LEN], const char *mcf, const char *username,
    const char *name, const char *ua, struct user *u, struct invite *inv,
    struct session_tokens *t)
{
	struct session_new sn;
	struct db_rows *r = NULL;
	struct actor who;
	int64_t now = (int64_t)time(NULL), uid = 0;
	uint64_t n = 0;
	enum db_rc rc;
	enum err e;

	struct db_arg q[] = { DB_BLOB(h, TOK_HASH_LEN) };
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	/* The row lock makes racing registrations on one code wait here;
	 * the losers then see it used. */
	if (db_query(db, STMT_INV_LOOKUP, q, 1, &r) != DB_OK) {
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
		 inv->role, &uid)) != ERR_OK)
		goto rollback;
	{
		struct db_arg use[] = { DB_INT(now), DB_INT(uid),
			DB_INT(inv->id) };

		if ((rc = db_exec(db, STMT_INV_USE, use, 3, &n, NULL)) !=
			DB_OK ||
		    n != 1) {
			e = rc != DB_OK ? ERR_DB : ERR_INVITATION_USED;
			goto rollback;
		}
	}
	/* The new account, audited and signed in, in the same
	 * transaction: it exists only with its session. */
	if ((e = user_get(db, uid, u)) != ERR_OK) {
		e = e == ERR_NOT_FOUND ? ERR_DB : e;
		goto rollback;
	}
	who = user_actor(u, a->ip);
	if ((e = audit_log(db, &who, AUDIT_INVITATION_ACCEPT, inv->org_id,
		 inv->id, NULL)) != ERR_OK ||
	    (e = session_open(db, conf, u, 0, ua, a->ip, &sn, t)) != ERR_OK)
		goto rollback;
	e = session_commit_open(db, conf, u, &sn, t);
	goto done;
rollback:
	db_rollback(db);
done:
	db_rows_free(r);
	return e;
}

enum err
invite_accept(struct db *db, const struct conf *conf, const struct actor *a,
    const char *code, const char *username, const char *name,
    const char *password, const char *ua, struct user *u, struct invite *inv,
    struct session_tokens *t)
{
	unsigned char h[TOK_HASH_LEN];
	char mcf[PW_MCF_SIZE];
	enum err e;
	int n = 0;

	memset(inv, 0, sizeof(*inv));
	if (code_hash(code, h) == -1)
		return ERR_INVALID_INVITATION;
	/* Cheap refusal first: no hash work for a dead code. */
	if ((e = invite_preview(db, code, inv)) != ERR_OK)
		return e;
	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) !=
	    ERR_OK)
		return e;
	do
		e = invite_use(db, conf, a, h, mcf, username, name, ua, u, inv,
		    t);
	while (e == ERR_DB && db_retry(db, &n));
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

enum err
invite_foreach(struct db *db, const struct actor *a, int64_t want,
    void (*fn)(const struct invite *, void *), void *arg)
{
	struct db_rows *r = NULL;
	struct invite inv;
	int64_t org;
	enum err e;
	size_t i;

	if ((e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	struct db_arg q[] = { DB_INT(org), DB_INT((int64_t)time(NULL)) };
	if (db_query(db, STMT_INV_LIST, q, 2, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		invite_from_list_row(r, i, org, &inv);
		fn(&inv, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}

enum err
invite_revoke(struct db *db, const struct actor *a, int64_t want, int64_t id)
{
	uint64_t n = 0;
	int64_t org;
	enum err e;

	if ((e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	struct db_arg q[] = { DB_INT((int64_t)time(NULL)), DB_INT(id),
		DB_INT(org) };
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = db_err(db_exec(db, STMT_INV_REVOKE, q, 3, &n, NULL))) !=
	    ERR_OK)
		goto rollback;
	if (n != 1) {
		e = ERR_NOT_FOUND;
		goto rollback;
	}
	if ((e = audit_log(db, a, AUDIT_INVITATION_REVOKE, org, id, NULL)) !=
	    ERR_OK)
		goto rollback;
	return db_err(db_commit(db));
rollback:
	db_rollback(db);
	return e;
}

enum err
invite_resend(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t want, int64_t id, const char *inviter, char *code,
    struct invite *out)
{
	unsigned char h[TOK_HASH_LEN];
	struct notify_mail m = { "" };
	int64_t now = (int64_t)time(NULL), org;
	uint64_t n = 0;
	enum err e;

	memset(out, 0, sizeof(*out));
	code[0] = '\0';
	if ((e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	if ((e = new_code(code, h)) != ERR_OK)
		return e;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	struct db_arg q[] = {
		DB_BLOB(h, sizeof(h)),
		DB_INT(now + conf->invitation_ttl),
		DB_INT(id),
		DB_INT(org),
	};
	if (db_exec(db, STMT_INV_RECODE, q, 4, &n, NULL) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	if (n != 1) {
		e = ERR_NOT_FOUND;
		goto rollback;
	}
	if ((e = invite_get(db, org, id, out)) != ERR_OK ||
	    (e = invite_mail(db, conf, a, out, code, inviter, &m)) != ERR_OK)
		goto rollback;
	return invite_commit(db, conf, h, code, &m);
rollback:
	db_rollback(db);
	notify_abort(conf, &m);
	tok_cleanse(code, TOK_STR_SIZE);
	return e;
}
