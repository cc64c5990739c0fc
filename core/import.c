/*
 * import.c: accounts brought over with their password hashes: the two
 * formats' records checked (import_parse_jsonl(), import_parse_dumb()),
 * then written in batches (import_put(), import_commit()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "import.h"
#include "jsonv.h"
#include "log.h"
#include "org.h"
#include "session.h"
#include "str.h"
#include "tok.h"
#include "user.h"
#include "valid.h"

#define IMPORT_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define DUMB_VERSION 2
#define DUMB_FILE_DEPTH 3 /* {"users": [{...}]} */

static const char *const outcome_names[IMPORT__MAX] = {
	[IMPORT_CREATED] = "created",
	[IMPORT_UPDATED] = "updated",
	[IMPORT_UNCHANGED] = "unchanged",
	[IMPORT_EXISTS] = "exists",
	[IMPORT_REFUSED] = "refused",
};
_Static_assert(sizeof(outcome_names) / sizeof(outcome_names[0]) == IMPORT__MAX,
    "a name for each outcome");

const char *
import_outcome_name(enum import_outcome o)
{
	return (o >= 0 && o < IMPORT__MAX) ? outcome_names[o] : "unknown";
}

/* The members of a JSON Lines record. */
enum jl_member {
	JL_ORG,
	JL_USERNAME,
	JL_EMAIL,
	JL_NAME,
	JL_ROLE,
	JL_DISABLED,
	JL_HASH,
	JL_CREATED,
	JL__MAX
};

static const struct {
	const char *key;
	int required;
} jl_members[JL__MAX] = {
	[JL_ORG] = { "organization", 1 },
	[JL_USERNAME] = { "username", 1 },
	[JL_EMAIL] = { "email", 1 },
	[JL_NAME] = { "name", 0 },
	[JL_ROLE] = { "role", 0 },
	[JL_DISABLED] = { "disabled", 0 },
	[JL_HASH] = { "password_hash", 1 },
	[JL_CREATED] = { "created_at", 0 },
};
_Static_assert(sizeof(jl_members) / sizeof(jl_members[0]) == JL__MAX,
    "an entry for each member");

/* Say why into why (whysz bytes); returns ERR_INVALID_FIELD. */
static enum err __attribute__((format(printf, 3, 4)))
refuse(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return ERR_INVALID_FIELD;
}

/*
 * A member name fit to be quoted back: a short run of [A-Za-z0-9_.-],
 * so that no value (a hash pasted where a key goes) is ever printed.
 */
