"""
Two-factor sign-in in the pages (www/mfa.html, the sign-in's second step,
the organization's policy, an admin's reset), in headless Chromium
against a site of its own (pagesite.Site: lighttpd with the contrib
recipes as shipped, so the pages' CSP with Trusted Types holds), in the
style of test_89_pages.  The codes come from python3-pyotp.

In order: an admin enrols (the QR code drawn as SVG elements, never as
markup; the recovery codes shown once), signs in with a code, with a
wrong one and with a recovery code; then requires two-factor sign-in of
everyone on the organization page, and a member's every page leads to
the enrolment until it is done; the admin resets the member.  After
every step the browser's console holds no error and no CSP violation.
"""

import time

import pyotp

import browser as br
import lib
import pagesite
import webservers as ws
from lib import expect

PW = pagesite.PASSWORD
S = None
A = None        # the admin's browser
B = None        # the member's
SECRETS = {}    # username: TOTP secret, as the pages showed it
USED = {}       # username: the last step a code was typed for


def site(stack):
    global S, A, B
    if S is None:
        S = pagesite.Site(stack)
        S.start()
        A = br.Browser("browser A")
        B = br.Browser("browser B")
        j = expect(api("POST", "/setup", {
            "organization": "Two Factor Inc", "username": "tfroot",
            "email": "tfroot@example.org", "password": PW}), 201)
        root = j["access_token"]
        for name, role in (("ann", "admin"), ("bob", "user")):
            expect(api("POST", "/users", {
                "username": name, "email": name + "@example.org",
                "password": PW, "role": role}, token=root), 201)
        for b in (A, B):
            warm_up(b)
    return S


def warm_up(b):
    """A first page in a new browser, given a second chance: on a loaded
    machine a fresh renderer can miss chromedriver's first deadline."""
    try:
        b.open(S.url("/signin.html"))
    except Exception:  # a timeout of the first load only
        time.sleep(2)
        b.open(S.url("/signin.html"))
    b.log()


def teardown(stack):
    global S, A, B
    errors = []
    for b in (A, B):
        if b is not None:
            try:
                b.quit()
            except Exception as e:
                errors.append(str(e))
    A = B = None
    if S is not None:
        S.stop()
        S = None
    assert not errors, errors


def api(method, path, body=None, token=None, check=True):
    return ws.call(S.port, method, "/api" + path, body, token=token,
                   check=check)


def code(username):
    """A code of username's secret for a step not used before (the next
    one when the current one was used: one step of skew is accepted)."""
    now = int(time.time()) // 30
    step = max(now, USED.get(username, 0) + 1)
    assert step <= now + 1, "no unused step left for %s" % username
    USED[username] = step
    return pyotp.TOTP(SECRETS[username]).at(step * 30)


def safe_window():
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.2)


def sign_out(b):
    b.clear_cookies()


def password_step(b, username):
    sign_out(b)
    b.open(S.url("/signin.html"))
    b.fill("signin", identifier=username, password=PW)
    b.submit("signin")
    b.wait(lambda: b.q("#second").is_displayed(), "the second step")
    assert not b.q("#signin").is_displayed()
    # No session before the second step.
    assert "latch_access" not in b.cookies(), b.cookies()


def enrol(b, username):
    """On mfa.html: set up, scan (read the key), confirm; the recovery
    codes shown."""
    b.ready("/mfa.html")
    b.submit("start-form")
    b.wait(lambda: b.q("#enrol").is_displayed(), "the QR code")
    # The QR code: SVG elements made by the page, one path of commands.
    svg = b.q("#qr svg")
    d = b.q("#qr svg path").get_attribute("d")
    assert d and set(d) <= set("Mhvz0123456789 -"), d
    assert svg.get_attribute("role") == "img"
    assert b.d.execute_script(
        "return document.querySelectorAll('#qr svg *').length") == 2
    b.q("#enrol details summary").click()
    secret = b.q("#secret").get_attribute("value")
    assert len(secret) == 32, secret
    SECRETS[username] = secret
    b.check_log()
    b.shoot("mfa-enrol")
    safe_window()
    b.fill("confirm-form", code="000000" if pyotp.TOTP(secret).now() !=
           "000000" else "111111")
    b.submit("confirm-form")
    assert "not right" in b.errors("confirm-form")
    b.check_log(allow=(400,))
    b.fill("confirm-form", code=code(username))
    b.submit("confirm-form")
    b.wait(lambda: b.q("#codes").is_displayed(), "the recovery codes")
    codes = [li.text for li in b.qs("#code-list li")]
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    assert "Two-factor sign-in is on." in b.text()
    assert b.a11y_problems() == []
    b.shoot("mfa-recovery-codes")
    b.check_log()
    return codes


