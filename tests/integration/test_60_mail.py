"""
Mail: build/latch-mailer delivers the spool to a real SMTP server
(aiosmtpd, Debian's python3-aiosmtpd, on loopback in this process) in
plain text, with STARTTLS and with implicit TLS (a self-signed certificate
made with the openssl CLI, trusted through smtp_ca_file), with AUTH PLAIN
and LOGIN; retries while the server is down; 5xx and max_attempts go to
failed/ with a reason; a mailer killed with SIGKILL in the middle of DATA
loses nothing; --once drains and exits; the sendmail transport; started
as root, it becomes the spool's owner and never delivers as root.

These scenarios need neither MariaDB nor latchd: each makes its own
temporary spool and config and ignores the shared stack.  Messages are
queued with "latch-mailer --enqueue TO SUBJECT < BODY".  Run as root (as
CI runs them), every spool belongs to nobody, whom the mailer becomes.
"""

import asyncio
import atexit
import email
import email.policy
import logging
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MAILER = os.path.join(REPO, os.environ.get("LATCH_BUILD") or "build",
                      "latch-mailer")
SECRET = "mail-test-secret-0123456789abcdef0123456789abcdef"
USER, PASSWORD = "latch-smtp", "s3cret;pa ss=word"
VERBOSE = os.environ.get("VERBOSE") == "1"
ROOT = os.geteuid() == 0
# Run as root, the spools belong to nobody: the mailer becomes that user.
NOBODY = (pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)

logging.getLogger("mail.log").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", module="aiosmtpd")

_certs = {}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def certs(name="localhost"):
    """A self-signed certificate (cert, key) for name, and for 127.0.0.1
    when name is localhost; made once per name with the openssl CLI."""
    if name not in _certs:
        d = tempfile.mkdtemp(prefix="latch-mail-cert-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        san = "DNS:" + name + (",IP:127.0.0.1" if name == "localhost"
                               else "")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2", "-subj",
             "/CN=" + name, "-addext", "subjectAltName=" + san],
            check=True, capture_output=True, timeout=60)
        # The mailer (nobody, when the tests run as root) reads the
        # certificate as its smtp_ca_file; the key stays ours.
        os.chmod(d, 0o711)
        os.chmod(cert, 0o644)
        atexit.register(shutil.rmtree, d, True)
        _certs[name] = dict(dir=d, cert=cert, key=key)
    return _certs[name]


def server_tls_context(name="localhost"):
    c = certs(name)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(c["cert"], c["key"])
    return ctx


class Handler:
    """Records what arrives; can refuse a recipient, fail transiently, or
    stall in DATA."""

    def __init__(self):
        self.messages = []          # (mail_from, rcpt_tos, bytes, login)
        self.reject = {}            # address -> reply for RCPT
        self.stall = False
        self.in_data = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.in_data.set()
        if self.stall:
            await asyncio.sleep(300)
            return "451 4.3.0 too late"
        login = session.auth_data if session.authenticated else None
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content,
                              login))
        return "250 2.0.0 Ok: queued as TEST"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False,
                      auth_data=USER if ok else None)


class Server:
    """An aiosmtpd server on 127.0.0.1:port; tls is None, "starttls" or
    "tls"; auth requires USER/PASSWORD."""

    def __init__(self, port=None, tls=None, auth=False, name="localhost",
                 **kw):
        self.port = port or free_port()
        self.handler = Handler()
        self.tls, self.auth, self.name, self.kw = tls, auth, name, kw
        self.controller = None

    def start(self):
        kw = dict(self.kw)
        if self.tls == "starttls":
            kw.update(tls_context=server_tls_context(self.name),
                      require_starttls=True)
        elif self.tls == "tls":
            kw.update(ssl_context=server_tls_context(self.name))
        if self.auth:
            # aiosmtpd only knows about STARTTLS when it checks that AUTH
            # runs under TLS; with implicit TLS it always does.
            kw.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=self.tls == "starttls")
        self.controller = Controller(self.handler, hostname="127.0.0.1",
                                     port=self.port,
                                     server_hostname="mx.test", **kw)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


