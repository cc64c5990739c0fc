/*
 * org.h: organizations, first-run setup and self-service registration.
 */
#ifndef LATCH_ORG_H
#define LATCH_ORG_H

#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "err.h"
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
 * With `create_org` unset, org must exist (latchctl create-user) and is
 * created if missing otherwise.  On success *uid is the new user's id.
 * Errors: ERR_ORG_TAKEN, ERR_USERNAME_TAKEN, ERR_EMAIL_TAKEN,
 * ERR_SETUP_DONE, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err org_register(struct db *db, const struct conf *conf, int setup,
    const char *org, int create_org, const char *username, const char *email,
    const char *name, const char *password, enum role role, int64_t *uid);

struct org {
	int64_t id;
	char name[513];
	char description[4097];
	int64_t created_at;
	int64_t user_count;
};

/* Load organization id.  ERR_OK, ERR_NOT_FOUND, ERR_DB. */
enum err org_get(struct db *db, int64_t id, struct org *o);

/*
 * Change name and/or description (NULL: unchanged); *o is reloaded.
 * ERR_OK, ERR_NOT_FOUND, ERR_ORG_TAKEN, ERR_DB, ERR_UNKNOWN.
 */
enum err org_update(struct db *db, int64_t id, const char *name,
    const char *description, struct org *o);

/*
 * Delete organization id with its users, sessions and invitations.
 * Refused with ERR_LAST_ADMIN when that would remove the last active
 * superadmin.  ERR_OK, ERR_NOT_FOUND, ERR_LAST_ADMIN, ERR_DB,
 * ERR_UNKNOWN.
 */
enum err org_delete(struct db *db, int64_t id);

/*
 * Page through organizations in id order, q NULL/"" or a substring of the
 * name.  *total is the count of matches.  ERR_OK or ERR_DB.
 */
enum err org_list(struct db *db, const char *q, int64_t limit,
    int64_t offset, int64_t *total, void (*fn)(const struct org *, void *),
    void *arg);

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
