/*
 * notify.h: the mails latch sends, rendered from the templates in
 * [mail] template_dir and put into the spool for latch-mailer.
 */
#ifndef LATCH_NOTIFY_H
#define LATCH_NOTIFY_H

#include "conf.h"
#include "err.h"
#include "invite.h"
#include "user.h"

/*
 * The link of an invitation or reset: [mail] invite_url/reset_url plus
 * "?code="/"?token=" and the token, into out.  "" when the URL is not
 * configured.  Returns 0, or -1 if it does not fit.
 */
int notify_link(const char *base, const char *param, const char *token,
    char *out, size_t outsz);

/*
 * Queue the invitation mail for inv with its code; inviter is a display
 * name or "".  ERR_OK, or ERR_MAIL when the spool cannot take it.
 */
enum err notify_invite(const struct conf *conf, const struct invite *inv,
    const char *code, const char *inviter);

/* Queue the reset mail for u with its token.  ERR_OK or ERR_MAIL. */
enum err notify_reset(const struct conf *conf, const struct user *u,
    const char *token);

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
