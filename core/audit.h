/*
 * audit.h: the audit log: who did what to whom, from where, when.
 */
#ifndef LATCH_AUDIT_H
#define LATCH_AUDIT_H

#include <stdint.h>

#include "actor.h"
#include "db.h"
#include "err.h"

enum audit_event {
	AUDIT_LOGIN_SUCCESS,
	AUDIT_LOGIN_FAILURE,
	AUDIT_LOGOUT,
	AUDIT_REFRESH_REUSE,
	AUDIT_PASSWORD_CHANGE,
	AUDIT_PASSWORD_RESET,
	AUDIT_USER_CREATE,
	AUDIT_USER_UPDATE,
	AUDIT_USER_DISABLE,
	AUDIT_USER_ENABLE,
	AUDIT_USER_DELETE,
	AUDIT_ROLE_CHANGE,
	AUDIT_ORG_CREATE,
	AUDIT_ORG_UPDATE,
	AUDIT_ORG_DELETE,
	AUDIT_INVITATION_CREATE,
	AUDIT_INVITATION_ACCEPT,
	AUDIT_INVITATION_REVOKE,
	AUDIT_EMAIL_CHANGE_REQUEST,
	AUDIT_EMAIL_CHANGE,
	AUDIT_PASSWORD_UPGRADE,
	AUDIT_USER_IMPORT,
	AUDIT_MFA_ENABLE,
	AUDIT_MFA_DISABLE,
	AUDIT_MFA_RECOVERY_USE,
	AUDIT_MFA_RECOVERY_NEW,
	AUDIT_MFA_RESET,
	AUDIT_MFA_FAILURE,
	AUDIT_USER_MOVE,
	AUDIT_KEY_CREATE,
	AUDIT_KEY_REVOKE,
	AUDIT_KEY_REFUSED,
	AUDIT_SETTINGS_CHANGE,
	AUDIT__MAX
};

/* "login.success", ... */
const char *audit_name(enum audit_event e);
/* 1 if s names an event. */
int audit_known(const char *s);

/*
 * Record event e of organization org (0: none) by a (its user_id: the
 * actor, 0 for none; its key_id, the API key it acted with; its ip) on
 * target (0: none); detail may be NULL and is cut to 255 bytes.  Called
 * by core/ inside the transaction of the change it records, so that the
 * change and its entry are stored together or not at all; an event that
 * changes nothing (a refused sign-in) is recorded on its own.  ERR_OK or
 * ERR_DB (logged).
 */
enum err audit_log(struct db *db, const struct actor *a, enum audit_event e,
    int64_t org, int64_t target, const char *detail);

struct audit_entry {
	int64_t id;
	int64_t at;
	char event[33];
	int64_t actor;  /* 0: none */
	int64_t key;    /* the API key that acted; 0: none */
	int64_t target; /* 0: none */
	char ip[46];
	char detail[1024];
};

/*
 * Page through events, newest first, of one event name (NULL or "": all)
 * in the organizations a may read: an admin's own; for a superadmin
 * every organization when want is 0, else organization want (see
 * actor_scope()).  *total gets the count of matching events.  ERR_OK,
 * ERR_INVALID_FIELD, ERR_NOT_FOUND (want, for a superadmin) or ERR_DB.
 */
enum err audit_list(struct db *db, const struct actor *a, int64_t want,
    const char *event, int64_t limit, int64_t offset, int64_t *total,
    void (*fn)(const struct audit_entry *, void *), void *arg);

#endif
