#!/usr/bin/python3
"""
unitexec.py: run a systemd service's command under the restrictions its
unit file asks for, without systemd as PID 1 (the test machines have no
systemd running).  Run as root:

  unitexec.py --service latchd.service [--socket latchd.socket]
              [--log FILE] [--setting ExecStart] [--mainpid N] [--probe]

It reads the unit as systemd does (sections, continuation lines, a list
setting reset by an empty assignment, the first SystemCallFilter= line
deciding allow or deny list), refuses a setting of [Service] it does not
know how to apply (so a directive added to the unit without its
emulation fails the tests instead of being skipped), and applies the
rest the way systemd 252 does (src/core/namespace.c, src/shared/
seccomp-util.c), in the same order:

  the socket      ListenStream= path created, SocketUser/SocketGroup/
                  SocketMode/DirectoryMode, passed as fd 3 with
                  LISTEN_FDS=1 and LISTEN_PID (sd_listen_fds(3))
  namespaces      a mount namespace (PrivateMounts), IPC (PrivateIPC),
                  UTS (ProtectHostname), a user namespace mapping only
                  root and the service's user and group (PrivateUsers)
  filesystem      ProtectSystem=strict (everything read-only but /dev,
                  /proc, /sys, which the Protect* options handle),
                  ReadWritePaths, PrivateTmp (empty /tmp and /var/tmp),
                  ProtectHome (/home, /root, /run/user inaccessible),
                  PrivateDevices (a /dev of null, zero, full, random,
                  urandom, tty, shm, pts), ProtectProc/ProcSubset (a /proc
                  of its own with hidepid=invisible,subset=pid),
                  ProtectKernelTunables (/sys and what is left of
                  /proc/sys read-only), ProtectKernelModules (no
                  /lib/modules), ProtectKernelLogs (no /dev/kmsg),
                  ProtectControlGroups (/sys/fs/cgroup read-only)
  credentials     User, Group (no supplementary groups but the user's),
                  CapabilityBoundingSet= (empty: every capability out of
                  the bounding set), AmbientCapabilities= (none), UMask,
                  NoNewPrivileges
  seccomp         SystemCallFilter (groups expanded by systemd-analyze
                  syscall-filter; anything else kills the process, as
                  without SystemCallErrorNumber=), SystemCallArchitectures
                  =native, and the filters systemd adds for
                  RestrictAddressFamilies, MemoryDenyWriteExecute,
                  RestrictNamespaces, LockPersonality, RestrictSUIDSGID,
                  RestrictRealtime, and the system calls that
                  ProtectClock, ProtectKernelModules, ProtectKernelLogs,
                  ProtectHostname and PrivateDevices take away

Not applied, because only a service manager can: Type, KillMode,
Restart, RestartSec, SyslogIdentifier (the test sends SIGTERM itself and
--log stands for the journal), RemoveIPC (a clean-up when the unit
stops: IPC objects of the user go; the test checks latchd makes none),
DevicePolicy (a cgroup device filter; PrivateDevices already leaves
only those devices), KeyringMode (the session keyring).  ProtectClock's
device rule is a cgroup matter too; its system calls are filtered.

--setting names the command setting to run (ExecStart, the default, in
place of this process; ExecReload, each line in turn with $MAINPID =
--mainpid, exit status of the first that fails).  --probe runs, instead
of a command, checks from inside the sandbox and prints their results
as JSON, so the tests can see that each restriction holds.
"""

import argparse
import ctypes
import errno
import grp
import json
import mmap
import os
import pwd
import shlex
import socket
import stat
import subprocess
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                       ctypes.c_ulong, ctypes.c_char_p]

CLONE_NEWNS, CLONE_NEWUTS = 0x00020000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER = 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
CLONE_NEWCGROUP, CLONE_NEWTIME = 0x02000000, 0x00000080
NAMESPACE_FLAGS = (CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                   CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
                   CLONE_NEWTIME)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 32, 4096, 8192, 16384
