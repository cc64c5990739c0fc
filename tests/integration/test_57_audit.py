"""
The audit log: GET /audit (event names, fields, scoping by organization,
?event=, paging, the superadmin's view).
"""

import time

import pyotp

from adminlib import (EVENT_NAMES, MISSING_ID, add_user, events, forgot,
                      invite, invite_code_from_mail, new_admin, org_of,
                      register_ok, relogin, reset, reset_token_from_mail,
                      superadmin)
from lib import (expect, expect_error, http, login, new_email, new_password,
                 refresh, refusing, uniq)


def db_event_ids(stack, where):
    return [int(r[0]) for r in stack.mysql(
        "SELECT id FROM audit_events WHERE %s ORDER BY id DESC" % where)]


def test_audit_records_the_contract_events(stack):
    sa = superadmin(stack)
    # An organization made by the superadmin, its admin by invitation.
    admin_mail = new_email()
    r = http("POST", "/organizations",
             {"name": uniq("Audit Org "), "admin_email": admin_mail},
             token=sa.access)
    org = expect(r, 201)["organization"]
    oid = org["id"]
    code, _ = invite_code_from_mail(stack, admin_mail)
    inv_id = int(stack.mysql("SELECT id FROM invitations WHERE org_id = %d"
                             % oid)[0][0])
    admin = register_ok(code, admin_mail, org["name"], "admin")
    # Sign-ins.
    admin = relogin(admin)                                  # login.success
    expect_error(login(admin.username, "wrong-" + admin.password), 401,
                 "invalid_credentials")                     # login.failure
    s = relogin(type(admin)(admin.username, admin.email, admin.password,
                            admin.org, admin.body))
    expect(http("POST", "/auth/logout", {}, token=s.access), 200)  # logout
    s = relogin(s)
    old_refresh = s.refresh
    expect(refresh(old_refresh), 200)
    time.sleep(3.2)  # past refresh_reuse_interval (2 s in the test stack)
    expect_error(refresh(old_refresh), 401, "invalid_token")  # reuse
    # Users.
    u = add_user(admin.access)                              # user.create
    expect(http("PATCH", "/users/%d" % u.id, {"name": "Renamed"},
                token=admin.access), 200)                   # user.update
    expect(http("PATCH", "/users/%d" % u.id, {"role": "admin"},
                token=admin.access), 200)                   # role.change
    expect(http("POST", "/users/%d/disable" % u.id, token=admin.access),
           200)                                             # user.disable
    expect(http("POST", "/users/%d/enable" % u.id, token=admin.access),
           200)                                             # user.enable
    u = relogin(u)
    pw2 = new_password()
    expect(http("POST", "/user/password",
                {"current_password": u.password, "new_password": pw2},
                token=u.access), 200)                       # password.change
    u.password = pw2
    v = add_user(admin.access)
    expect(forgot(stack, v.email), 202)
    rtoken, _ = reset_token_from_mail(stack, v.email)
    expect(reset(rtoken, new_password()), 200)              # password.reset
    w = add_user(admin.access)
    expect(http("DELETE", "/users/%d" % w.id, token=admin.access),
           200)                                             # user.delete
    expect(http("PATCH", "/organization", {"description": "audited"},
                token=admin.access), 200)                   # org.update
    i2 = invite(admin.access)                               # inv.create
    expect(http("DELETE", "/invitations/%d" % i2["id"], token=admin.access),
           200)                                             # inv.revoke
    mail2 = new_email()
    expect(http("PATCH", "/user/profile", {"email": mail2, "current_password":
                                           u.password}, token=u.access),
           200)                                         # email.change.request
    expect(http("PATCH", "/users/%d" % u.id, {"email": mail2},
                token=admin.access), 200)                   # email.change
    # Two-factor sign-in (docs/api.md, "Two-factor sign-in").
    m = add_user(admin.access)
    secret = expect(http("POST", "/user/mfa/totp", {}, token=m.access),
                    201)["secret"]
    totp = pyotp.TOTP(secret)
    if 30 - time.time() % 30 < 5:
        time.sleep(31 - time.time() % 30)
    codes = expect(http("POST", "/user/mfa/totp/confirm",
                        {"code": totp.now()}, token=m.access),
                   200)["recovery_codes"]                   # mfa.enable
    tok = expect(login(m.username, m.password), 200)["mfa_token"]
    expect_error(http("POST", "/auth/mfa", {"mfa_token": tok,
                                            "code": "abcdef"}),
                 400, "invalid_code")                       # mfa.failure
    expect(http("POST", "/auth/mfa", {"mfa_token": tok,
                                      "recovery_code": codes[0]}),
           200)                                         # mfa.recovery_code
    codes = expect(http("POST", "/user/mfa/recovery-codes",
                        {"password": m.password, "recovery_code": codes[1]},
                        token=m.access), 200)["recovery_codes"]
    expect(http("DELETE", "/user/mfa/totp", {"password": m.password,
                                             "recovery_code": codes[0]},
                token=m.access), 200)                       # mfa.disable
    expect(http("POST", "/user/mfa/totp", {}, token=m.access), 201)
    expect(http("POST", "/users/%d/mfa/reset" % m.id, {},
                token=admin.access), 200)                   # mfa.reset
    # Noise in another organization.
    other = new_admin(stack)
    ox = add_user(other.access)
    expect_error(login(ox.username, "wrong-" + ox.password), 401,
                 "invalid_credentials")

    j = events(admin.access, "?per_page=100")
    evs = j["events"]
    want_ids = db_event_ids(stack, "org_id = %d" % oid)
    assert [e["id"] for e in evs] == want_ids, "GET /audit is not exactly " \
        "the organization's events, newest first: %r vs %r" % (
            [e["id"] for e in evs], want_ids)
    if "total" in j:
        assert j["total"] == len(want_ids), j["total"]
    names = {e["event"] for e in evs}
    # Not of an API request: those of latchctl import (test_58_import).
    # API keys', moves' and settings' events are checked where they are
    # made (test_67_api_keys, test_68_move_users, test_69_settings).
    expected = EVENT_NAMES - {"org.delete", "password.upgrade", "user.import",
                              "user.move", "api_key.create", "api_key.revoke",
                              "api_key.refused", "settings.change"}
    assert expected <= names, "missing events: %s" % sorted(expected - names)
    for e in evs:
        assert e["ip"] == "127.0.0.1", e

    def find(name, **want):
        hits = [e for e in evs if e["event"] == name and
                all(e[k] == v for k, v in want.items())]
        assert hits, "no %s event with %r in %r" % (name, want, [
            x for x in evs if x["event"] == name])
        return hits

    find("org.create", actorId=sa.id, targetId=oid)
    find("invitation.create", actorId=sa.id, targetId=inv_id)
    find("invitation.accept", actorId=admin.id, targetId=inv_id)
    find("login.success", actorId=admin.id)
    find("login.failure", actorId=admin.id)
    find("logout", actorId=admin.id)
    find("refresh.reuse", actorId=admin.id)
    find("user.create", actorId=admin.id, targetId=u.id)
    find("user.update", actorId=admin.id, targetId=u.id)
    find("role.change", actorId=admin.id, targetId=u.id)
    find("user.disable", actorId=admin.id, targetId=u.id)
    find("user.enable", actorId=admin.id, targetId=u.id)
    find("password.change", actorId=u.id)
    find("password.reset", targetId=v.id)
    find("user.delete", actorId=admin.id, targetId=w.id)
    find("org.update", actorId=admin.id)
    find("invitation.create", actorId=admin.id, targetId=i2["id"])
    find("invitation.revoke", actorId=admin.id, targetId=i2["id"])
    find("email.change.request", actorId=u.id, targetId=u.id,
         detail=mail2)
    find("email.change", actorId=admin.id, targetId=u.id, detail=mail2)
    # Nothing of the other organization.
    for e in evs:
        assert e["actorId"] not in (other.id, ox.id) and \
            e["targetId"] not in (other.id, ox.id), \
            "another organization's event: %r" % e

    # ?event= filter.
    for name in ("user.create", "login.failure", "invitation.create"):
        f = events(admin.access, "?event=%s&per_page=100" % name)["events"]
        assert f and all(e["event"] == name for e in f), f
        assert [e["id"] for e in f] == db_event_ids(
            stack, "org_id = %d AND event = '%s'" % (oid, name)), name
    f = events(admin.access, "?event=org.delete")["events"]
    assert f == [], f

    # Paging: disjoint pages, newest first.
    p1 = events(admin.access, "?per_page=3&page=1")["events"]
    p2 = events(admin.access, "?per_page=3&page=2")["events"]
    assert [e["id"] for e in p1 + p2] == want_ids[:6], (p1, p2)

    # An admin's organization_id is ignored.
    q = events(admin.access, "?per_page=100&organization_id=%d"
               % org_of(other))
    assert [e["id"] for e in q["events"]] == want_ids

    # The superadmin: one organization with the query...
    s_one = events(sa.access, "?per_page=100&organization_id=%d" % oid)
    assert [e["id"] for e in s_one["events"]] == want_ids
    # ...every organization's events without it.
    s_all = events(sa.access, "?per_page=100")
    all_ids = db_event_ids(stack, "1 = 1")
    assert [e["id"] for e in s_all["events"]] == all_ids[:100], \
        "the superadmin does not see every organization's events"
    if "total" in s_all:
        assert s_all["total"] == len(all_ids)
    # The other organization's failed login, with its actor.
    oth = [e for e in s_all["events"] if e["event"] == "login.failure" and
           e["actorId"] == ox.id]
    assert oth, "the other organization's login.failure is missing"


