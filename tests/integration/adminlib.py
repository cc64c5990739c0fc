"""
adminlib.py: helpers shared by the administration scenarios
(test_50_admin_users, test_52_invitations, test_54_organizations,
test_56_reset, test_57_audit): the mail configuration they are written against, a
superadmin of their own, users made through the API, invitations, and the
spooled mail.

Not a scenario file (its name does not start with test_).
"""

import contextlib
import email
import email.policy
import email.utils
import os
import re
import signal
import threading
import time

import stack as stackmod

import lib
from lib import (Account, expect, expect_error, expect_login, expect_user,
                 http, login, new_email, new_password, uniq)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

INVITE_URL = "https://app.example.test/register"
RESET_URL = "https://app.example.test/reset"

INVITE_KEYS = {"id", "code", "email", "role", "expiresAt", "url"}
PREVIEW_KEYS = {"email", "role", "organizationName", "expiresAt"}
ORG_KEYS = {"id", "name", "description", "createdAt", "userCount",
            "requireMfa"}
EVENT_KEYS = {"id", "at", "event", "actorId", "apiKeyId", "targetId", "ip",
              "detail"}
EVENT_NAMES = {
    "login.success", "login.failure", "logout", "refresh.reuse",
    "password.change", "password.reset", "user.create", "user.update",
    "user.disable", "user.enable", "user.delete", "role.change",
    "org.create", "org.update", "org.delete", "invitation.create",
    "invitation.accept", "invitation.revoke", "email.change.request",
    "email.change", "password.upgrade", "user.import", "mfa.enable",
    "mfa.disable", "mfa.recovery_code", "mfa.recovery_codes", "mfa.reset",
    "mfa.failure",
    "user.move", "api_key.create", "api_key.revoke",
    "api_key.refused", "settings.change",
}
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{22,}$")
MISSING_ID = 987654321012

_state = {}

# Used only when the repository ships no templates (conf/mail) and the
# stack's template_dir has none either.
_FALLBACK_TEMPLATES = {
    "invite.txt": "Subject: Invitation to {{organization}}\n\n"
                  "{{inviter}} invited you to {{organization}} as "
                  "{{role}}.\n\nAccept: {{link}}\n\n"
                  "It expires {{expires}}.\n",
    "reset.txt": "Subject: Reset your password\n\n"
                 "Hello {{username}},\n\nReset it here: {{link}}\n\n"
                 "The link expires {{expires}}.\n",
}


def _has_templates(d):
    return bool(d) and all(os.path.isfile(os.path.join(d, f))
                           for f in ("invite.txt", "reset.txt"))


def ensure_env(stack):
    """
    Make sure the stack runs with the [mail] settings the scenarios are
    written against (invite_url, reset_url, a spool_dir and a template_dir
    with invite.txt and reset.txt); reload latchd only if something
    differs.  Idempotent and cheap after the first call.
    """
    if _state.get("env") is stack:
        return
    mail = stack.config_values().get("mail", {})
    tdir = os.path.join(REPO, "conf", "mail")
    if not _has_templates(tdir):
        tdir = mail.get("template_dir", "")
        if not _has_templates(tdir):
            tdir = os.path.join(stack.dir, "test-mail-templates")
            os.makedirs(tdir, exist_ok=True)
            for name, text in _FALLBACK_TEMPLATES.items():
                with open(os.path.join(tdir, name), "w") as f:
                    f.write(text)
            _state["fallback_templates"] = tdir
    want = {("mail", "invite_url"): INVITE_URL,
            ("mail", "reset_url"): RESET_URL,
            ("mail", "template_dir"): tdir}
    if not mail.get("spool_dir"):
        want[("mail", "spool_dir")] = stack.spool
    diff = {k: v for k, v in want.items() if mail.get(k[1]) != v}
    if diff:
        reload(stack, diff)
    _state["env"] = stack


def _workers(stack):
    """The latchd workers: children of the master except latch-mailer,
    which the master keeps across a reload."""
    pid = stack.latchd_pid
    if pid is None:
        return set()
    return {p for p in stackmod.children_of(pid)
            if "latch-mailer" not in stackmod._cmdline(p)}


