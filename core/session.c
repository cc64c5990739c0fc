/*
 * session.c: sessions, access tokens and refresh-token rotation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"
#include "session.h"
#include "str.h"

/* The length of a refresh token from before sql/003 (32 random bytes). */
#define TOK_V1_LEN 43

/*
 * A refresh token as presented: the row it names and its hash; gen 0 for
 * a token from before sql/003, found in refresh_tokens by its hash.
 */
struct rtok {
	int64_t sid;
	uint32_t gen;
	unsigned char h[TOK_HASH_LEN];
};

/* A session's last_used_at is written at most this often (seconds). */
#define TOUCH_INTERVAL 60

/* Housekeeping: a step every PURGE_EVERY sessions started, over
 * PURGE_RANGE session ids (about 60 times as fast as ids are made). */
#define PURGE_EVERY 16
#define PURGE_RANGE 1000
#define PURGE_KEY "purge_session" /* meta: where the next step starts */

/* Sessions this process started, from a random start: a CGI process
 * starts one session, and so does a step with probability 1/PURGE_EVERY. */
static long started = -1;

/*
 * The keys of conf at now into *k (borrowed from conf).  Returns k.
 * EdDSA signs with jwt_key when jwt_alg says so; jwt_key verifies
 * whatever jwt_alg is (so a switch back to HS256 signs nobody out), and
 * jwt_key_previous until jwt_previous_until.  HS256 tokens are refused
 * under EdDSA, except until jwt_previous_until after the switch from
 * HS256 (then there is no jwt_key_previous).
 */
static const struct jwt_keys *
session_keys(const struct conf *conf, struct jwt_keys *k)
{
	int64_t now = (int64_t)time(NULL);
	int eddsa = strcmp(conf->jwt_alg, "EdDSA") == 0;
	int in_switch = conf->previous_until >= now;

	memset(k, 0, sizeof(*k));
	k->current = (const unsigned char *)conf->jwt_secret;
	k->currentlen = conf->jwt_secret_len;
	k->previous = conf->jwt_secret_previous_len > 0 ?
	    (const unsigned char *)conf->jwt_secret_previous :
	    NULL;
	k->previouslen = conf->jwt_secret_previous_len;
	k->sign = eddsa ? conf->key : NULL;
	k->ed[0] = conf->key;
	k->ed[1] = in_switch ? conf->key_previous : NULL;
	k->no_hs256 = eddsa && !(in_switch && conf->key_previous == NULL);
	return k;
}

size_t
session_published(const struct conf *conf, const struct key *out[3])
{
	size_t n = 0;

	if (conf->key != NULL)
		out[n++] = conf->key;
	if (conf->key_next != NULL)
		out[n++] = conf->key_next;
	if (conf->key_previous != NULL &&
	    conf->previous_until >= (int64_t)time(NULL))
		out[n++] = conf->key_previous;
	return n;
}

static enum err
session_sign(const struct conf *conf, const struct user *u, int64_t sid,
    int64_t now, unsigned amr, struct session_tokens *out)
{
	struct jwt_claims c;
	struct jwt_keys k;

	memset(&c, 0, sizeof(c));
	str_copy(c.iss, sizeof(c.iss), conf->issuer);
	c.sub = u->id;
	str_copy(c.username, sizeof(c.username), u->username);
	c.org = u->org_id;
	str_copy(c.role, sizeof(c.role), role_name(u->role));
	c.sid = sid;
	c.iat = now;
	c.exp = now + conf->access_ttl;
	c.amr = amr & JWT_AMR_ALL;
	out->expires_in = conf->access_ttl;
	return jwt_sign_keys(&c, session_keys(conf, &k), out->access,
	    sizeof(out->access));
}

/*
 * Make refresh token number gen of session sid into out: from the CSPRNG
 * (parent NULL: a session's first), else the successor of parent
 * (tok_refresh_next() under jwt_secret).  Store its hash, also into h.
 */
