/*
 * reset.c: password reset tokens.
 */
#include <string.h>
#include <time.h>

#include "audit.h"
#include "limit.h"
#include "log.h"
#include "notify.h"
#include "pw.h"
#include "reset.h"
#include "session.h"
#include "tok.h"

enum err
reset_request(struct db *db, const struct conf *conf, const struct actor *a,
    const char *email, struct user *u)
{
	char token[TOK_STR_SIZE];
	unsigned char h[TOK_HASH_LEN];
	struct notify_mail m = { "" };
	int64_t now = (int64_t)time(NULL);
	enum err e;

	if (strchr(email, '@') == NULL)
		return ERR_NOT_FOUND;
	if ((e = user_find(db, email, u)) != ERR_OK)
		return e;
	if (u->disabled)
		return ERR_NOT_FOUND;
	if (tok_new(32, token, sizeof(token)) == -1 ||
	    tok_hash(token, strlen(token), h) == -1)
		return ERR_SYS;
	struct db_arg q[] = {
		DB_INT(u->id),
		DB_BLOB(h, sizeof(h)),
		DB_INT(now),
		DB_INT(now + conf->reset_ttl),
	};
	if (db_begin(db) != DB_OK) {
		e = ERR_DB;
		goto done;
	}
	if (db_exec(db, STMT_RESET_INSERT, q, 4, NULL, NULL) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	/* Within [mail] min_interval of the last mail: queue nothing.  The
	 * claim commits or rolls back with the token. */
	if ((e = limit_mail(db, conf, LIMIT_MAIL_RESET, u->email,
		 &u->retry_after)) != ERR_OK ||
	    (e = notify_reset(db, conf, u, token, &m)) != ERR_OK)
		goto rollback;
	e = notify_commit(db, conf, &m);
	goto done;
rollback:
	db_rollback(db);
	notify_abort(conf, &m);
	if (e == ERR_TOO_MANY_REQUESTS)
		limit_refused("mail", u->id, u->retry_after, a->ip);
done:
	tok_cleanse(token, sizeof(token));
	return e;
}

/* Is the looked-up token usable now? */
static int
usable(const struct db_rows *r, int64_t now)
{
	return r->nrows == 1 && db_cell(r, 0, COL_RESET_USED) == NULL &&
	    db_int(r, 0, COL_RESET_EXPIRES) > now &&
	    !db_int(r, 0, COL_RESET_DISABLED);
}

/* The account of looked-up token r, as the actor of its reset from ip. */
static struct actor
reset_actor(const struct db_rows *r, const char *ip)
{
	const char *role = db_cell(r, 0, COL_RESET_ROLE);
	int k = role_parse(role != NULL ? role : "");
	struct actor a = { db_int(r, 0, COL_RESET_UID),
		db_int(r, 0, COL_RESET_ORG), k < 0 ? ROLE_USER : (enum role)k,
		ip, 0 };

	return a;
}

enum err
reset_perform(struct db *db, const struct conf *conf, const struct actor *a,
    const char *token, const char *password)
{
	unsigned char h[TOK_HASH_LEN];
	char mcf[PW_MCF_SIZE];
	struct db_rows *r = NULL;
	struct actor who;
	int64_t now = (int64_t)time(NULL);
	size_t n = strlen(token);
	enum err e;

	if (n < 22 || n >= TOK_STR_SIZE || tok_hash(token, n, h) == -1)
		return ERR_BAD_RESET_TOKEN;
	struct db_arg k[] = { DB_BLOB(h, sizeof(h)) };
	/* Check first, so a dead token costs no hash. */
	if (db_query(db, STMT_RESET_LOOKUP, k, 1, &r) != DB_OK)
		return ERR_DB;
	e = usable(r, now) ? ERR_OK : ERR_BAD_RESET_TOKEN;
	db_rows_free(r);
	r = NULL;
	if (e != ERR_OK)
		return e;
	if ((e = user_hash_password(conf, password, mcf, sizeof(mcf))) !=
	    ERR_OK)
		return e;
	if (db_begin(db) != DB_OK) {
		e = ERR_DB;
		goto done;
	}
	if (db_query(db, STMT_RESET_LOOKUP, k, 1, &r) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	if (!usable(r, now)) {
		e = ERR_BAD_RESET_TOKEN;
		goto rollback;
	}
	who = reset_actor(r, a->ip);
	{
		struct db_arg u[] = { DB_INT(now), DB_INT(who.user_id) };

		if ((e = user_put_password(db, who.user_id, mcf)) != ERR_OK ||
		    (e = db_err(db_exec(db, STMT_RESET_USE, u, 2, NULL,
			 NULL))) != ERR_OK)
			goto rollback;
	}
	if ((e = session_revoke_user(db, who.user_id, 0)) != ERR_OK ||
	    (e = audit_log(db, &who, AUDIT_PASSWORD_RESET, who.org_id,
		 who.user_id, NULL)) != ERR_OK)
		goto rollback;
	e = user_commit(db, who.user_id, mcf);
	goto done;
rollback:
	db_rollback(db);
done:
	db_rows_free(r);
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}
