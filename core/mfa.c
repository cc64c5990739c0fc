/*
 * mfa.c: two-factor sign-in with TOTP: enrolment, the sign-in's second
 * step, recovery codes, turning it off, resets.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "limit.h"
#include "log.h"
#include "mfa.h"
#include "qr.h"
#include "str.h"
#include "tok.h"

/* What is sealed: the TOTP secret, then the user's recovery key. */
#define RKEY_LEN 32
#define PLAIN_LEN (TOTP_SECRET_LEN + RKEY_LEN)
#define SEALED_LEN (PLAIN_LEN + TOTP_SEAL_OVERHEAD)

/* A user's opened second factor. */
struct mfa_secret {
	unsigned char plain[PLAIN_LEN]; /* secret, recovery key */
	int by_previous;                /* opened with mfa_key_previous */
};

/* The keys of conf: cur (0: none), prev (0: none).  ERR_OK, or
 * ERR_MFA_UNAVAILABLE without mfa_key, ERR_SYS. */
static enum err
mfa_keys(const struct conf *conf, struct totp_key *cur, struct totp_key *prev,
    int *have_prev)
{
	*have_prev = 0;
	if (conf->mfa_key == NULL || conf->mfa_key[0] == '\0')
		return ERR_MFA_UNAVAILABLE;
	if (totp_key_derive(conf->mfa_key, strlen(conf->mfa_key), cur) == -1)
		return ERR_SYS;
	if (conf->mfa_key_previous != NULL &&
	    conf->mfa_key_previous[0] != '\0') {
		if (totp_key_derive(conf->mfa_key_previous,
			strlen(conf->mfa_key_previous), prev) == -1)
			return ERR_SYS;
		*have_prev = 1;
	}
	return ERR_OK;
}

/* Open the sealed second factor of uid (n bytes) into *s.  ERR_OK,
 * ERR_MFA_UNAVAILABLE (no key, or not one that sealed it), ERR_SYS. */
static enum err
mfa_open(const struct conf *conf, int64_t uid, const char *sealed, size_t n,
    struct mfa_secret *s)
{
	struct totp_key cur, prev;
	const unsigned char *b = (const unsigned char *)sealed;
	int have_prev = 0;
	enum err e;

	memset(s, 0, sizeof(*s));
	if ((e = mfa_keys(conf, &cur, &prev, &have_prev)) != ERR_OK)
		goto out;
	e = ERR_OK;
	if (totp_open(&cur, uid, b, n, s->plain, sizeof(s->plain)) == PLAIN_LEN)
		goto out;
	if (have_prev &&
	    totp_open(&prev, uid, b, n, s->plain, sizeof(s->plain)) ==
		PLAIN_LEN) {
		s->by_previous = 1;
		goto out;
	}
	/* Another key, or tampered with: nobody can sign in with it. */
	log_warnx(
	    "mfa: the TOTP secret of user %lld does not open with "
	    "mfa_key%s",
	    (long long)uid, have_prev ? " nor mfa_key_previous" : "");
	e = ERR_MFA_UNAVAILABLE;
out:
	tok_cleanse(&cur, sizeof(cur));
	tok_cleanse(&prev, sizeof(prev));
	return e;
}

/* Seal s for uid under mfa_key into out (SEALED_LEN bytes).  ERR_OK,
 * ERR_MFA_UNAVAILABLE, ERR_SYS. */
static enum err
mfa_seal(const struct conf *conf, int64_t uid, const struct mfa_secret *s,
    unsigned char out[SEALED_LEN])
{
	struct totp_key cur, prev;
	int have_prev = 0;
	enum err e;

	if ((e = mfa_keys(conf, &cur, &prev, &have_prev)) == ERR_OK &&
	    totp_seal(&cur, uid, s->plain, PLAIN_LEN, out, SEALED_LEN) !=
		SEALED_LEN)
		e = ERR_SYS;
	tok_cleanse(&cur, sizeof(cur));
	tok_cleanse(&prev, sizeof(prev));
	return e;
}

