"""
Moving a user to another organization (docs/api.md, "Moving users"): a
superadmin's PATCH /users/{id} with organizationId; the user's sessions
and API keys end; the organization it leaves keeps an active admin
(409 last_admin); both organizations' audit logs say so; admins, keys
and unknown organizations are refused.
"""

import lib
from adminlib import (MISSING_ID, add_user, events, get_user, new_admin,
                      org_of, sa_token, user_row)
from lib import expect, expect_error, http


def move(token, uid, to, frm=None):
    q = "?organization_id=%d" % frm if frm is not None else ""
    return http("PATCH", "/users/%d%s" % (uid, q), {"organizationId": to},
                token=token)


def test_superadmin_moves_a_user(stack):
    sa = sa_token(stack)
    a, b = new_admin(stack), new_admin(stack)
    oa, ob = org_of(a), org_of(b)
    u = add_user(a.access, role="admin")
    key = expect(http("POST", "/api-keys", {"name": "u's key", "role":
                                            "admin"}, token=u.access),
                 201)["api_key"]

    j = expect(move(sa, u.id, ob, frm=oa), 200)
    lib.expect_user(j["user"], id=u.id, organizationId=ob,
                    organizationName=b.org, role="admin")
    assert user_row(stack, u.id)[0] == str(ob), user_row(stack, u.id)
    # Sessions and keys ended.
    lib.expect_token_revoked(u.access)
    expect_error(http("GET", "/users", token=key["key"]), 401,
                 "session_revoked")
    # Now b's, no longer a's.
    expect(get_user(b.access, u.id), 200)
    expect_error(get_user(a.access, u.id), 404, "not_found")
    # A new sign-in lands in b.
    lu = lib.login_ok(u)
    assert lu.user["organizationId"] == ob, lu.user

    # Both audit logs.
    ea = [e for e in events(a.access)["events"] if e["event"] == "user.move"]
    eb = [e for e in events(b.access)["events"] if e["event"] == "user.move"]
    assert len(ea) == 1 and ea[0]["targetId"] == u.id and \
        ea[0]["detail"] == "to organization %d" % ob, ea
    assert len(eb) == 1 and eb[0]["targetId"] == u.id and \
        eb[0]["detail"] == "from organization %d" % oa, eb
    assert [e for e in events(a.access)["events"]
            if e["event"] == "api_key.revoke" and e["targetId"] == key["id"]
            and e["detail"] == "creator moved"], "no api_key.revoke"

    # To the organization it is in: nothing moves, nothing ends.
    j = expect(move(sa, u.id, ob, frm=ob), 200)
    assert j["user"]["organizationId"] == ob
    lib.expect_token_works(lu.access)


def test_the_last_admin_cannot_leave(stack):
    sa = sa_token(stack)
    a, b = new_admin(stack), new_admin(stack)
    expect_error(move(sa, a.id, org_of(b), frm=org_of(a)), 409,
                 "last_admin")
    assert user_row(stack, a.id)[0] == str(org_of(a))
    lib.expect_token_works(a.access)
    # With a second active admin it may.
    add_user(a.access, role="admin")
    expect(move(sa, a.id, org_of(b), frm=org_of(a)), 200)


def test_who_may_move_and_where(stack):
    sa = sa_token(stack)
    a, b = new_admin(stack), new_admin(stack)
    u = add_user(a.access)
    # An admin may not move anyone away; naming its own organization
    # changes nothing.
    expect_error(move(a.access, u.id, org_of(b)), 403, "forbidden")
    expect(move(a.access, u.id, org_of(a)), 200)
    # Nor may a key.
    k = expect(http("POST", "/api-keys", {"name": "k", "role": "admin"},
                    token=a.access), 201)["api_key"]["key"]
    expect_error(move(k, u.id, org_of(b)), 403, "forbidden")
    # Unknown organization, bad ids.
    expect_error(move(sa, u.id, MISSING_ID, frm=org_of(a)), 404,
                 "not_found")
    for bad in (0, -1, "2", 1.5):
        expect_error(http("PATCH", "/users/%d?organization_id=%d" % (
            u.id, org_of(a)), {"organizationId": bad}, token=sa), 400,
            "invalid_field", field="organizationId", msg=repr(bad))
    # The scope is where the user is now.
    expect_error(move(sa, u.id, org_of(b), frm=org_of(b)), 404,
                 "not_found")
    assert user_row(stack, u.id)[0] == str(org_of(a))
    lib.expect_token_works(u.access)
