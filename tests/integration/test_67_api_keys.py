"""
API keys (docs/api.md, "API keys"): an admin makes a key for a service,
which then acts on the organization's admin routes as the key's role,
verifies users' tokens and passes the authorizer, without anyone's
password; GET lists keys without their secret; DELETE revokes at once;
another organization's key is 404; no key above its creator's role nor
superadmin; never as a cookie nor at /auth/refresh; stored only as
SHA-256; keys end with their creator (disabled, demoted, deleted); every
create, revoke and refused use is audited; latchctl makes, lists and
revokes them.  The authorizer through lighttpd and Apache: test_87.
"""

import re
import time

import fcgiclient
import pyotp
import lib
from adminlib import (add_user, events, new_admin, org_of, sa_token,
                      superadmin)
from lib import expect, expect_error, http, login_ok, new_email, uniq

KEY_RE = re.compile(r"^latch_[A-Za-z0-9_-]{54}$")
KEY_KEYS = {"id", "name", "role", "organizationId", "createdBy",
            "createdByUsername", "createdAt", "expiresAt", "lastUsedAt"}


def make_key(token, name=None, role=None, query="", status=201, **extra):
    body = {"name": name or uniq("svc ")}
    if role is not None:
        body["role"] = role
    body.update(extra)
    r = http("POST", "/api-keys" + query, body, token=token)
    j = expect(r, status)
    if status != 201:
        return j
    k = j["api_key"]
    assert set(k) == KEY_KEYS | {"key"}, "key object: %r" % k
    assert KEY_RE.match(k["key"]), "the key's shape: %r" % k["key"]
    assert k["name"] == body["name"] and k["role"] == (role or "user"), k
    lib.expect_timestamp(k["createdAt"], "createdAt")
    assert k["lastUsedAt"] is None, k
    return k


def list_keys(token, query=""):
    j = expect(http("GET", "/api-keys" + query, token=token), 200)
    for k in j["api_keys"]:
        assert set(k) == KEY_KEYS, "a listed key shows %r" % sorted(k)
    return j["api_keys"]


def test_create_list_use_revoke(stack):
    a = new_admin(stack)
    k = make_key(a.access, role="admin")
    assert k["organizationId"] == org_of(a) and k["createdBy"] == a.id and \
        k["createdByUsername"] == a.username and k["expiresAt"] is None, k
    ks = list_keys(a.access)
    assert [x["id"] for x in ks] == [k["id"]], ks
    assert k["key"] not in http("GET", "/api-keys", token=a.access).body \
        .decode(), "GET /api-keys shows the secret"

    # Stored only as its SHA-256.
    dump = lib.db_dump()
    assert k["key"] not in dump and k["key"][6:] not in dump, \
        "the key is stored in clear"
    assert lib.sha256_hex(k["key"]) in dump, "no SHA-256 of the key"

    # The service works with it: the organization's users, as admin.
    r = http("GET", "/users", token=k["key"])
    j = expect(r, 200, "GET /users with an admin key")
    assert a.id in [u["id"] for u in j["users"]], j
    lu = list_keys(a.access)[0]["lastUsedAt"]
    lib.expect_timestamp(lu, "lastUsedAt after a use")

    # A key with other random bytes, or the key cut short, is no key.
    other = k["key"][:-4] + ("AAAA" if not k["key"].endswith("AAAA")
                             else "BBBB")
    expect_error(http("GET", "/users", token=other), 401, "invalid_token")
    expect_error(http("GET", "/users", token=k["key"][:-1]), 401,
                 "invalid_token")

    # Revoked: refused from the very next request on.
    expect(http("DELETE", "/api-keys/%d" % k["id"], token=a.access), 200)
    expect_error(http("GET", "/users", token=k["key"]), 401,
                 "session_revoked")
    assert list_keys(a.access) == [], "a revoked key is still listed"
    expect_error(http("DELETE", "/api-keys/%d" % k["id"], token=a.access),
                 404, "not_found", msg="revoking twice")


