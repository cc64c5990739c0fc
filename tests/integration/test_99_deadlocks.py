"""
Where the server says "try again", latch does: a transaction the server
rolls back for a deadlock (ER_LOCK_DEADLOCK, 1213 — also how a Galera
cluster reports a certification conflict) runs again from its start, a
bounded number of times after a random pause, and the request succeeds
with nothing done twice.

The deadlock is a real one on the stack's MariaDB: a root session locks
the account's row, the refresh locks its token's row and waits for the
account's, and the root session then asks for the token's row.  The root
session has changed many rows first, so InnoDB picks the refresh as the
victim.  (Before the retry, the refresh answered 503.)
"""

import subprocess

from adminlib import _log_count
from lib import (decode_jwt, expect, expect_token_works, refresh, register,
                 wait_for)
from test_94_transactions import _in_thread, _latch_lock_waits

RETRY_LOG = "db: the server said try again"


class Session:
    """A root session on the stack's MariaDB fed one statement at a
    time; `say` marks where the statements before it are done."""

    def __init__(self, stack):
        self.p = subprocess.Popen(
            ["mariadb", "--no-defaults", "-S", stack.db_socket,
             "-u", stack.db_admin, "--unbuffered", "--batch",
             "--skip-column-names", "latch"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)

    def run(self, sql, say):
        self.p.stdin.write("%s;\nSELECT '%s';\n" % (sql, say))
        self.p.stdin.flush()
        for line in self.p.stdout:
            if line.strip() == say:
                return
        raise AssertionError("the root session failed: %s"
                             % self.p.stderr.read())

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(30)


def test_refresh_retried_after_a_deadlock(stack):
    a = register()
    sid = int(decode_jwt(a.access)["sid"])
    uid = int(decode_jwt(a.access)["sub"])
    stack.mysql("CREATE TABLE IF NOT EXISTS t99_ballast (id INT PRIMARY "
                "KEY, v INT NOT NULL) ENGINE=InnoDB; DELETE FROM "
                "t99_ballast; INSERT INTO t99_ballast SELECT seq, 0 FROM "
                "seq_1_to_500")
    retries = _log_count(stack, RETRY_LOG)
    b = Session(stack)
    try:
        b.run("START TRANSACTION; UPDATE t99_ballast SET v = v + 1; "
              "SELECT id FROM users WHERE id = %d FOR UPDATE" % uid,
              "locked")
        result = _in_thread(lambda: refresh(a.refresh))
        wait_for(lambda: _latch_lock_waits(stack) == 1, 30,
                 "the refresh waiting for the account's row")
        # The refresh holds its token's row: asking for it closes the
        # cycle, and InnoDB rolls back the lighter transaction.
        b.run("SELECT gen FROM session_refresh WHERE session_id = %d AND "
              "gen = 1 FOR UPDATE" % sid, "cycle")
        b.run("ROLLBACK", "released")
    finally:
        b.close()
    r = result()
    expect(r, 200, "the refresh after its deadlock")
    assert _log_count(stack, RETRY_LOG) > retries, \
        "no deadlock happened: the scenario tested nothing"
    expect_token_works(r.json["access_token"])
    # Once: one successor of the token, the session extended once.
    assert stack.mysql("SELECT gen FROM session_refresh WHERE session_id "
                       "= %d ORDER BY gen" % sid) == [["1"], ["2"]]
    r2 = refresh(r.json["refresh_token"])
    expect(r2, 200, "the successor refreshes")
    stack.mysql("DROP TABLE t99_ballast")
