"""
latchctl (init, migrate, create-user, reset-password, list-users,
disable/enable, usage errors) and latchd -t on good and bad configs.
"""

import grp
import hashlib
import os
import pwd
import re
import secrets
import shutil
import stat
import subprocess
import tempfile
import time

import lib
import webservers as ws
from lib import (decode_jwt, expect_error, expect_login, expect_token_revoked,
                 expect_token_works, fresh_database, login, login_ok,
                 new_email, new_password, refresh, register, uniq)


def ctl_ok(stack, *args, input=None):
    r = stack.latchctl(*args, input=input)
    assert r.returncode == 0, "latchctl %s: status %d\n%s%s" % (
        " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


def read_ini(path):
    import stack as stackmod
    return stackmod.ini_read(path)


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


# ------------------------------------------------------------------ init

def test_init_writes_a_private_config_with_a_fresh_secret(stack):
    paths = [os.path.join(stack.dir, "init-%d.ini" % i) for i in (1, 2)]
    for p in paths:
        r = stack.latchctl("init", p, "--from", stack.example,
                           "--set", "server.workers=7",
                           "--set", "security.issuer=latch-init-test",
                           config=False)
        assert r.returncode == 0, "init: %d %s%s" % (r.returncode,
                                                      r.stdout, r.stderr)
        mode = stat.S_IMODE(os.stat(p).st_mode)
        assert mode == 0o600, "%s has mode %o, not 600" % (p, mode)
    a, b = (read_ini(p) for p in paths)
    sa, sb = a["security"]["jwt_secret"], b["security"]["jwt_secret"]
    assert len(sa) >= 32 and len(sb) >= 32, "secrets too short"
    assert sa != sb, "two inits wrote the same jwt_secret"
    example = read_ini(stack.example)["security"]["jwt_secret"]
    assert example not in (sa, sb), "init kept the example's placeholder"
    assert a["server"]["workers"] == "7", a["server"]
    assert a["security"]["issuer"] == "latch-init-test", a["security"]
    # The secret is not printed.
    assert sa not in r.stdout + r.stderr and sb not in r.stdout + r.stderr
    # A fresh config loads: latchd -t finds no fault in the file (the
    # deployment it names, database and spool, is not this machine's).
    t = subprocess.run([stack.latchd_bin, "-t", "-c", paths[0]],
                       capture_output=True, text=True, timeout=60)
    assert not re.search(re.escape(paths[0]) + r":\d+:", t.stderr), t.stderr


def test_init_does_not_overwrite_a_config(stack):
    p = os.path.join(stack.dir, "init-keep.ini")
    write_private(p, "[security]\njwt_secret = %s\n" % ("k" * 40))
    before = open(p).read()
    r = stack.latchctl("init", p, "--from", stack.example, config=False)
    assert r.returncode == 1, "init over an existing file: %d %s%s" % (
        r.returncode, r.stdout, r.stderr)
    assert open(p).read() == before, "init overwrote an existing config"


def test_set_changes_keys_in_place(stack):
    """latchctl set: keys replaced where they are, comments kept, mode
    and owner kept; a bare key takes its value from stdin (a password
    stays out of the command line); nothing is printed of a value; a
    change that would not load, an unknown key and the signing keys are
    refused with the file untouched."""
    p = os.path.join(stack.dir, "set.ini")
    r = stack.latchctl("init", p, "--from", stack.example, config=False)
    assert r.returncode == 0, r
    before = open(p).read()
    secret = read_ini(p)["security"]["jwt_secret"]
    pw = "db pass;word=%s" % secrets.token_hex(4)
    r = stack.latchctl("-c", p, "set", "server.base_path=/~alice/auth/api",
                       "mail.from=Alice <alice@example.org>",
                       "limits.ip_exempt= 127.0.0.1 ", "database.password",
                       input=pw + "\n", config=False)
    assert r.returncode == 0, r
    assert pw not in r.stdout + r.stderr, r
    ini = read_ini(p)
    assert ini["server"]["base_path"] == "/~alice/auth/api", ini["server"]
    assert ini["mail"]["from"] == "Alice <alice@example.org>", ini["mail"]
    assert ini["limits"]["ip_exempt"] == " 127.0.0.1 ", ini["limits"]
    assert ini["database"]["password"] == pw, "password not set"
    assert ini["security"]["jwt_secret"] == secret
    after = open(p).read()
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    # Only those lines changed: every comment is still there.
    assert [line for line in before.splitlines() if line.startswith(";")] \
        == [line for line in after.splitlines() if line.startswith(";")]
    assert len(after.splitlines()) == len(before.splitlines())
    t = subprocess.run([stack.latchd_bin, "-t", "-c", p],
                       capture_output=True, text=True, timeout=60)
    assert "[server]" not in t.stderr and ":%d:" not in t.stderr, t
    for args, why in (
            (["server.workers=0"], "[server] workers: must be"),
            (["server.nope=1"], "[server] nope: unknown key"),
            (["nosuch.key=1"], "no such section"),
            (["security.jwt_secret=%s" % ("x" * 40)], "rotate-secret"),
            (["security.jwt_secret_previous="], "rotate-secret"),
            (["server.workers"], "no value"),
            (["server.workers=2", "server.workers=3"], "twice")):
        r = stack.latchctl("-c", p, "set", *args, input="", config=False)
        assert r.returncode != 0 and why in r.stderr, (args, r)
        assert open(p).read() == after, "a refused set changed %s" % p
        assert not [f for f in os.listdir(stack.dir)
                    if f.startswith("set.ini.")], "a temp file was left"


# --------------------------------------------------------------- migrate

def test_migrate_twice_is_idempotent(stack):
    tables = stack.mysql("SHOW TABLES")
    a = register()
    ctl_ok(stack, "migrate")
    ctl_ok(stack, "migrate")
    assert stack.mysql("SHOW TABLES") == tables, "migrate changed tables"
    # Nothing was lost.
    expect_login(login(a.username, a.password), 200, username=a.username)


def test_migrate_from_version_2_keeps_refresh_tokens(stack):
    """
    An upgrade over data: a database at schema version 2 (before
    session_refresh) whose session holds a refresh token of that time
    migrates to the latest, and the old token still refreshes, into a new
    one.
    """
    up = "latch_upgrade"
    with fresh_database(stack, up):
        a = register()
        sid = decode_jwt(a.access)["sid"]
        # Back to version 2, with the session's token where 2 kept it.
        t = secrets.token_urlsafe(32)
        now = int(time.time())
        stack.mysql("DROP TABLE session_refresh; "
                    "ALTER TABLE sessions DROP KEY ix_sessions_user, "
                    "ADD KEY ix_sessions_user (user_id, revoked_at, "
                    "expires_at); "
                    "DELETE FROM schema_version WHERE version >= 3; "
                    "INSERT INTO refresh_tokens (session_id, token_hash, "
                    "created_at, expires_at) VALUES (%d, UNHEX('%s'), %d, %d)"
                    % (sid, hashlib.sha256(t.encode()).hexdigest(), now,
                       now + 3600), db=up)
        r = ctl_ok(stack, "migrate")
        latest = max(int(f.split("_")[0]) for f in os.listdir(
            os.path.join(os.path.dirname(__file__), "..", "..", "sql"))
            if f[0].isdigit() and f.endswith(".sql"))
        assert "from version 2 to %d" % latest in r.stdout, r.stdout
        assert stack.mysql("SELECT MAX(version) FROM schema_version",
                           db=up) == [[str(latest)]]
        cols = stack.mysql("SELECT column_name FROM information_schema."
                           "statistics WHERE table_schema = '%s' AND "
                           "table_name = 'sessions' AND index_name = "
                           "'ix_sessions_user' ORDER BY seq_in_index" % up)
        assert cols == [["user_id"]], cols
        j = expect_login(refresh(t), 200, username=a.username)
        assert len(j["refresh_token"]) == 59
        expect_login(refresh(j["refresh_token"]), 200, username=a.username)
        expect_error(refresh(a.refresh), 401, "invalid_token")


# ----------------------------------------------------------- create-user

def test_create_user_then_login(stack):
    org, username, email = uniq("CLI Org "), uniq("cli"), new_email()
    pw = new_password()
    ctl_ok(stack, "create-user", "--org", org, "--username", username,
           "--email", email, "--name", "From CLI", "--role", "user",
           input=pw + "\n")
    j = expect_login(login(username, pw), 200, username=username,
                     role="user", organizationName=org, name="From CLI")
    assert j["user"]["email"].lower() == email.lower()
    # Into an existing organization: the user joins it.
    u2, pw2 = uniq("cli"), new_password()
    ctl_ok(stack, "create-user", "--org", org, "--username", u2,
           "--email", new_email(), input=pw2 + "\n")
    j2 = expect_login(login(u2, pw2), 200, username=u2,
                      organizationName=org)
    assert j2["user"]["organizationId"] == j["user"]["organizationId"]
    # A superadmin, too.
    u3, pw3 = uniq("cli"), new_password()
    ctl_ok(stack, "create-user", "--org", org, "--username", u3,
           "--email", new_email(), "--role", "superadmin", input=pw3 + "\n")
    expect_login(login(u3, pw3), 200, username=u3, role="superadmin")


def test_create_user_refusals(stack):
    a = register()
    pw = new_password()
    cases = [
        ("taken username", ["--username", a.username, "--email",
                            new_email()], pw),
        ("taken email", ["--username", uniq("cli"), "--email",
                         a.email.upper()], pw),
        ("bad username", ["--username", "a b", "--email", new_email()], pw),
        ("bad email", ["--username", uniq("cli"), "--email", "nope"], pw),
        ("weak password", ["--username", uniq("cli"), "--email",
                           new_email()], "short"),
        ("bad role", ["--username", uniq("cli"), "--email", new_email(),
                      "--role", "emperor"], pw),
    ]
    for what, args, password in cases:
        r = stack.latchctl("create-user", "--org", uniq("CLI Org "), *args,
                           input=password + "\n")
        assert r.returncode in (1, 2), "%s: status %d %s%s" % (
            what, r.returncode, r.stdout, r.stderr)
        assert password not in r.stdout + r.stderr or password == "short"
    expect_error(login(a.username, pw), 401, "invalid_credentials")


# -------------------------------------------------------- reset-password

def test_reset_password(stack):
    a = register()
    new = new_password()
    ctl_ok(stack, "reset-password", a.username, input=new + "\n")
    expect_login(login(a.username, new), 200, username=a.username)
    expect_error(login(a.username, a.password), 401, "invalid_credentials")
    # The sessions of the old password are ended.
    expect_token_revoked(a.access, what="a session from before the reset")
    expect_error(refresh(a.refresh), 401, "invalid_token")
    # By email too.
    newer = new_password()
    ctl_ok(stack, "reset-password", a.email.upper(), input=newer + "\n")
    expect_login(login(a.email, newer), 200, username=a.username)
    r = stack.latchctl("reset-password", a.username, input="short\n")
    assert r.returncode == 1, "weak password: %d %s%s" % (
        r.returncode, r.stdout, r.stderr)
    expect_login(login(a.email, newer), 200, username=a.username)


# ------------------------------------------------------------ list-users

def test_list_users(stack):
    a, b = register(), register()
    r = ctl_ok(stack, "list-users")
    for x in (a, b):
        assert x.username in r.stdout, "%s not listed:\n%s" % (x.username,
                                                                r.stdout)
    r = ctl_ok(stack, "list-users", "--org", a.org)
    assert a.username in r.stdout, r.stdout
    assert b.username not in r.stdout, "--org lists another org's user"
    out = r.stdout + r.stderr
    assert "$s1$" not in out and a.password not in out


# ------------------------------------------------ disable, enable, usage

def test_disable_and_enable(stack):
    """disable ends every session of the account and refuses sign-in;
    enable lets it sign in again, the ended sessions staying ended."""
    a = register()
    b = login_ok(a)
    other = register()
    r = ctl_ok(stack, "disable", a.username)
    assert "their sessions are revoked" in r.stdout, r.stdout
    expect_error(login(a.username, a.password), 403, "account_disabled")
    for s in (a, b):
        expect_token_revoked(s.access, what="a session of the disabled")
        expect_error(refresh(s.refresh), 401, "invalid_token")
    live = stack.mysql("SELECT COUNT(*) FROM sessions WHERE user_id = %d "
                       "AND revoked_at IS NULL" % a.id)[0][0]
    assert live == "0", "disable left %s live sessions" % live
    expect_token_works(other.access, "another account's session")
    ctl_ok(stack, "enable", a.email.upper())
    c = login_ok(a)
    expect_token_works(c.access, "a session after enable")
    for s in (a, b):
        expect_token_revoked(s.access, what="a session ended by disable")
        expect_error(refresh(s.refresh), 401, "invalid_token")


def test_unknown_user_is_an_error(stack):
    ghost = uniq("ghost")
    for cmd in ("disable", "enable"):
        r = stack.latchctl(cmd, ghost)
        assert r.returncode == 1, "%s %s: %d %s%s" % (
            cmd, ghost, r.returncode, r.stdout, r.stderr)
    r = stack.latchctl("reset-password", ghost, input=new_password() + "\n")
    assert r.returncode == 1, "reset-password ghost: %d" % r.returncode


def test_usage_errors_exit_2(stack):
    for args in ([], ["frobnicate"], ["create-user", "--org", "X"],
                 ["disable"], ["create-user", "--bogus"]):
        r = stack.latchctl(*args, input="")
        assert r.returncode == 2, "latchctl %s: status %d %s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)


# ------------------------------------------------------------- latchd -t

def test_latchd_check_names_file_line_and_key(stack):
    good = open(stack.config).read()
    lines = good.split("\n")
    sec = lines.index("[security]")
    # An unknown key, right after [security].
    bad = lines[:sec + 1] + ["bogus_key = 1"] + lines[sec + 1:]
    p = os.path.join(stack.dir, "bad-key.ini")
    write_private(p, "\n".join(bad))
    r = subprocess.run([stack.latchd_bin, "-t", "-c", p],
                       capture_output=True, text=True, timeout=60)
    want = "%s:%d: [security] bogus_key: " % (p, sec + 2)
    assert r.returncode == 1, "status %d: %s%s" % (r.returncode, r.stdout,
                                                   r.stderr)
    assert want in r.stdout + r.stderr, "no %r in: %s%s" % (
        want, r.stdout, r.stderr)
    # A short jwt_secret: named, its value not shown.
    value = "tooShort" + uniq("")[:8]
    n = [i for i, l in enumerate(lines) if l.startswith("jwt_secret")][0]
    bad = lines[:n] + ["jwt_secret = " + value] + lines[n + 1:]
    p = os.path.join(stack.dir, "short-secret.ini")
    write_private(p, "\n".join(bad))
    r = subprocess.run([stack.latchd_bin, "-t", "-c", p],
                       capture_output=True, text=True, timeout=60)
    want = "%s:%d: [security] jwt_secret: " % (p, n + 1)
    assert r.returncode == 1, "status %d: %s%s" % (r.returncode, r.stdout,
                                                   r.stderr)
    assert want in r.stdout + r.stderr, "no %r in: %s%s" % (
        want, r.stdout, r.stderr)
    assert value not in r.stdout + r.stderr, "the secret was printed"
    # And the real config passes.
    r = subprocess.run([stack.latchd_bin, "-t", "-c", stack.config],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "latchd -t on the live config: %d %s%s" % (
        r.returncode, r.stdout, r.stderr)


def test_latchd_refuses_a_world_readable_config(stack):
    p = os.path.join(stack.dir, "world.ini")
    write_private(p, open(stack.config).read())
    os.chmod(p, 0o644)
    r = subprocess.run([stack.latchd_bin, "-t", "-c", p],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, "status %d: %s%s" % (r.returncode, r.stdout,
                                                   r.stderr)
    assert p in r.stdout + r.stderr


def _check(stack, path, user=None):
    """latchd -t -c path (as user, if given): (status, output)."""
    ids = {} if user is None else {"user": user, "group": pwd.getpwnam(
        user).pw_gid, "extra_groups": []}
    r = subprocess.run([stack.latchd_bin, "-t", "-c", path],
                       capture_output=True, text=True, timeout=60, **ids)
    return r.returncode, r.stdout + r.stderr


def test_latchd_t_checks_the_deployment(stack):
    """latchd -t (and start-up) checks what a deployment gets wrong most,
    each problem on a line of its own that says what to do: a spool this
    user cannot write (or root's, which latch-mailer refuses), a missing
    or misshapen mail template (every one the code uses, the email-change
    ones too), a database it cannot reach, or one without this latch's
    schema ("run latchctl migrate")."""
    d = tempfile.mkdtemp(prefix="check-", dir=stack.dir)
    os.chmod(d, 0o755)
    n = [0]

    def variant(overrides, group=None):
        n[0] += 1
        return ws.derive_config(stack, os.path.join(d, "v%d.ini" % n[0]),
                                overrides, group=group)

    rc, out = _check(stack, stack.config)
    assert rc == 0 and out.strip().endswith(": ok"), out
    # The templates: none there, then one of each kind of fault.
    rc, out = _check(stack, variant({"mail.template_dir": d + "/none"}))
    assert rc == 1, out
    for name in ("invite", "reset", "email_confirm", "email_changed"):
        assert "%s/none/%s.txt: no such file" % (d, name) in out, out
    mail = os.path.join(os.path.dirname(stack.example), "mail")
    for name, text, why in (
            ("email_changed", None, "email_changed.txt: no such file"),
            ("email_confirm", "Hello\n\n{{link}}\n", "must be UTF-8 "
             "starting with \"Subject: ...\""),
            ("reset", "Subject: x\n\n{{nope}}\n",
             "unknown placeholder {{nope}}")):
        t = os.path.join(d, "tmpl-" + name)
        shutil.copytree(mail, t)
        if text is None:
            os.unlink(os.path.join(t, name + ".txt"))
        else:
            with open(os.path.join(t, name + ".txt"), "w") as f:
                f.write(text)
        rc, out = _check(stack, variant({"mail.template_dir": t}))
        assert rc == 1 and why in out and "1 problem" in out, (name, out)
    # The spool: one this user cannot write, as nobody (the config is
    # root's, readable by nobody's group, as a service user's would be).
    spool = os.path.join(d, "spool")
    os.mkdir(spool, 0o700)
    nogroup = grp.getgrnam("nogroup").gr_gid
    if os.geteuid() == 0:
        p = variant({"mail.spool_dir": spool, "mail.run_mailer": False},
                    group=nogroup)
        with ws.traversable(stack.dir):
            rc, out = _check(stack, p, user="nobody")
        assert rc == 1 and "%s (owner uid 0, mode 700) is not usable by " \
            "uid %d" % (spool, pwd.getpwnam("nobody").pw_uid) in out, out
        # Root's, with the mailer to run: latch-mailer would refuse it.
        rc, out = _check(stack, variant({"mail.spool_dir": spool,
                                         "mail.run_mailer": True}))
        assert rc == 1 and "belongs to root: latch-mailer never runs as " \
            "root" in out, out
    rc, out = _check(stack, variant({"mail.spool_dir": d + "/no/spool"}))
    assert rc == 1 and d + "/no/spool does not exist" in out, out
    # A spool yet to be made, in a directory that can take it: fine.
    rc, out = _check(stack, variant({"mail.spool_dir": d + "/new-spool"}))
    assert rc == 0, out
    # The database: unreachable, then without the schema, then behind.
    rc, out = _check(stack, variant({"database.socket": d + "/no.sock"}))
    assert rc == 1 and "cannot connect to %s/no.sock" % d in out, out
    db = stack.config_values()["database"]
    for name, keep, why in (
            ("latch_check_empty", None, "has no latch schema yet: run "
             "latchctl migrate"),
            ("latch_check_old", 2, "is at schema version 2, this latch "
             "needs")):
        stack.mysql("DROP DATABASE IF EXISTS `%s`" % name)
        stack.ensure_database(db["password"], name=name, user=db["user"])
        try:
            p = variant({"database.name": name})
            if keep is not None:
                r = stack.latchctl("migrate", config=p)
                assert r.returncode == 0, r
                stack.mysql("DELETE FROM schema_version WHERE version > %d"
                            % keep, db=name)
            rc, out = _check(stack, p)
            assert rc == 1 and why in out and "latchctl migrate" in out, \
                out
            r = stack.latchctl("migrate", config=p)
            assert r.returncode == 0, r
            rc, out = _check(stack, p)
            assert rc == 0, out
        finally:
            stack.mysql("DROP DATABASE IF EXISTS `%s`" % name)


def test_latchd_warns_at_start_and_serves(stack):
    """At start-up the same checks are warnings: latchd serves anyway
    (sign-in works without mail; the database may come up later)."""
    d = tempfile.mkdtemp(prefix="startcheck-", dir=stack.dir)
    procs = ws.Procs(d)
    try:
        sock = os.path.join(d, "latchd.sock")
        cfg = ws.derive_config(stack, os.path.join(d, "latch.ini"), {
            "server.listen": sock, "server.workers": 1,
            "mail.run_mailer": False, "mail.template_dir": d + "/none"})
        ws.start_latchd(procs, "latchd", cfg, sock)
        log = os.path.join(d, "latchd.log")
        lib.wait_for(lambda: "problem" in open(log).read(), 10,
                     "the start-up warning")
        text = open(log).read()
        assert "%s/none/invite.txt: no such file" % d in text, text
        assert "4 problems with %s (above); serving anyway" % cfg in text, \
            text
    finally:
        procs.stop()
