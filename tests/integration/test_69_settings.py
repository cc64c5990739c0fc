"""
Run-time settings (docs/api.md, "GET /settings", "PATCH /settings"): a
superadmin reads and changes auth_enabled, allow_new_organizations,
password_min_length, invitation_ttl and the sign-in limits over HTTP; a
change made through one worker holds on every worker within the stated
bound (the stack runs several); null goes back to the config's value; a
setting the config pins ([security] pinned_settings) is refused and its
stored value ignored; bad values and unknown names are refused; every
change is audited.
"""

import contextlib
import time

import fcgiclient
import lib
from adminlib import events, new_admin, sa_token, superadmin
from lib import expect, expect_error, http, new_email, new_password, uniq

MAX_AGE = 1  # s: how old a worker's copy of the settings may be
NAMES = {"auth_enabled", "allow_new_organizations", "password_min_length",
         "invitation_ttl", "login_max_failures", "login_window",
         "login_max_delay"}


def settings(token):
    j = expect(http("GET", "/settings", token=token), 200)
    s = j["settings"]
    assert set(s) == NAMES, sorted(s)
    for name, v in s.items():
        assert set(v) == {"value", "config", "stored", "pinned"}, v
        kind = bool if name in ("auth_enabled",
                                "allow_new_organizations") else int
        assert type(v["value"]) is kind and type(v["config"]) is kind, v
    assert j["max_age_ms"] == MAX_AGE * 1000, j
    return s


def patch(token, body, status=200):
    return expect(http("PATCH", "/settings", body, token=token), status)


def on_every_worker(stack, probe, what):
    """probe() holds for 20 requests in a row (the stack's workers take
    turns), within a few times the stated bound of one second."""
    assert stack.configured_workers() >= 2, "the test needs several workers"
    t0 = time.monotonic()

    def all_of_them():
        return all(probe() for _ in range(20))
    lib.wait_for(all_of_them, 10, what)
    return time.monotonic() - t0


def short_password_refused(admin):
    """Whether a 12-character password is too short now (answered
    before the username, which is taken, is looked at: nothing made)."""
    r = http("POST", "/users", {"username": admin.username, "email":
                                new_email(), "password": "x" * 12},
             token=admin.access)
    assert r.status in (400, 409), r.describe()
    return r.status == 400


def back_to_the_config(stack, token):
    """Remove every stored value and wait until every worker holds the
    config's again, so that no later scenario sees this file's."""
    t0 = time.monotonic()
    patch(token, {n: None for n in NAMES})
    sa = superadmin(stack)
    on_every_worker(stack, lambda: registration_open() and
                    not short_password_refused(sa),
                    "every worker back to the config's values")
    # Twenty answers in a row need not come from every worker (an idle
    # one may not be picked): past the stated bound (max_age_ms) after
    # the change, every worker's next request has read it.
    left = MAX_AGE + 0.1 - (time.monotonic() - t0)
    if left > 0:
        time.sleep(left)


@contextlib.contextmanager
def restored(stack, token):
    try:
        yield
    finally:
        back_to_the_config(stack, token)


def registration_open():
    return http("GET", "/setup").json["registration_open"]


def test_read_and_who_may(stack):
    sa = sa_token(stack)
    s = settings(sa)
    cfg = stack.config_values()
    assert s["allow_new_organizations"]["config"] == (
        cfg["security"].get("allow_new_organizations") == "true"), s
    assert s["password_min_length"]["config"] == int(
        cfg["security"].get("password_min_length", "8")), s
    for v in s.values():
        assert v["stored"] is False and v["pinned"] is False, s
    a = new_admin(stack)
    expect_error(http("GET", "/settings", token=a.access), 403, "forbidden")
    expect_error(http("PATCH", "/settings", {"auth_enabled": False},
                      token=a.access), 403, "forbidden")
    expect_error(http("GET", "/settings"), 401, "missing_token")