static enum err
session_new_refresh(struct db *db, const struct conf *conf, const char *parent,
    int64_t sid, uint32_t gen, int64_t now, int64_t exp, char *out,
    size_t outsz, unsigned char h[TOK_HASH_LEN])
{
	int rc;

	if (parent == NULL)
		rc = tok_refresh_new(sid, gen, out, outsz);
	else
		rc = tok_refresh_next((const unsigned char *)conf->jwt_secret,
		    conf->jwt_secret_len, parent, strlen(parent), sid, gen, out,
		    outsz);
	if (rc == -1 || tok_hash(out, strlen(out), h) == -1)
		return ERR_SYS;
	struct db_arg a[] = { DB_INT(sid), DB_INT(gen),
		DB_BLOB(h, TOK_HASH_LEN), DB_INT(now), DB_INT(exp) };
	if (db_exec(db, STMT_REFRESH_INSERT, a, 5, NULL, NULL) != DB_OK)
		return ERR_DB;
	return ERR_OK;
}

/*
 * Commit the transaction that stored token gen of session sid (hash h);
 * if the connection broke on the way, look the token up.  ERR_OK,
 * ERR_DB (not stored), ERR_UNKNOWN.
 */
static enum err
session_commit(struct db *db, int64_t sid, uint32_t gen,
    const unsigned char h[TOK_HASH_LEN])
{
	struct db_arg w[] = { DB_INT(sid), DB_INT(gen),
		DB_BLOB(h, TOK_HASH_LEN) };
	return db_err(db_commit_check(db, STMT_W_REFRESH, w, 3));
}

enum err
session_open(struct db *db, const struct conf *conf, const struct user *u,
    int remember, const char *ua, const char *ip, struct session_new *sn,
    struct session_tokens *out)
{
	return session_open_amr(db, conf, u, remember, JWT_AMR_PWD, ua, ip, sn,
	    out);
}

enum err
session_open_amr(struct db *db, const struct conf *conf, const struct user *u,
    int remember, unsigned amr, const char *ua, const char *ip,
    struct session_new *sn, struct session_tokens *out)
{
	char uabuf[256], ipbuf[46];
	uint64_t sid = 0;
	enum err e;

	memset(sn, 0, sizeof(*sn));
	sn->now = (int64_t)time(NULL);
	sn->amr = amr;
	sn->ttl = remember ? conf->remember_ttl : conf->refresh_ttl;
	/* The column holds 255 characters; 255 bytes always fit. */
	str_copy(uabuf, 256, ua);
	str_copy(ipbuf, sizeof(ipbuf), ip != NULL ? ip : "");
	struct db_arg a[] = {
		DB_INT(u->id),
		DB_INT(u->org_id),
		DB_INT(sn->now),
		DB_INT(sn->now),
		DB_INT(sn->now + sn->ttl),
		DB_INT(remember ? 1 : 0),
		DB_STR(uabuf),
		DB_STR(ipbuf),
		DB_INT(amr),
		DB_INT(u->id),
	};
	if (db_exec(db, STMT_SESSION_INSERT, a, 10, NULL, &sid) != DB_OK ||
	    sid == 0)
		return ERR_DB;
	db_count(db, METRIC_SESSION_STARTED, 1);
	sn->sid = (int64_t)sid;
	if ((e = session_new_refresh(db, conf, NULL, sn->sid, 1, sn->now,
		 sn->now + sn->ttl, out->refresh, sizeof(out->refresh),
		 sn->h)) != ERR_OK)
		return e;
	out->refresh_expires_in = sn->ttl;
	out->remember = remember != 0;
	return ERR_OK;
}

enum err
session_commit_open(struct db *db, const struct conf *conf,
    const struct user *u, const struct session_new *sn,
    struct session_tokens *out)
{
	enum err e;

