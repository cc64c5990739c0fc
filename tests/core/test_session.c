/*
 * test_session.c: session.c: a session opened in a transaction and its
 * tokens; access tokens checked against the session (revoked, expired,
 * a disabled user); refresh tokens rotated, a repeat within the reuse
 * interval answered with the same successor, a reuse after it revoking
 * the session with its audit event; revocation by token and by owner;
 * the list of live sessions; housekeeping.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"

/* A new session of u: its tokens into *t.  ERR_OK or the error. */
static enum err
start(struct tcore *tc, const struct user *u, int remember,
    struct session_tokens *t)
{
	struct session_new sn;
	enum err e;

	if (db_begin(tc->db) != DB_OK)
		return ERR_DB;
	if ((e = session_open(tc->db, tc->conf, u, remember, "test agent",
		 "192.0.2.1", &sn, t)) != ERR_OK) {
		db_rollback(tc->db);
		return e;
	}
	return session_commit_open(tc->db, tc->conf, u, &sn, t);
}

static enum err
check(struct tcore *tc, const char *token, struct principal *p)
{
	return session_authenticate(tc->db, tc->conf, token, p, NULL);
}

static void
test_start_and_check(struct tcore *tc)
{
	struct session_tokens t, t2;
	struct principal p;
	struct user a, u;

	tcore_user(tc, "sess-org", ROLE_ADMIN, PW, &a);
	T_EQ_INT(start(tc, &a, 0, &t), ERR_OK, "start a session");
	T_EQ_INT(t.expires_in, tc->conf->access_ttl, "the access lifetime");
	T_EQ_INT(t.refresh_expires_in, tc->conf->refresh_ttl,
	    "the refresh lifetime");
	T_EQ_INT(start(tc, &a, 1, &t2), ERR_OK, "a remembered one");
	T_EQ_INT(t2.refresh_expires_in, tc->conf->remember_ttl,
	    "the remembered lifetime");
	T_EQ_INT(check(tc, t.access, &p), ERR_OK, "its access token works");
	T_OK(p.user_id == a.id && p.org_id == a.org_id && p.role == ROLE_ADMIN,
	    "naming its user, organization and role");
	T_EQ_STR(p.username, a.username, "and username");
	T_EQ_INT(session_authenticate(tc->db, tc->conf, t.access, &p, &u),
	    ERR_OK, "with the user's row");
	T_EQ_STR(u.org_name, "sess-org", "read with it");
	T_EQ_INT(check(tc, "not.a.token", &p), ERR_INVALID_TOKEN, "garbage");

	T_EQ_INT(user_put_disabled(tc->db, a.id, 1), ERR_OK, "disable");
	T_EQ_INT(check(tc, t.access, &p), ERR_SESSION_REVOKED,
	    "a disabled user's session ends");
	T_EQ_INT(user_put_disabled(tc->db, a.id, 0), ERR_OK, "enable");
	T_EQ_INT(check(tc, t.access, &p), ERR_OK, "and works again");
	free(tcore_sql("UPDATE sessions SET expires_at = 1 WHERE id = %lld",
	    (long long)p.sid));
	T_EQ_INT(check(tc, t.access, &p), ERR_SESSION_REVOKED,
	    "an expired session");
	T_EQ_INT(check(tc, t2.access, &p), ERR_OK, "the other one lives");
	T_EQ_INT(session_revoke(tc->db, a.id + 1000000, p.sid), ERR_NOT_FOUND,
	    "another user cannot revoke it");
	T_EQ_INT(session_revoke(tc->db, a.id, p.sid), ERR_OK, "its owner can");
	T_EQ_INT(check(tc, t2.access, &p), ERR_SESSION_REVOKED, "revoked");
	T_EQ_INT(session_revoke(tc->db, a.id, p.sid), ERR_NOT_FOUND, "once");
}

