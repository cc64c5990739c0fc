#!/usr/bin/python3
"""
bench.py: latch's benchmark ("make bench", from the repository root).

On this machine alone:

  1. Starts a private MariaDB, latchd and lighttpd with tools/stack.py (as
     tests/run.py does), plus the null FastCGI responder build/bench-null
     (pre-forked libfcgi workers answering a fixed JSON body) mounted
     behind the same lighttpd under /null: what lighttpd + FastCGI cost
     here with no work at all.
  2. Seeds 100,000 users in 100 organizations, each with a live session
     and refresh token, with bulk SQL: one scrypt hash made by latchctl
     with the configured parameters serves every user; refresh tokens
     are secrets.token_urlsafe(32) stored as SHA-256; access tokens are
     signed here with PyJWT with latch's claims.  One of each is tried
     against the API before anything is measured.
  3. Runs wrk (-t2 -c32, BENCH_SECONDS each) on POST /auth/verify (of
     access tokens, and of API keys: one admin key per organization,
     seeded), GET /user/profile, GET /users (with the organizations'
     admins' access tokens, and with their API keys), POST
     /auth/refresh, POST /auth/login and GET /health (BENCH_ONLY picks
     some by name),
     each right after the null responder got requests of the same shape
     (method, headers, body), and login once more at concurrency 1.
     The guard of other paths, a static file behind it, three ways:
     GET /auth/check as a route (what nginx's and Caddy's subrequest
     costs latch), lighttpd's FastCGI authorizer (latch-authorizer.conf),
     nginx's auth_request and Caddy's forward_auth (contrib/nginx and
     contrib/caddy as shipped), each with the null responder in latch's
     place beside it (a second nginx for that, since the recipe names
     its upstream "latch").
     With two sizes, both stacks are up at once and each workload runs
     on one right after the other, so that the comparison is not at the
     mercy of what the machine does minutes later.
  4. Prints one markdown table (also written to build/bench.md): req/s,
     p50 and p99, the ratio to the null responder, login's p50 over the
     time of one hash (build/bench-hashtime, in the same run), the peak
     RSS (VmHWM) of the workers and the master, and, with
     BENCH_USERS=1000000, the same for a million users next to 100k;
     then what one token costs to sign and to verify, HS256 against
     EdDSA (build/bench-jwttime).

Environment:
  BENCH_USERS        users to seed (default 100000; above 100000 both
                     100000 and that many are measured, each on a stack
                     of its own)
  BENCH_SECONDS      length of each wrk run (default 10)
  BENCH_WORKERS      latchd's and the null responder's workers (default 4)
  BENCH_THREADS, BENCH_CONNECTIONS   wrk's -t and -c (default 2, 32)
  BENCH_DB_POOL      MariaDB's innodb_buffer_pool_size in MiB (default
                     1024: a million users' data fits, as the README
                     asks of a production server; MariaDB's own default
                     is 128)
  BENCH_DB_THREADS   MariaDB's thread_handling (default pool-of-threads,
                     as the README recommends; MariaDB's own default is
                     one-thread-per-connection)
  BENCH_QUIET_WAIT   seconds to wait before a run for other processes on
                     the machine to go quiet (default 60; their CPU use
                     during each run is reported either way)
  BENCH_KEEP=1       keep the stack directory (logs, config, token files)

Only measurements are reported; no target is asserted, and the exit
status says only whether the benchmark itself ran.  Every process started
here is stopped on exit, Ctrl-C or SIGTERM.
"""

import base64
import hashlib
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))

import stack as stackmod  # noqa: E402
import jwt  # noqa: E402  (python3-jwt)

BENCH = os.path.join(REPO, "tests", "bench")
LUA = os.path.join(BENCH, "requests.lua")
NULL_BIN = os.path.join(REPO, "build", "bench-null")
HASHTIME_BIN = os.path.join(REPO, "build", "bench-hashtime")
JWTTIME_BIN = os.path.join(REPO, "build", "bench-jwttime")
OUT_MD = os.path.join(REPO, "build", "bench.md")

BASE_USERS = 100000
ORGS = 100
NULL_BASE = "/null"
# The guarded paths: lighttpd's authorizer (/guard-latch, /guard-null)
# and nginx's auth_request (/guarded/ on one nginx per backend).
GUARD_FILE = "/file.txt"
VERIFY_TOKENS = 100000      # distinct access tokens in the wrk list, at most
LOGIN_USERS = 2000          # distinct accounts the login run cycles through
WRK_TIMEOUT = "60s"         # a queued login waits seconds, not an error
MEM_INTERVAL = 0.2          # seconds between two RSS samples
QUIET_CPUS = 0.15           # other processes' load a run may start with
INNODB_READS = ("Innodb_buffer_pool_read_requests",
                "Innodb_buffer_pool_reads")


def env_int(name, default, lo, hi):
    v = os.environ.get(name, "")
    if v == "":
        return default
    try:
        n = int(v.replace("_", ""))
    except ValueError:
        sys.exit("bench: %s=%r is not a number" % (name, v))
    if not lo <= n <= hi:
        sys.exit("bench: %s must be %d..%d" % (name, lo, hi))
    return n


USERS = env_int("BENCH_USERS", BASE_USERS, 1000, 10000000)
SECONDS = env_int("BENCH_SECONDS", 10, 1, 600)
WORKERS = env_int("BENCH_WORKERS", 4, 1, 256)
THREADS = env_int("BENCH_THREADS", 2, 1, 64)
CONNS = env_int("BENCH_CONNECTIONS", 32, 1, 10000)
DB_POOL = env_int("BENCH_DB_POOL", 1024, 0, 1 << 20)
DB_THREADS = os.environ.get("BENCH_DB_THREADS", "pool-of-threads")
if DB_THREADS not in ("pool-of-threads", "one-thread-per-connection"):
    sys.exit("bench: BENCH_DB_THREADS: pool-of-threads or "
             "one-thread-per-connection")
QUIET_WAIT = env_int("BENCH_QUIET_WAIT", 60, 0, 3600)
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")
# BENCH_ONLY="verify,GET /users": only the workloads whose names contain
# one of these (the login's rows need "login").
ONLY = [w.strip() for w in os.environ.get("BENCH_ONLY", "").split(",")
        if w.strip()]
if CONNS < THREADS:
    sys.exit("bench: BENCH_CONNECTIONS must be at least BENCH_THREADS")
# Enough refresh tokens that no run spends them all (each is used once).
REFRESH_TOKENS = max(40000, 8000 * SECONDS)

# The bench config: the shipped defaults (scrypt N=16384 r=8 p=5 among
# them), with the per-IP budget out of the way for 127.0.0.1.
OVERRIDES = {
    "limits.ip_exempt": "127.0.0.1",
    "server.workers": WORKERS,
}


