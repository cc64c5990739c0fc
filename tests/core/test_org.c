/*
 * test_org.c: org.c: the first run (skipping authentication, the setup
 * of the first superadmin, once), self-service registration (the
 * organization, its admin, their audit events and the session in one
 * transaction), organizations made by a superadmin with their admin's
 * invitation (together or not at all), changed and deleted (never the
 * last superadmin's), listed, and read in the caller's scope.
 */
#include <stdio.h>
#include <string.h>

#include "org.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"
#define IP "192.0.2.5"

static long long
count(const char *table, const char *where)
{
	return tcore_sqlint("SELECT COUNT(*) FROM %s WHERE %s", table, where);
}

static void
test_first_run(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t;
	struct principal p;
	struct user u;
	char where[256];

	T_EQ_INT(org_setup_required(tc->db), 1, "setup is required");
	T_EQ_INT(org_auth_enabled(tc->db, tc->conf), 1, "authentication on");
	T_EQ_INT(org_auth_skip(tc->db), ERR_OK, "skip authentication");
	T_EQ_INT(org_auth_enabled(tc->db, tc->conf), 0,
	    "off while no user exists");

	/* A setup whose session cannot be stored makes no one. */
	tcore_refuse("sessions", "INSERT", "1");
	T_EQ_INT(org_signup(tc->db, tc->conf, &anon, 1, "Root Org", "root",
		     "root@example.test", "Root", PW, "agent", &u, &t),
	    ERR_DB, "a setup whose session cannot be stored");
	tcore_allow();
	T_EQ_INT(org_setup_required(tc->db), 1, "is not made at all");
	T_EQ_INT(count("organizations", "1"), 0, "not even its organization");

	T_EQ_INT(org_signup(tc->db, tc->conf, &anon, 1, "Root Org", "root",
		     "root@example.test", "Root", PW, "agent", &u, &t),
	    ERR_OK, "setup");
	T_EQ_INT(u.role, ROLE_SUPERADMIN, "the first user is superadmin");
	T_EQ_STR(u.org_name, "Root Org", "of the new organization");
	T_EQ_INT(session_authenticate(tc->db, tc->conf, t.access, &p, NULL),
	    ERR_OK, "signed in");
	(void)snprintf(where, sizeof(where),
	    "actor_id = %lld AND ip = '" IP "' AND org_id = %lld",
	    (long long)u.id, (long long)u.org_id);
	T_EQ_INT(count("audit_events", where), 2,
	    "org.create and user.create "
	    "by the new user");
	T_EQ_INT(org_setup_required(tc->db), 0, "setup is done");
	T_EQ_INT(org_auth_enabled(tc->db, tc->conf), 1,
	    "the first user turns authentication back on");
	T_EQ_INT(org_signup(tc->db, tc->conf, &anon, 1, "Other Root", "root2",
		     "root2@example.test", "", PW, "", &u, &t),
	    ERR_SETUP_DONE, "a second setup");
	T_EQ_INT(org_auth_skip(tc->db), ERR_SETUP_DONE, "no skip once set up");
}

static void
test_signup(struct tcore *tc)
{
	struct actor anon = { 0, 0, ROLE_USER, IP, 0 };
	struct session_tokens t;
	struct user u;
	char org[64], name[64], mail[128];

	(void)snprintf(org, sizeof(org), "%s", tcore_uniq("Org "));
	(void)snprintf(name, sizeof(name), "%s", tcore_uniq("admin"));
	(void)snprintf(mail, sizeof(mail), "%s@example.test", name);
	T_EQ_INT(org_registration_open(tc->conf), ERR_OK, "registration open");
	tc->conf->allow_new_organizations = 0;
	T_EQ_INT(org_registration_open(tc->conf), ERR_REGISTRATION_CLOSED,
	    "and closed");
	tc->conf->allow_new_organizations = 1;

	tcore_refuse("sessions", "INSERT", "1");
	T_EQ_INT(org_signup(tc->db, tc->conf, &anon, 0, org, name, mail, "", PW,
		     "", &u, &t),
	    ERR_DB,
	    "a registration whose session cannot be "
	    "stored");
	tcore_allow();
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM users WHERE username = "
			      "'%s'",
		     name),
	    0, "leaves no account");
	T_EQ_INT(org_signup(tc->db, tc->conf, &anon, 0, org, name, mail, "", PW,
		     "", &u, &t),
	    ERR_OK, "register");
	T_EQ_INT(u.role, ROLE_ADMIN, "an admin");
	T_EQ_INT(org_signup(tc->db, tc->conf, &anon, 0, org, tcore_uniq("x"),
		     "x1@example.test", "", PW, "", &u, &t),
	    ERR_ORG_TAKEN, "the organization is taken");
	T_EQ_INT(org_signup(tc->db, tc->conf, &anon, 0, tcore_uniq("Org "),
		     name, "x2@example.test", "", PW, "", &u, &t),
	    ERR_USERNAME_TAKEN, "the username is taken");
	T_EQ_INT(count("organizations", "name LIKE 'Org %'"), 1,
	    "and no organization is left by them");
}

