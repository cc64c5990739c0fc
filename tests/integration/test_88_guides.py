"""
The deployment guides (docs/deploy/), run as they are written: every
command block, in order, as the user it names (root, or a throwaway
account for shared hosting), on a private copy of this machine
(machine.py: its own /etc, /var, /usr/local, /home, /run, network and
processes) with real Apache, lighttpd, nginx and Caddy on port 80, a
MariaDB of the test's at /run/mysqld/mysqld.sock and an SMTP server of
the test's at mail.example.org:587 (STARTTLS, a CA the machine trusts,
the account and password the guide gives latch).  Only the names each
guide lists as the reader's are replaced.  Then, through the web server:
health, the first-run setup, sign-in, a PATCH and a DELETE, an
invitation whose mail the mailer delivers as the guide runs it
(latchd's master, or the crontab line run as its user), registration
from its link, the pages, and the change of configuration the guide
made; for the authorizer, nginx and Caddy, the guarded paths; for shared
hosting, two accounts' installs on one Apache, signed in from one
cookie jar, each keeping its session.

One Apache machine serves three guides in turn (proxy_fcgi, then the
authorizer on top of it, then shared hosting for alice and bob); each
lighttpd guide, the nginx guide and the Caddy guide has a machine of
its own.  One MariaDB serves them all.  Everything is removed at the
end (the machines' processes by their PID namespace, their files with
the test's directory, the databases with their server).
"""

import http.cookiejar
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import lib
import pagesite
import stack as stackmod
import webservers as ws
from guides import GUIDES, Guide, source_tree
from machine import Machine

REPO = stackmod.REPO
WWW = os.path.join(REPO, "www")
PASSWORD = "a long guide pass phrase"
STATE = {}


# ------------------------------------------------------------ the setup

def _certs(d):
    """A CA and mail.example.org's certificate from it: (ca, cert,
    key)."""
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "mail.pem"), os.path.join(d, "mail.key")
    csr, ext = os.path.join(d, "mail.csr"), os.path.join(d, "mail.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:mail.example.org\n"
                "basicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    for argv in (
            ["openssl", "req", "-x509"] + ec + [
                "-keyout", cakey, "-out", ca, "-days", "2", "-subj",
                "/CN=latch guide test CA", "-addext",
                "basicConstraints=critical,CA:TRUE", "-addext",
                "keyUsage=critical,keyCertSign,cRLSign"],
            ["openssl", "req"] + ec + ["-keyout", key, "-out", csr,
                                       "-subj", "/CN=mail.example.org"],
            ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
             cakey, "-CAcreateserial", "-out", cert, "-days", "2",
             "-extfile", ext]):
        subprocess.run(argv, check=True, capture_output=True, timeout=60)
    os.chmod(ca, 0o644)
    return ca, cert, key


def _shared(stack):
    """The MariaDB and the certificates every guide's machine uses."""
    if "db" not in STATE:
        d = tempfile.mkdtemp(prefix="guides-", dir=stack.dir)
        os.chmod(d, 0o755)
        db = stackmod.Stack(os.path.join(d, "mariadb"), fast=True)
        os.makedirs(db.dir, exist_ok=True)
        run = os.path.join(db.dir, "run-mysqld")
        os.makedirs(run, mode=0o755, exist_ok=True)
        os.chmod(run, 0o755)
        db.db_socket = os.path.join(run, "mysqld.sock")
        for sub in (db.tmp,):
            os.makedirs(sub, exist_ok=True)
        db.init_db()
        db.start_db()
        STATE["dir"], STATE["db"], STATE["run"] = d, db, run
        STATE["certs"] = _certs(d)
    return STATE["dir"], STATE["db"]


