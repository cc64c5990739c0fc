"""
The web pages (www/) in a real browser: headless Chromium driven by
chromium-driver, against the real stack of pagesite.Site (MariaDB, latchd
with the real mailer and an SMTP sink, lighttpd with the contrib recipes
as shipped: the pages at /, the API at /api, the authorizer on /private),
and Apache for the other mounts and the authorizer there.

In order (each scenario builds on the ones before it): the first run
(every page leads to setup; skip; create), administration (users, the
last-admin rule, organizations and switching between them, the audit
log), sign-in messages (wrong password, disabled, locked, the IP budget,
remember me), the invitation flow from the mail and by hand, forgot and
reset from the mail, profile and password, sessions (revoking another
browser's), silent refresh after expiry, two tabs refreshing at once, the
authorizer's redirect and return, the open-redirect attempt refused, the
CSP really enforced, keyboard-only use, the other mounts (Apache
proxy_fcgi, mod_fcgid, CGI; lighttpd spawning latchd), and every page's
accessibility rules, screenshots (build/screenshots/) and weight
(build/page-weights.md).  After every step the browser's console must
hold no error and no CSP violation.
"""

import http.client
import json
import os
import re
import time
import urllib.parse

import browser as br
import lib
import pagesite
import stack as stackmod
import webservers as ws
from lib import expect

PW = pagesite.PASSWORD
S = None        # the Site
A = None        # the superadmin's browser
B = None        # everyone else's
C = None        # another device
PAGE_WEIGHTS = {}
MAX_PAGE_BYTES = 50 * 1024
FIRST_TOKEN = None   # the superadmin's first access token (it expires)
FRANK = {"pw": PW}   # frank's password, as the scenarios change it


def site(stack):
    """The Site and the browsers, started by the first scenario."""
    global S, A, B, C
    if S is None:
        S = pagesite.Site(stack)
        S.start()
        A = br.Browser("browser A")
        B = br.Browser("browser B")
        C = br.Browser("browser C")
    return S


def teardown(stack):
    """Browsers, then the site; the weights measured, for the README."""
    global S, A, B, C
    errors = []
    for b in (A, B, C):
        if b is not None:
            try:
                b.quit()
            except Exception as e:  # keep stopping the others
                errors.append(str(e))
    A = B = C = None
    if S is not None:
        S.stop()
        S = None
    if PAGE_WEIGHTS:
        os.makedirs(os.path.dirname(br.SHOTS), exist_ok=True)
        with open(os.path.join(os.path.dirname(br.SHOTS),
                               "page-weights.md"), "w") as f:
            f.write("| page | files | bytes |\n|---|---|---|\n")
            for name, (n, b) in sorted(PAGE_WEIGHTS.items()):
                f.write("| %s | %d | %d |\n" % (name, n, b))
    assert not errors, errors


# ---------------------------------------------------------------- helpers

def api(method, path, body=None, token=None, port=None, base="/api",
        check=True):
    return ws.call(port or S.port, method, base + path, body, token=token,
                   check=check)


def login(username, password=PW):
    """Tokens of a fresh API session (not a browser's)."""
    r = api("POST", "/auth/login", {"identifier": username,
                                    "password": password})
    return expect(r, 200)["access_token"]


def sign_in(b, username, password=PW, remember=False, url=None):
    """Sign b in through the sign-in page; returns b on the page it lands
    on (the account, unless url says otherwise)."""
    b.clear_cookies()
    b.open(url or S.url("/signin.html"))
    b.fill("signin", identifier=username, password=password,
           remember_me=remember)
    b.submit("signin")
    return b


def refused_sign_in(b, identifier, password):
    """One sign-in on b's sign-in page that latch refuses: the text of
    the error summary, once the form can be sent again."""
    b.fill("signin", identifier=identifier, password=password)
    b.submit("signin")
    b.errors("signin")
    b.wait(lambda: b.q("#signin button").is_enabled(), "the button")
    return b.errors("signin")


def landed(b, path):
    b.ready(path)
    b.check_log()
    return b