void
mfa_free(struct mfa_enrolment *e)
{
	if (e == NULL)
		return;
	tok_cleanse(e->secret, sizeof(e->secret));
	tok_cleanse(e->uri, sizeof(e->uri));
	if (e->svg != NULL) {
		tok_cleanse(e->svg, strlen(e->svg));
		free(e->svg);
	}
	e->svg = NULL;
}

enum err
mfa_enrol(struct db *db, const struct conf *conf, const struct actor *a,
    const struct user *u, struct mfa_enrolment *out)
{
	struct mfa_secret s;
	unsigned char sealed[SEALED_LEN];
	int64_t now = (int64_t)time(NULL);
	enum db_rc rc;
	enum err e;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (tok_random(s.plain, sizeof(s.plain)) == -1) {
		e = ERR_SYS;
		goto out;
	}
	if ((e = mfa_seal(conf, a->user_id, &s, sealed)) != ERR_OK)
		goto out;
	e = ERR_SYS;
	if (totp_b32_encode(s.plain, TOTP_SECRET_LEN, out->secret,
		sizeof(out->secret)) == -1 ||
	    totp_uri(conf->mfa_issuer, u->username, out->secret, out->uri,
		sizeof(out->uri)) == -1)
		goto out;
	e = ERR_NOMEM;
	if ((out->svg = qr_svg(out->uri)) == NULL)
		goto out;
	{
		struct db_arg d[] = { DB_INT(a->user_id) };
		struct db_arg i[] = { DB_INT(a->user_id),
			DB_BLOB(sealed, sizeof(sealed)), DB_INT(now) };

		if ((rc = db_exec(db, STMT_TOTP_PENDING_DELETE, d, 1, NULL,
			 NULL)) == DB_OK)
			rc = db_exec(db, STMT_TOTP_INSERT, i, 3, NULL, NULL);
	}
	e = rc == DB_DUP ? ERR_MFA_ENABLED : db_err(rc);
out:
	tok_cleanse(&s, sizeof(s));
	tok_cleanse(sealed, sizeof(sealed));
	if (e != ERR_OK)
		mfa_free(out);
	return e;
}

/*
 * New recovery codes for uid under its recovery key rkey, inside the
 * caller's transaction: the old ones go.  ERR_OK, ERR_SYS, ERR_DB.
 */
static enum err
mfa_codes_store(struct db *db, int64_t uid, const unsigned char *rkey,
    struct mfa_codes *codes)
{
	char norm[TOTP_RECOVERY_LEN + 1];
	unsigned char h[TOTP_HASH_LEN];
	struct db_arg d[] = { DB_INT(uid) };
	enum err e = ERR_SYS;
	size_t i;

	memset(codes, 0, sizeof(*codes));
	if (db_exec(db, STMT_RECOVERY_DELETE, d, 1, NULL, NULL) != DB_OK)
		return ERR_DB;
	for (i = 0; i < TOTP_RECOVERY_COUNT; i++) {
		if (totp_recovery_new(codes->code[i]) == -1 ||
		    totp_recovery_norm(codes->code[i], norm) == -1 ||
		    totp_recovery_hash(rkey, RKEY_LEN, uid, norm, h) == -1)
			goto out;
		struct db_arg a[] = { DB_INT(uid), DB_BLOB(h, sizeof(h)) };
		/* Two equal codes of 50 random bits: never, but harmless. */
		if (db_exec(db, STMT_RECOVERY_INSERT, a, 2, NULL, NULL) ==
		    DB_ERR) {
			e = ERR_DB;
			goto out;
		}
	}
	e = ERR_OK;
out:
	tok_cleanse(norm, sizeof(norm));
	if (e != ERR_OK)
		tok_cleanse(codes, sizeof(*codes));
	return e;
}

/*
 * Lock and open uid's TOTP row inside the caller's transaction: *s, and
 * *enabled, *last.  ERR_OK, ERR_MFA_NOT_ENROLLED (no row),
 * ERR_MFA_UNAVAILABLE, ERR_SYS, ERR_DB.
 */
static enum err
mfa_lock(struct db *db, const struct conf *conf, int64_t uid,
    struct mfa_secret *s, int *enabled, int64_t *last)
{
	struct db_arg a[] = { DB_INT(uid) };
	struct db_rows *r = NULL;
	enum err e;

