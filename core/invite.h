/*
 * invite.h: invitations: a code (128+ bits from the CSPRNG, stored as
 * SHA-256) that lets its holder register into an organization with a
 * given email and role, once, before it expires.
 */
#ifndef LATCH_INVITE_H
#define LATCH_INVITE_H

#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "tok.h"
#include "user.h"

/* 24 random bytes: 32 base64url characters, 192 bits. */
#define INVITE_CODE_BYTES 24

struct invite {
	int64_t id;
	int64_t org_id;
	char org_name[513];
	char email[255];
	enum role role;
	int64_t created_at;
	int64_t expires_at;
	int64_t invited_by;       /* 0: nobody (superadmin's org creation) */
	int retry_after;          /* seconds, with ERR_TOO_MANY_REQUESTS:
	                             a mail went to the address within
	                             [mail] min_interval (limit_mail()) */
};

/*
 * Create an invitation into org for email with role, by user `by` (0 for
 * none), valid [security] invitation_ttl.  The code is written to code
 * (TOK_STR_SIZE bytes) and exists nowhere else.  With inviter not NULL
 * the invitation mail is queued in the same transaction: if the spool
 * refuses it, no invitation is created.  ERR_OK, ERR_EMAIL_TAKEN (a user
 * has that email), ERR_NOT_FOUND (no such organization), ERR_MAIL,
 * ERR_SYS, ERR_DB (nothing stored), ERR_UNKNOWN (the commit's outcome
 * could not be found out).
 */
enum err invite_create(struct db *db, const struct conf *conf, int64_t org,
    const char *email, enum role role, int64_t by, const char *inviter,
    char *code, struct invite *out);

/*
 * Look a code up without consuming it.  ERR_OK, ERR_INVALID_INVITATION
 * (unknown or revoked), ERR_INVITATION_USED, ERR_INVITATION_EXPIRED,
 * ERR_DB.
 */
enum err invite_preview(struct db *db, const char *code, struct invite *out);

/*
 * Register with a code: in one transaction that locks the invitation, so
 * that of many registrations racing on one code exactly one wins.  The
 * new user gets the invitation's organization, email and role.  *uid and
 * *inv are set on success.  Errors as invite_preview(), plus
 * ERR_USERNAME_TAKEN, ERR_EMAIL_TAKEN, ERR_SYS, ERR_UNKNOWN.
 */
enum err invite_accept(struct db *db, const struct conf *conf,
    const char *code, const char *username, const char *name,
    const char *password, int64_t *uid, struct invite *inv);

/* Call fn for each pending invitation of org.  ERR_OK or ERR_DB. */
enum err invite_foreach(struct db *db, int64_t org,
    void (*fn)(const struct invite *, void *), void *arg);

/* Revoke pending invitation id of org.  ERR_OK, ERR_NOT_FOUND, ERR_DB,
 * ERR_UNKNOWN. */
enum err invite_revoke(struct db *db, int64_t org, int64_t id);

/*
 * Give pending invitation id of org a new code and expiry (the old code
 * stops working) and queue its mail (inviter: display name), all or
 * nothing.  ERR_OK, ERR_NOT_FOUND, ERR_MAIL, ERR_SYS, ERR_DB,
 * ERR_UNKNOWN.
 */
enum err invite_resend(struct db *db, const struct conf *conf, int64_t org,
    int64_t id, const char *inviter, char *code, struct invite *out);

#endif
