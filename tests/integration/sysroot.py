"""
sysroot.py: a throwaway copy of this machine to install the Debian
package into, and to see what it leaves behind.

Sysroot() starts a holder process in new mount and PID namespaces
(unshare) that mounts an overlay over "/" whose upper layer is a tmpfs:
the machine as it is, where every write lands in the tmpfs and nowhere
else.  The overlay becomes the namespace's root (pivot_root), with the
host's /dev and /sys, a fresh /proc of the new PID namespace, and empty
tmpfs /run and /tmp (so no /run/systemd/system: maintainer scripts see a
machine without systemd running, as on this one), and the repository
bound at its own path.

run()/spawn() execute commands inside (nsenter into both namespaces);
path() is a path of the inside as the host reaches it (through the
holder's /proc/PID/root); changes() lists what differs from the machine
(the upper layer, which /run/sysroot/up shows inside).  close() kills the
holder, the PID namespace's init: the kernel then kills everything still
running inside, and the mounts go with the namespace, so nothing of it
survives on the machine, whatever the test did.

The overlay's lower layer is the live machine: a dpkg run on it (an
apt-get of the test's own deps, or of anything else sharing the
machine) would show the copy a half-installed package, which the
copy's apt then refuses to work around.  So Sysroot() first waits until
no dpkg holds the machine's lock and dpkg --audit finds nothing to
finish (dpkg_quiet()), and says so if that does not come.
"""

import ctypes
import fcntl
import os
import signal
import subprocess
import time

import stack as stackmod

REPO = stackmod.REPO
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
       "TERM": "dumb"}

_SETUP = r"""
set -eu
T=/mnt
mount -t tmpfs -o mode=0755 sysroot "$T"
mkdir "$T/up" "$T/work" "$T/root"
mount -t overlay overlay -o lowerdir=/,upperdir="$T/up",workdir="$T/work" \
    "$T/root"
R="$T/root"
mount --rbind /dev "$R/dev"
mount --rbind /sys "$R/sys"
mount -t tmpfs -o mode=0755 run "$R/run"
mount -t tmpfs -o mode=1777 tmp "$R/tmp"
mkdir -p "$R/run/sysroot" "$R/run/oldroot" "$R$REPO"
mount --bind "$T" "$R/run/sysroot"
mount --bind "$REPO" "$R$REPO"
cd "$R"
pivot_root . run/oldroot
cd /
mount -t proc proc /proc
umount --lazy /run/oldroot
rmdir /run/oldroot
echo ready
exec sleep infinity
"""


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG


class SysrootError(Exception):
    pass


DPKG_LOCKS = ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock")


def _dpkg_busy():
    """Why dpkg on the machine is not at rest, or None.  The locks are
    tested (taken and released at once, as apt and dpkg take them: fcntl
    write locks), never held."""
    for path in DPKG_LOCKS:
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(fd, fcntl.LOCK_UN)
        except OSError:
            return "%s is held (a dpkg or apt-get is running)" % path
        finally:
            os.close(fd)
    r = subprocess.run(["dpkg", "--audit"], capture_output=True,
                       text=True, env=ENV)
    if r.stdout.strip():
        return "dpkg --audit:\n" + r.stdout[-2000:]
    return None


def dpkg_quiet(timeout=900):
    """Wait until dpkg on the machine is at rest (_dpkg_busy), at most
    timeout seconds; SysrootError if it does not come to rest."""
    deadline = time.monotonic() + timeout
    said = False
    while True:
        why = _dpkg_busy()
        if why is None:
            return
        if time.monotonic() > deadline:
            raise SysrootError("dpkg on this machine did not come to rest "
                               "in %ds: %s" % (timeout, why))
        if not said:
            print("# sysroot: waiting for the machine's dpkg: %s" %
                  why.splitlines()[0])
            said = True
        time.sleep(2)


