/*
 * user.h: accounts: their rows, lookup, creation, passwords and profile.
 * What needs sessions too (signing in and out, a new password, disabling)
 * is account.h's; what an administrator does to an account, member.h's.
 */
#ifndef LATCH_USER_H
#define LATCH_USER_H

#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "pw.h"

struct user {
	int64_t id;
	char username[65];
	char email[255];
	char name[513];
	enum role role;
	int disabled;
	int64_t org_id;
	char org_name[513];
	int64_t created_at;
	int64_t last_login_at; /* 0: never */
	int retry_after;       /* seconds, with ERR_TOO_MANY_ATTEMPTS */
	/* Read only by user_authenticate(): */
	int totp;         /* TOTP is on: a second step follows */
	int mfa_required; /* the organization's require_mfa names
	                     this account */
};

/* u as the actor of what it does itself (signing in, registering), from
 * ip (borrowed). */
struct actor user_actor(const struct user *u, const char *ip);

/* Load user id into *u.  ERR_OK, ERR_NOT_FOUND or ERR_DB. */
enum err user_get(struct db *db, int64_t id, struct user *u);

/*
 * *u from row `row` of r, whose columns from c0 on are a user's (enum
 * col_user, db.h); absent (NULL) columns leave their fields empty.
 */
void user_from_cols(const struct db_rows *r, size_t row, size_t c0,
    struct user *u);

/*
 * Find a user by username, or by email when login contains '@'.
 * ERR_OK, ERR_NOT_FOUND or ERR_DB.
 */
enum err user_find(struct db *db, const char *login, struct user *u);

/*
 * Hash password (with the configured scrypt cost) into mcf.  Done before
 * any transaction, so no lock is held during the hash.  ERR_OK or ERR_SYS.
 */
enum err user_hash_password(const struct conf *conf, const char *password,
    char *mcf, size_t mcfsz);

/*
 * Insert a user into organization org_id with an already hashed password.
 * Usable inside a transaction.  ERR_OK (*id set), ERR_USERNAME_TAKEN,
 * ERR_EMAIL_TAKEN, ERR_NOT_FOUND (no such organization), ERR_DB or (outside
 * a transaction) ERR_UNKNOWN.
 */
enum err user_insert(struct db *db, int64_t org_id, const char *username,
    const char *email, const char *name, const char *mcf, enum role role,
    int64_t *id);

/*
 * Commit the open transaction that wrote user id with password hash mcf
 * (inserted it, or set its password); if the connection broke on the
 * way, look that up (db_commit_check()).  ERR_OK, ERR_DB (not stored) or
 * ERR_UNKNOWN.
 */
enum err user_commit(struct db *db, int64_t id, const char *mcf);

/*
 * What a correct password showed of its account's stored hash: stale
 * when it is not latch's scrypt at the configured cost (an imported
 * hash, or older costs), so that the sign-in replaces it; its kind; and
 * the hash itself, which the replacement must still find in the row
 * (user_upgrade_password()), so that a password changed meanwhile is
 * never overwritten.  Holds a hash: wiped after use (tok_cleanse()).
 */
struct user_stale {
	int stale;
	enum pw_kind kind;
	char hash[PW_HASH_MAX + 1];
};

/*
 * Check login (username or email) and password.  An unknown account costs
 * the same hash work as a wrong password.  The stored hash may be of any
 * kind pw_verify() checks; with st (may be NULL), *st says whether a
 * correct password's hash is stale (for account_login() to replace in
 * its transaction).  On success *u is the user (its
 * last_login_at is for the caller to set: account_login()).  ERR_OK,
 * ERR_INVALID_CREDENTIALS, ERR_ACCOUNT_DISABLED (only after a correct
 * password), ERR_DB, or ERR_TOO_MANY_ATTEMPTS with u->retry_after set
 * when the name is throttled: see limit.h.  The attempt is counted
 * before the hash; a correct password clears the name's failures,
 * unless the account has TOTP on (u->totp): then the attempt stays
 * counted until its second step succeeds (mfa_finish()), so that a
 * known password cannot buy code guesses.  *u is the account named
 * (id 0 if none) on every answer.
 */
enum err user_authenticate(struct db *db, const struct conf *conf,
    const char *login, const char *password, struct user *u,
    struct user_stale *st);

/*
 * Inside the caller's transaction, replace user id's stored hash by mcf
 * if it is still st->hash.  ERR_OK (*done 1 if replaced, 0 if the hash
 * changed meanwhile) or ERR_DB.
 */
enum err user_upgrade_password(struct db *db, int64_t id,
    const struct user_stale *st, const char *mcf, int *done);

/*
 * Check the password of user id, throttled like a sign-in under both of
 * its names (username and email): a wrong password counts as a failed
 * sign-in by either, a correct one clears both.  ERR_OK,
 * ERR_INVALID_CREDENTIALS, ERR_TOO_MANY_ATTEMPTS (*retry_after set),
 * ERR_NOT_FOUND, ERR_DB.  Not inside a transaction: the count must stand
 * whatever the caller does next.
 */
enum err user_check_password(struct db *db, const struct conf *conf, int64_t id,
    const char *password, int *retry_after);

/*
 * Store password hash mcf (user_hash_password()) for user id, inside the
 * caller's transaction or not.  ERR_OK, ERR_NOT_FOUND, ERR_DB,
 * ERR_UNKNOWN (outside a transaction).
 */
enum err user_put_password(struct db *db, int64_t id, const char *mcf);

/*
 * Hash password and store it, ending no session (account_set_password()
 * and account_password() end them).
 * ERR_OK, ERR_NOT_FOUND, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err user_set_password(struct db *db, const struct conf *conf, int64_t id,
    const char *password);

/* Set the disabled flag of user id (the caller knows it exists), inside
 * its transaction or not.  ERR_OK, ERR_DB, ERR_UNKNOWN (outside one). */
enum err user_put_disabled(struct db *db, int64_t id, int disabled);

/* Record now as the last sign-in of user id.  ERR_OK or ERR_DB. */
enum err user_put_login(struct db *db, int64_t id, int64_t now);

/*
 * Update name and/or email (NULL: unchanged).  ERR_OK, ERR_EMAIL_TAKEN,
 * ERR_NOT_FOUND, ERR_DB, ERR_UNKNOWN.  *u is reloaded on success.
 */
enum err user_update_profile(struct db *db, int64_t id, const char *name,
    const char *email, struct user *u);

/*
 * Call fn for each user (of organization org when org is not NULL), in id
 * order.  ERR_OK or ERR_DB.
 */
enum err user_foreach(struct db *db, const char *org,
    void (*fn)(const struct user *, void *), void *arg);

/*
 * Reads scoped by organization: a user of another organization is
 * ERR_NOT_FOUND, exactly like a missing one (member.h decides which
 * organization a caller may read).
 */

/* Load user id of organization org.  ERR_OK, ERR_NOT_FOUND, ERR_DB. */
enum err user_get_in(struct db *db, int64_t org, int64_t id, struct user *u);

/*
 * Page through the users of org in id order: disabled -1 (any), 0 or 1;
 * q NULL/"" or a substring of username, email or name.  *total is the
 * count of all matches.  ERR_OK or ERR_DB.
 */
enum err user_list(struct db *db, int64_t org, int disabled, const char *q,
    int64_t limit, int64_t offset, int64_t *total,
    void (*fn)(const struct user *, void *), void *arg);

/* Lower-case (ASCII) and escape s into a LIKE pattern matching any value
 * that contains it, into out.  Returns 0 or -1. */
int user_like_pattern(const char *s, char *out, size_t outsz);

#endif
