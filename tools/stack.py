#!/usr/bin/python3
"""
stack.py: bring up latch's whole stack in one directory, as a module (used
by tests/run.py) and as a command (used by "make run").

    MariaDB   private datadir DIR/mysql, socket DIR/mysql.sock, no TCP
    latchd    build/latchd -c DIR/latch.ini, FastCGI on DIR/latchd.sock
    lighttpd  DIR/lighttpd.conf, 127.0.0.1:PORT, including
              contrib/lighttpd/latch.conf (the API at /api) and
              latch-pages.conf (the pages, www/, at /) as shipped

Every process is started by us, in its own session (so a Ctrl-C on the
terminal reaches only us, and we stop them in order), with a parent-death
signal (so they go away even if we are killed with SIGKILL).

Command line:

    stack.py run --dir var --port 8080 [--set section.key=value]...
        Create DIR on the first run (datadir, database, user, config,
        schema); reuse it afterwards.  Runs in the foreground until Ctrl-C
        or SIGTERM; SIGHUP makes latchd re-read DIR/latch.ini.  Supervises
        what it started: a process that exits (MariaDB restarted or
        crashed, say) is started again, after 0.5 s doubling to 30 s while
        it keeps dying, and the others keep running (latchd reconnects to
        MariaDB by itself).
    stack.py sql --dir var [SQL]
        The mariadb client as root on the running stack's database.

Only the Python standard library is used.
"""

import argparse
import atexit
import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import json
import email
import email.policy

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The section of every key latch knows, for reload(key=value) and for
# --set key=value without a section.  The config file itself is looked at
# first; this covers keys it does not spell out.
KEY_SECTIONS = {
    "server": "listen workers max_requests base_path socket_mode "
              "request_timeout trusted_proxies log_level login_url",
    "database": "socket host port user password name timeout "
    "wsrep_sync_wait",
    "security": "jwt_secret issuer access_ttl refresh_ttl remember_ttl "
                "refresh_reuse_interval leeway scrypt_n scrypt_r scrypt_p "
                "password_min_length allow_new_organizations "
                "invitation_ttl reset_ttl email_change_ttl auth_enabled "
                "cookie_secure cookie_path allow_world_readable_config "
                "mfa_key mfa_key_previous mfa_issuer",
    "mail": "run_mailer spool_dir transport smtp_host smtp_port smtp_tls "
            "smtp_verify smtp_ca_file smtp_user smtp_password from "
            "invite_url reset_url email_url retry_min retry_max "
            "max_attempts sendmail_path min_interval",
    "limits": "max_body ip_budget ip_exempt login_max_failures "
              "login_window login_max_delay",
}
KEY_SECTIONS = {k: s for s, ks in KEY_SECTIONS.items() for k in ks.split()}

# Bounded waits, in seconds.  They are limits on waiting for something that
# should happen, never assertions on how fast it happens.
DB_START_WAIT = 60
DB_STOP_WAIT = 60
PROC_START_WAIT = 30
PROC_STOP_WAIT = 20
RELOAD_WAIT = 30

# "stack.py run" restarts a process that exited after this delay, doubled
# at each exit up to the maximum, back to the minimum once it ran STABLE.
RESTART_MIN = 0.5
RESTART_MAX = 30.0
RESTART_STABLE = 30.0


class StackError(Exception):
    """Something in the stack could not be started, stopped or used."""


# ---------------------------------------------------------------- helpers

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path, lines=25):
    """The last lines of a log file, as one string ("" if unreadable)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _boolstr(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def ini_read(path):
    """
    Parse a latch config as latchd does (whole-line comments, "key = value",
    one pair of double quotes removed).  Returns {section: {key: value}}.
    """
    out = {}
    sec = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s or s[0] in ";#":
                continue
            if s.startswith("[") and s.endswith("]"):
                sec = s[1:-1].strip()
                out.setdefault(sec, {})
                continue
            if "=" not in s:
                continue
            k, v = s.split("=", 1)
            k, v = k.strip(), v.strip()
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1]
            out.setdefault(sec, {})[k] = v
    return out


def normalize_overrides(overrides, path=None, **kw):
    """
    Turn overrides into {(section, key): "value"}.  Accepts a dict or a
    list of "section.key=value" strings; keys without a section (also the
    keyword arguments) get theirs from the config at path or KEY_SECTIONS.
    """
    items = []
    if overrides is None:
        pass
    elif isinstance(overrides, dict):
        items.extend(overrides.items())
    else:
        for s in overrides:
            if "=" not in s:
                raise StackError("override %r is not section.key=value" % s)
            items.append(tuple(s.split("=", 1)))
    items.extend(kw.items())
    known = {}
    if path is not None and os.path.exists(path):
        for sec, kv in ini_read(path).items():
            for k in kv:
                known.setdefault(k, sec)
    out = {}
    for k, v in items:
        if isinstance(k, tuple):
            sec, key = k
        elif "." in k:
            sec, key = k.split(".", 1)
        else:
            sec = known.get(k) or KEY_SECTIONS.get(k)
            if sec is None:
                raise StackError("unknown config key %r" % k)
            key = k
        out[(sec, key)] = _boolstr(v)
    return out


def _ini_value(v):
    v = str(v)
    if "\n" in v or "\r" in v:
        raise StackError("config values cannot contain line breaks")
    if v != v.strip() or (len(v) >= 2 and v[0] == '"' and v[-1] == '"'):
        return '"%s"' % v
    return v


def ini_set(path, values):
    """
    Set {(section, key): value} in the config at path in place: an existing
    "key = ..." line is replaced, a missing key is added at the top of its
    section, a missing section is appended.  Comments and order are kept;
    the file is replaced atomically with its mode kept (0600 if new).
    """
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        lines, mode = [], 0o600
    todo = dict(values)
    headers = {}
    sec = ""
    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            sec = s[1:-1].strip()
            headers[sec] = i
            continue
        if not s or s[0] in ";#" or "=" not in s:
            continue
        k = s.split("=", 1)[0].strip()
        if (sec, k) in todo:
            lines[i] = "%s = %s" % (k, _ini_value(todo.pop((sec, k))))
    # Insert in reverse line order so earlier indexes stay valid.
    add = {}
    for (sec, k), v in todo.items():
        add.setdefault(sec, []).append("%s = %s" % (k, _ini_value(v)))
    for sec in sorted((s for s in add if s in headers),
                      key=lambda s: headers[s], reverse=True):
        i = headers[sec] + 1
        lines[i:i] = add[sec]
    for sec in add:
        if sec not in headers:
            lines += ["", "[%s]" % sec] + add[sec]
    tmp = "%s.tmp%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _proc_stat(pid):
    """(state, ppid) of a process from /proc, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1])


