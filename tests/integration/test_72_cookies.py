"""
Browser sessions by cookie: POST /auth/login {"cookie": true} (and setup
and registration with it) sets latch_access, latch_refresh and
latch_csrf: with Max-Age for a remembered session, as cookies that end
with the browser otherwise; signed-in routes accept the latch_access
cookie; a state-changing request (PATCH, POST, DELETE) authenticated by
cookie needs X-Latch-CSRF equal to the latch_csrf cookie, else 403 csrf
and nothing done; refresh and logout by cookie; [security] cookie_secure
= false drops Secure; cookie_path moves latch_access; two installs on
one host (shared hosting) never share a cookie.
"""

import json
import os
import re
import subprocess
import tempfile

import lib
import webservers as ws
from lib import expect, expect_error, expect_login, http, register

CSRF = re.compile(r"^[A-Za-z0-9_-]{22}$")


def set_cookies(r):
    """{name: (value, attributes string)} of the Set-Cookie headers."""
    out = {}
    for line in r.headers.get_all("Set-Cookie") or []:
        nv, _, attrs = line.partition("; ")
        name, _, value = nv.partition("=")
        assert name not in out, "two Set-Cookie for %s: %s" % (
            name, r.describe())
        out[name] = (value, attrs)
    return out


def expect_session_cookies(r, j, secure=True, remember=False,
                           access_path="/api/"):
    """The three cookies of answer r (body j): values and attributes."""
    c = set_cookies(r)
    sec = "; Secure" if secure else ""
    ages = (("; Max-Age=%d" % lib.ACCESS_TTL, "; Max-Age=%d" %
             lib.REMEMBER_TTL) if remember else ("", ""))
    assert set(c) == {"latch_access", "latch_refresh", "latch_csrf"}, \
        r.describe()
    # The tokens are only here: the body (j) has none for a script to
    # read.
    assert not {"token", "access_token", "refresh_token"} & set(j), j
    assert lib.decode_jwt(c["latch_access"][0])["sub"] == \
        str(j["user"]["id"]), c
    assert c["latch_access"][1] == \
        "Path=%s%s; HttpOnly%s; SameSite=Strict" % (access_path, ages[0],
                                                    sec), c
    assert re.match(r"^[A-Za-z0-9_-]{43,}$", c["latch_refresh"][0]), c
    assert c["latch_refresh"][1] == \
        "Path=/api/auth%s; HttpOnly%s; SameSite=Strict" % (ages[1], sec), c
    assert CSRF.match(c["latch_csrf"][0]), c
    assert c["latch_csrf"][1] == \
        "Path=/%s%s; SameSite=Strict" % (ages[1], sec), c
    return {k: v[0] for k, v in c.items()}


def cookie_login(acct, secure=True, remember=False, access_path="/api/"):
    body = {"identifier": acct.username, "password": acct.password,
            "cookie": True}
    if remember:
        body["remember_me"] = True
    r = http("POST", "/auth/login", body)
    j = expect_login(r, 200, remember=remember, cookie=True,
                     username=acct.username)
    return expect_session_cookies(r, j, secure, remember, access_path), j


def jar(c, *names):
    return "; ".join("%s=%s" % (n, c[n]) for n in names)


def test_plain_login_sets_no_cookie(stack):
    a = register()
    r = lib.login(a.username, a.password)
    expect(r, 200)
    assert not r.headers.get_all("Set-Cookie"), r.describe()


def test_cookie_login_and_profile(stack):
    a = register()
    c, j = cookie_login(a)
    j = expect(http("GET", "/user/profile", headers={
        "Cookie": "other=1;  latch_access=%s ;x=y" % c["latch_access"]}),
        200)
    assert j["user"]["username"] == a.username, j
    # First occurrence wins (control characters: test_74, lighttpd
    # refuses them before latchd sees them).
    expect(http("GET", "/user/profile", headers={
        "Cookie": "latch_access=%s; latch_access=junk" % c["latch_access"]}),
        200)
    expect_error(http("GET", "/user/profile", headers={
        "Cookie": "latch_access=junk; latch_access=%s" % c["latch_access"]}),
        401, "invalid_token")
    # An Authorization header wins over the cookie, even a bad one, and
    # one that is no Bearer token at all.
    expect_error(http("GET", "/user/profile", token="bad", headers={
        "Cookie": jar(c, "latch_access")}), 401, "invalid_token")
    for auth in ("Basic dXNlcjpwYXNzd29yZA==", "Bearer", "Bearer a b"):
        expect_error(http("GET", "/user/profile", headers={
            "Authorization": auth, "Cookie": jar(c, "latch_access")}), 401,
            "missing_token", msg="Authorization: " + auth)
    expect_error(http("GET", "/user/profile"), 401, "missing_token")