class Spool:
    """
    A temporary directory with a spool and a config for the mailer.  Run
    as root, the spool (and work/, for what a fake sendmail writes)
    belongs to nobody unless root_spool, and the config is root's, mode
    0640 with nobody's group, so that the mailer can read it again on
    SIGHUP once it has become nobody.
    """

    def __init__(self, root_spool=False, **mail):
        self.dir = tempfile.mkdtemp(prefix="latch-mail-")
        self.spool = os.path.join(self.dir, "spool")
        self.work = os.path.join(self.dir, "work")
        self.conf = os.path.join(self.dir, "latch.ini")
        self.log = os.path.join(self.dir, "mailer.log")
        self.owner = NOBODY if ROOT and not root_spool else None
        if ROOT:
            os.chmod(self.dir, 0o711)
        self.mkdir(self.spool)
        self.mkdir(self.work)
        self.mail = {"spool_dir": self.spool, "smtp_host": "127.0.0.1",
                     "smtp_tls": "none", "retry_min": 1, "retry_max": 2,
                     "max_attempts": 3,
                     "from": "Latch Test <noreply@example.com>"}
        self.set(**mail)

    def set(self, **mail):
        self.mail.update(mail)
        lines = ["[server]", "log_level = debug", "[security]",
                 "jwt_secret = " + SECRET, "[mail]"]
        for k, v in self.mail.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines.append("%s = %s" % (k, v))
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        if self.owner is not None:
            os.chown(self.conf, 0, self.owner[1])
            os.chmod(self.conf, 0o640)

    def mkdir(self, path):
        """A directory of the spool's owner (0700), as the mailer makes
        them."""
        os.makedirs(path, mode=0o700, exist_ok=True)
        self.own(path)

    def own(self, path):
        if self.owner is not None:
            os.chown(path, *self.owner)

    def enqueue(self, to, subject, body, check=True):
        r = subprocess.run([MAILER, "-c", self.conf, "--enqueue", to,
                            subject], input=body.encode("utf-8"),
                           capture_output=True, timeout=30)
        self._log(r.stderr)
        if check:
            assert r.returncode == 0, "enqueue failed: %r" % r.stderr
            mid = r.stdout.decode().strip()
            assert len(mid) == 32, mid
            return mid
        return r

    def once(self, timeout=90):
        r = subprocess.run([MAILER, "-c", self.conf, "--once"],
                           capture_output=True, timeout=timeout)
        self._log(r.stderr)
        assert r.returncode == 0, "--once exited %d: %s" % (
            r.returncode, r.stderr.decode("utf-8", "replace")[-2000:])
        return r.stderr.decode("utf-8", "replace")

    def daemon(self):
        logf = open(self.log, "ab")
        p = subprocess.Popen([MAILER, "-c", self.conf], stdout=logf,
                             stderr=logf, start_new_session=True)
        logf.close()
        return p

    def logtext(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _log(self, text):
        with open(self.log, "ab") as f:
            f.write(text)
        if VERBOSE:
            print(text.decode("utf-8", "replace"), end="")

    def ls(self, sub):
        try:
            return sorted(os.listdir(os.path.join(self.spool, sub)))
        except FileNotFoundError:
            return []

    def state(self, mid):
        p = os.path.join(self.spool, "state", mid)
        with open(p) as f:
            kv = dict(line.split(" ", 1) for line in f.read().splitlines())
        return {k: int(v) for k, v in kv.items()}

    def put_state(self, mid, attempts, next):
        """Rewrite a message's retry state, as the mailer writes it."""
        tmp = os.path.join(self.spool, "tmp", "s" + mid[1:])
        with open(tmp, "w") as f:
            f.write("attempts %d\nnext %d\n" % (attempts, next))
        self.own(tmp)
        os.rename(tmp, os.path.join(self.spool, "state", mid))

    def reason(self, mid):
        with open(os.path.join(self.spool, "failed", mid + ".reason"),
                  encoding="utf-8") as f:
            return f.read()

    def put_raw(self, mid, data):
        """A message written straight into new/ as the spool does."""
        self.mkdir(os.path.join(self.spool, "tmp"))
        self.mkdir(os.path.join(self.spool, "new"))
        tmp = os.path.join(self.spool, "tmp", mid)
        with open(tmp, "wb") as f:
            f.write(data)
        self.own(tmp)
        os.rename(tmp, os.path.join(self.spool, "new", mid))

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def stop(p, sig=signal.SIGTERM, timeout=30):
    if p.poll() is None:
        p.send_signal(sig)
    return p.wait(timeout=timeout)


SUBJECT = "Willkommen in Zürich ✓ — Einladung für Zoë"
BODY = ("Hallo Zoë,\n\n"
        "ein Satz mit Umlauten: äöü ÄÖÜ ß, und ein Häkchen ✓.\n"
        ".eine Zeile mit Punkt vorne\n"
        "From the beginning of a line\n"
        "a=b and trailing spaces   \n"
        + "lang " * 40 + "\n"
        "Ende\n")


def check_arrived(srv, to, subject=SUBJECT, body=BODY, login=None):
    msgs = srv.handler.messages
    assert len(msgs) == 1, "%d messages arrived" % len(msgs)
    mail_from, rcpts, raw, got_login = msgs[0]
    assert mail_from == "noreply@example.com", mail_from
    assert rcpts == [to], rcpts
    m = parsed(raw)
    assert str(m["subject"]) == subject, m["subject"]
    assert m["to"] == to, m["to"]
    assert m["from"].addresses[0].addr_spec == "noreply@example.com"
    assert m["date"] is not None and m["message-id"] is not None
    assert m.get_content_type() == "text/plain"
    content = m.get_content().replace("\r\n", "\n")
    assert content == body, repr(content)
    if login is not None:
        assert got_login == login, got_login


# ------------------------------------------------------------ transports

def test_plain_smtp_delivers_intact(stack):
    with Spool() as sp, Server() as srv:
        sp.set(smtp_port=srv.port)
        mid = sp.enqueue("zoe@example.org", SUBJECT, BODY)
        assert sp.ls("new") == [mid]
        sp.once()
        check_arrived(srv, "zoe@example.org")
        assert sp.ls("new") == [] and sp.ls("state") == []
        assert sp.ls("tmp") == [] and sp.ls("failed") == []
        assert "mailer: delivered %s" % mid in sp.logtext()


def test_dot_stuffing(stack):
    """Lines starting with '.' (which our own quoted-printable never
    writes) survive SMTP's end-of-data marker."""
    raw = (b"From: noreply@example.com\r\nTo: a@example.com\r\n"
           b"Subject: dots\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
           b"Message-ID: <dots@example.com>\r\n\r\n"
           b"one\r\n.\r\n..\r\n.end\r\nlast\r\n")
    with Spool() as sp, Server() as srv:
        sp.set(smtp_port=srv.port)
        sp.put_raw("d" * 32, raw)
        sp.once()
        assert len(srv.handler.messages) == 1
        got = srv.handler.messages[0][2]
        assert got.split(b"\r\n\r\n", 1)[1] == \
            b"one\r\n.\r\n..\r\n.end\r\nlast\r\n", got


def test_starttls_with_auth_plain(stack):
    with Spool() as sp, Server(tls="starttls", auth=True) as srv:
        sp.set(smtp_port=srv.port, smtp_tls="starttls",
               smtp_ca_file=certs()["cert"], smtp_user=USER,
               smtp_password=PASSWORD)
        mid = sp.enqueue("zoe@example.org", SUBJECT, BODY)
        log = sp.once()
        check_arrived(srv, "zoe@example.org", login=USER)
        assert sp.ls("new") == []
        assert "delivered " + mid in log
        assert PASSWORD not in sp.logtext(), "password in the log"


def test_implicit_tls_by_name_with_auth_login(stack):
    with Spool() as sp, Server(tls="tls", auth=True,
                               auth_exclude_mechanism=["PLAIN"]) as srv:
        sp.set(smtp_host="localhost", smtp_port=srv.port, smtp_tls="tls",
               smtp_ca_file=certs()["cert"], smtp_user=USER,
               smtp_password=PASSWORD)
        sp.enqueue("zoe@example.org", SUBJECT, BODY)
        sp.once()
        check_arrived(srv, "zoe@example.org", login=USER)
        assert PASSWORD not in sp.logtext(), "password in the log"


def test_wrong_password_waits(stack):
    with Spool() as sp, Server(tls="starttls", auth=True) as srv:
        sp.set(smtp_port=srv.port, smtp_tls="starttls",
               smtp_ca_file=certs()["cert"], smtp_user=USER,
               smtp_password="wrong")
        mid = sp.enqueue("zoe@example.org", "s", "b\n")
        log = sp.once()
        assert srv.handler.messages == []
        assert sp.ls("new") == [mid] and sp.ls("failed") == []
        assert sp.state(mid)["attempts"] == 1
        assert "AUTH" in log and "535" in log, log


def test_untrusted_certificate_waits_then_verify_off(stack):
    with Spool() as sp, Server(tls="starttls") as srv:
        # The system's CAs do not know our self-signed certificate.
        sp.set(smtp_port=srv.port, smtp_tls="starttls")
        mid = sp.enqueue("zoe@example.org", SUBJECT, BODY)
        log = sp.once()
        assert srv.handler.messages == []
        assert sp.ls("new") == [mid] and sp.ls("failed") == []
        assert sp.state(mid)["attempts"] == 1
        assert "certificate verification failed" in log, log
        # Verification off: delivered, with a warning.
        sp.set(smtp_verify=False)
        time.sleep(1.1)
        log = sp.once()
        assert "smtp_verify = false" in log, log
        check_arrived(srv, "zoe@example.org")
        assert sp.ls("new") == []


def test_certificate_for_another_name_waits(stack):
    with Spool() as sp, Server(tls="tls", name="other.test") as srv:
        # The certificate is trusted but names other.test, not 127.0.0.1.
        sp.set(smtp_port=srv.port, smtp_tls="tls",
               smtp_ca_file=certs("other.test")["cert"])
        mid = sp.enqueue("zoe@example.org", "s", "b\n")
        log = sp.once()
        assert srv.handler.messages == []
        assert sp.ls("new") == [mid] and sp.state(mid)["attempts"] == 1
        assert "certificate verification failed" in log and \
            "mismatch" in log, log
        # By a name (SNI and a DNS check) it is no better.
        sp.set(smtp_host="localhost")
        time.sleep(1.1)
        log = sp.once()
        assert "certificate verification failed" in log, log
        assert sp.ls("new") == [mid]


# ------------------------------------------------------------ retries

def test_server_down_then_up(stack):
    port = free_port()
    with Spool(smtp_port=port, retry_min=60, retry_max=60) as sp:
        mid = sp.enqueue("zoe@example.org", SUBJECT, BODY)
        t0 = time.time()
        log = sp.once()
        assert sp.ls("new") == [mid], "left new/ while the server is down"
        st = sp.state(mid)
        assert st["attempts"] == 1, st
        assert t0 + 58 <= st["next"] <= time.time() + 61, st
        assert "deferred" in log and "Connection refused" in log, log
        with Server(port=port) as srv:
            # Not due yet: a run now leaves it alone.
            sp.once()
            assert srv.handler.messages == []
            assert sp.state(mid)["attempts"] == 1
            # A minute later (the state file says when) it goes.
            sp.put_state(mid, attempts=1, next=int(time.time()) - 1)
            sp.once()
            check_arrived(srv, "zoe@example.org")
        assert sp.ls("new") == [] and sp.ls("state") == []


def test_5xx_goes_to_failed_at_once(stack):
    with Spool() as sp, Server() as srv:
        srv.handler.reject["nobody@example.org"] = \
            "550 5.1.1 <nobody@example.org>: no such user"
        sp.set(smtp_port=srv.port)
        mid = sp.enqueue("nobody@example.org", "s", "b\n")
        sp.once()
        assert sp.ls("new") == [] and sp.ls("state") == []
        assert sp.ls("failed") == sorted([mid, mid + ".reason"])
        r = sp.reason(mid)
        assert "550 5.1.1" in r and "RCPT TO" in r and "attempts: 1" in r, r


def test_4xx_retries_until_max_attempts(stack):
    with Spool(max_attempts=2, retry_min=1, retry_max=1) as sp, \
            Server() as srv:
        srv.handler.reject["busy@example.org"] = "451 4.3.0 try later"
        sp.set(smtp_port=srv.port)
        mid = sp.enqueue("busy@example.org", "s", "b\n")
        sp.once()
        assert sp.ls("new") == [mid] and sp.state(mid)["attempts"] == 1
        time.sleep(1.2)
        sp.once()
        assert sp.ls("new") == [] and mid in sp.ls("failed")
        r = sp.reason(mid)
        assert "gave up after 2 attempts" in r and "451" in r, r


def test_kill_9_in_data_loses_nothing(stack):
    with Spool() as sp, Server() as srv:
        srv.handler.stall = True
        sp.set(smtp_port=srv.port)
        mid = sp.enqueue("zoe@example.org", SUBJECT, BODY)
        p = sp.daemon()
        try:
            assert srv.handler.in_data.wait(20), "the mailer never sent DATA"
            time.sleep(0.2)
        finally:
            p.kill()
            p.wait(10)
        assert sp.ls("new") == [mid], "the message left new/"
        assert sp.state(mid)["attempts"] == 1
        assert sp.ls("tmp") == []
        srv.handler.stall = False
        sp.once()
        check_arrived(srv, "zoe@example.org")
        assert sp.ls("new") == [] and sp.ls("state") == []


def test_once_drains_and_exits(stack):
    with Spool() as sp, Server() as srv:
        sp.set(smtp_port=srv.port)
        ids = [sp.enqueue("u%d@example.org" % i, "n%d" % i, "b%d\n" % i)
               for i in range(4)]
        t0 = time.monotonic()
        sp.once()
        assert time.monotonic() - t0 < 20
        assert sp.ls("new") == []
        got = [m[1][0] for m in srv.handler.messages]
        assert got == ["u%d@example.org" % i for i in range(4)], \
            "not delivered oldest first: %r" % got
        log = sp.logtext()
        for mid in ids:
            assert "delivered " + mid in log


def test_daemon_delivers_reloads_and_stops(stack):
    with Spool() as sp, Server() as srv, Server() as srv2:
        sp.set(smtp_port=srv.port)
        p = sp.daemon()
        try:
            wait_for(lambda: "mailer: started" in sp.logtext(), 10,
                     "the mailer to start")
            sp.enqueue("zoe@example.org", SUBJECT, BODY)
            wait_for(lambda: len(srv.handler.messages) == 1, 10,
                     "delivery by the running mailer")
            sp.set(smtp_port=srv2.port)
            p.send_signal(signal.SIGHUP)
            wait_for(lambda: "reloading" in sp.logtext(), 10, "reload")
            sp.enqueue("zoe@example.org", SUBJECT, BODY)
            wait_for(lambda: len(srv2.handler.messages) == 1, 10,
                     "delivery after SIGHUP to the new server")
            # One mailer per spool: a cron run meanwhile does nothing.
            log = sp.once()
            assert "another latch-mailer is running" in log, log
        finally:
            rc = stop(p)
        assert rc == 0, "exit status %d after SIGTERM" % rc
        assert "mailer: stopped" in sp.logtext()
        check_arrived(srv, "zoe@example.org")


# ------------------------------------------------------------ spool

def test_no_smtp_host_keeps_mail(stack):
    with Spool(smtp_host="") as sp:
        mid = sp.enqueue("zoe@example.org", "s", "b\n")
        log = sp.once()
        assert "mail stays in the spool until [mail] smtp_host is set" \
            in log, log
        assert sp.ls("new") == [mid] and sp.ls("state") == []


def test_invalid_message_goes_to_failed(stack):
    with Spool() as sp, Server() as srv:
        sp.set(smtp_port=srv.port)
        mid = "e" * 32
        sp.put_raw(mid, b"From: a@example.com\nTo: you\n\nbare LFs\n")
        sp.once()
        assert srv.handler.messages == []
        assert sp.ls("new") == [] and mid in sp.ls("failed")
        assert "not a valid message" in sp.reason(mid)


def test_stale_tmp_files_purged(stack):
    with Spool() as sp, Server() as srv:
        sp.set(smtp_port=srv.port)
        sp.mkdir(os.path.join(sp.spool, "tmp"))
        old = os.path.join(sp.spool, "tmp", "f" * 32)
        fresh = os.path.join(sp.spool, "tmp", "a" * 32)
        for p in (old, fresh):
            with open(p, "w") as f:
                f.write("half a mess")
            sp.own(p)
        os.utime(old, (time.time() - 7200, time.time() - 7200))
        sp.once()
        assert not os.path.exists(old) and os.path.exists(fresh)


def _fake_sendmail(sp):
    """A sendmail_path script in sp.dir that writes its arguments, its
    ids and the message into sp.work; returns the message's path."""
    out = os.path.join(sp.work, "sendmail.out")
    script = os.path.join(sp.dir, "sendmail")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n"
                'printf "%%s\\n" "$*" > "%s.args"\n'
                'echo "$(id -u) $(id -g) $(id -G)" > "%s.ids"\n'
                'cat > "%s"\n' % (out, out, out))
    os.chmod(script, 0o755)
    sp.set(transport="sendmail", sendmail_path=script, smtp_host="")
    return out