MS_PRIVATE = 1 << 18
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY = 1
SYS_MOUNT_SETATTR = 442            # x86-64 and every other architecture
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
PROT_WRITE, PROT_EXEC = 2, 4
SHM_EXEC = 0o100000
O_CREAT = os.O_CREAT
S_ISUID, S_ISGID = 0o4000, 0o2000
SCHED_FIFO, SCHED_RR, SCHED_DEADLINE = 1, 2, 6
PER_LINUX = 0

# The settings of [Service] this program applies (see above), and those
# it knows it cannot.  Anything else in a unit is an error.
APPLIED = {
    "User", "Group", "ExecStart", "ExecReload", "UMask",
    "NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities",
    "RestrictSUIDSGID", "PrivateUsers", "PrivateMounts", "ProtectSystem",
    "ReadWritePaths", "ProtectHome", "PrivateTmp", "PrivateDevices",
    "ProtectProc", "ProcSubset", "ProtectKernelTunables",
    "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
    "ProtectClock", "ProtectHostname", "PrivateIPC", "RestrictNamespaces",
    "RestrictRealtime", "LockPersonality", "MemoryDenyWriteExecute",
    "RestrictAddressFamilies", "SystemCallArchitectures",
    "SystemCallFilter",
}
MANAGER_ONLY = {
    "Type", "KillMode", "Restart", "RestartSec", "SyslogIdentifier",
    "RemoveIPC", "DevicePolicy", "KeyringMode", "TimeoutStopSec",
}
LISTS = {"ReadWritePaths", "RestrictAddressFamilies", "SystemCallFilter",
         "CapabilityBoundingSet", "AmbientCapabilities", "ExecReload"}
FAMILIES = {"AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10}
AF_MAX = 46


class UnitError(Exception):
    pass


# ------------------------------------------------------------ unit files

def parse_unit(path):
    """{section: [(key, value), ...]} in file order."""
    out, section, pending = {}, None, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if pending:
                line = pending + " " + line.lstrip()
                pending = ""
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.endswith("\\"):
                pending = s[:-1].rstrip()
                continue
            if s.startswith("[") and s.endswith("]"):
                section = s[1:-1]
                out.setdefault(section, [])
                continue
            if section is None or "=" not in s:
                raise UnitError("%s: cannot parse %r" % (path, s))
            k, _, v = s.partition("=")
            out[section].append((k.strip(), v.strip()))
    return out


def settings(entries, path):
    """Scalars (last one wins) and lists (an empty assignment resets) of
    one section; SystemCallFilter stays a list of lines."""
    scal, lists = {}, {}
    for k, v in entries:
        if k in LISTS:
            if v == "":
                lists[k] = []
            elif k in ("SystemCallFilter", "ExecReload"):
                lists.setdefault(k, []).append(v)
            else:
                lists.setdefault(k, []).extend(v.split())
        else:
            scal[k] = v
    return scal, lists


def boolean(v):
    v = (v or "no").lower()
    if v in ("1", "yes", "true", "on"):
        return True
    if v in ("0", "no", "false", "off"):
        return False
    raise UnitError("not a boolean: %r" % v)


# ------------------------------------------------------------- mounting

def _err(what):
    e = ctypes.get_errno()
    return OSError(e, "%s: %s" % (what, os.strerror(e)))


def mount(src, target, fstype, flags, data=None):
    enc = (lambda s: None if s is None else s.encode())
    if libc.mount(enc(src), enc(target), enc(fstype), flags,
                  enc(data)) != 0:
        raise _err("mount %s on %s" % (src or fstype, target))


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def set_readonly(path, ro=True, recursive=True):
    """mount_setattr(2): path's mount (and those below it) read-only, or
    writable again."""
    a = MountAttr(MOUNT_ATTR_RDONLY if ro else 0,
                  0 if ro else MOUNT_ATTR_RDONLY, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    if libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags,
                    ctypes.byref(a), ctypes.sizeof(a)) != 0:
        raise _err("mount_setattr %s" % path)


def bind_self(path):
    """Make path a mount point of its own (bind it on itself)."""
    mount(path, path, None, MS_BIND | MS_REC)


def inaccessible(path):
    """What systemd's InaccessiblePaths= does: an empty, mode 000,
    read-only directory (or an empty file) over path."""
    if not os.path.lexists(path):
        return
    p = os.path.realpath(path)
    if os.path.isdir(p):
        mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=000,size=4k")
        set_readonly(p, recursive=False)
    else:
        mount("/dev/null" if stat.S_ISCHR(os.stat(p).st_mode) else
              "/run/unitexec-empty", p, None, MS_BIND)


def private_dev():
    """A /dev as PrivateDevices=yes makes it."""
    nodes = ("null", "zero", "full", "random", "urandom", "tty")
    fds = {n: os.open("/dev/" + n, os.O_PATH) for n in nodes}
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for n, fd in fds.items():
        with open("/dev/" + n, "w"):
            pass
        mount("/proc/self/fd/%d" % fd, "/dev/" + n, None, MS_BIND)
        os.close(fd)
    os.mkdir("/dev/shm", 0o1777)
    os.chmod("/dev/shm", 0o1777)
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.mkdir("/dev/pts", 0o755)
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
          "newinstance,ptmxmode=0666,mode=620")
    os.symlink("pts/ptmx", "/dev/ptmx")
    for n, t in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                 ("stdout", "/proc/self/fd/1"),
                 ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore")):
        os.symlink(t, "/dev/" + n)


