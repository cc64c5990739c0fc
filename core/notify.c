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

/* Queue template name ("invite", "reset") rendered with vars to `to`. */
static enum err
notify_send(const struct conf *conf, const char *name, const char *to,
    const char *const *vars)
{
	char id[SPOOL_ID_SIZE];

	if (spool_mail(conf, name, vars, to, id, sizeof(id)) != ERR_OK) {
		log_warnx("notify: the %s mail to the spool failed", name);
		return ERR_MAIL;
	}
	log_info("notify: queued %s mail %s", name, id);
	return ERR_OK;
}

enum err
notify_invite(const struct conf *conf, const struct invite *inv,
    const char *code, const char *inviter)
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
	return notify_send(conf, "invite", inv->email, vars);
}

enum err
notify_reset(const struct conf *conf, const struct user *u,
    const char *token)
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
	return notify_send(conf, "reset", u->email, vars);
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
	return notify_send(conf, "email_confirm", new_email, vars);
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
	return notify_send(conf, "email_changed", u->email, vars);
}
