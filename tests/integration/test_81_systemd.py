"""
debian/latchd.service, the package's unit (contrib/systemd's is the
guides' of docs/deploy), carries the hardening it promises
(systemd-analyze's exposure score is printed, not asserted), and latchd
serves the socket that latchd.socket makes systemd pass (LISTEN_FDS,
fd 3): a master with its workers even with workers = 1, more than one
socket refused, a socket passed to another process ignored.  That
latchd runs under every restriction of the unit is test_91_package's
(installed from the package, where the unit's paths are real).
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import fcgiclient
import stack as stackmod
import unitexec
import webservers as ws

REPO = stackmod.REPO
UNITS = os.path.join(REPO, "debian")
SERVICE = os.path.join(UNITS, "latchd.service")
SOCKET = os.path.join(UNITS, "latchd.socket")
BUILD = os.environ.get("LATCH_BUILD") or "build"

# What the issue and the README promise, as systemd reads the unit.
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict",
    "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
    "MemoryDenyWriteExecute": "yes", "PrivateUsers": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
    "ProtectClock": "yes", "ProtectHostname": "yes",
    "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
    "SystemCallArchitectures": "native", "ProtectProc": "invisible",
    "ProcSubset": "pid", "UMask": "0077", "User": "latch",
    "KillMode": "mixed", "Restart": "on-failure",
}


def health(sock):
    return fcgiclient.call(sock, {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/health",
        "SCRIPT_NAME": "", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1"}, role=fcgiclient.RESPONDER, timeout=10)


def test_service_unit_is_hardened(stack):
    u = unitexec.parse_unit(SERVICE)
    s, l = unitexec.settings(u["Service"], SERVICE)
    for k, v in HARDENING.items():
        assert s.get(k) == v, "%s=%r, want %s" % (k, s.get(k), v)
    assert l.get("CapabilityBoundingSet") == [], l
    assert l.get("AmbientCapabilities") == [], l
    assert l.get("ReadWritePaths") == ["/var/spool/latch"], \
        "ReadWritePaths= must be the spool only: %r" % l
    assert set(l.get("RestrictAddressFamilies", [])) == {
        "AF_UNIX", "AF_INET", "AF_INET6"}, l
    assert l["SystemCallFilter"][0] == "@system-service", l
    assert "~@privileged @resources" in l["SystemCallFilter"], l
    assert s["ExecStart"].startswith("/usr/sbin/latchd -c "
                                     "/etc/latch/latch.ini"), s
    assert any("-HUP $MAINPID" in c for c in l["ExecReload"]), l
    assert any(c.startswith("/usr/sbin/latchd -t") for c in
               l["ExecReload"]), "a broken config must fail the reload"
    assert ("Requires", "latchd.socket") in u["Unit"], u["Unit"]
    sk, _ = unitexec.settings(unitexec.parse_unit(SOCKET)["Socket"],
                              SOCKET)
    assert sk["ListenStream"] == "/run/latch/latch.sock", sk
    assert (sk["SocketUser"], sk["SocketGroup"], sk["SocketMode"]) == (
        "latch", "www-data", "0660"), sk
    # Every directive is one unitexec.py applies or knows it cannot.
    for k in list(s) + list(l):
        assert k in unitexec.APPLIED or k in unitexec.MANAGER_ONLY, k

    r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--no-pager", SERVICE], capture_output=True,
                       text=True, timeout=120)
    m = re.search(r"Overall exposure level for latchd\.service: "
                  r"([0-9.]+) (\w+)", r.stdout)
    assert m, "no score from systemd-analyze security:\n%s%s" % (
        r.stdout[-2000:], r.stderr[-2000:])
    print("# systemd-analyze security --offline=true latchd.service: "
          "%s %s" % (m.group(1), m.group(2)))
    for line in r.stdout.splitlines():
        if line.startswith("\u2717"):
            print("#   " + " ".join(line.split()))


def _start_activated(procs, sock, config, n=1, pid_from=None):
    """latchd as systemd starts it: fd 3 the listening socket,
    LISTEN_FDS=n, LISTEN_PID its own pid (unless pid_from says another
    pid is named)."""
    wrapper = (
        "import os, sys\n"
        "os.dup2(int(sys.argv[1]), 3)\n"
        "os.environ['LISTEN_FDS'] = sys.argv[2]\n"
        "os.environ['LISTEN_FDNAMES'] = 'latchd.socket'\n"
        "os.environ['LISTEN_PID'] = str(os.getpid() + int(sys.argv[3]))\n"
        "os.execv(sys.argv[4], sys.argv[4:])\n")
    argv = [sys.executable, "-c", wrapper, str(sock.fileno()), str(n),
            str(pid_from or 0), os.path.join(REPO, BUILD, "latchd"),
            "-c", config]
    log = os.path.join(procs.dir, "latchd-activated.log")
    out = open(log, "ab")
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, cwd=procs.dir,
                             pass_fds=(sock.fileno(),),
                             start_new_session=True,
                             preexec_fn=stackmod._child_setup)
    finally:
        out.close()
    procs.procs.append(("latchd-activated", p, log))
    return p, log


def test_latchd_serves_the_socket_systemd_passes(stack):
    with ws.scratch(stack, "activation") as (d, procs):
        path = os.path.join(d, "latch.sock")
        # [server] listen names another path: the passed socket wins.
        unused = os.path.join(d, "unused.sock")
        config = ws.derive_config(stack, os.path.join(d, "latch.ini"), {
            "server.workers": 1, "server.listen": unused})
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(16)
        p, log = _start_activated(procs, sock, config)
        sock.close()
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _, body = health(path)
                break
            except OSError:
                if p.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("latchd did not serve the passed "
                                         "socket:\n%s" %
                                         stackmod.log_tail(log))
                time.sleep(0.1)
        assert status == 200 and b'"database":"ok"' in body, (status, body)
        assert not os.path.exists(unused), "latchd opened [server] listen"
        # A master with its worker, even with workers = 1 (on a web
        # server's fd 0 that would be one process): the mailer, the
        # respawns and the reloads need the master.
        workers = stackmod.children_of(p.pid)
        assert len(workers) == 1, workers
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        assert "serving the socket systemd passed" in text, text
        p.terminate()
        assert p.wait(30) == 0, stackmod.log_tail(log)


def test_latchd_refuses_two_passed_sockets(stack):
    with ws.scratch(stack, "activation2") as (d, procs):
        config = ws.derive_config(stack, os.path.join(d, "latch.ini"), {
            "server.listen": os.path.join(d, "unused.sock")})
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(os.path.join(d, "latch.sock"))
        sock.listen(16)
        p, log = _start_activated(procs, sock, config, n=2)
        sock.close()
        assert p.wait(30) == 1, stackmod.log_tail(log)
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        assert "systemd passed 2 sockets" in text, text
        assert not os.path.exists(os.path.join(d, "unused.sock"))


def test_latchd_ignores_sockets_passed_to_another_process(stack):
    # LISTEN_PID names another process (an inherited environment): not
    # ours, so latchd opens [server] listen as usual.
    with ws.scratch(stack, "activation3") as (d, procs):
        own = os.path.join(d, "own.sock")
        config = ws.derive_config(stack, os.path.join(d, "latch.ini"), {
            "server.listen": own, "server.socket_mode": "0600"})
        with tempfile.TemporaryDirectory(dir=d) as t:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(os.path.join(t, "passed.sock"))
            sock.listen(16)
            p, log = _start_activated(procs, sock, config, pid_from=1)
            sock.close()
            procs.wait_up("latchd-activated", lambda: os.path.exists(own),
                          "latchd on its own socket")
            status, _, _ = health(own)
            assert status == 200
            p.terminate()
            assert p.wait(30) == 0, stackmod.log_tail(log)
