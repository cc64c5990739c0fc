"""
GET/PATCH /user/profile and POST /user/password.
"""

from lib import (PASSWORDS, expect, expect_error, expect_login, expect_user,
                 expect_token_revoked, expect_token_works, http, login,
                 login_ok, new_email, new_password, profile, refresh,
                 refusing, register, uniq)


def patch(token, body):
    return http("PATCH", "/user/profile", body, token=token)


def test_get_profile(stack):
    a = register(name="Katherine")
    j = expect(profile(a.access), 200)
    expect_user(j["user"], id=a.id, username=a.username, name="Katherine",
                role="admin", organizationName=a.org, disabled=False,
                organizationId=a.user["organizationId"])
    assert j["user"]["email"].lower() == a.email.lower()


def test_patch_name(stack):
    a = register()
    for name in ("Dorothy Vaughan", "Zo\u00eb \u65e5\u672c \U0001F600", ""):
        j = expect(patch(a.access, {"name": name}), 200)
        expect_user(j["user"], id=a.id, name=name)
        expect_user(expect(profile(a.access), 200)["user"], name=name)
    # Only what was sent changes.
    j = expect(patch(a.access, {}), 200)
    expect_user(j["user"], id=a.id, name="", username=a.username)
    assert j["user"]["email"].lower() == a.email.lower()


def test_patch_email_to_the_same_address_in_another_case(stack):
    a = register()
    j = expect(patch(a.access, {"email": a.email.upper()}), 200)
    assert j["user"]["email"].lower() == a.email.lower()


def test_patch_email_taken(stack):
    a, b = register(), register()
    for email in (b.email, b.email.upper()):
        expect_error(patch(a.access, {"email": email,
                                      "current_password": a.password}),
                     409, "email_taken", msg=email)
    j = expect(profile(a.access), 200)
    assert j["user"]["email"].lower() == a.email.lower(), \
        "a refused change changed the email: %r" % j["user"]


def test_patch_invalid_fields(stack):
    a = register()
    for email in ("nope", "", "a b@example.org", "a@example.org\r\nBcc: x",
                  "<a@example.org>", "a,b@example.org", 42, ["a@b.org"],
                  "x" * 250 + "@e.org"):
        expect_error(patch(a.access, {"email": email}), 400,
                     "invalid_field", field="email", msg=repr(email))
    for name in (42, ["x"], "x" * 129, "bell\x07"):
        expect_error(patch(a.access, {"name": name}), 400, "invalid_field",
                     field="name", msg=repr(name))
    expect(profile(a.access), 200)


def test_patch_cannot_change_what_is_not_the_users_to_change(stack):
    a = register()
    body = {"role": "superadmin", "username": uniq("x"), "disabled": True,
            "organizationId": 1, "id": 1, "name": "Still me"}
    r = patch(a.access, body)
    if r.status == 200:
        expect_user(r.json["user"], id=a.id, role="admin",
                    username=a.username, disabled=False,
                    organizationId=a.user["organizationId"])
    else:
        expect_error(r, 400, "invalid_field")
    expect_user(expect(profile(a.access), 200)["user"], id=a.id,
                role="admin", username=a.username, disabled=False)


def change_password(token, current, new):
    return http("POST", "/user/password",
                {"current_password": current, "new_password": new},
                token=token)


def test_password_change_with_a_wrong_current_password(stack):
    a = register()
    new = new_password()
    expect_error(change_password(a.access, a.password + "x", new), 401,
                 "invalid_credentials")
    # A wrong current password is not a reason to end the session.
    expect_token_works(a.access)
    expect_error(login(a.username, new), 401, "invalid_credentials")
    expect_login(login(a.username, a.password), 200, username=a.username)


def test_password_change_with_a_weak_password(stack):
    a = register()
    for new in (new_password(7), new_password(257)):
        expect_error(change_password(a.access, a.password, new), 400,
                     "weak_password", msg="%d characters" % len(new))
    expect_error(http("POST", "/user/password",
                      {"current_password": a.password}, token=a.access),
                 400, "invalid_field", field="new_password")
    expect_error(http("POST", "/user/password",
                      {"new_password": new_password()}, token=a.access),
                 400, "invalid_field", field="current_password")
    expect_login(login(a.username, a.password), 200, username=a.username)


def test_password_change(stack):
    a = register()
    b = login_ok(a)
    c = login_ok(a, remember_me=True)
    new = new_password()
    j = expect(change_password(a.access, a.password, new), 200)
    assert j["success"] is True
    # The other sessions are gone at once; this one still works.
    for s in (b, c):
        expect_token_revoked(s.access)
        expect_error(refresh(s.refresh), 401, "invalid_token")
    expect_token_works(a.access, "the session that changed the password")
    expect_login(refresh(a.refresh), 200, username=a.username)
    # The new password signs in, the old one does not.
    expect_login(login(a.username, new), 200, username=a.username)
    expect_error(login(a.username, a.password), 401, "invalid_credentials")


def test_a_password_change_whose_sessions_cannot_be_ended_changes_nothing(
        stack):
    """The new password, the end of the other sessions and the audit
    event are one transaction: when the sessions cannot be revoked the
    answer is 503, the old password still holds and nothing was
    changed."""
    a = register()
    b = login_ok(a)
    new = new_password()
    with refusing(stack, "sessions", "UPDATE", "NEW.user_id = %d AND "
                  "NEW.revoked_at IS NOT NULL" % a.id):
        expect_error(change_password(a.access, a.password, new), 503,
                     "service_unavailable")
    expect_login(login(a.username, a.password), 200, username=a.username)
    expect_error(login(a.username, new), 401, "invalid_credentials")
    expect_token_works(b.access, "the other session")
    # Once sessions can be ended again, the same change goes through.
    expect(change_password(a.access, a.password, new), 200)
    expect_token_revoked(b.access)


def test_password_change_to_unicode(stack):
    a = register()
    new = "p\u00e4ss\u00f6rd-\u65e5\u672c-" + uniq("")
    PASSWORDS.add(new)
    expect(change_password(a.access, a.password, new), 200)
    expect_login(login(a.email, new), 200, username=a.username)
