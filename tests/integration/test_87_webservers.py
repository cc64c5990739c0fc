"""
latch behind real web servers, with the contrib/ files as shipped and set
up with the example values of their own opening comments (see
webservers.example_setup; only where latchd, its socket, program and
config are is the scenario's own):

  lighttpd  latch.conf (external pool, /api: the shared stack itself),
            latch-spawn.conf (lighttpd spawns latchd: /api with a
            pre-forking latchd, and a subdomain-style root mount with
            base_path = "" and one in-process latchd),
            latch-authorizer.conf (latchd guards static files and a CGI)
  Apache    latch-proxy-fcgi.conf (/api on a unix socket),
            fcgid/htaccess + fcgid/latch.fcgi (/~alice/auth/api, shared
            hosting style, routes from PATH_INFO), latch-cgi.conf
            (/~bob/auth/api, plain CGI), latch-authnz-fcgi.conf (latchd
            as mod_authnz_fcgi authorizer)

Each scenario starts its servers (and any latchd of its own) on free
ports in a temporary directory and stops them in a finally block; the
shared stack's MariaDB and config are reused.  The authorizer scenarios
skip, saying so, while latchd has no FastCGI AUTHORIZER role.
"""

import os
import shutil
import time

import lib
import stack as stackmod
import webservers as ws
from lib import expect, new_password, register, uniq

CONTRIB = ws.CONTRIB


def _skip_without_authorizer(name):
    if ws.authorizer_present():
        return False
    print("# skip %s: latchd has no FastCGI AUTHORIZER role yet "
          "(no FCGI_ROLE in fcgi/*.c)" % name, flush=True)
    return True


def _user_account(stack, org):
    """A role "user" account in org (created with latchctl); returns a
    lib.Account-like object with username/password."""
    username = uniq("wsu")
    password = new_password()
    r = stack.latchctl("create-user", "--org", org, "--username", username,
                       "--email", lib.new_email(), "--role", "user",
                       input=password + "\n")
    assert r.returncode == 0, "latchctl create-user: %d %s%s" % (
        r.returncode, r.stdout, r.stderr)
    acct = lib.login(username, password)
    j = lib.expect_login(acct, 200, username=username, role="user")
    return j["access_token"]


def _guarded_files(dirs):
    """A static file and a /bin/sh CGI for each guarded prefix, in the
    directory that serves it ({prefix: directory})."""
    for p, d in dirs.items():
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        with open(os.path.join(d, "secret.txt"), "w") as f:
            f.write("the guarded file %s\n" % p)
        os.chmod(os.path.join(d, "secret.txt"), 0o644)
        cgi = os.path.join(d, "whoami.sh")
        with open(cgi, "w") as f:
            f.write("#!/bin/sh\n"
                    "printf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
                    "printf 'user=%s role=%s id=%s org=%s require=%s "
                    "amr=%s key=%s\\n' "
                    "\"$LATCH_USERNAME\" \"$LATCH_ROLE\" \"$LATCH_USER_ID\" "
                    "\"$LATCH_ORG_ID\" \"${LATCH_REQUIRE_ROLE-unset}\" "
                    "\"$LATCH_AMR\" \"$LATCH_API_KEY_ID\"\n")
        os.chmod(cgi, 0o755)