def test_root_becomes_the_spool_owner(stack):
    """Started as root, the mailer becomes the spool's owner (user, group,
    no other groups) before it touches the spool: what it queues is
    nobody's, and sendmail_path runs as nobody."""
    if not ROOT:
        print("# skip: needs root", flush=True)
        return
    uid, gid = NOBODY
    with Spool() as sp, Server() as srv:
        sp.set(smtp_port=srv.port)
        mid = sp.enqueue("zoe@example.org", SUBJECT, BODY)
        st = os.stat(os.path.join(sp.spool, "new", mid))
        assert (st.st_uid, st.st_mode & 0o777) == (uid, 0o600), st
        log = sp.once()
        assert "running as uid %d gid %d" % (uid, gid) in log, log
        check_arrived(srv, "zoe@example.org")
        assert sp.ls("new") == []
    with Spool() as sp:
        out = _fake_sendmail(sp)
        sp.enqueue("zoe@example.org", SUBJECT, BODY)
        sp.once()
        assert sp.ls("new") == [], sp.logtext()
        with open(out + ".ids") as f:
            ids = f.read().split()
        assert ids == [str(uid), str(gid), str(gid)], \
            "sendmail ran as uid, gid, groups %r" % ids


RAW = (b"From: noreply@example.com\r\nTo: zoe@example.org\r\n"
       b"Subject: s\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
       b"Message-ID: <root@example.com>\r\n\r\nbody\r\n")