def test_audit_unknown_account_and_org_delete(stack):
    sa = superadmin(stack)
    ghost = uniq("ghost")
    expect_error(login(ghost, new_password()), 401, "invalid_credentials")
    r = http("POST", "/organizations", {"name": uniq("Doomed ")},
             token=sa.access)
    oid = expect(r, 201)["organization"]["id"]
    expect(http("DELETE", "/organizations/%d" % oid, token=sa.access), 200)
    evs = events(sa.access, "?event=org.delete&per_page=100")["events"]
    hits = [e for e in evs if e["targetId"] == oid]
    assert len(hits) == 1 and hits[0]["actorId"] == sa.id, evs
    # The deleted organization is no scope any more: 404, like any
    # organization that does not exist; its events stay in the list of
    # every organization's.
    for q in ("?organization_id=%d" % oid, "?organization_id=%d" % MISSING_ID):
        expect_error(http("GET", "/audit" + q, token=sa.access), 404,
                     "not_found", msg=q)
    evs = events(sa.access, "?event=org.create&per_page=100")["events"]
    assert [e for e in evs if e["targetId"] == oid], \
        "the deleted organization's org.create is gone"
    fails = events(sa.access, "?event=login.failure&per_page=5")["events"]
    assert fails and fails[0]["actorId"] is None, \
        "a failed sign-in of an unknown account has an actor: %r" % fails[:1]