def get(path, accept="text/html", cookie=None, port=None):
    """A plain GET (no redirect followed): (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port or S.port,
                                      timeout=30)
    try:
        h = {"Accept": accept}
        if cookie:
            h["Cookie"] = cookie
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def user_id(username):
    rows = S.sql("SELECT id FROM users WHERE username = %s"
                 % lib.sql_str(username))
    return int(rows[0][0])


def jwt_exp(token):
    return lib.jwt_parts(token)[1]["exp"]


def no_cache(b, off=True):
    b.d.execute_cdp_cmd("Network.enable", {})
    b.d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": off})


def weigh(b, name):
    """Record what page name took to load (its files and the icon,
    which Chromium fetches outside the page's own timeline); no page
    may take more than MAX_PAGE_BYTES."""
    n, size = b.weight()
    PAGE_WEIGHTS[name] = (n + 1, size + os.path.getsize(
        os.path.join(pagesite.REPO, "www", "favicon.svg")))
    assert PAGE_WEIGHTS[name][1] < MAX_PAGE_BYTES, (name,
                                                    PAGE_WEIGHTS[name])


# ------------------------------------------------------------ first run

def test_first_run_leads_to_setup(stack):
    """With no user yet, every page leads to the setup page."""
    s = site(stack)
    for p in ("/", "/index.html", "/signin.html", "/register.html",
              "/register.html?code=whatever"):
        A.open(s.url(p), ready=False)
        landed(A, "/setup.html")
        assert A.h1() == "Set up latch", A.h1()
    no_cache(A)
    try:
        A.open(s.url("/setup.html"))
        weigh(A, "setup")
    finally:
        no_cache(A, False)
    assert A.a11y_problems() == [], A.a11y_problems()
    A.shoot("setup")


def test_setup_skip(stack):
    """Skip: the DUMB-style warning, a box to tick, then authentication
    is off: the guarded path lets everyone in."""
    A.open(S.url("/setup.html"))
    assert "Warning:" in A.text() and "lets everyone in" in A.text()
    A.submit("skip")
    assert "Tick the box" in A.errors("skip")
    A.fill("skip", skip=True).submit("skip")
    A.wait_text("Authentication is off.")
    A.check_log()
    assert A.q("#skip").find_element(br.By.XPATH, "..").is_displayed() \
        is False
    A.shoot("setup-skipped")
    j = expect(api("GET", "/setup"), 200)
    assert j["auth_enabled"] is False and j["setup_required"] is True, j
    st, _, body = get("/private/report.html")
    assert st == 200 and b"The guarded report" in body, (st, body)


def test_setup_create(stack):
    """The first superadmin from the setup page, signed in at once; the
    guard asks for a session again."""
    A.open(S.url("/setup.html"))
    A.fill("create", organization="Acme <i>Pages</i>", name="Root Admin",
           username="root", email="root@example.org", password="short")
    A.submit("create")
    assert "too short" in A.errors("create")
    A.check_log(allow=(400,))
    A.fill("create", password=PW).submit("create")
    landed(A, "/account.html")
    assert "Welcome, Root Admin!" in A.text(), A.text()
    assert "Signed in as root (superadmin, Acme <i>Pages</i>)" in \
        A.text("header"), A.text("header")
    # Placed as text: the organization's name made no element.
    assert not A.qs("header i"), "HTML from the API was rendered"
    global FIRST_TOKEN
    c = A.cookies()
    assert c["latch_access"]["httpOnly"] and c["latch_refresh"]["httpOnly"]
    assert c["latch_access"]["session"], "setup does not remember"
    FIRST_TOKEN = c["latch_access"]
    j = expect(api("GET", "/setup"), 200)
    assert j["setup_required"] is False and j["auth_enabled"] is True, j
    st, h, _ = get("/private/report.html")
    assert st == 302, st
    A.shoot("account-welcome")


# -------------------------------------------------------- administration

def test_admin_adds_users(stack):
    """Users page: add users with passwords; the list, its search and
    paging in the address; names placed as text."""
    A.open(S.url("/users.html"))
    assert A.h1() == "Users"
    A.q("#add summary").click()
    for username, name, role in (
            ("dora", "Dora <img src=x onerror=alert(1)>", "user"),
            ("eve", "Eve Admin", "admin"), ("ivy", "Ivy", "user")):
        A.fill("create", username=username, name=name,
               email="%s@example.org" % username, password=PW, role=role)
        A.submit("create")
        A.wait_text("Added %s." % username)
        A.check_log()
    A.wait(lambda: "dora" in A.text("#users"), "dora in the list")
    assert "Dora <img src=x onerror=alert(1)>" in A.text("#users")
    assert not A.qs("#users img"), "HTML from the API was rendered"
    A.fill("create", username="dora", name="", email="x@example.org",
           password=PW, role="user").submit("create")
    assert "That username is taken" in A.errors("create")
    A.check_log(allow=(409,))
    A.open(S.url("/users.html?q=dor"))
    assert A.text("#count") == "1 user.", A.text("#count")
    assert A.q("#q").get_attribute("value") == "dor"
    A.open(S.url("/users.html"))
    A.shoot("users")


def test_last_admin_refusal(stack):
    """The one superadmin cannot demote or disable themselves: the page
    says why and what to do."""
    A.open(S.url("/user.html?id=%d" % user_id("root")))
    assert A.h1() == "User root"
    A.fill("role-form", role="user").submit("role-form")
    text = A.errors("role-form")
    assert "root is the last active" in text and \
        "Make someone else an admin first" in text, text
    A.check_log(allow=(409,))
    A.submit("access-form")
    assert "root is the last active" in A.errors("access-form")
    A.check_log(allow=(409,))
    A.shoot("user-last-admin")


def test_admin_changes_a_user(stack):
    """A user's page: details, role, disable and enable."""
    A.open(S.url("/user.html?id=%d" % user_id("ivy")))
    A.fill("details", name="Ivy Ingram").submit("details")
    A.wait_text("The details are saved.")
    A.fill("role-form", role="admin").submit("role-form")
    A.wait_text("ivy is now an admin.")
    A.submit("access-form")
    A.wait_text("ivy is disabled and signed out everywhere.")
    assert A.q("#access-form button").text == "Enable"
    A.submit("access-form")
    A.wait_text("ivy is enabled and can sign in again.")
    A.check_log()
    A.shoot("user")
    j = expect(api("GET", "/users/%d" % user_id("ivy"),
                   token=login("root")), 200)["user"]
    assert (j["name"], j["role"], j["disabled"]) == ("Ivy Ingram", "admin",
                                                     False), j


def test_superadmin_organizations(stack):
    """Organizations: create one with its first admin's invitation (a
    mail goes), switch the administration pages to it, rename it,
    delete another."""
    A.open(S.url("/organizations.html"))
    before = S.mail_count()
    A.fill("create", name="Beta Pages", description="The second one",
           admin_email="beta-admin@example.org").submit("create")
    A.wait_text("An invitation mail to be its admin went to")
    A.check_log()
    S.mail_to("beta-admin@example.org", before)
    A.shoot("organizations")
    link = A.wait(lambda: [a for a in A.qs("#orgs a")
                           if a.text == "Users" and "organization_id"
                           in a.get_attribute("href")][-1], "a Users link")
    link.click()
    landed(A, "/users.html?organization_id=")
    assert "You are managing Beta Pages" in A.text(), A.text()
    # The navigation keeps the scope.
    A.q("header a[href*='invitations.html']").click()
    landed(A, "/invitations.html?organization_id=")
    assert "beta-admin@example.org" in A.text("#pending")
    A.q("header a[href*='organization.html']").click()
    landed(A, "/organization.html?organization_id=")
    A.fill("org-form", name="Beta Pages Two").submit("org-form")
    A.wait_text("Saved.")
    assert "You are managing" in A.text()
    A.q(".scope a").click()      # back to one's own
    landed(A, "/organization.html")
    assert "Acme <i>Pages</i>" in A.text("#facts")
    # Delete one.
    A.open(S.url("/organizations.html"))
    A.fill("create", name="Gamma Pages", description="",
           admin_email="").submit("create")
    A.wait_text("Created Gamma Pages.")
    A.q("#create").find_element(br.By.XPATH, "preceding-sibling::div"
                                "[1]//a").click()
    landed(A, "/organization.html?organization_id=")
    A.submit("delete-form")
    assert "Tick the box" in A.errors("delete-form")
    A.fill("delete-form", confirm=True).submit("delete-form")
    landed(A, "/organizations.html?deleted=")
    assert "Deleted Gamma Pages." in A.text()
    assert "Gamma Pages" not in A.text("#orgs")


def test_audit_log(stack):
    """The audit log: newest first, filtered by event in the address."""
    A.open(S.url("/audit.html"))
    assert A.h1() == "Audit log"
    assert "Organization deleted" in A.text("#events")
    A.shoot("audit")
    A.fill("filter", event="role.change").submit("filter")
    landed(A, "/audit.html?event=role.change")
    rows = A.qs("#events tbody tr")
    assert rows and all("Role changed" in r.text for r in rows), \
        [r.text for r in rows]


def test_audit_events_are_latchs(stack):
    """The audit page's filter offers exactly the events latch writes
    (core/audit.c's table)."""
    import re
    with open(os.path.join(pagesite.REPO, "core", "audit.c")) as f:
        written = set(re.findall(r'\] = "([a-z.]+)"', f.read()))
    with open(os.path.join(pagesite.REPO, "www", "audit.html")) as f:
        offered = set(re.findall(r'<option value="([a-z.]+)"', f.read()))
    assert written and offered == written, (sorted(written - offered),
                                            sorted(offered - written))


# --------------------------------------------------------------- sign-in

def test_sign_in_wrong_password_and_remember_me(stack):
    sign_in(B, "eve", "not the password")
    text = B.errors("signin")
    assert "is not right" in text, text
    assert B.q("#identifier").get_attribute("aria-invalid") == "true"
    B.check_log()
    B.shoot("signin-error")
    # Remembered: the cookies outlive the browser; else they do not.
    sign_in(B, "eve", remember=True)
    landed(B, "/account.html")
    c = B.cookies()
    assert not c["latch_refresh"]["session"] and \
        c["latch_refresh"]["expires"] > time.time() + 86400 * 2, c
    sign_in(B, "eve")
    landed(B, "/account.html")
    c = B.cookies()
    assert c["latch_refresh"]["session"] and c["latch_csrf"]["session"], c


def test_sign_in_disabled_account(stack):
    uid = user_id("dora")
    expect(api("POST", "/users/%d/disable" % uid, token=login("root")),
           200)
    sign_in(B, "dora")
    assert "This account is disabled" in B.errors("signin")
    B.check_log(allow=(403,))
    expect(api("POST", "/users/%d/enable" % uid, token=login("root")), 200)


def test_sign_in_locked_account(stack):
    """After [limits] login_max_failures failures the account is locked:
    the page says for how long, from Retry-After."""
    B.clear_cookies()
    B.open(S.url("/signin.html"))
    for _ in range(5):
        refused_sign_in(B, "ivy", "wrong password")
    text = refused_sign_in(B, "ivy", PW)
    assert "locked" in text and "Try again in" in text and "(at " in text, \
        text
    B.check_log(allow=(429,))
    B.shoot("signin-locked")
    S.sql("DELETE FROM login_throttle")


def test_sign_in_ip_budget(stack):
    """The per-IP budget: the page says it is the network, and when."""
    try:
        S.reload(**{"limits.ip_exempt": "", "limits.ip_budget": 2})
        B.clear_cookies()
        B.open(S.url("/signin.html"))
        # The budget is per minute: keep trying across a minute's end.
        for _ in range(6):
            text = refused_sign_in(B, "nobody", "wrong")
            if "from your network" in text:
                break
        assert "from your network" in text and "Try again in" in text, text
        B.check_log(allow=(429,))
    finally:
        S.reload(**{"limits.ip_exempt": "127.0.0.1",
                    "limits.ip_budget": 60})
        S.sql("DELETE FROM login_throttle")


# ----------------------------------------------------------- invitations

def test_invitation_by_mail(stack):
    """The whole flow: invited in the page, the mail arrives, its link
    previews the invitation, the invitee registers and is signed in, and
    shows in the admin's list."""
    A.open(S.url("/invitations.html"))
    before = S.mail_count()
    A.fill("invite", email="frank@example.org", role="user")
    A.submit("invite")
    A.wait_text("The mail is on its way.")
    A.check_log()
    A.shoot("invitations")
    msg = S.mail_to("frank@example.org", before)
    link = S.link(msg, "register.html")
    assert link.startswith(S.url("/register.html?code=")), link
    B.clear_cookies()
    B.open(link)
    text = B.text("#invite-box")
    assert "You are invited to join Acme <i>Pages</i> as a user." in text \
        and "frank@example.org" in text and "Expires" in text, text
    B.check_log()
    B.shoot("register-invitation")
    B.fill("join", username="frank", name="Frank", password=PW)
    B.submit("join")
    landed(B, "/account.html")
    assert "Welcome, Frank!" in B.text()
    A.open(S.url("/users.html?q=frank"))
    assert "frank@example.org" in A.text("#users")
    A.open(S.url("/invitations.html"))
    assert "frank@example.org" not in A.text("#pending")


def test_invitation_code_by_hand(stack):
    """An invitation as a link to pass on; its code typed in on the
    register page; a used, a revoked and an expired code each say what
    happened and what to do."""
    A.open(S.url("/invitations.html"))
    A.fill("invite", email="gina@example.org", role="user")
    A.q("#by-hand").click()
    A.submit("invite")
    A.wait_text("Pass this link on to them")
    link = A.q("#invite-link").get_attribute("value")
    code = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["code"][0]
    B.clear_cookies()
    B.open(S.url("/register.html"))
    B.shoot("register")
    B.fill("code", invitation_code=code).submit("code")
    landed(B, "/register.html?code=")
    assert "gina@example.org" in B.text("#invite-box")
    B.fill("join", username="gina", name="", password=PW).submit("join")
    landed(B, "/account.html")
    B.clear_cookies()
    B.open(S.url("/register.html?code=" + code))
    assert "already used" in B.errors("code")
    B.check_log(allow=(409,))
    # Revoked.
    A.fill("invite", email="hal@example.org", role="user")
    A.q("#by-hand").click()
    A.submit("invite")
    A.wait_text("Pass this link on to them")
    code2 = urllib.parse.parse_qs(urllib.parse.urlparse(
        A.q("#invite-link").get_attribute("value")).query)["code"][0]
    row = A.wait(lambda: next((r for r in A.qs("#pending tbody tr")
                               if "hal@example.org" in r.text), None),
                 "hal's row")
    row.find_element(br.By.XPATH, ".//button[contains(., 'Revoke')]").click()
    A.wait_text("Revoked the invitation of hal@example.org.")
    A.check_log()
    B.open(S.url("/register.html?code=" + code2))
    assert "does not work" in B.errors("code")
    B.check_log(allow=(404,))
    B.shoot("register-bad-code")
    # Expired.
    r = expect(api("POST", "/invitations", {"email": "ida@example.org",
                                            "send_email": False},
                   token=login("root")), 201)
    S.sql("UPDATE invitations SET expires_at = UNIX_TIMESTAMP() - 60 "
          "WHERE id = %d" % r["invitation"]["id"])
    B.open(S.url("/register.html?code=" + r["invitation"]["code"]))
    assert "has expired" in B.errors("code")
    B.check_log(allow=(410,))


def test_api_keys(stack):
    """An admin makes an API key in the page (shown once, with its name
    as text), a service uses it, "Revoke" ends it at once; an expiry in
    the past is explained beside its field."""
    A.open(S.url("/api-keys.html"))
    A.fill("newkey", name="billing <b>service</b>", role="admin")
    A.submit("newkey")
    A.wait_text("Copy the key now")
    A.check_log()
    A.shoot("api-keys-new")
    key = A.q("#new-key").get_attribute("value")
    assert re.match(r"^latch_[A-Za-z0-9_-]{54}$", key), key
    A.wait_text("billing <b>service</b>", "#keys")
    assert A.qs("#keys b") == [], "a key's name was placed as HTML"
    expect(api("GET", "/users", token=key), 200)
    A.open(S.url("/api-keys.html"))
    A.wait_text("billing <b>service</b>", "#keys")
    assert key not in A.d.page_source, "the key shows again"
    row = A.wait(lambda: [r for r in A.qs("#keys tbody tr")
                          if "billing" in r.text][0], "the key's row")
    assert "admin" in row.text and "root" in row.text, row.text
    row.find_element(br.By.XPATH, ".//button[contains(., 'Revoke')]").click()
    A.wait_text("it no longer works")
    A.check_log()
    assert "billing" not in A.text("#keys"), A.text("#keys")
    r = api("GET", "/users", token=key, check=False)
    assert r.status == 401, r.describe()
    A.fill("newkey", name="old", role="user")
    A.d.execute_script("arguments[0].value = arguments[1];",
                       A.field("newkey", "expires"), "2020-01-01")
    A.submit("newkey")
    assert "after today" in A.errors("newkey")
    A.check_log(allow=(400,))


def test_forgot_and_reset_password(stack):
    """Forgot (the same answer for anyone), the mailed link, the reset
    page (the token leaves the address bar), sign-in with the new
    password, and the used link refused."""
    B.clear_cookies()
    B.open(S.url("/forgot.html"))
    B.shoot("forgot")
    before = S.mail_count()
    B.fill("forgot", email="frank@example.org").submit("forgot")
    B.wait_text("a mail with a link to choose a new password is on its way")
    B.check_log()
    link = S.link(S.mail_to("frank@example.org", before,
                            "Reset your password"), "reset.html")
    B.open(link)
    assert "token=" not in B.url, B.url
    B.shoot("reset")
    B.fill("reset", password="short").submit("reset")
    assert "too short" in B.errors("reset")
    FRANK["pw"] = "frank's new pass phrase"
    B.fill("reset", password=FRANK["pw"]).submit("reset")
    B.wait_text("Your new password is set")
    B.check_log(allow=(400,))
    sign_in(B, "frank@example.org", FRANK["pw"])
    landed(B, "/account.html")
    B.clear_cookies()
    B.open(link)
    B.fill("reset", password="another pass phrase").submit("reset")
    assert "does not work any more" in B.errors("reset")
    B.check_log(allow=(400,))


def test_profile_and_password(stack):
    """The account page: name, email (with the current password), the
    password; a wrong current password is the field's error, not a
    sign-out."""
    sign_in(B, "frank", FRANK["pw"])
    landed(B, "/account.html")
    B.shoot("account")
    B.fill("name-form", name="Frank Foster").submit("name-form")
    B.wait_text("Your name is saved.")
    if "email_url" in S.stack.config_values().get("mail", {}):
        B.fill("email-form", email="frank2@example.org",
               current_password="wrong password").submit("email-form")
        assert "not your current password" in B.errors("email-form")
        B.check_log()
        before = S.mail_count()
        B.fill("email-form", email="frank2@example.org",
               current_password=FRANK["pw"]).submit("email-form")
        B.wait_text("We sent a link to frank2@example.org.")
        link = S.link(S.mail_to("frank2@example.org", before),
                      "confirm-email.html")
        B.open(link)
        assert "token=" not in B.url, B.url
        B.shoot("confirm-email")
        B.submit("confirm")
        B.wait_text("Your email address is now frank2@example.org.")
    else:
        # Before the email change asks for the password (issue 18), the
        # address changes at once.
        B.fill("email-form", email="frank2@example.org",
               current_password=FRANK["pw"]).submit("email-form")
        B.wait_text("Your email address is now frank2@example.org.")
    B.check_log()
    B.open(S.url("/account.html"))
    B.fill("password-form", current_password="wrong password",
           new_password="frank's other pass phrase").submit("password-form")
    assert "not your current password" in B.errors("password-form")
    B.check_log()
    assert "/account.html" in B.url
    B.fill("password-form", current_password=FRANK["pw"],
           new_password="frank's other pass phrase").submit("password-form")
    B.wait_text("Your password is changed")
    B.check_log()
    FRANK["pw"] = "frank's other pass phrase"
    j = expect(api("GET", "/user/profile", token=login("frank",
                                                        FRANK["pw"])),
               200)["user"]
    assert (j["name"], j["email"]) == ("Frank Foster",
                                       "frank2@example.org"), j


def test_sessions_and_revoking_another(stack):
    """Sessions list ("This device" marked); signing out another browser
    from it: that browser is signed out at its next call."""
    sign_in(C, "frank", FRANK["pw"])
    landed(C, "/account.html")
    sign_in(B, "frank", FRANK["pw"])
    landed(B, "/account.html")
    rows = B.qs("#sessions tbody tr")
    assert len(rows) >= 2 and len([r for r in rows if "This device" in
                                   r.text]) == 1, [r.text for r in rows]
    B.shoot("account-sessions")
    while True:
        others = [r for r in B.qs("#sessions tbody tr")
                  if "This device" not in r.text]
        if not others:
            break
        n = len(B.qs("#sessions tbody tr"))
        others[0].find_element(br.By.XPATH, ".//button").click()
        B.wait(lambda: len(B.qs("#sessions tbody tr")) == n - 1,
               "the session to go from the list")
    assert "Signed out" in B.text()
    B.check_log()
    # C's next call: to the sign-in page, to come back to the account.
    C.fill("name-form", name="Frank C").submit("name-form")
    landed(C, "/signin.html?next=")
    assert "next=%2Faccount.html" in C.url, C.url
    C.check_log()


def test_silent_refresh_after_expiry(stack):
    """An access token past its expiry (access_ttl is 30 s here; the
    superadmin's first one, of a session still live): the page refreshes
    from the refresh cookie and the call goes through, the person sees
    nothing; likewise when the access cookie is gone altogether."""
    old = FIRST_TOKEN
    lib.wait_for(lambda: time.time() > jwt_exp(old["value"]) + 1,
                 pagesite.ACCESS_TTL + 5, "the first token to expire")
    r = api("POST", "/auth/verify", {"token": old["value"]}, check=False)
    assert r.status == 401 and r.json["error"] == "token_expired", \
        r.describe()
    A.open(S.url("/account.html"))
    A.set_cookie({k: old[k] for k in ("name", "value", "domain", "path",
                                      "httpOnly", "secure", "sameSite")})
    assert A.cookies()["latch_access"]["value"] == old["value"]
    A.fill("name-form", name="Root A. Admin").submit("name-form")
    A.wait_text("Your name is saved.")
    assert "/account.html" in A.url
    new = A.cookies()["latch_access"]["value"]
    assert new != old["value"] and jwt_exp(new) > time.time()
    A.check_log()
    A.delete_cookie("latch_access", "/")
    assert "latch_access" not in A.cookies()
    A.open(S.url("/account.html"))
    assert A.h1() == "Your account" and "latch_access" in A.cookies()
    A.check_log()


def _at_once(tabs, script):
    """Run script in every tab at the same moment (a second from now)."""
    at = int(time.time() * 1000) + 1000
    for b, handle in tabs:
        b.d.switch_to.window(handle)
        b.d.execute_script(
            "var f = function () {" + script + "};"
            "setTimeout(f, Math.max(0, arguments[0] - Date.now()));", at)


def test_two_tabs_refresh_at_once(stack):
    """Two tabs whose access token is gone refresh at the same moment:
    both stay signed in and the session lives (with the Web Locks the
    pages take, and without them: the reuse interval)."""
    sign_in(B, "frank", FRANK["pw"])
    landed(B, "/account.html")
    first = B.d.current_window_handle
    B.d.switch_to.new_window("tab")
    B.open(S.url("/account.html"))
    second = B.d.current_window_handle
    tabs = [(B, first), (B, second)]
    try:
        for locks in (True, False):
            B.delete_cookie("latch_access", "/")
            before = B.cookies()["latch_csrf"]["value"]
            if not locks:
                for _, h in tabs:
                    B.d.switch_to.window(h)
                    B.d.execute_script(
                        "Object.defineProperty(navigator, 'locks', "
                        "{value: undefined, configurable: true});")
            _at_once(tabs, "document.querySelector('#name-form button')"
                     ".click();")
            for _, h in tabs:
                B.d.switch_to.window(h)
                B.wait_text("Your name is saved.")
                assert "/account.html" in B.url, B.url
                B.check_log()
                B.open(S.url("/account.html"))
            # The refresh kept the session's CSRF value: no tab can
            # send one another tab just replaced.
            assert B.cookies()["latch_csrf"]["value"] == before
        n = S.sql("SELECT COUNT(*) FROM audit_events WHERE event = "
                  "'refresh.reuse'")[0][0]
        assert n == "0", "a session was revoked for reuse"
    finally:
        B.d.switch_to.window(second)
        B.d.close()
        B.d.switch_to.window(first)


# ------------------------------------------------- authorizer, redirects

def test_authorizer_redirect_and_return(stack):
    """A browser without a session at a guarded URL is sent to sign in
    and comes back; with only the access cookie gone it comes back
    without a sign-in; scripts keep the 401."""
    st, h, _ = get("/private/report.html?x=1")
    assert st == 302 and h["Location"] == \
        "/signin.html?next=/private/report.html%3Fx%3D1", (st, dict(h))
    st, _, body = get("/private/report.html", accept="*/*")
    assert st == 401 and json.loads(body)["error"] == "missing_token"
    C.clear_cookies()
    C.open(S.url("/private/report.html?x=1"), ready=False)
    landed(C, "/signin.html?next=")
    C.fill("signin", identifier="eve", password=PW).submit("signin")
    C.wait(lambda: "/private/report.html?x=1" in C.url, "the report")
    assert C.q("h1").text == "The guarded report"
    C.delete_cookie("latch_access", "/")
    C.open(S.url("/private/report.html"), ready=False)
    C.wait(lambda: C.url.endswith("/private/report.html") and
           C.q("h1").text == "The guarded report", "back at the report")
    C.check_log()


def test_open_redirect_refused(stack):
    """next leads only to this site: anything else ends on the account
    page."""
    evil = ["https://evil.example/x", "//evil.example/x",
            "/\\evil.example/x", "javascript:alert(1)",
            "http://127.0.0.1:%d//evil.example/x" % (S.port + 1)]
    sign_in(B, "eve", url=S.url("/signin.html?next=" +
                                urllib.parse.quote(evil[0], safe="")))
    landed(B, "/account.html")
    for n in evil:
        B.open(S.url("/signin.html?next=" + urllib.parse.quote(n, safe="")),
               ready=False)
        landed(B, "/account.html")
        assert B.url.startswith(S.base + "/"), B.url
    B.open(S.url("/signin.html?next=" + urllib.parse.quote(
        "/private/report.html?a=b#c")), ready=False)
    B.wait(lambda: B.url.startswith(S.url("/private/report.html?a=b")),
           "the guarded page")


def test_csp_is_enforced(stack):
    """The headers hold: an inline script does not run (a CSP violation
    is logged) and a string cannot reach innerHTML (Trusted Types)."""
    st, h, _ = get("/signin.html")
    csp = h["Content-Security-Policy"]
    for part in ("default-src 'self'", "frame-ancestors 'none'",
                 "require-trusted-types-for 'script'"):
        assert part in csp, csp
    assert "unsafe" not in csp
    assert h["Referrer-Policy"] == "no-referrer" and \
        h["X-Content-Type-Options"] == "nosniff", dict(h)
    A.open(S.url("/account.html"))
    # An inline style is refused (no 'unsafe-inline')...
    color = A.d.execute_script(
        "var h = document.querySelector('h1');"
        "h.setAttribute('style', 'color: rgb(255, 0, 0)');"
        "return getComputedStyle(h).color;")
    assert color != "rgb(255, 0, 0)", color
    # ... so is a script from anywhere but the site's own files, and a
    # string for innerHTML.
    r = A.d.execute_script(
        "return import('data:text/javascript,window.ranData = 1')"
        ".then(function () { return 'ran'; },"
        "      function (e) { return e.name; });")
    assert r == "TypeError" and A.d.execute_script(
        "return window.ranData") is None, r
    try:
        A.d.execute_script("document.querySelector('h1').innerHTML = "
                           "'<b>x</b>';")
        raise AssertionError("innerHTML took a string")
    except br.WebDriverException as e:
        assert "TrustedHTML" in str(e), e
    logged = [e["message"] for e in A.log() if e["source"] == "security"]
    assert any("Content Security Policy" in m for m in logged) and \
        any("TrustedHTML" in m for m in logged), logged


# --------------------------------------------------------------- keyboard

def test_keyboard_only(stack):
    """Sign in and sign out without a mouse: Tab reaches every control
    in order, with a visible focus, and Enter and Space work them."""
    C.clear_cookies()
    C.open(S.url("/signin.html"))
    C.tab_to(lambda a: a[3] == "Skip to main content", "the skip link")
    C.tab_to(lambda a: a[1] == "identifier", "the identifier")
    C.keys("eve", br.Keys.TAB)
    assert C.active()[1] == "password"
    C.keys(PW, br.Keys.TAB)
    assert C.active()[1] == "remember_me"
    C.keys(br.Keys.SPACE, br.Keys.TAB)
    assert C.q("#remember_me").is_selected()
    assert C.active()[0] == "button" and C.active()[3] == "Sign in"
    assert C.focus_visible()
    C.keys(br.Keys.ENTER)
    landed(C, "/account.html")
    C.tab_to(lambda a: a[3] == "Sign out everywhere", "sign out everywhere")
    C.keys(br.Keys.ENTER)
    landed(C, "/signin.html?signed_out=1")
    assert "You are signed out." in C.text()
    C.check_log()


# ---------------------------------------------------------------- mounts

def _sign_in_under(b, port, prefix, username="eve"):
    """Through the pages under prefix (on port): sign in, land on the
    account page, whose calls go to prefix + api/; sign out."""
    base = "http://127.0.0.1:%d%s" % (port, prefix)
    b.clear_cookies()
    b.open(base, ready=False)
    landed(b, prefix + "signin.html")
    b.fill("signin", identifier=username, password=PW).submit("signin")
    landed(b, prefix + "account.html")
    assert b.qs("#sessions tbody tr"), "no sessions listed"
    assert b.cookies()["latch_refresh"]["path"] == prefix + "api/auth"
    b.q("#sign-out").click()
    landed(b, prefix + "signin.html?signed_out=1")
    st, h, body = get(prefix + "signin.html", port=port)
    assert st == 200 and h["Content-Security-Policy"].startswith(
        "default-src 'self'") and h["Referrer-Policy"] == "no-referrer", (
            prefix, st, dict(h))
    st, h, _ = get(prefix + "js/api.js", port=port)
    assert st == 200 and h["Content-Type"].startswith(
        "text/javascript"), (prefix, st, dict(h))


def test_pages_with_latchd_spawned_by_lighttpd(stack):
    """contrib/lighttpd/latch-spawn.conf with latch-pages.conf at
    /auth/."""
    with ws.scratch(stack, "pages-spawn") as (d, procs):
        cfg = ws.derive_config(S.stack, os.path.join(d, "latch.ini"), {
            "server.workers": 2, "server.base_path": "/auth/api",
            "mail.run_mailer": False, "security.cookie_path": ""})
        procs.configs.append(cfg)
        port = stackmod.free_port()
        ws.start_lighttpd(procs, "lighttpd", port, """\
var.latch_socket = "{d}/latch.sock"
var.latch_base = "/auth/api"
var.latch_bin = "{bin}"
var.latch_config = "{cfg}"
include "{contrib}/lighttpd/latch-spawn.conf"
var.latch_pages = "/auth/"
var.latch_www = "{www}"
include "{contrib}/lighttpd/latch-pages.conf"
""".format(d=d, bin=S.stack.latchd_bin, cfg=cfg, contrib=pagesite.CONTRIB,
           www=os.path.join(pagesite.REPO, "www")))
        _sign_in_under(C, port, "/auth/")


def test_pages_under_apache(stack):
    """One Apache (children as www-data) with the pages and the API side
    by side, from the recipes as shipped with their own examples:
    proxy_fcgi and latch-pages.conf at /, mod_fcgid at /~alice/auth/
    (.htaccess only), CGI at /~bob/auth/ (latch-pages.conf again); and
    mod_authnz_fcgi guarding /private, which sends a browser to
    /signin.html and gets it back."""
    if os.geteuid() != 0:
        print("# skip test_pages_under_apache: Apache must start as root",
              flush=True)
        return
    uid, gid = ws.www_data()
    with ws.traversable(stack.dir), \
            ws.scratch(stack, "pages-apache", group=gid) as (d, procs):
        spool = os.path.join(d, "spool")
        os.makedirs(spool)
        os.chown(spool, uid, gid)
        common = {"mail.run_mailer": False, "mail.spool_dir": spool}
        # The API and the pages at / (their examples).
        sock = os.path.join(d, "latchd.sock")
        proxy, proxy_ex = ws.example_setup("apache/latch-proxy-fcgi.conf",
                                           d, LATCH_SOCKET=sock)
        pages, pages_ex = ws.example_setup("apache/latch-pages.conf", d)
        root = pages_ex["LATCH_PAGES"]
        assert proxy_ex["LATCH_BASE"] == root + "api", (proxy_ex, pages_ex)
        pagesite.copy_pages(pages_ex["LATCH_WWW"])
        proxy_cfg = ws.derive_config(S.stack, os.path.join(d, "proxy.ini"),
                                     dict(common, **{
                                         "server.listen": sock,
                                         "server.socket_mode": "0666",
                                         "server.base_path":
                                             proxy_ex["LATCH_BASE"],
                                         "server.workers": 2}))
        # bob: CGI (its example) with the pages next to it.
        bob_cfg = os.path.join(d, "bob.ini")
        cgi, cgi_ex = ws.example_setup("apache/latch-cgi.conf", d,
                                       LATCH_BIN=S.stack.latchd_bin,
                                       LATCH_CONFIG=bob_cfg)
        bob = cgi_ex["LATCH_CGI_BASE"][:-len("api")]
        ws.derive_config(S.stack, bob_cfg, dict(common, **{
            "server.base_path": cgi_ex["LATCH_CGI_BASE"],
            "security.cookie_path": ""}), group=gid)
        # alice: shared hosting, mod_fcgid, .htaccess next to the pages.
        home = os.path.join(d, "home", "alice")
        auth = os.path.join(home, "public_html", "auth")
        pagesite.copy_pages(auth)
        os.makedirs(os.path.join(home, "latch", "sbin"))
        for p in (os.path.join(d, "home"), home,
                  os.path.join(home, "latch"),
                  os.path.join(home, "latch", "sbin"),
                  os.path.join(home, "public_html")):
            os.chmod(p, 0o755)
        os.symlink(S.stack.latchd_bin,
                   os.path.join(home, "latch", "sbin", "latchd"))
        for src, dst, mode in (("latch.fcgi", "latch.fcgi", 0o755),
                               ("htaccess", ".htaccess", 0o644)):
            p = os.path.join(auth, dst)
            with open(os.path.join(pagesite.CONTRIB, "apache", "fcgid",
                                   src)) as f, open(p, "w") as g:
                g.write(f.read())
            os.chmod(p, mode)
        alice_cfg = ws.derive_config(S.stack, os.path.join(
            home, "latch", "latch.ini"), dict(common, **{
                "server.workers": 1, "server.base_path": "/~alice/auth/api",
                "security.cookie_path": ""}), group=gid)
        # The guard (its example): sends browsers to the pages at /.
        aport = stackmod.free_port()
        authz, authz_ex = ws.example_setup(
            "apache/latch-authnz-fcgi.conf", d,
            LATCH_AUTHORIZER="127.0.0.1:%d" % aport)
        authz_cfg = ws.derive_config(S.stack, os.path.join(d, "authz.ini"),
                                     dict(common, **{
                                         "server.listen":
                                             "127.0.0.1:%d" % aport,
                                         "server.login_url":
                                             root + "signin.html",
                                         "server.workers": 2}))
        procs.configs += [alice_cfg, bob_cfg, proxy_cfg, authz_cfg]
        ws.start_latchd(procs, "latchd-proxy", proxy_cfg, sock)
        ws.start_latchd(procs, "latchd-authz", authz_cfg,
                        "127.0.0.1:%d" % aport)
        guarded = os.path.join(d, "www", authz_ex["LATCH_GUARDED"].strip("/"))
        os.makedirs(guarded)
        with open(os.path.join(guarded, "report.html"), "w") as f:
            f.write("<!doctype html><title>Report</title><link rel=icon "
                    "href=data:,><h1>The guarded report</h1>\n")
        port = stackmod.free_port()
        ws.start_apache(procs, port, """\
{proxy}{pages}
Alias "/~alice" "{home}/public_html"
<Directory "{home}/public_html">
  AllowOverride FileInfo AuthConfig Options=ExecCGI,Indexes
  Require all granted
</Directory>

{cgi}Define LATCH_PAGES {bob}
Include {contrib}/apache/latch-pages.conf
{authz}""".format(proxy=proxy, pages=pages, home=home, cgi=cgi, bob=bob,
                  contrib=pagesite.CONTRIB, authz=authz))
        for prefix in (root, "/~alice/auth/", bob):
            _sign_in_under(C, port, prefix)
        # The authorizer: 302 to the pages' sign-in, and back.
        target = authz_ex["LATCH_GUARDED"] + "/report.html"
        st, h, _ = get(target, port=port)
        assert st == 302 and h["Location"].endswith(
            "%ssignin.html?next=%s" % (root, target)), (st, dict(h))
        st, _, _ = get(target, accept="*/*", port=port)
        assert st == 401, st
        C.clear_cookies()
        C.open("http://127.0.0.1:%d%s" % (port, target), ready=False)
        landed(C, root + "signin.html?next=")
        C.fill("signin", identifier="eve", password=PW).submit("signin")
        C.wait(lambda: C.url.endswith(target) and
               C.q("h1").text == "The guarded report", "the report")
        C.check_log()


# ------------------------------------------------------ every page's rules

PUBLIC = ["index.html", "signin.html", "register.html", "forgot.html",
          "reset.html", "confirm-email.html"]
SIGNED_IN = ["account.html", "users.html", "invitations.html",
             "organization.html", "audit.html", "api-keys.html",
             "organizations.html", "user.html?id=1"]


def test_every_page(stack):
    """Every page: its rules (one h1, labels, submit buttons, unique
    ids), no console error, no sideways scrolling at 360 px, a
    screenshot, and its weight: at most MAX_PAGE_BYTES of files."""
    sign_in(A, "root")
    landed(A, "/account.html")
    B.clear_cookies()
    for b, pages in ((B, PUBLIC), (A, SIGNED_IN)):
        no_cache(b)
        try:
            for p in pages:
                b.open(S.url("/" + p), ready=False)
                name = p.split(".")[0]
                if p == "index.html":      # it sends the person on
                    landed(b, "/signin.html")
                    continue
                landed(b, "/" + p.split("?")[0])
                problems = b.a11y_problems()
                assert problems == [], (p, problems)
                # Tokens only in HttpOnly cookies: nothing in the page's
                # storage, and no token the page's script could read.
                kept = b.d.execute_script(
                    "return [localStorage.length, sessionStorage.length,"
                    " document.cookie];")
                assert kept[:2] == [0, 0] and "eyJ" not in kept[2] and \
                    "latch_access" not in kept[2], (p, kept)
                weigh(b, name)
                b.shoot(name)
                b.check_log()
        finally:
            no_cache(b, False)


# ---------------------------------------------------------------- make run

def test_make_run_links_and_mail(stack):
    """make run points the mail links at its own pages (unless the config
    names others) and shows the mail it keeps in the spool."""
    import contextlib
    import io
    d = os.path.join(stack.dir, "run-links")
    os.makedirs(d)
    st = stackmod.Stack(d)
    links = stackmod.page_links(st, 8123)
    assert links == {
        ("mail", "invite_url"): "http://127.0.0.1:8123/register.html",
        ("mail", "reset_url"): "http://127.0.0.1:8123/reset.html",
        ("mail", "email_url"): "http://127.0.0.1:8123/confirm-email.html",
    }, links
    stackmod.ini_set(st.config, {("mail", "invite_url"):
                                 "https://auth.example.com/register.html",
                                 ("mail", "reset_url"):
                                 "http://127.0.0.1:8123/reset.html"})
    assert stackmod.page_links(st, 9000) == {
        ("mail", "reset_url"): "http://127.0.0.1:9000/reset.html",
        ("mail", "email_url"): "http://127.0.0.1:9000/confirm-email.html",
    }
    # The shared stack keeps its mail (run as root: no mailer).
    a = lib.register()
    new = os.path.join(stack.spool, "new")
    seen = set(os.listdir(new)) if os.path.isdir(new) else set()
    email = lib.new_email()
    expect(lib.http("POST", "/invitations", {"email": email},
                    token=a.access), 201)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stackmod.print_mail(stack.spool, seen)
    text = out.getvalue()
    assert "latch: mail to %s: You're invited to join" % email in text and \
        "  |   https://app.example.test/register?code=" in text, text
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        stackmod.print_mail(stack.spool, seen)
    assert out.getvalue() == "", out.getvalue()
