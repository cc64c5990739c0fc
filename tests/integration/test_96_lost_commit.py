"""
A COMMIT whose connection breaks has an unknown outcome: latch looks it
up on a new connection before it answers, and says "outcome_unknown"
only when it cannot find out.  A mail exists if and only if its
invitation or reset token does: held in the spool's hold/ until the
COMMIT's outcome is known, settled later when it is not.  A pipe between latchd and MariaDB
(dbproxy.py) loses one COMMIT at a time: forwarded with its answer lost
(the server committed), or never forwarded (it did not), and optionally
refuses the connection of the look-up.  Before the fix every one of
these answered 503 service_unavailable, also when the change was stored.
"""

import base64
import email
import email.policy
import hashlib
import os
import re
import struct
import time

from adminlib import ensure_env, invite, new_admin, reload, spool_new
from dbproxy import DbProxy
from lib import (decode_jwt, expect, expect_error, expect_login,
                 expect_token_works, http, login, new_email, refresh,
                 register, wait_for)


def _row(token):
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return struct.unpack(">QI", raw[:12])


def _stored(stack, sid, gen):
    """HEX(token_hash) of refresh token (sid, gen), or None."""
    rows = stack.mysql("SELECT HEX(token_hash) FROM session_refresh WHERE "
                       "session_id = %d AND gen = %d" % (sid, gen))
    return rows[0][0].upper() if rows else None


def _sha(s):
    return hashlib.sha256(s.encode()).hexdigest().upper()


def _log_says(stack, text):
    with open(stack.latchd_log, encoding="utf-8", errors="replace") as f:
        return text in f.read()


def test_refresh_whose_commit_answer_was_lost(stack):
    a = register()
    sid, gen = _row(a.refresh)
    with DbProxy(stack) as px:
        px.arm("commit_then_drop")
        j = expect_login(refresh(a.refresh), 200, username=a.username)
        px.wait_fired()
    assert _row(j["refresh_token"]) == (sid, gen + 1)
    assert _stored(stack, sid, gen + 1) == _sha(j["refresh_token"]), \
        "the answered refresh token is not the stored one"
    assert _log_says(stack, "looked up after the lost connection: "
                     "committed")
    expect_token_works(j["access_token"])
    expect_login(refresh(j["refresh_token"]), 200, username=a.username)


def test_refresh_whose_commit_never_arrived(stack):
    a = register()
    sid, gen = _row(a.refresh)
    with DbProxy(stack) as px:
        px.arm("drop_commit")
        expect_error(refresh(a.refresh), 503, "service_unavailable")
        px.wait_fired()
    assert _stored(stack, sid, gen + 1) is None, \
        "a refresh answered 503 stored its successor"
    # Nothing happened: the same token refreshes normally.
    j = expect_login(refresh(a.refresh), 200, username=a.username)
    assert _stored(stack, sid, gen + 1) == _sha(j["refresh_token"])


def test_refresh_with_unknown_outcome_is_safe_to_retry(stack):
    """The look-up fails too: 503 outcome_unknown.  The client retries
    with the same token within the reuse interval and gets the successor
    that was stored; nothing is revoked."""
    a = register()
    sid, gen = _row(a.refresh)
    with DbProxy(stack) as px:
        px.arm("commit_then_drop", refuse=1.0)
        expect_error(refresh(a.refresh), 503, "outcome_unknown")
        px.wait_fired()
        time.sleep(1.1)
        j = expect(refresh(a.refresh), 200)
    assert _stored(stack, sid, gen + 1) == _sha(j["refresh_token"]), \
        "the retry's refresh token is not the one stored"
    expect_token_works(j["access_token"], "the retry's access token")
    assert stack.mysql("SELECT revoked_at IS NULL FROM sessions WHERE "
                       "id = %d" % sid) == [["1"]], \
        "the retry of a refresh that failed by latch's fault revoked " \
        "the session"
    expect_login(refresh(j["refresh_token"]), 200, username=a.username)


def test_sign_in_whose_commit_answer_was_lost(stack):
    a = register()
    with DbProxy(stack) as px:
        px.arm("commit_then_drop")
        j = expect_login(login(a.username, a.password), 200,
                         username=a.username)
        px.wait_fired()
    expect_token_works(j["access_token"], "the sign-in's access token")
    sid = decode_jwt(j["access_token"])["sid"]
    assert _stored(stack, sid, 1) == _sha(j["refresh_token"])
    before = int(stack.mysql("SELECT COUNT(*) FROM sessions WHERE "
                             "user_id = %d" % a.id)[0][0])
    with DbProxy(stack) as px:
        px.arm("drop_commit")
        expect_error(login(a.username, a.password), 503,
                     "service_unavailable")
        px.wait_fired()
    assert int(stack.mysql("SELECT COUNT(*) FROM sessions WHERE "
                           "user_id = %d" % a.id)[0][0]) == before, \
        "a sign-in answered 503 left a session"


