/*
 * h_mfa.c: two-factor sign-in: /auth/mfa (the sign-in's second step) and
 * /user/mfa/... (enrolment, recovery codes, turning it off).
 */
#include <string.h>

#include "handlers.h"
#include "mfa.h"

/* The answer of a sign-in whose password was right and whose account
 * has TOTP on: no tokens, the challenge of the second step. */
enum err
h_mfa_required(struct req *r, struct session_tokens *t)
{
	struct json_object *o;

	o = resp_new("A second factor is required");
	json_object_object_add(o, "mfa_required", json_object_new_boolean(1));
	json_object_object_add(o, "mfa_token",
	    json_object_new_string(t->mfa_token));
	json_object_object_add(o, "expires_in",
	    json_object_new_int(t->mfa_expires_in));
	resp_send(r, 200, o);
	tok_cleanse(t->mfa_token, sizeof(t->mfa_token));
	return ERR_OK;
}

/* A code is six digits; anything else is simply a wrong code. */
#define CODE_MAX 16
#define RECOVERY_MAX 32

/*
 * The code or (exclusive) the recovery code of v[ic] and v[ir] into
 * *code and *recovery (one of them NULL).  ERR_OK, or ERR_INVALID_FIELD
 * (neither or both).
 */
static enum err
one_code(struct req *r, const struct fval *c, const struct fval *rc,
    const char **code, const char **recovery)
{
	*code = c->present ? c->s : NULL;
	*recovery = rc->present ? rc->s : NULL;
	if ((*code == NULL) == (*recovery == NULL)) {
		r->err_field = "code";
		return ERR_INVALID_FIELD;
	}
	return ERR_OK;
}

enum { MF_TOKEN, MF_CODE, MF_RECOVERY, MF__MAX };
static const struct field finish_fields[] = {
	[MF_TOKEN] = { "mfa_token", F_STR, 1, 256, NULL, 0 },
	[MF_CODE] = { "code", F_STR, 0, CODE_MAX, NULL, 0 },
	[MF_RECOVERY] = { "recovery_code", F_STR, 0, RECOVERY_MAX, NULL, 0 },
};
FIELDS(finish_fields, MF__MAX);

enum err
h_auth_mfa(struct req *r)
{
	struct fval v[MF__MAX];
	struct session_tokens t = { 0 };
	const char *code, *recovery;
	struct user u;
	enum err e;

	if ((e = req_fields(r, finish_fields, MF__MAX, v)) != ERR_OK ||
	    (e = one_code(r, &v[MF_CODE], &v[MF_RECOVERY], &code, &recovery)) !=
		ERR_OK)
		return e;
	e = mfa_finish(r->db, r->conf, req_actor(r), v[MF_TOKEN].s, code,
	    recovery, req_user_agent(r), &u, &t);
	if (e == ERR_TOO_MANY_ATTEMPTS)
		r->retry_after = u.retry_after;
	count_signin(e,
	    recovery != NULL ? METRIC_SIGNIN_MFA_RECOVERY :
			       METRIC_SIGNIN_MFA_OK);
	if (e != ERR_OK)
		return e;
	return resp_login(r, 200, "Login successful", &t, &u, t.cookie);
}

static struct json_object *
codes_json(const struct mfa_codes *c)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < TOTP_RECOVERY_COUNT; i++)
		json_object_array_add(a, json_object_new_string(c->code[i]));
	return a;
}

enum err
h_mfa_get(struct req *r)
{
	struct mfa_status st;
	struct json_object *o, *m;
	enum err e;

	if ((e = mfa_status(r->db, r->p.user_id, &st)) != ERR_OK)
		return e == ERR_NOT_FOUND ? ERR_SESSION_REVOKED : e;
	m = json_object_new_object();
	json_object_object_add(m, "enabled",
	    json_object_new_boolean(st.enabled));
	json_object_object_add(m, "pending",
	    json_object_new_boolean(st.pending));
	json_object_object_add(m, "enabledAt", resp_time(st.enabled_at));
	json_object_object_add(m, "recoveryCodesLeft",
	    json_object_new_int(st.codes_left));
	json_object_object_add(m, "required",
	    json_object_new_boolean(st.required));
	json_object_object_add(m, "restricted",
	    json_object_new_boolean(r->p.restricted));
	o = resp_new("Two-factor sign-in");
	json_object_object_add(o, "mfa", m);
	resp_send(r, 200, o);
	return ERR_OK;
}

