"""
Changing an email address (docs/api.md, "PATCH /user/profile", "POST
/user/email/confirm", "PATCH /users/{id}"):

- by the user: the current password is required (and a wrong one counts
  like a failed sign-in); the new address gets a single-use link and
  takes effect only when it is opened; the old address is told; pending
  password-reset tokens die with the old address;
- by an admin: at once, the old address told, the user's reset tokens
  and pending change voided, audited; never for the admin's own address,
  which goes through the profile like anyone's.
"""

import os
import shutil

import lib
from adminlib import (RESET_URL, add_user, ensure_env, events, forgot,
                      limits, link_param, mails_to, make_superadmin,
                      new_admin, one_mail_to, reload, retry_after,
                      user_row)
from lib import (expect, expect_error, expect_login, expect_token_works,
                 expect_user, http, login, new_email, new_password, profile,
                 register)

EMAIL_URL = "https://app.example.test/email"


def patch(token, body):
    return http("PATCH", "/user/profile", body, token=token)


def confirm(token):
    return http("POST", "/user/email/confirm", {"token": token})


def setup(stack):
    ensure_env(stack)
    if stack.config_values().get("mail", {}).get("email_url") != EMAIL_URL:
        reload(stack, {("mail", "email_url"): EMAIL_URL})


def confirm_token(stack, addr):
    m = one_mail_to(stack, addr, "confirmation mail")
    return link_param(m["body"], EMAIL_URL, "token"), m


def request_change(stack, a, new=None):
    """PATCH /user/profile with a new address and the password; the
    token from the confirmation mail."""
    new = new or new_email()
    j = expect(patch(a.access, {"email": new,
                                "current_password": a.password}), 200)
    expect_user(j["user"], id=a.id, email=a.email)
    lib.expect_eq(j.get("pendingEmail"), new, "pendingEmail")
    token, _ = confirm_token(stack, new)
    return new, token


def stored_email(stack, uid):
    return user_row(stack, uid)[4]


# ------------------------------------------------------------ request

def test_email_change_needs_the_current_password(stack):
    setup(stack)
    a = register()
    new = new_email()
    expect_error(patch(a.access, {"email": new}), 400, "invalid_field",
                 field="current_password")
    expect_error(patch(a.access, {"email": new, "name": "Eve"}), 400,
                 "invalid_field", field="current_password")
    expect_error(patch(a.access, {"email": new, "current_password": 5}),
                 400, "invalid_field", field="current_password")
    expect_error(patch(a.access, {"email": new,
                                  "current_password": "wrong-" +
                                  a.password}), 401, "invalid_credentials")
    j = expect(profile(a.access), 200)
    expect_user(j["user"], email=a.email, name="")
    assert mails_to(stack, new) == [], "a mail went to %s" % new
    # A wrong password did not end the session.
    expect_token_works(a.access)


def test_wrong_passwords_lock_the_account_like_sign_ins(stack):
    setup(stack)
    with limits(stack, limits__login_max_failures=3,
                limits__login_window=60, limits__login_max_delay=48):
        a = register()
        for _ in range(3):
            expect_error(patch(a.access, {"email": new_email(),
                                          "current_password": "guess"}),
                         401, "invalid_credentials")
        r = patch(a.access, {"email": new_email(),
                             "current_password": a.password})
        expect_error(r, 429, "too_many_attempts")
        retry_after(r)
        expect_error(login(a.username, a.password), 429,
                     "too_many_attempts")
        assert stored_email(stack, a.id) == a.email


