"""
Organization administration of users: GET/POST /users, GET/PATCH/DELETE
/users/{id}, POST /users/{id}/disable|enable; paging, search and filters;
role rules (forbidden, admin cannot grant superadmin, the superadmin's
organization_id / organizationId); another organization's users are 404
exactly like missing ones on every admin route; last_admin for the last
active admin and the last active superadmin, also under a race; disabling
and deleting revoke sessions at once.
"""

from adminlib import (MISSING_ID, active_admins, add_user, ensure_env,
                      expire_invitation, get_user, invite, make_superadmin,
                      new_admin, org_of, preview, relogin, run_at_once,
                      sa_token, same_404, superadmin, user_row)
from lib import (expect, expect_error, expect_token_revoked,
                 expect_token_works, expect_user, http, login, new_email,
                 new_password, refresh, uniq)


def users_page(token, query=""):
    j = expect(http("GET", "/users" + query, token=token), 200)
    assert isinstance(j.get("users"), list), j
    assert isinstance(j.get("total"), int) and \
        not isinstance(j.get("total"), bool), "total: %r" % (j,)
    for u in j["users"]:
        expect_user(u, "listed user")
    return j


def ids(j):
    return [u["id"] for u in j["users"]]


# ------------------------------------------------------------ access

def test_admin_routes_refuse_plain_users_and_anonymous(stack):
    ensure_env(stack)
    a = new_admin(stack)
    u = add_user(a.access)
    uid = u.id
    calls = [
        ("GET", "/users", None), ("POST", "/users",
                                  {"username": uniq(), "email": new_email(),
                                   "password": new_password()}),
        ("GET", "/users/%d" % a.id, None),
        ("PATCH", "/users/%d" % a.id, {"name": "x"}),
        ("DELETE", "/users/%d" % a.id, None),
        ("POST", "/users/%d/disable" % a.id, None),
        ("POST", "/users/%d/enable" % a.id, None),
        ("POST", "/invitations", {"email": new_email(),
                                  "send_email": False}),
        ("GET", "/invitations", None),
        ("DELETE", "/invitations/1", None),
        ("POST", "/invitations/1/resend", None),
        ("GET", "/organization", None),
        ("PATCH", "/organization", {"name": uniq("Nope ")}),
        ("GET", "/audit", None),
    ]
    for method, path, body in calls:
        expect_error(http(method, path, body, token=u.access), 403,
                     "forbidden", msg="user on %s %s" % (method, path))
        expect_error(http(method, path, body), 401, "missing_token",
                     msg="no token on %s %s" % (method, path))
    # Nothing happened to the admin.
    j = expect(get_user(a.access, a.id), 200)
    expect_user(j["user"], id=a.id, role="admin", disabled=False, name="")
    # The user still exists and is still a user.
    expect_user(expect(get_user(a.access, uid), 200)["user"], role="user")


def test_wrong_methods_on_admin_routes_are_405(stack):
    a = new_admin(stack)
    for method, path in (("PUT", "/users"), ("DELETE", "/users"),
                         ("POST", "/users/%d" % a.id),
                         ("GET", "/users/%d/disable" % a.id),
                         ("PUT", "/invitations"),
                         ("GET", "/invitations/1/resend"),
                         ("DELETE", "/organization"),
                         ("POST", "/audit")):
        expect_error(http(method, path, token=a.access), 405,
                     "method_not_allowed", msg="%s %s" % (method, path))


# ------------------------------------------------------------- listing

def test_list_users_paging_and_total(stack):
    a = new_admin(stack)
    made = [add_user(a.access, name="Pager %d" % i) for i in range(4)]
    all_ids = [a.id] + [m.id for m in made]
    j = users_page(a.access)
    assert j["total"] == 5, "total of 5 users: %r" % j
    assert ids(j) == sorted(all_ids), "users of the organization: %r vs " \
        "%r" % (ids(j), all_ids)
    pages = []
    for page in (1, 2, 3):
        p = users_page(a.access, "?per_page=2&page=%d" % page)
        assert p["total"] == 5, "total must not depend on the page: %r" % p
        pages.append(ids(p))
    assert [len(p) for p in pages] == [2, 2, 1], pages
    assert sum(pages, []) == ids(j), "pages overlap or miss users: %r" % (
        pages,)
    beyond = users_page(a.access, "?per_page=2&page=4")
    assert beyond["users"] == [] and beyond["total"] == 5, beyond
    # per_page up to 100 is accepted.
    assert users_page(a.access, "?per_page=100")["total"] == 5


