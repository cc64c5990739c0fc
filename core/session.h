/*
 * session.h: sessions, access tokens (JWT) and rotating refresh tokens.
 *
 * A session is one sign-in.  Its access tokens carry its id (sid), so
 * revoking the session makes them fail at once.  Refresh tokens carry 256
 * random bits and name their row (session, generation: tok.h), are stored
 * only as SHA-256, and rotated on every use; presenting a rotated one
 * after [security] refresh_reuse_interval revokes the session.
 */
#ifndef LATCH_SESSION_H
#define LATCH_SESSION_H

#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "jwt.h"
#include "tok.h"
#include "user.h"

struct session_tokens {
	char access[JWT_MAX_LEN];
	char refresh[TOK_STR_SIZE];
	int expires_in;         /* seconds */
	int refresh_expires_in; /* seconds */
	int remember;           /* the session is remembered (remember_ttl) */
	/* A sign-in that waits for its second factor (mfa.h) gives no
	 * tokens but this, with cookie the sign-in's cookie choice. */
	char mfa_token[TOK_STR_SIZE]; /* "" when tokens were given */
	int mfa_expires_in;           /* seconds */
	int cookie;     /* with POST /auth/mfa: as asked at sign-in */
	int restricted; /* the session may only enrol a second
	                   factor (an organization's require_mfa) */
};

/*
 * Who is calling, after session_authenticate() or, for an API key,
 * apikey_authenticate() (apikey.h: key_id set, user_id and sid 0,
 * username and claims empty).
 */
struct principal {
	int64_t user_id;
	int64_t org_id; /* current, from the database */
	int64_t sid;
	enum role role; /* current, from the database */
	int restricted; /* the session may only enrol a second
	                   factor: see session_open() */
	char username[65];
	struct jwt_claims claims; /* as signed */
	int64_t key_id;           /* the API key's id; 0 for a session */
	char key_name[513];       /* the API key's name */
};

/* A session as listed by GET /auth/sessions. */
struct session_info {
	int64_t id;
	int64_t created_at;
	int64_t last_used_at;
	int64_t expires_at;
	char user_agent[256 * 4];
	char ip[46];
};

/* A session being started (session_open()) until its transaction ends. */
struct session_new {
	int64_t sid;
	int64_t now;
	unsigned amr;                  /* JWT_AMR_* */
	int ttl;                       /* of its refresh tokens */
	unsigned char h[TOK_HASH_LEN]; /* its first refresh token's hash */
};

/*
 * Start a session: inside the caller's open transaction (a sign-in, a
 * registration), store a session for u (remembered or not; ua and ip may
 * be "", are truncated to fit) and its first refresh token, into
 * out->refresh, with what session_commit_open() needs in *sn.  On an
 * error the caller rolls back.  ERR_OK, ERR_SYS, ERR_DB.
 */
enum err session_open(struct db *db, const struct conf *conf,
    const struct user *u, int remember, const char *ua, const char *ip,
    struct session_new *sn, struct session_tokens *out);

/*
 * session_open() for a sign-in by the means amr (JWT_AMR_* bits; that is
 * JWT_AMR_PWD).  A session of an account that its organization's
 * require_mfa makes have a second factor, and that has none, is
 * restricted: it may only enrol one (principal.restricted).
 */
enum err session_open_amr(struct db *db, const struct conf *conf,
    const struct user *u, int remember, unsigned amr, const char *ua,
    const char *ip, struct session_new *sn, struct session_tokens *out);

/*
 * Commit the caller's transaction, which opened session sn for u, and
 * issue the session's access token into *out.  A COMMIT whose answer was
 * lost is looked up by the session's first refresh token
 * (db_commit_check()).  Now and then a housekeeping step follows
 * (session_purge_step()).  ERR_OK, ERR_SYS, ERR_DB (nothing stored),
 * ERR_UNKNOWN (the commit's outcome could not be found out).
 */
enum err session_commit_open(struct db *db, const struct conf *conf,
    const struct user *u, const struct session_new *sn,
    struct session_tokens *out);

