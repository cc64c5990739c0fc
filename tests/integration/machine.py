"""
machine.py: a private copy of this Debian machine, for running the
deployment guides of docs/deploy/ as they are written (test_88_guides).

A Machine is Linux namespaces around this machine: a mount namespace in
which /etc, /var and /srv are overlays of the real ones (what is written
goes to a directory of the test, the real files never change),
/usr/local, /home and /run are empty directories of the test, /proc is
the namespace's own; a network namespace with only a loopback interface
(Apache and lighttpd listen on port 80, as installed); and a PID
namespace, whose first process reaps orphans as init does and dies with
the test (unshare --kill-child): then the kernel ends every process of
the machine, whatever the guide started (daemons included), even if the
test itself is killed.

What the machine has that this one does not (see docs/deploy/README.md,
"The machine the tests run the guides on"):

  - /etc/hosts names www.example.org, auth.example.org and
    mail.example.org as 127.0.0.1;
  - /run/mysqld is the directory of a MariaDB of the test's (its socket
    mysqld.sock, as Debian's);
  - the CA of the test's SMTP server is in the system's trust store;
  - apt-get and systemctl are the shims in shims/ (no package is
    installed, no systemd runs here).

Everything is run by root through nsenter; run() takes the user to run
as.  in_net(fn) runs a Python function inside the machine's network (a
thread that joined the network namespace), for HTTP and SMTP.
"""

import ctypes
import os
import signal
import subprocess
import threading
import time

import stack as stackmod

REPO = stackmod.REPO
SHIMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shims")
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
USER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/games"
HOSTS = "www.example.org auth.example.org mail.example.org"