def test_csrf_for_state_changes(stack):
    a = register()
    c, _ = cookie_login(a)
    body = {"name": "Cookie Person"}
    both = jar(c, "latch_access", "latch_csrf")
    expect_error(http("PATCH", "/user/profile", body,
                      headers={"Cookie": both}), 403, "csrf")
    expect_error(http("PATCH", "/user/profile", body,
                      headers={"Cookie": both,
                               "X-Latch-CSRF": c["latch_csrf"] + "x"}),
                 403, "csrf")
    expect_error(http("PATCH", "/user/profile", body,
                      headers={"Cookie": jar(c, "latch_access"),
                               "X-Latch-CSRF": c["latch_csrf"]}),
                 403, "csrf")
    expect_error(http("PATCH", "/user/profile", body,
                      headers={"Cookie": jar(c, "latch_access") +
                               "; latch_csrf=",
                               "X-Latch-CSRF": ""}), 403, "csrf")
    j = expect(http("PATCH", "/user/profile", body,
                    headers={"Cookie": both,
                             "X-Latch-CSRF": c["latch_csrf"]}), 200)
    assert j["user"]["name"] == "Cookie Person", j
    # A bearer caller needs no CSRF header.
    expect(http("PATCH", "/user/profile", {"name": "Bearer Person"},
                token=a.access), 200)


def other_value(v):
    """v with its first character changed: the same length."""
    return ("B" if v[0] == "A" else "A") + v[1:]


def test_csrf_for_sessions_password_and_logout(stack):
    """DELETE /auth/sessions/{id}, POST /user/password and POST
    /auth/logout authenticated by the latch_access cookie alone: without
    X-Latch-CSRF, with an empty one or with another value of the same
    length, 403 csrf and nothing done; with it, done."""
    a = register()
    c, _ = cookie_login(a)
    both = jar(c, "latch_access", "latch_csrf")
    good = {"Cookie": both, "X-Latch-CSRF": c["latch_csrf"]}

    def refused(method, path, body):
        for extra in ({}, {"X-Latch-CSRF": ""},
                      {"X-Latch-CSRF": other_value(c["latch_csrf"])}):
            expect_error(http(method, path, body,
                              headers=dict(extra, Cookie=both)),
                         403, "csrf", msg="%s %s with %r" % (
                             method, path, extra))

    # Another session of the user, ended from the cookie session.
    b = lib.login_ok(a)
    path = "/auth/sessions/%s" % lib.decode_jwt(b.access)["sid"]
    refused("DELETE", path, None)
    lib.expect_token_works(b.access, "a session deleted without CSRF")
    expect(http("DELETE", path, headers=good), 200)
    lib.expect_token_revoked(b.access, what="a session deleted with CSRF")

    new = lib.new_password()
    body = {"current_password": a.password, "new_password": new}
    refused("POST", "/user/password", body)
    expect_login(lib.login(a.username, a.password), 200,
                 username=a.username)
    expect(http("POST", "/user/password", body, headers=good), 200)
    expect_error(lib.login(a.username, a.password), 401,
                 "invalid_credentials")
    expect_login(lib.login(a.username, new), 200, username=a.username)

    refused("POST", "/auth/logout", {})
    expect(http("GET", "/user/profile",
                headers={"Cookie": jar(c, "latch_access")}), 200)
    r = http("POST", "/auth/logout", {}, headers=good)
    expect(r, 200)
    assert set(set_cookies(r)) == {"latch_access", "latch_refresh",
                                   "latch_csrf"}, r.describe()
    expect_error(http("GET", "/user/profile",
                      headers={"Cookie": jar(c, "latch_access")}), 401,
                 "session_revoked")


