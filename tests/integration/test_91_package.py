"""
The Debian package (make deb): built the Debian way and clean of lintian
errors; then, in a throwaway copy of this machine (sysroot.py: an
overlay over "/", nothing reaches the real one), the README's "Install
on a server" steps as they are written: apt install, the database,
latchctl migrate, and "systemctl enable --now latchd", which without
systemd running here is unitexec.py applying the installed unit's every
restriction.  latchd answers /health and real traffic under them; a
reload and an upgrade keep the config, the data and the spool; purge
leaves the machine as it was, byte for byte, but for dpkg's and apt's
own records.

Under SANITIZE=1 these scenarios print why and pass without running:
the package holds the ordinary build (make check runs them).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families

import fcgiclient
import stack as stackmod
import sysroot
import webservers as ws

REPO = stackmod.REPO
BUILD = os.environ.get("LATCH_BUILD") or "build"
SANITIZED = BUILD == "build-asan"
UNITEXEC = os.path.join(REPO, "tests", "integration", "unitexec.py")
SERVICE = "/lib/systemd/system/latchd.service"
SOCKET = "/lib/systemd/system/latchd.socket"
LATCHD = "/usr/sbin/latchd"
PASSWORD = "a long passphrase for the package test"

# dpkg's, apt's and debconf's own records, man-db's cache (systemd-analyze
# verify formats latchd(8)) and the backups adduser and deluser keep of
# the account files: what installing and purging any package changes.
BOOKKEEPING = ("/var/lib/dpkg/", "/var/lib/apt/", "/var/log/",
               "/var/cache/apt/", "/var/cache/debconf/", "/var/cache/man/",
               "/etc/.pwd.lock",
               "/etc/passwd-", "/etc/group-", "/etc/shadow-",
               "/etc/gshadow-", "/etc/subuid-", "/etc/subgid-")


def deb_version():
    with open(os.path.join(REPO, "debian", "changelog")) as f:
        return re.match(r"latch \(([^)]+)\)", f.readline()).group(1)


def deb_path():
    arch = subprocess.run(["dpkg", "--print-architecture"],
                          capture_output=True, text=True).stdout.strip()
    return os.path.join(REPO, "build", "deb", "latch_%s_%s.deb" % (
        deb_version(), arch))


def make_deb():
    r = subprocess.run(["make", "--no-print-directory", "-s", "deb"],
                       cwd=REPO, capture_output=True, text=True,
                       timeout=900, env=dict(os.environ, SANITIZE=""))
    assert r.returncode == 0, "make deb: %d\n%s%s" % (
        r.returncode, r.stdout[-4000:], r.stderr[-4000:])
    assert os.path.exists(deb_path()), r.stdout
    return deb_path()


def readme_steps():
    """The commands of the README's "Install on a server": the first sh
    block of that section that installs the package."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## Install on a server\n(.*?)(?=^## )", text,
                  re.M | re.S)
    assert m, "README.md has no \"Install on a server\" section"
    for block in re.findall(r"```sh\n(.*?)```", m.group(1), re.S):
        lines = [ln.split("  #")[0].strip() for ln in block.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        if any(ln.startswith("apt install ./latch_") for ln in lines):
            return lines
    raise AssertionError("no sh block with \"apt install ./latch_*.deb\" "
                         "in README's \"Install on a server\"")


def skip_sanitized():
    if SANITIZED:
        print("# skipped under SANITIZE=1: the package holds the ordinary "
              "build, tested by make check")
        return True
    return False


# ---------------------------------------------------------------- build

def test_package_builds_lintian_clean(stack):
    if skip_sanitized():
        return
    deb = make_deb()
    with open(os.path.join(REPO, "build", "deb", "lintian.txt")) as f:
        report = [ln.rstrip() for ln in f if re.match(r"^[EWIPX]: ", ln)]
    errors = [ln for ln in report if ln.startswith("E: ")]
    assert not errors, "lintian errors:\n" + "\n".join(errors)
    for ln in report:
        print("# lintian: " + ln)
    fields = {}
    for k in ("Package", "Version", "Architecture", "Depends"):
        fields[k] = subprocess.run(["dpkg-deb", "-f", deb, k],
                                   capture_output=True, text=True,
                                   check=True).stdout.strip()
    assert fields["Package"] == "latch", fields
    assert fields["Version"] == deb_version(), fields
    for dep in ("adduser", "libmariadb3", "libfcgi0ldbl", "libscrypt0"):
        assert dep in fields["Depends"], fields
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                             text=True, check=True).stdout
    paths = {ln.split()[5].lstrip(".") for ln in listing.splitlines()}
    for p in ("/usr/sbin/latchd", "/usr/sbin/latch-mailer",
              "/usr/bin/latchctl", "/usr/share/latch/latch.ini.example",
              "/usr/share/latch/mail/invite.txt",
              "/usr/share/latch/www/index.html",
              "/usr/share/latch/contrib/lighttpd/latch.conf",
              SERVICE, SOCKET, "/usr/share/man/man8/latchd.8.gz",
              "/usr/share/man/man8/latchctl.8.gz",
              "/usr/share/man/man8/latch-mailer.8.gz",
              "/usr/share/doc/latch/README.md.gz"):
        assert p in paths, "%s is not in the package" % p
    # No config, so no secret, in the package: each machine makes its own.
    assert not [p for p in paths if p.startswith("/etc")], sorted(paths)
    # The units are debian/'s, byte for byte.
    with open(os.path.join(REPO, "debian", "latchd.service"),
              "rb") as f:
        want = f.read()
    got = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb],
                         capture_output=True, check=True).stdout
    out = subprocess.run(["tar", "-xO", "." + SERVICE], input=got,
                         capture_output=True, check=True).stdout
    assert out == want, "the packaged latchd.service is not debian/'s"