class Mailbox(pagesite.Sink):
    """An SMTP server's handler and authenticator: keeps each message
    (messages) and the account that sent it (logins, in step);
    accounts maps a login to its password."""

    def __init__(self):
        super().__init__()
        self.accounts = {}
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        # (One event loop: the two lists grow in step.)
        with self.lock:
            self.logins.append(session.auth_data)
        return await super().handle_DATA(server, session, envelope)

    def authenticator(self, server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and self.accounts.get(
            data.login.decode("utf-8", "replace")) == \
            data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False,
                          auth_data=data.login.decode() if ok else None)

    def to(self, address, timeout=60, then=None):
        """The message to address (waits for it; then() is called while
        waiting, e.g. to run the mailer)."""
        def find():
            if then is not None:
                then()
            with self.lock:
                for msg, login in zip(self.messages, self.logins):
                    if address in str(msg["To"]):
                        return msg, login
            return None
        return lib.wait_for(find, timeout, "the mail to " + address,
                            interval=0.5)


def _machine(stack, name, server):
    """A machine with Apache or lighttpd running as its package leaves
    it, and mail.example.org's SMTP server in it."""
    d, _ = _shared(stack)
    ca, cert, key = STATE["certs"]
    m = Machine(tempfile.mkdtemp(prefix=name + "-", dir=d), STATE["run"],
                ca=ca)
    STATE.setdefault("machines", []).append(m)
    m.start()
    if server == "apache":
        m.run("apache2ctl start")
    elif server == "caddy":
        m.run("systemctl start caddy")      # its package's own unit
    else:
        m.run("/etc/init.d/%s start" % server)
    box = Mailbox()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def smtp():
        c = Controller(box, hostname="127.0.0.1", port=587,
                       server_hostname="mail.example.org", tls_context=ctx,
                       require_starttls=True,
                       authenticator=box.authenticator, auth_required=True,
                       auth_require_tls=True)
        c.start()
        return c
    STATE.setdefault("smtp", []).append(m.in_net(smtp))
    m.mailbox = box
    return m


def _run_guide(m, name, subs, source=None, before=None):
    """Run guide name on machine m with the names subs replaced; source
    is the source tree of each non-root user.  before maps a section's
    title to a check, called with the crontab lines so far ([(user,
    command)]) before the section's first command.  Returns the crontab
    lines."""
    g = Guide(name)
    env = {"SANITIZE": "1"} if os.environ.get("LATCH_BUILD") == \
        "build-asan" else {}
    crons = []
    todo = dict(before or {})
    for b in g.commands(subs):
        if b.section in todo:
            todo.pop(b.section)(crons)
        if b.lang == "crontab":
            for line in b.text.splitlines()[1:]:
                if line.strip() and not line.startswith("#"):
                    crons.append((b.user, line.split(None, 5)[5]))
            continue
        cwd = None
        if b.in_source:
            cwd = REPO if b.user == "root" else source[b.user]
        try:
            m.run(b.text, user=b.user, cwd=cwd, env=env)
        except AssertionError as e:
            raise AssertionError("docs/deploy/%s:%d: %s" % (name, b.line, e))
    assert not todo, "docs/deploy/%s has no commands under %r" % (
        name, sorted(todo))
    return crons


def _cron(m, user, command):
    """Run a crontab command as cron would: /bin/sh, the user's HOME,
    LOGNAME and SHELL, PATH /usr/bin:/bin."""
    m.run(command, user=user, env={"PATH": "/usr/bin:/bin"},
          shell=("/bin/sh",))


# ------------------------------------------------------------ the checks

def _call(m, method, target, body=None, token=None, headers=None,
          check=True):
    return m.in_net(ws.call, 80, method, target, body, token, headers,
                    check)


def _pages(m, prefix):
    """The pages at prefix: the front door, a page, a module, the
    stylesheet, as www/ has them, with the security headers."""
    for path, ctype in (("", "text/html"), ("signin.html", "text/html"),
                        ("js/api.js", "text/javascript"),
                        ("latch.css", "text/css")):
        r = _call(m, "GET", prefix + path, check=False)
        assert r.status == 200, r.describe()
        assert (r.headers.get("Content-Type") or "").startswith(ctype), \
            r.describe()
        assert (r.headers.get("Content-Security-Policy") or "").startswith(
            "default-src 'self'"), r.describe()
        assert r.headers.get("Referrer-Policy") == "no-referrer", \
            r.describe()
        with open(os.path.join(WWW, path or "index.html"), "rb") as f:
            assert r.body == f.read(), "%s%s is not www/'s" % (prefix, path)