def filesystem(s, l):
    """The mount namespace's settings, in systemd's order."""
    if boolean(s.get("PrivateTmp")):
        for d in ("/tmp", "/var/tmp"):
            mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    if boolean(s.get("PrivateDevices")):
        private_dev()
    pp, subset = s.get("ProtectProc", "default"), s.get("ProcSubset", "all")
    if pp not in ("default", "invisible", "noaccess", "ptraceable") or \
            subset not in ("all", "pid"):
        raise UnitError("ProtectProc=%s ProcSubset=%s" % (pp, subset))
    if pp != "default" or subset != "all":
        opts = []
        if pp != "default":
            opts.append("hidepid=" + pp)
        if subset == "pid":
            opts.append("subset=pid")
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              ",".join(opts))
    ps = s.get("ProtectSystem", "no")
    if ps == "strict":
        set_readonly("/")
        for api in ("/dev", "/proc", "/sys"):
            set_readonly(api, ro=False)
        if boolean(s.get("PrivateTmp")):
            for d in ("/tmp", "/var/tmp"):
                set_readonly(d, ro=False)
    elif ps in ("yes", "full", "true"):
        for d in ("/usr", "/boot", "/efi") + (("/etc",) if ps == "full"
                                             else ()):
            if os.path.isdir(d):
                bind_self(d)
                set_readonly(d)
    elif ps not in ("no", "false"):
        raise UnitError("ProtectSystem=%s" % ps)
    for p in l.get("ReadWritePaths", []):
        optional = p.startswith("-")
        p = p.lstrip("-")
        if not os.path.exists(p):
            if optional:
                continue
            raise UnitError("ReadWritePaths=%s does not exist" % p)
        bind_self(p)
        set_readonly(p, ro=False)
    ph = s.get("ProtectHome", "no")
    if ph in ("yes", "true"):
        for d in ("/home", "/root", "/run/user"):
            inaccessible(d)
    elif ph == "read-only":
        for d in ("/home", "/root", "/run/user"):
            if os.path.isdir(d):
                bind_self(d)
                set_readonly(d)
    elif ph not in ("no", "false"):
        raise UnitError("ProtectHome=%s" % ph)
    if boolean(s.get("ProtectKernelTunables")):
        for p in ("/proc/acpi", "/proc/apm", "/proc/asound", "/proc/bus",
                  "/proc/fs", "/proc/irq", "/proc/latency_stats",
                  "/proc/sys", "/proc/sysrq-trigger", "/proc/timer_stats",
                  "/sys"):
            if os.path.exists(p):
                bind_self(p)
                set_readonly(p)
        for p in ("/proc/kallsyms", "/proc/kcore"):
            inaccessible(p)
    if boolean(s.get("ProtectKernelModules")):
        for p in ("/lib/modules", "/usr/lib/modules"):
            inaccessible(p)
    if boolean(s.get("ProtectKernelLogs")):
        for p in ("/proc/kmsg", "/dev/kmsg"):
            inaccessible(p)
    if boolean(s.get("ProtectControlGroups")) and \
            os.path.isdir("/sys/fs/cgroup"):
        bind_self("/sys/fs/cgroup")
        set_readonly("/sys/fs/cgroup")


