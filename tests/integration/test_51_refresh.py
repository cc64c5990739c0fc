"""
Refresh tokens: rotation, the reuse interval (2 s in the test stack),
reuse detection revoking the session, storage as SHA-256 only, and
POST /auth/revoke.
"""

import base64
import hashlib
import secrets
import struct
import threading
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


def test_reuse_within_the_interval_gets_the_unused_successor(stack):
    """A retry (the answer was lost) or a second tab within the interval
    gets the same successor again, with a new access token, as long as
    that successor was not used; the session stays."""
    a = register()
    first = expect_login(refresh(a.refresh), 200, username=a.username)
    # (Its refresh_expires_in is what is left of the successor's life.)
    again = expect(refresh(a.refresh), 200)
    assert again["user"]["username"] == a.username, again
    assert again["refresh_token"] == first["refresh_token"], \
        "a repeated refresh got another successor"
    assert again["access_token"] != first["access_token"]
    assert 0 < again["refresh_expires_in"] <= first["refresh_expires_in"]
    expect_token_works(again["access_token"], "the repeat's access token")
    expect_token_works(first["access_token"], "access token after a race")
    # Once the successor is used, the parent gets nothing any more (and,
    # within the interval, harms nothing).
    nxt = expect_login(refresh(first["refresh_token"]), 200,
                       username=a.username)
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_works(nxt["access_token"])
    expect_login(refresh(nxt["refresh_token"]), 200, username=a.username)


