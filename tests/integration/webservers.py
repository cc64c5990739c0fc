"""
webservers.py: real lighttpd and Apache instances for the web-server
scenarios (test_87_webservers.py), on free ports in their own temporary
directories, with configs that include contrib/ as shipped.

Everything started here is registered in a Procs and stopped by its
stop() (the scenarios call it in a finally block); processes the web
servers spawn themselves (lighttpd bin-path, mod_fcgid, CGI) are looked
for afterwards by the config they were given and killed if they outlived
their server.

Apache runs its children as www-data (it refuses root), so what they and
the latchd they spawn must reach is made reachable for that user only:
the Apache directory is 0750 root:www-data, latch configs there are 0640
root:www-data (latchd refuses configs that others can read), and the
shared stack's directory is opened to traversal (0711, no listing) while
Apache runs, for MariaDB's socket.
"""

import contextlib
import grp
import http.client as httpclient
import json
import os
import pwd
import re
import signal
import socket
import subprocess
import tempfile
import time

import lib
import stack as stackmod

REPO = stackmod.REPO
CONTRIB = os.path.join(REPO, "contrib")
APACHE_MODULES = "/usr/lib/apache2/modules"
START_WAIT = 30
STOP_WAIT = 20


def authorizer_present():
    """Whether latchd has the FastCGI AUTHORIZER role (fcgi/ mentions
    FCGI_ROLE)."""
    d = os.path.join(REPO, "fcgi")
    for n in sorted(os.listdir(d)):
        if n.endswith(".c"):
            with open(os.path.join(d, n), encoding="utf-8",
                      errors="replace") as f:
                if "FCGI_ROLE" in f.read():
                    return True
    return False


def www_data():
    """(uid, gid) of Apache's user."""
    pw = pwd.getpwnam("www-data")
    return pw.pw_uid, grp.getgrnam("www-data").gr_gid


# ------------------------------------------------------ contrib examples

# Each web-server file in contrib/ opens with a comment showing how to use
# it, with example values:
#   var.latch_guarded = "/private"      # lighttpd
#   Define LATCH_GUARDED /private       # Apache
#   include "/usr/local/share/latch/contrib/lighttpd/latch-authorizer.conf"
# The scenarios set each file up with exactly those values, so that a
# recipe whose own example does not work fails the suite.  What a
# variable is decides what "exactly" means:
#   resource  where something the scenario provides is (latchd's socket,
#             address, program, config): the scenario's own;
#   path      a directory the recipe gives a meaning (what a URL prefix
#             maps to): the example's path under the scenario's own root
#             directory, where the scenario puts what the comment says;
#   value     URL prefixes, roles: the example's value as it is.
EXAMPLE_KINDS = {
    "latch_socket": "resource", "latch_bin": "resource",
    "latch_config": "resource", "LATCH_SOCKET": "resource",
    "LATCH_AUTHORIZER": "resource", "LATCH_BIN": "resource",
    "LATCH_CONFIG": "resource",
    "latch_docroot": "path",
    "latch_base": "value", "latch_guarded": "value",
    "latch_require_role": "value", "LATCH_BASE": "value",
    "LATCH_CGI_BASE": "value", "LATCH_GUARDED": "value",
    "LATCH_REQUIRE_ROLE": "value",
    "latch_pages": "value", "latch_www": "path", "LATCH_PAGES": "value",
    "LATCH_WWW": "path",
}
# Where "make install" puts contrib/ (PREFIX=/usr/local).
INSTALLED_CONTRIB = "/usr/local/share/latch/contrib/"

_EXAMPLE_VAR = re.compile(
    r'^#\s+(?:var\.(\w+)\s*=\s*"([^"]*)"|Define\s+(\w+)\s+(\S+))')
# An Apache example line as a reader would paste it: Apache takes one or
# two arguments after Define and no comment after them.
_EXAMPLE_DEFINE = re.compile(r'^#\s{2,}Define\b')
_EXAMPLE_DEFINE_OK = re.compile(r'^#\s{2,}Define\s+\w+\s+\S+\s*$')
_EXAMPLE_INCLUDE = re.compile(r'^#\s+(?:include|Include)\s+"?(/[^"\s]+)"?')