def test_list_users_search(stack):
    a = new_admin(stack)
    tag = uniq("Zq")
    b = add_user(a.access, name="Ada %s Lovelace" % tag)
    c = add_user(a.access)
    d = add_user(a.access)
    # By name, case-insensitively (ASCII).
    j = users_page(a.access, "?q=" + tag.upper())
    assert ids(j) == [b.id] and j["total"] == 1, j
    # By username and by email.
    j = users_page(a.access, "?q=" + c.username)
    assert ids(j) == [c.id] and j["total"] == 1, j
    j = users_page(a.access, "?q=" + d.email.split("@")[0].upper())
    assert ids(j) == [d.id] and j["total"] == 1, j
    # Nothing matches.
    j = users_page(a.access, "?q=" + uniq("nomatch"))
    assert j["users"] == [] and j["total"] == 0, j
    # LIKE wildcards are taken literally.
    j = users_page(a.access, "?q=%25")
    assert j["users"] == [] and j["total"] == 0, \
        "q=%% must not match everything: %r" % j
    j = users_page(a.access, "?q=_")
    assert j["users"] == [] and j["total"] == 0, \
        "q=_ must not match everything: %r" % j
    for q in ("%5C", "%27", "%22", "%27%20OR%20%271%27%3D%271"):
        j = users_page(a.access, "?q=" + q)
        assert j["users"] == [] and j["total"] == 0, (q, j)
    # The search never reaches into another organization.
    other = new_admin(stack)
    x = add_user(other.access, name="Ada %s Other" % tag)
    j = users_page(a.access, "?q=" + tag)
    assert ids(j) == [b.id], "q found a user of another organization: " \
        "%r (other %d)" % (ids(j), x.id)


def test_list_users_disabled_filter(stack):
    a = new_admin(stack)
    b = add_user(a.access)
    c = add_user(a.access)
    expect(http("POST", "/users/%d/disable" % b.id, token=a.access), 200)
    j = users_page(a.access, "?disabled=true")
    assert ids(j) == [b.id] and j["total"] == 1, j
    assert j["users"][0]["disabled"] is True, j
    j = users_page(a.access, "?disabled=false")
    assert ids(j) == sorted([a.id, c.id]) and j["total"] == 2, j
    j = users_page(a.access)
    assert ids(j) == sorted([a.id, b.id, c.id]) and j["total"] == 3, j
    # Combined with q and paging.
    j = users_page(a.access, "?disabled=false&q=%s&per_page=1" % c.username)
    assert ids(j) == [c.id] and j["total"] == 1, j


def test_list_users_invalid_query_params(stack):
    a = new_admin(stack)
    for q, field in (("page=0", "page"), ("page=-1", "page"),
                     ("page=abc", "page"), ("page=", "page"),
                     ("page=1.5", "page"),
                     ("per_page=0", "per_page"),
                     ("per_page=101", "per_page"),
                     ("per_page=x", "per_page"),
                     ("per_page=99999999999999999999999", "per_page"),
                     ("disabled=yes", "disabled"),
                     ("disabled=1", "disabled"), ("disabled=", "disabled"),
                     ("disabled=TRUE", "disabled"),
                     ("q=" + "a" * 300, "q")):
        expect_error(http("GET", "/users?" + q, token=a.access), 400,
                     "invalid_field", field=field, msg=q)


def test_list_users_judges_organization_id_first(stack):
    """docs/api.md, GET /users: the parameters are checked in their
    order, organization_id first."""
    sa = superadmin(stack)
    for q in ("organization_id=abc&page=0", "page=0&organization_id=abc",
              "organization_id=0&disabled=yes&q=" + "a" * 300):
        expect_error(http("GET", "/users?" + q, token=sa.access), 400,
                     "invalid_field", field="organization_id", msg=q)
    expect_error(http("GET", "/users?organization_id=%d&page=0" % MISSING_ID,
                      token=sa.access), 404, "not_found")
    a = new_admin(stack)
    expect_error(http("GET", "/users?organization_id=abc&page=0",
                      token=a.access), 400, "invalid_field", field="page")


# ------------------------------------------------------------ creating