def _first_run(m, pages, api, invite_url, mailer, who):
    """The checks of a new install, through the machine's web server: the
    pages at pages, the API at api; mail links begin with invite_url;
    mailer() delivers the spool (or None: latchd's master does).
    Returns the superadmin's username."""
    r = _call(m, "GET", api + "/health")
    j = lib.expect(r, 200, "health")
    assert j["status"] == "ok" and j["database"] == "ok", r.describe()
    _pages(m, pages)
    # First run.
    r = _call(m, "GET", api + "/setup")
    assert lib.expect(r, 200)["setup_required"] is True, r.describe()
    admin = "admin" + secrets.token_hex(3)
    r = _call(m, "POST", api + "/setup", {
        "organization": "Guide " + who, "username": admin,
        "email": admin + "@example.org", "password": PASSWORD})
    lib.expect(r, 201, "setup")
    # Sign-in, a PATCH and a DELETE.
    r = _call(m, "POST", api + "/auth/login",
              {"identifier": admin, "password": PASSWORD})
    j = lib.expect(r, 200, "sign-in")
    assert j["expires_in"] == 900, "access_ttl is not the default: %r" % j
    token = j["access_token"]
    r = _call(m, "PATCH", api + "/user/profile", {"name": "Guide Admin"},
              token=token)
    assert lib.expect(r, 200)["user"]["name"] == "Guide Admin"
    spare = "spare" + secrets.token_hex(3) + "@example.org"
    r = _call(m, "POST", api + "/invitations",
              {"email": spare, "send_email": False}, token=token)
    iid = lib.expect(r, 201)["invitation"]["id"]
    r = _call(m, "DELETE", api + "/invitations/%d" % iid, token=token)
    lib.expect(r, 200, "DELETE an invitation")
    # An invitation by mail, delivered by the mailer as the guide runs
    # it, and the registration from its link.
    invitee = "invitee" + secrets.token_hex(3) + "@example.org"
    r = _call(m, "POST", api + "/invitations", {"email": invitee},
              token=token)
    lib.expect(r, 201, "invitation")
    msg, login = m.mailbox.to(invitee, then=mailer)
    assert login in m.mailbox.accounts, "mail sent without the guide's " \
        "SMTP account: %r" % login
    body = msg.get_body(("plain",)).get_content()
    link = re.search(re.escape(invite_url) + r"\?code=([A-Za-z0-9_-]+)",
                     body)
    assert link, "no %s link in the invitation:\n%s" % (invite_url, body)
    r = _call(m, "GET", api + "/auth/invitation?code=" + link.group(1))
    lib.expect(r, 200, "the invitation's preview")
    user = "member" + secrets.token_hex(3)
    r = _call(m, "POST", api + "/auth/register", {
        "invitation_code": link.group(1), "username": user,
        "password": PASSWORD})
    lib.expect(r, 201, "registration from the mail's link")
    r = _call(m, "POST", api + "/auth/login",
              {"identifier": user, "password": PASSWORD})
    lib.expect(r, 200, "the new member's sign-in")
    return admin


def _ttl_is(m, api, admin, ttl, what):
    """Health, and the access tokens of a sign-in last ttl (the guide's
    example of a change of configuration).  A reload takes effect as
    the old workers finish, a restart once latchd listens: wait for it
    a little."""
    def healthy():
        r = _call(m, "GET", api + "/health", check=False)
        return r.status == 200 and r.json is not None and \
            r.json.get("database") == "ok"
    lib.wait_for(healthy, 30, "%s to answer (%s)" % (api, what),
                 interval=0.5)
    seen = []

    def took():
        r = _call(m, "POST", api + "/auth/login",
                  {"identifier": admin, "password": PASSWORD})
        seen.append(lib.expect(r, 200, what)["expires_in"])
        return seen[-1] == ttl
    try:
        lib.wait_for(took, 15, "access tokens of %d s" % ttl, interval=1)
    except AssertionError:
        raise AssertionError("%s: expires_in %r, not %d" % (what, seen,
                                                             ttl))


