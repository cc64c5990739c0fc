"""
GET /metrics: Prometheus' text format 0.0.4, read with Debian's
python3-prometheus-client parser.  Through lighttpd from this machine
(metrics_allow's default); refused (403 forbidden) for other addresses,
a list of networks honoured.  A latchd master of its own (3 workers that
recycle every few requests, latch-mailer delivering to an SMTP server on
loopback) is driven with known traffic, and every counter moves by
exactly that much: requests by route and status class and their
durations, sign-ins by outcome (the two-factor steps too), API keys made,
revoked and presented, refresh rotations and a reuse, sessions
started and revoked, authorizer decisions, rate-limit refusals, worker
respawns (recycled, and one killed), the mailer's deliveries and the
spool; nothing counted is lost when a worker goes.  No label holds a
name, an address or a token.  Under CGI (no master) only what needs no
shared counters is there.  contrib/prometheus passes promtool.
"""

import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

import pyotp

import fcgiclient
import stack as stackmod
import webservers as ws
from adminlib import add_user
from lib import (expect, expect_error, http, new_email, new_password,
                 register, uniq, wait_for)

REPO = stackmod.REPO
PROMTOOL = os.path.join(REPO, "build", "prometheus", "usr", "bin",
                        "promtool")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WORKERS = 3
MAX_REQUESTS = 7

# Every family the issue asks for, as /metrics names them.
FAMILIES = {
    "latch_build_info": "gauge",
    "latch_http_requests": "counter",
    "latch_http_request_duration_seconds": "histogram",
    "latch_signins": "counter",
    "latch_refresh_rotations": "counter",
    "latch_refresh_reuse_detected": "counter",
    "latch_sessions_started": "counter",
    "latch_sessions_revoked": "counter",
    "latch_authorizer_decisions": "counter",
    "latch_rate_limited": "counter",
    "latch_database_errors": "counter",
    "latch_database_reconnects": "counter",
    "latch_worker_respawns": "counter",
    "latch_mail_deliveries": "counter",
    "latch_mail_spool_messages": "gauge",
    "latch_workers": "gauge",
    "latch_api_key_authentications": "counter",
    "latch_api_keys_created": "counter",
    "latch_api_keys_revoked": "counter",
}

# The only values a label may take besides route patterns: nothing a
# client sends ever becomes one.
FIXED_LABELS = {
    "outcome": {"ok", "bad_credentials", "throttled", "disabled",
                "invalid", "revoked", "expired", "mfa_required", "mfa_enrollment_required", "mfa_ok",
                "mfa_recovery", "mfa_bad_code", "mfa_invalid_token"},
    "decision": {"allow", "unauthenticated", "forbidden", "redirect",
                 "error"},
    "kind": {"ip", "account", "mail"},
    "reason": {"recycled", "died"},
    "result": {"sent", "deferred", "failed"},
    "state": {"queued", "deferred", "held", "failed"},
    "status": {"1xx", "2xx", "3xx", "4xx", "5xx"},
    "method": {"", "GET", "POST", "PATCH", "DELETE"},
}


def parse(text):
    """{(sample name, frozenset(labels)): value} and {family: type}."""
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, "sample twice: %r" % (key,)
            samples[key] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def routes():
    """The route table's (method, pattern) pairs."""
    import re
    with open(os.path.join(REPO, "fcgi", "router.c")) as f:
        src = f.read()
    return set(re.findall(r'\{ "([A-Z]+)", "(/[^"]*)", h_', src))


def check_labels(samples):
    table = routes()
    for (name, labels), _ in samples.items():
        d = dict(labels)
        if "route" in d:
            assert (d["method"], d["route"]) in table or (
                d["method"], d["route"]) in {("", "(none)"),
                                             ("", "(authorizer)")}, d
        for k, v in d.items():
            if k in ("route", "le"):
                continue
            if k == "version":
                assert name == "latch_build_info", name
                continue
            assert v in FIXED_LABELS.get(k, ()), (name, k, v)


# ------------------------------------------------ through the web server

