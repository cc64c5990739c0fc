/*
 * tcore.h: the core tests' harness.  Each tests/core/test_<module>.c is a
 * program that drives core/ directly against a scratch MariaDB database
 * of its own, with no web server: a change to core/user.c is tested where
 * it is made.  Checks are t.h's (tests/unit/t.h), one line each.
 *
 * tests/run.py starts a private MariaDB (tools/stack.py's), creates an
 * empty database for each program and writes its config, then runs the
 * program with
 *
 *	LATCH_TEST_CONFIG   the config: [database] names the scratch
 *	                    database, [mail] spool_dir a spool of its own;
 *	                    scrypt is cheap, as in the integration tests
 *	LATCH_TEST_SOCKET   MariaDB's socket, and
 *	LATCH_TEST_ADMIN    its administrator, for tcore_sql()
 *	LATCH_TEST_DB       the scratch database's name
 *
 * tcore_open() loads the config, applies the migrations (db_migrate())
 * and opens the connection a worker would.  tcore_sql() runs one SQL
 * statement as the administrator, through the mariadb client: for what
 * the code under test has no statement for (making a token expire), for
 * looking at what it stored, and for triggers that make one of its
 * statements fail.  Any failure of the harness itself ends the program
 * with status 1 and a message, which tests/run.py counts as a failure.
 */
#ifndef LATCH_TCORE_H
#define LATCH_TCORE_H

#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "user.h"

struct tcore {
	struct conf *conf; /* owned; tests may change its values */
	struct db *db;     /* owned */
};

/* Load the config, migrate the scratch database, connect; exits on a
 * failure. */
void tcore_open(struct tcore *t);
/* Close and free.  Accepts a zeroed t. */
void tcore_close(struct tcore *t);

/*
 * Run one SQL statement (printf format) as the administrator on the
 * scratch database.  Returns the first column of the first row of its
 * result (caller frees), or NULL when it returned no row (or NULL).
 * Exits if the client fails.
 */
char *tcore_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* tcore_sql() read as an integer; 0 for no row. */
long long tcore_sqlint(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * A trigger that makes every `event` ("INSERT", "UPDATE", "DELETE") of a
 * row of table for which the SQL condition cond (over NEW and OLD) holds
 * fail with SQLSTATE 45000, until tcore_allow(): one statement of
 * latch's that the database refuses.
 */
void tcore_refuse(const char *table, const char *event, const char *cond);
/* Drop the trigger of tcore_refuse(). */
void tcore_allow(void);

/* prefix followed by a number unique in this program, into a static
 * buffer (one of 8, reused in turn). */
const char *tcore_uniq(const char *prefix);

/*
 * A new account of role in organization org (made if missing), with
 * password as latchctl create-user makes it; *u is the account.  Exits
 * on a failure.
 */
void tcore_user(struct tcore *t, const char *org, enum role role,
    const char *password, struct user *u);

/* u as the caller of a core function, from 192.0.2.1. */
struct actor tcore_actor(const struct user *u);

/* How many files the spool's directory sub ("new", "hold") holds. */
int tcore_spooled(const struct tcore *t, const char *sub);

#endif
