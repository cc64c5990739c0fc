#!/usr/bin/python3
"""
run.py: latch's test runner ("make check", from the repository root).

  0. The layout of the C sources: "make format-check" (.clang-format),
     "ok - format" if it passes; in a whole run only (none of --unit,
     --core, --integration: a planted mutant must not fail on its
     layout), or when -k selects "format".
  1. Every unit binary build/tests/test_*: its lines "ok - ..." pass and
     "not ok - ..." fail; a binary that exits non-zero without a "not ok"
     line is one failure.
  2. Every fuzz harness BUILD/fuzz/fuzz_* run once on each file of
     tests/fuzz/corpus/fuzz_*/: "ok - fuzz: NAME" if it exits 0.
  3. Every core test build/tests/core/test_* (tests/core/tcore.h), counted
     as the unit binaries are, each against a scratch database of its own
     on one MariaDB (tools/stack.py's) started for them in a temporary
     directory: core/ tested where it is made, without a web server.
  4. Every scenario: each function test_* of each
     tests/integration/test_*.py, in file and definition order, called
     with one shared Stack (MariaDB, latchd, lighttpd in a temporary
     directory, started once and stopped at the end).  A test passes if it
     returns and fails if it raises.  A module's teardown(stack), if it
     has one, runs after its scenarios (whether they passed or not) to
     stop what they started; if it raises, that is one failure.

Options:
  -k SUBSTR        only tests whose name ("test_conf" for a unit binary,
                   "core: test_user" for a core test,
                   "test_30_login.test_by_email" for a scenario) contains
                   SUBSTR; may be given more than once
  --unit, --core, --integration   only those parts (unit: the unit
                   binaries and the fuzz seeds)
  --cluster        the scenarios of tests/cluster/ against a Cluster
                   (tools/stack.py: three Galera nodes, two latch hosts);
                   never part of the default run (make check-cluster)
  --keep           keep the temporary directory (logs, config) at the end
  -x               stop at the first failing scenario
  At the end, every file of the stacks' directories is scanned for
  sanitizer reports: each one with any is "not ok - sanitizer: FILE".
Environment: VERBOSE=1 prints every HTTP request and answer;
LATCH_BUILD=build-asan (make check SANITIZE=1) takes the binaries from
that directory instead of build/.

The last line is "N passed, N failed"; the exit status is 1 if anything
failed.
"""

import argparse
import importlib.util
import inspect
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the tree
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import stack as stackmod  # noqa: E402

# The configuration the scenarios are written against.
TEST_OVERRIDES = {
    "security.scrypt_n": 1024,       # fast hashing (r stays 8)
    "security.scrypt_p": 1,
    "security.allow_new_organizations": True,
    "security.refresh_reuse_interval": 2,
    "security.access_ttl": 900,
    "server.workers": 2,
    "server.max_requests": 200,
    # Every request comes from 127.0.0.1: the per-IP budget would stop the
    # suite.  The rate-limit scenarios reload their own limits.
    "limits.ip_exempt": "127.0.0.1",
    "limits.ip_budget": 100000,
    # Scenarios send several mails to one address; test_64_limits sets it.
    "mail.min_interval": 0,
    # Mail stays in DIR/spool (no smtp_host); links are built from these.
    "mail.invite_url": "https://app.example.test/register",
    "mail.reset_url": "https://app.example.test/reset",
    "mail.email_url": "https://app.example.test/email",
}

UNIT_TIMEOUT = 300
BUILD = os.environ.get("LATCH_BUILD") or "build"
SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                   b"runtime error:")


class Counts:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def ok(self, name):
        self.passed += 1
        print("ok - %s" % name, flush=True)

    def fail(self, name, why=""):
        self.failed += 1
        self.failures.append(name)
        print("not ok - %s" % name, flush=True)
        if why:
            for line in why.rstrip("\n").split("\n"):
                print("    " + line)
            sys.stdout.flush()


def selected(name, ks):
    return not ks or any(k in name for k in ks)


