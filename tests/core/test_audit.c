/*
 * test_audit.c: audit.c: events as written (the actor and address of the
 * caller, none for nobody, the detail cut to 255 bytes) and as read: an
 * admin its own organization's, a superadmin every organization's or
 * the one it names; by event name, newest first, a page at a time.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"

struct seen {
	int n;
	int64_t first;
	struct audit_entry last;
};

static void
see(const struct audit_entry *en, void *arg)
{
	struct seen *s = arg;

	if (s->n++ == 0)
		s->first = en->id;
	s->last = *en;
}

static enum err
list(struct tcore *tc, const struct actor *a, int64_t want, const char *ev,
    int64_t limit, int64_t offset, int64_t *total, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return audit_list(tc->db, a, want, ev, limit, offset, total, see, s);
}

int
main(void)
{
	struct actor nobody = { 0, 0, ROLE_USER, NULL, 0 };
	struct tcore tc;
	struct user admin, sa, other;
	struct actor a, s, o;
	struct seen seen;
	int64_t total = 0;
	char longer[400];

	tcore_open(&tc);
	T_EQ_STR(audit_name(AUDIT_LOGIN_SUCCESS), "login.success", "a name");
	T_EQ_STR(audit_name(AUDIT__MAX), "unknown", "past the enum");
	T_OK(audit_known("email.change.request") && !audit_known("nope") &&
		!audit_known(""),
	    "known names");

	tcore_user(&tc, "Audit One", ROLE_ADMIN, PW, &admin);
	tcore_user(&tc, "Audit Root", ROLE_SUPERADMIN, PW, &sa);
	tcore_user(&tc, "Audit Two", ROLE_ADMIN, PW, &other);
	a = tcore_actor(&admin);
	s = tcore_actor(&sa);
	o = tcore_actor(&other);
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	T_OK(audit_log(tc.db, &a, AUDIT_USER_UPDATE, admin.org_id, 7, NULL) ==
		    ERR_OK &&
		audit_log(tc.db, &a, AUDIT_ROLE_CHANGE, admin.org_id, 7,
		    "admin") == ERR_OK &&
		audit_log(tc.db, &o, AUDIT_USER_UPDATE, other.org_id, 8,
		    longer) == ERR_OK &&
		audit_log(tc.db, &nobody, AUDIT_LOGIN_FAILURE, 0, 0,
		    "invalid credentials") == ERR_OK,
	    "write events");

	T_EQ_INT(list(&tc, &a, 0, NULL, 10, 0, &total, &seen), ERR_OK,
	    "an admin's list");
	T_OK(total == 2 && seen.n == 2, "its organization's only");
	T_EQ_STR(seen.last.event, "user.update", "newest first");
	T_EQ_INT(seen.last.actor, admin.id, "the actor");
	T_EQ_STR(seen.last.ip, "192.0.2.1", "its address");
	T_EQ_INT(seen.last.target, 7, "the target");
	T_EQ_INT(list(&tc, &a, other.org_id, NULL, 10, 0, &total, &seen),
	    ERR_OK, "an admin naming another organization");
	T_EQ_INT(total, 2, "still sees its own");
	T_EQ_INT(list(&tc, &a, ACTOR_ORG_BAD, NULL, 10, 0, &total, &seen),
	    ERR_OK, "a malformed name counts for superadmins only");
	T_EQ_INT(list(&tc, &a, 0, "role.change", 10, 0, &total, &seen), ERR_OK,
	    "by event");
	T_OK(total == 1 && strcmp(seen.last.detail, "admin") == 0,
	    "that event, its detail");
	T_EQ_INT(list(&tc, &a, 0, NULL, 1, 1, &total, &seen), ERR_OK, "a page");
	T_OK(total == 2 && seen.n == 1, "of one of two");

	T_EQ_INT(list(&tc, &s, 0, NULL, 100, 0, &total, &seen), ERR_OK,
	    "a superadmin's list");
	T_EQ_INT(total, 4, "every event, of no organization too");
	T_EQ_INT(list(&tc, &s, 0, "login.failure", 100, 0, &total, &seen),
	    ERR_OK, "the event of no organization");
	T_OK(total == 1 && seen.last.actor == 0 && seen.last.target == 0 &&
		seen.last.ip[0] == '\0',
	    "by nobody, of nobody, from nowhere");
	T_EQ_INT(list(&tc, &s, other.org_id, NULL, 100, 0, &total, &seen),
	    ERR_OK, "one organization named");
	T_EQ_INT(total, 1, "its events");
	T_EQ_INT(strlen(seen.last.detail), 255, "a detail cut to 255 bytes");
	T_EQ_INT(list(&tc, &s, 987654321, NULL, 10, 0, &total, &seen),
	    ERR_NOT_FOUND, "one that does not exist");
	T_EQ_INT(list(&tc, &s, ACTOR_ORG_BAD, NULL, 10, 0, &total, &seen),
	    ERR_INVALID_FIELD, "a malformed one");
	tcore_close(&tc);
	return T_DONE();
}