def test_a_service_manages_users_and_verifies_tokens(stack):
    """The issue's "done when": with an admin key only, a service creates
    users, invites, and verifies users' tokens."""
    a = new_admin(stack)
    k = make_key(a.access, name="billing service", role="admin")["key"]
    uname, pw = uniq(), lib.new_password()
    j = expect(http("POST", "/users", {"username": uname, "email":
                                       new_email(), "password": pw},
                    token=k), 201)
    assert j["user"]["organizationId"] == org_of(a), j
    inv = expect(http("POST", "/invitations", {"email": new_email(),
                                               "send_email": False},
                      token=k), 201)
    u = lib.expect_login(lib.login(uname, pw), 200, username=uname)

    # The key in the header, the user's token in the body.
    j = expect(lib.verify(u["access_token"], bearer=k), 200)
    assert j["valid"] is True and j["claims"]["sub"] == str(
        u["user"]["id"]) and j["claims"]["role"] == "user", j
    # The key alone verifies itself.
    j = expect(lib.verify(bearer=k), 200)
    assert j["valid"] is True and "claims" not in j and j["api_key"] == {
        "id": j["api_key"]["id"], "name": "billing service",
        "role": "admin", "organizationId": org_of(a)}, j

    # Audited as the key: no actor, the key's id.
    ev = events(a.access, "?per_page=100")["events"]
    kid = j["api_key"]["id"]
    made = [e for e in ev if e["event"] == "user.create" and
            e["targetId"] == u["user"]["id"]]
    assert made and made[0]["actorId"] is None and \
        made[0]["apiKeyId"] == kid, made
    assert [e for e in ev if e["event"] == "invitation.create" and
            e["targetId"] == inv["invitation"]["id"] and
            e["apiKeyId"] == kid], "invitation.create by the key"
    created = [e for e in ev if e["event"] == "api_key.create" and
               e["targetId"] == kid]
    assert created and created[0]["actorId"] == a.id and \
        created[0]["apiKeyId"] is None and created[0]["detail"] == \
        "admin", created

    # Revoked: verify with the revoked key in the header is refused even
    # for a good user token.
    expect(http("DELETE", "/api-keys/%d" % kid, token=a.access), 200)
    r = lib.verify(u["access_token"], bearer=k)
    expect_error(r, 401, "session_revoked")
    assert r.json["valid"] is False, r.describe()
    ev = events(a.access, "?per_page=100")["events"]
    assert [e for e in ev if e["event"] == "api_key.revoke" and
            e["targetId"] == kid and e["actorId"] == a.id], \
        "no api_key.revoke"
    refused = [e for e in ev if e["event"] == "api_key.refused" and
               e["targetId"] == kid]
    assert len(refused) == 1 and refused[0]["detail"] == "revoked" and \
        refused[0]["apiKeyId"] == kid and refused[0]["actorId"] is None, \
        "one api_key.refused for two uses within a minute: %r" % refused


def test_role_of_the_key_and_what_a_key_may_not_do(stack):
    a = new_admin(stack)
    uk = make_key(a.access)["key"]                  # role user
    expect_error(http("GET", "/users", token=uk), 403, "forbidden",
                 msg="a user key on an admin route")
    j = expect(lib.verify(bearer=uk), 200)
    assert j["api_key"]["role"] == "user", j

    ak = make_key(a.access, role="admin")["key"]
    for m, p, body in (("GET", "/api-keys", None),
                       ("POST", "/api-keys", {"name": "child"}),
                       ("DELETE", "/api-keys/1", None),
                       ("GET", "/user/profile", None),
                       ("GET", "/auth/sessions", None),
                       ("POST", "/auth/logout", {}),
                       ("GET", "/organizations", None)):
        expect_error(http(m, p, body, token=ak), 403, "forbidden",
                     msg="a key on %s %s" % (m, p))

    # Never as a cookie (even with the CSRF header), never as a refresh
    # token.
    r = http("GET", "/users", headers={"Cookie": "latch_access=" + ak})
    expect_error(r, 401, "invalid_token", msg="a key in latch_access")
    expect_error(lib.refresh(ak), 401, "invalid_token")

    # The ceiling: no superadmin key, none above the creator's role.
    expect_error(http("POST", "/api-keys", {"name": "x", "role":
                                            "superadmin"}, token=a.access),
                 403, "forbidden")
    expect_error(http("POST", "/api-keys", {"name": "x", "role":
                                            "superadmin"},
                      token=sa_token(stack)), 403, "forbidden")
    u = add_user(a.access)
    expect_error(http("POST", "/api-keys", {"name": "x"}, token=u.access),
                 403, "forbidden", msg="a user making a key")
    expect_error(http("GET", "/api-keys", token=u.access), 403, "forbidden")