def reload(stack, overrides):
    """
    Like stack.reload(): rewrite keys of the config, SIGHUP latchd and
    wait until every worker was replaced; but it ignores the latch-mailer
    child, which the master does not replace on a reload.
    overrides: {(section, key): value} or {"section.key": value}.
    """
    stack.set_config(overrides)
    pid = stack.latchd_pid
    assert pid is not None, "latchd is not running"
    old = _workers(stack)
    want = stack.configured_workers()
    os.kill(pid, signal.SIGHUP)

    def renewed():
        now = _workers(stack)
        return len(now) >= want and not (now & old)
    lib.wait_for(renewed, 30, "latchd to replace its workers after SIGHUP")


# Config values to restore when the config does not spell them out.
LIMIT_DEFAULTS = {
    "limits.ip_budget": "60", "limits.ip_exempt": "",
    "limits.login_max_failures": "5", "limits.login_window": "900",
    "limits.login_max_delay": "900", "server.trusted_proxies": "",
    "mail.min_interval": "900",
}


@contextlib.contextmanager
def limits(stack, **kw):
    """Reload with kw ({"section.key": value} spelled section__key) and
    restore the previous values afterwards."""
    want = {k.replace("__", "."): v for k, v in kw.items()}
    cur = stack.config_values()
    old = {}
    for k in want:
        sec, key = k.split(".")
        old[k] = cur.get(sec, {}).get(key, LIMIT_DEFAULTS.get(k))
        assert old[k] is not None, "no value of %s to restore" % k
    stack.reload(want)
    try:
        yield
    finally:
        stack.reload(old)


def retry_after(r):
    """The Retry-After of a 429, a positive integer."""
    v = r.header("Retry-After")
    assert v is not None and v.isdigit() and int(v) >= 1, \
        "429 without a positive Retry-After: " + r.describe()
    return int(v)


# ------------------------------------------------------------ accounts

def org_of(acct):
    return acct.user["organizationId"]


def make_superadmin(stack, org=None):
    """A new superadmin (latchctl create-user), signed in."""
    ensure_env(stack)
    org = org or uniq("SA Org ")
    username, mail_, pw = uniq("sa"), new_email(), new_password()
    r = stack.latchctl("create-user", "--org", org, "--username", username,
                       "--email", mail_, "--role", "superadmin",
                       input=pw + "\n")
    assert r.returncode == 0, "latchctl create-user --role superadmin: " \
        "%d %s%s" % (r.returncode, r.stdout, r.stderr)
    j = expect_login(login(username, pw), 200, username=username,
                     role="superadmin", organizationName=org)
    return Account(username, mail_, pw, org, j)


def superadmin(stack):
    """The scenarios' shared superadmin, with a fresh access token."""
    ensure_env(stack)
    sa = _state.get("super")
    if sa is None:
        sa = make_superadmin(stack)
        _state["super"] = sa
        _state["super_at"] = time.monotonic()
    elif time.monotonic() - _state["super_at"] > 300:
        j = expect_login(login(sa.username, sa.password), 200,
                         username=sa.username, role="superadmin")
        sa.update(j)
        _state["super_at"] = time.monotonic()
    return sa


def sa_token(stack):
    return superadmin(stack).access


def new_admin(stack):
    """A fresh organization (POST /auth/register) and its admin."""
    ensure_env(stack)
    return lib.register()


def add_user(token, role=None, name=None, query="", org_body=None,
             expect_role=None):
    """POST /users (as token) and sign the new user in; an Account."""
    username, mail_, pw = uniq(), new_email(), new_password()
    body = {"username": username, "email": mail_, "password": pw}
    if role is not None:
        body["role"] = role
    if name is not None:
        body["name"] = name
    if org_body is not None:
        body["organizationId"] = org_body
    j = expect(http("POST", "/users" + query, body, token=token), 201)
    want_role = expect_role or role or "user"
    expect_user(j.get("user"), "created user", username=username,
                role=want_role, disabled=False, name=name or "")
    assert j["user"]["email"] == mail_, j
    lj = expect_login(login(username, pw), 200, username=username,
                      role=want_role)
    return Account(username, mail_, pw, j["user"]["organizationName"], lj)


