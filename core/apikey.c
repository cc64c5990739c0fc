/*
 * apikey.c: API keys: made, listed, revoked, checked.
 */
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "audit.h"
#include "log.h"
#include "str.h"
#include "tok.h"
#include "valid.h"

/* last_used_at is written at most this often (seconds), and so is the
 * audit entry of a refused key. */
#define APIKEY_TOUCH_INTERVAL 60

static void
apikey_from_row(const struct db_rows *r, size_t i, struct apikey *k)
{
	int role;

	memset(k, 0, sizeof(*k));
	k->id = db_int(r, i, COL_KEY_ID);
	k->org_id = db_int(r, i, COL_KEY_ORG);
	str_copy(k->name, sizeof(k->name), db_cell(r, i, COL_KEY_NAME));
	role = db_cell(r, i, COL_KEY_ROLE) != NULL ?
	    role_parse(db_cell(r, i, COL_KEY_ROLE)) :
	    -1;
	k->role = role == ROLE_ADMIN ? ROLE_ADMIN : ROLE_USER;
	k->created_by = db_int(r, i, COL_KEY_CREATED_BY);
	str_copy(k->creator, sizeof(k->creator),
	    db_cell(r, i, COL_KEY_CREATOR));
	k->created_at = db_int(r, i, COL_KEY_CREATED);
	k->expires_at = db_int(r, i, COL_KEY_EXPIRES);
	k->last_used_at = db_int(r, i, COL_KEY_LAST_USED);
}

/* Whether a may manage keys at all: a person, admin or above. */
static enum err
apikey_may_manage(const struct actor *a)
{
	if (a->key_id != 0 || a->role == ROLE_USER)
		return ERR_FORBIDDEN;
	return ERR_OK;
}

