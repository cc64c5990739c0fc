"""
Access tokens: a standard JWT library validates them with the configured
secret; /auth/verify (and every signed-in route) accepts only HS256 with
that secret, a live session, an unexpired exp and our issuer.
"""

import json
import time

from adminlib import add_user
from lib import (ACCESS_TTL, ISSUER, b64url, b64url_decode, decode_jwt,
                 expect, expect_error, expect_user, http, jwt_parts, kid_of,
                 login_ok, profile, raw_jwt, register, sign_jwt, verify,
                 with_kid)

_acct = []


def acct():
    if not _acct:
        _acct.append(register())
    return _acct[0]


def expect_rejected(token, code, what):
    """Refused at /auth/verify (body and header) and at /user/profile."""
    r = verify(token)
    expect_error(r, 401, code, msg=what + " at /auth/verify")
    assert r.json.get("valid") is False, r.describe()
    for k in ("claims", "signed_claims"):
        assert k not in r.json, "%s of a refused token: %s" % (
            k, r.describe())
    expect_error(verify(bearer=token), 401, code,
                 msg=what + " at /auth/verify (Bearer)")
    expect_error(profile(token), 401, code, msg=what + " at /user/profile")


def test_pyjwt_validates_the_access_token(stack):
    a = acct()
    header, _, _ = jwt_parts(a.access)
    assert header.get("alg") == "HS256", header
    assert header.get("typ") == "JWT", header
    assert set(header) <= {"alg", "typ", "kid"}, header
    c = decode_jwt(a.access)
    assert c["iss"] == ISSUER, c
    assert c["sub"] == str(a.id), "sub must be the user id as a string: " \
        "%r" % c
    assert c["username"] == a.username, c
    org = a.user["organizationId"]
    assert c["org"] == org and c["tenant_id"] == org, c
    assert type(c["org"]) is int and type(c["tenant_id"]) is int, c
    assert c["role"] == "admin", c
    assert c.get("sid") not in (None, "", 0), c
    assert isinstance(c.get("jti"), str) and len(c["jti"]) >= 16, c
    assert type(c["iat"]) is int and type(c["exp"]) is int, c
    assert c["exp"] - c["iat"] == ACCESS_TTL, c
    now = time.time()
    assert abs(c["iat"] - now) < 300, "iat far from now: %r" % c


def test_each_token_has_its_own_jti_and_each_login_its_own_sid(stack):
    a = acct()
    b = login_ok(a)
    ca, cb = decode_jwt(a.access), decode_jwt(b.access)
    assert ca["jti"] != cb["jti"], (ca, cb)
    assert ca["sid"] != cb["sid"], (ca, cb)
    j = expect(http("GET", "/auth/sessions", token=b.access), 200)
    cur = [s for s in j["sessions"] if s.get("current") is True]
    assert len(cur) == 1 and str(cur[0]["id"]) == str(cb["sid"]), \
        "the current session is not the token's sid %r: %r" % (
            cb["sid"], j["sessions"])


def test_verify_accepts_a_valid_token(stack):
    a = acct()
    for r in (verify(a.access), verify(bearer=a.access)):
        j = expect(r, 200)
        assert j.get("valid") is True, r.describe()
        c = j.get("claims")
        assert isinstance(c, dict), r.describe()
        want = decode_jwt(a.access)
        for k in ("sub", "username", "org", "tenant_id", "role", "sid",
                  "jti", "iat", "exp", "iss"):
            assert c.get(k) == want[k], "claims.%s: %r, token has %r" % (
                k, c.get(k), want[k])
        assert j.get("signed_claims") == want, r.describe()


