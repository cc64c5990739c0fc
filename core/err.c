/*
 * err.c: the text of each error of err.h (as kcgi's kcgi_strerror()).
 */
#include <stddef.h>

#include "err.h"

static const char *const texts[] = {
	[ERR_OK] = "success",
	[ERR_NOMEM] = "out of memory",
	[ERR_SYS] = "internal error",
	[ERR_DB] = "database error (see the log)",
	[ERR_INVALID_JSON] = "the body is not one JSON object",
	[ERR_INVALID_FIELD] = "invalid value",
	[ERR_WEAK_PASSWORD] = "the password is too short or too long",
	[ERR_BAD_RESET_TOKEN] = "the reset token is invalid or expired",
	[ERR_MISSING_TOKEN] = "no token",
	[ERR_INVALID_TOKEN] = "the token is invalid",
	[ERR_TOKEN_EXPIRED] = "the token has expired",
	[ERR_SESSION_REVOKED] = "the session has ended",
	[ERR_INVALID_CREDENTIALS] = "invalid credentials",
	[ERR_ACCOUNT_DISABLED] = "the account is disabled",
	[ERR_FORBIDDEN] = "not allowed",
	[ERR_REGISTRATION_CLOSED] = "registration is closed",
	[ERR_NOT_FOUND] = "not found",
	[ERR_INVALID_INVITATION] = "the invitation code is not valid",
	[ERR_METHOD_NOT_ALLOWED] = "method not allowed",
	[ERR_USERNAME_TAKEN] = "the username is taken",
	[ERR_EMAIL_TAKEN] = "the email is taken",
	[ERR_ORG_TAKEN] = "the organization name is taken",
	[ERR_SETUP_DONE] = "setup is already done",
	[ERR_LAST_ADMIN] = "the last active admin cannot be removed",
	[ERR_INVITATION_USED] = "the invitation was already used",
	[ERR_INVITATION_EXPIRED] = "the invitation has expired",
	[ERR_BODY_TOO_LARGE] = "the body is too large",
	[ERR_UNSUPPORTED_MEDIA] = "the body is not application/json",
	[ERR_TOO_MANY_ATTEMPTS] = "too many failed sign-ins",
	[ERR_TOO_MANY_REQUESTS] = "too many requests",
	[ERR_MAIL] = "the mail could not be queued",
	[ERR_CSRF] = "no matching CSRF header",
	[ERR_BAD_EMAIL_TOKEN] =
	    "the confirmation token is invalid or "
	    "expired",
	[ERR_UNKNOWN] =
	    "the database connection broke during the change; "
	    "check whether it was made",
	[ERR_INVALID_CODE] = "the code is wrong or was used already",
	[ERR_MFA_ENABLED] = "two-factor sign-in is already on",
	[ERR_MFA_NOT_ENROLLED] = "two-factor sign-in is not on",
	[ERR_MFA_ENROLLMENT_REQUIRED] =
	    "the session may only enrol a second "
	    "factor",
	[ERR_MFA_REQUIRED] = "the organization requires two-factor sign-in",
	[ERR_MFA_UNAVAILABLE] = "no mfa_key is configured",
	[ERR_SETTING_PINNED] = "the configuration pins this setting",
};
_Static_assert(sizeof(texts) / sizeof(texts[0]) == ERR__MAX,
    "one text per error");

const char *
err_str(enum err e)
{
	if ((int)e < 0 || e >= ERR__MAX || texts[e] == NULL)
		return "unknown error";
	return texts[e];
}
