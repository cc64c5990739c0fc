"""
Secrets: a config readable by others is refused unless
[security] allow_world_readable_config says otherwise; the JWT secret and
the database/SMTP passwords never show in a log or a response; and
"latchctl rotate-secret" rotates the signing key with a "kid" so that
tokens of the previous key stay valid until they expire.
"""

import os
import shutil
import stat
import subprocess

import jwt

import lib
from lib import (expect, expect_error, expect_login, http, jwt_parts, login,
                 new_password, profile, refresh, register, verify)
from stack import ini_read, ini_set

WORLD_READABLE = "readable by others (chmod 600"


def _latchd_t(stack, path):
    return subprocess.run([stack.latchd_bin, "-t", "-c", path],
                          capture_output=True, text=True, timeout=60,
                          cwd=stack.repo)


def test_world_readable_config_refused(stack):
    path = os.path.join(stack.tmp, "world-readable.ini")
    shutil.copyfile(stack.config, path)
    try:
        os.chmod(path, 0o600)
        r = _latchd_t(stack, path)
        assert r.returncode == 0, "latchd -t on a 0600 copy: %r" % (r,)
        os.chmod(path, 0o644)
        r = _latchd_t(stack, path)
        assert r.returncode != 0, "latchd -t accepted a 0644 config"
        assert WORLD_READABLE in r.stderr, r.stderr
        assert "allow_world_readable_config = true" in r.stderr, r.stderr
        assert stack.jwt_secret not in r.stdout + r.stderr
        ini_set(path, {("security", "allow_world_readable_config"): "true"})
        os.chmod(path, 0o644)
        r = _latchd_t(stack, path)
        assert r.returncode == 0, \
            "latchd -t refused a 0644 config with the override: %r" % (r,)
    finally:
        os.unlink(path)


def _programs_refuse(stack, path, want):
    """latchd -t, latchctl and latch-mailer each refuse the config at
    path with one line that holds want, and no secret."""
    bdir = os.path.dirname(stack.latchd_bin)
    for argv in ([stack.latchd_bin, "-t", "-c", path],
                 [stack.latchctl_bin, "-c", path, "list-users"],
                 [os.path.join(bdir, "latch-mailer"), "-c", path,
                  "--once"]):
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=60, cwd=stack.repo)
        name = os.path.basename(argv[0])
        assert r.returncode != 0, "%s accepted it: %r" % (name, r)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and want in lines[0], \
            "%s: %r" % (name, r.stderr)
        assert stack.jwt_secret not in r.stdout + r.stderr


def test_config_others_may_write_refused(stack):
    """A config its group or others may write is refused by every
    program, even with allow_world_readable_config = true; and, run as
    root, one that belongs to another user (here nobody)."""
    path = os.path.join(stack.tmp, "writable.ini")
    shutil.copyfile(stack.config, path)
    ini_set(path, {("security", "allow_world_readable_config"): "true",
                   ("mail", "spool_dir"): os.path.join(stack.tmp,
                                                       "no-spool")})
    try:
        for mode in (0o660, 0o620, 0o622, 0o666):
            os.chmod(path, mode)
            _programs_refuse(stack, path, "%s: writable by its group or "
                             "others (chmod go-w %s)" % (path, path))
        os.chmod(path, 0o600)
        r = _latchd_t(stack, path)
        assert r.returncode == 0, "latchd -t on a 0600 copy: %r" % (r,)
        if os.geteuid() != 0:
            print("# skip: a config of another owner needs root to make",
                  flush=True)
            return
        os.chown(path, 65534, 65534)
        _programs_refuse(stack, path, "%s: owned by uid 65534, neither "
                         "root nor the user running this (uid 0); chown "
                         "it" % path)
    finally:
        os.unlink(path)


def _secrets(stack):
    cfg = ini_read(stack.config)
    out = {"[security] jwt_secret": cfg["security"]["jwt_secret"]}
    for sec, key in (("security", "jwt_secret_previous"),
                     ("database", "password"), ("mail", "smtp_password")):
        v = cfg.get(sec, {}).get(key, "")
        if len(v) >= 4:
            out["[%s] %s" % (sec, key)] = v
    return out


