"""
MariaDB goes away and comes back: /health says degraded (503), requests
that need the database fail cleanly (no SQL error shown), and the same
latchd recovers by itself once the database is back.  Runs last: it stops
the database.
"""

import http.client as httpclient
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

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


def _get(stack, path, token, timeout):
    """One GET straight to lighttpd; returns the status, or raises (a
    socket timeout means a request hung)."""
    conn = httpclient.HTTPConnection("127.0.0.1", stack.port,
                                     timeout=timeout)
    try:
        conn.request("GET", stack.path(path),
                     headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def test_database_restart_under_load(stack):
    """MariaDB restarted while a thread pool makes requests: each request
    returns (503 while it is down, never a hang past [database] timeout +
    [server] request_timeout) and the pool recovers without a restart."""
    a = register()
    cfg = stack.config_values()
    guard = int(cfg.get("database", {}).get("timeout", "5")) + \
        int(cfg.get("server", {}).get("request_timeout", "30")) + 5
    master = stack.latchd_pid
    stop = threading.Event()
    seen = []

    def hammer():
        while not stop.is_set():
            try:
                seen.append(_get(stack, "/user/profile", a.access, guard))
            except socket.timeout:
                seen.append("hang")
            except OSError as e:
                seen.append("error: %r" % e)
    with ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(hammer) for _ in range(4)]
        try:
            time.sleep(0.5)
            stack.stop_db()
            time.sleep(2)
            down = len(seen)
            stack.start_db()

            def healthy():
                r = http("GET", "/health")
                return r.status == 200 and r.json.get("database") == "ok"
            wait_for(healthy, 60, "latchd to reconnect to MariaDB")
            mark = len(seen)
            time.sleep(1.5)
        finally:
            stop.set()
            for f in futs:
                f.result(timeout=guard * 2)
    bad = [s for s in seen if s not in (200, 503)]
    assert not bad, "requests under a database restart: %r" % bad[:10]
    assert 503 in seen[:down], "no 503 while the database was down"
    assert seen[mark + 4:] and all(s == 200 for s in seen[mark + 4:]), \
        "requests still failing after the reconnect: %r" % seen[mark:][:20]
    assert stack.latchd_pid == master, "latchd was restarted"
    assert stack.dead() is None
    expect(profile(a.access), 200)