def _guide_with_checks(m, name, subs, pages, api, invite_url, who,
                       source=None, mailer=None):
    """Run guide name with the checks between its sections: a new
    install's before "Changing the configuration", the change (access
    tokens of 600 s) before "Upgrading", and after the upgrade, that
    everything still answers.  mailer(crons) delivers mail (None:
    latchd's master does).  Returns (the superadmin, the crontab)."""
    site = {}

    def first_run(crons):
        site["admin"] = _first_run(
            m, pages, api, invite_url,
            None if mailer is None else (lambda: mailer(crons)), who)

    def changed(crons):
        _ttl_is(m, api, site["admin"], 600, "after the change")
    crons = _run_guide(m, name, subs, source, before={
        "Changing the configuration": first_run, "Upgrading": changed})
    _ttl_is(m, api, site["admin"], 600, "after the upgrade")
    _pages(m, pages)
    return site["admin"], crons


# ------------------------------------------------------------ the tests

def _not_root(name):
    """The machine needs root (namespaces, mounts, Apache's www-data)."""
    if os.geteuid() == 0:
        return False
    print("# skip %s: the guides' machine needs root" % name, flush=True)
    return True


def test_guides_follow_the_conventions(stack):
    """Every guide is listed in docs/deploy/README.md and README.md,
    every command block says who runs it, and every guide lists the
    names that are the reader's."""
    with open(os.path.join(REPO, "docs", "deploy", "README.md")) as f:
        index = f.read()
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    have = sorted(n for n in os.listdir(os.path.join(REPO, "docs",
                                                     "deploy"))
                  if n.endswith(".md") and n != "README.md")
    assert have == sorted(GUIDES), (have, GUIDES)
    for name in GUIDES:
        g = Guide(name)
        assert g.names(), name
        assert "(%s)" % name in index, "docs/deploy/README.md: " + name
        assert "docs/deploy/%s" % name in readme, "README.md: " + name


def test_apache_proxy_fcgi(stack):
    """apache-proxy-fcgi.md: latchd as a service on its socket, Apache's
    mod_proxy_fcgi at /api, the pages at /."""
    if _not_root("test_apache_proxy_fcgi"):
        return
    m = _machine(stack, "apache", "apache")
    STATE["apache"] = m
    mail_pw = secrets.token_hex(12)
    m.mailbox.accounts["latch@example.org"] = mail_pw
    STATE["apache_admin"] = _guide_with_checks(
        m, "apache-proxy-fcgi.md", {"MAIL-PASSWORD": mail_pw}, "/", "/api",
        "https://auth.example.org/register.html", "proxy")[0]
    # The service runs as latch, its socket is www-data's, the config
    # root:latch 0640.
    r = m.run("stat -c '%U:%G %a' /run/latch/latch.sock "
              "/etc/latch/latch.ini; ps -o user=,group= -C latchd | sort -u")
    assert r.stdout.split("\n")[:2] == ["latch:www-data 660",
                                        "root:latch 640"], r.stdout
    assert "latch www-data" in " ".join(r.stdout.split()), r.stdout


def _member(m, api, token):
    """A member (role user) invited by hand by the holder of token:
    their access token."""
    email = "member" + secrets.token_hex(3) + "@example.org"
    r = _call(m, "POST", api + "/invitations",
              {"email": email, "send_email": False}, token=token)
    code = lib.expect(r, 201)["invitation"]["code"]
    user = "member" + secrets.token_hex(3)
    r = _call(m, "POST", api + "/auth/register", {
        "invitation_code": code, "username": user, "password": PASSWORD})
    return lib.expect(r, 201)["access_token"]


