/*
 * actor.h: who makes a change, and what their role lets them do.
 *
 * Every core function that changes state on someone's behalf takes the
 * caller as a struct actor.  core/ decides there what the caller may do
 * (the organization a call acts in, whom an admin may act on) and
 * records the change in the audit log in the same transaction as the
 * change (audit.h); the front only says who is calling.
 */
#ifndef LATCH_ACTOR_H
#define LATCH_ACTOR_H

#include <stdint.h>

#include "db.h"
#include "err.h"

enum role { ROLE_USER, ROLE_ADMIN, ROLE_SUPERADMIN, ROLE__MAX };

/* "user", "admin", "superadmin" ("user" for a value outside the enum). */
const char *role_name(enum role r);
/* Parse a role name; -1 if unknown. */
int role_parse(const char *s);

/*
 * The caller.  user_id is 0 while nobody is signed in (a sign-in, a
 * registration, a password reset: core fills in the account once it is
 * known).  Nothing here is owned.
 */
struct actor {
	int64_t user_id;
	int64_t org_id; /* the caller's organization, as stored */
	enum role role; /* the caller's role, as stored */
	const char *ip; /* borrowed: the client address ("" if
	                   none), for the audit log and the
	                   limits' log lines */
	int64_t key_id; /* the API key calling (apikey.h), user_id
	                   0; 0 for a person */
};

/*
 * The organization a request names for a superadmin (want below): 0 for
 * none, ACTOR_ORG_BAD for a malformed one, else its id.
 */
#define ACTOR_ORG_BAD (-1)

/*
 * The organization a call of a acts in, into *org: an admin's (or a
 * user's) own, whatever want says; a superadmin's own when want is 0,
 * else organization want, which must exist.  ERR_OK; for a superadmin
 * ERR_INVALID_FIELD (want is ACTOR_ORG_BAD), ERR_NOT_FOUND (no such
 * organization) or ERR_DB.
 */
enum err actor_scope(struct db *db, const struct actor *a, int64_t want,
    int64_t *org);

/*
 * Whether a may act on an account of role target, or give that role: an
 * admin may neither touch a superadmin nor make one.  ERR_OK or
 * ERR_FORBIDDEN.
 */
enum err actor_may_act_on(const struct actor *a, enum role target);

#endif
