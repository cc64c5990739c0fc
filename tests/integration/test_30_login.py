"""
POST /auth/login: by username or email, the login-shaped body, remember_me,
the single answer for unknown users and bad passwords, disabled accounts.
"""

from lib import (LOGIN_KEYS, expect, expect_error, expect_login,
                 expect_timestamp, http, login, new_password, profile,
                 register, uniq)


def test_login_by_username(stack):
    a = register(name="Grace")
    r = login(a.username, a.password)
    j = expect_login(r, 200, username=a.username, role="admin", id=a.id,
                     organizationName=a.org, name="Grace", disabled=False)
    assert set(j) == LOGIN_KEYS
    assert j["access_token"] != a.access, "a new session, a new token"
    assert j["refresh_token"] != a.refresh
    expect_timestamp(j["user"]["lastLoginAt"], "lastLoginAt after login")
    expect(profile(j["access_token"]), 200)


def test_login_by_email_is_case_insensitive(stack):
    a = register()
    local, domain = a.email.split("@")
    for ident in (a.email, a.email.upper(), local + "@" + domain.upper(),
                  local.upper() + "@" + domain):
        expect_login(login(ident, a.password), 200, username=a.username,
                     id=a.id)


def test_username_is_not_case_insensitive(stack):
    a = register(username=uniq("low").lower())
    expect_error(login(a.username.upper(), a.password), 401,
                 "invalid_credentials")


def test_remember_me_gets_the_long_refresh_lifetime(stack):
    a = register()
    expect_login(login(a.username, a.password, remember_me=True), 200,
                 remember=True, username=a.username)
    expect_login(login(a.username, a.password, remember_me=False), 200,
                 remember=False, username=a.username)


def test_unknown_user_and_wrong_password_answer_alike(stack):
    a = register()
    wrong = login(a.username, a.password + "x")
    unknown = login(uniq("ghost"), a.password)
    unknown_email = login(uniq("ghost") + "@example.org", a.password)
    for r in (wrong, unknown, unknown_email):
        expect_error(r, 401, "invalid_credentials")
    assert wrong.json == unknown.json == unknown_email.json, \
        "the answers differ:\n%s\n%s\n%s" % (
            wrong.describe(), unknown.describe(), unknown_email.describe())
    assert wrong.headers.get("WWW-Authenticate") == \
        unknown.headers.get("WWW-Authenticate")
    # The failure did not lock the account out.
    expect_login(login(a.username, a.password), 200, username=a.username)


def test_empty_password_is_refused(stack):
    a = register()
    r = login(a.username, "")
    assert r.status in (400, 401), r.describe()
    if r.status == 400:
        expect_error(r, 400, "invalid_field", field="password")
    else:
        expect_error(r, 401, "invalid_credentials")


def test_disabled_account(stack):
    a = register()
    live = login(a.username, a.password)
    expect(live, 200)
    r = stack.latchctl("disable", a.username)
    assert r.returncode == 0, "latchctl disable: %s%s" % (r.stdout,
                                                           r.stderr)
    try:
        expect_error(login(a.username, a.password), 403,
                     "account_disabled")
        expect_error(login(a.email, a.password), 403, "account_disabled")
        # Not telling a disabled account from a wrong password would be
        # fine too, but a wrong password must never say "disabled".
        r = login(a.username, a.password + "x")
        assert r.json.get("error") != "account_disabled", \
            "a wrong password learnt the account is disabled: " + \
            r.describe()
    finally:
        r = stack.latchctl("enable", a.email)
        assert r.returncode == 0, "latchctl enable: %s%s" % (r.stdout,
                                                             r.stderr)
    expect_login(login(a.username, a.password), 200, username=a.username,
                 disabled=False)


def test_login_does_not_accept_a_password_of_another_user(stack):
    a, b = register(), register()
    expect_error(login(a.username, b.password), 401, "invalid_credentials")
    expect_error(http("POST", "/auth/login",
                      {"identifier": a.email, "password": b.password}),
                 401, "invalid_credentials")


def test_passwords_are_compared_exactly(stack):
    pw = new_password()
    a = register(password=pw)
    for bad in (pw.upper(), pw[:-1], pw + " ", " " + pw):
        expect_error(login(a.username, bad), 401, "invalid_credentials",
                     msg=repr(bad))