def test_fields(stack):
    a = new_admin(stack)
    for body, field in (({}, "name"), ({"name": ""}, "name"),
                        ({"name": "   "}, "name"), ({"name": 3}, "name"),
                        ({"name": "x" * 129}, "name"),
                        ({"name": "a\nb"}, "name"),
                        ({"name": "x", "role": "root"}, "role"),
                        ({"name": "x", "expires_at": "2030-01-01"},
                         "expires_at"),
                        ({"name": "x", "expires_at": 1900000000},
                         "expires_at"),
                        ({"name": "x", "expires_at":
                          "2020-01-01T00:00:00Z"}, "expires_at"),
                        ({"name": "x", "organizationId": 0},
                         "organizationId")):
        expect_error(http("POST", "/api-keys", body, token=a.access), 400,
                     "invalid_field", field=field, msg=repr(body))
    k = make_key(a.access, expires_at="2099-01-01T00:00:00Z")
    assert k["expiresAt"] == "2099-01-01T00:00:00Z", k
    # Past its expiry: token_expired, and audited once.
    stack.mysql("UPDATE api_keys SET expires_at = UNIX_TIMESTAMP() - 1 "
                "WHERE id = %d" % k["id"])
    expect_error(http("GET", "/users", token=k["key"]), 401,
                 "token_expired")
    ev = events(a.access)["events"]
    assert [e for e in ev if e["event"] == "api_key.refused" and
            e["targetId"] == k["id"] and e["detail"] == "expired"], ev[:5]


def test_tenant_isolation(stack):
    a, b = new_admin(stack), new_admin(stack)
    ka = make_key(a.access, role="admin")
    for m in ("DELETE",):
        expect_error(http(m, "/api-keys/%d" % ka["id"], token=b.access),
                     404, "not_found", msg="another organization's key")
    expect_error(http("DELETE", "/api-keys/987654321012", token=b.access),
                 404, "not_found")
    assert list_keys(b.access) == []
    # ?organization_id is the superadmin's, ignored for an admin.
    assert list_keys(b.access, "?organization_id=%d" % org_of(a)) == []
    # The key sees its own organization only.
    j = expect(http("GET", "/users?organization_id=%d" % org_of(b),
                    token=ka["key"]), 200)
    assert {u["organizationId"] for u in j["users"]} == {org_of(a)}, j
    expect_error(http("GET", "/users/%d" % b.id, token=ka["key"]), 404,
                 "not_found")

    # A superadmin makes and revokes keys of any organization.
    sa = sa_token(stack)
    kb = make_key(sa, role="admin", query="?organization_id=%d" % org_of(b))
    assert kb["organizationId"] == org_of(b), kb
    kb2 = make_key(sa, organizationId=org_of(b))
    assert kb2["organizationId"] == org_of(b), kb2
    assert {x["id"] for x in list_keys(b.access)} == {kb["id"], kb2["id"]}
    expect_error(http("DELETE", "/api-keys/%d" % kb["id"], token=sa), 404,
                 "not_found", msg="without organization_id: the own one")
    expect(http("DELETE", "/api-keys/%d?organization_id=%d" % (
        kb["id"], org_of(b)), token=sa), 200)
    expect_error(http("POST", "/api-keys?organization_id=987654321012",
                      {"name": "x"}, token=sa), 404, "not_found")


