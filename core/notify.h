/*
 * notify.h: the mails latch sends, rendered from the templates in
 * [mail] template_dir and put into the spool for latch-mailer.
 *
 * A mail is delivered if and only if the transaction it belongs to
 * committed (an invitation and its code, a reset token, a pending change
 * of address, a change of address).  Inside that transaction the mail is
 * written whole into the spool's hold/ (a spool that refuses it makes
 * the transaction roll back) and a row naming it is written into
 * mail_pending; notify_commit() commits, and moves the mail into new/
 * once the COMMIT is known to have succeeded (looked up by that row on a
 * new connection if the COMMIT's answer was lost), or deletes it once it
 * is known to have failed.  A mail whose outcome stayed unknown, or whose
 * worker died in between, stays in hold/ until notify_recover() looks its
 * row up.  The database never holds the mail (it holds the codes and
 * tokens in clear), only its id.
 */
#ifndef LATCH_NOTIFY_H
#define LATCH_NOTIFY_H

#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "err.h"
#include "spool.h"
#include "user.h"

/* A mail held for its transaction; id[0] == '\0' while there is none. */
struct notify_mail {
	char id[SPOOL_ID_SIZE];
};

/*
 * The link of an invitation or reset: [mail] invite_url/reset_url plus
 * "?code="/"?token=" and the token, into out.  "" when the URL is not
 * configured.  Returns 0, or -1 if it does not fit.
 */
int notify_link(const char *base, const char *param, const char *token,
    char *out, size_t outsz);

/*
 * Render every template the code uses ([mail] template_dir: invite.txt,
 * reset.txt, email_confirm.txt, email_changed.txt) with the placeholders
 * it will be given, as a deployment check: returns the number that would
 * fail, each logged with its reason (missing, unreadable, misshapen, an
 * unknown placeholder).
 */
int notify_check(const struct conf *conf);

/*
 * Each notify_*() below renders its mail, holds it in m and writes its
 * mail_pending row, inside the caller's open transaction: the caller
 * ends it with notify_commit(), or with db_rollback() and
 * notify_abort().  ERR_OK; ERR_MAIL when the spool cannot take it;
 * ERR_DB when the row cannot be written (the mail is deleted again).
 */

/* The invitation mail to email into organization org_name with role
 * (its name), valid until expires_at, with its code; inviter is a
 * display name or "". */
enum err notify_invite(struct db *db, const struct conf *conf,
    const char *org_name, const char *email, const char *role,
    int64_t expires_at, const char *code, const char *inviter,
    struct notify_mail *m);

/* The reset mail for u with its token. */
enum err notify_reset(struct db *db, const struct conf *conf,
    const struct user *u, const char *token, struct notify_mail *m);

/*
 * The mail that confirms new_email as the address of u, with the link
 * [mail] email_url + "?token=" + token, valid until expires_at, to
 * new_email.
 */
enum err notify_email_confirm(struct db *db, const struct conf *conf,
    const struct user *u, const char *new_email, const char *token,
    int64_t expires_at, struct notify_mail *m);

/*
 * The notice to u's address (the old one) that it was changed to
 * new_email, by the user (by_admin 0: the link was opened) or by an
 * administrator.
 */
enum err notify_email_changed(struct db *db, const struct conf *conf,
    const struct user *u, const char *new_email, int by_admin,
    struct notify_mail *m);

/*
 * Commit the caller's transaction (db_commit_check(), the witness being
 * m's mail_pending row), then queue m's mail (committed), delete it (not
 * committed) or leave it for notify_recover() (unknown).  With nothing
 * held, a plain db_commit().  ERR_OK, ERR_DB (not committed) or
 * ERR_UNKNOWN.
 */
enum err notify_commit(struct db *db, const struct conf *conf,
    struct notify_mail *m);

/* After db_rollback(): delete m's mail.  Accepts an m with none. */
void notify_abort(const struct conf *conf, struct notify_mail *m);

/*
 * Settle every mail held longer than [server] request_timeout (its
 * writer is gone): queued if its mail_pending row exists, deleted if
 * not, left for the next time on a database error.  Then drop the rows
 * of mails that are no longer held (queued, the row's delete lost).  Run
 * by each worker when it starts and then at most once a minute, after
 * answering a request.
 */
void notify_recover(struct db *db, const struct conf *conf);

#endif