	if (db_query(db, STMT_TOTP_GET, a, 1, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows != 1) {
		db_rows_free(r);
		return ERR_MFA_NOT_ENROLLED;
	}
	*enabled = db_cell(r, 0, COL_TOTP_ENABLED) != NULL;
	*last = db_int(r, 0, COL_TOTP_LAST_STEP);
	e = mfa_open(conf, uid, db_cell(r, 0, COL_TOTP_SEALED),
	    db_len(r, 0, COL_TOTP_SEALED), s);
	db_rows_free(r);
	return e;
}

/* The failure of a code, on its own: nothing else is stored with it. */
static void
mfa_failed(struct db *db, const struct actor *who, const struct user *u,
    const char *what)
{
	log_info("mfa: wrong %s for user %lld from %s", what, (long long)u->id,
	    who->ip);
	(void)audit_log(db, who, AUDIT_MFA_FAILURE, u->org_id, u->id, what);
}

/*
 * Inside the caller's transaction: use code (a TOTP code) or recovery
 * (a recovery code) of uid, whose secret is s and last accepted step
 * last.  *used_recovery says which.  ERR_OK, ERR_INVALID_CODE (wrong,
 * malformed, or used already), ERR_SYS, ERR_DB.
 */
static enum err
mfa_use_code(struct db *db, int64_t uid, const struct mfa_secret *s,
    int64_t last, const char *code, const char *recovery, int *used_recovery)
{
	char norm[TOTP_RECOVERY_LEN + 1];
	unsigned char h[TOTP_HASH_LEN];
	int64_t now = (int64_t)time(NULL), step;
	uint64_t n = 0;

	*used_recovery = 0;
	if (code != NULL) {
		step = totp_verify(s->plain, TOTP_SECRET_LEN, now, last, code);
		if (step < 0)
			return ERR_SYS;
		if (step == 0)
			return ERR_INVALID_CODE;
		struct db_arg a[] = { DB_INT(step), DB_INT(uid), DB_INT(step) };
		if (db_exec(db, STMT_TOTP_USE_STEP, a, 3, &n, NULL) != DB_OK)
			return ERR_DB;
		/* No row: a step as old as the last one, used already. */
		return n != 1 ? ERR_INVALID_CODE : ERR_OK;
	}
	if (recovery == NULL || totp_recovery_norm(recovery, norm) == -1)
		return ERR_INVALID_CODE;
	if (totp_recovery_hash(s->plain + TOTP_SECRET_LEN, RKEY_LEN, uid, norm,
		h) == -1) {
		tok_cleanse(norm, sizeof(norm));
		return ERR_SYS;
	}
	tok_cleanse(norm, sizeof(norm));
	struct db_arg a[] = { DB_INT(now), DB_INT(uid), DB_BLOB(h, sizeof(h)) };
	if (db_exec(db, STMT_RECOVERY_USE, a, 3, &n, NULL) != DB_OK)
		return ERR_DB;
	*used_recovery = 1;
	return n == 1 ? ERR_OK : ERR_INVALID_CODE; /* unknown or used */
}

/* Re-seal s for uid under mfa_key when it was opened with the previous
 * key, inside the caller's transaction.  ERR_OK, ERR_SYS, ERR_DB. */
static enum err
mfa_reseal(struct db *db, const struct conf *conf, int64_t uid,
    const struct mfa_secret *s)
{
	unsigned char sealed[SEALED_LEN];
	enum err e;

	if (!s->by_previous)
		return ERR_OK;
	if ((e = mfa_seal(conf, uid, s, sealed)) != ERR_OK)
		return e;
	struct db_arg a[] = { DB_BLOB(sealed, sizeof(sealed)), DB_INT(uid) };
	e = db_err(db_exec(db, STMT_TOTP_RESEAL, a, 2, NULL, NULL));
	tok_cleanse(sealed, sizeof(sealed));
	return e;
}

enum err
mfa_confirm(struct db *db, const struct conf *conf, const struct actor *a,
    int64_t sid, const char *code, struct mfa_codes *codes)
{
	struct mfa_secret s;
	int64_t now = (int64_t)time(NULL), last = 0, step;
	uint64_t n = 0;
	int enabled = 0;
	enum err e;

	memset(&s, 0, sizeof(s));
	memset(codes, 0, sizeof(*codes));
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = mfa_lock(db, conf, a->user_id, &s, &enabled, &last)) != ERR_OK)
		goto rollback;
	if (enabled) {
		e = ERR_MFA_ENABLED;
		goto rollback;
	}
	if ((step = totp_verify(s.plain, TOTP_SECRET_LEN, now, 0, code)) <= 0) {
		e = step < 0 ? ERR_SYS : ERR_INVALID_CODE;
		goto rollback;
	}
	{
		struct db_arg en[] = { DB_INT(now), DB_INT(step),
			DB_INT(a->user_id) };
		struct db_arg ss[] = { DB_INT(sid), DB_INT(a->user_id) };

		if (db_exec(db, STMT_TOTP_ENABLE, en, 3, &n, NULL) != DB_OK ||
		    n != 1 ||
		    db_exec(db, STMT_SESSION_MFA_DONE, ss, 2, NULL, NULL) !=
			DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	if ((e = mfa_reseal(db, conf, a->user_id, &s)) != ERR_OK ||
	    (e = mfa_codes_store(db, a->user_id, s.plain + TOTP_SECRET_LEN,
		 codes)) != ERR_OK ||
	    (e = audit_log(db, a, AUDIT_MFA_ENABLE, a->org_id, a->user_id,
		 NULL)) != ERR_OK)
		goto rollback;
	e = db_err(db_commit(db));
	goto out;
rollback:
	db_rollback(db);
out:
	tok_cleanse(&s, sizeof(s));
	if (e != ERR_OK)
		tok_cleanse(codes, sizeof(*codes));
	return e;
}

/* The throttle keys of both names of u. */
static void
mfa_limit_keys(const struct user *u, char key[2][LIMIT_KEY_SIZE])
{
	limit_name_key(u->username, key[0]);
	limit_name_key(u->email, key[1]);
}

/*
 * Count a code guess for u under both of its names before it is checked
 * (limit_account_reserve()).  ERR_OK, ERR_TOO_MANY_ATTEMPTS
 * (*retry_after; logged as a refusal from ip), ERR_DB.
 */
static enum err
mfa_reserve(struct db *db, const struct conf *conf, const struct user *u,
    const char *ip, int *retry_after)
{
	char key[2][LIMIT_KEY_SIZE];
	enum err e = ERR_OK;
	int i;

	mfa_limit_keys(u, key);
	for (i = 0; i < 2 && e == ERR_OK; i++)
		e = limit_account_reserve(db, conf, key[i], retry_after);
	if (e == ERR_TOO_MANY_ATTEMPTS)
		limit_refused("account", u->id, *retry_after, ip);
	return e;
}

/* A right code clears the failures of both names of u. */
static void
mfa_unthrottle(struct db *db, const struct user *u)
{
	char key[2][LIMIT_KEY_SIZE];
	int i;

	mfa_limit_keys(u, key);
	for (i = 0; i < 2; i++)
		(void)limit_account_reset(db, key[i]);
}

/*
 * The checks of mfa_disable() and mfa_recovery_new(): a's password,
 * then, with a's TOTP row locked in a transaction left open on ERR_OK,
 * the code; *u is a's account, *s its secret.
 */
static enum err
mfa_recheck(struct db *db, const struct conf *conf, const struct actor *a,
    const char *password, const char *code, const char *recovery,
    int *retry_after, struct user *u, struct mfa_secret *s, int *used_recovery)
{
	int64_t last = 0;
	int enabled = 0;
	enum err e;

	if ((e = user_get(db, a->user_id, u)) != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_SESSION_REVOKED : e;
	e = user_check_password(db, conf, a->user_id, password, retry_after);
	if (e == ERR_TOO_MANY_ATTEMPTS)
		limit_refused("account", a->user_id, *retry_after, a->ip);
	if (e != ERR_OK)
		return e;
	if ((e = mfa_reserve(db, conf, u, a->ip, retry_after)) != ERR_OK)
		return e;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = mfa_lock(db, conf, a->user_id, s, &enabled, &last)) ==
		ERR_OK &&
	    !enabled)
		e = ERR_MFA_NOT_ENROLLED;
	if (e == ERR_OK)
		e = mfa_use_code(db, a->user_id, s, last, code, recovery,
		    used_recovery);
	if (e != ERR_OK) {
		db_rollback(db);
		if (e == ERR_INVALID_CODE)
			mfa_failed(db, a, u,
			    recovery != NULL && code == NULL ? "recovery code" :
							       "code");
		return e;
	}
	return ERR_OK;
}

