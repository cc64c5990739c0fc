"""
Password reset: POST /auth/password/forgot, POST /auth/password/reset and
the reset mail.
"""

from adminlib import (RESET_URL, add_user, ensure_env, forgot, mails_to,
                      new_admin, relogin, reset, reset_token_from_mail)
from lib import (expect, expect_error, expect_login, expect_token_revoked,
                 expect_token_works, http, login, new_email, new_password,
                 refresh)


# -------------------------------------------------------------- forgot

def test_forgot_unknown_email_is_202_without_mail(stack):
    ensure_env(stack)
    mail = new_email()
    j = expect(forgot(stack, mail), 202)
    assert j["success"] is True
    assert mails_to(stack, mail) == [], "a reset mail for an unknown address"
    known = new_admin(stack)
    k = expect(forgot(stack, known.email), 202)
    assert k["message"] == j["message"], "the answer tells whether the " \
        "account exists: %r vs %r" % (j, k)
    assert set(k) == set(j)


def test_forgot_for_a_disabled_account_sends_nothing(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    expect(http("POST", "/users/%d/disable" % u.id, token=a.access), 200)
    expect(forgot(stack, u.email), 202)
    assert mails_to(stack, u.email) == [], "a reset mail for a disabled " \
        "account"
    assert stack.mysql("SELECT COUNT(*) FROM password_resets WHERE "
                       "user_id = %d" % u.id) == [["0"]]


def test_forgot_field_errors(stack):
    expect_error(http("POST", "/auth/password/forgot", {}), 400,
                 "invalid_field", field="email")
    expect_error(http("POST", "/auth/password/forgot", {"email": 5}), 400,
                 "invalid_field", field="email")


def test_reset_flow(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    other_session = relogin(add_user(a.access))
    s2 = type(u)(u.username, u.email, u.password, u.org, u.body)
    relogin(s2)  # a second session of u
    # Upper case works like the address as stored.  The link never comes
    # from the request's Host or X-Forwarded-Host.
    expect(forgot(stack, u.email.upper(),
                  headers={"X-Forwarded-Host": "evil.example",
                           "X-Forwarded-Proto": "http"}), 202)
    token, m = reset_token_from_mail(stack, u.email)
    assert len(token) >= 22, token
    assert RESET_URL + "?token=" + token in m["body"]
    assert "evil.example" not in m["body"], m["body"]
    # The token is stored only as a hash.
    assert token not in str(stack.mysql(
        "SELECT * FROM password_resets WHERE user_id = %d" % u.id))
    # A weak password is refused and leaves the token usable.
    expect_error(reset(token, "short"), 400, "weak_password")
    expect_error(reset(token, "x" * 257), 400, "weak_password")
    expect_token_works(u.access)
    new = new_password()
    j = expect(reset(token, new), 200)
    assert j["success"] is True
    # Every session of the user is revoked, no one else's.
    for s in (u, s2):
        expect_token_revoked(s.access)
        expect_error(refresh(s.refresh), 401, "invalid_token")
    expect_token_works(other_session.access)
    # Old password out, new one in.
    expect_error(login(u.username, u.password), 401, "invalid_credentials")
    expect_login(login(u.username, new), 200, username=u.username)
    # The token works once.
    expect_error(reset(token, new_password()), 400, "invalid_token")
    expect_login(login(u.email, new), 200, username=u.username)


def test_reset_with_bad_tokens(stack):
    for token in ("A" * 43, "short", "x" * 200):
        expect_error(reset(token, new_password()), 400, "invalid_token",
                     msg=token)
    expect_error(http("POST", "/auth/password/reset",
                      {"password": new_password()}), 400, "invalid_field",
                 field="token")
    expect_error(http("POST", "/auth/password/reset", {"token": "A" * 43}),
                 400, "invalid_field", field="password")


def test_reset_with_an_expired_token(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    expect(forgot(stack, u.email), 202)
    token, _ = reset_token_from_mail(stack, u.email)
    stack.mysql("UPDATE password_resets SET expires_at = UNIX_TIMESTAMP() - 5"
                " WHERE user_id = %d" % u.id)
    expect_error(reset(token, new_password()), 400, "invalid_token")
    expect(login(u.username, u.password), 200)
    expect_token_works(u.access)


def test_reset_for_an_account_disabled_since(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    expect(forgot(stack, u.email), 202)
    token, _ = reset_token_from_mail(stack, u.email)
    expect(http("POST", "/users/%d/disable" % u.id, token=a.access), 200)
    expect_error(reset(token, new_password()), 400, "invalid_token")
    expect(http("POST", "/users/%d/enable" % u.id, token=a.access), 200)
    expect(login(u.username, u.password), 200)