# ---------------------------------------------------------- credentials

def private_users(uid, gid):
    """Enter a new user namespace where only root and uid/gid are mapped
    (to themselves), as PrivateUsers=yes.  A process outside must write
    the maps: a child of this one does."""
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        os.close(done_r)
        status = 1
        try:
            if os.read(go_r, 1) == b"g":
                ppid = os.getppid()
                with open("/proc/%d/uid_map" % ppid, "w") as f:
                    f.write("0 0 1\n%d %d 1\n" % (uid, uid) if uid else
                            "0 0 1\n")
                with open("/proc/%d/gid_map" % ppid, "w") as f:
                    f.write("0 0 1\n%d %d 1\n" % (gid, gid) if gid else
                            "0 0 1\n")
                os.write(done_w, b"k")
                status = 0
        finally:
            os._exit(status)
    os.close(go_r)
    os.close(done_w)
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise _err("unshare(CLONE_NEWUSER)")
    os.write(go_w, b"g")
    ok = os.read(done_r, 1)
    os.waitpid(pid, 0)
    if ok != b"k":
        raise UnitError("PrivateUsers: cannot write the id maps")


def drop_privileges(s, l, pw, gid, cap_last):
    bset = l.get("CapabilityBoundingSet")
    if bset is None:
        bset = ["~"]       # systemd's default: every capability kept
    if bset not in ([], ["~"]):
        raise UnitError("CapabilityBoundingSet=%s: only empty (none) is "
                        "emulated" % " ".join(bset))
    if l.get("AmbientCapabilities", []) != []:
        raise UnitError("AmbientCapabilities= must be empty")
    if bset == []:
        for cap in range(cap_last + 1):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise _err("PR_CAPBSET_DROP %d" % cap)
    if libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
        raise _err("PR_CAP_AMBIENT_CLEAR_ALL")
    os.setgroups(os.getgrouplist(pw.pw_name, gid) if pw.pw_uid else [])
    os.setresgid(gid, gid, gid)
    os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    os.umask(int(s.get("UMask", "0022"), 8))
    if boolean(s.get("NoNewPrivileges")):
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _err("PR_SET_NO_NEW_PRIVS")


# -------------------------------------------------------------- seccomp