def test_a_change_holds_on_every_worker(stack):
    sa = sa_token(stack)
    assert registration_open() is True, "the stack's config opens it"
    a = new_admin(stack)
    with restored(stack, sa):
        s = patch(sa, {"allow_new_organizations": False})["settings"]
        assert s["allow_new_organizations"] == {
            "value": False, "config": True, "stored": True,
            "pinned": False}, s
        took = on_every_worker(stack, lambda: registration_open() is False,
                               "every worker to close registration")
        lib.log("registration closed everywhere after %.2f s" % took)
        r = http("POST", "/auth/register", {
            "organization": uniq("Org "), "username": uniq(),
            "email": new_email(), "password": new_password()})
        expect_error(r, 403, "registration_closed")

        # A stricter password rule, on every worker too.
        patch(sa, {"password_min_length": 20, "allow_new_organizations":
                   None})
        on_every_worker(stack, lambda: http("POST", "/users", {
            "username": uniq(), "email": new_email(),
            "password": "x" * 19}, token=a.access).status == 400,
            "every worker to ask for 20 characters")
        expect_error(http("POST", "/users", {
            "username": uniq(), "email": new_email(),
            "password": "x" * 19}, token=a.access), 400, "weak_password")
        expect(http("POST", "/users", {
            "username": uniq(), "email": new_email(),
            "password": new_password(24)}, token=a.access), 201)
        # null: back to the config's.
        s = patch(sa, {"password_min_length": None})["settings"]
        assert s["password_min_length"]["stored"] is False and \
            s["password_min_length"]["value"] == \
            s["password_min_length"]["config"], s
        on_every_worker(stack, registration_open, "registration open again")
    ev = events(sa, "?event=settings.change")["events"]
    sa_id = int(lib.decode_jwt(sa)["sub"])
    assert ev and all(e["actorId"] == sa_id for e in ev[:3]), ev[:3]
    details = [e["detail"] for e in ev]
    assert "allow_new_organizations=false" in details and \
        "password_min_length=20 allow_new_organizations=config" in details, \
        details


def test_auth_enabled_off_at_run_time(stack):
    sa = sa_token(stack)

    def anonymous():
        st, h, b = fcgiclient.call(stack.latchd_socket, {
            "REQUEST_METHOD": "GET", "REQUEST_URI": "/guarded/x",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"})
        return st == 200 and ("Variable-LATCH_ROLE", "anonymous") in h

    with restored(stack, sa):
        assert not anonymous()
        patch(sa, {"auth_enabled": False})
        on_every_worker(stack, anonymous, "the authorizer to open")
        assert http("GET", "/setup").json["auth_enabled"] is False
        # The API's own routes still need a sign-in.
        expect_error(http("GET", "/settings"), 401, "missing_token")
    on_every_worker(stack, lambda: not anonymous(), "the authorizer to close")


def test_bad_values(stack):
    sa = sa_token(stack)
    for body, field in (({"password_min_length": 7}, "password_min_length"),
                        ({"password_min_length": 257},
                         "password_min_length"),
                        ({"password_min_length": "12"},
                         "password_min_length"),
                        ({"password_min_length": 12.0},
                         "password_min_length"),
                        ({"auth_enabled": "false"}, "auth_enabled"),
                        ({"auth_enabled": 0}, "auth_enabled"),
                        ({"login_window": True}, "login_window"),
                        ({"invitation_ttl": 59}, "invitation_ttl"),
                        ({"jwt_secret": "x" * 40}, "jwt_secret"),
                        ({"auth_enable": False}, "auth_enable"),
                        ({"login_window": 60, "nope": 1}, "nope")):
        expect_error(http("PATCH", "/settings", body, token=sa), 400,
                     "invalid_field", field=field, msg=repr(body))
    s = settings(sa)
    assert not any(v["stored"] for v in s.values()), \
        "a refused PATCH stored something: %r" % s
    expect(http("PATCH", "/settings", {}, token=sa), 200)


def test_a_pinned_setting(stack):
    sa = sa_token(stack)
    patch(sa, {"password_min_length": 30})
    try:
        stack.reload({"security.pinned_settings":
                      "password_min_length, auth_enabled"})
        s = settings(sa)
        assert s["password_min_length"]["pinned"] is True and \
            s["auth_enabled"]["pinned"] is True and \
            s["allow_new_organizations"]["pinned"] is False, s
        # The stored 30 is ignored: the config's value holds.
        assert s["password_min_length"]["value"] == \
            s["password_min_length"]["config"], s
        r = http("PATCH", "/settings", {"auth_enabled": False}, token=sa)
        j = expect_error(r, 403, "setting_pinned")
        assert j["setting"] == "auth_enabled", j
        expect_error(http("PATCH", "/settings", {
            "allow_new_organizations": True, "password_min_length": None},
            token=sa), 403, "setting_pinned")
        a = new_admin(stack)
        expect(http("POST", "/users", {
            "username": uniq(), "email": new_email(),
            "password": new_password(12)}, token=a.access), 201)
    finally:
        stack.reload({"security.pinned_settings": ""})
        back_to_the_config(stack, sa_token(stack))
