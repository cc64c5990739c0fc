/*
 * test_member.c: member.c: /users as admins manage them: the caller's
 * scope (an admin's own organization; a superadmin's own or the one it
 * names), whom an admin may act on (never a superadmin), the last active
 * admin and superadmin, what disabling and a new address do, and the
 * audit events each change writes in its transaction, in their order.
 */
#include <stdio.h>
#include <string.h>

#include "member.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"

/* The events of target, newest last, comma-separated (caller frees). */
static char *
events_of(int64_t target)
{
	return tcore_sql(
	    "SELECT GROUP_CONCAT(event ORDER BY id SEPARATOR ',') "
	    "FROM audit_events WHERE target_id = %lld",
	    (long long)target);
}

static void
test_create_and_scope(struct tcore *tc)
{
	struct user admin, sa, u, other;
	struct actor a, s;
	char *ev;

	tcore_user(tc, "Member Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "Member Root", ROLE_SUPERADMIN, PW, &sa);
	tcore_user(tc, "Member Other", ROLE_USER, PW, &other);
	a = tcore_actor(&admin);
	s = tcore_actor(&sa);
	T_EQ_INT(member_create(tc->db, tc->conf, &a, 0, tcore_uniq("m"),
		     "m1@example.test", "M", PW, ROLE_SUPERADMIN, &u),
	    ERR_FORBIDDEN, "an admin cannot make a superadmin");
	T_EQ_INT(member_create(tc->db, tc->conf, &a, other.org_id,
		     tcore_uniq("m"), "m2@example.test", "M", PW, ROLE_ADMIN,
		     &u),
	    ERR_OK, "an admin makes an admin");
	T_EQ_INT(u.org_id, admin.org_id,
	    "in its own organization, whatever "
	    "it names");
	ev = events_of(u.id);
	T_EQ_STR(ev, "user.create", "audited");
	free(ev);
	T_EQ_INT(member_create(tc->db, tc->conf, &s, other.org_id,
		     tcore_uniq("m"), "m3@example.test", "", PW,
		     ROLE_SUPERADMIN, &u),
	    ERR_OK, "a superadmin makes a superadmin");
	T_EQ_INT(u.org_id, other.org_id, "in the organization it names");
	T_EQ_INT(member_create(tc->db, tc->conf, &s, 987654321, tcore_uniq("m"),
		     "m4@example.test", "", PW, ROLE_USER, &u),
	    ERR_NOT_FOUND, "in one that does not exist");
	T_EQ_INT(member_create(tc->db, tc->conf, &s, ACTOR_ORG_BAD,
		     tcore_uniq("m"), "m4@example.test", "", PW, ROLE_USER, &u),
	    ERR_INVALID_FIELD, "a malformed name");
	T_EQ_INT(member_get(tc->db, &a, 0, other.id, &u), ERR_NOT_FOUND,
	    "another organization's user is not found");
	T_EQ_INT(member_get(tc->db, &s, other.org_id, other.id, &u), ERR_OK,
	    "a superadmin finds it there");
	T_EQ_INT(member_get(tc->db, &a, 0, sa.id, &u), ERR_NOT_FOUND,
	    "nor is a superadmin of another");
}

static void
test_update(struct tcore *tc)
{
	struct member_patch p;
	struct user admin, u, after;
	struct actor a;
	char *ev;

	tcore_user(tc, "Update Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "Update Org", ROLE_USER, PW, &u);
	a = tcore_actor(&admin);
	memset(&p, 0, sizeof(p));
	p.name = "Renamed";
	p.email = "moved@example.test";
	p.role = ROLE_ADMIN;
	p.disabled = 1;
	free(tcore_sql(
	    "INSERT INTO password_resets (user_id, token_hash, "
	    "created_at, expires_at) VALUES (%lld, UNHEX(SHA2('t1', 256)), 1, "
	    "2000000000)",
	    (long long)u.id));
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, u.id, &p, &after),
	    ERR_OK, "change everything at once");
	T_OK(after.role == ROLE_ADMIN && after.disabled &&
		strcmp(after.name, "Renamed") == 0 &&
		strcmp(after.email, "moved@example.test") == 0,
	    "all of it");
	ev = events_of(u.id);
	T_EQ_STR(ev, "role.change,user.disable,user.update,email.change",
	    "one event each, in their order");
	free(ev);
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM password_resets WHERE "
			      "user_id = %lld AND used_at IS NULL",
		     (long long)u.id),
	    0, "the new address spends the reset tokens of the old");
	T_EQ_INT(tcore_spooled(tc, "new"), 1, "the old address is told");

	memset(&p, 0, sizeof(p));
	p.role = -1;
	p.disabled = -1;
	p.email = "mine@example.test";
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, admin.id, &p, &after),
	    ERR_FORBIDDEN, "not one's own address");
	p.email = NULL;
	p.disabled = 0;
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, u.id, &p, &after),
	    ERR_OK, "enable the new admin");
	p.disabled = 1;
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, admin.id, &p, &after),
	    ERR_OK, "another admin is active: disable oneself");
	p.disabled = 0;
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, admin.id, &p, &after),
	    ERR_OK, "enable");
	p.disabled = 1;
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, u.id, &p, &after),
	    ERR_OK, "disable the other admin");
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, admin.id, &p, &after),
	    ERR_LAST_ADMIN, "the last active admin stays");
	p.disabled = -1;
	p.role = ROLE_USER;
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, admin.id, &p, &after),
	    ERR_LAST_ADMIN, "and stays an admin");
	T_EQ_INT(member_delete(tc->db, &a, 0, admin.id), ERR_LAST_ADMIN,
	    "and is not deleted");
}

