/*
 * user.c: accounts: rows, lookup, creation, passwords and profile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limit.h"
#include "log.h"
#include "pw.h"
#include "tok.h"
#include "user.h"
#include "valid.h"
#include "str.h"

void
user_from_cols(const struct db_rows *r, size_t row, size_t c0, struct user *u)
{
	const char *role = db_cell(r, row, c0 + COL_USER_ROLE);
	int k;

	memset(u, 0, sizeof(*u));
	u->id = db_int(r, row, c0 + COL_USER_ID);
	str_copy(u->username, sizeof(u->username),
	    db_cell(r, row, c0 + COL_USER_USERNAME));
	str_copy(u->email, sizeof(u->email),
	    db_cell(r, row, c0 + COL_USER_EMAIL));
	str_copy(u->name, sizeof(u->name), db_cell(r, row, c0 + COL_USER_NAME));
	k = role_parse(role != NULL ? role : "");
	u->role = k < 0 ? ROLE_USER : (enum role)k;
	u->disabled = db_int(r, row, c0 + COL_USER_DISABLED) != 0;
	u->org_id = db_int(r, row, c0 + COL_USER_ORG);
	str_copy(u->org_name, sizeof(u->org_name),
	    db_cell(r, row, c0 + COL_USER_ORG_NAME));
	u->created_at = db_int(r, row, c0 + COL_USER_CREATED);
	u->last_login_at = db_int(r, row, c0 + COL_USER_LAST_LOGIN);
}

struct actor
user_actor(const struct user *u, const char *ip)
{
	struct actor a = { u->id, u->org_id, u->role, ip, 0 };

	return a;
}

static void
user_from_row(const struct db_rows *r, size_t row, struct user *u)
{
	user_from_cols(r, row, 0, u);
}

/* Load the one user statement s finds into *u. */
static enum err
user_load(struct db *db, enum stmt s, const struct db_arg *a, size_t n,
    struct user *u)
{
	struct db_rows *r = NULL;
	enum err e = ERR_NOT_FOUND;

	if (db_query(db, s, a, n, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows == 1) {
		user_from_row(r, 0, u);
		e = ERR_OK;
	}
	db_rows_free(r);
	return e;
}

enum err
user_get(struct db *db, int64_t id, struct user *u)
{
	struct db_arg a[] = { DB_INT(id) };

	return user_load(db, STMT_USER_BY_ID, a, 1, u);
}

/*
 * Look up an account with its hash.  *r holds the row on ERR_OK (caller
 * frees).
 */
static enum err
user_lookup_auth(struct db *db, const char *login, struct db_rows **r)
{
	char norm[255];
	struct db_arg a[1];
	enum stmt s;

	*r = NULL;
	if (strchr(login, '@') != NULL) {
		if (valid_email_norm(login, norm, sizeof(norm)) == -1)
			return ERR_NOT_FOUND;
		a[0] = DB_STR(norm);
		s = STMT_USER_AUTH_BY_EMAIL;
	} else {
		a[0] = DB_STR(login);
		s = STMT_USER_AUTH_BY_USERNAME;
	}
	if (db_query(db, s, a, 1, r) != DB_OK)
		return ERR_DB;
	if ((*r)->nrows != 1) {
		db_rows_free(*r);
		*r = NULL;
		return ERR_NOT_FOUND;
	}
	return ERR_OK;
}

enum err
user_find(struct db *db, const char *login, struct user *u)
{
	struct db_rows *r = NULL;
	enum err e;

	if ((e = user_lookup_auth(db, login, &r)) != ERR_OK)
		return e;
	user_from_row(r, 0, u);
	db_rows_free(r);
	return ERR_OK;
}

enum err
user_hash_password(const struct conf *conf, const char *password, char *mcf,
    size_t mcfsz)
{
	if (mcfsz < PW_MCF_SIZE)
		return ERR_SYS;
	if (pw_hash(password, conf->scrypt_n, conf->scrypt_r, conf->scrypt_p,
		mcf) == -1) {
		log_warnx("user: password hash failed");
		return ERR_SYS;
	}
	return ERR_OK;
}

enum err
user_insert(struct db *db, int64_t org_id, const char *username,
    const char *email, const char *name, const char *mcf, enum role role,
    int64_t *id)
{
	char norm[255];
	int64_t now = (int64_t)time(NULL);
	uint64_t newid = 0;
	enum db_rc rc;

	if (valid_email_norm(email, norm, sizeof(norm)) == -1)
		return ERR_INVALID_FIELD;
	struct db_arg a[] = {
		DB_INT(org_id),
		DB_STR(username),
		DB_STR(email),
		DB_STR(norm),
		DB_STR(name),
		DB_STR(mcf),
		DB_STR(role_name(role)),
		DB_INT(now),
		DB_INT(now),
	};
	rc = db_exec(db, STMT_USER_INSERT, a, sizeof(a) / sizeof(a[0]), NULL,
	    &newid);
	switch (rc) {
	case DB_OK:
		*id = (int64_t)newid;
		return ERR_OK;
	case DB_DUP:
		if (strcmp(db_dup_key(db), "uq_users_email") == 0)
			return ERR_EMAIL_TAKEN;
		return ERR_USERNAME_TAKEN;
	case DB_FK:
		return ERR_NOT_FOUND;
	default:
		return db_err(rc);
	}
}

enum err
user_commit(struct db *db, int64_t id, const char *mcf)
{
	struct db_arg w[] = { DB_INT(id), DB_STR(mcf) };
	return db_err(db_commit_check(db, STMT_W_USER, w, 2));
}

/* Whether the hash mcf, which password matched, is stale: into *st. */
static void
user_stale_check(const struct conf *conf, const char *mcf,
    struct user_stale *st)
{
	const char *why;

