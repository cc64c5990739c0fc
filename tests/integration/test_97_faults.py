"""
Faults under load: a worker killed with SIGKILL while a thread pool is
making requests is replaced and the pool keeps answering (only requests in
flight on that worker may fail), and a slow FastCGI client that stalls on
STDIN cannot hold a worker beyond [server] request_timeout.  (SIGHUP with a
broken config is test_90's; MariaDB going away is test_95's.)
"""

import errno
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from stack import pid_alive

from fcgiclient import BEGIN_REQUEST, PARAMS, RESPONDER, _params, _record
from adminlib import new_admin, reload
from lib import expect, expect_error, http, new_email, wait_for

CONCURRENCY = 4
WORKERS = 2  # of the test stack


def _health_ok():
    j = expect(http("GET", "/health"), 200)
    return j.get("status") == "ok"


def _hammer(stop, results):
    while not stop.is_set():
        try:
            r = http("GET", "/health", check=False)
            results.append(r.status == 200)
        except Exception:  # a request dropped with its worker
            results.append(False)


def test_worker_killed_under_load_is_replaced(stack):
    wait_for(lambda: len(stack.worker_pids()) == WORKERS, 15,
             "a full worker pool")
    # max_requests recycles workers under load; that must not fail any
    # request, so the count below holds for the kill alone.
    master = stack.latchd_pid
    victim = None
    stop = threading.Event()
    results = [[] for _ in range(CONCURRENCY)]
    with ThreadPoolExecutor(CONCURRENCY) as ex:
        futs = [ex.submit(_hammer, stop, results[i])
                for i in range(CONCURRENCY)]
        try:
            time.sleep(0.5)
            # Workers recycle after max_requests: kill one that is alive.
            for _ in range(50):
                victim = stack.worker_pids()[0]
                try:
                    os.kill(victim, signal.SIGKILL)
                    break
                except ProcessLookupError:
                    time.sleep(0.05)
            wait_for(lambda: not pid_alive(victim), 10,
                     "worker %d to die" % victim)
            wait_for(lambda: (lambda p: len(p) == WORKERS and
                              victim not in p)(stack.worker_pids()),
                     15, "a new worker in place of %d" % victim)
            time.sleep(1.0)
        finally:
            stop.set()
            for f in futs:
                f.result(timeout=120)
    done = sum(len(r) for r in results)
    failed = sum(r.count(False) for r in results)
    assert done > 20, "too few requests under load: %d" % done
    assert failed <= CONCURRENCY, \
        "%d of %d requests failed; at most the %d in flight may" % (
            failed, done, CONCURRENCY)
    # The tail of every thread's run, after the replacement, all answered.
    for r in results:
        assert all(r[-3:]), "requests still failing after the respawn"
    assert stack.latchd_pid == master and stack.dead() is None
    assert _health_ok()


def _stall(path):
    """Open a FastCGI request on latchd's socket and stall on STDIN."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    params = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "",
              "REQUEST_URI": stack_path("/auth/login"),
              "PATH_INFO": stack_path("/auth/login"),
              "CONTENT_TYPE": "application/json",
              "CONTENT_LENGTH": "1000", "REMOTE_ADDR": "127.0.0.1",
              "SERVER_PROTOCOL": "HTTP/1.1"}
    msg = _record(BEGIN_REQUEST, struct.pack("!HB5x", RESPONDER, 0))
    msg += _record(PARAMS, _params(params)) + _record(PARAMS, b"")
    s.sendall(msg)
    return s


_BASE = ["/api"]


def stack_path(p):
    return _BASE[0] + p


def _closed_within(s, seconds):
    """Wait until the peer closes s (EOF or reset).  Returns True if so."""
    s.settimeout(seconds)
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_slow_fastcgi_client_cannot_hold_a_worker(stack):
    _BASE[0] = stack.base_path
    timeout = 3
    orig = stack.config_values()["server"].get("request_timeout", "30")
    stack.reload({"server.request_timeout": str(timeout)})
    socks = []
    try:
        master = stack.latchd_pid
        before = set(stack.worker_pids())
        # Stall every worker but keep asking: the pool must come back.
        socks = [_stall(stack.latchd_socket) for _ in range(WORKERS)]
        t0 = time.monotonic()
        for s in socks:
            assert _closed_within(s, timeout + 10 -
                                  (time.monotonic() - t0)), \
                "a stalled FastCGI request held its worker past " \
                "request_timeout"
        wait_for(lambda: len(stack.worker_pids()) == WORKERS and
                 set(stack.worker_pids()) != before, 15,
                 "respawned workers")
        for _ in range(6):
            assert _health_ok()
        assert stack.latchd_pid == master and stack.dead() is None
        with open(stack.latchd_log, encoding="utf-8",
                  errors="replace") as f:
            assert "request_timeout" in f.read(), \
                "latchd.log does not say why the worker ended"
    finally:
        for s in socks:
            s.close()
        stack.reload({"server.request_timeout": orig})


def _mount(*args):
    r = subprocess.run(["mount"] + list(args), capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, "mount %s: %s" % (" ".join(args), r.stderr)


def _spool_files(spool):
    out = []
    for sub in ("tmp", "hold", "new"):
        if os.path.isdir(os.path.join(spool, sub)):
            out += [sub + "/" + n
                    for n in os.listdir(os.path.join(spool, sub))]
    return out


def test_full_or_read_only_spool_refuses_invitations(stack):
    a = new_admin(stack)
    spool = os.path.join(stack.tmp, "tiny-spool")
    ro = os.path.join(stack.tmp, "ro-spool")
    os.makedirs(spool, exist_ok=True)
    os.makedirs(ro, exist_ok=True)
    mounts = [spool]
    orig = stack.config_values()["mail"]["spool_dir"]
    _mount("-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", spool)
    try:
        for sub in ("tmp", "new", "state", "failed"):
            os.mkdir(os.path.join(spool, sub), 0o700)
        # Fill it: the next message cannot be written whole.
        fd = os.open(os.path.join(spool, "filler"),
                     os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        finally:
            os.close(fd)
        reload(stack, {("mail", "spool_dir"): spool})
        for what in ("full", "read-only"):
            for _ in range(3):  # reach every worker
                mail = new_email()
                expect_error(http("POST", "/invitations", {"email": mail},
                                  token=a.access), 503, "mail_unavailable",
                             msg="a %s spool" % what)
                assert _spool_files(spool) == [], \
                    "a %s spool kept %r" % (what, _spool_files(spool))
            if what == "full":
                # The same spool, with room, seen through a read-only
                # bind mount (root ignores file modes, not mount flags).
                os.unlink(os.path.join(spool, "filler"))
                _mount("--bind", spool, ro)
                mounts.insert(0, ro)
                _mount("-o", "remount,bind,ro", ro)
                reload(stack, {("mail", "spool_dir"): ro})
        assert stack.latchd_pid is not None and stack.dead() is None
    finally:
        reload(stack, {("mail", "spool_dir"): orig})
        for m in mounts:
            subprocess.run(["umount", "-l", m], capture_output=True,
                           timeout=30)
    # With the spool back, invitations are mailed again.
    expect(http("POST", "/invitations", {"email": new_email()},
                token=a.access), 201)
