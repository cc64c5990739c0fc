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

/* Insert an organization.  ERR_OK (*id set), ERR_ORG_TAKEN, ERR_DB. */
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
 * ERR_SETUP_DONE, ERR_SYS, ERR_DB.
 */
enum err org_register(struct db *db, const struct conf *conf, int setup,
    const char *org, int create_org, const char *username, const char *email,
    const char *name, const char *password, enum role role, int64_t *uid);

#endif
