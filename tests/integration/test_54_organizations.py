"""
Organizations: the superadmin's /organizations (list, q, paging, create
with and without admin_email, get, patch, delete with everything in it,
the organization of the last superadmin), the admin's own GET/PATCH
/organization, and the whole "done when" flow from an organization to
its admin and its user, each seeing only their own organization.
"""

import time

from adminlib import (MISSING_ID, ORG_KEYS, add_user, check_invitation,
                      ensure_env, invite, invite_code_from_mail,
                      make_superadmin, mails_to, new_admin, org_of, preview,
                      register_ok, relogin, superadmin, user_row)
from lib import (expect, expect_error, expect_timestamp,
                 expect_token_revoked, expect_token_works, expect_user,
                 http, login, new_email, refresh, uniq)


def check_org(o, **want):
    assert isinstance(o, dict) and set(o) == ORG_KEYS, \
        "organization object: %r" % (o,)
    assert isinstance(o["id"], int) and o["id"] > 0, o
    assert isinstance(o["name"], str) and isinstance(o["description"], str)
    expect_timestamp(o["createdAt"], "organization.createdAt")
    assert isinstance(o["userCount"], int) and \
        not isinstance(o["userCount"], bool), o
    for k, v in want.items():
        assert o[k] == v, "organization.%s: expected %r, got %r" % (
            k, v, o[k])
    return o


def orgs_page(token, query=""):
    j = expect(http("GET", "/organizations" + query, token=token), 200)
    assert isinstance(j.get("organizations"), list), j
    assert isinstance(j.get("total"), int), j
    for o in j["organizations"]:
        check_org(o)
    return j


def create_org(token, name=None, description=None, admin_email=None,
               status=201):
    body = {"name": name or uniq("Org ")}
    if description is not None:
        body["description"] = description
    if admin_email is not None:
        body["admin_email"] = admin_email
    return http("POST", "/organizations", body, token=token), body["name"]


def org_exists(stack, name):
    return stack.mysql("SELECT COUNT(*) FROM organizations WHERE name = "
                       "'%s'" % name.replace("'", "''")) != [["0"]]


# -------------------------------------------------------------- access

def test_organizations_are_for_superadmins_only(stack):
    ensure_env(stack)
    a = new_admin(stack)
    u = add_user(a.access)
    other = new_admin(stack)
    name = uniq("Org ")
    for acct in (a, u):
        for method, path, body in (
                ("GET", "/organizations", None),
                ("POST", "/organizations", {"name": name}),
                ("GET", "/organizations/%d" % org_of(other), None),
                ("PATCH", "/organizations/%d" % org_of(other),
                 {"name": uniq("Org ")}),
                ("DELETE", "/organizations/%d" % org_of(other), None),
                ("DELETE", "/organizations/%d" % org_of(a), None)):
            expect_error(http(method, path, body, token=acct.access), 403,
                         "forbidden", msg="%s on %s %s" % (
                             acct.user["role"], method, path))
        expect_error(http("GET", "/organizations"), 401, "missing_token")
    assert not org_exists(stack, name)
    expect_token_works(other.access)
    expect_token_works(a.access)
    assert user_row(stack, other.id) is not None


# -------------------------------------------------------------- create

def test_create_without_admin_email(stack):
    sa = superadmin(stack)
    t0 = time.time()
    r, name = create_org(sa.access, description="Made by the test")
    j = expect(r, 201)
    o = check_org(j.get("organization"), name=name,
                  description="Made by the test", userCount=0)
    assert "invitation" not in j, "no admin_email, yet an invitation: %r" % j
    g = expect(http("GET", "/organizations/%d" % o["id"], token=sa.access),
               200)
    check_org(g["organization"], id=o["id"], name=name, userCount=0)
    assert stack.mysql("SELECT COUNT(*) FROM invitations WHERE org_id = %d"
                       % o["id"]) == [["0"]]
    # Without a description: "".
    r, name2 = create_org(sa.access)
    check_org(expect(r, 201)["organization"], name=name2, description="")
    assert time.time() - t0 < 600


def test_create_with_admin_email(stack):
    sa = superadmin(stack)
    mail = new_email()
    r, name = create_org(sa.access, admin_email=mail)
    j = expect(r, 201)
    o = check_org(j.get("organization"), name=name, userCount=0)
    inv = j.get("invitation")
    check_invitation(inv, mail, "admin")
    code, m = invite_code_from_mail(stack, mail)
    assert code == inv["code"]
    assert name in m["body"] or name in m["subject"], \
        "the invitation mail does not name the organization"
    rows = stack.mysql("SELECT org_id, role FROM invitations WHERE id = %d"
                       % inv["id"])
    assert rows == [[str(o["id"]), "admin"]], rows
    p = expect(preview(code), 200)["invitation"]
    assert p["role"] == "admin" and p["organizationName"] == name and \
        p["email"] == mail, p
    admin = register_ok(code, mail, name, "admin")
    assert admin.user["organizationId"] == o["id"]
    g = expect(http("GET", "/organizations/%d" % o["id"], token=sa.access),
               200)
    check_org(g["organization"], userCount=1)