def _authorizer_checks(stack, port, guarded, admin_guarded):
    """The behaviour of latchd as authorizer, through a server on port
    guarding `guarded` (any valid session) and `admin_guarded` (role
    admin).  The guarded CGI sees the LATCH_* variables of the answer,
    and LATCH_REQUIRE_ROLE, the role its path requires (neither server
    can take a variable away between the authorizer and what it guards;
    the contrib files say so)."""
    a = register()                      # an admin of a new organization
    good = lib.login_ok(a).access
    user_token = _user_account(stack, a.org)
    f = guarded + "/secret.txt"

    r = ws.call(port, "GET", f, check=False)
    expect(r, 401, "no token")
    assert b"the guarded file" not in r.body, r.describe()

    r = ws.call(port, "GET", f, token=good, check=False)
    expect(r, 200, "good token")
    assert r.body == ("the guarded file %s\n" % guarded).encode(), \
        r.describe()

    r = ws.call(port, "GET", f, check=False,
                headers={"Cookie": "latch_access=" + good})
    expect(r, 200, "good token in the latch_access cookie")

    # The kid chooses the key: one naming no key of ours is refused,
    # though the MAC is the current key's.
    r = ws.call(port, "GET", f, token=lib.with_kid(good, "AAAAAAAAAAA"),
                check=False)
    expect(r, 401, "a kid that names no key")
    assert b"the guarded file" not in r.body, r.describe()
    r = ws.call(port, "GET", f, token=lib.with_kid(good, lib.kid_of(
        lib.SECRET)), check=False)
    expect(r, 200, "our own kid, signed by PyJWT")

    r = ws.call(port, "GET", guarded + "/whoami.sh", token=good,
                check=False)
    expect(r, 200, "guarded CGI")
    text = r.body.decode()
    assert "user=%s " % a.username in text and "role=admin" in text and \
        "id=%d " % a.id in text, "the CGI did not see LATCH_*: %r" % text
    assert "require=user " in text, "LATCH_REQUIRE_ROLE, as documented: " \
        "%r" % text
    assert "amr=pwd key=\n" in text, "LATCH_AMR, and no LATCH_API_KEY_ID " \
        "for a person: %r" % text

    r = ws.call(port, "GET", admin_guarded + "/secret.txt",
                token=user_token, check=False)
    expect(r, 403, "role user where admin is required")
    r = ws.call(port, "GET", admin_guarded + "/secret.txt", token=good,
                check=False)
    expect(r, 200, "role admin where admin is required")
    r = ws.call(port, "GET", f, token=user_token, check=False)
    expect(r, 200, "role user where any session will do")

    # An API key (test_67): its role and organization, and which key;
    # never from the cookie; refused once revoked.
    k = expect(lib.http("POST", "/api-keys", {"name": "guard", "role":
                                              "admin"}, token=good),
               201)["api_key"]
    r = ws.call(port, "GET", admin_guarded + "/secret.txt", token=k["key"],
                check=False)
    expect(r, 200, "an admin API key where admin is required")
    r = ws.call(port, "GET", guarded + "/whoami.sh", token=k["key"],
                check=False)
    expect(r, 200, "guarded CGI with an API key")
    text = r.body.decode()
    want = "user=apikey:%d role=admin id= org=%d require=user amr= key=%d\n" \
        % (k["id"], a.user["organizationId"], k["id"])
    assert want in text, \
        "the CGI did not see the key's LATCH_*: %r" % text
    r = ws.call(port, "GET", f, check=False,
                headers={"Cookie": "latch_access=" + k["key"]})
    expect(r, 401, "an API key in the latch_access cookie")
    expect(lib.http("DELETE", "/api-keys/%d" % k["id"], token=good), 200)
    r = ws.call(port, "GET", f, token=k["key"], check=False)
    expect(r, 401, "a revoked API key")
    assert b"the guarded file" not in r.body, r.describe()

    r = lib.http("POST", "/auth/logout", token=good)
    expect(r, 200, "logout")
    r = ws.call(port, "GET", f, token=good, check=False)
    expect(r, 401, "token of a revoked session")
    assert b"the guarded file" not in r.body, r.describe()


# ------------------------------------------------------------- lighttpd