	if ((e = session_commit(db, sn->sid, 1, sn->h)) != ERR_OK)
		return e;
	/* Every PURGE_EVERY sessions a worker starts, one housekeeping step:
	 * the walk keeps pace with the sessions made. */
	if (started < 0) {
		unsigned char b = 0;

		(void)tok_random(&b, 1);
		started = b % PURGE_EVERY;
	}
	if (++started % PURGE_EVERY == 0)
		(void)session_purge_step(db);
	return session_sign(conf, u, sn->sid, sn->now, sn->amr, out);
}

static enum err
session_revoke_id(struct db *db, int64_t sid, int64_t now)
{
	struct db_arg a[] = { DB_INT(now), DB_INT(sid) };
	uint64_t n = 0;
	enum err e;

	if ((e = db_err(db_exec(db, STMT_SESSION_REVOKE, a, 2, &n, NULL))) ==
	    ERR_OK)
		db_count(db, METRIC_SESSION_REVOKED, n);
	return e;
}

/* Parse and hash a refresh token, refusing what cannot be one of ours. */
static int
rtok_parse(const char *s, struct rtok *t)
{
	size_t n = strlen(s);

	t->sid = 0;
	t->gen = 0;
	if (n == TOK_REFRESH_LEN) {
		if (tok_refresh_parse(s, n, &t->sid, &t->gen) == -1)
			return -1;
	} else if (n != TOK_V1_LEN)
		return -1;
	return tok_hash(s, n, t->h);
}

/* 1 if cell (0, col) of r is the hash h, compared in constant time. */
static int
rtok_matches(const struct db_rows *r, size_t col, const struct rtok *t)
{
	const char *c = db_cell(r, 0, col);

	return c != NULL && db_len(r, 0, col) == TOK_HASH_LEN &&
	    tok_equal(c, t->h, TOK_HASH_LEN);
}

/*
 * Find and lock t's row, with its session and user, into *out (one row,
 * the caller frees).  ERR_OK, ERR_INVALID_TOKEN (no such row, or another
 * token's), ERR_DB.
 */
static enum err
rtok_lookup(struct db *db, const struct rtok *t, struct db_rows **out)
{
	enum db_rc rc;

	*out = NULL;
	if (t->gen > 0) {
		struct db_arg a[] = { DB_INT(t->sid), DB_INT(t->gen) };

		rc = db_query(db, STMT_REFRESH_LOOKUP, a, 2, out);
	} else {
		struct db_arg a[] = { DB_BLOB(t->h, sizeof(t->h)) };

		rc = db_query(db, STMT_REFRESH_V1_LOOKUP, a, 1, out);
	}
	if (rc != DB_OK)
		return ERR_DB;
	if ((*out)->nrows != 1 || !rtok_matches(*out, COL_RTOK_HASH, t)) {
		db_rows_free(*out);
		*out = NULL;
		return ERR_INVALID_TOKEN;
	}
	return ERR_OK;
}

/*
 * Mark t's row rotated, if it is from before sql/003: a newer token is
 * rotated by its successor's row.  ERR_OK or ERR_DB.
 */
static enum err
rtok_rotate_v1(struct db *db, const struct rtok *t, const struct db_rows *r,
    int64_t now)
{
	uint64_t n = 0;

	if (t->gen > 0)
		return ERR_OK;
	struct db_arg a[] = { DB_INT(now),
		DB_INT(db_int(r, 0, COL_RTOK_V1_ID)) };
	if (db_exec(db, STMT_REFRESH_V1_ROTATE, a, 2, &n, NULL) != DB_OK ||
	    n != 1)
		return ERR_DB;
	return ERR_OK;
}

/*
 * The retry of a refresh whose answer was lost, or a tab racing another:
 * t (presented as rt) was rotated within the reuse interval, by the
 * caller's transaction, which holds t's row.  If t's successor is the
 * one derived from rt (tok_refresh_next(), under the current or the
 * previous key) and was never used, it is answered again with a new
 * access token for u: ERR_OK.  Else ERR_INVALID_TOKEN; ERR_DB, ERR_SYS.
 */
