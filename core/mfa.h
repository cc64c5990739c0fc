/*
 * mfa.h: two-factor sign-in with TOTP (totp.h): enrolment, the second
 * step of a sign-in, recovery codes, turning it off, and its reset by an
 * admin or the operator.
 *
 * A TOTP secret and the user's recovery key (which the recovery codes'
 * hashes are made under) are stored sealed with [security] mfa_key.  A
 * code counts once (the last step accepted is kept), within one step of
 * clock skew each way; every code checked counts toward the sign-in
 * throttle of both names of the account, exactly like a password
 * (limit.h), and a right one clears them.
 */
#ifndef LATCH_MFA_H
#define LATCH_MFA_H

#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "session.h"
#include "totp.h"
#include "user.h"

/* Seconds a sign-in waits for its second factor (its mfa_token). */
#define MFA_TOKEN_TTL 300

/* What POST /user/mfa/totp answers.  Owned by the caller: mfa_free(). */
struct mfa_enrolment {
	char secret[TOTP_B32_SIZE]; /* base32 */
	char uri[1024];             /* otpauth://totp/... */
	char *svg;                  /* the URI as a QR code (qr.h) */
};

/* Recovery codes, as shown once. */
struct mfa_codes {
	char code[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_SIZE];
};

/* A user's second factor, for GET /user/mfa. */
struct mfa_status {
	int enabled;
	int pending;        /* an enrolment waits for its code */
	int64_t enabled_at; /* 0: off */
	int codes_left;     /* unused recovery codes */
	int required;       /* the organization requires it of them */
	char policy[8];     /* the organization's require_mfa */
};

/* Free what e holds (not e), cleansing the secret.  Accepts NULL. */
void mfa_free(struct mfa_enrolment *e);

/*
 * Start an enrolment of a's account u (u->id is a->user_id): a new
 * secret, sealed and stored as pending (replacing a pending one), and
 * its URI (account: u's username, issuer [security] mfa_issuer) and QR
 * code into *out.  Nothing changes for signing in until it is
 * confirmed.  ERR_OK, ERR_MFA_ENABLED, ERR_MFA_UNAVAILABLE, ERR_NOMEM,
 * ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err mfa_enrol(struct db *db, const struct conf *conf,
    const struct actor *a, const struct user *u, struct mfa_enrolment *out);

/*
 * Confirm a's pending enrolment with a current code: TOTP is on, new
 * recovery codes into *codes, a's session sid no longer restricted and
 * signed in with "otp" from its next token on; audited ("mfa.enable").
 * ERR_OK, ERR_MFA_NOT_ENROLLED (nothing pending), ERR_MFA_ENABLED,
 * ERR_INVALID_CODE, ERR_MFA_UNAVAILABLE, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err mfa_confirm(struct db *db, const struct conf *conf,
    const struct actor *a, int64_t sid, const char *code,
    struct mfa_codes *codes);

/*
 * What turning off and new recovery codes need: a's password and a
 * current code or (code NULL) a recovery code.  Both are throttled like
 * a sign-in (*retry_after with ERR_TOO_MANY_ATTEMPTS).
 *
 * mfa_disable(): TOTP off and the recovery codes gone, audited
 * ("mfa.disable"); refused with ERR_MFA_REQUIRED while a's organization
 * requires it of a.  mfa_recovery_new(): ten new codes into *codes, the
 * old ones void, audited ("mfa.recovery_codes").  ERR_OK,
 * ERR_INVALID_CREDENTIALS, ERR_INVALID_CODE, ERR_TOO_MANY_ATTEMPTS,
 * ERR_MFA_NOT_ENROLLED, ERR_MFA_UNAVAILABLE, ERR_SYS, ERR_DB,
 * ERR_UNKNOWN.
 */
enum err mfa_disable(struct db *db, const struct conf *conf,
    const struct actor *a, const char *password, const char *code,
    const char *recovery, int *retry_after);
enum err mfa_recovery_new(struct db *db, const struct conf *conf,
    const struct actor *a, const char *password, const char *code,
    const char *recovery, struct mfa_codes *codes, int *retry_after);

/* The second factor of user uid into *st.  ERR_OK, ERR_NOT_FOUND,
 * ERR_DB. */
enum err mfa_status(struct db *db, int64_t uid, struct mfa_status *st);

/*
 * The first step of a sign-in of u (right password, TOTP on) is done:
 * store a challenge (remember and cookie carried along) and put its
 * mfa_token, valid MFA_TOKEN_TTL seconds, into t->mfa_token.  ERR_OK,
 * ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err mfa_challenge(struct db *db, const struct user *u, int remember,
    int cookie, struct session_tokens *t);

/*
 * POST /auth/mfa: finish the sign-in of mfa_token with a current code
 * or (code NULL) a recovery code, from a->ip with user agent ua: the
 * challenge is used up, the code too, and in one transaction the
 * sign-in's time, its audit entries ("login.success", and
 * "mfa.recovery_code") and a session signed in with "pwd" and "otp",
 * whose tokens go into *t (t->remember, t->cookie as asked at sign-in);
 * *u is the user.  A wrong code is audited ("mfa.failure") and counts
 * toward the account's throttle.  ERR_OK, ERR_INVALID_TOKEN (unknown,
 * expired or used mfa_token, TOTP turned off, account disabled),
 * ERR_INVALID_CODE, ERR_TOO_MANY_ATTEMPTS (u->retry_after),
 * ERR_MFA_UNAVAILABLE, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err mfa_finish(struct db *db, const struct conf *conf,
    const struct actor *a, const char *mfa_token, const char *code,
    const char *recovery, const char *ua, struct user *u,
    struct session_tokens *t);

/*
 * Reset the second factor of member id (a an admin of its organization,
 * or a superadmin with want: see member.h), or with a NULL of account id
 * (latchctl mfa-reset): TOTP off, recovery codes gone, every session of
 * the account ended, audited ("mfa.reset"), in one transaction.  The
 * member enrols again at its next sign-in if its organization requires
 * it.  An API key (a->key_id) may not: ERR_FORBIDDEN (a key has no
 * second factor and must not take one away from a person).  ERR_OK,
 * ERR_NOT_FOUND, ERR_FORBIDDEN, ERR_MFA_NOT_ENROLLED, ERR_INVALID_FIELD,
 * ERR_DB, ERR_UNKNOWN.
 */
enum err mfa_reset(struct db *db, const struct actor *a, int64_t want,
    int64_t id);

#endif