def test_create_user_and_errors(stack):
    a = new_admin(stack)
    username, mail, pw = uniq(), new_email(), new_password()
    r = http("POST", "/users", {"username": username, "email": mail,
                                "password": pw, "name": "New One"},
             token=a.access)
    j = expect(r, 201)
    u = expect_user(j.get("user"), username=username, email=mail,
                    name="New One", role="user", disabled=False,
                    organizationId=org_of(a), organizationName=a.org,
                    lastLoginAt=None)
    # The new user can sign in with that password and is in a's org.
    lj = expect(login(mail, pw), 200)
    expect_user(lj["user"], id=u["id"], organizationId=org_of(a))
    # Clashes, across organizations too.
    other = new_admin(stack)
    base = {"username": uniq(), "email": new_email(),
            "password": new_password()}
    expect_error(http("POST", "/users", dict(base, username=username),
                      token=a.access), 409, "username_taken")
    expect_error(http("POST", "/users", dict(base, username=other.username),
                      token=a.access), 409, "username_taken")
    expect_error(http("POST", "/users", dict(base, email=mail.upper()),
                      token=a.access), 409, "email_taken")
    expect_error(http("POST", "/users", dict(base, email=other.email),
                      token=a.access), 409, "email_taken")
    # Field errors.
    for change, field in (({"username": "a b"}, "username"),
                          ({"username": "ab"}, "username"),
                          ({"email": "nope"}, "email"),
                          ({"email": 5}, "email"),
                          ({"role": "emperor"}, "role"),
                          ({"role": 1}, "role"),
                          ({"name": "a\nb"}, "name")):
        expect_error(http("POST", "/users", dict(base, **change),
                          token=a.access), 400, "invalid_field",
                     field=field, msg=repr(change))
    for missing in ("username", "email", "password"):
        b = dict(base)
        del b[missing]
        expect_error(http("POST", "/users", b, token=a.access), 400,
                     "invalid_field", field=missing)
    expect_error(http("POST", "/users", dict(base, password="short"),
                      token=a.access), 400, "weak_password")
    # None of the refused ones exists.
    j = users_page(a.access)
    assert j["total"] == 2, "refused creations left users: %r" % j
    expect_error(login(base["username"], base["password"]), 401,
                 "invalid_credentials")


def test_create_user_role_rules(stack):
    a = new_admin(stack)
    other = new_admin(stack)
    # The default role is user; admin may be given.
    u = add_user(a.access)
    assert u.user["role"] == "user"
    ad = add_user(a.access, role="admin")
    # A new admin can administer at once.
    users_page(ad.access)
    # An admin cannot grant superadmin.
    body = {"username": uniq(), "email": new_email(),
            "password": new_password(), "role": "superadmin"}
    expect_error(http("POST", "/users", body, token=a.access), 403,
                 "forbidden")
    expect_error(login(body["username"], body["password"]), 401,
                 "invalid_credentials")
    # An admin's organizationId (body) and organization_id (query) are
    # ignored: the user lands in the admin's own organization.
    x = add_user(a.access, org_body=org_of(other),
                 query="?organization_id=%d" % org_of(other))
    assert x.user["organizationId"] == org_of(a), x.user
    assert ids(users_page(other.access)) == [other.id], \
        "an admin created a user in another organization"
    # A user cannot create users.
    expect_error(http("POST", "/users", dict(body, role="user"),
                      token=u.access), 403, "forbidden")