# ------------------------------------------------------------------- unit

def run_binary(counts, b, env=None):
    """One test program: its "ok"/"not ok" lines counted; a non-zero exit
    without a "not ok" line is one failure."""
    name = os.path.basename(b)
    try:
        r = subprocess.run([b], cwd=REPO, capture_output=True,
                           timeout=UNIT_TIMEOUT, env=env,
                           start_new_session=True)
        out = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
        rc = r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = "timed out after %ds" % UNIT_TIMEOUT
        rc = -1
    p = f = 0
    for line in out.splitlines():
        if line.startswith("ok - "):
            p += 1
        elif line.startswith("not ok - "):
            f += 1
            print("%s: %s" % (name, line))
    counts.passed += p
    counts.failed += f
    if f:
        counts.failures.append(name)
    if rc != 0 and f == 0:
        counts.fail(name, "exited with status %d and no 'not ok' line"
                    "\n%s" % (rc, (err or out)[-2000:]))
    elif f or rc != 0:
        if err.strip():
            print("    " + err.strip()[-2000:].replace("\n", "\n    "))
    print("# %s: %d passed, %d failed" % (name, p, f), flush=True)


def test_programs(d):
    """The test programs test_* of directory d (no file with a dot)."""
    try:
        names = sorted(n for n in os.listdir(d) if n.startswith("test_"))
    except FileNotFoundError:
        names = []
    return [os.path.join(d, n) for n in names
            if os.path.isfile(os.path.join(d, n))
            and os.access(os.path.join(d, n), os.X_OK) and "." not in n]


def run_units(counts, ks):
    bins = test_programs(os.path.join(REPO, BUILD, "tests"))
    if not bins:
        print("# no unit test binaries in build/tests")
    for b in bins:
        name = os.path.basename(b)
        if not selected(name, ks):
            continue
        print("# unit: %s" % name, flush=True)
        run_binary(counts, b)


# ------------------------------------------------------------------- core

# The configuration the core tests are written against (tests/core/).
CORE_OVERRIDES = {
    "security.scrypt_n": 1024,
    "security.scrypt_p": 1,
    "security.allow_new_organizations": True,
    "security.refresh_reuse_interval": 2,
    "mail.min_interval": 0,
    "mail.invite_url": "https://app.example.test/register",
    "mail.reset_url": "https://app.example.test/reset",
    "mail.email_url": "https://app.example.test/email",
}