static enum err
session_replay(struct db *db, const struct conf *conf, const char *rt,
    const struct rtok *t, const struct user *u, int64_t now, unsigned amr,
    struct session_tokens *out)
{
	struct db_arg a[] = { DB_INT(t->sid), DB_INT((int64_t)t->gen + 1) };
	unsigned char h[TOK_HASH_LEN];
	char next[TOK_STR_SIZE];
	struct db_rows *r = NULL;
	struct jwt_keys k;
	const unsigned char *key[2];
	size_t keylen[2], i;
	enum err e = ERR_INVALID_TOKEN;

	if (t->gen == 0 || t->gen == UINT32_MAX)
		return ERR_INVALID_TOKEN;
	if (db_query(db, STMT_REFRESH_NEXT, a, 2, &r) != DB_OK)
		return ERR_DB;
	/* Used (its own successor exists) or expired: nothing to give. */
	if (r->nrows != 1 || db_cell(r, 0, COL_NEXT_USED) != NULL ||
	    db_int(r, 0, COL_NEXT_EXPIRES) <= now ||
	    db_len(r, 0, COL_NEXT_HASH) != TOK_HASH_LEN)
		goto done;
	(void)session_keys(conf, &k);
	key[0] = k.current;
	keylen[0] = k.currentlen;
	key[1] = k.previous;
	keylen[1] = k.previouslen;
	for (i = 0; i < 2 && e == ERR_INVALID_TOKEN; i++) {
		if (key[i] == NULL)
			continue;
		if (tok_refresh_next(key[i], keylen[i], rt, strlen(rt), t->sid,
			t->gen + 1, next, sizeof(next)) == -1 ||
		    tok_hash(next, strlen(next), h) == -1) {
			e = ERR_SYS;
			break;
		}
		if (!tok_equal(db_cell(r, 0, COL_NEXT_HASH), h, TOK_HASH_LEN))
			continue;
		str_copy(out->refresh, sizeof(out->refresh), next);
		out->refresh_expires_in = (int)(db_int(r, 0, COL_NEXT_EXPIRES) -
		    now);
		e = session_sign(conf, u, t->sid, now, amr, out);
		log_info(
		    "session: refresh of session %lld repeated within "
		    "the reuse interval: its unused successor answered again",
		    (long long)t->sid);
	}
done:
	tok_cleanse(next, sizeof(next));
	db_rows_free(r);
	return e;
}

int
session_csrf(const struct conf *conf, const char *rt, char *out, size_t outsz)
{
	int64_t sid;
	uint32_t gen;

	if (tok_refresh_parse(rt, strlen(rt), &sid, &gen) == -1)
		return -1;
	return tok_session_csrf((const unsigned char *)conf->jwt_secret,
	    conf->jwt_secret_len, sid, out, outsz);
}

/* The audit entry of a reused refresh token of u's session, by u. */
static enum err
session_audit_reuse(struct db *db, const struct actor *a, const struct user *u)
{
	struct actor who = { u->id, u->org_id, u->role, a->ip, 0 };

	return audit_log(db, &who, AUDIT_REFRESH_REUSE, u->org_id, u->id,
	    "session revoked");
}

static enum err
session_refresh_tx(struct db *db, const struct conf *conf,
    const struct actor *a, const char *rt, struct session_tokens *out,
    struct user *u)
{
	struct rtok t;
	struct db_rows *r = NULL;
	unsigned char h[TOK_HASH_LEN];
	int64_t now = (int64_t)time(NULL), sid, exp;
	enum db_rc rc;
	int ttl;
	enum err e;

