/*
 * db.c: MariaDB Connector/C, prepared statements only.
 *
 * The statement texts are all here, in stmts[], indexed by enum stmt,
 * with the number of columns each returns (stmt_cols[]; their names are
 * in db.h).  Tenant scoping lives in the statements themselves.
 *
 * This file is longer than the others (~1150 lines) on purpose: it is
 * the only one that includes <mysql.h>, so the statement table (a third
 * of it), the connection with its rules for lost connections and
 * transactions, and the migrations all live here.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "schema.h"

#define DB_MAXCOLS 20
#define DB_MAXARGS 16
#define DB_CELLMAX 4096 /* the widest column: 1024 utf8mb4 characters */

/* The columns of a user, in the order of enum col_user (db.h). */
/* clang-format off */
#define USER_COLS_U                                                      \
	"u.id, u.username, u.email, u.name, u.role, u.disabled, u.org_id, "
#define USER_COLS USER_COLS_U "o.name, u.created_at, u.last_login_at"
/*
 * USER_COLS without joining organizations: in a locking read (FOR
 * UPDATE) a join would lock the organization's row, serializing every
 * refresh of the organization; a scalar subquery reads it unlocked.
 */
#define USER_COLS_NOLOCK USER_COLS_U "(SELECT o.name FROM organizations o " \
	"WHERE o.id = u.org_id), u.created_at, u.last_login_at"
/*
 * The columns of STMT_REFRESH_LOOKUP and _V1_LOOKUP, from r, s and u
 * (enum col_rtok): `rotated` is when the token was rotated (NULL while
 * it is live).
 */
#define REFRESH_COLS(rotated) "r.token_hash, r.expires_at, " rotated      \
	", s.id, s.revoked_at, s.expires_at, s.remember, s.amr, "           \
	USER_COLS_NOLOCK
#define REFRESH_FROM " JOIN sessions s ON s.id = r.session_id "           \
	"JOIN users u ON u.id = s.user_id "
#define USER_FROM " FROM users u JOIN organizations o ON o.id = u.org_id"
/* The session columns of STMT_SESSION_CHECK(_USER), before USER_COLS
 * (enum col_sess). */
#define SESSION_COLS "s.user_id, s.revoked_at, s.expires_at, " \
	"s.last_used_at, s.restricted"
/* What the sign-in reads beside a user's password hash (enum col_auth):
 * whether TOTP is on, and the organization's require_mfa. */
#define AUTH_COLS ", u.password_hash, (SELECT t.enabled_at IS NOT NULL " \
	"FROM totp t WHERE t.user_id = u.id), o.require_mfa"
/* Whether an account (users u, organizations o) must sign in with a
 * second factor and has none: its session may only enrol one. */
#define MFA_DUE "(o.require_mfa = 'all' OR (o.require_mfa = 'admins' " \
	"AND u.role <> 'user')) AND NOT EXISTS (SELECT 1 FROM totp t " \
	"WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL)"
/* An API key with its creator's username (enum col_key). */
#define KEY_COLS \
	"k.id, k.org_id, k.name, k.role, k.created_by, " \
	"u.username, k.created_at, k.expires_at, k.last_used_at " \
	"FROM api_keys k LEFT JOIN users u ON u.id = k.created_by"
/* clang-format on */