def run_core(counts, ks, keep):
    """Each core test against a scratch database of its own, all on one
    MariaDB started here and stopped at the end."""
    bins = [b for b in test_programs(os.path.join(REPO, BUILD, "tests",
                                                  "core"))
            if selected("core: " + os.path.basename(b), ks)]
    if not bins:
        return
    tmp = tempfile.mkdtemp(prefix="latch-core-")
    st = stackmod.Stack(tmp, fast=True)
    failed = counts.failed
    try:
        print("# core: starting MariaDB in %s" % tmp, flush=True)
        try:
            for d in (st.spool, st.tmp):
                os.makedirs(d, exist_ok=True)
            os.chmod(tmp, 0o700)
            st.init_db()
            st.start_db()
            password = st.write_config(CORE_OVERRIDES)
        except Exception as e:
            counts.fail("core: starting MariaDB", str(e))
            return
        for b in bins:
            name = os.path.basename(b)
            db = "core_" + name[len("test_"):]
            cfg = os.path.join(tmp, name + ".ini")
            st.ensure_database(password, name=db)
            shutil.copyfile(st.config, cfg)
            os.chmod(cfg, 0o600)
            stackmod.ini_set(cfg, {
                ("database", "name"): db,
                ("mail", "spool_dir"): os.path.join(tmp, "spool-" + name)})
            env = dict(os.environ, LATCH_TEST_CONFIG=cfg,
                       LATCH_TEST_SOCKET=st.db_socket,
                       LATCH_TEST_ADMIN=st.db_admin, LATCH_TEST_DB=db)
            print("# core: %s" % name, flush=True)
            run_binary(counts, b, env)
    finally:
        try:
            st.stop()
        except Exception as e:
            counts.fail("core: stopping MariaDB", str(e))
        scan_sanitizer(counts, tmp)
        if keep or counts.failed > failed:
            print("# core directory kept: %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------- format

def run_format(counts):
    """The C sources as .clang-format lays them out (make format-check)."""
    r = subprocess.run(["make", "--no-print-directory", "-s",
                        "format-check"], cwd=REPO, capture_output=True,
                       text=True, timeout=UNIT_TIMEOUT)
    if r.returncode == 0:
        counts.ok("format")
    else:
        counts.fail("format", (r.stdout + r.stderr)[-4000:])


# ------------------------------------------------------------------- fuzz

def run_fuzz(counts, ks):
    """Each harness once over its seed corpus (tests/fuzz/corpus/NAME/)."""
    d = os.path.join(REPO, BUILD, "fuzz")
    try:
        names = sorted(n for n in os.listdir(d) if n.startswith("fuzz_")
                       and "." not in n)
    except FileNotFoundError:
        names = []
    for name in names:
        if not selected("fuzz: " + name, ks):
            continue
        cd = os.path.join(REPO, "tests", "fuzz", "corpus", name)
        seeds = sorted(os.path.join(cd, f) for f in os.listdir(cd)) \
            if os.path.isdir(cd) else []
        if not seeds:
            counts.fail("fuzz: " + name, "no seed corpus in " + cd)
            continue
        try:
            r = subprocess.run([os.path.join(d, name)] + seeds, cwd=REPO,
                               capture_output=True, timeout=UNIT_TIMEOUT)
            rc, err = r.returncode, r.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, err = -1, "timed out after %ds" % UNIT_TIMEOUT
        if rc != 0 or any(m.decode() in err for m in SANITIZER_MARKS):
            counts.fail("fuzz: " + name, "status %d on %d seeds\n%s" % (
                rc, len(seeds), err[-3000:]))
        else:
            counts.ok("fuzz: " + name)


def scan_sanitizer(counts, d):
    """A failure for each file under d that holds a sanitizer report."""
    for root, _, files in os.walk(d):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            hits = [m for m in SANITIZER_MARKS if m in data]
            if hits:
                i = data.find(hits[0])
                counts.fail("sanitizer: " + os.path.relpath(p, d),
                            data[max(0, i - 200):i + 3000].decode(
                                "utf-8", "replace"))


# ------------------------------------------------------------ integration

def load_scenarios(ks, where="integration"):
    """[(module name, [(full name, function)])] in file/definition order,
    from tests/<where>/."""
    d = os.path.join(REPO, "tests", where)
    out = []
    for fn in sorted(os.listdir(d)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        spec = importlib.util.spec_from_file_location(modname,
                                                      os.path.join(d, fn))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
        funcs = [(modname + "." + n, f) for n, f in vars(mod).items()
                 if n.startswith("test_") and inspect.isfunction(f)
                 and f.__module__ == modname]
        funcs.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        funcs = [(n, f) for n, f in funcs if selected(n, ks)]
        if funcs:
            out.append((modname, funcs))
    return out


def short_traceback(e):
    """The frames inside tests/ and the exception, one line each."""
    here = os.path.join(REPO, "tests")
    lines = []
    for fr in traceback.extract_tb(e.__traceback__):
        if fr.filename.startswith(here) and \
                os.path.basename(fr.filename) != "run.py":
            lines.append("%s:%d in %s: %s" % (
                os.path.relpath(fr.filename, REPO), fr.lineno, fr.name,
                (fr.line or "").strip()))
    msg = str(e)
    if len(msg) > 4000:
        msg = msg[:4000] + "..."
    lines.append("%s: %s" % (type(e).__name__, msg))
    return "\n".join(lines)


def run_module(stack, counts, funcs, stop_first):
    """The scenarios of one module; True to stop the run (-x)."""
    for name, f in funcs:
        dead = stack.dead()
        if dead:
            log = stack.log_of(dead) if hasattr(stack, "log_of") else \
                stack.logs[dead]
            counts.fail(name, "%s is not running any more:\n%s" % (
                dead, stackmod.log_tail(log)))
            continue
        try:
            f(stack)
        except KeyboardInterrupt:
            raise
        except BaseException as e:
            counts.fail(name, short_traceback(e))
            if stop_first:
                return True
        else:
            counts.ok(name)
    return False


def run_integration(counts, ks, keep, stop_first, where="integration"):
    """The scenarios of tests/<where>/ against one Stack (integration) or
    one Cluster (cluster: tests/cluster/, make check-cluster), started
    for them; lib's helpers go to the stack, or the cluster's first
    host."""
    try:
        scenarios = load_scenarios(ks, where)
    except Exception as e:
        counts.fail("%s: loading the scenarios" % where, short_traceback(e))
        return
    if not scenarios:
        return
    import lib
    tmp = tempfile.mkdtemp(prefix="latch-%s-" % where)
    if where == "cluster":
        stack = stackmod.Cluster(tmp, fast=True)
        first = stack.hosts[0]
    else:
        stack = first = stackmod.Stack(tmp, fast=True)
    t0 = time.monotonic()
    try:
        print("# %s: starting the stack in %s" % (where, tmp), flush=True)
        try:
            stack.start(TEST_OVERRIDES, workers=2)
        except Exception as e:
            counts.fail("%s: starting the stack" % where, str(e))
            return
        print("# %s: stack up in %.1fs: %s" % (
            where, time.monotonic() - t0, first.url()), flush=True)
        lib.use(first)
        for modname, funcs in scenarios:
            print("# %s" % modname, flush=True)
            try:
                if run_module(stack, counts, funcs, stop_first):
                    return
            finally:
                down = getattr(sys.modules[modname], "teardown", None)
                if down is not None:
                    try:
                        down(stack)
                    except Exception as e:
                        counts.fail(modname + ".teardown",
                                    short_traceback(e))
    finally:
        try:
            stack.stop()
        except Exception as e:
            counts.fail("%s: stopping the stack" % where, str(e))
        scan_sanitizer(counts, tmp)
        if keep or counts.failed:
            print("# stack directory kept: %s" % tmp)
            if not keep:
                print("# (logs: latchd.log, lighttpd-error.log, "
                      "mysqld.err; rm -rf it when done)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        print("# %s took %.1fs" % (where, time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser(prog="tests/run.py")
    ap.add_argument("-k", action="append", default=[], metavar="SUBSTR")
    ap.add_argument("--unit", action="store_true")
    ap.add_argument("--core", action="store_true")
    ap.add_argument("--integration", action="store_true")
    ap.add_argument("--cluster", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-x", action="store_true", dest="stop_first")
    args = ap.parse_args()
    os.chdir(REPO)

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    counts = Counts()
    every = not args.unit and not args.core and not args.integration \
        and not args.cluster
    status = 0
    try:
        if (every and not args.k) or (args.k and selected("format",
                                                          args.k)):
            run_format(counts)
        if args.unit or every:
            run_units(counts, args.k)
            run_fuzz(counts, args.k)
        if args.core or every:
            run_core(counts, args.k, args.keep)
        if args.integration or every:
            run_integration(counts, args.k, args.keep, args.stop_first)
        if args.cluster:
            run_integration(counts, args.k, args.keep, args.stop_first,
                            "cluster")
    except KeyboardInterrupt:
        print("\n# interrupted", flush=True)
        counts.failed += 1
        status = 130
    if counts.failures:
        print("# failed: " + ", ".join(counts.failures))
    print("%d passed, %d failed" % (counts.passed, counts.failed))
    if status:
        return status
    return 1 if counts.failed else 0


if __name__ == "__main__":
    sys.exit(main())