/* Key id of org into *k.  ERR_OK, ERR_NOT_FOUND, ERR_DB. */
static enum err
apikey_get_in(struct db *db, int64_t org, int64_t id, struct apikey *k)
{
	struct db_arg q[] = { DB_INT(id), DB_INT(org) };
	struct db_rows *r = NULL;
	enum err e = ERR_NOT_FOUND;

	if (db_query(db, STMT_KEY_GET, q, 2, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows == 1) {
		apikey_from_row(r, 0, k);
		e = ERR_OK;
	}
	db_rows_free(r);
	return e;
}

enum err
apikey_create(struct db *db, const struct actor *a, int64_t want,
    const char *name, enum role role, int64_t expires_at, char *key,
    size_t keysz, struct apikey *k)
{
	unsigned char h[TOK_HASH_LEN];
	int64_t org, now = (int64_t)time(NULL);
	uint64_t id = 0;
	enum err e;

	memset(k, 0, sizeof(*k));
	key[0] = '\0';
	if ((e = apikey_may_manage(a)) != ERR_OK)
		return e;
	/* No key is superadmin, and none above the role of its maker. */
	if (role == ROLE_SUPERADMIN || role > a->role)
		return ERR_FORBIDDEN;
	if (!valid_org_name(name) || (expires_at != 0 && expires_at <= now))
		return ERR_INVALID_FIELD;
	if ((e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	memset(h, 0, sizeof(h));
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	{
		struct db_arg q[] = {
			DB_INT(org),
			DB_STR(name),
			DB_STR(role_name(role)),
			DB_BLOB(h, sizeof(h)),
			a->user_id > 0 ? DB_INT(a->user_id) : DB_NULLARG,
			DB_INT(now),
			expires_at > 0 ? DB_INT(expires_at) : DB_NULLARG,
		};

		if (db_exec(db, STMT_KEY_INSERT, q, 7, NULL, &id) != DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	/* The key holds its row's id: its hash is known only now. */
	if (tok_apikey_new((int64_t)id, key, keysz) == -1 ||
	    tok_hash(key, strlen(key), h) == -1) {
		e = ERR_SYS;
		goto rollback;
	}
	{
		struct db_arg q[] = { DB_BLOB(h, sizeof(h)), DB_INT(id) };

		if (db_exec(db, STMT_KEY_SET_HASH, q, 2, NULL, NULL) != DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	if ((e = audit_log(db, a, AUDIT_KEY_CREATE, org, (int64_t)id,
		 role_name(role))) != ERR_OK)
		goto rollback;
	db_count(db, METRIC_APIKEY_CREATED, 1);
	{
		struct db_arg w[] = { DB_INT(id), DB_BLOB(h, sizeof(h)) };

		if ((e = db_err(db_commit_check(db, STMT_W_KEY, w, 2))) !=
		    ERR_OK)
			goto fail;
	}
	if ((e = apikey_get_in(db, org, (int64_t)id, k)) != ERR_OK)
		goto fail;
	log_info("apikey: key %llu made in organization %lld",
	    (unsigned long long)id, (long long)org);
	return ERR_OK;
rollback:
	db_rollback(db);
fail:
	tok_cleanse(key, keysz);
	key[0] = '\0';
	return e;
}

enum err
apikey_list(struct db *db, const struct actor *a, int64_t want,
    void (*fn)(const struct apikey *, void *), void *arg)
{
	struct db_rows *r = NULL;
	struct apikey k;
	int64_t org;
	enum db_rc rc;
	enum err e;
	size_t i;

	if (a == NULL)
		rc = db_query(db, STMT_KEY_LIST_ALL, NULL, 0, &r);
	else {
		if ((e = apikey_may_manage(a)) != ERR_OK ||
		    (e = actor_scope(db, a, want, &org)) != ERR_OK)
			return e;
		struct db_arg q[] = { DB_INT(org) };
		rc = db_query(db, STMT_KEY_LIST, q, 1, &r);
	}
	if (rc != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		apikey_from_row(r, i, &k);
		fn(&k, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}

/* Revoke key id of org inside the caller's transaction, audited with
 * detail why.  ERR_OK, ERR_NOT_FOUND, ERR_DB. */
static enum err
apikey_revoke_in(struct db *db, const struct actor *a, int64_t org, int64_t id,
    const char *why)
{
	struct db_arg q[] = { DB_INT((int64_t)time(NULL)), DB_INT(id),
		DB_INT(org) };
	uint64_t n = 0;

	if (db_exec(db, STMT_KEY_REVOKE, q, 3, &n, NULL) != DB_OK)
		return ERR_DB;
	if (n != 1)
		return ERR_NOT_FOUND;
	db_count(db, METRIC_APIKEY_REVOKE, 1);
	return audit_log(db, a, AUDIT_KEY_REVOKE, org, id, why);
}

enum err
apikey_revoke(struct db *db, const struct actor *a, int64_t want, int64_t id)
{
	struct db_rows *r = NULL;
	int64_t org;
	enum err e;

	if ((e = apikey_may_manage(a)) != ERR_OK)
		return e;
	if (want == APIKEY_ANY_ORG) {
		/* latchctl: the key's own organization. */
		struct db_arg q[] = { DB_INT(id) };

		if (a->role != ROLE_SUPERADMIN)
			return ERR_FORBIDDEN;
		if (db_query(db, STMT_KEY_CHECK, q, 1, &r) != DB_OK)
			return ERR_DB;
		org = r->nrows == 1 ? db_int(r, 0, COL_KCHECK_ORG) : 0;
		db_rows_free(r);
		if (org == 0)
			return ERR_NOT_FOUND;
	} else if ((e = actor_scope(db, a, want, &org)) != ERR_OK)
		return e;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = apikey_revoke_in(db, a, org, id, NULL)) != ERR_OK) {
		db_rollback(db);
		return e;
	}
	if ((e = db_err(db_commit(db))) == ERR_OK)
		log_info("apikey: key %lld revoked", (long long)id);
	return e;
}

enum err
apikey_revoke_user(struct db *db, const struct actor *a, int64_t uid,
    const char *why)
{
	struct db_arg q[] = { DB_INT(uid) };
	struct db_rows *r = NULL;
	enum err e = ERR_OK;
	size_t i;

	if (db_query(db, STMT_KEY_OF_USER, q, 1, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows && e == ERR_OK; i++)
		e = apikey_revoke_in(db, a, db_int(r, i, COL_UKEY_ORG),
		    db_int(r, i, COL_UKEY_ID), why);
	db_rows_free(r);
	/* Each row is locked and live: one not found is a broken invariant. */
	return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/*
 * The audit entry of a use of key id of org after it was revoked or
 * expired (what), at most once per APIKEY_TOUCH_INTERVAL per key; a
 * failure is only logged: the answer is the refusal either way.
 */
static void
apikey_refused(struct db *db, int64_t id, int64_t org, const char *ip,
    const char *what)
{
	struct actor a = { 0, org, ROLE_USER, ip, id };
	int64_t now = (int64_t)time(NULL);
	struct db_arg q[] = { DB_INT(now), DB_INT(id),
		DB_INT(now - APIKEY_TOUCH_INTERVAL) };
	uint64_t n = 0;

	log_info("apikey: key %lld refused: %s", (long long)id, what);
	if (db_begin(db) != DB_OK)
		return;
	if (db_exec(db, STMT_KEY_REFUSED, q, 3, &n, NULL) != DB_OK ||
	    (n == 1 &&
		audit_log(db, &a, AUDIT_KEY_REFUSED, org, id, what) !=
		    ERR_OK)) {
		db_rollback(db);
		return;
	}
	if (db_commit(db) != DB_OK)
		log_warnx("apikey: the refusal of key %lld was not recorded",
		    (long long)id);
}

/* latch_api_key_authentications_total: the outcome e of a key presented;
 * a database error is none. */
static void
count_key(enum err e)
{
	switch (e) {
	case ERR_OK:
		metrics_inc(METRIC_APIKEY_OK);
		break;
	case ERR_INVALID_TOKEN:
		metrics_inc(METRIC_APIKEY_INVALID);
		break;
	case ERR_SESSION_REVOKED:
		metrics_inc(METRIC_APIKEY_REVOKED);
		break;
	case ERR_TOKEN_EXPIRED:
		metrics_inc(METRIC_APIKEY_EXPIRED);
		break;
	default:
		break;
	}
}

enum err
apikey_authenticate(struct db *db, const char *key, const char *ip,
    struct principal *p)
{
	unsigned char h[TOK_HASH_LEN];
	struct db_rows *r = NULL;
	int64_t id = 0, org, now = (int64_t)time(NULL), exp;
	const char *c;
	enum err e = ERR_INVALID_TOKEN;

	memset(p, 0, sizeof(*p));
	memset(h, 0, sizeof(h));
	if (tok_apikey_parse(key, strlen(key), &id) == -1 ||
	    tok_hash(key, strlen(key), h) == -1)
		goto done;
	struct db_arg q[] = { DB_INT(id) };
	if (db_query(db, STMT_KEY_CHECK, q, 1, &r) != DB_OK) {
		e = ERR_DB;
		goto done;
	}
	if (r->nrows != 1)
		goto done;
	c = db_cell(r, 0, COL_KCHECK_HASH);
	if (c == NULL || db_len(r, 0, COL_KCHECK_HASH) != TOK_HASH_LEN ||
	    !tok_equal(c, h, TOK_HASH_LEN))
		goto done;
	org = db_int(r, 0, COL_KCHECK_ORG);
	exp = db_int(r, 0, COL_KCHECK_EXPIRES);
	if (db_cell(r, 0, COL_KCHECK_REVOKED) != NULL) {
		apikey_refused(db, id, org, ip, "revoked");
		e = ERR_SESSION_REVOKED;
		goto done;
	}
	if (exp > 0 && exp <= now) {
		apikey_refused(db, id, org, ip, "expired");
		e = ERR_TOKEN_EXPIRED;
		goto done;
	}
	p->key_id = id;
	p->org_id = org;
	/* Stored as user or admin; anything else acts as user. */
	c = db_cell(r, 0, COL_KCHECK_ROLE);
	p->role = c != NULL && strcmp(c, "admin") == 0 ? ROLE_ADMIN : ROLE_USER;
	str_copy(p->key_name, sizeof(p->key_name),
	    db_cell(r, 0, COL_KCHECK_NAME));
	if (now - db_int(r, 0, COL_KCHECK_LAST_USED) >= APIKEY_TOUCH_INTERVAL) {
		struct db_arg t[] = { DB_INT(now), DB_INT(id) };

		(void)db_exec(db, STMT_KEY_TOUCH, t, 2, NULL, NULL);
	}
	e = ERR_OK;
done:
	count_key(e);
	db_rows_free(r);
	tok_cleanse(h, sizeof(h));
	return e;
}
