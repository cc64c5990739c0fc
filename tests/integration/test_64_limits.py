"""
Abuse limits (README "Limits"): the sign-in throttle (429
too_many_attempts, no hash work while throttled, reset by a success,
never lifted by ip_exempt), the per-IP budget shared by login, register,
refresh, password forgot, invitation preview and email confirmation
(429 too_many_requests), X-Forwarded-For honoured only from [server]
trusted_proxies, and the [mail] min_interval mail limit; and
contrib/fail2ban's filter, run by fail2ban's own fail2ban-regex over
latchd's log.

The suite's config exempts 127.0.0.1 with a huge budget; each scenario
reloads small limits and restores the previous values.  Distinct fake
client addresses (X-Forwarded-For through the trusted 127.0.0.1) keep the
scenarios from spending each other's budget.
"""

import hashlib
import os
import random
import re
import subprocess
import tempfile
import time

from adminlib import (ensure_env, forgot, invite, limits, mails_to,
                      new_admin, retry_after)
from lib import expect, expect_error, http, login, new_email, register


def fake_ip():
    return "203.0.113.%d" % random.randint(1, 254)


def xff(ip):
    return {"X-Forwarded-For": ip}


def log_has(stack, needle):
    with open(stack.latchd_log, errors="replace") as f:
        return needle in f.read()


def name_key(name):
    """The throttle's key of a sign-in name: "n:" and 32 hex digits of
    the SHA-256 of the name with ASCII case folded."""
    return "n:" + hashlib.sha256(name.lower().encode()).hexdigest()[:32]


def throttle_row(stack, name):
    return stack.mysql("SELECT failures FROM login_throttle WHERE k = '%s'"
                       % name_key(name))


