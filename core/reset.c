/*
 * reset.c: password reset tokens.
 */
#include <string.h>
#include <time.h>

#include "limit.h"
#include "log.h"
#include "notify.h"
#include "pw.h"
#include "reset.h"
#include "session.h"
#include "tok.h"

enum err
reset_request(struct db *db, const struct conf *conf, const char *email,
    struct user *u)
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
	struct db_arg a[] = {
		DB_INT(u->id), DB_BLOB(h, sizeof(h)), DB_INT(now),
		DB_INT(now + conf->reset_ttl),
	};
	if (db_begin(db) != DB_OK) {
		e = ERR_DB;
		goto done;
	}
	if (db_exec(db, STMT_RESET_INSERT, a, 4, NULL, NULL) != DB_OK) {
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
done:
	tok_cleanse(token, sizeof(token));
	return e;
}

/* Is the looked-up token usable now? */
static int
usable(const struct db_rows *r, int64_t now)
{
	return r->nrows == 1 && db_cell(r, 0, COL_RESET_USED) == NULL &&
	    db_int(r, 0, COL_RESET_EXPIRES) > now && !db_int(r, 0, COL_RESET_DISABLED);
}

enum err
reset_perform(struct db *db, const struct conf *conf, const char *token,
    const char *password, int64_t *uid)
{
	unsigned char h[TOK_HASH_LEN];
	char mcf[PW_MCF_SIZE];
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t n = strlen(token);
	enum err e;

	if (n < 22 || n >= TOK_STR_SIZE || tok_hash(token, n, h) == -1)
		return ERR_BAD_RESET_TOKEN;
	struct db_arg a[] = { DB_BLOB(h, sizeof(h)) };
	/* Check first, so a dead token costs no hash. */
	if (db_query(db, STMT_RESET_LOOKUP, a, 1, &r) != DB_OK)
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
	if (db_query(db, STMT_RESET_LOOKUP, a, 1, &r) != DB_OK) {
		e = ERR_DB;
		goto rollback;
	}
	if (!usable(r, now)) {
		e = ERR_BAD_RESET_TOKEN;
		goto rollback;
	}
	*uid = db_int(r, 0, COL_RESET_UID);
	{
		struct db_arg p[] = { DB_STR(mcf), DB_INT(now), DB_INT(*uid) };
		struct db_arg u[] = { DB_INT(now), DB_INT(*uid) };

		if (db_exec(db, STMT_USER_SET_PASSWORD, p, 3, NULL, NULL) !=
		    DB_OK ||
		    db_exec(db, STMT_RESET_USE, u, 2, NULL, NULL) != DB_OK) {
			e = ERR_DB;
			goto rollback;
		}
	}
	if ((e = session_revoke_user(db, *uid, 0)) != ERR_OK)
		goto rollback;
	e = user_commit(db, *uid, mcf);
	goto done;
rollback:
	db_rollback(db);
done:
	db_rows_free(r);
	tok_cleanse(mcf, sizeof(mcf));
	return e;
}
