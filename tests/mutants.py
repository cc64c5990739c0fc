#!/usr/bin/python3
"""
mutants.py: mutation testing ("make mutants", from the repository root).

Each entry of a list DIR/mutants.txt (core/mutants.txt, fcgi/mutants.txt:
next to the code they mutate) plants one small, realistic bug in one
file of DIR.  For each entry the runner applies the mutation, builds into
build-mutants/, runs every unit test (and the fuzz seeds), then the
integration scenarios the entry names (tests/run.py -k, stopping at the
first failure), and restores the file.  A mutant some test fails on is
killed; one that passes everything survived: a security check no test
would miss.  At the end: the score, the survivors and the time taken.

The list format (one block per entry, blocks separated by blank lines,
"#" starts a comment line):

  mutant: NAME     unique over all lists; says what the bug is
  file:   FILE     relative to the list's directory
  in:     FUNC     optional: look only inside the function FUNC, from the
                   line that starts "FUNC(" to the next line that is "}"
  from:   TEXT     exact text (a line or part of one, without its
                   indentation) found exactly once in FILE (or FUNC)
  to:     TEXT     what replaces it
  tests:  SUBSTR.. the scenarios that should kill it, as tests/run.py -k
                   takes them ("test_40_tokens.test_wrong_key"), on this
                   line and indented lines after it; each must name at
                   least one scenario; left out when the unit tests alone
                   should kill it

Before anything runs every selected entry is checked: an entry whose
text is not found exactly once (the code moved on), names an unknown
file or scenario, or is malformed is an error, and nothing runs.  Then the
suite runs once unmutated on the same build (every scenario the entries
name must pass, else every mutant would look killed).

Safety: the runner refuses to start while a file it mutates differs from
git's HEAD (or the index); it restores each file after its mutant, on
success, failed build, Ctrl-C, SIGTERM or SIGHUP alike, and checks the
bytes are back.  A journal (build-mutants/journal.json, written before a
mutation) lets the next run put back a file left mutated by a runner that
was killed outright (SIGKILL, power loss).

Usage: tests/mutants.py [--check] [--list] [NAME-SUBSTR ...]
  NAME-SUBSTR  only the entries whose name contains one of these
  --check      validate the lists and exit (no build, nothing mutated)
  --list       print the entries (file:line, from -> to, tests) and exit
Exit status: 0 when every mutant was killed, 1 when one survived or
broke the build, 2 for errors in the lists or a dirty tree.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = "build-mutants"
JOURNAL = os.path.join(REPO, BUILD, "journal.json")
KEYS = ("mutant", "file", "in", "from", "to", "tests")
REQUIRED = ("mutant", "file", "from", "to")
SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable


class ListError(Exception):
    pass


class Entry:
    def __init__(self, listpath, lineno):
        self.listpath = listpath      # relative to REPO
        self.lineno = lineno          # of the "mutant:" line
        self.fields = {}
        self.path = None              # the mutated file, relative to REPO
        self.offset = None            # of the text in the file
        self.line = None              # its line number

    def __getattr__(self, k):
        if k in KEYS:
            return self.fields.get(k)
        raise AttributeError(k)

    @property
    def where(self):
        return "%s:%d" % (self.listpath, self.lineno)

    @property
    def selectors(self):
        return (self.fields.get("tests") or "").split()


def parse_list(path):
    """The entries of one list file."""
    rel = os.path.relpath(path, REPO)
    entries = []
    cur = last = None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.strip() == "":
                cur = None
                continue
            if line.lstrip().startswith("#"):
                continue
            if line[0] in " \t":
                # A continuation: more scenarios for "tests:".
                if cur is None or last != "tests":
                    raise ListError("%s:%d: an indented line continues "
                                    "only \"tests:\"" % (rel, n))
                cur.fields["tests"] += " " + line.strip()
                continue
            m = re.match(r"^([a-z]+):[ \t]*(.*?)[ \t]*$", line)
            if not m or m.group(1) not in KEYS:
                raise ListError("%s:%d: not a \"key: value\" line with a "
                                "key of %s: %r" % (rel, n, ", ".join(KEYS),
                                                  line))
            k, v = m.group(1), m.group(2)
            if k == "mutant":
                cur = Entry(rel, n)
                entries.append(cur)
            elif cur is None:
                raise ListError("%s:%d: %s: before any \"mutant:\" line"
                                % (rel, n, k))
            if k in cur.fields:
                raise ListError("%s:%d: %s: given twice in one entry"
                                % (rel, n, k))
            cur.fields[k] = v
            last = k
    return entries


def scenario_names():
    """Every integration scenario, as tests/run.py names them."""
    names = []
    for p in sorted(glob.glob(os.path.join(REPO, "tests", "integration",
                                           "test_*.py"))):
        mod = os.path.basename(p)[:-3]
        with open(p, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^def (test_\w+)\(", line)
                if m:
                    names.append(mod + "." + m.group(1))
    return names


def region(text, func):
    """(start, end) offsets of the function func in text."""
    starts = [m.start() for m in re.finditer(
        r"^" + re.escape(func) + r"\(", text, re.M)]
    if len(starts) != 1:
        raise ListError("in: %s: %d lines start with \"%s(\" (want 1)"
                        % (func, len(starts), func))
    m = re.compile(r"^\}$", re.M).search(text, starts[0])
    if m is None:
        raise ListError("in: %s: no closing \"}\" line" % func)
    return starts[0], m.end()


def locate(e, scenarios):
    """Check one entry and find its text; raises ListError."""
    for k in REQUIRED:
        if not e.fields.get(k):
            raise ListError("no %s" % k)
    if e.to == e.fields["from"]:
        raise ListError("from and to are the same")
    d = os.path.dirname(e.listpath)
    e.path = os.path.normpath(os.path.join(d, e.file))
    if e.path.startswith("..") or os.path.isabs(e.file):
        raise ListError("file: %s is outside %s/" % (e.file, d))
    full = os.path.join(REPO, e.path)
    if not os.path.isfile(full):
        raise ListError("file: %s does not exist" % e.path)
    with open(full, encoding="utf-8") as f:
        text = f.read()
    lo, hi = (0, len(text)) if not e.fields.get("in") else \
        region(text, e.fields["in"])
    frm = e.fields["from"]
    hits = []
    i = text.find(frm, lo, hi)
    while i != -1:
        hits.append(i)
        i = text.find(frm, i + 1, hi)
    if len(hits) != 1:
        lines = [text.count("\n", 0, h) + 1 for h in hits]
        raise ListError("from: found %d times in %s%s%s (want exactly "
                        "once): %r" % (
                            len(hits), e.path,
                            " (function %s)" % e.fields["in"]
                            if e.fields.get("in") else "",
                            " at lines %s" % lines if lines else "", frm))
    e.offset = hits[0]
    e.line = text.count("\n", 0, e.offset) + 1
    for s in e.selectors:
        if not any(s in n for n in scenarios):
            raise ListError("tests: %r names no scenario of "
                            "tests/integration/" % s)


def load(selection):
    """The selected entries, all checked; exits 2 on any error."""
    lists = sorted(glob.glob(os.path.join(REPO, "*", "mutants.txt")))
    if not lists:
        sys.exit("mutants: no */mutants.txt")
    entries, errors = [], []
    for p in lists:
        try:
            entries += parse_list(p)
        except ListError as ex:
            errors.append(str(ex))
    seen = {}
    for e in entries:
        if e.mutant in seen:
            errors.append("%s: mutant %s: also at %s" % (
                e.where, e.mutant, seen[e.mutant]))
        seen[e.mutant] = e.where
    if selection:
        entries = [e for e in entries
                   if any(s in (e.mutant or "") for s in selection)]
        if not entries:
            errors.append("no mutant's name contains any of %s"
                          % " ".join(selection))
    scenarios = scenario_names()
    for e in entries:
        try:
            locate(e, scenarios)
        except ListError as ex:
            errors.append("%s: mutant %s: %s" % (e.where, e.mutant, ex))
    if errors:
        for x in errors:
            print("error: " + x)
        print("mutants: %d error(s) in the lists: fix the entries (a moved "
              "line is found by its text; change the text when the code "
              "changed)" % len(errors))
        sys.exit(2)
    return entries


# ------------------------------------------------------------- the tree

def sha(b):
    return hashlib.sha256(b).hexdigest()


def write_file(path, data):
    """Replace path's bytes (same inode, mode kept)."""
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())


