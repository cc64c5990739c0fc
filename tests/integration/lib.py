"""
lib.py: what the integration scenarios share.

http() talks to the real lighttpd of the Stack the runner started (use()
binds it) and checks every response against the contract's conventions:
JSON with "Content-Type: application/json; charset=utf-8", "Cache-Control:
no-store", the success/error envelope, WWW-Authenticate on 401, Allow on
405, and no secret, hash, SQL error or password that we sent anywhere in
the body.  VERBOSE=1 prints every request and response.

The helpers raise AssertionError with the request and the answer in the
message, so a failing scenario says what it saw.
"""

import base64
import contextlib
import hashlib
import hmac
import http.client as httpclient
import itertools
import json
import os
import re
import secrets
import time

import jwt  # python3-jwt (PyJWT 2.6)

import openapi

STACK = None
SECRET = None   # [security] jwt_secret of the stack's config
DBPW = None     # [database] password
VERBOSE = os.environ.get("VERBOSE", "") not in ("", "0")

# Every password handed out by new_password(): none may ever come back.
PASSWORDS = set()

USER_KEYS = {"id", "username", "email", "name", "role", "disabled",
             "organizationId", "organizationName", "createdAt",
             "lastLoginAt"}
LOGIN_KEYS = {"success", "message", "token", "access_token", "refresh_token",
              "token_type", "expires_in", "refresh_expires_in", "user"}
# A browser session's answer: the tokens travel only as HttpOnly cookies.
COOKIE_LOGIN_KEYS = LOGIN_KEYS - {"token", "access_token", "refresh_token",
                                  "token_type"}
SESSION_KEYS = {"id", "createdAt", "lastUsedAt", "expiresAt", "userAgent",
                "ip", "current"}

ACCESS_TTL = 900
REFRESH_TTL = 86400
REMEMBER_TTL = 2592000
ISSUER = "latch"

RFC3339_UTC = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")
ERROR_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Long base64url runs (tokens, ids, jti) may hold "SQL" by chance: the
# substring checks skip them.
TOKENISH = re.compile(r"[A-Za-z0-9_\-.]{16,}")


def use(stack):
    """Bind the helpers to the running stack."""
    global STACK, SECRET, DBPW
    STACK = stack
    SECRET = stack.jwt_secret
    DBPW = stack.db_password


def log(*a):
    if VERBOSE:
        print(*a, flush=True)


# ------------------------------------------------------------------- HTTP

class Resp:
    """
    One answer: .status, .headers (case-insensitive .get()), .json (the
    parsed body), .body (bytes), .req (what was sent, for messages).
    Unpacks as (status, headers, json).
    """

    def __init__(self, status, reason, headers, body, req):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.req = req
        self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    def header(self, name):
        return self.headers.get(name)

    def __getitem__(self, k):
        return self.json[k]

    def get(self, k, default=None):
        return self.json.get(k, default)

    def describe(self):
        body = self.body.decode("utf-8", "replace")
        if len(body) > 1500:
            body = body[:1500] + "...(%d bytes)" % len(self.body)
        return "%s -> %d %s %s" % (self.req, self.status, self.reason, body)


def _short(b, n=400):
    if b is None:
        return ""
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
    return s if len(s) <= n else s[:n] + "...(%d bytes)" % len(s)