def example(relpath):
    """The example in the opening comment of contrib/relpath: its
    variables ({name: value}, in order) and the file its include line
    names."""
    names, include = {}, None
    with open(os.path.join(CONTRIB, relpath), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            assert not _EXAMPLE_DEFINE.match(line) or \
                _EXAMPLE_DEFINE_OK.match(line), "contrib/%s: %r: Apache " \
                "refuses it pasted as it is (Define takes one or two " \
                "arguments, no comment after them)" % (relpath, line)
            m = _EXAMPLE_VAR.match(line)
            if m:
                names[m.group(1) or m.group(3)] = m.group(2) \
                    if m.group(1) else m.group(4)
                continue
            m = _EXAMPLE_INCLUDE.match(line)
            if m:
                include = m.group(1)
    assert names and include, "contrib/%s: no example (variables and an " \
        "include line) in its opening comment" % relpath
    return names, include


def example_setup(relpath, root, **resources):
    """
    The lines that set up and include contrib/relpath as its opening
    comment shows, with the scenario's resources (socket, program,
    config, address) and every other value the example's own, paths put
    under root (see EXAMPLE_KINDS).  Returns (text, values).
    """
    names, include = example(relpath)
    apache = relpath.startswith("apache/")
    values = {}
    for name, v in names.items():
        kind = EXAMPLE_KINDS.get(name)
        assert kind is not None, "contrib/%s: example variable %s: say " \
            "in webservers.EXAMPLE_KINDS what it is" % (relpath, name)
        if kind == "resource":
            assert name in resources, "contrib/%s: the scenario must " \
                "provide %s" % (relpath, name)
            v = resources.pop(name)
        elif kind == "path":
            assert v.startswith("/"), (relpath, name, v)
            v = root + v
        values[name] = v
    assert not resources, "contrib/%s: its example has no %s" % (
        relpath, ", ".join(sorted(resources)))
    assert include == INSTALLED_CONTRIB + relpath, \
        "contrib/%s: the example includes %s, not where make install " \
        "puts it (%s)" % (relpath, include, INSTALLED_CONTRIB + relpath)
    lines = [("Define %s %s" if apache else 'var.%s = "%s"') % (n, v)
             for n, v in values.items()]
    lines.append(("Include %s" if apache else 'include "%s"') %
                 os.path.join(CONTRIB, relpath))
    return "\n".join(lines) + "\n", values


# ---------------------------------------------------------------- procs

class Procs:
    """Processes started by one scenario, stopped in reverse order."""

    def __init__(self, dir):
        self.dir = dir
        self.procs = []        # (name, Popen, log)
        self.configs = []      # latch configs given to spawned latchds

    def start(self, name, argv, log, env=None):
        out = open(log, "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, cwd=self.dir,
                                 env=env, start_new_session=True,
                                 preexec_fn=stackmod._child_setup)
        finally:
            out.close()
        self.procs.append((name, p, log))
        return p

    def wait_up(self, name, cond, what):
        p, log = self._get(name)

        def alive():
            if p.poll() is not None:
                raise AssertionError("%s exited with status %s:\n%s" % (
                    name, p.returncode, stackmod.log_tail(log)))
        try:
            stackmod.wait_until(cond, START_WAIT, what, alive=alive)
        except stackmod.StackError as e:
            raise AssertionError("%s\n%s" % (e, stackmod.log_tail(log)))

    def _get(self, name):
        for n, p, log in self.procs:
            if n == name:
                return p, log
        raise KeyError(name)

    def stop(self):
        errors = []
        while self.procs:
            name, p, log = self.procs.pop()
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                    p.wait(STOP_WAIT)
                except subprocess.TimeoutExpired:
                    errors.append("%s did not stop in %ss" % (name,
                                                             STOP_WAIT))
                    p.kill()
                    p.wait()
        # latchds spawned by the servers (bin-path, fcgid, CGI) must have
        # gone with them; give them a moment, then make sure.
        deadline = time.monotonic() + 5
        while True:
            left = self.strays()
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for pid in left:
            errors.append("latchd %d outlived its web server" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if errors:
            raise AssertionError("; ".join(errors))

    def strays(self, configs=None):
        """Live latchd processes started with one of our configs (or of
        configs)."""
        out = []
        configs = self.configs if configs is None else configs
        if not configs:
            return out
        for name in os.listdir("/proc"):
            if not name.isdigit() or not stackmod.pid_alive(int(name)):
                continue
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    cmd = f.read()
                with open("/proc/%s/environ" % name, "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if b"latchd" not in cmd and b"latch-mailer" not in cmd:
                continue
            given = [v[len(b"LATCH_CONFIG="):] for v in env.split(b"\0")
                     if v.startswith(b"LATCH_CONFIG=")]
            given = {os.path.realpath(v.decode("utf-8", "replace"))
                     for v in given}
            for c in configs:
                if c.encode() in cmd or os.path.realpath(c) in given:
                    out.append(int(name))
                    break
        return out


@contextlib.contextmanager
def scratch(stack, name, group=None):
    """A temporary directory under the stack's for one scenario (0750,
    group `group` if given), with the Procs started there, all stopped
    at the end.  The directory (logs, generated configs) goes with the
    stack's (kept by run.py --keep or on failure)."""
    d = tempfile.mkdtemp(prefix=name + "-", dir=stack.dir)
    os.chmod(d, 0o750)
    if group is not None:
        os.chown(d, 0, group)
    procs = Procs(d)
    try:
        yield d, procs
    finally:
        procs.stop()


@contextlib.contextmanager
def traversable(path):
    """Let other users (www-data) traverse path, not list it, for a
    while."""
    mode = os.stat(path).st_mode & 0o7777
    os.chmod(path, mode | 0o111)
    try:
        yield
    finally:
        os.chmod(path, mode)


def derive_config(stack, path, overrides, group=None):
    """A copy of the stack's config at path with overrides applied:
    mode 0640 with group `group` (readable by that group's web server)
    or 0600."""
    with open(stack.config, encoding="utf-8") as f:
        text = f.read()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    stackmod.ini_set(path, stackmod.normalize_overrides(overrides, path))
    if group is not None:
        os.chown(path, 0, group)
        os.chmod(path, 0o640)
    return path


def start_latchd(procs, name, config, listen):
    """A latchd on its own socket (a path or 127.0.0.1:PORT)."""
    bdir = os.environ.get("LATCH_BUILD") or "build"
    procs.start(name, [os.path.join(REPO, bdir, "latchd"), "-c", config],
                os.path.join(procs.dir, name + ".log"))

    def up():
        if listen.startswith("/"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr = listen
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            h, p = listen.rsplit(":", 1)
            addr = (h, int(p))
        with s:
            s.settimeout(2)
            try:
                s.connect(addr)
                return True
            except OSError:
                return False
    procs.wait_up(name, up, "%s on %s" % (name, listen))


def port_up(port):
    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), 2):
                return True
        except OSError:
            return False
    return up


# ------------------------------------------------------------- lighttpd

def start_lighttpd(procs, name, port, body):
    """Write DIR/NAME.conf (the common settings, then body: variables and
    includes of contrib files), check it, start lighttpd -D."""
    d = procs.dir
    www = os.path.join(d, "www")
    os.makedirs(www, exist_ok=True)
    conf = os.path.join(d, name + ".conf")
    with open(conf, "w") as f:
        f.write("""\
# Generated by tests/integration/webservers.py.
server.port = {port}
server.bind = "127.0.0.1"
server.document-root = "{www}"
server.errorlog = "{d}/{name}-error.log"
server.upload-dirs = ( "{d}" )
{body}
""".format(port=port, www=www, d=d, name=name, body=body))
    r = subprocess.run(["lighttpd", "-tt", "-f", conf], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, "lighttpd rejects %s:\n%s%s" % (
        conf, r.stdout, r.stderr)
    procs.start(name, ["lighttpd", "-D", "-f", conf],
                os.path.join(d, name + "-error.log"))
    procs.wait_up(name, port_up(port), "%s on port %d" % (name, port))
    return conf


# --------------------------------------------------------------- Apache

APACHE_MODS = ["mpm_prefork", "authn_core", "authz_core", "authz_user",
               "mime", "alias", "env", "setenvif", "rewrite", "cgi",
               "proxy", "proxy_fcgi", "fcgid", "authnz_fcgi", "headers",
               "dir"]


def start_apache(procs, port, body):
    """Apache 2.4 from Debian's package, with its own ServerRoot, PidFile,
    logs and mutexes in the scenario's directory, children as www-data,
    no system service.  body holds the Defines and Includes."""
    d = procs.dir
    uid, gid = www_data()
    run = os.path.join(d, "run")
    os.makedirs(run, exist_ok=True)
    os.makedirs(os.path.join(d, "www"), exist_ok=True)
    os.chown(run, uid, gid)
    loads = "\n".join("LoadModule %s_module %s/mod_%s.so" % (
        m, APACHE_MODULES, m) for m in APACHE_MODS)
    conf = os.path.join(d, "apache2.conf")
    with open(conf, "w") as f:
        f.write("""\
# Generated by tests/integration/webservers.py.
ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{d}/apache2.pid"
ErrorLog "{d}/apache-error.log"
LogLevel warn
DefaultRuntimeDir "{run}"
Mutex file:{run} default
User www-data
Group www-data
{loads}
TypesConfig /etc/mime.types
StartServers 2
MinSpareServers 1
MaxSpareServers 4
MaxRequestWorkers 16
FcgidIPCDir "{run}/fcgid"
FcgidProcessTableFile "{run}/fcgid-shm"
FcgidMaxProcessesPerClass 2
DocumentRoot "{d}/www"
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory "{d}/www">
  Require all granted
</Directory>
{body}
""".format(d=d, port=port, run=run, loads=loads, body=body))
    os.chmod(conf, 0o644)
    r = subprocess.run(["apache2", "-t", "-f", conf], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, "apache2 rejects %s:\n%s%s" % (
        conf, r.stdout, r.stderr)
    procs.start("apache2", ["apache2", "-f", conf, "-DFOREGROUND"],
                os.path.join(d, "apache-error.log"),
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                     "LANG": "C"})
    procs.wait_up("apache2", port_up(port), "apache2 on port %d" % port)
    return conf


# ----------------------------------------------------------------- HTTP

def call(port, method, target, body=None, token=None, headers=None,
         check=True):
    """One request to 127.0.0.1:port; a lib.Resp, JSON parsed when it is
    JSON (.json None otherwise), the contract's checks applied when
    check."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(data or b"")))
        conn.endheaders(data)
        r = conn.getresponse()
        resp = lib.Resp(r.status, r.reason, r.headers, r.read(),
                        "%s :%d%s" % (method, port, target))
    finally:
        conn.close()
    lib.log("<", resp.req, resp.status)
    try:
        resp.json = json.loads(resp.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        resp.json = None
    if check:
        assert resp.json is not None, "answer is not JSON: " + \
            resp.describe()
        lib.check_response(resp)
    return resp


def round_trip(port, base, acct):
    """/health, then a login and /user/profile with its token, all
    through the server on port under the mount base."""
    r = call(port, "GET", base + "/health")
    j = lib.expect(r, 200, "health under %r" % base)
    assert j.get("status") == "ok" and j.get("database") == "ok", \
        r.describe()
    r = call(port, "POST", base + "/auth/login",
             {"identifier": acct.username, "password": acct.password})
    j = lib.expect_login(r, 200, username=acct.username)
    r = call(port, "GET", base + "/user/profile", token=j["access_token"])
    lib.expect(r, 200, "profile under %r" % base)
    got = r.json.get("user", r.json)
    assert got.get("username") == acct.username, r.describe()
    # Every method reaches latch, not only GET and POST: a PATCH, and a
    # DELETE that latch itself answers (no such session).
    name = "Round Trip %d" % port
    r = call(port, "PATCH", base + "/user/profile", {"name": name},
             token=j["access_token"])
    lib.expect(r, 200, "PATCH under %r" % base)
    assert r.json["user"]["name"] == name, r.describe()
    r = call(port, "DELETE", base + "/auth/sessions/2147483647",
             token=j["access_token"])
    lib.expect_error(r, 404, "not_found")
    # Routing really follows the mount: a path below it that is no
    # route is latch's 404, not the web server's.
    r = call(port, "GET", base + "/no-such-route")
    lib.expect_error(r, 404, "not_found")
    return j["access_token"]