def test_email_change_by_confirmation(stack):
    setup(stack)
    a = register(name="Ada")
    new = new_email()
    j = expect(patch(a.access, {"email": new, "name": "Ada L.",
                                "current_password": a.password}), 200)
    # The name changes at once, the address once confirmed.
    expect_user(j["user"], id=a.id, email=a.email, name="Ada L.")
    lib.expect_eq(j.get("pendingEmail"), new, "pendingEmail")
    assert stored_email(stack, a.id) == a.email
    token, m = confirm_token(stack, new)
    assert len(token) >= 43, "a token of fewer than 256 bits: %r" % token
    assert EMAIL_URL + "?token=" + token in m["body"]
    assert a.username in m["body"], m["body"]
    assert token not in lib.db_dump(), "the token is stored in clear"
    # Until confirmed, the old address signs in and the new one does not.
    expect_error(login(new, a.password), 401, "invalid_credentials")
    expect(login(a.email, a.password), 200)
    # A reset token asked for before the change dies with it.
    expect(forgot(stack, a.email), 202)
    reset_token = link_param(one_mail_to(stack, a.email, "reset mail")
                             ["body"], RESET_URL, "token")
    # No authentication: the token is the proof.
    j = expect(confirm(token), 200)
    expect_user(j["user"], id=a.id, email=new, name="Ada L.",
                username=a.username)
    assert stored_email(stack, a.id) == new
    expect_login(login(new.upper(), a.password), 200, username=a.username)
    expect_error(login(a.email, a.password), 401, "invalid_credentials")
    expect_user(expect(profile(a.access), 200)["user"], email=new)
    # The old address is told where its mail goes now.
    notices = [x for x in mails_to(stack, a.email)
               if RESET_URL not in x["body"]]
    assert len(notices) == 1, "no notice to the old address: %r" % [
        x["subject"] for x in mails_to(stack, a.email)]
    assert new in notices[0]["body"], notices[0]["body"]
    assert token not in notices[0]["body"]
    expect_error(http("POST", "/auth/password/reset",
                      {"token": reset_token, "password": new_password()}),
                 400, "invalid_token")
    # Single use.
    expect_error(confirm(token), 400, "invalid_token")
    # Audited: the request and the change.
    evs = events(a.access, "?event=email.change")["events"]
    assert [(e["actorId"], e["targetId"], e["detail"]) for e in evs] == \
        [(a.id, a.id, new)], evs
    evs = events(a.access, "?event=email.change.request")["events"]
    assert [(e["actorId"], e["targetId"], e["detail"]) for e in evs] == \
        [(a.id, a.id, new)], evs
    # The old address is free again.
    register(email=a.email)


def test_a_newer_request_replaces_the_pending_one(stack):
    setup(stack)
    a = register()
    first, t1 = request_change(stack, a)
    second, t2 = request_change(stack, a)
    expect_error(confirm(t1), 400, "invalid_token")
    expect_user(expect(confirm(t2), 200)["user"], email=second)
    assert stored_email(stack, a.id) == second


def test_confirmation_errors(stack):
    setup(stack)
    a = register()
    new, token = request_change(stack, a)
    for bad in ("A" * 43, "short", "x" * 256, token[:-1] + (
            "A" if token[-1] != "A" else "B")):
        expect_error(confirm(bad), 400, "invalid_token", msg=bad)
    for body in ({}, {"token": ""}, {"token": 5}, {"token": "x" * 257}):
        expect_error(http("POST", "/user/email/confirm", body), 400,
                     "invalid_field", field="token", msg=repr(body))
    expect_error(http("GET", "/user/email/confirm"), 405,
                 "method_not_allowed")
    # Expired.
    stack.mysql("UPDATE email_changes SET expires_at = UNIX_TIMESTAMP() - 5"
                " WHERE user_id = %d" % a.id)
    expect_error(confirm(token), 400, "invalid_token")
    assert stored_email(stack, a.id) == a.email


def test_confirmation_for_a_disabled_account(stack):
    setup(stack)
    adm = new_admin(stack)
    u = add_user(adm.access)
    new, token = request_change(stack, u)
    expect(http("POST", "/users/%d/disable" % u.id, token=adm.access), 200)
    expect_error(confirm(token), 400, "invalid_token")
    assert stored_email(stack, u.id) == u.email


def test_address_taken_before_the_confirmation(stack):
    setup(stack)
    a = register()
    new, token = request_change(stack, a)
    b = register(email=new.upper())
    expect_error(confirm(token), 409, "email_taken")
    assert stored_email(stack, a.id) == a.email
    assert stored_email(stack, b.id) == new.upper()
    # Asked for again, the taken address is refused at once.
    expect_error(patch(a.access, {"email": new,
                                  "current_password": a.password}),
                 409, "email_taken")