def test_keys_end_with_their_creator(stack):
    """Disabled, demoted or deleted: the creator's keys are revoked."""
    a = new_admin(stack)
    for what in ("disable", "demote", "delete"):
        b = add_user(a.access, role="admin")
        kb = make_key(b.access, role="admin")
        expect(http("GET", "/users", token=kb["key"]), 200)
        if what == "disable":
            expect(http("POST", "/users/%d/disable" % b.id,
                        token=a.access), 200)
        elif what == "demote":
            expect(http("PATCH", "/users/%d" % b.id, {"role": "user"},
                        token=a.access), 200)
        else:
            expect(http("DELETE", "/users/%d" % b.id, token=a.access),
                   200)
        expect_error(http("GET", "/users", token=kb["key"]), 401,
                     "session_revoked", msg="key of a creator: " + what)
        assert kb["id"] not in [x["id"] for x in list_keys(a.access)]
        ev = events(a.access)["events"]
        assert [e for e in ev if e["event"] == "api_key.revoke" and
                e["targetId"] == kb["id"] and e["actorId"] == a.id and
                e["detail"].startswith("creator ")], "no revoke event " \
            "for " + what
    # A name change revokes nothing.
    b = add_user(a.access, role="admin")
    kb = make_key(b.access)
    expect(http("PATCH", "/users/%d" % b.id, {"name": "New"},
                token=a.access), 200)
    expect(lib.verify(bearer=kb["key"]), 200)


