/*
 * test_user.c: user.c: accounts made, found (by username exactly, by
 * email with its case folded), signed in (a wrong password, an unknown
 * name and a disabled account; the throttle under both names), their
 * passwords and profiles changed, listed and searched within one
 * organization.
 */
#include <stdio.h>
#include <string.h>

#include "limit.h"
#include "org.h"
#include "pw.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"

static int64_t
org_of(struct tcore *t, const char *name)
{
	int64_t id = 0;

	if (org_find(t->db, name, &id) != ERR_OK)
		(void)org_insert(t->db, name, "", &id);
	return id;
}

static void
test_insert_and_find(struct tcore *t)
{
	char mcf[PW_MCF_SIZE], email[128], upper[128], name[64];
	int64_t org = org_of(t, "user-org"), id = 0, id2 = 0;
	struct user u;

	(void)snprintf(name, sizeof(name), "%s", tcore_uniq("alice"));
	(void)snprintf(email, sizeof(email), "%s@Example.Test", name);
	T_EQ_INT(user_hash_password(t->conf, PW, mcf, sizeof(mcf)), ERR_OK,
	    "hash");
	T_EQ_INT(user_insert(t->db, org, name, email, "Alice", mcf, ROLE_ADMIN,
		     &id),
	    ERR_OK, "insert");
	T_EQ_INT(user_insert(t->db, org, name, "other@example.test", "", mcf,
		     ROLE_USER, &id2),
	    ERR_USERNAME_TAKEN, "the username is taken");
	(void)snprintf(upper, sizeof(upper), "%s@EXAMPLE.test", name);
	T_EQ_INT(user_insert(t->db, org, tcore_uniq("bob"), upper, "", mcf,
		     ROLE_USER, &id2),
	    ERR_EMAIL_TAKEN, "the email is taken, whatever its case");
	T_EQ_INT(user_insert(t->db, 987654321, tcore_uniq("bob"),
		     "nobody@example.test", "", mcf, ROLE_USER, &id2),
	    ERR_NOT_FOUND, "no such organization");

	T_EQ_INT(user_get(t->db, id, &u), ERR_OK, "get");
	T_EQ_STR(u.username, name, "its username");
	T_EQ_STR(u.email, email, "its email as given");
	T_EQ_STR(u.name, "Alice", "its name");
	T_EQ_INT(u.role, ROLE_ADMIN, "its role");
	T_EQ_STR(u.org_name, "user-org", "its organization's name");
	T_EQ_INT(u.last_login_at, 0, "never signed in");
	T_EQ_INT(user_find(t->db, upper, &u), ERR_OK,
	    "found by email, any "
	    "case");
	T_EQ_INT(u.id, id, "the same account");
	T_EQ_INT(user_find(t->db, name, &u), ERR_OK, "found by username");
	upper[0] = (char)(upper[0] - 'a' + 'A');
	upper[strcspn(upper, "@")] = '\0';
	T_EQ_INT(user_find(t->db, upper, &u), ERR_NOT_FOUND,
	    "the username's case counts");
	T_EQ_INT(user_find(t->db, "no@such@address", &u), ERR_NOT_FOUND,
	    "a malformed email is unknown");
	T_EQ_INT(user_get(t->db, 987654321, &u), ERR_NOT_FOUND, "get nobody");
}

static void
test_authenticate(struct tcore *t)
{
	struct user a, u;
	int i;

	tcore_user(t, "user-org", ROLE_USER, PW, &a);
	T_EQ_INT(user_authenticate(t->db, t->conf, a.username, PW, &u, NULL),
	    ERR_OK, "the right password");
	T_EQ_INT(u.id, a.id, "signs in its account");
	T_EQ_INT(user_authenticate(t->db, t->conf, a.email, PW, &u, NULL),
	    ERR_OK, "by email too");
	T_EQ_INT(user_authenticate(t->db, t->conf, a.username, "wrong", &u,
		     NULL),
	    ERR_INVALID_CREDENTIALS, "a wrong password");
	T_EQ_INT(u.id, a.id, "names the account");
	T_EQ_INT(user_authenticate(t->db, t->conf, tcore_uniq("ghost"), PW, &u,
		     NULL),
	    ERR_INVALID_CREDENTIALS, "an unknown name, the same answer");
	T_EQ_INT(u.id, 0, "naming no account");

	T_EQ_INT(user_put_disabled(t->db, a.id, 1), ERR_OK, "disable");
	T_EQ_INT(user_authenticate(t->db, t->conf, a.username, "wrong", &u,
		     NULL),
	    ERR_INVALID_CREDENTIALS, "disabled, a wrong password: 401");
	T_EQ_INT(user_authenticate(t->db, t->conf, a.username, PW, &u, NULL),
	    ERR_ACCOUNT_DISABLED, "disabled, the right password: 403");
	T_EQ_INT(user_put_disabled(t->db, a.id, 0), ERR_OK, "enable");

	/* The throttle: max_failures wrong guesses lock the name, then
	 * even the right password is refused, unhashed. */
	for (i = 0; i < t->conf->login_max_failures; i++)
		(void)user_authenticate(t->db, t->conf, a.username, "wrong", &u,
		    NULL);
	T_EQ_INT(user_authenticate(t->db, t->conf, a.username, PW, &u, NULL),
	    ERR_TOO_MANY_ATTEMPTS, "locked after max_failures");
	T_OK(u.retry_after > 0, "with the time to wait");
	T_EQ_INT(user_authenticate(t->db, t->conf, a.email, PW, &u, NULL),
	    ERR_OK, "the account's other name is not locked");
	{
		int retry = 0;

		T_EQ_INT(user_check_password(t->db, t->conf, a.id, PW, &retry),
		    ERR_TOO_MANY_ATTEMPTS,
		    "a password check waits for "
		    "either name's lock");
		T_OK(retry > 0, "with the time to wait");
	}
	free(tcore_sql("DELETE FROM login_throttle"));
}