def test_create_errors_create_nothing(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    # The name is taken, also ignoring case.
    r, _ = create_org(sa.access, name=a.org)
    expect_error(r, 409, "organization_taken")
    r, _ = create_org(sa.access, name=a.org.upper())
    expect_error(r, 409, "organization_taken")
    # Field errors.
    for body, field in (({}, "name"), ({"name": ""}, "name"),
                        ({"name": "   "}, "name"), ({"name": 5}, "name"),
                        ({"name": "x" * 129}, "name"),
                        ({"name": uniq("Org "), "description": 5},
                         "description"),
                        ({"name": uniq("Org "), "admin_email": "nope"},
                         "admin_email")):
        expect_error(http("POST", "/organizations", body, token=sa.access),
                     400, "invalid_field", field=field, msg=repr(body))
        if isinstance(body.get("name"), str) and body["name"].strip():
            assert not org_exists(stack, body["name"])
    # admin_email of an existing account: nothing is created, no mail.
    name = uniq("Org ")
    r, _ = create_org(sa.access, name=name, admin_email=a.email)
    expect_error(r, 409, "email_taken")
    assert not org_exists(stack, name), "the organization was created " \
        "although its admin invitation was refused"
    assert mails_to(stack, a.email) == []
    # The name is still free.
    r, _ = create_org(sa.access, name=name)
    expect(r, 201)


# ---------------------------------------------------------- list, get

def test_list_paging_and_search(stack):
    sa = superadmin(stack)
    tag = uniq("Lst")
    made = []
    for i in range(3):
        r, name = create_org(sa.access, name="%s org %d" % (tag, i))
        made.append(expect(r, 201)["organization"]["id"])
    j = orgs_page(sa.access, "?q=" + tag.lower())
    assert [o["id"] for o in j["organizations"]] == made and \
        j["total"] == 3, j
    p1 = orgs_page(sa.access, "?q=%s&per_page=2&page=1" % tag)
    p2 = orgs_page(sa.access, "?q=%s&per_page=2&page=2" % tag)
    assert p1["total"] == 3 and p2["total"] == 3, (p1, p2)
    assert [o["id"] for o in p1["organizations"] + p2["organizations"]] == \
        made, (p1, p2)
    assert len(p2["organizations"]) == 1
    j = orgs_page(sa.access, "?q=" + uniq("none"))
    assert j["organizations"] == [] and j["total"] == 0
    # Unfiltered: every organization.
    n = int(stack.mysql("SELECT COUNT(*) FROM organizations")[0][0])
    j = orgs_page(sa.access, "?per_page=100")
    assert j["total"] == n, "total %r, organizations in the db %d" % (
        j["total"], n)
    assert len(j["organizations"]) == min(n, 100)
    for q, field in (("page=0", "page"), ("per_page=101", "per_page"),
                     ("per_page=abc", "per_page"), ("q=" + "a" * 300, "q")):
        expect_error(http("GET", "/organizations?" + q, token=sa.access),
                     400, "invalid_field", field=field, msg=q)


def test_get_and_patch(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    add_user(a.access)
    oid = org_of(a)
    j = expect(http("GET", "/organizations/%d" % oid, token=sa.access), 200)
    check_org(j["organization"], id=oid, name=a.org, description="",
              userCount=2)
    new_name = uniq("Renamed ")
    j = expect(http("PATCH", "/organizations/%d" % oid,
                    {"name": new_name, "description": "Desc"},
                    token=sa.access), 200)
    check_org(j.get("organization"), id=oid, name=new_name,
              description="Desc", userCount=2)
    # The members see the new name.
    p = expect(http("GET", "/user/profile", token=a.access), 200)
    expect_user(p["user"], organizationName=new_name)
    # Only the description.
    j = expect(http("PATCH", "/organizations/%d" % oid,
                    {"description": ""}, token=sa.access), 200)
    check_org(j["organization"], name=new_name, description="")
    # Clash.
    other = new_admin(stack)
    expect_error(http("PATCH", "/organizations/%d" % oid,
                      {"name": other.org}, token=sa.access), 409,
                 "organization_taken")
    expect_error(http("PATCH", "/organizations/%d" % oid,
                      {"name": other.org.lower()}, token=sa.access), 409,
                 "organization_taken")
    expect_error(http("PATCH", "/organizations/%d" % oid, {"name": ""},
                      token=sa.access), 400, "invalid_field", field="name")
    j = expect(http("GET", "/organizations/%d" % oid, token=sa.access), 200)
    check_org(j["organization"], name=new_name)
    # Missing ones.
    for method, body in (("GET", None), ("PATCH", {"name": uniq("X ")}),
                         ("DELETE", None)):
        expect_error(http(method, "/organizations/%d" % MISSING_ID, body,
                          token=sa.access), 404, "not_found", msg=method)


# -------------------------------------------------------------- delete

def test_delete_removes_users_invitations_sessions(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    oid = org_of(a)
    u = add_user(a.access)
    u2 = relogin(add_user(a.access))
    inv = invite(a.access)
    bystander = new_admin(stack)
    b_inv = invite(bystander.access)
    j = expect(http("DELETE", "/organizations/%d" % oid, token=sa.access),
               200)
    assert j["success"] is True
    for acct in (a, u, u2):
        expect_token_revoked(acct.access, what="token of %s" % acct)
        expect_error(refresh(acct.refresh), 401, "invalid_token")
        expect_error(login(acct.username, acct.password), 401,
                     "invalid_credentials")
    expect_error(preview(inv["code"]), 404, "invalid_invitation")
    expect_error(http("GET", "/organizations/%d" % oid, token=sa.access),
                 404, "not_found")
    expect_error(http("DELETE", "/organizations/%d" % oid, token=sa.access),
                 404, "not_found")
    for table, col in (("users", "org_id"), ("invitations", "org_id"),
                       ("sessions", "org_id")):
        n = stack.mysql("SELECT COUNT(*) FROM %s WHERE %s = %d"
                        % (table, col, oid))
        assert n == [["0"]], "%s rows of the deleted organization: %r" % (
            table, n)
    for uid in (a.id, u.id, u2.id):
        assert stack.mysql("SELECT COUNT(*) FROM sessions WHERE user_id = "
                           "%d" % uid) == [["0"]]
    # The other organization is untouched.
    expect_token_works(bystander.access)
    expect(preview(b_inv["code"]), 200)
    # The names are free again.
    r, _ = create_org(sa.access, name=a.org)
    expect(r, 201)


def test_delete_the_organization_of_the_last_superadmin(stack):
    s1 = make_superadmin(stack)
    oid = org_of(s1)
    others = [r[0] for r in stack.mysql(
        "SELECT id FROM users WHERE role = 'superadmin' AND disabled = 0 "
        "AND org_id <> %d" % oid)]
    if others:
        stack.mysql("UPDATE users SET disabled = 1 WHERE id IN (%s)"
                    % ",".join(others))
    try:
        expect_error(http("DELETE", "/organizations/%d" % oid,
                          token=s1.access), 409, "last_admin")
        assert org_exists(stack, s1.org)
        expect_token_works(s1.access)
        # A second superadmin in the same organization does not help.
        s2 = add_user(s1.access, role="superadmin")
        expect_error(http("DELETE", "/organizations/%d" % oid,
                          token=s2.access), 409, "last_admin")
        assert org_exists(stack, s1.org)
    finally:
        if others:
            stack.mysql("UPDATE users SET disabled = 0 WHERE id IN (%s)"
                        % ",".join(others))
    # With a superadmin elsewhere, it can go.
    s3 = make_superadmin(stack)
    expect(http("DELETE", "/organizations/%d" % oid, token=s3.access), 200)
    expect_token_revoked(s1.access)
    expect_token_revoked(s2.access)
    assert not org_exists(stack, s1.org)


# --------------------------------------------------- own organization

def test_own_organization(stack):
    a = new_admin(stack)
    add_user(a.access)
    add_user(a.access)
    other = new_admin(stack)
    j = expect(http("GET", "/organization", token=a.access), 200)
    o = check_org(j.get("organization"), id=org_of(a), name=a.org,
                  description="", userCount=3)
    # An admin's organization_id is ignored, for GET and PATCH.
    q = "?organization_id=%d" % org_of(other)
    j = expect(http("GET", "/organization" + q, token=a.access), 200)
    check_org(j["organization"], id=org_of(a))
    new_name = uniq("Own ")
    j = expect(http("PATCH", "/organization" + q,
                    {"name": new_name, "description": "Ours"},
                    token=a.access), 200)
    check_org(j.get("organization"), id=org_of(a), name=new_name,
              description="Ours", userCount=3)
    j = expect(http("GET", "/organization", token=other.access), 200)
    check_org(j["organization"], id=org_of(other), name=other.org,
              description="")
    # Clash, field errors.
    expect_error(http("PATCH", "/organization", {"name": other.org.upper()},
                      token=a.access), 409, "organization_taken")
    for body, field in (({"name": ""}, "name"), ({"name": 1}, "name"),
                        ({"description": False}, "description")):
        expect_error(http("PATCH", "/organization", body, token=a.access),
                     400, "invalid_field", field=field, msg=repr(body))
    j = expect(http("GET", "/organization", token=a.access), 200)
    check_org(j["organization"], name=new_name, description="Ours")
    assert o["createdAt"] == j["organization"]["createdAt"]
    # {} changes nothing.
    j = expect(http("PATCH", "/organization", {}, token=a.access), 200)
    check_org(j["organization"], name=new_name, description="Ours")
    # A superadmin: its own, or ?organization_id=N.
    sa = superadmin(stack)
    j = expect(http("GET", "/organization", token=sa.access), 200)
    check_org(j["organization"], id=org_of(sa))
    j = expect(http("GET", "/organization" + q, token=sa.access), 200)
    check_org(j["organization"], id=org_of(other), name=other.org)
    j = expect(http("PATCH", "/organization" + q, {"description": "By SA"},
                    token=sa.access), 200)
    check_org(j["organization"], id=org_of(other), name=other.org,
              description="By SA")
    j = expect(http("GET", "/organization", token=other.access), 200)
    check_org(j["organization"], description="By SA")
    j = expect(http("GET", "/organization", token=a.access), 200)
    check_org(j["organization"], description="Ours")
    expect_error(http("GET", "/organization?organization_id=%d"
                      % MISSING_ID, token=sa.access), 404, "not_found")


# -------------------------------------------------------- the whole flow

def test_done_when_flow(stack):
    sa = superadmin(stack)
    admin_mail = new_email()
    r, org_name = create_org(sa.access, admin_email=admin_mail)
    oid = expect(r, 201)["organization"]["id"]
    # The admin finds the mail, previews, registers with its code.
    code, _ = invite_code_from_mail(stack, admin_mail)
    p = expect(preview(code), 200)["invitation"]
    assert p["email"] == admin_mail and p["role"] == "admin" and \
        p["organizationName"] == org_name, p
    admin = register_ok(code, admin_mail, org_name, "admin",
                        name="Flow Admin")
    assert admin.user["organizationId"] == oid
    # The admin invites a user by mail; the user registers.
    user_mail = new_email()
    j = expect(http("POST", "/invitations", {"email": user_mail},
                    token=admin.access), 201)
    ucode, _ = invite_code_from_mail(stack, user_mail)
    assert ucode == j["invitation"]["code"]
    expect(preview(ucode), 200)
    user = register_ok(ucode, user_mail, org_name, "user")
    assert user.user["organizationId"] == oid
    # A second organization, made the same way.
    admin2_mail = new_email()
    r, org2 = create_org(sa.access, admin_email=admin2_mail)
    oid2 = expect(r, 201)["organization"]["id"]
    code2, _ = invite_code_from_mail(stack, admin2_mail)
    admin2 = register_ok(code2, admin2_mail, org2, "admin")
    user2 = add_user(admin2.access)
    # Each sees only their own organization.
    j = expect(http("GET", "/users", token=admin.access), 200)
    assert sorted(u["id"] for u in j["users"]) == \
        sorted([admin.id, user.id]) and j["total"] == 2, j
    j = expect(http("GET", "/users", token=admin2.access), 200)
    assert sorted(u["id"] for u in j["users"]) == \
        sorted([admin2.id, user2.id]) and j["total"] == 2, j
    for token, foreign in ((admin.access, (admin2.id, user2.id)),
                           (admin2.access, (admin.id, user.id))):
        for fid in foreign:
            expect_error(http("GET", "/users/%d" % fid, token=token), 404,
                         "not_found")
    j = expect(http("GET", "/organization", token=admin.access), 200)
    check_org(j["organization"], id=oid, name=org_name, userCount=2)
    j = expect(http("GET", "/organization", token=admin2.access), 200)
    check_org(j["organization"], id=oid2, name=org2, userCount=2)
    # The user is a user: no administration.
    expect_error(http("GET", "/users", token=user.access), 403, "forbidden")
    p = expect(http("GET", "/user/profile", token=user.access), 200)
    expect_user(p["user"], organizationId=oid, organizationName=org_name,
                role="user", email=user_mail)
    # Both codes are used now.
    expect_error(preview(code), 409, "invitation_used")
    expect_error(preview(ucode), 409, "invitation_used")
