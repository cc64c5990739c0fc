"""
Sessions: POST /auth/logout (one or all), GET /auth/sessions with the
current flag, DELETE /auth/sessions/{id} of one's own sessions only; and
housekeeping: ended sessions and expired refresh tokens deleted by
latchctl purge and, a range at a time, by latchd as it starts sessions.
"""

import hashlib
import re
import secrets
import time

from lib import (SESSION_KEYS, decode_jwt, expect, expect_error,
                 expect_login, expect_timestamp, expect_token_revoked,
                 expect_token_works, http, login_ok, refresh, register)


def sessions(token):
    j = expect(http("GET", "/auth/sessions", token=token), 200)
    assert isinstance(j.get("sessions"), list), j
    return j["sessions"]


def sid(acct):
    return str(decode_jwt(acct.access)["sid"])


def test_logout_ends_this_session_only(stack):
    a = register()
    b = login_ok(a)
    j = expect(http("POST", "/auth/logout", {}, token=a.access), 200)
    assert j["success"] is True
    expect_token_revoked(a.access)
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_works(b.access, "the other session")
    # Logging out again with the dead token is a 401, not a crash.
    expect_error(http("POST", "/auth/logout", {}, token=a.access), 401,
                 "session_revoked")


def test_logout_all_ends_every_session(stack):
    a = register()
    b = login_ok(a)
    c = login_ok(a, remember_me=True)
    stranger = register()
    expect(http("POST", "/auth/logout", {"all": True}, token=b.access), 200)
    for s in (a, b, c):
        expect_token_revoked(s.access)
        expect_error(refresh(s.refresh), 401, "invalid_token")
    expect_token_works(stranger.access, "another user's session")
    # A new login works afterwards.
    expect_token_works(login_ok(a).access)


def test_logout_all_false_is_a_plain_logout(stack):
    a = register()
    b = login_ok(a)
    expect(http("POST", "/auth/logout", {"all": False}, token=a.access),
           200)
    expect_token_revoked(a.access)
    expect_token_works(b.access)


def test_sessions_list_marks_the_current_one(stack):
    a = register()
    b = login_ok(a, headers={"User-Agent": "latch-test-agent/1.0"})
    c = login_ok(a)
    lst = sessions(b.access)
    ids = [str(s["id"]) for s in lst]
    for x in (a, b, c):
        assert sid(x) in ids, "session %s not listed: %r" % (sid(x), lst)
    for s in lst:
        assert set(s) == SESSION_KEYS, "session keys: %r" % (s,)
        assert isinstance(s["id"], int) and s["id"] > 0, s
        for k in ("createdAt", "lastUsedAt", "expiresAt"):
            expect_timestamp(s[k], "session." + k)
        assert isinstance(s["current"], bool), s
        assert isinstance(s["userAgent"], str), s
        assert s["ip"] == "127.0.0.1", "session ip: %r" % (s,)
    cur = [s for s in lst if s["current"]]
    assert len(cur) == 1 and str(cur[0]["id"]) == sid(b), \
        "current should be %s: %r" % (sid(b), lst)
    assert cur[0]["userAgent"] == "latch-test-agent/1.0", cur
    # Seen from another session, that one is current instead.
    cur = [s for s in sessions(c.access) if s["current"]]
    assert len(cur) == 1 and str(cur[0]["id"]) == sid(c), cur


def test_sessions_list_shows_only_the_users_own_live_sessions(stack):
    a = register()
    b = login_ok(a)
    other = register()
    expect(http("POST", "/auth/logout", {}, token=b.access), 200)
    ids = [str(s["id"]) for s in sessions(a.access)]
    assert sid(b) not in ids, "a logged-out session is listed: %r" % ids
    assert sid(other) not in ids, "another user's session is listed"
    assert ids == [sid(a)], "expected only %s: %r" % (sid(a), ids)


def test_delete_own_other_session(stack):
    a = register()
    b = login_ok(a)
    j = expect(http("DELETE", "/auth/sessions/" + sid(b), token=a.access),
               200)
    assert j["success"] is True
    expect_token_revoked(b.access)
    expect_error(refresh(b.refresh), 401, "invalid_token")
    expect_token_works(a.access, "the session that deleted the other")
    ids = [str(s["id"]) for s in sessions(a.access)]
    assert sid(b) not in ids, ids
    # Deleting it again: it is no longer there.
    expect_error(http("DELETE", "/auth/sessions/" + sid(b), token=a.access),
                 404, "not_found")


