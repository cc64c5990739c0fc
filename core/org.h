/*
 * org.h: organizations, first-run setup and self-service registration.
 */
#ifndef LATCH_ORG_H
#define LATCH_ORG_H

#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "invite.h"
#include "session.h"
#include "user.h"

/* Insert an organization.  ERR_OK (*id set), ERR_ORG_TAKEN, ERR_DB,
 * ERR_UNKNOWN (outside a transaction). */
enum err org_insert(struct db *db, const char *name, const char *description,
    int64_t *id);

/* Find by name (case-insensitive).  ERR_OK, ERR_NOT_FOUND, ERR_DB. */
enum err org_find(struct db *db, const char *name, int64_t *id);

/* 1 if no user exists yet, 0 if one does, -1 on a database error. */
int org_setup_required(struct db *db);

/*
 * Create organization `org` and its first user (role) in one transaction.
 * With `setup` set this is the first-run setup: it fails with
 * ERR_SETUP_DONE once any user exists, also when two setups race.
 * With `create_org` unset (latchctl create-user) org is used if it
 * exists and created if not; set, it must be new.  On success *uid is
 * the new user's id.  Errors: ERR_ORG_TAKEN, ERR_USERNAME_TAKEN,
 * ERR_EMAIL_TAKEN, ERR_SETUP_DONE, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err org_register(struct db *db, const struct conf *conf, int setup,
    const char *org, int create_org, const char *username, const char *email,
    const char *name, const char *password, enum role role, int64_t *uid);

/* Whether POST /auth/register may create organizations ([security]
 * allow_new_organizations): ERR_OK or ERR_REGISTRATION_CLOSED. */
enum err org_registration_open(const struct conf *conf);

/*
 * POST /setup (setup set: the first user, a superadmin) and POST
 * /auth/register (an admin), from a->ip with user agent ua: a new
 * organization org and its first user, their audit entries
 * ("org.create", "user.create", by the new user) and the user's session,
 * in one transaction, as org_register() makes them: the account never
 * exists without its session.  *u is the user and *t its tokens.
 * Errors as org_register().
 */
enum err org_signup(struct db *db, const struct conf *conf,
    const struct actor *a, int setup, const char *org, const char *username,
    const char *email, const char *name, const char *password, const char *ua,
    struct user *u, struct session_tokens *t);

struct org {
	int64_t id;
	char name[513];
	char description[4097];
	int64_t created_at;
	int64_t user_count;
	char require_mfa[8]; /* "none", "admins" or "all" */
};

/* Load organization id.  ERR_OK, ERR_NOT_FOUND, ERR_DB. */
enum err org_get(struct db *db, int64_t id, struct org *o);

/* The organization a acts in (actor_scope() of want).  ERR_OK,
 * ERR_NOT_FOUND, ERR_INVALID_FIELD, ERR_DB. */
enum err org_get_in(struct db *db, const struct actor *a, int64_t want,
    struct org *o);

/*
 * POST /organizations by superadmin a: organization name with its
 * description and, with admin_email not NULL, its admin's invitation
 * (invite_put(): the code into code, TOK_STR_SIZE bytes, *inv, and the
 * mail from inviter), audited ("invitation.create", "org.create"), all
 * in one transaction.  *o is the new organization.  ERR_OK,
 * ERR_ORG_TAKEN, errors of invite_create(), ERR_DB, ERR_UNKNOWN.
 */
enum err org_create(struct db *db, const struct conf *conf,
    const struct actor *a, const char *name, const char *description,
    const char *admin_email, const char *inviter, char *code, struct org *o,
    struct invite *inv);

/*
 * Change the name and/or the description (NULL: unchanged) of the
 * organization a acts in (actor_scope() of want), audited
 * ("org.update"); *o is reloaded.  ERR_OK, ERR_NOT_FOUND,
 * ERR_INVALID_FIELD, ERR_ORG_TAKEN, ERR_DB, ERR_UNKNOWN.
 */
enum err org_update(struct db *db, const struct actor *a, int64_t want,
    const char *name, const char *description, struct org *o);

/* Whether s is a require_mfa value: "none", "admins" or "all". */
int org_mfa_policy_ok(const char *s);

/*
 * org_update() with require_mfa too (NULL: unchanged; else
 * org_mfa_policy_ok()): who in the organization must sign in with a
 * second factor.  On a change, in the same transaction, every live
 * session of the organization is restricted to enrolment or freed by
 * the new rule (an account that must and has no TOTP may only enrol),
 * and the audit entry says so ("org.update", "require_mfa=...").  An API
 * key (a->key_id) may change the rest but not require_mfa:
 * ERR_FORBIDDEN.
 */
enum err org_update_mfa(struct db *db, const struct actor *a, int64_t want,
    const char *name, const char *description, const char *require_mfa,
    struct org *o);

/*
 * Delete organization id with its users, sessions and invitations, by
 * superadmin a, audited ("org.delete").  Refused with ERR_LAST_ADMIN
 * when that would remove the last active superadmin.  ERR_OK,
 * ERR_NOT_FOUND, ERR_LAST_ADMIN, ERR_DB, ERR_UNKNOWN.
 */
enum err org_delete(struct db *db, const struct actor *a, int64_t id);

/*
 * Page through organizations in id order, q NULL/"" or a substring of the
 * name.  *total is the count of matches.  ERR_OK or ERR_DB.
 */
enum err org_list(struct db *db, const char *q, int64_t limit, int64_t offset,
    int64_t *total, void (*fn)(const struct org *, void *), void *arg);

/*
 * POST /setup {"skip": true}: while no user exists, record in meta
 * (k='auth', v='disabled') that the installation runs without
 * authentication.  ERR_OK, ERR_SETUP_DONE (a user exists), ERR_DB,
 * ERR_UNKNOWN.
 */
enum err org_auth_skip(struct db *db);

/*
 * Whether authentication is in force: 1 unless [security] auth_enabled is
 * false, or setup was skipped and still no user exists (the first user
 * turns it back on).  0 when off, -1 on a database error.
 */
int org_auth_enabled(struct db *db, const struct conf *conf);

#endif