# ------------------------------------------------------ the throwaway root

def fcgi(r, method, path, body=None, token=None, sock=None):
    """One request to latchd's socket in r: (status, parsed JSON)."""
    status, _, raw = fcgiclient.request(
        sock or r.path("/run/latch/latch.sock"), method, "/api" + path,
        body=body, token=token)
    return status, json.loads(raw.decode())


def metrics(r):
    """GET /metrics from latchd's socket in r, as Prometheus on this
    machine asks for it through the web server: {sample: value}."""
    status, _, raw = fcgiclient.request(r.path("/run/latch/latch.sock"),
                                        "GET", "/api/metrics")
    assert status == 200, raw[:500]
    out = {}
    for fam in text_string_to_metric_families(raw.decode("utf-8")):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def start_db(r, d):
    """The MariaDB server Debian's mariadb-server would run, on its
    socket, its data in the throwaway /run."""
    r.sh("mkdir -p /run/mysqld /run/latch-test-db && "
         "mariadb-install-db --no-defaults --datadir=/run/latch-test-db "
         "--auth-root-authentication-method=socket --skip-test-db "
         "--user=root >/dev/null")
    r.spawn(["mariadbd", "--no-defaults", "--datadir=/run/latch-test-db",
             "--socket=/run/mysqld/mysqld.sock", "--skip-networking",
             "--skip-log-bin", "--user=root",
             "--innodb-flush-log-at-trx-commit=2"],
            os.path.join(d, "mariadb.log"))
    deadline = time.monotonic() + 60
    while r.run(["mariadb", "-e", "SELECT 1"], check=False).returncode:
        assert time.monotonic() < deadline, stackmod.log_tail(
            os.path.join(d, "mariadb.log"))
        time.sleep(0.2)