def _invitations_to(stack, mail):
    return int(stack.mysql("SELECT COUNT(*) FROM invitations WHERE "
                           "email = '%s'" % mail)[0][0])


def test_invitation_whose_commit_was_lost(stack):
    ensure_env(stack)
    a = new_admin(stack)
    with DbProxy(stack) as px:
        px.arm("commit_then_drop")
        inv = invite(a.access)
        px.wait_fired()
        assert _invitations_to(stack, inv["email"]) == 1
        px.arm("drop_commit")
        mail = new_email()
        expect_error(http("POST", "/invitations", {"email": mail,
                          "send_email": False}, token=a.access),
                     503, "service_unavailable")
        px.wait_fired(2)
        assert _invitations_to(stack, mail) == 0, \
            "an invitation answered 503 was stored"
        px.arm("commit_then_drop", refuse=1.0)
        mail = new_email()
        expect_error(http("POST", "/invitations", {"email": mail,
                          "send_email": False}, token=a.access),
                     503, "outcome_unknown")
        px.wait_fired(3)
    # (Here it was stored: the answer said it might be.)
    assert _invitations_to(stack, mail) == 1
    expect(http("GET", "/auth/invitation?code=" + inv["code"]), 200)


# ------------------------------------------------------------------ mail

def _mails_in(stack, sub, addr):
    """Messages to addr in spool sub/ (new or hold), as file names."""
    d = os.path.join(spool_new(stack), "..", sub)
    out = []
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, n), "rb") as f:
            msg = email.message_from_bytes(f.read(),
                                           policy=email.policy.default)
        if addr.lower() in str(msg["To"] or "").lower():
            out.append(os.path.join(d, n))
    return out


def _age(paths, seconds=3600):
    for p in paths:
        t = time.time() - seconds
        os.utime(p, (t, t))


def _invite_mailed(stack, token, mail, status, code):
    return expect_error(http("POST", "/invitations", {"email": mail},
                             token=token), status, code)


def test_invitation_mail_exists_iff_the_invitation_does(stack):
    ensure_env(stack)
    a = new_admin(stack)
    m1, m2, m3, m4 = (new_email() for _ in range(4))
    with DbProxy(stack) as px:
        # Committed, answer lost: 201, and the mail goes out.
        px.arm("commit_then_drop")
        expect(http("POST", "/invitations", {"email": m1},
                    token=a.access), 201)
        px.wait_fired(1)
        # Never committed: 503, no mail.
        px.arm("drop_commit")
        _invite_mailed(stack, a.access, m2, 503, "service_unavailable")
        px.wait_fired(2)
        # Unknown both ways: the mail waits in hold/.
        px.arm("commit_then_drop", refuse=1.0)
        _invite_mailed(stack, a.access, m3, 503, "outcome_unknown")
        px.wait_fired(3)
        time.sleep(1.1)
        px.arm("drop_commit", refuse=1.0)
        _invite_mailed(stack, a.access, m4, 503, "outcome_unknown")
        px.wait_fired(4)
        time.sleep(1.1)
    assert len(_mails_in(stack, "new", m1)) == 1, "no mail for a stored " \
        "invitation"
    assert _mails_in(stack, "hold", m1) == []
    assert _invitations_to(stack, m2) == 0
    assert _mails_in(stack, "new", m2) == [] and \
        _mails_in(stack, "hold", m2) == [], \
        "a mail for an invitation that was never stored"
    for m in (m3, m4):
        assert _mails_in(stack, "new", m) == [], \
            "a mail of unknown outcome went out"
        assert len(_mails_in(stack, "hold", m)) == 1, \
            "a mail of unknown outcome was not kept"
    assert _invitations_to(stack, m3) == 1 and _invitations_to(stack, m4) == 0
    # Recovery (each worker when it starts, and once a minute): the held
    # mail whose invitation exists goes out, the other is deleted.  Held
    # for an hour, so no writer can still be at work on them.
    _age(_mails_in(stack, "hold", m3) + _mails_in(stack, "hold", m4))
    reload(stack, {("server", "max_requests"): str(
        int(stack.config_values()["server"]["max_requests"]) + 1)})
    wait_for(lambda: _mails_in(stack, "hold", m3) == [] and
             _mails_in(stack, "hold", m4) == [], 30,
             "the held mails to be settled")
    assert len(_mails_in(stack, "new", m3)) == 1, \
        "the mail of a stored invitation was lost"
    assert _mails_in(stack, "new", m4) == [], \
        "a mail went out for an invitation that does not exist"


