/*
 * db.h: the worker's MariaDB connection and its prepared statements.
 *
 * Only db.c includes <mysql.h>.  Every statement text lives in one table in
 * db.c, indexed by enum stmt, prepared once per connection and prepared
 * again after a reconnect.  Callers pass bound parameters as db_arg arrays
 * and read results as text columns (integers parsed with db_int()), each
 * by the name its statement's column enum gives it (below).
 */
#ifndef LATCH_DB_H
#define LATCH_DB_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "err.h"
#include "metrics.h"

enum stmt {
	STMT_PING,
	STMT_CONN_LIMIT,
	/* organizations */
	STMT_ORG_INSERT,
	STMT_ORG_BY_NAME,
	/* users */
	STMT_USER_COUNT,
	STMT_USER_INSERT,
	STMT_USER_BY_ID,
	STMT_USER_AUTH_BY_USERNAME,
	STMT_USER_AUTH_BY_EMAIL,
	STMT_USER_AUTH_BY_ID,
	STMT_USER_SET_PASSWORD,
	STMT_USER_UPGRADE_PASSWORD,
	STMT_USER_SET_LOGIN,
	STMT_USER_SET_PROFILE,
	STMT_USER_SET_DISABLED,
	STMT_USER_LIST,
	STMT_USER_LIST_ORG,
	STMT_IMPORT_USER_INSERT,
	STMT_IMPORT_USER_UPDATE,
	/* sessions and refresh tokens */
	STMT_SESSION_INSERT,
	STMT_SESSION_CHECK,
	STMT_SESSION_CHECK_USER,
	STMT_SESSION_TOUCH,
	STMT_SESSION_REVOKE,
	STMT_SESSION_REVOKE_OWNED,
	STMT_SESSION_REVOKE_USER,
	STMT_SESSION_REVOKE_USER_EXCEPT,
	STMT_SESSION_LIST,
	STMT_SESSION_EXTEND,
	STMT_REFRESH_INSERT,
	STMT_REFRESH_LOOKUP,
	STMT_REFRESH_HASH,
	STMT_REFRESH_V1_LOOKUP,
	STMT_REFRESH_V1_ROTATE,
	STMT_REFRESH_V1_SESSION,
	STMT_REFRESH_NEXT,
	STMT_PURGE_MAX_SESSION,
	STMT_PURGE_REFRESH,
	STMT_PURGE_REFRESH_V1,
	STMT_PURGE_SESSIONS,
	/* setup */
	STMT_META_INSERT,
	/* administration (every statement scoped by organization) */
	STMT_ADM_USER_GET,
	STMT_ADM_USER_LIST,
	STMT_ADM_USER_COUNT,
	STMT_ADM_USER_UPDATE,
	STMT_ADM_USER_DELETE,
	STMT_ADM_ADMINS_LOCK,
	STMT_ADM_SUPERADMINS_LOCK,
	STMT_ADM_ADMINS_BUMP,
	STMT_ORG_GET,
	STMT_ORG_EXISTS,
	STMT_ORG_UPDATE,
	STMT_ORG_DELETE,
	STMT_ORG_LIST,
	STMT_ORG_COUNT,
	STMT_ORG_SUPERADMINS,
	/* invitations */
	STMT_INV_INSERT,
	STMT_INV_LOOKUP,
	STMT_INV_PREVIEW,
	STMT_INV_LIST,
	STMT_INV_REVOKE,
	STMT_INV_RECODE,
	STMT_INV_GET,
	STMT_INV_USE,
	STMT_USER_EMAIL_EXISTS,
	/* password resets */
	STMT_RESET_INSERT,
	STMT_RESET_LOOKUP,
	STMT_RESET_USE,

	STMT_EMAIL_CHANGE_PUT,
	STMT_EMAIL_CHANGE_LOOKUP,
	STMT_EMAIL_CHANGE_DELETE,
	STMT_USER_SET_EMAIL,
	/* audit */
	STMT_AUDIT_INSERT,
	STMT_AUDIT_LIST,
	STMT_AUDIT_COUNT,