class Service:
    """latchd.service in r as systemd would run it (unitexec.py)."""

    def __init__(self, r, d):
        self.r, self.log, self.p = r, os.path.join(d, "journal.log"), None

    def start(self):
        self.mark = os.path.getsize(self.log) if os.path.exists(
            self.log) else 0
        self.p = self.r.spawn(["/usr/bin/python3", UNITEXEC, "--service",
                               SERVICE, "--socket", SOCKET], self.log)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, j = fcgi(self.r, "GET", "/health")
                if status == 200:
                    return j
            except (OSError, EOFError, ValueError):
                pass
            assert self.p.poll() is None and time.monotonic() < deadline, \
                "latchd.service did not come up:\n" + self.journal()
            time.sleep(0.2)

    def journal(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            f.seek(self.mark)
            return f.read()

    def master(self):
        """The master's host PID: the latchd whose parent is none."""
        pids = self.r.host_pids(LATCHD)
        masters = [p for p in pids if stackmod._proc_stat(p) and
                   int(stackmod._proc_stat(p)[1]) not in pids]
        assert len(masters) == 1, (pids, masters)
        return masters[0]

    def processes(self):
        return self.r.host_pids(LATCHD) + self.r.host_pids(
            "/usr/sbin/latch-mailer")

    def reload(self):
        """systemctl reload: the unit's ExecReload lines."""
        with open("/proc/%d/status" % self.master()) as f:
            nspid = [ln.split()[-1] for ln in f if ln.startswith("NSpid:")]
        return self.r.run(["/usr/bin/python3", UNITEXEC, "--service",
                           SERVICE, "--setting", "ExecReload",
                           "--mainpid", nspid[0]], check=False)

    def stop(self):
        """systemctl stop with KillMode=mixed: SIGTERM to the master."""
        os.kill(self.master(), signal.SIGTERM)
        rc = self.p.wait(60)
        assert rc == 0, "latchd exited %d:\n%s" % (rc, self.journal())
        assert not self.processes(), "processes outlived latchd"
        j = self.journal()
        assert "master: all children stopped" in j, j
        assert "signal 31" not in j and "Bad system call" not in j, \
            "a system call the unit forbids:\n" + j


def check_restricted(r, svc):
    """Every process of the service runs as latch, without capabilities,
    under seccomp and no_new_privs, in the unit's mount namespace."""
    pw = r.run(["getent", "passwd", "latch"]).stdout.split(":")
    procs = svc.processes()
    assert len(procs) >= 3, procs      # master, workers, latch-mailer
    for pid in procs:
        with open("/proc/%d/status" % pid) as f:
            st = dict(ln.rstrip("\n").split(":\t", 1) for ln in f
                      if ":\t" in ln)
        assert st["Uid"].split()[0] == pw[2], (pid, st["Uid"])
        assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
        assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0, st
        with open("/proc/%d/mountinfo" % pid) as f:
            mounts = {ln.split()[4]: ln.split()[5] for ln in f}
        assert mounts["/"].startswith("ro"), mounts["/"]
        assert mounts["/var/spool/latch"].startswith("rw"), mounts
    # What a process of the unit can do, checked from inside it.
    out = r.run(["/usr/bin/python3", UNITEXEC, "--service", SERVICE,
                 "--probe"]).stdout
    p = json.loads(out)
    want = {"write /etc": "EROFS", "write /usr": "EROFS",
            "list /root": "EACCES", "list /home": "EACCES",
            "socket AF_NETLINK": "EAFNOSUPPORT", "socket AF_INET6": "ok",
            "mmap write+exec": "EPERM", "unshare mount": "EPERM",
            "chmod setuid": "EPERM", "processes of other users": 0,
            "acct(2)": "killed by signal %d" % signal.SIGSYS,
            "/proc/sys": False, "NoNewPrivs": "1", "Seccomp": "2",
            "CapBnd": "0000000000000000", "umask": "0077",
            "/tmp entries": []}
    for k, v in want.items():
        assert p.get(k) == v, "%s: %r, want %r (%r)" % (k, p.get(k), v, p)
    assert set(p["/dev entries"]) <= {
        "core", "fd", "full", "null", "ptmx", "pts", "random", "shm",
        "stderr", "stdin", "stdout", "tty", "urandom", "zero"}, p
    assert p["uid_map"] == "0 0 1 %s %s 1" % (pw[2], pw[2]), p


def spool_files(r):
    out = {}
    top = r.path("/var/spool/latch")
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, top)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def upgrade_deb(r, deb, d):
    """The package again with a higher version, an upgrade, where r
    finds it (its inside path)."""
    tree = os.path.join(d, "upgrade")
    subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
    ctl = os.path.join(tree, "DEBIAN", "control")
    with open(ctl) as f:
        text = f.read()
    text = re.sub(r"^Version: .*$", "Version: %s+upgrade1" % deb_version(),
                  text, flags=re.M)
    with open(ctl, "w") as f:
        f.write(text)
    out = "/run/latch_%s+upgrade1.deb" % deb_version()
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", tree,
                    r.path(out)], check=True, capture_output=True)
    shutil.rmtree(tree)
    return out


