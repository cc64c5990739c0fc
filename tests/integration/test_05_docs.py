"""
The reference says what the code does: docs/api.md's error table is
fcgi/resp.c's, its endpoint table is fcgi/router.c's (methods, paths,
roles), the routes it lists under the per-address budget are those
flagged ROUTE_LIMIT_IP, its audit events are core/audit.c's; README's
configuration table names every key of core/conf.c.  Read from the
sources, so a change on one side alone fails here.
"""

import os
import re

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8") as f:
        return f.read()


def section(text, heading):
    """The text under a markdown heading, up to the next heading of the
    same or a higher level."""
    level = heading.split(" ", 1)[0]
    m = re.search(r"^%s$" % re.escape(heading), text, re.M)
    assert m, "no %r heading" % heading
    rest = text[m.end():]
    end = re.search(r"^#{1,%d} " % len(level), rest, re.M)
    return rest[:end.start()] if end else rest


def table_rows(text):
    """The cells of the body rows of the markdown tables in text."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or re.match(r"^\|[-| ]+\|$", line):
            continue
        cells = [c.strip() for c in
                 re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        rows.append(cells)
    return rows


def c_strings(s):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', s)


def test_error_table_is_resp_c(stack):
    src = read("fcgi/resp.c")
    block = src[src.index("errs[ERR__MAX] = {"):]
    block = block[:block.index("\n};")]
    code = set()
    for name, status, body in re.findall(
            r"\[(ERR_\w+)\]\s*=\s*\{\s*(\d+),(.*?)\},", block, re.S):
        if name == "ERR_OK":
            continue
        s = c_strings(body)
        code.add((s[0], "".join(s[1:]), int(status)))
    docs = set()
    for cells in table_rows(section(read("docs/api.md"),
                                    "### Error codes")):
        if cells[0] == "code":
            continue
        docs.add((cells[0].strip("`"), cells[1], int(cells[2])))
    assert docs == code, "docs/api.md's error table and fcgi/resp.c " \
        "differ:\n  only in the docs: %r\n  only in resp.c: %r" % (
            sorted(docs - code), sorted(code - docs))


ROLES = {"AUTH_NONE": "", "AUTH_USER": "Bearer",
         "AUTH_ADMIN": "Bearer, admin", "AUTH_SUPER": "Bearer, superadmin"}


def router_routes():
    """{(method, path): (auth, flags)} of fcgi/router.c."""
    out = {}
    for m, p, auth, flags in re.findall(
            r'\{\s*"(\w+)",\s*"([^"]+)",\s*\w+,\s*(AUTH_\w+),\s*'
            r'([\w| ]+?)\s*\}', read("fcgi/router.c")):
        out[(m, p)] = (ROLES[auth], flags)
    assert len(out) > 30, out
    return out


def test_endpoint_table_is_the_router(stack):
    docs = {}
    for cells in table_rows(section(read("docs/api.md"), "## Endpoints")):
        m = re.match(r"^`(\w+) (/[^`?]*)(?:\?[^`]*)?`$", cells[0])
        if not m or len(cells) != 3:
            continue
        auth = cells[1] if cells[1].startswith("Bearer") else ""
        docs[(m.group(1), m.group(2))] = auth
    code = {k: v[0] for k, v in router_routes().items()}
    assert docs == code, "docs/api.md's endpoint table and fcgi/router.c " \
        "differ:\n  docs: %r\n  router: %r" % (
            sorted(set(docs.items()) - set(code.items())),
            sorted(set(code.items()) - set(docs.items())))


def test_ip_budget_routes_are_the_flagged_ones(stack):
    text = section(read("docs/api.md"), "### Rate limits")
    m = re.search(r"^- \*\*Per client address\*\*(.*?)(?=^- |\Z)", text,
                  re.M | re.S)
    assert m, "no per-address budget under Rate limits"
    docs = set(re.findall(r"`(GET|POST|PATCH|DELETE) (/[^`?]*)[^`]*`",
                          m.group(1)))
    code = {k for k, v in router_routes().items()
            if "ROUTE_LIMIT_IP" in v[1]}
    assert docs == code, (sorted(docs), sorted(code))


def test_audit_events_are_audit_c(stack):
    src = read("core/audit.c")
    code = set(re.findall(r'\[AUDIT_\w+\]\s*=\s*"([\w.]+)"', src))
    docs = {c[0].strip("`") for c in table_rows(
        section(read("docs/api.md"), "### Audit log"))
        if c[0].startswith("`")}
    assert docs == code, (sorted(docs - code), sorted(code - docs))


def test_readme_config_table_has_every_key(stack):
    src = read("core/conf.c")
    block = src[src.index("keys[] = {"):]
    block = block[:block.index("\n};")]
    code = set(re.findall(r'"(server|database|security|mail|limits)",\s*'
                          r'"(\w+)"', block))
    docs = set()
    for cells in table_rows(section(read("README.md"), "## Configuration")):
        m = re.match(r"^`\[(\w+)\]`$", cells[0])
        if m:
            docs |= {(m.group(1), k) for k in
                     re.findall(r"`(\w+)`", cells[1])}
    assert docs == code, "README's configuration table and core/conf.c " \
        "differ:\n  only in README: %r\n  only in conf.c: %r" % (
            sorted(docs - code), sorted(code - docs))


def resp_c_statuses():
    """{code: {status, ...}} of fcgi/resp.c's error table."""
    src = read("fcgi/resp.c")
    block = src[src.index("errs[ERR__MAX] = {"):]
    block = block[:block.index("\n};")]
    out = {}
    for name, status, body in re.findall(
            r"\[(ERR_\w+)\]\s*=\s*\{\s*(\d+),(.*?)\},", block, re.S):
        if name != "ERR_OK":
            out.setdefault(c_strings(body)[0], set()).add(int(status))
    return out


