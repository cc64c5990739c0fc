/*
 * test_invite.c: invite.c: invitations made in the caller's scope, with
 * the roles it may give, stored only as their code's hash, mailed or not,
 * previewed without being spent, accepted once (the account, the code
 * spent, the audit event and the session together), refused when used,
 * revoked or expired, sent again with a new code, listed and revoked.
 */
#include <stdio.h>
#include <string.h>

#include "invite.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"

static void
test_create(struct tcore *tc)
{
	char code[TOK_STR_SIZE], hex[2 * TOK_HASH_LEN + 1], *stored;
	unsigned char h[TOK_HASH_LEN];
	struct user admin, sa, u;
	struct invite inv;
	struct actor a, s;
	size_t i;

	tcore_user(tc, "Inv Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "Inv Root", ROLE_SUPERADMIN, PW, &sa);
	tcore_user(tc, "Inv Org", ROLE_USER, PW, &u);
	a = tcore_actor(&admin);
	s = tcore_actor(&sa);
	T_EQ_INT(invite_create(tc->db, tc->conf, &a, 0, "i1@example.test",
		     ROLE_SUPERADMIN, NULL, code, &inv),
	    ERR_FORBIDDEN, "an admin cannot invite a superadmin");
	T_EQ_INT(invite_create(tc->db, tc->conf, &a, 0, u.email, ROLE_USER,
		     NULL, code, &inv),
	    ERR_EMAIL_TAKEN,
	    "nor an address with an "
	    "account");
	T_EQ_INT(invite_create(tc->db, tc->conf, &a, sa.org_id,
		     "i1@example.test", ROLE_ADMIN, NULL, code, &inv),
	    ERR_OK, "an invitation without mail");
	T_OK(inv.org_id == admin.org_id && inv.role == ROLE_ADMIN &&
		inv.invited_by == admin.id,
	    "into the caller's organization");
	T_EQ_STR(inv.org_name, "Inv Org", "named");
	T_EQ_INT(tcore_spooled(tc, "new"), 0, "no mail");
	(void)tok_hash(code, strlen(code), h);
	for (i = 0; i < TOK_HASH_LEN; i++)
		(void)snprintf(hex + 2 * i, 3, "%02X", h[i]);
	stored = tcore_sql(
	    "SELECT HEX(code_hash) FROM invitations WHERE "
	    "id = %lld",
	    (long long)inv.id);
	T_EQ_STR(stored, hex, "the code is stored as its SHA-256 only");
	free(stored);
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM audit_events WHERE event "
			      "= 'invitation.create' AND target_id = %lld AND "
			      "actor_id = %lld",
		     (long long)inv.id, (long long)admin.id),
	    1, "audited");
	T_EQ_INT(invite_create(tc->db, tc->conf, &s, admin.org_id,
		     "i2@example.test", ROLE_SUPERADMIN, "Root", code, &inv),
	    ERR_OK, "a superadmin invites into the organization it names");
	T_EQ_INT(inv.org_id, admin.org_id, "there");
	T_EQ_INT(tcore_spooled(tc, "new"), 1, "with its mail");
	T_EQ_INT(tcore_spooled(tc, "hold"), 0, "nothing left held");

	/* The mail and the invitation go together. */
	tcore_refuse("mail_pending", "INSERT", "1");
	T_EQ_INT(invite_create(tc->db, tc->conf, &a, 0, "i3@example.test",
		     ROLE_USER, "Admin", code, &inv),
	    ERR_DB, "a mail that cannot be held");
	tcore_allow();
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM invitations WHERE email = "
			      "'i3@example.test'"),
	    0, "leaves no invitation");
	T_EQ_INT(tcore_spooled(tc, "new") + tcore_spooled(tc, "hold"), 1,
	    "and no mail");
}