def test_admin_enrols_from_the_account_page(stack):
    site(stack)
    A.open(S.url("/signin.html"))
    A.fill("signin", identifier="ann", password=PW)
    A.submit("signin")
    A.ready("/account.html")
    assert "Off: signing in needs your password only." in A.text()
    A.q("a[href='mfa.html']").click()
    codes = enrol(A, "ann")
    A.q("#continue").click()
    A.ready("/account.html")
    assert "On since" in A.text() and "10 recovery codes left" in \
        A.text(), A.text()
    A.check_log()
    SECRETS["ann-codes"] = codes


def test_sign_in_with_a_code_a_wrong_one_and_a_recovery_code(stack):
    password_step(A, "ann")
    A.shoot("signin-second-step")
    A.fill("second", code="12345")
    A.submit("second")
    assert "not right" in A.errors("second")
    A.check_log(allow=(400,))
    A.fill("second", code=code("ann"))
    A.submit("second")
    A.ready("/account.html")
    A.check_log()
    # A recovery code, as typed from paper (upper case, no dash).
    password_step(A, "ann")
    A.fill("second", code=SECRETS["ann-codes"][0].upper().replace("-", ""))
    A.submit("second")
    A.ready("/account.html")
    assert "9 recovery codes left" in A.text(), A.text()
    A.check_log()


def test_policy_leads_a_member_to_enrol(stack):
    A.open(S.url("/organization.html"))
    A.q("#require_mfa-all").click()
    A.submit("org-form")
    A.wait_text("Required of everyone")
    A.check_log()
    # Bob signs in: every page leads to the enrolment, then back.
    sign_out(B)
    B.open(S.url("/signin.html"))
    B.fill("signin", identifier="bob", password=PW)
    B.submit("signin")
    B.ready("/mfa.html")
    assert "Your organization requires two-factor sign-in" in B.text()
    B.open(S.url("/account.html"), ready=False)
    B.ready("/mfa.html")
    assert "next=" in B.url, B.url
    B.check_log(allow=(403,))
    enrol(B, "bob")
    B.q("#continue").click()
    B.ready("/account.html")
    assert "On since" in B.text(), B.text()
    # The sessions list, which a restricted session could not read.
    B.wait(lambda: B.qs("#sessions tbody tr"), "the sessions")
    B.check_log()
    # Required: it cannot be turned off.
    B.open(S.url("/mfa.html"))
    assert not B.q("#disable-form").is_displayed()


def test_admin_resets_the_member(stack):
    uid = int(S.sql("SELECT id FROM users WHERE username = 'bob'")[0][0])
    A.open(S.url("/user.html?id=%d" % uid))
    A.submit("mfa-form")
    A.wait_text("two-factor sign-in is reset")
    A.check_log()
    A.submit("mfa-form")
    assert "has no two-factor sign-in" in A.errors("mfa-form")
    A.check_log(allow=(409,))
    # Bob's session ended; he signs in with his password and must enrol
    # again (the policy still says everyone).
    B.open(S.url("/account.html"), ready=False)
    B.ready("/signin.html")
    B.fill("signin", identifier="bob", password=PW)
    B.submit("signin")
    B.ready("/mfa.html")
    B.check_log(allow=(403,))
    assert lib.ERROR_CODE  # the helpers are loaded


def test_mfa_page_rules(stack):
    A.open(S.url("/mfa.html"))
    A.ready("/mfa.html")
    assert A.a11y_problems() == []
    A.shoot("mfa")
    A.check_log()