def test_delete_another_users_session_is_404(stack):
    a = register()
    victim = register()
    r = http("DELETE", "/auth/sessions/" + sid(victim), token=a.access)
    expect_error(r, 404, "not_found")
    expect_token_works(victim.access, "the other user's session")
    # Exactly as for a session that does not exist.
    r2 = http("DELETE", "/auth/sessions/999999999", token=a.access)
    expect_error(r2, 404, "not_found")
    assert r.json == r2.json, "the answers differ:\n%s\n%s" % (
        r.describe(), r2.describe())


def test_delete_with_a_malformed_id_is_404(stack):
    a = register()
    for bad in ("abc", "1abc", "-1", "0", "1.5", "%20", "99999999999999999999"
                "999", "0x10"):
        expect_error(http("DELETE", "/auth/sessions/" + bad, token=a.access),
                     404, "not_found", msg=bad)
    expect_token_works(a.access)


def test_delete_own_current_session(stack):
    a = register()
    expect(http("DELETE", "/auth/sessions/" + sid(a), token=a.access), 200)
    expect_token_revoked(a.access)


# ------------------------------------------------------------ housekeeping

def rows(stack, sql):
    return [r[0] for r in stack.mysql(sql)]


def token_gens(stack, session):
    return [int(g) for g in rows(stack, "SELECT gen FROM session_refresh "
                                 "WHERE session_id = %s ORDER BY gen"
                                 % session)]


def test_a_token_past_its_expiry_is_inert(stack):
    """Rotated and past its own expiry: 401, and the session stays (it
    could not have refreshed anyway, and housekeeping may delete it)."""
    a = register()
    s = sid(a)
    j = expect_login(refresh(a.refresh), 200, username=a.username)
    now = int(time.time())
    stack.mysql("UPDATE session_refresh SET expires_at = %d, created_at = "
                "created_at - 3600 WHERE session_id = %s AND gen = 1"
                % (now - 1, s))
    stack.mysql("UPDATE session_refresh SET created_at = created_at - 3600 "
                "WHERE session_id = %s" % s)
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_token_works(j["access_token"], "the session after an inert token")
    expect_login(refresh(j["refresh_token"]), 200, username=a.username)


def test_the_live_token_past_its_own_expiry_is_refused(stack):
    """The session's newest token, never rotated, past its own expiry
    while the session itself still runs: 401, no successor is made, and
    the session is not revoked."""
    a = register()
    s = sid(a)
    stack.mysql("UPDATE session_refresh SET expires_at = %d WHERE "
                "session_id = %s AND gen = 1" % (int(time.time()) - 1, s))
    expect_error(refresh(a.refresh), 401, "invalid_token")
    expect_error(refresh(a.refresh), 401, "invalid_token")
    assert token_gens(stack, s) == [1], "a successor of an expired token"
    expect_token_works(a.access, "the session of an expired token")


def test_a_token_from_before_003_past_its_expiry_is_inert(stack):
    """The same for tokens found by their hash (refresh_tokens): refused,
    rotated or not, and the session stays."""
    a = register()
    s = int(sid(a))
    now = int(time.time())
    stack.mysql("DELETE FROM session_refresh WHERE session_id = %d" % s)
    live = secrets.token_urlsafe(32)
    rotated = secrets.token_urlsafe(32)
    for t, rot in ((live, "NULL"), (rotated, str(now - 3600))):
        stack.mysql("INSERT INTO refresh_tokens (session_id, token_hash, "
                    "created_at, expires_at, rotated_at) VALUES (%d, "
                    "UNHEX('%s'), %d, %d, %s)"
                    % (s, hashlib.sha256(t.encode()).hexdigest(),
                       now - 7200, now - 1, rot))
    expect_error(refresh(live), 401, "invalid_token")
    expect_error(refresh(rotated), 401, "invalid_token")
    assert token_gens(stack, s) == [], "a successor of an expired token"
    expect_token_works(a.access, "the session of expired tokens")


def test_an_ended_session_is_refused_whatever_its_tokens_say(stack):
    """A session past its own expiry while its access and refresh tokens
    are not: the access token is refused everywhere, the refresh token
    makes nothing, and the user's other session is untouched."""
    a = register()
    other = login_ok(a)
    stack.mysql("UPDATE sessions SET expires_at = %d WHERE id = %s"
                % (int(time.time()) - 5, sid(a)))
    expect_token_revoked(a.access, what="access token of an ended session")
    expect_error(refresh(a.refresh), 401, "invalid_token")
    assert token_gens(stack, sid(a)) == [1], "the ended session refreshed"
    ids = [str(x["id"]) for x in sessions(other.access)]
    assert sid(a) not in ids and sid(other) in ids, ids
    expect_token_works(other.access, "the user's other session")


