"""
openapi.py: docs/openapi.json as the integration suite checks it.

check(method, path, status, body) finds the operation of the document
that a request names (its path matched against the templates, "{id}" a
positive id as fcgi/router.c takes it), and validates the answer against
that operation's response for the status with python3-jsonschema
(draft 2020-12).  An undocumented status, a member the schema does not
list (every object schema says "additionalProperties": false), an error
code outside the response's enum: each is an AssertionError that says
what to add to docs/openapi.json, and where.  A path no template matches
must be 404 not_found, a method the path does not have 405
method_not_allowed (components.responses.NotFound, MethodNotAllowed), as
the router answers them.

lib.http() calls check() for every answer it receives under the base
path; test_84_openapi checks the document against fcgi/router.c.
"""

import json
import os
import re

import jsonschema  # python3-jsonschema

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DOC_PATH = os.path.join(REPO, "docs", "openapi.json")
HOWTO = "see README.md, \"Contributing\": adding a route to " \
    "docs/openapi.json"

_doc = None
_ops = None
_validators = {}


def doc():
    global _doc
    if _doc is None:
        with open(DOC_PATH, encoding="utf-8") as f:
            _doc = json.load(f)
    return _doc


def _template_re(template):
    parts = []
    for seg in template.split("/")[1:]:
        if seg == "{id}":
            parts.append(r"[1-9][0-9]{0,17}")
        elif "{" in seg:
            raise AssertionError("docs/openapi.json: path %s: only {id} is "
                                 "a parameter the router knows" % template)
        else:
            parts.append(re.escape(seg))
    return re.compile("^/" + "/".join(parts) + "$")


def operations():
    """[(template, regex, {METHOD: operation})] of the document."""
    global _ops
    if _ops is None:
        _ops = []
        for template, item in doc()["paths"].items():
            ops = {m.upper(): op for m, op in item.items()
                   if m in ("get", "post", "put", "patch", "delete")}
            _ops.append((template, _template_re(template), ops))
    return _ops


def _validator(schema):
    key = json.dumps(schema, sort_keys=True)
    v = _validators.get(key)
    if v is None:
        resolver = jsonschema.RefResolver.from_schema(doc())
        v = jsonschema.Draft202012Validator(schema, resolver=resolver)
        _validators[key] = v
    return v


def _validate(schema, body, where):
    errors = sorted(_validator(schema).iter_errors(body),
                    key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for e in errors[:5]:
            at = "/".join(str(p) for p in e.absolute_path) or "(the body)"
            lines.append("  at %s: %s" % (at, e.message[:300]))
        raise AssertionError(
            "the answer does not match docs/openapi.json %s:\n%s\n"
            "If the code is right, change the schema there (%s)." % (
                where, "\n".join(lines), HOWTO))


def _component(name):
    return doc()["components"]["responses"][name]["content"][
        "application/json"]["schema"]


def check(method, path, status, body, describe=""):
    """Validate one answer; path is the API path (base path stripped),
    with or without a query."""
    path = path.split("?", 1)[0]
    matched = [(t, ops) for t, rx, ops in operations() if rx.match(path)]
    if not matched:
        assert status == 404, "%s %s: no path of docs/openapi.json " \
            "matches, so the answer should be 404 not_found, not %d.\n" \
            "A new route? Add paths[\"%s\"] to docs/openapi.json (%s).\n%s" \
            % (method, path, status, path, HOWTO, describe)
        _validate(_component("NotFound"), body,
                  "(components.responses.NotFound)")
        return
    ops = {}
    for t, o in matched:
        for m, op in o.items():
            ops.setdefault(m, (t, op))
    if method not in ops:
        assert status == 405, "%s %s: docs/openapi.json has no %s for " \
            "this path (only %s), so the answer should be 405, not %d.\n" \
            "A new route? Add paths[\"%s\"].%s to docs/openapi.json " \
            "(%s).\n%s" % (method, path, method, ", ".join(sorted(ops)),
                           status, matched[0][0], method.lower(), HOWTO,
                           describe)
        _validate(_component("MethodNotAllowed"), body,
                  "(components.responses.MethodNotAllowed)")
        return
    template, op = ops[method]
    where = "paths[\"%s\"].%s.responses[\"%d\"]" % (
        template, method.lower(), status)
    resp = op.get("responses", {}).get(str(status))
    assert resp is not None, "%s %s answered %d, which docs/openapi.json " \
        "does not list: add %s (%s), or fix the code.\n%s" % (
            method, path, status, where, HOWTO, describe)
    content = resp.get("content", {})
    if body is None and "application/json" not in content:
        # An answer in the media type listed instead (GET /metrics: text,
        # which lib.http() leaves unparsed).
        assert content, "docs/openapi.json %s has no content" % where
        return
    schema = content.get("application/json", {}).get("schema")
    assert schema is not None, "docs/openapi.json %s has no " \
        "content.application/json.schema" % where
    _validate(schema, body, where + ".content.application/json.schema")
