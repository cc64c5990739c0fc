"""
EdDSA tokens and the JWKS: an installation switched from HS256 with
"latchctl rotate-key" (the next key published before it signs, HS256
tokens accepted during the switch), tokens verified offline by two
independent implementations from the JWKS URL alone (PyJWT's
PyJWKClient, jwcrypto), alg confusion refused (HS256 keyed with the
public key, alg none, an unknown kid, a forged signature), a rotation
with a token of the old key still valid and gone from the JWKS after it
expired, the discovery document, and the key files' mode checks.

Runs on the shared stack and puts it back to HS256 in teardown().
"""

import base64
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import jwt  # python3-jwt (PyJWT), with python3-cryptography
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey
from jwcrypto import jwk as jwcrypto_jwk  # python3-jwcrypto
from jwcrypto import jwt as jwcrypto_jwt

import fcgiclient
import lib
import stack as stackmod
import webservers as ws
from lib import expect, expect_error, http, login_ok, register, verify

KEYS = ("jwt_alg", "jwt_key", "jwt_key_next", "jwt_key_previous",
        "jwt_previous_until")
_saved = {}


def security():
    return lib.STACK.config_values()["security"]


def jwks():
    r = http("GET", "/.well-known/jwks.json")
    expect(r, 200)
    return r.json


def kids():
    return [k["kid"] for k in jwks()["keys"]]


def header(token):
    seg = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


def rotate(stack):
    r = stack.latchctl("rotate-key")
    assert r.returncode == 0, "latchctl rotate-key: %d %s%s" % (
        r.returncode, r.stdout, r.stderr)
    stack.sighup(wait=True)
    return r


def ensure_eddsa(stack):
    """Switch the stack to EdDSA as test_switch_to_eddsa does, unless it
    is already: each scenario can also run alone (tests/mutants.py runs
    only those an entry names)."""
    for k in KEYS:
        _saved.setdefault(k, security().get(k, ""))
    if security().get("jwt_alg") == "EdDSA":
        return
    rotate(stack)
    rotate(stack)
    stack.reload({"security.jwt_previous_until": "2000-01-01T00:00:00Z"})


def authz(stack, token):
    """The AUTHORIZER role, straight to latchd's socket: its status."""
    params = {"REQUEST_METHOD": "GET",
              "REQUEST_URI": "/guarded/x", "SCRIPT_NAME": "/guarded/x",
              "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
              "HTTP_AUTHORIZATION": "Bearer " + token}
    status, _, _ = fcgiclient.call(stack.latchd_socket, params)
    return status


def offline_pyjwt(stack, token):
    """PyJWT, given only the JWKS URL."""
    client = jwt.PyJWKClient(stack.url("/.well-known/jwks.json"),
                             cache_keys=False)
    key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["EdDSA"],
                      issuer=lib.ISSUER)


def offline_jwcrypto(stack, token):
    """jwcrypto, given only the JWKS URL."""
    with urllib.request.urlopen(stack.url("/.well-known/jwks.json"),
                                timeout=30) as f:
        keyset = jwcrypto_jwk.JWKSet.from_json(f.read().decode())
    t = jwcrypto_jwt.JWT(jwt=token, key=keyset, algs=["EdDSA"],
                         check_claims={"iss": lib.ISSUER, "exp": None})
    return json.loads(t.claims)


def refused_offline(stack, token):
    for fn in (offline_pyjwt, offline_jwcrypto):
        try:
            fn(stack, token)
        except Exception:
            continue
        raise AssertionError("%s accepted %r" % (fn.__name__, token))