static void
test_refresh(struct tcore *tc)
{
	struct actor act = { 0, 0, ROLE_USER, "192.0.2.9", 0 };
	struct session_tokens t, n1, n2, n3;
	struct principal p;
	struct user a, u;

	tcore_user(tc, "sess-org", ROLE_USER, PW, &a);
	T_EQ_INT(start(tc, &a, 0, &t), ERR_OK, "start");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &act, t.refresh, &n1, &u),
	    ERR_OK, "refresh");
	T_OK(strcmp(n1.refresh, t.refresh) != 0, "a new refresh token");
	T_EQ_INT(u.id, a.id, "of the session's user");
	T_EQ_INT(check(tc, n1.access, &p), ERR_OK, "its access token works");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &act, t.refresh, &n2, &u),
	    ERR_OK, "the same token again, within the interval");
	T_EQ_STR(n2.refresh, n1.refresh, "gets the same successor");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &act, n1.refresh, &n3, &u),
	    ERR_OK, "the successor refreshes");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &act, t.refresh, &n2, &u),
	    ERR_INVALID_TOKEN, "the first token once its successor was used");
	T_EQ_INT(check(tc, n3.access, &p), ERR_OK,
	    "within the interval that revokes nothing");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &act, "garbage", &n2, &u),
	    ERR_INVALID_TOKEN, "garbage");

	/* After the interval, a reuse is theft: the session ends. */
	tc->conf->refresh_reuse_interval = 0;
	(void)sleep(1);
	T_EQ_INT(session_refresh(tc->db, tc->conf, &act, n1.refresh, &n2, &u),
	    ERR_INVALID_TOKEN, "a reuse after the interval");
	T_EQ_INT(check(tc, n3.access, &p), ERR_SESSION_REVOKED,
	    "revokes the session");
	T_EQ_INT(tcore_sqlint(
		     "SELECT COUNT(*) FROM audit_events WHERE event = "
		     "'refresh.reuse' AND actor_id = %lld AND ip = '192.0.2.9'",
		     (long long)a.id),
	    1, "with its audit event, by the user");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &act, n3.refresh, &n2, &u),
	    ERR_INVALID_TOKEN, "and its live token with it");
	tc->conf->refresh_reuse_interval = 2;
}

static void
count_session(const struct session_info *s, void *arg)
{
	(*(int *)arg)++;
	(void)s;
}

static void
test_revoke_list_purge(struct tcore *tc)
{
	struct session_tokens t1, t2, t3;
	struct session_purged purged = { 0, 0 };
	struct principal p;
	struct user a;
	int64_t next = 0;
	int n = 0;

	tcore_user(tc, "sess-org", ROLE_USER, PW, &a);
	T_OK(start(tc, &a, 0, &t1) == ERR_OK &&
		start(tc, &a, 0, &t2) == ERR_OK &&
		start(tc, &a, 0, &t3) == ERR_OK,
	    "three sessions");
	T_EQ_INT(session_foreach(tc->db, a.id, count_session, &n), ERR_OK,
	    "list");
	T_EQ_INT(n, 3, "three live");
	T_EQ_INT(session_revoke_token(tc->db, tc->conf, t1.refresh), ERR_OK,
	    "revoke by refresh token");
	T_EQ_INT(check(tc, t1.access, &p), ERR_SESSION_REVOKED, "ended");
	T_EQ_INT(session_revoke_token(tc->db, tc->conf, t2.access), ERR_OK,
	    "revoke by access token");
	T_EQ_INT(check(tc, t2.access, &p), ERR_SESSION_REVOKED, "ended");
	T_EQ_INT(session_revoke_token(tc->db, tc->conf, "anything"), ERR_OK,
	    "anything else is ignored");
	n = 0;
	(void)session_foreach(tc->db, a.id, count_session, &n);
	T_EQ_INT(n, 1, "one live left");
	T_EQ_INT(check(tc, t3.access, &p), ERR_OK, "");
	T_EQ_INT(session_revoke_user(tc->db, a.id, p.sid), ERR_OK,
	    "revoke all but the current");
	T_EQ_INT(check(tc, t3.access, &p), ERR_OK, "the current lives");
	T_EQ_INT(session_revoke_user(tc->db, a.id, 0), ERR_OK, "revoke all");
	T_EQ_INT(check(tc, t3.access, &p), ERR_SESSION_REVOKED, "all ended");
	T_EQ_INT(session_purge_range(tc->db, 0, 1000000, &next, &purged),
	    ERR_OK, "purge");
	T_OK(purged.sessions >= 3, "the ended sessions are deleted");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM sessions WHERE user_id = "
			      "%lld",
		     (long long)a.id),
	    0, "none of a's is left");
	T_EQ_INT(next, 0, "the walk starts over");
	T_EQ_INT(session_purge_step(tc->db), ERR_OK, "a housekeeping step");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_start_and_check(&t);
	test_refresh(&t);
	test_revoke_list_purge(&t);
	tcore_close(&t);
	return T_DONE();
}