	STMT_META_GET,
	STMT_META_SET,
	STMT_LIMIT_IP_BUMP,
	STMT_LIMIT_IP_GET,
	STMT_LIMIT_IP_PURGE,
	STMT_LIMIT_ACC_GET,
	STMT_LIMIT_ACC_ROW,
	STMT_LIMIT_ACC_RESERVE,
	STMT_LIMIT_ACC_RESET,
	STMT_LIMIT_MAIL_CLAIM,
	STMT_LIMIT_MAIL_GET,
	/* witnesses of a commit whose outcome is unknown (db_commit_check) */
	STMT_W_REFRESH,
	STMT_W_INVITE,
	STMT_W_USER,
	STMT_W_MAIL,
	/* mail held for its transaction (notify.h) */
	STMT_MAIL_PENDING_PUT,
	STMT_MAIL_PENDING_DEL,
	STMT_MAIL_PENDING_OLD,
	/* two-factor sign-in (mfa.h) */
	STMT_TOTP_PENDING_DELETE,
	STMT_TOTP_INSERT,
	STMT_TOTP_GET,
	STMT_TOTP_ENABLE,
	STMT_TOTP_USE_STEP,
	STMT_TOTP_RESEAL,
	STMT_TOTP_DELETE,
	STMT_TOTP_STATUS,
	STMT_RECOVERY_DELETE,
	STMT_RECOVERY_INSERT,
	STMT_RECOVERY_USE,
	STMT_MFA_CHALLENGE_INSERT,
	STMT_MFA_CHALLENGE_LOOKUP,
	STMT_MFA_CHALLENGE_USE,
	STMT_MFA_CHALLENGE_PURGE,
	STMT_SESSION_MFA_DONE,
	STMT_ORG_SET_MFA,
	STMT_SESSION_MFA_POLICY,
	/* API keys (apikey.h) */
	STMT_KEY_INSERT,
	STMT_KEY_SET_HASH,
	STMT_KEY_CHECK,
	STMT_KEY_TOUCH,
	STMT_KEY_REFUSED,
	STMT_KEY_LIST,
	STMT_KEY_LIST_ALL,
	STMT_KEY_GET,
	STMT_KEY_REVOKE,
	STMT_KEY_OF_USER,
	STMT_W_KEY,
	/* moving a user to another organization (member_update()) */
	STMT_ADM_USER_MOVE,
	/* run-time settings (settings.h) */
	STMT_SETTINGS_ALL,
	STMT_SETTING_PUT,
	STMT_SETTING_DEL,
	STMT__MAX
};

/*
 * The columns of every statement that returns rows, in the order of its
 * SELECT in db.c.  Rows are read only through these names; db.c checks,
 * each time it prepares the statements, that each returns as many
 * columns as its enum says (stmt_cols[] there), so a SELECT changed
 * without its enum stops every statement from being used at once rather
 * than misreading rows.
 */

/*
 * One value: STMT_ORG_BY_NAME (id), STMT_USER_COUNT, STMT_ADM_USER_COUNT,
 * STMT_ORG_COUNT, STMT_ORG_SUPERADMINS, STMT_AUDIT_COUNT (COUNT(*)),
 * STMT_REFRESH_HASH (token_hash), STMT_REFRESH_V1_SESSION (session_id),
 * STMT_PURGE_MAX_SESSION (the highest session id), STMT_META_GET (v),
 * STMT_LIMIT_IP_GET (n), STMT_LIMIT_MAIL_GET (at), STMT_MAIL_PENDING_OLD
 * (id); and those read only for their number of rows: STMT_PING,
 * STMT_ADM_ADMINS_LOCK, STMT_ADM_SUPERADMINS_LOCK, STMT_ORG_EXISTS,
 * STMT_USER_EMAIL_EXISTS and the STMT_W_ witnesses (STMT_W_KEY too).
 */
