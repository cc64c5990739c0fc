"""
A transaction whose connection breaks never goes on in autocommit: a row
lock held past [database] timeout during a registration with an
invitation code and during the last-admin check, and a MariaDB restart
between two statements of one transaction, each answer 503 and leave
nothing of the transaction in the database.  (Before the fix the failed
statement was retried on a new connection in autocommit, and the rest of
the "transaction" committed statement by statement.)
"""

import os
import signal
import subprocess
import threading
import time

from adminlib import add_user, ensure_env, invite, new_admin, org_of, reload
from lib import expect, expect_error, http, new_password, uniq, wait_for

TIMEOUT = 2          # [database] timeout for these scenarios, seconds


class Holder:
    """
    A root session on the stack's MariaDB that takes a row lock in a
    transaction (lock_sql, a SELECT ... FOR UPDATE) and holds it for
    `seconds`, or (seconds None) until release().
    """

    def __init__(self, stack, lock_sql, seconds=None):
        db = stack.config_values()["database"].get("name", "latch")
        self.p = subprocess.Popen(
            ["mariadb", "--no-defaults", "-S", stack.db_socket,
             "-u", stack.db_admin, "--unbuffered", "--batch",
             "--skip-column-names", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.p.stdin.write("START TRANSACTION;\n%s;\nSELECT 'locked';\n"
                           % lock_sql)
        if seconds is not None:
            self.p.stdin.write("DO SLEEP(%s);\nROLLBACK;\n" % seconds)
            self.p.stdin.close()
        else:
            self.p.stdin.flush()
        for line in self.p.stdout:
            if line.strip() == "locked":
                return
        raise AssertionError("the lock holder failed: %s"
                             % self.p.stderr.read())

    def wait(self):
        """Wait until a timed holder has let go."""
        self.p.wait(60)

    def release(self):
        """End the holder's session, and so its transaction, now."""
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(30)


def _latch_lock_waits(stack):
    """How many of latch's transactions wait for a row lock now."""
    return int(stack.mysql(
        "SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN "
        "information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
        "WHERE p.USER = 'latch' AND t.trx_state = 'LOCK WAIT'")[0][0])


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["r"] = fn()
        except BaseException as e:  # reported by result()
            out["e"] = e
    t = threading.Thread(target=run)
    t.start()

    def result(timeout=120):
        t.join(timeout)
        assert not t.is_alive(), "the request did not return"
        if "e" in out:
            raise out["e"]
        return out["r"]
    return result


def _with_timeout(stack, fn):
    old = stack.config_values()["database"].get("timeout", "5")
    reload(stack, {("database", "timeout"): str(TIMEOUT)})
    try:
        fn()
    finally:
        reload(stack, {("database", "timeout"): old})


def _register_body(code):
    return {"invitation_code": code, "username": uniq("tx"),
            "password": new_password()}


def _nothing_registered(stack, body, inv_id):
    assert stack.mysql("SELECT COUNT(*) FROM users WHERE username = '%s'"
                       % body["username"]) == [["0"]], \
        "the failed registration created its user"
    assert stack.mysql("SELECT used_at IS NULL, used_by IS NULL FROM "
                       "invitations WHERE id = %d" % inv_id) == \
        [["1", "1"]], "the failed registration used the invitation"


def test_lock_past_timeout_during_registration(stack):
    ensure_env(stack)
    a = new_admin(stack)
    inv = invite(a.access)

    def scenario():
        body = _register_body(inv["code"])
        # Held for 1.5 timeouts: a retry after the first timeout would
        # get the row before its own timeout.
        h = Holder(stack, "SELECT id FROM invitations WHERE id = %d FOR "
                   "UPDATE" % inv["id"], seconds=TIMEOUT * 1.5)
        try:
            r = http("POST", "/auth/register", body)
        finally:
            h.wait()
        expect_error(r, 503, "service_unavailable",
                     msg="a registration whose invitation stayed locked "
                     "past [database] timeout")
        _nothing_registered(stack, body, inv["id"])
    _with_timeout(stack, scenario)
    # The invitation still works.
    expect(http("POST", "/auth/register", _register_body(inv["code"])), 201)


def test_lock_past_timeout_during_last_admin_check(stack):
    a = new_admin(stack)
    b = add_user(a.access, role="admin")

    def scenario():
        # The check locks every active superadmin first (a scan of the
        # users): a lock on b's row makes it wait.
        h = Holder(stack, "SELECT id FROM users WHERE id = %d FOR UPDATE"
                   % b.id, seconds=TIMEOUT * 1.5)
        try:
            r = http("PATCH", "/users/%d" % b.id, {"role": "user"},
                     token=a.access)
        finally:
            h.wait()
        expect_error(r, 503, "service_unavailable",
                     msg="a demotion whose last-admin check waited past "
                     "[database] timeout")
        assert stack.mysql("SELECT role FROM users WHERE id = %d" % b.id) \
            == [["admin"]], "the failed demotion was stored"
    _with_timeout(stack, scenario)
    assert org_of(b) == org_of(a)
    j = expect(http("PATCH", "/users/%d" % b.id, {"role": "user"},
                    token=a.access), 200)
    assert j["user"]["role"] == "user", j


def test_database_restart_between_two_statements(stack):
    """
    The registration's transaction locks the invitation (first
    statement), then inserts the user and marks the invitation used.  The
    workers are stopped while the first statement waits for a lock held
    here; the lock is released (the answer lands in the stopped worker's
    socket), MariaDB restarts, and the workers go on: the next statement
    meets a new server.
    """
    ensure_env(stack)
    a = new_admin(stack)
    inv = invite(a.access)
    body = _register_body(inv["code"])
    h = Holder(stack, "SELECT id FROM invitations WHERE id = %d FOR UPDATE"
               % inv["id"])
    workers = []
    try:
        result = _in_thread(lambda: http("POST", "/auth/register", body))
        wait_for(lambda: _latch_lock_waits(stack) == 1, 30,
                 "the registration to wait for the invitation's lock")
        workers = stack.worker_pids()
        for w in workers:
            os.kill(w, signal.SIGSTOP)
        h.release()
        wait_for(lambda: _latch_lock_waits(stack) == 0, 30,
                 "the lock to pass to the registration")
        stack.stop_db()
        stack.start_db()
    finally:
        h.release()
        for w in workers:
            try:
                os.kill(w, signal.SIGCONT)
            except ProcessLookupError:
                pass
    r = result()
    expect_error(r, 503, "service_unavailable",
                 msg="a registration whose transaction lost its server")
    _nothing_registered(stack, body, inv["id"])

    def answers():
        return http("GET", "/health").status == 200
    wait_for(answers, 60, "latchd to reconnect")
    expect(http("POST", "/auth/register", _register_body(inv["code"])), 201)
