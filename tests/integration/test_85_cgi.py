"""
Plain CGI: build/latchd started by a web server for one request, the
request in the environment and stdin, the answer on stdout.  Also shows
that routing follows SCRIPT_NAME + PATH_INFO under any prefix.
"""

import json
import subprocess

from lib import check_response, register


def cgi(stack, method, script_name, path_info, body=None, query="",
        content_type="application/json", extra=None):
    env = {
        "PATH": "/usr/bin:/bin",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "latch-tests",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": method,
        "REQUEST_URI": script_name + path_info + ("?" + query if query
                                                  else ""),
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "LATCH_CONFIG": stack.config,
    }
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        env["CONTENT_TYPE"] = content_type
        env["CONTENT_LENGTH"] = str(len(data))
    env.update(extra or {})
    r = subprocess.run([stack.latchd_bin], env=env, input=data,
                       capture_output=True, timeout=60, cwd=stack.dir)
    out = r.stdout
    assert r.returncode == 0, "latchd as CGI exited %d: %r %s" % (
        r.returncode, out[:500], r.stderr.decode("utf-8", "replace"))
    sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
    assert sep in out, "no CGI header block: %r" % out[:500]
    head, body = out.split(sep, 1)
    headers = {}
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "200").split()[0])
    return status, headers, body


class _Resp:
    """Enough of lib.Resp for check_response()."""

    def __init__(self, status, headers, body):
        self.status = status
        self.reason = ""
        self.body = body
        self.json = json.loads(body.decode("utf-8"))
        self.req = "CGI"
        self.headers = _H(headers)

    def describe(self):
        return "CGI -> %d %r" % (self.status, self.body[:500])


class _H(dict):
    def get(self, k, d=None):
        return dict.get(self, k.lower(), d)


def test_cgi_health(stack):
    status, headers, body = cgi(stack, "GET", "/api", "/health")
    assert "status" in headers, "no Status header: %r" % headers
    assert status == 200, "status %d: %r" % (status, body)
    j = json.loads(body)
    assert j.get("status") == "ok" and j.get("database") == "ok", j
    check_response(_Resp(status, headers, body))


def test_cgi_under_another_prefix(stack):
    status, headers, body = cgi(stack, "GET", "/~user/auth/api", "/health")
    assert status == 200, "status %d: %r" % (status, body)
    check_response(_Resp(status, headers, body))
    status, headers, body = cgi(stack, "GET", "/~user/auth/api", "/nope")
    assert status == 404, "status %d: %r" % (status, body)
    r = _Resp(status, headers, body)
    check_response(r)
    assert r.json.get("error") == "not_found", r.json


def test_cgi_login_reads_the_body(stack):
    a = register()
    status, headers, body = cgi(stack, "POST", "/api", "/auth/login",
                                {"identifier": a.username,
                                 "password": a.password})
    r = _Resp(status, headers, body)
    check_response(r)
    assert status == 200, "status %d: %r" % (status, body)
    assert r.json["user"]["id"] == a.id, r.json
    status, headers, body = cgi(stack, "POST", "/api", "/auth/login",
                                {"identifier": a.username,
                                 "password": a.password},
                                content_type="text/plain")
    assert status == 415, "status %d: %r" % (status, body)