def http(method, path, body=None, headers=None, raw=None, token=None,
         content_type="application/json", check=True, base=True,
         stack=None):
    """
    Send one request to lighttpd and return a Resp.
      path      API path ("/auth/login"), base path added unless base=False
      body      a dict/list, sent as JSON
      raw       bytes or str sent as they are (instead of body)
      token     adds "Authorization: Bearer <token>"
      content_type  for a body; None sends no Content-Type
      check     apply the contract checks to the answer (default),
                JSON among them
      stack     another stack than lib.use()'s (a cluster's other host)
    """
    st = stack or STACK
    if st is None:
        raise RuntimeError("lib.use(stack) was not called")
    hdrs = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
    if raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if data is not None and content_type is not None:
        hdrs["Content-Type"] = content_type
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    hdrs.update(headers or {})
    target = st.path(path) if base else path
    req = "%s %s" % (method, target)
    if data is not None:
        req += " " + _short(data, 200)
    log(">", method, target)
    for k, v in hdrs.items():
        log(">  %s: %s" % (k, v))
    if data is not None:
        log(">  " + _short(data, 2000))
    conn = httpclient.HTTPConnection("127.0.0.1", st.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if data is not None or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(data or b"")))
        conn.endheaders(data)
        r = conn.getresponse()
        rbody = r.read()
        resp = Resp(r.status, r.reason, r.headers, rbody, req)
        resp.method = method
        resp.path = path if base else None
    finally:
        conn.close()
    log("<", resp.status, resp.reason)
    for k, v in resp.headers.items():
        log("<  %s: %s" % (k, v))
    log("<  " + _short(rbody, 4000))
    try:
        resp.json = json.loads(rbody.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        # (GET /metrics is text: its scenarios pass check=False.)
        if check:
            raise AssertionError("answer is not JSON: " + resp.describe())
        resp.json = None
    if check:
        check_response(resp)
    if base:
        # Every answer of latch, checked or not, against docs/openapi.json.
        openapi.check(method, path, resp.status, resp.json,
                      resp.describe())
    return resp


# The public documents, answered outside the envelope with a
# Cache-Control that lets clients keep them (docs/api.md, "Documents").
DOCUMENTS = {"/.well-known/jwks.json", "/.well-known/openid-configuration",
             "/openapi.json"}


def check_response(r):
    """The conventions every answer must follow."""
    ct = (r.headers.get("Content-Type") or "").replace(" ", "").lower()
    assert ct == "application/json;charset=utf-8", \
        "Content-Type %r: %s" % (r.headers.get("Content-Type"), r.describe())
    if r.status == 200 and getattr(r, "path", None) in DOCUMENTS:
        cc = r.headers.get("Cache-Control") or ""
        assert cc == "public, max-age=300", "Cache-Control %r: %s" % (
            cc, r.describe())
        assert isinstance(r.json, dict), r.describe()
        text = r.body.decode("utf-8", "replace")
        assert SECRET and SECRET not in text, "the jwt_secret in an answer"
        assert "PRIVATE" not in text and '"d"' not in text, \
            "a private key in: " + r.describe()
        return
    cc = [c.strip().lower()
          for c in (r.headers.get("Cache-Control") or "").split(",")]
    assert "no-store" in cc, "Cache-Control %r: %s" % (
        r.headers.get("Cache-Control"), r.describe())
    j = r.json
    assert isinstance(j, dict), "answer is not an object: " + r.describe()
    assert isinstance(j.get("success"), bool), \
        "no boolean success: " + r.describe()
    assert j["success"] == (r.status < 400), \
        "success %s with status %d: %s" % (j["success"], r.status,
                                           r.describe())
    assert isinstance(j.get("message"), str) and j["message"], \
        "no message: " + r.describe()
    if not j["success"]:
        assert isinstance(j.get("error"), str) and \
            ERROR_CODE.match(j["error"]), \
            "no lower_snake_case error code: " + r.describe()
    if r.status == 401:
        wa = r.headers.get("WWW-Authenticate") or ""
        assert wa.split(" ")[0].lower() == "bearer", \
            "401 without WWW-Authenticate: Bearer: " + r.describe()
    if r.status == 405:
        assert r.headers.get("Allow"), "405 without Allow: " + r.describe()
    text = r.body.decode("utf-8", "replace")
    assert "$s1$" not in text, "a password hash in: " + r.describe()
    stripped = TOKENISH.sub(" ", text)
    for bad in ("SQL", "mysql", "MariaDB", "mariadb", "MySQL"):
        assert bad not in stripped, "%r in: %s" % (bad, r.describe())
    assert SECRET and SECRET not in text, "the jwt_secret in an answer"
    assert not DBPW or DBPW not in text, "the database password in " \
        "an answer"
    for pw in PASSWORDS:
        assert len(pw) < 6 or pw not in text, \
            "a password in: " + r.describe()


# ------------------------------------------------------------- assertions

def expect(r, status, msg=""):
    """Assert the status; returns the parsed body."""
    assert r.status == status, "expected %d%s, got %s" % (
        status, " (%s)" % msg if msg else "", r.describe())
    return r.json


def expect_error(r, status, code, field=None, msg=""):
    """Assert a failure answer: status, error code and (for invalid_field)
    the field it names."""
    j = expect(r, status, msg)
    assert j.get("error") == code, "expected error %r%s, got %s" % (
        code, " (%s)" % msg if msg else "", r.describe())
    if field is not None:
        assert j.get("field") == field, "expected field %r%s, got %s" % (
            field, " (%s)" % msg if msg else "", r.describe())
    return j


def expect_eq(got, want, what):
    assert got == want, "%s: expected %r, got %r" % (what, want, got)


def expect_timestamp(v, what, nullable=False):
    if nullable and v is None:
        return
    assert isinstance(v, str) and RFC3339_UTC.match(v), \
        "%s: not an RFC 3339 UTC timestamp: %r" % (what, v)


def expect_user(u, what="user", **want):
    """A user object with exactly the contract's keys, typed; want holds
    expected values."""
    assert isinstance(u, dict), "%s is not an object: %r" % (what, u)
    assert set(u) == USER_KEYS, "%s keys: missing %s, extra %s" % (
        what, sorted(USER_KEYS - set(u)), sorted(set(u) - USER_KEYS))
    assert isinstance(u["id"], int) and not isinstance(u["id"], bool) \
        and u["id"] > 0, "%s.id: %r" % (what, u["id"])
    assert isinstance(u["organizationId"], int) and \
        u["organizationId"] > 0, "%s.organizationId: %r" % (
            what, u["organizationId"])
    for k in ("username", "email", "name", "role", "organizationName"):
        assert isinstance(u[k], str), "%s.%s: %r" % (what, k, u[k])
    assert u["role"] in ("superadmin", "admin", "user"), \
        "%s.role: %r" % (what, u["role"])
    assert isinstance(u["disabled"], bool), "%s.disabled: %r" % (
        what, u["disabled"])
    expect_timestamp(u["createdAt"], what + ".createdAt")
    expect_timestamp(u["lastLoginAt"], what + ".lastLoginAt", nullable=True)
    for k, v in want.items():
        assert u[k] == v, "%s.%s: expected %r, got %r" % (what, k, v, u[k])
    return u


def expect_login(r, status=200, remember=False, cookie=False, **want_user):
    """A login-shaped success answer; returns its body.  With cookie (a
    browser session) the body holds no token: they are only in the
    HttpOnly cookies."""
    j = expect(r, status)
    keys = COOKIE_LOGIN_KEYS if cookie else LOGIN_KEYS
    assert set(j) == keys, "login body keys: missing %s, extra %s" \
        " in %s" % (sorted(keys - set(j)), sorted(set(j) - keys),
                    r.describe())
    if not cookie:
        assert isinstance(j["access_token"], str) and \
            j["access_token"].count(".") == 2, "access_token: " + \
            r.describe()
        expect_eq(j["token"], j["access_token"], "token == access_token")
        assert isinstance(j["refresh_token"], str) and \
            re.match(r"^[A-Za-z0-9_-]{43,}$", j["refresh_token"]), \
            "refresh_token is not >= 256 bits of base64url: %r" % (
                j["refresh_token"],)
        assert j["refresh_token"] != j["access_token"]
        expect_eq(j["token_type"], "Bearer", "token_type")
    expect_eq(j["expires_in"], ACCESS_TTL, "expires_in")
    expect_eq(j["refresh_expires_in"],
              REMEMBER_TTL if remember else REFRESH_TTL,
              "refresh_expires_in")
    expect_user(j["user"], **want_user)
    return j


# ----------------------------------------------------------- identities

_seq = itertools.count(1)
RUN = secrets.token_hex(2)


def uniq(prefix="u"):
    """A fresh name usable as a username (A-Za-z0-9._-, <= 64)."""
    return "%s%s%03d%s" % (prefix, RUN, next(_seq), secrets.token_hex(2))


def new_email(local=None):
    return "%s@example.org" % (local or uniq("m"))


def new_password(length=None):
    """A fresh password, remembered so no answer may contain it."""
    if length is None:
        p = "Pw-%s-x!" % secrets.token_hex(6)
    else:
        p = ("Pw" + secrets.token_hex(length))[:length]
    PASSWORDS.add(p)
    return p


class Account:
    """Someone who registered: credentials and the last tokens issued."""

    def __init__(self, username, email, password, org, body):
        self.username = username
        self.email = email
        self.password = password
        self.org = org
        self.update(body)

    def update(self, body):
        self.body = body
        self.access = body["access_token"]
        self.refresh = body["refresh_token"]
        self.user = body["user"]
        self.id = body["user"]["id"]
        return self

    def __repr__(self):
        return "<Account %s>" % self.username


def register(org=None, username=None, email=None, password=None, name=None,
             role="admin"):
    """POST /auth/register a new organization; expects 201."""
    org = org or uniq("Org ")
    username = username or uniq()
    email = email or new_email()
    password = password or new_password()
    body = {"organization": org, "username": username, "email": email,
            "password": password}
    if name is not None:
        body["name"] = name
    r = http("POST", "/auth/register", body)
    j = expect_login(r, 201, username=username, role=role,
                     organizationName=org)
    return Account(username, email, password, org, j)


def login(identifier, password, remember_me=None, headers=None):
    body = {"identifier": identifier, "password": password}
    if remember_me is not None:
        body["remember_me"] = remember_me
    return http("POST", "/auth/login", body, headers=headers)


def login_ok(acct, identifier=None, remember_me=None, headers=None):
    """Sign acct in again (a new session); returns a new Account view."""
    r = login(identifier or acct.username, acct.password, remember_me,
              headers)
    j = expect_login(r, 200, remember=bool(remember_me),
                     username=acct.username)
    return Account(acct.username, acct.email, acct.password, acct.org, j)


def otp_session(acct):
    """acct enrols TOTP (python3-pyotp computes the codes) and signs in
    again with both factors: the JSON answer of POST /auth/mfa, whose
    tokens carry amr ["pwd","otp"]."""
    import pyotp
    secret = expect(http("POST", "/user/mfa/totp", {}, token=acct.access),
                    201)["secret"]
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.2)
    expect(http("POST", "/user/mfa/totp/confirm",
                {"code": pyotp.TOTP(secret).now()}, token=acct.access), 200)
    j = expect(login(acct.username, acct.password), 200)
    # The next step's code: the confirmation used this one.
    return expect(http("POST", "/auth/mfa", {
        "mfa_token": j["mfa_token"],
        "code": pyotp.TOTP(secret).at(int(time.time()) + 30)}), 200)