def test_scrape_through_lighttpd(stack):
    r = http("GET", "/metrics", check=False)
    assert r.status == 200, r.describe()
    assert r.header("Content-Type") == CONTENT_TYPE, r.headers
    assert r.header("Cache-Control") == "no-store", r.headers
    text = r.body.decode("utf-8")
    samples, types = parse(text)
    for fam, kind in FAMILIES.items():
        assert types.get(fam) == kind, (fam, types.get(fam))
    with open(os.path.join(REPO, "debian", "changelog")) as f:
        version = f.readline().split("(")[1].split(")")[0]
    assert value(samples, "latch_build_info", version=version) == 1
    assert value(samples, "latch_workers") == stack.configured_workers()
    # This very scrape is counted once answered: the next one shows it.
    before = value(samples, "latch_http_requests_total", method="GET",
                   route="/metrics", status="2xx")
    samples, _ = parse(http("GET", "/metrics", check=False).body.decode("utf-8"))
    assert value(samples, "latch_http_requests_total", method="GET",
                 route="/metrics", status="2xx") == before + 1
    check_labels(samples)


def _stack_call(stack, ip):
    return fcgiclient.request(stack.latchd_socket, "GET", "/api/metrics",
                              ip=ip)


def test_refused_for_other_addresses(stack):
    # The default list is this machine: 127.0.0.0/8 and ::1.
    for ip in ("127.0.0.1", "127.4.5.6", "::1"):
        status, _, _ = _stack_call(stack, ip)
        assert status == 200, ip
    for ip in ("192.0.2.1", "10.0.0.1", "::2", "2001:db8::1", ""):
        status, _, body = _stack_call(stack, ip)
        assert status == 403, (ip, status)
        j = json.loads(body)
        assert j["error"] == "forbidden", j
        assert b"latch_" not in body


# ----------------------------------------------- a master of its own

