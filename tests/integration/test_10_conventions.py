"""
The contract's Conventions: routing (404/405), media type (415), body
size (413), strict JSON (400 invalid_json), field checks (400
invalid_field), where tokens may come from (401 missing_token).  The JSON
envelope, Content-Type, Cache-Control and the absence of secrets are
checked on every answer by lib.http().
"""

import json

from lib import (expect, expect_error, expect_login, http, profile,
                 register, verify)

_acct = []


def acct():
    """One account for this file, registered on first use."""
    if not _acct:
        _acct.append(register())
    return _acct[0]


def login_body(a, **extra):
    return dict({"identifier": a.username, "password": a.password}, **extra)


# ---------------------------------------------------------------- routing

def test_unknown_paths_are_404(stack):
    a = acct()
    expect_error(http("GET", "/nope"), 404, "not_found")
    expect_error(http("GET", "/auth"), 404, "not_found")
    expect_error(http("POST", "/auth/nope", {}), 404, "not_found")
    expect_error(http("GET", "/user/nope", token=a.access), 404, "not_found")
    expect_error(http("GET", "/health/extra"), 404, "not_found")


def test_wrong_method_is_405_with_allow(stack):
    a = acct()
    cases = [("GET", "/auth/login", None, {"POST"}),
             ("DELETE", "/health", None, {"GET"}),
             ("PUT", "/auth/refresh", {}, {"POST"}),
             ("PUT", "/user/profile", {}, {"GET", "PATCH"}),
             ("GET", "/user/password", None, {"POST"}),
             ("POST", "/auth/sessions", {}, {"GET"})]
    for method, path, body, allowed in cases:
        r = http(method, path, body, token=a.access)
        expect_error(r, 405, "method_not_allowed", msg=method + " " + path)
        allow = {m.strip().upper()
                 for m in (r.headers.get("Allow") or "").split(",")}
        assert allowed <= allow, "%s %s: Allow %r lacks %s" % (
            method, path, r.headers.get("Allow"), sorted(allowed))
        assert method not in allow, "%s %s: Allow %r names %s" % (
            method, path, r.headers.get("Allow"), method)


# ------------------------------------------------------------- media type

def test_non_json_content_type_is_415(stack):
    a = acct()
    raw = json.dumps(login_body(a))
    for ct in ("text/plain", "application/x-www-form-urlencoded",
               "application/jsonx", "text/json"):
        expect_error(http("POST", "/auth/login", raw=raw, content_type=ct),
                     415, "unsupported_media_type", msg=ct)
    expect_error(http("POST", "/auth/login", raw=raw, content_type=None),
                 415, "unsupported_media_type", msg="no Content-Type")


def test_json_with_charset_is_accepted(stack):
    a = acct()
    for ct in ("application/json; charset=utf-8",
               "application/json;charset=UTF-8"):
        r = http("POST", "/auth/login", raw=json.dumps(login_body(a)),
                 content_type=ct)
        expect_login(r, 200, username=a.username)


# ------------------------------------------------------------------- size

def test_body_over_max_body_is_413(stack):
    a = acct()
    body = '{"identifier":"%s","password":"%s","pad":"%s"}' % (
        a.username, a.password, "x" * 17000)
    expect_error(http("POST", "/auth/login", raw=body), 413,
                 "body_too_large")


def test_body_of_exactly_max_body_is_read(stack):
    a = acct()
    head = '{"identifier":"%s","password":"%s","pad":"' % (
        a.username, a.password)
    body = head + "x" * (16384 - len(head) - 2) + '"}'
    assert len(body) == 16384
    # Unknown fields are ignored, so this is an ordinary login.
    expect_login(http("POST", "/auth/login", raw=body), 200,
                 username=a.username)


# ------------------------------------------------------------ strict JSON

def test_an_empty_body_counts_as_an_empty_object(stack):
    # latch's choice (docs/api.md): no body at all is {}, so a POST that
    # only needs the Bearer header works with any client; required fields
    # are then missing.
    r = http("POST", "/auth/login", raw="")
    j = expect_error(r, 400, "invalid_field")
    assert j.get("field") == "identifier", j