	memset(u, 0, sizeof(*u));
	if (rtok_parse(rt, &t) == -1)
		return ERR_INVALID_TOKEN;
	if (db_begin(db) != DB_OK)
		return ERR_DB;
	if ((e = rtok_lookup(db, &t, &r)) != ERR_OK)
		goto rollback;
	e = ERR_INVALID_TOKEN;
	if (db_cell(r, 0, COL_RTOK_REVOKED) != NULL)
		goto rollback;
	sid = db_int(r, 0, COL_RTOK_SID);
	user_from_cols(r, 0, COL_RTOK_USER, u);
	/* Past its own expiry a token is inert, rotated or not: it could
	 * not refresh, and housekeeping may have deleted it already. */
	if (db_int(r, 0, COL_RTOK_EXPIRES) <= now)
		goto rollback;
	if (db_cell(r, 0, COL_RTOK_ROTATED) != NULL) {
		/* Within the interval: a retry or a racing tab; the session
		 * stays, and an unused successor is answered again. */
		if (now - db_int(r, 0, COL_RTOK_ROTATED) <=
		    conf->refresh_reuse_interval) {
			if (db_int(r, 0, COL_RTOK_SEXPIRES) > now &&
			    !u->disabled)
				e = session_replay(db, conf, rt, &t, u, now,
				    (unsigned)db_int(r, 0, COL_RTOK_AMR), out);
			goto rollback;
		}
		if ((e = session_revoke_id(db, sid, now)) != ERR_OK ||
		    (e = session_audit_reuse(db, a, u)) != ERR_OK)
			goto rollback;
		db_count(db, METRIC_REFRESH_REUSE, 1);
		if ((rc = db_commit(db)) != DB_OK) {
			e = db_err(rc);
			goto done;
		}
		log_warnx("session: refresh token reuse, session %lld revoked",
		    (long long)sid);
		e = ERR_INVALID_TOKEN;
		goto done;
	}
	/* A session can rotate 2^32 - 1 times; then it must sign in anew. */
	if (db_int(r, 0, COL_RTOK_SEXPIRES) <= now || u->disabled ||
	    t.gen == UINT32_MAX)
		goto rollback;
	out->remember = db_int(r, 0, COL_RTOK_REMEMBER) != 0;
	ttl = out->remember ? conf->remember_ttl : conf->refresh_ttl;
	exp = now + ttl;
	{
		struct db_arg ext[] = { DB_INT(exp), DB_INT(now), DB_INT(sid) };

		if ((e = rtok_rotate_v1(db, &t, r, now)) != ERR_OK ||
		    db_exec(db, STMT_SESSION_EXTEND, ext, 3, NULL, NULL) !=
			DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	/* The successor, which rotates t (a token from before sql/003 is
	 * followed by its session's first).  It is derived from t, so that
	 * a retry of this refresh can be answered with it again. */
	if ((e = session_new_refresh(db, conf, rt, sid, t.gen + 1, now, exp,
		 out->refresh, sizeof(out->refresh), h)) != ERR_OK)
		goto rollback;
	db_count(db, METRIC_REFRESH_ROTATED, 1);
	if ((e = session_commit(db, sid, t.gen + 1, h)) != ERR_OK)
		goto done;
	out->refresh_expires_in = ttl;
	e = session_sign(conf, u, sid, now,
	    (unsigned)db_int(r, 0, COL_RTOK_AMR), out);
	goto done;
rollback:
	db_rollback(db);
done:
	db_rows_free(r);
	return e;
}

enum err
session_refresh(struct db *db, const struct conf *conf, const struct actor *a,
    const char *rt, struct session_tokens *out, struct user *u)
{
	enum err e;
	int n = 0;

	do
		e = session_refresh_tx(db, conf, a, rt, out, u);
	while (e == ERR_DB && db_retry(db, &n));
	return e;
}

enum err
session_authenticate(struct db *db, const struct conf *conf, const char *token,
    struct principal *p, struct user *u)
{
	struct db_rows *r = NULL;
	struct jwt_keys k;
	struct user lean;
	int64_t now = (int64_t)time(NULL);
	enum err e;

	memset(p, 0, sizeof(*p));
	e = jwt_verify_keys(token, session_keys(conf, &k), conf->issuer,
	    (time_t)now, conf->leeway, &p->claims);
	if (e != ERR_OK)
		return e;
	struct db_arg a[] = { DB_INT(p->claims.sid) };
	if (db_query(db,
		u != NULL ? STMT_SESSION_CHECK_USER : STMT_SESSION_CHECK, a, 1,
		&r) != DB_OK)
		return ERR_DB;
	if (r->nrows != 1) {
		e = ERR_SESSION_REVOKED;
		goto done;
	}
	if (db_int(r, 0, COL_SESS_UID) != p->claims.sub) {
		e = ERR_INVALID_TOKEN;
		goto done;
	}
	if (u == NULL)
		u = &lean;
	user_from_cols(r, 0, COL_SESS_USER, u);
	if (db_cell(r, 0, COL_SESS_REVOKED) != NULL ||
	    db_int(r, 0, COL_SESS_EXPIRES) <= now || u->disabled) {
		e = ERR_SESSION_REVOKED;
		goto done;
	}
	p->user_id = p->claims.sub;
	p->sid = p->claims.sid;
	p->org_id = u->org_id;
	p->role = u->role;
	p->restricted = db_int(r, 0, COL_SESS_RESTRICTED) != 0;
	str_copy(p->username, sizeof(p->username), u->username);
	if (now - db_int(r, 0, COL_SESS_LAST_USED) >= TOUCH_INTERVAL) {
		struct db_arg t[] = { DB_INT(now), DB_INT(p->sid) };

		(void)db_exec(db, STMT_SESSION_TOUCH, t, 2, NULL, NULL);
	}
	e = ERR_OK;
done:
	db_rows_free(r);
	return e;
}

enum err
session_revoke_token(struct db *db, const struct conf *conf, const char *token)
{
	struct jwt_claims c;
	struct jwt_keys k;
	struct rtok t;
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL), sid = 0;
	enum db_rc rc;
	enum err e = ERR_OK;

	if (strchr(token, '.') != NULL) {
		if (jwt_verify_noexp_keys(token, session_keys(conf, &k),
			conf->issuer, &c) != ERR_OK)
			return ERR_OK;
		return session_revoke_id(db, c.sid, now);
	}
	if (rtok_parse(token, &t) == -1)
		return ERR_OK;
	if (t.gen > 0) {
		struct db_arg a[] = { DB_INT(t.sid), DB_INT(t.gen) };

		rc = db_query(db, STMT_REFRESH_HASH, a, 2, &r);
		if (rc == DB_OK && r->nrows == 1 &&
		    rtok_matches(r, COL_VALUE, &t))
			sid = t.sid;
	} else {
		struct db_arg a[] = { DB_BLOB(t.h, sizeof(t.h)) };

		rc = db_query(db, STMT_REFRESH_V1_SESSION, a, 1, &r);
		if (rc == DB_OK && r->nrows == 1)
			sid = db_int(r, 0, COL_VALUE);
	}
	if (rc != DB_OK)
		return ERR_DB;
	if (sid > 0)
		e = session_revoke_id(db, sid, now);
	db_rows_free(r);
	return e;
}

enum err
session_revoke(struct db *db, int64_t uid, int64_t sid)
{
	int64_t now = (int64_t)time(NULL);
	struct db_arg a[] = { DB_INT(now), DB_INT(sid), DB_INT(uid),
		DB_INT(now) };
	uint64_t n = 0;
	enum err e;

	if ((e = db_err(db_exec(db, STMT_SESSION_REVOKE_OWNED, a, 4, &n,
		 NULL))) != ERR_OK)
		return e;
	db_count(db, METRIC_SESSION_REVOKED, n);
	return n == 1 ? ERR_OK : ERR_NOT_FOUND;
}

enum err
session_revoke_user(struct db *db, int64_t uid, int64_t except)
{
	int64_t now = (int64_t)time(NULL);
	uint64_t n = 0;
	enum db_rc rc;

	if (except > 0) {
		struct db_arg a[] = { DB_INT(now), DB_INT(uid),
			DB_INT(except) };

		rc = db_exec(db, STMT_SESSION_REVOKE_USER_EXCEPT, a, 3, &n,
		    NULL);
	} else {
		struct db_arg a[] = { DB_INT(now), DB_INT(uid) };

		rc = db_exec(db, STMT_SESSION_REVOKE_USER, a, 2, &n, NULL);
	}
	if (rc == DB_OK)
		db_count(db, METRIC_SESSION_REVOKED, n);
	return db_err(rc);
}

enum err
session_foreach(struct db *db, int64_t uid,
    void (*fn)(const struct session_info *, void *), void *arg)
{
	struct db_arg a[] = { DB_INT(uid), DB_INT((int64_t)time(NULL)) };
	struct db_rows *r = NULL;
	struct session_info si;
	size_t i;

	if (db_query(db, STMT_SESSION_LIST, a, 2, &r) != DB_OK)
		return ERR_DB;
	for (i = 0; i < r->nrows; i++) {
		memset(&si, 0, sizeof(si));
		si.id = db_int(r, i, COL_SLIST_ID);
		si.created_at = db_int(r, i, COL_SLIST_CREATED);
		si.last_used_at = db_int(r, i, COL_SLIST_LAST_USED);
		si.expires_at = db_int(r, i, COL_SLIST_EXPIRES);
		str_copy(si.user_agent, sizeof(si.user_agent),
		    db_cell(r, i, COL_SLIST_USER_AGENT));
		str_copy(si.ip, sizeof(si.ip), db_cell(r, i, COL_SLIST_IP));
		fn(&si, arg);
	}
	db_rows_free(r);
	return ERR_OK;
}

enum err
session_purge_range(struct db *db, int64_t lo, int64_t n, int64_t *next,
    struct session_purged *p)
{
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL), max;
	uint64_t tok = 0, old = 0, ses = 0;

