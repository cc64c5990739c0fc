/*
 * test_account.c: account.c: signing in (the session, the time of the
 * sign-in and login.success together; a refusal audited by the account
 * named), signing out (one session or all, audited), a new password
 * (the other sessions end with it, or nothing changes), and the
 * operator's new password and disabling.
 */
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"
#define IP "192.0.2.7"

static long long
events(const char *event, int64_t actor)
{
	return tcore_sqlint(
	    "SELECT COUNT(*) FROM audit_events WHERE event = "
	    "'%s' AND actor_id = %lld AND ip = '" IP "'",
	    event, (long long)actor);
}

static enum err
check(struct tcore *tc, const char *token)
{
	struct principal p;

	return session_authenticate(tc->db, tc->conf, token, &p, NULL);
}

static void
test_login(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t;
	struct user a, u;

	tcore_user(tc, "acct-org", ROLE_USER, PW, &a);
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "sign in");
	T_EQ_INT(u.id, a.id, "as the account");
	T_OK(u.last_login_at > 0, "its sign-in time is answered");
	T_EQ_INT(tcore_sqlint("SELECT last_login_at FROM users WHERE id = "
			      "%lld",
		     (long long)a.id),
	    u.last_login_at, "and stored");
	T_EQ_INT(check(tc, t.access), ERR_OK, "the session works");
	T_EQ_INT(events("login.success", a.id), 1, "login.success by it");

	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, "wrong", 0,
		     "agent", &u, &t),
	    ERR_INVALID_CREDENTIALS, "a wrong password");
	T_EQ_INT(events("login.failure", a.id), 1,
	    "login.failure, by the account named");
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, tcore_uniq("ghost"), PW,
		     0, "agent", &u, &t),
	    ERR_INVALID_CREDENTIALS, "an unknown name");
	T_EQ_INT(tcore_sqlint(
		     "SELECT COUNT(*) FROM audit_events WHERE event = "
		     "'login.failure' AND actor_id IS NULL AND org_id IS NULL"),
	    1, "login.failure by nobody");

	/* The sign-in is one transaction: no session, no success. */
	tcore_refuse("sessions", "INSERT", "1");
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_DB, "a session that cannot be stored");
	tcore_allow();
	T_EQ_INT(events("login.success", a.id), 1, "leaves no login.success");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM sessions WHERE user_id = "
			      "%lld",
		     (long long)a.id),
	    1, "and no session");
}

static void
test_logout(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t1, t2, t3;
	struct principal p;
	struct actor me;
	struct user a, u;

	tcore_user(tc, "acct-org", ROLE_USER, PW, &a);
	T_OK(account_login(tc->db, tc->conf, &anon, a.username, PW, 0, "", &u,
		 &t1) == ERR_OK &&
		account_login(tc->db, tc->conf, &anon, a.username, PW, 0, "",
		    &u, &t2) == ERR_OK &&
		account_login(tc->db, tc->conf, &anon, a.username, PW, 0, "",
		    &u, &t3) == ERR_OK,
	    "three sessions");
	me = user_actor(&a, IP);
	(void)session_authenticate(tc->db, tc->conf, t1.access, &p, NULL);
	T_EQ_INT(account_logout(tc->db, &me, p.sid, 0), ERR_OK, "sign out");
	T_EQ_INT(check(tc, t1.access), ERR_SESSION_REVOKED, "that session");
	T_EQ_INT(check(tc, t2.access), ERR_OK, "only that one");
	T_EQ_INT(account_logout(tc->db, &me, p.sid, 0), ERR_OK,
	    "twice is signed out all the same");
	T_EQ_INT(account_logout(tc->db, &me, 0, 1), ERR_OK, "sign out all");
	T_OK(check(tc, t2.access) == ERR_SESSION_REVOKED &&
		check(tc, t3.access) == ERR_SESSION_REVOKED,
	    "every session");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM audit_events WHERE event = "
			      "'logout' AND actor_id = %lld AND detail = 'all'",
		     (long long)a.id),
	    1, "logout events, one for all");
}

