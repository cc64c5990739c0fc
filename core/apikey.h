/*
 * apikey.h: API keys, with which a service acts as a role of one
 * organization without anyone's password.
 *
 * A key is TOK_APIKEY_PREFIX ("latch_", for secret scanners) and the
 * base64url of its row id and 256 random bits (tok.h); it is shown once,
 * when it is made, and stored only as SHA-256.  Checking one is one
 * primary-key read and a constant-time comparison, plus, at most once a
 * minute per key, the write of last_used_at.  A key never holds more
 * than its creator's role and never superadmin; keys are revoked with
 * their creator: when the creator is disabled, demoted, deleted or moved
 * to another organization (apikey_revoke_user()).  Every create and
 * revoke is audited in its transaction, and so is a use after the key
 * was revoked or expired (at most once a minute per key).
 */
#ifndef LATCH_APIKEY_H
#define LATCH_APIKEY_H

#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "db.h"
#include "err.h"
#include "session.h"

/* A key as GET /api-keys shows it; never its secret. */
struct apikey {
	int64_t id;
	int64_t org_id;
	char name[513];
	enum role role;
	int64_t created_by; /* 0: made by latchctl (or its creator was
	                             deleted, which revoked it) */
	char creator[65];   /* the creator's username, "" if none */
	int64_t created_at;
	int64_t expires_at;   /* 0: never */
	int64_t last_used_at; /* 0: never */
};

/*
 * Make a key named name (valid_org_name()) with role in the organization
 * of a's call (actor_scope() of want), expiring at expires_at (0: never;
 * else it must lie in the future), made by a, audited
 * ("api_key.create").  The key goes into key (keysz >= TOK_STR_SIZE),
 * the row into *k.  A person only: an admin or superadmin, for role user
 * or admin at most its own.  ERR_OK, ERR_FORBIDDEN (a key calling, a
 * user, role superadmin or above a's), ERR_INVALID_FIELD (want, or
 * expires_at not in the future), ERR_NOT_FOUND (want), ERR_SYS, ERR_DB,
 * ERR_UNKNOWN.
 */
enum err apikey_create(struct db *db, const struct actor *a, int64_t want,
    const char *name, enum role role, int64_t expires_at, char *key,
    size_t keysz, struct apikey *k);

/*
 * Call fn for each live (not revoked) key of the organization of a's
 * call, in id order; with a NULL, every live key of the installation
 * (latchctl).  ERR_OK, ERR_FORBIDDEN (a key calling), ERR_INVALID_FIELD,
 * ERR_NOT_FOUND, ERR_DB.
 */
enum err apikey_list(struct db *db, const struct actor *a, int64_t want,
    void (*fn)(const struct apikey *, void *), void *arg);

/*
 * Revoke key id of the organization of a's call, at once, audited
 * ("api_key.revoke"); with want APIKEY_ANY_ORG (latchctl, a superadmin
 * actor) wherever it is.  ERR_OK, ERR_FORBIDDEN (a key calling),
 * ERR_NOT_FOUND (no such live key in the scope), ERR_INVALID_FIELD,
 * ERR_DB, ERR_UNKNOWN.
 */
#define APIKEY_ANY_ORG INT64_MIN
enum err apikey_revoke(struct db *db, const struct actor *a, int64_t want,
    int64_t id);

/*
 * Inside the caller's transaction (a change to user uid by a): revoke
 * every live key uid made, each audited ("api_key.revoke", detail why).
 * ERR_OK or ERR_DB.
 */
enum err apikey_revoke_user(struct db *db, const struct actor *a, int64_t uid,
    const char *why);

/*
 * Check key, presented from ip, into *p (key_id, org_id, role,
 * key_name).  ERR_OK; ERR_INVALID_TOKEN (not a key of ours),
 * ERR_SESSION_REVOKED (revoked), ERR_TOKEN_EXPIRED (expired); both of
 * these audited ("api_key.refused"); ERR_DB.
 */
enum err apikey_authenticate(struct db *db, const char *key, const char *ip,
    struct principal *p);

#endif