def test_refresh_and_logout_by_cookie(stack):
    a = register()
    c, j = cookie_login(a)
    refresh_jar = jar(c, "latch_refresh", "latch_csrf")
    expect_error(http("POST", "/auth/refresh", {},
                      headers={"Cookie": refresh_jar}), 403, "csrf")
    r = http("POST", "/auth/refresh", {},
             headers={"Cookie": refresh_jar,
                      "X-Latch-CSRF": c["latch_csrf"]})
    c2 = expect_session_cookies(r, expect_login(r, 200, cookie=True,
                                                username=a.username))
    assert c2["latch_refresh"] != c["latch_refresh"], (c, c2)
    # The CSRF value is the session's: a refresh keeps it (tabs that
    # refresh at once never see it change), another session has another.
    assert c2["latch_csrf"] == c["latch_csrf"], (c, c2)
    # A tab that loses the race sends the same cookie again: the same
    # successor, the same CSRF value.
    r = http("POST", "/auth/refresh", {},
             headers={"Cookie": refresh_jar,
                      "X-Latch-CSRF": c["latch_csrf"]})
    expect(r, 200)
    again = {k: v[0] for k, v in set_cookies(r).items()}
    assert again["latch_refresh"] == c2["latch_refresh"], (c2, again)
    assert again["latch_csrf"] == c2["latch_csrf"], (c2, again)
    c3, _ = cookie_login(a)
    assert CSRF.match(c3["latch_csrf"]), c3
    assert c3["latch_csrf"] != c["latch_csrf"], (c, c3)
    # A body token is the API client's way: no cookies come back.
    r = lib.refresh(c2["latch_refresh"])
    j3 = expect(r, 200)
    assert not r.headers.get_all("Set-Cookie"), r.describe()
    expect_error(http("POST", "/auth/refresh", {}), 400, "invalid_field",
                 field="refresh_token")
    # Logout by cookie: CSRF needed, then every cookie is cleared.
    cookie = "latch_access=%s; latch_csrf=%s" % (j3["access_token"],
                                                 c2["latch_csrf"])
    expect_error(http("POST", "/auth/logout", {},
                      headers={"Cookie": cookie}), 403, "csrf")
    r = http("POST", "/auth/logout", {},
             headers={"Cookie": cookie, "X-Latch-CSRF": c2["latch_csrf"]})
    expect(r, 200)
    gone = set_cookies(r)
    assert gone == {
        "latch_access": ("", "Path=/api/; Max-Age=0; HttpOnly; Secure; "
                         "SameSite=Strict"),
        "latch_refresh": ("", "Path=/api/auth; Max-Age=0; HttpOnly; "
                          "Secure; SameSite=Strict"),
        "latch_csrf": ("", "Path=/; Max-Age=0; Secure; SameSite=Strict"),
    }, gone
    expect_error(http("GET", "/user/profile", headers={
        "Cookie": "latch_access=" + j3["access_token"]}), 401,
        "session_revoked")


def test_cookie_secure_false(stack):
    a = register()
    try:
        stack.reload({"security.cookie_secure": False})
        c, _ = cookie_login(a, secure=False)
        expect(http("GET", "/user/profile",
                    headers={"Cookie": jar(c, "latch_access")}), 200)
    finally:
        stack.reload({"security.cookie_secure": True})
    cookie_login(a, secure=True)


def test_remembered_session_cookies_outlive_the_browser(stack):
    """remember_me: the cookies carry Max-Age (the access token's and the
    refresh token's lifetimes), also after a refresh by cookie."""
    a = register()
    c, _ = cookie_login(a, remember=True)
    r = http("POST", "/auth/refresh", {},
             headers={"Cookie": jar(c, "latch_refresh", "latch_csrf"),
                      "X-Latch-CSRF": c["latch_csrf"]})
    expect_session_cookies(r, expect(r, 200), remember=True)


def test_setup_and_register_by_cookie(stack):
    """POST /auth/register (both forms) with "cookie": true signs the
    browser in with the cookies; without it, no cookie (POST /setup shares
    the code: test_89_pages signs in through the setup page)."""
    body = {"organization": lib.uniq("Org "), "username": lib.uniq(),
            "email": lib.new_email(), "password": lib.new_password(),
            "cookie": True}
    r = http("POST", "/auth/register", body)
    c = expect_session_cookies(r, expect_login(r, 201, cookie=True,
                                              role="admin"))
    expect(http("GET", "/user/profile",
                headers={"Cookie": jar(c, "latch_access")}), 200)
    a = register()
    inv = expect(http("POST", "/invitations", {"email": lib.new_email(),
                                               "send_email": False},
                      token=a.access), 201)["invitation"]
    r = http("POST", "/auth/register", {"invitation_code": inv["code"],
                                        "username": lib.uniq(),
                                        "password": lib.new_password(),
                                        "cookie": True})
    expect_session_cookies(r, expect_login(r, 201, cookie=True,
                                           role="user"))
    r = http("POST", "/auth/register", {**body, "cookie": False,
                                        "organization": lib.uniq("Org "),
                                        "username": lib.uniq(),
                                        "email": lib.new_email()})
    expect_login(r, 201)
    assert not r.headers.get_all("Set-Cookie"), r.describe()
    expect_error(http("POST", "/auth/register", {**body, "cookie": "yes"}),
                 400, "invalid_field", field="cookie")