static const char *const stmts[STMT__MAX] = {
	[STMT_PING] = "SELECT 1",
	/* Run once per connection (db_limit()), in milliseconds. */
	[STMT_CONN_LIMIT] = "SET SESSION max_statement_time = ? / 1000",

	[STMT_ORG_INSERT] = "INSERT INTO organizations (name, description, "
	    "created_at) VALUES (?, ?, ?)",
	[STMT_ORG_BY_NAME] = "SELECT id FROM organizations WHERE name = ?",

	[STMT_USER_COUNT] = "SELECT COUNT(*) FROM users",
	[STMT_USER_INSERT] = "INSERT INTO users (org_id, username, email, "
	    "email_norm, name, password_hash, role, disabled, created_at, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
	[STMT_USER_BY_ID] = "SELECT " USER_COLS USER_FROM " WHERE u.id = ?",
	[STMT_USER_AUTH_BY_USERNAME] = "SELECT " USER_COLS AUTH_COLS USER_FROM " WHERE u.username = ?",
	[STMT_USER_AUTH_BY_EMAIL] = "SELECT " USER_COLS AUTH_COLS USER_FROM " WHERE u.email_norm = ?",
	[STMT_USER_AUTH_BY_ID] = "SELECT " USER_COLS AUTH_COLS USER_FROM " WHERE u.id = ?",
	[STMT_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?, "
	    "updated_at = ? WHERE id = ?",
	/* A sign-in's new hash, only over the one its password matched. */
	[STMT_USER_UPGRADE_PASSWORD] = "UPDATE users SET password_hash = ?, "
	    "updated_at = ? WHERE id = ? AND password_hash = ?",
	[STMT_USER_SET_LOGIN] = "UPDATE users SET last_login_at = ? "
	    "WHERE id = ?",
	[STMT_USER_SET_PROFILE] = "UPDATE users SET name = ?, email = ?, "
	    "email_norm = ?, updated_at = ? WHERE id = ?",
	[STMT_USER_SET_DISABLED] = "UPDATE users SET disabled = ?, "
	    "updated_at = ? WHERE id = ?",
	[STMT_USER_LIST] = "SELECT " USER_COLS USER_FROM " ORDER BY u.id",
	[STMT_USER_LIST_ORG] = "SELECT " USER_COLS USER_FROM
	    " WHERE o.name = ? ORDER BY u.id",
	/* latchctl import (import.c): an account as it was elsewhere. */
	[STMT_IMPORT_USER_INSERT] = "INSERT INTO users (org_id, username, "
	    "email, email_norm, name, password_hash, role, disabled, "
	    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_IMPORT_USER_UPDATE] = "UPDATE users SET email = ?, "
	    "email_norm = ?, name = ?, disabled = ?, password_hash = ?, "
	    "updated_at = ? WHERE id = ?",

	/* restricted: the account must have a second factor and has none
	 * (the organization's require_mfa); ?10 is the user's id again. */
	[STMT_SESSION_INSERT] = "INSERT INTO sessions (user_id, org_id, "
	    "created_at, last_used_at, expires_at, remember, user_agent, ip, "
	    "amr, restricted) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, " MFA_DUE
	    " FROM users u JOIN organizations o ON o.id = u.org_id "
	    "WHERE u.id = ?",
	/*
	 * The session and its user in one query.  The lean form leaves
	 * out what only the full one's callers show (NULL in their
	 * places), so that both share USER_COLS' column order.
	 */
	[STMT_SESSION_CHECK] = "SELECT " SESSION_COLS ", u.id, u.username, "
	    "NULL, NULL, u.role, u.disabled, u.org_id, NULL, NULL, NULL "
	    "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?",
	[STMT_SESSION_CHECK_USER] = "SELECT " SESSION_COLS ", " USER_COLS
	    " FROM sessions s JOIN users u ON u.id = s.user_id "
	    "JOIN organizations o ON o.id = u.org_id WHERE s.id = ?",
	[STMT_SESSION_TOUCH] = "UPDATE sessions SET last_used_at = ? "
	    "WHERE id = ?",
	[STMT_SESSION_REVOKE] = "UPDATE sessions SET revoked_at = ? "
	    "WHERE id = ? AND revoked_at IS NULL",
	[STMT_SESSION_REVOKE_OWNED] = "UPDATE sessions SET revoked_at = ? "
	    "WHERE id = ? AND user_id = ? AND revoked_at IS NULL "
	    "AND expires_at > ?",
	[STMT_SESSION_REVOKE_USER] = "UPDATE sessions SET revoked_at = ? "
	    "WHERE user_id = ? AND revoked_at IS NULL",
	[STMT_SESSION_REVOKE_USER_EXCEPT] = "UPDATE sessions SET revoked_at = ? "
	    "WHERE user_id = ? AND id <> ? AND revoked_at IS NULL",
	[STMT_SESSION_LIST] = "SELECT id, created_at, last_used_at, expires_at, "
	    "user_agent, ip FROM sessions WHERE user_id = ? "
	    "AND revoked_at IS NULL AND expires_at > ? ORDER BY id",
	[STMT_SESSION_EXTEND] = "UPDATE sessions SET expires_at = ?, "
	    "last_used_at = ? WHERE id = ?",
	/*
	 * Refresh tokens name their row (session, generation): see tok.h
	 * and sql/003.  A token is rotated when its successor exists, at
	 * the successor's created_at.  Tokens from before sql/003 are found
	 * by their hash in refresh_tokens (the _V1 statements).
	 */
	[STMT_REFRESH_INSERT] = "INSERT INTO session_refresh (session_id, gen, "
	    "token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
	[STMT_REFRESH_LOOKUP] = "SELECT " REFRESH_COLS("n.created_at")
	    " FROM session_refresh r LEFT JOIN session_refresh n ON "
	    "n.session_id = r.session_id AND n.gen = r.gen + 1" REFRESH_FROM
	    "WHERE r.session_id = ? AND r.gen = ? FOR UPDATE",
	[STMT_REFRESH_HASH] = "SELECT token_hash FROM session_refresh "
	    "WHERE session_id = ? AND gen = ?",
	[STMT_REFRESH_V1_LOOKUP] = "SELECT " REFRESH_COLS("r.rotated_at")
	    ", r.id FROM refresh_tokens r" REFRESH_FROM
	    "WHERE r.token_hash = ? FOR UPDATE",
	[STMT_REFRESH_V1_ROTATE] = "UPDATE refresh_tokens SET rotated_at = ? "
	    "WHERE id = ? AND rotated_at IS NULL",
	[STMT_REFRESH_V1_SESSION] = "SELECT session_id FROM refresh_tokens "
	    "WHERE token_hash = ?",
	/* Token (?1 session, ?2 generation), locked, and whether it was
	 * rotated (m.gen, its successor's generation, not NULL). */
	[STMT_REFRESH_NEXT] = "SELECT n.token_hash, n.expires_at, m.gen "
	    "FROM session_refresh n LEFT JOIN session_refresh m ON "
	    "m.session_id = n.session_id AND m.gen = n.gen + 1 "
	    "WHERE n.session_id = ? AND n.gen = ? FOR UPDATE",
	/* Housekeeping walks the sessions by id, a range at a time: ?1 < id
	 * <= ?2, ?3 now.  Deleting a session deletes its refresh tokens. */
	[STMT_PURGE_MAX_SESSION] = "SELECT COALESCE(MAX(id), 0) FROM sessions",
	[STMT_PURGE_REFRESH] = "DELETE FROM session_refresh WHERE "
	    "session_id > ? AND session_id <= ? AND expires_at <= ?",
	[STMT_PURGE_REFRESH_V1] = "DELETE FROM refresh_tokens WHERE "
	    "session_id > ? AND session_id <= ? AND expires_at <= ?",
	[STMT_PURGE_SESSIONS] = "DELETE FROM sessions WHERE id > ? AND "
	    "id <= ? AND (expires_at <= ? OR revoked_at IS NOT NULL)",

	[STMT_META_INSERT] = "INSERT INTO meta (k, v) VALUES (?, ?)",

	/* Administration: the organization is a bound parameter of every
	 * statement, so another organization's rows are simply not found. */
	[STMT_ADM_USER_GET] = "SELECT " USER_COLS USER_FROM
	    " WHERE u.id = ? AND u.org_id = ?",
	/* ?1 org, ?2/?3 disabled filter (NULL: any), ?4..?7 search ('' or
	 * a LIKE pattern), ?8 limit, ?9 offset. */
	[STMT_ADM_USER_LIST] = "SELECT " USER_COLS USER_FROM
	    " WHERE u.org_id = ? AND (? IS NULL OR u.disabled = ?) AND "
	    "(? = '' OR LOWER(u.username) LIKE ? OR u.email_norm LIKE ? OR LOWER(u.name) LIKE ?) "
	    "ORDER BY u.id LIMIT ? OFFSET ?",
	[STMT_ADM_USER_COUNT] = "SELECT COUNT(*) FROM users u "
	    "WHERE u.org_id = ? AND (? IS NULL OR u.disabled = ?) AND "
	    "(? = '' OR LOWER(u.username) LIKE ? OR u.email_norm LIKE ? OR LOWER(u.name) LIKE ?)",
	[STMT_ADM_USER_UPDATE] = "UPDATE users SET name = ?, email = ?, "
	    "email_norm = ?, role = ?, disabled = ?, updated_at = ? "
	    "WHERE id = ? AND org_id = ?",
	[STMT_ADM_USER_DELETE] = "DELETE FROM users WHERE id = ? AND org_id = ?",
	[STMT_ADM_ADMINS_LOCK] = "SELECT id FROM users WHERE org_id = ? AND "
	    "role IN ('admin', 'superadmin') AND disabled = 0 "
	    "ORDER BY id FOR UPDATE",
	[STMT_ADM_SUPERADMINS_LOCK] = "SELECT id FROM users WHERE "
	    "role = 'superadmin' AND disabled = 0 ORDER BY id FOR UPDATE",
	/*
	 * Written by every change of an organization's admins (?1
	 * "admins:<org>", then "superadmins") after the locks above: on a
	 * Galera cluster, where those locks are each node's own, two such
	 * changes on two nodes then write one row, and the second fails
	 * certification and runs again (db_retry()) instead of both
	 * passing the last-admin check.
	 */
	[STMT_ADM_ADMINS_BUMP] = "INSERT INTO meta (k, v) VALUES (?, '1') "
	    "ON DUPLICATE KEY UPDATE v = v + 1",
	[STMT_ORG_GET] = "SELECT o.id, o.name, o.description, o.created_at, "
	    "(SELECT COUNT(*) FROM users u WHERE u.org_id = o.id), "
	    "o.require_mfa FROM organizations o WHERE o.id = ?",
	[STMT_ORG_EXISTS] = "SELECT 1 FROM organizations WHERE id = ?",
	[STMT_ORG_UPDATE] = "UPDATE organizations SET name = ?, "
	    "description = ? WHERE id = ?",
	[STMT_ORG_DELETE] = "DELETE FROM organizations WHERE id = ?",
	[STMT_ORG_LIST] = "SELECT o.id, o.name, o.description, o.created_at, "
	    "(SELECT COUNT(*) FROM users u WHERE u.org_id = o.id), "
	    "o.require_mfa FROM organizations o WHERE (? = '' OR o.name LIKE ?) "
	    "ORDER BY o.id LIMIT ? OFFSET ?",
	[STMT_ORG_COUNT] = "SELECT COUNT(*) FROM organizations o "
	    "WHERE (? = '' OR o.name LIKE ?)",
	[STMT_ORG_SUPERADMINS] = "SELECT COUNT(*) FROM users WHERE "
	    "org_id = ? AND role = 'superadmin' AND disabled = 0",

	[STMT_INV_INSERT] = "INSERT INTO invitations (org_id, email, "
	    "email_norm, role, code_hash, invited_by, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[STMT_INV_LOOKUP] = "SELECT i.id, i.org_id, i.email, i.role, "
	    "i.expires_at, i.used_at, i.revoked_at FROM invitations i "
	    "WHERE i.code_hash = ? FOR UPDATE",
	[STMT_INV_PREVIEW] = "SELECT i.id, i.org_id, i.email, i.role, "
	    "i.expires_at, i.used_at, i.revoked_at, o.name FROM invitations i "
	    "JOIN organizations o ON o.id = i.org_id WHERE i.code_hash = ?",
	[STMT_INV_LIST] = "SELECT i.id, i.email, i.role, i.created_at, "
	    "i.expires_at, i.invited_by FROM invitations i WHERE i.org_id = ? "
	    "AND i.used_at IS NULL AND i.revoked_at IS NULL "
	    "AND i.expires_at > ? ORDER BY i.id",
	[STMT_INV_REVOKE] = "UPDATE invitations SET revoked_at = ? "
	    "WHERE id = ? AND org_id = ? AND used_at IS NULL "
	    "AND revoked_at IS NULL",
	[STMT_INV_RECODE] = "UPDATE invitations SET code_hash = ?, "
	    "expires_at = ? WHERE id = ? AND org_id = ? AND used_at IS NULL "
	    "AND revoked_at IS NULL",
	[STMT_INV_GET] = "SELECT i.id, i.email, i.role, i.created_at, "
	    "i.expires_at, i.invited_by, o.name FROM invitations i "
	    "JOIN organizations o ON o.id = i.org_id WHERE i.id = ? "
	    "AND i.org_id = ?",
	[STMT_INV_USE] = "UPDATE invitations SET used_at = ?, used_by = ? "
	    "WHERE id = ? AND used_at IS NULL",
	[STMT_USER_EMAIL_EXISTS] = "SELECT id FROM users WHERE email_norm = ?",

	[STMT_RESET_INSERT] = "INSERT INTO password_resets (user_id, "
	    "token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)",
	[STMT_RESET_LOOKUP] = "SELECT p.id, p.user_id, p.expires_at, p.used_at, "
	    "u.disabled, u.org_id, u.role FROM password_resets p "
	    "JOIN users u ON u.id = p.user_id WHERE p.token_hash = ? "
	    "FOR UPDATE",
	[STMT_RESET_USE] = "UPDATE password_resets SET used_at = ? "
	    "WHERE user_id = ? AND used_at IS NULL",

	/* One pending change of address per user: a newer one replaces it. */
	[STMT_EMAIL_CHANGE_PUT] = "INSERT INTO email_changes (user_id, email, "
	    "email_norm, token_hash, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
	    "email = VALUES(email), email_norm = VALUES(email_norm), "
	    "token_hash = VALUES(token_hash), created_at = VALUES(created_at), "
	    "expires_at = VALUES(expires_at)",
	[STMT_EMAIL_CHANGE_LOOKUP] = "SELECT c.user_id, c.email, c.email_norm, "
	    "c.expires_at, u.disabled FROM email_changes c "
	    "JOIN users u ON u.id = c.user_id WHERE c.token_hash = ? "
	    "FOR UPDATE",
	[STMT_EMAIL_CHANGE_DELETE] = "DELETE FROM email_changes "
	    "WHERE user_id = ?",
	[STMT_USER_SET_EMAIL] = "UPDATE users SET email = ?, email_norm = ?, "
	    "updated_at = ? WHERE id = ?",

	[STMT_AUDIT_INSERT] = "INSERT INTO audit_events (at, org_id, event, "
	    "actor_id, api_key_id, target_id, ip, detail) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	/* ?1/?2 organization (NULL: all), ?3/?4 event ('' : all). */
	[STMT_AUDIT_LIST] = "SELECT id, at, event, actor_id, target_id, ip, "
	    "detail, api_key_id FROM audit_events "
	    "WHERE (? IS NULL OR org_id = ?) "
	    "AND (? = '' OR event = ?) ORDER BY id DESC LIMIT ? OFFSET ?",
	[STMT_AUDIT_COUNT] = "SELECT COUNT(*) FROM audit_events "
	    "WHERE (? IS NULL OR org_id = ?) AND (? = '' OR event = ?)",

	[STMT_META_GET] = "SELECT v FROM meta WHERE k = ?",
	[STMT_META_SET] = "INSERT INTO meta (k, v) VALUES (?, ?) "
	    "ON DUPLICATE KEY UPDATE v = VALUES(v)",

	[STMT_LIMIT_IP_BUMP] = "INSERT INTO rate_counters (k, win, n) "
	    "VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE n = n + 1",
	[STMT_LIMIT_IP_GET] = "SELECT n FROM rate_counters "
	    "WHERE k = ? AND win = ?",
	[STMT_LIMIT_IP_PURGE] = "DELETE FROM rate_counters WHERE win < ?",
	[STMT_LIMIT_ACC_GET] = "SELECT failures, locked_until "
	    "FROM login_throttle WHERE k = ?",
	[STMT_LIMIT_ACC_ROW] = "INSERT IGNORE INTO login_throttle (k) "
	    "VALUES (?)",
	/*
	 * Reserve an attempt (limit.h): unless locked at ?now, count it as
	 * a failure (the count restarts after a quiet login_window: ?cut),
	 * and lock from the login_max_failures-th (?max) on for the first
	 * lock (?base) doubled per further failure, at most ?max_delay.
	 * Every expression reads only columns not assigned before it, so it
	 * means the same with or without SIMULTANEOUS_ASSIGNMENT.
	 * ?1 cut, ?2 max, ?3 now, ?4 max_delay, ?5 base, ?6 cut, ?7 max,
	 * ?8 cut, ?9 now, ?10 key, ?11 now.
	 */
	[STMT_LIMIT_ACC_RESERVE] = "UPDATE login_throttle SET "
	    "locked_until = IF(IF(last_failure < ?, 1, LEAST(failures, 1000000) "
	    "+ 1) >= ?, ? + LEAST(?, ? << LEAST(IF(last_failure < ?, 1, "
	    "LEAST(failures, 1000000) + 1) - ?, 24)), 0), "
	    "failures = IF(last_failure < ?, 1, LEAST(failures, 1000000) + 1), "
	    "last_failure = ? WHERE k = ? AND locked_until <= ?",
	[STMT_LIMIT_ACC_RESET] = "DELETE FROM login_throttle WHERE k = ?",
	/* Affects a row only when no mail went out since the cut-off. */
	[STMT_LIMIT_MAIL_CLAIM] = "INSERT INTO mail_sent (k, at) VALUES (?, ?) "
	    "ON DUPLICATE KEY UPDATE at = IF(at <= ?, VALUES(at), at)",
	[STMT_LIMIT_MAIL_GET] = "SELECT at FROM mail_sent WHERE k = ?",

	/* Witnesses (db_commit_check): a row only the transaction could
	 * have written, read with a lock so that a transaction the server
	 * is still finishing is waited for. */
	[STMT_W_REFRESH] = "SELECT 1 FROM session_refresh WHERE "
	    "session_id = ? AND gen = ? AND token_hash = ? LOCK IN SHARE MODE",
	[STMT_W_INVITE] = "SELECT 1 FROM invitations WHERE code_hash = ? "
	    "LOCK IN SHARE MODE",
	[STMT_W_USER] = "SELECT 1 FROM users WHERE id = ? AND "
	    "password_hash = ? LOCK IN SHARE MODE",
	[STMT_W_MAIL] = "SELECT 1 FROM mail_pending WHERE id = ? "
	    "LOCK IN SHARE MODE",

	[STMT_MAIL_PENDING_PUT] = "INSERT INTO mail_pending (id, created_at) "
	    "VALUES (?, ?)",
	[STMT_MAIL_PENDING_DEL] = "DELETE FROM mail_pending WHERE id = ?",
	[STMT_MAIL_PENDING_OLD] = "SELECT id FROM mail_pending WHERE "
	    "created_at < ? ORDER BY created_at LIMIT ?",

	/* A new enrolment replaces a pending one, never one that is on. */
	[STMT_TOTP_PENDING_DELETE] = "DELETE FROM totp WHERE user_id = ? "
	    "AND enabled_at IS NULL",
	[STMT_TOTP_INSERT] = "INSERT INTO totp (user_id, sealed, created_at) "
	    "VALUES (?, ?, ?)",
	[STMT_TOTP_GET] = "SELECT sealed, enabled_at, last_step FROM totp "
	    "WHERE user_id = ? FOR UPDATE",
	[STMT_TOTP_ENABLE] = "UPDATE totp SET enabled_at = ?, last_step = ? "
	    "WHERE user_id = ? AND enabled_at IS NULL",
	/* A code counts once: only a later step than the last one passes
	 * (?1 the step, ?2 the user, ?3 the step again). */
	[STMT_TOTP_USE_STEP] = "UPDATE totp SET last_step = ? WHERE "
	    "user_id = ? AND enabled_at IS NOT NULL AND last_step < ?",
	[STMT_TOTP_RESEAL] = "UPDATE totp SET sealed = ? WHERE user_id = ?",
	[STMT_TOTP_DELETE] = "DELETE FROM totp WHERE user_id = ?",
	[STMT_TOTP_STATUS] = "SELECT t.enabled_at, t.created_at, "
	    "(SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id "
	    "AND r.used_at IS NULL), o.require_mfa, u.role FROM users u "
	    "JOIN organizations o ON o.id = u.org_id LEFT JOIN totp t ON "
	    "t.user_id = u.id WHERE u.id = ?",
	[STMT_RECOVERY_DELETE] = "DELETE FROM recovery_codes WHERE "
	    "user_id = ?",
	[STMT_RECOVERY_INSERT] = "INSERT INTO recovery_codes (user_id, "
	    "code_hash) VALUES (?, ?)",
	[STMT_RECOVERY_USE] = "UPDATE recovery_codes SET used_at = ? WHERE "
	    "user_id = ? AND code_hash = ? AND used_at IS NULL",
	[STMT_MFA_CHALLENGE_INSERT] = "INSERT INTO mfa_challenges (user_id, "
	    "token_hash, created_at, expires_at, remember, cookie) "
	    "VALUES (?, ?, ?, ?, ?, ?)",
	[STMT_MFA_CHALLENGE_LOOKUP] = "SELECT c.id, c.expires_at, c.used_at, "
	    "c.remember, c.cookie, t.sealed, t.last_step, " USER_COLS
	    " FROM mfa_challenges c JOIN users u ON u.id = c.user_id "
	    "JOIN organizations o ON o.id = u.org_id LEFT JOIN totp t ON "
	    "t.user_id = u.id AND t.enabled_at IS NOT NULL "
	    "WHERE c.token_hash = ?",
	[STMT_MFA_CHALLENGE_USE] = "UPDATE mfa_challenges SET used_at = ? "
	    "WHERE id = ? AND used_at IS NULL",
	/* A user's challenges that ended (?1 the user, ?2 now). */
	[STMT_MFA_CHALLENGE_PURGE] = "DELETE FROM mfa_challenges WHERE "
	    "user_id = ? AND (expires_at <= ? OR used_at IS NOT NULL)",
	[STMT_SESSION_MFA_DONE] = "UPDATE sessions SET restricted = 0, "
	    "amr = amr | 2 WHERE id = ? AND user_id = ?",
	[STMT_ORG_SET_MFA] = "UPDATE organizations SET require_mfa = ? "
	    "WHERE id = ?",
	/* After a change of an organization's require_mfa: its live
	 * sessions restricted, or no longer, by the new rule (?1 the
	 * organization, ?2 now). */
	[STMT_SESSION_MFA_POLICY] = "UPDATE sessions s JOIN users u ON "
	    "u.id = s.user_id JOIN organizations o ON o.id = u.org_id "
	    "SET s.restricted = " MFA_DUE " WHERE u.org_id = ? AND "
	    "s.revoked_at IS NULL AND s.expires_at > ?",
	/* API keys: the key names its row; the hash is set once the row's
	 * id, which the key holds, is known (same transaction). */
	[STMT_KEY_INSERT] = "INSERT INTO api_keys (org_id, name, role, "
	    "key_hash, created_by, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)",
	[STMT_KEY_SET_HASH] = "UPDATE api_keys SET key_hash = ? WHERE id = ?",
	[STMT_KEY_CHECK] = "SELECT key_hash, org_id, name, role, expires_at, "
	    "revoked_at, last_used_at FROM api_keys WHERE id = ?",
	[STMT_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ? WHERE id = ?",
	/* ?1 now, ?2 id, ?3 the last refusal recorded before this is old
	 * enough to record another. */
	[STMT_KEY_REFUSED] = "UPDATE api_keys SET refused_at = ? WHERE id = ? "
	    "AND (refused_at IS NULL OR refused_at <= ?)",
	[STMT_KEY_LIST] = "SELECT " KEY_COLS " WHERE k.org_id = ? AND "
	    "k.revoked_at IS NULL ORDER BY k.id",
	[STMT_KEY_LIST_ALL] = "SELECT " KEY_COLS " WHERE k.revoked_at IS NULL "
	    "ORDER BY k.id",
	[STMT_KEY_GET] = "SELECT " KEY_COLS " WHERE k.id = ? AND k.org_id = ? "
	    "AND k.revoked_at IS NULL",
	[STMT_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ? WHERE id = ? "
	    "AND org_id = ? AND revoked_at IS NULL",
	[STMT_KEY_OF_USER] = "SELECT id, org_id FROM api_keys WHERE "
	    "created_by = ? AND revoked_at IS NULL ORDER BY id FOR UPDATE",
	[STMT_W_KEY] = "SELECT 1 FROM api_keys WHERE id = ? AND key_hash = ? "
	    "LOCK IN SHARE MODE",

	[STMT_ADM_USER_MOVE] = "UPDATE users SET org_id = ?, updated_at = ? "
	    "WHERE id = ? AND org_id = ?",

	[STMT_SETTINGS_ALL] = "SELECT name, value FROM settings",
	[STMT_SETTING_PUT] = "INSERT INTO settings (name, value, updated_at) "
	    "VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value), "
	    "updated_at = VALUES(updated_at)",
	[STMT_SETTING_DEL] = "DELETE FROM settings WHERE name = ?",
};

/*
 * The number of columns each statement returns: its enum's __MAX (db.h),
 * 0 for those that return no rows.  db_connect() checks it against what
 * the server says of each prepared statement.
 */
static const unsigned char stmt_cols[STMT__MAX] = {
	[STMT_PING] = COL_VALUE__MAX,
	[STMT_ORG_BY_NAME] = COL_VALUE__MAX,
	[STMT_USER_COUNT] = COL_VALUE__MAX,
	[STMT_USER_BY_ID] = COL_USER__MAX,
	[STMT_USER_AUTH_BY_USERNAME] = COL_AUTH__MAX,
	[STMT_USER_AUTH_BY_EMAIL] = COL_AUTH__MAX,
	[STMT_USER_AUTH_BY_ID] = COL_AUTH__MAX,
	[STMT_USER_LIST] = COL_USER__MAX,
	[STMT_USER_LIST_ORG] = COL_USER__MAX,
	[STMT_SESSION_CHECK] = COL_SESS__MAX,
	[STMT_SESSION_CHECK_USER] = COL_SESS__MAX,
	[STMT_SESSION_LIST] = COL_SLIST__MAX,
	[STMT_REFRESH_LOOKUP] = COL_RTOK__MAX,
	[STMT_REFRESH_HASH] = COL_VALUE__MAX,
	[STMT_REFRESH_V1_LOOKUP] = COL_RTOK_V1__MAX,
	[STMT_REFRESH_V1_SESSION] = COL_VALUE__MAX,
	[STMT_REFRESH_NEXT] = COL_NEXT__MAX,
	[STMT_PURGE_MAX_SESSION] = COL_VALUE__MAX,
	[STMT_ADM_USER_GET] = COL_USER__MAX,
	[STMT_ADM_USER_LIST] = COL_USER__MAX,
	[STMT_ADM_USER_COUNT] = COL_VALUE__MAX,
	[STMT_ADM_ADMINS_LOCK] = COL_VALUE__MAX,
	[STMT_ADM_SUPERADMINS_LOCK] = COL_VALUE__MAX,
	[STMT_ORG_GET] = COL_ORG__MAX,
	[STMT_ORG_EXISTS] = COL_VALUE__MAX,
	[STMT_ORG_LIST] = COL_ORG__MAX,
	[STMT_ORG_COUNT] = COL_VALUE__MAX,
	[STMT_ORG_SUPERADMINS] = COL_VALUE__MAX,
	[STMT_INV_LOOKUP] = COL_INV__MAX,
	[STMT_INV_PREVIEW] = COL_INV_PREVIEW__MAX,
	[STMT_INV_LIST] = COL_ILIST__MAX,
	[STMT_INV_GET] = COL_IGET__MAX,
	[STMT_USER_EMAIL_EXISTS] = COL_VALUE__MAX,
	[STMT_RESET_LOOKUP] = COL_RESET__MAX,
	[STMT_EMAIL_CHANGE_LOOKUP] = COL_ECHANGE__MAX,
	[STMT_AUDIT_LIST] = COL_AUDIT__MAX,
	[STMT_AUDIT_COUNT] = COL_VALUE__MAX,
	[STMT_META_GET] = COL_VALUE__MAX,
	[STMT_LIMIT_IP_GET] = COL_VALUE__MAX,
	[STMT_LIMIT_ACC_GET] = COL_THROTTLE__MAX,
	[STMT_LIMIT_MAIL_GET] = COL_VALUE__MAX,
	[STMT_W_REFRESH] = COL_VALUE__MAX,
	[STMT_W_INVITE] = COL_VALUE__MAX,
	[STMT_W_USER] = COL_VALUE__MAX,
	[STMT_W_MAIL] = COL_VALUE__MAX,
	[STMT_MAIL_PENDING_OLD] = COL_VALUE__MAX,
	[STMT_TOTP_GET] = COL_TOTP__MAX,
	[STMT_TOTP_STATUS] = COL_MFA__MAX,
	[STMT_MFA_CHALLENGE_LOOKUP] = COL_MFACH__MAX,
	[STMT_KEY_CHECK] = COL_KCHECK__MAX,
	[STMT_KEY_LIST] = COL_KEY__MAX,
	[STMT_KEY_LIST_ALL] = COL_KEY__MAX,
	[STMT_KEY_GET] = COL_KEY__MAX,
	[STMT_KEY_OF_USER] = COL_UKEY__MAX,
	[STMT_W_KEY] = COL_VALUE__MAX,
	[STMT_SETTINGS_ALL] = COL_SETTING__MAX,
};
_Static_assert(COL_RTOK_V1__MAX <= DB_MAXCOLS, "DB_MAXCOLS holds a row");
_Static_assert(COL_MFACH__MAX <= DB_MAXCOLS, "DB_MAXCOLS holds a row");

/*
 * Where the connection stands with respect to a transaction.  Only
 * db_begin() opens one and only db_commit() and db_rollback() end it:
 * a lost connection does not, so that nothing of a transaction ever runs
 * on a new connection, where it would commit statement by statement.
 */
enum db_tx {
	TX_NONE,  /* autocommit: each statement commits on its own */
	TX_OPEN,  /* after db_begin() */
	TX_BROKEN /* a statement of it failed: the server rolled it
	             back (or will, as the connection is gone), and
	             every statement until the end fails unsent */
};

struct db {
	const struct conf *conf; /* borrowed */
	MYSQL *my;               /* NULL while disconnected */
	MYSQL_STMT *st[STMT__MAX];
	enum db_tx tx;
	size_t srv;                    /* the server connected to, or tried
	                                 first on the next connect */
	int conflict;                  /* the server said "try again" */
	int prepare;                   /* prepare stmts[] on connect */
	unsigned long connects;        /* connections made */
	uint64_t counted[METRIC__MAX]; /* db_count() of the open
	                                 transaction, until its end */
	char dupkey[65];
	char cell[DB_MAXCOLS][DB_CELLMAX + 1];
};

static void
db_disconnect(struct db *db)
{
	size_t i;

	for (i = 0; i < STMT__MAX; i++) {
		if (db->st[i] != NULL)
			mysql_stmt_close(db->st[i]);
		db->st[i] = NULL;
	}
	if (db->my != NULL)
		mysql_close(db->my);
	db->my = NULL;
}

/*
 * [database] wsrep_sync_wait, when set (a Galera cluster): every read of
 * the connection waits until its node has applied what the cluster
 * committed before it.  Prepared only then, so that a server without
 * Galera's variables never sees it.
 */
static int
db_sync_wait(struct db *db)
{
	static const char q[] = "SET SESSION wsrep_sync_wait = ?";
	long long v = db->conf->db_sync_wait;
	MYSQL_STMT *st;
	MYSQL_BIND b;
	int rc = 0;

	if (v == 0)
		return 0;
	if ((st = mysql_stmt_init(db->my)) == NULL)
		return -1;
	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_LONGLONG;
	b.buffer = &v;
	if (mysql_stmt_prepare(st, q, sizeof(q) - 1) != 0 ||
	    mysql_stmt_bind_param(st, &b) != 0 || mysql_stmt_execute(st) != 0) {
		log_warnx("db: wsrep_sync_wait: error %u",
		    mysql_stmt_errno(st));
		rc = -1;
	}
	mysql_stmt_close(st);
	return rc;
}

/*
 * Bound every statement on the server a quarter below the client's read
 * timeout ([database] timeout): a statement that waits too long for a
 * lock, or runs too long, fails on the server with an error, and the
 * client hears of it, instead of giving up on the connection with the
 * statement still running (and its transaction holding its locks) there.
 * A read timeout then means the server stopped answering at all.
 */
static int
db_limit(struct db *db)
{
	MYSQL_STMT *st = db->st[STMT_CONN_LIMIT];
	long long ms = (long long)db->conf->db_timeout * 750;
	MYSQL_BIND b;

	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_LONGLONG;
	b.buffer = &ms;
	if (mysql_stmt_bind_param(st, &b) != 0 || mysql_stmt_execute(st) != 0) {
		log_warnx("db: statement time limit: error %u",
		    mysql_stmt_errno(st));
		return -1;
	}
	return db_sync_wait(db);
}

/*
 * The connection broke (or the server closed it, or refused what it
 * needs): close it, and connect to the next server of [database] host
 * first next time (a Galera node that is going away, or out of its
 * cluster, is not asked again at once).
 */
static void
db_lose(struct db *db)
{
	char host[CONF_DB_HOSTMAX];
	int port;

	db_disconnect(db);
	if (conf_db_server(db->conf, db->srv + 1, host, sizeof(host), &port) ==
	    0)
		db->srv++;
	else
		db->srv = 0;
}

/* Connect to server i of [database] and prepare the statements. */
static int
db_connect_to(struct db *db, size_t i)
{
	const struct conf *c = db->conf;
	unsigned int timeout = (unsigned int)c->db_timeout;
	char host[CONF_DB_HOSTMAX];
	my_bool off = 0;
	int port;
	size_t j;

	if (conf_db_server(c, i, host, sizeof(host), &port) == -1)
		return -1;
	if ((db->my = mysql_init(NULL)) == NULL) {
		log_warnx("db: out of memory");
		return -1;
	}
	mysql_optionsv(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(db->my, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_optionsv(db->my, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_optionsv(db->my, MYSQL_OPT_RECONNECT, &off);
	mysql_optionsv(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(db->my, host[0] == '/' ? NULL : host, c->db_user,
		c->db_password, c->db_name, (unsigned int)port,
		host[0] == '/' ? host : NULL, 0) == NULL) {
		log_warnx("db: cannot connect to %s%s%.0d: %s", host,
		    port != 0 ? " port " : "", port, mysql_error(db->my));
		goto fail;
	}
	if (++db->connects > 1)
		metrics_inc(METRIC_DB_RECONNECT);
	if (!db->prepare)
		return 0;
	for (j = 0; j < STMT__MAX; j++) {
		if ((db->st[j] = mysql_stmt_init(db->my)) == NULL) {
			log_warnx("db: out of memory");
			goto fail;
		}
		if (mysql_stmt_prepare(db->st[j], stmts[j], strlen(stmts[j])) !=
		    0) {
			/* The text is ours, not data: safe to log. */
			log_warnx("db: %s: prepare statement %zu: %s", host, j,
			    mysql_stmt_error(db->st[j]));
			goto fail;
		}
		if (mysql_stmt_field_count(db->st[j]) != stmt_cols[j]) {
			log_warnx(
			    "db: statement %zu returns %u columns, its "
			    "enum in db.h says %u",
			    j, mysql_stmt_field_count(db->st[j]),
			    (unsigned)stmt_cols[j]);
			goto fail;
		}
	}
	if (db_limit(db) == -1)
		goto fail;
	return 0;
fail:
	metrics_inc(METRIC_DB_ERROR);
	db_disconnect(db);
	return -1;
}

/*
 * Connect to the first server that answers, from the current one on
 * (the first at start, the next after a loss: db_lose()), each once.
 */
static int
db_connect(struct db *db)
{
	char host[CONF_DB_HOSTMAX];
	size_t i, n;
	int port;

	db_disconnect(db);
	for (n = 0; conf_db_server(db->conf, n, host, sizeof(host), &port) == 0;
	     n++)
		;
	for (i = 0; i < n; i++) {
		if (db_connect_to(db, (db->srv + i) % n) == 0) {
			db->srv = (db->srv + i) % n;
			if (n > 1)
				log_info(
				    "db: connected to server %zu of %zu "
				    "([database] host)",
				    db->srv + 1, n);
			return 0;
		}
	}
	return -1;
}

static struct db *
db_new(const struct conf *conf, int prepare)
{
	struct db *db;

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->conf = conf;
	db->prepare = prepare;
	return db;
}

struct db *
db_open(const struct conf *conf)
{
	struct db *db;

	if ((db = db_new(conf, 1)) == NULL)
		return NULL;
	/* A worker starts even while the database is down: it answers
	 * 503 and connects on a later request. */
	(void)db_connect(db);
	return db;
}

struct db *
db_open_raw(const struct conf *conf)
{
	struct db *db;

	if ((db = db_new(conf, 0)) == NULL)
		return NULL;
	if (db_connect(db) == -1) {
		free(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db);
}

/* Errors after which the connection is gone and a reconnect may help. */
static int
db_lost(unsigned int e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	    e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR ||
	    e == ER_UNKNOWN_STMT_HANDLER || e == 4031 /* idle timeout */ ||
	    e == CR_COMMANDS_OUT_OF_SYNC || e == ER_CONNECTION_KILLED ||
	    e == ER_SERVER_SHUTDOWN ||
	    e == ER_UNKNOWN_COM_ERROR /* a Galera node out of the cluster */;
}

/*
 * Errors after which the server has rolled back the whole transaction
 * (or the one statement, outside one) and says to try again: a deadlock,
 * and on a Galera cluster a certification conflict at COMMIT or a
 * transaction aborted by a replicated one, which it reports the same.
 * (A lock wait timeout is not among them: the statement time limit,
 * below it, has already spent the request's time.)
 */
static int
db_conflict(unsigned int e)
{
	return e == ER_LOCK_DEADLOCK;
}

static enum db_rc
db_classify(struct db *db, MYSQL_STMT *st, enum stmt s)
{
	unsigned int e = mysql_stmt_errno(st);
	const char *msg, *p, *q;
	size_t n;

	if (e == ER_DUP_ENTRY) {
		db->dupkey[0] = '\0';
		msg = mysql_stmt_error(st);
		if ((p = strstr(msg, "for key '")) != NULL) {
			p += strlen("for key '");
			if ((q = strchr(p, '\'')) != NULL) {
				n = (size_t)(q - p);
				if (n >= sizeof(db->dupkey))
					n = sizeof(db->dupkey) - 1;
				memcpy(db->dupkey, p, n);
				db->dupkey[n] = '\0';
			}
		}
		return DB_DUP;
	}
	if (e == ER_NO_REFERENCED_ROW_2 || e == ER_ROW_IS_REFERENCED_2)
		return DB_FK;
	/* The message may quote bound values: log only the code. */
	log_warnx("db: statement %d failed: error %u (%s)", (int)s, e,
	    mysql_stmt_sqlstate(st));
	metrics_inc(METRIC_DB_ERROR);
	return DB_ERR;
}

/* Whether s only reads: running it twice does no harm. */
static int
db_reads(enum stmt s)
{
	return strncmp(stmts[s], "SELECT ", 7) == 0;
}

/*
 * Whether the idle connection still looks usable: nothing is waiting to
 * be read on it.  Between statements the server sends nothing unless it
 * is going away (a restart, KILL, wait_timeout): then it has closed the
 * connection or left an error packet on it.  One poll(), no round trip.
 */
static int
db_alive(struct db *db)
{
	struct pollfd p;

	memset(&p, 0, sizeof(p));
	p.fd = (int)mysql_get_socket(db->my);
	p.events = POLLIN;
	return p.fd < 0 ? 0 : poll(&p, 1, 0) <= 0;
}

/*
 * A statement of the open transaction failed: nothing more of it may
 * run.  The server rolled back what it had done, or will once it sees
 * the connection gone (a DB_DUP or DB_FK leaves it open: the caller
 * decides, and rolls back).
 */
static void
db_tx_failed(struct db *db, enum db_rc rc)
{
	if (db->tx == TX_OPEN && rc != DB_DUP && rc != DB_FK)
		db->tx = TX_BROKEN;
}

/* The connection broke (error e): close our end. */
static void
db_drop(struct db *db, unsigned int e)
{
	log_warnx("db: connection lost (error %u)%s", e,
	    db->tx != TX_NONE ? " inside a transaction" : "");
	metrics_inc(METRIC_DB_ERROR);
	db_lose(db);
}

/*
 * Bind args and execute; on DB_OK the statement is ready to fetch.
 * *lost: the connection broke (or could not be made).  *sent: the
 * statement went to the server, so it may have run even if it failed.
 */
static enum db_rc
db_run(struct db *db, enum stmt s, const struct db_arg *args, size_t nargs,
    int *lost, int *sent)
{
	MYSQL_BIND b[DB_MAXARGS];
	my_bool isnull = 1;
	MYSQL_STMT *st;
	enum db_rc rc;
	size_t i;

	*lost = *sent = 0;
	/* (A connection lost inside a transaction broke it: db_tx_failed()
	 * runs after every db_drop(), so an open one has a connection.) */
	if (db->tx == TX_BROKEN) {
		log_debug("db: statement %d not sent: its transaction failed",
		    (int)s);
		return DB_ERR;
	}
	/* A write is sent only where it can be answered: outside a
	 * transaction it would not be sent again after a loss. */
	if (db->my != NULL && db->tx == TX_NONE && !db_reads(s) &&
	    !db_alive(db)) {
		log_info(
		    "db: the server closed the idle connection; "
		    "reconnecting");
		db_lose(db);
	}
	if (db->my == NULL && db_connect(db) == -1) {
		*lost = 1;
		return DB_ERR;
	}
	st = db->st[s];
	if (nargs > DB_MAXARGS || nargs != mysql_stmt_param_count(st)) {
		log_warnx("db: statement %d: %zu arguments for %lu", (int)s,
		    nargs, mysql_stmt_param_count(st));
		return DB_ERR;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < nargs; i++) {
		switch (args[i].type) {
		case DBT_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&args[i].i;
			break;
		case DBT_STR:
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)args[i].p;
			b[i].buffer_length = args[i].len;
			break;
		case DBT_BLOB:
			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)args[i].p;
			b[i].buffer_length = args[i].len;
			break;
		case DBT_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			b[i].is_null = &isnull;
			break;
		}
	}
	if (nargs > 0 && mysql_stmt_bind_param(st, b) != 0)
		goto err;
	*sent = 1;
	if (mysql_stmt_execute(st) != 0)
		goto err;
	return DB_OK;
err:
	db->conflict = db_conflict(mysql_stmt_errno(st));
	if (db_lost(mysql_stmt_errno(st))) {
		*lost = 1;
		db_drop(db, mysql_stmt_errno(st));
		rc = DB_ERR;
	} else
		rc = db_classify(db, st, s);
	db_tx_failed(db, rc);
	return rc;
}

/* Fetch the rows of s after db_run(); *lost as db_run(). */
static enum db_rc
db_fetch(struct db *db, enum stmt s, struct db_rows **out, int *lost)
{
	MYSQL_STMT *st = db->st[s];
	MYSQL_BIND b[DB_MAXCOLS];
	unsigned long len[DB_MAXCOLS];
	my_bool isnull[DB_MAXCOLS], trunc[DB_MAXCOLS];
	struct db_rows *r = NULL;
	unsigned int ncols, e;
	size_t i, row, nrows;
	int rc;

	*lost = 0;
	ncols = mysql_stmt_field_count(st);
	if (ncols == 0 || ncols > DB_MAXCOLS)
		goto fail;
	if (mysql_stmt_store_result(st) != 0)
		goto fail;
	nrows = (size_t)mysql_stmt_num_rows(st);
	memset(b, 0, sizeof(b));
	for (i = 0; i < ncols; i++) {
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = db->cell[i];
		b[i].buffer_length = DB_CELLMAX;
		b[i].length = &len[i];
		b[i].is_null = &isnull[i];
		b[i].error = &trunc[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0)
		goto fail;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto fail;
	r->ncols = ncols;
	if (nrows > 0) {
		r->cell = calloc(nrows * ncols, sizeof(*r->cell));
		r->len = calloc(nrows * ncols, sizeof(*r->len));
		if (r->cell == NULL || r->len == NULL)
			goto fail;
	}
	for (row = 0; row < nrows; row++) {
		rc = mysql_stmt_fetch(st);
		if (rc == MYSQL_NO_DATA)
			break;
		if (rc == 1 || rc == MYSQL_DATA_TRUNCATED)
			goto fail;
		for (i = 0; i < ncols; i++) {
			char *c;

			if (isnull[i])
				continue;
			if (len[i] > DB_CELLMAX)
				goto fail;
			if ((c = malloc(len[i] + 1)) == NULL)
				goto fail;
			memcpy(c, db->cell[i], len[i]);
			c[len[i]] = '\0';
			r->cell[row * ncols + i] = c;
			r->len[row * ncols + i] = len[i];
		}
		r->nrows++;
	}
	mysql_stmt_free_result(st);
	*out = r;
	return DB_OK;
fail:
	e = mysql_stmt_errno(st);
	/* A deadlock or a certification conflict can surface while the
	 * rows are read, not only when the statement runs. */
	db->conflict = db_conflict(e);
	mysql_stmt_free_result(st);
	db_rows_free(r);
	if (db_lost(e)) {
		*lost = 1;
		db_drop(db, e);
	} else {
		log_warnx("db: statement %d: fetch failed: error %u", (int)s,
		    e);
		metrics_inc(METRIC_DB_ERROR);
	}
	db_tx_failed(db, DB_ERR);
	return DB_ERR;
}

/*
 * Once more after a lost connection?  Inside a transaction never (it is
 * broken), nor when no connection could be made; a statement that only
 * reads, yes; a write that was sent may have run, and the answer to it
 * is unknown.
 */
static enum db_rc
db_again(const struct db *db, enum stmt s, int lost, int sent)
{
	if (!lost || !sent || db->tx != TX_NONE)
		return DB_ERR;
	return db_reads(s) ? DB_OK : DB_UNKNOWN;
}

/*
 * A statement outside a transaction that the server rolled back saying
 * "try again" (db_conflict()) had no effect, whatever it was: it runs
 * again, as db_retry() allows.
 */
static int
db_again_conflict(struct db *db, int *conflicts)
{
	return db->tx == TX_NONE && db_retry(db, conflicts);
}

enum db_rc
db_exec(struct db *db, enum stmt s, const struct db_arg *args, size_t nargs,
    uint64_t *affected, uint64_t *insert_id)
{
	enum db_rc rc, again;
	int lost, sent, tries = 0, conflicts = 0;

	for (;;) {
		if ((rc = db_run(db, s, args, nargs, &lost, &sent)) == DB_OK)
			break;
		if (db_again_conflict(db, &conflicts))
			continue;
		if ((again = db_again(db, s, lost, sent)) != DB_OK)
			return rc == DB_ERR ? again : rc;
		if (++tries >= 2)
			return rc;
	}
	if (affected != NULL)
		*affected = mysql_stmt_affected_rows(db->st[s]);
	if (insert_id != NULL)
		*insert_id = mysql_stmt_insert_id(db->st[s]);
	return DB_OK;
}

enum db_rc
db_query(struct db *db, enum stmt s, const struct db_arg *args, size_t nargs,
    struct db_rows **out)
{
	enum db_rc rc;
	int lost, sent, tries = 0, conflicts = 0;

	*out = NULL;
	for (;;) {
		if ((rc = db_run(db, s, args, nargs, &lost, &sent)) == DB_OK &&
		    (rc = db_fetch(db, s, out, &lost)) == DB_OK)
			return DB_OK;
		if (db_again_conflict(db, &conflicts))
			continue;
		if (db_again(db, s, lost, sent) != DB_OK || ++tries >= 2)
			return rc;
	}
}

void
db_rows_free(struct db_rows *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->cell != NULL)
		for (i = 0; i < r->nrows * r->ncols; i++)
			free(r->cell[i]);
	free(r->cell);
	free(r->len);
	free(r);
}

const char *
db_cell(const struct db_rows *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->cell[row * r->ncols + col];
}

size_t
db_len(const struct db_rows *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->nrows || col >= r->ncols)
		return 0;
	return r->len[row * r->ncols + col];
}

long long
db_int(const struct db_rows *r, size_t row, size_t col)
{
	const char *c = db_cell(r, row, col);

	return c == NULL ? 0 : strtoll(c, NULL, 10);
}

const char *
db_dup_key(const struct db *db)
{
	return db->dupkey;
}

/*
 * Transactions are START TRANSACTION ... COMMIT or ROLLBACK on a
 * connection that stays in autocommit mode: one round trip to begin and
 * one to end, where switching autocommit off and on again costs one
 * more.  The statements are constants (no data), sent as text.
 */
static int
db_start(struct db *db)
{
	static const char q[] = "START TRANSACTION";

	return mysql_real_query(db->my, q, sizeof(q) - 1) == 0 ? 0 : -1;
}

enum db_rc
db_begin(struct db *db)
{
	if (db->tx != TX_NONE) {
		log_warnx("db: begin inside a transaction");
		return DB_ERR;
	}
	if (db->my == NULL && db_connect(db) == -1)
		return DB_ERR;
	if (db_start(db) == -1) {
		/* Maybe the connection went away while idle: one retry,
		 * harmless, as nothing has happened yet. */
		db_lose(db);
		if (db_connect(db) == -1)
			return DB_ERR;
		if (db_start(db) == -1) {
			log_warnx("db: begin: error %u", mysql_errno(db->my));
			metrics_inc(METRIC_DB_ERROR);
			db_lose(db);
			return DB_ERR;
		}
	}
	db->tx = TX_OPEN;
	memset(db->counted, 0, sizeof(db->counted));
	db->conflict = 0;
	return DB_OK;
}

void
db_count(struct db *db, enum metric m, uint64_t n)
{
	if ((unsigned)m >= METRIC__MAX)
		return;
	if (db->tx == TX_NONE)
		metrics_add(m, n);
	else
		db->counted[m] += n;
}

/* The transaction's end: what it counted counts if it committed. */
static void
db_counted(struct db *db, int committed)
{
	size_t i;

	for (i = 0; i < METRIC__MAX; i++) {
		if (committed)
			metrics_add((enum metric)i, db->counted[i]);
		db->counted[i] = 0;
	}
}

static enum db_rc
db_commit_tx(struct db *db)
{
	enum db_tx tx = db->tx;
	unsigned int e;

	db->tx = TX_NONE;
	if (tx != TX_OPEN || db->my == NULL) {
		if (tx == TX_BROKEN)
			log_info("db: commit refused: the transaction failed");
		if (db->my != NULL && mysql_rollback(db->my) != 0)
			db_disconnect(db);
		return DB_ERR;
	}
	/* A connection the server already closed cannot have committed:
	 * that is known, not lost in flight. */
	if (!db_alive(db)) {
		log_warnx(
		    "db: commit: the server closed the connection; "
		    "the transaction is rolled back");
		db_lose(db);
		return DB_ERR;
	}
	if (mysql_commit(db->my) != 0) {
		e = mysql_errno(db->my);
		if (db_lost(e))
			db_lose(db);
		else
			db_disconnect(db);
		/* Lost, or interrupted (a KILL, the statement time limit):
		 * the server may have committed before it said so. */
		if (db_lost(e) || e == ER_QUERY_INTERRUPTED ||
		    e == ER_STATEMENT_TIMEOUT) {
			log_warnx(
			    "db: commit: connection lost (error %u): the "
			    "outcome is unknown",
			    e);
			metrics_inc(METRIC_DB_ERROR);
			return DB_UNKNOWN;
		}
		/* The server answered: it did not commit (on a Galera
		 * cluster, a certification conflict says try again). */
		db->conflict = db_conflict(e);
		log_warnx("db: commit: error %u", e);
		metrics_inc(METRIC_DB_ERROR);
		return DB_ERR;
	}
	return DB_OK;
}

enum db_rc
db_commit(struct db *db)
{
	enum db_rc rc = db_commit_tx(db);

	db_counted(db, rc == DB_OK);
	return rc;
}

enum db_rc
db_commit_check(struct db *db, enum stmt witness, const struct db_arg *args,
    size_t nargs)
{
	struct db_rows *r = NULL;
	enum db_rc rc;

	if ((rc = db_commit_tx(db)) != DB_UNKNOWN) {
		db_counted(db, rc == DB_OK);
		return rc;
	}
	if (db_query(db, witness, args, nargs, &r) != DB_OK) {
		/* Not counted: an unknown outcome is no sure event. */
		db_counted(db, 0);
		log_warnx("db: commit: the outcome could not be looked up");
		return DB_UNKNOWN;
	}
	rc = r->nrows > 0 ? DB_OK : DB_ERR;
	db_counted(db, rc == DB_OK);
	db_rows_free(r);
	log_warnx("db: commit: looked up after the lost connection: %s",
	    rc == DB_OK ? "committed" : "not committed");
	return rc;
}

enum err
db_err(enum db_rc rc)
{
	if (rc == DB_OK)
		return ERR_OK;
	return rc == DB_UNKNOWN ? ERR_UNKNOWN : ERR_DB;
}

void
db_rollback(struct db *db)
{
	enum db_tx tx = db->tx;

	db->tx = TX_NONE;
	db_counted(db, 0);
	if (db->my == NULL || tx == TX_NONE)
		return;
	if (mysql_rollback(db->my) != 0)
		db_disconnect(db);
}

int
db_retry(struct db *db, int *tries)
{
	struct timespec ts;
	long ms;

	if (!db->conflict || *tries + 1 >= DB_TRIES)
		return 0;
	db->conflict = 0;
	++*tries;
	/* Up to 10, 20, 40 ms: the two sides of a conflict, told to try
	 * again at once, would meet again at once. */
	ms = 1 + (long)arc4random_uniform(5u << *tries);
	ts.tv_sec = 0;
	ts.tv_nsec = ms * 1000000L;
	log_info(
	    "db: the server said try again (deadlock or conflict): "
	    "try %d in %ld ms",
	    *tries + 1, ms);
	(void)nanosleep(&ts, NULL);
	return 1;
}

int
db_ping(struct db *db)
{
	struct db_rows *r = NULL;
	int ok;

	ok = db_query(db, STMT_PING, NULL, 0, &r) == DB_OK;
	db_rows_free(r);
	return ok;
}

/* Run a statement without data: DDL of the compiled-in migrations. */
static int
db_plain(struct db *db, const char *sql, size_t len)
{
	MYSQL_RES *res;

	if (mysql_real_query(db->my, sql, (unsigned long)len) != 0) {
		log_warnx("db: migrate: %s", mysql_error(db->my));
		return -1;
	}
	if ((res = mysql_store_result(db->my)) != NULL)
		mysql_free_result(res);
	return 0;
}

static int
db_plain_int(struct db *db, const char *sql, long long *out)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	if (mysql_query(db->my, sql) != 0 ||
	    (res = mysql_store_result(db->my)) == NULL) {
		log_warnx("db: migrate: %s", mysql_error(db->my));
		return -1;
	}
	row = mysql_fetch_row(res);
	*out = (row != NULL && row[0] != NULL) ? strtoll(row[0], NULL, 10) : 0;
	mysql_free_result(res);
	return 0;
}

/* Execute the ";"-at-end-of-line separated statements of one migration. */
static int
db_apply(struct db *db, const struct schema_migration *m)
{
	const char *p = m->text, *start = m->text, *eol;
	int content = 0;

	for (;;) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		/* Skip comment lines at the start of a statement. */
		if (!content && (strncmp(p, "--", 2) == 0 || p == eol)) {
			start = *eol == '\n' ? eol + 1 : eol;
		} else {
			content = 1;
			if (eol > p && eol[-1] == ';') {
				if (db_plain(db, start,
					(size_t)(eol - 1 - start)) == -1)
					return -1;
				content = 0;
				start = *eol == '\n' ? eol + 1 : eol;
			}
		}
		if (*eol == '\0')
			break;
		p = eol + 1;
	}
	if (content) {
		log_warnx("db: migrate: %s: statement without ';'", m->name);
		return -1;
	}
	return 0;
}

static int
db_record(struct db *db, const struct schema_migration *m)
{
	static const char sql[] =
	    "INSERT INTO schema_version (version, name, "
	    "applied_at) VALUES (?, ?, UNIX_TIMESTAMP())";
	MYSQL_STMT *st;
	MYSQL_BIND b[2];
	long long v = m->version;
	int rc = -1;

	if ((st = mysql_stmt_init(db->my)) == NULL)
		return -1;
	memset(b, 0, sizeof(b));
	b[0].buffer_type = MYSQL_TYPE_LONGLONG;
	b[0].buffer = &v;
	b[1].buffer_type = MYSQL_TYPE_STRING;
	b[1].buffer = (void *)m->name;
	b[1].buffer_length = strlen(m->name);
	if (mysql_stmt_prepare(st, sql, sizeof(sql) - 1) != 0 ||
	    mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0)
		log_warnx("db: migrate: record version: %s",
		    mysql_stmt_error(st));
	else
		rc = 0;
	mysql_stmt_close(st);
	return rc;
}

int
db_schema_check(struct db *db)
{
	int want = schema_nmigrations > 0 ?
	    schema_migrations[schema_nmigrations - 1].version :
	    0;
	long long have = 0;
	MYSQL_RES *res;
	MYSQL_ROW row;

	if (db->my == NULL && db_connect(db) == -1)
		return -1;
	if (mysql_query(db->my,
		"SELECT COALESCE(MAX(version), 0) FROM "
		"schema_version") != 0) {
		if (mysql_errno(db->my) != ER_NO_SUCH_TABLE) {
			log_warnx("db: reading the schema version: %s",
			    mysql_error(db->my));
			return -1;
		}
	} else if ((res = mysql_store_result(db->my)) != NULL) {
		row = mysql_fetch_row(res);
		if (row != NULL && row[0] != NULL)
			have = strtoll(row[0], NULL, 10);
		mysql_free_result(res);
	} else {
		log_warnx("db: reading the schema version: %s",
		    mysql_error(db->my));
		return -1;
	}
	if (have == want)
		return 0;
	if (have == 0)
		log_warnx(
		    "db: database %s has no latch schema yet: run "
		    "latchctl migrate",
		    db->conf->db_name);
	else if (have < want)
		log_warnx(
		    "db: database %s is at schema version %lld, this "
		    "latch needs %d: run latchctl migrate",
		    db->conf->db_name, have, want);
	else
		log_warnx(
		    "db: database %s is at schema version %lld, newer "
		    "than this latch knows (%d): run the latch that migrated "
		    "it",
		    db->conf->db_name, have, want);
	return -1;
}

/*
 * Take the migrations' lock: the one row of schema_lock.  GET_LOCK()
 * alone would serialize only the migrations that run on one server; on
 * a Galera cluster a row is the cluster's: the first INSERT wins, the
 * other fails (duplicate key, or a certification conflict) and waits.
 * Waits up to a minute; -1 after logging.
 */
static int
db_migrate_lock(struct db *db)
{
	static const char create[] =
	    "CREATE TABLE IF NOT EXISTS "
	    "schema_lock (id TINYINT NOT NULL PRIMARY KEY, at BIGINT NOT NULL) "
	    "ENGINE=InnoDB";
	static const char take[] =
	    "INSERT INTO schema_lock (id, at) "
	    "VALUES (1, UNIX_TIMESTAMP())";
	struct timespec ts = { 0, 200 * 1000000L };
	unsigned int e;
	int i;

	if (db_plain(db, create, sizeof(create) - 1) == -1)
		return -1;
	for (i = 0; i < 300; i++) {
		if (mysql_real_query(db->my, take, sizeof(take) - 1) == 0)
			return 0;
		e = mysql_errno(db->my);
		if (e != ER_DUP_ENTRY && e != ER_LOCK_DEADLOCK) {
			log_warnx("db: migrate: %s", mysql_error(db->my));
			return -1;
		}
		if (i == 0)
			log_info("db: migrate: waiting for another migration");
		(void)nanosleep(&ts, NULL);
	}
	log_warnx(
	    "db: migrate: another migration holds schema_lock (if "
	    "none runs, one stopped half-way: check the schema, then DELETE "
	    "FROM schema_lock)");
	return -1;
}

int
db_migrate(struct db *db, int *from, int *to)
{
	static const char create[] =
	    "CREATE TABLE IF NOT EXISTS "
	    "schema_version (version INT NOT NULL PRIMARY KEY, "
	    "name VARCHAR(128) NOT NULL, applied_at BIGINT NOT NULL) "
	    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
	long long cur = 0, locked = 0;
	size_t i;
	int rc = -1;

	if (db->my == NULL && db_connect(db) == -1)
		return -1;
	if (db_plain_int(db, "SELECT GET_LOCK('latch_migrate', 60)", &locked) ==
	    -1)
		return -1;
	if (locked != 1) {
		log_warnx("db: migrate: another migration holds the lock");
		return -1;
	}
	if (db_plain(db, create, sizeof(create) - 1) == -1 ||
	    db_migrate_lock(db) == -1)
		goto done;
	locked = 2;
	if (db_plain_int(db,
		"SELECT COALESCE(MAX(version), 0) "
		"FROM schema_version",
		&cur) == -1)
		goto done;
	*from = (int)cur;
	for (i = 0; i < schema_nmigrations; i++) {
		const struct schema_migration *m = &schema_migrations[i];

		if (m->version <= cur)
			continue;
		if (db_apply(db, m) == -1 || db_record(db, m) == -1)
			goto done;
		log_info("db: migrate: applied %s", m->name);
		cur = m->version;
	}
	*to = (int)cur;
	rc = 0;
done:
	if (locked == 2 &&
	    db_plain(db, "DELETE FROM schema_lock",
		strlen("DELETE FROM schema_lock")) == -1)
		rc = -1;
	if (db_plain(db, "DO RELEASE_LOCK('latch_migrate')",
		strlen("DO RELEASE_LOCK('latch_migrate')")) == -1)
		rc = -1;
	return rc;
}