class Sink:
    """An SMTP server's handler: 250 for every recipient but those of
    the domain refused.test, which get 550 (given up on at once)."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address.endswith("@refused.test"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 2.0.0 Ok: queued"


class Master:
    """latchd as www-data on its own socket, with its own counters."""

    def __init__(self, stack, d, procs, overrides):
        self.stack, self.d, self.procs = stack, d, procs
        self.sock = os.path.join(d, "latch.sock")
        uid, gid = ws.www_data()
        self.spool = os.path.join(d, "spool")
        os.mkdir(self.spool, 0o700)
        os.chown(self.spool, uid, gid)
        os.chown(d, uid, gid)
        o = {"server.listen": self.sock, "server.socket_mode": "0600",
             "server.workers": WORKERS, "server.max_requests": MAX_REQUESTS,
             "mail.spool_dir": self.spool, "mail.run_mailer": True}
        o.update(overrides)
        self.config = ws.derive_config(stack, os.path.join(d, "latch.ini"),
                                       o, group=gid)
        procs.configs.append(self.config)
        bdir = os.environ.get("LATCH_BUILD") or "build"
        self.p = procs.start("latchd-metrics", [
            "setpriv", "--reuid=www-data", "--regid=www-data",
            "--clear-groups", os.path.join(REPO, bdir, "latchd"), "-c",
            self.config], os.path.join(d, "latchd.log"))
        procs.wait_up("latchd-metrics", lambda: os.path.exists(self.sock),
                      "latchd on " + self.sock)
        wait_for(lambda: len(self.workers()) == WORKERS, 20, "the workers")

    def children(self):
        return stackmod.children_of(self.p.pid)

    def workers(self):
        return [p for p in self.children()
                if "latch-mailer" not in stackmod._cmdline(p)]

    def call(self, method, path, **kw):
        status, _, raw = fcgiclient.request(self.sock, method, "/api" + path,
                                            **kw)
        try:
            return status, json.loads(raw.decode() or "null")
        except ValueError:
            return status, raw

    def scrape(self):
        status, headers, raw = fcgiclient.request(self.sock, "GET",
                                                  "/api/metrics")
        assert status == 200, raw
        assert ("Content-Type", CONTENT_TYPE) in headers, headers
        samples, _ = parse(raw.decode("utf-8"))
        check_labels(samples)
        return samples


def delta(before, after):
    """What moved between two scrapes: {key: difference}, zeros left
    out; gauges and build info are not deltas."""
    out = {}
    for k in set(before) | set(after):
        if k[0] in ("latch_build_info", "latch_workers",
                    "latch_mail_spool_messages") or \
                k[0].endswith("_sum"):
            continue
        d = after.get(k, 0) - before.get(k, 0)
        if d:
            out[k] = d
    return out


def req(method, route, status):
    return ("latch_http_requests_total", frozenset({
        "method": method, "route": route, "status": status}.items()))


def dur_count(method, route):
    return ("latch_http_request_duration_seconds_count", frozenset({
        "method": method, "route": route}.items()))


def c(name, **labels):
    return (name, frozenset(labels.items()))


class Expect:
    """The counters the traffic below must move, request by request."""

    def __init__(self):
        self.want = {}

    def add(self, key, n=1):
        self.want[key] = self.want.get(key, 0) + n

    def request(self, method, route, status):
        cls = "%dxx" % (status // 100)
        self.add(req(method, route, cls))
        self.add(dur_count(method, route))
        # Every bucket up to +Inf holds it; checked apart (see below).


def check_delta(got, want):
    buckets = {k: v for k, v in got.items()
               if k[0] == "latch_http_request_duration_seconds_bucket"}
    rest = {k: v for k, v in got.items() if k not in buckets}
    diff = ["%s %s: moved %s, want %s" % (k[0], dict(k[1]), rest.get(k, 0),
                                          want.want.get(k, 0))
            for k in sorted(set(rest) | set(want.want), key=str)
            if rest.get(k, 0) != want.want.get(k, 0)]
    assert not diff, "counters that moved otherwise:\n" + "\n".join(diff)
    # +Inf of each route moved as its count did.
    for k, v in buckets.items():
        if dict(k[1])["le"] == "+Inf":
            lab = dict(k[1])
            del lab["le"]
            assert want.want.get(dur_count(lab["method"], lab["route"])) \
                == v, (k, v)


def test_counters_move_by_exactly_the_traffic(stack):
    acct = register()
    admin_tok = acct.body["token"]
    # A user of acct's organization to disable, one to throttle.
    victim_pw, throttled_pw = new_password(), new_password()
    victim = uniq("v")
    victim_id = expect(http("POST", "/users", {
        "username": victim, "email": new_email(), "password": victim_pw,
        "role": "user"}, token=admin_tok), 201)["user"]["id"]
    throttled = uniq("t")
    expect(http("POST", "/users", {
        "username": throttled, "email": new_email(),
        "password": throttled_pw, "role": "user"}, token=admin_tok), 201)
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1",
                      port=stackmod.free_port())
    smtp.start()
    # A client address of its own for the per-address budget (keys are
    # per minute in the shared database).
    limited_ip = "10.%d.%d.%d" % (random.randint(0, 255),
                                  random.randint(0, 255),
                                  random.randint(1, 254))
    try:
        with ws.traversable(stack.dir), \
                ws.scratch(stack, "metrics") as (d, procs):
            os.chmod(d, 0o755)
            m = Master(stack, d, procs, {
                "mail.smtp_host": "127.0.0.1", "mail.smtp_port": smtp.port,
                "mail.smtp_tls": "none", "mail.retry_min": 1,
                "mail.retry_max": 2,
                "mail.from": "latch <noreply@example.org>",
                "limits.ip_budget": 2, "limits.login_max_failures": 2,
                "limits.login_window": 900, "limits.login_max_delay": 900})
            _drive(m, sink, acct, admin_tok, victim, victim_id, victim_pw,
                   throttled, throttled_pw, limited_ip)
    finally:
        smtp.stop()


def _drive(m, sink, acct, admin_tok, victim, victim_id, victim_pw,
           throttled, throttled_pw, limited_ip):
    first = m.scrape()
    assert value(first, "latch_workers") == WORKERS
    w = Expect()
    w.request("GET", "/metrics", 200)           # the scrape above

    def call(method, route, path=None, want=None, **kw):
        status, j = m.call(method, path or route, **kw)
        if want is not None:
            assert status == want, (method, path or route, status, j)
        w.request(method, route, status)
        return status, j

    # -- sign-ins: ok, bad credentials, throttled, disabled
    _, j = call("POST", "/auth/login", want=200, body={
        "identifier": acct.username, "password": acct.password})
    w.add(c("latch_signins_total", outcome="ok"))
    w.add(c("latch_sessions_started_total"))
    tok, rt = j["token"], j["refresh_token"]
    for _ in range(2):
        call("POST", "/auth/login", want=401, body={
            "identifier": throttled, "password": "wrong " + throttled_pw})
        w.add(c("latch_signins_total", outcome="bad_credentials"))
    status, j = call("POST", "/auth/login", want=429, body={
        "identifier": throttled, "password": throttled_pw})
    w.add(c("latch_signins_total", outcome="throttled"))
    w.add(c("latch_rate_limited_total", kind="account"))
    # Disabled by its admin (through the shared stack: not counted here).
    expect(http("POST", "/users/%d/disable" % victim_id, token=admin_tok),
           200)
    call("POST", "/auth/login", want=403, body={
        "identifier": victim, "password": victim_pw})
    w.add(c("latch_signins_total", outcome="disabled"))
    # Bad input is no sign-in outcome.
    call("POST", "/auth/login", want=400, body={"identifier": "x"})

    # -- refresh: two rotations, then the first token again: reuse
    _, j = call("POST", "/auth/refresh", want=200, body={
        "refresh_token": rt})
    _, j = call("POST", "/auth/refresh", want=200, body={
        "refresh_token": j["refresh_token"]})
    w.add(c("latch_refresh_rotations_total"), 2)
    # Past refresh_reuse_interval (2 s), counted in whole seconds.
    time.sleep(3.2)
    call("POST", "/auth/refresh", want=401, body={"refresh_token": rt})
    w.add(c("latch_refresh_reuse_detected_total"))
    w.add(c("latch_sessions_revoked_total"))

    # -- two sessions more, one signed out, then all
    toks = []
    for _ in range(2):
        _, j = call("POST", "/auth/login", want=200, body={
            "identifier": acct.username, "password": acct.password})
        toks.append(j["token"])
    w.add(c("latch_signins_total", outcome="ok"), 2)
    w.add(c("latch_sessions_started_total"), 2)
    call("POST", "/auth/logout", want=200, body={}, token=toks[0])
    w.add(c("latch_sessions_revoked_total"))
    # The admin's first session (from register()) and toks[1] remain.
    call("POST", "/auth/logout", want=200, body={"all": True},
         token=toks[1])
    w.add(c("latch_sessions_revoked_total"), 2)

    # -- the authorizer: no token, a revoked one, a valid one
    _, j = call("POST", "/auth/login", want=200, body={
        "identifier": acct.username, "password": acct.password})
    w.add(c("latch_signins_total", outcome="ok"))
    w.add(c("latch_sessions_started_total"))
    good = j["token"]
    for token, want, decision in ((None, 401, "unauthenticated"),
                                  (toks[0], 401, "unauthenticated"),
                                  (good, 200, "allow"), (good, 200, "allow")):
        status, _ = m.call("GET", "/private/report.html", token=token,
                           role=fcgiclient.AUTHORIZER)
        assert status == want, (status, decision)
        w.request("", "(authorizer)", status)
        w.add(c("latch_authorizer_decisions_total", decision=decision))

    # -- the per-address budget: 2 a minute for this address (a minute
    # may begin between two requests: then one more is let through)
    for i in range(6):
        status, _ = m.call("POST", "/auth/refresh", ip=limited_ip,
                           body={"refresh_token": "x" * 43})
        assert status in (401, 429), (i, status)
        w.request("POST", "/auth/refresh", status)
        if status == 429:
            break
    assert status == 429, "the budget never refused"
    w.add(c("latch_rate_limited_total", kind="ip"))

    # -- no route, and a method the route does not take: one slot,
    # whatever the client sent
    for method, path, want in (("GET", "/nowhere/%s" % uniq(), 404),
                               ("DELETE", "/health", 405),
                               ("BREW", "/coffee", 404)):
        status, _ = m.call(method, path)
        assert status == want, (method, path, status)
        w.request("", "(none)", status)

    # -- mail: an invitation delivered, one refused for good
    call("POST", "/invitations", want=201, token=good, body={
        "email": new_email(), "role": "user"})
    call("POST", "/invitations", want=201, token=good, body={
        "email": "nobody%d@refused.test" % random.randint(0, 10**9),
        "role": "user"})
    w.add(c("latch_mail_deliveries_total", result="sent"))
    w.add(c("latch_mail_deliveries_total", result="failed"))
    wait_for(lambda: sink.count >= 1 and not os.listdir(
        os.path.join(m.spool, "new")), 60, "the mailer to deliver")

    # -- many requests at once over the workers, which recycle every
    # MAX_REQUESTS: none of what they counted may be lost
    errors = []

    def hammer(n):
        try:
            for _ in range(n):
                status, _ = m.call("GET", "/health")
                if status != 200:
                    errors.append(status)
        except Exception as e:     # noqa: BLE001 (reported below)
            errors.append(repr(e))
    threads = [threading.Thread(target=hammer, args=(20,))
               for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for _ in range(20 * WORKERS):
        w.request("GET", "/health", 200)

    # -- and a worker killed: it is replaced, its counts stay
    victim_pid = wait_for(lambda: (lambda p: p[0] if len(p) == WORKERS
                                   else None)(m.workers()), 20,
                          "a full pool")
    os.kill(victim_pid, signal.SIGKILL)
    wait_for(lambda: victim_pid not in m.workers() and
             len(m.workers()) == WORKERS, 20, "a worker in its place")
    w.add(c("latch_worker_respawns_total", reason="died"))

    last = m.scrape()
    got = delta(first, last)
    recycled = got.pop(c("latch_worker_respawns_total",
                         reason="recycled"), 0)
    # Every worker serves at most MAX_REQUESTS before it is replaced.
    served = sum(v for k, v in w.want.items()
                 if k[0] == "latch_http_requests_total")
    assert recycled >= served // MAX_REQUESTS - WORKERS - 1, (
        recycled, served)
    check_delta(got, w)
    assert value(last, "latch_mail_spool_messages", state="queued") == 0
    assert value(last, "latch_mail_spool_messages", state="failed") == 1
    assert value(last, "latch_mail_spool_messages", state="held") == 0
    text = json.dumps([list(k[1]) for k in last])
    for secret in (acct.username, acct.email, acct.password, victim,
                   throttled, tok, rt, good, limited_ip):
        assert secret not in text, secret


# ------------------------------------------------- two-factor sign-ins

def _totp_code(secret, steps=0):
    """The code of secret `steps` 30 s steps from now (python3-pyotp),
    at least 5 s before the step ends."""
    left = 30 - time.time() % 30
    if left < 5:
        time.sleep(left + 0.2)
    return pyotp.TOTP(secret).at(int(time.time()) + steps * 30)


def _enrol(acct):
    """acct with TOTP on, through the shared stack: (secret, recovery
    codes)."""
    secret = expect(http("POST", "/user/mfa/totp", {}, token=acct.access),
                    201)["secret"]
    j = expect(http("POST", "/user/mfa/totp/confirm",
                    {"code": _totp_code(secret)}, token=acct.access), 200)
    return secret, j["recovery_codes"]


def _wrong(secret):
    """A code no step around now has."""
    near = {pyotp.TOTP(secret).at(int(time.time()) + k * 30)
            for k in range(-2, 3)}
    return next(c for c in ("%06d" % random.randint(0, 999999)
                            for _ in range(100)) if c not in near)


def test_two_factor_sign_ins_counted(stack):
    """Each step of a two-factor sign-in counts one outcome: the
    password step that asks for a code, a good code, a recovery code, a
    wrong code, a used mfa_token, the throttle at the second step, and a
    sign-in the organization's policy restricts to enrolment."""
    admin = register()
    secret, codes = _enrol(admin)
    guesser = add_user(admin.access)
    g_secret, _ = _enrol(guesser)
    newcomer = register()
    expect(http("PATCH", "/organization", {"require_mfa": "admins"},
                token=newcomer.access), 200)
    with ws.traversable(stack.dir), \
            ws.scratch(stack, "metrics-mfa") as (d, procs):
        os.chmod(d, 0o755)
        m = Master(stack, d, procs, {
            "mail.run_mailer": False, "limits.login_max_failures": 2,
            "limits.login_window": 900, "limits.login_max_delay": 900})
        first = m.scrape()
        w = Expect()
        w.request("GET", "/metrics", 200)

        def call(route, body, want):
            status, j = m.call("POST", route, body=body)
            assert status == want, (route, status, j)
            w.request("POST", route, status)
            return j

        def password_step(acct):
            j = call("/auth/login", {"identifier": acct.username,
                                     "password": acct.password}, 200)
            assert j["mfa_required"] is True, j
            w.add(c("latch_signins_total", outcome="mfa_required"))
            return j["mfa_token"]

        # A code: signed in (a session), not before.
        token = password_step(admin)
        j = call("/auth/mfa", {"mfa_token": token,
                               "code": _totp_code(secret, 1)}, 200)
        assert "access_token" in j, j
        w.add(c("latch_signins_total", outcome="mfa_ok"))
        w.add(c("latch_sessions_started_total"))
        # A recovery code; then its mfa_token again.
        token = password_step(admin)
        call("/auth/mfa", {"mfa_token": token, "recovery_code": codes[0]},
             200)
        w.add(c("latch_signins_total", outcome="mfa_recovery"))
        w.add(c("latch_sessions_started_total"))
        j = call("/auth/mfa", {"mfa_token": token,
                               "recovery_code": codes[1]}, 401)
        assert j["error"] == "invalid_token", j
        w.add(c("latch_signins_total", outcome="mfa_invalid_token"))
        # A wrong code, then the throttle (the password step counted
        # too): no code is even looked at.
        token = password_step(guesser)
        j = call("/auth/mfa", {"mfa_token": token,
                               "code": _wrong(g_secret)}, 400)
        assert j["error"] == "invalid_code", j
        w.add(c("latch_signins_total", outcome="mfa_bad_code"))
        call("/auth/mfa", {"mfa_token": token,
                           "code": _totp_code(g_secret, 1)}, 429)
        w.add(c("latch_signins_total", outcome="throttled"))
        w.add(c("latch_rate_limited_total", kind="account"))
        # Bad input is no outcome.
        call("/auth/mfa", {"mfa_token": token}, 400)
        # An admin whose organization requires a second factor it has
        # not enrolled: a session that may only enrol.
        j = call("/auth/login", {"identifier": newcomer.username,
                                 "password": newcomer.password}, 200)
        assert j["mfa_enrollment_required"] is True, j
        w.add(c("latch_signins_total", outcome="mfa_enrollment_required"))
        w.add(c("latch_sessions_started_total"))

        last = m.scrape()
        got = delta(first, last)
        got.pop(c("latch_worker_respawns_total", reason="recycled"), None)
        check_delta(got, w)
        text = json.dumps([list(k[1]) for k in last])
        for secret_ in (admin.username, guesser.username, token, secret,
                        codes[0]):
            assert secret_ not in text, secret_


