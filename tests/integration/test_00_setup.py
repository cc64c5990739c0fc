"""
First run of a fresh installation: health, then GET/POST /setup creating
the first superadmin exactly once.  Must run first (the stack is new).
"""

from lib import (expect, expect_error, expect_login, expect_user, http,
                 new_email, new_password, profile, refusing, uniq)


def test_health_ok(stack):
    j = expect(http("GET", "/health"), 200)
    assert j.get("status") == "ok" and j.get("database") == "ok", j


def test_setup_required_on_a_new_installation(stack):
    j = expect(http("GET", "/setup"), 200)
    assert j.get("setup_required") is True, j
    # The test stack allows new organizations.
    assert j.get("registration_open") is True, j


def test_setup_refuses_bad_fields_without_creating_anyone(stack):
    good = {"organization": "Root Org", "username": uniq("root"),
            "email": new_email(), "password": new_password()}
    expect_error(http("POST", "/setup", dict(good, email="not-an-email")),
                 400, "invalid_field", field="email")
    expect_error(http("POST", "/setup", dict(good, username="a b")),
                 400, "invalid_field", field="username")
    expect_error(http("POST", "/setup", dict(good, password="short")),
                 400, "weak_password")
    j = expect(http("GET", "/setup"), 200)
    assert j.get("setup_required") is True, \
        "a refused setup must not create a user: %r" % j


def test_a_setup_whose_session_cannot_be_stored_creates_no_one(stack):
    """The organization, its superadmin, their audit events and the
    session are one transaction: when the session cannot be stored the
    answer is 503 and setup is still required."""
    b = {"organization": "Root Org", "username": uniq("root"),
         "email": new_email(), "password": new_password()}
    with refusing(stack, "sessions", "INSERT", "1"):
        expect_error(http("POST", "/setup", b), 503, "service_unavailable")
    j = expect(http("GET", "/setup"), 200)
    assert j.get("setup_required") is True, \
        "a setup answered 503 left its superadmin behind: %r" % j
    assert stack.mysql("SELECT COUNT(*) FROM organizations") == [["0"]]


def test_setup_creates_the_first_superadmin(stack):
    username, email, password = uniq("root"), new_email(), new_password()
    r = http("POST", "/setup", {"organization": "Root Org",
                                "username": username, "email": email,
                                "password": password, "name": "Root"})
    j = expect_login(r, 201, username=username, role="superadmin",
                     organizationName="Root Org", name="Root",
                     disabled=False)
    assert j["user"]["email"].lower() == email.lower(), j["user"]
    p = expect(profile(j["access_token"]), 200)
    expect_user(p["user"], username=username, role="superadmin")


def test_second_setup_is_refused(stack):
    r = http("POST", "/setup", {"organization": "Other Root",
                                "username": uniq("root"),
                                "email": new_email(),
                                "password": new_password()})
    expect_error(r, 409, "setup_done")


def test_setup_no_longer_required(stack):
    j = expect(http("GET", "/setup"), 200)
    assert j.get("setup_required") is False, j
    assert j.get("registration_open") is True, j