def relogin(acct):
    j = expect_login(login(acct.username, acct.password), 200,
                     username=acct.username)
    return acct.update(j)


def get_user(token, uid, query=""):
    return http("GET", "/users/%d%s" % (uid, query), token=token)


def user_row(stack, uid):
    """(org_id, role, disabled, name, email) from the database, or None."""
    rows = stack.mysql("SELECT org_id, role, disabled, name, email FROM "
                       "users WHERE id = %d" % uid)
    return tuple(rows[0]) if rows else None


def active_admins(stack, org):
    return int(stack.mysql(
        "SELECT COUNT(*) FROM users WHERE org_id = %d AND role IN "
        "('admin', 'superadmin') AND disabled = 0" % org)[0][0])


# --------------------------------------------------------- invitations

def invite(token, mail_=None, role=None, send=False, query="",
           org_body=None, status=201):
    """POST /invitations; returns the invitation object of the 201."""
    body = {"email": mail_ or new_email(), "send_email": send}
    if role is not None:
        body["role"] = role
    if org_body is not None:
        body["organizationId"] = org_body
    j = expect(http("POST", "/invitations" + query, body, token=token),
               status)
    inv = j.get("invitation")
    check_invitation(inv, body["email"], role or "user")
    return inv


def check_invitation(inv, mail_, role):
    assert isinstance(inv, dict), "no invitation object: %r" % (inv,)
    missing = INVITE_KEYS - set(inv)
    assert not missing, "invitation lacks %s: %r" % (sorted(missing), inv)
    assert isinstance(inv["id"], int) and inv["id"] > 0, inv
    assert isinstance(inv["code"], str) and CODE_RE.match(inv["code"]), \
        "code is not >= 22 base64url characters: %r" % (inv["code"],)
    lib.expect_eq(inv["email"], mail_, "invitation.email")
    lib.expect_eq(inv["role"], role, "invitation.role")
    lib.expect_timestamp(inv["expiresAt"], "invitation.expiresAt")
    lib.expect_eq(inv["url"], INVITE_URL + "?code=" + inv["code"],
                  "invitation.url")


def preview(code):
    return http("GET", "/auth/invitation?code=" + code)


def register_with(code, username=None, password=None, name=None):
    """POST /auth/register with an invitation code; (Resp, username,
    password)."""
    username = username or uniq("inv")
    password = password or new_password()
    body = {"invitation_code": code, "username": username,
            "password": password}
    if name is not None:
        body["name"] = name
    return http("POST", "/auth/register", body), username, password


def register_ok(code, mail_, org_name, role, name=None):
    r, username, pw = register_with(code, name=name)
    j = expect_login(r, 201, username=username, role=role,
                     organizationName=org_name, name=name or "",
                     disabled=False)
    lib.expect_eq(j["user"]["email"], mail_, "registered user's email")
    return Account(username, mail_, pw, org_name, j)


def expire_invitation(stack, inv_id):
    stack.mysql("UPDATE invitations SET expires_at = UNIX_TIMESTAMP() - 5 "
                "WHERE id = %d" % inv_id)


# ---------------------------------------------------------------- mail

def spool_new(stack):
    d = stack.config_values().get("mail", {}).get("spool_dir") or \
        stack.spool
    return os.path.join(d, "new")


def read_mails(stack):
    """Every message in spool new/: [{path, msg, to, subject, body}]."""
    d = spool_new(stack)
    out = []
    try:
        names = sorted(os.listdir(d))
    except FileNotFoundError:
        return out
    for n in names:
        p = os.path.join(d, n)
        try:
            with open(p, "rb") as f:
                data = f.read()
        except OSError:
            continue
        msg = email.message_from_bytes(data, policy=email.policy.default)
        try:
            body = msg.get_content()
        except Exception:
            body = (msg.get_payload(decode=True) or b"").decode(
                "utf-8", "replace")
        out.append({"path": p, "msg": msg, "to": str(msg["To"] or ""),
                    "subject": str(msg["Subject"] or ""), "body": body,
                    "raw": data})
    return out