enum col_value { COL_VALUE, COL_VALUE__MAX };

/* A user (USER_COLS in db.c): STMT_USER_BY_ID, STMT_USER_LIST,
 * STMT_USER_LIST_ORG, STMT_ADM_USER_GET, STMT_ADM_USER_LIST. */
enum col_user {
	COL_USER_ID,
	COL_USER_USERNAME,
	COL_USER_EMAIL,
	COL_USER_NAME,
	COL_USER_ROLE,
	COL_USER_DISABLED,
	COL_USER_ORG,
	COL_USER_ORG_NAME,
	COL_USER_CREATED,
	COL_USER_LAST_LOGIN,
	COL_USER__MAX
};

/* A user and its password hash: STMT_USER_AUTH_BY_USERNAME, _BY_EMAIL,
 * _BY_ID; whether its TOTP is on (1, else NULL or 0) and its
 * organization's require_mfa. */
enum col_auth {
	COL_AUTH_HASH = COL_USER__MAX,
	COL_AUTH_TOTP,
	COL_AUTH_POLICY,
	COL_AUTH__MAX
};

/* A session and its user, whose columns (enum col_user) start at
 * COL_SESS_USER: STMT_SESSION_CHECK (the lean form: NULL for the email,
 * the name, the organization's name and the times) and
 * STMT_SESSION_CHECK_USER. */
enum col_sess {
	COL_SESS_UID,
	COL_SESS_REVOKED,
	COL_SESS_EXPIRES,
	COL_SESS_LAST_USED,
	COL_SESS_RESTRICTED,
	COL_SESS_USER,
	COL_SESS__MAX = COL_SESS_USER + COL_USER__MAX
};

/* STMT_SESSION_LIST: a live session as GET /auth/sessions shows it. */
enum col_slist {
	COL_SLIST_ID,
	COL_SLIST_CREATED,
	COL_SLIST_LAST_USED,
	COL_SLIST_EXPIRES,
	COL_SLIST_USER_AGENT,
	COL_SLIST_IP,
	COL_SLIST__MAX
};

/*
 * A refresh token with its session and its user (enum col_user from
 * COL_RTOK_USER on): STMT_REFRESH_LOOKUP; STMT_REFRESH_V1_LOOKUP adds
 * the token's row id (COL_RTOK_V1_ID).  COL_RTOK_ROTATED is when the
 * token was rotated, NULL while it is live.
 */
enum col_rtok {
	COL_RTOK_HASH,
	COL_RTOK_EXPIRES,
	COL_RTOK_ROTATED,
	COL_RTOK_SID,
	COL_RTOK_REVOKED,
	COL_RTOK_SEXPIRES,
	COL_RTOK_REMEMBER,
	COL_RTOK_AMR,
	COL_RTOK_USER,
	COL_RTOK__MAX = COL_RTOK_USER + COL_USER__MAX,
	COL_RTOK_V1_ID = COL_RTOK__MAX,
	COL_RTOK_V1__MAX
};

/* STMT_REFRESH_NEXT: a token's successor, and the successor's own
 * successor's generation (NULL while the successor is unused). */
enum col_next { COL_NEXT_HASH, COL_NEXT_EXPIRES, COL_NEXT_USED, COL_NEXT__MAX };

/* An organization: STMT_ORG_GET, STMT_ORG_LIST. */
enum col_org {
	COL_ORG_ID,
	COL_ORG_NAME,
	COL_ORG_DESCRIPTION,
	COL_ORG_CREATED,
	COL_ORG_USERS,
	COL_ORG_REQUIRE_MFA,
	COL_ORG__MAX
};

/* An invitation by its code: STMT_INV_LOOKUP; STMT_INV_PREVIEW adds the
 * organization's name. */
