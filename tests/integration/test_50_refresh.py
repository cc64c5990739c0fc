"""
Refresh tokens: rotation, the reuse interval (2 s in the test stack),
reuse detection revoking the session, storage as SHA-256 only, and
POST /auth/revoke.
"""

import time

from lib import (PASSWORDS, REMEMBER_TTL, db_dump, decode_jwt, expect,
                 expect_error, expect_login, expect_token_revoked,
                 expect_token_works, http, login_ok, profile, refresh,
                 register, sha256_hex, sql_str)

REUSE_INTERVAL = 2  # [security] refresh_reuse_interval of the test stack


def test_refresh_rotates_the_refresh_token(stack):
    a = register()
    r = refresh(a.refresh)
    j = expect_login(r, 200, username=a.username, id=a.id)
    assert j["refresh_token"] != a.refresh, "not rotated: " + r.describe()
    assert j["access_token"] != a.access
    old, new = decode_jwt(a.access), decode_jwt(j["access_token"])
    assert old["sid"] == new["sid"], "a refresh keeps the session"
    assert old["jti"] != new["jti"]
    expect_token_works(j["access_token"], "refreshed access token")
    # The access token issued before the refresh still belongs to a live
    # session, so it keeps working until it expires.
    expect_token_works(a.access, "access token from before the refresh")
    # Chains: the new refresh token rotates again.
    j2 = expect_login(refresh(j["refresh_token"]), 200, username=a.username)
    assert j2["refresh_token"] not in (a.refresh, j["refresh_token"])


def test_remembered_session_keeps_its_lifetime_on_refresh(stack):
    a = register()
    b = login_ok(a, remember_me=True)
    j = expect_login(refresh(b.refresh), 200, remember=True,
                     username=a.username)
    assert j["refresh_expires_in"] == REMEMBER_TTL


def test_reuse_within_the_interval_is_refused_but_harmless(stack):
    a = register()
    first = expect_login(refresh(a.refresh), 200, username=a.username)
    # The second tab presents the token just rotated away.
    expect_error(refresh(a.refresh), 401, "invalid_token")
    # The session survived: the new tokens work.
    expect_token_works(first["access_token"], "access token after a race")
    again = expect_login(refresh(first["refresh_token"]), 200,
                         username=a.username)
    expect_token_works(again["access_token"])


def test_reuse_after_the_interval_revokes_the_session(stack):
    a = register()
    first = expect_login(refresh(a.refresh), 200, username=a.username)
    other = login_ok(a)   # another session of the same user
    time.sleep(REUSE_INTERVAL + 1)
    expect_error(refresh(a.refresh), 401, "invalid_token")
    # The whole session is gone: both its access tokens and its current
    # refresh token.
    expect_token_revoked(first["access_token"])
    expect_token_revoked(a.access)
    expect_error(refresh(first["refresh_token"]), 401, "invalid_token")
    # Only that session: the user's other session is untouched.
    expect_token_works(other.access, "the user's other session")
    expect_login(refresh(other.refresh), 200, username=a.username)


def test_bad_refresh_tokens(stack):
    a = register()
    for t in ("garbage", a.access, a.refresh + "x", a.refresh[:-1],
              a.refresh.upper() if a.refresh.upper() != a.refresh
              else a.refresh.lower()):
        expect_error(refresh(t), 401, "invalid_token", msg=repr(t[:20]))
    expect_error(http("POST", "/auth/refresh", {}), 400, "invalid_field",
                 field="refresh_token")
    # None of that hurt the real one.
    expect_login(refresh(a.refresh), 200, username=a.username)


def test_refresh_tokens_are_stored_as_sha256_only(stack):
    a = register()
    b = login_ok(a)
    c = expect_login(refresh(b.refresh), 200, username=a.username)
    dump = db_dump()
    for t in (a.refresh, b.refresh, c["refresh_token"]):
        assert t not in dump, "a raw refresh token is stored"
        assert sha256_hex(t) in dump.upper(), \
            "no SHA-256 of the refresh token is stored"
    # Also where we expect it: refresh_tokens.token_hash.
    rows = stack.mysql("SELECT HEX(token_hash) FROM refresh_tokens")
    hashes = {r[0].upper() for r in rows}
    assert sha256_hex(c["refresh_token"]) in hashes, \
        "refresh_tokens.token_hash lacks the token's SHA-256"
    # Access tokens are not stored either.
    assert a.access not in dump and c["access_token"] not in dump


def test_passwords_are_stored_hashed(stack):
    a = register()
    dump = db_dump()
    assert a.password not in dump, "a raw password is stored"
    rows = stack.mysql("SELECT password_hash FROM users WHERE username = "
                       + sql_str(a.username))
    assert len(rows) == 1 and rows[0][0].startswith("$s1$"), rows


def test_revoke_with_the_refresh_token(stack):
    a = register()
    other = login_ok(a)
    j = expect(http("POST", "/auth/revoke", {"token": a.refresh}), 200)
    assert j["success"] is True
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_revoked(a.access)
    expect_token_works(other.access, "the user's other session")
    # Again: still 200.
    expect(http("POST", "/auth/revoke", {"token": a.refresh}), 200)


def test_revoke_with_the_access_token(stack):
    a = register()
    other = login_ok(a)
    expect(http("POST", "/auth/revoke", {"token": a.access}), 200)
    expect_token_revoked(a.access)
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_works(other.access, "the user's other session")


def test_revoke_answers_200_for_anything(stack):
    a = register()
    for t in ("garbage", "a.b.c", "x" * 300, a.refresh[:-1]):
        expect(http("POST", "/auth/revoke", {"token": t}), 200)
    # Needs no Authorization, and a stranger's garbage hurt nobody.
    expect_token_works(a.access)
    expect_login(refresh(a.refresh), 200, username=a.username)


def test_revoked_session_cannot_be_refreshed_back(stack):
    a = register()
    expect(http("POST", "/auth/revoke", {"token": a.access}), 200)
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_revoked(a.access)
    # A new login is a new, working session.
    b = login_ok(a)
    expect_token_works(b.access)
    assert decode_jwt(b.access)["sid"] != decode_jwt(a.access)["sid"]


def test_refresh_after_the_password_changed_elsewhere(stack):
    a = register()
    b = login_ok(a)
    new = a.password + "-new"
    PASSWORDS.add(new)
    expect(http("POST", "/user/password", {"current_password": a.password,
                                           "new_password": new},
                token=a.access), 200)
    expect_error(refresh(b.refresh), 401, "invalid_token")
    expect_token_revoked(b.access)
    # The session that changed the password lives on.
    expect(profile(a.access), 200)
