"""
The guard of other paths, in its two forms, spoken directly to latchd's
socket: the FastCGI AUTHORIZER role (test_87 drives it through lighttpd
and Apache) and GET /auth/check, the subrequest of nginx and Caddy
(test_79 drives it through them).  401 without a token, 200 with the
Variable-LATCH_* (X-Latch-*) headers, a kid that names no key and
revoked sessions refused, LATCH_REQUIRE_ROLE and never a header in its
place, LATCH_AMR and LATCH_REQUIRE_AMR, the latch_access cookie, the
sign-in for browsers, and [security]
auth_enabled = false letting everyone through as anonymous.
"""

import json

import fcgiclient
import lib
from lib import expect, http, login_ok, new_email, new_password, register, \
    uniq


def _call(stack, params, role, token, cookie, require, extra):
    if token is not None:
        params["HTTP_AUTHORIZATION"] = "Bearer " + token
    if cookie is not None:
        params["HTTP_COOKIE"] = cookie
    if require is not None:
        params["LATCH_REQUIRE_ROLE"] = require
    params.update(extra or {})
    status, headers, body = fcgiclient.call(stack.latchd_socket, params,
                                            role=role)
    lib.log("guard", params.get("LATCH_REQUIRE_ROLE"), "->", status,
            headers, body)
    return status, headers, body


def authz(stack, token=None, cookie=None, require=None, extra=None):
    """The AUTHORIZER role, as lighttpd and Apache ask."""
    return _call(stack, {"REQUEST_METHOD": "GET",
                         "REQUEST_URI": "/guarded/file.txt",
                         "SCRIPT_NAME": "/guarded/file.txt",
                         "SERVER_PROTOCOL": "HTTP/1.1",
                         "REMOTE_ADDR": "127.0.0.1"},
                 fcgiclient.AUTHORIZER, token, cookie, require, extra)


def check(stack, token=None, cookie=None, require=None, extra=None):
    """GET /auth/check as nginx's auth_request sends it: PATH_INFO, no
    REQUEST_URI."""
    return _call(stack, {"REQUEST_METHOD": "GET", "PATH_INFO": "/auth/check",
                         "SERVER_PROTOCOL": "HTTP/1.1",
                         "REMOTE_ADDR": "127.0.0.1"},
                 fcgiclient.RESPONDER, token, cookie, require, extra)


IDENTITY = ("X-Latch-User-Id", "X-Latch-Username", "X-Latch-Org-Id",
            "X-Latch-Role", "X-Latch-Amr")


def identity(headers):
    return {k: v for k, v in headers if k in IDENTITY}


def _refused(status, headers, body, want, code, carried):
    assert status == want, "expected %d, got %d %r %r" % (
        want, status, headers, body)
    assert not carried(headers), headers
    j = json.loads(body.decode())
    assert j["success"] is False and j["error"] == code, j
    if want == 401:
        assert ("WWW-Authenticate", 'Bearer realm="latch"') in headers, \
            headers


def check_refused(status, headers, body, want, code):
    _refused(status, headers, body, want, code, identity)


def variables(headers):
    return {k[len("Variable-"):]: v for k, v in headers
            if k.startswith("Variable-")}


def refused(stack, status, headers, body, want, code):
    _refused(status, headers, body, want, code, variables)


def user_token(stack, org):
    return lib.plain_user(stack, org, "azu")


def test_no_token_is_401(stack):
    st, h, b = authz(stack)
    refused(stack, st, h, b, 401, "missing_token")
    st, h, b = authz(stack, token="not.a.token")
    refused(stack, st, h, b, 401, "invalid_token")
    st, h, b = authz(stack, cookie="latch_access=garbage")
    refused(stack, st, h, b, 401, "invalid_token")


def test_good_token_gives_the_variables(stack):
    a = register()
    st, h, b = authz(stack, token=a.access)
    assert st == 200 and b == b"", (st, h, b)
    expect_vars = {"LATCH_USER_ID": str(a.id),
                   "LATCH_USERNAME": a.username,
                   "LATCH_ORG_ID": str(a.user["organizationId"]),
                   "LATCH_ROLE": "admin", "LATCH_AMR": "pwd"}
    assert variables(h) == expect_vars, h