def plain_user(stack, org, prefix="pu"):
    """A role "user" account of org made with latchctl create-user,
    signed in: (access token, user object)."""
    username, password = uniq(prefix), new_password()
    r = stack.latchctl("create-user", "--org", org, "--username", username,
                       "--email", new_email(), "--role", "user",
                       input=password + "\n")
    assert r.returncode == 0, "latchctl create-user: %d %s%s" % (
        r.returncode, r.stdout, r.stderr)
    j = expect_login(login(username, password), 200, username=username,
                     role="user")
    return j["access_token"], j["user"]


def refresh(token):
    return http("POST", "/auth/refresh", {"refresh_token": token})


def verify(token=None, bearer=None):
    body = {} if token is None else {"token": token}
    return http("POST", "/auth/verify", body, token=bearer)


def profile(token):
    return http("GET", "/user/profile", token=token)


def expect_token_works(token, what="access token"):
    r = profile(token)
    assert r.status == 200, "%s should work: %s" % (what, r.describe())
    r = verify(token)
    assert r.status == 200 and r.json.get("valid") is True, \
        "%s should verify: %s" % (what, r.describe())


def expect_token_revoked(token, code="session_revoked", what="access token"):
    expect_error(profile(token), 401, code, msg=what + " at /user/profile")
    r = verify(token)
    expect_error(r, 401, code, msg=what + " at /auth/verify")
    assert r.json.get("valid") is False, "valid is not false: " + \
        r.describe()