def say(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ------------------------------------------------------------ the stack

class BenchStack(stackmod.Stack):
    """Stack with the null responder behind the same lighttpd."""

    def __init__(self, dir):
        super().__init__(dir)
        self.db_args = ["--thread-handling=" + DB_THREADS]
        if DB_POOL:
            self.db_args.append("--innodb-buffer-pool-size=%dM" % DB_POOL)
        self.null_socket = os.path.join(self.dir, "null.sock")
        self.null_log = os.path.join(self.dir, "null.log")
        self.logs["null"] = self.null_log
        self.guard_dir = os.path.join(self.dir, "guarded")
        self.nginx_ports = {}
        self.caddy_port = None

    def write_lighttpd_conf(self, latch_socket=None, base=None):
        super().write_lighttpd_conf(latch_socket, base)
        with open(self.lighttpd_conf, "a") as f:
            f.write("""
# make bench: the null FastCGI responder, mounted like latch.
$HTTP["url"] =~ "^{base}(/|$)" {{
  fastcgi.server = (
    "{base}" => ((
      "socket" => "{sock}",
      "check-local" => "disable",
      "disable-time" => 1,
    )),
  )
  server.error-intercept = "disable"
}}
""".format(base=NULL_BASE, sock=self.null_socket))
        os.makedirs(self.guard_dir, exist_ok=True)
        with open(self.guard_dir + GUARD_FILE, "w") as f:
            f.write("a guarded file\n")
        for who, sock in (("latch", self.latchd_socket),
                          ("null", self.null_socket)):
            with open(self.lighttpd_conf, "a") as f:
                f.write(self._authorizer_conf(who, sock))

    def _authorizer_conf(self, who, sock):
        """lighttpd's authorizer guarding /guard-WHO, as
        contrib/lighttpd/latch-authorizer.conf sets it up."""
        return """
# make bench: {who} as lighttpd's FastCGI authorizer.
var.latch_socket := "{sock}"
var.latch_guarded := "/guard-{who}"
var.latch_docroot := "{dir}"
var.latch_require_role := "user"
include "{contrib}/lighttpd/latch-authorizer.conf"
""".format(who=who, sock=sock, dir=self.guard_dir,
           contrib=os.path.join(REPO, "contrib"))

    def start_nginx(self):
        """Two nginx, contrib/nginx/latch-check.conf and latch-guard.conf
        as shipped guarding /guarded/: the upstream "latch" is latchd on
        one, the null responder on the other."""
        self.nginx_ports = {}
        contrib = os.path.join(REPO, "contrib", "nginx")
        for who, sock in (("latch", self.latchd_socket),
                          ("null", self.null_socket)):
            d = os.path.join(self.dir, "nginx-" + who)
            os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
            port = stackmod.free_port()
            conf = os.path.join(d, "nginx.conf")
            with open(conf, "w") as f:
                f.write("""\
worker_processes 2;
{user}error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp;
  fastcgi_temp_path {d}/tmp;
  proxy_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp;
  scgi_temp_path {d}/tmp;
  upstream latch {{ server unix:{sock}; }}
  server {{
    listen 127.0.0.1:{port};
    include {contrib}/latch-check.conf;
    location /guarded/ {{
      set $latch_require_role user;
      include {contrib}/latch-guard.conf;
      alias {guard}/;
    }}
  }}
}}
""".format(d=d, sock=sock, port=port, contrib=contrib,
           guard=self.guard_dir,
           user="user root;\n" if os.geteuid() == 0 else ""))
            name = "nginx-" + who
            self.logs[name] = os.path.join(d, "error.log")
            self._spawn(name, ["nginx", "-p", d, "-c", conf, "-g",
                               "daemon off;"], self.logs[name])
            stackmod.wait_until(lambda: port_open(port), 30,
                                "%s on port %d" % (name, port),
                                alive=self._alive_check(name))
            self.nginx_ports[who] = port

    def start_caddy(self):
        """One Caddy, contrib/caddy/latch-guard.caddy as shipped guarding
        /guard-latch/ with latchd and /guard-null/ with the null
        responder."""
        d = os.path.join(self.dir, "caddy")
        os.makedirs(d, exist_ok=True)
        self.caddy_port = port = stackmod.free_port()
        guard = os.path.join(REPO, "contrib", "caddy", "latch-guard.caddy")
        conf = os.path.join(d, "Caddyfile")
        with open(conf, "w") as f:
            f.write("{\n\tadmin off\n\tauto_https off\n}\n"
                    "http://127.0.0.1:%d {\n" % port)
            for who, sock in (("latch", self.latchd_socket),
                              ("null", self.null_socket)):
                f.write("\thandle_path /guard-%s/* {\n"
                        "\t\timport %s %s user\n"
                        "\t\troot * %s\n\t\tfile_server\n\t}\n"
                        % (who, guard, sock, self.guard_dir))
            f.write("}\n")
        self.logs["caddy"] = os.path.join(d, "caddy.log")
        self._spawn("caddy", ["caddy", "run", "--config", conf, "--adapter",
                              "caddyfile"], self.logs["caddy"],
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                         "HOME": d, "XDG_DATA_HOME": d,
                         "XDG_CONFIG_HOME": d})
        stackmod.wait_until(lambda: port_open(port), 30,
                            "caddy on port %d" % port,
                            alive=self._alive_check("caddy"))

    def start_null(self, workers):
        self._spawn("null", [NULL_BIN, self.null_socket, str(workers)],
                    self.null_log)
        stackmod.wait_until(
            lambda: os.path.exists(self.null_socket), 30,
            "bench-null on " + self.null_socket,
            alive=self._alive_check("null"))

    @property
    def null_pid(self):
        p = self.procs.get("null")
        return p.pid if p is not None else None

    def sql(self, text, local_infile=False, timeout=3600):
        """Run SQL (stdin of the mariadb client) as the admin; rows."""
        argv = ["mariadb", "--no-defaults", "-S", self.db_socket,
                "-u", self.db_admin, "--batch", "--skip-column-names"]
        if local_infile:
            argv.append("--local-infile=1")
        argv.append("latch")
        r = subprocess.run(argv, input=text, capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise BenchError("mariadb: %s" % r.stderr.strip()[-2000:])
        return [line.split("\t") for line in r.stdout.splitlines()]

    def status(self, *names):
        """{name: int} of SHOW GLOBAL STATUS."""
        rows = self.sql("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
                        % ",".join("'%s'" % n for n in names))
        return {k: int(v) for k, v in rows}


# ------------------------------------------------------------- helpers

def port_open(port):
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), 1):
            return True
    except OSError:
        return False


def target(stack, path, who):
    """(port, URL path) of a workload's path for who ("latch", "null"):
    an API path below the mount, or "lighttpd:" / "nginx:" and the path
    of the file they guard."""
    if path.startswith("lighttpd:"):
        return stack.port, "/guard-%s%s" % (who, path[len("lighttpd:"):])
    if path.startswith("nginx:"):
        return stack.nginx_ports[who], "/guarded" + path[len("nginx:"):]
    if path.startswith("caddy:"):
        return stack.caddy_port, "/guard-%s%s" % (who, path[len("caddy:"):])
    base = stack.base_path if who == "latch" else NULL_BASE
    return stack.port, base + path


