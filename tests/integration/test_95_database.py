"""
MariaDB goes away and comes back: /health says degraded (503), requests
that need the database fail cleanly (no SQL error shown), and the same
latchd recovers by itself once the database is back.  Runs last: it stops
the database.
"""

from lib import (expect, expect_login, http, login, profile, register,
                 wait_for)


def test_database_outage_and_recovery(stack):
    a = register()
    master = stack.latchd_pid
    stack.stop_db()
    try:
        # Enough requests to reach every worker.
        for _ in range(6):
            r = http("GET", "/health")
            assert r.status == 503, "health with the database down: " + \
                r.describe()
            assert r.json.get("status") == "degraded", r.describe()
            assert r.json.get("database") == "down", r.describe()
        r = login(a.username, a.password)
        assert r.status == 503, "login with the database down: " + \
            r.describe()
        assert stack.dead() is None, "a process died with the database"
        assert stack.latchd_pid == master
    finally:
        stack.start_db()

    def healthy():
        r = http("GET", "/health")
        return r.status == 200 and r.json.get("database") == "ok"
    wait_for(healthy, 60, "latchd to reconnect to MariaDB")
    # Every worker has reconnected, not only one.
    for _ in range(8):
        j = expect(http("GET", "/health"), 200)
        assert j.get("status") == "ok" and j.get("database") == "ok", j
    assert stack.latchd_pid == master, "latchd was restarted"
    expect(profile(a.access), 200)
    expect_login(login(a.username, a.password), 200, username=a.username)
    register()