def test_cookie_token_works(stack):
    a = register()
    st, h, b = authz(stack, cookie="theme=dark; latch_access=" + a.access)
    assert st == 200, (st, h, b)
    assert variables(h)["LATCH_USERNAME"] == a.username
    # A value with a control character is no cookie at all.
    st, h, b = authz(stack, cookie="latch_access=\x01" + a.access)
    refused(stack, st, h, b, 401, "missing_token")
    st, h, b = authz(stack, cookie="latch_access=%s\x7f" % a.access)
    refused(stack, st, h, b, 401, "missing_token")
    # The first occurrence wins.
    st, h, b = authz(stack, cookie="latch_access=x; latch_access=" +
                     a.access)
    refused(stack, st, h, b, 401, "invalid_token")


def test_a_kid_that_names_no_key_is_401(stack):
    a = register()
    ours = lib.kid_of(lib.SECRET)
    st, h, b = authz(stack, token=lib.with_kid(a.access, ours))
    assert st == 200 and variables(h)["LATCH_USERNAME"] == a.username, \
        (st, h, b)
    other = "another-secret-of-at-least-32-bytes-xxxxxxx"
    for kid, key in (("AAAAAAAAAAA", None), (lib.kid_of(other), None),
                     (lib.kid_of(other), other)):
        t = lib.with_kid(a.access, kid, key)
        st, h, b = authz(stack, token=t)
        refused(stack, st, h, b, 401, "invalid_token")
        st, h, b = authz(stack, cookie="latch_access=" + t)
        refused(stack, st, h, b, 401, "invalid_token")


def test_revoked_session_is_401(stack):
    a = register()
    b = login_ok(a)
    assert authz(stack, token=b.access)[0] == 200
    expect(http("POST", "/auth/logout", {}, token=b.access), 200)
    st, h, body = authz(stack, token=b.access)
    refused(stack, st, h, body, 401, "session_revoked")


def test_require_role(stack):
    a = register()
    tok, u = user_token(stack, a.org)
    st, h, b = authz(stack, token=tok)
    assert st == 200 and variables(h)["LATCH_ROLE"] == "user", (st, h)
    st, h, b = authz(stack, token=tok, require="admin")
    refused(stack, st, h, b, 403, "forbidden")
    st, h, b = authz(stack, token=tok, require="admin, superadmin")
    refused(stack, st, h, b, 403, "forbidden")
    st, h, b = authz(stack, token=tok, require="user")
    assert st == 200, (st, h, b)
    st, h, b = authz(stack, token=a.access, require="admin")
    assert st == 200, (st, h, b)
    st, h, b = authz(stack, token=a.access, require="superadmin")
    refused(stack, st, h, b, 403, "forbidden")
    st, h, b = authz(stack, token=a.access, require="admn")
    refused(stack, st, h, b, 403, "forbidden")


def test_auth_disabled_lets_everyone_in(stack):
    a = register()
    try:
        stack.reload({"security.auth_enabled": False})
        for kw in ({}, {"token": "garbage"}, {"require": "superadmin"}):
            st, h, b = authz(stack, **kw)
            assert st == 200 and b == b"", (kw, st, h, b)
            assert variables(h) == {"LATCH_USER_ID": "", "LATCH_USERNAME": "",
                                    "LATCH_ORG_ID": "",
                                    "LATCH_ROLE": "anonymous", "LATCH_AMR": ""}, h
        j = expect(http("GET", "/setup"), 200)
        assert j["auth_enabled"] is False, j
        # The API's own routes still want a signed-in caller.
        lib.expect_error(http("GET", "/users"), 401, "missing_token")
        expect(http("GET", "/users", token=a.access), 200)
    finally:
        stack.reload({"security.auth_enabled": True})
    j = expect(http("GET", "/setup"), 200)
    assert j["auth_enabled"] is True, j
    st, h, b = authz(stack)
    assert st == 401, (st, h, b)


def test_setup_skip_refused_once_users_exist(stack):
    lib.expect_error(http("POST", "/setup", {"skip": True}), 409,
                     "setup_done")
    lib.expect_error(http("POST", "/setup", {"skip": "yes"}), 409,
                     "setup_done")


