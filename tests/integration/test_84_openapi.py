"""
docs/openapi.json cannot drift from the code: its (method, path) pairs
are fcgi/router.c's table; each operation's security, parameters and
error responses follow the route's flags (Bearer, admin scope, the
per-address budget, a body); every error code it names has the status
fcgi/resp.c gives it, and every code of resp.c is named; latchd serves
the file itself at GET /openapi.json.  And the checker that lib.http()
runs on every answer of the suite (openapi.py) refuses what it must.
"""

import jsonschema

import openapi
from lib import expect, http
from test_05_docs import resp_c_statuses, router_routes

BEARER_CODES = {"missing_token", "invalid_token", "token_expired",
                "session_revoked"}
BODY_CODES = {"invalid_json", "body_too_large", "unsupported_media_type"}


def doc_ops():
    """{(METHOD, path): operation} of docs/openapi.json."""
    out = {}
    for path, item in openapi.doc()["paths"].items():
        for m, op in item.items():
            out[(m.upper(), path)] = op
    return out


def error_codes(resp):
    """The error codes a response's schema allows (its enum)."""
    schema = resp.get("content", {}).get("application/json", {}).get(
        "schema", {})
    return set(schema.get("properties", {}).get("error", {}).get("enum",
                                                                 []))


def test_paths_are_the_router(stack):
    code = set(router_routes())
    docs = set(doc_ops())
    missing = sorted(code - docs)
    extra = sorted(docs - code)
    assert not missing and not extra, (
        "docs/openapi.json and fcgi/router.c differ.\n"
        "  routes without an operation: %s\n"
        "  operations without a route: %s\n"
        "For each route, add paths[\"<path>\"].<method> to docs/openapi.json "
        "(README.md, \"Contributing\", says what it needs); remove an "
        "operation whose route is gone." % (
            ", ".join("%s %s" % k for k in missing) or "none",
            ", ".join("%s %s" % k for k in extra) or "none"))


def test_operations_follow_the_route_flags(stack):
    ops = doc_ops()
    ids = set()
    problems = []
    for (m, p), (auth, flags) in router_routes().items():
        op = ops.get((m, p))
        if op is None:
            continue  # test_paths_are_the_router says so
        where = "paths[\"%s\"].%s" % (p, m.lower())
        if not op.get("operationId") or op["operationId"] in ids:
            problems.append("%s: a unique operationId" % where)
        ids.add(op.get("operationId"))
        if not op.get("summary"):
            problems.append("%s: a summary" % where)
        responses = op.get("responses", {})
        if not any(s.startswith("2") for s in responses):
            problems.append("%s: a 2xx response" % where)
        for s, r in responses.items():
            media = r.get("content", {})
            if s not in ("204", "302") and not any(
                    "schema" in v for v in media.values()):
                problems.append("%s.responses[\"%s\"]: content."
                                "application/json.schema (or the media "
                                "type it answers)" % (where, s))
        codes = set()
        for s, r in responses.items():
            if not s.startswith("2"):
                codes |= error_codes(r)
        sec = op.get("security")
        if auth:
            if not sec or {"bearer": []} not in sec:
                problems.append("%s: security [{\"bearer\": []}, "
                                "{\"cookie\": []}] (the route needs a "
                                "sign-in)" % where)
            if not BEARER_CODES <= error_codes(responses.get("401", {
                    "content": {"application/json": {"schema": {}}}})):
                problems.append("%s: responses[\"401\"] with the codes %s"
                                % (where, sorted(BEARER_CODES)))
        elif sec != []:
            problems.append("%s: security [] (a public route)" % where)
        if "admin" in auth or "superadmin" in auth:
            if "forbidden" not in codes:
                problems.append("%s: 403 forbidden" % where)
        if auth == "Bearer, admin":
            names = {q["name"] for q in op.get("parameters", [])
                     if q.get("in") == "query"}
            if "organization_id" not in names:
                problems.append("%s: the query parameter organization_id "
                                "(an admin route's scope)" % where)
        if "{id}" in p and not any(q.get("in") == "path" and
                                   q.get("name") == "id"
                                   for q in op.get("parameters", [])):
            problems.append("%s: the path parameter id" % where)
        if "ROUTE_LIMIT_IP" in flags and "too_many_requests" not in codes:
            problems.append("%s: 429 too_many_requests (ROUTE_LIMIT_IP)"
                            % where)
        if m in ("POST", "PATCH", "DELETE"):
            if not BODY_CODES <= codes:
                problems.append("%s: the body errors %s" % (
                    where, sorted(BODY_CODES)))
        for s in ("500", "503"):
            if s not in responses:
                problems.append("%s: responses[\"%s\"]" % (where, s))
    assert not problems, "docs/openapi.json needs:\n  " + \
        "\n  ".join(problems)