# ------------------------------------------------------------ API keys

def test_api_keys_counted(stack):
    """Keys made and revoked (by an admin, and with their creator) count
    when their transaction commits; each key presented counts its
    outcome: ok, invalid, revoked, expired."""
    admin = register()
    maker = add_user(admin.access, role="admin")
    with ws.traversable(stack.dir), \
            ws.scratch(stack, "metrics-keys") as (d, procs):
        os.chmod(d, 0o755)
        m = Master(stack, d, procs, {"mail.run_mailer": False})
        first = m.scrape()
        w = Expect()
        w.request("GET", "/metrics", 200)

        def call(method, route, want, path=None, **kw):
            status, j = m.call(method, path or route, **kw)
            assert status == want, (method, route, status, j)
            w.request(method, route, status)
            return j

        def make(token, **extra):
            body = {"name": uniq("svc "), "role": "admin"}
            body.update(extra)
            k = call("POST", "/api-keys", 201, body=body,
                     token=token)["api_key"]
            w.add(c("latch_api_keys_created_total"))
            return k

        key, old, theirs = (make(admin.access),
                            make(admin.access,
                                 expires_at="2099-01-01T00:00:00Z"),
                            make(maker.access))
        # A key that fails its own transaction is not counted: a name
        # refused.
        call("POST", "/api-keys", 400, body={"name": ""},
             token=admin.access)
        for _ in range(2):
            call("GET", "/users", 200, token=key["key"])
            w.add(c("latch_api_key_authentications_total", outcome="ok"))
        forged = key["key"][:-1] + ("A" if key["key"][-1] != "A" else "B")
        call("GET", "/users", 401, token=forged)
        w.add(c("latch_api_key_authentications_total", outcome="invalid"))
        stack.mysql("UPDATE api_keys SET expires_at = UNIX_TIMESTAMP() - 1 "
                    "WHERE id = %d" % old["id"])
        call("GET", "/users", 401, token=old["key"])
        w.add(c("latch_api_key_authentications_total", outcome="expired"))
        call("DELETE", "/api-keys/{id}", 200,
             path="/api-keys/%d" % key["id"], token=admin.access)
        w.add(c("latch_api_keys_revoked_total"))
        call("GET", "/users", 401, token=key["key"])
        w.add(c("latch_api_key_authentications_total", outcome="revoked"))
        # Its creator disabled: its key goes, with its session.
        call("POST", "/users/{id}/disable", 200,
             path="/users/%d/disable" % maker.id, token=admin.access)
        w.add(c("latch_api_keys_revoked_total"))
        w.add(c("latch_sessions_revoked_total"))
        call("GET", "/users", 401, token=theirs["key"])
        w.add(c("latch_api_key_authentications_total", outcome="revoked"))

        last = m.scrape()
        got = delta(first, last)
        got.pop(c("latch_worker_respawns_total", reason="recycled"), None)
        check_delta(got, w)
        text = json.dumps([list(k[1]) for k in last])
        for secret_ in (key["key"], key["name"], theirs["key"],
                        admin.username):
            assert secret_ not in text, secret_