def test_hs256_publishes_no_key(stack):
    """The default: HS256, whose secret is never published."""
    for k in KEYS:
        _saved.setdefault(k, security().get(k, ""))
    assert security().get("jwt_alg", "HS256") == "HS256"
    r = http("GET", "/.well-known/jwks.json")
    expect(r, 200)
    assert r.json == {"keys": []}, r.describe()
    cc = r.headers.get("Cache-Control") or ""
    assert "public" in cc and "max-age=300" in cc, cc
    assert lib.SECRET not in r.body.decode()
    r = http("GET", "/.well-known/openid-configuration")
    expect(r, 200)
    assert r.json["issuer"] == lib.ISSUER, r.describe()
    assert r.json["jwks_uri"] == stack.url("/.well-known/jwks.json"), \
        r.describe()
    assert r.json["id_token_signing_alg_values_supported"] == ["HS256"]
    # The Host, as the web server passed it, only if fit for a URL.
    for host, want in (("auth.example.org", 200), ("a.example:8443", 200),
                       ("[::1]:8443", 200), ("a_b.example", 400),
                       ("a.example/x", 400), ("", 400)):
        status, _, body = fcgiclient.call(stack.latchd_socket, {
            "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_URI": stack.path("/.well-known/openid-configuration"),
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": host, "HTTPS": "on"},
            role=fcgiclient.RESPONDER)
        j = json.loads(body.decode())
        assert status == want, (host, status, j)
        if want == 200:
            assert j["jwks_uri"] == "https://%s%s" % (host, stack.path(
                "/.well-known/jwks.json")), j
        else:
            assert j["error"] == "invalid_field" and j["field"] == "Host", j


def test_switch_to_eddsa(stack):
    """rotate-key twice: the first publishes the key, the second signs
    with it; HS256 tokens stay good during the switch."""
    for k in KEYS:
        _saved.setdefault(k, security().get(k, ""))
    a = register()
    old = a.access
    assert header(old)["alg"] == "HS256"

    r = rotate(stack)
    assert "published" in r.stdout, r.stdout
    published = kids()
    assert len(published) == 1, published
    b = login_ok(a)
    assert header(b.access)["alg"] == "HS256", \
        "signs with the next key before a second rotate-key"

    rotate(stack)
    assert security()["jwt_alg"] == "EdDSA"
    assert security()["jwt_key_previous"] == ""
    c = login_ok(a)
    h = header(c.access)
    assert h == {"alg": "EdDSA", "typ": "JWT", "kid": published[0]}, h
    assert published[0] in kids(), "the signing key was published first"
    assert len(kids()) == 2, "and its successor is: %r" % kids()
    for t in (old, b.access, c.access):
        lib.expect_token_works(t, "token across the switch")
        assert authz(stack, t) == 200, "the authorizer refused %s" % t
    # offline, from the JWKS URL alone
    for fn in (offline_pyjwt, offline_jwcrypto):
        claims = fn(stack, c.access)
        assert claims["sub"] == str(a.id) and claims["iss"] == lib.ISSUER, \
            (fn.__name__, claims)
    refused_offline(stack, old)

    # The kid is the RFC 7638 thumbprint of the published key.
    for k in jwks()["keys"]:
        assert set(k) == {"kty", "crv", "x", "kid", "alg", "use"}, k
        assert (k["kty"], k["crv"], k["alg"], k["use"]) == \
            ("OKP", "Ed25519", "EdDSA", "sig"), k
        assert "d" not in k
        assert jwcrypto_jwk.JWK(**k).thumbprint() == k["kid"], k

    # Once the switch is over, HS256 is refused, whoever signed it.
    stack.reload({"security.jwt_previous_until": "2000-01-01T00:00:00Z"})
    expect_error(verify(old), 401, "invalid_token")
    assert authz(stack, old) == 401
    lib.expect_token_works(c.access, "EdDSA token after the switch")


def forge(claims, key, alg, headers=None):
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def test_alg_confusion_refused(stack):
    ensure_eddsa(stack)
    a = register()
    a = login_ok(a)
    good = a.access
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = header(good)["kid"]
    pub = [k for k in jwks()["keys"] if k["kid"] == kid][0]
    raw = base64.urlsafe_b64decode(pub["x"] + "=")
    pem = jwcrypto_jwk.JWK(**pub).export_to_pem()
    hs = jwt.api_jws.PyJWS()
    hs._algorithms["HS256"].prepare_key = lambda k: k  # allow PEM keys
    attempts = {
        "HS256 keyed with the raw public key": hs.encode(
            json.dumps(claims).encode(), raw, algorithm="HS256",
            headers={"kid": kid}),
        "HS256 keyed with the PEM public key": hs.encode(
            json.dumps(claims).encode(), pem, algorithm="HS256",
            headers={"kid": kid}),
        "HS256 keyed with the x string": hs.encode(
            json.dumps(claims).encode(), pub["x"].encode(),
            algorithm="HS256", headers={"kid": kid}),
        "alg none": forge(claims, None, "none", {"kid": kid}),
        "alg none without kid": forge(claims, None, "none"),
    }
    other = Ed25519PrivateKey.generate()
    attempts["EdDSA with an unknown kid"] = forge(
        claims, other, "EdDSA", {"kid": "x" * 43})
    attempts["EdDSA without kid"] = forge(claims, other, "EdDSA")
    attempts["EdDSA by another key under latch's kid"] = forge(
        claims, other, "EdDSA", {"kid": kid})
    p = good.split(".")
    sig = bytearray(base64.urlsafe_b64decode(p[2] + "=="))
    sig[0] ^= 1
    attempts["a flipped signature bit"] = "%s.%s.%s" % (
        p[0], p[1], base64.urlsafe_b64encode(bytes(sig)).decode()
        .rstrip("="))
    for what, tok in attempts.items():
        r = verify(tok)
        expect_error(r, 401, "invalid_token", msg=what)
        expect_error(lib.profile(tok), 401, "invalid_token", msg=what)
        assert authz(stack, tok) == 401, what
        refused_offline(stack, tok)
    lib.expect_token_works(good)


def test_rotation_keeps_old_tokens_until_they_expire(stack):
    """A second rotation: the old key verifies and is published until
    its last token expired (access_ttl 30, leeway 0), then is gone."""
    ensure_eddsa(stack)
    stack.reload({"security.access_ttl": "30", "security.leeway": "0",
                  "security.jwt_previous_until": ""})
    saved_ttl = lib.ACCESS_TTL
    lib.ACCESS_TTL = 30
    try:
        a = login_ok(register())
        old_kid = header(a.access)["kid"]
        before = kids()
        rotate(stack)
        now = kids()
        assert old_kid in now and len(now) == 3, (before, now)
        new_kid = header(login_ok(a).access)["kid"]
        assert new_kid != old_kid and new_kid in before, \
            "the new signing key was the published next one"
        lib.expect_token_works(a.access, "a token of the previous key")
        assert offline_pyjwt(stack, a.access)["sub"] == str(a.id)
        # A third rotation now would drop a key still needed.
        r = stack.latchctl("rotate-key")
        assert r.returncode == 1 and "still verifies" in r.stderr, r
        until = security()["jwt_previous_until"]
        end = time.mktime(time.strptime(until, "%Y-%m-%dT%H:%M:%SZ")) - \
            time.timezone
        assert end - time.time() <= 31, until

        lib.wait_for(lambda: time.time() > end + 1, 40,
                     "the previous key's tokens to expire")
        assert old_kid not in kids(), kids()
        assert len(kids()) == 2
        # Its key is gone with it: nothing can tell it from a forgery.
        expect_error(verify(a.access), 401, "invalid_token")
        refused_offline(stack, a.access)
    finally:
        lib.ACCESS_TTL = saved_ttl
        stack.reload({"security.access_ttl": "900", "security.leeway": "30"})


def latchd_t(stack):
    return subprocess.run([stack.latchd_bin, "-t", "-c", stack.config],
                          capture_output=True, text=True, timeout=60)


def test_key_files_are_checked(stack):
    ensure_eddsa(stack)
    key = security()["jwt_key"]
    st = os.stat(key)
    try:
        assert latchd_t(stack).returncode == 0
        for mode, why in ((0o644, "readable by others"),
                          (0o660, "writable by its group")):
            os.chmod(key, mode)
            r = latchd_t(stack)
            assert r.returncode != 0 and why in r.stderr and \
                "jwt_key" in r.stderr, (mode, r.stderr)
            assert "PRIVATE" not in r.stderr
        os.chmod(key, 0o600)
        with open(key, encoding="ascii") as f:
            pem = f.read()
        junk = key + ".junk"
        with open(junk, "w") as f:
            f.write(pem.replace("A", "B", 3)[:60])
        os.chmod(junk, 0o600)
        stack.set_config({"security.jwt_key": junk})
        r = latchd_t(stack)
        assert r.returncode != 0 and "not an unencrypted Ed25519" in \
            r.stderr, r.stderr
        stack.set_config({"security.jwt_key": "relative.pem"})
        r = latchd_t(stack)
        assert r.returncode != 0 and "absolute path" in r.stderr, r.stderr
        stack.set_config({"security.jwt_key": ""})
        r = latchd_t(stack)
        assert r.returncode != 0 and "EdDSA needs jwt_key" in r.stderr, \
            r.stderr
        # A public key cannot sign.
        pubfile = key + ".pub"
        priv = serialization.load_pem_private_key(pem.encode(), None)
        with open(pubfile, "wb") as f:
            f.write(priv.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo))
        stack.set_config({"security.jwt_key": pubfile})
        r = latchd_t(stack)
        assert r.returncode != 0 and "holds no private key" in r.stderr, \
            r.stderr
        os.unlink(junk)
        os.unlink(pubfile)
    finally:
        os.chmod(key, st.st_mode & 0o7777)
        stack.set_config({"security.jwt_key": key})
    assert latchd_t(stack).returncode == 0