def test_apache_authorizer(stack):
    """apache-authorizer.md on top of the above: one latchd on TCP for
    the API and the authorizer; /private for any session, /staff for
    admins; a browser without a session is sent to sign in; a browser's
    session (cookie_path = /) reaches the guarded paths."""
    if _not_root("test_apache_authorizer"):
        return
    m = STATE.get("apache")
    assert m is not None and "apache_admin" in STATE, \
        "needs test_apache_proxy_fcgi's machine"
    _run_guide(m, "apache-authorizer.md", {})
    r = m.run("ps -o args= -C latchd")
    assert r.stdout.strip(), "latchd is not running"
    lib.expect(_call(m, "GET", "/api/health"), 200)
    _guarded(m, STATE["apache_admin"])


def _guarded(m, admin):
    """/private/ for any session, /staff/ for admins (admin is one); a
    browser without a session is sent to sign in; a browser's session
    (cookie_path = /) reaches the guarded paths; a revoked session is
    refused."""
    for path in ("/private/", "/staff/"):
        r = _call(m, "GET", path, check=False)
        assert r.status == 401, r.describe()
        r = _call(m, "GET", path, check=False,
                  headers={"Accept": "text/html"})
        assert r.status == 302 and r.headers.get("Location") == \
            "/signin.html?next=" + path, r.describe()
    r = _call(m, "POST", "/api/auth/login", {
        "identifier": admin, "password": PASSWORD, "cookie": True})
    j = lib.expect(r, 200)
    access = [c.split(";")[0] for c in r.headers.get_all("Set-Cookie")
              if c.startswith("latch_access=")]
    assert access and "Path=/;" in [
        c for c in r.headers.get_all("Set-Cookie")
        if c.startswith("latch_access=")][0], r.describe()
    # A browser session's body holds no token: the cookie's is the one.
    assert "access_token" not in j, j
    token = access[0].split("=", 1)[1]
    for path, want in (("/private/", b"For every signed-in person."),
                       ("/staff/", b"For admins.")):
        r = _call(m, "GET", path, token=token, check=False)
        assert r.status == 200 and r.body.strip() == want, r.describe()
        r = _call(m, "GET", path, headers={"Cookie": access[0]},
                  check=False)
        assert r.status == 200, "the browser's session: " + r.describe()
    user = _member(m, "/api", token)
    r = _call(m, "GET", "/staff/", token=user, check=False)
    assert r.status == 403, r.describe()
    r = _call(m, "GET", "/private/", token=user, check=False)
    assert r.status == 200, r.describe()
    r = _call(m, "POST", "/api/auth/logout", {}, token=user)
    lib.expect(r, 200)
    r = _call(m, "GET", "/private/", token=user, check=False)
    assert r.status == 401, "a revoked session: " + r.describe()


class _LocalSecure(http.cookiejar.DefaultCookiePolicy):
    """A browser's cookie rules, with the machine's http://127.0.0.1 a
    secure context (as browsers treat localhost): Secure cookies go
    there."""

    def return_ok_secure(self, cookie, request):
        return True


def _path_match(path, cookie_path):
    """RFC 6265 5.1.4."""
    return path == cookie_path or (path.startswith(cookie_path) and (
        cookie_path.endswith("/") or path[len(cookie_path)] == "/"))