static void
test_passwords_and_profile(struct tcore *t)
{
	char mcf[PW_MCF_SIZE];
	struct user a, b, u;
	int retry = 0;

	tcore_user(t, "user-org", ROLE_USER, PW, &a);
	tcore_user(t, "user-org", ROLE_USER, PW, &b);
	T_EQ_INT(user_check_password(t->db, t->conf, a.id, "wrong", &retry),
	    ERR_INVALID_CREDENTIALS, "check a wrong password");
	T_EQ_INT(user_check_password(t->db, t->conf, 987654321, PW, &retry),
	    ERR_NOT_FOUND, "check nobody's");
	T_EQ_INT(user_set_password(t->db, t->conf, a.id, "new password 1"),
	    ERR_OK, "set");
	T_EQ_INT(user_check_password(t->db, t->conf, a.id, "new password 1",
		     &retry),
	    ERR_OK, "the new one holds");
	T_EQ_INT(user_check_password(t->db, t->conf, a.id, PW, &retry),
	    ERR_INVALID_CREDENTIALS, "the old one does not");
	T_EQ_INT(user_hash_password(t->conf, "x", mcf, sizeof(mcf)), ERR_OK,
	    "hash");
	T_EQ_INT(user_put_password(t->db, 987654321, mcf), ERR_NOT_FOUND,
	    "put for nobody");

	T_EQ_INT(user_update_profile(t->db, a.id, "New Name", NULL, &u), ERR_OK,
	    "a new name");
	T_EQ_STR(u.name, "New Name", "reloaded");
	T_EQ_STR(u.email, a.email, "the email unchanged");
	T_EQ_INT(user_update_profile(t->db, a.id, NULL, b.email, &u),
	    ERR_EMAIL_TAKEN, "another's email");
	T_EQ_INT(user_put_login(t->db, a.id, 1234567), ERR_OK, "sign-in time");
	T_EQ_INT(user_get(t->db, a.id, &u), ERR_OK, "get");
	T_EQ_INT(u.last_login_at, 1234567, "stored");
}

struct seen {
	int n;
	int64_t last;
	int ordered;
};

static void
count_user(const struct user *u, void *arg)
{
	struct seen *s = arg;

	s->ordered = s->ordered && u->id > s->last;
	s->last = u->id;
	s->n++;
}

static void
test_lists(struct tcore *t)
{
	char pat[64];
	struct seen s;
	struct user a, b, u;
	int64_t total = 0;

	tcore_user(t, "list-org", ROLE_ADMIN, PW, &a);
	tcore_user(t, "list-org", ROLE_USER, PW, &b);
	tcore_user(t, "list-other", ROLE_USER, PW, &u);
	(void)user_put_disabled(t->db, b.id, 1);
	memset(&s, 0, sizeof(s));
	s.ordered = 1;
	T_EQ_INT(user_list(t->db, a.org_id, -1, NULL, 10, 0, &total, count_user,
		     &s),
	    ERR_OK, "list an organization");
	T_OK(total == 2 && s.n == 2 && s.ordered, "its two users, by id");
	memset(&s, 0, sizeof(s));
	T_EQ_INT(user_list(t->db, a.org_id, 1, "", 10, 0, &total, count_user,
		     &s),
	    ERR_OK, "list the disabled");
	T_OK(total == 1 && s.n == 1 && s.last == b.id, "only b");
	memset(&s, 0, sizeof(s));
	T_EQ_INT(user_list(t->db, a.org_id, -1, b.username, 10, 0, &total,
		     count_user, &s),
	    ERR_OK, "search");
	T_OK(total == 1 && s.last == b.id, "finds b by its username");
	memset(&s, 0, sizeof(s));
	T_EQ_INT(user_list(t->db, a.org_id, -1, NULL, 1, 1, &total, count_user,
		     &s),
	    ERR_OK, "a page");
	T_OK(total == 2 && s.n == 1 && s.last == b.id, "the second user");
	T_EQ_INT(user_get_in(t->db, a.org_id, u.id, &u), ERR_NOT_FOUND,
	    "another organization's user is not found");
	T_EQ_INT(user_get_in(t->db, a.org_id, b.id, &u), ERR_OK, "its own is");
	memset(&s, 0, sizeof(s));
	T_EQ_INT(user_foreach(t->db, "list-org", count_user, &s), ERR_OK,
	    "foreach of an organization");
	T_EQ_INT(s.n, 2, "its users");

	T_EQ_INT(user_like_pattern("A%b_c\\", pat, sizeof(pat)), 0, "pattern");
	T_EQ_STR(pat, "%a\\%b\\_c\\\\%", "lower-cased and escaped");
	T_EQ_INT(user_like_pattern("", pat, sizeof(pat)), 0, "empty");
	T_EQ_STR(pat, "", "matches all");
	T_EQ_INT(user_like_pattern("abcdef", pat, 6), -1, "too long");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_insert_and_find(&t);
	test_authenticate(&t);
	test_passwords_and_profile(&t);
	test_lists(&t);
	tcore_close(&t);
	return T_DONE();
}