def test_same_address_in_another_case_needs_no_password(stack):
    setup(stack)
    a = register()
    j = expect(patch(a.access, {"email": a.email.upper()}), 200)
    expect_user(j["user"], email=a.email.upper())
    assert "pendingEmail" not in j, j
    assert mails_to(stack, a.email) == []


def test_confirmation_mail_limit(stack):
    setup(stack)
    a = register()
    new = new_email()
    with limits(stack, mail__min_interval=60):
        request_change(stack, a, new)
        r = patch(a.access, {"email": new, "current_password": a.password})
        expect_error(r, 429, "too_many_requests")
        retry_after(r)
        assert len(mails_to(stack, new)) == 1
        # Another address is not held back.
        request_change(stack, a)


def test_nothing_changes_when_the_mail_cannot_be_queued(stack):
    setup(stack)
    a = register()
    old = stack.config_values()["mail"]["template_dir"]
    bare = os.path.join(stack.tmp, "templates-without-email")
    os.makedirs(bare, exist_ok=True)
    for n in ("invite.txt", "reset.txt"):
        shutil.copy(os.path.join(old, n), bare)
    new = new_email()
    reload(stack, {("mail", "template_dir"): bare})
    try:
        for _ in range(3):   # reach every worker
            expect_error(patch(a.access, {"email": new, "name": "Changed",
                                          "current_password": a.password}),
                         503, "mail_unavailable")
    finally:
        reload(stack, {("mail", "template_dir"): old})
    j = expect(profile(a.access), 200)
    expect_user(j["user"], email=a.email, name="")
    assert stack.mysql("SELECT COUNT(*) FROM email_changes WHERE user_id = "
                       "%d" % a.id) == [["0"]]


# -------------------------------------------------------------- admin

def test_admin_changes_an_address_at_once(stack):
    setup(stack)
    adm = new_admin(stack)
    u = add_user(adm.access)
    pending, token = request_change(stack, u)
    expect(forgot(stack, u.email), 202)
    reset_token = link_param(one_mail_to(stack, u.email, "reset mail")
                             ["body"], RESET_URL, "token")
    new = new_email()
    j = expect(http("PATCH", "/users/%d" % u.id, {"email": new},
                    token=adm.access), 200)
    expect_user(j["user"], id=u.id, email=new)
    expect(login(new, u.password), 200)
    # The old address is told, by whom, and where its mail goes.
    notices = [x for x in mails_to(stack, u.email)
               if RESET_URL not in x["body"]]
    assert len(notices) == 1 and new in notices[0]["body"], notices
    assert "administrator" in notices[0]["body"], notices[0]["body"]
    # Reset tokens of the old address and the user's own pending change
    # are void.
    expect_error(http("POST", "/auth/password/reset",
                      {"token": reset_token, "password": new_password()}),
                 400, "invalid_token")
    expect_error(confirm(token), 400, "invalid_token")
    assert stored_email(stack, u.id) == new
    evs = events(adm.access, "?event=email.change")["events"]
    assert [(e["actorId"], e["targetId"], e["detail"]) for e in evs] == \
        [(adm.id, u.id, new)], evs
    # A case change only is no change of address: no notice.
    expect(http("PATCH", "/users/%d" % u.id, {"email": new.upper()},
                token=adm.access), 200)
    assert mails_to(stack, new) == []


def test_admin_cannot_change_its_own_address_without_the_password(stack):
    setup(stack)
    adm = new_admin(stack)
    for who in (adm, make_superadmin(stack)):
        expect_error(http("PATCH", "/users/%d" % who.id,
                          {"email": new_email(), "name": "Renamed"},
                          token=who.access), 403, "forbidden")
        assert stored_email(stack, who.id) == who.email
        # Its name, and its address in another case, it may.
        expect(http("PATCH", "/users/%d" % who.id,
                    {"email": who.email.upper(), "name": "Renamed"},
                    token=who.access), 200)
        expect(http("PATCH", "/users/%d" % who.id,
                    {"email": who.email}, token=who.access), 200)
    # Through the profile, as for anyone.
    new, token = request_change(stack, adm)
    expect_user(expect(confirm(token), 200)["user"], email=new)