def _two_installs_one_jar(m, users):
    """Two installs on one host (/~a/auth/, /~b/auth/), one browser's
    cookie jar: signing in to b, or out of it, leaves a's session as a's
    pages see it (the latch_csrf they read and send), and no cookie of
    one install goes to the other."""
    jar = http.cookiejar.CookieJar(policy=_LocalSecure())
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar))

    def call(method, path, body=None, csrf=None):
        headers = {"Content-Type": "application/json"}
        if csrf:
            headers["X-Latch-CSRF"] = csrf
        rq = urllib.request.Request(
            "http://127.0.0.1" + path, method=method, headers=headers,
            data=json.dumps(body).encode() if body is not None else None)
        try:
            with opener.open(rq, timeout=60) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def page_csrf(user):
        """latch_csrf as the account page of user's install reads it
        (document.cookie lists the longest path first)."""
        page = "/~%s/auth/account.html" % user
        seen = sorted((c for c in jar if c.name == "latch_csrf" and
                       _path_match(page, c.path)),
                      key=lambda c: -len(c.path))
        return seen[0].value if seen and seen[0].value else ""

    def body():
        (a, a_admin), (b, b_admin) = users.items()
        for user, admin in ((a, a_admin), (b, b_admin)):
            status, j = call("POST", "/~%s/auth/api/auth/login" % user, {
                "identifier": admin, "password": PASSWORD, "cookie": True})
            assert status == 200, j
        for c in jar:
            owner = a if c.path.startswith("/~%s/" % a) else b
            assert c.path.startswith("/~%s/auth/" % owner), \
                "a cookie outside its install: %s Path=%s" % (c.name,
                                                             c.path)
        csrf_a = page_csrf(a)
        assert csrf_a and csrf_a != page_csrf(b), \
            "the two installs share latch_csrf"
        status, j = call("PATCH", "/~%s/auth/api/user/profile" % a,
                         {"name": "A in one jar"}, csrf=page_csrf(a))
        assert status == 200, j
        status, j = call("POST", "/~%s/auth/api/auth/logout" % b, {},
                         csrf=page_csrf(b))
        assert status == 200, j
        assert page_csrf(a) == csrf_a, "signing out of %s took %s's " \
            "session from its pages" % (b, a)
        status, j = call("PATCH", "/~%s/auth/api/user/profile" % a,
                         {"name": "A still in"}, csrf=page_csrf(a))
        assert status == 200, j
        status, j = call("GET", "/~%s/auth/api/user/profile" % b)
        assert status == 401, "%s is signed out: %r" % (b, j)
    m.in_net(body)


def test_shared_hosting_apache(stack):
    """shared-hosting-apache.md, for two accounts of the host in turn
    (the host's part each time, then the account's), on the Apache of
    the guides above: latchd runs as each account (suEXEC), the mail
    leaves by the crontab line; then both installs from one cookie
    jar."""
    if _not_root("test_shared_hosting_apache"):
        return
    m = STATE.get("apache") or _machine(stack, "apache", "apache")
    STATE["apache"] = m
    admins = {}
    for _ in range(2):
        user = "lt" + secrets.token_hex(3)
        m.run("useradd --create-home --shell /bin/sh " + user)
        uid, gid = (int(x) for x in m.run("id -u %s; id -g %s" % (
            user, user)).stdout.split())
        src = os.path.join(m.dir, "home", user, "latch-src")
        source_tree(src, uid, gid)
        mail_pw = secrets.token_hex(12)
        m.mailbox.accounts[user + "@example.org"] = mail_pw
        try:
            admins[user], crons = _guide_with_checks(
                m, "shared-hosting-apache.md", {
                    "alice": user, "DB-PASSWORD": secrets.token_hex(12),
                    "MAIL-PASSWORD": mail_pw},
                "/~%s/auth/" % user, "/~%s/auth/api" % user,
                "https://www.example.org/~%s/auth/register.html" % user,
                user, source={user: "/home/%s/latch-src" % user},
                mailer=lambda crons: [_cron(m, u, c) for u, c in crons])
        finally:
            # (It holds the sanitizers' messages, in tests/run.py and
            # build-asan/: the suite looks for those in its directory.)
            shutil.rmtree(src)
        assert crons, "the guide has no crontab line"
        r = m.run("ps -o user= -C latchd | sort -u")
        assert user in r.stdout.split(), "no latchd runs as %s (suEXEC): " \
            "%r" % (user, r.stdout)
    _two_installs_one_jar(m, admins)