def test_a_disabled_account_is_refused_though_its_sessions_live(stack):
    """Every use reads the account: flagged disabled in the database
    (sessions not revoked, as an operator's UPDATE would leave them),
    its tokens are refused and nothing refreshes; cleared, they work."""
    a = register()
    other = register()
    stack.mysql("UPDATE users SET disabled = 1 WHERE id = %d" % a.id)
    try:
        expect_token_revoked(a.access, what="token of a disabled account")
        expect_error(refresh(a.refresh), 401, "invalid_token")
        assert token_gens(stack, sid(a)) == [1], "a disabled account " \
            "refreshed"
        expect_token_works(other.access, "another account's token")
    finally:
        stack.mysql("UPDATE users SET disabled = 0 WHERE id = %d" % a.id)
    expect_token_works(a.access, "the token once the flag is cleared")
    expect_login(refresh(a.refresh), 200, username=a.username)


def ended_sessions(stack):
    """A live session with a token history, one expired, one revoked.
    The sessions are all started first: starting one may run a purge
    step, which must not see the ended state before the test does."""
    live, expired, revoked = register(), register(), register()
    j = expect_login(refresh(live.refresh), 200, username=live.username)
    j = expect_login(refresh(j["refresh_token"]), 200, username=live.username)
    stack.mysql("UPDATE session_refresh SET expires_at = %d WHERE "
                "session_id = %s AND gen = 1" % (int(time.time()) - 5,
                                                 sid(live)))
    stack.mysql("UPDATE sessions SET expires_at = %d WHERE id = %s"
                % (int(time.time()) - 5, sid(expired)))
    expect(http("POST", "/auth/revoke", {"token": revoked.access}), 200)
    return live, j, expired, revoked


def test_latchctl_purge(stack):
    live, j, expired, revoked = ended_sessions(stack)
    # An expired token from before migration 003, in refresh_tokens.
    now = int(time.time())
    stack.mysql("INSERT INTO refresh_tokens (session_id, token_hash, "
                "created_at, expires_at) VALUES (%s, UNHEX(SHA2('old', "
                "256)), %d, %d)" % (sid(live), now - 7200, now - 3600))
    r = stack.latchctl("purge")
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    m = re.search(r"purged (\d+) ended sessions and (\d+) expired refresh "
                  r"tokens", r.stdout)
    assert m and int(m.group(1)) >= 2 and int(m.group(2)) >= 2, r.stdout
    # The ended sessions are gone, with their tokens.
    for a in (expired, revoked):
        assert rows(stack, "SELECT id FROM sessions WHERE id = %s"
                    % sid(a)) == []
        assert token_gens(stack, sid(a)) == []
        expect_token_revoked(a.access, what="access token of a purged "
                             "session")
        expect_error(refresh(a.refresh), 401, "invalid_token")
    # The live one lost only its expired token, and works on.
    assert token_gens(stack, sid(live)) == [2, 3]
    assert rows(stack, "SELECT id FROM refresh_tokens WHERE session_id = "
                "%s" % sid(live)) == []
    expect_token_works(j["access_token"])
    expect_login(refresh(j["refresh_token"]), 200, username=live.username)
    # Nothing left to do: a second run purges nothing.
    r = stack.latchctl("purge")
    assert "purged 0 ended sessions and 0 expired" in r.stdout, r.stdout


def test_latchd_purges_as_it_starts_sessions(stack):
    """Every 16th session a worker starts runs one step over 1,000 session
    ids from where the last stopped (meta purge_session)."""
    live, j, expired, revoked = ended_sessions(stack)
    first = min(int(sid(a)) for a in (live, expired, revoked))
    stack.mysql("INSERT INTO meta (k, v) VALUES ('purge_session', '%d') "
                "ON DUPLICATE KEY UPDATE v = VALUES(v)" % (first - 1))
    workers = stack.configured_workers()
    for _ in range(16 * workers):
        login_ok(live)
    for a in (expired, revoked):
        assert rows(stack, "SELECT id FROM sessions WHERE id = %s"
                    % sid(a)) == [], "session %s not purged" % sid(a)
    assert token_gens(stack, sid(live)) == [2, 3]
    expect_token_works(j["access_token"])
    cursor = int(rows(stack, "SELECT v FROM meta WHERE k = "
                      "'purge_session'")[0])
    assert cursor == 0 or cursor >= first - 1 + 1000, cursor