static void
test_superadmins(struct tcore *tc)
{
	struct member_patch p = { NULL, NULL, ROLE_USER, -1, 0 };
	struct user admin, sa, after;
	struct actor a, s;

	tcore_user(tc, "Super Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "Super Org", ROLE_SUPERADMIN, PW, &sa);
	a = tcore_actor(&admin);
	s = tcore_actor(&sa);
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, sa.id, &p, &after),
	    ERR_FORBIDDEN, "an admin does not touch a superadmin");
	T_EQ_INT(member_delete(tc->db, &a, 0, sa.id), ERR_FORBIDDEN,
	    "nor deletes one");
	p.role = ROLE_SUPERADMIN;
	T_EQ_INT(member_update(tc->db, tc->conf, &a, 0, admin.id, &p, &after),
	    ERR_FORBIDDEN, "nor makes one");
	T_EQ_INT(member_update(tc->db, tc->conf, &s, 0, admin.id, &p, &after),
	    ERR_OK, "a superadmin makes one");
	T_EQ_INT(member_delete(tc->db, &s, 0, admin.id), ERR_OK,
	    "and deletes one, another being left");
	T_EQ_INT(
	    tcore_sqlint("SELECT COUNT(*) FROM audit_events WHERE event = "
			 "'user.delete' AND target_id = %lld AND detail = '%s'",
		(long long)admin.id, admin.username),
	    1, "audited with its name");
	T_EQ_INT(member_delete(tc->db, &s, 0, admin.id), ERR_NOT_FOUND, "once");
}

static void
count_user(const struct user *u, void *arg)
{
	(*(int *)arg)++;
	(void)u;
}

static void
test_list(struct tcore *tc)
{
	struct user admin, u;
	struct actor a;
	int64_t total = 0;
	int n = 0;

	tcore_user(tc, "List Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "List Org", ROLE_USER, PW, &u);
	tcore_user(tc, "List Elsewhere", ROLE_USER, PW, &u);
	a = tcore_actor(&admin);
	T_EQ_INT(member_list(tc->db, &a, u.org_id, -1, NULL, 10, 0, &total,
		     count_user, &n),
	    ERR_OK, "list");
	T_OK(total == 2 && n == 2, "the caller's organization only");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_create_and_scope(&t);
	test_update(&t);
	test_superadmins(&t);
	test_list(&t);
	tcore_close(&t);
	return T_DONE();
}
