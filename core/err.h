/*
 * err.h: the one error enum of the service.
 *
 * core/ returns these; fcgi/resp.c maps each to its HTTP status and the
 * contract's error code in exactly one table, and err.c to a short text
 * (err_str()).  Both tables are indexed by this enum and sized by
 * ERR__MAX: a new error gets its entry in each.
 */
#ifndef LATCH_ERR_H
#define LATCH_ERR_H

enum err {
	ERR_OK = 0,
	ERR_NOMEM,               /* 500 internal_error */
	ERR_SYS,                 /* 500 internal_error */
	ERR_DB,                  /* 503 service_unavailable */
	ERR_INVALID_JSON,        /* 400 */
	ERR_INVALID_FIELD,       /* 400, with "field" */
	ERR_WEAK_PASSWORD,       /* 400 */
	ERR_BAD_RESET_TOKEN,     /* 400 invalid_token (password reset) */
	ERR_MISSING_TOKEN,       /* 401 */
	ERR_INVALID_TOKEN,       /* 401 */
	ERR_TOKEN_EXPIRED,       /* 401 */
	ERR_SESSION_REVOKED,     /* 401 */
	ERR_INVALID_CREDENTIALS, /* 401 */
	ERR_ACCOUNT_DISABLED,    /* 403 */
	ERR_FORBIDDEN,           /* 403 */
	ERR_REGISTRATION_CLOSED, /* 403 */
	ERR_NOT_FOUND,           /* 404 */
	ERR_INVALID_INVITATION,  /* 404 */
	ERR_METHOD_NOT_ALLOWED,  /* 405 */
	ERR_USERNAME_TAKEN,      /* 409 */
	ERR_EMAIL_TAKEN,         /* 409 */
	ERR_ORG_TAKEN,           /* 409 organization_taken */
	ERR_SETUP_DONE,          /* 409 */
	ERR_LAST_ADMIN,          /* 409 */
	ERR_INVITATION_USED,     /* 409 */
	ERR_INVITATION_EXPIRED,  /* 410 */
	ERR_BODY_TOO_LARGE,      /* 413 */
	ERR_UNSUPPORTED_MEDIA,   /* 415 */
	ERR_TOO_MANY_ATTEMPTS,   /* 429, per account */
	ERR_TOO_MANY_REQUESTS,   /* 429, per IP */
	ERR_MAIL,                /* 503 mail_unavailable: spool refused */
	ERR_CSRF,                /* 403 csrf: cookie auth, no X-Latch-CSRF */
	ERR_BAD_EMAIL_TOKEN,     /* 400 invalid_token (email confirmation) */
	ERR_UNKNOWN,             /* 503 outcome_unknown: the connection to the
	                            database broke while a change was being
	                            stored, and whether it was is unknown */
	ERR_INVALID_CODE,        /* 400: a wrong, used or malformed one-time
	                            or recovery code */
	ERR_MFA_ENABLED,         /* 409: TOTP is already on */
	ERR_MFA_NOT_ENROLLED,    /* 409: no TOTP (or no pending enrolment) */
	ERR_MFA_ENROLLMENT_REQUIRED, /* 403: a restricted session */
	ERR_MFA_REQUIRED,            /* 403: the organization requires TOTP */
	ERR_MFA_UNAVAILABLE,         /* 503: no [security] mfa_key */
	ERR_SETTING_PINNED, /* 403 setting_pinned: the config pins it */
	ERR__MAX
};

/*
 * What e means, in a few lower-case words ("the username is taken"), for
 * log lines and latchctl's messages: static, never NULL ("unknown error"
 * for a value outside the enum).  Never what a client is told: that is
 * fcgi/resp.c's table.
 */
const char *err_str(enum err e);

#endif