static void
test_accept(struct tcore *tc)
{
	char code[TOK_STR_SIZE], code2[TOK_STR_SIZE];
	struct actor anon = { 0, 0, ROLE_USER, "192.0.2.3", 0 };
	struct session_tokens t;
	struct principal p;
	struct user admin, u;
	struct invite inv, got;
	struct actor a;

	tcore_user(tc, "Acc Org", ROLE_ADMIN, PW, &admin);
	a = tcore_actor(&admin);
	T_EQ_INT(invite_create(tc->db, tc->conf, &a, 0, "acc@example.test",
		     ROLE_USER, NULL, code, &inv),
	    ERR_OK, "invite");
	T_EQ_INT(invite_preview(tc->db, code, &got), ERR_OK, "preview");
	T_OK(got.id == inv.id && strcmp(got.email, "acc@example.test") == 0,
	    "shows the invitation");
	T_EQ_INT(invite_preview(tc->db, "x", &got), ERR_INVALID_INVITATION,
	    "an impossible code");

	tcore_refuse("sessions", "INSERT", "1");
	T_EQ_INT(invite_accept(tc->db, tc->conf, &anon, code, "newbie", "", PW,
		     "agent", &u, &got, &t),
	    ERR_DB, "a registration whose session cannot be stored");
	tcore_allow();
	T_EQ_INT(invite_preview(tc->db, code, &got), ERR_OK,
	    "leaves the code unspent");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM users WHERE username = "
			      "'newbie'"),
	    0, "and no account");

	T_EQ_INT(invite_accept(tc->db, tc->conf, &anon, code, "newbie", "New",
		     PW, "agent", &u, &got, &t),
	    ERR_OK, "register with the code");
	T_OK(u.org_id == admin.org_id && u.role == ROLE_USER &&
		strcmp(u.email, "acc@example.test") == 0,
	    "the invitation's organization, role and address");
	T_EQ_INT(session_authenticate(tc->db, tc->conf, t.access, &p, NULL),
	    ERR_OK, "signed in");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM audit_events WHERE event "
			      "= 'invitation.accept' AND actor_id = %lld AND "
			      "ip = '192.0.2.3'",
		     (long long)u.id),
	    1, "audited, by the new user");
	T_EQ_INT(invite_accept(tc->db, tc->conf, &anon, code, "second", "", PW,
		     "", &u, &got, &t),
	    ERR_INVITATION_USED, "once");

	T_EQ_INT(invite_create(tc->db, tc->conf, &a, 0, "exp@example.test",
		     ROLE_USER, NULL, code, &inv),
	    ERR_OK, "another");
	free(tcore_sql("UPDATE invitations SET expires_at = 1 WHERE id = %lld",
	    (long long)inv.id));
	T_EQ_INT(invite_preview(tc->db, code, &got), ERR_INVITATION_EXPIRED,
	    "expired");
	T_EQ_INT(invite_accept(tc->db, tc->conf, &anon, code, "late", "", PW,
		     "", &u, &got, &t),
	    ERR_INVITATION_EXPIRED, "cannot be used");

	T_EQ_INT(invite_create(tc->db, tc->conf, &a, 0, "re@example.test",
		     ROLE_USER, NULL, code, &inv),
	    ERR_OK, "another");
	T_EQ_INT(invite_resend(tc->db, tc->conf, &a, 0, inv.id, "Admin", code2,
		     &got),
	    ERR_OK, "send it again");
	T_OK(strcmp(code, code2) != 0, "with a new code");
	T_EQ_INT(invite_preview(tc->db, code, &got), ERR_INVALID_INVITATION,
	    "the old code is dead");
	T_EQ_INT(invite_preview(tc->db, code2, &got), ERR_OK, "the new lives");
	T_EQ_INT(invite_revoke(tc->db, &a, 0, inv.id), ERR_OK, "revoke");
	T_EQ_INT(invite_preview(tc->db, code2, &got), ERR_INVALID_INVITATION,
	    "a revoked code");
	T_EQ_INT(invite_revoke(tc->db, &a, 0, inv.id), ERR_NOT_FOUND, "once");
	T_EQ_INT(invite_resend(tc->db, tc->conf, &a, 0, inv.id, "Admin", code2,
		     &got),
	    ERR_NOT_FOUND, "nor sent again");
}

static void
count_invite(const struct invite *inv, void *arg)
{
	(*(int *)arg)++;
	(void)inv;
}

static void
test_scope(struct tcore *tc)
{
	char code[TOK_STR_SIZE];
	struct user a1, a2;
	struct invite inv;
	struct actor x, y;
	int n = 0;

	tcore_user(tc, "Scope One", ROLE_ADMIN, PW, &a1);
	tcore_user(tc, "Scope Two", ROLE_ADMIN, PW, &a2);
	x = tcore_actor(&a1);
	y = tcore_actor(&a2);
	T_EQ_INT(invite_create(tc->db, tc->conf, &x, 0, "s1@example.test",
		     ROLE_USER, NULL, code, &inv),
	    ERR_OK, "invite");
	T_EQ_INT(invite_revoke(tc->db, &y, a1.org_id, inv.id), ERR_NOT_FOUND,
	    "another organization's admin cannot revoke it");
	T_EQ_INT(invite_foreach(tc->db, &y, a1.org_id, count_invite, &n),
	    ERR_OK, "nor list it");
	T_EQ_INT(n, 0, "");
	T_EQ_INT(invite_foreach(tc->db, &x, 0, count_invite, &n), ERR_OK,
	    "its own admin lists it");
	T_EQ_INT(n, 1, "");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_create(&t);
	test_accept(&t);
	test_scope(&t);
	tcore_close(&t);
	return T_DONE();
}
