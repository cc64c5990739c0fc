"""
latchctl import (README "Importing users"): accounts from DUMB's
users.json and from latch's JSON Lines format, with password hashes made
by independent implementations (python3-bcrypt, htpasswd -B,
python3-argon2, openssl passwd).  Each imported user signs in with the
original password and the stored hash is latch's scrypt afterwards, with
a password.upgrade event; wrong passwords fail and count toward the
throttle; disabled users stay disabled; a second import changes nothing;
malformed rows, unknown kinds and costs out of bounds are reported and
skipped; an import that fails part-way stores whole batches only and
runs again to finish; nothing of a hash is ever printed or logged.
"""

import json
import os
import subprocess

import argon2
import bcrypt

from adminlib import limits
from lib import (expect, expect_error, expect_login, login, new_email,
                 new_password, refresh, refusing, register, sql_str, uniq)

# Cheap costs: the tests check kinds, not strength.
BCRYPT_COST = 4


def bcrypt_hash(pw, prefix=b"2b", cost=BCRYPT_COST):
    return bcrypt.hashpw(pw.encode(), bcrypt.gensalt(cost, prefix)).decode()


def htpasswd_hash(pw):
    """$2y$, from Apache's htpasswd (the password on stdin)."""
    r = subprocess.run(["htpasswd", "-niB", "-C", str(BCRYPT_COST), "u"],
                       input=pw + "\n", capture_output=True, text=True,
                       check=True)
    h = r.stdout.strip().split(":", 1)[1]
    assert h.startswith("$2y$"), h[:4]
    return h


def argon2_hash(pw, kind=argon2.Type.ID, m=1024, t=1, p=1):
    return argon2.PasswordHasher(time_cost=t, memory_cost=m, parallelism=p,
                                 type=kind).hash(pw)


def sha512crypt_hash(pw):
    r = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=pw,
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def write(stack, name, text):
    path = os.path.join(stack.dir, "%s-%s" % (uniq("imp"), name))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def jsonl(rows):
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n"
                   for r in rows)


def run_import(stack, *args, input=None):
    return stack.latchctl("import", *args, input=input)


def stored(stack, username):
    """(hash, disabled, role, email, name, created_at, org name) or None."""
    rows = stack.mysql(
        "SELECT u.password_hash, u.disabled, u.role, u.email, u.name, "
        "u.created_at, o.name FROM users u JOIN organizations o ON "
        "o.id = u.org_id WHERE u.username = " + sql_str(username))
    return tuple(rows[0]) if rows else None


def user_events(stack, username, event):
    """(actor_id, target_id, detail) of event about username."""
    return [tuple(r) for r in stack.mysql(
        "SELECT a.actor_id, a.target_id, a.detail FROM audit_events a "
        "JOIN users u ON u.id = a.target_id WHERE a.event = %s AND "
        "u.username = %s ORDER BY a.id" % (sql_str(event),
                                          sql_str(username)))]


def users_snapshot(stack, usernames):
    return stack.mysql(
        "SELECT username, email, name, role, disabled, password_hash, "
        "created_at, updated_at, org_id FROM users WHERE username IN (%s) "
        "ORDER BY username" % ", ".join(sql_str(u) for u in usernames))


def assert_no_secret(text, secrets_, what):
    """None of secrets_ (hashes, their salts and digests) is in text."""
    for s in secrets_:
        parts = [s] + [p for p in s.split("$") if len(p) >= 12]
        for p in parts:
            assert p not in text, "%s holds part of a hash or secret: " \
                "%r" % (what, p[:8] + "...")


def expect_scrypt(stack, username):
    h = stored(stack, username)[0]
    assert h.startswith("$s1$0a0801$"), \
        "%s: not latch's scrypt (N=1024, r=8, p=1) after sign-in: %r" % (
            username, h[:8])
    return h


def line_of(out, n, unit="line"):
    """The report line of record n."""
    pre = "%s %d" % (unit, n)
    got = [ln for ln in out.splitlines()
           if ln.startswith(pre + ":") or ln.startswith(pre + " (")]
    assert len(got) == 1, "no single report line for %s in:\n%s" % (pre,
                                                                     out)
    return got[0]