def test_error_codes_are_resp_c(stack):
    table = resp_c_statuses()
    named = set()
    problems = []
    for (m, p), op in doc_ops().items():
        for s, r in op.get("responses", {}).items():
            for c in error_codes(r):
                named.add(c)
                if c not in table:
                    problems.append("%s %s %s: %r is no code of "
                                    "fcgi/resp.c" % (m, p, s, c))
                elif int(s) not in table[c]:
                    problems.append("%s %s: %r is %s in fcgi/resp.c, not "
                                    "%s" % (m, p, c, sorted(table[c]), s))
    shared = set(openapi.doc()["components"]["schemas"]["ErrorCode"]["enum"])
    if shared != set(table):
        problems.append("components.schemas.ErrorCode: %s, fcgi/resp.c: %s"
                        % (sorted(shared - set(table)),
                           sorted(set(table) - shared)))
    for name in ("NotFound", "MethodNotAllowed"):
        named |= error_codes(openapi.doc()["components"]["responses"][name])
    unnamed = sorted(set(table) - named)
    assert not problems and not unnamed, "docs/openapi.json:\n  %s\n" \
        "  codes of fcgi/resp.c no response names: %s" % (
            "\n  ".join(problems), unnamed)


def test_the_document_is_well_formed(stack):
    d = openapi.doc()
    assert d["openapi"] == "3.1.0"
    assert d["jsonSchemaDialect"] == \
        "https://json-schema.org/draft/2020-12/schema"
    # Every schema is a valid 2020-12 schema, and every $ref resolves.
    for name, s in d["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(s)
    resolver = jsonschema.RefResolver.from_schema(d)

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "$ref":
                    resolver.resolve(v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(d)


def test_served_document_is_the_file(stack):
    r = http("GET", "/openapi.json")
    expect(r, 200)
    assert r.json == openapi.doc(), "GET /openapi.json is not " \
        "docs/openapi.json: rebuild latchd (make)"
    assert r.headers.get("Access-Control-Allow-Origin") == "*"


def test_the_checker_refuses(stack):
    """The checker lib.http() applies can fail: an undocumented status,
    member or error code, a route the document lacks."""
    good = {"success": True, "message": "ok", "status": "ok",
            "database": "ok"}
    openapi.check("GET", "/health", 200, good)
    bad = [
        ("GET", "/health", 200, dict(good, uptime=5), "properties are not allowed"),
        ("GET", "/health", 418, good, "does not list"),
        ("GET", "/health", 200, dict(good, database=1), "ok"),
        ("GET", "/users", 200, {"success": True, "message": "Users",
                                "users": []}, "total"),
        ("POST", "/auth/login", 401, {"success": False, "error":
                                      "forbidden", "message": "x"},
         "forbidden"),
        ("GET", "/no/such/route", 200, good, "no path"),
        ("PUT", "/health", 200, good, "no PUT"),
    ]
    for m, p, s, body, want in bad:
        try:
            openapi.check(m, p, s, body)
        except AssertionError as e:
            assert want in str(e), (m, p, s, str(e))
            continue
        raise AssertionError("the checker accepted %s %s %d %r" % (
            m, p, s, body))