def leftovers(r):
    """What the upper layer holds that the machine does not: anything
    but bookkeeping that differs from "/" as it is."""
    out = []
    for p, kind in sorted(r.changes().items()):
        if p.startswith(BOOKKEEPING):
            continue
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            out.append("%s (new %s)" % (p, kind))
            continue
        inside = os.lstat(r.path(p)) if kind != "gone" else None
        if kind == "gone":
            out.append("%s (removed)" % p)
        elif kind == "dir":
            if not os.path.isdir(p):
                out.append("%s (now a directory)" % p)
        elif kind == "file":
            with open(p, "rb") as a, open(r.path(p), "rb") as b:
                if a.read() != b.read():
                    out.append("%s (changed)" % p)
            if (st.st_mode, st.st_uid, st.st_gid) != (
                    inside.st_mode, inside.st_uid, inside.st_gid):
                out.append("%s (mode or owner changed)" % p)
        elif kind == "link":
            if os.readlink(p) != os.readlink(r.path(p)):
                out.append("%s (link changed)" % p)
        else:
            out.append("%s (%s)" % (p, kind))
    return out


def test_package_install_start_upgrade_purge(stack):
    if skip_sanitized():
        return
    deb = make_deb()
    steps = readme_steps()
    # Once more if dpkg changed the machine under the copy meanwhile
    # (another apt-get on a shared machine): that run saw no one state.
    for attempt in (1, 2):
        with sysroot.Sysroot() as r:
            try:
                install_start_upgrade_purge(stack, r, deb, steps)
                return
            except Exception:
                if attempt == 2 or not r.machine_dpkg_moved():
                    raise
                print("# dpkg changed the machine during the run; again")