def test_authorizer_takes_a_key_in_the_header_only(stack):
    a = new_admin(stack)
    k = make_key(a.access, name="ci pipeline", role="admin")

    def authz(headers):
        params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/guarded/x",
                  "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                  "LATCH_REQUIRE_ROLE": "admin"}
        params.update(headers)
        return fcgiclient.call(stack.latchd_socket, params)

    st, h, b = authz({"HTTP_AUTHORIZATION": "Bearer " + k["key"]})
    assert st == 200, (st, h, b)
    v = {x[len("Variable-"):]: y for x, y in h if x.startswith("Variable-")}
    assert v == {"LATCH_USER_ID": "",
                 "LATCH_USERNAME": "apikey:%d" % k["id"],
                 "LATCH_ORG_ID": str(org_of(a)), "LATCH_ROLE": "admin",
                 "LATCH_AMR": "", "LATCH_API_KEY_ID": str(k["id"]),
                 "LATCH_API_KEY_NAME": "ci pipeline"}, h
    st, h, b = authz({"HTTP_COOKIE": "latch_access=" + k["key"]})
    assert st == 401 and b"invalid_token" in b, (st, h, b)

    # GET /auth/check (nginx, Caddy): the same decision; of the key only
    # its username tells, in the five headers the recipes copy.
    def check(headers):
        params = {"REQUEST_METHOD": "GET", "PATH_INFO": "/auth/check",
                  "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                  "LATCH_REQUIRE_ROLE": "admin"}
        params.update(headers)
        return fcgiclient.call(stack.latchd_socket, params,
                               role=fcgiclient.RESPONDER)

    st, h, b = check({"HTTP_AUTHORIZATION": "Bearer " + k["key"]})
    assert st == 200, (st, h, b)
    x = {n: v for n, v in h if n.startswith("X-Latch-")}
    assert x == {"X-Latch-User-Id": "",
                 "X-Latch-Username": "apikey:%d" % k["id"],
                 "X-Latch-Org-Id": str(org_of(a)), "X-Latch-Role": "admin",
                 "X-Latch-Amr": ""}, h
    st, h, b = check({"HTTP_COOKIE": "latch_access=" + k["key"]})
    assert st == 401 and b"invalid_token" in b, (st, h, b)

    expect(http("DELETE", "/api-keys/%d" % k["id"], token=a.access), 200)
    st, h, b = authz({"HTTP_AUTHORIZATION": "Bearer " + k["key"]})
    assert st == 401 and b"session_revoked" in b, (st, h, b)
    st, h, b = check({"HTTP_AUTHORIZATION": "Bearer " + k["key"]})
    assert st == 401 and b"session_revoked" in b, (st, h, b)


def test_a_key_and_two_factor_sign_in(stack):
    """A key has no second factor (docs/api.md, "API keys and two-factor
    sign-in"): it may not take one away from a member nor change who
    must have one; a guarded path that requires otp refuses it; an admin
    who must enrol first makes no key; require_mfa does not apply to a
    key made before."""
    a = new_admin(stack)
    k = make_key(a.access, role="admin")["key"]
    m = add_user(a.access)
    secret = expect(http("POST", "/user/mfa/totp", {}, token=m.access),
                    201)["secret"]
    expect(http("POST", "/user/mfa/totp/confirm",
                {"code": pyotp.TOTP(secret).now()}, token=m.access), 200)

    expect_error(http("POST", "/users/%d/mfa/reset" % m.id, {}, token=k),
                 403, "forbidden", msg="a key resetting a second factor")
    assert expect(http("GET", "/user/mfa", token=m.access),
                  200)["mfa"]["enabled"] is True, "TOTP stays on"
    assert not events(a.access, "?event=mfa.reset")["events"]
    for policy in ("all", "none"):
        expect_error(http("PATCH", "/organization", {"require_mfa": policy},
                          token=k), 403, "forbidden",
                     msg="a key setting require_mfa=%s" % policy)
    j = expect(http("PATCH", "/organization", {"description": "by a key"},
                    token=k), 200)
    assert j["organization"]["requireMfa"] == "none" and \
        j["organization"]["description"] == "by a key", j

    # The authorizer: a key has no amr, so LATCH_REQUIRE_AMR=otp refuses
    # it as it refuses a password-only session.
    st, h, b = fcgiclient.call(stack.latchd_socket, {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/guarded/x",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "LATCH_REQUIRE_AMR": "otp", "HTTP_AUTHORIZATION": "Bearer " + k})
    assert st == 403 and b"mfa_required" in b, (st, h, b)
    # At /auth/verify a key has no claims, so no amr to mistake for a
    # person's.
    j = expect(lib.verify(bearer=k), 200)
    assert "claims" not in j and "amr" not in j["api_key"], j
    # A key is no mfa_token, and an mfa_token no bearer token.
    mt = expect(http("POST", "/auth/login", {"identifier": m.username,
                                             "password": m.password}),
                200)["mfa_token"]
    expect_error(http("GET", "/user/profile", token=mt), 401,
                 "invalid_token")
    expect_error(lib.verify(bearer=mt), 401, "invalid_token")
    expect_error(http("POST", "/auth/mfa", {"mfa_token": k, "code":
                                            "123456"}), 401, "invalid_token")

    # The admins must have TOTP: the admin's session may only enrol and
    # makes no key; the key made before goes on (it is no person).
    expect(http("PATCH", "/organization", {"require_mfa": "admins"},
                token=a.access), 200)
    expect_error(http("POST", "/api-keys", {"name": "x"}, token=a.access),
                 403, "mfa_enrollment_required")
    expect_error(http("GET", "/api-keys", token=a.access), 403,
                 "mfa_enrollment_required")
    expect(http("GET", "/users", token=k), 200)


def test_latchctl_keys(stack):
    a = new_admin(stack)
    r = stack.latchctl("create-key", "--org", a.org, "--name", "cron job",
                       "--role", "admin", "--expires",
                       "2099-12-31T00:00:00Z")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert KEY_RE.match(key), r.stdout
    assert "shown once" in r.stderr and key not in r.stderr, r.stderr
    j = expect(http("GET", "/users", token=key), 200)
    assert j["users"][0]["organizationId"] == org_of(a), j
    ks = list_keys(a.access)
    assert len(ks) == 1 and ks[0]["createdBy"] is None and \
        ks[0]["name"] == "cron job" and ks[0]["expiresAt"] == \
        "2099-12-31T00:00:00Z", ks
    r = stack.latchctl("list-keys", "--org", a.org)
    assert r.returncode == 0 and "cron job" in r.stdout and \
        key not in r.stdout, r.stdout
    for bad in (("create-key", "--org", a.org, "--name", "x", "--role",
                 "superadmin"),
                ("create-key", "--org", a.org, "--name", "x", "--expires",
                 "tomorrow"),
                ("create-key", "--org", uniq("NoSuchOrg "), "--name", "x"),
                ("revoke-key", "987654321012")):
        r = stack.latchctl(*bad)
        assert r.returncode != 0 and "latch_" not in r.stdout, (bad, r)
    r = stack.latchctl("revoke-key", str(ks[0]["id"]))
    assert r.returncode == 0, r.stderr
    expect_error(http("GET", "/users", token=key), 401, "session_revoked")
    ev = events(a.access)["events"]
    assert [e for e in ev if e["event"] == "api_key.create" and
            e["targetId"] == ks[0]["id"] and e["actorId"] is None]
