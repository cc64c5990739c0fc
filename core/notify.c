/*
 * notify.c: invitation, reset and address-change mails, rendered from
 * templates and put into the spool.  Links come from [mail] invite_url,
 * reset_url and email_url only, never from the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "spool.h"
#include "tmpl.h"

/* Past request_timeout, a held mail's writer is gone: this much more. */
#define RECOVER_MARGIN 5
/* Rows of mail_pending purged per recovery at most. */
#define RECOVER_ROWS 100

int
notify_link(const char *base, const char *param, const char *token, char *out,
    size_t outsz)
{
	int n;

	if (base == NULL || base[0] == '\0') {
		if (outsz == 0)
			return -1;
		out[0] = '\0';
		return 0;
	}
	n = snprintf(out, outsz, "%s%c%s=%s", base,
	    strchr(base, '?') != NULL ? '&' : '?', param, token);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

static void
fmt_time(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		(void)snprintf(out, outsz, "%lld", (long long)t);
}

/*
 * The mails and the placeholders each one's template is given, in the
 * order of the values its notify_*() passes.  notify_check() renders
 * every one of them, so a template that would fail at the first mail
 * fails at start-up (and latchd -t) instead.
 */
enum notify_kind {
	NOTIFY_INVITE,
	NOTIFY_RESET,
	NOTIFY_EMAIL_CONFIRM,
	NOTIFY_EMAIL_CHANGED,
	NOTIFY__MAX
};

#define NOTIFY_KEYS_MAX 6

/* clang-format off */
static const struct {
	const char *name;                   /* template_dir/<name>.txt */
	const char *keys[NOTIFY_KEYS_MAX + 1]; /* NULL-terminated */
} mails[NOTIFY__MAX] = {
	[NOTIFY_INVITE] = { "invite", { "organization", "inviter", "role",
	    "link", "code", "expires", NULL } },
	[NOTIFY_RESET] = { "reset", { "username", "link", "token", "expires",
	    NULL } },
	[NOTIFY_EMAIL_CONFIRM] = { "email_confirm", { "username",
	    "organization", "email", "link", "token", "expires", NULL } },
	[NOTIFY_EMAIL_CHANGED] = { "email_changed", { "username",
	    "organization", "email", "by", NULL } },
};
/* clang-format on */

/* vars (2 * NOTIFY_KEYS_MAX + 1) for template t: its keys with values, a
 * list of nvalues in the order of the keys. */
static void
mail_vars(enum notify_kind t, const char *const *values, size_t nvalues,
    const char **vars)
{
	size_t i;

	for (i = 0; mails[t].keys[i] != NULL; i++) {
		if (i == nvalues)
			fatalx("notify: %s: fewer values than placeholders",
			    mails[t].name);
		vars[2 * i] = mails[t].keys[i];
		vars[2 * i + 1] = values[i];
	}
	vars[2 * i] = NULL;
}

int
notify_check(const struct conf *conf)
{
	const char *const values[NOTIFY_KEYS_MAX] = { "x", "x", "x", "x", "x",
		"x" };
	const char *vars[2 * NOTIFY_KEYS_MAX + 1];
	char path[4096], *out;
	int bad = 0, t, n;

	for (t = 0; t < NOTIFY__MAX; t++) {
		mail_vars((enum notify_kind)t, values, NOTIFY_KEYS_MAX, vars);
		n = snprintf(path, sizeof(path), "%s/%s.txt",
		    conf->mail_template_dir, mails[t].name);
		out = NULL;
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    tmpl_render(path, vars, &out) != ERR_OK)
			bad++;
		free(out);
	}
	return bad;
}

/*
 * Hold template t rendered with values (in the order of its keys) to
 * `to` in m, and write its mail_pending row, inside the caller's open
 * transaction.
 */
static enum err
notify_send(struct db *db, const struct conf *conf, enum notify_kind t,
    const char *to, const char *const *values, size_t nvalues,
    struct notify_mail *m)
{
	const char *vars[2 * NOTIFY_KEYS_MAX + 1], *name = mails[t].name;
	enum err e;

	mail_vars(t, values, nvalues, vars);
	m->id[0] = '\0';
	if (spool_mail(conf, name, vars, to, 1, m->id, sizeof(m->id)) !=
	    ERR_OK) {
		m->id[0] = '\0';
		log_warnx("notify: the %s mail to the spool failed", name);
		return ERR_MAIL;
	}
	struct db_arg a[] = { DB_STR(m->id), DB_INT((int64_t)time(NULL)) };
	if ((e = db_err(db_exec(db, STMT_MAIL_PENDING_PUT, a, 2, NULL,
		 NULL))) != ERR_OK) {
		notify_abort(conf, m);
		return e;
	}
	log_info("notify: holding %s mail %s until its transaction ends", name,
	    m->id);
	return ERR_OK;
}

/*
 * Held mail id's transaction committed: queue it, and drop its row (a
 * row left behind is purged by notify_recover()).  A mail that cannot be
 * moved stays held, and its row with it, for notify_recover().
 */
static void
notify_queue(struct db *db, const struct conf *conf, const char *id)
{
	struct db_arg a[] = { DB_STR(id) };
	enum err e;

	if ((e = spool_release(conf->mail_spool_dir, id)) != ERR_OK &&
	    e != ERR_NOT_FOUND) {
		log_warnx("notify: mail %s stays held until the next recovery",
		    id);
		return;
	}
	if (e == ERR_OK)
		log_info("notify: mail %s queued", id);
	(void)db_exec(db, STMT_MAIL_PENDING_DEL, a, 1, NULL, NULL);
}

