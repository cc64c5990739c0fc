"""
Sessions: POST /auth/logout (one or all), GET /auth/sessions with the
current flag, DELETE /auth/sessions/{id} of one's own sessions only.
"""

from lib import (SESSION_KEYS, decode_jwt, expect, expect_error,
                 expect_timestamp, expect_token_revoked, expect_token_works,
                 http, login_ok, refresh, register)


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
