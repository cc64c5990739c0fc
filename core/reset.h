/*
 * reset.h: password reset by a single-use token sent by mail.
 */
#ifndef LATCH_RESET_H
#define LATCH_RESET_H

#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "user.h"

/*
 * For the active account with this email, asked from a->ip: make a reset
 * token valid [security] reset_ttl and queue its mail, all or nothing;
 * *u is the account.  ERR_OK, ERR_NOT_FOUND (no such active account),
 * ERR_MAIL, ERR_SYS, ERR_DB, ERR_UNKNOWN (the commit's outcome could not
 * be found out), or ERR_TOO_MANY_REQUESTS (u->retry_after set, the
 * refusal logged) when a mail went to the address within [mail]
 * min_interval.
 */
enum err reset_request(struct db *db, const struct conf *conf,
    const struct actor *a, const char *email, struct user *u);

/*
 * Set a new password with token, from a->ip: single use, unexpired, the
 * account active; every session of the user is revoked, every other
 * pending token of the user is spent and the reset is audited
 * ("password.reset", by the user), in one transaction.  ERR_OK,
 * ERR_BAD_RESET_TOKEN, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err reset_perform(struct db *db, const struct conf *conf,
    const struct actor *a, const char *token, const char *password);

#endif
