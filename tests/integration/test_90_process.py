"""
The worker pool as processes: a killed worker is replaced, workers recycle
after [server] max_requests (200 in the test stack), SIGHUP with a broken
config keeps the old one, a changed scrypt cost rehashes passwords at
the next sign-in (only with the right password), and only a worker that
dies before it accepts makes the master back off.
"""

import os
import signal
import socket

from stack import pid_alive

from adminlib import reload
from lib import (expect, expect_error, expect_login, http, login, register,
                 sql_str, wait_for)

MAX_REQUESTS = 200  # [server] max_requests of the test stack
WORKERS = 2


def health_ok(n=1):
    for _ in range(n):
        j = expect(http("GET", "/health"), 200)
        assert j.get("status") == "ok", j


def full_pool(stack):
    pids = stack.worker_pids()
    return pids if len(pids) == WORKERS else None


def test_a_killed_worker_is_replaced(stack):
    before = wait_for(lambda: full_pool(stack), 15, "a full worker pool")
    master = stack.latchd_pid
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    # Until it is really gone, a dying worker may still take one queued
    # connection from the shared socket (and drop it): that request is
    # lost with the process, as kill -9 implies.  Wait for the death, then
    # the pool must keep answering while the master replaces the worker.
    wait_for(lambda: not pid_alive(victim), 10, "worker %d to die" % victim)
    health_ok(10)
    after = wait_for(lambda: (lambda p: p if len(p) == WORKERS and
                              victim not in p else None)(
                                  stack.worker_pids()),
                     15, "a new worker in place of %d" % victim)
    assert set(after) - set(before), "no new worker pid: %r" % after
    assert stack.latchd_pid == master and stack.dead() is None
    health_ok(10)


def test_workers_recycle_after_max_requests(stack):
    before = set(wait_for(lambda: full_pool(stack), 15,
                          "a full worker pool"))
    # More requests than the whole pool may serve before recycling: at
    # least one worker passes max_requests.  None of them may fail.
    for i in range(WORKERS * MAX_REQUESTS + 20):
        r = http("GET", "/health")
        assert r.status == 200, "request %d: %s" % (i, r.describe())
    after = wait_for(
        lambda: (lambda p: p if len(p) == WORKERS and set(p) != before
                 else None)(stack.worker_pids()),
        15, "a recycled worker (pids were %r)" % sorted(before))
    assert set(after) - before, (before, after)
    assert stack.dead() is None
    health_ok(5)


def _write_config(stack, text):
    tmp = stack.config + ".new"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, stack.config)


def test_sighup_with_a_broken_config_keeps_serving(stack):
    a = register()
    good = open(stack.config).read()
    master = stack.latchd_pid
    lines = good.split("\n")
    sec = lines.index("[security]")
    bad = "\n".join(lines[:sec + 1] + ["bogus_key = 1"] + lines[sec + 1:])
    logpos = os.path.getsize(stack.latchd_log)

    def new_log():
        with open(stack.latchd_log, errors="replace") as f:
            f.seek(logpos)
            return f.read()
    try:
        _write_config(stack, bad)
        stack.sighup(wait=False)
        want = "%s:%d: [security] bogus_key" % (stack.config, sec + 2)
        wait_for(lambda: want in new_log(), 15,
                 "latchd to log %r" % want)
        assert stack.latchd_pid == master and stack.dead() is None, \
            "latchd died on a broken config"
        health_ok(6)
        expect_login(login(a.username, a.password), 200,
                     username=a.username)
        expect(http("GET", "/user/profile", token=a.access), 200)
    finally:
        _write_config(stack, good)
    # A good config is taken again (the workers are renewed).
    stack.sighup(wait=True)
    assert stack.latchd_pid == master
    health_ok(4)
    expect_login(login(a.username, a.password), 200, username=a.username)


def stored_hash(stack, username):
    rows = stack.mysql("SELECT password_hash FROM users WHERE username = "
                       + sql_str(username))
    assert len(rows) == 1, rows
    return rows[0][0]


def mcf_params(h):
    """(N, r, p) of a libscrypt MCF "$s1$NNrrpp$salt$hash"."""
    parts = h.split("$")
    assert len(parts) == 5 and parts[1] == "s1" and len(parts[2]) == 6, \
        "not a libscrypt MCF hash: %r" % h[:12]
    p = parts[2]
    return 1 << int(p[0:2], 16), int(p[2:4], 16), int(p[4:6], 16)