def test_setup_skip_on_an_empty_database(stack):
    """
    A database without any user: POST /setup {"skip": true} turns
    authentication off, and the authorizer lets every request through as
    anonymous; once the first user exists it asks for a token again.  The
    shared stack always has users, so latchd is pointed at a fresh
    database for this test and back afterwards.
    """
    with lib.fresh_database(stack, "latch_fresh"):
        j = expect(http("GET", "/setup"), 200)
        assert j["setup_required"] is True and j["auth_enabled"] is True, j
        st, h, b = authz(stack)
        assert st == 401, (st, h, b)

        j = expect(http("POST", "/setup", {"skip": True}), 200)
        assert j["auth_enabled"] is False, j
        j = expect(http("GET", "/setup"), 200)
        assert j["setup_required"] is True and j["auth_enabled"] is False, j
        st, h, b = authz(stack)
        assert st == 200, (st, h, b)
        assert variables(h) == {"LATCH_USER_ID": "", "LATCH_USERNAME": "",
                                "LATCH_ORG_ID": "", "LATCH_ROLE":
                                "anonymous", "LATCH_AMR": ""}, h
        # The API's own routes still want a sign-in.
        lib.expect_error(http("GET", "/user/profile"), 401, "missing_token")

        # The first user ends it.
        username, password = uniq("first"), new_password()
        r = http("POST", "/setup", {"organization": uniq("Fresh"),
                                    "username": username,
                                    "email": new_email(),
                                    "password": password})
        token = expect(r, 201)["access_token"]
        j = expect(http("GET", "/setup"), 200)
        assert j["setup_required"] is False and j["auth_enabled"] is True, j
        st, h, b = authz(stack)
        assert st == 401, (st, h, b)
        st, h, b = authz(stack, token=token)
        assert st == 200 and variables(h)["LATCH_ROLE"] == "superadmin", \
            (st, h, b)
        lib.expect_error(http("POST", "/setup", {"skip": True}), 409,
                         "setup_done")
    j = expect(http("GET", "/setup"), 200)
    assert j["setup_required"] is False and j["auth_enabled"] is True, j


def test_browser_without_session_is_sent_to_sign_in(stack):
    """
    [server] login_url: a browser's GET or HEAD (Accept: text/html)
    without a valid session gets 302 to the sign-in page with next = the
    guarded REQUEST_URI percent-encoded; scripts, other methods, a good
    session and a refused role are answered as before.
    """
    a = register()
    html = "text/html,application/xhtml+xml,*/*;q=0.8"
    st, h, b = authz(stack, extra={"HTTP_ACCEPT": html})
    refused(stack, st, h, b, 401, "missing_token")   # no login_url yet
    try:
        stack.reload({"server.login_url": "/auth/signin.html"})
        for kw in ({}, {"token": "not.a.token"},
                   {"cookie": "latch_access=garbage"}):
            st, h, b = authz(stack, extra={"HTTP_ACCEPT": html}, **kw)
            assert st == 302 and b == b"", (kw, st, h, b)
            assert ("Location", "/auth/signin.html?next=/guarded/file.txt") \
                in h and ("Cache-Control", "no-store") in h, (kw, h)
            assert not variables(h), h
        st, h, b = authz(stack, extra={"HTTP_ACCEPT": html,
                                       "REQUEST_METHOD": "HEAD"})
        assert st == 302, (st, h, b)
        # A revoked session is no session.
        b2 = login_ok(a)
        expect(http("POST", "/auth/logout", {}, token=b2.access), 200)
        st, h, b = authz(stack, token=b2.access,
                         extra={"HTTP_ACCEPT": html})
        assert st == 302, (st, h, b)
        # The query goes along; what could end the header is escaped.
        st, h, b = authz(stack, extra={
            "HTTP_ACCEPT": html,
            "REQUEST_URI": "/guarded/a b.html?x=1&y=\xc3\xa9\r\n"
                           "Set-Cookie: x"})
        assert ("Location", "/auth/signin.html?next=/guarded/a%20b.html"
                "%3Fx%3D1%26y%3D%C3%A9%0D%0ASet-Cookie%3A%20x") in h, h
        # Too long to carry: the page is still the sign-in page.
        st, h, b = authz(stack, extra={
            "HTTP_ACCEPT": html, "REQUEST_URI": "/g?" + "%" * 2000})
        assert st == 302 and ("Location", "/auth/signin.html") in h, h
        # Scripts and APIs: 401 as ever.
        for extra in ({"HTTP_ACCEPT": "application/json"}, {},
                      {"HTTP_ACCEPT": html, "REQUEST_METHOD": "POST"}):
            st, h, b = authz(stack, extra=extra)
            refused(stack, st, h, b, 401, "missing_token")
        # Signed in: through; the role refused: 403, not a sign-in.
        st, h, b = authz(stack, token=a.access, extra={"HTTP_ACCEPT": html})
        assert st == 200, (st, h, b)
        st, h, b = authz(stack, token=a.access, require="superadmin",
                         extra={"HTTP_ACCEPT": html})
        refused(stack, st, h, b, 403, "forbidden")
        stack.reload({"server.login_url": "https://auth.example.test/in"})
        st, h, b = authz(stack, extra={"HTTP_ACCEPT": html})
        assert ("Location", "https://auth.example.test/in?next="
                "/guarded/file.txt") in h, h
    finally:
        stack.reload({"server.login_url": ""})


