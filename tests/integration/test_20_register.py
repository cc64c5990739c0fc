"""
POST /auth/register of a new organization: the new user is its admin;
clashes (409), field checks (400 invalid_field / weak_password), and the
switch [security] allow_new_organizations (403 registration_closed).
"""

import secrets

from lib import (expect, expect_error, expect_login, expect_user, http,
                 new_email, new_password, profile, register, uniq, login,
                 PASSWORDS, refusing, sql_str)


def reg_body(**kw):
    b = {"organization": uniq("Org "), "username": uniq(),
         "email": new_email(), "password": new_password()}
    b.update(kw)
    return b


def test_register_creates_an_admin_of_a_new_organization(stack):
    b = reg_body(name="Ada Lovelace")
    r = http("POST", "/auth/register", b)
    j = expect_login(r, 201, username=b["username"], role="admin",
                     organizationName=b["organization"],
                     name="Ada Lovelace", disabled=False)
    assert j["user"]["email"].lower() == b["email"].lower(), j["user"]
    p = expect(profile(j["access_token"]), 200)
    expect_user(p["user"], id=j["user"]["id"], role="admin",
                organizationId=j["user"]["organizationId"])
    # A second registration is a second organization.
    other = register()
    assert other.user["organizationId"] != j["user"]["organizationId"]
    # And the new user can sign in.
    expect_login(login(b["username"], b["password"]), 200,
                 username=b["username"])


def test_name_is_optional(stack):
    b = reg_body()
    j = expect_login(http("POST", "/auth/register", b), 201,
                     username=b["username"])
    assert j["user"]["name"] in ("", b["username"]), j["user"]


def test_username_taken(stack):
    a = register()
    r = http("POST", "/auth/register", reg_body(username=a.username))
    expect_error(r, 409, "username_taken")


def test_usernames_are_case_sensitive(stack):
    a = register(username=uniq("case").lower() + "x")
    b = register(username=a.username.upper())
    assert b.id != a.id


def test_email_taken_case_insensitively(stack):
    a = register()
    for email in (a.email, a.email.upper(),
                  a.email.split("@")[0].upper() + "@" +
                  a.email.split("@")[1]):
        r = http("POST", "/auth/register", reg_body(email=email))
        expect_error(r, 409, "email_taken", msg=email)


def test_organization_taken(stack):
    a = register()
    r = http("POST", "/auth/register", reg_body(organization=a.org))
    expect_error(r, 409, "organization_taken")


def test_a_refused_registration_creates_nothing(stack):
    a = register()
    b = reg_body(username=a.username)
    expect_error(http("POST", "/auth/register", b), 409, "username_taken")
    # Neither the organization nor the email were taken by the failure.
    c = reg_body(organization=b["organization"], email=b["email"])
    expect_login(http("POST", "/auth/register", c), 201,
                 username=c["username"])


def test_invalid_fields(stack):
    cases = [
        ("organization", None), ("organization", ""),
        ("organization", "   "), ("organization", 42),
        ("organization", "x" * 129), ("organization", "bad\x01ctl"),
        ("username", None), ("username", ""), ("username", "ab"),
        ("username", "x" * 65), ("username", "with space"),
        ("username", "semi;colon"), ("username", "sl/ash"),
        ("username", "\u00fcml\u00e4ut"), ("username", "at@sign"),
        ("username", 12345),
        ("email", None), ("email", ""), ("email", "no-at-sign"),
        ("email", "two@@example.org"), ("email", "a@b@example.org"),
        ("email", "@example.org"), ("email", "local@"),
        ("email", "sp ace@example.org"), ("email", "a,b@example.org"),
        ("email", "<a@example.org>"), ("email", '"q"@example.org'),
        ("email", "a@example.org\r\nBcc: x@example.org"),
        ("email", "a@example.org\n"),
        ("email", "x" * 243 + "@example.org"),
        ("email", ["a@example.org"]),
        ("name", 42), ("name", "x" * 129), ("name", "ctl\x07"),
        ("password", 12345678), ("password", None),
    ]
    for field, value in cases:
        b = reg_body()
        if value is None:
            del b[field]
        else:
            b[field] = value
        expect_error(http("POST", "/auth/register", b), 400,
                     "invalid_field", field=field,
                     msg="%s = %r" % (field, value))


