"""
Races across two latch hosts on different Galera nodes.  Row locks are
each node's own: two transactions on two nodes that write the same row
both run, and the second to commit fails certification (a "deadlock",
1213), which latch runs again from its start (core/db.c, db_retry()).
Each scenario sends the same request to host A and host B at once, many
rounds, and holds the answers against the database: one winner, the
other refused by the rule, never a 5xx.
"""

from adminlib import (active_admins, add_user, ensure_env, invite, org_of,
                      run_at_once, superadmin)
from lib import (decode_jwt, expect, expect_error, http, login, new_password,
                 register, uniq)

ROUNDS = 12


def _on(cluster, i):
    return cluster.hosts[i % 2]


def _no_5xx(rs, what):
    for r in rs:
        assert r.status < 500, "%s: %s" % (what, r.describe())


def test_one_refresh_token_on_both_hosts_at_once(cluster):
    for rnd in range(ROUNDS):
        a = register()
        sid = int(decode_jwt(a.access)["sid"])
        rs = run_at_once([
            lambda h=h: http("POST", "/auth/refresh",
                             {"refresh_token": a.refresh}, stack=h)
            for h in cluster.hosts])
        _no_5xx(rs, "round %d" % rnd)
        ok = [r for r in rs if r.status == 200]
        assert ok, "round %d: no refresh succeeded: %s" % (
            rnd, [r.describe() for r in rs])
        for r in rs:
            if r.status != 200:
                expect_error(r, 401, "invalid_token")
        # One chain: a racing twin within refresh_reuse_interval gets the
        # same successor, never a second one.
        assert len({r.json["refresh_token"] for r in ok}) == 1, \
            "round %d: two successors" % rnd
        gens = cluster.hosts[0].mysql(
            "SELECT gen FROM session_refresh WHERE session_id = %d "
            "ORDER BY gen" % sid)
        assert gens == [["1"], ["2"]], "round %d: %r" % (rnd, gens)
        assert cluster.hosts[0].mysql(
            "SELECT revoked_at IS NULL FROM sessions WHERE id = %d"
            % sid) == [["1"]], "round %d: the session was revoked" % rnd
        expect(http("POST", "/auth/refresh",
                    {"refresh_token": ok[0].json["refresh_token"]},
                    stack=cluster.hosts[1]), 200, "the successor")


def test_one_invitation_code_on_both_hosts_at_once(cluster):
    for h in cluster.hosts[::-1]:
        ensure_env(h)
    a = register()
    for rnd in range(ROUNDS):
        inv = invite(a.access)
        names = [uniq("race") for _ in cluster.hosts]
        rs = run_at_once([
            lambda h=h, n=n: http(
                "POST", "/auth/register",
                {"invitation_code": inv["code"], "username": n,
                 "password": new_password()}, stack=h)
            for h, n in zip(cluster.hosts, names)])
        _no_5xx(rs, "round %d" % rnd)
        won = [r for r in rs if r.status == 201]
        assert len(won) == 1, "round %d: %s" % (
            rnd, [r.describe() for r in rs])
        for r in rs:
            if r.status != 201:
                expect_error(r, 409, "invitation_used")
        n = cluster.hosts[1].mysql(
            "SELECT COUNT(*) FROM users WHERE email_norm = '%s'"
            % inv["email"].lower())
        assert n == [["1"]], "round %d: %r accounts" % (rnd, n)


def test_two_admins_demote_each_other_on_two_hosts(cluster):
    sa = superadmin(cluster.hosts[0])
    a = register()
    b = add_user(a.access, role="admin")
    org = org_of(a)
    q = "?organization_id=%d" % org
    for rnd in range(ROUNDS):
        rs = run_at_once([
            lambda: http("PATCH", "/users/%d" % b.id, {"role": "user"},
                         token=a.access, stack=cluster.hosts[0]),
            lambda: http("PATCH", "/users/%d" % a.id, {"role": "user"},
                         token=b.access, stack=cluster.hosts[1])])
        _no_5xx(rs, "round %d" % rnd)
        ok = [r for r in rs if r.status == 200]
        assert len(ok) == 1, "round %d: exactly one must succeed: %s" % (
            rnd, [r.describe() for r in rs])
        loser = rs[1] if rs[0].status == 200 else rs[0]
        assert (loser.status, loser.json.get("error")) in \
            {(409, "last_admin"), (403, "forbidden")}, loser.describe()
        assert active_admins(cluster.hosts[1], org) == 1, "round %d" % rnd
        demoted = b if rs[0].status == 200 else a
        expect(http("PATCH", "/users/%d%s" % (demoted.id, q),
                    {"role": "admin"}, token=sa.access), 200)


def test_sign_in_failures_on_both_hosts_add_up(cluster):
    a = register()
    cfg = cluster.hosts[0].config_values().get("limits", {})
    most = int(cfg.get("login_max_failures", "5"))
    # One after the other, alternating hosts: the count is the cluster's.
    for i in range(most):
        r = http("POST", "/auth/login", {"identifier": a.username,
                                         "password": "guess-" + uniq()},
                 stack=_on(cluster, i))
        expect_error(r, 401, "invalid_credentials", msg="guess %d" % i)
    for h in cluster.hosts:
        r = http("POST", "/auth/login", {"identifier": a.username,
                                         "password": a.password}, stack=h)
        expect_error(r, 429, "too_many_attempts", msg="after %d guesses "
                     "on two hosts" % most)
    # At once on both hosts: never more guesses than the limit.
    b = register()
    rs = run_at_once([
        lambda i=i: http("POST", "/auth/login",
                         {"identifier": b.username,
                          "password": "guess-" + uniq()},
                         stack=_on(cluster, i))
        for i in range(2 * most)])
    _no_5xx(rs, "guesses at once")
    assert sum(r.status == 401 for r in rs) == most, \
        sorted(r.status for r in rs)
    expect_error(login(b.username, b.password), 429, "too_many_attempts")