def install_start_upgrade_purge(stack, r, deb, steps):
    with ws.scratch(stack, "package") as (d, _):
        svc = Service(r, d)
        start_db(r, d)       # Debian's mariadb-server, running

        # -- the README, step by step
        postinst = ""
        for cmd in steps:
            if cmd == "systemctl enable --now latchd":
                j = svc.start()
                assert j["database"] == "ok", j
            elif cmd.startswith("apt install ./latch_"):
                res = r.sh("cd %s && %s" % (os.path.dirname(deb), cmd))
                postinst = res.stdout
            else:
                r.sh(cmd)
        assert svc.p is not None, "the README never starts latchd"
        # The postinst said what the README says.
        for cmd in steps[1:]:
            assert cmd in postinst, "the postinst does not say %r:\n%s" % (
                cmd, postinst)

        # -- what the install made
        ini = r.path("/etc/latch/latch.ini")
        st = os.stat(ini)
        gid = int(r.run(["getent", "group", "latch"]).stdout.split(":")[2])
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (
            0o640, 0, gid), oct(st.st_mode)
        conf = stackmod.ini_read(ini)
        secret = conf["security"]["jwt_secret"]
        assert len(secret) >= 64 and not secret.startswith("CHANGE-ME")
        sp = os.stat(r.path("/var/spool/latch"))
        assert (sp.st_mode & 0o7777, sp.st_gid) == (0o700, gid), sp
        r.run(["systemd-analyze", "verify", "latchd.service",
               "latchd.socket"])
        sock = os.stat(r.path("/run/latch/latch.sock"))
        assert (sock.st_mode & 0o777, sock.st_gid) == (
            0o660, ws.www_data()[1]), sock
        # The web server's user may connect; nobody else.
        call = ("import sys; sys.path.insert(0, %r); import fcgiclient; "
                "print(fcgiclient.call('/run/latch/latch.sock', "
                "{'REQUEST_METHOD': 'GET', 'REQUEST_URI': '/api/health', "
                "'SCRIPT_NAME': '', 'REMOTE_ADDR': '127.0.0.1'}, "
                "role=fcgiclient.RESPONDER)[0])" %
                os.path.dirname(UNITEXEC))
        assert r.run(["runuser", "-u", "www-data", "--", "/usr/bin/python3",
                      "-c", call]).stdout.strip() == "200"
        res = r.run(["runuser", "-u", "nobody", "--", "/usr/bin/python3",
                     "-c", call], check=False)
        assert res.returncode != 0 and "Permission denied" in res.stderr, \
            res

        # -- latchd under the unit's restrictions, with real traffic
        check_restricted(r, svc)
        status, j = fcgi(r, "POST", "/setup", {
            "organization": "Acme", "username": "admin",
            "email": "admin@example.com", "password": PASSWORD})
        assert status == 201, j
        status, j = fcgi(r, "POST", "/auth/login", {
            "identifier": "admin", "password": PASSWORD})
        assert status == 200, j
        status, j = fcgi(r, "POST", "/invitations", {
            "email": "new@example.com", "role": "user"}, token=j["token"])
        assert status == 201, j
        mail = spool_files(r)
        assert any(p.startswith("new/") for p in mail), mail
        # Prometheus can scrape it: the shared counters work under the
        # unit's restrictions (memfd_create, mmap; no W+X), across its
        # workers.
        got = metrics(r)
        for key, want in (
                (("latch_signins_total", (("outcome", "ok"),)), 1),
                (("latch_sessions_started_total", ()), 2),
                (("latch_http_requests_total", (
                    ("method", "POST"), ("route", "/invitations"),
                    ("status", "2xx"))), 1),
                (("latch_mail_spool_messages", (("state", "queued"),)), 1),
                (("latch_workers", ()), 4)):
            assert got.get(key) == want, (key, got.get(key))
        res = svc.reload()
        assert res.returncode == 0, res
        deadline = time.monotonic() + 20
        while "reloaded /etc/latch/latch.ini" not in svc.journal():
            assert time.monotonic() < deadline, svc.journal()
            time.sleep(0.1)
        assert fcgi(r, "GET", "/health")[0] == 200
        # A broken config fails the reload (latchd -t) and changes nothing.
        with open(ini, "rb") as f:
            good = f.read()
        with open(ini, "ab") as f:
            f.write(b"\n[nonsense]\nkey = 1\n")
        res = svc.reload()
        assert res.returncode != 0 and "nonsense" in res.stdout + \
            res.stderr, res
        with open(ini, "wb") as f:
            f.write(good)

        # -- upgrade: the config, the data and the spool stay
        with open(ini, "rb") as f:
            before = (f.read(), os.stat(ini))
        new = upgrade_deb(r, deb, d)
        res = r.run(["apt-get", "install", "-y", new])
        assert "jwt_secret" not in res.stdout, res.stdout
        assert "schema is up to date" in res.stdout, res.stdout
        svc.stop()           # what the postinst's restart does
        svc.start()
        with open(ini, "rb") as f:
            after = (f.read(), os.stat(ini))
        assert after[0] == before[0], "the upgrade changed the config"
        assert (after[1].st_mode, after[1].st_uid, after[1].st_gid) == (
            before[1].st_mode, before[1].st_uid, before[1].st_gid)
        assert spool_files(r) == mail, "the upgrade changed the spool"
        status, j = fcgi(r, "POST", "/auth/login", {
            "identifier": "admin", "password": PASSWORD})
        assert status == 200, j
        check_restricted(r, svc)
        svc.stop()

        # -- purge: nothing left but dpkg's records
        r.run(["apt-get", "purge", "-y", "latch"])
        assert r.run(["getent", "passwd", "latch"],
                     check=False).returncode == 2
        assert r.run(["getent", "group", "latch"],
                     check=False).returncode == 2
        left = leftovers(r)
        assert not left, "purge left behind:\n" + "\n".join(left)