def _next_machine(stack, name, server):
    """End the previous guide's machine and database, start another."""
    for m in STATE.pop("machines", []):
        m.stop()
    _, db = _shared(stack)
    db.mysql("DROP DATABASE IF EXISTS latch; "
             "DROP USER IF EXISTS 'latch'@'localhost'", db="mysql")
    return _machine(stack, name, server)


def test_lighttpd(stack):
    """lighttpd.md: latchd as a service on its socket, lighttpd's
    external FastCGI at /api, the pages at /."""
    if _not_root("test_lighttpd"):
        return
    m = _next_machine(stack, "lighttpd", "lighttpd")
    mail_pw = secrets.token_hex(12)
    m.mailbox.accounts["latch@example.org"] = mail_pw
    _guide_with_checks(m, "lighttpd.md", {"MAIL-PASSWORD": mail_pw}, "/",
                       "/api", "https://auth.example.org/register.html",
                       "lighttpd")
    r = m.run("ps -o user=,group= -C latchd | sort -u")
    assert " ".join(r.stdout.split()) == "latch www-data", r.stdout


def test_lighttpd_spawn(stack):
    """lighttpd-spawn.md: lighttpd starts latchd (as www-data, a master
    and its workers and mailer), the API at /api, the pages at /."""
    if _not_root("test_lighttpd_spawn"):
        return
    m = _next_machine(stack, "lighttpd-spawn", "lighttpd")
    mail_pw = secrets.token_hex(12)
    m.mailbox.accounts["latch@example.org"] = mail_pw
    _guide_with_checks(m, "lighttpd-spawn.md", {"MAIL-PASSWORD": mail_pw},
                       "/", "/api", "https://auth.example.org/register.html",
                       "spawn")
    r = m.run("ps -o user= -C latchd | sort -u; ps -o user= -C "
              "latch-mailer")
    assert r.stdout.split() == ["www-data", "www-data"], r.stdout


def test_nginx(stack):
    """nginx.md: latchd as a service on its socket, nginx's fastcgi_pass
    at /api, the pages at /, /private/ and /staff/ guarded by
    auth_request."""
    if _not_root("test_nginx"):
        return
    m = _next_machine(stack, "nginx", "nginx")
    mail_pw = secrets.token_hex(12)
    m.mailbox.accounts["latch@example.org"] = mail_pw
    admin, _ = _guide_with_checks(
        m, "nginx.md", {"MAIL-PASSWORD": mail_pw}, "/", "/api",
        "https://auth.example.org/register.html", "nginx")
    r = m.run("ps -o user=,group= -C latchd | sort -u")
    assert " ".join(r.stdout.split()) == "latch www-data", r.stdout
    _guarded(m, admin)


def test_caddy(stack):
    """caddy.md: latchd as a service on its socket, Caddy's
    reverse_proxy (FastCGI transport) at /api, the pages at /, /private/
    and /staff/ guarded by forward_auth; Caddy runs as caddy."""
    if _not_root("test_caddy"):
        return
    m = _next_machine(stack, "caddy", "caddy")
    mail_pw = secrets.token_hex(12)
    m.mailbox.accounts["latch@example.org"] = mail_pw
    admin, _ = _guide_with_checks(
        m, "caddy.md", {"MAIL-PASSWORD": mail_pw}, "/", "/api",
        "https://auth.example.org/register.html", "caddy")
    r = m.run("ps -o user= -C caddy | sort -u")
    assert r.stdout.split() == ["caddy"], r.stdout
    _guarded(m, admin)


def teardown(stack):
    errors = []
    for c in STATE.pop("smtp", []):
        try:
            c.stop()
        except Exception as e:
            errors.append("smtp: %s" % e)
    for m in STATE.pop("machines", []):
        try:
            m.stop()
        except Exception as e:
            errors.append("machine %s: %s" % (m.dir, e))
    db = STATE.pop("db", None)
    if db is not None:
        db.stop()
    STATE.clear()
    assert not errors, "; ".join(errors)
