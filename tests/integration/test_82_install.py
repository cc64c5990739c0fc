"""
make install: into a staged tree (DESTDIR, what packages are built from)
it writes no config, so no jwt_secret is shared by every machine that
installs the package; on the target (no DESTDIR) it makes the config with
latchctl init, a fresh secret each time, and never replaces one; the
example's placeholder secret is refused.  What the contrib examples name
under PREFIX is where make install puts it.
"""

import os
import shutil
import stat
import subprocess
import tempfile

import stack as stackmod
import webservers as ws

REPO = stackmod.REPO
BUILD = os.environ.get("LATCH_BUILD") or "build"
PLACEHOLDER = "CHANGE-ME"


def make_install(dry_run=False, **vars):
    """make install with vars, on the programs of this build (build/ or,
    for the sanitized suite, build-asan/: nothing is compiled again)."""
    argv = ["make", "--no-print-directory", "-s", "install",
            "SANITIZE=%s" % ("1" if BUILD == "build-asan" else "")]
    argv += ["%s=%s" % kv for kv in vars.items()]
    if dry_run:
        argv.insert(1, "-n")
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, "%s: %d\n%s%s" % (" ".join(argv),
                                                 r.returncode, r.stdout,
                                                 r.stderr)
    return r.stdout + r.stderr


def files(top):
    for d, _, names in os.walk(top):
        for n in names:
            yield os.path.join(d, n)


def secret_of(path):
    return stackmod.ini_read(path)["security"]["jwt_secret"]


def latchd_t(path):
    return subprocess.run([os.path.join(REPO, BUILD, "latchd"), "-t", "-c",
                           path], capture_output=True, text=True,
                          timeout=60, cwd=REPO)


def test_staged_install_writes_no_config(stack):
    with tempfile.TemporaryDirectory(prefix="latch-stage-") as stage:
        out = make_install(DESTDIR=stage, PREFIX="/usr/local")
        usr = os.path.join(stage, "usr", "local")
        for p in ("sbin/latchd", "sbin/latch-mailer", "bin/latchctl",
                  "share/latch/latch.ini.example",
                  "share/latch/mail/invite.txt"):
            assert os.path.exists(os.path.join(usr, p)), p
        # The pages, every file of www/ as it is (they are served so).
        www = os.path.join(REPO, "www")
        for p in files(www):
            rel = os.path.relpath(p, www)
            with open(p, "rb") as a, open(os.path.join(
                    usr, "share", "latch", "www", rel), "rb") as b:
                assert a.read() == b.read(), rel
        # No config at all, and no secret but the example's placeholder.
        assert not os.path.exists(os.path.join(stage, "etc")), \
            "a config in the staged tree: %r" % list(
                files(os.path.join(stage, "etc")))
        for p in files(stage):
            if p.endswith((".ini", ".example", ".local", ".conf")):
                with open(p, errors="replace") as f:
                    for line in f:
                        k, _, v = line.partition("=")
                        if k.strip() == "jwt_secret":
                            assert v.strip().startswith(PLACEHOLDER), \
                                "%s holds a jwt_secret" % p
        assert "latchctl init" in out, out
        # Every file and program a contrib example names under PREFIX is
        # where make install put it.
        for rel in ("lighttpd/latch.conf", "lighttpd/latch-spawn.conf",
                    "lighttpd/latch-authorizer.conf",
                    "lighttpd/latch-pages.conf",
                    "apache/latch-proxy-fcgi.conf", "apache/latch-cgi.conf",
                    "apache/latch-authnz-fcgi.conf",
                    "apache/latch-pages.conf"):
            names, include = ws.example(rel)
            for v in [include] + list(names.values()):
                if v.startswith("/usr/local/"):
                    assert os.path.exists(stage + v), \
                        "contrib/%s's example names %s, which make " \
                        "install does not install" % (rel, v)


def test_target_install_makes_one_config_and_keeps_it(stack):
    with tempfile.TemporaryDirectory(prefix="latch-target-") as d:
        prefix, etc = os.path.join(d, "usr"), os.path.join(d, "etc")
        # This install is the target's own: first make sure that it
        # writes nothing outside d (no /etc/latch of this machine).
        plan = make_install(dry_run=True, PREFIX=prefix, SYSCONFDIR=etc)
        assert "/etc/latch" not in plan.replace(etc, "<etc>"), plan
        make_install(PREFIX=prefix, SYSCONFDIR=etc)
        conf = os.path.join(etc, "latch", "latch.ini")
        st = os.stat(conf)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        s1 = secret_of(conf)
        assert len(s1) >= 64 and not s1.startswith(PLACEHOLDER), \
            "not a fresh secret"
        ini = stackmod.ini_read(conf)
        assert ini["mail"]["template_dir"] == os.path.join(
            prefix, "share", "latch", "mail"), ini["mail"]
        # Pointed at this machine's database and a spool, the new
        # config passes latchd's deployment check.
        db = stack.config_values()["database"]
        r = subprocess.run([os.path.join(prefix, "bin", "latchctl"), "-c",
                            conf, "set", "database.socket=" + db["socket"],
                            "mail.spool_dir=" + os.path.join(d, "spool"),
                            "database.password"], input=db["password"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r
        r = latchd_t(conf)
        assert r.returncode == 0, r
        # The installed latchctl finds its own example and templates
        # under its PREFIX, from any directory.
        other = os.path.join(d, "other.ini")
        r = subprocess.run([os.path.join(prefix, "bin", "latchctl"),
                            "init", other], capture_output=True, text=True,
                           timeout=60, cwd="/")
        assert r.returncode == 0, r
        assert stackmod.ini_read(other)["mail"]["template_dir"] == \
            os.path.join(prefix, "share", "latch", "mail")
        # Again: the config is kept as it is.
        out = make_install(PREFIX=prefix, SYSCONFDIR=etc)
        assert secret_of(conf) == s1, "make install replaced the config"
        assert "exists" in out, out
        # Another target: another secret.
        shutil.rmtree(etc)
        make_install(PREFIX=prefix, SYSCONFDIR=etc)
        assert secret_of(conf) != s1, "two targets share one secret"


def test_example_placeholder_secret_refused(stack):
    with tempfile.TemporaryDirectory(prefix="latch-ph-") as d:
        p = os.path.join(d, "latch.ini")
        shutil.copyfile(os.path.join(REPO, "conf", "latch.ini.example"), p)
        os.chmod(p, 0o600)
        assert secret_of(p).startswith(PLACEHOLDER)
        r = latchd_t(p)
        assert r.returncode != 0, "latchd -t accepted the example's " \
            "placeholder secret: %r" % (r,)
        assert "jwt_secret" in r.stderr and "latchctl init" in r.stderr, r
