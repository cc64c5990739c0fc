"""
Two-factor sign-in with TOTP (docs/api.md "Two-factor sign-in"), its
codes computed by an independent implementation (Debian's python3-pyotp):
enrolment and its confirmation, the sign-in's second step with a code or
a recovery code, replay and clock skew, the throttle, the mfa_token's
expiry, single use and binding, turning it off, new recovery codes, the
amr claim, an admin's and the operator's reset, and what the database
holds.
"""

import re
import time

import pyotp

import lib
from adminlib import add_user, events, limits, retry_after, run_at_once
from lib import (LOGIN_KEYS, decode_jwt, expect, expect_error, expect_login,
                 http, login, profile, register, verify)

B32 = re.compile(r"^[A-Z2-7]{32}$")
RECOVERY = re.compile(r"^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$")
STEP = 30


def safe_window(margin=5):
    """Wait until at least margin seconds are left of the current 30 s
    step, so that a code computed now is judged in the same step."""
    left = STEP - time.time() % STEP
    if left < margin:
        time.sleep(left + 0.2)


def code(secret, steps=0):
    """The code of secret `steps` steps from now."""
    return pyotp.TOTP(secret).at(int(time.time()) + steps * STEP)


def start(acct):
    r = http("POST", "/user/mfa/totp", {}, token=acct.access)
    j = expect(r, 201)
    assert set(j) == {"success", "message", "secret", "otpauth_uri",
                      "qr_svg"}, j
    return j


def confirm(acct, c):
    return http("POST", "/user/mfa/totp/confirm", {"code": c},
                token=acct.access)


def status(acct):
    return expect(http("GET", "/user/mfa", token=acct.access), 200)["mfa"]


def enrolled(acct=None, steps=0):
    """acct (default a new admin) with TOTP on, confirmed with the code
    `steps` steps from now; (acct, secret, recovery codes)."""
    acct = acct or register()
    secret = start(acct)["secret"]
    safe_window()
    j = expect(confirm(acct, code(secret, steps)), 200)
    codes = j["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    for c in codes:
        assert RECOVERY.match(c), c
    return acct, secret, codes


def first_step(acct, remember_me=None, cookie=None):
    """The password step of a TOTP account: its mfa_token."""
    body = {"identifier": acct.username, "password": acct.password}
    if remember_me is not None:
        body["remember_me"] = remember_me
    if cookie is not None:
        body["cookie"] = cookie
    r = http("POST", "/auth/login", body)
    j = expect(r, 200)
    assert set(j) == {"success", "message", "mfa_required", "mfa_token",
                      "expires_in"}, "tokens before the second step: " + \
        r.describe()
    assert j["mfa_required"] is True and j["expires_in"] == 300, j
    assert re.match(r"^[A-Za-z0-9_-]{43}$", j["mfa_token"]), j
    assert r.header("Set-Cookie") is None, r.describe()
    return j["mfa_token"]


def second_step(token, c=None, recovery=None):
    body = {"mfa_token": token}
    if c is not None:
        body["code"] = c
    if recovery is not None:
        body["recovery_code"] = recovery
    return http("POST", "/auth/mfa", body)


def test_enrolment_answer_and_confirmation(stack):
    a = register()
    assert status(a) == {"enabled": False, "pending": False,
                         "enabledAt": None, "recoveryCodesLeft": 0,
                         "required": False, "restricted": False}
    j = start(a)
    secret = j["secret"]
    assert B32.match(secret), j
    totp = pyotp.parse_uri(j["otpauth_uri"])
    assert totp.secret == secret and totp.issuer == "latch" and \
        totp.name == a.username and totp.digits == 6 and \
        totp.interval == 30, j["otpauth_uri"]
    svg = j["qr_svg"]
    assert svg.startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"") and \
        svg.endswith("</svg>"), svg[:200]
    assert "<script" not in svg and "href" not in svg and \
        "on" not in re.sub(r"<svg[^>]*>", "", svg).replace(
            "none", ""), "more than shapes in the QR code's SVG"
    st = status(a)
    assert st["pending"] is True and st["enabled"] is False, st

    # A wrong code changes nothing: sign-in still needs the password only.
    safe_window()
    wrong = "%06d" % ((int(code(secret)) + 1) % 1000000)
    for c in (wrong, "12345", "abcdef", "1234567", " 123456"):
        expect_error(confirm(a, c), 400, "invalid_code", msg=repr(c))
    expect_error(confirm(a, 123456), 400, "invalid_field", field="code")
    assert status(a)["enabled"] is False
    expect_login(login(a.username, a.password), 200, username=a.username)

    # A second start replaces the pending secret; the first is void.
    secret2 = start(a)["secret"]
    assert secret2 != secret
    safe_window()
    expect_error(confirm(a, code(secret)), 400, "invalid_code")
    j = expect(confirm(a, code(secret2)), 200)
    assert len(j["recovery_codes"]) == 10, j
    st = status(a)
    assert st["enabled"] is True and st["pending"] is False and \
        st["recoveryCodesLeft"] == 10, st
    lib.expect_timestamp(st["enabledAt"], "enabledAt")
    expect_error(http("POST", "/user/mfa/totp", {}, token=a.access), 409,
                 "mfa_enabled")
    expect_error(confirm(a, code(secret2, 1)), 409, "mfa_enabled")
    ev = [e["event"] for e in events(a.access, "?event=mfa.enable")
          ["events"]]
    assert ev == ["mfa.enable"], ev