AS_ROOT = "refusing to run as root"


def test_never_delivers_as_root(stack):
    """Started as root with a spool that root owns (or none), the mailer
    refuses at once, in every mode, with one line: nothing is delivered,
    sendmail_path is not run, and the spool is left as it was."""
    if not ROOT:
        print("# skip: needs root", flush=True)
        return
    with Spool(root_spool=True) as sp, Server() as srv:
        sp.set(smtp_port=srv.port)
        sp.put_raw("r" * 32, RAW)
        for argv in (["--once"], ["--enqueue", "zoe@example.org", "s"]):
            r = subprocess.run([MAILER, "-c", sp.conf] + argv,
                               input=b"b\n", capture_output=True,
                               timeout=30)
            err = r.stderr.decode()
            assert r.returncode == 1, (argv, r)
            assert AS_ROOT in err and "chown" in err, err
            assert len(err.strip().splitlines()) == 1, err
        # The daemon too, before it opens anything.
        p = sp.daemon()
        assert p.wait(20) == 1
        assert AS_ROOT in sp.logtext(), sp.logtext()
        assert srv.handler.messages == []
        assert sp.ls("new") == ["r" * 32] and sp.ls("state") == []
        assert not os.path.exists(os.path.join(sp.spool, "mailer.lock"))
    with Spool(root_spool=True) as sp:
        out = _fake_sendmail(sp)
        sp.put_raw("r" * 32, RAW)
        r = subprocess.run([MAILER, "-c", sp.conf, "--once"],
                           capture_output=True, timeout=30)
        assert r.returncode == 1 and AS_ROOT in r.stderr.decode(), r
        assert not os.path.exists(out + ".ids"), "sendmail ran as root"
        assert sp.ls("new") == ["r" * 32]
        # No spool at all: refused too, and none is made (it would be
        # root's).
        shutil.rmtree(sp.spool)
        r = subprocess.run([MAILER, "-c", sp.conf, "--once"],
                           capture_output=True, timeout=30)
        assert r.returncode == 1 and AS_ROOT in r.stderr.decode(), r
        assert not os.path.exists(sp.spool)


