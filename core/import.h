/*
 * import.h: accounts brought over from the systems latch replaces, with
 * their password hashes (latchctl import).
 *
 * Two formats are read: latch's own JSON Lines (one account per line,
 * any organization) and DUMB's /config/users.json (its users, into one
 * organization).  A record is checked whole before anything is written:
 * a malformed one, an unknown hash kind or costs outside pw.h's bounds
 * refuse that record, with the reason, and the import goes on.  The
 * accounts are then written in batches, each batch one transaction in
 * which every account comes with its audit entry ("user.import", by no
 * user: the import), so a failure loses a whole batch or nothing; an
 * account that exists is left alone (or, asked to, updated), never
 * duplicated, so an interrupted import simply runs again.
 */
#ifndef LATCH_IMPORT_H
#define LATCH_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "db.h"
#include "err.h"
#include "pw.h"

#define IMPORT_LINE_MAX 16384 /* bytes of one JSON Lines record */
#define IMPORT_WHY_SIZE 160

/* One account to import. */
struct import_row {
	char org[513];
	char username[65];
	char email[255];
	char name[513];
	enum role role;
	int disabled;
	char hash[PW_HASH_MAX + 1];
	enum pw_kind kind;
	int64_t created_at; /* UNIX seconds; 0: now */
};

/*
 * Parse the JSON Lines record of n bytes at s (no newline) into *r.
 * Members: "organization", "username", "email", "password_hash"
 * (required); "name" (default ""), "role" ("user", "admin",
 * "superadmin"; default "user"), "disabled" (true/false; default false),
 * "created_at" (UNIX seconds, or RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ";
 * default: the time of the import).  Any other member, a member given
 * twice, a wrong type or an invalid value refuses it.  ERR_OK, or
 * ERR_INVALID_FIELD with why (never quoting the hash).
 */
enum err import_parse_jsonl(const char *s, size_t n, struct import_row *r,
    char *why, size_t whysz);

/* How DUMB's users.json is read, and what it said. */
struct import_dumb {
	const char *org;          /* the organization to import into */
	const char *email_domain; /* each user's email: username@domain */
	int role;                 /* enum role, or -1: the first user
	                             an admin, the others users */
	/* read from the file: */
	long version;
	int auth_enabled; /* 1, 0, or -1 if absent */
	size_t users;     /* entries of its "users" array */
};

/*
 * Parse the text of DUMB's users.json (n bytes at s): {"version": 2,
 * "users": [{"username", "hashed_password", "disabled"}, ...],
 * "jwt_secret", "auth_enabled", "setup_skipped"}.  Its jwt_secret is
 * never read.  For each user, in order, fn gets its index and either
 * the row (why NULL) or NULL and why it is refused.  ERR_OK, or
 * ERR_INVALID_JSON / ERR_INVALID_FIELD for the file as a whole (nothing
 * was passed to fn), with why; ERR_NOMEM.
 */
enum err import_parse_dumb(const char *s, size_t n, struct import_dumb *d,
    void (
	*fn)(size_t i, const struct import_row *r, const char *why, void *arg),
    void *arg, char *why, size_t whysz);

/* What became of one account. */
enum import_outcome {
	IMPORT_CREATED,
	IMPORT_UPDATED,   /* existed; changed (update set) */
	IMPORT_UNCHANGED, /* existed; as imported (update set) */
	IMPORT_EXISTS,    /* existed; left alone */
	IMPORT_REFUSED,   /* the record, or a conflict */
	IMPORT__MAX
};

/* "created", "updated", "unchanged", "exists", "refused". */
const char *import_outcome_name(enum import_outcome o);

/*
 * An import under way.  Set the first five members, zero the rest.  The
 * caller commits (import_commit()) every so many accounts: a batch.
 */
struct import_run {
	struct db *db;
	const struct actor *a; /* the operator: a superadmin */
	const char *source;    /* "jsonl", "dumb": the audit detail */
	int update;            /* update accounts that exist */
	int dry_run;           /* one transaction, rolled back */
	/* kept by import.c: */
	int open;       /* a transaction is open */
	size_t pending; /* accounts written in it */
	int64_t org_id; /* org_name's id, 0: none yet */
	char org_name[513];
	int64_t w_id;                 /* the last account written, and its */
	char w_hash[PW_HASH_MAX + 1]; /* hash: the batch's witness */
};

/*
 * Import r: its organization found or created ("org.create"), the
 * account created ("user.import"), or if its username exists, left
 * alone or with run->update brought in line ("user.update"): email,
 * name, disabled, and the hash while the account has not signed in to
 * latch (after that, the hash latch made is the password's).  A role is
 * never changed.  An account of another organization by that username,
 * or an email that is another account's, is IMPORT_REFUSED.  *o says
 * which, why adds a few words.  Inside the batch's transaction,
 * begun here if none is open.  ERR_OK; ERR_FORBIDDEN (the caller is not a superadmin);
 * ERR_DB or ERR_UNKNOWN: the open batch is lost (or its fate unknown)
 * and the import must stop.
 */
enum err import_put(struct import_run *run, const struct import_row *r,
    enum import_outcome *o, char *why, size_t whysz);

/*
 * Commit the open batch: what import_put() reported since the last
 * commit is stored when this returns ERR_OK.  A dry run keeps its one
 * transaction open until the last commit (last set), which rolls it
 * back.  A lost COMMIT is looked up by the batch's last account.
 * ERR_OK, ERR_DB (not stored), ERR_UNKNOWN.
 */
enum err import_commit(struct import_run *run, int last);

/* The rows of the open batch not stored: roll it back. */
void import_abort(struct import_run *run);

/* Rows written since the last commit (those import_commit() stores). */
size_t import_pending(const struct import_run *run);

#endif