def test_amr_and_require_amr(stack):
    """LATCH_AMR (X-Latch-Amr from /auth/check) names how the session
    signed in; LATCH_REQUIRE_AMR=otp lets only a session with a second
    factor through; a session that may only enrol one is refused
    everywhere.  Both forms of the guard alike."""
    a = register()
    st, h, b = authz(stack, token=a.access,
                     extra={"LATCH_REQUIRE_AMR": "otp"})
    refused(stack, st, h, b, 403, "mfa_required")
    check_refused(*check(stack, token=a.access,
                         extra={"LATCH_REQUIRE_AMR": "otp"}), 403,
                  "mfa_required")
    st, h, b = authz(stack, token=a.access,
                     extra={"LATCH_REQUIRE_AMR": "OTP"})
    refused(stack, st, h, b, 403, "mfa_required")
    # With TOTP: the second step's tokens carry otp.
    j = lib.otp_session(a)
    st, h, b = authz(stack, token=j["access_token"],
                     extra={"LATCH_REQUIRE_AMR": "otp"})
    assert st == 200 and variables(h)["LATCH_AMR"] == "pwd,otp", (st, h)
    st, h, b = check(stack, token=j["access_token"],
                     extra={"LATCH_REQUIRE_AMR": "otp"})
    assert st == 200 and identity(h)["X-Latch-Amr"] == "pwd,otp", (st, h)
    # A restricted session: the organization requires it of admins, and
    # b has none.
    b_ = register()
    expect(http("PATCH", "/organization", {"require_mfa": "admins"},
                token=b_.access), 200)
    st, h, body = authz(stack, token=b_.access)
    refused(stack, st, h, body, 403, "mfa_enrollment_required")
    check_refused(*check(stack, token=b_.access), 403,
                  "mfa_enrollment_required")


# ------------------------------------------------------- GET /auth/check

def test_check_answers_who_is_calling(stack):
    a = register()
    st, h, b = check(stack, token=a.access)
    assert st == 200, (st, h, b)
    assert identity(h) == {"X-Latch-User-Id": str(a.id),
                           "X-Latch-Username": a.username,
                           "X-Latch-Org-Id": str(a.user["organizationId"]),
                           "X-Latch-Role": "admin",
                           "X-Latch-Amr": "pwd"}, h
    assert ("Cache-Control", "no-store") in h, h
    assert json.loads(b.decode())["success"] is True, b
    st, h, b = check(stack, cookie="theme=dark; latch_access=" + a.access)
    assert st == 200 and identity(h)["X-Latch-Username"] == a.username, h
    # Through lighttpd's mount of the API too (a direct call is the
    # caller asking about itself).
    r = http("GET", "/auth/check", token=a.access)
    expect(r, 200, "GET /auth/check")
    assert r.headers["X-Latch-Username"] == a.username, r.describe()


def test_check_refuses_without_a_session(stack):
    check_refused(*check(stack), 401, "missing_token")
    check_refused(*check(stack, token="not.a.token"), 401, "invalid_token")
    check_refused(*check(stack, cookie="latch_access=garbage"), 401,
                  "invalid_token")
    a = register()
    t = lib.with_kid(a.access, "AAAAAAAAAAA")
    check_refused(*check(stack, token=t), 401, "invalid_token")
    b = login_ok(a)
    assert check(stack, token=b.access)[0] == 200
    expect(http("POST", "/auth/logout", {}, token=b.access), 200)
    check_refused(*check(stack, token=b.access), 401, "session_revoked")
    lib.expect_error(http("GET", "/auth/check"), 401, "missing_token")
    lib.expect_error(http("POST", "/auth/check"), 405,
                     "method_not_allowed")


