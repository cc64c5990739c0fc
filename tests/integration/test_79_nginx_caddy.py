"""
latch behind nginx and Caddy, the two servers without a FastCGI
authorizer role: the API over FastCGI (as php-fpm) and other paths
guarded by a subrequest to GET /auth/check (nginx's auth_request, Caddy's
forward_auth), with the contrib/nginx and contrib/caddy files as shipped.

Each server is set up from the examples in the opening comments of its
contrib files (the first block of lines indented by three spaces), taken
as they are: only latchd's socket, the port, the backend's address and
paths on disk are replaced by the test's own, and each replacement must
find its text (so an example that changes fails here until this test
knows its new shape).  The servers run in front of the shared stack's
latchd pool; a Python backend behind the guarded /app/ prints the
identity headers it received.

Checked through each: the API round trip (health, setup, register,
sign-in, profile, PATCH, DELETE) and its body limit; guarded static
files and the backend, 401 / 403 / 200 by role and by second factor
(the backend sees the session's amr); a session revoked and
refused on the very next request; client-sent X-Latch-* and
X-Latch-Require-Role headers that neither reach the backend nor sway the
check; cookie sessions and CSRF; a browser sent to sign in and back (by
HTTP, then in headless Chromium through the sign-in page); the pages
with their headers; and the check itself not reachable from outside.
"""

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse

import browser as br
import lib
import stack as stackmod
import webservers as ws
from lib import expect, new_password, register, uniq

CONTRIB = ws.CONTRIB
INSTALLED = ws.INSTALLED_CONTRIB           # /usr/local/share/latch/contrib/
INSTALLED_WWW = "/usr/local/share/latch/www"
HTML = "text/html,application/xhtml+xml,*/*;q=0.8"
IDENTITY = ("X-Latch-User-Id", "X-Latch-Username", "X-Latch-Org-Id",
            "X-Latch-Role", "X-Latch-Amr")
BROWSER = None      # one headless Chromium for both servers


def teardown(stack):
    global BROWSER
    if BROWSER is not None:
        BROWSER.quit()
        BROWSER = None


# ------------------------------------------------------------- examples