class Sysroot:
    def __init__(self):
        if os.geteuid() != 0:
            raise SysrootError("needs root (namespaces, mounts, dpkg)")
        dpkg_quiet()
        self.dpkg_status = self._dpkg_status()
        env = dict(ENV, REPO=REPO)
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--pid", "--fork", "--kill-child",
             "--propagation", "private", "/bin/sh", "-c", _SETUP],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env, preexec_fn=_die_with_parent)
        line = self.holder.stdout.readline()
        if line.strip() != b"ready":
            self.holder.kill()
            _, err = self.holder.communicate(timeout=30)
            raise SysrootError("cannot set up the overlay root: %s" %
                               err.decode("utf-8", "replace")[-2000:])
        self.pid = self._init_pid()
        self.procs = []

    @staticmethod
    def _dpkg_status():
        try:
            st = os.stat("/var/lib/dpkg/status")
            return (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            return None

    def machine_dpkg_moved(self):
        """Whether dpkg changed the machine since this copy was made (its
        lower layer moved under it: what the copy's dpkg saw is then no
        one state)."""
        return self._dpkg_status() != self.dpkg_status or \
            _dpkg_busy() is not None

    def _init_pid(self):
        """The host PID of the namespace's init (the sleep)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for pid in stackmod.children_of(self.holder.pid):
                return pid
            time.sleep(0.05)
        raise SysrootError("the holder's child did not appear")

    def argv(self, argv):
        return ["nsenter", "-t", str(self.pid), "-m", "-p", "--wd",
                "env", "-i"] + ["%s=%s" % kv for kv in ENV.items()] + argv

    def run(self, argv, input=None, timeout=300, check=True):
        """Run argv inside; returns the CompletedProcess (text)."""
        r = subprocess.run(self.argv(argv), input=input, text=True,
                           capture_output=True, timeout=timeout)
        if check and r.returncode != 0:
            raise SysrootError("%s: exit %d\n%s%s" % (
                " ".join(argv), r.returncode, r.stdout[-3000:],
                r.stderr[-3000:]))
        return r

    def sh(self, script, **kw):
        return self.run(["/bin/sh", "-c", script], **kw)

    def spawn(self, argv, log):
        """Start argv inside in the background, output to the host file
        log; stopped by close() at the latest."""
        with open(log, "ab") as f:
            p = subprocess.Popen(self.argv(argv), stdin=subprocess.DEVNULL,
                                 stdout=f, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def path(self, p):
        """Inside path p, as the host reaches it."""
        return "/proc/%d/root%s" % (self.pid, p)

    def host_pids(self, exe):
        """Host PIDs of the processes inside running the program exe (an
        inside path), oldest first."""
        out = []
        for pid in sorted(int(n) for n in os.listdir("/proc")
                          if n.isdigit()):
            try:
                if os.readlink("/proc/%d/ns/pid" % pid) != \
                        os.readlink("/proc/%d/ns/pid" % self.pid):
                    continue
                # (" (deleted)": the program was replaced, an upgrade)
                if os.readlink("/proc/%d/exe" % pid) in (
                        exe, exe + " (deleted)"):
                    out.append(pid)
            except OSError:
                continue
        return out

    def changes(self):
        """Every path of the upper layer (what differs from the machine),
        relative to "/", with its kind: "file", "dir", "link", "gone" (a
        whiteout: deleted) or "other"."""
        top = self.path("/run/sysroot/up")
        out = {}
        for d, dirs, files in os.walk(top):
            for n in dirs + files:
                p = os.path.join(d, n)
                rel = "/" + os.path.relpath(p, top)
                st = os.lstat(p)
                if os.path.islink(p):
                    kind = "link"
                elif os.path.isdir(p):
                    kind = "dir"
                elif os.path.isfile(p):
                    kind = "file"
                elif (st.st_mode & 0o170000) == 0o020000 and \
                        st.st_rdev == 0:
                    kind = "gone"
                else:
                    kind = "other"
                out[rel] = kind
        return out

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        if self.holder.poll() is None:
            self.holder.kill()
        try:
            self.holder.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