def test_lighttpd_external_pool_under_api(stack):
    """contrib/lighttpd/latch.conf with its example, on the shared stack's
    latchd pool (the stack's own lighttpd includes it too)."""
    a = register()
    with open(stack.lighttpd_conf) as f:
        assert os.path.join(CONTRIB, "lighttpd", "latch.conf") in f.read()
    ws.round_trip(stack.port, "/api", a)
    with ws.scratch(stack, "lt-pool") as (d, procs):
        setup, ex = ws.example_setup("lighttpd/latch.conf", d,
                                     latch_socket=stack.latchd_socket)
        assert ex["latch_base"] == stack.base_path, \
            "the example's latch_base %r is not [server] base_path %r" % (
                ex["latch_base"], stack.base_path)
        # The pages next to it, as latch-pages.conf's example has them.
        pages, pex = ws.example_setup("lighttpd/latch-pages.conf", d)
        assert ex["latch_base"] == pex["latch_pages"] + "api", (ex, pex)
        shutil.copytree(os.path.join(ws.REPO, "www"), pex["latch_www"])
        port = stackmod.free_port()
        ws.start_lighttpd(procs, "lighttpd", port, setup + pages)
        ws.round_trip(port, ex["latch_base"], a)
        for path, ctype in (("", "text/html"), ("signin.html", "text/html"),
                            ("js/api.js", "text/javascript"),
                            ("latch.css", "text/css")):
            r = ws.call(port, "GET", pex["latch_pages"] + path, check=False)
            assert r.status == 200 and r.headers.get(
                "Content-Type").startswith(ctype) and r.headers.get(
                "Content-Security-Policy", "").startswith(
                "default-src 'self'"), r.describe()
        with open(os.path.join(pex["latch_www"], "signin.html"), "rb") as f:
            assert f.read() == ws.call(port, "GET", pex["latch_pages"] +
                                       "signin.html", check=False).body
        # Nothing else of the site is taken by the pages.
        r = ws.call(port, "GET", pex["latch_pages"] + "other.txt",
                    check=False)
        assert r.status == 404 and "Content-Security-Policy" not in \
            r.headers, r.describe()


def test_lighttpd_spawns_latchd_under_api(stack):
    """latch-spawn.conf with its example: lighttpd starts latchd on fd 0;
    latchd pre-forks [server] workers = 2 there."""
    a = register()
    with ws.scratch(stack, "lt-spawn") as (d, procs):
        base = ws.example("lighttpd/latch-spawn.conf")[0]["latch_base"]
        cfg = ws.derive_config(stack, os.path.join(d, "latch.ini"), {
            "server.workers": 2, "server.base_path": base,
            "mail.run_mailer": False})
        procs.configs.append(cfg)
        setup, ex = ws.example_setup(
            "lighttpd/latch-spawn.conf", d,
            latch_socket=os.path.join(d, "latch.sock"),
            latch_bin=stack.latchd_bin, latch_config=cfg)
        port = stackmod.free_port()
        ws.start_lighttpd(procs, "lighttpd", port, setup)
        ws.round_trip(port, base, a)
        # Outside the mount lighttpd answers itself.
        r = ws.call(port, "GET", base + "foo", check=False)
        expect(r, 404, "outside the mount")
        assert r.json is None, r.describe()
        pids = procs.strays()
        assert len(pids) >= 3, "expected a latchd master and 2 workers " \
            "spawned by lighttpd, found %r" % pids


def test_lighttpd_subdomain_root(stack):
    """latch-spawn.conf with latch_base = "" and base_path = "": the whole
    site (its own port, as a subdomain would be) is latch; one latchd
    serving fd 0 in-process (workers = 1)."""
    a = register()
    with ws.scratch(stack, "lt-root") as (d, procs):
        cfg = ws.derive_config(stack, os.path.join(d, "latch.ini"), {
            "server.workers": 1, "server.base_path": "",
            "mail.run_mailer": False})
        procs.configs.append(cfg)
        port = stackmod.free_port()
        ws.start_lighttpd(procs, "lighttpd", port, """\
var.latch_socket = "{d}/latch.sock"
var.latch_base = ""
var.latch_bin = "{bin}"
var.latch_config = "{cfg}"
include "{contrib}/lighttpd/latch-spawn.conf"
""".format(d=d, bin=stack.latchd_bin, cfg=cfg, contrib=CONTRIB))
        ws.round_trip(port, "", a)
        # /api is no prefix here: /api/health is an unknown route.
        r = ws.call(port, "GET", "/api/health")
        lib.expect_error(r, 404, "not_found")


