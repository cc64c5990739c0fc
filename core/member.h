/*
 * member.h: an organization's members as its admins (and the
 * superadmins) manage them: read, list, create, change, disable, enable,
 * delete (/users).
 *
 * Every function takes the caller a and want, the organization a
 * superadmin's request names: the organization it acts in is
 * actor_scope()'s, so a member of another organization is ERR_NOT_FOUND
 * exactly like a missing one; an admin never acts on a superadmin nor
 * makes one (actor_may_act_on()); each change is audited in its own
 * transaction.
 */
#ifndef LATCH_MEMBER_H
#define LATCH_MEMBER_H

#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "user.h"

/* Member id.  ERR_OK, ERR_NOT_FOUND, ERR_INVALID_FIELD, ERR_DB. */
enum err member_get(struct db *db, const struct actor *a, int64_t want,
    int64_t id, struct user *u);

/*
 * Page through the members in id order (user_list()): disabled -1 (any),
 * 0 or 1; q NULL/"" or a substring of username, email or name.
 * ERR_OK, ERR_NOT_FOUND, ERR_INVALID_FIELD, ERR_DB.
 */
enum err member_list(struct db *db, const struct actor *a, int64_t want,
    int disabled, const char *q, int64_t limit, int64_t offset, int64_t *total,
    void (*fn)(const struct user *, void *), void *arg);

/*
 * A new member with role, its password hashed here, audited
 * ("user.create"); *u is the member as stored.  ERR_OK, ERR_FORBIDDEN,
 * ERR_NOT_FOUND, ERR_INVALID_FIELD, ERR_USERNAME_TAKEN, ERR_EMAIL_TAKEN,
 * ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err member_create(struct db *db, const struct conf *conf,
    const struct actor *a, int64_t want, const char *username,
    const char *email, const char *name, const char *password, enum role role,
    struct user *u);

/* A change: NULL / -1 / 0 fields stay as they are. */
struct member_patch {
	const char *name;
	const char *email;
	int role;     /* enum role or -1 */
	int disabled; /* 0, 1 or -1 */
	int64_t org;  /* the organization to move to, or 0 */
};

/*
 * Apply p to member id in one transaction that locks the active admins
 * of the organization and the active superadmins first, so that the last
 * active admin of an organization and the last active superadmin cannot
 * be disabled or demoted, also by two admins at the same moment.
 * Disabling revokes the member's sessions; disabling or demoting it
 * revokes the API keys it made (apikey_revoke_user()).  Moving it to
 * another organization (p->org, a superadmin only; the organization it
 * leaves keeps an active admin by the same rule) ends its sessions and
 * revokes its keys, audited in both organizations ("user.move").  A new
 * address (not only its case) takes effect at once, with email_changed()
 * in the same transaction (the old address is told, pending reset tokens
 * die), but never for the caller's own account: that goes through
 * email_profile_update() like anyone's.  Each change is audited in the
 * transaction ("role.change", "user.disable" or "user.enable",
 * "user.update" when a name or an address was given, "email.change").
 * *after is the member afterwards.  ERR_OK, ERR_NOT_FOUND (also an
 * unknown p->org), ERR_FORBIDDEN, ERR_LAST_ADMIN, ERR_EMAIL_TAKEN,
 * ERR_INVALID_FIELD, ERR_MAIL, ERR_DB, ERR_UNKNOWN.
 */
enum err member_update(struct db *db, const struct conf *conf,
    const struct actor *a, int64_t want, int64_t id,
    const struct member_patch *p, struct user *after);

/*
 * Delete member id (its sessions go with it, its API keys are revoked
 * first), under the same rule, with its audit entry ("user.delete").
 * ERR_OK, ERR_NOT_FOUND, ERR_FORBIDDEN, ERR_LAST_ADMIN,
 * ERR_INVALID_FIELD, ERR_DB, ERR_UNKNOWN.
 */
enum err member_delete(struct db *db, const struct actor *a, int64_t want,
    int64_t id);

#endif