def test_malformed_json_is_400_invalid_json(stack):
    a = acct()
    u, p = a.username, a.password
    good = '{"identifier":"%s","password":"%s"}' % (u, p)
    cases = {
        "single quotes": "{'identifier':'%s','password':'%s'}" % (u, p),
        "trailing garbage": good + " x",
        "two objects": good + '{"a":1}',
        "trailing comma": '{"identifier":"%s","password":"%s",}' % (u, p),
        "NUL inside a string": '{"identifier":"%s\x00","password":"%s"}'
                               % (u, p),
        "NUL after the object": good + "\x00",
        "unquoted key": '{identifier:"%s","password":"%s"}' % (u, p),
        "a JSON array": '["%s","%s"]' % (u, p),
        "a JSON string": '"%s"' % u,
        "null": "null",
        "a number": "42",
        "only spaces": "   ",
        "truncated": good[:-1],
        "comment": '{"identifier":"%s",/*c*/"password":"%s"}' % (u, p),
        "NaN": '{"identifier":"%s","password":"%s","x":NaN}' % (u, p),
        "raw control character": '{"identifier":"%s\t","password":"%s"}'
                                 % (u, p),
        "deeply nested": '{"identifier":"%s","password":"%s","x":%s%s}'
                         % (u, p, "[" * 5000, "]" * 5000),
        # A key twice: json-c would keep the last, another parser in
        # front of latch the first.  Refused, at any depth, also when
        # the two spellings only differ in their escapes.
        "duplicate key": '{"identifier":"x","identifier":"%s",'
                         '"password":"%s"}' % (u, p),
        "duplicate key, same value": '{"identifier":"%s","password":"%s",'
                                     '"password":"%s"}' % (u, p, p),
        "duplicate key, escaped": '{"identifier":"%s","password":"%s",'
                                  '"pass\\u0077ord":"%s"}' % (u, p, p),
        "duplicate nested key": '{"identifier":"%s","password":"%s",'
                                '"x":[{"a":1,"a":2}]}' % (u, p),
    }
    for what, raw in cases.items():
        expect_error(http("POST", "/auth/login", raw=raw), 400,
                     "invalid_json", msg=what)
    bad_utf8 = {
        "invalid UTF-8": b'{"identifier":"\xff\xfe","password":"x"}',
        "overlong UTF-8": b'{"identifier":"\xc0\xaf","password":"x"}',
        "UTF-16 surrogate as UTF-8":
            b'{"identifier":"\xed\xa0\x80","password":"x"}',
        "truncated UTF-8": b'{"identifier":"\xe2\x82","password":"x"}',
    }
    for what, raw in bad_utf8.items():
        expect_error(http("POST", "/auth/login", raw=raw), 400,
                     "invalid_json", msg=what)


def test_valid_json_variants_are_accepted(stack):
    a = acct()
    u, p = a.username, a.password
    # Whitespace around the object, escapes in strings, nested unknown
    # fields, and a UTF-8 BOM-free body with non-ASCII elsewhere.
    esc_u = "".join("\\u%04x" % ord(c) for c in u)
    cases = {
        "whitespace": ' \r\n\t{ "identifier" : "%s" , "password" : "%s" }'
                      ' \n' % (u, p),
        "\\u escapes": '{"identifier":"%s","password":"%s"}' % (esc_u, p),
        "unknown fields": '{"identifier":"%s","password":"%s",'
                          '"extra":{"a":[1,2,{"b":null}]},'
                          '"name":"Zo\u00eb \u65e5\u672c"}' % (u, p),
        # One key in different objects is no duplicate.
        "same key in nested objects": '{"identifier":"%s","password":"%s",'
                                      '"x":{"password":1,"y":{"password":'
                                      '2}},"z":[{"a":1},{"a":2}]}' % (u, p),
    }
    for what, raw in cases.items():
        r = http("POST", "/auth/login", raw=raw)
        assert r.status == 200, "%s: %s" % (what, r.describe())
        expect_login(r, 200, username=u)


# ----------------------------------------------------------------- fields

def test_wrong_field_types_are_invalid_field(stack):
    a = acct()
    u, p = a.username, a.password
    cases = [
        ({"identifier": 123, "password": p}, "identifier"),
        ({"identifier": [u], "password": p}, "identifier"),
        ({"identifier": None, "password": p}, "identifier"),
        ({"identifier": u, "password": 12345678}, "password"),
        ({"identifier": u, "password": {"a": p}}, "password"),
        ({"identifier": u, "password": p, "remember_me": "yes"},
         "remember_me"),
        ({"identifier": u, "password": p, "remember_me": 1}, "remember_me"),
        ({"password": p}, "identifier"),
        ({"identifier": u}, "password"),
    ]
    for body, field in cases:
        expect_error(http("POST", "/auth/login", body), 400,
                     "invalid_field", field=field, msg=repr(body))
    expect_error(http("POST", "/auth/refresh", {"refresh_token": 42}), 400,
                 "invalid_field", field="refresh_token")
    expect_error(http("PATCH", "/user/profile", {"name": 42},
                      token=a.access), 400, "invalid_field", field="name")
    expect_error(http("POST", "/auth/logout", {"all": "yes"},
                      token=a.access), 400, "invalid_field", field="all")
    # The token is still good: a refused request changed nothing.
    expect(profile(a.access), 200)


# ----------------------------------------------------------- token sources

def test_token_in_query_string_is_not_accepted(stack):
    a = acct()
    expect_error(http("GET", "/user/profile?access_token=" + a.access), 401,
                 "missing_token")
    expect_error(http("GET", "/user/profile?token=" + a.access), 401,
                 "missing_token")
    r = http("POST", "/auth/verify?token=" + a.access, {})
    expect_error(r, 401, "missing_token")
    assert r.json.get("valid") is False, r.describe()


def test_missing_or_non_bearer_authorization_is_missing_token(stack):
    a = acct()
    expect_error(http("GET", "/user/profile"), 401, "missing_token")
    for auth in ("Basic dXNlcjpwYXNzd29yZA==", "Token " + a.access,
                 a.access, "Bearer"):
        expect_error(http("GET", "/user/profile",
                          headers={"Authorization": auth}),
                     401, "missing_token", msg="Authorization: " + auth[:20])
    expect_error(http("POST", "/auth/logout", {}), 401, "missing_token")
    expect_error(http("GET", "/auth/sessions"), 401, "missing_token")
    expect_error(http("POST", "/user/password",
                      {"current_password": a.password,
                       "new_password": a.password + "x"}),
                 401, "missing_token")
    # Positive control: the same token in the header works.
    expect(http("GET", "/user/profile", token=a.access), 200)
    expect(verify(bearer=a.access), 200)
