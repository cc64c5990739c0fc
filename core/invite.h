/*
 * invite.h: invitations: a code (128+ bits from the CSPRNG, stored as
 * SHA-256) that lets its holder register into an organization with a
 * given email and role, once, before it expires.
 */
#ifndef LATCH_INVITE_H
#define LATCH_INVITE_H

#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "err.h"
#include "session.h"
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
	int64_t invited_by; /* 0: nobody (superadmin's org creation) */
	int retry_after;    /* seconds, with ERR_TOO_MANY_REQUESTS:
	                       a mail went to the address within
	                       [mail] min_interval (limit_mail()) */
};

struct notify_mail;

/*
 * POST /invitations by a: an invitation into the organization a acts in
 * (actor_scope() of want) for email with role (which a may give:
 * actor_may_act_on()), valid [security] invitation_ttl, audited
 * ("invitation.create").  The code is written to code (TOK_STR_SIZE
 * bytes) and exists nowhere else.  With inviter (a display name, or "")
 * not NULL the invitation mail is queued in the same transaction: if the
 * spool refuses it, no invitation is created.  ERR_OK, ERR_FORBIDDEN,
 * ERR_EMAIL_TAKEN (a user has that email), ERR_NOT_FOUND (no such
 * organization), ERR_INVALID_FIELD, ERR_TOO_MANY_REQUESTS (a mail went to
 * the address within [mail] min_interval: out->retry_after, the refusal
 * logged), ERR_MAIL, ERR_SYS, ERR_DB (nothing stored), ERR_UNKNOWN (the
 * commit's outcome could not be found out).
 */
enum err invite_create(struct db *db, const struct conf *conf,
    const struct actor *a, int64_t want, const char *email, enum role role,
    const char *inviter, char *code, struct invite *out);

/*
 * The inside of invite_create(), for a transaction that does more (an
 * organization with its admin's invitation: org_create()): in the
 * caller's open transaction, an invitation into org by a, its code (made
 * here) into code and its hash into h, *out, the audit entry and, with
 * inviter not NULL, its mail held in m.  On an error the caller rolls
 * back and calls notify_abort(); else it ends with invite_commit().
 * Errors as invite_create().
 */
enum err invite_put(struct db *db, const struct conf *conf,
    const struct actor *a, int64_t org, const char *email, enum role role,
    const char *inviter, char *code, unsigned char h[TOK_HASH_LEN],
    struct invite *out, struct notify_mail *m);

/*
 * Commit the caller's transaction, which stored the invitation whose code
 * (code) hashes to h, with its mail m if one is held (notify_commit()),
 * finding out on a new connection if the commit's answer was lost.  The
 * code is cleansed unless it was stored.  ERR_OK, ERR_DB, ERR_UNKNOWN.
 */
enum err invite_commit(struct db *db, const struct conf *conf,
    const unsigned char h[TOK_HASH_LEN], char *code, struct notify_mail *m);

/*
 * Look a code up without consuming it.  ERR_OK, ERR_INVALID_INVITATION
 * (unknown or revoked), ERR_INVITATION_USED, ERR_INVITATION_EXPIRED,
 * ERR_DB.
 */
enum err invite_preview(struct db *db, const char *code, struct invite *out);

/*
 * Register with a code, from a->ip with user agent ua: in one
 * transaction that locks the invitation, so that of many registrations
 * racing on one code exactly one wins, the new user (the invitation's
 * organization, email and role), its audit entry ("invitation.accept",
 * by the new user) and its session, whose tokens go into *t: the account
 * never exists without them.  *u and *inv are set on success.  Errors as
 * invite_preview(), plus ERR_USERNAME_TAKEN, ERR_EMAIL_TAKEN, ERR_SYS,
 * ERR_UNKNOWN.
 */
enum err invite_accept(struct db *db, const struct conf *conf,
    const struct actor *a, const char *code, const char *username,
    const char *name, const char *password, const char *ua, struct user *u,
    struct invite *inv, struct session_tokens *t);

/* Call fn for each pending invitation of the organization a acts in
 * (actor_scope() of want).  ERR_OK, ERR_NOT_FOUND, ERR_INVALID_FIELD,
 * ERR_DB. */
enum err invite_foreach(struct db *db, const struct actor *a, int64_t want,
    void (*fn)(const struct invite *, void *), void *arg);

/* Revoke pending invitation id of the organization a acts in, audited
 * ("invitation.revoke").  ERR_OK, ERR_NOT_FOUND, ERR_INVALID_FIELD,
 * ERR_DB, ERR_UNKNOWN. */
enum err invite_revoke(struct db *db, const struct actor *a, int64_t want,
    int64_t id);

/*
 * Give pending invitation id of the organization a acts in a new code
 * and expiry (the old code stops working) and queue its mail (inviter:
 * display name), all or nothing.  ERR_OK, ERR_NOT_FOUND,
 * ERR_INVALID_FIELD, ERR_TOO_MANY_REQUESTS (out->retry_after, logged),
 * ERR_MAIL, ERR_SYS, ERR_DB, ERR_UNKNOWN.
 */
enum err invite_resend(struct db *db, const struct conf *conf,
    const struct actor *a, int64_t want, int64_t id, const char *inviter,
    char *code, struct invite *out);

#endif