	if (st == NULL ||
	    !pw_needs_rehash(mcf, conf->scrypt_n, conf->scrypt_r,
		conf->scrypt_p) ||
	    pw_kind_of(mcf, &st->kind, &why) == -1)
		return;
	str_copy(st->hash, sizeof(st->hash), mcf);
	st->stale = 1;
}

enum err
user_upgrade_password(struct db *db, int64_t id, const struct user_stale *st,
    const char *mcf, int *done)
{
	struct db_arg a[] = {
		DB_STR(mcf),
		DB_INT((int64_t)time(NULL)),
		DB_INT(id),
		DB_STR(st->hash),
	};
	uint64_t n = 0;

	*done = 0;
	if (db_exec(db, STMT_USER_UPGRADE_PASSWORD, a, 4, &n, NULL) != DB_OK)
		return ERR_DB;
	*done = n == 1;
	return ERR_OK;
}

enum err
user_authenticate(struct db *db, const struct conf *conf, const char *login,
    const char *password, struct user *u, struct user_stale *st)
{
	char key[LIMIT_KEY_SIZE];
	struct db_rows *r = NULL;
	const char *mcf;
	enum err e;

	memset(u, 0, sizeof(*u));
	if (st != NULL)
		memset(st, 0, sizeof(*st));
	e = user_lookup_auth(db, login, &r);
	if (e == ERR_DB)
		return ERR_DB;
	if (e == ERR_OK) {
		const char *pol = db_cell(r, 0, COL_AUTH_POLICY);

		user_from_row(r, 0, u);
		u->totp = db_int(r, 0, COL_AUTH_TOTP) != 0;
		u->mfa_required = pol != NULL &&
		    (strcmp(pol, "all") == 0 ||
			(strcmp(pol, "admins") == 0 && u->role != ROLE_USER));
	}
	/* Throttled by the name as typed, known or not; the attempt is
	 * reserved (counted) before any hash work. */
	limit_name_key(login, key);
	if ((e = limit_account_reserve(db, conf, key, &u->retry_after)) !=
	    ERR_OK)
		goto done;
	mcf = r != NULL ? db_cell(r, 0, COL_AUTH_HASH) : NULL;
	if (r == NULL)
		pw_verify_dummy(password, conf->scrypt_n, conf->scrypt_r,
		    conf->scrypt_p);
	if (mcf == NULL || !pw_verify(password, mcf)) {
		e = ERR_INVALID_CREDENTIALS; /* counted by the reservation */
		goto done;
	}
	if (!u->totp && (e = limit_account_reset(db, key)) != ERR_OK)
		goto done;
	if (u->disabled) {
		e = ERR_ACCOUNT_DISABLED;
		goto done;
	}
	user_stale_check(conf, mcf, st);
done:
	db_rows_free(r);
	return e;
}

enum err
user_check_password(struct db *db, const struct conf *conf, int64_t id,
    const char *password, int *retry_after)
{
	char key[2][LIMIT_KEY_SIZE];
	struct db_arg a[] = { DB_INT(id) };
	struct db_rows *r = NULL;
	struct user u;
	const char *mcf;
	enum err e;
	int i;

	if (db_query(db, STMT_USER_AUTH_BY_ID, a, 1, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows != 1) {
		db_rows_free(r);
		return ERR_NOT_FOUND;
	}
	user_from_row(r, 0, &u);
	mcf = db_cell(r, 0, COL_AUTH_HASH);
	/*
	 * A guess here is a guess at signing in: reserved under both names
	 * of the account, so it counts against sign-in by either, and is
	 * refused while either is locked.
	 */
	limit_name_key(u.username, key[0]);
	limit_name_key(u.email, key[1]);
	for (i = 0; i < 2; i++)
		if ((e = limit_account_reserve(db, conf, key[i],
			 retry_after)) != ERR_OK)
			goto done;
	if (mcf == NULL || !pw_verify(password, mcf)) {
		e = ERR_INVALID_CREDENTIALS;
		goto done;
	}
	for (i = 0; i < 2; i++)
		if ((e = limit_account_reset(db, key[i])) != ERR_OK)
			goto done;
	e = ERR_OK;
done:
	db_rows_free(r);
	return e;
}

enum err
user_put_password(struct db *db, int64_t id, const char *mcf)
{
	struct db_arg a[] = { DB_STR(mcf), DB_INT((int64_t)time(NULL)),
		DB_INT(id) };
	uint64_t n = 0;
	enum db_rc rc;

	if ((rc = db_exec(db, STMT_USER_SET_PASSWORD, a, 3, &n, NULL)) != DB_OK)
		return db_err(rc);
	return n == 1 ? ERR_OK : ERR_NOT_FOUND;
}

enum err
user_set_password(struct db *db, const struct conf *conf, int64_t id,
    const char *password)
{
	char mcf[PW_MCF_SIZE];
	enum err e;

	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) ==
	    ERR_OK)
		e = user_put_password(db, id, mcf);
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}