static const char *
key_quote(const char *k)
{
	size_t n = strspn(k,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-");

	return n > 0 && n <= 32 && k[n] == '\0' ? k : "(not shown)";
}

/* A string member's value into out: "" if v is not a string. */
static int
get_str(struct json_object *v, char *out, size_t outsz)
{
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= outsz)
		return -1;
	memcpy(out, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" into *t.  0, or -1. */
static int
parse_rfc3339(const char *s, int64_t *t)
{
	struct tm tm, back;
	time_t v;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z' ||
	    strspn(s, "0123456789-T:Z") != 20 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 20)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	back = tm;
	if ((v = timegm(&tm)) == (time_t)-1 || v < 0)
		return -1;
	/* timegm() normalizes 02-30 into March: refuse what moved. */
	if (tm.tm_year != back.tm_year || tm.tm_mon != back.tm_mon ||
	    tm.tm_mday != back.tm_mday || tm.tm_hour != back.tm_hour ||
	    tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return -1;
	*t = (int64_t)v;
	return 0;
}

/* The checks every record passes, whichever format it came in. */
static enum err
row_check(struct import_row *r, char *why, size_t whysz)
{
	const char *hw;

	if (!valid_org_name(r->org))
		return refuse(why, whysz,
		    "organization: 1-128 characters, "
		    "no control characters");
	if (!valid_username(r->username))
		return refuse(why, whysz, "username: 3-64 of A-Za-z0-9._-");
	if (!valid_email(r->email))
		return refuse(why, whysz, "email: not an email address");
	if (!valid_name(r->name))
		return refuse(why, whysz,
		    "name: at most 128 characters, no "
		    "control characters");
	if (pw_kind_of(r->hash, &r->kind, &hw) == -1)
		return refuse(why, whysz, "password hash: %s", hw);
	return ERR_OK;
}

/* The members of a record object o into *r. */
static enum err
jsonl_fields(struct json_object *o, struct import_row *r, char *why,
    size_t whysz)
{
	struct json_object *m[JL__MAX];
	const char *s;
	int i, k;

	memset(m, 0, sizeof(m));
	json_object_object_foreach(o, key, val)
	{
		for (i = 0; i < JL__MAX; i++)
			if (strcmp(key, jl_members[i].key) == 0)
				break;
		if (i == JL__MAX)
			return refuse(why, whysz, "unknown member %s",
			    key_quote(key));
		m[i] = val;
	}
	for (i = 0; i < JL__MAX; i++)
		if (jl_members[i].required && m[i] == NULL)
			return refuse(why, whysz, "missing member %s",
			    jl_members[i].key);
	if (get_str(m[JL_ORG], r->org, sizeof(r->org)) == -1 ||
	    get_str(m[JL_USERNAME], r->username, sizeof(r->username)) == -1 ||
	    get_str(m[JL_EMAIL], r->email, sizeof(r->email)) == -1 ||
	    (m[JL_NAME] != NULL &&
		get_str(m[JL_NAME], r->name, sizeof(r->name)) == -1))
		return refuse(why, whysz,
		    "organization, username, email and "
		    "name are strings (within their lengths)");
	if (get_str(m[JL_HASH], r->hash, sizeof(r->hash)) == -1)
		return refuse(why, whysz,
		    "password_hash: a string of at most "
		    "255 bytes");
	r->role = ROLE_USER;
	if (m[JL_ROLE] != NULL) {
		s = json_object_is_type(m[JL_ROLE], json_type_string) ?
		    json_object_get_string(m[JL_ROLE]) :
		    "";
		if ((k = role_parse(s)) < 0)
			return refuse(why, whysz,
			    "role: user, admin or "
			    "superadmin");
		r->role = (enum role)k;
	}
	if (m[JL_DISABLED] != NULL) {
		if (!json_object_is_type(m[JL_DISABLED], json_type_boolean))
			return refuse(why, whysz, "disabled: true or false");
		r->disabled = json_object_get_boolean(m[JL_DISABLED]);
	}
	if (m[JL_CREATED] != NULL) {
		if (json_object_is_type(m[JL_CREATED], json_type_int) &&
		    json_object_get_int64(m[JL_CREATED]) >= 0 &&
		    json_object_get_int64(m[JL_CREATED]) <= IMPORT_TIME_MAX)
			r->created_at = json_object_get_int64(m[JL_CREATED]);
		else if (!json_object_is_type(m[JL_CREATED],
			     json_type_string) ||
		    parse_rfc3339(json_object_get_string(m[JL_CREATED]),
			&r->created_at) == -1)
			return refuse(why, whysz,
			    "created_at: UNIX seconds or "
			    "YYYY-MM-DDTHH:MM:SSZ");
	}
	return row_check(r, why, whysz);
}

enum err
import_parse_jsonl(const char *s, size_t n, struct import_row *r, char *why,
    size_t whysz)
{
	struct json_object *o = NULL;
	enum err e;

	memset(r, 0, sizeof(*r));
	why[0] = '\0';
	if (n > IMPORT_LINE_MAX)
		return refuse(why, whysz, "longer than 16384 bytes");
	if ((e = jsonv_parse(s, n, 1, &o)) != ERR_OK) {
		if (e == ERR_NOMEM)
			return refuse(why, whysz, "out of memory");
		return refuse(why, whysz,
		    "not one strict JSON object of "
		    "strings, booleans and numbers (UTF-8, each key once)");
	}
	e = jsonl_fields(o, r, why, whysz);
	json_object_put(o);
	if (e != ERR_OK)
		tok_cleanse(r->hash, sizeof(r->hash));
	return e;
}

/* DUMB's user object u, the file's i-th, into *r. */
static enum err
dumb_user(struct json_object *u, size_t i, const struct import_dumb *d,
    struct import_row *r, char *why, size_t whysz)
{
	struct json_object *name = NULL, *hash = NULL, *dis = NULL;
	int n;

	memset(r, 0, sizeof(*r));
	if (!json_object_is_type(u, json_type_object))
		return refuse(why, whysz, "not an object");
	json_object_object_foreach(u, key, val)
	{
		if (strcmp(key, "username") == 0)
			name = val;
		else if (strcmp(key, "hashed_password") == 0)
			hash = val;
		else if (strcmp(key, "disabled") == 0)
			dis = val;
		else
			return refuse(why, whysz, "unknown member %s",
			    key_quote(key));
	}
	if (name == NULL || hash == NULL)
		return refuse(why, whysz, "missing member %s",
		    name == NULL ? "username" : "hashed_password");
	if (get_str(name, r->username, sizeof(r->username)) == -1)
		return refuse(why, whysz, "username: 3-64 of A-Za-z0-9._-");
	if (get_str(hash, r->hash, sizeof(r->hash)) == -1)
		return refuse(why, whysz,
		    "hashed_password: a string of at "
		    "most 255 bytes");
	if (dis != NULL && !json_object_is_type(dis, json_type_boolean))
		return refuse(why, whysz, "disabled: true or false");
	r->disabled = dis != NULL && json_object_get_boolean(dis);
	str_copy(r->org, sizeof(r->org), d->org);
	n = snprintf(r->email, sizeof(r->email), "%s@%s", r->username,
	    d->email_domain);
	if (n < 0 || (size_t)n >= sizeof(r->email))
		return refuse(why, whysz, "email: username@domain is too long");
	r->role = d->role >= 0 ? (enum role)d->role :
	    i == 0             ? ROLE_ADMIN :
				 ROLE_USER;
	return row_check(r, why, whysz);
}

/* The top of DUMB's file: version, auth_enabled, the users array. */
static enum err
dumb_top(struct json_object *o, struct import_dumb *d,
    struct json_object **users, char *why, size_t whysz)
{
	struct json_object *ver = NULL;

	*users = NULL;
	d->auth_enabled = -1;
	json_object_object_foreach(o, key, val)
	{
		if (strcmp(key, "version") == 0)
			ver = val;
		else if (strcmp(key, "users") == 0)
			*users = val;
		else if (strcmp(key, "auth_enabled") == 0) {
			if (!json_object_is_type(val, json_type_boolean))
				return refuse(why, whysz,
				    "auth_enabled: true "
				    "or false");
			d->auth_enabled = json_object_get_boolean(val);
		} else if (strcmp(key, "jwt_secret") != 0 &&
		    strcmp(key, "setup_skipped") != 0)
			return refuse(why, whysz, "unknown member %s",
			    key_quote(key));
	}
	if (ver == NULL || !json_object_is_type(ver, json_type_int))
		return refuse(why, whysz,
		    "no \"version\" number: not DUMB's "
		    "users.json");
	d->version = (long)json_object_get_int64(ver);
	if (d->version != DUMB_VERSION)
		return refuse(why, whysz,
		    "version %s: latch reads DUMB's "
		    "users.json version 2",
		    json_object_get_string(ver));
	if (*users == NULL || !json_object_is_type(*users, json_type_array))
		return refuse(why, whysz, "no \"users\" array");
	d->users = json_object_array_length(*users);
	return ERR_OK;
}

enum err
import_parse_dumb(const char *s, size_t n, struct import_dumb *d,
    void (
	*fn)(size_t i, const struct import_row *r, const char *why, void *arg),
    void *arg, char *why, size_t whysz)
{
	struct json_object *o = NULL, *users;
	struct import_row r;
	char rwhy[IMPORT_WHY_SIZE];
	enum err e;
	size_t i;

	why[0] = '\0';
	d->version = 0;
	d->users = 0;
	if ((e = jsonv_parse(s, n, DUMB_FILE_DEPTH, &o)) != ERR_OK) {
		if (e == ERR_NOMEM)
			return e;
		refuse(why, whysz,
		    "not one strict JSON object (UTF-8, each "
		    "key once, nested at most 3 deep)");
		return ERR_INVALID_JSON;
	}
	if ((e = dumb_top(o, d, &users, why, whysz)) != ERR_OK)
		goto out;
	for (i = 0; i < d->users; i++) {
		rwhy[0] = '\0';
		if (dumb_user(json_object_array_get_idx(users, i), i, d, &r,
			rwhy, sizeof(rwhy)) == ERR_OK)
			fn(i, &r, NULL, arg);
		else
			fn(i, NULL, rwhy, arg);
	}
	tok_cleanse(&r, sizeof(r));
out:
	json_object_put(o);
	return e;
}

/* ------------------------------------------------------------ writing */

/* The transaction of the batch, begun if none is open. */
static enum err
run_begin(struct import_run *run)
{
	if (run->open)
		return ERR_OK;
	if (db_begin(run->db) != DB_OK)
		return ERR_DB;
	run->open = 1;
	run->pending = 0;
	run->w_id = 0;
	return ERR_OK;
}

/* The id of r's organization, created ("org.create") if new. */
static enum err
run_org(struct import_run *run, const char *name, int64_t *id)
{
	enum err e;

	if (run->org_id != 0 && strcmp(run->org_name, name) == 0) {
		*id = run->org_id;
		return ERR_OK;
	}
	if ((e = org_find(run->db, name, id)) == ERR_NOT_FOUND &&
	    ((e = org_insert(run->db, name, "", id)) != ERR_OK ||
		(e = audit_log(run->db, run->a, AUDIT_ORG_CREATE, *id, *id,
		     name)) != ERR_OK))
		return e == ERR_ORG_TAKEN ? ERR_DB : e;
	if (e != ERR_OK)
		return e;
	run->org_id = *id;
	str_copy(run->org_name, sizeof(run->org_name), name);
	return ERR_OK;
}

/* The account named by s (a username or email_norm), with its hash. */
static enum err
run_lookup(struct import_run *run, enum stmt s, const char *key, struct user *u,
    char *hash, size_t hashsz)
{
	struct db_arg a[] = { DB_STR(key) };
	struct db_rows *rows = NULL;
	enum err e = ERR_NOT_FOUND;

	u->id = 0;
	if (db_query(run->db, s, a, 1, &rows) != DB_OK)
		return ERR_DB;
	if (rows->nrows == 1) {
		user_from_cols(rows, 0, 0, u);
		str_copy(hash, hashsz, db_cell(rows, 0, COL_AUTH_HASH));
		e = ERR_OK;
	}
	db_rows_free(rows);
	return e;
}

/* Remember the account just written as the batch's witness. */
static void
run_wrote(struct import_run *run, int64_t id, const char *hash)
{
	run->w_id = id;
	str_copy(run->w_hash, sizeof(run->w_hash), hash);
}

/* A new account from r in organization oid. */
static enum err
run_insert(struct import_run *run, const struct import_row *r, int64_t oid,
    const char *norm, enum import_outcome *o, char *why, size_t whysz)
{
	int64_t now = (int64_t)time(NULL);
	char detail[64];
	uint64_t id = 0;
	enum db_rc rc;
	enum err e;

	struct db_arg a[] = {
		DB_INT(oid),
		DB_STR(r->username),
		DB_STR(r->email),
		DB_STR(norm),
		DB_STR(r->name),
		DB_STR(r->hash),
		DB_STR(role_name(r->role)),
		DB_INT(r->disabled ? 1 : 0),
		DB_INT(r->created_at > 0 ? r->created_at : now),
		DB_INT(now),
	};
	rc = db_exec(run->db, STMT_IMPORT_USER_INSERT, a, 10, NULL, &id);
	if (rc == DB_DUP)
		return ERR_USERNAME_TAKEN; /* the caller looks it up */
	if (rc != DB_OK)
		return ERR_DB;
	snprintf(detail, sizeof(detail), "%s, %s", run->source,
	    pw_kind_name(r->kind));
	if ((e = audit_log(run->db, run->a, AUDIT_USER_IMPORT, oid, (int64_t)id,
		 detail)) != ERR_OK)
		return e;
	run_wrote(run, (int64_t)id, r->hash);
	*o = IMPORT_CREATED;
	snprintf(why, whysz, "id %lld, %s%s", (long long)id,
	    pw_kind_name(r->kind), r->disabled ? ", disabled" : "");
	return ERR_OK;
}

/*
 * Account u (its hash h) exists by r's username: bring it in line with
 * r.  The hash is replaced only while u has never signed in to latch.
 */
static enum err
run_update(struct import_run *run, const struct import_row *r, const char *norm,
    const struct user *u, const char *h, enum import_outcome *o, char *why,
    size_t whysz)
{
	int email = strcmp(u->email, r->email) != 0;
	int name = strcmp(u->name, r->name) != 0;
	int dis = u->disabled != r->disabled;
	int pw = u->last_login_at == 0 && strcmp(h, r->hash) != 0;
	const char *hash = pw ? r->hash : h;
	char detail[64];
	enum db_rc rc;
	enum err e;

	if (!email && !name && !dis && !pw) {
		*o = IMPORT_UNCHANGED;
		snprintf(why, whysz, "id %lld", (long long)u->id);
		return ERR_OK;
	}
	struct db_arg a[] = {
		DB_STR(r->email),
		DB_STR(norm),
		DB_STR(r->name),
		DB_INT(r->disabled ? 1 : 0),
		DB_STR(hash),
		DB_INT((int64_t)time(NULL)),
		DB_INT(u->id),
	};
	if ((rc = db_exec(run->db, STMT_IMPORT_USER_UPDATE, a, 7, NULL,
		 NULL)) == DB_DUP) {
		*o = IMPORT_REFUSED;
		snprintf(why, whysz, "the email is another account's");
		return ERR_OK;
	}
	if (rc != DB_OK)
		return ERR_DB;
	snprintf(detail, sizeof(detail), "import:%s%s%s%s",
	    email ? " email" : "", name ? " name" : "", dis ? " disabled" : "",
	    pw ? " password" : "");
	/* A disabled account, or one whose password changed, keeps no
	 * session. */
	if (((r->disabled && dis) || pw) &&
	    (e = session_revoke_user(run->db, u->id, 0)) != ERR_OK)
		return e;
	if ((e = audit_log(run->db, run->a, AUDIT_USER_UPDATE, u->org_id, u->id,
		 detail)) != ERR_OK)
		return e;
	run_wrote(run, u->id, hash);
	*o = IMPORT_UPDATED;
	snprintf(why, whysz, "id %lld:%s", (long long)u->id, detail + 7);
	return ERR_OK;
}

/* r's username or email is taken: by whom, and what to do. */
static enum err
run_exists(struct import_run *run, const struct import_row *r, int64_t oid,
    const char *norm, enum import_outcome *o, char *why, size_t whysz)
{
	char h[PW_HASH_MAX + 1], eh[PW_HASH_MAX + 1];
	struct user u, eu;
	enum err e, ee;

	e = run_lookup(run, STMT_USER_AUTH_BY_USERNAME, r->username, &u, h,
	    sizeof(h));
	ee = run_lookup(run, STMT_USER_AUTH_BY_EMAIL, norm, &eu, eh,
	    sizeof(eh));
	tok_cleanse(eh, sizeof(eh));
	*o = IMPORT_REFUSED;
	if (e == ERR_DB || ee == ERR_DB) {
		e = ERR_DB;
		goto out;
	}
	if (ee == ERR_OK && (e != ERR_OK || eu.id != u.id)) {
		snprintf(why, whysz, "the email is that of account id %lld",
		    (long long)eu.id);
		e = ERR_OK;
		goto out;
	}
	if (e != ERR_OK) {
		/* Taken a moment ago and gone again: try the row again in
		 * the next run. */
		snprintf(why, whysz,
		    "the username or email changed during "
		    "the import");
		e = ERR_OK;
		goto out;
	}
	if (u.org_id != oid) {
		snprintf(why, whysz,
		    "the username is that of account id "
		    "%lld in another organization",
		    (long long)u.id);
		goto out;
	}
	if (!run->update) {
		*o = IMPORT_EXISTS;
		snprintf(why, whysz, "id %lld", (long long)u.id);
		goto out;
	}
	e = run_update(run, r, norm, &u, h, o, why, whysz);
out:
	tok_cleanse(h, sizeof(h));
	return e;
}

enum err
import_put(struct import_run *run, const struct import_row *r,
    enum import_outcome *o, char *why, size_t whysz)
{
	char norm[255];
	int64_t oid;
	enum err e;

	*o = IMPORT_REFUSED;
	why[0] = '\0';
	if (run->a == NULL || run->a->role != ROLE_SUPERADMIN)
		return ERR_FORBIDDEN;
	if (valid_email_norm(r->email, norm, sizeof(norm)) == -1) {
		snprintf(why, whysz, "email: not an email address");
		return ERR_OK;
	}
	if ((e = run_begin(run)) != ERR_OK ||
	    (e = run_org(run, r->org, &oid)) != ERR_OK)
		return e;
	run->pending++;
	e = run_insert(run, r, oid, norm, o, why, whysz);
	if (e == ERR_USERNAME_TAKEN)
		e = run_exists(run, r, oid, norm, o, why, whysz);
	return e;
}

size_t
import_pending(const struct import_run *run)
{
	return run->open ? run->pending : 0;
}

enum err
import_commit(struct import_run *run, int last)
{
	enum db_rc rc;

	if (!run->open)
		return ERR_OK;
	if (run->dry_run) {
		if (last)
			import_abort(run);
		return ERR_OK;
	}
	run->open = 0;
	run->org_id = 0;
	if (run->w_id == 0) {
		rc = db_commit(run->db);
	} else {
		struct db_arg w[] = { DB_INT(run->w_id), DB_STR(run->w_hash) };

		rc = db_commit_check(run->db, STMT_W_USER, w, 2);
	}
	tok_cleanse(run->w_hash, sizeof(run->w_hash));
	return db_err(rc);
}

void
import_abort(struct import_run *run)
{
	if (run->open)
		db_rollback(run->db);
	run->open = 0;
	run->org_id = 0;
	tok_cleanse(run->w_hash, sizeof(run->w_hash));
}
