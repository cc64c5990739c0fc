/*
 * org.c: organizations, first-run setup and registration.
 */
#include <string.h>
#include <time.h>

#include "log.h"
#include "org.h"
#include "pw.h"
#include "tok.h"

enum err
org_insert(struct db *db, const char *name, const char *description,
    int64_t *id)
{
	struct db_arg a[] = {
		DB_STR(name), DB_STR(description), DB_INT((int64_t)time(NULL))
	};
	uint64_t newid = 0;

	switch (db_exec(db, STMT_ORG_INSERT, a, 3, NULL, &newid)) {
	case DB_OK:
		*id = (int64_t)newid;
		return ERR_OK;
	case DB_DUP:
		return ERR_ORG_TAKEN;
	default:
		return ERR_DB;
	}
}

enum err
org_find(struct db *db, const char *name, int64_t *id)
{
	struct db_arg a[] = { DB_STR(name) };
	struct db_rows *r = NULL;
	enum err e = ERR_NOT_FOUND;

	if (db_query(db, STMT_ORG_BY_NAME, a, 1, &r) != DB_OK)
		return ERR_DB;
	if (r->nrows == 1) {
		*id = db_int(r, 0, 0);
		e = ERR_OK;
	}
	db_rows_free(r);
	return e;
}

int
org_setup_required(struct db *db)
{
	struct db_rows *r = NULL;
	int req;

	if (db_query(db, STMT_USER_COUNT, NULL, 0, &r) != DB_OK)
		return -1;
	req = db_int(r, 0, 0) == 0;
	db_rows_free(r);
	return req;
}

enum err
org_register(struct db *db, const struct conf *conf, int setup,
    const char *org, int create_org, const char *username, const char *email,
    const char *name, const char *password, enum role role, int64_t *uid)
{
	char mcf[PW_MCF_SIZE];
	int64_t oid = 0;
	enum err e;

	if (setup) {
		int req = org_setup_required(db);

		if (req == -1)
			return ERR_DB;
		if (req == 0)
			return ERR_SETUP_DONE;
	}
	/* Hash before the transaction: no lock is held for its cost. */
	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) !=
	    ERR_OK)
		return e;
	if (db_begin(db) != DB_OK) {
		e = ERR_DB;
		goto done;
	}
	if (setup) {
		/* Two racing setups: the second waits on this key, then
		 * finds it taken. */
		struct db_arg a[] = { DB_STR("setup"), DB_STR("done") };
		enum db_rc rc = db_exec(db, STMT_META_INSERT, a, 2, NULL, NULL);

		if (rc != DB_OK) {
			e = rc == DB_DUP ? ERR_SETUP_DONE : ERR_DB;
			goto rollback;
		}
		if (org_setup_required(db) != 1) {
			e = ERR_SETUP_DONE;
			goto rollback;
		}
	}
	if (create_org)
		e = org_insert(db, org, "", &oid);
	else if ((e = org_find(db, org, &oid)) == ERR_NOT_FOUND)
		e = org_insert(db, org, "", &oid);
	if (e != ERR_OK)
		goto rollback;
	if ((e = user_insert(db, oid, username, email, name, mcf, role,
	    uid)) != ERR_OK)
		goto rollback;
	if (db_commit(db) != DB_OK)
		e = ERR_DB;
	goto done;
rollback:
	db_rollback(db);
done:
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}