def _done_lines(stack, what):
    with open(stack.latchd_log, errors="replace") as f:
        return f.read().count("auth: password forgot: done (%s)" % what)


def _forgot(stack, addr, what):
    """POST /auth/password/forgot (always 202: its work comes after the
    answer) and wait until that work ended as `what`."""
    before = _done_lines(stack, what)
    expect(http("POST", "/auth/password/forgot", {"email": addr}), 202)
    wait_for(lambda: _done_lines(stack, what) > before, 30,
             "the reset request's work to end (%s)" % what)


def test_reset_mail_exists_iff_the_token_does(stack):
    a, b, c = register(), register(), register()
    with DbProxy(stack) as px:
        px.arm("commit_then_drop")
        _forgot(stack, a.email, "queued")
        px.wait_fired(1)
        px.arm("drop_commit")
        _forgot(stack, b.email, "failed")
        px.wait_fired(2)
        px.arm("commit_then_drop", refuse=1.0)
        _forgot(stack, c.email, "unknown")
        px.wait_fired(3)
        time.sleep(1.1)

    def tokens(u):
        return int(stack.mysql("SELECT COUNT(*) FROM password_resets "
                               "WHERE user_id = %d" % u.id)[0][0])
    assert tokens(a) == 1 and len(_mails_in(stack, "new", a.email)) == 1
    assert tokens(b) == 0, "a failed reset request was stored"
    assert _mails_in(stack, "new", b.email) == [] and \
        _mails_in(stack, "hold", b.email) == [], \
        "a reset mail without its token"
    assert tokens(c) == 1 and _mails_in(stack, "new", c.email) == [] and \
        len(_mails_in(stack, "hold", c.email)) == 1
    _age(_mails_in(stack, "hold", c.email))
    reload(stack, {("server", "max_requests"): str(
        int(stack.config_values()["server"]["max_requests"]) + 1)})
    wait_for(lambda: len(_mails_in(stack, "new", c.email)) == 1, 30,
             "the held reset mail to be queued")
    assert _pending(stack) == 0, "mail_pending rows were left behind"


def _pending(stack):
    return int(stack.mysql("SELECT COUNT(*) FROM mail_pending")[0][0])


EMAIL_URL = "https://app.example.test/email"


def test_address_change_mails_exist_iff_the_change_does(stack):
    """The other kinds of mail: the confirmation to a new address, and
    the notice to the old one when the change is confirmed."""
    ensure_env(stack)
    if stack.config_values()["mail"].get("email_url") != EMAIL_URL:
        reload(stack, {("mail", "email_url"): EMAIL_URL})
    a = register()
    n1, n2 = new_email(), new_email()
    body = {"current_password": a.password}
    with DbProxy(stack) as px:
        px.arm("drop_commit")
        expect_error(http("PATCH", "/user/profile", dict(body, email=n1),
                          token=a.access), 503, "service_unavailable")
        px.wait_fired(1)
        assert stack.mysql("SELECT COUNT(*) FROM email_changes WHERE "
                           "user_id = %d" % a.id) == [["0"]]
        assert _mails_in(stack, "new", n1) == [] and \
            _mails_in(stack, "hold", n1) == [], \
            "a confirmation mail for a change that was not stored"
        px.arm("commit_then_drop")
        j = expect(http("PATCH", "/user/profile", dict(body, email=n2),
                        token=a.access), 200)
        px.wait_fired(2)
        assert j.get("pendingEmail") == n2, j
        mails = _mails_in(stack, "new", n2)
        assert len(mails) == 1, "no confirmation mail for a stored change"
        with open(mails[0], "rb") as f:
            msg = email.message_from_bytes(f.read(),
                                           policy=email.policy.default)
        token = re.findall(re.escape(EMAIL_URL) + r"\?token=([A-Za-z0-9_-]+)",
                           msg.get_content())[0]
        px.arm("commit_then_drop")
        j = expect(http("POST", "/user/email/confirm", {"token": token}),
                   200)
        px.wait_fired(3)
    assert j["user"]["email"] == n2, j
    assert len(_mails_in(stack, "new", a.email)) == 1, \
        "no notice to the old address of a stored change"
    assert _pending(stack) == 0