def children(pid):
    """Live children of pid (from /proc/PID/task/*/children)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        return stackmod.children_of(pid)
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def vm(pid):
    """(VmHWM, VmRSS) of pid in KiB, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            d = dict(line.split(":", 1) for line in f if ":" in line)
        return int(d["VmHWM"].split()[0]), int(d["VmRSS"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


HZ = os.sysconf("SC_CLK_TCK")
GROUPS = {"latchd": "latchd", "bench-null": "null", "mariadbd": "mariadbd",
          "lighttpd": "lighttpd", "wrk": "wrk"}


def _pstat(pid):
    """(comm, ppid, own ticks, reaped children's ticks) or None."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as f:
            d = f.read().decode("ascii", "replace")
    except OSError:
        return None
    name = d[d.index("(") + 1:d.rindex(")")]
    r = d[d.rindex(")") + 2:].split()
    return (name, int(r[1]), int(r[11]) + int(r[12]),
            int(r[13]) + int(r[14]))


class CpuMeter:
    """
    CPU time per process group of ours (latchd, the null responder,
    MariaDB, lighttpd, wrk) and of everything else on the machine, from
    /proc, between two snapshots.  The machine is shared: what other
    processes burn during a run is reported, and waited out before one.
    The processes of a registered stack other than the active one count
    as "idle stack".
    """

    def __init__(self):
        self.stack_of = {}      # root pid of a stack's process -> index
        self.active = None

    def register(self, idx, stack):
        for p in stack.procs.values():
            self.stack_of[p.pid] = idx

    def snap(self):
        procs = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = _pstat(name)
                if st is not None:
                    procs[int(name)] = st
        kids = {}
        for pid, st in procs.items():
            kids.setdefault(st[1], []).append(pid)
        me = os.getpid()
        groups = {}
        todo = [(me, None)]
        while todo:
            pid, idx = todo.pop()
            idx = self.stack_of.get(pid, idx)
            todo += [(k, idx) for k in kids.get(pid, [])]
            st = procs.get(pid)
            if st is None:
                continue
            if pid == me:
                # Ours is bench.py; what it reaped during a run is wrk.
                groups["bench.py"] = groups.get("bench.py", 0) + st[2]
                groups["wrk"] = groups.get("wrk", 0) + st[3]
                continue
            if idx is not None and idx != self.active:
                g = "idle stack"
            else:
                g = GROUPS.get(st[0], "other")
            groups[g] = groups.get(g, 0) + st[2] + st[3]
        with open("/proc/stat") as f:
            c = [int(x) for x in f.readline().split()[1:9]]
        return {"t": time.monotonic(), "groups": groups,
                "tasks": c[0] + c[1] + c[2], "irq": c[5] + c[6],
                "steal": c[7]}

    @staticmethod
    def delta(a, b):
        """{group: CPU seconds} plus "irq", "steal", "foreign", "wall"."""
        out = {g: (b["groups"].get(g, 0) - a["groups"].get(g, 0)) / HZ
               for g in set(a["groups"]) | set(b["groups"])}
        ours = sum(out.values())
        out["irq"] = (b["irq"] - a["irq"]) / HZ
        out["steal"] = (b["steal"] - a["steal"]) / HZ
        out["foreign"] = max(0.0, (b["tasks"] - a["tasks"]) / HZ - ours)
        out["wall"] = b["t"] - a["t"]
        return out


def wait_quiet(meter, limit):
    """
    Wait (at most limit seconds) until the other processes on the
    machine use less than QUIET_CPUS; returns the last reading (CPUs).
    """
    deadline = time.monotonic() + limit
    told = False
    while True:
        a = meter.snap()
        time.sleep(1)
        d = CpuMeter.delta(a, meter.snap())
        busy = d["foreign"] / d["wall"]
        if busy < QUIET_CPUS or time.monotonic() >= deadline:
            return busy
        if not told:
            say("other processes use %.1f CPUs: waiting up to %d s for "
                "them" % (busy, limit))
            told = True


class MemWatch(threading.Thread):
    """
    Samples the VmHWM of the worker processes of the latchd master and
    of the null master every MEM_INTERVAL seconds (workers recycle, so
    reading them only at the end would miss some).  take() returns
    {pid: peak KiB} of the workers seen since the last take().
    """

    def __init__(self, roots):
        super().__init__(daemon=True)
        self.roots = roots          # {label: (master pid, comm prefix)}
        self.lock = threading.Lock()
        self.seen = {}              # (label, pid) -> peak VmHWM KiB
        self.stopping = threading.Event()

    def sample(self):
        for label, (root, name) in self.roots.items():
            for pid in children(root):
                if not comm(pid).startswith(name):
                    continue        # latch-mailer, a fork not yet exec'd
                v = vm(pid)
                if v is None:
                    continue
                with self.lock:
                    k = (label, pid)
                    self.seen[k] = max(self.seen.get(k, 0), v[0])

    def run(self):
        while not self.stopping.wait(MEM_INTERVAL):
            self.sample()

    def take(self):
        self.sample()
        with self.lock:
            out, self.seen = self.seen, {}
        return out

    def stop(self):
        self.stopping.set()
        self.join(5)


def call(stack, method, path, body=None, bearer=None, port=None, raw=False):
    """One request through lighttpd (or the server on port); (status,
    parsed JSON or None; the body with raw)."""
    c = http.client.HTTPConnection("127.0.0.1", port or stack.port,
                                   timeout=30)
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if bearer is not None:
        headers["Authorization"] = "Bearer " + bearer
    try:
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    if raw is True:
        return r.status, data
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, None


def expect(what, got, cond):
    if not cond:
        raise BenchError("%s: unexpected answer %r" % (what, got))


# ------------------------------------------------------------- seeding

def scrypt_params(stack):
    sec = stack.config_values().get("security", {})
    return (int(sec.get("scrypt_n", 16384)), int(sec.get("scrypt_r", 8)),
            int(sec.get("scrypt_p", 5)))


def one_hash(stack, password):
    """The MCF hash latchctl makes of password with the configured cost."""
    r = stack.latchctl("create-user", "--org", "bench-hash", "--username",
                       "benchhash", "--email", "benchhash@example.com",
                       input=password + "\n")
    if r.returncode != 0:
        raise BenchError("latchctl create-user failed:\n%s%s"
                         % (r.stdout, r.stderr))
    rows = stack.sql("SELECT password_hash FROM users "
                     "WHERE username = 'benchhash'")
    stack.sql("DELETE FROM users WHERE username = 'benchhash';"
              "DELETE FROM organizations WHERE name = 'bench-hash';")
    mcf = rows[0][0] if rows else ""
    n, r_, p = scrypt_params(stack)
    want = "$s1$%02x%02x%02x$" % (n.bit_length() - 1, r_, p)
    if not re.fullmatch(r"\$s1\$[0-9a-f]{6}\$[A-Za-z0-9+/=]+\$"
                        r"[A-Za-z0-9+/=]+", mcf) or not mcf.startswith(want):
        raise BenchError("latchctl stored an unexpected hash (want %s...)"
                         % want)
    return mcf


def settle(stack, limit=300, quiet=False):
    """
    Let InnoDB write back what the seeding dirtied (hundreds of MiB for a
    million users), so that the background flushing does not run during
    the measurements and load the 1M figures more than the 100k ones.
    """
    t0 = time.monotonic()
    old = stack.sql("SELECT @@innodb_max_dirty_pages_pct, "
                    "@@innodb_io_capacity, @@innodb_io_capacity_max")[0]
    stack.sql("SET GLOBAL innodb_io_capacity_max = 100000;"
              "SET GLOBAL innodb_io_capacity = 50000;"
              "SET GLOBAL innodb_max_dirty_pages_pct = 0")
    try:
        stackmod.wait_until(
            lambda: stack.status("Innodb_buffer_pool_pages_dirty")
            ["Innodb_buffer_pool_pages_dirty"] < 100, limit,
            "InnoDB to flush the seeded pages", interval=0.5)
    finally:
        stack.sql("SET GLOBAL innodb_max_dirty_pages_pct = %s;"
                  "SET GLOBAL innodb_io_capacity = %s;"
                  "SET GLOBAL innodb_io_capacity_max = %s" % tuple(old))
    if not quiet:
            say("InnoDB wrote the seeded pages back in %.1f s"
            % (time.monotonic() - t0))


def seed(stack, nusers, mcf):
    """
    Bulk-load nusers users (ids 1..n, user i in organization 1 + (i-1) %
    100, username bench<i>), one live session each (id = user id) and one
    refresh token per session.  Returns {session id: refresh token} for
    the sessions whose tokens the refresh run may spend.
    """
    now = int(time.time())
    refresh_ttl = int(stack.config_values()["security"].get(
        "refresh_ttl", 86400))
    t0 = time.monotonic()
    stack.sql("""
SET SESSION foreign_key_checks = 0, unique_checks = 0;
INSERT INTO organizations (id, name, description, created_at)
  SELECT seq, CONCAT('bench-org-', LPAD(seq, 3, '0')), '', {now}
  FROM seq_1_to_{orgs};
INSERT INTO users (id, org_id, username, email, email_norm, name,
                   password_hash, role, disabled, created_at, updated_at)
  SELECT seq, 1 + (seq - 1) % {orgs}, CONCAT('bench', seq),
         CONCAT('bench', seq, '@example.com'),
         CONCAT('bench', seq, '@example.com'),
         CONCAT('Bench User ', seq), '{mcf}',
         IF(seq <= {orgs}, 'admin', 'user'), 0, {now}, {now}
  FROM seq_1_to_{n};
INSERT INTO sessions (id, user_id, org_id, created_at, last_used_at,
                      expires_at, remember, user_agent, ip)
  SELECT seq, seq, 1 + (seq - 1) % {orgs}, {now}, {now}, {exp}, 0,
         'make bench', '127.0.0.1'
  FROM seq_1_to_{n};
""".format(now=now, orgs=ORGS, n=nusers, mcf=mcf, exp=now + refresh_ttl))
    t1 = time.monotonic()
    # Refresh tokens: made here, only their SHA-256 goes to the database.
    want = set(random.sample(range(1, nusers + 1),
                             min(nusers - 1, REFRESH_TOKENS + 1)))
    keep = {}
    path = os.path.join(stack.dir, "refresh_hashes.tsv")
    with open(path, "w") as f:
        for sid in range(1, nusers + 1):
            # As latch makes them (core/tok.h): session id, generation 1,
            # 32 random bytes, base64url.
            t = base64.urlsafe_b64encode(
                struct.pack(">QI", sid, 1) + secrets.token_bytes(32)
            ).rstrip(b"=").decode()
            f.write("%d\t%s\n" % (sid, hashlib.sha256(
                t.encode()).hexdigest()))
            if sid in want:
                keep[sid] = t
    stack.sql("""
SET SESSION foreign_key_checks = 0, unique_checks = 0;
LOAD DATA LOCAL INFILE '{path}' INTO TABLE session_refresh
  FIELDS TERMINATED BY '\\t' (session_id, @h)
  SET gen = 1, token_hash = UNHEX(@h), created_at = {now},
      expires_at = {exp};
ANALYZE TABLE organizations, users, sessions, session_refresh;
""".format(path=path, now=now, exp=now + refresh_ttl), local_infile=True)
    os.unlink(path)
    t2 = time.monotonic()
    n = int(stack.sql("SELECT COUNT(*) FROM sessions s JOIN users u ON "
                      "u.id = s.user_id JOIN session_refresh r ON "
                      "r.session_id = s.id")[0][0])
    if n != nusers:
        raise BenchError("seeded %d sessions with tokens, not %d"
                         % (n, nusers))
    say("seeded %s users, sessions and refresh tokens in %.1f s "
        "(users+sessions %.1f s, refresh tokens %.1f s)"
        % (fmt_int(nusers), t2 - t0, t1 - t0, t2 - t1))
    return keep


def seed_keys(stack):
    """One admin API key per organization (id = organization id), made
    as latch makes them (core/tok.h: "latch_", base64url of the id and 32
    random bytes; only the SHA-256 stored).  Returns the keys."""
    now = int(time.time())
    keys, rows = [], []
    for org in range(1, ORGS + 1):
        k = "latch_" + base64.urlsafe_b64encode(
            struct.pack(">Q", org) + secrets.token_bytes(32)
        ).rstrip(b"=").decode()
        keys.append(k)
        rows.append("(%d, %d, 'bench key %d', 'admin', UNHEX('%s'), %d)" % (
            org, org, org, hashlib.sha256(k.encode()).hexdigest(), now))
    stack.sql("INSERT INTO api_keys (id, org_id, name, role, key_hash, "
              "created_at) VALUES %s; ANALYZE TABLE api_keys;"
              % ", ".join(rows))
    return keys


def user_claims(uid):
    org = 1 + (uid - 1) % ORGS
    return {"username": "bench%d" % uid, "org": org,
            "role": "admin" if uid <= ORGS else "user"}


def access_token(sec, uid, now):
    """An access token for session uid as latch would sign it; sec is
    the config's [security]."""
    c = user_claims(uid)
    claims = {
        "iss": sec.get("issuer", "latch"),
        "sub": str(uid),
        "username": c["username"],
        "org": c["org"],
        "tenant_id": c["org"],
        "role": c["role"],
        "sid": uid,
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + int(sec.get("access_ttl", 900)),
    }
    return jwt.encode(claims, sec["jwt_secret"], algorithm="HS256")


def write_lines(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")


def sign_tokens(stack, sids, path):
    """Write an access token for each session in sids to path; returns
    the tokens and when they were signed."""
    now = int(time.time())
    sec = stack.config_values()["security"]
    tokens = [access_token(sec, s, now) for s in sids]
    write_lines(path, tokens)
    return tokens, now


def make_lists(stack, nusers, refresh, password):
    """
    The wrk input files: returns their paths (plus "sids" and "signed",
    what the access tokens are for and when they were signed) and a few
    for the checks.
    """
    t0 = time.monotonic()
    sids = random.sample(range(1, nusers + 1), min(nusers, VERIFY_TOKENS))
    files = {"verify": os.path.join(stack.dir, "access_tokens.txt"),
             "refresh": os.path.join(stack.dir, "refresh_tokens.txt"),
             "login": os.path.join(stack.dir, "logins.txt"),
             "admins": os.path.join(stack.dir, "admin_tokens.txt"),
             "keys": os.path.join(stack.dir, "api_keys.txt"),
             "sids": sids}
    tokens, files["signed"] = sign_tokens(stack, sids, files["verify"])
    # The admins (users 1..ORGS, one per organization) for GET /users,
    # and each organization's API key for the same calls.
    _, files["admins_signed"] = sign_tokens(stack, range(1, ORGS + 1),
                                            files["admins"])
    files["admin_sids"] = list(range(1, ORGS + 1))
    write_lines(files["keys"], seed_keys(stack))
    rs = list(refresh.items())
    random.shuffle(rs)
    check_refresh = rs.pop()
    write_lines(files["refresh"], [t for _, t in rs])
    users = random.sample(range(1, nusers + 1), min(nusers, LOGIN_USERS))
    write_lines(files["login"], ["bench%d\t%s" % (u, password)
                                 for u in users])
    say("signed %s access tokens with PyJWT in %.1f s; %s refresh tokens, "
        "%s logins in the lists" % (fmt_int(len(tokens)),
                                    time.monotonic() - t0,
                                    fmt_int(len(rs)), fmt_int(len(users))))
    return files, (sids[0], tokens[0]), check_refresh, users[0]


def check_api(stack, first, check_refresh, login_user, password):
    """Every kind of request once, through lighttpd, before measuring."""
    api = stack.base_path
    sid, tok = first
    st, j = call(stack, "POST", api + "/auth/verify", {"token": tok})
    expect("POST /auth/verify with a PyJWT token", (st, j),
           st == 200 and j and j.get("valid") is True and
           j["claims"]["sub"] == str(sid) and j["claims"]["sid"] == sid)
    st, j = call(stack, "GET", api + "/user/profile", bearer=tok)
    expect("GET /user/profile", (st, j), st == 200 and j and
           j["user"]["username"] == user_claims(sid)["username"])
    rsid, rtok = check_refresh
    st, j = call(stack, "POST", api + "/auth/refresh",
                 {"refresh_token": rtok})
    expect("POST /auth/refresh with a seeded token", (st, j),
           st == 200 and j and j.get("refresh_token"))
    st, j = call(stack, "POST", api + "/auth/login",
                 {"identifier": "bench%d" % login_user,
                  "password": password})
    expect("POST /auth/login of a seeded user", (st, j),
           st == 200 and j and j.get("access_token"))
    st, j = call(stack, "POST", api + "/auth/verify",
                 {"token": j["access_token"]})
    expect("POST /auth/verify of latch's own token", (st, j),
           st == 200 and j and j.get("valid") is True)
    with open(os.path.join(stack.dir, "api_keys.txt")) as f:
        key = f.readline().strip()
    st, j = call(stack, "POST", api + "/auth/verify", {"token": key})
    expect("POST /auth/verify of an API key", (st, j),
           st == 200 and j and j.get("valid") is True and
           j["api_key"]["organizationId"] == 1)
    st, j = call(stack, "GET", api + "/users", bearer=key)
    expect("GET /users with an API key", (st, j), st == 200 and j and
           len(j["users"]) == 20 and j["users"][0]["organizationId"] == 1)
    st, j = call(stack, "GET", api + "/users", bearer=access_token(
        stack.config_values()["security"], 1, int(time.time())))
    expect("GET /users with an admin's access token", (st, j),
           st == 200 and j and j["users"][0]["organizationId"] == 1)
    st, j = call(stack, "GET", api + "/health")
    expect("GET /health", (st, j), st == 200)
    st, j = call(stack, "GET", NULL_BASE + "/health")
    expect("GET %s/health (null responder)" % NULL_BASE, (st, j),
           st == 200 and j and j.get("status") == "ok")
    st, j = call(stack, "GET", api + "/auth/check", bearer=tok)
    expect("GET /auth/check", (st, j), st == 200 and j and j["success"])
    for where in ("lighttpd:", "nginx:", "caddy:"):
        for who in ("latch", "null"):
            port, url = target(stack, where + GUARD_FILE, who)
            st, body = call(stack, "GET", url, bearer=tok, port=port,
                            raw=True)
            expect("GET %s (%s %s)" % (url, where, who), (st, body),
                   st == 200 and body == b"a guarded file\n")
        port, url = target(stack, where + GUARD_FILE, "latch")
        st, body = call(stack, "GET", url, port=port, raw=True)
        expect("GET %s without a token (%s)" % (url, where), (st, body),
               st == 401)


# ----------------------------------------------------------------- wrk

_wrk = []


def wrk(stack, path, mode, file, threads=THREADS, conns=CONNS, once=False,
        seconds=SECONDS, meter=None, prepare=None, db=None, port=None):
    """
    One wrk run; its BENCH numbers as a dict, with "rps", with meter
    "cpu": CpuMeter.delta() over the run, and with db (the stack) the
    InnoDB page reads during it ("page_reads", "disk_reads").  prepare()
    is called just before wrk starts, after waiting for the machine to
    be quiet.
    """
    url = "http://127.0.0.1:%d%s" % (port or stack.port, path)
    argv = ["wrk", "-t", str(threads), "-c", str(conns),
            "-d", "%ds" % seconds, "--timeout", WRK_TIMEOUT, "-s", LUA, url,
            "--", mode, file or "-", str(threads)]
    if once:
        argv.append("once")
    if meter is not None:
        quiet = wait_quiet(meter, QUIET_WAIT)
    if prepare is not None:
        prepare()
    if db is not None:
        pages = db.status(*INNODB_READS)
    if meter is not None:
        before = meter.snap()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=stack.dir,
                         start_new_session=True,
                         preexec_fn=stackmod._child_setup)
    _wrk.append(p)
    try:
        out, err = p.communicate(timeout=seconds + 120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        _wrk.remove(p)
    after = meter.snap() if meter is not None else None
    if db is not None:
        now = db.status(*INNODB_READS)
        pages = {k: now[k] - pages[k] for k in INNODB_READS}
    m = re.search(r"^BENCH (\{.*\})$", out, re.M)
    if p.returncode != 0 or m is None:
        raise BenchError("wrk %s failed (%s):\n%s%s"
                         % (url, p.returncode, out[-2000:], err[-2000:]))
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = sum(r[k] for k in ("connect", "read", "write", "status",
                                     "timeout"))
    if meter is not None:
        r["cpu"] = CpuMeter.delta(before, after)
        r["quiet_before"] = quiet
    if db is not None:
        r["page_reads"] = pages["Innodb_buffer_pool_read_requests"]
        r["disk_reads"] = pages["Innodb_buffer_pool_reads"]
    return r


def drain(stack, limit=300):
    """
    Wait until latch has worked off what a run left queued (wrk closes
    its connections at the deadline, but lighttpd still hands latchd the
    requests it took, e.g. 30 logins of a quarter second each): a
    GET /health that queues behind them answers only once they are done.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        t = time.monotonic()
        try:
            st, _ = call(stack, "GET", stack.base_path + "/health")
        except TimeoutError:
            # Still busy (on a loaded machine a queue of logins can take
            # longer than call()'s timeout): ask again until the limit.
            continue
        if st == 200 and time.monotonic() - t < 0.05:
            return
        time.sleep(0.2)
    raise BenchError("latch did not become idle within %d s" % limit)


def hashtime(stack):
    n, r, p = scrypt_params(stack)
    out = subprocess.run([HASHTIME_BIN, str(n), str(r), str(p), "5"],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise BenchError("bench-hashtime failed: %s" % out.stderr.strip())
    res = json.loads(out.stdout)
    res["imported"] = imported_hashtimes()
    return res


# The imported kinds (latchctl import) at the costs the systems latch
# replaces use: (what, how to make a hash of HASH_PASSWORD).
HASH_PASSWORD = "correct horse battery staple"


def _bcrypt(prefix, cost):
    import bcrypt  # python3-bcrypt
    return bcrypt.hashpw(HASH_PASSWORD.encode(),
                         bcrypt.gensalt(cost, prefix)).decode()


def _argon2(kind, m, t, p):
    import argon2  # python3-argon2
    return argon2.PasswordHasher(
        memory_cost=m, time_cost=t, parallelism=p,
        type=getattr(argon2.Type, kind)).hash(HASH_PASSWORD)


def _sha512crypt():
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                          input=HASH_PASSWORD, capture_output=True,
                          text=True, check=True).stdout.strip()


IMPORTED_KINDS = [
    ("bcrypt $2b$, cost 12 (DUMB)", lambda: _bcrypt(b"2b", 12)),
    ("bcrypt $2a$, cost 11 (Daptin)", lambda: _bcrypt(b"2a", 11)),
    ("bcrypt $2y$, cost 10 (Armor's default, htpasswd -B)",
     lambda: _bcrypt(b"2b", 10).replace("$2b$", "$2y$", 1)),
    ("argon2id m=65536 t=3 p=4 (Directus, node-argon2)",
     lambda: _argon2("ID", 65536, 3, 4)),
    ("argon2id m=19456 t=2 p=1 (Rust argon2 crate)",
     lambda: _argon2("ID", 19456, 2, 1)),
    ("argon2i m=4096 t=3 p=1", lambda: _argon2("I", 4096, 3, 1)),
    ("sha512-crypt, 5000 rounds (openssl passwd -6)", _sha512crypt),
]


def imported_hashtimes():
    """pw_verify() of each imported kind: [(what, result)]."""
    hashes = [make() for _, make in IMPORTED_KINDS]
    out = subprocess.run([HASHTIME_BIN, "--verify", "5"],
                         input="".join(h + "\n" for h in hashes),
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise BenchError("bench-hashtime --verify failed: %s"
                         % out.stderr.strip())
    res = [json.loads(ln) for ln in out.stdout.splitlines()]
    return [(what, r) for (what, _), r in zip(IMPORTED_KINDS, res)]


def jwttime():
    """One access token signed and verified, HS256 and EdDSA: a line."""
    out = subprocess.run([JWTTIME_BIN], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise BenchError("bench-jwttime failed: %s" % out.stderr.strip())
    j = json.loads(out.stdout)
    return ("One access token (bench-jwttime, mean CPU time of %d): "
            "HS256 signed in %.1f µs and verified in %.1f µs; EdDSA "
            "(Ed25519) signed in %.1f µs and verified in %.1f µs (the "
            "signature and header only: a request adds the session "
            "lookup)." % (j["count"], j["hs256_sign_us"],
                          j["hs256_verify_us"], j["eddsa_sign_us"],
                          j["eddsa_verify_us"]))


# ----------------------------------------------------------- one size

# (name, latch path below base_path, wrk mode, list, spends its list)
WORKLOADS = [
    ("POST /auth/verify", "/auth/verify", "verify", "verify", False),
    ("POST /auth/verify, API key", "/auth/verify", "verify", "keys", False),
    ("GET /user/profile", "/user/profile", "profile", "verify", False),
    ("GET /users", "/users", "profile", "admins", False),
    ("GET /users, API key", "/users", "profile", "keys", False),
    ("POST /auth/refresh", "/auth/refresh", "refresh", "refresh", True),
    ("POST /auth/login", "/auth/login", "login", "login", False),
    ("GET /health", "/health", "get", None, False),
    ("GET /auth/check", "/auth/check", "profile", "verify", False),
    ("guarded file: lighttpd authorizer", "lighttpd:" + GUARD_FILE,
     "profile", "verify", False),
    ("guarded file: nginx auth_request", "nginx:" + GUARD_FILE, "profile",
     "verify", False),
    ("guarded file: Caddy forward_auth", "caddy:" + GUARD_FILE, "profile",
     "verify", False),
]


def setup(nusers):
    """
    Bring up a stack in a new directory and seed nusers; returns the
    context of the measurements (the stack is in it even on failure, so
    that teardown() can stop it).
    """
    tmp = tempfile.mkdtemp(prefix="latch-bench-")
    ctx = {"stack": BenchStack(tmp), "dir": tmp, "watch": None,
           "res": {"users": nusers, "runs": {}}, "hashed": set()}
    stack = ctx["stack"]
    say("%s users: starting MariaDB, latchd (%d workers), lighttpd and "
        "the null responder in %s" % (fmt_int(nusers), WORKERS, tmp))
    _setups.append(ctx)
    stack.start_null(WORKERS)
    stack.start(OVERRIDES, workers=WORKERS)
    stack.start_nginx()
    stack.start_caddy()
    password = "bench-" + secrets.token_urlsafe(12)
    mcf = one_hash(stack, password)
    refresh = seed(stack, nusers, mcf)
    ctx["files"], first, check_refresh, login_user = make_lists(
        stack, nusers, refresh, password)
    check_api(stack, first, check_refresh, login_user, password)
    settle(stack)
    # A fresh generation of workers: none has computed a hash yet.
    stack.sighup(wait=True)
    ctx["res"]["scrypt"] = scrypt_params(stack)
    ctx["watch"] = MemWatch({"latch": (stack.latchd_pid, "latchd"),
                             "null": (stack.null_pid, "bench-null")})
    ctx["watch"].start()
    return ctx


_setups = []


def teardown(ctx, keep):
    if ctx["watch"] is not None:
        ctx["watch"].stop()
    try:
        ctx["stack"].stop()
    except stackmod.StackError as e:
        say("stopping the stack: %s" % e)
    if keep:
        say("stack directory kept: %s" % ctx["dir"])
    else:
        shutil.rmtree(ctx["dir"], ignore_errors=True)


def latch_run(ctx, meter, idx, name, path, mode, lst, once, nres):
    """The latch runs of one workload on one stack, into ctx["res"]."""
    stack, files, watch = ctx["stack"], ctx["files"], ctx["watch"]
    file = files[lst] if lst else None
    prepare = None
    if lst in ("verify", "admins", "keys"):
        # Sessions and keys used within the minute: no last_used_at
        # write, the steady state of a session or key in use (see
        # README).  Long runs sign the tokens again well before they
        # expire.
        def prepare():
            if lst == "verify" and time.time() - files["signed"] > 300:
                _, files["signed"] = sign_tokens(stack, files["sids"], file)
            if lst == "admins" and \
                    time.time() - files["admins_signed"] > 300:
                _, files["admins_signed"] = sign_tokens(
                    stack, files["admin_sids"], file)
            stack.sql("UPDATE sessions SET last_used_at = UNIX_TIMESTAMP();"
                      "UPDATE api_keys SET last_used_at = UNIX_TIMESTAMP()")
            settle(stack, quiet=True)
    extra = {}
    meter.active = idx
    if mode == "login":
        say("timing one scrypt hash (bench-hashtime)")
        wait_quiet(meter, QUIET_WAIT)
        a = meter.snap()
        extra["hash"] = hashtime(stack)
        d = CpuMeter.delta(a, meter.snap())
        extra["hash"]["foreign"] = d["foreign"] / d["wall"]
    label = size_label(ctx["res"]["users"])
    say("%s: latch, %s users, %d s" % (name, label, SECONDS))
    watch.take()
    port, url = target(stack, path, "latch")
    lres = wrk(stack, url, mode, file, once=once, meter=meter,
               prepare=prepare, db=stack, port=port)
    drain(stack)
    lmem = watch.take()
    if mode == "login":
        ctx["hashed"] |= {pid for (lbl, pid) in lmem if lbl == "latch"}
    ctx["res"]["runs"][name] = {
        "latch": lres, "null": nres, **extra,
        "latch_mem": {pid: kb for (lbl, pid), kb in lmem.items()
                      if lbl == "latch"},
        # Workers that have computed a hash by the end of this run:
        # their VmHWM holds its 16 MiB of scratch memory.
        "hashed": set(ctx["hashed"]),
    }
    if mode == "login":
        # The hash's share of a login, without queueing: one request at
        # a time.
        say("%s at concurrency 1: latch, %s users, %d s"
            % (name, label, SECONDS))
        watch.take()
        one = wrk(stack, url, mode, file, threads=1, conns=1, meter=meter,
                  port=port)
        drain(stack)
        m1 = watch.take()
        ctx["hashed"] |= {pid for (lbl, pid) in m1 if lbl == "latch"}
        ctx["res"]["runs"][name + " c1"] = {
            "latch": one, "hash": extra["hash"],
            "hashed": set(ctx["hashed"]),
            "latch_mem": {pid: kb for (lbl, pid), kb in m1.items()
                          if lbl == "latch"}}


def measure(sizes):
    """
    A stack per size, all up at once; then each workload: the null
    responder (of the first stack), then latch on each stack in turn, so
    the sizes are compared minutes apart at most, under the same
    conditions.  Returns the results, one per size.
    """
    ok = False
    try:
        ctxs = [setup(n) for n in sizes]
        meter = CpuMeter()
        for i, ctx in enumerate(ctxs):
            meter.register(i, ctx["stack"])
        first = ctxs[0]
        for name, path, mode, lst, once in WORKLOADS:
            if ONLY and not any(o in name for o in ONLY):
                continue
            file = first["files"][lst] if lst else None
            say("%s: null responder, %d s" % (name, SECONDS))
            first["watch"].take()
            meter.active = 0
            port, url = target(first["stack"], path, "null")
            nres = wrk(first["stack"], url, mode, file, meter=meter,
                       port=port)
            nmem = first["watch"].take()
            nres["mem"] = {pid: kb for (lbl, pid), kb in nmem.items()
                           if lbl == "null"}
            for i, ctx in enumerate(ctxs):
                latch_run(ctx, meter, i, name, path, mode, lst, once, nres)
        for ctx in ctxs:
            stack, res = ctx["stack"], ctx["res"]
            v = vm(stack.latchd_pid)
            res["master_kb"] = v[0] if v else 0
            v = vm(stack.null_pid)
            res["null_master_kb"] = v[0] if v else 0
            res["pool_mb"] = int(stack.sql(
                "SELECT @@innodb_buffer_pool_size")[0][0]) // (1 << 20)
            res["data_mb"] = int(stack.sql(
                "SELECT SUM(data_length + index_length) FROM "
                "information_schema.tables WHERE table_schema = 'latch'")
                [0][0]) // (1 << 20)
        ok = True
        return [ctx["res"] for ctx in ctxs]
    except KeyboardInterrupt:
        ok = True               # nothing to look into
        raise
    finally:
        for ctx in reversed(_setups):
            teardown(ctx, KEEP or not ok)
        _setups.clear()


# -------------------------------------------------------------- report

def fmt_int(n):
    return "{:,}".format(int(round(n)))


def fmt_ms(us):
    ms = us / 1000.0
    if ms >= 100:
        return "%.0f" % ms
    if ms >= 10:
        return "%.1f" % ms
    return "%.2f" % ms


def fmt_pct(x):
    return "%.0f%%" % (x * 100) if x >= 0.01 else "%.2f%%" % (x * 100)


def fmt_mib(kb):
    return "%.1f MiB" % (kb / 1024.0)


def size_label(n):
    if n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n % 1000 == 0:
        return "%dk" % (n // 1000)
    return fmt_int(n)


TARGETS = {
    "POST /auth/verify": ("ratio", 0.60),
    "GET /user/profile": ("ratio", 0.50),
    "POST /auth/login": ("hash", 1.15),
    "POST /auth/login c1": ("hash", 1.15),
}


def peak(mem, exclude=()):
    vals = [kb for pid, kb in mem.items() if pid not in exclude]
    return max(vals) if vals else 0


def report(results):
    base = results[0]
    rows = []
    notes = []
    head = ("| workload | users | req/s | p50 ms | p99 ms | null req/s | "
            "latch / null | worker peak RSS | target | measured |")
    rows.append(head)
    rows.append("|" + "---|" * 10)
    for res in results:
        lbl = size_label(res["users"])
        for name, run in res["runs"].items():
            lr = run["latch"]
            nr = run.get("null")
            tgt, meas = "", ""
            ratio = lr["rps"] / nr["rps"] if nr else None
            kind = TARGETS.get(name)
            if kind and kind[0] == "ratio":
                tgt = "≥ %d%% of null" % round(kind[1] * 100)
                meas = "%s (%s)" % (fmt_pct(ratio),
                                    "met" if ratio >= kind[1] else "missed")
            elif kind and kind[0] == "hash":
                h = run["hash"]["median_ms"] * 1000
                x = lr["p50_us"] / h
                tgt = "p50 ≤ %.2f × hash" % kind[1]
                meas = "%.2f × %s ms (%s)" % (x, fmt_ms(h), "met" if
                                              x <= kind[1] else "missed")
            # A key's row against the same route with an access token,
            # both against the null responder of their own run.
            tok = name[:-len(", API key")] if name.endswith(", API key") \
                else None
            if tok in res["runs"] and ratio and res["runs"][tok].get(
                    "null"):
                t = res["runs"][tok]
                ch = ratio / (t["latch"]["rps"] / t["null"]["rps"]) - 1
                tgt = (tgt + "; " if tgt else "") + \
                    "latch/null within 10% of the access token's"
                meas = (meas + "; " if meas else "") + "%+.1f%% (%s)" % (
                    ch * 100, "met" if ch >= -0.10 else "missed")
            if res is not base and name in base["runs"]:
                # Both sizes ran against the same null run, right after
                # it; the ratio to it cancels the machine's drift.
                b = base["runs"][name]
                if "hash" in run and "hash" in b:
                    # Login: its p50 in hashes of the same run.
                    ch = (b["latch"]["p50_us"] / b["hash"]["median_ms"]) / \
                        (lr["p50_us"] / run["hash"]["median_ms"]) - 1
                    what = "p50/hash"
                elif nr and b.get("null"):
                    ch = ratio / (b["latch"]["rps"] / b["null"]["rps"]) - 1
                    what = "latch/null"
                else:
                    ch = lr["rps"] / b["latch"]["rps"] - 1
                    what = "req/s"
                t = "within 10%% of %s" % size_label(base["users"])
                tgt = (tgt + "; " if tgt else "") + t
                meas = (meas + "; " if meas else "") + "%s %+.1f%% (%s)" \
                    % (what, ch * 100, "met" if ch >= -0.10 else "missed")
            # Outside a login, only workers that never hashed count.
            exclude = run["hashed"] if "login" not in name else ()
            wp = peak(run["latch_mem"], exclude)
            shown = name.replace(" c1", " (-t1 -c1)")
            rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                        % (shown, lbl, fmt_int(lr["rps"]),
                           fmt_ms(lr["p50_us"]), fmt_ms(lr["p99_us"]),
                           fmt_int(nr["rps"]) if nr else "",
                           fmt_pct(ratio) if ratio else "",
                           fmt_mib(wp) if wp else "", tgt, meas))
            if lr["errors"]:
                notes.append("%s (%s users): %d errors (connect %d, read "
                             "%d, write %d, status %d, timeout %d)" % (
                                 name, lbl, lr["errors"], lr["connect"],
                                 lr["read"], lr["write"], lr["status"],
                                 lr["timeout"]))
            if lr.get("exhausted"):
                notes.append("%s (%s users): wrk spent every seeded refresh "
                             "token; raise REFRESH_TOKENS" % (name, lbl))
        nonhash = [peak(r["latch_mem"], r["hashed"])
                   for n, r in res["runs"].items() if "login" not in n]
        nw = max(nonhash) if nonhash else 0
        if "POST /auth/login" in res["runs"]:
            h = res["runs"]["POST /auth/login"]["hash"]
            rows.append("| one scrypt hash (bench-hashtime, N=%d r=%d "
                        "p=%d) | %s |  | %s |  |  |  |  |  | median of %d, "
                        "min %s ms |"
                        % (h["n"], h["r"], h["p"], lbl,
                           fmt_ms(h["median_ms"] * 1000), h["count"],
                           fmt_ms(h["min_ms"] * 1000)))
            # A first sign-in with an imported hash spends this, then the
            # scrypt hash above (the upgrade).
            for what, ih in h.get("imported", []):
                rows.append("| one imported %s check (bench-hashtime "
                            "--verify) | %s |  | %s |  |  |  |  |  | median "
                            "of %d, min %s ms |" % (
                                what, lbl, fmt_ms(ih["median_ms"] * 1000),
                                ih["count"], fmt_ms(ih["min_ms"] * 1000)))
        rows.append("| latchd worker, outside a hash (peak VmHWM) | %s |  |"
                    "  |  |  |  | %s | < 16 MiB | %s |"
                    % (lbl, fmt_mib(nw), "met" if nw < 16 * 1024
                       else "missed"))
        rows.append("| latchd master (VmHWM) | %s |  |  |  |  |  | %s |  |"
                    "  |" % (lbl, fmt_mib(res["master_kb"])))
        nullw = max([peak(r["null"].get("mem", {}))
                     for r in res["runs"].values() if r.get("null")] or [0])
        if res is base:
            rows.append("| null responder worker / master (VmHWM) |  |  |"
                        "  |  |  |  | %s / %s |  |  |"
                        % (fmt_mib(nullw), fmt_mib(res["null_master_kb"])))
    return rows, notes


def header(results):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    n, r, p = results[0]["scrypt"]
    lines = [
        "latch `make bench`, %s: %d CPUs (%s), Linux %s; "
        "%s; wrk -t%d -c%d, %d s per run; latchd and null responder "
        "with %d workers each; scrypt N=%d r=%d p=%d; MariaDB "
        "buffer pool %d MiB, %s." % (
            time.strftime("%Y-%m-%d"), os.cpu_count(), cpu or "?",
            platform.release(),
            ", ".join("%s users in %d organizations (data %d MiB)"
                      % (fmt_int(x["users"]), ORGS, x["data_mb"])
                      for x in results),
            THREADS, CONNS, SECONDS, WORKERS, n, r, p,
            results[0]["pool_mb"], DB_THREADS),
        "",
    ]
    return lines


def cpu_line(r, names):
    """ "total (part a, part b, ...)" in CPU microseconds per request."""
    c, n = r["cpu"], max(1, r["requests"])
    us = {k: v * 1e6 / n for k, v in c.items()
          if k not in ("wall", "foreign", "steal")}
    total = sum(us.values())
    unit, div = ("ms", 1000.0) if total >= 10000 else ("", 1.0)
    parts = ["%s %.0f" % (k, us[k] / div) for k in names if us.get(k)]
    rest = total - sum(us.get(k, 0) for k in names)
    if rest / div >= 0.5:
        parts.append("rest %.0f" % (rest / div))
    return "%.0f%s (%s)" % (total / div, " ms" if unit else "",
                            ", ".join(parts))


def details(results):
    """Where the CPU went, DB reads, and the machine's other load."""
    out = []
    worst = []
    for res in results:
        lbl = fmt_int(res["users"])
        out.append("CPU time per request in µs, %s users (2 CPUs "
                   "saturated: req/s ≈ 2 s / this); \"rest\" is bench.py, "
                   "latch-mailer and the other size's idle stack:" % lbl)
        out.append("")
        for name, run in res["runs"].items():
            lr, nr = run["latch"], run.get("null")
            if "cpu" not in lr:
                continue
            line = "- %s: latch %s" % (
                name.replace(" c1", " (-c1)"),
                cpu_line(lr, ("latchd", "mariadbd", "lighttpd", "wrk",
                              "irq")))
            if nr and "cpu" in nr:
                line += "; null %s" % cpu_line(
                    nr, ("null", "lighttpd", "wrk", "irq"))
            if "disk_reads" in lr and lr["requests"]:
                line += "; InnoDB %.1f page reads/request, %.2f from disk" \
                    % (lr["page_reads"] / lr["requests"],
                       lr["disk_reads"] / lr["requests"])
            out.append(line + ".")
            for r, who in ((lr, "latch"), (nr, "null")):
                if r and "cpu" in r:
                    f = r["cpu"]["foreign"] / r["cpu"]["wall"]
                    if f >= 0.10:
                        worst.append("%s %s (%s users): %.2f CPUs" % (
                            name, who, size_label(res["users"]), f))
            if "hash" in run and run["hash"].get("foreign", 0) >= 0.10 \
                    and name == "POST /auth/login":
                worst.append("scrypt timing (%s users): %.2f CPUs" % (
                    size_label(res["users"]), run["hash"]["foreign"]))
        out.append("")
    if worst:
        out.append("Other processes on this machine were busy during: "
                   + "; ".join(worst) + ". Those figures are disturbed.")
    else:
        out.append("Other processes on this machine used less than 0.1 "
                   "CPU during every run.")
    return out


def main():
    os.chdir(REPO)

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    # SIGINT too: a shell that starts us in the background ignores it.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_term)
    for exe in (NULL_BIN, HASHTIME_BIN):
        if not os.access(exe, os.X_OK):
            say("%s is missing: run make bench" % exe)
            return 1
    if shutil.which("wrk") is None:
        say("wrk is missing: make deps installs it")
        return 1
    sizes = [USERS] if USERS <= BASE_USERS else [BASE_USERS, USERS]
    t0 = time.monotonic()
    try:
        results = measure(sizes)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except (BenchError, stackmod.StackError) as e:
        say(str(e))
        return 1
    finally:
        for p in list(_wrk):
            p.kill()
    rows, notes = report(results)
    md = header(results) + rows + [""] + details(results)
    md += ["", jwttime()]
    if notes:
        md += [""] + ["- " + n for n in notes]
    text = "\n".join(md) + "\n"
    os.makedirs(os.path.dirname(OUT_MD), exist_ok=True)
    with open(OUT_MD, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    sys.stdout.flush()
    say("took %.0f s; the table is also in %s" % (
        time.monotonic() - t0, os.path.relpath(OUT_MD, REPO)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