def test_cookie_path(stack):
    """[security] cookie_path: latch_access goes there (e.g. "/" for the
    authorizer's guarded paths); the others stay where they were."""
    a = register()
    try:
        stack.reload({"security.cookie_path": "/"})
        c, _ = cookie_login(a, access_path="/")
        r = http("POST", "/auth/logout", {},
                 headers={"Cookie": jar(c, "latch_access", "latch_csrf"),
                          "X-Latch-CSRF": c["latch_csrf"]})
        expect(r, 200)
        assert set_cookies(r)["latch_access"][1].startswith(
            "Path=/; Max-Age=0;"), r.describe()
    finally:
        stack.reload({"security.cookie_path": ""})
    cookie_login(a)


def test_two_installs_on_one_host_keep_their_cookies(stack):
    """Shared hosting puts two latch installs on one host, e.g.
    /~alice/auth/ (API /~alice/auth/api) and /~bob/auth/: a browser keeps
    their cookies apart only if no cookie of one reaches the other's
    pages or API.  latch_csrf goes to the pages' directory (the one that
    holds base_path), not "/"; [security] cookie_path moves it with
    latch_access, and must cover that directory."""
    a = register()
    body = {"identifier": a.username, "password": a.password,
            "cookie": True}
    d = tempfile.mkdtemp(prefix="cookies-", dir=stack.dir)
    for user, cookie_path, want_access, want_page in (
            ("alice", "", "/~alice/auth/api/", "/~alice/auth/"),
            ("bob", "/~bob/", "/~bob/", "/~bob/")):
        base = "/~%s/auth/api" % user
        cfg = ws.derive_config(stack, os.path.join(d, user + ".ini"), {
            "server.base_path": base,
            "security.cookie_path": cookie_path})
        c = cgi_set_cookies(stack, cfg, base, body)
        assert c["latch_access"][1].startswith("Path=%s;" % want_access), c
        assert c["latch_refresh"][1].startswith("Path=%s/auth;" % base), c
        assert c["latch_csrf"][1].startswith("Path=%s;" % want_page), c
    # A cookie_path that misses the pages is refused at load.
    for bad in ("/~bob/", "/~alice/auth/api/", "/~alice/au"):
        cfg = ws.derive_config(stack, os.path.join(d, "bad.ini"), {
            "server.base_path": "/~alice/auth/api",
            "security.cookie_path": bad})
        r = subprocess.run([stack.latchd_bin, "-t", "-c", cfg],
                           capture_output=True, text=True, timeout=60)
        os.unlink(cfg)
        assert r.returncode != 0 and \
            "[security] cookie_path: must cover" in r.stderr, (bad, r)


def cgi_set_cookies(stack, cfg, script_name, body):
    """POST /auth/login through latchd as CGI (config cfg) under
    script_name: {name: (value, attributes)} of every Set-Cookie."""
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
           "REQUEST_METHOD": "POST", "SCRIPT_NAME": script_name,
           "PATH_INFO": "/auth/login",
           "REQUEST_URI": script_name + "/auth/login",
           "CONTENT_TYPE": "application/json", "LATCH_CONFIG": cfg}
    data = json.dumps(body).encode()
    env["CONTENT_LENGTH"] = str(len(data))
    r = subprocess.run([stack.latchd_bin], env=env, input=data,
                       capture_output=True, timeout=60, cwd=stack.dir)
    head = r.stdout.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    out = {}
    for line in head.split("\r\n"):
        k, _, v = line.partition(":")
        if k.lower() == "set-cookie":
            nv, _, attrs = v.strip().partition("; ")
            name, _, value = nv.partition("=")
            out[name] = (value, attrs)
    assert set(out) == {"latch_access", "latch_refresh", "latch_csrf"}, \
        r.stdout[:2000]
    return out
