/*
 * test_mfa.c: mfa.c: an enrolment stays pending until a right code, its
 * confirmation (TOTP on, recovery codes, nothing but sealed secrets in
 * the table) is all or nothing, a sign-in with TOTP waits for its second
 * step, which takes a code once and a recovery code once, and the
 * operator's reset ends the sessions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "mfa.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"
#define IP "192.0.2.9"

/* The code of secret (base32) steps steps from now. */
static void
code_of(const char *b32, int steps, char out[TOTP_DIGITS + 1])
{
	unsigned char key[64];
	size_t n = 0;
	uint32_t c = 0;

	if (totp_b32_decode(b32, key, sizeof(key), &n) == -1 ||
	    totp_hotp(key, n,
		(uint64_t)(totp_step((int64_t)time(NULL)) + steps), TOTP_DIGITS,
		&c) == -1) {
		fprintf(stderr, "test_mfa: no code\n");
		exit(1);
	}
	snprintf(out, TOTP_DIGITS + 1, "%06u", (unsigned)c);
}

/* Wait until at least 5 s are left of the current step. */
static void
safe_window(void)
{
	time_t left = TOTP_PERIOD - time(NULL) % TOTP_PERIOD;

	if (left < 5) {
		struct timespec ts = { left + 1, 0 };

		nanosleep(&ts, NULL);
	}
}