def test_verify_answers_the_current_role(stack):
    """A demoted admin's token still verifies (its session stands), but
    /auth/verify answers the role the user has now, not the one signed
    into the token; the token's own claims are under signed_claims."""
    a = register()
    b = add_user(a.access, role="admin")
    signed = decode_jwt(b.access)
    assert signed["role"] == "admin", signed
    assert expect(verify(b.access), 200)["claims"]["role"] == "admin"
    expect(http("PATCH", "/users/%d" % b.id, {"role": "user"},
                token=a.access), 200)
    for r in (verify(b.access), verify(bearer=b.access)):
        j = expect(r, 200)
        c = j["claims"]
        assert c["role"] == "user", "a demoted admin verifies as %r: %s" % (
            c["role"], r.describe())
        org = b.user["organizationId"]
        assert c["org"] == org and c["tenant_id"] == org, c
        assert c["username"] == b.username, c
        for k in ("iss", "sub", "sid", "jti", "iat", "exp"):
            assert c[k] == signed[k], "claims.%s: %r, token has %r" % (
                k, c[k], signed[k])
        assert j["signed_claims"] == signed, r.describe()
    # Promoted again: admin at once, with the same token.
    expect(http("PATCH", "/users/%d" % b.id, {"role": "admin"},
                token=a.access), 200)
    assert expect(verify(b.access), 200)["claims"]["role"] == "admin"


def test_verify_without_a_token_is_missing_token(stack):
    r = verify()
    expect_error(r, 401, "missing_token")
    assert r.json.get("valid") is False, r.describe()


def test_a_token_we_sign_with_the_secret_is_accepted(stack):
    # Positive control for the forgeries below: the same claims signed
    # with HS256 and the configured secret by PyJWT are a valid token.
    a = acct()
    c = decode_jwt(a.access)
    t = sign_jwt(c)
    expect(verify(t), 200)
    expect(profile(t), 200)


def test_alg_none_is_rejected(stack):
    c = decode_jwt(acct().access)
    for header in ({"alg": "none", "typ": "JWT"}, {"alg": "None"},
                   {"alg": "NONE", "typ": "JWT"}):
        expect_rejected(raw_jwt(header, c), "invalid_token",
                        "alg %s" % header["alg"])
    # The unsigned token also without the final dot.
    t = raw_jwt({"alg": "none", "typ": "JWT"}, c)[:-1]
    expect_rejected(t, "invalid_token", "alg none, two parts")


def test_other_algorithms_with_the_same_secret_are_rejected(stack):
    from lib import SECRET
    c = decode_jwt(acct().access)
    for alg in ("HS384", "HS512"):
        expect_rejected(sign_jwt(c, alg=alg), "invalid_token", alg)
    # An HS256 signature under a header naming another algorithm.
    t = raw_jwt({"alg": "HS512", "typ": "JWT"}, c, SECRET, "HS256")
    expect_rejected(t, "invalid_token", "HS256 signature, alg HS512")
    t = raw_jwt({"alg": "RS256", "typ": "JWT"}, c, SECRET, "HS256")
    expect_rejected(t, "invalid_token", "HS256 signature, alg RS256")


def test_tampered_payload_is_rejected(stack):
    a = acct()
    h, p, s = a.access.split(".")
    c = decode_jwt(a.access)
    for change in ({"role": "superadmin"}, {"sub": str(a.id + 1)},
                   {"exp": c["exp"] + 3600}, {"org": c["org"] + 1}):
        forged = dict(c, **change)
        t = h + "." + b64url(json.dumps(forged, separators=(",", ":"))) \
            + "." + s
        expect_rejected(t, "invalid_token", "tampered %r" % change)
    # A flipped bit in the signature: the first byte, the last, and one
    # in the middle (every byte of the MAC is compared).
    for i in (0, 15, 16, 31):
        sig = bytearray(b64url_decode(s))
        sig[i] ^= 0x80
        expect_rejected(h + "." + p + "." + b64url(bytes(sig)),
                        "invalid_token", "flipped bit in MAC byte %d" % i)


def test_wrong_key_is_rejected(stack):
    from lib import SECRET
    c = decode_jwt(acct().access)
    for key in ("another-secret-of-at-least-32-bytes-xxxxxxx",
                SECRET[:-1], SECRET + "x", ""):
        expect_rejected(sign_jwt(c, key=key) if key else
                        raw_jwt({"alg": "HS256", "typ": "JWT"}, c, b""),
                        "invalid_token", "key of %d bytes" % len(key))


