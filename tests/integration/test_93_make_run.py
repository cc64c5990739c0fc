"""
"make run" (tools/run.sh, tools/stack.py run) supervises its stack like a
service manager would: MariaDB restarted under it (here: killed) is
started again, with a growing delay if it keeps dying, while latchd and
lighttpd keep running, and the API answers again without a restart of
latchd.  Its own stack, in a directory of the test stack.
"""

import os
import signal
import subprocess
import tempfile
import urllib.error
import urllib.request

from stack import children_of, free_port, pid_alive, _cmdline
from lib import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _health(port):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/api/health" % port,
                                    timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def _pids(run_pid):
    """{program: pid} of what `make run` started."""
    out = {}
    for p in children_of(run_pid):
        argv0 = os.path.basename(_cmdline(p).split(" ", 1)[0])
        out[argv0] = p
    return out


def _output(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def test_make_run_survives_a_mariadb_restart(stack):
    d = tempfile.mkdtemp(prefix="run-", dir=stack.tmp)
    port = free_port()
    outp = os.path.join(d, "make-run.out")
    env = dict(os.environ, DIR=os.path.join(d, "var"), PORT=str(port))
    with open(outp, "wb") as out:
        p = subprocess.Popen(["sh", "tools/run.sh"], cwd=REPO, env=env,
                             stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        wait_for(lambda: _health(port) == 200, 120,
                 "make run to answer on port %d" % port)
        before = _pids(p.pid)
        assert {"mariadbd", "latchd", "lighttpd"} <= set(before), before
        def back(old):
            assert p.poll() is None, "make run stopped:\n" + _output(outp)
            return _pids(p.pid).get("mariadbd") not in (None, old) and \
                _health(port) == 200
        for n in (1, 2):
            old = _pids(p.pid)["mariadbd"]
            os.kill(old, signal.SIGKILL)
            wait_for(lambda: not pid_alive(old), 30, "mariadbd to die")
            wait_for(lambda: back(old), 120,
                     "make run to start MariaDB again (%d)" % n)
            now = _pids(p.pid)
            assert now["latchd"] == before["latchd"] and \
                now["lighttpd"] == before["lighttpd"], \
                "latchd or lighttpd was restarted: %r -> %r" % (before, now)
        text = _output(outp)
        assert "mariadbd exited" in text and "in 0.5 s" in text, text
        # Died again soon: it waited longer the second time.
        assert "in 1.0 s" in text, text
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(30)
    assert p.returncode == 0, "make run ended with %s:\n%s" % (
        p.returncode, _output(outp))
    left = [q for q in before.values() if pid_alive(q)]
    assert not left, "make run left processes behind: %r" % left