static void
test_enrol_confirm_sign_in(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 }, me;
	struct mfa_enrolment en;
	struct mfa_codes codes;
	struct mfa_status st;
	struct session_tokens t;
	struct principal p;
	struct user a, u;
	char c[TOTP_DIGITS + 1], *hex;
	int64_t sid;

	tcore_user(tc, "mfa-org", ROLE_ADMIN, PW, &a);
	me = user_actor(&a, IP);
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "a session to enrol from");
	T_EQ_INT(session_authenticate(tc->db, tc->conf, t.access, &p, NULL),
	    ERR_OK, "its token");
	sid = p.sid;
	T_EQ_INT(p.claims.amr, JWT_AMR_PWD, "signed in with a password");

	T_EQ_INT(mfa_enrol(tc->db, tc->conf, &me, &a, &en), ERR_OK, "enrol");
	T_OK(strlen(en.secret) == 32 && en.svg != NULL &&
		strncmp(en.uri, "otpauth://totp/", 15) == 0,
	    "its answer");
	T_OK(mfa_status(tc->db, a.id, &st) == ERR_OK && st.pending &&
		!st.enabled,
	    "pending");
	hex = tcore_sql("SELECT HEX(sealed) FROM totp WHERE user_id = %lld",
	    (long long)a.id);
	T_OK(hex != NULL && strlen(hex) == 2 * (20 + 32 + TOTP_SEAL_OVERHEAD),
	    "sealed");
	free(hex);
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM totp WHERE user_id = %lld "
			      "AND INSTR(sealed, '%s') > 0",
		     (long long)a.id, en.secret),
	    0, "no base32 secret in the row");

	/* A pending enrolment changes nothing for signing in. */
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "sign in while pending");
	T_OK(t.mfa_token[0] == '\0' && t.access[0] != '\0', "tokens at once");

	safe_window();
	T_EQ_INT(mfa_confirm(tc->db, tc->conf, &me, sid, "000000x", &codes),
	    ERR_INVALID_CODE, "a wrong code");
	/* The confirmation is all or nothing. */
	tcore_refuse("recovery_codes", "INSERT", "1");
	code_of(en.secret, 0, c);
	T_EQ_INT(mfa_confirm(tc->db, tc->conf, &me, sid, c, &codes), ERR_DB,
	    "a failing statement");
	tcore_allow();
	T_OK(mfa_status(tc->db, a.id, &st) == ERR_OK && st.pending &&
		!st.enabled,
	    "still pending, nothing half done");
	T_EQ_INT(mfa_confirm(tc->db, tc->conf, &me, sid, c, &codes), ERR_OK,
	    "confirmed");
	T_OK(strlen(codes.code[0]) == 11 &&
		strcmp(codes.code[0], codes.code[9]) != 0,
	    "recovery codes");
	T_OK(mfa_status(tc->db, a.id, &st) == ERR_OK && st.enabled &&
		st.codes_left == 10,
	    "on, ten codes");
	T_EQ_INT(tcore_sqlint("SELECT amr FROM sessions WHERE id = %lld",
		     (long long)sid),
	    JWT_AMR_PWD | JWT_AMR_OTP,
	    "the confirming session signed in with otp from now on");

	/* Signing in: the password, then the code, once. */
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "the password step");
	T_OK(t.mfa_token[0] != '\0' && t.access[0] == '\0',
	    "a challenge, no tokens");
	code_of(en.secret, 0, c);
	T_EQ_INT(mfa_finish(tc->db, tc->conf, &anon, t.mfa_token, c, NULL,
		     "agent", &u, &t),
	    ERR_INVALID_CODE, "the confirmation's code again");
	code_of(en.secret, 1, c);
	T_EQ_INT(mfa_finish(tc->db, tc->conf, &anon, t.mfa_token, c, NULL,
		     "agent", &u, &t),
	    ERR_OK, "the next step's code");
	T_OK(u.id == a.id &&
		session_authenticate(tc->db, tc->conf, t.access, &p, NULL) ==
		    ERR_OK &&
		p.claims.amr == (JWT_AMR_PWD | JWT_AMR_OTP),
	    "a session with otp");
	T_EQ_INT(mfa_finish(tc->db, tc->conf, &anon, t.mfa_token, c, NULL,
		     "agent", &u, &t),
	    ERR_INVALID_TOKEN, "the challenge is used");

	/* A recovery code, once. */
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "the password step again");
	T_EQ_INT(mfa_finish(tc->db, tc->conf, &anon, t.mfa_token, NULL,
		     codes.code[3], "agent", &u, &t),
	    ERR_OK, "a recovery code");
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "and again");
	T_EQ_INT(mfa_finish(tc->db, tc->conf, &anon, t.mfa_token, NULL,
		     codes.code[3], "agent", &u, &t),
	    ERR_INVALID_CODE, "the same recovery code refused");
	T_EQ_INT(
	    tcore_sqlint("SELECT COUNT(*) FROM audit_events WHERE "
			 "event = 'mfa.recovery_code' AND target_id = %lld",
		(long long)a.id),
	    1, "its use audited");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM audit_events WHERE "
			      "event = 'mfa.failure' AND target_id = %lld",
		     (long long)a.id),
	    2, "both wrong codes audited");

	/* The operator's reset. */
	T_EQ_INT(mfa_reset(tc->db, NULL, 0, a.id), ERR_OK, "reset");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM sessions WHERE user_id = "
			      "%lld AND revoked_at IS NULL",
		     (long long)a.id),
	    0, "every session ended");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM recovery_codes WHERE "
			      "user_id = %lld",
		     (long long)a.id),
	    0, "the codes gone");
	T_EQ_INT(mfa_reset(tc->db, NULL, 0, a.id), ERR_MFA_NOT_ENROLLED,
	    "nothing left to reset");
	T_EQ_INT(account_login(tc->db, tc->conf, &anon, a.username, PW, 0,
		     "agent", &u, &t),
	    ERR_OK, "the password alone again");
	T_OK(t.mfa_token[0] == '\0', "no second step");
	tok_cleanse(&codes, sizeof(codes));
	mfa_free(&en);
}

static void
test_no_key(struct tcore *tc)
{
	struct mfa_enrolment en;
	struct user a;
	struct actor me;
	char *key = tc->conf->mfa_key;

	tcore_user(tc, "mfa-org", ROLE_USER, PW, &a);
	me = user_actor(&a, IP);
	tc->conf->mfa_key = (char *)"";
	T_EQ_INT(mfa_enrol(tc->db, tc->conf, &me, &a, &en), ERR_MFA_UNAVAILABLE,
	    "no mfa_key, no enrolment");
	tc->conf->mfa_key = key;
}

int
main(void)
{
	struct tcore tc;
	static char key[] = "a test key for sealing two-factor secrets";

	memset(&tc, 0, sizeof(tc));
	tcore_open(&tc);
	if (tc.conf->mfa_key == NULL || tc.conf->mfa_key[0] == '\0') {
		free(tc.conf->mfa_key);
		tc.conf->mfa_key = strdup(key);
	}
	test_enrol_confirm_sign_in(&tc);
	test_no_key(&tc);
	tcore_close(&tc);
	return T_DONE();
}