def whole_minute_ahead():
    """Avoid a minute boundary in the middle of a burst."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_account_lock_resets_on_success_and_ignores_ip_exempt(stack):
    a = register()
    ip = "198.51.100.%d" % random.randint(1, 254)
    with limits(stack, limits__login_max_failures=3,
                limits__login_window=60, limits__login_max_delay=48,
                limits__ip_budget=5, limits__ip_exempt=ip,
                server__trusted_proxies="127.0.0.1"):
        for _ in range(3):
            expect_error(login(a.username, "wrong-" + a.password,
                               headers=xff(ip)), 401, "invalid_credentials")
        assert throttle_row(stack, a.username) == [["3"]]
        # Locked: even the right password, and the name in any case.
        r = login(a.username, a.password, headers=xff(ip))
        expect_error(r, 429, "too_many_attempts")
        wait = retry_after(r)
        assert wait <= 3, "the first lock is login_max_delay/16"
        r = login(a.username.upper(), "wrong", headers=xff(ip))
        expect_error(r, 429, "too_many_attempts")
        # A throttled attempt is refused before the hash: nothing counted.
        assert throttle_row(stack, a.username) == [["3"]]
        assert log_has(stack, "limit: refused kind=account key=%d "
                       % a.id)
        # The exempt address spent more than ip_budget without a 429
        # too_many_requests: ip_exempt lifts the IP budget only.
        time.sleep(wait + 1.2)
        r = login(a.username, a.password, headers=xff(ip))
        expect(r, 200)
        assert throttle_row(stack, a.username) == [], \
            "a success clears the failures"
        # An unknown name is throttled the same way.
        ghost = "ghost-%d" % random.randint(1, 10 ** 9)
        for _ in range(3):
            expect_error(login(ghost, "x", headers=xff(ip)), 401,
                         "invalid_credentials")
        expect_error(login(ghost, "x", headers=xff(ip)), 429,
                     "too_many_attempts")


def test_a_success_starts_the_failure_count_again(stack):
    """Failures one short of the limit, then the right password, in
    rounds by username, email and username again: never a lock, because
    a success clears the count of the name it used (without that the
    third round would pass login_max_failures under the username)."""
    a = register()
    with limits(stack, limits__login_max_failures=3,
                limits__login_window=900, limits__login_max_delay=48):
        for n, ident in enumerate((a.username, a.email, a.username), 1):
            for i in (1, 2):
                expect_error(login(ident, "wrong-" + a.password), 401,
                             "invalid_credentials",
                             msg="failure %d of round %d" % (i, n))
            assert throttle_row(stack, ident) == [["2"]], \
                "round %d: %r failures counted" % (n, throttle_row(
                    stack, ident))
            r = login(ident, a.password)
            expect(r, 200, "the right password in round %d" % n)
            assert throttle_row(stack, ident) == [], \
                "round %d: the success left %r" % (n, throttle_row(
                    stack, ident))
        # And the count really starts at one: a single failure now.
        expect_error(login(a.username, "wrong"), 401, "invalid_credentials")
        assert throttle_row(stack, a.username) == [["1"]], \
            throttle_row(stack, a.username)
        expect(login(a.username, a.password), 200)


LIMITED = [
    ("POST", "/auth/login", {}),
    ("POST", "/auth/register", {}),
    ("POST", "/auth/refresh", {}),
    ("POST", "/auth/password/forgot", {}),
    ("GET", "/auth/invitation", None),
    ("POST", "/user/email/confirm", {}),
]


def test_ip_budget_on_limited_routes_only(stack):
    a = register()
    ip = fake_ip()
    with limits(stack, limits__ip_budget=len(LIMITED), limits__ip_exempt="",
                server__trusted_proxies="127.0.0.1"):
        whole_minute_ahead()
        for m, p, b in LIMITED:
            r = http(m, p, b, headers=xff(ip))
            assert r.status != 429, r.describe()
        for m, p, b in LIMITED:
            r = http(m, p, b, headers=xff(ip))
            expect_error(r, 429, "too_many_requests")
            retry_after(r)
        expect(http("GET", "/health", headers=xff(ip)), 200)
        expect(http("GET", "/user/profile", token=a.access,
                    headers=xff(ip)), 200)
        assert log_has(stack, "limit: refused kind=ip key=%s " % ip)
        # Another client behind the same proxy has its own budget.
        r = http("POST", "/auth/login", {}, headers=xff(fake_ip() + ", " +
                                                   "127.0.0.1"))
        assert r.status != 429, r.describe()


def test_x_forwarded_for_ignored_from_untrusted_peer(stack):
    with limits(stack, limits__ip_budget=5, limits__ip_exempt="",
                server__trusted_proxies="192.0.2.1"):
        whole_minute_ahead()
        statuses = [http("POST", "/auth/login", {},
                         headers=xff(fake_ip())).status for _ in range(6)]
        assert 429 in statuses, "each X-Forwarded-For got its own budget " \
            "from an untrusted peer: %r" % statuses
        assert log_has(stack, "limit: refused kind=ip key=127.0.0.1 ")


def test_mail_limit(stack):
    ensure_env(stack)
    a = new_admin(stack)
    with limits(stack, mail__min_interval=60):
        for _ in range(2):
            expect(forgot(stack, a.email), 202)
        assert len(mails_to(stack, a.email)) == 1, \
            "two reset mails within min_interval"
        assert log_has(stack, "limit: refused kind=mail key=%d " % a.id)
        to = new_email()
        inv = invite(a.access, to, send=True)
        r = http("POST", "/invitations", {"email": to, "send_email": True},
                 token=a.access)
        expect_error(r, 429, "too_many_requests")
        retry_after(r)
        r = http("POST", "/invitations/%d/resend" % inv["id"],
                 token=a.access)
        expect_error(r, 429, "too_many_requests")
        assert len(mails_to(stack, to)) == 1
        # Without sending, no mail limit applies.
        invite(a.access, to, send=False)


# fail2ban, unpacked (not installed) by tools/deps.sh.
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
F2B = os.path.join(ROOT, "build", "fail2ban")


def fail2ban_regex(log):
    """The addresses contrib/fail2ban/latch.conf finds in log, one per
    matching line, as fail2ban-regex prints them."""
    prog = os.path.join(F2B, "usr", "bin", "fail2ban-regex")
    assert os.path.exists(prog), "no %s: tools/deps.sh fetches it" % prog
    env = dict(os.environ, PYTHONPATH=os.path.join(
        F2B, "usr", "lib", "python3", "dist-packages"))
    r = subprocess.run(["/usr/bin/python3", prog, "--out", "ip", log,
                        os.path.join(ROOT, "contrib", "fail2ban",
                                     "latch.conf")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout.split()


def test_fail2ban_filter_matches_its_own_example(stack):
    """The log line the filter's opening comment shows is one the filter
    bans, by the address in it."""
    path = os.path.join(ROOT, "contrib", "fail2ban", "latch.conf")
    with open(path) as f:
        lines = [l[1:].strip() for l in f if l.startswith("#")]
    example = [l for l in lines if re.match(r"latchd\[\d+\]: ", l)]
    assert len(example) == 1, "no example log line in %s: %r" % (path, lines)
    ip = re.search(r" ip=(\S+)", example[0]).group(1)
    with tempfile.NamedTemporaryFile("w", suffix=".log") as log:
        log.write(example[0] + "\n")
        log.flush()
        assert fail2ban_regex(log.name) == [ip], example[0]


def test_fail2ban_filter_finds_exactly_the_refused_addresses(stack):
    v4, v6 = fake_ip(), "2001:db8::%x" % random.randint(1, 0xffff)
    with limits(stack, limits__ip_budget=2, limits__ip_exempt="",
                server__trusted_proxies="127.0.0.1"):
        whole_minute_ahead()
        for ip in (v4, v6):
            statuses = [http("POST", "/auth/login", {},
                             headers=xff(ip)).status for _ in range(4)]
            assert 429 in statuses, (ip, statuses)
    found = fail2ban_regex(stack.latchd_log)
    assert v4 in found and v6 in found, (v4, v6, found)
    # Every refusal in the log, of every kind, and nothing else.
    with open(stack.latchd_log, errors="replace") as f:
        want = re.findall(r"latchd\[\d+\]: warn: limit: refused kind=\S+ "
                          r"key=\S+ retry_after=\d+ ip=(\S+)", f.read())
    assert sorted(found) == sorted(want), (found, want)
