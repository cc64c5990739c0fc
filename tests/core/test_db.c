/*
 * test_db.c: db.c against a real MariaDB: statements and their answers
 * (rows, NULL cells, duplicate and foreign keys), the migrations, and
 * the transaction rules: a failed statement breaks its transaction (every
 * later statement fails unsent, the commit fails, nothing is stored), a
 * duplicate key does not, and a transaction never goes on over a new
 * connection, while a read outside one survives a killed connection.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "t.h"
#include "tcore.h"

static enum db_rc
org_insert_raw(struct db *db, const char *name, uint64_t *id)
{
	struct db_arg a[] = { DB_STR(name), DB_STR("test"),
		DB_INT((int64_t)time(NULL)) };

	return db_exec(db, STMT_ORG_INSERT, a, 3, NULL, id);
}

static long long
orgs_named(const char *name)
{
	return tcore_sqlint(
	    "SELECT COUNT(*) FROM organizations WHERE "
	    "name = '%s'",
	    name);
}

/* Kill every connection of latch's database user (ours), and give the
 * server a moment to close it. */
static void
kill_ours(void)
{
	free(tcore_sql("KILL CONNECTION USER 'latch'@'localhost'"));
	(void)usleep(200 * 1000);
}

static void
test_rows(struct tcore *t)
{
	char a[64], b[64];
	struct db_rows *r = NULL;
	uint64_t id = 0, id2 = 0;

	(void)snprintf(a, sizeof(a), "%s", tcore_uniq("db-a"));
	(void)snprintf(b, sizeof(b), "%s", tcore_uniq("db-b"));
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_OK, "insert");
	T_OK(id > 0, "insert id");
	T_EQ_INT(org_insert_raw(t->db, b, &id2), DB_OK, "another insert");
	T_EQ_INT(id2, id + 1, "insert ids count up");
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_DUP,
	    "a taken name is "
	    "DB_DUP");
	T_EQ_STR(db_dup_key(t->db), "uq_org_name", "the key it violated");
	{
		struct db_arg q[] = { DB_INT(id2) };

		T_EQ_INT(db_query(t->db, STMT_ORG_GET, q, 1, &r), DB_OK,
		    "select");
		T_EQ_INT(r->nrows, 1, "one row");
		T_EQ_INT(r->ncols, COL_ORG__MAX, "the enum's columns");
		T_EQ_INT(db_int(r, 0, COL_ORG_ID), id2, "an integer cell");
		T_EQ_STR(db_cell(r, 0, COL_ORG_NAME), b, "a text cell");
		T_EQ_INT(db_len(r, 0, COL_ORG_NAME), strlen(b), "its length");
		T_EQ_INT(db_int(r, 0, COL_ORG_USERS), 0, "a count");
		T_OK(db_cell(r, 0, COL_ORG__MAX) == NULL &&
			db_cell(r, 1, COL_ORG_ID) == NULL &&
			db_int(r, 5, COL_ORG_ID) == 0,
		    "outside the rows: NULL, 0");
		db_rows_free(r);
	}
	{
		struct db_arg q[] = { DB_INT(987654321) };

		T_EQ_INT(db_query(t->db, STMT_ORG_GET, q, 1, &r), DB_OK,
		    "select of nothing");
		T_EQ_INT(r->nrows, 0, "no row");
		db_rows_free(r);
	}
	{
		/* A user of an organization that does not exist. */
		struct db_arg q[] = {
			DB_INT(987654321),
			DB_STR(tcore_uniq("fk")),
			DB_STR("fk@example.test"),
			DB_STR("fk@example.test"),
			DB_STR(""),
			DB_STR("x"),
			DB_STR("user"),
			DB_INT(1),
			DB_INT(1),
		};

		T_EQ_INT(db_exec(t->db, STMT_USER_INSERT, q, 9, NULL, NULL),
		    DB_FK, "a missing parent row is DB_FK");
	}
	db_rows_free(NULL);
}