def test_sign_in_with_a_code(stack):
    a, secret, _ = enrolled()
    token = first_step(a, remember_me=True)
    # The mfa_token is no access token, refresh token or anything else.
    expect_error(profile(token), 401, "invalid_token")
    expect_error(verify(token), 401, "invalid_token")
    expect_error(http("POST", "/auth/refresh", {"refresh_token": token}),
                 401, "invalid_token")
    r = second_step(token, code(secret, 1))
    j = expect_login(r, 200, remember=True, username=a.username)
    claims = decode_jwt(j["access_token"])
    assert claims["amr"] == ["pwd", "otp"], claims
    v = expect(verify(j["access_token"]), 200)
    assert v["claims"]["amr"] == ["pwd", "otp"], v
    # Single use.
    expect_error(second_step(token, code(secret, 1)), 401, "invalid_token")
    # The refreshed tokens keep the amr of the sign-in.
    j2 = expect_login(http("POST", "/auth/refresh", {"refresh_token":
                                                      j["refresh_token"]}),
                      200, remember=True)
    assert decode_jwt(j2["access_token"])["amr"] == ["pwd", "otp"]
    # A code is good once: the same one for a new sign-in is refused.
    token = first_step(a)
    expect_error(second_step(token, code(secret, 1)), 400, "invalid_code")
    # A password-only account's tokens say so.
    b = register()
    assert decode_jwt(b.access)["amr"] == ["pwd"]


def test_clock_skew_of_one_step_each_way(stack):
    # Confirmed with the code of the step before now: one step behind.
    a, secret, _ = enrolled(steps=-1)
    token = first_step(a)
    safe_window()
    expect_error(second_step(token, code(secret, 2)), 400, "invalid_code",
                 msg="two steps ahead")
    expect_error(second_step(token, code(secret, -2)), 400, "invalid_code",
                 msg="two steps behind")
    expect_login(second_step(token, code(secret, 1)), 200,
                 username=a.username)


def test_recovery_code_once(stack):
    a, secret, codes = enrolled()
    token = first_step(a)
    typed = codes[0].upper().replace("-", " ")
    j = expect_login(second_step(token, recovery=typed), 200,
                     username=a.username)
    assert decode_jwt(j["access_token"])["amr"] == ["pwd", "otp"]
    assert status(a)["recoveryCodesLeft"] == 9
    token = first_step(a)
    expect_error(second_step(token, recovery=codes[0]), 400, "invalid_code")
    expect_error(second_step(token, recovery="not-a-code"), 400,
                 "invalid_code")
    expect_error(second_step(token), 400, "invalid_field", field="code")
    expect_error(second_step(token, code(secret), codes[1]), 400,
                 "invalid_field", field="code")
    expect_login(second_step(token, recovery=codes[1]), 200)
    j = events(j["access_token"], "?event=mfa.recovery_code")
    assert len(j["events"]) == 2, j


def test_wrong_codes_lock_the_account_like_wrong_passwords(stack):
    with limits(stack, limits__login_max_failures=3,
                limits__login_window=60, limits__login_max_delay=48):
        a, secret, _ = enrolled()
        token = first_step(a)           # counted until the second step
        safe_window()
        wrong = "%06d" % ((int(code(secret)) + 7) % 1000000)
        expect_error(second_step(token, wrong), 400, "invalid_code")
        expect_error(second_step(token, wrong), 400, "invalid_code")
        r = second_step(token, code(secret))
        expect_error(r, 429, "too_many_attempts", msg="the right code "
                     "while the account is locked")
        retry_after(r)
        # With the right password too.
        expect_error(login(a.username, a.password), 429, "too_many_attempts")
        fails = events(a.access, "?event=mfa.failure")["events"]
        assert len(fails) == 2 and all(e["targetId"] == a.id
                                       for e in fails), fails
        # A known password buys no guesses: once the lock is over, the
        # password step is itself one more failure (the name locks again)
        # until a second step succeeds.
        time.sleep(retry_after(r) + 0.5)
        token = first_step(a)
        expect_error(second_step(token, code(secret)), 429,
                     "too_many_attempts")