/*
 * Rotate refresh token rt, presented from a->ip: issue new tokens for its
 * session, into *out and the session's user into *u.  The successor is
 * derived from rt (tok_refresh_next() under jwt_secret), so that rt
 * presented again within [security] refresh_reuse_interval, while its
 * successor is unused, gets that successor again (ERR_OK): a repeated
 * refresh is safe.  ERR_OK, ERR_INVALID_TOKEN (unknown, expired, rotated
 * and not repeatable, session gone, user disabled; a reuse after the
 * interval also revokes the session, with its audit entry
 * "refresh.reuse" by its user in the same transaction), ERR_SYS, ERR_DB
 * (nothing stored), ERR_UNKNOWN (the commit's outcome could not be
 * found out).
 */
enum err session_refresh(struct db *db, const struct conf *conf,
    const struct actor *a, const char *rt, struct session_tokens *out,
    struct user *u);

/*
 * The CSRF value (the latch_csrf cookie) of the session that refresh
 * token rt belongs to: tok_session_csrf() under jwt_secret, the same for
 * every refresh of the session.  Into out (outsz >= TOK_STR_SIZE).
 * Returns 0, or -1 if rt is not a refresh token.
 */
int session_csrf(const struct conf *conf, const char *rt, char *out,
    size_t outsz);

/*
 * Verify an access token and its session.  ERR_OK (*p filled),
 * ERR_INVALID_TOKEN, ERR_TOKEN_EXPIRED, ERR_SESSION_REVOKED (revoked or
 * expired session, or disabled user), ERR_DB.  With u, *u is the user's
 * whole row (with the organization's name), read in the same query; on
 * an error its contents are undefined.
 */
enum err session_authenticate(struct db *db, const struct conf *conf,
    const char *token, struct principal *p, struct user *u);

/*
 * The public keys a JWKS publishes (docs/api.md, "JWKS"): jwt_key,
 * jwt_key_next, and jwt_key_previous until jwt_previous_until; never an
 * HS256 secret.  Into out (borrowed from conf); returns how many.
 */
size_t session_published(const struct conf *conf, const struct key *out[3]);

/*
 * RFC 7009: revoke the session of token, a refresh or an access token of
 * ours.  Anything else is ignored.  ERR_OK, ERR_DB or ERR_UNKNOWN.
 */
enum err session_revoke_token(struct db *db, const struct conf *conf,
    const char *token);

/* Revoke session sid of user uid.  ERR_OK, ERR_NOT_FOUND, ERR_DB,
 * ERR_UNKNOWN. */
enum err session_revoke(struct db *db, int64_t uid, int64_t sid);

/* Revoke every session of uid except `except` (0: none), inside the
 * caller's transaction or not.  ERR_OK, ERR_DB, ERR_UNKNOWN. */
enum err session_revoke_user(struct db *db, int64_t uid, int64_t except);

/*
 * Housekeeping.  Sessions that expired or were revoked, and refresh tokens
 * past their own expiry, answer nothing but 401 any more; they are
 * deleted by walking the sessions by id, a range at a time.
 */
struct session_purged {
	uint64_t sessions; /* dead sessions deleted (their tokens too) */
	uint64_t tokens;   /* expired refresh tokens of live sessions */
};

/*
 * Purge sessions with ids in (lo, lo + n] (n > 0), adding to *p (may be
 * NULL).  *next is where the next range starts: lo + n, or 0 after the
 * last session.
 * ERR_OK or ERR_DB.
 */
enum err session_purge_range(struct db *db, int64_t lo, int64_t n,
    int64_t *next, struct session_purged *p);

/*
 * One range from where the last step stopped (kept in the meta table):
 * what latchd does now and then when it starts a session.  ERR_OK or
 * ERR_DB.
 */
enum err session_purge_step(struct db *db);

/*
 * Call fn for each live session of uid, in id order.  ERR_OK or ERR_DB.
 */
enum err session_foreach(struct db *db, int64_t uid,
    void (*fn)(const struct session_info *, void *), void *arg);

#endif