def test_tabs_racing_to_refresh_share_one_new_token(stack):
    """Several requests with one token at the same moment: the row lock
    lets exactly one rotate it; the others then find its successor unused
    and get that same one; the session stays."""
    a = register()
    start = threading.Barrier(6)
    answers = []

    def tab():
        start.wait()
        r = refresh(a.refresh)
        answers.append((r.status, r.json))

    tabs = [threading.Thread(target=tab) for _ in range(6)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join()
    assert [st for st, _ in answers] == [200] * 6, answers
    tokens = {j["refresh_token"] for _, j in answers}
    assert len(tokens) == 1, "racing tabs got %d successors" % len(tokens)
    for _, j in answers:
        expect_token_works(j["access_token"], "a tab's access token")
    expect_login(refresh(tokens.pop()), 200, username=a.username)


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
    # Also where we expect it: session_refresh.token_hash.
    rows = stack.mysql("SELECT HEX(token_hash) FROM session_refresh")
    hashes = {r[0].upper() for r in rows}
    assert sha256_hex(c["refresh_token"]) in hashes, \
        "session_refresh.token_hash lacks the token's SHA-256"
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


# The layout of a refresh token (core/tok.h): base64url of the session id
# (8 bytes), the generation (4 bytes), both big-endian, and 32 random bytes.

def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_row(t):
    raw = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
    assert len(t) == 59 and len(raw) == 44, "not a refresh token: %r" % t
    return struct.unpack(">QI", raw[:12])


def forge(sid, gen):
    """A token naming row (sid, gen) that latch never issued."""
    return b64u(struct.pack(">QI", sid, gen) + secrets.token_bytes(32))


def age_rotation(stack, sid, seconds):
    """Move the rotations of session sid's tokens `seconds` back in time,
    as if the reuse interval had passed (a token is rotated when its
    successor was made)."""
    stack.mysql("UPDATE session_refresh SET created_at = created_at - %d "
                "WHERE session_id = %d" % (seconds, sid))
    stack.mysql("UPDATE refresh_tokens SET rotated_at = rotated_at - %d "
                "WHERE session_id = %d AND rotated_at IS NOT NULL"
                % (seconds, sid))


def test_refresh_token_names_its_session_and_generation(stack):
    a = register()
    sid = decode_jwt(a.access)["sid"]
    assert token_row(a.refresh) == (sid, 1)
    j = expect_login(refresh(a.refresh), 200, username=a.username)
    assert token_row(j["refresh_token"]) == (sid, 2)
    j = expect_login(refresh(j["refresh_token"]), 200, username=a.username)
    assert token_row(j["refresh_token"]) == (sid, 3)
    b = login_ok(a)
    assert token_row(b.refresh) == (decode_jwt(b.access)["sid"], 1)


def test_forged_token_naming_a_real_row_is_refused_and_harmless(stack):
    """
    Only the stored hash proves a token: one that names a real row with
    other random bytes is unknown.  It must neither rotate the live token
    nor, naming a rotated row past the reuse interval, revoke the session
    (else anyone could sign anyone out knowing a session id).
    """
    a = register()
    sid = decode_jwt(a.access)["sid"]
    j = expect_login(refresh(a.refresh), 200, username=a.username)
    age_rotation(stack, sid, REUSE_INTERVAL + 60)
    for gen in (1, 2, 3, 0xFFFFFFFF):
        expect_error(refresh(forge(sid, gen)), 401, "invalid_token",
                     msg="forged generation %d" % gen)
        expect(http("POST", "/auth/revoke", {"token": forge(sid, gen)}), 200)
    for t in (forge(sid, 0) , forge(0, 1), forge(2 ** 63 + sid, 2),
              j["refresh_token"][:-1] + "B"):
        expect_error(refresh(t), 401, "invalid_token", msg=repr(t))
    # The session and its live token are untouched.
    expect_token_works(j["access_token"], "access token after the forgeries")
    again = expect_login(refresh(j["refresh_token"]), 200,
                         username=a.username)
    assert token_row(again["refresh_token"]) == (sid, 3)
    # The real rotated token still counts as reuse (the aged rotation).
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_revoked(again["access_token"])


def test_the_last_generation_is_not_rotated(stack):
    """Generation 2^32 - 1 has no successor: refused, sign in anew."""
    a = register()
    sid = decode_jwt(a.access)["sid"]
    t = forge(sid, 0xFFFFFFFF)
    now = int(time.time())
    stack.mysql("INSERT INTO session_refresh (session_id, gen, token_hash, "
                "created_at, expires_at) VALUES (%d, 4294967295, "
                "UNHEX('%s'), %d, %d)"
                % (sid, hashlib.sha256(t.encode()).hexdigest(), now,
                   now + 3600))
    expect_error(refresh(t), 401, "invalid_token")
    expect_token_works(a.access, "the session's access token")


def legacy_token(stack, sid, rotated_at=None):
    """A refresh token as latch issued them before sql/003 (43 characters,
    found by its hash in refresh_tokens), stored for session sid."""
    t = secrets.token_urlsafe(32)
    now = int(time.time())
    stack.mysql("INSERT INTO refresh_tokens (session_id, token_hash, "
                "created_at, expires_at, rotated_at) VALUES "
                "(%d, UNHEX('%s'), %d, %d, %s)"
                % (sid, hashlib.sha256(t.encode()).hexdigest(), now,
                   now + 3600, "NULL" if rotated_at is None
                   else str(rotated_at)))
    return t


def test_refresh_tokens_from_before_migration_003_still_work(stack):
    a = register()
    sid = decode_jwt(a.access)["sid"]
    # As if the session had been started before the upgrade.
    stack.mysql("DELETE FROM session_refresh WHERE session_id = %d" % sid)
    old = legacy_token(stack, sid)
    assert len(old) == 43
    j = expect_login(refresh(old), 200, username=a.username, id=a.id)
    assert decode_jwt(j["access_token"])["sid"] == sid
    assert token_row(j["refresh_token"]) == (sid, 1), \
        "a legacy token is followed by the session's first new one"
    expect_token_works(j["access_token"])
    # Rotated: refused within the interval, the session stays ...
    expect_error(refresh(old), 401, "invalid_token")
    expect_token_works(j["access_token"], "access token after a race")
    j = expect_login(refresh(j["refresh_token"]), 200, username=a.username)
    assert token_row(j["refresh_token"]) == (sid, 2)
    # ... and after it, its reuse revokes the session.
    age_rotation(stack, sid, REUSE_INTERVAL + 60)
    expect_error(refresh(old), 401, "invalid_token")
    expect_token_revoked(j["access_token"])
    expect_error(refresh(j["refresh_token"]), 401, "invalid_token")


def test_revoke_with_a_refresh_token_from_before_migration_003(stack):
    a = register()
    other = login_ok(a)
    sid = decode_jwt(a.access)["sid"]
    old = legacy_token(stack, sid, rotated_at=int(time.time()) - 3600)
    expect(http("POST", "/auth/revoke", {"token": old}), 200)
    expect_token_revoked(a.access)
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_works(other.access, "the user's other session")
