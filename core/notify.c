/*
 * notify.c: invitation, reset and address-change mails, rendered from
 * templates and put into the spool.  Links come from [mail] invite_url,
 * reset_url and email_url only, never from the request.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "spool.h"

/* Kinds of held mail, and the statement that finds each one's row. */
static const struct {
	const char *kind;
	enum stmt witness;
} kinds[] = {
	{ "invite", STMT_W_INVITE },
	{ "reset", STMT_W_RESET },
};

/* Past request_timeout, a held mail's writer is gone: this much more. */
#define RECOVER_MARGIN 5

int
notify_link(const char *base, const char *param, const char *token,
    char *out, size_t outsz)
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
 * Hold template name ("invite", "reset", also the witness kind) rendered
 * with vars to `to` in m, for the row whose hash is hash.
 */
static enum err
notify_send(const struct conf *conf, const char *name, const char *to,
    const char *const *vars, const unsigned char *hash,
    struct notify_mail *m)
{
	struct spool_witness w = { name, hash };

	m->held[0] = '\0';
	if (spool_mail(conf, name, vars, to, &w, m->held, sizeof(m->held)) !=
	    ERR_OK) {
		m->held[0] = '\0';
		log_warnx("notify: the %s mail to the spool failed", name);
		return ERR_MAIL;
	}
	log_info("notify: holding %s mail %.*s until its transaction ends",
	    name, SPOOL_ID_LEN, m->held);
	return ERR_OK;
}

/* Queue template name rendered with vars to `to` at once (into new/). */
static enum err
notify_queue(const struct conf *conf, const char *name, const char *to,
    const char *const *vars)
{
	char id[SPOOL_ID_SIZE];

	if (spool_mail(conf, name, vars, to, NULL, id, sizeof(id)) != ERR_OK) {
		log_warnx("notify: the %s mail to the spool failed", name);
		return ERR_MAIL;
	}
	log_info("notify: queued %s mail %s", name, id);
	return ERR_OK;
}

/* Queue (found) or delete held mail `held`; a failure leaves it held. */
static void
notify_move(const struct conf *conf, const char *held, int found)
{
	enum err e;

	e = found ? spool_release(conf->mail_spool_dir, held) :
	    spool_drop(conf->mail_spool_dir, held);
	if (e == ERR_OK)
		log_info("notify: mail %.*s %s", SPOOL_ID_LEN, held,
		    found ? "queued" : "deleted: its transaction failed");
	else if (e != ERR_NOT_FOUND)
		log_warnx("notify: mail %.*s stays held until the next "
		    "recovery", SPOOL_ID_LEN, held);
}

void
notify_settle(const struct conf *conf, struct notify_mail *m, enum db_rc rc)
{
	if (m->held[0] == '\0')
		return;
	if (rc == DB_UNKNOWN)
		log_warnx("notify: mail %.*s stays held: the outcome of its "
		    "transaction is unknown", SPOOL_ID_LEN, m->held);
	else
		notify_move(conf, m->held, rc == DB_OK);
	m->held[0] = '\0';
}

struct recover {
	struct db *db;
	const struct conf *conf;
};

/* notify_recover() for one held mail. */
static void
recover_one(const struct spool_held *h, void *arg)
{
	const struct recover *rc = arg;
	struct db_rows *r = NULL;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, h->kind) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0])) {
		log_warnx("notify: held mail %.*s of unknown kind %s left "
		    "alone", SPOOL_ID_LEN, h->name, h->kind);
		return;
	}
	struct db_arg a[] = { DB_BLOB(h->hash, SPOOL_HASH_LEN) };
	if (db_query(rc->db, kinds[i].witness, a, 1, &r) != DB_OK)
		return;
	notify_move(rc->conf, h->name, r->nrows > 0);
	db_rows_free(r);
}

void
notify_recover(struct db *db, const struct conf *conf)
{
	struct recover rc = { db, conf };

	(void)spool_held(conf->mail_spool_dir, time(NULL) -
	    conf->request_timeout - RECOVER_MARGIN, recover_one, &rc);
}

enum err
notify_invite(const struct conf *conf, const struct invite *inv,
    const char *code, const unsigned char hash[TOK_HASH_LEN],
    const char *inviter, struct notify_mail *m)
{
	char link[2048], expires[64];

	if (notify_link(conf->invite_url, "code", code, link,
	    sizeof(link)) == -1)
		return ERR_MAIL;
	fmt_time(inv->expires_at, expires, sizeof(expires));
	const char *const vars[] = {
		"organization", inv->org_name,
		"inviter", inviter != NULL && inviter[0] != '\0' ? inviter :
		    "An administrator",
		"role", role_name(inv->role),
		"link", link[0] != '\0' ? link : "(ask your administrator)",
		"code", code,
		"expires", expires,
		NULL,
	};
	return notify_send(conf, "invite", inv->email, vars, hash, m);
}

enum err
notify_reset(const struct conf *conf, const struct user *u,
    const char *token, const unsigned char hash[TOK_HASH_LEN],
    struct notify_mail *m)
{
	char link[2048], expires[64];

	if (notify_link(conf->reset_url, "token", token, link,
	    sizeof(link)) == -1)
		return ERR_MAIL;
	fmt_time((int64_t)time(NULL) + conf->reset_ttl, expires,
	    sizeof(expires));
	const char *const vars[] = {
		"username", u->username,
		"link", link[0] != '\0' ? link : "(no reset_url configured)",
		"token", token,
		"expires", expires,
		NULL,
	};
	return notify_send(conf, "reset", u->email, vars, hash, m);
}

enum err
notify_email_confirm(const struct conf *conf, const struct user *u,
    const char *new_email, const char *token, int64_t expires_at)
{
	char link[2048], expires[64];

	if (notify_link(conf->email_url, "token", token, link,
	    sizeof(link)) == -1)
		return ERR_MAIL;
	fmt_time(expires_at, expires, sizeof(expires));
	const char *const vars[] = {
		"username", u->username,
		"organization", u->org_name,
		"email", new_email,
		"link", link[0] != '\0' ? link : "(no email_url configured)",
		"token", token,
		"expires", expires,
		NULL,
	};
	return notify_queue(conf, "email_confirm", new_email, vars);
}

enum err
notify_email_changed(const struct conf *conf, const struct user *u,
    const char *new_email, int by_admin)
{
	const char *const vars[] = {
		"username", u->username,
		"organization", u->org_name,
		"email", new_email,
		"by", by_admin ? "by an administrator of your organization" :
		    "with the confirmation link sent to the new address",
		NULL,
	};
	return notify_queue(conf, "email_changed", u->email, vars);
}