def teardown(stack):
    """Back to HS256 as the other scenarios expect."""
    values = {"security." + k: _saved.get(k, "") for k in KEYS}
    values["security.jwt_alg"] = _saved.get("jwt_alg") or "HS256"
    stack.reload(values)


def test_site_root_mapping(stack):
    """contrib/lighttpd/latch-wellknown.conf: the JWKS and the discovery
    document at the site root too, nothing else of /.well-known/."""
    with ws.scratch(stack, "wellknown") as (d, procs):
        api, _ = ws.example_setup("lighttpd/latch.conf", d,
                                  latch_socket=stack.latchd_socket)
        ensure_eddsa(stack)
        known, ex = ws.example_setup("lighttpd/latch-wellknown.conf", d)
        assert ex["latch_base"] == stack.base_path
        port = stackmod.free_port()
        # latch_base is set once, by latch.conf's lines.
        ws.start_lighttpd(procs, "lighttpd", port,
                          api + known.splitlines()[-1] + "\n")
        want = jwks()
        r = ws.call(port, "GET", "/.well-known/jwks.json", check=False)
        assert r.status == 200 and r.json == want, r.describe()
        r = ws.call(port, "GET", "/.well-known/openid-configuration",
                    check=False)
        assert r.status == 200 and r.json["jwks_uri"] == \
            "http://127.0.0.1:%d%s/.well-known/jwks.json" % (
                port, stack.base_path), r.describe()
        r = ws.call(port, "GET", "/.well-known/other", check=False)
        assert r.status == 404 and r.json is None, r.describe()