def test_superadmin_scope_query_and_body(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    b = new_admin(stack)
    oa, ob = org_of(a), org_of(b)
    # ?organization_id=N on GET /users.
    j = users_page(sa.access, "?organization_id=%d" % oa)
    assert ids(j) == [a.id] and j["total"] == 1, j
    # Without it: the superadmin's own organization.
    j = users_page(sa.access)
    assert a.id not in ids(j) and b.id not in ids(j), j
    assert sa.id in ids(j), j
    # organizationId in the body of POST /users.
    x = add_user(sa.access, org_body=oa)
    assert x.user["organizationId"] == oa, x.user
    # The query parameter wins over the body.
    y = add_user(sa.access, org_body=oa, query="?organization_id=%d" % ob)
    assert y.user["organizationId"] == ob, \
        "?organization_id must win over organizationId: %r" % y.user
    assert sorted(ids(users_page(a.access))) == sorted([a.id, x.id])
    assert sorted(ids(users_page(b.access))) == sorted([b.id, y.id])
    # A superadmin may create a superadmin.
    z = add_user(sa.access, role="superadmin", org_body=oa)
    assert z.user["role"] == "superadmin" and \
        z.user["organizationId"] == oa, z.user
    # GET/PATCH/disable/enable of another org's user via the query.
    q = "?organization_id=%d" % oa
    expect_user(expect(get_user(sa.access, x.id, q), 200)["user"],
                id=x.id, organizationId=oa)
    expect_error(get_user(sa.access, x.id), 404, "not_found",
                 msg="without organization_id the superadmin acts in "
                 "its own organization")
    j = expect(http("PATCH", "/users/%d%s" % (x.id, q), {"name": "By SA"},
                    token=sa.access), 200)
    expect_user(j["user"], id=x.id, name="By SA")
    expect(http("POST", "/users/%d/disable%s" % (x.id, q),
                token=sa.access), 200)
    assert user_row(stack, x.id)[2] == "1"
    expect(http("POST", "/users/%d/enable%s" % (x.id, q), token=sa.access),
           200)
    assert user_row(stack, x.id)[2] == "0"
    gone = add_user(sa.access, org_body=oa)
    expect(http("DELETE", "/users/%d%s" % (gone.id, q), token=sa.access),
           200)
    assert user_row(stack, gone.id) is None
    expect_token_revoked(gone.access)
    # A missing organization, a bad organization_id.
    expect_error(http("GET", "/users?organization_id=%d" % MISSING_ID,
                      token=sa.access), 404, "not_found")
    expect_error(http("POST", "/users", {"username": uniq(),
                                         "email": new_email(),
                                         "password": new_password(),
                                         "organizationId": MISSING_ID},
                      token=sa.access), 404, "not_found")
    for bad in ("0", "-3", "abc", ""):
        expect_error(http("GET", "/users?organization_id=" + bad,
                          token=sa.access), 400, "invalid_field",
                     field="organization_id", msg=bad)
    for bad in (0, -1, "1", 1.5):
        expect_error(http("POST", "/users", {"username": uniq(),
                                             "email": new_email(),
                                             "password": new_password(),
                                             "organizationId": bad},
                          token=sa.access), 400, "invalid_field",
                     field="organizationId", msg=repr(bad))
    # An admin's bad organization_id is ignored like a good one.
    users_page(a.access, "?organization_id=abc")


def test_an_organization_id_past_int64_is_invalid_in_body_and_query(stack):
    """One rule for organizationId (body) and organization_id (query): an
    integer from 1 to 2^63-1, else 400 invalid_field.  (Before, the body
    saturated anything larger to 2^63-1, an unknown organization: 404.)"""
    sa = superadmin(stack)
    top = 2 ** 63 - 1

    def both(value):
        q = http("GET", "/users?organization_id=%d" % value,
                 token=sa.access)
        b = http("POST", "/users", {"username": uniq(),
                                    "email": new_email(),
                                    "password": new_password(),
                                    "organizationId": value},
                 token=sa.access)
        i = http("POST", "/invitations", {"email": new_email(),
                                          "send_email": False,
                                          "organizationId": value},
                 token=sa.access)
        return q, b, i
    q, b, i = both(top)
    for r in (q, b, i):
        expect_error(r, 404, "not_found", msg="2^63-1, no such organization")
    for value in (top + 1, 2 ** 64 - 1, 2 ** 64, 10 ** 30):
        q, b, i = both(value)
        expect_error(q, 400, "invalid_field", field="organization_id",
                     msg=str(value))
        expect_error(b, 400, "invalid_field", field="organizationId",
                     msg=str(value))
        expect_error(i, 400, "invalid_field", field="organizationId",
                     msg=str(value))


# ---------------------------------------------------------- get, patch

def test_get_and_patch_user(stack):
    a = new_admin(stack)
    u = add_user(a.access, name="Before")
    j = expect(get_user(a.access, u.id), 200)
    expect_user(j["user"], id=u.id, username=u.username, email=u.email,
                name="Before", role="user", disabled=False,
                organizationId=org_of(a), organizationName=a.org)
    assert j["user"]["lastLoginAt"] is not None, "add_user signed in"
    # name and email.
    mail2 = new_email()
    j = expect(http("PATCH", "/users/%d" % u.id,
                    {"name": "After", "email": mail2}, token=a.access), 200)
    expect_user(j["user"], id=u.id, name="After", email=mail2, role="user")
    assert user_row(stack, u.id)[3:] == ("After", mail2)
    expect(login(mail2, u.password), 200)
    # The user sees the change in their profile.
    p = expect(http("GET", "/user/profile", token=u.access), 200)
    expect_user(p["user"], name="After", email=mail2)
    # {} changes nothing.
    j = expect(http("PATCH", "/users/%d" % u.id, {}, token=a.access), 200)
    expect_user(j["user"], id=u.id, name="After", email=mail2, role="user",
                disabled=False)
    # Promotion to admin applies at once, with the token already held.
    j = expect(http("PATCH", "/users/%d" % u.id, {"role": "admin"},
                    token=a.access), 200)
    expect_user(j["user"], role="admin")
    users_page(u.access)
    j = expect(http("PATCH", "/users/%d" % u.id, {"role": "user"},
                    token=a.access), 200)
    expect_user(j["user"], role="user")
    expect_error(http("GET", "/users", token=u.access), 403, "forbidden")
    # A missing id.
    expect_error(get_user(a.access, MISSING_ID), 404, "not_found")
    expect_error(http("PATCH", "/users/%d" % MISSING_ID, {"name": "x"},
                      token=a.access), 404, "not_found")
    for bad in ("0", "01", "-1", "abc"):
        expect_error(http("GET", "/users/" + bad, token=a.access), 404,
                     "not_found", msg=bad)


def test_patch_user_errors(stack):
    a = new_admin(stack)
    u = add_user(a.access, name="Keep")
    other = new_admin(stack)
    before = user_row(stack, u.id)
    expect_error(http("PATCH", "/users/%d" % u.id, {"email": other.email},
                      token=a.access), 409, "email_taken")
    expect_error(http("PATCH", "/users/%d" % u.id,
                      {"email": a.email.upper()}, token=a.access), 409,
                 "email_taken")
    for body, field in (({"email": "nope"}, "email"),
                        ({"name": 3}, "name"),
                        ({"name": "x" * 129}, "name"),
                        ({"role": "owner"}, "role"),
                        ({"disabled": "true"}, "disabled"),
                        ({"disabled": 1}, "disabled")):
        expect_error(http("PATCH", "/users/%d" % u.id, body,
                          token=a.access), 400, "invalid_field",
                     field=field, msg=repr(body))
    # An admin cannot grant superadmin, not even to themselves.
    expect_error(http("PATCH", "/users/%d" % u.id, {"role": "superadmin"},
                      token=a.access), 403, "forbidden")
    expect_error(http("PATCH", "/users/%d" % a.id, {"role": "superadmin"},
                      token=a.access), 403, "forbidden")
    assert user_row(stack, u.id) == before, "refused PATCHes changed the " \
        "user: %r -> %r" % (before, user_row(stack, u.id))
    assert user_row(stack, a.id)[1] == "admin"


def test_admin_cannot_act_on_a_superadmin_of_its_organization(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    s2 = add_user(sa.access, role="superadmin", org_body=org_of(a))
    before = user_row(stack, s2.id)
    for method, path, body in (
            ("PATCH", "/users/%d" % s2.id, {"role": "user"}),
            ("PATCH", "/users/%d" % s2.id, {"disabled": True}),
            ("PATCH", "/users/%d" % s2.id, {"email": new_email()}),
            ("PATCH", "/users/%d" % s2.id, {"name": "Renamed by admin"}),
            ("POST", "/users/%d/enable" % s2.id, None),
            ("POST", "/users/%d/disable" % s2.id, None),
            ("DELETE", "/users/%d" % s2.id, None)):
        expect_error(http(method, path, body, token=a.access), 403,
                     "forbidden", msg="admin: %s %s" % (method, path))
    assert user_row(stack, s2.id) == before
    expect_token_works(s2.access, "the superadmin's token")


# ------------------------------------------------- disable, enable, delete

def test_disable_and_enable_revoke_sessions(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    second = relogin(add_user(a.access))
    u2 = type(u)(u.username, u.email, u.password, u.org, u.body)
    relogin(u2)  # a second session of u
    j = expect(http("POST", "/users/%d/disable" % u.id, token=a.access),
               200)
    expect_user(j.get("user"), id=u.id, disabled=True)
    for s in (u, u2):
        expect_token_revoked(s.access)
        expect_error(refresh(s.refresh), 401, "invalid_token")
    expect_error(login(u.username, u.password), 403, "account_disabled")
    live = int(stack.mysql("SELECT COUNT(*) FROM sessions WHERE user_id = "
                           "%d AND revoked_at IS NULL" % u.id)[0][0])
    assert live == 0, "disable left %d live sessions" % live
    # Someone else's session is untouched.
    expect_token_works(second.access, "another user's token")
    # Disabling twice is fine.
    expect(http("POST", "/users/%d/disable" % u.id, token=a.access), 200)
    j = expect(http("POST", "/users/%d/enable" % u.id, token=a.access), 200)
    expect_user(j.get("user"), id=u.id, disabled=False)
    # The old sessions stay ended; a new login works.
    expect_error(http("GET", "/user/profile", token=u.access), 401,
                 "session_revoked")
    expect_error(refresh(u.refresh), 401, "invalid_token")
    expect_token_works(relogin(u).access)
    # PATCH disabled:true revokes too.
    j = expect(http("PATCH", "/users/%d" % u.id, {"disabled": True},
                    token=a.access), 200)
    expect_user(j["user"], disabled=True)
    expect_token_revoked(u.access)
    expect_error(refresh(u.refresh), 401, "invalid_token")
    expect(http("PATCH", "/users/%d" % u.id, {"disabled": False},
                token=a.access), 200)
    expect_token_works(relogin(u).access)
    # Missing ids.
    for act in ("disable", "enable"):
        expect_error(http("POST", "/users/%d/%s" % (MISSING_ID, act),
                          token=a.access), 404, "not_found")


def test_delete_user_revokes_sessions(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    keep = add_user(a.access)
    expect(http("DELETE", "/users/%d" % u.id, token=a.access), 200)
    expect_token_revoked(u.access)
    expect_error(refresh(u.refresh), 401, "invalid_token")
    expect_error(login(u.username, u.password), 401, "invalid_credentials")
    expect_error(get_user(a.access, u.id), 404, "not_found")
    assert user_row(stack, u.id) is None
    expect_error(http("DELETE", "/users/%d" % u.id, token=a.access), 404,
                 "not_found")
    assert ids(users_page(a.access)) == sorted([a.id, keep.id])
    expect_token_works(keep.access)
    # The username and email are free again.
    add_user(a.access)
    expect(http("POST", "/users", {"username": u.username,
                                   "email": u.email,
                                   "password": new_password()},
                token=a.access), 201)


# -------------------------------------------------- other organizations

def test_other_organizations_are_404_like_missing_ids(stack):
    a = new_admin(stack)
    b = new_admin(stack)
    v = add_user(b.access, name="Victim")
    b_admin2 = add_user(b.access, role="admin")
    inv = invite(b.access)
    inv_row = stack.mysql("SELECT code_hash, expires_at, revoked_at FROM "
                          "invitations WHERE id = %d" % inv["id"])
    victim_before = user_row(stack, v.id)
    admin2_before = user_row(stack, b_admin2.id)
    dead_inv = invite(a.access)  # an id of a's, used as a "missing" one
    expect(http("DELETE", "/invitations/%d" % dead_inv["id"],
                token=a.access), 200)
    routes = [
        ("GET", "/users/%d", None),
        ("PATCH", "/users/%d", {"name": "Hacked", "email": new_email()}),
        ("PATCH", "/users/%d", {"role": "user"}),
        ("PATCH", "/users/%d", {"disabled": True}),
        ("DELETE", "/users/%d", None),
        ("POST", "/users/%d/disable", None),
        ("POST", "/users/%d/enable", None),
    ]
    for target in (v.id, b_admin2.id, b.id):
        for method, path, body in routes:
            r = http(method, path % target, body, token=a.access)
            missing = http(method, path % MISSING_ID, body, token=a.access)
            same_404(r, missing)
    for method, path in (("DELETE", "/invitations/%d"),
                         ("POST", "/invitations/%d/resend")):
        r = http(method, path % inv["id"], token=a.access)
        missing = http(method, path % MISSING_ID, token=a.access)
        same_404(r, missing)
        revoked = http(method, path % dead_inv["id"], token=a.access)
        expect_error(revoked, 404, "not_found")
    # An admin's ?organization_id= does not open the door either.
    q = "?organization_id=%d" % org_of(b)
    for method, path, body in routes:
        r = http(method, (path % v.id) + q, body, token=a.access)
        missing = http(method, (path % MISSING_ID) + q, body,
                       token=a.access)
        same_404(r, missing)
    # b's data is unchanged.
    assert user_row(stack, v.id) == victim_before
    assert user_row(stack, b_admin2.id) == admin2_before
    assert stack.mysql("SELECT code_hash, expires_at, revoked_at FROM "
                       "invitations WHERE id = %d" % inv["id"]) == inv_row
    expect(preview(inv["code"]), 200)
    expect_token_works(v.access, "the other organization's user")
    expect_token_works(b.access, "the other organization's admin")
    j = users_page(b.access)
    assert sorted(ids(j)) == sorted([b.id, v.id, b_admin2.id]), j
    j = expect(http("GET", "/invitations", token=b.access), 200)
    assert [i["id"] for i in j["invitations"]] == [inv["id"]], j
    # And a does not see b's users in its list.
    assert ids(users_page(a.access)) == [a.id]
    assert ids(users_page(a.access, q)) == [a.id]


# ----------------------------------------------------------- last admin

def test_last_admin_cannot_remove_themselves(stack):
    a = new_admin(stack)
    u = add_user(a.access)
    for method, path, body in (
            ("POST", "/users/%d/disable" % a.id, None),
            ("DELETE", "/users/%d" % a.id, None),
            ("PATCH", "/users/%d" % a.id, {"role": "user"}),
            ("PATCH", "/users/%d" % a.id, {"disabled": True}),
            ("PATCH", "/users/%d" % a.id, {"disabled": True,
                                           "name": "Gone"})):
        expect_error(http(method, path, body, token=a.access), 409,
                     "last_admin", msg="%s %s %r" % (method, path, body))
    row = user_row(stack, a.id)
    assert row[1:4] == ("admin", "0", ""), "a refused change applied: " \
        "%r" % (row,)
    expect_token_works(a.access)
    # Harmless changes to the last admin still work.
    j = expect(http("PATCH", "/users/%d" % a.id,
                    {"name": "Still here", "role": "admin",
                     "disabled": False}, token=a.access), 200)
    expect_user(j["user"], name="Still here", role="admin", disabled=False)
    # Users are not admins: they do not count.
    assert u.user["role"] == "user"
    assert active_admins(stack, org_of(a)) == 1


def test_last_admin_cannot_be_removed_by_others(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    q = "?organization_id=%d" % org_of(a)
    for method, path, body in (
            ("POST", "/users/%d/disable" % a.id, None),
            ("DELETE", "/users/%d" % a.id, None),
            ("PATCH", "/users/%d" % a.id, {"role": "user"}),
            ("PATCH", "/users/%d" % a.id, {"disabled": True})):
        expect_error(http(method, path + q, body, token=sa.access), 409,
                     "last_admin", msg="superadmin: %s %s" % (method, path))
    assert user_row(stack, a.id)[1:3] == ("admin", "0")
    expect_token_works(a.access)


def test_two_admins_then_one(stack):
    a = new_admin(stack)
    b = add_user(a.access, role="admin")
    # With two active admins, one may step down...
    j = expect(http("PATCH", "/users/%d" % b.id, {"role": "user"},
                    token=b.access), 200)
    expect_user(j["user"], role="user")
    # ...and then a is the last one again.
    expect_error(http("POST", "/users/%d/disable" % a.id, token=a.access),
                 409, "last_admin")
    # A disabled admin does not count.
    expect(http("PATCH", "/users/%d" % b.id, {"role": "admin"},
                token=a.access), 200)
    expect(http("POST", "/users/%d/disable" % b.id, token=a.access), 200)
    for method, path, body in (
            ("POST", "/users/%d/disable" % a.id, None),
            ("DELETE", "/users/%d" % a.id, None),
            ("PATCH", "/users/%d" % a.id, {"role": "user"})):
        expect_error(http(method, path, body, token=a.access), 409,
                     "last_admin", msg="%s %s" % (method, path))
    # Deleting or demoting the disabled admin is allowed.
    expect(http("PATCH", "/users/%d" % b.id, {"role": "user"},
                token=a.access), 200)
    expect(http("DELETE", "/users/%d" % b.id, token=a.access), 200)
    # With a second active admin, a may leave: delete themselves.
    c = add_user(a.access, role="admin")
    expect(http("DELETE", "/users/%d" % a.id, token=a.access), 200)
    expect_token_revoked(a.access)
    expect_error(http("DELETE", "/users/%d" % c.id, token=c.access), 409,
                 "last_admin")
    assert active_admins(stack, org_of(c)) == 1


def test_last_active_superadmin(stack):
    s1 = make_superadmin(stack)
    org1 = org_of(s1)
    admin_here = add_user(s1.access, role="admin")
    others = [r[0] for r in stack.mysql(
        "SELECT id FROM users WHERE role = 'superadmin' AND disabled = 0 "
        "AND id <> %d" % s1.id)]
    if others:
        stack.mysql("UPDATE users SET disabled = 1 WHERE id IN (%s)"
                    % ",".join(others))
    try:
        for method, path, body in (
                ("POST", "/users/%d/disable" % s1.id, None),
                ("DELETE", "/users/%d" % s1.id, None),
                ("PATCH", "/users/%d" % s1.id, {"role": "admin"}),
                ("PATCH", "/users/%d" % s1.id, {"role": "user"}),
                ("PATCH", "/users/%d" % s1.id, {"disabled": True})):
            expect_error(http(method, path, body, token=s1.access), 409,
                         "last_admin",
                         msg="last superadmin: %s %s %r" % (method, path,
                                                            body))
        # The organization that holds the last superadmin stays.
        expect_error(http("DELETE", "/organizations/%d" % org1,
                          token=s1.access), 409, "last_admin")
        # The admin of that organization may not touch the superadmin.
        expect_error(http("POST", "/users/%d/disable" % s1.id,
                          token=admin_here.access), 403, "forbidden")
        row = user_row(stack, s1.id)
        assert row[1:3] == ("superadmin", "0"), row
        expect_token_works(s1.access)
        # A second active superadmin lifts the rule for s1...
        s2 = add_user(s1.access, role="superadmin")
        j = expect(http("PATCH", "/users/%d" % s2.id, {"role": "admin"},
                        token=s2.access), 200)
        expect_user(j["user"], role="admin")
        # ...until s2 stepped down: s1 is the last one again.
        expect_error(http("PATCH", "/users/%d" % s1.id, {"role": "admin"},
                          token=s1.access), 409, "last_admin")
        # A disabled superadmin does not count.
        expect(http("PATCH", "/users/%d" % s2.id, {"role": "superadmin"},
                    token=s1.access), 200)
        expect(http("POST", "/users/%d/disable" % s2.id, token=s1.access),
               200)
        expect_error(http("POST", "/users/%d/disable" % s1.id,
                          token=s1.access), 409, "last_admin")
        expect(http("POST", "/users/%d/enable" % s2.id, token=s1.access),
               200)
        s2 = relogin(s2)
        # Now s2 may disable s1.
        expect(http("POST", "/users/%d/disable" % s1.id, token=s2.access),
               200)
        expect_token_revoked(s1.access)
        expect_error(http("DELETE", "/users/%d" % s2.id, token=s2.access),
                     409, "last_admin")
        expect(http("POST", "/users/%d/enable" % s1.id, token=s2.access),
               200)
    finally:
        if others:
            stack.mysql("UPDATE users SET disabled = 0 WHERE id IN (%s)"
                        % ",".join(others))


# ------------------------------------------------------------- the race

def test_two_admins_demote_each_other_at_once(stack):
    sa = superadmin(stack)
    a = new_admin(stack)
    b = add_user(a.access, role="admin")
    org = org_of(a)
    q = "?organization_id=%d" % org
    rounds = 16
    for rnd in range(rounds):
        disable = rnd % 4 == 3
        if disable:
            calls = [lambda: http("POST", "/users/%d/disable" % b.id,
                                  token=a.access),
                     lambda: http("POST", "/users/%d/disable" % a.id,
                                  token=b.access)]
        else:
            calls = [lambda: http("PATCH", "/users/%d" % b.id,
                                  {"role": "user"}, token=a.access),
                     lambda: http("PATCH", "/users/%d" % a.id,
                                  {"role": "user"}, token=b.access)]
        ra, rb = run_at_once(calls)
        ok = [r for r in (ra, rb) if r.status == 200]
        assert len(ok) == 1, "round %d: exactly one must succeed:\n  %s\n" \
            "  %s" % (rnd, ra.describe(), rb.describe())
        loser = rb if ra.status == 200 else ra
        allowed = {(409, "last_admin"), (403, "forbidden")}
        if disable:
            allowed.add((401, "session_revoked"))
        assert (loser.status, loser.json.get("error")) in allowed, \
            "round %d: the loser got %s" % (rnd, loser.describe())
        n = active_admins(stack, org)
        assert n == 1, "round %d: the organization has %d active admins" % (
            rnd, n)
        # Put the loser of the race back (by the superadmin).
        demoted = b if ra.status == 200 else a
        if disable:
            expect(http("POST", "/users/%d/enable%s" % (demoted.id, q),
                        token=sa.access), 200)
            relogin(demoted)
        else:
            expect(http("PATCH", "/users/%d%s" % (demoted.id, q),
                        {"role": "admin"}, token=sa.access), 200)
        assert active_admins(stack, org) == 2
