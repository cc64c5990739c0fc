"""
latchctl migrate run on two hosts at once, against two nodes, on an
empty database: GET_LOCK is each node's own on Galera, so the schema_lock
row (core/db.c, db_migrate()) makes one wait for the other; both end
well and every node has the whole schema once.
"""

import os
import shutil
import subprocess

from stack import ini_set


def test_two_hosts_migrate_at_once(cluster):
    a, b = cluster.hosts
    name = "latch_mig"
    a.ensure_database(a.db_password, name=name, user="latch")
    confs = []
    for h in (a, b):
        path = os.path.join(h.dir, "migrate.ini")
        shutil.copy(h.config, path)
        os.chmod(path, 0o600)
        ini_set(path, {("database", "name"): name})
        confs.append(path)
    ps = [subprocess.Popen([h.latchctl_bin, "-c", c, "migrate"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, cwd=h.repo)
          for h, c in zip((a, b), confs)]
    outs = [p.communicate(timeout=180) for p in ps]
    for p, (out, err) in zip(ps, outs):
        assert p.returncode == 0, "migrate failed: %s%s" % (out, err)
    for i in range(len(cluster.nodes)):
        rows = cluster.nodes[i].mysql(
            "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM "
            "schema_version", db=name)
        want = a.mysql("SELECT COUNT(*), COUNT(DISTINCT version), "
                       "MAX(version) FROM schema_version")
        assert rows == want, "node %d: %r, not %r" % (i, rows, want)
