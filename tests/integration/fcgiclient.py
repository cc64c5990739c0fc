"""
fcgiclient.py: a minimal FastCGI client for the scenarios that talk to
latchd's socket directly, without a web server (the AUTHORIZER role).

call(socket_path, params, role=AUTHORIZER) sends one request and returns
(status, headers, body): headers a list of (name, value) in order.
request() makes the parameters of an API request, as lighttpd would.
"""

import json
import socket
import struct

RESPONDER = 1
AUTHORIZER = 2

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7


def _record(rtype, content, rid=1):
    pad = -len(content) % 8
    return struct.pack("!BBHHBB", 1, rtype, rid, len(content), pad, 0) + \
        content + b"\0" * pad


def _length(n):
    return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)


def _params(params):
    out = b""
    for k, v in params.items():
        k = k.encode("latin-1") if isinstance(k, str) else k
        v = v.encode("latin-1") if isinstance(v, str) else v
        out += _length(len(k)) + _length(len(v)) + k + v
    return out


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("FastCGI connection closed")
        buf += chunk
    return buf


def call(path, params, role=AUTHORIZER, stdin=b"", timeout=30):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        msg = _record(BEGIN_REQUEST, struct.pack("!HB5x", role, 0))
        p = _params(params)
        for i in range(0, len(p), 65535):
            msg += _record(PARAMS, p[i:i + 65535])
        msg += _record(PARAMS, b"")
        if stdin:
            msg += _record(STDIN, stdin)
        msg += _record(STDIN, b"")
        s.sendall(msg)
        out = b""
        while True:
            _, rtype, _, clen, plen, _ = struct.unpack(
                "!BBHHBB", _recv_exact(s, 8))
            content = _recv_exact(s, clen + plen)[:clen]
            if rtype == STDOUT:
                out += content
            elif rtype == END_REQUEST:
                break
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    headers = []
    status = 200
    for line in head.decode("latin-1").split("\r\n"):
        if not line:
            continue
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
        if k.strip().lower() == "status":
            status = int(v.split()[0])
    return status, headers, body


def request(path, method, uri, body=None, token=None, ip="127.0.0.1",
            role=RESPONDER, headers=None, timeout=30):
    """One API request (uri with the base path, "/api/health") to the
    socket at path from client address ip, as a web server sends it over
    HTTPS: body a dict sent as JSON, token a Bearer token, headers more
    parameters.  Returns call()'s (status, headers, body)."""
    params = {"REQUEST_METHOD": method, "REQUEST_URI": uri,
              "SCRIPT_NAME": "", "SERVER_PROTOCOL": "HTTP/1.1",
              "REMOTE_ADDR": ip, "HTTPS": "on"}
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        params["CONTENT_TYPE"] = "application/json"
        params["CONTENT_LENGTH"] = str(len(data))
    if token is not None:
        params["HTTP_AUTHORIZATION"] = "Bearer " + token
    params.update(headers or {})
    return call(path, params, role=role, stdin=data, timeout=timeout)