def pid_alive(pid):
    """True if pid is a live process (not a zombie)."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children_of(ppid):
    """Live (non-zombie) children of ppid, sorted."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _proc_stat(int(name))
        if st and st[1] == ppid and st[0] not in ("Z", "X"):
            out.append(int(name))
    return sorted(out)


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


_libc = None


def _child_setup():
    """In the child before exec: die with us (we are single-threaded)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def wait_until(cond, timeout, what, interval=0.1, alive=None):
    """
    Poll cond() until it returns a true value (returned), at most timeout
    seconds; alive(), if given, may raise to stop early.  Raises StackError
    naming what was awaited.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if alive is not None:
            alive()
        if time.monotonic() >= deadline:
            raise StackError("gave up after %ss waiting for %s"
                             % (timeout, what))
        time.sleep(interval)


class _Blocked:
    """Hold SIGINT/SIGTERM/SIGHUP off while a cleanup runs."""
    SIGS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

    def __enter__(self):
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGS)

    def __exit__(self, *a):
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)


_live_stacks = []


@atexit.register
def _stop_all():
    for s in list(_live_stacks):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            print("stack: stop: %s" % e, file=sys.stderr)


# ------------------------------------------------------------------ Stack

class Stack:
    """
    The processes of one stack rooted at dir.  start() creates what is
    missing and starts everything; stop() stops everything it started.
    """

    def __init__(self, dir, port=None, repo=REPO, fast=False):
        self.dir = os.path.abspath(dir)
        self.repo = os.path.abspath(repo)
        self.port = port
        self.fast = fast   # trade MariaDB durability for speed (tests)
        self.db_args = []  # more mariadbd options (make bench)
        self.procs = {}    # name -> Popen
        self.logs = {}     # name -> log path
        # LATCH_BUILD=build-asan (make check SANITIZE=1): sanitized binaries.
        bdir = os.environ.get("LATCH_BUILD") or "build"
        self.latchd_bin = os.path.join(self.repo, bdir, "latchd")
        self.latchctl_bin = os.path.join(self.repo, bdir, "latchctl")
        self.example = os.path.join(self.repo, "conf", "latch.ini.example")
        self.contrib = os.path.join(self.repo, "contrib", "lighttpd",
                                    "latch.conf")
        self.contrib_pages = os.path.join(self.repo, "contrib", "lighttpd",
                                          "latch-pages.conf")
        self.pages = os.path.join(self.repo, "www")
        d = self.dir
        self.datadir = os.path.join(d, "mysql")
        self.db_socket = os.path.join(d, "mysql.sock")
        self.db_pidfile = os.path.join(d, "mysqld.pid")
        self.db_log = os.path.join(d, "mysqld.err")
        self.config = os.path.join(d, "latch.ini")
        self.latchd_socket = os.path.join(d, "latchd.sock")
        self.latchd_log = os.path.join(d, "latchd.log")
        self.lighttpd_conf = os.path.join(d, "lighttpd.conf")
        self.lighttpd_pidfile = os.path.join(d, "lighttpd.pid")
        self.lighttpd_log = os.path.join(d, "lighttpd-error.log")
        self.www = os.path.join(d, "www")
        self.spool = os.path.join(d, "spool")
        self.tmp = os.path.join(d, "tmp")
        self.logs = {"mariadbd": self.db_log, "latchd": self.latchd_log,
                     "lighttpd": self.lighttpd_log}
        self.db_admin = "root" if os.geteuid() == 0 else \
            pwd.getpwuid(os.geteuid()).pw_name
        self.base_path = "/api"
        self.lighttpd_extra = ""   # more lighttpd config (tests)
        self.latchd_user = None    # run latchd as this user (tests)
        self._workers_seen = set()
        if len(self.latchd_socket) > 100 or len(self.db_socket) > 100:
            raise StackError("%s: path too long for unix sockets" % d)

    # -------------------------------------------------------- processes

    def _spawn(self, name, argv, logpath, env=None, user=None):
        log = open(logpath, "ab")
        ids = {} if user is None else {"user": user, "group": user,
                                       "extra_groups": []}
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, cwd=self.dir,
                                 env=env, start_new_session=True,
                                 preexec_fn=_child_setup, **ids)
        finally:
            log.close()
        self.procs[name] = p
        if self not in _live_stacks:
            _live_stacks.append(self)
        return p

    def _alive_check(self, name):
        def check():
            p = self.procs.get(name)
            if p is not None and p.poll() is not None:
                raise StackError("%s exited with status %s:\n%s" % (
                    name, p.returncode, log_tail(self.logs[name])))
        return check

    def _terminate(self, name, timeout=PROC_STOP_WAIT, sig=signal.SIGTERM):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.send_signal(sig)
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                print("stack: %s did not stop in %ss, killing it"
                      % (name, timeout), file=sys.stderr)
                p.kill()
                p.wait()
        return p.returncode

    def dead(self):
        """Name of a started process that has exited, or None."""
        for name, p in self.procs.items():
            if p.poll() is not None:
                return name
        return None

    # ---------------------------------------------------------- MariaDB

    def _mariadb(self, args, input=None, check=True, db=None, timeout=60):
        argv = ["mariadb", "--no-defaults", "-S", self.db_socket,
                "-u", self.db_admin] + args
        if db:
            argv.append(db)
        # Binary columns come back raw: decode without failing on them.
        r = subprocess.run(argv, input=input, capture_output=True,
                           encoding="utf-8", errors="replace",
                           timeout=timeout)
        if check and r.returncode != 0:
            raise StackError("mariadb: %s" % r.stderr.strip())
        return r

    def init_db(self):
        """Create the datadir with mariadb-install-db unless it exists."""
        if os.path.isdir(os.path.join(self.datadir, "mysql")):
            return False
        argv = ["mariadb-install-db", "--no-defaults",
                "--datadir=" + self.datadir,
                "--auth-root-authentication-method=socket",
                "--skip-test-db"]
        if os.geteuid() == 0:
            argv.append("--user=root")
        else:
            argv.append("--auth-root-socket-user=" + self.db_admin)
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise StackError("mariadb-install-db failed:\n%s%s"
                             % (r.stdout[-2000:], r.stderr[-2000:]))
        return True

    def db_running(self):
        return "mariadbd" in self.procs and \
            self.procs["mariadbd"].poll() is None

    def start_db(self):
        """Start mariadbd on the datadir and wait until it answers."""
        if self.db_running():
            return
        if os.path.exists(self.db_socket):
            if self._db_answers():
                raise StackError("a MariaDB server already runs on %s"
                                 % self.db_socket)
            os.unlink(self.db_socket)
        argv = ["mariadbd", "--no-defaults", "--datadir=" + self.datadir,
                "--socket=" + self.db_socket, "--skip-networking",
                "--pid-file=" + self.db_pidfile,
                "--log-error=" + self.db_log, "--skip-log-bin",
                "--tmpdir=" + self.tmp, "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci"]
        if self.fast:
            argv += ["--innodb-flush-log-at-trx-commit=2",
                     "--innodb-doublewrite=0"]
        argv += self.db_args
        if os.geteuid() == 0:
            argv.append("--user=root")
        self._spawn("mariadbd", argv, os.path.join(self.dir, "mysqld.out"))
        try:
            wait_until(self._db_answers, DB_START_WAIT,
                       "MariaDB on " + self.db_socket, interval=0.2,
                       alive=self._alive_check("mariadbd"))
        except StackError as e:
            self._terminate("mariadbd")
            raise StackError("%s\n%s" % (e, log_tail(self.db_log)))

    def _db_answers(self):
        try:
            return self._mariadb(["-e", "SELECT 1"], check=False,
                                 timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def stop_db(self):
        """Stop mariadbd (SIGTERM: a clean shutdown) and wait for it."""
        self._terminate("mariadbd", timeout=DB_STOP_WAIT)

    def ensure_database(self, password, name="latch", user="latch"):
        """Create the database and its account (idempotent)."""
        q = password.replace("\\", "\\\\").replace("'", "\\'")
        sql = ("CREATE DATABASE IF NOT EXISTS `{n}` CHARACTER SET utf8mb4;"
               "CREATE USER IF NOT EXISTS '{u}'@'localhost' "
               "IDENTIFIED BY '{p}';"
               "ALTER USER '{u}'@'localhost' IDENTIFIED BY '{p}';"
               "GRANT ALL ON `{n}`.* TO '{u}'@'localhost';"
               ).format(n=name, u=user, p=q)
        self._mariadb([], input=sql)

    def mysql(self, sql, db="latch"):
        """
        Run SQL as the MariaDB admin over the socket; returns the rows of
        the last result as lists of strings (None for NULL).  Binary
        columns are better selected with HEX().
        """
        r = self._mariadb(["--batch", "--skip-column-names", "-e", sql],
                          db=db)
        rows = []
        for line in r.stdout.split("\n"):
            if line == "":
                continue
            rows.append([None if c == "NULL" else _unescape(c)
                         for c in line.split("\t")])
        return rows

    # ----------------------------------------------------------- config

    def write_config(self, overrides=None, workers=2):
        """
        Create the config with latchctl init (a fresh jwt_secret) unless it
        exists, pointing it at our MariaDB and sockets, then apply
        overrides.  The database password is generated here and written
        into the file directly (never on a command line).  Returns it.
        """
        fresh = not os.path.exists(self.config)
        if fresh:
            sets = {
                ("database", "socket"): self.db_socket,
                ("database", "user"): "latch",
                ("database", "name"): "latch",
                ("server", "listen"): self.latchd_socket,
                ("server", "workers"): str(workers),
                ("server", "base_path"): "/api",
                ("mail", "spool_dir"): self.spool,
                ("mail", "template_dir"): os.path.join(REPO, "conf", "mail"),
            }
            if os.geteuid() == 0:
                # latch-mailer never runs as root, and this stack's
                # latchd (root) writes a spool that only root can read.
                sets[("mail", "run_mailer")] = "false"
            sets.update(normalize_overrides(overrides))
            args = ["init", self.config, "--from", self.example]
            for (sec, k), v in sets.items():
                args += ["--set", "%s.%s=%s" % (sec, k, v)]
            r = self.latchctl(*args, config=False)
            if r.returncode != 0:
                raise StackError("latchctl init failed (%d):\n%s%s" % (
                    r.returncode, r.stdout, r.stderr))
            if not os.path.exists(self.config):
                raise StackError("latchctl init wrote no " + self.config)
            ini_set(self.config, {("database", "password"):
                                  secrets.token_urlsafe(24)})
        elif overrides:
            ini_set(self.config, normalize_overrides(overrides,
                                                     self.config))
        cfg = ini_read(self.config)
        self.base_path = cfg.get("server", {}).get("base_path", "/api")
        return cfg.get("database", {}).get("password", "")

    def config_values(self):
        """The config as {section: {key: value}}."""
        return ini_read(self.config)

    @property
    def jwt_secret(self):
        return self.config_values()["security"]["jwt_secret"]

    @property
    def db_password(self):
        return self.config_values().get("database", {}).get("password", "")

    def set_config(self, overrides=None, **kw):
        """Change keys of the config file in place (no signal)."""
        ini_set(self.config, normalize_overrides(overrides, self.config,
                                                 **kw))

    def latchctl(self, *args, input=None, config=True, timeout=120):
        """
        Run build/latchctl (with -c CONFIG first unless config is False)
        and return the CompletedProcess (text stdout/stderr/returncode).
        """
        argv = [self.latchctl_bin]
        if config:
            argv += ["-c", self.config if config is True else config]
        argv += [str(a) for a in args]
        return subprocess.run(argv, input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=self.repo)

    def migrate(self):
        r = self.latchctl("migrate")
        if r.returncode != 0:
            raise StackError("latchctl migrate failed (%d):\n%s%s"
                             % (r.returncode, r.stdout, r.stderr))
        return r

    # ----------------------------------------------------------- latchd

    def _socket_accepts(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            try:
                s.connect(self.latchd_socket)
                return True
            except OSError:
                return False

    def listen_path(self):
        listen = self.config_values().get("server", {}).get(
            "listen", self.latchd_socket)
        if not listen.startswith("/"):
            raise StackError("[server] listen = %s: the stack needs a unix "
                             "socket path" % listen)
        return listen

    def start_latchd(self):
        for exe in (self.latchd_bin, self.latchctl_bin):
            if not os.access(exe, os.X_OK):
                raise StackError("%s is missing: run make first" % exe)
        self.latchd_socket = self.listen_path()
        if os.path.exists(self.latchd_socket):
            if self._socket_accepts():
                raise StackError("something already listens on %s"
                                 % self.latchd_socket)
            os.unlink(self.latchd_socket)
        self._spawn("latchd", [self.latchd_bin, "-c", self.config],
                    self.latchd_log, user=self.latchd_user)
        try:
            wait_until(self._socket_accepts, PROC_START_WAIT,
                       "latchd on " + self.latchd_socket,
                       alive=self._alive_check("latchd"))
        except StackError as e:
            self.stop_latchd()
            raise StackError("%s\n%s" % (e, log_tail(self.latchd_log)))

    @property
    def latchd_pid(self):
        p = self.procs.get("latchd")
        return p.pid if p is not None else None

    def worker_pids(self):
        """The live worker processes: children of the latchd master but
        latch-mailer, which the master runs too and keeps across a
        reload."""
        pid = self.latchd_pid
        if pid is None:
            return []
        w = [p for p in children_of(pid)
             if "latch-mailer" not in _cmdline(p)]
        self._workers_seen.update(w)
        return w

    def stop_latchd(self):
        pid = self.latchd_pid
        if pid is not None:
            self.worker_pids()
        self._terminate("latchd")
        # Workers that outlived their master would hold the socket: they
        # must not survive us.
        for w in sorted(self._workers_seen):
            if pid_alive(w) and "latchd" in _cmdline(w):
                print("stack: latchd worker %d outlived the master, "
                      "killing it" % w, file=sys.stderr)
                try:
                    os.kill(w, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._workers_seen.clear()

    def configured_workers(self):
        try:
            return int(self.config_values()["server"]["workers"])
        except (KeyError, ValueError):
            return 4

    def sighup(self, wait=True):
        """
        SIGHUP latchd.  With wait, wait until every worker of before was
        replaced by a new one (the master re-read the config and renewed
        its pool) and the pool is full again.
        """
        pid = self.latchd_pid
        if pid is None:
            raise StackError("latchd is not running")
        old = set(self.worker_pids())
        os.kill(pid, signal.SIGHUP)
        if not wait:
            return
        want = self.configured_workers()

        def renewed():
            now = set(self.worker_pids())
            return len(now) >= want and not (now & old)
        try:
            wait_until(renewed, RELOAD_WAIT,
                       "latchd to replace its workers after SIGHUP",
                       alive=self._alive_check("latchd"))
        except StackError as e:
            raise StackError("%s\n%s" % (e, log_tail(self.latchd_log)))

    def reload(self, overrides=None, **kw):
        """Rewrite keys of the config in place, then SIGHUP latchd and
        wait for the new workers.  reload(allow_new_organizations=False)
        or reload({"security.scrypt_n": 2048})."""
        self.set_config(overrides, **kw)
        self.sighup(wait=True)

    # --------------------------------------------------------- lighttpd

    def write_lighttpd_conf(self, latch_socket=None, base=None):
        base = self.base_path if base is None else base
        if not base:
            raise StackError("[server] base_path is empty: the stack mounts "
                             "latch under a prefix (see "
                             "contrib/lighttpd/latch.conf for the root)")
        conf = """\
# Generated by tools/stack.py for one test/development stack.
server.port = {port}
server.bind = "127.0.0.1"
server.document-root = "{www}"
server.errorlog = "{errlog}"
server.pid-file = "{pidfile}"
server.upload-dirs = ( "{tmp}" )

var.latch_socket = "{sock}"
var.latch_base = "{base}"
include "{contrib}"
""".format(port=self.port, www=self.www, errlog=self.lighttpd_log,
           pidfile=self.lighttpd_pidfile, tmp=self.tmp,
           sock=latch_socket or self.latchd_socket,
           base=base, contrib=self.contrib)
        # The pages' mount rule: the pages at <prefix>/, the API at
        # <prefix>/api.
        if base.endswith("/api"):
            conf += """\
var.latch_pages = "{pages}"
var.latch_www = "{www}"
include "{contrib}"
""".format(pages=base[:-len("api")], www=self.pages,
           contrib=self.contrib_pages)
        conf += self.lighttpd_extra
        with open(self.lighttpd_conf, "w") as f:
            f.write(conf)

    def _port_accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), 2):
                return True
        except OSError:
            return False

    def start_lighttpd(self, latch_socket=None, base=None):
        if self.port is None:
            self.port = free_port()
        self.write_lighttpd_conf(latch_socket, base)
        r = subprocess.run(["lighttpd", "-tt", "-f", self.lighttpd_conf],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise StackError("lighttpd rejects %s:\n%s%s" % (
                self.lighttpd_conf, r.stdout, r.stderr))
        if self._port_accepts():
            raise StackError("port %d is already in use" % self.port)
        self._spawn("lighttpd", ["lighttpd", "-D", "-f", self.lighttpd_conf],
                    self.lighttpd_log)
        try:
            wait_until(self._port_accepts, PROC_START_WAIT,
                       "lighttpd on port %d" % self.port,
                       alive=self._alive_check("lighttpd"))
        except StackError as e:
            self._terminate("lighttpd")
            raise StackError("%s\n%s" % (e, log_tail(self.lighttpd_log)))

    def stop_lighttpd(self):
        self._terminate("lighttpd")

    # ------------------------------------------------------------ whole

    def start(self, overrides=None, workers=2):
        """
        Bring everything up: the datadir and config are created if
        missing and reused otherwise (overrides are applied to an existing
        config in place); the schema is migrated each time.
        """
        for d in (self.dir, self.www, self.spool, self.tmp):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.dir, 0o700)
        try:
            self.init_db()
            self.start_db()
            password = self.write_config(overrides, workers=workers)
            db = self.config_values().get("database", {})
            self.ensure_database(password, name=db.get("name") or "latch",
                                 user=db.get("user") or "latch")
            self.migrate()
            self.start_latchd()
            self.start_lighttpd()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop lighttpd, latchd and mariadbd (in that order) and wait."""
        with _Blocked():
            errors = []
            for step in (self.stop_lighttpd, self.stop_latchd, self.stop_db):
                try:
                    step()
                except Exception as e:
                    errors.append(str(e))
            for name in list(self.procs):
                self._terminate(name)
            if self in _live_stacks:
                _live_stacks.remove(self)
        if errors:
            raise StackError("; ".join(errors))

    def restart(self, name):
        """Start process `name` of the stack again (it exited)."""
        self.procs.pop(name, None)
        if name == "mariadbd":
            self.start_db()
        elif name == "latchd":
            self.start_latchd()
        elif name == "lighttpd":
            self.start_lighttpd()
        else:
            raise StackError("no way to start %s again" % name)

    def url(self, path=""):
        """Full URL of an API path ("/auth/login")."""
        return "http://127.0.0.1:%d%s%s" % (self.port, self.base_path, path)

    def path(self, path=""):
        """Request target of an API path, base path included."""
        return self.base_path + path

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


# ---------------------------------------------------------------- Cluster

GALERA = "/usr/lib/galera/libgalera_smm.so"   # Debian's galera-4
# Galera's evs.suspect_timeout (default 5 s): how long the other nodes
# wait for a silent node before they go on without it; commits wait
# meanwhile.
SUSPECT = 3


class Cluster:
    """
    Several latch hosts on one MariaDB Galera cluster, on loopback under
    dir: `nodes` MariaDB nodes (each a Stack whose own MariaDB is a
    Galera node with its own datadir, socket and ports) and `hosts` latch
    hosts (each a Stack with latchd and lighttpd but no MariaDB of its
    own, sharing one config: the same secrets, the same database
    account).  Host i names every node in [database] host, its own node
    (i modulo the nodes) first.  The first node bootstraps the cluster;
    the others join it by state transfer (rsync SST, then IST when a
    node comes back).
    """

    def __init__(self, dir, nodes=3, hosts=2, fast=True):
        self.dir = os.path.abspath(dir)
        self.nodes = [Stack(os.path.join(self.dir, "node%d" % i), fast=fast)
                      for i in range(nodes)]
        self.hosts = [Stack(os.path.join(self.dir, "host%s" % "abcdefgh"[i]),
                            fast=fast) for i in range(hosts)]
        for i, h in enumerate(self.hosts):
            # h.mysql() and h.db_socket: the host's own node.
            h.db_socket = self.nodes[i % nodes].db_socket
        self.gcomm = [free_port() for _ in self.nodes]
        self.ist = [free_port() for _ in self.nodes]
        self.sst = [free_port() for _ in self.nodes]
        # [database] wsrep_sync_wait of the hosts (LATCH_SYNC_WAIT=0
        # shows what 1 is for).
        self.sync_wait = int(os.environ.get("LATCH_SYNC_WAIT", "1"))

    def _node_args(self, i):
        return [
            "--wsrep-on=ON", "--wsrep-provider=" + GALERA,
            "--wsrep-cluster-address=gcomm://" + ",".join(
                "127.0.0.1:%d" % p for p in self.gcomm),
            "--wsrep-node-address=127.0.0.1",
            "--wsrep-node-name=node%d" % i,
            "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:"
            "%d;ist.recv_addr=127.0.0.1:%d;gcache.size=64M;"
            "evs.suspect_timeout=PT%dS;evs.inactive_timeout=PT%dS"
            % (self.gcomm[i], self.ist[i], SUSPECT, 2 * SUSPECT),
            "--wsrep-sst-method=rsync",
            "--wsrep-sst-receive-address=127.0.0.1:%d" % self.sst[i],
            "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2",
            "--innodb-buffer-pool-size=64M"]

    def node_state(self, i):
        """wsrep_local_state_comment of node i ("Synced"), or None."""
        try:
            r = self.nodes[i]._mariadb(
                ["--batch", "--skip-column-names", "-e",
                 "SHOW STATUS LIKE 'wsrep_local_state_comment'"],
                check=False, timeout=10)
        except subprocess.TimeoutExpired:
            return None
        f = r.stdout.split()
        return f[1] if r.returncode == 0 and len(f) == 2 else None

    def start_node(self, i, bootstrap=False):
        """Start node i (bootstrap: a new cluster) and wait until it has
        joined and is synced."""
        n = self.nodes[i]
        for d in (n.dir, n.tmp):
            os.makedirs(d, exist_ok=True)
        # A joiner's datadir is written by rsync's daemon (the state
        # transfer, or its end marker after an IST), which runs as
        # nobody when started by root: it must reach and own it.
        os.makedirs(n.datadir, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(n.datadir, pwd.getpwnam("nobody").pw_uid, -1)
            os.chmod(n.dir, 0o711)
        n.db_args = self._node_args(i) + (
            ["--wsrep-new-cluster"] if bootstrap else []) + \
            self._recovered(i)
        n.start_db()
        wait_until(lambda: self.node_state(i) == "Synced", DB_START_WAIT,
                   "node %d to be synced" % i,
                   alive=n._alive_check("mariadbd"))

    def _recovered(self, i):
        """
        After a crash (grastate.dat's seqno -1) the node's position is in
        InnoDB: find it as Debian's galera_recovery does (mariadbd
        --wsrep-recover) and start from it, so that the node catches up
        by IST instead of a full state transfer.
        """
        n = self.nodes[i]
        try:
            with open(os.path.join(n.datadir, "grastate.dat")) as f:
                if "seqno:   -1" not in f.read():
                    return []
        except FileNotFoundError:
            return []
        log = os.path.join(n.dir, "wsrep-recover.log")
        if os.path.exists(log):
            os.unlink(log)
        argv = ["mariadbd", "--no-defaults", "--datadir=" + n.datadir,
                "--log-error=" + log, "--wsrep-recover",
                "--skip-networking", "--tmpdir=" + n.tmp,
                "--socket=" + n.db_socket + ".recover"] + \
            self._node_args(i)
        if os.geteuid() == 0:
            argv.append("--user=root")
        subprocess.run(argv, capture_output=True, timeout=DB_START_WAIT)
        with open(log, errors="replace") as f:
            for line in f:
                if "WSREP: Recovered position:" in line:
                    return ["--wsrep-start-position=" +
                            line.rsplit(" ", 1)[1].strip()]
        raise StackError("node %d: no recovered position:\n%s"
                         % (i, log_tail(log)))

    def stop_node(self, i, sig=signal.SIGTERM):
        """Stop node i (SIGKILL: a crash) and wait for it."""
        self.nodes[i]._terminate("mariadbd", timeout=DB_STOP_WAIT, sig=sig)

    def start(self, overrides=None, workers=2):
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o711)
        try:
            first = self.nodes[0]
            os.makedirs(first.tmp, exist_ok=True)
            first.init_db()
            self.start_node(0, bootstrap=True)
            for i in range(1, len(self.nodes)):
                self.start_node(i)
            self.write_configs(overrides, workers)
            a = self.hosts[0]
            db = a.config_values().get("database", {})
            a.ensure_database(a.db_password, name=db.get("name") or "latch",
                              user=db.get("user") or "latch")
            a.migrate()
            for h in self.hosts:
                h.start_latchd()
                h.start_lighttpd()
        except BaseException:
            self.stop()
            raise
        return self

    def write_configs(self, overrides=None, workers=2):
        """Host a's config (latchctl init), copied to every other host
        with its own socket, spool and list of nodes."""
        a = self.hosts[0]
        for h in self.hosts:
            for d in (h.dir, h.www, h.spool, h.tmp):
                os.makedirs(d, exist_ok=True)
            os.chmod(h.dir, 0o700)
        a.write_config(overrides, workers=workers)
        for i, h in enumerate(self.hosts):
            if h is not a:
                shutil.copy(a.config, h.config)
                os.chmod(h.config, 0o600)
            k = i % len(self.nodes)
            order = self.nodes[k:] + self.nodes[:k]
            ini_set(h.config, {
                ("server", "listen"): h.latchd_socket,
                ("mail", "spool_dir"): h.spool,
                ("database", "socket"): "",
                ("database", "host"): ", ".join(n.db_socket for n in order),
                ("database", "wsrep_sync_wait"): str(self.sync_wait),
            })
            h.base_path = a.base_path

    def dead(self):
        for s in self.hosts + self.nodes:
            d = s.dead()
            if d:
                return "%s of %s" % (d, os.path.basename(s.dir))
        return None

    def log_of(self, what):
        """The log named by dead()'s answer."""
        name, _, owner = what.partition(" of ")
        for s in self.hosts + self.nodes:
            if os.path.basename(s.dir) == owner:
                return s.logs[name]
        return None

    def stop(self):
        errors = []
        for s in self.hosts + self.nodes[::-1]:
            try:
                s.stop()
            except Exception as e:
                errors.append(str(e))
        if errors:
            raise StackError("; ".join(errors))

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def _unescape(s):
    """Undo the mariadb client's --batch escaping of one cell."""
    if "\\" not in s:
        return s
    out, i = [], 0
    table = {"n": "\n", "t": "\t", "\\": "\\", "0": "\0"}
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(table.get(s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


# --------------------------------------------------------------- the CLI

class _Stop(Exception):
    pass


def page_links(stack, port):
    """
    make run: the config keys that link to the pages (the mails' links)
    set to the pages this stack serves on port, unless the config names
    pages elsewhere.  Returns {(section, key): url} for what to change.
    """
    keys = {"invite_url": "register.html", "reset_url": "reset.html",
            "email_url": "confirm-email.html"}
    known = ini_read(stack.example).get("mail", {})
    have = {}
    if os.path.exists(stack.config):
        have = ini_read(stack.config).get("mail", {})
    out = {}
    for k, name in keys.items():
        if k not in known:      # this latch has no such key
            continue
        v = have.get(k, "")
        if v == "" or v.startswith("http://127.0.0.1:"):
            want = "http://127.0.0.1:%d/%s" % (port, name)
            if v != want:
                out[("mail", k)] = want
    return out


def print_mail(spool, seen):
    """
    make run keeps mail in the spool (no smtp_host): show each new
    message on the terminal once, so its link can be followed.
    """
    d = os.path.join(spool, "new")
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return
    for n in names:
        if n in seen:
            continue
        seen.add(n)
        try:
            with open(os.path.join(d, n), "rb") as f:
                msg = email.message_from_binary_file(
                    f, policy=email.policy.default)
            body = msg.get_body(("plain",)).get_content()
        except (OSError, ValueError, AttributeError, LookupError):
            continue
        print("latch: mail to %s: %s (in %s)\n%s" % (
            msg["To"], msg["Subject"], os.path.join(d, n),
            "\n".join("  | " + line for line in body.splitlines())),
            flush=True)


class Supervisor:
    """
    Start again each process of a stack that exits, with a delay per
    process of RESTART_MIN doubling to RESTART_MAX while it keeps dying,
    back to RESTART_MIN once it ran RESTART_STABLE seconds.
    """

    def __init__(self, stack, out=sys.stderr):
        self.stack = stack
        self.out = out
        self.delay = {}     # name -> the delay of its next restart
        self.due = {}       # name -> when to start it again (monotonic)
        self.started = {}   # name -> when it was last started

    def _say(self, msg):
        print("latch: " + msg, file=self.out, flush=True)

    def poll(self):
        """Notice exits and run the restarts that are due."""
        now = time.monotonic()
        for name, p in list(self.stack.procs.items()):
            if name in self.due or p.poll() is None:
                continue
            ran = now - self.started.get(name, 0.0)
            d = self.delay.get(name, 0.0)
            d = RESTART_MIN if d == 0.0 or ran >= RESTART_STABLE else \
                min(d * 2, RESTART_MAX)
            self.delay[name] = d
            self.due[name] = now + d
            self._say("%s exited with status %s; starting it again in "
                      "%.1f s\n%s" % (name, p.returncode, d,
                                      log_tail(self.stack.logs[name], 5)))
        for name, when in sorted(self.due.items(), key=lambda x: x[1]):
            if time.monotonic() < when:
                continue
            del self.due[name]
            self.started[name] = time.monotonic()
            try:
                self.stack.restart(name)
                self._say("%s started again" % name)
            except StackError as e:
                # Counts as one more exit: the next try waits longer.
                self.stack.procs.pop(name, None)
                d = min(max(self.delay.get(name, 0.0), RESTART_MIN) * 2,
                        RESTART_MAX)
                self.delay[name] = d
                self.due[name] = time.monotonic() + d
                self._say("%s did not start (%s); next try in %.1f s"
                          % (name, e, d))


def cmd_run(args):
    stack = Stack(args.dir, port=args.port)
    hup = []

    def on_term(signum, frame):
        raise _Stop()

    def on_hup(signum, frame):
        hup.append(1)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    status = 0
    try:
        first = not os.path.exists(stack.config)
        print("latch: %s %s" % ("creating" if first else "using",
                                stack.dir), flush=True)
        overrides = page_links(stack, args.port)
        overrides.update(normalize_overrides(args.set or None))
        stack.start(overrides or None)
        print("latch: pages at http://127.0.0.1:%d/, API at %s (config %s)"
              % (stack.port, stack.url(), stack.config))
        print("latch: logs in %s (latchd.log, lighttpd-error.log, "
              "mysqld.err)" % stack.dir)
        mail = stack.config_values().get("mail", {})
        if os.geteuid() == 0 and mail.get("run_mailer") == "false":
            print("latch: run as root, so latch-mailer is not started (it "
                  "never runs as root): mail stays in %s" % (
                      mail.get("spool_dir") or stack.spool))
        try:
            with urllib.request.urlopen(stack.url("/setup"), timeout=10) \
                    as r:
                need = json.load(r).get("setup_required")
        except Exception:
            need = None
        if need:
            print("latch: no user yet: open http://127.0.0.1:%d/ to set "
                  "up the first one (or build/latchctl -c %s create-user "
                  "--role superadmin ...)" % (stack.port, stack.config))
        # Mail that stays in the spool (no smtp_host, or no mailer) is
        # shown here as it comes, so its links can be followed.
        mail = stack.config_values().get("mail", {})
        spool = mail.get("spool_dir", stack.spool)
        show = not mail.get("smtp_host") or \
            mail.get("run_mailer") == "false"
        seen = set()
        if show:
            print("latch: each new mail in %s/new is shown here" % spool)
            seen.update(os.listdir(os.path.join(spool, "new"))
                        if os.path.isdir(os.path.join(spool, "new"))
                        else [])
        print("latch: Ctrl-C stops; kill -HUP %d re-reads the config"
              % os.getpid(), flush=True)
        sup = Supervisor(stack)
        for name in stack.procs:
            sup.started[name] = time.monotonic()
        while True:
            time.sleep(0.5)
            if show:
                print_mail(spool, seen)
            if hup:
                hup.clear()
                print("latch: reloading latchd", flush=True)
                try:
                    stack.sighup(wait=False)
                except StackError as e:
                    print("latch: %s" % e, file=sys.stderr)
            sup.poll()
    except (KeyboardInterrupt, _Stop):
        print("\nlatch: stopping", flush=True)
    except StackError as e:
        print("latch: %s" % e, file=sys.stderr)
        status = 1
    finally:
        try:
            stack.stop()
        except StackError as e:
            print("latch: %s" % e, file=sys.stderr)
            status = 1
    return status


def cmd_sql(args):
    stack = Stack(args.dir)
    argv = ["mariadb", "--no-defaults", "-S", stack.db_socket,
            "-u", stack.db_admin]
    if args.sql:
        argv += ["-e", " ".join(args.sql)]
    argv.append("latch")
    os.execvp(argv[0], argv)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="stack.py",
        description="Run latch's stack (MariaDB, latchd, lighttpd).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run everything in the foreground")
    r.add_argument("--dir", default="var")
    r.add_argument("--port", type=int, default=8080)
    r.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="config override (applied in place)")
    s = sub.add_parser("sql", help="mariadb client on the stack's database")
    s.add_argument("--dir", default="var")
    s.add_argument("sql", nargs="*")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return cmd_run(args)
    return cmd_sql(args)


if __name__ == "__main__":
    sys.exit(main())