# The machine's first process: it reaps what the guides leave to it
# (daemons whose parent exited), as init does.
REAPER = """\
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.5)
"""

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_us():
    """In the holder before exec: SIGKILL when we die (unshare --fork
    ignores SIGTERM, and --kill-child takes the namespace with it)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class MachineError(AssertionError):
    pass


class Machine:
    """One private machine under dir; start() builds it, stop() ends every
    process in it.  mysqld_dir is the directory that becomes /run/mysqld
    (it holds the test MariaDB's mysqld.sock); ca is the PEM of a CA the
    machine trusts."""

    def __init__(self, dir, mysqld_dir, ca=None):
        self.dir = dir
        self.mysqld_dir = mysqld_dir
        self.ca = ca
        self.holder = None
        self.pid1 = None
        self.log = os.path.join(dir, "machine.log")

    # ------------------------------------------------------------ life

    def start(self):
        d = self.dir
        for sub in ("etc.up", "etc.work", "var.up", "var.work", "srv.up",
                    "srv.work", "usr-local", "home", "run"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for sub in ("usr-local", "home", "run"):
            os.chmod(os.path.join(d, sub), 0o755)
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--pid", "--fork",
             "--kill-child", "--mount-proc", "--propagation", "private",
             "/usr/bin/python3", "-c", REAPER], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_die_with_us)
        self.pid1 = stackmod.wait_until(self._first_child, 10,
                                        "the machine's first process")
        # The machine's file system and network, made from inside it.
        setup = """\
set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/etc.up,workdir={d}/etc.work /etc
mount -t overlay overlay -o lowerdir=/var,upperdir={d}/var.up,workdir={d}/var.work /var
mount -t overlay overlay -o lowerdir=/srv,upperdir={d}/srv.up,workdir={d}/srv.work /srv
mount --bind {d}/usr-local /usr/local
mount --bind {d}/home /home
mount --bind {d}/run /run
for sub in bin etc games include lib man sbin share src; do
    mkdir -p /usr/local/$sub
done
mkdir -p /run/lock /run/mysqld
chmod 1777 /run/lock
chmod 0755 /run/mysqld
mount --bind {mysqld} /run/mysqld
rm -rf /etc/latch /etc/systemd/system/latchd.service /var/spool/latch
mount --bind {shims}/apt-get /usr/bin/apt-get
mount --bind {shims}/systemctl /usr/bin/systemctl
ip link set lo up
printf '127.0.0.1 %s\\n' '{hosts}' >> /etc/hosts
""".format(d=d, mysqld=self.mysqld_dir, shims=SHIMS, hosts=HOSTS)
        if self.ca is not None:
            setup += "cat {ca} >> /etc/ssl/certs/ca-certificates.crt\n" \
                .format(ca=self.ca)
        r = self.run(setup, check=False)
        if r.returncode != 0:
            self.stop()
            raise MachineError("the machine could not be set up:\n%s%s"
                               % (r.stdout, r.stderr))
        return self

    def _first_child(self):
        try:
            with open("/proc/%d/task/%d/children" % (
                    self.holder.pid, self.holder.pid)) as f:
                kids = f.read().split()
        except OSError:
            kids = []
        return int(kids[0]) if kids else None

    def stop(self):
        """Stop the web servers and services the guides started (so that
        they end cleanly, and their logs say so), then end the machine:
        its first process, and with it every other."""
        if self.holder is None:
            return
        if self.holder.poll() is None:
            self.run("apache2ctl stop; /etc/init.d/lighttpd stop; "
                     "/etc/init.d/nginx stop; systemctl stop caddy latchd", check=False, timeout=60,
                     shell=("/bin/sh",))
            self.holder.kill()
        self.holder.wait()
        self.holder = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    # ------------------------------------------------------- commands

    def run(self, script, user="root", cwd=None, env=None, input=None,
            check=True, timeout=300, shell=("/bin/sh", "-e")):
        """Run script (sh) in the machine as user, in a login-like clean
        environment (HOME, USER, LOGNAME, SHELL, PATH, LANG), in cwd (the
        user's home by default).  Returns the CompletedProcess (text);
        with check, a failure raises with the output."""
        home = "/root" if user == "root" else "/home/" + user
        base = {"HOME": home, "USER": user, "LOGNAME": user,
                "SHELL": "/bin/sh", "LANG": "C.UTF-8",
                "PATH": ROOT_PATH if user == "root" else USER_PATH}
        base.update(env or {})
        # (nsenter --wd would look the directory up outside the machine)
        argv = ["nsenter", "-t", str(self.pid1), "-m", "-n", "-p"]
        if user != "root":
            argv += ["runuser", "-u", user, "--"]
        argv += ["env", "-i"] + ["%s=%s" % kv for kv in base.items()]
        argv += ["/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sh",
                 cwd or home] + list(shell) + ["-c", script]
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, input=input, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise MachineError("timed out after %ss as %s:\n%s\n%s%s" % (
                timeout, user, script, e.stdout or "", e.stderr or ""))
        with open(self.log, "a") as f:
            f.write("### as %s in %s\n%s\n--- status %d in %.1fs\n%s%s\n"
                    % (user, cwd or home, script, r.returncode,
                       time.monotonic() - t0, r.stdout, r.stderr))
        if check and r.returncode != 0:
            raise MachineError("as %s, status %d:\n%s\n--- output:\n%s%s"
                               % (user, r.returncode, script, r.stdout,
                                  r.stderr))
        return r

    def read(self, path):
        """A file of the machine, as bytes (read from inside it)."""
        r = subprocess.run(["nsenter", "-t", str(self.pid1), "-m", "-p",
                            "cat", path], capture_output=True, timeout=60)
        if r.returncode != 0:
            raise MachineError("cannot read %s: %s" % (
                path, r.stderr.decode("utf-8", "replace")))
        return r.stdout

    def join_net(self):
        """Move the calling thread into the machine's network: the
        sockets it makes, the threads and processes it starts, are the
        machine's.  Only for a thread made for it (see in_net)."""
        fd = os.open("/proc/%d/ns/net" % self.pid1, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e))
        finally:
            os.close(fd)

    def in_net(self, fn, *args, **kw):
        """fn(*args, **kw) in a thread inside the machine's network.
        Returns fn's value or raises what it raised."""
        out = {}

        def body():
            try:
                self.join_net()
                out["v"] = fn(*args, **kw)
            except BaseException as e:  # handed to the caller
                out["e"] = e
        t = threading.Thread(target=body, daemon=True)
        t.start()
        t.join()
        if "e" in out:
            raise out["e"]
        return out.get("v")