enum err
mfa_disable(struct db *db, const struct conf *conf, const struct actor *a,
    const char *password, const char *code, const char *recovery,
    int *retry_after)
{
	struct mfa_status st;
	struct mfa_secret s;
	struct user u;
	int used_recovery = 0;
	enum err e;

	if ((e = mfa_status(db, a->user_id, &st)) != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_SESSION_REVOKED : e;
	if (st.required)
		return ERR_MFA_REQUIRED;
	if ((e = mfa_recheck(db, conf, a, password, code, recovery, retry_after,
		 &u, &s, &used_recovery)) != ERR_OK)
		goto out;
	{
		struct db_arg d[] = { DB_INT(a->user_id) };

		if (db_exec(db, STMT_TOTP_DELETE, d, 1, NULL, NULL) != DB_OK ||
		    db_exec(db, STMT_RECOVERY_DELETE, d, 1, NULL, NULL) !=
			DB_OK) {
			db_rollback(db);
			e = ERR_DB;
			goto out;
		}
	}
	if ((e = audit_log(db, a, AUDIT_MFA_DISABLE, a->org_id, a->user_id,
		 used_recovery ? "with a recovery code" : NULL)) != ERR_OK) {
		db_rollback(db);
		goto out;
	}
	if ((e = db_err(db_commit(db))) == ERR_OK)
		mfa_unthrottle(db, &u);
out:
	tok_cleanse(&s, sizeof(s));
	return e;
}

enum err
mfa_recovery_new(struct db *db, const struct conf *conf, const struct actor *a,
    const char *password, const char *code, const char *recovery,
    struct mfa_codes *codes, int *retry_after)
{
	struct mfa_secret s;
	struct user u;
	int used_recovery = 0;
	enum err e;

	memset(codes, 0, sizeof(*codes));
	if ((e = mfa_recheck(db, conf, a, password, code, recovery, retry_after,
		 &u, &s, &used_recovery)) != ERR_OK)
		goto out;
	if ((e = mfa_reseal(db, conf, a->user_id, &s)) != ERR_OK ||
	    (e = mfa_codes_store(db, a->user_id, s.plain + TOTP_SECRET_LEN,
		 codes)) != ERR_OK ||
	    (e = audit_log(db, a, AUDIT_MFA_RECOVERY_NEW, a->org_id, a->user_id,
		 NULL)) != ERR_OK) {
		db_rollback(db);
		goto out;
	}
	if ((e = db_err(db_commit(db))) == ERR_OK)
		mfa_unthrottle(db, &u);
out:
	tok_cleanse(&s, sizeof(s));
	if (e != ERR_OK)
		tok_cleanse(codes, sizeof(*codes));
	return e;
}

enum err
mfa_status(struct db *db, int64_t uid, struct mfa_status *st)
{
	struct db_arg a[] = { DB_INT(uid) };
	struct db_rows *r = NULL;
	const char *role;

	memset(st, 0, sizeof(*st));
	if (db_query(db, STMT_TOTP_STATUS, a, 1, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows != 1) {
		db_rows_free(r);
		return ERR_NOT_FOUND;
	}
	st->enabled = db_cell(r, 0, COL_MFA_ENABLED) != NULL;
	st->pending = !st->enabled && db_cell(r, 0, COL_MFA_CREATED) != NULL;
	st->enabled_at = db_int(r, 0, COL_MFA_ENABLED);
	st->codes_left = st->enabled ? (int)db_int(r, 0, COL_MFA_CODES_LEFT) :
				       0;
	str_copy(st->policy, sizeof(st->policy), db_cell(r, 0, COL_MFA_POLICY));
	role = db_cell(r, 0, COL_MFA_ROLE);
	st->required = strcmp(st->policy, "all") == 0 ||
	    (strcmp(st->policy, "admins") == 0 && role != NULL &&
		strcmp(role, "user") != 0);
	db_rows_free(r);
	return ERR_OK;
}

enum err
mfa_challenge(struct db *db, const struct user *u, int remember, int cookie,
    struct session_tokens *t)
{
	unsigned char h[TOK_HASH_LEN];
	int64_t now = (int64_t)time(NULL);
	enum err e = ERR_SYS;

	if (tok_new(32, t->mfa_token, sizeof(t->mfa_token)) == -1 ||
	    tok_hash(t->mfa_token, strlen(t->mfa_token), h) == -1)
		goto out;
	{
		struct db_arg p[] = { DB_INT(u->id), DB_INT(now) };
		struct db_arg a[] = {
			DB_INT(u->id),
			DB_BLOB(h, sizeof(h)),
			DB_INT(now),
			DB_INT(now + MFA_TOKEN_TTL),
			DB_INT(remember ? 1 : 0),
			DB_INT(cookie ? 1 : 0),
		};

		(void)db_exec(db, STMT_MFA_CHALLENGE_PURGE, p, 2, NULL, NULL);
		e = db_err(
		    db_exec(db, STMT_MFA_CHALLENGE_INSERT, a, 6, NULL, NULL));
	}
	t->mfa_expires_in = MFA_TOKEN_TTL;
	t->remember = remember != 0;
	t->cookie = cookie != 0;
out:
	if (e != ERR_OK)
		tok_cleanse(t->mfa_token, sizeof(t->mfa_token));
	return e;
}

/*
 * The challenge of mfa_token, with its user and the user's sealed TOTP,
 * into *r (one row, caller frees).  ERR_OK, ERR_INVALID_TOKEN, ERR_DB.
 */
static enum err
mfa_challenge_get(struct db *db, const char *mfa_token, struct db_rows **r)
{
	unsigned char h[TOK_HASH_LEN];
	int64_t now = (int64_t)time(NULL);
	size_t n = strlen(mfa_token);

	*r = NULL;
	if (n < 22 || n > 64 || tok_hash(mfa_token, n, h) == -1)
		return ERR_INVALID_TOKEN;
	struct db_arg a[] = { DB_BLOB(h, sizeof(h)) };
	if (db_query(db, STMT_MFA_CHALLENGE_LOOKUP, a, 1, r) != DB_OK)
		return ERR_DB;
	if ((*r)->nrows != 1 || db_cell(*r, 0, COL_MFACH_USED) != NULL ||
	    db_int(*r, 0, COL_MFACH_EXPIRES) <= now ||
	    db_cell(*r, 0, COL_MFACH_SEALED) == NULL ||
	    db_int(*r, 0, COL_MFACH_USER + COL_USER_DISABLED) != 0) {
		db_rows_free(*r);
		*r = NULL;
		return ERR_INVALID_TOKEN;
	}
	return ERR_OK;
}

enum err
mfa_finish(struct db *db, const struct conf *conf, const struct actor *a,
    const char *mfa_token, const char *code, const char *recovery,
    const char *ua, struct user *u, struct session_tokens *t)
{
	struct session_new sn;
	struct mfa_secret s;
	struct db_rows *r = NULL;
	struct actor who;
	int64_t now = (int64_t)time(NULL), cid;
	uint64_t n = 0;
	int used_recovery = 0;
	enum err e;

	memset(u, 0, sizeof(*u));
	memset(&s, 0, sizeof(s));
	if ((e = mfa_challenge_get(db, mfa_token, &r)) != ERR_OK)
		return e;
	user_from_cols(r, 0, COL_MFACH_USER, u);
	who = user_actor(u, a->ip);
	cid = db_int(r, 0, COL_MFACH_ID);
	t->remember = db_int(r, 0, COL_MFACH_REMEMBER) != 0;
	t->cookie = db_int(r, 0, COL_MFACH_COOKIE) != 0;
	if ((e = mfa_open(conf, u->id, db_cell(r, 0, COL_MFACH_SEALED),
		 db_len(r, 0, COL_MFACH_SEALED), &s)) != ERR_OK ||
	    (e = mfa_reserve(db, conf, u, a->ip, &u->retry_after)) != ERR_OK)
		goto out;
	if (db_begin(db) != DB_OK) {
		e = ERR_DB;
		goto out;
	}
	{
		struct db_arg c[] = { DB_INT(now), DB_INT(cid) };

		if (db_exec(db, STMT_MFA_CHALLENGE_USE, c, 2, &n, NULL) !=
		    DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
		if (n != 1) {
			e = ERR_INVALID_TOKEN; /* used meanwhile */
			goto rollback;
		}
	}
	if ((e = mfa_use_code(db, u->id, &s, db_int(r, 0, COL_MFACH_LAST_STEP),
		 code, recovery, &used_recovery)) != ERR_OK)
		goto rollback;
	if ((e = mfa_reseal(db, conf, u->id, &s)) != ERR_OK ||
	    (e = user_put_login(db, u->id, now)) != ERR_OK ||
	    (e = audit_log(db, &who, AUDIT_LOGIN_SUCCESS, u->org_id, u->id,
		 used_recovery ? "otp: recovery code" : "otp")) != ERR_OK ||
	    (used_recovery &&
		(e = audit_log(db, &who, AUDIT_MFA_RECOVERY_USE, u->org_id,
		     u->id, NULL)) != ERR_OK) ||
	    (e = session_open_amr(db, conf, u, t->remember,
		 JWT_AMR_PWD | JWT_AMR_OTP, ua, a->ip, &sn, t)) != ERR_OK)
		goto rollback;
	if ((e = session_commit_open(db, conf, u, &sn, t)) != ERR_OK)
		goto out;
	u->last_login_at = now;
	mfa_unthrottle(db, u);
	goto out;
rollback:
	db_rollback(db);
	if (e == ERR_INVALID_CODE)
		mfa_failed(db, &who, u,
		    code == NULL ? "recovery code" : "code");
out:
	tok_cleanse(&s, sizeof(s));
	db_rows_free(r);
	return e;
}

enum err
mfa_reset(struct db *db, const struct actor *a, int64_t want, int64_t id)
{
	struct actor op = { 0, 0, ROLE_SUPERADMIN, "", 0 };
	struct user u;
	int64_t org = 0;
	uint64_t n = 0;
	enum err e;

	if (a != NULL) {
		/* A key is no person: it may not strip one of its second
		 * factor (docs/api.md, "API keys and two-factor sign-in"). */
		if (a->key_id != 0)
			return ERR_FORBIDDEN;
		if ((e = actor_scope(db, a, want, &org)) != ERR_OK ||
		    (e = user_get_in(db, org, id, &u)) != ERR_OK ||
		    (e = actor_may_act_on(a, u.role)) != ERR_OK)
			return e;
	} else {
		if ((e = user_get(db, id, &u)) != ERR_OK)
			return e;
		org = u.org_id;
		a = &op;
	}
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	{
		struct db_arg d[] = { DB_INT(id) };

		if (db_exec(db, STMT_TOTP_DELETE, d, 1, &n, NULL) != DB_OK ||
		    db_exec(db, STMT_RECOVERY_DELETE, d, 1, NULL, NULL) !=
			DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	if (n == 0) {
		e = ERR_MFA_NOT_ENROLLED;
		goto rollback;
	}
	if ((e = session_revoke_user(db, id, 0)) != ERR_OK ||
	    (e = audit_log(db, a, AUDIT_MFA_RESET, org, id,
		 a == &op ? "latchctl" : NULL)) != ERR_OK)
		goto rollback;
	return db_err(db_commit(db));
rollback:
	db_rollback(db);
	return e;
}