def test_audit_refusals(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    expect_error(http("GET", "/audit", token=u.access), 403, "forbidden")
    expect_error(http("GET", "/audit"), 401, "missing_token")
    for q, field in (("event=nope", "event"), ("event=", "event"),
                     ("page=0", "page"), ("per_page=0", "per_page"),
                     ("per_page=101", "per_page")):
        expect_error(http("GET", "/audit?" + q, token=a.access), 400,
                     "invalid_field", field=field, msg=q)
    sa = superadmin(stack)
    expect_error(http("GET", "/audit?organization_id=abc", token=sa.access),
                 400, "invalid_field", field="organization_id")


def test_self_registered_organization_is_audited(stack):
    # POST /auth/register creates an organization like POST /organizations
    # does: its audit log starts with org.create.
    a = new_admin(stack)
    evs = events(a.access, "?event=org.create")["events"]
    assert len(evs) == 1, "no org.create for an organization made by " \
        "POST /auth/register: %r (all: %r)" % (
            evs, events(a.access, "?per_page=100")["events"])
    assert evs[0]["targetId"] == org_of(a) and evs[0]["actorId"] == a.id, \
        evs[0]


def test_a_change_whose_event_cannot_be_written_is_not_made(stack):
    """An event is written in the transaction of its change: when the
    event cannot be written, the change is not made either (503)."""
    a = new_admin(stack)
    u = add_user(a.access)
    mail = new_email()
    with refusing(stack, "audit_events", "INSERT",
                  "NEW.event IN ('user.delete', 'invitation.create')"):
        expect_error(http("DELETE", "/users/%d" % u.id, token=a.access), 503,
                     "service_unavailable")
        expect_error(http("POST", "/invitations", {"email": mail},
                          token=a.access), 503, "service_unavailable")
    expect(http("GET", "/users/%d" % u.id, token=a.access), 200)
    assert stack.mysql("SELECT COUNT(*) FROM invitations WHERE email = '%s'"
                       % mail) == [["0"]], "an invitation without its event"
    expect(http("DELETE", "/users/%d" % u.id, token=a.access), 200)
    evs = events(a.access, "?event=user.delete")["events"]
    assert [e["targetId"] for e in evs] == [u.id], evs