static void
test_password(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t1, t2;
	struct principal p;
	struct actor me;
	struct user a, u;
	int retry = 0;

	tcore_user(tc, "acct-org", ROLE_USER, PW, &a);
	(void)account_login(tc->db, tc->conf, &anon, a.username, PW, 0, "", &u,
	    &t1);
	(void)account_login(tc->db, tc->conf, &anon, a.username, PW, 0, "", &u,
	    &t2);
	(void)session_authenticate(tc->db, tc->conf, t1.access, &p, NULL);
	me = user_actor(&a, IP);
	T_EQ_INT(account_password(tc->db, tc->conf, &me, p.sid, "wrong",
		     "new password 1", &retry),
	    ERR_INVALID_CREDENTIALS, "a wrong current password");

	tcore_refuse("sessions", "UPDATE", "NEW.revoked_at IS NOT NULL");
	T_EQ_INT(account_password(tc->db, tc->conf, &me, p.sid, PW,
		     "new password 1", &retry),
	    ERR_DB, "the other sessions cannot be ended");
	tcore_allow();
	T_EQ_INT(user_check_password(tc->db, tc->conf, a.id, PW, &retry),
	    ERR_OK, "so the old password holds");
	T_EQ_INT(events("password.change", a.id), 0, "and nothing is audited");

	T_EQ_INT(account_password(tc->db, tc->conf, &me, p.sid, PW,
		     "new password 1", &retry),
	    ERR_OK, "a new password");
	T_EQ_INT(check(tc, t1.access), ERR_OK, "this session stays");
	T_EQ_INT(check(tc, t2.access), ERR_SESSION_REVOKED, "the other ends");
	T_EQ_INT(user_check_password(tc->db, tc->conf, a.id, "new password 1",
		     &retry),
	    ERR_OK, "the new password holds");
	T_EQ_INT(events("password.change", a.id), 1, "password.change");

	me.user_id = 987654321;
	T_EQ_INT(account_password(tc->db, tc->conf, &me, p.sid, PW, "x",
		     &retry),
	    ERR_SESSION_REVOKED, "an account that is gone");
}

static void
test_operator(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t;
	struct user a, u;

	tcore_user(tc, "acct-org", ROLE_USER, PW, &a);
	(void)account_login(tc->db, tc->conf, &anon, a.username, PW, 0, "", &u,
	    &t);
	T_EQ_INT(account_set_password(tc->db, tc->conf, a.id, "operator pw 1"),
	    ERR_OK, "the operator's new password");
	T_EQ_INT(check(tc, t.access), ERR_SESSION_REVOKED,
	    "ends every session");
	T_EQ_INT(account_set_password(tc->db, tc->conf, 987654321, "x y z w"),
	    ERR_NOT_FOUND, "of nobody");
	(void)account_login(tc->db, tc->conf, &anon, a.username,
	    "operator pw 1", 0, "", &u, &t);
	T_EQ_INT(account_set_disabled(tc->db, a.id, 1), ERR_OK, "disable");
	T_EQ_INT(check(tc, t.access), ERR_SESSION_REVOKED,
	    "ends every session");
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username,
		     "operator pw 1", 0, "", &u, &t),
	    ERR_ACCOUNT_DISABLED, "no sign-in while disabled");
	T_EQ_INT(account_set_disabled(tc->db, a.id, 0), ERR_OK, "enable");
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username,
		     "operator pw 1", 0, "", &u, &t),
	    ERR_OK, "signs in again");
	T_EQ_INT(account_set_disabled(tc->db, 987654321, 1), ERR_NOT_FOUND,
	    "disable nobody");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_login(&t);
	test_logout(&t);
	test_password(&t);
	test_operator(&t);
	tcore_close(&t);
	return T_DONE();
}