def test_enqueue_refuses_header_injection(stack):
    with Spool() as sp:
        for to, subject in [("a@example.com\r\nBcc: x@evil.test", "s"),
                            ("a@example.com, x@evil.test", "s"),
                            ("a@example.com", "s\r\nBcc: x@evil.test"),
                            ("a@example.com", "s\nX-Evil: 1")]:
            r = sp.enqueue(to, subject, "b\n", check=False)
            assert r.returncode == 1, (to, subject, r.returncode)
        assert sp.ls("new") == []


def test_sendmail_transport(stack):
    with Spool() as sp:
        out = _fake_sendmail(sp)
        script = os.path.join(sp.dir, "sendmail")
        mid = sp.enqueue("zoe@example.org", SUBJECT, BODY)
        sp.once()
        assert sp.ls("new") == [], sp.logtext()
        with open(out + ".args") as f:
            assert f.read().strip() == "-oi -t"
        with open(out, "rb") as f:
            raw = f.read()
        assert b"\r\n" not in raw, "sendmail got CRLF line ends"
        m = parsed(raw)
        assert str(m["subject"]) == SUBJECT
        assert m["to"] == "zoe@example.org"
        assert m.get_content() == BODY
        assert "delivered " + mid in sp.logtext()

        # A temporary failure (EX_TEMPFAIL) waits, a permanent one fails.
        with open(script, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nexit 75\n")
        mid = sp.enqueue("zoe@example.org", "s", "b\n")
        sp.once()
        assert sp.ls("new") == [mid] and sp.state(mid)["attempts"] == 1
        with open(script, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\nexit 67\n")
        time.sleep(1.1)
        sp.once()
        assert sp.ls("new") == [] and mid in sp.ls("failed")
        assert "exit status 67" in sp.reason(mid)


def test_mailer_links_no_database_client(stack):
    """latch-mailer needs no database: libmariadb (and json-c, libfcgi)
    stay out of it, so a mailer host needs no MariaDB client and the
    mailer holds no code it never runs."""
    r = subprocess.run(["ldd", MAILER], capture_output=True, timeout=30)
    assert r.returncode == 0, r
    libs = r.stdout.decode()
    assert "libssl" in libs and "libinih" in libs, libs
    for lib in ("libmariadb", "libmysqlclient", "libjson-c", "libfcgi"):
        assert lib not in libs, "latch-mailer links %s:\n%s" % (lib, libs)
