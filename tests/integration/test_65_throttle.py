"""
The per-account sign-in throttle under pressure (README "Limits"):

- concurrent guesses: an attempt is reserved in MariaDB before its hash,
  so however many requests are in flight at once (8 workers here, each
  hashing at the cost of a real deployment), a window allows exactly
  [limits] login_max_failures guesses, then 429 too_many_attempts;
- POST /user/password counts a wrong current password as a failed
  sign-in of the account and is refused while the account is locked;
- the throttle is keyed by the sign-in name as typed (case-folded), for
  known and unknown accounts alike, so 401 or 429 tells nothing about
  which names exist or which names belong to one account.
"""

import time

from adminlib import limits, retry_after, run_at_once
from lib import (expect, expect_error, expect_token_works, http, login,
                 new_email, new_password, register, uniq)

# A first lock of 48/16 = 3 s: short enough to wait for.
SHORT = {"limits__login_max_failures": 3, "limits__login_window": 60,
         "limits__login_max_delay": 48}
# For the races: 8 requests in flight at once, each hashing at a cost
# that makes the old check-then-hash window wide (tens of ms), and a
# lock that outlasts the scenario.
RACE = {"limits__login_max_failures": 3, "limits__login_window": 900,
        "limits__login_max_delay": 900, "server__workers": 8,
        "security__scrypt_n": 16384}
IN_FLIGHT = 8


def change_password(token, current, new):
    return http("POST", "/user/password",
                {"current_password": current, "new_password": new},
                token=token)


def statuses(rs):
    return sorted(r.status for r in rs)


def expect_exactly(rs, n, what):
    """n answers 401 invalid_credentials, the rest 429 too_many_attempts
    with a Retry-After."""
    got = statuses(rs)
    assert got == [401] * n + [429] * (len(rs) - n), \
        "%s: %d guesses in flight, login_max_failures %d, answers %r" % (
            what, len(rs), n, got)
    for r in rs:
        if r.status == 429:
            expect_error(r, 429, "too_many_attempts")
            retry_after(r)
        else:
            expect_error(r, 401, "invalid_credentials")


# ------------------------------------------------------------ races

def test_concurrent_sign_ins_get_exactly_max_failures_guesses(stack):
    with limits(stack, **RACE):
        a = register()       # hashed at this cost, like every guess
        for ident in (a.username, a.email, uniq("ghost"), new_email()):
            rs = run_at_once([lambda i=ident: login(i, "guess-" + uniq())
                              for _ in range(IN_FLIGHT)])
            expect_exactly(rs, 3, "sign-in as %s" % ident)
            # The right password is refused too while locked.
            expect_error(login(ident, a.password), 429, "too_many_attempts")


def test_concurrent_password_changes_get_exactly_max_failures_guesses(
        stack):
    with limits(stack, **RACE):
        a = register()
        new = new_password()
        rs = run_at_once([lambda: change_password(a.access, "guess-" +
                                                  uniq(), new)
                          for _ in range(IN_FLIGHT)])
        expect_exactly(rs, 3, "POST /user/password")
        expect_error(change_password(a.access, a.password, new), 429,
                     "too_many_attempts")
        expect_token_works(a.access, "the session after refused guesses")


def next_lock(name):
    """Guess as name until a guess gets through (401), then the
    Retry-After of the lock that guess set."""
    deadline = time.monotonic() + 30
    while True:
        r = login(name, "guess")
        if r.status == 401:
            break
        expect_error(r, 429, "too_many_attempts")
        assert time.monotonic() < deadline, "locked for good: " + \
            r.describe()
        time.sleep(0.2)
    r = login(name, "guess")
    expect_error(r, 429, "too_many_attempts")
    return retry_after(r)


def test_each_failure_past_the_limit_doubles_the_lock(stack):
    """login_max_delay 32: locks of 2, 4, 8 s (the statement that
    reserves an attempt computes them)."""
    with limits(stack, limits__login_max_failures=3,
                limits__login_window=60, limits__login_max_delay=32):
        name = uniq("ghost")
        for _ in range(2):
            expect_error(login(name, "guess"), 401, "invalid_credentials")
        got = [next_lock(name) for _ in range(3)]
        assert 1 <= got[0] <= 2 and 3 <= got[1] <= 4 and \
            7 <= got[2] <= 8, \
            "Retry-After of three locks in a row: %r" % got


# ------------------------------------------------- POST /user/password

def test_password_change_counts_as_a_failed_sign_in(stack):
    with limits(stack, **SHORT):
        a = register()
        new = new_password()
        for _ in range(3):
            expect_error(change_password(a.access, "wrong-" + a.password,
                                         new), 401, "invalid_credentials")
        # Locked: the right current password too, and sign-in by either
        # name of the account.
        r = change_password(a.access, a.password, new)
        expect_error(r, 429, "too_many_attempts")
        wait = retry_after(r)
        assert wait <= 3, "the first lock is login_max_delay/16: %d" % wait
        for ident in (a.username, a.email):
            expect_error(login(ident, a.password), 429, "too_many_attempts")
        expect_token_works(a.access, "the session while locked")
        time.sleep(wait + 1.2)
        expect(change_password(a.access, a.password, new), 200)
        expect(login(a.username, new), 200)


def test_sign_in_lock_applies_to_password_change(stack):
    with limits(stack, **SHORT):
        a = register()
        for _ in range(3):
            expect_error(login(a.email, "wrong"), 401, "invalid_credentials")
        expect_error(change_password(a.access, a.password, new_password()),
                     429, "too_many_attempts")


# --------------------------------------------------------- enumeration

def lock(name):
    for _ in range(3):
        expect_error(login(name, "wrong-guess"), 401, "invalid_credentials",
                     msg="failing as %s" % name)


def test_case_variant_of_a_username_answers_as_for_an_unknown_one(stack):
    """Usernames are case-sensitive: after failures as "alice", "ALICE"
    (another, unknown, name) answers as it would if alice did not
    exist."""
    with limits(stack, **SHORT):
        a = register(username=uniq("alice").lower())
        ghost = uniq("ghost").lower()
        lock(a.username)
        lock(ghost)
        known = login(a.username.upper(), "wrong-guess")
        unknown = login(ghost.upper(), "wrong-guess")
        assert known.status == unknown.status, \
            "the answer tells that %s exists:\n  %s\n  %s" % (
                a.username, known.describe(), unknown.describe())
        expect_error(known, 429, "too_many_attempts")


def test_email_of_a_locked_username_answers_as_for_an_unknown_one(stack):
    """Failures under a username do not show under the account's email,
    so 401 or 429 does not link the two."""
    with limits(stack, **SHORT):
        a = register()
        ghost = uniq("ghost")
        lock(a.username)
        lock(ghost)
        mine = login(a.email, "wrong-guess")
        other = login(new_email(), "wrong-guess")
        assert mine.status == other.status, \
            "the answer links %s to %s:\n  %s\n  %s" % (
                a.username, a.email, mine.describe(), other.describe())
        expect_error(mine, 401, "invalid_credentials")