enum err
user_put_disabled(struct db *db, int64_t id, int disabled)
{
	struct db_arg a[] = { DB_INT(disabled ? 1 : 0),
		DB_INT((int64_t)time(NULL)), DB_INT(id) };

	return db_err(db_exec(db, STMT_USER_SET_DISABLED, a, 3, NULL, NULL));
}

enum err
user_put_login(struct db *db, int64_t id, int64_t now)
{
	struct db_arg a[] = { DB_INT(now), DB_INT(id) };

	return db_exec(db, STMT_USER_SET_LOGIN, a, 2, NULL, NULL) == DB_OK ?
	    ERR_OK :
	    ERR_DB;
}

enum err
user_update_profile(struct db *db, int64_t id, const char *name,
    const char *email, struct user *u)
{
	char norm[255];
	enum err e;
	enum db_rc rc;

	if ((e = user_get(db, id, u)) != ERR_OK)
		return e;
	if (name == NULL)
		name = u->name;
	if (email == NULL)
		email = u->email;
	if (valid_email_norm(email, norm, sizeof(norm)) == -1)
		return ERR_INVALID_FIELD;
	struct db_arg a[] = {
		DB_STR(name),
		DB_STR(email),
		DB_STR(norm),
		DB_INT((int64_t)time(NULL)),
		DB_INT(id),
	};
	rc = db_exec(db, STMT_USER_SET_PROFILE, a, 5, NULL, NULL);
	if (rc == DB_DUP)
		return ERR_EMAIL_TAKEN;
	if (rc != DB_OK)
		return db_err(rc);
	return user_get(db, id, u);
}

enum err
user_foreach(struct db *db, const char *org,
    void (*fn)(const struct user *, void *), void *arg)
{
	struct db_arg a[1];
	struct db_rows *r = NULL;
	struct user u;
	enum db_rc rc;
	size_t i;

	if (org != NULL) {
		a[0] = DB_STR(org);
		rc = db_query(db, STMT_USER_LIST_ORG, a, 1, &r);
	} else
		rc = db_query(db, STMT_USER_LIST, NULL, 0, &r);
	if (rc != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		user_from_row(r, i, &u);
		fn(&u, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}

enum err
user_get_in(struct db *db, int64_t org, int64_t id, struct user *u)
{
	struct db_arg a[] = { DB_INT(id), DB_INT(org) };

	return user_load(db, STMT_ADM_USER_GET, a, 2, u);
}

int
user_like_pattern(const char *s, char *out, size_t outsz)
{
	size_t n = 0;

	if (s == NULL || s[0] == '\0') {
		if (outsz == 0)
			return -1;
		out[0] = '\0';
		return 0;
	}
	if (outsz < 3)
		return -1;
	out[n++] = '%';
	for (; *s != '\0'; s++) {
		if (n + 4 > outsz)
			return -1;
		if (*s == '%' || *s == '_' || *s == '\\')
			out[n++] = '\\';
		/* The columns are compared lower-cased (ASCII). */
		out[n++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') :
						      *s;
	}
	out[n++] = '%';
	out[n] = '\0';
	return 0;
}

enum err
user_list(struct db *db, int64_t org, int disabled, const char *q,
    int64_t limit, int64_t offset, int64_t *total,
    void (*fn)(const struct user *, void *), void *arg)
{
	char pat[1100];
	struct db_rows *r = NULL;
	struct user u;
	size_t i;

	if (user_like_pattern(q, pat, sizeof(pat)) == -1)
		return ERR_INVALID_FIELD;
	struct db_arg a[] = {
		DB_INT(org),
		disabled < 0 ? DB_NULLARG : DB_INT(disabled),
		DB_INT(disabled < 0 ? 0 : disabled),
		DB_STR(pat),
		DB_STR(pat),
		DB_STR(pat),
		DB_STR(pat),
		DB_INT(limit),
		DB_INT(offset),
	};
	if (db_query(db, STMT_ADM_USER_COUNT, a, 7, &r) != DB_OK)
		return ERR_DB;
	*total = db_int(r, 0, COL_VALUE);
	db_rows_free(r);
	if (db_query(db, STMT_ADM_USER_LIST, a, 9, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		user_from_row(r, i, &u);
		fn(&u, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}
