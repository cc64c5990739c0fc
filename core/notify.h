/*
 * notify.h: the mails latch sends, rendered from the templates in
 * [mail] template_dir and put into the spool for latch-mailer.
 *
 * A mail exists if and only if its row does.  Each mail belongs to a row
 * written in the same transaction (an invitation, a reset token): it is
 * written whole into the spool's hold/ before the COMMIT (a spool that
 * refuses it makes the transaction roll back), and notify_settle() moves
 * it into new/ once the COMMIT is known to have succeeded, or deletes it
 * once it is known to have failed.  A mail whose outcome is unknown (the
 * look-up after a lost COMMIT failed), or whose writer died in between,
 * stays in hold/ until notify_recover() looks its row up.
 */
#ifndef LATCH_NOTIFY_H
#define LATCH_NOTIFY_H

#include "conf.h"
#include "db.h"
#include "err.h"
#include "invite.h"
#include "spool.h"
#include "user.h"

/* A mail held for its transaction; held[0] == '\0' while there is none. */
struct notify_mail {
	char held[SPOOL_HELD_SIZE];
};

/*
 * The link of an invitation or reset: [mail] invite_url/reset_url plus
 * "?code="/"?token=" and the token, into out.  "" when the URL is not
 * configured.  Returns 0, or -1 if it does not fit.
 */
int notify_link(const char *base, const char *param, const char *token,
    char *out, size_t outsz);

/*
 * Hold the invitation mail for inv with its code (hashed as hash, the
 * invitations.code_hash of its row) in m, inside the transaction that
 * writes that row; inviter is a display name or "".  ERR_OK, or ERR_MAIL
 * when the spool cannot take it.
 */
enum err notify_invite(const struct conf *conf, const struct invite *inv,
    const char *code, const unsigned char hash[TOK_HASH_LEN],
    const char *inviter, struct notify_mail *m);

/* Hold the reset mail for u with its token (hash: the token_hash of its
 * password_resets row) in m.  ERR_OK or ERR_MAIL. */
enum err notify_reset(const struct conf *conf, const struct user *u,
    const char *token, const unsigned char hash[TOK_HASH_LEN],
    struct notify_mail *m);

/*
 * The transaction of the mail held in m ended with rc (of db_commit()
 * or db_commit_check(); DB_ERR also for a rollback): DB_OK queues it for
 * delivery, DB_ERR deletes it, DB_UNKNOWN leaves it for
 * notify_recover().  A mail that cannot be moved stays held (logged) and
 * is settled by notify_recover() too.  Accepts an m with nothing held.
 */
void notify_settle(const struct conf *conf, struct notify_mail *m,
    enum db_rc rc);

/*
 * Settle every mail held longer than [server] request_timeout (so that
 * its writer is gone): looked up by its row, it is queued if the row
 * exists and deleted if not; on a database error it stays for the next
 * time.  Run by each worker when it starts and then at most once a
 * minute, after answering a request.
 */
void notify_recover(struct db *db, const struct conf *conf);

/*
 * Queue the mail that confirms new_email as the address of u, with the
 * link [mail] email_url + "?token=" + token, valid until expires_at, to
 * new_email.  ERR_OK or ERR_MAIL.
 */
enum err notify_email_confirm(const struct conf *conf, const struct user *u,
    const char *new_email, const char *token, int64_t expires_at);

/*
 * Tell u's address (the old one) that it was changed to new_email, by the
 * user (by_admin 0: the link was opened) or by an administrator.  ERR_OK
 * or ERR_MAIL.
 */
enum err notify_email_changed(const struct conf *conf, const struct user *u,
    const char *new_email, int by_admin);

#endif