def test_a_wrong_password_does_not_tell_whether_totp_is_on(stack):
    a, _, _ = enrolled()
    b = register()
    ra = login(a.username, "wrong password 1")
    rb = login(b.username, "wrong password 1")
    ja = expect_error(ra, 401, "invalid_credentials")
    jb = expect_error(rb, 401, "invalid_credentials")
    assert ja == jb, (ja, jb)


def test_mfa_token_expires_and_is_bound_to_its_account(stack):
    a, secret_a, _ = enrolled()
    b, secret_b, _ = enrolled()
    ta, tb = first_step(a), first_step(b)
    safe_window()
    # B's code is no code of A's.
    expect_error(second_step(ta, code(secret_b, 1)), 400, "invalid_code")
    j = expect_login(second_step(tb, code(secret_b, 1)), 200,
                     username=b.username)
    assert j["user"]["id"] == b.id
    # Expired: the clock of the row moved back.
    stack.mysql("UPDATE mfa_challenges SET expires_at = UNIX_TIMESTAMP() "
                "- 1 WHERE user_id = %d" % a.id)
    expect_error(second_step(ta, code(secret_a, 1)), 401, "invalid_token")
    for bad in ("x", "A" * 43, tb, "A" * 300):
        r = second_step(bad, "123456")
        assert r.status in (400, 401), r.describe()
    expect_error(second_step("A" * 43, "123456"), 401, "invalid_token")


def test_cookie_choice_is_carried_to_the_second_step(stack):
    a, secret, _ = enrolled()
    token = first_step(a, cookie=True)
    r = second_step(token, code(secret, 1))
    expect_login(r, 200, cookie=True)
    names = {c.split("=", 1)[0] for c in r.headers.get_all("Set-Cookie")
             or []}
    assert names == {"latch_access", "latch_refresh", "latch_csrf"}, \
        r.describe()
    token = first_step(a)
    r = second_step(token, code(secret, -1) if False else None,
                    recovery=None)
    expect_error(r, 400, "invalid_field", field="code")