def syscall_groups():
    """{"@group": [names and @groups]} from systemd-analyze."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"],
                         capture_output=True, text=True, check=True).stdout
    groups, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.split()[0], [])
        elif line.startswith("    ") and cur is not None:
            w = line.strip()
            if w and not w.startswith("#"):
                cur.append(w.split()[0])
        elif not line.strip():
            cur = None
    return groups


def expand(items, groups, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for it in items:
        it = it.split(":")[0]
        if it.startswith("@"):
            if it in seen:
                continue
            seen.add(it)
            if it not in groups:
                raise UnitError("unknown system call group %s" % it)
            out |= expand(groups[it], groups, seen)
        else:
            out.add(it)
    return out


def allowed_syscalls(s, l, groups):
    """The allow list SystemCallFilter= and the Protect* options leave,
    or None if there is no filter."""
    lines = l.get("SystemCallFilter")
    if not lines:
        return None
    allow, first = None, True
    for line in lines:
        deny = line.startswith("~")
        names = expand(line.lstrip("~").split(), groups)
        if first:
            if deny:
                raise UnitError("a deny-list SystemCallFilter is not "
                                "emulated")
            allow = set(names)
            first = False
        elif deny:
            allow -= names
        else:
            allow |= names
    taken = []
    if boolean(s.get("ProtectClock")):
        taken.append("@clock")
    if boolean(s.get("ProtectKernelModules")):
        taken.append("@module")
    if boolean(s.get("ProtectKernelLogs")):
        taken.append("syslog")
    if boolean(s.get("ProtectHostname")):
        taken += ["sethostname", "setdomainname"]
    if boolean(s.get("PrivateDevices")):
        taken.append("@raw-io")
    allow -= expand(taken, groups)
    return allow


def load_seccomp(s, l, groups):
    import seccomp
    arch = seccomp.Arch.NATIVE
    if s.get("SystemCallArchitectures", "native") != "native":
        raise UnitError("SystemCallArchitectures=%s" %
                        s["SystemCallArchitectures"])

    def known(name):
        try:
            return seccomp.resolve_syscall(arch, name) >= 0
        except (ValueError, RuntimeError):
            return False

    eperm = seccomp.ERRNO(errno.EPERM)
    filters = []
    fams = l.get("RestrictAddressFamilies")
    if fams:
        if fams[0].startswith("~"):
            raise UnitError("a deny-list RestrictAddressFamilies is not "
                            "emulated")
        ok = {FAMILIES[f] for f in fams}
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        refuse = seccomp.ERRNO(errno.EAFNOSUPPORT)
        for af in range(AF_MAX):
            if af not in ok:
                f.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.EQ, af))
        f.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.GE, AF_MAX))
        filters.append(f)
    if boolean(s.get("MemoryDenyWriteExecute")):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        wx = PROT_WRITE | PROT_EXEC
        f.add_rule(eperm, "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
        for sc in ("mprotect", "pkey_mprotect"):
            f.add_rule(eperm, sc, seccomp.Arg(
                2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
        f.add_rule(eperm, "shmat", seccomp.Arg(
            2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
        filters.append(f)
    rn = s.get("RestrictNamespaces", "no")
    if rn not in ("no", "false"):
        if rn not in ("yes", "true"):
            raise UnitError("RestrictNamespaces=%s: only yes is emulated"
                            % rn)
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for flag in NAMESPACE_FLAGS:
            f.add_rule(eperm, "unshare", seccomp.Arg(
                0, seccomp.MASKED_EQ, flag, flag))
            f.add_rule(eperm, "clone", seccomp.Arg(
                0, seccomp.MASKED_EQ, flag, flag))
            f.add_rule(eperm, "setns", seccomp.Arg(
                1, seccomp.MASKED_EQ, flag, flag))
        f.add_rule(eperm, "setns", seccomp.Arg(1, seccomp.EQ, 0))
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        filters.append(f)
    if boolean(s.get("LockPersonality")):
        # As systemd: every personality() but the current one (PER_LINUX)
        # is refused, the query (0xffffffff) too.
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        f.add_rule(eperm, "personality", seccomp.Arg(
            0, seccomp.NE, PER_LINUX))
        filters.append(f)
    if boolean(s.get("RestrictRealtime")):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for pol in (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE):
            f.add_rule(eperm, "sched_setscheduler", seccomp.Arg(
                1, seccomp.MASKED_EQ, 0xff, pol))
        filters.append(f)
    if boolean(s.get("RestrictSUIDSGID")):
        f = seccomp.SyscallFilter(seccomp.ALLOW)
        for bit in (S_ISUID, S_ISGID):
            f.add_rule(eperm, "chmod", seccomp.Arg(
                1, seccomp.MASKED_EQ, bit, bit))
            f.add_rule(eperm, "fchmod", seccomp.Arg(
                1, seccomp.MASKED_EQ, bit, bit))
            f.add_rule(eperm, "fchmodat", seccomp.Arg(
                2, seccomp.MASKED_EQ, bit, bit))
            f.add_rule(eperm, "creat", seccomp.Arg(
                1, seccomp.MASKED_EQ, bit, bit))
            f.add_rule(eperm, "open", seccomp.Arg(
                1, seccomp.MASKED_EQ, O_CREAT, O_CREAT),
                seccomp.Arg(2, seccomp.MASKED_EQ, bit, bit))
            f.add_rule(eperm, "openat", seccomp.Arg(
                2, seccomp.MASKED_EQ, O_CREAT, O_CREAT),
                seccomp.Arg(3, seccomp.MASKED_EQ, bit, bit))
        filters.append(f)
    allow = allowed_syscalls(s, l, groups)
    if allow is not None:
        # Without SystemCallErrorNumber=, systemd kills the process.
        f = seccomp.SyscallFilter(seccomp.KILL_PROCESS)
        for name in sorted(allow):
            if known(name):
                f.add_rule(seccomp.ALLOW, name)
        filters.append(f)
    # The allow list last: loading a filter is itself a system call.
    for f in filters:
        f.load()


# ---------------------------------------------------------------- socket

def make_socket(path_unit):
    """The listening socket of a .socket unit, made as systemd makes it:
    returns its fd."""
    u = parse_unit(path_unit)
    s, _ = settings(u.get("Socket", []), path_unit)
    for k in s:
        if k not in ("ListenStream", "SocketUser", "SocketGroup",
                     "SocketMode", "DirectoryMode", "Backlog"):
            raise UnitError("%s: [Socket] %s is not emulated" %
                            (path_unit, k))
    path = s["ListenStream"]
    if not path.startswith("/"):
        raise UnitError("only a unix ListenStream= is emulated")
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d, int(s.get("DirectoryMode", "0755"), 8))
    if os.path.lexists(path):
        os.unlink(path)
    sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sk.bind(path)
    uid = pwd.getpwnam(s.get("SocketUser", "root")).pw_uid
    gid = grp.getgrnam(s.get("SocketGroup", "root")).gr_gid
    os.chown(path, uid, gid)
    os.chmod(path, int(s.get("SocketMode", "0666"), 8))
    sk.listen(int(s.get("Backlog", "4096")))
    return sk.detach()


# ----------------------------------------------------------------- probe

def probe():
    """What a process of the service can do: {check: result}."""
    out = {}

    def attempt(name, f):
        try:
            f()
            out[name] = "ok"
        except OSError as e:
            out[name] = errno.errorcode.get(e.errno, str(e.errno))

    def write(p):
        with open(p, "w") as fh:
            fh.write("x")
        os.unlink(p)

    attempt("write /etc", lambda: write("/etc/unitexec-probe"))
    attempt("write /usr", lambda: write("/usr/unitexec-probe"))
    attempt("write /var/tmp", lambda: write("/var/tmp/unitexec-probe"))
    attempt("list /root", lambda: os.listdir("/root"))
    attempt("list /home", lambda: os.listdir("/home"))
    out["/tmp entries"] = sorted(os.listdir("/tmp"))
    out["/dev entries"] = sorted(os.listdir("/dev"))
    attempt("socket AF_NETLINK", lambda: socket.socket(
        socket.AF_NETLINK, socket.SOCK_RAW).close())
    attempt("socket AF_PACKET", lambda: socket.socket(
        socket.AF_PACKET, socket.SOCK_RAW).close())
    attempt("socket AF_INET6", lambda: socket.socket(
        socket.AF_INET6, socket.SOCK_STREAM).close())
    attempt("mmap write+exec", lambda: mmap.mmap(
        -1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE |
        mmap.PROT_EXEC).close())
    attempt("unshare mount", lambda: (
        libc.unshare(CLONE_NEWNS) == 0 or (_ for _ in ()).throw(
            _err("unshare"))))
    open("/tmp/unitexec-suid", "w").close()
    attempt("chmod setuid", lambda: os.chmod("/tmp/unitexec-suid", 0o4755))
    # A system call outside the filter (acct(2), of @privileged): the
    # process that makes it is killed, as systemd's filter does.
    import seccomp
    nr = seccomp.resolve_syscall(seccomp.Arch.NATIVE, "acct")
    pid = os.fork()
    if pid == 0:
        libc.syscall(nr, None)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    out["acct(2)"] = ("killed by signal %d" % os.WTERMSIG(status)
                      if os.WIFSIGNALED(status) else
                      "exit %d" % os.WEXITSTATUS(status))
    others = []
    for n in os.listdir("/proc"):
        if n.isdigit():
            try:
                if os.stat("/proc/" + n).st_uid != os.getuid():
                    others.append(n)
            except OSError:
                pass
    out["processes of other users"] = len(others)
    out["/proc/sys"] = os.path.exists("/proc/sys")
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp",
                     "CapEff", "CapPrm", "CapBnd", "CapAmb"):
                out[k] = " ".join(v.split())
    with open("/proc/self/uid_map") as f:
        out["uid_map"] = " ".join(f.read().split())
    out["umask"] = "%04o" % os.umask(0o077)
    return out


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(prog="unitexec.py")
    ap.add_argument("--service", required=True)
    ap.add_argument("--socket")
    ap.add_argument("--log")
    ap.add_argument("--setting", default="ExecStart",
                    choices=("ExecStart", "ExecReload"))
    ap.add_argument("--mainpid", type=int)
    ap.add_argument("--probe", action="store_true")
    a = ap.parse_args()

    u = parse_unit(a.service)
    s, l = settings(u.get("Service", []), a.service)
    for k in list(s) + list(l):
        if k not in APPLIED and k not in MANAGER_ONLY:
            raise UnitError("%s: [Service] %s: not emulated; teach "
                            "unitexec.py how systemd applies it" %
                            (a.service, k))
    pw = pwd.getpwnam(s.get("User", "root"))
    gid = grp.getgrnam(s["Group"]).gr_gid if "Group" in s else pw.pw_gid
    with open("/proc/sys/kernel/cap_last_cap") as f:
        cap_last = int(f.read())
    groups = syscall_groups()

    sock = make_socket(a.socket) if a.socket and \
        a.setting == "ExecStart" else None

    flags = CLONE_NEWNS
    if boolean(s.get("PrivateIPC")):
        flags |= CLONE_NEWIPC
    if boolean(s.get("ProtectHostname")):
        flags |= CLONE_NEWUTS
    if libc.unshare(flags) != 0:
        raise _err("unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    filesystem(s, l)
    if boolean(s.get("PrivateUsers")):
        private_users(pw.pw_uid, gid)
    drop_privileges(s, l, pw, gid, cap_last)

    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                   "/sbin:/bin", "LANG": "C.UTF-8", "USER": pw.pw_name,
           "LOGNAME": pw.pw_name, "HOME": pw.pw_dir, "SHELL": pw.pw_shell}
    for k, v in os.environ.items():
        if k.startswith(("ASAN_", "UBSAN_", "LSAN_")):
            env[k] = v
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    if a.log:
        logfd = os.open(a.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                        0o600)
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
    if sock is not None:
        os.dup2(sock, 3)
        os.set_inheritable(3, True)
        env["LISTEN_FDS"] = "1"
        env["LISTEN_FDNAMES"] = os.path.basename(a.socket)
    os.closerange(4, 1024)

    load_seccomp(s, l, groups)

    if a.probe:
        print(json.dumps(probe()))
        sys.stdout.flush()
        os._exit(0)
    if a.setting == "ExecStart":
        argv = shlex.split(s["ExecStart"])
        env["LISTEN_PID"] = str(os.getpid())
        if sock is None:
            env.pop("LISTEN_FDS", None)
        os.execve(argv[0], argv, env)
    for line in l.get("ExecReload", []):
        argv = [w.replace("$MAINPID", str(a.mainpid))
                for w in shlex.split(line)]
        pid = os.fork()
        if pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            sys.exit(os.waitstatus_to_exitcode(status) or 1)
    sys.exit(0)


if __name__ == "__main__":
    try:
        main()
    except (UnitError, OSError) as e:
        sys.stderr.write("unitexec.py: %s\n" % e)
        sys.exit(2)
