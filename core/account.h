/*
 * account.h: what is done to an account together with its sessions:
 * signing in and out, a new password (which ends the other sessions),
 * disabling.  Each is one transaction with its audit entry, so that a
 * failure leaves nothing half done (a changed password with the old
 * sessions alive, a sign-in recorded without its session).
 */
#ifndef LATCH_ACCOUNT_H
#define LATCH_ACCOUNT_H

#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "session.h"
#include "user.h"

/* account_login()'s flags: ACCOUNT_REMEMBER, a remembered session
 * (remember_ttl); ACCOUNT_COOKIE, the tokens go to a browser as cookies
 * (carried to the second step). */
#define ACCOUNT_REMEMBER 1
#define ACCOUNT_COOKIE 2

/*
 * Sign in with login (username or email) and password, from a->ip with
 * user agent ua: user_authenticate(), then in one transaction the time
 * of the sign-in, its audit entry ("login.success") and a session
 * (ACCOUNT_REMEMBER in flags or not) whose tokens go into *t;
 * t->restricted if the session may only enrol a second factor.  When
 * the account has TOTP on, no session yet: t->mfa_token is the
 * challenge of the second step (mfa_challenge(), mfa_finish()).  *u is the account named
 * (id 0 if none).  A refused sign-in is logged and audited
 * ("login.failure", by the account named); a throttled one is logged as
 * a refusal (limit_refused()), with u->retry_after.  ERR_OK,
 * ERR_INVALID_CREDENTIALS, ERR_ACCOUNT_DISABLED, ERR_TOO_MANY_ATTEMPTS,
 * ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err account_login(struct db *db, const struct conf *conf,
    const struct actor *a, const char *login, const char *password, int flags,
    const char *ua, struct user *u, struct session_tokens *t);

/*
 * Sign a out: its session sid, or with all every session of its account,
 * with the audit entry ("logout"), in one transaction.  A session that
 * ended meanwhile is signed out all the same.  ERR_OK, ERR_DB,
 * ERR_UNKNOWN.
 */
enum err account_logout(struct db *db, const struct actor *a, int64_t sid,
    int all);

/*
 * POST /user/password: check a's current password (throttled like a
 * sign-in: user_check_password(); a refusal is logged with
 * *retry_after), then in one transaction store the new one, end every
 * other session of the account than sid, and audit it
 * ("password.change").  ERR_OK, ERR_INVALID_CREDENTIALS,
 * ERR_TOO_MANY_ATTEMPTS, ERR_SESSION_REVOKED (the account is gone),
 * ERR_NOT_FOUND, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err account_password(struct db *db, const struct conf *conf,
    const struct actor *a, int64_t sid, const char *current,
    const char *password, int *retry_after);

/*
 * The operator's new password for account id (latchctl reset-password):
 * stored, and every session of the account ended, in one transaction.
 * ERR_OK, ERR_NOT_FOUND, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err account_set_password(struct db *db, const struct conf *conf,
    int64_t id, const char *password);

/*
 * The operator disables account id, ending every session of it and
 * revoking the API keys it made, or
 * enables it (latchctl disable, enable), in one transaction.  ERR_OK,
 * ERR_NOT_FOUND, ERR_DB, ERR_UNKNOWN.
 */
enum err account_set_disabled(struct db *db, int64_t id, int disabled);

#endif