def example_block(relpath):
    """The example of contrib/relpath: the first run of comment lines
    indented by three spaces in its opening comment, de-indented."""
    block = []
    with open(os.path.join(CONTRIB, relpath), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            if line.startswith("#   "):
                block.append(line[4:].rstrip("\n"))
            elif block:
                break
    assert block, "contrib/%s: no example in its opening comment" % relpath
    return "\n".join(block) + "\n"


def replace(text, relpath, pairs):
    """text with each (old, new) of pairs replaced; old must be there."""
    for old, new in pairs:
        assert old in text, "contrib/%s: its example has no %r any " \
            "more; tell test_79 its new shape" % (relpath, old)
        text = text.replace(old, new)
    assert INSTALLED not in text, "contrib/%s: the example includes a " \
        "file outside %s" % (relpath, INSTALLED)
    return text


def inner(text):
    """The body of the one block ("NAME {" ... "}") of an example."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0].endswith("{") and lines[-1] == "}", text
    return "\n".join(lines[1:-1]) + "\n"


def before_last_brace(text, extra):
    head, sep, tail = text.rstrip("\n").rpartition("}")
    assert sep, text
    return head + extra + "}" + tail + "\n"


# -------------------------------------------------------------- backend

class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the X-Latch-* request headers it got, as
    JSON {name: [values]}."""

    def do_GET(self):
        got = {}
        for k, v in self.headers.items():
            if k.lower().startswith("x-latch-"):
                got.setdefault(k.lower(), []).append(v)
        body = json.dumps({"path": self.path, "headers": got}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Backend:
    def __enter__(self):
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.srv.shutdown()
        self.srv.server_close()


def _seen(r):
    """The X-Latch-* headers the backend received."""
    assert r.status == 200 and r.json is not None, r.describe()
    return r.json["headers"]


# ---------------------------------------------------------------- files

def _layout(stack, d):
    """The pages (a copy of www/) and the guarded files under d; returns
    (www, private)."""
    www = os.path.join(d, "www")
    shutil.copytree(os.path.join(ws.REPO, "www"), www)
    private = os.path.join(d, "srv", "www", "private")
    os.makedirs(private)
    with open(os.path.join(private, "secret.txt"), "w") as f:
        f.write("the guarded file\n")
    return www, private


def _pairs(d, www, stack, backend):
    return {
        "socket": stack.latchd_socket,
        "www": www,
        "srv": os.path.join(d, "srv") + "/",
        "backend": "127.0.0.1:%d" % backend.port,
    }


# ---------------------------------------------------------------- nginx

def start_nginx(procs, port, stack, backend):
    d = procs.dir
    www, _ = _layout(stack, d)
    p = _pairs(d, www, stack, backend)
    api = replace(example_block("nginx/latch.conf"), "nginx/latch.conf", [
        ("unix:/run/latch/latch.sock", "unix:" + p["socket"]),
        ("listen 443 ssl;", "listen 127.0.0.1:%d;" % port),
        (INSTALLED, CONTRIB + "/")])
    check = replace(inner(example_block("nginx/latch-check.conf")),
                    "nginx/latch-check.conf", [(INSTALLED, CONTRIB + "/")])
    guard = replace(example_block("nginx/latch-guard.conf"),
                    "nginx/latch-guard.conf", [
                        ("/srv/", p["srv"]),
                        ("127.0.0.1:3000", p["backend"]),
                        (INSTALLED, CONTRIB + "/")])
    pages = replace(example_block("nginx/latch-pages.conf"),
                    "nginx/latch-pages.conf", [
                        (INSTALLED_WWW, www), (INSTALLED, CONTRIB + "/")])
    server = before_last_brace(api, check + guard + pages)
    os.makedirs(os.path.join(d, "tmp"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""\
# Generated by tests/integration/test_79_nginx_caddy.py.
{user}error_log {d}/nginx-error.log warn;
pid {d}/nginx.pid;
events {{
    worker_connections 256;
}}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    fastcgi_temp_path {d}/tmp/fastcgi;
    proxy_temp_path {d}/tmp/proxy;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{server}}}
""".format(d=d, server=server,
           user="user root;\n" if os.geteuid() == 0 else ""))
    argv = ["nginx", "-p", d, "-c", conf, "-g", "daemon off;"]
    r = subprocess.run(argv[:5] + ["-t"] + argv[5:], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, "nginx rejects %s:\n%s%s" % (
        conf, r.stdout, r.stderr)
    procs.start("nginx", argv, os.path.join(d, "nginx-error.log"))
    procs.wait_up("nginx", ws.port_up(port), "nginx on port %d" % port)
    return conf


# ---------------------------------------------------------------- Caddy

def start_caddy(procs, port, stack, backend):
    d = procs.dir
    www, _ = _layout(stack, d)
    p = _pairs(d, www, stack, backend)
    site = "http://127.0.0.1:%d {" % port
    parts = []
    sock = ("/run/latch/latch.sock", p["socket"])
    for rel, extra in (("caddy/latch-api.caddy", [sock]),
                       ("caddy/latch-pages.caddy", [(INSTALLED_WWW, www)]),
                       ("caddy/latch-guard.caddy",
                        [sock, ("/srv/", p["srv"]),
                         ("127.0.0.1:3000", p["backend"])])):
        text = replace(example_block(rel), rel, [
            ("auth.example.com {", site)] + extra +
            [(INSTALLED, CONTRIB + "/")])
        parts.append(inner(text))
    conf = os.path.join(d, "Caddyfile")
    with open(conf, "w") as f:
        f.write("""\
# Generated by tests/integration/test_79_nginx_caddy.py.
{{
	admin off
	auto_https off
	storage file_system {d}/caddy-data
}}
{site}
{body}}}
""".format(d=d, site=site, body="".join(parts)))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": d,
           "XDG_DATA_HOME": d, "XDG_CONFIG_HOME": d}
    r = subprocess.run(["caddy", "validate", "--config", conf, "--adapter",
                        "caddyfile"], capture_output=True, text=True,
                       timeout=60, env=env, cwd=d)
    assert r.returncode == 0, "caddy rejects %s:\n%s%s" % (
        conf, r.stdout, r.stderr)
    procs.start("caddy", ["caddy", "run", "--config", conf, "--adapter",
                          "caddyfile"], os.path.join(d, "caddy.log"),
                env=env)
    procs.wait_up("caddy", ws.port_up(port), "caddy on port %d" % port)
    return conf


# -------------------------------------------------------------- checks

def _user_token(stack, org):
    return lib.plain_user(stack, org, "ngu")


def _cookies(r):
    """{name: value} of the Set-Cookie headers of r."""
    out = {}
    for v in r.headers.get_all("Set-Cookie") or []:
        name, _, rest = v.partition("=")
        out[name.strip()] = rest.split(";", 1)[0]
    return out


def _api(port, base, stack):
    """The API round trip through the server."""
    a = ws.round_trip(port, base, register())
    j = expect(ws.call(port, "GET", base + "/setup"), 200, "GET /setup")
    assert j["setup_required"] is False, j
    # A new organization, signed in, through the server.
    username, password = uniq("ngx"), new_password()
    r = ws.call(port, "POST", base + "/auth/register", {
        "organization": uniq("Org "), "username": username,
        "email": lib.new_email(), "password": password})
    j = lib.expect_login(r, 201, username=username, role="admin")
    token = j["access_token"]
    r = ws.call(port, "PATCH", base + "/user/profile", {"name": "Via Proxy"},
                token=token)
    assert expect(r, 200, "PATCH through the server")["user"]["name"] == \
        "Via Proxy", r.describe()
    r = ws.call(port, "GET", base + "/user/profile", token=token)
    assert r.json["user"]["name"] == "Via Proxy", r.describe()
    # DELETE with an {id}: a plain user of the new organization.
    _, u = _user_token(stack, j["user"]["organizationName"])
    r = ws.call(port, "DELETE", base + "/users/%d" % u["id"], token=token)
    expect(r, 200, "DELETE through the server")
    r = ws.call(port, "GET", base + "/users/%d" % u["id"], token=token)
    lib.expect_error(r, 404, "not_found")
    # 405 keeps latch's Allow; the error bodies are latch's own.
    r = ws.call(port, "PUT", base + "/user/profile", {}, token=token)
    lib.expect_error(r, 405, "method_not_allowed")
    # The body bound: refused by the server before latchd reads it.
    r = ws.call(port, "POST", base + "/auth/login", check=False,
                body={"identifier": "x" * 20000, "password": "y"})
    assert r.status == 413, r.describe()
    return a


def _pages(port):
    for path, ctype in (("/", "text/html"), ("/signin.html", "text/html"),
                        ("/js/api.js", "text/javascript"),
                        ("/latch.css", "text/css"),
                        ("/favicon.svg", "image/svg+xml")):
        r = ws.call(port, "GET", path, check=False)
        assert r.status == 200 and r.headers.get(
            "Content-Type", "").startswith(ctype) and r.headers.get(
            "Content-Security-Policy", "").startswith(
            "default-src 'self'") and r.headers.get(
            "Referrer-Policy") == "no-referrer", (path, r.describe())
        name = "index.html" if path == "/" else path[1:]
        with open(os.path.join(ws.REPO, "www", name), "rb") as f:
            assert f.read() == r.body, path
    # Nothing else is taken by the pages (Caddy answers what nothing
    # handles with an empty 200).
    r = ws.call(port, "GET", "/other.txt", check=False)
    assert "Content-Security-Policy" not in r.headers and (
        r.status == 404 or r.body == b""), r.describe()


def _guard(stack, port, server):
    """The guarded /private/ (files, any session) and /app/ (the
    backend, admin)."""
    a = register()
    good = lib.login_ok(a).access
    user_token, _ = _user_token(stack, a.org)
    f = "/private/secret.txt"

    r = ws.call(port, "GET", f, check=False)
    expect(r, 401, "no token")
    assert b"the guarded file" not in r.body, r.describe()
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), \
        r.describe()
    r = ws.call(port, "GET", f, token="not.a.token", check=False)
    expect(r, 401, "a bad token")
    r = ws.call(port, "GET", f, token=good, check=False)
    expect(r, 200, "good token")
    assert r.body == b"the guarded file\n", r.describe()
    r = ws.call(port, "GET", f, check=False,
                headers={"Cookie": "theme=x; latch_access=" + good})
    expect(r, 200, "good token in the latch_access cookie")
    r = ws.call(port, "GET", f, token=user_token, check=False)
    expect(r, 200, "role user where any session will do")

    # The backend sees who is calling, as latch says it.
    r = ws.call(port, "GET", "/app/x?y=1", token=good, check=False)
    seen = _seen(r)
    assert seen == {"x-latch-user-id": [str(a.id)],
                    "x-latch-username": [a.username],
                    "x-latch-org-id": [str(a.user["organizationId"])],
                    "x-latch-role": ["admin"],
                    "x-latch-amr": ["pwd"]}, (server, seen)
    r = ws.call(port, "GET", "/app/x", token=user_token, check=False)
    expect(r, 403, "role user where admin is required")
    assert r.json is None or "headers" not in r.json, r.describe()

    # What the client says of itself changes nothing.
    forged = {"X-Latch-User-Id": "1", "X-Latch-Username": "root",
              "X-Latch-Org-Id": "1", "X-Latch-Role": "superadmin",
              "X-Latch-Amr": "pwd,otp", "X-Latch-Require-Role": "user",
              "X-Latch-Require-Amr": "",
              "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/elsewhere"}
    r = ws.call(port, "GET", "/app/x", token=user_token, headers=forged,
                check=False)
    expect(r, 403, "a user with forged X-Latch-* headers")
    r = ws.call(port, "GET", "/app/x", token=good, headers=forged,
                check=False)
    assert _seen(r) == seen, (server, r.describe())
    r = ws.call(port, "GET", "/app/x", headers=forged, check=False)
    expect(r, 401, "no token, forged X-Latch-* headers")
    # The check is no path of the site: nothing answers who is calling
    # there (nginx: internal, a 404).
    for path in ("/_latch/check", "/auth/check"):
        r = ws.call(port, "GET", path, token=good, check=False)
        assert not any(h in r.headers for h in IDENTITY), r.describe()
        assert server != "nginx" or r.status == 404, r.describe()

    # Revoked: refused on the very next request.
    expect(lib.http("POST", "/auth/logout", token=good), 200)
    r = ws.call(port, "GET", f, token=good, check=False)
    expect(r, 401, "the token of a revoked session")
    assert b"the guarded file" not in r.body, r.describe()
    r = ws.call(port, "GET", "/app/x", token=good, check=False)
    expect(r, 401, "the token of a revoked session, backend")
    return a


def _second_factor(port, server):
    """/staff/ requires admin and a second factor (LATCH_REQUIRE_AMR =
    otp from the server's configuration, never from the client)."""
    a = register()
    r = ws.call(port, "GET", "/staff/x", token=a.access, check=False)
    expect(r, 403, "a password-only session where otp is required")
    assert r.json is None or "headers" not in r.json, r.describe()
    r = ws.call(port, "GET", "/staff/x", token=a.access, check=False,
                headers={"X-Latch-Require-Amr": "", "X-Latch-Amr": "otp"})
    expect(r, 403, "the same with forged X-Latch-*-Amr headers")
    j = lib.otp_session(a)
    r = ws.call(port, "GET", "/staff/x", token=j["access_token"],
                check=False)
    assert _seen(r)["x-latch-amr"] == ["pwd,otp"], (server, r.describe())
    r = ws.call(port, "GET", "/app/x", token=j["access_token"], check=False)
    assert _seen(r)["x-latch-amr"] == ["pwd,otp"], (server, r.describe())


def _browser(stack, port, base, a):
    """Cookies, CSRF, and the sign-in redirect and back, with
    [security] cookie_path = / and [server] login_url =
    /signin.html."""
    target = "/private/secret.txt?from=mail&x=%C3%A9"
    r = ws.call(port, "GET", target, headers={"Accept": HTML}, check=False)
    assert r.status == 302, r.describe()
    loc = r.headers.get("Location")
    assert loc == "/signin.html?next=" + urllib.parse.quote(target, "/"), \
        r.describe()
    assert b"the guarded file" not in r.body, r.describe()
    # Scripts keep their 401; a POST is no navigation.
    r = ws.call(port, "GET", target, headers={"Accept": "application/json"},
                check=False)
    expect(r, 401, "a script without a session")
    r = ws.call(port, "GET", "/app/x", headers={"Accept": HTML},
                check=False)
    assert r.status == 302 and r.headers["Location"] == \
        "/signin.html?next=/app/x", r.describe()
    # The sign-in page is there ...
    r = ws.call(port, "GET", loc, check=False)
    assert r.status == 200 and b"<form" in r.body, r.describe()
    # ... signs in by cookie through the same server ...
    r = ws.call(port, "POST", base + "/auth/login", {
        "identifier": a.username, "password": a.password, "cookie": True})
    expect(r, 200, "sign-in by cookie")
    c = _cookies(r)
    assert c.get("latch_access") and c.get("latch_csrf"), r.describe()
    assert "Path=/;" in " ".join(r.headers.get_all("Set-Cookie")), \
        r.describe()
    jar = "latch_access=%s; latch_csrf=%s" % (c["latch_access"],
                                             c["latch_csrf"])
    # ... and the browser goes back where it was going.
    nxt = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["next"][0]
    assert nxt == target, nxt
    r = ws.call(port, "GET", nxt, headers={"Accept": HTML, "Cookie": jar},
                check=False)
    assert r.status == 200 and r.body == b"the guarded file\n", \
        r.describe()
    r = ws.call(port, "GET", "/app/x", headers={"Cookie": jar},
                check=False)
    assert _seen(r)["x-latch-username"] == [a.username], r.describe()
    # The API by cookie: reads need nothing more, changes need CSRF.
    r = ws.call(port, "GET", base + "/user/profile",
                headers={"Cookie": jar})
    expect(r, 200, "profile by cookie")
    r = ws.call(port, "PATCH", base + "/user/profile", {"name": "C"},
                headers={"Cookie": jar})
    lib.expect_error(r, 403, "csrf")
    r = ws.call(port, "PATCH", base + "/user/profile", {"name": "C"},
                headers={"Cookie": jar, "X-Latch-CSRF": c["latch_csrf"]})
    expect(r, 200, "PATCH by cookie with X-Latch-CSRF")
    r = ws.call(port, "POST", base + "/auth/logout", {},
                headers={"Cookie": jar, "X-Latch-CSRF": c["latch_csrf"]})
    expect(r, 200, "logout by cookie")
    r = ws.call(port, "GET", nxt, headers={"Accept": HTML, "Cookie": jar},
                check=False)
    assert r.status == 302, r.describe()

    # A real browser: to the sign-in page, signed in there, and back.
    global BROWSER
    if BROWSER is None:
        BROWSER = br.Browser("browser (test_79)")
    b = BROWSER
    b.log()                 # what the other server's visit left
    b.clear_cookies()
    b.open("http://127.0.0.1:%d%s" % (port, target), ready=False)
    b.ready("/signin.html?next=")
    b.check_log()
    b.fill("signin", identifier=a.username, password=a.password)
    b.submit("signin")
    b.wait(lambda: b.url.endswith(target) and "the guarded file" in
           b.d.page_source, "back at the guarded file")
    # (No check_log() from here: outside the pages Chromium asks for a
    # /favicon.ico that nothing serves.)
    b.open("http://127.0.0.1:%d/app/x" % port, ready=False)
    b.wait(lambda: a.username in b.d.page_source, "the backend")


def _anonymous(port):
    """[security] auth_enabled = false: everyone through as anonymous,
    and still no forged identity reaches the backend."""
    forged = {"X-Latch-User-Id": "1", "X-Latch-Username": "root",
              "X-Latch-Org-Id": "1", "X-Latch-Role": "superadmin",
              "X-Latch-Amr": "pwd,otp"}
    r = ws.call(port, "GET", "/app/x", headers=forged, check=False)
    seen = _seen(r)
    assert seen.get("x-latch-role") == ["anonymous"], seen
    for h in ("x-latch-user-id", "x-latch-username", "x-latch-org-id",
              "x-latch-amr"):
        assert seen.get(h, [""]) == [""], seen


def _scenario(stack, port, server):
    base = stack.base_path
    _api(port, base, stack)
    _pages(port)
    a = _guard(stack, port, server)
    _second_factor(port, server)
    try:
        stack.reload({"security.cookie_path": "/",
                      "server.login_url": "/signin.html"})
        _browser(stack, port, base, a)
        stack.reload({"security.auth_enabled": False})
        _anonymous(port)
    finally:
        stack.reload({"security.cookie_path": "",
                      "server.login_url": "",
                      "security.auth_enabled": True})


def test_nginx(stack):
    """contrib/nginx/: latch.conf (the API at /api), latch-check.conf,
    latch-guard.conf (/private/ files for any session, /app/ proxied for
    admins) and latch-pages.conf (the pages at /), as their examples
    show."""
    with Backend() as backend, ws.scratch(stack, "nginx") as (d, procs):
        port = stackmod.free_port()
        start_nginx(procs, port, stack, backend)
        assert stack.base_path == "/api", stack.base_path
        _scenario(stack, port, "nginx")


def test_caddy(stack):
    """contrib/caddy/: latch-api.caddy (/api), latch-guard.caddy
    (/private/* files for any session, /app/* proxied for admins) and
    latch-pages.caddy (the pages at /), as their examples show."""
    with Backend() as backend, ws.scratch(stack, "caddy") as (d, procs):
        port = stackmod.free_port()
        start_caddy(procs, port, stack, backend)
        _scenario(stack, port, "caddy")


def test_caddy_guard_strips_what_it_copies(stack):
    """Caddy copies latch's answer onto the request only where latch
    sends a non-empty value (2.7 and later): the recipe deletes a
    client's own copy of every header it copies, first."""
    text = open(os.path.join(CONTRIB, "caddy", "latch-guard.caddy")).read()
    copied = re.search(r"^\s*copy_headers (.*)$", text, re.M).group(1)
    for h in copied.split():
        assert re.search(r"^\s*request_header -%s$" % re.escape(h), text,
                         re.M), "latch-guard.caddy copies %s without " \
            "deleting the client's own first" % h
        assert text.index("request_header -" + h) < text.index(
            "\tforward_auth "), h
    assert sorted(copied.split()) == sorted(IDENTITY), copied