def test_login_rehashes_after_scrypt_n_changes(stack):
    a = register()
    h0 = stored_hash(stack, a.username)
    assert mcf_params(h0) == (1024, 8, 1), mcf_params(h0)
    try:
        stack.reload(scrypt_n=2048)
        expect_login(login(a.username, a.password), 200,
                     username=a.username)
        h1 = wait_for(lambda: (lambda h: h if h != h0 else None)(
            stored_hash(stack, a.username)), 10, "the hash to change")
        assert mcf_params(h1) == (2048, 8, 1), mcf_params(h1)
        # The new hash verifies, and a new user gets the new cost.
        expect_login(login(a.username, a.password), 200,
                     username=a.username)
        assert stored_hash(stack, a.username) == h1, \
            "rehashed again although the cost did not change"
        b = register()
        assert mcf_params(stored_hash(stack, b.username)) == (2048, 8, 1)
    finally:
        stack.reload(scrypt_n=1024)
    expect_login(login(a.username, a.password), 200, username=a.username)
    wait_for(lambda: mcf_params(stored_hash(stack, a.username))[0] == 1024,
             10, "the hash to return to N=1024")


def test_a_wrong_password_is_refused_when_the_hash_needs_a_rehash(stack):
    """The rehash path still verifies: a wrong password for an account
    whose hash has other scrypt parameters is refused and stored
    nowhere; the right one signs in and is rehashed."""
    a = register()
    h0 = stored_hash(stack, a.username)
    assert mcf_params(h0) == (1024, 8, 1), mcf_params(h0)
    try:
        stack.reload(scrypt_n=2048)
        for ident in (a.username, a.email):
            expect_error(login(ident, "wrong-" + a.password), 401,
                         "invalid_credentials", msg="wrong password, "
                         "hash with the old cost, by " + ident)
            assert stored_hash(stack, a.username) == h0, \
                "a refused sign-in changed the stored hash"
        expect_login(login(a.username, a.password), 200,
                     username=a.username)
        h1 = wait_for(lambda: (lambda h: h if h != h0 else None)(
            stored_hash(stack, a.username)), 10, "the hash to change")
        assert mcf_params(h1) == (2048, 8, 1), mcf_params(h1)
        # What was refused did not become the password.
        expect_error(login(a.username, "wrong-" + a.password), 401,
                     "invalid_credentials")
        expect_login(login(a.email, a.password), 200, username=a.username)
    finally:
        stack.reload(scrypt_n=1024)


# --------------------------------------------------------- start-up backoff

def _age(pid):
    """Seconds since process pid started."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open("/proc/uptime") as f:
        up = float(f.read().split()[0])
    return up - int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _accepting(pid):
    """Whether process pid waits in accept() (x86_64: 43, accept4 288)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            return f.read().split(" ", 1)[0] in ("43", "288")
    except OSError:
        return False


def _log_from(stack, pos):
    with open(stack.latchd_log, errors="replace") as f:
        f.seek(pos)
        return f.read()


BACKOFF = "workers fail at start-up"


def test_a_young_worker_killed_is_replaced_without_backoff(stack):
    """Workers are often young (they recycle every max_requests): one
    killed once it accepts is no start-up failure, however young, and is
    replaced at once.  (Before: a worker dead within 2 s of its start
    counted as one, and the next start waited 0.5 s, then 1 s, ...)"""
    pos = os.path.getsize(stack.latchd_log)
    pool = wait_for(lambda: full_pool(stack), 15, "a full worker pool")
    victim, young = pool[0], 0
    for i in range(4):
        if i > 0:
            # The replacement of the last victim.
            victim = wait_for(lambda: (lambda p: p[0] if p else None)(
                sorted(set(stack.worker_pids()) - set(pool))), 15,
                "a new worker")
        # Once it accepts (the first too: a pool just started may still
        # have workers on their way there on a loaded machine).
        wait_for(lambda: _accepting(victim), 15,
                 "worker %d to accept" % victim, interval=0.01)
        if i > 0:
            young += _age(victim) < 1.5
        pool = stack.worker_pids()
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not pid_alive(victim), 10, "the worker to die")
    wait_for(lambda: full_pool(stack), 15, "a full pool again")
    assert young >= 2, "the replacements were not young enough to " \
        "tell (%d of 3 under 1.5 s)" % young
    text = _log_from(stack, pos)
    assert BACKOFF not in text, "young workers killed after they " \
        "started accepting were taken for start-up failures:\n" + text
    health_ok(4)