enum col_inv {
	COL_INV_ID,
	COL_INV_ORG,
	COL_INV_EMAIL,
	COL_INV_ROLE,
	COL_INV_EXPIRES,
	COL_INV_USED,
	COL_INV_REVOKED,
	COL_INV__MAX,
	COL_INV_ORG_NAME = COL_INV__MAX,
	COL_INV_PREVIEW__MAX
};

/* A pending invitation of an organization: STMT_INV_LIST; STMT_INV_GET
 * adds the organization's name. */
enum col_ilist {
	COL_ILIST_ID,
	COL_ILIST_EMAIL,
	COL_ILIST_ROLE,
	COL_ILIST_CREATED,
	COL_ILIST_EXPIRES,
	COL_ILIST_INVITED_BY,
	COL_ILIST__MAX,
	COL_ILIST_ORG_NAME = COL_ILIST__MAX,
	COL_IGET__MAX
};

/* STMT_RESET_LOOKUP: a reset token, and its user's state, organization
 * and role. */
enum col_reset {
	COL_RESET_ID,
	COL_RESET_UID,
	COL_RESET_EXPIRES,
	COL_RESET_USED,
	COL_RESET_DISABLED,
	COL_RESET_ORG,
	COL_RESET_ROLE,
	COL_RESET__MAX
};

/* STMT_EMAIL_CHANGE_LOOKUP: a pending change of address. */
enum col_echange {
	COL_ECHANGE_UID,
	COL_ECHANGE_EMAIL,
	COL_ECHANGE_NORM,
	COL_ECHANGE_EXPIRES,
	COL_ECHANGE_DISABLED,
	COL_ECHANGE__MAX
};

/* STMT_AUDIT_LIST: an audit event. */
enum col_audit {
	COL_AUDIT_ID,
	COL_AUDIT_AT,
	COL_AUDIT_EVENT,
	COL_AUDIT_ACTOR,
	COL_AUDIT_TARGET,
	COL_AUDIT_IP,
	COL_AUDIT_DETAIL,
	COL_AUDIT_KEY,
	COL_AUDIT__MAX
};

/* STMT_KEY_CHECK: an API key as its bearer presents it. */
enum col_kcheck {
	COL_KCHECK_HASH,
	COL_KCHECK_ORG,
	COL_KCHECK_NAME,
	COL_KCHECK_ROLE,
	COL_KCHECK_EXPIRES,
	COL_KCHECK_REVOKED,
	COL_KCHECK_LAST_USED,
	COL_KCHECK__MAX
};

/* An API key as GET /api-keys shows it: STMT_KEY_LIST, STMT_KEY_LIST_ALL,
 * STMT_KEY_GET. */
enum col_key {
	COL_KEY_ID,
	COL_KEY_ORG,
	COL_KEY_NAME,
	COL_KEY_ROLE,
	COL_KEY_CREATED_BY,
	COL_KEY_CREATOR,
	COL_KEY_CREATED,
	COL_KEY_EXPIRES,
	COL_KEY_LAST_USED,
	COL_KEY__MAX
};

/* STMT_SETTINGS_ALL: a stored run-time setting. */
enum col_setting { COL_SETTING_NAME, COL_SETTING_VALUE, COL_SETTING__MAX };

/* STMT_KEY_OF_USER: a live key a user made, locked. */
enum col_ukey { COL_UKEY_ID, COL_UKEY_ORG, COL_UKEY__MAX };

/* STMT_LIMIT_ACC_GET: a sign-in name's throttle. */
enum col_throttle {
	COL_THROTTLE_FAILURES,
	COL_THROTTLE_LOCKED_UNTIL,
	COL_THROTTLE__MAX
};

/* STMT_TOTP_GET: a user's TOTP, locked (enabled NULL while pending). */
enum col_totp {
	COL_TOTP_SEALED,
	COL_TOTP_ENABLED,
	COL_TOTP_LAST_STEP,
	COL_TOTP__MAX
};

/* STMT_TOTP_STATUS: a user's second factor as GET /user/mfa shows it
 * (NULL times without TOTP), its organization's require_mfa and role. */