def test_lighttpd_authorizer(stack):
    """latch-authorizer.conf with its example: the shared latchd pool
    guards /private (any session), its files in the directory the
    example's latch_docroot names, as its comment says; included again
    for /staff (admin) with := as README says."""
    if _skip_without_authorizer("test_lighttpd_authorizer"):
        return
    with ws.scratch(stack, "lt-authz") as (d, procs):
        root = os.path.join(d, "root")
        setup, ex = ws.example_setup("lighttpd/latch-authorizer.conf", root,
                                     latch_socket=stack.latchd_socket)
        assert ex["latch_require_role"] == "user", ex
        guarded, staff = ex["latch_guarded"], os.path.join(root, "staff")
        _guarded_files({guarded: ex["latch_docroot"], "/staff": staff})
        port = stackmod.free_port()
        ws.start_lighttpd(procs, "lighttpd", port, """\
server.modules += ( "mod_cgi" )
cgi.assign = ( ".sh" => "/bin/sh" )
{setup}var.latch_guarded := "/staff"
var.latch_docroot := "{staff}"
var.latch_require_role := "admin"
include "{contrib}/lighttpd/latch-authorizer.conf"
""".format(setup=setup, staff=staff, contrib=CONTRIB))
        _authorizer_checks(stack, port, guarded, "/staff")


# --------------------------------------------------------------- Apache

def _apache_layout(stack, d, gid):
    """The files Apache's www-data children and the latchds they spawn
    use: a config readable by group www-data (0640, world nothing) with
    its own spool, and alice's shared-hosting directory with the fcgid
    files copied from contrib/ as they are."""
    uid = ws.www_data()[0]
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    os.chown(spool, uid, gid)
    os.chmod(spool, 0o700)
    home = os.path.join(d, "home", "alice")
    latch = os.path.join(home, "latch")
    auth = os.path.join(home, "public_html", "auth")
    os.makedirs(os.path.join(latch, "sbin"))
    os.makedirs(auth)
    for p in (os.path.join(d, "home"), home, latch,
              os.path.join(latch, "sbin"), os.path.dirname(auth), auth):
        os.chmod(p, 0o755)
    os.symlink(stack.latchd_bin, os.path.join(latch, "sbin", "latchd"))
    shutil.copy(os.path.join(CONTRIB, "apache", "fcgid", "latch.fcgi"),
                os.path.join(auth, "latch.fcgi"))
    os.chmod(os.path.join(auth, "latch.fcgi"), 0o755)
    shutil.copy(os.path.join(CONTRIB, "apache", "fcgid", "htaccess"),
                os.path.join(auth, ".htaccess"))
    os.chmod(os.path.join(auth, ".htaccess"), 0o644)
    cfg = ws.derive_config(stack, os.path.join(latch, "latch.ini"), {
        "server.workers": 1, "server.base_path": "/~alice/auth/api",
        "mail.run_mailer": False, "mail.spool_dir": spool}, group=gid)
    return home, cfg