def test_boundary_values_are_accepted(stack):
    # username of 3 and 64 characters, an email of 254, name of 128
    for username in (secrets.token_hex(2)[:3],
                     (uniq("long") + "_" * 64)[:64]):
        b = reg_body(username=username)
        r = http("POST", "/auth/register", b)
        expect_login(r, 201, username=username)
    local = uniq("e")
    domain = "example.org"
    while len(local) + 1 + len(domain) < 254:
        room = 254 - len(local) - 1 - len(domain) - 1
        domain = "d" * min(60, room) + "." + domain if room > 0 \
            else "d" + domain
    email = local + "@" + domain
    assert len(email) == 254, len(email)
    b = reg_body(email=email, name="n" * 128)
    expect_login(http("POST", "/auth/register", b), 201,
                 username=b["username"], name="n" * 128)
    b = reg_body(username="Dot.dash-under_" + secrets.token_hex(3))
    expect_login(http("POST", "/auth/register", b), 201,
                 username=b["username"])


def test_weak_passwords(stack):
    for pw in (new_password(7), new_password(1), new_password(257),
               new_password(1000)):
        r = http("POST", "/auth/register", reg_body(password=pw))
        expect_error(r, 400, "weak_password", msg="%d characters" % len(pw))
    # Eight and 256 characters are fine, counted in characters.
    for pw in (new_password(8), new_password(256),
               "\u00e9" * 7 + secrets.token_hex(1)[0],
               "\u65e5" * 255 + secrets.token_hex(1)[0]):
        PASSWORDS.add(pw)
        b = reg_body(password=pw)
        expect_login(http("POST", "/auth/register", b), 201,
                     username=b["username"])
        expect_login(login(b["username"], pw), 200, username=b["username"])


def test_registration_closed(stack):
    before = register()
    try:
        stack.reload(allow_new_organizations=False)
        j = expect(http("GET", "/setup"), 200)
        assert j.get("registration_open") is False, j
        b = reg_body()
        expect_error(http("POST", "/auth/register", b), 403,
                     "registration_closed")
        # The refused registration created nobody.
        expect_error(login(b["username"], b["password"]), 401,
                     "invalid_credentials")
        # Sign-in is not affected.
        expect_login(login(before.username, before.password), 200,
                     username=before.username)
    finally:
        stack.reload(allow_new_organizations=True)
    j = expect(http("GET", "/setup"), 200)
    assert j.get("registration_open") is True, j
    register()


def _count(stack, table, col, value):
    return stack.mysql("SELECT COUNT(*) FROM %s WHERE %s = %s"
                       % (table, col, sql_str(value)))[0][0]


def test_a_registration_whose_session_cannot_be_stored_creates_nothing(
        stack):
    """The organization, its admin, their audit events and the session
    are one transaction: when the session cannot be stored the answer is
    503 and there is no account (nor organization) to sign in to; the
    same registration works once sessions can be stored again."""
    b = reg_body(username=uniq("nosess"))
    cond = "NEW.user_id IN (SELECT id FROM users WHERE username = %s)" \
        % sql_str(b["username"])
    with refusing(stack, "sessions", "INSERT", cond):
        expect_error(http("POST", "/auth/register", b), 503,
                     "service_unavailable")
    assert _count(stack, "users", "username", b["username"]) == "0", \
        "a registration answered 503 left its account behind"
    assert _count(stack, "organizations", "name", b["organization"]) == "0"
    expect_error(login(b["username"], b["password"]), 401,
                 "invalid_credentials")
    expect_login(http("POST", "/auth/register", b), 201,
                 username=b["username"])