static void
test_transactions(struct tcore *t)
{
	char a[64], b[64], c[64];
	uint64_t id;

	(void)snprintf(a, sizeof(a), "%s", tcore_uniq("tx-a"));
	(void)snprintf(b, sizeof(b), "%s", tcore_uniq("tx-b"));
	(void)snprintf(c, sizeof(c), "%s", tcore_uniq("tx-c"));

	T_EQ_INT(db_begin(t->db), DB_OK, "begin");
	T_EQ_INT(db_begin(t->db), DB_ERR, "no begin inside a transaction");
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_OK, "insert inside");
	db_rollback(t->db);
	T_EQ_INT(orgs_named(a), 0, "a rollback stores nothing");

	T_EQ_INT(db_begin(t->db), DB_OK, "begin again");
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_OK, "insert");
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_DUP, "a duplicate");
	T_EQ_INT(org_insert_raw(t->db, b, &id), DB_OK,
	    "a duplicate key leaves the transaction open");
	T_EQ_INT(db_commit(t->db), DB_OK, "commit");
	T_OK(orgs_named(a) == 1 && orgs_named(b) == 1, "both are stored");

	/* A statement the server refuses breaks the transaction. */
	tcore_refuse("organizations", "INSERT", "NEW.name LIKE 'tx-c%'");
	T_EQ_INT(db_begin(t->db), DB_OK, "begin a transaction to break");
	(void)snprintf(a, sizeof(a), "%s", tcore_uniq("tx-a"));
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_OK, "its first insert");
	T_EQ_INT(org_insert_raw(t->db, c, &id), DB_ERR, "a refused insert");
	T_EQ_INT(org_insert_raw(t->db, b, &id), DB_ERR,
	    "after it, nothing is sent");
	T_EQ_INT(db_commit(t->db), DB_ERR, "the commit fails");
	/* (The trigger goes once no transaction holds the table.) */
	tcore_allow();
	T_OK(orgs_named(a) == 0 && orgs_named(c) == 0,
	    "a broken transaction stores nothing");
	T_EQ_INT(org_insert_raw(t->db, c, &id), DB_OK,
	    "outside a transaction again, statements run");
	T_EQ_INT(db_err(DB_OK), ERR_OK, "db_err: ok");
	T_EQ_INT(db_err(DB_UNKNOWN), ERR_UNKNOWN, "db_err: unknown");
	T_EQ_INT(db_err(DB_DUP), ERR_DB, "db_err: the rest");
}

static void
test_lost_connections(struct tcore *t)
{
	char a[64];
	struct db_rows *r = NULL;
	uint64_t id;

	kill_ours();
	T_OK(db_ping(t->db),
	    "a read after the connection was killed is "
	    "sent again on a new one");
	kill_ours();
	(void)snprintf(a, sizeof(a), "%s", tcore_uniq("lost-a"));
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_OK,
	    "a write on an idle "
	    "connection the server closed goes to a new one");
	T_EQ_INT(orgs_named(a), 1, "and is stored once");

	T_EQ_INT(db_begin(t->db), DB_OK, "begin");
	(void)snprintf(a, sizeof(a), "%s", tcore_uniq("lost-b"));
	T_EQ_INT(org_insert_raw(t->db, a, &id), DB_OK, "insert");
	kill_ours();
	T_EQ_INT(db_query(t->db, STMT_PING, NULL, 0, &r), DB_ERR,
	    "inside a transaction, a lost connection is an error");
	db_rows_free(r);
	T_EQ_INT(org_insert_raw(t->db, tcore_uniq("lost-c"), &id), DB_ERR,
	    "the transaction does not go on over a new connection");
	T_EQ_INT(db_commit(t->db), DB_ERR, "its commit fails");
	T_EQ_INT(orgs_named(a), 0, "nothing of it is stored");
	T_OK(db_ping(t->db), "then the next statement reconnects");
}

static void
test_migrations(struct tcore *t)
{
	struct db *raw;
	int from = -1, to = -1;

	if (!T_OK((raw = db_open_raw(t->conf)) != NULL, "raw connection"))
		return;
	T_EQ_INT(db_migrate(raw, &from, &to), 0, "migrate again");
	T_OK(from > 0 && from == to, "nothing left to apply");
	T_EQ_INT(tcore_sqlint("SELECT MAX(version) FROM schema_version"), to,
	    "the recorded version");
	db_close(raw);
}

int
main(void)
{
	struct tcore t;

	tcore_open(&t);
	test_rows(&t);
	test_transactions(&t);
	test_lost_connections(&t);
	test_migrations(&t);
	tcore_close(&t);
	return T_DONE();
}