enum col_mfa {
	COL_MFA_ENABLED,
	COL_MFA_CREATED,
	COL_MFA_CODES_LEFT,
	COL_MFA_POLICY,
	COL_MFA_ROLE,
	COL_MFA__MAX
};

/*
 * STMT_MFA_CHALLENGE_LOOKUP: a sign-in waiting for its second factor,
 * its user's sealed TOTP and last step (NULL when TOTP is not on), and
 * the user (enum col_user from COL_MFACH_USER on).
 */
enum col_mfach {
	COL_MFACH_ID,
	COL_MFACH_EXPIRES,
	COL_MFACH_USED,
	COL_MFACH_REMEMBER,
	COL_MFACH_COOKIE,
	COL_MFACH_SEALED,
	COL_MFACH_LAST_STEP,
	COL_MFACH_USER,
	COL_MFACH__MAX = COL_MFACH_USER + COL_USER__MAX
};

enum db_rc {
	DB_OK = 0,
	DB_DUP,    /* a unique key was violated: see db_dup_key() */
	DB_FK,     /* a foreign key was violated */
	DB_ERR,    /* it did not happen: anything else (logged, never
	              shown to clients) */
	DB_UNKNOWN /* the connection broke after a write or a COMMIT was
	              sent: it may or may not have happened */
};

enum db_type { DBT_NULL, DBT_INT, DBT_STR, DBT_BLOB };

struct db_arg {
	enum db_type type;
	long long i;
	const void *p; /* borrowed for the call */
	size_t len;
};

#define DB_INT(x) ((struct db_arg){ DBT_INT, (long long)(x), NULL, 0 })
#define DB_STR(s) ((struct db_arg){ DBT_STR, 0, (s), strlen(s) })
#define DB_BLOB(b, n) ((struct db_arg){ DBT_BLOB, 0, (b), (n) })
#define DB_NULLARG ((struct db_arg){ DBT_NULL, 0, NULL, 0 })

struct db;

/* The rows of one query, all fetched.  Cells are NUL-terminated text. */
struct db_rows {
	size_t nrows;
	size_t ncols;
	char **cell; /* nrows * ncols, NULL for SQL NULL */
	size_t *len; /* lengths of the cells */
};

/*
 * Connect with the [database] settings of conf (borrowed for the life of
 * the db) and prepare every statement.  Returns NULL on failure after
 * logging why (never the password).  Caller frees with db_close().
 */
struct db *db_open(const struct conf *conf);
/* Close the connection and its statements.  Accepts NULL. */
void db_close(struct db *db);

/*
 * Connect without preparing statements (for latchctl migrate on an empty
 * database).  Returns NULL on failure.
 */
struct db *db_open_raw(const struct conf *conf);

/*
 * Execute a statement that returns no rows.  affected and insert_id may be
 * NULL.
 *
 * Lost connections.  A statement never runs twice and nothing of a
 * transaction runs on another connection than the one it began on:
 *  - Inside a transaction (db_begin()), a statement that fails (other
 *    than DB_DUP or DB_FK) breaks the transaction: every later statement
 *    fails without being sent, db_commit() fails, and the server rolls
 *    back (a lost connection's transaction ends with it).
 *  - Outside one, a write is sent only on a connection that looks alive
 *    (an idle connection the server closed is replaced first); if the
 *    connection breaks once the write is sent, the answer is DB_UNKNOWN.
 *    A statement that only reads (SELECT) is sent once more on a new
 *    connection.  One the server undid saying "try again" (a deadlock)
 *    runs again, as db_retry() allows.
 * The server ends every statement that runs (or waits for a lock) longer
 * than three quarters of [database] timeout with an error, so a statement
 * fails before the client would give up on its answer.
 */
enum db_rc db_exec(struct db *db, enum stmt s, const struct db_arg *args,
    size_t nargs, uint64_t *affected, uint64_t *insert_id);