	if (db_query(db, STMT_PURGE_MAX_SESSION, NULL, 0, &r) != DB_OK)
		return ERR_DB;
	max = db_int(r, 0, COL_VALUE);
	db_rows_free(r);
	if (lo < 0 || lo >= max)
		lo = 0;
	struct db_arg a[] = { DB_INT(lo), DB_INT(lo + n), DB_INT(now) };
	if (db_exec(db, STMT_PURGE_REFRESH, a, 3, &tok, NULL) != DB_OK ||
	    db_exec(db, STMT_PURGE_REFRESH_V1, a, 3, &old, NULL) != DB_OK ||
	    db_exec(db, STMT_PURGE_SESSIONS, a, 3, &ses, NULL) != DB_OK)
		return ERR_DB;
	if (p != NULL) {
		p->tokens += tok + old;
		p->sessions += ses;
	}
	*next = lo + n >= max ? 0 : lo + n;
	return ERR_OK;
}

enum err
session_purge_step(struct db *db)
{
	struct db_rows *r = NULL;
	char v[24];
	int64_t lo = 0, next = 0;
	enum err e;

	struct db_arg k[] = { DB_STR(PURGE_KEY) };
	if (db_query(db, STMT_META_GET, k, 1, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows == 1)
		lo = db_int(r, 0, COL_VALUE);
	db_rows_free(r);
	if ((e = session_purge_range(db, lo, PURGE_RANGE, &next, NULL)) !=
	    ERR_OK)
		return e;
	(void)snprintf(v, sizeof(v), "%lld", (long long)next);
	struct db_arg a[] = { DB_STR(PURGE_KEY), DB_STR(v) };
	return db_exec(db, STMT_META_SET, a, 2, NULL, NULL) == DB_OK ? ERR_OK :
								       ERR_DB;
}