def test_init_and_rotate_write_private_keys(stack):
    """latchctl init --eddsa: two keys beside the config, 0600, and a
    config latchd takes; rotate-key gives a new key the config's owner
    and mode, without any permission for others."""
    d = tempfile.mkdtemp(prefix="eddsa-", dir=stack.dir)
    cfg = os.path.join(d, "latch.ini")
    r = stack.latchctl("init", cfg, "--from", stack.example, "--eddsa",
                       "--set", "database.socket=" + stack.db_socket,
                       config=False)
    assert r.returncode == 0 and "Ed25519" in r.stdout, r
    # latchd -t also reaches the database: the stack's.
    stackmod.ini_set(cfg, {("database", "password"): stack.db_password})
    with open(cfg, encoding="utf-8") as f:
        text = f.read()
    vals = dict(re.findall(r"^(jwt_\w+) = (.*)$", text, re.M))
    assert vals["jwt_alg"] == "EdDSA", vals
    keys = [vals["jwt_key"], vals["jwt_key_next"]]
    for k in keys:
        assert os.path.dirname(k) == d and \
            os.stat(k).st_mode & 0o777 == 0o600, (k, oct(os.stat(k).st_mode))
        with open(k, encoding="ascii") as f:
            assert f.read().startswith("-----BEGIN PRIVATE KEY-----")
    r = subprocess.run([stack.latchd_bin, "-t", "-c", cfg],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # A config others may read (a key allows it): its keys still are not.
    stackmod.ini_set(cfg, {("security", "allow_world_readable_config"):
                           "true"})
    os.chmod(cfg, 0o644)
    r = stack.latchctl("rotate-key", config=cfg)
    assert r.returncode == 0, r
    with open(cfg, encoding="utf-8") as f:
        vals = dict(re.findall(r"^(jwt_\w+) = (.*)$", f.read(), re.M))
    assert vals["jwt_key"] == keys[1] and vals["jwt_key_previous"] == \
        keys[0], vals
    new = vals["jwt_key_next"]
    assert new not in keys and os.stat(new).st_mode & 0o777 == 0o640, \
        oct(os.stat(new).st_mode)
    r = subprocess.run([stack.latchd_bin, "-t", "-c", cfg],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