def write_journal(path, original, mutated):
    os.makedirs(os.path.dirname(JOURNAL), exist_ok=True)
    tmp = JOURNAL + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"path": path, "original": original.decode("utf-8"),
                   "mutated_sha256": sha(mutated)}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, JOURNAL)


def recover():
    """Put back a file a killed runner left mutated (see the journal)."""
    if not os.path.exists(JOURNAL):
        return
    with open(JOURNAL) as f:
        j = json.load(f)
    full = os.path.join(REPO, j["path"])
    with open(full, "rb") as f:
        now = f.read()
    if sha(now) == j["mutated_sha256"]:
        write_file(full, j["original"].encode("utf-8"))
        print("mutants: %s was left mutated by an interrupted run: "
              "restored" % j["path"])
    else:
        print("mutants: a journal of an interrupted run names %s, which "
              "has changed since: left as it is" % j["path"])
    os.unlink(JOURNAL)


def dirty(paths):
    """The paths git sees as changed (or untracked) against HEAD."""
    r = subprocess.run(["git", "status", "--porcelain", "--"] + paths,
                       cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("mutants: git status failed (a git work tree is needed to "
                 "know that the files are clean): " + r.stderr.strip())
    return [line for line in r.stdout.splitlines() if line.strip()]


class Mutation:
    """The entry's mutation applied to its file for the with block, the
    file restored when it ends, however it ends."""

    def __init__(self, e):
        self.e = e
        self.full = os.path.join(REPO, e.path)

    def __enter__(self):
        with open(self.full, "rb") as f:
            self.original = f.read()
        text = self.original.decode("utf-8")
        frm = self.e.fields["from"]
        assert text[self.e.offset:self.e.offset + len(frm)] == frm
        mutated = (text[:self.e.offset] + self.e.to +
                   text[self.e.offset + len(frm):]).encode("utf-8")
        old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            write_journal(self.e.path, self.original, mutated)
            write_file(self.full, mutated)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return self

    def __exit__(self, *exc):
        old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            write_file(self.full, self.original)
            with open(self.full, "rb") as f:
                if f.read() != self.original:
                    raise RuntimeError("%s: not restored" % self.e.path)
            os.unlink(JOURNAL)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return False


# ---------------------------------------------------------------- running

class Runner:
    def __init__(self):
        self.child = None
        self.tmp = tempfile.mkdtemp(prefix="latch-mutants-")
        self.env = dict(os.environ, LATCH_BUILD=BUILD, TMPDIR=self.tmp)
        self.env.pop("VERBOSE", None)
        self.logdir = os.path.join(REPO, BUILD, "logs")
        os.makedirs(self.logdir, exist_ok=True)

    def run(self, argv, log):
        """Run argv (output to log); returns (status, output)."""
        with open(log, "wb") as out:
            # Its own process group: signals reach it through us only,
            # and what it leaves behind can be swept up.
            self.child = subprocess.Popen(argv, cwd=REPO, env=self.env,
                                          stdout=out,
                                          stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL,
                                          start_new_session=True)
            try:
                rc = self.child.wait()
            finally:
                self.stop_child()
        self.clean_tmp()
        with open(log, "rb") as f:
            return rc, f.read().decode("utf-8", "replace")

    def stop_child(self):
        c = self.child
        if c is None:
            return
        if c.poll() is None:
            # Interrupted: tests/run.py stops its stack on SIGTERM, make
            # its build; then whatever is left of the group (a compiler
            # make started) goes too.
            c.terminate()
            try:
                c.wait(60)
            except subprocess.TimeoutExpired:
                c.kill()
                c.wait()
            try:
                os.killpg(c.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.child = None

    def clean_tmp(self):
        for n in os.listdir(self.tmp):
            shutil.rmtree(os.path.join(self.tmp, n), ignore_errors=True)

    def close(self):
        self.stop_child()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def build(self, name):
        return self.run(["make", "--no-print-directory", "-j2", "all",
                         "B=" + BUILD, "CI="],
                        os.path.join(self.logdir, name + ".build"))

    def suite(self, name, selectors):
        """Every unit test, then the named scenarios: ("passed", ""),
        ("failed", what failed) or ("error", why), and the output."""
        rc, out = self.run([PYTHON, "tests/run.py", "--unit"],
                           os.path.join(self.logdir, name + ".unit"))
        if rc != 0:
            return "failed", failures(out) or "the unit tests (status " \
                "%d)" % rc, out
        if not selectors:
            return "passed", "", out
        argv = [PYTHON, "tests/run.py", "--integration", "-x"]
        for s in selectors:
            argv += ["-k", s]
        rc, out = self.run(argv, os.path.join(self.logdir, name + ".int"))
        if rc != 0:
            what = failures(out)
            if not what:
                return "error", "tests/run.py exited %d with no failing " \
                    "test" % rc, out
            return "failed", what, out
        if not re.search(r"^ok - ", out, re.M):
            return "error", "no scenario ran", out
        return "passed", "", out


def failures(out):
    names = re.findall(r"^(?:\S+: )?not ok - (.*)$", out, re.M)
    if not names:
        return ""
    more = " (+%d)" % (len(names) - 1) if len(names) > 1 else ""
    return names[0].strip()[:90] + more


def minutes(s):
    return "%dm%02ds" % (s // 60, s % 60) if s >= 60 else "%.1fs" % s


def on_signal(signum, frame):
    raise KeyboardInterrupt()


def main():
    ap = argparse.ArgumentParser(prog="tests/mutants.py")
    ap.add_argument("names", nargs="*", metavar="NAME-SUBSTR")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    os.chdir(REPO)
    for sig in SIGNALS:
        signal.signal(sig, on_signal)

    recover()
    entries = load(args.names)
    if args.list:
        for e in entries:
            print("%-28s %s:%d\n    from: %s\n    to:   %s\n    tests: %s"
                  % (e.mutant, e.path, e.line, e.fields["from"], e.to,
                     " ".join(e.selectors) or "(unit tests only)"))
    if args.check or args.list:
        print("mutants: %d entries, all found exactly once" % len(entries))
        return 0
    files = sorted({e.path for e in entries})
    d = dirty(files)
    if d:
        print("mutants: refusing to run: files it mutates differ from git's "
              "HEAD (commit or stash them first):")
        for line in d:
            print("    " + line)
        return 2

    t0 = time.monotonic()
    runner = Runner()
    results = []     # (entry, "killed"|"survived"|"error", detail, secs)
    try:
        print("mutants: %d mutants of %s; builds in %s/, logs in %s/logs/"
              % (len(entries), ", ".join(files), BUILD, BUILD), flush=True)
        rc, out = runner.build("baseline")
        if rc != 0:
            print(out[-3000:])
            print("mutants: the unmutated tree does not build")
            return 2
        union = sorted({s for e in entries for s in e.selectors})
        st, what, out = runner.suite("baseline", union)
        if st != "passed":
            print(out[-4000:])
            print("mutants: the unmutated tree fails: %s: fix that first"
                  % what)
            return 2
        print("mutants: baseline passes (%s)" % minutes(
            time.monotonic() - t0), flush=True)
        w = max(len(e.mutant) for e in entries)
        for i, e in enumerate(entries, 1):
            t1 = time.monotonic()
            print("[%2d/%d] %-*s %-22s " % (i, len(entries), w, e.mutant,
                                            "%s:%d" % (e.path, e.line)),
                  end="", flush=True)
            with Mutation(e):
                rc, out = runner.build(e.mutant)
                if rc != 0:
                    status = "error"
                    detail = "does not build: " + " | ".join(
                        [x for x in out.splitlines()
                         if "error" in x][:2])[:200]
                else:
                    st, detail, out = runner.suite(e.mutant, e.selectors)
                    status = {"failed": "killed", "passed": "survived",
                              "error": "error"}[st]
            secs = time.monotonic() - t1
            results.append((e, status, detail, secs))
            label = {"killed": "killed by", "survived": "SURVIVED",
                     "error": "ERROR"}[status]
            print("%s %s (%s)" % (label, detail, minutes(secs)), flush=True)
    except KeyboardInterrupt:
        print("\nmutants: interrupted; the source is restored")
        return 130
    finally:
        runner.close()
        left = dirty(files)
        if left:
            print("mutants: BUG: files differ from HEAD after the run:")
            for line in left:
                print("    " + line)

    total = time.monotonic() - t0
    killed = [r for r in results if r[1] == "killed"]
    survived = [r for r in results if r[1] == "survived"]
    errors = [r for r in results if r[1] == "error"]
    judged = len(killed) + len(survived)
    print()
    for e, _, _, _ in survived:
        print("survived: %s  %s:%d (%s)\n    from: %s\n    to:   %s\n"
              "    tests: %s" % (e.mutant, e.path, e.line, e.where,
                                 e.fields["from"], e.to,
                                 " ".join(e.selectors) or "(unit only)"))
    for e, _, detail, _ in errors:
        print("error: %s  %s:%d (%s): %s" % (e.mutant, e.path, e.line,
                                           e.where, detail))
    print("mutation score: %d/%d killed (%.0f%%), %d survived, %d errors; "
          "took %s" % (len(killed), judged,
                       100.0 * len(killed) / judged if judged else 0,
                       len(survived), len(errors), minutes(total)))
    return 0 if not survived and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