def mails_to(stack, addr):
    a = addr.lower()
    return [m for m in read_mails(stack)
            if a in [x[1].lower() for x in
                     email.utils.getaddresses([m["to"]])]]


def one_mail_to(stack, addr, what="mail"):
    ms = mails_to(stack, addr)
    assert len(ms) == 1, "expected exactly one %s to %s in %s, found %d: " \
        "%r" % (what, addr, spool_new(stack), len(ms),
                [m["subject"] for m in ms])
    m = ms[0]
    for h in ("From", "To", "Subject", "Date", "Message-ID"):
        assert m["msg"][h], "%s without %s header:\n%s" % (
            what, h, m["raw"][:1500])
    return m


def link_param(body, base, param):
    """The value of ?param= in the link base?param=VALUE in body."""
    found = re.findall(re.escape(base) + r"\?" + re.escape(param) +
                       r"=([A-Za-z0-9_\-]+)", body)
    assert found, "no link %s?%s=... in the mail body:\n%s" % (
        base, param, body)
    assert len(set(found)) == 1, "several different links: %r" % found
    return found[0]


def invite_code_from_mail(stack, addr):
    m = one_mail_to(stack, addr, "invitation mail")
    return link_param(m["body"], INVITE_URL, "code"), m


# What a worker logs once it has done the work of a POST
# /auth/password/forgot, which comes after the answer.
FORGOT_DONE = "auth: password forgot: done"


def _log_count(stack, needle):
    with open(stack.latchd_log, errors="replace") as f:
        return f.read().count(needle)


def forgot(stack, addr, headers=None):
    """POST /auth/password/forgot; after a 202, wait until the worker has
    done the work it defers past the answer, so that what it queued (or
    did not) can be looked at."""
    before = _log_count(stack, FORGOT_DONE)
    r = http("POST", "/auth/password/forgot", {"email": addr},
             headers=headers)
    if r.status == 202:
        lib.wait_for(lambda: _log_count(stack, FORGOT_DONE) > before, 30,
                     "the worker to finish the reset request")
    return r


def reset(token, password):
    """POST /auth/password/reset."""
    return http("POST", "/auth/password/reset",
                {"token": token, "password": password})


def reset_token_from_mail(stack, addr):
    m = one_mail_to(stack, addr, "reset mail")
    return link_param(m["body"], RESET_URL, "token"), m


# ---------------------------------------------------------------- misc

def same_404(r, missing):
    """r is 404 not_found exactly like the answer for a missing id."""
    expect_error(r, 404, "not_found")
    assert r.json == missing.json, "another organization's resource is " \
        "answered differently from a missing one:\n  %s\n  %s" % (
            r.describe(), missing.describe())


def run_at_once(calls):
    """Run the callables in threads released together; their results
    (or the exception raised) in order."""
    n = len(calls)
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        try:
            barrier.wait(30)
            out[i] = calls[i]()
        except BaseException as e:  # reported to the caller
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    for i, v in enumerate(out):
        if isinstance(v, BaseException):
            raise AssertionError("thread %d failed: %r" % (i, v))
    return out


def events(token, query=""):
    j = expect(http("GET", "/audit" + query, token=token), 200)
    ev = j.get("events")
    assert isinstance(ev, list), "no events list: %r" % j
    for e in ev:
        assert set(e) == EVENT_KEYS, "audit event keys: %r" % e
        assert isinstance(e["id"], int) and e["id"] > 0, e
        lib.expect_timestamp(e["at"], "event.at")
        assert e["event"] in EVENT_NAMES, "unknown event name %r" % e
        for k in ("actorId", "apiKeyId", "targetId"):
            assert e[k] is None or (isinstance(e[k], int) and e[k] > 0), e
        assert isinstance(e["ip"], str) and isinstance(e["detail"], str), e
    return j