def test_check_role_is_the_servers_never_the_clients(stack):
    """LATCH_REQUIRE_ROLE is a FastCGI parameter, which only the
    server's configuration sets; the client's X-Latch-Require-Role
    header (HTTP_X_LATCH_REQUIRE_ROLE) is never read, so it can neither
    lower nor raise the bar."""
    a = register()
    tok, u = user_token(stack, a.org)
    st, h, b = check(stack, token=tok)
    assert st == 200 and identity(h)["X-Latch-Role"] == "user", (st, h)
    check_refused(*check(stack, token=tok, require="admin"), 403,
                  "forbidden")
    check_refused(*check(stack, token=tok, require="admin", extra={
        "HTTP_X_LATCH_REQUIRE_ROLE": "user"}), 403, "forbidden")
    st, h, b = check(stack, token=tok, extra={
        "HTTP_X_LATCH_REQUIRE_ROLE": "superadmin"})
    assert st == 200, (st, h, b)
    assert check(stack, token=a.access, require="admin, superadmin")[0] \
        == 200
    check_refused(*check(stack, token=a.access, require="superadmin"), 403,
                  "forbidden")
    check_refused(*check(stack, token=a.access, require="admn"), 403,
                  "forbidden")
    # The client's own X-Latch-* headers are not the answer's.
    st, h, b = check(stack, token=tok, extra={"HTTP_X_LATCH_ROLE": "admin"})
    assert identity(h)["X-Latch-Role"] == "user", h


def test_check_sends_browsers_to_sign_in(stack):
    """
    With [server] login_url, a browser's navigation (the guarded
    request's method, X-Forwarded-Method, GET or HEAD; Accept:
    text/html) without a session gets the 401 with Location: the sign-in
    page, next = X-Forwarded-Uri percent-encoded.  Still a 401: nginx
    allows its subrequest 2xx, 401 and 403 only.
    """
    a = register()
    nav = {"HTTP_ACCEPT": "text/html,*/*;q=0.8",
           "HTTP_X_FORWARDED_METHOD": "GET",
           "HTTP_X_FORWARDED_URI": "/private/a b.html?x=1&y=\xc3\xa9\r\nX: y"}
    st, h, b = check(stack, extra=nav)
    check_refused(st, h, b, 401, "missing_token")       # no login_url yet
    assert "Location" not in dict(h), h
    try:
        stack.reload({"server.login_url": "/signin.html"})
        for kw in ({}, {"token": "not.a.token"},
                   {"cookie": "latch_access=garbage"}):
            st, h, b = check(stack, extra=nav, **kw)
            assert st == 401, (kw, st, h, b)
            assert ("Location", "/signin.html?next=/private/a%20b.html%3Fx"
                    "%3D1%26y%3D%C3%A9%0D%0AX%3A%20y") in h, (kw, h)
            assert not identity(h), h
        st, h, b = check(stack, extra=dict(nav, HTTP_X_FORWARDED_METHOD=
                                           "HEAD"))
        assert "Location" in dict(h), h
        # Not a navigation: the 401 alone.
        for extra in (dict(nav, HTTP_X_FORWARDED_METHOD="POST"),
                      dict(nav, HTTP_ACCEPT="application/json"),
                      {"HTTP_X_FORWARDED_URI": "/private/x"}):
            st, h, b = check(stack, extra=extra)
            check_refused(st, h, b, 401, "missing_token")
            assert "Location" not in dict(h), (extra, h)
        # Without X-Forwarded-Method the request's own counts; without
        # X-Forwarded-Uri there is nowhere to come back to.
        st, h, b = check(stack, extra={"HTTP_ACCEPT": "text/html"})
        assert st == 401 and ("Location", "/signin.html") in h, h
        # Signed in: through; the role refused: 403, no sign-in.
        st, h, b = check(stack, token=a.access, extra=nav)
        assert st == 200 and "Location" not in dict(h), (st, h)
        st, h, b = check(stack, token=a.access, require="superadmin",
                         extra=nav)
        check_refused(st, h, b, 403, "forbidden")
        assert "Location" not in dict(h), h
    finally:
        stack.reload({"server.login_url": ""})


def test_check_without_authentication_is_anonymous(stack):
    try:
        stack.reload({"security.auth_enabled": False})
        for kw in ({}, {"token": "garbage"}, {"require": "superadmin"}):
            st, h, b = check(stack, **kw)
            assert st == 200, (kw, st, h, b)
            assert identity(h) == {"X-Latch-User-Id": "",
                                   "X-Latch-Username": "",
                                   "X-Latch-Org-Id": "",
                                   "X-Latch-Role": "anonymous",
                                   "X-Latch-Amr": ""}, h
    finally:
        stack.reload({"security.auth_enabled": True})
    check_refused(*check(stack), 401, "missing_token")
