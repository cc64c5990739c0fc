/*
 * db.h: the worker's MariaDB connection and its prepared statements.
 *
 * Only db.c includes <mysql.h>.  Every statement text lives in one table in
 * db.c, indexed by enum stmt, prepared once per connection and prepared
 * again after a reconnect.  Callers pass bound parameters as db_arg arrays
 * and read results as text columns (integers parsed with db_int()).
 */
#ifndef LATCH_DB_H
#define LATCH_DB_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "err.h"

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
	STMT_USER_SET_LOGIN,
	STMT_USER_SET_PROFILE,
	STMT_USER_SET_DISABLED,
	STMT_USER_LIST,
	STMT_USER_LIST_ORG,
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
	STMT_ORG_GET,
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
	STMT__MAX
};

enum db_rc {
	DB_OK = 0,
	DB_DUP,      /* a unique key was violated: see db_dup_key() */
	DB_FK,       /* a foreign key was violated */
	DB_ERR,      /* it did not happen: anything else (logged, never
	                shown to clients) */
	DB_UNKNOWN   /* the connection broke after a write or a COMMIT was
	                sent: it may or may not have happened */
};

enum db_type { DBT_NULL, DBT_INT, DBT_STR, DBT_BLOB };

struct db_arg {
	enum db_type type;
	long long i;
	const void *p;        /* borrowed for the call */
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
	char **cell;          /* nrows * ncols, NULL for SQL NULL */
	size_t *len;          /* lengths of the cells */
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
 *    connection.
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
 * The service error for rc: ERR_OK for DB_OK, ERR_UNKNOWN for DB_UNKNOWN,
 * ERR_DB for anything else (check DB_DUP and DB_FK first where they
 * mean something).
 */
enum err db_err(enum db_rc rc);

/* 1 if the server answers (reconnecting if needed), else 0. */
int db_ping(struct db *db);

/*
 * Apply the compiled-in migrations newer than the schema_version table,
 * under an advisory lock so concurrent runs wait for each other.
 * *from and *to receive the versions before and after.  Returns 0, or -1
 * after logging the failure.
 */
int db_migrate(struct db *db, int *from, int *to);

#endif
