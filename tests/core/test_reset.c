/*
 * test_reset.c: reset.c: a reset token and its mail for an active
 * account only (and within the mail interval only once), then the token
 * used once, in time, for an active account: the new password, every
 * session ended, every other token spent and the audit event in one
 * transaction.
 */
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "reset.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"
#define IP "192.0.2.4"

/* A reset token of u that we know, stored as latch stores them. */
static void
token_for(const struct user *u, const char *token, int64_t expires)
{
	free(tcore_sql(
	    "INSERT INTO password_resets (user_id, token_hash, "
	    "created_at, expires_at) VALUES (%lld, UNHEX(SHA2('%s', 256)), 1, "
	    "%lld)",
	    (long long)u->id, token, (long long)expires));
}

static void
test_request(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct user a, u;

	tcore_user(tc, "Reset Org", ROLE_USER, PW, &a);
	T_EQ_INT(reset_request(tc->db, tc->conf, &anon, "nobody@example.test",
		     &u),
	    ERR_NOT_FOUND, "no account");
	T_EQ_INT(reset_request(tc->db, tc->conf, &anon, a.username, &u),
	    ERR_NOT_FOUND, "a username is no address");
	T_EQ_INT(reset_request(tc->db, tc->conf, &anon, a.email, &u), ERR_OK,
	    "a request");
	T_EQ_INT(u.id, a.id, "for the account");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM password_resets WHERE "
			      "user_id = %lld",
		     (long long)a.id),
	    1, "a token");
	T_EQ_INT(tcore_spooled(tc, "new"), 1, "and its mail");
	tc->conf->mail_min_interval = 3600;
	T_EQ_INT(reset_request(tc->db, tc->conf, &anon, a.email, &u), ERR_OK,
	    "the first mail of an interval");
	T_EQ_INT(reset_request(tc->db, tc->conf, &anon, a.email, &u),
	    ERR_TOO_MANY_REQUESTS, "the second within it");
	T_OK(u.retry_after > 0, "with the time to wait");
	T_EQ_INT(tcore_spooled(tc, "new"), 2, "and no mail");
	tc->conf->mail_min_interval = 0;
	T_EQ_INT(user_put_disabled(tc->db, a.id, 1), ERR_OK, "disable");
	T_EQ_INT(reset_request(tc->db, tc->conf, &anon, a.email, &u),
	    ERR_NOT_FOUND, "a disabled account gets none");
}

static void
test_perform(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t;
	struct principal p;
	struct user a, u;
	int retry = 0;

	tcore_user(tc, "Reset Org", ROLE_USER, PW, &a);
	(void)account_login(tc->db, tc->conf, &anon, a.username, PW, 0, "", &u,
	    &t);
	token_for(&a, "token-one-0123456789abcdef", 2000000000);
	token_for(&a, "token-two-0123456789abcdef", 2000000000);
	token_for(&a, "token-old-0123456789abcdef", 1);
	T_EQ_INT(reset_perform(tc->db, tc->conf, &anon, "short", "new pw 1234"),
	    ERR_BAD_RESET_TOKEN, "a token of the wrong shape");
	T_EQ_INT(reset_perform(tc->db, tc->conf, &anon,
		     "token-old-0123456789abcdef", "new pw 1234"),
	    ERR_BAD_RESET_TOKEN, "an expired token");

	tcore_refuse("audit_events", "INSERT", "NEW.event = 'password.reset'");
	T_EQ_INT(reset_perform(tc->db, tc->conf, &anon,
		     "token-one-0123456789abcdef", "new pw 1234"),
	    ERR_DB, "a reset whose event cannot be written");
	tcore_allow();
	T_EQ_INT(user_check_password(tc->db, tc->conf, a.id, PW, &retry),
	    ERR_OK, "changes nothing");

	T_EQ_INT(reset_perform(tc->db, tc->conf, &anon,
		     "token-one-0123456789abcdef", "new pw 1234"),
	    ERR_OK, "reset");
	T_EQ_INT(user_check_password(tc->db, tc->conf, a.id, "new pw 1234",
		     &retry),
	    ERR_OK, "the new password holds");
	T_EQ_INT(session_authenticate(tc->db, tc->conf, t.access, &p, NULL),
	    ERR_SESSION_REVOKED, "every session ended");
	T_EQ_INT(reset_perform(tc->db, tc->conf, &anon,
		     "token-one-0123456789abcdef", "new pw 5678"),
	    ERR_BAD_RESET_TOKEN, "the token once");
	T_EQ_INT(reset_perform(tc->db, tc->conf, &anon,
		     "token-two-0123456789abcdef", "new pw 5678"),
	    ERR_BAD_RESET_TOKEN, "the other tokens are spent with it");
	T_EQ_INT(tcore_sqlint(
		     "SELECT COUNT(*) FROM audit_events WHERE event = "
		     "'password.reset' AND actor_id = %lld AND ip = '" IP "'",
		     (long long)a.id),
	    1, "audited, by the user");

	token_for(&a, "token-dis-0123456789abcdef", 2000000000);
	(void)user_put_disabled(tc->db, a.id, 1);
	T_EQ_INT(reset_perform(tc->db, tc->conf, &anon,
		     "token-dis-0123456789abcdef", "new pw 9999"),
	    ERR_BAD_RESET_TOKEN, "not for a disabled account");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_request(&t);
	test_perform(&t);
	tcore_close(&t);
	return T_DONE();
}