def test_a_worker_dying_before_it_accepts_backs_off(stack):
    """The other side: a worker that dies before it is ready (here: stuck
    connecting to a database that never answers) is a start-up failure,
    and the next start waits."""
    silent = os.path.join(stack.dir, "silent.sock")
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(silent)
    ls.listen(16)
    db = stack.config_values()["database"]
    try:
        reload(stack, {("database", "socket"): silent,
                       ("database", "timeout"): "10"})
        pos = os.path.getsize(stack.latchd_log)
        victim = stack.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: BACKOFF in _log_from(stack, pos), 15,
                 "the master to back off")
    finally:
        reload(stack, {("database", "socket"): db["socket"],
                       ("database", "timeout"): db.get("timeout", "5")})
        ls.close()
        os.unlink(silent)
    health_ok(4)


# ------------------------------------------------------ the supervised mailer

# A stand-in for latch-mailer beside a copy of latchd: it notes each start
# and signal in its log, and exits at once while the file "die" exists.
FAKE_MAILER = """#!/bin/sh
log='{d}/mailer.log'
echo "start $$" >> "$log"
[ -e '{d}/die' ] && exit 1
trap 'echo "hup $$" >> "$log"' HUP
trap 'echo "term $$" >> "$log"; exit 0' TERM
while :; do sleep 0.05; done
"""


def test_the_master_supervises_latch_mailer(stack):
    """[mail] run_mailer: the master starts latch-mailer from its own
    directory, sends it SIGHUP on a reload, starts it again when it dies
    (after 0.5 s, doubling while it keeps dying young), stops it when a
    reload turns run_mailer off and starts it when it is turned on, and
    stops it with the workers."""
    import shutil
    import subprocess
    import stack as stackmod

    d = os.path.join(stack.dir, "supervised")
    os.makedirs(d)
    latchd = os.path.join(d, "latchd")
    shutil.copy(stack.latchd_bin, latchd)
    with open(os.path.join(d, "latch-mailer"), "w") as f:
        f.write(FAKE_MAILER.format(d=d))
    os.chmod(os.path.join(d, "latch-mailer"), 0o755)
    cfg = os.path.join(d, "latch.ini")
    shutil.copy(stack.config, cfg)
    os.chmod(cfg, 0o600)
    stackmod.ini_set(cfg, {("server", "listen"): os.path.join(d, "s.sock"),
                           ("server", "workers"): "1",
                           ("mail", "run_mailer"): "true"})
    mlog, llog = os.path.join(d, "mailer.log"), os.path.join(d, "latchd.log")

    def events():
        try:
            with open(mlog) as f:
                return [line.split() for line in f]
        except FileNotFoundError:
            return []

    def started():
        return [int(e[1]) for e in events() if e[0] == "start"]

    def latchd_log():
        with open(llog, errors="replace") as f:
            return f.read()

    def run_mailer(on):
        stackmod.ini_set(cfg, {("mail", "run_mailer"):
                               "true" if on else "false"})
        os.kill(p.pid, signal.SIGHUP)

    with open(llog, "ab") as out:
        p = subprocess.Popen([latchd, "-c", cfg], stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        first = wait_for(lambda: started()[-1:], 15, "the mailer to "
                         "start")[0]
        os.kill(p.pid, signal.SIGHUP)
        wait_for(lambda: ["hup", str(first)] in events(), 15,
                 "the reload's SIGHUP to reach the mailer")
        assert started() == [first], "a reload restarted the mailer"

        # Killed young: started again after 0.5 s.
        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: started()[1:], 15, "a new mailer")[0]
        assert "next start in 500 ms" in latchd_log(), latchd_log()
        # Dying at once, again and again: the delay doubles.
        open(os.path.join(d, "die"), "w").close()
        os.kill(second, signal.SIGKILL)
        wait_for(lambda: "next start in 2000 ms" in latchd_log(), 15,
                 "the backoff to grow to 2 s")
        os.unlink(os.path.join(d, "die"))
        last = wait_for(lambda: (lambda s: s[-1] if len(s) >= 4 and
                                 pid_alive(s[-1]) else None)(started()),
                        15, "a mailer that lives")

        # A reload that turns run_mailer off stops it; on starts one.
        run_mailer(False)
        wait_for(lambda: ["term", str(last)] in events(), 15,
                 "the mailer to be stopped")
        wait_for(lambda: not pid_alive(last), 15, "the mailer to exit")
        n = len(started())
        run_mailer(True)
        wait_for(lambda: len(started()) > n, 15, "the mailer to start "
                 "again")
        last = started()[-1]

        # SIGTERM stops it with the workers, and the master exits 0.
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait(30) == 0, latchd_log()
        assert ["term", str(last)] in events(), events()
        assert not pid_alive(last)
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
