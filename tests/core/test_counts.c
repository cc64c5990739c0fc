/*
 * test_counts.c: what a transaction counts for GET /metrics (db_count())
 * counts once it is done: at once outside a transaction, at its COMMIT
 * inside one, never for one rolled back or broken.  Through the code
 * that counts: a sign-in whose session cannot be stored starts none, a
 * refresh whose new token cannot be stored rotates nothing, and a new
 * password ends the other sessions only if it is stored.
 */
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "metrics.h"
#include "session.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"
#define IP "192.0.2.8"

static void
test_db_count(struct tcore *tc)
{
	uint64_t n = metrics_get(METRIC_DB_RECONNECT);
	char name[64];

	db_count(tc->db, METRIC_DB_RECONNECT, 2);
	T_EQ_INT(metrics_get(METRIC_DB_RECONNECT), n + 2,
	    "outside a transaction: at once");

	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	db_count(tc->db, METRIC_DB_RECONNECT, 3);
	T_EQ_INT(metrics_get(METRIC_DB_RECONNECT), n + 2,
	    "inside one: not before its end");
	T_EQ_INT(db_commit(tc->db), DB_OK, "commit");
	T_EQ_INT(metrics_get(METRIC_DB_RECONNECT), n + 5, "at its commit");

	T_EQ_INT(db_begin(tc->db), DB_OK, "begin again");
	db_count(tc->db, METRIC_DB_RECONNECT, 4);
	db_rollback(tc->db);
	T_EQ_INT(metrics_get(METRIC_DB_RECONNECT), n + 5, "rolled back: never");

	/* A statement of it fails: the COMMIT is refused, nothing counts. */
	(void)snprintf(name, sizeof(name), "%s", tcore_uniq("cnt-refused"));
	tcore_refuse("organizations", "INSERT", "1");
	T_EQ_INT(db_begin(tc->db), DB_OK, "a third");
	db_count(tc->db, METRIC_DB_RECONNECT, 8);
	{
		struct db_arg a[] = { DB_STR(name), DB_STR("t"), DB_INT(1) };

		T_OK(db_exec(tc->db, STMT_ORG_INSERT, a, 3, NULL, NULL) !=
			DB_OK,
		    "whose statement fails");
	}
	T_EQ_INT(db_commit(tc->db), DB_ERR, "its commit fails");
	tcore_allow();
	T_EQ_INT(metrics_get(METRIC_DB_RECONNECT), n + 5,
	    "a broken transaction: never");
}

static void
test_sessions(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t, t2, t3;
	struct user a, u;
	struct actor me;
	uint64_t started, revoked, rotated;
	int retry = 0;

	tcore_user(tc, "cnt-org", ROLE_USER, PW, &a);
	started = metrics_get(METRIC_SESSION_STARTED);
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "sign in");
	T_EQ_INT(metrics_get(METRIC_SESSION_STARTED), started + 1,
	    "a session started");
	/* Its session row goes in, its first refresh token cannot. */
	tcore_refuse("session_refresh", "INSERT", "1");
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t2),
	    ERR_DB, "a sign-in that cannot be stored");
	tcore_allow();
	T_EQ_INT(metrics_get(METRIC_SESSION_STARTED), started + 1,
	    "starts no session");

	rotated = metrics_get(METRIC_REFRESH_ROTATED);
	tcore_refuse("session_refresh", "INSERT", "1");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &anon, t.refresh, &t2, &u),
	    ERR_DB, "a refresh that cannot be stored");
	tcore_allow();
	T_EQ_INT(metrics_get(METRIC_REFRESH_ROTATED), rotated,
	    "rotates nothing");
	T_EQ_INT(session_refresh(tc->db, tc->conf, &anon, t.refresh, &t2, &u),
	    ERR_OK, "a refresh");
	T_EQ_INT(metrics_get(METRIC_REFRESH_ROTATED), rotated + 1,
	    "one rotation");

	/* A new password ends the other session, in its transaction. */
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t3),
	    ERR_OK, "another session");
	revoked = metrics_get(METRIC_SESSION_REVOKED);
	me = user_actor(&a, IP);
	{
		struct principal p;

		T_EQ_INT(session_authenticate(tc->db, tc->conf, t3.access, &p,
			     NULL),
		    ERR_OK, "the caller's session");
		tcore_refuse("users", "UPDATE", "1");
		T_EQ_INT(account_password(tc->db, tc->conf, &me, p.sid, PW,
			     "new password 2", &retry),
		    ERR_DB, "a new password that cannot be stored");
		tcore_allow();
		T_EQ_INT(metrics_get(METRIC_SESSION_REVOKED), revoked,
		    "ends no session");
		T_EQ_INT(account_password(tc->db, tc->conf, &me, p.sid, PW,
			     "new password 2", &retry),
		    ERR_OK, "a new password");
	}
	T_EQ_INT(metrics_get(METRIC_SESSION_REVOKED), revoked + 1,
	    "ends the other session: one revoked");
}

int
main(void)
{
	struct tcore t;

	/* A master's counters, as a worker inherits them. */
	if (metrics_init() == -1) {
		printf("not ok - test_counts.c: shared counters\n");
		return 1;
	}
	tcore_open(&t);
	test_db_count(&t);
	test_sessions(&t);
	tcore_close(&t);
	return T_DONE();
}
