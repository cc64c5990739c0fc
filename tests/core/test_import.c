/*
 * test_import.c: import.c: who may import (the operator, as a
 * superadmin), an account created with its event by nobody (the
 * import), left alone or brought in line when it exists, a dry run that
 * stores nothing, a batch that fails stored not at all; and the JSON
 * Lines record's checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "t.h"
#include "tcore.h"

#define HASH "$2b$04$OIVzebMpWol/FSD9WFE1Jug6A5AeWh0PVCMgQU95hnGAO6NyK0PD6"

static void
row(struct import_row *r, const char *org, const char *username)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->org, sizeof(r->org), "%s", org);
	snprintf(r->username, sizeof(r->username), "%s", username);
	snprintf(r->email, sizeof(r->email), "%s@import.example", username);
	snprintf(r->hash, sizeof(r->hash), "%s", HASH);
	r->kind = PW_BCRYPT;
}

static void
test_put(struct tcore *tc)
{
	struct actor op = { 0, 0, ROLE_SUPERADMIN, "", 0 };
	struct actor admin = { 0, 0, ROLE_ADMIN, "", 0 };
	struct import_run run;
	struct import_row r;
	enum import_outcome o;
	char why[IMPORT_WHY_SIZE], *h;
	const char *org = tcore_uniq("Imported ");
	const char *name = tcore_uniq("imp");

	memset(&run, 0, sizeof(run));
	run.db = tc->db;
	run.a = &admin;
	run.source = "jsonl";
	row(&r, org, name);
	T_EQ_INT(import_put(&run, &r, &o, why, sizeof(why)), ERR_FORBIDDEN,
	    "an admin may not import");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM users WHERE username = "
			      "'%s'",
		     name),
	    0, "nothing written for an admin");

	run.a = &op;
	T_EQ_INT(import_put(&run, &r, &o, why, sizeof(why)), ERR_OK,
	    "the operator imports");
	T_EQ_INT(o, IMPORT_CREATED, "created");
	T_EQ_INT(import_pending(&run), 1, "one account in the batch");
	T_EQ_INT(import_commit(&run, 1), ERR_OK, "committed");
	h = tcore_sql("SELECT password_hash FROM users WHERE username = '%s'",
	    name);
	T_EQ_STR(h != NULL ? h : "(none)", HASH, "the hash as it came");
	free(h);
	T_EQ_INT(tcore_sqlint(
		     "SELECT COUNT(*) FROM audit_events a JOIN "
		     "users u ON u.id = a.target_id WHERE a.event = "
		     "'user.import' AND "
		     "a.actor_id IS NULL AND a.detail = 'jsonl, bcrypt' AND "
		     "u.username = '%s'",
		     name),
	    1, "its event, by the import");

	T_EQ_INT(import_put(&run, &r, &o, why, sizeof(why)), ERR_OK, "again");
	T_EQ_INT(o, IMPORT_EXISTS, "exists the second time");
	run.update = 1;
	T_EQ_INT(import_put(&run, &r, &o, why, sizeof(why)), ERR_OK,
	    "again with update");
	T_EQ_INT(o, IMPORT_UNCHANGED, "unchanged");
	snprintf(r.name, sizeof(r.name), "Renamed");
	T_EQ_INT(import_put(&run, &r, &o, why, sizeof(why)), ERR_OK,
	    "a new name");
	T_EQ_INT(o, IMPORT_UPDATED, "updated");
	/* A batch that is not committed is not stored. */
	import_abort(&run);
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM users WHERE username = "
			      "'%s' AND name = ''",
		     name),
	    1, "an aborted batch changed nothing");

	/* A dry run: everything in one transaction, rolled back. */
	run.update = 0;
	run.dry_run = 1;
	row(&r, tcore_uniq("Dry "), tcore_uniq("dry"));
	T_EQ_INT(import_put(&run, &r, &o, why, sizeof(why)), ERR_OK, "dry");
	T_EQ_INT(o, IMPORT_CREATED, "dry: would be created");
	T_EQ_INT(import_commit(&run, 0), ERR_OK, "dry: a batch");
	T_EQ_INT(import_pending(&run), 1, "dry: still open");
	T_EQ_INT(import_commit(&run, 1), ERR_OK, "dry: the end");
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM users WHERE username = "
			      "'%s'",
		     r.username),
	    0, "dry: nothing stored");

	/* The database refuses the event: the batch fails whole. */
	run.dry_run = 0;
	row(&r, org, tcore_uniq("fail"));
	tcore_refuse("audit_events", "INSERT", "NEW.event = 'user.import'");
	T_EQ_INT(import_put(&run, &r, &o, why, sizeof(why)), ERR_DB,
	    "an event that cannot be written stops the import");
	import_abort(&run);
	tcore_allow();
	T_EQ_INT(tcore_sqlint("SELECT COUNT(*) FROM users WHERE username = "
			      "'%s'",
		     r.username),
	    0, "no account without its event");
}

static void
test_parse(void)
{
	/* clang-format off */
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "{\"organization\": \"O\", \"username\": \"abc\", \"email\": "
		  "\"a@b.c\", \"password_hash\": \"" HASH "\", \"created_at\": "
		  "\"2019-02-29T00:00:00Z\"}", "created_at" },
		{ "{\"organization\": \"O\", \"username\": \"abc\", \"email\": "
		  "\"a@b.c\", \"password_hash\": \"" HASH "\", \"created_at\": "
		  "1.5}", "created_at" },
		{ "{\"organization\": \"\", \"username\": \"abc\", \"email\": "
		  "\"a@b.c\", \"password_hash\": \"" HASH "\"}", "organization" },
		{ "{\"organization\": \"O\", \"username\": \"abc\", \"email\": "
		  "\"a@b.c\", \"password_hash\": 1}", "password_hash" },
		{ "{\"organization\": \"O\", \"username\": \"abc\", \"email\": "
		  "\"a@b.c\", \"password_hash\": \"" HASH "\", \"disabled\": 0}",
		  "disabled" },
	};
	/* clang-format on */
	struct import_row r;
	char why[IMPORT_WHY_SIZE], name[64];
	const char *ok =
	    "{\"organization\": \"O\", \"username\": \"abc\", "
	    "\"email\": \"a@b.c\", \"password_hash\": \"" HASH
	    "\", "
	    "\"created_at\": \"2020-02-29T23:59:59Z\", \"role\": \"admin\"}";
	size_t i;

	T_EQ_INT(import_parse_jsonl(ok, strlen(ok), &r, why, sizeof(why)),
	    ERR_OK, "a good record");
	T_EQ_INT(r.created_at, 1583020799, "its created_at");
	T_EQ_INT(r.role, ROLE_ADMIN, "its role");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "bad record %zu", i);
		T_EQ_INT(import_parse_jsonl(bad[i].line, strlen(bad[i].line),
			     &r, why, sizeof(why)),
		    ERR_INVALID_FIELD, name);
		T_OK(strstr(why, bad[i].why) != NULL, name);
		T_OK(strchr(why, '$') == NULL, "no hash in the reason");
	}
}

int
main(void)
{
	struct tcore tc;

	tcore_open(&tc);
	test_put(&tc);
	test_parse();
	tcore_close(&tc);
	return T_DONE();
}
