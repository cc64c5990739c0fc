/*
 * email.h: changing the email address of an account.
 *
 * An address is where password resets go, so changing it is taking the
 * account.  The user proves the current password (throttled like a
 * sign-in), and the new address takes effect only when the single-use
 * link mailed to it is opened.  An admin changes a member's address at
 * once.  Either way the old address is told, and the user's pending
 * password-reset tokens, which the old address received, die with it.
 */
#ifndef LATCH_EMAIL_H
#define LATCH_EMAIL_H

#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "user.h"

/* Is email the same address as current, ASCII case aside? */
int email_same(const char *current, const char *email);

/*
 * The profile change of a's own account (PATCH /user/profile): name
 * (NULL: unchanged) at once; email (NULL: unchanged) at once when it is
 * the current address in another case, else as a pending change:
 * password (NULL when absent) is checked like a sign-in
 * (user_check_password()), then a token valid [security]
 * email_change_ttl replaces any pending change, its mail goes to the new
 * address, and its audit entry ("email.change.request") is written, with
 * the name, all or nothing.  *pending is 1 then, else 0.  *u is the user
 * afterwards (its address still the old one while pending).  A lost
 * COMMIT is looked up (notify_commit()).  A refusal by a limit is logged
 * (limit_refused()).
 *
 * ERR_OK; ERR_INVALID_FIELD (a new address without password);
 * ERR_INVALID_CREDENTIALS; ERR_TOO_MANY_ATTEMPTS or ERR_TOO_MANY_REQUESTS
 * (a mail went to that address within [mail] min_interval), each with
 * *retry_after; ERR_EMAIL_TAKEN (another account has the address);
 * ERR_MAIL (the spool refused the mail: nothing changed); ERR_NOT_FOUND;
 * ERR_SYS; ERR_DB; ERR_UNKNOWN.
 */
enum err email_profile_update(struct db *db, const struct conf *conf,
    const struct actor *a, const char *name, const char *email,
    const char *password, struct user *u, int *pending, int *retry_after);

/*
 * POST /user/email/confirm, from a->ip: make the address of token's
 * pending change the user's, in one transaction with email_changed()
 * and its audit entry ("email.change", by the user).  *u is the user
 * afterwards.  ERR_OK, ERR_BAD_EMAIL_TOKEN (unknown, replaced, used,
 * expired, or the user is disabled), ERR_EMAIL_TAKEN (another account
 * took the address meanwhile; the token stays), ERR_MAIL, ERR_SYS,
 * ERR_DB, ERR_UNKNOWN.
 */
enum err email_confirm(struct db *db, const struct conf *conf,
    const struct actor *a, const char *token, struct user *u);

/*
 * Inside the caller's transaction, once the row of before (the user as
 * it was) holds new_email: spend the user's pending change of address and
 * unused password-reset tokens, and hold the notice to the old address
 * in m (by_admin: who changed it, for the mail).  ERR_OK, ERR_MAIL,
 * ERR_DB: on an error the caller rolls back and calls notify_abort();
 * else it commits with notify_commit() (notify.h).
 */
struct notify_mail;
enum err email_changed(struct db *db, const struct conf *conf,
    const struct user *before, const char *new_email, int by_admin,
    struct notify_mail *m);

#endif
