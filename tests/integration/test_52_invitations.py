"""
Invitations: POST/GET /invitations, DELETE /invitations/{id}, POST
/invitations/{id}/resend, the preview GET /auth/invitation?code=, and
POST /auth/register with invitation_code; the mail in the spool, codes
stored only as hashes, used / revoked / expired codes, and ten
registrations racing on one code.
"""

import time
from datetime import datetime, timezone

from adminlib import (INVITE_URL, MISSING_ID, PREVIEW_KEYS, add_user,
                      ensure_env, expire_invitation, forgot, invite,
                      invite_code_from_mail, mails_to, new_admin, org_of,
                      one_mail_to, preview, register_ok, register_with,
                      reload, run_at_once, superadmin)
from lib import (db_dump, expect, expect_error, expect_login,
                 expect_timestamp, expect_user, http, login, new_email,
                 new_password, refusing, register, sha256_hex, sql_str,
                 uniq)

INVITATION_TTL = 604800  # [security] invitation_ttl, default 7 days


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc).timestamp()


def pending(token, query=""):
    j = expect(http("GET", "/invitations" + query, token=token), 200)
    assert isinstance(j.get("invitations"), list), j
    return j


def expect_preview(r, mail, role, org_name):
    j = expect(r, 200)
    i = j.get("invitation")
    assert isinstance(i, dict) and set(i) >= PREVIEW_KEYS, \
        "preview body: %s" % r.describe()
    assert "code" not in i, "the preview repeats the code: %r" % i
    assert i["email"] == mail and i["role"] == role and \
        i["organizationName"] == org_name, "preview %r, expected %r" % (
            i, (mail, role, org_name))
    expect_timestamp(i["expiresAt"], "preview expiresAt")
    return i


# ------------------------------------------------------------- create

def test_create_without_mail(stack):
    ensure_env(stack)
    a = new_admin(stack)
    mail = new_email()
    t0 = time.time()
    j = expect(http("POST", "/invitations",
                    {"email": mail, "send_email": False}, token=a.access),
               201)
    inv = j.get("invitation")
    from adminlib import check_invitation
    check_invitation(inv, mail, "user")   # default role user
    exp = ts(inv["expiresAt"])
    assert t0 + INVITATION_TTL - 60 <= exp <= time.time() + \
        INVITATION_TTL + 60, "expiresAt %s is not now + 7 days" % (
            inv["expiresAt"],)
    assert mails_to(stack, mail) == [], "send_email false queued a mail"
    # The code works.
    expect_preview(preview(inv["code"]), mail, "user", a.org)


def test_create_with_mail_by_default(stack):
    a = new_admin(stack)
    mail = new_email()
    j = expect(http("POST", "/invitations", {"email": mail, "role": "admin"},
                    token=a.access,
                    headers={"X-Forwarded-Host": "evil.example"}), 201)
    inv = j["invitation"]
    from adminlib import check_invitation
    check_invitation(inv, mail, "admin")
    code, m = invite_code_from_mail(stack, mail)
    assert code == inv["code"], "the mail's code differs from the answer's"
    assert INVITE_URL + "?code=" + code in m["body"]
    assert "evil.example" not in m["body"] and \
        "evil.example" not in inv["url"], (m["body"], inv["url"])
    # send_email true, explicitly: one more mail, to that address only.
    mail2 = new_email()
    inv2 = invite(a.access, mail2, send=True)
    code2, _ = invite_code_from_mail(stack, mail2)
    assert code2 == inv2["code"]
    assert len(mails_to(stack, mail)) == 1
    # The code from the mail works.
    expect_preview(preview(code), mail, "admin", a.org)
    u = register_ok(code, mail, a.org, "admin")
    assert u.user["organizationId"] == org_of(a)


def test_mail_names_the_inviter_as_now(stack):
    """The mail says who invites: the inviter's current name (read with
    the session, not from the token), else their username."""
    ensure_env(stack)
    a = register(name="Ada Lovelace")
    mail = new_email()
    invite(a.access, mail, send=True)
    _, m = invite_code_from_mail(stack, mail)
    assert "Ada Lovelace has invited you" in m["body"], m["body"]
    b = register()
    mail = new_email()
    invite(b.access, mail, send=True)
    _, m = invite_code_from_mail(stack, mail)
    assert b.username + " has invited you" in m["body"], m["body"]
    # Renamed: the next mail, with the same access token, has the new name.
    expect(http("PATCH", "/user/profile", {"name": "Grace Hopper"},
                token=b.access), 200)
    mail = new_email()
    invite(b.access, mail, send=True)
    _, m = invite_code_from_mail(stack, mail)
    assert "Grace Hopper has invited you" in m["body"], m["body"]
    # And a resend (its first mail here) names them the same way.
    mail = new_email()
    inv = invite(b.access, mail, send=False)
    expect(http("POST", "/invitations/%d/resend" % inv["id"],
                token=b.access), 200)
    _, m = invite_code_from_mail(stack, mail)
    assert "Grace Hopper has invited you" in m["body"], m["body"]