static void
test_create_update_delete(struct tcore *tc)
{
	char code[TOK_STR_SIZE], name[64], mail[128], where[200];
	struct user sa, other, admin;
	struct actor a, b;
	struct invite inv;
	struct org o, o2;

	tcore_user(tc, "Root Org", ROLE_SUPERADMIN, PW, &sa);
	a = tcore_actor(&sa);
	(void)snprintf(name, sizeof(name), "%s", tcore_uniq("Made "));
	T_EQ_INT(org_create(tc->db, tc->conf, &a, name, "its text", NULL, NULL,
		     code, &o, &inv),
	    ERR_OK, "create an organization");
	T_EQ_STR(o.description, "its text", "with its description");
	T_EQ_INT(o.user_count, 0, "and no user");
	T_EQ_STR(code, "", "and no invitation");
	T_EQ_INT(org_create(tc->db, tc->conf, &a, name, "", NULL, NULL, code,
		     &o2, &inv),
	    ERR_ORG_TAKEN, "its name is taken");

	/* With its admin's invitation, both or neither. */
	tcore_user(tc, "Root Org", ROLE_USER, PW, &other);
	(void)snprintf(name, sizeof(name), "%s", tcore_uniq("Made "));
	T_EQ_INT(org_create(tc->db, tc->conf, &a, name, "", other.email, "Root",
		     code, &o2, &inv),
	    ERR_EMAIL_TAKEN, "an admin address that has an account");
	(void)snprintf(where, sizeof(where), "name = '%s'", name);
	T_EQ_INT(count("organizations", where), 0, "leaves no organization");
	(void)snprintf(mail, sizeof(mail), "%s@example.test",
	    tcore_uniq("boss"));
	T_EQ_INT(org_create(tc->db, tc->conf, &a, name, "", mail, "Root", code,
		     &o2, &inv),
	    ERR_OK, "create with an admin's invitation");
	T_OK(strlen(code) >= 22, "its code");
	T_OK(inv.org_id == o2.id && inv.role == ROLE_ADMIN, "an admin of it");
	T_EQ_INT(tcore_spooled(tc, "new"), 1, "its mail queued");
	(void)snprintf(where, sizeof(where),
	    "org_id = %lld AND actor_id = "
	    "%lld AND event IN ('org.create', 'invitation.create')",
	    (long long)o2.id, (long long)sa.id);
	T_EQ_INT(count("audit_events", where), 2, "both audited");

	T_EQ_INT(org_update(tc->db, &a, o2.id, "Renamed", NULL, &o), ERR_OK,
	    "rename");
	T_EQ_STR(o.name, "Renamed", "reloaded");
	T_EQ_INT(org_update(tc->db, &a, o2.id, "Root Org", NULL, &o),
	    ERR_ORG_TAKEN, "to a taken name");
	T_EQ_INT(org_update(tc->db, &a, 987654321, "X", NULL, &o),
	    ERR_NOT_FOUND, "no such organization");

	/* An admin acts in its own organization, whatever it names. */
	tcore_user(tc, "Admin Org", ROLE_ADMIN, PW, &admin);
	b = tcore_actor(&admin);
	T_EQ_INT(org_update(tc->db, &b, o2.id, NULL, "mine", &o), ERR_OK,
	    "an admin naming another organization");
	T_EQ_STR(o.name, "Admin Org", "changes its own");
	T_EQ_INT(org_get_in(tc->db, &b, o2.id, &o), ERR_OK, "reads its own");
	T_EQ_STR(o.description, "mine", "");
	T_EQ_INT(org_get_in(tc->db, &a, o2.id, &o), ERR_OK,
	    "a superadmin reads the one it names");
	T_EQ_STR(o.name, "Renamed", "");
	T_EQ_INT(org_get_in(tc->db, &a, ACTOR_ORG_BAD, &o), ERR_INVALID_FIELD,
	    "a malformed name");

	T_EQ_INT(org_delete(tc->db, &a, sa.org_id), ERR_LAST_ADMIN,
	    "not the organization of the last superadmin");
	T_EQ_INT(org_delete(tc->db, &a, o2.id), ERR_OK, "delete");
	T_EQ_INT(org_delete(tc->db, &a, o2.id), ERR_NOT_FOUND, "once");
	(void)snprintf(where, sizeof(where),
	    "event = 'org.delete' AND "
	    "org_id IS NULL AND target_id = %lld",
	    (long long)o2.id);
	T_EQ_INT(count("audit_events", where), 1,
	    "audited, of no organization");
}

static void
add_org(const struct org *o, void *arg)
{
	(*(int *)arg)++;
	(void)o;
}

static void
test_list(struct tcore *tc)
{
	int64_t total = 0;
	int n = 0;

	T_EQ_INT(org_list(tc->db, "", 100, 0, &total, add_org, &n), ERR_OK,
	    "list");
	T_OK(total >= 3 && n == total, "every organization");
	n = 0;
	T_EQ_INT(org_list(tc->db, "root org", 100, 0, &total, add_org, &n),
	    ERR_OK, "search");
	T_OK(total == 1 && n == 1, "by its name");
	n = 0;
	T_EQ_INT(org_list(tc->db, "", 1, 1, &total, add_org, &n), ERR_OK,
	    "a page");
	T_EQ_INT(n, 1, "of one");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_first_run(&t);
	test_signup(&t);
	test_create_update_delete(&t);
	test_list(&t);
	tcore_close(&t);
	return T_DONE();
}
