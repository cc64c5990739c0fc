"""
[database] host naming several servers: latch tries them in order and
uses the first that answers; a worker whose connection breaks connects to
the next one first (wrapping around).  On the stack's one MariaDB: a
socket path where nothing listens stands for a server that is down, a
second path to the same socket for a second server.
"""

import os

from adminlib import _log_count, reload
from lib import (expect, expect_login, login, profile, register, wait_for)

CONNECTED = "db: connected to server %d of %d ([database] host)"


def _servers(stack, hosts):
    reload(stack, {("database", "socket"): "",
                   ("database", "host"): ", ".join(hosts)})


def _restore(stack, old):
    reload(stack, {("database", "socket"): stack.db_socket,
                   ("database", "host"): old})


def _kill_latch_connections(stack):
    stack.mysql("KILL CONNECTION USER 'latch'@'localhost'")


def test_first_server_down_uses_the_second(stack):
    old = stack.config_values()["database"].get("host", "127.0.0.1")
    dead = os.path.join(stack.dir, "no-mariadb-here.sock")
    refused = _log_count(stack, "db: cannot connect to " + dead)
    second = _log_count(stack, CONNECTED % (2, 2))
    _servers(stack, [dead, stack.db_socket])
    try:
        a = register()
        expect(profile(a.access), 200, "profile through the second server")
        expect_login(login(a.username, a.password), 200)
        assert _log_count(stack, "db: cannot connect to " + dead) > \
            refused, "the first server was not tried"
        assert _log_count(stack, CONNECTED % (2, 2)) > second
    finally:
        _restore(stack, old)


def test_lost_server_the_next_one(stack):
    old = stack.config_values()["database"].get("host", "127.0.0.1")
    other = os.path.join(stack.dir, "second-server.sock")
    if not os.path.lexists(other):
        os.symlink(stack.db_socket, other)
    _servers(stack, [stack.db_socket, other])
    try:
        a = register()
        expect(profile(a.access), 200)
        nexts = _log_count(stack, CONNECTED % (2, 2))
        _kill_latch_connections(stack)
        # Every request succeeds (a read is sent again on the new
        # connection), and the workers moved to the second server.
        for _ in range(8):
            expect(profile(a.access), 200, "profile after the loss")
        wait_for(lambda: _log_count(stack, CONNECTED % (2, 2)) > nexts, 10,
                 "a worker connected to the second server")
        expect_login(login(a.username, a.password), 200)
    finally:
        _restore(stack, old)