def test_under_cgi_only_what_needs_no_master(stack):
    """No master, no shared counters: build info and the spool."""
    env = {"PATH": "/usr/bin:/bin", "GATEWAY_INTERFACE": "CGI/1.1",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
           "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/metrics",
           "SCRIPT_NAME": "/api", "PATH_INFO": "/metrics",
           "QUERY_STRING": "", "LATCH_CONFIG": stack.config}
    r = subprocess.run([stack.latchd_bin], env=env, capture_output=True,
                       timeout=60, cwd=stack.dir)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert b"Status: 200" in head and CONTENT_TYPE.encode() in head, head
    samples, types = parse(body.decode("utf-8"))
    assert set(types) == {"latch_build_info", "latch_mail_spool_messages"}, \
        types
    env["REMOTE_ADDR"] = "192.0.2.9"
    r = subprocess.run([stack.latchd_bin], env=env, capture_output=True,
                       timeout=60, cwd=stack.dir)
    assert b"Status: 403" in r.stdout, r.stdout[:200]


def test_metrics_allow_takes_networks(stack):
    with ws.scratch(stack, "metrics-allow") as (d, procs):
        sock = os.path.join(d, "latch.sock")
        cfg = ws.derive_config(stack, os.path.join(d, "latch.ini"), {
            "server.listen": sock, "server.workers": 1,
            "server.metrics_allow": "192.0.2.0/25, 2001:db8::/32",
            "mail.run_mailer": False})
        ws.start_latchd(procs, "latchd-allow", cfg, sock)
        for ip, want in (("192.0.2.1", 200), ("192.0.2.127", 200),
                         ("192.0.2.128", 403), ("2001:db8:1::5", 200),
                         ("2001:db9::1", 403), ("127.0.0.1", 403),
                         ("::ffff:192.0.2.3", 200)):
            status, _, _ = fcgiclient.call(sock, {
                "REQUEST_METHOD": "GET", "REQUEST_URI": "/api/metrics",
                "SCRIPT_NAME": "", "REMOTE_ADDR": ip},
                role=fcgiclient.RESPONDER)
            assert status == want, (ip, status, want)
        # A list that is not one is refused with the config.
        bad = ws.derive_config(stack, os.path.join(d, "bad.ini"), {
            "server.metrics_allow": "localhost"})
        r = subprocess.run([stack.latchd_bin, "-t", "-c", bad],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "metrics_allow" in r.stderr, r


# ---------------------------------------------------- contrib/prometheus

def test_contrib_prometheus_passes_promtool(stack):
    d = os.path.join(REPO, "contrib", "prometheus")
    for argv in (["check", "config", os.path.join(d, "prometheus.yml")],
                 ["check", "rules", os.path.join(d, "latch-rules.yml")],
                 ["test", "rules", os.path.join(d, "latch-rules.test.yml")]):
        r = subprocess.run([PROMTOOL] + argv, capture_output=True,
                           text=True, timeout=120, cwd=d)
        assert r.returncode == 0, "promtool %s:\n%s%s" % (
            " ".join(argv), r.stdout, r.stderr)
    # Every series the rules name is one latch exports.
    import re
    with open(os.path.join(d, "latch-rules.yml")) as f:
        names = set(re.findall(r"\b(latch_[a-z_]+)", f.read()))
    r = http("GET", "/metrics", check=False)
    samples, _ = parse(r.body.decode("utf-8"))
    known = {k[0] for k in samples}
    assert names <= known, names - known