def logs_text(stack):
    text = ""
    for path in stack.logs.values():
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                text += f.read()
    return text


# ------------------------------------------------------------------ DUMB

def dumb_file(users, secret, version=2, auth_enabled=True, extra=None):
    doc = {"version": version, "jwt_secret": secret,
           "auth_enabled": auth_enabled, "setup_skipped": False,
           "users": users}
    doc.update(extra or {})
    return json.dumps(doc, indent=2)


def test_dumb_users_sign_in_with_their_passwords(stack):
    org = uniq("DUMB ")
    names = [uniq("dadmin"), uniq("dbob"), uniq("dcarol")]
    pws = [new_password() for _ in names]
    hashes = [bcrypt_hash(pws[0], b"2b"), htpasswd_hash(pws[1]),
              bcrypt_hash(pws[2], b"2a")]
    secret = "dumb-secret-" + uniq("s")
    users = [{"username": n, "hashed_password": h, "disabled": i == 2}
             for i, (n, h) in enumerate(zip(names, hashes))]
    path = write(stack, "users.json", dumb_file(users, secret,
                                                auth_enabled=False))
    r = run_import(stack, "--format", "dumb", "--org", org,
                   "--email-domain", "dumb.example", path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, "import: %d\n%s" % (r.returncode, out)
    assert "3 created" in out and "version 2, 3 users" in out, out
    assert "auth_enabled false" in out, out
    for i, n in enumerate(names):
        assert "created" in line_of(r.stdout, i + 1, "user"), out
    assert_no_secret(out, hashes + [secret], "latchctl's output")

    # The first user is the organization's admin, the others users; the
    # disabled one stays disabled; emails are username@domain.
    want = [("admin", "0"), ("user", "0"), ("user", "1")]
    for n, h, (role, dis) in zip(names, hashes, want):
        got = stored(stack, n)
        assert got is not None, "%s was not imported" % n
        assert got[0] == h and got[1] == dis and got[2] == role, \
            (n, got[1:3], dis, role)
        assert got[3] == n + "@dumb.example" and got[6] == org, got[3:]
        assert user_events(stack, n, "user.import")[0][0] is None
        assert user_events(stack, n, "user.import")[0][2] == \
            "dumb, bcrypt", user_events(stack, n, "user.import")
    # DUMB's jwt_secret is copied nowhere.
    dump = stack.mysql("SELECT CONCAT_WS(' ', k, v) FROM meta")
    assert secret not in repr(dump), "DUMB's jwt_secret is in latch's meta"
    assert secret not in open(stack.config).read()

    # They sign in with their old passwords; the hash becomes scrypt.
    for n, pw, h in zip(names[:2], pws[:2], hashes[:2]):
        j = expect_login(login(n, pw), 200, username=n,
                         organizationName=org)
        assert j["user"]["role"] in ("admin", "user")
        expect_scrypt(stack, n)
        ev = user_events(stack, n, "password.upgrade")
        assert len(ev) == 1 and ev[0][2] == "bcrypt", ev
        # The new hash verifies: a refresh and a second sign-in work.
        expect(refresh(j["refresh_token"]), 200)
        expect_login(login(n, pw), 200, username=n)
        assert len(user_events(stack, n, "password.upgrade")) == 1
    expect_error(login(names[2], pws[2]), 403, "account_disabled")
    assert stored(stack, names[2])[0] == hashes[2], \
        "a disabled account's hash was upgraded"

    # A second import changes nothing: the upgraded hashes stay.
    before = users_snapshot(stack, names)
    r = run_import(stack, "--format", "dumb", "--org", org,
                   "--email-domain", "dumb.example", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 created, 0 updated, 0 unchanged, 3 existed, 0 refused" in \
        r.stdout, r.stdout
    assert users_snapshot(stack, names) == before, "a second import " \
        "changed the accounts"
    for n in names:
        assert len(user_events(stack, n, "user.import")) == 1
    assert_no_secret(logs_text(stack), hashes + [secret], "the logs")


def test_dumb_role_flag_and_strict_file_checks(stack):
    org = uniq("DUMB ")
    n = uniq("drole")
    h = bcrypt_hash("x" * 12)
    ok = dumb_file([{"username": n, "hashed_password": h}], "s")
    r = run_import(stack, "--format", "dumb", "--org", org, "--email-domain",
                   "d.example", "--role", "user", write(stack, "u.json", ok))
    assert r.returncode == 0, r.stdout + r.stderr
    assert stored(stack, n)[2] == "user", "--role user not applied"

    bad = {
        "version 1": dumb_file([], "s", version=1),
        "no users": json.dumps({"version": 2}),
        "unknown member": dumb_file([], "s", extra={"admins": []}),
        "not json": "{\"version\": 2, \"users\": [",
        "a key twice": '{"version": 2, "version": 2, "users": []}',
        "users not an array": json.dumps({"version": 2, "users": {}}),
    }
    for what, text in bad.items():
        m = uniq("dnever")
        if what == "version 1":
            text = dumb_file([{"username": m, "hashed_password": h}], "s",
                             version=1)
        r = run_import(stack, "--format", "dumb", "--org", org,
                       "--email-domain", "d.example",
                       write(stack, "bad.json", text))
        assert r.returncode == 1 and "latchctl: import:" in r.stderr, \
            "%s: %d %s%s" % (what, r.returncode, r.stdout, r.stderr)
        assert stored(stack, m) is None, what
    # Usage errors: DUMB needs an organization and an email domain.
    for args in (["--format", "dumb", "--org", org, "f"],
                 ["--format", "dumb", "--email-domain", "d.example", "f"],
                 ["--format", "jsonl", "--org", org, "f"],
                 ["--format", "csv", "f"]):
        r = run_import(stack, *args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
    r = run_import(stack, "--format", "dumb", "--org", org,
                   "--email-domain", "not a domain", "f")
    assert r.returncode == 2, r.stderr


# ----------------------------------------------------------- JSON Lines

def test_jsonl_accounts_of_every_kind_sign_in(stack):
    existing = register()
    org_new = uniq("Imported ")
    pw = {k: new_password() for k in
          ("argon2id", "argon2i", "rust", "bcrypt", "sha512", "scrypt")}
    donor = register(password=pw["scrypt"])
    donor_hash = stored(stack, donor.username)[0]
    rows = [
        ("argon2id", argon2_hash(pw["argon2id"]), org_new, "argon2id"),
        ("argon2i", argon2_hash(pw["argon2i"], argon2.Type.I, m=512, t=2),
         org_new, "argon2i"),
        # The Rust argon2 crate's defaults (m=19456, t=2, p=1).
        ("rust", argon2_hash(pw["rust"], m=19456, t=2), existing.org,
         "argon2id"),
        ("bcrypt", bcrypt_hash(pw["bcrypt"], cost=11), existing.org,
         "bcrypt"),
        ("sha512", sha512crypt_hash(pw["sha512"]), org_new, "sha512-crypt"),
        ("scrypt", donor_hash, org_new, "scrypt"),
    ]
    users = {k: uniq("j" + k) for k, _, _, _ in rows}
    recs = []
    for i, (k, h, org, _) in enumerate(rows):
        rec = {"organization": org, "username": users[k],
               "email": new_email(), "password_hash": h}
        if i == 0:
            rec.update(name="Ada Import", role="admin", disabled=False,
                       created_at=1500000000)
        if i == 1:
            rec.update(created_at="2019-06-01T12:30:00Z")
        recs.append(rec)
    path = write(stack, "users.jsonl", jsonl(recs))
    r = run_import(stack, "--format", "jsonl", path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "6 created" in out, out
    assert_no_secret(out, [h for _, h, _, _ in rows], "latchctl's output")

    a = stored(stack, users["argon2id"])
    assert a[2] == "admin" and a[4] == "Ada Import" and \
        a[5] == "1500000000" and a[6] == org_new, a[1:]
    assert stored(stack, users["argon2i"])[5] == "1559392200"
    assert stored(stack, users["rust"])[6] == existing.org
    assert stack.mysql("SELECT COUNT(*) FROM organizations WHERE name = "
                       + sql_str(org_new)) == [["1"]]
    ev = stack.mysql("SELECT actor_id, detail FROM audit_events a JOIN "
                     "organizations o ON o.id = a.target_id WHERE "
                     "a.event = 'org.create' AND o.name = "
                     + sql_str(org_new))
    assert ev == [[None, org_new]], ev

    for k, h, _, kind in rows:
        n = users[k]
        assert user_events(stack, n, "user.import")[0][2] == \
            "jsonl, " + kind
        # The hash itself is no password.
        expect_error(login(n, h), 401, "invalid_credentials")
        assert stored(stack, n)[0] == h
        expect_login(login(n, pw[k]), 200, username=n)
        expect_scrypt(stack, n)
        ev = user_events(stack, n, "password.upgrade")
        if kind == "scrypt":
            # Already latch's, at the configured cost: nothing to do.
            assert stored(stack, n)[0] == h and ev == [], ev
        else:
            assert len(ev) == 1 and ev[0][2] == kind, ev
            assert ev[0][0] == ev[0][1], "upgrade not by the user: %r" % ev


def test_wrong_passwords_fail_and_count_toward_the_throttle(stack):
    n, pw = uniq("jthr"), new_password()
    h = bcrypt_hash(pw)
    r = run_import(stack, "--format", "jsonl", write(stack, "t.jsonl", jsonl(
        [{"organization": uniq("Thr "), "username": n, "email": new_email(),
          "password_hash": h}])))
    assert r.returncode == 0, r.stdout + r.stderr
    with limits(stack, limits__login_max_failures=3,
                limits__login_window=600, limits__login_max_delay=600):
        for i in range(3):
            expect_error(login(n, "wrong-" + pw), 401, "invalid_credentials")
        # Locked now: even the right password is refused, unhashed.
        expect_error(login(n, pw), 429, "too_many_attempts")
    assert stored(stack, n)[0] == h, "a refused sign-in changed the hash"
    assert user_events(stack, n, "password.upgrade") == []
    assert len(user_events(stack, n, "login.failure")) == 3


def test_refused_rows_are_reported_and_skipped(stack):
    org = uniq("Refused ")
    good = uniq("jgood")
    pw = new_password()
    gh = bcrypt_hash(pw)
    secret_hashes = [
        gh,
        "$2b$16$" + gh[7:],                               # cost 16
        argon2_hash("p", m=1024).replace("m=1024", "m=1048576"),
        argon2_hash("p", argon2.Type.D),                  # argon2d
        "$1$saltsalt$abcdefghijklmnopqrstuv",             # md5-crypt
        "5f4dcc3b5aa765d61d8327deb882cf99",               # bare MD5
    ]

    def rec(**kw):
        d = {"organization": org, "username": uniq("jbad"),
             "email": new_email(), "password_hash": gh}
        d.update(kw)
        return d
    bad = [
        ('{"organization": "x", "username": ', "not one strict JSON"),
        (rec(password_hash=secret_hashes[1]), "bcrypt cost outside 4..15"),
        (rec(password_hash=secret_hashes[2]), "argon2 costs outside"),
        (rec(password_hash=secret_hashes[3]), "unknown hash kind"),
        (rec(password_hash=secret_hashes[4]), "unknown hash kind"),
        (rec(password_hash=secret_hashes[5]), "unknown hash kind"),
        (rec(password_hash="correct horse"), "unknown hash kind"),
        (rec(role="root"), "role"),
        (rec(email="not-an-address"), "email"),
        (rec(username="a b"), "username"),
        (rec(disabled="no"), "disabled"),
        (rec(created_at="yesterday"), "created_at"),
        (rec(created_at="2019-02-30T00:00:00Z"), "created_at"),
        (rec(created_at=-1), "created_at"),
        (rec(extra=1), "unknown member extra"),
        (rec(**{gh: 1}), "unknown member (not shown)"),
        (rec(name={"first": "x"}), "not one strict JSON"),
        ('{"organization": "%s", "organization": "%s", "username": "%s", '
         '"email": "%s", "password_hash": "%s"}' % (
             org, org, uniq("jdup"), new_email(), gh), "not one strict"),
        ({"organization": org, "username": uniq("jbad"),
          "email": new_email()}, "missing member password_hash"),
        ("[1, 2]", "not one strict JSON"),
        ("\xff\xfe", "not one strict JSON"),
    ]
    lines = [b if isinstance(b, str) else json.dumps(b) for b, _ in bad]
    lines.insert(3, json.dumps({"organization": org, "username": good,
                                "email": new_email(), "password_hash": gh}))
    lines.insert(4, "")       # a blank line is passed over
    path = write(stack, "bad.jsonl", "\n".join(lines) + "\n")
    r = run_import(stack, "--format", "jsonl", path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, "refused rows must fail the run: %d\n%s" % (
        r.returncode, out)
    assert "1 created" in out and "%d refused" % len(bad) in out, out
    at = 0
    for i, text in enumerate(lines):
        if text == "":
            continue
        ln = line_of(r.stdout, i + 1)
        if i == 3:
            assert "created" in ln, ln
            continue
        want = bad[at][1]
        at += 1
        assert ": refused: " in ln and want in ln, \
            "line %d: %r does not say %r" % (i + 1, ln, want)
    assert stored(stack, good)[0] == gh
    for b, _ in bad:
        if isinstance(b, dict):
            assert stored(stack, b["username"]) is None, b["username"]
    assert_no_secret(out, secret_hashes, "latchctl's output")
    expect_login(login(good, pw), 200, username=good)
    assert_no_secret(logs_text(stack), secret_hashes, "the logs")


def test_dry_run_stores_nothing(stack):
    org = uniq("Dry ")
    names = [uniq("jdry") for _ in range(3)]
    recs = [{"organization": org, "username": n, "email": new_email(),
             "password_hash": bcrypt_hash("pw-" + n)} for n in names]
    path = write(stack, "dry.jsonl", jsonl(recs))
    r = run_import(stack, "--format", "jsonl", "--dry-run", "--batch", "2",
                   path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 created" in r.stdout and "dry run: nothing was stored" in \
        r.stdout, r.stdout
    for n in names:
        assert stored(stack, n) is None, "a dry run stored %s" % n
    assert stack.mysql("SELECT COUNT(*) FROM organizations WHERE name = "
                       + sql_str(org)) == [["0"]]
    # From stdin, for real.
    r = run_import(stack, "--format", "jsonl", "-", input=jsonl(recs))
    assert r.returncode == 0 and "3 created" in r.stdout, r.stdout + r.stderr
    for n in names:
        assert stored(stack, n) is not None


def test_update_brings_accounts_in_line_but_keeps_latchs_hash(stack):
    org = uniq("Upd ")
    a, b = uniq("jupa"), uniq("jupb")
    pa, pb, pb2 = new_password(), new_password(), new_password()
    ea, eb = new_email(), new_email()
    recs = [{"organization": org, "username": a, "email": ea,
             "password_hash": bcrypt_hash(pa)},
            {"organization": org, "username": b, "email": eb,
             "password_hash": bcrypt_hash(pb)}]
    r = run_import(stack, "--format", "jsonl",
                   write(stack, "u1.jsonl", jsonl(recs)))
    assert r.returncode == 0, r.stdout + r.stderr
    j = expect_login(login(a, pa), 200, username=a)    # a: upgraded
    ha = expect_scrypt(stack, a)

    # The source changed both: new names, a disabled, b's password.
    nb = bcrypt_hash(pb2)
    recs[0].update(name="Alice", disabled=True)
    recs[1].update(name="Bob", password_hash=nb)
    path = write(stack, "u2.jsonl", jsonl(recs))
    r = run_import(stack, "--format", "jsonl", path)
    assert "2 existed" in r.stdout, r.stdout          # without --update
    assert stored(stack, a)[4] == "" and stored(stack, b)[0] != nb
    r = run_import(stack, "--format", "jsonl", "--update", path)
    assert r.returncode == 0 and "2 updated" in r.stdout, r.stdout + r.stderr
    sa, sb = stored(stack, a), stored(stack, b)
    assert sa[4] == "Alice" and sa[1] == "1" and sa[0] == ha, \
        "after signing in, latch's hash must stay: %r" % (sa[:2],)
    assert sb[4] == "Bob" and sb[0] == nb, sb[4]
    # a is disabled: its session ended; b signs in with the new password.
    expect_error(refresh(j["refresh_token"]), 401, "invalid_token")
    expect_error(login(a, pa), 403, "account_disabled")
    expect_error(login(b, pb), 401, "invalid_credentials")
    expect_login(login(b, pb2), 200, username=b)
    upd = user_events(stack, a, "user.update")
    assert upd and upd[-1][0] is None and upd[-1][2] == \
        "import: name disabled", upd
    # The same file again: nothing to change.
    snap = users_snapshot(stack, [a, b])
    r = run_import(stack, "--format", "jsonl", "--update", path)
    assert "0 updated" in r.stdout and "2 unchanged" in r.stdout, r.stdout
    assert users_snapshot(stack, [a, b]) == snap


def test_conflicts_with_other_accounts_are_refused(stack):
    other = register()
    n = uniq("jconf")
    recs = [
        # other's username, in another organization
        {"organization": uniq("Conf "), "username": other.username,
         "email": new_email(), "password_hash": bcrypt_hash("x" * 10)},
        # a new username with other's email (in another case)
        {"organization": other.org, "username": n,
         "email": other.email.upper(), "password_hash": bcrypt_hash("y")},
    ]
    r = run_import(stack, "--format", "jsonl", "--update",
                   write(stack, "c.jsonl", jsonl(recs)))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "another organization" in line_of(r.stdout, 1), r.stdout
    assert "the email is that of account" in line_of(r.stdout, 2), r.stdout
    assert stored(stack, n) is None
    expect_login(login(other.username, other.password), 200)


def test_an_import_that_fails_stores_whole_batches_and_runs_again(stack):
    """Batches of 2; the database refuses the 5th account: accounts 1-4
    (two batches) are stored with their events, 5 and 6 (the batch that
    failed) are not, and nothing after is tried; the same import run
    again stores the rest and leaves the others alone."""
    org = uniq("Fail ")
    names = [uniq("jf%d" % i) for i in range(1, 8)]
    recs = [{"organization": org, "username": n, "email": new_email(),
             "password_hash": bcrypt_hash("pw")} for n in names]
    path = write(stack, "f.jsonl", jsonl(recs))
    with refusing(stack, "users", "INSERT",
                  "NEW.username = %s" % sql_str(names[5])):
        r = run_import(stack, "--format", "jsonl", "--batch", "2", path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "stopped at line 6" in r.stderr and "lines 5 to 6 were not " \
        "stored" in r.stderr, out
    for n in names[:4]:
        assert stored(stack, n) is not None, "%s lost\n%s" % (n, out)
        assert len(user_events(stack, n, "user.import")) == 1
    for n in names[4:]:
        assert stored(stack, n) is None, "%s stored\n%s" % (n, out)
    assert stack.mysql("SELECT COUNT(*) FROM audit_events a LEFT JOIN "
                       "users u ON u.id = a.target_id WHERE a.event = "
                       "'user.import' AND u.id IS NULL") == [["0"]], \
        "an import event without its account"
    r = run_import(stack, "--format", "jsonl", "--batch", "2", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 created, 0 updated, 0 unchanged, 4 existed" in r.stdout, \
        r.stdout
    for n in names:
        assert len(user_events(stack, n, "user.import")) == 1


def test_the_upgrade_is_part_of_the_sign_in_transaction(stack):
    """When the password.upgrade event cannot be written, the sign-in
    fails whole (503): no session, the old hash kept; the next sign-in
    upgrades it."""
    n, pw = uniq("jtx"), new_password()
    h = argon2_hash(pw)
    r = run_import(stack, "--format", "jsonl", write(stack, "tx.jsonl", jsonl(
        [{"organization": uniq("Tx "), "username": n, "email": new_email(),
          "password_hash": h}])))
    assert r.returncode == 0, r.stdout + r.stderr
    with refusing(stack, "audit_events", "INSERT",
                  "NEW.event = 'password.upgrade'"):
        expect_error(login(n, pw), 503, "service_unavailable")
    assert stored(stack, n)[0] == h, "the hash changed without its sign-in"
    assert stack.mysql("SELECT COUNT(*) FROM sessions s JOIN users u ON "
                       "u.id = s.user_id WHERE u.username = "
                       + sql_str(n)) == [["0"]]
    expect_login(login(n, pw), 200, username=n)
    expect_scrypt(stack, n)