def test_new_recovery_codes_and_turning_off(stack):
    a, secret, codes = enrolled()
    body = {"password": a.password, "code": code(secret, 1)}
    expect_error(http("POST", "/user/mfa/recovery-codes",
                      dict(body, password="wrong password"),
                      token=a.access), 401, "invalid_credentials")
    expect_error(http("POST", "/user/mfa/recovery-codes",
                      {"password": a.password}, token=a.access), 400,
                 "invalid_field", field="code")
    j = expect(http("POST", "/user/mfa/recovery-codes", body,
                    token=a.access), 200)
    new = j["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(codes), j
    # The old codes are void, the new ones work.
    token = first_step(a)
    expect_error(second_step(token, recovery=codes[2]), 400, "invalid_code")
    expect_login(second_step(token, recovery=new[0]), 200)
    # Off, with the password and a recovery code.
    expect_error(http("DELETE", "/user/mfa/totp",
                      {"password": a.password, "recovery_code": new[0]},
                      token=a.access), 400, "invalid_code")
    expect(http("DELETE", "/user/mfa/totp",
                {"password": a.password, "recovery_code": new[1]},
                token=a.access), 200)
    assert status(a)["enabled"] is False
    expect_login(login(a.username, a.password), 200, username=a.username)
    expect_error(http("DELETE", "/user/mfa/totp",
                      {"password": a.password, "code": "123456"},
                      token=a.access), 409, "mfa_not_enrolled")
    ev = {e["event"] for e in events(a.access)["events"]}
    assert {"mfa.enable", "mfa.recovery_codes", "mfa.disable"} <= ev, ev


def test_the_database_holds_no_secret(stack):
    a, secret, codes = enrolled()
    raw = pyotp.TOTP(secret).byte_secret()
    dump = lib.db_dump()
    assert secret not in dump and secret.lower() not in dump
    assert raw.hex().upper() not in dump.upper()
    for c in codes:
        assert c not in dump and c.replace("-", "") not in dump, c
    row = stack.mysql("SELECT HEX(sealed) FROM totp WHERE user_id = %d"
                      % a.id)
    assert len(row) == 1 and len(row[0][0]) == 2 * (20 + 32 + 37), row


def test_admin_resets_a_member(stack):
    admin = register()
    m = add_user(admin.access)
    m, secret, _ = enrolled(m)
    other = register()
    expect_error(http("POST", "/users/%d/mfa/reset" % m.id, {},
                      token=other.access), 404, "not_found")
    expect_error(http("POST", "/users/%d/mfa/reset" % admin.id, {},
                      token=m.access), 403, "forbidden")
    expect(http("POST", "/users/%d/mfa/reset" % m.id, {},
                token=admin.access), 200)
    lib.expect_token_revoked(m.access)
    expect_login(login(m.username, m.password), 200, username=m.username)
    expect_error(http("POST", "/users/%d/mfa/reset" % m.id, {},
                      token=admin.access), 409, "mfa_not_enrolled")
    ev = events(admin.access, "?event=mfa.reset")["events"]
    assert len(ev) == 1 and ev[0]["actorId"] == admin.id and \
        ev[0]["targetId"] == m.id, ev


def test_latchctl_mfa_reset(stack):
    a, secret, _ = enrolled()
    r = stack.latchctl("mfa-reset", a.username)
    assert r.returncode == 0 and "two-factor sign-in is off" in r.stdout, \
        (r.returncode, r.stdout, r.stderr)
    lib.expect_token_revoked(a.access)
    j = expect_login(login(a.username, a.password), 200)
    assert decode_jwt(j["access_token"])["amr"] == ["pwd"]
    r = stack.latchctl("mfa-reset", a.username)
    assert r.returncode != 0, (r.stdout, r.stderr)
    r = stack.latchctl("mfa-reset", "nobody-" + a.username)
    assert r.returncode != 0, (r.stdout, r.stderr)


def test_without_mfa_key(stack):
    a, secret, _ = enrolled()
    b = register()
    key = stack.config_values()["security"]["mfa_key"]
    stack.reload({"security.mfa_key": ""})
    try:
        expect_error(http("POST", "/user/mfa/totp", {}, token=b.access),
                     503, "mfa_unavailable")
        token = first_step(a)
        expect_error(second_step(token, code(secret, 1)), 503,
                     "mfa_unavailable")
    finally:
        stack.reload({"security.mfa_key": key})
    # Another key opens nothing either; the right one again does.
    stack.reload({"security.mfa_key": "k" * 40})
    try:
        token = first_step(a)
        expect_error(second_step(token, code(secret, 1)), 503,
                     "mfa_unavailable")
    finally:
        stack.reload({"security.mfa_key": key})
    expect_login(second_step(first_step(a), code(secret, 1)), 200)


def test_rotated_key_still_opens_and_reseals(stack):
    a, secret, codes = enrolled()
    old = stack.config_values()["security"]["mfa_key"]
    before = stack.mysql("SELECT HEX(sealed) FROM totp WHERE user_id = %d"
                         % a.id)[0][0]
    r = stack.latchctl("rotate-mfa-key")
    assert r.returncode == 0, (r.stdout, r.stderr)
    cfg = stack.config_values()["security"]
    assert cfg["mfa_key_previous"] == old and cfg["mfa_key"] != old
    stack.sighup(wait=True)
    try:
        expect_login(second_step(first_step(a), recovery=codes[0]), 200)
        after = stack.mysql("SELECT HEX(sealed) FROM totp WHERE "
                            "user_id = %d" % a.id)[0][0]
        assert after != before and after[2:18] != before[2:18], \
            "not sealed again under the new key"
        # Without the previous key it still opens: sealed anew.
        stack.reload({"security.mfa_key_previous": ""})
        expect_login(second_step(first_step(a), recovery=codes[1]), 200)
    finally:
        stack.reload({"security.mfa_key": old,
                      "security.mfa_key_previous": ""})


def test_login_answer_keys_unchanged_without_totp(stack):
    a = register()
    j = expect_login(login(a.username, a.password), 200)
    assert set(j) == LOGIN_KEYS


# ------------------------------------------------------------- policy

def set_policy(token, policy, query="", path="/organization"):
    return http("PATCH", path + query, {"require_mfa": policy}, token=token)


def restricted_login(acct):
    """A sign-in that may only enrol: the login answer says so."""
    r = login(acct.username, acct.password)
    j = expect(r, 200)
    assert set(j) == LOGIN_KEYS | {"mfa_enrollment_required"} and \
        j["mfa_enrollment_required"] is True, r.describe()
    return acct.update(j)


def only_enrolment(acct):
    """acct's session may enrol and nothing else."""
    expect_error(http("GET", "/auth/sessions", token=acct.access), 403,
                 "mfa_enrollment_required")
    expect_error(http("PATCH", "/user/profile", {"name": "x"},
                      token=acct.access), 403, "mfa_enrollment_required")
    r = verify(acct.access)
    expect_error(r, 403, "mfa_enrollment_required")
    assert r.json["valid"] is False, r.describe()
    expect(profile(acct.access), 200)
    st = status(acct)
    assert st["required"] is True and st["restricted"] is True, st


def test_policy_admins(stack):
    admin = register()
    member = add_user(admin.access)
    for bad in ("some", "", "ALL", 1, ["all"]):
        expect_error(set_policy(admin.access, bad), 400, "invalid_field",
                     field="require_mfa", msg=repr(bad))
    expect_error(set_policy(member.access, "all"), 403, "forbidden")
    j = expect(set_policy(admin.access, "admins"), 200)
    assert j["organization"]["requireMfa"] == "admins", j
    # The admin's own session, started before, is restricted at once.
    only_enrolment(admin)
    # A member is not concerned.
    expect(http("GET", "/auth/sessions", token=member.access), 200)
    expect_login(login(member.username, member.password), 200)
    # The admin signs in to a restricted session, enrols, and is free.
    restricted_login(admin)
    only_enrolment(admin)
    expect_error(http("DELETE", "/user/mfa/totp", {"password": "x",
                                                   "code": "123456"},
                      token=admin.access), 403, "mfa_enrollment_required")
    admin, secret, _ = enrolled(admin)
    expect(http("GET", "/auth/sessions", token=admin.access), 200)
    assert status(admin)["restricted"] is False
    # Turning it off is refused while the policy requires it.
    expect_error(http("DELETE", "/user/mfa/totp",
                      {"password": admin.password, "code": code(secret, 1)},
                      token=admin.access), 403, "mfa_required")
    ev = [e["detail"] for e in events(admin.access, "?event=org.update")
          ["events"]]
    assert "require_mfa=admins" in ev, ev
    j = expect_login(second_step(first_step(admin), code(secret, 1)), 200)
    assert "mfa_enrollment_required" not in j


def test_policy_all_and_back(stack):
    admin = register()
    member = add_user(admin.access)
    admin, _, _ = enrolled(admin)
    expect(set_policy(admin.access, "all"), 200)
    expect(http("GET", "/auth/sessions", token=admin.access), 200)
    only_enrolment(member)
    restricted_login(member)
    # Refreshing keeps the restriction: it lives in the session.
    j = expect(http("POST", "/auth/refresh",
                    {"refresh_token": member.refresh}), 200)
    expect_error(http("GET", "/auth/sessions", token=j["access_token"]),
                 403, "mfa_enrollment_required")
    # Back to none: the sessions are free again.
    expect(set_policy(admin.access, "none"), 200)
    expect(http("GET", "/auth/sessions", token=member.access), 200)
    expect_login(login(member.username, member.password), 200)


def test_policy_by_superadmin_and_invited_members(stack):
    from adminlib import invite, register_with, sa_token
    sa = sa_token(stack)
    admin = register()
    oid = admin.user["organizationId"]
    j = expect(set_policy(sa, "all", path="/organizations/%d" % oid), 200)
    assert j["organization"]["requireMfa"] == "all", j
    only_enrolment(admin)
    # Someone who registers from an invitation starts restricted too.
    admin, _, _ = enrolled(restricted_login(admin))
    inv = invite(admin.access)
    r, _, _ = register_with(inv["code"])
    j = expect(r, 201)
    expect_error(http("GET", "/auth/sessions", token=j["access_token"]),
                 403, "mfa_enrollment_required")


def test_admin_may_not_reset_a_superadmin_nor_finish_for_a_disabled(stack):
    from adminlib import superadmin
    sa = superadmin(stack)
    adm = add_user(sa.access, role="admin")
    expect_error(http("POST", "/users/%d/mfa/reset" % sa.id, {},
                      token=adm.access), 403, "forbidden")
    # Disabled between the two steps: the second one is refused.
    m, secret, _ = enrolled(add_user(adm.access))
    token = first_step(m)
    expect(http("POST", "/users/%d/disable" % m.id, {}, token=adm.access),
           200)
    expect_error(second_step(token, code(secret, 1)), 401, "invalid_token")


def test_one_code_for_two_sign_ins_at_once(stack):
    """Two second steps racing with the same code (each of its own
    sign-in): the code counts once, whichever comes first."""
    for attempt in range(2):
        a, secret, _ = enrolled()
        tokens = [first_step(a), first_step(a)]
        c = code(secret, 1)
        rs = run_at_once([lambda t=t: second_step(t, c) for t in tokens])
        assert sorted(r.status for r in rs) == [200, 400], \
            [r.describe() for r in rs]
