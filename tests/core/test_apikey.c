/*
 * test_apikey.c: apikey.c: who may make keys (people, admins and up,
 * never a key), the role ceiling, the key's shape and what is stored,
 * checking a key (its hash, revocation, expiry, last use), revoking one
 * in its organization only, and keys revoked with their creator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "t.h"
#include "tcore.h"
#include "tok.h"

#define PW "correct horse battery"

static void
test_who_makes_keys(struct tcore *tc)
{
	struct user admin, user, sa;
	struct actor a, u, s, k;
	struct apikey key;
	char secret[TOK_STR_SIZE];

	tcore_user(tc, "Key Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "Key Org", ROLE_USER, PW, &user);
	tcore_user(tc, "Key Root", ROLE_SUPERADMIN, PW, &sa);
	a = tcore_actor(&admin);
	u = tcore_actor(&user);
	s = tcore_actor(&sa);
	k = a;
	k.user_id = 0;
	k.key_id = 1;
	T_EQ_INT(apikey_create(tc->db, &u, 0, "svc", ROLE_USER, 0, secret,
		     sizeof(secret), &key),
	    ERR_FORBIDDEN, "a user makes no key");
	T_EQ_INT(apikey_create(tc->db, &k, 0, "svc", ROLE_USER, 0, secret,
		     sizeof(secret), &key),
	    ERR_FORBIDDEN, "a key makes no key");
	T_EQ_INT(apikey_create(tc->db, &a, 0, "svc", ROLE_SUPERADMIN, 0, secret,
		     sizeof(secret), &key),
	    ERR_FORBIDDEN, "no superadmin key from an admin");
	T_EQ_INT(apikey_create(tc->db, &s, 0, "svc", ROLE_SUPERADMIN, 0, secret,
		     sizeof(secret), &key),
	    ERR_FORBIDDEN, "nor from a superadmin");
	T_EQ_INT(apikey_create(tc->db, &a, 0, "svc", ROLE_ADMIN,
		     (int64_t)time(NULL) - 1, secret, sizeof(secret), &key),
	    ERR_INVALID_FIELD, "an expiry in the past");
	T_EQ_INT(apikey_create(tc->db, &a, 0, "   ", ROLE_ADMIN, 0, secret,
		     sizeof(secret), &key),
	    ERR_INVALID_FIELD, "a blank name");
	T_EQ_INT(apikey_create(tc->db, &s, 987654321, "svc", ROLE_ADMIN, 0,
		     secret, sizeof(secret), &key),
	    ERR_NOT_FOUND, "an organization that does not exist");
	T_EQ_INT(apikey_create(tc->db, &a, sa.org_id, "svc", ROLE_ADMIN, 0,
		     secret, sizeof(secret), &key),
	    ERR_OK, "an admin makes one");
	T_EQ_INT(key.org_id, admin.org_id, "in its own organization");
	T_EQ_INT(key.created_by, admin.id, "made by it");
	T_EQ_INT(strlen(secret), TOK_APIKEY_LEN, "the key's length");
	T_OK(strncmp(secret, "latch_", 6) == 0, "its prefix");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM api_keys WHERE id = %lld "
			      "AND key_hash = UNHEX(SHA2('%s', 256))",
		     (long long)key.id, secret),
	    1, "stored as the SHA-256 of the whole key");
	T_EQ_INT(
	    tcore_sqlint(
		"SELECT COUNT(*) FROM audit_events WHERE "
		"event = 'api_key.create' AND target_id = %lld AND actor_id = "
		"%lld",
		(long long)key.id, (long long)admin.id),
	    1, "audited");
}

static void
test_check_and_revoke(struct tcore *tc)
{
	struct user admin, other;
	struct actor a, o;
	struct apikey key;
	struct principal p;
	char secret[TOK_STR_SIZE], bad[TOK_STR_SIZE];

	tcore_user(tc, "Check Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "Check Other", ROLE_ADMIN, PW, &other);
	a = tcore_actor(&admin);
	o = tcore_actor(&other);
	T_EQ_INT(apikey_create(tc->db, &a, 0, "checked", ROLE_ADMIN, 0, secret,
		     sizeof(secret), &key),
	    ERR_OK, "made");
	T_EQ_INT(apikey_authenticate(tc->db, secret, "192.0.2.1", &p), ERR_OK,
	    "checked");
	T_OK(p.key_id == key.id && p.org_id == admin.org_id &&
		p.role == ROLE_ADMIN && p.user_id == 0 &&
		strcmp(p.key_name, "checked") == 0,
	    "as its organization and role");
	T_OK(tcore_sqlint("SELECT last_used_at FROM api_keys WHERE id = %lld",
		 (long long)key.id) > 0,
	    "last use written");
	memcpy(bad, secret, sizeof(bad));
	bad[TOK_APIKEY_LEN - 2] = bad[TOK_APIKEY_LEN - 2] == 'A' ? 'B' : 'A';
	T_EQ_INT(apikey_authenticate(tc->db, bad, "", &p), ERR_INVALID_TOKEN,
	    "another secret for the same row");
	T_EQ_INT(apikey_revoke(tc->db, &o, 0, key.id), ERR_NOT_FOUND,
	    "another organization's admin cannot revoke it");
	T_EQ_INT(apikey_authenticate(tc->db, secret, "", &p), ERR_OK,
	    "still good");
	T_EQ_INT(apikey_revoke(tc->db, &a, 0, key.id), ERR_OK, "revoked");
	T_EQ_INT(apikey_authenticate(tc->db, secret, "192.0.2.1", &p),
	    ERR_SESSION_REVOKED, "refused once revoked");
	T_EQ_INT(apikey_revoke(tc->db, &a, 0, key.id), ERR_NOT_FOUND,
	    "revoking twice");
	T_EQ_INT(
	    tcore_sqlint("SELECT COUNT(*) FROM audit_events WHERE "
			 "event = 'api_key.refused' AND target_id = %lld AND "
			 "api_key_id = %lld",
		(long long)key.id, (long long)key.id),
	    1, "the refusal audited");

	T_EQ_INT(apikey_create(tc->db, &a, 0, "expiring", ROLE_USER,
		     (int64_t)time(NULL) + 3600, secret, sizeof(secret), &key),
	    ERR_OK, "made with an expiry");
	tcore_sql("UPDATE api_keys SET expires_at = %lld WHERE id = %lld",
	    (long long)time(NULL) - 1, (long long)key.id);
	T_EQ_INT(apikey_authenticate(tc->db, secret, "", &p), ERR_TOKEN_EXPIRED,
	    "refused once expired");
}

static void
test_revoked_with_the_creator(struct tcore *tc)
{
	struct user admin, maker;
	struct actor a, m;
	struct apikey k1, k2;
	struct principal p;
	char s1[TOK_STR_SIZE], s2[TOK_STR_SIZE];

	tcore_user(tc, "Creator Org", ROLE_ADMIN, PW, &admin);
	tcore_user(tc, "Creator Org", ROLE_ADMIN, PW, &maker);
	a = tcore_actor(&admin);
	m = tcore_actor(&maker);
	T_EQ_INT(apikey_create(tc->db, &m, 0, "one", ROLE_ADMIN, 0, s1,
		     sizeof(s1), &k1),
	    ERR_OK, "one");
	T_EQ_INT(apikey_create(tc->db, &m, 0, "two", ROLE_USER, 0, s2,
		     sizeof(s2), &k2),
	    ERR_OK, "two");
	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	T_EQ_INT(apikey_revoke_user(tc->db, &a, maker.id, "creator disabled"),
	    ERR_OK, "revoked with their creator");
	T_EQ_INT(db_commit(tc->db), DB_OK, "commit");
	T_EQ_INT(apikey_authenticate(tc->db, s1, "", &p), ERR_SESSION_REVOKED,
	    "the first");
	T_EQ_INT(apikey_authenticate(tc->db, s2, "", &p), ERR_SESSION_REVOKED,
	    "the second");
	T_EQ_INT(
	    tcore_sqlint(
		"SELECT COUNT(*) FROM audit_events WHERE "
		"event = 'api_key.revoke' AND detail = 'creator disabled' AND "
		"actor_id = %lld AND target_id IN (%lld, %lld)",
		(long long)admin.id, (long long)k1.id, (long long)k2.id),
	    2, "each audited");
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_who_makes_keys(&t);
	test_check_and_revoke(&t);
	test_revoked_with_the_creator(&t);
	tcore_close(&t);
	return T_DONE();
}
