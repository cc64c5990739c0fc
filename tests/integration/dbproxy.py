"""
dbproxy.py: a unix-socket pipe between latchd and the stack's real
MariaDB that can lose one COMMIT the way a network or a server does, at a
moment of the scenario's choosing (a scenario helper, not a scenario):

    with DbProxy(stack) as px:          # latchd now connects through it
        px.arm("commit_then_drop")      # the next COMMIT: forwarded, the
                                        # server commits, the answer is
                                        # lost and the connection closed
        px.arm("drop_commit")           # the next COMMIT: never forwarded,
                                        # the connection closed
        px.arm(..., refuse=1.0)         # then refuse new connections for
                                        # a second (the look-up fails too)

It reads the MySQL protocol only far enough to find packet boundaries
and the text query "COMMIT" (what Connector/C's mysql_commit() sends);
everything else passes through unchanged.
"""

import os
import socket
import threading
import time

from adminlib import reload
from lib import wait_for


class _Conn:
    def __init__(self, client, server):
        self.client = client
        self.server = server
        self.mute = False          # drop what the server says
        self.answered = threading.Event()

    def close(self):
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class DbProxy:
    def __init__(self, stack):
        self.stack = stack
        self.target = stack.db_socket
        self.path = os.path.join(stack.dir, "dbproxy.sock")
        self.lock = threading.Lock()
        self.mode = None
        self.refuse = 0.0
        self.refuse_until = 0.0
        self.fired = 0
        self.conns = []
        self.stopping = False
        self.old_socket = None

    # --------------------------------------------------------------- use

    def __enter__(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(self.path)
        self.ls.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        self.old_socket = self.stack.config_values()["database"]["socket"]
        reload(self.stack, {("database", "socket"): self.path})
        return self

    def __exit__(self, *a):
        try:
            reload(self.stack, {("database", "socket"): self.old_socket})
        finally:
            self.stopping = True
            self.ls.close()
            with self.lock:
                conns, self.conns = self.conns, []
            for c in conns:
                c.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def arm(self, mode, refuse=0.0):
        """Lose the next COMMIT as `mode` says; then refuse new
        connections for `refuse` seconds."""
        assert mode in ("commit_then_drop", "drop_commit")
        with self.lock:
            self.mode = mode
            self.refuse = refuse

    def wait_fired(self, n=1, timeout=30):
        wait_for(lambda: self.fired >= n, timeout, "the proxy's fault")

    # ---------------------------------------------------------- plumbing

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            if time.monotonic() < self.refuse_until:
                c.close()
                continue
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.target)
            except OSError:
                c.close()
                s.close()
                continue
            conn = _Conn(c, s)
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._down, args=(conn,),
                             daemon=True).start()
            threading.Thread(target=self._up, args=(conn,),
                             daemon=True).start()

    def _down(self, conn):
        """Server to client."""
        try:
            while True:
                b = conn.server.recv(65536)
                if not b:
                    break
                if conn.mute:
                    conn.answered.set()
                    continue
                conn.client.sendall(b)
        except OSError:
            pass
        conn.close()

    def _up(self, conn):
        """Client to server, a packet at a time."""
        buf = b""
        try:
            while True:
                b = conn.client.recv(65536)
                if not b:
                    break
                buf += b
                while len(buf) >= 4:
                    n = buf[0] | buf[1] << 8 | buf[2] << 16
                    if len(buf) < 4 + n:
                        break
                    pkt, buf = buf[:4 + n], buf[4 + n:]
                    if pkt[4:5] == b"\x03" and \
                            pkt[5:].strip().upper() == b"COMMIT" and \
                            self._take():
                        self._fire(conn, pkt)
                        return
                    conn.server.sendall(pkt)
        except OSError:
            pass
        conn.close()

    def _take(self):
        with self.lock:
            mode, self.mode = self.mode, None
        self.taken = mode
        return mode is not None

    def _fire(self, conn, pkt):
        if self.taken == "commit_then_drop":
            conn.mute = True
            conn.server.sendall(pkt)
            # The server has committed once it answers.
            conn.answered.wait(10)
        self.refuse_until = time.monotonic() + self.refuse
        conn.close()
        self.fired += 1
