"""
Two latch hosts on a three-node Galera cluster (make check-cluster): what
one host does, the other knows at the next request.  Host A works on node
0 first, host B on node 1.
"""

import subprocess
import time

from lib import (expect, expect_error, expect_login, expect_token_revoked,
                 http, register, verify)
from test_94_transactions import _in_thread


def _b(cluster):
    return cluster.hosts[1]


def test_cluster_is_three_synced_nodes(cluster):
    for i in range(len(cluster.nodes)):
        assert cluster.node_state(i) == "Synced", "node %d" % i
    rows = cluster.nodes[2].mysql("SHOW STATUS LIKE 'wsrep_cluster_size'")
    assert rows == [["wsrep_cluster_size", "3"]], rows


def test_every_table_has_a_primary_key(cluster):
    """Galera replicates a row by its primary key: a table without one
    would be unsafe to write on a cluster."""
    rows = cluster.nodes[1].mysql(
        "SELECT t.table_name FROM information_schema.tables t WHERE "
        "t.table_schema = 'latch' AND NOT EXISTS (SELECT 1 FROM "
        "information_schema.table_constraints c WHERE c.table_schema = "
        "t.table_schema AND c.table_name = t.table_name AND "
        "c.constraint_type = 'PRIMARY KEY')")
    assert rows == [], "tables without a primary key: %r" % rows
    n = cluster.nodes[1].mysql(
        "SELECT COUNT(*) FROM information_schema.tables WHERE "
        "table_schema = 'latch'")
    assert int(n[0][0]) >= 10, n


def test_token_from_a_works_on_b(cluster):
    a = register()
    r = http("POST", "/auth/verify", {"token": a.access},
             stack=_b(cluster))
    expect(r, 200, "host B verifies host A's token")
    r = http("POST", "/auth/login", {"identifier": a.username,
                                     "password": a.password},
             stack=_b(cluster))
    expect_login(r, 200, username=a.username)


def test_logout_on_b_refused_on_a_at_once(cluster):
    for _ in range(20):
        a = register()
        r = http("POST", "/auth/logout", {}, token=a.access,
                 stack=_b(cluster))
        expect(r, 200, "logout on host B")
        expect_token_revoked(a.access)


def test_logout_on_b_refused_on_a_while_a_lags(cluster):
    """
    Host A's node applies nothing for a while (FLUSH TABLES WITH READ
    LOCK pauses its applier): a logout through host B commits on node 1,
    and host A, reading with wsrep_sync_wait = 1, waits for its node to
    catch up instead of answering from the stale row.  (With 0 it
    answered 200.)
    """
    a = register()
    node0 = cluster.nodes[0]
    holder = subprocess.Popen(
        ["mariadb", "--no-defaults", "-S", node0.db_socket, "-u",
         node0.db_admin, "--unbuffered", "--batch", "--skip-column-names"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        holder.stdin.write("FLUSH TABLES WITH READ LOCK;\nSELECT 'held';\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "held"
        r = http("POST", "/auth/logout", {}, token=a.access,
                 stack=_b(cluster))
        expect(r, 200, "logout on host B")
        result = _in_thread(lambda: verify(a.access))
        time.sleep(1)
        holder.stdin.write("UNLOCK TABLES;\n")
        holder.stdin.close()
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
    r = result()
    expect_error(r, 401, "session_revoked", msg="host A after the lag")