# ------------------------------------------------------------------- JWT

def b64url(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def decode_jwt(token, **kw):
    """Validate a token with PyJWT and the configured secret."""
    return jwt.decode(token, SECRET, algorithms=["HS256"],
                      issuer=ISSUER,
                      options={"require": ["exp", "iat", "iss", "sub"]},
                      **kw)


def sign_jwt(claims, key=None, alg="HS256", header=None):
    """Sign claims with PyJWT (key defaults to the configured secret)."""
    return jwt.encode(claims, key if key is not None else
                      SECRET, algorithm=alg,
                      headers=header)


def kid_of(secret):
    """The kid latch names a key by: base64url of the first 8 bytes of
    SHA-256 of the secret."""
    return b64url(hashlib.sha256(secret.encode("utf-8")).digest()[:8])


def with_kid(token, kid, key=None):
    """The claims of a (valid) token signed again with HS256 and key
    (default: the configured secret) under a header naming kid."""
    return sign_jwt(decode_jwt(token), key=key, header={"kid": kid})


def raw_jwt(header, claims, key=None, alg="HS256"):
    """Build a compact JWS by hand (any header, e.g. alg none)."""
    si = b64url(json.dumps(header, separators=(",", ":"))) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")))
    if key is None:
        return si + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
              "HS512": hashlib.sha512}[alg]
    sig = hmac.new(key.encode() if isinstance(key, str) else key,
                   si.encode("ascii"), digest).digest()
    return si + "." + b64url(sig)