def test_apache(stack):
    """One Apache (children as www-data) with every mode mounted:
    proxy_fcgi at /api (its own latchd, socket 0666 in a directory only
    root and www-data reach), mod_fcgid at /~alice/auth/api, CGI at
    /~bob/auth/api, and (when latchd has the role) mod_authnz_fcgi
    guarding /private and /staff."""
    if os.geteuid() != 0:
        print("# skip test_apache: Apache must start as root to run its "
              "children as www-data", flush=True)
        return
    a = register()
    authz = ws.authorizer_present()
    uid, gid = ws.www_data()
    with ws.traversable(stack.dir), \
            ws.scratch(stack, "apache", group=gid) as (d, procs):
        home, user_cfg = _apache_layout(stack, d, gid)
        procs.configs.append(user_cfg)
        sock = os.path.join(d, "latchd.sock")
        proxy, proxy_ex = ws.example_setup("apache/latch-proxy-fcgi.conf",
                                           d, LATCH_SOCKET=sock)
        cgi, cgi_ex = ws.example_setup("apache/latch-cgi.conf", d,
                                       LATCH_BIN=stack.latchd_bin,
                                       LATCH_CONFIG=user_cfg)
        proxy_cfg = ws.derive_config(stack, os.path.join(d, "proxy.ini"), {
            "server.listen": sock, "server.socket_mode": "0666",
            "server.base_path": proxy_ex["LATCH_BASE"],
            "server.workers": 2, "mail.run_mailer": False})
        procs.configs.append(proxy_cfg)
        ws.start_latchd(procs, "latchd-proxy", proxy_cfg, sock)
        authz_body = ""
        if authz:
            aport = stackmod.free_port()
            authz_cfg = ws.derive_config(
                stack, os.path.join(d, "authz.ini"), {
                    "server.listen": "127.0.0.1:%d" % aport,
                    "server.workers": 2, "mail.run_mailer": False})
            procs.configs.append(authz_cfg)
            ws.start_latchd(procs, "latchd-authz", authz_cfg,
                            "127.0.0.1:%d" % aport)
            www = os.path.join(d, "www")
            authz_setup, authz_ex = ws.example_setup(
                "apache/latch-authnz-fcgi.conf", d,
                LATCH_AUTHORIZER="127.0.0.1:%d" % aport)
            assert authz_ex["LATCH_REQUIRE_ROLE"] == "user", authz_ex
            guarded = authz_ex["LATCH_GUARDED"]
            _guarded_files({p: os.path.join(www, p.strip("/"))
                            for p in (guarded, "/staff")})
            authz_body = """\
<Directory "{www}">
  Options +ExecCGI
  AddHandler cgi-script .sh
</Directory>
{setup}Define LATCH_GUARDED /staff
Define LATCH_REQUIRE_ROLE admin
Include {contrib}/apache/latch-authnz-fcgi.conf
""".format(www=www, setup=authz_setup, contrib=CONTRIB)
        port = stackmod.free_port()
        ws.start_apache(procs, port, """\
{proxy}
# alice's shared-hosting directory, as Debian's userdir.conf offers it
# (only GET, POST and OPTIONS; no Options in .htaccess), with the
# Options=ExecCGI that mod_fcgid's .htaccess needs.
Alias "/~alice" "{home}/public_html"
<Directory "{home}/public_html">
  AllowOverride FileInfo AuthConfig Limit Indexes Options=ExecCGI
  Options MultiViews Indexes SymLinksIfOwnerMatch IncludesNoExec
  Require method GET POST OPTIONS
</Directory>

{cgi}
{authz}""".format(proxy=proxy, home=home, cgi=cgi, authz=authz_body))

        api, cgi_base = proxy_ex["LATCH_BASE"], cgi_ex["LATCH_CGI_BASE"]
        ws.round_trip(port, api, a)
        ws.round_trip(port, "/~alice/auth/api", a)
        ws.round_trip(port, cgi_base, a)
        # Work after the answer (POST /auth/password/forgot) is done in
        # these modes too: as CGI, whose stdout Apache has read to its end
        # (and which it may then end), and in mod_fcgid's latchd.
        new = os.path.join(d, "spool", "new")
        for base in (cgi_base, "/~alice/auth/api"):
            n = len(os.listdir(new)) if os.path.isdir(new) else 0
            r = ws.call(port, "POST", base + "/auth/password/forgot",
                        {"email": a.email})
            assert r.status == 202, r.describe()
            lib.wait_for(lambda: os.path.isdir(new) and
                         len(os.listdir(new)) > n, 10,
                         "the reset mail of a request through " + base)
        # Outside the mount Apache answers itself.
        r = ws.call(port, "GET", "/apifoo", check=False)
        assert r.status == 404 and r.json is None, r.describe()
        # The fcgid latchd runs as www-data.
        strays = procs.strays([user_cfg])
        assert strays, "no latchd spawned by mod_fcgid"
        owners = {os.stat("/proc/%d" % p).st_uid for p in strays}
        assert uid in owners, "spawned latchds run as %r" % owners

        # The price of plain CGI, for README.md ("Behind Apache").
        times = {}
        for base in (api, "/~alice/auth/api", cgi_base):
            ws.call(port, "GET", base + "/health")
            t0 = time.monotonic()
            for _ in range(20):
                ws.call(port, "GET", base + "/health", check=False)
            times[base] = (time.monotonic() - t0) / 20 * 1000
        print("# GET /health, ms per request: proxy_fcgi %.1f, "
              "fcgid %.1f, CGI %.1f" % (times[api],
                                         times["/~alice/auth/api"],
                                         times[cgi_base]),
              flush=True)

        if authz:
            _authorizer_checks(stack, port, guarded, "/staff")
        else:
            _skip_without_authorizer("test_apache (mod_authnz_fcgi part)")