def test_a_kid_that_names_no_key_is_refused(stack):
    """The kid chooses the key, and one that names none of ours is
    refused, even when the MAC is the current key's: no fallback."""
    from lib import SECRET
    a = acct()
    ours = kid_of(SECRET)
    assert jwt_parts(a.access)[0].get("kid") == ours, \
        "latch's kid is not the SHA-256 prefix of the secret"
    # Positive control: our kid and our key, signed by PyJWT.
    t = with_kid(a.access, ours)
    expect(verify(t), 200)
    expect(verify(bearer=t), 200)
    expect(profile(t), 200)
    other = "another-secret-of-at-least-32-bytes-xxxxxxx"
    for kid, key, what in (
            ("AAAAAAAAAAA", None, "a kid of no key, our MAC"),
            (kid_of(other), None, "another key's kid, our MAC"),
            (ours[:-1], None, "our kid less a character, our MAC"),
            (ours + "A", None, "our kid and a character, our MAC"),
            ("", None, "an empty kid, our MAC"),
            (kid_of(other), other, "another key's kid and MAC")):
        expect_rejected(with_kid(a.access, kid, key), "invalid_token", what)
    c = decode_jwt(a.access)
    for kid in (7, None, [ours], {"kid": ours}):
        t = raw_jwt({"alg": "HS256", "typ": "JWT", "kid": kid}, c, SECRET)
        expect_rejected(t, "invalid_token", "kid %r" % (kid,))
    # None of that hurt the real token.
    expect(profile(a.access), 200)


def test_expired_token_is_token_expired(stack):
    c = decode_jwt(acct().access)
    now = int(time.time())
    t = sign_jwt(dict(c, iat=now - ACCESS_TTL - 3600, exp=now - 3600))
    expect_rejected(t, "token_expired", "expired an hour ago")
    t = sign_jwt(dict(c, iat=now - ACCESS_TTL - 120, exp=now - 120))
    expect_rejected(t, "token_expired", "expired beyond the leeway")


def test_claims_we_do_not_issue_are_rejected(stack):
    c = decode_jwt(acct().access)
    cases = {
        "wrong iss": dict(c, iss="evil"),
        "no iss": {k: v for k, v in c.items() if k != "iss"},
        "no exp": {k: v for k, v in c.items() if k != "exp"},
        "exp as a string": dict(c, exp=str(c["exp"])),
        "unknown session": dict(c, sid=987654321),
    }
    # The session of another user (the sub must own the sid).
    other = decode_jwt(register().access)
    for what, claims in (("our sub, another user's sid",
                          dict(c, sid=other["sid"])),
                         ("another user's sub, our sid",
                          dict(c, sub=other["sub"]))):
        expect_rejected(sign_jwt(claims), "invalid_token", what)
    for what, claims in cases.items():
        r = verify(sign_jwt(claims))
        assert r.status == 401 and r.json.get("error") in (
            "invalid_token", "session_revoked"), \
            "%s: %s" % (what, r.describe())
        assert r.json.get("valid") is False, r.describe()
    expect_rejected(sign_jwt(cases["wrong iss"]), "invalid_token",
                    "wrong iss")
    expect_rejected(sign_jwt(cases["no exp"]), "invalid_token", "no exp")


def test_garbage_is_invalid_token(stack):
    a = acct()
    h, p, s = a.access.split(".")
    for t in ("garbage", "a.b.c", "..", h + "." + p, h + "." + p + ".",
              a.access + "x", a.access + ".x", " " + a.access,
              "\u00e9t\u00e9.b.c", "x" * 5000):
        r = verify(t)
        expect_error(r, 401, "invalid_token", msg=repr(t[:40]))
        assert r.json.get("valid") is False, r.describe()
    expect_error(profile("garbage"), 401, "invalid_token")
    expect_error(http("POST", "/auth/verify", {"token": 42}), 400,
                 "invalid_field", field="token")


def test_refresh_token_is_not_an_access_token(stack):
    a = acct()
    expect_error(profile(a.refresh), 401, "invalid_token")
    expect_error(verify(a.refresh), 401, "invalid_token")


def test_token_keeps_working_across_workers(stack):
    # Any worker verifies any token: enough requests reach both workers.
    a = acct()
    for _ in range(12):
        expect_user(expect(profile(a.access), 200)["user"], id=a.id)
