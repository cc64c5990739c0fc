"""
guides.py: the deployment guides of docs/deploy/ as the tests read and
run them (test_88_guides.py; the conventions are docs/deploy/README.md's).

A guide's commands are its fenced blocks marked sh, whose first line
says who runs them ("# as root", "# as alice", with ", in latch's source
tree" when they run in a checkout of latch), and its crontab lines, in
blocks marked crontab with the same first line.  Its "Names used here"
table lists what a reader replaces; the tests replace those names, and
only those, by their own (Guide.run checks that each one it is given is
in the table).
"""

import os
import re
import shutil
import subprocess

import stack as stackmod

REPO = stackmod.REPO
DOCS = os.path.join(REPO, "docs", "deploy")
GUIDES = ("apache-proxy-fcgi.md", "apache-authorizer.md",
          "shared-hosting-apache.md", "lighttpd.md", "lighttpd-spawn.md",
          "nginx.md", "caddy.md")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
WHO = re.compile(r"^# as ([a-z_][a-z0-9_-]*)(, in latch's source tree)?$")
RUN_LANGS = ("sh", "crontab")


class Block:
    """One command block: lang ("sh" or "crontab"), its text, who runs it
    (user), whether it runs in latch's source tree, its line and the
    title of its section (its "## " heading)."""

    def __init__(self, lang, text, user, in_source, line, section):
        self.lang, self.text, self.user = lang, text, user
        self.in_source, self.line, self.section = in_source, line, section


class Guide:
    def __init__(self, name):
        self.name = name
        self.path = os.path.join(DOCS, name)
        with open(self.path, encoding="utf-8") as f:
            self.text = f.read()
        self.blocks = []
        heads = [(h.start(), h.group(1)) for h in re.finditer(
            r"^## (.+)$", self.text, re.M)]
        for m in FENCE.finditer(self.text):
            lang, body = m.group(1), m.group(2)
            if lang not in RUN_LANGS:
                continue
            line = self.text.count("\n", 0, m.start()) + 1
            first = body.split("\n", 1)[0]
            who = WHO.match(first)
            assert who, "%s:%d: a %s block must start with \"# as root\" " \
                "or \"# as USER\" (docs/deploy/README.md): %r" % (
                    name, line, lang, first)
            assert lang == "sh" or not who.group(2), \
                "%s:%d: a crontab has no source tree" % (name, line)
            section = [t for p, t in heads if p < m.start()][-1:] or [""]
            self.blocks.append(Block(lang, body, who.group(1),
                                     bool(who.group(2)), line, section[0]))
        assert self.blocks, "%s has no command block" % name

    def names(self):
        """The names of the guide's "Names used here" table: each
        backquoted name of its first column."""
        m = re.search(r"\*\*Names used here\*\*[^\n]*\n\n((?:\|[^\n]*\n)+)",
                      self.text, re.S)
        assert m, "%s: no \"Names used here\" table" % self.name
        out = set()
        for row in m.group(1).splitlines()[2:]:
            out |= set(re.findall(r"`([^`]+)`", row.split("|")[1]))
        return out

    def commands(self, subs):
        """The blocks with the names of subs ({name: ours}) replaced,
        each of which must be in the guide's table."""
        names = self.names()
        for k in subs:
            assert k in names, "%s: %r is replaced by the tests but not " \
                "in its \"Names used here\" table" % (self.name, k)
        out = []
        for b in self.blocks:
            text, user = b.text, b.user
            for k, v in subs.items():
                text = text.replace(k, v)
                user = v if user == k else user
            out.append(Block(b.lang, text, user, b.in_source, b.line,
                             b.section))
        return out


def source_tree(dest, uid, gid):
    """A copy of latch's source tree at dest, built as it is here (the
    programs and objects of LATCH_BUILD, times kept, so make has nothing
    to do), owned by uid:gid: what a user's checkout would be after
    make."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    bdir = os.environ.get("LATCH_BUILD") or "build"
    for rel in files:
        src = os.path.join(REPO, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)),
                        exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
    shutil.copytree(os.path.join(REPO, bdir), os.path.join(dest, bdir),
                    symlinks=True, ignore=shutil.ignore_patterns(
                        "fail2ban", "screenshots", "bench*"))
    for d, dirs, names in os.walk(dest):
        os.chown(d, uid, gid)
        for n in names:
            os.lchown(os.path.join(d, n), uid, gid)