void
notify_abort(const struct conf *conf, struct notify_mail *m)
{
	if (m->id[0] == '\0')
		return;
	if (spool_drop(conf->mail_spool_dir, m->id) == ERR_OK)
		log_info("notify: mail %s deleted: its transaction failed",
		    m->id);
	m->id[0] = '\0';
}

enum err
notify_commit(struct db *db, const struct conf *conf, struct notify_mail *m)
{
	enum db_rc rc;

	if (m->id[0] == '\0')
		return db_err(db_commit(db));
	struct db_arg w[] = { DB_STR(m->id) };
	rc = db_commit_check(db, STMT_W_MAIL, w, 1);
	if (rc == DB_OK)
		notify_queue(db, conf, m->id);
	else if (rc == DB_ERR)
		notify_abort(conf, m);
	else
		log_warnx(
		    "notify: mail %s stays held: the outcome of its "
		    "transaction is unknown",
		    m->id);
	m->id[0] = '\0';
	return db_err(rc);
}

struct recover {
	struct db *db;
	const struct conf *conf;
};

/*
 * notify_recover() for held mail id: its row says what became of it.
 * -1 on a database error: the others wait for the next time too.
 */
static int
recover_held(const char *id, void *arg)
{
	const struct recover *rc = arg;
	struct db_rows *r = NULL;
	struct notify_mail m;

	struct db_arg a[] = { DB_STR(id) };
	if (db_query(rc->db, STMT_W_MAIL, a, 1, &r) != DB_OK)
		return -1;
	if (r->nrows > 0)
		notify_queue(rc->db, rc->conf, id);
	else {
		memcpy(m.id, id, sizeof(m.id));
		notify_abort(rc->conf, &m);
	}
	db_rows_free(r);
	return 0;
}

void
notify_recover(struct db *db, const struct conf *conf)
{
	struct recover rc = { db, conf };
	time_t before = time(NULL) - conf->request_timeout - RECOVER_MARGIN;
	struct db_rows *r = NULL;
	size_t i;

	(void)spool_held(conf->mail_spool_dir, before, recover_held, &rc);
	/* Rows whose mail was queued but the row not dropped. */
	struct db_arg a[] = { DB_INT((int64_t)before), DB_INT(RECOVER_ROWS) };
	if (db_query(db, STMT_MAIL_PENDING_OLD, a, 2, &r) != DB_OK)
		return;
	for (i = 0; i < r->nrows; i++) {
		const char *id = db_cell(r, i, COL_VALUE);
		struct db_arg d[] = { DB_STR(id != NULL ? id : "") };

		if (id != NULL && !spool_is_held(conf->mail_spool_dir, id))
			(void)db_exec(db, STMT_MAIL_PENDING_DEL, d, 1, NULL,
			    NULL);
	}
	db_rows_free(r);
}

enum err
notify_invite(struct db *db, const struct conf *conf, const char *org_name,
    const char *email, const char *role, int64_t expires_at, const char *code,
    const char *inviter, struct notify_mail *m)
{
	char link[2048], expires[64];

	if (notify_link(conf->invite_url, "code", code, link, sizeof(link)) ==
	    -1)
		return ERR_MAIL;
	fmt_time(expires_at, expires, sizeof(expires));
	const char *const values[] = {
		org_name,
		inviter != NULL && inviter[0] != '\0' ? inviter :
							"An administrator",
		role,
		link[0] != '\0' ? link : "(ask your administrator)",
		code,
		expires,
	};
	return notify_send(db, conf, NOTIFY_INVITE, email, values,
	    sizeof(values) / sizeof(values[0]), m);
}

enum err
notify_reset(struct db *db, const struct conf *conf, const struct user *u,
    const char *token, struct notify_mail *m)
{
	char link[2048], expires[64];

	if (notify_link(conf->reset_url, "token", token, link, sizeof(link)) ==
	    -1)
		return ERR_MAIL;
	fmt_time((int64_t)time(NULL) + conf->reset_ttl, expires,
	    sizeof(expires));
	const char *const values[] = {
		u->username,
		link[0] != '\0' ? link : "(no reset_url configured)",
		token,
		expires,
	};
	return notify_send(db, conf, NOTIFY_RESET, u->email, values,
	    sizeof(values) / sizeof(values[0]), m);
}

enum err
notify_email_confirm(struct db *db, const struct conf *conf,
    const struct user *u, const char *new_email, const char *token,
    int64_t expires_at, struct notify_mail *m)
{
	char link[2048], expires[64];

	if (notify_link(conf->email_url, "token", token, link, sizeof(link)) ==
	    -1)
		return ERR_MAIL;
	fmt_time(expires_at, expires, sizeof(expires));
	const char *const values[] = {
		u->username,
		u->org_name,
		new_email,
		link[0] != '\0' ? link : "(no email_url configured)",
		token,
		expires,
	};
	return notify_send(db, conf, NOTIFY_EMAIL_CONFIRM, new_email, values,
	    sizeof(values) / sizeof(values[0]), m);
}

enum err
notify_email_changed(struct db *db, const struct conf *conf,
    const struct user *u, const char *new_email, int by_admin,
    struct notify_mail *m)
{
	const char *const values[] = {
		u->username,
		u->org_name,
		new_email,
		by_admin ? "by an administrator of your organization" :
			   "with the confirmation link sent to the new address",
	};
	return notify_send(db, conf, NOTIFY_EMAIL_CHANGED, u->email, values,
	    sizeof(values) / sizeof(values[0]), m);
}