/*
 * Execute a statement that returns rows; on DB_OK *out holds them (caller
 * frees with db_rows_free()).  Same rules as db_exec().
 */
enum db_rc db_query(struct db *db, enum stmt s, const struct db_arg *args,
    size_t nargs, struct db_rows **out);

/* Free rows.  Accepts NULL. */
void db_rows_free(struct db_rows *r);

/* Cell (row, col) as text (borrowed from r), or NULL for SQL NULL. */
const char *db_cell(const struct db_rows *r, size_t row, size_t col);
/* Length of cell (row, col) in bytes; 0 for NULL. */
size_t db_len(const struct db_rows *r, size_t row, size_t col);
/* Cell as an integer; 0 for NULL or non-numeric. */
long long db_int(const struct db_rows *r, size_t row, size_t col);

/* Name of the unique key the last DB_DUP violated ("" if unknown). */
const char *db_dup_key(const struct db *db);

/*
 * Transactions.  db_begin() returns DB_OK or DB_ERR.  db_commit() returns
 * DB_OK (committed), DB_ERR (not committed: the transaction broke before,
 * or the server refused the COMMIT) or DB_UNKNOWN (the connection broke
 * while the COMMIT was on its way or being answered).  After db_commit()
 * or db_rollback() the connection is outside any transaction.
 */
enum db_rc db_begin(struct db *db);
enum db_rc db_commit(struct db *db);
void db_rollback(struct db *db);

/*
 * Add n to the counter m (metrics.h) once what it counts is done: at
 * once outside a transaction, else when the open transaction commits
 * (db_commit(), or db_commit_check() finding it committed); nothing if
 * it is rolled back or its outcome stays unknown.
 */
void db_count(struct db *db, enum metric m, uint64_t n);

/*
 * Commit, and when the connection broke on the way (DB_UNKNOWN), find out
 * on a new connection: witness is a STMT_W_ statement, a locking read
 * that returns a row if and only if the transaction committed (a row it
 * wrote, named by what only it could write: a fresh token's hash, a
 * fresh password hash).  Being a locking read, it waits while the server
 * still runs the old connection's transaction, so the answer is final.
 * DB_OK (committed), DB_ERR (not committed) or DB_UNKNOWN (the lookup
 * failed too).
 */
enum db_rc db_commit_check(struct db *db, enum stmt witness,
    const struct db_arg *args, size_t nargs);

/*
 * Deadlocks and conflicts.  When the server rolls back a transaction
 * saying "try again" (a deadlock; on a Galera cluster a certification
 * conflict, reported the same way, mostly at COMMIT), nothing of it
 * happened: db_retry() returns 1 after a pause of random length while
 * fewer than DB_TRIES tries were made (*tries counts them, 0 before the
 * first retry), and the caller runs the transaction again from its
 * start, with what it read anew.  Otherwise 0.  A statement outside a
 * transaction is run again so by db_exec() and db_query() themselves.
 */
#define DB_TRIES 4
int db_retry(struct db *db, int *tries);

/*
 * The service error for rc: ERR_OK for DB_OK, ERR_UNKNOWN for DB_UNKNOWN,
 * ERR_DB for anything else (check DB_DUP and DB_FK first where they
 * mean something).
 */
enum err db_err(enum db_rc rc);

/* 1 if the server answers (reconnecting if needed), else 0. */
int db_ping(struct db *db);

/*
 * Whether the database holds the schema this program was built with (the
 * latest compiled-in migration).  Returns 0, or -1 after logging one
 * line: unreachable, no schema or an older one ("run latchctl migrate"),
 * or a newer one.
 */
int db_schema_check(struct db *db);

/*
 * Apply the compiled-in migrations newer than the schema_version table,
 * under a lock (GET_LOCK() and the row of schema_lock, which a Galera
 * cluster certifies) so concurrent runs wait for each other.
 * *from and *to receive the versions before and after.  Returns 0, or -1
 * after logging the failure.
 */
int db_migrate(struct db *db, int *from, int *to);

#endif