DOCS = ("docs/api.md", "README.md")


def test_every_status_and_code_named_is_resp_c(stack):
    """Wherever the docs write "`401 token_expired`", latch answers that
    code with that status: no stale or made-up code survives an edit."""
    table = resp_c_statuses()
    wrong = []
    for rel in DOCS:
        for n, line in enumerate(read(rel).splitlines(), 1):
            for status, code in re.findall(r"`(\d{3}) ([a-z][a-z_]*)`",
                                           line):
                if int(status) not in table.get(code, ()):
                    wrong.append("%s:%d: `%s %s` (fcgi/resp.c: %s)" % (
                        rel, n, status, code,
                        sorted(table[code]) if code in table else
                        "no such code"))
    assert not wrong, "the docs name answers latch does not give:\n  " + \
        "\n  ".join(wrong)


def conf_keys():
    src = read("core/conf.c")
    block = src[src.index("keys[] = {"):]
    block = block[:block.index("\n};")]
    return set(re.findall(r'"(server|database|security|mail|limits)",\s*'
                          r'"(\w+)"', block))


def test_every_config_key_named_exists(stack):
    """"`[section] key`" in the docs, and "key =" in the example config,
    name keys of core/conf.c; the example has a line for every key."""
    keys = conf_keys()
    wrong = []
    for rel in DOCS:
        for n, line in enumerate(read(rel).splitlines(), 1):
            for sec, k in re.findall(r"`\[(\w+)\] (\w+)`", line):
                if (sec, k) not in keys:
                    wrong.append("%s:%d: [%s] %s" % (rel, n, sec, k))
    example, sec = set(), None
    for line in read("conf/latch.ini.example").splitlines():
        m = re.match(r"^\[(\w+)\]\s*$", line)
        if m:
            sec = m.group(1)
        m = re.match(r"^;?\s*(\w+)\s*=", line)
        if m and sec and not line.startswith(";"):
            example.add((sec, m.group(1)))
    wrong += ["conf/latch.ini.example: [%s] %s is no key" % k
              for k in sorted(example - keys)]
    wrong += ["conf/latch.ini.example: no line for [%s] %s" % k
              for k in sorted(keys - example)]
    assert not wrong, "config keys that do not exist, or are missing:\n" \
        "  " + "\n  ".join(wrong)


def test_every_route_has_its_section(stack):
    """docs/api.md has a "### METHOD /path" section for every route of
    fcgi/router.c, and no section for a route that is not there."""
    heads = set()
    for h in re.findall(r"^### (.+)$", section(read("docs/api.md"),
                                                 "## Endpoints"), re.M):
        heads |= set(re.findall(r"\b(GET|POST|PATCH|DELETE|PUT) "
                                r"(/[^\s?`]*)", h))
    code = set(router_routes())
    assert heads == code, "docs/api.md's endpoint sections and " \
        "fcgi/router.c differ:\n  no section: %r\n  no route: %r" % (
            sorted(code - heads), sorted(heads - code))