def _scan(what, text, secrets):
    for name, v in secrets.items():
        assert v not in text, "%s shows %s" % (what, name)


def test_secrets_never_logged_or_answered(stack):
    secrets = _secrets(stack)
    bodies = []

    def keep(r):
        bodies.append(("%s -> %d" % (r.req, r.status), r.body))
        return r
    a = register()
    r = keep(login(a.username, a.password))
    j = expect_login(r, 200, username=a.username)
    keep(login(a.username, "wrong-" + new_password()))
    keep(login("nobody-" + a.username, a.password))
    keep(profile(j["access_token"]))
    keep(verify(j["access_token"]))
    keep(verify("not.a.token"))
    keep(refresh(j["refresh_token"]))
    keep(http("GET", "/health"))
    keep(http("GET", "/no/such/thing"))
    keep(http("POST", "/auth/login", raw="{bad json"))
    for what, body in bodies:
        _scan("the answer to " + what, body.decode("utf-8", "replace"),
              secrets)
    logs = dict(stack.logs)
    for p in os.listdir(stack.dir):
        if p.endswith(".log") and "mail" in p:
            logs[p] = os.path.join(stack.dir, p)
    for name, p in logs.items():
        if name == "mariadbd" or not os.path.exists(p):
            continue
        with open(p, "rb") as f:
            _scan(p, f.read().decode("utf-8", "replace"), secrets)


def _rotate(stack):
    r = stack.latchctl("rotate-secret")
    assert r.returncode == 0, "latchctl rotate-secret: %r" % (r,)
    out = r.stdout + r.stderr
    assert "kill -HUP" in out, out
    assert "access_ttl" in out, out
    st = os.stat(stack.config)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    return out


def _kid(stack, token):
    return jwt_parts(token)[0].get("kid")


def test_rotate_secret_keeps_previous_tokens(stack):
    orig = ini_read(stack.config)["security"]
    s0 = orig["jwt_secret"]
    a = register()
    token0 = a.access
    try:
        h0 = jwt_parts(token0)[0]
        assert h0.get("alg") == "HS256" and h0.get("typ") == "JWT", h0
        kid0 = h0.get("kid")
        assert isinstance(kid0, str) and len(kid0) == 11, h0

        out = _rotate(stack)
        cfg = ini_read(stack.config)["security"]
        s1 = cfg["jwt_secret"]
        assert cfg.get("jwt_secret_previous") == s0, \
            "jwt_secret_previous is not the old jwt_secret"
        assert len(s1) >= 32 and s1 != s0
        assert s0 not in out and s1 not in out, \
            "latchctl rotate-secret printed a secret"
        stack.sighup(wait=True)

        expect(profile(token0), 200)
        j = expect_login(login(a.username, a.password), 200,
                         username=a.username)
        token1 = j["access_token"]
        kid1 = _kid(stack, token1)
        assert kid1 and kid1 != kid0, (kid0, kid1)
        claims = jwt.decode(token1, s1, algorithms=["HS256"],
                            issuer=lib.ISSUER)
        assert claims["username"] == a.username
        try:
            jwt.decode(token1, s0, algorithms=["HS256"], issuer=lib.ISSUER)
            raise AssertionError("the new token validates with the old key")
        except jwt.InvalidSignatureError:
            pass
        # A token of the old key without kid is not accepted after rotation.
        c0 = jwt.decode(token0, s0, algorithms=["HS256"], issuer=lib.ISSUER)
        forged = jwt.encode(c0, s0, algorithm="HS256")
        expect_error(profile(forged), 401, "invalid_token")

        _rotate(stack)
        stack.sighup(wait=True)
        expect_error(profile(token0), 401, "invalid_token")
        expect(profile(token1), 200)
    finally:
        ini_set(stack.config, {("security", "jwt_secret"): s0,
                               ("security", "jwt_secret_previous"): ""})
        os.chmod(stack.config, 0o600)
        stack.sighup(wait=True)
    expect(profile(token0), 200)