def test_code_is_stored_only_as_a_hash(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    cols = [r[0] for r in stack.mysql(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
        "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'invitations'")]
    assert "code_hash" in cols and "code" not in cols, cols
    dump = db_dump()
    assert inv["code"] not in dump, "the invitation code is stored"
    row = stack.mysql("SELECT HEX(code_hash) FROM invitations WHERE id = %d"
                      % inv["id"])
    assert row and row[0][0] == sha256_hex(inv["code"]), \
        "code_hash is not the SHA-256 of the code: %r" % row


def test_list_pending_without_codes(stack):
    a = new_admin(stack)
    i1 = invite(a.access)
    i2 = invite(a.access, role="admin")
    i3 = invite(a.access)
    i4 = invite(a.access)
    j = pending(a.access)
    got = {i["id"]: i for i in j["invitations"]}
    assert sorted(got) == sorted([i1["id"], i2["id"], i3["id"], i4["id"]]), j
    for inv in (i1, i2, i3, i4):
        item = got[inv["id"]]
        assert "code" not in item, "a listed invitation has its code"
        assert item["email"] == inv["email"] and item["role"] == \
            inv["role"], item
        expect_timestamp(item["expiresAt"], "listed expiresAt")
        assert inv["code"] not in j and inv["code"] not in str(j)
    # Used and revoked ones are not pending any more.
    register_ok(i1["code"], i1["email"], a.org, "user")
    expect(http("DELETE", "/invitations/%d" % i3["id"], token=a.access), 200)
    j = pending(a.access)
    assert sorted(i["id"] for i in j["invitations"]) == \
        sorted([i2["id"], i4["id"]]), j
    # Another organization lists only its own.
    b = new_admin(stack)
    assert pending(b.access)["invitations"] == []


# ------------------------------------------------------------- preview

def test_preview_does_not_consume(stack):
    a = new_admin(stack)
    inv = invite(a.access, role="admin")
    for _ in range(3):
        i = expect_preview(preview(inv["code"]), inv["email"], "admin",
                           a.org)
        assert i["expiresAt"] == inv["expiresAt"], i
    assert stack.mysql("SELECT used_at FROM invitations WHERE id = %d"
                       % inv["id"]) == [[None]]
    register_ok(inv["code"], inv["email"], a.org, "admin")


def test_preview_of_unknown_codes(stack):
    for q in ("", "?code=", "?code=" + "A" * 43, "?code=short",
              "?code=%zz", "?other=1"):
        expect_error(http("GET", "/auth/invitation" + q), 404,
                     "invalid_invitation", msg=q)
    expect_error(http("POST", "/auth/invitation", {}), 405,
                 "method_not_allowed")


# ------------------------------------------------------------ register

def test_register_with_code(stack):
    a = new_admin(stack)
    # Without a name.
    inv = invite(a.access)
    u = register_ok(inv["code"], inv["email"], a.org, "user")
    expect_user(u.user, organizationId=org_of(a), name="", lastLoginAt=None)
    expect(http("GET", "/user/profile", token=u.access), 200)
    expect(login(u.email, u.password), 200)
    # With a name, as admin.
    inv2 = invite(a.access, role="admin")
    v = register_ok(inv2["code"], inv2["email"], a.org, "admin",
                    name="Invited Admin")
    expect(http("GET", "/users", token=v.access), 200)
    # Both are in a's organization.
    j = expect(http("GET", "/users", token=a.access), 200)
    assert sorted(x["id"] for x in j["users"]) == sorted([a.id, u.id, v.id])
    # An email field in the body does not override the invitation's.
    inv3 = invite(a.access)
    r, username, _ = register_with(inv3["code"])
    body = {"invitation_code": invite(a.access)["code"],
            "username": uniq("inv"), "password": new_password(),
            "email": new_email(), "organization": uniq("Org ")}
    j = expect_login(http("POST", "/auth/register", body), 201,
                     role="user", organizationName=a.org)
    assert j["user"]["email"] != body["email"], j["user"]
    expect_login(r, 201, username=username, organizationName=a.org)


def test_register_errors_leave_the_code_usable(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    code = inv["code"]
    r, _, _ = register_with(code, username=a.username)
    expect_error(r, 409, "username_taken")
    r, _, _ = register_with(code, password="short")
    expect_error(r, 400, "weak_password")
    r, _, _ = register_with(code, username="a b")
    expect_error(r, 400, "invalid_field", field="username")
    expect_error(http("POST", "/auth/register",
                      {"invitation_code": code,
                       "password": new_password()}),
                 400, "invalid_field", field="username")
    expect_error(http("POST", "/auth/register",
                      {"invitation_code": code, "username": uniq()}),
                 400, "invalid_field", field="password")
    expect_error(http("POST", "/auth/register",
                      {"invitation_code": 5, "username": uniq(),
                       "password": new_password()}),
                 400, "invalid_field", field="invitation_code")
    r, _, _ = register_with("A" * 43)
    expect_error(r, 404, "invalid_invitation")
    r, _, _ = register_with("nope")
    expect_error(r, 404, "invalid_invitation")
    # Still pending and usable.
    expect_preview(preview(code), inv["email"], "user", a.org)
    register_ok(code, inv["email"], a.org, "user")


def test_a_registration_whose_session_cannot_be_stored_keeps_the_code(
        stack):
    """The account, the invitation marked used, the audit event and the
    session are one transaction: when the session cannot be stored the
    answer is 503, there is no account and the code still works."""
    a = new_admin(stack)
    inv = invite(a.access)
    username = uniq("nosess")
    cond = "NEW.user_id IN (SELECT id FROM users WHERE username = %s)" \
        % sql_str(username)
    with refusing(stack, "sessions", "INSERT", cond):
        r, _, _ = register_with(inv["code"], username=username)
        expect_error(r, 503, "service_unavailable")
    assert stack.mysql("SELECT COUNT(*) FROM users WHERE username = %s"
                       % sql_str(username)) == [["0"]], \
        "a registration answered 503 left its account behind"
    expect(preview(inv["code"]), 200)
    register_ok(inv["code"], inv["email"], a.org, "user")


def test_register_with_code_while_registration_is_closed(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    try:
        reload(stack, {"security.allow_new_organizations": False})
        r = http("POST", "/auth/register",
                 {"organization": uniq("Org "), "username": uniq(),
                  "email": new_email(), "password": new_password()})
        expect_error(r, 403, "registration_closed")
        register_ok(inv["code"], inv["email"], a.org, "user")
    finally:
        reload(stack, {"security.allow_new_organizations": True})


def test_used_code_is_409(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    register_ok(inv["code"], inv["email"], a.org, "user")
    expect_error(preview(inv["code"]), 409, "invitation_used")
    r, username, pw = register_with(inv["code"])
    expect_error(r, 409, "invitation_used")
    expect_error(login(username, pw), 401, "invalid_credentials")
    # Revoking a used invitation is not possible: it is not pending.
    expect_error(http("DELETE", "/invitations/%d" % inv["id"],
                      token=a.access), 404, "not_found")
    expect_error(http("POST", "/invitations/%d/resend" % inv["id"],
                      token=a.access), 404, "not_found")
    expect_error(preview(inv["code"]), 409, "invitation_used")


def test_revoked_code_is_404(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    j = expect(http("DELETE", "/invitations/%d" % inv["id"], token=a.access),
               200)
    assert j["success"] is True
    expect_error(preview(inv["code"]), 404, "invalid_invitation")
    r, username, pw = register_with(inv["code"])
    expect_error(r, 404, "invalid_invitation")
    expect_error(login(username, pw), 401, "invalid_credentials")
    # Twice, and a missing id.
    expect_error(http("DELETE", "/invitations/%d" % inv["id"],
                      token=a.access), 404, "not_found")
    expect_error(http("DELETE", "/invitations/%d" % MISSING_ID,
                      token=a.access), 404, "not_found")
    # A revoked invitation cannot be resent back to life.
    expect_error(http("POST", "/invitations/%d/resend" % inv["id"],
                      token=a.access), 404, "not_found")
    expect_error(preview(inv["code"]), 404, "invalid_invitation")


def test_expired_code_is_410(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    expire_invitation(stack, inv["id"])
    expect_error(preview(inv["code"]), 410, "invitation_expired")
    r, username, pw = register_with(inv["code"])
    expect_error(r, 410, "invitation_expired")
    expect_error(login(username, pw), 401, "invalid_credentials")
    assert stack.mysql("SELECT used_at FROM invitations WHERE id = %d"
                       % inv["id"]) == [[None]]


def test_resend_replaces_the_code(stack):
    a = new_admin(stack)
    mail = new_email()
    inv = invite(a.access, mail, send=False)
    old = inv["code"]
    # Let it expire: the resend gives a new expiry, too.
    expire_invitation(stack, inv["id"])
    j = expect(http("POST", "/invitations/%d/resend" % inv["id"],
                    token=a.access), 200)
    assert old not in str(j), "the resend answer shows a code"
    new, m = invite_code_from_mail(stack, mail)
    assert new != old, "resend kept the code"
    expect_error(preview(old), 404, "invalid_invitation")
    r, _, _ = register_with(old)
    expect_error(r, 404, "invalid_invitation")
    i = expect_preview(preview(new), mail, "user", a.org)
    assert ts(i["expiresAt"]) > time.time() + INVITATION_TTL - 120, \
        "resend did not renew the expiry: %r" % i
    # Still one pending invitation, the same id.
    assert [x["id"] for x in pending(a.access)["invitations"]] == [inv["id"]]
    # A second resend replaces the second code too.
    expect(http("POST", "/invitations/%d/resend" % inv["id"],
                token=a.access), 200)
    ms = mails_to(stack, mail)
    assert len(ms) == 2, "expected two mails after two resends: %d" % len(ms)
    from adminlib import link_param
    codes = {link_param(x["body"], INVITE_URL, "code") for x in ms}
    assert new in codes and len(codes) == 2, codes
    newest = (codes - {new}).pop()
    expect_error(preview(new), 404, "invalid_invitation")
    register_ok(newest, mail, a.org, "user")
    expect_error(http("POST", "/invitations/%d/resend" % MISSING_ID,
                      token=a.access), 404, "not_found")


def test_invite_existing_email_is_409(stack):
    a = new_admin(stack)
    other = new_admin(stack)
    for mail in (a.email, a.email.upper(), other.email):
        expect_error(http("POST", "/invitations",
                          {"email": mail, "send_email": True},
                          token=a.access), 409, "email_taken", msg=mail)
        assert mails_to(stack, mail) == [], "a refused invitation mailed"
    assert pending(a.access)["invitations"] == []


def test_invitation_fields_and_roles(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    # An admin cannot invite a superadmin.
    mail = new_email()
    expect_error(http("POST", "/invitations",
                      {"email": mail, "role": "superadmin"},
                      token=a.access), 403, "forbidden")
    assert mails_to(stack, mail) == []
    for body, field in (({"email": "nope"}, "email"),
                        ({"email": 7}, "email"),
                        ({}, "email"),
                        ({"email": new_email(), "role": "boss"}, "role"),
                        ({"email": new_email(), "send_email": "yes"},
                         "send_email"),
                        ({"email": new_email(), "send_email": 1},
                         "send_email")):
        expect_error(http("POST", "/invitations", body, token=a.access),
                     400, "invalid_field", field=field, msg=repr(body))
    assert pending(a.access)["invitations"] == []
    # A plain user cannot invite.
    expect_error(http("POST", "/invitations", {"email": new_email()},
                      token=u.access), 403, "forbidden")


def test_superadmin_invites_into_any_organization(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    b = new_admin(stack)
    inv = invite(sa.access, org_body=org_of(a), role="admin")
    expect_preview(preview(inv["code"]), inv["email"], "admin", a.org)
    # The query wins over the body.
    inv2 = invite(sa.access, org_body=org_of(a),
                  query="?organization_id=%d" % org_of(b))
    expect_preview(preview(inv2["code"]), inv2["email"], "user", b.org)
    # A superadmin may invite a superadmin.
    inv3 = invite(sa.access, org_body=org_of(b), role="superadmin")
    s = register_ok(inv3["code"], inv3["email"], b.org, "superadmin")
    assert s.user["organizationId"] == org_of(b)
    # The lists.
    assert [i["id"] for i in pending(a.access)["invitations"]] == [inv["id"]]
    assert [i["id"] for i in pending(b.access)["invitations"]] == \
        [inv2["id"]]
    assert [i["id"] for i in pending(
        sa.access, "?organization_id=%d" % org_of(a))["invitations"]] == \
        [inv["id"]]
    # Revoke and resend across organizations, through the query.
    q = "?organization_id=%d" % org_of(b)
    expect_error(http("DELETE", "/invitations/%d" % inv2["id"],
                      token=sa.access), 404, "not_found")
    expect(http("POST", "/invitations/%d/resend%s" % (inv2["id"], q),
                token=sa.access), 200)
    expect_error(preview(inv2["code"]), 404, "invalid_invitation")
    expect(http("DELETE", "/invitations/%d%s" % (inv2["id"], q),
                token=sa.access), 200)
    assert pending(b.access)["invitations"] == []
    # A missing organization.
    expect_error(http("POST", "/invitations",
                      {"email": new_email(), "send_email": False,
                       "organizationId": MISSING_ID}, token=sa.access),
                 404, "not_found")
    # An admin's organizationId is ignored.
    inv4 = invite(a.access, org_body=org_of(b),
                  query="?organization_id=%d" % org_of(b))
    expect_preview(preview(inv4["code"]), inv4["email"], "user", a.org)


# --------------------------------------------------------------- race

def test_ten_registrations_race_on_one_code(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    names = [uniq("race") for _ in range(10)]
    pws = [new_password() for _ in range(10)]
    calls = [(lambda n=n, p=p: http(
        "POST", "/auth/register", {"invitation_code": inv["code"],
                                   "username": n, "password": p}))
             for n, p in zip(names, pws)]
    rs = run_at_once(calls)
    won = [r for r in rs if r.status == 201]
    assert len(won) == 1, "exactly one registration must win:\n" + \
        "\n".join(r.describe() for r in rs)
    for r in rs:
        if r.status != 201:
            expect_error(r, 409, "invitation_used")
    winner = won[0].json["user"]
    assert winner["email"] == inv["email"] and winner["role"] == "user"
    n = stack.mysql("SELECT COUNT(*) FROM users WHERE email_norm = '%s'"
                    % inv["email"].lower())
    assert n == [["1"]], "users with the invitation's email: %r" % n
    # Only the winner can sign in.
    for name, pw in zip(names, pws):
        r = login(name, pw)
        if name == winner["username"]:
            expect(r, 200)
        else:
            expect_error(r, 401, "invalid_credentials")
    expect_error(preview(inv["code"]), 409, "invitation_used")


def test_email_taken_since_the_invitation(stack):
    a = new_admin(stack)
    inv = invite(a.access)
    # Someone registers that address elsewhere before the invitee.
    register(email=inv["email"].upper())
    r, username, pw = register_with(inv["code"])
    expect_error(r, 409, "email_taken")
    expect_error(login(username, pw), 401, "invalid_credentials")
    # The invitation was not consumed by the refusal.
    assert stack.mysql("SELECT used_at FROM invitations WHERE id = %d"
                       % inv["id"]) == [[None]]
    expect_preview(preview(inv["code"]), inv["email"], "user", a.org)


def test_mail_that_cannot_be_queued_changes_nothing(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    pending_inv = invite(a.access)
    mail_dir = stack.config_values()["mail"]["template_dir"]
    try:
        reload(stack, {("mail", "template_dir"):
                       stack.dir + "/no-such-template-dir"})
        mail = new_email()
        expect_error(http("POST", "/invitations", {"email": mail},
                          token=a.access), 503, "mail_unavailable")
        assert mails_to(stack, mail) == []
        assert [i["id"] for i in pending(a.access)["invitations"]] == \
            [pending_inv["id"]], "a refused invitation was stored"
        # Without a mail, invitations still work.
        inv = invite(a.access, send=False)
        expect(preview(inv["code"]), 200)
        # A resend that cannot mail keeps the old code.
        expect_error(http("POST", "/invitations/%d/resend"
                          % pending_inv["id"], token=a.access), 503,
                     "mail_unavailable")
        expect_preview(preview(pending_inv["code"]), pending_inv["email"],
                       "user", a.org)
        # POST /organizations with admin_email: no organization either.
        name = uniq("Org ")
        expect_error(http("POST", "/organizations",
                          {"name": name, "admin_email": new_email()},
                          token=sa.access), 503, "mail_unavailable")
        assert stack.mysql("SELECT COUNT(*) FROM organizations WHERE name "
                           "= '%s'" % name) == [["0"]]
        # The reset request still answers 202, whatever happened.
        expect(forgot(stack, a.email), 202)
        assert stack.mysql("SELECT COUNT(*) FROM password_resets WHERE "
                           "user_id = %d" % a.id) == [["0"]], \
            "a reset token whose mail was never queued was stored"
    finally:
        reload(stack, {("mail", "template_dir"): mail_dir})