enum err
h_mfa_totp_start(struct req *r)
{
	struct mfa_enrolment en;
	struct json_object *o;
	enum err e;

	if ((e = mfa_enrol(r->db, r->conf, req_actor(r), &r->me, &en)) !=
	    ERR_OK)
		return e;
	o = resp_new("Scan the code, then confirm with a code of the app");
	json_object_object_add(o, "secret", json_object_new_string(en.secret));
	json_object_object_add(o, "otpauth_uri",
	    json_object_new_string(en.uri));
	json_object_object_add(o, "qr_svg", json_object_new_string(en.svg));
	resp_send(r, 201, o);
	mfa_free(&en);
	return ERR_OK;
}

enum { CF_CODE, CF__MAX };
static const struct field confirm_fields[] = {
	[CF_CODE] = { "code", F_STR, 1, CODE_MAX, NULL, 0 },
};
FIELDS(confirm_fields, CF__MAX);

enum err
h_mfa_totp_confirm(struct req *r)
{
	struct fval v[CF__MAX];
	struct mfa_codes codes;
	struct json_object *o;
	enum err e;

	if ((e = req_fields(r, confirm_fields, CF__MAX, v)) != ERR_OK ||
	    (e = mfa_confirm(r->db, r->conf, req_actor(r), r->p.sid,
		 v[CF_CODE].s, &codes)) != ERR_OK)
		return e;
	o = resp_new(
	    "Two-factor sign-in is on; keep the recovery codes "
	    "somewhere safe: they are shown only now");
	json_object_object_add(o, "recovery_codes", codes_json(&codes));
	resp_send(r, 200, o);
	tok_cleanse(&codes, sizeof(codes));
	return ERR_OK;
}

enum { RF_PASSWORD, RF_CODE, RF_RECOVERY, RF__MAX };
static const struct field recheck_fields[] = {
	[RF_PASSWORD] = { "password", F_STR, 1, 1024, NULL, 0 },
	[RF_CODE] = { "code", F_STR, 0, CODE_MAX, NULL, 0 },
	[RF_RECOVERY] = { "recovery_code", F_STR, 0, RECOVERY_MAX, NULL, 0 },
};
FIELDS(recheck_fields, RF__MAX);

enum err
h_mfa_totp_delete(struct req *r)
{
	struct fval v[RF__MAX];
	const char *code, *recovery;
	enum err e;

	if ((e = req_fields(r, recheck_fields, RF__MAX, v)) != ERR_OK ||
	    (e = one_code(r, &v[RF_CODE], &v[RF_RECOVERY], &code, &recovery)) !=
		ERR_OK ||
	    (e = mfa_disable(r->db, r->conf, req_actor(r), v[RF_PASSWORD].s,
		 code, recovery, &r->retry_after)) != ERR_OK)
		return e;
	resp_send(r, 200, resp_new("Two-factor sign-in is off"));
	return ERR_OK;
}

enum err
h_mfa_recovery_new(struct req *r)
{
	struct fval v[RF__MAX];
	struct mfa_codes codes;
	const char *code, *recovery;
	struct json_object *o;
	enum err e;

	if ((e = req_fields(r, recheck_fields, RF__MAX, v)) != ERR_OK ||
	    (e = one_code(r, &v[RF_CODE], &v[RF_RECOVERY], &code, &recovery)) !=
		ERR_OK ||
	    (e = mfa_recovery_new(r->db, r->conf, req_actor(r),
		 v[RF_PASSWORD].s, code, recovery, &codes, &r->retry_after)) !=
		ERR_OK)
		return e;
	o = resp_new("New recovery codes; the old ones no longer work");
	json_object_object_add(o, "recovery_codes", codes_json(&codes));
	resp_send(r, 200, o);
	tok_cleanse(&codes, sizeof(codes));
	return ERR_OK;
}