# ------------------------------------------------------------------ misc

def wait_for(cond, timeout, what, interval=0.1):
    """Poll cond() until true (returned) for at most timeout seconds; a
    bound on waiting, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("gave up after %ss waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def sha256_hex(s):
    return hashlib.sha256(s.encode("ascii")).hexdigest().upper()


def db_dump():
    """Every row of every table of the latch database, as one string
    (binary columns hex-encoded), for "is this secret stored?" checks."""
    out = []
    tables = [r[0] for r in STACK.mysql("SHOW TABLES")]
    for t in tables:
        cols = STACK.mysql(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '%s' "
            "ORDER BY ORDINAL_POSITION" % t)
        exprs = []
        for name, typ in cols:
            exprs.append("`%s`" % name)
            if typ in ("binary", "varbinary", "blob", "tinyblob",
                       "mediumblob", "longblob"):
                exprs.append("HEX(`%s`)" % name)
        for row in STACK.mysql("SELECT %s FROM `%s`" % (", ".join(exprs),
                                                        t)):
            out.append(t + "\t" + "\t".join("" if c is None else c
                                            for c in row))
    return "\n".join(out)


def sql_str(s):
    """A string literal for STACK.mysql() (test data only)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


@contextlib.contextmanager
def refusing(stack, table, event, cond):
    """
    For the with block, MariaDB refuses every `event` (INSERT, UPDATE or
    DELETE) of a row of `table` for which the SQL condition `cond` (over
    NEW and OLD) holds, with an error (SQLSTATE 45000) to the statement:
    one statement of latch's that fails, at a moment the scenario
    chooses, on the real database.  A trigger, dropped at the end.
    """
    db = stack.config_values()["database"].get("name", "latch")
    name = "latch_test_refuse_%s" % secrets.token_hex(4)
    stack._mariadb([], db=db, input=(
        "DELIMITER //\nCREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW "
        "IF %s THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = "
        "'refused by the test'; END IF //\n" % (name, event, table, cond)))
    try:
        yield
    finally:
        stack.mysql("DROP TRIGGER IF EXISTS %s" % name, db=db)


@contextlib.contextmanager
def fresh_database(stack, name):
    """
    Point latchd at a new, migrated database `name` for the with block,
    then back at the stack's own and drop `name`.
    """
    db = stack.config_values()["database"]
    old = db.get("name", "latch")
    stack.mysql("DROP DATABASE IF EXISTS `%s`" % name)
    stack.ensure_database(db["password"], name=name,
                          user=db.get("user", "latch"))
    try:
        stack.set_config({"database.name": name})
        r = stack.latchctl("migrate")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        stack.reload({"database.name": name})
        yield
    finally:
        stack.reload({"database.name": old})
        stack.mysql("DROP DATABASE IF EXISTS `%s`" % name)
